//! `[[workload]]` into [`Workload`]s: the tier (required with several,
//! else the one, a `default` tier when there is none), `tenants`
//! (1..=10,000,000), the endpoint `mix` (required with several endpoints,
//! made cumulative), the `arrival` ([`super::arrivals`]), key popularity
//! `keys`, `clients` and per-workload `sessions`; unique names. Then the
//! workloads against the run: a finite test's warm-up, a trace that starts
//! after the end, closed stages cut by the end.

use super::arrivals::parse_arrival;
use super::sessions::parse_session_population;
use super::*;
use crate::raw::RawScenario;
use std::path::Path;

/// `[[workload]]`, in file order; adds the `default` tier to `tiers` when
/// there is none.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    top: &Path,
    tiers: &mut Vec<Tier>,
    endpoint_names: &[&str],
) -> Result<Vec<Workload>, ScenarioError> {
    let raw_workloads = raw.workload.clone().unwrap_or_default();
    if raw_workloads.is_empty() {
        return Err(ScenarioError::new(
            "no workloads: add a [[workload]] with `tenants` and an `arrival`, e.g.\n  [[workload]]\n  tenants = 10\n  arrival = { process = \"poisson\", rate_per_s = 5.0 }",
        )
        .in_file(top));
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
        let mix = parse_mix(cx, &key, &w.mix, endpoint_names)?;
        let arrival = match &w.arrival {
            Some(a) => parse_arrival(
                cx,
                &format!("{key}.arrival"),
                a,
                tenants,
                endpoint_names,
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
                    cx,
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
            Some(c) => Some(parse_clients(cx, &format!("{key}.clients"), c)?),
        };
        let sessions = match &w.sessions {
            None => None,
            Some(p) => Some(parse_session_population(cx, &format!("{key}.sessions"), p, tenants)?),
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
    Ok(workloads)
}

/// The workloads against the run: a finite test measures from the start
/// when `warmup_unset` (the files give no simulation.warmup); a trace must
/// start before the end; closed stages past the end are warned about.
pub(super) fn fit_to_run(
    cx: &Ctx,
    warmup_unset: bool,
    simulation: &mut Simulation,
    workloads: &[Workload],
    warnings: &mut Vec<String>,
) -> Result<(), ScenarioError> {
    // A finite test measures from the start unless told otherwise: its
    // run ends with the test, which may be long before a default warm-up.
    if warmup_unset && workloads.iter().any(|w| w.arrival.is_finite()) {
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
    Ok(())
}

/// `clients = { addresses, zipf, shared }` of a workload.
fn parse_clients(cx: &Ctx, key: &str, c: &crate::raw::RawClients) -> Result<ClientSpace, ScenarioError> {
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
pub(super) fn zipf_population(
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

/// A workload's `mix` (endpoint name → weight) as cumulative fractions of
/// the endpoints with a positive weight; required with several endpoints.
fn parse_mix(
    cx: &Ctx,
    key: &str,
    mix: &Option<std::collections::BTreeMap<String, f64>>,
    endpoint_names: &[&str],
) -> Result<Vec<(usize, f64)>, ScenarioError> {
    Ok(match mix {
        None if endpoint_names.len() == 1 => vec![(0, 1.0)],
        None => {
            return Err(cx.err(
                key,
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
    })
}
