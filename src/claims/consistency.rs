//! The consistency pass: every quantity the claims of one report state
//! (`states` on a `[[claim]]`, [`Statement`]), checked against each other
//! before anything is simulated. A group of statements that cannot all be
//! true makes each of its claims **inconsistent**, with the claims, their
//! source lines and the arithmetic.
//!
//! Statements are compared within their `group` (a load test, a "before"
//! column). The checks, each a [`Kind`]:
//! - **stated twice**: the same quantity and statistic with intervals that
//!   do not overlap (a target against a measured figure, an alert threshold
//!   below the footprint the report measured, two different numbers);
//! - **units**: such a clash that disappears when a stated `%` figure is
//!   read as a fraction (or a stated plain number as a percentage), or two statements of
//!   one quantity in different units (a duration against a number);
//! - **percentiles**: a mean against a percentile for the distribution the
//!   scenario gives the quantity (`distribution`; without one, only what
//!   holds for every distribution: Markov's p_q ≤ mean / (1 − q)), and
//!   percentiles out of order (p50 above p99, anything above `max`);
//! - **Little's law**: `users` (or `concurrency`) against `throughput`,
//!   mean `latency` and `think_time`: N = X · (R + Z), L = X · R;
//! - **utilization law**: `utilization` · `cores` = `throughput` · `service_time`;
//! - **capacity**: `pool_connections` × `pools` (or `instances_max`) ≤
//!   `max_connections`; a `tenant_memory` quota ≤ `instance_memory`;
//!   `sessions` ≤ `sessions_per_instance` × `instances_max`; an autoscaler's
//!   `instances_max` ≤ a fixed list of `backends`;
//! - **timeout order**: `timeout.LAYER` nested outermost first (client,
//!   gateway, proxy, request, backend, then pool, query and connect side by
//!   side), each inner one shorter than every one around it;
//! - **change arithmetic**: a `before` figure, the `value` after and the
//!   stated `change` ("85% faster", "10x"): some reading of the change
//!   (relative decrease or increase, ratio, percentage points) must give
//!   the stated figure within its rounding (half a unit of its last digit,
//!   plus 5 % for the rounded before and after figures).
//!
//! Stated values are intervals widened by their `tolerance` (5 % by
//! default, rounded figures); bounds are taken as written. The pass reads
//! only the statements, never a simulation, so it is a pure function of
//! them and gives its checks in a fixed order.

use crate::scenario::statement::{Shape, StatedUnit, Statement};
use std::fmt::Write as _;

/// The kind of contradiction (or agreement) a check looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    StatedTwice,
    Units,
    Percentiles,
    LittlesLaw,
    UtilizationLaw,
    Capacity,
    TimeoutOrder,
    Change,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StatedTwice => "the same quantity stated twice",
            Kind::Units => "units",
            Kind::Percentiles => "mean against percentile",
            Kind::LittlesLaw => "Little's law",
            Kind::UtilizationLaw => "utilization law",
            Kind::Capacity => "capacity arithmetic",
            Kind::TimeoutOrder => "timeout order",
            Kind::Change => "change arithmetic",
        }
    }
}

/// A claim as the pass sees it: who states what.
#[derive(Debug, Clone)]
pub struct Stated<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub states: &'a [Statement],
}

/// One check among statements: the claims (indices into the input), the
/// arithmetic, and whether they can hold together.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub kind: Kind,
    pub claims: Vec<usize>,
    pub arithmetic: String,
    pub ok: bool,
}

/// Every check the statements allow, passed or not, in a fixed order.
pub fn check(claims: &[Stated]) -> Vec<Check> {
    let all: Vec<Entry> = claims
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.states.iter().map(move |s| Entry { claim: i, c, s }))
        .collect();
    let mut out = Vec::new();
    for e in &all {
        change(e, &mut out);
    }
    let mut groups: Vec<&str> = all.iter().map(|e| e.s.group.as_str()).collect();
    groups.sort();
    groups.dedup();
    for g in groups {
        let es: Vec<&Entry> = all.iter().filter(|e| e.s.group == g).collect();
        same_quantity(&es, &mut out);
        percentiles(&es, &mut out);
        littles_law(&es, &mut out);
        utilization_law(&es, &mut out);
        capacity(&es, &mut out);
        timeouts(&es, &mut out);
    }
    out
}

struct Entry<'a> {
    claim: usize,
    c: &'a Stated<'a>,
    s: &'a Statement,
}

impl Entry<'_> {
    /// "`db-p95` (002 L347): db_query_time p95 ≤ 100ms".
    fn who(&self) -> String {
        let src = if self.c.source.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.c.source)
        };
        format!("`{}`{src}: {} {}", self.c.id, self.s.quantity, self.s.describe())
    }
}

fn num(x: f64) -> String {
    if !x.is_finite() {
        return "∞".into();
    }
    if (x - x.round()).abs() < 1e-9 && x.abs() < 1e15 {
        return format!("{}", x.round() as i64);
    }
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A canonical value in the unit it was written in.
fn show(x: f64, unit: StatedUnit) -> String {
    match unit {
        StatedUnit::Number => num(x),
        StatedUnit::Percent => format!("{}%", num(x * 100.0)),
        StatedUnit::Megabytes => format!("{} MB", num(x)),
        StatedUnit::Duration if !x.is_finite() => "∞".into(),
        StatedUnit::Duration if x == 0.0 => "0 s".into(),
        StatedUnit::Duration if x < 1e-3 => format!("{} µs", num(x * 1e6)),
        StatedUnit::Duration if x < 1.0 => format!("{} ms", num(x * 1e3)),
        StatedUnit::Duration => format!("{} s", num(x)),
    }
}

fn show_iv((lo, hi): (f64, f64), unit: StatedUnit) -> String {
    if hi.is_finite() && (hi - lo).abs() <= 1e-12 * hi.abs().max(1.0) {
        show(lo, unit)
    } else if hi.is_infinite() {
        format!("≥ {}", show(lo, unit))
    } else if lo == 0.0 {
        format!("≤ {}", show(hi, unit))
    } else {
        format!("[{}, {}]", show(lo, unit), show(hi, unit))
    }
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.1 * (1.0 + 1e-12) && b.0 <= a.1 * (1.0 + 1e-12)
}

fn push(out: &mut Vec<Check>, kind: Kind, claims: Vec<usize>, arithmetic: String, ok: bool) {
    let mut claims = claims;
    claims.sort_unstable();
    claims.dedup();
    out.push(Check {
        kind,
        claims,
        arithmetic,
        ok,
    });
}

/// `before`, `value` and `change`.
fn change(e: &Entry, out: &mut Vec<Check>) {
    let (Some(b), Some(ch), Some(a)) = (&e.s.before, &e.s.change, &e.s.lo) else {
        return;
    };
    let (bv, av) = (b.value, a.value);
    if bv <= 0.0 || av <= 0.0 {
        return;
    }
    let slack = ch.rounding + 0.05 * ch.amount;
    let mut readings: Vec<(f64, String)> = Vec::new();
    if ch.times {
        let r = bv.max(av) / bv.min(av);
        readings.push((
            r,
            format!(
                "{} / {} = ×{}",
                show(bv.max(av), a.unit),
                show(bv.min(av), a.unit),
                num(r)
            ),
        ));
    } else {
        let rel = (av - bv).abs() / bv * 100.0;
        readings.push((
            rel,
            format!(
                "|{} − {}| / {} = {}%",
                show(av, a.unit),
                show(bv, b.unit),
                show(bv, b.unit),
                num(rel)
            ),
        ));
        let ratio = (bv.max(av) / bv.min(av) - 1.0) * 100.0;
        readings.push((
            ratio,
            format!(
                "{} / {} − 1 = {}%",
                show(bv.max(av), a.unit),
                show(bv.min(av), a.unit),
                num(ratio)
            ),
        ));
        if a.unit == StatedUnit::Percent && b.unit == StatedUnit::Percent {
            let pts = (av - bv).abs() * 100.0;
            readings.push((pts, format!("{} points", num(pts))));
        }
    }
    let hit = readings.iter().find(|(x, _)| (x - ch.amount).abs() <= slack);
    let arithmetic = match hit {
        Some((_, how)) => format!(
            "{}: from {} to {} is {how}, as stated (\"{}\")",
            e.who(),
            b.text,
            a.text,
            ch.text
        ),
        None => format!(
            "{}: from {} to {} is {}, not the stated \"{}\" (±{}{})",
            e.who(),
            b.text,
            a.text,
            readings
                .iter()
                .map(|(_, h)| h.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
            ch.text,
            num(slack),
            if ch.times { "" } else { " points" }
        ),
    };
    push(out, Kind::Change, vec![e.claim], arithmetic, hit.is_some());
}

/// Pairs of statements of the same quantity and statistic.
fn same_quantity(es: &[&Entry], out: &mut Vec<Check>) {
    for (i, a) in es.iter().enumerate() {
        for b in es.iter().skip(i + 1) {
            if a.s.quantity != b.s.quantity || a.s.stat != b.s.stat || a.claim == b.claim {
                continue;
            }
            let (ua, ub) = (a.s.unit(), b.s.unit());
            if ua.family() != ub.family() {
                push(
                    out,
                    Kind::Units,
                    vec![a.claim, b.claim],
                    format!(
                        "{} and {}: one quantity in two units ({:?} against {:?}), so at most one of them is what it says",
                        a.who(),
                        b.who(),
                        ua,
                        ub
                    ),
                    false,
                );
                continue;
            }
            let (ia, ib) = (a.s.interval(), b.s.interval());
            if overlap(ia, ib) {
                push(
                    out,
                    Kind::StatedTwice,
                    vec![a.claim, b.claim],
                    format!(
                        "{} and {} overlap ({} and {})",
                        a.who(),
                        b.who(),
                        show_iv(ia, ua),
                        show_iv(ib, ub)
                    ),
                    true,
                );
                continue;
            }
            // Would the clash go away with the % sign read differently?
            let scaled = |iv: (f64, f64), k: f64| (iv.0 * k, iv.1 * k);
            let units = match (ua, ub) {
                (StatedUnit::Percent, StatedUnit::Number) if a.s.exact && overlap(scaled(ia, 100.0), ib) => {
                    Some(format!(
                        "read without the % sign, {} is {}: a fraction written as a percentage",
                        a.who(),
                        show_iv(scaled(ia, 100.0), StatedUnit::Number)
                    ))
                }
                (StatedUnit::Number, StatedUnit::Percent) if b.s.exact && overlap(ia, scaled(ib, 100.0)) => {
                    Some(format!(
                        "read without the % sign, {} is {}: a fraction written as a percentage",
                        b.who(),
                        show_iv(scaled(ib, 100.0), StatedUnit::Number)
                    ))
                }
                (StatedUnit::Number, StatedUnit::Percent) if a.s.exact && overlap(scaled(ia, 0.01), ib) => {
                    Some(format!(
                        "{} fits only as {}: a percentage written as a fraction",
                        a.who(),
                        show_iv(scaled(ia, 0.01), StatedUnit::Percent)
                    ))
                }
                (StatedUnit::Percent, StatedUnit::Number) if b.s.exact && overlap(ia, scaled(ib, 0.01)) => {
                    Some(format!(
                        "{} fits only as {}: a percentage written as a fraction",
                        b.who(),
                        show_iv(scaled(ib, 0.01), StatedUnit::Percent)
                    ))
                }
                (StatedUnit::Percent, StatedUnit::Percent) if a.s.exact && overlap(scaled(ia, 100.0), ib) => {
                    Some(format!(
                        "{} fits only as {}: a fraction with a % sign",
                        a.who(),
                        show_iv(scaled(ia, 100.0), StatedUnit::Percent)
                    ))
                }
                (StatedUnit::Percent, StatedUnit::Percent) if b.s.exact && overlap(ia, scaled(ib, 100.0)) => {
                    Some(format!(
                        "{} fits only as {}: a fraction with a % sign",
                        b.who(),
                        show_iv(scaled(ib, 100.0), StatedUnit::Percent)
                    ))
                }
                _ => None,
            };
            let clash = format!(
                "{} allows {} and {} allows {}: no value is both",
                a.who(),
                show_iv(ia, ua),
                b.who(),
                show_iv(ib, ub)
            );
            match units {
                Some(u) => push(out, Kind::Units, vec![a.claim, b.claim], format!("{clash}; {u}"), false),
                None => push(out, Kind::StatedTwice, vec![a.claim, b.claim], clash, false),
            }
        }
    }
}

/// The q-quantile (0 < q < 1) of a distribution of the shape's family and
/// cv with mean 1.
fn quantile_over_mean(sh: &Shape, q: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Gamma, LogNormal};
    match sh.family {
        "deterministic" => 1.0,
        "exponential" => -(1.0 - q).ln(),
        "lognormal" => {
            let s2 = (1.0 + sh.cv * sh.cv).ln();
            LogNormal::new(-s2 / 2.0, s2.sqrt()).map_or(f64::NAN, |d| d.inverse_cdf(q))
        }
        "gamma" => {
            let k = 1.0 / (sh.cv * sh.cv);
            Gamma::new(k, k).map_or(f64::NAN, |d| d.inverse_cdf(q))
        }
        // uniform on [1 − √3·cv, 1 + √3·cv]
        _ => 1.0 + 3f64.sqrt() * sh.cv * (2.0 * q - 1.0),
    }
}

/// Where a statistic sits: (order for the distribution-free checks, quantile).
fn rank(s: &Statement) -> Option<(f64, Option<f64>)> {
    match s.stat.as_str() {
        "min" => Some((0.0, None)),
        "max" => Some((100.0, None)),
        _ => s.quantile().map(|q| (q * 100.0, Some(q))),
    }
}

/// Mean against percentiles, and percentiles in order.
fn percentiles(es: &[&Entry], out: &mut Vec<Check>) {
    for (i, a) in es.iter().enumerate() {
        for b in es.iter().skip(i + 1) {
            if a.s.quantity != b.s.quantity || a.s.stat == b.s.stat || a.claim == b.claim {
                continue;
            }
            if a.s.unit().family() != b.s.unit().family() {
                continue;
            }
            let unit = a.s.unit();
            let (ia, ib) = (a.s.interval(), b.s.interval());
            match (a.s.stat.as_str(), b.s.stat.as_str()) {
                ("mean", _) | (_, "mean") => {
                    let (m, p) = if a.s.stat == "mean" { (a, b) } else { (b, a) };
                    let (im, ip) = (m.s.interval(), p.s.interval());
                    let Some(q) = p.s.quantile() else {
                        // mean against min/max: min ≤ mean ≤ max.
                        let ok = match p.s.stat.as_str() {
                            "max" => im.0 <= ip.1,
                            "min" => ip.0 <= im.1,
                            _ => continue,
                        };
                        push(
                            out,
                            Kind::Percentiles,
                            vec![m.claim, p.claim],
                            format!(
                                "{} and {}: {} mean {} {} {}",
                                m.who(),
                                p.who(),
                                if ok { "the" } else { "no" },
                                show_iv(im, unit),
                                if p.s.stat == "max" { "≤ max" } else { "≥ min" },
                                show_iv(ip, unit)
                            ),
                            ok,
                        );
                        continue;
                    };
                    let shape = p.s.shape.as_ref().or(m.s.shape.as_ref());
                    match shape {
                        Some(sh) => {
                            let k = quantile_over_mean(sh, q);
                            let implied = (im.0 * k, im.1 * k);
                            let ok = overlap(implied, ip);
                            push(
                                out,
                                Kind::Percentiles,
                                vec![m.claim, p.claim],
                                format!(
                                    "{} and {}: for the scenario's {} distribution at `{}` (cv {}) {} = {} × mean, so a mean of {} gives {} {}, {} the stated {}",
                                    m.who(),
                                    p.who(),
                                    sh.family,
                                    sh.key,
                                    num(sh.cv),
                                    p.s.stat,
                                    num(k),
                                    show_iv(im, unit),
                                    p.s.stat,
                                    show_iv(implied, unit),
                                    if ok { "meeting" } else { "outside" },
                                    show_iv(ip, unit)
                                ),
                                ok,
                            );
                        }
                        None => {
                            // Markov: P(X ≥ t) ≤ mean / t, so p_q ≤ mean / (1 − q).
                            let most = im.1 / (1.0 - q);
                            let ok = ip.0 <= most * (1.0 + 1e-12);
                            push(
                                out,
                                Kind::Percentiles,
                                vec![m.claim, p.claim],
                                format!(
                                    "{} and {}: for any distribution {} ≤ mean / (1 − {}) = {} / {} = {}, {} the stated {} (no `distribution` named: only this bound is checked)",
                                    m.who(),
                                    p.who(),
                                    p.s.stat,
                                    num(q),
                                    show(im.1, unit),
                                    num(1.0 - q),
                                    show(most, unit),
                                    if ok { "consistent with" } else { "below" },
                                    show_iv(ip, unit)
                                ),
                                ok,
                            );
                        }
                    }
                }
                _ => {
                    let (Some((ra, _)), Some((rb, _))) = (rank(a.s), rank(b.s)) else {
                        continue;
                    };
                    let (low, high, il, ih) = if ra < rb { (a, b, ia, ib) } else { (b, a, ib, ia) };
                    let ok = il.0 <= ih.1 * (1.0 + 1e-12);
                    push(
                        out,
                        Kind::Percentiles,
                        vec![a.claim, b.claim],
                        format!(
                            "{} and {}: {} ≥ {} for every distribution{} {} {} and {} {}",
                            low.who(),
                            high.who(),
                            high.s.stat,
                            low.s.stat,
                            if ok { ", and" } else { ", but" },
                            low.s.stat,
                            show_iv(il, unit),
                            high.s.stat,
                            show_iv(ih, unit)
                        ),
                        ok,
                    );
                }
            }
        }
    }
}

/// A quantity's combined interval, the claims that state it, who said
/// what, and its unit.
type Combined = ((f64, f64), Vec<usize>, String, StatedUnit);

/// The intersection of every statement of `quantity` (any statistic but
/// percentiles), with its claims, its unit, and who said it. Measured
/// figures are widened by their rounding tolerance.
fn combined<'a>(es: &[&'a Entry<'a>], quantity: &str, unit: u8) -> Option<Combined> {
    combined_as(es, quantity, unit, false)
}

/// [`combined`] for configured values, which are exact (no rounding).
fn configured<'a>(es: &[&'a Entry<'a>], quantity: &str, unit: u8) -> Option<Combined> {
    combined_as(es, quantity, unit, true)
}

fn combined_as<'a>(es: &[&'a Entry<'a>], quantity: &str, unit: u8, exact: bool) -> Option<Combined> {
    let mut iv = (0.0_f64, f64::INFINITY);
    let mut claims = Vec::new();
    let mut who = Vec::new();
    let mut u = None;
    for e in es {
        let stat_ok = matches!(e.s.stat.as_str(), "" | "mean");
        if e.s.quantity != quantity || !stat_ok || e.s.unit().family() != unit {
            continue;
        }
        let (lo, hi) = if exact {
            (
                e.s.lo.as_ref().map_or(0.0, |f| f.value),
                e.s.hi.as_ref().map_or(f64::INFINITY, |f| f.value),
            )
        } else {
            e.s.interval()
        };
        iv = (iv.0.max(lo), iv.1.min(hi));
        claims.push(e.claim);
        who.push(e.who());
        u = Some(e.s.unit());
    }
    let u = u?;
    (iv.0 <= iv.1).then(|| (iv, claims, who.join("; "), u))
}

const NUMBER: u8 = 0;
const DURATION: u8 = 1;
const MEGABYTES: u8 = 2;

fn mul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let hi = if a.1.is_infinite() || b.1.is_infinite() {
        if a.1 == 0.0 || b.1 == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        a.1 * b.1
    };
    (a.0 * b.0, hi)
}

fn add(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 + b.0, a.1 + b.1)
}

/// N = X · (R + Z) (closed users) and L = X · R (in flight).
fn littles_law(es: &[&Entry], out: &mut Vec<Check>) {
    let Some((x, xc, xw, _)) = combined(es, "throughput", NUMBER) else {
        return;
    };
    let Some((r, rc, rw, _)) = combined(es, "latency", DURATION) else {
        return;
    };
    for (pop, law) in [("users", true), ("concurrency", false)] {
        let Some((nn, nc, nw, _)) = combined(es, pop, NUMBER) else {
            continue;
        };
        let (z, zc, zw) = match combined(es, "think_time", DURATION) {
            Some((z, zc, zw, _)) if law => (z, zc, format!("; {zw}")),
            _ if law => (
                (0.0, f64::INFINITY),
                vec![],
                "; think time not stated (any Z ≥ 0)".into(),
            ),
            _ => ((0.0, 0.0), vec![], String::new()),
        };
        let implied = mul(x, add(r, z));
        let ok = overlap(implied, nn);
        let formula = if law { "N = X · (R + Z)" } else { "L = X · R" };
        let mut claims = [xc.clone(), rc.clone(), nc, zc].concat();
        claims.sort_unstable();
        push(
            out,
            Kind::LittlesLaw,
            claims,
            format!(
                "{formula}: {xw}; {rw}; {nw}{zw} — X · ({}) = {} × {} = {}, {} the stated {} {}",
                if law { "R + Z" } else { "R" },
                show_iv(x, StatedUnit::Number),
                show_iv(add(r, z), StatedUnit::Duration),
                show_iv(implied, StatedUnit::Number),
                if ok { "meeting" } else { "disjoint from" },
                show_iv(nn, StatedUnit::Number),
                pop
            ),
            ok,
        );
    }
}

/// U · c = X · S.
fn utilization_law(es: &[&Entry], out: &mut Vec<Check>) {
    let (Some((u, uc, uw, _)), Some((x, xc, xw, _)), Some((s, sc, sw, _)), Some((c, cc, cw, _))) = (
        combined(es, "utilization", NUMBER),
        combined(es, "throughput", NUMBER),
        combined(es, "service_time", DURATION),
        combined(es, "cores", NUMBER),
    ) else {
        return;
    };
    let busy = mul(x, s);
    let have = mul(u, c);
    let ok = overlap(busy, have);
    push(
        out,
        Kind::UtilizationLaw,
        [uc, xc, sc, cc].concat(),
        format!(
            "U · c = X · S: {uw}; {xw}; {sw}; {cw} — X · S = {} × {} = {} busy cores, U · c = {} × {} = {}: {}",
            show_iv(x, StatedUnit::Number),
            show_iv(s, StatedUnit::Duration),
            show_iv(busy, StatedUnit::Number),
            show_iv(u, StatedUnit::Number),
            show_iv(c, StatedUnit::Number),
            show_iv(have, StatedUnit::Number),
            if ok {
                "they meet"
            } else {
                "no utilization in the stated range does that work on those cores"
            }
        ),
        ok,
    );
}

/// Connection, memory, session and backend budgets.
fn capacity(es: &[&Entry], out: &mut Vec<Check>) {
    // pool_connections × pools (or instances_max) ≤ max_connections.
    if let (Some((p, pc, pw, _)), Some((m, mc, mw, _))) = (
        configured(es, "pool_connections", NUMBER),
        configured(es, "max_connections", NUMBER),
    ) {
        let pools = configured(es, "pools", NUMBER).or_else(|| configured(es, "instances_max", NUMBER));
        if let Some((k, kc, kw, _)) = pools {
            let need = mul(p, k).0;
            let ok = need <= m.1 * (1.0 + 1e-12);
            push(
                out,
                Kind::Capacity,
                [pc, kc, mc].concat(),
                format!(
                    "{pw}; {kw}; {mw} — the pools can open {} × {} = {} connections, {} max_connections {}",
                    show(p.0, StatedUnit::Number),
                    show(k.0, StatedUnit::Number),
                    num(need),
                    if ok { "within" } else { "more than" },
                    show(m.1, StatedUnit::Number)
                ),
                ok,
            );
        }
    }
    // One tenant's memory quota must fit an instance.
    if let (Some((t, tc, tw, _)), Some((i, ic, iw, _))) = (
        configured(es, "tenant_memory", MEGABYTES),
        configured(es, "instance_memory", MEGABYTES),
    ) {
        let ok = t.0 <= i.1 * (1.0 + 1e-12);
        push(
            out,
            Kind::Capacity,
            [tc, ic].concat(),
            format!(
                "{tw}; {iw} — a tenant quota of {} {} an instance of {}",
                show(t.0, StatedUnit::Megabytes),
                if ok { "fits" } else { "cannot fit" },
                show(i.1, StatedUnit::Megabytes)
            ),
            ok,
        );
    }
    // sessions ≤ sessions_per_instance × instances_max.
    if let (Some((s, sc, sw, _)), Some((p, pc, pw, _)), Some((k, kc, kw, _))) = (
        configured(es, "sessions", NUMBER),
        configured(es, "sessions_per_instance", NUMBER),
        configured(es, "instances_max", NUMBER),
    ) {
        let most = mul(p, k).1;
        let ok = s.0 <= most * (1.0 + 1e-12);
        push(
            out,
            Kind::Capacity,
            [sc, pc, kc].concat(),
            format!(
                "{sw}; {pw}; {kw} — at most {} × {} = {} sessions, {} the {} stated",
                show(p.1, StatedUnit::Number),
                show(k.1, StatedUnit::Number),
                num(most),
                if ok { "enough for" } else { "fewer than" },
                show(s.0, StatedUnit::Number)
            ),
            ok,
        );
    }
    // An autoscaler's maximum against a fixed list of backends.
    if let (Some((k, kc, kw, _)), Some((b, bc, bw, _))) = (
        configured(es, "instances_max", NUMBER),
        configured(es, "backends", NUMBER),
    ) {
        let ok = k.0 <= b.1 * (1.0 + 1e-12);
        push(
            out,
            Kind::Capacity,
            [kc, bc].concat(),
            format!(
                "{kw}; {bw} — {} {} instances the autoscaler may run{}",
                if ok {
                    "the backend list covers the"
                } else {
                    "a fixed list of"
                },
                if ok {
                    show(k.0, StatedUnit::Number)
                } else {
                    format!(
                        "{} backends cannot route to the {}",
                        show(b.1, StatedUnit::Number),
                        show(k.0, StatedUnit::Number)
                    )
                },
                if ok { "" } else { ": the extra instances get no traffic" }
            ),
            ok,
        );
    }
}

/// `timeout.LAYER` nested outermost first.
fn timeouts(es: &[&Entry], out: &mut Vec<Check>) {
    use crate::scenario::statement::timeout_depth;
    let t: Vec<(usize, &&Entry)> = es
        .iter()
        .filter_map(|e| {
            let layer = e.s.quantity.strip_prefix("timeout.")?;
            let k = timeout_depth(layer)?;
            (e.s.unit() == StatedUnit::Duration).then_some((k, e))
        })
        .collect();
    for (i, (ka, a)) in t.iter().enumerate() {
        for (kb, b) in t.iter().skip(i + 1) {
            if ka == kb {
                continue;
            }
            let (outer, inner) = if ka < kb { (a, b) } else { (b, a) };
            // Configured timeouts are exact: no rounding.
            let o_hi = outer.s.hi.as_ref().map_or(f64::INFINITY, |f| f.value);
            let i_lo = inner.s.lo.as_ref().map_or(0.0, |f| f.value);
            let ok = i_lo < o_hi;
            let mut s = String::new();
            let _ = write!(
                s,
                "{} encloses {}: the inner timeout must be shorter, {}",
                outer.who(),
                inner.who(),
                if ok {
                    "and it can be".to_string()
                } else {
                    format!(
                        "but {} ≥ {}: the outer layer gives up first and the inner one's work is wasted",
                        show(i_lo, StatedUnit::Duration),
                        show(o_hi, StatedUnit::Duration)
                    )
                }
            );
            push(out, Kind::TimeoutOrder, vec![outer.claim, inner.claim], s, ok);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(family: &'static str, cv: f64) -> Shape {
        Shape {
            family,
            cv,
            key: String::new(),
        }
    }

    #[test]
    fn percentiles_over_the_mean_follow_the_family() {
        // Closed forms: exponential p95 = −ln 0.05; gamma with cv 1 is the
        // exponential; a lognormal with cv 1 has σ² = ln 2.
        let exp95 = -(0.05f64).ln();
        assert!((quantile_over_mean(&shape("exponential", 1.0), 0.95) - exp95).abs() < 1e-12);
        assert!((quantile_over_mean(&shape("gamma", 1.0), 0.95) - exp95).abs() < 1e-6);
        let s = 2f64.ln().sqrt();
        let ln95 = (1.6448536269514722 * s - s * s / 2.0).exp();
        assert!((quantile_over_mean(&shape("lognormal", 1.0), 0.95) - ln95).abs() < 1e-6);
        assert_eq!(quantile_over_mean(&shape("deterministic", 0.0), 0.99), 1.0);
        assert!((quantile_over_mean(&shape("uniform", 0.5), 0.5) - 1.0).abs() < 1e-12);
    }
}
