//! Scaling-timeline metrics of one replication, for SLOs that regression-
//! test an autoscaling policy (issue 23): how often the desired count
//! changes direction (flapping), how long the service ran above or below
//! its CPU target band, how long after a load step the needed instances
//! were ready, and how far the desired count overshot that need.
//!
//! Pure functions of the recorded scaling events, replica timeline and
//! time-series rows; everything after `from_s` (the end of the warm-up)
//! counts, and the step metrics look at `[slo.scaling]`'s stretch only.

use super::{ReplicaPoint, ScalingEvent, TimeSeriesRow};
use crate::autoscaler::ScaleMetric;
use crate::spec::{AutoscalerSpec, PolicySpec, ScalingReference};

/// The point in force at `t` (the last at or before it), if any.
fn at(points: &[ReplicaPoint], t: f64) -> Option<&ReplicaPoint> {
    points.iter().take_while(|p| p.time_s <= t).last()
}

/// Seconds from the load step until at least `need` instances are ready:
/// 0 when they already are at the step, the rest of the run (`end_s` −
/// step) when they never are — a censored value, so that a limit on it
/// fails rather than passing on a run that never got there.
pub fn time_to_need(points: &[ReplicaPoint], r: &ScalingReference, end_s: f64) -> Option<f64> {
    let step = r.step_at.as_secs_f64();
    if step >= end_s {
        return None;
    }
    if at(points, step).is_some_and(|p| p.ready >= r.need) {
        return Some(0.0);
    }
    let reached = points
        .iter()
        .find(|p| p.time_s > step && p.time_s <= end_s && p.ready >= r.need)
        .map_or(end_s, |p| p.time_s);
    Some(reached - step)
}

/// The largest desired count above `need` from the load step until
/// `until` (0 when it never exceeds it).
pub fn overshoot(points: &[ReplicaPoint], r: &ScalingReference) -> Option<f64> {
    let (step, until) = (r.step_at.as_secs_f64(), r.until.as_secs_f64());
    if step >= until {
        return None;
    }
    let first = at(points, step);
    let later = points.iter().filter(|p| p.time_s > step && p.time_s < until);
    let max = first.into_iter().chain(later).map(|p| p.desired).max()?;
    Some(f64::from(max.saturating_sub(r.need)))
}

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
            hpa: None,
        }
    }

    fn pt(t: f64, ready: u32, desired: u32) -> ReplicaPoint {
        ReplicaPoint {
            time_s: t,
            ready,
            desired,
        }
    }

    fn reference(step: f64, need: u32, until: f64) -> ScalingReference {
        ScalingReference {
            step_at: tenantsim_engine::SimTime::from_secs_f64(step),
            need,
            until: tenantsim_engine::SimTime::from_secs_f64(until),
        }
    }

    #[test]
    fn time_to_need_is_measured_from_the_step_to_the_first_ready_count_at_need() {
        // 2 ready; the step at 300 s; desired 4 at 315 s, 3 ready at
        // 350 s, 4 at 355 s.
        let p = [pt(0.0, 2, 2), pt(315.0, 2, 4), pt(350.0, 3, 4), pt(355.0, 4, 4)];
        assert_eq!(time_to_need(&p, &reference(300.0, 4, 900.0), 900.0), Some(55.0));
        assert_eq!(time_to_need(&p, &reference(300.0, 3, 900.0), 900.0), Some(50.0));
        // Already there at the step.
        assert_eq!(time_to_need(&p, &reference(300.0, 2, 900.0), 900.0), Some(0.0));
        // Never there: the rest of the run, so a limit on it fails.
        assert_eq!(time_to_need(&p, &reference(300.0, 5, 900.0), 900.0), Some(600.0));
        // A step after the end has no value.
        assert_eq!(time_to_need(&p, &reference(900.0, 4, 900.0), 900.0), None);
    }

    #[test]
    fn overshoot_is_the_highest_desired_count_above_need_within_the_stretch() {
        let p = [
            pt(0.0, 2, 2),
            pt(315.0, 2, 4),
            pt(360.0, 4, 6),
            pt(420.0, 6, 4),
            pt(1000.0, 4, 9),
        ];
        assert_eq!(overshoot(&p, &reference(300.0, 4, 900.0)), Some(2.0));
        // Never above: 0, and what comes after `until` does not count.
        assert_eq!(overshoot(&p, &reference(300.0, 6, 900.0)), Some(0.0));
        // The count in force at the step counts too.
        assert_eq!(overshoot(&p, &reference(400.0, 5, 900.0)), Some(1.0));
        // A step at or after the end of the stretch has no value.
        assert_eq!(overshoot(&p, &reference(900.0, 4, 900.0)), None);
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
