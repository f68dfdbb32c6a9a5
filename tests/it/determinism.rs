//! Same scenario and seed ⇒ identical summary.json, whatever the thread
//! count; and random streams are independent per purpose (common random
//! numbers).

use super::{repo, strip_engine_timing, tmpdir};
use assert_cmd::Command;
use tenantsim::runner;
use tenantsim::scenario::Scenario;
use tenantsim::summary::build_summary;

fn summary_with_threads(sc: &Scenario, threads: usize) -> String {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let out = pool.install(|| runner::run(sc, &|_| {}));
    build_summary(sc, &out).to_json()
}

#[test]
fn identical_summaries_across_runs_and_thread_counts() {
    let sc = tenantsim::scenario::load(
        &repo("scenarios/examples/arrival-processes.toml"),
        &["simulation.duration=\"4m\"".into()],
    )
    .unwrap();
    let a = summary_with_threads(&sc, 1);
    let b = summary_with_threads(&sc, 2);
    let c = summary_with_threads(&sc, 2);
    assert_eq!(strip_engine_timing(&a), strip_engine_timing(&b));
    assert_eq!(strip_engine_timing(&b), strip_engine_timing(&c));
    // A different seed gives different numbers.
    let other = tenantsim::scenario::load(
        &repo("scenarios/examples/arrival-processes.toml"),
        &["simulation.duration=\"4m\"".into(), "simulation.seed=99".into()],
    )
    .unwrap();
    assert_ne!(
        strip_engine_timing(&a),
        strip_engine_timing(&summary_with_threads(&other, 2))
    );
}

#[test]
fn cli_summary_json_is_byte_identical_except_engine_timing() {
    let run = |threads: &str| {
        let out = tmpdir(&format!("det-{threads}"));
        Command::cargo_bin("tenantsim")
            .unwrap()
            .args([
                "run",
                repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
                "--quiet",
                "--threads",
                threads,
            ])
            .args(["--set", "simulation.duration=5m", "--out", out.to_str().unwrap()])
            .assert()
            .success();
        let s = std::fs::read_to_string(out.join("summary.json")).unwrap();
        // Remove the two timing lines; everything else must match byte for byte.
        s.lines()
            .filter(|l| !l.contains("\"wall_s\"") && !l.contains("\"events_per_s\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(run("1"), run("2"));
}

#[test]
fn capacity_changes_do_not_shift_the_arrival_sequence() {
    // Without rate limits or timeouts, every arrival is counted whatever the
    // capacity: the same seed must give exactly the same arrivals when only
    // the instance count (and so the balancer's and instances' behaviour)
    // changes.
    let load = |n: &str| {
        let sc = tenantsim::scenario::load(
            &repo("scenarios/validation/mmc8-rho085.toml"),
            &[
                "simulation.duration=\"60s\"".into(),
                "simulation.warmup=\"5s\"".into(),
                "simulation.replications=2".into(),
                format!("instance.initial={n}"),
            ],
        )
        .unwrap();
        let out = runner::run(&sc, &|_| {});
        let s = build_summary(&sc, &out);
        (
            s.metric("requests_arrived").unwrap().mean,
            s.metric("latency_mean_s").unwrap().mean,
        )
    };
    let (a1, l1) = load("1");
    let (a2, l2) = load("2");
    assert_eq!(a1, a2);
    assert!(l2 < l1, "twice the capacity must cut latency: {l1} vs {l2}");
}
