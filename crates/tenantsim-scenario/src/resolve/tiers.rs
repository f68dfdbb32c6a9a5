//! `[[tier]]` into [`Tier`]s: unique names, the per-tenant token-bucket
//! `rate_limit`, concurrency and connection caps, `isolation` (shared,
//! hybrid, dedicated), memory, priority, and instances of a dedicated tier's
//! own. The default tier, when none is given, is added with the workloads.

use super::*;
use crate::raw::RawScenario;

/// `[[tier]]`, in file order.
pub(super) fn resolve(cx: &Ctx, raw: &RawScenario) -> Result<Vec<Tier>, ScenarioError> {
    let mut tiers = Vec::new();
    for (i, t) in raw.tier.clone().unwrap_or_default().iter().enumerate() {
        let key = format!("tier.{i}");
        let name = t
            .name
            .clone()
            .ok_or_else(|| cx.err(&key, "every [[tier]] needs a `name`"))?;
        if tiers.iter().any(|x: &Tier| x.name == name) {
            return Err(cx.err(&format!("{key}.name"), format!("tier `{name}` is defined twice")));
        }
        let rate_limit = match &t.rate_limit {
            Some(r) => {
                if !(r.rate_per_s.is_finite() && r.rate_per_s > 0.0) {
                    return Err(cx.err(
                        &format!("{key}.rate_limit.rate_per_s"),
                        "must be a positive rate (tokens per second)",
                    ));
                }
                if !(r.burst.is_finite() && r.burst >= 1.0) {
                    return Err(cx.err(
                        &format!("{key}.rate_limit.burst"),
                        "must be at least 1 (the bucket must hold one request)",
                    ));
                }
                Some(RateLimit {
                    rate_per_s: r.rate_per_s,
                    burst: r.burst,
                })
            }
            None => None,
        };
        if t.max_concurrency == Some(0) {
            return Err(cx.err(
                &format!("{key}.max_concurrency"),
                "must be at least 1 (leave it out for no cap)",
            ));
        }
        if t.max_connections == Some(0) {
            return Err(cx.err(
                &format!("{key}.max_connections"),
                "must be at least 1 (leave it out for no cap)",
            ));
        }
        let isolation = match t.isolation.as_deref() {
            None | Some("shared") => Isolation::Shared,
            Some("hybrid") => Isolation::Hybrid,
            Some("dedicated") => Isolation::Dedicated,
            Some(o) => {
                return Err(cx.err(
                    &format!("{key}.isolation"),
                    format!("`{o}`: allowed: shared, hybrid, dedicated"),
                ))
            }
        };
        if let Some(m) = t.memory_mb {
            if !(m.is_finite() && m > 0.0) {
                return Err(cx.err(&format!("{key}.memory_mb"), "must be a positive number of MB"));
            }
        }
        if t.instances == Some(0) {
            return Err(cx.err(&format!("{key}.instances"), "must be at least 1"));
        }
        if t.instances.is_some() && isolation != Isolation::Dedicated {
            return Err(cx.err(
                &format!("{key}.instances"),
                "only a dedicated tier has instances of its own (isolation = \"dedicated\")",
            ));
        }
        tiers.push(Tier {
            name,
            rate_limit,
            max_concurrency: t.max_concurrency,
            max_connections: t.max_connections,
            query_timeout: t.query_timeout.map(secs),
            memory_mb: t.memory_mb,
            isolation,
            priority: t.priority.unwrap_or(0),
            instances: t.instances,
        });
    }
    Ok(tiers)
}
