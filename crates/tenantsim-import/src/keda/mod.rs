//! `tenantsim import-keda SCALEDOBJECT.yaml`: converts a KEDA
//! `ScaledObject` (`keda.sh/v1alpha1`) into the `[autoscaler]` section of a
//! scenario (`policy = "keda"`): the HPA KEDA generates for it, with the
//! triggers as External metrics, and KEDA's own activation between 0 and 1
//! replicas.
//!
//! # What is read
//!
//! The first document of kind `ScaledObject` in the input (a
//! `---`-separated stream, or the `items` of a `kind: List`); other
//! documents (Secrets, TriggerAuthentications, ...) are skipped with a
//! note. The YAML tree and the field readers are the HPA importer's
//! ([`crate::hpa`]): every scalar as written, every node with its line.
//! The fields are those of the ScaledObject specification
//! (<https://keda.sh/docs/2.15/reference/scaledobject-spec/>):
//!
//! | ScaledObject | scenario |
//! | --- | --- |
//! | `spec.minReplicaCount` (default 0) | `min` (0: scale to and from zero) |
//! | `spec.maxReplicaCount` (default 100) | `max` |
//! | `spec.pollingInterval` (default 30 s) | `polling_interval` |
//! | `spec.cooldownPeriod` (default 300 s) | `cooldown_period` |
//! | `spec.advanced.horizontalPodAutoscalerConfig.behavior` | `scale_up` / `scale_down` (read as the HPA importer reads `spec.behavior`) |
//! | trigger `cpu` / `memory`, `metricType` (or the older `metadata.type`) `Utilization`, `metadata.value` % | `metrics = [{ metric = "cpu" / "memory", target = value / 100 }]` |
//! | trigger `prometheus`: `threshold`, `activationThreshold`; a `query` on a request rate or a queue | `triggers = [{ metric = "rps" / "queue", target, activation }]` |
//! | queue triggers (`rabbitmq`, `aws-sqs-queue`, `azure-servicebus`, `kafka`, `redis`): their target and `activation…` keys | `triggers = [{ metric = "queue", … }]` (`rabbitmq` in `MessageRate` mode: `rps`) |
//!
//! A trigger's `metricType` is `AverageValue` by default (an External
//! metric with an average-value target: `ceil(total / target)` replicas).
//!
//! # What is dropped or approximated (each with a note)
//!
//! * `scaleTargetRef`, `metadata`, connection settings and
//!   `authenticationRef`s: the scenario's instances are what scales, and
//!   the simulator reads its own numbers.
//! * A queue trigger reads the requests waiting in the simulated service
//!   (all instances together), standing for the broker's backlog.
//! * `fallback` (simulated scalers never fail), `initialCooldownPeriod`
//!   (the cooldown starts at once), `restoreToOriginalReplicaCount` and
//!   `useCachedMetrics`.
//! * Only cpu/memory triggers and `minReplicaCount: 0`: KEDA cannot scale
//!   such a target to zero (the cpu scaler page says so), so `min` is 1.
//!
//! # Errors (each names the YAML path and line, and what is allowed)
//!
//! Unknown fields, a trigger type the simulator cannot read (e.g. `cron`),
//! a Prometheus query that is neither a request rate nor a queue,
//! `metricType: Value` (a total compared without averaging), `AverageValue`
//! cpu/memory targets, `idleReplicaCount` and `scalingModifiers`.

use crate::hpa::convert::{behavior, classify, Class};
use crate::hpa::fields::{
    at, check_keys, describe, fail, field, int, join, map_of, parse_quantity, seq_of, short, text, Entries,
};
use crate::hpa::render::{duration, Rules};
use crate::hpa::yaml::{self, Node, Value};
use tenantsim_engine::SimTime;
use tenantsim_model::autoscaler::hpa::HpaSpec;

use crate::Imported;

const KIND: &str = "ScaledObject";
const SPEC: &[&str] = &[
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
];
const TRIGGER: &[&str] = &[
    "type",
    "name",
    "metadata",
    "metricType",
    "useCachedMetrics",
    "authenticationRef",
    "fallback",
];
const MAX_INSTANCES: i64 = 100_000;
const INT32_MAX: i64 = i32::MAX as i64;

/// A trigger the simulator reads as a queue: its type, the metadata key of
/// its average-value target and that key's documented default, and its
/// activation key.
struct QueueScaler {
    kind: &'static str,
    target: &'static str,
    default: Option<f64>,
    activation: &'static str,
}

/// From each scaler's page under <https://keda.sh/docs/2.15/scalers/>.
const QUEUE_SCALERS: &[QueueScaler] = &[
    QueueScaler {
        kind: "aws-sqs-queue",
        target: "queueLength",
        default: Some(5.0),
        activation: "activationQueueLength",
    },
    QueueScaler {
        kind: "azure-servicebus",
        target: "messageCount",
        default: Some(5.0),
        activation: "activationMessageCount",
    },
    QueueScaler {
        kind: "kafka",
        target: "lagThreshold",
        default: Some(10.0),
        activation: "activationLagThreshold",
    },
    QueueScaler {
        kind: "redis",
        target: "listLength",
        default: Some(5.0),
        activation: "activationListLength",
    },
    QueueScaler {
        kind: "rabbitmq",
        target: "value",
        default: None,
        activation: "activationValue",
    },
];

fn supported() -> String {
    let mut all = vec!["cpu", "memory", "prometheus"];
    all.extend(QUEUE_SCALERS.iter().map(|q| q.kind));
    all.join(", ")
}

/// One converted trigger.
#[derive(Debug, Clone, PartialEq)]
enum Converted {
    /// An HPA Resource metric (cpu or memory utilization, 0–1).
    Resource { metric: &'static str, target: f64 },
    /// A KEDA External metric.
    External {
        metric: &'static str,
        target: f64,
        activation: f64,
    },
}

/// Convert a KEDA ScaledObject (YAML, possibly several documents) into a
/// scenario's `[autoscaler]` section. Errors name the YAML path (and
/// line) and what is allowed there.
pub fn import_keda(src: &str) -> Result<Imported, String> {
    let docs = yaml::parse_stream(src)?;
    // (label for notes, YAML path, node)
    let mut cands: Vec<(String, String, &Node)> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let label = if docs.len() > 1 {
            format!("document {}", i + 1)
        } else {
            "the document".to_owned()
        };
        if let Value::Map(m) = &doc.value {
            if kind_of(doc).is_some_and(|k| k.ends_with("List")) {
                if let Some(Node {
                    value: Value::Seq(items),
                    ..
                }) = field(m, "items")
                {
                    for (j, item) in items.iter().enumerate() {
                        cands.push((format!("{label}, items[{j}]"), format!("items[{j}]"), item));
                    }
                    continue;
                }
            }
            cands.push((label, String::new(), doc));
        }
    }
    let Some(pos) = cands.iter().position(|(_, _, n)| kind_of(n) == Some(KIND)) else {
        let found: Vec<String> = cands
            .iter()
            .take(10)
            .map(|(_, _, n)| kind_of(n).map_or_else(|| "no kind".to_owned(), short))
            .collect();
        return Err(format!(
            "kind: no {KIND} in the input (found: {}); allowed: {KIND} (apiVersion: keda.sh/v1alpha1)",
            if found.is_empty() {
                "nothing".to_owned()
            } else {
                found.join(", ")
            }
        ));
    };
    let mut notes = Vec::new();
    for (k, (label, _, n)) in cands.iter().enumerate() {
        if k != pos {
            let what = kind_of(n).map_or_else(|| "no kind".to_owned(), short);
            notes.push(format!("{label}: {what} skipped (only the first {KIND} is converted)"));
        }
    }
    let (_, base, node) = &cands[pos];
    let toml = convert(node, base, &mut notes)?;
    Ok(Imported { toml, notes })
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

fn convert(root: &Node, base: &str, notes: &mut Vec<String>) -> Result<String, String> {
    let m = map_of(root, base)?;
    check_keys(m, base, &["apiVersion", "kind", "metadata", "spec", "status"])?;
    match field(m, "apiVersion").map(|n| (n, text(n, &join(base, "apiVersion")))) {
        Some((_, Ok("keda.sh/v1alpha1"))) => {}
        Some((n, Ok(other))) => {
            return Err(fail(
                &join(base, "apiVersion"),
                n.line,
                format!("`{}`: allowed: keda.sh/v1alpha1", short(other)),
            ))
        }
        Some((_, Err(e))) => return Err(e),
        None => {
            return Err(fail(
                &join(base, "apiVersion"),
                root.line,
                "missing; required: keda.sh/v1alpha1",
            ))
        }
    }
    let name = match field(m, "metadata").map(|md| &md.value) {
        Some(Value::Map(md)) => match field(md, "name") {
            Some(Node {
                value: Value::Str { text, .. },
                ..
            }) => text.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let spec_path = join(base, "spec");
    let spec_node =
        field(m, "spec").ok_or_else(|| fail(&spec_path, root.line, "missing; required: the ScaledObject's spec"))?;
    let spec = map_of(spec_node, &spec_path)?;
    check_keys(spec, &spec_path, SPEC)?;
    if let Some(n) = field(spec, "scaleTargetRef") {
        notes.push(format!(
            "{}: dropped: the scenario's instances are what scales",
            at(&join(&spec_path, "scaleTargetRef"), n.line)
        ));
    }
    let opt_int = |key: &str, lo: i64, hi: i64, allowed: &str, default: i64| -> Result<i64, String> {
        field(spec, key).map_or(Ok(default), |n| int(n, &join(&spec_path, key), lo, hi, allowed))
    };
    let polling = opt_int("pollingInterval", 1, INT32_MAX, "a whole number of seconds ≥ 1", 30)?;
    let cooldown = opt_int("cooldownPeriod", 0, INT32_MAX, "a whole number of seconds ≥ 0", 300)?;
    let mut min = opt_int(
        "minReplicaCount",
        0,
        MAX_INSTANCES,
        "a whole number from 0 to 100000",
        0,
    )?;
    let max = opt_int(
        "maxReplicaCount",
        1,
        MAX_INSTANCES,
        "a whole number from 1 to 100000",
        100,
    )?;
    if let Some(n) = field(spec, "idleReplicaCount") {
        return Err(fail(
            &join(&spec_path, "idleReplicaCount"),
            n.line,
            "not supported by the simulator; allowed: leave it out and set minReplicaCount: 0 to scale to zero",
        ));
    }
    if let Some(n) = field(spec, "initialCooldownPeriod") {
        let v = int(
            n,
            &join(&spec_path, "initialCooldownPeriod"),
            0,
            INT32_MAX,
            "a whole number of seconds ≥ 0",
        )?;
        if v > 0 {
            notes.push(format!(
                "{}: not modelled: the cooldown starts with the run",
                at(&join(&spec_path, "initialCooldownPeriod"), n.line)
            ));
        }
    }
    if let Some(n) = field(spec, "fallback") {
        notes.push(format!(
            "{}: dropped: simulated scalers never fail",
            at(&join(&spec_path, "fallback"), n.line)
        ));
    }
    let (up, down) = advanced(spec, spec_node, &spec_path, notes)?;
    let triggers_path = join(&spec_path, "triggers");
    let tn = field(spec, "triggers").ok_or_else(|| {
        fail(
            &triggers_path,
            spec_node.line,
            format!(
                "missing; required: a list of triggers (supported types: {})",
                supported()
            ),
        )
    })?;
    let list = seq_of(tn, &triggers_path)?;
    if list.is_empty() {
        return Err(fail(&triggers_path, tn.line, "empty; required: at least one trigger"));
    }
    let mut converted = Vec::new();
    for (i, t) in list.iter().enumerate() {
        converted.push(trigger(t, &format!("{triggers_path}[{i}]"), notes)?);
    }
    let has_external = converted.iter().any(|c| matches!(c, Converted::External { .. }));
    if min == 0 && !has_external {
        notes.push(format!(
            "{}: 0 with only cpu/memory triggers: KEDA cannot scale such a target to zero \
             (https://keda.sh/docs/2.15/scalers/cpu/), so min = 1",
            at(&join(&spec_path, "minReplicaCount"), spec_node.line)
        ));
        min = 1;
    }
    if max < min.max(1) {
        return Err(fail(
            &join(&spec_path, "maxReplicaCount"),
            field(spec, "maxReplicaCount").map_or(spec_node.line, |n| n.line),
            format!("{max} is below minReplicaCount ({min}); allowed: at least max(minReplicaCount, 1)"),
        ));
    }
    let tolerance = [up.tolerance, down.tolerance]
        .into_iter()
        .flatten()
        .fold(None, |a: Option<f64>, t| Some(a.map_or(t, |a| a.min(t))))
        .unwrap_or(HpaSpec::DEFAULT_TOLERANCE);
    let external: Vec<String> = converted
        .iter()
        .filter_map(|c| match c {
            Converted::External {
                metric,
                target,
                activation,
            } => Some(format!(
                "{{ metric = \"{metric}\", target = {target:?}, activation = {activation:?} }}"
            )),
            _ => None,
        })
        .collect();
    let resource: Vec<String> = converted
        .iter()
        .filter_map(|c| match c {
            Converted::Resource { metric, target } => Some(format!("{{ metric = \"{metric}\", target = {target:?} }}")),
            _ => None,
        })
        .collect();
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(253)
        .collect();
    let mut out = format!(
        "# {KIND}{} (keda.sh/v1alpha1), converted by `tenantsim import-keda`\n\
         [autoscaler]\n\
         policy = \"keda\"\n\
         min = {min}\n\
         max = {max}\n\
         interval = \"{}s\"\n\
         polling_interval = \"{}\"\n\
         cooldown_period = \"{}\"\n\
         tolerance = {tolerance:?}\n",
        if name.is_empty() {
            String::new()
        } else {
            format!(" {name}")
        },
        HpaSpec::DEFAULT_SYNC_PERIOD_S,
        duration(SimTime::from_secs(polling as u64)),
        duration(SimTime::from_secs(cooldown as u64)),
    );
    if !external.is_empty() {
        out.push_str(&format!("triggers = [ {} ]\n", external.join(", ")));
    }
    if !resource.is_empty() {
        out.push_str(&format!("metrics = [ {} ]\n", resource.join(", ")));
    }
    out.push_str(&format!("scale_up = {}\nscale_down = {}\n", up.render(), down.render()));
    Ok(out)
}

/// `spec.advanced`: the generated HPA's behavior; the rest is dropped or
/// refused.
fn advanced(
    spec: &Entries,
    spec_node: &Node,
    spec_path: &str,
    notes: &mut Vec<String>,
) -> Result<(Rules, Rules), String> {
    let path = join(spec_path, "advanced");
    let Some(a) = field(spec, "advanced") else {
        // KEDA's HPA has no behavior then: the HPA importer's default and note.
        return behavior(&[], spec_node, &join(&path, "horizontalPodAutoscalerConfig"), notes);
    };
    let am = map_of(a, &path)?;
    check_keys(
        am,
        &path,
        &[
            "restoreToOriginalReplicaCount",
            "horizontalPodAutoscalerConfig",
            "scalingModifiers",
        ],
    )?;
    if let Some(n) = field(am, "scalingModifiers") {
        return Err(fail(
            &join(&path, "scalingModifiers"),
            n.line,
            "not supported by the simulator (a formula over several triggers); allowed: separate triggers, whose largest proposal wins",
        ));
    }
    if let Some(n) = field(am, "restoreToOriginalReplicaCount") {
        notes.push(format!(
            "{}: dropped: it only matters when the ScaledObject is deleted",
            at(&join(&path, "restoreToOriginalReplicaCount"), n.line)
        ));
    }
    let hpa_path = join(&path, "horizontalPodAutoscalerConfig");
    match field(am, "horizontalPodAutoscalerConfig") {
        None => behavior(&[], a, &hpa_path, notes),
        Some(h) => {
            let hm = map_of(h, &hpa_path)?;
            check_keys(hm, &hpa_path, &["name", "behavior"])?;
            behavior(hm, h, &hpa_path, notes)
        }
    }
}

/// A metadata value as a number (KEDA writes them as strings: "100",
/// '100.50').
fn number(md: &Entries, path: &str, key: &str) -> Result<Option<(f64, usize)>, String> {
    let Some(n) = field(md, key) else { return Ok(None) };
    let p = join(path, key);
    let s = text(n, &p)?;
    match parse_quantity(s) {
        Some(v) => Ok(Some((v, n.line))),
        None => Err(fail(
            &p,
            n.line,
            format!(
                "`{}` is not a number; allowed: a number such as \"100\" or \"0.5\"",
                short(s)
            ),
        )),
    }
}

fn positive(md: &Entries, path: &str, key: &str, default: Option<f64>, parent: &Node) -> Result<f64, String> {
    match number(md, path, key)? {
        Some((v, _)) if v > 0.0 => Ok(v),
        Some((v, line)) => Err(fail(&join(path, key), line, format!("{v}: must be above 0"))),
        None => default.ok_or_else(|| {
            fail(
                &join(path, key),
                parent.line,
                "missing; required: the per-replica target",
            )
        }),
    }
}

fn activation(md: &Entries, path: &str, key: &str) -> Result<f64, String> {
    match number(md, path, key)? {
        Some((v, _)) if v >= 0.0 => Ok(v),
        Some((v, line)) => Err(fail(
            &join(path, key),
            line,
            format!("{v}: must be 0 or more (KEDA's default is 0)"),
        )),
        None => Ok(0.0),
    }
}

fn trigger(t: &Node, path: &str, notes: &mut Vec<String>) -> Result<Converted, String> {
    let m = map_of(t, path)?;
    check_keys(m, path, TRIGGER)?;
    let type_path = join(path, "type");
    let tn = field(m, "type").ok_or_else(|| fail(&type_path, t.line, format!("missing; allowed: {}", supported())))?;
    let kind = text(tn, &type_path)?;
    let md_path = join(path, "metadata");
    let md_node =
        field(m, "metadata").ok_or_else(|| fail(&md_path, t.line, "missing; required: the trigger's metadata"))?;
    let md = map_of(md_node, &md_path)?;
    for k in ["authenticationRef", "useCachedMetrics", "fallback"] {
        if let Some(n) = field(m, k) {
            notes.push(format!("{}: dropped", at(&join(path, k), n.line)));
        }
    }
    let metric_type = match field(m, "metricType") {
        Some(n) => Some((text(n, &join(path, "metricType"))?, n.line)),
        None => None,
    };
    match kind {
        "cpu" | "memory" => {
            let legacy = match field(md, "type") {
                Some(n) => Some((text(n, &join(&md_path, "type"))?, n.line)),
                None => None,
            };
            match metric_type.or(legacy) {
                None | Some(("Utilization", _)) => {}
                Some((other, line)) => {
                    return Err(fail(
                        &join(path, "metricType"),
                        line,
                        format!(
                            "`{}` for a {kind} trigger: allowed: Utilization (an AverageValue needs the pods' requests, which the ScaledObject does not carry)",
                            short(other)
                        ),
                    ))
                }
            }
            let pct = positive(md, &md_path, "value", None, md_node)?;
            if let Some(n) = field(md, "containerName") {
                notes.push(format!(
                    "{}: read as the whole instance's utilization",
                    at(&join(&md_path, "containerName"), n.line)
                ));
            }
            Ok(Converted::Resource {
                metric: if kind == "cpu" { "cpu" } else { "memory" },
                target: pct / 100.0,
            })
        }
        _ => {
            if let Some((mt, line)) = metric_type {
                if mt != "AverageValue" {
                    return Err(fail(
                        &join(path, "metricType"),
                        line,
                        format!(
                            "`{}`: the simulator reads a trigger as an External metric with an average-value target; allowed: AverageValue",
                            short(mt)
                        ),
                    ));
                }
            }
            let (metric, target, act) = external(kind, tn, md, md_node, &md_path, &type_path)?;
            notes.push(format!(
                "{}: trigger `{}` read as the simulated service's {}",
                at(path, t.line),
                short(kind),
                if metric == "rps" {
                    "request rate (all arrivals of the group)"
                } else {
                    "waiting requests (all instances), standing for the backlog"
                }
            ));
            Ok(Converted::External {
                metric,
                target,
                activation: act,
            })
        }
    }
}

/// An External trigger: which simulated metric, its target and activation.
fn external(
    kind: &str,
    tn: &Node,
    md: &Entries,
    md_node: &Node,
    md_path: &str,
    type_path: &str,
) -> Result<(&'static str, f64, f64), String> {
    if kind == "prometheus" {
        let qp = join(md_path, "query");
        let qn = field(md, "query").ok_or_else(|| fail(&qp, md_node.line, "missing; required: the PromQL query"))?;
        let q = text(qn, &qp)?;
        let lower = q.to_ascii_lowercase();
        let rate = ["rate(", "irate(", "increase("].iter().any(|f| lower.contains(f));
        let metric = match classify(q) {
            Class::Rps => "rps",
            Class::Queue => "queue",
            _ if rate && lower.contains("request") => "rps",
            _ => {
                return Err(fail(
                    &qp,
                    qn.line,
                    format!(
                        "`{}` is not a query the simulator can answer; allowed: a request rate (e.g. sum(rate(http_requests_total[2m]))) or a queue length",
                        short(q)
                    ),
                ))
            }
        };
        return Ok((
            metric,
            positive(md, md_path, "threshold", None, md_node)?,
            activation(md, md_path, "activationThreshold")?,
        ));
    }
    let Some(q) = QUEUE_SCALERS.iter().find(|q| q.kind == kind) else {
        return Err(fail(
            type_path,
            tn.line,
            format!(
                "`{}` is not a trigger type the simulator can read; allowed: {}",
                short(kind),
                supported()
            ),
        ));
    };
    let mut metric = "queue";
    let mut target_key = q.target;
    if kind == "rabbitmq" {
        match field(md, "mode") {
            None => {
                // Older form: `queueLength` without a mode.
                if field(md, "queueLength").is_some() {
                    target_key = "queueLength";
                } else {
                    return Err(fail(
                        &join(md_path, "mode"),
                        md_node.line,
                        "missing; allowed: QueueLength, MessageRate (with `value`)",
                    ));
                }
            }
            Some(n) => match text(n, &join(md_path, "mode"))? {
                "QueueLength" => {}
                "MessageRate" => metric = "rps",
                other => {
                    return Err(fail(
                        &join(md_path, "mode"),
                        n.line,
                        format!(
                            "{}: allowed: QueueLength, MessageRate",
                            describe(&Value::Str {
                                text: other.to_owned(),
                                plain: true
                            })
                        ),
                    ))
                }
            },
        }
    }
    Ok((
        metric,
        positive(md, md_path, target_key, q.default, md_node)?,
        activation(md, md_path, q.activation)?,
    ))
}

#[cfg(test)]
mod tests;
