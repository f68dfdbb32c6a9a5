//! From the merged raw scenario to a validated [`Scenario`]: defaults,
//! required keys, ranges, cross-references, and warnings.
//!
//! [`resolve()`] runs one function per section, in a fixed order (the first
//! error found is the one reported): [`simulation`], [`endpoints`],
//! [`tiers`], [`workloads`] (with [`arrivals`]), [`instances`],
//! [`autoscaler`], [`data`] (database and pool), [`host`], [`caches`], retry,
//! [`faults`], shedding, [`memory`], [`rate_limits`], background tasks and
//! pauses, [`sessions`], breakers ([`resilience`]), then claims and SLOs
//! ([`claims`]). This module holds what they share: the [`Ctx`] that
//! locates errors, [`Fields`] for inline tables, [`ratio`], [`parse_dist`]
//! and [`check_stream_rate`].

use super::error::{did_you_mean, ScenarioError};
use super::raw::Duration;
use super::source::{display_path, parse_path, Sources};
use super::units::parse_duration_secs;
use super::*;
use std::sync::Arc;
use tenantsim_engine::{Dist, SimTime};

mod arrivals;
mod assumptions;
mod autoscaler;
mod caches;
mod claims;
mod data;
mod endpoints;
mod faults;
mod host;
mod instances;
mod memory;
mod rate_limits;
mod resilience;
mod sessions;
mod simulation;
mod tiers;
mod workloads;

mod statements;
use claims::{parse_claims, parse_slo, parse_stage_slo, Components};
use instances::{parse_background, parse_pauses};
use memory::parse_memory;
use rate_limits::parse_rate_limits;
use resilience::{parse_retry, parse_shedding};

pub(super) struct Ctx<'a> {
    pub(super) sources: &'a Sources,
}

impl Ctx<'_> {
    /// Refuse a key of table `t` (at `at`, e.g. `claim.3`) not in `allowed`:
    /// "unknown key `k`{what}; did you mean …? (allowed: …)", located at the
    /// key's line. `what` is e.g. " in a claim", or empty.
    fn refuse_unknown_keys(
        &self,
        at: &str,
        t: &toml::Table,
        allowed: &[&str],
        what: &str,
    ) -> Result<(), ScenarioError> {
        match t.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => {
                let hint = did_you_mean(k, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                Err(self.err(
                    &format!("{at}.{k}"),
                    format!("unknown key `{k}`{what}{hint} (allowed: {})", allowed.join(", ")),
                ))
            }
        }
    }

    /// An error about `key` (dotted, numbers index lists), located in the
    /// file that sets it.
    pub(super) fn err(&self, key: &str, msg: impl Into<String>) -> ScenarioError {
        let segs = parse_path(key);
        self.sources
            .locate_error(ScenarioError::at_key(display_path(&segs), msg), &segs)
    }
}

fn secs(d: Duration) -> SimTime {
    SimTime::from_secs_f64(d.0)
}

/// `<section>.backoff` (retries and session reconnects share its shape):
/// base and max delay, with the section's defaults, and the jitter.
fn backoff(
    cx: &Ctx,
    section: &str,
    raw: Option<&super::raw::RawBackoff>,
    default_base: SimTime,
    default_max: SimTime,
) -> Result<(SimTime, SimTime, Jitter), ScenarioError> {
    let b = raw.cloned().unwrap_or_default();
    let base = b.base.map(secs).unwrap_or(default_base);
    let max = b.max.map(secs).unwrap_or(default_max);
    if max < base {
        return Err(cx.err(
            &format!("{section}.backoff.max"),
            format!("the longest backoff ({max}) is shorter than the base ({base})"),
        ));
    }
    let jitter = match b.jitter.as_deref() {
        None | Some("full") => Jitter::Full,
        Some("none") => Jitter::None,
        Some("equal") => Jitter::Equal,
        Some(o) => {
            return Err(cx.err(
                &format!("{section}.backoff.jitter"),
                format!("`{o}`: allowed jitters are none, full, equal"),
            ))
        }
    };
    Ok((base, max, jitter))
}

/// Resolve the scenario section by section, in a fixed order: later
/// sections are checked against earlier ones, the first error found is the
/// one reported, and the order is part of the output (warnings).
pub(super) fn resolve(mut sources: Sources, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    for o in overrides {
        sources.apply_set(o)?;
    }
    // Types and ranges, with the key and the --set that put a value there.
    let raw = sources.raw()?;
    let cx = Ctx { sources: &sources };
    let top = sources.files.first().map(|f| f.path.clone()).unwrap_or_default();
    let mut warnings = Vec::new();

    let mut simulation = simulation::resolve(&cx, &raw)?;
    let endpoints = endpoints::resolve(&cx, &raw, &top)?;
    let endpoint_names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    let mut tiers = tiers::resolve(&cx, &raw)?;
    let workloads = workloads::resolve(&cx, &raw, &top, &mut tiers, &endpoint_names)?;
    let tier_names: Vec<String> = tiers.iter().map(|t| t.name.clone()).collect();
    let warmup_unset = raw.simulation.as_ref().and_then(|s| s.warmup).is_none();
    workloads::fit_to_run(&cx, warmup_unset, &mut simulation, &workloads, &mut warnings)?;

    let instance = instances::resolve(&cx, &raw, &top, &mut warnings)?;
    let autoscaler = autoscaler::resolve(&cx, &raw, instance.initial, &mut warnings)?;
    let (database, pool) = data::resolve(&cx, &raw, &endpoints, &mut warnings)?;
    let host = host::resolve(
        &cx,
        &raw,
        host::HostContext {
            database: database.is_some(),
            replicas: database.as_ref().is_some_and(|d| d.replicas.is_some()),
            instances: instance.initial,
            autoscaler: autoscaler.is_some(),
        },
    )?;
    let cache = caches::resolve(&cx, &raw, &endpoints, &workloads, &mut warnings)?;
    let retry = raw.retry.as_ref().map(|r| parse_retry(&cx, r)).transpose()?;
    let faults = faults::resolve(&cx, &raw, &endpoints, &cache)?;
    let shedding = raw.shedding.as_ref().map(|t| parse_shedding(&cx, t)).transpose()?;
    let memory = (raw.memory.as_ref())
        .map(|m| parse_memory(&cx, m, &instance, &cache))
        .transpose()?;
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
    let pauses = raw.pauses.as_ref().map(|p| parse_pauses(&cx, p)).transpose()?;
    let sessions = sessions::resolve(&cx, &raw, &workloads, &memory)?;
    let breakers = resilience::breakers(&cx, &raw, &database, &cache)?;

    // [slo]
    let scaling_reference =
        claims::parse_scaling_reference(&cx, raw.slo.as_ref(), autoscaler.is_some(), simulation.duration)?;
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
        autoscaler: autoscaler.is_some(),
        scaling_step: scaling_reference.is_some(),
    };
    let claims = parse_claims(
        &cx,
        raw.claim.as_deref().unwrap_or(&[]),
        &tier_names,
        components,
        &endpoints,
        &workloads,
    )?;
    let assumptions = assumptions::resolve(&cx, raw.assumption.as_deref().unwrap_or(&[]), &mut warnings)?;
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
        host,
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
        scaling_reference,
        claims,
        assumptions,
        warnings,
    };
    Ok(scenario)
}

pub(super) fn num(v: &toml::Value) -> Option<f64> {
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
pub(super) fn ratio(cx: &Ctx, key: &str, what: &str, v: f64, above_zero: bool) -> Result<f64, ScenarioError> {
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
            let d = Dist::deterministic(x).map_err(|m| cx.err(key, m))?;
            check_resolution(cx, key, &d)?;
            return Ok(d);
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
    let d = d.map_err(|m| cx.err(key, m))?;
    check_resolution(cx, key, &d)?;
    Ok(d)
}

/// Refuse a distribution whose mean is above zero but below the clock's
/// tick (1 ns, [`SimTime`]): its draws round to 0 ns, so the delay it
/// stands for vanishes (and a loop through it would never move the clock).
/// Zero itself is allowed: it means "no delay", and says so.
fn check_resolution(cx: &Ctx, key: &str, d: &Dist) -> Result<(), ScenarioError> {
    let mean = d.mean_secs();
    if mean > 0.0 && mean < 1e-9 {
        return Err(cx.err(
            key,
            format!(
                "a mean of {:.3} ns is below the clock's resolution of 1 ns: the clock ticks in nanoseconds, so most draws would round to 0 ns and the delay would vanish; use a mean of at least \"1ns\", or \"0s\" for no delay",
                mean * 1e9
            ),
        ));
    }
    Ok(())
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
    // 1e308 written out is 309 digits: large rates in scientific notation.
    let num = |x: f64| {
        if x.is_infinite() {
            "more than 1e308".to_string()
        } else if x >= 1e12 {
            format!("{x:e}")
        } else {
            format!("{x}")
        }
    };
    let of = if units == 1 {
        format!("{} {stream}/s", num(rate))
    } else {
        format!("{}/s per {per} × {units} {per}s = {} {stream}/s", num(rate), num(total))
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
