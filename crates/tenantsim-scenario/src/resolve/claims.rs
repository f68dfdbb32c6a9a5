//! `[[claim]]` and `[slo]` into [`Claim`]s and [`SloCheck`]s: a claim's metric
//! (a name from [`tenantsim_model::metrics::names`], with its unit: durations for
//! latencies, ratios checked as ratios) and bound, or a lint rule, a
//! Little's-law check, or an untestable reason; its optional tier or
//! request stage, and the condition it holds under (`if_key`, `if_range`,
//! `if_step`). A metric that needs a component the scenario lacks
//! ([`Components`]) is refused.

use super::{num, ratio, Ctx};
use crate::error::{did_you_mean, ScenarioError};
use crate::source::parse_path;
use crate::units::parse_duration_secs;
use crate::*;
use tenantsim_engine::SimTime;
use tenantsim_model::metrics::names::{self, Better, Needs, Unit};

/// Which optional components a scenario has (for metrics that need them).
#[derive(Clone, Copy)]
pub(super) struct Components {
    pub(super) pool: bool,
    pub(super) database: bool,
    pub(super) cache: bool,
    pub(super) finite: bool,
    pub(super) db_breaker: bool,
    pub(super) cache_breaker: bool,
    pub(super) shedding: bool,
    pub(super) memory: bool,
    pub(super) background: bool,
    pub(super) pauses: bool,
    pub(super) stages: bool,
    pub(super) limiters: bool,
    pub(super) limit_store: bool,
    pub(super) replicas: bool,
    pub(super) sessions: bool,
    pub(super) gc: bool,
    pub(super) autoscaler: bool,
    /// An `[slo.scaling]` load step.
    pub(super) scaling_step: bool,
}

impl Components {
    fn has(&self, n: Needs) -> bool {
        match n {
            Needs::Nothing => true,
            Needs::Pool => self.pool,
            Needs::Database => self.database,
            Needs::Cache => self.cache,
            Needs::FiniteTest => self.finite,
            Needs::Breaker => self.db_breaker || self.cache_breaker,
            Needs::DbBreaker => self.db_breaker,
            Needs::CacheBreaker => self.cache_breaker,
            Needs::Shedding => self.shedding,
            Needs::Stages => self.stages,
            Needs::Memory => self.memory,
            Needs::Background => self.background,
            Needs::Pauses => self.pauses,
            Needs::Limiters => self.limiters,
            Needs::LimitStore => self.limit_store,
            Needs::Replicas => self.replicas,
            Needs::Sessions => self.sessions,
            Needs::EmergencyGc => self.gc,
            Needs::Autoscaler => self.autoscaler,
            Needs::ScalingStep => self.autoscaler && self.scaling_step,
        }
    }
}

/// The keys a `[[claim]]` may have.
const CLAIM_KEYS: [&str; 16] = [
    "id",
    "source",
    "text",
    "metric",
    "at_least",
    "at_most",
    "tier",
    "untestable",
    "stage",
    "lint",
    "littles_law",
    "if_key",
    "if_range",
    "if_step",
    "states",
    "calibrated",
];

/// `[[claim]]`: `id`, `source`, `text`, and one of: `metric` with one of
/// `at_least` / `at_most` (latency limits as durations) and an optional
/// `tier` or `stage` (a request stage's own figure); `lint = "rule-id"`; `littles_law = { ... }`; or
/// `untestable = "why"`. Metric and lint claims may name a knob for
/// "holds only if" (`if_key`, `if_range`, `if_step`).
pub(super) fn parse_claims(
    cx: &Ctx,
    claims: &[toml::Table],
    tiers: &[String],
    components: Components,
    endpoints: &[Endpoint],
    workloads: &[Workload],
) -> Result<Vec<Claim>, ScenarioError> {
    let mut out: Vec<Claim> = Vec::new();
    for (i, t) in claims.iter().enumerate() {
        let key = |k: &str| format!("claim.{i}.{k}");
        check_claim_keys(cx, i, t)?;
        let head = parse_claim_head(cx, i, t, &out)?;
        if let Some(why) = claim_text(cx, i, t, "untestable")? {
            out.push(head.plain(None, None, None, Some(why)));
            continue;
        }
        if let Some(rule) = claim_text(cx, i, t, "lint")? {
            let rule_id = lint_rule(cx, &key("lint"), &rule)?;
            out.push(head.plain(None, Some(rule_id), None, None));
            continue;
        }
        if let Some(v) = t.get("littles_law") {
            let ll = parse_littles_law(cx, &key("littles_law"), v, workloads)?;
            out.push(head.plain(None, None, Some(ll), None));
            continue;
        }
        if let Some(stage) = claim_text(cx, i, t, "stage")? {
            let ClaimHead {
                id,
                source,
                text,
                condition,
                states,
                calibrated,
                ..
            } = head;
            let mut c = parse_stage_claim(cx, t, i, id, source, text, &stage, endpoints)?;
            c.condition = condition;
            c.states = states;
            c.calibrated = calibrated;
            out.push(c);
            continue;
        }
        if head.states_only {
            // Only what it states: judged by the consistency pass.
            out.push(head.plain(None, None, None, None));
            continue;
        }
        out.push(parse_metric_claim(cx, i, t, head, tiers, components)?);
    }
    Ok(out)
}

/// What every kind of claim has: who makes it, when it holds, and what it states.
struct ClaimHead {
    id: String,
    source: String,
    text: String,
    condition: Option<ClaimCondition>,
    states: Vec<crate::statement::Statement>,
    calibrated: Option<String>,
    /// No `metric`, `lint`, `littles_law` or `untestable`: the claim only states values.
    states_only: bool,
}

impl ClaimHead {
    /// A claim of this head checked by no metric (a lint, Little's law, untestable, or statements only).
    fn plain(
        &self,
        metric: Option<&'static str>,
        lint: Option<&'static str>,
        littles_law: Option<LittlesLaw>,
        untestable: Option<String>,
    ) -> Claim {
        Claim {
            id: self.id.clone(),
            source: self.source.clone(),
            text: self.text.clone(),
            metric,
            tier: None,
            stage: None,
            bound: Bound::AtMost,
            limit: 0.0,
            untestable,
            lint,
            littles_law,
            condition: self.condition.clone(),
            states: self.states.clone(),
            calibrated: self.calibrated.clone(),
        }
    }
}

/// Key `k` of claim `i` as text (`None` when absent; an error when not a string).
fn claim_text(cx: &Ctx, i: usize, t: &toml::Table, k: &str) -> Result<Option<String>, ScenarioError> {
    match t.get(k) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(cx.err(&format!("claim.{i}.{k}"), format!("must be a string, got {v}"))),
    }
}

/// Claim `i`'s id (unique among the claims before it, `seen`), source,
/// text, condition and statements; refuses two ways of checking it, and a
/// condition on a claim that cannot have one.
fn parse_claim_head(cx: &Ctx, i: usize, t: &toml::Table, seen: &[Claim]) -> Result<ClaimHead, ScenarioError> {
    let key = |k: &str| format!("claim.{i}.{k}");
    let id = claim_text(cx, i, t, "id")?.ok_or_else(|| cx.err(&format!("claim.{i}"), "a claim needs an `id`"))?;
    if seen.iter().any(|c| c.id == id) {
        return Err(cx.err(&key("id"), format!("claim id `{id}` is used twice")));
    }
    let source = claim_text(cx, i, t, "source")?.unwrap_or_default();
    let text = claim_text(cx, i, t, "text")?.unwrap_or_default();
    let kinds: Vec<&str> = ["metric", "untestable", "lint", "littles_law"]
        .into_iter()
        .filter(|k| t.contains_key(*k))
        .collect();
    if kinds.len() > 1 {
        return Err(cx.err(
            &key(kinds[1]),
            format!(
                "a claim is checked one way: give one of `metric`, `lint`, `littles_law` or `untestable`, not {}",
                kinds.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
            ),
        ));
    }
    let condition = parse_claim_condition(cx, i, t)?;
    let states = match t.get("states") {
        Some(v) => super::statements::parse_statements(cx, &key("states"), v)?,
        None => Vec::new(),
    };
    let calibrated = super::statements::parse_calibrated(cx, &key("calibrated"), t.get("calibrated"))?;
    let states_only = kinds.is_empty() && (!states.is_empty() || calibrated.is_some());
    if condition.is_some() && (t.contains_key("untestable") || t.contains_key("littles_law") || states_only) {
        return Err(cx.err(
            &key("if_key"),
            "`if_key` (holds only if) applies to `metric` and `lint` claims only",
        ));
    }
    Ok(ClaimHead {
        id,
        source,
        text,
        condition,
        states,
        calibrated,
        states_only,
    })
}

/// A claim on a metric: the metric (one this scenario reports), its bound
/// (`at_least` or `at_most`, in the metric's unit) and an optional tier.
fn parse_metric_claim(
    cx: &Ctx,
    i: usize,
    t: &toml::Table,
    head: ClaimHead,
    tiers: &[String],
    components: Components,
) -> Result<Claim, ScenarioError> {
    let key = |k: &str| format!("claim.{i}.{k}");
    let m = claim_text(cx, i, t, "metric")?.ok_or_else(|| {
        cx.err(
            &format!("claim.{i}"),
            "a claim needs a `metric` with `at_least` or `at_most`, a `lint = \"rule-id\"`, a `littles_law = { ... }`, `untestable = \"why\"`, or what it states (`states = { quantity = ..., value = ... }`)",
        )
    })?;
    let def = names::metric(&m).ok_or_else(|| {
        let hint = did_you_mean(&m, names::METRICS.iter().map(|d| d.name))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        cx.err(&key("metric"), format!("`{m}` is not a metric{hint}"))
    })?;
    if !components.has(def.needs) {
        return Err(cx.err(
            &key("metric"),
            format!(
                "`{m}` needs a {:?} component, which this scenario does not have",
                def.needs
            ),
        ));
    }
    let (bound, k) = match (t.get("at_least"), t.get("at_most")) {
        (Some(_), None) => (Bound::AtLeast, "at_least"),
        (None, Some(_)) => (Bound::AtMost, "at_most"),
        _ => return Err(cx.err(&format!("claim.{i}"), "give exactly one of `at_least` and `at_most`")),
    };
    let v = &t[k];
    let limit = match (def.unit, v) {
        (Unit::Seconds, toml::Value::String(s)) => parse_duration_secs(s).map_err(|e| cx.err(&key(k), e))?,
        (_, v) => num(v).ok_or_else(|| cx.err(&key(k), format!("must be a number, got {v}")))?,
    };
    if !limit.is_finite() {
        return Err(cx.err(&key(k), "must be a finite number"));
    }
    if def.unit == Unit::Ratio {
        ratio(cx, &key(k), &format!("a claim on `{m}`"), limit, false)?;
    }
    let tier = match claim_text(cx, i, t, "tier")? {
        None => None,
        Some(name) => {
            if !def.per_tier {
                return Err(cx.err(&key("tier"), format!("`{m}` is not reported per tier")));
            }
            Some(
                tiers
                    .iter()
                    .position(|n| *n == name)
                    .ok_or_else(|| cx.err(&key("tier"), format!("no tier `{name}`; tiers: {}", tiers.join(", "))))?,
            )
        }
    };
    Ok(Claim {
        id: head.id,
        source: head.source,
        text: head.text,
        metric: Some(def.name),
        tier,
        stage: None,
        bound,
        limit,
        untestable: None,
        lint: None,
        littles_law: None,
        condition: head.condition,
        states: head.states,
        calibrated: head.calibrated,
    })
}

/// Refuse a key of claim `i` not in [`CLAIM_KEYS`].
fn check_claim_keys(cx: &Ctx, i: usize, t: &toml::Table) -> Result<(), ScenarioError> {
    cx.refuse_unknown_keys(&format!("claim.{i}"), t, &CLAIM_KEYS, " in a claim")
}

/// A claim's `lint = "rule-id"`: the id of one of [`crate::lint::rules::RULES`].
fn lint_rule(cx: &Ctx, key: &str, rule: &str) -> Result<&'static str, ScenarioError> {
    let Some(r) = crate::lint::rules::RULES.iter().find(|r| r.id == rule) else {
        let hint = did_you_mean(rule, crate::lint::rules::RULES.iter().map(|r| r.id))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(cx.err(
            key,
            format!(
                "`{rule}` is not a lint rule{hint} (rules: {})",
                crate::lint::rules::RULES
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    Ok(r.id)
}

/// A claim on one request stage (`stage = "jwt"` or `"e2e.jwt"`): its
/// metric is a stage metric (`latency_mean_s` … `latency_p99_s`,
/// `failure_rate`); no `tier`.
#[allow(clippy::too_many_arguments)]
fn parse_stage_claim(
    cx: &Ctx,
    t: &toml::Table,
    i: usize,
    id: String,
    source: String,
    text: String,
    stage: &str,
    endpoints: &[Endpoint],
) -> Result<Claim, ScenarioError> {
    let key = |k: &str| format!("claim.{i}.{k}");
    if t.contains_key("tier") {
        return Err(cx.err(
            &key("tier"),
            "a stage claim has no `tier` (stages are not reported per tier)",
        ));
    }
    let all: Vec<String> = endpoints
        .iter()
        .flat_map(|e| e.stages.iter().map(move |s| format!("{}.{}", e.name, s.name)))
        .collect();
    let matches: Vec<&String> = all
        .iter()
        .filter(|q| *q == stage || q.split_once('.').is_some_and(|(_, s)| s == stage))
        .collect();
    let qualified = match matches.as_slice() {
        [one] => (*one).clone(),
        [] if all.is_empty() => {
            return Err(cx.err(&key("stage"), "no endpoint has stages ([[endpoint.NAME.stage]])"));
        }
        [] => {
            return Err(cx.err(
                &key("stage"),
                format!("no stage named `{stage}` (stages: {})", all.join(", ")),
            ))
        }
        several => {
            return Err(cx.err(
                &key("stage"),
                format!(
                    "`{stage}` is a stage of several endpoints: write \"ENDPOINT.{stage}\" ({})",
                    several.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    };
    let allowed: Vec<&str> = STAGE_METRICS.iter().map(|(m, _)| *m).collect();
    let m = match t.get("metric") {
        Some(toml::Value::String(s)) => s.clone(),
        Some(v) => return Err(cx.err(&key("metric"), format!("must be a string, got {v}"))),
        None => return Err(cx.err(&format!("claim.{i}"), "a stage claim needs a `metric`")),
    };
    let Some(&(metric, is_ratio)) = STAGE_METRICS.iter().find(|(n, _)| *n == m) else {
        return Err(cx.err(
            &key("metric"),
            format!("`{m}` is not a stage metric; allowed: {}", allowed.join(", ")),
        ));
    };
    let (bound, k) = match (t.get("at_least"), t.get("at_most")) {
        (Some(_), None) => (Bound::AtLeast, "at_least"),
        (None, Some(_)) => (Bound::AtMost, "at_most"),
        _ => return Err(cx.err(&format!("claim.{i}"), "give exactly one of `at_least` and `at_most`")),
    };
    let limit = match &t[k] {
        toml::Value::String(s) if !is_ratio => parse_duration_secs(s).map_err(|e| cx.err(&key(k), e))?,
        v => num(v).ok_or_else(|| cx.err(&key(k), format!("must be a number, got {v}")))?,
    };
    if !limit.is_finite() {
        return Err(cx.err(&key(k), "must be a finite number"));
    }
    if is_ratio {
        ratio(cx, &key(k), &format!("a claim on `{m}`"), limit, false)?;
    }
    Ok(Claim {
        id,
        source,
        text,
        metric: Some(metric),
        tier: None,
        stage: Some(qualified),
        bound,
        limit,
        untestable: None,
        lint: None,
        littles_law: None,
        condition: None,
        states: Vec::new(),
        calibrated: None,
    })
}

/// `if_key`, `if_range = [from, to]` (numbers or durations) and `if_step`
/// (default 1, or 1 s for durations): the values a failing claim's
/// condition is searched over, from `from` towards `to`.
fn parse_claim_condition(cx: &Ctx, i: usize, t: &toml::Table) -> Result<Option<ClaimCondition>, ScenarioError> {
    let key = |k: &str| format!("claim.{i}.{k}");
    let Some(k) = t.get("if_key") else {
        for k in ["if_range", "if_step"] {
            if t.contains_key(k) {
                return Err(cx.err(&key(k), format!("`{k}` needs an `if_key` (the knob to search)")));
            }
        }
        return Ok(None);
    };
    let toml::Value::String(knob) = k else {
        return Err(cx.err(
            &key("if_key"),
            format!("must be a key path such as \"instance.initial\", got {k}"),
        ));
    };
    // The knob must exist in the scenario: its value is the setting the
    // claim is judged at first.
    fn lookup<'a>(v: &'a toml::Value, segs: &[crate::source::Seg]) -> Option<&'a toml::Value> {
        let Some((first, rest)) = segs.split_first() else {
            return Some(v);
        };
        let next = match first {
            crate::source::Seg::Key(k) => v.as_table()?.get(k)?,
            crate::source::Seg::Index(i) => v.as_array()?.get(*i)?,
        };
        lookup(next, rest)
    }
    let segs = parse_path(knob);
    let found = match segs.split_first() {
        Some((crate::source::Seg::Key(k), rest)) => cx.sources.merged.get(k).and_then(|v| lookup(v, rest)),
        _ => None,
    };
    if found.is_none() {
        return Err(cx.err(
            &key("if_key"),
            format!("`{knob}` is not set in this scenario: the search starts from the scenario's own value, so name a key it sets"),
        ));
    }
    let range = t.get("if_range").ok_or_else(|| {
        cx.err(
            &key("if_key"),
            "give the values to search: if_range = [from, to], e.g. [2, 20]",
        )
    })?;
    let ends: Vec<&toml::Value> = match range {
        toml::Value::Array(a) if a.len() == 2 => a.iter().collect(),
        _ => {
            return Err(cx.err(
                &key("if_range"),
                "must be [from, to]: two numbers or two durations, e.g. [2, 20] or [\"1s\", \"8s\"]",
            ))
        }
    };
    let duration = matches!(ends[0], toml::Value::String(_));
    let as_num = |v: &toml::Value, what: &str| -> Result<f64, ScenarioError> {
        let x = match (duration, v) {
            (true, toml::Value::String(s)) => parse_duration_secs(s).map_err(|e| cx.err(&key(what), e))?,
            (false, v) => num(v).ok_or_else(|| cx.err(&key(what), format!("must be a number, got {v}")))?,
            (true, v) => {
                return Err(cx.err(
                    &key(what),
                    format!("must be a duration like \"2s\" (as if_range), got {v}"),
                ))
            }
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(cx.err(&key(what), "must be finite"))
        }
    };
    let (from, to) = (as_num(ends[0], "if_range")?, as_num(ends[1], "if_range")?);
    if from == to {
        return Err(cx.err(&key("if_range"), "from and to must differ"));
    }
    let step = match t.get("if_step") {
        None => 1.0,
        Some(v) => as_num(v, "if_step")?,
    };
    if step <= 0.0 {
        return Err(cx.err(&key("if_step"), "must be positive"));
    }
    let n = ((to - from).abs() / step + 1e-9).floor() as usize + 1;
    if n > 10_000 {
        return Err(cx.err(&key("if_step"), format!("{n} values to search: use a larger step")));
    }
    let ascending = to > from;
    let integral = !duration && from.fract() == 0.0 && step.fract() == 0.0;
    let values = (0..n)
        .map(|k| {
            let x = if ascending {
                from + step * k as f64
            } else {
                from - step * k as f64
            };
            let x = (x * 1e9).round() / 1e9;
            let text = if duration {
                format!("{x}s")
            } else if integral {
                format!("{}", x as i64)
            } else {
                format!("{x}")
            };
            (text, x)
        })
        .collect();
    Ok(Some(ClaimCondition {
        key: knob.clone(),
        values,
        ascending,
        duration,
    }))
}

/// `littles_law = { users, think_time | concurrency, throughput, latency,
/// tolerance }`; users and think time default to the scenario's closed
/// workloads.
fn parse_littles_law(
    cx: &Ctx,
    key: &str,
    v: &toml::Value,
    workloads: &[Workload],
) -> Result<LittlesLaw, ScenarioError> {
    let toml::Value::Table(t) = v else {
        return Err(cx.err(
            key,
            "must be a table, e.g. { users = 50, think_time = \"0s\", throughput = 150, latency = \"65ms\" }",
        ));
    };
    const KEYS: [&str; 6] = [
        "users",
        "think_time",
        "concurrency",
        "throughput",
        "latency",
        "tolerance",
    ];
    cx.refuse_unknown_keys(key, t, &KEYS, "")?;
    let sub = |k: &str| format!("{key}.{k}");
    let positive = |k: &str| -> Result<Option<f64>, ScenarioError> {
        match t.get(k) {
            None => Ok(None),
            Some(v) => match num(v) {
                Some(x) if x.is_finite() && x > 0.0 => Ok(Some(x)),
                _ => Err(cx.err(&sub(k), format!("must be a positive number, got {v}"))),
            },
        }
    };
    let duration = |k: &str| -> Result<Option<f64>, ScenarioError> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => parse_duration_secs(s).map(Some).map_err(|e| cx.err(&sub(k), e)),
            Some(v) => Err(cx.err(&sub(k), format!("must be a duration such as \"65ms\", got {v}"))),
        }
    };
    let throughput =
        positive("throughput")?.ok_or_else(|| cx.err(key, "give the stated `throughput` (requests per second)"))?;
    let latency = duration("latency")?.filter(|x| *x > 0.0).ok_or_else(|| {
        cx.err(
            key,
            "give the stated mean `latency` as a positive duration, e.g. \"65ms\"",
        )
    })?;
    let tolerance = match t.get("tolerance") {
        None => 0.2,
        Some(v) => match num(v) {
            Some(x) if (0.0..10.0).contains(&x) => x,
            _ => {
                return Err(cx.err(
                    &sub("tolerance"),
                    format!("a relative mismatch between 0 and 10, got {v}"),
                ))
            }
        },
    };
    let (population, population_from) = match (positive("users")?, positive("concurrency")?) {
        (Some(_), Some(_)) => {
            return Err(cx.err(
                &sub("concurrency"),
                "give `users` (closed, with think_time) or `concurrency` (requests in flight), not both",
            ))
        }
        (None, Some(c)) => {
            if t.contains_key("think_time") {
                return Err(cx.err(&sub("think_time"), "think_time goes with `users`, not `concurrency`"));
            }
            (Population::Concurrency(c), "littles_law.concurrency".to_string())
        }
        (Some(n), None) => (
            Population::Users {
                users: n,
                think: duration("think_time")?.unwrap_or(0.0),
            },
            "littles_law.users".to_string(),
        ),
        (None, None) => {
            let closed: Vec<(f64, f64)> = workloads
                .iter()
                .filter_map(|w| match &w.arrival {
                    Arrival::Closed { think, .. } => {
                        Some((w.tenants as f64 * w.arrival.max_users() as f64, think.mean_secs()))
                    }
                    _ => None,
                })
                .collect();
            let n: f64 = closed.iter().map(|c| c.0).sum();
            if n <= 0.0 {
                return Err(cx.err(
                    key,
                    "the scenario has no closed workload to take the users from: give `users` (and `think_time`) or `concurrency`",
                ));
            }
            let think = match duration("think_time")? {
                Some(z) => z,
                None => closed.iter().map(|c| c.0 * c.1).sum::<f64>() / n,
            };
            (
                Population::Users { users: n, think },
                "the scenario's closed workloads".to_string(),
            )
        }
    };
    Ok(LittlesLaw {
        population,
        throughput,
        latency,
        tolerance,
        population_from,
    })
}

pub(super) fn parse_slo(
    cx: &Ctx,
    slo: Option<&toml::Table>,
    tiers: &[String],
    components: Components,
) -> Result<Vec<SloCheck>, ScenarioError> {
    let mut checks = Vec::new();
    let Some(slo) = slo else { return Ok(checks) };
    let mut add = |key_prefix: &str, t: &toml::Table, tier: Option<usize>| -> Result<(), ScenarioError> {
        for (k, v) in t {
            if tier.is_none() && (k == "tier" || k == "stage" || k == "scaling") {
                continue;
            }
            let key = format!("{key_prefix}.{k}");
            // `latency_p95 = "500ms"` or the metric's own name `latency_p95_s = 0.5`.
            let def = names::metric(k)
                .or_else(|| names::metric(&format!("{k}_s")))
                .ok_or_else(|| {
                    let all = names::METRICS.iter().map(|m| m.name.trim_end_matches("_s"));
                    let hint = did_you_mean(k, all)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    cx.err(
                        &key,
                        format!(
                            "`{k}` is not a metric an SLO can check{hint} (see `tenantsim run --help` for the list)"
                        ),
                    )
                })?;
            if !components.has(def.needs) {
                return Err(cx.err(
                    &key,
                    format!(
                        "`{k}` needs a {:?} component, which this scenario does not have",
                        def.needs
                    ),
                ));
            }
            if tier.is_some() && !def.per_tier {
                return Err(cx.err(&key, format!("`{k}` is not reported per tier")));
            }
            let limit = match (def.unit, v) {
                (Unit::Seconds, toml::Value::String(s)) => parse_duration_secs(s).map_err(|m| cx.err(&key, m))?,
                (Unit::Seconds, _) if !k.ends_with("_s") => {
                    return Err(cx.err(&key, format!("a latency limit is a duration, e.g. {k} = \"500ms\"")));
                }
                (_, v) => num(v).ok_or_else(|| cx.err(&key, format!("must be a number, got {v}")))?,
            };
            if def.unit == Unit::Ratio {
                ratio(cx, &key, &format!("`{k}`"), limit, false)?;
            }
            if !(limit.is_finite() && limit >= 0.0) {
                return Err(cx.err(&key, "must be zero or positive"));
            }
            checks.push(SloCheck {
                name: k.trim_end_matches("_s").to_string(),
                metric: def.name,
                tier,
                stage: None,
                limit,
                bound: if def.better == Better::Higher {
                    Bound::AtLeast
                } else {
                    Bound::AtMost
                },
            });
        }
        Ok(())
    };
    add("slo", slo, None)?;
    if let Some(tt) = slo.get("tier") {
        let tt = tt
            .as_table()
            .ok_or_else(|| cx.err("slo.tier", "must be a table of tiers: [slo.tier.NAME]"))?;
        for (name, t) in tt {
            let idx = tiers.iter().position(|n| n == name).ok_or_else(|| {
                cx.err(
                    &format!("slo.tier.{name}"),
                    format!("no tier named `{name}` (tiers: {})", tiers.join(", ")),
                )
            })?;
            let t = t
                .as_table()
                .ok_or_else(|| cx.err(&format!("slo.tier.{name}"), "must be a table"))?;
            add(&format!("slo.tier.{name}"), t, Some(idx))?;
        }
    }
    Ok(checks)
}

/// `[slo.scaling]`: the load step the scaling-timeline metrics measure
/// from (`step_at`), the steady-state instance count the load after it
/// needs (`need`), and the end of the stretch (`until`, default the end of
/// the run). Needs an `[autoscaler]`; `step_at` < an explicit `until` ≤
/// the duration (a step at or after the end leaves the metrics undefined).
pub(super) fn parse_scaling_reference(
    cx: &Ctx,
    slo: Option<&toml::Table>,
    has_autoscaler: bool,
    duration: SimTime,
) -> Result<Option<ScalingReference>, ScenarioError> {
    let Some(v) = slo.and_then(|s| s.get("scaling")) else {
        return Ok(None);
    };
    let key = "slo.scaling";
    let t = v
        .as_table()
        .ok_or_else(|| cx.err(key, "must be a table: [slo.scaling] with step_at, need and until"))?;
    let f = super::Fields { cx, key, t };
    f.check_keys(&["step_at", "need", "until"], "[slo.scaling]")?;
    if !has_autoscaler {
        return Err(cx.err(
            key,
            "the scaling-timeline metrics need an [autoscaler] (nothing scales without one)",
        ));
    }
    let step_at = SimTime::from_secs_f64(f.dur("step_at")?);
    let need = f.positive("need")?;
    if need.fract() != 0.0 || need > f64::from(u32::MAX) {
        return Err(cx.err(
            &f.path("need"),
            format!("must be a whole number of instances, got {need}"),
        ));
    }
    let explicit_until = f.opt_dur("until")?.map(SimTime::from_secs_f64);
    let until = explicit_until.unwrap_or(duration);
    if until > duration {
        return Err(cx.err(
            &f.path("until"),
            format!(
                "must be within the run (simulation.duration = {}s), got {}s",
                duration.as_secs_f64(),
                until.as_secs_f64()
            ),
        ));
    }
    // A step after the end of a run shortened with --set leaves the step
    // metrics undefined (an SLO on them fails); against an explicit
    // `until` it is a mistake in the file.
    if explicit_until.is_some() && step_at >= until {
        return Err(cx.err(
            &f.path("step_at"),
            format!(
                "must be before `until` ({}s; default: the end of the run), got {}s",
                until.as_secs_f64(),
                step_at.as_secs_f64()
            ),
        ));
    }
    Ok(Some(ScalingReference {
        step_at,
        need: need as u32,
        until,
    }))
}

/// `[slo.stage.NAME]`: limits on one request stage's latency
/// (`latency_mean`, `latency_p50`, `latency_p95`, `latency_p99`) or
/// `failure_rate`. NAME is `endpoint.stage`, or the stage's name alone when
/// only one endpoint has a stage of that name.
pub(super) fn parse_stage_slo(
    cx: &Ctx,
    slo: Option<&toml::Table>,
    endpoints: &[Endpoint],
) -> Result<Vec<SloCheck>, ScenarioError> {
    let mut checks = Vec::new();
    let Some(st) = slo.and_then(|s| s.get("stage")) else {
        return Ok(checks);
    };
    let st = st
        .as_table()
        .ok_or_else(|| cx.err("slo.stage", "must be a table of stages: [slo.stage.NAME]"))?;
    let all: Vec<String> = endpoints
        .iter()
        .flat_map(|e| e.stages.iter().map(move |s| format!("{}.{}", e.name, s.name)))
        .collect();
    let allowed: Vec<&str> = STAGE_METRICS.iter().map(|(m, _)| m.trim_end_matches("_s")).collect();
    for (name, t) in st {
        let key = format!("slo.stage.{name}");
        let matches: Vec<&String> = all
            .iter()
            .filter(|q| *q == name || q.split_once('.').is_some_and(|(_, s)| s == name))
            .collect();
        let qualified = match matches.as_slice() {
            [one] => (*one).clone(),
            [] => {
                let bare = all.iter().filter_map(|q| q.split_once('.').map(|(_, s)| s));
                let hint = did_you_mean(name, all.iter().map(|s| s.as_str()).chain(bare))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &key,
                    if all.is_empty() {
                        "no endpoint has stages ([[endpoint.NAME.stage]])".to_string()
                    } else {
                        format!("no stage named `{name}` (stages: {}){hint}", all.join(", "))
                    },
                ));
            }
            several => {
                return Err(cx.err(
                    &key,
                    format!(
                        "`{name}` is a stage of several endpoints: write [slo.stage.\"ENDPOINT.{name}\"] ({})",
                        several.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        let t = t.as_table().ok_or_else(|| cx.err(&key, "must be a table"))?;
        for (k, v) in t {
            let kk = format!("{key}.{k}");
            let Some(&(metric, is_ratio)) = STAGE_METRICS
                .iter()
                .find(|(m, _)| *m == k || m.trim_end_matches("_s") == k)
            else {
                let hint = did_you_mean(k, allowed.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(cx.err(
                    &kk,
                    format!("`{k}` is not a stage metric; allowed: {}{hint}", allowed.join(", ")),
                ));
            };
            let limit = match v {
                toml::Value::String(s) if !is_ratio => parse_duration_secs(s).map_err(|m| cx.err(&kk, m))?,
                _ if !is_ratio && !k.ends_with("_s") => {
                    return Err(cx.err(&kk, format!("a latency limit is a duration, e.g. {k} = \"50ms\"")));
                }
                v => num(v).ok_or_else(|| cx.err(&kk, format!("must be a number, got {v}")))?,
            };
            if is_ratio {
                ratio(cx, &kk, &format!("`{k}`"), limit, false)?;
            }
            if !(limit.is_finite() && limit >= 0.0) {
                return Err(cx.err(&kk, "must be zero or positive"));
            }
            checks.push(SloCheck {
                name: format!("stage_{}", metric.trim_end_matches("_s")),
                metric,
                tier: None,
                stage: Some(qualified.clone()),
                limit,
                bound: Bound::AtMost,
            });
        }
    }
    Ok(checks)
}
