//! From the merged raw scenario to a validated [`Scenario`]: defaults,
//! required keys, ranges, cross-references, and warnings.

use super::error::{did_you_mean, ScenarioError};
use super::raw::Duration;
use super::source::{display_path, parse_path, Sources};
use super::units::parse_duration_secs;
use super::*;
use crate::metrics::names::{self, Better, Needs, Unit};

struct Ctx<'a> {
    sources: &'a Sources,
}

impl Ctx<'_> {
    /// An error about `key` (dotted, numbers index lists), located in the
    /// file that sets it.
    fn err(&self, key: &str, msg: impl Into<String>) -> ScenarioError {
        let segs = parse_path(key);
        self.sources
            .locate_error(ScenarioError::at_key(display_path(&segs), msg), &segs)
    }
}

fn secs(d: Duration) -> SimTime {
    SimTime::from_secs_f64(d.0)
}

pub(super) fn resolve(mut sources: Sources, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    for o in overrides {
        sources.apply_set(o)?;
    }
    // Types and ranges, with the key and the --set that put a value there.
    let raw = sources.raw()?;
    let cx = Ctx { sources: &sources };
    let top = sources.files.first().map(|f| f.path.clone()).unwrap_or_default();
    let mut warnings = Vec::new();

    // [simulation]
    let sim = raw.simulation.clone().unwrap_or_default();
    let duration = sim.duration.map(secs).unwrap_or(SimTime::from_secs(3600));
    if duration == SimTime::ZERO {
        return Err(cx.err("simulation.duration", "must be longer than zero"));
    }
    let warmup = match sim.warmup {
        Some(w) => secs(w),
        None => SimTime::from_nanos(duration.as_nanos() / 10),
    };
    if warmup >= duration {
        return Err(cx.err(
            "simulation.warmup",
            format!("warm-up ({warmup}) must be shorter than the duration ({duration})"),
        ));
    }
    let sample_interval = sim.sample_interval.map(secs).unwrap_or(SimTime::from_secs(10));
    if sample_interval == SimTime::ZERO {
        return Err(cx.err("simulation.sample_interval", "must be longer than zero"));
    }
    let rows = duration.as_nanos() / sample_interval.as_nanos();
    if rows > 1_000_000 {
        return Err(cx.err(
            "simulation.sample_interval",
            format!("{rows} time-series rows per replication is too many (at most 1,000,000): use a longer interval"),
        ));
    }
    let replications = sim.replications.unwrap_or(5);
    if replications == 0 || replications > 10_000 {
        return Err(cx.err("simulation.replications", "must be between 1 and 10000"));
    }
    let mut simulation = Simulation {
        duration,
        warmup,
        seed: sim.seed.unwrap_or(1),
        replications,
        sample_interval,
        max_events: match sim.max_events {
            Some(0) => return Err(cx.err("simulation.max_events", "must be at least 1 event")),
            m => m,
        },
    };

    // [endpoint.*]
    let raw_endpoints = raw.endpoint.clone().unwrap_or_default();
    if raw_endpoints.is_empty() {
        return Err(ScenarioError::new(
            "no endpoints: add at least one, e.g.\n  [endpoint.read]\n  cpu = { dist = \"exponential\", mean = \"10ms\" }",
        )
        .in_file(&top));
    }
    let mut endpoints = Vec::new();
    for (name, e) in &raw_endpoints {
        let key = format!("endpoint.{name}");
        let stages = parse_stages(&cx, &key, e.stage.as_deref().unwrap_or_default())?;
        let cpu = match &e.cpu {
            Some(v) => parse_dist(&cx, &format!("{key}.cpu"), v)?,
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
            Some(v) => Some(parse_dist(&cx, &format!("{key}.query"), v)?),
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
    let endpoint_names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();

    // [[tier]]
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

    // [[workload]]
    let raw_workloads = raw.workload.clone().unwrap_or_default();
    if raw_workloads.is_empty() {
        return Err(ScenarioError::new(
            "no workloads: add a [[workload]] with `tenants` and an `arrival`, e.g.\n  [[workload]]\n  tenants = 10\n  arrival = { process = \"poisson\", rate_per_s = 5.0 }",
        )
        .in_file(&top));
    }
    if tiers.is_empty() {
        tiers.push(Tier {
            name: "default".into(),
            rate_limit: None,
            max_concurrency: None,
            max_connections: None,
            query_timeout: None,
            memory_mb: None,
            isolation: Isolation::Shared,
            priority: 0,
            instances: None,
        });
    }
    let tier_names: Vec<String> = tiers.iter().map(|t| t.name.clone()).collect();
    let mut workloads = Vec::new();
    for (i, w) in raw_workloads.iter().enumerate() {
        let key = format!("workload.{i}");
        let tier = match &w.tier {
            Some(t) => tier_names.iter().position(|n| n == t).ok_or_else(|| {
                let hint = did_you_mean(t, tier_names.iter().map(|s| s.as_str()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                cx.err(
                    &format!("{key}.tier"),
                    format!("no tier named `{t}` (tiers: {}){hint}", tier_names.join(", ")),
                )
            })?,
            None if tiers.len() == 1 => 0,
            None => {
                return Err(cx.err(
                    &key,
                    format!(
                        "`tier` is required when there are several tiers ({})",
                        tier_names.join(", ")
                    ),
                ))
            }
        };
        let tenants = w.tenants.unwrap_or(1);
        if tenants == 0 {
            return Err(cx.err(&format!("{key}.tenants"), "must be at least 1"));
        }
        if tenants > 10_000_000 {
            return Err(cx.err(
                &format!("{key}.tenants"),
                format!("{tenants} tenants is more than the 10,000,000 supported"),
            ));
        }
        let mix = match &w.mix {
            None if endpoints.len() == 1 => vec![(0, 1.0)],
            None => {
                return Err(cx.err(
                    &key,
                    format!(
                        "`mix` is required with several endpoints, e.g. mix = {{ {} }}",
                        endpoint_names
                            .iter()
                            .map(|n| format!("{n} = 1.0"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
            Some(m) => {
                let mut total = 0.0;
                let mut out = Vec::new();
                for (name, weight) in m {
                    let idx = endpoint_names.iter().position(|n| n == name).ok_or_else(|| {
                        let hint = did_you_mean(name, endpoint_names.iter().copied())
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        cx.err(
                            &format!("{key}.mix.{name}"),
                            format!(
                                "no endpoint named `{name}` (endpoints: {}){hint}",
                                endpoint_names.join(", ")
                            ),
                        )
                    })?;
                    if !(weight.is_finite() && *weight >= 0.0) {
                        return Err(cx.err(&format!("{key}.mix.{name}"), "a mix weight must be zero or positive"));
                    }
                    total += weight;
                    out.push((idx, *weight));
                }
                if total.is_nan() || total <= 0.0 {
                    return Err(cx.err(&format!("{key}.mix"), "mix weights must sum to a positive number"));
                }
                let mut acc = 0.0;
                let mut cum: Vec<(usize, f64)> = out
                    .into_iter()
                    .filter(|(_, w)| *w > 0.0)
                    .map(|(i, w)| {
                        acc += w / total;
                        (i, acc)
                    })
                    .collect();
                if let Some(last) = cum.last_mut() {
                    last.1 = 1.0;
                }
                cum
            }
        };
        let arrival = match &w.arrival {
            Some(a) => parse_arrival(
                &cx,
                &format!("{key}.arrival"),
                a,
                tenants,
                &endpoint_names,
                &tier_names[tier],
            )?,
            None => {
                return Err(cx.err(
                    &key,
                    "missing `arrival`, e.g. arrival = { process = \"poisson\", rate_per_s = 1.0 } (per tenant)",
                ))
            }
        };
        let keys = match &w.keys {
            None => None,
            Some(k) => {
                let (items, zipf) = zipf_population(
                    &cx,
                    &format!("{key}.keys"),
                    ("items", "the number of distinct keys per tenant"),
                    k.items,
                    k.zipf,
                )?;
                Some(KeySpace {
                    items,
                    zipf,
                    shared: k.shared.unwrap_or(false),
                })
            }
        };
        let clients = match &w.clients {
            None => None,
            Some(c) => Some(parse_clients(&cx, &format!("{key}.clients"), c)?),
        };
        let sessions = match &w.sessions {
            None => None,
            Some(p) => Some(parse_session_population(&cx, &format!("{key}.sessions"), p, tenants)?),
        };
        let name = w.name.clone().unwrap_or_else(|| format!("{}-{i}", tier_names[tier]));
        // Output rows, plots and `--set` paths name workloads: two of one
        // name would be merged or confused silently.
        if let Some(j) = workloads.iter().position(|x: &Workload| x.name == name) {
            let at = if w.name.is_some() {
                format!("{key}.name")
            } else {
                key.clone()
            };
            return Err(cx.err(
                &at,
                format!(
                    "workload `{name}` is defined twice (workload.{j} and workload.{i} are both named `{name}`): give each [[workload]] a `name` of its own"
                ),
            ));
        }
        workloads.push(Workload {
            name,
            tier,
            tenants,
            arrival,
            mix,
            keys,
            clients,
            sessions,
        });
    }

    // A finite test measures from the start unless told otherwise: its
    // run ends with the test, which may be long before a default warm-up.
    if sim.warmup.is_none() && workloads.iter().any(|w| w.arrival.is_finite()) {
        simulation.warmup = SimTime::ZERO;
    }
    for (i, w) in workloads.iter().enumerate() {
        // A trace that starts after the run ends sends nothing: every
        // metric of the workload would be zero without saying why.
        if let Arrival::Trace { events, file } = &w.arrival {
            let (Some(first), Some(last)) = (events.first().map(|e| e.at), events.last().map(|e| e.at)) else {
                continue; // parse_trace refuses a trace without requests
            };
            if first >= simulation.duration {
                return Err(cx.err(
                    &format!("workload.{i}.arrival.file"),
                    format!(
                        "every request of the trace {} falls after the end of the run: its rows span {first} to {last} (after `speedup`), the run lasts {}; no request would arrive. Lengthen simulation.duration, raise the trace's `speedup`, or shift its time_s to start near 0",
                        file.display(),
                        simulation.duration
                    ),
                ));
            }
        }
        if let Arrival::Closed { stages, .. } = &w.arrival {
            if let Some(last) = stages.last() {
                if last.0 > simulation.duration {
                    warnings.push(format!(
                        "workload.{i}.arrival.stages last {} but the simulation ends at {}: the later stages are cut",
                        last.0, simulation.duration
                    ));
                }
            }
        }
    }

    // [instance]
    let ri = raw.instance.clone().ok_or_else(|| {
        ScenarioError::new("no [instance] table: say what serves the requests, e.g.\n  [instance]\n  cores = 2\n  workers = 2\n  initial = 1").in_file(&top)
    })?;
    let cores = ri.cores.unwrap_or(1);
    if cores == 0 {
        return Err(cx.err("instance.cores", "must be at least 1"));
    }
    let workers = ri.workers.unwrap_or(cores);
    if workers == 0 {
        return Err(cx.err("instance.workers", "must be at least 1"));
    }
    let queue_capacity = ri.queue_capacity.unwrap_or(u32::MAX);
    let initial = ri.initial.unwrap_or(1);
    if initial == 0 {
        return Err(cx.err(
            "instance.initial",
            "must be at least 1 (without an autoscaler nothing else starts instances)",
        ));
    }
    if initial > 100_000 {
        return Err(cx.err("instance.initial", "more than 100,000 instances is not supported"));
    }
    let nonneg = |key: &str, v: Option<f64>, default: f64| -> Result<f64, ScenarioError> {
        let v = v.unwrap_or(default);
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(cx.err(key, format!("must be zero or positive, got {v}")))
        }
    };
    let base_memory_mb = nonneg("instance.base_memory_mb", ri.base_memory_mb, 0.0)?;
    let memory_per_request_mb = nonneg("instance.memory_per_request_mb", ri.memory_per_request_mb, 0.0)?;
    let memory_mb = nonneg("instance.memory_mb", ri.memory_mb, 4096.0)?;
    if memory_mb == 0.0 {
        return Err(cx.err("instance.memory_mb", "must be positive"));
    }
    let cost_per_hour = nonneg("instance.cost_per_hour", ri.cost_per_hour, 0.0)?;
    let load_balancer = match &ri.load_balancer {
        None => Balancing::RoundRobin,
        Some(s) => Balancing::parse(s).ok_or_else(|| {
            cx.err(
                "instance.load_balancer",
                format!("`{s}` is not a load balancer; allowed: {}", Balancing::NAMES.join(", ")),
            )
        })?,
    };
    let instance = InstanceSpec {
        cores,
        workers,
        queue_capacity,
        base_memory_mb,
        memory_per_request_mb,
        memory_mb,
        startup: ri.startup.map(secs).unwrap_or(SimTime::ZERO),
        initial,
        cost_per_hour,
        load_balancer,
        drain_timeout: ri.drain_timeout.map(secs).unwrap_or(SimTime::from_secs(30)),
        scale_in: match ri.scale_in.as_deref() {
            None | Some("newest") => ScaleIn::Newest,
            Some("least-loaded") => ScaleIn::LeastLoaded,
            Some(o) => return Err(cx.err("instance.scale_in", format!("`{o}`: allowed: newest, least-loaded"))),
        },
    };
    if base_memory_mb > memory_mb {
        warnings.push(format!(
            "instance.base_memory_mb ({base_memory_mb}) exceeds instance.memory_mb ({memory_mb}): memory utilization will be above 1"
        ));
    }

    let autoscaler = match &raw.autoscaler {
        None => None,
        Some(t) => Some(parse_autoscaler(&cx, t, initial)?),
    };
    if let Some(a) = &autoscaler {
        if initial < a.min || initial > a.max {
            warnings.push(format!(
                "instance.initial ({initial}) is outside the autoscaler's [{}, {}]: it will be corrected at the first evaluation",
                a.min, a.max
            ));
        }
    }
    // [database], [pool], [cache], [retry]
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
                Some(r) => parse_replicas(&cx, r, cores, max_connections)?,
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
        Some(p) => Some(parse_pool(&cx, p)?),
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
    let cache = parse_cache(&cx, raw.cache.as_ref())?;
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
    let retry = match &raw.retry {
        None => None,
        Some(r) => Some(parse_retry(&cx, r)?),
    };
    let mut faults = Vec::new();
    for (i, t) in raw.fault.clone().unwrap_or_default().iter().enumerate() {
        faults.push(parse_fault(&cx, i, t, &endpoints)?);
    }
    if let Some(i) = faults
        .iter()
        .position(|f| matches!(f.kind, FaultKind::CacheSlowdown { .. }))
    {
        if cache.l2.is_none() {
            return Err(cx.err(
                &format!("fault.{i}.kind"),
                "a cache-slowdown slows L2 lookups: add a [cache.l2]",
            ));
        }
    }
    let shedding = match &raw.shedding {
        None => None,
        Some(t) => Some(parse_shedding(&cx, t)?),
    };
    let memory = match &raw.memory {
        None => None,
        Some(m) => Some(parse_memory(&cx, m, &instance, &cache)?),
    };
    let (rate_limits, limit_store) = parse_rate_limits(
        &cx,
        raw.rate_limit.as_deref().unwrap_or_default(),
        raw.rate_limit_store.as_ref(),
        &tier_names,
        &endpoint_names,
        &workloads,
        &mut warnings,
    )?;
    let background = parse_background(&cx, raw.background.as_deref().unwrap_or_default())?;
    let pauses = match &raw.pauses {
        None => None,
        Some(p) => Some(parse_pauses(&cx, p)?),
    };
    let sessions = match &raw.sessions {
        None => None,
        Some(r) => Some(parse_sessions(&cx, r)?),
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
    let rb = raw.breaker.clone().unwrap_or_default();
    let breakers = Breakers {
        database: match &rb.database {
            None => None,
            Some(b) => {
                if database.is_none() {
                    return Err(cx.err("breaker.database", "a database breaker needs a [database] to protect"));
                }
                let spec = parse_breaker(&cx, "breaker.database", b)?;
                if spec.fallback == Fallback::Stale && !cache.any() {
                    return Err(cx.err(
                        "breaker.database.fallback",
                        "`stale` serves cached copies: add a [cache.l1] or [cache.l2], or use fallback = \"fail_fast\"",
                    ));
                }
                Some(spec)
            }
        },
        cache: match &rb.cache {
            None => None,
            Some(b) => {
                if cache.l2.is_none() {
                    return Err(cx.err(
                        "breaker.cache",
                        "a cache breaker protects the shared L2: add a [cache.l2]",
                    ));
                }
                let spec = parse_breaker(&cx, "breaker.cache", b)?;
                if spec.fallback == Fallback::Stale {
                    return Err(cx.err(
                        "breaker.cache.fallback",
                        "an open cache breaker sends reads on to the database; `stale` is a database-breaker fallback (allowed here: fail_fast)",
                    ));
                }
                if spec.slow_call.is_none() {
                    return Err(cx.err(
                        "breaker.cache",
                        "a cache breaker needs `slow_call`, the L2 latency above which a lookup counts as failed (L2 lookups fail in no other way here), e.g. slow_call = \"50ms\"",
                    ));
                }
                Some(spec)
            }
        },
    };

    // [slo]
    let components = Components {
        pool: pool.is_some(),
        database: database.is_some(),
        cache: cache.any(),
        finite: workloads.iter().any(|w| w.arrival.is_finite()),
        db_breaker: breakers.database.is_some(),
        cache_breaker: breakers.cache.is_some(),
        shedding: shedding.is_some() || memory.as_ref().is_some_and(|m| m.sheds()),
        memory: memory.is_some(),
        background: !background.is_empty(),
        pauses: pauses.is_some(),
        stages: endpoints.iter().any(|e| !e.stages.is_empty()),
        limiters: !rate_limits.is_empty(),
        limit_store: limit_store.is_some(),
        replicas: database.as_ref().is_some_and(|d| d.replicas.is_some()),
        sessions: sessions.is_some(),
        gc: memory.as_ref().is_some_and(|m| m.has_gc()),
    };
    let claims = parse_claims(
        &cx,
        raw.claim.as_deref().unwrap_or(&[]),
        &tier_names,
        components,
        &endpoints,
        &workloads,
    )?;
    let mut slo = parse_slo(&cx, raw.slo.as_ref(), &tier_names, components)?;
    slo.extend(parse_stage_slo(&cx, raw.slo.as_ref(), &endpoints)?);

    let scenario = Scenario {
        name: raw.name.clone().unwrap_or_else(|| {
            top.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        }),
        description: raw.description.clone().unwrap_or_default(),
        path: top,
        simulation,
        tiers,
        workloads,
        endpoints,
        instance,
        pool,
        database,
        cache,
        retry,
        breakers,
        shedding,
        memory,
        background,
        pauses,
        rate_limits,
        limit_store,
        sessions,
        autoscaler,
        faults,
        slo,
        claims,
        warnings,
    };
    Ok(scenario)
}

fn num(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Check a ratio, utilization, fraction or probability: it lies in
/// [0, 1] (or (0, 1] when `above_zero`). The commonest mistake is a
/// percentage (70 for 0.7), which is accepted by the arithmetic and gives
/// wrong numbers silently (a CPU target of 70 is never reached), so every
/// such key is refused with the same message, naming the fix.
fn ratio(cx: &Ctx, key: &str, what: &str, v: f64, above_zero: bool) -> Result<f64, ScenarioError> {
    let low_ok = if above_zero { v > 0.0 } else { v >= 0.0 };
    if v.is_finite() && low_ok && v <= 1.0 {
        return Ok(v);
    }
    Err(cx.err(key, ratio_message(what, v, above_zero)))
}

/// The message of [`ratio`]: what the key is, its range, and the
/// percentage rewritten as a ratio when the value looks like one.
fn ratio_message(what: &str, v: f64, above_zero: bool) -> String {
    if above_zero && v <= 0.0 {
        return format!("{what} is a ratio above 0 and at most 1, got {v}");
    }
    let example = if v > 1.0 && v <= 100.0 {
        format!("write {} for {v} %", v / 100.0)
    } else {
        "write 0.7 for 70 %".to_string()
    };
    format!("{what} is a ratio between 0 and 1 (not a percentage): {example}, got {v}")
}

/// Read the keys of an inline table, refusing any not in `allowed`.
struct Fields<'a, 'c> {
    cx: &'a Ctx<'c>,
    key: &'a str,
    t: &'a toml::Table,
}

impl Fields<'_, '_> {
    fn check_keys(&self, allowed: &[&str], what: &str) -> Result<(), ScenarioError> {
        for k in self.t.keys() {
            if !allowed.contains(&k.as_str()) {
                let hint = did_you_mean(k, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(self.cx.err(
                    &format!("{}.{k}", self.key),
                    format!("unknown key `{k}` for {what}; allowed: {}{hint}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }
    fn path(&self, k: &str) -> String {
        format!("{}.{k}", self.key)
    }
    fn opt_num(&self, k: &str) -> Result<Option<f64>, ScenarioError> {
        match self.t.get(k) {
            None => Ok(None),
            Some(v) => num(v)
                .map(Some)
                .ok_or_else(|| self.cx.err(&self.path(k), format!("must be a number, got {v}"))),
        }
    }
    fn positive(&self, k: &str) -> Result<f64, ScenarioError> {
        let v = self
            .opt_num(k)?
            .ok_or_else(|| self.cx.err(self.key, format!("missing `{k}`")))?;
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self
                .cx
                .err(&self.path(k), format!("must be a positive number, got {v}")))
        }
    }
    fn nonneg(&self, k: &str) -> Result<f64, ScenarioError> {
        let v = self
            .opt_num(k)?
            .ok_or_else(|| self.cx.err(self.key, format!("missing `{k}`")))?;
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.cx.err(&self.path(k), format!("must be zero or positive, got {v}")))
        }
    }
    fn opt_dur(&self, k: &str) -> Result<Option<f64>, ScenarioError> {
        match self.t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => parse_duration_secs(s)
                .map(Some)
                .map_err(|m| self.cx.err(&self.path(k), m)),
            Some(v) => Err(self.cx.err(
                &self.path(k),
                format!("must be a duration string with a unit, e.g. \"30s\", got {v}"),
            )),
        }
    }
    fn dur(&self, k: &str) -> Result<f64, ScenarioError> {
        self.opt_dur(k)?.ok_or_else(|| {
            self.cx
                .err(self.key, format!("missing `{k}` (a duration such as \"30s\")"))
        })
    }
    fn str(&self, k: &str) -> Result<Option<&str>, ScenarioError> {
        match self.t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.cx.err(&self.path(k), format!("must be a string, got {v}"))),
        }
    }
}

const DISTS: &[&str] = &[
    "exponential",
    "deterministic",
    "lognormal",
    "gamma",
    "weibull",
    "pareto",
    "uniform",
    "empirical",
];

/// A distribution: a duration string (always that value) or a table such as
/// `{ dist = "lognormal", mean = "4ms", cv = 1.0 }`.
fn parse_dist(cx: &Ctx, key: &str, v: &toml::Value) -> Result<Dist, ScenarioError> {
    let t = match v {
        toml::Value::String(s) => {
            let x = parse_duration_secs(s).map_err(|m| cx.err(key, m))?;
            return Dist::deterministic(x).map_err(|m| cx.err(key, m));
        }
        toml::Value::Table(t) => t,
        other => {
            return Err(cx.err(
                key,
                format!("expected a duration (\"5ms\") or a table such as {{ dist = \"exponential\", mean = \"5ms\" }}, got {other}"),
            ))
        }
    };
    let f = Fields { cx, key, t };
    let kind = f
        .str("dist")?
        .ok_or_else(|| cx.err(key, format!("missing `dist`; allowed: {}", DISTS.join(", "))))?;
    let d = match kind {
        "exponential" => {
            f.check_keys(&["dist", "mean"], "an exponential distribution")?;
            Dist::exponential(f.dur("mean")?)
        }
        "deterministic" => {
            f.check_keys(&["dist", "value", "mean"], "a deterministic distribution")?;
            let v = match f.opt_dur("value")? {
                Some(v) => v,
                None => f.dur("mean")?,
            };
            Dist::deterministic(v)
        }
        "lognormal" => {
            f.check_keys(
                &["dist", "mean", "cv"],
                "a lognormal distribution (mean and coefficient of variation)",
            )?;
            Dist::lognormal(f.dur("mean")?, f.positive("cv")?)
        }
        "gamma" => {
            f.check_keys(
                &["dist", "mean", "cv"],
                "a gamma distribution (mean and coefficient of variation)",
            )?;
            Dist::gamma(f.dur("mean")?, f.positive("cv")?)
        }
        "weibull" => {
            f.check_keys(
                &["dist", "shape", "scale", "mean"],
                "a Weibull distribution (shape, and scale or mean)",
            )?;
            let shape = f.positive("shape")?;
            match (f.opt_dur("scale")?, f.opt_dur("mean")?) {
                (Some(s), None) => Dist::weibull(shape, s),
                (None, Some(m)) => Dist::weibull_with_mean(shape, m),
                _ => return Err(cx.err(key, "a Weibull distribution needs exactly one of `scale` or `mean`")),
            }
        }
        "pareto" => {
            f.check_keys(
                &["dist", "alpha", "scale", "mean"],
                "a Pareto distribution (alpha, and scale or mean)",
            )?;
            let alpha = f.positive("alpha")?;
            match (f.opt_dur("scale")?, f.opt_dur("mean")?) {
                (Some(s), None) => Dist::pareto(s, alpha),
                (None, Some(m)) => Dist::pareto_with_mean(m, alpha),
                _ => return Err(cx.err(key, "a Pareto distribution needs exactly one of `scale` or `mean`")),
            }
        }
        "uniform" => {
            f.check_keys(&["dist", "min", "max"], "a uniform distribution")?;
            Dist::uniform(f.dur("min")?, f.dur("max")?)
        }
        "empirical" => {
            f.check_keys(&["dist", "values"], "an empirical distribution (a list of durations)")?;
            let vals = t.get("values").and_then(|v| v.as_array()).ok_or_else(|| {
                cx.err(
                    key,
                    "missing `values`, a list of durations, e.g. values = [\"2ms\", \"3ms\", \"40ms\"]",
                )
            })?;
            let mut xs = Vec::with_capacity(vals.len());
            for (i, v) in vals.iter().enumerate() {
                let k = format!("{key}.values.{i}");
                let s = v
                    .as_str()
                    .ok_or_else(|| cx.err(&k, "must be a duration string such as \"3ms\""))?;
                xs.push(parse_duration_secs(s).map_err(|m| cx.err(&k, m))?);
            }
            Dist::empirical(xs)
        }
        other => {
            let hint = did_you_mean(other, DISTS.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                &format!("{key}.dist"),
                format!("unknown distribution `{other}`; allowed: {}{hint}", DISTS.join(", ")),
            ));
        }
    };
    d.map_err(|m| cx.err(key, m))
}

/// The most arrivals per second one generated stream (a workload's open
/// arrivals, its session openings, an instance's pauses or messages) may
/// have. The clock ticks in nanoseconds ([`SimTime`]) and each stream is
/// drawn as gaps rounded to the tick, so a gap moves by up to half a tick.
/// At 1,000,000/s the mean gap is 1 µs = 1000 ticks: a gap moves by at most
/// 0.05 % and the mean gap (so the rate) by about 1/(24·1000²) of itself.
/// Far above it the gaps round to zero: 10¹⁰/s gave 15× the arrivals
/// asked for, and a run that seemed to hang.
const MAX_STREAM_RATE_PER_S: f64 = 1e6;

/// Refuse a stream of `rate` per second per unit × `units` whose mean gap
/// is below [`MAX_STREAM_RATE_PER_S`]'s 1000 ticks. `per` names the unit
/// ("tenant"), `stream` what arrives ("arrivals").
fn check_stream_rate(cx: &Ctx, key: &str, rate: f64, units: u32, per: &str, stream: &str) -> Result<(), ScenarioError> {
    let total = rate * units as f64;
    if total <= MAX_STREAM_RATE_PER_S {
        return Ok(());
    }
    let of = if units == 1 {
        format!("{rate} {stream}/s")
    } else {
        format!("{rate}/s per {per} × {units} {per}s = {total} {stream}/s")
    };
    Err(cx.err(
        key,
        format!(
            "{of}, {:.3} ns apart on average: the clock ticks in nanoseconds and rounding each gap to the tick would change the rate; at most 1,000,000 {stream}/s (1000 ticks apart on average, rounding moves a gap by at most 0.05 %) is simulated faithfully: lower the rate{}",
            1e9 / total,
            if units == 1 { String::new() } else { format!(" or the number of {per}s") }
        ),
    ))
}

const PROCESSES: &[&str] = &[
    "poisson",
    "deterministic",
    "diurnal",
    "steps",
    "mmpp",
    "closed",
    "trace",
];

fn parse_arrival(
    cx: &Ctx,
    key: &str,
    t: &toml::Table,
    tenants: u32,
    endpoint_names: &[&str],
    tier_name: &str,
) -> Result<Arrival, ScenarioError> {
    let f = Fields { cx, key, t };
    let process = f
        .str("process")?
        .ok_or_else(|| cx.err(key, format!("missing `process`; allowed: {}", PROCESSES.join(", "))))?;
    // Open processes draw the whole workload's arrivals as one stream of
    // rate × tenants (crate::model::workload), so that is what the clock
    // must resolve.
    let fine = |k: &str, rate: f64| check_stream_rate(cx, k, rate, tenants, "tenant", "arrivals");
    Ok(match process {
        "poisson" => {
            f.check_keys(&["process", "rate_per_s"], "a poisson arrival process")?;
            let rate_per_s = f.positive("rate_per_s")?;
            fine(&f.path("rate_per_s"), rate_per_s)?;
            Arrival::Poisson { rate_per_s }
        }
        "deterministic" => {
            f.check_keys(&["process", "rate_per_s"], "a deterministic arrival process")?;
            let rate_per_s = f.positive("rate_per_s")?;
            fine(&f.path("rate_per_s"), rate_per_s)?;
            Arrival::Deterministic { rate_per_s }
        }
        "diurnal" => {
            f.check_keys(
                &["process", "peak_rate_per_s", "trough_rate_per_s", "period", "peak_at"],
                "a diurnal arrival process",
            )?;
            let peak = f.positive("peak_rate_per_s")?;
            fine(&f.path("peak_rate_per_s"), peak)?;
            let trough = f.nonneg("trough_rate_per_s")?;
            if trough > peak {
                return Err(cx.err(
                    &f.path("trough_rate_per_s"),
                    format!("trough ({trough}/s) is above peak ({peak}/s)"),
                ));
            }
            let period = f.opt_dur("period")?.unwrap_or(86400.0);
            if period <= 0.0 {
                return Err(cx.err(&f.path("period"), "must be longer than zero"));
            }
            let peak_at = f.opt_dur("peak_at")?.unwrap_or(period / 2.0);
            Arrival::Diurnal {
                peak_rate_per_s: peak,
                trough_rate_per_s: trough,
                period: SimTime::from_secs_f64(period),
                peak_at: SimTime::from_secs_f64(peak_at),
            }
        }
        "steps" => {
            f.check_keys(&["process", "steps", "spacing"], "a steps arrival process")?;
            let arr = t.get("steps").and_then(|v| v.as_array()).ok_or_else(|| {
                cx.err(key, "missing `steps`, e.g. steps = [[\"0s\", 60.0], [\"10m\", 120.0]] (time from which a per-tenant rate applies)")
            })?;
            let mut steps: Vec<(SimTime, f64)> = Vec::new();
            for (i, s) in arr.iter().enumerate() {
                let k = format!("{key}.steps.{i}");
                let pair = s
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| cx.err(&k, "each step is [\"time\", rate_per_s]"))?;
                let at = pair[0]
                    .as_str()
                    .ok_or_else(|| cx.err(&k, "a step's first element is a duration string such as \"10m\""))?;
                let at = parse_duration_secs(at).map_err(|m| cx.err(&k, m))?;
                let rate = num(&pair[1])
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .ok_or_else(|| cx.err(&k, "a step's rate must be a number ≥ 0"))?;
                fine(&k, rate)?;
                let at = SimTime::from_secs_f64(at);
                if let Some(prev) = steps.last() {
                    if at <= prev.0 {
                        return Err(cx.err(&k, "step times must increase"));
                    }
                }
                steps.push((at, rate));
            }
            if steps.is_empty() {
                return Err(cx.err(key, "`steps` is empty"));
            }
            if steps[0].0 != SimTime::ZERO {
                steps.insert(0, (SimTime::ZERO, 0.0));
            }
            let exponential = match f.str("spacing")? {
                None | Some("exponential") => true,
                Some("deterministic") => false,
                Some(o) => {
                    return Err(cx.err(
                        &f.path("spacing"),
                        format!("`{o}`: allowed spacings are exponential, deterministic"),
                    ))
                }
            };
            Arrival::Steps { steps, exponential }
        }
        "mmpp" => {
            f.check_keys(
                &[
                    "process",
                    "rate_per_s",
                    "burst_rate_per_s",
                    "normal_duration",
                    "burst_duration",
                ],
                "an mmpp (bursty) arrival process",
            )?;
            let nd = f.dur("normal_duration")?;
            let bd = f.dur("burst_duration")?;
            if nd <= 0.0 || bd <= 0.0 {
                return Err(cx.err(key, "normal_duration and burst_duration must be longer than zero"));
            }
            let (rate_per_s, burst_rate_per_s) = (f.nonneg("rate_per_s")?, f.positive("burst_rate_per_s")?);
            fine(&f.path("rate_per_s"), rate_per_s)?;
            fine(&f.path("burst_rate_per_s"), burst_rate_per_s)?;
            Arrival::Mmpp {
                rate_per_s,
                burst_rate_per_s,
                normal_duration: SimTime::from_secs_f64(nd),
                burst_duration: SimTime::from_secs_f64(bd),
            }
        }
        "closed" => {
            f.check_keys(
                &["process", "users", "think_time", "stages", "requests_per_user"],
                "a closed workload (users per tenant, think_time, stages, requests_per_user)",
            )?;
            let whole = |k: &str, v: f64, allow_zero: bool| -> Result<u32, ScenarioError> {
                if !v.is_finite() || v.fract() != 0.0 || !(0.0..=1e6).contains(&v) || (!allow_zero && v == 0.0) {
                    let least = if allow_zero { 0 } else { 1 };
                    return Err(cx.err(
                        k,
                        format!("must be a whole number of users per tenant between {least} and 1,000,000, got {v}"),
                    ));
                }
                Ok(v as u32)
            };
            // k6-style stages: [duration of the stage, users per tenant at its end].
            let mut stages: Vec<(SimTime, u32)> = Vec::new();
            if let Some(v) = t.get("stages") {
                let k = f.path("stages");
                let arr = v.as_array().ok_or_else(|| {
                    cx.err(&k, "must be a list of [\"duration\", users] pairs, e.g. stages = [[\"2m\", 100], [\"5m\", 100], [\"2m\", 0]]")
                })?;
                if arr.is_empty() {
                    return Err(cx.err(&k, "`stages` is empty: leave it out for a constant number of users"));
                }
                let mut at = SimTime::ZERO;
                for (i, s) in arr.iter().enumerate() {
                    let ki = format!("{k}.{i}");
                    let pair = s
                        .as_array()
                        .filter(|p| p.len() == 2)
                        .ok_or_else(|| cx.err(&ki, "each stage is [\"duration\", users]: ramp linearly to `users` (per tenant) over `duration`"))?;
                    let d = pair[0].as_str().ok_or_else(|| {
                        cx.err(&ki, "a stage's first element is its duration, a string such as \"2m\"")
                    })?;
                    let d = parse_duration_secs(d).map_err(|m| cx.err(&ki, m))?;
                    let target = num(&pair[1])
                        .ok_or_else(|| cx.err(&ki, "a stage's second element is a number of users per tenant"))?;
                    at += SimTime::from_secs_f64(d);
                    stages.push((at, whole(&ki, target, true)?));
                }
            }
            let users = match f.opt_num("users")? {
                Some(u) => whole(&f.path("users"), u, !stages.is_empty())?,
                // A ramp starts from zero users unless told otherwise (k6's startVUs).
                None if !stages.is_empty() => 0,
                None => return Err(cx.err(key, "missing `users` (concurrent users per tenant)")),
            };
            if !stages.is_empty() {
                stages.insert(0, (SimTime::ZERO, users));
            }
            let most = stages.iter().map(|s| s.1).fold(users, u32::max);
            if most == 0 {
                return Err(cx.err(
                    &f.path("stages"),
                    "no stage has any users: the workload would send nothing",
                ));
            }
            if (most as u64) * tenants as u64 > 10_000_000 {
                return Err(cx.err(
                    &f.path(if stages.is_empty() { "users" } else { "stages" }),
                    "more than 10,000,000 users in one workload is not supported",
                ));
            }
            let requests_per_user = match f.opt_num("requests_per_user")? {
                None => None,
                Some(m) if m.is_finite() && m.fract() == 0.0 && (1.0..=1e9).contains(&m) => Some(m as u32),
                Some(m) => {
                    return Err(cx.err(
                        &f.path("requests_per_user"),
                        format!("must be a whole number of requests between 1 and 1,000,000,000, got {m}"),
                    ))
                }
            };
            if requests_per_user.is_some() && !stages.is_empty() {
                return Err(cx.err(
                    &f.path("requests_per_user"),
                    "a finite test (requests_per_user) runs every user to its last request, so it cannot also ramp with `stages`: use one or the other",
                ));
            }
            let think = match t.get("think_time") {
                Some(toml::Value::String(s)) => {
                    // A bare duration is the mean of an exponential think time.
                    let m = parse_duration_secs(s).map_err(|m| cx.err(&f.path("think_time"), m))?;
                    if m == 0.0 {
                        Dist::deterministic(0.0)
                    } else {
                        Dist::exponential(m)
                    }
                    .map_err(|m| cx.err(&f.path("think_time"), m))?
                }
                Some(v) => parse_dist(cx, &f.path("think_time"), v)?,
                None => {
                    return Err(cx.err(
                        key,
                        "missing `think_time` (mean of an exponential, e.g. \"1s\", or a distribution table)",
                    ))
                }
            };
            Arrival::Closed {
                users,
                think,
                stages,
                requests_per_user,
            }
        }
        "trace" => {
            f.check_keys(
                &["process", "file", "speedup", "rate_multiplier", "select_tenants"],
                "a trace arrival process (a CSV file)",
            )?;
            let file = f.str("file")?.ok_or_else(|| {
                cx.err(
                    key,
                    "missing `file`: a CSV with a header `time_s[,tenant][,tenant_id][,tier][,endpoint]`",
                )
            })?;
            // Relative to the file that names it.
            let segs = parse_path(&f.path("file"));
            let base = cx
                .sources
                .files
                .iter()
                .find(|sf| super::source::locate(&sf.text, &segs).is_some())
                .or(cx.sources.files.first())
                .and_then(|sf| sf.path.parent().map(|p| p.to_path_buf()))
                .unwrap_or_default();
            let path = base.join(file);
            let speedup = f.opt_num("speedup")?.unwrap_or(1.0);
            if !(speedup.is_finite() && speedup > 0.0) {
                return Err(cx.err(
                    &f.path("speedup"),
                    format!("must be a positive number (2 replays the trace twice as fast), got {speedup}"),
                ));
            }
            let rate_multiplier = f.opt_num("rate_multiplier")?.unwrap_or(1.0);
            if !(rate_multiplier.is_finite() && rate_multiplier > 0.0 && rate_multiplier <= 1000.0) {
                return Err(cx.err(
                    &f.path("rate_multiplier"),
                    format!("must be a number above 0 and at most 1000 (1.5 sends 50 % more requests), got {rate_multiplier}"),
                ));
            }
            let select_tenants = match t.get("select_tenants") {
                None => None,
                Some(toml::Value::Array(a)) if !a.is_empty() => {
                    let mut out = Vec::new();
                    for (i, v) in a.iter().enumerate() {
                        out.push(match v {
                            toml::Value::String(s) => s.clone(),
                            toml::Value::Integer(n) if *n >= 0 => n.to_string(),
                            _ => {
                                return Err(cx.err(
                                    &format!("{}.{i}", f.path("select_tenants")),
                                    format!("must be a tenant id (a string) or index (a whole number), got {v}"),
                                ))
                            }
                        });
                    }
                    Some(out)
                }
                Some(v) => {
                    return Err(cx.err(
                        &f.path("select_tenants"),
                        format!(
                            "must be a non-empty list of tenant ids or indices, e.g. [\"acme\", \"globex\"], got {v}"
                        ),
                    ))
                }
            };
            let opts = TraceOptions {
                tenants,
                endpoint_names,
                tier: tier_name,
                speedup,
                rate_multiplier,
                select_tenants: select_tenants.as_deref(),
            };
            let events = read_trace(&path, &opts).map_err(|m| cx.err(&f.path("file"), m))?;
            Arrival::Trace {
                events: Arc::new(events),
                file: path,
            }
        }
        other => {
            let hint = did_you_mean(other, PROCESSES.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                &f.path("process"),
                format!(
                    "unknown arrival process `{other}`; allowed: {}{hint}",
                    PROCESSES.join(", ")
                ),
            ));
        }
    })
}

/// How a trace file is replayed by one workload (`arrival.process = "trace"`).
pub struct TraceOptions<'a> {
    /// Tenants of the workload: tenant indices must stay below it.
    pub tenants: u32,
    pub endpoint_names: &'a [&'a str],
    /// The workload's tier: when the file has a `tier` column, only that
    /// tier's rows are replayed.
    pub tier: &'a str,
    /// Times are divided by this (2 replays twice as fast).
    pub speedup: f64,
    /// Each row is sent this many times on average: row i is sent
    /// ⌊(i+1)m⌋ − ⌊im⌋ times, the copies spread evenly up to the next row
    /// (deterministic, so every replication sees the same trace).
    pub rate_multiplier: f64,
    /// Only these tenants (ids as in `tenant_id`, else as in `tenant`);
    /// their requests are replayed as tenants 0, 1, … in this order.
    pub select_tenants: Option<&'a [String]>,
}

/// Read a trace CSV: header with `time_s` (seconds from the start), and
/// optional `tenant` (0-based index within the workload), `tenant_id` (the
/// log's tenant name: indices are given in order of first appearance when
/// there is no `tenant` column), `tier` (rows of other tiers are skipped)
/// and `endpoint` (an endpoint name). Rows must be in time order.
pub fn read_trace(path: &Path, o: &TraceOptions) -> Result<Vec<TraceEvent>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read trace {}: {e}", path.display()))?;
    parse_trace(file, path, o)
}

/// [`read_trace`] on any reader (`path` names it in messages): the fuzzed
/// entry point.
pub fn parse_trace(input: impl std::io::Read, path: &Path, o: &TraceOptions) -> Result<Vec<TraceEvent>, String> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = rdr.headers().map_err(|e| format!("{}: {e}", path.display()))?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let t_col = col("time_s").ok_or_else(|| {
        format!(
            "{}: the header needs a `time_s` column (seconds from the start); found: {}",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    let tenant_col = col("tenant");
    let id_col = col("tenant_id");
    let tier_col = col("tier");
    let ep_col = col("endpoint");
    if o.select_tenants.is_some() && tenant_col.is_none() && id_col.is_none() {
        return Err(format!(
            "{}: `select_tenants` needs a `tenant_id` or `tenant` column in the trace",
            path.display()
        ));
    }
    let tenants = o.tenants;
    // (time, tenant, endpoint) of the rows kept, before the multiplier.
    let mut rows: Vec<(SimTime, Option<u32>, Option<usize>)> = Vec::new();
    let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut last = SimTime::ZERO;
    let mut tiers_seen: Vec<String> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{}:{line}: {e}", path.display()))?;
        let ts = rec.get(t_col).unwrap_or("");
        let t: f64 = ts
            .parse()
            .map_err(|_| format!("{}:{line}: time_s `{ts}` is not a number of seconds", path.display()))?;
        if !(t.is_finite() && t >= 0.0) {
            return Err(format!("{}:{line}: time_s must be zero or positive", path.display()));
        }
        let at = SimTime::from_secs_f64(t / o.speedup);
        if at < last {
            return Err(format!(
                "{}:{line}: rows must be in time order ({t} comes after {})",
                path.display(),
                last.as_secs_f64() * o.speedup
            ));
        }
        last = at;
        if let Some(tier) = tier_col.and_then(|c| rec.get(c)) {
            if tier != o.tier {
                if tiers_seen.len() < 20 && !tiers_seen.iter().any(|s| s == tier) {
                    tiers_seen.push(tier.to_string());
                }
                continue;
            }
        }
        let id = id_col.and_then(|c| rec.get(c)).filter(|s| !s.is_empty());
        let idx_text = tenant_col.and_then(|c| rec.get(c)).filter(|s| !s.is_empty());
        let tenant = if let Some(sel) = o.select_tenants {
            let key = id.or(idx_text).unwrap_or("");
            match sel.iter().position(|s| s == key) {
                Some(p) => Some(p as u32),
                None => continue,
            }
        } else if let Some(s) = idx_text {
            Some(
                s.parse::<u32>()
                    .map_err(|_| format!("{}:{line}: tenant `{s}` is not a tenant index", path.display()))?,
            )
        } else if let Some(name) = id {
            let next = ids.len() as u32;
            Some(*ids.entry(name.to_string()).or_insert(next))
        } else {
            None
        };
        if let Some(v) = tenant {
            if v >= tenants {
                let why = if o.select_tenants.is_some() {
                    "select_tenants names more tenants than".to_string()
                } else if idx_text.is_some() {
                    format!("tenant {v} but")
                } else {
                    format!("{} distinct tenant_id values but", v + 1)
                };
                return Err(format!(
                    "{}:{line}: {why} the workload has {tenants} tenants: raise the workload's `tenants`",
                    path.display(),
                ));
            }
        }
        let endpoint = match ep_col.and_then(|c| rec.get(c)).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(o.endpoint_names.iter().position(|n| *n == s).ok_or_else(|| {
                format!(
                    "{}:{line}: no endpoint named `{s}` (endpoints: {})",
                    path.display(),
                    o.endpoint_names.join(", ")
                )
            })?),
        };
        rows.push((at, tenant, endpoint));
    }
    if rows.is_empty() {
        let why = if o.select_tenants.is_some() {
            format!(" for tier `{}` and the tenants in select_tenants", o.tier)
        } else if !tiers_seen.is_empty() {
            format!(
                " for tier `{}` (its `tier` column has: {})",
                o.tier,
                tiers_seen.join(", ")
            )
        } else {
            String::new()
        };
        return Err(format!("{}: the trace has no rows{why}", path.display()));
    }
    let m = o.rate_multiplier;
    let mut out = Vec::with_capacity((rows.len() as f64 * m).ceil() as usize + 1);
    for (i, &(at, tenant, endpoint)) in rows.iter().enumerate() {
        let copies = ((i + 1) as f64 * m).floor() as u64 - (i as f64 * m).floor() as u64;
        let gap = rows.get(i + 1).map_or(0, |n| n.0.as_nanos() - at.as_nanos());
        for k in 0..copies {
            // In u128: a time that saturated SimTime leaves a gap near
            // u64::MAX, and gap × k would overflow; the quotient is below gap.
            let dt = (u128::from(gap) * u128::from(k) / u128::from(copies.max(1))) as u64;
            out.push(TraceEvent {
                at: SimTime::from_nanos(at.as_nanos() + dt),
                tenant,
                endpoint,
            });
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{}: rate_multiplier {m} leaves no request of the trace's {} rows",
            path.display(),
            rows.len()
        ));
    }
    Ok(out)
}

fn parse_metric(cx: &Ctx, key: &str, v: Option<&toml::Value>) -> Result<ScaleMetric, ScenarioError> {
    let s = v.and_then(|v| v.as_str()).ok_or_else(|| {
        cx.err(
            key,
            format!("missing `metric` (one of {})", ScaleMetric::NAMES.join(", ")),
        )
    })?;
    ScaleMetric::parse(s).ok_or_else(|| {
        let hint = did_you_mean(s, ScaleMetric::NAMES.iter().copied())
            .map(|h| format!("; did you mean `{h}`?"))
            .unwrap_or_default();
        cx.err(
            &format!("{key}.metric"),
            format!(
                "`{s}` is not a scaling metric; allowed: {}{hint}",
                ScaleMetric::NAMES.join(", ")
            ),
        )
    })
}

fn parse_behavior(
    cx: &Ctx,
    key: &str,
    v: Option<&toml::Value>,
    default: HpaBehavior,
) -> Result<HpaBehavior, ScenarioError> {
    use crate::model::autoscaler::hpa::{PolicyKind, ScalingPolicy, SelectPolicy};
    let Some(v) = v else { return Ok(default) };
    let t = v.as_table().ok_or_else(|| {
        cx.err(
            key,
            "must be a table: { stabilization = \"300s\", policies = [...], select = \"Max\" }",
        )
    })?;
    let f = Fields { cx, key, t };
    f.check_keys(&["stabilization", "policies", "select"], "an HPA scaling behavior")?;
    let stabilization = f
        .opt_dur("stabilization")?
        .map(SimTime::from_secs_f64)
        .unwrap_or(default.stabilization);
    let select = match f.str("select")? {
        None => default.select,
        Some("Max") | Some("max") => SelectPolicy::Max,
        Some("Min") | Some("min") => SelectPolicy::Min,
        Some("Disabled") | Some("disabled") => SelectPolicy::Disabled,
        Some(o) => return Err(cx.err(&f.path("select"), format!("`{o}`: allowed: Max, Min, Disabled"))),
    };
    let policies = match t.get("policies") {
        None => default.policies,
        Some(toml::Value::Array(a)) => {
            let mut out = Vec::new();
            for (i, p) in a.iter().enumerate() {
                let pk = format!("{key}.policies.{i}");
                let pt = p
                    .as_table()
                    .ok_or_else(|| cx.err(&pk, "each policy is { type = \"Pods\", value = 4, period = \"15s\" }"))?;
                let pf = Fields { cx, key: &pk, t: pt };
                pf.check_keys(&["type", "value", "period"], "an HPA scaling policy")?;
                let kind = match pf.str("type")? {
                    Some("Pods") => PolicyKind::Pods,
                    Some("Percent") => PolicyKind::Percent,
                    _ => return Err(cx.err(&pf.path("type"), "must be \"Pods\" or \"Percent\"")),
                };
                let value = pf.positive("value")?;
                let period = pf.dur("period")?;
                if !(1.0..=1800.0).contains(&period) {
                    return Err(cx.err(&pf.path("period"), "must be between 1s and 1800s (as in Kubernetes)"));
                }
                out.push(ScalingPolicy {
                    kind,
                    value: value as u32,
                    period: SimTime::from_secs_f64(period),
                });
            }
            out
        }
        Some(_) => return Err(cx.err(&f.path("policies"), "must be a list of policies")),
    };
    Ok(HpaBehavior {
        stabilization,
        policies,
        select,
    })
}

fn parse_autoscaler(cx: &Ctx, t: &toml::Table, initial: u32) -> Result<AutoscalerSpec, ScenarioError> {
    let key = "autoscaler";
    let f = Fields { cx, key, t };
    const POLICIES: &[&str] = &["none", "threshold", "hpa", "target-tracking", "step", "schedule"];
    let policy = f
        .str("policy")?
        .ok_or_else(|| cx.err(key, format!("missing `policy`; allowed: {}", POLICIES.join(", "))))?;
    let common = ["policy", "min", "max", "interval"];
    let allowed: Vec<&str> = match policy {
        "none" => vec![],
        "threshold" => vec![
            "metrics",
            "step",
            "for",
            "cooldown",
            "scale_out_cooldown",
            "scale_in_cooldown",
        ],
        "hpa" => vec!["metrics", "tolerance", "scale_up", "scale_down"],
        "target-tracking" => vec!["metric", "target", "disable_scale_in", "scale_in_cooldown", "warmup"],
        "step" => vec!["metric", "adjustments", "cooldown"],
        "schedule" => vec!["schedule"],
        o => {
            let hint = did_you_mean(o, POLICIES.iter().copied())
                .map(|h| format!("; did you mean `{h}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                "autoscaler.policy",
                format!("`{o}` is not a policy; allowed: {}{hint}", POLICIES.join(", ")),
            ));
        }
    };
    let all: Vec<&str> = common.iter().copied().chain(allowed).collect();
    f.check_keys(&all, &format!("the `{policy}` autoscaler"))?;
    let min = f.opt_num("min")?.unwrap_or(1.0);
    let max = f.opt_num("max")?.unwrap_or((initial.max(1) * 4) as f64);
    if !(min >= 0.0 && min.fract() == 0.0 && min <= 100_000.0) {
        return Err(cx.err("autoscaler.min", "must be a whole number of instances"));
    }
    if !(max >= 1.0 && max >= min && max.fract() == 0.0 && max <= 100_000.0) {
        return Err(cx.err(
            "autoscaler.max",
            format!("must be a whole number ≥ 1 and ≥ min ({min})"),
        ));
    }
    let interval = f
        .opt_dur("interval")?
        .unwrap_or(if policy == "hpa" { 15.0 } else { 30.0 });
    if interval <= 0.0 {
        return Err(cx.err("autoscaler.interval", "must be longer than zero"));
    }
    let dur_or =
        |k: &str, d: f64| -> Result<SimTime, ScenarioError> { Ok(SimTime::from_secs_f64(f.opt_dur(k)?.unwrap_or(d))) };
    let metrics_list = |need: &str| -> Result<Vec<(String, &toml::Table)>, ScenarioError> {
        let a = t.get("metrics").and_then(|v| v.as_array()).ok_or_else(|| {
            cx.err(
                key,
                format!("missing `metrics`, e.g. metrics = [ {{ metric = \"cpu\", {need} }} ]"),
            )
        })?;
        if a.is_empty() {
            return Err(cx.err("autoscaler.metrics", "needs at least one metric"));
        }
        a.iter()
            .enumerate()
            .map(|(i, m)| {
                let k = format!("autoscaler.metrics.{i}");
                m.as_table().map(|t| (k.clone(), t)).ok_or_else(|| {
                    cx.err(
                        &k,
                        format!("each metric is a table such as {{ metric = \"cpu\", {need} }}"),
                    )
                })
            })
            .collect()
    };
    let policy = match policy {
        "none" => PolicySpec::None,
        "threshold" => {
            let mut rules = Vec::new();
            for (k, m) in metrics_list("above = 0.7, below = 0.3")? {
                let mf = Fields { cx, key: &k, t: m };
                mf.check_keys(&["metric", "above", "below"], "a threshold metric")?;
                let metric = parse_metric(cx, &k, m.get("metric"))?;
                let (above, below) = (mf.opt_num("above")?, mf.opt_num("below")?);
                if metric.is_ratio() {
                    for (b, v) in [("above", above), ("below", below)] {
                        if let Some(v) = v {
                            let what = format!("`{b}` (a `{}` utilization)", metric.name());
                            ratio(cx, &mf.path(b), &what, v, false)?;
                        }
                    }
                }
                if above.is_none() && below.is_none() {
                    return Err(cx.err(&k, "give `above` (scale out), `below` (scale in), or both"));
                }
                if let (Some(a), Some(b)) = (above, below) {
                    if b >= a {
                        return Err(cx.err(
                            &format!("{k}.below"),
                            format!("must be below `above` ({a}), or the policy would flap"),
                        ));
                    }
                }
                rules.push(ThresholdRule { metric, above, below });
            }
            let step = f.opt_num("step")?.unwrap_or(1.0);
            if !(step >= 1.0 && step.fract() == 0.0) {
                return Err(cx.err("autoscaler.step", "must be a whole number ≥ 1"));
            }
            let cooldown = f.opt_dur("cooldown")?.unwrap_or(120.0);
            PolicySpec::Threshold {
                rules,
                step: step as u32,
                sustain: dur_or("for", 0.0)?,
                scale_out_cooldown: dur_or("scale_out_cooldown", cooldown)?,
                scale_in_cooldown: dur_or("scale_in_cooldown", cooldown)?,
            }
        }
        "hpa" => {
            let mut metrics = Vec::new();
            for (k, m) in metrics_list("target = 0.7")? {
                let mf = Fields { cx, key: &k, t: m };
                mf.check_keys(&["metric", "target"], "an HPA metric")?;
                let metric = parse_metric(cx, &k, m.get("metric"))?;
                let target = mf.positive("target")?;
                if metric.is_ratio() {
                    let what = format!("the `{}` target (a utilization)", metric.name());
                    ratio(cx, &mf.path("target"), &what, target, true)?;
                }
                metrics.push((metric, target));
            }
            let tolerance = f.opt_num("tolerance")?.unwrap_or(0.1);
            ratio(cx, "autoscaler.tolerance", "a tolerance", tolerance, false)?;
            if !(0.0..1.0).contains(&tolerance) {
                return Err(cx.err(
                    "autoscaler.tolerance",
                    "must be between 0 and 1 (Kubernetes' default is 0.1)",
                ));
            }
            PolicySpec::Hpa {
                metrics,
                tolerance,
                scale_up: parse_behavior(
                    cx,
                    "autoscaler.scale_up",
                    t.get("scale_up"),
                    HpaBehavior::default_scale_up(),
                )?,
                scale_down: parse_behavior(
                    cx,
                    "autoscaler.scale_down",
                    t.get("scale_down"),
                    HpaBehavior::default_scale_down(),
                )?,
            }
        }
        "target-tracking" => {
            let metric = parse_metric(cx, key, t.get("metric"))?;
            let target = f.positive("target")?;
            if metric.is_ratio() {
                let what = format!("the `{}` target (a utilization)", metric.name());
                ratio(cx, "autoscaler.target", &what, target, true)?;
            }
            PolicySpec::TargetTracking {
                metric,
                target,
                disable_scale_in: t.get("disable_scale_in").and_then(|v| v.as_bool()).unwrap_or(false),
                scale_in_cooldown: dur_or("scale_in_cooldown", 300.0)?,
                warmup: dur_or("warmup", 0.0)?,
            }
        }
        "step" => {
            let metric = parse_metric(cx, key, t.get("metric"))?;
            let a = t.get("adjustments").and_then(|v| v.as_array()).ok_or_else(|| {
                cx.err(key, "missing `adjustments`, e.g. adjustments = [ { lower = 0.7, change = 1 }, { upper = 0.3, change = -1 } ]")
            })?;
            let mut adjustments = Vec::new();
            for (i, x) in a.iter().enumerate() {
                let k = format!("autoscaler.adjustments.{i}");
                let xt = x
                    .as_table()
                    .ok_or_else(|| cx.err(&k, "each adjustment is { lower = 0.7, upper = 0.9, change = 1 }"))?;
                let xf = Fields { cx, key: &k, t: xt };
                xf.check_keys(&["lower", "upper", "change"], "a step adjustment")?;
                let change = xt
                    .get("change")
                    .and_then(|v| v.as_integer())
                    .ok_or_else(|| cx.err(&k, "missing `change` (whole instances, negative to scale in)"))?;
                let (lower, upper) = (xf.opt_num("lower")?, xf.opt_num("upper")?);
                if metric.is_ratio() {
                    for (b, v) in [("lower", lower), ("upper", upper)] {
                        if let Some(v) = v {
                            let what = format!("`{b}` (a `{}` utilization)", metric.name());
                            ratio(cx, &xf.path(b), &what, v, false)?;
                        }
                    }
                }
                adjustments.push(StepAdjustment {
                    lower,
                    upper,
                    change: change as i32,
                });
            }
            PolicySpec::Step {
                metric,
                adjustments,
                cooldown: dur_or("cooldown", 60.0)?,
            }
        }
        "schedule" => {
            let a = t
                .get("schedule")
                .and_then(|v| v.as_array())
                .ok_or_else(|| cx.err(key, "missing `schedule`, e.g. schedule = [[\"0s\", 3], [\"1h\", 10]]"))?;
            let mut entries = Vec::new();
            for (i, x) in a.iter().enumerate() {
                let k = format!("autoscaler.schedule.{i}");
                let pair = x
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| cx.err(&k, "each entry is [\"time\", instances]"))?;
                let at = pair[0]
                    .as_str()
                    .ok_or_else(|| cx.err(&k, "the time is a duration string such as \"1h\""))?;
                let at = SimTime::from_secs_f64(parse_duration_secs(at).map_err(|m| cx.err(&k, m))?);
                let n = pair[1]
                    .as_integer()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| cx.err(&k, "the count is a whole number of instances"))?;
                if entries.last().is_some_and(|(t, _): &(SimTime, u32)| at <= *t) {
                    return Err(cx.err(&k, "schedule times must increase"));
                }
                entries.push((at, n as u32));
            }
            PolicySpec::Schedule { entries }
        }
        _ => unreachable!("policy names checked above"),
    };
    Ok(AutoscalerSpec {
        min: min as u32,
        max: max as u32,
        interval: SimTime::from_secs_f64(interval),
        policy,
    })
}

fn parse_fault(cx: &Ctx, i: usize, t: &toml::Table, endpoints: &[Endpoint]) -> Result<FaultSpec, ScenarioError> {
    let key = format!("fault.{i}");
    let f = Fields { cx, key: &key, t };
    const KINDS: &[&str] = &[
        "instance-crash",
        "random-crashes",
        "zone-outage",
        "db-slowdown",
        "cache-flush",
        "cache-slowdown",
        "latency-spike",
    ];
    let kind = f
        .str("kind")?
        .ok_or_else(|| cx.err(&key, format!("missing `kind`; allowed: {}", KINDS.join(", "))))?;
    let allowed: &[&str] = match kind {
        "instance-crash" => &["kind", "at", "count", "mttr"],
        "random-crashes" => &["kind", "at", "mtbf", "mttr"],
        "zone-outage" => &["kind", "at", "fraction", "duration"],
        "db-slowdown" => &["kind", "at", "factor", "duration"],
        "cache-flush" => &["kind", "at", "level"],
        "cache-slowdown" => &["kind", "at", "factor", "duration"],
        "latency-spike" => &["kind", "at", "factor", "duration", "endpoint"],
        o => {
            let hint = did_you_mean(o, KINDS.iter().copied())
                .map(|h| format!("; did you mean `{h}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                &f.path("kind"),
                format!("`{o}` is not a fault; allowed: {}{hint}", KINDS.join(", ")),
            ));
        }
    };
    f.check_keys(allowed, &format!("a `{kind}` fault"))?;
    let at = SimTime::from_secs_f64(f.opt_dur("at")?.unwrap_or(0.0));
    let dur = |k: &str| -> Result<SimTime, ScenarioError> {
        let d = f.dur(k)?;
        if d <= 0.0 {
            return Err(cx.err(&f.path(k), "must be longer than zero"));
        }
        Ok(SimTime::from_secs_f64(d))
    };
    let kind = match kind {
        "instance-crash" => {
            let count = f.opt_num("count")?.unwrap_or(1.0);
            if !(count >= 1.0 && count.fract() == 0.0) {
                return Err(cx.err(&f.path("count"), "must be a whole number ≥ 1"));
            }
            FaultKind::InstanceCrash {
                count: count as u32,
                mttr: SimTime::from_secs_f64(f.opt_dur("mttr")?.unwrap_or(0.0)),
            }
        }
        "random-crashes" => FaultKind::RandomCrashes {
            mtbf: dur("mtbf")?,
            mttr: SimTime::from_secs_f64(f.opt_dur("mttr")?.unwrap_or(0.0)),
        },
        "zone-outage" => {
            let fraction = ratio(
                cx,
                &f.path("fraction"),
                "a fraction of the instances",
                f.positive("fraction")?,
                true,
            )?;
            FaultKind::ZoneOutage {
                fraction,
                duration: dur("duration")?,
            }
        }
        "db-slowdown" => FaultKind::DbSlowdown {
            factor: f.positive("factor")?,
            duration: dur("duration")?,
        },
        "cache-slowdown" => FaultKind::CacheSlowdown {
            factor: f.positive("factor")?,
            duration: dur("duration")?,
        },
        "cache-flush" => match f.str("level")? {
            None | Some("l2") => FaultKind::CacheFlush {
                l1: false,
                l2: true,
                l3: false,
            },
            Some("l1") => FaultKind::CacheFlush {
                l1: true,
                l2: false,
                l3: false,
            },
            // The persistent L3 survives a flush of "all" (in-memory) levels.
            Some("all") => FaultKind::CacheFlush {
                l1: true,
                l2: true,
                l3: false,
            },
            Some("l3") => FaultKind::CacheFlush {
                l1: false,
                l2: false,
                l3: true,
            },
            Some(o) => {
                return Err(cx.err(
                    &f.path("level"),
                    format!("`{o}`: allowed levels are l1, l2, all (l1 and l2), l3"),
                ))
            }
        },
        "latency-spike" => {
            let endpoint = match f.str("endpoint")? {
                None => None,
                Some(e) => Some(
                    endpoints
                        .iter()
                        .position(|x| x.name == e)
                        .ok_or_else(|| cx.err(&f.path("endpoint"), format!("no endpoint named `{e}`")))?,
                ),
            };
            FaultKind::LatencySpike {
                endpoint,
                factor: f.positive("factor")?,
                duration: dur("duration")?,
            }
        }
        _ => unreachable!("fault kinds checked above"),
    };
    Ok(FaultSpec { at, kind })
}

/// Which optional components a scenario has (for metrics that need them).
#[derive(Clone, Copy)]
struct Components {
    pool: bool,
    database: bool,
    cache: bool,
    finite: bool,
    db_breaker: bool,
    cache_breaker: bool,
    shedding: bool,
    memory: bool,
    background: bool,
    pauses: bool,
    stages: bool,
    limiters: bool,
    limit_store: bool,
    replicas: bool,
    sessions: bool,
    gc: bool,
}

impl Components {
    fn has(&self, n: Needs) -> bool {
        match n {
            Needs::Nothing => true,
            Needs::Pool => self.pool,
            Needs::Database => self.database,
            Needs::Cache => self.cache,
            Needs::FiniteTest => self.finite,
            Needs::Breaker => self.db_breaker || self.cache_breaker,
            Needs::DbBreaker => self.db_breaker,
            Needs::CacheBreaker => self.cache_breaker,
            Needs::Shedding => self.shedding,
            Needs::Stages => self.stages,
            Needs::Memory => self.memory,
            Needs::Background => self.background,
            Needs::Pauses => self.pauses,
            Needs::Limiters => self.limiters,
            Needs::LimitStore => self.limit_store,
            Needs::Replicas => self.replicas,
            Needs::Sessions => self.sessions,
            Needs::EmergencyGc => self.gc,
        }
    }
}

const SHED_SIGNALS: &[&str] = &["queue-length", "queue-delay", "cpu"];

/// `[shedding]`: the overload signal, its limit, and the priority step.
fn parse_shedding(cx: &Ctx, t: &toml::Table) -> Result<crate::model::shedding::ShedPolicy, ScenarioError> {
    use crate::model::shedding::{ShedPolicy, ShedSignal};
    let f = Fields { cx, key: "shedding", t };
    let signal = f.str("signal")?.ok_or_else(|| {
        cx.err(
            "shedding",
            format!(
                "missing `signal`; allowed: {} (e.g. signal = \"queue-length\", limit = 20)",
                SHED_SIGNALS.join(", ")
            ),
        )
    })?;
    let signal = match signal {
        "queue-length" => {
            f.check_keys(
                &["signal", "limit", "priority_step"],
                "queue-length shedding (limit in requests waiting)",
            )?;
            let limit = f.positive("limit")?;
            if limit.fract() != 0.0 || limit > 1e9 {
                return Err(cx.err("shedding.limit", "a whole number of waiting requests"));
            }
            ShedSignal::QueueLength { limit: limit as u32 }
        }
        "queue-delay" => {
            f.check_keys(
                &["signal", "target", "interval", "priority_step"],
                "queue-delay (CoDel) shedding: target and interval",
            )?;
            let target = f.dur("target")?;
            if target <= 0.0 {
                return Err(cx.err("shedding.target", "must be longer than zero"));
            }
            let interval = f.opt_dur("interval")?.unwrap_or(0.1);
            if interval <= 0.0 {
                return Err(cx.err("shedding.interval", "must be longer than zero"));
            }
            ShedSignal::QueueDelay {
                target: SimTime::from_secs_f64(target),
                interval: SimTime::from_secs_f64(interval),
            }
        }
        "cpu" => {
            f.check_keys(
                &["signal", "limit", "window", "priority_step"],
                "cpu shedding: limit (utilization) and window",
            )?;
            let limit = ratio(cx, "shedding.limit", "a CPU utilization", f.positive("limit")?, true)?;
            let window = f.opt_dur("window")?.unwrap_or(1.0);
            if window <= 0.0 {
                return Err(cx.err("shedding.window", "must be longer than zero"));
            }
            ShedSignal::Cpu {
                limit,
                window: SimTime::from_secs_f64(window),
            }
        }
        o => {
            let hint = did_you_mean(o, SHED_SIGNALS.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                "shedding.signal",
                format!(
                    "`{o}` is not a shedding signal; allowed: {}{hint}",
                    SHED_SIGNALS.join(", ")
                ),
            ));
        }
    };
    let priority_step = match f.opt_num("priority_step")? {
        None => 1.0,
        Some(s) if s.is_finite() && s >= 0.0 => s,
        Some(s) => return Err(cx.err("shedding.priority_step", format!("must be zero or positive, got {s}"))),
    };
    Ok(ShedPolicy { signal, priority_step })
}

/// `[breaker.database]` or `[breaker.cache]`.
fn parse_breaker(cx: &Ctx, key: &str, b: &super::raw::RawBreaker) -> Result<BreakerSpec, ScenarioError> {
    use crate::model::breaker::{BreakerConfig, Trip};
    let whole = |k: &str, v: i64, lo: i64, hi: i64| -> Result<u32, ScenarioError> {
        if (lo..=hi).contains(&v) {
            Ok(v as u32)
        } else {
            Err(cx.err(
                &format!("{key}.{k}"),
                format!("must be a whole number between {lo} and {hi}, got {v}"),
            ))
        }
    };
    let trip =
        match (b.failure_rate, b.consecutive_failures) {
            (Some(_), Some(_)) => {
                return Err(cx.err(
                    &format!("{key}.consecutive_failures"),
                    "give one trigger: failure_rate (over `window` calls) or consecutive_failures, not both",
                ))
            }
            (None, None) => return Err(cx.err(
                key,
                "missing a trigger: failure_rate = 0.5 (with window = 20 calls, min_calls) or consecutive_failures = 5",
            )),
            (Some(rate), None) => {
                ratio(cx, &format!("{key}.failure_rate"), "a failure rate", rate, true)?;
                let window = whole("window", b.window.unwrap_or(100), 1, 100_000)?;
                let min_calls = whole("min_calls", b.min_calls.unwrap_or(window as i64), 1, window as i64)?;
                Trip::FailureRate {
                    rate,
                    window,
                    min_calls,
                }
            }
            (None, Some(n)) => {
                for (k, v) in [("window", b.window), ("min_calls", b.min_calls)] {
                    if v.is_some() {
                        return Err(cx.err(
                            &format!("{key}.{k}"),
                            format!("`{k}` belongs to failure_rate; consecutive_failures counts failures in a row"),
                        ));
                    }
                }
                Trip::Consecutive {
                    n: whole("consecutive_failures", n, 1, 1_000_000)?,
                }
            }
        };
    let open_for = b.open_for.map(secs).unwrap_or(SimTime::from_secs(30));
    if open_for == SimTime::ZERO {
        return Err(cx.err(&format!("{key}.open_for"), "must be longer than zero"));
    }
    let slow_call = b.slow_call.map(secs);
    if slow_call == Some(SimTime::ZERO) {
        return Err(cx.err(
            &format!("{key}.slow_call"),
            "must be longer than zero (leave it out to count only errors)",
        ));
    }
    let fallback = match b.fallback.as_deref() {
        None | Some("fail_fast") => Fallback::FailFast,
        Some("stale") => Fallback::Stale,
        Some(o) => {
            let hint = did_you_mean(o, ["fail_fast", "stale"])
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                &format!("{key}.fallback"),
                format!("`{o}`: allowed fallbacks are fail_fast, stale{hint}"),
            ));
        }
    };
    if b.stale_for.is_some() && fallback != Fallback::Stale {
        return Err(cx.err(
            &format!("{key}.stale_for"),
            "only the `stale` fallback serves expired copies",
        ));
    }
    Ok(BreakerSpec {
        stale_for: b.stale_for.map(secs).unwrap_or(SimTime::from_secs(300)),
        config: BreakerConfig {
            trip,
            open_for,
            probes: whole("half_open_probes", b.half_open_probes.unwrap_or(1), 1, 100_000)?,
        },
        slow_call,
        fallback,
    })
}

fn parse_pool(cx: &Ctx, p: &super::raw::RawPool) -> Result<PoolSpec, ScenarioError> {
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
        config: crate::model::pool::PoolConfig {
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

fn parse_cache(cx: &Ctx, c: Option<&super::raw::RawCache>) -> Result<CacheSpec, ScenarioError> {
    let Some(c) = c else { return Ok(CacheSpec::default()) };
    let level = |name: &str, l: &Option<super::raw::RawCacheLevel>| -> Result<Option<CacheLevel>, ScenarioError> {
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

fn parse_retry(cx: &Ctx, r: &super::raw::RawRetry) -> Result<RetrySpec, ScenarioError> {
    let attempts = r.attempts.unwrap_or(3);
    if !(1..=100).contains(&attempts) {
        return Err(cx.err(
            "retry.attempts",
            "must be between 1 (no retry) and 100: the number of attempts, the first included",
        ));
    }
    let b = r.backoff.clone().unwrap_or_default();
    let base = b.base.map(secs).unwrap_or(SimTime::from_secs_f64(0.1));
    let max = b.max.map(secs).unwrap_or(SimTime::from_secs(10));
    if max < base {
        return Err(cx.err(
            "retry.backoff.max",
            format!("the longest backoff ({max}) is shorter than the base ({base})"),
        ));
    }
    let jitter = match b.jitter.as_deref() {
        None | Some("full") => Jitter::Full,
        Some("none") => Jitter::None,
        Some("equal") => Jitter::Equal,
        Some(o) => {
            return Err(cx.err(
                "retry.backoff.jitter",
                format!("`{o}`: allowed jitters are none, full, equal"),
            ))
        }
    };
    const REASONS: &[&str] = &[
        "rate_limited",
        "tenant_limit",
        "queue_full",
        "timeout",
        "pool_timeout",
        "db_refused",
        "instance_failure",
        "breaker_open",
        "shed",
        "stage_failure",
        "oom_killed",
    ];
    let on = match &r.retry_on {
        None => RetryOn {
            rate_limited: true,
            tenant_limit: true,
            queue_full: true,
            timeout: true,
            pool_timeout: true,
            db_refused: true,
            instance_failure: true,
            breaker_open: true,
            shed: true,
            stage_failure: true,
            oom_killed: true,
        },
        Some(list) => {
            let mut on = RetryOn {
                rate_limited: false,
                tenant_limit: false,
                queue_full: false,
                timeout: false,
                pool_timeout: false,
                db_refused: false,
                instance_failure: false,
                breaker_open: false,
                shed: false,
                stage_failure: false,
                oom_killed: false,
            };
            for (i, x) in list.iter().enumerate() {
                match x.as_str() {
                    "rate_limited" => on.rate_limited = true,
                    "tenant_limit" => on.tenant_limit = true,
                    "queue_full" => on.queue_full = true,
                    "timeout" => on.timeout = true,
                    "pool_timeout" => on.pool_timeout = true,
                    "db_refused" => on.db_refused = true,
                    "instance_failure" => on.instance_failure = true,
                    "breaker_open" => on.breaker_open = true,
                    "shed" => on.shed = true,
                    "stage_failure" => on.stage_failure = true,
                    "oom_killed" => on.oom_killed = true,
                    o => {
                        let hint = did_you_mean(o, REASONS.iter().copied())
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        return Err(cx.err(
                            &format!("retry.retry_on.{i}"),
                            format!("`{o}` is not a failure reason; allowed: {}{hint}", REASONS.join(", ")),
                        ));
                    }
                }
            }
            on
        }
    };
    Ok(RetrySpec {
        attempts,
        base,
        max,
        jitter,
        on,
    })
}

/// `[[claim]]`: `id`, `source`, `text`, and one of: `metric` with one of
/// `at_least` / `at_most` (latency limits as durations) and an optional
/// `tier` or `stage` (a request stage's own figure); `lint = "rule-id"`; `littles_law = { ... }`; or
/// `untestable = "why"`. Metric and lint claims may name a knob for
/// "holds only if" (`if_key`, `if_range`, `if_step`).
fn parse_claims(
    cx: &Ctx,
    claims: &[toml::Table],
    tiers: &[String],
    components: Components,
    endpoints: &[Endpoint],
    workloads: &[Workload],
) -> Result<Vec<Claim>, ScenarioError> {
    const KEYS: [&str; 14] = [
        "id",
        "source",
        "text",
        "metric",
        "at_least",
        "at_most",
        "tier",
        "untestable",
        "stage",
        "lint",
        "littles_law",
        "if_key",
        "if_range",
        "if_step",
    ];
    let mut out: Vec<Claim> = Vec::new();
    for (i, t) in claims.iter().enumerate() {
        let key = |k: &str| format!("claim.{i}.{k}");
        for k in t.keys() {
            if !KEYS.contains(&k.as_str()) {
                let hint = did_you_mean(k, KEYS)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &key(k),
                    format!("unknown key `{k}` in a claim{hint} (allowed: {})", KEYS.join(", ")),
                ));
            }
        }
        let text_of = |k: &str| -> Result<Option<String>, ScenarioError> {
            match t.get(k) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(cx.err(&key(k), format!("must be a string, got {v}"))),
            }
        };
        let id = text_of("id")?.ok_or_else(|| cx.err(&format!("claim.{i}"), "a claim needs an `id`"))?;
        if out.iter().any(|c| c.id == id) {
            return Err(cx.err(&key("id"), format!("claim id `{id}` is used twice")));
        }
        let source = text_of("source")?.unwrap_or_default();
        let text = text_of("text")?.unwrap_or_default();
        let kinds: Vec<&str> = ["metric", "untestable", "lint", "littles_law"]
            .into_iter()
            .filter(|k| t.contains_key(*k))
            .collect();
        if kinds.len() > 1 {
            return Err(cx.err(
                &key(kinds[1]),
                format!(
                    "a claim is checked one way: give one of `metric`, `lint`, `littles_law` or `untestable`, not {}",
                    kinds.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                ),
            ));
        }
        let condition = parse_claim_condition(cx, i, t)?;
        if condition.is_some() && (t.contains_key("untestable") || t.contains_key("littles_law")) {
            return Err(cx.err(
                &key("if_key"),
                "`if_key` (holds only if) applies to `metric` and `lint` claims only",
            ));
        }
        let plain = |metric, lint, littles_law, untestable| Claim {
            id: id.clone(),
            source: source.clone(),
            text: text.clone(),
            metric,
            tier: None,
            stage: None,
            bound: Bound::AtMost,
            limit: 0.0,
            untestable,
            lint,
            littles_law,
            condition: condition.clone(),
        };
        if let Some(why) = text_of("untestable")? {
            out.push(plain(None, None, None, Some(why)));
            continue;
        }
        if let Some(rule) = text_of("lint")? {
            let Some(r) = crate::lint::rules::RULES.iter().find(|r| r.id == rule) else {
                let hint = did_you_mean(&rule, crate::lint::rules::RULES.iter().map(|r| r.id))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &key("lint"),
                    format!(
                        "`{rule}` is not a lint rule{hint} (rules: {})",
                        crate::lint::rules::RULES
                            .iter()
                            .map(|r| r.id)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            out.push(plain(None, Some(r.id), None, None));
            continue;
        }
        if let Some(v) = t.get("littles_law") {
            let ll = parse_littles_law(cx, &key("littles_law"), v, workloads)?;
            out.push(plain(None, None, Some(ll), None));
            continue;
        }
        if let Some(stage) = text_of("stage")? {
            let mut c = parse_stage_claim(cx, t, i, id, source, text, &stage, endpoints)?;
            c.condition = condition;
            out.push(c);
            continue;
        }
        let m = text_of("metric")?.ok_or_else(|| {
            cx.err(
                &format!("claim.{i}"),
                "a claim needs a `metric` with `at_least` or `at_most`, a `lint = \"rule-id\"`, a `littles_law = { ... }`, or `untestable = \"why\"`",
            )
        })?;
        let def = names::metric(&m).ok_or_else(|| {
            let hint = did_you_mean(&m, names::METRICS.iter().map(|d| d.name))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            cx.err(&key("metric"), format!("`{m}` is not a metric{hint}"))
        })?;
        if !components.has(def.needs) {
            return Err(cx.err(
                &key("metric"),
                format!(
                    "`{m}` needs a {:?} component, which this scenario does not have",
                    def.needs
                ),
            ));
        }
        let (bound, k) = match (t.get("at_least"), t.get("at_most")) {
            (Some(_), None) => (Bound::AtLeast, "at_least"),
            (None, Some(_)) => (Bound::AtMost, "at_most"),
            _ => return Err(cx.err(&format!("claim.{i}"), "give exactly one of `at_least` and `at_most`")),
        };
        let v = &t[k];
        let limit = match (def.unit, v) {
            (Unit::Seconds, toml::Value::String(s)) => parse_duration_secs(s).map_err(|e| cx.err(&key(k), e))?,
            (_, v) => num(v).ok_or_else(|| cx.err(&key(k), format!("must be a number, got {v}")))?,
        };
        if !limit.is_finite() {
            return Err(cx.err(&key(k), "must be a finite number"));
        }
        if def.unit == Unit::Ratio {
            ratio(cx, &key(k), &format!("a claim on `{m}`"), limit, false)?;
        }
        let tier =
            match text_of("tier")? {
                None => None,
                Some(name) => {
                    if !def.per_tier {
                        return Err(cx.err(&key("tier"), format!("`{m}` is not reported per tier")));
                    }
                    Some(tiers.iter().position(|n| *n == name).ok_or_else(|| {
                        cx.err(&key("tier"), format!("no tier `{name}`; tiers: {}", tiers.join(", ")))
                    })?)
                }
            };
        out.push(Claim {
            id,
            source,
            text,
            metric: Some(def.name),
            tier,
            stage: None,
            bound,
            limit,
            untestable: None,
            lint: None,
            littles_law: None,
            condition,
        });
    }
    Ok(out)
}

/// A claim on one request stage (`stage = "jwt"` or `"e2e.jwt"`): its
/// metric is a stage metric (`latency_mean_s` … `latency_p99_s`,
/// `failure_rate`); no `tier`.
#[allow(clippy::too_many_arguments)]
fn parse_stage_claim(
    cx: &Ctx,
    t: &toml::Table,
    i: usize,
    id: String,
    source: String,
    text: String,
    stage: &str,
    endpoints: &[Endpoint],
) -> Result<Claim, ScenarioError> {
    let key = |k: &str| format!("claim.{i}.{k}");
    if t.contains_key("tier") {
        return Err(cx.err(
            &key("tier"),
            "a stage claim has no `tier` (stages are not reported per tier)",
        ));
    }
    let all: Vec<String> = endpoints
        .iter()
        .flat_map(|e| e.stages.iter().map(move |s| format!("{}.{}", e.name, s.name)))
        .collect();
    let matches: Vec<&String> = all
        .iter()
        .filter(|q| *q == stage || q.split_once('.').is_some_and(|(_, s)| s == stage))
        .collect();
    let qualified = match matches.as_slice() {
        [one] => (*one).clone(),
        [] if all.is_empty() => {
            return Err(cx.err(&key("stage"), "no endpoint has stages ([[endpoint.NAME.stage]])"));
        }
        [] => {
            return Err(cx.err(
                &key("stage"),
                format!("no stage named `{stage}` (stages: {})", all.join(", ")),
            ))
        }
        several => {
            return Err(cx.err(
                &key("stage"),
                format!(
                    "`{stage}` is a stage of several endpoints: write \"ENDPOINT.{stage}\" ({})",
                    several.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    };
    let allowed: Vec<&str> = STAGE_METRICS.iter().map(|(m, _)| *m).collect();
    let m = match t.get("metric") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(v) => return Err(cx.err(&key("metric"), format!("must be a string, got {v}"))),
        None => return Err(cx.err(&format!("claim.{i}"), "a stage claim needs a `metric`")),
    };
    let Some(&(metric, is_ratio)) = STAGE_METRICS.iter().find(|(n, _)| *n == m) else {
        return Err(cx.err(
            &key("metric"),
            format!("`{m}` is not a stage metric; allowed: {}", allowed.join(", ")),
        ));
    };
    let (bound, k) = match (t.get("at_least"), t.get("at_most")) {
        (Some(_), None) => (Bound::AtLeast, "at_least"),
        (None, Some(_)) => (Bound::AtMost, "at_most"),
        _ => return Err(cx.err(&format!("claim.{i}"), "give exactly one of `at_least` and `at_most`")),
    };
    let limit = match &t[k] {
        toml::Value::String(s) if !is_ratio => parse_duration_secs(s).map_err(|e| cx.err(&key(k), e))?,
        v => num(v).ok_or_else(|| cx.err(&key(k), format!("must be a number, got {v}")))?,
    };
    if !limit.is_finite() {
        return Err(cx.err(&key(k), "must be a finite number"));
    }
    if is_ratio {
        ratio(cx, &key(k), &format!("a claim on `{m}`"), limit, false)?;
    }
    Ok(Claim {
        id,
        source,
        text,
        metric: Some(metric),
        tier: None,
        stage: Some(qualified),
        bound,
        limit,
        untestable: None,
        lint: None,
        littles_law: None,
        condition: None,
    })
}

/// `if_key`, `if_range = [from, to]` (numbers or durations) and `if_step`
/// (default 1, or 1 s for durations): the values a failing claim's
/// condition is searched over, from `from` towards `to`.
fn parse_claim_condition(cx: &Ctx, i: usize, t: &toml::Table) -> Result<Option<ClaimCondition>, ScenarioError> {
    let key = |k: &str| format!("claim.{i}.{k}");
    let Some(k) = t.get("if_key") else {
        for k in ["if_range", "if_step"] {
            if t.contains_key(k) {
                return Err(cx.err(&key(k), format!("`{k}` needs an `if_key` (the knob to search)")));
            }
        }
        return Ok(None);
    };
    let toml::Value::String(knob) = k else {
        return Err(cx.err(
            &key("if_key"),
            format!("must be a key path such as \"instance.initial\", got {k}"),
        ));
    };
    // The knob must exist in the scenario: its value is the setting the
    // claim is judged at first.
    fn lookup<'a>(v: &'a toml::Value, segs: &[super::source::Seg]) -> Option<&'a toml::Value> {
        let Some((first, rest)) = segs.split_first() else {
            return Some(v);
        };
        let next = match first {
            super::source::Seg::Key(k) => v.as_table()?.get(k)?,
            super::source::Seg::Index(i) => v.as_array()?.get(*i)?,
        };
        lookup(next, rest)
    }
    let segs = parse_path(knob);
    let found = match segs.split_first() {
        Some((super::source::Seg::Key(k), rest)) => cx.sources.merged.get(k).and_then(|v| lookup(v, rest)),
        _ => None,
    };
    if found.is_none() {
        return Err(cx.err(
            &key("if_key"),
            format!("`{knob}` is not set in this scenario: the search starts from the scenario's own value, so name a key it sets"),
        ));
    }
    let range = t.get("if_range").ok_or_else(|| {
        cx.err(
            &key("if_key"),
            "give the values to search: if_range = [from, to], e.g. [2, 20]",
        )
    })?;
    let ends: Vec<&toml::Value> = match range {
        toml::Value::Array(a) if a.len() == 2 => a.iter().collect(),
        _ => {
            return Err(cx.err(
                &key("if_range"),
                "must be [from, to]: two numbers or two durations, e.g. [2, 20] or [\"1s\", \"8s\"]",
            ))
        }
    };
    let duration = matches!(ends[0], toml::Value::String(_));
    let as_num = |v: &toml::Value, what: &str| -> Result<f64, ScenarioError> {
        let x = match (duration, v) {
            (true, toml::Value::String(s)) => parse_duration_secs(s).map_err(|e| cx.err(&key(what), e))?,
            (false, v) => num(v).ok_or_else(|| cx.err(&key(what), format!("must be a number, got {v}")))?,
            (true, v) => {
                return Err(cx.err(
                    &key(what),
                    format!("must be a duration like \"2s\" (as if_range), got {v}"),
                ))
            }
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(cx.err(&key(what), "must be finite"))
        }
    };
    let (from, to) = (as_num(ends[0], "if_range")?, as_num(ends[1], "if_range")?);
    if from == to {
        return Err(cx.err(&key("if_range"), "from and to must differ"));
    }
    let step = match t.get("if_step") {
        None => 1.0,
        Some(v) => as_num(v, "if_step")?,
    };
    if step <= 0.0 {
        return Err(cx.err(&key("if_step"), "must be positive"));
    }
    let n = ((to - from).abs() / step + 1e-9).floor() as usize + 1;
    if n > 10_000 {
        return Err(cx.err(&key("if_step"), format!("{n} values to search: use a larger step")));
    }
    let ascending = to > from;
    let integral = !duration && from.fract() == 0.0 && step.fract() == 0.0;
    let values = (0..n)
        .map(|k| {
            let x = if ascending {
                from + step * k as f64
            } else {
                from - step * k as f64
            };
            let x = (x * 1e9).round() / 1e9;
            let text = if duration {
                format!("{x}s")
            } else if integral {
                format!("{}", x as i64)
            } else {
                format!("{x}")
            };
            (text, x)
        })
        .collect();
    Ok(Some(ClaimCondition {
        key: knob.clone(),
        values,
        ascending,
        duration,
    }))
}

/// `littles_law = { users, think_time | concurrency, throughput, latency,
/// tolerance }`; users and think time default to the scenario's closed
/// workloads.
fn parse_littles_law(
    cx: &Ctx,
    key: &str,
    v: &toml::Value,
    workloads: &[Workload],
) -> Result<LittlesLaw, ScenarioError> {
    let toml::Value::Table(t) = v else {
        return Err(cx.err(
            key,
            "must be a table, e.g. { users = 50, think_time = \"0s\", throughput = 150, latency = \"65ms\" }",
        ));
    };
    const KEYS: [&str; 6] = [
        "users",
        "think_time",
        "concurrency",
        "throughput",
        "latency",
        "tolerance",
    ];
    for k in t.keys() {
        if !KEYS.contains(&k.as_str()) {
            let hint = did_you_mean(k, KEYS)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                &format!("{key}.{k}"),
                format!("unknown key `{k}`{hint} (allowed: {})", KEYS.join(", ")),
            ));
        }
    }
    let sub = |k: &str| format!("{key}.{k}");
    let positive = |k: &str| -> Result<Option<f64>, ScenarioError> {
        match t.get(k) {
            None => Ok(None),
            Some(v) => match num(v) {
                Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
                _ => Err(cx.err(&sub(k), format!("must be a positive number, got {v}"))),
            },
        }
    };
    let duration = |k: &str| -> Result<Option<f64>, ScenarioError> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => parse_duration_secs(s).map(Some).map_err(|e| cx.err(&sub(k), e)),
            Some(v) => Err(cx.err(&sub(k), format!("must be a duration such as \"65ms\", got {v}"))),
        }
    };
    let throughput =
        positive("throughput")?.ok_or_else(|| cx.err(key, "give the stated `throughput` (requests per second)"))?;
    let latency = duration("latency")?.filter(|x| *x > 0.0).ok_or_else(|| {
        cx.err(
            key,
            "give the stated mean `latency` as a positive duration, e.g. \"65ms\"",
        )
    })?;
    let tolerance = match t.get("tolerance") {
        None => 0.2,
        Some(v) => match num(v) {
            Some(x) if (0.0..10.0).contains(&x) => x,
            _ => {
                return Err(cx.err(
                    &sub("tolerance"),
                    format!("a relative mismatch between 0 and 10, got {v}"),
                ))
            }
        },
    };
    let (population, population_from) = match (positive("users")?, positive("concurrency")?) {
        (Some(_), Some(_)) => {
            return Err(cx.err(
                &sub("concurrency"),
                "give `users` (closed, with think_time) or `concurrency` (requests in flight), not both",
            ))
        }
        (None, Some(c)) => {
            if t.contains_key("think_time") {
                return Err(cx.err(&sub("think_time"), "think_time goes with `users`, not `concurrency`"));
            }
            (Population::Concurrency(c), "littles_law.concurrency".to_string())
        }
        (Some(n), None) => (
            Population::Users {
                users: n,
                think: duration("think_time")?.unwrap_or(0.0),
            },
            "littles_law.users".to_string(),
        ),
        (None, None) => {
            let closed: Vec<(f64, f64)> = workloads
                .iter()
                .filter_map(|w| match &w.arrival {
                    Arrival::Closed { think, .. } => {
                        Some((w.tenants as f64 * w.arrival.max_users() as f64, think.mean_secs()))
                    }
                    _ => None,
                })
                .collect();
            let n: f64 = closed.iter().map(|c| c.0).sum();
            if n <= 0.0 {
                return Err(cx.err(
                    key,
                    "the scenario has no closed workload to take the users from: give `users` (and `think_time`) or `concurrency`",
                ));
            }
            let think = match duration("think_time")? {
                Some(z) => z,
                None => closed.iter().map(|c| c.0 * c.1).sum::<f64>() / n,
            };
            (
                Population::Users { users: n, think },
                "the scenario's closed workloads".to_string(),
            )
        }
    };
    Ok(LittlesLaw {
        population,
        throughput,
        latency,
        tolerance,
        population_from,
    })
}

fn parse_slo(
    cx: &Ctx,
    slo: Option<&toml::Table>,
    tiers: &[String],
    components: Components,
) -> Result<Vec<SloCheck>, ScenarioError> {
    let mut checks = Vec::new();
    let Some(slo) = slo else { return Ok(checks) };
    let mut add = |key_prefix: &str, t: &toml::Table, tier: Option<usize>| -> Result<(), ScenarioError> {
        for (k, v) in t {
            if tier.is_none() && (k == "tier" || k == "stage") {
                continue;
            }
            let key = format!("{key_prefix}.{k}");
            // `latency_p95 = "500ms"` or the metric's own name `latency_p95_s = 0.5`.
            let def = names::metric(k)
                .or_else(|| names::metric(&format!("{k}_s")))
                .ok_or_else(|| {
                    let all = names::METRICS.iter().map(|m| m.name.trim_end_matches("_s"));
                    let hint = did_you_mean(k, all)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    cx.err(
                        &key,
                        format!(
                            "`{k}` is not a metric an SLO can check{hint} (see `tenantsim run --help` for the list)"
                        ),
                    )
                })?;
            if !components.has(def.needs) {
                return Err(cx.err(
                    &key,
                    format!(
                        "`{k}` needs a {:?} component, which this scenario does not have",
                        def.needs
                    ),
                ));
            }
            if tier.is_some() && !def.per_tier {
                return Err(cx.err(&key, format!("`{k}` is not reported per tier")));
            }
            let limit = match (def.unit, v) {
                (Unit::Seconds, toml::Value::String(s)) => parse_duration_secs(s).map_err(|m| cx.err(&key, m))?,
                (Unit::Seconds, _) if !k.ends_with("_s") => {
                    return Err(cx.err(&key, format!("a latency limit is a duration, e.g. {k} = \"500ms\"")));
                }
                (_, v) => num(v).ok_or_else(|| cx.err(&key, format!("must be a number, got {v}")))?,
            };
            if def.unit == Unit::Ratio {
                ratio(cx, &key, &format!("`{k}`"), limit, false)?;
            }
            if !(limit.is_finite() && limit >= 0.0) {
                return Err(cx.err(&key, "must be zero or positive"));
            }
            checks.push(SloCheck {
                name: k.trim_end_matches("_s").to_string(),
                metric: def.name,
                tier,
                stage: None,
                limit,
                bound: if def.better == Better::Higher {
                    Bound::AtLeast
                } else {
                    Bound::AtMost
                },
            });
        }
        Ok(())
    };
    add("slo", slo, None)?;
    if let Some(tt) = slo.get("tier") {
        let tt = tt
            .as_table()
            .ok_or_else(|| cx.err("slo.tier", "must be a table of tiers: [slo.tier.NAME]"))?;
        for (name, t) in tt {
            let idx = tiers.iter().position(|n| n == name).ok_or_else(|| {
                cx.err(
                    &format!("slo.tier.{name}"),
                    format!("no tier named `{name}` (tiers: {})", tiers.join(", ")),
                )
            })?;
            let t = t
                .as_table()
                .ok_or_else(|| cx.err(&format!("slo.tier.{name}"), "must be a table"))?;
            add(&format!("slo.tier.{name}"), t, Some(idx))?;
        }
    }
    Ok(checks)
}

/// `[[endpoint.NAME.stage]]`: names unique within the endpoint, each stage
/// with `cpu`, `wait` or both, `fail` a probability.
fn parse_stages(cx: &Ctx, key: &str, raw: &[super::raw::RawStage]) -> Result<Vec<Stage>, ScenarioError> {
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

/// `[slo.stage.NAME]`: limits on one request stage's latency
/// (`latency_mean`, `latency_p50`, `latency_p95`, `latency_p99`) or
/// `failure_rate`. NAME is `endpoint.stage`, or the stage's name alone when
/// only one endpoint has a stage of that name.
fn parse_stage_slo(
    cx: &Ctx,
    slo: Option<&toml::Table>,
    endpoints: &[Endpoint],
) -> Result<Vec<SloCheck>, ScenarioError> {
    let mut checks = Vec::new();
    let Some(st) = slo.and_then(|s| s.get("stage")) else {
        return Ok(checks);
    };
    let st = st
        .as_table()
        .ok_or_else(|| cx.err("slo.stage", "must be a table of stages: [slo.stage.NAME]"))?;
    let all: Vec<String> = endpoints
        .iter()
        .flat_map(|e| e.stages.iter().map(move |s| format!("{}.{}", e.name, s.name)))
        .collect();
    let allowed: Vec<&str> = STAGE_METRICS.iter().map(|(m, _)| m.trim_end_matches("_s")).collect();
    for (name, t) in st {
        let key = format!("slo.stage.{name}");
        let matches: Vec<&String> = all
            .iter()
            .filter(|q| *q == name || q.split_once('.').is_some_and(|(_, s)| s == name))
            .collect();
        let qualified = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => {
                let bare = all.iter().filter_map(|q| q.split_once('.').map(|(_, s)| s));
                let hint = did_you_mean(name, all.iter().map(|s| s.as_str()).chain(bare))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &key,
                    if all.is_empty() {
                        "no endpoint has stages ([[endpoint.NAME.stage]])".to_string()
                    } else {
                        format!("no stage named `{name}` (stages: {}){hint}", all.join(", "))
                    },
                ));
            }
            several => {
                return Err(cx.err(
                    &key,
                    format!(
                        "`{name}` is a stage of several endpoints: write [slo.stage.\"ENDPOINT.{name}\"] ({})",
                        several.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        let t = t.as_table().ok_or_else(|| cx.err(&key, "must be a table"))?;
        for (k, v) in t {
            let kk = format!("{key}.{k}");
            let Some(&(metric, is_ratio)) = STAGE_METRICS
                .iter()
                .find(|(m, _)| *m == k || m.trim_end_matches("_s") == k)
            else {
                let hint = did_you_mean(k, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &kk,
                    format!("`{k}` is not a stage metric; allowed: {}{hint}", allowed.join(", ")),
                ));
            };
            let limit = match v {
                toml::Value::String(s) if !is_ratio => parse_duration_secs(s).map_err(|m| cx.err(&kk, m))?,
                _ if !is_ratio && !k.ends_with("_s") => {
                    return Err(cx.err(&kk, format!("a latency limit is a duration, e.g. {k} = \"50ms\"")));
                }
                v => num(v).ok_or_else(|| cx.err(&kk, format!("must be a number, got {v}")))?,
            };
            if is_ratio {
                ratio(cx, &kk, &format!("`{k}`"), limit, false)?;
            }
            if !(limit.is_finite() && limit >= 0.0) {
                return Err(cx.err(&kk, "must be zero or positive"));
            }
            checks.push(SloCheck {
                name: format!("stage_{}", metric.trim_end_matches("_s")),
                metric,
                tier: None,
                stage: Some(qualified.clone()),
                limit,
                bound: Bound::AtMost,
            });
        }
    }
    Ok(checks)
}

const MEMORY_ACTIONS: &[&str] = &["shrink-cache", "shed", "restart", "prune-connections", "emergency-gc"];

/// `[memory]`: cache memory, OOM kills, and the monitor's actions.
fn parse_memory(
    cx: &Ctx,
    m: &super::raw::RawMemory,
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
            "prune-connections" => {
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
                            format!("`{o}`: allowed are idle (longest without a message first) and oldest (longest connected first)"),
                        ))
                    }
                };
                let reconnect = match f.t.get("reconnect") {
                    None => true,
                    Some(toml::Value::Boolean(b)) => *b,
                    Some(v) => return Err(cx.err(&f.path("reconnect"), format!("must be true or false, got {v}"))),
                };
                MemoryActionKind::PruneSessions {
                    fraction,
                    oldest,
                    reconnect,
                }
            }
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

/// A workload's `sessions`: `{ per_tenant = N }` or `{ rate_per_s, lifetime }`.
fn parse_session_population(
    cx: &Ctx,
    key: &str,
    p: &super::raw::RawSessionPopulation,
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
fn parse_sessions(cx: &Ctx, r: &super::raw::RawSessions) -> Result<SessionSpec, ScenarioError> {
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
    let b = r.backoff.clone().unwrap_or_default();
    let backoff_base = b.base.map(secs).unwrap_or(SimTime::from_secs(1));
    let backoff_max = b.max.map(secs).unwrap_or(SimTime::from_secs(30));
    if backoff_max < backoff_base {
        return Err(cx.err(
            "sessions.backoff.max",
            format!("the longest backoff ({backoff_max}) is shorter than the base ({backoff_base})"),
        ));
    }
    let jitter = match b.jitter.as_deref() {
        None | Some("full") => Jitter::Full,
        Some("none") => Jitter::None,
        Some("equal") => Jitter::Equal,
        Some(o) => {
            return Err(cx.err(
                "sessions.backoff.jitter",
                format!("`{o}`: allowed jitters are none, full, equal"),
            ))
        }
    };
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

/// `[[background]]`: named periodic tasks with a CPU demand.
fn parse_background(cx: &Ctx, raw: &[super::raw::RawBackground]) -> Result<Vec<BackgroundTask>, ScenarioError> {
    let mut tasks: Vec<BackgroundTask> = Vec::new();
    for (i, b) in raw.iter().enumerate() {
        let key = format!("background.{i}");
        let name = b.name.clone().unwrap_or_else(|| format!("task{i}"));
        if tasks.iter().any(|t| t.name == name) {
            return Err(cx.err(
                &format!("{key}.name"),
                format!("a second background task named `{name}`"),
            ));
        }
        let period = match b.period.map(secs) {
            Some(p) if p > SimTime::ZERO => p,
            Some(_) => return Err(cx.err(&format!("{key}.period"), "must be longer than zero")),
            None => {
                return Err(cx.err(
                    &key,
                    "missing `period`, how often the task runs on each instance, e.g. period = \"5m\"",
                ))
            }
        };
        let cpu = match &b.cpu {
            Some(v) => parse_dist(cx, &format!("{key}.cpu"), v)?,
            None => {
                return Err(cx.err(
                    &key,
                    "missing `cpu`, the CPU work of one run, e.g. cpu = { dist = \"exponential\", mean = \"2s\" }",
                ))
            }
        };
        tasks.push(BackgroundTask { name, period, cpu });
    }
    Ok(tasks)
}

/// `[pauses]`: `interval` or `rate_per_s`, and a `duration` distribution.
fn parse_pauses(cx: &Ctx, p: &super::raw::RawPauses) -> Result<PauseSpec, ScenarioError> {
    let every = match (p.interval.map(secs), p.rate_per_s) {
        (Some(i), None) if i > SimTime::ZERO => PauseEvery::Interval(i),
        (Some(_), None) => return Err(cx.err("pauses.interval", "must be longer than zero")),
        (None, Some(r)) if r.is_finite() && r > 0.0 => {
            check_stream_rate(cx, "pauses.rate_per_s", r, 1, "instance", "pauses")?;
            PauseEvery::Poisson(r)
        }
        (None, Some(r)) => return Err(cx.err("pauses.rate_per_s", format!("must be a positive number, got {r}"))),
        _ => {
            return Err(cx.err(
                "pauses",
                "give exactly one of `interval` (periodic, e.g. interval = \"5m\") or `rate_per_s` (at random)",
            ))
        }
    };
    let duration = match &p.duration {
        Some(v) => parse_dist(cx, "pauses.duration", v)?,
        None => {
            return Err(cx.err(
                "pauses",
                "missing `duration`, how long one pause stops the instance, e.g. duration = { dist = \"lognormal\", mean = \"50ms\", cv = 0.5 }",
            ))
        }
    };
    Ok(PauseSpec { every, duration })
}

/// `clients = { addresses, zipf, shared }` of a workload.
fn parse_clients(cx: &Ctx, key: &str, c: &super::raw::RawClients) -> Result<ClientSpace, ScenarioError> {
    let (addresses, zipf) = zipf_population(
        cx,
        key,
        (
            "addresses",
            "the number of client addresses (per tenant unless shared = true)",
        ),
        c.addresses,
        c.zipf,
    )?;
    Ok(ClientSpace {
        addresses: addresses as u32,
        zipf,
        shared: c.shared.unwrap_or(false),
    })
}

/// A Zipf population of table `key` (`keys`, `clients`): its size, under
/// `count = (name, what it is)`, required and within 1..=10^9, and its
/// exponent `zipf` within [0, 5] (default 0, uniform).
fn zipf_population(
    cx: &Ctx,
    key: &str,
    count: (&str, &str),
    n: Option<i64>,
    zipf: Option<f64>,
) -> Result<(u64, f64), ScenarioError> {
    let (name, what) = count;
    let n = n.ok_or_else(|| cx.err(key, format!("missing `{name}`, {what}")))?;
    if !(1..=1_000_000_000).contains(&n) {
        return Err(cx.err(
            &format!("{key}.{name}"),
            format!("must be between 1 and 1,000,000,000, got {n}"),
        ));
    }
    let zipf = zipf.unwrap_or(0.0);
    if !(zipf.is_finite() && (0.0..=5.0).contains(&zipf)) {
        return Err(cx.err(
            &format!("{key}.zipf"),
            format!("the Zipf exponent must be between 0 (uniform) and 5, got {zipf}"),
        ));
    }
    Ok((n as u64, zipf))
}

/// `[database.replicas]`; `count = 0` means none (handy in sweeps).
fn parse_replicas(
    cx: &Ctx,
    r: &super::raw::RawReplicas,
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

const LIMIT_DIMENSIONS: &[&str] = &["tenant", "ip", "endpoint"];

/// A list of names (a string is a list of one), each looked up in `names`.
fn name_list(cx: &Ctx, key: &str, v: &toml::Value, names: &[&str], what: &str) -> Result<Vec<usize>, ScenarioError> {
    let items: Vec<&toml::Value> = match v {
        toml::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for (j, x) in items.into_iter().enumerate() {
        let Some(s) = x.as_str() else {
            return Err(cx.err(key, format!("must be a {what} name or a list of them, got {x}")));
        };
        let i = names.iter().position(|n| *n == s).ok_or_else(|| {
            let hint = did_you_mean(s, names.iter().copied())
                .map(|h| format!("; did you mean `{h}`?"))
                .unwrap_or_default();
            cx.err(
                &format!("{key}.{j}"),
                format!("no {what} named `{s}` ({what}s: {}){hint}", names.join(", ")),
            )
        })?;
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

/// `[[rate_limit]]` tables and the `[rate_limit_store]`.
fn parse_rate_limits(
    cx: &Ctx,
    tables: &[toml::Table],
    store: Option<&super::raw::RawLimitStore>,
    tier_names: &[String],
    endpoint_names: &[&str],
    workloads: &[Workload],
    warnings: &mut Vec<String>,
) -> Result<(Vec<RateLimiterSpec>, Option<LimitStoreSpec>), ScenarioError> {
    use crate::model::limiter::{LimitAlgorithm, LimitKey, Limiter};
    let tiers: Vec<&str> = tier_names.iter().map(|s| s.as_str()).collect();
    let mut out: Vec<RateLimiterSpec> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let key = format!("rate_limit.{i}");
        let f = Fields { cx, key: &key, t };
        let name = f.str("name")?.map_or_else(|| format!("limit-{i}"), String::from);
        if out.iter().any(|l| l.name == name) {
            return Err(cx.err(&f.path("name"), format!("rate limit `{name}` is defined twice")));
        }
        let algorithm = match f.str("algorithm")? {
            None | Some("token-bucket") => {
                f.check_keys(
                    &[
                        "name",
                        "algorithm",
                        "per",
                        "endpoints",
                        "tiers",
                        "state",
                        "local_limit",
                        "rate_per_s",
                        "burst",
                    ],
                    "a token-bucket limiter",
                )?;
                let rate_per_s = f.positive("rate_per_s")?;
                let burst = f.opt_num("burst")?.unwrap_or(1.0);
                if !(burst.is_finite() && burst >= 1.0) {
                    return Err(cx.err(
                        &f.path("burst"),
                        format!("must be at least 1 (the bucket must hold one request), got {burst}"),
                    ));
                }
                LimitAlgorithm::TokenBucket { rate_per_s, burst }
            }
            Some(a @ ("fixed-window" | "sliding-window")) => {
                f.check_keys(
                    &[
                        "name",
                        "algorithm",
                        "per",
                        "endpoints",
                        "tiers",
                        "state",
                        "local_limit",
                        "limit",
                        "window",
                    ],
                    &format!("a {a} limiter"),
                )?;
                let limit = f.positive("limit")?;
                if limit.fract() != 0.0 || limit > 1e9 {
                    return Err(cx.err(
                        &f.path("limit"),
                        format!("a whole number of requests per window, got {limit}"),
                    ));
                }
                let window = SimTime::from_secs_f64(f.dur("window")?);
                if window == SimTime::ZERO {
                    return Err(cx.err(&f.path("window"), "must be longer than zero"));
                }
                let limit = limit as u32;
                if a == "fixed-window" {
                    LimitAlgorithm::FixedWindow { limit, window }
                } else {
                    LimitAlgorithm::SlidingWindow { limit, window }
                }
            }
            Some(o) => {
                return Err(cx.err(
                    &f.path("algorithm"),
                    format!("`{o}`: allowed algorithms are {}", LimitAlgorithm::NAMES.join(", ")),
                ))
            }
        };
        let per = match t.get("per") {
            None => LimitKey {
                tenant: true,
                ..Default::default()
            },
            Some(toml::Value::String(s)) if s == "global" => LimitKey::default(),
            Some(v) => {
                let mut k = LimitKey::default();
                for d in name_list(cx, &f.path("per"), v, LIMIT_DIMENSIONS, "key dimension")? {
                    match d {
                        0 => k.tenant = true,
                        1 => k.ip = true,
                        _ => k.endpoint = true,
                    }
                }
                k
            }
        };
        let endpoints = match t.get("endpoints") {
            None => None,
            Some(v) => Some(name_list(cx, &f.path("endpoints"), v, endpoint_names, "endpoint")?),
        };
        let tier_filter = match t.get("tiers") {
            None => None,
            Some(v) => Some(name_list(cx, &f.path("tiers"), v, &tiers, "tier")?),
        };
        let shared = match f.str("state")? {
            None | Some("local") => false,
            Some("shared") => true,
            Some(o) => {
                return Err(cx.err(
                    &f.path("state"),
                    format!("`{o}`: allowed states are local (counters per instance), shared (in [rate_limit_store])"),
                ))
            }
        };
        let divided = match f.str("local_limit")? {
            None | Some("full") => false,
            Some("divided") if !shared => true,
            Some("divided") => {
                return Err(cx.err(
                    &f.path("local_limit"),
                    "`divided` splits a local limit among instances; a shared limiter has one counter for all",
                ))
            }
            Some(o) => {
                return Err(cx.err(
                    &f.path("local_limit"),
                    format!("`{o}`: allowed are full (each instance enforces the whole limit), divided (limit / ready instances)"),
                ))
            }
        };
        if per.ip {
            for (w, wl) in workloads.iter().enumerate() {
                let seen = tier_filter.as_ref().is_none_or(|t| t.contains(&wl.tier))
                    && wl
                        .mix
                        .iter()
                        .any(|(e, _)| endpoints.as_ref().is_none_or(|x| x.contains(e)));
                if seen && wl.clients.is_none() {
                    return Err(cx.err(
                        &format!("workload.{w}"),
                        format!(
                            "rate limit `{name}` is per ip: give this workload its client addresses, e.g. clients = {{ addresses = 1000, zipf = 1.0 }}"
                        ),
                    ));
                }
            }
        }
        out.push(RateLimiterSpec {
            name,
            limiter: Limiter { algorithm, per },
            endpoints,
            tiers: tier_filter,
            shared,
            divided,
        });
    }
    let any_shared = out.iter().any(|l| l.shared);
    let store = match store {
        None if any_shared => {
            return Err(cx.err(
                "rate_limit",
                "a limiter with state = \"shared\" keeps its counters in a [rate_limit_store]: add one, e.g. [rate_limit_store] latency = { dist = \"lognormal\", mean = \"500us\", cv = 0.5 }",
            ))
        }
        None => None,
        Some(s) => {
            if !any_shared {
                warnings.push("a [rate_limit_store] is configured but no [[rate_limit]] has state = \"shared\": it is never called".into());
            }
            let latency = match &s.latency {
                Some(v) => parse_dist(cx, "rate_limit_store.latency", v)?,
                None => return Err(cx.err("rate_limit_store", "missing `latency`, the round trip of one call, e.g. latency = \"500us\"")),
            };
            if let Some(r) = s.ops_per_s {
                if !(r.is_finite() && r > 0.0) {
                    return Err(cx.err(
                        "rate_limit_store.ops_per_s",
                        format!("must be a positive rate of calls per second (leave it out for no limit), got {r}"),
                    ));
                }
            }
            Some(LimitStoreSpec {
                latency,
                ops_per_s: s.ops_per_s,
            })
        }
    };
    Ok((out, store))
}
