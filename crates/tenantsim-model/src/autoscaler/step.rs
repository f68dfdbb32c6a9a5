//! `step` (AWS step scaling): one metric, a list of adjustments by the
//! metric's value range (`lower` ≤ value < `upper`, either bound open), each
//! adding `change` instances; then `cooldown` before the next change.

use super::{Observation, Policy, ScaleMetric};
use tenantsim_engine::SimTime;

#[derive(Clone, Copy, Debug)]
pub struct StepAdjustment {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub change: i32,
}

pub struct StepPolicy {
    pub metric: ScaleMetric,
    pub adjustments: Vec<StepAdjustment>,
    pub cooldown: SimTime,
    last_change: Option<SimTime>,
}

impl StepPolicy {
    pub fn new(metric: ScaleMetric, adjustments: Vec<StepAdjustment>, cooldown: SimTime) -> Self {
        StepPolicy {
            metric,
            adjustments,
            cooldown,
            last_change: None,
        }
    }
}

impl Policy for StepPolicy {
    fn desired(&mut self, o: &Observation) -> (u32, &'static str) {
        let Some(v) = o.get(self.metric) else {
            return (o.current, "step: no data");
        };
        if self
            .last_change
            .is_some_and(|t| o.now.saturating_sub(t) < self.cooldown)
        {
            return (o.current, "step: cooldown");
        }
        let adj = self
            .adjustments
            .iter()
            .find(|a| a.lower.is_none_or(|l| v >= l) && a.upper.is_none_or(|u| v < u));
        match adj {
            Some(a) if a.change != 0 => {
                self.last_change = Some(o.now);
                let d = (o.current as i64 + a.change as i64).max(0) as u32;
                (
                    d,
                    if a.change > 0 {
                        "step: scale out"
                    } else {
                        "step: scale in"
                    },
                )
            }
            _ => (o.current, "step: hold"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::obs;
    use super::*;

    #[test]
    fn picks_the_matching_step() {
        let adj = vec![
            StepAdjustment {
                lower: Some(0.7),
                upper: Some(0.85),
                change: 1,
            },
            StepAdjustment {
                lower: Some(0.85),
                upper: None,
                change: 3,
            },
            StepAdjustment {
                lower: None,
                upper: Some(0.3),
                change: -1,
            },
        ];
        let mut p = StepPolicy::new(ScaleMetric::Cpu, adj, SimTime::from_secs(60));
        assert_eq!(p.desired(&obs(0, 4, Some(0.75))).0, 5);
        assert_eq!(p.desired(&obs(30, 5, Some(0.95))).0, 5); // cooldown
        assert_eq!(p.desired(&obs(60, 5, Some(0.95))).0, 8);
        assert_eq!(p.desired(&obs(120, 8, Some(0.5))).0, 8);
        assert_eq!(p.desired(&obs(180, 8, Some(0.2))).0, 7);
    }
}
