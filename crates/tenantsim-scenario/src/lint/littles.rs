//! Little's law. Closed users `N` thinking `Z` with mean latency `R` send
//! `X = N / (Z + R)` requests per second; an open system with `L` requests
//! in flight has `L = X · R`. These rules compare what a scenario states —
//! its closed users, claims and SLOs — with that identity, and find claims
//! that cannot all be true.

use super::load::Context;
use super::{check, d, n, Check, Severity};
use crate::{Bound, Claim, LittlesLaw, Population, Scenario};

/// Throughput of the closed workloads `(N, Z, _)` at mean latency `r`.
fn closed_throughput(closed: &[(f64, f64, f64)], r: impl Fn(f64) -> f64) -> f64 {
    closed.iter().map(|(users, z, floor)| users / (z + r(*floor))).sum()
}

/// "100 users / (0 s + 11 ms)" for each closed workload.
fn closed_terms(closed: &[(f64, f64, f64)], r: impl Fn(f64) -> f64) -> String {
    closed
        .iter()
        .map(|(users, z, floor)| format!("{} users / ({} + {})", n(*users), d(*z), d(r(*floor))))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `littles-law`: for closed workloads, a stated throughput against the
/// most the users can send (at the demand floor: CPU + waits + uncached
/// queries, no queueing), and against what they send at a stated mean
/// latency target.
pub fn littles_law(cx: &Context, out: &mut Vec<Check>) {
    let closed = cx.closed();
    if closed.is_empty() {
        return;
    }
    let open: f64 = cx.rates.iter().flatten().map(|r| r.mean).sum();
    let open_text = if open > 0.0 {
        format!(" + {} req/s of open workloads", n(open))
    } else {
        String::new()
    };
    let throughputs = cx.stated("throughput_rps");
    let latencies: Vec<_> = cx
        .stated("latency_mean_s")
        .into_iter()
        .filter(|s| s.bound == Bound::AtMost)
        .collect();
    for x in throughputs.iter().filter(|s| s.bound == Bound::AtLeast) {
        let most = closed_throughput(&closed, |f| f) + open;
        let ok = most >= x.value;
        out.push(check(
            "littles-law",
            Severity::Error,
            vec![
                x.key.clone(),
                "workload.*.arrival.users".into(),
                "workload.*.arrival.think_time".into(),
            ],
            if ok {
                format!(
                    "the closed users can send up to {} req/s, enough for {} ({} req/s)",
                    n(most),
                    x.label,
                    n(x.value)
                )
            } else {
                format!(
                    "{} states {} req/s but the users can send at most {} req/s even with no queueing",
                    x.label,
                    n(x.value),
                    n(most)
                )
            },
            format!(
                "X ≤ N / (Z + demand floor) = {}{open_text} = {} req/s {} {}",
                closed_terms(&closed, |f| f),
                n(most),
                if ok { "≥" } else { "<" },
                n(x.value)
            ),
            ok,
        ));
        for r in &latencies {
            let at = closed_throughput(&closed, |_| r.value) + open;
            let ok = at >= x.value;
            // The mean latency the throughput needs (one closed workload:
            // R = N / X − Z; several: bisection on the decreasing X(R)).
            let needed = {
                let (mut lo, mut hi) = (0.0_f64, r.value.max(1.0) * 1e6);
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if closed_throughput(&closed, |_| mid) + open >= x.value {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                lo
            };
            out.push(check(
                "littles-law",
                Severity::Info,
                vec![x.key.clone(), r.key.clone(), "workload.*.arrival.users".into()],
                if ok {
                    format!(
                        "at the {} latency target of {} the users send {} req/s, meeting {}",
                        r.label,
                        d(r.value),
                        n(at),
                        x.label
                    )
                } else {
                    format!(
                        "{} ({} req/s) needs a mean latency of at most {}, stricter than the {} target of {}",
                        x.label,
                        n(x.value),
                        d(needed),
                        r.label,
                        d(r.value)
                    )
                },
                format!(
                    "at R = {}: X = {}{open_text} = {} req/s {} {}; R needed = {}",
                    d(r.value),
                    closed_terms(&closed, |_| r.value),
                    n(at),
                    if ok { "≥" } else { "<" },
                    n(x.value),
                    d(needed)
                ),
                ok,
            ));
        }
    }
}

/// The outcome of a `littles_law` claim: (consistent, arithmetic).
pub fn judge_littles_law(ll: &LittlesLaw) -> (bool, String) {
    let (x, r) = (ll.throughput, ll.latency);
    match ll.population {
        Population::Users { users, think } => {
            let implied = users / (think + r);
            let ratio = implied / x;
            let ok = ratio.max(1.0 / ratio) <= 1.0 + ll.tolerance;
            let r_implied = users / x - think;
            (
                ok,
                format!(
                    "N / (Z + R) = {} / ({} + {}) = {} req/s {} the stated {} req/s (×{}, tolerance {}); at {} req/s, {} users {} imply R = {}",
                    n(users),
                    d(think),
                    d(r),
                    n(implied),
                    if ok { "≈" } else { "≠" },
                    n(x),
                    n(ratio),
                    n(ll.tolerance),
                    n(x),
                    n(users),
                    if think > 0.0 { format!("thinking {}", d(think)) } else { "with no think time".into() },
                    if r_implied > 0.0 { d(r_implied) } else { "< 0 (impossible)".into() }
                ),
            )
        }
        Population::Concurrency(l) => {
            let implied = x * r;
            let ratio = implied / l;
            let ok = ratio.max(1.0 / ratio) <= 1.0 + ll.tolerance;
            (
                ok,
                format!(
                    "L = X · R = {} req/s × {} = {} in flight {} the stated {} (×{}, tolerance {}); {} in flight at {} need {} req/s",
                    n(x),
                    d(r),
                    n(implied),
                    if ok { "≈" } else { "≠" },
                    n(l),
                    n(ratio),
                    n(ll.tolerance),
                    n(l),
                    d(r),
                    n(l / r)
                ),
            )
        }
    }
}

/// A set of claims that cannot all hold, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Inconsistency {
    /// Indices into `Scenario::claims`.
    pub claims: Vec<usize>,
    pub arithmetic: String,
}

fn scope_eq(a: &Claim, b: &Claim) -> bool {
    a.tier == b.tier
}

/// Claims of a scenario that contradict each other (the same metric bounded
/// from both sides with no room between), Little's law among its closed
/// users and its throughput and mean-latency claims, or a `littles_law`
/// claim of their own.
pub fn inconsistencies(sc: &Scenario) -> Vec<Inconsistency> {
    let mut v = Vec::new();
    let cl = &sc.claims;
    for (i, a) in cl.iter().enumerate() {
        if let Some(ll) = &a.littles_law {
            let (ok, arithmetic) = judge_littles_law(ll);
            if !ok {
                v.push(Inconsistency {
                    claims: vec![i],
                    arithmetic,
                });
            }
        }
        let Some(m) = a.metric else { continue };
        for (j, b) in cl.iter().enumerate().skip(i + 1) {
            if b.metric != Some(m) || !scope_eq(a, b) || a.bound == b.bound {
                continue;
            }
            let (lo, hi) = if a.bound == Bound::AtLeast { (a, b) } else { (b, a) };
            if lo.limit > hi.limit {
                v.push(Inconsistency {
                    claims: vec![i, j],
                    arithmetic: format!(
                        "`{}` needs {m} ≥ {} and `{}` needs {m} ≤ {}: no value is both",
                        lo.id,
                        n(lo.limit),
                        hi.id,
                        n(hi.limit)
                    ),
                });
            }
        }
    }
    // Little's law on closed users, when every workload is closed.
    let cx = Context::new(sc);
    let closed = cx.closed();
    if closed.is_empty() || cx.rates.iter().any(|r| r.is_some()) {
        return v;
    }
    let pick = |metric: &str| -> Vec<usize> {
        (0..cl.len())
            .filter(|&i| cl[i].metric == Some(metric) && cl[i].tier.is_none())
            .collect()
    };
    let xs = pick("throughput_rps");
    let rs = pick("latency_mean_s");
    let x_at = |r: f64| closed_throughput(&closed, |_| r);
    for &i in &xs {
        let x = &cl[i];
        // X ≥ Xc with zero latency out of reach (only with think time).
        if x.bound == Bound::AtLeast && closed.iter().all(|c| c.1 > 0.0) && x_at(0.0) < x.limit {
            v.push(Inconsistency {
                claims: vec![i],
                arithmetic: format!(
                    "even at zero latency X = {} = {} req/s < the claimed {} req/s",
                    closed_terms(&closed, |_| 0.0),
                    n(x_at(0.0)),
                    n(x.limit)
                ),
            });
        }
        for &j in &rs {
            let r = &cl[j];
            let at = x_at(r.limit);
            let clash = match (x.bound, r.bound) {
                // Throughput at least Xc needs latency below N/Xc − Z.
                (Bound::AtLeast, Bound::AtLeast) => at < x.limit,
                // Latency at most Rc means throughput at least X(Rc).
                (Bound::AtMost, Bound::AtMost) => at > x.limit,
                _ => false,
            };
            if clash {
                v.push(Inconsistency {
                    claims: vec![i, j],
                    arithmetic: format!(
                        "Little's law: at R {} {}, X = {} = {} req/s, so `{}` (X {} {}) and `{}` cannot both hold",
                        if r.bound == Bound::AtMost { "≤" } else { "≥" },
                        d(r.limit),
                        closed_terms(&closed, |_| r.limit),
                        n(at),
                        x.id,
                        if x.bound == Bound::AtMost { "≤" } else { "≥" },
                        n(x.limit),
                        r.id
                    ),
                });
            }
        }
    }
    v
}

/// `claim-consistency`: the [`inconsistencies`] among the claims.
pub fn claim_consistency(cx: &Context, out: &mut Vec<Check>) {
    for inc in inconsistencies(cx.sc) {
        let ids: Vec<String> = inc
            .claims
            .iter()
            .map(|&i| format!("`{}`", cx.sc.claims[i].id))
            .collect();
        out.push(check(
            "claim-consistency",
            Severity::Error,
            inc.claims.iter().map(|i| format!("claim.{i}")).collect(),
            if ids.len() == 1 {
                format!("claim {} contradicts Little's law", ids[0])
            } else {
                format!("claims {} contradict each other", ids.join(" and "))
            },
            inc.arithmetic,
            false,
        ));
    }
}
