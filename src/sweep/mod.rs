//! Parameter sweeps (SPEC §5–§7): the points of a sweep, running them on
//! rayon, one result file per finished point (so an interrupted sweep
//! resumes where it stopped), shards for running a slice of the points on
//! another machine, merging shards, and the `results.csv` /
//! `results.parquet` table.
//!
//! Layout of a sweep folder:
//! - `sweep.json` — the manifest: scenario fingerprint, parameters, design,
//!   seed, replications, shard; written before any point runs, and checked
//!   by `--resume` and `merge` so results of different sweeps never mix;
//! - `points/p<index>.json` — one finished point: its parameter values and
//!   its full summary (every metric with CI, per tier, SLO verdicts);
//! - `results.csv`, `results.parquet` — one row per point, in point order.
//!
//! Invariants: a point's result depends only on the scenario, its
//! parameter values and the seed — never on the thread count, the shard it
//! ran in, or whether it was resumed — so merged shards equal the unsharded
//! sweep row for row. Every file is written to a temporary name and renamed.

pub mod params;
mod results;

pub use params::{grid, lhs, ParamSpec, ParamValue, Point, Values};
pub use results::{results_frame, write_results};

use crate::runner::{self, Precision};
use crate::scenario::{source::Sources, Scenario, ScenarioError};
use crate::summary::{self, Summary};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A slice of a sweep: the points whose index % count == index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parse `I/N` (0 ≤ I < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--shard {s}: expected I/N, e.g. --shard 0/4 (I counts from 0)"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("--shard {s}: `{i}` is not a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("--shard {s}: `{n}` is not a number"))?;
        Shard::new(index, count).map_err(|e| format!("--shard {s}: {e}"))
    }

    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the count {count} (indices start at 0)"
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn contains(&self, point: usize) -> bool {
        point % self.count == self.index
    }
}

/// What identifies a sweep: two folders hold parts of the same sweep when
/// their manifests are equal except for the shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub scenario: String,
    pub scenario_path: String,
    /// FNV-1a of the merged scenario table and the `--set` overrides.
    pub fingerprint: String,
    pub sets: Vec<String>,
    /// The `--param` arguments as given.
    pub params: Vec<String>,
    /// "grid" or "lhs:N".
    pub design: String,
    pub seed: u64,
    pub replications: u32,
    pub precision: Option<f64>,
    pub points_total: usize,
    pub shard: Option<Shard>,
}

impl Manifest {
    /// The same sweep, whatever the shard.
    pub fn same_sweep(&self, other: &Manifest) -> bool {
        Manifest {
            shard: None,
            ..self.clone()
        } == Manifest {
            shard: None,
            ..other.clone()
        }
    }

    /// The first field in which two manifests differ (for error messages).
    pub fn difference(&self, other: &Manifest) -> Option<&'static str> {
        let pairs: [(&str, bool); 9] = [
            ("scenario", self.scenario == other.scenario),
            ("--param", self.params == other.params),
            ("design (grid/--lhs)", self.design == other.design),
            ("seed", self.seed == other.seed),
            ("replications", self.replications == other.replications),
            ("--precision", self.precision == other.precision),
            ("point count", self.points_total == other.points_total),
            ("--shard", self.shard == other.shard),
            (
                "scenario content or --set",
                self.fingerprint == other.fingerprint && self.sets == other.sets,
            ),
        ];
        pairs.iter().find(|(_, same)| !same).map(|(k, _)| *k)
    }
}

/// Everything needed to run a sweep or a slice of it.
pub struct Sweep {
    pub sources: Sources,
    /// `--set`, seed and replications overrides applied to every point.
    pub sets: Vec<String>,
    pub params: Vec<ParamSpec>,
    pub points: Vec<Point>,
    pub manifest: Manifest,
    pub precision: Option<Precision>,
}

impl Sweep {
    /// Read the scenario once, expand the design, and check that every
    /// point resolves to a valid scenario before anything runs.
    pub fn prepare(
        scenario: &Path,
        sets: Vec<String>,
        params: Vec<ParamSpec>,
        lhs_n: Option<usize>,
        shard: Option<Shard>,
        precision: Option<Precision>,
    ) -> anyhow::Result<Sweep> {
        let sources = crate::scenario::source::load(scenario)?;
        Sweep::prepare_sources(sources, scenario, sets, params, lhs_n, shard, precision)
    }

    /// [`Sweep::prepare`] of a scenario already read (a TOML string handed
    /// to the Python package); `scenario` names it in the manifest and is
    /// where `instance.type=NAME` looks for `models/instances/`.
    pub fn prepare_sources(
        sources: Sources,
        scenario: &Path,
        sets: Vec<String>,
        params: Vec<ParamSpec>,
        lhs_n: Option<usize>,
        shard: Option<Shard>,
        precision: Option<Precision>,
    ) -> anyhow::Result<Sweep> {
        // One axis per key: a key swept twice would run every point and
        // then fail on a duplicate column, after writing the folder.
        for (i, p) in params.iter().enumerate() {
            if let Some(q) = params[..i].iter().find(|q| q.key == p.key) {
                return Err(crate::cli_error(format!(
                    "--param {}={} and --param {}={} both sweep `{}`: give each key one --param with all its values",
                    q.key, q.spec, p.key, p.spec, p.key
                )));
            }
        }
        let base = crate::scenario::from_sources(sources.clone(), &sets)?;
        let points = match lhs_n {
            Some(n) => lhs(&params, n, base.simulation.seed),
            None => grid(&params),
        }
        .map_err(crate::cli_error)?;
        for p in &params {
            if sets
                .iter()
                .any(|s| s.split_once('=').map(|x| x.0.trim()) == Some(p.key.as_str()))
            {
                return Err(crate::cli_error(format!("`{}` is both a --param and a --set", p.key)));
            }
        }
        let manifest = Manifest {
            format: 1,
            scenario: base.name.clone(),
            scenario_path: scenario.display().to_string(),
            fingerprint: fingerprint(&sources, &sets),
            sets: sets.clone(),
            params: params.iter().map(|p| format!("{}={}", p.key, p.spec)).collect(),
            design: lhs_n.map(|n| format!("lhs:{n}")).unwrap_or_else(|| "grid".into()),
            seed: base.simulation.seed,
            replications: base.simulation.replications,
            precision: precision.as_ref().map(|p| p.relative_half_width),
            points_total: points.len(),
            shard,
        };
        let sweep = Sweep {
            sources,
            sets,
            params,
            points,
            manifest,
            precision,
        };
        // Resolve every point of this slice now, so a bad value fails fast
        // with the point named, instead of after an hour of simulation.
        for p in sweep.my_points() {
            sweep.scenario(p).map_err(|e| {
                crate::cli_error(format!("point {} ({}): {e}", p.index, p.sets(&sweep.params).join(" ")))
            })?;
        }
        Ok(sweep)
    }

    /// The points of this shard (all of them without one).
    pub fn my_points(&self) -> impl Iterator<Item = &Point> {
        let shard = self.manifest.shard;
        self.points
            .iter()
            .filter(move |p| shard.is_none_or(|s| s.contains(p.index)))
    }

    /// The scenario of one point.
    pub fn scenario(&self, p: &Point) -> Result<Scenario, ScenarioError> {
        let mut sets = self.sets.clone();
        for s in p.sets(&self.params) {
            match s.strip_prefix("instance.type=") {
                Some(name) => sets.extend(instance_type(&self.manifest.scenario_path, name)?),
                None => sets.push(s),
            }
        }
        crate::scenario::from_sources(self.sources.clone(), &sets)
    }

    /// Simulate one point: its summary, and whether `--precision` was met.
    pub fn run_point(&self, p: &Point) -> Result<(Summary, Option<bool>), ScenarioError> {
        let go = |_: f64| true;
        // The watcher never asks to stop, so the point always finishes.
        Ok(self
            .run_point_cancellable(p, &go)?
            .expect("an unstopped point finishes"))
    }

    /// [`Sweep::run_point`] that stops (None) when `progress`, told the
    /// fraction of the point just simulated, returns false (see
    /// [`runner::run_cancellable`]).
    pub fn run_point_cancellable(
        &self,
        p: &Point,
        progress: &(dyn Fn(f64) -> bool + Sync),
    ) -> Result<Option<(Summary, Option<bool>)>, ScenarioError> {
        let sc = self.scenario(p)?;
        Ok(match &self.precision {
            None => runner::run_cancellable(&sc, progress)
                .ok()
                .map(|out| (summary::build_summary(&sc, &out), None)),
            Some(prec) => runner::run_to_precision_cancellable(&sc, prec, progress)
                .ok()
                .map(|(out, outcome)| {
                    let mut s = summary::build_summary(&sc, &out);
                    s.precision = Some(precision_note(prec, &outcome));
                    s.warnings.extend(precision_warnings(prec, &outcome));
                    (s, Some(outcome.met))
                }),
        })
    }
}

/// `instance.type=NAME`: the `[instance]` keys of `models/instances/NAME.toml`,
/// found in the scenario's folder or the nearest parent that has
/// `models/instances/`, as `--set instance.<key>=<value>` assignments.
pub fn instance_type(scenario_path: &str, name: &str) -> Result<Vec<String>, ScenarioError> {
    let start = Path::new(scenario_path).parent().unwrap_or(Path::new("."));
    let start = if start.as_os_str().is_empty() {
        Path::new(".")
    } else {
        start
    };
    let dir = start
        .ancestors()
        .map(|d| d.join("models").join("instances"))
        .find(|d| d.is_dir())
        .ok_or_else(|| {
            ScenarioError::new(format!(
                "instance.type={name}: no models/instances/ folder next to {scenario_path} or above it"
            ))
        })?;
    let file = dir.join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&file).map_err(|_| {
        let mut types: Vec<String> = std::fs::read_dir(&dir)
            .map(|r| {
                r.flatten()
                    .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        types.sort();
        ScenarioError::new(format!(
            "instance.type={name}: {} does not exist; instance types: {}",
            file.display(),
            types.join(", ")
        ))
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| ScenarioError::new(format!("{}: {e}", file.display())))?;
    let inst = table
        .get("instance")
        .and_then(|v| v.as_table())
        .ok_or_else(|| ScenarioError::new(format!("{}: expected an [instance] table", file.display())))?;
    Ok(inst.iter().map(|(k, v)| format!("instance.{k}={v}")).collect())
}

/// The precision request, with the metrics checked against the catalogue.
pub fn precision_of(
    fraction: Option<f64>,
    metrics: &[String],
    max: u32,
    sc: &crate::scenario::Scenario,
) -> Result<Option<Precision>, crate::InputError> {
    let Some(f) = fraction else { return Ok(None) };
    if !(f > 0.0 && f < 1.0) {
        return Err(crate::InputError(format!(
            "--precision {f}: expected a fraction between 0 and 1, e.g. 0.05"
        )));
    }
    let mut ms: Vec<&'static str> = Vec::new();
    for m in metrics {
        let def = crate::metrics::names::metric(m).ok_or_else(|| {
            let hint = crate::scenario::did_you_mean(m, crate::metrics::names::METRICS.iter().map(|x| x.name))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            crate::InputError(format!("--precision-metric {m}: unknown metric{hint}"))
        })?;
        ms.push(def.name);
    }
    if ms.is_empty() {
        for c in &sc.slo {
            if !ms.contains(&c.metric) {
                ms.push(c.metric);
            }
        }
    }
    if ms.is_empty() {
        ms.push("latency_mean_s");
    }
    Ok(Some(Precision {
        relative_half_width: f,
        metrics: ms,
        max_replications: max.max(3),
    }))
}

/// What `summary.json` says about a `--precision` run.
/// `missed` names the metrics whose target was not met; `absolute` the
/// ratios held to an absolute half-width because their mean was under
/// `rate_floor` (see [`runner::RATE_FLOOR`]).
pub fn precision_note(p: &Precision, o: &runner::PrecisionOutcome) -> Value {
    serde_json::json!({
        "relative_half_width": p.relative_half_width,
        "metrics": p.metrics,
        "max_replications": p.max_replications,
        "met": o.met,
        "missed": o.missed,
        "absolute": o.absolute,
        "rate_floor": runner::RATE_FLOOR,
    })
}

/// The warnings a `--precision` run owes its reader: which metrics missed
/// the target, and which near-zero ratios were judged on an absolute
/// half-width instead.
pub fn precision_warnings(p: &Precision, o: &runner::PrecisionOutcome) -> Vec<String> {
    let mut w = Vec::new();
    if !o.missed.is_empty() {
        w.push(format!(
            "--precision {} not reached for {} within {} replications (raise --max-replications, or lengthen the run)",
            p.relative_half_width,
            o.missed.join(", "),
            p.max_replications
        ));
    }
    if !o.absolute.is_empty() {
        w.push(format!(
            "--precision: {} below {}, so held to an absolute 95 % CI half-width of ±{} ({} × {}) instead of a relative one",
            o.absolute.join(", "),
            runner::RATE_FLOOR,
            p.relative_half_width * runner::RATE_FLOOR,
            p.relative_half_width,
            runner::RATE_FLOOR
        ));
    }
    w
}

/// A finished point as stored in `points/p<index>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PointRecord {
    pub index: usize,
    /// Parameter values, in `--param` order (as handed to `--set`).
    pub values: Vec<String>,
    pub precision_met: Option<bool>,
    pub summary: Summary,
}

impl PointRecord {
    fn path(dir: &Path, index: usize) -> PathBuf {
        dir.join("points").join(format!("p{index:07}.json"))
    }
}

/// How a sweep went.
pub struct SweepOutcome {
    pub ran: usize,
    pub resumed: usize,
    pub events: u64,
    pub wall_s: f64,
    pub records: Vec<PointRecord>,
}

/// A point file that does not read, and why.
pub type Unreadable = (PathBuf, String);

/// Read the finished points in `dir/points/`, sorted by index. Files that
/// do not parse (impossible with atomic writes, unless edited by hand or
/// written by a tenantsim with another summary format) are reported in the
/// second list, with why, and otherwise ignored.
pub fn read_points(dir: &Path) -> std::io::Result<(Vec<PointRecord>, Vec<Unreadable>)> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    let pdir = dir.join("points");
    if !pdir.exists() {
        return Ok((records, bad));
    }
    for entry in std::fs::read_dir(&pdir)? {
        let path = entry?.path();
        let is_point = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('p') && n.ends_with(".json"));
        if !is_point {
            continue;
        }
        let read = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<PointRecord>(&b).map_err(|e| e.to_string()));
        match read {
            Ok(r) => records.push(r),
            Err(e) => bad.push((path, e)),
        }
    }
    records.sort_by_key(|r| r.index);
    Ok((records, bad))
}

/// Read `dir/sweep.json`.
pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join("sweep.json");
    let bytes = std::fs::read(&path).map_err(|e| crate::cli_error(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| crate::cli_error(format!("{}: not a tenantsim sweep manifest ({e})", path.display())))
}

/// Run the points of `sweep` not already finished in `dir` (with `resume`),
/// writing each as soon as it is done, then the results table.
/// `on_point` is called once per finished point (for progress).
pub fn run(sweep: &Sweep, dir: &Path, resume: bool, on_point: &(dyn Fn() + Sync)) -> anyhow::Result<SweepOutcome> {
    let watch = |_: Option<&PointRecord>| {
        on_point();
        true
    };
    run_watched(sweep, dir, resume, &watch)
}

/// [`run`] for callers that watch it live (`tenantsim serve`): `on_point`
/// gets each freshly computed point (None for a resumed one) and returns
/// false to stop the sweep. Points already running finish and are stored;
/// points not started are skipped, and the error says how to resume.
pub fn run_watched(
    sweep: &Sweep,
    dir: &Path,
    resume: bool,
    on_point: &(dyn Fn(Option<&PointRecord>) -> bool + Sync),
) -> anyhow::Result<SweepOutcome> {
    let start = std::time::Instant::now();
    let manifest_path = dir.join("sweep.json");
    let mut done: Vec<PointRecord> = Vec::new();
    if manifest_path.exists() {
        let old = read_manifest(dir)?;
        if !resume {
            return Err(crate::cli_error(format!(
                "{} already holds a sweep; pass --resume to finish it, or choose another --out",
                dir.display()
            )));
        }
        if old != sweep.manifest {
            return Err(crate::cli_error(format!(
                "cannot resume {}: it holds a different sweep ({} differs)",
                dir.display(),
                old.difference(&sweep.manifest).unwrap_or("the manifest")
            )));
        }
        remove_stale_temporaries(&dir.join("points"));
        let (records, bad) = read_points(dir)?;
        for (b, why) in bad {
            eprintln!(
                "warning: {} is not a readable point ({why}); it will be recomputed",
                b.display()
            );
        }
        // Keep a stored point only if it is one of ours with the same values.
        for r in records {
            let ok = sweep.points.get(r.index).is_some_and(|p| {
                sweep.manifest.shard.is_none_or(|s| s.contains(p.index))
                    && p.values
                        .iter()
                        .map(|v| v.text.as_str())
                        .eq(r.values.iter().map(|s| s.as_str()))
            });
            if ok {
                done.push(r);
            }
        }
    } else {
        crate::files::write_atomic(&manifest_path, to_json(&sweep.manifest).as_bytes())?;
    }
    let resumed = done.len();
    let finished: std::collections::HashSet<usize> = done.iter().map(|r| r.index).collect();
    let todo: Vec<&Point> = sweep.my_points().filter(|p| !finished.contains(&p.index)).collect();
    let stopped = std::sync::atomic::AtomicBool::new(false);
    for _ in 0..resumed {
        if !on_point(None) {
            stopped.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let fresh: Vec<Option<(PointRecord, u64)>> = todo
        .par_iter()
        .map(|p| -> anyhow::Result<Option<(PointRecord, u64)>> {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(None);
            }
            let (summary, met) = sweep.run_point(p)?;
            let events = summary.engine.events;
            let rec = PointRecord {
                index: p.index,
                values: p.values.iter().map(|v| v.text.clone()).collect(),
                precision_met: met,
                summary,
            };
            crate::files::write_atomic_nosync(&PointRecord::path(dir, p.index), to_json(&rec).as_bytes())?;
            if !on_point(Some(&rec)) {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Some((rec, events)))
        })
        .collect::<anyhow::Result<_>>()?;
    let skipped = fresh.iter().filter(|f| f.is_none()).count();
    if skipped > 0 {
        return Err(crate::cli_error(format!(
            "sweep stopped with {skipped} points not run; the finished ones are in {} (finish with --resume)",
            dir.display()
        )));
    }
    let fresh: Vec<(PointRecord, u64)> = fresh.into_iter().flatten().collect();
    let events = fresh.iter().map(|(_, e)| e).sum();
    let ran = fresh.len();
    done.extend(fresh.into_iter().map(|(r, _)| r));
    done.sort_by_key(|r| r.index);
    write_results(&sweep.manifest, &done, dir)?;
    Ok(SweepOutcome {
        ran,
        resumed,
        events,
        wall_s: start.elapsed().as_secs_f64(),
        records: done,
    })
}

/// Combine the folders of a sweep's shards (or partial runs) into `out`.
/// Every folder must hold the same sweep; with `allow_partial` false, every
/// point must be present. Returns the merged records.
pub fn merge(dirs: &[PathBuf], out: &Path, allow_partial: bool) -> anyhow::Result<Vec<PointRecord>> {
    let mut manifest: Option<Manifest> = None;
    let mut by_index: std::collections::BTreeMap<usize, PointRecord> = Default::default();
    for d in dirs {
        let m = read_manifest(d)?;
        match &manifest {
            None => manifest = Some(m),
            Some(first) if !first.same_sweep(&m) => {
                let diff = Manifest {
                    shard: None,
                    ..first.clone()
                }
                .difference(&Manifest { shard: None, ..m })
                .unwrap_or("the manifest");
                return Err(crate::cli_error(format!(
                    "{} holds a different sweep from {} ({diff} differs)",
                    d.display(),
                    dirs[0].display()
                )));
            }
            Some(_) => {}
        }
        let (records, bad) = read_points(d)?;
        for (b, why) in bad {
            eprintln!("warning: skipping unreadable {} ({why})", b.display());
        }
        for r in records {
            if let Some(prev) = by_index.get(&r.index) {
                if prev.values != r.values || prev.summary.metrics != r.summary.metrics {
                    return Err(crate::cli_error(format!(
                        "point {} appears twice with different results (in {})",
                        r.index,
                        d.display()
                    )));
                }
            }
            by_index.insert(r.index, r);
        }
    }
    let mut manifest = manifest.ok_or_else(|| crate::cli_error("merge needs at least one folder".into()))?;
    let missing: Vec<usize> = (0..manifest.points_total)
        .filter(|i| !by_index.contains_key(i))
        .collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        let msg = format!(
            "{} of {} points are missing (e.g. {}); run the missing shards or pass --allow-partial",
            missing.len(),
            manifest.points_total,
            list.join(", ")
        );
        if !allow_partial {
            return Err(crate::cli_error(msg));
        }
        eprintln!("warning: {msg}");
    }
    manifest.shard = None;
    let records: Vec<PointRecord> = by_index.into_values().collect();
    crate::files::write_atomic(&out.join("sweep.json"), to_json(&manifest).as_bytes())?;
    for r in &records {
        crate::files::write_atomic_nosync(&PointRecord::path(out, r.index), to_json(r).as_bytes())?;
    }
    write_results(&manifest, &records, out)?;
    Ok(records)
}

/// Temporary files left by a killed sweep (`.p<index>.json.tmp-…`).
fn remove_stale_temporaries(points: &Path) {
    let Ok(entries) = std::fs::read_dir(points) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".p") && name.contains(".json.tmp-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_string_pretty(v).expect("serialisable") + "\n"
}

/// FNV-1a over the merged scenario (as TOML text) and the overrides.
fn fingerprint(sources: &Sources, sets: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = toml::to_string(&sources.merged).unwrap_or_default();
    for b in text.bytes().chain(sets.join("\n").bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_points() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        for p in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(p)).count(), 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("1-3").is_err());
        assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
    }
}
