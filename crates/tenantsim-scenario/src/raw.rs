//! The scenario file as written: serde structures mirroring SPEC §4, one per
//! table. Every field is optional here so that each file of an `include`
//! chain can be checked on its own (with exact line numbers) before the
//! files are merged; required keys and cross-references are checked later,
//! in `resolve`.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A duration written with a unit, e.g. "250ms"; held in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Duration(pub f64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration string with a unit, e.g. \"250ms\", \"30s\", \"5m\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Duration, E> {
                super::units::parse_duration_secs(s).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!("durations need a unit: write \"{v}s\" or \"{v}ms\"")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!("durations need a unit: write \"{v}s\" or \"{v}ms\"")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A u64 written as a TOML integer, or — for values above i64::MAX, which
/// TOML integers cannot hold (e.g. `--seed 18446744073709551615`) — as a
/// string of digits.
fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number between 0 and 18446744073709551615")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| {
                E::custom(format!(
                    "{v} is out of range: a whole number between 0 and 18446744073709551615"
                ))
            })
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<u64, E> {
            s.trim().parse().map_err(|_| {
                E::custom(format!(
                    "`{s}` is not a whole number between 0 and 18446744073709551615"
                ))
            })
        }
    }
    d.deserialize_any(V).map(Some)
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub include: Option<Vec<String>>,
    pub simulation: Option<RawSimulation>,
    pub tier: Option<Vec<RawTier>>,
    pub workload: Option<Vec<RawWorkload>>,
    pub endpoint: Option<BTreeMap<String, RawEndpoint>>,
    pub instance: Option<RawInstance>,
    /// What shares an instance's host: event-loop threads, the database.
    pub host: Option<RawHost>,
    pub pool: Option<RawPool>,
    pub database: Option<RawDatabase>,
    pub cache: Option<RawCache>,
    pub retry: Option<RawRetry>,
    pub breaker: Option<RawBreakers>,
    /// Parsed by `resolve` (its keys depend on `signal`).
    pub shedding: Option<toml::Table>,
    /// Memory pressure: what counts, OOM kills, actions at thresholds.
    pub memory: Option<RawMemory>,
    /// Periodic background tasks on every instance.
    pub background: Option<Vec<RawBackground>>,
    /// Stop-the-world pauses (GC) on every instance.
    pub pauses: Option<RawPauses>,
    /// Long-lived sessions (WebSockets): cap, memory, messages, reconnects.
    pub sessions: Option<RawSessions>,
    /// Parsed by `resolve` (its keys depend on `policy`).
    pub autoscaler: Option<toml::Table>,
    /// Rate limiters (parsed by `resolve`: keys depend on `algorithm`).
    pub rate_limit: Option<Vec<toml::Table>>,
    /// The shared counter service of `state = "shared"` limiters.
    pub rate_limit_store: Option<RawLimitStore>,
    pub fault: Option<Vec<toml::Table>>,
    pub slo: Option<toml::Table>,
    /// Claims of a performance report, checked by `tenantsim claims`
    /// (parsed by `resolve`: the limit key names the direction).
    pub claim: Option<Vec<toml::Table>>,
    /// Inputs the report does not state, with their plausible range
    /// (parsed by `resolve`).
    pub assumption: Option<Vec<toml::Table>>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    /// Static pool (SQLAlchemy QueuePool): permanent connections.
    pub size: Option<i64>,
    /// Static pool: temporary connections beyond `size`, closed when returned.
    pub overflow: Option<i64>,
    /// Dynamic pool (HikariCP-style): connections kept open.
    pub min: Option<i64>,
    /// Dynamic pool: most connections open.
    pub max: Option<i64>,
    /// Dynamic pool: close a connection above `min` after this long idle.
    pub idle_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub recycle: Option<Duration>,
    pub connect_time: Option<Duration>,
    pub scope: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub cores: Option<u32>,
    pub max_connections: Option<u32>,
    /// Read replicas.
    pub replicas: Option<RawReplicas>,
}

/// `[database.replicas]`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawReplicas {
    pub count: Option<i64>,
    /// round-robin | least-connections
    pub routing: Option<String>,
    pub cores: Option<u32>,
    pub max_connections: Option<u32>,
    /// Query work on a replica relative to the primary.
    pub query_factor: Option<f64>,
}

/// `[rate_limit_store]`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawLimitStore {
    /// A distribution: the round trip of one call.
    pub latency: Option<toml::Value>,
    /// Calls per second it serves (one FCFS server); none: unlimited.
    pub ops_per_s: Option<f64>,
}

/// `clients = { addresses, zipf, shared }` of a workload.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawClients {
    pub addresses: Option<i64>,
    pub zipf: Option<f64>,
    pub shared: Option<bool>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    pub l1: Option<RawCacheLevel>,
    pub l2: Option<RawCacheLevel>,
    pub l3: Option<RawCacheLevel>,
    pub write_policy: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawCacheLevel {
    pub capacity: Option<i64>,
    pub policy: Option<String>,
    pub ttl: Option<Duration>,
    /// A distribution (see endpoint `cpu`).
    pub latency: Option<toml::Value>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub attempts: Option<u32>,
    pub backoff: Option<RawBackoff>,
    pub retry_on: Option<Vec<String>>,
}

/// `[breaker.database]`, `[breaker.cache]`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawBreakers {
    pub database: Option<RawBreaker>,
    pub cache: Option<RawBreaker>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Open when failures / calls in the window reach this.
    pub failure_rate: Option<f64>,
    /// The sliding window, in calls.
    pub window: Option<i64>,
    /// Calls in the window before the rate is judged.
    pub min_calls: Option<i64>,
    /// Or: open after this many failures in a row.
    pub consecutive_failures: Option<i64>,
    /// A call slower than this counts as a failure.
    pub slow_call: Option<Duration>,
    pub open_for: Option<Duration>,
    pub half_open_probes: Option<i64>,
    /// fail_fast | stale
    pub fallback: Option<String>,
    /// How long after expiry a cached copy may still be served stale.
    pub stale_for: Option<Duration>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    pub base: Option<Duration>,
    pub max: Option<Duration>,
    pub jitter: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    pub items: Option<i64>,
    pub zipf: Option<f64>,
    /// Keys are global data shared by all tenants (no tenant namespace).
    pub shared: Option<bool>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub duration: Option<Duration>,
    pub warmup: Option<Duration>,
    /// Any u64; above i64::MAX (beyond TOML integers) as a string.
    #[serde(default, deserialize_with = "opt_u64")]
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub sample_interval: Option<Duration>,
    /// Stop each replication after this many events (`--max-events`).
    #[serde(default, deserialize_with = "opt_u64")]
    pub max_events: Option<u64>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub rate_per_s: f64,
    pub burst: f64,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub name: Option<String>,
    pub rate_limit: Option<RawRateLimit>,
    pub max_concurrency: Option<u32>,
    /// Applies to the database connection pool; without a `[pool]` there is
    /// nothing to cap.
    pub max_connections: Option<u32>,
    /// Applies to database queries; without a `[database]` there are none.
    pub query_timeout: Option<Duration>,
    /// Per-tenant memory quota: caps the tenant's requests in flight at
    /// memory_mb / instance.memory_per_request_mb.
    pub memory_mb: Option<f64>,
    /// shared | hybrid (own pool) | dedicated (own instances and pool).
    pub isolation: Option<String>,
    /// Higher is served first in instance queues and pool waits.
    pub priority: Option<i64>,
    /// Initial instances of a dedicated tier's group (default instance.initial).
    pub instances: Option<u32>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub name: Option<String>,
    pub tier: Option<String>,
    pub tenants: Option<u32>,
    /// Parsed by `resolve` (its keys depend on `process`).
    pub arrival: Option<toml::Table>,
    pub mix: Option<BTreeMap<String, f64>>,
    pub keys: Option<RawKeys>,
    /// Client addresses (for per-IP rate limits).
    pub clients: Option<RawClients>,
    /// Sessions per tenant: `{ per_tenant = N }` or `{ rate_per_s, lifetime }`.
    pub sessions: Option<RawSessionPopulation>,
}

/// A workload's `sessions`.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawSessionPopulation {
    /// Sessions each tenant holds for the whole run ...
    pub per_tenant: Option<i64>,
    /// ... or opens at random at this rate per tenant ...
    pub rate_per_s: Option<f64>,
    /// ... each lasting a drawn lifetime (a distribution).
    pub lifetime: Option<toml::Value>,
}

/// `[sessions]`: long-lived connections on instances.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    pub max_per_instance: Option<i64>,
    pub memory_per_session_mb: Option<f64>,
    pub message_rate_per_s: Option<f64>,
    /// Distributions.
    pub message_cpu: Option<toml::Value>,
    pub connect_cpu: Option<toml::Value>,
    /// least-sessions | round-robin
    pub balancer: Option<String>,
    /// A distribution.
    pub reconnect_delay: Option<toml::Value>,
    pub attempts: Option<i64>,
    pub backoff: Option<RawBackoff>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// A distribution: a duration string (deterministic) or a table with
    /// `dist` and its parameters. Parsed by `resolve`.
    pub cpu: Option<toml::Value>,
    pub timeout: Option<Duration>,
    pub db_queries: Option<i64>,
    /// Database work per query: a distribution.
    pub query: Option<toml::Value>,
    /// Reads go through the caches (L1 → L2 → database).
    pub cacheable: Option<bool>,
    /// "read" (default) or "write": writes update or invalidate caches.
    pub operation: Option<String>,
    /// Ordered request stages run before the endpoint's own `cpu`.
    pub stage: Option<Vec<RawStage>>,
    /// With read replicas: "replica" (default for reads) or "primary"
    /// (default for writes).
    pub db_route: Option<String>,
}

/// `[[background]]`: a periodic task taking CPU on every instance.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawBackground {
    pub name: Option<String>,
    pub period: Option<Duration>,
    /// CPU work of one run: a distribution.
    pub cpu: Option<toml::Value>,
}

/// `[host]`: an instance's event-loop threads and the database's CPU on
/// its host.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    /// Threads that run every CPU phase and database reply, to completion.
    pub threads: Option<u32>,
    /// A thread's CPU per query reply; the connection is held until then.
    pub reply_cpu: Option<Duration>,
    /// The database's CPU per query on the instance's cores.
    pub query_cpu: Option<Duration>,
}

/// `[pauses]`: stop-the-world pauses of every instance.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawPauses {
    /// Periodic pauses, one every `interval` ...
    pub interval: Option<Duration>,
    /// ... or at random (Poisson) at this rate per instance.
    pub rate_per_s: Option<f64>,
    /// How long one pause lasts: a distribution.
    pub duration: Option<toml::Value>,
}

/// `[memory]`: memory pressure on each instance.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawMemory {
    /// Memory of one L1 cache entry.
    pub per_cache_item_mb: Option<f64>,
    /// Crossing `instance.memory_mb` kills the instance (default true).
    pub oom_kill: Option<bool>,
    /// How often each instance's memory monitor runs the actions.
    pub check_interval: Option<Duration>,
    /// `{ above, action, fraction }` tables; parsed by `resolve`.
    pub actions: Option<Vec<toml::Table>>,
    /// Garbage a finished request leaves until a GC collects it.
    pub garbage_per_request_mb: Option<f64>,
}

/// `[[endpoint.NAME.stage]]`: one step of a request's path.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    pub name: Option<String>,
    /// CPU work (holds a worker and a CPU share): a distribution.
    pub cpu: Option<toml::Value>,
    /// Waiting on an external call (holds the worker, no CPU): a
    /// distribution. `io` is accepted as another name.
    #[serde(alias = "io")]
    pub wait: Option<toml::Value>,
    /// Probability that the stage fails (the request ends with
    /// `stage_failure` at the stage's end).
    pub fail: Option<f64>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    pub cores: Option<u32>,
    pub workers: Option<u32>,
    pub queue_capacity: Option<u32>,
    pub base_memory_mb: Option<f64>,
    pub memory_per_request_mb: Option<f64>,
    pub memory_mb: Option<f64>,
    pub startup: Option<Duration>,
    pub initial: Option<u32>,
    pub cost_per_hour: Option<f64>,
    pub load_balancer: Option<String>,
    /// How long a removed instance may finish in-flight requests.
    pub drain_timeout: Option<Duration>,
    /// Which instance scale-in removes: newest | least-loaded.
    pub scale_in: Option<String>,
    /// What a request meets when no instance is ready: fail | wait.
    pub none_ready: Option<String>,
}
