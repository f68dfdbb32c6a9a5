//! Memory pressure: instance memory from base + requests + L1 entries, OOM
//! kills past `memory_mb` (requests fail, a replacement starts), and the
//! monitor's actions (shrink the cache, shed, restart).

use super::{overall, run_text};
use std::path::Path;
use tenantsim::metrics::names::index;

/// One instance of 100 MB base, 100 MB per request, 1,000 MB in all: a
/// tenth request in flight crosses the limit. Requests need 1 s of I/O-free
/// CPU on 100 cores (no sharing), at `rate` per second.
fn heavy(rate: f64, memory: &str) -> String {
    format!(
        r#"
[simulation]
duration = "120s"
warmup = "10s"
replications = 1
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = {rate} }}
[endpoint.api]
cpu = "1s"
[instance]
cores = 100
workers = 100
base_memory_mb = 100
memory_per_request_mb = 100
memory_mb = 1000
startup = "5s"
{memory}"#
    )
}

#[test]
fn crossing_the_limit_kills_the_instance_and_its_requests() {
    // 12/s × 1 s = 12 in flight on average: well past 9.
    let r = run_text("m.toml", &heavy(12.0, "[memory]\n"));
    assert!(overall(&r, "oom_kills") > 5.0);
    assert!(overall(&r, "oom_failures") > 20.0);
    assert!(overall(&r, "memory_max_utilization") > 1.0);
    // While the replacement starts (5 s) nothing serves: 503s.
    assert!(overall(&r, "rejected_no_instance") > 100.0);
    let c = r.conservation;
    assert_eq!(c.arrived, c.rejected + c.server_done + c.in_flight);
    // Without [memory] the same overcommitted instance just runs.
    let r = run_text("m.toml", &heavy(12.0, ""));
    assert!(index("oom_kills").is_some_and(|i| r.overall[i].is_none()));
    assert_eq!(overall(&r, "instance_failures"), 0.0);
    assert!(overall(&r, "memory_utilization") > 1.0);
}

#[test]
fn a_light_load_never_reaches_the_limit() {
    // 2/s × 1 s: P(more than 9 in flight) is about 5e-5 per arrival.
    let r = run_text("m.toml", &heavy(2.0, "[memory]\noom_kill = true\n"));
    assert_eq!(overall(&r, "oom_kills"), 0.0);
    assert!(overall(&r, "memory_max_utilization") <= 1.0);
    assert!(overall(&r, "memory_max_utilization") >= 0.3);
}

#[test]
fn shedding_above_a_threshold_keeps_the_instance_alive() {
    let shed = "[memory]\ncheck_interval = \"10ms\"\nactions = [{ above = 0.7, action = \"shed\" }]\n";
    let r = run_text("m.toml", &heavy(12.0, shed));
    // Shedding from 70 % (7 requests in flight) stops admissions well
    // before the tenth: the check runs every 10 ms, and at 12/s at most a
    // request or two arrive between checks.
    assert_eq!(overall(&r, "oom_kills"), 0.0);
    assert!(overall(&r, "rejected_shed") > 100.0);
    assert!(overall(&r, "memory_max_utilization") <= 1.0);
}

#[test]
fn a_restart_action_fails_requests_as_instance_failures() {
    let restart = "[memory]\ncheck_interval = \"10ms\"\nactions = [{ above = 0.8, action = \"restart\" }]\n";
    let r = run_text("m.toml", &heavy(12.0, restart));
    assert!(overall(&r, "memory_restarts") > 3.0);
    assert!(overall(&r, "instance_failures") > 10.0);
    assert_eq!(overall(&r, "oom_failures"), 0.0);
}

/// Reads through an L1 whose entries cost memory: 2,000 entries × 0.4 MB
/// = 800 MB, beside 100 MB base, of 1,000 MB.
fn cached(actions: &str) -> String {
    format!(
        r#"
[simulation]
duration = "300s"
warmup = "60s"
replications = 1
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = 200.0 }}
keys = {{ items = 5000, zipf = 0.6 }}
[endpoint.read]
cpu = "1ms"
db_queries = 1
query = "2ms"
cacheable = true
[instance]
cores = 4
workers = 16
base_memory_mb = 100
memory_mb = 1000
[pool]
size = 8
[database]
cores = 4
[cache.l1]
capacity = 2000
policy = "lru"
latency = "10us"
[memory]
per_cache_item_mb = 0.4
{actions}"#
    )
}

#[test]
fn shrinking_the_cache_frees_memory_and_sends_reads_to_the_database() {
    let full = run_text("c.toml", &cached(""));
    let shrunk = run_text(
        "c.toml",
        &cached("actions = [{ above = 0.6, action = \"shrink-cache\", fraction = 0.5 }]\n"),
    );
    // A full L1 holds 90 % of memory; shrinking keeps it near 60 %.
    assert!(overall(&full, "memory_utilization") > 0.85);
    assert!(overall(&shrunk, "memory_utilization") < 0.65);
    assert!(overall(&shrunk, "cache_shrinks") > 10.0);
    // The feedback: fewer hits, more database work.
    let (h0, h1) = (overall(&full, "cache_hit_ratio"), overall(&shrunk, "cache_hit_ratio"));
    assert!(h1 < h0 - 0.05, "{h0} → {h1}");
    assert!(overall(&shrunk, "db_utilization") > overall(&full, "db_utilization") * 1.1);
    assert_eq!(overall(&full, "oom_kills"), 0.0);
}

#[test]
fn memory_mistakes_are_located() {
    let base = heavy(1.0, "[memory]\nactions = [{ above = 0.8, action = \"shed\" }]\n");
    let cases = [
        (base.replace("0.8, action", "85, action"), "not a percentage"),
        (base.replace("\"shed\"", "\"shedd\""), "did you mean `shed`"),
        (
            base.replace("\"shed\" }", "\"shed\", fraction = 0.5 }"),
            "unknown key `fraction`",
        ),
        (base.replace("\"shed\"", "\"shrink-cache\""), "add a [cache.l1]"),
        (
            base.replace("base_memory_mb = 100", "base_memory_mb = 1000"),
            "out of memory at once",
        ),
        (
            base.replace("[memory]\n", "[memory]\nper_cache_item = 1\n"),
            "unknown field `per_cache_item`",
        ),
    ];
    for (text, want) in cases {
        let e = tenantsim::scenario::from_str(Path::new("m.toml"), &text, &[]).expect_err(want);
        let msg = e.to_string();
        assert!(msg.contains(want) && msg.contains("m.toml:"), "{msg}");
    }
}
