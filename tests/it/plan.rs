//! `tenantsim plan`: the search finds the brute-force optimum with fewer
//! simulations, reports in the SPEC's JSON shape, and exits 1 when nothing
//! meets the SLOs.

use super::{repo, tmpdir};
use assert_cmd::Command;

fn plan(extra: &[&str]) -> (i32, serde_json::Value) {
    let out = tmpdir("plan");
    let mut args: Vec<String> = [
        "plan",
        repo("scenarios/examples/pool-exhaustion.toml").to_str().unwrap(),
        "--set",
        "simulation.duration=2m",
        "--set",
        "simulation.warmup=20s",
        "--set",
        "instance.cost_per_hour=0.1",
        "--vary",
        "pool.size=3..8:1",
        "--vary",
        "instance.initial=1..3:1",
        "--max-replications",
        "6",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = Command::cargo_bin("tenantsim").unwrap().args(&args).output().unwrap();
    let code = o.status.code().unwrap();
    assert!(code != 2, "{}", String::from_utf8_lossy(&o.stderr));
    (code, serde_json::from_slice(&o.stdout).unwrap())
}

#[test]
fn the_search_finds_the_grid_optimum_with_fewer_simulations() {
    let (code, smart) = plan(&[]);
    let (code_grid, grid) = plan(&["--exhaustive"]);
    assert_eq!((code, code_grid), (0, 0));
    assert_eq!(smart["chosen"], grid["chosen"], "search: {smart}\ngrid: {grid}");
    // The SLO (p95 ≤ 60 ms) needs 2 instances and a few connections each.
    assert_eq!(smart["chosen"]["instance.initial"], 2);
    assert_eq!(grid["grid_points"], 18);
    assert_eq!(grid["simulations"], 18 * 6);
    let sims = smart["simulations"].as_u64().unwrap();
    assert!(sims * 2 < 18 * 6, "the search took {sims} simulations, the grid 108");
    // SPEC §5 shape.
    for k in ["chosen", "metrics", "slo", "runner_up", "simulations", "grid_points"] {
        assert!(!smart[k].is_null(), "{k} missing: {smart}");
    }
    assert_eq!(smart["slo"]["passed"], true);
    let p95 = &smart["metrics"]["latency_p95_s"]["ci95"][1];
    assert!(p95.as_f64().unwrap() <= 0.060, "chosen p95 CI {p95} crosses the SLO");
}

#[test]
fn plan_exits_1_when_no_setting_meets_the_slos() {
    let (code, doc) = plan(&["--set", "slo.latency_p95=\"5ms\""]);
    assert_eq!(code, 1);
    assert!(doc["chosen"].is_null());
}
