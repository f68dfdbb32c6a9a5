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
    // A refuted claim fails CI only when asked.
    Command::cargo_bin("tenantsim")
        .unwrap()
        .args(["claims", p.to_str().unwrap(), "--fail-on-refuted", "--quiet"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REFUTED"))
        .stdout(predicate::str::contains(
            "1 confirmed, 1 refuted, 0 inconclusive, 1 untestable",
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
