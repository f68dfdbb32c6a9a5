//! Crash safety (issue 13): a `sweep` or `run` killed with SIGKILL at a
//! random moment never leaves a truncated output file (every file is
//! written to a temporary name and renamed), and `sweep --resume` then
//! produces the same results as a sweep that was never interrupted.
//!
//! "Random": the kill lands at a time drawn uniformly (from the clock's
//! nanoseconds) over the uninterrupted command's own wall time, so over
//! many CI runs it hits every phase, the final table writes included. Each
//! test kills three times at different moments.

use super::{repo, tmpdir};
use assert_cmd::Command;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn sweep_args(out: &Path) -> Vec<String> {
    [
        "sweep",
        repo("scenarios/examples/pool-exhaustion.toml").to_str().unwrap(),
        "--set",
        "simulation.duration=20s",
        "--set",
        "simulation.warmup=2s",
        "--replications",
        "1",
        "--param",
        "pool.size=2..8:2",
        "--param",
        "instance.initial=1,2",
        "--jobs",
        "1",
        "--quiet",
        "--no-report",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_args(out: &Path) -> Vec<String> {
    [
        "run",
        repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
        "--set",
        "simulation.duration=2m",
        // quickstart warms up for 2m: keep the warm-up shorter than the run.
        "--set",
        "simulation.warmup=10s",
        "--replications",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A fraction in [0, 1) from the clock.
fn random_fraction() -> f64 {
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    (n % 1_000_003) as f64 / 1_000_003.0
}

/// Run `args` to completion and return its wall time.
fn timed(args: &[String]) -> Duration {
    let t = Instant::now();
    Command::cargo_bin("tenantsim").unwrap().args(args).assert().success();
    t.elapsed()
}

/// Start `args` and SIGKILL it after `after`.
fn kill_after(args: &[String], after: Duration) {
    let bin = assert_cmd::cargo::cargo_bin("tenantsim");
    let mut child = std::process::Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = child.kill(); // SIGKILL on Unix; fine if it already finished
    child.wait().unwrap();
}

/// Every output file in `dir` (recursively) is complete: JSON parses,
/// Parquet has both magic numbers and reads, CSV ends with a newline.
fn assert_complete(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            assert_complete(&p);
            continue;
        }
        if name.starts_with('.') {
            continue; // a temporary file the kill left: never read as output
        }
        let bytes = std::fs::read(&p).unwrap();
        match p.extension().and_then(|x| x.to_str()) {
            Some("json") => {
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_else(|e| panic!("{name} truncated: {e}"));
            }
            Some("parquet") => {
                assert!(
                    bytes.len() >= 8 && &bytes[..4] == b"PAR1" && &bytes[bytes.len() - 4..] == b"PAR1",
                    "{name} truncated"
                );
                use polars_io::SerReader;
                polars_io::prelude::ParquetReader::new(std::fs::File::open(&p).unwrap())
                    .finish()
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            Some("csv") | Some("md") | Some("html") | Some("svg") => {
                assert!(
                    bytes.is_empty() || bytes.ends_with(b"\n") || bytes.ends_with(b">"),
                    "{name} truncated"
                );
            }
            _ => {}
        }
    }
}

#[test]
fn a_sweep_killed_at_random_moments_resumes_to_identical_results() {
    let reference = tmpdir("crash-sweep-ref");
    let wall = timed(&sweep_args(&reference));
    let expected = std::fs::read_to_string(reference.join("results.csv")).unwrap();
    for k in 0..3 {
        let out = tmpdir(&format!("crash-sweep-{k}"));
        // Spread over the whole command, start-up and final writes included.
        let at = wall.mul_f64(0.05 + 1.0 * random_fraction());
        kill_after(&sweep_args(&out), at);
        assert_complete(&out);
        let mut resume = sweep_args(&out);
        resume.push("--resume".into());
        // Nothing written yet is also a valid state: then it is a new sweep.
        if !out.join("sweep.json").exists() {
            resume.pop();
        }
        Command::cargo_bin("tenantsim")
            .unwrap()
            .args(&resume)
            .assert()
            .success();
        assert_complete(&out);
        assert_eq!(
            std::fs::read_to_string(out.join("results.csv")).unwrap(),
            expected,
            "killed after {at:?} of {wall:?}"
        );
    }
}

#[test]
fn a_run_killed_at_random_moments_leaves_no_truncated_file() {
    let reference = tmpdir("crash-run-ref");
    let wall = timed(&run_args(&reference));
    let summary = |d: &Path| super::strip_engine_timing(&std::fs::read_to_string(d.join("summary.json")).unwrap());
    for k in 0..3 {
        let out = tmpdir(&format!("crash-run-{k}"));
        let at = wall.mul_f64(0.05 + 1.0 * random_fraction());
        kill_after(&run_args(&out), at);
        assert_complete(&out);
        // A summary that made it to disk is the whole, final one.
        if out.join("summary.json").exists() {
            assert_eq!(summary(&out), summary(&reference), "killed after {at:?} of {wall:?}");
        }
    }
}
