//! `summary.json` (SPEC §6): estimates of every metric over replications,
//! per tier, the SLO verdicts and engine figures.

use crate::metrics::names::METRICS;
use crate::runner::{MetricValues, RunOutput};
use crate::scenario::{Bound, Scenario};
use crate::stats::Estimate;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Serialize, Debug, Clone)]
pub struct SloResult {
    pub name: String,
    pub scope: String,
    pub metric: String,
    /// "max" (value must not exceed the limit) or "min".
    pub bound: &'static str,
    pub limit: f64,
    pub value: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub passed: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct SloSummary {
    pub passed: bool,
    pub checks: Vec<SloResult>,
}

#[derive(Serialize, Debug, Clone)]
pub struct EngineFigures {
    pub events: u64,
    pub wall_s: f64,
    pub events_per_s: f64,
}

#[derive(Serialize, Debug, Clone)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub metrics: Map<String, Value>,
    pub tiers: Map<String, Value>,
    pub slo: SloSummary,
    pub warnings: Vec<String>,
    /// Server-side request accounting summed over replications (whole run,
    /// warm-up included): arrived = rejected + server_done + in_flight.
    pub conservation: Value,
    /// Changes of desired instance counts: {replication, time_s, group,
    /// from, to, reason}, at most 1000 (the first), and their total.
    pub scaling_events: Vec<Value>,
    pub scaling_events_total: usize,
    pub engine: EngineFigures,
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

fn to_map(es: &[(&'static str, Estimate)]) -> Map<String, Value> {
    es.iter()
        .map(|(k, e)| ((*k).to_string(), serde_json::to_value(e).unwrap_or(Value::Null)))
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
    let mut checks = Vec::new();
    for c in &sc.slo {
        let (scope, est) = match c.tier {
            None => ("all".to_string(), &overall),
            Some(t) => (format!("tier:{}", sc.tiers[t].name), &tier_est[t]),
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
            bound: if c.bound == Bound::AtMost { "max" } else { "min" },
            limit: c.limit,
            value,
            ci95: e.and_then(|e| e.ci95),
            passed,
        });
    }
    let events = out.events();
    let cons = out.replications.iter().fold([0u64; 4], |mut a, r| {
        let c = r.conservation;
        a[0] += c.arrived;
        a[1] += c.rejected;
        a[2] += c.server_done;
        a[3] += c.in_flight;
        a
    });
    Summary {
        scenario: sc.name.clone(),
        seed: sc.simulation.seed,
        replications: sc.simulation.replications,
        duration_s: sc.simulation.duration.as_secs_f64(),
        warmup_s: sc.simulation.warmup.as_secs_f64(),
        metrics: to_map(&overall),
        tiers: sc
            .tiers
            .iter()
            .zip(&tier_est)
            .map(|(t, e)| (t.name.clone(), Value::Object(to_map(e))))
            .collect(),
        slo: SloSummary {
            passed: checks.iter().all(|c| c.passed),
            checks,
        },
        warnings: sc.warnings.clone(),
        conservation: serde_json::json!({
            "arrived": cons[0], "rejected": cons[1], "server_done": cons[2], "in_flight": cons[3]
        }),
        scaling_events: out
            .replications
            .iter()
            .flat_map(|r| {
                r.scaling_events.iter().map(move |e| {
                    serde_json::json!({
                        "replication": r.replication,
                        "time_s": e.time_s,
                        "group": r.groups.get(e.group as usize).cloned().unwrap_or_default(),
                        "from": e.from,
                        "to": e.to,
                        "reason": e.reason,
                    })
                })
            })
            .take(1000)
            .collect(),
        scaling_events_total: out.replications.iter().map(|r| r.scaling_events.len()).sum(),
        engine: EngineFigures {
            events,
            wall_s: out.wall_s,
            events_per_s: if out.wall_s > 0.0 {
                events as f64 / out.wall_s
            } else {
                0.0
            },
        },
    }
}

impl Summary {
    /// The estimate of an overall metric, if reported.
    pub fn metric(&self, name: &str) -> Option<Estimate> {
        let v = self.metrics.get(name)?;
        Some(Estimate {
            mean: v.get("mean")?.as_f64()?,
            ci95: v.get("ci95").and_then(|c| {
                let a = c.as_array()?;
                Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?])
            }),
            std: v.get("std").and_then(|s| s.as_f64()).unwrap_or(0.0),
            n: self.replications as usize,
        })
    }

    pub fn to_json(&self) -> String {
        // Serialising plain maps and numbers cannot fail.
        serde_json::to_string_pretty(self).expect("summary serialises") + "\n"
    }
}
