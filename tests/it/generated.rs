//! The generated-scenario property suite (issue 13): random valid scenarios
//! from `tenantsim::scenario::generate` (every arrival process, tiers and
//! isolation, pools, read replicas, L1/L2/L3 caches, rate limiters local
//! and shared, sessions, retries, breakers, shedding, memory pressure,
//! stages, background work and pauses, autoscalers, faults, finite tests),
//! each simulated twice and checked for: conservation of requests overall
//! and per tier, rate-limited ones among the rejected (and, without a
//! warm-up, equal to `rejected_rate_limited`); no cap exceeded (from the
//! run's high-water marks: workers, queue, pool, tenant caps, cache
//! capacities, database and replica connections, sessions per instance,
//! desired replicas); every latency at least the constant parts of its
//! path; identical summaries for the same seed; finite metrics and ratios
//! within [0, 1].
//!
//! `TENANTSIM_GENERATED=N` runs seeds 0..N (default 300), `=A..B` seeds
//! A..B; with `--nocapture` it prints how often each section was used and
//! each cap reached. A failure names its seed and prints the scenarios
//! of the first three; `tenantsim gen-scenario --seed S --trace
//! $PWD/scenarios/examples/trace-example.csv` prints any of them (the suite
//! offers the generator that trace, so without `--trace` a seed may give
//! another scenario).

use super::{repo, strip_engine_timing};
use std::path::Path;
use tenantsim::metrics::names::{Unit, METRICS};
use tenantsim::model::Conservation;
use tenantsim::runner::{run_replication, RunOutput};
use tenantsim::scenario::generate::{generate, Generated, Options};
use tenantsim::scenario::{Isolation, Scenario};
use tenantsim::summary::build_summary;

/// Ratios that may exceed 1 by definition.
const UNBOUNDED_RATIOS: &[&str] = &["memory_utilization", "memory_max_utilization", "littles_law_error"];

/// `TENANTSIM_GENERATED=N` (seeds 0..N) or `=A..B` (seeds A..B, e.g. to
/// rerun one failing seed S with `S..S+1`).
fn cases() -> std::ops::Range<u64> {
    let v = std::env::var("TENANTSIM_GENERATED").unwrap_or_default();
    if let Some((a, b)) = v.split_once("..") {
        if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
            return a..b;
        }
    }
    0..v.parse().unwrap_or(300)
}

#[test]
fn generated_scenarios_keep_every_invariant() {
    let opts = Options {
        trace_file: Some(repo("scenarios/examples/trace-example.csv")),
    };
    // Every failing seed on one line; the scenarios of the first three.
    let (mut failures, mut scenarios) = (Vec::new(), Vec::new());
    let mut tally = Tally::new();
    let start = std::time::Instant::now();
    for seed in cases() {
        let g = generate(seed, &opts);
        for s in &g.sections {
            *tally.entry(s).or_default() += 1;
        }
        if let Err(e) = check(&g, &mut tally) {
            failures.push(format!("seed {seed}: {e}"));
            if scenarios.len() < 3 {
                scenarios.push(format!("--- seed {seed} ---\n{}", g.toml));
            }
        }
    }
    // With --nocapture: how often each section was used and each cap
    // reached (a check that never binds proves little).
    eprintln!(
        "{} generated scenarios in {:.1} s; sections used / caps reached:",
        cases().count(),
        start.elapsed().as_secs_f64()
    );
    for (k, n) in &tally {
        eprintln!("  {k:<24} {n}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed:\n{}\n\n{}",
        failures.len(),
        cases().count(),
        failures.join("\n"),
        scenarios.join("\n")
    );
}

/// Per section, the scenarios that used it; per cap (`cap: ...`), the
/// runs whose high-water mark reached it.
type Tally = std::collections::BTreeMap<&'static str, u64>;

fn check(g: &Generated, tally: &mut Tally) -> Result<(), String> {
    let sc = tenantsim::scenario::from_str(Path::new("generated.toml"), &g.toml, &[])
        .map_err(|e| format!("invalid: {e}"))?;
    let run = || RunOutput {
        replications: vec![run_replication(&sc, 0, &|_| {})],
        wall_s: 0.0,
    };
    let (a, b) = (run(), run());
    let (sa, sb) = (build_summary(&sc, &a), build_summary(&sc, &b));
    if strip_engine_timing(&sa.to_json()) != strip_engine_timing(&sb.to_json()) {
        return Err("the same seed gave two different summaries".into());
    }
    let r = &a.replications[0];
    // The run finished: at its horizon, or earlier only for a finite test.
    let end = sc.simulation.duration.as_secs_f64();
    if r.end_s > end + 1e-9 || (r.end_s < end - 1e-9 && !sc.has_finite_workload()) {
        return Err(format!("ended at {} s of {end} s", r.end_s));
    }
    conservation(&sc, r)?;
    if r.conservation.rate_limited > 0 {
        *tally.entry("runs with 429s").or_default() += 1;
    }
    caps(&sc, r, tally)?;
    latency_floor(g, r)?;
    sane_metrics(r)
}

fn conservation(sc: &Scenario, r: &tenantsim::runner::ReplicationResult) -> Result<(), String> {
    // Rate-limited requests (tier bucket or `[[rate_limit]]`) are among
    // the rejected, overall and in their tier.
    let ok = |c: &Conservation| c.arrived == c.rejected + c.server_done + c.in_flight && c.rate_limited <= c.rejected;
    if !ok(&r.conservation) {
        return Err(format!("not conserved: {:?}", r.conservation));
    }
    if r.tier_conservation.len() != sc.tiers.len() {
        return Err("no per-tier accounting".into());
    }
    let mut sum = Conservation::default();
    for (t, c) in sc.tiers.iter().zip(&r.tier_conservation) {
        if !ok(c) {
            return Err(format!("tier {} not conserved: {c:?}", t.name));
        }
        sum.arrived += c.arrived;
        sum.rejected += c.rejected;
        sum.server_done += c.server_done;
        sum.in_flight += c.in_flight;
        sum.rate_limited += c.rate_limited;
    }
    if sum != r.conservation {
        return Err(format!("tiers {sum:?} do not add up to {:?}", r.conservation));
    }
    // Without a warm-up every request is measured: the 429s the metrics
    // report are exactly the ones conservation counted, and the
    // limiters' share of them is within.
    if sc.simulation.warmup == tenantsim::engine::SimTime::ZERO {
        let metric = |name: &str| r.overall[tenantsim::metrics::names::index(name).unwrap()];
        let limited = metric("rejected_rate_limited").unwrap_or(0.0);
        if limited != r.conservation.rate_limited as f64 {
            return Err(format!(
                "rejected_rate_limited = {limited} but conservation counted {} rate-limited",
                r.conservation.rate_limited
            ));
        }
        if let Some(limits) = metric("rejected_rate_limits") {
            if limits > limited {
                return Err(format!(
                    "rejected_rate_limits = {limits} > rejected_rate_limited = {limited}"
                ));
            }
        }
    }
    Ok(())
}

fn caps(sc: &Scenario, r: &tenantsim::runner::ReplicationResult, tally: &mut Tally) -> Result<(), String> {
    let p = &r.peaks;
    let mut reached = |name: &'static str, peak: u64, cap: u64| {
        if peak == cap {
            *tally.entry(name).or_default() += 1;
        }
    };
    reached("cap: workers", p.running.into(), sc.instance.workers.into());
    reached("cap: queue", p.queued.into(), sc.instance.queue_capacity.into());
    if let Some(pool) = &sc.pool {
        reached("cap: pool", p.pool_open.into(), pool.config.limit.into());
    }
    if let Some(db) = &sc.database {
        reached("cap: database", p.db_open.into(), db.max_connections.into());
        if let Some(x) = &db.replicas {
            reached("cap: replica", p.replica_open.into(), x.max_connections.into());
        }
    }
    if let Some(l) = sc
        .cache
        .l3
        .as_ref()
        .filter(|l| l.policy != tenantsim::scenario::CachePolicy::None)
    {
        reached("cap: l3", p.l3_items, l.capacity);
    }
    if let Some(s) = &sc.sessions {
        reached(
            "cap: sessions",
            p.sessions_per_instance.into(),
            s.max_per_instance.into(),
        );
    }
    let i = &sc.instance;
    if p.running > i.workers {
        return Err(format!(
            "{} requests running on an instance of {} workers",
            p.running, i.workers
        ));
    }
    if p.queued > i.queue_capacity {
        return Err(format!("queue of {} > queue_capacity {}", p.queued, i.queue_capacity));
    }
    if let Some(pool) = &sc.pool {
        if p.pool_open > pool.config.limit {
            return Err(format!(
                "{} connections open > pool limit {}",
                p.pool_open, pool.config.limit
            ));
        }
    } else if p.pool_open > 0 {
        return Err("connections without a pool".into());
    }
    for (t, tier) in sc.tiers.iter().enumerate() {
        let quota = match tier.memory_mb {
            Some(m) if i.memory_per_request_mb > 0.0 => (m / i.memory_per_request_mb).floor().max(1.0) as u32,
            _ => u32::MAX,
        };
        let cap = tier.max_concurrency.unwrap_or(u32::MAX).min(quota);
        if p.tenant_in_flight[t] > cap {
            return Err(format!(
                "tier {}: a tenant had {} in flight > {cap}",
                tier.name, p.tenant_in_flight[t]
            ));
        }
        if let Some(m) = tier.max_connections {
            if p.tenant_connections[t] > m {
                return Err(format!(
                    "tier {}: a tenant held {} connections > max_connections {m}",
                    tier.name, p.tenant_connections[t]
                ));
            }
        }
    }
    for (level, peak) in [
        (&sc.cache.l1, p.l1_items),
        (&sc.cache.l2, p.l2_items),
        (&sc.cache.l3, p.l3_items),
    ] {
        match level {
            Some(l) if l.capacity > 0 && l.policy != tenantsim::scenario::CachePolicy::None && peak > l.capacity => {
                return Err(format!("a cache held {peak} entries > capacity {}", l.capacity));
            }
            Some(_) => {}
            None if peak > 0 => return Err("entries in a cache that does not exist".into()),
            None => {}
        }
    }
    match &sc.database {
        Some(db) => {
            if p.db_open > db.max_connections {
                return Err(format!(
                    "{} connections open at the database > max_connections {}",
                    p.db_open, db.max_connections
                ));
            }
            let replica_cap = db.replicas.as_ref().map_or(0, |x| x.max_connections);
            if p.replica_open > replica_cap {
                return Err(format!(
                    "{} connections open at a replica > its max_connections {replica_cap}",
                    p.replica_open
                ));
            }
        }
        None if p.db_open + p.replica_open > 0 => return Err("connections to a database that does not exist".into()),
        None => {}
    }
    match &sc.sessions {
        Some(s) if p.sessions_per_instance > s.max_per_instance => {
            return Err(format!(
                "an instance held {} sessions > sessions.max_per_instance {}",
                p.sessions_per_instance, s.max_per_instance
            ));
        }
        Some(_) => {}
        None if p.sessions_per_instance > 0 => return Err("sessions without a [sessions] table".into()),
        None => {}
    }
    if let Some(a) = &sc.autoscaler {
        // A group starts at its initial count (which may sit outside
        // [min, max] until the first evaluation); every decision lands inside.
        let initials: Vec<u32> = std::iter::once(sc.instance.initial)
            .chain(
                sc.tiers
                    .iter()
                    .filter(|t| t.isolation == Isolation::Dedicated)
                    .map(|t| t.instances.unwrap_or(sc.instance.initial)),
            )
            .collect();
        let lowest = a.min.min(*initials.iter().min().unwrap());
        let highest = a.max.max(*initials.iter().max().unwrap());
        for (g, (lo, hi)) in p.desired_min.iter().zip(&p.desired_max).enumerate() {
            if *lo < lowest || *hi > highest {
                return Err(format!("group {g}: desired {lo}..{hi} outside [{}, {}]", a.min, a.max));
            }
        }
    }
    Ok(())
}

fn latency_floor(g: &Generated, r: &tenantsim::runner::ReplicationResult) -> Result<(), String> {
    // HDR histograms keep three significant digits above 1 µs and report a
    // bucket's highest value, so a quantile is never below the true value
    // by more than 0.1 % + 1 µs.
    let floor = g.latency_floor_s * (1.0 - 1e-3) - 1e-6;
    for (i, qs) in r.latency_quantiles.iter().enumerate() {
        if let Some(Some(q)) = qs.first() {
            if *q < floor {
                return Err(format!(
                    "{} latency quantile 0.001 = {q} s below the fixed parts' {} s",
                    if i == 0 {
                        "overall".to_string()
                    } else {
                        format!("tier {}", i - 1)
                    },
                    g.latency_floor_s
                ));
            }
        }
    }
    let mean = r.overall[tenantsim::metrics::names::index("latency_mean_s").unwrap()];
    if let Some(m) = mean {
        if m < floor {
            return Err(format!(
                "mean latency {m} s below the fixed parts' {} s",
                g.latency_floor_s
            ));
        }
    }
    Ok(())
}

fn sane_metrics(r: &tenantsim::runner::ReplicationResult) -> Result<(), String> {
    for (t, values) in std::iter::once(&r.overall).chain(r.tiers.iter()).enumerate() {
        let whose = if t == 0 {
            "overall".to_string()
        } else {
            format!("tier {}", t - 1)
        };
        for (m, v) in METRICS.iter().zip(values) {
            let Some(v) = v else { continue };
            if !v.is_finite() || *v < 0.0 {
                return Err(format!("{whose} {} = {v}", m.name));
            }
            if m.unit == Unit::Ratio && !UNBOUNDED_RATIOS.contains(&m.name) && *v > 1.0 + 1e-9 {
                return Err(format!("{whose} ratio {} = {v} > 1", m.name));
            }
        }
    }
    for s in &r.stages {
        for v in s.values.iter().flatten() {
            if !v.is_finite() || *v < 0.0 {
                return Err(format!("stage {} value {v}", s.name));
            }
        }
    }
    Ok(())
}

#[test]
fn gen_scenario_prints_the_generator_output() {
    let out = assert_cmd::Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["gen-scenario", "--seed", "7"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        generate(7, &Options::default()).toml
    );
}
