//! Per-tier results in long format — one row per tier and metric:
//! `tier, metric, mean, ci_low, ci_high`, with a leading `point` column for
//! a sweep — written as `tiers.csv` and `tiers.parquet` next to
//! `summary.json` (by `run`) and next to `results.csv` (by `sweep` and
//! `merge`). Built only from summaries, so the table says exactly what
//! `summary.json` says: the metric names and their order are the
//! catalogue's ([`METRICS`]), the same that name the summary's keys and the
//! sweep's `<metric>_mean` columns. A mean that is undefined (null in
//! `summary.json`) and a CI that does not exist (one replication) are
//! empty cells.

use super::Summary;
use crate::files::write_atomic_with;
use crate::metrics::names::METRICS;
use polars::prelude::*;
use polars_io::prelude::*;
use std::path::Path;

/// The table's columns, in order, after `point` (sweeps only).
pub const TIER_COLUMNS: [&str; 5] = ["tier", "metric", "mean", "ci_low", "ci_high"];

/// One row: a tier's estimate of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TierRow {
    pub tier: String,
    pub metric: &'static str,
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The rows of one summary: tiers in the summary's order, metrics in the
/// catalogue's order, only those the summary reports for the tier.
pub fn tier_rows(s: &Summary) -> Vec<TierRow> {
    let mut rows = Vec::new();
    for (tier, estimates) in &s.tiers {
        for m in METRICS {
            if let Some(e) = estimates.get(m.name) {
                rows.push(TierRow {
                    tier: tier.clone(),
                    metric: m.name,
                    mean: Some(e.mean).filter(|x| x.is_finite()),
                    ci_low: e.ci95.map(|c| c[0]),
                    ci_high: e.ci95.map(|c| c[1]),
                });
            }
        }
    }
    rows
}

/// The long table of `summaries`: each with its sweep point index, or
/// None for a single run (then there is no `point` column).
pub fn tiers_frame(summaries: &[(Option<usize>, &Summary)]) -> PolarsResult<DataFrame> {
    let rows: Vec<(Option<usize>, TierRow)> = summaries
        .iter()
        .flat_map(|(p, s)| tier_rows(s).into_iter().map(move |r| (*p, r)))
        .collect();
    let mut cols = Vec::new();
    if summaries.iter().any(|(p, _)| p.is_some()) {
        cols.push(Column::new(
            "point".into(),
            rows.iter().map(|(p, _)| p.map(|i| i as u64)).collect::<Vec<_>>(),
        ));
    }
    let [tier, metric, mean, lo, hi] = TIER_COLUMNS;
    cols.push(Column::new(
        tier.into(),
        rows.iter().map(|(_, r)| r.tier.as_str()).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        metric.into(),
        rows.iter().map(|(_, r)| r.metric).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        mean.into(),
        rows.iter().map(|(_, r)| r.mean).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        lo.into(),
        rows.iter().map(|(_, r)| r.ci_low).collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        hi.into(),
        rows.iter().map(|(_, r)| r.ci_high).collect::<Vec<_>>(),
    ));
    DataFrame::new(rows.len(), cols)
}

/// Write `tiers.csv` and `tiers.parquet` of `summaries` into `dir`.
pub fn write_tiers(summaries: &[(Option<usize>, &Summary)], dir: &Path) -> anyhow::Result<()> {
    let mut df = tiers_frame(summaries)?;
    let to_io = |e: PolarsError| std::io::Error::other(e.to_string());
    write_atomic_with(&dir.join("tiers.csv"), |f| {
        CsvWriter::new(f).finish(&mut df).map_err(to_io)
    })?;
    write_atomic_with(&dir.join("tiers.parquet"), |f| {
        ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(to_io)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;
    use crate::summary::Named;

    fn est(mean: f64, ci: Option<[f64; 2]>) -> Estimate {
        Estimate {
            mean,
            ci95: ci,
            std: 0.0,
            n: 0,
        }
    }

    #[test]
    fn rows_follow_the_catalogue_order_and_keep_undefined_values_empty() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/results/baselines/quickstart/summary.json"
        ))
        .unwrap();
        let mut s = Summary::from_json(&text).unwrap();
        // Written out of catalogue order, one undefined, one without a CI.
        s.tiers = Named(vec![(
            "gold".into(),
            Named(vec![
                ("latency_p99_s".into(), est(f64::NAN, None)),
                ("throughput_rps".into(), est(3.0, Some([2.0, 4.0]))),
                ("error_rate".into(), est(0.5, None)),
            ]),
        )]);
        let rows = tier_rows(&s);
        let metrics: Vec<&str> = rows.iter().map(|r| r.metric).collect();
        assert_eq!(metrics, ["throughput_rps", "latency_p99_s", "error_rate"]);
        assert_eq!(rows[0].ci_low, Some(2.0));
        assert_eq!(rows[0].ci_high, Some(4.0));
        assert_eq!(rows[1].mean, None);
        assert_eq!((rows[2].mean, rows[2].ci_low), (Some(0.5), None));
        let run = tiers_frame(&[(None, &s)]).unwrap();
        assert_eq!(run.get_column_names(), TIER_COLUMNS);
        let sweep = tiers_frame(&[(Some(0), &s), (Some(7), &s)]).unwrap();
        assert_eq!(sweep.height(), 6);
        assert_eq!(sweep.get_column_names()[0].as_str(), "point");
    }
}
