//! Jobs of `tenantsim serve` — a run, a paired comparison or a sweep — and
//! the bounded worker pool that executes them off the web server's threads.
//!
//! Invariants: at most `queue` jobs wait and `workers` run; a submission
//! beyond that is refused at once (the API answers 429), never queued.
//! Each job has an append-only event log (JSON strings) that event streams
//! replay from the start (or from a `Last-Event-ID`, [`super::stream`]) and
//! then follow, so a page that connects late still draws the whole chart.
//! The log is kept whole while the job is in the table, and is bounded by
//! construction: at most `MAX_STREAMED_ROWS` rows per side, in one `rows`
//! event per 1 % chunk of replication 0, a `progress` event per 1 % of the
//! job, one `point` per sweep point (`--max-points`) and a few summaries. A job stops when cancelled or when its
//! simulated events exceed the budget, checked after every 1 % of a
//! replication's simulated time (between points for sweeps).

use crate::metrics::TimeSeriesRow;
use crate::report;
use crate::runner::{self, Chunk, ReplicationResult, RunOutput};
use crate::scenario::Scenario;
use crate::sweep::{self, ParamSpec, PointRecord, Sweep};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

/// Time-series rows streamed per side and job; later rows are only in the
/// files (a chart of more points than pixels shows nothing more).
const MAX_STREAMED_ROWS: usize = 20_000;
/// Finished jobs kept in memory for `GET` (oldest dropped first).
const KEEP_FINISHED: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl Status {
    pub fn finished(self) -> bool {
        matches!(self, Status::Done | Status::Failed | Status::Cancelled)
    }
}

/// What a job does, fully resolved before it is queued (so a bad request
/// fails with 400 at once, not later in a worker).
pub enum Work {
    Run {
        scenario: Box<Scenario>,
    },
    /// `a` is the baseline, `b` the candidate; same seed (common random numbers).
    Compare {
        a: Box<Scenario>,
        b: Box<Scenario>,
        b_label: String,
    },
    Sweep {
        sweep: Box<Sweep>,
    },
}

impl Work {
    pub fn kind(&self) -> &'static str {
        match self {
            Work::Run { .. } => "run",
            Work::Compare { .. } => "compare",
            Work::Sweep { .. } => "sweep",
        }
    }
}

pub struct Job {
    pub id: u64,
    pub kind: &'static str,
    pub scenario: String,
    /// The command that reproduces this job's files.
    pub cli: String,
    pub out_dir: PathBuf,
    pub events_budget: u64,
    cancel: AtomicBool,
    events_used: AtomicU64,
    state: Mutex<JobState>,
    /// Bumped on every change; event streams wait on it.
    changed: tokio::sync::watch::Sender<u64>,
    /// The pool's count of jobs queued or running, which this job holds
    /// one of from `submit` until it is finished (set by `submit`).
    slot: std::sync::OnceLock<Arc<AtomicUsize>>,
}

struct JobState {
    status: Status,
    /// Fraction done, 0..1.
    progress: f64,
    /// Fraction of each replication (per side) done.
    rep_progress: Vec<f64>,
    error: Option<String>,
    result: Option<Value>,
    log: Vec<Arc<str>>,
    streamed_rows: [usize; 2],
    last_progress_logged: f64,
    submitted: Instant,
    started: Option<Instant>,
    first_row_ms: Option<f64>,
    wall_s: Option<f64>,
}

impl Job {
    pub fn new(id: u64, work: &Work, scenario: String, cli: String, out_dir: PathBuf, events_budget: u64) -> Job {
        let (changed, _) = tokio::sync::watch::channel(0);
        let reps = match work {
            Work::Run { scenario } => scenario.simulation.replications as usize,
            Work::Compare { a, b, .. } => (a.simulation.replications + b.simulation.replications) as usize,
            Work::Sweep { sweep } => sweep.points.len(),
        };
        Job {
            id,
            kind: work.kind(),
            scenario,
            cli,
            out_dir,
            events_budget,
            cancel: AtomicBool::new(false),
            events_used: AtomicU64::new(0),
            state: Mutex::new(JobState {
                status: Status::Queued,
                progress: 0.0,
                rep_progress: vec![0.0; reps.max(1)],
                error: None,
                result: None,
                log: Vec::new(),
                streamed_rows: [0, 0],
                last_progress_logged: 0.0,
                submitted: Instant::now(),
                started: None,
                first_row_ms: None,
                wall_s: None,
            }),
            changed,
            slot: std::sync::OnceLock::new(),
        }
    }

    /// Give the job's place in the pool back. Called once, under the
    /// state lock, just before the job's status turns finished, so a
    /// client that sees it finished finds the room it left.
    fn release_slot(&self) {
        if let Some(a) = self.slot.get() {
            a.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobState> {
        // A worker that panicked while holding the lock leaves consistent
        // enough state for reporting: take it anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, st: &mut JobState, event: Value) {
        st.log.push(Arc::from(event.to_string()));
        self.changed.send_modify(|v| *v += 1);
    }

    pub fn status(&self) -> Status {
        self.lock().status
    }

    /// Ask the job to stop; a queued job is cancelled at once.
    pub fn cancel(&self) -> Status {
        self.cancel.store(true, Ordering::Relaxed);
        let mut st = self.lock();
        if st.status == Status::Queued {
            self.release_slot();
            st.status = Status::Cancelled;
            self.push(&mut st, json!({"type": "done", "status": "cancelled"}));
        }
        st.status
    }

    /// Status, progress, result and reproduction command, as JSON.
    pub fn to_json(&self) -> Value {
        let st = self.lock();
        json!({
            "id": self.id,
            "kind": self.kind,
            "scenario": self.scenario,
            "status": st.status,
            "progress": st.progress,
            "error": st.error,
            "cli": self.cli,
            "out_dir": self.out_dir.display().to_string(),
            "events": self.events_used.load(Ordering::Relaxed),
            "events_budget": self.events_budget,
            "queued_s": st.started.map(|s| (s - st.submitted).as_secs_f64()),
            "first_row_ms": st.first_row_ms,
            "wall_s": st.wall_s,
            "result": st.result,
        })
    }

    /// Events from index `from` on, and whether the job has finished.
    pub fn events_since(&self, from: usize) -> (Vec<Arc<str>>, bool) {
        let st = self.lock();
        (
            st.log.get(from..).map(|s| s.to_vec()).unwrap_or_default(),
            st.status.finished(),
        )
    }

    /// How many events the job has logged (the id of the last one).
    pub fn logged(&self) -> usize {
        self.lock().log.len()
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The watcher handed to the runner: progress, live rows of
    /// replication 0, cancellation and the events budget.
    fn watch(&self, side: usize, c: &Chunk) -> bool {
        if self.cancel.load(Ordering::Relaxed) {
            return false;
        }
        let used = self.events_used.fetch_add(c.new_events, Ordering::Relaxed) + c.new_events;
        if used > self.events_budget {
            return false;
        }
        let mut st = self.lock();
        let sides = if self.kind == "compare" { 2 } else { 1 };
        let per_side = st.rep_progress.len() / sides;
        let i = side * per_side + c.replication as usize;
        if let Some(p) = st.rep_progress.get_mut(i) {
            *p += c.fraction;
        }
        st.progress = st.rep_progress.iter().sum::<f64>() / st.rep_progress.len() as f64;
        if c.replication == 0 && !c.new_rows.is_empty() && st.streamed_rows[side] < MAX_STREAMED_ROWS {
            let room = MAX_STREAMED_ROWS - st.streamed_rows[side];
            let rows: Vec<Value> = c.new_rows.iter().take(room).map(row_json).collect();
            st.streamed_rows[side] += rows.len();
            if st.first_row_ms.is_none() {
                st.first_row_ms = st.started.map(|s| s.elapsed().as_secs_f64() * 1000.0);
            }
            let progress = st.progress;
            st.last_progress_logged = progress;
            self.push(
                &mut st,
                json!({"type": "rows", "side": if side == 0 {"a"} else {"b"}, "rows": rows, "progress": progress}),
            );
        } else if st.progress - st.last_progress_logged >= 0.01 {
            let progress = st.progress;
            st.last_progress_logged = progress;
            self.push(&mut st, json!({"type": "progress", "progress": progress}));
        }
        true
    }

    fn stop_reason(&self) -> String {
        if self.cancel.load(Ordering::Relaxed) {
            "cancelled".into()
        } else {
            format!(
                "stopped: over the budget of {} simulated events (serve --max-events); shorten the run or use the CLI command",
                self.events_budget
            )
        }
    }

    fn finish(&self, outcome: Result<Value, String>, start: Instant) {
        let mut st = self.lock();
        st.wall_s = Some(start.elapsed().as_secs_f64());
        st.progress = if outcome.is_ok() { 1.0 } else { st.progress };
        let (status, ev) = match outcome {
            Ok(result) => {
                st.result = Some(result);
                (Status::Done, json!({"type": "done", "status": "done"}))
            }
            Err(e) if self.cancel.load(Ordering::Relaxed) => {
                st.error = Some(e);
                (Status::Cancelled, json!({"type": "done", "status": "cancelled"}))
            }
            Err(e) => {
                st.error = Some(e.clone());
                (Status::Failed, json!({"type": "done", "status": "failed", "error": e}))
            }
        };
        self.release_slot();
        st.status = status;
        self.push(&mut st, ev);
    }
}

/// One time-series row as the page plots it.
fn row_json(r: &TimeSeriesRow) -> Value {
    json!({
        "t": r.time_s, "rps": r.rps, "errors": r.errors, "completed": r.completed,
        "p50": r.latency_p50_s, "p95": r.latency_p95_s, "p99": r.latency_p99_s,
        "ready": r.instances_ready, "desired": r.instances_desired,
        "cpu": r.cpu_utilization, "mem": r.memory_utilization,
        "pool_in_use": r.pool_in_use, "pool_waiting": r.pool_waiting,
        "cache_hit": r.cache_hit_ratio,
    })
}

/// The job table and the worker pool.
pub struct Jobs {
    next_id: AtomicU64,
    table: Mutex<BTreeMap<u64, Arc<Job>>>,
    queue: mpsc::Sender<(Arc<Job>, Work)>,
    /// Jobs queued or running (cancelled queued jobs left at once, even
    /// while still in the channel), and how many may be.
    active: Arc<AtomicUsize>,
    capacity: usize,
}

/// Why a job was not accepted.
pub enum SubmitError {
    /// Every worker is busy and the queue is full.
    Full,
}

impl Jobs {
    /// Start `workers` threads, each running one job at a time on a rayon
    /// pool of `threads` threads (0 = all cores), with room for `queue`
    /// waiting jobs.
    pub fn start(workers: usize, threads: usize, queue: usize) -> Arc<Jobs> {
        let (tx, rx) = mpsc::channel::<(Arc<Job>, Work)>();
        let capacity = workers.max(1) + queue;
        let rx = Arc::new(Mutex::new(rx));
        for w in 0..workers.max(1) {
            let rx = rx.clone();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(move |i| format!("serve-w{w}-{i}"))
                .build();
            std::thread::Builder::new()
                .name(format!("serve-worker-{w}"))
                .spawn(move || {
                    let pool = match pool {
                        Ok(p) => p,
                        Err(e) => {
                            eprintln!("error: worker {w}: cannot start its threads: {e}");
                            return;
                        }
                    };
                    loop {
                        // The receiver is shared; hold its lock only to take one job.
                        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((job, work)) = next else { return };
                        pool.install(|| execute(&job, work));
                    }
                })
                .expect("spawning a worker thread");
        }
        Arc::new(Jobs {
            next_id: AtomicU64::new(1),
            table: Mutex::new(BTreeMap::new()),
            queue: tx,
            active: Arc::new(AtomicUsize::new(0)),
            capacity,
        })
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queue `work` as `job`, or refuse at once when the queue is full.
    pub fn submit(&self, job: Job, work: Work) -> Result<Arc<Job>, SubmitError> {
        self.active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .map_err(|_| SubmitError::Full)?;
        let _ = job.slot.set(self.active.clone());
        let job = Arc::new(job);
        if self.queue.send((job.clone(), work)).is_err() {
            // Every worker thread is gone.
            job.release_slot();
            return Err(SubmitError::Full);
        }
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.insert(job.id, job.clone());
        let finished: Vec<u64> = t
            .iter()
            .filter(|(_, j)| j.status().finished())
            .map(|(id, _)| *id)
            .collect();
        if finished.len() > KEEP_FINISHED {
            for id in &finished[..finished.len() - KEEP_FINISHED] {
                t.remove(id);
            }
        }
        Ok(job)
    }

    pub fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned()
    }

    pub fn list(&self) -> Vec<Value> {
        let t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.values()
            .rev()
            .map(|j| json!({"id": j.id, "kind": j.kind, "scenario": j.scenario, "status": j.status()}))
            .collect()
    }
}

/// Run a job on the current (worker's) rayon pool and record the outcome.
fn execute(job: &Job, work: Work) {
    let start = Instant::now();
    {
        let mut st = job.lock();
        if st.status != Status::Queued {
            return; // cancelled while queued
        }
        st.status = Status::Running;
        st.started = Some(start);
        job.push(&mut st, json!({"type": "status", "status": "running"}));
    }
    let outcome = match work {
        Work::Run { scenario } => run_job(job, &scenario, start),
        Work::Compare { a, b, b_label } => compare_job(job, &a, &b, &b_label, start),
        Work::Sweep { sweep } => sweep_job(job, &sweep),
    };
    job.finish(outcome, start);
}

/// All replications of one side, in order; None when stopped.
fn replications(job: &Job, sc: &Scenario, side: usize) -> Option<Vec<ReplicationResult>> {
    let watch = |c: Chunk| job.watch(side, &c);
    (0..sc.simulation.replications)
        .into_par_iter()
        .map(|r| runner::run_replication_watched(sc, r, &watch))
        .collect()
}

fn run_job(job: &Job, sc: &Scenario, start: Instant) -> Result<Value, String> {
    let reps = replications(job, sc, 0).ok_or_else(|| job.stop_reason())?;
    let out = RunOutput {
        replications: reps,
        wall_s: start.elapsed().as_secs_f64(),
    };
    let summary = crate::summary::build_summary(sc, &out);
    let value = to_value(&summary);
    {
        let mut st = job.lock();
        job.push(&mut st, json!({"type": "summary", "side": "a", "summary": value}));
    }
    // The same files as `tenantsim run` (cli::run), in the same order.
    let dir = &job.out_dir;
    let write = || -> anyhow::Result<()> {
        crate::files::write_atomic(&dir.join("summary.json"), summary.to_json().as_bytes())?;
        report::write_timeseries(&out, dir)?;
        let tiers: Vec<String> = sc.tiers.iter().map(|t| t.name.clone()).collect();
        report::write_latency_cdf(&out, &tiers, dir)?;
        report::write_scaling_events(&out, dir)?;
        report::write_report(dir)?;
        Ok(())
    };
    write().map_err(|e| format!("writing {}: {e:#}", dir.display()))?;
    Ok(json!({"summary": value}))
}

fn compare_job(job: &Job, a: &Scenario, b: &Scenario, b_label: &str, start: Instant) -> Result<Value, String> {
    let side = |sc: &Scenario, i: usize| replications(job, sc, i).ok_or_else(|| job.stop_reason());
    let (ra, rb) = rayon::join(|| side(a, 0), || side(b, 1));
    let oa = RunOutput {
        replications: ra?,
        wall_s: start.elapsed().as_secs_f64(),
    };
    let ob = RunOutput {
        replications: rb?,
        wall_s: start.elapsed().as_secs_f64(),
    };
    let sa = crate::summary::build_summary(a, &oa);
    let sb = crate::summary::build_summary(b, &ob);
    let c = report::compare::compare(&a.name, b_label, a.simulation.seed, true, &oa, &ob);
    let (va, vb, vc) = (to_value(&sa), to_value(&sb), to_value(&c));
    {
        let mut st = job.lock();
        job.push(&mut st, json!({"type": "summary", "side": "a", "summary": va}));
        job.push(&mut st, json!({"type": "summary", "side": "b", "summary": vb}));
        job.push(&mut st, json!({"type": "comparison", "comparison": vc}));
    }
    // The same files as `tenantsim compare` (cli::compare).
    let dir = &job.out_dir;
    let write = || -> anyhow::Result<()> {
        crate::files::write_atomic(&dir.join("comparison.json"), c.to_json().as_bytes())?;
        crate::files::write_atomic(&dir.join("comparison.csv"), c.to_csv().as_bytes())?;
        report::write_report(dir)?;
        Ok(())
    };
    write().map_err(|e| format!("writing {}: {e:#}", dir.display()))?;
    Ok(json!({"a": va, "b": vb, "comparison": vc}))
}

/// Summaries and comparisons are plain maps and numbers: serialising them cannot fail.
fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn sweep_job(job: &Job, sweep: &Sweep) -> Result<Value, String> {
    let total = sweep.points.len().max(1);
    let on_point = |rec: Option<&PointRecord>| {
        let mut st = job.lock();
        let done = st.rep_progress.iter().filter(|p| **p >= 1.0).count();
        if let Some(p) = st.rep_progress.get_mut(done) {
            *p = 1.0;
        }
        st.progress = (done + 1) as f64 / total as f64;
        if let Some(rec) = rec {
            let events = rec.summary.engine.events;
            job.events_used.fetch_add(events, Ordering::Relaxed);
            let progress = st.progress;
            job.push(
                &mut st,
                json!({"type": "point", "point": point_json(rec), "progress": progress}),
            );
        }
        !job.cancel.load(Ordering::Relaxed) && job.events_used.load(Ordering::Relaxed) <= job.events_budget
    };
    let outcome = sweep::run_watched(sweep, &job.out_dir, false, &on_point).map_err(|e| {
        if job.cancel.load(Ordering::Relaxed) || job.events_used.load(Ordering::Relaxed) > job.events_budget {
            format!("{}; {e:#}", job.stop_reason())
        } else {
            format!("{e:#}")
        }
    })?;
    report::write_report(&job.out_dir).map_err(|e| format!("writing the report: {e:#}"))?;
    Ok(json!({
        "params": sweep.manifest.params,
        "points": outcome.records.iter().map(point_json).collect::<Vec<_>>(),
    }))
}

/// A sweep point as the page tabulates it.
fn point_json(r: &PointRecord) -> Value {
    let m = |k: &str| r.summary.metrics.get(k).map(|e| e.mean);
    json!({
        "index": r.index,
        "values": r.values,
        "latency_p95_s": m("latency_p95_s"),
        "latency_p99_s": m("latency_p99_s"),
        "error_rate": m("error_rate"),
        "cost": m("cost"),
        "throughput_rps": m("throughput_rps"),
        "slo_passed": r.summary.slo.passed,
        "slo_checks": r.summary.slo.checks.len(),
    })
}

/// A sweep as the server prepares it (the CLI's own `Sweep::prepare`).
pub fn prepare_sweep(
    file: &std::path::Path,
    sets: Vec<String>,
    params: &[String],
    lhs: Option<usize>,
) -> Result<Sweep, String> {
    let params: Vec<ParamSpec> = params.iter().map(|p| ParamSpec::parse(p)).collect::<Result<_, _>>()?;
    Sweep::prepare(file, sets, params, lhs, None, None).map_err(|e| format!("{e:#}"))
}
