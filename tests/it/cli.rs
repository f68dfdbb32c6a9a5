//! The real binary on the bundled scenarios: outputs, exit codes, errors.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

#[test]
fn run_writes_summary_and_timeseries_and_prints_a_table() {
    let out = tmpdir("cli-run");
    tenantsim()
        .args([
            "run",
            repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("latency_p95_s"))
        .stdout(predicate::str::contains("SLOs: all passed"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], "quickstart");
    assert_eq!(summary["replications"], 5);
    for k in [
        "throughput_rps",
        "latency_p95_s",
        "error_rate",
        "cpu_utilization",
        "requests_arrived",
    ] {
        assert!(summary["metrics"][k]["mean"].is_f64(), "{k} missing");
        assert!(summary["metrics"][k]["ci95"].is_array(), "{k} has no CI");
    }
    assert!(summary["tiers"]["pro"]["latency_p99_s"]["mean"].is_f64());
    assert_eq!(summary["slo"]["passed"], true);
    assert!(summary["engine"]["events"].as_u64().unwrap() > 100_000);
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "replication,time_s,rps,completed,throughput_rps,errors,latency_p50_s,latency_p95_s,latency_p99_s,instances_ready,\
         instances_desired,cpu_utilization,memory_utilization,pool_in_use,pool_waiting,cache_hit_ratio"
    );
    // 30 min at 30 s per row, 5 replications.
    assert_eq!(csv.lines().count(), 1 + 5 * 60);
    // `rps` is the offered load and `throughput_rps` the served load: over
    // the measurement window (after the 2 min warm-up) Σ rps × 30 s is the
    // summary's arrivals exactly. The rows count completions when they
    // happen and the summary those of requests that arrived in the window,
    // so the completions differ by the few requests in flight at its edges.
    let (mut arrived, mut completed) = (0.0, 0.0);
    for row in csv.lines().skip(1) {
        let f: Vec<f64> = row.split(',').take(5).map(|x| x.parse().unwrap()).collect();
        assert!(
            (f[4] * 30.0 - f[3]).abs() < 1e-6,
            "throughput_rps × 30 s ≠ completed: {row}"
        );
        if f[1] > 120.0 {
            arrived += f[2] * 30.0;
            completed += f[3];
        }
    }
    let mean = |k: &str| summary["metrics"][k]["mean"].as_f64().unwrap() * 5.0;
    assert!(
        (arrived - mean("requests_arrived")).abs() < 1e-6 * arrived,
        "{arrived} vs {}",
        mean("requests_arrived")
    );
    assert!((completed - mean("requests_completed")).abs() < 1e-4 * completed);
    assert!(arrived != completed, "offered and served load should differ somewhere");
    let parquet = std::fs::read(out.join("timeseries.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");
    // No temporary files left behind.
    assert!(std::fs::read_dir(&out)
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')));
}

#[test]
fn json_flag_prints_the_summary() {
    let out = tmpdir("cli-json");
    let assert = tenantsim()
        .args([
            "run",
            repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
            "--json",
            "--quiet",
        ])
        .args([
            "--replications",
            "2",
            "--set",
            "simulation.duration=5m",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(v["replications"], 2);
    assert_eq!(v["duration_s"], 300.0);
}

#[test]
fn failing_slo_exits_1() {
    let out = tmpdir("cli-slo");
    tenantsim()
        .args([
            "run",
            repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
            "--quiet",
        ])
        .args([
            "--set",
            "slo.latency_p95=\"5ms\"",
            "--set",
            "simulation.duration=5m",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .code(1);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(v["slo"]["passed"], false);
    let check = v["slo"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "latency_p95")
        .unwrap();
    assert_eq!(check["limit"], 0.005);
    assert_eq!(check["passed"], false);
}

#[test]
fn bad_input_exits_2_and_names_file_line_and_key() {
    let dir = tmpdir("cli-bad");
    let f = dir.join("bad.toml");
    std::fs::write(
        &f,
        "name = \"bad\"\n[[workload]]\ntenants = 3\narrival = { process = \"poisson\", rate_per_s = -2.0 }\n[endpoint.a]\ncpu = \"5ms\"\n[instance]\ncores = 1\n",
    )
    .unwrap();
    tenantsim()
        .args(["run", f.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:4:"))
        .stderr(predicate::str::contains("rate_per_s"))
        .stderr(predicate::str::contains("positive"));
    tenantsim()
        .args(["run", "no/such/file.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    tenantsim().args(["run"]).assert().code(2);
    tenantsim()
        .args([
            "run",
            repo("scenarios/examples/quickstart.toml").to_str().unwrap(),
            "--set",
            "instance.load_balancer=\"fastest\"",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("least-connections"));
}

#[test]
fn overload_without_autoscaler_warns_with_utilization() {
    let out = tmpdir("cli-overload");
    tenantsim()
        .args([
            "run",
            repo("scenarios/validation/mm1-rho05.toml").to_str().unwrap(),
            "--quiet",
        ])
        .args([
            "--set",
            "workload.0.arrival.rate_per_s=150.0",
            "--set",
            "simulation.duration=20s",
        ])
        .args([
            "--set",
            "simulation.warmup=2s",
            "--replications",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("utilization 1.50"));
}

#[test]
fn validate_quick_passes() {
    tenantsim()
        .args(["validate", "--quick"])
        .assert()
        .success()
        .stdout(predicate::str::contains("mmc8-rho085"))
        .stdout(predicate::str::contains(" 0 failed"));
}

#[test]
fn every_bundled_scenario_runs() {
    for dir in ["scenarios/examples", "scenarios/validation"] {
        for entry in std::fs::read_dir(repo(dir)).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let out = tmpdir("cli-all");
            tenantsim()
                .args([
                    "run",
                    p.to_str().unwrap(),
                    "--quiet",
                    "--replications",
                    "1",
                    "--out",
                    out.to_str().unwrap(),
                ])
                .args(["--set", "simulation.duration=3m", "--set", "simulation.warmup=10s"])
                .assert()
                // 1 is an SLO verdict (some examples fail theirs on purpose).
                .code(predicate::in_iter([0, 1]));
        }
    }
}

#[test]
fn import_hpa_output_runs_as_a_scenario() {
    let out = tenantsim()
        .args([
            "import-hpa",
            repo("scenarios/examples/hpa-manifest.yaml").to_str().unwrap(),
        ])
        .assert()
        .success();
    let toml = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(toml.contains("policy = \"hpa\""));
    assert!(toml.contains("{ metric = \"cpu\", target = 0.7 }"));
    assert!(toml.contains("stabilization = \"120s\""));
    // Appended to a scenario, it is a valid [autoscaler] that scales.
    let base = std::fs::read_to_string(repo("models/examples/step-load-service.toml")).unwrap();
    let sc = tenantsim::scenario::from_str(
        std::path::Path::new("imported.toml"),
        &format!("{base}\n{toml}"),
        &["simulation.duration=\"15m\"".into(), "simulation.replications=1".into()],
    )
    .unwrap();
    let r = tenantsim::runner::run_replication(&sc, 0, &|_| {});
    assert!(!r.scaling_events.is_empty());
    assert!(r.timeseries.iter().all(|x| (3..=10).contains(&x.instances_desired)));
    // Bad input: exit 2 with the YAML path in the message.
    let dir = tmpdir("hpa-bad");
    std::fs::write(
        dir.join("bad.yaml"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  minReplicas: 1\n",
    )
    .unwrap();
    tenantsim()
        .args(["import-hpa", dir.join("bad.yaml").to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("maxReplicas"));
}

#[test]
fn bench_runs_a_case_in_a_child_process() {
    let out = tenantsim()
        .args(["bench", "--case", "mm8", "--customers", "20000", "--json"])
        .assert()
        .success();
    let line = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(v["case"], "mm8");
    assert!(v["customers"].as_u64().unwrap() > 15_000);
    assert!(v["customers_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_mb"].as_f64().unwrap() > 0.0);
    tenantsim().args(["bench", "--case", "nope"]).assert().code(2);
}

/// `points-N` is the sweep case's work without its files: the same 200
/// points, so the same customers (the speed-ups compare like with like).
#[test]
fn bench_points_simulates_what_the_sweep_case_simulates() {
    let out = tenantsim()
        .args(["bench", "--case", "points-2", "--case", "sweep-1", "--json"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let rows: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    let (points, sweep) = (&rows[0], &rows[1]);
    assert_eq!(
        (points["case"].as_str(), points["threads"].as_u64()),
        (Some("points-2"), Some(2))
    );
    assert_eq!(sweep["case"], "sweep-1");
    assert!(points["customers"].as_u64().unwrap() > 2_000_000, "{text}");
    assert_eq!(points["customers"], sweep["customers"], "{text}");
    assert_eq!(points["events"], sweep["events"], "{text}");
    assert!(points["points_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn check_gates_on_slos_with_junit_output() {
    let dir = tmpdir("check");
    let junit = dir.join("slo.xml");
    // The HPA step-load example meets its p95 SLO...
    let hpa = repo("scenarios/examples/step-load-hpa.toml");
    tenantsim()
        .args([
            "check",
            hpa.to_str().unwrap(),
            "--quiet",
            "--replications",
            "2",
            "--junit",
            junit.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("PASS step-load-hpa all latency_p95"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"step-load-hpa\" tests=\"1\" failures=\"0\""),
        "{xml}"
    );
    // ...and a deliberately bad policy change (max 3 instances) turns it red.
    tenantsim()
        .args([
            "check",
            hpa.to_str().unwrap(),
            "--quiet",
            "--replications",
            "2",
            "--set",
            "autoscaler.max=3",
        ])
        .args(["--junit", junit.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL step-load-hpa all latency_p95"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("failures=\"1\"") && xml.contains("<failure message=\"latency_p95_s = "),
        "{xml}"
    );
    // --strict fails a check whose CI crosses the limit even if the mean meets it.
    let q = repo("scenarios/examples/quickstart.toml");
    let args = [
        "check",
        q.to_str().unwrap(),
        "--quiet",
        "--replications",
        "3",
        "--set",
        "simulation.duration=5m",
    ];
    tenantsim()
        .args(args)
        .args(["--set", "slo.latency_p95=\"95ms\""])
        .assert()
        .success();
    tenantsim()
        .args(args)
        .args(["--set", "slo.latency_p95=\"95ms\"", "--strict"])
        .assert()
        .code(1);
    // Bad input is exit 2, before anything runs.
    tenantsim()
        .args(["check", q.to_str().unwrap(), "no/such.toml"])
        .assert()
        .code(2);
}

const QUICKSTART: &str = "scenarios/examples/quickstart.toml";

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn set_refuses_a_typo_in_a_component_name_and_allows_schema_keys() {
    let out = tmpdir("cli-set-typo");
    let a = tenantsim()
        .arg("run")
        .arg(repo(QUICKSTART))
        .args(["--set", "endpoint.raed.cpu=5ms", "--out"])
        .arg(out.join("r"))
        .assert()
        .code(2);
    let e = stderr_of(&a);
    assert!(e.contains("--set endpoint.raed.cpu=5ms:"), "{e}");
    assert!(e.contains("did you mean `read`?"), "{e}");
    assert!(!out.join("r").exists(), "nothing is written");
    // A key the schema defines but the file leaves out is fine: [retry].
    tenantsim()
        .arg("lint")
        .arg(repo(QUICKSTART))
        .args(["--set", "retry.attempts=2", "--set", "endpoint.read.db_queries=0"])
        .assert()
        .success();
}

#[test]
fn errors_in_flag_values_name_the_flag_not_a_file_line() {
    let out = tmpdir("cli-flag-origin");
    let a = tenantsim()
        .arg("run")
        .arg(repo(QUICKSTART))
        .args(["--replications", "0", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let e = stderr_of(&a);
    assert!(
        e.contains("error: --replications 0: key `simulation.replications`: must be between 1 and 10000"),
        "{e}"
    );
    assert!(!e.contains("quickstart.toml:"), "{e}");
    let a = tenantsim()
        .arg("run")
        .arg(repo(QUICKSTART))
        .args(["--set", "instance.load_balancer=roundrobin", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let e = stderr_of(&a);
    assert!(e.contains("error: --set instance.load_balancer=roundrobin: "), "{e}");
    assert!(e.contains("least-connections"), "{e}");
    assert!(!e.contains("quickstart.toml:"), "{e}");
    // A wrong type from --set: the key's range, blamed on the flag.
    let a = tenantsim()
        .arg("check")
        .arg(repo(QUICKSTART))
        .args(["--set", "workload.0.tenants=-5"])
        .assert()
        .code(2);
    let e = stderr_of(&a);
    assert!(
        e.contains("--set workload.0.tenants=-5: key `workload[0].tenants`: -5 is out of range: a whole number between 0 and 4294967295"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing is written");
}

#[test]
fn out_of_range_integers_name_file_line_key_and_range() {
    let dir = tmpdir("cli-int-range");
    let text = std::fs::read_to_string(repo(QUICKSTART)).unwrap();
    for (value, shown) in [
        ("1000000000000", "1000000000000"),
        ("-5", "-5"),
        ("100000000000000000000", "100000000000000000000"),
    ] {
        let f = dir.join("range.toml");
        std::fs::write(&f, text.replacen("tenants = 200", &format!("tenants = {value}"), 1)).unwrap();
        let a = tenantsim()
            .arg("run")
            .arg(&f)
            .arg("--out")
            .arg(dir.join("o"))
            .assert()
            .code(2);
        let e = stderr_of(&a);
        assert!(e.contains("range.toml:31:11: key `workload[0].tenants`"), "{e}");
        assert!(
            e.contains(&format!(
                "{shown} is out of range: a whole number between 0 and 4294967295"
            )),
            "{e}"
        );
        assert!(!dir.join("o").exists());
    }
}

#[test]
fn the_largest_u64_seed_is_accepted_and_written_as_is() {
    let out = tmpdir("cli-big-seed");
    tenantsim()
        .arg("run")
        .arg(repo(QUICKSTART))
        .args([
            "--seed",
            "18446744073709551615",
            "--replications",
            "1",
            "--no-report",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .args(["--set", "simulation.duration=5m", "--set", "simulation.warmup=30s"])
        .assert()
        .success();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(text.contains("\"seed\": 18446744073709551615"), "{text}");
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(summary["seed"].as_u64(), Some(u64::MAX));
}

#[test]
fn a_bad_out_path_is_refused_before_simulating_and_named() {
    let dir = tmpdir("cli-bad-out");
    let file = dir.join("taken");
    std::fs::write(&file, "x").unwrap();
    // Long enough that simulating first would take minutes.
    let long = ["--set", "simulation.duration=48h", "--replications", "200"];
    let q = repo(QUICKSTART);
    let q = q.to_str().unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["run".into(), q.into()],
        vec![
            "sweep".into(),
            q.into(),
            "--param".into(),
            "instance.initial=2,3".into(),
        ],
        vec![
            "plan".into(),
            q.into(),
            "--vary".into(),
            "instance.initial=1,2,3".into(),
        ],
        vec!["compare".into(), q.into(), "--set".into(), "instance.initial=3".into()],
    ];
    for target in [file.clone(), file.join("sub")] {
        for c in &cases {
            let start = std::time::Instant::now();
            let mut cmd = tenantsim();
            cmd.args(c).args(long).arg("--out").arg(&target);
            if c[0] == "plan" || c[0] == "compare" {
                // --replications means something else for plan; drop it.
                cmd = tenantsim();
                cmd.args(c).args(&long[..2]).arg("--out").arg(&target);
            }
            let a = cmd.assert().code(2);
            let e = stderr_of(&a);
            assert!(e.contains(&format!("--out {}", target.display())), "{c:?}: {e}");
            assert!(
                start.elapsed().as_secs() < 30,
                "{c:?} simulated first: {:?}",
                start.elapsed()
            );
        }
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing else is written");
}

#[test]
fn a_lint_finding_is_printed_once() {
    let out = tmpdir("cli-lint-once");
    // A tier cap above what the pool can ever give: a tier-connections warning.
    let sets = [
        "--set",
        "pool.size=5",
        "--set",
        "tier.0.max_connections=100",
        "--set",
        "database.cores=4",
    ];
    for args in [
        vec![
            "run",
            "--replications",
            "1",
            "--no-report",
            "--set",
            "simulation.duration=5m",
            "--set",
            "simulation.warmup=30s",
        ],
        vec![
            "check",
            "--replications",
            "1",
            "--set",
            "simulation.duration=5m",
            "--set",
            "simulation.warmup=30s",
        ],
        vec!["lint"],
    ] {
        let mut cmd = tenantsim();
        cmd.arg(args[0]).arg(repo(QUICKSTART)).args(&args[1..]).args(sets);
        if args[0] == "run" {
            cmd.arg("--out").arg(&out);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.code().is_some_and(|c| c <= 1), "{args:?}: {o:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let n = all.matches("tier `free` allows 100 connections per tenant").count();
        let expected = if args[0] == "check" { 0 } else { 1 };
        assert_eq!(n, expected, "{args:?}:\n{all}");
    }
}

#[test]
fn run_output_without_a_terminal_has_no_progress_bar() {
    let out = tmpdir("cli-no-tty");
    let o = tenantsim()
        .arg("run")
        .arg(repo(QUICKSTART))
        .args([
            "--replications",
            "1",
            "--no-report",
            "--set",
            "simulation.duration=5m",
            "--set",
            "simulation.warmup=30s",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("eta") && !err.contains('\r'), "{err}");
}
