//! The performance suite behind `tenantsim bench`: each case runs in a
//! child process of its own (so its peak memory is its own), prints one
//! JSON line, and the parent puts the lines in a table with ratios against
//! peers measured in the same run.
//!
//! Cases: `mm8` (the M/M/8 validation model, one thread), `hermes-size`
//! (3 tiers, 1,100 tenants, pools, L1 + L2, HPA, 2 h), `day-1h` / `day-24h`
//! (1,000 req/s with caches and a pool: peak RSS must not grow with
//! simulated time), `sweep-1` / `sweep-2` (a real 200-point `tenantsim
//! sweep` on 1 and 2 threads: the speed-up a sweep gets) and `points-1` /
//! `points-2` (the same 200 simulations without the sweep's files: the
//! speed-up this machine gives the work itself, the sweep's ceiling).

use crate::runner;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// One case's figures.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct CaseResult {
    pub case: String,
    pub threads: usize,
    /// Requests (customers) simulated.
    pub customers: u64,
    pub events: u64,
    pub wall_s: f64,
    pub customers_per_s: f64,
    pub events_per_s: f64,
    pub peak_rss_mb: Option<f64>,
    /// Scenario points per second (sweep cases only).
    pub points_per_s: Option<f64>,
    /// Mean queue wait and its analytic value (mm8 only).
    pub wq_mean_s: Option<f64>,
    pub erlang_c_wq_s: Option<f64>,
}

const MM8: &str = include_str!("../../scenarios/validation/mmc8-rho085.toml");
const HERMES: &str = include_str!("../../benchmarks/hermes-size.toml");

/// A day of traffic at 1,000 req/s through caches and a pool.
const DAY: &str = r#"
name = "day"
[simulation]
warmup = "1m"
replications = 1
sample_interval = "60s"
[[workload]]
tenants = 200
arrival = { process = "poisson", rate_per_s = 5.0 }
mix = { read = 0.9, write = 0.1 }
keys = { items = 5000, zipf = 0.9 }
[endpoint.read]
cpu = { dist = "exponential", mean = "2ms" }
cacheable = true
db_queries = 1
query = { dist = "exponential", mean = "5ms" }
[endpoint.write]
cpu = { dist = "exponential", mean = "3ms" }
operation = "write"
db_queries = 1
query = { dist = "exponential", mean = "8ms" }
[instance]
cores = 4
workers = 32
initial = 2
[pool]
size = 20
overflow = 10
[database]
cores = 16
max_connections = 200
[cache.l1]
capacity = 20000
ttl = "10m"
[cache.l2]
ttl = "5m"
latency = "500us"
"#;

/// Peak resident memory of this process (Linux), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn scenario(name: &str, text: &str, sets: &[String]) -> anyhow::Result<Scenario> {
    Ok(crate::scenario::from_str(Path::new(name), text, sets)?)
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    Ok(pool.install(f))
}

/// Run one case in this process.
pub fn run_case(case: &str, customers: u64) -> anyhow::Result<CaseResult> {
    let mut r = CaseResult {
        case: case.to_string(),
        threads: 1,
        customers: 0,
        events: 0,
        wall_s: 0.0,
        customers_per_s: 0.0,
        events_per_s: 0.0,
        peak_rss_mb: None,
        points_per_s: None,
        wq_mean_s: None,
        erlang_c_wq_s: None,
    };
    let finish = |r: &mut CaseResult, out: &runner::RunOutput| {
        r.events = out.events();
        r.wall_s = out.wall_s;
        r.customers = out.replications.iter().map(|x| x.conservation.arrived).sum();
    };
    match case {
        "mm8" => {
            // λ = 680/s: the duration that gives `customers` arrivals.
            let secs = customers as f64 / 680.0;
            let sc = scenario(
                "mm8.toml",
                MM8,
                &[
                    format!("simulation.duration=\"{secs}s\""),
                    format!("simulation.warmup=\"{}s\"", secs / 10.0),
                    "simulation.replications=1".into(),
                ],
            )?;
            let out = on_threads(1, || runner::run(&sc, &|_| {}))?;
            finish(&mut r, &out);
            let i = crate::metrics::names::index("queue_wait_mean_s");
            r.wq_mean_s = i.and_then(|i| out.replications[0].overall[i]);
            r.erlang_c_wq_s = Some(crate::validate::formulas::mmc_mean_wait(680.0, 100.0, 8));
        }
        "hermes-size" => {
            let sc = scenario("hermes-size.toml", HERMES, &[])?;
            let out = on_threads(1, || runner::run(&sc, &|_| {}))?;
            finish(&mut r, &out);
        }
        "day-1h" | "day-24h" => {
            let d = if case == "day-1h" { "1h" } else { "24h" };
            let sc = scenario("day.toml", DAY, &[format!("simulation.duration=\"{d}\"")])?;
            let out = on_threads(1, || runner::run(&sc, &|_| {}))?;
            finish(&mut r, &out);
        }
        "sweep-1" | "sweep-2" | "points-1" | "points-2" => {
            let threads = if case.ends_with('1') { 1 } else { 2 };
            // `sweep-N`: a real `tenantsim sweep` (point files, results
            // table) of 200 points: the M/M/8 model at 200 arrival rates,
            // 20 s each. `points-N`: the same 200 points simulated the same
            // way (scenario resolved per point, summary built) but kept in
            // memory: no file is written, so its 2-thread speed-up is what
            // the machine gives this work, the ceiling for the sweep's.
            let dir = std::env::temp_dir().join(format!("tenantsim-bench-{case}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            let file = dir.join("mm8.toml");
            crate::files::write_atomic(&file, MM8.as_bytes())?;
            let sets = vec![
                "simulation.duration=\"20s\"".to_string(),
                "simulation.warmup=\"2s\"".into(),
                "simulation.replications=1".into(),
            ];
            let params = vec![
                crate::sweep::ParamSpec::parse("workload.0.arrival.rate_per_s=400..599:1")
                    .map_err(anyhow::Error::msg)?,
            ];
            let start = Instant::now();
            let (points, events, customers) = on_threads(threads, || -> anyhow::Result<(usize, u64, u64)> {
                let sweep = crate::sweep::Sweep::prepare(&file, sets, params, None, None, None)?;
                if case.starts_with("sweep") {
                    let out = crate::sweep::run(&sweep, &dir.join("out"), false, &|| {})?;
                    let arrived = out.records.iter().map(|x| x.summary.conservation.arrived).sum();
                    return Ok((out.records.len(), out.events, arrived));
                }
                use rayon::prelude::*;
                let todo: Vec<_> = sweep.my_points().collect();
                let done = todo
                    .par_iter()
                    .map(|p| {
                        sweep
                            .run_point(p)
                            .map(|(s, _)| (s.engine.events, s.conservation.arrived))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((
                    done.len(),
                    done.iter().map(|d| d.0).sum(),
                    done.iter().map(|d| d.1).sum(),
                ))
            })??;
            r.threads = threads;
            r.wall_s = start.elapsed().as_secs_f64();
            r.events = events;
            r.customers = customers;
            r.points_per_s = Some(points as f64 / r.wall_s);
            let _ = std::fs::remove_dir_all(&dir);
        }
        other => anyhow::bail!("unknown benchmark case `{other}`; cases: {}", CASES.join(", ")),
    }
    if r.wall_s > 0.0 {
        r.customers_per_s = r.customers as f64 / r.wall_s;
        r.events_per_s = r.events as f64 / r.wall_s;
    }
    r.peak_rss_mb = peak_rss_mb();
    Ok(r)
}

/// Every case, in the order the table shows them.
pub const CASES: &[&str] = &[
    "mm8",
    "hermes-size",
    "day-1h",
    "day-24h",
    "sweep-1",
    "sweep-2",
    "points-1",
    "points-2",
];
