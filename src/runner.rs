//! Running a scenario: one replication at a time on a scheduler of its own,
//! replications in parallel on rayon, results gathered in replication order
//! so the output does not depend on the number of threads.

use crate::engine::{Scheduler, SimTime, Stall};
use crate::metrics::names::{Needs, METRICS};
use crate::metrics::{BreakerEvent, Recorder, ScalingEvent, TierCounters, TimeSeriesRow};
use crate::model::{Conservation, Peaks, Service};
use crate::scenario::{Scenario, DB_SERVER_METRICS, LIMITER_METRICS, STAGE_METRICS};
use rayon::prelude::*;
use std::time::Instant;

/// Probabilities at which each replication's latency distribution is kept
/// (the latency CDF of the report).
pub const CDF_PROBABILITIES: [f64; 21] = [
    0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999,
    0.9999,
];

/// Metric values of one replication, aligned with [`METRICS`]; None where
/// the metric is undefined (no completed request) or does not apply.
pub type MetricValues = Vec<Option<f64>>;

pub struct ReplicationResult {
    pub replication: u32,
    pub overall: MetricValues,
    pub tiers: Vec<MetricValues>,
    pub timeseries: Vec<TimeSeriesRow>,
    /// Changes of desired instance counts, with the group names they index.
    pub scaling_events: Vec<ScalingEvent>,
    pub groups: Vec<String>,
    /// Circuit-breaker state changes (the first 10,000).
    pub breaker_events: Vec<BreakerEvent>,
    pub events: u64,
    pub conservation: Conservation,
    /// The same accounting per tier (in scenario order).
    pub tier_conservation: Vec<Conservation>,
    /// High-water marks (whole run) for cap checks.
    pub peaks: Peaks,
    /// Latency quantiles at [`CDF_PROBABILITIES`]: overall first, then per
    /// tier (None where a tier completed nothing).
    pub latency_quantiles: Vec<Vec<Option<f64>>>,
    /// Request stages, each with its [`STAGE_METRICS`] values (empty
    /// without stages).
    pub stages: Vec<StageResult>,
    /// Each `[[rate_limit]]` with its [`LIMITER_METRICS`] values (empty
    /// without limiters).
    pub limiters: Vec<StageResult>,
    /// With read replicas: the primary, then each replica, with their
    /// [`DB_SERVER_METRICS`] values (empty without replicas).
    pub databases: Vec<StageResult>,
    /// Simulated time the run ended: `simulation.duration`, or earlier when
    /// every finite test was done.
    pub end_s: f64,
    /// The run stopped at `simulation.max_events` (`--max-events`) at
    /// `end_s`, before its horizon.
    pub event_limit_reached: bool,
    /// The run stopped because simulated time stopped moving (a loop of
    /// zero delays): when and who kept sending. Its metrics are not a
    /// result; callers report the stall as an input error.
    pub stall: Option<Stall>,
}

/// One request stage in one replication: its name (`endpoint.stage`) and
/// values aligned with [`STAGE_METRICS`] (None without a measured call).
pub struct StageResult {
    pub name: String,
    pub values: MetricValues,
}

pub struct RunOutput {
    pub replications: Vec<ReplicationResult>,
    pub wall_s: f64,
}

impl RunOutput {
    pub fn events(&self) -> u64 {
        self.replications.iter().map(|r| r.events).sum()
    }

    /// The first replication that stalled ([`ReplicationResult::stall`]),
    /// as an input error naming it: its scenario has a loop of zero delays.
    pub fn stall_error(&self) -> Option<crate::InputError> {
        self.replications.iter().find_map(|r| {
            r.stall
                .as_ref()
                .map(|s| crate::InputError(format!("replication {}: {s}", r.replication)))
        })
    }
}

/// Simulate replication `rep`. `progress` is called with the fraction of
/// simulated time just covered (the calls sum to 1).
pub fn run_replication(sc: &Scenario, rep: u32, progress: &(dyn Fn(f64) + Sync)) -> ReplicationResult {
    let watch = |c: Chunk| {
        progress(c.fraction);
        true
    };
    // The watcher never asks to stop, so a result always comes back.
    run_replication_watched(sc, rep, &watch).expect("an unstopped replication finishes")
}

/// What a watcher of a running replication is told after each of the 100
/// stretches of simulated time (see [`run_replication_watched`]).
pub struct Chunk<'a> {
    pub replication: u32,
    /// Fraction of the run's simulated time just covered (the calls sum to 1).
    pub fraction: f64,
    /// Time-series rows recorded since the previous call.
    pub new_rows: &'a [TimeSeriesRow],
    /// Events delivered since the previous call.
    pub new_events: u64,
}

/// [`run_replication`] for callers that watch it live (the dashboard of
/// `tenantsim serve`): `watch` sees each stretch's progress, new time-series
/// rows and events, and returns false to stop the replication (cancelled,
/// or over an events budget); then the result is None. Watching does not
/// change the result: the stretches are the same as without a watcher.
pub fn run_replication_watched(
    sc: &Scenario,
    rep: u32,
    watch: &(dyn Fn(Chunk) -> bool + Sync),
) -> Option<ReplicationResult> {
    let mut sched = Scheduler::new();
    if let Some(n) = sc.simulation.max_events {
        sched.set_event_limit(n);
    }
    let mut svc = Service::new(sc, rep, &mut sched);
    let end = sc.simulation.duration;
    let chunks = 100u64;
    let step = (end.as_nanos() / chunks).max(1);
    let mut t = SimTime::ZERO;
    let (mut rows_seen, mut events_seen) = (0usize, 0u64);
    let mut tell = |sched: &Scheduler<crate::model::Msg>, svc: &Service, fraction: f64| {
        let rows = &svc.rec.rows[rows_seen.min(svc.rec.rows.len())..];
        let go = watch(Chunk {
            replication: rep,
            fraction,
            new_rows: rows,
            new_events: sched.delivered() - events_seen,
        });
        rows_seen = svc.rec.rows.len();
        events_seen = sched.delivered();
        go
    };
    while t < end && !sched.stopped() {
        let next = SimTime::from_nanos((t.as_nanos() + step).min(end.as_nanos()));
        sched.run_until(&mut svc, next);
        if !tell(&sched, &svc, (next - t).as_secs_f64() / end.as_secs_f64()) {
            return None;
        }
        t = next;
    }
    // A finite test that is done ends the run early: its metrics cover
    // warm-up..end of test, so throughput is per second of actual test.
    if sched.stopped() && t < end && !tell(&sched, &svc, (end - t).as_secs_f64() / end.as_secs_f64()) {
        return None;
    }
    let event_limit_reached = sched.event_limit_reached();
    let stall = sched.stall().cloned();
    let end = if sched.stopped() { sched.now() } else { end };
    svc.finish_run(end);
    let window = end.saturating_sub(sc.simulation.warmup).as_secs_f64();
    let all = svc.rec.overall();
    let overall = values(&svc.rec, &all, window, sc, true);
    let latency_quantiles = std::iter::once(&all)
        .chain(svc.rec.tiers.iter())
        .map(|c| CDF_PROBABILITIES.iter().map(|q| c.latency.quantile_s(*q)).collect())
        .collect();
    let tiers = svc
        .rec
        .tiers
        .iter()
        .map(|c| values(&svc.rec, c, window, sc, false))
        .collect();
    let stages = svc
        .stage_names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let h = &svc.rec.stage_latency[i];
            let failed = svc.rec.stage_failures[i] as f64;
            let calls = h.count() as f64;
            let values = STAGE_METRICS
                .iter()
                .map(|(m, _)| match *m {
                    "latency_mean_s" => h.mean_s(),
                    "latency_p50_s" => h.quantile_s(0.50),
                    "latency_p95_s" => h.quantile_s(0.95),
                    "latency_p99_s" => h.quantile_s(0.99),
                    "failure_rate" => (calls > 0.0).then(|| failed / calls),
                    _ => None,
                })
                .collect();
            StageResult { name, values }
        })
        .collect();
    let limiters = sc
        .rate_limits
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (checked, rejected) = (svc.rec.limiter_checked[i], svc.rec.limiter_rejected[i]);
            let values = LIMITER_METRICS
                .iter()
                .map(|(m, _)| match *m {
                    "checked" => Some(checked as f64),
                    "rejected" => Some(rejected as f64),
                    "rejected_ratio" => (checked > 0).then(|| rejected as f64 / checked as f64),
                    _ => None,
                })
                .collect();
            StageResult {
                name: l.name.clone(),
                values,
            }
        })
        .collect();
    let databases = svc
        .rec
        .db_servers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let values = DB_SERVER_METRICS
                .iter()
                .map(|(m, _)| match *m {
                    "utilization" => (c.cores > 0.0).then(|| c.busy / c.cores),
                    "calls" => Some(c.calls as f64),
                    "pool_wait_mean_s" => c.pool_wait.mean_s(),
                    "pool_wait_p95_s" => c.pool_wait.quantile_s(0.95),
                    "pool_timeouts" => Some(c.pool_timeouts as f64),
                    _ => None,
                })
                .collect();
            let name = if i == 0 {
                "primary".to_string()
            } else {
                format!("replica-{i}")
            };
            StageResult { name, values }
        })
        .collect();
    Some(ReplicationResult {
        replication: rep,
        stages,
        limiters,
        databases,
        overall,
        tiers,
        timeseries: std::mem::take(&mut svc.rec.rows),
        scaling_events: std::mem::take(&mut svc.rec.scaling_events),
        groups: svc.group_names(),
        breaker_events: std::mem::take(&mut svc.rec.breaker_events),
        events: sched.delivered(),
        conservation: svc.conservation,
        tier_conservation: std::mem::take(&mut svc.tier_conservation),
        peaks: std::mem::take(&mut svc.peaks),
        latency_quantiles,
        end_s: end.as_secs_f64(),
        event_limit_reached,
        stall,
    })
}

/// Run every replication of `sc` on the current rayon pool.
pub fn run(sc: &Scenario, progress: &(dyn Fn(f64) + Sync)) -> RunOutput {
    let go = |f: f64| {
        progress(f);
        true
    };
    // The watcher never asks to stop, so the run always finishes.
    run_cancellable(sc, &go).expect("an unstopped run finishes")
}

/// A run whose watcher asked it to stop (Ctrl-C in the Python package):
/// no result, since the replications were cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the run was cancelled")]
pub struct Cancelled;

/// [`run`] that can be stopped: `progress` gets the same increments and
/// returns false to stop. Every replication then stops at its next stretch
/// (a hundredth of its simulated time), so a watcher that keeps returning
/// false ends the run within one stretch. Watching does not change the
/// result.
pub fn run_cancellable(sc: &Scenario, progress: &(dyn Fn(f64) -> bool + Sync)) -> Result<RunOutput, Cancelled> {
    let start = Instant::now();
    let n = sc.simulation.replications;
    let per = |f: f64| progress(f / n as f64);
    let replications = run_range_cancellable(sc, 0..n, &per)?;
    Ok(RunOutput {
        replications,
        wall_s: start.elapsed().as_secs_f64(),
    })
}

/// Replications `reps` of `sc`, in parallel, returned in order.
pub fn run_range(sc: &Scenario, reps: std::ops::Range<u32>, progress: &(dyn Fn(f64) + Sync)) -> Vec<ReplicationResult> {
    reps.into_par_iter().map(|r| run_replication(sc, r, progress)).collect()
}

/// [`run_range`] that stops when `progress` returns false (see
/// [`run_cancellable`]).
pub fn run_range_cancellable(
    sc: &Scenario,
    reps: std::ops::Range<u32>,
    progress: &(dyn Fn(f64) -> bool + Sync),
) -> Result<Vec<ReplicationResult>, Cancelled> {
    reps.into_par_iter()
        .map(|r| run_replication_watched(sc, r, &|c: Chunk| progress(c.fraction)).ok_or(Cancelled))
        .collect()
}

/// What `--precision` asks for: the relative half-width of the 95 % CI of
/// each named overall metric, and a cap on replications.
#[derive(Clone, Debug)]
pub struct Precision {
    pub relative_half_width: f64,
    pub metrics: Vec<&'static str>,
    pub max_replications: u32,
}

/// Ratios (error rates, probabilities, utilizations) whose mean is below
/// this are held to an absolute half-width of `relative_half_width ×
/// RATE_FLOOR` instead of a relative one: an error rate of 2e-6 would
/// otherwise need millions of replications for a 1 % relative CI, and run
/// every `--precision` to the cap.
pub const RATE_FLOOR: f64 = 0.01;

/// How a `--precision` run ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrecisionOutcome {
    /// Every metric met its target.
    pub met: bool,
    /// The metrics that did not (empty when `met`), in `Precision::metrics`
    /// order.
    pub missed: Vec<&'static str>,
    /// Ratios whose mean was below [`RATE_FLOOR`], judged on the absolute
    /// half-width `relative_half_width × RATE_FLOOR`.
    pub absolute: Vec<&'static str>,
}

/// Run `sc` until every metric in `p` has a CI half-width within the target
/// (or the cap is reached): start with `simulation.replications` (at least
/// 3), estimate how many are needed from the CI so far, run the missing
/// ones, repeat. Ratios near zero get an absolute target (see
/// [`RATE_FLOOR`]). Replication r is the same whatever the batch it ran in,
/// so the result is deterministic. Returns the output and which metrics met
/// their target; `progress` gets increments that sum to 1, measured against
/// the cap (the rest is added when the target is met early).
pub fn run_to_precision(
    sc: &Scenario,
    p: &Precision,
    progress: &(dyn Fn(f64) + Sync),
) -> (RunOutput, PrecisionOutcome) {
    let go = |f: f64| {
        progress(f);
        true
    };
    // The watcher never asks to stop, so the run always finishes.
    run_to_precision_cancellable(sc, p, &go).expect("an unstopped run finishes")
}

/// [`run_to_precision`] that stops when `progress` returns false (see
/// [`run_cancellable`]).
pub fn run_to_precision_cancellable(
    sc: &Scenario,
    p: &Precision,
    progress: &(dyn Fn(f64) -> bool + Sync),
) -> Result<(RunOutput, PrecisionOutcome), Cancelled> {
    let start = Instant::now();
    let mut n = sc.simulation.replications.max(3).min(p.max_replications.max(2));
    let mut reps: Vec<ReplicationResult> = Vec::new();
    let defs: Vec<(usize, &crate::metrics::names::MetricDef)> = p
        .metrics
        .iter()
        .filter_map(|m| Some((crate::metrics::names::index(m)?, crate::metrics::names::metric(m)?)))
        .collect();
    loop {
        let have = reps.len() as u32;
        // The bar's whole length is the cap: the target may be met sooner.
        let cap = p.max_replications.max(n) as f64;
        let per = |f: f64| progress(f / cap);
        reps.extend(run_range_cancellable(sc, have..n, &per)?);
        let mut needed = n as usize;
        let mut outcome = PrecisionOutcome {
            met: true,
            ..Default::default()
        };
        for &(i, def) in &defs {
            let xs: Vec<f64> = reps.iter().filter_map(|r| r.overall[i]).collect();
            let Some(e) = crate::stats::Estimate::from_samples(&xs) else {
                continue;
            };
            let floor = if def.unit == crate::metrics::names::Unit::Ratio {
                RATE_FLOOR
            } else {
                0.0
            };
            if e.mean.abs() < floor {
                outcome.absolute.push(def.name);
            }
            match crate::stats::replications_needed_with_floor(&e, p.relative_half_width, floor) {
                Some(k) if k <= xs.len() => {}
                Some(k) => {
                    outcome.met = false;
                    outcome.missed.push(def.name);
                    needed = needed.max(k);
                }
                None => {
                    outcome.met = false;
                    outcome.missed.push(def.name);
                }
            }
        }
        if outcome.met || n >= p.max_replications {
            let cap = p.max_replications.max(n);
            // The run is complete: a stop asked for now changes nothing.
            let _ = progress((cap - n) as f64 / cap as f64);
            let out = RunOutput {
                replications: reps,
                wall_s: start.elapsed().as_secs_f64(),
            };
            return Ok((out, outcome));
        }
        // Grow by at least one and at most doubling per round: the first
        // estimate of the spread is itself noisy.
        n = (needed as u32).clamp(n + 1, n * 2).min(p.max_replications);
    }
}

/// Compute every metric from a replication's counters. `all` marks the
/// overall counters (instance-level metrics are only reported there).
fn values(rec: &Recorder, c: &TierCounters, window: f64, sc: &Scenario, all: bool) -> MetricValues {
    use crate::metrics::timeline;
    let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
    let warmup_s = sc.simulation.warmup.as_secs_f64();
    METRICS
        .iter()
        .map(|m| {
            let has = match m.needs {
                Needs::Nothing => true,
                Needs::Pool => sc.pool.is_some(),
                Needs::Database => sc.database.is_some(),
                Needs::Cache => sc.cache.any(),
                Needs::FiniteTest => sc.has_finite_workload(),
                Needs::Breaker => sc.breakers.any(),
                Needs::DbBreaker => sc.breakers.database.is_some(),
                Needs::CacheBreaker => sc.breakers.cache.is_some(),
                Needs::Shedding => sc.shedding.is_some() || sc.memory.as_ref().is_some_and(|m| m.sheds()),
                Needs::Memory => sc.memory.is_some(),
                Needs::Background => !sc.background.is_empty(),
                Needs::Pauses => sc.pauses.is_some(),
                Needs::Sessions => sc.sessions.is_some(),
                Needs::EmergencyGc => sc.memory.as_ref().is_some_and(|m| m.has_gc()),
                Needs::Stages => sc.endpoints.iter().any(|e| !e.stages.is_empty()),
                Needs::Limiters => !sc.rate_limits.is_empty(),
                Needs::LimitStore => sc.limit_store.is_some(),
                Needs::Replicas => sc.database.as_ref().is_some_and(|d| d.replicas.is_some()),
                Needs::Autoscaler => sc.autoscaler.is_some(),
                Needs::ScalingStep => sc.autoscaler.is_some() && sc.scaling_reference.is_some(),
            };
            if !has || (!all && !m.per_tier) {
                return None;
            }
            let g = &rec.measured;
            match m.name {
                "throughput_rps" => ratio(c.completed as f64, window),
                "test_duration_s" => Some(window),
                "latency_mean_s" => c.latency.mean_s(),
                "latency_p50_s" => c.latency.quantile_s(0.50),
                "latency_p95_s" => c.latency.quantile_s(0.95),
                "latency_p99_s" => c.latency.quantile_s(0.99),
                "queue_wait_mean_s" => c.queue_wait.mean_s(),
                "queue_wait_p95_s" => c.queue_wait.quantile_s(0.95),
                "queue_wait_prob" => ratio(c.waited as f64, c.queue_wait.count() as f64),
                "pool_wait_mean_s" => c.pool_wait.mean_s(),
                "pool_wait_p95_s" => c.pool_wait.quantile_s(0.95),
                "db_query_time_mean_s" => c.db_query.mean_s(),
                "db_query_time_p95_s" => c.db_query.quantile_s(0.95),
                "pool_timeouts" => Some(c.pool_timeouts as f64),
                "pool_tenant_cap_waits" => Some(c.tenant_cap_waits as f64),
                "rejected_db_connections" => Some(c.db_refused as f64),
                "query_timeouts" => Some(c.query_timeouts as f64),
                "abandoned_work" => Some(c.abandoned as f64),
                "instance_failures" => Some(c.instance_failures as f64),
                "rejected_no_instance" => Some(c.no_instance as f64),
                "rejected_shed" => Some(c.shed as f64),
                "stage_failures" => Some(c.stage_failures as f64),
                "oom_kills" => Some(rec.oom_kills as f64),
                "oom_failures" => Some(c.oom_failures as f64),
                "memory_restarts" => Some(rec.memory_restarts as f64),
                "cache_shrinks" => Some(rec.cache_shrinks as f64),
                "memory_max_utilization" => Some(rec.memory_max),
                "background_runs" => Some(rec.background_runs as f64),
                "paused_fraction" => ratio(rec.paused_s, g.serving),
                "sessions_open_mean" => ratio(g.sessions, window),
                "sessions_max_per_instance" => Some(rec.sessions_max_per_instance as f64),
                "session_rejects" => Some(rec.session_rejects as f64),
                "session_drops" => Some(rec.session_drops as f64),
                "session_reconnects" => Some(rec.session_reconnects as f64),
                "sessions_lost" => Some(rec.sessions_lost as f64),
                "sessions_pruned" => Some(rec.sessions_pruned as f64),
                "messages_completed" => Some(rec.messages_completed as f64),
                "messages_failed" => Some(rec.messages_failed as f64),
                "message_latency_mean_s" => rec.message_latency.mean_s(),
                "message_latency_p95_s" => rec.message_latency.quantile_s(0.95),
                "message_latency_p99_s" => rec.message_latency.quantile_s(0.99),
                "emergency_gcs" => Some(rec.emergency_gcs as f64),
                "breaker_rejections" => Some(c.breaker_rejections as f64),
                "stale_hits" => Some(c.stale_hits as f64),
                "breaker_opens" => Some(rec.breaker_opens as f64),
                "db_breaker_open_fraction" => ratio(g.db_breaker_open, window),
                "cache_breaker_open_fraction" => ratio(g.cache_breaker_open, window),
                "cache_hit_ratio" => ratio((c.l1_hits + c.l2_hits + c.l3_hits) as f64, c.cacheable_reads as f64),
                "l3_hit_ratio" if sc.cache.l3.is_some() => ratio(c.l3_hits as f64, c.l3_lookups as f64),
                "rejected_rate_limits" => Some(c.limiter_rejected as f64),
                "rate_limit_check_mean_s" => rec.limit_wait.mean_s(),
                "rate_limit_check_p95_s" => rec.limit_wait.quantile_s(0.95),
                "replica_utilization" => ratio(g.replica_busy, g.replica_cores),
                "l1_hit_ratio" if sc.cache.l1.is_some() => ratio(c.l1_hits as f64, c.cacheable_reads as f64),
                "l2_hit_ratio" if sc.cache.l2.is_some() => {
                    // Reads that reached L2: all of them without an L1,
                    // otherwise the L1 misses.
                    let reached = if sc.cache.l1.is_some() {
                        c.l1_misses
                    } else {
                        c.cacheable_reads
                    };
                    ratio(c.l2_hits as f64, reached as f64)
                }
                "pool_utilization" => ratio(g.pool_in_use, g.pool_capacity),
                "db_utilization" => ratio(g.db_busy, g.db_cores),
                "error_rate" => ratio(c.failed() as f64, c.arrived as f64),
                "rejected_rate_limited" => Some(c.rate_limited as f64),
                "rejected_queue_full" => Some(c.queue_full as f64),
                "rejected_tenant_limit" => Some(c.tenant_limit as f64),
                "timeouts" => Some((c.timeouts + c.query_timeouts) as f64),
                "retries" => Some(c.retries as f64),
                // A finite test that ends within the warm-up has an empty
                // window: these averages are undefined (None), not NaN.
                "instances_mean" => ratio(g.instances, window),
                "instances_max" => Some(rec.instances_max as f64),
                "instance_hours" => Some(g.alive / 3600.0),
                "cost" => Some(g.alive / 3600.0 * sc.instance.cost_per_hour),
                "scale_flaps_per_hour" => timeline::flaps_per_hour(&rec.scaling_events, warmup_s, window),
                "time_to_need_s" => timeline::time_to_need(
                    &rec.replica_timeline,
                    sc.scaling_reference.as_ref()?,
                    sc.simulation.duration.as_secs_f64(),
                ),
                "overshoot_instances" => timeline::overshoot(&rec.replica_timeline, sc.scaling_reference.as_ref()?),
                "underprovisioned_fraction" => {
                    let (t, tol) = timeline::cpu_band(sc.autoscaler.as_ref()?)?;
                    timeline::provisioning(&rec.rows, warmup_s, t, tol).map(|p| p.0)
                }
                "overprovisioned_fraction" => {
                    let (t, tol) = timeline::cpu_band(sc.autoscaler.as_ref()?)?;
                    timeline::provisioning(&rec.rows, warmup_s, t, tol).map(|p| p.1)
                }
                "cpu_utilization" => ratio(g.busy_cores, g.cores),
                "memory_utilization" => ratio(g.memory, g.serving),
                "requests_arrived" => Some(c.arrived as f64),
                "requests_completed" => Some(c.completed as f64),
                "in_system_mean" => ratio(g.in_system, window),
                "littles_law_error" => {
                    let l = ratio(g.in_system, window)?;
                    let lambda = ratio(rec.admitted as f64, window)?;
                    let w = ratio(rec.sojourn_sum_s, rec.sojourn_n as f64)?;
                    ratio((l - lambda * w).abs(), l)
                }
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn quickstart() -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples/quickstart.toml");
        let sets = [
            "simulation.duration=3m",
            "simulation.warmup=30s",
            "simulation.replications=3",
        ]
        .map(String::from);
        crate::scenario::load(&path, &sets).expect("the bundled quickstart loads")
    }

    #[test]
    fn a_watcher_that_says_stop_ends_every_replication_at_its_next_stretch() {
        let sc = quickstart();
        let calls = AtomicUsize::new(0);
        // Stop after 10 stretches: 3 replications × 100 stretches would run otherwise.
        let watch = |_: f64| calls.fetch_add(1, Ordering::Relaxed) < 10;
        assert_eq!(run_cancellable(&sc, &watch).err(), Some(Cancelled));
        // Each replication stops at the first stretch after the stop: at
        // most one more call per replication than the 10 that said go.
        assert!(
            calls.load(Ordering::Relaxed) <= 10 + 3,
            "{}",
            calls.load(Ordering::Relaxed)
        );
        let p = Precision {
            relative_half_width: 0.01,
            metrics: vec!["latency_mean_s"],
            max_replications: 10,
        };
        assert_eq!(run_to_precision_cancellable(&sc, &p, &|_| false).err(), Some(Cancelled));
    }

    #[test]
    fn watching_without_stopping_gives_the_plain_run() {
        let sc = quickstart();
        let plain = run(&sc, &|_| {});
        let watched = run_cancellable(&sc, &|_| true).expect("never stopped");
        let overall = |o: &RunOutput| o.replications.iter().map(|r| r.overall.clone()).collect::<Vec<_>>();
        assert_eq!(overall(&plain), overall(&watched));
    }
}
