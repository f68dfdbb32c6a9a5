//! Calibration from production (`tenantsim fit`): from an access log and/or
//! a Prometheus export to a scenario that behaves like what production did,
//! with the evidence for every number.
//!
//! This module owns the estimates and the scenario text they become;
//! [`log`] reads logs, [`arrival`] estimates arrival processes,
//! [`dist`] fits service-time distributions, [`prometheus`] reads metric
//! exports, [`check`] simulates a fitted scenario and compares it with the
//! log, and [`synth`] makes synthetic logs from known scenarios (the
//! recovery test's ground truth). It never changes the simulator: a fitted
//! scenario is an ordinary scenario file, validated like any other.
//!
//! Model of a log: tenants are grouped by tier (a tenant→tier map file;
//! without one, a single group `default`); each group becomes a workload
//! with the group's tenant population, its arrival process (per tenant:
//! the group's rate divided by its tenants, as the simulator spreads a
//! group's load evenly) and its endpoint mix; bursts become a second
//! workload of the same tier (an on/off MMPP). Each endpoint's logged
//! latency is fitted as its CPU demand — an assumption that holds for a
//! lightly loaded service, stated in the output.

pub mod arrival;
pub mod check;
pub mod components;
pub mod dist;
pub mod log;
pub mod prom_components;
pub mod prom_http;
pub mod prometheus;
pub mod synth;
pub mod timestamp;

use arrival::{ArrivalFit, Shape};
use dist::{duration, FitResult};
use log::Request;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// The longest time an access log or a Prometheus export may cover (a
/// leap year). The fits work per 10 s window and per trend bin over the
/// whole span, so their memory and time grow with the span, not with the
/// input: two requests years apart (one garbled timestamp, or one in
/// another unit) would ask for gigabytes. [`log::parse_log`] and
/// [`prometheus::fit_export`] refuse longer inputs; a year costs the
/// arrival fit about 50 MB per tier.
pub const MAX_SPAN_S: f64 = 366.0 * 86_400.0;

/// A span in days, for the messages that refuse one above [`MAX_SPAN_S`].
fn span_days(s: f64) -> String {
    let d = s / 86_400.0;
    if d < 1e5 {
        format!("{d:.0} days")
    } else {
        format!("{d:.2e} days")
    }
}

/// One tenant group (a tier) of the log.
#[derive(Clone, Debug)]
pub struct GroupFit {
    pub tier: String,
    /// Tenants of the tier (from the map; else those seen in the log).
    pub population: usize,
    pub active: usize,
    pub requests: usize,
    /// Share of the group's requests sent by its busiest tenant.
    pub busiest_share: f64,
    pub arrival: ArrivalFit,
    /// (endpoint, share of the group's requests), by endpoint name.
    pub mix: Vec<(String, f64)>,
}

/// One endpoint's service-time fit.
#[derive(Clone, Debug)]
pub struct EndpointFit {
    pub name: String,
    pub requests: usize,
    pub errors_5xx: usize,
    /// Requests with a usable (positive) latency.
    pub latencies: usize,
    /// Every family, best AIC first (empty without latencies).
    pub fits: Vec<FitResult>,
    /// Median of the logged latencies (for requests without a fit).
    pub median_s: Option<f64>,
    /// (fitted quantile, logged quantile) at 99 probabilities: the Q-Q plot.
    pub qq: Vec<(f64, f64)>,
}

/// Everything estimated from one access log.
#[derive(Clone, Debug)]
pub struct LogFit {
    pub start_unix: f64,
    pub span_s: f64,
    pub requests: usize,
    pub groups: Vec<GroupFit>,
    pub endpoints: Vec<EndpointFit>,
    /// Log tenants missing from the tier map (put in tier `unmapped`).
    pub unmapped: usize,
    /// Logged latencies, sorted (for `--check`).
    pub latencies: Vec<f64>,
    /// Requests per hour from the start (for `--check`).
    pub hourly: Vec<f64>,
}

/// Read a tenant→tier map: CSV or whitespace-separated lines `tenant,tier`
/// (a header line naming `tenant` is skipped, `#` starts a comment).
pub fn read_tier_map(text: &str) -> Result<HashMap<String, String>, String> {
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line
            .split([',', '\t', ' '])
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if parts.len() != 2 {
            return Err(format!("line {}: expected `tenant,tier`, got `{line}`", i + 1));
        }
        if i == 0 && parts[0].eq_ignore_ascii_case("tenant") {
            continue;
        }
        if !parts[1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "line {}: tier name `{}` may only hold letters, digits, `-` and `_`",
                i + 1,
                parts[1]
            ));
        }
        m.insert(parts[0].to_string(), parts[1].to_string());
    }
    if m.is_empty() {
        return Err("the tier map has no `tenant,tier` lines".into());
    }
    Ok(m)
}

/// The fewest requests a log must hold to be fitted. A rate estimated from
/// n arrivals has a relative standard error of 1/√n: 18 % at 30, so below
/// that the fitted rates (and the dispersion test, whose own error is
/// √(2/(n−1))) are mostly noise, and a scenario written from them would
/// look more certain than the log is.
pub const MIN_LOG_REQUESTS: usize = 30;

/// Refuse a log too small to fit anything meaningful ([`MIN_LOG_REQUESTS`]).
pub fn check_enough_requests(n: usize) -> Result<(), String> {
    if n < MIN_LOG_REQUESTS {
        return Err(format!(
            "{n} request(s) read: a fit needs at least {MIN_LOG_REQUESTS} (a rate from n arrivals has a relative standard error of 1/√n, {:.0} % at {MIN_LOG_REQUESTS}); give a longer log",
            100.0 / (MIN_LOG_REQUESTS as f64).sqrt()
        ));
    }
    Ok(())
}

/// Fit a parsed log (sorted by time, and no longer than [`MAX_SPAN_S`], as
/// [`log::read_log`] returns it: the fit allocates per 10 s of the span).
/// `max_endpoints`: the busiest endpoints keep their names, the rest become
/// `other`.
pub fn fit_log(reqs: &[Request], tier_map: Option<&HashMap<String, String>>, max_endpoints: usize) -> LogFit {
    let start = reqs.first().map_or(0.0, |r| r.t);
    let end = reqs.last().map_or(0.0, |r| r.t);
    // Span: to the end of the last request's second, at least a minute.
    let span_s = ((end - start).ceil() + 1.0).max(60.0);
    // Endpoint names: the busiest keep theirs.
    let mut ep_count: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reqs {
        *ep_count.entry(&r.endpoint).or_default() += 1;
    }
    let mut by_count: Vec<(&str, usize)> = ep_count.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let kept: Vec<&str> = by_count.iter().take(max_endpoints.max(1)).map(|x| x.0).collect();
    let ep_of = |r: &Request| -> String {
        if kept.contains(&r.endpoint.as_str()) {
            r.endpoint.clone()
        } else {
            "other".into()
        }
    };
    // Groups.
    let tier_of = |tenant: &str| -> String {
        match tier_map {
            None => "default".into(),
            Some(m) => m.get(tenant).cloned().unwrap_or_else(|| "unmapped".into()),
        }
    };
    let mut groups: BTreeMap<String, Vec<&Request>> = BTreeMap::new();
    let mut unmapped_tenants: std::collections::BTreeSet<&str> = Default::default();
    for r in reqs {
        let t = tier_of(&r.tenant);
        if t == "unmapped" {
            unmapped_tenants.insert(&r.tenant);
        }
        groups.entry(t).or_default().push(r);
    }
    // Tiers of the map with no requests still exist (silent tenants).
    let mut population: BTreeMap<String, usize> = BTreeMap::new();
    if let Some(m) = tier_map {
        for t in m.values() {
            *population.entry(t.clone()).or_default() += 1;
        }
    }
    let mut group_fits = Vec::new();
    for (tier, rs) in &groups {
        let mut per_tenant: BTreeMap<&str, usize> = BTreeMap::new();
        let mut mix: BTreeMap<String, usize> = BTreeMap::new();
        for r in rs {
            *per_tenant.entry(&r.tenant).or_default() += 1;
            *mix.entry(ep_of(r)).or_default() += 1;
        }
        let active = per_tenant.len();
        let times: Vec<f64> = rs.iter().map(|r| r.t - start).collect();
        let n = rs.len();
        group_fits.push(GroupFit {
            tier: tier.clone(),
            population: population.get(tier).copied().unwrap_or(0).max(active),
            active,
            requests: n,
            busiest_share: per_tenant.values().copied().max().unwrap_or(0) as f64 / n as f64,
            arrival: arrival::fit_arrivals(&times, span_s),
            mix: mix.into_iter().map(|(e, c)| (e, c as f64 / n as f64)).collect(),
        });
    }
    // Endpoints.
    let mut per_ep: BTreeMap<String, (usize, usize, Vec<f64>)> = BTreeMap::new();
    for r in reqs {
        let e = per_ep.entry(ep_of(r)).or_default();
        e.0 += 1;
        if r.status >= 500 {
            e.1 += 1;
        }
        if let Some(l) = r.latency_s.filter(|l| *l > 0.0) {
            e.2.push(l);
        }
    }
    let mut endpoints = Vec::new();
    let mut latencies = Vec::new();
    for (name, (n, errs, mut xs)) in per_ep {
        xs.sort_by(f64::total_cmp);
        let fits = dist::fit_all(&xs);
        let qq = match fits.first() {
            Some(best) if xs.len() >= 20 => (1..100)
                .map(|i| {
                    let p = i as f64 / 100.0;
                    (
                        best.fit.quantile(p),
                        xs[((p * xs.len() as f64) as usize).min(xs.len() - 1)],
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        latencies.extend_from_slice(&xs);
        endpoints.push(EndpointFit {
            name,
            requests: n,
            errors_5xx: errs,
            latencies: xs.len(),
            median_s: xs.get(xs.len() / 2).copied(),
            fits,
            qq,
        });
    }
    latencies.sort_by(f64::total_cmp);
    let mut hourly = vec![0.0; (span_s / 3600.0).ceil() as usize];
    for r in reqs {
        let h = (((r.t - start) / 3600.0) as usize).min(hourly.len() - 1);
        hourly[h] += 1.0;
    }
    LogFit {
        start_unix: start,
        span_s,
        requests: reqs.len(),
        groups: group_fits,
        endpoints,
        unmapped: unmapped_tenants.len(),
        latencies,
        hourly,
    }
}

/// How the scenario is written.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub name: String,
    /// What was fitted (for the header comment), e.g. the log's path.
    pub source: String,
    /// Replay the log instead of fitted arrival processes: the trace file
    /// (relative to the scenario) written by [`trace_csv`].
    pub replay: Option<String>,
    /// Folder of the Q-Q plots, relative to the scenario.
    pub qq_dir: Option<String>,
    /// Cores per instance (an assumption unless the user knows).
    pub cores: u32,
}

fn fmt_rate(r: f64) -> String {
    if r == 0.0 {
        "0.0".into()
    } else {
        let s = format!("{:.6e}", r);
        // Plain decimal with 6 significant digits.
        let v: f64 = s.parse().unwrap_or(r);
        let digits = (5 - v.abs().log10().floor() as i32).max(1) as usize;
        let t = format!("{v:.digits$}");
        let t = t.trim_end_matches('0');
        if t.ends_with('.') {
            format!("{t}0")
        } else {
            t.to_string()
        }
    }
}

fn hms(s: f64) -> String {
    let s = s.round() as i64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A duration string in whole seconds the scenario parser reads ("3725s").
fn secs(s: f64) -> String {
    format!("{}s", s.round().max(1.0) as i64)
}

/// The scenario text: a runnable scenario whose comments state each
/// estimate and how well it fits.
pub fn render(fit: Option<&LogFit>, prom: Option<&prometheus::PromFit>, o: &RenderOptions) -> Result<String, String> {
    render_with(fit, prom, o, None)
}

/// [`render`], with the log's latency decomposition when it has
/// per-component columns ([`components`]): each endpoint's CPU, query time,
/// cache use and rest come from their own columns, and the data tier
/// (`[pool]`, `[database]`, `[cache]`) is written.
pub fn render_with(
    fit: Option<&LogFit>,
    prom: Option<&prometheus::PromFit>,
    o: &RenderOptions,
    parts: Option<&components::Decomposition>,
) -> Result<String, String> {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# Fitted by `tenantsim fit` from {}.", o.source);
    let span = match (fit, prom) {
        (Some(f), _) => f.span_s,
        (None, Some(p)) => (p.end - p.start).max(60.0),
        (None, None) => return Err("nothing to fit: give an access log, --prometheus, or both".into()),
    };
    write_header(w, fit, o);
    write_simulation(w, span);
    // Endpoint names and their fitted CPU.
    let mut endpoint_tables = String::new();
    let mut mean_cpu: HashMap<String, f64> = HashMap::new();
    if let Some(f) = fit {
        for e in &f.endpoints {
            write_log_endpoint(&mut endpoint_tables, e, o, parts, prom, &mut mean_cpu);
        }
    } else if let Some(p) = prom {
        write_prom_endpoints(&mut endpoint_tables, p, &mut mean_cpu);
    }
    // Tiers and workloads.
    let mut cpu = CpuDemand::default();
    if let Some(f) = fit {
        write_log_workloads(w, f, o, &mean_cpu, &mut cpu);
    } else if let Some(p) = prom {
        cpu = write_prom_workload(w, p, &mean_cpu);
    }
    w.push_str(&endpoint_tables);
    write_instances(w, o, prom, &cpu);
    match (parts, prom) {
        (Some(p), _) => w.push_str(&p.data_tier_toml()),
        (None, Some(p)) => w.push_str(&prom_components::data_tier_toml(p)),
        (None, None) => {}
    }
    if let Some(p) = prom {
        write_prom_footer(w, p, fit, &cpu, span);
    }
    Ok(s)
}

/// CPU demand of the fitted load, in busy cores: the mean and the peak.
#[derive(Default)]
struct CpuDemand {
    offered: f64,
    peak: f64,
}

/// The header comments about the log, and the scenario's `name` and `description`.
fn write_header(w: &mut String, fit: Option<&LogFit>, o: &RenderOptions) {
    if let Some(f) = fit {
        let _ = writeln!(
            w,
            "# {} requests over {} from {} (UTC); every number below is an estimate",
            f.requests,
            hms(f.span_s),
            timestamp::rfc3339(f.start_unix)
        );
        let _ = writeln!(
            w,
            "# from the log unless marked ASSUMED. Simulated time 0 = the log's first request."
        );
        if f.unmapped > 0 {
            let _ = writeln!(
                w,
                "# {} tenants of the log are not in the tier map: tier `unmapped`.",
                f.unmapped
            );
        }
    }
    let _ = writeln!(w, "name = \"{}\"", o.name);
    let _ = writeln!(w, "description = \"Fitted from {}\"", o.source.replace('"', "'"));
    let _ = writeln!(w);
}

/// The `[simulation]` table: the fitted span, with warm-up and sampling scaled to it.
fn write_simulation(w: &mut String, span: f64) {
    let _ = writeln!(w, "[simulation]");
    let _ = writeln!(w, "duration = \"{}\"", secs(span));
    let _ = writeln!(w, "warmup = \"{}\"", secs((span / 100.0).clamp(1.0, 300.0)));
    let _ = writeln!(w, "replications = 3");
    let _ = writeln!(w, "sample_interval = \"{}\"", secs((span / 288.0).clamp(1.0, 300.0)));
    let _ = writeln!(w);
}

/// One `[endpoint.NAME]` table from the log's latency fits; records its mean CPU demand.
fn write_log_endpoint(
    t: &mut String,
    e: &EndpointFit,
    o: &RenderOptions,
    parts: Option<&components::Decomposition>,
    prom: Option<&prometheus::PromFit>,
    mean_cpu: &mut HashMap<String, f64>,
) {
    let _ = writeln!(t, "[endpoint.{}]", e.name);
    let _ = writeln!(
        t,
        "# {} requests, {} with a latency, {:.2} % answered 5xx.",
        e.requests,
        e.latencies,
        100.0 * e.errors_5xx as f64 / e.requests.max(1) as f64
    );
    match e.fits.first() {
        Some(best) => {
            let _ = writeln!(
                t,
                "# Latency, maximum-likelihood fits (lower AIC is better; KS D = largest CDF gap, p optimistic since fitted):"
            );
            for r in &e.fits {
                let _ = writeln!(
                    t,
                    "#   {:<12} AIC {:>12.1}  KS D {:.4} (p {:.3})  {}{}",
                    r.fit.family.name(),
                    r.aic,
                    r.ks,
                    dist::ks_p_value(r.ks, e.latencies as f64),
                    r.fit.describe(),
                    if std::ptr::eq(r, best) { "  <- chosen" } else { "" }
                );
            }
            if let Some(d) = &o.qq_dir {
                let _ = writeln!(t, "# Q-Q plot: {d}/{}.png", e.name);
            }
            match parts.and_then(|p| p.endpoint_toml(&e.name).map(|t| (p, t))) {
                Some((p, body)) => {
                    t.push_str(&body);
                    let c = &p.endpoints[&e.name].cpu;
                    mean_cpu.insert(e.name.clone(), c.iter().sum::<f64>() / c.len().max(1) as f64);
                }
                None => match prom.and_then(|p| prom_components::split(p, &e.name)) {
                    Some(ps) => {
                        t.push_str(&ps.split.toml(&e.name, "the CPU histogram", ps.cpu_fits, ps.hold_fits));
                        mean_cpu.insert(e.name.clone(), ps.split.cpu);
                    }
                    None => {
                        let _ = writeln!(
                            t,
                            "# ASSUMED: the logged latency is CPU demand (a lightly loaded service: no queueing or I/O in it)."
                        );
                        let _ = writeln!(t, "cpu = {}", best.fit.toml());
                        mean_cpu.insert(e.name.clone(), best.fit.mean());
                    }
                },
            }
        }
        None => {
            let m = e.median_s.unwrap_or(0.001).max(1e-6);
            let _ = writeln!(
                t,
                "# Too few latencies to fit a distribution: ASSUMED exponential with the median as mean."
            );
            let _ = writeln!(t, "cpu = {{ dist = \"exponential\", mean = \"{}\" }}", duration(m));
            mean_cpu.insert(e.name.clone(), m);
        }
    }
    let _ = writeln!(t);
}

/// The `[endpoint.NAME]` tables of a Prometheus export (no log); records their mean CPU demand.
fn write_prom_endpoints(t: &mut String, p: &prometheus::PromFit, mean_cpu: &mut HashMap<String, f64>) {
    for (ep, n) in &p.per_endpoint {
        let _ = writeln!(t, "[endpoint.{ep}]");
        let _ = writeln!(t, "# {n:.0} requests in the Prometheus export.");
        let fits = p.latency.get(ep).or_else(|| p.latency.get("all"));
        let split = prom_components::split(p, ep);
        match fits.and_then(|(c, f)| f.first().map(|b| (c, f, b))) {
            Some((count, all, best)) => {
                let _ = writeln!(
                    t,
                    "# Latency histogram ({count:.0} requests), interval-censored maximum-likelihood fits:"
                );
                for r in all {
                    let _ = writeln!(
                        t,
                        "#   {:<12} AIC {:>12.1}  {}",
                        r.fit.family.name(),
                        r.aic,
                        r.fit.describe()
                    );
                }
                match split {
                    Some(ps) => {
                        t.push_str(&ps.split.toml(ep, "the CPU histogram", ps.cpu_fits, ps.hold_fits));
                        mean_cpu.insert(ep.clone(), ps.split.cpu);
                    }
                    None => {
                        let _ = writeln!(
                            t,
                            "# ASSUMED: latency is CPU demand (a lightly loaded service; no CPU series `{}`).",
                            p.names.cpu
                        );
                        let _ = writeln!(t, "cpu = {}", best.fit.toml());
                        mean_cpu.insert(ep.clone(), best.fit.mean());
                    }
                }
            }
            None => {
                let c = p.cpu_per_request.unwrap_or(0.01);
                let _ = writeln!(t, "# No latency histogram: exponential with the CPU per request.");
                let _ = writeln!(t, "cpu = {{ dist = \"exponential\", mean = \"{}\" }}", duration(c));
                mean_cpu.insert(ep.clone(), c);
            }
        }
        let _ = writeln!(t);
    }
}

/// The log's `[[tier]]` tables, then each group's `[[workload]]` (and its
/// bursts); adds the groups' CPU demand to `cpu`.
fn write_log_workloads(
    w: &mut String,
    f: &LogFit,
    o: &RenderOptions,
    mean_cpu: &HashMap<String, f64>,
    cpu: &mut CpuDemand,
) {
    for g in &f.groups {
        let _ = writeln!(w, "[[tier]]");
        let _ = writeln!(w, "name = \"{}\"", g.tier);
        let _ = writeln!(w);
    }
    for g in &f.groups {
        let n = g.population.max(1) as f64;
        let a = &g.arrival;
        let mix = g
            .mix
            .iter()
            .map(|(e, p)| format!("{e} = {p:.4}"))
            .collect::<Vec<_>>()
            .join(", ");
        let cpu_per_req: f64 = g
            .mix
            .iter()
            .map(|(e, p)| p * mean_cpu.get(e).copied().unwrap_or(0.0))
            .sum();
        cpu.offered += a.mean_rate() * cpu_per_req;
        let _ = writeln!(w, "[[workload]]");
        let _ = writeln!(w, "name = \"{}\"", g.tier);
        let _ = writeln!(w, "tier = \"{}\"", g.tier);
        let _ = writeln!(
            w,
            "# {} tenants ({} sent requests); {} requests, the busiest tenant {:.1} % of them",
            g.population,
            g.active,
            g.requests,
            100.0 * g.busiest_share
        );
        let _ = writeln!(w, "# (the simulator spreads a group's load evenly over its tenants).");
        let _ = writeln!(w, "tenants = {}", g.population.max(1));
        let _ = writeln!(
            w,
            "# Burstiness: index of dispersion of {}s counts around the trend {:.2} (Poisson: 1 ± {:.3}).",
            arrival::WINDOW_S,
            a.dispersion,
            a.dispersion_se
        );
        write_group_arrival(w, a, n, cpu_per_req, o, cpu);
        let _ = writeln!(w, "mix = {{ {mix} }}");
        let _ = writeln!(w);
        if let (Some(b), None) = (&a.bursts, &o.replay) {
            write_burst_workload(w, g, b, &mix, cpu_per_req, cpu);
        }
    }
}

/// A group's `arrival` line (trace replay, Poisson, diurnal or steps) with
/// the evidence for its shape; adds the group's peak CPU demand to `cpu`.
fn write_group_arrival(
    w: &mut String,
    a: &ArrivalFit,
    n: f64,
    cpu_per_req: f64,
    o: &RenderOptions,
    cpu: &mut CpuDemand,
) {
    if let Some(trace) = &o.replay {
        let _ = writeln!(
            w,
            "# Replay of the log's own requests (tenant and endpoint per request)."
        );
        let _ = writeln!(w, "arrival = {{ process = \"trace\", file = \"{trace}\" }}");
        cpu.peak += a.binned.iter().cloned().fold(0.0, f64::max) * cpu_per_req;
        return;
    }
    match &a.shape {
        Shape::Constant { rate, p_value } => {
            let _ = writeln!(
                w,
                "# Rate: constant {} req/s for the group (χ² test of equal {} rates: p = {:.3}).",
                fmt_rate(*rate),
                hms(a.bin_s),
                p_value
            );
            let _ = writeln!(
                w,
                "arrival = {{ process = \"poisson\", rate_per_s = {} }}",
                fmt_rate(rate / n)
            );
            cpu.peak += rate * cpu_per_req;
        }
        Shape::Diurnal {
            peak,
            trough,
            peak_at_s,
            r2,
        } => {
            let _ = writeln!(
                w,
                "# Rate: daily cosine, group peak {} req/s at {} after the start, trough {} req/s; R² = {:.3} over {} hourly rates.",
                fmt_rate(*peak),
                hms(*peak_at_s),
                fmt_rate(*trough),
                r2,
                a.binned.len()
            );
            let _ = writeln!(
                w,
                "arrival = {{ process = \"diurnal\", peak_rate_per_s = {}, trough_rate_per_s = {}, period = \"1d\", peak_at = \"{}\" }}",
                fmt_rate(peak / n),
                fmt_rate(trough / n),
                secs(*peak_at_s)
            );
            cpu.peak += peak * cpu_per_req;
        }
        Shape::Steps { steps, r2_cosine } => {
            let _ = writeln!(
                w,
                "# Rate: steps of {} (not constant; {}).",
                hms(a.bin_s),
                match r2_cosine {
                    Some(r) => format!("a daily cosine explains only R² = {r:.3}"),
                    None => "the log is too short for a daily cosine".into(),
                }
            );
            let st: Vec<String> = steps
                .iter()
                .map(|(t, r)| format!("[\"{}s\", {}]", t.round() as i64, fmt_rate(r / n)))
                .collect();
            let _ = writeln!(w, "arrival = {{ process = \"steps\", steps = [{}] }}", st.join(", "));
            cpu.peak += steps.iter().map(|x| x.1).fold(0.0, f64::max) * cpu_per_req;
        }
    }
}

/// The second `[[workload]]` of a bursty group: its bursts as an on/off
/// MMPP on top of the base rate; adds their peak CPU demand to `cpu`.
fn write_burst_workload(
    w: &mut String,
    g: &GroupFit,
    b: &arrival::Bursts,
    mix: &str,
    cpu_per_req: f64,
    cpu: &mut CpuDemand,
) {
    let n = g.population.max(1) as f64;
    let _ = writeln!(
        w,
        "[[workload]]   # the bursts of `{}`, on top of its base rate",
        g.tier
    );
    let _ = writeln!(w, "name = \"{}-bursts\"", g.tier);
    let _ = writeln!(w, "tier = \"{}\"", g.tier);
    let _ = writeln!(w, "tenants = {}", g.population.max(1));
    let _ = writeln!(
        w,
        "# {} bursts: +{} req/s for the group for {} on average, every {} on average (on/off MMPP).",
        b.count,
        fmt_rate(b.extra_rate),
        hms(b.mean_burst_s),
        hms(b.mean_normal_s + b.mean_burst_s)
    );
    let _ = writeln!(
        w,
        "arrival = {{ process = \"mmpp\", rate_per_s = 0.0, burst_rate_per_s = {}, normal_duration = \"{}\", burst_duration = \"{}\" }}",
        fmt_rate(b.extra_rate / n),
        secs(b.mean_normal_s),
        secs(b.mean_burst_s)
    );
    let _ = writeln!(w, "mix = {{ {mix} }}");
    let _ = writeln!(w);
    cpu.peak += b.extra_rate * cpu_per_req;
}

/// The single tier and workload of a Prometheus export (no log): the
/// counter's rate as steps, or a Poisson rate; returns its CPU demand.
fn write_prom_workload(w: &mut String, p: &prometheus::PromFit, mean_cpu: &HashMap<String, f64>) -> CpuDemand {
    let total: f64 = p.per_endpoint.values().sum();
    let mix = p
        .per_endpoint
        .iter()
        .map(|(e, c)| format!("{e} = {:.4}", c / total.max(1e-9)))
        .collect::<Vec<_>>()
        .join(", ");
    // Rate shape from the counter's rate series, binned by hour.
    let span = (p.end - p.start).max(60.0);
    let bin_s = if span >= 3.0 * 3600.0 { 3600.0 } else { 600.0 };
    let nb = (span / bin_s).ceil() as usize;
    let mut sum = vec![0.0; nb];
    let mut cnt = vec![0.0; nb];
    for (t, r) in &p.rate {
        let b = (((t - p.start) / bin_s) as usize).min(nb - 1);
        sum[b] += r;
        cnt[b] += 1.0;
    }
    let mean_rate = p.requests / span;
    let steps: Vec<String> = (0..nb)
        .filter(|b| cnt[*b] > 0.0)
        .map(|b| format!("[\"{}s\", {}]", (b as f64 * bin_s) as i64, fmt_rate(sum[b] / cnt[b])))
        .collect();
    let _ = writeln!(w, "[[tier]]\nname = \"default\"\n");
    let _ = writeln!(w, "[[workload]]");
    let _ = writeln!(w, "name = \"default\"");
    let _ = writeln!(
        w,
        "# ASSUMED: one tenant (the export has no tenant breakdown); {:.0} requests, mean {} req/s.",
        p.requests,
        fmt_rate(mean_rate)
    );
    let _ = writeln!(w, "tenants = 1");
    if steps.len() >= 2 {
        let _ = writeln!(
            w,
            "# Rate: {} steps, the mean of the counter's rate in each.",
            hms(bin_s)
        );
        let _ = writeln!(w, "arrival = {{ process = \"steps\", steps = [{}] }}", steps.join(", "));
    } else {
        let _ = writeln!(
            w,
            "arrival = {{ process = \"poisson\", rate_per_s = {} }}",
            fmt_rate(mean_rate)
        );
    }
    let _ = writeln!(w, "mix = {{ {mix} }}\n");
    let cpu_per_req: f64 = p
        .per_endpoint
        .iter()
        .map(|(e, c)| c / total.max(1e-9) * mean_cpu.get(e).copied().unwrap_or(0.0))
        .sum();
    CpuDemand {
        offered: mean_rate * cpu_per_req,
        peak: p.rate.iter().map(|x| x.1).fold(0.0, f64::max) * cpu_per_req,
    }
}

/// The `[instance]` table, and an `[autoscaler]` when the export's replica
/// history moves; without a history, enough instances for the peak.
fn write_instances(w: &mut String, o: &RenderOptions, prom: Option<&prometheus::PromFit>, cpu: &CpuDemand) {
    let (offered_cpu, peak_cpu) = (cpu.offered, cpu.peak);
    let cores = o.cores.max(1);
    let _ = writeln!(w, "[instance]");
    let _ = writeln!(w, "cores = {cores}          # ASSUMED (--cores)");
    let _ = writeln!(
        w,
        "workers = {}        # ASSUMED: {} per core, so requests rarely queue for a worker",
        cores * 8,
        8
    );
    let history = prom.map(|p| p.replicas.as_slice()).unwrap_or(&[]);
    if let (Some(first), true) = (history.first(), !history.is_empty()) {
        let min = history.iter().map(|x| x.1).fold(f64::INFINITY, f64::min).max(1.0);
        let max = history.iter().map(|x| x.1).fold(0.0, f64::max).max(min);
        let mean = history.iter().map(|x| x.1).sum::<f64>() / history.len() as f64;
        let _ = writeln!(
            w,
            "initial = {}         # kube_deployment_status_replicas at the start (min {min}, mean {mean:.2}, max {max})",
            first.1.round().max(1.0)
        );
        let _ = writeln!(w);
        if max > min {
            let busy = prom.and_then(|p| p.cpu_cores_busy).unwrap_or(offered_cpu);
            let util = (busy / (mean * cores as f64)).clamp(0.05, 0.95);
            let _ = writeln!(w, "[autoscaler]");
            let _ = writeln!(
                w,
                "# The replica history moves between {min} and {max}: an HPA on CPU whose target is the mean observed"
            );
            let _ = writeln!(
                w,
                "# utilization, {:.1} % = {busy:.3} busy cores / ({mean:.2} replicas × {cores} cores); ASSUMED policy and interval.",
                100.0 * util
            );
            let _ = writeln!(w, "policy = \"hpa\"");
            let _ = writeln!(w, "min = {}", min.round());
            let _ = writeln!(w, "max = {}", max.round());
            let _ = writeln!(w, "interval = \"30s\"");
            let _ = writeln!(w, "metrics = [ {{ metric = \"cpu\", target = {util:.3} }} ]");
            let _ = writeln!(w);
        }
    } else {
        // Enough instances that the peak keeps CPU below half.
        let need = (peak_cpu / (0.5 * cores as f64)).ceil().max(2.0);
        let _ = writeln!(
            w,
            "initial = {need}         # ASSUMED: peak CPU demand {peak_cpu:.3} cores (mean {offered_cpu:.3}) kept below 50 %"
        );
        let _ = writeln!(w);
    }
}

/// The closing comments about the Prometheus export: its totals, CPU per
/// request against the fitted demand, and the series it did not use.
fn write_prom_footer(w: &mut String, p: &prometheus::PromFit, fit: Option<&LogFit>, cpu: &CpuDemand, span: f64) {
    let _ = writeln!(
        w,
        "# Prometheus export: {:.0} requests ({:.2} % 5xx) from {} to {}.",
        p.requests,
        100.0 * p.errors_5xx / p.requests.max(1.0),
        timestamp::rfc3339(p.start),
        timestamp::rfc3339(p.end)
    );
    if let Some(c) = p.cpu_per_request {
        let _ = writeln!(
            w,
            "# CPU per request (container_cpu_usage_seconds_total / http_requests_total): {} (fitted mean CPU demand: {}).",
            duration(c),
            duration(cpu.offered / (fit.map_or(p.requests, |f| f.requests as f64) / span).max(1e-12))
        );
    }
    let _ = writeln!(w, "# Latency split from the Prometheus series:");
    for n in prom_components::notes(p) {
        let _ = writeln!(w, "#   {n}");
    }
    if !p.ignored.is_empty() {
        let _ = writeln!(w, "# Series not used: {}.", p.ignored.join(", "));
    }
}

/// The log as a trace CSV for the `trace` arrival process: `time_s` from
/// the first request, `tier`, `tenant` (index within the tier, tenants in
/// name order), `tenant_id` and `endpoint`.
pub fn trace_csv(reqs: &[Request], fit: &LogFit, tier_map: Option<&HashMap<String, String>>) -> String {
    let known: std::collections::HashSet<&str> = fit.endpoints.iter().map(|e| e.name.as_str()).collect();
    let tier_of = |t: &str| match tier_map {
        None => "default".to_string(),
        Some(m) => m.get(t).cloned().unwrap_or_else(|| "unmapped".into()),
    };
    // Tenant indices per tier: the map's tenants (and the log's) in name order.
    let mut names: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    if let Some(m) = tier_map {
        for (t, tier) in m {
            names.entry(tier.clone()).or_default().insert(t.clone());
        }
    }
    for r in reqs {
        names.entry(tier_of(&r.tenant)).or_default().insert(r.tenant.clone());
    }
    let index: HashMap<(String, String), usize> = names
        .iter()
        .flat_map(|(tier, ts)| ts.iter().enumerate().map(move |(i, t)| ((tier.clone(), t.clone()), i)))
        .collect();
    let rows = reqs.iter().map(|r| {
        let tier = tier_of(&r.tenant);
        let i = index[&(tier.clone(), r.tenant.clone())];
        let ep = if known.contains(r.endpoint.as_str()) {
            r.endpoint.as_str()
        } else {
            "other"
        };
        vec![
            format!("{:.3}", r.t - fit.start_unix),
            tier,
            i.to_string(),
            r.tenant.clone(),
            ep.to_string(),
        ]
    });
    crate::files::csv_string(&["time_s", "tier", "tenant", "tenant_id", "endpoint"], rows)
}

/// The Q-Q chart of an endpoint's chosen fit.
pub fn qq_chart(e: &EndpointFit) -> Option<crate::report::plots::Chart> {
    use crate::report::plots::{Chart, Line};
    let best = e.fits.first()?;
    if e.qq.is_empty() {
        return None;
    }
    let hi = e.qq.iter().map(|p| p.0.max(p.1)).fold(0.0, f64::max) * 1e3;
    Some(Chart::Lines {
        title: format!(
            "{}: logged vs fitted latency quantiles ({})",
            e.name,
            best.fit.family.name()
        ),
        x_label: "fitted quantile (ms)".into(),
        y_label: "logged quantile (ms)".into(),
        lines: vec![
            Line {
                name: "1st–99th percentiles".into(),
                points: e.qq.iter().map(|(a, b)| (a * 1e3, b * 1e3)).collect(),
                markers: true,
                ..Line::default()
            },
            Line {
                name: "y = x".into(),
                points: vec![(0.0, 0.0), (hi, hi)],
                ..Line::default()
            },
        ],
        rules: vec![],
        events: vec![],
        log_x: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    fn opts() -> RenderOptions {
        RenderOptions {
            name: "t".into(),
            source: "test".into(),
            replay: None,
            qq_dir: None,
            cores: 2,
        }
    }

    /// Two hours of a Poisson-ish log (evenly spread, two endpoints) and an
    /// export whose replica history moves between 2 and 4.
    fn inputs() -> (Vec<Request>, prometheus::PromFit) {
        let reqs: Vec<Request> = (0..7200)
            .map(|i| Request {
                t: 1_000_000.0 + i as f64,
                tenant: format!("t{}", i % 5),
                endpoint: if i % 4 == 0 { "write".into() } else { "read".into() },
                status: 200,
                latency_s: Some(0.01 + 0.02 * ((i * 7919 % 1000) as f64 / 1000.0)),
                bytes: None,
            })
            .collect();
        let mut series = synth::prometheus_series(&reqs, 1_000_000.0, 7200.0, 300.0, 2);
        let last = series.len() - 1;
        for (i, v) in series[last].values.iter_mut().enumerate() {
            v.1 = 2.0 + (i % 3) as f64;
        }
        (reqs, prometheus::fit_export(&series).unwrap())
    }

    #[test]
    fn a_moving_replica_history_becomes_an_hpa_and_the_scenario_loads() {
        let (reqs, prom) = inputs();
        let fit = fit_log(&reqs, None, 12);
        let text = render(Some(&fit), Some(&prom), &opts()).unwrap();
        assert!(text.contains("policy = \"hpa\"\nmin = 2\nmax = 4"), "{text}");
        assert!(text.contains("initial = 2"), "{text}");
        let sc = crate::scenario::from_str(Path::new("fitted.toml"), &text, &[]).unwrap();
        assert_eq!(sc.workloads.len(), 1);
        assert_eq!(sc.workloads[0].tenants, 5);
        // Deterministic: the same inputs give the same text.
        assert_eq!(text, render(Some(&fit), Some(&prom), &opts()).unwrap());
    }

    #[test]
    fn a_prometheus_export_alone_gives_a_runnable_scenario() {
        let (_, prom) = inputs();
        let text = render(None, Some(&prom), &opts()).unwrap();
        let sc = crate::scenario::from_str(Path::new("fitted.toml"), &text, &[]).unwrap();
        assert_eq!(sc.endpoints.len(), 2);
        // The counters' increase: the first request is already in the first
        // sample, so 7199 of the 7200.
        assert!(text.contains("7199 requests, mean 0.999861 req/s"), "{text}");
        assert!(text.contains("mix = { read = 0.7501, write = 0.2499 }"), "{text}");
        assert!(render(None, None, &opts()).is_err());
    }

    #[test]
    fn tier_maps_skip_headers_and_refuse_odd_lines() {
        let m = read_tier_map("tenant,tier\nacme,pro # big\n\nglobex\tfree\n").unwrap();
        assert_eq!(m["acme"], "pro");
        assert_eq!(m["globex"], "free");
        assert!(read_tier_map("acme\n").is_err());
        assert!(read_tier_map("acme,pro tier\n").is_err());
        assert!(read_tier_map("").is_err());
    }
}
