//! Circuit breakers: a database fault with a breaker fails fast instead of
//! timing out; the stale fallback answers reads from expired cached copies;
//! an L2 breaker sends reads past a slow cache.

use super::{overall, run_text, tier_metric};
use std::path::Path;

/// 100 req/s of 1 ms CPU plus one 5 ms query; the database slows down 50×
/// from 60 s to 120 s (16 queries/s at most on 4 cores). The pool waits
/// 30 s for a connection, the client 1 s.
const DB_FAULT: &str = r#"
[simulation]
duration = "180s"
warmup = "0s"
replications = 1
sample_interval = "10s"
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 100.0 }
keys = { items = 200, zipf = 0.8 }
[endpoint.read]
cpu = "1ms"
db_queries = 1
query = { dist = "exponential", mean = "5ms" }
timeout = "1s"
[instance]
cores = 4
workers = 64
[pool]
size = 10
timeout = "30s"
[database]
cores = 4
max_connections = 100
[[fault]]
kind = "db-slowdown"
at = "60s"
factor = 50.0
duration = "60s"
"#;

const BREAKER: &str = r#"
[breaker.database]
failure_rate = 0.5
window = 20
min_calls = 10
slow_call = "500ms"
open_for = "5s"
half_open_probes = 3
"#;

#[test]
fn a_database_breaker_fails_fast_instead_of_timing_out() {
    let without = run_text("no-breaker.toml", DB_FAULT);
    let with = run_text("breaker.toml", &format!("{DB_FAULT}{BREAKER}"));
    let t0 = overall(&without, "timeouts");
    let t1 = overall(&with, "timeouts");
    let rejected = overall(&with, "breaker_rejections");
    // Without a breaker most requests of the fault minute time out after
    // 1 s (≈ 6,000 arrive, the database serves ≈ 16/s of them).
    assert!(t0 > 3000.0, "{t0}");
    // With it, most of them are refused at once and few time out.
    assert!(rejected > 3000.0, "{rejected}");
    assert!(t1 < t0 / 4.0, "timeouts {t1} vs {t0}");
    assert!(overall(&with, "breaker_opens") >= 1.0);
    let open = overall(&with, "db_breaker_open_fraction");
    assert!(open > 0.2 && open < 0.5, "{open}");
    // Breaker metrics exist only with a breaker.
    let i = tenantsim::metrics::names::index("breaker_rejections").unwrap();
    assert_eq!(without.overall[i], None);
    // It closed again after the fault, and every change is recorded in order.
    let ev = &with.breaker_events;
    assert_eq!(ev.first().map(|e| (e.from, e.to)), Some(("closed", "open")));
    assert_eq!(ev.last().map(|e| e.to), Some("closed"));
    assert!(ev.last().unwrap().time_s > 120.0);
    assert!(ev
        .windows(2)
        .all(|w| w[0].to == w[1].from && w[0].time_s <= w[1].time_s));
    assert!(ev.iter().all(|e| e.downstream == "database"));
    // Before the fault nothing was refused: the first opening is after 60 s.
    assert!(ev[0].time_s > 60.0, "{:?}", ev[0]);
}

#[test]
fn the_stale_fallback_answers_reads_from_expired_cached_copies() {
    // Cacheable reads with an L2 whose entries expire after 2 s: during the
    // fault most keys have an expired copy, which the fallback serves.
    let cached = DB_FAULT.replace("timeout = \"1s\"", "timeout = \"1s\"\ncacheable = true")
        + "[cache.l2]\nttl = \"2s\"\nlatency = \"500us\"\n";
    let fail_fast = run_text("ff.toml", &format!("{cached}{BREAKER}"));
    let stale = run_text("stale.toml", &format!("{cached}{BREAKER}fallback = \"stale\"\n"));
    let hits = tier_metric(&stale, 0, "stale_hits");

    assert!(hits > 1000.0, "{hits}");
    assert_eq!(overall(&fail_fast, "stale_hits"), 0.0);
    let (e0, e1) = (overall(&fail_fast, "error_rate"), overall(&stale, "error_rate"));
    assert!(e1 < e0 / 2.0, "error rate {e1} (stale) vs {e0} (fail fast)");
}

#[test]
fn an_l2_breaker_skips_a_slow_cache() {
    // L2 lookups take 1 ms, then 100 ms during a cache slowdown; reads that
    // miss go to a fast database. With a breaker on the L2 (slow_call 20 ms,
    // 5 slow lookups in a row) reads go straight to the database instead.
    let text = r#"
[simulation]
duration = "120s"
warmup = "0s"
replications = 1
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 50.0 }
keys = { items = 1000, zipf = 0.5 }
[endpoint.read]
cpu = "1ms"
db_queries = 1
query = "2ms"
cacheable = true
[instance]
cores = 4
workers = 64
[pool]
size = 20
[database]
cores = 8
[cache.l2]
ttl = "10s"
latency = "1ms"
[[fault]]
kind = "cache-slowdown"
at = "30s"
factor = 100.0
duration = "60s"
"#;
    let without = run_text("l2.toml", text);
    let with = run_text(
        "l2-breaker.toml",
        &format!("{text}[breaker.cache]\nconsecutive_failures = 5\nslow_call = \"20ms\"\nopen_for = \"2s\"\n"),
    );
    let open = overall(&with, "cache_breaker_open_fraction");
    assert!(open > 0.3 && open < 0.55, "{open}");
    let (m0, m1) = (overall(&without, "latency_mean_s"), overall(&with, "latency_mean_s"));
    assert!(m1 < m0 / 2.0, "mean latency {m1} with vs {m0} without");
    assert!(with.breaker_events.iter().all(|e| e.downstream == "cache"));
    // An open L2 breaker does not fail requests.
    assert_eq!(overall(&with, "breaker_rejections"), 0.0);
}

#[test]
fn breaker_keys_are_validated() {
    let cases = [
        ("failure_rate = 0.5\nconsecutive_failures = 3\n", "not both"),
        ("open_for = \"5s\"\n", "missing a trigger"),
        ("failure_rate = 50\n", "not a percentage"),
        ("failure_rate = 0.5\nwindow = 10\nmin_calls = 20\n", "min_calls"),
        ("consecutive_failures = 3\nwindow = 10\n", "belongs to failure_rate"),
        (
            "consecutive_failures = 3\nfallback = \"stail\"\n",
            "did you mean `stale`",
        ),
        ("consecutive_failures = 3\nfallback = \"stale\"\n", "add a [cache.l1]"),
        ("consecutive_failures = 3\nhalf_open_probes = 0\n", "half_open_probes"),
        ("consecutive_failures = 3\nwindow_size = 3\n", "window_size"),
    ];
    for (body, fragment) in cases {
        let text = format!("{DB_FAULT}[breaker.database]\n{body}");
        let e = tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).expect_err(body);
        let msg = e.to_string();
        assert!(msg.starts_with("s.toml:"), "no file:line in: {msg}");
        assert!(msg.contains(fragment), "`{fragment}` missing from: {msg}");
    }
    let e = tenantsim::scenario::from_str(
        Path::new("s.toml"),
        &format!("{DB_FAULT}[breaker.cache]\nconsecutive_failures = 3\n"),
        &[],
    )
    .unwrap_err();
    assert!(e.to_string().contains("[cache.l2]"), "{e}");
}
