//! `threshold`: the seeds' style. Scale out by `step` when any metric has
//! been above its `above` for `for`; scale in by `step` when every metric
//! has been below its `below` for `for`; then wait the direction's cooldown.

use super::{Observation, Policy, ScaleMetric};
use tenantsim_engine::SimTime;

#[derive(Clone, Copy, Debug)]
pub struct ThresholdRule {
    pub metric: ScaleMetric,
    pub above: Option<f64>,
    pub below: Option<f64>,
}

pub struct ThresholdPolicy {
    pub rules: Vec<ThresholdRule>,
    pub step: u32,
    pub sustain: SimTime,
    pub scale_out_cooldown: SimTime,
    pub scale_in_cooldown: SimTime,
    high_since: Option<SimTime>,
    low_since: Option<SimTime>,
    last_change: Option<SimTime>,
}

impl ThresholdPolicy {
    pub fn new(rules: Vec<ThresholdRule>, step: u32, sustain: SimTime, out_cd: SimTime, in_cd: SimTime) -> Self {
        ThresholdPolicy {
            rules,
            step,
            sustain,
            scale_out_cooldown: out_cd,
            scale_in_cooldown: in_cd,
            high_since: None,
            low_since: None,
            last_change: None,
        }
    }
}

impl Policy for ThresholdPolicy {
    fn desired(&mut self, o: &Observation) -> (u32, &'static str) {
        let high = self
            .rules
            .iter()
            .any(|r| matches!((r.above, o.get(r.metric)), (Some(a), Some(v)) if v > a));
        let low = !self.rules.is_empty()
            && self
                .rules
                .iter()
                .all(|r| matches!((r.below, o.get(r.metric)), (Some(b), Some(v)) if v < b));
        self.high_since = if high { self.high_since.or(Some(o.now)) } else { None };
        self.low_since = if low { self.low_since.or(Some(o.now)) } else { None };
        let since_change = |cd: SimTime| self.last_change.is_none_or(|t| o.now.saturating_sub(t) >= cd);
        if let Some(t) = self.high_since {
            if o.now.saturating_sub(t) >= self.sustain && since_change(self.scale_out_cooldown) {
                self.last_change = Some(o.now);
                self.high_since = None;
                return (o.current + self.step, "threshold: above scale-out limit");
            }
        }
        if let Some(t) = self.low_since {
            if o.now.saturating_sub(t) >= self.sustain && since_change(self.scale_in_cooldown) {
                self.last_change = Some(o.now);
                self.low_since = None;
                return (o.current.saturating_sub(self.step), "threshold: below scale-in limit");
            }
        }
        (o.current, "threshold: hold")
    }
}

#[cfg(test)]
mod tests {
    use super::super::obs;
    use super::*;

    fn policy() -> ThresholdPolicy {
        let rule = ThresholdRule {
            metric: ScaleMetric::Cpu,
            above: Some(0.7),
            below: Some(0.3),
        };
        ThresholdPolicy::new(
            vec![rule],
            2,
            SimTime::from_secs(60),
            SimTime::from_secs(120),
            SimTime::from_secs(300),
        )
    }

    #[test]
    fn scales_out_after_sustained_breach_then_cools_down() {
        let mut p = policy();
        assert_eq!(p.desired(&obs(0, 3, Some(0.9))).0, 3); // breach starts
        assert_eq!(p.desired(&obs(30, 3, Some(0.9))).0, 3); // 30 s < 60 s
        assert_eq!(p.desired(&obs(60, 3, Some(0.9))).0, 5); // sustained 60 s: +2
        assert_eq!(p.desired(&obs(90, 5, Some(0.9))).0, 5);
        assert_eq!(p.desired(&obs(150, 5, Some(0.9))).0, 5); // sustained again but in cooldown (120 s)
        assert_eq!(p.desired(&obs(180, 5, Some(0.9))).0, 7); // cooldown over
                                                             // A dip resets the sustain clock.
        assert_eq!(p.desired(&obs(200, 7, Some(0.5))).0, 7);
        assert_eq!(p.desired(&obs(400, 7, Some(0.9))).0, 7);
    }

    #[test]
    fn scales_in_only_when_every_metric_is_low() {
        let rules = vec![
            ThresholdRule {
                metric: ScaleMetric::Cpu,
                above: Some(0.7),
                below: Some(0.3),
            },
            ThresholdRule {
                metric: ScaleMetric::Memory,
                above: Some(0.8),
                below: Some(0.5),
            },
        ];
        let mut p = ThresholdPolicy::new(rules, 1, SimTime::ZERO, SimTime::ZERO, SimTime::ZERO);
        let mut o = obs(0, 4, Some(0.1));
        o.metrics[ScaleMetric::Memory.index()] = Some(0.6);
        assert_eq!(p.desired(&o).0, 4);
        o.metrics[ScaleMetric::Memory.index()] = Some(0.4);
        assert_eq!(p.desired(&o).0, 3);
    }
}
