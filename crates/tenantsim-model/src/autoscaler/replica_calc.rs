//! The HPA controller's replica calculation for one metric, from what the
//! controller sees: the pods (phase, deletion, readiness and when it last
//! changed, start time, requests) and the metric samples (value, timestamp,
//! window).
//!
//! # What this module owns
//!
//! One metric's proposal, exactly as `replica_calculator.go` computes it
//! (kubernetes/kubernetes `pkg/controller/podautoscaler`, release 1.27 and
//! later: `GetResourceReplicas`, `GetRawResourceReplicas`,
//! `calcPlainMetricReplicas`, `GetObjectMetricReplicas`,
//! `GetObjectPerPodMetricReplicas`, `GetExternalMetricReplicas`,
//! `GetExternalPerPodMetricReplicas`, `getUsageRatioReplicaCount`,
//! `groupPods`, `calculatePodRequests`; and `metrics/utilization.go`):
//!
//! * pods being deleted or failed are **ignored** (their samples dropped);
//! * pending pods, and for CPU the pods that are not Ready, that turned
//!   Ready less than one metric window before their sample, or that never
//!   turned Ready within `initial_readiness_delay` of their start while the
//!   CPU initialization period is over, are **unready**: set aside;
//! * pods without a sample are **missing**;
//! * the usage ratio over the remaining samples is computed (utilization in
//!   whole percent, truncated, as the controller's integer arithmetic);
//! * if nothing is set aside, the tolerance decides, and the proposal is
//!   `ceil(ratio × ready pods)`;
//! * otherwise, on a scale-up the unready and missing pods count as 0 %; on a
//!   scale-down the missing ones count as 100 % of their request (or the
//!   target, if it is above 100 %), or as the target for plain metrics; the
//!   ratio is recomputed, the tolerance applied again, and a proposal that
//!   would reverse the direction keeps the current count.
//!
//! # What it does not own
//!
//! Stabilization, policies, `[min, max]` and the maximum over metrics: that
//! is [`super::hpa::Hpa`]. It is a pure function: no engine types, no clock,
//! no state, so the simulation, `tenantsim hpa explain` and the ported
//! controller tests call the very same code.
//!
//! # Units
//!
//! Times are seconds on any common axis (the simulation uses simulated
//! seconds; snapshots use Unix seconds). Values and requests are in
//! milli-units (millicores, milli-requests per second, …), as the
//! controller's int64 `MilliValue`s: averages and utilizations are
//! truncated to whole numbers as its integer divisions do ([`trunc`]).

use std::collections::BTreeMap;
use std::fmt;

/// A pod's phase (`v1.PodPhase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// The pod's `Ready` condition: its status and when it last changed.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Readiness {
    pub ready: bool,
    /// `lastTransitionTime`, seconds.
    pub since: f64,
}

/// What the controller knows of one pod.
#[derive(Clone, Debug, PartialEq)]
pub struct PodState {
    pub name: String,
    pub phase: Phase,
    /// Has a deletion timestamp (terminating).
    pub deleted: bool,
    /// `status.startTime`, seconds; None if not set.
    pub start: Option<f64>,
    /// The `Ready` condition; None if the pod has none yet.
    pub ready: Option<Readiness>,
    /// Requests per resource (cores for `cpu`, bytes or MB for `memory`:
    /// the unit of the samples). A resource metric fails on a pod without
    /// a request for it, as the controller does.
    pub requests: BTreeMap<Resource, f64>,
}

impl PodState {
    /// A Running pod, Ready since `since`, started at `start`.
    pub fn running(name: impl Into<String>, start: f64, ready: bool, since: f64) -> Self {
        PodState {
            name: name.into(),
            phase: Phase::Running,
            deleted: false,
            start: Some(start),
            ready: Some(Readiness { ready, since }),
            requests: BTreeMap::new(),
        }
    }

    /// Whether the pod counts as ready for `getReadyPodsCount` (Running and
    /// Ready, regardless of when).
    fn running_and_ready(&self) -> bool {
        self.phase == Phase::Running && self.ready.is_some_and(|r| r.ready)
    }
}

/// A resource that has requests (`v1.ResourceName`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    Cpu,
    Memory,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        })
    }
}

/// One pod's sample of a per-pod metric (metrics-server or custom metrics).
#[derive(Clone, Debug, PartialEq)]
pub struct PodSample {
    pub pod: String,
    pub value: f64,
    /// When the sample's window ended, seconds.
    pub timestamp: f64,
    /// How long the sample averages over, seconds (metrics-server: the
    /// scrape resolution, 15 s by default; the controller's tests use 60 s).
    pub window: f64,
}

/// A metric target (`MetricTarget`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// `averageUtilization`, percent of the request (Resource only).
    Utilization(f64),
    /// `averageValue`: per pod.
    AverageValue(f64),
    /// `value`: in total (Object, External).
    Value(f64),
}

/// One metric of the HPA with what the controller read for it.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricInput {
    /// `type: Resource` (and `ContainerResource`, with the container's
    /// samples and requests): per-pod samples against requests.
    Resource {
        resource: Resource,
        target: Target,
        samples: Vec<PodSample>,
    },
    /// `type: Pods`: per-pod samples, average against `averageValue`.
    Pods { target: f64, samples: Vec<PodSample> },
    /// `type: Object`: one value of one object.
    Object { value: f64, target: Target },
    /// `type: External`: the values of the matching series, summed.
    External { values: Vec<f64>, target: Target },
}

impl MetricInput {
    /// The kind, as the manifest spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            MetricInput::Resource { .. } => "Resource",
            MetricInput::Pods { .. } => "Pods",
            MetricInput::Object { .. } => "Object",
            MetricInput::External { .. } => "External",
        }
    }
}

/// The controller's flags that the calculation reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalcConfig {
    /// `--horizontal-pod-autoscaler-tolerance` (0.1), or the per-direction
    /// `behavior.scale{Up,Down}.tolerance`.
    pub tolerance_down: f64,
    pub tolerance_up: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: f64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: f64,
}

impl Default for CalcConfig {
    /// kube-controller-manager's defaults.
    fn default() -> Self {
        CalcConfig {
            tolerance_down: 0.1,
            tolerance_up: 0.1,
            cpu_initialization_period: 300.0,
            initial_readiness_delay: 30.0,
        }
    }
}

impl CalcConfig {
    /// `Tolerances.isWithin`: inclusive on both ends.
    pub fn within_tolerance(&self, ratio: f64) -> bool {
        (1.0 - self.tolerance_down) <= ratio && ratio <= (1.0 + self.tolerance_up)
    }
}

/// Why the controller could not compute a proposal for a metric (its error
/// texts, so users can match them with the HPA's events).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CalcError {
    #[error("no metrics returned from resource metrics API")]
    NoMetrics,
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    #[error("did not receive metrics for any ready pods")]
    NoReadyMetrics,
    #[error("missing request for {resource} of Pod {pod}")]
    MissingRequest { resource: Resource, pod: String },
    #[error("no metrics returned matched known pods")]
    NoMatchingPods,
    #[error("invalid target {0}: must be positive and finite")]
    BadTarget(f64),
}

/// How one pod was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PodClass {
    /// Its sample counts as measured.
    Ready,
    /// Set aside: pending, not Ready, or (CPU) too fresh a sample.
    Unready,
    /// No sample.
    Missing,
    /// Deleted or failed: not counted at all.
    Ignored,
}

/// One pod's classification and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PodVerdict {
    pub pod: String,
    pub class: PodClass,
    pub why: &'static str,
    /// The value the recomputation used for it, when it was filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted_as: Option<f64>,
}

/// One metric's proposal and the steps that led to it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Calculation {
    pub kind: &'static str,
    /// The proposal (`replicaCount`).
    pub replicas: u32,
    /// The current value the HPA status would show: utilization in percent
    /// for a Utilization target, else the average (or total) value.
    pub current: f64,
    /// `rawUtilization` of a Utilization target: the average usage per pod
    /// with a sample, in the samples' unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_average: Option<f64>,
    /// The first usage ratio.
    pub usage_ratio: f64,
    /// The ratio recomputed with unready/missing pods filled in, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recomputed_ratio: Option<f64>,
    /// Pods the ratio multiplies (ready pods, or samples after filling in).
    pub pods_counted: u32,
    pub pods: Vec<PodVerdict>,
    /// The rule that produced `replicas`, in words.
    pub rule: &'static str,
}

/// Go's int64 division of non-negative numbers: truncation toward zero.
pub fn trunc(v: f64) -> f64 {
    v.trunc()
}

fn check_target(t: f64) -> Result<f64, CalcError> {
    if t.is_finite() && t > 0.0 {
        Ok(t)
    } else {
        Err(CalcError::BadTarget(t))
    }
}

/// The controller's `groupPods`: each pod's class, given the samples of
/// this metric (by pod name) and whether it is the CPU resource.
fn group_pods(
    cfg: &CalcConfig,
    now: f64,
    pods: &[PodState],
    samples: &BTreeMap<&str, &PodSample>,
    cpu: bool,
) -> Vec<PodVerdict> {
    let verdict = |p: &PodState, class, why| PodVerdict {
        pod: p.name.clone(),
        class,
        why,
        counted_as: None,
    };
    pods.iter()
        .map(|p| {
            if p.deleted {
                return verdict(p, PodClass::Ignored, "being deleted");
            }
            if p.phase == Phase::Failed {
                return verdict(p, PodClass::Ignored, "failed");
            }
            if p.phase == Phase::Pending {
                return verdict(p, PodClass::Unready, "pending");
            }
            let Some(sample) = samples.get(p.name.as_str()) else {
                return verdict(p, PodClass::Missing, "no sample");
            };
            if cpu {
                let unready = match (p.ready, p.start) {
                    (None, _) => Some("no Ready condition"),
                    (_, None) => Some("no start time"),
                    (Some(c), Some(start)) => {
                        if start + cfg.cpu_initialization_period > now {
                            if !c.ready {
                                Some("not Ready, within the CPU initialization period")
                            } else if sample.timestamp < c.since + sample.window {
                                Some("Ready less than one metric window before its sample, within the CPU initialization period")
                            } else {
                                None
                            }
                        } else if !c.ready && start + cfg.initial_readiness_delay > c.since {
                            Some("not Ready and never Ready since start (initial readiness delay)")
                        } else {
                            None
                        }
                    }
                };
                if let Some(why) = unready {
                    return verdict(p, PodClass::Unready, why);
                }
            }
            verdict(p, PodClass::Ready, "sample counted")
        })
        .collect()
}

/// Sum of samples and requests over the pods that have both
/// (`GetResourceUtilizationRatio`): (utilization %, raw average, ratio).
fn utilization(
    values: &BTreeMap<String, f64>,
    requests: &BTreeMap<String, f64>,
    target_pct: f64,
) -> Result<(f64, f64, f64), CalcError> {
    let (mut used, mut requested, mut n) = (0.0, 0.0, 0u32);
    for (pod, v) in values {
        // Samples of pods without a request are extraneous (superfluous
        // metrics of pods outside the list): skipped.
        if let Some(r) = requests.get(pod) {
            used += v;
            requested += r;
            n += 1;
        }
    }
    if requested <= 0.0 {
        return Err(CalcError::NoMatchingPods);
    }
    // int32((metricsTotal * 100) / requestsTotal): whole percent, truncated.
    let pct = trunc(used * 100.0 / requested);
    Ok((pct, trunc(used / f64::from(n)), pct / target_pct))
}

/// Average of the samples (`GetMetricUsageRatio`): (average, ratio).
fn plain_usage(values: &BTreeMap<String, f64>, target: f64) -> (f64, f64) {
    let total: f64 = values.values().sum();
    let avg = trunc(total / values.len() as f64);
    (avg, avg / target)
}

/// One metric's replica proposal at `now` for `current` replicas (the
/// target's `spec.replicas`), as the controller computes it.
pub fn calculate(
    cfg: &CalcConfig,
    now: f64,
    current: u32,
    pods: &[PodState],
    metric: &MetricInput,
) -> Result<Calculation, CalcError> {
    match metric {
        MetricInput::Resource {
            resource,
            target,
            samples,
        } => {
            if samples.is_empty() {
                return Err(CalcError::NoMetrics);
            }
            match *target {
                Target::Utilization(pct) => resource_utilization(cfg, now, current, pods, *resource, pct, samples),
                Target::AverageValue(v) | Target::Value(v) => plain(
                    cfg,
                    now,
                    current,
                    pods,
                    *resource == Resource::Cpu,
                    check_target(v)?,
                    samples,
                    "Resource",
                ),
            }
        }
        MetricInput::Pods { target, samples } => {
            if samples.is_empty() {
                return Err(CalcError::NoMetrics);
            }
            plain(cfg, now, current, pods, false, check_target(*target)?, samples, "Pods")
        }
        MetricInput::Object { value, target } => single_value(cfg, current, pods, *value, *target, "Object"),
        MetricInput::External { values, target } => {
            if values.is_empty() {
                return Err(CalcError::NoMetrics);
            }
            single_value(cfg, current, pods, values.iter().sum(), *target, "External")
        }
    }
}

fn sample_map(samples: &[PodSample]) -> BTreeMap<&str, &PodSample> {
    samples.iter().map(|s| (s.pod.as_str(), s)).collect()
}

/// `GetResourceReplicas`.
fn resource_utilization(
    cfg: &CalcConfig,
    now: f64,
    current: u32,
    pods: &[PodState],
    resource: Resource,
    target_pct: f64,
    samples: &[PodSample],
) -> Result<Calculation, CalcError> {
    let target_pct = check_target(target_pct)?;
    if pods.is_empty() {
        return Err(CalcError::NoPods);
    }
    let by_pod = sample_map(samples);
    let mut verdicts = group_pods(cfg, now, pods, &by_pod, resource == Resource::Cpu);
    // Samples of pods set aside are dropped; samples of pods not in the list
    // stay (they are skipped later for want of a request).
    let mut values: BTreeMap<String, f64> = samples.iter().map(|s| (s.pod.clone(), s.value)).collect();
    for v in &verdicts {
        if matches!(v.class, PodClass::Ignored | PodClass::Unready) {
            values.remove(&v.pod);
        }
    }
    // calculatePodRequests: every listed pod needs a request.
    let mut requests = BTreeMap::new();
    for p in pods {
        let r = p.requests.get(&resource).ok_or_else(|| CalcError::MissingRequest {
            resource,
            pod: p.name.clone(),
        })?;
        requests.insert(p.name.clone(), *r);
    }
    if values.is_empty() {
        return Err(CalcError::NoReadyMetrics);
    }
    let (pct, raw, ratio) = utilization(&values, &requests, target_pct)?;
    let ready = verdicts.iter().filter(|v| v.class == PodClass::Ready).count() as u32;
    let has = |c| verdicts.iter().any(|v| v.class == c);
    let up_with_unready = has(PodClass::Unready) && ratio > 1.0;
    let calc = Calculation {
        kind: "Resource",
        replicas: current,
        current: pct,
        raw_average: Some(raw),
        usage_ratio: ratio,
        recomputed_ratio: None,
        pods_counted: ready,
        pods: Vec::new(),
        rule: "",
    };
    if !up_with_unready && !has(PodClass::Missing) {
        return Ok(decide_on_ready(cfg, calc, verdicts, ratio, ready));
    }
    // Fill in the pods set aside and recompute.
    let fallback_pct = target_pct.max(100.0);
    for v in &mut verdicts {
        let fill = match v.class {
            PodClass::Missing if ratio < 1.0 => Some(requests[&v.pod] * fallback_pct / 100.0),
            PodClass::Missing if ratio > 1.0 => Some(0.0),
            PodClass::Unready if up_with_unready => Some(0.0),
            _ => None,
        };
        if let Some(x) = fill {
            values.insert(v.pod.clone(), x);
            v.counted_as = Some(x);
        }
    }
    let (_, _, new_ratio) = utilization(&values, &requests, target_pct)?;
    finish(cfg, current, calc, verdicts, ratio, new_ratio, values.len())
}

/// The common first pass of `GetResourceReplicas` and
/// `calcPlainMetricReplicas` when no pod is set aside (no unready pod on a
/// scale-up, no missing pod): the usage ratio over the ready pods decides.
fn decide_on_ready(
    cfg: &CalcConfig,
    mut calc: Calculation,
    verdicts: Vec<PodVerdict>,
    ratio: f64,
    ready: u32,
) -> Calculation {
    if cfg.within_tolerance(ratio) {
        calc.rule = "within tolerance: keep the current count";
    } else {
        calc.replicas = ceil_count(ratio * f64::from(ready));
        calc.rule = "ceil(usage ratio × ready pods)";
    }
    calc.pods = verdicts;
    calc
}

/// The common end of `GetResourceReplicas` and `calcPlainMetricReplicas`
/// after the recomputation.
fn finish(
    cfg: &CalcConfig,
    current: u32,
    mut calc: Calculation,
    verdicts: Vec<PodVerdict>,
    ratio: f64,
    new_ratio: f64,
    counted: usize,
) -> Result<Calculation, CalcError> {
    calc.recomputed_ratio = Some(new_ratio);
    calc.pods = verdicts;
    calc.pods_counted = counted as u32;
    if cfg.within_tolerance(new_ratio) {
        calc.rule = "recomputed ratio within tolerance: keep the current count";
        return Ok(calc);
    }
    if (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        calc.rule = "recomputed ratio reverses the direction: keep the current count";
        return Ok(calc);
    }
    let n = ceil_count(new_ratio * counted as f64);
    if (new_ratio < 1.0 && n > current) || (new_ratio > 1.0 && n < current) {
        calc.rule = "the pods counted would reverse the direction: keep the current count";
        return Ok(calc);
    }
    calc.replicas = n;
    calc.rule = "ceil(recomputed ratio × pods counted)";
    Ok(calc)
}

/// `calcPlainMetricReplicas` (Pods metrics, and Resource metrics with an
/// `averageValue` target through `GetRawResourceReplicas`).
#[allow(clippy::too_many_arguments)]
fn plain(
    cfg: &CalcConfig,
    now: f64,
    current: u32,
    pods: &[PodState],
    cpu: bool,
    target: f64,
    samples: &[PodSample],
    kind: &'static str,
) -> Result<Calculation, CalcError> {
    if pods.is_empty() {
        return Err(CalcError::NoPods);
    }
    let by_pod = sample_map(samples);
    let mut verdicts = group_pods(cfg, now, pods, &by_pod, cpu);
    let mut values: BTreeMap<String, f64> = samples.iter().map(|s| (s.pod.clone(), s.value)).collect();
    for v in &verdicts {
        if matches!(v.class, PodClass::Ignored | PodClass::Unready) {
            values.remove(&v.pod);
        }
    }
    if values.is_empty() {
        return Err(CalcError::NoReadyMetrics);
    }
    let (avg, ratio) = plain_usage(&values, target);
    let ready = verdicts.iter().filter(|v| v.class == PodClass::Ready).count() as u32;
    let has = |c| verdicts.iter().any(|v| v.class == c);
    let up_with_unready = has(PodClass::Unready) && ratio > 1.0;
    let calc = Calculation {
        kind,
        replicas: current,
        current: avg,
        raw_average: None,
        usage_ratio: ratio,
        recomputed_ratio: None,
        pods_counted: ready,
        pods: Vec::new(),
        rule: "",
    };
    if !up_with_unready && !has(PodClass::Missing) {
        return Ok(decide_on_ready(cfg, calc, verdicts, ratio, ready));
    }
    for v in &mut verdicts {
        let fill = match v.class {
            // On a scale-down a missing pod counts as the target, on a
            // scale-up as 0; at a ratio of exactly 1 it is not filled in
            // (TestPlainMetricReplicaCalcMissingMetricsNoChangeEq).
            PodClass::Missing if ratio < 1.0 => Some(target),
            PodClass::Missing if ratio > 1.0 => Some(0.0),
            PodClass::Unready if up_with_unready => Some(0.0),
            _ => None,
        };
        if let Some(x) = fill {
            values.insert(v.pod.clone(), x);
            v.counted_as = Some(x);
        }
    }
    let (_, new_ratio) = plain_usage(&values, target);
    let counted = values.len();
    finish(cfg, current, calc, verdicts, ratio, new_ratio, counted)
}

/// `GetObjectMetricReplicas`, `GetObjectPerPodMetricReplicas`,
/// `GetExternalMetricReplicas`, `GetExternalPerPodMetricReplicas`.
fn single_value(
    cfg: &CalcConfig,
    current: u32,
    pods: &[PodState],
    value: f64,
    target: Target,
    kind: &'static str,
) -> Result<Calculation, CalcError> {
    let mut calc = Calculation {
        kind,
        replicas: current,
        current: value,
        raw_average: None,
        usage_ratio: 0.0,
        recomputed_ratio: None,
        pods_counted: 0,
        pods: Vec::new(),
        rule: "",
    };
    match target {
        Target::Value(t) | Target::Utilization(t) => {
            let t = check_target(t)?;
            let ratio = value / t;
            calc.usage_ratio = ratio;
            if current == 0 {
                // "Scale to zero or n pods depending on usageRatio".
                calc.replicas = ceil_count(ratio);
                calc.rule = "zero replicas: ceil(usage ratio), no tolerance";
            } else if cfg.within_tolerance(ratio) {
                calc.rule = "within tolerance: keep the current count";
            } else {
                if pods.is_empty() {
                    return Err(CalcError::NoPods);
                }
                // getReadyPodsCount: Running and Ready, whenever it turned so.
                let ready = pods.iter().filter(|p| p.running_and_ready()).count() as u32;
                calc.pods_counted = ready;
                calc.replicas = ceil_count(ratio * f64::from(ready));
                calc.rule = "ceil(usage ratio × Running and Ready pods)";
            }
        }
        Target::AverageValue(t) => {
            let t = check_target(t)?;
            // The ratio is against target × spec.replicas; the proposal does
            // not depend on the pods at all.
            let ratio = value / (t * f64::from(current));
            calc.usage_ratio = ratio;
            calc.current = if current > 0 {
                (value / f64::from(current)).ceil()
            } else {
                value
            };
            if cfg.within_tolerance(ratio) {
                calc.rule = "within tolerance: keep the current count";
            } else {
                calc.replicas = ceil_count(value / t);
                calc.rule = "ceil(total value / average-value target)";
            }
        }
    }
    Ok(calc)
}

/// `int32(math.Ceil(x))`, saturating at the bounds of `u32`.
fn ceil_count(x: f64) -> u32 {
    if !x.is_finite() || x <= 0.0 {
        return 0;
    }
    let c = x.ceil();
    if c >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        c as u32
    }
}

#[cfg(test)]
#[path = "replica_calc_table.rs"]
mod table;
