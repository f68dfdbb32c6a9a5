//! The summary table printed after a run: metric, mean, 95 % CI, and the
//! SLO verdicts.

use crate::metrics::names::{metric, Unit};
use crate::scenario::units::format_duration;
use crate::summary::Summary;
use std::fmt::Write;

pub(crate) fn fmt_value(name: &str, v: f64) -> String {
    if v < 0.0 {
        return format!("-{}", fmt_value(name, -v));
    }
    match metric(name).map(|m| m.unit) {
        Some(Unit::Seconds) => format_duration(v),
        Some(Unit::Ratio) => format!("{v:.4}"),
        Some(Unit::Count) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(Unit::Money) => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// Render the summary as a text table.
pub fn print_summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "scenario {}  seed {}  {} replication(s) of {} (warm-up {})",
        s.scenario,
        s.seed,
        s.replications,
        format_duration(s.duration_s),
        format_duration(s.warmup_s)
    );
    for w in &s.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "{:<24} {:>12}  {:<27} SLO", "metric", "mean", "95% CI");
    for (name, v) in &s.metrics {
        let mean = v.mean;
        let ci = v
            .ci95
            .map(|[a, b]| format!("[{}, {}]", fmt_value(name, a), fmt_value(name, b)))
            .unwrap_or_else(|| "-".into());
        let slo: Vec<String> = s
            .slo
            .checks
            .iter()
            .filter(|c| c.metric == *name && c.scope == "all")
            .map(|c| {
                format!(
                    "{} {} {}",
                    if c.passed { "PASS" } else { "FAIL" },
                    c.bound.symbol(),
                    fmt_value(name, c.limit)
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "{:<24} {:>12}  {:<27} {}",
            name,
            fmt_value(name, mean),
            ci,
            slo.join(", ")
        );
    }
    if s.tiers.len() > 1 {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<16} {:>12} {:>12} {:>12} {:>12}",
            "tier", "throughput", "p95", "p99", "error_rate"
        );
        for (t, m) in &s.tiers {
            let g = |k: &str| m.get(k).map(|e| e.mean);
            let f = |k: &str| g(k).map(|v| fmt_value(k, v)).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                o,
                "{:<16} {:>12} {:>12} {:>12} {:>12}",
                t,
                f("throughput_rps"),
                f("latency_p95_s"),
                f("latency_p99_s"),
                f("error_rate")
            );
        }
    }
    if !s.stages.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{:<24} {:>12} {:>12} {:>12} {:>12}",
            "stage", "mean", "p95", "p99", "failure_rate"
        );
        for (name, m) in &s.stages {
            let g = |k: &str| m.get(k).map(|e| e.mean);
            let f = |k: &str| g(k).map(|v| fmt_value(k, v)).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                o,
                "{:<24} {:>12} {:>12} {:>12} {:>12}",
                name,
                f("latency_mean_s"),
                f("latency_p95_s"),
                f("latency_p99_s"),
                g("failure_rate")
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    let tier_checks: Vec<_> = s.slo.checks.iter().filter(|c| c.scope != "all").collect();
    if !tier_checks.is_empty() {
        let _ = writeln!(o);
        for c in tier_checks {
            let _ = writeln!(
                o,
                "SLO {} {}: {} {} {} → {}",
                c.scope,
                c.name,
                c.value.map(|v| fmt_value(&c.metric, v)).unwrap_or_else(|| "n/a".into()),
                c.bound.symbol(),
                fmt_value(&c.metric, c.limit),
                if c.passed { "PASS" } else { "FAIL" }
            );
        }
    }
    if !s.slo.checks.is_empty() {
        let _ = writeln!(o, "\nSLOs: {}", if s.slo.passed { "all passed" } else { "FAILED" });
    }
    let _ = writeln!(
        o,
        "engine: {} events in {:.2}s ({:.2} M events/s)",
        s.engine.events,
        s.engine.wall_s,
        s.engine.events_per_s / 1e6
    );
    o
}
