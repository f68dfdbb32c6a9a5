//! `tenantsim claims`: run scenarios and give each `[[claim]]` of a
//! performance report a verdict — holds, fails, holds only if (a
//! condition), inconsistent, or cannot be checked — and with `--write DIR`
//! the per-system reports `DIR/<system>.md`.

use super::{progress_bar, EXIT_FAILED, EXIT_OK};
use crate::claims::{self, Judged};
use crate::report::table::fmt_value;
use crate::summary::{Outcome, Verdict};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim claims scenarios/hermes.toml
  tenantsim claims scenarios/*.toml --replications 20 --json
  tenantsim claims scenarios/hive-mind.toml --fail-on-refuted     (exit 1 if the model refutes a claim)
  tenantsim claims --write results/seeds scenarios/*.toml          (results/seeds/<system>.md; see results/seeds/regenerate.sh)

A metric claim holds when the whole 95 % confidence interval of its metric is
on the claimed side of the limit, fails when the whole interval is on the
other side, and cannot be checked when the interval straddles the limit (or
the claim is untestable, with the reason). `lint` and `littles_law` claims
are decided by arithmetic. A failing claim with `if_key` and `if_range` is
searched along that knob: \"holds only if instance.initial ≥ 6\". Claims that
contradict each other or Little's law are inconsistent: before simulating,
what the claims of one report state (`states`) is checked against each
other, across the report's scenarios (units, mean against percentile,
Little's and the utilization law, capacity, timeout order, \"N% faster\").
A claim whose figure a model input was fitted to (`calibrated`) is \"used for
calibration\", never \"holds\"; a hold in a run that fails an SLO or is
overloaded is flagged. Every claim judged on the model's inputs is judged
again over each `[[assumption]]`'s plausible range (its ends, then bisection;
the scenario's seed at every point: common random numbers): one whose verdict
flips inside a range \"depends on\" that assumption, with the flip point.
JSON keeps the older `verdict` (confirmed, refuted, inconclusive, untestable)
next to `outcome` (holds, fails, holds-only-if, inconsistent, cannot-be-checked,
used-for-calibration, depends-on; `assumptions` per claim).
Exit codes: 0 judged (1 with --fail-on-refuted and a refuted claim), 2 bad input.")]
pub struct ClaimsArgs {
    /// Scenario files with [[claim]] entries.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Override a value in every scenario (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Base random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications (overrides simulation.replications).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Exit 1 when a claim is refuted (fails at the scenario's settings,
    /// including "holds only if" and inconsistent arithmetic claims).
    #[arg(long)]
    pub fail_on_refuted: bool,
    /// Print the verdicts as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Write DIR/<system>.md per system (variants such as hermes-loadtest
    /// go with hermes), including DIR/whatif/<system>.md when it exists.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// Do not search "holds only if" conditions (a failing claim stays "fails").
    #[arg(long)]
    pub no_search: bool,
}

/// The command line as recorded in written reports (no machine paths).
fn command_line(a: &ClaimsArgs) -> String {
    let mut c = String::from("tenantsim claims");
    if let Some(d) = &a.write {
        c.push_str(&format!(" --write {}", d.display()));
    }
    if a.no_search {
        c.push_str(" --no-search");
    }
    if let Some(r) = a.replications {
        c.push_str(&format!(" --replications {r}"));
    }
    if let Some(s) = a.seed {
        c.push_str(&format!(" --seed {s}"));
    }
    for s in &a.set {
        c.push_str(&format!(" --set {s}"));
    }
    for p in &a.scenarios {
        c.push_str(&format!(" {}", p.display()));
    }
    c
}

fn print_text(j: &Judged) {
    println!("{} ({} replications)", j.scenario.name, j.summary.replications);
    for c in &j.claims {
        println!(
            "  {:<18} {:<24} [{}] {}",
            match c.outcome {
                Outcome::Holds => "HOLDS",
                Outcome::Fails => "FAILS",
                Outcome::HoldsOnlyIf => "HOLDS ONLY IF",
                Outcome::Inconsistent => "INCONSISTENT",
                Outcome::CannotBeChecked => "CANNOT BE CHECKED",
                Outcome::UsedForCalibration => "USED FOR CALIBRATION",
                Outcome::DependsOn => "DEPENDS ON",
            },
            c.id,
            c.source,
            c.text
        );
        let pad = "";
        if let Some(m) = &c.metric {
            let ci = c
                .ci95
                .map(|[lo, hi]| format!(" [{}, {}]", fmt_value(m, lo), fmt_value(m, hi)))
                .unwrap_or_default();
            match c.value {
                Some(v) => println!(
                    "  {pad:<18} {m} ({}) = {}{ci}, claimed {} {}",
                    c.scope,
                    fmt_value(m, v),
                    c.bound.symbol(),
                    fmt_value(m, c.limit.unwrap_or(0.0))
                ),
                None => println!("  {pad:<18} {m}: undefined"),
            }
        }
        if let Some(cond) = &c.condition {
            let at = match (&c.metric, c.condition_value) {
                (Some(m), Some(v)) => format!(
                    ": {m} = {}{}",
                    fmt_value(m, v),
                    c.condition_ci95
                        .map(|[lo, hi]| format!(" [{}, {}]", fmt_value(m, lo), fmt_value(m, hi)))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            };
            println!("  {pad:<18} holds with {cond}{at}");
        }
        if let Some(a) = &c.arithmetic {
            println!("  {pad:<18} {a}");
        }
        if !c.note.is_empty() {
            println!("  {pad:<18} {}", c.note);
        }
        if let Some(f) = &c.flag {
            println!("  {pad:<18} flagged: {f}");
        }
        for a in &c.assumptions {
            println!("  {pad:<18} {}", a.text);
        }
    }
    println!("  {}\n", claims::counts_text(&j.claims));
}

pub fn run(a: ClaimsArgs) -> anyhow::Result<i32> {
    let ov = crate::scenario::Overrides::new(&a.set, a.seed, a.replications);
    let sets = &ov.sets;
    // Load everything first: a bad file fails before any simulation.
    for p in &a.scenarios {
        ov.load(p)?;
    }
    let mut refuted = false;
    let mut json = Vec::new();
    let mut judged = Vec::new();
    for p in &a.scenarios {
        let sc = ov.load(p)?;
        if sc.claims.is_empty() {
            eprintln!("note: {} has no [[claim]]", p.display());
            continue;
        }
        let pb = progress_bar(a.quiet || a.json, 1000, &sc.name);
        let progress = super::fraction_progress(&pb);
        let quiet = a.quiet || a.json;
        let note = |s: &str| {
            if !quiet {
                eprintln!("searching: {s}");
            }
        };
        let j = claims::judge_file(p, sets, !a.no_search, &progress, &note)?;
        if let Some(pb) = &pb {
            pb.finish_and_clear();
        }
        judged.push(j);
    }
    // The claims of one report are checked against each other, across its scenarios.
    claims::apply_consistency_per_system(&mut judged);
    for j in &judged {
        refuted |= j.claims.iter().any(|c| c.verdict == Verdict::Refuted);
        if a.json {
            json.push(
                serde_json::json!({"scenario": j.scenario.name, "path": j.path.display().to_string(),
                "replications": j.summary.replications, "claims": j.claims}),
            );
        } else {
            print_text(j);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    if let Some(dir) = &a.write {
        for f in claims::write_system_reports(dir, &judged, &command_line(&a))? {
            eprintln!("wrote {}", f.display());
        }
        let f = claims::write_index(dir, &judged, &command_line(&a))?;
        eprintln!("wrote {}", f.display());
    }
    Ok(if refuted && a.fail_on_refuted {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
