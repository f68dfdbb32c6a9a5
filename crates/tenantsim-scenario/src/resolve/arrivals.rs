//! A workload's `arrival` table into an [`Arrival`]: `process` poisson,
//! deterministic, diurnal, steps, mmpp (open, per tenant, at most
//! 1,000,000 arrivals/s in all), closed (users, think time, stages or a
//! finite `requests_per_user`) or trace (a CSV read by [`crate::read_trace`],
//! relative to the file that names it), each with only its own keys.

use super::*;

const PROCESSES: &[&str] = &[
    "poisson",
    "deterministic",
    "diurnal",
    "steps",
    "mmpp",
    "closed",
    "trace",
];

pub(super) fn parse_arrival(
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
    // rate × tenants (tenantsim_model::workload), so that is what the clock
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
        "steps" => steps(&f, &fine)?,
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
        "closed" => closed(&f, tenants)?,
        "trace" => trace(&f, tenants, endpoint_names, tier_name)?,
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

/// `process = "steps"`: `[time, rate]` pairs from which a per-tenant rate
/// applies, `spacing` exponential or deterministic.
fn steps(f: &Fields, fine: &dyn Fn(&str, f64) -> Result<(), ScenarioError>) -> Result<Arrival, ScenarioError> {
    let (cx, key, t) = (f.cx, f.key, f.t);
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
    Ok(Arrival::Steps { steps, exponential })
}

/// `process = "closed"`: users per tenant, think time, k6-style `stages`
/// or a finite `requests_per_user`.
fn closed(f: &Fields, tenants: u32) -> Result<Arrival, ScenarioError> {
    let (cx, key, t) = (f.cx, f.key, f.t);
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
            let pair = s.as_array().filter(|p| p.len() == 2).ok_or_else(|| {
                cx.err(
                    &ki,
                    "each stage is [\"duration\", users]: ramp linearly to `users` (per tenant) over `duration`",
                )
            })?;
            let d = pair[0]
                .as_str()
                .ok_or_else(|| cx.err(&ki, "a stage's first element is its duration, a string such as \"2m\""))?;
            let d = parse_duration_secs(d).map_err(|m| cx.err(&ki, m))?;
            let target =
                num(&pair[1]).ok_or_else(|| cx.err(&ki, "a stage's second element is a number of users per tenant"))?;
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
    Ok(Arrival::Closed {
        users,
        think,
        stages,
        requests_per_user,
    })
}

/// `process = "trace"`: a CSV `file` (relative to the scenario file that
/// names it), `speedup`, `rate_multiplier`, `select_tenants`.
fn trace(f: &Fields, tenants: u32, endpoint_names: &[&str], tier_name: &str) -> Result<Arrival, ScenarioError> {
    let (cx, key, t) = (f.cx, f.key, f.t);
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
                format!("must be a non-empty list of tenant ids or indices, e.g. [\"acme\", \"globex\"], got {v}"),
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
    Ok(Arrival::Trace {
        events: Arc::new(events),
        file: path,
    })
}
