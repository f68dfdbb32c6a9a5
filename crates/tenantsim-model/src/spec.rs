//! The service description the actors consume: a validated [`Scenario`]
//! and its parts (tiers, workloads, endpoints, pools, caches, instances,
//! the autoscaler, faults, claims and SLOs).
//!
//! What it owns: the one definition of every configuration type. The
//! scenario crate (tenantsim-scenario) builds these from TOML and is the only
//! producer; the actors read them and never see unvalidated input.
//! Invariant: every duration is a [`SimTime`], every distribution is built,
//! and every cross-reference (a workload's tier, a mix's endpoints) is an
//! index that is in range.

use std::path::PathBuf;
use std::sync::Arc;
use tenantsim_engine::{Dist, SimTime};

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The top-level file (empty for scenarios built in memory).
    pub path: PathBuf,
    pub simulation: Simulation,
    pub tiers: Vec<Tier>,
    pub workloads: Vec<Workload>,
    pub endpoints: Vec<Endpoint>,
    pub instance: InstanceSpec,
    /// What shares an instance's host (`[host]`): event-loop threads, the
    /// database's query CPU and its replies.
    pub host: Option<HostSpec>,
    pub pool: Option<PoolSpec>,
    pub database: Option<DatabaseSpec>,
    pub cache: CacheSpec,
    pub retry: Option<RetrySpec>,
    /// Circuit breakers in front of the database and the L2 cache.
    pub breakers: Breakers,
    /// Load shedding at the instance the balancer picked.
    pub shedding: Option<crate::shedding::ShedPolicy>,
    /// Memory pressure on instances (`[memory]`).
    pub memory: Option<MemorySpec>,
    /// Periodic background tasks on every instance (`[[background]]`).
    pub background: Vec<BackgroundTask>,
    /// Stop-the-world pauses on every instance (`[pauses]`).
    pub pauses: Option<PauseSpec>,
    /// Rate limiters beside the tiers' token buckets (`[[rate_limit]]`).
    pub rate_limits: Vec<RateLimiterSpec>,
    /// The shared counter service of `state = "shared"` limiters
    /// (`[rate_limit_store]`).
    pub limit_store: Option<LimitStoreSpec>,
    /// Long-lived sessions (`[sessions]`; each workload's population is
    /// its `sessions`).
    pub sessions: Option<SessionSpec>,
    pub autoscaler: Option<AutoscalerSpec>,
    pub faults: Vec<FaultSpec>,
    pub slo: Vec<SloCheck>,
    /// `[slo.scaling]`: the load step the scaling-timeline metrics
    /// `time_to_need_s` and `overshoot_instances` measure from.
    pub scaling_reference: Option<ScalingReference>,
    pub claims: Vec<Claim>,
    /// The inputs the scenario assumes (`[[assumption]]`), each with the
    /// range of values that is as plausible as the one chosen.
    pub assumptions: Vec<Assumption>,
    /// Problems that do not stop a run (e.g. offered load above capacity).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Simulation {
    pub duration: SimTime,
    pub warmup: SimTime,
    pub seed: u64,
    pub replications: u32,
    pub sample_interval: SimTime,
    /// Stop each replication after this many events (a runaway-run guard,
    /// `--max-events`); the result says so.
    pub max_events: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub name: String,
    pub rate_limit: Option<RateLimit>,
    pub max_concurrency: Option<u32>,
    pub max_connections: Option<u32>,
    pub query_timeout: Option<SimTime>,
    pub memory_mb: Option<f64>,
    pub isolation: Isolation,
    /// Higher is served first (instance queues, pool waits).
    pub priority: i64,
    /// Initial instances of a dedicated tier's own group.
    pub instances: Option<u32>,
}

/// How a tier shares the service with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Everything shared.
    Shared,
    /// Its own connection pool on shared instances.
    Hybrid,
    /// Its own instance group (with its own autoscaling) and pool.
    Dedicated,
}

/// A token bucket: `rate_per_s` tokens per second, holding at most `burst`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub rate_per_s: f64,
    pub burst: f64,
}

/// A group of identical tenants.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub tier: usize,
    pub tenants: u32,
    pub arrival: Arrival,
    /// (endpoint index, cumulative probability), last entry is 1.0.
    pub mix: Vec<(usize, f64)>,
    /// Cache-key popularity of each tenant's requests.
    pub keys: Option<KeySpace>,
    /// Long-lived sessions (WebSockets) each tenant holds (`sessions`).
    pub sessions: Option<SessionPopulation>,
    /// Client addresses the requests come from (for per-IP limits).
    pub clients: Option<ClientSpace>,
}

/// A population of `addresses` client addresses with a Zipf(`zipf`)
/// popularity; each request comes from one, drawn at arrival. Per tenant
/// unless `shared` (then the workload's tenants share one population).
#[derive(Debug, Clone, Copy)]
pub struct ClientSpace {
    pub addresses: u32,
    pub zipf: f64,
    pub shared: bool,
}

/// One `[[rate_limit]]`: a limiter, the requests it applies to, and where
/// its counters live.
#[derive(Debug, Clone)]
pub struct RateLimiterSpec {
    pub name: String,
    pub limiter: crate::limiter::Limiter,
    /// Endpoints it applies to (None: all).
    pub endpoints: Option<Vec<usize>>,
    /// Tiers it applies to (None: all).
    pub tiers: Option<Vec<usize>>,
    /// Counters in the shared store (else one set per instance).
    pub shared: bool,
    /// Local state: each instance enforces limit / ready instances of its
    /// group (else the full limit each).
    pub divided: bool,
}

impl RateLimiterSpec {
    /// Whether the limiter sees requests of `tier` to `endpoint`.
    #[inline]
    pub fn applies(&self, tier: usize, endpoint: usize) -> bool {
        self.tiers.as_ref().is_none_or(|t| t.contains(&tier))
            && self.endpoints.as_ref().is_none_or(|e| e.contains(&endpoint))
    }
}

/// `[rate_limit_store]`: the latency of one call to the shared counters,
/// and optionally the calls per second it can serve (one FCFS server).
#[derive(Debug, Clone)]
pub struct LimitStoreSpec {
    pub latency: Dist,
    pub ops_per_s: Option<f64>,
}

/// How many sessions a workload's tenants hold.
#[derive(Debug, Clone)]
pub enum SessionPopulation {
    /// This many per tenant, open from t = 0 for the whole run.
    PerTenant(u32),
    /// Per tenant, opened at random (Poisson) at this rate; each lasts a
    /// drawn lifetime (reconnections included), then closes.
    Arrivals { rate_per_s: f64, lifetime: Dist },
}

/// Keys drawn per request from a Zipf(`zipf`) popularity over `items`
/// (rank 1 most popular). Per tenant unless `shared`.
#[derive(Debug, Clone, Copy)]
pub struct KeySpace {
    pub items: u64,
    pub zipf: f64,
    pub shared: bool,
}

/// How a workload's requests arrive. Rates are per tenant.
#[derive(Debug, Clone)]
pub enum Arrival {
    Poisson {
        rate_per_s: f64,
    },
    /// Evenly spaced requests from each tenant.
    Deterministic {
        rate_per_s: f64,
    },
    /// Poisson with a rate that follows a cosine between `trough` and `peak`.
    Diurnal {
        peak_rate_per_s: f64,
        trough_rate_per_s: f64,
        period: SimTime,
        peak_at: SimTime,
    },
    /// Piecewise-constant rate: (from time, rate) pairs, sorted, first at 0.
    Steps {
        steps: Vec<(SimTime, f64)>,
        exponential: bool,
    },
    /// Two-state Markov-modulated Poisson: a normal and a burst rate, with
    /// exponentially distributed times in each state (shared by the group).
    Mmpp {
        rate_per_s: f64,
        burst_rate_per_s: f64,
        normal_duration: SimTime,
        burst_duration: SimTime,
    },
    /// `users` per tenant, each sending one request at a time and thinking
    /// between the end of one and the start of the next.
    Closed {
        /// Users per tenant at time zero (with `stages`, the ramp's start).
        users: u32,
        think: Dist,
        /// k6-style ramp: (time, users per tenant) breakpoints, the first at
        /// time zero with `users`; the active count moves linearly between
        /// them and holds the last value. Empty: always `users`.
        stages: Vec<(SimTime, u32)>,
        /// A finite test: each user sends this many requests, then stops.
        requests_per_user: Option<u32>,
    },
    /// Recorded arrivals, shared between replications.
    Trace {
        events: Arc<Vec<TraceEvent>>,
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct TraceEvent {
    pub at: SimTime,
    pub tenant: Option<u32>,
    pub endpoint: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub cpu: Dist,
    /// The client gives up after this long.
    pub timeout: Option<SimTime>,
    /// Database queries per request (each holds the request's connection).
    pub db_queries: u32,
    /// Database work of one query.
    pub query: Option<Dist>,
    /// Reads look up L1, then L2, then the database.
    pub cacheable: bool,
    /// Writes update or invalidate the caches after their database work.
    pub write: bool,
    /// Ordered stages a request goes through once it has a worker, before
    /// the endpoint's own `cpu` (zero when left out), caches and database.
    pub stages: Vec<Stage>,
    /// Where its database call goes when there are read replicas.
    pub db_route: DbRoute,
}

/// Which database server an endpoint's call (connection and queries) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbRoute {
    Primary,
    /// A read replica (the primary when there are none).
    Replica,
}

/// One stage of a request's path (JWT validation, RBAC, an external call):
/// CPU work, then a wait, then a failure draw.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    /// CPU work: holds the worker and a share of the instance's cores.
    pub cpu: Option<Dist>,
    /// An external call: holds the worker, uses no CPU.
    pub wait: Option<Dist>,
    /// Probability the stage fails (`stage_failure`).
    pub fail: f64,
}

impl Endpoint {
    /// Mean CPU seconds of one request: its stages' and its own.
    pub fn cpu_mean_secs(&self) -> f64 {
        self.cpu.mean_secs()
            + self
                .stages
                .iter()
                .filter_map(|s| s.cpu.as_ref())
                .map(|d| d.mean_secs())
                .sum::<f64>()
    }
}

/// A periodic task on every instance: every `period` it runs `cpu` of CPU
/// work, sharing the cores with requests but holding no worker.
#[derive(Debug, Clone)]
pub struct BackgroundTask {
    pub name: String,
    pub period: SimTime,
    pub cpu: Dist,
}

/// Stop-the-world pauses: while one lasts, the instance's CPU does no work
/// (requests and background tasks on it are frozen).
#[derive(Debug, Clone)]
pub struct PauseSpec {
    pub every: PauseEvery,
    pub duration: Dist,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PauseEvery {
    /// One every interval (from a random phase per instance).
    Interval(SimTime),
    /// At exponential gaps with this rate per second.
    Poisson(f64),
}

impl Scenario {
    /// Some instance work runs besides requests (tasks, pauses, emergency
    /// GCs): the instances' CPU is then always processor-shared.
    pub fn has_instance_chores(&self) -> bool {
        !self.background.is_empty() || self.pauses.is_some() || self.memory.as_ref().is_some_and(|m| m.has_gc())
    }
}

/// `[sessions]`: long-lived connections (WebSockets) held on instances.
/// Where a workload's sessions come from is its `sessions` key.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Sessions one instance holds at most (`u32::MAX`: no cap).
    pub max_per_instance: u32,
    /// Memory each open session holds on its instance.
    pub memory_per_session_mb: f64,
    /// Messages per open session per second (Poisson).
    pub message_rate_per_s: f64,
    /// CPU of one message (a job holding a worker on the session's instance).
    pub message_cpu: Option<Dist>,
    /// CPU of a connection handshake, at every (re)connection.
    pub connect_cpu: Option<Dist>,
    pub balancer: SessionBalancing,
    /// Wait before the first reconnection attempt after a drop.
    pub reconnect_delay: Dist,
    /// Connection attempts per drop, the first included, before the
    /// client gives up (`sessions_lost`).
    pub attempts: u32,
    /// Backoff after a refused attempt: base × 2^k, capped, jittered.
    pub backoff_base: SimTime,
    pub backoff_max: SimTime,
    pub jitter: Jitter,
}

/// Which instance a new connection goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionBalancing {
    /// The ready instance holding the fewest sessions (HAProxy `leastconn`).
    LeastSessions,
    /// The next ready instance in turn, full or not.
    RoundRobin,
}

/// `[memory]`: what an instance's memory holds beyond its base and its
/// requests, whether crossing the limit kills it, and the actions its
/// memory monitor takes every `check_interval`.
#[derive(Debug, Clone)]
pub struct MemorySpec {
    pub per_cache_item_mb: f64,
    pub oom_kill: bool,
    pub check_interval: SimTime,
    /// Sorted by threshold.
    pub actions: Vec<MemoryAction>,
    /// Garbage each finished request or message leaves on its instance
    /// until a GC (a `[pauses]` pause or an `emergency-gc`) collects it.
    pub garbage_per_request_mb: f64,
    /// Pause durations of the `emergency-gc` actions.
    pub gc_pauses: Vec<Dist>,
}

impl MemorySpec {
    /// Some action refuses requests (its refusals count as `rejected_shed`).
    pub fn sheds(&self) -> bool {
        self.actions.iter().any(|a| a.kind == MemoryActionKind::Shed)
    }

    /// Some action is an emergency GC (a pause: needs shared CPU).
    pub fn has_gc(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a.kind, MemoryActionKind::EmergencyGc { .. }))
    }
}

/// At memory use ≥ `above` × `memory_mb`, do `kind`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryAction {
    pub above: f64,
    pub kind: MemoryActionKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryActionKind {
    /// Drop this fraction of the instance's L1 entries.
    ShrinkCache { fraction: f64 },
    /// Refuse new requests at the instance until the next check finds it
    /// below the threshold.
    Shed,
    /// Restart the instance: its requests fail (`instance_failures`), a
    /// replacement starts (ready after `startup`, cold L1).
    Restart,
    /// Close this fraction of the instance's sessions, the idlest (or
    /// oldest) first; with `reconnect` their clients come back through the
    /// balancer after the reconnect delay.
    PruneSessions {
        fraction: f64,
        oldest: bool,
        reconnect: bool,
    },
    /// Stop the instance's CPU for `pause` (index into
    /// `MemorySpec::gc_pauses`), then free its garbage.
    EmergencyGc { pause: u16 },
}

/// Whether a pool is per instance or shared by all instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolScope {
    Instance,
    Shared,
}

/// A connection pool: its behaviour (the pool actor's own configuration:
/// `permanent` = `size` or `min`, `limit` = `size + overflow` or `max`,
/// `idle_timeout` only for dynamic pools) and where pools live.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    pub config: crate::pool::PoolConfig,
    pub scope: PoolScope,
}

#[derive(Debug, Clone)]
pub struct DatabaseSpec {
    pub cores: u32,
    pub max_connections: u32,
    /// Read replicas (`[database.replicas]`, count ≥ 1).
    pub replicas: Option<ReplicaSpec>,
}

/// `count` identical read replicas, each with its own cores, connection
/// limit and (per instance or shared, as `pool.scope`) connection pools
/// configured as `[pool]`; query work on a replica is × `query_factor`.
#[derive(Debug, Clone)]
pub struct ReplicaSpec {
    pub count: u32,
    pub routing: ReplicaRouting,
    pub cores: u32,
    pub max_connections: u32,
    pub query_factor: f64,
}

/// How reads pick a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaRouting {
    RoundRobin,
    /// Fewest database calls in progress (waiting for or holding one of
    /// its connections); ties to the lowest index.
    LeastConnections,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    Lru,
    Fifo,
    Lfu,
    /// TTL only: no capacity limit.
    None,
}

#[derive(Debug, Clone)]
pub struct CacheLevel {
    pub capacity: u64,
    pub policy: CachePolicy,
    pub ttl: Option<SimTime>,
    pub latency: Dist,
}

/// How writes treat cached copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePolicy {
    /// Delete the key from L2 and the local L1 after the database write.
    CacheAside,
    /// Write the new value to L2 and the local L1 after the database write.
    WriteThrough,
    /// Write to the caches and respond; the database write happens in the
    /// background (still using a connection and database time).
    WriteBehind,
}

#[derive(Debug, Clone, Default)]
pub struct CacheSpec {
    pub l1: Option<CacheLevel>,
    pub l2: Option<CacheLevel>,
    /// A slower, persistent shared level after L2 (survives L2 flushes).
    pub l3: Option<CacheLevel>,
    pub write_policy: Option<WritePolicy>,
}

impl CacheSpec {
    pub fn any(&self) -> bool {
        self.l1.is_some() || self.l2.is_some() || self.l3.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
    Equal,
}

/// Which failures a client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOn {
    pub rate_limited: bool,
    pub tenant_limit: bool,
    pub queue_full: bool,
    pub timeout: bool,
    pub pool_timeout: bool,
    pub db_refused: bool,
    pub instance_failure: bool,
    pub breaker_open: bool,
    pub shed: bool,
    pub stage_failure: bool,
    pub oom_killed: bool,
}

/// What a request does when the database breaker refuses its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Fail at once (`breaker_rejections`).
    FailFast,
    /// A cacheable read whose key is still stored in a cache level, expired
    /// or not, is answered from it (`stale_hits`); anything else fails fast.
    Stale,
}

/// One circuit breaker: its state machine's configuration, what counts as
/// a failure besides errors, and the fallback.
#[derive(Debug, Clone)]
pub struct BreakerSpec {
    pub config: crate::breaker::BreakerConfig,
    /// A call that takes longer than this counts as a failure.
    pub slow_call: Option<SimTime>,
    pub fallback: Fallback,
    /// How long after its TTL a cached copy stays servable by `Stale`.
    pub stale_for: SimTime,
}

#[derive(Debug, Clone, Default)]
pub struct Breakers {
    /// Database calls: a connection and the request's queries.
    pub database: Option<BreakerSpec>,
    /// L2 lookups; an open cache breaker sends reads on to the database.
    pub cache: Option<BreakerSpec>,
}

impl Breakers {
    pub fn any(&self) -> bool {
        self.database.is_some() || self.cache.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct RetrySpec {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base: SimTime,
    pub max: SimTime,
    pub jitter: Jitter,
    pub on: RetryOn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balancing {
    RoundRobin,
    LeastConnections,
    Random,
    PowerOfTwo,
}

impl Balancing {
    pub const NAMES: &'static [&'static str] = &["round-robin", "least-connections", "random", "power-of-two"];
    pub fn parse(s: &str) -> Option<Balancing> {
        Some(match s {
            "round-robin" => Balancing::RoundRobin,
            "least-connections" => Balancing::LeastConnections,
            "random" => Balancing::Random,
            "power-of-two" => Balancing::PowerOfTwo,
            _ => return None,
        })
    }
}

/// `[host]`: an instance whose CPU work runs on a few event-loop threads
/// (an asynchronous server) and whose host may also run the database.
///
/// - `threads`: every CPU phase of a request (stages, the endpoint's CPU)
///   and every database reply runs on one of them, to completion, FCFS.
/// - `reply_cpu`: a thread's CPU for each query's reply (the database
///   driver runs on the threads). The connection stays held until it has
///   run, so under load the hold includes the wait for a thread.
/// - `query_cpu`: the database's CPU per query, on the instance's cores
///   (processor-shared with the threads), before the query's own `query`
///   time on `[database]`. Only with one instance (the host's).
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub threads: u32,
    pub reply_cpu: SimTime,
    pub query_cpu: SimTime,
}

#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub cores: u32,
    pub workers: u32,
    /// Requests waiting for a worker; `u32::MAX` means unbounded.
    pub queue_capacity: u32,
    pub base_memory_mb: f64,
    pub memory_per_request_mb: f64,
    pub memory_mb: f64,
    pub startup: SimTime,
    pub initial: u32,
    pub cost_per_hour: f64,
    pub load_balancer: Balancing,
    pub drain_timeout: SimTime,
    pub scale_in: ScaleIn,
    /// What a request meets when no instance of its group is ready (e.g.
    /// scaled to zero).
    pub none_ready: NoneReady,
}

/// A request that finds no ready instance of its group: refused at once
/// (503, `rejected_no_instance`), or held (as an event queue or a
/// scale-from-zero proxy holds it) until one is ready, its client's
/// timeout running from its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoneReady {
    Fail,
    Wait,
}

/// Which instance a scale-in removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleIn {
    Newest,
    LeastLoaded,
}

pub use crate::autoscaler::hpa::Behavior as HpaBehavior;
pub use crate::autoscaler::{ScaleMetric, StepAdjustment, ThresholdRule};

/// The controller's view settings (kube-controller-manager flags and the
/// metrics pipeline), with the Kubernetes defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControllerSettings {
    /// metrics-server `--metric-resolution` (15 s): scrape period and
    /// sample window.
    pub metric_resolution: SimTime,
    /// How long after its window ends a sample becomes visible to the HPA
    /// (0 s: an assumption; the kubelet and metrics-server add a few
    /// seconds in practice).
    pub scrape_lag: SimTime,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: SimTime,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimTime,
    /// From launch to the container's start (phase Running); the rest of
    /// `instance.startup` is the wait for readiness. 0 s by default.
    pub container_start: SimTime,
}

impl Default for ControllerSettings {
    fn default() -> Self {
        ControllerSettings {
            metric_resolution: SimTime::from_secs(15),
            scrape_lag: SimTime::ZERO,
            cpu_initialization_period: SimTime::from_secs(300),
            initial_readiness_delay: SimTime::from_secs(30),
            container_start: SimTime::ZERO,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AutoscalerSpec {
    pub min: u32,
    pub max: u32,
    pub interval: SimTime,
    pub policy: PolicySpec,
}

#[derive(Debug, Clone)]
pub enum PolicySpec {
    None,
    Threshold {
        rules: Vec<ThresholdRule>,
        step: u32,
        sustain: SimTime,
        scale_out_cooldown: SimTime,
        scale_in_cooldown: SimTime,
    },
    Hpa {
        metrics: Vec<(ScaleMetric, f64)>,
        tolerance: f64,
        scale_up: HpaBehavior,
        scale_down: HpaBehavior,
        /// What the controller sees (`controller = "kubernetes"`, the
        /// default); None: `controller = "simple"`, the averaged view.
        controller: Option<ControllerSettings>,
        /// `policy = "keda"`: this HPA is the one a KEDA ScaledObject
        /// generates, with KEDA's triggers and its 0 ↔ 1 activation.
        keda: Option<KedaSpec>,
    },
    TargetTracking {
        metric: ScaleMetric,
        target: f64,
        disable_scale_in: bool,
        scale_in_cooldown: SimTime,
        scale_out_cooldown: SimTime,
        warmup: SimTime,
    },
    Step {
        metric: ScaleMetric,
        adjustments: Vec<StepAdjustment>,
        cooldown: SimTime,
    },
    Schedule {
        entries: Vec<(SimTime, u32)>,
    },
}

/// What KEDA adds to the HPA it generates for a ScaledObject
/// (<https://keda.sh/docs/latest/reference/scaledobject-spec/>).
/// Invariant: `polling_interval` > 0; trigger targets > 0, activations ≥ 0.
#[derive(Debug, Clone, PartialEq)]
pub struct KedaSpec {
    /// The triggers: External metrics with an `AverageValue` target.
    pub triggers: Vec<KedaTrigger>,
    /// `pollingInterval`: how often KEDA checks whether a trigger is active.
    pub polling_interval: SimTime,
    /// `cooldownPeriod`: how long after the last active check KEDA scales
    /// to zero (only with `min = 0`).
    pub cooldown_period: SimTime,
}

/// One KEDA trigger: the group's total of `metric` (an External metric,
/// `AverageValue` target `target` per replica) and its activation
/// threshold (active when the value is above it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KedaTrigger {
    pub metric: ScaleMetric,
    pub target: f64,
    pub activation: f64,
}

/// A fault injected into the run.
#[derive(Debug, Clone)]
pub struct FaultSpec {
    pub at: SimTime,
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// `count` ready instances fail at once; their requests fail with
    /// `instance_failure`; replacements are requested after `mttr`.
    InstanceCrash { count: u32, mttr: SimTime },
    /// Every instance fails after an exponential time with mean `mtbf`
    /// (from `at` on); replacements after `mttr`.
    RandomCrashes { mtbf: SimTime, mttr: SimTime },
    /// A `fraction` of instances fails; replacements start when the outage
    /// ends after `duration`.
    ZoneOutage { fraction: f64, duration: SimTime },
    /// Query work × `factor` for `duration`.
    DbSlowdown { factor: f64, duration: SimTime },
    /// Empty cache levels at once (L2 by default; the persistent L3 only
    /// when named).
    CacheFlush { l1: bool, l2: bool, l3: bool },
    /// L2 lookup latency × `factor` for `duration`.
    CacheSlowdown { factor: f64, duration: SimTime },
    /// CPU demand of one endpoint (or all) × `factor` for `duration`.
    LatencySpike {
        endpoint: Option<usize>,
        factor: f64,
        duration: SimTime,
    },
}

/// Whether an SLO limit is an upper or a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    AtLeast,
}

/// A claim of a performance report (`[[claim]]`): a metric, a direction
/// and a limit that `tenantsim claims` confirms or refutes, or a statement
/// the model cannot check (`untestable`, with the reason).
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: String,
    /// Where the report says it, e.g. "000 L96".
    pub source: String,
    /// The claim in the report's words.
    pub text: String,
    /// The metric checked (None when untestable).
    pub metric: Option<&'static str>,
    pub tier: Option<usize>,
    /// A request stage's own figure instead (`stage = "jwt"`): its
    /// qualified name `endpoint.stage`; `metric` is then one of
    /// [`STAGE_METRICS`].
    pub stage: Option<String>,
    pub bound: Bound,
    pub limit: f64,
    pub untestable: Option<String>,
    /// Checked by a lint rule instead of a simulation (`lint = "rule-id"`):
    /// it holds when the rule finds nothing at warning level or above.
    pub lint: Option<&'static str>,
    /// An explicit Little's-law check of the report's own numbers
    /// (`littles_law = { ... }`).
    pub littles_law: Option<LittlesLaw>,
    /// "Holds only if": the knob searched when the claim fails at the
    /// scenario's setting (`if_key`, `if_range`, `if_step`).
    pub condition: Option<ClaimCondition>,
    /// The quantities the claim states (`states`), for the consistency
    /// pass over all claims of a report.
    pub states: Vec<crate::statement::Statement>,
    /// The model input fitted to this claim's figure (`calibrated`, a key
    /// the scenario sets): the claim is "used for calibration", not evidence.
    pub calibrated: Option<String>,
}

/// An input the report does not state (`[[assumption]]`): the key the
/// scenario sets, the range of values as plausible as the one it chose,
/// and why. `tenantsim claims` judges every claim over the whole range.
/// Invariant (checked at load): `from < to` and both are finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    /// A `--set` key path, e.g. `instance.cores`.
    pub key: String,
    /// The scenario's value (seconds for durations).
    pub value: f64,
    /// The plausible range, `from < to` (seconds for durations).
    pub from: f64,
    pub to: f64,
    /// The values are durations (written and shown with a unit).
    pub duration: bool,
    /// The values are whole numbers (a count: cores, users, instances).
    pub integral: bool,
    /// Why the range is plausible.
    pub why: String,
}

impl Assumption {
    /// `x` as `--set` text: "3", "0.45", "2.0" or "2.5s". A value of a
    /// non-integral key keeps its decimal point even when whole ("2.0",
    /// not "2"): `--set` would read "2" as an integer, and the scenario,
    /// reloaded at that point, would take the key for a count.
    pub fn text(&self, x: f64) -> String {
        if self.duration {
            format!("{}s", (x * 1e6).round() / 1e6)
        } else if self.integral {
            format!("{}", x.round() as i64)
        } else {
            format!("{:?}", (x * 1e9).round() / 1e9)
        }
    }
}

#[cfg(test)]
mod assumption_tests {
    use super::Assumption;

    #[test]
    fn a_whole_value_of_a_non_integral_key_is_written_as_a_float() {
        let a = |integral, duration| Assumption {
            key: "k".into(),
            value: 1.0,
            from: 0.5,
            to: 2.0,
            duration,
            integral,
            why: "w".into(),
        };
        assert_eq!(a(false, false).text(2.0), "2.0");
        assert_eq!(a(false, false).text(0.45), "0.45");
        assert_eq!(a(true, false).text(3.0), "3");
        assert_eq!(a(false, true).text(2.5), "2.5s");
    }
}

/// Little's law between a stated population, throughput and latency:
/// closed users `N` thinking `Z` send `X = N / (Z + R)`; an open system
/// holds `L = X · R` requests in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct LittlesLaw {
    pub population: Population,
    /// Stated throughput, requests per second.
    pub throughput: f64,
    /// Stated mean latency, seconds.
    pub latency: f64,
    /// Relative mismatch accepted (rounded figures), e.g. 0.2.
    pub tolerance: f64,
    /// Where `population` came from ("littles_law.users" or "the scenario's closed workloads").
    pub population_from: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Population {
    /// Closed users and their mean think time (seconds).
    Users { users: f64, think: f64 },
    /// Requests in flight (open system).
    Concurrency(f64),
}

/// The knob a failing claim's condition is searched on: the values of
/// `key` tried, in order from the scenario's side of the range; the claim
/// "holds only if key ≥ v" (ascending) or "≤ v" (descending).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCondition {
    /// A `--set` key path, e.g. `instance.initial`.
    pub key: String,
    /// Values as `--set` text and as numbers (seconds for durations).
    pub values: Vec<(String, f64)>,
    pub ascending: bool,
    /// The values are durations (shown with a unit).
    pub duration: bool,
}

/// `[slo.scaling]`: a load step and the instance count the load after it
/// needs in steady state (declared by the user, e.g. offered cores /
/// (cores per instance × CPU target), rounded up). Invariant: `need` ≥ 1
/// and `until` ≤ the run's duration (`step_at` may lie after the end of a
/// run shortened with `--set`: the step metrics are then undefined).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingReference {
    pub step_at: SimTime,
    pub need: u32,
    /// The end of the stretch the overshoot is measured over (the next
    /// load change, or the end of the run).
    pub until: SimTime,
}

/// One SLO threshold.
#[derive(Debug, Clone)]
pub struct SloCheck {
    /// The key as written, e.g. `latency_p95`.
    pub name: String,
    /// The metric it checks, e.g. `latency_p95_s`.
    pub metric: &'static str,
    /// `None` for all traffic, or a tier index.
    pub tier: Option<usize>,
    /// A request stage's own latency or failure rate instead: its
    /// qualified name `endpoint.stage` (then `metric` is one of
    /// [`STAGE_METRICS`]).
    pub stage: Option<String>,
    pub limit: f64,
    pub bound: Bound,
}

/// Metrics reported per request stage (in `summary.json` `stages`), and
/// whether each is a ratio.
pub const STAGE_METRICS: &[(&str, bool)] = &[
    ("latency_mean_s", false),
    ("latency_p50_s", false),
    ("latency_p95_s", false),
    ("latency_p99_s", false),
    ("failure_rate", true),
];

/// Metrics reported per `[[rate_limit]]` (in `summary.json` `limiters`),
/// and whether each is a ratio.
pub const LIMITER_METRICS: &[(&str, bool)] = &[("checked", false), ("rejected", false), ("rejected_ratio", true)];

/// Metrics reported per database server with read replicas (in
/// `summary.json` `databases`: `primary`, `replica-1`, ...).
pub const DB_SERVER_METRICS: &[(&str, bool)] = &[
    ("utilization", true),
    ("calls", false),
    ("pool_wait_mean_s", false),
    ("pool_wait_p95_s", false),
    ("pool_timeouts", false),
];

impl Arrival {
    /// Most users per tenant a closed workload ever has active (0 for open
    /// processes).
    pub fn max_users(&self) -> u32 {
        match self {
            Arrival::Closed { users, stages, .. } => stages.iter().map(|s| s.1).fold(*users, u32::max),
            _ => 0,
        }
    }

    /// A closed workload with `requests_per_user`: it ends.
    pub fn is_finite(&self) -> bool {
        matches!(
            self,
            Arrival::Closed {
                requests_per_user: Some(_),
                ..
            }
        )
    }
}

impl Scenario {
    /// Some workload is a finite test: the run ends when all such tests are
    /// done and nothing is in flight.
    pub fn has_finite_workload(&self) -> bool {
        self.workloads.iter().any(|w| w.arrival.is_finite())
    }

    /// Total number of tenants.
    pub fn tenant_count(&self) -> u64 {
        self.workloads.iter().map(|w| w.tenants as u64).sum()
    }
}
