//! `tenantsim check`: run scenarios and judge their `[slo]` — the CI gate
//! for scaling-policy and capacity changes. Exit 0 when every check holds,
//! 1 when one fails, 2 for bad input.

use super::{progress_bar, BadInput, EXIT_FAILED, EXIT_OK};
use crate::runner;
use crate::scenario::Scenario;
use crate::summary::Side;
use crate::summary::{SloResult, Summary};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  tenantsim check scenarios/examples/*.toml\n  tenantsim check scenarios/examples/step-load-hpa.toml --strict --junit slo.xml\n\nA check passes when the mean over replications meets its limit; with --strict\nthe whole 95 % confidence interval must meet it.\nExit codes: 0 every SLO holds, 1 one fails, 2 bad input."
)]
pub struct CheckArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Override a value in every scenario, e.g. --set autoscaler.max=10 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Base random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications (overrides simulation.replications).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Fail a check whose confidence interval crosses its limit.
    #[arg(long)]
    pub strict: bool,
    /// Also write the verdicts as JUnit XML (one test case per check).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Whether a check passes, strictly or on the mean.
fn verdict(c: &SloResult, strict: bool) -> bool {
    if !strict {
        return c.passed;
    }
    match (c.ci95, c.value) {
        (Some([lo, hi]), Some(_)) => {
            if c.bound == Side::Max {
                hi <= c.limit
            } else {
                lo >= c.limit
            }
        }
        _ => c.passed,
    }
}

pub fn run(a: CheckArgs) -> anyhow::Result<i32> {
    let ov = crate::scenario::Overrides::new(&a.set, a.seed, a.replications);
    // Validate every file before simulating any.
    let scenarios: Vec<Scenario> = a.scenarios.iter().map(|p| ov.load(p)).collect::<Result<_, _>>()?;
    let mut all_ok = true;
    let mut suites: Vec<(Scenario, Summary)> = Vec::new();
    for sc in scenarios {
        if sc.slo.is_empty() {
            eprintln!("note: {} has no [slo]: nothing to check", sc.path.display());
        }
        let pb = progress_bar(a.quiet, 1000, &sc.name);
        let progress = super::fraction_progress(&pb);
        let out = runner::run(&sc, &progress);
        if let Some(pb) = &pb {
            pb.finish_and_clear();
        }
        if let Some(e) = out.stall_error() {
            return Err(anyhow::Error::new(e).context(sc.path.display().to_string()));
        }
        let summary = crate::summary::build_summary(&sc, &out);
        for c in &summary.slo.checks {
            let ok = verdict(c, a.strict);
            all_ok &= ok;
            println!(
                "{} {} {} {}: {} {} {}{}",
                if ok { "PASS" } else { "FAIL" },
                sc.name,
                c.scope,
                c.name,
                c.value.map(|v| format!("{v:.6}")).unwrap_or_else(|| "n/a".into()),
                if c.bound == Side::Max { "<=" } else { ">=" },
                c.limit,
                c.ci95
                    .map(|[l, h]| format!(" (95% CI [{l:.6}, {h:.6}])"))
                    .unwrap_or_default()
            );
        }
        suites.push((sc, summary));
    }
    if let Some(path) = &a.junit {
        crate::files::write_atomic(path, junit(&suites, a.strict).as_bytes())
            .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(if all_ok { EXIT_OK } else { EXIT_FAILED })
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: a test suite per scenario, a test case per SLO check.
fn junit(suites: &[(Scenario, Summary)], strict: bool) -> String {
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tenantsim check\">\n");
    for (sc, s) in suites {
        let failures = s.slo.checks.iter().filter(|c| !verdict(c, strict)).count();
        o += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">\n",
            xml_escape(&sc.name),
            s.slo.checks.len(),
            failures,
            s.engine.wall_s
        );
        for c in &s.slo.checks {
            let name = format!(
                "{} {} {} {}",
                c.scope,
                c.name,
                if c.bound == Side::Max { "<=" } else { ">=" },
                c.limit
            );
            o += &format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&sc.name),
                xml_escape(&name)
            );
            if verdict(c, strict) {
                o += "/>\n";
            } else {
                let msg = format!(
                    "{} = {}{}, limit {} {}",
                    c.metric,
                    c.value.map(|v| format!("{v:.6}")).unwrap_or_else(|| "n/a".into()),
                    c.ci95
                        .map(|[l, h]| format!(" (95% CI [{l:.6}, {h:.6}])"))
                        .unwrap_or_default(),
                    if c.bound == Side::Max { "<=" } else { ">=" },
                    c.limit
                );
                o += &format!(
                    ">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(&msg)
                );
            }
        }
        o += "  </testsuite>\n";
    }
    o += "</testsuites>\n";
    o
}
