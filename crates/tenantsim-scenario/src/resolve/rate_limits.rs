//! `[[rate_limit]]` tables into [`RateLimiterSpec`]s (unique names, the
//! algorithm with its own keys, the key dimensions tenant, ip or endpoint,
//! the endpoints and tiers they apply to, local or shared state, a full or
//! divided local limit; a per-ip limit needs the workloads' client
//! addresses) and `[rate_limit_store]` into [`LimitStoreSpec`] (required by
//! shared limiters, warned about when unused).

use super::*;
use tenantsim_model::limiter::{LimitAlgorithm, LimitKey, Limiter};

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
pub(super) fn parse_rate_limits(
    cx: &Ctx,
    tables: &[toml::Table],
    store: Option<&crate::raw::RawLimitStore>,
    tier_names: &[String],
    endpoint_names: &[&str],
    workloads: &[Workload],
    warnings: &mut Vec<String>,
) -> Result<(Vec<RateLimiterSpec>, Option<LimitStoreSpec>), ScenarioError> {
    let tiers: Vec<&str> = tier_names.iter().map(|s| s.as_str()).collect();
    let mut out: Vec<RateLimiterSpec> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let key = format!("rate_limit.{i}");
        let f = Fields { cx, key: &key, t };
        let name = f.str("name")?.map_or_else(|| format!("limit-{i}"), String::from);
        if out.iter().any(|l| l.name == name) {
            return Err(cx.err(&f.path("name"), format!("rate limit `{name}` is defined twice")));
        }
        let algorithm = parse_algorithm(&f)?;
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
    let store = parse_store(cx, store, any_shared, warnings)?;
    Ok((out, store))
}

/// A limiter's `algorithm` (token-bucket by default, fixed-window,
/// sliding-window) with its own keys.
fn parse_algorithm(f: &Fields) -> Result<LimitAlgorithm, ScenarioError> {
    let cx = f.cx;
    Ok(match f.str("algorithm")? {
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
    })
}

/// `[rate_limit_store]`: required when a limiter is shared, warned about
/// when none is.
fn parse_store(
    cx: &Ctx,
    store: Option<&crate::raw::RawLimitStore>,
    any_shared: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<LimitStoreSpec>, ScenarioError> {
    Ok(match store {
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
    })
}
