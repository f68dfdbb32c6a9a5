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
//! `behavior`, side or field gets the API defaults (`defaults.go`, as the
//! model writes them; see below): scale up with no stabilization by the
//! larger of +100 % and +4 pods per 15 s, scale down after a 300 s
//! stabilization window by up to 100 % per 15 s.
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
//! The YAML is read by the `granit-parser` crate, the event parser under
//! `serde-saphyr` (same maintainer and releases; fuzzed and run against the
//! YAML test suite in its CI). Its events — each scalar with its text and
//! style, collection starts and ends, each with a line — are built here into
//! a small tree of strings. So the converter sees every scalar as written
//! (`"2"` is a quoted string, not the number 2; `0x10` and `1.0` stay text
//! and are not whole numbers) and the line of every node, for its messages.
//! `serde-saphyr` itself is not used: deserializing into a serde value
//! resolves each plain scalar's type (`0x10` arrives as 16, `yes` as true)
//! and loses whether a word was quoted. Measured on a cold build of a
//! scratch crate with this project's dev profile: `granit-parser` with its
//! one new dependency (`arraydeque`) and a parser call cost ≈ 3.7 s of CPU;
//! `serde-saphyr` with only its `deserialize` feature ≈ 22 s.
//!
//! The tree builder rejects, with a message, anchors and aliases (nothing
//! is ever expanded, so no alias bomb), tags, duplicate keys, keys that are
//! lists or mappings; the parser rejects tab indentation, and non-printable
//! characters are rejected before parsing. The input is capped at 1 MiB and
//! nesting at 64 levels: the builder keeps an explicit stack and the
//! parser's own nesting limits are set just above ours, so nothing recurses
//! on deep input; the parser's look-ahead for a key is bounded (1,024
//! characters), so hostile input costs time and memory linear in its size
//! and never panics. Syntax errors give the line, the column and the YAML
//! path where the parser stopped, in the parser's words.
//!
//! The behavior defaults come from the model
//! ([`Behavior::default_scale_up`] / [`Behavior::default_scale_down`], the
//! tolerance from [`HpaSpec::DEFAULT_TOLERANCE`]): the importer writes what
//! the simulator would use for an HPA without `behavior`.

use std::fmt;

use crate::engine::SimTime;
use crate::model::autoscaler::hpa::{Behavior, HpaSpec, PolicyKind, ScalingPolicy, SelectPolicy};
use yaml::{Node, Value};

/// A converted manifest: the TOML text and the notes (things dropped or approximated).
#[derive(Debug, Clone, PartialEq)]
pub struct HpaImport {
    pub toml: String,
    pub notes: Vec<String>,
}

const KIND: &str = "HorizontalPodAutoscaler";
/// kube-controller-manager's `--horizontal-pod-autoscaler-tolerance` default.
const TOLERANCE: f64 = HpaSpec::DEFAULT_TOLERANCE;
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

fn select_name(s: SelectPolicy) -> &'static str {
    match s {
        SelectPolicy::Max => "Max",
        SelectPolicy::Min => "Min",
        SelectPolicy::Disabled => "Disabled",
    }
}

/// A duration as the scenario writes it: `15s` (or `0.5s`).
fn duration(t: SimTime) -> String {
    if t.as_nanos().is_multiple_of(SimTime::NANOS_PER_SEC) {
        format!("{}s", t.as_nanos() / SimTime::NANOS_PER_SEC)
    } else {
        format!("{:?}s", t.as_secs_f64())
    }
}

fn render_policy(p: &ScalingPolicy) -> String {
    let kind = match p.kind {
        PolicyKind::Pods => "Pods",
        PolicyKind::Percent => "Percent",
    };
    format!(
        "{{ type = \"{kind}\", value = {}, period = \"{}\" }}",
        p.value,
        duration(p.period)
    )
}

/// One direction of `spec.behavior` (`HPAScalingRules`): the model's
/// [`Behavior`] and the direction's own `tolerance`, if set.
#[derive(Debug, Clone, PartialEq)]
struct Rules {
    behavior: Behavior,
    tolerance: Option<f64>,
}

impl Rules {
    /// The model's scale-up default ([`Behavior::default_scale_up`]).
    fn default_up() -> Rules {
        Rules {
            behavior: Behavior::default_scale_up(),
            tolerance: None,
        }
    }

    /// The model's scale-down default ([`Behavior::default_scale_down`]).
    fn default_down() -> Rules {
        Rules {
            behavior: Behavior::default_scale_down(),
            tolerance: None,
        }
    }

    fn render(&self) -> String {
        let b = &self.behavior;
        let policies: Vec<String> = b.policies.iter().map(render_policy).collect();
        format!(
            "{{ stabilization = \"{}\", select = \"{}\", policies = [ {} ] }}",
            duration(b.stabilization),
            select_name(b.select),
            policies.join(", ")
        )
    }
}

/// A behavior in words for a note, e.g. "no stabilization, the larger of
/// +100 % and +4 pods per 15 s"; `sign` is "+" for scaling up.
fn describe_behavior(b: &Behavior, sign: &str) -> String {
    let prose = |t: SimTime| duration(t).replace('s', " s");
    let stabilization = if b.stabilization == SimTime::ZERO {
        "no stabilization".to_owned()
    } else {
        format!("{} stabilization", prose(b.stabilization))
    };
    let one_period = b.policies.windows(2).all(|w| w[0].period == w[1].period);
    let amounts: Vec<String> = b
        .policies
        .iter()
        .map(|p| {
            let amount = match (p.kind, p.value) {
                (PolicyKind::Percent, v) => format!("{sign}{v} %"),
                (PolicyKind::Pods, 1) => format!("{sign}1 pod"),
                (PolicyKind::Pods, v) => format!("{sign}{v} pods"),
            };
            if one_period {
                amount
            } else {
                format!("{amount} per {}", prose(p.period))
            }
        })
        .collect();
    let per = match b.policies.first() {
        Some(p) if one_period => format!(" per {}", prose(p.period)),
        _ => String::new(),
    };
    let change = match (b.select, amounts.as_slice()) {
        (SelectPolicy::Disabled, _) => "no scaling".to_owned(),
        (_, []) => "no policy".to_owned(),
        (_, [one]) => format!("up to {one}{per}"),
        (select, [init @ .., last]) => format!(
            "the {} of {} and {last}{per}",
            if select == SelectPolicy::Min {
                "smaller"
            } else {
                "larger"
            },
            init.join(", ")
        ),
    };
    format!("{stabilization}, {change}")
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
             interval = \"{}s\"\n\
             tolerance = {:?}\n\
             metrics = [ {} ]\n\
             scale_up = {}\n\
             scale_down = {}\n",
            self.api,
            self.min,
            self.max,
            HpaSpec::DEFAULT_SYNC_PERIOD_S,
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
        "interval = \"{}s\" is kube-controller-manager's default (--horizontal-pod-autoscaler-sync-period); \
         change it if your cluster sets another",
        HpaSpec::DEFAULT_SYNC_PERIOD_S
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
        "{}: not set: Kubernetes' default behavior used (scale up: {}; scale down: {}), which approximates the \
         controller's legacy path for an HPA without behavior",
        at(&join(spec_path, "behavior"), line),
        describe_behavior(&Behavior::default_scale_up(), "+"),
        describe_behavior(&Behavior::default_scale_down(), "")
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
    let default = default.behavior;
    let stabilization = match field(r, "stabilizationWindowSeconds") {
        // unsigned_abs: the value is ≥ 0 by the range.
        Some(v) => SimTime::from_secs(
            int(
                v,
                &join(&p, "stabilizationWindowSeconds"),
                0,
                3600,
                "a whole number of seconds from 0 to 3600",
            )?
            .unsigned_abs(),
        ),
        None => {
            defaulted.push(format!(
                "stabilizationWindowSeconds ({})",
                duration(default.stabilization)
            ));
            default.stabilization
        }
    };
    let select = match field(r, "selectPolicy") {
        Some(v) => {
            let sp = join(&p, "selectPolicy");
            match text(v, &sp)? {
                "Max" => SelectPolicy::Max,
                "Min" => SelectPolicy::Min,
                "Disabled" => SelectPolicy::Disabled,
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
            defaulted.push(format!("selectPolicy ({})", select_name(default.select)));
            default.select
        }
    };
    let policies = match field(r, "policies") {
        Some(v) => policies(v, &join(&p, "policies"))?,
        None => {
            let shown: Vec<String> = default.policies.iter().map(render_policy).collect();
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
        behavior: Behavior {
            stabilization,
            policies,
            select,
        },
        tolerance,
    })
}

fn policies(n: &Node, path: &str) -> Result<Vec<ScalingPolicy>, String> {
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
        // unsigned_abs: ≥ 1 and ≤ i32::MAX by the range, so it fits in a u32.
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
        out.push(ScalingPolicy {
            kind,
            value: u32::try_from(value.unsigned_abs()).unwrap_or(u32::MAX),
            period: SimTime::from_secs(period.unsigned_abs()),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------

/// The manifest's YAML as a tree of strings with lines, built from the
/// events of the `granit-parser` crate.
/// What `tenantsim hpa explain` reads of a manifest: the first
/// HorizontalPodAutoscaler of a stream (YAML or JSON, possibly a
/// `kind: List`), its bounds and behaviors validated as `import-hpa`
/// validates them, and the whole object as JSON (every scalar as the text
/// written) for its metrics.
pub struct ManifestHpa {
    pub min: u32,
    pub max: u32,
    pub scale_up: Behavior,
    pub scale_down: Behavior,
    pub tolerance_up: Option<f64>,
    pub tolerance_down: Option<f64>,
    pub json: serde_json::Value,
}

/// Reads a manifest for `hpa explain`; errors name the YAML path and line.
pub fn read_manifest(text: &str) -> Result<ManifestHpa, String> {
    fn json(n: &Node) -> serde_json::Value {
        match &n.value {
            Value::Null => serde_json::Value::Null,
            Value::Str { text, .. } => serde_json::Value::String(text.clone()),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(json).collect()),
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.clone(), json(v))).collect())
            }
        }
    }
    let docs = yaml::parse_stream(text)?;
    let mut cands: Vec<&Node> = Vec::new();
    for doc in &docs {
        if let (Some(kind), Value::Map(m)) = (kind_of(doc), &doc.value) {
            if kind.ends_with("List") {
                if let Some(Node {
                    value: Value::Seq(items),
                    ..
                }) = field(m, "items")
                {
                    cands.extend(items.iter());
                    continue;
                }
            }
        }
        cands.push(doc);
    }
    let node = cands
        .into_iter()
        .find(|c| kind_of(c) == Some(KIND))
        .ok_or_else(|| format!("no document of kind {KIND} in the input"))?;
    let doc = map_of(node, "")?;
    let spec_node = required(doc, node, "", "spec", "the HPA's spec")?;
    let spec = map_of(spec_node, "spec")?;
    let mut notes = Vec::new();
    let (min, max) = replicas(spec, spec_node, "spec", &mut notes)?;
    let (up, down) = behavior(spec, spec_node, "spec", &mut notes)?;
    Ok(ManifestHpa {
        min: min as u32,
        max: max as u32,
        scale_up: up.behavior,
        scale_down: down.behavior,
        tolerance_up: up.tolerance,
        tolerance_down: down.tolerance,
        json: json(node),
    })
}

/// A Kubernetes quantity (`"500m"`, `"1.5"`, `"2Gi"`) as a number.
pub fn quantity_value(s: &str) -> Option<f64> {
    parse_quantity(s)
}

mod yaml {
    use std::collections::HashSet;
    use std::fmt;

    use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, Span};

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

    /// Parse every document of `src`. Empty documents after an explicit
    /// `---` marker are kept as `Null`.
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
        // One more than our own cap, so that `Builder::open` reports the
        // nesting first; the parser's limit only keeps its own stacks small.
        let options = granit_parser::options! {
            flow_nesting_limit: MAX_DEPTH + 1,
            block_nesting_limit: MAX_DEPTH + 1,
            emit_unresolved_aliases: true,
        };
        let mut b = Builder::default();
        for next in Parser::new_from_str_with_options(src, options) {
            let (event, span) = next.map_err(|e| b.scan_error(&e))?;
            b.event(event, span)?;
        }
        Ok(b.docs)
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

    fn short(s: &str) -> String {
        let mut out: String = s.chars().take(40).collect::<String>().escape_debug().collect();
        if s.chars().nth(40).is_some() {
            out.push('…');
        }
        out
    }

    /// A collection being read.
    enum Open {
        Seq {
            items: Vec<Node>,
            line: usize,
        },
        Map {
            entries: Vec<(String, Node)>,
            line: usize,
            /// The key whose value comes next, and its line.
            key: Option<(String, usize)>,
            seen: HashSet<String>,
        },
    }

    /// Builds the tree from the parser's events with an explicit stack (at
    /// most [`MAX_DEPTH`] deep), so nesting never recurses.
    #[derive(Default)]
    struct Builder {
        docs: Vec<Node>,
        stack: Vec<Open>,
        /// Whether the current document started with `---`.
        explicit: bool,
    }

    impl Builder {
        fn event(&mut self, event: Event, span: Span) -> Result<(), String> {
            let line = span.start.line().saturating_sub(1);
            match event {
                Event::DocumentStart(explicit, _) => self.explicit = explicit,
                Event::Scalar(text, style, anchor, tag) => {
                    self.properties(anchor, tag.is_some(), line)?;
                    let plain = style == ScalarStyle::Plain;
                    // The parser writes an empty node (`key:`) as `~`; its span is empty.
                    let text = if plain && span.start.index() == span.end.index() {
                        "".into()
                    } else {
                        text
                    };
                    if let Some(Open::Map {
                        key: key @ None, seen, ..
                    }) = self.stack.last_mut()
                    {
                        if seen.insert(text.to_string()) {
                            *key = Some((text.into_owned(), line));
                            return Ok(());
                        }
                        return Err(self.err(line, format!("duplicate key `{}`", short(&text))));
                    }
                    let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                        Value::Null
                    } else {
                        Value::Str {
                            text: text.into_owned(),
                            plain,
                        }
                    };
                    self.add(Node { value, line });
                }
                Event::SequenceStart(_, anchor, tag) => {
                    self.properties(anchor, tag.is_some(), line)?;
                    self.open(Open::Seq {
                        items: Vec::new(),
                        line,
                    })?;
                }
                Event::MappingStart(_, anchor, tag) => {
                    self.properties(anchor, tag.is_some(), line)?;
                    self.open(Open::Map {
                        entries: Vec::new(),
                        line,
                        key: None,
                        seen: HashSet::new(),
                    })?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    // The parser pairs every end with a start, each of which pushed.
                    if let Some(open) = self.stack.pop() {
                        let node = match open {
                            Open::Seq { items, line } => Node {
                                value: Value::Seq(items),
                                line,
                            },
                            Open::Map { entries, line, .. } => Node {
                                value: Value::Map(entries),
                                line,
                            },
                        };
                        self.add(node);
                    }
                }
                Event::Alias(_) | Event::UnresolvedAlias(_) => {
                    return Err(self.err(line, "aliases (`*name`) are not supported: write the value out"))
                }
                // Stream and document ends, comments and anything a newer
                // parser adds carry no data.
                _ => {}
            }
            Ok(())
        }

        /// Anchors and tags are not read: nothing is ever expanded.
        fn properties(&self, anchor: usize, tagged: bool, line: usize) -> Result<(), String> {
            if anchor != 0 {
                Err(self.err(line, "anchors (`&name`) are not supported: write the value out"))
            } else if tagged {
                Err(self.err(line, "tags (`!tag`) are not supported"))
            } else {
                Ok(())
            }
        }

        fn open(&mut self, open: Open) -> Result<(), String> {
            let line = match &open {
                Open::Seq { line, .. } | Open::Map { line, .. } => *line,
            };
            if let Some(Open::Map { key: None, .. }) = self.stack.last() {
                return Err(self.err(
                    line,
                    "a list or mapping as a key (a complex key) is not supported; allowed: a plain or quoted string",
                ));
            }
            if self.stack.len() >= MAX_DEPTH {
                return Err(self.err(line, format!("the document nests deeper than {MAX_DEPTH} levels")));
            }
            self.stack.push(open);
            Ok(())
        }

        /// A finished value: an item, a mapping's value, or a document.
        fn add(&mut self, mut node: Node) {
            match self.stack.last_mut() {
                None => {
                    if self.explicit || node.value != Value::Null {
                        self.docs.push(node);
                    }
                }
                Some(Open::Seq { items, .. }) => items.push(node),
                Some(Open::Map { entries, key, .. }) => {
                    // A value always follows its key: keys never reach here.
                    if let Some((k, key_line)) = key.take() {
                        node.line = key_line;
                        entries.push((k, node));
                    }
                }
            }
        }

        /// Where the builder is, e.g. `spec.metrics[0].resource`. A list's
        /// index is that of the item being read; `exact` is false for the
        /// parser's errors, which may lie before the innermost list's next
        /// item (the parser reads ahead of its events), so that index is left out.
        fn path(&self, exact: bool) -> String {
            let mut segments = Vec::new();
            for (i, open) in self.stack.iter().enumerate() {
                match open {
                    Open::Seq { .. } if !exact && i + 1 == self.stack.len() => {}
                    Open::Seq { items, .. } => segments.push(format!("[{}]", items.len())),
                    Open::Map { key: Some((k, _)), .. } => segments.push(format!(".{}", short(k))),
                    Open::Map { key: None, .. } => {}
                }
            }
            // Deep nesting makes long paths: keep about their last 80 characters.
            let mut len = 0;
            let keep = segments
                .iter()
                .rev()
                .take_while(|s| {
                    len += s.chars().count();
                    len <= 80
                })
                .count();
            let kept: String = segments
                .iter()
                .skip(segments.len() - keep)
                .map(String::as_str)
                .collect();
            let kept = kept.strip_prefix('.').unwrap_or(&kept);
            if keep < segments.len() {
                format!("…{kept}")
            } else {
                kept.to_owned()
            }
        }

        /// `at` is `line N` or `line N, column C` (1-based).
        fn message(&self, at: String, exact: bool, msg: impl fmt::Display) -> String {
            let path = self.path(exact);
            if path.is_empty() {
                format!("YAML syntax error at {at}: {msg}")
            } else {
                format!("YAML syntax error at {at} (in `{path}`): {msg}")
            }
        }

        fn err(&self, line: usize, msg: impl fmt::Display) -> String {
            self.message(format!("line {}", line + 1), true, msg)
        }

        /// A parser error in the parser's words, with a hint for the
        /// mistakes people make in manifests.
        fn scan_error(&self, e: &ScanError) -> String {
            let at = format!("line {}, column {}", e.marker().line(), e.marker().col() + 1);
            let hint = match e.kind() {
                ErrorKind::RecursionLimitExceeded => {
                    return self.message(at, false, format!("the document nests deeper than {MAX_DEPTH} levels"))
                }
                ErrorKind::TabInIndentation | ErrorKind::TabInBlockIndentation => "; YAML indents with spaces only",
                ErrorKind::ExpectedBlockMappingKey
                | ErrorKind::ExpectedDocumentStart
                | ErrorKind::SimpleKeyExpected => "; check the indentation",
                ErrorKind::MappingValueNotAllowed => "; quote a value that holds `: `, or check the indentation",
                ErrorKind::BlockSequenceEntryNotAllowed => "; put a `- ` list on the lines below its key",
                _ => "",
            };
            self.message(at, false, format!("{}{hint}", e.info()))
        }
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
}
