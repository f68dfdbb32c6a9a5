//! What users read: `summary.json`, the time series as CSV and Parquet, the
//! table printed on the terminal, and the HTML/Markdown report with charts. Every file is written atomically
//! (temporary file in the same folder, then rename), so a killed run never
//! leaves a half-written file.

pub mod compare;
pub mod decisions;
pub mod document;
pub mod pages;
pub mod plots;
pub mod table;
mod timeseries;

pub use decisions::write_scaling_events;
pub use table::print_summary;
pub use timeseries::{parquet_bytes, timeseries_frame, write_latency_cdf, write_timeseries};

use std::path::Path;

/// Write `report.html`, `report.md` and `plots/` for the result folder `dir`.
pub fn write_report(dir: &Path) -> anyhow::Result<()> {
    pages::build(dir)?.write(dir)
}
