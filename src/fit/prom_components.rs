//! Latency decomposition from Prometheus series: each endpoint's mean
//! latency (`http_request_duration_seconds_sum / _count`) split into CPU
//! demand, connection hold, pool wait and the rest with the rates of the
//! component histograms ([`super::prometheus::ComponentNames`]), written by
//! the same [`components::Split`] the access log's columns use.
//!
//! Owns: attributing the histograms to endpoints and saying what it had to
//! assume. Invariants: a part with no series is never invented — without a
//! CPU series for an endpoint the whole latency stays its CPU demand (the
//! caller's fallback), without hold/wait series there is no database time.
//! Hold and wait histograms without an endpoint label are spread over the
//! endpoints in proportion to their non-CPU time (latency − CPU) × requests,
//! an assumption stated in the output.

use super::components::{self, Split};
use super::prometheus::{HistIncrease, PromFit};

/// One endpoint's split, with the fits of its CPU and hold histograms.
pub struct PromSplit<'a> {
    pub split: Split,
    pub cpu_fits: &'a [super::dist::FitResult],
    pub hold_fits: &'a [super::dist::FitResult],
}

fn get<'a>(m: &'a std::collections::BTreeMap<String, HistIncrease>, ep: &str) -> Option<&'a HistIncrease> {
    m.get(ep).filter(|h| h.count > 0.0)
}

/// Mean latency and its request count for `ep`: from `_sum`/`_count`, else
/// the mean of the best histogram fit.
fn latency(p: &PromFit, ep: &str) -> Option<(f64, f64)> {
    if let Some(h) = get(&p.latency_sum, ep).or_else(|| get(&p.latency_sum, "all")) {
        return h
            .mean()
            .map(|m| (m, p.per_endpoint.get(ep).copied().unwrap_or(h.count)));
    }
    let (count, fits) = p.latency.get(ep).or_else(|| p.latency.get("all"))?;
    fits.first()
        .map(|b| (b.fit.mean(), p.per_endpoint.get(ep).copied().unwrap_or(*count)))
}

/// The split of endpoint `ep`, or None when the export has no CPU series
/// for it (then the latency is taken as CPU demand, as without series).
pub fn split<'a>(p: &'a PromFit, ep: &str) -> Option<PromSplit<'a>> {
    let cpu = get(&p.cpu, ep)?;
    let (lat, n) = latency(p, ep)?;
    let cpu_m = cpu.mean()?;
    // Hold and wait: this endpoint's own series, else its share of the
    // unlabelled ones by non-CPU time.
    let share = |m: &'a std::collections::BTreeMap<String, HistIncrease>| -> Option<(f64, f64, &'a HistIncrease)> {
        if let Some(h) = get(m, ep) {
            return Some((h.sum, h.count, h));
        }
        let h = get(m, "all")?;
        let weight = |e: &str| -> f64 {
            match (latency(p, e), get(&p.cpu, e).and_then(|c| c.mean())) {
                (Some((l, n)), Some(c)) => n * (l - c).max(0.0),
                _ => 0.0,
            }
        };
        let total: f64 = p.per_endpoint.keys().map(|e| weight(e)).sum();
        let w = if total > 0.0 { weight(ep) / total } else { 0.0 };
        Some((h.sum * w, h.count * w, h))
    };
    let mut split = Split {
        source: format!(
            "Prometheus series ({n:.0} requests: latency sum/count, `{}`, `{}`, `{}`)",
            p.names.cpu, p.names.hold, p.names.wait
        ),
        latency: lat,
        cpu: cpu_m,
        ..Split::default()
    };
    let mut hold_fits: &[super::dist::FitResult] = &[];
    if let Some((sum, count, h)) = share(&p.hold) {
        if count > 0.0 && n > 0.0 {
            split.hold_share = (count / n).min(1.0);
            split.hold = sum / count;
            hold_fits = &h.fits;
        }
    }
    if let Some((sum, count, _)) = share(&p.wait) {
        if count > 0.0 && split.hold_share > 0.0 {
            split.wait = sum / count;
        }
    }
    Some(PromSplit {
        split,
        cpu_fits: &cpu.fits,
        hold_fits,
    })
}

/// Any endpoint held a connection (the `[pool]`/`[database]` tables are due).
pub fn uses_database(p: &PromFit) -> bool {
    p.per_endpoint
        .keys()
        .any(|e| split(p, e).is_some_and(|s| s.split.hold_share > 0.0))
}

/// The `[pool]` and `[database]` tables for an export whose endpoints held
/// connections.
pub fn data_tier_toml(p: &PromFit) -> String {
    if !uses_database(p) {
        return String::new();
    }
    let waits: Vec<&HistIncrease> = p.wait.values().filter(|h| h.count > 0.0).collect();
    let (s, c) = waits.iter().fold((0.0, 0.0), |a, h| (a.0 + h.sum, a.1 + h.count));
    components::pool_database_toml(&format!(
        "Prometheus shows a mean pool wait of {} (`{}`)",
        super::dist::duration(if c > 0.0 { s / c } else { 0.0 }),
        p.names.wait
    ))
}

/// One line per component: the series it came from, or what was assumed.
pub fn notes(p: &PromFit) -> Vec<String> {
    let n = &p.names;
    let mut v = Vec::new();
    let missing_cpu: Vec<&str> = p
        .per_endpoint
        .keys()
        .filter(|e| split(p, e).is_none())
        .map(|e| e.as_str())
        .collect();
    if p.cpu.values().all(|h| h.count <= 0.0) {
        v.push(format!(
            "cpu: no CPU series (`{}_sum`/`_count`): ASSUMED the whole latency is CPU demand",
            n.cpu
        ));
        return v;
    }
    v.push(format!("cpu: series `{}` per endpoint", n.cpu));
    if !missing_cpu.is_empty() {
        v.push(format!(
            "cpu: no CPU series for {}: ASSUMED their whole latency is CPU demand",
            missing_cpu.join(", ")
        ));
    }
    for (what, m, name, miss) in [
        (
            "connection hold",
            &p.hold,
            &n.hold,
            "no database time: every endpoint is CPU (and rest) only",
        ),
        (
            "pool wait",
            &p.wait,
            &n.wait,
            "pool wait ASSUMED 0 at calibration (its part is left in `rest`)",
        ),
    ] {
        if m.values().all(|h| h.count <= 0.0) {
            v.push(format!("{what}: no `{name}` series: {miss}"));
        } else if m.keys().any(|k| k == "all") {
            v.push(format!(
                "{what}: series `{name}` has no endpoint label: ASSUMED spread over endpoints by their non-CPU time (latency − CPU)"
            ));
        } else {
            v.push(format!("{what}: series `{name}` per endpoint"));
        }
    }
    v.push("cache lookups: not in the series: ASSUMED free (their time is left in `rest`)".into());
    v
}
