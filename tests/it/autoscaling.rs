//! Autoscaling, instance lifecycle and faults, end to end from scenario
//! files.

use super::repo;
use std::path::Path;
use tenantsim::runner::{run, run_replication, ReplicationResult};

fn one(text: &str) -> ReplicationResult {
    super::run_text("auto.toml", text)
}

use super::overall as metric;

#[test]
fn hpa_replica_timeline_is_exact_on_deterministic_load() {
    // Worked out in the scenario's header from the Kubernetes algorithm.
    let sc = tenantsim::scenario::load(&repo("scenarios/examples/hpa-deterministic.toml"), &[]).unwrap();
    let out = run(&sc, &|_| {});
    let r = &out.replications[0];
    let events: Vec<(f64, u32, u32)> = r.scaling_events.iter().map(|e| (e.time_s, e.from, e.to)).collect();
    assert_eq!(events, vec![(315.0, 2, 3), (900.0, 3, 1)]);
    for row in &r.timeseries {
        let t = row.time_s;
        let desired = if t < 315.0 {
            2
        } else if t < 900.0 {
            3
        } else {
            1
        };
        // The sample at a sync instant sees the new desired count; the new
        // instance becomes ready (startup 0) right after it.
        let ready = if t <= 315.0 {
            2
        } else if t < 900.0 {
            3
        } else {
            1
        };
        assert_eq!(row.instances_desired, desired, "desired at {t}");
        assert_eq!(row.instances_ready, ready, "ready at {t}");
        let cpu = row.cpu_utilization.unwrap();
        let expected = if t <= 300.0 {
            0.5
        } else if t <= 315.0 {
            0.75
        } else if t <= 600.0 {
            0.5
        } else if t <= 900.0 {
            0.4 / 3.0
        } else {
            0.4
        };
        // Only the request straddling each sample instant is cut.
        assert!((cpu - expected).abs() < 0.002, "cpu at {t}: {cpu} vs {expected}");
    }
}

const BASE: &str = r#"
[simulation]
duration = "20m"
warmup = "0s"
replications = 1
sample_interval = "10s"
[[workload]]
tenants = 10
arrival = { process = "steps", steps = [["0s", 10.0], ["5m", 40.0], ["12m", 10.0]] }
[endpoint.api]
cpu = { dist = "exponential", mean = "20ms" }
timeout = "5s"
[instance]
cores = 2
workers = 8
initial = 2
startup = "30s"
"#;

#[test]
fn every_policy_scales_out_under_the_step_and_stays_within_bounds() {
    // 10 tenants × 10 req/s × 20 ms = 2 cores (0.5 of 2 instances), then 8
    // cores from 5m to 12m: every policy must scale out, within [1, 8].
    let policies = [
        r#"policy = "threshold"
metrics = [{ metric = "cpu", above = 0.7, below = 0.2 }]
for = "30s"
cooldown = "60s""#,
        r#"policy = "hpa"
metrics = [{ metric = "cpu", target = 0.6 }]"#,
        r#"policy = "target-tracking"
metric = "cpu"
target = 0.6
scale_in_cooldown = "120s""#,
        r#"policy = "step"
metric = "cpu"
adjustments = [{ lower = 0.8, change = 2 }, { lower = 0.65, upper = 0.8, change = 1 }, { upper = 0.2, change = -1 }]
cooldown = "60s""#,
        r#"policy = "step"
metric = "rps"
adjustments = [{ lower = 60.0, change = 2 }, { upper = 15.0, change = -1 }]
cooldown = "60s""#,
        r#"policy = "hpa"
metrics = [{ metric = "queue", target = 1.0 }, { metric = "latency_p95", target = 0.1 }]"#,
    ];
    for p in policies {
        let text = format!("{BASE}[autoscaler]\nmin = 1\nmax = 8\ninterval = \"15s\"\n{p}\n");
        let r = one(&text);
        let max_desired = r.timeseries.iter().map(|x| x.instances_desired).max().unwrap();
        let min_desired = r.timeseries.iter().map(|x| x.instances_desired).min().unwrap();
        assert!(max_desired >= 4, "{p}: never scaled out (max {max_desired})");
        assert!(max_desired <= 8 && min_desired >= 1, "{p}: out of bounds");
        assert!(r.timeseries.iter().all(|x| x.instances_ready <= 8));
        // It came back down after the load step ended.
        let last = r.timeseries.last().unwrap().instances_desired;
        assert!(last < max_desired, "{p}: never scaled in (last {last})");
        assert!(!r.scaling_events.is_empty());
        // Instance-hours count instances from start request to removal.
        assert!(metric(&r, "instance_hours") >= metric(&r, "instances_mean") * 20.0 / 60.0 - 1e-9);
    }
}

#[test]
fn schedule_sets_exact_counts() {
    let text = format!(
        "{BASE}[autoscaler]\npolicy = \"schedule\"\nmin = 1\nmax = 10\ninterval = \"10s\"\nschedule = [[\"2m\", 5], [\"10m\", 3]]\n"
    );
    let r = one(&text);
    for row in &r.timeseries {
        let d = if row.time_s < 120.0 {
            2
        } else if row.time_s < 600.0 {
            5
        } else {
            3
        };
        assert_eq!(row.instances_desired, d, "at {}", row.time_s);
    }
    // Startup is 30 s: the three new instances are ready from 150 s on.
    let at = |t: f64| r.timeseries.iter().find(|x| x.time_s == t).unwrap().instances_ready;
    assert_eq!(at(140.0), 2);
    assert_eq!(at(150.0), 5);
    assert_eq!(at(610.0), 3);
}

#[test]
fn faults_have_their_effect() {
    // Instance crash: requests fail, ready count dips, replacements return.
    let crash = format!("{BASE}[[fault]]\nkind = \"instance-crash\"\nat = \"6m\"\ncount = 1\n");
    let r = one(&crash);
    let at = |r: &ReplicationResult, t: f64| r.timeseries.iter().find(|x| x.time_s == t).unwrap().clone();
    assert_eq!(at(&r, 360.0).instances_ready, 1);
    assert_eq!(at(&r, 400.0).instances_ready, 2, "replacement ready 30 s later");
    assert!(metric(&r, "instance_failures") >= 1.0);
    let c = r.conservation;
    assert_eq!(c.arrived, c.rejected + c.server_done + c.in_flight);

    // Zone outage: half the instances go for 2 minutes, then come back.
    let zone = BASE.replace("initial = 2", "initial = 4")
        + "[[fault]]\nkind = \"zone-outage\"\nat = \"2m\"\nfraction = 0.5\nduration = \"2m\"\n";
    let r = one(&zone);
    assert_eq!(at(&r, 110.0).instances_ready, 4);
    assert_eq!(at(&r, 130.0).instances_ready, 2);
    assert_eq!(at(&r, 230.0).instances_ready, 2);
    assert_eq!(at(&r, 280.0).instances_ready, 4, "back after the outage plus startup");

    // Random crashes with a short MTBF crash several times.
    let random = format!("{BASE}[[fault]]\nkind = \"random-crashes\"\nat = \"1m\"\nmtbf = \"3m\"\nmttr = \"10s\"\n");
    let r = one(&random);
    let dips = r
        .timeseries
        .windows(2)
        .filter(|w| w[1].instances_ready < w[0].instances_ready)
        .count();
    assert!(dips >= 3, "only {dips} crashes");

    // Latency spike: CPU × 1.8 on the endpoint for 2 minutes (utilization
    // 0.5 → 0.9) raises p95 by more than the factor (queueing), then ends.
    let spike = format!(
        "{BASE}[[fault]]\nkind = \"latency-spike\"\nat = \"1m\"\nfactor = 1.8\nduration = \"2m\"\nendpoint = \"api\"\n"
    );
    let r = one(&spike);
    let p95 = |t: f64| at(&r, t).latency_p95_s.unwrap();
    assert!(p95(120.0) > 2.0 * p95(30.0), "{} vs {}", p95(120.0), p95(30.0));
    assert!(p95(240.0) < 2.0 * p95(30.0));
}

#[test]
fn db_slowdown_and_cache_flush() {
    let text = r#"
[simulation]
duration = "10m"
warmup = "0s"
replications = 1
sample_interval = "10s"
[[workload]]
tenants = 1
arrival = { process = "poisson", rate_per_s = 200.0 }
keys = { items = 500, zipf = 0.9 }
[endpoint.read]
cpu = "1ms"
cacheable = true
db_queries = 1
query = { dist = "exponential", mean = "5ms" }
[instance]
cores = 4
workers = 64
[pool]
size = 20
[database]
cores = 8
max_connections = 50
[cache.l2]
ttl = "30s"
[[fault]]
kind = "cache-flush"
at = "5m"
[[fault]]
kind = "db-slowdown"
at = "7m"
factor = 10
duration = "1m"
"#;
    let r = one(text);
    let at = |t: f64| r.timeseries.iter().find(|x| x.time_s == t).unwrap().clone();
    // Warm cache before the flush, cold right after it.
    let before = at(290.0).cache_hit_ratio.unwrap();
    let after = at(310.0).cache_hit_ratio.unwrap();
    assert!(before > 0.8 && after < before - 0.05, "{before} → {after}");
    // Misses during the slowdown take ten times longer.
    assert!(at(450.0).latency_p99_s.unwrap() > 3.0 * at(400.0).latency_p99_s.unwrap());
}

#[test]
fn dedicated_tiers_get_their_own_instances_and_priority_orders_queues() {
    let text = r#"
[simulation]
duration = "5m"
warmup = "30s"
replications = 1
[[tier]]
name = "free"
priority = 0
[[tier]]
name = "gold"
priority = 10
[[tier]]
name = "vip"
isolation = "dedicated"
instances = 2
[[workload]]
tier = "free"
tenants = 10
arrival = { process = "poisson", rate_per_s = 9.0 }
[[workload]]
tier = "gold"
tenants = 10
arrival = { process = "poisson", rate_per_s = 9.0 }
[[workload]]
tier = "vip"
tenants = 1
arrival = { process = "poisson", rate_per_s = 10.0 }
[endpoint.api]
cpu = { dist = "exponential", mean = "10ms" }
[instance]
cores = 1
workers = 1
initial = 2
"#;
    let sc = tenantsim::scenario::from_str(Path::new("iso.toml"), text, &[]).unwrap();
    let r = run_replication(&sc, 0, &|_| {});
    // 2 shared + 2 dedicated instances.
    assert_eq!(r.timeseries[0].instances_ready, 4);
    assert_eq!(r.groups, vec!["shared".to_string(), "vip".to_string()]);
    let q = |t: usize| super::tier_metric(&r, t, "queue_wait_mean_s");
    let (free, gold, vip) = (q(0), q(1), q(2));
    // Shared instances run at 0.9: the higher-priority tier waits far less.
    assert!(gold * 3.0 < free, "gold {gold} vs free {free}");
    // The dedicated tier (0.05 load per instance) barely waits.
    assert!(vip < gold, "vip {vip} vs gold {gold}");
}

#[test]
fn a_hybrid_tier_keeps_its_own_pool_on_shared_instances() {
    // The shared tier saturates its 2-connection pool; the hybrid tier has
    // a pool of its own on the same instances and barely waits.
    let text = r#"
[simulation]
duration = "5m"
warmup = "30s"
replications = 1
[[tier]]
name = "bulk"
[[tier]]
name = "premium"
isolation = "hybrid"
[[workload]]
tier = "bulk"
tenants = 10
arrival = { process = "poisson", rate_per_s = 18.0 }
[[workload]]
tier = "premium"
tenants = 1
arrival = { process = "poisson", rate_per_s = 20.0 }
[endpoint.q]
cpu = "0s"
db_queries = 1
query = { dist = "exponential", mean = "10ms" }
[instance]
cores = 4
workers = 1000
initial = 1
[pool]
size = 2
timeout = "10s"
scope = "instance"
[database]
cores = 64
max_connections = 100
"#;
    let sc = tenantsim::scenario::from_str(Path::new("hybrid.toml"), text, &[]).unwrap();
    let r = run_replication(&sc, 0, &|_| {});
    let w = |t: usize| super::tier_metric(&r, t, "pool_wait_mean_s");
    let (bulk, premium) = (w(0), w(1));
    // bulk: 180/s × 10 ms = 1.8 Erlangs on 2 connections (ρ = 0.9);
    // premium: 0.2 Erlangs on its own 2.
    assert!(bulk > 10.0 * premium, "bulk {bulk} vs premium {premium}");
}

#[test]
fn crashed_instances_are_replaced_even_with_policy_none_or_threshold() {
    for policy in [
        "policy = \"none\"",
        // No `above`: never scales out (a utilization above 1 is refused).
        "policy = \"threshold\"\nmetrics = [{ metric = \"cpu\", below = 0.01 }]",
    ] {
        let text = format!(
            "{BASE}[autoscaler]\nmin = 1\nmax = 8\ninterval = \"15s\"\n{policy}\n[[fault]]\nkind = \"instance-crash\"\nat = \"2m\"\ncount = 1\nmttr = \"1m\"\n"
        );
        let r = one(&text);
        let at = |t: f64| r.timeseries.iter().find(|x| x.time_s == t).unwrap().clone();
        assert_eq!(at(110.0).instances_ready, 2, "{policy}");
        assert_eq!(at(130.0).instances_ready, 1, "{policy}");
        // Replacement requested after mttr (60 s), ready 30 s later.
        assert_eq!(at(220.0).instances_ready, 2, "{policy}: not replaced");
        assert_eq!(at(220.0).instances_desired, 2, "{policy}");
    }
}
