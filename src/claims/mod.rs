//! Verdicts on the claims of performance reports beyond a single run: the
//! "holds only if" search on a claim's knob, and the per-system verdict
//! reports (`results/seeds/<system>.md`).
//!
//! A claim is judged first at the scenario's own settings (simulation, a
//! lint rule, or Little's law: [`crate::summary::build_summary`]). A claim
//! that fails there and names a knob (`if_key`, `if_range`) is judged again
//! at values of that knob, assumed monotone along the range: the claim
//! fails at its start and holds from some value on. The last value is tried
//! first (if the claim fails there too, it simply fails), then bisection
//! finds the first value where it holds with its whole 95 % CI on the
//! claimed side. Each value is a full run with the scenario's replications
//! (common random numbers, so neighbouring values are paired), and runs are
//! shared between claims that search the same knob. Nothing here is
//! random beyond the simulations, so a report is a pure function of the
//! scenarios, overrides and seed.

pub mod consistency;
mod index;
mod markdown;
pub mod robust;

pub use index::write_index;

pub use markdown::{system_of, write_system_reports};

use crate::lint::Finding;
use crate::runner::{self, RunOutput};
use crate::scenario::{source, Scenario};
use crate::summary::{build_summary, ClaimResult, Summary};
use crate::summary::{Outcome, Verdict};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A scenario judged: its summary (one run at its own settings), its
/// claims with their final outcomes, and its lint findings.
pub struct Judged {
    pub path: PathBuf,
    pub scenario: Scenario,
    pub summary: Summary,
    pub claims: Vec<ClaimResult>,
    pub lint: Vec<Finding>,
    /// Simulated runs, the first included.
    pub runs: usize,
    /// Of those, the runs at points of the assumptions' ranges
    /// ([`robust`]).
    pub assumption_runs: usize,
}

/// Judge every claim of the scenario at `path` (with `sets` applied),
/// searching conditions of failed claims that name a knob. `progress`
/// gets fractions of the first run; `note` is told about each search run.
pub fn judge_file(
    path: &Path,
    sets: &[String],
    search: bool,
    progress: &(dyn Fn(f64) + Sync),
    note: &dyn Fn(&str),
) -> anyhow::Result<Judged> {
    let sources = source::load(path)?;
    let sc = crate::scenario::from_sources(sources.clone(), sets)?;
    let simulate = |sc: &Scenario, progress: &(dyn Fn(f64) + Sync)| -> RunOutput {
        if sc.claims.iter().any(|c| c.metric.is_some()) {
            let mut out = runner::run(sc, progress);
            out.wall_s = 0.0;
            out
        } else {
            RunOutput {
                replications: Vec::new(),
                wall_s: 0.0,
            }
        }
    };
    let out = simulate(&sc, progress);
    let summary = build_summary(&sc, &out);
    let mut claims = summary.claims.clone();
    let mut runs = usize::from(!out.replications.is_empty());
    // Summaries at knob values, shared between claims: (key, value) → summary.
    let mut cache: HashMap<(String, String), Summary> = HashMap::new();
    for (i, c) in sc.claims.iter().enumerate() {
        let Some(cond) = &c.condition else { continue };
        if !search || claims[i].outcome != Outcome::Fails || cond.values.is_empty() {
            continue;
        }
        // The scenario's own value failed already: no need to run it again.
        let current = {
            let mut s2 = sources.clone();
            for o in sets {
                s2.apply_set(o)?;
            }
            current_number(&s2.merged, &cond.key)
        };
        let mut holds_at = |k: usize, cache: &mut HashMap<(String, String), Summary>| -> anyhow::Result<bool> {
            let (text, _) = &cond.values[k];
            let ck = (cond.key.clone(), text.clone());
            if !cache.contains_key(&ck) {
                let mut s2 = sets.to_vec();
                s2.push(format!("{}={}", cond.key, text));
                let sc2 = crate::scenario::from_sources(sources.clone(), &s2)?;
                let sim = c.metric.is_some();
                if sim {
                    note(&format!("{}: claim `{}` at {} = {}", sc.name, c.id, cond.key, text));
                    runs += 1;
                }
                let out2 = if sim {
                    simulate(&sc2, &|_| {})
                } else {
                    RunOutput {
                        replications: Vec::new(),
                        wall_s: 0.0,
                    }
                };
                cache.insert(ck.clone(), build_summary(&sc2, &out2));
            }
            Ok(cache[&ck].claims[i].verdict == Verdict::Confirmed)
        };
        let last = cond.values.len() - 1;
        if !holds_at(last, &mut cache)? {
            let (text, _) = &cond.values[last];
            claims[i].note = format!(
                "fails across {} = {} … {} as well (searched for \"holds only if\")",
                cond.key, cond.values[0].0, text
            );
            continue;
        }
        // Invariant: values before lo fail (or are untried below the
        // scenario's side), the value at hi holds.
        let start = usize::from(current.is_some_and(|x| (x - cond.values[0].1).abs() < 1e-9));
        let (mut lo, mut hi) = (start.min(last), last);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if holds_at(mid, &mut cache)? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let (text, _) = &cond.values[hi];
        let at = &cache[&(cond.key.clone(), text.clone())].claims[i];
        let r = &mut claims[i];
        r.outcome = Outcome::HoldsOnlyIf;
        r.condition = Some(format!(
            "{} {} {}",
            cond.key,
            if cond.ascending { "≥" } else { "≤" },
            text
        ));
        r.condition_value = at.value;
        r.condition_ci95 = at.ci95;
        if at.arithmetic.is_some() {
            r.note = format!(
                "at {} = {text}: {}",
                cond.key,
                at.arithmetic.clone().unwrap_or_default()
            );
        }
    }
    // Every verdict over every assumption's range: the scenario's seed and
    // replications at each point (common random numbers).
    let simulated = !out.replications.is_empty();
    let points = robust::judge_over_assumptions(&sc.assumptions, &summary, &mut claims, |a, text| {
        let mut s2 = sets.to_vec();
        s2.push(format!("{}={text}", a.key));
        let sc2 = crate::scenario::from_sources(sources.clone(), &s2)?;
        if simulated {
            note(&format!("{}: assumption {} = {text}", sc.name, a.key));
        }
        Ok(build_summary(&sc2, &simulate(&sc2, &|_| {})))
    })?;
    let assumption_runs = if simulated { points } else { 0 };
    runs += assumption_runs;
    let lint = crate::lint::lint(&sc);
    Ok(Judged {
        path: path.to_path_buf(),
        scenario: sc,
        summary,
        claims,
        lint,
        runs,
        assumption_runs,
    })
}

/// The number (seconds for durations) at `key` in a merged scenario table.
fn current_number(merged: &toml::Table, key: &str) -> Option<f64> {
    use crate::scenario::source::{parse_path, Seg};
    let segs = parse_path(key);
    let (Seg::Key(first), rest) = segs.split_first()? else {
        return None;
    };
    let mut v = merged.get(first)?;
    for s in rest {
        v = match s {
            Seg::Key(k) => v.as_table()?.get(k)?,
            Seg::Index(i) => v.as_array()?.get(*i)?,
        };
    }
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        toml::Value::String(s) => crate::scenario::units::parse_duration_secs(s).ok(),
        _ => None,
    }
}

/// Counts of outcomes: (holds, fails, holds only if, inconsistent, cannot
/// be checked, used for calibration, depends on).
pub fn counts(claims: &[ClaimResult]) -> [usize; 7] {
    let mut c = [0; 7];
    for r in claims {
        let k = match r.outcome {
            Outcome::Holds => 0,
            Outcome::Fails => 1,
            Outcome::HoldsOnlyIf => 2,
            Outcome::Inconsistent => 3,
            Outcome::CannotBeChecked => 4,
            Outcome::UsedForCalibration => 5,
            Outcome::DependsOn => 6,
        };
        c[k] += 1;
    }
    c
}

/// "3 hold, 1 fails, 1 holds only if, 2 depend on an assumption, 0
/// inconsistent, 7 cannot be checked, 1 used for calibration".
pub fn counts_text(claims: &[ClaimResult]) -> String {
    let [h, f, o, i, u, c, d] = counts(claims);
    format!(
        "{h} {}, {f} {}, {o} {} only if, {d} {} on an assumption, {i} inconsistent, {u} cannot be checked, {c} used for calibration",
        if h == 1 { "holds" } else { "hold" },
        if f == 1 { "fails" } else { "fail" },
        if o == 1 { "holds" } else { "hold" },
        if d == 1 { "depends" } else { "depend" },
    )
}

/// Apply the consistency pass over `claims` (one scenario, or every
/// scenario of a report) to their results: `results[k]` is the verdict on
/// `claims[k]`. A claim stated in several scenarios (a load-test variant
/// repeating the base system's claims) counts once. Claims in a failed
/// check become inconsistent, with the kind and arithmetic added (once:
/// applying the pass again, to a larger set, adds only what is new);
/// claims that only state quantities hold when every check they are in
/// passes, and cannot be checked when none involves them.
pub fn apply_consistency(claims: &[&crate::scenario::Claim], results: &mut [&mut ClaimResult]) {
    use crate::summary::CheckedBy;
    let mut unique: Vec<usize> = Vec::new();
    let mut of: Vec<usize> = Vec::with_capacity(claims.len());
    for (k, c) in claims.iter().enumerate() {
        let same = unique
            .iter()
            .position(|&u| claims[u].id == c.id && claims[u].source == c.source && claims[u].states == c.states);
        match same {
            Some(p) => of.push(p),
            None => {
                unique.push(k);
                of.push(unique.len() - 1);
            }
        }
    }
    let stated: Vec<consistency::Stated> = unique
        .iter()
        .map(|&k| consistency::Stated {
            id: &claims[k].id,
            source: &claims[k].source,
            states: &claims[k].states,
        })
        .collect();
    let checks = consistency::check(&stated);
    for (k, r) in results.iter_mut().enumerate() {
        let u = of[k];
        let mine: Vec<&consistency::Check> = checks.iter().filter(|c| c.claims.contains(&u)).collect();
        let only_states = r.checked_by == CheckedBy::Consistency;
        if only_states {
            r.arithmetic = None;
            r.verdict = Verdict::Untestable;
            r.outcome = Outcome::CannotBeChecked;
            r.note = if mine.is_empty() {
                "no other statement of the report to check it against".into()
            } else {
                String::new()
            };
        }
        let failed: Vec<&&consistency::Check> = mine.iter().filter(|c| !c.ok).collect();
        for c in &failed {
            let text = format!("inconsistent ({}): {}", c.kind.as_str(), c.arithmetic);
            match &mut r.arithmetic {
                Some(a) if a.contains(&text) => {}
                Some(a) => {
                    a.push_str("; ");
                    a.push_str(&text);
                }
                None => r.arithmetic = Some(text),
            }
            r.outcome = Outcome::Inconsistent;
            if only_states {
                r.verdict = Verdict::Refuted;
            }
        }
        if only_states && failed.is_empty() && !mine.is_empty() {
            r.verdict = Verdict::Confirmed;
            r.outcome = Outcome::Holds;
            r.arithmetic = Some(
                mine.iter()
                    .map(|c| format!("consistent ({}): {}", c.kind.as_str(), c.arithmetic))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
    }
    for (c, r) in claims.iter().zip(results.iter_mut()) {
        mark_calibration(c, r);
    }
}

/// [`apply_consistency`] over each report: the scenarios of one system
/// (as [`system_of`] groups them) together.
pub fn apply_consistency_per_system(judged: &mut [Judged]) {
    let names: Vec<String> = judged.iter().map(|j| j.scenario.name.clone()).collect();
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let systems: Vec<String> = names.iter().map(|n| system_of(n, &refs)).collect();
    let mut done: Vec<&String> = Vec::new();
    for sys in &systems {
        if done.contains(&sys) {
            continue;
        }
        done.push(sys);
        let members: Vec<usize> = (0..judged.len()).filter(|&i| &systems[i] == sys).collect();
        let claims: Vec<crate::scenario::Claim> = members
            .iter()
            .flat_map(|&i| judged[i].scenario.claims.iter().cloned())
            .collect();
        let refs: Vec<&crate::scenario::Claim> = claims.iter().collect();
        let mut results: Vec<&mut ClaimResult> = Vec::new();
        for (i, j) in judged.iter_mut().enumerate() {
            if members.contains(&i) {
                results.extend(j.claims.iter_mut());
            }
        }
        apply_consistency(&refs, &mut results);
    }
}

/// A claim a model input was fitted to (`calibrated`): its outcome is
/// "used for calibration" whatever the simulation shows (unless the
/// consistency pass found it inconsistent, which stays), and the note
/// names the input.
fn mark_calibration(c: &crate::scenario::Claim, r: &mut ClaimResult) {
    let Some(input) = &c.calibrated else { return };
    if r.outcome == Outcome::Inconsistent {
        return;
    }
    r.outcome = Outcome::UsedForCalibration;
    let why = format!("`{input}` was fitted to this figure, so reproducing it is not evidence");
    if !r.note.contains(&why) {
        r.note = if r.note.is_empty() || r.checked_by != crate::summary::CheckedBy::Simulation {
            why
        } else {
            format!("{why}; {}", r.note)
        };
    }
}

/// The lowest utilization at which a run counts as overloaded.
pub const OVERLOADED_AT: f64 = 0.95;

/// Flag claims that hold in a run that tests nothing about them: a run
/// that fails one of its SLOs, or whose CPU or database is at least
/// [`OVERLOADED_AT`] busy (a max-instances claim "holds" while the same
/// run fails its error SLO).
pub fn flag_vacuous(
    slos: &[crate::summary::SloResult],
    overall: &[(&'static str, crate::stats::Estimate)],
    claims: &mut [ClaimResult],
) {
    let mut why: Vec<String> = slos
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            format!(
                "fails its SLO {} {} {}{}",
                c.name,
                c.bound.symbol(),
                crate::report::table::fmt_value(&c.metric, c.limit),
                c.value
                    .map(|v| format!(" ({})", crate::report::table::fmt_value(&c.metric, v)))
                    .unwrap_or_default()
            )
        })
        .collect();
    for m in ["cpu_utilization", "db_utilization"] {
        if let Some((_, e)) = overall.iter().find(|(k, _)| *k == m) {
            if e.mean >= OVERLOADED_AT {
                why.push(format!("is overloaded ({m} {:.2} ≥ {OVERLOADED_AT})", e.mean));
            }
        }
    }
    if why.is_empty() {
        return;
    }
    let text = format!("holds in a run that {}", why.join(" and "));
    for r in claims.iter_mut() {
        if r.outcome == Outcome::Holds && r.checked_by == crate::summary::CheckedBy::Simulation {
            r.flag = Some(text.clone());
        }
    }
}
