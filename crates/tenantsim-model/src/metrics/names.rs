//! The metric catalogue: every metric's name, unit and direction, defined
//! once and used by the summary, SLO checks, sweep columns and reports.
//! Names are in seconds and ratios (never milliseconds or percent).
//! Every metric is non-negative (the summary clips CI lower ends at 0).

/// What a metric's number means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Ratio,
    PerSecond,
    Count,
    Instances,
    Hours,
    Money,
}

/// Which way is better; decides whether an SLO limit is a maximum or a
/// minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// The component a metric needs; a scenario without it has no such metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    Pool,
    Database,
    Cache,
    /// A finite closed workload (`requests_per_user`).
    FiniteTest,
    /// Any circuit breaker.
    Breaker,
    DbBreaker,
    CacheBreaker,
    Shedding,
    /// An endpoint with request stages.
    Stages,
    /// A `[memory]` table (memory pressure).
    Memory,
    /// `[[background]]` tasks.
    Background,
    /// `[pauses]`.
    Pauses,
    /// Any `[[rate_limit]]`.
    Limiters,
    /// A `[rate_limit_store]` (shared limiters).
    LimitStore,
    /// `[database.replicas]`.
    Replicas,
    /// `[sessions]` (long-lived connections).
    Sessions,
    /// A memory `emergency-gc` action.
    EmergencyGc,
    /// An `[autoscaler]` (scaling-timeline metrics).
    Autoscaler,
    /// An `[autoscaler]` and an `[slo.scaling]` load step to measure from.
    ScalingStep,
}

#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    pub name: &'static str,
    pub unit: Unit,
    pub better: Better,
    pub needs: Needs,
    /// Also reported per tier.
    pub per_tier: bool,
    pub help: &'static str,
}

const fn m(
    name: &'static str,
    unit: Unit,
    better: Better,
    needs: Needs,
    per_tier: bool,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        unit,
        better,
        needs,
        per_tier,
        help,
    }
}

use Better::{Higher as H, Lower as L};
use Needs::Nothing as N;
use Unit::*;

/// Every metric, in the order they are reported.
#[rustfmt::skip]
pub const METRICS: &[MetricDef] = &[
    m("throughput_rps", PerSecond, H, N, true, "requests completed per second (after warm-up; for a finite test, per second of actual test)"),
    m("test_duration_s", Seconds, L, Needs::FiniteTest, false, "finite tests: simulated time from warm-up to the end of the test (all users done, nothing in flight)"),
    m("latency_mean_s", Seconds, L, N, true, "mean latency of completed requests, arrival to response"),
    m("latency_p50_s", Seconds, L, N, true, "median latency of completed requests"),
    m("latency_p95_s", Seconds, L, N, true, "95th percentile latency of completed requests"),
    m("latency_p99_s", Seconds, L, N, true, "99th percentile latency of completed requests"),
    m("queue_wait_mean_s", Seconds, L, N, true, "mean wait for a worker in the instance queue"),
    m("queue_wait_p95_s", Seconds, L, N, true, "95th percentile wait for a worker"),
    m("queue_wait_prob", Ratio, L, N, true, "fraction of admitted requests that waited for a worker"),
    m("pool_wait_mean_s", Seconds, L, Needs::Pool, true, "mean wait for a database connection"),
    m("pool_wait_p95_s", Seconds, L, Needs::Pool, true, "95th percentile wait for a database connection"),
    m("error_rate", Ratio, L, N, true, "failed / arrived: rejections, timeouts and failures"),
    m("rejected_rate_limited", Count, L, N, true, "requests refused by the tier's token bucket or a [[rate_limit]] limiter (HTTP 429)"),
    m("rejected_rate_limits", Count, L, Needs::Limiters, true, "requests refused by a [[rate_limit]] limiter (HTTP 429; also in rejected_rate_limited; per limiter in summary.json `limiters`)"),
    m("rate_limit_check_mean_s", Seconds, L, Needs::LimitStore, false, "mean time a request waited for the shared rate-limit store's answer (latency + queueing)"),
    m("rate_limit_check_p95_s", Seconds, L, Needs::LimitStore, false, "95th percentile of the wait for the shared rate-limit store"),
    m("rejected_queue_full", Count, L, N, true, "requests refused because the instance queue was full"),
    m("rejected_tenant_limit", Count, L, N, true, "requests refused by the per-tenant concurrency cap"),
    m("rejected_no_instance", Count, L, N, true, "requests refused because no instance of their group was ready (503)"),
    m("db_query_time_mean_s", Seconds, L, Needs::Database, true, "mean time of a database query from its start on the database to its reply: its work plus the sharing of the database's cores with the other running queries (the pool wait not included)"),
    m("db_query_time_p95_s", Seconds, L, Needs::Database, true, "95th percentile time of a database query (start on the database to reply)"),
    m("pool_timeouts", Count, L, Needs::Pool, true, "requests that waited longer than the pool timeout"),
    m("pool_tenant_cap_waits", Count, L, Needs::Pool, true, "connection requests held back by their tenant's max_connections"),
    m("rejected_db_connections", Count, L, Needs::Database, true, "requests failed because the database refused a new connection"),
    m("rejected_shed", Count, L, Needs::Shedding, true, "requests refused by load shedding (lowest priority first)"),
    m("stage_failures", Count, L, Needs::Stages, true, "requests failed by a request stage's failure probability (per-stage figures in summary.json `stages`)"),
    m("oom_kills", Count, L, Needs::Memory, false, "instances killed for crossing instance.memory_mb (each restarts after startup)"),
    m("oom_failures", Count, L, Needs::Memory, true, "requests lost because their instance was OOM-killed"),
    m("memory_restarts", Count, L, Needs::Memory, false, "instances restarted by a memory `restart` action"),
    m("cache_shrinks", Count, L, Needs::Memory, false, "times a memory `shrink-cache` action dropped L1 entries"),
    m("memory_max_utilization", Ratio, L, Needs::Memory, false, "highest memory use / instance.memory_mb any instance reached (above 1: an OOM kill)"),
    m("background_runs", Count, L, Needs::Background, false, "background task runs started (their CPU counts in cpu_utilization)"),
    m("paused_fraction", Ratio, L, Needs::Pauses, false, "fraction of serving instance-time spent in stop-the-world pauses"),
    m("sessions_open_mean", Count, L, Needs::Sessions, false, "time-average number of connected sessions (all instances)"),
    m("sessions_max_per_instance", Count, L, Needs::Sessions, false, "most sessions any one instance held at once (whole run; never above sessions.max_per_instance)"),
    m("session_rejects", Count, L, Needs::Sessions, false, "connection attempts refused: the chosen instance was at sessions.max_per_instance, or none was ready"),
    m("session_drops", Count, L, Needs::Sessions, false, "sessions disconnected because their instance failed, was OOM-killed or restarted, was scaled in, or pruned them"),
    m("session_reconnects", Count, L, Needs::Sessions, false, "reconnection attempts after a drop (retries after a reject included)"),
    m("sessions_lost", Count, L, Needs::Sessions, false, "dropped sessions whose client gave up after sessions.attempts refused attempts"),
    m("sessions_pruned", Count, L, Needs::Sessions, false, "sessions closed by a memory prune-connections action"),
    m("messages_completed", Count, H, Needs::Sessions, false, "session messages processed"),
    m("messages_failed", Count, L, Needs::Sessions, false, "session messages refused (instance queue full) or lost with their instance"),
    m("message_latency_mean_s", Seconds, L, Needs::Sessions, false, "mean latency of session messages (queue wait for a worker + CPU on the session's instance)"),
    m("message_latency_p95_s", Seconds, L, Needs::Sessions, false, "95th percentile latency of session messages"),
    m("message_latency_p99_s", Seconds, L, Needs::Sessions, false, "99th percentile latency of session messages"),
    m("emergency_gcs", Count, L, Needs::EmergencyGc, false, "memory emergency-gc pauses started"),
    m("breaker_rejections", Count, L, Needs::Breaker, true, "requests failed at once because the database circuit breaker was open"),
    m("stale_hits", Count, L, Needs::DbBreaker, true, "reads answered from an expired cached copy while the database breaker was open (fallback = stale)"),
    m("breaker_opens", Count, L, Needs::Breaker, false, "times a circuit breaker opened (from closed or half-open)"),
    m("db_breaker_open_fraction", Ratio, L, Needs::DbBreaker, false, "fraction of the time the database breaker was not closed (open or half-open)"),
    m("cache_breaker_open_fraction", Ratio, L, Needs::CacheBreaker, false, "fraction of the time the L2 breaker was not closed (reads skip the L2)"),
    m("instance_failures", Count, L, N, true, "requests lost because their instance failed or was removed mid-request"),
    m("timeouts", Count, L, N, true, "client timeouts (endpoint timeout) plus query timeouts"),
    m("query_timeouts", Count, L, Needs::Database, true, "queries aborted by the tier's query_timeout"),
    m("retries", Count, L, N, true, "retry attempts sent"),
    m("abandoned_work", Count, L, N, true, "requests the server finished after their client had given up (wasted work)"),
    m("cache_hit_ratio", Ratio, H, Needs::Cache, true, "cacheable reads served by any cache level"),
    m("l1_hit_ratio", Ratio, H, Needs::Cache, true, "cacheable reads served by the instance L1 cache"),
    m("l2_hit_ratio", Ratio, H, Needs::Cache, true, "L1 misses served by the shared L2 cache"),
    m("l3_hit_ratio", Ratio, H, Needs::Cache, true, "lookups reaching the persistent L3 cache that it served"),
    m("instances_mean", Instances, L, N, false, "time-average number of ready instances"),
    m("instances_max", Instances, L, N, false, "largest number of ready instances"),
    m("instance_hours", Hours, L, N, false, "instance-hours from start request to removal"),
    m("cost", Money, L, N, false, "instance_hours × instance.cost_per_hour"),
    m("scale_flaps_per_hour", Count, L, Needs::Autoscaler, false, "reversals of the desired count's direction (up then down or down then up) per hour: flapping"),
    m("time_to_need_s", Seconds, L, Needs::ScalingStep, false, "time from the [slo.scaling] load step until `need` instances are ready (the rest of the run when they never are, so a limit on it fails)"),
    m("overshoot_instances", Instances, L, Needs::ScalingStep, false, "largest desired instance count above the [slo.scaling] `need` between the load step and `until` (0 if never above)"),
    m("underprovisioned_fraction", Ratio, L, Needs::Autoscaler, false, "fraction of the samples with CPU utilization above the autoscaler's target band (target × (1 + tolerance))"),
    m("overprovisioned_fraction", Ratio, L, Needs::Autoscaler, false, "fraction of the samples with CPU utilization below the autoscaler's target band (target × (1 − tolerance))"),
    m("cpu_utilization", Ratio, L, N, false, "busy cores / cores of ready instances, time-averaged"),
    m("memory_utilization", Ratio, L, N, false, "used / available instance memory, time-averaged"),
    m("pool_utilization", Ratio, L, Needs::Pool, false, "connections in use / pool capacity (size + overflow, or max)"),
    m("db_utilization", Ratio, L, Needs::Database, false, "busy database cores / cores (the primary)"),
    m("replica_utilization", Ratio, L, Needs::Replicas, false, "busy read-replica cores / replica cores, all replicas (per server in summary.json `databases`)"),
    m("requests_arrived", Count, H, N, true, "requests that arrived after warm-up (retries included)"),
    m("requests_completed", Count, H, N, true, "requests completed (arrived after warm-up)"),
    m("in_system_mean", Count, L, N, false, "time-average number of requests in the service (Little's L)"),
    m("littles_law_error", Ratio, L, N, false, "|L − λW|/L: Little's law check on every run (≈ 0 when consistent)"),
];

/// A metric's position in [`METRICS`] (and in every per-replication
/// value vector aligned with it).
pub fn index(name: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.name == name)
}

/// Look a metric up by name.
pub fn metric(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names_are_unique_and_in_si_units() {
        for (i, a) in METRICS.iter().enumerate() {
            assert!(METRICS[..i].iter().all(|b| b.name != a.name), "{} twice", a.name);
            if a.unit == Unit::Seconds {
                assert!(a.name.ends_with("_s"), "{} is in seconds but not named _s", a.name);
            }
            assert!(!a.name.contains("ms") && !a.name.contains("pct"));
        }
        assert!(metric("latency_p95_s").is_some());
        assert!(metric("latency_p95").is_none());
    }
}
