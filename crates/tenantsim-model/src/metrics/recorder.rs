//! The per-replication recorder: what happened to every request, time
//! averages over the measured window, and the time series.
//!
//! Requests that arrive before the warm-up ends are simulated but not
//! counted; time averages start at the end of warm-up. The time series
//! covers the whole run (warm-up included) so transients stay visible.

use super::LatencyHistogram;
use tenantsim_engine::SimTime;

/// How a request ended, from the client's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    RateLimited,
    TenantLimit,
    QueueFull,
    /// The client gave up (endpoint timeout).
    Timeout,
    /// No connection within the pool timeout.
    PoolTimeout,
    /// A query ran longer than the tier's query timeout.
    QueryTimeout,
    /// The database refused a new connection (max_connections).
    DbRefused,
    /// The instance serving it failed or was removed before it finished.
    InstanceFailure,
    /// No instance of its group was ready to take it (HTTP 503).
    NoInstance,
    /// The database circuit breaker was open (and no stale copy served it).
    BreakerOpen,
    /// Load shedding refused it (the picked instance was overloaded).
    Shed,
    /// A request stage failed (its `fail` probability).
    StageFailure,
    /// Its instance was killed for running out of memory.
    OomKilled,
}

/// A circuit breaker changed state.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerEvent {
    pub time_s: f64,
    /// "database" or "cache".
    pub downstream: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

/// Breaker state changes kept per replication (the first ones); the count
/// goes on.
pub const MAX_BREAKER_EVENTS: usize = 10_000;

/// A change of an instance group's desired count.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingEvent {
    pub time_s: f64,
    pub group: u16,
    pub from: u32,
    pub to: u32,
    pub reason: &'static str,
    /// For the HPA: the metric, raw recommendation, stabilized value and
    /// limit behind the change (Copy: recording it does not allocate).
    pub hpa: Option<crate::autoscaler::HpaDetail>,
}

/// One point of the replica timeline: from `time_s` on (until the next
/// point), `ready` instances serve and the groups want `desired` in all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaPoint {
    pub time_s: f64,
    pub ready: u32,
    pub desired: u32,
}

/// Counts and distributions for one tier (or all traffic).
#[derive(Clone, Default)]
pub struct TierCounters {
    pub arrived: u64,
    pub completed: u64,
    pub rate_limited: u64,
    pub tenant_limit: u64,
    pub queue_full: u64,
    /// Client timeouts.
    pub timeouts: u64,
    pub pool_timeouts: u64,
    pub query_timeouts: u64,
    pub db_refused: u64,
    pub instance_failures: u64,
    pub no_instance: u64,
    pub breaker_rejections: u64,
    pub stale_hits: u64,
    pub shed: u64,
    pub stage_failures: u64,
    pub oom_failures: u64,
    pub retries: u64,
    pub abandoned: u64,
    pub tenant_cap_waits: u64,
    /// Requests that found no free worker and queued.
    pub waited: u64,
    pub cacheable_reads: u64,
    pub l1_hits: u64,
    pub l1_misses: u64,
    pub l2_hits: u64,
    /// Lookups that reached the L3, and its hits.
    pub l3_lookups: u64,
    pub l3_hits: u64,
    /// Requests refused by a `[[rate_limit]]` limiter (also in `rate_limited`).
    pub limiter_rejected: u64,
    pub latency: LatencyHistogram,
    pub queue_wait: LatencyHistogram,
    pub pool_wait: LatencyHistogram,
    /// Each database query's time from its start on the database to its
    /// reply (processor sharing with the other running queries included,
    /// the pool wait not).
    pub db_query: LatencyHistogram,
}

impl TierCounters {
    /// Add `o`'s counts and distributions to these.
    pub fn merge(&mut self, o: &TierCounters) {
        self.arrived += o.arrived;
        self.completed += o.completed;
        self.rate_limited += o.rate_limited;
        self.tenant_limit += o.tenant_limit;
        self.queue_full += o.queue_full;
        self.timeouts += o.timeouts;
        self.pool_timeouts += o.pool_timeouts;
        self.query_timeouts += o.query_timeouts;
        self.db_refused += o.db_refused;
        self.instance_failures += o.instance_failures;
        self.no_instance += o.no_instance;
        self.breaker_rejections += o.breaker_rejections;
        self.stale_hits += o.stale_hits;
        self.shed += o.shed;
        self.stage_failures += o.stage_failures;
        self.oom_failures += o.oom_failures;
        self.retries += o.retries;
        self.abandoned += o.abandoned;
        self.tenant_cap_waits += o.tenant_cap_waits;
        self.waited += o.waited;
        self.cacheable_reads += o.cacheable_reads;
        self.l1_hits += o.l1_hits;
        self.l1_misses += o.l1_misses;
        self.l2_hits += o.l2_hits;
        self.l3_lookups += o.l3_lookups;
        self.l3_hits += o.l3_hits;
        self.limiter_rejected += o.limiter_rejected;
        self.latency.merge(&o.latency);
        self.queue_wait.merge(&o.queue_wait);
        self.pool_wait.merge(&o.pool_wait);
        self.db_query.merge(&o.db_query);
    }

    /// Requests that failed from the client's point of view.
    pub fn failed(&self) -> u64 {
        self.rate_limited
            + self.tenant_limit
            + self.queue_full
            + self.timeouts
            + self.pool_timeouts
            + self.query_timeouts
            + self.db_refused
            + self.instance_failures
            + self.no_instance
            + self.breaker_rejections
            + self.shed
            + self.stage_failures
            + self.oom_failures
    }
}

/// One row of `timeseries.csv` (SPEC §6). `time_s` is the end of the interval.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeriesRow {
    /// End of the interval, seconds since the start.
    pub time_s: f64,
    /// Arrivals per second over the interval: the offered load, including
    /// requests later rejected or still in flight (Σ rps × interval =
    /// `requests_arrived`).
    pub rps: f64,
    /// Requests completed in the interval (a count).
    pub completed: u64,
    /// Completions per second over the interval: the served load
    /// (`completed` / interval).
    pub throughput_rps: f64,
    pub errors: u64,
    /// Mean latency of the interval's completions (not a CSV column: used
    /// for warm-up detection and batch means).
    pub latency_mean_s: Option<f64>,
    pub latency_p50_s: Option<f64>,
    pub latency_p95_s: Option<f64>,
    pub latency_p99_s: Option<f64>,
    pub instances_ready: u32,
    pub instances_desired: u32,
    pub cpu_utilization: Option<f64>,
    pub memory_utilization: Option<f64>,
    pub pool_in_use: f64,
    pub pool_waiting: f64,
    pub cache_hit_ratio: Option<f64>,
    /// With sessions: time-average connected sessions over the interval,
    /// and the most one instance held in it.
    pub sessions_open: Option<f64>,
    pub sessions_max_per_instance: Option<u32>,
}

/// Areas (value × seconds) of the gauges over one stretch of time.
#[derive(Clone, Copy, Debug, Default)]
pub struct GaugeAreas {
    /// Busy cores.
    pub busy_cores: f64,
    /// Cores of ready instances.
    pub cores: f64,
    /// Memory in use as a fraction of each instance's memory, summed.
    pub memory: f64,
    /// Ready instances.
    pub instances: f64,
    /// Instances serving (ready or draining): the denominator of the
    /// CPU and memory ratios.
    pub serving: f64,
    /// Instances that exist (starting, ready, draining): instance-hours.
    pub alive: f64,
    /// Requests in the service.
    pub in_system: f64,
    /// Connections in use, all pools.
    pub pool_in_use: f64,
    /// Requests waiting for a connection, all pools.
    pub pool_waiting: f64,
    /// Connection capacity (limit × pools).
    pub pool_capacity: f64,
    /// Busy database cores.
    pub db_busy: f64,
    /// Database cores.
    pub db_cores: f64,
    /// Time the database / cache breaker was not closed.
    pub db_breaker_open: f64,
    pub cache_breaker_open: f64,
    /// Busy read-replica cores and replica cores × time, all replicas.
    pub replica_busy: f64,
    pub replica_cores: f64,
    /// Connected sessions.
    pub sessions: f64,
}

impl GaugeAreas {
    fn add(&mut self, o: &GaugeAreas) {
        self.busy_cores += o.busy_cores;
        self.cores += o.cores;
        self.memory += o.memory;
        self.instances += o.instances;
        self.serving += o.serving;
        self.alive += o.alive;
        self.in_system += o.in_system;
        self.pool_in_use += o.pool_in_use;
        self.pool_waiting += o.pool_waiting;
        self.pool_capacity += o.pool_capacity;
        self.db_busy += o.db_busy;
        self.db_cores += o.db_cores;
        self.db_breaker_open += o.db_breaker_open;
        self.cache_breaker_open += o.cache_breaker_open;
        self.replica_busy += o.replica_busy;
        self.replica_cores += o.replica_cores;
        self.sessions += o.sessions;
    }
}

/// Cache lookups, for one tier and overall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheEvent {
    L1Hit,
    /// An L1 miss (when there is an L1).
    L1Miss,
    L2Hit,
    /// Served by the L3.
    L3Hit,
    /// An L3 miss (the read goes on to the database).
    L3Miss,
    /// Missed every level.
    Miss,
}

/// One database server (the primary, or a replica) over the measured
/// window: busy core-seconds and core-seconds, database calls routed to
/// it, its connection waits and pool timeouts.
#[derive(Clone, Default)]
pub struct DbServerCounters {
    pub busy: f64,
    pub cores: f64,
    pub calls: u64,
    pub pool_wait: LatencyHistogram,
    pub pool_timeouts: u64,
}

pub struct Recorder {
    warmup: SimTime,
    /// Counters per tier; all traffic is their sum ([`Recorder::overall`]).
    pub tiers: Vec<TierCounters>,
    /// Admitted requests that arrived after warm-up, and the sum of their
    /// time in the service (arrival until the server let go), for Little's law.
    pub admitted: u64,
    pub sojourn_sum_s: f64,
    pub sojourn_n: u64,
    /// Gauge areas over the measured window.
    pub measured: GaugeAreas,
    pub instances_max: u32,
    interval: GaugeAreas,
    iv_arrivals: u64,
    iv_completed: u64,
    iv_errors: u64,
    iv_reads: u64,
    iv_hits: u64,
    iv_latency: LatencyHistogram,
    iv_start: SimTime,
    pub rows: Vec<TimeSeriesRow>,
    pub scaling_events: Vec<ScalingEvent>,
    /// Ready and desired instances at every change (whole run, exact
    /// times; one point per instant, the last state of that instant).
    pub replica_timeline: Vec<ReplicaPoint>,
    /// Breaker openings after warm-up, and the first state changes.
    pub breaker_opens: u64,
    pub breaker_events: Vec<BreakerEvent>,
    /// Per request stage (all endpoints' stages in order): the time each
    /// took, and how many failed, for requests arrived after warm-up.
    pub stage_latency: Vec<LatencyHistogram>,
    pub stage_failures: Vec<u64>,
    /// Memory pressure after warm-up: OOM kills, restarts and cache
    /// shrinks, and the highest memory fraction seen (whole run).
    pub oom_kills: u64,
    pub memory_restarts: u64,
    pub cache_shrinks: u64,
    pub memory_max: f64,
    /// Background task runs and paused instance-seconds, after warm-up.
    pub background_runs: u64,
    pub paused_s: f64,
    /// Per `[[rate_limit]]`: requests it was asked about and refused
    /// (after warm-up).
    pub limiter_checked: Vec<u64>,
    pub limiter_rejected: Vec<u64>,
    /// Waits for the shared rate-limit store (after warm-up).
    pub limit_wait: LatencyHistogram,
    /// Per database server with read replicas: the primary, then each
    /// replica (empty without replicas).
    pub db_servers: Vec<DbServerCounters>,
    /// Sessions after warm-up (see the metric catalogue), and the most any
    /// instance held (whole run).
    pub session_rejects: u64,
    pub session_drops: u64,
    pub session_reconnects: u64,
    pub sessions_lost: u64,
    pub sessions_pruned: u64,
    pub sessions_max_per_instance: u32,
    pub messages_completed: u64,
    pub messages_failed: u64,
    pub message_latency: LatencyHistogram,
    pub emergency_gcs: u64,
    /// Time series: the most sessions an instance held in the interval.
    pub iv_session_max: u32,
}

impl Recorder {
    pub fn new(tiers: usize, warmup: SimTime, expected_rows: usize) -> Self {
        Recorder {
            warmup,
            tiers: vec![TierCounters::default(); tiers],
            admitted: 0,
            sojourn_sum_s: 0.0,
            sojourn_n: 0,
            measured: GaugeAreas::default(),
            instances_max: 0,
            interval: GaugeAreas::default(),
            iv_arrivals: 0,
            iv_completed: 0,
            iv_errors: 0,
            iv_reads: 0,
            iv_hits: 0,
            iv_latency: LatencyHistogram::new(),
            iv_start: SimTime::ZERO,
            rows: Vec::with_capacity(expected_rows),
            scaling_events: Vec::new(),
            replica_timeline: Vec::new(),
            breaker_opens: 0,
            breaker_events: Vec::new(),
            stage_latency: Vec::new(),
            stage_failures: Vec::new(),
            oom_kills: 0,
            memory_restarts: 0,
            cache_shrinks: 0,
            memory_max: 0.0,
            background_runs: 0,
            paused_s: 0.0,
            session_rejects: 0,
            session_drops: 0,
            session_reconnects: 0,
            sessions_lost: 0,
            sessions_pruned: 0,
            sessions_max_per_instance: 0,
            messages_completed: 0,
            messages_failed: 0,
            message_latency: LatencyHistogram::new(),
            emergency_gcs: 0,
            iv_session_max: 0,
            limiter_checked: Vec::new(),
            limiter_rejected: Vec::new(),
            limit_wait: LatencyHistogram::new(),
            db_servers: Vec::new(),
        }
    }

    /// Make room for `limiters` rate limiters and `servers` database
    /// servers (0 without replicas).
    pub fn init_data_tier(&mut self, limiters: usize, servers: usize) {
        self.limiter_checked = vec![0; limiters];
        self.limiter_rejected = vec![0; limiters];
        self.db_servers = vec![DbServerCounters::default(); servers];
    }

    /// Limiter `i` was asked about a request, and refused it or not.
    #[inline]
    pub fn limiter(&mut self, i: usize, measured: bool, rejected: bool) {
        if measured {
            self.limiter_checked[i] += 1;
            self.limiter_rejected[i] += u64::from(rejected);
        }
    }

    /// A request was refused by a `[[rate_limit]]` layer.
    #[inline]
    pub fn limiter_refusal(&mut self, tier: usize, measured: bool) {
        self.both(tier, measured, |c| c.limiter_rejected += 1);
    }

    /// A request waited `wait` for the shared store's answer.
    #[inline]
    pub fn limit_store_wait(&mut self, measured: bool, wait: SimTime) {
        if measured {
            self.limit_wait.record(wait);
        }
    }

    /// Database server `s` (with replicas) got a call.
    #[inline]
    pub fn db_server_call(&mut self, s: usize, measured: bool) {
        if measured {
            if let Some(c) = self.db_servers.get_mut(s) {
                c.calls += 1;
            }
        }
    }

    /// A call to server `s` waited `wait` for a connection, and got one
    /// or (`timed_out`) gave up at the pool timeout.
    #[inline]
    pub fn db_server_wait(&mut self, s: usize, measured: bool, wait: SimTime, timed_out: bool) {
        if measured {
            if let Some(c) = self.db_servers.get_mut(s) {
                c.pool_wait.record(wait);
                c.pool_timeouts += u64::from(timed_out);
            }
        }
    }

    /// Busy core-seconds and core-seconds of server `s` over the stretch
    /// ending at `now` (cut like [`Recorder::gauges`]).
    pub fn db_server_areas(&mut self, now: SimTime, s: usize, busy: f64, cores: f64) {
        if now > self.warmup {
            if let Some(c) = self.db_servers.get_mut(s) {
                c.busy += busy;
                c.cores += cores;
            }
        }
    }

    /// Make room for `n` request stages.
    pub fn init_stages(&mut self, n: usize) {
        self.stage_latency = vec![LatencyHistogram::new(); n];
        self.stage_failures = vec![0; n];
    }

    /// Stage `i` (flat index) of a request ended after `took`.
    #[inline]
    pub fn stage(&mut self, i: usize, measured: bool, took: SimTime, failed: bool) {
        if measured {
            self.stage_latency[i].record(took);
            self.stage_failures[i] += u64::from(failed);
        }
    }

    pub fn warmup(&self) -> SimTime {
        self.warmup
    }

    /// All traffic: the sum of the tiers.
    pub fn overall(&self) -> TierCounters {
        let mut all = TierCounters::default();
        for t in &self.tiers {
            all.merge(t);
        }
        all
    }

    /// Apply `f` to the tier's counters when measured.
    #[inline]
    fn both(&mut self, tier: usize, measured: bool, f: impl Fn(&mut TierCounters)) {
        if measured {
            f(&mut self.tiers[tier]);
        }
    }

    #[inline]
    pub fn arrival(&mut self, tier: usize, measured: bool) {
        self.iv_arrivals += 1;
        self.both(tier, measured, |c| c.arrived += 1);
    }

    #[inline]
    pub fn admitted(&mut self, measured: bool) {
        if measured {
            self.admitted += 1;
        }
    }

    /// The client saw `outcome`; `latency` is arrival to response.
    #[inline]
    pub fn outcome(&mut self, tier: usize, measured: bool, outcome: Outcome, latency: SimTime) {
        if outcome == Outcome::Completed {
            self.iv_completed += 1;
            self.iv_latency.record(latency);
        } else {
            self.iv_errors += 1;
        }
        if !measured {
            return;
        }
        {
            let c = &mut self.tiers[tier];
            match outcome {
                Outcome::Completed => {
                    c.completed += 1;
                    c.latency.record(latency);
                }
                Outcome::RateLimited => c.rate_limited += 1,
                Outcome::TenantLimit => c.tenant_limit += 1,
                Outcome::QueueFull => c.queue_full += 1,
                Outcome::Timeout => c.timeouts += 1,
                Outcome::PoolTimeout => c.pool_timeouts += 1,
                Outcome::QueryTimeout => c.query_timeouts += 1,
                Outcome::DbRefused => c.db_refused += 1,
                Outcome::InstanceFailure => c.instance_failures += 1,
                Outcome::NoInstance => c.no_instance += 1,
                Outcome::BreakerOpen => c.breaker_rejections += 1,
                Outcome::Shed => c.shed += 1,
                Outcome::StageFailure => c.stage_failures += 1,
                Outcome::OomKilled => c.oom_failures += 1,
            }
        }
    }

    #[inline]
    pub fn queue_wait(&mut self, tier: usize, measured: bool, wait: SimTime) {
        if measured {
            let c = &mut self.tiers[tier];
            c.queue_wait.record(wait);
            c.waited += u64::from(wait > SimTime::ZERO);
        }
    }

    /// A request got its connection after waiting `wait` (zero when at once).
    #[inline]
    pub fn pool_wait(&mut self, tier: usize, measured: bool, wait: SimTime) {
        if measured {
            self.tiers[tier].pool_wait.record(wait);
        }
    }

    /// A query of a measured request took `time` on the database, from its
    /// start to its reply.
    #[inline]
    pub fn db_query(&mut self, tier: usize, measured: bool, time: SimTime) {
        if measured {
            self.tiers[tier].db_query.record(time);
        }
    }

    /// A read answered from a stale cached copy (breaker fallback).
    #[inline]
    pub fn stale_hit(&mut self, tier: usize, measured: bool) {
        self.both(tier, measured, |c| c.stale_hits += 1);
    }

    /// A circuit breaker changed state (rare: the list is capped).
    pub fn breaker_event(&mut self, now: SimTime, downstream: &'static str, from: &'static str, to: &'static str) {
        if to == "open" && now >= self.warmup {
            self.breaker_opens += 1;
        }
        if self.breaker_events.len() < MAX_BREAKER_EVENTS {
            self.breaker_events.push(BreakerEvent {
                time_s: now.as_secs_f64(),
                downstream,
                from,
                to,
            });
        }
    }

    #[inline]
    pub fn tenant_cap_wait(&mut self, tier: usize, measured: bool) {
        self.both(tier, measured, |c| c.tenant_cap_waits += 1);
    }

    #[inline]
    pub fn retry(&mut self, tier: usize, measured: bool) {
        self.both(tier, measured, |c| c.retries += 1);
    }

    /// The server finished a request whose client had left.
    #[inline]
    pub fn abandoned(&mut self, tier: usize, measured: bool) {
        self.both(tier, measured, |c| c.abandoned += 1);
    }

    /// A cache lookup of a cacheable read. `L1Hit`, `L2Hit` and `Miss`
    /// each end a read; `L1Miss` only marks the first level's miss.
    #[inline]
    pub fn cache(&mut self, tier: usize, measured: bool, e: CacheEvent) {
        if !matches!(e, CacheEvent::L1Miss | CacheEvent::L3Miss) {
            self.iv_reads += 1;
            self.iv_hits += u64::from(e != CacheEvent::Miss);
        }
        self.both(tier, measured, |c| match e {
            CacheEvent::L1Hit => {
                c.cacheable_reads += 1;
                c.l1_hits += 1;
            }
            CacheEvent::L1Miss => c.l1_misses += 1,
            CacheEvent::L2Hit => {
                c.cacheable_reads += 1;
                c.l2_hits += 1;
            }
            CacheEvent::L3Hit => {
                c.cacheable_reads += 1;
                c.l3_lookups += 1;
                c.l3_hits += 1;
            }
            CacheEvent::L3Miss => c.l3_lookups += 1,
            CacheEvent::Miss => c.cacheable_reads += 1,
        });
    }

    /// The server finished with an admitted request.
    #[inline]
    pub fn server_done(&mut self, measured: bool, sojourn: SimTime) {
        if measured {
            self.sojourn_sum_s += sojourn.as_secs_f64();
            self.sojourn_n += 1;
        }
    }

    /// Gauge areas for the stretch ending at `now`; the caller cuts
    /// stretches at every sample time and at the end of warm-up, so a
    /// stretch is either wholly before or wholly after warm-up.
    pub fn gauges(&mut self, now: SimTime, areas: GaugeAreas, instances_ready: u32) {
        self.interval.add(&areas);
        if now > self.warmup {
            self.measured.add(&areas);
            self.instances_max = self.instances_max.max(instances_ready);
        }
    }

    /// The ready or desired instance count may have changed at `now`.
    pub fn replicas(&mut self, now: SimTime, ready: u32, desired: u32) {
        let p = ReplicaPoint {
            time_s: now.as_secs_f64(),
            ready,
            desired,
        };
        match self.replica_timeline.last_mut() {
            Some(l) if l.ready == ready && l.desired == desired => {}
            Some(l) if l.time_s == p.time_s => *l = p,
            _ => self.replica_timeline.push(p),
        }
    }

    /// A session message (not a handshake) finished with `completed` or
    /// not, `latency` after it was sent.
    #[inline]
    pub fn message(&mut self, measured: bool, completed: bool, latency: SimTime) {
        if measured {
            if completed {
                self.messages_completed += 1;
                self.message_latency.record(latency);
            } else {
                self.messages_failed += 1;
            }
        }
    }

    /// Close the interval ending at `now` and append its row (`sessions`:
    /// the scenario has them, and the most one instance holds now).
    pub fn sample_with_sessions(&mut self, now: SimTime, ready: u32, desired: u32, sessions: Option<u32>) {
        let open = sessions.map(|_| {
            let dt = now.saturating_sub(self.iv_start).as_secs_f64();
            if dt > 0.0 {
                self.interval.sessions / dt
            } else {
                0.0
            }
        });
        let max = sessions.map(|now_max| std::mem::replace(&mut self.iv_session_max, now_max).max(now_max));
        self.sample(now, ready, desired);
        if let Some(row) = self.rows.last_mut() {
            row.sessions_open = open;
            row.sessions_max_per_instance = max;
        }
    }

    /// Close the interval ending at `now` and append its row.
    pub fn sample(&mut self, now: SimTime, instances_ready: u32, instances_desired: u32) {
        let dt = now.saturating_sub(self.iv_start).as_secs_f64();
        let iv = std::mem::take(&mut self.interval);
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        self.rows.push(TimeSeriesRow {
            time_s: now.as_secs_f64(),
            rps: if dt > 0.0 { self.iv_arrivals as f64 / dt } else { 0.0 },
            completed: self.iv_completed,
            throughput_rps: if dt > 0.0 { self.iv_completed as f64 / dt } else { 0.0 },
            errors: self.iv_errors,
            latency_mean_s: self.iv_latency.mean_s(),
            latency_p50_s: self.iv_latency.quantile_s(0.50),
            latency_p95_s: self.iv_latency.quantile_s(0.95),
            latency_p99_s: self.iv_latency.quantile_s(0.99),
            instances_ready,
            instances_desired,
            cpu_utilization: ratio(iv.busy_cores, iv.cores),
            memory_utilization: ratio(iv.memory, iv.serving),
            pool_in_use: if dt > 0.0 { iv.pool_in_use / dt } else { 0.0 },
            pool_waiting: if dt > 0.0 { iv.pool_waiting / dt } else { 0.0 },
            cache_hit_ratio: ratio(self.iv_hits as f64, self.iv_reads as f64),
            sessions_open: None,
            sessions_max_per_instance: None,
        });
        self.iv_arrivals = 0;
        self.iv_completed = 0;
        self.iv_errors = 0;
        self.iv_reads = 0;
        self.iv_hits = 0;
        self.iv_latency.reset();
        self.iv_start = now;
    }
}
