//! Load shedding: under overload, the lowest-priority tier is refused fast
//! instead of queueing until it times out, and the premium tier keeps its
//! latency.

use super::{run_text, tier_metric};
use std::path::Path;

/// Two tiers on one instance of 2 cores: premium offers 50 % of capacity,
/// free 70 % (120 % in all). Exponential 10 ms requests.
fn overload(workers: u32, timeout: &str, shedding: &str) -> String {
    format!(
        r#"
[simulation]
duration = "200s"
warmup = "20s"
replications = 1
[[tier]]
name = "premium"
priority = 10
[[tier]]
name = "free"
priority = 0
[[workload]]
tier = "premium"
tenants = 1
arrival = {{ process = "poisson", rate_per_s = 100.0 }}
[[workload]]
tier = "free"
tenants = 1
arrival = {{ process = "poisson", rate_per_s = 140.0 }}
[endpoint.api]
cpu = {{ dist = "exponential", mean = "10ms" }}
timeout = "{timeout}"
[instance]
cores = 2
workers = {workers}
{shedding}"#
    )
}

#[test]
fn queue_length_shedding_refuses_the_free_tier_instead_of_timing_it_out() {
    let none = run_text("none.toml", &overload(2, "2s", ""));
    let shed = run_text(
        "shed.toml",
        &overload(2, "2s", "[shedding]\nsignal = \"queue-length\"\nlimit = 20\n"),
    );
    let (premium, free) = (0, 1);
    // Without shedding the free tier's queue grows until its clients give up.
    assert!(tier_metric(&none, free, "timeouts") > 1000.0);
    // With it, the free tier is refused at once, never times out, and what
    // is admitted is served within the queue limit (20 × 5 ms ≈ 100 ms).
    assert!(tier_metric(&shed, free, "rejected_shed") > 2000.0);
    assert_eq!(tier_metric(&shed, free, "timeouts"), 0.0);
    assert!(tier_metric(&shed, free, "latency_p99_s") < 0.6);
    // Without shedding not one free request finished in time; with it,
    // about as many as the spare capacity allows (100/s × 180 s).
    assert_eq!(tier_metric(&none, free, "requests_completed"), 0.0);
    assert!(tier_metric(&shed, free, "requests_completed") > 15_000.0);
    // Premium is never shed (its threshold is twice the limit and its own
    // load is half the capacity) and keeps a short latency.
    assert_eq!(tier_metric(&shed, premium, "rejected_shed"), 0.0);
    assert!(tier_metric(&shed, premium, "latency_p99_s") < 0.1);
}

#[test]
fn cpu_shedding_protects_premium_latency_under_processor_sharing() {
    // 16 workers share 2 cores: without shedding every worker is busy with
    // mostly free-tier requests, and premium requests share the CPU with
    // them. Shedding the free tier above 80 % CPU keeps premium fast.
    let none = run_text("ps.toml", &overload(16, "30s", ""));
    let shed = run_text(
        "ps-shed.toml",
        &overload(
            16,
            "30s",
            "[shedding]\nsignal = \"cpu\"\nlimit = 0.8\nwindow = \"500ms\"\n",
        ),
    );
    let m0 = tier_metric(&none, 0, "latency_p50_s");
    let m1 = tier_metric(&shed, 0, "latency_p50_s");
    assert!(m1 < m0 / 2.0, "premium p50 {m1} with shedding vs {m0} without");
    let p0 = tier_metric(&none, 0, "latency_p99_s");
    let p1 = tier_metric(&shed, 0, "latency_p99_s");
    assert!(p1 < p0 * 0.8, "premium p99 {p1} with shedding vs {p0} without");
    // The free tier no longer times out.
    assert!(tier_metric(&none, 1, "timeouts") > 1000.0);
    assert_eq!(tier_metric(&shed, 1, "timeouts"), 0.0);
    assert!(tier_metric(&shed, 1, "rejected_shed") > 1000.0);
    assert_eq!(tier_metric(&shed, 0, "rejected_shed"), 0.0);
}

#[test]
fn codel_sheds_a_standing_queue() {
    let shed = run_text(
        "codel.toml",
        &overload(
            2,
            "2s",
            "[shedding]\nsignal = \"queue-delay\"\ntarget = \"20ms\"\ninterval = \"100ms\"\n",
        ),
    );
    assert!(tier_metric(&shed, 1, "rejected_shed") > 1000.0);
    assert_eq!(tier_metric(&shed, 1, "timeouts"), 0.0);
    assert!(tier_metric(&shed, 0, "latency_p99_s") < 0.1);
}

#[test]
fn shedding_keys_are_validated() {
    let cases = [
        ("signal = \"queue-lenght\"\nlimit = 5\n", "did you mean `queue-length`"),
        ("limit = 5\n", "missing `signal`"),
        ("signal = \"cpu\"\nlimit = 85\n", "not a percentage"),
        ("signal = \"queue-length\"\nlimit = 2.5\n", "whole number"),
        ("signal = \"queue-delay\"\n", "missing `target`"),
        ("signal = \"queue-length\"\nlimit = 5\ntarget = \"5ms\"\n", "target"),
        (
            "signal = \"queue-length\"\nlimit = 5\npriority_step = -1\n",
            "priority_step",
        ),
    ];
    for (body, fragment) in cases {
        let text = overload(2, "2s", &format!("[shedding]\n{body}"));
        let e = tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).expect_err(body);
        let msg = e.to_string();
        assert!(msg.starts_with("s.toml:"), "no file:line in: {msg}");
        assert!(msg.contains(fragment), "`{fragment}` missing from: {msg}");
    }
}
