//! Synthetic access logs from a known scenario: the ground truth of the
//! parameter-recovery test and of the example log under
//! `scenarios/examples/` (`scripts/make-example-log.sh`).
//!
//! Each open workload's arrivals come from the simulator's own generators
//! ([`ArrivalGen`]), so a diurnal or MMPP workload in the truth scenario
//! produces exactly the process `fit` must recover. A request's tenant is
//! drawn uniformly from its workload's tenants, named `<tier>-<index>`
//! (workloads of one tier share names: a diurnal base and an MMPP burst
//! workload are the same tenants); its endpoint is drawn from the mix; its
//! logged latency is a draw of the endpoint's `cpu` distribution — the log
//! of a lightly loaded service, where latency is service time. Closed and
//! trace workloads are refused. Same scenario and seed ⇒ same log.

use super::log::Request;
use crate::engine::{SimRng, SimTime};
use crate::model::workload::ArrivalGen;
use crate::scenario::{Arrival, Scenario};
use rand::{RngExt, SeedableRng};

/// Requests of `sc` over its `simulation.duration`, from `start_unix`,
/// sorted by time.
pub fn synthesize(sc: &Scenario, seed: u64, start_unix: f64) -> Result<Vec<Request>, String> {
    let end = sc.simulation.duration;
    let mut out = Vec::new();
    for (wi, w) in sc.workloads.iter().enumerate() {
        if matches!(w.arrival, Arrival::Closed { .. } | Arrival::Trace { .. }) {
            return Err(format!(
                "workload `{}`: only open arrival processes (poisson, deterministic, diurnal, steps, mmpp) can be synthesized",
                w.name
            ));
        }
        let mut rng = SimRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(wi as u64));
        let mut gen = ArrivalGen::new(&w.arrival, w.tenants, &mut rng);
        let tier = &sc.tiers[w.tier].name;
        let mut now = SimTime::ZERO;
        while let Some((t, _)) = gen.next(now, &mut rng) {
            if t >= end {
                break;
            }
            now = t;
            let tenant = rng.random_range(0..w.tenants);
            let u: f64 = rng.random();
            let ep = w.mix.iter().find(|(_, c)| u < *c).unwrap_or(&w.mix[w.mix.len() - 1]).0;
            let e = &sc.endpoints[ep];
            let latency = e.cpu.sample_secs(&mut rng);
            out.push(Request {
                t: start_unix + t.as_secs_f64(),
                tenant: tenant_name(tier, tenant),
                endpoint: e.name.clone(),
                status: 200,
                latency_s: Some(latency),
                bytes: Some(200 + (latency * 1e5) as u64 % 4000),
            });
        }
    }
    out.sort_by(|a, b| a.t.total_cmp(&b.t));
    Ok(out)
}

/// Name of tenant `i` of a tier in a synthetic log.
pub fn tenant_name(tier: &str, i: u32) -> String {
    format!("{tier}-{i:03}")
}

/// `tenant,tier` lines for every tenant of `sc` (the most tenants of any
/// workload of each tier).
pub fn tier_map(sc: &Scenario) -> String {
    let mut rows = Vec::new();
    for (ti, t) in sc.tiers.iter().enumerate() {
        let n = sc
            .workloads
            .iter()
            .filter(|w| w.tier == ti)
            .map(|w| w.tenants)
            .max()
            .unwrap_or(0);
        for i in 0..n {
            rows.push(vec![tenant_name(&t.name, i), t.name.clone()]);
        }
    }
    crate::files::csv_string(&["tenant", "tier"], rows)
}

/// The log as CSV: `timestamp` (RFC 3339, UTC, milliseconds), `tenant`,
/// `endpoint`, `status`, `latency_ms`, `bytes`.
pub fn to_csv(reqs: &[Request]) -> String {
    let rows = reqs.iter().map(|r| {
        vec![
            super::timestamp::rfc3339(r.t),
            r.tenant.clone(),
            r.endpoint.clone(),
            r.status.to_string(),
            format!("{:.3}", r.latency_s.unwrap_or(0.0) * 1e3),
            r.bytes.unwrap_or(0).to_string(),
        ]
    });
    crate::files::csv_string(
        &["timestamp", "tenant", "endpoint", "status", "latency_ms", "bytes"],
        rows,
    )
}

/// Histogram bucket bounds of the synthetic export (Prometheus client defaults).
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The log as Prometheus series sampled every `step_s` over
/// [start, start + span]: `http_requests_total` and
/// `http_request_duration_seconds_bucket` per endpoint,
/// `container_cpu_usage_seconds_total` (each request's latency as CPU: the
/// synthetic service is CPU-bound and lightly loaded) and a constant
/// `kube_deployment_status_replicas` of `replicas` (a fixed deployment).
pub fn prometheus_series(
    reqs: &[Request],
    start: f64,
    span: f64,
    step_s: f64,
    replicas: u32,
) -> Vec<super::prometheus::Series> {
    use super::prometheus::Series;
    use std::collections::BTreeMap;
    let steps = (span / step_s).ceil() as usize;
    let times: Vec<f64> = (0..=steps).map(|i| start + i as f64 * step_s).collect();
    let ep_names: std::collections::BTreeSet<&str> = reqs.iter().map(|r| r.endpoint.as_str()).collect();
    let mut out = Vec::new();
    let label = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    // Cumulative value at each sample time of a per-request quantity.
    let cumulative = |f: &dyn Fn(&Request) -> f64| -> Vec<(f64, f64)> {
        let mut acc = 0.0;
        let mut i = 0;
        times
            .iter()
            .map(|t| {
                while i < reqs.len() && reqs[i].t <= *t {
                    acc += f(&reqs[i]);
                    i += 1;
                }
                (*t, acc)
            })
            .collect()
    };
    for ep in &ep_names {
        out.push(Series {
            name: "http_requests_total".into(),
            labels: label(&[("handler", ep), ("code", "200")]),
            values: cumulative(&|r: &Request| if r.endpoint == *ep { 1.0 } else { 0.0 }),
        });
        for le in BUCKETS.iter().map(|b| Some(*b)).chain(std::iter::once(None)) {
            let le_s = le.map_or("+Inf".to_string(), |b| format!("{b}"));
            out.push(Series {
                name: "http_request_duration_seconds_bucket".into(),
                labels: label(&[("handler", ep), ("le", &le_s)]),
                values: cumulative(&|r: &Request| {
                    let ok = r.endpoint == *ep && le.is_none_or(|b| r.latency_s.unwrap_or(0.0) <= b);
                    if ok {
                        1.0
                    } else {
                        0.0
                    }
                }),
            });
        }
    }
    out.push(Series {
        name: "container_cpu_usage_seconds_total".into(),
        labels: label(&[("pod", "api")]),
        values: cumulative(&|r: &Request| r.latency_s.unwrap_or(0.0)),
    });
    out.push(Series {
        name: "kube_deployment_status_replicas".into(),
        labels: label(&[("deployment", "api")]),
        values: times.iter().map(|t| (*t, replicas as f64)).collect(),
    });
    out
}
