//! Rate limiters, read replicas and the L3 cache (issue 8 items 7 and 9):
//! the mechanisms end to end, on short runs.

use super::{overall, run_text, tier_metric};

/// One tenant, one endpoint at 200 req/s from 4 client addresses; the
/// instance is large so only the limiters refuse anything.
const BASE: &str = r#"
[simulation]
duration = "20s"
warmup = "0s"
replications = 1
sample_interval = "5s"
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 200.0 }
clients = { addresses = 4, zipf = 0.0 }
[endpoint.api]
cpu = "1ms"
[instance]
cores = 8
workers = 64
initial = 2
"#;

fn limiter(r: &tenantsim::runner::ReplicationResult, name: &str, metric: &str) -> f64 {
    let l = r.limiters.iter().find(|l| l.name == name).unwrap();
    let k = tenantsim::scenario::LIMITER_METRICS
        .iter()
        .position(|(m, _)| *m == metric)
        .unwrap();
    l.values[k].unwrap()
}

#[test]
fn a_global_fixed_window_admits_its_limit_per_window() {
    // 50 per second for all traffic, one shared counter: 20 windows ⇒ at
    // most 1000 admitted, and with 200 req/s offered every window fills.
    let text = format!(
        "{BASE}\n[[rate_limit]]\nname = \"all\"\nper = \"global\"\nalgorithm = \"fixed-window\"\nlimit = 50\nwindow = \"1s\"\nstate = \"shared\"\n[rate_limit_store]\nlatency = \"1ms\"\n"
    );
    let r = run_text("fixed.toml", &text);
    let done = overall(&r, "requests_completed");
    assert!((990.0..=1000.0).contains(&done), "{done}");
    let rejected = overall(&r, "rejected_rate_limits");
    assert_eq!(rejected, overall(&r, "rejected_rate_limited"));
    assert_eq!(rejected, limiter(&r, "all", "rejected"));
    assert_eq!(limiter(&r, "all", "checked"), overall(&r, "requests_arrived"));
    // The store's 1 ms round trip is in every request's latency (1 ms CPU).
    assert!((overall(&r, "rate_limit_check_mean_s") - 0.001).abs() < 1e-6);
    assert!(overall(&r, "latency_p50_s") >= 0.002 - 1e-4);
    // Per tier too.
    assert_eq!(tier_metric(&r, 0, "rejected_rate_limits"), rejected);
}

#[test]
fn per_ip_limits_count_each_address_and_local_full_limits_multiply_by_instances() {
    let lim = |state: &str, local: &str| {
        format!(
            "{BASE}\n[[rate_limit]]\nname = \"ip\"\nper = [\"ip\"]\nalgorithm = \"sliding-window\"\nlimit = 10\nwindow = \"1s\"\nstate = \"{state}\"\n{local}\n[rate_limit_store]\nlatency = \"100us\"\n"
        )
    };
    // 4 addresses × 10 per second × 20 s: at most 800 (+ the first
    // window's edge) through a shared counter.
    let shared = run_text("shared.toml", &lim("shared", ""));
    let done = overall(&shared, "requests_completed");
    assert!((780.0..=810.0).contains(&done), "{done}");
    // Local counters with the full limit on each of 2 instances: twice.
    let full = run_text("full.toml", &lim("local", "local_limit = \"full\""));
    let done_full = overall(&full, "requests_completed");
    // (Round robin does not split one address's requests evenly in time,
    // so each instance's counter fills a little less than its limit.)
    assert!((1450.0..=1620.0).contains(&done_full), "{done_full}");
    // Divided among 2 instances: as the shared counter (round robin
    // spreads each address evenly).
    let divided = run_text("divided.toml", &lim("local", "local_limit = \"divided\""));
    let done_div = overall(&divided, "requests_completed");
    assert!((740.0..=810.0).contains(&done_div), "{done_div}");
    // No store call for local limiters: its metric is absent.
    let i = tenantsim::metrics::names::index("rate_limit_check_mean_s").unwrap();
    assert_eq!(full.overall[i], None);
}

#[test]
fn a_sliding_window_refuses_more_than_a_fixed_window_under_bursts() {
    // Bursts of 300 req/s for 0.6 s across each odd second boundary
    // (0.7–1.3 s, 2.7–3.3 s, ...), a global limit of 60 per second.
    let text = |alg: &str| {
        format!(
            r#"
[simulation]
duration = "30s"
warmup = "0s"
replications = 1
sample_interval = "5s"
[[workload]]
tenants = 1
arrival = {{ process = "steps", steps = [["0s", 0.0], ["0.7s", 300.0], ["1.3s", 0.0], ["2.7s", 300.0], ["3.3s", 0.0], ["4.7s", 300.0], ["5.3s", 0.0], ["6.7s", 300.0], ["7.3s", 0.0]] }}
[endpoint.api]
cpu = "1ms"
[instance]
cores = 8
workers = 64
[[rate_limit]]
per = "global"
algorithm = "{alg}"
limit = 60
window = "1s"
"#
        )
    };
    let fixed = run_text("fixed.toml", &text("fixed-window"));
    let sliding = run_text("sliding.toml", &text("sliding-window"));
    let (f, s) = (
        overall(&fixed, "rejected_rate_limited"),
        overall(&sliding, "rejected_rate_limited"),
    );
    // Each 0.6 s burst straddles a second boundary: the fixed window
    // admits 60 on each side (≈ 120 per burst), the sliding log 60.
    let (fa, sa) = (
        overall(&fixed, "requests_completed"),
        overall(&sliding, "requests_completed"),
    );
    assert!(fa > 400.0 && fa <= 480.0, "fixed admitted {fa}");
    assert!(sa <= 240.0 && sa > 200.0, "sliding admitted {sa}");
    assert!(s > f, "sliding {s} vs fixed {f} refusals");
}

/// 150 req/s of reads (one 20 ms query) and 30 req/s of writes on a
/// 2-core primary: 3.0 + 0.6 cores of demand, overloaded without replicas.
const DB: &str = r#"
[simulation]
duration = "30s"
warmup = "5s"
replications = 1
sample_interval = "5s"
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 180.0 }
mix = { read = 5.0, write = 1.0 }
[endpoint.read]
cpu = "1ms"
db_queries = 1
query = { dist = "exponential", mean = "20ms" }
timeout = "2s"
[endpoint.write]
operation = "write"
cpu = "1ms"
db_queries = 1
query = { dist = "exponential", mean = "20ms" }
timeout = "2s"
[instance]
cores = 8
workers = 256
[pool]
size = 100
timeout = "2s"
[database]
cores = 2
max_connections = 1000
"#;

fn server(r: &tenantsim::runner::ReplicationResult, name: &str, metric: &str) -> Option<f64> {
    let s = r.databases.iter().find(|s| s.name == name)?;
    let k = tenantsim::scenario::DB_SERVER_METRICS
        .iter()
        .position(|(m, _)| *m == metric)
        .unwrap();
    s.values[k]
}

#[test]
fn read_replicas_take_the_reads_and_unload_the_primary() {
    let none = run_text("none.toml", DB);
    let two = run_text(
        "two.toml",
        &format!("{DB}\n[database.replicas]\ncount = 2\ncores = 2\n"),
    );
    let (u0, u2) = (overall(&none, "db_utilization"), overall(&two, "db_utilization"));
    assert!(u0 > 0.95, "primary alone is saturated: {u0}");
    // Alone it is overloaded (180 % of its cores): queries share the cores
    // and nearly every request times out; with replicas nothing does.
    assert!(overall(&none, "error_rate") > 0.5);
    assert!(overall(&two, "error_rate") < 0.01);
    assert!(overall(&two, "latency_p99_s") < 0.5);
    // The primary keeps the writes only: 30/s × 20 ms on 2 cores ≈ 0.3.
    assert!((0.2..0.4).contains(&u2), "{u2}");
    // Each replica ≈ 75/s × 20 ms / 2 cores = 0.75.
    let r1 = server(&two, "replica-1", "utilization").unwrap();
    let r2 = server(&two, "replica-2", "utilization").unwrap();
    assert!((0.6..0.9).contains(&r1) && (0.6..0.9).contains(&r2), "{r1} {r2}");
    assert!((overall(&two, "replica_utilization") - (r1 + r2) / 2.0).abs() < 0.02);
    // Round robin: the calls split evenly; the primary has the writes.
    let (c1, c2) = (
        server(&two, "replica-1", "calls").unwrap(),
        server(&two, "replica-2", "calls").unwrap(),
    );
    assert!((c1 - c2).abs() <= 1.0, "{c1} {c2}");
    let cp = server(&two, "primary", "calls").unwrap();
    assert!(cp > 0.15 * (c1 + c2 + cp) && cp < 0.2 * (c1 + c2 + cp), "{cp}");
    // No replicas: no per-server section, no replica metric.
    assert!(none.databases.is_empty());
    let i = tenantsim::metrics::names::index("replica_utilization").unwrap();
    assert_eq!(none.overall[i], None);
}

#[test]
fn least_connections_splits_evenly_and_primary_routes_stay() {
    // Least-connections between identical replicas splits the calls
    // nearly evenly; reads routed to the primary by db_route stay there.
    let text = format!("{DB}\n[database.replicas]\ncount = 2\ncores = 2\nrouting = \"least-connections\"\n");
    let r = run_text("lc.toml", &text);
    let (c1, c2) = (
        server(&r, "replica-1", "calls").unwrap(),
        server(&r, "replica-2", "calls").unwrap(),
    );
    assert!(c1 + c2 > 0.0 && (c1 - c2).abs() / (c1 + c2) < 0.1, "{c1} {c2}");
    let pinned = run_text(
        "pinned.toml",
        &format!(
            "{}\n[database.replicas]\ncount = 2\n",
            DB.replace("[endpoint.read]\n", "[endpoint.read]\ndb_route = \"primary\"\n")
        ),
    );
    assert_eq!(server(&pinned, "replica-1", "calls"), Some(0.0));
    assert_eq!(server(&pinned, "replica-2", "calls"), Some(0.0));
}

/// Reads through a small L2 and a large L3 (5 ms) in front of a 20 ms
/// query: the L3 catches most L2 misses.
const CACHED: &str = r#"
[simulation]
duration = "30s"
warmup = "10s"
replications = 1
sample_interval = "5s"
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 200.0 }
keys = { items = 2000, zipf = 0.8 }
[endpoint.read]
cpu = "1ms"
db_queries = 1
query = "20ms"
cacheable = true
[instance]
cores = 8
workers = 256
[pool]
size = 100
[database]
cores = 16
max_connections = 1000
[cache.l2]
capacity = 50
ttl = "10m"
latency = "1ms"
"#;

#[test]
fn an_l3_catches_l2_misses_and_fills_the_l2() {
    let without = run_text("l2.toml", CACHED);
    let with = run_text(
        "l3.toml",
        &format!("{CACHED}\n[cache.l3]\ncapacity = 100000\nttl = \"1h\"\nlatency = \"5ms\"\n"),
    );
    let l3 = overall(&with, "l3_hit_ratio");
    // The L3 holds every key read so far (capacity above the key count):
    // it misses only a key's first read (≈ 0.81 measured with seed 1; the
    // long Zipf(0.8) tail keeps bringing first reads).
    assert!(l3 > 0.75, "{l3}");
    assert!(overall(&with, "cache_hit_ratio") > 0.8);
    assert!(overall(&without, "cache_hit_ratio") < 0.3);
    // The L2's own ratio is the same with or without the L3 below it (the
    // L3 fills it as the database would).
    let (a, b) = (overall(&without, "l2_hit_ratio"), overall(&with, "l2_hit_ratio"));
    assert!((a - b).abs() < 0.05, "{a} {b}");
    // L3 hits take 1 ms CPU + 1 ms L2 + 5 ms L3: the median read.
    let p50 = overall(&with, "latency_p50_s");
    assert!((0.0065..0.0075).contains(&p50), "{p50}");
    let i = tenantsim::metrics::names::index("l3_hit_ratio").unwrap();
    assert_eq!(without.overall[i], None);
}

#[test]
fn bad_data_tier_keys_are_refused_with_their_key_and_line() {
    use std::path::Path;

    let err = |text: String| {
        tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[])
            .expect_err("should be refused")
            .to_string()
    };
    let limit = |body: &str| format!("{BASE}[[rate_limit]]\n{body}\n");
    // BASE ends on line 16; [[rate_limit]] is line 17, its first key 18.
    let e = err(limit(
        "per = [\"ip\", \"user\"]\nalgorithm = \"sliding-window\"\nlimit = 5\nwindow = \"1s\"",
    ));
    assert!(
        e.contains("s.toml:18") && e.contains("rate_limit[0].per[1]") && e.contains("tenant, ip, endpoint"),
        "{e}"
    );
    let e = err(limit("algorithm = \"leaky\"\nlimit = 5"));
    assert!(
        e.contains("s.toml:18") && e.contains("fixed-window, sliding-window"),
        "{e}"
    );
    let e = err(limit(
        "algorithm = \"fixed-window\"\nlimit = 5\nwindow = \"1s\"\nrate_per_s = 3",
    ));
    assert!(
        e.contains("rate_limit[0].rate_per_s") && e.contains("allowed: name"),
        "{e}"
    );
    let e = err(limit(
        "algorithm = \"fixed-window\"\nlimit = 5\nwindow = \"1s\"\nstate = \"shared\"",
    ));
    assert!(e.contains("[rate_limit_store]"), "{e}");
    let e = err(limit("algorithm = \"fixed-window\"\nlimit = 2.5\nwindow = \"1s\""));
    assert!(e.contains("rate_limit[0].limit") && e.contains("whole number"), "{e}");
    let no_clients = BASE.replace("clients = { addresses = 4, zipf = 0.0 }\n", "");
    let e = err(format!(
        "{no_clients}[[rate_limit]]\nper = \"ip\"\nalgorithm = \"fixed-window\"\nlimit = 5\nwindow = \"1s\"\n"
    ));
    assert!(e.contains("workload[0]") && e.contains("clients = {"), "{e}");
    let e = err(format!("{DB}[database.replicas]\ncount = 2\nrouting = \"random\"\n"));
    assert!(
        e.contains("database.replicas.routing") && e.contains("least-connections"),
        "{e}"
    );
    let e = err(format!("{DB}[database.replicas]\nrouting = \"round-robin\"\n"));
    assert!(e.contains("missing `count`"), "{e}");
    let e = err(DB.replace("[endpoint.write]\n", "[endpoint.write]\ndb_route = \"secondary\"\n"));
    assert!(e.contains("endpoint.write.db_route") && e.contains("primary"), "{e}");
    // count = 0 is no replicas at all.
    let sc = tenantsim::scenario::from_str(
        Path::new("s.toml"),
        &format!("{DB}[database.replicas]\ncount = 0\n"),
        &[],
    )
    .unwrap();
    assert!(sc.database.unwrap().replicas.is_none());
}
