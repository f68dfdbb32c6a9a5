//! `tenantsim run`: simulate a scenario, print the summary table, and write
//! `summary.json`, `timeseries.csv` and `timeseries.parquet`, the
//! per-tier table `tiers.csv` and `tiers.parquet`, and the scaling
//! decisions with their reasons, `scaling_events.csv`.

use super::{progress_bar, BadInput, ScenarioArgs, EXIT_FAILED, EXIT_OK};
use crate::report;
use crate::runner;
use crate::scenario::Overrides;
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tenantsim run scenarios/examples/quickstart.toml\n  tenantsim run scenarios/examples/quickstart.toml --replications 20 --set instance.initial=3 --out /tmp/q\n  tenantsim run scenarios/validation/mmc8-rho085.toml --json --quiet\n  tenantsim run scenarios/examples/quickstart.toml --precision 0.02 --precision-metric latency_p95_s\n\nExit codes: 0 ok, 1 an SLO in [slo] failed, 2 bad input."
)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Number of independent replications (overrides simulation.replications).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Output folder [default: results/<scenario name>/].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print summary.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar and no table (files are still written).
    #[arg(long)]
    pub quiet: bool,
    /// Add replications until each precision metric's 95 % CI half-width
    /// is at most this fraction of its mean (e.g. 0.05). Ratios whose mean is under 0.01
    /// (a near-zero error rate) are held to ± FRACTION × 0.01 instead.
    #[arg(long, value_name = "FRACTION")]
    pub precision: Option<f64>,
    /// Metrics --precision applies to [default: the metrics in [slo], else latency_mean_s].
    #[arg(long = "precision-metric", value_name = "METRIC")]
    pub precision_metrics: Vec<String>,
    /// Cap on replications with --precision.
    #[arg(long, default_value_t = 100)]
    pub max_replications: u32,
    /// Do not write report.html, report.md and plots/.
    #[arg(long)]
    pub no_report: bool,
    /// Worker threads for replications [default: all cores]. The results
    /// do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop each replication after N events (a runaway-run guard; the
    /// summary says which stopped early). Same as --set simulation.max_events=N.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
}

pub fn run(a: RunArgs) -> anyhow::Result<i32> {
    let sc = Overrides::new(&a.scenario.set, a.scenario.seed, a.replications)
        .max_events(a.max_events)
        .load(&a.scenario.scenario)?;
    // Lint first: one line per warning or error, before anything runs (the
    // table below leaves them out, so each is said once).
    for f in crate::lint::lint(&sc)
        .iter()
        .filter(|f| f.severity >= crate::lint::Severity::Warning)
    {
        eprintln!("lint {}", f.one_line());
    }
    // The table shows the warnings; without it, say them on stderr.
    if a.json || a.quiet {
        for w in &sc.warnings {
            eprintln!("warning: {w}");
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.unwrap_or(0))
        .build()
        .map_err(|e| BadInput(format!("--threads: {e}")))?;
    let precision = super::sweep::precision_of(a.precision, &a.precision_metrics, a.max_replications, &sc)?;
    // Before simulating: a bad --out must not cost the whole run.
    let dir = a.out.clone().unwrap_or_else(|| PathBuf::from("results").join(&sc.name));
    super::prepare_out_dir("--out", &dir)?;
    let pb = progress_bar(a.quiet, 1000, &sc.name);
    let progress = super::fraction_progress(&pb);
    let (out, met) = match &precision {
        None => (pool.install(|| runner::run(&sc, &progress)), None),
        Some(p) => {
            let (out, outcome) = pool.install(|| runner::run_to_precision(&sc, p, &progress));
            (out, Some(outcome))
        }
    };
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if let Some(e) = out.stall_error() {
        return Err(e.into());
    }
    let mut summary = crate::summary::build_summary(&sc, &out);
    if out.replications.iter().any(|r| r.event_limit_reached) && !a.json {
        // Said even with --quiet: the numbers are not for the full horizon.
        if let Some(w) = summary.warnings.iter().find(|w| w.contains("--max-events")) {
            eprintln!("warning: {w}");
        }
    }
    if let (Some(p), Some(outcome)) = (&precision, met) {
        summary.precision = Some(crate::sweep::precision_note(p, &outcome));
        summary.warnings.extend(crate::sweep::precision_warnings(p, &outcome));
    }
    let summary_path = dir.join("summary.json");
    crate::files::write_atomic(&summary_path, summary.to_json().as_bytes())
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    report::write_timeseries(&out, &dir)?;
    crate::summary::tiers::write_tiers(&[(None, &summary)], &dir)?;
    let tiers: Vec<String> = sc.tiers.iter().map(|t| t.name.clone()).collect();
    report::write_latency_cdf(&out, &tiers, &dir)?;
    report::write_scaling_events(&out, &dir)?;
    if !a.no_report {
        report::write_report(&dir)?;
    }
    if a.json {
        print!("{}", summary.to_json());
    } else if !a.quiet {
        // The lint findings were said on stderr before the run.
        let shown = crate::summary::Summary {
            warnings: summary
                .warnings
                .iter()
                .filter(|w| !w.starts_with("lint "))
                .cloned()
                .collect(),
            ..summary.clone()
        };
        print!("{}", report::print_summary(&shown));
        println!("wrote {}", dir.display());
    }
    Ok(if summary.slo.passed { EXIT_OK } else { EXIT_FAILED })
}
