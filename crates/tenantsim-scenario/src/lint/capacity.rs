//! Rules on offered load against capacity: instance CPU with and without
//! an autoscaler, database cores, and stated throughputs against both.

use super::load::Context;
use super::{check, d, n, pct, Check, Severity};
use crate::Bound;

fn open_keys(cx: &Context, g: usize) -> Vec<String> {
    let mut keys: Vec<String> = cx
        .sc
        .workloads
        .iter()
        .enumerate()
        .filter(|(i, w)| cx.tier_group[w.tier] == g && cx.rates[*i].is_some())
        .map(|(i, _)| format!("workload.{i}.arrival"))
        .collect();
    keys.push("endpoint.*.cpu".into());
    keys
}

/// `utilization`: with no autoscaler, open workloads' mean CPU load per
/// group against its instances' cores (error at ≥ 1; a warning when only
/// the peak reaches 1).
pub fn utilization(cx: &Context, out: &mut Vec<Check>) {
    if cx.autoscaled() {
        return;
    }
    for (g, group) in cx.groups.iter().enumerate() {
        let (mean, peak) = cx.cpu_load(g);
        if peak <= 0.0 {
            continue;
        }
        let cap = group.initial as f64 * cx.usable_cores;
        let (um, up) = (mean / cap.max(1e-12), peak / cap.max(1e-12));
        let mut keys = open_keys(cx, g);
        keys.push("instance.initial".into());
        keys.push("instance.cores".into());
        let arithmetic = format!(
            "{} cores of CPU demand (rates × mix × mean CPU{}) / ({} instance(s) × {}) = {}{}",
            n(mean),
            if cx.rates.iter().flatten().any(|r| r.limited) {
                ", after rate limits"
            } else {
                ""
            },
            group.initial,
            cx.cores_text(),
            n(um),
            if (up - um).abs() > 1e-9 {
                format!(", {} at peak", n(up))
            } else {
                String::new()
            }
        );
        let (severity, passed, message) = if um >= 1.0 {
            (
                Severity::Error,
                false,
                format!(
                    "offered CPU load exceeds the {}'s capacity with no autoscaler: utilization {} — queues grow without bound{}",
                    group.name,
                    n(um),
                    if cx.sc.instance.queue_capacity == u32::MAX {
                        ""
                    } else {
                        " until queue_capacity rejects"
                    }
                ),
            )
        } else if up >= 1.0 {
            (
                Severity::Warning,
                false,
                format!(
                    "at peak the offered CPU load exceeds the {}'s capacity (utilization {}) with no autoscaler: queues build during the peak",
                    group.name,
                    n(up)
                ),
            )
        } else {
            (
                Severity::Error,
                true,
                format!("the {} runs at utilization {} on average", group.name, n(um)),
            )
        };
        out.push(check("utilization", severity, keys, message, arithmetic, passed));
    }
}

/// `db-utilization`: open workloads' database work against the database's
/// cores, once with every cacheable read answered by a cache and once with
/// none; between the two, the cache hit ratio decides.
pub fn db_utilization(cx: &Context, out: &mut Vec<Check>) {
    let sc = cx.sc;
    let Some(db) = &sc.database else { return };
    let (mut lo, mut cacheable, mut lo_peak, mut cacheable_peak) = (0.0, 0.0, 0.0, 0.0);
    for (i, r) in cx.rates.iter().enumerate() {
        if let Some(r) = r {
            lo += r.mean * cx.demand[i].db_uncached;
            cacheable += r.mean * cx.demand[i].db_cacheable;
            lo_peak += r.peak * cx.demand[i].db_uncached;
            cacheable_peak += r.peak * cx.demand[i].db_cacheable;
        }
    }
    if lo + cacheable <= 0.0 {
        return;
    }
    let cores = db.cores as f64;
    let keys = vec![
        "endpoint.*.db_queries".into(),
        "endpoint.*.query".into(),
        "database.cores".into(),
    ];
    let (peak, lo_u, hi_u) = if lo_peak + cacheable_peak > lo + cacheable + 1e-12 {
        (true, lo_peak / cores, (lo_peak + cacheable_peak) / cores)
    } else {
        (false, lo / cores, (lo + cacheable) / cores)
    };
    let when = if peak { "at peak" } else { "on average" };
    let (l, c) = if peak {
        (lo_peak, cacheable_peak)
    } else {
        (lo, cacheable)
    };
    let arithmetic = format!(
        "{} cores of uncached query work{} / {} database cores = {}; with no cache hits ({} more) {}",
        n(l),
        if c > 0.0 { " (every cacheable read a hit)" } else { "" },
        db.cores,
        n(lo_u),
        n(c),
        n(hi_u)
    );
    if lo_u >= 1.0 {
        out.push(check(
            "db-utilization",
            // Overloaded on average: certain; only at peak: queues build then.
            if peak && lo / cores < 1.0 {
                Severity::Warning
            } else {
                Severity::Error
            },
            keys,
            format!(
                "the database is overloaded {when} even if every cacheable read hits a cache: utilization {}",
                n(lo_u)
            ),
            arithmetic,
            false,
        ));
    } else if hi_u >= 1.0 {
        let need = 1.0 - (cores - l) / c;
        out.push(check(
            "db-utilization",
            Severity::Info,
            keys,
            format!(
                "the database stays below 100 % {when} only if caches answer at least {} of cacheable reads' queries",
                pct(need)
            ),
            format!(
                "{arithmetic}; hit ratio needed = 1 − ({} − {}) / {} = {}",
                db.cores,
                n(l),
                n(c),
                n(need)
            ),
            false,
        ));
    } else {
        out.push(check(
            "db-utilization",
            Severity::Error,
            keys,
            format!("the database runs below {} {when} even with no cache hits", pct(hi_u)),
            arithmetic,
            true,
        ));
    }
}

/// `autoscaler-capacity`: the peak open load per group against the
/// autoscaler's max × usable cores (error at ≥ 1), and against its CPU
/// target (a warning when the target needs more than max).
pub fn autoscaler_capacity(cx: &Context, out: &mut Vec<Check>) {
    let Some(a) = cx.sc.autoscaler.as_ref().filter(|_| cx.autoscaled()) else {
        return;
    };
    for (g, group) in cx.groups.iter().enumerate() {
        let (_, peak) = cx.cpu_load(g);
        if peak <= 0.0 {
            continue;
        }
        let cap = a.max as f64 * cx.usable_cores;
        let u = peak / cap.max(1e-12);
        let mut keys = open_keys(cx, g);
        keys.push("autoscaler.max".into());
        keys.push("instance.cores".into());
        let base = format!(
            "peak {} cores of CPU demand / (autoscaler.max {} × {}) = {}",
            n(peak),
            a.max,
            cx.cores_text(),
            n(u)
        );
        if u >= 1.0 {
            let need = (peak / cx.usable_cores.max(1e-12)).floor() + 1.0;
            out.push(check(
                "autoscaler-capacity",
                Severity::Error,
                keys,
                format!(
                    "the peak load exceeds the {} even at the autoscaler's max of {}: it needs more than {} instances",
                    group.name,
                    a.max,
                    n(need - 1.0)
                ),
                base,
                false,
            ));
            continue;
        }
        match cx.cpu_target() {
            Some(t) if t > 0.0 => {
                let need = (peak / (cx.usable_cores * t)).ceil();
                let ok = need <= a.max as f64;
                out.push(check(
                    "autoscaler-capacity",
                    Severity::Warning,
                    keys,
                    if ok {
                        format!(
                            "at the peak the {} needs {} instance(s) at the autoscaler's CPU target of {}, within its max of {}",
                            group.name,
                            n(need),
                            pct(t),
                            a.max
                        )
                    } else {
                        format!(
                            "at the peak the {} needs {} instances to stay at the autoscaler's CPU target of {} but max is {}: it sits at max with CPU at {}",
                            group.name,
                            n(need),
                            pct(t),
                            a.max,
                            pct(u)
                        )
                    },
                    format!(
                        "{base}; ⌈{} / ({} × {})⌉ = {} {} {}",
                        n(peak),
                        n(cx.usable_cores),
                        n(t),
                        n(need),
                        if ok { "≤" } else { ">" },
                        a.max
                    ),
                    ok,
                ));
            }
            _ => out.push(check(
                "autoscaler-capacity",
                Severity::Error,
                keys,
                format!("the {}'s peak load fits the autoscaler's max", group.name),
                base,
                true,
            )),
        }
    }
}

/// `throughput-capacity`: a stated throughput (claim or SLO, at least)
/// against what the instances can serve at most (all groups at their most
/// instances, usable cores / mean CPU per request) and what the database
/// can (its cores / uncached query work per request).
pub fn throughput_capacity(cx: &Context, out: &mut Vec<Check>) {
    let stated: Vec<_> = cx
        .stated("throughput_rps")
        .into_iter()
        .filter(|s| s.bound == Bound::AtLeast)
        .collect();
    if stated.is_empty() {
        return;
    }
    let m = cx.mean_demand();
    let instances: u32 = cx.groups.iter().map(|g| g.most).sum();
    let x_cpu = if m.cpu > 0.0 {
        instances as f64 * cx.usable_cores / m.cpu
    } else {
        f64::INFINITY
    };
    let x_db = match &cx.sc.database {
        Some(db) if m.db_uncached > 0.0 => db.cores as f64 / m.db_uncached,
        _ => f64::INFINITY,
    };
    for s in stated {
        let mut keys = vec![s.key.clone(), "instance.cores".into(), "endpoint.*.cpu".into()];
        keys.push(if cx.autoscaled() {
            "autoscaler.max".into()
        } else {
            "instance.initial".into()
        });
        let need = (s.value * m.cpu / cx.usable_cores.max(1e-12)).ceil();
        let mut arithmetic = format!(
            "{} instance(s){} × {} / {} CPU per request = {} req/s",
            instances,
            if cx.autoscaled() {
                " at the autoscaler's max"
            } else {
                ""
            },
            cx.cores_text(),
            d(m.cpu),
            n(x_cpu)
        );
        if x_db.is_finite() {
            keys.push("database.cores".into());
            arithmetic.push_str(&format!(
                "; database {} cores / {} uncached query work per request = {} req/s",
                cx.sc.database.as_ref().map_or(0, |d| d.cores),
                d(m.db_uncached),
                n(x_db)
            ));
        }
        arithmetic.push_str(&format!(
            "; {} req/s needs ≥ {} instance(s) of CPU",
            n(s.value),
            n(need)
        ));
        let bound = x_cpu.min(x_db);
        let ok = s.value <= bound;
        out.push(check(
            "throughput-capacity",
            Severity::Error,
            keys,
            if ok {
                format!(
                    "{} ({} req/s) is within what the deployment can serve ({} req/s at most)",
                    s.label,
                    n(s.value),
                    n(bound)
                )
            } else {
                format!(
                    "{} states {} req/s but the {} can serve at most {} req/s",
                    s.label,
                    n(s.value),
                    if x_db < x_cpu { "database" } else { "instances" },
                    n(bound)
                )
            },
            arithmetic,
            ok,
        ));
    }
}
