//! `[[fault]]` into [`FaultSpec`]s: the `kind` (instance-crash,
//! random-crashes, zone-outage, db-slowdown, cache-flush, cache-slowdown,
//! latency-spike) with only its own keys, its start `at`, durations,
//! factors and fractions, and the endpoint a latency spike hits; a cache
//! slowdown needs a `[cache.l2]`.

use super::*;
use crate::raw::RawScenario;

/// `[[fault]]`, in file order.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    endpoints: &[Endpoint],
    cache: &CacheSpec,
) -> Result<Vec<FaultSpec>, ScenarioError> {
    let mut faults = Vec::new();
    for (i, t) in raw.fault.clone().unwrap_or_default().iter().enumerate() {
        faults.push(parse_fault(cx, i, t, endpoints)?);
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
    Ok(faults)
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
