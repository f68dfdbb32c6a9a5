//! A paired comparison of two configurations run on the same random
//! numbers (SPEC §2 common random numbers): for every metric, the mean of
//! each side, the mean difference B − A with its paired-t 95 % CI, and the
//! Welch CI the same numbers would give if the runs had been independent —
//! so users see what the pairing bought. A difference is significant when
//! its CI excludes zero.

use super::table::fmt_value;
use crate::metrics::names::METRICS;
use crate::runner::RunOutput;
use crate::stats::{paired_difference, welch_difference, Estimate};
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize, Debug, Clone)]
pub struct MetricComparison {
    pub metric: &'static str,
    pub a: f64,
    pub b: f64,
    /// Mean of B − A over paired replications.
    pub difference: f64,
    pub ci95: Option<[f64; 2]>,
    /// (B − A) / A, when A is not zero.
    pub relative: Option<f64>,
    pub significant: bool,
    /// The CI of the difference as if the sides were independent (Welch).
    pub ci95_unpaired: Option<[f64; 2]>,
    /// B − A in each replication where both are defined.
    pub differences: Vec<f64>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub seed: u64,
    pub replications: usize,
    pub common_random_numbers: bool,
    pub metrics: Vec<MetricComparison>,
}

/// Compare the overall metrics of two runs replication by replication.
pub fn compare(a_name: &str, b_name: &str, seed: u64, crn: bool, a: &RunOutput, b: &RunOutput) -> Comparison {
    let n = a.replications.len().min(b.replications.len());
    let metrics = METRICS
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let av: Vec<Option<f64>> = a.replications[..n].iter().map(|r| r.overall[i]).collect();
            let bv: Vec<Option<f64>> = b.replications[..n].iter().map(|r| r.overall[i]).collect();
            let ea = Estimate::from_samples(&av.iter().flatten().copied().collect::<Vec<_>>())?;
            let eb = Estimate::from_samples(&bv.iter().flatten().copied().collect::<Vec<_>>())?;
            let d = paired_difference(&av, &bv)?;
            let w = welch_difference(
                &av.iter().flatten().copied().collect::<Vec<_>>(),
                &bv.iter().flatten().copied().collect::<Vec<_>>(),
            );
            let significant = d.ci95.is_some_and(|[lo, hi]| lo > 0.0 || hi < 0.0);
            Some(MetricComparison {
                metric: m.name,
                a: ea.mean,
                b: eb.mean,
                difference: d.mean,
                ci95: d.ci95,
                relative: (ea.mean != 0.0).then(|| d.mean / ea.mean.abs()),
                significant,
                ci95_unpaired: w.and_then(|w| w.ci95),
                differences: av.iter().zip(&bv).filter_map(|(x, y)| Some((*y)? - (*x)?)).collect(),
            })
        })
        .collect();
    Comparison {
        a: a_name.to_string(),
        b: b_name.to_string(),
        seed,
        replications: n,
        common_random_numbers: crn,
        metrics,
    }
}

impl Comparison {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("comparison serialises") + "\n"
    }

    /// The comparison as CSV: one row per metric.
    pub fn to_csv(&self) -> String {
        let f = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        let rows = self.metrics.iter().map(|m| {
            vec![
                m.metric.to_string(),
                m.a.to_string(),
                m.b.to_string(),
                m.difference.to_string(),
                f(m.ci95.map(|c| c[0])),
                f(m.ci95.map(|c| c[1])),
                f(m.relative),
                m.significant.to_string(),
                f(m.ci95_unpaired.map(|c| c[0])),
                f(m.ci95_unpaired.map(|c| c[1])),
            ]
        });
        crate::files::csv_string(
            &[
                "metric",
                "a",
                "b",
                "difference",
                "ci_low",
                "ci_high",
                "relative",
                "significant",
                "ci_low_unpaired",
                "ci_high_unpaired",
            ],
            rows,
        )
    }

    /// The table printed on the terminal.
    pub fn table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "A = {}\nB = {}\n{} paired replications, seed {}{}\n",
            self.a,
            self.b,
            self.replications,
            self.seed,
            if self.common_random_numbers {
                " (common random numbers)"
            } else {
                " (independent seeds)"
            }
        );
        let _ = writeln!(
            o,
            "{:<24} {:>12} {:>12} {:>12}  {:<29} {:>8}",
            "metric", "A", "B", "B − A", "95% CI of B − A", "change"
        );
        let mut sig = 0;
        let mut ratio_sum = 0.0;
        let mut ratio_n = 0;
        let mut hidden = 0;
        for m in &self.metrics {
            if m.a == 0.0 && m.b == 0.0 && m.difference == 0.0 {
                hidden += 1;
                continue;
            }
            let ci = m
                .ci95
                .map(|[lo, hi]| format!("[{}, {}]", fmt_value(m.metric, lo), fmt_value(m.metric, hi)))
                .unwrap_or_else(|| "-".into());
            let change = m.relative.map(|r| format!("{:+.1}%", r * 100.0)).unwrap_or_default();
            let _ = writeln!(
                o,
                "{:<24} {:>12} {:>12} {:>12}  {:<29} {:>8} {}",
                m.metric,
                fmt_value(m.metric, m.a),
                fmt_value(m.metric, m.b),
                fmt_value(m.metric, m.difference),
                ci,
                change,
                if m.significant { "*" } else { "" }
            );
            sig += m.significant as usize;
            if let (Some([lo, hi]), Some([ulo, uhi])) = (m.ci95, m.ci95_unpaired) {
                if hi > lo && uhi > ulo {
                    ratio_sum += (uhi - ulo) / (hi - lo);
                    ratio_n += 1;
                }
            }
        }
        let _ = writeln!(
            o,
            "\n* {sig} of {} metrics differ significantly (95 % paired-t CI of B − A excludes 0){}",
            self.metrics.len(),
            if hidden > 0 {
                format!("; {hidden} metrics zero on both sides not shown")
            } else {
                String::new()
            }
        );
        if self.common_random_numbers && ratio_n > 0 {
            let _ = writeln!(
                o,
                "pairing on common random numbers made the CIs {:.1}× narrower on average than independent runs would",
                ratio_sum / ratio_n as f64
            );
        }
        o
    }
}
