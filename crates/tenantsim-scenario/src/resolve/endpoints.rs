//! `[endpoint.NAME]` into [`Endpoint`]s and `[[endpoint.NAME.stage]]` into
//! their [`Stage`]s: the CPU demand (required unless there are stages), the
//! timeout, database queries and their `query` time, `operation` (read or
//! write), `cacheable` (reads only) and `db_route`. At least one endpoint is
//! required.

use super::*;
use crate::raw::RawScenario;
use std::path::Path;

/// `[endpoint.*]`, in name order.
pub(super) fn resolve(cx: &Ctx, raw: &RawScenario, top: &Path) -> Result<Vec<Endpoint>, ScenarioError> {
    let raw_endpoints = raw.endpoint.clone().unwrap_or_default();
    if raw_endpoints.is_empty() {
        return Err(ScenarioError::new(
            "no endpoints: add at least one, e.g.\n  [endpoint.read]\n  cpu = { dist = \"exponential\", mean = \"10ms\" }",
        )
        .in_file(top));
    }
    let mut endpoints = Vec::new();
    for (name, e) in &raw_endpoints {
        let key = format!("endpoint.{name}");
        let stages = parse_stages(cx, &key, e.stage.as_deref().unwrap_or_default())?;
        let cpu = match &e.cpu {
            Some(v) => parse_dist(cx, &format!("{key}.cpu"), v)?,
            // With stages the endpoint's own CPU phase is optional.
            None if !stages.is_empty() => Dist::deterministic(0.0).map_err(|m| cx.err(&key, m))?,
            None => return Err(cx.err(
                &key,
                "missing `cpu`: the CPU time a request needs, e.g. cpu = \"5ms\" (or give it [[endpoint.NAME.stage]]s)",
            )),
        };
        let timeout = e.timeout.map(secs);
        if timeout == Some(SimTime::ZERO) {
            return Err(cx.err(
                &format!("{key}.timeout"),
                "must be longer than zero (leave it out for no timeout)",
            ));
        }
        let db_queries = match e.db_queries {
            None => 0,
            Some(n) if (0..=1000).contains(&n) => n as u32,
            Some(n) => {
                return Err(cx.err(
                    &format!("{key}.db_queries"),
                    format!("must be between 0 and 1000, got {n}"),
                ))
            }
        };
        let query = match &e.query {
            Some(v) => Some(parse_dist(cx, &format!("{key}.query"), v)?),
            None => None,
        };
        if db_queries > 0 && query.is_none() {
            return Err(cx.err(
                &format!("{key}.db_queries"),
                "database work needs `query`, the time one query takes, e.g. query = { dist = \"exponential\", mean = \"8ms\" }",
            ));
        }
        let write = match e.operation.as_deref() {
            None | Some("read") => false,
            Some("write") => true,
            Some(o) => {
                return Err(cx.err(
                    &format!("{key}.operation"),
                    format!("`{o}`: allowed operations are read, write"),
                ))
            }
        };
        let cacheable = e.cacheable.unwrap_or(false);
        if cacheable && write {
            return Err(cx.err(&format!("{key}.cacheable"), "a write is not a cacheable read: writes update or invalidate the caches according to [cache] write_policy"));
        }
        let db_route = match e.db_route.as_deref() {
            None if write => DbRoute::Primary,
            None | Some("replica") => DbRoute::Replica,
            Some("primary") => DbRoute::Primary,
            Some(o) => {
                return Err(cx.err(
                    &format!("{key}.db_route"),
                    format!("`{o}`: allowed routes are replica (default for reads), primary (default for writes)"),
                ))
            }
        };
        endpoints.push(Endpoint {
            name: name.clone(),
            cpu,
            timeout,
            db_queries,
            query,
            cacheable,
            write,
            stages,
            db_route,
        });
    }
    Ok(endpoints)
}

/// `[[endpoint.NAME.stage]]`: names unique within the endpoint, each stage
/// with `cpu`, `wait` or both, `fail` a probability.
pub(super) fn parse_stages(cx: &Ctx, key: &str, raw: &[crate::raw::RawStage]) -> Result<Vec<Stage>, ScenarioError> {
    if raw.len() > 64 {
        return Err(cx.err(&format!("{key}.stage"), format!("at most 64 stages, got {}", raw.len())));
    }
    let mut stages: Vec<Stage> = Vec::with_capacity(raw.len());
    for (i, st) in raw.iter().enumerate() {
        let k = format!("{key}.stage.{i}");
        let name = st.name.clone().unwrap_or_else(|| format!("stage{i}"));
        if name.is_empty() || name.contains('.') {
            return Err(cx.err(
                &format!("{k}.name"),
                "a stage name is a non-empty word without dots, e.g. name = \"jwt\"",
            ));
        }
        if stages.iter().any(|s| s.name == name) {
            return Err(cx.err(
                &format!("{k}.name"),
                format!("a second stage named `{name}` in this endpoint"),
            ));
        }
        let cpu = match &st.cpu {
            Some(v) => Some(parse_dist(cx, &format!("{k}.cpu"), v)?),
            None => None,
        };
        let wait = match &st.wait {
            Some(v) => Some(parse_dist(cx, &format!("{k}.wait"), v)?),
            None => None,
        };
        if cpu.is_none() && wait.is_none() {
            return Err(cx.err(
                &k,
                "a stage needs `cpu` (work on the instance's cores), `wait` (an external call holding the worker without CPU), or both, e.g. wait = { dist = \"lognormal\", mean = \"25ms\", cv = 0.5 }",
            ));
        }
        let fail = ratio(cx, &format!("{k}.fail"), "a probability", st.fail.unwrap_or(0.0), false)?;
        stages.push(Stage { name, cpu, wait, fail });
    }
    Ok(stages)
}
