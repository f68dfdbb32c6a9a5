//! Scaling-timeline metrics of one replication, for SLOs that regression-
//! test an autoscaling policy (issue 23): how often the desired count
//! changes direction (flapping), and how long the service ran above or
//! below its CPU target band.
//!
//! Pure functions of the recorded scaling events and time-series rows;
//! everything after `from_s` (the end of the warm-up) counts.

use super::{ScalingEvent, TimeSeriesRow};
use crate::autoscaler::ScaleMetric;
use crate::spec::{AutoscalerSpec, PolicySpec};

/// The autoscaler's CPU band: (target, tolerance). The HPA's cpu target
/// and tolerance; target tracking's cpu target with 0.1; a threshold
/// policy's band is its own (`below`, `above`), returned as the midpoint
/// and the relative half-width. None without a CPU target.
pub fn cpu_band(a: &AutoscalerSpec) -> Option<(f64, f64)> {
    match &a.policy {
        PolicySpec::Hpa { metrics, tolerance, .. } => metrics
            .iter()
            .find(|m| m.0 == ScaleMetric::Cpu)
            .map(|m| (m.1, *tolerance)),
        PolicySpec::TargetTracking { metric, target, .. } if *metric == ScaleMetric::Cpu => Some((*target, 0.1)),
        PolicySpec::Threshold { rules, .. } => {
            let r = rules.iter().find(|r| r.metric == ScaleMetric::Cpu)?;
            match (r.below, r.above) {
                (Some(lo), Some(hi)) => {
                    let mid = (lo + hi) / 2.0;
                    Some((mid, (hi - mid) / mid))
                }
                (None, Some(hi)) => Some((hi, 0.0)),
                (Some(lo), None) => Some((lo, 0.0)),
                (None, None) => None,
            }
        }
        _ => None,
    }
}

/// Reversals of the desired count's direction (up then down, or down then
/// up, per group) after `from_s`, per hour of `window_s`.
pub fn flaps_per_hour(events: &[ScalingEvent], from_s: f64, window_s: f64) -> Option<f64> {
    if window_s <= 0.0 {
        return None;
    }
    let mut last: std::collections::BTreeMap<u16, bool> = Default::default();
    let mut flips = 0u32;
    for e in events.iter().filter(|e| e.from != e.to) {
        let up = e.to > e.from;
        if let Some(prev) = last.insert(e.group, up) {
            if prev != up && e.time_s > from_s {
                flips += 1;
            }
        }
    }
    Some(f64::from(flips) / (window_s / 3600.0))
}

/// Fractions of the sampled time after `from_s` with the CPU utilization
/// above `target × (1 + tol)` (under-provisioned) and below
/// `target × (1 − tol)` (over-provisioned).
pub fn provisioning(rows: &[TimeSeriesRow], from_s: f64, target: f64, tol: f64) -> Option<(f64, f64)> {
    let us: Vec<f64> = rows
        .iter()
        .filter(|r| r.time_s > from_s)
        .filter_map(|r| r.cpu_utilization)
        .collect();
    if us.is_empty() {
        return None;
    }
    let n = us.len() as f64;
    let under = us.iter().filter(|&&u| u > target * (1.0 + tol)).count() as f64 / n;
    let over = us.iter().filter(|&&u| u < target * (1.0 - tol)).count() as f64 / n;
    Some((under, over))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: f64, from: u32, to: u32) -> ScalingEvent {
        ScalingEvent {
            time_s: t,
            group: 0,
            from,
            to,
            reason: "test",
        }
    }

    #[test]
    fn flaps_count_direction_reversals() {
        // up, up, down (1), up (2), down (3) in one hour.
        let e = [
            ev(10.0, 2, 3),
            ev(20.0, 3, 4),
            ev(30.0, 4, 3),
            ev(40.0, 3, 5),
            ev(50.0, 5, 4),
        ];
        assert_eq!(flaps_per_hour(&e, 0.0, 3600.0), Some(3.0));
        // A reversal inside the warm-up does not count.
        assert_eq!(flaps_per_hour(&e, 35.0, 1800.0), Some(4.0));
    }
}
