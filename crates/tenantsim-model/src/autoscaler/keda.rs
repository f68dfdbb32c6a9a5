//! `keda`: a KEDA ScaledObject — the HPA that KEDA generates for it, with
//! the triggers as External metrics, and KEDA's own activation between 0
//! and 1 replicas
//! (<https://keda.sh/docs/latest/concepts/scaling-deployments/#activating-and-scaling-thresholds>,
//! <https://keda.sh/docs/latest/reference/scaledobject-spec/>).
//!
//! What it owns: the activation phase. Every `pollingInterval` (checked at
//! the first HPA sync at or after it, on that sync's window) a trigger is
//! *active* when its value is above its activation threshold (strictly:
//! the default 0 activates on any value above 0).
//! * At 0 replicas an active trigger scales to `max(min, 1)`; otherwise the
//!   count stays 0 (the HPA does not act on a target at zero).
//! * With `min = 0`, when no trigger has been active for `cooldownPeriod`
//!   (or none ever was: KEDA scales a new target to its minimum at once),
//!   the count goes to 0.
//! * With `min ≥ 1` the scaler is always active and the activation
//!   thresholds are ignored, as KEDA documents.
//!
//! Everything between 1 and `max` is the HPA's (its `minReplicas` is
//! `max(min, 1)`), behavior and tolerance included.
//!
//! Invariant: the result is 0 only when `min` is 0.

use super::{k8s_view, HpaDetail, HpaPolicy, Observation, Policy};
use crate::spec::KedaSpec;
use tenantsim_engine::SimTime;

pub struct KedaPolicy {
    hpa: HpaPolicy,
    spec: KedaSpec,
    /// `minReplicaCount`.
    min: u32,
    next_poll: SimTime,
    last_active: Option<SimTime>,
}

impl KedaPolicy {
    pub fn new(hpa: HpaPolicy, spec: KedaSpec, min: u32) -> Self {
        KedaPolicy {
            hpa,
            spec,
            min,
            next_poll: SimTime::ZERO,
            last_active: None,
        }
    }

    /// KEDA's operator at a polling instant: whether any trigger is active.
    fn any_active(&self, obs: &Observation) -> bool {
        self.spec
            .triggers
            .iter()
            .any(|t| HpaPolicy::external_value(t.metric, obs).is_some_and(|v| v > t.activation))
    }

    /// The activation phase; None hands the decision to the HPA.
    fn activation(&mut self, obs: &Observation) -> Option<(u32, &'static str)> {
        if self.min >= 1 {
            return None;
        }
        if obs.now >= self.next_poll {
            while self.next_poll <= obs.now {
                self.next_poll += self.spec.polling_interval;
            }
            if self.any_active(obs) {
                self.last_active = Some(obs.now);
                if obs.current == 0 {
                    return Some((1, "keda: trigger active, scale from zero"));
                }
            } else if obs.current > 0
                && self
                    .last_active
                    .is_none_or(|t| obs.now.saturating_sub(t) >= self.spec.cooldown_period)
            {
                return Some((0, "keda: no trigger active for cooldownPeriod, scale to zero"));
            }
        }
        (obs.current == 0).then_some((0, "keda: inactive at zero"))
    }
}

impl Policy for KedaPolicy {
    fn desired(&mut self, obs: &Observation) -> (u32, &'static str) {
        match self.activation(obs) {
            Some(d) => {
                self.hpa.forget();
                d
            }
            None => (self.hpa.desired(obs).0, "keda: hpa"),
        }
    }

    fn desired_seen(&mut self, obs: &Observation, pods: &k8s_view::PodsView) -> (u32, &'static str) {
        match self.activation(obs) {
            Some(d) => {
                self.hpa.forget();
                d
            }
            None => (self.hpa.desired_seen(obs, pods).0, "keda: hpa"),
        }
    }

    fn detail(&self) -> Option<HpaDetail> {
        self.hpa.detail()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{hpa, obs, ScaleMetric};
    use super::*;
    use crate::spec::KedaTrigger;

    fn keda(min: u32, activation: f64) -> KedaPolicy {
        let hpa = HpaPolicy::new(
            hpa::Hpa::new(hpa::HpaSpec::with_defaults(min.max(1), 10)),
            Vec::new(),
            None,
            vec![(ScaleMetric::Rps, 100.0)],
        );
        let spec = KedaSpec {
            triggers: vec![KedaTrigger {
                metric: ScaleMetric::Rps,
                target: 100.0,
                activation,
            }],
            polling_interval: SimTime::from_secs(30),
            cooldown_period: SimTime::from_secs(300),
        };
        KedaPolicy::new(hpa, spec, min)
    }

    fn at(now_s: u64, current: u32, rps: f64) -> Observation {
        let mut o = obs(now_s, current, None);
        o.arrivals_per_s = Some(rps);
        o
    }

    #[test]
    fn scales_from_zero_on_activation_and_back_after_the_cooldown() {
        let mut k = keda(0, 5.0);
        // Never active: KEDA scales a new target to its minimum at once.
        assert_eq!(k.desired(&at(0, 2, 0.0)).0, 0);
        // At zero, 5 req/s is not above the activation threshold of 5.
        assert_eq!(k.desired(&at(30, 0, 5.0)).0, 0);
        // Between polls nothing is checked, even at 250 req/s.
        assert_eq!(k.desired(&at(45, 0, 250.0)).0, 0);
        // The poll at 60 s: active → 1 replica (KEDA), not the HPA's 3.
        assert_eq!(k.desired(&at(60, 0, 250.0)).0, 1);
        // From 1 the HPA takes over: ceil(250 / 100) = 3.
        assert_eq!(k.desired(&at(75, 1, 250.0)).0, 3);
        // Idle from 120 s on; last active at the 90 s poll. The HPA's own
        // 300 s stabilization keeps 3, and KEDA waits for the cooldown.
        assert_eq!(k.desired(&at(90, 3, 250.0)).0, 3);
        assert_eq!(k.desired(&at(120, 3, 0.0)).0, 3);
        assert_eq!(k.desired(&at(360, 3, 0.0)).0, 3);
        // 390 − 90 = 300 s = cooldownPeriod: to zero.
        assert_eq!(
            k.desired(&at(390, 3, 0.0)),
            (0, "keda: no trigger active for cooldownPeriod, scale to zero")
        );
    }

    #[test]
    fn a_minimum_of_one_ignores_activation() {
        let mut k = keda(1, 1000.0);
        // Below the activation threshold but min ≥ 1: the HPA decides.
        assert_eq!(k.desired(&at(0, 1, 250.0)).0, 3);
    }
}
