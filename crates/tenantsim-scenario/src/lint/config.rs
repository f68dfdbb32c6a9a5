//! Rules on limits that must fit each other: connection budgets, tier caps
//! and quotas, instance memory, and the order of timeouts; and tiers that
//! no workload uses.

use super::load::{per_instance_pools, pool_limit_keys, pool_limit_text, Context};
use super::{check, d, n, Check, Severity};

/// `pool-connections`: what all pools can open at the most instances
/// against the database's `max_connections`.
pub fn pool_connections(cx: &Context, out: &mut Vec<Check>) {
    let sc = cx.sc;
    let (Some(p), Some(db)) = (&sc.pool, &sc.database) else {
        return;
    };
    let limit = p.config.limit as u64;
    let max_conn = db.max_connections as u64;
    let mut keys = pool_limit_keys(sc);
    keys.push(if cx.autoscaled() {
        "autoscaler.max".into()
    } else {
        "instance.initial".into()
    });
    if per_instance_pools(sc) {
        let pools_at_most: u64 = cx
            .groups
            .iter()
            .map(|g| g.most as u64 * g.pools_per_instance as u64)
            .sum();
        let terms: Vec<String> = cx
            .groups
            .iter()
            .map(|g| format!("{} instance(s) × {} pool(s) [{}]", g.most, g.pools_per_instance, g.name))
            .collect();
        let need = limit * pools_at_most;
        keys.push("database.max_connections".into());
        // Instances of the largest group that fit, the others at their most.
        let per_instance: u64 = cx.groups.first().map_or(1, |g| g.pools_per_instance as u64 * limit);
        let others: u64 = cx
            .groups
            .iter()
            .skip(1)
            .map(|g| g.most as u64 * g.pools_per_instance as u64 * limit)
            .sum();
        let fit = max_conn.saturating_sub(others) / per_instance.max(1);
        let arithmetic = format!(
            "{} connections per pool × ({}) = {} {} database.max_connections {}",
            pool_limit_text(sc),
            terms.join(" + "),
            need,
            if need > max_conn { ">" } else { "≤" },
            max_conn
        );
        out.push(check(
            "pool-connections",
            Severity::Warning,
            keys.clone(),
            if need > max_conn {
                format!(
                    "the pools can open {need} connections at {} but the database accepts {max_conn}: requests fail with rejected_db_connections once they are all needed{}",
                    if cx.autoscaled() { "the autoscaler's max" } else { "the initial instance count" },
                    match cx.groups.first() {
                        Some(g) if fit > 0 => format!(" (the {} fits {fit} instance(s))", g.name),
                        _ => String::new(),
                    }
                )
            } else {
                format!("the pools can open at most {need} connections, within the database's {max_conn}")
            },
            arithmetic,
            need <= max_conn,
        ));
        // Permanent connections at the initial size: open from the start.
        let permanent: u64 = cx
            .groups
            .iter()
            .map(|g| g.initial as u64 * g.pools_per_instance as u64 * p.config.permanent as u64)
            .sum();
        if permanent > max_conn {
            out.push(check(
                "pool-connections",
                Severity::Error,
                keys,
                format!(
                    "the pools' permanent connections at the initial instance count ({permanent}) already exceed the database's {max_conn}"
                ),
                format!(
                    "{} permanent × {} pool(s) at the initial size = {permanent} > {max_conn}",
                    p.config.permanent,
                    cx.groups
                        .iter()
                        .map(|g| g.initial as u64 * g.pools_per_instance as u64)
                        .sum::<u64>()
                ),
                false,
            ));
        }
    } else {
        let classes = cx.groups.iter().map(|g| g.pools_per_instance as u64).sum::<u64>();
        let need = limit * classes;
        keys.push("database.max_connections".into());
        out.push(check(
            "pool-connections",
            Severity::Warning,
            keys,
            if need > max_conn {
                format!("the shared pools can open {need} connections but the database accepts {max_conn}")
            } else {
                format!("the shared pools can open at most {need} connections, within the database's {max_conn}")
            },
            format!(
                "{} connections × {classes} shared pool(s) = {need} {} database.max_connections {max_conn}",
                pool_limit_text(sc),
                if need > max_conn { ">" } else { "≤" }
            ),
            need <= max_conn,
        ));
    }
}

/// `tier-connections`: a tier's per-tenant connection cap against the
/// pool it draws from and the database.
pub fn tier_connections(cx: &Context, out: &mut Vec<Check>) {
    let sc = cx.sc;
    let Some(p) = &sc.pool else { return };
    for (i, t) in sc.tiers.iter().enumerate() {
        let Some(m) = t.max_connections else { continue };
        let mut keys = vec![format!("tier.{i}.max_connections")];
        keys.extend(pool_limit_keys(sc));
        let ok = m <= p.config.limit;
        out.push(check(
            "tier-connections",
            Severity::Warning,
            keys,
            if ok {
                format!(
                    "tier `{}` caps a tenant at {m} connections, within the pool's {}",
                    t.name, p.config.limit
                )
            } else {
                format!(
                    "tier `{}` allows {m} connections per tenant but its pool holds at most {}: the cap never binds",
                    t.name, p.config.limit
                )
            },
            format!(
                "tier.{i}.max_connections {m} {} pool limit {} = {}",
                if ok { "≤" } else { ">" },
                pool_limit_text(sc),
                p.config.limit
            ),
            ok,
        ));
        if let Some(db) = &sc.database {
            if m > db.max_connections {
                out.push(check(
                    "tier-connections",
                    Severity::Warning,
                    vec![format!("tier.{i}.max_connections"), "database.max_connections".into()],
                    format!(
                        "tier `{}` allows {m} connections per tenant but the database accepts {} in all",
                        t.name, db.max_connections
                    ),
                    format!("{m} > database.max_connections {}", db.max_connections),
                    false,
                ));
            }
        }
    }
}

/// `tier-memory`: a tier's memory quota (which caps a tenant's requests in
/// flight at quota / memory_per_request_mb) against an instance's memory.
pub fn tier_memory(cx: &Context, out: &mut Vec<Check>) {
    let sc = cx.sc;
    let i = &sc.instance;
    for (k, t) in sc.tiers.iter().enumerate() {
        let Some(q) = t.memory_mb else { continue };
        if i.memory_per_request_mb <= 0.0 {
            out.push(check(
                "tier-memory",
                Severity::Warning,
                vec![format!("tier.{k}.memory_mb"), "instance.memory_per_request_mb".into()],
                format!(
                    "tier `{}` has a memory quota of {} MB but requests use no memory (instance.memory_per_request_mb = 0): the quota has no effect",
                    t.name,
                    n(q)
                ),
                format!("{} MB / 0 MB per request = no cap", n(q)),
                false,
            ));
            continue;
        }
        let free = i.memory_mb - i.base_memory_mb;
        let cap = (q / i.memory_per_request_mb).floor();
        let ok = q <= free;
        out.push(check(
            "tier-memory",
            Severity::Warning,
            vec![
                format!("tier.{k}.memory_mb"),
                "instance.memory_mb".into(),
                "instance.base_memory_mb".into(),
                "instance.memory_per_request_mb".into(),
            ],
            if ok {
                format!(
                    "tier `{}`'s quota ({} MB, {} requests in flight) fits in an instance's free memory",
                    t.name,
                    n(q),
                    n(cap)
                )
            } else {
                format!(
                    "tier `{}`'s memory quota ({} MB) is more than an instance has free ({} MB): one tenant's requests can fill an instance's memory before the quota binds",
                    t.name,
                    n(q),
                    n(free)
                )
            },
            format!(
                "quota {} MB = {} requests × {} MB {} instance.memory_mb {} − base_memory_mb {} = {} MB",
                n(q),
                n(cap),
                n(i.memory_per_request_mb),
                if ok { "≤" } else { ">" },
                n(i.memory_mb),
                n(i.base_memory_mb),
                n(free)
            ),
            ok,
        ));
    }
}

/// `instance-memory`: the memory of an instance with every worker busy and
/// its queue full, against its memory. A warning when `[memory]` kills
/// instances that cross it, an info otherwise.
pub fn instance_memory(cx: &Context, out: &mut Vec<Check>) {
    let i = &cx.sc.instance;
    if i.memory_per_request_mb <= 0.0 {
        return;
    }
    let bounded = i.queue_capacity != u32::MAX;
    let held = i.workers as f64 + if bounded { i.queue_capacity as f64 } else { 0.0 };
    let most = i.base_memory_mb + i.memory_per_request_mb * held;
    let ok = most <= i.memory_mb;
    let oom = cx.sc.memory.as_ref().is_some_and(|m| m.oom_kill);
    let mut keys = vec![
        "instance.base_memory_mb".into(),
        "instance.memory_per_request_mb".into(),
        "instance.workers".into(),
    ];
    if bounded {
        keys.push("instance.queue_capacity".into());
    }
    keys.push("instance.memory_mb".into());
    out.push(check(
        "instance-memory",
        if oom { Severity::Warning } else { Severity::Info },
        keys,
        if ok {
            "an instance's memory holds its base and every request it can hold".into()
        } else {
            format!(
                "a full instance needs {} MB but has {} MB{}",
                n(most),
                n(i.memory_mb),
                if oom {
                    ": with [memory] oom_kill it is killed before its queue fills"
                } else {
                    ": memory utilization goes above 1 under overload"
                }
            )
        },
        format!(
            "base {} MB + {} MB × ({} workers{}) = {} MB {} instance.memory_mb {}",
            n(i.base_memory_mb),
            n(i.memory_per_request_mb),
            i.workers,
            if bounded {
                format!(" + {} queued", i.queue_capacity)
            } else {
                ", unbounded queue not counted".into()
            },
            n(most),
            if ok { "≤" } else { ">" },
            n(i.memory_mb)
        ),
        ok,
    ));
}

/// `timeout-order`: a query or a pool wait that outlives the client's
/// request timeout keeps a connection and database time for a request
/// nobody waits for any more.
pub fn timeout_order(cx: &Context, out: &mut Vec<Check>) {
    let sc = cx.sc;
    for e in sc.endpoints.iter().filter(|e| e.db_queries > 0) {
        let Some(rt) = e.timeout else { continue };
        let rt_s = rt.as_secs_f64();
        for (i, t) in sc.tiers.iter().enumerate() {
            let Some(qt) = t.query_timeout else { continue };
            let qt_s = qt.as_secs_f64();
            let ok = qt_s <= rt_s;
            out.push(check(
                "timeout-order",
                Severity::Warning,
                vec![format!("tier.{i}.query_timeout"), format!("endpoint.{}.timeout", e.name)],
                if ok {
                    format!(
                        "tier `{}`'s queries are aborted before `{}` requests time out",
                        t.name, e.name
                    )
                } else {
                    format!(
                        "tier `{}`'s query_timeout is longer than endpoint `{}`'s request timeout: a query the client gave up on keeps its connection for up to {} more",
                        t.name,
                        e.name,
                        d(qt_s - rt_s)
                    )
                },
                format!(
                    "query_timeout {} {} request timeout {}",
                    d(qt_s),
                    if ok { "≤" } else { ">" },
                    d(rt_s)
                ),
                ok,
            ));
        }
        if let Some(p) = &sc.pool {
            let pt = p.config.timeout.as_secs_f64();
            if pt > rt_s {
                out.push(check(
                    "timeout-order",
                    Severity::Warning,
                    vec!["pool.timeout".into(), format!("endpoint.{}.timeout", e.name)],
                    format!(
                        "the pool's timeout is longer than endpoint `{}`'s request timeout: a request keeps waiting for a connection after its client gave up",
                        e.name
                    ),
                    format!("pool.timeout {} > request timeout {}", d(pt), d(rt_s)),
                    false,
                ));
            }
        }
    }
}

/// `unused-tier`: a `[[tier]]` no workload names sends no request, yet
/// appears in every per-tier output with zeros (and a dedicated one still
/// runs, and costs, its instances) — usually a typo in a workload's `tier`
/// or a tier left over from an edit.
pub fn unused_tier(cx: &Context, out: &mut Vec<Check>) {
    let sc = cx.sc;
    for (i, t) in sc.tiers.iter().enumerate() {
        let users: Vec<&str> = sc
            .workloads
            .iter()
            .filter(|w| w.tier == i)
            .map(|w| w.name.as_str())
            .collect();
        let used = !users.is_empty();
        out.push(check(
            "unused-tier",
            Severity::Warning,
            vec![format!("tier.{i}")],
            if used {
                format!("tier `{}` is used by {}", t.name, users.join(", "))
            } else {
                format!(
                    "tier `{}` has no workload: it sends nothing and appears in the output with zeros; give a workload tier = \"{}\" or remove the tier",
                    t.name, t.name
                )
            },
            format!(
                "workloads with tier = \"{}\": {} of {}",
                t.name,
                users.len(),
                sc.workloads.len()
            ),
            used,
        ));
    }
}
