//! The seed systems (issue 9): every scenario in `scenarios/*.toml` models a
//! performance report and carries its claims. Each must load, run briefly,
//! have at least one `[[claim]]`, and get a verdict for every claim from
//! `tenantsim claims --json`.
//!
//! The runs are shortened (`--set simulation.duration=60s`, warm-up 0, two
//! replications) so the test stays within seconds in the debug profile; the
//! verdicts of these short runs are not checked, only that each claim gets
//! one (the README records the verdicts of the full runs).

use super::repo;
use assert_cmd::Command;
use std::path::PathBuf;

/// The top-level scenario files (not `examples/` or `validation/`).
fn seed_scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

const SHORT: [&str; 4] = ["--set", "simulation.duration=60s", "--set", "simulation.warmup=0s"];

#[test]
fn every_seed_scenario_loads_and_has_a_claim() {
    let files = seed_scenarios();
    assert!(
        files.len() >= 3,
        "expected the seed scenarios in scenarios/, found {files:?}"
    );
    let sets: Vec<String> = vec!["simulation.duration=60s".into(), "simulation.warmup=0s".into()];
    for f in &files {
        let sc = tenantsim::scenario::Scenario::load(f, &sets)
            .unwrap_or_else(|e| panic!("{} does not load: {e}", f.display()));
        assert!(!sc.claims.is_empty(), "{} has no [[claim]]", f.display());
        for c in &sc.claims {
            assert!(
                !c.source.is_empty(),
                "{}: claim `{}` has no source line",
                f.display(),
                c.id
            );
        }
    }
}

#[test]
fn claims_gives_every_claim_of_every_seed_scenario_a_verdict() {
    let files = seed_scenarios();
    let mut args: Vec<String> = vec!["claims".into(), "--json".into(), "--quiet".into(), "--no-search".into()];
    args.extend(["--replications".into(), "2".into()]);
    args.extend(SHORT.iter().map(|s| s.to_string()));
    args.extend(files.iter().map(|p| p.display().to_string()));
    let o = Command::cargo_bin("tenantsim").unwrap().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), files.len(), "one verdict block per scenario");
    for (run, f) in runs.iter().zip(&files) {
        let sc = tenantsim::scenario::Scenario::load(f, &[]).unwrap();
        let claims = run["claims"].as_array().unwrap();
        assert_eq!(claims.len(), sc.claims.len(), "{}: a verdict per claim", f.display());
        for (c, want) in claims.iter().zip(&sc.claims) {
            assert_eq!(c["id"], want.id.as_str());
            let verdict = c["verdict"].as_str().unwrap();
            assert!(
                ["confirmed", "refuted", "inconclusive", "untestable"].contains(&verdict),
                "{}: claim {} has verdict {verdict}",
                f.display(),
                want.id
            );
            // A claim is untestable exactly when the file says why.
            assert_eq!(
                verdict == "untestable",
                want.untestable.is_some(),
                "{}: claim {}",
                f.display(),
                want.id
            );
        }
    }
}
