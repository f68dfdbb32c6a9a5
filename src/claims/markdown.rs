//! `results/seeds/<system>.md`: one Markdown report per system, with a row
//! per claim (the claim as stated and its source line, what the simulation
//! or the arithmetic shows, the verdict), the lint findings, and the
//! system's what-if page when one exists. Scenarios are grouped by name:
//! `hermes-loadtest` belongs to `hermes` when `hermes` is among them.
//! The files carry no times or paths of the machine, so regenerating them
//! from the same scenarios and seed gives the same bytes.

use super::{counts_text, Judged};
use crate::report::table::fmt_value;
use crate::summary::ClaimResult;
use crate::summary::Outcome;
use std::fmt::Write as _;
use std::path::Path;

/// The system a scenario belongs to: the shortest other scenario name
/// among `names` that is a prefix of it followed by `-`, else its own.
pub fn system_of(name: &str, names: &[&str]) -> String {
    names
        .iter()
        .filter(|n| name.len() > n.len() && name.starts_with(*n) && name[n.len()..].starts_with('-'))
        .min_by_key(|n| n.len())
        .map_or(name.to_string(), |n| n.to_string())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn shown(c: &ClaimResult) -> String {
    let mut parts = Vec::new();
    if let Some(m) = &c.metric {
        let sign = c.bound.symbol();
        let limit = fmt_value(m, c.limit.unwrap_or(0.0));
        match c.value {
            Some(v) => {
                let ci = c
                    .ci95
                    .map(|[lo, hi]| format!(" [{}, {}]", fmt_value(m, lo), fmt_value(m, hi)))
                    .unwrap_or_default();
                let scope = if c.scope == "all" {
                    String::new()
                } else {
                    format!(" ({})", c.scope)
                };
                parts.push(format!("`{m}`{scope} {}{ci} (claimed {sign} {limit})", fmt_value(m, v)));
            }
            None => parts.push(format!("`{m}` undefined in this run (claimed {sign} {limit})")),
        }
        if let (Some(cond), Some(v)) = (&c.condition, c.condition_value) {
            let ci = c
                .condition_ci95
                .map(|[lo, hi]| format!(" [{}, {}]", fmt_value(m, lo), fmt_value(m, hi)))
                .unwrap_or_default();
            parts.push(format!("at the condition's bound ({cond}): {}{ci}", fmt_value(m, v)));
        }
    }
    if let Some(a) = &c.arithmetic {
        parts.push(a.clone());
    }
    if !c.note.is_empty() && (c.outcome != Outcome::Holds || c.metric.is_none()) {
        parts.push(c.note.clone());
    }
    if c.outcome == Outcome::DependsOn {
        if let Some(cond) = &c.condition {
            parts.push(format!("at the scenario's assumed values it holds only if {cond}"));
        }
    }
    for a in &c.assumptions {
        parts.push(format!("over the assumed range: {}", a.text));
    }
    parts.join("; ")
}

fn scenario_section(o: &mut String, j: &Judged, claims: &[ClaimResult], repeated: usize) {
    let s = &j.summary;
    let _ = writeln!(o, "## `{}`\n", j.scenario.name);
    if !j.scenario.description.is_empty() {
        let _ = writeln!(o, "{}\n", j.scenario.description);
    }
    let sim = j.scenario.claims.iter().any(|c| c.metric.is_some());
    if sim {
        let _ = writeln!(
            o,
            "`{}` — seed {}, {} replication(s) of {} simulated (warm-up {}){}.\n",
            j.path.display(),
            s.seed,
            s.replications,
            fmt_value("latency_mean_s", j.scenario.simulation.duration.as_secs_f64()),
            fmt_value("latency_mean_s", s.warmup_s),
            match (j.runs - 1 - j.assumption_runs, j.assumption_runs) {
                (0, 0) => String::new(),
                (k, 0) => format!("; {k} more run(s) searched \"holds only if\" conditions"),
                (0, a) => format!("; {a} more run(s) judged the claims over the assumptions' ranges"),
                (k, a) => format!(
                    "; {k} more run(s) searched \"holds only if\" conditions, {a} judged the claims over the assumptions' ranges"
                ),
            }
        );
    } else {
        let _ = writeln!(
            o,
            "`{}` — every claim is decided without simulation.\n",
            j.path.display()
        );
    }
    let _ = writeln!(o, "{}.\n", counts_text(claims));
    if repeated > 0 {
        let _ = writeln!(
            o,
            "{repeated} claim(s) decided without simulation are the same as in an earlier scenario of this report and are shown there only.\n"
        );
    }
    let _ = writeln!(
        o,
        "| source | claim | what the simulation (mean, 95 % CI) or the arithmetic shows | verdict |\n|---|---|---|---|"
    );
    for c in claims {
        let _ = writeln!(
            o,
            "| {} | {} | {} | **{}**{} |",
            cell(&c.source),
            cell(&c.text),
            cell(&shown(c)),
            cell(&c.outcome_text()),
            c.flag
                .as_ref()
                .map(|f| format!(" — flagged: {}", cell(f)))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(o);
    if !j.lint.is_empty() {
        let _ = writeln!(o, "Lint (`tenantsim lint {}`):\n", j.path.display());
        for f in &j.lint {
            let _ = writeln!(
                o,
                "- {}[{}]: {} — {}",
                f.severity.as_str(),
                f.rule,
                f.message,
                f.arithmetic
            );
        }
        let _ = writeln!(o);
    }
}

/// Point relative links and images of an included page at its folder.
fn rebase_links(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(k) = rest.find("](") {
        out.push_str(&rest[..k + 2]);
        rest = &rest[k + 2..];
        let absolute = rest.starts_with("http://")
            || rest.starts_with("https://")
            || rest.starts_with('/')
            || rest.starts_with('#');
        if !absolute {
            out.push_str(prefix);
        }
    }
    out.push_str(rest);
    out
}

/// The rows of each scenario of a report: a claim decided without
/// simulation (arithmetic, consistency, calibration, untestable) that an
/// earlier scenario already shows with the same id and source is left out
/// (its verdict cannot differ between scenarios); with how many were.
pub(super) fn report_rows(members: &[&Judged]) -> Vec<(Vec<ClaimResult>, usize)> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for j in members {
        let mut rows = Vec::new();
        let mut repeated = 0;
        for c in &j.claims {
            let key = (c.id.clone(), c.source.clone());
            let simulated = c.checked_by == crate::summary::CheckedBy::Simulation;
            if !simulated && seen.contains(&key) {
                repeated += 1;
                continue;
            }
            seen.push(key);
            rows.push(c.clone());
        }
        out.push((rows, repeated));
    }
    out
}

/// Write `<dir>/<system>.md` for each system among `judged` (in order of
/// first appearance); `command` is the command line recorded in the
/// header. Returns the files written.
pub fn write_system_reports(dir: &Path, judged: &[Judged], command: &str) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let names: Vec<&str> = judged.iter().map(|j| j.scenario.name.as_str()).collect();
    let mut systems: Vec<String> = Vec::new();
    for n in &names {
        let s = system_of(n, &names);
        if !systems.contains(&s) {
            systems.push(s);
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for sys in systems {
        let members: Vec<&Judged> = judged
            .iter()
            .filter(|j| system_of(&j.scenario.name, &names) == sys)
            .collect();
        let mut o = String::new();
        let _ = writeln!(
            o,
            "<!-- Generated by `{command}`; do not edit by hand: change the scenarios and regenerate. -->\n"
        );
        let _ = writeln!(o, "# `{sys}`: the report's claims and their verdicts\n");
        let rows = report_rows(&members);
        let all: Vec<ClaimResult> = rows.iter().flat_map(|(c, _)| c.iter().cloned()).collect();
        let _ = writeln!(
            o,
            "{} claim(s) over {} scenario(s): {}. Verdicts: **holds** (the whole 95 % CI on the claimed side, or the arithmetic agrees), **fails**, **holds only if** (the smallest change of the named setting that makes it hold), **inconsistent** (contradicts another claim of the report: the claims, their lines and the arithmetic), **cannot be checked** (why), **used for calibration** (a model input was fitted to it: not evidence), **depends on** an assumption (the verdict at the scenario's values flips inside the plausible range of an input the report does not state: the flip point is on the row; every other judged row says it keeps its verdict over each range). A claim that holds in a run that fails its SLOs or is overloaded is flagged on its row. Everything assumed is commented in the scenario files.\n",
            all.len(),
            members.len(),
            counts_text(&all)
        );
        for (label, outcome) in [
            ("Hold only if", Outcome::HoldsOnlyIf),
            ("Inconsistent", Outcome::Inconsistent),
            ("Fail", Outcome::Fails),
            ("Used for calibration", Outcome::UsedForCalibration),
            ("Depend on an assumption", Outcome::DependsOn),
        ] {
            let rows: Vec<String> = members
                .iter()
                .zip(&rows)
                .flat_map(|(j, (claims, _))| {
                    claims.iter().filter(|c| c.outcome == outcome).map(move |c| {
                        format!(
                            "`{}` {} ({}){}",
                            j.scenario.name,
                            c.id,
                            c.source,
                            if c.outcome == Outcome::DependsOn {
                                let f: Vec<&str> = (c.assumptions.iter())
                                    .filter(|a| !a.flips.is_empty())
                                    .map(|a| a.text.as_str())
                                    .collect();
                                format!(": {}", f.join("; "))
                            } else {
                                c.condition.as_ref().map(|x| format!(": {x}")).unwrap_or_default()
                            }
                        )
                    })
                })
                .collect();
            if !rows.is_empty() {
                let _ = writeln!(o, "- {label}: {}", rows.join("; "));
            }
        }
        let _ = writeln!(o);
        for (j, (claims, repeated)) in members.iter().zip(&rows) {
            scenario_section(&mut o, j, claims, *repeated);
        }
        let whatif = dir.join("whatif").join(format!("{sys}.md"));
        if whatif.exists() {
            let text = std::fs::read_to_string(&whatif)?;
            let _ = writeln!(
                o,
                "## What-if\n\nFrom [`whatif/{sys}.md`](whatif/{sys}.md):\n\n{}",
                rebase_links(text.trim_end(), "whatif/")
                    .lines()
                    .map(|l| if l.starts_with('#') {
                        format!("##{l}")
                    } else {
                        l.to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        let path = dir.join(format!("{sys}.md"));
        crate::files::write_atomic(&path, format!("{}\n", o.trim_end()).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_group_with_their_base_system() {
        let names = ["hermes", "hermes-loadtest", "hive-mind-1200", "hive-mind", "agent-hive"];
        assert_eq!(system_of("hermes-loadtest", &names), "hermes");
        assert_eq!(system_of("hive-mind-1200", &names), "hive-mind");
        assert_eq!(system_of("hive-mind", &names), "hive-mind");
        assert_eq!(system_of("agent-hive", &names), "agent-hive");
        assert_eq!(system_of("hermes-x", &["hermes-x"]), "hermes-x");
    }

    #[test]
    fn included_links_point_into_the_whatif_folder() {
        assert_eq!(
            rebase_links("![plot](hermes.svg) and [x](https://a.b) [y](#z)", "whatif/"),
            "![plot](whatif/hermes.svg) and [x](https://a.b) [y](#z)"
        );
    }
}
