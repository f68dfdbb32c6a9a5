//! `tenantsim claims`: run scenarios and give each `[[claim]]` of a
//! performance report a verdict — confirmed, refuted, inconclusive or
//! untestable.

use super::{progress_bar, EXIT_FAILED, EXIT_OK};
use crate::report::{self, table::fmt_value};
use crate::runner;
use crate::scenario::Scenario;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim claims scenarios/hermes.toml
  tenantsim claims scenarios/*.toml --replications 20 --json
  tenantsim claims scenarios/hive-mind.toml --fail-on-refuted     (exit 1 if the model refutes a claim)

A claim is confirmed when the whole 95 % confidence interval of its metric is
on the claimed side of the limit, refuted when the whole interval is on the
other side, inconclusive when the interval straddles the limit; untestable
claims say why the model cannot check them.
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
    /// Exit 1 when a claim is refuted.
    #[arg(long)]
    pub fail_on_refuted: bool,
    /// Print the verdicts as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: ClaimsArgs) -> anyhow::Result<i32> {
    let sets = super::overrides(&a.set, a.seed, a.replications);
    let scenarios: Vec<Scenario> = a
        .scenarios
        .iter()
        .map(|p| Scenario::load(p, &sets))
        .collect::<Result<_, _>>()?;
    let mut refuted = false;
    let mut json = Vec::new();
    for sc in &scenarios {
        if sc.claims.is_empty() {
            eprintln!("note: {} has no [[claim]]", sc.path.display());
            continue;
        }
        let pb = progress_bar(a.quiet || a.json, 1000, &sc.name);
        let progress = super::fraction_progress(&pb);
        let out = runner::run(sc, &progress);
        if let Some(pb) = &pb {
            pb.finish_and_clear();
        }
        let summary = report::build_summary(sc, &out);
        refuted |= summary.claims.iter().any(|c| c.verdict == "refuted");
        if a.json {
            json.push(
                serde_json::json!({"scenario": sc.name, "path": sc.path.display().to_string(),
                "replications": summary.replications, "claims": summary.claims}),
            );
            continue;
        }
        println!("{} ({} replications)", sc.name, summary.replications);
        for c in &summary.claims {
            let detail = match (&c.metric, c.value) {
                (Some(m), Some(v)) => {
                    let ci = c
                        .ci95
                        .map(|[lo, hi]| format!(" [{}, {}]", fmt_value(m, lo), fmt_value(m, hi)))
                        .unwrap_or_default();
                    format!(
                        "{m} ({}) = {}{ci}, claimed {} {}",
                        c.scope,
                        fmt_value(m, v),
                        if c.bound == "max" { "≤" } else { "≥" },
                        fmt_value(m, c.limit.unwrap_or(0.0))
                    )
                }
                (Some(m), None) => format!("{m}: undefined"),
                _ => String::new(),
            };
            println!(
                "  {:<12} {:<28} [{}] {}",
                c.verdict.to_uppercase(),
                c.id,
                c.source,
                c.text
            );
            if !detail.is_empty() {
                println!("  {:<12} {detail}", "");
            }
            if !c.note.is_empty() {
                println!("  {:<12} {}", "", c.note);
            }
        }
        let count = |v: &str| summary.claims.iter().filter(|c| c.verdict == v).count();
        println!(
            "  {} confirmed, {} refuted, {} inconclusive, {} untestable\n",
            count("confirmed"),
            count("refuted"),
            count("inconclusive"),
            count("untestable")
        );
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(if refuted && a.fail_on_refuted {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
