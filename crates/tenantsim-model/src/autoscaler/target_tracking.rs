//! `target-tracking` (AWS Application Auto Scaling style): keep one metric
//! at `target`. The proposal is ceil(capacity × value / target); it scales
//! out at once, and in only when the metric is below 90 % of the target
//! (hysteresis), never when `disable_scale_in`. Instances younger than
//! `warmup` are not yet counted in the metric by the caller.
//!
//! The cooldowns follow the API reference of
//! `TargetTrackingScalingPolicyConfiguration`
//! (<https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html>):
//! * `ScaleOutCooldown`: after a scale-out the policy "won't increase the
//!   desired capacity again unless either a larger scale out is triggered
//!   or the cooldown period ends", and "the capacity added by the
//!   initiating scale-out activity is calculated as part of the desired
//!   capacity for the next scale-out". Here: within the cooldown the
//!   proposal is computed on the capacity the metric was measured on (the
//!   ready instances), and the count only rises when that proposal exceeds
//!   the desired count, which already holds the added capacity.
//! * `ScaleInCooldown`: scale-ins are blocked until it has expired after a
//!   scale-in; a scale-out during it happens at once, and then "the
//!   scale-in cooldown period stops and doesn't complete".
//! * `DisableScaleIn`: the policy never removes capacity.
//!
//! Invariant: a scale-in never happens within `scale_in_cooldown` of the
//! previous scale-in unless a scale-out came between them.

use super::{Observation, Policy, ScaleMetric};
use tenantsim_engine::SimTime;

pub struct TargetTrackingPolicy {
    pub metric: ScaleMetric,
    pub target: f64,
    pub disable_scale_in: bool,
    pub scale_in_cooldown: SimTime,
    pub scale_out_cooldown: SimTime,
    last_scale_in: Option<SimTime>,
    last_scale_out: Option<SimTime>,
}

impl TargetTrackingPolicy {
    pub fn new(
        metric: ScaleMetric,
        target: f64,
        disable_scale_in: bool,
        scale_in_cooldown: SimTime,
        scale_out_cooldown: SimTime,
    ) -> Self {
        TargetTrackingPolicy {
            metric,
            target,
            disable_scale_in,
            scale_in_cooldown,
            scale_out_cooldown,
            last_scale_in: None,
            last_scale_out: None,
        }
    }

    fn cooling(&self, since: Option<SimTime>, cooldown: SimTime, now: SimTime) -> bool {
        since.is_some_and(|t| now.saturating_sub(t) < cooldown)
    }
}

impl Policy for TargetTrackingPolicy {
    fn desired(&mut self, o: &Observation) -> (u32, &'static str) {
        let Some(v) = o.get(self.metric) else {
            return (o.current, "target-tracking: no data");
        };
        let proposal = |capacity: u32| (capacity.max(1) as f64 * v / self.target).ceil().max(0.0) as u32;
        let out_cooling = self.cooling(self.last_scale_out, self.scale_out_cooldown, o.now);
        // Within the scale-out cooldown the added capacity counts: the
        // metric of the ready instances sizes the whole fleet.
        let up = proposal(if out_cooling { o.ready } else { o.current });
        if up > o.current {
            self.last_scale_out = Some(o.now);
            // A scale-out stops the scale-in cooldown.
            self.last_scale_in = None;
            return (up, "target-tracking: above target");
        }
        let down = proposal(o.current);
        let in_cooling = self.cooling(self.last_scale_in, self.scale_in_cooldown, o.now);
        if !self.disable_scale_in && v < 0.9 * self.target && down < o.current && !in_cooling {
            self.last_scale_in = Some(o.now);
            return (down, "target-tracking: below target");
        }
        (o.current, "target-tracking: hold")
    }
}

#[cfg(test)]
mod tests {
    use super::super::obs;
    use super::*;

    fn tt(scale_in_cooldown: u64, scale_out_cooldown: u64, disable_scale_in: bool) -> TargetTrackingPolicy {
        TargetTrackingPolicy::new(
            ScaleMetric::Cpu,
            0.5,
            disable_scale_in,
            SimTime::from_secs(scale_in_cooldown),
            SimTime::from_secs(scale_out_cooldown),
        )
    }

    #[test]
    fn tracks_the_target_with_slow_scale_in() {
        let mut p = tt(300, 0, false);
        // 4 instances at 80 % vs 50 %: ceil(4 × 1.6) = 7.
        assert_eq!(p.desired(&obs(0, 4, Some(0.8))).0, 7);
        // Slightly below target (within 10 %): hold.
        assert_eq!(p.desired(&obs(60, 7, Some(0.47))).0, 7);
        // Well below: ceil(7 × 0.2 / 0.5) = 3.
        assert_eq!(p.desired(&obs(120, 7, Some(0.2))).0, 3);
        // Cooldown: no second scale-in within 300 s.
        assert_eq!(p.desired(&obs(200, 3, Some(0.1))).0, 3);
        assert_eq!(p.desired(&obs(420, 3, Some(0.1))).0, 1);
    }

    /// API reference, DisableScaleIn: "If the value is true, scale in is
    /// disabled and the target tracking scaling policy won't remove
    /// capacity from the scalable target."
    #[test]
    fn disable_scale_in_never_removes_capacity_but_still_scales_out() {
        let mut p = tt(0, 0, true);
        assert_eq!(p.desired(&obs(0, 4, Some(0.1))).0, 4);
        assert_eq!(p.desired(&obs(600, 4, Some(0.0))).0, 4);
        assert_eq!(p.desired(&obs(660, 4, Some(1.0))).0, 8);
    }

    /// API reference, ScaleInCooldown: "if another alarm triggers a
    /// scale-out activity during the scale-in cooldown period, Application
    /// Auto Scaling scales out the target immediately. In this case, the
    /// scale-in cooldown period stops and doesn't complete."
    #[test]
    fn a_scale_out_during_the_scale_in_cooldown_is_immediate_and_ends_it() {
        let mut p = tt(300, 0, false);
        assert_eq!(p.desired(&obs(0, 8, Some(0.2))).0, 4, "scale in: ceil(8 × 0.4)");
        // 60 s later, inside the 300 s scale-in cooldown: out at once.
        assert_eq!(p.desired(&obs(60, 4, Some(1.0))).0, 8, "immediate scale-out");
        // The scale-in cooldown stopped: a scale-in 60 s later is allowed
        // (it would still be blocked until 300 s had it completed).
        assert_eq!(p.desired(&obs(120, 8, Some(0.2))).0, 4);
        // … and that scale-in starts a new one.
        assert_eq!(p.desired(&obs(180, 4, Some(0.1))).0, 4);
        assert_eq!(p.desired(&obs(420, 4, Some(0.1))).0, 1);
    }

    /// API reference, ScaleOutCooldown: "The scaling policy won't increase
    /// the desired capacity again unless either a larger scale out is
    /// triggered or the cooldown period ends. While the cooldown period is
    /// in effect, the capacity added by the initiating scale-out activity
    /// is calculated as part of the desired capacity for the next
    /// scale-out activity."
    #[test]
    fn within_the_scale_out_cooldown_the_added_capacity_counts() {
        let mut p = tt(300, 300, false);
        // 4 ready at 100 % vs 50 %: ceil(4 × 2) = 8.
        assert_eq!(p.desired(&obs(0, 4, Some(1.0))).0, 8);
        // 60 s later the 4 new instances are still starting: the 4 ready
        // ones still read 100 %. Sized on them (4 × 2 = 8), the added
        // capacity already covers it: no second scale-out (without the
        // cooldown: ceil(8 × 2) = 16).
        let mut o = obs(60, 8, Some(1.0));
        o.ready = 4;
        assert_eq!(p.desired(&o).0, 8);
        // A larger scale-out is still made at once: 4 ready at 150 %
        // need 12 > 8.
        let mut o = obs(90, 8, Some(1.5));
        o.ready = 4;
        assert_eq!(p.desired(&o).0, 12);
        // After the cooldown the whole desired count is the base again.
        let mut o = obs(400, 12, Some(0.6));
        o.ready = 12;
        assert_eq!(p.desired(&o).0, 15);
        // Without a scale-out cooldown the same sequence overshoots.
        let mut q = tt(300, 0, false);
        assert_eq!(q.desired(&obs(0, 4, Some(1.0))).0, 8);
        let mut o = obs(60, 8, Some(1.0));
        o.ready = 4;
        assert_eq!(q.desired(&o).0, 16);
    }
}
