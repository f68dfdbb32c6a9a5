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
                super::units::parse_duration_secs(s)
                    .map(Duration)
                    .map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "durations need a unit: write \"{v}s\" or \"{v}ms\""
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "durations need a unit: write \"{v}s\" or \"{v}ms\""
                )))
            }
        }
        d.deserialize_any(V)
    }
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
    pub slo: Option<toml::Table>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawSimulation {
    pub duration: Option<Duration>,
    pub warmup: Option<Duration>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub sample_interval: Option<Duration>,
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
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// A distribution: a duration string (deterministic) or a table with
    /// `dist` and its parameters. Parsed by `resolve`.
    pub cpu: Option<toml::Value>,
    pub timeout: Option<Duration>,
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
}

/// Top-level tables that SPEC §4 describes but this version does not
/// simulate yet: naming them gets a specific message instead of "unknown".
pub const PLANNED_SECTIONS: &[&str] = &[
    "pool",
    "database",
    "cache",
    "autoscaler",
    "retry",
    "fault",
    "claim",
];
