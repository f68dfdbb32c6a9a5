//! `[[claim]]` and `tenantsim claims`: each claim of a report gets a
//! verdict from the simulated metric and its CI.

use super::{repo, tmpdir};
use assert_cmd::Command;
use predicates::prelude::*;

fn scenario_with(name: &str, claims: &str) -> std::path::PathBuf {
    let d = tmpdir(name);
    let p = d.join("claims.toml");
    let text = format!(
        "include = [\"{}\"]\nname = \"claims-test\"\n[simulation]\nduration = \"4m\"\nwarmup = \"30s\"\nreplications = 4\n{claims}",
        repo("scenarios/examples/quickstart.toml").display()
    );
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn claims_are_confirmed_refuted_inconclusive_or_untestable() {
    let p = scenario_with(
        "claims-verdicts",
        r#"
[[claim]]
id = "fast"
source = "test L1"
text = "p95 below a second"
metric = "latency_p95_s"
at_most = "1s"

[[claim]]
id = "huge-throughput"
source = "test L2"
text = "more than a million requests per second"
metric = "throughput_rps"
at_least = 1000000

[[claim]]
id = "websocket"
source = "test L3"
text = "WebSocket disconnection rate below 1 %"
untestable = "the scenario has no WebSocket sessions"
"#,
    );
    let o = Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", p.to_str().unwrap(), "--json", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let claims = v[0]["claims"].as_array().unwrap();
    let verdict = |id: &str| {
        claims.iter().find(|c| c["id"] == id).unwrap()["verdict"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(verdict("fast"), "confirmed");
    assert_eq!(verdict("huge-throughput"), "refuted");
    assert_eq!(verdict("websocket"), "untestable");
    // The outcome next to the older verdict.
    let outcome = |id: &str| claims.iter().find(|c| c["id"] == id).unwrap()["outcome"].clone();
    assert_eq!(outcome("fast"), "holds");
    assert_eq!(outcome("huge-throughput"), "fails");
    assert_eq!(outcome("websocket"), "cannot-be-checked");
    // A refuted claim fails CI only when asked.
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", p.to_str().unwrap(), "--fail-on-refuted", "--quiet"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAILS"))
        .stdout(predicate::str::contains(
            "1 holds, 1 fails, 0 hold only if, 0 depend on an assumption, 0 inconsistent, 1 cannot be checked, 0 used for calibration",
        ));
    // The same verdicts are in summary.json and the report of a run.
    let out = tmpdir("claims-run");
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["run", p.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()])
        .assert()
        .code(predicate::in_iter([0, 1]));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("more than a million requests per second") && html.contains("refuted"));
}

#[test]
fn bad_claims_name_the_key() {
    for (claim, msg) in [
        (
            "[[claim]]\nid = \"a\"\nmetric = \"throughput_rps\"\nat_least = 1\nat_most = 2\n",
            "exactly one of",
        ),
        (
            "[[claim]]\nid = \"a\"\nmetric = \"thruput\"\nat_least = 1\n",
            "is not a metric",
        ),
        (
            "[[claim]]\nid = \"a\"\nmetric = \"throughput_rps\"\nat_leest = 1\n",
            "did you mean `at_least`",
        ),
        (
            "[[claim]]\nmetric = \"throughput_rps\"\nat_least = 1\n",
            "needs an `id`",
        ),
    ] {
        let p = scenario_with("claims-bad", claim);
        Command::cargo_bin("tenantsim")
            .unwrap()
            .args(["claims", p.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg))
            .stderr(predicate::str::contains("claim"));
    }
}

/// An M/M/c-like service: 150 req/s of 10 ms CPU on one instance; one core
/// is overloaded (ρ = 1.5), two are not (ρ = 0.75, mean ≈ 23 ms).
const SATURATED: &str = r#"
name = "cores-knob"
[simulation]
duration = "20s"
warmup = "2s"
replications = 3
[[tier]]
name = "t"
[[workload]]
tier = "t"
tenants = 1
arrival = { process = "poisson", rate_per_s = 150.0 }
mix = { work = 1.0 }
[endpoint.work]
cpu = { dist = "exponential", mean = "10ms" }
[instance]
cores = 1
workers = 8
initial = 1
"#;

fn claims_json(p: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let o = Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", p.to_str().unwrap(), "--json", "--quiet"])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_failing_claim_with_a_knob_holds_only_if() {
    let d = tmpdir("claims-holds-only-if");
    let p = d.join("cores.toml");
    std::fs::write(
        &p,
        format!(
            "{SATURATED}[[claim]]\nid = \"fast\"\nsource = \"t L1\"\ntext = \"mean below 50 ms\"\nmetric = \"latency_mean_s\"\nat_most = \"50ms\"\nif_key = \"instance.cores\"\nif_range = [1, 6]\n"
        ),
    )
    .unwrap();
    let v = claims_json(&p, &[]);
    let c = &v[0]["claims"][0];
    assert_eq!(c["verdict"], "refuted", "{c}");
    assert_eq!(c["outcome"], "holds-only-if", "{c}");
    assert_eq!(c["condition"], "instance.cores ≥ 2", "{c}");
    assert!(c["condition_value"].as_f64().unwrap() < 0.05, "{c}");
    // --no-search leaves it failing; a range where it never holds says so.
    let v = claims_json(&p, &["--no-search"]);
    assert_eq!(v[0]["claims"][0]["outcome"], "fails");
    let v = claims_json(
        &p,
        &["--set", "claim.0.at_most=5ms", "--set", "claim.0.if_range=[1, 2]"],
    );
    assert_eq!(v[0]["claims"][0]["outcome"], "fails");
}

#[test]
fn arithmetic_claims_hold_fail_or_are_inconsistent() {
    let d = tmpdir("claims-arithmetic");
    let p = d.join("arith.toml");
    let closed = SATURATED.replace(
        "arrival = { process = \"poisson\", rate_per_s = 150.0 }",
        "arrival = { process = \"closed\", users = 50, think_time = \"0s\" }",
    );
    std::fs::write(
        &p,
        format!(
            "{closed}[[claim]]\nid = \"row\"\nsource = \"t L1\"\ntext = \"150 req/s at 65 ms\"\nlittles_law = {{ throughput = 150, latency = \"65ms\" }}\n\
             [[claim]]\nid = \"hot\"\nsource = \"t L2\"\nmetric = \"cpu_utilization\"\nat_least = 0.8\n\
             [[claim]]\nid = \"cool\"\nsource = \"t L3\"\nmetric = \"cpu_utilization\"\nat_most = 0.7\n\
             [[claim]]\nid = \"fits\"\nsource = \"t L4\"\ntext = \"no instance overflows its memory\"\nlint = \"instance-memory\"\n"
        ),
    )
    .unwrap();
    let v = claims_json(&p, &[]);
    let by = |id: &str| {
        v[0]["claims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let row = by("row");
    assert_eq!(row["outcome"], "inconsistent", "{row}");
    assert_eq!(row["verdict"], "refuted");
    assert!(row["arithmetic"].as_str().unwrap().contains("769 req/s"), "{row}");
    for id in ["hot", "cool"] {
        let c = by(id);
        assert_eq!(c["outcome"], "inconsistent", "{c}");
        assert!(c["arithmetic"].as_str().unwrap().contains("no value is both"), "{c}");
    }
    // instance-memory has nothing to check without per-request memory.
    assert_eq!(by("fits")["outcome"], "cannot-be-checked");
    let v = claims_json(
        &p,
        &[
            "--set",
            "instance.memory_per_request_mb=1",
            "--set",
            "instance.memory_mb=100",
        ],
    );
    let fits = v[0]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "fits")
        .unwrap()
        .clone();
    assert_eq!(fits["outcome"], "holds", "{fits}");
    assert!(
        fits["arithmetic"]
            .as_str()
            .unwrap()
            .contains("≤ instance.memory_mb 100"),
        "{fits}"
    );
}

#[test]
fn claim_keys_are_validated() {
    for (claim, msg) in [
        ("[[claim]]\nid = \"a\"\nlint = \"pool-conections\"\n", "did you mean `pool-connections`"),
        ("[[claim]]\nid = \"a\"\nlint = \"utilization\"\nmetric = \"throughput_rps\"\nat_least = 1\n", "checked one way"),
        ("[[claim]]\nid = \"a\"\nmetric = \"throughput_rps\"\nat_least = 1\nif_key = \"instance.nope\"\nif_range = [1, 2]\n", "not set in this scenario"),
        ("[[claim]]\nid = \"a\"\nmetric = \"throughput_rps\"\nat_least = 1\nif_key = \"instance.initial\"\n", "if_range"),
        ("[[claim]]\nid = \"a\"\nlittles_law = { throughput = 1 }\n", "latency"),
        ("[[claim]]\nid = \"a\"\nlittles_law = { throughput = 1, latency = \"1s\" }\n", "no closed workload"),
    ] {
        let p = scenario_with("claims-bad-keys", claim);
        Command::cargo_bin("tenantsim")
            .unwrap()
            .args(["claims", p.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(msg));
    }
}

#[test]
fn write_makes_one_report_per_system_with_its_whatif_page() {
    let d = tmpdir("claims-write");
    let claim = "[[claim]]\nid = \"fast\"\nsource = \"t L1\"\ntext = \"mean below 50 ms\"\nmetric = \"latency_mean_s\"\nat_most = \"50ms\"\n";
    let base = SATURATED.replace("cores = 1", "cores = 2");
    std::fs::write(
        d.join("sys.toml"),
        format!("{base}{claim}").replace("cores-knob", "sys"),
    )
    .unwrap();
    std::fs::write(
        d.join("sys-variant.toml"),
        format!("{base}{claim}").replace("cores-knob", "sys-variant"),
    )
    .unwrap();
    let out = d.join("out");
    std::fs::create_dir_all(out.join("whatif")).unwrap();
    std::fs::write(out.join("whatif/sys.md"), "# Pool sweep\n\n![plot](sys.svg)\n").unwrap();
    let (main, variant) = (d.join("sys.toml"), d.join("sys-variant.toml"));
    let args = [
        "claims",
        "--quiet",
        "--write",
        out.to_str().unwrap(),
        main.to_str().unwrap(),
        variant.to_str().unwrap(),
    ];
    Command::cargo_bin("tenantsim").unwrap().args(args).assert().code(0);
    let md = std::fs::read_to_string(out.join("sys.md")).unwrap();
    assert!(!out.join("sys-variant.md").exists(), "variants go with their system");
    assert!(md.starts_with("<!-- Generated by `tenantsim claims --write"), "{md}");
    assert!(md.contains("## `sys`") && md.contains("## `sys-variant`"), "{md}");
    assert!(md.contains("| t L1 | mean below 50 ms | `latency_mean_s`"), "{md}");
    assert!(md.contains("**holds**"), "{md}");
    assert!(
        md.contains("## What-if") && md.contains("![plot](whatif/sys.svg)"),
        "{md}"
    );
    // Regenerating gives the same bytes.
    Command::cargo_bin("tenantsim").unwrap().args(args).assert().code(0);
    assert_eq!(std::fs::read_to_string(out.join("sys.md")).unwrap(), md);
}

/// A claim on a request stage (`stage = "…"`) is judged on that stage's
/// own figure: here the request-stages example, whose JWT stage waits
/// ≈ 25 ms (p95 ≈ 49 ms) and whose backend stage is far slower.
#[test]
fn stage_claims_are_judged_on_the_stage_figure() {
    let d = tmpdir("claims-stage");
    let p = d.join("stage-claims.toml");
    let text = format!(
        "include = [\"{}\"]\nname = \"stage-claims\"\n[simulation]\nduration = \"2m\"\nwarmup = \"20s\"\nreplications = 3\n{}",
        repo("scenarios/examples/request-stages.toml").display(),
        r#"
[[claim]]
id = "jwt"
source = "test L1"
text = "JWT < 60 ms"
stage = "jwt"
metric = "latency_p95_s"
at_most = "60ms"

[[claim]]
id = "backend"
source = "test L2"
text = "backend < 1 ms"
stage = "e2e.backend"
metric = "latency_mean_s"
at_most = "1ms"

[[claim]]
id = "rbac-failures"
source = "test L3"
text = "RBAC fails less than half the time"
stage = "rbac"
metric = "failure_rate"
at_most = 0.5
"#
    );
    std::fs::write(&p, text).unwrap();
    let o = Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", p.to_str().unwrap(), "--json", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let claims = v[0]["claims"].as_array().unwrap();
    let get = |id: &str| claims.iter().find(|c| c["id"] == id).unwrap();
    assert_eq!(get("jwt")["scope"], "stage:e2e.jwt");
    assert_eq!(get("jwt")["verdict"], "confirmed");
    let jwt = get("jwt")["value"].as_f64().unwrap();
    assert!(jwt > 0.04 && jwt < 0.06, "JWT stage p95 {jwt}");
    assert_eq!(get("backend")["scope"], "stage:e2e.backend");
    assert_eq!(get("backend")["verdict"], "refuted");
    assert_eq!(get("rbac-failures")["verdict"], "confirmed");
}

#[test]
fn stage_claims_name_a_stage_and_a_stage_metric() {
    let cases = [
        (
            "stage = \"nope\"\nmetric = \"latency_p95_s\"\nat_most = \"1s\"",
            "no stage named `nope`",
        ),
        (
            "stage = \"jwt\"\nmetric = \"cache_hit_ratio\"\nat_least = 0.5",
            "is not a stage metric",
        ),
        (
            "stage = \"jwt\"\ntier = \"x\"\nmetric = \"latency_p95_s\"\nat_most = \"1s\"",
            "has no `tier`",
        ),
    ];
    for (i, (body, msg)) in cases.iter().enumerate() {
        let d = tmpdir(&format!("claims-stage-bad-{i}"));
        let p = d.join("bad.toml");
        let text = format!(
            "include = [\"{}\"]\n[[claim]]\nid = \"c\"\nsource = \"s\"\n{body}\n",
            repo("scenarios/examples/request-stages.toml").display()
        );
        std::fs::write(&p, text).unwrap();
        Command::cargo_bin("tenantsim")
            .unwrap()
            .args(["claims", p.to_str().unwrap()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*msg).and(predicate::str::contains("claim[0]")));
    }
    // Without stages in the scenario at all.
    let d = tmpdir("claims-stage-none");
    let p = d.join("none.toml");
    std::fs::write(
        &p,
        format!(
            "include = [\"{}\"]\n[[claim]]\nid = \"c\"\nstage = \"jwt\"\nmetric = \"latency_p95_s\"\nat_most = \"1s\"\n",
            repo("scenarios/examples/quickstart.toml").display()
        ),
    )
    .unwrap();
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no endpoint has stages"));
}
