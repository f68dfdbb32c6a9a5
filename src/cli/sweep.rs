//! `tenantsim sweep` and `tenantsim merge`: run a scenario over a grid or a
//! Latin hypercube of parameter values, resumable and shardable, and combine
//! shards.

use super::{progress_bar, BadInput, ScenarioArgs, EXIT_OK};
use crate::metrics::names;
use crate::runner::Precision;
use crate::scenario::Overrides;
use crate::sweep::{self, ParamSpec, PointRecord, Shard, Sweep};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim sweep scenarios/examples/pool-exhaustion.toml --param pool.size=4..16:4 --param instance.initial=1,2
  tenantsim sweep S.toml --param autoscaler.target=0.5..0.9 --param pool.size=10..60 --lhs 50 --replications 5
  tenantsim sweep S.toml --param pool.size=10..60:10 --out /data/sweep --resume          (finish an interrupted sweep)
  tenantsim sweep S.toml --param pool.size=10..60:10 --shard 1/4 --out /data/shard-1    (one slice of four)
  JOB_COMPLETION_INDEX=2 tenantsim sweep S.toml --param ... --shards 4 --out /data/shard-2
  tenantsim merge /data/shard-* --out /data/sweep

SPEC: a range with a step `10..60:10` (both ends included), a list `10,20,40`
(any --set values, e.g. `round_robin,least_connections`), or a continuous
range `0.5..0.9` (with --lhs N; integer ends give integer samples).
Every point uses the same seed (common random numbers across points), so
neighbouring points differ by the parameter, not by luck.
Output: DIR/results.csv and DIR/results.parquet (one row per point:
parameters, replications, slo_passed, slo_passed_ci, events, then
<metric>_mean/_ci_low/_ci_high), DIR/tiers.csv and DIR/tiers.parquet (per
tier, long: point, tier, metric, mean, ci_low, ci_high), DIR/points/*.json
(each point's full summary, written as soon as it finishes), DIR/sweep.json
(the manifest).
Exit codes: 0 done (whatever the SLO verdicts of the points), 2 bad input.")]
pub struct SweepArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A parameter and its values, KEY=SPEC (repeatable).
    #[arg(long = "param", value_name = "KEY=SPEC", required = true)]
    pub params: Vec<String>,
    /// Every combination of the values (the default).
    #[arg(long, conflicts_with = "lhs")]
    pub grid: bool,
    /// A Latin hypercube sample of N points instead of the grid.
    #[arg(long, value_name = "N")]
    pub lhs: Option<usize>,
    /// Replications per point (overrides simulation.replications).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Replications per point until each precision metric's 95 % CI
    /// half-width is at most this fraction of its mean (e.g. 0.05). Ratios whose mean is under 0.01
    /// (a near-zero error rate) are held to ± FRACTION × 0.01 instead.
    #[arg(long, value_name = "FRACTION")]
    pub precision: Option<f64>,
    /// Metrics --precision applies to [default: the metrics in [slo], else latency_mean_s].
    #[arg(long = "precision-metric", value_name = "METRIC")]
    pub precision_metrics: Vec<String>,
    /// Cap on replications per point with --precision.
    #[arg(long, default_value_t = 100)]
    pub max_replications: u32,
    /// Worker threads [default: all cores]. Results do not depend on it.
    #[arg(long, alias = "threads")]
    pub jobs: Option<usize>,
    /// Run only slice I of N of the points (I counts from 0).
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<String>,
    /// Run slice JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of N.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Output folder [default: results/<scenario name>-sweep/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the sweep in --out: finished points are kept, the rest run.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar and no table.
    #[arg(long)]
    pub quiet: bool,
    /// Do not write report.html, report.md and plots/.
    #[arg(long)]
    pub no_report: bool,
    /// Stop each replication after N events (a runaway-run guard; each
    /// point's summary says which stopped early). Same as --set simulation.max_events=N.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
}

/// The shard from --shard, or from the job array's environment with --shards.
fn shard_of(a: &SweepArgs) -> Result<Option<Shard>, BadInput> {
    if let Some(s) = &a.shard {
        return Shard::parse(s).map(Some).map_err(BadInput);
    }
    let Some(n) = a.shards else { return Ok(None) };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (name, raw, min) = if let Some(v) = env("JOB_COMPLETION_INDEX") {
        ("JOB_COMPLETION_INDEX", v, None)
    } else if let Some(v) = env("SLURM_ARRAY_TASK_ID") {
        ("SLURM_ARRAY_TASK_ID", v, env("SLURM_ARRAY_TASK_MIN"))
    } else {
        return Err(BadInput(format!(
            "--shards {n}: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set; use --shard I/{n} outside a job array"
        )));
    };
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| BadInput(format!("{name}={v} is not a number")))
    };
    let mut i = parse(&raw)?;
    if let Some(m) = min {
        i = i.saturating_sub(parse(&m)?);
    }
    Shard::new(i, n).map(Some).map_err(|e| BadInput(format!("{name}: {e}")))
}

/// The precision request, with the metrics checked against the catalogue.
pub fn precision_of(
    fraction: Option<f64>,
    metrics: &[String],
    max: u32,
    sc: &crate::scenario::Scenario,
) -> Result<Option<Precision>, BadInput> {
    let Some(f) = fraction else { return Ok(None) };
    if !(f > 0.0 && f < 1.0) {
        return Err(BadInput(format!(
            "--precision {f}: expected a fraction between 0 and 1, e.g. 0.05"
        )));
    }
    let mut ms: Vec<&'static str> = Vec::new();
    for m in metrics {
        let def = names::metric(m).ok_or_else(|| {
            let hint = crate::scenario::did_you_mean(m, names::METRICS.iter().map(|x| x.name))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            BadInput(format!("--precision-metric {m}: unknown metric{hint}"))
        })?;
        ms.push(def.name);
    }
    if ms.is_empty() {
        for c in &sc.slo {
            if !ms.contains(&c.metric) {
                ms.push(c.metric);
            }
        }
    }
    if ms.is_empty() {
        ms.push("latency_mean_s");
    }
    Ok(Some(Precision {
        relative_half_width: f,
        metrics: ms,
        max_replications: max.max(3),
    }))
}

pub fn run(a: SweepArgs) -> anyhow::Result<i32> {
    let ov = Overrides::new(&a.scenario.set, a.scenario.seed, a.replications).max_events(a.max_events);
    let params: Vec<ParamSpec> = a
        .params
        .iter()
        .map(|p| ParamSpec::parse(p))
        .collect::<Result<_, _>>()
        .map_err(BadInput)?;
    let shard = shard_of(&a)?;
    let base = ov.load(&a.scenario.scenario)?;
    let precision = precision_of(a.precision, &a.precision_metrics, a.max_replications, &base)?;
    let sweep = Sweep::prepare(&a.scenario.scenario, ov.sets.clone(), params, a.lhs, shard, precision)?;
    for w in &base.warnings {
        eprintln!("warning (base scenario): {w}");
    }
    for f in crate::lint::lint(&base)
        .iter()
        .filter(|f| f.severity >= crate::lint::Severity::Warning)
    {
        eprintln!("lint (base scenario) {}", f.one_line());
    }
    let dir = a.out.clone().unwrap_or_else(|| {
        let mut name = format!("{}-sweep", base.name);
        if let Some(s) = shard {
            name.push_str(&format!("-shard{}of{}", s.index, s.count));
        }
        PathBuf::from("results").join(name)
    });
    super::prepare_out_dir("--out", &dir)?;
    let mine = sweep.my_points().count();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.unwrap_or(0))
        .build()
        .map_err(|e| BadInput(format!("--jobs: {e}")))?;
    let threads = pool.current_num_threads();
    if !a.quiet {
        eprintln!(
            "sweep {}: {} points{} × {} replications{}, {} threads → {}",
            base.name,
            mine,
            shard
                .map(|s| format!(" (shard {}/{} of {})", s.index, s.count, sweep.points.len()))
                .unwrap_or_default(),
            base.simulation.replications,
            if a.precision.is_some() {
                " (more until --precision is met)"
            } else {
                ""
            },
            threads,
            dir.display()
        );
    }
    let pb = progress_bar(a.quiet, mine as u64, "points");
    if let Some(pb) = &pb {
        pb.set_style(
            indicatif::ProgressStyle::with_template("points {pos}/{len} [{bar:40}] {per_sec} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
    }
    let tick = || {
        if let Some(pb) = &pb {
            pb.inc(1);
        }
    };
    let outcome = pool.install(|| sweep::run(&sweep, &dir, a.resume, &tick))?;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if !a.no_report {
        crate::report::write_report(&dir)?;
    }
    if !a.quiet {
        print!("{}", points_table(&sweep.manifest.params, &outcome.records, 20));
        println!(
            "{} points ({} run, {} resumed) in {:.2} s: {:.1} points/s, {:.3e} events/s on {} threads",
            outcome.records.len(),
            outcome.ran,
            outcome.resumed,
            outcome.wall_s,
            outcome.ran as f64 / outcome.wall_s.max(1e-9),
            outcome.events as f64 / outcome.wall_s.max(1e-9),
            threads
        );
        println!("wrote {}/results.csv, results.parquet, points/", dir.display());
    }
    Ok(EXIT_OK)
}

/// A short table of the points: parameters and a few headline metrics.
pub fn points_table(params: &[String], records: &[PointRecord], max_rows: usize) -> String {
    let keys: Vec<&str> = params
        .iter()
        .map(|p| p.split_once('=').map(|x| x.0).unwrap_or(p))
        .collect();
    let metrics = ["throughput_rps", "latency_p99_s", "error_rate", "cost"];
    let mut rows: Vec<Vec<String>> = vec![keys
        .iter()
        .map(|k| k.to_string())
        .chain(metrics.iter().map(|m| m.to_string()))
        .chain(["slo".to_string()])
        .collect()];
    for r in records.iter().take(max_rows) {
        let mut row: Vec<String> = r.values.clone();
        for m in metrics {
            row.push(
                r.summary
                    .metrics
                    .get(m)
                    .map(|e| format!("{:.4}", e.mean))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        let slo = (!r.summary.slo.checks.is_empty()).then_some(if r.summary.slo.passed { "pass" } else { "FAIL" });
        row.push(slo.unwrap_or("-").to_string());
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for r in &rows {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    if records.len() > max_rows {
        s.push_str(&format!("… {} more rows in results.csv\n", records.len() - max_rows));
    }
    s
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim merge results/S-sweep-shard0of2 results/S-sweep-shard1of2 --out results/S-sweep
  tenantsim merge /data/shard-* --out /data/sweep --allow-partial

Every folder must hold a part of the same sweep (same scenario, parameters,
seed and replications). The merged results.csv equals the unsharded sweep's
row for row. Exit codes: 0 merged, 2 bad input (different sweeps, missing points).")]
pub struct MergeArgs {
    /// Sweep folders (shards or partial runs).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder for the merged sweep.
    #[arg(long, required = true)]
    pub out: PathBuf,
    /// Write what is there even if points are missing.
    #[arg(long)]
    pub allow_partial: bool,
    /// No table.
    #[arg(long)]
    pub quiet: bool,
    /// Do not write report.html, report.md and plots/.
    #[arg(long)]
    pub no_report: bool,
}

pub fn merge(a: MergeArgs) -> anyhow::Result<i32> {
    let records = sweep::merge(&a.dirs, &a.out, a.allow_partial)?;
    if !a.no_report {
        crate::report::write_report(&a.out)?;
    }
    if !a.quiet {
        let m = sweep::read_manifest(&a.out)?;
        print!("{}", points_table(&m.params, &records, 20));
        println!(
            "merged {} points from {} folders into {}",
            records.len(),
            a.dirs.len(),
            a.out.display()
        );
    }
    Ok(EXIT_OK)
}
