//! Closed workloads: finite tests (users × requests_per_user, the run ends
//! when they are done) and k6-style ramps of the active user count.

use super::{overall, run_text};
use std::path::Path;

/// 10 users × 20 requests of exactly 10 ms CPU, no think time, on one
/// instance with 2 cores and 2 workers.
const FINITE: &str = r#"
[simulation]
duration = "1h"
replications = 1
sample_interval = "250ms"
[[workload]]
tenants = 1
arrival = { process = "closed", users = 10, think_time = "0s", requests_per_user = 20 }
[endpoint.api]
cpu = "10ms"
[instance]
cores = 2
workers = 2
"#;

#[test]
fn a_finite_test_ends_when_every_user_is_done() {
    let r = run_text("finite.toml", FINITE);
    // 200 requests × 10 ms on 2 cores, never idle: exactly 1 s of test, so
    // the run ends at 1 s (not the 1 h duration) and throughput is 200/s.
    assert_eq!(r.end_s, 1.0);
    assert_eq!(overall(&r, "requests_completed"), 200.0);
    assert_eq!(overall(&r, "requests_arrived"), 200.0);
    assert_eq!(overall(&r, "test_duration_s"), 1.0);
    assert!((overall(&r, "throughput_rps") - 200.0).abs() < 1e-9);
    assert_eq!(r.conservation.in_flight, 0);
    // A finite test measures from the start by default (no warm-up).
    let sc = tenantsim::scenario::from_str(Path::new("f.toml"), FINITE, &[]).unwrap();
    assert_eq!(sc.simulation.warmup, tenantsim::engine::SimTime::ZERO);
    // The time series stops with the test.
    assert_eq!(r.timeseries.last().unwrap().time_s, 1.0);
}

#[test]
fn a_finite_test_waits_for_work_its_clients_gave_up_on() {
    // Each request takes 30 ms on one worker but the client waits 25 ms:
    // every client times out, the server still finishes all 3 × 2 requests
    // (180 ms), and only then does the run end.
    let text = FINITE
        .replace("users = 10", "users = 3")
        .replace("requests_per_user = 20", "requests_per_user = 2")
        .replace("cpu = \"10ms\"", "cpu = \"30ms\"\ntimeout = \"25ms\"")
        .replace("cores = 2\nworkers = 2", "cores = 1\nworkers = 1");
    let r = run_text("finite-timeout.toml", &text);
    assert_eq!(overall(&r, "timeouts"), 6.0);
    assert_eq!(overall(&r, "abandoned_work"), 6.0);
    assert!((r.end_s - 0.18).abs() < 1e-9, "{}", r.end_s);
    assert_eq!(r.conservation.in_flight, 0);
}

#[test]
fn open_workloads_without_a_finite_test_run_the_whole_duration() {
    let text = FINITE.replace(
        "{ process = \"closed\", users = 10, think_time = \"0s\", requests_per_user = 20 }",
        "{ process = \"closed\", users = 10, think_time = \"0s\" }",
    );
    let r = run_text("closed.toml", &text.replace("\"1h\"", "\"5s\""));
    assert_eq!(r.end_s, 5.0);
}

#[test]
fn a_ramp_follows_its_stages_and_retires_users_above_the_target() {
    // 1 ms of CPU and exactly 1 s of think: each active user sends about one
    // request per second. Ramp 0 → 10 over 10 s, hold 10 s, ramp to 0.
    let text = r#"
[simulation]
duration = "40s"
warmup = "0s"
replications = 1
sample_interval = "5s"
[[workload]]
tenants = 2
arrival = { process = "closed", think_time = { dist = "deterministic", value = "1s" }, stages = [["10s", 10], ["10s", 10], ["10s", 0]] }
[endpoint.api]
cpu = "1ms"
[instance]
cores = 8
workers = 64
"#;
    let r = run_text("ramp.toml", text);
    let rps: Vec<f64> = r.timeseries.iter().map(|x| x.rps).collect();
    // Holding 10 users × 2 tenants: 20 users / 1.001 s ≈ 20/s.
    for i in [2, 3] {
        assert!((rps[i] - 20.0).abs() <= 0.6, "interval {i}: {rps:?}");
    }
    // Ramping: on average half the users, so about half the rate.
    assert!(rps[0] >= 3.0 && rps[0] < 12.0, "{rps:?}");
    assert!(rps[5] >= 3.0 && rps[5] < 12.0, "{rps:?}");
    // After the last stage reaches 0 nobody sends.
    assert_eq!(rps[6], 0.0, "{rps:?}");
    assert_eq!(rps[7], 0.0, "{rps:?}");
    // 200 user-seconds per tenant at ~1 request per user-second.
    let n = overall(&r, "requests_arrived");
    assert!((n - 400.0).abs() <= 25.0, "{n}");
}

#[test]
fn a_ramp_back_up_reuses_users_without_doubling_them() {
    // Down to 0 and straight back up while the leaving users are still
    // thinking: each user slot must run one loop at a time, so the rate in
    // the final hold is the same as in the first.
    let text = r#"
[simulation]
duration = "60s"
warmup = "0s"
replications = 1
sample_interval = "10s"
[[workload]]
tenants = 1
arrival = { process = "closed", users = 10, think_time = { dist = "deterministic", value = "2s" }, stages = [["10s", 10], ["0s", 0], ["0s", 10], ["50s", 10]] }
[endpoint.api]
cpu = "1ms"
[instance]
cores = 8
workers = 64
"#;
    let r = run_text("ramp-back.toml", text);
    let rps: Vec<f64> = r.timeseries.iter().map(|x| x.rps).collect();
    for (i, x) in rps.iter().enumerate().skip(1) {
        assert!((x - 10.0 / 2.001).abs() < 0.3, "interval {i}: {rps:?}");
    }
}

#[test]
fn closed_workload_keys_are_validated() {
    let base = FINITE.to_string();
    let cases = [
        (
            "requests_per_user = 20",
            "requests_per_user = 0",
            vec!["requests_per_user", "between 1"],
        ),
        (
            "requests_per_user = 20",
            "requests_per_user = 20, stages = [[\"1m\", 5]]",
            vec!["cannot also ramp"],
        ),
        (
            "requests_per_user = 20",
            "stages = [[\"1m\", -5]]",
            vec!["stages[0]", "whole number"],
        ),
        ("requests_per_user = 20", "stages = [[60, 5]]", vec!["duration"]),
        ("requests_per_user = 20", "stages = []", vec!["empty"]),
        ("users = 10, ", "", vec!["missing `users`"]),
    ];
    for (from, to, fragments) in cases {
        let text = base.replace(from, to);
        let e = tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).expect_err(&text);
        let msg = e.to_string();
        assert!(msg.starts_with("s.toml:8"), "no file:line in: {msg}");
        for f in fragments {
            assert!(msg.contains(f), "`{f}` missing from: {msg}");
        }
    }
    // Stages longer than the run are allowed but warned about.
    let text = base
        .replace("requests_per_user = 20", "stages = [[\"2h\", 5]]")
        .replace("users = 10, ", "");
    let sc = tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).unwrap();
    assert!(sc.warnings.iter().any(|w| w.contains("stages")), "{:?}", sc.warnings);
}
