//! `states` of a `[[claim]]` into [`Statement`]s: the quantities a claim
//! states, for the consistency pass (`claims::consistency`). One table or
//! an array of tables; every error names the key (`claim.3.states.1.stat`).

use super::{num, parse_dist, Ctx};
use crate::error::ScenarioError;
use crate::source::{parse_path, Seg};
use crate::statement::{Figure, Shape, StatedChange, StatedUnit, Statement, TIMEOUT_LAYERS};
use crate::units::parse_duration_secs;

/// The keys of one statement.
pub(super) const STATEMENT_KEYS: [&str; 10] = [
    "quantity",
    "group",
    "stat",
    "value",
    "at_least",
    "at_most",
    "tolerance",
    "before",
    "change",
    "distribution",
];

/// The statistics a statement may name.
pub(super) const STATS: [&str; 8] = ["mean", "p50", "p90", "p95", "p99", "p99.9", "max", "min"];

/// Distribution families whose percentiles follow from mean and cv.
const SHAPES: [&str; 5] = ["lognormal", "exponential", "gamma", "deterministic", "uniform"];

/// `claim.N.states`: one table or an array of tables.
pub(super) fn parse_statements(cx: &Ctx, key: &str, v: &toml::Value) -> Result<Vec<Statement>, ScenarioError> {
    match v {
        toml::Value::Table(t) => Ok(vec![parse_statement(cx, key, t)?]),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                toml::Value::Table(t) => parse_statement(cx, &format!("{key}.{i}"), t),
                other => Err(cx.err(&format!("{key}.{i}"), format!("must be a table, got {other}"))),
            })
            .collect(),
        other => Err(cx.err(
            key,
            format!("must be a table such as {{ quantity = \"latency\", stat = \"p95\", at_most = \"200ms\" }} or an array of them, got {other}"),
        )),
    }
}

/// A figure: a number, a percentage (`"65%"`), a duration (`"120ms"`) or a
/// size (`"800MB"`, `"2GB"`).
fn figure(cx: &Ctx, key: &str, v: &toml::Value) -> Result<Figure, ScenarioError> {
    let bad = || {
        cx.err(
            key,
            format!("must be a number, a percentage such as \"65%\", a duration such as \"120ms\" or a size such as \"800MB\", got {v}"),
        )
    };
    let (value, unit, text) = match v {
        toml::Value::String(s) => {
            let t = s.trim();
            if let Some(p) = t.strip_suffix('%') {
                let x: f64 = p.trim().parse().map_err(|_| bad())?;
                (x / 100.0, StatedUnit::Percent, format!("{}%", p.trim()))
            } else if let Some((x, mult)) = [("GB", 1024.0), ("MB", 1.0), ("KB", 1.0 / 1024.0)]
                .iter()
                .find_map(|(u, m)| t.strip_suffix(u).map(|p| (p.trim(), *m)))
            {
                let n: f64 = x.parse().map_err(|_| bad())?;
                (n * mult, StatedUnit::Megabytes, t.to_string())
            } else {
                let x = parse_duration_secs(t).map_err(|_| bad())?;
                (x, StatedUnit::Duration, t.to_string())
            }
        }
        v => {
            let x = num(v).ok_or_else(bad)?;
            (x, StatedUnit::Number, v.to_string())
        }
    };
    if !(value.is_finite() && value >= 0.0) {
        return Err(cx.err(key, format!("must be zero or positive and finite, got {v}")));
    }
    Ok(Figure { value, unit, text })
}

/// `change = "85% faster"`, `"10x"`, `"3.3x improvement"`, `"-45%"`.
fn change(cx: &Ctx, key: &str, v: &toml::Value) -> Result<StatedChange, ScenarioError> {
    let bad = |why: &str| {
        cx.err(
            key,
            format!("{why}: write the change as stated, a number with `%` or `x`, e.g. \"85% faster\", \"10x\", \"-45%\", got {v}"),
        )
    };
    let toml::Value::String(s) = v else {
        return Err(bad("must be a string"));
    };
    let t = s.trim();
    let body = t.trim_start_matches(['+', '-', '−']);
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(body.len());
    let digits = body[..end].replace(',', "");
    let amount: f64 = digits.parse().map_err(|_| bad("no number"))?;
    let rest = body[end..].trim_start();
    let times = if rest.starts_with('%') {
        false
    } else if rest.starts_with(['x', 'X', '×']) {
        true
    } else {
        return Err(bad("no `%` or `x` after the number"));
    };
    let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len());
    Ok(StatedChange {
        amount,
        times,
        rounding: 0.5 * 10f64.powi(-(decimals as i32)),
        text: t.to_string(),
    })
}

/// `distribution = "endpoint.read.query"`: the family and cv of the
/// distribution the scenario sets at that key.
fn shape(cx: &Ctx, key: &str, v: &toml::Value) -> Result<Shape, ScenarioError> {
    let toml::Value::String(path) = v else {
        return Err(cx.err(
            key,
            format!("must be the key of a distribution in this scenario, e.g. \"endpoint.read.query\", got {v}"),
        ));
    };
    let Some(d) = value_at(cx, path) else {
        return Err(cx.err(key, format!("`{path}` is not set in this scenario")));
    };
    let family = match d {
        toml::Value::String(_) => "deterministic",
        toml::Value::Table(t) => t.get("dist").and_then(|x| x.as_str()).unwrap_or(""),
        _ => "",
    };
    let Some(family) = SHAPES.iter().copied().find(|f| *f == family) else {
        return Err(cx.err(
            key,
            format!(
                "`{path}` is not a distribution whose percentiles follow from its mean and cv (allowed families: {})",
                SHAPES.join(", ")
            ),
        ));
    };
    let dist = parse_dist(cx, path, d)?;
    Ok(Shape {
        family,
        cv: dist.cv(),
        key: path.clone(),
    })
}

fn parse_statement(cx: &Ctx, key: &str, t: &toml::Table) -> Result<Statement, ScenarioError> {
    let sub = |k: &str| format!("{key}.{k}");
    cx.refuse_unknown_keys(key, t, &STATEMENT_KEYS, " in a statement")?;
    let text = |k: &str| -> Result<Option<String>, ScenarioError> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(cx.err(&sub(k), format!("must be a string, got {v}"))),
        }
    };
    let quantity = text("quantity")?.filter(|q| !q.trim().is_empty()).ok_or_else(|| {
        cx.err(
            key,
            "a statement needs a `quantity` (a name such as \"latency\" or \"timeout.gateway\")",
        )
    })?;
    if let Some(layer) = quantity.strip_prefix("timeout.") {
        if !TIMEOUT_LAYERS.contains(&layer) {
            return Err(cx.err(
                &sub("quantity"),
                format!(
                    "`{layer}` is not a timeout layer (allowed, outermost first: {})",
                    TIMEOUT_LAYERS.join(", ")
                ),
            ));
        }
    }
    let stat = text("stat")?.unwrap_or_default();
    if !stat.is_empty() && !STATS.contains(&stat.as_str()) {
        return Err(cx.err(
            &sub("stat"),
            format!("`{stat}` is not a statistic (allowed: {})", STATS.join(", ")),
        ));
    }
    let fig = |k: &str| t.get(k).map(|v| figure(cx, &sub(k), v)).transpose();
    let (value, at_least, at_most) = (fig("value")?, fig("at_least")?, fig("at_most")?);
    let exact = value.is_some();
    let (lo, hi) = match (value, at_least, at_most) {
        (Some(v), None, None) => (Some(v.clone()), Some(v)),
        (None, lo, hi) if lo.is_some() || hi.is_some() => (lo, hi),
        (Some(_), _, _) => {
            return Err(cx.err(
                &sub("value"),
                "give a stated `value` or bounds (`at_least`, `at_most`), not both",
            ))
        }
        _ => {
            return Err(cx.err(
                key,
                "a statement needs a `value` or at least one of `at_least` and `at_most`",
            ))
        }
    };
    if let (Some(a), Some(b)) = (&lo, &hi) {
        if a.unit.family() != b.unit.family() {
            return Err(cx.err(&sub("at_most"), "`at_least` and `at_most` must have the same unit"));
        }
        if !exact && a.value > b.value {
            return Err(cx.err(&sub("at_least"), "`at_least` is above `at_most`"));
        }
    }
    let tolerance = match t.get("tolerance") {
        None => 0.05,
        Some(v) => match num(v) {
            Some(x) if (0.0..1.0).contains(&x) => x,
            _ => {
                return Err(cx.err(
                    &sub("tolerance"),
                    format!("a relative rounding between 0 and 1, got {v}"),
                ))
            }
        },
    };
    let before = fig("before")?;
    let change = t.get("change").map(|v| change(cx, &sub("change"), v)).transpose()?;
    match (&before, &change) {
        (Some(_), None) => {
            return Err(cx.err(
                &sub("before"),
                "`before` needs the stated `change`, e.g. \"85% faster\"",
            ))
        }
        (None, Some(_)) => return Err(cx.err(&sub("change"), "`change` needs the `before` figure")),
        (Some(b), Some(_)) => {
            if !exact {
                return Err(cx.err(
                    &sub("before"),
                    "`before` and `change` go with a stated `value` (the after figure)",
                ));
            }
            let after = lo.as_ref().map_or(StatedUnit::Number, |f| f.unit);
            if b.unit.family() != after.family() {
                return Err(cx.err(&sub("before"), "`before` must have the unit of `value`"));
            }
        }
        (None, None) => {}
    }
    let shape = t
        .get("distribution")
        .map(|v| shape(cx, &sub("distribution"), v))
        .transpose()?;
    Ok(Statement {
        quantity,
        group: text("group")?.unwrap_or_default(),
        stat,
        lo,
        hi,
        exact,
        tolerance,
        before,
        change,
        shape,
    })
}

/// `calibrated = "instance.base_memory_mb"`: the model input fitted to a
/// claim's figure; a key the scenario sets.
pub(super) fn parse_calibrated(cx: &Ctx, key: &str, v: Option<&toml::Value>) -> Result<Option<String>, ScenarioError> {
    let Some(v) = v else { return Ok(None) };
    let toml::Value::String(path) = v else {
        return Err(cx.err(
            key,
            format!("must be the key of the input fitted to this claim, e.g. \"instance.base_memory_mb\", got {v}"),
        ));
    };
    if value_at(cx, path).is_none() {
        return Err(cx.err(
            key,
            format!("`{path}` is not set in this scenario: name the input that was fitted to this claim"),
        ));
    }
    Ok(Some(path.clone()))
}

/// The value at a `--set` key path in the merged scenario.
fn value_at<'a>(cx: &Ctx<'a>, path: &str) -> Option<&'a toml::Value> {
    let mut cur: Option<&toml::Value> = None;
    for (i, s) in parse_path(path).iter().enumerate() {
        cur = match (i, s) {
            (0, Seg::Key(k)) => cx.sources.merged.get(k),
            (_, Seg::Key(k)) => cur?.as_table()?.get(k),
            (_, Seg::Index(n)) => cur?.as_array()?.get(*n),
        };
    }
    cur
}
