//! The claim verdicts of one run: a claim that arithmetic decides (`lint`,
//! `littles_law`) is judged on the scenario alone; one about a metric is
//! confirmed or refuted from that metric's estimate and CI. Invariant: a
//! verdict is never "holds" for a claim the scenario was calibrated on.

use super::*;
/// The outcome a verdict maps to.
pub fn outcome_of(verdict: Verdict) -> Outcome {
    match verdict {
        Verdict::Confirmed => Outcome::Holds,
        Verdict::Refuted => Outcome::Fails,
        Verdict::Inconclusive | Verdict::Untestable => Outcome::CannotBeChecked,
    }
}

/// Judge a claim that arithmetic decides (`lint` or `littles_law`).
pub(crate) fn judge_static(sc: &Scenario, c: &crate::scenario::Claim, r: &mut ClaimResult) {
    use crate::lint::Severity;
    if let Some(rule) = c.lint {
        r.checked_by = CheckedBy::Lint;
        r.rule = Some(rule.to_string());
        let checks = crate::lint::rule_checks(sc, rule);
        if checks.is_empty() {
            r.verdict = Verdict::Untestable;
            r.note = format!("lint rule `{rule}` has nothing to check in this scenario");
            return;
        }
        let failed: Vec<_> = checks
            .iter()
            .filter(|k| !k.passed && k.finding.severity >= Severity::Warning)
            .collect();
        let shown: Vec<&crate::lint::Check> = if failed.is_empty() {
            checks.iter().collect()
        } else {
            failed.clone()
        };
        r.arithmetic = Some(
            shown
                .iter()
                .map(|k| format!("{}: {}", k.finding.message, k.finding.arithmetic))
                .collect::<Vec<_>>()
                .join("; "),
        );
        r.verdict = if failed.is_empty() {
            Verdict::Confirmed
        } else {
            Verdict::Refuted
        };
    } else if let Some(ll) = &c.littles_law {
        r.checked_by = CheckedBy::LittlesLaw;
        let (ok, arithmetic) = crate::lint::littles::judge_littles_law(ll);
        r.arithmetic = Some(format!("{arithmetic} (population from {})", ll.population_from));
        r.verdict = if ok { Verdict::Confirmed } else { Verdict::Refuted };
    }
}

/// Confirm or refute a claim from the estimate of its metric.
pub(crate) fn judge_claim(
    sc: &Scenario,
    c: &crate::scenario::Claim,
    overall: &[(&'static str, Estimate)],
    tiers: &[Vec<(&'static str, Estimate)>],
    stages: &[(String, Vec<(&'static str, Estimate)>)],
) -> ClaimResult {
    let scope = match (&c.stage, c.tier) {
        (Some(st), _) => format!("stage:{st}"),
        (None, t) => t.map_or("all".to_string(), |t| format!("tier:{}", sc.tiers[t].name)),
    };
    let bound = Side::of(c.bound);
    let mut r = ClaimResult {
        id: c.id.clone(),
        source: c.source.clone(),
        text: c.text.clone(),
        metric: c.metric.map(String::from),
        scope,
        bound,
        limit: c.metric.map(|_| c.limit),
        value: None,
        ci95: None,
        verdict: Verdict::Untestable,
        note: c.untestable.clone().unwrap_or_default(),
        outcome: Outcome::CannotBeChecked,
        checked_by: if c.metric.is_some() {
            CheckedBy::Simulation
        } else if c.untestable.is_none() && c.lint.is_none() && c.littles_law.is_none() && !c.states.is_empty() {
            CheckedBy::Consistency
        } else {
            CheckedBy::Untestable
        },
        rule: None,
        arithmetic: None,
        condition: None,
        condition_value: None,
        condition_ci95: None,
        flag: None,
        assumptions: Vec::new(),
    };
    if c.lint.is_some() || c.littles_law.is_some() {
        judge_static(sc, c, &mut r);
        r.outcome = outcome_of(r.verdict);
        return r;
    }
    let Some(m) = c.metric else { return r };
    let est = match (&c.stage, c.tier) {
        (Some(st), _) => stages.iter().find(|(n, _)| n == st).map_or(&[][..], |(_, e)| &e[..]),
        (None, None) => overall,
        (None, Some(t)) => &tiers[t][..],
    };
    let Some(e) = est.iter().find(|(k, _)| *k == m).map(|(_, e)| *e) else {
        // A latency ceiling over the whole run when no request completed in
        // any replication: none came in under it, so the claim fails.
        let latency_ceiling = c.bound == Bound::AtMost
            && c.stage.is_none()
            && c.tier.is_none()
            && m.starts_with("latency_")
            && crate::metrics::names::metric(m).is_some_and(|d| d.unit == crate::metrics::names::Unit::Seconds);
        let none_completed = (overall.iter())
            .find(|(k, _)| *k == "requests_completed")
            .is_some_and(|(_, e)| e.mean == 0.0 && e.ci95.is_none_or(|[_, hi]| hi == 0.0));
        if latency_ceiling && none_completed {
            r.verdict = Verdict::Refuted;
            r.outcome = Outcome::Fails;
            r.note = "no request completed in any replication (requests_completed 0), so none came in under the limit"
                .into();
            return r;
        }
        r.verdict = Verdict::Inconclusive;
        r.note = "the metric is undefined in this run (e.g. no completed requests)".into();
        return r;
    };
    r.value = Some(e.mean);
    r.ci95 = e.ci95;
    let (lo, hi) = e.ci95.map_or((e.mean, e.mean), |[a, b]| (a, b));
    let (holds_all, fails_all) = match c.bound {
        Bound::AtLeast => (lo >= c.limit, hi < c.limit),
        Bound::AtMost => (hi <= c.limit, lo > c.limit),
    };
    r.verdict = if holds_all {
        Verdict::Confirmed
    } else if fails_all {
        Verdict::Refuted
    } else {
        Verdict::Inconclusive
    };
    if e.ci95.is_none() {
        r.note = "one replication: judged on the value alone, without a confidence interval".into();
    } else if r.verdict == Verdict::Inconclusive {
        r.note = "the 95 % CI straddles the limit: more replications may decide it".into();
    }
    r.outcome = outcome_of(r.verdict);
    r
}

/// Verdicts on every claim of `sc`, with claims that contradict each other
/// or Little's law marked inconsistent.
pub fn judge_claims(
    sc: &Scenario,
    overall: &[(&'static str, Estimate)],
    tiers: &[Vec<(&'static str, Estimate)>],
    stages: &[(String, Vec<(&'static str, Estimate)>)],
) -> Vec<ClaimResult> {
    let mut out: Vec<ClaimResult> = sc
        .claims
        .iter()
        .map(|c| judge_claim(sc, c, overall, tiers, stages))
        .collect();
    for inc in crate::lint::littles::inconsistencies(sc) {
        for &i in &inc.claims {
            let r = &mut out[i];
            r.outcome = Outcome::Inconsistent;
            r.arithmetic = Some(match r.arithmetic.take() {
                Some(a) if sc.claims[i].littles_law.is_some() => a,
                Some(a) => format!("{a}; {}", inc.arithmetic),
                None => inc.arithmetic.clone(),
            });
        }
    }
    let claims: Vec<&crate::scenario::Claim> = sc.claims.iter().collect();
    let mut results: Vec<&mut ClaimResult> = out.iter_mut().collect();
    crate::claims::apply_consistency(&claims, &mut results);
    out
}
