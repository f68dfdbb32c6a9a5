//! The scenario files `tenantsim serve` offers, and what the dashboard is
//! told about one: its settings, SLOs and the knobs (sliders) that map to
//! `--set` keys.
//!
//! Invariant: a scenario name from a request is only ever looked up in the
//! listing of the served folder, never joined to a path, so `../` and
//! absolute names cannot reach a file outside it; files (or symbolic
//! links) whose real path lies outside the folder are not listed.

use crate::scenario::source::{self, Seg};
use crate::scenario::{Arrival, Bound, Scenario};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Deepest folder level searched for `*.toml` files.
const MAX_DEPTH: usize = 4;

/// Why a scenario name was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum NameError {
    /// The name tries to leave the served folder (`..`, `/…`, `\`).
    Escapes,
    /// No such scenario in the folder.
    Unknown,
}

/// The served folder.
#[derive(Clone, Debug)]
pub struct ScenarioDir {
    /// As given on the command line (used in the printed CLI commands).
    pub shown: PathBuf,
    /// Canonical path (used for the containment check).
    root: PathBuf,
}

impl ScenarioDir {
    pub fn new(dir: &Path) -> std::io::Result<ScenarioDir> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::other(format!("{} is not a folder", dir.display())));
        }
        Ok(ScenarioDir {
            shown: dir.to_path_buf(),
            root,
        })
    }

    /// Every scenario: name (path below the folder without `.toml`, with
    /// `/` separators) → the file as shown to users (folder as given).
    /// Read afresh on every call, so new files appear without a restart.
    pub fn list(&self) -> BTreeMap<String, PathBuf> {
        let mut out = BTreeMap::new();
        self.walk(&self.root, "", 0, &mut out);
        out
    }

    fn walk(&self, dir: &Path, prefix: &str, depth: usize, out: &mut BTreeMap<String, PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let path = e.path();
            let Some(fname) = path.file_name().and_then(|n| n.to_str()).map(String::from) else {
                continue;
            };
            if fname.starts_with('.') {
                continue;
            }
            // Follow links only to places inside the served folder.
            let Ok(real) = path.canonicalize() else { continue };
            if !real.starts_with(&self.root) {
                continue;
            }
            if real.is_dir() {
                if depth < MAX_DEPTH {
                    self.walk(&path, &format!("{prefix}{fname}/"), depth + 1, out);
                }
            } else if let Some(stem) = fname.strip_suffix(".toml") {
                out.insert(format!("{prefix}{stem}"), self.shown.join(format!("{prefix}{fname}")));
            }
        }
    }

    /// The file of scenario `name`, found only in [`ScenarioDir::list`].
    pub fn resolve(&self, name: &str) -> Result<PathBuf, NameError> {
        if name.contains("..") || name.starts_with('/') || name.contains('\\') || name.contains('\0') {
            return Err(NameError::Escapes);
        }
        self.list().remove(name).ok_or(NameError::Unknown)
    }
}

/// One slider of the dashboard: a `--set` key with its current value and
/// a sensible range (the number box next to it accepts any value).
fn knob(
    key: String,
    label: String,
    group: &str,
    value: f64,
    integer: bool,
    (min, max, step): (f64, f64, f64),
) -> Value {
    json!({"key": key, "label": label, "group": group, "value": value, "integer": integer,
           "min": min, "max": max, "step": step})
}

fn get<'a>(t: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut cur: Option<&toml::Value> = None;
    for seg in source::parse_path(path) {
        cur = match (cur, seg) {
            (None, Seg::Key(k)) => t.get(&k),
            (Some(v), Seg::Key(k)) => v.get(k.as_str()),
            (Some(v), Seg::Index(i)) => v.get(i),
            (None, Seg::Index(_)) => None,
        };
        cur?;
    }
    cur
}

/// The knobs that exist in this scenario (a key is offered only if the
/// merged scenario files set it, so every slider is a valid `--set`).
pub fn knobs(merged: &toml::Table, sc: &Scenario) -> Vec<Value> {
    let mut out = Vec::new();
    let mut add = |key: String, label: String, group: &str, kind: Kind| {
        let Some(v) = get(merged, &key) else { return };
        let (value, integer) = match v {
            toml::Value::Integer(i) => (*i as f64, true),
            toml::Value::Float(f) => (*f, false),
            _ => return,
        };
        let (min, max, step) = match (kind, integer) {
            (Kind::Fraction, _) => (0.05, 1.0, 0.01),
            (Kind::Count { min }, true) => (min, (value * 2.0).max(value + 8.0).ceil(), 1.0),
            (Kind::Count { min }, false) | (Kind::Rate { min }, _) => {
                let max = (value * 3.0).max(1.0);
                (min, max, nice_step(max))
            }
        };
        out.push(knob(key, label, group, value, integer, (min, max, step)));
    };
    add(
        "pool.size".into(),
        "pool size".into(),
        "connection pool",
        Kind::Count { min: 1.0 },
    );
    add(
        "pool.overflow".into(),
        "pool overflow".into(),
        "connection pool",
        Kind::Count { min: 0.0 },
    );
    add(
        "pool.min".into(),
        "pool min".into(),
        "connection pool",
        Kind::Count { min: 0.0 },
    );
    add(
        "pool.max".into(),
        "pool max".into(),
        "connection pool",
        Kind::Count { min: 1.0 },
    );
    for (i, t) in sc.tiers.iter().enumerate() {
        let g = format!("tier {}", t.name);
        add(
            format!("tier.{i}.max_connections"),
            format!("{}: max connections", t.name),
            &g,
            Kind::Count { min: 1.0 },
        );
        add(
            format!("tier.{i}.max_concurrency"),
            format!("{}: max concurrency", t.name),
            &g,
            Kind::Count { min: 1.0 },
        );
        add(
            format!("tier.{i}.rate_limit.rate_per_s"),
            format!("{}: rate limit (req/s per tenant)", t.name),
            &g,
            Kind::Rate { min: 0.01 },
        );
    }
    add(
        "autoscaler.min".into(),
        "min instances".into(),
        "autoscaler",
        Kind::Count { min: 0.0 },
    );
    add(
        "autoscaler.max".into(),
        "max instances".into(),
        "autoscaler",
        Kind::Count { min: 1.0 },
    );
    add(
        "autoscaler.target".into(),
        "target".into(),
        "autoscaler",
        Kind::Fraction,
    );
    for i in 0..4 {
        let Some(m) = get(merged, &format!("autoscaler.metrics.{i}.metric")).and_then(|v| v.as_str()) else {
            continue;
        };
        let m = m.to_string();
        for (k, what) in [
            ("above", "scale out above"),
            ("below", "scale in below"),
            ("target", "target"),
        ] {
            add(
                format!("autoscaler.metrics.{i}.{k}"),
                format!("{m}: {what}"),
                "autoscaler",
                Kind::Fraction,
            );
        }
    }
    add(
        "instance.cores".into(),
        "cores per instance".into(),
        "instance size",
        Kind::Count { min: 1.0 },
    );
    add(
        "instance.workers".into(),
        "workers per instance".into(),
        "instance size",
        Kind::Count { min: 1.0 },
    );
    add(
        "instance.memory_mb".into(),
        "memory per instance (MB)".into(),
        "instance size",
        Kind::Rate { min: 64.0 },
    );
    add(
        "instance.initial".into(),
        "initial instances".into(),
        "instance size",
        Kind::Count { min: 0.0 },
    );
    add(
        "database.cores".into(),
        "database cores".into(),
        "database",
        Kind::Count { min: 1.0 },
    );
    out
}

#[derive(Clone, Copy)]
enum Kind {
    Count { min: f64 },
    Rate { min: f64 },
    Fraction,
}

fn nice_step(max: f64) -> f64 {
    let raw = max / 100.0;
    let p = 10f64.powf(raw.log10().floor());
    if raw / p >= 5.0 {
        5.0 * p
    } else if raw / p >= 2.0 {
        2.0 * p
    } else {
        p
    }
}

/// `--set` assignments that multiply every workload's offered load by `m`:
/// the per-tenant rates of open processes, the users of closed ones, and
/// the tenant count where the process has no single rate (steps, traces).
pub fn load_multiplier_sets(merged: &toml::Table, sc: &Scenario, m: f64) -> Result<Vec<String>, String> {
    if !(m > 0.0 && m <= 100.0) {
        return Err(format!("load_multiplier {m}: expected a number in (0, 100]"));
    }
    if m == 1.0 {
        return Ok(Vec::new());
    }
    let mut sets = Vec::new();
    for (i, w) in sc.workloads.iter().enumerate() {
        let scale = |key: &str, sets: &mut Vec<String>| -> bool {
            let path = format!("workload.{i}.arrival.{key}");
            match get(merged, &path) {
                Some(toml::Value::Float(f)) => {
                    sets.push(format!("{path}={}", fmt_float(f * m)));
                    true
                }
                Some(toml::Value::Integer(n)) if key != "users" => {
                    sets.push(format!("{path}={}", fmt_float(*n as f64 * m)));
                    true
                }
                Some(toml::Value::Integer(n)) => {
                    sets.push(format!("{path}={}", ((*n as f64 * m).round() as i64).max(1)));
                    true
                }
                _ => false,
            }
        };
        let done = match &w.arrival {
            Arrival::Closed { .. } => false, // stages hold user counts too; scale tenants instead
            Arrival::Diurnal { .. } => {
                let a = scale("peak_rate_per_s", &mut sets);
                let b = scale("trough_rate_per_s", &mut sets);
                a && b
            }
            Arrival::Mmpp { .. } => {
                let a = scale("rate_per_s", &mut sets);
                let b = scale("burst_rate_per_s", &mut sets);
                a && b
            }
            _ => scale("rate_per_s", &mut sets),
        };
        if !done {
            sets.retain(|s| !s.starts_with(&format!("workload.{i}.")));
            let n = ((w.tenants as f64 * m).round() as u64).max(1);
            sets.push(format!("workload.{i}.tenants={n}"));
        }
    }
    Ok(sets)
}

/// A float as TOML that reads back as a float (`2.0`, not `2`).
fn fmt_float(x: f64) -> String {
    let s = format!("{}", (x * 1e9).round() / 1e9);
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// What `GET /api/scenarios/{name}` returns: the parsed scenario's key
/// settings, SLOs, claims, warnings and knobs.
pub fn describe(name: &str, file: &Path, sc: &Scenario, merged: &toml::Table) -> Value {
    let tier = |t: Option<usize>| t.map_or("all".to_string(), |t| format!("tier:{}", sc.tiers[t].name));
    let bound = |b: Bound| if b == Bound::AtMost { "max" } else { "min" };
    json!({
        "name": name,
        "file": file.display().to_string(),
        "scenario": sc.name,
        "description": sc.description,
        "simulation": {
            "duration_s": sc.simulation.duration.as_secs_f64(),
            "warmup_s": sc.simulation.warmup.as_secs_f64(),
            "replications": sc.simulation.replications,
            "seed": sc.simulation.seed,
            "sample_interval_s": sc.simulation.sample_interval.as_secs_f64(),
        },
        "tiers": sc.tiers.iter().map(|t| json!({
            "name": t.name,
            "max_connections": t.max_connections,
            "max_concurrency": t.max_concurrency,
            "rate_limit_per_s": t.rate_limit.map(|r| r.rate_per_s),
        })).collect::<Vec<_>>(),
        "workloads": sc.workloads.iter().map(|w| json!({
            "name": w.name, "tier": sc.tiers[w.tier].name, "tenants": w.tenants,
        })).collect::<Vec<_>>(),
        "instance": {
            "cores": sc.instance.cores,
            "workers": sc.instance.workers,
            "initial": sc.instance.initial,
            "cost_per_hour": sc.instance.cost_per_hour,
        },
        "autoscaler": sc.autoscaler.as_ref().map(|a| json!({"min": a.min, "max": a.max})),
        "slo": sc.slo.iter().map(|c| json!({
            "name": c.name, "metric": c.metric, "scope": tier(c.tier), "stage": c.stage,
            "limit": c.limit, "bound": bound(c.bound),
        })).collect::<Vec<_>>(),
        "claims": sc.claims.iter().filter(|c| c.metric.is_some()).map(|c| json!({
            "id": c.id, "text": c.text, "metric": c.metric, "scope": tier(c.tier),
            "limit": c.limit, "bound": bound(c.bound),
        })).collect::<Vec<_>>(),
        "warnings": sc.warnings,
        "knobs": knobs(merged, sc),
        "lint": crate::lint::lint(sc).iter().map(|f| json!({
            "rule": f.rule, "severity": f.severity.as_str(), "keys": f.keys,
            "message": f.message, "arithmetic": f.arithmetic,
        })).collect::<Vec<_>>(),
    })
}

/// Read scenario `file` with `sets` applied: the validated scenario and
/// the merged table the knobs are read from.
pub fn load(file: &Path, sets: &[String]) -> Result<(Scenario, toml::Table), crate::scenario::ScenarioError> {
    let sources = source::load(file)?;
    let merged = sources.merged.clone();
    let sc = crate::scenario::from_sources(sources, sets)?;
    Ok((sc, merged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tenantsim-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).unwrap();
        d
    }

    #[test]
    fn names_cannot_leave_the_folder() {
        let d = tmp("names");
        std::fs::write(d.join("a.toml"), "name = \"a\"\n").unwrap();
        std::fs::write(d.join("sub/b.toml"), "name = \"b\"\n").unwrap();
        let outside = d.with_extension("outside.toml");
        std::fs::write(&outside, "name = \"secret\"\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, d.join("link.toml")).unwrap();
        let sd = ScenarioDir::new(&d).unwrap();
        let names: Vec<String> = sd.list().into_keys().collect();
        assert_eq!(names, vec!["a".to_string(), "sub/b".to_string()]);
        assert!(sd.resolve("sub/b").is_ok());
        for bad in ["../a", "sub/../a", "/etc/passwd", "..\\a", "sub/..", ".."] {
            assert_eq!(sd.resolve(bad), Err(NameError::Escapes), "{bad}");
        }
        assert_eq!(sd.resolve("link"), Err(NameError::Unknown));
        assert_eq!(sd.resolve("nope"), Err(NameError::Unknown));
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_file(&outside);
    }

    #[test]
    fn load_multiplier_scales_rates_and_reads_back() {
        let text = r#"
name = "lm"
[[tier]]
name = "t"
[[workload]]
tier = "t"
tenants = 3
arrival = { process = "poisson", rate_per_s = 2 }
mix = { r = 1.0 }
[[workload]]
tier = "t"
tenants = 5
arrival = { process = "closed", users = 4, think_time = "1s" }
mix = { r = 1.0 }
[endpoint.r]
cpu = { dist = "exponential", mean = "10ms" }
[instance]
cores = 2
workers = 2
initial = 1
"#;
        let path = Path::new("/nonexistent/lm.toml");
        let sources = source::load_str(path, text).unwrap();
        let sc = crate::scenario::from_sources(sources.clone(), &[]).unwrap();
        let sets = load_multiplier_sets(&sources.merged, &sc, 1.5).unwrap();
        assert_eq!(sets, vec!["workload.0.arrival.rate_per_s=3.0", "workload.1.tenants=8"]);
        let scaled = crate::scenario::from_sources(sources.clone(), &sets).unwrap();
        assert_eq!(scaled.workloads[1].tenants, 8);
        assert!(load_multiplier_sets(&sources.merged, &sc, 0.0).is_err());
        assert!(load_multiplier_sets(&sources.merged, &sc, 1.0).unwrap().is_empty());
    }

    #[test]
    fn knobs_are_the_keys_the_scenario_sets() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hermes.toml");
        let (sc, merged) = load(&path, &[]).unwrap();
        let ks = knobs(&merged, &sc);
        let keys: Vec<&str> = ks.iter().map(|k| k["key"].as_str().unwrap()).collect();
        for k in [
            "pool.size",
            "pool.overflow",
            "tier.0.max_connections",
            "autoscaler.max",
            "instance.cores",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert!(!keys.contains(&"pool.min"), "HERMES has a fixed pool");
        let size = ks.iter().find(|k| k["key"] == "pool.size").unwrap();
        assert_eq!(size["value"], 20.0);
        // Every knob is a valid --set at its own value and at its maximum.
        for k in &ks {
            let v = if k["integer"].as_bool().unwrap() {
                format!("{}", k["max"].as_f64().unwrap() as i64)
            } else {
                fmt_float(k["max"].as_f64().unwrap())
            };
            let set = format!("{}={v}", k["key"].as_str().unwrap());
            // A knob tied to another (a scale-in threshold must stay below
            // the scale-out one) may be refused at its maximum, with the
            // reason; anything else must load.
            if let Err(e) = load(&path, std::slice::from_ref(&set)) {
                assert!(e.to_string().contains("must be below"), "{set}: {e}");
            }
            let value = k["value"].as_f64().unwrap();
            let value = if k["integer"].as_bool().unwrap() {
                format!("{}", value as i64)
            } else {
                fmt_float(value)
            };
            let own = format!("{}={value}", k["key"].as_str().unwrap());
            load(&path, std::slice::from_ref(&own)).unwrap_or_else(|e| panic!("{own}: {e}"));
        }
    }
}
