//! `tenantsim fit --check`: simulate a fitted scenario and compare it with
//! the log it was fitted to — latency distribution (mean, quantiles and a
//! two-sample Kolmogorov–Smirnov test), throughput (overall and hour by
//! hour) and, with a replica history, the instance count.
//!
//! Replications run in parallel; their latency histograms are merged. The
//! simulated CDF comes from the HDR histogram (three significant digits),
//! read at 1,000 quantiles and interpolated, so the KS statistic is exact
//! to about 0.001.

use super::dist::ks_two_sample;
use super::LogFit;
use crate::engine::{Scheduler, SimTime};
use crate::metrics::LatencyHistogram;
use crate::model::Service;
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::fmt::Write;

/// One replication's measurements.
struct RepResult {
    latency: LatencyHistogram,
    completed: u64,
    /// (end of interval s, completions, ready instances).
    rows: Vec<(f64, u64, u32)>,
}

fn run_rep(sc: &Scenario, rep: u32) -> RepResult {
    let mut sched = Scheduler::new();
    let mut svc = Service::new(sc, rep, &mut sched);
    let end: SimTime = sc.simulation.duration;
    sched.run_until(&mut svc, end);
    let end = if sched.stopped() { sched.now() } else { end };
    svc.finish_run(end);
    let all = svc.rec.overall();
    RepResult {
        completed: all.completed,
        latency: all.latency,
        rows: svc
            .rec
            .rows
            .iter()
            .map(|r| (r.time_s, r.completed, r.instances_ready))
            .collect(),
    }
}

/// The comparison's numbers.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub replications: u32,
    /// (quantity, log, simulated).
    pub rows: Vec<(String, f64, f64)>,
    pub ks_d: f64,
    pub ks_p: f64,
    pub log_n: usize,
    pub sim_n: u64,
    /// Mean |simulated − logged| / logged over hours with requests.
    pub hourly_throughput_error: f64,
    /// Mean |simulated − history| of instances at the history's samples.
    pub instances_mean_abs_diff: Option<f64>,
}

/// Simulate `sc` and compare with `log`; `replicas` is the history as
/// (seconds from the log's start, replicas).
pub fn compare(sc: &Scenario, log: &LogFit, replicas: &[(f64, f64)]) -> Comparison {
    let reps = sc.simulation.replications.max(1);
    let results: Vec<RepResult> = (0..reps).into_par_iter().map(|r| run_rep(sc, r)).collect();
    let mut h = LatencyHistogram::new();
    for r in &results {
        h.merge(&r.latency);
    }
    let sim_n = h.count();
    // Simulated CDF from 1,000 quantiles.
    let qs: Vec<(f64, f64)> = (0..=1000)
        .filter_map(|i| {
            let p = i as f64 / 1000.0;
            h.quantile_s(p.clamp(0.0005, 0.9995)).map(|x| (x, p))
        })
        .collect();
    let cdf = |x: f64| -> f64 {
        if qs.is_empty() {
            return 0.0;
        }
        match qs.iter().position(|q| q.0 >= x) {
            None => 1.0,
            Some(0) => 0.0,
            Some(i) => {
                let (x0, p0) = qs[i - 1];
                let (x1, p1) = qs[i];
                if x1 > x0 {
                    p0 + (p1 - p0) * (x - x0) / (x1 - x0)
                } else {
                    p1
                }
            }
        }
    };
    let (ks_d, ks_p) = if log.latencies.is_empty() || sim_n == 0 {
        (f64::NAN, f64::NAN)
    } else {
        ks_two_sample(&log.latencies, cdf, sim_n as f64)
    };
    let lq = |p: f64| -> f64 {
        let n = log.latencies.len();
        if n == 0 {
            return f64::NAN;
        }
        log.latencies[((p * n as f64) as usize).min(n - 1)]
    };
    let log_mean = log.latencies.iter().sum::<f64>() / log.latencies.len().max(1) as f64;
    let warm = sc.simulation.warmup.as_secs_f64();
    let dur = sc.simulation.duration.as_secs_f64();
    let sim_rps = results.iter().map(|r| r.completed as f64).sum::<f64>() / reps as f64 / (dur - warm).max(1e-9);
    let mut rows = vec![
        ("throughput_rps".to_string(), log.requests as f64 / log.span_s, sim_rps),
        ("latency_mean_s".into(), log_mean, h.mean_s().unwrap_or(f64::NAN)),
    ];
    for (name, p) in [("latency_p50_s", 0.5), ("latency_p95_s", 0.95), ("latency_p99_s", 0.99)] {
        rows.push((name.into(), lq(p), h.quantile_s(p).unwrap_or(f64::NAN)));
    }
    // Hour by hour: completions per hour (mean over replications).
    let hours = log.hourly.len();
    let mut sim_hourly = vec![0.0; hours];
    for r in &results {
        for (t, c, _) in &r.rows {
            let hi = (((t - 1e-9).max(0.0)) / 3600.0) as usize;
            if hi < hours {
                sim_hourly[hi] += *c as f64 / reps as f64;
            }
        }
    }
    let mut err = 0.0;
    let mut m = 0.0;
    for (i, (l, s)) in log.hourly.iter().zip(&sim_hourly).enumerate() {
        // The last hour is partial in both; compare full hours only.
        if *l > 0.0 && (i + 1) as f64 * 3600.0 <= log.span_s {
            err += (s - l).abs() / l;
            m += 1.0;
        }
    }
    let hourly_throughput_error = if m > 0.0 { err / m } else { f64::NAN };
    let instances_mean_abs_diff = (!replicas.is_empty()).then(|| {
        // Ready instances at each history sample (the row covering it).
        let mut d = 0.0;
        let mut n = 0.0;
        let (mut hist_sum, mut sim_sum, mut sim_max, mut hist_max) = (0.0, 0.0, 0.0f64, 0.0f64);
        for (t, v) in replicas {
            let mut sim = 0.0;
            let mut found = 0.0;
            for r in &results {
                if let Some(row) = r.rows.iter().find(|row| row.0 >= *t) {
                    sim += row.2 as f64;
                    found += 1.0;
                }
            }
            if found > 0.0 {
                let s = sim / found;
                d += (s - v).abs();
                n += 1.0;
                hist_sum += v;
                sim_sum += s;
                sim_max = sim_max.max(s);
                hist_max = hist_max.max(*v);
            }
        }
        if n > 0.0 {
            rows.push(("instances_mean".into(), hist_sum / n, sim_sum / n));
            rows.push(("instances_max".into(), hist_max, sim_max));
        }
        if n > 0.0 {
            d / n
        } else {
            f64::NAN
        }
    });
    Comparison {
        replications: reps,
        rows,
        ks_d,
        ks_p,
        log_n: log.latencies.len(),
        sim_n,
        hourly_throughput_error,
        instances_mean_abs_diff,
    }
}

impl Comparison {
    /// The comparison as the text `fit --check` prints.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "check: the fitted scenario ({} replications) against the log",
            self.replications
        );
        let _ = writeln!(
            s,
            "{:<18} {:>14} {:>14} {:>10}",
            "quantity", "log", "simulated", "difference"
        );
        for (q, l, m) in &self.rows {
            let rel = if *l != 0.0 {
                format!("{:+.1} %", 100.0 * (m - l) / l)
            } else {
                "-".into()
            };
            let f = |v: f64| {
                if q.ends_with("_s") {
                    super::dist::duration(v.max(0.0))
                } else {
                    format!("{v:.4}")
                }
            };
            let _ = writeln!(s, "{:<18} {:>14} {:>14} {:>10}", q, f(*l), f(*m), rel);
        }
        let _ = writeln!(
            s,
            "hourly throughput: mean |simulated − log| / log over full hours = {:.1} %",
            100.0 * self.hourly_throughput_error
        );
        if let Some(d) = self.instances_mean_abs_diff {
            let _ = writeln!(s, "instances: mean |simulated − replica history| = {d:.2}");
        }
        let _ = writeln!(
            s,
            "latency two-sample KS: D = {:.4}, p = {:.3} ({} logged vs {} simulated requests)",
            self.ks_d, self.ks_p, self.log_n, self.sim_n
        );
        let verdict = if self.ks_d.is_nan() {
            "no latencies to compare".to_string()
        } else if self.ks_p >= 0.01 {
            "the latency distributions are indistinguishable at the 1 % level".to_string()
        } else if self.ks_d <= 0.05 {
            format!(
                "the distributions differ significantly but by at most {:.1} percentage points of probability",
                100.0 * self.ks_d
            )
        } else {
            format!(
                "the latency distributions differ: D = {:.3} (largest CDF gap)",
                self.ks_d
            )
        };
        let _ = writeln!(s, "verdict: {verdict}");
        s
    }
}
