//! Long-lived sessions: the cap per instance, session memory, messages
//! competing with requests for workers and CPU, drops and reconnect storms
//! after crashes and scale-ins, and the memory actions on sessions
//! (prune-connections, emergency-gc).

use super::{overall, repo, run_text};
use proptest::prelude::*;
use std::path::Path;
use tenantsim::metrics::names::index;
use tenantsim::runner::run_replication;

/// One tenant of `sessions` sessions on `instances` instances of 4 cores,
/// a light HTTP load, and the `[sessions]` keys in `extra` (plus any other
/// tables after them).
fn held(sessions: u32, instances: u32, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "40s"
warmup = "5s"
replications = 1
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = 20.0 }}
sessions = {{ per_tenant = {sessions} }}
[endpoint.api]
cpu = "2ms"
[instance]
cores = 4
workers = 8
base_memory_mb = 100
memory_mb = 1000
initial = {instances}
startup = "10s"
[sessions]
{extra}"#
    )
}

#[test]
fn an_instance_never_holds_more_than_its_cap_and_the_rest_are_refused() {
    // 250 sessions, 2 × 100 slots: 50 are refused at t = 0, retry with
    // backoff, and give up after 3 attempts.
    let r = run_text(
        "s.toml",
        &held(
            250,
            2,
            "max_per_instance = 100\nattempts = 3\nbackoff = { base = \"1s\", max = \"2s\", jitter = \"none\" }\n",
        ),
    );
    assert_eq!(overall(&r, "sessions_max_per_instance"), 100.0);
    assert!((overall(&r, "sessions_open_mean") - 200.0).abs() < 1e-9);
    // Rejects and losses after warm-up: the t = 0 attempts are before it,
    // the retries at 1 s and 1 + 2 s too. Count them over the whole run
    // with no warm-up instead.
    let text = held(
        250,
        2,
        "max_per_instance = 100\nattempts = 3\nbackoff = { base = \"1s\", max = \"2s\", jitter = \"none\" }\n",
    )
    .replace("warmup = \"5s\"", "warmup = \"0s\"");
    let r = run_text("s.toml", &text);
    assert_eq!(overall(&r, "session_rejects"), 150.0, "50 sessions × 3 attempts");
    assert_eq!(overall(&r, "sessions_lost"), 50.0);
    assert_eq!(
        overall(&r, "session_reconnects"),
        0.0,
        "never connected, so never a reconnect"
    );
    // Least-sessions balancing spreads them evenly.
    let ts = &r.timeseries;
    assert!(ts.iter().all(|row| row.sessions_max_per_instance == Some(100)));
}

#[test]
fn session_memory_counts_in_the_instance_memory() {
    // 400 sessions × 1 MB over 2 instances: 200 MB each beside 100 MB
    // base, of 1000 MB (requests add a little: 20/s × 2 ms × 0 MB).
    let r = run_text("s.toml", &held(400, 2, "memory_per_session_mb = 1.0\n"));
    let m = overall(&r, "memory_utilization");
    assert!((m - 0.3).abs() < 1e-9, "{m}");
    // Past the limit with [memory], an instance is OOM-killed as soon as
    // its sessions connect, and its clients reconnect to the other.
    let text = held(400, 2, "memory_per_session_mb = 5.0\nreconnect_delay = \"1s\"\n")
        .replace("warmup = \"5s\"", "warmup = \"0s\"")
        + "[memory]\n";
    let r = run_text("s.toml", &text);
    assert!(overall(&r, "oom_kills") >= 1.0);
    assert!(overall(&r, "session_drops") >= 200.0);
    assert!(overall(&r, "session_reconnects") >= 200.0);
}

#[test]
fn messages_compete_with_requests_for_the_cpu() {
    // 1,000 sessions × 1 message/s × 3 ms = 3 of the 4 cores.
    let quiet = run_text("s.toml", &held(1000, 1, ""));
    let busy = run_text(
        "s.toml",
        &held(
            1000,
            1,
            "message_rate_per_s = 1.0\nmessage_cpu = { dist = \"exponential\", mean = \"3ms\" }\n",
        ),
    );
    // 35 s measured × 1,000/s: within 2 % (a Poisson count of 35,000 has
    // a standard deviation of 187, 0.5 %).
    let n = overall(&busy, "messages_completed");
    assert!((n / 35_000.0 - 1.0).abs() < 0.02, "{n}");
    assert!(overall(&busy, "cpu_utilization") > 0.7);
    assert!(overall(&quiet, "cpu_utilization") < 0.05);
    // HTTP requests now wait for workers behind messages.
    let (q, b) = (overall(&quiet, "latency_p99_s"), overall(&busy, "latency_p99_s"));
    assert!(b > q * 1.5, "{q} → {b}");
    assert!(overall(&busy, "message_latency_p99_s") >= overall(&busy, "message_latency_p95_s"));
    assert!(index("message_latency_p95_s").is_some_and(|i| quiet.overall[i].is_none()));
    // Messages are not requests: the request counts do not include them.
    let c = busy.conservation;
    assert_eq!(c.arrived, c.rejected + c.server_done + c.in_flight);
    assert!(overall(&busy, "requests_arrived") < 800.0);
}

#[test]
fn a_scale_in_drops_the_sessions_of_the_removed_instance() {
    let text = held(300, 3, "reconnect_delay = \"500ms\"\n")
        + "[autoscaler]\npolicy = \"schedule\"\nmin = 1\nmax = 3\ninterval = \"5s\"\nschedule = [[\"15s\", 2]]\n";
    let r = run_text("s.toml", &text);
    // 100 sessions dropped at 15 s; they reconnect to the two others.
    assert_eq!(overall(&r, "session_drops"), 100.0);
    assert_eq!(overall(&r, "session_reconnects"), 100.0);
    assert_eq!(overall(&r, "session_rejects"), 0.0);
    assert_eq!(overall(&r, "sessions_max_per_instance"), 150.0);
}

#[test]
fn a_crash_with_full_survivors_refuses_reconnects_until_the_replacement_is_ready() {
    let text = held(
        300,
        3,
        "max_per_instance = 110\nreconnect_delay = \"100ms\"\nattempts = 50\nbackoff = { base = \"1s\", max = \"1s\", jitter = \"none\" }\n",
    ) + "[[fault]]\nkind = \"instance-crash\"\nat = \"10s\"\ncount = 1\nmttr = \"0s\"\n";
    let r = run_text("s.toml", &text);
    // 100 dropped; 20 fit on the survivors (2 × 10 free); the other 80
    // retry every second until the replacement is ready at 20 s.
    assert_eq!(overall(&r, "session_drops"), 100.0);
    let rejects = overall(&r, "session_rejects");
    assert!((80.0 * 9.0..=80.0 * 11.0).contains(&rejects), "{rejects}");
    assert_eq!(overall(&r, "sessions_lost"), 0.0);
    assert_eq!(overall(&r, "sessions_max_per_instance"), 110.0);
    // All 300 are connected again at the end.
    let last = r.timeseries.last().unwrap();
    assert!((last.sessions_open.unwrap() - 300.0).abs() < 1e-6);
}

#[test]
fn pruning_closes_the_idlest_sessions_and_frees_their_memory() {
    // 2 instances × 300 sessions × 2 MB = 600 MB each + 100 base: 70 %.
    // The first check (at 1 s) prunes 20 % above 65 %, without
    // reconnecting: 300 → 240 per instance, 580 MB = 58 %, below it.
    let text = held(600, 2, "memory_per_session_mb = 2.0\n").replace("warmup = \"5s\"", "warmup = \"0s\"")
        + "[memory]\nactions = [{ above = 0.65, action = \"prune-connections\", fraction = 0.2, reconnect = false }]\n";
    let r = run_text("s.toml", &text);
    assert_eq!(overall(&r, "sessions_pruned"), 120.0);
    assert!(overall(&r, "memory_utilization") < 0.59);
    // 600 for the first second, 480 for the other 39.
    assert!((overall(&r, "sessions_open_mean") - 483.0).abs() < 1e-6);
    // With reconnect (the default) the clients come back, and the pruned
    // instance (now the emptiest) takes them again: pruning buys nothing.
    let text = text.replace(", reconnect = false", "");
    let r = run_text("s.toml", &text);
    assert!(overall(&r, "sessions_pruned") > 120.0);
    assert!(overall(&r, "session_reconnects") > 120.0);
}

#[test]
fn an_emergency_gc_pauses_the_instance_and_frees_its_garbage() {
    // Each finished request leaves 1.5 MB of garbage: at 20/s memory
    // crosses 1000 MB after ≈ 30 s. An emergency GC at 80 % frees it.
    let base = held(10, 1, "").replace("warmup = \"5s\"", "warmup = \"0s\"");
    let oom = base.clone() + "[memory]\ngarbage_per_request_mb = 1.5\n";
    let r = run_text("s.toml", &oom);
    assert!(overall(&r, "oom_kills") >= 1.0);
    let gc = base
        + "[memory]\ngarbage_per_request_mb = 1.5\ncheck_interval = \"100ms\"\nactions = [{ above = 0.8, action = \"emergency-gc\", pause = \"200ms\" }]\n";
    let r = run_text("s.toml", &gc);
    assert_eq!(overall(&r, "oom_kills"), 0.0);
    let gcs = overall(&r, "emergency_gcs");
    // 80 % is ≈ 467 requests of garbage, ≈ 23 s at 20/s: one GC in 40 s.
    assert_eq!(gcs, 1.0);
    assert!(overall(&r, "memory_max_utilization") < 0.85);
    // The ≈ 4 requests caught in the 200 ms stop raise the mean above
    // the 2 ms every other request takes.
    assert!(overall(&r, "latency_mean_s") > 0.0021);
}

#[test]
fn session_mistakes_are_located() {
    let base = held(10, 1, "max_per_instance = 100\n");
    let cases = [
        (
            base.replace("max_per_instance = 100", "max_per_instance = 0"),
            "sessions.max_per_instance",
        ),
        (
            base.replace("max_per_instance = 100", "balancer = \"least-conn\""),
            "allowed are least-sessions",
        ),
        (
            base.replace("max_per_instance = 100", "message_rate_per_s = 1.0"),
            "message_cpu",
        ),
        (
            base.replace("per_tenant = 10", "per_tenant = 10, rate_per_s = 1.0"),
            "give either per_tenant",
        ),
        (
            base.replace("sessions = { per_tenant = 10 }", ""),
            "no workload opens sessions",
        ),
        (
            base.replace("[sessions]\nmax_per_instance = 100\n", ""),
            "need a [sessions] table",
        ),
        (
            base.clone() + "[memory]\nactions = [{ above = 0.9, action = \"emergency-gc\", pause = \"1s\" }]\n",
            "garbage_per_request_mb",
        ),
        (
            base.clone() + "[memory]\nactions = [{ above = 0.9, action = \"prune-connections\", fraction = 2 }]\n",
            "between 0 and 1",
        ),
        (
            base.clone() + "[memory]\nactions = [{ above = 0.9, action = \"prune-connection\", fraction = 0.5 }]\n",
            "did you mean `prune-connections`",
        ),
    ];
    for (text, want) in cases {
        let e = tenantsim::scenario::from_str(Path::new("bad.toml"), &text, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e} (wanted {want})");
        assert!(e.contains("bad.toml"), "{e}");
    }
}

/// The example's reconnect storm, shortened for a debug build: a third of
/// the sessions drop at 2m and their handshakes and retries hit the
/// survivors.
#[test]
fn a_reconnect_storm_after_a_crash_raises_rejects_and_latency() {
    let path = repo("scenarios/examples/websocket-sessions.toml");
    let short = [
        "simulation.duration=150s".to_string(),
        "simulation.warmup=60s".to_string(),
        "fault.0.at=90s".to_string(),
    ];
    let storm = tenantsim::scenario::load(&path, &short).unwrap();
    let mut calm_set = short.to_vec();
    calm_set.push("fault=[]".to_string());
    let calm = tenantsim::scenario::load(&path, &calm_set).unwrap();
    let (s, c) = (run_replication(&storm, 0, &|_| {}), run_replication(&calm, 0, &|_| {}));
    // 24,000 sessions on 3 instances; 8,000 drop, 4,000 fit on the
    // survivors, 4,000 are refused and back off until the replacement is
    // ready (60 s after the crash, the end of this run).
    assert_eq!(overall(&c, "session_rejects"), 0.0);
    assert_eq!(overall(&s, "session_drops"), 8000.0);
    assert!(overall(&s, "session_rejects") > 4000.0);
    assert_eq!(overall(&s, "sessions_max_per_instance"), 10000.0);
    // The handshakes queue messages and requests on the survivors.
    let (mc, ms) = (
        overall(&c, "message_latency_p99_s"),
        overall(&s, "message_latency_p99_s"),
    );
    assert!(ms > mc * 2.0, "message p99 {mc} → {ms}");
    let (lc, ls) = (overall(&c, "latency_p99_s"), overall(&s, "latency_p99_s"));
    assert!(ls > lc * 2.0, "request p99 {lc} → {ls}");
}

fn session_scenario() -> impl Strategy<Value = String> {
    (
        1u32..4,
        1u32..60,
        1u32..300,
        prop_oneof![Just("least-sessions"), Just("round-robin")],
        0.0f64..3.0,
        prop_oneof![Just(None), (1u32..40).prop_map(Some)],
        prop_oneof![
            Just(""),
            Just("[[fault]]\nkind = \"instance-crash\"\nat = \"6s\"\ncount = 1\nmttr = \"1s\"\n"),
            Just("[[fault]]\nkind = \"random-crashes\"\nat = \"2s\"\nmtbf = \"8s\"\nmttr = \"1s\"\n"),
            Just("[[fault]]\nkind = \"zone-outage\"\nat = \"5s\"\nfraction = 0.5\nduration = \"4s\"\n"),
        ],
        prop_oneof![
            Just(String::new()),
            (1u32..3, 3u32..5).prop_map(|(min, max)| format!(
                "[autoscaler]\npolicy = \"schedule\"\nmin = {min}\nmax = {max}\ninterval = \"2s\"\nschedule = [[\"4s\", {max}], [\"9s\", {min}], [\"14s\", {max}]]\n"
            )),
        ],
        prop_oneof![
            Just(""),
            Just("[memory]\n"),
            Just("[memory]\ncheck_interval = \"100ms\"\nactions = [{ above = 0.5, action = \"prune-connections\", fraction = 0.3 }]\n"),
        ],
        prop_oneof![
            Just("sessions = { per_tenant = 1 }".replace('1', "PT")),
            Just("sessions = { rate_per_s = 2.0, lifetime = { dist = \"exponential\", mean = \"5s\" } }".to_string()),
        ],
        0u64..1000,
    )
        .prop_map(
            |(instances, cap, per_tenant, balancer, msg_rate, mem_kb, fault, scaling, memory, population, seed)| {
                let cap_line = format!("max_per_instance = {cap}\n");
                let mem = mem_kb.map(|k| format!("memory_per_session_mb = {}\n", k as f64 * 10.0)).unwrap_or_default();
                format!(
                    "[simulation]\nduration = \"20s\"\nwarmup = \"0s\"\nseed = {seed}\nreplications = 1\nsample_interval = \"2s\"\n\
                     [[workload]]\ntenants = 3\narrival = {{ process = \"poisson\", rate_per_s = 5.0 }}\n{}\n\
                     [endpoint.api]\ncpu = {{ dist = \"exponential\", mean = \"5ms\" }}\n\
                     [instance]\ncores = 1\nworkers = 4\nqueue_capacity = 50\nbase_memory_mb = 100\nmemory_mb = 1000\ninitial = {instances}\nstartup = \"1s\"\ndrain_timeout = \"1s\"\n\
                     [sessions]\n{cap_line}{mem}balancer = \"{balancer}\"\nmessage_rate_per_s = {msg_rate}\nmessage_cpu = {{ dist = \"exponential\", mean = \"2ms\" }}\nconnect_cpu = \"1ms\"\n\
                     reconnect_delay = {{ dist = \"uniform\", min = \"0s\", max = \"500ms\" }}\nattempts = 4\nbackoff = {{ base = \"200ms\", max = \"1s\" }}\n\
                     {fault}{scaling}{memory}",
                    population.replace("PT", &per_tenant.to_string())
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: proptest::test_runner::RngSeed::Fixed(20261124), ..ProptestConfig::default() })]

    /// Whatever the rates, caps, crashes and scale-ins: no instance ever
    /// holds more sessions than its cap, at any moment (the whole-run
    /// maximum is kept at every connection), and requests are conserved.
    #[test]
    fn sessions_per_instance_never_exceed_the_cap(text in session_scenario()) {
        let sc = tenantsim::scenario::from_str(Path::new("prop.toml"), &text, &[]).unwrap();
        let cap = sc.sessions.as_ref().unwrap().max_per_instance as f64;
        let r = run_replication(&sc, 0, &|_| {});
        let max = overall(&r, "sessions_max_per_instance");
        prop_assert!(max <= cap, "{} > cap {}\n{}", max, cap, text);
        prop_assert!(r.timeseries.iter().all(|row| row.sessions_max_per_instance.is_some_and(|m| m as f64 <= cap)));
        let c = r.conservation;
        prop_assert_eq!(c.arrived, c.rejected + c.server_done + c.in_flight, "{}", text);
        for name in ["message_latency_mean_s", "sessions_open_mean", "session_rejects"] {
            if let Some(v) = r.overall[index(name).unwrap()] {
                prop_assert!(v.is_finite() && v >= 0.0, "{} = {}", name, v);
            }
        }
    }
}
