//! The six functions of `tenantsim._native`, one per CLI command: the
//! CLI's checks and defaults, the library's work, nothing written to disk.
//! Each returns JSON text and Parquet bytes; `tenantsim/__init__.py` wraps
//! them in result objects. Their docstrings live on the Python side.

use crate::drive::{drive, Watch};
use crate::input::Input;
use crate::{input_error, library_error};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use std::path::PathBuf;
use tenantsim::runner::{self, Cancelled};
use tenantsim::scenario::{Overrides, ScenarioError};
use tenantsim::sweep::{self as sweeps, ParamSpec, PointRecord, Sweep};
use tenantsim::{metrics::names, plan as planning, report, summary};

fn scenario_error(e: ScenarioError) -> PyErr {
    input_error(e.to_string())
}

/// Per-mille of a run: the unit of progress of run, compare and plan.
const PER_MILLE: f64 = 1000.0;

/// `tenantsim run`: (summary.json text, timeseries.parquet bytes).
#[pyfunction]
#[pyo3(signature = (path=None, text=None, sets=Vec::new(), seed=None, replications=None, max_events=None,
                    precision=None, precision_metrics=Vec::new(), max_replications=100, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)] // the flags of `tenantsim run`, as keywords
pub fn run<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    text: Option<String>,
    sets: Vec<String>,
    seed: Option<u64>,
    replications: Option<u32>,
    max_events: Option<u64>,
    precision: Option<f64>,
    precision_metrics: Vec<String>,
    max_replications: u32,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(String, Bound<'py, PyBytes>)> {
    let input = Input::new(path, text)?;
    let ov = Overrides::new(&sets, seed, replications).max_events(max_events);
    let sc = input.load(&ov).map_err(scenario_error)?;
    let precision =
        sweeps::precision_of(precision, &precision_metrics, max_replications, &sc).map_err(|e| input_error(e.0))?;
    let (json, frame) = drive(py, threads, progress.as_ref(), PER_MILLE as u64, |w: &Watch| {
        let go = |f: f64| w.advance(f * PER_MILLE);
        let (out, met) = match &precision {
            None => (runner::run_cancellable(&sc, &go)?, None),
            Some(p) => {
                let (out, outcome) = runner::run_to_precision_cancellable(&sc, p, &go)?;
                (out, Some(outcome))
            }
        };
        if let Some(e) = out.stall_error() {
            return Err(e.into());
        }
        let mut s = summary::build_summary(&sc, &out);
        if let (Some(p), Some(outcome)) = (&precision, met) {
            s.precision = Some(sweeps::precision_note(p, &outcome));
            s.warnings.extend(sweeps::precision_warnings(p, &outcome));
        }
        let bytes = report::parquet_bytes(&mut report::timeseries_frame(&out)?)?;
        Ok((s.to_json(), bytes))
    })?;
    Ok((json, PyBytes::new(py, &frame)))
}

/// `tenantsim sweep`: (sweep.json text, one JSON text per point as in
/// points/p*.json, results.parquet bytes). Progress counts points.
#[pyfunction]
#[pyo3(signature = (path=None, text=None, params=Vec::new(), sets=Vec::new(), lhs=None, seed=None, replications=None,
                    max_events=None, precision=None, precision_metrics=Vec::new(), max_replications=100, jobs=None,
                    progress=None))]
#[allow(clippy::too_many_arguments)] // the flags of `tenantsim sweep`, as keywords
pub fn sweep<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
    text: Option<String>,
    params: Vec<String>,
    sets: Vec<String>,
    lhs: Option<usize>,
    seed: Option<u64>,
    replications: Option<u32>,
    max_events: Option<u64>,
    precision: Option<f64>,
    precision_metrics: Vec<String>,
    max_replications: u32,
    jobs: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(String, Vec<String>, Bound<'py, PyBytes>)> {
    let input = Input::new(path, text)?;
    if params.is_empty() {
        return Err(input_error(
            "sweep needs at least one parameter, e.g. params={\"pool.size\": \"2..6:1\"}".into(),
        ));
    }
    let ov = Overrides::new(&sets, seed, replications).max_events(max_events);
    let params: Vec<ParamSpec> = params
        .iter()
        .map(|p| ParamSpec::parse(p))
        .collect::<Result<_, _>>()
        .map_err(input_error)?;
    let base = input.load(&ov).map_err(scenario_error)?;
    let precision =
        sweeps::precision_of(precision, &precision_metrics, max_replications, &base).map_err(|e| input_error(e.0))?;
    let sources = input.sources().map_err(scenario_error)?;
    let sw = Sweep::prepare_sources(sources, input.path(), ov.sets.clone(), params, lhs, None, precision)
        .map_err(library_error)?;
    let manifest = serde_json::to_string(&sw.manifest).map_err(|e| library_error(e.into()))?;
    let total = sw.points.len() as u64;
    let (points, frame) = drive(py, jobs, progress.as_ref(), total, |w: &Watch| {
        let go = |_: f64| !w.stopped();
        let todo: Vec<_> = sw.my_points().collect();
        let records: Vec<PointRecord> = todo
            .par_iter()
            .map(|p| -> anyhow::Result<PointRecord> {
                let (summary, met) = sw.run_point_cancellable(p, &go)?.ok_or(Cancelled)?;
                w.advance(1.0);
                Ok(PointRecord {
                    index: p.index,
                    values: p.values.iter().map(|v| v.text.clone()).collect(),
                    precision_met: met,
                    summary,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let bytes = report::parquet_bytes(&mut sweeps::results_frame(&sw.manifest, &records)?)?;
        let points = records
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((points, bytes))
    })?;
    Ok((manifest, points, PyBytes::new(py, &frame)))
}

/// `tenantsim compare`: (comparison.json text, comparison.csv text).
/// With one scenario `sets` describe B; with two they apply to both.
#[pyfunction]
#[pyo3(signature = (a_path=None, a_text=None, b_path=None, b_text=None, sets=Vec::new(), set_both=Vec::new(),
                    seed=None, replications=None, independent=false, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)] // the flags of `tenantsim compare`, as keywords
pub fn compare<'py>(
    py: Python<'py>,
    a_path: Option<PathBuf>,
    a_text: Option<String>,
    b_path: Option<PathBuf>,
    b_text: Option<String>,
    sets: Vec<String>,
    set_both: Vec<String>,
    seed: Option<u64>,
    replications: Option<u32>,
    independent: bool,
    threads: Option<usize>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(String, String)> {
    let a = Input::new(a_path, a_text)?;
    let b = match (b_path, b_text) {
        (None, None) => None,
        (p, t) => Some(Input::new(p, t)?),
    };
    let mut ov = Overrides::new(&[], seed, None);
    for s in &set_both {
        ov.push("--set-both", s);
    }
    let mut common = ov.sets.clone();
    let load = |i: &Input, s: &[String]| i.load_with(s).map_err(|e| scenario_error(ov.name_flag(e)));
    let (mut sa, mut sb, b_label) = match &b {
        None => {
            if sets.is_empty() {
                return Err(input_error(
                    "compare with one scenario needs overrides that describe B (or give two scenarios)".into(),
                ));
            }
            let sa = load(&a, &common)?;
            let mut b_sets = common.clone();
            b_sets.extend(sets.iter().cloned());
            let sb = load(&a, &b_sets)?;
            let label = format!("{} with {}", sa.name, sets.join(" "));
            (sa, sb, label)
        }
        Some(b) => {
            common.extend(sets.iter().cloned());
            let sa = load(&a, &common)?;
            let sb = load(b, &common)?;
            let label = sb.name.clone();
            (sa, sb, label)
        }
    };
    let n = replications.unwrap_or(sa.simulation.replications.max(sb.simulation.replications));
    if n < 2 {
        return Err(input_error(format!(
            "replications={n}: a paired comparison needs at least 2"
        )));
    }
    sa.simulation.replications = n;
    sb.simulation.replications = n;
    let seed = sa.simulation.seed;
    // Common random numbers: B runs on A's seed unless asked otherwise
    // (the CLI's `--independent` seed).
    sb.simulation.seed = if independent {
        seed ^ 0x5bd1_e995_9e37_79b9
    } else {
        seed
    };
    let a_label = match &b {
        None => sa.name.clone(),
        Some(_) => format!("{} ({})", sa.name, a.path().display()),
    };
    let c = drive(py, threads, progress.as_ref(), 2 * PER_MILLE as u64, |w: &Watch| {
        let go = |f: f64| w.advance(f * PER_MILLE);
        let oa = runner::run_cancellable(&sa, &go)?;
        let ob = runner::run_cancellable(&sb, &go)?;
        if let Some(e) = oa.stall_error().or_else(|| ob.stall_error()) {
            return Err(e.into());
        }
        Ok(report::compare::compare(
            &a_label,
            &b_label,
            seed,
            !independent,
            &oa,
            &ob,
        ))
    })?;
    Ok((c.to_json(), c.to_csv()))
}

/// `tenantsim plan`: plan.json text. Progress counts replications
/// simulated, against the whole grid at `max_replications` (an upper bound:
/// the search usually needs far fewer).
#[pyfunction]
#[pyo3(signature = (path=None, text=None, vary=Vec::new(), sets=Vec::new(), minimize="cost".to_string(),
                    capacity=Vec::new(), replications=3, max_replications=24, exhaustive=false, seed=None, jobs=None,
                    progress=None))]
#[allow(clippy::too_many_arguments)] // the flags of `tenantsim plan`, as keywords
pub fn plan(
    py: Python<'_>,
    path: Option<PathBuf>,
    text: Option<String>,
    vary: Vec<String>,
    sets: Vec<String>,
    minimize: String,
    capacity: Vec<String>,
    replications: u32,
    max_replications: u32,
    exhaustive: bool,
    seed: Option<u64>,
    jobs: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    let input = Input::new(path, text)?;
    let ov = Overrides::new(&sets, seed, None);
    let base = input.load(&ov).map_err(scenario_error)?;
    if base.slo.is_empty() {
        return Err(input_error(format!(
            "{}: plan needs an [slo] section to know what an acceptable setting is",
            input.path().display()
        )));
    }
    let metric = match minimize.as_str() {
        "cost" => "cost",
        "instances" => "instances_mean",
        m => names::metric(m).map(|d| d.name).ok_or_else(|| {
            let hint = tenantsim::scenario::did_you_mean(m, names::METRICS.iter().map(|x| x.name))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            input_error(format!("minimize={m}: expected cost, instances or a metric name{hint}"))
        })?,
    };
    if replications < 2 || max_replications < replications {
        return Err(input_error(format!(
            "replications={replications} / max_replications={max_replications}: need 2 ≤ screening ≤ max (a CI needs two replications)"
        )));
    }
    if vary.is_empty() {
        return Err(input_error(
            "plan needs at least one parameter to vary, e.g. vary={\"instance.initial\": \"1..4:1\"}".into(),
        ));
    }
    let params: Vec<ParamSpec> = vary
        .iter()
        .map(|p| ParamSpec::parse(p))
        .collect::<Result<_, _>>()
        .map_err(|e| input_error(e.replace("--param", "vary")))?;
    for c in &capacity {
        if !params.iter().any(|p| &p.key == c) {
            return Err(input_error(format!("capacity {c}: not one of the vary keys")));
        }
    }
    let cap: Vec<usize> = params
        .iter()
        .enumerate()
        .filter(|(_, p)| planning::is_capacity_key(&p.key) || capacity.contains(&p.key))
        .map(|(i, _)| i)
        .collect();
    let sources = input.sources().map_err(scenario_error)?;
    let sw = Sweep::prepare_sources(sources, input.path(), ov.sets, params.clone(), None, None, None)
        .map_err(|e| input_error(format!("{e:#}").replace("--param", "vary")))?;
    let cfg = planning::PlanConfig {
        objective: planning::Objective { metric },
        screening_replications: replications,
        max_replications,
        capacity: cap,
        exhaustive,
    };
    let total = sw.points.len() as u64 * u64::from(max_replications);
    let doc = drive(py, jobs, progress.as_ref(), total, |w: &Watch| {
        let r = planning::plan_cancellable(&sw, &cfg, &|f| w.advance(f))?;
        Ok(planning::to_json(&params, metric, &r))
    })?;
    Ok(doc.to_string())
}

/// `tenantsim validate`: the rows (JSON text) of the comparison with
/// queueing theory. Progress counts cases; a stop is taken between cases.
#[pyfunction]
#[pyo3(signature = (quick=false, threads=None, progress=None))]
pub fn validate(
    py: Python<'_>,
    quick: bool,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    let cases = tenantsim::validate::cases();
    let rows = drive(py, threads, progress.as_ref(), cases.len() as u64, |w: &Watch| {
        let mut rows = Vec::new();
        for case in &cases {
            if w.stopped() {
                return Err(Cancelled.into());
            }
            rows.extend(tenantsim::validate::run_case(case, quick)?);
            w.advance(1.0);
        }
        Ok(rows)
    })?;
    serde_json::to_string(&rows).map_err(|e| library_error(e.into()))
}

/// A message about the file `p`, as an error naming it.
fn at(p: &std::path::Path) -> impl Fn(String) -> PyErr + '_ {
    move |m| input_error(format!("{}: {m}", p.display()))
}

/// `tenantsim fit` of an access log and/or a Prometheus export file: the
/// scenario TOML text (what `--out` would hold).
#[pyfunction]
#[pyo3(signature = (log=None, prometheus=None, tier_map=None, name=None, max_endpoints=12, cores=2))]
pub fn fit(
    log: Option<PathBuf>,
    prometheus: Option<PathBuf>,
    tier_map: Option<PathBuf>,
    name: Option<String>,
    max_endpoints: usize,
    cores: u32,
) -> PyResult<String> {
    use tenantsim::fit::{self as f, log as flog};
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| input_error(format!("cannot read {}: {e}", p.display())));
    if log.is_none() && prometheus.is_none() {
        return Err(input_error(
            "nothing to fit: give an access log, a Prometheus export, or both".into(),
        ));
    }
    let tiers = match &tier_map {
        None => None,
        Some(p) => Some(f::read_tier_map(&read(p)?).map_err(at(p))?),
    };
    let mut parsed = None;
    let mut parts = None;
    if let Some(p) = &log {
        let opts = flog::LogOptions {
            format: flog::Format::Auto,
            columns: flog::Columns::default(),
            latency_unit: None,
        };
        let pl = flog::read_log(p, &opts).map_err(input_error)?;
        f::check_enough_requests(pl.requests.len()).map_err(at(p))?;
        parts = f::components::read(&read(p)?).map_err(at(p))?;
        parsed = Some(pl);
    }
    let prom = match &prometheus {
        None => None,
        Some(p) => {
            let series = f::prometheus::parse_export(&read(p)?).map_err(at(p))?;
            Some(f::prometheus::fit_export(&series).map_err(at(p))?)
        }
    };
    let log_fit = parsed
        .as_ref()
        .map(|pl| f::fit_log(&pl.requests, tiers.as_ref(), max_endpoints));
    let src = log.as_ref().or(prometheus.as_ref());
    let name = name.unwrap_or_else(|| {
        let stem = src.and_then(|p| p.file_stem()).and_then(|s| s.to_str());
        format!("{}-fitted", stem.unwrap_or("fitted"))
    });
    let source = [log.as_ref(), prometheus.as_ref()]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    let opts = f::RenderOptions {
        name,
        source,
        replay: None,
        qq_dir: None,
        cores,
    };
    f::render_with(log_fit.as_ref(), prom.as_ref(), &opts, parts.as_ref()).map_err(input_error)
}
