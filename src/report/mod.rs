//! What users read: `summary.json`, the time series as CSV and Parquet, the
//! table printed on the terminal, and the HTML/Markdown report with charts. Every file is written atomically
//! (temporary file in the same folder, then rename), so a killed run never
//! leaves a half-written file.

pub mod compare;
pub mod document;
pub mod pages;
pub mod plots;
mod summary;
pub mod table;
mod timeseries;

pub use summary::{build_summary, outcome_of, ClaimResult, SloResult, Summary};
pub use table::print_summary;
pub use timeseries::{timeseries_frame, write_latency_cdf, write_timeseries};

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Write `bytes` to `path` atomically against a killed process (temporary
/// file + rename) but without waiting for the disk: for the many small
/// point files of a sweep, where an fsync each would dominate short points.
/// A power cut may lose the last points; a resumed sweep recomputes them.
pub fn write_atomic_nosync(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_inner(path, false, |f| f.write_all(bytes))
}

/// Create `path` atomically with `fill` writing its content.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_atomic_inner(path, true, fill)
}

/// A temporary name in `dir` for a file `name` being written: hidden,
/// unique per process and call (pid + a process-wide counter), so writers
/// in parallel threads (sweep points, plots), even of the same target,
/// never share one; `ext` ends it (`.png`: the PNG encoder picks the
/// format by extension).
pub(crate) fn temp_path(dir: &Path, name: &str, ext: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    dir.join(format!(".{name}.tmp-{}-{n}{ext}", std::process::id()))
}

fn write_atomic_inner(
    path: &Path,
    sync: bool,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = temp_path(dir, &name, "");
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        fill(&mut f)?;
        if sync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write `report.html`, `report.md` and `plots/` for the result folder `dir`.
pub fn write_report(dir: &Path) -> anyhow::Result<()> {
    pages::build(dir)?.write(dir)
}
