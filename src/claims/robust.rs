//! Verdicts over the scenario's assumptions: a claim judged at the
//! scenario's values is judged again across each `[[assumption]]`'s
//! plausible range, and one whose verdict flips inside a range "depends
//! on" that assumption, with the flip point.
//!
//! For each assumption, one key at a time (the others stay at the
//! scenario's values): both ends of the range are run; an end where a
//! claim's verdict differs from the one at the scenario's value starts a
//! bisection between that value and the end, down to adjacent whole
//! numbers for counts, or to a sixteenth of the range otherwise. The
//! verdict is assumed monotone between the scenario's value and each end,
//! so a range gives at most one flip per side. "Holds" means what it means
//! elsewhere: the whole 95 % CI on the claimed side (or the arithmetic
//! agrees); anything else does not hold.
//!
//! Every point is a full run with the scenario's seed and replications:
//! common random numbers, so the points differ only by the assumed value
//! (the sweep's pairing). Runs are cached per (assumption, value) and
//! shared between claims; the caller runs them (`at`). Nothing here is
//! random, so the result is a pure function of the summaries.

use crate::scenario::Assumption;
use crate::summary::{CheckedBy, ClaimResult, Outcome, OverRange, Summary, Verdict};
use std::collections::HashMap;

/// Whether a claim's verdict is judged on the model's inputs at all (and
/// so can depend on an assumed one): simulated, lint and Little's-law
/// claims that hold, fail or hold only if.
fn in_scope(r: &ClaimResult) -> bool {
    matches!(
        r.checked_by,
        CheckedBy::Simulation | CheckedBy::Lint | CheckedBy::LittlesLaw
    ) && matches!(r.outcome, Outcome::Holds | Outcome::Fails | Outcome::HoldsOnlyIf)
}

/// Judge `claims` (the results of `base`, in the scenario's claim order)
/// over every assumption's range; `at(a, text)` gives the summary of the
/// scenario with `a.key` set to `text`. Sets each in-scope claim's
/// `assumptions`, and its outcome to "depends on" when one flips.
/// Returns how many points were run.
pub fn judge_over_assumptions(
    assumptions: &[Assumption],
    base: &Summary,
    claims: &mut [ClaimResult],
    mut at: impl FnMut(&Assumption, &str) -> anyhow::Result<Summary>,
) -> anyhow::Result<usize> {
    let scope: Vec<usize> = (0..claims.len()).filter(|&i| in_scope(&claims[i])).collect();
    if scope.is_empty() {
        return Ok(0);
    }
    let mut cache: HashMap<(usize, String), Summary> = HashMap::new();
    for (k, a) in assumptions.iter().enumerate() {
        for &i in &scope {
            let h0 = base.claims[i].verdict == Verdict::Confirmed;
            let mut holds = |x: f64| -> anyhow::Result<bool> {
                let text = a.text(x);
                let ck = (k, text.clone());
                if !cache.contains_key(&ck) {
                    let s = at(a, &text)?;
                    cache.insert(ck.clone(), s);
                }
                Ok(cache[&ck].claims[i].verdict == Verdict::Confirmed)
            };
            let mut flips = Vec::new();
            for end in [a.from, a.to] {
                if same(a, end, a.value) || holds(end)? == h0 {
                    continue;
                }
                // Invariant: the verdict at `lo` is h0, at `hi` it is not.
                let (mut lo, mut hi) = (a.value, end);
                while let Some(mid) = midpoint(a, lo, hi) {
                    if holds(mid)? == h0 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                flips.push([lo, hi]);
            }
            let text = describe(a, h0, &flips);
            let r = &mut claims[i];
            r.assumptions.push(OverRange {
                key: a.key.clone(),
                range: [a.from, a.to],
                value: a.value,
                holds: h0,
                flips: flips.clone(),
                text,
            });
            if !flips.is_empty() {
                r.outcome = Outcome::DependsOn;
            }
        }
    }
    Ok(cache.len())
}

/// Two values the same point (as `--set` text).
fn same(a: &Assumption, x: f64, y: f64) -> bool {
    a.text(x) == a.text(y)
}

/// The value halfway between `lo` and `hi` as the scenario would write it,
/// or None when they are close enough: adjacent whole numbers for counts,
/// a sixteenth of the range otherwise.
fn midpoint(a: &Assumption, lo: f64, hi: f64) -> Option<f64> {
    if a.integral {
        if (hi - lo).abs() <= 1.0 {
            return None;
        }
        let m = ((lo + hi) / 2.0).floor();
        return Some(if same(a, m, lo) { m + 1.0 } else { m });
    }
    if (hi - lo).abs() <= (a.to - a.from) / 16.0 {
        return None;
    }
    let m = (lo + hi) / 2.0;
    // Three significant digits: a value the reader can type.
    let mag = 10f64.powf(m.abs().log10().floor() - 2.0);
    let m = (m / mag).round() * mag;
    if same(a, m, lo) || same(a, m, hi) {
        None
    } else {
        Some(m)
    }
}

/// "holds over all of instance.cores 1 … 8 (2 assumed)", or "holds at
/// instance.cores = 2, not at 1 (flips between 2 and 1), within 1 … 8".
fn describe(a: &Assumption, holds: bool, flips: &[[f64; 2]]) -> String {
    let verb = if holds { "holds" } else { "does not hold" };
    let (from, to, v) = (a.text(a.from), a.text(a.to), a.text(a.value));
    if flips.is_empty() {
        return format!("{verb} over all of {} {from} … {to} ({v} assumed)", a.key);
    }
    let other = if holds { "not" } else { "holds" };
    let parts: Vec<String> = flips
        .iter()
        .map(|[x, y]| {
            format!(
                "{other} at {} (flips between {} and {})",
                a.text(*y),
                a.text(*x),
                a.text(*y)
            )
        })
        .collect();
    format!("{verb} at {} = {v}, {}, within {from} … {to}", a.key, parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cores(value: f64, from: f64, to: f64) -> Assumption {
        Assumption {
            key: "instance.cores".into(),
            value,
            from,
            to,
            duration: false,
            integral: true,
            why: "test".into(),
        }
    }

    #[test]
    fn bisection_on_counts_ends_at_adjacent_values() {
        let a = cores(2.0, 1.0, 8.0);
        let mut lo = 2.0;
        let mut hi = 8.0;
        // Holds from 5 on: the search must end at [4, 5].
        while let Some(m) = midpoint(&a, lo, hi) {
            if m < 5.0 {
                lo = m;
            } else {
                hi = m;
            }
        }
        assert_eq!([lo, hi], [4.0, 5.0]);
    }

    #[test]
    fn bisection_on_durations_stops_at_a_sixteenth_of_the_range() {
        let a = Assumption {
            duration: true,
            integral: false,
            ..cores(3.0, 1.0, 5.0)
        };
        let (mut lo, mut hi) = (3.0, 5.0);
        let mut steps = 0;
        while let Some(m) = midpoint(&a, lo, hi) {
            steps += 1;
            if m < 4.1 {
                lo = m;
            } else {
                hi = m;
            }
        }
        assert!(hi - lo <= 0.25 + 1e-9, "[{lo}, {hi}]");
        assert!(lo < 4.1 && hi >= 4.1, "[{lo}, {hi}]");
        assert!(steps <= 4, "{steps} steps");
    }
}
