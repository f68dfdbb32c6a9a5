//! Capacity plans: the cheapest setting of some parameters that meets the
//! scenario's SLOs with 95 % confidence, found with far fewer simulations
//! than the full grid.
//!
//! The search, and what it assumes:
//! 1. **Capacity dimensions are monotone.** Parameters that add capacity
//!    (instances, cores, workers, pool size and overflow, database cores and
//!    connections, cache capacity, autoscaler min/max, or any key given with
//!    `--capacity`) never make an SLO worse and never make the objective
//!    smaller when raised. Along the capacity dimension with the most values
//!    (the primary), the cheapest setting that meets the SLOs is therefore
//!    the smallest that meets them, found by bisection; every combination of
//!    the other parameters gets its own bisection (screening replications).
//! 2. **Successive halving.** The winners of the bisections are candidates;
//!    each round doubles their replications (up to `max_replications`) and
//!    drops those that clearly fail an SLO (the whole CI beyond the limit)
//!    or are clearly worse than the best sure candidate (objective CI
//!    entirely above its CI).
//! 3. **Confirmation.** A candidate is chosen only when every SLO holds
//!    with its whole 95 % CI; the value just below it on the primary
//!    dimension is re-run at the same replications, in case screening noise
//!    stopped the bisection too high.
//!
//! Replication r of a point is the same simulation whatever round it runs
//! in, so results are reused when a point gets more replications, and the
//! plan is deterministic. `exhaustive` skips 1–2 and runs every grid point
//! at `max_replications` (the brute-force reference the tests compare with).

use crate::runner::{run_range_cancellable, Cancelled, ReplicationResult, RunOutput};
use crate::scenario::Scenario;
use crate::summary::{build_summary, Summary};
use crate::sweep::{ParamSpec, Sweep};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Keys (suffixes) that add capacity: raising them never hurts an SLO.
const CAPACITY_KEYS: [&str; 12] = [
    "instance.initial",
    "instance.cores",
    "instance.workers",
    "instance.queue_capacity",
    "pool.size",
    "pool.overflow",
    "database.cores",
    "database.max_connections",
    "autoscaler.min",
    "autoscaler.max",
    "capacity",
    "max_connections",
];

/// Whether `key` is a capacity dimension by name.
pub fn is_capacity_key(key: &str) -> bool {
    CAPACITY_KEYS
        .iter()
        .any(|k| key == *k || key.ends_with(&format!(".{k}")))
}

/// What to minimise.
#[derive(Clone, Debug)]
pub struct Objective {
    /// The metric (e.g. `cost`, `instances_mean`).
    pub metric: &'static str,
}

/// Settings of a plan search.
pub struct PlanConfig {
    pub objective: Objective,
    /// Replications of the screening pass.
    pub screening_replications: u32,
    pub max_replications: u32,
    /// Indices (into the sweep's params) of the capacity dimensions.
    pub capacity: Vec<usize>,
    pub exhaustive: bool,
}

/// One evaluated point: its replications so far and their summary.
struct Eval {
    reps: Vec<ReplicationResult>,
    summary: Summary,
}

/// Verdict on a point's SLOs at its current replications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check holds with its whole CI.
    Sure,
    /// Every check holds on the mean, but some CI crosses its limit.
    Likely,
    /// Some check fails on the mean, none clearly.
    Unlikely,
    /// Some check fails with its whole CI.
    Fails,
}

fn verdict(s: &Summary) -> Verdict {
    let mut v = Verdict::Sure;
    for c in &s.slo.checks {
        let Some(mean) = c.value else { return Verdict::Fails };
        let (lo, hi) = c.ci95.map(|[l, h]| (l, h)).unwrap_or((mean, mean));
        let (pass_mean, pass_all, fail_all) = if c.bound == crate::summary::Side::Max {
            (mean <= c.limit, hi <= c.limit, lo > c.limit)
        } else {
            (mean >= c.limit, lo >= c.limit, hi < c.limit)
        };
        let this = if fail_all {
            Verdict::Fails
        } else if !pass_mean {
            Verdict::Unlikely
        } else if !pass_all {
            Verdict::Likely
        } else {
            Verdict::Sure
        };
        v = worst(v, this);
    }
    v
}

fn worst(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v: Verdict| match v {
        Verdict::Sure => 0,
        Verdict::Likely => 1,
        Verdict::Unlikely => 2,
        Verdict::Fails => 3,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// A point of the plan with its results.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub point: usize,
    pub values: Vec<String>,
    pub replications: u32,
    pub verdict: Verdict,
    pub objective: f64,
    pub objective_ci: Option<[f64; 2]>,
    pub summary: Summary,
}

/// The outcome of a plan.
pub struct PlanResult {
    pub chosen: Option<Candidate>,
    pub runner_up: Option<Candidate>,
    /// Replications simulated in total.
    pub simulations: u64,
    pub grid_points: usize,
    /// Replications per point the chosen configuration was confirmed with
    /// (what a full grid at that confidence would cost per point).
    pub confirmed_replications: u32,
    pub points_evaluated: usize,
}

struct Search<'a> {
    sweep: &'a Sweep,
    cfg: &'a PlanConfig,
    /// Told each simulated stretch (fractions of a replication); false stops the search.
    watch: &'a (dyn Fn(f64) -> bool + Sync),
    evals: HashMap<usize, Eval>,
    scenarios: HashMap<usize, Scenario>,
    simulations: u64,
}

impl<'a> Search<'a> {
    fn scenario(&mut self, p: usize) -> anyhow::Result<&Scenario> {
        if !self.scenarios.contains_key(&p) {
            let sc = self.sweep.scenario(&self.sweep.points[p])?;
            self.scenarios.insert(p, sc);
        }
        Ok(&self.scenarios[&p])
    }

    /// Bring points `ps` to at least `reps` replications (in parallel over
    /// points and replications).
    fn ensure(&mut self, ps: &[usize], reps: u32) -> anyhow::Result<()> {
        use rayon::prelude::*;
        let mut jobs: Vec<(usize, Scenario, u32)> = Vec::new();
        for &p in ps {
            let have = self.evals.get(&p).map_or(0, |e| e.reps.len() as u32);
            if have < reps {
                let sc = self.scenario(p)?.clone();
                jobs.push((p, sc, have));
            }
        }
        let watch = self.watch;
        let fresh: Vec<(usize, Vec<ReplicationResult>)> = jobs
            .par_iter()
            .map(|(p, sc, have)| {
                let mut rs = run_range_cancellable(sc, *have..reps, watch)?;
                for r in &mut rs {
                    r.timeseries = Vec::new();
                }
                Ok((*p, rs))
            })
            .collect::<Result<_, Cancelled>>()?;
        for (p, rs) in fresh {
            self.simulations += rs.len() as u64;
            let mut reps = self.evals.remove(&p).map(|e| e.reps).unwrap_or_default();
            reps.extend(rs);
            let out = RunOutput {
                replications: reps,
                wall_s: 0.0,
            };
            let summary = build_summary(&self.scenarios[&p], &out);
            self.evals.insert(
                p,
                Eval {
                    reps: out.replications,
                    summary,
                },
            );
        }
        Ok(())
    }

    fn candidate(&self, p: usize) -> Candidate {
        let e = &self.evals[&p];
        let obj = e.summary.metric(self.cfg.objective.metric);
        Candidate {
            point: p,
            values: self.sweep.points[p].values.iter().map(|v| v.text.clone()).collect(),
            replications: e.reps.len() as u32,
            verdict: verdict(&e.summary),
            objective: obj.map_or(f64::INFINITY, |o| o.mean),
            objective_ci: obj.and_then(|o| o.ci95),
            summary: e.summary.clone(),
        }
    }

    /// Passes on the mean at its current replications.
    fn passes(&self, p: usize) -> bool {
        matches!(verdict(&self.evals[&p].summary), Verdict::Sure | Verdict::Likely)
    }
}

/// The index of the point with the same values as `p` except `dim` = `value_index`.
fn neighbour(lens: &[usize], p: usize, dim: usize, value_index: usize) -> usize {
    // Grid order: the last parameter varies fastest.
    let stride: usize = lens[dim + 1..].iter().product();
    let current = (p / stride) % lens[dim];
    p - current * stride + value_index * stride
}

/// Run the plan search over the grid of `sweep`.
pub fn plan(sweep: &Sweep, cfg: &PlanConfig) -> anyhow::Result<PlanResult> {
    plan_cancellable(sweep, cfg, &|_| true)
}

/// [`plan`] that stops with a [`Cancelled`] error when `watch`, told the
/// fraction of a replication each simulated stretch covers (they sum to
/// the replications simulated), returns false.
pub fn plan_cancellable(
    sweep: &Sweep,
    cfg: &PlanConfig,
    watch: &(dyn Fn(f64) -> bool + Sync),
) -> anyhow::Result<PlanResult> {
    let lens: Vec<usize> = sweep.params.iter().map(|p| p.value_count().unwrap_or(1)).collect();
    let n = sweep.points.len();
    let mut s = Search {
        sweep,
        cfg,
        watch,
        evals: HashMap::new(),
        scenarios: HashMap::new(),
        simulations: 0,
    };
    let max_r = cfg.max_replications.max(cfg.screening_replications);
    let mut candidates: Vec<usize>;
    if cfg.exhaustive {
        candidates = (0..n).collect();
        s.ensure(&candidates, max_r)?;
    } else {
        // 1. Bisection along the primary capacity dimension, per line.
        let primary = cfg
            .capacity
            .iter()
            .copied()
            .max_by_key(|&d| (lens[d], std::cmp::Reverse(d)));
        let r0 = cfg.screening_replications;
        candidates = Vec::new();
        match primary {
            None => {
                // Nothing monotone to exploit: screen every point.
                let all: Vec<usize> = (0..n).collect();
                s.ensure(&all, r0)?;
                candidates = all.into_iter().filter(|&p| s.passes(p)).collect();
            }
            Some(d) => {
                let stride: usize = lens[d + 1..].iter().product();
                let starts: Vec<usize> = (0..n).filter(|p| (p / stride).is_multiple_of(lens[d])).collect();
                // Bisect all lines in lock step so each round runs in parallel.
                let mut bounds: Vec<(usize, usize, usize)> = starts.iter().map(|&p| (p, 0, lens[d])).collect();
                // Invariant per line: values < lo fail, values >= hi pass (hi = len: unknown).
                loop {
                    let probes: Vec<usize> = bounds
                        .iter()
                        .filter(|(_, lo, hi)| lo < hi)
                        .map(|&(p, lo, hi)| neighbour(&lens, p, d, (lo + hi) / 2))
                        .collect();
                    if probes.is_empty() {
                        break;
                    }
                    s.ensure(&probes, r0)?;
                    for b in bounds.iter_mut() {
                        let (p, lo, hi) = *b;
                        if lo >= hi {
                            continue;
                        }
                        let mid = (lo + hi) / 2;
                        if s.passes(neighbour(&lens, p, d, mid)) {
                            *b = (p, lo, mid);
                        } else {
                            *b = (p, mid + 1, hi);
                        }
                    }
                }
                for (p, lo, _) in bounds {
                    if lo < lens[d] {
                        candidates.push(neighbour(&lens, p, d, lo));
                    }
                }
            }
        }
        // 2. Successive halving on the candidates.
        let mut r = r0;
        loop {
            candidates.retain(|&p| s.candidate(p).verdict != Verdict::Fails);
            let best_sure_hi = candidates
                .iter()
                .map(|&p| s.candidate(p))
                .filter(|c| c.verdict == Verdict::Sure)
                .map(|c| c.objective_ci.map_or(c.objective, |ci| ci[1]))
                .fold(f64::INFINITY, f64::min);
            candidates.retain(|&p| {
                let c = s.candidate(p);
                c.objective_ci.map_or(c.objective, |ci| ci[0]) <= best_sure_hi
            });
            let settled = candidates.iter().all(|&p| s.candidate(p).verdict == Verdict::Sure);
            if (settled && candidates.len() <= 1) || r >= max_r || candidates.is_empty() {
                break;
            }
            r = (r * 2).min(max_r);
            s.ensure(&candidates, r)?;
        }
        // 3. Confirmation: bring the candidates to the same replications and
        // look one step down the primary dimension from the best.
        if let Some(d) = primary {
            for _ in 0..lens[d] {
                let Some(best) = best_of(&s, &candidates) else { break };
                let idx = (best / lens[d + 1..].iter().product::<usize>()) % lens[d];
                if idx == 0 {
                    break;
                }
                let below = neighbour(&lens, best, d, idx - 1);
                if candidates.contains(&below) {
                    break;
                }
                let reps = s.evals[&best].reps.len() as u32;
                s.ensure(&[below], reps)?;
                if s.candidate(below).verdict == Verdict::Sure {
                    candidates.push(below);
                } else {
                    break;
                }
            }
        }
    }
    let mut sure: Vec<Candidate> = candidates
        .iter()
        .map(|&p| s.candidate(p))
        .filter(|c| c.verdict == Verdict::Sure)
        .collect();
    sure.sort_by(|a, b| a.objective.total_cmp(&b.objective).then(a.point.cmp(&b.point)));
    let chosen = sure.first().cloned();
    // The runner-up: the next best sure candidate, else the best other
    // point evaluated at all that passes on the mean.
    let runner_up = sure.get(1).cloned().or_else(|| {
        let mut others: Vec<Candidate> = s
            .evals
            .keys()
            .filter(|&&p| Some(p) != chosen.as_ref().map(|c| c.point))
            .map(|&p| s.candidate(p))
            .filter(|c| matches!(c.verdict, Verdict::Sure | Verdict::Likely))
            .collect();
        others.sort_by(|a, b| a.objective.total_cmp(&b.objective).then(a.point.cmp(&b.point)));
        others.into_iter().next()
    });
    Ok(PlanResult {
        confirmed_replications: chosen.as_ref().map_or(max_r, |c| c.replications),
        chosen,
        runner_up,
        simulations: s.simulations,
        grid_points: n,
        points_evaluated: s.evals.len(),
    })
}

fn best_of(s: &Search, candidates: &[usize]) -> Option<usize> {
    candidates
        .iter()
        .map(|&p| s.candidate(p))
        .filter(|c| c.verdict == Verdict::Sure)
        .min_by(|a, b| a.objective.total_cmp(&b.objective).then(a.point.cmp(&b.point)))
        .map(|c| c.point)
}

/// The chosen values by parameter key, as JSON numbers where they parse.
fn values_map(params: &[ParamSpec], c: &Candidate) -> Map<String, Value> {
    params
        .iter()
        .zip(&c.values)
        .map(|(p, v)| {
            let val = v
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| v.parse::<f64>().map(Value::from))
                .unwrap_or_else(|_| Value::String(v.clone()));
            (p.key.clone(), val)
        })
        .collect()
}

/// What `plan.json` holds: the chosen setting (parameter → value), its
/// metrics and SLO verdicts, the runner-up, and what the search cost.
pub fn to_json(params: &[ParamSpec], objective: &str, r: &PlanResult) -> Value {
    let c = r.chosen.as_ref();
    json!({
        "chosen": c.map(|c| Value::Object(values_map(params, c))),
        "metrics": c.map(|c| serde_json::to_value(&c.summary.metrics).unwrap_or(Value::Null)),
        "slo": c.map(|c| serde_json::to_value(&c.summary.slo).unwrap_or(Value::Null)),
        "runner_up": r.runner_up.as_ref().map(|u| Value::Object(values_map(params, u))),
        "runner_up_metrics": r
            .runner_up
            .as_ref()
            .map(|u| serde_json::to_value(&u.summary.metrics).unwrap_or(Value::Null)),
        "objective": objective,
        "replications": c.map(|c| c.replications),
        "simulations": r.simulations,
        "grid_points": r.grid_points,
        "grid_simulations": r.grid_points as u64 * r.confirmed_replications as u64,
        "points_evaluated": r.points_evaluated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_keys_are_recognised_by_suffix() {
        assert!(is_capacity_key("pool.size"));
        assert!(is_capacity_key("instance.initial"));
        assert!(is_capacity_key("cache.l1.capacity"));
        assert!(is_capacity_key("tier.0.max_connections"));
        assert!(!is_capacity_key("autoscaler.target"));
        assert!(!is_capacity_key("pool.timeout"));
    }
}
