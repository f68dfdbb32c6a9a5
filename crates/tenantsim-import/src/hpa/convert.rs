//! Conversion: a manifest's tree into an [`Hpa`], with a note for
//! everything dropped or approximated. Reads `spec` (v2, or v1's
//! `targetCPUUtilizationPercentage`), its metrics and its behavior.

use super::*;
pub(super) fn convert(root: &Node, base: &str, notes: &mut Vec<String>) -> Result<Hpa, String> {
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

pub(super) fn replicas(spec: &Entries, node: &Node, path: &str, notes: &mut Vec<String>) -> Result<(i64, i64), String> {
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

pub(super) fn v1_metric(
    spec: &Entries,
    spec_node: &Node,
    path: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Metric>, String> {
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

pub(super) fn metrics(
    spec: &Entries,
    spec_node: &Node,
    spec_path: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Metric>, String> {
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
pub(super) fn metric(m: &Node, path: &str, notes: &mut Vec<String>) -> Result<Result<Metric, String>, String> {
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

pub(super) fn target_of<'a>(
    src: &'a Entries,
    src_node: &Node,
    src_path: &str,
) -> Result<(&'a Entries, &'a Node, String), String> {
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

pub(super) fn resource(
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
pub(crate) enum Class {
    Rps,
    Queue,
    /// A p95 latency; `millis` when the name says its unit is milliseconds.
    LatencyP95 {
        millis: bool,
    },
    OtherLatency,
    Unknown,
}

pub(crate) fn classify(name: &str) -> Class {
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
pub(super) fn custom(
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

pub(crate) fn default_behavior_note(spec_path: &str, line: usize, notes: &mut Vec<String>) {
    notes.push(format!(
        "{}: not set: Kubernetes' default behavior used (scale up: {}; scale down: {}), which approximates the \
         controller's legacy path for an HPA without behavior",
        at(&join(spec_path, "behavior"), line),
        describe_behavior(&Behavior::default_scale_up(), "+"),
        describe_behavior(&Behavior::default_scale_down(), "")
    ));
}

pub(crate) fn behavior(
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

pub(crate) fn rules(
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

pub(crate) fn policies(n: &Node, path: &str) -> Result<Vec<ScalingPolicy>, String> {
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
