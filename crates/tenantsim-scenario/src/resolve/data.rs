//! `[database]` into [`DatabaseSpec`] (cores, max_connections, read
//! `[database.replicas]`) and `[pool]` into [`PoolSpec`]; checks that
//! endpoints with `db_queries` have both, that a pool has a database, and
//! warns when they are configured but unused.

use super::*;
use crate::raw::RawScenario;

/// `[database]` and `[pool]`, against the endpoints' database work.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    endpoints: &[Endpoint],
    warnings: &mut Vec<String>,
) -> Result<(Option<DatabaseSpec>, Option<PoolSpec>), ScenarioError> {
    let database = match &raw.database {
        None => None,
        Some(d) => {
            let cores = d.cores.unwrap_or(8);
            if cores == 0 {
                return Err(cx.err("database.cores", "must be at least 1"));
            }
            let max_connections = d.max_connections.unwrap_or(100);
            if max_connections == 0 {
                return Err(cx.err("database.max_connections", "must be at least 1"));
            }
            let replicas = match &d.replicas {
                None => None,
                Some(r) => parse_replicas(cx, r, cores, max_connections)?,
            };
            Some(DatabaseSpec {
                cores,
                max_connections,
                replicas,
            })
        }
    };
    let pool = match &raw.pool {
        None => None,
        Some(p) => Some(parse_pool(cx, p)?),
    };
    let db_work: Vec<&str> = endpoints
        .iter()
        .filter(|e| e.db_queries > 0)
        .map(|e| e.name.as_str())
        .collect();
    if !db_work.is_empty() {
        if database.is_none() {
            return Err(cx.err(
                &format!("endpoint.{}.db_queries", db_work[0]),
                "database work needs a [database] (cores, max_connections) and a [pool]",
            ));
        }
        if pool.is_none() {
            return Err(cx.err(
                &format!("endpoint.{}.db_queries", db_work[0]),
                "database work needs a connection [pool], e.g. [pool] size = 20, overflow = 10, timeout = \"30s\"",
            ));
        }
    } else if pool.is_some() || database.is_some() {
        warnings.push("a [pool] or [database] is configured but no endpoint has db_queries: it is never used".into());
    }
    if pool.is_some() && database.is_none() {
        return Err(cx.err("pool", "a connection pool needs a [database] to connect to"));
    }
    // Pools against max_connections and tier caps against the pool are
    // lint rules (crate::lint), reported with the arithmetic.
    Ok((database, pool))
}

fn parse_pool(cx: &Ctx, p: &crate::raw::RawPool) -> Result<PoolSpec, ScenarioError> {
    let count = |key: &str, v: Option<i64>| -> Result<Option<u32>, ScenarioError> {
        match v {
            None => Ok(None),
            Some(n) if (0..=100_000).contains(&n) => Ok(Some(n as u32)),
            Some(n) => Err(cx.err(&format!("pool.{key}"), format!("must be between 0 and 100000, got {n}"))),
        }
    };
    let size = count("size", p.size)?;
    let overflow = count("overflow", p.overflow)?;
    let min = count("min", p.min)?;
    let max = count("max", p.max)?;
    let static_keys = size.is_some() || overflow.is_some();
    let dynamic_keys = min.is_some() || max.is_some();
    let (permanent, limit, idle_timeout) = if static_keys && dynamic_keys {
        return Err(cx.err(
            "pool",
            "give either a static pool (size, overflow) or a dynamic one (min, max), not both",
        ));
    } else if static_keys {
        let size = size.unwrap_or(0);
        if size == 0 {
            return Err(cx.err(
                "pool.size",
                "a pool with database work needs at least one permanent connection (size >= 1)",
            ));
        }
        if p.idle_timeout.is_some() {
            return Err(cx.err(
                "pool.idle_timeout",
                "only dynamic pools (min, max) close idle connections; static pools close overflow connections when returned",
            ));
        }
        (size, size + overflow.unwrap_or(0), None)
    } else if dynamic_keys {
        let min = min.unwrap_or(0);
        let max = max.ok_or_else(|| cx.err("pool", "a dynamic pool needs `max`"))?;
        if max == 0 || max < min {
            return Err(cx.err(
                "pool.max",
                format!("must be at least 1 and at least min ({min}), got {max}"),
            ));
        }
        (
            min,
            max,
            Some(p.idle_timeout.map(secs).unwrap_or(SimTime::from_secs(600))),
        )
    } else {
        return Err(cx.err(
            "pool",
            "missing `size` (and optionally `overflow`), or `min`/`max` for a dynamic pool",
        ));
    };
    let scope = match p.scope.as_deref() {
        None | Some("instance") => PoolScope::Instance,
        Some("shared") => PoolScope::Shared,
        Some(o) => return Err(cx.err("pool.scope", format!("`{o}`: allowed scopes are instance, shared"))),
    };
    let timeout = p.timeout.map(secs).unwrap_or(SimTime::from_secs(30));
    if timeout == SimTime::ZERO {
        return Err(cx.err("pool.timeout", "must be longer than zero"));
    }
    if p.recycle.is_some_and(|r| r.0 == 0.0) {
        return Err(cx.err(
            "pool.recycle",
            "must be longer than zero (leave it out to never recycle)",
        ));
    }
    Ok(PoolSpec {
        config: tenantsim_model::pool::PoolConfig {
            permanent,
            limit,
            timeout,
            recycle: p.recycle.map(secs),
            connect_time: p.connect_time.map(secs).unwrap_or(SimTime::ZERO),
            idle_timeout,
        },
        scope,
    })
}

/// `[database.replicas]`; `count = 0` means none (handy in sweeps).
fn parse_replicas(
    cx: &Ctx,
    r: &crate::raw::RawReplicas,
    cores: u32,
    max_connections: u32,
) -> Result<Option<ReplicaSpec>, ScenarioError> {
    let count = r.count.ok_or_else(|| {
        cx.err(
            "database.replicas",
            "missing `count`, the number of read replicas (0 for none)",
        )
    })?;
    if !(0..=64).contains(&count) {
        return Err(cx.err(
            "database.replicas.count",
            format!("must be between 0 and 64, got {count}"),
        ));
    }
    let routing = match r.routing.as_deref() {
        None | Some("round-robin") => ReplicaRouting::RoundRobin,
        Some("least-connections") => ReplicaRouting::LeastConnections,
        Some(o) => {
            return Err(cx.err(
                "database.replicas.routing",
                format!("`{o}`: allowed routings are round-robin, least-connections"),
            ))
        }
    };
    let cores = r.cores.unwrap_or(cores);
    if cores == 0 {
        return Err(cx.err("database.replicas.cores", "must be at least 1"));
    }
    let max_connections = r.max_connections.unwrap_or(max_connections);
    if max_connections == 0 {
        return Err(cx.err("database.replicas.max_connections", "must be at least 1"));
    }
    let query_factor = r.query_factor.unwrap_or(1.0);
    if !(query_factor.is_finite() && query_factor > 0.0) {
        return Err(cx.err(
            "database.replicas.query_factor",
            format!("must be a positive multiple of the primary's query work, got {query_factor}"),
        ));
    }
    Ok((count > 0).then_some(ReplicaSpec {
        count: count as u32,
        routing,
        cores,
        max_connections,
        query_factor,
    }))
}
