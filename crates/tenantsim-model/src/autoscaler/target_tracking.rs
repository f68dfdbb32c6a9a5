//! `target-tracking` (AWS style): keep one metric at `target`. Scale out at
//! once to ceil(current × value / target); scale in the same way but only
//! when the metric is below 90 % of the target (hysteresis), at most once per
//! `scale_in_cooldown`, and never when `disable_scale_in`. Instances younger
//! than `warmup` are not yet counted in the metric by the caller.

use super::{Observation, Policy, ScaleMetric};
use tenantsim_engine::SimTime;

pub struct TargetTrackingPolicy {
    pub metric: ScaleMetric,
    pub target: f64,
    pub disable_scale_in: bool,
    pub scale_in_cooldown: SimTime,
    last_scale_in: Option<SimTime>,
}

impl TargetTrackingPolicy {
    pub fn new(metric: ScaleMetric, target: f64, disable_scale_in: bool, scale_in_cooldown: SimTime) -> Self {
        TargetTrackingPolicy {
            metric,
            target,
            disable_scale_in,
            scale_in_cooldown,
            last_scale_in: None,
        }
    }
}

impl Policy for TargetTrackingPolicy {
    fn desired(&mut self, o: &Observation) -> (u32, &'static str) {
        let Some(v) = o.get(self.metric) else {
            return (o.current, "target-tracking: no data");
        };
        let proposal = (o.current.max(1) as f64 * v / self.target).ceil().max(0.0) as u32;
        if proposal > o.current {
            return (proposal, "target-tracking: above target");
        }
        let cooled = self
            .last_scale_in
            .is_none_or(|t| o.now.saturating_sub(t) >= self.scale_in_cooldown);
        if !self.disable_scale_in && v < 0.9 * self.target && proposal < o.current && cooled {
            self.last_scale_in = Some(o.now);
            return (proposal, "target-tracking: below target");
        }
        (o.current, "target-tracking: hold")
    }
}

#[cfg(test)]
mod tests {
    use super::super::obs;
    use super::*;

    #[test]
    fn tracks_the_target_with_slow_scale_in() {
        let mut p = TargetTrackingPolicy::new(ScaleMetric::Cpu, 0.5, false, SimTime::from_secs(300));
        // 4 instances at 80 % vs 50 %: ceil(4 × 1.6) = 7.
        assert_eq!(p.desired(&obs(0, 4, Some(0.8))).0, 7);
        // Slightly below target (within 10 %): hold.
        assert_eq!(p.desired(&obs(60, 7, Some(0.47))).0, 7);
        // Well below: ceil(7 × 0.2 / 0.5) = 3.
        assert_eq!(p.desired(&obs(120, 7, Some(0.2))).0, 3);
        // Cooldown: no second scale-in within 300 s.
        assert_eq!(p.desired(&obs(200, 3, Some(0.1))).0, 3);
        assert_eq!(p.desired(&obs(420, 3, Some(0.1))).0, 1);
        let mut p = TargetTrackingPolicy::new(ScaleMetric::Cpu, 0.5, true, SimTime::ZERO);
        assert_eq!(p.desired(&obs(0, 4, Some(0.1))).0, 4);
    }
}
