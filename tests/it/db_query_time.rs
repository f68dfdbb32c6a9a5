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

#[test]
fn a_claim_on_query_time_is_judged_and_refused_without_a_database() {
    use assert_cmd::Command;
    use predicates::prelude::*;
    let d = super::tmpdir("db-query-claim");
    // Judged: the 10 ms queries alone on the database hold a 50 ms mean
    // and fail a 5 ms one.
    let ok = d.join("db.toml");
    let claims = r#"
[[claim]]
id = "mean-50"
source = "test L1"
metric = "db_query_time_mean_s"
at_most = "50ms"

[[claim]]
id = "p95-5"
source = "test L2"
metric = "db_query_time_p95_s"
at_most = "5ms"
"#;
    let text = scenario(20.0, 8, 4).replace("duration = \"300s\"", "duration = \"60s\"");
    std::fs::write(&ok, format!("{text}{claims}")).unwrap();
    let out = Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", "--json", "--quiet", "--no-search", "--replications", "3"])
        .arg(&ok)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes: Vec<&str> = v[0]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["holds", "fails"], "{v}");
    // Refused where there is no database, at the claim's metric key.
    let nodb = d.join("nodb.toml");
    std::fs::write(
        &nodb,
        format!(
            "include = [\"{}\"]\nname = \"nodb\"\n{claims}",
            super::repo("scenarios/examples/quickstart.toml").display()
        ),
    )
    .unwrap();
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims"])
        .arg(&nodb)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nodb.toml:7:10:"))
        .stderr(predicate::str::contains("claim[0].metric"))
        .stderr(predicate::str::contains("needs a Database component"));
}
