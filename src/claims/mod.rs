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

mod markdown;

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
    let lint = crate::lint::lint(&sc);
    Ok(Judged {
        path: path.to_path_buf(),
        scenario: sc,
        summary,
        claims,
        lint,
        runs,
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

/// Counts of outcomes: (holds, fails, holds only if, inconsistent, cannot be checked).
pub fn counts(claims: &[ClaimResult]) -> [usize; 5] {
    let mut c = [0; 5];
    for r in claims {
        let k = match r.outcome {
            Outcome::Holds => 0,
            Outcome::Fails => 1,
            Outcome::HoldsOnlyIf => 2,
            Outcome::Inconsistent => 3,
            Outcome::CannotBeChecked => 4,
        };
        c[k] += 1;
    }
    c
}

/// "3 hold, 1 fails, 1 holds only if, 0 inconsistent, 7 cannot be checked".
pub fn counts_text(claims: &[ClaimResult]) -> String {
    let [h, f, o, i, u] = counts(claims);
    format!(
        "{h} {}, {f} {}, {o} {} only if, {i} inconsistent, {u} cannot be checked",
        if h == 1 { "holds" } else { "hold" },
        if f == 1 { "fails" } else { "fail" },
        if o == 1 { "holds" } else { "hold" },
    )
}
