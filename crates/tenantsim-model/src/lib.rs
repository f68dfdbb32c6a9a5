//! The service model (crate `tenantsim-model`, above the engine): the actors
//! a request goes through (SPEC §3), the wiring between them, their
//! [`metrics`], and the service description they consume ([`spec`]).
//!
//! Actors — [`workload`] (tenants and their arrivals), [`session`]
//! (long-lived connections and the cap per instance), [`gateway`] (rate
//! limits and tenant caps), [`balancer`], [`instance`] (workers, queue,
//! CPU, and its L1 [`cache`]), the shared L2 [`cache`], the connection
//! [`pool`]s and the [`database`] — each own their state and are driven only
//! by messages ([`Msg`]) and by the calls the [`Service`] makes when a
//! message reaches them. A hop that takes no simulated time (gateway →
//! balancer → instance) is a direct call in a fixed order rather than a
//! queued event: the outcome is the same and deterministic, and a request
//! without database work costs two events (arrival, completion).

pub mod autoscaler;
pub mod balancer;
pub mod breaker;
pub mod cache;
pub mod cpu;
pub mod database;
pub mod gateway;
pub mod instance;
pub mod limiter;
pub mod metrics;
pub mod pool;
pub mod request;
mod service;
pub mod session;
pub mod shedding;
pub mod spec;
pub mod statement;
pub mod workload;

pub use service::Service;

use request::ReqRef;

/// A place where CPU work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Station {
    Instance(u32),
    Database,
    /// Read replica `i` (0-based) of the database.
    Replica(u32),
}

/// Every message the service's actors exchange. Small and `Copy`, so the
/// event queue moves plain values.
#[derive(Clone, Copy, Debug)]
pub enum Msg {
    /// The next request of an open workload arrives.
    Arrival {
        workload: u32,
    },
    /// A closed-workload user finished thinking and sends a request.
    UserReady {
        workload: u32,
        user: u32,
    },
    /// The active user count of a ramped closed workload changes (to the
    /// workload's pending count).
    Ramp {
        workload: u32,
    },
    /// A client retries a failed request. `key` is the cache key's rank
    /// (the tenant namespace is added back), `ip` the client address's
    /// index in its population: 32 bits each keep the message small.
    Retry {
        workload: u16,
        endpoint: u16,
        attempt: u8,
        tenant: u32,
        user: u32,
        key: u32,
        ip: u32,
    },
    /// The shared rate-limit store answered a request's call.
    LimiterReply {
        req: ReqRef,
    },
    /// A job's CPU work finished (station without CPU sharing).
    CpuDone {
        station: Station,
        req: ReqRef,
    },
    /// The earliest CPU completion under processor sharing (stale unless
    /// `gen` is the station's current generation).
    CpuTick {
        station: Station,
        gen: u32,
    },
    /// A request stage's wait (external call) ended.
    StageWait {
        req: ReqRef,
    },
    /// A cache lookup's latency has elapsed.
    CacheStep {
        req: ReqRef,
    },
    /// A new or recycled connection finished connecting.
    ConnReady {
        req: ReqRef,
    },
    /// A request waited `pool.timeout` for a connection.
    PoolTimeout {
        req: ReqRef,
    },
    /// A query ran for the tier's `query_timeout` (stale unless the request
    /// is still running query number `query`).
    QueryTimeout {
        req: ReqRef,
        query: u16,
    },
    /// The client's patience ran out.
    ClientTimeout {
        req: ReqRef,
    },
    /// An instance finished starting.
    InstanceReady {
        instance: u32,
    },
    /// A draining instance ran out of time to finish its requests.
    DrainTimeout {
        instance: u32,
    },
    /// Evaluate a group's autoscaler.
    Autoscale {
        group: u16,
    },
    /// metrics-server scrapes every pod (the `hpa` controller view).
    MetricsScrape,
    /// Start a replacement for a failed instance of a group.
    Replace {
        group: u16,
    },
    /// An instance fails (random crashes).
    Crash {
        instance: u32,
    },
    /// Fault `index` begins / ends.
    FaultStart {
        index: u16,
    },
    FaultEnd {
        index: u16,
    },
    /// Every instance's memory monitor runs its actions (`[memory]`).
    MemoryCheck,
    /// Background task `task` is due on an instance.
    Background {
        instance: u32,
        task: u16,
    },
    /// A stop-the-world pause of an instance begins / ends.
    PauseStart {
        instance: u32,
    },
    PauseEnd {
        instance: u32,
    },
    /// A workload opens a session (`sessions = { rate_per_s, .. }`).
    SessionArrival {
        workload: u32,
    },
    /// A session tries to (re)connect (stale unless `gen` matches).
    SessionConnect {
        session: u32,
        gen: u32,
    },
    /// A session's lifetime ends.
    SessionClose {
        session: u32,
        gen: u32,
    },
    /// The next message of an instance's sessions (stale unless `gen` is
    /// the instance's current message generation).
    SessionMessage {
        instance: u32,
        gen: u32,
    },
    /// An `emergency-gc` pause of an instance ends.
    GcEnd {
        instance: u32,
    },
    /// Close a time-series interval.
    Sample,
    /// The warm-up period ends.
    WarmupEnd,
}

impl Msg {
    /// The component that sends this message, in the scenario's words:
    /// what a stalled run ([`tenantsim_engine::Stall`]) names.
    pub fn sender(&self) -> &'static str {
        match self {
            Msg::Arrival { .. } => "workload arrivals",
            Msg::UserReady { .. } => "closed-workload users (think time)",
            Msg::Ramp { .. } => "closed-workload ramp",
            Msg::Retry { .. } => "client retries (retry.backoff)",
            Msg::LimiterReply { .. } => "rate-limit store (rate_limit latency)",
            Msg::CpuDone { .. } | Msg::CpuTick { .. } => "CPU (endpoint cpu / query)",
            Msg::StageWait { .. } => "request stages (stage wait)",
            Msg::CacheStep { .. } => "caches (cache latency)",
            Msg::ConnReady { .. } => "connection pool (connect time)",
            Msg::PoolTimeout { .. } => "connection pool (pool.timeout)",
            Msg::QueryTimeout { .. } => "database (query_timeout)",
            Msg::ClientTimeout { .. } => "clients (timeout)",
            Msg::InstanceReady { .. } => "instances (startup)",
            Msg::DrainTimeout { .. } => "instances (drain timeout)",
            Msg::Autoscale { .. } => "autoscaler",
            Msg::MetricsScrape => "metrics-server scrape (hpa)",
            Msg::Replace { .. } => "instance replacement",
            Msg::Crash { .. } => "instance crashes",
            Msg::FaultStart { .. } | Msg::FaultEnd { .. } => "faults",
            Msg::MemoryCheck => "memory monitor",
            Msg::Background { .. } => "background tasks",
            Msg::PauseStart { .. } | Msg::PauseEnd { .. } | Msg::GcEnd { .. } => "instance pauses",
            Msg::SessionArrival { .. } => "session openings",
            Msg::SessionConnect { .. } => "session connects",
            Msg::SessionClose { .. } => "session closes",
            Msg::SessionMessage { .. } => "session messages",
            Msg::Sample => "time-series sampler",
            Msg::WarmupEnd => "warm-up end",
        }
    }
}

/// Server-side request accounting for conservation checks (whole run,
/// warm-up included): arrived = rejected + server_done + in_flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    pub arrived: u64,
    pub rejected: u64,
    pub server_done: u64,
    pub in_flight: u64,
    /// Of `rejected`: refused by the tier bucket or a `[[rate_limit]]`
    /// limiter (HTTP 429).
    pub rate_limited: u64,
}

/// High-water marks of one run (warm-up included), so the caps a scenario
/// sets can be checked from outside: kept by the service at the few places
/// a count can grow (admission, instance offer, connection grant, cache
/// insert, desired-count change), a compare each, no allocation per event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peaks {
    /// Most requests running on one instance at once (≤ `instance.workers`).
    pub running: u32,
    /// Longest instance queue (≤ `instance.queue_capacity`).
    pub queued: u32,
    /// Most connections open in one pool (≤ `size + overflow`, or `max`).
    pub pool_open: u32,
    /// Most entries held by one L1 cache, by the L2 and by the L3.
    pub l1_items: u64,
    pub l2_items: u64,
    pub l3_items: u64,
    /// Most connections open at the primary database (≤ its
    /// `max_connections`), and at one read replica (≤ the replicas').
    pub db_open: u32,
    pub replica_open: u32,
    /// Most sessions connected to one instance (≤ `sessions.max_per_instance`).
    pub sessions_per_instance: u32,
    /// Per tier: most requests one tenant had in flight (≤ its
    /// `max_concurrency` and memory quota), and most pool connections one
    /// tenant held (≤ its `max_connections`).
    pub tenant_in_flight: Vec<u32>,
    pub tenant_connections: Vec<u32>,
    /// Per instance group: the lowest and highest desired instance count
    /// (within the autoscaler's `[min, max]`).
    pub desired_min: Vec<u32>,
    pub desired_max: Vec<u32>,
}
