//! `tenantsim lint` and `crate::lint`: every rule fires on a scenario that
//! breaks it and stays quiet on one that does not, with the arithmetic; the
//! CLI's exit codes; `run` printing lint warnings first.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;
use tenantsim::lint::{lint, Severity};
use tenantsim::scenario::Scenario;

/// A small, sound scenario: 100 req/s × 10 ms on 2 × 2 cores (ρ 0.25),
/// 100 × 5 ms of queries on 4 database cores, pools 2 × 10 ≤ 100.
const GOOD: &str = r#"
name = "lint-good"
[simulation]
duration = "10s"
[[tier]]
name = "t"
max_connections = 5
memory_mb = 100
query_timeout = "5s"
[[workload]]
tier = "t"
tenants = 10
arrival = { process = "poisson", rate_per_s = 10.0 }
mix = { read = 1.0 }
[endpoint.read]
cpu = { dist = "exponential", mean = "10ms" }
db_queries = 1
query = { dist = "exponential", mean = "5ms" }
timeout = "10s"
[instance]
cores = 2
workers = 4
queue_capacity = 100
base_memory_mb = 200
memory_per_request_mb = 2
memory_mb = 2048
initial = 2
[pool]
size = 5
overflow = 5
timeout = "5s"
[database]
cores = 4
max_connections = 100
"#;

fn load(text: &str, sets: &[&str]) -> Scenario {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    tenantsim::scenario::from_str(Path::new("lint-test.toml"), text, &sets).unwrap()
}

/// The findings of `rule` after `sets`.
fn fired(text: &str, sets: &[&str], rule: &str) -> Vec<tenantsim::lint::Finding> {
    lint(&load(text, sets)).into_iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn the_good_scenario_is_clean() {
    let f = lint(&load(GOOD, &[]));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn pool_connections_counts_every_pool_at_the_most_instances() {
    let f = fired(GOOD, &["database.max_connections=15"], "pool-connections");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(f[0].arithmetic.contains("= 20 >"), "{}", f[0].arithmetic);
    assert!(f[0].keys.iter().any(|k| k == "database.max_connections"));
    // A hybrid tier has its own pool on every shared instance: 2 pools × 2 × 10.
    let text = GOOD.replace(
        "query_timeout = \"5s\"",
        "query_timeout = \"5s\"\nisolation = \"hybrid\"\n[[tier]]\nname = \"u\"",
    );
    let f = fired(&text, &["database.max_connections=39"], "pool-connections");
    assert!(f.iter().any(|x| x.arithmetic.contains("= 40 >")), "{f:#?}");
    assert!(fired(&text, &["database.max_connections=40"], "pool-connections").is_empty());
    // Permanent connections alone over the limit: an error.
    let f = fired(GOOD, &["database.max_connections=9"], "pool-connections");
    assert!(f.iter().any(|x| x.severity == Severity::Error), "{f:#?}");
}

#[test]
fn tier_connections_fires_when_the_cap_never_binds() {
    let f = fired(GOOD, &["tier.0.max_connections=50"], "tier-connections");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("never binds"));
    assert!(
        f[0].arithmetic.contains("50 > pool limit (5 + 5) = 10"),
        "{}",
        f[0].arithmetic
    );
    assert!(fired(GOOD, &["tier.0.max_connections=10"], "tier-connections").is_empty());
}

#[test]
fn tier_memory_fires_when_a_quota_exceeds_an_instance() {
    let f = fired(GOOD, &["tier.0.memory_mb=5000"], "tier-memory");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].arithmetic.contains("2500 requests"), "{}", f[0].arithmetic);
    assert!(f[0].arithmetic.contains("= 1848 MB"), "{}", f[0].arithmetic);
    // A quota without per-request memory does nothing.
    let f = fired(GOOD, &["instance.memory_per_request_mb=0"], "tier-memory");
    assert!(f[0].message.contains("no effect"), "{f:#?}");
    assert!(fired(GOOD, &["tier.0.memory_mb=1800"], "tier-memory").is_empty());
}

#[test]
fn instance_memory_counts_workers_and_queue() {
    let f = fired(GOOD, &["instance.queue_capacity=1000"], "instance-memory");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Info);
    assert!(f[0].arithmetic.contains("= 2208 MB"), "{}", f[0].arithmetic);
    assert!(fired(GOOD, &["instance.queue_capacity=900"], "instance-memory").is_empty());
}

#[test]
fn timeout_order_fires_on_queries_and_pool_waits_outliving_the_request() {
    let f = fired(GOOD, &["tier.0.query_timeout=30s"], "timeout-order");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].arithmetic.contains("query_timeout 30 s > request timeout 10 s"));
    let f = fired(GOOD, &["pool.timeout=30s"], "timeout-order");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].keys.contains(&"pool.timeout".to_string()));
    assert!(fired(GOOD, &["tier.0.query_timeout=10s"], "timeout-order").is_empty());
}

#[test]
fn utilization_fires_at_one_with_no_autoscaler() {
    let f = fired(GOOD, &["workload.0.arrival.rate_per_s=50"], "utilization");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0].arithmetic.contains("= 1.25"), "{}", f[0].arithmetic);
    assert!(fired(GOOD, &["workload.0.arrival.rate_per_s=39"], "utilization").is_empty());
    // A rate limit caps what is offered.
    let text = GOOD.replace(
        "memory_mb = 100\n",
        "memory_mb = 100\nrate_limit = { rate_per_s = 20, burst = 20 }\n",
    );
    assert!(fired(&text, &["workload.0.arrival.rate_per_s=50"], "utilization").is_empty());
}

#[test]
fn db_utilization_fires_even_with_every_cacheable_read_a_hit() {
    let f = fired(GOOD, &["endpoint.read.query.mean=100ms"], "db-utilization");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0].arithmetic.contains("= 2.50"), "{}", f[0].arithmetic);
    // With a cache, the hit ratio decides: an info with the ratio needed.
    let text =
        GOOD.replace(
            "timeout = \"10s\"\n[instance]",
            "timeout = \"10s\"\ncacheable = true\n[instance]",
        )
        .replace(
            "mix = { read = 1.0 }",
            "mix = { read = 1.0 }\nkeys = { items = 100, zipf = 1.0 }",
        ) + "[cache.l1]\ncapacity = 100\n";
    let f = fired(&text, &["endpoint.read.query.mean=60ms"], "db-utilization");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Info);
    assert!(f[0].message.contains("33.3 %"), "{}", f[0].message);
    assert!(fired(GOOD, &["endpoint.read.query.mean=35ms"], "db-utilization").is_empty());
}

const HPA: &str =
    "[autoscaler]\npolicy = \"hpa\"\nmin = 1\nmax = 2\nmetrics = [ { metric = \"cpu\", target = 0.7 } ]\n";

#[test]
fn autoscaler_capacity_fires_beyond_max_and_beyond_the_target() {
    let text = format!("{GOOD}{HPA}");
    let f = fired(&text, &["workload.0.arrival.rate_per_s=50"], "autoscaler-capacity");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    let f = fired(&text, &["workload.0.arrival.rate_per_s=30"], "autoscaler-capacity");
    assert_eq!(f[0].severity, Severity::Warning, "{f:#?}");
    assert!(f[0].arithmetic.contains("= 3 > 2"), "{}", f[0].arithmetic);
    assert!(fired(&text, &["workload.0.arrival.rate_per_s=20"], "autoscaler-capacity").is_empty());
    // The autoscaler takes over from the no-autoscaler rule.
    assert!(fired(&text, &["workload.0.arrival.rate_per_s=50"], "utilization").is_empty());
}

const CLAIM_X: &str = "[[claim]]\nid = \"x\"\nsource = \"t L1\"\nmetric = \"throughput_rps\"\nat_least = 1000\n";

#[test]
fn throughput_capacity_fires_when_the_instances_cannot_serve_a_stated_throughput() {
    let text = format!("{GOOD}{CLAIM_X}");
    let f = fired(&text, &[], "throughput-capacity");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].arithmetic.contains("= 400 req/s"), "{}", f[0].arithmetic);
    assert!(f[0].arithmetic.contains("needs ≥ 5 instance(s)"), "{}", f[0].arithmetic);
    assert!(fired(&text, &["claim.0.at_least=300"], "throughput-capacity").is_empty());
}

fn closed(users: u32, think: &str) -> String {
    GOOD.replace(
        "arrival = { process = \"poisson\", rate_per_s = 10.0 }",
        &format!("arrival = {{ process = \"closed\", users = {users}, think_time = \"{think}\" }}"),
    )
    .replace("tenants = 10", "tenants = 1")
}

#[test]
fn littles_law_bounds_a_closed_workload_throughput() {
    // 10 users thinking 1 s send at most 10 / (1 + 15 ms) = 9.85 req/s.
    let text = format!("{}{CLAIM_X}", closed(10, "1s"));
    let f = fired(&text, &["claim.0.at_least=20"], "littles-law");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0].arithmetic.contains("= 9.85 req/s < 20"), "{}", f[0].arithmetic);
    assert!(fired(&text, &["claim.0.at_least=5"], "littles-law").is_empty());
    // With a latency target the throughput claim may need less latency.
    let text = format!(
        "{}{CLAIM_X}[[claim]]\nid = \"r\"\nsource = \"t L2\"\nmetric = \"latency_mean_s\"\nat_most = \"1s\"\n",
        closed(10, "1s")
    );
    let f = fired(&text, &["claim.0.at_least=6"], "littles-law");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Info);
    assert!(f[0].message.contains("at most 667 ms"), "{}", f[0].message);
    assert!(fired(&text, &["claim.0.at_least=4"], "littles-law").is_empty());
}

#[test]
fn claim_consistency_finds_contradictions() {
    let two = "[[claim]]\nid = \"hot\"\nsource = \"t L1\"\nmetric = \"cpu_utilization\"\nat_least = 0.8\n\
               [[claim]]\nid = \"cool\"\nsource = \"t L2\"\nmetric = \"cpu_utilization\"\nat_most = 0.7\n";
    let f = fired(&format!("{GOOD}{two}"), &[], "claim-consistency");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].arithmetic.contains("no value is both"));
    assert!(fired(&format!("{GOOD}{two}"), &["claim.1.at_most=0.9"], "claim-consistency").is_empty());
    // A benchmark row against Little's law: 50 clients at 65 ms send 769 req/s, not 150.
    let ll = "[[claim]]\nid = \"row\"\nsource = \"t L3\"\nlittles_law = { throughput = 150, latency = \"65ms\" }\n";
    let f = fired(&format!("{}{ll}", closed(50, "0s")), &[], "claim-consistency");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].arithmetic.contains("= 769 req/s"), "{}", f[0].arithmetic);
    assert!(f[0].arithmetic.contains("imply R = 333 ms"), "{}", f[0].arithmetic);
    let ok = "[[claim]]\nid = \"row\"\nsource = \"t L3\"\nlittles_law = { throughput = 700, latency = \"65ms\" }\n";
    assert!(fired(&format!("{}{ok}", closed(50, "0s")), &[], "claim-consistency").is_empty());
    // Little's law between inequality claims: X ≤ 5 with R ≤ 1 s means X ≥ 5 for 10 users thinking 1 s.
    let pair = "[[claim]]\nid = \"few\"\nsource = \"t L4\"\nmetric = \"throughput_rps\"\nat_most = 4\n\
                [[claim]]\nid = \"fast\"\nsource = \"t L5\"\nmetric = \"latency_mean_s\"\nat_most = \"1s\"\n";
    let f = fired(&format!("{}{pair}", closed(10, "1s")), &[], "claim-consistency");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("`few` and `fast`"), "{}", f[0].message);
}

#[test]
fn the_seed_scenarios_lint_with_the_arithmetic_the_readme_gives() {
    let sc = tenantsim::scenario::load(&repo("scenarios/hermes.toml"), &[]).unwrap();
    let f: Vec<_> = lint(&sc).into_iter().filter(|f| f.rule == "pool-connections").collect();
    // 3 pools per 20 instances: shared (free), hybrid (pro), dedicated (enterprise).
    assert!(f.iter().any(|x| x.arithmetic.contains("= 3600 >")), "{f:#?}");
    let sc = tenantsim::scenario::load(&repo("scenarios/ai-orchestrator-hub.toml"), &[]).unwrap();
    let f: Vec<_> = lint(&sc).into_iter().filter(|f| f.rule == "pool-connections").collect();
    assert!(f.iter().any(|x| x.arithmetic.contains("= 200 >")), "{f:#?}");
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let p = tmpdir(name).join("s.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn lint_exit_codes() {
    let good = write("lint-cli-good", GOOD);
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["lint", good.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 error(s), 0 warning(s), 0 info"));
    // Warnings: 0, or 1 with --deny-warnings.
    let warn = write(
        "lint-cli-warn",
        &GOOD.replace("max_connections = 5\n", "max_connections = 50\n"),
    );
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["lint", warn.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("warning[tier-connections]"));
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["lint", warn.to_str().unwrap(), "--deny-warnings"])
        .assert()
        .code(1);
    // An error: 1; --json lists it with its keys and arithmetic.
    let o = Command::cargo_bin("tenantsim")
        .unwrap()
        .args([
            "lint",
            good.to_str().unwrap(),
            "--set",
            "workload.0.arrival.rate_per_s=50",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v[0]["findings"][0];
    assert_eq!(f["rule"], "utilization");
    assert_eq!(f["severity"], "error");
    assert!(f["keys"].as_array().unwrap().iter().any(|k| k == "instance.initial"));
    assert!(f["arithmetic"].as_str().unwrap().contains("1.25"));
    // Bad input: 2.
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["lint", "no-such-file.toml"])
        .assert()
        .code(2);
}

#[test]
fn run_prints_lint_warnings_first() {
    let warn = write(
        "lint-run-warn",
        &GOOD.replace("max_connections = 5\n", "max_connections = 50\n"),
    );
    let out = tmpdir("lint-run-out");
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args([
            "run",
            warn.to_str().unwrap(),
            "--quiet",
            "--no-report",
            "--replications",
            "1",
        ])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .code(0)
        .stderr(predicate::str::starts_with("lint warning[tier-connections]:"));
    let s = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        s.contains("lint warning[tier-connections]"),
        "summary.json warnings carry lint"
    );
}

// Issue 26 item 10: a tier no workload uses appeared in the output with
// zeros and nothing said why.
#[test]
fn unused_tier_fires_for_a_tier_no_workload_names() {
    let text = format!("{GOOD}[[tier]]\nname = \"spare\"\n");
    let f = fired(&text, &[], "unused-tier");
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].keys, vec!["tier.1".to_string()]);
    assert!(
        f[0].message.contains("tier `spare` has no workload"),
        "{}",
        f[0].message
    );
    assert!(f[0].arithmetic.contains("0 of 1"), "{}", f[0].arithmetic);
    // A tier a workload uses is quiet: move the workload and the other
    // tier is the unused one.
    let f = fired(&text, &["workload.0.tier=\"spare\""], "unused-tier");
    assert!(
        f.len() == 1 && f[0].message.contains("tier `t` has no workload"),
        "{f:#?}"
    );
    assert!(fired(GOOD, &[], "unused-tier").is_empty());
    // `lint` shows it and fails with --deny-warnings; `run` prints it first.
    let file = write("lint-unused-tier", &text);
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["lint", file.to_str().unwrap(), "--deny-warnings"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "warning[unused-tier]: tier `spare` has no workload",
        ));
    let out = tmpdir("lint-unused-tier-out");
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args([
            "run",
            file.to_str().unwrap(),
            "--quiet",
            "--no-report",
            "--replications",
            "1",
        ])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("lint warning[unused-tier]: tier `spare`"));
}
