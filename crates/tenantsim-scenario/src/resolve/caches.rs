//! `[cache]` (`l1`, `l2`, `l3`, `write_policy`) into [`CacheSpec`]; warns
//! about cacheable endpoints without a cache, and requires `keys` on every
//! workload that calls cacheable or write endpoints when there is one.

use super::*;
use crate::raw::RawScenario;

/// `[cache]`, against the endpoints and workloads.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    endpoints: &[Endpoint],
    workloads: &[Workload],
    warnings: &mut Vec<String>,
) -> Result<CacheSpec, ScenarioError> {
    let cache = parse_cache(cx, raw.cache.as_ref())?;
    if let Some(e) = endpoints.iter().find(|e| e.cacheable) {
        if !cache.any() {
            warnings.push(format!(
                "endpoint `{}` is cacheable but there is no [cache.l1] or [cache.l2]",
                e.name
            ));
        }
    }
    if cache.any() {
        for (i, w) in workloads.iter().enumerate() {
            let uses_cache = w
                .mix
                .iter()
                .any(|(e, _)| endpoints[*e].cacheable || endpoints[*e].write);
            if uses_cache && w.keys.is_none() {
                return Err(cx.err(
                    &format!("workload.{i}"),
                    "this workload calls cacheable or write endpoints: give its key popularity, e.g. keys = { items = 10000, zipf = 0.9 }",
                ));
            }
        }
    }
    Ok(cache)
}

fn parse_cache(cx: &Ctx, c: Option<&crate::raw::RawCache>) -> Result<CacheSpec, ScenarioError> {
    let Some(c) = c else { return Ok(CacheSpec::default()) };
    let level = |name: &str, l: &Option<crate::raw::RawCacheLevel>| -> Result<Option<CacheLevel>, ScenarioError> {
        let Some(l) = l else { return Ok(None) };
        let key = format!("cache.{name}");
        let policy = match l.policy.as_deref() {
            None if l.capacity.is_none() => CachePolicy::None,
            None | Some("lru") => CachePolicy::Lru,
            Some("fifo") => CachePolicy::Fifo,
            Some("lfu") => CachePolicy::Lfu,
            Some("none") => CachePolicy::None,
            Some(o) => {
                return Err(cx.err(
                    &format!("{key}.policy"),
                    format!("`{o}`: allowed policies are lru, fifo, lfu, none (TTL only)"),
                ))
            }
        };
        let capacity = match l.capacity {
            None => 0,
            Some(n) if (0..=1_000_000_000).contains(&n) => n as u64,
            Some(n) => {
                return Err(cx.err(
                    &format!("{key}.capacity"),
                    format!("must be between 0 and 1,000,000,000 items, got {n}"),
                ))
            }
        };
        if capacity == 0 && policy != CachePolicy::None {
            return Err(cx.err(
                &format!("{key}.capacity"),
                "a cache with an eviction policy needs a capacity of at least 1 item (or policy = \"none\" for a TTL-only cache)",
            ));
        }
        let ttl = l.ttl.map(secs);
        if policy == CachePolicy::None && ttl.is_none() {
            return Err(cx.err(
                &key,
                "a TTL-only cache (policy none) needs a `ttl`, or it would grow without bound",
            ));
        }
        let latency = match &l.latency {
            Some(v) => parse_dist(cx, &format!("{key}.latency"), v)?,
            None => Dist::deterministic(0.0).map_err(|m| cx.err(&key, m))?,
        };
        if let Some(t) = ttl {
            if t == SimTime::ZERO || t.as_secs_f64() <= latency.mean_secs() {
                return Err(cx.err(
                    &format!("{key}.ttl"),
                    format!(
                        "the TTL ({t}) must be longer than the cache latency ({}s): entries would expire before use",
                        latency.mean_secs()
                    ),
                ));
            }
        }
        Ok(Some(CacheLevel {
            capacity,
            policy,
            ttl,
            latency,
        }))
    };
    let write_policy = match c.write_policy.as_deref() {
        None | Some("cache-aside") => WritePolicy::CacheAside,
        Some("write-through") => WritePolicy::WriteThrough,
        Some("write-behind") => WritePolicy::WriteBehind,
        Some(o) => {
            return Err(cx.err(
                "cache.write_policy",
                format!("`{o}`: allowed write policies are cache-aside, write-through, write-behind"),
            ))
        }
    };
    Ok(CacheSpec {
        l1: level("l1", &c.l1)?,
        l2: level("l2", &c.l2)?,
        l3: level("l3", &c.l3)?,
        write_policy: Some(write_policy),
    })
}
