//! Prometheus range-query exports: request rates, latency histograms, CPU
//! per request and the replica history.
//!
//! An export is the JSON the HTTP API returns for `query_range`
//! (`{"status":"success","data":{"resultType":"matrix","result":[...]}}`),
//! a list of such responses, or an object of them keyed by query name (the
//! key names series that have no `__name__` label). Metrics used:
//! `http_requests_total` (counter; labels `endpoint`/`handler`/`route`/
//! `path`, `tenant`, `tier`, `status`/`code`), `http_request_duration_seconds_bucket`
//! (cumulative histogram, `le`), `container_cpu_usage_seconds_total`
//! (counter, CPU seconds) and `kube_deployment_status_replicas` (gauge);
//! and, to split each endpoint's latency ([`super::prom_components`]),
//! `http_request_duration_seconds_sum`/`_count` and three histograms named
//! by [`ComponentNames`] (default: the testbed's `refsvc_cpu_seconds` per
//! `endpoint`, `refsvc_pool_hold_seconds`, `refsvc_pool_wait_seconds`),
//! each read as `_sum`, `_count` and `_bucket`, with or without an endpoint
//! label.
//! Counter increases handle resets (a drop restarts from zero). Other
//! series are ignored and listed. Samples spanning more than
//! [`super::MAX_SPAN_S`] are refused.

use super::dist::{fit_histogram_all, FitResult};
use serde_json::Value;
use std::collections::BTreeMap;

/// One time series.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// (unix seconds, value).
    pub values: Vec<(f64, f64)>,
}

impl Series {
    fn label(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.labels.get(*k)).map(|s| s.as_str())
    }
}

/// Base names of the histograms that split latency into CPU demand,
/// connection hold and pool wait (`--prom-cpu`, `--prom-hold`,
/// `--prom-wait`).
#[derive(Clone, Debug)]
pub struct ComponentNames {
    pub cpu: String,
    pub hold: String,
    pub wait: String,
}

impl Default for ComponentNames {
    fn default() -> Self {
        ComponentNames {
            cpu: "refsvc_cpu_seconds".into(),
            hold: "refsvc_pool_hold_seconds".into(),
            wait: "refsvc_pool_wait_seconds".into(),
        }
    }
}

impl ComponentNames {
    /// Every series name `fit` asks a live server for, beyond the base ones.
    pub fn series(&self) -> Vec<String> {
        let mut v = vec![
            "http_request_duration_seconds_sum".to_string(),
            "http_request_duration_seconds_count".to_string(),
        ];
        for b in [&self.cpu, &self.hold, &self.wait] {
            for suffix in ["_sum", "_count", "_bucket"] {
                v.push(format!("{b}{suffix}"));
            }
        }
        v
    }
}

/// A histogram's increase over the range.
#[derive(Clone, Debug, Default)]
pub struct HistIncrease {
    pub sum: f64,
    pub count: f64,
    /// Fits to its buckets, best first (empty without buckets).
    pub fits: Vec<FitResult>,
}

impl HistIncrease {
    /// Mean observation, when anything was observed.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }
}

/// What an export says.
#[derive(Clone, Debug, Default)]
pub struct PromFit {
    pub start: f64,
    pub end: f64,
    /// Requests over the range, and per endpoint label.
    pub requests: f64,
    pub per_endpoint: BTreeMap<String, f64>,
    pub errors_5xx: f64,
    /// (time, request rate) at each step after the first.
    pub rate: Vec<(f64, f64)>,
    /// Latency fits per endpoint label ("all" when the buckets carry none),
    /// best first, with the number of requests the histogram counted.
    pub latency: BTreeMap<String, (f64, Vec<FitResult>)>,
    /// CPU seconds per request.
    pub cpu_per_request: Option<f64>,
    /// Mean CPU cores busy over the range.
    pub cpu_cores_busy: Option<f64>,
    /// (time, replicas), summed over deployments.
    pub replicas: Vec<(f64, f64)>,
    pub ignored: Vec<String>,
    /// Latency `_sum`/`_count` per endpoint label ("all" without one).
    pub latency_sum: BTreeMap<String, HistIncrease>,
    /// The component histograms per endpoint label ("all" without one).
    pub cpu: BTreeMap<String, HistIncrease>,
    pub hold: BTreeMap<String, HistIncrease>,
    pub wait: BTreeMap<String, HistIncrease>,
    /// The names they were read under.
    pub names: ComponentNames,
}

/// Read every series of an export.
pub fn parse_export(text: &str) -> Result<Vec<Series>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut out = Vec::new();
    collect(&v, None, &mut out)?;
    if out.is_empty() {
        return Err("no range-query result (`data.result` of resultType matrix) found".into());
    }
    Ok(out)
}

fn collect(v: &Value, key: Option<&str>, out: &mut Vec<Series>) -> Result<(), String> {
    match v {
        Value::Array(a) => {
            for x in a {
                collect(x, key, out)?;
            }
        }
        Value::Object(o) if o.contains_key("data") => {
            if o.get("status").and_then(|s| s.as_str()).is_some_and(|s| s != "success") {
                return Err(format!("a response has status {}", o["status"]));
            }
            let result = o["data"]
                .get("result")
                .and_then(|r| r.as_array())
                .ok_or("`data.result` is not a list")?;
            for r in result {
                let labels: BTreeMap<String, String> = r
                    .get("metric")
                    .and_then(|m| m.as_object())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let name = labels
                    .get("__name__")
                    .cloned()
                    .or(key.map(|k| k.to_string()))
                    .unwrap_or_default();
                let mut values = Vec::new();
                for p in r.get("values").and_then(|v| v.as_array()).into_iter().flatten() {
                    let t = p.get(0).and_then(|t| t.as_f64());
                    let x = p.get(1).and_then(|x| match x {
                        Value::String(s) => s.parse::<f64>().ok(),
                        Value::Number(n) => n.as_f64(),
                        _ => None,
                    });
                    if let (Some(t), Some(x)) = (t, x) {
                        if x.is_finite() {
                            values.push((t, x));
                        }
                    }
                }
                values.sort_by(|a, b| a.0.total_cmp(&b.0));
                out.push(Series { name, labels, values });
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                collect(x, Some(k), out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Increase of a counter over its samples (resets restart from zero).
fn increase(v: &[(f64, f64)]) -> f64 {
    v.windows(2)
        .map(|w| if w[1].1 >= w[0].1 { w[1].1 - w[0].1 } else { w[1].1 })
        .sum()
}

/// Which histogram (0 latency, 1 CPU, 2 hold, 3 wait) and part
/// (`_sum`, `_count`, `_bucket`) a series name is.
fn histogram_part<'a>(name: &'a str, names: &ComponentNames) -> Option<(usize, &'a str)> {
    let bases = ["http_request_duration_seconds", &names.cpu, &names.hold, &names.wait];
    for suffix in ["_sum", "_count", "_bucket"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if let Some(k) = bases.iter().position(|b| *b == base) {
                return Some((k, suffix));
            }
        }
    }
    None
}

/// Per-bucket counts and fits of cumulative (le, count) pairs; the total.
fn fit_buckets(b: BTreeMap<u64, (f64, f64)>) -> (f64, Vec<FitResult>) {
    let mut les: Vec<(f64, f64)> = b.into_values().collect();
    les.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bounds: Vec<f64> = les.iter().map(|x| x.0).collect();
    let mut counts = Vec::with_capacity(les.len());
    let mut prev = 0.0;
    for (_, c) in &les {
        counts.push((c - prev).max(0.0));
        prev = prev.max(*c);
    }
    (prev, fit_histogram_all(&bounds, &counts))
}

/// Summarise an export, with the default [`ComponentNames`].
pub fn fit_export(series: &[Series]) -> Result<PromFit, String> {
    fit_export_with(series, &ComponentNames::default())
}

/// Summarise an export; `names` says which histograms split the latency.
pub fn fit_export_with(series: &[Series], names: &ComponentNames) -> Result<PromFit, String> {
    let mut f = PromFit {
        start: f64::INFINITY,
        end: f64::NEG_INFINITY,
        names: names.clone(),
        ..PromFit::default()
    };
    // [histogram][endpoint] → (buckets, sum, count), for CPU, hold and wait (1..=3).
    type Acc = BTreeMap<String, (BTreeMap<u64, (f64, f64)>, f64, f64)>;
    let mut comp: [Acc; 4] = Default::default();
    let mut rate_at: BTreeMap<i64, f64> = BTreeMap::new();
    let mut buckets: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    let mut cpu = 0.0;
    let mut has_cpu = false;
    let mut replicas: BTreeMap<i64, f64> = BTreeMap::new();
    for s in series {
        for (t, _) in &s.values {
            f.start = f.start.min(*t);
            f.end = f.end.max(*t);
        }
        let ep_of = |s: &Series| {
            super::log::endpoint_name(
                s.label(&["endpoint", "handler", "route", "path", "uri"])
                    .unwrap_or("all"),
            )
        };
        match (s.name.as_str(), histogram_part(&s.name, names)) {
            (_, Some((k, part))) if !(k == 0 && part == "_bucket") => {
                let acc = comp[k].entry(ep_of(s)).or_default();
                match part {
                    "_sum" => acc.1 += increase(&s.values),
                    "_count" => acc.2 += increase(&s.values),
                    _ => {
                        let Some(le) = s.labels.get("le") else { continue };
                        let le: f64 = if le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().map_err(|_| format!("bad le `{le}`"))?
                        };
                        let e = acc.0.entry(le.to_bits()).or_insert((le, 0.0));
                        e.1 += increase(&s.values);
                    }
                }
            }
            ("http_requests_total", _) => {
                let inc = increase(&s.values);
                f.requests += inc;
                let ep = s
                    .label(&["endpoint", "handler", "route", "path", "uri"])
                    .unwrap_or("all");
                *f.per_endpoint.entry(super::log::endpoint_name(ep)).or_default() += inc;
                if s.label(&["status", "code", "status_code"])
                    .is_some_and(|c| c.starts_with('5'))
                {
                    f.errors_5xx += inc;
                }
                for w in s.values.windows(2) {
                    let d = if w[1].1 >= w[0].1 { w[1].1 - w[0].1 } else { w[1].1 };
                    *rate_at.entry(w[1].0.round() as i64).or_default() += d / (w[1].0 - w[0].0).max(1e-9);
                }
            }
            ("http_request_duration_seconds_bucket", _) => {
                let Some(le) = s.labels.get("le") else { continue };
                let le: f64 = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().map_err(|_| format!("bad le `{le}`"))?
                };
                let ep = ep_of(s);
                let e = buckets.entry(ep).or_default().entry(le.to_bits()).or_insert((le, 0.0));
                e.1 += increase(&s.values);
            }
            ("container_cpu_usage_seconds_total", _) => {
                cpu += increase(&s.values);
                has_cpu = true;
            }
            ("kube_deployment_status_replicas", _) => {
                for (t, v) in &s.values {
                    *replicas.entry(t.round() as i64).or_default() += v;
                }
            }
            (other, _) => {
                if !f.ignored.iter().any(|x| x == other) {
                    f.ignored.push(other.to_string());
                }
            }
        }
    }
    if !f.start.is_finite() {
        return Err("the export has no samples".into());
    }
    // The scenario's rate steps are binned over the span (see MAX_SPAN_S).
    if f.end - f.start > super::MAX_SPAN_S {
        return Err(format!(
            "the samples span {}, from {} to {}: more than the {} `fit` reads. \
             Is a timestamp garbled? Export a shorter range",
            super::span_days(f.end - f.start),
            super::timestamp::rfc3339(f.start),
            super::timestamp::rfc3339(f.end),
            super::span_days(super::MAX_SPAN_S)
        ));
    }
    f.rate = rate_at.into_iter().map(|(t, r)| (t as f64, r)).collect();
    f.replicas = replicas.into_iter().map(|(t, r)| (t as f64, r)).collect();
    for (ep, b) in buckets {
        let (total, fits) = fit_buckets(b);
        if !fits.is_empty() {
            f.latency.insert(ep, (total, fits));
        }
    }
    let [lat, cpu_h, hold, wait] = comp;
    for (acc, out) in
        [lat, cpu_h, hold, wait]
            .into_iter()
            .zip([&mut f.latency_sum, &mut f.cpu, &mut f.hold, &mut f.wait])
    {
        for (ep, (b, sum, count)) in acc {
            let fits = if b.is_empty() { Vec::new() } else { fit_buckets(b).1 };
            out.insert(ep, HistIncrease { sum, count, fits });
        }
    }
    if has_cpu {
        let span = (f.end - f.start).max(1e-9);
        f.cpu_cores_busy = Some(cpu / span);
        if f.requests > 0.0 {
            f.cpu_per_request = Some(cpu / f.requests);
        }
    }
    Ok(f)
}

/// Render series as a range-query export (the shape [`parse_export`] reads),
/// one response per metric name: for the example files and tests.
pub fn to_export(series: &[Series]) -> String {
    let mut by_name: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for s in series {
        let mut metric = serde_json::Map::new();
        metric.insert("__name__".into(), Value::String(s.name.clone()));
        for (k, v) in &s.labels {
            metric.insert(k.clone(), Value::String(v.clone()));
        }
        let values: Vec<Value> = s
            .values
            .iter()
            .map(|(t, v)| serde_json::json!([t, format!("{}", (v * 1e6).round() / 1e6)]))
            .collect();
        by_name
            .entry(&s.name)
            .or_default()
            .push(serde_json::json!({"metric": metric, "values": values}));
    }
    let mut out = serde_json::Map::new();
    for (k, result) in by_name {
        out.insert(
            k.to_string(),
            serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
        );
    }
    serde_json::to_string(&Value::Object(out)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histograms_cpu_and_replicas() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
          {"metric":{"__name__":"http_requests_total","handler":"/api/items","code":"200"},"values":[[0,"100"],[60,"160"],[120,"10"]]},
          {"metric":{"__name__":"http_requests_total","handler":"/api/items","code":"503"},"values":[[0,"0"],[60,"5"],[120,"5"]]},
          {"metric":{"__name__":"http_request_duration_seconds_bucket","le":"0.01"},"values":[[0,"0"],[120,"40"]]},
          {"metric":{"__name__":"http_request_duration_seconds_bucket","le":"0.1"},"values":[[0,"0"],[120,"70"]]},
          {"metric":{"__name__":"http_request_duration_seconds_bucket","le":"+Inf"},"values":[[0,"0"],[120,"75"]]},
          {"metric":{"__name__":"container_cpu_usage_seconds_total","pod":"a"},"values":[[0,"10"],[120,"11.5"]]},
          {"metric":{"__name__":"kube_deployment_status_replicas","deployment":"api"},"values":[[0,"2"],[60,"3"],[120,"3"]]},
          {"metric":{"__name__":"up"},"values":[[0,"1"]]}
        ]}}"#;
        let f = fit_export(&parse_export(text).unwrap()).unwrap();
        // 60 + 10 after the reset, plus 5 errors.
        assert_eq!(f.requests, 75.0);
        assert_eq!(f.errors_5xx, 5.0);
        assert_eq!(f.per_endpoint["api_items"], 75.0);
        assert_eq!(f.rate, vec![(60.0, 65.0 / 60.0), (120.0, 10.0 / 60.0)]);
        assert_eq!(f.cpu_per_request, Some(1.5 / 75.0));
        assert_eq!(f.replicas, vec![(0.0, 2.0), (60.0, 3.0), (120.0, 3.0)]);
        assert_eq!(f.latency["all"].0, 75.0);
        assert_eq!(f.ignored, vec!["up".to_string()]);
        let round = parse_export(&to_export(&parse_export(text).unwrap())).unwrap();
        assert_eq!(round.len(), 8);
    }

    #[test]
    fn a_failed_response_is_an_error() {
        assert!(parse_export(r#"{"status":"error","data":{}}"#).is_err());
        assert!(parse_export("[]").is_err());
    }
}
