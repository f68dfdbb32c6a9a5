//! `summary.json` reads back as a `Summary`: what `run` writes round-trips
//! byte for byte, every committed summary and sweep point still reads, and
//! a file that is not a summary is refused with its name.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use tenantsim::summary::Summary;
use tenantsim::sweep::PointRecord;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

#[test]
fn a_summary_built_from_a_run_reads_back_equal_and_writes_the_same_bytes() {
    // Stages, limiters, database servers, tiers and claims: every part of a summary.
    for file in [
        "scenarios/examples/request-stages.toml",
        "scenarios/examples/rate-limits.toml",
        "scenarios/examples/read-replicas.toml",
        "scenarios/hermes.toml",
    ] {
        let sets = [
            "simulation.max_events=20000".to_string(),
            "simulation.replications=2".to_string(),
        ];
        let sc = tenantsim::scenario::load(&repo(file), &sets).unwrap();
        let out = tenantsim::runner::run(&sc, &|_| {});
        let s = tenantsim::summary::build_summary(&sc, &out);
        let text = s.to_json();
        let back = Summary::from_json(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(back, s, "{file}");
        assert_eq!(back.to_json(), text, "{file}");
    }
}

#[test]
fn what_run_writes_reads_back_byte_for_byte() {
    let d = tmpdir("summary-roundtrip");
    tenantsim()
        .args([
            "run",
            "scenarios/examples/k6-ramp.toml",
            "--quiet",
            "--no-report",
            "--max-events",
            "20000",
        ])
        .arg("--out")
        .arg(&d)
        .current_dir(repo(""))
        .assert()
        .code(predicate::in_iter([0, 1]));
    let path = d.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let s = Summary::read(&path).unwrap();
    assert_eq!(s.to_json(), text);
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

#[test]
fn every_committed_summary_and_sweep_point_reads() {
    let mut files = Vec::new();
    files_under(&repo("results"), &mut files);
    let (mut summaries, mut points) = (0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        if name == "summary.json" {
            Summary::read(f).unwrap_or_else(|e| panic!("{e:#}"));
            summaries += 1;
        } else if name.ends_with(".json") && f.parent().unwrap().ends_with("points") {
            let text = std::fs::read_to_string(f).unwrap();
            serde_json::from_str::<PointRecord>(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            points += 1;
        }
    }
    assert!(summaries >= 2, "{summaries} summaries");
    assert!(points >= 20, "{points} points");
}

/// A copy of the quickstart baseline with `edit` applied to its summary.json.
fn broken_result(name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let d = tmpdir(name);
    let text = std::fs::read_to_string(repo("results/baselines/quickstart/summary.json")).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(d.join("summary.json"), edited).unwrap();
    d
}

#[test]
fn report_refuses_a_summary_with_a_misspelt_field_or_a_wrong_type() {
    let misspelt = broken_result("summary-misspelt", |t| t.replacen("\"warmup_s\"", "\"warmup_secs\"", 1));
    let wrong_type = broken_result("summary-wrong-type", |t| {
        t.replacen("\"replications\": 5,", "\"replications\": \"five\",", 1)
    });
    let unknown_value = broken_result("summary-unknown-value", |t| {
        t.replacen("\"bound\": \"max\"", "\"bound\": \"maximum\"", 1)
    });
    for (d, what) in [
        (&misspelt, "warmup_secs"),
        (&wrong_type, "five"),
        (&unknown_value, "maximum"),
    ] {
        let file = d.join("summary.json");
        tenantsim()
            .arg("report")
            .arg(d)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(file.display().to_string()))
            .stderr(predicate::str::contains("not a tenantsim summary.json"))
            .stderr(predicate::str::contains(what));
        assert!(!d.join("report.html").exists());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn a_sweep_report_refuses_a_point_whose_summary_does_not_read() {
    let d = tmpdir("summary-bad-point");
    copy_dir(&repo("results/baselines/pool-exhaustion-sweep"), &d);
    let point = d.join("points").join("p0000000.json");
    let text = std::fs::read_to_string(&point).unwrap();
    let edited = text.replacen("\"mean\"", "\"avg\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&point, edited).unwrap();
    tenantsim()
        .arg("report")
        .arg(&d)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(point.display().to_string()))
        .stderr(predicate::str::contains("not a tenantsim sweep point"));
}
