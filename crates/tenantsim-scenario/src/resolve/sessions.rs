//! Long-lived sessions: a workload's `sessions` (per tenant, or opened at a
//! rate for a lifetime) and the `[sessions]` table into [`SessionSpec`] (cap
//! per instance, memory, messages, connect and reconnect). Each needs the
//! other, and memory's prune-connections action needs both.

use super::*;
use crate::raw::RawScenario;

/// `[sessions]`, against the workloads' sessions and `[memory]`.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    workloads: &[Workload],
    memory: &Option<MemorySpec>,
) -> Result<Option<SessionSpec>, ScenarioError> {
    let sessions = match &raw.sessions {
        None => None,
        Some(r) => Some(parse_sessions(cx, r)?),
    };
    match (&sessions, workloads.iter().position(|w| w.sessions.is_some())) {
        (None, Some(i)) => {
            return Err(cx.err(
                &format!("workload.{i}.sessions"),
                "sessions need a [sessions] table (cap per instance, memory, messages), e.g. [sessions] max_per_instance = 10000",
            ))
        }
        (Some(_), None) => {
            return Err(cx.err(
                "sessions",
                "no workload opens sessions: give one sessions = { per_tenant = 100 } or sessions = { rate_per_s = 0.1, lifetime = \"10m\" }",
            ))
        }
        _ => {}
    }
    if memory.as_ref().is_some_and(|m| {
        m.actions
            .iter()
            .any(|a| matches!(a.kind, MemoryActionKind::PruneSessions { .. }))
    }) && sessions.is_none()
    {
        return Err(cx.err(
            "memory.actions",
            "prune-connections closes sessions: add a [sessions] table and a workload's sessions",
        ));
    }
    Ok(sessions)
}

/// A workload's `sessions`: `{ per_tenant = N }` or `{ rate_per_s, lifetime }`.
pub(super) fn parse_session_population(
    cx: &Ctx,
    key: &str,
    p: &crate::raw::RawSessionPopulation,
    tenants: u32,
) -> Result<SessionPopulation, ScenarioError> {
    match (p.per_tenant, p.rate_per_s, &p.lifetime) {
        (Some(n), None, None) => {
            if !(1..=1_000_000).contains(&n) {
                return Err(cx.err(
                    &format!("{key}.per_tenant"),
                    format!("sessions each tenant holds, between 1 and 1,000,000, got {n}"),
                ));
            }
            Ok(SessionPopulation::PerTenant(n as u32))
        }
        (None, Some(r), Some(l)) => {
            if !(r.is_finite() && r > 0.0) {
                return Err(cx.err(
                    &format!("{key}.rate_per_s"),
                    format!("must be a positive number (sessions opened per second per tenant), got {r}"),
                ));
            }
            // Drawn as one stream of rate × tenants per workload.
            check_stream_rate(cx, &format!("{key}.rate_per_s"), r, tenants, "tenant", "session openings")?;
            let lifetime = parse_dist(cx, &format!("{key}.lifetime"), l)?;
            Ok(SessionPopulation::Arrivals { rate_per_s: r, lifetime })
        }
        _ => Err(cx.err(
            key,
            "give either per_tenant (sessions held all run, e.g. sessions = { per_tenant = 100 }) or rate_per_s and lifetime (e.g. sessions = { rate_per_s = 0.1, lifetime = \"10m\" })",
        )),
    }
}

/// `[sessions]`: the cap per instance, memory, messages, reconnects.
fn parse_sessions(cx: &Ctx, r: &crate::raw::RawSessions) -> Result<SessionSpec, ScenarioError> {
    let max_per_instance = match r.max_per_instance {
        None => u32::MAX,
        Some(n) if (1..u32::MAX as i64).contains(&n) => n as u32,
        Some(n) => {
            return Err(cx.err(
                "sessions.max_per_instance",
                format!("sessions one instance accepts, a positive whole number, got {n}"),
            ))
        }
    };
    let memory_per_session_mb = r.memory_per_session_mb.unwrap_or(0.0);
    if !(memory_per_session_mb.is_finite() && memory_per_session_mb >= 0.0) {
        return Err(cx.err(
            "sessions.memory_per_session_mb",
            format!("must be zero or positive, got {memory_per_session_mb}"),
        ));
    }
    let message_rate_per_s = r.message_rate_per_s.unwrap_or(0.0);
    if !(message_rate_per_s.is_finite() && message_rate_per_s >= 0.0) {
        return Err(cx.err(
            "sessions.message_rate_per_s",
            format!("messages per open session per second, zero or positive, got {message_rate_per_s}"),
        ));
    }
    // An instance's sessions send one stream of count × rate; its count is
    // bounded only when max_per_instance is given.
    let most = if max_per_instance == u32::MAX {
        1
    } else {
        max_per_instance
    };
    check_stream_rate(
        cx,
        "sessions.message_rate_per_s",
        message_rate_per_s,
        most,
        "session",
        "messages",
    )?;
    let message_cpu = match &r.message_cpu {
        Some(v) => Some(parse_dist(cx, "sessions.message_cpu", v)?),
        None => None,
    };
    if message_rate_per_s > 0.0 && message_cpu.is_none() {
        return Err(cx.err(
            "sessions",
            "messages need `message_cpu`, the CPU work of one message on the session's instance, e.g. message_cpu = { dist = \"exponential\", mean = \"1ms\" }",
        ));
    }
    let connect_cpu = match &r.connect_cpu {
        Some(v) => Some(parse_dist(cx, "sessions.connect_cpu", v)?),
        None => None,
    };
    let balancer = match r.balancer.as_deref() {
        None | Some("least-sessions") => SessionBalancing::LeastSessions,
        Some("round-robin") => SessionBalancing::RoundRobin,
        Some(o) => {
            let hint = did_you_mean(o, ["least-sessions", "round-robin"])
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                "sessions.balancer",
                format!("`{o}`: allowed are least-sessions and round-robin{hint}"),
            ));
        }
    };
    let reconnect_delay = match &r.reconnect_delay {
        Some(v) => parse_dist(cx, "sessions.reconnect_delay", v)?,
        None => Dist::deterministic(0.0).map_err(|m| cx.err("sessions.reconnect_delay", m))?,
    };
    let attempts = match r.attempts {
        None => 10,
        Some(n) if (1..=1000).contains(&n) => n as u32,
        Some(n) => {
            return Err(cx.err(
                "sessions.attempts",
                format!("connection attempts per drop (the first included), between 1 and 1000, got {n}"),
            ))
        }
    };
    let (backoff_base, backoff_max, jitter) = backoff(
        cx,
        "sessions",
        r.backoff.as_ref(),
        SimTime::from_secs(1),
        SimTime::from_secs(30),
    )?;
    Ok(SessionSpec {
        max_per_instance,
        memory_per_session_mb,
        message_rate_per_s,
        message_cpu,
        connect_cpu,
        balancer,
        reconnect_delay,
        attempts,
        backoff_base,
        backoff_max,
        jitter,
    })
}
