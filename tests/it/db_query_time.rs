//! `db_query_time_mean_s` / `db_query_time_p95_s` (issue 21): the time a
//! query spends on the database, from its start to its reply, with the
//! sharing of the database's cores but without the pool wait.

use super::{overall, run_text, tier_metric};

/// One tenant, one endpoint: 1 ms of CPU then one fixed 10 ms query on a
/// database of `cores` cores, at `rate` req/s through a pool of `pool`.
fn scenario(rate: f64, cores: u32, pool: u32) -> String {
    format!(
        r#"
[simulation]
duration = "300s"
warmup = "10s"
replications = 1
sample_interval = "10s"
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = {rate} }}
[endpoint.read]
cpu = "1ms"
db_queries = 1
query = "10ms"
[instance]
cores = 8
workers = 128
[pool]
size = {pool}
timeout = "60s"
[database]
cores = {cores}
max_connections = 200
"#
    )
}

#[test]
fn a_query_alone_on_the_database_takes_its_work() {
    // At most 2 queries at once (the pool) on 8 cores: no sharing, so
    // every query takes exactly its 10 ms, however long it waited for a
    // connection.
    let r = run_text("alone.toml", &scenario(150.0, 8, 2));
    let mean = overall(&r, "db_query_time_mean_s");
    assert!((mean - 0.010).abs() < 1e-9, "{mean}");
    let p95 = overall(&r, "db_query_time_p95_s");
    // The histogram keeps 3 significant digits.
    assert!((p95 - 0.010).abs() <= 0.010 * 1e-3, "{p95}");
    // The pool (2 connections: 200 queries/s at most, 150 offered, 75 %
    // busy) makes requests wait for a connection; that wait is not query time.
    assert!(overall(&r, "pool_wait_mean_s") > 0.001);
    assert_eq!(tier_metric(&r, 0, "db_query_time_mean_s"), mean);
}

#[test]
fn sharing_the_database_cores_makes_queries_longer() {
    // One core at 80 % busy, processor sharing, a large pool: M/D/1-PS,
    // whose mean time in system is insensitive to the work's
    // distribution: 10 ms / (1 − 0.8) = 50 ms. 290 s × 80 queries/s ≈
    // 23,000 queries; at this load a run's mean lands within ±25 % of
    // the formula (batch means over the run), and without sharing it
    // would be 10 ms, far outside.
    let r = run_text("shared.toml", &scenario(80.0, 1, 100));
    let mean = overall(&r, "db_query_time_mean_s");
    assert!((0.0375..=0.0625).contains(&mean), "{mean}");
    assert!(overall(&r, "db_query_time_p95_s") > mean);
    // The same load on 8 cores: hardly any sharing.
    let wide = run_text("wide.toml", &scenario(80.0, 8, 100));
    let wide_mean = overall(&wide, "db_query_time_mean_s");
    // (Nine queries at once, the first to share, has probability ≈ 1e-7
    // at 0.8 Erlangs.)
    assert!((wide_mean - 0.010).abs() < 1e-4, "{wide_mean}");
}

#[test]
fn without_a_database_there_is_no_query_time() {
    let text = r#"
[simulation]
duration = "10s"
warmup = "0s"
replications = 1
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 10.0 }
[endpoint.api]
cpu = "1ms"
[instance]
cores = 1
"#;
    let r = run_text("nodb.toml", text);
    let i = tenantsim::metrics::names::index("db_query_time_mean_s").unwrap();
    assert_eq!(r.overall[i], None);
}
