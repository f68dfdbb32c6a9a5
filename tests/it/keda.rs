//! KEDA end to end: the scale-to-and-from-zero example against its
//! hand-derived trace (scenarios/examples/keda-scale-to-zero.toml), requests
//! at zero instances held or refused as configured, and `import-keda` on
//! the KEDA documentation's ScaledObject examples (scenarios/examples/keda/)
//! giving scenarios that run.

use crate::{repo, tmpdir};
use assert_cmd::Command;
use tenantsim::metrics::names::index;
use tenantsim::runner::run;

/// Scaling events (time, from, to) of one run.
type Events = Vec<(f64, u32, u32)>;

fn scale_to_zero(sets: &[&str]) -> (Events, Vec<Option<f64>>) {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let sc = tenantsim::scenario::load(&repo("scenarios/examples/keda-scale-to-zero.toml"), &sets).unwrap();
    let out = run(&sc, &|_| {});
    let r = &out.replications[0];
    let events = r.scaling_events.iter().map(|e| (e.time_s, e.from, e.to)).collect();
    (events, r.overall.clone())
}

#[test]
fn scales_to_and_from_zero_as_derived_by_hand() {
    let (events, _) = scale_to_zero(&[]);
    assert_eq!(
        events,
        vec![(15.0, 1, 0), (150.0, 0, 1), (165.0, 1, 4), (720.0, 4, 0)],
        "the header's trace"
    );
}

#[test]
fn requests_at_zero_instances_wait_or_fail_as_configured() {
    let get = |v: &[Option<f64>], m: &str| v[index(m).unwrap()].unwrap();
    let (wait_events, wait) = scale_to_zero(&[]);
    assert_eq!(get(&wait, "rejected_no_instance"), 0.0);
    // About 20 req/s × 480 s arrive and all complete; the first ones
    // waited from 120 s until the first instance was Ready at 170 s.
    let arrived = get(&wait, "requests_arrived");
    assert!((9599.0..=9600.0).contains(&arrived), "{arrived}");
    assert_eq!(get(&wait, "requests_completed"), arrived);
    assert!(get(&wait, "latency_p99_s") > 10.0, "the held requests waited");
    let (fail_events, fail) = scale_to_zero(&["instance.none_ready=\"fail\""]);
    // The same activation (the trigger counts arrivals, refused or not) …
    assert_eq!(fail_events, wait_events);
    // … but the requests of [120, 170) s are refused: 50 s × 20 req/s.
    let refused = get(&fail, "rejected_no_instance");
    assert!((999.0..=1001.0).contains(&refused), "{refused}");
    assert_eq!(get(&fail, "requests_completed") + refused, arrived);
}

/// A small service the imported sections are appended to.
const SERVICE: &str = r#"
name = "keda-import"
[simulation]
duration = "10m"
warmup = "0s"
replications = 1
sample_interval = "15s"

[[workload]]
tenants = 1
arrival = { process = "steps", spacing = "deterministic", steps = [["0s", 0.0], ["60s", 150.0], ["6m", 0.0]] }

[endpoint.api]
cpu = "10ms"

[instance]
cores = 1
initial = 1
startup = "20s"
none_ready = "wait"
"#;

#[test]
fn the_documentation_examples_convert_to_scenarios_that_run() {
    let dir = tmpdir("keda-import");
    for f in [
        "prometheus.yaml",
        "prometheus-bearer.yaml",
        "cpu.yaml",
        "rabbitmq.yaml",
        "full-spec.yaml",
        "sqs-scale-to-zero.yaml",
    ] {
        let a = Command::cargo_bin("tenantsim")
            .unwrap()
            .arg("import-keda")
            .arg(repo(&format!("scenarios/examples/keda/{f}")))
            .assert()
            .success();
        let toml = String::from_utf8(a.get_output().stdout.clone()).unwrap();
        assert!(toml.contains("policy = \"keda\""), "{f}: {toml}");
        let path = dir.join(f.replace(".yaml", ".toml"));
        std::fs::write(&path, format!("{SERVICE}\n{toml}")).unwrap();
        let sc = tenantsim::scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{f}: {e}\n{toml}"));
        let a = sc.autoscaler.as_ref().unwrap();
        let out = run(&sc, &|_| {});
        let events = &out.replications[0].scaling_events;
        assert!(!events.is_empty(), "{f}: the load step moves the count");
        for e in events {
            assert!(
                (a.min..=a.max).contains(&e.to),
                "{f}: {} outside [{}, {}]",
                e.to,
                a.min,
                a.max
            );
        }
    }
}

#[test]
fn an_unsupported_trigger_fails_with_exit_2_and_its_line() {
    let dir = tmpdir("keda-bad");
    let bad = dir.join("so.yaml");
    std::fs::write(
        &bad,
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: x\nspec:\n  triggers:\n  - type: cron\n    metadata:\n      start: 0 8 * * *\n",
    )
    .unwrap();
    let a = Command::cargo_bin("tenantsim")
        .unwrap()
        .arg("import-keda")
        .arg(&bad)
        .assert()
        .code(2);
    let out = a.get_output();
    assert!(out.stdout.is_empty(), "nothing is written on bad input");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("so.yaml: spec.triggers[0].type (line 7): `cron` is not a trigger type"),
        "{err}"
    );
}
