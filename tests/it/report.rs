//! Reports: `run`, `sweep` and `compare` write a self-contained
//! `report.html` (inline SVG, no network) and `report.md` with PNG charts;
//! `tenantsim report DIR` rebuilds them from the folder alone.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

/// Every chart title in the HTML, every PNG the Markdown links exists and
/// is a PNG, and nothing is fetched from the network.
fn check_report(dir: &Path, titles: &[&str], charts: usize) {
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for t in titles {
        assert!(html.contains(t), "report.html lacks `{t}`");
    }
    assert!(html.matches("<svg").count() >= charts, "fewer than {charts} charts");
    for banned in ["http://", "https://", "<script", "<link"] {
        // The SVG namespace is the one URL allowed (it is an identifier, not a fetch).
        let n = html.matches(banned).count()
            - html
                .matches("http://www.w3.org/")
                .count()
                .min(html.matches(banned).count());
        assert_eq!(n, 0, "report.html references `{banned}`");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let mut pngs = 0;
    for line in md.lines().filter(|l| l.starts_with("![")) {
        let file = line.split("](").nth(1).unwrap().trim_end_matches(')');
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|_| panic!("{file} missing"));
        assert_eq!(&bytes[..4], b"\x89PNG", "{file}");
        pngs += 1;
    }
    assert!(pngs >= charts);
}

#[test]
fn a_run_writes_a_report_with_every_chart() {
    let out = tmpdir("report-run");
    tenantsim()
        .args(["run", repo("scenarios/examples/step-load-hpa.toml").to_str().unwrap()])
        .args(["--replications", "2", "--quiet", "--out", out.to_str().unwrap()])
        .assert()
        .code(predicate::in_iter([0, 1]));
    check_report(
        &out,
        &[
            "Offered and served requests per second",
            "Latency percentiles",
            "SLO latency_p95",
            "Instances ready and desired",
            "CPU and memory utilization",
            "Latency CDF",
            "Failed requests by reason",
            "SLO verdicts",
            "What was modelled",
        ],
        6,
    );
    // The folder alone is enough to rebuild it.
    std::fs::remove_file(out.join("report.html")).unwrap();
    tenantsim().args(["report", out.to_str().unwrap()]).assert().success();
    assert!(out.join("report.html").exists());
}

#[test]
fn sweep_and_compare_reports_have_their_charts() {
    let sweep = tmpdir("report-sweep");
    tenantsim()
        .args([
            "sweep",
            repo("scenarios/examples/pool-exhaustion.toml").to_str().unwrap(),
        ])
        .args([
            "--set",
            "simulation.duration=40s",
            "--set",
            "simulation.warmup=10s",
            "--replications",
            "2",
        ])
        .args(["--set", "instance.cost_per_hour=0.2"])
        .args(["--param", "pool.size=2..5:1", "--param", "instance.initial=1,2,3"])
        .args(["--quiet", "--out", sweep.to_str().unwrap()])
        .assert()
        .success();
    check_report(
        &sweep,
        &[
            "latency_p99_s against pool.size",
            "p99 latency over pool.size × instance.initial",
            "Cost against p99 latency",
        ],
        10,
    );
    let cmp = tmpdir("report-compare");
    tenantsim()
        .args([
            "compare",
            repo("scenarios/examples/pool-exhaustion.toml").to_str().unwrap(),
        ])
        .args([
            "--set",
            "pool.size=4",
            "--set-both",
            "simulation.duration=1m",
            "--set-both",
            "simulation.warmup=10s",
        ])
        .args(["--quiet", "--out", cmp.to_str().unwrap()])
        .assert()
        .success();
    check_report(&cmp, &["Relative change B − A", "in each replication"], 2);
}

#[test]
fn report_refuses_a_folder_that_is_not_a_result() {
    let d = tmpdir("report-empty");
    tenantsim()
        .args(["report", d.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a tenantsim result folder"));
}

#[test]
fn a_run_with_request_stages_reports_each_stage() {
    let out = tmpdir("report-stages");
    tenantsim()
        .args(["run", repo("scenarios/examples/request-stages.toml").to_str().unwrap()])
        .args([
            "--replications",
            "2",
            "--set",
            "simulation.duration=2m",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(predicate::in_iter([0, 1]));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Request stages"));
    for stage in ["e2e.jwt", "e2e.rbac", "e2e.ratelimit", "e2e.discovery"] {
        assert!(html.contains(&format!("<td>{stage}</td>")), "{stage} missing");
    }
}

/// Issue 20 item 4: a tier name with a comma and quotes broke
/// `latency_cdf.csv` (written by hand), and the report that reads it back
/// failed with "found record with 4 fields". Every CSV now goes through the
/// csv crate, so the name round-trips.
#[test]
fn a_tier_name_with_a_comma_and_quotes_round_trips_through_the_csv_files() {
    let dir = tmpdir("report-csv-quoting");
    let name = r#"free, "basic""#;
    let text = std::fs::read_to_string(repo("scenarios/examples/quickstart.toml"))
        .unwrap()
        .replace(r#"name = "free""#, r#"name = "free, \"basic\"""#)
        .replace(r#"tier = "free""#, r#"tier = "free, \"basic\"""#);
    assert!(text.contains(r#"free, \"basic\""#));
    let scenario = dir.join("quoted.toml");
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join("out");
    tenantsim()
        .args(["run", scenario.to_str().unwrap(), "--replications", "2"])
        .args([
            "--set",
            "simulation.duration=5m",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let mut r = csv::Reader::from_path(out.join("latency_cdf.csv")).unwrap();
    let scopes: std::collections::BTreeSet<String> = r.records().map(|rec| rec.unwrap()[0].to_string()).collect();
    assert!(scopes.contains(name), "{scopes:?}");
    assert_eq!(scopes.len(), 3, "all, the quoted tier and pro: {scopes:?}");
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("free, &quot;basic&quot;"));
}

/// The decisions of an HPA run, with their reasons, in `scaling_events.csv`
/// and in the report's table under the instances chart. The trace of
/// hpa-startup-step.toml (its header): at the 315 s sync CPU is 180 req/s ×
/// 10 ms on 2 instances = 0.9 against 0.5, so ceil(2 × 0.9 / 0.5) = 4.
mod decisions {
    use super::*;

    /// Run hpa-startup-step.toml with `sets`; the CSV rows and the HTML.
    fn run(name: &str, sets: &[&str]) -> (Vec<Vec<String>>, String, String) {
        let out = tmpdir(name);
        let mut cmd = tenantsim();
        cmd.args([
            "run",
            repo("scenarios/examples/hpa-startup-step.toml").to_str().unwrap(),
        ])
        .args(["--quiet", "--out", out.to_str().unwrap()]);
        for s in sets {
            cmd.args(["--set", s]);
        }
        cmd.assert().code(predicate::in_iter([0, 1]));
        let mut r = csv::Reader::from_path(out.join("scaling_events.csv")).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            [
                "replication",
                "time_s",
                "group",
                "from",
                "to",
                "reason",
                "metric",
                "value",
                "target",
                "recommendation",
                "stabilized",
                "limit"
            ]
        );
        let rows = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        (rows, html, md)
    }

    #[test]
    fn an_hpa_run_lists_each_decision_with_its_metric_recommendation_and_limit() {
        let (rows, html, md) = run("decisions-default", &[]);
        let first = &rows[0];
        // replication, time, from, to, reason, metric, target, recommendation, stabilized, limit
        let pick = |r: &Vec<String>| [0, 1, 3, 4, 5, 6, 8, 9, 10, 11].map(|i| r[i].clone()).to_vec();
        assert_eq!(
            pick(first),
            [
                "0",
                "315",
                "2",
                "4",
                "hpa",
                "cpu",
                "0.5",
                "4",
                "4",
                "DesiredWithinRange"
            ]
        );
        let value: f64 = first[7].parse().unwrap();
        assert!((value - 0.9).abs() < 0.02, "cpu at the 315 s sync: {value}");
        for doc in [&html, &md] {
            assert!(doc.contains("Scaling decisions of replication 0"));
            assert!(doc.contains("recommendation"), "no recommendation column");
            assert!(doc.contains("cpu 0.9"), "no metric against its target");
            assert!(doc.contains("vs target 0.500"));
            assert!(doc.contains("DesiredWithinRange"));
        }
        // The chart numbers its marks as the table's `#` column.
        let chart = html.split("<svg").nth(3).expect("the instances chart");
        let marks: Vec<&str> = chart
            .split("<text")
            .filter(|t| t.contains("fill=\"#6E6E6E\""))
            .map(|t| {
                t.split('>')
                    .nth(1)
                    .unwrap()
                    .trim_start()
                    .split('<')
                    .next()
                    .unwrap()
                    .trim()
            })
            .collect();
        assert_eq!(marks.len(), rows.iter().filter(|r| r[0] == "0").count(), "{marks:?}");
        assert_eq!(marks[0], "1", "the first decision's mark is not numbered");
    }

    #[test]
    fn a_scale_up_capped_by_a_policy_names_the_limit() {
        // One pod per minute: 2 → 3 at 315 s although the metric asks for 4.
        let (rows, html, md) = run(
            "decisions-limited",
            &[r#"autoscaler.scale_up={ policies = [{ type = "Pods", value = 1, period = "60s" }] }"#],
        );
        let first = &rows[0];
        assert_eq!(
            [1, 3, 4, 9, 10, 11].map(|i| first[i].as_str()),
            ["315", "2", "3", "4", "4", "ScaleUpLimit"]
        );
        for doc in [&html, &md] {
            assert!(doc.contains("ScaleUpLimit"), "the limit is not in the report");
            assert!(doc.contains("2 → 3"));
        }
    }
}
