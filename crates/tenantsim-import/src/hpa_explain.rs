//! The inputs of `tenantsim hpa explain`: an HPA manifest (YAML or JSON,
//! read by [`super::hpa_import::read_manifest`]) and a snapshot of its
//! pods (JSON), turned into the arguments of
//! [`tenantsim_model::autoscaler::explain::explain`].
//!
//! The snapshot format is documented in `docs/hpa-explain.md`, with an
//! example in `scenarios/examples/hpa-explain/`. Times are RFC 3339 UTC
//! strings (`2026-12-04T12:00:00Z`, fractions allowed) or seconds (any
//! common axis); durations are strings such as `"15s"` or seconds;
//! resource values and targets are Kubernetes quantities (`"450m"`,
//! `"256Mi"`) or numbers. Every error names the JSON path of the field and
//! what is allowed.
//!
//! Must not: compute anything the controller computes (the model does).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::hpa::{quantity_value, read_manifest, ManifestHpa};
use tenantsim_model::autoscaler::explain::{History, MetricRead};
use tenantsim_model::autoscaler::hpa::HpaSpec;
use tenantsim_model::autoscaler::replica_calc::{
    CalcConfig, MetricInput, Phase, PodSample, PodState, Readiness, Resource, Target,
};

/// Everything `explain` needs, read and checked.
pub struct ExplainInput {
    pub name: String,
    pub spec: HpaSpec,
    pub config: CalcConfig,
    pub now: f64,
    pub replicas: u32,
    pub pods: Vec<PodState>,
    pub metrics: Vec<MetricRead>,
    pub history: History,
}

fn err(path: &str, msg: impl std::fmt::Display) -> String {
    format!("{path}: {msg}")
}

/// Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) as Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        frac = format!("0.{}", &r[..n]).parse().ok()?;
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let hh: i64 = o[1..3].parse().ok()?;
            let mm: i64 = o[4..6].parse().ok()?;
            let v = hh * 3600 + mm * 60;
            if o.starts_with('+') {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some(secs as f64 + frac)
}

fn time(v: &Value, path: &str) -> Result<f64, String> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| err(path, "not a number")),
        Value::String(s) => parse_rfc3339(s).ok_or_else(|| {
            err(
                path,
                format!("`{s}` is not a time; allowed: RFC 3339 such as \"2026-12-04T12:00:00Z\", or seconds"),
            )
        }),
        _ => Err(err(path, "must be a time: an RFC 3339 string or seconds")),
    }
}

fn duration(v: &Value, path: &str) -> Result<f64, String> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|x| *x >= 0.0)
            .ok_or_else(|| err(path, "must be ≥ 0 seconds")),
        Value::String(s) => parse_duration(s).ok_or_else(|| {
            err(
                path,
                format!("`{s}` is not a duration; allowed: a number with ms, s, m or h, e.g. \"15s\", \"5m\""),
            )
        }),
        _ => Err(err(path, "must be a duration such as \"15s\", or seconds")),
    }
}

/// `"15s"`, `"1.5m"`, `"500ms"`, `"1h"` as seconds.
fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let v: f64 = num.trim().parse().ok()?;
    let f = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then_some(v * f)
}

/// A quantity as milli-units (the controller's `MilliValue`).
fn milli(v: &Value, path: &str) -> Result<f64, String> {
    let x = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => quantity_value(s),
        _ => None,
    };
    x.filter(|x| x.is_finite() && *x >= 0.0)
        .map(|x| x * 1000.0)
        .ok_or_else(|| {
            err(
                path,
                "must be a Kubernetes quantity such as \"450m\", \"2\", \"256Mi\", or a number ≥ 0",
            )
        })
}

fn get<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| err(&format!("{path}.{key}"), "required"))
}

fn object<'a>(v: &'a Value, path: &str, allowed: &[&str]) -> Result<&'a serde_json::Map<String, Value>, String> {
    let m = v.as_object().ok_or_else(|| err(path, "must be an object"))?;
    if !allowed.is_empty() {
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(err(
                &format!("{path}.{k}"),
                format!("unknown field; allowed: {}", allowed.join(", ")),
            ));
        }
    }
    Ok(m)
}

/// A metric of the manifest: how it is named and read.
enum MetricDef {
    Resource { resource: Resource, target: Target },
    Pods { name: String, target: f64 },
    Object { name: String, target: Target },
    External { name: String, target: Target },
}

fn target_of(t: &Value, path: &str, utilization_ok: bool) -> Result<Target, String> {
    let ty = t.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "Utilization" if utilization_ok => {
            let u = get(t, "averageUtilization", path)?;
            let p = match u {
                Value::String(s) => s.parse::<f64>().ok(),
                Value::Number(n) => n.as_f64(),
                _ => None,
            }
            .filter(|p| *p > 0.0)
            .ok_or_else(|| err(&format!("{path}.averageUtilization"), "must be a whole percentage ≥ 1"))?;
            Ok(Target::Utilization(p))
        }
        "AverageValue" => Ok(Target::AverageValue(milli(
            get(t, "averageValue", path)?,
            &format!("{path}.averageValue"),
        )?)),
        "Value" if !utilization_ok => Ok(Target::Value(milli(get(t, "value", path)?, &format!("{path}.value"))?)),
        o => Err(err(
            &format!("{path}.type"),
            format!(
                "`{o}`; allowed here: {}",
                if utilization_ok {
                    "Utilization, AverageValue"
                } else {
                    "Value, AverageValue"
                }
            ),
        )),
    }
}

fn metric_defs(hpa: &Value) -> Result<Vec<MetricDef>, String> {
    let Some(metrics) = hpa.pointer("/spec/metrics") else {
        // Kubernetes' default: 80 % average CPU utilization.
        return Ok(vec![MetricDef::Resource {
            resource: Resource::Cpu,
            target: Target::Utilization(80.0),
        }]);
    };
    let list = metrics
        .as_array()
        .ok_or_else(|| err("spec.metrics", "must be a list"))?;
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let path = format!("spec.metrics[{i}]");
        let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
        let def = match ty {
            "Resource" | "ContainerResource" => {
                let key = if ty == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let sp = format!("{path}.{key}");
                let src = get(m, key, &path)?;
                let resource = match src.get("name").and_then(Value::as_str) {
                    Some("cpu") => Resource::Cpu,
                    Some("memory") => Resource::Memory,
                    other => return Err(err(&format!("{sp}.name"), format!("{other:?}: allowed: cpu, memory"))),
                };
                MetricDef::Resource {
                    resource,
                    target: target_of(get(src, "target", &sp)?, &format!("{sp}.target"), true)?,
                }
            }
            "Pods" | "Object" | "External" => {
                let key = match ty {
                    "Pods" => "pods",
                    "Object" => "object",
                    _ => "external",
                };
                let sp = format!("{path}.{key}");
                let src = get(m, key, &path)?;
                let name = src
                    .pointer("/metric/name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(&format!("{sp}.metric.name"), "required"))?
                    .to_string();
                let target = target_of(get(src, "target", &sp)?, &format!("{sp}.target"), false)?;
                match ty {
                    "Pods" => match target {
                        Target::AverageValue(v) => MetricDef::Pods { name, target: v },
                        _ => return Err(err(&format!("{sp}.target.type"), "a Pods metric takes AverageValue")),
                    },
                    "Object" => MetricDef::Object { name, target },
                    _ => MetricDef::External { name, target },
                }
            }
            o => {
                return Err(err(
                    &format!("{path}.type"),
                    format!("`{o}`: allowed: Resource, ContainerResource, Pods, Object, External"),
                ))
            }
        };
        out.push(def);
    }
    Ok(out)
}

const POD_KEYS: &[&str] = &[
    "name",
    "phase",
    "start_time",
    "ready",
    "deleting",
    "requests",
    "metrics",
];

/// A pod's samples by metric name: (value, timestamp, window).
type Samples = BTreeMap<String, (f64, f64, f64)>;

fn pod(v: &Value, path: &str) -> Result<(PodState, Samples), String> {
    let m = object(v, path, POD_KEYS)?;
    let name = m
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| err(&format!("{path}.name"), "required: the pod's name"))?
        .to_string();
    let phase = match m.get("phase").and_then(Value::as_str).unwrap_or("Running") {
        "Pending" => Phase::Pending,
        "Running" => Phase::Running,
        "Succeeded" => Phase::Succeeded,
        "Failed" => Phase::Failed,
        o => {
            return Err(err(
                &format!("{path}.phase"),
                format!("`{o}`: allowed: Pending, Running, Succeeded, Failed"),
            ))
        }
    };
    let start = m
        .get("start_time")
        .map(|t| time(t, &format!("{path}.start_time")))
        .transpose()?;
    let ready = match m.get("ready") {
        None | Some(Value::Null) => None,
        Some(r) => {
            let rp = format!("{path}.ready");
            let ro = object(r, &rp, &["status", "since"])?;
            let status = ro
                .get("status")
                .and_then(Value::as_bool)
                .ok_or_else(|| err(&format!("{rp}.status"), "required: true or false"))?;
            let since = time(
                ro.get("since")
                    .ok_or_else(|| err(&format!("{rp}.since"), "required: the lastTransitionTime"))?,
                &format!("{rp}.since"),
            )?;
            Some(Readiness { ready: status, since })
        }
    };
    let deleted = match m.get("deleting") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(err(&format!("{path}.deleting"), "must be true or false")),
    };
    let mut requests = BTreeMap::new();
    if let Some(r) = m.get("requests") {
        let rp = format!("{path}.requests");
        for (k, v) in object(r, &rp, &["cpu", "memory"])? {
            let res = if k == "cpu" { Resource::Cpu } else { Resource::Memory };
            requests.insert(res, milli(v, &format!("{rp}.{k}"))?);
        }
    }
    let mut samples = BTreeMap::new();
    if let Some(ms) = m.get("metrics") {
        let mp = format!("{path}.metrics");
        for (k, s) in object(ms, &mp, &[])? {
            let sp = format!("{mp}.{k}");
            object(s, &sp, &["value", "timestamp", "window"])?;
            let value = milli(get(s, "value", &sp)?, &format!("{sp}.value"))?;
            let ts = time(get(s, "timestamp", &sp)?, &format!("{sp}.timestamp"))?;
            let window = match s.get("window") {
                None => 15.0,
                Some(w) => duration(w, &format!("{sp}.window"))?,
            };
            samples.insert(k.clone(), (value, ts, window));
        }
    }
    Ok((
        PodState {
            name,
            phase,
            deleted,
            start,
            ready,
            requests,
        },
        samples,
    ))
}

fn target_words(t: &Target) -> String {
    match *t {
        Target::Utilization(p) => format!("{p} % average utilization"),
        Target::AverageValue(v) => format!("average value {}", show_milli(v)),
        Target::Value(v) => format!("value {}", show_milli(v)),
    }
}

/// A milli-value in the quantity notation (`450m`, `2`, `1.5`).
pub fn show_milli(v: f64) -> String {
    if (v / 1000.0).fract() == 0.0 {
        format!("{}", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v}m")
    } else {
        format!("{:.3}", v / 1000.0)
    }
}

/// Reads the manifest and the snapshot.
pub fn read(manifest: &str, snapshot: &str) -> Result<ExplainInput, String> {
    let hpa = read_manifest(manifest).map_err(|e| format!("manifest: {e}"))?;
    let defs = metric_defs(&hpa.json).map_err(|e| format!("manifest: {e}"))?;
    let snap: Value = serde_json::from_str(snapshot)
        .map_err(|e| format!("snapshot: not JSON: {e} (line {}, column {})", e.line(), e.column()))?;
    let top = object(
        &snap,
        "snapshot",
        &[
            "time",
            "replicas",
            "pods",
            "object_metrics",
            "external_metrics",
            "history",
            "controller",
        ],
    )?;
    let now = time(get(&snap, "time", "snapshot")?, "snapshot.time")?;
    let pods_v = get(&snap, "pods", "snapshot")?
        .as_array()
        .ok_or_else(|| err("snapshot.pods", "must be a list of pods"))?;
    let mut pods = Vec::new();
    let mut samples = Vec::new();
    for (i, p) in pods_v.iter().enumerate() {
        let (pod, s) = pod(p, &format!("snapshot.pods[{i}]"))?;
        pods.push(pod);
        samples.push(s);
    }
    let replicas = match top.get("replicas") {
        Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            err(
                "snapshot.replicas",
                "must be a whole number ≥ 0 (the target's spec.replicas)",
            )
        })?,
        // spec.replicas is not in the pods: the pods that are neither
        // failed nor being deleted stand in for it.
        None => pods.iter().filter(|p| !p.deleted && p.phase != Phase::Failed).count() as u32,
    };
    let config = controller_config(top, &hpa)?;
    let metrics = metric_reads(&defs, top, &pods, &samples)?;
    let history = history(top)?;
    let name = hpa
        .json
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)")
        .to_string();
    let mut spec = HpaSpec::with_defaults(hpa.min, hpa.max);
    spec.scale_up = hpa.scale_up;
    spec.scale_down = hpa.scale_down;
    spec.tolerance = config.tolerance_up.min(config.tolerance_down);
    Ok(ExplainInput {
        name,
        spec,
        config,
        now,
        replicas,
        pods,
        metrics,
        history,
    })
}

/// The controller's flags: the tolerances (the manifest's own per
/// direction first, then `snapshot.controller.tolerance`, then the
/// default) and the CPU initialization and readiness delays.
fn controller_config(top: &serde_json::Map<String, Value>, hpa: &ManifestHpa) -> Result<CalcConfig, String> {
    let mut config = CalcConfig {
        tolerance_down: hpa.tolerance_down.unwrap_or(HpaSpec::DEFAULT_TOLERANCE),
        tolerance_up: hpa.tolerance_up.unwrap_or(HpaSpec::DEFAULT_TOLERANCE),
        ..CalcConfig::default()
    };
    if let Some(c) = top.get("controller") {
        let cm = object(
            c,
            "snapshot.controller",
            &["tolerance", "cpu_initialization_period", "initial_readiness_delay"],
        )?;
        if let Some(t) = cm.get("tolerance") {
            let t = t
                .as_f64()
                .filter(|t| (0.0..1.0).contains(t))
                .ok_or_else(|| err("snapshot.controller.tolerance", "must be a number in [0, 1)"))?;
            if hpa.tolerance_down.is_none() {
                config.tolerance_down = t;
            }
            if hpa.tolerance_up.is_none() {
                config.tolerance_up = t;
            }
        }
        if let Some(d) = cm.get("cpu_initialization_period") {
            config.cpu_initialization_period = duration(d, "snapshot.controller.cpu_initialization_period")?;
        }
        if let Some(d) = cm.get("initial_readiness_delay") {
            config.initial_readiness_delay = duration(d, "snapshot.controller.initial_readiness_delay")?;
        }
    }
    Ok(config)
}

/// Each metric of the manifest with what the snapshot says of it: per-pod
/// samples for Resource and Pods metrics, the value(s) for Object and
/// External ones.
fn metric_reads(
    defs: &[MetricDef],
    top: &serde_json::Map<String, Value>,
    pods: &[PodState],
    samples: &[Samples],
) -> Result<Vec<MetricRead>, String> {
    let pod_samples = |key: &str| -> Vec<PodSample> {
        pods.iter()
            .zip(samples)
            .filter_map(|(p, s)| {
                s.get(key).map(|&(value, timestamp, window)| PodSample {
                    pod: p.name.clone(),
                    value,
                    timestamp,
                    window,
                })
            })
            .collect()
    };
    let single = |section: &str, name: &str| -> Result<Vec<f64>, String> {
        let path = format!("snapshot.{section}.{name}");
        match top.get(section).and_then(|s| s.get(name)) {
            None => Ok(vec![]),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| milli(v, &format!("{path}[{i}]")))
                .collect(),
            Some(v) => Ok(vec![milli(v, &path)?]),
        }
    };
    let mut metrics = Vec::new();
    for d in defs {
        metrics.push(match d {
            MetricDef::Resource { resource, target } => MetricRead {
                name: format!("Resource {resource}"),
                target: target_words(target),
                input: MetricInput::Resource {
                    resource: *resource,
                    target: *target,
                    samples: pod_samples(&resource.to_string()),
                },
            },
            MetricDef::Pods { name, target } => MetricRead {
                name: format!("Pods {name}"),
                target: target_words(&Target::AverageValue(*target)),
                input: MetricInput::Pods {
                    target: *target,
                    samples: pod_samples(name),
                },
            },
            MetricDef::Object { name, target } => {
                let v = single("object_metrics", name)?;
                MetricRead {
                    name: format!("Object {name}"),
                    target: target_words(target),
                    input: match v.first() {
                        Some(&value) => MetricInput::Object { value, target: *target },
                        // No value read: the controller fails this metric.
                        None => MetricInput::External {
                            values: vec![],
                            target: *target,
                        },
                    },
                }
            }
            MetricDef::External { name, target } => MetricRead {
                name: format!("External {name}"),
                target: target_words(target),
                input: MetricInput::External {
                    values: single("external_metrics", name)?,
                    target: *target,
                },
            },
        });
    }
    Ok(metrics)
}

/// `snapshot.history`: the recent recommendations and scale events.
fn history(top: &serde_json::Map<String, Value>) -> Result<History, String> {
    let mut history = History::default();
    if let Some(h) = top.get("history") {
        object(h, "snapshot.history", &["recommendations", "scale_events"])?;
        if let Some(Value::Array(rs)) = h.get("recommendations") {
            for (i, r) in rs.iter().enumerate() {
                let p = format!("snapshot.history.recommendations[{i}]");
                object(r, &p, &["time", "replicas"])?;
                let t = time(get(r, "time", &p)?, &format!("{p}.time"))?;
                let n = get(r, "replicas", &p)?
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| err(&format!("{p}.replicas"), "must be a whole number ≥ 0"))?;
                history.recommendations.push((t, n));
            }
        }
        if let Some(Value::Array(es)) = h.get("scale_events") {
            for (i, e) in es.iter().enumerate() {
                let p = format!("snapshot.history.scale_events[{i}]");
                object(e, &p, &["time", "change"])?;
                let t = time(get(e, "time", &p)?, &format!("{p}.time"))?;
                let c = get(e, "change", &p)?
                    .as_i64()
                    .filter(|c| *c != 0)
                    .ok_or_else(|| err(&format!("{p}.change"), "must be a whole number ≠ 0 (+ up, − down)"))?;
                history.scale_events.push((t, c));
            }
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(parse_rfc3339("2026-12-04T12:00:00.5+01:00"), Some(1_796_382_000.5));
        assert_eq!(parse_rfc3339("2026-12-04 12:00"), None);
    }
}
