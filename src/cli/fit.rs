//! `tenantsim fit`: a scenario from an access log and/or a Prometheus
//! export (`--check` simulates it and compares), and `--synthesize`, a
//! synthetic log from a known scenario.

use crate::cli::{BadInput, EXIT_OK};
use crate::fit::{self, log, prometheus};
use anyhow::Context;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
  tenantsim fit scenarios/examples/access-log.csv --tier-map scenarios/examples/access-log-tenants.csv --out results/fit/fitted.toml --check\n  \
  tenantsim fit access.log --format nginx --out fitted.toml\n  \
  tenantsim fit --prometheus export.json --out fitted.toml\n  \
  tenantsim fit access.csv --prometheus http://127.0.0.1:9090 --out fitted.toml\n  \
  tenantsim fit --synthesize scenarios/examples/access-log-truth.toml --out log.csv")]
pub struct FitArgs {
    /// Access log: CSV (with a header), JSON lines, nginx combined or envoy's default format.
    pub log: Option<PathBuf>,
    /// A Prometheus range-query export (JSON), or a live server's http:// URL: request rates, latency histograms, CPU, replicas.
    #[arg(long, value_name = "EXPORT.json|URL")]
    pub prometheus: Option<PathBuf>,
    /// With --prometheus URL: the range to query, START,END in Unix seconds [default: the log's span, else the last hour].
    #[arg(long, value_name = "START,END")]
    pub prometheus_range: Option<String>,
    /// With --prometheus: base name of the per-endpoint CPU-seconds histogram (read as _sum/_count/_bucket) that splits latency.
    #[arg(long, value_name = "NAME", default_value = "refsvc_cpu_seconds")]
    pub prom_cpu: String,
    /// With --prometheus: base name of the connection-hold (query time) histogram.
    #[arg(long, value_name = "NAME", default_value = "refsvc_pool_hold_seconds")]
    pub prom_hold: String,
    /// With --prometheus: base name of the pool-wait histogram.
    #[arg(long, value_name = "NAME", default_value = "refsvc_pool_wait_seconds")]
    pub prom_wait: String,
    /// `tenant,tier` lines: tenants are grouped by tier (without it: one group).
    #[arg(long, value_name = "FILE")]
    pub tier_map: Option<PathBuf>,
    /// Log format (auto: from the first line).
    #[arg(long, value_enum, default_value = "auto")]
    pub format: log::Format,
    /// Column (or JSON key) of the timestamp; found by name when left out.
    #[arg(long, value_name = "NAME")]
    pub timestamp_col: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub tenant_col: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub endpoint_col: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub status_col: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub latency_col: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub bytes_col: Option<String>,
    /// Unit of unitless latency numbers: s, ms, us or ns (default: from the column name, else guessed).
    #[arg(long, value_name = "UNIT")]
    pub latency_unit: Option<String>,
    /// Where to write the scenario (Q-Q plots go to <stem>-qq/ beside it). Default: print it.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Scenario name (default: from the log's file name).
    #[arg(long)]
    pub name: Option<String>,
    /// The busiest endpoints keep their names; the rest are `other`.
    #[arg(long, default_value_t = 12)]
    pub max_endpoints: usize,
    /// Cores per instance in the scenario (an assumption the log cannot tell).
    #[arg(long, default_value_t = 2)]
    pub cores: u32,
    /// Replay the log (`trace` arrivals, each request's own tenant and endpoint) instead of fitted processes; writes <stem>-trace.csv.
    #[arg(long)]
    pub replay: bool,
    /// Simulate the fitted scenario and compare latency, throughput and instances with the log.
    #[arg(long)]
    pub check: bool,
    /// Replications for --check (default: the scenario's 3).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Seed for --check, or for --synthesize.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write a synthetic log of this scenario's workloads to --out (with <stem>-tenants.csv and <stem>-prometheus.json).
    #[arg(long, value_name = "SCENARIO")]
    pub synthesize: Option<PathBuf>,
    /// Start time of a synthetic log (RFC 3339).
    #[arg(long, default_value = "2026-05-04T00:00:00Z")]
    pub start: String,
}

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg))
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("fit");
    out.with_file_name(format!("{stem}{suffix}"))
}

fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let tmp = path.with_extension("tmp-fit");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run(a: FitArgs) -> anyhow::Result<i32> {
    if let Some(truth) = &a.synthesize {
        return synthesize(&a, truth);
    }
    if a.log.is_none() && a.prometheus.is_none() {
        return Err(bad(
            "nothing to fit: give an access log, --prometheus EXPORT.json, or both".into(),
        ));
    }
    let unit = latency_unit(&a)?;
    let tier_map = match &a.tier_map {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read {}: {e}", p.display())))?;
            Some(fit::read_tier_map(&text).map_err(|m| bad(format!("{}: {m}", p.display())))?)
        }
    };
    let mut parsed = None;
    let mut parts = None;
    if let Some(p) = &a.log {
        let (pl, d) = read_access_log(&a, p, unit)?;
        parsed = Some(pl);
        parts = d;
    }
    let prom = match &a.prometheus {
        None => None,
        Some(p) => Some(read_prometheus(&a, p, parsed.as_ref())?),
    };
    let log_fit = parsed
        .as_ref()
        .map(|p| fit::fit_log(&p.requests, tier_map.as_ref(), a.max_endpoints));
    let qq_dir = a.out.as_ref().map(|o| sibling(o, "-qq"));
    let trace_path = a.out.as_ref().filter(|_| a.replay).map(|o| sibling(o, "-trace.csv"));
    if a.replay && (a.out.is_none() || log_fit.is_none()) {
        return Err(bad(
            "--replay needs an access log and --out (the trace file is written beside the scenario)".into(),
        ));
    }
    let rel = |p: &Option<PathBuf>| {
        p.as_ref()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().to_string())
    };
    let source = [a.log.as_ref(), a.prometheus.as_ref()]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    let text = fit::render_with(
        log_fit.as_ref(),
        prom.as_ref(),
        &fit::RenderOptions {
            name: scenario_name(&a),
            source,
            replay: rel(&trace_path),
            qq_dir: rel(&qq_dir),
            cores: a.cores,
        },
        parts.as_ref(),
    )
    .map_err(bad)?;
    match &a.out {
        None => print!("{text}"),
        Some(out) => {
            write_atomic(out, &text)?;
            if let (Some(t), Some(f), Some(p)) = (&trace_path, &log_fit, &parsed) {
                write_atomic(t, &fit::trace_csv(&p.requests, f, tier_map.as_ref()))?;
            }
            if let (Some(d), Some(f)) = (&qq_dir, &log_fit) {
                write_qq_plots(d, f)?;
            }
            eprintln!("wrote {}", out.display());
        }
    }
    if let Some(f) = &log_fit {
        eprintln!("{}", summary(f));
    }
    if a.check {
        let Some(f) = &log_fit else {
            return Err(bad("--check compares with an access log: give one".into()));
        };
        check_against_log(&a, &text, f, prom.as_ref())?;
    }
    Ok(EXIT_OK)
}

/// `--latency-unit` as seconds per unit (`None`: from the column name, else guessed).
fn latency_unit(a: &FitArgs) -> anyhow::Result<Option<f64>> {
    Ok(match a.latency_unit.as_deref() {
        None => None,
        Some("s") => Some(1.0),
        Some("ms") => Some(1e-3),
        Some("us") => Some(1e-6),
        Some("ns") => Some(1e-9),
        Some(u) => return Err(bad(format!("--latency-unit {u}: allowed s, ms, us, ns"))),
    })
}

/// Read the access log and its per-component columns, telling on stderr
/// how each field was read and which lines were skipped.
fn read_access_log(
    a: &FitArgs,
    p: &Path,
    unit: Option<f64>,
) -> anyhow::Result<(log::ParsedLog, Option<fit::components::Decomposition>)> {
    let o = log::LogOptions {
        format: a.format,
        columns: log::Columns {
            timestamp: a.timestamp_col.clone(),
            tenant: a.tenant_col.clone(),
            endpoint: a.endpoint_col.clone(),
            status: a.status_col.clone(),
            latency: a.latency_col.clone(),
            bytes: a.bytes_col.clone(),
        },
        latency_unit: unit,
    };
    let pl = log::read_log(p, &o).map_err(bad)?;
    eprintln!(
        "read {} requests from {} ({:?}; {} lines skipped)",
        pl.requests.len(),
        p.display(),
        pl.format,
        pl.skipped
    );
    for (field, col) in &pl.mapping {
        eprintln!("  {field:<10} <- {col}");
    }
    for (line, why) in &pl.skipped_examples {
        eprintln!("  skipped line {line}: {why}");
    }
    if let Some(n) = &pl.latency_note {
        eprintln!("  note: {n}");
    }
    fit::check_enough_requests(pl.requests.len()).map_err(|m| bad(format!("{}: {m}", p.display())))?;
    // Per-component columns, when the log has them (CSV only).
    let text = std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read {}: {e}", p.display())))?;
    let parts = fit::components::read(&text).map_err(|m| bad(format!("{}: {m}", p.display())))?;
    match &parts {
        Some(d) => {
            eprintln!("  latency decomposed into the scenario's parts:");
            for n in d.notes() {
                eprintln!("    {n}");
            }
        }
        None => eprintln!(
            "  no per-component columns (cpu_s, pool_wait_s, hold_s, cache_s, cache_level): ASSUMED the whole latency is CPU demand"
        ),
    }
    Ok((pl, parts))
}

/// Fit a Prometheus export, read from a file or queried from a live server's URL.
fn read_prometheus(a: &FitArgs, p: &Path, parsed: Option<&log::ParsedLog>) -> anyhow::Result<prometheus::PromFit> {
    let url = p.to_string_lossy();
    let names = prometheus::ComponentNames {
        cpu: a.prom_cpu.clone(),
        hold: a.prom_hold.clone(),
        wait: a.prom_wait.clone(),
    };
    let text = if url.starts_with("http://") || url.starts_with("https://") {
        let (start, end) = prometheus_range(a, parsed)?;
        eprintln!("querying {url} from {start:.0} to {end:.0}");
        fit::prom_http::fetch_export(&url, start, end, &names).map_err(bad)?
    } else {
        std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read {}: {e}", p.display())))?
    };
    let series = prometheus::parse_export(&text).map_err(|m| bad(format!("{}: {m}", p.display())))?;
    let fit = prometheus::fit_export_with(&series, &names).map_err(|m| bad(format!("{}: {m}", p.display())))?;
    eprintln!("  latency split from the Prometheus series:");
    for n in fit::prom_components::notes(&fit) {
        eprintln!("    {n}");
    }
    Ok(fit)
}

/// The range to query a live Prometheus for: `--prometheus-range`, else the
/// log's span, else the last hour.
fn prometheus_range(a: &FitArgs, parsed: Option<&log::ParsedLog>) -> anyhow::Result<(f64, f64)> {
    Ok(match &a.prometheus_range {
        Some(r) => r
            .split_once(',')
            .and_then(|(s, e)| Some((s.trim().parse::<f64>().ok()?, e.trim().parse::<f64>().ok()?)))
            .ok_or_else(|| bad(format!("--prometheus-range {r}: expected START,END in Unix seconds")))?,
        None => match parsed {
            Some(pl) if !pl.requests.is_empty() => (pl.requests[0].t, pl.requests[pl.requests.len() - 1].t + 1.0),
            _ => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                (now - 3600.0, now)
            }
        },
    })
}

/// The scenario's name: `--name`, else `<stem of the log or export>-fitted`.
fn scenario_name(a: &FitArgs) -> String {
    a.name.clone().unwrap_or_else(|| {
        let src = a.log.as_ref().or(a.prometheus.as_ref());
        let stem = src
            .and_then(|p| p.file_stem())
            .and_then(|s| s.to_str())
            .unwrap_or("fitted");
        format!("{stem}-fitted")
    })
}

/// One Q-Q plot per fitted endpoint, `<dir>/<endpoint>.png`.
fn write_qq_plots(dir: &Path, f: &fit::LogFit) -> anyhow::Result<()> {
    for e in &f.endpoints {
        if let Some(c) = fit::qq_chart(e) {
            crate::report::plots::png(&c, &dir.join(format!("{}.png", e.name)))?;
        }
    }
    Ok(())
}

/// `--check`: simulate the fitted scenario and print how it compares with
/// the log (and with the export's replica history, when given).
fn check_against_log(
    a: &FitArgs,
    text: &str,
    f: &fit::LogFit,
    prom: Option<&prometheus::PromFit>,
) -> anyhow::Result<()> {
    let path = a.out.clone().unwrap_or_else(|| PathBuf::from("fitted.toml"));
    let ov = crate::scenario::Overrides::new(&[], a.seed, a.replications);
    let sc = crate::scenario::from_str(&path, text, &ov.sets).map_err(|e| ov.name_flag(e))?;
    let history: Vec<(f64, f64)> = prom
        .map(|p| {
            p.replicas
                .iter()
                .map(|(t, r)| (t - f.start_unix, *r))
                .filter(|x| x.0 >= 0.0)
                .collect()
        })
        .unwrap_or_default();
    let cmp = fit::check::compare(&sc, f, &history);
    print!("{}", cmp.text());
    Ok(())
}

/// One line per group and endpoint: what was chosen.
fn summary(f: &fit::LogFit) -> String {
    use fit::arrival::Shape;
    let mut s = String::new();
    for g in &f.groups {
        let shape = match &g.arrival.shape {
            Shape::Constant { rate, .. } => format!("poisson {rate:.4}/s"),
            Shape::Diurnal {
                peak,
                trough,
                peak_at_s,
                r2,
            } => {
                format!(
                    "diurnal {trough:.4}..{peak:.4}/s peak at {:.1}h (R² {r2:.2})",
                    peak_at_s / 3600.0
                )
            }
            Shape::Steps { steps, .. } => format!("steps ({} of {}s)", steps.len(), g.arrival.bin_s),
        };
        let bursts = g.arrival.bursts.as_ref().map_or("no bursts".to_string(), |b| {
            format!(
                "{} bursts +{:.3}/s for {:.0}s every {:.0}s",
                b.count,
                b.extra_rate,
                b.mean_burst_s,
                b.mean_normal_s + b.mean_burst_s
            )
        });
        s.push_str(&format!(
            "group {:<12} tenants {:>5}  requests {:>7}  {shape}; dispersion {:.2}; {bursts}\n",
            g.tier, g.population, g.requests, g.arrival.dispersion
        ));
    }
    for e in &f.endpoints {
        if let Some(b) = e.fits.first() {
            s.push_str(&format!(
                "endpoint {:<24} {:>7} requests  {} KS D {:.4}\n",
                e.name,
                e.requests,
                b.fit.describe(),
                b.ks
            ));
        }
    }
    s.trim_end().to_string()
}

/// `--synthesize`: the log, the tier map and a Prometheus export of a
/// known scenario's workloads.
fn synthesize(a: &FitArgs, truth: &Path) -> anyhow::Result<i32> {
    let out = a
        .out
        .clone()
        .ok_or_else(|| bad("--synthesize needs --out LOG.csv".into()))?;
    let sc = crate::scenario::load(truth, &[])?;
    let start = fit::timestamp::parse_timestamp(&a.start)
        .ok_or_else(|| bad(format!("--start {}: not an RFC 3339 time", a.start)))?;
    let reqs = fit::synth::synthesize(&sc, a.seed.unwrap_or(sc.simulation.seed), start).map_err(bad)?;
    write_atomic(&out, &fit::synth::to_csv(&reqs))?;
    let map = sibling(&out, "-tenants.csv");
    write_atomic(&map, &fit::synth::tier_map(&sc))?;
    let prom = sibling(&out, "-prometheus.json");
    let series = fit::synth::prometheus_series(
        &reqs,
        start,
        sc.simulation.duration.as_secs_f64(),
        300.0,
        sc.instance.initial,
    );
    write_atomic(&prom, &prometheus::to_export(&series))?;
    eprintln!(
        "wrote {} ({} requests), {} and {}",
        out.display(),
        reqs.len(),
        map.display(),
        prom.display()
    );
    Ok(EXIT_OK)
}
