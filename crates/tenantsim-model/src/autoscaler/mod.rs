//! The autoscaler: policies that turn observed metrics into a desired
//! instance count, one file per policy behind the [`Policy`] trait.
//!
//! Every `interval` the service observes each instance group (averages over
//! the ready instances since the previous observation) and asks the group's
//! policy for a desired count; the instance lifecycle then starts or drains
//! instances to reach it. A policy never sees instances, only the
//! [`Observation`]; its answer is clamped to [min, max] here, so every
//! policy keeps replicas within bounds.

pub mod explain;
pub mod hpa;
pub mod k8s_view;
mod keda;
mod observe;
pub mod replica_calc;
mod schedule;
mod step;
mod target_tracking;
mod threshold;

pub use keda::KedaPolicy;
pub use observe::{GroupScaling, Scaling};
pub use schedule::SchedulePolicy;
pub use step::{StepAdjustment, StepPolicy};
pub use target_tracking::TargetTrackingPolicy;
pub use threshold::{ThresholdPolicy, ThresholdRule};

use crate::spec::{AutoscalerSpec, PolicySpec};
use tenantsim_engine::SimTime;

/// What an autoscaler can scale on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleMetric {
    /// Busy cores / cores of ready instances (0..1).
    Cpu,
    /// Memory used / memory of ready instances (0..1).
    Memory,
    /// Requests arriving per second per ready instance.
    Rps,
    /// Requests waiting for a worker, per ready instance (time average).
    Queue,
    /// Connections in use per pool (time average).
    PoolInUse,
    /// 95th percentile latency of requests completed in the interval (s).
    LatencyP95,
}

impl ScaleMetric {
    pub const NAMES: &'static [&'static str] = &["cpu", "memory", "rps", "queue", "pool_in_use", "latency_p95"];
    pub fn parse(s: &str) -> Option<ScaleMetric> {
        Some(match s {
            "cpu" => ScaleMetric::Cpu,
            "memory" => ScaleMetric::Memory,
            "rps" => ScaleMetric::Rps,
            "queue" => ScaleMetric::Queue,
            "pool_in_use" => ScaleMetric::PoolInUse,
            "latency_p95" => ScaleMetric::LatencyP95,
            _ => return None,
        })
    }
    pub fn index(self) -> usize {
        self as usize
    }
    /// A utilization between 0 and 1 (cpu, memory): targets and thresholds
    /// on it are ratios too. The others are counts, rates or seconds.
    pub fn is_ratio(self) -> bool {
        matches!(self, ScaleMetric::Cpu | ScaleMetric::Memory)
    }
    pub fn name(self) -> &'static str {
        Self::NAMES[self.index()]
    }
}

/// What the autoscaler sees at one evaluation.
#[derive(Clone, Copy, Debug)]
pub struct Observation {
    pub now: SimTime,
    /// The group's desired count before this evaluation (Kubernetes'
    /// spec.replicas): instances starting, ready, or failed and awaiting
    /// their replacement.
    pub current: u32,
    /// Ready instances (those the metrics average over).
    pub ready: u32,
    /// Each metric's value over the last interval, by [`ScaleMetric::index`];
    /// None when it could not be measured (no ready instance, no request).
    pub metrics: [Option<f64>; 6],
    /// The group's totals over the last interval, measurable with no
    /// instance at all (what an External metric such as a request rate
    /// or a broker's queue length reports): arrivals per second, and the
    /// time-average number of requests waiting for a worker.
    pub arrivals_per_s: Option<f64>,
    pub waiting: Option<f64>,
}

impl Observation {
    pub fn get(&self, m: ScaleMetric) -> Option<f64> {
        self.metrics[m.index()]
    }
}

/// How an HPA sync reached its count: the metric whose proposal was the
/// largest (with its value and target), the raw recommendation, the
/// stabilized value and the rule that set the final count. Copy and small,
/// so that a scaling event can carry it without allocating.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpaDetail {
    /// The metric that proposed the most replicas (None when the count was
    /// corrected into `[min, max]` before metrics, or none was usable).
    pub metric: Option<ScaleMetric>,
    /// Whether `metric` was read as an External metric (KEDA's triggers):
    /// its `value` is then the group's total and `target` per replica.
    pub external: bool,
    /// The metric as the autoscaler observed it at this sync (group average
    /// over ready instances; diluted by starting ones without `controller`).
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// Every step of the sync: raw recommendation (`proposal`),
    /// `stabilized`, final `desired` and the `limit` that decided it.
    pub decision: hpa::Decision,
}

impl HpaDetail {
    /// `metric` in the scenario's words, e.g. `cpu` or `rps (external)`.
    pub fn metric_name(&self) -> Option<String> {
        let m = self.metric?.name();
        Some(if self.external {
            format!("{m} (external)")
        } else {
            m.to_string()
        })
    }
}

/// One metric as the HPA read it: (metric, external, value, target).
type MetricRead = (ScaleMetric, bool, Option<f64>, f64);

/// The detail of the HPA decision `d` reached from `proposals` (one per
/// entry of `metrics`, in order).
fn hpa_detail(metrics: &[MetricRead], proposals: &[Option<u32>], d: hpa::Decision) -> HpaDetail {
    // The first metric with the largest proposal.
    let best = d.proposal.and_then(|p| proposals.iter().position(|&q| q == Some(p)));
    let m = best.and_then(|i| metrics.get(i));
    HpaDetail {
        metric: m.map(|m| m.0),
        external: m.is_some_and(|m| m.1),
        value: m.and_then(|m| m.2),
        target: m.map(|m| m.3),
        decision: d,
    }
}

/// Why an autoscaler chose its count: the policy's words, and for the HPA
/// every step of its decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingReason {
    pub text: &'static str,
    pub hpa: Option<HpaDetail>,
}

/// A scaling policy: the desired count, and why.
pub trait Policy: Send {
    fn desired(&mut self, obs: &Observation) -> (u32, &'static str);

    /// The same with the pods and samples the Kubernetes controller would
    /// see; only the `hpa` policy reads them.
    fn desired_seen(&mut self, obs: &Observation, _pods: &k8s_view::PodsView) -> (u32, &'static str) {
        self.desired(obs)
    }

    /// The steps of the last answer, for the policies that keep them.
    fn detail(&self) -> Option<HpaDetail> {
        None
    }
}

/// A policy with its bounds.
pub struct Autoscaler {
    pub min: u32,
    pub max: u32,
    pub interval: SimTime,
    policy: Box<dyn Policy>,
}

impl Autoscaler {
    pub fn new(min: u32, max: u32, interval: SimTime, policy: Box<dyn Policy>) -> Self {
        Autoscaler {
            min,
            max,
            interval,
            policy,
        }
    }

    /// The desired count, clamped to [min, max], and the reason.
    pub fn evaluate(&mut self, obs: &Observation) -> (u32, ScalingReason) {
        let (d, why) = self.policy.desired(obs);
        self.clamp(d, why)
    }

    /// [`Autoscaler::evaluate`] with the controller's view of the pods.
    pub fn evaluate_seen(&mut self, obs: &Observation, pods: &k8s_view::PodsView) -> (u32, ScalingReason) {
        let (d, why) = self.policy.desired_seen(obs, pods);
        self.clamp(d, why)
    }

    fn clamp(&self, d: u32, why: &'static str) -> (u32, ScalingReason) {
        let c = d.clamp(self.min, self.max.max(self.min));
        let text = if c != d { "clamped to [min, max]" } else { why };
        (
            c,
            ScalingReason {
                text,
                hpa: self.policy.detail(),
            },
        )
    }
}

/// `hpa`: the Kubernetes algorithm ([`hpa::Hpa`]) on the configured metrics.
///
/// Instances still starting are handled as the controller handles unready
/// pods (`replica_calculator.go`, `GetResourceReplicas`): when a metric
/// points to a scale-up, the unready ones are assumed to use 0 % of it, so
/// the average over all `current` instances is `value × ready / current`;
/// if that no longer points up, the metric proposes no change. Without
/// this, a slow `startup` makes the HPA see the same high load at every
/// sync and scale to `max`.
///
/// With `controller` set (the default of `policy = "hpa"`), the policy is
/// given the pods and samples of [`k8s_view`] instead and runs the
/// controller's own calculation ([`replica_calc::calculate`]) per metric;
/// the dilution above is then not used.
pub struct HpaPolicy {
    pub hpa: hpa::Hpa,
    pub metrics: Vec<(ScaleMetric, f64)>,
    pub controller: Option<crate::spec::ControllerSettings>,
    /// External metrics (KEDA's triggers): the group's total of the metric
    /// against an `AverageValue` target per replica, `ceil(total / target)`.
    pub external: Vec<(ScaleMetric, f64)>,
    /// The steps of the last sync (None before the first, or when KEDA
    /// decided without the HPA).
    last: Option<HpaDetail>,
}

impl HpaPolicy {
    pub fn new(
        hpa: hpa::Hpa,
        metrics: Vec<(ScaleMetric, f64)>,
        controller: Option<crate::spec::ControllerSettings>,
        external: Vec<(ScaleMetric, f64)>,
    ) -> Self {
        HpaPolicy {
            hpa,
            metrics,
            controller,
            external,
            last: None,
        }
    }

    /// Forget the last sync's steps (KEDA decided without the HPA).
    fn forget(&mut self) {
        self.last = None;
    }

    /// The External metrics as [`hpa_detail`] lists them.
    fn external_reads<'a>(&'a self, obs: &'a Observation) -> impl Iterator<Item = MetricRead> + 'a {
        self.external
            .iter()
            .map(move |&(m, t)| (m, true, Self::external_value(m, obs), t))
    }

    /// The group's total of `m` for an External metric: arrivals per
    /// second, or requests waiting (None for the others).
    pub fn external_value(m: ScaleMetric, obs: &Observation) -> Option<f64> {
        match m {
            ScaleMetric::Rps => obs.arrivals_per_s,
            ScaleMetric::Queue => obs.waiting,
            _ => None,
        }
    }

    /// The controller's proposal for each External metric
    /// (`GetExternalMetricReplicas` with an `AverageValue` target: the pods
    /// play no part). None for a metric without a value.
    fn external_proposals(&self, cfg: &replica_calc::CalcConfig, obs: &Observation) -> Vec<Option<u32>> {
        self.external
            .iter()
            .map(|&(m, target)| {
                let v = Self::external_value(m, obs)?;
                let input = replica_calc::MetricInput::External {
                    values: vec![v],
                    target: replica_calc::Target::AverageValue(target),
                };
                replica_calc::calculate(cfg, obs.now.as_secs_f64(), obs.current, &[], &input)
                    .ok()
                    .map(|c| c.replicas)
            })
            .collect()
    }

    /// What the controller reads for metric `m` (target `target`) at this
    /// sync: per-pod samples for cpu, memory, queue and rps; the group's
    /// observed value as an Object metric for the others.
    fn input(
        m: ScaleMetric,
        target: f64,
        obs: &Observation,
        pods: &k8s_view::PodsView,
    ) -> Option<replica_calc::MetricInput> {
        use replica_calc::{MetricInput, Resource, Target};
        Some(match m {
            ScaleMetric::Cpu => MetricInput::Resource {
                resource: Resource::Cpu,
                target: Target::Utilization(target * 100.0),
                samples: pods.samples_of(k8s_view::CPU),
            },
            ScaleMetric::Memory => MetricInput::Resource {
                resource: Resource::Memory,
                target: Target::Utilization(target * 100.0),
                samples: pods.samples_of(k8s_view::MEMORY),
            },
            ScaleMetric::Queue => MetricInput::Pods {
                target: target * 1000.0,
                samples: pods.samples_of(k8s_view::QUEUE),
            },
            ScaleMetric::Rps => MetricInput::Pods {
                target: target * 1000.0,
                samples: pods.samples_of(k8s_view::RPS),
            },
            ScaleMetric::PoolInUse | ScaleMetric::LatencyP95 => MetricInput::Object {
                value: obs.get(m)? * 1000.0,
                target: Target::Value(target * 1000.0),
            },
        })
    }
}

impl Policy for HpaPolicy {
    fn desired(&mut self, obs: &Observation) -> (u32, &'static str) {
        let unready = obs.current.saturating_sub(obs.ready);
        let mut read: Vec<MetricRead> = Vec::with_capacity(self.metrics.len() + self.external.len());
        let samples: Vec<hpa::MetricSample> = self
            .metrics
            .iter()
            .filter_map(|(m, target)| {
                let mut current = obs.get(*m)?;
                if unready > 0 && current > *target && obs.current > 0 {
                    let diluted = current * obs.ready as f64 / obs.current as f64;
                    // The direction reversed: no change from this metric.
                    current = if diluted < *target { *target } else { diluted };
                }
                read.push((*m, false, Some(current), *target));
                Some(hpa::MetricSample {
                    current,
                    target: *target,
                })
            })
            .collect();
        if self.external.is_empty() {
            let proposals = self.hpa.proposals(obs.current, &samples);
            let d = self.hpa.decide(obs.now, obs.current, &proposals);
            self.last = Some(hpa_detail(&read, &proposals, d));
            return (d.desired, "hpa");
        }
        // With External metrics: each metric's own proposal (the averaged
        // values above through the same calculation), then the behavior.
        let cfg = replica_calc::CalcConfig {
            tolerance_down: self.hpa.spec().tolerance,
            tolerance_up: self.hpa.spec().tolerance,
            ..Default::default()
        };
        let mut proposals: Vec<Option<u32>> = samples
            .iter()
            .map(|s| {
                let input = replica_calc::MetricInput::External {
                    values: vec![s.current * f64::from(obs.current)],
                    target: replica_calc::Target::AverageValue(s.target),
                };
                replica_calc::calculate(&cfg, obs.now.as_secs_f64(), obs.current, &[], &input)
                    .ok()
                    .map(|c| c.replicas)
            })
            .collect();
        proposals.extend(self.external_proposals(&cfg, obs));
        read.extend(self.external_reads(obs));
        let d = self.hpa.decide(obs.now, obs.current, &proposals);
        self.last = Some(hpa_detail(&read, &proposals, d));
        (d.desired, "hpa")
    }

    fn desired_seen(&mut self, obs: &Observation, pods: &k8s_view::PodsView) -> (u32, &'static str) {
        let Some(settings) = self.controller else {
            return self.desired(obs);
        };
        let cfg = settings.calc_config(self.hpa.spec().tolerance);
        let proposals: Vec<Option<u32>> = self
            .metrics
            .iter()
            .map(|&(m, target)| {
                let input = Self::input(m, target, obs, pods)?;
                replica_calc::calculate(&cfg, pods.now_s, obs.current, &pods.pods, &input)
                    .ok()
                    .map(|c| c.replicas)
            })
            .collect();
        let mut proposals = proposals;
        proposals.extend(self.external_proposals(&cfg, obs));
        let read: Vec<MetricRead> = self
            .metrics
            .iter()
            .map(|&(m, t)| (m, false, obs.get(m), t))
            .chain(self.external_reads(obs))
            .collect();
        let d = self.hpa.decide(obs.now, obs.current, &proposals);
        self.last = Some(hpa_detail(&read, &proposals, d));
        (d.desired, "hpa")
    }

    fn detail(&self) -> Option<HpaDetail> {
        self.last
    }
}

/// `none`: keep the initial count.
pub struct NoPolicy;

impl Policy for NoPolicy {
    fn desired(&mut self, obs: &Observation) -> (u32, &'static str) {
        (obs.current, "none")
    }
}

/// The autoscaler a scenario's `[autoscaler]` describes: its policy, with
/// its bounds and interval.
pub fn from_spec(a: &AutoscalerSpec) -> Autoscaler {
    let policy: Box<dyn Policy> = match &a.policy {
        PolicySpec::None => Box::new(NoPolicy),
        PolicySpec::Threshold {
            rules,
            step,
            sustain,
            scale_out_cooldown,
            scale_in_cooldown,
        } => Box::new(ThresholdPolicy::new(
            rules.clone(),
            *step,
            *sustain,
            *scale_out_cooldown,
            *scale_in_cooldown,
        )),
        PolicySpec::Hpa {
            metrics,
            tolerance,
            scale_up,
            scale_down,
            controller,
            keda,
        } => {
            let hpa = HpaPolicy::new(
                hpa::Hpa::new(hpa::HpaSpec {
                    // KEDA's HPA never goes below 1: KEDA itself scales
                    // between 0 and 1.
                    min: if keda.is_some() { a.min.max(1) } else { a.min },
                    max: a.max,
                    tolerance: *tolerance,
                    scale_up: scale_up.clone(),
                    scale_down: scale_down.clone(),
                }),
                metrics.clone(),
                *controller,
                keda.iter()
                    .flat_map(|k| k.triggers.iter().map(|t| (t.metric, t.target)))
                    .collect(),
            );
            match keda {
                Some(k) => Box::new(KedaPolicy::new(hpa, k.clone(), a.min)),
                None => Box::new(hpa),
            }
        }
        PolicySpec::TargetTracking {
            metric,
            target,
            disable_scale_in,
            scale_in_cooldown,
            scale_out_cooldown,
            ..
        } => Box::new(TargetTrackingPolicy::new(
            *metric,
            *target,
            *disable_scale_in,
            *scale_in_cooldown,
            *scale_out_cooldown,
        )),
        PolicySpec::Step {
            metric,
            adjustments,
            cooldown,
        } => Box::new(StepPolicy::new(*metric, adjustments.clone(), *cooldown)),
        PolicySpec::Schedule { entries } => Box::new(SchedulePolicy {
            entries: entries.clone(),
        }),
    };
    Autoscaler::new(a.min, a.max, a.interval, policy)
}

#[cfg(test)]
pub(crate) fn obs(now_s: u64, current: u32, cpu: Option<f64>) -> Observation {
    let mut metrics = [None; 6];
    metrics[ScaleMetric::Cpu.index()] = cpu;
    Observation {
        now: SimTime::from_secs(now_s),
        current,
        ready: current,
        metrics,
        arrivals_per_s: None,
        waiting: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced_for_every_policy() {
        struct Wild(u32);
        impl Policy for Wild {
            fn desired(&mut self, _: &Observation) -> (u32, &'static str) {
                (self.0, "wild")
            }
        }
        let mut a = Autoscaler::new(2, 5, SimTime::from_secs(15), Box::new(Wild(100)));
        let (n, why) = a.evaluate(&obs(0, 3, None));
        assert_eq!((n, why.text), (5, "clamped to [min, max]"));
        let mut a = Autoscaler::new(2, 5, SimTime::from_secs(15), Box::new(Wild(0)));
        assert_eq!(a.evaluate(&obs(0, 3, None)).0, 2);
        let mut a = Autoscaler::new(2, 5, SimTime::from_secs(15), Box::new(Wild(4)));
        let (n, why) = a.evaluate(&obs(0, 3, None));
        assert_eq!((n, why.text, why.hpa), (4, "wild", None));
    }

    #[test]
    fn hpa_policy_uses_configured_metrics() {
        let mut p = HpaPolicy::new(
            hpa::Hpa::new(hpa::HpaSpec::with_defaults(1, 10)),
            vec![(ScaleMetric::Cpu, 0.7)],
            None,
            Vec::new(),
        );
        // 3 instances at 90 % vs 70 %: ceil(3 × 0.9 / 0.7) = 4.
        assert_eq!(p.desired(&obs(0, 3, Some(0.9))).0, 4);
    }

    #[test]
    fn hpa_scale_up_capped_by_a_policy_records_its_steps() {
        let mut spec = hpa::HpaSpec::with_defaults(1, 20);
        spec.scale_up.policies = vec![hpa::ScalingPolicy::pods(1, 60)];
        let mut a = Autoscaler::new(
            1,
            20,
            SimTime::from_secs(15),
            Box::new(HpaPolicy::new(
                hpa::Hpa::new(spec),
                vec![(ScaleMetric::Memory, 0.9), (ScaleMetric::Cpu, 0.5)],
                None,
                Vec::new(),
            )),
        );
        // CPU 2 × 1.0 / 0.5 = 4 beats memory's 2 (0.1 / 0.9 is far down);
        // the Pods policy allows +1 per minute: 3, ScaleUpLimit.
        let mut o = obs(0, 2, Some(1.0));
        o.metrics[ScaleMetric::Memory.index()] = Some(0.1);
        let (n, why) = a.evaluate(&o);
        assert_eq!((n, why.text), (3, "hpa"));
        let d = why.hpa.expect("the HPA keeps its steps");
        assert_eq!(d.metric, Some(ScaleMetric::Cpu));
        assert_eq!(d.metric_name().as_deref(), Some("cpu"));
        assert_eq!((d.value, d.target), (Some(1.0), Some(0.5)));
        assert_eq!(d.decision.proposal, Some(4));
        assert_eq!(d.decision.stabilized, Some(4));
        assert_eq!(d.decision.desired, 3);
        assert_eq!(d.decision.limit, hpa::Limit::ScaleUpLimit);
        // Within the same minute the policy allows nothing more.
        let mut o = obs(15, 3, Some(1.0));
        o.metrics[ScaleMetric::Memory.index()] = Some(0.1);
        let (n, why) = a.evaluate(&o);
        assert_eq!(n, 3);
        let d = why.hpa.expect("the HPA keeps its steps");
        assert_eq!(
            (d.decision.proposal, d.decision.limit),
            (Some(6), hpa::Limit::ScaleUpLimit)
        );
    }

    #[test]
    fn hpa_counts_starting_instances_as_idle_when_scaling_up() {
        let mut p = HpaPolicy::new(
            hpa::Hpa::new(hpa::HpaSpec::with_defaults(1, 20)),
            vec![(ScaleMetric::Cpu, 0.5)],
            None,
            Vec::new(),
        );
        // 6 requested, 3 ready at 100 %: the 3 starting count as 0 %, so
        // the average is 0.5 = target: no further scale-up while they start.
        let mut o = obs(0, 6, Some(1.0));
        o.ready = 3;
        assert_eq!(p.desired(&o).0, 6);
        // 6 requested, 4 ready at 100 %: 4/6 = 0.67 → ceil(6 × 1.33) = 8.
        o.ready = 4;
        o.now = SimTime::from_secs(15);
        assert_eq!(p.desired(&o).0, 8);
    }
}
