//! The simulator against queueing theory (SPEC §8), full-length runs.
//! Tolerances are documented in `tenantsim::validate`: within 3 CI
//! half-widths (+0.2 %), with the half-width itself required to be small
//! (1–5 % of the expected value depending on the quantity), so a model
//! error of a few percent fails.

use tenantsim::validate;

#[test]
fn every_validation_case_matches_theory() {
    let rows = validate::run_all(false, &|_| {}).unwrap();
    let table = validate::format_table(&rows);
    assert!(rows.len() >= 25, "{table}");
    assert!(rows.iter().all(|r| r.passed), "{table}");
}

#[test]
fn a_wrong_model_fails_validation() {
    // Guard against a check that cannot fail: compare M/M/1 at rho 0.5
    // against the answers of a 10 % slower server by editing the case's
    // service time while keeping its expectations from the original file.
    let case = validate::cases().into_iter().find(|c| c.name == "mm1-rho05").unwrap();
    let rows = validate::run_case(&case, false).unwrap();
    assert!(rows.iter().all(|r| r.passed));
    let sc = case.scenario(&["endpoint.work.cpu.mean=\"11ms\"".into()]).unwrap();
    let out = tenantsim::runner::run(&sc, &|_| {});
    let s = tenantsim::summary::build_summary(&sc, &out);
    let mean = s.metric("latency_mean_s").unwrap();
    let expected = rows.iter().find(|r| r.metric == "latency_mean_s").unwrap();
    assert!(
        (mean.mean - expected.expected).abs() > expected.tolerance,
        "{mean:?} vs {expected:?}"
    );
}
