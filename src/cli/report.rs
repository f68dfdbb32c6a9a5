//! `tenantsim report DIR`: the HTML and Markdown report of a result folder.

use super::EXIT_OK;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim report results/quickstart
  tenantsim report results/pool-exhaustion-sweep
  tenantsim report results/compare-pool-exhaustion-vs-pool-exhaustion_with_pool.size_4

Writes DIR/report.html (self-contained: inline SVG, no network), DIR/report.md
and DIR/plots/*.png|svg. `run`, `sweep`, `merge` and `compare` write it
themselves unless given --no-report.")]
pub struct ReportArgs {
    /// A folder written by run, sweep, merge or compare.
    pub dir: PathBuf,
}

pub fn run(a: ReportArgs) -> anyhow::Result<i32> {
    crate::report::write_report(&a.dir)?;
    println!("wrote {}", a.dir.join("report.html").display());
    Ok(EXIT_OK)
}
