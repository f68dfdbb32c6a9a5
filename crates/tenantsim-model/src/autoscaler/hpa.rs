//! The Kubernetes HorizontalPodAutoscaler (`autoscaling/v2`) replica
//! recommendation, as a pure, deterministic state machine.
//!
//! # What this module owns
//!
//! Turning "current replica count + one observation per metric" into the
//! replica count the HPA controller would write to the target's
//! `spec.replicas`, at one sync. That is: the per-metric usage ratio and
//! tolerance band, the maximum over metrics, the controller's handling of a
//! count outside `[min, max]` (and of a count of zero), the stabilization
//! windows, the scaling policies (`Pods` / `Percent` per period, selected with
//! `Max` / `Min` / `Disabled`), and the history those need (past
//! recommendations and past scale events).
//!
//! # What it does not own
//!
//! * Metric collection: the caller averages utilization over whatever it
//!   considers the ready instances and passes one [`MetricSample`] per metric.
//! * The sync timer: the caller calls [`Hpa::reconcile`] every sync period
//!   (the controller's `--horizontal-pod-autoscaler-sync-period`, 15 s by
//!   default) with a non-decreasing `now`.
//! * Instance lifecycle: starting, warming up and draining instances to reach
//!   the returned count is the caller's job. The HPA only sets the desired
//!   count; it records a scale event as soon as it decides a change, exactly
//!   as the controller does after a successful scale-subresource update.
//!
//! # Invariants
//!
//! * If `current` is within `[min, max]`, the result is within `[min, max]`
//!   and moves from `current` in the direction of the stabilized
//!   recommendation by no more than the selected policy allows.
//! * If `current > max` the result is `max`, and if `0 < current < min` the
//!   result is `min`: the controller corrects an out-of-range count directly,
//!   before looking at metrics, so neither stabilization nor the policies
//!   (not even `SelectPolicy::Disabled`) can hold it outside the range, and no
//!   metric data are needed for it (`reconcileAutoscaler`).
//! * The single exception: `current == 0` with `min >= 1` means autoscaling
//!   is disabled for the target (`reconcileAutoscaler`, condition
//!   `ScalingDisabled`); the result is `0`, below `min`. With `min == 0` (the
//!   `HPAScaleToZero` feature) a count of zero is autoscaled like any other,
//!   and the proposal is `ceil(usageRatio)` (`getUsageRatioReplicaCount`).
//! * Without any usable metric sample the count is kept (apart from the
//!   out-of-range correction above), and, like the controller, one unusable
//!   sample among usable ones forbids scaling down (`computeReplicasForMetrics`).
//! * Memory is bounded: recommendations older than the longest
//!   stabilization window and scale events older than the longest policy
//!   period are pruned at every sync.
//!
//! # Simplifications relative to the controller (deliberate)
//!
//! * `current` is used both as `spec.replicas` and as the ready-pod count
//!   that multiplies the usage ratio. The controller multiplies by the number
//!   of *ready* pods and, when some pods are unready or have no metrics,
//!   recomputes the ratio treating them as 0 % (scale-up) or 100 % / the
//!   target (scale-down) and refuses to flip direction
//!   (`replica_calculator.go`: `GetResourceReplicas`, `calcPlainMetricReplicas`).
//!   None of that is modelled; the caller decides which instances its
//!   average covers.
//! * Every metric is treated as an averaged value compared with its target
//!   (`Utilization` / `AverageValue` style). The `AverageValue` forms of
//!   Object/External metrics (`ceil(total / target)`) are not separate.
//! * One symmetric `tolerance`; the per-direction
//!   `behavior.scale{Up,Down}.tolerance` of newer releases is not modelled
//!   (it would plug into [`HpaSpec::tolerance`] unchanged when both are equal).
//! * Behaviors are always present. The controller's legacy path for an HPA
//!   whose `spec.behavior` is nil (`normalizeDesiredReplicas`: scale-up
//!   capped at `max(2 × current, 4)` per sync, no policy periods) is not
//!   modelled; use [`Behavior::default_scale_up`] /
//!   [`Behavior::default_scale_down`], which give `max(2 × current,
//!   current + 4)` per 15 s.
//! * The controller reuses "outdated" scale-event slots one at a time per
//!   direction, judged by that direction's longest period
//!   (`storeScaleEvent`, `markScaleEventsOutdated`), so an old event can
//!   linger or vanish somewhat arbitrarily. Here an event counts for a policy
//!   if and only if it is younger than that policy's period, and events are
//!   dropped only once no policy of either direction can count them.
//! * All comparisons of one sync use a single `now` (the controller calls
//!   `time.Now()` several times per sync; the differences are microseconds).
//! * Failed metric reads, failed scale updates and status conditions are not
//!   modelled, except that a non-usable sample (non-finite or negative
//!   `current`, non-positive or non-finite `target`) counts as an invalid
//!   metric.
//!
//! # References
//!
//! * kubernetes/kubernetes `pkg/controller/podautoscaler/horizontal.go`:
//!   `reconcileAutoscaler`, `recordInitialRecommendation`,
//!   `computeReplicasForMetrics`, `normalizeDesiredReplicasWithBehaviors`,
//!   `stabilizeRecommendationWithBehaviors`,
//!   `convertDesiredReplicasWithBehaviorRate`,
//!   `calculateScaleUpLimitWithScalingRules`,
//!   `calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`,
//!   `storeScaleEvent`.
//! * kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go`:
//!   `Tolerances.isWithin`, `getUsageRatioReplicaCount`,
//!   `calcPlainMetricReplicas`.
//! * kubernetes/kubernetes `pkg/apis/autoscaling/v2/defaults.go`:
//!   `defaultHPAScaleUpRules`, `defaultHPAScaleDownRules`.
//! * Kubernetes documentation, "Horizontal Pod Autoscaling"
//!   (<https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/>):
//!   sections "Algorithm details", "Scaling on multiple metrics",
//!   "Stabilization window", "Scaling policies", "Default behavior".

use std::cmp::Ordering;

use tenantsim_engine::SimTime;

/// How a [`ScalingPolicy`] measures the change it allows
/// (`HPAScalingPolicyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// A fixed number of replicas per period.
    Pods,
    /// A percentage of the replica count at the start of the period.
    Percent,
}

/// One scaling policy: at most `value` (pods or percent) of change within
/// any window of length `period` (`HPAScalingPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub kind: PolicyKind,
    pub value: u32,
    pub period: SimTime,
}

impl ScalingPolicy {
    /// At most `value` replicas of change per `period_secs`.
    pub fn pods(value: u32, period_secs: u64) -> Self {
        ScalingPolicy {
            kind: PolicyKind::Pods,
            value,
            period: SimTime::from_secs(period_secs),
        }
    }

    /// At most `value` % of the period-start count of change per `period_secs`.
    pub fn percent(value: u32, period_secs: u64) -> Self {
        ScalingPolicy {
            kind: PolicyKind::Percent,
            value,
            period: SimTime::from_secs(period_secs),
        }
    }
}

/// Which policy applies when several are listed (`ScalingPolicySelect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (the API default).
    #[default]
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling at all in this direction.
    Disabled,
}

/// Scaling rules for one direction (`HPAScalingRules`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    /// How far back past recommendations are considered.
    pub stabilization: SimTime,
    pub policies: Vec<ScalingPolicy>,
    pub select: SelectPolicy,
}

impl Behavior {
    /// The API default for scale-up (`defaults.go`: `defaultHPAScaleUpRules`;
    /// docs "Default behavior"): no stabilization; add up to 100 % or 4 pods,
    /// whichever is more, every 15 s.
    pub fn default_scale_up() -> Self {
        Behavior {
            stabilization: SimTime::ZERO,
            policies: vec![ScalingPolicy::percent(100, 15), ScalingPolicy::pods(4, 15)],
            select: SelectPolicy::Max,
        }
    }

    /// The API default for scale-down (`defaults.go`: `defaultHPAScaleDownRules`,
    /// whose window comes from the controller's
    /// `--horizontal-pod-autoscaler-downscale-stabilization`, 5 min by default,
    /// via `maybeInitScaleDownStabilizationWindow`; docs "Default behavior"):
    /// 300 s stabilization; remove up to 100 % every 15 s.
    pub fn default_scale_down() -> Self {
        Behavior {
            stabilization: SimTime::from_secs(300),
            policies: vec![ScalingPolicy::percent(100, 15)],
            select: SelectPolicy::Max,
        }
    }

    /// The longest policy period (`getLongestPolicyPeriod`).
    fn longest_period(&self) -> SimTime {
        self.policies.iter().map(|p| p.period).max().unwrap_or(SimTime::ZERO)
    }
}

/// The parts of `HorizontalPodAutoscalerSpec` the replica calculation uses.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// `minReplicas` (API default 1; 0 only with `HPAScaleToZero`).
    pub min: u32,
    /// `maxReplicas`; [`Hpa::new`] raises it to `min` if it is lower (the API
    /// server rejects such a spec).
    pub max: u32,
    /// Usage ratios within `[1 − tolerance, 1 + tolerance]` cause no change
    /// (`--horizontal-pod-autoscaler-tolerance`, default 0.1).
    pub tolerance: f64,
    pub scale_up: Behavior,
    pub scale_down: Behavior,
}

impl HpaSpec {
    /// The controller's default tolerance.
    pub const DEFAULT_TOLERANCE: f64 = 0.1;
    /// kube-controller-manager's default `--horizontal-pod-autoscaler-sync-period`,
    /// in seconds: the `policy = "hpa"` default `interval`.
    pub const DEFAULT_SYNC_PERIOD_S: f64 = 15.0;

    /// A spec with the default tolerance and default behaviors.
    pub fn with_defaults(min: u32, max: u32) -> Self {
        HpaSpec {
            min,
            max,
            tolerance: Self::DEFAULT_TOLERANCE,
            scale_up: Behavior::default_scale_up(),
            scale_down: Behavior::default_scale_down(),
        }
    }
}

/// One metric observation: current average utilization/value and its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricSample {
    pub current: f64,
    pub target: f64,
}

impl MetricSample {
    /// The usage ratio `current / target`, or `None` if the sample is not
    /// usable (the controller would have failed to compute this metric).
    fn usage_ratio(self) -> Option<f64> {
        let usable = self.current.is_finite() && self.current >= 0.0 && self.target.is_finite() && self.target > 0.0;
        usable.then(|| self.current / self.target)
    }
}

/// An unstabilized recommendation (`timestampedRecommendation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Recommendation {
    at: SimTime,
    replicas: u32,
}

/// A change of the desired count (`timestampedScaleEvent`); `delta` is
/// positive for a scale-up, negative for a scale-down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ScaleEvent {
    at: SimTime,
    delta: i64,
}

/// One HorizontalPodAutoscaler: its spec and the history the controller
/// keeps for it.
#[derive(Clone, Debug)]
pub struct Hpa {
    spec: HpaSpec,
    /// Unstabilized recommendations, oldest first.
    recommendations: Vec<Recommendation>,
    /// Scale events of both directions, oldest first.
    events: Vec<ScaleEvent>,
    /// Whether the first sync has recorded its initial recommendation
    /// (`recordInitialRecommendation` only acts while the controller has no
    /// history for the HPA; pruning here may empty the list, hence a flag).
    synced: bool,
}

/// Whether something that happened at `at` is strictly younger than `span`
/// at `now`, i.e. `at` is after `now − span` (the controller's
/// `timestamp.After(cutoff)`), without underflow near time zero.
fn within(at: SimTime, now: SimTime, span: SimTime) -> bool {
    now.saturating_sub(at) < span
}

/// Converts a count computed in `i64` back to `u32`, saturating.
fn to_count(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Which rule set the final count of a sync (the reason of the HPA's
/// `ScalingLimited` condition, or why nothing was computed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Limit {
    /// The stabilized recommendation was within every limit.
    DesiredWithinRange,
    /// `maxReplicas` capped it (or corrected a count above it).
    TooManyReplicas,
    /// `minReplicas` raised it (or corrected a count below it).
    TooFewReplicas,
    /// A scale-up policy capped it.
    ScaleUpLimit,
    /// A scale-down policy held it up.
    ScaleDownLimit,
    /// The target has zero replicas and `minReplicas` > 0.
    ScalingDisabled,
    /// No metric could be computed (or one failed and the rest point down).
    NoMetrics,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::DesiredWithinRange => "DesiredWithinRange",
            Limit::TooManyReplicas => "TooManyReplicas",
            Limit::TooFewReplicas => "TooFewReplicas",
            Limit::ScaleUpLimit => "ScaleUpLimit",
            Limit::ScaleDownLimit => "ScaleDownLimit",
            Limit::ScalingDisabled => "ScalingDisabled",
            Limit::NoMetrics => "NoMetrics",
        }
    }
}

/// One sync's decision, step by step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// `spec.replicas` before the sync.
    pub current: u32,
    /// The largest metric proposal (None when the count was corrected into
    /// `[min, max]` before metrics, or no metric could be computed).
    pub proposal: Option<u32>,
    /// After the stabilization windows.
    pub stabilized: Option<u32>,
    /// After the policies and `[min, max]`: the new `spec.replicas`.
    pub desired: u32,
    /// What decided `desired`.
    pub limit: Limit,
}

impl Hpa {
    pub fn new(mut spec: HpaSpec) -> Self {
        spec.max = spec.max.max(spec.min);
        Hpa {
            spec,
            recommendations: Vec::new(),
            events: Vec::new(),
            synced: false,
        }
    }

    pub fn spec(&self) -> &HpaSpec {
        &self.spec
    }

    /// Called at each sync at time `now` with the current replica count (the
    /// HPA's view of spec.replicas) and one sample per metric; returns the new
    /// desired count.
    ///
    /// An empty `metrics` slice (no data yet), or one with no usable sample,
    /// keeps the current count, except that a count outside `[min, max]` is
    /// still brought to the nearest bound (the controller does that before
    /// reading metrics); see the module documentation for the zero case.
    pub fn reconcile(&mut self, now: SimTime, current: u32, metrics: &[MetricSample]) -> u32 {
        let proposals = self.proposals(current, metrics);
        self.decide(now, current, &proposals).desired
    }

    /// Each sample's own proposal (None for an unusable one), in order:
    /// what [`Hpa::reconcile`] hands to [`Hpa::decide`].
    pub fn proposals(&self, current: u32, metrics: &[MetricSample]) -> Vec<Option<u32>> {
        metrics
            .iter()
            .map(|m| m.usage_ratio().map(|r| self.replicas_for_ratio(current, r)))
            .collect()
    }

    /// One sync from per-metric proposals that the caller computed (with
    /// [`super::replica_calc::calculate`]): `None` for a metric the
    /// controller could not compute. Returns every step of the decision.
    pub fn decide(&mut self, now: SimTime, current: u32, proposals: &[Option<u32>]) -> Decision {
        // horizontal.go `reconcileAutoscaler` → `recordInitialRecommendation`:
        // the first sync seeds the history with the current count, so a new
        // HPA does not scale down before a full window of evidence.
        if !self.synced {
            self.synced = true;
            self.recommendations.push(Recommendation {
                at: now,
                replicas: current,
            });
        }
        self.prune(now);

        let (min, max) = (self.spec.min, self.spec.max);
        let mut d = Decision {
            current,
            proposal: None,
            stabilized: None,
            desired: current,
            limit: Limit::DesiredWithinRange,
        };
        // `reconcileAutoscaler`: the branch order matters.
        if current == 0 && min != 0 {
            // "scaling is disabled since the replica count of the target is zero".
            d.desired = 0;
            d.limit = Limit::ScalingDisabled;
            return d;
        } else if current > max {
            // "Current number of replicas above Spec.MaxReplicas".
            d.desired = max;
            d.limit = Limit::TooManyReplicas;
        } else if current < min {
            // "Current number of replicas below Spec.MinReplicas".
            d.desired = min;
            d.limit = Limit::TooFewReplicas;
        } else {
            let Some(proposal) = Self::metric_proposal(current, proposals) else {
                // `computeReplicasForMetrics` failed: no rescale this sync.
                d.limit = Limit::NoMetrics;
                return d;
            };
            d.proposal = Some(proposal);
            let stabilized = self.stabilize(now, current, proposal);
            d.stabilized = Some(stabilized);
            let (desired, limit) = self.apply_policies(now, current, stabilized);
            d.desired = desired;
            d.limit = limit;
        }

        if d.desired != current {
            // `storeScaleEvent`, after a successful rescale.
            self.events.push(ScaleEvent {
                at: now,
                delta: i64::from(d.desired) - i64::from(current),
            });
        }
        d
    }

    /// An HPA whose controller already holds this history: unstabilized
    /// recommendations and scale events (`delta` > 0 up, < 0 down), as
    /// `hpa explain` reads it from a snapshot and the ported controller
    /// tests set it up.
    pub fn with_history(spec: HpaSpec, recommendations: &[(SimTime, u32)], events: &[(SimTime, i64)]) -> Self {
        let mut h = Hpa::new(spec);
        h.synced = true;
        h.recommendations = recommendations
            .iter()
            .map(|&(at, replicas)| Recommendation { at, replicas })
            .collect();
        h.recommendations.sort_by_key(|r| r.at);
        h.events = events.iter().map(|&(at, delta)| ScaleEvent { at, delta }).collect();
        h.events.sort_by_key(|e| e.at);
        h
    }

    /// The maximum proposal over the metrics (`computeReplicasForMetrics`),
    /// or `None` when the controller would not scale on them.
    fn metric_proposal(current: u32, proposals: &[Option<u32>]) -> Option<u32> {
        let best = proposals.iter().flatten().copied().max()?;
        let invalid = proposals.iter().filter(|p| p.is_none()).count();
        // `computeReplicasForMetrics`: "If all metrics are invalid or some are
        // invalid and we would scale down", do nothing.
        if invalid > 0 && best < current {
            return None;
        }
        Some(best)
    }

    /// One metric's proposal (`replica_calculator.go`:
    /// `getUsageRatioReplicaCount`, and the no-unready-pods path of
    /// `calcPlainMetricReplicas` / `GetResourceReplicas`; docs "Algorithm
    /// details": `ceil(currentReplicas × currentMetricValue / desiredMetricValue)`).
    fn replicas_for_ratio(&self, current: u32, ratio: f64) -> u32 {
        if current == 0 {
            // "Scale to zero or n pods depending on usageRatio": no tolerance.
            // Float-to-int `as` saturates (the controller caps at MaxInt32).
            return ratio.ceil() as u32;
        }
        // `Tolerances.isWithin`: inclusive on both ends.
        let tol = self.spec.tolerance;
        if (1.0 - tol) <= ratio && ratio <= (1.0 + tol) {
            return current;
        }
        // `current` stands in for the ready-pod count (see module docs).
        (ratio * f64::from(current)).ceil() as u32
    }

    /// `stabilizeRecommendationWithBehaviors`: the lowest recommendation in
    /// the scale-up window is a floor, the highest in the scale-down window a
    /// ceiling, and the current count is moved only as far as those allow.
    /// Both windows include this sync's (unclamped) proposal, which is then
    /// recorded. Docs "Stabilization window".
    fn stabilize(&mut self, now: SimTime, current: u32, proposal: u32) -> u32 {
        let up_window = self.spec.scale_up.stabilization;
        let down_window = self.spec.scale_down.stabilization;
        let mut up_floor = proposal;
        let mut down_ceiling = proposal;
        for rec in &self.recommendations {
            if within(rec.at, now, up_window) {
                up_floor = up_floor.min(rec.replicas);
            }
            if within(rec.at, now, down_window) {
                down_ceiling = down_ceiling.max(rec.replicas);
            }
        }
        self.recommendations.push(Recommendation {
            at: now,
            replicas: proposal,
        });
        let mut stabilized = current;
        if stabilized < up_floor {
            stabilized = up_floor;
        }
        if stabilized > down_ceiling {
            stabilized = down_ceiling;
        }
        stabilized
    }

    /// `convertDesiredReplicasWithBehaviorRate`: limit the move from
    /// `current` to `desired` by the policies of its direction, and by
    /// `[min, max]`, and say which limit applied. Called only with
    /// `min <= current <= max`.
    fn apply_policies(&self, now: SimTime, current: u32, desired: u32) -> (u32, Limit) {
        let cur = i64::from(current);
        match desired.cmp(&current) {
            Ordering::Greater => {
                // "We shouldn't scale up further until the scaleUpEvents will
                // be cleaned up": a limit below current means no scale-up.
                let limit = self.scale_up_limit(now, current).max(cur);
                let (allowed, why) = if i64::from(self.spec.max) > limit {
                    (limit, Limit::ScaleUpLimit)
                } else {
                    (i64::from(self.spec.max), Limit::TooManyReplicas)
                };
                if i64::from(desired) > allowed {
                    return (to_count(allowed), why);
                }
            }
            Ordering::Less => {
                let limit = self.scale_down_limit(now, current).min(cur);
                let (allowed, why) = if i64::from(self.spec.min) < limit {
                    (limit, Limit::ScaleDownLimit)
                } else {
                    (i64::from(self.spec.min), Limit::TooFewReplicas)
                };
                if i64::from(desired) < allowed {
                    return (to_count(allowed), why);
                }
            }
            Ordering::Equal => {}
        }
        (desired, Limit::DesiredWithinRange)
    }

    /// Replicas added and removed by scale events younger than `period`
    /// (`getReplicasChangePerPeriod`, once per direction).
    fn changes_within(&self, now: SimTime, period: SimTime) -> (i64, i64) {
        self.events
            .iter()
            .filter(|e| within(e.at, now, period))
            .fold((0, 0), |(added, removed), e| {
                if e.delta > 0 {
                    (added + e.delta, removed)
                } else {
                    (added, removed - e.delta)
                }
            })
    }

    /// The count at the start of `period`: current minus what was added plus
    /// what was removed since then (both directions count, as in the current
    /// controller).
    fn period_start(&self, now: SimTime, current: u32, period: SimTime) -> i64 {
        let (added, removed) = self.changes_within(now, period);
        i64::from(current) - added + removed
    }

    /// The highest count scale-up may reach now
    /// (`calculateScaleUpLimitWithScalingRules`; docs "Scaling policies").
    fn scale_up_limit(&self, now: SimTime, current: u32) -> i64 {
        let rules = &self.spec.scale_up;
        let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
            SelectPolicy::Disabled => return i64::from(current),
            // The smallest change gives the lowest limit.
            SelectPolicy::Min => (i64::MAX, std::cmp::min),
            SelectPolicy::Max => (i64::MIN, std::cmp::max),
        };
        for policy in &rules.policies {
            let start = self.period_start(now, current, policy.period);
            let proposed = match policy.kind {
                PolicyKind::Pods => start.saturating_add(i64::from(policy.value)),
                // Rounded up "because the proposed change might not increase
                // the replica count causing the target to never scale up".
                PolicyKind::Percent => (start as f64 * (1.0 + f64::from(policy.value) / 100.0)).ceil() as i64,
            };
            result = pick(result, proposed);
        }
        result
    }

    /// The lowest count scale-down may reach now
    /// (`calculateScaleDownLimitWithBehaviors`; docs "Scaling policies").
    fn scale_down_limit(&self, now: SimTime, current: u32) -> i64 {
        let rules = &self.spec.scale_down;
        let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select {
            SelectPolicy::Disabled => return i64::from(current),
            // The smallest change gives the highest limit.
            SelectPolicy::Min => (i64::MIN, std::cmp::max),
            SelectPolicy::Max => (i64::MAX, std::cmp::min),
        };
        for policy in &rules.policies {
            let start = self.period_start(now, current, policy.period);
            let proposed = match policy.kind {
                PolicyKind::Pods => start.saturating_sub(i64::from(policy.value)),
                // Go's int32(float64) conversion truncates toward zero.
                PolicyKind::Percent => (start as f64 * (1.0 - f64::from(policy.value) / 100.0)).trunc() as i64,
            };
            result = pick(result, proposed);
        }
        result
    }

    /// Drops history no window or period can count any more. Outcome-neutral:
    /// the controller keeps (and recycles) such entries but never counts them.
    fn prune(&mut self, now: SimTime) {
        let rec_span = self.spec.scale_up.stabilization.max(self.spec.scale_down.stabilization);
        self.recommendations.retain(|r| within(r.at, now, rec_span));
        let event_span = self
            .spec
            .scale_up
            .longest_period()
            .max(self.spec.scale_down.longest_period());
        self.events.retain(|e| within(e.at, now, event_span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    fn m(current: f64, target: f64) -> MetricSample {
        MetricSample { current, target }
    }

    /// min/max with the default tolerance and behaviors.
    fn spec(min: u32, max: u32) -> HpaSpec {
        HpaSpec::with_defaults(min, max)
    }

    /// `spec` with the scale-down stabilization window set (0 = immediate).
    fn down_window(mut s: HpaSpec, window_secs: u64) -> HpaSpec {
        s.scale_down.stabilization = secs(window_secs);
        s
    }

    fn up_rules(mut s: HpaSpec, policies: Vec<ScalingPolicy>, select: SelectPolicy) -> HpaSpec {
        s.scale_up.policies = policies;
        s.scale_up.select = select;
        s
    }

    fn down_rules(mut s: HpaSpec, policies: Vec<ScalingPolicy>, select: SelectPolicy) -> HpaSpec {
        s.scale_down.policies = policies;
        s.scale_down.select = select;
        s
    }

    /// One sync: at `t` seconds, with `current` replicas and these
    /// `(current, target)` metric pairs, `reconcile` must return `expect`.
    struct Step {
        t: u64,
        current: u32,
        metrics: Vec<MetricSample>,
        expect: u32,
    }

    fn at(t: u64, current: u32, metrics: &[(f64, f64)], expect: u32) -> Step {
        Step {
            t,
            current,
            metrics: metrics.iter().map(|&(c, tg)| m(c, tg)).collect(),
            expect,
        }
    }

    struct Case {
        name: &'static str,
        spec: HpaSpec,
        steps: Vec<Step>,
    }

    fn case(name: &'static str, spec: HpaSpec, steps: Vec<Step>) -> Case {
        Case { name, spec, steps }
    }

    #[test]
    fn table() {
        use SelectPolicy::{Disabled, Max, Min};
        let cases = vec![
            // ---- Tolerance band (replica_calculator.go `Tolerances.isWithin`;
            //      docs "Algorithm details": default tolerance 0.1) ----
            // ratio 105/100 = 1.05 ∈ [0.9, 1.1] → keep 4.
            case(
                "tolerance: ratio 1.05 keeps",
                spec(1, 10),
                vec![at(0, 4, &[(105.0, 100.0)], 4)],
            ),
            // ratio 0.95 ∈ [0.9, 1.1] → keep 10 (down window 0, so only the
            // tolerance can be what holds it).
            case(
                "tolerance: ratio 0.95 keeps",
                down_window(spec(1, 20), 0),
                vec![at(0, 10, &[(95.0, 100.0)], 10)],
            ),
            // ratio 1.11 > 1.1 → ceil(4 × 1.11) = ceil(4.44) = 5; up limit
            // max(ceil(4 × 2), 4 + 4) = 8 (calculateScaleUpLimitWithScalingRules).
            case(
                "tolerance: ratio 1.11 scales",
                spec(1, 10),
                vec![at(0, 4, &[(111.0, 100.0)], 5)],
            ),
            // ratio 0.89 < 0.9 → ceil(10 × 0.89) = ceil(8.9) = 9.
            case(
                "tolerance: ratio 0.89 scales",
                down_window(spec(1, 20), 0),
                vec![at(0, 10, &[(89.0, 100.0)], 9)],
            ),
            // ratio exactly 1.1: isWithin uses `<=`, so the edge is inside → 4.
            case(
                "tolerance: edge 1.1 inclusive",
                spec(1, 10),
                vec![at(0, 4, &[(110.0, 100.0)], 4)],
            ),
            // ---- Basic arithmetic (docs "Algorithm details") ----
            // ceil(3 × 90/70) = ceil(3.857) = 4; limit max(6, 7) = 7.
            case(
                "ceil: 3 pods at 90% vs 70%",
                spec(1, 10),
                vec![at(0, 3, &[(90.0, 70.0)], 4)],
            ),
            // ceil(5 × 30/70) = ceil(2.143) = 3; down window 0; down limit
            // trunc(5 × (1 − 1.00)) = 0 → floor is min = 1.
            case(
                "ceil: 5 pods at 30% vs 70%",
                down_window(spec(1, 10), 0),
                vec![at(0, 5, &[(30.0, 70.0)], 3)],
            ),
            // ---- Multiple metrics (computeReplicasForMetrics; docs "Scaling on
            //      multiple metrics": the largest proposal wins) ----
            // cpu 100/100 → 4 (in band), memory 150/100 → ceil(4 × 1.5) = 6 → 6.
            case(
                "multi-metric: max of 4 and 6",
                spec(1, 10),
                vec![at(0, 4, &[(100.0, 100.0), (150.0, 100.0)], 6)],
            ),
            // cpu → ceil(4 × 0.5) = 2, memory → ceil(4 × 1.25) = 5 → 5 (a
            // scale-down vote never beats a scale-up vote).
            case(
                "multi-metric: up beats down",
                down_window(spec(1, 10), 0),
                vec![at(0, 4, &[(50.0, 100.0), (125.0, 100.0)], 5)],
            ),
            // One valid metric proposing ceil(6 × 0.5) = 3 and one invalid
            // (target 0): "some are invalid and we would scale down" → no
            // action, keep 6 (computeReplicasForMetrics).
            case(
                "invalid metric blocks scale-down",
                down_window(spec(1, 10), 0),
                vec![at(0, 6, &[(50.0, 100.0), (1.0, 0.0)], 6)],
            ),
            // One valid metric proposing ceil(4 × 1.5) = 6 and one invalid
            // (NaN): scale-up proceeds on the valid one → 6.
            case(
                "invalid metric allows scale-up",
                spec(1, 10),
                vec![at(0, 4, &[(150.0, 100.0), (f64::NAN, 100.0)], 6)],
            ),
            // No metric data: computeReplicasForMetrics fails → keep 5.
            case("empty metrics keep the count", spec(1, 10), vec![at(0, 5, &[], 5)]),
            // ---- Clamping (convertDesiredReplicasWithBehaviorRate, reconcileAutoscaler) ----
            // ceil(8 × 2) = 16; up limit max(16, 12) = 16; maximumAllowed =
            // min(max 10, 16) = 10 ("TooManyReplicas").
            case("clamp at max", spec(1, 10), vec![at(0, 8, &[(200.0, 100.0)], 10)]),
            // ceil(4 × 0.1) = 1; down limit 0; minimumAllowed = max(min 2, 0)
            // = 2 ("TooFewReplicas").
            case(
                "clamp at min",
                down_window(spec(2, 10), 0),
                vec![at(0, 4, &[(10.0, 100.0)], 2)],
            ),
            // current 15 > max 10: reconcileAutoscaler sets max directly,
            // before metrics and behaviors: even scale-down Disabled and no
            // metric data give 10.
            case(
                "above max corrected despite Disabled",
                down_rules(spec(1, 10), vec![ScalingPolicy::percent(100, 15)], Disabled),
                vec![at(0, 15, &[], 10)],
            ),
            // current 1 < min 3: set to min directly even with scale-up
            // Disabled and metrics asking to go down.
            case(
                "below min corrected despite Disabled",
                up_rules(spec(3, 10), vec![ScalingPolicy::pods(4, 15)], Disabled),
                vec![at(0, 1, &[(10.0, 100.0)], 3)],
            ),
            // current 0 with min 1: "scaling is disabled since the replica
            // count of the target is zero" → 0 whatever the metrics.
            case(
                "zero replicas: autoscaling disabled",
                spec(1, 10),
                vec![at(0, 0, &[(500.0, 100.0)], 0)],
            ),
            // current 0 with min 0 (HPAScaleToZero): getUsageRatioReplicaCount
            // proposes ceil(250/100) = 3; up limit: start 0 → Percent ceil(0)
            // = 0, Pods 0 + 4 = 4 → max 4 → 3.
            case(
                "zero replicas with min 0 scale from zero",
                spec(0, 10),
                vec![at(0, 0, &[(250.0, 100.0)], 3)],
            ),
            // ---- Scale-down stabilization (stabilizeRecommendationWithBehaviors;
            //      docs "Stabilization window") ----
            // 10 pods at 50/100 propose ceil(10 × 0.5) = 5 each sync. The
            // window (300 s) holds the initial recommendation 10@0
            // (recordInitialRecommendation) until its age reaches 300 s
            // (strict After(cutoff)); at t=300 only 5s remain → 5.
            case(
                "down stabilization: drop applied after 300 s",
                spec(1, 10),
                vec![
                    at(0, 10, &[(50.0, 100.0)], 10),
                    at(60, 10, &[(50.0, 100.0)], 10),
                    at(120, 10, &[(50.0, 100.0)], 10),
                    at(180, 10, &[(50.0, 100.0)], 10),
                    at(240, 10, &[(50.0, 100.0)], 10),
                    at(300, 10, &[(50.0, 100.0)], 5),
                ],
            ),
            // Proposals 5@0, 8@100 (ceil(10 × 0.8)), 5@200, 5@300. At t=300
            // the window is (0, 300]: {8@100, 5@200, 5@300} → highest 8. At
            // t=400 (current 8, 50/80 → ceil(8 × 0.625) = 5) the window
            // (100, 400] is {5@200, 5@300, 5@400} → 5.
            case(
                "down stabilization: highest in window wins",
                spec(1, 10),
                vec![
                    at(0, 10, &[(50.0, 100.0)], 10),
                    at(100, 10, &[(80.0, 100.0)], 10),
                    at(200, 10, &[(50.0, 100.0)], 10),
                    at(300, 10, &[(50.0, 100.0)], 8),
                    at(400, 8, &[(50.0, 80.0)], 5),
                ],
            ),
            // ---- Scale-up stabilization (same function; docs "Stabilization
            //      window": lowest recommendation in the window for scale-up) ----
            // Up window 60 s. Proposal ceil(2 × 2) = 4 every 15 s, but the
            // floor is the lowest recommendation younger than 60 s, which
            // includes the initial 2@0 until t=60 → 2, 2, 2, 2, then 4
            // (limit max(4, 6) = 6).
            case(
                "up stabilization: 60 s window",
                {
                    let mut s = spec(1, 10);
                    s.scale_up.stabilization = secs(60);
                    s
                },
                vec![
                    at(0, 2, &[(200.0, 100.0)], 2),
                    at(15, 2, &[(200.0, 100.0)], 2),
                    at(30, 2, &[(200.0, 100.0)], 2),
                    at(45, 2, &[(200.0, 100.0)], 2),
                    at(60, 2, &[(200.0, 100.0)], 4),
                ],
            ),
            // ---- Default scale-up policy (docs "Default behavior":
            //      max(100 %, 4 pods) per 15 s) ----
            // From 1 with ratio 100 (proposal 100, max 100): limit max(ceil(1 ×
            // 2), 1 + 4) = 5. The +4@0 event is 15 s old at t=15 (not After
            // the cutoff) so the next limit starts from 5: max(10, 9) = 10,
            // then max(20, 14) = 20, 40, 80, then maxReplicas 100.
            case(
                "default up policy: 1 → 5 → 10 → 20 … per 15 s",
                spec(1, 100),
                vec![
                    at(0, 1, &[(10_000.0, 100.0)], 5),
                    at(15, 5, &[(2_000.0, 100.0)], 10),
                    at(30, 10, &[(1_000.0, 100.0)], 20),
                    at(45, 20, &[(500.0, 100.0)], 40),
                    at(60, 40, &[(250.0, 100.0)], 80),
                    at(75, 80, &[(125.0, 100.0)], 100),
                ],
            ),
            // ---- Pods policy limiting scale-up (calculateScaleUpLimitWithScalingRules) ----
            // Up: Pods 2 per 60 s. 3 → proposal ceil(3 × 3) = 9, limit 3 + 2 = 5.
            case(
                "Pods policy limits scale-up",
                up_rules(spec(1, 20), vec![ScalingPolicy::pods(2, 60)], Max),
                vec![at(0, 3, &[(300.0, 100.0)], 5)],
            ),
            // ---- Events accumulate within a period (getReplicasChangePerPeriod) ----
            // Up: Pods 4 per 60 s; proposals double each sync.
            // t=0: 2 → 4 (limit 2 + 4 = 6), event +2@0.
            // t=15: 4 → proposal 8; period start 4 − 2 = 2 → limit 6 → 6, event +2@15.
            // t=30: 6 → proposal 12; start 6 − 4 = 2 → limit 6 → stays 6.
            // t=60: +2@0 has aged out (60 s, not After); start 6 − 2 = 4 → limit 8 → 8.
            case(
                "two scale-ups share one period's budget",
                up_rules(spec(1, 20), vec![ScalingPolicy::pods(4, 60)], Max),
                vec![
                    at(0, 2, &[(200.0, 100.0)], 4),
                    at(15, 4, &[(200.0, 100.0)], 6),
                    at(30, 6, &[(200.0, 100.0)], 6),
                    at(60, 6, &[(200.0, 100.0)], 8),
                ],
            ),
            // Up limit counts scale-down events too (current controller:
            // periodStartReplicas = current − added + removed). Down window 0.
            // t=0: 10 → 5 (ceil(10 × 0.5)), event −5@0.
            // t=15: 5 at 400/100 → proposal 20; up Pods 4 per 60 s: start
            // 5 − 0 + 5 = 10 → limit 14 → 14.
            case(
                "scale-up budget starts from before a recent scale-down",
                up_rules(down_window(spec(1, 20), 0), vec![ScalingPolicy::pods(4, 60)], Max),
                vec![at(0, 10, &[(50.0, 100.0)], 5), at(15, 5, &[(400.0, 100.0)], 14)],
            ),
            // Percent rounds up (calculateScaleUpLimitWithScalingRules comment):
            // up Percent 10 per 15 s, 3 → proposal 6, limit ceil(3 × 1.1) =
            // ceil(3.3) = 4 → 4.
            case(
                "Percent scale-up limit rounds up",
                up_rules(spec(1, 20), vec![ScalingPolicy::percent(10, 15)], Max),
                vec![at(0, 3, &[(200.0, 100.0)], 4)],
            ),
            // ---- Percent policy limiting scale-down (calculateScaleDownLimitWithBehaviors) ----
            // Down window 0, Percent 10 per 60 s.
            // t=0: 20 → proposal 10, limit trunc(20 × 0.9) = 18 → 18, event −2@0.
            // t=15: 18 → proposal 9; start 18 + 2 = 20 → limit 18 → stays 18.
            // t=60: −2@0 aged out; start 18 → limit trunc(16.2) = 16 → 16.
            case(
                "Percent policy limits scale-down",
                down_rules(down_window(spec(1, 20), 0), vec![ScalingPolicy::percent(10, 60)], Max),
                vec![
                    at(0, 20, &[(50.0, 100.0)], 18),
                    at(15, 18, &[(50.0, 100.0)], 18),
                    at(60, 18, &[(50.0, 100.0)], 16),
                ],
            ),
            // Percent scale-down truncates (Go int32 conversion): 5 → limit
            // trunc(5 × 0.9) = trunc(4.5) = 4; proposal ceil(5 × 0.2) = 1 → 4.
            case(
                "Percent scale-down limit truncates",
                down_rules(down_window(spec(1, 20), 0), vec![ScalingPolicy::percent(10, 15)], Max),
                vec![at(0, 5, &[(20.0, 100.0)], 4)],
            ),
            // ---- selectPolicy (docs "Scaling policies") ----
            // Up Min: 10 → proposal 30; Percent 100 → 20, Pods 4 → 14; Min
            // picks the smaller change → 14.
            case(
                "selectPolicy Min on scale-up",
                up_rules(
                    spec(1, 50),
                    vec![ScalingPolicy::percent(100, 15), ScalingPolicy::pods(4, 15)],
                    Min,
                ),
                vec![at(0, 10, &[(300.0, 100.0)], 14)],
            ),
            // Down Min: 10 → proposal 1; Percent 50 → trunc(5) = 5, Pods 2 →
            // 8; Min (smallest change) takes the highest limit, 8.
            case(
                "selectPolicy Min on scale-down",
                down_rules(
                    down_window(spec(1, 20), 0),
                    vec![ScalingPolicy::percent(50, 15), ScalingPolicy::pods(2, 15)],
                    Min,
                ),
                vec![at(0, 10, &[(10.0, 100.0)], 8)],
            ),
            // Same with Max: the lowest limit, 5.
            case(
                "selectPolicy Max on scale-down",
                down_rules(
                    down_window(spec(1, 20), 0),
                    vec![ScalingPolicy::percent(50, 15), ScalingPolicy::pods(2, 15)],
                    Max,
                ),
                vec![at(0, 10, &[(10.0, 100.0)], 5)],
            ),
            // Down Disabled: calculateScaleDownLimitWithBehaviors returns
            // current → never below 10, at any time.
            case(
                "selectPolicy Disabled on scale-down",
                down_rules(
                    down_window(spec(1, 20), 0),
                    vec![ScalingPolicy::percent(100, 15)],
                    Disabled,
                ),
                vec![
                    at(0, 10, &[(10.0, 100.0)], 10),
                    at(15, 10, &[(10.0, 100.0)], 10),
                    at(600, 10, &[(10.0, 100.0)], 10),
                    at(3_600, 10, &[(10.0, 100.0)], 10),
                ],
            ),
            // Up Disabled: the scale-up limit is current → stays 2, while
            // scale-down still works (the directions are independent).
            case(
                "selectPolicy Disabled on scale-up",
                up_rules(down_window(spec(1, 20), 0), vec![ScalingPolicy::pods(4, 15)], Disabled),
                vec![at(0, 2, &[(500.0, 100.0)], 2), at(15, 4, &[(10.0, 100.0)], 1)],
            ),
        ];

        assert!(cases.len() >= 20);
        for c in cases {
            let mut hpa = Hpa::new(c.spec);
            for s in &c.steps {
                let got = hpa.reconcile(secs(s.t), s.current, &s.metrics);
                assert_eq!(
                    got, s.expect,
                    "case `{}` at t={} s (current {})",
                    c.name, s.t, s.current
                );
            }
        }
    }

    /// Default behaviors, min 1, max 10, target 50 % utilization, 1 core per
    /// instance, sync every 15 s for 10 min; utilization = 100 × load / count
    /// and the returned count is applied at once. Load: 1.0 core before
    /// t=60, 4.5 cores until t=180, then 1.2 cores.
    ///
    /// * t < 60: 100/2 = 50 % → ratio 1 → 2.
    /// * t=60: 450/2 = 225 % → ratio 4.5 → proposal 9; default up limit
    ///   max(2 × 2, 2 + 4) = 6 → 6 (calculateScaleUpLimitWithScalingRules).
    /// * t=75: 450/6 = 75 % → ratio 1.5 → 9; the +4@60 event is 15 s old and
    ///   no longer counts → limit max(12, 10) → 9.
    /// * t=90…165: 450/9 = 50 % → 9.
    /// * t=180…450: 120/9 = 13.3 % → ratio 0.267 → ceil(2.4) = 3, but the
    ///   300 s scale-down window still holds the 9 recorded at t=165
    ///   (stabilizeRecommendationWithBehaviors) → 9.
    /// * t=465: 9@165 is 300 s old and leaves the window → 3 (down limit
    ///   100 % → no limit).
    /// * t>=480: 120/3 = 40 % → ratio 0.8 → ceil(2.4) = 3 → 3.
    #[test]
    fn timeline_load_step() {
        let mut hpa = Hpa::new(spec(1, 10));
        let load = |t: u64| match t {
            0..=59 => 1.0,
            60..=179 => 4.5,
            _ => 1.2,
        };
        #[rustfmt::skip]
        let expected: [(u64, u32); 41] = [
            (0, 2), (15, 2), (30, 2), (45, 2),
            (60, 6), (75, 9), (90, 9), (105, 9), (120, 9), (135, 9), (150, 9), (165, 9),
            (180, 9), (195, 9), (210, 9), (225, 9), (240, 9), (255, 9), (270, 9), (285, 9),
            (300, 9), (315, 9), (330, 9), (345, 9), (360, 9), (375, 9), (390, 9), (405, 9),
            (420, 9), (435, 9), (450, 9),
            (465, 3), (480, 3), (495, 3), (510, 3), (525, 3), (540, 3), (555, 3), (570, 3),
            (585, 3), (600, 3),
        ];
        let mut current = 2;
        for (t, want) in expected {
            let util = 100.0 * load(t) / f64::from(current);
            current = hpa.reconcile(secs(t), current, &[m(util, 50.0)]);
            assert_eq!(current, want, "t={t} s");
        }
    }

    #[test]
    fn defaults_match_the_api() {
        // defaults.go `defaultHPAScaleUpRules` / `defaultHPAScaleDownRules`;
        // docs "Default behavior".
        let up = Behavior::default_scale_up();
        assert_eq!(up.stabilization, SimTime::ZERO);
        assert_eq!(up.select, SelectPolicy::Max);
        assert_eq!(
            up.policies,
            vec![ScalingPolicy::percent(100, 15), ScalingPolicy::pods(4, 15)]
        );
        let down = Behavior::default_scale_down();
        assert_eq!(down.stabilization, secs(300));
        assert_eq!(down.select, SelectPolicy::Max);
        assert_eq!(down.policies, vec![ScalingPolicy::percent(100, 15)]);
        assert_eq!(HpaSpec::with_defaults(1, 5).tolerance, 0.1);
    }

    #[test]
    fn history_stays_bounded() {
        // Oscillating load over 10 hours of 15 s syncs: history never holds
        // more than a window's worth of syncs.
        let mut hpa = Hpa::new(spec(1, 50));
        let mut current = 5;
        for i in 0..2_400u64 {
            let util = if (i / 40) % 2 == 0 { 200.0 } else { 20.0 };
            current = hpa.reconcile(secs(i * 15), current, &[m(util, 60.0)]);
        }
        // 300 s / 15 s = 20 syncs (+1 for the current one) at most.
        assert!(hpa.recommendations.len() <= 21, "{}", hpa.recommendations.len());
        // Longest period 15 s: at most the event of this sync survives.
        assert!(hpa.events.len() <= 1, "{}", hpa.events.len());
    }

    #[test]
    fn result_within_bounds_when_current_is() {
        // A deterministic sweep of random-ish specs and observations: with
        // min <= current <= max the result stays in [min, max].
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        for _ in 0..200 {
            let min = next(4) as u32;
            let max = min + 1 + next(30) as u32;
            let mut s = spec(min, max);
            s.scale_down.stabilization = secs(next(4) * 60);
            s.scale_up.stabilization = secs(next(2) * 30);
            let mut hpa = Hpa::new(s);
            let mut current = min.max(1);
            for k in 0..60u64 {
                let util = next(400) as f64;
                current = hpa.reconcile(secs(k * 15), current, &[m(util, 70.0)]);
                assert!((min..=max).contains(&current), "{current} outside [{min}, {max}]");
            }
        }
    }

    #[test]
    fn max_below_min_is_raised() {
        let hpa = Hpa::new(spec(5, 3));
        assert_eq!((hpa.spec().min, hpa.spec().max), (5, 5));
    }
}

#[cfg(test)]
#[path = "hpa_behavior_table.rs"]
mod behavior_table;
