//! Writing files so that a killed process never leaves a half-written one,
//! and CSV text with proper quoting. A leaf: run, sweep, report, fit and
//! serve all write through it, and it knows none of them.
//!
//! Atomic: the content goes to a hidden temporary file in the target's
//! folder (unique per process and call), which is renamed over the target
//! only when complete; on any error the temporary file is removed.
//! CSV: every field goes through the `csv` crate, so a comma, a quote or a
//! newline in a tier, tenant or endpoint name round-trips.

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
pub fn temp_path(dir: &Path, name: &str, ext: &str) -> std::path::PathBuf {
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

/// CSV text: `header`, then one line per row, every field quoted where it
/// needs to be (RFC 4180).
pub fn csv_string<R, F>(header: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail: the only errors are I/O errors.
    w.write_record(header).expect("in-memory CSV");
    for row in rows {
        w.write_record(row).expect("in-memory CSV");
    }
    String::from_utf8(w.into_inner().expect("in-memory CSV")).expect("CSV of UTF-8 fields is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_quotes_and_newlines_round_trip() {
        let names = ["plain", "a,b", "say \"hi\"", "two\nlines", ""];
        let text = csv_string(
            &["name", "n"],
            names
                .iter()
                .enumerate()
                .map(|(i, n)| vec![n.to_string(), i.to_string()]),
        );
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(r.headers().unwrap(), vec!["name", "n"]);
        let back: Vec<String> = r.records().map(|rec| rec.unwrap()[0].to_string()).collect();
        assert_eq!(back, names);
    }

    #[test]
    fn a_failed_write_leaves_neither_the_target_nor_a_temporary_file() {
        let dir = std::env::temp_dir().join(format!("tenantsim-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let target = dir.join("out.txt");
        let e = write_atomic_with(&target, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(e.is_err());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "left something in {}",
            dir.display()
        );
        write_atomic(&target, b"whole").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
