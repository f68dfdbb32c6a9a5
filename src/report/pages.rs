//! The report of a result folder, built only from the files in it (so
//! `tenantsim report DIR` works on any folder `run`, `sweep`, `merge` or
//! `compare` wrote, on any machine):
//! - a run: scenario and settings, SLO verdicts, metrics with CIs, the time
//!   series (load, latency with SLO lines, instances with scaling events
//!   and the table of decisions with their reasons,
//!   utilization with autoscaler thresholds, pool, cache), the latency CDF
//!   per tier, errors by reason, warnings;
//! - a sweep: metric-vs-parameter charts with CI bands, a heatmap of p99
//!   over two parameters with the SLO frontier, cost vs p99 with its Pareto
//!   front, the table of points;
//! - a comparison: the relative change of each metric with its paired CI,
//!   and the per-replication differences of the significant ones.

use super::document::{Block, Document};
use super::plots::{Bar, Chart, Line, Rule};
use super::table::fmt_value;
use crate::metrics::names::METRICS;
use crate::summary::{Estimates, Settings, Side, SloResult, Summary, Verdict};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What kind of folder `dir` is, and its report.
pub fn build(dir: &Path) -> anyhow::Result<Document> {
    if dir.join("sweep.json").exists() {
        sweep_report(dir)
    } else if dir.join("comparison.json").exists() {
        compare_report(dir)
    } else if dir.join("summary.json").exists() {
        run_report(dir)
    } else {
        Err(crate::cli_error(format!(
            "{}: no summary.json, sweep.json or comparison.json: not a tenantsim result folder",
            dir.display()
        )))
    }
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| crate::cli_error(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| crate::cli_error(format!("{}: {e}", path.display())))
}

/// A CSV file as its header and rows of optional numbers/strings.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> anyhow::Result<Csv> {
        let mut r = csv::Reader::from_path(path).map_err(|e| crate::cli_error(format!("{}: {e}", path.display())))?;
        let header = r.headers()?.iter().map(String::from).collect();
        let rows = r
            .records()
            .map(|rec| rec.map(|x| x.iter().map(String::from).collect()))
            .collect::<Result<_, _>>()?;
        Ok(Csv { header, rows })
    }
    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
    fn num(&self, row: &[String], name: &str) -> Option<f64> {
        row.get(self.col(name)?)?.parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

fn metric_rows(metrics: &Estimates) -> Vec<Vec<String>> {
    METRICS
        .iter()
        .filter_map(|m| {
            let e = metrics.get(m.name)?;
            let ci = match e.ci95 {
                Some([a, b]) => format!("[{}, {}]", fmt_value(m.name, a), fmt_value(m.name, b)),
                None => "-".into(),
            };
            Some(vec![m.name.to_string(), fmt_value(m.name, e.mean), ci])
        })
        .collect()
}

/// `x` as JSON writes it (so `2.0`, not `2`; `null` for None).
fn json<T: serde::Serialize>(x: &T) -> String {
    serde_json::to_string(x).unwrap_or_default()
}

/// `x` in the unit of `metric`, "-" when undefined.
fn opt_value(metric: &str, x: Option<f64>) -> String {
    x.map(|x| fmt_value(metric, x)).unwrap_or("-".into())
}

fn slo_rows(checks: &[SloResult]) -> Vec<Vec<String>> {
    checks
        .iter()
        .map(|c| {
            let f = |x: Option<f64>| opt_value(&c.metric, x);
            vec![
                if c.passed { "PASS" } else { "FAIL" }.to_string(),
                c.name.clone(),
                c.scope.clone(),
                format!("{} {}", c.bound.symbol(), f(Some(c.limit))),
                f(c.value),
                format!("[{}, {}]", f(c.ci95.map(|c| c[0])), f(c.ci95.map(|c| c[1]))),
            ]
        })
        .collect()
}

/// Warnings a reader should see: the run's own, plus CIs too wide to trust.
fn ci_warnings(metrics: &Estimates) -> Vec<String> {
    let mut w = Vec::new();
    for name in [
        "latency_p95_s",
        "latency_p99_s",
        "throughput_rps",
        "error_rate",
        "cpu_utilization",
    ] {
        if let Some((m, [a, b])) = metrics.get(name).and_then(|e| Some((e.mean, e.ci95?))) {
            if m > 0.0 && (b - a) / 2.0 > 0.10 * m {
                w.push(format!(
                    "the 95 % CI of {name} is ±{:.0} % of its mean: run more replications (or --precision 0.05) before deciding on it",
                    (b - a) / 2.0 / m * 100.0
                ));
            }
        }
    }
    w
}

/// Mean over replications of a time-series column, per time point.
fn series(ts: &Csv, col: &str) -> Vec<(f64, f64)> {
    let mut acc: BTreeMap<u64, (f64, f64, u32)> = BTreeMap::new();
    for r in &ts.rows {
        let (Some(t), Some(v)) = (ts.num(r, "time_s"), ts.num(r, col)) else {
            continue;
        };
        let e = acc.entry((t * 1e6) as u64).or_insert((t, 0.0, 0));
        e.1 += v;
        e.2 += 1;
    }
    acc.into_values().map(|(t, s, n)| (t, s / n as f64)).collect()
}

fn line(name: &str, points: Vec<(f64, f64)>) -> Line {
    Line {
        name: name.into(),
        points,
        ..Default::default()
    }
}

fn lines_chart(title: &str, y: &str, lines: Vec<Line>, rules: Vec<Rule>, events: Vec<f64>) -> Chart {
    Chart::Lines {
        title: title.into(),
        x_label: "simulated time (s)".into(),
        y_label: y.into(),
        lines,
        rules,
        events,
        log_x: false,
    }
}

fn run_report(dir: &Path) -> anyhow::Result<Document> {
    let s = Summary::read(&dir.join("summary.json"))?;
    let name = s.scenario.clone();
    let mut b = Vec::new();
    b.push(Block::Text(format!(
        "{} — {} replication(s) of {} simulated (warm-up {}), seed {}.",
        if s.description.is_empty() {
            "(no description)"
        } else {
            &s.description
        },
        s.replications,
        fmt_value("latency_mean_s", s.duration_s),
        fmt_value("latency_mean_s", s.warmup_s),
        s.seed
    )));
    settings_table(&s.settings, &mut b);
    let mut warnings = s.warnings.clone();
    warnings.extend(ci_warnings(&s.metrics));
    if !warnings.is_empty() {
        b.push(Block::Heading("Warnings".into()));
        b.push(Block::Warnings(warnings));
    }
    let slo = slo_rows(&s.slo.checks);
    if !slo.is_empty() {
        b.push(Block::Heading("SLO verdicts".into()));
        b.push(Block::Table(
            ["verdict", "check", "scope", "limit", "mean", "95% CI"]
                .map(String::from)
                .to_vec(),
            slo,
        ));
    }
    claims_section(&s, &mut b);
    b.push(Block::Heading("Metrics (all traffic)".into()));
    b.push(Block::Table(
        ["metric", "mean", "95% CI"].map(String::from).to_vec(),
        metric_rows(&s.metrics),
    ));

    timeseries_section(&s, dir, &mut b)?;
    latency_cdf_section(dir, &mut b)?;
    errors_section(&s, &mut b);
    stages_section(&s, &mut b);
    tiers_section(&s, &mut b);
    Ok(Document {
        title: format!("tenantsim run: {name}"),
        blocks: b,
    })
}
/// The claims of the report a scenario models, each with its verdict and the simulated value.
fn claims_section(s: &Summary, b: &mut Vec<Block>) {
    if !s.claims.is_empty() {
        b.push(Block::Heading("Claims of the report this scenario models".into()));
        let rows = s
            .claims
            .iter()
            .map(|c| {
                let verdict = match c.verdict {
                    Verdict::Confirmed => "PASS confirmed".to_string(),
                    Verdict::Refuted => "FAIL refuted".to_string(),
                    v => v.to_string(),
                };
                vec![
                    verdict,
                    c.source.clone(),
                    c.text.clone(),
                    match c.metric.as_deref() {
                        None | Some("") => c.note.clone(),
                        Some(m) => {
                            let f = |x: Option<f64>| opt_value(m, x);
                            format!(
                                "{m} = {} [{}, {}] vs {} {}",
                                f(c.value),
                                f(c.ci95.map(|c| c[0])),
                                f(c.ci95.map(|c| c[1])),
                                c.bound.symbol(),
                                f(c.limit)
                            )
                        }
                    },
                ]
            })
            .collect();
        b.push(Block::Table(
            ["verdict", "source", "claim", "simulated"].map(String::from).to_vec(),
            rows,
        ));
    }
}

/// Charts over simulated time from `timeseries.csv`: load, latency, instances, utilization, pool and cache.
fn timeseries_section(s: &Summary, dir: &Path, b: &mut Vec<Block>) -> anyhow::Result<()> {
    let ts_path = dir.join("timeseries.csv");
    if ts_path.exists() {
        let ts = Csv::read(&ts_path)?;
        b.push(Block::Heading("Over simulated time".into()));
        let served: Vec<(f64, f64)> = {
            let c = series(&ts, "completed");
            let mut prev = 0.0;
            c.into_iter()
                .map(|(t, n)| {
                    let dt = (t - prev).max(1e-9);
                    prev = t;
                    (t, n / dt)
                })
                .collect()
        };
        b.push(Block::Chart(lines_chart(
            "Offered and served requests per second",
            "requests / s",
            vec![
                line("offered (arrivals)", series(&ts, "rps")),
                line("served (completed)", served),
            ],
            vec![],
            vec![],
        )));
        let mut rules = Vec::new();
        for c in &s.slo.checks {
            if c.metric.starts_with("latency_p") && c.bound == Side::Max {
                rules.push(Rule {
                    label: format!("SLO {} ({})", c.name, c.scope),
                    y: c.limit,
                });
            }
        }
        b.push(Block::Chart(lines_chart(
            "Latency percentiles",
            "seconds",
            vec![
                line("p50", series(&ts, "latency_p50_s")),
                line("p95", series(&ts, "latency_p95_s")),
                line("p99", series(&ts, "latency_p99_s")),
            ],
            rules,
            vec![],
        )));
        let events: Vec<f64> = s
            .scaling_events
            .iter()
            .filter(|e| e.replication == 0)
            .map(|e| e.time_s)
            .collect();
        b.push(Block::Chart(lines_chart(
            "Instances ready and desired (grey lines: scaling decisions of replication 0)",
            "instances",
            vec![
                line("ready", series(&ts, "instances_ready")),
                line("desired", series(&ts, "instances_desired")),
            ],
            vec![],
            events,
        )));
        super::decisions::section(dir, b)?;
        let mut util_rules = Vec::new();
        for t in s.settings.autoscaler.iter().flat_map(|a| &a.thresholds) {
            if t.metric == "cpu" || t.metric == "memory" {
                util_rules.push(Rule {
                    label: format!("{} {} {}", t.metric, t.kind, json(&t.value)),
                    y: t.value,
                });
            }
        }
        b.push(Block::Chart(lines_chart(
            "CPU and memory utilization (with autoscaler thresholds)",
            "fraction",
            vec![
                line("CPU", series(&ts, "cpu_utilization")),
                line("memory", series(&ts, "memory_utilization")),
            ],
            util_rules,
            vec![],
        )));
        if s.settings.pool.is_some() {
            b.push(Block::Chart(lines_chart(
                "Connection pool: in use and waiting (time average)",
                "connections / requests",
                vec![
                    line("in use", series(&ts, "pool_in_use")),
                    line("waiting", series(&ts, "pool_waiting")),
                ],
                vec![],
                vec![],
            )));
        }
        let hits = series(&ts, "cache_hit_ratio");
        if !hits.is_empty() {
            let mut rules = Vec::new();
            for (m, label) in [("l1_hit_ratio", "L1 mean"), ("l2_hit_ratio", "L2 mean (of L1 misses)")] {
                if let Some(v) = s.metrics.get(m).map(|e| e.mean) {
                    rules.push(Rule {
                        label: format!("{label} {v:.3}"),
                        y: v,
                    });
                }
            }
            b.push(Block::Chart(lines_chart(
                "Cache hit ratio (all levels; per-level means as lines)",
                "hit ratio",
                vec![line("hit ratio", hits)],
                rules,
                vec![],
            )));
        }
    }
    Ok(())
}

/// The latency CDF per tier from `latency_cdf.csv`.
fn latency_cdf_section(dir: &Path, b: &mut Vec<Block>) -> anyhow::Result<()> {
    let cdf_path = dir.join("latency_cdf.csv");
    if cdf_path.exists() {
        let cdf = Csv::read(&cdf_path)?;
        let mut by_scope: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        let mut order = Vec::new();
        for r in &cdf.rows {
            let scope = r.first().cloned().unwrap_or_default();
            if let (Some(p), Some(l)) = (cdf.num(r, "probability"), cdf.num(r, "latency_s")) {
                if !by_scope.contains_key(&scope) {
                    order.push(scope.clone());
                }
                by_scope.entry(scope).or_default().push((l, p));
            }
        }
        // With a single tier its curve is the overall one: draw it once.
        if order.len() == 2 {
            order.truncate(1);
        }
        let lines: Vec<Line> = order
            .iter()
            .map(|sc| Line {
                name: if sc == "all" {
                    "all traffic".into()
                } else {
                    format!("tier {sc}")
                },
                points: by_scope[sc].clone(),
                markers: true,
                ..Default::default()
            })
            .collect();
        b.push(Block::Heading("Latency distribution".into()));
        b.push(Block::Chart(Chart::Lines {
            title: "Latency CDF per tier (mean quantiles over replications)".into(),
            x_label: "latency (s, log scale)".into(),
            y_label: "fraction of requests".into(),
            lines,
            rules: vec![],
            events: vec![],
            log_x: true,
        }));
    }
    Ok(())
}

/// Failed requests by reason, with their CIs.
fn errors_section(s: &Summary, b: &mut Vec<Block>) {
    let reasons = [
        ("rejected_rate_limited", "rate limited"),
        ("rejected_tenant_limit", "tenant limit"),
        ("rejected_queue_full", "queue full"),
        ("rejected_no_instance", "no instance"),
        ("rejected_shed", "shed"),
        ("breaker_rejections", "breaker open"),
        ("pool_timeouts", "pool timeout"),
        ("rejected_db_connections", "db refused"),
        ("query_timeouts", "query timeout"),
        ("timeouts", "client timeout"),
        ("instance_failures", "instance failure"),
    ];
    let bars: Vec<Bar> = reasons
        .iter()
        .filter_map(|(m, label)| {
            let e = s.metrics.get(m)?;
            Some((label.to_string(), e.mean, e.ci95.map(|[a, b]| (a, b))))
        })
        .collect();
    b.push(Block::Heading("Errors by reason".into()));
    b.push(Block::Chart(Chart::Bars {
        title: "Failed requests by reason (per replication, after warm-up)".into(),
        x_label: "requests (mean, 95% CI)".into(),
        bars,
    }));
}

/// Latency and failure rate per request stage.
fn stages_section(s: &Summary, b: &mut Vec<Block>) {
    if !s.stages.is_empty() {
        b.push(Block::Heading("Request stages".into()));
        let cols = ["latency_mean_s", "latency_p95_s", "latency_p99_s", "failure_rate"];
        let rows = s
            .stages
            .iter()
            .map(|(name, m)| {
                std::iter::once(name.clone())
                    .chain(cols.iter().map(|c| {
                        let unit = if c.starts_with("latency") {
                            "latency_mean_s"
                        } else {
                            "error_rate"
                        };
                        opt_value(unit, m.get(c).map(|e| e.mean))
                    }))
                    .collect()
            })
            .collect();
        b.push(Block::Table(
            std::iter::once("stage".to_string())
                .chain(cols.iter().map(|c| c.to_string()))
                .collect(),
            rows,
        ));
    }
}

/// The main metrics per tier (only with more than one tier).
fn tiers_section(s: &Summary, b: &mut Vec<Block>) {
    let tiers = &s.tiers;
    if tiers.len() > 1 {
        b.push(Block::Heading("Per tier".into()));
        let cols = ["throughput_rps", "latency_p95_s", "latency_p99_s", "error_rate"];
        let rows = tiers
            .iter()
            .map(|(t, m)| {
                std::iter::once(t.clone())
                    .chain(cols.iter().map(|c| opt_value(c, m.get(c).map(|e| e.mean))))
                    .collect()
            })
            .collect();
        b.push(Block::Table(
            std::iter::once("tier".to_string())
                .chain(cols.iter().map(|c| c.to_string()))
                .collect(),
            rows,
        ));
    }
}

fn settings_table(st: &Settings, b: &mut Vec<Block>) {
    let mut rows = Vec::new();
    let i = &st.instance;
    rows.push(vec![
        "instances".into(),
        format!(
            "{} initial, {} cores, {} workers, {} MB, {} per hour",
            i.initial,
            i.cores,
            i.workers,
            json(&i.memory_mb),
            json(&i.cost_per_hour)
        ),
    ]);
    if let Some(p) = &st.pool {
        rows.push(vec![
            "connection pool".into(),
            format!("{} permanent, {} max, timeout {} s", p.size, p.max, json(&p.timeout_s)),
        ]);
    }
    for (l, cap) in [("l1", st.cache.l1), ("l2", st.cache.l2)] {
        if let Some(cap) = cap {
            rows.push(vec![format!("cache {l}"), format!("{cap} entries")]);
        }
    }
    for t in &st.tiers {
        rows.push(vec![
            format!("tier {}", t.name),
            format!(
                "{} tenants{}{}",
                t.tenants,
                t.rate_limit_per_s
                    .map(|r| format!(", {r} req/s per tenant"))
                    .unwrap_or_default(),
                t.max_connections
                    .map(|c| format!(", {c} connections"))
                    .unwrap_or_default()
            ),
        ]);
    }
    if let Some(a) = &st.autoscaler {
        let th: Vec<String> = a
            .thresholds
            .iter()
            .map(|t| format!("{} {} {}", t.metric, t.kind, json(&t.value)))
            .collect();
        rows.push(vec![
            "autoscaler".into(),
            format!(
                "{} policy, {}–{} instances, every {} s{}",
                a.policy,
                a.min,
                a.max,
                json(&a.interval_s),
                if th.is_empty() {
                    String::new()
                } else {
                    format!("; {}", th.join(", "))
                }
            ),
        ]);
    }
    b.push(Block::Heading("What was modelled".into()));
    b.push(Block::Table(vec!["component".into(), "settings".into()], rows));
}

fn sweep_report(dir: &Path) -> anyhow::Result<Document> {
    let m = crate::sweep::read_manifest(dir)?;
    let res = Csv::read(&dir.join("results.csv"))?;
    let keys: Vec<String> = m
        .params
        .iter()
        .map(|p| p.split_once('=').map(|x| x.0).unwrap_or(p).to_string())
        .collect();
    let mut b = vec![Block::Text(format!(
        "Sweep of {} over {} ({} design, {} points, {} replications each, seed {}).",
        m.scenario,
        m.params.join(", "),
        m.design,
        m.points_total,
        m.replications,
        m.seed
    ))];
    // SLO limits from the first point's summary.
    let (records, bad) = crate::sweep::read_points(dir)?;
    if let Some((path, why)) = bad.first() {
        return Err(crate::cli_error(format!(
            "{}: not a tenantsim sweep point ({why})",
            path.display()
        )));
    }
    let checks: &[SloResult] = records.first().map_or(&[], |r| &r.summary.slo.checks[..]);
    parameter_charts(&res, &keys, checks, &mut b);
    if keys.len() >= 2 {
        response_surface(&res, &keys, &mut b);
    }
    pareto_section(&res, &mut b);
    points_table(&res, &keys, &mut b);
    Ok(Document {
        title: format!("tenantsim sweep: {}", m.scenario),
        blocks: b,
    })
}

/// A cell of `results.csv` by column name (empty when absent).
fn cell(res: &Csv, row: &[String], k: &str) -> String {
    res.col(k).and_then(|i| row.get(i)).cloned().unwrap_or_default()
}

/// One chart per numeric parameter and metric, one line per combination of
/// the other parameters (at most 7), with the SLO limit as a rule.
fn parameter_charts(res: &Csv, keys: &[String], checks: &[SloResult], b: &mut Vec<Block>) {
    let value = |row: &[String], k: &str| cell(res, row, k);
    let limit_of = |metric: &str| {
        checks
            .iter()
            .filter(|c| c.metric == metric && c.scope == "all")
            .map(|c| c.limit)
            .map(|y| Rule {
                label: format!("SLO {y}"),
                y,
            })
            .collect::<Vec<_>>()
    };
    b.push(Block::Heading("Metrics against each parameter".into()));
    for (pi, key) in keys.iter().enumerate() {
        // Only numeric parameters make an x axis.
        if res.rows.iter().any(|r| res.num(r, key).is_none()) {
            continue;
        }
        for metric in ["latency_p99_s", "throughput_rps", "error_rate", "cost"] {
            // One line per combination of the other parameters (at most 7).
            let mut groups: BTreeMap<String, Vec<&Vec<String>>> = BTreeMap::new();
            for r in &res.rows {
                let label: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != pi)
                    .map(|(_, k)| format!("{k}={}", value(r, k)))
                    .collect();
                groups.entry(label.join(" ")).or_default().push(r);
            }
            let lines: Vec<Line> = groups
                .iter()
                .take(7)
                .map(|(label, rows)| {
                    let mut pts: Vec<(f64, f64, Option<f64>, Option<f64>)> = rows
                        .iter()
                        .filter_map(|r| {
                            Some((
                                res.num(r, key)?,
                                res.num(r, &format!("{metric}_mean"))?,
                                res.num(r, &format!("{metric}_ci_low")),
                                res.num(r, &format!("{metric}_ci_high")),
                            ))
                        })
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Line {
                        name: if label.is_empty() {
                            metric.to_string()
                        } else {
                            label.clone()
                        },
                        points: pts.iter().map(|p| (p.0, p.1)).collect(),
                        band: pts.iter().filter_map(|p| Some((p.0, p.2?, p.3?))).collect(),
                        markers: true,
                    }
                })
                .collect();
            if lines.iter().all(|l| l.points.is_empty()) {
                continue;
            }
            b.push(Block::Chart(Chart::Lines {
                title: format!("{metric} against {key} (bands: 95% CI)"),
                x_label: key.clone(),
                y_label: metric.into(),
                lines,
                rules: limit_of(metric),
                events: vec![],
                log_x: false,
            }));
        }
    }
}

/// The p99 heatmap over the first two parameters (a slice at the first
/// value of the others), with the SLO frontier.
fn response_surface(res: &Csv, keys: &[String], b: &mut Vec<Block>) {
    let value = |row: &[String], k: &str| cell(res, row, k);
    let (kx, ky) = (&keys[0], &keys[1]);
    let mut xs: Vec<String> = Vec::new();
    let mut ys: Vec<String> = Vec::new();
    for r in &res.rows {
        let (x, y) = (value(r, kx), value(r, ky));
        if !xs.contains(&x) {
            xs.push(x);
        }
        if !ys.contains(&y) {
            ys.push(y);
        }
    }
    let mut z = vec![vec![None; xs.len()]; ys.len()];
    let mut pass = vec![vec![None; xs.len()]; ys.len()];
    // Other parameters: the first value seen (the heatmap is a slice).
    let others: Vec<(String, String)> = keys[2..]
        .iter()
        .map(|k| (k.clone(), res.rows.first().map(|r| value(r, k)).unwrap_or_default()))
        .collect();
    for r in &res.rows {
        if others.iter().any(|(k, v)| &value(r, k) != v) {
            continue;
        }
        let xi = xs.iter().position(|x| *x == value(r, kx)).unwrap_or(0);
        let yi = ys.iter().position(|y| *y == value(r, ky)).unwrap_or(0);
        z[yi][xi] = res.num(r, "latency_p99_s_mean");
        pass[yi][xi] = match value(r, "slo_passed_ci").as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
    }
    let slice = if others.is_empty() {
        String::new()
    } else {
        format!(
            " at {}",
            others
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    b.push(Block::Heading("Response surface".into()));
    b.push(Block::Chart(Chart::Heatmap {
        title: format!("p99 latency over {kx} × {ky}{slice} (red: SLO frontier)"),
        x_label: kx.clone(),
        y_label: ky.clone(),
        x_values: xs,
        y_values: ys,
        z,
        pass,
        z_label: "p99 (s)".into(),
    }));
}

/// Cost against p99 latency, one point per setting, with the Pareto front.
fn pareto_section(res: &Csv, b: &mut Vec<Block>) {
    let value = |row: &[String], k: &str| cell(res, row, k);
    let pareto: Vec<(f64, f64, bool)> = res
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                res.num(r, "cost_mean")?,
                res.num(r, "latency_p99_s_mean")?,
                value(r, "slo_passed_ci") == "true" || (value(r, "slo_passed_ci").is_empty()),
            ))
        })
        .collect();
    if pareto.iter().any(|p| p.0 > 0.0) {
        b.push(Block::Heading("Cost against latency".into()));
        b.push(Block::Chart(Chart::Pareto {
            title: "Cost against p99 latency, one point per setting".into(),
            x_label: "cost per replication".into(),
            y_label: "p99 latency (s)".into(),
            points: pareto,
        }));
    }
}

/// The first 200 points as a table.
fn points_table(res: &Csv, keys: &[String], b: &mut Vec<Block>) {
    let value = |row: &[String], k: &str| cell(res, row, k);
    b.push(Block::Heading("Points".into()));
    let cols: Vec<String> = keys
        .iter()
        .cloned()
        .chain(
            [
                "slo_passed_ci",
                "throughput_rps_mean",
                "latency_p99_s_mean",
                "error_rate_mean",
                "cost_mean",
            ]
            .map(String::from),
        )
        .collect();
    let rows = res
        .rows
        .iter()
        .take(200)
        .map(|r| {
            cols.iter()
                .map(|c| {
                    let v = value(r, c);
                    match (c.as_str(), v.as_str()) {
                        ("slo_passed_ci", "true") => "PASS".into(),
                        ("slo_passed_ci", "false") => "FAIL".into(),
                        _ => match v.parse::<f64>() {
                            Ok(x) if !keys.contains(c) => format!("{x:.4}"),
                            _ => v,
                        },
                    }
                })
                .collect()
        })
        .collect();
    b.push(Block::Table(cols, rows));
    if res.rows.len() > 200 {
        b.push(Block::Text(format!(
            "… {} more rows in results.csv",
            res.rows.len() - 200
        )));
    }
}

fn compare_report(dir: &Path) -> anyhow::Result<Document> {
    let c = read_json(&dir.join("comparison.json"))?;
    let mut b = vec![Block::Text(format!(
        "A = {}; B = {}; {} paired replications, seed {}{}.",
        c["a"].as_str().unwrap_or(""),
        c["b"].as_str().unwrap_or(""),
        c["replications"],
        c["seed"],
        if c["common_random_numbers"] == true {
            " on common random numbers"
        } else {
            ", independent seeds"
        }
    ))];
    let metrics: Vec<&Value> = c["metrics"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let bars: Vec<Bar> = metrics
        .iter()
        .filter_map(|m| {
            let a = m["a"].as_f64()?;
            if a == 0.0 {
                return None;
            }
            let rel = |v: f64| v / a.abs() * 100.0;
            let ci = match (m["ci95"][0].as_f64(), m["ci95"][1].as_f64()) {
                (Some(lo), Some(hi)) => Some((rel(lo), rel(hi))),
                _ => None,
            };
            let name = m["metric"].as_str()?.to_string();
            Some((
                if m["significant"] == true {
                    format!("{name} *")
                } else {
                    name
                },
                rel(m["difference"].as_f64()?),
                ci,
            ))
        })
        .collect();
    b.push(Block::Heading("Change of each metric, B against A".into()));
    b.push(Block::Chart(Chart::Bars {
        title: "Relative change B − A (% of A), paired 95% CI; * significant".into(),
        x_label: "% of A".into(),
        bars,
    }));
    let significant: Vec<&&Value> = metrics
        .iter()
        .filter(|m| m["significant"] == true && m["differences"].is_array())
        .take(6)
        .collect();
    if !significant.is_empty() {
        b.push(Block::Heading("Per-replication differences".into()));
    }
    for m in significant {
        let name = m["metric"].as_str().unwrap_or("");
        let pts: Vec<(f64, f64)> = m["differences"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, d)| Some((i as f64, d.as_f64()?)))
            .collect();
        let band = match (m["ci95"][0].as_f64(), m["ci95"][1].as_f64()) {
            (Some(lo), Some(hi)) if !pts.is_empty() => vec![(0.0, lo, hi), ((pts.len() - 1) as f64, lo, hi)],
            _ => vec![],
        };
        b.push(Block::Chart(Chart::Lines {
            title: format!("{name}: B − A in each replication (band: paired 95% CI of the mean)"),
            x_label: "replication".into(),
            y_label: format!("{name} difference"),
            lines: vec![Line {
                name: "B − A".into(),
                points: pts,
                band,
                markers: true,
            }],
            rules: vec![Rule {
                label: "no difference".into(),
                y: 0.0,
            }],
            events: vec![],
            log_x: false,
        }));
    }
    b.push(Block::Heading("All metrics".into()));
    let rows = metrics
        .iter()
        .map(|m| {
            let name = m["metric"].as_str().unwrap_or("");
            let f = |v: &Value| v.as_f64().map(|x| fmt_value(name, x)).unwrap_or("-".into());
            vec![
                name.to_string(),
                f(&m["a"]),
                f(&m["b"]),
                f(&m["difference"]),
                format!("[{}, {}]", f(&m["ci95"][0]), f(&m["ci95"][1])),
                if m["significant"] == true {
                    "yes".into()
                } else {
                    "".into()
                },
            ]
        })
        .collect();
    b.push(Block::Table(
        ["metric", "A", "B", "B − A", "paired 95% CI", "significant"]
            .map(String::from)
            .to_vec(),
        rows,
    ));
    Ok(Document {
        title: "tenantsim comparison".into(),
        blocks: b,
    })
}
