//! The reference multi-tenant service of the testbed (issue 22) and the
//! pieces its load client shares with it.
//!
//! tenantsim is compared against this service: real software (actix-web,
//! PostgreSQL through deadpool-postgres, Redis) doing what the scenario
//! models — per-tenant token buckets and concurrency caps, CPU work,
//! a connection pool with an acquire timeout, an L1 → L2 → database read
//! path. The service measures each component of a request's latency and
//! writes it to its access log, so `tenantsim fit` can calibrate each part
//! of the model instead of taking the whole latency as CPU demand.
//!
//! Modules: [`limits`] (tiers, token buckets, concurrency caps), [`lru`]
//! (the in-process L1), [`work`] (CPU demand drawn from a distribution and
//! done as computation, measured in thread CPU time), [`metrics`] (the
//! Prometheus text exposition), [`tiers`] (the tenant→tier map, shared
//! with the load client and `tenantsim fit --tier-map`).

pub mod limits;
pub mod lru;
pub mod metrics;
pub mod tiers;
pub mod work;

/// Parse a duration: a number with `ns`, `us`, `ms`, `s` or `m` (seconds
/// without a unit). Returns seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, mult) = if let Some(x) = s.strip_suffix("ns") {
        (x, 1e-9)
    } else if let Some(x) = s.strip_suffix("us") {
        (x, 1e-6)
    } else if let Some(x) = s.strip_suffix("ms") {
        (x, 1e-3)
    } else if let Some(x) = s.strip_suffix('s') {
        (x, 1.0)
    } else if let Some(x) = s.strip_suffix('m') {
        (x, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 2ms, 150us, 1.5s)"))?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("`{s}`: a duration is a finite number ≥ 0"));
    }
    Ok(v * mult)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("2ms").unwrap(), 0.002);
        assert!((parse_duration("150us").unwrap() - 150e-6).abs() < 1e-15);
        assert_eq!(parse_duration("1.5s").unwrap(), 1.5);
        assert_eq!(parse_duration("2m").unwrap(), 120.0);
        assert_eq!(parse_duration("3").unwrap(), 3.0);
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1ms").is_err());
    }
}
