//! The command line (SPEC §5): argument definitions with clap, one file per
//! subcommand, and the mapping of failures to exit codes — 0 ok, 1 an SLO
//! or check failed, 2 bad input (with a message naming the problem).

mod bench;
mod check;
mod claims;
mod compare;
mod fit;
mod gen_scenario;
mod import_hpa;
mod lint;
mod plan;
mod report;
mod run;
mod serve;
mod sweep;
mod validate;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit code when every check passed.
pub const EXIT_OK: i32 = 0;
/// Exit code when an SLO or validation check failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code for bad input (scenario errors, bad flags, unreadable files).
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "tenantsim",
    version,
    about = "Deterministic discrete-event simulator and capacity planner for multi-tenant SaaS services",
    after_help = "Examples:\n  tenantsim run scenarios/examples/quickstart.toml\n  tenantsim run scenarios/examples/quickstart.toml --set instance.initial=3 --replications 20\n  tenantsim validate --quick\n\nExit codes: 0 ok, 1 an SLO or check failed, 2 bad input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario and write summary.json and the time series.
    Run(run::RunArgs),
    /// Run a scenario over a grid or Latin hypercube of parameter values.
    Sweep(sweep::SweepArgs),
    /// Combine the folders of a sharded (or partial) sweep.
    Merge(sweep::MergeArgs),
    /// Compare two configurations on common random numbers (paired t).
    Compare(compare::CompareArgs),
    /// The cheapest setting of some parameters that meets the SLOs.
    Plan(plan::PlanArgs),
    /// Write the HTML and Markdown report (with charts) of a result folder.
    Report(report::ReportArgs),
    /// Verdicts on the [[claim]]s of performance reports: holds, fails, holds only if, inconsistent.
    Claims(claims::ClaimsArgs),
    /// Run scenarios and judge their [slo]: exit 0 if every SLO holds, 1 if one fails.
    Check(check::CheckArgs),
    /// Compare the simulator with queueing theory (SPEC §8).
    Validate(validate::ValidateArgs),
    /// Print a Kubernetes HorizontalPodAutoscaler manifest as [autoscaler] TOML.
    ImportHpa(import_hpa::ImportHpaArgs),
    /// Performance suite: engine speed, sweeps, memory, peers.
    Bench(bench::BenchArgs),
    /// A scenario from an access log and/or Prometheus export (--check simulates and compares).
    Fit(fit::FitArgs),
    /// Live what-if dashboard in the browser (actix-web; 127.0.0.1:8080 by default).
    Serve(serve::ServeArgs),
    /// Static checks of a scenario's configuration and claims (no simulation).
    Lint(lint::LintArgs),
    /// Print a random valid scenario (the property suite's generator).
    #[command(hide = true)]
    GenScenario(gen_scenario::GenScenarioArgs),
}

/// Options every command that takes a scenario shares.
#[derive(clap::Args, Debug, Clone)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override a scenario value, e.g. --set instance.initial=4 or
    /// --set workload.0.tenants=1200 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Base random seed (replication r uses streams derived from seed and r).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ScenarioArgs {
    /// Load the scenario with --set and --seed applied.
    pub fn load(&self) -> Result<crate::scenario::Scenario, crate::scenario::ScenarioError> {
        crate::scenario::Scenario::load(&self.scenario, &overrides(&self.set, self.seed, None))
    }
}

/// The `--set` assignments with `--seed` and `--replications` added as the
/// overrides they stand for.
pub fn overrides(set: &[String], seed: Option<u64>, replications: Option<u32>) -> Vec<String> {
    let mut sets = set.to_vec();
    if let Some(s) = seed {
        sets.push(format!("simulation.seed={s}"));
    }
    if let Some(r) = replications {
        sets.push(format!("simulation.replications={r}"));
    }
    sets
}

/// `sets` with `--max-events N` added as the override it stands for.
pub fn with_max_events(mut sets: Vec<String>, max_events: Option<u64>) -> Vec<String> {
    if let Some(n) = max_events {
        sets.push(format!("simulation.max_events={n}"));
    }
    sets
}

/// Parse arguments, run the command, and return the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
        }
    };
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Merge(a) => sweep::merge(a),
        Command::Check(a) => check::run(a),
        Command::Claims(a) => claims::run(a),
        Command::Report(a) => report::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Validate(a) => validate::run(a),
        Command::ImportHpa(a) => import_hpa::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Fit(a) => fit::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Lint(a) => lint::run(a),
        Command::GenScenario(a) => gen_scenario::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(se) = e.downcast_ref::<crate::scenario::ScenarioError>() {
                eprintln!("error: {se}");
                EXIT_BAD_INPUT
            } else if let Some(be) = e.downcast_ref::<BadInput>() {
                eprintln!("error: {}", be.0);
                EXIT_BAD_INPUT
            } else {
                eprintln!("error: {e:#}");
                EXIT_BAD_INPUT
            }
        }
    }
}

/// A user-input problem found by the CLI itself.
pub use crate::InputError as BadInput;

/// Progress as fractions of a run (what `runner::run` reports), on a bar
/// of 1000 steps per run.
pub fn fraction_progress(pb: &Option<indicatif::ProgressBar>) -> impl Fn(f64) + Sync + '_ {
    move |f: f64| {
        if let Some(pb) = pb {
            pb.inc((f * 1000.0).round() as u64);
        }
    }
}

/// A progress bar on a terminal, nothing otherwise or with --quiet.
pub fn progress_bar(quiet: bool, len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}% eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    Some(pb)
}
