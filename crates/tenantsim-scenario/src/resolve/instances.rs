//! `[instance]` into [`InstanceSpec`] (cores, workers, queue, memory,
//! start-up, cost, load balancer, drain timeout, scale-in order; required,
//! with at least one initial instance and at most 100,000), and what runs on
//! every instance besides requests: `[[background]]` tasks and `[pauses]`.

use super::*;
use crate::raw::RawScenario;
use std::path::Path;

/// `[instance]`, required.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    top: &Path,
    warnings: &mut Vec<String>,
) -> Result<InstanceSpec, ScenarioError> {
    let ri = raw.instance.clone().ok_or_else(|| {
        ScenarioError::new("no [instance] table: say what serves the requests, e.g.\n  [instance]\n  cores = 2\n  workers = 2\n  initial = 1").in_file(top)
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
        none_ready: match ri.none_ready.as_deref() {
            None | Some("fail") => NoneReady::Fail,
            Some("wait") => NoneReady::Wait,
            Some(o) => {
                return Err(cx.err(
                    "instance.none_ready",
                    format!("`{o}`: allowed: fail (refused at once), wait (held until an instance is ready)"),
                ))
            }
        },
    };
    if base_memory_mb > memory_mb {
        warnings.push(format!(
            "instance.base_memory_mb ({base_memory_mb}) exceeds instance.memory_mb ({memory_mb}): memory utilization will be above 1"
        ));
    }
    Ok(instance)
}

/// `[[background]]`: named periodic tasks with a CPU demand.
pub(super) fn parse_background(
    cx: &Ctx,
    raw: &[crate::raw::RawBackground],
) -> Result<Vec<BackgroundTask>, ScenarioError> {
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
pub(super) fn parse_pauses(cx: &Ctx, p: &crate::raw::RawPauses) -> Result<PauseSpec, ScenarioError> {
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
