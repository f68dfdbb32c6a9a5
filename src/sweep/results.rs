//! The results table of a sweep (SPEC §6): one row per point in point
//! order — `point`, the parameter columns named by their key path, then
//! `replications`, `slo_passed` (every SLO met on the mean), `slo_passed_ci`
//! (every SLO met by the whole 95 % CI), `events`, and for each metric of
//! the catalogue `<metric>_mean`, `<metric>_ci_low`, `<metric>_ci_high`
//! (empty where a metric is undefined or there is a single replication).
//! Built only from the stored point records, so a merged sweep and an
//! unsharded one give identical files. Per-tier estimates are in the long
//! table `tiers.csv` / `tiers.parquet` ([`crate::summary::tiers`]).

use super::{Manifest, PointRecord};
use crate::files::write_atomic_with;
use crate::metrics::names::METRICS;
use crate::summary::{Side, Summary};
use polars::prelude::*;
use polars_io::prelude::*;
use std::path::Path;

/// Whether every SLO check holds, on the mean or (with `ci`) with its whole
/// interval; None without SLOs.
fn slo_verdict(summary: &Summary, ci: bool) -> Option<bool> {
    let checks = &summary.slo.checks;
    if checks.is_empty() {
        return None;
    }
    Some(checks.iter().all(|c| {
        if !ci {
            return c.passed;
        }
        match c.ci95 {
            Some([lo, hi]) => match c.bound {
                Side::Max => hi <= c.limit,
                Side::Min => lo >= c.limit,
            },
            None => c.passed,
        }
    }))
}

/// The table of `records` as a polars frame.
pub fn results_frame(manifest: &Manifest, records: &[PointRecord]) -> PolarsResult<DataFrame> {
    let n = records.len();
    let mut cols: Vec<Column> = Vec::new();
    cols.push(Column::new(
        "point".into(),
        records.iter().map(|r| r.index as u64).collect::<Vec<_>>(),
    ));
    for (i, spec) in manifest.params.iter().enumerate() {
        let key = spec.split_once('=').map(|x| x.0).unwrap_or(spec).to_string();
        let texts: Vec<&str> = records
            .iter()
            .map(|r| r.values.get(i).map(|s| s.as_str()).unwrap_or(""))
            .collect();
        let col = if let Some(ints) = texts
            .iter()
            .map(|t| t.parse::<i64>().ok())
            .collect::<Option<Vec<i64>>>()
        {
            Column::new(key.into(), ints)
        } else if let Some(fl) = texts
            .iter()
            .map(|t| t.parse::<f64>().ok())
            .collect::<Option<Vec<f64>>>()
        {
            Column::new(key.into(), fl)
        } else {
            Column::new(key.into(), texts.iter().map(|t| t.to_string()).collect::<Vec<_>>())
        };
        cols.push(col);
    }
    cols.push(Column::new(
        "replications".into(),
        records
            .iter()
            .map(|r| u64::from(r.summary.replications))
            .collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "slo_passed".into(),
        records
            .iter()
            .map(|r| slo_verdict(&r.summary, false))
            .collect::<Vec<_>>(),
    ));
    cols.push(Column::new(
        "slo_passed_ci".into(),
        records
            .iter()
            .map(|r| slo_verdict(&r.summary, true))
            .collect::<Vec<_>>(),
    ));
    if manifest.precision.is_some() {
        cols.push(Column::new(
            "precision_met".into(),
            records.iter().map(|r| r.precision_met).collect::<Vec<_>>(),
        ));
    }
    cols.push(Column::new(
        "events".into(),
        records.iter().map(|r| r.summary.engine.events).collect::<Vec<_>>(),
    ));
    for m in METRICS {
        let get = |r: &PointRecord| r.summary.metrics.get(m.name).copied();
        let ci = |r: &PointRecord, k: usize| get(r).and_then(|e| e.ci95).map(|c| c[k]);
        cols.push(Column::new(
            format!("{}_mean", m.name).into(),
            records.iter().map(|r| get(r).map(|e| e.mean)).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            format!("{}_ci_low", m.name).into(),
            records.iter().map(|r| ci(r, 0)).collect::<Vec<_>>(),
        ));
        cols.push(Column::new(
            format!("{}_ci_high", m.name).into(),
            records.iter().map(|r| ci(r, 1)).collect::<Vec<_>>(),
        ));
    }
    DataFrame::new(n, cols)
}

/// Write `results.csv` and `results.parquet`, and the per-tier long table
/// `tiers.csv` and `tiers.parquet` (with `point`), into `dir`.
pub fn write_results(manifest: &Manifest, records: &[PointRecord], dir: &Path) -> anyhow::Result<()> {
    let mut df = results_frame(manifest, records)?;
    let to_io = |e: PolarsError| std::io::Error::other(e.to_string());
    write_atomic_with(&dir.join("results.csv"), |f| {
        CsvWriter::new(f).finish(&mut df).map_err(to_io)
    })?;
    write_atomic_with(&dir.join("results.parquet"), |f| {
        ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(to_io)
    })?;
    let per_point: Vec<(Option<usize>, &Summary)> = records.iter().map(|r| (Some(r.index), &r.summary)).collect();
    crate::summary::tiers::write_tiers(&per_point, dir)?;
    Ok(())
}
