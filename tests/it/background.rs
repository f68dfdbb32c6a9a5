//! Background tasks and stop-the-world pauses: the CPU they take, the time
//! instances spend paused, and what that does to request latency.

use super::{overall, run_text};
use std::path::Path;

/// One instance, one core, Poisson requests of exponential 10 ms CPU at
/// `rate` per second (ρ = rate / 100).
fn mm1(rate: f64, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "1000s"
warmup = "50s"
replications = 1
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = {rate} }}
[endpoint.api]
cpu = {{ dist = "exponential", mean = "10ms" }}
[instance]
cores = 1
workers = 1
{extra}"#
    )
}

#[test]
fn background_tasks_take_their_share_of_the_cpu() {
    let plain = run_text("b.toml", &mm1(30.0, ""));
    let task = "[[background]]\nname = \"optimizer\"\nperiod = \"10s\"\ncpu = \"1s\"\n";
    let busy = run_text("b.toml", &mm1(30.0, task));
    // 1 s of CPU every 10 s on one core: +0.10 utilization (ρ = 0.30 from
    // requests; over 950 s both are within 0.02).
    let (u0, u1) = (overall(&plain, "cpu_utilization"), overall(&busy, "cpu_utilization"));
    assert!((u0 - 0.30).abs() < 0.02, "{u0}");
    assert!((u1 - u0 - 0.10).abs() < 0.02, "{u0} → {u1}");
    // 950 s of measured window: 95 runs (± 1 for the phase).
    assert!((overall(&busy, "background_runs") - 95.0).abs() <= 1.0);
    // Requests during a run share the core: they take longer.
    assert!(overall(&busy, "latency_p99_s") > overall(&plain, "latency_p99_s") * 1.2);
    // The arrivals are the same (common random numbers).
    assert_eq!(overall(&plain, "requests_arrived"), overall(&busy, "requests_arrived"));
}

#[test]
fn pauses_stop_the_instance_for_their_share_of_the_time() {
    let plain = run_text("p.toml", &mm1(30.0, ""));
    let pauses = "[pauses]\nrate_per_s = 1.0\nduration = \"50ms\"\n";
    let paused = run_text("p.toml", &mm1(30.0, pauses));
    // One 50 ms pause per second: 5 % of the time (950 pauses: the count
    // has sd ≈ 31, so the fraction is within 0.05 ± 0.005).
    let f = overall(&paused, "paused_fraction");
    assert!((f - 0.05).abs() < 0.005, "{f}");
    // A paused core does no work: utilization (busy, paused time included)
    // barely moves, but requests that meet a pause wait it out.
    assert!(overall(&paused, "latency_mean_s") > overall(&plain, "latency_mean_s") + 0.002);
    assert!(overall(&paused, "latency_p99_s") > overall(&plain, "latency_p99_s") + 0.02);
    assert_eq!(
        overall(&paused, "requests_arrived"),
        overall(&plain, "requests_arrived")
    );
}

#[test]
fn periodic_pauses_come_every_interval() {
    let pauses = "[pauses]\ninterval = \"10s\"\nduration = \"200ms\"\n";
    let r = run_text("p.toml", &mm1(10.0, pauses));
    // 95 pauses of 0.2 s in 950 s: 2 % (± one pause for the phase).
    let f = overall(&r, "paused_fraction");
    assert!((f - 0.02).abs() <= 0.0003, "{f}");
    // A request arriving in a pause waits up to 200 ms: p99 sees it.
    assert!(overall(&r, "latency_p99_s") > 0.1);
}

#[test]
fn background_and_pause_mistakes_are_located() {
    let base = mm1(1.0, "");
    let cases = [
        (
            base.clone() + "[pauses]\nduration = \"10ms\"\n",
            "exactly one of `interval`",
        ),
        (
            base.clone() + "[pauses]\ninterval = \"1s\"\nrate_per_s = 1.0\nduration = \"10ms\"\n",
            "exactly one of `interval`",
        ),
        (base.clone() + "[pauses]\ninterval = \"1s\"\n", "missing `duration`"),
        (
            base.clone() + "[pauses]\nrate_per_s = -1.0\nduration = \"1ms\"\n",
            "positive",
        ),
        (base.clone() + "[[background]]\ncpu = \"1s\"\n", "missing `period`"),
        (
            base.clone() + "[[background]]\nperiod = \"0s\"\ncpu = \"1s\"\n",
            "longer than zero",
        ),
        (
            base.clone() + "[[background]]\nperiod = \"1s\"\ncpu = \"1s\"\nevery = \"1s\"\n",
            "unknown field `every`",
        ),
    ];
    for (text, want) in cases {
        let e = tenantsim::scenario::from_str(Path::new("b.toml"), &text, &[]).expect_err(want);
        let msg = e.to_string();
        assert!(msg.contains(want) && msg.contains("b.toml:"), "{msg}");
    }
}
