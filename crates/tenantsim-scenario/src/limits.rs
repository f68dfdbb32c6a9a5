//! Resource limits: a resolved scenario whose run would need absurd memory
//! (10⁹ tenants, 10⁹ cache items on many instances, a 1-ns sample
//! interval) is refused before anything is allocated, with the estimate and
//! what drives it, instead of being killed by the kernel mid-run.
//!
//! The estimate is an upper bound of the memory that grows with the
//! scenario's sizes — per tenant, per closed-workload user, time-series
//! rows, cache entries at their capacity (or the distinct keys that can
//! reach them), connection slots, instances — using the sizes of the
//! structures the model keeps. Fixed costs (a few MB) are left out. The
//! limit is 16 GiB, or `TENANTSIM_MAX_MEMORY_MB` from the environment.

use super::{Arrival, Isolation, PoolScope, Scenario, ScenarioError};

/// Default memory limit (MiB) when `TENANTSIM_MAX_MEMORY_MB` is not set.
pub const DEFAULT_LIMIT_MB: u64 = 16 * 1024;

/// Bytes per tenant: its gateway state (token bucket, concurrency count,
/// limits) and its workload bookkeeping.
const PER_TENANT: f64 = 64.0;
/// Bytes per closed-workload user slot (busy flag, requests left, ramp).
const PER_USER: f64 = 16.0;
/// Bytes per cache entry: the entry (key, expiry, list links, LFU bucket)
/// and its share of the open-addressing table at load ≤ 1/2.
const PER_CACHE_ITEM: f64 = 64.0;
/// Bytes per connection slot of a pool.
const PER_CONNECTION: f64 = 32.0;
/// Bytes per instance besides its cache: queues, CPU share, meters.
const PER_INSTANCE: f64 = 4096.0;
/// A time-series row is kept per replication, then turned into the CSV
/// and Parquet frames: count it three times.
const ROW_COPIES: f64 = 3.0;

/// One contributor to the estimate.
#[derive(Debug, Clone)]
pub struct Part {
    /// The scenario key that drives it.
    pub key: String,
    pub what: String,
    pub bytes: f64,
    /// How to make it smaller, in the user's words: most parts shrink as
    /// their key goes down, but the time series grows as
    /// `sample_interval` goes down.
    pub fix: String,
}

impl Part {
    fn new(key: impl Into<String>, what: String, bytes: f64) -> Self {
        let key = key.into();
        let fix = format!("reduce `{key}`");
        Part { key, what, bytes, fix }
    }
}

/// The memory estimate of one run of `sc` (all its replications), largest
/// part first.
pub fn estimate(sc: &Scenario) -> Vec<Part> {
    let mut parts = Vec::new();
    for (i, w) in sc.workloads.iter().enumerate() {
        let t = w.tenants as f64;
        parts.push(Part::new(
            format!("workload.{i}.tenants"),
            format!("{} tenants", w.tenants),
            t * PER_TENANT,
        ));
        if let Arrival::Closed { .. } = w.arrival {
            let users = t * w.arrival.max_users() as f64;
            parts.push(Part::new(
                format!("workload.{i}.arrival.users"),
                format!("{users} closed-workload users"),
                users * PER_USER,
            ));
        }
    }
    let sim = &sc.simulation;
    let rows = (sim.duration.as_nanos() / sim.sample_interval.as_nanos().max(1)) as f64 + 1.0;
    let reps = sim.replications.max(1) as f64;
    parts.push(Part {
        // A shorter interval means more rows: the fix is the other way.
        fix: "raise `simulation.sample_interval` (fewer rows), or shorten `simulation.duration` or lower `simulation.replications`".into(),
        ..Part::new(
            "simulation.sample_interval",
            format!("{rows} time-series rows × {reps} replications"),
            rows * reps * ROW_COPIES * std::mem::size_of::<tenantsim_model::metrics::TimeSeriesRow>() as f64,
        )
    });
    // Instances: the shared group and each dedicated tier's group can grow
    // to the autoscaler's max.
    let dedicated: Vec<u32> = sc
        .tiers
        .iter()
        .filter(|t| t.isolation == Isolation::Dedicated)
        .map(|t| t.instances.unwrap_or(sc.instance.initial))
        .collect();
    let group_max = |initial: u32| sc.autoscaler.as_ref().map_or(initial, |a| a.max.max(initial)) as f64;
    let instances = group_max(sc.instance.initial) + dedicated.iter().map(|d| group_max(*d)).sum::<f64>();
    parts.push(Part::new(
        "autoscaler.max",
        format!("{instances} instances"),
        instances * PER_INSTANCE,
    ));
    // Distinct keys that can reach a cache: per-tenant namespaces unless shared.
    let keys: f64 = sc
        .workloads
        .iter()
        .filter_map(|w| {
            w.keys
                .map(|k| k.items as f64 * if k.shared { 1.0 } else { w.tenants as f64 })
        })
        .sum::<f64>()
        .max(1.0);
    if let Some(l1) = &sc.cache.l1 {
        let items = if l1.capacity == 0 {
            keys
        } else {
            keys.min(l1.capacity as f64)
        };
        parts.push(Part::new(
            "cache.l1.capacity",
            format!("{items} L1 entries × {instances} instances"),
            items * instances * PER_CACHE_ITEM,
        ));
    }
    if let Some(l2) = &sc.cache.l2 {
        let items = if l2.capacity == 0 {
            keys
        } else {
            keys.min(l2.capacity as f64)
        };
        parts.push(Part::new(
            "cache.l2.capacity",
            format!("{items} L2 entries"),
            items * PER_CACHE_ITEM,
        ));
    }
    if let Some(p) = &sc.pool {
        let classes = 1.0 + sc.tiers.iter().filter(|t| t.isolation != Isolation::Shared).count() as f64;
        let pools = if p.scope == PoolScope::Shared {
            classes
        } else {
            classes * instances
        };
        parts.push(Part::new(
            "pool.size",
            format!("{} connection slots × {pools} pools", p.config.limit),
            p.config.limit as f64 * pools * PER_CONNECTION,
        ));
    }
    parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    parts
}

/// The limit in bytes: `TENANTSIM_MAX_MEMORY_MB` or [`DEFAULT_LIMIT_MB`].
pub fn limit_bytes() -> f64 {
    let mb = std::env::var("TENANTSIM_MAX_MEMORY_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_LIMIT_MB);
    mb as f64 * 1024.0 * 1024.0
}

/// Refuse `sc` if its estimate is above the limit.
pub fn check(sc: &Scenario) -> Result<(), ScenarioError> {
    let parts = estimate(sc);
    let total: f64 = parts.iter().map(|p| p.bytes).sum();
    let limit = limit_bytes();
    if total <= limit {
        return Ok(());
    }
    let top: Vec<String> = parts
        .iter()
        .take(3)
        .filter(|p| p.bytes > 0.0)
        .map(|p| format!("{} ≈ {} ({})", p.what, human(p.bytes), p.key))
        .collect();
    let mut err = ScenarioError::at_key(
        parts[0].key.clone(),
        format!(
            "this scenario would need about {} of memory, above the limit of {}: {}. To fit, {}, or raise the limit with TENANTSIM_MAX_MEMORY_MB (in MiB)",
            human(total),
            human(limit),
            top.join("; "),
            parts[0].fix
        ),
    );
    if !sc.path.as_os_str().is_empty() {
        err = err.in_file(&sc.path);
    }
    Err(err)
}

/// Bytes as MB, GB or TB.
pub fn human(bytes: f64) -> String {
    const G: f64 = 1024.0 * 1024.0 * 1024.0;
    if bytes >= 1024.0 * G {
        format!("{:.1} TB", bytes / (1024.0 * G))
    } else if bytes >= G {
        format!("{:.1} GB", bytes / G)
    } else {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const BASE: &str = "[simulation]\nduration = \"1h\"\n[[workload]]\ntenants = 10\narrival = { process = \"poisson\", rate_per_s = 1.0 }\n[endpoint.api]\ncpu = \"1ms\"\n[instance]\ncores = 1\nworkers = 1\n";

    fn load(extra: &[&str]) -> Result<Scenario, ScenarioError> {
        let sets: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        crate::from_str(Path::new("lim.toml"), BASE, &sets)
    }

    #[test]
    fn a_normal_scenario_is_far_below_the_limit() {
        let sc = load(&[]).unwrap();
        let total: f64 = estimate(&sc).iter().map(|p| p.bytes).sum();
        assert!(total < 10e6, "{total}");
    }

    #[test]
    fn absurd_sizes_are_refused_with_the_estimate_and_the_key() {
        // A billion tenants is refused earlier, by the resolver's cap.
        let e = load(&["workload.0.tenants=1000000000"]).unwrap_err().to_string();
        assert!(
            e.contains("workload[0].tenants") && e.contains("10,000,000 supported"),
            "{e}"
        );
        // 10⁷ tenants (the cap) each with 100 keys of their own in a
        // TTL-only L1: 10⁹ entries, about 60 GB.
        let e = load(&[
            "workload.0.tenants=10000000",
            // 10⁵ arrivals/s in all, below the clock's bound on a stream.
            "workload.0.arrival.rate_per_s=0.01",
            "cache.l1={ policy = \"none\", ttl = \"1m\" }",
            "workload.0.keys={ items = 100, zipf = 1.0 }",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("would need about")
                && e.contains("cache.l1.capacity")
                && e.contains("workload.0.tenants")
                && e.contains("GB")
                && e.contains("TENANTSIM_MAX_MEMORY_MB"),
            "{e}"
        );
        // Other parts than the time series say to reduce their key.
        assert!(e.contains("reduce `cache.l1.capacity`"), "{e}");
        // 10⁶ rows (the per-replication cap) × 10⁴ replications.
        let e = load(&[
            "simulation.duration=\"1000s\"",
            "simulation.sample_interval=\"1ms\"",
            "simulation.replications=10000",
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("simulation.sample_interval") && e.contains("TB"), "{e}");
        // A shorter interval means more rows: the advice points the other
        // way than for the other parts.
        assert!(e.contains("raise `simulation.sample_interval`"), "{e}");
        assert!(e.contains("shorten `simulation.duration`"), "{e}");
        assert!(!e.contains("educe `simulation.sample_interval`"), "{e}");
    }
}
