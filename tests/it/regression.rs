//! One test per fixed bug, named after it.

use super::repo;
use tenantsim::runner::run_replication;

use super::overall as metric;
use super::run_text as one;

const SMALL: &str = r#"
[simulation]
duration = "2m"
warmup = "0s"
replications = 1
sample_interval = "10s"
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 50.0 }
[endpoint.api]
cpu = { dist = "exponential", mean = "10ms" }
[instance]
cores = 1
workers = 4
initial = 2
"#;

#[test]
fn replacement_launched_at_time_zero_becomes_ready() {
    // Was: with startup 0, an instance launched at t = 0 after `new` never
    // got its InstanceReady event and stayed starting for the whole run.
    let r = one(
        "r1.toml",
        &format!("{SMALL}[[fault]]\nkind = \"instance-crash\"\nat = \"0s\"\ncount = 1\nmttr = \"0s\"\n"),
    );
    assert!(
        r.timeseries.iter().all(|x| x.instances_ready == 2),
        "{:?}",
        r.timeseries[0]
    );
}

#[test]
fn write_behind_flushes_do_not_hold_a_draining_instance() {
    // Was: a draining instance whose last work was a write-behind flush
    // stayed until drain_timeout (5 min here), inflating instance-hours.
    let text = |policy: &str| {
        format!(
            r#"
[simulation]
duration = "10m"
warmup = "0s"
replications = 1
sample_interval = "30s"
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = 20 }}
keys = {{ items = 100, zipf = 0.5 }}
[endpoint.w]
operation = "write"
cpu = {{ dist = "exponential", mean = "5ms" }}
db_queries = 1
query = {{ dist = "deterministic", value = "200ms" }}
[instance]
cores = 2
workers = 8
initial = 2
drain_timeout = "5m"
[pool]
size = 20
scope = "shared"
[database]
cores = 16
max_connections = 100
[cache]
write_policy = "{policy}"
[cache.l2]
ttl = "300s"
latency = "1ms"
[autoscaler]
policy = "schedule"
min = 1
max = 2
interval = "10s"
schedule = [["0s", 2], ["1m", 1]]
"#
        )
    };
    let behind = metric(&one("wb.toml", &text("write-behind")), "instance_hours");
    let through = metric(&one("wt.toml", &text("write-through")), "instance_hours");
    // 1 min of two instances then one: 11/60 h, plus at most a second of draining.
    assert!((behind - 11.0 / 60.0).abs() < 0.001, "write-behind {behind}");
    assert!((through - 11.0 / 60.0).abs() < 0.001, "write-through {through}");
}

#[test]
fn autoscaler_waits_for_mttr_before_replacing() {
    // Was: any autoscaler evaluation replaced a crashed instance at once,
    // ignoring the fault's mttr (and a zone outage's duration).
    let text = format!(
        "{SMALL}[autoscaler]\npolicy = \"none\"\nmin = 1\nmax = 4\ninterval = \"5s\"\n[[fault]]\nkind = \"instance-crash\"\nat = \"30s\"\ncount = 1\nmttr = \"60s\"\n"
    );
    let r = one("r3.toml", &text);
    let ready = |t: f64| r.timeseries.iter().find(|x| x.time_s == t).unwrap().instances_ready;
    assert_eq!(ready(40.0), 1);
    assert_eq!(ready(80.0), 1, "replaced before mttr");
    assert_eq!(ready(100.0), 2, "not replaced after mttr");
}

#[test]
fn bundled_examples_still_run() {
    // Guard for the fixes above on the real example with crashes.
    let sc = tenantsim::scenario::load(
        &repo("scenarios/examples/crash-recovery.toml"),
        &["simulation.replications=1".into()],
    )
    .unwrap();
    let r = run_replication(&sc, 0, &|_| {});
    let c = r.conservation;
    assert_eq!(c.arrived, c.rejected + c.server_done + c.in_flight);
}

#[test]
fn a_finite_test_done_within_the_warm_up_has_no_nan_metrics() {
    // Was (found by the generated scenarios, seeds 11, 23, 42): a finite
    // closed test that finished before the warm-up ended had an empty
    // measurement window, and instances_mean, in_system_mean and
    // littles_law_error came out as 0/0 = NaN in summary.json.
    let r = one(
        "r-finite-warmup.toml",
        r#"
[simulation]
duration = "20s"
warmup = "3s"
replications = 1
sample_interval = "1s"
[[workload]]
tenants = 1
arrival = { process = "closed", users = 1, think_time = "10ms", requests_per_user = 2 }
[endpoint.api]
cpu = "5ms"
[instance]
cores = 1
workers = 1
"#,
    );
    assert!(r.end_s < 3.0, "the test should end within the warm-up: {}", r.end_s);
    for (m, v) in tenantsim::metrics::names::METRICS.iter().zip(&r.overall) {
        if let Some(v) = v {
            assert!(v.is_finite(), "{} = {v}", m.name);
        }
    }
    let i = tenantsim::metrics::names::index("instances_mean").unwrap();
    assert_eq!(r.overall[i], None);
}

#[test]
fn requests_refused_by_a_rate_limit_are_rejected_in_their_tier() {
    // Was (found by the generated scenarios once they had [[rate_limit]],
    // seeds 7, 17, 30 and 518 more of 3000): a refusal by a `[[rate_limit]]`
    // limiter, local or shared, counted in the overall conservation but not
    // in its tier's, so per tier arrived > rejected + done + in flight.
    let text = |state: &str| {
        format!(
            r#"
[simulation]
duration = "20s"
warmup = "0s"
replications = 1
sample_interval = "5s"
[[tier]]
name = "free"
[[tier]]
name = "paid"
[[workload]]
tier = "free"
tenants = 2
arrival = {{ process = "poisson", rate_per_s = 20.0 }}
[[workload]]
tier = "paid"
tenants = 2
arrival = {{ process = "poisson", rate_per_s = 20.0 }}
[endpoint.api]
cpu = "1ms"
[instance]
cores = 2
workers = 8
initial = 2
[[rate_limit]]
name = "free-tier"
tiers = ["free"]
algorithm = "fixed-window"
limit = 5
window = "1s"
state = "{state}"
[rate_limit_store]
latency = "1ms"
"#
        )
    };
    for state in ["local", "shared"] {
        let r = one("r-limit-tier.toml", &text(state));
        let (free, paid) = (r.tier_conservation[0], r.tier_conservation[1]);
        assert!(free.rate_limited > 100, "{state}: {free:?}");
        assert_eq!(free.rejected, free.rate_limited, "{state}: {free:?}");
        assert_eq!(paid.rate_limited, 0, "{state}: {paid:?}");
        for c in [free, paid] {
            assert_eq!(c.arrived, c.rejected + c.server_done + c.in_flight, "{state}: {c:?}");
        }
        assert_eq!(free.rejected + paid.rejected, r.conservation.rejected, "{state}");
        assert_eq!(metric(&r, "rejected_rate_limits"), free.rate_limited as f64, "{state}");
    }
}

#[test]
fn sessions_open_mean_is_not_nan_when_a_finite_test_ends_in_the_warm_up() {
    // Was (found by the generated scenarios once they had sessions, seeds
    // 147, 151, 271 and 26 more of 3000): sessions_open_mean divided by the
    // measurement window without the guard the other time averages have,
    // so a finite test done within the warm-up reported 0/0 = NaN.
    let r = one(
        "r-sessions-warmup.toml",
        r#"
[simulation]
duration = "20s"
warmup = "3s"
replications = 1
sample_interval = "1s"
[[workload]]
tenants = 2
arrival = { process = "closed", users = 1, think_time = "10ms", requests_per_user = 2 }
sessions = { per_tenant = 3 }
[endpoint.api]
cpu = "5ms"
[instance]
cores = 1
workers = 1
[sessions]
max_per_instance = 10
"#,
    );
    assert!(r.end_s < 3.0, "the test should end within the warm-up: {}", r.end_s);
    let i = tenantsim::metrics::names::index("sessions_open_mean").unwrap();
    assert_eq!(r.overall[i], None);
    assert_eq!(r.peaks.sessions_per_instance, 6);
}

#[test]
fn trace_copies_after_a_saturated_time_do_not_overflow() {
    // Was (fuzz target `trace`): a row whose time_s saturated SimTime left
    // a gap near u64::MAX to the previous row, and spreading that row's
    // rate_multiplier copies over the gap computed gap × k in u64:
    // "attempt to multiply with overflow" (wrapped, out-of-order times in
    // a release build).
    let data = b"time_s\n1\n2\n1e31";
    let o = tenantsim::scenario::TraceOptions {
        tenants: 1,
        endpoint_names: &["api"],
        tier: "t",
        speedup: 1.0,
        rate_multiplier: 2.5,
        select_tenants: None,
    };
    let ev = tenantsim::scenario::parse_trace(&data[..], std::path::Path::new("trace.csv"), &o).unwrap();
    assert_eq!(ev.len(), 7, "⌊3 × 2.5⌋ copies");
    assert!(ev.windows(2).all(|w| w[0].at <= w[1].at), "times out of order");
    assert_eq!(ev.last().unwrap().at, tenantsim::engine::SimTime::MAX);
}

#[test]
fn fit_refuses_a_log_whose_requests_are_years_apart() {
    // Was: `tenantsim fit` counts requests per 10 s window over the log's
    // whole span, so memory followed the timestamps, not the log. The
    // access_log fuzz target's first run kept nginx logs with one year
    // typed 2052 among 2026 (7 s and about 1 GB each); two lines 3000
    // years apart aborted on a 40 GB allocation, 1e300 on a capacity
    // overflow. Now the reader refuses spans above fit::MAX_SPAN_S.
    use tenantsim::fit::log::{parse_log, LogOptions};
    // (input, the lines of its earliest and latest request)
    let cases: [(&[u8], &str, &str); 3] = [
        (b"time,tenant\n1,a\n1e11,b\n", "line 2", "line 3"),
        (b"time,tenant\n1,a\n1e300,b\n", "line 2", "line 3"),
        (
            b"10.0.0.0 - free-057 [04/May/2052:02:00:03 +0200] \"GET /api/items/42?q=1 HTTP/2.0\" 200 1020 \"-\" \"curl\" 0.008\n\
              10.0.0.1 - enterprise-000 [04/May/2026:02:00:04 +0200] \"GET /api/items/42?q=1 HTTP/2.0\" 200 824 \"-\" \"curl\" 0.006\n",
            "line 2 (2026-05-04T00:00:04.000Z)",
            "line 1 (2052-05-04T00:00:03.000Z)",
        ),
    ];
    for (data, earliest, latest) in cases {
        let text = std::str::from_utf8(data).unwrap();
        let e = parse_log(text, &LogOptions::default()).unwrap_err();
        assert!(
            e.contains(&format!("from {earliest}")) && e.contains(&format!("to {latest}")),
            "{e}"
        );
        let t = std::time::Instant::now();
        tenantsim::fuzzing::access_log(data);
        assert!(t.elapsed().as_secs_f64() < 1.0, "{:?}", t.elapsed());
    }
    // A log of 300 days is still read and fitted.
    let long = "time,tenant\n1714568400,a\n1714568460,b\n1740488400,a\n";
    let p = parse_log(long, &LogOptions::default()).unwrap();
    let fit = tenantsim::fit::fit_log(&p.requests, None, 12);
    assert!((fit.span_s / 86_400.0 - 300.0).abs() < 1.0, "{}", fit.span_s);
}

#[test]
fn fit_refuses_a_prometheus_export_whose_samples_are_years_apart() {
    // Was (prometheus fuzz target, minimized): samples at t = 0 and
    // t = 1.8e13 made the rendered scenario's rate steps ask for 395 TB
    // (memory allocation failed: abort). fit_export now refuses spans
    // above fit::MAX_SPAN_S.
    let data = br#"[{"data":{"":"mtri","result":[{"ri":{"__":"r_"},"values":[[0,"0"]]},{"c":{"_":""},"values":[[17775807785340,"2"]]}]}}]"#;
    let text = std::str::from_utf8(data).unwrap();
    let series = tenantsim::fit::prometheus::parse_export(text).unwrap();
    let e = tenantsim::fit::prometheus::fit_export(&series).unwrap_err();
    assert!(e.contains("span") && e.contains("1970-01-01"), "{e}");
    tenantsim::fuzzing::prometheus(data);
}
