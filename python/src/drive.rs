//! Running library work off the Python thread. The simulation runs on a
//! worker thread (and its rayon pool) without the GIL; the calling Python
//! thread waits in short slices, and between slices takes the GIL to check
//! for Ctrl-C (`PyErr_CheckSignals`) and to call the progress callback.
//!
//! Invariants: Python code (the callback, the signal handler) only ever
//! runs on the calling thread, with the GIL; the worker never touches
//! Python. When either raises, the worker is told to stop ([`Watch`]), is
//! waited for (it stops at its next stretch of simulated time), and the
//! Python exception is what the caller sees — within about one [`POLL`]
//! plus one stretch of a Ctrl-C.

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the waiting Python thread looks for Ctrl-C and reports progress.
pub const POLL: Duration = Duration::from_millis(100);

/// What the worker and the waiting Python thread share: progress so far
/// and whether to stop.
#[derive(Default)]
pub struct Watch {
    stop: AtomicBool,
    /// Progress in millionths of a unit (per-mille of a run, or points).
    done_micros: AtomicU64,
}

impl Watch {
    /// Count `units` of progress; false once the caller asked to stop (the
    /// library's cancellation hooks take this as "stop").
    pub fn advance(&self, units: f64) -> bool {
        self.done_micros
            .fetch_add((units * 1e6).round() as u64, Ordering::Relaxed);
        !self.stopped()
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn done(&self) -> u64 {
        self.done_micros.load(Ordering::Relaxed) / 1_000_000
    }
}

/// Run `work` on a worker thread with a rayon pool of `threads` (all cores
/// by default), the GIL released. `progress`, if given, is called as
/// `progress(done, total)` on this thread whenever the whole units done
/// change, and once with `(total, total)` at the end.
pub fn drive<T: Send + Sync>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<&Bound<'_, PyAny>>,
    total: u64,
    work: impl FnOnce(&Watch) -> anyhow::Result<T> + Send,
) -> PyResult<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| crate::input_error(format!("threads: {e}")))?;
    let watch = Watch::default();
    let mut reported: Option<u64> = None;
    let mut report = |done: u64| -> PyResult<()> {
        match progress {
            Some(cb) if reported != Some(done) => {
                reported = Some(done);
                cb.call1((done, total)).map(|_| ())
            }
            _ => Ok(()),
        }
    };
    std::thread::scope(|s| {
        let (pool, shared) = (&pool, &watch);
        let worker = s.spawn(move || pool.install(|| work(shared)));
        loop {
            let finished = py.detach(|| {
                let until = Instant::now() + POLL;
                while !worker.is_finished() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(2));
                }
                worker.is_finished()
            });
            if finished {
                break;
            }
            let checked = py.check_signals().and_then(|()| report(watch.done().min(total)));
            if let Err(e) = checked {
                watch.stop.store(true, Ordering::Relaxed);
                // The worker stops at its next stretch; its result (a
                // cancellation) is dropped for the Python exception.
                let _ = py.detach(|| worker.join());
                return Err(e);
            }
        }
        let result = py.detach(|| worker.join()).map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("tenantsim: the simulation panicked (a bug: please report it)")
        })?;
        let value = result.map_err(crate::library_error)?;
        report(total)?;
        Ok(value)
    })
}
