//! What protects the system under failure and overload: `[retry]` into
//! [`RetrySpec`], `[shedding]` into a shed policy (signal, limit, priority
//! step), and `[breaker.database]` / `[breaker.cache]` into [`Breakers`]
//! (each needs what it protects; `stale` only for the database, a cache
//! breaker needs `slow_call`).

use super::*;
use crate::raw::RawScenario;

/// `[breaker.database]` and `[breaker.cache]`, against the database and
/// caches they protect.
pub(super) fn breakers(
    cx: &Ctx,
    raw: &RawScenario,
    database: &Option<DatabaseSpec>,
    cache: &CacheSpec,
) -> Result<Breakers, ScenarioError> {
    let rb = raw.breaker.clone().unwrap_or_default();
    Ok(Breakers {
        database: match &rb.database {
            None => None,
            Some(b) => {
                if database.is_none() {
                    return Err(cx.err("breaker.database", "a database breaker needs a [database] to protect"));
                }
                let spec = parse_breaker(cx, "breaker.database", b)?;
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
                let spec = parse_breaker(cx, "breaker.cache", b)?;
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
    })
}

pub(super) fn parse_retry(cx: &Ctx, r: &crate::raw::RawRetry) -> Result<RetrySpec, ScenarioError> {
    let attempts = r.attempts.unwrap_or(3);
    if !(1..=100).contains(&attempts) {
        return Err(cx.err(
            "retry.attempts",
            "must be between 1 (no retry) and 100: the number of attempts, the first included",
        ));
    }
    let (base, max, jitter) = backoff(
        cx,
        "retry",
        r.backoff.as_ref(),
        SimTime::from_secs_f64(0.1),
        SimTime::from_secs(10),
    )?;
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

const SHED_SIGNALS: &[&str] = &["queue-length", "queue-delay", "cpu"];

/// `[shedding]`: the overload signal, its limit, and the priority step.
pub(super) fn parse_shedding(
    cx: &Ctx,
    t: &toml::Table,
) -> Result<tenantsim_model::shedding::ShedPolicy, ScenarioError> {
    use tenantsim_model::shedding::{ShedPolicy, ShedSignal};
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
fn parse_breaker(cx: &Ctx, key: &str, b: &crate::raw::RawBreaker) -> Result<BreakerSpec, ScenarioError> {
    use tenantsim_model::breaker::{BreakerConfig, Trip};
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
