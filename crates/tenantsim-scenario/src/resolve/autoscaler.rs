//! `[autoscaler]` into [`AutoscalerSpec`]: its metric, min/max,
//! thresholds, steps or target tracking (ratios checked as ratios), the HPA
//! `behavior` policies and scheduled changes; warns when the initial
//! instance count lies outside [min, max].

use super::*;
use crate::raw::RawScenario;
use tenantsim_model::spec::ControllerSettings;

/// `[autoscaler]`, given `instance.initial`.
pub(super) fn resolve(
    cx: &Ctx,
    raw: &RawScenario,
    initial: u32,
    warnings: &mut Vec<String>,
) -> Result<Option<AutoscalerSpec>, ScenarioError> {
    let autoscaler = match &raw.autoscaler {
        None => None,
        Some(t) => Some(parse_autoscaler(cx, t, initial)?),
    };
    if let Some(a) = &autoscaler {
        if initial < a.min || initial > a.max {
            warnings.push(format!(
                "instance.initial ({initial}) is outside the autoscaler's [{}, {}]: it will be corrected at the first evaluation",
                a.min, a.max
            ));
        }
    }
    Ok(autoscaler)
}

fn parse_metric(cx: &Ctx, key: &str, v: Option<&toml::Value>) -> Result<ScaleMetric, ScenarioError> {
    let s = v.and_then(|v| v.as_str()).ok_or_else(|| {
        cx.err(
            key,
            format!("missing `metric` (one of {})", ScaleMetric::NAMES.join(", ")),
        )
    })?;
    ScaleMetric::parse(s).ok_or_else(|| {
        let hint = did_you_mean(s, ScaleMetric::NAMES.iter().copied())
            .map(|h| format!("; did you mean `{h}`?"))
            .unwrap_or_default();
        cx.err(
            &format!("{key}.metric"),
            format!(
                "`{s}` is not a scaling metric; allowed: {}{hint}",
                ScaleMetric::NAMES.join(", ")
            ),
        )
    })
}

fn parse_behavior(
    cx: &Ctx,
    key: &str,
    v: Option<&toml::Value>,
    default: HpaBehavior,
) -> Result<HpaBehavior, ScenarioError> {
    use tenantsim_model::autoscaler::hpa::{PolicyKind, ScalingPolicy, SelectPolicy};
    let Some(v) = v else { return Ok(default) };
    let t = v.as_table().ok_or_else(|| {
        cx.err(
            key,
            "must be a table: { stabilization = \"300s\", policies = [...], select = \"Max\" }",
        )
    })?;
    let f = Fields { cx, key, t };
    f.check_keys(&["stabilization", "policies", "select"], "an HPA scaling behavior")?;
    let stabilization = f
        .opt_dur("stabilization")?
        .map(SimTime::from_secs_f64)
        .unwrap_or(default.stabilization);
    let select = match f.str("select")? {
        None => default.select,
        Some("Max") | Some("max") => SelectPolicy::Max,
        Some("Min") | Some("min") => SelectPolicy::Min,
        Some("Disabled") | Some("disabled") => SelectPolicy::Disabled,
        Some(o) => return Err(cx.err(&f.path("select"), format!("`{o}`: allowed: Max, Min, Disabled"))),
    };
    let policies = match t.get("policies") {
        None => default.policies,
        Some(toml::Value::Array(a)) => {
            let mut out = Vec::new();
            for (i, p) in a.iter().enumerate() {
                let pk = format!("{key}.policies.{i}");
                let pt = p
                    .as_table()
                    .ok_or_else(|| cx.err(&pk, "each policy is { type = \"Pods\", value = 4, period = \"15s\" }"))?;
                let pf = Fields { cx, key: &pk, t: pt };
                pf.check_keys(&["type", "value", "period"], "an HPA scaling policy")?;
                let kind = match pf.str("type")? {
                    Some("Pods") => PolicyKind::Pods,
                    Some("Percent") => PolicyKind::Percent,
                    _ => return Err(cx.err(&pf.path("type"), "must be \"Pods\" or \"Percent\"")),
                };
                let value = pf.positive("value")?;
                let period = pf.dur("period")?;
                if !(1.0..=1800.0).contains(&period) {
                    return Err(cx.err(&pf.path("period"), "must be between 1s and 1800s (as in Kubernetes)"));
                }
                out.push(ScalingPolicy {
                    kind,
                    value: value as u32,
                    period: SimTime::from_secs_f64(period),
                });
            }
            out
        }
        Some(_) => return Err(cx.err(&f.path("policies"), "must be a list of policies")),
    };
    Ok(HpaBehavior {
        stabilization,
        policies,
        select,
    })
}

fn parse_autoscaler(cx: &Ctx, t: &toml::Table, initial: u32) -> Result<AutoscalerSpec, ScenarioError> {
    let key = "autoscaler";
    let f = Fields { cx, key, t };
    const POLICIES: &[&str] = &[
        "none",
        "threshold",
        "hpa",
        "keda",
        "target-tracking",
        "step",
        "schedule",
    ];
    let policy = f
        .str("policy")?
        .ok_or_else(|| cx.err(key, format!("missing `policy`; allowed: {}", POLICIES.join(", "))))?;
    let common = ["policy", "min", "max", "interval"];
    let allowed: Vec<&str> = match policy {
        "none" => vec![],
        "threshold" => vec![
            "metrics",
            "step",
            "for",
            "cooldown",
            "scale_out_cooldown",
            "scale_in_cooldown",
        ],
        "hpa" => HPA_KEYS.to_vec(),
        "keda" => HPA_KEYS.iter().copied().chain(KEDA_KEYS.iter().copied()).collect(),
        "target-tracking" => vec![
            "metric",
            "target",
            "disable_scale_in",
            "scale_in_cooldown",
            "scale_out_cooldown",
            "warmup",
        ],
        "step" => vec!["metric", "adjustments", "cooldown"],
        "schedule" => vec!["schedule"],
        o => {
            let hint = did_you_mean(o, POLICIES.iter().copied())
                .map(|h| format!("; did you mean `{h}`?"))
                .unwrap_or_default();
            return Err(cx.err(
                "autoscaler.policy",
                format!("`{o}` is not a policy; allowed: {}{hint}", POLICIES.join(", ")),
            ));
        }
    };
    let all: Vec<&str> = common.iter().copied().chain(allowed).collect();
    f.check_keys(&all, &format!("the `{policy}` autoscaler"))?;
    let min = f.opt_num("min")?.unwrap_or(1.0);
    let max = f.opt_num("max")?.unwrap_or((initial.max(1) * 4) as f64);
    if !(min >= 0.0 && min.fract() == 0.0 && min <= 100_000.0) {
        return Err(cx.err("autoscaler.min", "must be a whole number of instances"));
    }
    if !(max >= 1.0 && max >= min && max.fract() == 0.0 && max <= 100_000.0) {
        return Err(cx.err(
            "autoscaler.max",
            format!("must be a whole number ≥ 1 and ≥ min ({min})"),
        ));
    }
    let interval = f
        .opt_dur("interval")?
        .unwrap_or(if policy == "hpa" || policy == "keda" {
            tenantsim_model::autoscaler::hpa::HpaSpec::DEFAULT_SYNC_PERIOD_S
        } else {
            30.0
        });
    if interval <= 0.0 {
        return Err(cx.err("autoscaler.interval", "must be longer than zero"));
    }
    let policy = match policy {
        "none" => PolicySpec::None,
        "threshold" => threshold(&f)?,
        "hpa" => hpa(&f, true)?,
        "keda" => keda(&f)?,
        "target-tracking" => {
            let metric = parse_metric(cx, key, t.get("metric"))?;
            let target = f.positive("target")?;
            if metric.is_ratio() {
                let what = format!("the `{}` target (a utilization)", metric.name());
                ratio(cx, "autoscaler.target", &what, target, true)?;
            }
            PolicySpec::TargetTracking {
                metric,
                target,
                disable_scale_in: t.get("disable_scale_in").and_then(|v| v.as_bool()).unwrap_or(false),
                // Application Auto Scaling's default for ECS services and
                // most targets (300 s each).
                scale_in_cooldown: dur_or(&f, "scale_in_cooldown", 300.0)?,
                scale_out_cooldown: dur_or(&f, "scale_out_cooldown", 300.0)?,
                warmup: dur_or(&f, "warmup", 0.0)?,
            }
        }
        "step" => step(&f)?,
        "schedule" => schedule(&f)?,
        _ => unreachable!("policy names checked above"),
    };
    Ok(AutoscalerSpec {
        min: min as u32,
        max: max as u32,
        interval: SimTime::from_secs_f64(interval),
        policy,
    })
}

/// `policy = "threshold"`: `metrics` with `above`/`below`, `step`, `for`, cooldowns.
fn threshold(f: &Fields) -> Result<PolicySpec, ScenarioError> {
    let cx = f.cx;
    let mut rules = Vec::new();
    for (k, m) in metrics_list(f, "above = 0.7, below = 0.3")? {
        let mf = Fields { cx, key: &k, t: m };
        mf.check_keys(&["metric", "above", "below"], "a threshold metric")?;
        let metric = parse_metric(cx, &k, m.get("metric"))?;
        let (above, below) = (mf.opt_num("above")?, mf.opt_num("below")?);
        if metric.is_ratio() {
            for (b, v) in [("above", above), ("below", below)] {
                if let Some(v) = v {
                    let what = format!("`{b}` (a `{}` utilization)", metric.name());
                    ratio(cx, &mf.path(b), &what, v, false)?;
                }
            }
        }
        if above.is_none() && below.is_none() {
            return Err(cx.err(&k, "give `above` (scale out), `below` (scale in), or both"));
        }
        if let (Some(a), Some(b)) = (above, below) {
            if b >= a {
                return Err(cx.err(
                    &format!("{k}.below"),
                    format!("must be below `above` ({a}), or the policy would flap"),
                ));
            }
        }
        rules.push(ThresholdRule { metric, above, below });
    }
    let step = f.opt_num("step")?.unwrap_or(1.0);
    if !(step >= 1.0 && step.fract() == 0.0) {
        return Err(cx.err("autoscaler.step", "must be a whole number ≥ 1"));
    }
    let cooldown = f.opt_dur("cooldown")?.unwrap_or(120.0);
    Ok(PolicySpec::Threshold {
        rules,
        step: step as u32,
        sustain: dur_or(f, "for", 0.0)?,
        scale_out_cooldown: dur_or(f, "scale_out_cooldown", cooldown)?,
        scale_in_cooldown: dur_or(f, "scale_in_cooldown", cooldown)?,
    })
}

const HPA_KEYS: &[&str] = &[
    "metrics",
    "tolerance",
    "scale_up",
    "scale_down",
    "controller",
    "metric_resolution",
    "scrape_lag",
    "cpu_initialization_period",
    "initial_readiness_delay",
    "container_start",
];
const KEDA_KEYS: &[&str] = &["triggers", "polling_interval", "cooldown_period"];
/// What a KEDA trigger can read: a group total that exists with no
/// instance at all.
const TRIGGER_METRICS: &[&str] = &["rps", "queue"];

/// `policy = "keda"`: the HPA keys (`metrics` optional: KEDA's cpu and
/// memory scalers), `triggers` (External metrics with an `AverageValue`
/// target and an activation threshold), `polling_interval`,
/// `cooldown_period` (KEDA's defaults: 30 s and 300 s).
fn keda(f: &Fields) -> Result<PolicySpec, ScenarioError> {
    let cx = f.cx;
    let need = "metric = \"rps\", target = 100, activation = 0";
    let list = match f.t.get("triggers") {
        None => Vec::new(),
        Some(v) => {
            let a = v
                .as_array()
                .ok_or_else(|| cx.err(&f.path("triggers"), format!("must be a list such as [ {{ {need} }} ]")))?;
            a.iter()
                .enumerate()
                .map(|(i, m)| (format!("autoscaler.triggers.{i}"), m))
                .collect()
        }
    };
    if list.is_empty() && !f.t.contains_key("metrics") {
        return Err(cx.err(
            f.key,
            format!("a keda autoscaler needs `triggers` (e.g. triggers = [ {{ {need} }} ]) or cpu/memory `metrics`"),
        ));
    }
    let mut triggers = Vec::new();
    for (k, m) in list {
        let m = m
            .as_table()
            .ok_or_else(|| cx.err(&k, format!("each trigger is a table such as {{ {need} }}")))?;
        let mf = Fields { cx, key: &k, t: m };
        mf.check_keys(&["metric", "target", "activation"], "a KEDA trigger")?;
        let metric = parse_metric(cx, &k, m.get("metric"))?;
        if !TRIGGER_METRICS.contains(&metric.name()) {
            return Err(cx.err(
                &mf.path("metric"),
                format!(
                    "`{}` is not a trigger metric (a trigger reads the group's total, which exists with no instance); allowed: {}; cpu and memory go in `metrics`",
                    metric.name(),
                    TRIGGER_METRICS.join(", ")
                ),
            ));
        }
        triggers.push(KedaTrigger {
            metric,
            target: mf.positive("target")?,
            activation: mf.opt_num("activation")?.map_or(Ok(0.0), |_| mf.nonneg("activation"))?,
        });
    }
    let polling_interval = dur_or(f, "polling_interval", 30.0)?;
    if polling_interval == SimTime::ZERO {
        return Err(cx.err(&f.path("polling_interval"), "must be longer than zero"));
    }
    let keda = KedaSpec {
        triggers,
        polling_interval,
        cooldown_period: dur_or(f, "cooldown_period", 300.0)?,
    };
    match hpa(f, false)? {
        PolicySpec::Hpa {
            metrics,
            tolerance,
            scale_up,
            scale_down,
            controller,
            ..
        } => {
            if let Some((m, _)) = metrics.iter().find(|(m, _)| !m.is_ratio()) {
                return Err(cx.err(
                    "autoscaler.metrics",
                    format!(
                        "`{}`: a keda autoscaler's `metrics` are its cpu and memory scalers; put `{}` in `triggers`",
                        m.name(),
                        m.name()
                    ),
                ));
            }
            Ok(PolicySpec::Hpa {
                metrics,
                tolerance,
                scale_up,
                scale_down,
                controller,
                keda: Some(keda),
            })
        }
        _ => unreachable!("hpa() returns an hpa policy"),
    }
}

/// `policy = "hpa"`: `metrics` with targets, `tolerance`, `scale_up`/`scale_down` behaviour.
/// `metrics_required`: false for `keda`, whose triggers may be all it has.
fn hpa(f: &Fields, metrics_required: bool) -> Result<PolicySpec, ScenarioError> {
    let (cx, t) = (f.cx, f.t);
    let mut metrics = Vec::new();
    let list = if metrics_required || t.contains_key("metrics") {
        metrics_list(f, "target = 0.7")?
    } else {
        Vec::new()
    };
    for (k, m) in list {
        let mf = Fields { cx, key: &k, t: m };
        mf.check_keys(&["metric", "target"], "an HPA metric")?;
        let metric = parse_metric(cx, &k, m.get("metric"))?;
        let target = mf.positive("target")?;
        if metric.is_ratio() {
            let what = format!("the `{}` target (a utilization)", metric.name());
            ratio(cx, &mf.path("target"), &what, target, true)?;
        }
        metrics.push((metric, target));
    }
    let tolerance = f
        .opt_num("tolerance")?
        .unwrap_or(tenantsim_model::autoscaler::hpa::HpaSpec::DEFAULT_TOLERANCE);
    ratio(cx, "autoscaler.tolerance", "a tolerance", tolerance, false)?;
    if !(0.0..1.0).contains(&tolerance) {
        return Err(cx.err(
            "autoscaler.tolerance",
            "must be between 0 and 1 (Kubernetes' default is 0.1)",
        ));
    }
    Ok(PolicySpec::Hpa {
        metrics,
        tolerance,
        scale_up: parse_behavior(
            cx,
            "autoscaler.scale_up",
            t.get("scale_up"),
            HpaBehavior::default_scale_up(),
        )?,
        scale_down: parse_behavior(
            cx,
            "autoscaler.scale_down",
            t.get("scale_down"),
            HpaBehavior::default_scale_down(),
        )?,
        controller: controller(f)?,
        keda: None,
    })
}

/// `controller = "kubernetes"` (default) or `"simple"`, and the settings of
/// what the Kubernetes controller sees (defaults: kube-controller-manager's
/// and metrics-server's).
fn controller(f: &Fields) -> Result<Option<ControllerSettings>, ScenarioError> {
    let cx = f.cx;
    let keys = [
        "metric_resolution",
        "scrape_lag",
        "cpu_initialization_period",
        "initial_readiness_delay",
        "container_start",
    ];
    match f.str("controller")? {
        None | Some("kubernetes") => {}
        Some("simple") => {
            if let Some(k) = keys.iter().find(|k| f.t.contains_key(**k)) {
                return Err(cx.err(
                    &f.path(k),
                    "only applies to controller = \"kubernetes\"; remove it or the `controller = \"simple\"` line",
                ));
            }
            return Ok(None);
        }
        Some(o) => {
            return Err(cx.err(
                &f.path("controller"),
                format!("`{o}`: allowed: kubernetes (what the real controller sees: pod readiness, samples, windows), simple (averages over ready instances)"),
            ))
        }
    }
    let d = ControllerSettings::default();
    let dur = |k: &str, def: SimTime, positive: bool| -> Result<SimTime, ScenarioError> {
        match f.opt_dur(k)? {
            None => Ok(def),
            Some(v) if v < 0.0 || (positive && v <= 0.0) => Err(cx.err(
                &f.path(k),
                if positive {
                    "must be longer than zero"
                } else {
                    "must not be negative"
                },
            )),
            Some(v) => Ok(SimTime::from_secs_f64(v)),
        }
    };
    Ok(Some(ControllerSettings {
        metric_resolution: dur("metric_resolution", d.metric_resolution, true)?,
        scrape_lag: dur("scrape_lag", d.scrape_lag, false)?,
        cpu_initialization_period: dur("cpu_initialization_period", d.cpu_initialization_period, false)?,
        initial_readiness_delay: dur("initial_readiness_delay", d.initial_readiness_delay, false)?,
        container_start: dur("container_start", d.container_start, false)?,
    }))
}

/// `policy = "step"`: a `metric` and its `adjustments`, `cooldown`.
fn step(f: &Fields) -> Result<PolicySpec, ScenarioError> {
    let (cx, key, t) = (f.cx, f.key, f.t);
    let metric = parse_metric(cx, key, t.get("metric"))?;
    let a = t.get("adjustments").and_then(|v| v.as_array()).ok_or_else(|| {
        cx.err(
            key,
            "missing `adjustments`, e.g. adjustments = [ { lower = 0.7, change = 1 }, { upper = 0.3, change = -1 } ]",
        )
    })?;
    let mut adjustments = Vec::new();
    for (i, x) in a.iter().enumerate() {
        let k = format!("autoscaler.adjustments.{i}");
        let xt = x
            .as_table()
            .ok_or_else(|| cx.err(&k, "each adjustment is { lower = 0.7, upper = 0.9, change = 1 }"))?;
        let xf = Fields { cx, key: &k, t: xt };
        xf.check_keys(&["lower", "upper", "change"], "a step adjustment")?;
        let change = xt
            .get("change")
            .and_then(|v| v.as_integer())
            .ok_or_else(|| cx.err(&k, "missing `change` (whole instances, negative to scale in)"))?;
        let (lower, upper) = (xf.opt_num("lower")?, xf.opt_num("upper")?);
        if metric.is_ratio() {
            for (b, v) in [("lower", lower), ("upper", upper)] {
                if let Some(v) = v {
                    let what = format!("`{b}` (a `{}` utilization)", metric.name());
                    ratio(cx, &xf.path(b), &what, v, false)?;
                }
            }
        }
        adjustments.push(StepAdjustment {
            lower,
            upper,
            change: change as i32,
        });
    }
    Ok(PolicySpec::Step {
        metric,
        adjustments,
        cooldown: dur_or(f, "cooldown", 60.0)?,
    })
}

/// `policy = "schedule"`: `[time, instances]` pairs at increasing times.
fn schedule(f: &Fields) -> Result<PolicySpec, ScenarioError> {
    let (cx, key, t) = (f.cx, f.key, f.t);
    let a = t
        .get("schedule")
        .and_then(|v| v.as_array())
        .ok_or_else(|| cx.err(key, "missing `schedule`, e.g. schedule = [[\"0s\", 3], [\"1h\", 10]]"))?;
    let mut entries = Vec::new();
    for (i, x) in a.iter().enumerate() {
        let k = format!("autoscaler.schedule.{i}");
        let pair = x
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or_else(|| cx.err(&k, "each entry is [\"time\", instances]"))?;
        let at = pair[0]
            .as_str()
            .ok_or_else(|| cx.err(&k, "the time is a duration string such as \"1h\""))?;
        let at = SimTime::from_secs_f64(parse_duration_secs(at).map_err(|m| cx.err(&k, m))?);
        let n = pair[1]
            .as_integer()
            .filter(|n| *n >= 0)
            .ok_or_else(|| cx.err(&k, "the count is a whole number of instances"))?;
        if entries.last().is_some_and(|(t, _): &(SimTime, u32)| at <= *t) {
            return Err(cx.err(&k, "schedule times must increase"));
        }
        entries.push((at, n as u32));
    }
    Ok(PolicySpec::Schedule { entries })
}

/// A duration key of the autoscaler table as a [`SimTime`], `d` seconds when absent.
fn dur_or(f: &Fields, k: &str, d: f64) -> Result<SimTime, ScenarioError> {
    Ok(SimTime::from_secs_f64(f.opt_dur(k)?.unwrap_or(d)))
}

/// `metrics`, a non-empty list of tables (`need` shows what one holds).
fn metrics_list<'t>(f: &Fields<'t, '_>, need: &str) -> Result<Vec<(String, &'t toml::Table)>, ScenarioError> {
    let (cx, key, t) = (f.cx, f.key, f.t);
    let a = t.get("metrics").and_then(|v| v.as_array()).ok_or_else(|| {
        cx.err(
            key,
            format!("missing `metrics`, e.g. metrics = [ {{ metric = \"cpu\", {need} }} ]"),
        )
    })?;
    if a.is_empty() {
        return Err(cx.err("autoscaler.metrics", "needs at least one metric"));
    }
    a.iter()
        .enumerate()
        .map(|(i, m)| {
            let k = format!("autoscaler.metrics.{i}");
            m.as_table().map(|t| (k.clone(), t)).ok_or_else(|| {
                cx.err(
                    &k,
                    format!("each metric is a table such as {{ metric = \"cpu\", {need} }}"),
                )
            })
        })
        .collect()
}
