//! `[simulation]` into [`Simulation`]: duration (default 1 h), warm-up
//! (default a tenth of it, shorter than the run), sample interval (default
//! 10 s, at most 1,000,000 rows), replications (1..=10000), seed and
//! `max_events`.

use super::*;
use crate::raw::RawScenario;

/// `[simulation]`; a finite test's warm-up is set later, by
/// [`super::workloads::fit_to_run`].
pub(super) fn resolve(cx: &Ctx, raw: &RawScenario) -> Result<Simulation, ScenarioError> {
    let sim = raw.simulation.clone().unwrap_or_default();
    let duration = sim.duration.map(secs).unwrap_or(SimTime::from_secs(3600));
    if duration == SimTime::ZERO {
        return Err(cx.err("simulation.duration", "must be longer than zero"));
    }
    let warmup = match sim.warmup {
        Some(w) => secs(w),
        None => SimTime::from_nanos(duration.as_nanos() / 10),
    };
    if warmup >= duration {
        return Err(cx.err(
            "simulation.warmup",
            format!("warm-up ({warmup}) must be shorter than the duration ({duration})"),
        ));
    }
    let sample_interval = sim.sample_interval.map(secs).unwrap_or(SimTime::from_secs(10));
    if sample_interval == SimTime::ZERO {
        return Err(cx.err("simulation.sample_interval", "must be longer than zero"));
    }
    let rows = duration.as_nanos() / sample_interval.as_nanos();
    if rows > 1_000_000 {
        return Err(cx.err(
            "simulation.sample_interval",
            format!("{rows} time-series rows per replication is too many (at most 1,000,000): use a longer interval"),
        ));
    }
    let replications = sim.replications.unwrap_or(5);
    if replications == 0 || replications > 10_000 {
        return Err(cx.err("simulation.replications", "must be between 1 and 10000"));
    }
    Ok(Simulation {
        duration,
        warmup,
        seed: sim.seed.unwrap_or(1),
        replications,
        sample_interval,
        max_events: match sim.max_events {
            Some(0) => return Err(cx.err("simulation.max_events", "must be at least 1 event")),
            m => m,
        },
    })
}
