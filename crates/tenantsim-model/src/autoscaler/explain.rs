//! Why the HPA did what it did: one sync of the controller, from its
//! inputs (the HPA's spec, the pods, what was read for each metric, the
//! recent history) to the new replica count, with every step kept.
//!
//! This is the function behind `tenantsim hpa explain`, and the ported
//! controller tests (`replica_calc_table.rs`) run through it, so what users
//! see is what the tests check. It owns no parsing and no printing: the
//! scenario layer reads manifests and snapshots, the CLI prints.
//! Pure: no clock, no engine state; `now` and history times are seconds on
//! the snapshot's axis.

use super::hpa::{Decision, Hpa, HpaSpec};
use super::replica_calc::{calculate, CalcConfig, Calculation, MetricInput, PodState};
use tenantsim_engine::SimTime;

/// One metric's part of the explanation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricExplanation {
    /// How the manifest names it, e.g. `Resource cpu`.
    pub name: String,
    /// Its target, in words, e.g. `60 % utilization`.
    pub target: String,
    /// The controller's calculation, when it could compute one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Calculation>,
    /// Why it could not (the controller's error text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One sync, step by step.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Explanation {
    pub metrics: Vec<MetricExplanation>,
    pub decision: Decision,
}

/// A metric as the HPA reads it: its name and target in words, and what
/// was read for it.
pub struct MetricRead {
    pub name: String,
    pub target: String,
    pub input: MetricInput,
}

/// The HPA's history as the controller keeps it: unstabilized
/// recommendations (time, replicas) and scale events (time, change).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub recommendations: Vec<(f64, u32)>,
    pub scale_events: Vec<(f64, i64)>,
}

fn at(t: f64) -> SimTime {
    SimTime::from_secs_f64(t.max(0.0))
}

/// One sync at `now` with `current` replicas (`spec.replicas`): each
/// metric's proposal ([`calculate`]), then the largest, the stabilization,
/// the policies and `[min, max]` ([`Hpa::decide`]).
pub fn explain(
    spec: HpaSpec,
    cfg: &CalcConfig,
    now: f64,
    current: u32,
    pods: &[PodState],
    metrics: &[MetricRead],
    history: &History,
) -> Explanation {
    let metrics: Vec<MetricExplanation> = metrics
        .iter()
        .map(|m| {
            let r = calculate(cfg, now, current, pods, &m.input);
            MetricExplanation {
                name: m.name.clone(),
                target: m.target.clone(),
                error: r.as_ref().err().map(|e| e.to_string()),
                calculation: r.ok(),
            }
        })
        .collect();
    let proposals: Vec<Option<u32>> = metrics
        .iter()
        .map(|m| m.calculation.as_ref().map(|c| c.replicas))
        .collect();
    let recs: Vec<(SimTime, u32)> = history.recommendations.iter().map(|&(t, r)| (at(t), r)).collect();
    let events: Vec<(SimTime, i64)> = history.scale_events.iter().map(|&(t, d)| (at(t), d)).collect();
    // A controller with no history records the current count as its first
    // recommendation (recordInitialRecommendation); with history it does not.
    let mut hpa = if recs.is_empty() && events.is_empty() {
        Hpa::new(spec)
    } else {
        Hpa::with_history(spec, &recs, &events)
    };
    let decision = hpa.decide(at(now), current, &proposals);
    Explanation { metrics, decision }
}
