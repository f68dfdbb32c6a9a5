//! The time series (SPEC §6) as a polars frame, written as CSV and Parquet,
//! and the latency distribution (`latency_cdf.csv`) the report draws.

use crate::files::write_atomic_with;
use crate::runner::RunOutput;
use polars::prelude::*;
use polars_io::prelude::*;
use std::path::Path;

/// One row per replication and sample interval. `rps` is the offered load
/// (arrivals per second, rejected requests included), `completed` the
/// completions in the interval and `throughput_rps` the served load
/// (completions per second); the scenario reference documents every column.
pub fn timeseries_frame(out: &RunOutput) -> PolarsResult<DataFrame> {
    let rows: Vec<(u32, &crate::metrics::TimeSeriesRow)> = out
        .replications
        .iter()
        .flat_map(|r| r.timeseries.iter().map(move |row| (r.replication, row)))
        .collect();
    let n = rows.len();
    macro_rules! col {
        ($name:expr, $f:expr) => {
            Column::new($name.into(), rows.iter().map($f).collect::<Vec<_>>())
        };
    }
    let mut columns = vec![
        col!("replication", |(r, _)| *r),
        col!("time_s", |(_, x)| x.time_s),
        col!("rps", |(_, x)| x.rps),
        col!("completed", |(_, x)| x.completed),
        col!("throughput_rps", |(_, x)| x.throughput_rps),
        col!("errors", |(_, x)| x.errors),
        col!("latency_p50_s", |(_, x)| x.latency_p50_s),
        col!("latency_p95_s", |(_, x)| x.latency_p95_s),
        col!("latency_p99_s", |(_, x)| x.latency_p99_s),
        col!("instances_ready", |(_, x)| x.instances_ready),
        col!("instances_desired", |(_, x)| x.instances_desired),
        col!("cpu_utilization", |(_, x)| x.cpu_utilization),
        col!("memory_utilization", |(_, x)| x.memory_utilization),
        col!("pool_in_use", |(_, x)| x.pool_in_use),
        col!("pool_waiting", |(_, x)| x.pool_waiting),
        col!("cache_hit_ratio", |(_, x)| x.cache_hit_ratio),
    ];
    // Scenarios with sessions add their columns (others keep SPEC's list).
    if rows.iter().any(|(_, x)| x.sessions_open.is_some()) {
        columns.push(col!("sessions_open", |(_, x)| x.sessions_open));
        columns.push(col!("sessions_max_per_instance", |(_, x)| x.sessions_max_per_instance));
    }
    DataFrame::new(n, columns)
}

/// Write `timeseries.csv` and `timeseries.parquet` into `dir`.
pub fn write_timeseries(out: &RunOutput, dir: &Path) -> anyhow::Result<()> {
    let mut df = timeseries_frame(out)?;
    let to_io = |e: PolarsError| std::io::Error::other(e.to_string());
    write_atomic_with(&dir.join("timeseries.csv"), |f| {
        CsvWriter::new(f).finish(&mut df).map_err(to_io)
    })?;
    write_atomic_with(&dir.join("timeseries.parquet"), |f| {
        ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(to_io)
    })?;
    Ok(())
}

/// Write `latency_cdf.csv`: for all traffic and each tier, the latency at
/// each probability of [`crate::runner::CDF_PROBABILITIES`], averaged over
/// the replications where it is defined (quantile averaging).
pub fn write_latency_cdf(out: &RunOutput, tiers: &[String], dir: &Path) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    let scopes = std::iter::once("all".to_string()).chain(tiers.iter().cloned());
    for (k, scope) in scopes.enumerate() {
        for (j, p) in crate::runner::CDF_PROBABILITIES.iter().enumerate() {
            let xs: Vec<f64> = out
                .replications
                .iter()
                .filter_map(|r| r.latency_quantiles.get(k)?.get(j).copied().flatten())
                .collect();
            if !xs.is_empty() {
                let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                rows.push(vec![scope.clone(), p.to_string(), mean.to_string()]);
            }
        }
    }
    let text = crate::files::csv_string(&["scope", "probability", "latency_s"], rows);
    crate::files::write_atomic(&dir.join("latency_cdf.csv"), text.as_bytes())?;
    Ok(())
}

/// A frame as the bytes of a Parquet file, for callers that hand frames
/// across a language boundary (the Python package reads them with the
/// polars wheel): lossless column types, no second Arrow stack.
pub fn parquet_bytes(df: &mut DataFrame) -> PolarsResult<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df)?;
    Ok(buf)
}
