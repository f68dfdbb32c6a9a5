//! The ScaledObject examples of KEDA's documentation (the fixtures under
//! scenarios/examples/keda/, each citing its page) and the errors.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/../../scenarios/examples/keda/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn import(name: &str) -> Imported {
    import_keda(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn has(out: &Imported, lines: &[&str]) {
    for l in lines {
        assert!(out.toml.lines().any(|x| x == *l), "missing `{l}` in:\n{}", out.toml);
    }
}

#[test]
fn prometheus_request_rate_becomes_an_rps_trigger_with_keda_defaults() {
    let out = import("prometheus.yaml");
    has(
        &out,
        &[
            "[autoscaler]",
            "policy = \"keda\"",
            "min = 0",
            "max = 100",
            "interval = \"15s\"",
            "polling_interval = \"30s\"",
            "cooldown_period = \"300s\"",
            "tolerance = 0.1",
            "triggers = [ { metric = \"rps\", target = 100.0, activation = 0.0 } ]",
        ],
    );
    assert!(!out.toml.contains("metrics ="), "{}", out.toml);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("spec.scaleTargetRef (line 9): dropped")),
        "{:?}",
        out.notes
    );
}

#[test]
fn other_documents_are_skipped_and_authentication_dropped() {
    let out = import("prometheus-bearer.yaml");
    has(
        &out,
        &[
            "max = 12",
            "triggers = [ { metric = \"rps\", target = 100.0, activation = 0.0 } ]",
        ],
    );
    let notes = out.notes.join("\n");
    assert!(notes.contains("document 1: Secret skipped"), "{notes}");
    assert!(notes.contains("document 2: TriggerAuthentication skipped"), "{notes}");
    assert!(
        notes.contains("spec.triggers[0].authenticationRef (line 39): dropped"),
        "{notes}"
    );
}

#[test]
fn a_cpu_trigger_is_a_resource_metric_and_cannot_scale_to_zero() {
    let out = import("cpu.yaml");
    has(&out, &["min = 1", "metrics = [ { metric = \"cpu\", target = 0.5 } ]"]);
    assert!(!out.toml.contains("triggers ="), "{}", out.toml);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("KEDA cannot scale such a target to zero")),
        "{:?}",
        out.notes
    );
}

#[test]
fn a_rabbitmq_queue_length_is_a_queue_trigger() {
    let out = import("rabbitmq.yaml");
    has(
        &out,
        &["triggers = [ { metric = \"queue\", target = 20.0, activation = 0.0 } ]"],
    );
}

#[test]
fn the_specification_example_keeps_its_behavior_and_activation() {
    let out = import("full-spec.yaml");
    has(
        &out,
        &[
            "min = 1",
            "max = 100",
            "polling_interval = \"30s\"",
            "cooldown_period = \"300s\"",
            "triggers = [ { metric = \"rps\", target = 100.5, activation = 5.5 } ]",
            "scale_down = { stabilization = \"300s\", select = \"Max\", policies = [ { type = \"Percent\", value = 100, period = \"15s\" } ] }",
        ],
    );
    let notes = out.notes.join("\n");
    assert!(notes.contains("spec.fallback (line 22): dropped"), "{notes}");
    assert!(
        notes.contains("restoreToOriginalReplicaCount (line 26): dropped"),
        "{notes}"
    );
}

#[test]
fn an_sqs_queue_scales_to_zero_with_its_activation_threshold() {
    let out = import("sqs-scale-to-zero.yaml");
    has(
        &out,
        &[
            "min = 0",
            "max = 20",
            "polling_interval = \"15s\"",
            "cooldown_period = \"60s\"",
            "triggers = [ { metric = \"queue\", target = 5.0, activation = 2.0 } ]",
        ],
    );
}

fn err(yaml: &str) -> String {
    import_keda(yaml).expect_err("must be refused")
}

const HEAD: &str = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: x\nspec:\n";

#[test]
fn unsupported_triggers_name_the_line_and_what_is_allowed() {
    let e = err(&format!(
        "{HEAD}  triggers:\n  - type: cron\n    metadata:\n      timezone: Europe/Paris\n      start: 0 8 * * *\n"
    ));
    assert!(
        e.starts_with("spec.triggers[0].type (line 7): `cron` is not a trigger type the simulator can read; allowed: cpu, memory, prometheus, aws-sqs-queue"),
        "{e}"
    );
    let e = err(&format!(
        "{HEAD}  triggers:\n  - type: prometheus\n    metricType: Value\n    metadata:\n      query: sum(rate(http_requests_total[1m]))\n      threshold: '5'\n"
    ));
    assert!(e.starts_with("spec.triggers[0].metricType (line 8): `Value`"), "{e}");
    assert!(e.contains("allowed: AverageValue"), "{e}");
    let e = err(&format!(
        "{HEAD}  triggers:\n  - type: prometheus\n    metadata:\n      query: histogram_quantile(0.99, sum(rate(db_seconds_bucket[1m])) by (le))\n      threshold: '5'\n"
    ));
    assert!(e.starts_with("spec.triggers[0].metadata.query (line 9):"), "{e}");
    let e = err(&format!(
        "{HEAD}  triggers:\n  - type: cpu\n    metricType: AverageValue\n    metadata:\n      value: '500m'\n"
    ));
    assert!(
        e.starts_with("spec.triggers[0].metricType (line 8): `AverageValue` for a cpu trigger: allowed: Utilization"),
        "{e}"
    );
}

#[test]
fn unsupported_fields_are_refused_with_their_line() {
    let e = err(&format!("{HEAD}  idleReplicaCount: 0\n  triggers: []\n"));
    assert!(e.starts_with("spec.idleReplicaCount (line 6): not supported"), "{e}");
    let e = err(&format!("{HEAD}  pollingIntervall: 10\n"));
    assert!(
        e.starts_with("spec.pollingIntervall (line 6): unknown field; allowed here:"),
        "{e}"
    );
    let e = err(&format!("{HEAD}  triggers: []\n"));
    assert!(e.starts_with("spec.triggers (line 6): empty"), "{e}");
    let e = err(&format!(
        "{HEAD}  advanced:\n    scalingModifiers:\n      formula: a + b\n  triggers: []\n"
    ));
    assert!(
        e.starts_with("spec.advanced.scalingModifiers (line 7): not supported"),
        "{e}"
    );
    let e = err("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n");
    assert!(
        e.contains("no ScaledObject in the input (found: HorizontalPodAutoscaler)"),
        "{e}"
    );
    let e = err(&format!(
        "{HEAD}  triggers:\n  - type: aws-sqs-queue\n    metadata:\n      queueLength: 'five'\n"
    ));
    assert!(
        e.starts_with("spec.triggers[0].metadata.queueLength (line 9): `five` is not a number"),
        "{e}"
    );
}
