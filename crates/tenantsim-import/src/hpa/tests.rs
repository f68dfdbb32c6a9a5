//! Tests of the HPA importer: whole manifests as kubectl prints them, every
//! error with its path and line, the limits of the YAML reader, and the
//! rendered TOML read back by the scenario parser.

use super::yaml::{parse_stream, Node, Value, MAX_INPUT};
use super::*;
use std::time::{Duration, Instant};

/// A manifest as `kubectl get hpa -o yaml` prints it, edited by hand:
/// comments, quoted strings, flow collections, block scalars, managed
/// fields, status, both behaviors and every kind of metric.
const FULL: &str = r#"# Production HPA for the checkout API.
apiVersion: "autoscaling/v2"
kind: HorizontalPodAutoscaler
metadata:
  name: checkout-api
  namespace: shop
  labels:
    app.kubernetes.io/name: checkout   # a label
    team: 'payments'
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"checkout-api"}}
    description: >-
      Scales the checkout API on CPU, memory
      and request rate.
  creationTimestamp: "2024-05-01T10:00:00Z"
  managedFields:
  - apiVersion: autoscaling/v2
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        .: {}
        f:metrics: {}
      f:status:
        f:conditions:
          k:{"type":"AbleToScale"}:
            .: {}
    manager: kubectl-client-side-apply
    operation: Update
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: checkout-api
  minReplicas: 3
  maxReplicas: 40
  metrics:
  # CPU first
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 65
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}
  - type: Pods
    pods:
      metric:
        name: "http_requests_per_second"
        selector:
          matchLabels: {route: checkout}
      target:
        type: AverageValue
        averageValue: "150"     # per pod
  - type: Object
    object:
      describedObject:
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        name: checkout
      metric:
        name: request_latency_seconds_p95
      target:
        type: AverageValue
        averageValue: 250m
  - type: External
    external:
      metric:
        name: sqs_messages_visible
        selector: {matchLabels: {queue: orders}}
      target:
        type: AverageValue
        averageValue: "30"
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 30
      selectPolicy: Max
      policies:
      - type: Percent
        value: 200
        periodSeconds: 60
      - type: Pods
        value: 8
        periodSeconds: 60
    scaleDown:
      stabilizationWindowSeconds: 600
      selectPolicy: Min
      policies:
        - type: Pods
          value: 2
          periodSeconds: 120
        - {type: Percent, value: 10, periodSeconds: 120}
status:
  currentReplicas: 3
  desiredReplicas: 3
  conditions:
  - type: AbleToScale
    status: "True"
    lastTransitionTime: "2024-05-01T10:00:00Z"
    message: recommended size matches current size
"#;

const MINIMAL: &str =
    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  maxReplicas: 5\n";

const DEFAULT_UP: &str = r#"scale_up = { stabilization = "0s", select = "Max", policies = [ { type = "Percent", value = 100, period = "15s" }, { type = "Pods", value = 4, period = "15s" } ] }"#;
const DEFAULT_DOWN: &str = r#"scale_down = { stabilization = "300s", select = "Max", policies = [ { type = "Percent", value = 100, period = "15s" } ] }"#;

fn ok(yaml: &str) -> Imported {
    let imp = import_hpa(yaml).unwrap_or_else(|e| panic!("{e}\n--- input:\n{yaml}"));
    parse_back(&imp.toml);
    imp
}

fn err(yaml: &str) -> String {
    match import_hpa(yaml) {
        Ok(imp) => panic!("expected an error, got\n{}", imp.toml),
        Err(e) => e,
    }
}

/// Parse the TOML back with the `toml` crate; it must hold exactly the
/// `[autoscaler]` table with exactly the documented keys.
fn parse_back(text: &str) -> toml::Table {
    let t: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(t.keys().collect::<Vec<_>>(), ["autoscaler"], "{text}");
    let a = t
        .get("autoscaler")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "interval",
            "max",
            "metrics",
            "min",
            "policy",
            "scale_down",
            "scale_up",
            "tolerance"
        ],
        "{text}"
    );
    assert_eq!(a["policy"].as_str(), Some("hpa"));
    let (min, max) = (a["min"].as_integer().unwrap_or(-1), a["max"].as_integer().unwrap_or(-1));
    assert!(0 <= min && min <= max && max <= MAX_INSTANCES, "{text}");
    for m in a["metrics"].as_array().into_iter().flatten() {
        let target = m.get("target").and_then(toml::Value::as_float).unwrap_or(-1.0);
        assert!(target > 0.0 && target.is_finite(), "{text}");
    }
    a
}

fn note<'a>(imp: &'a Imported, part: &str) -> &'a str {
    imp.notes
        .iter()
        .find(|n| n.contains(part))
        .unwrap_or_else(|| panic!("no note contains {part:?}: {:#?}", imp.notes))
}

fn assert_mentions(e: &str, parts: &[&str]) {
    for p in parts {
        assert!(e.contains(p), "{p:?} not in the message: {e}");
    }
}

#[test]
fn full_manifest() {
    let imp = ok(FULL);
    let expected = [
        "# HorizontalPodAutoscaler checkout-api (autoscaling/v2), converted by `tenantsim import-hpa`",
        "[autoscaler]",
        r#"policy = "hpa""#,
        "min = 3",
        "max = 40",
        r#"interval = "15s""#,
        "tolerance = 0.1",
        r#"metrics = [ { metric = "cpu", target = 0.65 }, { metric = "memory", target = 0.8 }, { metric = "rps", target = 150.0 }, { metric = "latency_p95", target = 0.25 } ]"#,
        r#"scale_up = { stabilization = "30s", select = "Max", policies = [ { type = "Percent", value = 200, period = "60s" }, { type = "Pods", value = 8, period = "60s" } ] }"#,
        r#"scale_down = { stabilization = "600s", select = "Min", policies = [ { type = "Pods", value = 2, period = "120s" }, { type = "Percent", value = 10, period = "120s" } ] }"#,
    ];
    assert_eq!(imp.toml, expected.join("\n") + "\n");
    assert_mentions(
        note(&imp, "sqs_messages_visible"),
        &["spec.metrics[4] (line 67)", "External", "cannot model"],
    );
    assert_mentions(note(&imp, "selector dropped"), &["spec.metrics[2].pods.metric"]);
    assert_mentions(note(&imp, "http_requests_per_second"), &["`rps`"]);
    assert_mentions(note(&imp, "request_latency_seconds_p95"), &["Object", "`latency_p95`"]);
    assert_mentions(note(&imp, "scaleTargetRef"), &["Deployment `checkout-api`"]);
    note(&imp, "--horizontal-pod-autoscaler-sync-period");
    note(&imp, "--horizontal-pod-autoscaler-tolerance");
    assert!(!imp.notes.iter().any(|n| n.contains("behavior")), "{:#?}", imp.notes);
}

#[test]
fn minimal_manifest_gets_defaults_and_notes() {
    let imp = ok(MINIMAL);
    let expected = [
        "# HorizontalPodAutoscaler web (autoscaling/v2), converted by `tenantsim import-hpa`",
        "[autoscaler]",
        r#"policy = "hpa""#,
        "min = 1",
        "max = 5",
        r#"interval = "15s""#,
        "tolerance = 0.1",
        r#"metrics = [ { metric = "cpu", target = 0.8 } ]"#,
        DEFAULT_UP,
        DEFAULT_DOWN,
    ];
    assert_eq!(imp.toml, expected.join("\n") + "\n");
    assert_mentions(note(&imp, "spec.minReplicas"), &["default, 1"]);
    assert_mentions(note(&imp, "spec.metrics"), &["80 % average CPU utilization"]);
    assert_mentions(note(&imp, "spec.behavior"), &["not set", "300 s stabilization"]);
    note(&imp, "interval");
    note(&imp, "tolerance");
    let t = parse_back(&imp.toml);
    assert_eq!(t["scale_down"]["policies"][0]["period"].as_str(), Some("15s"));
}

#[test]
fn a_missing_behavior_side_or_field_gets_its_defaults() {
    let yaml = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 9\n  behavior:\n    scaleUp:\n      policies:\n      - type: Pods\n        value: 1\n        periodSeconds: 30\n";
    let imp = ok(yaml);
    assert!(imp.toml.contains(r#"scale_up = { stabilization = "0s", select = "Max", policies = [ { type = "Pods", value = 1, period = "30s" } ] }"#), "{}", imp.toml);
    assert!(imp.toml.contains(DEFAULT_DOWN), "{}", imp.toml);
    assert_mentions(
        note(&imp, "spec.behavior.scaleUp"),
        &["stabilizationWindowSeconds (0s)", "selectPolicy (Max)"],
    );
    assert_mentions(note(&imp, "spec.behavior.scaleDown"), &["not set"]);
    assert!(
        !imp.toml.starts_with("# HorizontalPodAutoscaler  "),
        "no name, no double space"
    );
    let yaml = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 9\n  behavior:\n    scaleDown:\n      selectPolicy: Disabled\n";
    let imp = ok(yaml);
    assert!(imp.toml.contains(DEFAULT_UP));
    assert!(imp.toml.contains(r#"scale_down = { stabilization = "300s", select = "Disabled", policies = [ { type = "Percent", value = 100, period = "15s" } ] }"#), "{}", imp.toml);
}

#[test]
fn behaviors_in_words() {
    assert_eq!(
        describe_behavior(&Behavior::default_scale_up(), "+"),
        "no stabilization, the larger of +100 % and +4 pods per 15 s"
    );
    assert_eq!(
        describe_behavior(&Behavior::default_scale_down(), ""),
        "300 s stabilization, up to 100 % per 15 s"
    );
    let mut b = Behavior {
        stabilization: SimTime::from_secs(60),
        policies: vec![ScalingPolicy::pods(1, 30), ScalingPolicy::percent(10, 60)],
        select: SelectPolicy::Min,
    };
    assert_eq!(
        describe_behavior(&b, ""),
        "60 s stabilization, the smaller of 1 pod per 30 s and 10 % per 60 s"
    );
    b.select = SelectPolicy::Disabled;
    assert_eq!(describe_behavior(&b, ""), "60 s stabilization, no scaling");
    b.stabilization = SimTime::from_secs_f64(1.5);
    assert!(Rules {
        behavior: b,
        tolerance: None
    }
    .render()
    .starts_with(r#"{ stabilization = "1.5s""#));
}

#[test]
fn kubectl_output_with_lists_at_key_indentation() {
    let yaml = r#"apiVersion: v1
items:
- apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata:
    name: web
  spec:
    maxReplicas: 10
    metrics:
    - resource:
        name: cpu
        target:
          averageUtilization: 50
          type: Utilization
      type: Resource
    minReplicas: 2
    scaleTargetRef:
      apiVersion: apps/v1
      kind: Deployment
      name: web
  status:
    currentMetrics: null
    desiredReplicas: 2
kind: List
metadata:
  resourceVersion: ""
"#;
    let imp = ok(yaml);
    assert!(imp.toml.contains("min = 2\nmax = 10\n"), "{}", imp.toml);
    assert!(imp.toml.contains(r#"metrics = [ { metric = "cpu", target = 0.5 } ]"#));
    assert_mentions(
        note(&imp, "scaleTargetRef"),
        &["items[0].spec.scaleTargetRef", "Deployment `web`"],
    );
    let e = err(&yaml.replace("maxReplicas: 10", "maxReplicas: 1"));
    assert_mentions(&e, &["items[0].spec.maxReplicas (line 8)", "below minReplicas (2)"]);
}

#[test]
fn autoscaling_v1() {
    let yaml = "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: php-apache\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: php-apache\n  minReplicas: 1\n  maxReplicas: 10\n  targetCPUUtilizationPercentage: 50\n";
    let imp = ok(yaml);
    assert!(imp.toml.contains("(autoscaling/v1)"));
    assert!(imp.toml.contains("min = 1\nmax = 10\n"));
    assert!(imp.toml.contains(r#"metrics = [ { metric = "cpu", target = 0.5 } ]"#));
    assert!(imp.toml.contains(DEFAULT_UP) && imp.toml.contains(DEFAULT_DOWN));
    assert_mentions(note(&imp, "autoscaling/v1"), &["targetCPUUtilizationPercentage"]);
    note(&imp, "default behavior");
    let imp = ok(&yaml.replace("  targetCPUUtilizationPercentage: 50\n", ""));
    assert!(imp.toml.contains(r#"metrics = [ { metric = "cpu", target = 0.8 } ]"#));
    assert_mentions(note(&imp, "spec.targetCPUUtilizationPercentage"), &["80 %"]);
    let e = err(&format!("{yaml}  behavior: {{}}\n"));
    assert_mentions(
        &e,
        &[
            "spec.behavior (line 13)",
            "unknown field",
            "targetCPUUtilizationPercentage",
        ],
    );
}

#[test]
fn other_api_versions() {
    let imp = ok(&MINIMAL.replace("autoscaling/v2", "autoscaling/v2beta2"));
    assert_mentions(note(&imp, "apiVersion"), &["v2beta2", "read as autoscaling/v2"]);
    let e = err(&MINIMAL.replace("autoscaling/v2", "autoscaling/v2beta1"));
    assert_mentions(
        &e,
        &[
            "apiVersion (line 1)",
            "allowed: autoscaling/v2, autoscaling/v2beta2, autoscaling/v1",
        ],
    );
    let e = err(&MINIMAL.replace("autoscaling/v2", "apps/v1"));
    assert_mentions(&e, &["apiVersion (line 1)", "`apps/v1`", "allowed:"]);
    let e = err(&MINIMAL.replace("apiVersion: autoscaling/v2\n", ""));
    assert_mentions(&e, &["apiVersion (line 1): missing"]);
}

#[test]
fn error_missing_max_replicas() {
    let e = err("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  minReplicas: 2\n");
    assert_mentions(&e, &["spec.maxReplicas (line 3): missing", "≥ minReplicas (2)"]);
    let e = err("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n");
    assert_mentions(&e, &["spec (line 1): missing"]);
}

#[test]
fn error_average_value_on_cpu_or_memory() {
    let yaml = MINIMAL.to_owned()
            + "  metrics:\n  - type: Resource\n    resource: {name: memory, target: {type: Utilization, averageUtilization: 70}}\n  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: AverageValue\n        averageValue: 500m\n";
    let e = err(&yaml);
    assert_mentions(
        &e,
        &[
            "spec.metrics[1].resource.target.type (line 13)",
            "AverageValue",
            "requests",
            "allowed: Utilization",
        ],
    );
    let e = err(&yaml.replace("AverageValue", "Value"));
    assert_mentions(&e, &["spec.metrics[1].resource.target.type", "allowed: Utilization"]);
}

#[test]
fn error_unknown_kind() {
    let e = err("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n");
    assert_mentions(
        &e,
        &["kind (line 2)", "`Deployment`", "allowed: HorizontalPodAutoscaler"],
    );
    let e = err("apiVersion: autoscaling/v2\nspec: {maxReplicas: 3}\n");
    assert_mentions(&e, &["kind (line 1): missing"]);
    let e = err("kind: Deployment\n---\nkind: Service\n");
    assert_mentions(
        &e,
        &[
            "kind: none of the 2 manifests",
            "Deployment in document 1",
            "Service in document 2",
        ],
    );
}

#[test]
fn error_bad_period_seconds() {
    for bad in ["0", "1801", "3600", "-5", "15s", "\"15\"", "1.5", "[15]"] {
        let yaml = format!(
                "{MINIMAL}  behavior:\n    scaleDown:\n      policies:\n      - type: Percent\n        value: 10\n        periodSeconds: {bad}\n"
            );
        let e = err(&yaml);
        assert_mentions(
            &e,
            &[
                "spec.behavior.scaleDown.policies[0].periodSeconds (line 11)",
                "from 1 to 1800",
            ],
        );
    }
    let ok_edge = ok(&format!(
            "{MINIMAL}  behavior:\n    scaleDown:\n      policies:\n      - type: Percent\n        value: 10\n        periodSeconds: 1800\n"
        ));
    assert!(ok_edge.toml.contains(r#"period = "1800s""#));
}

#[test]
fn error_non_yaml_garbage() {
    let e = err("\u{0}\u{1}\u{2}ELF binary\u{7f}");
    assert_mentions(&e, &["line 1", "U+0000", "binary"]);
    let e = err("this is not a manifest, just a sentence");
    assert_mentions(
        &e,
        &[
            "(document root) (line 1)",
            "expected a Kubernetes manifest",
            "just a sentence",
        ],
    );
    let e = err("{{{{ nope");
    assert_mentions(&e, &["YAML syntax error at line 1", "unclosed bracket"]);
    let e = err("- a\n- b\n");
    assert_mentions(&e, &["(document root)", "got a list"]);
    for empty in ["", "# only a comment\n\n", "---\n---\n", "kind: List\nitems: []\n"] {
        assert_mentions(&err(empty), &["(document root)", "holds no manifest"]);
    }
    let e = err(&FULL.replace("        averageUtilization: 65", "       averageUtilization: 65"));
    assert_mentions(
        &e,
        &[
            "YAML syntax error at line 44, column 8",
            "(in `spec.metrics[0].resource`)",
            "check the indentation",
        ],
    );
}

#[test]
fn other_errors_name_the_path_and_what_is_allowed() {
    let m = |extra: &str| {
        format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 5\n{extra}")
    };
    let cases: &[(&str, &[&str])] = &[
            ("  minReplicas: 6\n", &["spec.maxReplicas (line 4)", "below minReplicas (6)"]),
            ("  minReplicas: -1\n", &["spec.minReplicas (line 5)", "out of range", "HPAScaleToZero"]),
            ("  minReplicas: \"2\"\n", &["spec.minReplicas (line 5)", "the string \"2\""]),
            ("  minReplicas: two\n", &["spec.minReplicas (line 5)", "`two` is not a whole number"]),
            ("  maxReplicaz: 5\n", &["spec.maxReplicaz (line 5)", "unknown field", "maxReplicas"]),
            ("  metrics: {type: Resource}\n", &["spec.metrics (line 5)", "must be a list"]),
            ("  metrics:\n  - type: Foo\n", &["spec.metrics[0].type (line 6)", "allowed: Resource, ContainerResource, Pods, Object, External"]),
            ("  metrics:\n  - type: Pods\n    resource: {name: cpu}\n", &["spec.metrics[0].resource (line 7)", "allowed here: type, pods"]),
            ("  metrics:\n  - type: Pods\n", &["spec.metrics[0].pods (line 6): missing"]),
            (
                "  metrics:\n  - type: Pods\n    pods: {metric: {name: rps}, target: {type: Value, value: 5}}\n",
                &["spec.metrics[0].pods.target.type (line 7)", "allowed: AverageValue"],
            ),
            (
                "  metrics:\n  - type: Pods\n    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: lots}}\n",
                &["spec.metrics[0].pods.target.averageValue (line 7)", "not a Kubernetes quantity", "500m"],
            ),
            (
                "  metrics:\n  - type: Pods\n    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: \"-3\"}}\n",
                &["spec.metrics[0].pods.target.averageValue", "must be positive"],
            ),
            (
                "  metrics:\n  - type: Object\n    object: {metric: {name: rps}, target: {type: Utilization, averageUtilization: 5}}\n",
                &["spec.metrics[0].object.target.type", "allowed: Value, AverageValue"],
            ),
            (
                "  metrics:\n  - type: External\n    external: {metric: {name: pubsub_backlog}, target: {type: Value, value: 10}}\n  - type: Resource\n    resource: {name: nvidia.com/gpu, target: {type: Utilization, averageUtilization: 50}}\n",
                &["spec.metrics (line 5): no metric the simulator can model", "pubsub_backlog", "nvidia.com/gpu"],
            ),
            ("  behavior: {scaleUp: {selectPolicy: max}}\n", &["spec.behavior.scaleUp.selectPolicy (line 5)", "allowed: Max, Min, Disabled"]),
            ("  behavior:\n    scaleUp:\n      stabilisationWindowSeconds: 60\n", &["spec.behavior.scaleUp.stabilisationWindowSeconds (line 7)", "unknown field", "stabilizationWindowSeconds"]),
            ("  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 3601\n", &["spec.behavior.scaleDown.stabilizationWindowSeconds (line 7)", "from 0 to 3600"]),
            ("  behavior:\n    scaleDown:\n      policies: []\n", &["spec.behavior.scaleDown.policies (line 7)", "at least one policy"]),
            ("  behavior:\n    scaleDown:\n      policies:\n      - {type: Replicas, value: 1, periodSeconds: 15}\n", &["spec.behavior.scaleDown.policies[0].type (line 8)", "allowed: Pods, Percent"]),
            ("  behavior:\n    scaleDown:\n      policies:\n      - {type: Pods, value: 0, periodSeconds: 15}\n", &["spec.behavior.scaleDown.policies[0].value (line 8)", "≥ 1"]),
            ("  behavior:\n    scaleDown:\n      policies:\n      - {type: Pods, periodSeconds: 15}\n", &["spec.behavior.scaleDown.policies[0].value (line 8): missing"]),
            ("  behavior:\n    scaleUp: {tolerance: 1.5}\n", &["spec.behavior.scaleUp.tolerance (line 6)", "from 0 to below 1"]),
            ("  behavior: [scaleUp]\n", &["spec.behavior (line 5)", "must be a mapping"]),
            ("status: {}\nextra: 1\n", &["extra (line 6)", "unknown field", "apiVersion, kind, metadata, spec, status"]),
        ];
    for (extra, parts) in cases {
        assert_mentions(&err(&m(extra)), parts);
    }
    let e = err("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 100001\n");
    assert_mentions(&e, &["spec.maxReplicas (line 4)", "at most 100000"]);
}

#[test]
fn scale_to_zero_and_tolerances_are_noted() {
    let imp =
        ok("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  minReplicas: 0\n  maxReplicas: 5\n");
    assert!(imp.toml.contains("min = 0\n"));
    assert_mentions(note(&imp, "spec.minReplicas (line 4)"), &["HPAScaleToZero"]);
    let imp = ok(&format!(
        "{MINIMAL}  behavior:\n    scaleUp: {{tolerance: 50m}}\n    scaleDown: {{tolerance: 0.05}}\n"
    ));
    assert!(imp.toml.contains("tolerance = 0.05\n"), "{}", imp.toml);
    assert!(!imp
        .notes
        .iter()
        .any(|n| n.contains("--horizontal-pod-autoscaler-tolerance")));
    let imp = ok(&format!("{MINIMAL}  behavior:\n    scaleDown: {{tolerance: 0.2}}\n"));
    assert!(imp.toml.contains("tolerance = 0.1\n"), "{}", imp.toml);
    assert_mentions(note(&imp, "differ"), &["0.1", "0.2", "smaller"]);
}

#[test]
fn custom_metrics_by_name() {
    let cases = [
        ("http_requests_per_second", Class::Rps),
        ("requests-per-second", Class::Rps),
        ("nginx_ingress_controller_requests_per_second", Class::Rps),
        ("http_server_requests_seconds_count", Class::Rps),
        ("rps", Class::Rps),
        ("api.qps", Class::Rps),
        ("worker_queue_depth", Class::Queue),
        ("QueueLength", Class::Queue),
        ("request_latency_seconds_p95", Class::LatencyP95 { millis: false }),
        (
            "http_request_duration_seconds_95th",
            Class::LatencyP95 { millis: false },
        ),
        ("latency_p95_ms", Class::LatencyP95 { millis: true }),
        ("latency-0.95-milliseconds", Class::LatencyP95 { millis: true }),
        ("http_request_duration_seconds", Class::OtherLatency),
        ("latency_p99", Class::OtherLatency),
        ("memory_working_set", Class::Unknown),
        ("packets-per-second", Class::Unknown),
    ];
    for (name, class) in cases {
        assert_eq!(classify(name), class, "{name}");
    }
    let pods = |name: &str, value: &str| {
        format!(
                "{MINIMAL}  metrics:\n  - type: Pods\n    pods:\n      metric: {{name: {name}}}\n      target: {{type: AverageValue, averageValue: {value}}}\n"
            )
    };
    let imp = ok(&pods("queue_length", "\"2.5\""));
    assert!(
        imp.toml.contains(r#"metrics = [ { metric = "queue", target = 2.5 } ]"#),
        "{}",
        imp.toml
    );
    let imp = ok(&pods("latency_p95_ms", "250"));
    assert!(
        imp.toml
            .contains(r#"metrics = [ { metric = "latency_p95", target = 0.25 } ]"#),
        "{}",
        imp.toml
    );
    assert_mentions(note(&imp, "milliseconds"), &["250.0 ms", "0.25 s"]);
    let imp = ok(&pods("rps", "1k"));
    assert!(
        imp.toml
            .contains(r#"metrics = [ { metric = "rps", target = 1000.0 } ]"#),
        "{}",
        imp.toml
    );
    let e = err(&pods("goroutines", "100"));
    assert_mentions(&e, &["spec.metrics (line 6)", "`goroutines` skipped"]);
    let yaml = format!(
            "{MINIMAL}  metrics:\n  - type: Object\n    object:\n      metric: {{name: requests_per_second}}\n      describedObject: {{apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}}\n      target: {{type: Value, value: 10k}}\n  - type: ContainerResource\n    containerResource: {{name: cpu, container: app, target: {{type: Utilization, averageUtilization: 60}}}}\n"
        );
    let imp = ok(&yaml);
    assert!(
        imp.toml
            .contains(r#"metrics = [ { metric = "rps", target = 10000.0 }, { metric = "cpu", target = 0.6 } ]"#),
        "{}",
        imp.toml
    );
    assert_mentions(note(&imp, "Value` target"), &["spec.metrics[0].object.target", "total"]);
    assert_mentions(
        note(&imp, "container `app`"),
        &["spec.metrics[1].containerResource", "whole instance"],
    );
}

#[test]
fn quantities() {
    let good = [
        ("100", 100.0),
        ("500m", 0.5),
        ("200m", 0.2),
        ("250m", 0.25),
        ("1k", 1000.0),
        ("2Ki", 2048.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("+5", 5.0),
        ("-1", -1.0),
        ("1e3", 1000.0),
        ("1E-2", 0.01),
        ("2e+2", 200.0),
        ("3M", 3e6),
        ("4G", 4e9),
        ("1T", 1e12),
        ("1P", 1e15),
        ("1E", 1e18),
        ("1Mi", 1_048_576.0),
        ("1Gi", 1_073_741_824.0),
        ("1Ti", 1024f64.powi(4)),
        ("1Pi", 1024f64.powi(5)),
        ("1Ei", 1024f64.powi(6)),
        ("100u", 1e-4),
        ("7n", 7e-9),
        ("1.5Gi", 1.5 * 1_073_741_824.0),
        (" 42 ", 42.0),
    ];
    for (s, v) in good {
        let got = parse_quantity(s);
        assert!(
            got.is_some_and(|g| (g - v).abs() <= v.abs() * 1e-12),
            "{s:?}: {got:?} != {v}"
        );
    }
    for s in [
        "", "m", "k", "Ki", "1.2.3", "1ki", "1 k", "1kk", "abc", "1e", "1e+", "1e-", "1e1.5", "--1", "1e400", "0x10",
        "1_000", ".",
    ] {
        assert_eq!(parse_quantity(s), None, "{s:?}");
    }
    assert_eq!(format!("{:?}", parse_quantity("200m").unwrap_or_default()), "0.2");
}

#[test]
fn multi_document_input_takes_the_first_hpa() {
    let yaml = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n---\n{MINIMAL}---\n{}--- # a comment\napiVersion: v1\nkind: Service\nmetadata: {{name: web}}\n...\n",
            MINIMAL.replace("name: web", "name: api").replace("maxReplicas: 5", "maxReplicas: 7")
        );
    let imp = ok(&yaml);
    assert!(imp.toml.contains("max = 5\n"), "{}", imp.toml);
    assert_mentions(note(&imp, "converted"), &["document 2", "`web`"]);
    assert_mentions(note(&imp, "document 1"), &["Deployment `web` skipped"]);
    assert_mentions(
        note(&imp, "document 3"),
        &["another HorizontalPodAutoscaler `api`", "not converted"],
    );
    assert_mentions(note(&imp, "document 4"), &["Service `web` skipped"]);
    let e = err(&yaml.replace("maxReplicas: 5", "maxReplicas: 0"));
    assert_mentions(&e, &["document 2: spec.maxReplicas (line 12)", "out of range"]);
    // Many documents: the notes name ten and count the rest.
    let many = "kind: ConfigMap\n---\n".repeat(30) + MINIMAL;
    let imp = ok(&many);
    assert_mentions(note(&imp, "more documents skipped"), &["20 more"]);
    assert!(imp.notes.len() < 20, "{:#?}", imp.notes);
}

/// Parse one document with the YAML parser.
fn doc(src: &str) -> Value {
    let mut docs = parse_stream(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    assert_eq!(docs.len(), 1, "{src}");
    docs.pop().map(|n| n.value).unwrap_or(Value::Null)
}

fn s(t: &str) -> Value {
    Value::Str {
        text: t.to_owned(),
        plain: true,
    }
}

fn q(t: &str) -> Value {
    Value::Str {
        text: t.to_owned(),
        plain: false,
    }
}

/// The values of a mapping, by key path.
fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut v = v;
    for k in path {
        v = match v {
            Value::Map(m) => m
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, n)| &n.value)
                .unwrap_or(&Value::Null),
            Value::Seq(items) => k
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i))
                .map_or(&Value::Null, |n| &n.value),
            _ => &Value::Null,
        };
    }
    v
}

#[test]
fn yaml_scalars() {
    let v = doc(concat!(
        "plain: hello world  # comment\n",
        "url: http://example.com/#anchor\n",
        "colon: a:b\n",
        "multi: first\n  second\n\n  third\n",
        "dq: \"tab\\there \\u00e9 \\\"q\\\" \\x41\\\n  joined\"\n",
        "dqfold: \"one\n   two  \n\n   three\"\n",
        "sq: 'it''s # not a comment'\n",
        "\"quoted key\": 1\n",
        "'single key' : 2\n",
        "empty:\n",
        "tilde: ~\n",
        "nul: null\n",
        "num: -12\n",
        "dash: -x\n",
    ));
    assert_eq!(get(&v, &["plain"]), &s("hello world"));
    assert_eq!(get(&v, &["url"]), &s("http://example.com/#anchor"));
    assert_eq!(get(&v, &["colon"]), &s("a:b"));
    assert_eq!(get(&v, &["multi"]), &s("first second\nthird"));
    assert_eq!(get(&v, &["dq"]), &q("tab\there é \"q\" Ajoined"));
    assert_eq!(get(&v, &["dqfold"]), &q("one two\nthree"));
    assert_eq!(get(&v, &["sq"]), &q("it's # not a comment"));
    assert_eq!(get(&v, &["quoted key"]), &s("1"));
    assert_eq!(get(&v, &["single key"]), &s("2"));
    assert_eq!(get(&v, &["empty"]), &Value::Null);
    assert_eq!(get(&v, &["tilde"]), &Value::Null);
    assert_eq!(get(&v, &["nul"]), &Value::Null);
    assert_eq!(get(&v, &["num"]), &s("-12"));
    assert_eq!(get(&v, &["dash"]), &s("-x"));
}

#[test]
fn yaml_block_scalars() {
    let v = doc(concat!(
        "lit: |\n  line 1\n    indented\n\n  line 3\n\n",
        "strip: |-\n  a\n  b\n\n",
        "keep: |+\n  a\n\n\n",
        "fold: >\n  one\n  two\n\n  three\n    more\n  four\n",
        "foldstrip: >-\n  x\n  y\n",
        "explicit: |2\n    two extra\n  base\n",
        "after: end\n",
        "list:\n- |\n  in a list\n- z\n",
    ));
    assert_eq!(get(&v, &["lit"]), &q("line 1\n  indented\n\nline 3\n"));
    assert_eq!(get(&v, &["strip"]), &q("a\nb"));
    assert_eq!(get(&v, &["keep"]), &q("a\n\n\n"));
    assert_eq!(get(&v, &["fold"]), &q("one two\nthree\n  more\nfour\n"));
    assert_eq!(get(&v, &["foldstrip"]), &q("x y"));
    assert_eq!(get(&v, &["explicit"]), &q("  two extra\nbase\n"));
    assert_eq!(get(&v, &["after"]), &s("end"));
    assert_eq!(get(&v, &["list", "0"]), &q("in a list\n"));
    assert_eq!(get(&v, &["list", "1"]), &s("z"));
}

#[test]
fn yaml_collections() {
    let v = doc(concat!(
        "flow: {a: 1, b: [x, \"y, z\", {c: d}], 'e': , f}\n",
        "json: {\"k\":\"v\",\"n\":[1,2]}\n",
        "multiline: [\n  one,  # first\n  two,\n]\n",
        "empty: {}\n",
        "none: []\n",
        "same_indent:\n- a\n- b\nnext: 1\n",
        "nested:\n  - - x\n    - y\n  - k: v\n    k2: v2\n  -\n    deep: true\n",
    ));
    assert_eq!(get(&v, &["flow", "a"]), &s("1"));
    assert_eq!(get(&v, &["flow", "b", "1"]), &q("y, z"));
    assert_eq!(get(&v, &["flow", "b", "2", "c"]), &s("d"));
    assert!(matches!(get(&v, &["flow"]), Value::Map(m) if m.len() == 4));
    assert_eq!(get(&v, &["json", "n", "1"]), &s("2"));
    assert!(matches!(get(&v, &["multiline"]), Value::Seq(items) if items.len() == 2));
    assert_eq!(get(&v, &["empty"]), &Value::Map(Vec::new()));
    assert_eq!(get(&v, &["none"]), &Value::Seq(Vec::new()));
    assert_eq!(get(&v, &["same_indent", "1"]), &s("b"));
    assert_eq!(get(&v, &["next"]), &s("1"));
    assert_eq!(get(&v, &["nested", "0", "1"]), &s("y"));
    assert_eq!(get(&v, &["nested", "1", "k2"]), &s("v2"));
    assert_eq!(get(&v, &["nested", "2", "deep"]), &s("true"));
}

#[test]
fn yaml_documents_and_encodings() {
    let docs = parse_stream("%YAML 1.2\n---\na: 1\n...\n--- # two\nb: 2\n---\n---\n").unwrap_or_default();
    assert_eq!(docs.len(), 4);
    assert_eq!(docs[3].value, Value::Null);
    let crlf = "\u{feff}a: 1\r\nb:\r\n  - x\r\n";
    assert_eq!(get(&doc(crlf), &["b", "0"]), &s("x"));
    let lines: Vec<usize> = match doc("a: 1\n\nb:\n  c: 2\n") {
        Value::Map(m) => m.iter().map(|(_, n): &(String, Node)| n.line).collect(),
        _ => Vec::new(),
    };
    assert_eq!(lines, [0, 2]);
}

#[test]
fn yaml_rejects_what_it_does_not_read() {
    let cases = [
        ("a: 1\na: 2\n", "line 2", "duplicate key `a`"),
        ("a:\n\tb: 1\n", "line 2", "tab"),
        ("a: &x 1\nb: *x\n", "line 1", "anchors"),
        ("b: *x\n", "line 1", "aliases"),
        ("a: !!str 1\n", "line 1", "tags"),
        ("? [a]\n: b\n", "line 1", "complex key"),
        ("{[a]: b}\n", "line 1", "complex key"),
        ("a: \"open\nb: 1\n", "line 1", "unclosed quote"),
        ("a: [1, 2\n", "line 1", "unclosed bracket"),
        ("a: b: c\n", "line 1", "quote a value that holds `: `"),
        ("a: - b\n", "line 1", "on the lines below its key"),
        ("a: 1\n  b: 2\n", "line 2", "check the indentation"),
        ("a:\n  b:\n    c: 1\n   d: 2\n", "line 4", "check the indentation"),
        ("a:\n  b: 1\n c: 2\n", "line 3, column 2", "check the indentation"),
        ("  a: 1\nb: 2\n", "line 2", "check the indentation"),
        ("a: \"x\" y\n", "line 1", "trailing content after double-quoted scalar"),
        ("a: \"\\q\"\n", "line 1", "unknown escape character"),
        ("a: |x\n  b\n", "line 1", "block scalar"),
        (
            "spec:\n  metrics:\n  - type: x\n    bad\n",
            "line 4, column 5 (in `spec.metrics[0]`)",
            "simple key expected ':'",
        ),
        (
            "spec:\n  metrics:\n  - a: 1\n    a: 2\n",
            "line 4 (in `spec.metrics[0]`)",
            "duplicate key `a`",
        ),
    ];
    for (src, at, what) in cases {
        let e = parse_stream(src).map(|d| format!("{d:?}")).expect_err(src);
        assert_mentions(&e, &["YAML syntax error", at, what]);
    }
    // Valid YAML the old hand-written reader refused: explicit scalar
    // keys and a one-pair mapping in a list.
    assert_eq!(get(&doc("? a\n: b\n"), &["a"]), &s("b"));
    assert_eq!(get(&doc("a: [b: c]\n"), &["a", "0", "b"]), &s("c"));
    // At most 64 nested collections, flow or block or both.
    for (n, ok) in [(64, true), (65, false)] {
        for src in [
            "[".repeat(n) + &"]".repeat(n),
            "- ".repeat(n) + "x\n",
            "- ".repeat(n / 2) + &"[".repeat(n - n / 2) + &"]".repeat(n - n / 2) + "\n",
        ] {
            match parse_stream(&src) {
                Ok(_) => assert!(ok, "{n} levels accepted"),
                Err(e) => {
                    assert!(!ok, "{n} levels: {e}");
                    assert_mentions(&e, &["deeper than 64"]);
                }
            }
        }
    }
    let deep = "[".repeat(100) + &"]".repeat(100);
    assert_mentions(&parse_stream(&deep).expect_err("deep"), &["deeper than 64"]);
    let e = parse_stream(&"- ".repeat(100)).expect_err("deep list");
    assert_mentions(&e, &["(in `…[0][0]", "[0]`): the document nests deeper than 64"]);
    assert!(e.chars().count() < 160, "{e}");
    let deep_block: String = (0..100).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    assert_mentions(&parse_stream(&deep_block).expect_err("deep block"), &["deeper than 64"]);
    let big = "a: b\n".repeat(MAX_INPUT / 5 + 1);
    assert_mentions(
        &import_hpa(&big).expect_err("big"),
        &["(document root)", "at most 1048576 bytes"],
    );
}

/// Nothing recurses per level: the deepest accepted and the first
/// rejected nestings of every kind, and 100,000 levels, fit in a 512 KiB
/// stack.
#[test]
fn deep_nesting_fits_a_small_stack() {
    let inputs: Vec<String> = [63, 64, 65, 1000]
        .iter()
        .flat_map(|&n| {
            [
                "[".repeat(n) + &"]".repeat(n),
                "{a: ".repeat(n) + "1" + &"}".repeat(n),
                (0..n).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>(),
                (0..n).map(|i| format!("{}-\n", " ".repeat(i))).collect::<String>(),
                "- ".repeat(n) + "x\n",
                (0..n).map(|i| format!("{}- k:\n", "  ".repeat(i))).collect::<String>(),
            ]
        })
        .chain([
            "[".repeat(100_000),
            "- ".repeat(100_000),
            "{a: ".repeat(100_000),
            "- [".repeat(50_000),
        ])
        .collect();
    let handle = std::thread::Builder::new().stack_size(512 * 1024).spawn(move || {
        for src in &inputs {
            let _ = parse_stream(src);
            let _ = import_hpa(src);
        }
    });
    assert!(handle.map(|h| h.join().is_ok()).unwrap_or(false));
}

/// xorshift64*: deterministic pseudo-random numbers for the tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Whatever the input, no panic, and any success is TOML that parses back.
fn no_panic(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(imp) = import_hpa(&text) {
        parse_back(&imp.toml);
    }
}

#[test]
fn random_and_truncated_inputs_never_panic() {
    let started = Instant::now();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Every prefix of realistic manifests, cut at any byte.
    for src in [FULL, MINIMAL] {
        for cut in 0..=src.len() {
            no_panic(&src.as_bytes()[..cut]);
        }
    }
    // Random strings over YAML's special characters and some others.
    let alphabet: &[u8] = b" \n\n\n\t-:#'\"[]{},|>&*!?%@`\\abcxyz019.e\r";
    for _ in 0..3000 {
        let len = rng.below(120);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(10) == 0 {
                    rng.next() as u8
                } else {
                    *rng.pick(alphabet)
                }
            })
            .collect();
        no_panic(&bytes);
    }
    // Mutations of the realistic manifest: bytes replaced, inserted, deleted, lines swapped.
    for _ in 0..1500 {
        let mut bytes = FULL.as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] = *rng.pick(alphabet),
                1 => bytes.insert(at, *rng.pick(alphabet)),
                2 => {
                    bytes.remove(at);
                }
                _ => bytes[at] = rng.next() as u8,
            }
        }
        no_panic(&bytes);
    }
    for _ in 0..300 {
        let mut lines: Vec<&str> = FULL.lines().collect();
        let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
        lines.swap(a, b);
        no_panic(lines.join("\n").as_bytes());
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn hostile_inputs_are_bounded() {
    let near = MAX_INPUT - 16;
    let cases: Vec<String> = vec![
        "[".repeat(near),
        "{".repeat(near),
        "- ".repeat(near / 2),
        "a:\n ".repeat(near / 4),
        (0..2000).map(|i| format!("{}- x\n", " ".repeat(i))).collect(),
        "---\n".repeat(near / 4),
        "a: ".to_owned() + &": ".repeat(near / 2 - 2),
        format!("a: \"{}", "x ".repeat(near / 2 - 4)),
        format!("a: '{}", "x\n".repeat(near / 2 - 4)),
        format!("a: |\n{}", "  x\n".repeat(near / 4 - 4)),
        format!("a: >\n{}", "  x\n\n".repeat(near / 5 - 4)),
        format!("a: [{}]", "x, ".repeat(near / 3 - 2)),
        format!("k: {}", "v".repeat(near - 3)),
        "\n".repeat(near) + "a: 1",
        format!("{}kind: HorizontalPodAutoscaler\n", "# c\n".repeat(near / 4 - 10)),
        (0..near / 12).map(|i| format!("k{i}: {i}\n")).collect::<String>(),
        "\u{7f}".repeat(near),
        "é".repeat(near / 2),
        // An alias bomb ("billion laughs"): nothing is expanded.
        (1..40).fold("a0: &a0 [x, x]\n".to_owned(), |acc, i| {
            acc + &format!("a{i}: &a{i} [*a{}, *a{}]\n", i - 1, i - 1)
        }),
        "- [".repeat(near / 3),
    ];
    for src in &cases {
        let started = Instant::now();
        let bounded = &src[..src.len().min(MAX_INPUT)];
        no_panic(bounded.as_bytes());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}… took {:?}",
            &bounded[..20.min(bounded.len())],
            started.elapsed()
        );
    }
}

#[test]
fn generated_manifests_round_trip() {
    let mut rng = Rng(42);
    for _ in 0..300 {
        let min = rng.below(5) as i64;
        let max = min.max(1) + rng.below(50) as i64;
        let cpu = 1 + rng.below(150) as i64;
        let rps = 1 + rng.below(1000);
        let flow = rng.below(2) == 0;
        let mut yaml = format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: gen\nspec:\n  minReplicas: {min}\n  maxReplicas: {max}\n  metrics:\n");
        if flow {
            yaml += &format!("  - {{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {cpu}}}}}}}\n");
            yaml += &format!("  - {{type: Pods, pods: {{metric: {{name: rps}}, target: {{type: AverageValue, averageValue: '{rps}'}}}}}}\n");
        } else {
            yaml += &format!("    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: {cpu}\n");
            yaml += &format!("    - type: Pods\n      pods:\n        metric:\n          name: rps\n        target:\n          type: AverageValue\n          averageValue: \"{rps}\"\n");
        }
        let stab = rng.below(3601) as i64;
        let select = *rng.pick(&["Max", "Min", "Disabled"]);
        let kind = *rng.pick(&["Pods", "Percent"]);
        let value = 1 + rng.below(500) as i64;
        let period = 1 + rng.below(1800) as i64;
        yaml += &format!("  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: {stab}\n      selectPolicy: {select}\n      policies:\n      - type: {kind}\n        value: {value}\n        periodSeconds: {period}\n");
        let a = parse_back(&ok(&yaml).toml);
        assert_eq!(a["min"].as_integer(), Some(min));
        assert_eq!(a["max"].as_integer(), Some(max));
        assert_eq!(a["metrics"][0]["target"].as_float(), Some(cpu as f64 / 100.0));
        assert_eq!(a["metrics"][1]["metric"].as_str(), Some("rps"));
        assert_eq!(a["metrics"][1]["target"].as_float(), Some(rps as f64));
        let down = &a["scale_down"];
        assert_eq!(down["stabilization"].as_str(), Some(format!("{stab}s").as_str()));
        assert_eq!(down["select"].as_str(), Some(select));
        assert_eq!(down["policies"][0]["type"].as_str(), Some(kind));
        assert_eq!(down["policies"][0]["value"].as_integer(), Some(value));
        assert_eq!(
            down["policies"][0]["period"].as_str(),
            Some(format!("{period}s").as_str())
        );
    }
}
