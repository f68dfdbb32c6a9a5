//! The command line (SPEC §5): argument definitions with clap, one file per
//! subcommand, and the mapping of failures to exit codes — 0 ok, 1 an SLO
//! or check failed, 2 bad input (with a message naming the problem).

mod bench;
mod check;
mod claims;
mod compare;
mod fit;
mod gen_scenario;
mod hpa;
mod import_hpa;
mod import_keda;
mod lint;
mod plan;
mod report;
mod run;
mod serve;
mod shell;
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

/// `tenantsim --version`: the crate version and the git revision it was
/// built from (`unknown` outside git; see build.rs). The revision is here
/// only, never in `summary.json`, whose `tool_version` is the crate version.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("TENANTSIM_GIT_REV"), ")");

#[derive(Parser, Debug)]
#[command(
    name = "tenantsim",
    version = VERSION,
    about = "Deterministic discrete-event simulator and capacity planner for multi-tenant SaaS services",
    after_help = "Examples:\n  tenantsim run scenarios/examples/quickstart.toml\n  tenantsim run scenarios/examples/quickstart.toml --set instance.initial=3 --replications 20\n  tenantsim validate --quick\n\nExit codes: 0 ok, 1 an SLO or check failed, 2 bad input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario and write summary.json, the time series and the per-tier table.
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
    /// Print a KEDA ScaledObject as [autoscaler] TOML (policy = "keda").
    ImportKeda(import_keda::ImportKedaArgs),
    /// Kubernetes HPA tools: `hpa explain` shows why it chose its replica count.
    Hpa(hpa::HpaArgs),
    /// Performance suite: engine speed, sweeps, memory, peers.
    Bench(bench::BenchArgs),
    /// A scenario from an access log and/or Prometheus export (--check simulates and compares).
    Fit(Box<fit::FitArgs>),
    /// Live what-if dashboard in the browser (actix-web; 127.0.0.1:8080 by default).
    Serve(serve::ServeArgs),
    /// Static checks of a scenario's configuration and claims (no simulation).
    Lint(lint::LintArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), or write one per subcommand with --dir.
    Man(shell::ManArgs),
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
    /// --set workload.0.tenants=1200 (repeatable). It may set any key the
    /// schema knows, even one the file leaves out (--set simulation.seed=7,
    /// or --set autoscaler.max=8 without an [autoscaler]), but never adds a
    /// component or list entry: --set endpoint.NAME.cpu=5ms needs an
    /// endpoint NAME in the scenario, --set workload.3.tenants=9 a fourth
    /// [[workload]] (a typo is refused, with the names that exist).
    #[arg(long = "set", value_name = "KEY=VALUE", verbatim_doc_comment)]
    pub set: Vec<String>,
    /// Base random seed (replication r uses streams derived from seed and r).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ScenarioArgs {
    /// Load the scenario with --set and --seed applied.
    pub fn load(&self) -> Result<crate::scenario::Scenario, crate::scenario::ScenarioError> {
        crate::scenario::Overrides::new(&self.set, self.seed, None).load(&self.scenario)
    }
}

/// Whether the user asked for no colour: `NO_COLOR` set and not empty
/// (<https://no-color.org>), whatever `CLICOLOR_FORCE` says.
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Parse arguments, run the command, and return the process exit code.
///
/// Colour: tenantsim's own output (tables, progress bars, whose templates
/// use no colour) is plain text; only clap's help and usage errors are
/// styled, on a terminal or with `CLICOLOR_FORCE`. With `NO_COLOR` they
/// are not, whatever else is set.
pub fn main() -> i32 {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    if no_color() {
        cmd = cmd.color(clap::ColorChoice::Never);
    }
    let parsed = cmd
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
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
        Command::ImportKeda(a) => import_keda::run(a),
        Command::Hpa(a) => hpa::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Fit(a) => fit::run(*a),
        Command::Serve(a) => serve::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
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

/// Check, before anything is simulated, that the output folder `dir` (the
/// value of `flag`) can take the results: create it if it is missing, and
/// make sure files can be written in it. The error names the flag and the
/// path, so a long run never ends in "File exists (os error 17)".
pub fn prepare_out_dir(flag: &str, dir: &std::path::Path) -> Result<(), BadInput> {
    let err = |why: String| BadInput(format!("{flag} {}: {why}", dir.display()));
    if dir.exists() && !dir.is_dir() {
        return Err(err(
            "exists and is not a folder; give a folder (the results are files inside it)".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create this folder: {e}")))?;
    // A hidden probe, removed at once: permissions alone do not tell
    // (read-only mounts, ACLs).
    let probe = dir.join(format!(".tenantsim-write-check-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| err(format!("cannot write in this folder: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Progress as fractions of a run (what `runner::run` reports), on a bar
/// of 1000 steps per run. The fractions are summed before rounding: one
/// stretch of one of many replications is far less than a step, and
/// rounding each call alone would leave the bar at zero.
pub fn fraction_progress(pb: &Option<indicatif::ProgressBar>) -> impl Fn(f64) + Sync + '_ {
    let total = std::sync::Mutex::new(0.0f64);
    move |f: f64| {
        if let Some(pb) = pb {
            // A poisoned lock only means another thread panicked mid-update;
            // the running total is still a number.
            let mut t = total.lock().unwrap_or_else(|p| p.into_inner());
            *t += f;
            let target = (*t * 1000.0).round() as u64;
            if target > pb.position() {
                pb.set_position(target);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_advances_in_steps_smaller_than_one_bar_step() {
        // 100 replications × 100 stretches: each call is 1e-4 of the run,
        // a tenth of a bar step, which rounding per call used to lose.
        let pb = Some(indicatif::ProgressBar::hidden());
        pb.as_ref().unwrap().set_length(1000);
        let progress = fraction_progress(&pb);
        for _ in 0..5000 {
            progress(1e-4);
        }
        assert_eq!(pb.as_ref().unwrap().position(), 500);
    }
}
