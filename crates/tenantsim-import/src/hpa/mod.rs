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

use tenantsim_engine::SimTime;
use tenantsim_model::autoscaler::hpa::{Behavior, HpaSpec, PolicyKind, ScalingPolicy, SelectPolicy};
use yaml::{Node, Value};

use crate::Imported;

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
pub fn import_hpa(yaml: &str) -> Result<Imported, String> {
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
    Ok(Imported {
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

pub(crate) mod convert;
pub(crate) mod fields;
mod manifest;
pub use manifest::{quantity_value, read_manifest, ManifestHpa};
pub(crate) mod render;
#[cfg(test)]
mod tests;
// Public for the tests of the deploy manifests (tests/it/deploy.rs), which
// read Kubernetes YAML with the same parser; the KEDA importer reads it too.
pub mod yaml;

use convert::*;
use fields::*;
use render::*;
