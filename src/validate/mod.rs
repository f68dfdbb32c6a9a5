//! Validation against queueing theory (SPEC §8): the scenarios in
//! `scenarios/validation/` (embedded in the binary), the analytic answer of
//! each, and the comparison `tenantsim validate` prints and the tests assert.
//!
//! A check passes when the simulated mean over replications is within
//! `3 × CI half-width + 0.2 %` of the analytic value (the 0.2 % covers the
//! HDR histogram's 0.1 % quantile resolution) **and** the CI half-width is
//! at most `max_rel_half_width` of the expected value, so a check cannot
//! pass by being too noisy to mean anything. Where the analytic value is
//! itself an approximation (Che's approximation for LRU, the asymptotic
//! token-bucket rate) its known accuracy is added to the tolerance. With the run lengths in the
//! files, half-widths are around 1 % for means and 1–2 % for tail
//! quantiles: a model error of a few percent fails.

pub mod formulas;

use crate::runner;
use crate::scenario::{Arrival, Scenario};
use crate::stats::Estimate;
use formulas as f;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

/// A validation scenario shipped with tenantsim.
pub struct Case {
    pub name: &'static str,
    /// Path relative to the repository root.
    pub file: &'static str,
    pub text: &'static str,
    expectations: fn(&Model, &Scenario) -> Vec<Expect>,
}

/// The queueing parameters read from a validation scenario.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub lambda: f64,
    pub mean_service: f64,
    pub mu: f64,
    pub scv: f64,
    pub c: u32,
    pub workers: u32,
    /// Places in the system (workers + queue), u32::MAX when unbounded.
    pub k: u32,
}

/// One analytic quantity to compare with a simulated metric.
#[derive(Debug, Clone)]
pub struct Expect {
    pub quantity: &'static str,
    pub metric: &'static str,
    pub expected: f64,
    pub max_rel_half_width: f64,
    /// Extra absolute tolerance when the analytic value is itself an
    /// approximation (Che's approximation, asymptotic token-bucket rate).
    pub approx: f64,
}

fn e(quantity: &'static str, metric: &'static str, expected: f64, max_rel_half_width: f64) -> Expect {
    Expect {
        quantity,
        metric,
        expected,
        max_rel_half_width,
        approx: 0.0,
    }
}

/// An expectation whose analytic value is an approximation good to `approx`.
fn approx(quantity: &'static str, metric: &'static str, expected: f64, max_rel_half_width: f64, approx: f64) -> Expect {
    Expect {
        quantity,
        metric,
        expected,
        max_rel_half_width,
        approx,
    }
}

/// One row of the validation table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub case: String,
    pub quantity: String,
    pub metric: String,
    pub expected: f64,
    pub simulated: f64,
    pub ci95: Option<[f64; 2]>,
    pub tolerance: f64,
    pub passed: bool,
}

macro_rules! case {
    ($name:literal, $exp:expr) => {
        Case {
            name: $name,
            file: concat!("scenarios/validation/", $name, ".toml"),
            text: include_str!(concat!("../../scenarios/validation/", $name, ".toml")),
            expectations: $exp,
        }
    };
}

/// Every validation case.
pub fn cases() -> Vec<Case> {
    vec![
        case!("mm1-rho05", |m, _| mm1(m)),
        case!("mm1-rho09", |m, _| mm1(m)),
        case!("mmc8-rho085", |m, _| {
            let (l, mu, c) = (m.lambda, m.mu, m.c);
            vec![
                e("P(wait) (Erlang C)", "queue_wait_prob", f::erlang_c(c, l / mu), 0.02),
                e("mean wait Wq", "queue_wait_mean_s", f::mmc_mean_wait(l, mu, c), 0.03),
                e(
                    "wait p95",
                    "queue_wait_p95_s",
                    f::mmc_wait_quantile(l, mu, c, 0.95),
                    0.03,
                ),
                e("mean sojourn W", "latency_mean_s", f::mmc_mean_sojourn(l, mu, c), 0.02),
                e(
                    "sojourn p95",
                    "latency_p95_s",
                    f::mmc_sojourn_quantile(l, mu, c, 0.95),
                    0.02,
                ),
                e(
                    "sojourn p99",
                    "latency_p99_s",
                    f::mmc_sojourn_quantile(l, mu, c, 0.99),
                    0.02,
                ),
                e("utilization ρ", "cpu_utilization", l / (mu * c as f64), 0.01),
            ]
        }),
        case!("mmck-c2-k6", |m, _| {
            vec![
                e(
                    "blocking P(K)",
                    "error_rate",
                    f::mmck_blocking(m.lambda, m.mu, m.c, m.k),
                    0.03,
                ),
                e(
                    "mean sojourn W",
                    "latency_mean_s",
                    f::mmck_mean_sojourn(m.lambda, m.mu, m.c, m.k),
                    0.02,
                ),
            ]
        }),
        case!("erlang-b-c5", |m, _| vec![e(
            "blocking (Erlang B)",
            "error_rate",
            f::erlang_b(m.c, m.lambda / m.mu),
            0.03
        )]),
        case!("mm1-ps", |m, _| {
            vec![
                e(
                    "mean sojourn 1/(μ−λ)",
                    "latency_mean_s",
                    f::mm1_ps_mean_sojourn(m.lambda, m.mu),
                    0.05,
                ),
                e("utilization ρ", "cpu_utilization", m.lambda / m.mu, 0.01),
            ]
        }),
        case!("md1-rho08", |m, _| {
            vec![
                e(
                    "mean wait (P-K)",
                    "queue_wait_mean_s",
                    f::mg1_mean_wait(m.lambda, m.mean_service, m.scv),
                    0.03,
                ),
                e(
                    "mean sojourn",
                    "latency_mean_s",
                    f::mg1_mean_wait(m.lambda, m.mean_service, m.scv) + m.mean_service,
                    0.02,
                ),
            ]
        }),
        case!("pool-mmc8", |m, _| {
            let (l, mu, c) = (m.lambda, m.mu, m.c);
            vec![
                e(
                    "connection wait Wq (Erlang C)",
                    "pool_wait_mean_s",
                    f::mmc_mean_wait(l, mu, c),
                    0.03,
                ),
                e(
                    "connection wait p95",
                    "pool_wait_p95_s",
                    f::mmc_wait_quantile(l, mu, c, 0.95),
                    0.03,
                ),
                e(
                    "Little: in use / size = λ·hold / c",
                    "pool_utilization",
                    l / (mu * c as f64),
                    0.01,
                ),
            ]
        }),
        case!("pool-timeout-mmcd", |m, sc| {
            let d = sc.pool.as_ref().map(|p| p.config.timeout.as_secs_f64()).unwrap_or(0.0);
            vec![e(
                "P(pool timeout) (M/M/c+D)",
                "error_rate",
                f::mmc_deterministic_patience_abandon_prob(m.lambda, m.mu, m.c, d),
                0.03,
            )]
        }),
        case!("lru-che-zipf08", |_, sc| che(sc)),
        case!("lru-che-zipf10", |_, sc| che(sc)),
        case!("ttl-cache", |m, sc| {
            let k = sc.workloads[0].keys.expect("keys");
            let ttl = sc
                .cache
                .l2
                .as_ref()
                .and_then(|l| l.ttl)
                .map(|t| t.as_secs_f64())
                .unwrap_or(0.0);
            let p = f::zipf_popularity(k.items as usize, k.zipf);
            vec![e(
                "hit ratio Σ pᵢ λᵢT/(1+λᵢT)",
                "cache_hit_ratio",
                f::ttl_hit_ratio(&p, m.lambda, ttl),
                0.01,
            )]
        }),
        case!("token-bucket", |m, sc| {
            let rl = sc.tiers[0].rate_limit.expect("rate limit");
            let tenants = sc.workloads[0].tenants as f64;
            let per_tenant = m.lambda / tenants;
            // Asymptotic: a bucket 5x oversubscribed is full (wasting tokens)
            // well under 0.1 % of the time.
            vec![approx(
                "admitted rate = bucket rate",
                "throughput_rps",
                tenants * f::token_bucket_admitted_rate(per_tenant, rl.rate_per_s),
                0.01,
                0.002 * tenants * rl.rate_per_s,
            )]
        }),
    ]
}

/// LRU L1 hit ratio against Che's approximation, which is accurate to
/// about one percentage point at these sizes (allowed as `approx`).
fn che(sc: &Scenario) -> Vec<Expect> {
    let k = sc.workloads[0].keys.expect("keys");
    let cap = sc.cache.l1.as_ref().map(|l| l.capacity as f64).unwrap_or(0.0);
    let p = f::zipf_popularity(k.items as usize, k.zipf);
    vec![approx(
        "LRU hit ratio (Che)",
        "l1_hit_ratio",
        f::che_lru_hit_ratio(&p, cap),
        0.01,
        0.01,
    )]
}

fn mm1(m: &Model) -> Vec<Expect> {
    let (l, mu) = (m.lambda, m.mu);
    vec![
        e("mean sojourn 1/(μ−λ)", "latency_mean_s", 1.0 / (mu - l), 0.04),
        e(
            "sojourn p95",
            "latency_p95_s",
            f::mm1_sojourn_quantile(l, mu, 0.95),
            0.04,
        ),
        e(
            "sojourn p99",
            "latency_p99_s",
            f::mm1_sojourn_quantile(l, mu, 0.99),
            0.05,
        ),
        e("P(wait) = ρ", "queue_wait_prob", l / mu, 0.01),
    ]
}

impl Case {
    /// Parse the embedded scenario (with `overrides`, e.g. a shorter run).
    pub fn scenario(&self, overrides: &[String]) -> Result<Scenario, crate::scenario::ScenarioError> {
        crate::scenario::from_str(Path::new(self.file), self.text, overrides)
    }
}

/// Read λ, μ, c and K off a single-workload, single-endpoint scenario.
pub fn model_of(sc: &Scenario) -> Option<Model> {
    let w = sc.workloads.first()?;
    let rate = match w.arrival {
        Arrival::Poisson { rate_per_s } => rate_per_s,
        _ => return None,
    };
    let ep = sc.endpoints.first()?;
    let i = &sc.instance;
    // With a pool, the station under test is the pool: c connections
    // serving queries; otherwise the instance's cores serving CPU demand.
    let (service, c) = match (&sc.pool, &ep.query) {
        (Some(p), Some(q)) => (q, p.config.limit),
        _ => (&ep.cpu, i.cores.min(i.workers) * i.initial),
    };
    let mean_service = service.mean_secs();
    Some(Model {
        lambda: rate * w.tenants as f64,
        mean_service,
        mu: if mean_service > 0.0 {
            1.0 / mean_service
        } else {
            f64::INFINITY
        },
        scv: service.cv().powi(2),
        c,
        workers: i.workers,
        k: if i.queue_capacity == u32::MAX {
            u32::MAX
        } else {
            i.workers + i.queue_capacity
        },
    })
}

/// Run every case (shorter with `quick`) and compare. Cases run one after
/// another; their replications run in parallel.
pub fn run_all(quick: bool, progress: &(dyn Fn(&str) + Sync)) -> Result<Vec<Row>, crate::scenario::ScenarioError> {
    let mut rows = Vec::new();
    for case in cases() {
        progress(case.name);
        rows.extend(run_case(&case, quick)?);
    }
    Ok(rows)
}

/// Run one case and compare each expectation.
pub fn run_case(case: &Case, quick: bool) -> Result<Vec<Row>, crate::scenario::ScenarioError> {
    let base = case.scenario(&[])?;
    let overrides = if quick {
        // A fifth of the run: CIs widen by about √5, and so do the limits.
        let d = base.simulation.duration.as_secs_f64() / 5.0;
        vec![
            format!("simulation.duration=\"{d}s\""),
            format!("simulation.warmup=\"{}s\"", d / 10.0),
        ]
    } else {
        vec![]
    };
    let widen = if quick { 5f64.sqrt() } else { 1.0 };
    let sc = case.scenario(&overrides)?;
    let model = model_of(&sc).ok_or_else(|| {
        crate::scenario::ScenarioError::new(format!(
            "{}: not a single Poisson workload with one endpoint",
            case.file
        ))
    })?;
    let out = runner::run(&sc, &|_| {});
    let idx = crate::metrics::names::index;
    let mut rows: Vec<Row> = (case.expectations)(&model, &sc)
        .into_par_iter()
        .map(|x| {
            let i = idx(x.metric).expect("validation metric exists in the catalogue");
            let xs: Vec<f64> = out.replications.iter().filter_map(|r| r.overall[i]).collect();
            let est = Estimate::from_samples(&xs);
            compare(case.name, &x, est, widen)
        })
        .collect();
    // Little's law on the same run.
    let i = idx("littles_law_error").expect("metric exists");
    let xs: Vec<f64> = out.replications.iter().filter_map(|r| r.overall[i]).collect();
    let worst = xs.iter().cloned().fold(0.0, f64::max);
    // Cases whose requests spend no time in the service have no L to check.
    if xs.is_empty() {
        return Ok(rows);
    }
    rows.push(Row {
        case: case.name.into(),
        quantity: "Little's law |L−λW|/L (worst replication)".into(),
        metric: "littles_law_error".into(),
        expected: 0.0,
        simulated: worst,
        ci95: None,
        tolerance: 0.01,
        passed: worst <= 0.01,
    });
    Ok(rows)
}

fn compare(case: &str, x: &Expect, est: Option<Estimate>, widen: f64) -> Row {
    let (simulated, ci95, half) = match est {
        Some(e) => (
            e.mean,
            e.ci95,
            e.ci95.map(|[lo, hi]| (hi - lo) / 2.0).unwrap_or(f64::INFINITY),
        ),
        None => (f64::NAN, None, f64::INFINITY),
    };
    let tolerance = 3.0 * half + 0.002 * x.expected.abs() + x.approx;
    let precise = half <= x.max_rel_half_width * widen * x.expected.abs();
    Row {
        case: case.into(),
        quantity: x.quantity.into(),
        metric: x.metric.into(),
        expected: x.expected,
        simulated,
        ci95,
        tolerance,
        passed: precise && (simulated - x.expected).abs() <= tolerance,
    }
}

/// The table `tenantsim validate` prints.
pub fn format_table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<13} {:<36} {:>12} {:>12} {:>27} pass",
        "case", "quantity", "expected", "simulated", "95% CI"
    );
    for r in rows {
        let ci = r
            .ci95
            .map(|[a, b]| format!("[{a:.6}, {b:.6}]"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            o,
            "{:<13} {:<36} {:>12.6} {:>12.6} {:>27} {}",
            r.case,
            r.quantity,
            r.expected,
            r.simulated,
            ci,
            if r.passed { "yes" } else { "NO" }
        );
    }
    let failed = rows.iter().filter(|r| !r.passed).count();
    let _ = writeln!(
        o,
        "\n{} checks, {} passed, {} failed",
        rows.len(),
        rows.len() - failed,
        failed
    );
    o
}
