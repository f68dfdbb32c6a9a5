//! `[host]` into [`HostSpec`]: what shares an instance's host — the
//! event-loop threads that run every CPU phase and database reply
//! (`threads`, `reply_cpu`) and the database's own CPU per query
//! (`query_cpu`).
//!
//! Checks: `threads` is given and at least 1; the durations are zero or
//! more; `query_cpu` above zero needs a database, exactly one instance
//! (`instance.initial = 1`, no `[autoscaler]`: the database runs on that
//! instance's host) and no read replicas.

use super::*;
use crate::raw::{RawHost, RawScenario};

/// Whether the rest of the scenario allows a database on the host.
pub(super) struct HostContext {
    pub(super) database: bool,
    pub(super) replicas: bool,
    pub(super) instances: u32,
    pub(super) autoscaler: bool,
}

pub(super) fn resolve(cx: &Ctx, raw: &RawScenario, ctx: HostContext) -> Result<Option<HostSpec>, ScenarioError> {
    let Some(h): Option<&RawHost> = raw.host.as_ref() else {
        return Ok(None);
    };
    let threads = match h.threads {
        Some(0) => return Err(cx.err("host.threads", "must be at least 1")),
        Some(t) => t,
        None => {
            return Err(cx.err(
                "host",
                "missing `threads`, the instance's event-loop threads that run its CPU work, e.g. threads = 1",
            ))
        }
    };
    let reply_cpu = h.reply_cpu.map(secs).unwrap_or(SimTime::ZERO);
    let query_cpu = h.query_cpu.map(secs).unwrap_or(SimTime::ZERO);
    if query_cpu > SimTime::ZERO {
        let why = if !ctx.database {
            Some("there is no database ([database] or [pool])")
        } else if ctx.replicas {
            Some("the database has read replicas (their hosts are not this one)")
        } else if ctx.autoscaler || ctx.instances != 1 {
            Some("it needs exactly one instance (instance.initial = 1, no [autoscaler]): the database shares that instance's host")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(cx.err("host.query_cpu", format!("the database cannot run on the host: {why}")));
        }
    }
    Ok(Some(HostSpec {
        threads,
        reply_cpu,
        query_cpu,
    }))
}
