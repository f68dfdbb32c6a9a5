//! Request stages: each stage's own latency and failures, CPU stages
//! sharing the cores, wait stages holding a worker without CPU, and draws
//! that keep common random numbers.

use super::{overall, run_text};
use std::path::Path;
use tenantsim::metrics::names::index;
use tenantsim::runner::ReplicationResult;

fn gateway(rate: f64, cores: u32, workers: u32, fail: f64) -> String {
    format!(
        r#"
[simulation]
duration = "300s"
warmup = "20s"
replications = 1
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = {rate} }}
[endpoint.api]
cpu = "2ms"
[[endpoint.api.stage]]
name = "jwt"
wait = "25ms"
fail = {fail}
[[endpoint.api.stage]]
name = "rbac"
cpu = {{ dist = "exponential", mean = "4ms" }}
[[endpoint.api.stage]]
name = "discovery"
wait = {{ dist = "lognormal", mean = "10ms", cv = 1.0 }}
[instance]
cores = {cores}
workers = {workers}
"#
    )
}

fn stage(r: &ReplicationResult, name: &str, metric: &str) -> f64 {
    let s = r.stages.iter().find(|s| s.name == name).unwrap();
    let k = tenantsim::scenario::STAGE_METRICS
        .iter()
        .position(|(m, _)| *m == metric)
        .unwrap();
    s.values[k].unwrap()
}

#[test]
fn a_lone_request_takes_the_sum_of_its_stages() {
    // 5 requests/s of 6 ms CPU on 4 cores and 16 workers: more than four
    // on the CPU at once is vanishingly rare, so every stage takes its own
    // time and the request the sum of all stages.
    let r = run_text("g.toml", &gateway(5.0, 4, 16, 0.0));
    assert_eq!(r.stages.len(), 3);
    assert!((stage(&r, "api.jwt", "latency_p50_s") - 0.025).abs() < 1e-4);
    assert!((stage(&r, "api.jwt", "latency_p99_s") - 0.025).abs() < 1e-4);
    // Exponential 4 ms CPU: the mean within 10 % (≈ 1,400 samples, sd 2.7 %).
    assert!((stage(&r, "api.rbac", "latency_mean_s") - 0.004).abs() < 0.0004);
    assert!((stage(&r, "api.discovery", "latency_mean_s") - 0.010).abs() < 0.002);
    let sum = 0.025 + stage(&r, "api.rbac", "latency_mean_s") + stage(&r, "api.discovery", "latency_mean_s") + 0.002;
    assert!((overall(&r, "latency_mean_s") - sum).abs() < 1e-3, "{sum}");
    assert_eq!(overall(&r, "stage_failures"), 0.0);
}

#[test]
fn stage_failures_end_requests_at_the_stage_with_its_probability() {
    let r = run_text("g.toml", &gateway(100.0, 4, 16, 0.2));
    let arrived = overall(&r, "requests_arrived");
    let failed = overall(&r, "stage_failures");
    // 28,000 requests: the rate is within 0.01 of 0.2 (sd 0.0024).
    assert!((failed / arrived - 0.2).abs() < 0.01, "{failed}/{arrived}");
    assert!((stage(&r, "api.jwt", "failure_rate") - 0.2).abs() < 0.01);
    // Failed requests never reach the later stages.
    assert_eq!(stage(&r, "api.rbac", "failure_rate"), 0.0);
    assert!((overall(&r, "error_rate") - failed / arrived).abs() < 1e-9);
    assert!((overall(&r, "requests_completed") + failed - arrived).abs() < 20.0);
}

#[test]
fn cpu_stages_stretch_under_load_and_wait_stages_do_not() {
    // One core at 6 ms of CPU per request: 20/s is ρ = 0.12, 150/s ρ = 0.9.
    let light = run_text("g.toml", &gateway(20.0, 1, 64, 0.0));
    let heavy = run_text("g.toml", &gateway(150.0, 1, 64, 0.0));
    let ratio = stage(&heavy, "api.rbac", "latency_mean_s") / stage(&light, "api.rbac", "latency_mean_s");
    // Processor sharing at ρ = 0.9 slows CPU work about 1/(1-ρ) = 10×.
    assert!(ratio > 4.0, "rbac slowed only {ratio}×");
    // Waits hold a worker but no CPU: the same time however busy the cores.
    assert!((stage(&heavy, "api.jwt", "latency_p99_s") - 0.025).abs() < 1e-4);
    // Wait stages add no CPU: utilization is CPU demand × rate.
    let u = overall(&heavy, "cpu_utilization");
    assert!((u - 150.0 * 0.006).abs() < 0.05, "{u}");
}

#[test]
fn stage_draws_are_common_random_numbers_across_capacity_changes() {
    // More cores change when every CPU phase ends, not what each request
    // draws: the wait stage's distribution is identical.
    let a = run_text("g.toml", &gateway(150.0, 1, 64, 0.1));
    let b = run_text("g.toml", &gateway(150.0, 2, 64, 0.1));
    for m in ["latency_mean_s", "latency_p95_s", "failure_rate"] {
        assert_eq!(stage(&a, "api.discovery", m), stage(&b, "api.discovery", m), "{m}");
    }
    assert_eq!(overall(&a, "stage_failures"), overall(&b, "stage_failures"));
}

#[test]
fn slo_on_a_stage_is_checked_against_that_stage() {
    let text = gateway(20.0, 1, 64, 0.0)
        + "[slo.stage.jwt]\nlatency_p95 = \"20ms\"\n[slo.stage.rbac]\nlatency_p95 = \"50ms\"\n";
    let sc = tenantsim::scenario::from_str(Path::new("g.toml"), &text, &[]).unwrap();
    let out = tenantsim::runner::run(&sc, &|_| {});
    let s = tenantsim::summary::build_summary(&sc, &out);
    let checks: Vec<(String, bool)> = s.slo.checks.iter().map(|c| (c.scope.clone(), c.passed)).collect();
    assert_eq!(
        checks,
        vec![
            ("stage:api.jwt".to_string(), false),
            ("stage:api.rbac".to_string(), true)
        ]
    );
    assert!(s.stages.contains_key("api.discovery"));
    assert!(index("stage_failures").is_some());
}

#[test]
fn stage_mistakes_are_located() {
    let base = gateway(1.0, 1, 1, 0.0);
    let cases = [
        (base.replace("fail = 0\n", "fail = 20\n"), "between 0 and 1"),
        (base.replace("wait = \"25ms\"\n", ""), "needs `cpu`"),
        (
            base.replace("name = \"rbac\"", "name = \"jwt\""),
            "a second stage named `jwt`",
        ),
        (
            base.replace("wait = \"25ms\"", "wiat = \"25ms\""),
            "unknown field `wiat`",
        ),
        (
            base.clone() + "[slo.stage.jwtt]\nlatency_p95 = \"5ms\"\n",
            "did you mean `jwt`",
        ),
        (
            base.clone() + "[slo.stage.jwt]\nlatency_p90 = \"5ms\"\n",
            "not a stage metric",
        ),
    ];
    for (text, want) in cases {
        let e = tenantsim::scenario::from_str(Path::new("g.toml"), &text, &[]).expect_err(want);
        let msg = e.to_string();
        assert!(msg.contains(want) && msg.contains("g.toml:"), "{msg}");
    }
}
