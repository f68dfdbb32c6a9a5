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

mod build;
mod judge;
pub mod tiers;

pub use build::build_summary;
pub use judge::{judge_claims, outcome_of};

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
    /// The verdict at the scenario's values flips inside the plausible
    /// range of one of its assumptions (see [`ClaimResult::assumptions`]).
    DependsOn,
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
            Outcome::DependsOn => "depends-on",
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
    /// The verdict over each assumption's plausible range (see
    /// `crate::claims::robust`); empty when the scenario assumes nothing
    /// or the claim is not judged on the model's inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<OverRange>,
}

/// A claim's verdict over one assumption's range: held at the scenario's
/// value or not, and where it flips (if it does).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OverRange {
    /// The assumed key, e.g. "instance.cores".
    pub key: String,
    /// The plausible range, `[from, to]` (seconds for durations).
    pub range: [f64; 2],
    /// The scenario's value.
    pub value: f64,
    /// Whether the claim holds (whole 95 % CI on its side) at `value`.
    pub holds: bool,
    /// Each flip found: `[a, b]`, adjacent values tried, the verdict at
    /// `a` as at the scenario's value, at `b` the other one. At most one
    /// per side of the scenario's value (bisection assumes monotone).
    pub flips: Vec<[f64; 2]>,
    /// The flips in words, with the values as the scenario writes them.
    pub text: String,
}

impl ClaimResult {
    /// The outcome in words, e.g. "holds only if instance.initial ≥ 6".
    pub fn outcome_text(&self) -> String {
        match (self.outcome, &self.condition) {
            (Outcome::HoldsOnlyIf, Some(c)) => format!("holds only if {c}"),
            (Outcome::DependsOn, _) => {
                let keys: Vec<&str> = (self.assumptions.iter())
                    .filter(|a| !a.flips.is_empty())
                    .map(|a| a.key.as_str())
                    .collect();
                format!("depends on {}", keys.join(", "))
            }
            (o, _) => o.as_str().replace('-', " "),
        }
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

/// The version of the `summary.json` contract, `"MAJOR.MINOR"`, checked
/// against `docs/summary.schema.json` by the tests. Bump MINOR when a
/// field or a metric is added (a reader that ignores what it does not know
/// keeps working); bump MAJOR when a field is renamed, removed, changes
/// type or meaning, or a metric changes unit — and update the schema and
/// `docs/scenario-reference.md#summaryjson` in the same commit. This
/// reader refuses a summary of another MAJOR.
pub const SCHEMA_VERSION: &str = "1.1";

/// The tenantsim version that wrote a summary (the crate version; the git
/// revision is in `tenantsim --version` only, so that a commit does not
/// change every committed baseline).
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// [`SCHEMA_VERSION`] of the writer.
    #[serde(deserialize_with = "read_schema_version")]
    pub schema_version: String,
    /// [`TOOL_VERSION`] of the writer.
    pub tool_version: String,
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

/// The MAJOR part of a `"MAJOR.MINOR"` version.
fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

/// `schema_version` as read: a summary (or sweep point) of another MAJOR
/// is refused, since its fields may mean something else.
fn read_schema_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    if major(&v) != major(SCHEMA_VERSION) {
        return Err(serde::de::Error::custom(format!(
            "schema_version {v:?}: this tenantsim ({TOOL_VERSION}) reads schema {}.x; run the scenario again with it",
            major(SCHEMA_VERSION)
        )));
    }
    Ok(v)
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
