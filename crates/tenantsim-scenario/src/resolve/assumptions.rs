//! `[[assumption]]` into [`Assumption`]s: an input the scenario sets
//! although the report does not state it, the range of values as plausible
//! as the chosen one, and why.
//!
//! ```toml
//! [[assumption]]
//! key = "instance.cores"        # a key this scenario sets (a number or a duration)
//! range = [1, 8]                # as plausible as the value chosen
//! why = "the report names no host; 1 to 8 cores spans a laptop to a large VM"
//! ```
//!
//! Invariants kept: the key is set in the scenario to a number or a
//! duration; the range is two values of the same kind (whole numbers for
//! an integer key, durations for a duration), finite, `from < to`; the
//! file's own value lies inside it (a `--set` outside it is only warned
//! about: a sweep may look beyond the plausible); `why` is not empty; a
//! key is assumed once.

use super::{num, Ctx};
use crate::error::ScenarioError;
use crate::source::{parse_path, Seg};
use crate::units::parse_duration_secs;
use crate::Assumption;

const KEYS: [&str; 3] = ["key", "range", "why"];

pub(super) fn resolve(
    cx: &Ctx,
    tables: &[toml::Table],
    warnings: &mut Vec<String>,
) -> Result<Vec<Assumption>, ScenarioError> {
    let mut out: Vec<Assumption> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let at = |k: &str| format!("assumption.{i}.{k}");
        cx.refuse_unknown_keys(&format!("assumption.{i}"), t, &KEYS, " in an assumption")?;
        let key = match t.get("key") {
            Some(toml::Value::String(s)) => s.clone(),
            Some(v) => {
                return Err(cx.err(
                    &at("key"),
                    format!("must be a key path such as \"instance.cores\", got {v}"),
                ))
            }
            None => {
                return Err(cx.err(
                    &format!("assumption.{i}"),
                    "an assumption needs a `key`: the input it is about, e.g. key = \"instance.cores\"",
                ))
            }
        };
        if out.iter().any(|a| a.key == key) {
            return Err(cx.err(&at("key"), format!("`{key}` is assumed twice: give it one range")));
        }
        let segs = parse_path(&key);
        let value = lookup(&cx.sources.merged, &segs).ok_or_else(|| {
            cx.err(
                &at("key"),
                format!("`{key}` is not set in this scenario: an assumption is about a value the scenario sets"),
            )
        })?;
        let (x, duration, integral) = match value {
            toml::Value::Integer(n) => (*n as f64, false, true),
            toml::Value::Float(f) => (*f, false, false),
            toml::Value::String(s) => match parse_duration_secs(s) {
                Ok(d) => (d, true, false),
                Err(_) => {
                    return Err(cx.err(
                        &at("key"),
                        format!("`{key}` is \"{s}\": only numbers and durations can have a range"),
                    ))
                }
            },
            v => {
                return Err(cx.err(
                    &at("key"),
                    format!("`{key}` is {v}: only numbers and durations can have a range"),
                ))
            }
        };
        let kind = if duration {
            "two durations, e.g. [\"1s\", \"5s\"]"
        } else if integral {
            "two whole numbers, e.g. [1, 8]"
        } else {
            "two numbers, e.g. [0.5, 0.9]"
        };
        let ends = match t.get("range") {
            Some(toml::Value::Array(a)) if a.len() == 2 => a,
            Some(v) => {
                return Err(cx.err(
                    &at("range"),
                    format!("must be [from, to] with {kind} (as `{key}`), got {v}"),
                ))
            }
            None => {
                return Err(cx.err(
                    &format!("assumption.{i}"),
                    format!("an assumption needs a `range`: [from, to] with {kind}"),
                ))
            }
        };
        let end = |v: &toml::Value| -> Result<f64, ScenarioError> {
            let y = match (duration, v) {
                (true, toml::Value::String(s)) => parse_duration_secs(s).map_err(|e| cx.err(&at("range"), e))?,
                (false, toml::Value::Integer(n)) => *n as f64,
                (false, toml::Value::Float(f)) if !integral => *f,
                _ => {
                    return Err(cx.err(
                        &at("range"),
                        format!("must be [from, to] with {kind} (as `{key}`), got {v}"),
                    ))
                }
            };
            if y.is_finite() {
                Ok(y)
            } else {
                Err(cx.err(&at("range"), "must be finite"))
            }
        };
        let (from, to) = (end(&ends[0])?, end(&ends[1])?);
        if from >= to {
            return Err(cx.err(
                &at("range"),
                format!(
                    "from must be below to, got [{}, {}]",
                    num_text(&ends[0]),
                    num_text(&ends[1])
                ),
            ));
        }
        if !(from..=to).contains(&x) {
            let msg = format!(
                "`{key}` = {} lies outside its assumed range [{}, {}] (assumption.{i}.range)",
                num_text(value),
                num_text(&ends[0]),
                num_text(&ends[1])
            );
            let overridden = cx.sources.overrides.iter().any(|(o, _)| segs.starts_with(o));
            if overridden {
                warnings.push(format!("{msg}: the verdicts over the range do not include this value"));
            } else {
                return Err(cx.err(&at("range"), format!("{msg}: widen the range or change the value")));
            }
        }
        let why = match t.get("why") {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(toml::Value::String(_)) => {
                return Err(cx.err(&at("why"), "must say why the range is plausible, not be empty"))
            }
            Some(v) => return Err(cx.err(&at("why"), format!("must be a string, got {v}"))),
            None => {
                return Err(cx.err(
                    &format!("assumption.{i}"),
                    "an assumption needs a `why`: the reason the range is plausible",
                ))
            }
        };
        out.push(Assumption {
            key,
            value: x,
            from,
            to,
            duration,
            integral,
            why,
        });
    }
    Ok(out)
}

/// The value at `segs` in a merged scenario table.
fn lookup<'a>(merged: &'a toml::Table, segs: &[Seg]) -> Option<&'a toml::Value> {
    let (Seg::Key(first), rest) = segs.split_first()? else {
        return None;
    };
    let mut v = merged.get(first)?;
    for s in rest {
        v = match s {
            Seg::Key(k) => v.as_table()?.get(k)?,
            Seg::Index(i) => v.as_array()?.get(*i)?,
        };
    }
    Some(v)
}

/// A number or duration as written.
fn num_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("\"{s}\""),
        v => num(v).map(|x| format!("{x}")).unwrap_or_else(|| v.to_string()),
    }
}
