//! `tenantsim import-hpa HPA.yaml`: converts a Kubernetes
//! HorizontalPodAutoscaler manifest into the `[autoscaler]` section of a
//! scenario (`policy = "hpa"`), so users can test the HPA they run in
//! production.
//!
//! # What is read
//!
//! The first document of kind `HorizontalPodAutoscaler` in the input (a
//! `---`-separated stream, or the `items` of a `kind: List` as printed by
//! `kubectl get hpa -o yaml`); every other document is skipped with a note.
//! The fields are those of the `autoscaling/v2` API
//! (<https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/>):
//!
//! | manifest | scenario |
//! | --- | --- |
//! | `spec.minReplicas` (default 1; 0 needs the `HPAScaleToZero` gate) | `min` |
//! | `spec.maxReplicas` (required) | `max` |
//! | `spec.metrics[*]` `Resource` / `ContainerResource` cpu or memory, `target.type: Utilization`, `averageUtilization` % | `{ metric = "cpu" / "memory", target = averageUtilization / 100 }` |
//! | `Pods` / `Object` metrics named like requests per second, a queue, or a p95 latency; `target.averageValue` / `target.value` (a quantity) | `{ metric = "rps" / "queue" / "latency_p95", target }` |
//! | `spec.behavior.scaleUp` / `scaleDown`: `stabilizationWindowSeconds`, `selectPolicy`, `policies[*]` (`type`, `value`, `periodSeconds`), `tolerance` | `scale_up` / `scale_down`: `stabilization`, `select`, `policies` (`type`, `value`, `period`); `tolerance` |
//!
//! `autoscaling/v2beta2` has the same fields and is read as v2 (with a note);
//! `autoscaling/v1` has only `spec.targetCPUUtilizationPercentage` (default
//! 80), read as one cpu metric with the default behavior. Absent `metrics`
//! mean Kubernetes' default, 80 % average CPU utilization. An absent
//! `behavior`, side or field gets the API defaults (`defaults.go`): scale up
//! with no stabilization by the larger of +100 % and +4 pods per 15 s, scale
//! down after a 300 s stabilization window by up to 100 % per 15 s.
//! `interval` and `tolerance` are not part of the manifest: they come from
//! kube-controller-manager's `--horizontal-pod-autoscaler-sync-period` (15 s)
//! and `--horizontal-pod-autoscaler-tolerance` (0.1), and a note says so.
//!
//! # What is dropped or approximated (each with a note)
//!
//! * `metadata`, `status` and `scaleTargetRef`: the scenario's instances are
//!   what scales.
//! * `External` metrics, resources other than cpu and memory, and custom
//!   metrics whose name matches none of the simulator's metrics: the
//!   simulator cannot model them. Metric `selector`s and `describedObject`s.
//! * `ContainerResource` metrics read as the whole instance's utilization;
//!   `Object` metrics with `target.type: Value` (a total, compared as
//!   `current × value / target`) read as a per-instance average.
//! * Per-direction `tolerance`s (alpha in Kubernetes 1.33) that differ: the
//!   simulator has one tolerance, the smaller is used.
//!
//! `Resource` targets of type `AverageValue` (an absolute amount per pod)
//! are an error: turning them into a utilization needs the pods' requests,
//! which the manifest does not carry. So are fields the API rejects or does
//! not know (a typo must not silently vanish). Every error names the YAML
//! path, e.g. `spec.metrics[1].resource.target (line 23)`, and what is
//! allowed.
//!
//! # YAML
//!
//! A small parser for the YAML that Kubernetes manifests use, written here
//! rather than taken as a dependency. Measured on a cold build: this whole
//! module compiles in ≈ 1.5 s of CPU, where `yaml-rust2` alone would add
//! ≈ 2 s and `serde_yaml` ≈ 4 s (12 s with serde) before any converter code;
//! and `yaml-rust2`'s loader expands alias bombs and overflows the stack on
//! deeply nested block collections. It reads block mappings and sequences (including a list
//! at its key's indentation and `- key: value` items), plain, single- and
//! double-quoted scalars (with escapes, over several lines), literal and
//! folded block scalars, flow collections (`{}`, `[a, b]`, `{a: 1}`),
//! comments, directives and `---` / `...` document markers. Anchors,
//! aliases, tags and complex keys are rejected with a message, as are tab
//! indentation, duplicate keys and non-printable characters. The input is
//! capped at 1 MiB and nesting at 64 levels, nothing is expanded, and every
//! loop consumes input, so hostile input costs time and memory linear in
//! its size and never panics.

use std::fmt;

use yaml::{Node, Value};

/// A converted manifest: the TOML text and the notes (things dropped or approximated).
#[derive(Debug, Clone, PartialEq)]
pub struct HpaImport {
    pub toml: String,
    pub notes: Vec<String>,
}

const KIND: &str = "HorizontalPodAutoscaler";
/// kube-controller-manager's `--horizontal-pod-autoscaler-sync-period` default.
const SYNC_PERIOD: &str = "15s";
/// kube-controller-manager's `--horizontal-pod-autoscaler-tolerance` default.
const TOLERANCE: f64 = 0.1;
/// The largest `max` a scenario accepts.
const MAX_INSTANCES: i64 = 100_000;
/// Kubernetes' `int32` fields.
const INT32_MAX: i64 = i32::MAX as i64;
/// How many other documents the notes name before counting the rest.
const MAX_LISTED: usize = 10;
const V2_SPEC: &[&str] = &["scaleTargetRef", "minReplicas", "maxReplicas", "metrics", "behavior"];
const V1_SPEC: &[&str] = &[
    "scaleTargetRef",
    "minReplicas",
    "maxReplicas",
    "targetCPUUtilizationPercentage",
];
const SIMULATED: &str =
    "the simulator models cpu and memory utilization, requests per second, queue length and p95 latency";

/// Convert a HorizontalPodAutoscaler manifest (YAML, possibly several
/// documents) into a scenario's `[autoscaler]` section.
///
/// Errors name the YAML path (and line) and what is allowed there.
pub fn import_hpa(yaml: &str) -> Result<HpaImport, String> {
    let docs = yaml::parse_stream(yaml)?;
    let multi = docs.len() > 1;
    let mut cands = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        if doc.value == Value::Null {
            continue;
        }
        if let (Some(kind), Value::Map(m)) = (kind_of(doc), &doc.value) {
            if kind.ends_with("List") {
                if let Some(Node {
                    value: Value::Seq(items),
                    ..
                }) = field(m, "items")
                {
                    for (j, item) in items.iter().enumerate() {
                        cands.push(Candidate {
                            doc: i + 1,
                            multi,
                            base: format!("items[{j}]"),
                            node: item,
                        });
                    }
                    continue;
                }
            }
        }
        cands.push(Candidate {
            doc: i + 1,
            multi,
            base: String::new(),
            node: doc,
        });
    }
    let Some((pos, chosen)) = cands.iter().enumerate().find(|(_, c)| kind_of(c.node) == Some(KIND)) else {
        return Err(not_hpa(&cands));
    };
    let mut notes = Vec::new();
    if cands.len() > 1 {
        notes.push(format!(
            "converted {} ({KIND}{}), the first of its kind in the input",
            chosen.label(),
            name_of(chosen.node)
        ));
    }
    let hpa = convert(chosen.node, &chosen.base, &mut notes).map_err(|e| {
        if chosen.multi {
            format!("document {}: {e}", chosen.doc)
        } else {
            e
        }
    })?;
    let others: Vec<&Candidate> = cands
        .iter()
        .enumerate()
        .filter(|&(k, _)| k != pos)
        .map(|(_, c)| c)
        .collect();
    for c in others.iter().take(MAX_LISTED) {
        notes.push(match kind_of(c.node) {
            Some(KIND) => format!(
                "{}: another {KIND}{} was not converted (only the first one is); import it from a file of its own",
                c.label(),
                name_of(c.node)
            ),
            Some(kind) => format!(
                "{}: {}{} skipped (not a {KIND})",
                c.label(),
                short(kind),
                name_of(c.node)
            ),
            None => format!("{}: skipped (no `kind`)", c.label()),
        });
    }
    if others.len() > MAX_LISTED {
        notes.push(format!("{} more documents skipped", others.len() - MAX_LISTED));
    }
    Ok(HpaImport {
        toml: hpa.render(),
        notes,
    })
}

/// A manifest in the input: a document, or one item of a `kind: List`.
struct Candidate<'a> {
    /// 1-based document number.
    doc: usize,
    /// Whether the input has several documents.
    multi: bool,
    /// The YAML path of the manifest: empty, or `items[3]`.
    base: String,
    node: &'a Node,
}

impl Candidate<'_> {
    fn label(&self) -> String {
        match (self.multi, self.base.is_empty()) {
            (true, true) => format!("document {}", self.doc),
            (true, false) => format!("document {}, {}", self.doc, self.base),
            (false, false) => self.base.clone(),
            (false, true) => "the document".to_owned(),
        }
    }
}

/// The error for an input without any HorizontalPodAutoscaler.
fn not_hpa(cands: &[Candidate]) -> String {
    match cands {
        [] => "(document root): the input holds no manifest (no document, or only empty ones); expected a \
               HorizontalPodAutoscaler manifest (apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, spec: ...)"
            .to_owned(),
        [c] => match &c.node.value {
            Value::Map(m) => match field(m, "kind") {
                None => fail(&join(&c.base, "kind"), c.node.line, format!("missing; allowed: {KIND}")),
                Some(k) => fail(
                    &join(&c.base, "kind"),
                    k.line,
                    format!("{} is not a {KIND}; allowed: {KIND}", describe(&k.value)),
                ),
            },
            other => fail(
                &c.base,
                c.node.line,
                format!(
                    "expected a Kubernetes manifest (a mapping with apiVersion, kind: {KIND} and spec), got {}",
                    describe(other)
                ),
            ),
        },
        many => {
            let found: Vec<String> = many
                .iter()
                .take(MAX_LISTED)
                .map(|c| {
                    format!(
                        "{} in {}",
                        kind_of(c.node).map_or_else(|| "no kind".to_owned(), short),
                        c.label()
                    )
                })
                .collect();
            let more = if many.len() > MAX_LISTED {
                format!(" and {} more", many.len() - MAX_LISTED)
            } else {
                String::new()
            };
            format!(
                "kind: none of the {} manifests is a {KIND} (found {}{more}); allowed: {KIND}",
                many.len(),
                found.join(", ")
            )
        }
    }
}

fn kind_of(n: &Node) -> Option<&str> {
    match &n.value {
        Value::Map(m) => match field(m, "kind") {
            Some(Node {
                value: Value::Str { text, .. },
                ..
            }) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// `metadata.name` as " `name`" for a message, or an empty string.
fn name_of(n: &Node) -> String {
    let name = match &n.value {
        Value::Map(m) => match field(m, "metadata").map(|md| &md.value) {
            Some(Value::Map(md)) => match field(md, "name") {
                Some(Node {
                    value: Value::Str { text, .. },
                    ..
                }) => Some(text.as_str()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    name.map(|s| format!(" `{}`", short(s))).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The converted autoscaler and its TOML.

#[derive(Debug, Clone, Copy, PartialEq)]
struct Metric {
    metric: &'static str,
    target: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    Max,
    Min,
    Disabled,
}

impl Select {
    fn as_str(self) -> &'static str {
        match self {
            Select::Max => "Max",
            Select::Min => "Min",
            Select::Disabled => "Disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PolicyKind {
    Pods,
    Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Policy {
    kind: PolicyKind,
    value: i64,
    period: i64,
}

impl Policy {
    fn render(&self) -> String {
        let kind = match self.kind {
            PolicyKind::Pods => "Pods",
            PolicyKind::Percent => "Percent",
        };
        format!(
            "{{ type = \"{kind}\", value = {}, period = \"{}s\" }}",
            self.value, self.period
        )
    }
}

/// One direction of `spec.behavior` (`HPAScalingRules`).
#[derive(Debug, Clone, PartialEq)]
struct Rules {
    stabilization: i64,
    select: Select,
    policies: Vec<Policy>,
    tolerance: Option<f64>,
}

impl Rules {
    /// `defaults.go`: no stabilization; the larger of +100 % and +4 pods per 15 s.
    fn default_up() -> Rules {
        Rules {
            stabilization: 0,
            select: Select::Max,
            policies: vec![
                Policy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period: 15,
                },
                Policy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period: 15,
                },
            ],
            tolerance: None,
        }
    }

    /// `defaults.go` and the controller's 5 min
    /// `--horizontal-pod-autoscaler-downscale-stabilization`: up to 100 % per 15 s.
    fn default_down() -> Rules {
        Rules {
            stabilization: 300,
            select: Select::Max,
            policies: vec![Policy {
                kind: PolicyKind::Percent,
                value: 100,
                period: 15,
            }],
            tolerance: None,
        }
    }

    fn render(&self) -> String {
        let policies: Vec<String> = self.policies.iter().map(Policy::render).collect();
        format!(
            "{{ stabilization = \"{}s\", select = \"{}\", policies = [ {} ] }}",
            self.stabilization,
            self.select.as_str(),
            policies.join(", ")
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Hpa {
    name: String,
    api: String,
    min: i64,
    max: i64,
    metrics: Vec<Metric>,
    up: Rules,
    down: Rules,
    tolerance: f64,
}

impl Hpa {
    fn render(&self) -> String {
        let metrics: Vec<String> = self
            .metrics
            .iter()
            .map(|m| format!("{{ metric = \"{}\", target = {:?} }}", m.metric, m.target))
            .collect();
        // The name goes into a comment: keep it to the characters of a
        // Kubernetes name so nothing can end the comment.
        let name: String = self
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .take(253)
            .collect();
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" {name}")
        };
        format!(
            "# {KIND}{name} ({}), converted by `tenantsim import-hpa`\n\
             [autoscaler]\n\
             policy = \"hpa\"\n\
             min = {}\n\
             max = {}\n\
             interval = \"{SYNC_PERIOD}\"\n\
             tolerance = {:?}\n\
             metrics = [ {} ]\n\
             scale_up = {}\n\
             scale_down = {}\n",
            self.api,
            self.min,
            self.max,
            self.tolerance,
            metrics.join(", "),
            self.up.render(),
            self.down.render()
        )
    }
}

// ---------------------------------------------------------------------------
// Conversion.

type Entries = [(String, Node)];

/// `path (line N)`, where an error or a note points.
fn at(path: &str, line: usize) -> String {
    let path = if path.is_empty() { "(document root)" } else { path };
    format!("{path} (line {})", line + 1)
}

fn fail(path: &str, line: usize, msg: impl fmt::Display) -> String {
    format!("{}: {msg}", at(path, line))
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

/// A field of a mapping; an explicit `null` counts as absent, as in the API.
fn field<'a>(m: &'a Entries, key: &str) -> Option<&'a Node> {
    m.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .filter(|v| v.value != Value::Null)
}

fn required<'a>(m: &'a Entries, parent: &Node, path: &str, key: &str, allowed: &str) -> Result<&'a Node, String> {
    field(m, key).ok_or_else(|| fail(&join(path, key), parent.line, format!("missing; required: {allowed}")))
}

fn check_keys(m: &Entries, path: &str, allowed: &[&str]) -> Result<(), String> {
    match m.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, v)) => Err(fail(
            &join(path, &short(k)),
            v.line,
            format!("unknown field; allowed here: {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// At most 60 characters of `s`, escaped for a one-line message.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect::<String>().escape_debug().collect();
    if s.chars().nth(60).is_some() {
        out.push('…');
    }
    out
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_owned(),
        Value::Str { text, plain: true } => format!("`{}`", short(text)),
        Value::Str { text, plain: false } => format!("the string \"{}\"", short(text)),
        Value::Seq(_) => "a list".to_owned(),
        Value::Map(_) => "a mapping".to_owned(),
    }
}

fn map_of<'a>(n: &'a Node, path: &str) -> Result<&'a Entries, String> {
    match &n.value {
        Value::Map(m) => Ok(m),
        other => Err(fail(
            path,
            n.line,
            format!("must be a mapping of fields, got {}", describe(other)),
        )),
    }
}

fn seq_of<'a>(n: &'a Node, path: &str) -> Result<&'a [Node], String> {
    match &n.value {
        Value::Seq(s) => Ok(s),
        other => Err(fail(
            path,
            n.line,
            format!("must be a list of `- ` items, got {}", describe(other)),
        )),
    }
}

fn text<'a>(n: &'a Node, path: &str) -> Result<&'a str, String> {
    match &n.value {
        Value::Str { text, .. } => Ok(text),
        other => Err(fail(path, n.line, format!("must be a string, got {}", describe(other)))),
    }
}

/// An integer field (an unquoted YAML integer, as the API's JSON number) within `lo..=hi`.
fn int(n: &Node, path: &str, lo: i64, hi: i64, allowed: &str) -> Result<i64, String> {
    match &n.value {
        Value::Str { text, plain: true } => match text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            Ok(v) => Err(fail(path, n.line, format!("{v} is out of range; allowed: {allowed}"))),
            Err(_) => Err(fail(
                path,
                n.line,
                format!("`{}` is not a whole number; allowed: {allowed}", short(text)),
            )),
        },
        other => Err(fail(
            path,
            n.line,
            format!("must be {allowed}, got {}", describe(other)),
        )),
    }
}

/// A positive Kubernetes quantity field (a number or a string such as "500m").
fn quantity(n: &Node, path: &str) -> Result<f64, String> {
    let Value::Str { text, .. } = &n.value else {
        return Err(fail(
            path,
            n.line,
            format!(
                "must be a quantity such as \"100\" or \"500m\", got {}",
                describe(&n.value)
            ),
        ));
    };
    match parse_quantity(text) {
        Some(v) if v > 0.0 => Ok(v),
        Some(_) => Err(fail(path, n.line, format!("`{}`: must be positive", short(text)))),
        None => Err(fail(
            path,
            n.line,
            format!(
                "`{}` is not a Kubernetes quantity; allowed: a number with an optional suffix \
                 (n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent), e.g. \"100\", \"500m\", \"1k\", \"2Ki\", \"1e3\"",
                short(text)
            ),
        )),
    }
}

/// A Kubernetes `resource.Quantity` as a number: `<sign><digits>[.<digits>]<suffix>`,
/// the suffix binary (`Ki`…`Ei`), decimal (`n`, `u`, `m`, none, `k`, `M`…`E`)
/// or an exponent (`e3`, `E-2`). None if `s` is not one (or is not finite).
fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    let number: f64 = s.get(..i)?.parse().ok()?;
    let (times, divide) = match s.get(i..)? {
        "" => (1.0, false),
        "n" => (1e9, true),
        "u" => (1e6, true),
        "m" => (1e3, true),
        "k" => (1e3, false),
        "M" => (1e6, false),
        "G" => (1e9, false),
        "T" => (1e12, false),
        "P" => (1e15, false),
        "E" => (1e18, false),
        "Ki" => (1024.0, false),
        "Mi" => (1024f64.powi(2), false),
        "Gi" => (1024f64.powi(3), false),
        "Ti" => (1024f64.powi(4), false),
        "Pi" => (1024f64.powi(5), false),
        "Ei" => (1024f64.powi(6), false),
        suffix => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let unsigned = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let e: i32 = exp.parse().ok()?;
            (10f64.powi(e.checked_abs()?), e < 0)
        }
    };
    let v = if divide { number / times } else { number * times };
    v.is_finite().then_some(v)
}

fn convert(root: &Node, base: &str, notes: &mut Vec<String>) -> Result<Hpa, String> {
    let doc = map_of(root, base)?;
    check_keys(doc, base, &["apiVersion", "kind", "metadata", "spec", "status"])?;
    let api_path = join(base, "apiVersion");
    let api_node = required(doc, root, base, "apiVersion", "autoscaling/v2")?;
    let api = text(api_node, &api_path)?;
    let v1 = match api {
        "autoscaling/v2" => false,
        "autoscaling/v2beta2" => {
            notes.push(format!(
                "{}: autoscaling/v2beta2 (removed in Kubernetes 1.26) read as autoscaling/v2, which has the same fields",
                at(&api_path, api_node.line)
            ));
            false
        }
        "autoscaling/v1" => {
            notes.push(format!(
                "{}: autoscaling/v1 read as one cpu metric (targetCPUUtilizationPercentage); it has no behavior field",
                at(&api_path, api_node.line)
            ));
            true
        }
        "autoscaling/v2beta1" => {
            return Err(fail(
                &api_path,
                api_node.line,
                "`autoscaling/v2beta1` (removed in Kubernetes 1.25) names its metric fields differently and is not read; \
                 allowed: autoscaling/v2, autoscaling/v2beta2, autoscaling/v1 (`kubectl get hpa NAME -o yaml` prints autoscaling/v2)",
            ))
        }
        other => {
            return Err(fail(
                &api_path,
                api_node.line,
                format!(
                    "`{}` is not an API version of {KIND}; allowed: autoscaling/v2, autoscaling/v2beta2, autoscaling/v1",
                    short(other)
                ),
            ))
        }
    };
    let spec_path = join(base, "spec");
    let spec_node = required(
        doc,
        root,
        base,
        "spec",
        "the autoscaler's spec (minReplicas, maxReplicas, metrics, behavior)",
    )?;
    let spec = map_of(spec_node, &spec_path)?;
    check_keys(spec, &spec_path, if v1 { V1_SPEC } else { V2_SPEC })?;
    let (min, max) = replicas(spec, spec_node, &spec_path, notes)?;
    let metrics = if v1 {
        v1_metric(spec, spec_node, &spec_path, notes)?
    } else {
        metrics(spec, spec_node, &spec_path, notes)?
    };
    let (up, down) = if v1 {
        default_behavior_note(&spec_path, spec_node.line, notes);
        (Rules::default_up(), Rules::default_down())
    } else {
        behavior(spec, spec_node, &spec_path, notes)?
    };
    let tolerance = match (up.tolerance, down.tolerance) {
        (None, None) => {
            notes.push(format!(
                "tolerance = {TOLERANCE} is kube-controller-manager's default (--horizontal-pod-autoscaler-tolerance); \
                 change it if your cluster sets another"
            ));
            TOLERANCE
        }
        (Some(a), Some(b)) if a.to_bits() == b.to_bits() => a,
        (a, b) => {
            let (a, b) = (a.unwrap_or(TOLERANCE), b.unwrap_or(TOLERANCE));
            let t = a.min(b);
            notes.push(format!(
                "{}: scale-up tolerance {a:?} and scale-down tolerance {b:?} differ; the simulator has one tolerance \
                 for both directions, and uses the smaller, {t:?}",
                join(&spec_path, "behavior")
            ));
            t
        }
    };
    notes.push(format!(
        "interval = \"{SYNC_PERIOD}\" is kube-controller-manager's default (--horizontal-pod-autoscaler-sync-period); \
         change it if your cluster sets another"
    ));
    if let Some(r) = field(spec, "scaleTargetRef") {
        let target = match &r.value {
            Value::Map(m) => {
                let get = |k: &str| {
                    field(m, k)
                        .and_then(|n| text(n, "").ok())
                        .map(short)
                        .unwrap_or_else(|| "?".to_owned())
                };
                format!(": {} `{}`", get("kind"), get("name"))
            }
            _ => String::new(),
        };
        notes.push(format!(
            "{}{target} not converted: the scenario's instances are what scales",
            at(&join(&spec_path, "scaleTargetRef"), r.line)
        ));
    }
    let name = match field(doc, "metadata").map(|m| &m.value) {
        Some(Value::Map(m)) => field(m, "name")
            .and_then(|n| text(n, "").ok())
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    };
    Ok(Hpa {
        name,
        api: api.to_owned(),
        min,
        max,
        metrics,
        up,
        down,
        tolerance,
    })
}

fn replicas(spec: &Entries, node: &Node, path: &str, notes: &mut Vec<String>) -> Result<(i64, i64), String> {
    let min_path = join(path, "minReplicas");
    let min = match field(spec, "minReplicas") {
        None => {
            notes.push(format!("{}: not set: Kubernetes' default, 1", at(&min_path, node.line)));
            1
        }
        Some(n) => {
            let v = int(
                n,
                &min_path,
                0,
                INT32_MAX,
                "a whole number ≥ 1 (0 only with the HPAScaleToZero feature gate)",
            )?;
            if v == 0 {
                notes.push(format!(
                    "{}: 0 needs Kubernetes' alpha feature gate HPAScaleToZero (and an Object or External metric); \
                     the simulator scales to zero as written",
                    at(&min_path, n.line)
                ));
            }
            v
        }
    };
    let max_path = join(path, "maxReplicas");
    let allowed = format!("a whole number ≥ 1 and ≥ minReplicas ({min})");
    let max_node = field(spec, "maxReplicas")
        .ok_or_else(|| fail(&max_path, node.line, format!("missing; required: {allowed}")))?;
    let max = int(max_node, &max_path, 1, INT32_MAX, &allowed)?;
    if max < min {
        return Err(fail(
            &max_path,
            max_node.line,
            format!("{max} is below minReplicas ({min}); allowed: {allowed}"),
        ));
    }
    if max > MAX_INSTANCES {
        return Err(fail(
            &max_path,
            max_node.line,
            format!("{max}: the simulator runs at most {MAX_INSTANCES} instances; allowed: {allowed}, at most {MAX_INSTANCES}"),
        ));
    }
    Ok((min, max))
}

fn v1_metric(spec: &Entries, spec_node: &Node, path: &str, notes: &mut Vec<String>) -> Result<Vec<Metric>, String> {
    let p = join(path, "targetCPUUtilizationPercentage");
    let percent = match field(spec, "targetCPUUtilizationPercentage") {
        Some(n) => int(n, &p, 1, INT32_MAX, "a whole percentage ≥ 1")?,
        None => {
            notes.push(format!(
                "{}: not set: Kubernetes' default, 80 % average CPU utilization",
                at(&p, spec_node.line)
            ));
            80
        }
    };
    Ok(vec![Metric {
        metric: "cpu",
        target: percent as f64 / 100.0,
    }])
}

fn metrics(spec: &Entries, spec_node: &Node, spec_path: &str, notes: &mut Vec<String>) -> Result<Vec<Metric>, String> {
    let path = join(spec_path, "metrics");
    let items = match field(spec, "metrics") {
        Some(n) => seq_of(n, &path)?,
        None => &[],
    };
    if items.is_empty() {
        notes.push(format!(
            "{}: not set: Kubernetes' default, 80 % average CPU utilization",
            at(&path, spec_node.line)
        ));
        return Ok(vec![Metric {
            metric: "cpu",
            target: 0.8,
        }]);
    }
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, m) in items.iter().enumerate() {
        match metric(m, &format!("{path}[{i}]"), notes)? {
            Ok(metric) => out.push(metric),
            Err(why) => skipped.push(why),
        }
    }
    if out.is_empty() {
        let line = field(spec, "metrics").map_or(spec_node.line, |n| n.line);
        return Err(fail(
            &path,
            line,
            format!(
                "no metric the simulator can model ({SIMULATED}); skipped: {}",
                skipped.join("; ")
            ),
        ));
    }
    notes.extend(skipped);
    Ok(out)
}

/// One `spec.metrics` item: Ok(Ok(metric)), Ok(Err(why it is skipped)), or an error.
fn metric(m: &Node, path: &str, notes: &mut Vec<String>) -> Result<Result<Metric, String>, String> {
    const TYPES: &str = "Resource, ContainerResource, Pods, Object, External";
    let e = map_of(m, path)?;
    let type_path = join(path, "type");
    let ty = text(required(e, m, path, "type", TYPES)?, &type_path)?;
    let key = match ty {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        "External" => "external",
        other => {
            let line = field(e, "type").map_or(m.line, |n| n.line);
            return Err(fail(
                &type_path,
                line,
                format!("`{}` is not a metric source type; allowed: {TYPES}", short(other)),
            ));
        }
    };
    check_keys(e, path, &["type", key])?;
    let src_path = join(path, key);
    let src_node = required(e, m, path, key, &format!("the {ty} metric source"))?;
    let src = map_of(src_node, &src_path)?;
    match ty {
        "Resource" | "ContainerResource" => resource(src, src_node, &src_path, ty == "ContainerResource", notes),
        "External" => {
            let name = match field(src, "metric").map(|n| &n.value) {
                Some(Value::Map(mm)) => field(mm, "name").and_then(|n| text(n, "").ok()).map(short),
                _ => None,
            };
            Ok(Err(format!(
                "{}: External metric `{}` skipped: the simulator cannot model metrics from outside the cluster",
                at(path, m.line),
                name.unwrap_or_else(|| "(unnamed)".to_owned())
            )))
        }
        _ => custom(src, src_node, &src_path, ty == "Object", notes),
    }
}

fn target_of<'a>(src: &'a Entries, src_node: &Node, src_path: &str) -> Result<(&'a Entries, &'a Node, String), String> {
    let path = join(src_path, "target");
    let node = required(
        src,
        src_node,
        src_path,
        "target",
        "a target (type and averageUtilization, averageValue or value)",
    )?;
    let t = map_of(node, &path)?;
    check_keys(t, &path, &["type", "averageUtilization", "averageValue", "value"])?;
    Ok((t, node, path))
}

fn resource(
    src: &Entries,
    src_node: &Node,
    path: &str,
    container: bool,
    notes: &mut Vec<String>,
) -> Result<Result<Metric, String>, String> {
    let keys: &[&str] = if container {
        &["name", "container", "target"]
    } else {
        &["name", "target"]
    };
    check_keys(src, path, keys)?;
    let name = text(
        required(src, src_node, path, "name", "cpu or memory")?,
        &join(path, "name"),
    )?;
    let (t, t_node, t_path) = target_of(src, src_node, path)?;
    let metric = match name {
        "cpu" => "cpu",
        "memory" => "memory",
        other => {
            return Ok(Err(format!(
                "{}: resource `{}` skipped: the simulator models only cpu and memory",
                at(path, src_node.line),
                short(other)
            )))
        }
    };
    let ty_path = join(&t_path, "type");
    let ty_node = required(t, t_node, &t_path, "type", "Utilization")?;
    match text(ty_node, &ty_path)? {
        "Utilization" => {}
        "AverageValue" => {
            return Err(fail(
                &ty_path,
                ty_node.line,
                format!(
                    "`AverageValue` for {name} is an absolute amount per pod, and the simulator's target is a \
                     utilization: converting needs the pods' {name} requests, which the manifest does not have; \
                     allowed: Utilization with averageUtilization (a percentage of the requests), or divide the \
                     averageValue by the request yourself and write the [autoscaler] metric by hand"
                ),
            ))
        }
        other => {
            return Err(fail(
                &ty_path,
                ty_node.line,
                format!(
                    "`{}` is not allowed for a {name} metric; allowed: Utilization",
                    short(other)
                ),
            ))
        }
    }
    let u_path = join(&t_path, "averageUtilization");
    let u_node = required(
        t,
        t_node,
        &t_path,
        "averageUtilization",
        "a whole percentage ≥ 1 of the pods' requests",
    )?;
    let percent = int(
        u_node,
        &u_path,
        1,
        INT32_MAX,
        "a whole percentage ≥ 1 of the pods' requests",
    )?;
    if container {
        let c = field(src, "container")
            .and_then(|n| text(n, "").ok())
            .map(short)
            .unwrap_or_default();
        notes.push(format!(
            "{}: container `{c}`'s {name} utilization read as the whole instance's",
            at(path, src_node.line)
        ));
    }
    Ok(Ok(Metric {
        metric,
        target: percent as f64 / 100.0,
    }))
}

/// What the simulator makes of a custom metric's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Rps,
    Queue,
    /// A p95 latency; `millis` when the name says its unit is milliseconds.
    LatencyP95 {
        millis: bool,
    },
    OtherLatency,
    Unknown,
}

fn classify(name: &str) -> Class {
    let norm: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let tokens: Vec<&str> = norm.split('_').filter(|t| !t.is_empty()).collect();
    let has = |s: &str| norm.contains(s);
    let token = |s: &str| tokens.contains(&s);
    if has("latency") || has("duration") || has("response_time") {
        if has("p95") || has("95th") || token("95") || has("percentile95") {
            return Class::LatencyP95 {
                millis: token("ms") || has("millisecond"),
            };
        }
        return Class::OtherLatency;
    }
    if token("rps") || token("qps") || (has("request") && has("second")) {
        Class::Rps
    } else if has("queue") || has("backlog") {
        Class::Queue
    } else {
        Class::Unknown
    }
}

/// A `Pods` or `Object` metric.
fn custom(
    src: &Entries,
    src_node: &Node,
    path: &str,
    object: bool,
    notes: &mut Vec<String>,
) -> Result<Result<Metric, String>, String> {
    let keys: &[&str] = if object {
        &["describedObject", "metric", "target"]
    } else {
        &["metric", "target"]
    };
    check_keys(src, path, keys)?;
    let m_path = join(path, "metric");
    let m_node = required(
        src,
        src_node,
        path,
        "metric",
        "the metric's name (and optionally a selector)",
    )?;
    let m = map_of(m_node, &m_path)?;
    check_keys(m, &m_path, &["name", "selector"])?;
    let name = text(
        required(m, m_node, &m_path, "name", "the metric's name")?,
        &join(&m_path, "name"),
    )?;
    let (t, t_node, t_path) = target_of(src, src_node, path)?;
    let ty_path = join(&t_path, "type");
    let allowed = if object { "Value, AverageValue" } else { "AverageValue" };
    let ty_node = required(t, t_node, &t_path, "type", allowed)?;
    let ty = text(ty_node, &ty_path)?;
    let value_key = match (object, ty) {
        (_, "AverageValue") => "averageValue",
        (true, "Value") => "value",
        (_, other) => {
            let kind = if object { "Object" } else { "Pods" };
            return Err(fail(
                &ty_path,
                ty_node.line,
                format!(
                    "`{}` is not allowed for {kind} metrics; allowed: {allowed}",
                    short(other)
                ),
            ));
        }
    };
    let v_path = join(&t_path, value_key);
    let value = quantity(
        required(
            t,
            t_node,
            &t_path,
            value_key,
            "a positive quantity such as \"100\" or \"500m\"",
        )?,
        &v_path,
    )?;
    let kind = if object { "Object" } else { "Pods" };
    let (metric, target) = match classify(name) {
        Class::Rps => ("rps", value),
        Class::Queue => ("queue", value),
        Class::LatencyP95 { millis: false } => ("latency_p95", value),
        Class::LatencyP95 { millis: true } => {
            notes.push(format!(
                "{}: `{}` is in milliseconds by its name: target {value:?} ms written as {:?} s",
                at(path, src_node.line),
                short(name),
                value / 1000.0
            ));
            ("latency_p95", value / 1000.0)
        }
        Class::OtherLatency => {
            return Ok(Err(format!(
                "{}: {kind} metric `{}` skipped: the simulator models only the 95th percentile latency",
                at(path, src_node.line),
                short(name)
            )))
        }
        Class::Unknown => {
            return Ok(Err(format!(
                "{}: {kind} metric `{}` skipped: the simulator cannot model it (its name reads as none of requests per second, queue, p95 latency)",
                at(path, src_node.line),
                short(name)
            )))
        }
    };
    notes.push(format!(
        "{}: {kind} metric `{}` read as the simulator's `{metric}` (per instance)",
        at(path, src_node.line),
        short(name)
    ));
    if field(m, "selector").is_some() {
        notes.push(format!(
            "{}: selector dropped (the simulator has one series per metric)",
            at(&m_path, m_node.line)
        ));
    }
    if object && value_key == "value" {
        notes.push(format!(
            "{}: an Object metric's `Value` target compares the object's total (desired = current × value / target), \
             the simulator compares the per-instance `{metric}` with it; check the target",
            at(&t_path, t_node.line)
        ));
    }
    Ok(Ok(Metric { metric, target }))
}

fn default_behavior_note(spec_path: &str, line: usize, notes: &mut Vec<String>) {
    notes.push(format!(
        "{}: not set: Kubernetes' default behavior used (scale up: no stabilization, the larger of +100 % and +4 pods \
         per 15 s; scale down: 300 s stabilization, up to 100 % per 15 s), which approximates the controller's \
         legacy path for an HPA without behavior",
        at(&join(spec_path, "behavior"), line)
    ));
}

fn behavior(
    spec: &Entries,
    spec_node: &Node,
    spec_path: &str,
    notes: &mut Vec<String>,
) -> Result<(Rules, Rules), String> {
    let path = join(spec_path, "behavior");
    let Some(b) = field(spec, "behavior") else {
        default_behavior_note(spec_path, spec_node.line, notes);
        return Ok((Rules::default_up(), Rules::default_down()));
    };
    let m = map_of(b, &path)?;
    check_keys(m, &path, &["scaleUp", "scaleDown"])?;
    let up = rules(m, b, &path, "scaleUp", Rules::default_up(), notes)?;
    let down = rules(m, b, &path, "scaleDown", Rules::default_down(), notes)?;
    Ok((up, down))
}

fn rules(
    m: &Entries,
    parent: &Node,
    path: &str,
    side: &str,
    default: Rules,
    notes: &mut Vec<String>,
) -> Result<Rules, String> {
    let p = join(path, side);
    let Some(n) = field(m, side) else {
        notes.push(format!(
            "{}: not set: Kubernetes' default used: {}",
            at(&p, parent.line),
            default.render()
        ));
        return Ok(default);
    };
    let r = map_of(n, &p)?;
    check_keys(
        r,
        &p,
        &["stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"],
    )?;
    let mut defaulted = Vec::new();
    let stabilization = match field(r, "stabilizationWindowSeconds") {
        Some(v) => int(
            v,
            &join(&p, "stabilizationWindowSeconds"),
            0,
            3600,
            "a whole number of seconds from 0 to 3600",
        )?,
        None => {
            defaulted.push(format!("stabilizationWindowSeconds ({}s)", default.stabilization));
            default.stabilization
        }
    };
    let select = match field(r, "selectPolicy") {
        Some(v) => {
            let sp = join(&p, "selectPolicy");
            match text(v, &sp)? {
                "Max" => Select::Max,
                "Min" => Select::Min,
                "Disabled" => Select::Disabled,
                other => {
                    return Err(fail(
                        &sp,
                        v.line,
                        format!("`{}` is not a select policy; allowed: Max, Min, Disabled", short(other)),
                    ))
                }
            }
        }
        None => {
            defaulted.push(format!("selectPolicy ({})", default.select.as_str()));
            default.select
        }
    };
    let policies = match field(r, "policies") {
        Some(v) => policies(v, &join(&p, "policies"))?,
        None => {
            let shown: Vec<String> = default.policies.iter().map(Policy::render).collect();
            defaulted.push(format!("policies ({})", shown.join(", ")));
            default.policies
        }
    };
    let tolerance = match field(r, "tolerance") {
        Some(v) => {
            let tp = join(&p, "tolerance");
            let t = match &v.value {
                Value::Str { text, .. } => parse_quantity(text),
                _ => None,
            };
            match t {
                Some(t) if (0.0..1.0).contains(&t) => Some(t),
                _ => {
                    return Err(fail(
                        &tp,
                        v.line,
                        format!(
                            "{}: allowed: a quantity from 0 to below 1, e.g. 0.05 or \"50m\"",
                            describe(&v.value)
                        ),
                    ))
                }
            }
        }
        None => None,
    };
    if !defaulted.is_empty() {
        notes.push(format!(
            "{}: not set, Kubernetes' defaults used: {}",
            at(&p, n.line),
            defaulted.join(", ")
        ));
    }
    Ok(Rules {
        stabilization,
        select,
        policies,
        tolerance,
    })
}

fn policies(n: &Node, path: &str) -> Result<Vec<Policy>, String> {
    const ONE: &str = "{ type: Pods or Percent, value: a whole number ≥ 1, periodSeconds: 1 to 1800 }";
    let items = seq_of(n, path)?;
    if items.is_empty() {
        return Err(fail(
            path,
            n.line,
            format!("must list at least one policy (Kubernetes rejects an empty list); allowed: - {ONE}"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let e = map_of(item, &ip)?;
        check_keys(e, &ip, &["type", "value", "periodSeconds"])?;
        let tp = join(&ip, "type");
        let t_node = required(e, item, &ip, "type", "Pods or Percent")?;
        let kind = match text(t_node, &tp)? {
            "Pods" => PolicyKind::Pods,
            "Percent" => PolicyKind::Percent,
            other => {
                return Err(fail(
                    &tp,
                    t_node.line,
                    format!("`{}` is not a policy type; allowed: Pods, Percent", short(other)),
                ))
            }
        };
        let allowed = "a whole number ≥ 1";
        let value = int(
            required(e, item, &ip, "value", allowed)?,
            &join(&ip, "value"),
            1,
            INT32_MAX,
            allowed,
        )?;
        let allowed = "a whole number of seconds from 1 to 1800";
        let period = int(
            required(e, item, &ip, "periodSeconds", allowed)?,
            &join(&ip, "periodSeconds"),
            1,
            1800,
            allowed,
        )?;
        out.push(Policy { kind, value, period });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------

/// The YAML subset of Kubernetes manifests, parsed into a tree of strings.
mod yaml {
    use std::collections::HashSet;
    use std::fmt;

    /// The largest input read, in bytes.
    pub const MAX_INPUT: usize = 1 << 20;
    /// The deepest nesting of collections read.
    pub const MAX_DEPTH: usize = 64;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        /// A scalar; `plain` when it was not quoted (numbers are plain).
        Str {
            text: String,
            plain: bool,
        },
        Seq(Vec<Node>),
        /// Entries in the order written; keys are unique.
        Map(Vec<(String, Node)>),
    }

    #[derive(Debug, Clone, PartialEq)]
    pub struct Node {
        pub value: Value,
        /// 0-based line of the node, or of its key in a mapping.
        pub line: usize,
    }

    impl Node {
        fn new(value: Value, line: usize) -> Node {
            Node { value, line }
        }
    }

    /// Parse every document of `src`. Empty documents between explicit `---`
    /// markers are kept as `Null`.
    pub fn parse_stream(src: &str) -> Result<Vec<Node>, String> {
        if src.len() > MAX_INPUT {
            return Err(format!(
                "(document root): the input is {} bytes; allowed: at most {MAX_INPUT} bytes (a manifest is far smaller)",
                src.len()
            ));
        }
        if let Some((line, c)) = first_unprintable(src) {
            return Err(format!(
                "YAML syntax error at line {}: the character U+{:04X} is not allowed in YAML (is this a binary file?)",
                line + 1,
                u32::from(c)
            ));
        }
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        let mut p = Parser {
            lines: src.lines().collect(),
            line: 0,
            col: 0,
            path: Vec::new(),
        };
        let mut docs = Vec::new();
        loop {
            p.skip_blank()?;
            if p.eof() {
                break;
            }
            let l = p.line_str(p.line);
            let mut explicit = false;
            if p.at_marker() {
                if l.starts_with("...") {
                    p.next_line();
                    continue;
                }
                explicit = true;
                let after = l.get(3..).unwrap_or("");
                if is_blank_or_comment(after) {
                    p.next_line();
                } else {
                    p.col = 3 + leading_ws(after);
                }
            } else if l.starts_with('%') {
                p.next_line(); // a directive such as %YAML 1.2
                continue;
            }
            let node = p.node(0, 0, Ctx::Block)?;
            p.skip_blank()?;
            if !p.eof() && !p.at_marker() {
                return Err(p.err("unexpected content after the document's top-level node: check the indentation"));
            }
            if explicit || node.value != Value::Null {
                docs.push(node);
            }
        }
        Ok(docs)
    }

    fn first_unprintable(src: &str) -> Option<(usize, char)> {
        let mut line = 0;
        for c in src.chars() {
            if c == '\n' {
                line += 1;
            } else if !matches!(c,
                '\t' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
            {
                return Some((line, c));
            }
        }
        None
    }

    fn trim_ws(s: &str) -> &str {
        s.trim_start_matches([' ', '\t'])
    }

    fn trim_end_ws(s: &str) -> &str {
        s.trim_end_matches([' ', '\t'])
    }

    fn leading_ws(s: &str) -> usize {
        s.len() - trim_ws(s).len()
    }

    /// Whether `s`, the rest of a line after a token, is empty or a comment
    /// (a `#` needs white space before it).
    fn is_blank_or_comment(s: &str) -> bool {
        let t = trim_ws(s);
        t.is_empty() || (t.starts_with('#') && t.len() < s.len())
    }

    /// A `---` or `...` document marker line.
    fn is_marker(l: &str) -> bool {
        (l.starts_with("---") || l.starts_with("...")) && matches!(l.as_bytes().get(3), None | Some(b' ' | b'\t'))
    }

    fn is_seq_item(t: &str) -> bool {
        t == "-" || t.starts_with("- ") || t.starts_with("-\t")
    }

    /// `s` up to a comment, without trailing white space, and whether a comment followed.
    fn plain_line(s: &str) -> (&str, bool) {
        let b = s.as_bytes();
        for i in 1..b.len() {
            if b.get(i) == Some(&b'#') && matches!(b.get(i - 1), Some(b' ' | b'\t')) {
                return (trim_end_ws(s.get(..i).unwrap_or(s)), true);
            }
        }
        (trim_end_ws(s), false)
    }

    /// Whether a plain scalar holds `: ` (or ends with `:`), which would make it a key.
    fn has_map_indicator(s: &str) -> bool {
        let b = s.as_bytes();
        b.iter()
            .enumerate()
            .any(|(i, &c)| c == b':' && matches!(b.get(i + 1), None | Some(b' ' | b'\t')))
    }

    fn plain_value(s: String) -> Value {
        match s.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => Value::Null,
            _ => Value::Str { text: s, plain: true },
        }
    }

    fn short(s: &str) -> String {
        let mut out: String = s.chars().take(40).collect::<String>().escape_debug().collect();
        if s.chars().nth(40).is_some() {
            out.push('…');
        }
        out
    }

    /// The mapping key that starts `t`, and the byte offset just past its
    /// `:`; None if `t` is no `key:`.
    fn map_key(t: &str) -> Result<Option<(String, usize)>, String> {
        let b = t.as_bytes();
        match b.first() {
            Some(&q @ (b'"' | b'\'')) => {
                let body = t.get(1..).unwrap_or("");
                let mut key = String::new();
                let mut keep = 0;
                let QuoteEnd::Closed(end) = scan_quoted(body, q == b'"', &mut key, &mut keep)? else {
                    return Ok(None);
                };
                let after = body.get(end..).unwrap_or("");
                let ws = leading_ws(after);
                let a = after.get(ws..).unwrap_or("");
                if a.starts_with(':') && matches!(a.as_bytes().get(1), None | Some(b' ' | b'\t')) {
                    Ok(Some((key, 1 + end + ws + 1)))
                } else {
                    Ok(None)
                }
            }
            None
            | Some(b'[' | b'{' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'#' | b',' | b']' | b'}') => {
                Ok(None)
            }
            Some(b'?') if matches!(b.get(1), None | Some(b' ' | b'\t')) => {
                Err("complex keys (`? key`) are not supported".to_owned())
            }
            Some(_) => {
                for (i, &c) in b.iter().enumerate() {
                    if c == b'#' && i > 0 && matches!(b.get(i - 1), Some(b' ' | b'\t')) {
                        return Ok(None);
                    }
                    if c == b':' && matches!(b.get(i + 1), None | Some(b' ' | b'\t')) {
                        let key = trim_end_ws(t.get(..i).unwrap_or(""));
                        return Ok(Some((key.to_owned(), i + 1)));
                    }
                }
                Ok(None)
            }
        }
    }

    enum QuoteEnd {
        /// Closed; the byte offset just past the closing quote.
        Closed(usize),
        /// The line ended first; `escaped_break` when it ended with `\`.
        Eol { escaped_break: bool },
    }

    /// Scan a quoted scalar's text on one line (after the opening quote),
    /// appending to `out`; `keep` is the length of `out` without trailing
    /// unescaped white space (dropped where the line folds).
    fn scan_quoted(s: &str, double: bool, out: &mut String, keep: &mut usize) -> Result<QuoteEnd, String> {
        let mut it = s.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            match c {
                '"' if double => return Ok(QuoteEnd::Closed(i + 1)),
                '\'' if !double => {
                    if matches!(it.peek(), Some((_, '\''))) {
                        it.next();
                        out.push('\'');
                        *keep = out.len();
                    } else {
                        return Ok(QuoteEnd::Closed(i + 1));
                    }
                }
                '\\' if double => {
                    let Some((_, e)) = it.next() else {
                        return Ok(QuoteEnd::Eol { escaped_break: true });
                    };
                    let ch = match e {
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        't' | '\t' => '\t',
                        'n' => '\n',
                        'v' => '\u{b}',
                        'f' => '\u{c}',
                        'r' => '\r',
                        'e' => '\u{1b}',
                        ' ' => ' ',
                        '"' => '"',
                        '/' => '/',
                        '\\' => '\\',
                        'N' => '\u{85}',
                        '_' => '\u{a0}',
                        'L' => '\u{2028}',
                        'P' => '\u{2029}',
                        'x' | 'u' | 'U' => {
                            let digits = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let mut v: u32 = 0;
                            for _ in 0..digits {
                                let d = it
                                    .next()
                                    .and_then(|(_, h)| h.to_digit(16))
                                    .ok_or_else(|| format!("`\\{e}` needs {digits} hexadecimal digits"))?;
                                v = (v << 4) | d;
                            }
                            char::from_u32(v).ok_or_else(|| format!("`\\{e}{v:X}` is not a Unicode character"))?
                        }
                        other => {
                            return Err(format!(
                                "`\\{}` is not a YAML escape; allowed: \\\\ \\\" \\/ \\0 \\a \\b \\t \\n \\v \\f \\r \\e \\N \\_ \\L \\P \\xXX \\uXXXX \\UXXXXXXXX",
                                other.escape_debug()
                            ))
                        }
                    };
                    out.push(ch);
                    *keep = out.len();
                }
                ' ' | '\t' => out.push(c),
                _ => {
                    out.push(c);
                    *keep = out.len();
                }
            }
        }
        Ok(QuoteEnd::Eol { escaped_break: false })
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Ctx {
        /// A node on a line of its own, or after `- `.
        Block,
        /// A node after `key: ` on the same line: no nested `key:` or `- `.
        AfterKey,
    }

    enum Chomp {
        Strip,
        Clip,
        Keep,
    }

    enum Seg {
        Key(String),
        Index(usize),
    }

    /// A cursor over the input's lines. `col` is a byte offset into the
    /// current line, always at a character boundary.
    struct Parser<'a> {
        lines: Vec<&'a str>,
        line: usize,
        col: usize,
        /// Where the parser is, for error messages.
        path: Vec<Seg>,
    }

    impl<'a> Parser<'a> {
        fn line_str(&self, i: usize) -> &'a str {
            self.lines.get(i).copied().unwrap_or("")
        }

        fn rest(&self) -> &'a str {
            self.line_str(self.line).get(self.col..).unwrap_or("")
        }

        fn peek(&self) -> Option<u8> {
            self.rest().as_bytes().first().copied()
        }

        fn eof(&self) -> bool {
            self.line >= self.lines.len()
        }

        fn at_marker(&self) -> bool {
            self.col == 0 && is_marker(self.line_str(self.line))
        }

        fn next_line(&mut self) {
            self.line += 1;
            self.col = 0;
        }

        fn err(&self, msg: impl fmt::Display) -> String {
            self.err_at(self.line, msg)
        }

        fn err_at(&self, line: usize, msg: impl fmt::Display) -> String {
            let mut path = String::new();
            for seg in &self.path {
                match seg {
                    Seg::Key(k) => {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                    }
                    Seg::Index(i) => path.push_str(&format!("[{i}]")),
                }
            }
            if path.is_empty() {
                format!("YAML syntax error at line {}: {msg}", line + 1)
            } else {
                format!("YAML syntax error at line {} (in `{path}`): {msg}", line + 1)
            }
        }

        /// Move to the next piece of content: past blank and comment lines,
        /// stopping at a document marker.
        fn skip_blank(&mut self) -> Result<(), String> {
            while !self.eof() && !self.at_marker() {
                let r = self.rest();
                let t = trim_ws(r);
                if t.is_empty() || t.starts_with('#') {
                    self.next_line();
                    continue;
                }
                if self.col == 0 && r.get(..r.len() - t.len()).is_some_and(|lead| lead.contains('\t')) {
                    return Err(self.err("a tab indents this line; YAML indents with spaces only"));
                }
                break;
            }
            Ok(())
        }

        /// The column of the next piece (after `skip_blank`); None at the end of the document.
        fn indent(&self) -> Option<usize> {
            if self.eof() || self.at_marker() {
                None
            } else {
                Some(self.col + leading_ws(self.rest()))
            }
        }

        /// A node indented at least `min_indent`, or Null if there is none.
        fn node(&mut self, min_indent: usize, depth: usize, ctx: Ctx) -> Result<Node, String> {
            if depth > MAX_DEPTH {
                return Err(self.err(format!("the document nests deeper than {MAX_DEPTH} levels")));
            }
            self.skip_blank()?;
            let line = self.line;
            let ind = match self.indent() {
                Some(i) if i >= min_indent => i,
                _ => return Ok(Node::new(Value::Null, line)),
            };
            self.col = ind;
            let t = self.rest();
            if is_seq_item(t) {
                if ctx == Ctx::AfterKey {
                    return Err(
                        self.err("a `- ` list can't start on the line of its key: put the items on the lines below")
                    );
                }
                return self.seq(ind, depth);
            }
            if ctx == Ctx::Block && map_key(t).map_err(|m| self.err(m))?.is_some() {
                return self.map(ind, depth);
            }
            self.scalar(min_indent, depth, ctx)
        }

        fn seq(&mut self, ind: usize, depth: usize) -> Result<Node, String> {
            let line = self.line;
            let mut items = Vec::new();
            loop {
                self.skip_blank()?;
                match self.indent() {
                    Some(i) if i == ind => {}
                    Some(i) if i > ind => {
                        return Err(self.err(format!("bad indentation: expected a `- ` item at column {}", ind + 1)))
                    }
                    _ => break,
                }
                self.col = ind;
                if !is_seq_item(self.rest()) {
                    break; // the next key of the mapping this list is a value of
                }
                self.col += 1 + leading_ws(self.rest().get(1..).unwrap_or(""));
                self.path.push(Seg::Index(items.len()));
                let item = self.node(ind + 1, depth + 1, Ctx::Block)?;
                self.path.pop();
                items.push(item);
            }
            Ok(Node::new(Value::Seq(items), line))
        }

        fn map(&mut self, ind: usize, depth: usize) -> Result<Node, String> {
            let line = self.line;
            let mut entries: Vec<(String, Node)> = Vec::new();
            let mut seen = HashSet::new();
            loop {
                self.skip_blank()?;
                match self.indent() {
                    Some(i) if i == ind => {}
                    Some(i) if i > ind => {
                        return Err(self.err(format!("bad indentation: expected a key at column {}", ind + 1)))
                    }
                    _ => break,
                }
                self.col = ind;
                let t = self.rest();
                let Some((key, after)) = map_key(t).map_err(|m| self.err(m))? else {
                    return Err(self.err(if is_seq_item(t) {
                        "a `- ` item where a `key:` was expected".to_owned()
                    } else {
                        format!("expected `key: value`, got `{}`", short(t))
                    }));
                };
                if !seen.insert(key.clone()) {
                    return Err(self.err(format!("duplicate key `{}`", short(&key))));
                }
                let key_line = self.line;
                self.col += after;
                self.path.push(Seg::Key(short(&key)));
                let r = self.rest();
                let mut value = if trim_ws(r).is_empty() || trim_ws(r).starts_with('#') {
                    self.next_line();
                    self.skip_blank()?;
                    match self.indent() {
                        Some(i) if i > ind => self.node(ind + 1, depth + 1, Ctx::Block)?,
                        Some(i) if i == ind && is_seq_item(trim_ws(self.rest())) => {
                            self.col = i;
                            self.seq(ind, depth + 1)?
                        }
                        _ => Node::new(Value::Null, key_line),
                    }
                } else {
                    self.col += leading_ws(r);
                    self.node(ind + 1, depth + 1, Ctx::AfterKey)?
                };
                self.path.pop();
                value.line = key_line;
                entries.push((key, value));
            }
            Ok(Node::new(Value::Map(entries), line))
        }

        /// A scalar or flow collection starting at the cursor.
        fn scalar(&mut self, min_indent: usize, depth: usize, ctx: Ctx) -> Result<Node, String> {
            let line = self.line;
            let t = self.rest();
            let first = t.chars().next().unwrap_or(' ');
            let value = match first {
                '"' | '\'' => {
                    let text = self.quoted()?;
                    self.end_of_line("the closing quote")?;
                    Value::Str { text, plain: false }
                }
                '[' | '{' => {
                    let v = self.flow(depth)?;
                    self.end_of_line("the closing bracket")?;
                    v
                }
                '|' | '>' => Value::Str {
                    text: self.block_scalar(min_indent)?,
                    plain: false,
                },
                '?' if matches!(t.as_bytes().get(1), None | Some(b' ' | b'\t')) => return Err(self.unsupported(first)),
                '&' | '*' | '!' | '@' | '`' | '%' | ',' | ']' | '}' => return Err(self.unsupported(first)),
                _ => {
                    let (first_line, _) = plain_line(t);
                    if ctx == Ctx::AfterKey && has_map_indicator(first_line) {
                        return Err(self.err(
                            "`: ` inside a value: quote the value, or put a nested mapping on the lines below its key",
                        ));
                    }
                    plain_value(self.plain(min_indent)?)
                }
            };
            Ok(Node::new(value, line))
        }

        fn unsupported(&self, c: char) -> String {
            self.err(match c {
                '&' => "anchors (`&name`) are not supported: write the value out".to_owned(),
                '*' => "aliases (`*name`) are not supported: write the value out".to_owned(),
                '!' => "tags (`!tag`) are not supported".to_owned(),
                '?' => "complex keys (`? key`) are not supported".to_owned(),
                '@' | '`' => format!("a plain value can't start with `{c}` (reserved in YAML): quote it"),
                _ => format!("unexpected `{c}`"),
            })
        }

        /// After a closed scalar or collection only a comment may follow on its line.
        fn end_of_line(&mut self, what: &str) -> Result<(), String> {
            let r = self.rest();
            if is_blank_or_comment(r) {
                self.next_line();
                Ok(())
            } else {
                Err(self.err(format!("unexpected `{}` after {what}", short(trim_ws(r)))))
            }
        }

        /// A plain scalar, continued on following lines indented at least `min_indent`.
        fn plain(&mut self, min_indent: usize) -> Result<String, String> {
            let (first, comment) = plain_line(self.rest());
            let mut out = first.to_owned();
            self.next_line();
            if comment {
                return Ok(out);
            }
            let mut blanks = 0;
            let mut look = self.line;
            while let Some(&l) = self.lines.get(look) {
                let t = trim_ws(l);
                if is_marker(l) || (!t.is_empty() && (leading_ws(l) < min_indent || t.starts_with('#'))) {
                    break;
                }
                look += 1;
                if t.is_empty() {
                    blanks += 1;
                    continue;
                }
                let (text, comment) = plain_line(t);
                if has_map_indicator(text) {
                    return Err(self.err_at(
                        look - 1,
                        "`: ` in the continuation of a value: check the indentation, or quote the value",
                    ));
                }
                if blanks == 0 {
                    out.push(' ');
                } else {
                    out.push_str(&"\n".repeat(blanks));
                }
                out.push_str(text);
                blanks = 0;
                self.line = look;
                if comment {
                    break;
                }
            }
            Ok(out)
        }

        /// A single- or double-quoted scalar starting at the cursor, over
        /// as many lines as it takes; the cursor ends past the closing quote.
        fn quoted(&mut self) -> Result<String, String> {
            let start = self.line;
            let r = self.rest();
            let double = r.starts_with('"');
            let mut base = self.col + 1;
            let mut s = r.get(1..).unwrap_or("");
            let mut out = String::new();
            let mut keep = 0;
            loop {
                match scan_quoted(s, double, &mut out, &mut keep).map_err(|m| self.err(m))? {
                    QuoteEnd::Closed(end) => {
                        self.col = base + end;
                        return Ok(out);
                    }
                    QuoteEnd::Eol { escaped_break } => {
                        if !escaped_break {
                            out.truncate(keep);
                        }
                        let mut blanks = 0;
                        loop {
                            self.next_line();
                            if self.eof() || self.at_marker() {
                                let which = if double { "double" } else { "single" };
                                return Err(self.err_at(start, format!("a {which}-quoted string is not closed")));
                            }
                            let l = self.rest();
                            let t = trim_ws(l);
                            if t.is_empty() {
                                blanks += 1;
                                continue;
                            }
                            if blanks > 0 {
                                out.push_str(&"\n".repeat(blanks));
                            } else if !escaped_break {
                                out.push(' ');
                            }
                            keep = out.len();
                            base = l.len() - t.len();
                            s = t;
                            break;
                        }
                    }
                }
            }
        }

        /// A literal (`|`) or folded (`>`) block scalar; its content lines
        /// are indented at least `min_indent`.
        fn block_scalar(&mut self, min_indent: usize) -> Result<String, String> {
            let header = self.rest();
            let literal = header.starts_with('|');
            let mut chomp = Chomp::Clip;
            let mut explicit = None;
            let mut rest = header.get(1..).unwrap_or("");
            for _ in 0..2 {
                match rest.as_bytes().first() {
                    Some(b'-') => chomp = Chomp::Strip,
                    Some(b'+') => chomp = Chomp::Keep,
                    Some(&d @ b'1'..=b'9') => explicit = Some(usize::from(d - b'0')),
                    _ => break,
                }
                rest = rest.get(1..).unwrap_or("");
            }
            if !rest.is_empty() && !is_blank_or_comment(rest) {
                return Err(self.err(format!(
                    "`{}` is not a block scalar header; allowed: `|` or `>`, then optionally `-` or `+` and an indentation digit",
                    short(header)
                )));
            }
            self.next_line();
            let mut indent = explicit.map(|d| min_indent.saturating_sub(1) + d);
            let mut body: Vec<&str> = Vec::new();
            while let Some(&l) = self.lines.get(self.line) {
                if is_marker(l) {
                    break;
                }
                let spaces = l.len() - l.trim_start_matches(' ').len();
                let blank = trim_ws(l).is_empty();
                let ci = match indent {
                    Some(ci) => ci,
                    None if blank => {
                        body.push("");
                        self.line += 1;
                        continue;
                    }
                    None if spaces >= min_indent => {
                        indent = Some(spaces);
                        spaces
                    }
                    None => break,
                };
                if !blank && spaces < ci {
                    break;
                }
                body.push(l.get(ci..).unwrap_or(""));
                self.line += 1;
            }
            let (content, trailing) = match body.iter().rposition(|l| !trim_ws(l).is_empty()) {
                Some(k) => (body.get(..=k).unwrap_or(&[]), body.len() - k - 1),
                None => (&[][..], body.len()),
            };
            let mut out = if literal { content.join("\n") } else { fold(content) };
            match chomp {
                Chomp::Strip => {}
                Chomp::Clip if content.is_empty() => {}
                Chomp::Clip => out.push('\n'),
                Chomp::Keep => {
                    if !content.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(&"\n".repeat(trailing));
                }
            }
            Ok(out)
        }

        /// A flow collection (`[a, b]`, `{k: v}`) starting at the cursor,
        /// over as many lines as it takes.
        fn flow(&mut self, depth: usize) -> Result<Value, String> {
            if depth > MAX_DEPTH {
                return Err(self.err(format!("the document nests deeper than {MAX_DEPTH} levels")));
            }
            let start = self.line;
            let close = if self.peek() == Some(b'[') { b']' } else { b'}' };
            self.col += 1;
            let mut items = Vec::new();
            let mut entries = Vec::new();
            let mut seen = HashSet::new();
            loop {
                self.flow_ws(start)?;
                if self.peek() == Some(close) {
                    self.col += 1;
                    break;
                }
                if close == b']' {
                    self.path.push(Seg::Index(items.len()));
                    let item = self.flow_node(depth + 1, start)?;
                    self.path.pop();
                    self.flow_ws(start)?;
                    if self.peek() == Some(b':') {
                        return Err(self.err("`key: value` inside `[ ]` is not supported: use `{ }`"));
                    }
                    items.push(item);
                } else {
                    let line = self.line;
                    let key = match self.flow_node(depth + 1, start)?.value {
                        Value::Str { text, .. } => text,
                        Value::Null => String::new(),
                        _ => return Err(self.err("a key in `{ }` must be a scalar")),
                    };
                    if !seen.insert(key.clone()) {
                        return Err(self.err(format!("duplicate key `{}`", short(&key))));
                    }
                    self.flow_ws(start)?;
                    let mut value = if self.peek() == Some(b':') {
                        self.col += 1;
                        self.path.push(Seg::Key(short(&key)));
                        let v = self.flow_node(depth + 1, start)?;
                        self.path.pop();
                        v
                    } else {
                        Node::new(Value::Null, line)
                    };
                    value.line = line;
                    entries.push((key, value));
                }
                self.flow_ws(start)?;
                match self.peek() {
                    Some(b',') => self.col += 1,
                    Some(c) if c == close => {
                        self.col += 1;
                        break;
                    }
                    _ => {
                        return Err(self.err(format!(
                            "expected `,` or `{}` in the collection that starts at line {}",
                            char::from(close),
                            start + 1
                        )))
                    }
                }
            }
            Ok(if close == b']' {
                Value::Seq(items)
            } else {
                Value::Map(entries)
            })
        }

        /// Skip white space, line breaks and comments inside a flow collection.
        fn flow_ws(&mut self, start: usize) -> Result<(), String> {
            loop {
                if self.eof() || self.at_marker() {
                    return Err(self.err_at(start, "a `[ ]` or `{ }` collection is not closed"));
                }
                let r = self.rest();
                let t = trim_ws(r);
                if t.is_empty() || (t.starts_with('#') && (t.len() < r.len() || self.col == 0)) {
                    self.next_line();
                    continue;
                }
                self.col += r.len() - t.len();
                return Ok(());
            }
        }

        fn flow_node(&mut self, depth: usize, start: usize) -> Result<Node, String> {
            self.flow_ws(start)?;
            let line = self.line;
            let value = match self.peek() {
                Some(b'[' | b'{') => self.flow(depth)?,
                Some(b'"' | b'\'') => Value::Str {
                    text: self.quoted()?,
                    plain: false,
                },
                Some(b',' | b']' | b'}') => Value::Null,
                Some(c @ (b'&' | b'*' | b'!' | b'?' | b'@' | b'`' | b'|' | b'>' | b'%')) => {
                    return Err(self.unsupported(char::from(c)))
                }
                _ => {
                    let r = self.rest();
                    let b = r.as_bytes();
                    let mut end = b.len();
                    for (i, &c) in b.iter().enumerate() {
                        let stop = match c {
                            b',' | b'[' | b']' | b'{' | b'}' => true,
                            b':' => matches!(
                                b.get(i + 1),
                                None | Some(b' ' | b'\t' | b',' | b'[' | b']' | b'{' | b'}')
                            ),
                            b'#' => i > 0 && matches!(b.get(i - 1), Some(b' ' | b'\t')),
                            _ => false,
                        };
                        if stop {
                            end = i;
                            break;
                        }
                    }
                    self.col += end;
                    plain_value(trim_end_ws(r.get(..end).unwrap_or("")).to_owned())
                }
            };
            Ok(Node::new(value, line))
        }
    }

    /// Fold a `>` block scalar's lines: single breaks between plain lines
    /// become spaces, more-indented lines keep their breaks.
    fn fold(lines: &[&str]) -> String {
        let mut out = String::new();
        let mut empties = 0;
        let mut prev_more: Option<bool> = None;
        for l in lines {
            if trim_ws(l).is_empty() {
                empties += 1;
                continue;
            }
            let more = l.starts_with([' ', '\t']);
            match prev_more {
                None => out.push_str(&"\n".repeat(empties)),
                Some(pm) if pm || more => out.push_str(&"\n".repeat(empties + 1)),
                Some(_) if empties == 0 => out.push(' '),
                Some(_) => out.push_str(&"\n".repeat(empties)),
            }
            empties = 0;
            out.push_str(l);
            prev_more = Some(more);
        }
        out
    }
}

#[cfg(test)]
mod tests {
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

    fn ok(yaml: &str) -> HpaImport {
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

    fn note<'a>(imp: &'a HpaImport, part: &str) -> &'a str {
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
        assert_mentions(&e, &["YAML syntax error at line 1", "not closed"]);
        let e = err("- a\n- b\n");
        assert_mentions(&e, &["(document root)", "got a list"]);
        for empty in ["", "# only a comment\n\n", "---\n---\n", "kind: List\nitems: []\n"] {
            assert_mentions(&err(empty), &["(document root)", "holds no manifest"]);
        }
        let e = err(&FULL.replace("        averageUtilization: 65", "       averageUtilization: 65"));
        assert_mentions(
            &e,
            &[
                "YAML syntax error at line 44",
                "(in `spec.metrics[0].resource`)",
                "bad indentation",
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
        let imp = ok(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  minReplicas: 0\n  maxReplicas: 5\n",
        );
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
            "", "m", "k", "Ki", "1.2.3", "1ki", "1 k", "1kk", "abc", "1e", "1e+", "1e-", "1e1.5", "--1", "1e400",
            "0x10", "1_000", ".",
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
            ("? a\n: b\n", "line 1", "complex keys"),
            ("a: \"open\nb: 1\n", "line 1", "not closed"),
            ("a: [1, 2\nb: 3\n", "line 2", "expected `,` or `]`"),
            ("a: b: c\n", "line 1", "`: ` inside a value"),
            ("a: - b\n", "line 1", "can't start on the line of its key"),
            ("a: 1\n  b: 2\n", "line 2", "check the indentation"),
            ("a:\n  b:\n    c: 1\n   d: 2\n", "line 4", "bad indentation"),
            (
                "a:\n  b: 1\n c: 2\n",
                "line 3",
                "bad indentation: expected a key at column 1",
            ),
            ("  a: 1\nb: 2\n", "line 2", "unexpected content"),
            ("a: \"x\" y\n", "line 1", "after the closing quote"),
            ("a: \"\\q\"\n", "line 1", "not a YAML escape"),
            ("a: |x\n  b\n", "line 1", "block scalar header"),
            ("a: [b: c]\n", "line 1", "inside `[ ]`"),
            (
                "spec:\n  metrics:\n  - type: x\n    bad\n",
                "(in `spec.metrics[0]`)",
                "expected `key: value`",
            ),
        ];
        for (src, at, what) in cases {
            let e = parse_stream(src).map(|d| format!("{d:?}")).expect_err(src);
            assert_mentions(&e, &["YAML syntax error", at, what]);
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_mentions(&parse_stream(&deep).expect_err("deep"), &["deeper than 64"]);
        let deep_block: String = (0..100).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert_mentions(&parse_stream(&deep_block).expect_err("deep block"), &["deeper than 64"]);
        let big = "a: b\n".repeat(MAX_INPUT / 5 + 1);
        assert_mentions(
            &import_hpa(&big).expect_err("big"),
            &["(document root)", "at most 1048576 bytes"],
        );
    }

    /// Recursion is bounded by the depth cap: the deepest accepted and the
    /// first rejected nestings of every kind fit in a 512 KiB stack.
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
}
