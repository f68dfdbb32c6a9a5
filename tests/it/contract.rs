//! The output contract (issue 24): every summary the tools write follows
//! `docs/summary.schema.json` and carries `schema_version` and
//! `tool_version`; the per-tier long table (`tiers.csv`, `tiers.parquet`)
//! says what `summary.json` says, from `run`, `sweep` and `merge`.

use super::schema::{assert_valid_summary, summary_schema};
use super::{repo, tmpdir};
use assert_cmd::Command;
use polars::prelude::*;
use polars_io::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tenantsim::metrics::names::METRICS;
use tenantsim::summary::{SCHEMA_VERSION, TOOL_VERSION};

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The summaries in a result folder: `summary.json` or each point's.
fn summaries_in(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    if dir.join("summary.json").exists() {
        out.push((dir.join("summary.json"), read_json(&dir.join("summary.json"))));
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("points")) {
        let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|x| x == "json")) {
            let mut point = read_json(&f);
            out.push((f, point["summary"].take()));
        }
    }
    out
}

fn assert_folder_valid(dir: &Path) -> usize {
    let all = summaries_in(dir);
    for (f, s) in &all {
        assert_valid_summary(&f.display().to_string(), s);
        assert_eq!(s["schema_version"], SCHEMA_VERSION, "{}", f.display());
    }
    all.len()
}

#[test]
fn the_schema_is_2020_12_and_lists_the_catalogue_and_this_version() {
    let text = std::fs::read_to_string(repo("docs/summary.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let names: Vec<&str> = schema["$defs"]["metric_name"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let catalogue: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
    assert_eq!(
        names, catalogue,
        "docs/summary.schema.json $defs/metric_name is not the catalogue"
    );
    assert_eq!(
        schema["properties"]["schema_version"]["enum"],
        serde_json::json!([SCHEMA_VERSION]),
        "bumped SCHEMA_VERSION without the schema (or the other way round)"
    );
    // Loading checks that it uses only keywords the validator implements.
    summary_schema();
    assert_eq!(TOOL_VERSION, env!("CARGO_PKG_VERSION"));
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The files git tracks under `dir` of the repository (empty outside a git
/// checkout): the testbed's local runs leave ignored summaries beside the
/// committed ones, written by whatever binary ran them.
fn committed_under(dir: &str) -> Vec<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z", "--", dir])
        .current_dir(repo(""))
        .output();
    match out {
        Ok(o) if o.status.success() => o
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| repo(&String::from_utf8_lossy(p)))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_committed_summary_and_sweep_point_follows_the_schema() {
    let mut files = committed_under("results");
    if files.is_empty() {
        files_under(&repo("results"), &mut files);
    }
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "summary.json" || n == "sweep.json"))
        .map(|f| f.parent().unwrap().to_path_buf())
        .collect();
    dirs.sort();
    dirs.dedup();
    let n: usize = dirs.iter().map(|d| assert_folder_valid(d)).sum();
    assert!(n >= 20, "only {n} committed summaries found");
}

/// A short quickstart run into `out` with `extra` flags; its stdout.
fn short_run(out: &Path, extra: &[&str]) -> String {
    let a = tenantsim()
        .current_dir(repo(""))
        .args([
            "run",
            "scenarios/examples/quickstart.toml",
            "--set",
            "simulation.duration=5m",
            "--set",
            "simulation.warmup=1m",
            "--no-report",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert();
    let code = a.get_output().status.code();
    assert!(matches!(code, Some(0 | 1)), "{:?}", a.get_output());
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn what_run_writes_and_prints_follows_the_schema_and_carries_its_versions() {
    let d = tmpdir("contract-run");
    let printed = short_run(&d.join("json"), &["--json", "--replications", "3"]);
    let written = std::fs::read_to_string(d.join("json").join("summary.json")).unwrap();
    assert_eq!(printed, written, "--json prints what it writes");
    let s: Value = serde_json::from_str(&written).unwrap();
    assert_valid_summary("run --json", &s);
    assert_eq!(s["schema_version"], SCHEMA_VERSION);
    assert_eq!(s["tool_version"], env!("CARGO_PKG_VERSION"));
    // The first two keys, so a reader finds them at a glance.
    let keys: Vec<&String> = s.as_object().unwrap().keys().take(2).collect();
    assert_eq!(keys, ["schema_version", "tool_version"]);
    // One replication (batch means, no CIs) and --precision: other sections.
    // (12 minutes: batch means need 10 intervals of 30 s after warm-up.)
    short_run(
        &d.join("one"),
        &["--replications", "1", "--quiet", "--set", "simulation.duration=12m"],
    );
    let one = read_json(&d.join("one").join("summary.json"));
    assert!(one["batch_means"].is_object(), "{}", one["batch_means"]);
    assert!(one["metrics"]["throughput_rps"]["ci95"].is_null());
    assert_valid_summary("run --replications 1", &one);
    short_run(
        &d.join("precision"),
        &["--precision", "0.5", "--max-replications", "4", "--quiet"],
    );
    let p = read_json(&d.join("precision").join("summary.json"));
    assert!(p["precision"].is_object());
    assert_valid_summary("run --precision", &p);
}

/// The scenarios `scripts/compare-summaries.sh` runs: every bundled file
/// with a `[simulation]` table or an `include`.
fn bundled_scenarios() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["scenarios", "scenarios/examples", "scenarios/validation"] {
        for e in std::fs::read_dir(repo(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                if text
                    .lines()
                    .any(|l| l.trim() == "[simulation]" || l.trim_start().starts_with("include"))
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_bundled_scenario_s_summary_follows_the_schema() {
    // Short runs (20,000 events per replication, 2 replications) reach
    // every section: stages, limiters, databases, claims, breakers,
    // scaling events, sessions.
    let schema = summary_schema();
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in bundled_scenarios() {
        let sets = [
            "simulation.max_events=20000".to_string(),
            "simulation.replications=2".to_string(),
        ];
        let Ok(sc) = tenantsim::scenario::load(&f, &sets) else {
            continue; // compare-summaries.sh reports these; not a summary
        };
        let out = tenantsim::runner::run(&sc, &|_| {});
        let s = tenantsim::summary::build_summary(&sc, &out);
        let v: Value = serde_json::from_str(&s.to_json()).unwrap();
        for e in schema.errors(&v) {
            failures.push(format!("{}: {e}", f.display()));
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} bundled scenarios ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn read_parquet(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap()).finish().unwrap()
}

fn read_csv(p: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(p.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

/// (tier, metric, mean, ci_low, ci_high) of every tier estimate in a
/// summary, in file order.
type Row = (String, String, Option<f64>, Option<f64>, Option<f64>);

fn tier_rows_of(summary: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    for (tier, metrics) in summary["tiers"].as_object().unwrap() {
        for (m, e) in metrics.as_object().unwrap() {
            let ci = |k: usize| e["ci95"].get(k).and_then(Value::as_f64);
            rows.push((tier.clone(), m.clone(), e["mean"].as_f64(), ci(0), ci(1)));
        }
    }
    rows
}

fn frame_rows(df: &DataFrame) -> Vec<Row> {
    let s = |c: &str| {
        let col = df.column(c).unwrap().str().unwrap().clone();
        (0..df.height())
            .map(|i| col.get(i).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let f = |c: &str| {
        let col = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
        let col = col.f64().unwrap().clone();
        (0..df.height()).map(|i| col.get(i)).collect::<Vec<_>>()
    };
    let (tier, metric, mean, lo, hi) = (s("tier"), s("metric"), f("mean"), f("ci_low"), f("ci_high"));
    (0..df.height())
        .map(|i| (tier[i].clone(), metric[i].clone(), mean[i], lo[i], hi[i]))
        .collect()
}

fn close(a: &[Row], b: &[Row]) -> bool {
    let eq = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(1.0),
        (x, y) => x == y,
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.0 == y.0 && x.1 == y.1 && eq(x.2, y.2) && eq(x.3, y.3) && eq(x.4, y.4))
}

#[test]
fn run_writes_the_per_tier_long_table_that_summary_json_holds() {
    let d = tmpdir("contract-tiers-run");
    short_run(&d, &["--replications", "3", "--quiet"]);
    let summary = read_json(&d.join("summary.json"));
    let expected = tier_rows_of(&summary);
    assert!(expected.len() >= 2 * 15, "{} tier rows", expected.len());
    // Catalogue order: the summary's keys follow it, and so must the table.
    let order: Vec<usize> = expected
        .iter()
        .filter(|r| r.0 == expected[0].0)
        .map(|r| METRICS.iter().position(|m| m.name == r.1).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    for file in ["tiers.parquet", "tiers.csv"] {
        let df = if file.ends_with("parquet") {
            read_parquet(&d.join(file))
        } else {
            read_csv(&d.join(file))
        };
        let names: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
        assert_eq!(names, ["tier", "metric", "mean", "ci_low", "ci_high"], "{file}");
        let rows = frame_rows(&df);
        assert!(
            close(&rows, &expected),
            "{file}:\n{rows:?}\nsummary.json:\n{expected:?}"
        );
    }
}

fn sweep(out: &Path, extra: &[&str]) {
    tenantsim()
        .current_dir(repo(""))
        .args([
            "sweep",
            "scenarios/examples/quickstart.toml",
            "--set",
            "simulation.duration=3m",
            "--set",
            "simulation.warmup=30s",
            "--replications",
            "2",
            "--param",
            "instance.initial=1,2,3",
            "--param",
            "tier.0.rate_limit.rate_per_s=0.2,1.0",
            "--quiet",
            "--no-report",
        ])
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success();
}

#[test]
fn sweep_and_merge_write_valid_points_and_the_per_tier_long_table() {
    let d = tmpdir("contract-sweep");
    let (whole, a, b, merged) = (d.join("whole"), d.join("a"), d.join("b"), d.join("merged"));
    sweep(&whole, &[]);
    sweep(&a, &["--shard", "0/2"]);
    sweep(&b, &["--shard", "1/2"]);
    tenantsim()
        .args([
            "merge",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--quiet",
            "--no-report",
        ])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(assert_folder_valid(&whole), 6);
    assert_eq!(assert_folder_valid(&a) + assert_folder_valid(&b), 6);
    assert_eq!(assert_folder_valid(&merged), 6);
    for f in ["tiers.csv", "results.csv"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
            "merged {f} differs from the unsharded sweep's"
        );
    }
    let df = read_parquet(&whole.join("tiers.parquet"));
    let names: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
    assert_eq!(names, ["point", "tier", "metric", "mean", "ci_low", "ci_high"]);
    let point = df.column("point").unwrap().cast(&DataType::UInt64).unwrap();
    let point = point.u64().unwrap().clone();
    let points: Vec<u64> = (0..df.height()).map(|i| point.get(i).unwrap()).collect();
    let rows = frame_rows(&df);
    let mut at = 0;
    for (f, s) in summaries_in(&whole) {
        let index = read_json(&f)["index"].as_u64().unwrap();
        let expected = tier_rows_of(&s);
        let n = expected.len();
        assert!(n > 0);
        assert!(points[at..at + n].iter().all(|p| *p == index), "point {index}");
        assert!(close(&rows[at..at + n], &expected), "point {index}");
        at += n;
    }
    assert_eq!(at, df.height(), "rows beyond the points' tier estimates");
    let csv = read_csv(&whole.join("tiers.csv"));
    assert!(close(&frame_rows(&csv), &rows));
}

#[test]
fn a_summary_of_another_major_version_or_without_one_is_refused() {
    let base = std::fs::read_to_string(repo("results/baselines/quickstart/summary.json")).unwrap();
    let newer = base.replacen(
        &format!("\"schema_version\": \"{SCHEMA_VERSION}\""),
        "\"schema_version\": \"2.0\"",
        1,
    );
    let older = base.replacen(&format!("\"schema_version\": \"{SCHEMA_VERSION}\",\n  "), "", 1);
    for (name, text, says) in [
        ("newer", newer, "schema_version \"2.0\""),
        ("older", older, "schema_version"),
    ] {
        assert_ne!(text, base, "{name}: the edit changed nothing");
        let d = tmpdir(&format!("contract-{name}"));
        std::fs::write(d.join("summary.json"), &text).unwrap();
        let errors = summary_schema().errors(&serde_json::from_str(&text).unwrap());
        assert!(!errors.is_empty(), "{name}: the schema accepts it");
        tenantsim()
            .arg("report")
            .arg(&d)
            .assert()
            .code(2)
            .stderr(predicates::str::contains("not a tenantsim summary.json"))
            .stderr(predicates::str::contains(says));
        assert!(!d.join("report.html").exists(), "{name}");
    }
}
