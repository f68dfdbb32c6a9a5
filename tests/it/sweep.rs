//! `tenantsim sweep` and `merge` through the real binary: the results
//! table, thread-count independence, shards merged = unsharded, resume
//! after a kill -9, and the errors users will meet.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

/// A short version of the pool-exhaustion example: 12 points × 2 replications.
const BASE: [&str; 8] = [
    "--set",
    "simulation.duration=40s",
    "--set",
    "simulation.warmup=10s",
    "--replications",
    "2",
    "--param",
    "pool.size=2..8:2",
];

fn sweep_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "sweep".into(),
        repo("scenarios/examples/pool-exhaustion.toml").display().to_string(),
    ];
    v.extend(BASE.iter().map(|s| s.to_string()));
    v.extend(["--param".into(), "instance.initial=1,2,3".into()]);
    v.extend(["--out".into(), out.display().to_string(), "--quiet".into()]);
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn csv(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("results.csv")).unwrap()
}

#[test]
fn a_grid_sweep_writes_one_row_per_point_with_ci_columns() {
    let out = tmpdir("sweep-grid");
    tenantsim().args(sweep_args(&out, &["--jobs", "2"])).assert().success();
    let text = csv(&out);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..7],
        [
            "point",
            "pool.size",
            "instance.initial",
            "replications",
            "slo_passed",
            "slo_passed_ci",
            "events"
        ]
    );
    for col in [
        "latency_p99_s_mean",
        "latency_p99_s_ci_low",
        "latency_p99_s_ci_high",
        "cost_mean",
        "error_rate_ci_high",
    ] {
        assert!(header.contains(&col), "{col} missing");
    }
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 12);
    // Last parameter varies fastest.
    assert_eq!(&rows[0][..3], ["0", "2", "1"]);
    assert_eq!(&rows[1][..3], ["1", "2", "2"]);
    assert_eq!(&rows[11][..3], ["11", "8", "3"]);
    // More connections never hurt here: with 3 instances, p99 at pool 8 is
    // below p99 at pool 2 (the table is about the model, not just shape).
    let p99 = header.iter().position(|h| *h == "latency_p99_s_mean").unwrap();
    let at = |r: usize| rows[r][p99].parse::<f64>().unwrap_or(f64::INFINITY);
    assert!(at(11) < at(2), "p99 pool 8: {}, pool 2: {}", at(11), at(2));
    // The Parquet file holds the same table.
    let f = std::fs::File::open(out.join("results.parquet")).unwrap();
    use polars_io::SerReader;
    let df = polars_io::prelude::ParquetReader::new(f).finish().unwrap();
    assert_eq!(df.height(), 12);
    assert_eq!(df.width(), header.len());
    assert_eq!(std::fs::read_dir(out.join("points")).unwrap().count(), 12);
}

#[test]
fn results_do_not_depend_on_threads_and_shards_merge_to_the_unsharded_sweep() {
    let one = tmpdir("sweep-j1");
    let two = tmpdir("sweep-j2");
    tenantsim().args(sweep_args(&one, &["--jobs", "1"])).assert().success();
    tenantsim().args(sweep_args(&two, &["--jobs", "2"])).assert().success();
    assert_eq!(csv(&one), csv(&two), "thread count changed the results");

    let root = tmpdir("sweep-shards");
    let s0 = root.join("s0");
    let s1 = root.join("s1");
    let s2 = root.join("s2");
    tenantsim()
        .args(sweep_args(&s0, &["--shard", "0/3"]))
        .assert()
        .success();
    tenantsim()
        .args(sweep_args(&s1, &["--shard", "1/3"]))
        .assert()
        .success();
    // The third shard finds its index the way a Kubernetes Indexed Job gives it.
    tenantsim()
        .args(sweep_args(&s2, &["--shards", "3"]))
        .env("JOB_COMPLETION_INDEX", "2")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .assert()
        .success();
    assert_eq!(csv(&s2).lines().count(), 1 + 4);
    // Two shards are not the whole sweep.
    let partial = root.join("partial");
    tenantsim()
        .args([
            "merge",
            s0.to_str().unwrap(),
            s1.to_str().unwrap(),
            "--out",
            partial.to_str().unwrap(),
            "--quiet",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("4 of 12 points are missing"));
    let merged = root.join("merged");
    tenantsim()
        .args([
            "merge",
            s0.to_str().unwrap(),
            s1.to_str().unwrap(),
            s2.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
            "--quiet",
        ])
        .assert()
        .success();
    assert_eq!(csv(&merged), csv(&one), "merged shards differ from the unsharded sweep");
}

#[test]
fn a_killed_sweep_resumes_without_recomputing_and_ends_identical() {
    // 36 points, so the kill lands mid-sweep.
    const MORE: [&str; 2] = ["--param", "workload.0.tenants=100,101,102"];
    let reference = tmpdir("sweep-ref");
    tenantsim()
        .args(sweep_args(&reference, &[&MORE[..], &["--jobs", "1"]].concat()))
        .assert()
        .success();

    let out = tmpdir("sweep-killed");
    let bin = assert_cmd::cargo::cargo_bin("tenantsim");
    let mut child = std::process::Command::new(&bin)
        .args(sweep_args(&out, &[&MORE[..], &["--jobs", "1"]].concat()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let count = |d: &Path| {
        std::fs::read_dir(d.join("points"))
            .map(|r| {
                r.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with('p'))
                    .count()
            })
            .unwrap_or(0)
    };
    let t0 = std::time::Instant::now();
    while count(&out) < 3 && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let done_before = count(&out);
    assert!((3..36).contains(&done_before), "killed after {done_before} points");
    assert!(!out.join("results.csv").exists(), "results written before the end");
    // Every point file on disk is complete JSON.
    for e in std::fs::read_dir(out.join("points")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('p') {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).expect(&name);
            assert!(v["summary"]["metrics"].is_object());
        }
    }
    // Without --resume the folder is protected.
    tenantsim()
        .args(sweep_args(&out, &MORE))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--resume"));
    // A different sweep cannot resume into it.
    let mut other = sweep_args(&out, &[&MORE[..], &["--resume"]].concat());
    assert_eq!(other[6], "--replications");
    other[7] = "4".into();
    tenantsim()
        .args(&other)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("replications differs"));
    tenantsim()
        .args(sweep_args(&out, &[&MORE[..], &["--resume", "--jobs", "2"]].concat()))
        .assert()
        .success();
    assert_eq!(csv(&out), csv(&reference));
    // The resumed run reports what it reused.
    let mut args = sweep_args(&out, &[&MORE[..], &["--resume"]].concat());
    args.retain(|a| a != "--quiet");
    tenantsim()
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("(0 run, 36 resumed)"));
}

#[test]
fn sweep_input_errors_name_the_problem() {
    let out = tmpdir("sweep-errors");
    let sc = repo("scenarios/examples/pool-exhaustion.toml");
    let sc = sc.to_str().unwrap();
    let o = out.join("x");
    let o = o.to_str().unwrap();
    tenantsim()
        .args(["sweep", sc, "--param", "pool.size=ten..20:5", "--out", o])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`ten` is not a number"));
    tenantsim()
        .args(["sweep", sc, "--param", "instance.target=0.5..0.9", "--out", o])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs --lhs N"));
    // A value the scenario rejects fails before anything runs, naming the point.
    tenantsim()
        .args(["sweep", sc, "--param", "pool.size=4,0", "--out", o])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("point 1 (pool.size=0)"));
    tenantsim()
        .args(["sweep", sc, "--param", "pool.size=4", "--shards", "2", "--out", o])
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("JOB_COMPLETION_INDEX"));
    assert!(!out.join("x").join("results.csv").exists());
}

#[test]
fn lhs_sweeps_sample_continuous_ranges() {
    let out = tmpdir("sweep-lhs");
    tenantsim()
        .args([
            "sweep",
            repo("scenarios/examples/pool-exhaustion.toml").to_str().unwrap(),
            "--set",
            "simulation.duration=20s",
            "--set",
            "simulation.warmup=5s",
            "--replications",
            "2",
            "--param",
            "pool.size=2..9",
            "--param",
            "workload.0.arrival.rate_per_s=3.0..3.4",
            "--lhs",
            "8",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .assert()
        .success();
    let text = csv(&out);
    let mut sizes: Vec<i64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    sizes.sort();
    assert_eq!(sizes, [2, 3, 4, 5, 6, 7, 8, 9], "each stratum once");
}

#[test]
fn precision_adds_replications_until_the_ci_is_narrow_enough() {
    let out = tmpdir("precision");
    let run = |prec: &str, max: &str| -> serde_json::Value {
        let o = tenantsim()
            .args([
                "run",
                repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
                "--set",
                "simulation.duration=5m",
                "--replications",
                "3",
                "--precision",
                prec,
                "--precision-metric",
                "latency_p95_s",
                "--max-replications",
                max,
                "--json",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let s = run("0.01", "60");
    let e = &s["metrics"]["latency_p95_s"];
    let (mean, lo, hi) = (
        e["mean"].as_f64().unwrap(),
        e["ci95"][0].as_f64().unwrap(),
        e["ci95"][1].as_f64().unwrap(),
    );
    assert!(
        (hi - lo) / 2.0 <= 0.01 * mean,
        "half-width {} of {mean}",
        (hi - lo) / 2.0
    );
    assert!(
        s["replications"].as_u64().unwrap() > 3,
        "3 replications already met 1 %?"
    );
    assert_eq!(s["precision"]["met"], true);
    // An unreachable target stops at the cap and says so.
    let s = run("0.0001", "5");
    assert_eq!(s["replications"], 5);
    assert_eq!(s["precision"]["met"], false);
    assert!(s["warnings"].to_string().contains("not reached"));
}

/// Issue 26 item 4: `--precision` on the quickstart's SLO metrics (p95, p99,
/// error rate) ran to the cap and blamed all three, though the error rate
/// (mean ≈ 2e-6) was the only one that missed, and only because a relative
/// target on a near-zero rate is unreachable.
#[test]
fn precision_names_only_the_metrics_that_missed_and_holds_near_zero_rates_to_an_absolute_width() {
    let out = tmpdir("precision-missed");
    let run = |prec: &str, max: &str| -> serde_json::Value {
        let o = tenantsim()
            .args([
                "run",
                repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
                "--set",
                "simulation.duration=5m",
                "--replications",
                "3",
                "--precision",
                prec,
                "--max-replications",
                max,
                "--json",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&o.stdout).unwrap()
    };
    // 5 % is reachable for every SLO metric: the near-zero error rate does
    // not force the cap, and the note says it was judged absolutely.
    let s = run("0.05", "40");
    assert_eq!(s["precision"]["met"], true, "{}", s["precision"]);
    assert!(
        s["replications"].as_u64().unwrap() < 40,
        "ran to the cap: {}",
        s["precision"]
    );
    assert_eq!(s["precision"]["missed"], serde_json::json!([]));
    assert_eq!(s["precision"]["absolute"], serde_json::json!(["error_rate"]));
    let warnings = s["warnings"].to_string();
    assert!(!warnings.contains("not reached"), "{warnings}");
    assert!(warnings.contains("error_rate below 0.01"), "{warnings}");
    // A tight target with 4 replications misses on the tail latencies: the
    // warning names them and not the error rate.
    let s = run("0.001", "4");
    assert_eq!(s["precision"]["met"], false);
    let missed = s["precision"]["missed"].to_string();
    assert!(missed.contains("latency_p99_s"), "{missed}");
    assert!(!missed.contains("error_rate"), "{missed}");
    let warning = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .find(|w| w.contains("not reached"))
        .unwrap()
        .to_string();
    assert!(
        warning.contains("latency_p99_s") && !warning.contains("error_rate"),
        "{warning}"
    );
}

#[test]
fn a_key_swept_twice_is_refused_before_anything_runs() {
    let d = tmpdir("sweep-dup-key");
    let out = d.join("s");
    let a = tenantsim()
        .arg("sweep")
        .arg(repo("scenarios/examples/quickstart.toml"))
        .args([
            "--param",
            "instance.initial=1,2",
            "--param",
            "instance.initial=3,4",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(2);
    let e = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        e.contains("--param instance.initial=1,2 and --param instance.initial=3,4"),
        "{e}"
    );
    assert!(e.contains("`instance.initial`"), "{e}");
    assert!(!out.exists(), "no points/ or sweep.json left behind");
}
