//! Resource limits (issue 13): absurd scenarios are refused before any
//! allocation with an estimate, and `--max-events` caps a runaway run.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::str::contains;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

#[test]
fn ten_million_tenants_with_keys_of_their_own_are_refused_with_an_estimate() {
    // 10⁷ tenants (the resolver's cap; more is refused there) with 100
    // keys each in a TTL-only L1 on 2 instances: 2·10⁹ entries, ~120 GB.
    tenantsim()
        .args(["run", "--quiet"])
        .arg(repo("scenarios/examples/quickstart.toml"))
        .args([
            "--set",
            "workload.0.tenants=10000000",
            "--set",
            "cache.l1={ policy = \"none\", ttl = \"1m\" }",
            "--set",
            "workload.0.keys={ items = 100, zipf = 1.0 }",
        ])
        .assert()
        .code(2)
        .stderr(contains("would need about"))
        .stderr(contains("GB of memory"))
        .stderr(contains("cache.l1.capacity"))
        .stderr(contains("workload.0.tenants"));
}

#[test]
fn a_billion_tenants_are_refused() {
    tenantsim()
        .args(["run", "--quiet"])
        .arg(repo("scenarios/examples/quickstart.toml"))
        .args(["--set", "workload.0.tenants=1000000000"])
        .assert()
        .code(2)
        .stderr(contains("workload[0].tenants"))
        .stderr(contains("more than the 10,000,000 supported"));
}

#[test]
fn a_billion_cache_items_on_many_instances_are_refused() {
    tenantsim()
        .args(["run", "--quiet"])
        .arg(repo("scenarios/examples/cache-warmup-scale-out.toml"))
        .args([
            "--set",
            "cache.l1.capacity=1000000000",
            "--set",
            "workload.0.keys.items=1000000000",
        ])
        .assert()
        .code(2)
        .stderr(contains("cache.l1.capacity"));
}

#[test]
fn max_events_stops_a_run_and_says_so() {
    let dir = tmpdir("max-events");
    tenantsim()
        .args([
            "run",
            "--quiet",
            "--no-report",
            "--replications",
            "2",
            "--max-events",
            "5000",
            "--out",
        ])
        .arg(&dir)
        .arg(repo("scenarios/examples/quickstart.toml"))
        .assert()
        .stderr(contains("stopped at --max-events 5000"));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["engine"]["max_events"], 5000);
    assert_eq!(s["engine"]["stopped_at_max_events"], 2);
    // Each replication delivered exactly the cap.
    assert_eq!(s["engine"]["events"], 10000);
    assert!(s["duration_s"].as_f64().unwrap() < 1800.0, "the quickstart runs 30 min");
    assert!(s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("--max-events")));
}

#[test]
fn max_events_zero_is_refused() {
    tenantsim()
        .args(["run", "--quiet", "--max-events", "0"])
        .arg(repo("scenarios/examples/quickstart.toml"))
        .assert()
        .code(2)
        .stderr(contains("simulation.max_events"));
}
