//! `summary.json`: what a run concluded — estimates of every metric over
//! replications, per tier, the SLO and claim verdicts and engine figures.
//! Built from a [`RunOutput`]; sweeps, reports, `check` and `serve` all read
//! it, so it sits below them and imports none of them.
//!
//! It reads back too ([`Summary::read`]): reports and sweeps work on the
//! typed value, and a file that is not a summary is refused, not shown as
//! empty cells. Writing what was read gives the same bytes. The sections
//! no reader looks into (`peaks`, warm-up and batch-means checks,
//! `precision`, breaker events) stay free-form JSON.

use crate::metrics::names::METRICS;
use crate::runner::{MetricValues, RunOutput};
use crate::scenario::{Arrival, Bound, ScaleMetric, Scenario};
use crate::stats::Estimate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Which side of its limit a check or claim wants the value on: `max`
/// (must not exceed the limit) or `min` (must reach it).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Max,
    Min,
}

impl Side {
    pub fn of(b: Bound) -> Side {
        match b {
            Bound::AtMost => Side::Max,
            Bound::AtLeast => Side::Min,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Max => "max",
            Side::Min => "min",
        }
    }
    /// "≤" for max, "≥" for min.
    pub fn symbol(self) -> &'static str {
        match self {
            Side::Max => "≤",
            Side::Min => "≥",
        }
    }
}

/// What the simulation (or arithmetic) says about a claim; see
/// [`ClaimResult::verdict`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Confirmed,
    Refuted,
    Inconclusive,
    Untestable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Refuted => "refuted",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Untestable => "untestable",
        }
    }
}

/// The final word on a claim; see [`ClaimResult::outcome`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Holds,
    Fails,
    HoldsOnlyIf,
    CannotBeChecked,
    Inconsistent,
    /// A model input was fitted to the claim's figure (`calibrated`): the
    /// simulation reproduces it by construction, so it is not evidence.
    UsedForCalibration,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Holds => "holds",
            Outcome::Fails => "fails",
            Outcome::HoldsOnlyIf => "holds-only-if",
            Outcome::CannotBeChecked => "cannot-be-checked",
            Outcome::Inconsistent => "inconsistent",
            Outcome::UsedForCalibration => "used-for-calibration",
        }
    }
}

/// How a claim was checked; see [`ClaimResult::checked_by`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CheckedBy {
    Simulation,
    Lint,
    LittlesLaw,
    Untestable,
    /// Only what it states (`states`): by the consistency pass.
    Consistency,
}

impl CheckedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckedBy::Simulation => "simulation",
            CheckedBy::Lint => "lint",
            CheckedBy::LittlesLaw => "littles-law",
            CheckedBy::Untestable => "untestable",
            CheckedBy::Consistency => "consistency",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Side, Verdict, Outcome, CheckedBy);

/// Estimates by name, in the order written (a JSON object in
/// `summary.json`): the metrics of a run, of a tier, of a stage...
#[derive(Debug, Clone, PartialEq)]
pub struct Named<V>(pub Vec<(String, V)>);

impl<V> Default for Named<V> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

/// Estimates of metrics by metric name.
pub type Estimates = Named<Estimate>;

impl<V> Named<V> {
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V> FromIterator<(String, V)> for Named<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(it: I) -> Self {
        Named(it.into_iter().collect())
    }
}

impl<'a, V> IntoIterator for &'a Named<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<V: Serialize> Serialize for Named<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Named<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = Named<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of named entries")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Named<V>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, V>()? {
                    out.push((k, v));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloResult {
    pub name: String,
    pub scope: String,
    pub metric: String,
    /// "max" (value must not exceed the limit) or "min".
    pub bound: Side,
    pub limit: f64,
    pub value: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub passed: bool,
}

/// The verdict on one `[[claim]]`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClaimResult {
    pub id: String,
    pub source: String,
    pub text: String,
    pub metric: Option<String>,
    pub scope: String,
    /// "min" (at_least) or "max" (at_most).
    pub bound: Side,
    pub limit: Option<f64>,
    pub value: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    /// "confirmed" (the whole 95 % CI is on the claim's side), "refuted"
    /// (the whole CI on the other side), "inconclusive" (the CI straddles
    /// the limit, or the metric is undefined), or "untestable". Claims
    /// checked by arithmetic: "confirmed" when they hold, "refuted" when
    /// they fail or are inconsistent.
    pub verdict: Verdict,
    pub note: String,
    /// The final word: "holds", "fails", "holds-only-if" (see
    /// `condition`), "cannot-be-checked" (see `note`) or "inconsistent"
    /// (see `arithmetic`). From `verdict`: confirmed → holds, refuted →
    /// fails, inconclusive and untestable → cannot-be-checked; claims that
    /// contradict each other or Little's law are inconsistent whatever the
    /// simulation says.
    pub outcome: Outcome,
    /// How it was checked: "simulation", "lint", "littles-law" or "untestable".
    pub checked_by: CheckedBy,
    /// The lint rule of a `lint` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The computation behind an arithmetic verdict or an inconsistency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arithmetic: Option<String>,
    /// With "holds-only-if": the condition, e.g. "instance.initial ≥ 6".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// With "holds-only-if": the metric at the condition's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_ci95: Option<[f64; 2]>,
    /// Why a claim that holds may test nothing: its run fails an SLO or
    /// is overloaded (see [`crate::claims::flag_vacuous`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

impl ClaimResult {
    /// The outcome in words, e.g. "holds only if instance.initial ≥ 6".
    pub fn outcome_text(&self) -> String {
        match (self.outcome, &self.condition) {
            (Outcome::HoldsOnlyIf, Some(c)) => format!("holds only if {c}"),
            (o, _) => o.as_str().replace('-', " "),
        }
    }
}

/// The outcome a verdict maps to.
pub fn outcome_of(verdict: Verdict) -> Outcome {
    match verdict {
        Verdict::Confirmed => Outcome::Holds,
        Verdict::Refuted => Outcome::Fails,
        Verdict::Inconclusive | Verdict::Untestable => Outcome::CannotBeChecked,
    }
}

/// Judge a claim that arithmetic decides (`lint` or `littles_law`).
fn judge_static(sc: &Scenario, c: &crate::scenario::Claim, r: &mut ClaimResult) {
    use crate::lint::Severity;
    if let Some(rule) = c.lint {
        r.checked_by = CheckedBy::Lint;
        r.rule = Some(rule.to_string());
        let checks = crate::lint::rule_checks(sc, rule);
        if checks.is_empty() {
            r.verdict = Verdict::Untestable;
            r.note = format!("lint rule `{rule}` has nothing to check in this scenario");
            return;
        }
        let failed: Vec<_> = checks
            .iter()
            .filter(|k| !k.passed && k.finding.severity >= Severity::Warning)
            .collect();
        let shown: Vec<&crate::lint::Check> = if failed.is_empty() {
            checks.iter().collect()
        } else {
            failed.clone()
        };
        r.arithmetic = Some(
            shown
                .iter()
                .map(|k| format!("{}: {}", k.finding.message, k.finding.arithmetic))
                .collect::<Vec<_>>()
                .join("; "),
        );
        r.verdict = if failed.is_empty() {
            Verdict::Confirmed
        } else {
            Verdict::Refuted
        };
    } else if let Some(ll) = &c.littles_law {
        r.checked_by = CheckedBy::LittlesLaw;
        let (ok, arithmetic) = crate::lint::littles::judge_littles_law(ll);
        r.arithmetic = Some(format!("{arithmetic} (population from {})", ll.population_from));
        r.verdict = if ok { Verdict::Confirmed } else { Verdict::Refuted };
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloSummary {
    pub passed: bool,
    pub checks: Vec<SloResult>,
}

/// The scenario's key settings, as a report shows them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub instance: InstanceSettings,
    pub pool: Option<PoolSettings>,
    pub database: bool,
    pub cache: CacheSettings,
    pub tiers: Vec<TierSettings>,
    pub workloads: usize,
    pub endpoints: usize,
    pub faults: usize,
    pub autoscaler: Option<AutoscalerSettings>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InstanceSettings {
    pub cores: u32,
    pub workers: u32,
    pub initial: u32,
    pub memory_mb: f64,
    pub cost_per_hour: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PoolSettings {
    /// Permanent connections.
    pub size: u32,
    pub max: u32,
    pub timeout_s: f64,
}

/// Capacities (entries) of the cache levels present.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    pub l1: Option<u64>,
    pub l2: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TierSettings {
    pub name: String,
    pub tenants: u64,
    pub rate_limit_per_s: Option<f64>,
    pub max_connections: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerSettings {
    /// "none", "threshold", "hpa", "target_tracking", "step" or "schedule".
    pub policy: String,
    pub min: u32,
    pub max: u32,
    pub interval_s: f64,
    pub thresholds: Vec<Threshold>,
}

/// A line an autoscaler acts on: `metric` (cpu, memory, ...) at `value`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub metric: String,
    pub value: f64,
    /// "scale out above", "scale in below" or "target".
    pub kind: String,
}

/// A change of an instance group's desired count.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScalingEventRecord {
    pub replication: u32,
    pub time_s: f64,
    pub group: String,
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// Server-side request accounting: arrived = rejected + server_done +
/// in_flight.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Conservation {
    pub arrived: u64,
    pub rejected: u64,
    pub server_done: u64,
    pub in_flight: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EngineFigures {
    pub events: u64,
    pub wall_s: f64,
    pub events_per_s: f64,
    /// `--max-events` (events per replication), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
    /// Replications that stopped at `max_events` before their horizon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at_max_events: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub replications: u32,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub metrics: Estimates,
    pub tiers: Named<Estimates>,
    pub slo: SloSummary,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimResult>,
    /// Key settings of the scenario, for reports: instance, pool, caches,
    /// tiers, autoscaler (with its thresholds).
    pub settings: Settings,
    /// Per request stage (`endpoint.stage`): estimates of its latency
    /// (mean, p50, p95, p99) and failure rate.
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    pub stages: Named<Estimates>,
    /// Per `[[rate_limit]]`: estimates of the requests it checked, refused,
    /// and the refused fraction.
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    pub limiters: Named<Estimates>,
    /// With read replicas, per database server (`primary`, `replica-1`,
    /// ...): utilization, calls, connection waits, pool timeouts.
    #[serde(default, skip_serializing_if = "Named::is_empty")]
    pub databases: Named<Estimates>,
    pub warnings: Vec<String>,
    /// Server-side request accounting summed over replications (whole run,
    /// warm-up included): arrived = rejected + server_done + in_flight.
    pub conservation: Conservation,
    /// High-water marks, the highest over replications (whole run): most
    /// requests running on / queued at one instance, connections open in
    /// one pool, entries in one L1 and in the L2; per tier the most
    /// requests in flight and connections held by one tenant; per instance
    /// group the lowest and highest desired count.
    pub peaks: Value,
    /// Changes of desired instance counts: {replication, time_s, group,
    /// from, to, reason}, at most 1000 (the first), and their total.
    pub scaling_events: Vec<ScalingEventRecord>,
    pub scaling_events_total: usize,
    /// Circuit-breaker state changes: {replication, time_s, downstream,
    /// from, to}, at most 1000 (the first), and how many were kept in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaker_events: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker_events_total: Option<usize>,
    /// MSER-5 warm-up detection next to the configured warm-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_check: Option<Value>,
    /// With one replication: batch-means CIs from the time series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_means: Option<Value>,
    /// With `--precision`: the target and whether it was met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<Value>,
    pub engine: EngineFigures,
}

/// Confirm or refute a claim from the estimate of its metric.
fn judge_claim(
    sc: &Scenario,
    c: &crate::scenario::Claim,
    overall: &[(&'static str, Estimate)],
    tiers: &[Vec<(&'static str, Estimate)>],
    stages: &[(String, Vec<(&'static str, Estimate)>)],
) -> ClaimResult {
    let scope = match (&c.stage, c.tier) {
        (Some(st), _) => format!("stage:{st}"),
        (None, t) => t.map_or("all".to_string(), |t| format!("tier:{}", sc.tiers[t].name)),
    };
    let bound = Side::of(c.bound);
    let mut r = ClaimResult {
        id: c.id.clone(),
        source: c.source.clone(),
        text: c.text.clone(),
        metric: c.metric.map(String::from),
        scope,
        bound,
        limit: c.metric.map(|_| c.limit),
        value: None,
        ci95: None,
        verdict: Verdict::Untestable,
        note: c.untestable.clone().unwrap_or_default(),
        outcome: Outcome::CannotBeChecked,
        checked_by: if c.metric.is_some() {
            CheckedBy::Simulation
        } else if c.untestable.is_none() && c.lint.is_none() && c.littles_law.is_none() && !c.states.is_empty() {
            CheckedBy::Consistency
        } else {
            CheckedBy::Untestable
        },
        rule: None,
        arithmetic: None,
        condition: None,
        condition_value: None,
        condition_ci95: None,
        flag: None,
    };
    if c.lint.is_some() || c.littles_law.is_some() {
        judge_static(sc, c, &mut r);
        r.outcome = outcome_of(r.verdict);
        return r;
    }
    let Some(m) = c.metric else { return r };
    let est = match (&c.stage, c.tier) {
        (Some(st), _) => stages.iter().find(|(n, _)| n == st).map_or(&[][..], |(_, e)| &e[..]),
        (None, None) => overall,
        (None, Some(t)) => &tiers[t][..],
    };
    let Some(e) = est.iter().find(|(k, _)| *k == m).map(|(_, e)| *e) else {
        r.verdict = Verdict::Inconclusive;
        r.note = "the metric is undefined in this run (e.g. no completed requests)".into();
        return r;
    };
    r.value = Some(e.mean);
    r.ci95 = e.ci95;
    let (lo, hi) = e.ci95.map_or((e.mean, e.mean), |[a, b]| (a, b));
    let (holds_all, fails_all) = match c.bound {
        Bound::AtLeast => (lo >= c.limit, hi < c.limit),
        Bound::AtMost => (hi <= c.limit, lo > c.limit),
    };
    r.verdict = if holds_all {
        Verdict::Confirmed
    } else if fails_all {
        Verdict::Refuted
    } else {
        Verdict::Inconclusive
    };
    if e.ci95.is_none() {
        r.note = "one replication: judged on the value alone, without a confidence interval".into();
    } else if r.verdict == Verdict::Inconclusive {
        r.note = "the 95 % CI straddles the limit: more replications may decide it".into();
    }
    r.outcome = outcome_of(r.verdict);
    r
}

/// Verdicts on every claim of `sc`, with claims that contradict each other
/// or Little's law marked inconsistent.
pub fn judge_claims(
    sc: &Scenario,
    overall: &[(&'static str, Estimate)],
    tiers: &[Vec<(&'static str, Estimate)>],
    stages: &[(String, Vec<(&'static str, Estimate)>)],
) -> Vec<ClaimResult> {
    let mut out: Vec<ClaimResult> = sc
        .claims
        .iter()
        .map(|c| judge_claim(sc, c, overall, tiers, stages))
        .collect();
    for inc in crate::lint::littles::inconsistencies(sc) {
        for &i in &inc.claims {
            let r = &mut out[i];
            r.outcome = Outcome::Inconsistent;
            r.arithmetic = Some(match r.arithmetic.take() {
                Some(a) if sc.claims[i].littles_law.is_some() => a,
                Some(a) => format!("{a}; {}", inc.arithmetic),
                None => inc.arithmetic.clone(),
            });
        }
    }
    let claims: Vec<&crate::scenario::Claim> = sc.claims.iter().collect();
    let mut results: Vec<&mut ClaimResult> = out.iter_mut().collect();
    crate::claims::apply_consistency(&claims, &mut results);
    out
}

fn metric_name(m: ScaleMetric) -> &'static str {
    ScaleMetric::NAMES
        .iter()
        .copied()
        .find(|n| ScaleMetric::parse(n) == Some(m))
        .unwrap_or("?")
}

/// The scenario's key settings (what a report shows next to the results).
fn settings(sc: &Scenario) -> Settings {
    use crate::scenario::PolicySpec;
    let i = &sc.instance;
    let autoscaler = sc.autoscaler.as_ref().map(|a| {
        let mut thresholds = Vec::new();
        let mut push = |m: ScaleMetric, value: f64, kind: &str| {
            thresholds.push(Threshold {
                metric: metric_name(m).to_string(),
                value,
                kind: kind.to_string(),
            })
        };
        let policy = match &a.policy {
            PolicySpec::None => "none",
            PolicySpec::Threshold { rules, .. } => {
                for r in rules {
                    if let Some(v) = r.above {
                        push(r.metric, v, "scale out above");
                    }
                    if let Some(v) = r.below {
                        push(r.metric, v, "scale in below");
                    }
                }
                "threshold"
            }
            PolicySpec::Hpa { metrics, .. } => {
                for (m, v) in metrics {
                    push(*m, *v, "target");
                }
                "hpa"
            }
            PolicySpec::TargetTracking { metric, target, .. } => {
                push(*metric, *target, "target");
                "target_tracking"
            }
            PolicySpec::Step { .. } => "step",
            PolicySpec::Schedule { .. } => "schedule",
        };
        AutoscalerSettings {
            policy: policy.to_string(),
            min: a.min,
            max: a.max,
            interval_s: a.interval.as_secs_f64(),
            thresholds,
        }
    });
    Settings {
        instance: InstanceSettings {
            cores: i.cores,
            workers: i.workers,
            initial: i.initial,
            memory_mb: i.memory_mb,
            cost_per_hour: i.cost_per_hour,
        },
        pool: sc.pool.as_ref().map(|p| PoolSettings {
            size: p.config.permanent,
            max: p.config.limit,
            timeout_s: p.config.timeout.as_secs_f64(),
        }),
        database: sc.database.is_some(),
        cache: CacheSettings {
            l1: sc.cache.l1.as_ref().map(|c| c.capacity),
            l2: sc.cache.l2.as_ref().map(|c| c.capacity),
        },
        tiers: sc
            .tiers
            .iter()
            .enumerate()
            .map(|(i, t)| TierSettings {
                name: t.name.clone(),
                tenants: sc
                    .workloads
                    .iter()
                    .filter(|w| w.tier == i)
                    .map(|w| w.tenants as u64)
                    .sum::<u64>(),
                rate_limit_per_s: t.rate_limit.as_ref().map(|r| r.rate_per_s),
                max_connections: t.max_connections,
            })
            .collect(),
        workloads: sc.workloads.len(),
        endpoints: sc.endpoints.len(),
        faults: sc.faults.len(),
        autoscaler,
    }
}

/// MSER-5 on each replication's series of per-interval mean latency
/// (intervals without a completion are skipped), next to the configured
/// warm-up. MSER-5 also cuts into long random excursions of a stationary
/// but strongly correlated series (M/M/1 at ρ = 0.9), so the warning only
/// fires when cutting there would move the measured mean latency by more
/// than 5 %, and only for stationary loads (under diurnal, step or trace
/// load, or with faults, there is no steady state to find).
fn warmup_check(sc: &Scenario, out: &RunOutput, warnings: &mut Vec<String>) -> Option<Value> {
    let configured = sc.simulation.warmup.as_secs_f64();
    let weighted_mean = |rows: &[(f64, f64, f64)], from: f64| {
        let (mut s, mut w) = (0.0, 0.0);
        for (t, v, n) in rows {
            if *t > from {
                s += v * n;
                w += n;
            }
        }
        (w > 0.0).then(|| s / w)
    };
    let mut cuts = Vec::new();
    let mut biases = Vec::new();
    for r in &out.replications {
        // (interval end, mean latency, completions)
        let obs: Vec<(f64, f64, f64)> = r
            .timeseries
            .iter()
            .filter_map(|row| Some((row.time_s, row.latency_mean_s?, row.completed as f64)))
            .collect();
        let values: Vec<f64> = obs.iter().map(|x| x.1).collect();
        let Some(d) = crate::stats::mser5(&values) else {
            continue;
        };
        let cut = if d == 0 { 0.0 } else { obs[d - 1].0 };
        cuts.push(cut);
        if let (Some(a), Some(b)) = (
            weighted_mean(&obs, configured),
            weighted_mean(&obs, cut.max(configured)),
        ) {
            if a > 0.0 {
                biases.push((b - a) / a);
            }
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mean = cuts.iter().sum::<f64>() / cuts.len() as f64;
    let max = cuts.iter().cloned().fold(0.0, f64::max);
    let bias = (!biases.is_empty()).then(|| biases.iter().sum::<f64>() / biases.len() as f64);
    let stationary = sc.faults.is_empty()
        && sc.workloads.iter().all(|w| {
            matches!(
                w.arrival,
                Arrival::Poisson { .. } | Arrival::Deterministic { .. } | Arrival::Closed { .. } | Arrival::Mmpp { .. }
            )
        });
    if stationary && mean > configured && bias.is_some_and(|b| b.abs() > 0.05) {
        warnings.push(format!(
            "warm-up may be too short: MSER-5 on the latency series cuts {mean:.0} s on average (up to {max:.0} s) \
             and the mean latency after that cut differs by {:+.1} % from the one measured; \
             consider simulation.warmup = \"{}s\"",
            bias.unwrap_or(0.0) * 100.0,
            max.ceil()
        ));
    }
    Some(serde_json::json!({
        "configured_s": configured,
        "mser5_s_mean": mean,
        "mser5_s_max": max,
        "latency_change_if_cut_there": bias,
        "replications": cuts.len(),
        "method": "MSER-5 on the per-interval mean latency; approximate, meaningful for stationary loads",
    }))
}

/// Batch means over the measured part of a single replication's time series
/// (20 batches, or 10 for short series): approximate CIs for throughput and
/// mean latency when there is only one replication.
fn batch_means(sc: &Scenario, out: &RunOutput) -> Option<Value> {
    let [r] = out.replications.as_slice() else { return None };
    let warm = sc.simulation.warmup.as_secs_f64();
    let interval = sc.simulation.sample_interval.as_secs_f64();
    let rows: Vec<_> = r
        .timeseries
        .iter()
        .filter(|x| x.time_s - interval >= warm - 1e-9)
        .collect();
    let batches = if rows.len() >= 40 {
        20
    } else if rows.len() >= 10 {
        10
    } else {
        return None;
    };
    let thr: Vec<(f64, f64)> = rows.iter().map(|x| (x.completed as f64 / interval, 1.0)).collect();
    let lat: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|x| Some((x.latency_mean_s?, x.completed as f64)))
        .collect();
    let mut m = Map::new();
    for (name, obs) in [("throughput_rps", thr), ("latency_mean_s", lat)] {
        if let Some(e) = crate::stats::batch_means(&obs, batches) {
            m.insert(
                name.into(),
                serde_json::json!({"mean": e.mean, "ci95": e.ci95, "batches": e.n}),
            );
        }
    }
    m.insert(
        "method".into(),
        Value::String(format!(
            "batch means of {batches} consecutive batches after warm-up; approximate: assumes batches longer than the correlation time"
        )),
    );
    Some(Value::Object(m))
}

/// Estimates of every metric defined in at least one replication.
fn estimates(reps: &[&MetricValues]) -> Vec<(&'static str, Estimate)> {
    METRICS
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let xs: Vec<f64> = reps.iter().filter_map(|r| r[i]).collect();
            // Every metric in the catalogue is non-negative, so a CI's lower
            // end below zero is only the normal approximation: clip it.
            Estimate::from_samples(&xs).map(|mut e| {
                if let Some(ci) = &mut e.ci95 {
                    ci[0] = ci[0].max(0.0);
                }
                (m.name, e)
            })
        })
        .collect()
}

/// Estimates of each request stage's metrics over replications.
fn stage_estimates(out: &RunOutput) -> Vec<(String, Vec<(&'static str, Estimate)>)> {
    named_estimates(out, |r| &r.stages, crate::scenario::STAGE_METRICS)
}

/// Estimates over replications of named parts (stages, limiters, database
/// servers), each with values aligned with `metrics`.
fn named_estimates(
    out: &RunOutput,
    parts: impl Fn(&crate::runner::ReplicationResult) -> &Vec<crate::runner::StageResult>,
    metrics: &'static [(&'static str, bool)],
) -> Vec<(String, Vec<(&'static str, Estimate)>)> {
    let Some(first) = out.replications.first() else {
        return Vec::new();
    };
    (0..parts(first).len())
        .map(|i| {
            let est = metrics
                .iter()
                .enumerate()
                .filter_map(|(k, (m, _))| {
                    let xs: Vec<f64> = out.replications.iter().filter_map(|r| parts(r)[i].values[k]).collect();
                    Estimate::from_samples(&xs).map(|mut e| {
                        if let Some(ci) = &mut e.ci95 {
                            ci[0] = ci[0].max(0.0);
                        }
                        (*m, e)
                    })
                })
                .collect();
            (parts(first)[i].name.clone(), est)
        })
        .collect()
}

/// Estimates as stored in a summary. `n` is not written to `summary.json`,
/// so it is 0 here as in a summary read back.
fn to_map(es: &[(&'static str, Estimate)]) -> Estimates {
    es.iter()
        .map(|(k, e)| ((*k).to_string(), Estimate { n: 0, ..*e }))
        .collect()
}

pub fn build_summary(sc: &Scenario, out: &RunOutput) -> Summary {
    let overall_reps: Vec<&MetricValues> = out.replications.iter().map(|r| &r.overall).collect();
    let overall = estimates(&overall_reps);
    let tier_est: Vec<Vec<(&'static str, Estimate)>> = (0..sc.tiers.len())
        .map(|t| {
            let reps: Vec<&MetricValues> = out.replications.iter().map(|r| &r.tiers[t]).collect();
            estimates(&reps)
        })
        .collect();
    let stage_est = stage_estimates(out);
    let none = Vec::new();
    let mut checks = Vec::new();
    for c in &sc.slo {
        let (scope, est) = match (&c.stage, c.tier) {
            (Some(st), _) => (
                format!("stage:{st}"),
                stage_est.iter().find(|(n, _)| n == st).map_or(&none, |(_, e)| e),
            ),
            (None, None) => ("all".to_string(), &overall),
            (None, Some(t)) => (format!("tier:{}", sc.tiers[t].name), &tier_est[t]),
        };
        let e = est.iter().find(|(k, _)| *k == c.metric).map(|(_, e)| *e);
        let value = e.map(|e| e.mean);
        let passed = match (value, c.bound) {
            (Some(v), Bound::AtMost) => v <= c.limit,
            (Some(v), Bound::AtLeast) => v >= c.limit,
            (None, _) => false,
        };
        checks.push(SloResult {
            name: c.name.clone(),
            scope,
            metric: c.metric.to_string(),
            bound: Side::of(c.bound),
            limit: c.limit,
            value,
            ci95: e.and_then(|e| e.ci95),
            passed,
        });
    }
    let events = out.events();
    let mut warnings = sc.warnings.clone();
    warnings.extend(
        crate::lint::lint(sc)
            .iter()
            .filter(|f| f.severity >= crate::lint::Severity::Warning)
            .map(|f| format!("lint {}", f.one_line())),
    );
    let capped: Vec<&crate::runner::ReplicationResult> =
        out.replications.iter().filter(|r| r.event_limit_reached).collect();
    if let (Some(n), Some(first)) = (sc.simulation.max_events, capped.first()) {
        warnings.push(format!(
            "{} of {} replications stopped at --max-events {n} before the end (replication {} at {:.3} s of {:.3} s): their metrics cover only the time simulated",
            capped.len(),
            out.replications.len(),
            first.replication,
            first.end_s,
            sc.simulation.duration.as_secs_f64()
        ));
    }
    let warmup_check = warmup_check(sc, out, &mut warnings);
    let cons = out.replications.iter().fold([0u64; 4], |mut a, r| {
        let c = r.conservation;
        a[0] += c.arrived;
        a[1] += c.rejected;
        a[2] += c.server_done;
        a[3] += c.in_flight;
        a
    });
    let mut claims = judge_claims(sc, &overall, &tier_est, &stage_est);
    crate::claims::flag_vacuous(&checks, &overall, &mut claims);
    Summary {
        scenario: sc.name.clone(),
        description: sc.description.clone(),
        seed: sc.simulation.seed,
        replications: out.replications.len() as u32,
        // A finite test ends when its users are done: report how long it
        // ran (the longest replication), not the configured horizon.
        duration_s: if out.replications.is_empty() {
            sc.simulation.duration.as_secs_f64()
        } else {
            out.replications.iter().map(|r| r.end_s).fold(0.0, f64::max)
        },
        warmup_s: sc.simulation.warmup.as_secs_f64(),
        metrics: to_map(&overall),
        tiers: sc
            .tiers
            .iter()
            .zip(&tier_est)
            .map(|(t, e)| (t.name.clone(), to_map(e)))
            .collect(),
        slo: SloSummary {
            passed: checks.iter().all(|c| c.passed),
            checks,
        },
        claims,
        settings: settings(sc),
        stages: stage_est.iter().map(|(n, e)| (n.clone(), to_map(e))).collect(),
        limiters: named_estimates(out, |r| &r.limiters, crate::scenario::LIMITER_METRICS)
            .iter()
            .map(|(n, e)| (n.clone(), to_map(e)))
            .collect(),
        databases: named_estimates(out, |r| &r.databases, crate::scenario::DB_SERVER_METRICS)
            .iter()
            .map(|(n, e)| (n.clone(), to_map(e)))
            .collect(),
        warnings,
        conservation: Conservation {
            arrived: cons[0],
            rejected: cons[1],
            server_done: cons[2],
            in_flight: cons[3],
        },
        peaks: peaks_json(sc, out),
        scaling_events: out
            .replications
            .iter()
            .flat_map(|r| {
                r.scaling_events.iter().map(move |e| ScalingEventRecord {
                    replication: r.replication,
                    time_s: e.time_s,
                    group: r.groups.get(e.group as usize).cloned().unwrap_or_default(),
                    from: e.from,
                    to: e.to,
                    reason: e.reason.to_string(),
                })
            })
            .take(1000)
            .collect(),
        scaling_events_total: out.replications.iter().map(|r| r.scaling_events.len()).sum(),
        breaker_events: out
            .replications
            .iter()
            .flat_map(|r| {
                r.breaker_events.iter().map(move |e| {
                    serde_json::json!({
                        "replication": r.replication,
                        "time_s": e.time_s,
                        "downstream": e.downstream,
                        "from": e.from,
                        "to": e.to,
                    })
                })
            })
            .take(1000)
            .collect(),
        breaker_events_total: {
            let n: usize = out.replications.iter().map(|r| r.breaker_events.len()).sum();
            (n > 0).then_some(n)
        },
        warmup_check,
        batch_means: batch_means(sc, out),
        precision: None,
        engine: EngineFigures {
            events,
            wall_s: out.wall_s,
            events_per_s: if out.wall_s > 0.0 {
                events as f64 / out.wall_s
            } else {
                0.0
            },
            max_events: sc.simulation.max_events,
            stopped_at_max_events: sc.simulation.max_events.map(|_| capped.len() as u32),
        },
    }
}

/// The `peaks` section: each high-water mark at its highest over the
/// replications (a desired-count minimum at its lowest).
fn peaks_json(sc: &Scenario, out: &RunOutput) -> Value {
    let reps = &out.replications;
    let max = |f: &dyn Fn(&crate::model::Peaks) -> u64| reps.iter().map(|r| f(&r.peaks)).max().unwrap_or(0);
    let tiers: Map<String, Value> = sc
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let v = serde_json::json!({
                "tenant_in_flight": max(&|p| p.tenant_in_flight.get(i).copied().unwrap_or(0) as u64),
                "tenant_connections": max(&|p| p.tenant_connections.get(i).copied().unwrap_or(0) as u64),
            });
            (t.name.clone(), v)
        })
        .collect();
    let groups: Map<String, Value> = reps
        .first()
        .map(|r| r.groups.clone())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(g, name)| {
            let lo = reps.iter().filter_map(|r| r.peaks.desired_min.get(g).copied()).min();
            let hi = reps.iter().filter_map(|r| r.peaks.desired_max.get(g).copied()).max();
            (name, serde_json::json!({ "desired_min": lo, "desired_max": hi }))
        })
        .collect();
    serde_json::json!({
        "instance_running": max(&|p| p.running as u64),
        "instance_queued": max(&|p| p.queued as u64),
        "pool_open": max(&|p| p.pool_open as u64),
        "l1_items": max(&|p| p.l1_items),
        "l2_items": max(&|p| p.l2_items),
        "l3_items": max(&|p| p.l3_items),
        "db_open": max(&|p| p.db_open as u64),
        "replica_open": max(&|p| p.replica_open as u64),
        "sessions_per_instance": max(&|p| p.sessions_per_instance as u64),
        "tiers": tiers,
        "groups": groups,
    })
}

impl Summary {
    /// The estimate of an overall metric, if reported.
    pub fn metric(&self, name: &str) -> Option<Estimate> {
        let e = self.metrics.get(name)?;
        Some(Estimate {
            n: self.replications as usize,
            ..*e
        })
    }

    /// A summary from the text of a `summary.json`.
    pub fn from_json(text: &str) -> serde_json::Result<Summary> {
        serde_json::from_str(text)
    }

    /// Read `path` (a `summary.json`); a file that is missing or is not a
    /// summary is an input error (exit 2) naming the file.
    pub fn read(path: &std::path::Path) -> anyhow::Result<Summary> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::cli_error(format!("{}: {e}", path.display())))?;
        Summary::from_json(&text)
            .map_err(|e| crate::cli_error(format!("{}: not a tenantsim summary.json ({e})", path.display())))
    }

    pub fn to_json(&self) -> String {
        // Serialising plain maps and numbers cannot fail.
        serde_json::to_string_pretty(self).expect("summary serialises") + "\n"
    }
}
