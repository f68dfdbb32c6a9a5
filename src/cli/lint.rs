//! `tenantsim lint`: the static checks of [`crate::lint`] on scenario
//! files — no simulation. Exit 0 when clean (infos allowed), 1 on an error
//! (or a warning with `--deny-warnings`), 2 on bad input.

use super::{EXIT_FAILED, EXIT_OK};
use crate::lint::{self, Severity};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim lint scenarios/hermes.toml
  tenantsim lint scenarios/*.toml --deny-warnings
  tenantsim lint scenarios/examples/quickstart.toml --set autoscaler.max=40 --json

Each finding has a severity (error, warning, info), a stable rule id, the
scenario keys involved and the arithmetic. Rules: pool-connections,
tier-connections, tier-memory, instance-memory, timeout-order, utilization,
db-utilization, autoscaler-capacity, throughput-capacity, littles-law,
claim-consistency (docs/GUIDE.md: \"Static checks\").
Exit codes: 0 no errors (and no warnings with --deny-warnings), 1 otherwise, 2 bad input.")]
pub struct LintArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Override a value in every scenario (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print the findings as JSON: [{"scenario", "path", "findings": [...]}].
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: LintArgs) -> anyhow::Result<i32> {
    let mut loaded = Vec::new();
    for p in &a.scenarios {
        loaded.push((p, crate::scenario::load(p, &a.set)?));
    }
    let mut worst = None::<Severity>;
    let mut json = Vec::new();
    for (p, sc) in &loaded {
        let findings = lint::lint(sc);
        worst = worst.max(findings.iter().map(|f| f.severity).max());
        if a.json {
            json.push(serde_json::json!({"scenario": sc.name, "path": p.display().to_string(), "findings": findings}));
            continue;
        }
        println!("{}", p.display());
        for f in &findings {
            println!("  {}[{}]: {}", f.severity.as_str(), f.rule, f.message);
            println!("      {}", f.arithmetic);
            println!("      keys: {}", f.keys.join(", "));
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        println!(
            "  {} error(s), {} warning(s), {} info\n",
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        );
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    let fail = match worst {
        Some(Severity::Error) => true,
        Some(Severity::Warning) => a.deny_warnings,
        _ => false,
    };
    Ok(if fail { EXIT_FAILED } else { EXIT_OK })
}
