//! `[memory]` into [`MemorySpec`]: memory per L1 cache entry (needs a
//! `[cache.l1]`), OOM kills, garbage per request, the monitor's check
//! interval and its actions (shrink-cache, shed, restart, prune-connections,
//! emergency-gc) with their own keys, sorted by their `above` threshold (a
//! fraction of instance.memory_mb).

use super::*;

const MEMORY_ACTIONS: &[&str] = &["shrink-cache", "shed", "restart", "prune-connections", "emergency-gc"];

/// `[memory]`: cache memory, OOM kills, and the monitor's actions.
pub(super) fn parse_memory(
    cx: &Ctx,
    m: &crate::raw::RawMemory,
    instance: &InstanceSpec,
    cache: &CacheSpec,
) -> Result<MemorySpec, ScenarioError> {
    let per_cache_item_mb = m.per_cache_item_mb.unwrap_or(0.0);
    if !(per_cache_item_mb.is_finite() && per_cache_item_mb >= 0.0) {
        return Err(cx.err(
            "memory.per_cache_item_mb",
            format!("must be zero or positive, got {per_cache_item_mb}"),
        ));
    }
    if per_cache_item_mb > 0.0 && cache.l1.is_none() {
        return Err(cx.err(
            "memory.per_cache_item_mb",
            "counts the instance's L1 entries in its memory: add a [cache.l1]",
        ));
    }
    if instance.base_memory_mb >= instance.memory_mb {
        return Err(cx.err(
            "memory",
            format!(
                "instance.base_memory_mb ({}) is not below instance.memory_mb ({}): every instance would be out of memory at once",
                instance.base_memory_mb, instance.memory_mb
            ),
        ));
    }
    let check_interval = m.check_interval.map(secs).unwrap_or(SimTime::from_secs(1));
    if check_interval == SimTime::ZERO {
        return Err(cx.err("memory.check_interval", "must be longer than zero"));
    }
    let garbage_per_request_mb = m.garbage_per_request_mb.unwrap_or(0.0);
    if !(garbage_per_request_mb.is_finite() && garbage_per_request_mb >= 0.0) {
        return Err(cx.err(
            "memory.garbage_per_request_mb",
            format!("must be zero or positive, got {garbage_per_request_mb}"),
        ));
    }
    let mut gc_pauses = Vec::new();
    let mut actions = Vec::new();
    for (i, t) in m.actions.clone().unwrap_or_default().iter().enumerate() {
        let key = format!("memory.actions.{i}");
        let f = Fields { cx, key: &key, t };
        let name = f.str("action")?.ok_or_else(|| {
            cx.err(
                &key,
                format!("missing `action`; allowed: {}", MEMORY_ACTIONS.join(", ")),
            )
        })?;
        let kind = match name {
            "shrink-cache" => {
                f.check_keys(
                    &["above", "action", "fraction"],
                    "a shrink-cache action (above, fraction)",
                )?;
                if cache.l1.is_none() {
                    return Err(cx.err(&f.path("action"), "shrink-cache drops L1 entries: add a [cache.l1]"));
                }
                let fraction = ratio(
                    cx,
                    &f.path("fraction"),
                    "the fraction of L1 entries to drop",
                    f.positive("fraction")?,
                    true,
                )?;
                MemoryActionKind::ShrinkCache { fraction }
            }
            "shed" => {
                f.check_keys(&["above", "action"], "a shed action (above)")?;
                MemoryActionKind::Shed
            }
            "restart" => {
                f.check_keys(&["above", "action"], "a restart action (above)")?;
                MemoryActionKind::Restart
            }
            "prune-connections" => prune_connections(&f)?,
            "emergency-gc" => {
                f.check_keys(&["above", "action", "pause"], "an emergency-gc action (above, pause)")?;
                let pause = match f.t.get("pause") {
                    Some(v) => parse_dist(cx, &f.path("pause"), v)?,
                    None => {
                        return Err(cx.err(
                            &key,
                            "missing `pause`, how long the GC stops the instance, e.g. pause = \"200ms\"",
                        ))
                    }
                };
                if m.garbage_per_request_mb.is_none_or(|g| g <= 0.0) {
                    return Err(cx.err(
                        &f.path("action"),
                        "emergency-gc frees garbage: set memory.garbage_per_request_mb (what each finished request leaves until a GC), e.g. garbage_per_request_mb = 0.5",
                    ));
                }
                gc_pauses.push(pause);
                MemoryActionKind::EmergencyGc {
                    pause: (gc_pauses.len() - 1) as u16,
                }
            }
            o => {
                let hint = did_you_mean(o, MEMORY_ACTIONS.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &f.path("action"),
                    format!(
                        "`{o}` is not a memory action; allowed: {}{hint}",
                        MEMORY_ACTIONS.join(", ")
                    ),
                ));
            }
        };
        let above = ratio(
            cx,
            &f.path("above"),
            "a fraction of instance.memory_mb",
            f.positive("above")?,
            true,
        )?;
        actions.push(MemoryAction { above, kind });
    }
    actions.sort_by(|a, b| a.above.total_cmp(&b.above));
    Ok(MemorySpec {
        per_cache_item_mb,
        oom_kill: m.oom_kill.unwrap_or(true),
        check_interval,
        actions,
        garbage_per_request_mb,
        gc_pauses,
    })
}

/// `action = "prune-connections"`: `fraction` of the sessions to close,
/// `select` idle or oldest, `reconnect`.
fn prune_connections(f: &Fields) -> Result<MemoryActionKind, ScenarioError> {
    let cx = f.cx;
    f.check_keys(
        &["above", "action", "fraction", "select", "reconnect"],
        "a prune-connections action (above, fraction, select, reconnect)",
    )?;
    let fraction = ratio(
        cx,
        &f.path("fraction"),
        "the fraction of the instance's sessions to close",
        f.positive("fraction")?,
        true,
    )?;
    let oldest = match f.str("select")? {
        None | Some("idle") => false,
        Some("oldest") => true,
        Some(o) => {
            return Err(cx.err(
                &f.path("select"),
                format!(
                    "`{o}`: allowed are idle (longest without a message first) and oldest (longest connected first)"
                ),
            ))
        }
    };
    let reconnect = match f.t.get("reconnect") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(v) => return Err(cx.err(&f.path("reconnect"), format!("must be true or false, got {v}"))),
    };
    Ok(MemoryActionKind::PruneSessions {
        fraction,
        oldest,
        reconnect,
    })
}
