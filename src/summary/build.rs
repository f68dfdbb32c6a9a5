//! Building a [`Summary`] from a run's [`RunOutput`]: the settings echo,
//! estimates over replications (overall, per tier, per stage and per
//! named component), the warm-up and batch-means checks, and the peaks.
//! Invariant: nothing here reads the clock or the environment, so the same
//! output gives the same summary bytes.

use super::*;
pub(crate) fn metric_name(m: ScaleMetric) -> &'static str {
    ScaleMetric::NAMES
        .iter()
        .copied()
        .find(|n| ScaleMetric::parse(n) == Some(m))
        .unwrap_or("?")
}

/// The scenario's key settings (what a report shows next to the results).
pub(crate) fn settings(sc: &Scenario) -> Settings {
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
pub(crate) fn warmup_check(sc: &Scenario, out: &RunOutput, warnings: &mut Vec<String>) -> Option<Value> {
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
pub(crate) fn batch_means(sc: &Scenario, out: &RunOutput) -> Option<Value> {
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
pub(crate) fn estimates(reps: &[&MetricValues]) -> Vec<(&'static str, Estimate)> {
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
pub(crate) fn stage_estimates(out: &RunOutput) -> Vec<(String, Vec<(&'static str, Estimate)>)> {
    named_estimates(out, |r| &r.stages, crate::scenario::STAGE_METRICS)
}

/// Estimates over replications of named parts (stages, limiters, database
/// servers), each with values aligned with `metrics`.
pub(crate) fn named_estimates(
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
pub(crate) fn to_map(es: &[(&'static str, Estimate)]) -> Estimates {
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
    let checks = slo_checks(sc, &overall, &tier_est, &stage_est);
    let events = out.events();
    let capped = capped_replications(out);
    let mut warnings = run_warnings(sc, out, &capped);
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
        schema_version: SCHEMA_VERSION.to_string(),
        tool_version: TOOL_VERSION.to_string(),
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
        scaling_events: scaling_events(out),
        scaling_events_total: out.replications.iter().map(|r| r.scaling_events.len()).sum(),
        breaker_events: breaker_events(out),
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
pub(crate) fn peaks_json(sc: &Scenario, out: &RunOutput) -> Value {
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

/// Each `[slo]` check against its estimate (overall, a tier's or a stage's).
fn slo_checks(
    sc: &Scenario,
    overall: &[(&'static str, Estimate)],
    tier_est: &[Vec<(&'static str, Estimate)>],
    stage_est: &[(String, Vec<(&'static str, Estimate)>)],
) -> Vec<SloResult> {
    let mut checks = Vec::new();
    for c in &sc.slo {
        let (scope, est): (String, &[(&'static str, Estimate)]) = match (&c.stage, c.tier) {
            (Some(st), _) => (
                format!("stage:{st}"),
                stage_est
                    .iter()
                    .find(|(n, _)| n == st)
                    .map_or(&[], |(_, e)| e.as_slice()),
            ),
            (None, None) => ("all".to_string(), overall),
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
    checks
}

/// The replications that stopped at `--max-events` before the end.
fn capped_replications(out: &RunOutput) -> Vec<&crate::runner::ReplicationResult> {
    out.replications.iter().filter(|r| r.event_limit_reached).collect()
}

/// The scenario's own warnings, the lint findings at warning level or
/// above, a note when a replication stalled, and one when replications
/// stopped at `--max-events`.
fn run_warnings(sc: &Scenario, out: &RunOutput, capped: &[&crate::runner::ReplicationResult]) -> Vec<String> {
    let mut warnings = sc.warnings.clone();
    warnings.extend(
        crate::lint::lint(sc)
            .iter()
            .filter(|f| f.severity >= crate::lint::Severity::Warning)
            .map(|f| format!("lint {}", f.one_line())),
    );
    if let Some(e) = out.stall_error() {
        warnings.push(format!("{e}: this run's metrics are not a result"));
    }
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
    warnings
}

/// The first 1,000 scaling decisions over all replications.
fn scaling_events(out: &RunOutput) -> Vec<ScalingEventRecord> {
    out.replications
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
        .collect()
}

/// The first 1,000 breaker transitions over all replications.
fn breaker_events(out: &RunOutput) -> Vec<Value> {
    out.replications
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
        .collect()
}
