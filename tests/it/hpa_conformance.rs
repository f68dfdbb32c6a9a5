//! The HPA as the Kubernetes controller computes it, end to end: a step
//! load with a startup delay against a controller trace derived by hand in
//! the scenario's header (scenarios/examples/hpa-startup-step.toml).

use crate::repo;
use tenantsim::runner::run;
use tenantsim::scenario::Scenario;

fn events(sets: &[&str]) -> Vec<(f64, u32, u32)> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let sc = Scenario::load(&repo("scenarios/examples/hpa-startup-step.toml"), &sets).unwrap();
    let out = run(&sc, &|_| {});
    out.replications[0]
        .scaling_events
        .iter()
        .map(|e| (e.time_s, e.from, e.to))
        .collect()
}

#[test]
fn step_load_with_startup_matches_the_hand_derived_controller_trace() {
    // 2 → 4 at the 315 s sync and nothing after: the new pods are missing
    // (330 s), unready (345 s) and too fresh for CPU (360 s) in turn, and
    // are counted as 0 % each time, so the controller does not overshoot.
    assert_eq!(events(&[]), vec![(315.0, 2, 4)]);
}

#[test]
fn the_simple_view_overshoots_on_the_same_load() {
    // What tenantsim did before: at 360 s, 4 ready instances averaging
    // 67.5 % over the sync interval → ceil(4 × 1.35) = 6.
    let ev = events(&["autoscaler.controller=\"simple\""]);
    assert_eq!(ev.first(), Some(&(315.0, 2, 4)));
    assert_eq!(ev.get(1), Some(&(360.0, 4, 6)), "{ev:?}");
}
