//! Measurement during a run: counters, latency histograms, time integrals
//! and the sampled time series. Everything here has a fixed size once a run
//! has started (HDR histograms, per-tier counters, one row per
//! `sample_interval`), so memory does not grow with simulated duration
//! beyond the time series the user asked for.

mod histogram;
pub mod names;
mod recorder;
pub mod timeline;

pub use histogram::LatencyHistogram;
pub use recorder::{
    BreakerEvent, CacheEvent, GaugeAreas, Outcome, Recorder, ReplicaPoint, ScalingEvent, TierCounters, TimeSeriesRow,
};

use tenantsim_engine::SimTime;

/// The integral over time of a piecewise-constant value (busy cores, memory
/// in use, requests in the system). Two readers can cut it independently:
/// [`TimeIntegral::take`] returns the area since the last take (the
/// sampler's intervals), [`TimeIntegral::total`] the area since the start
/// (the autoscaler keeps its own marks).
#[derive(Clone, Copy, Debug)]
pub struct TimeIntegral {
    value: f64,
    last: SimTime,
    total: f64,
    taken: f64,
}

impl TimeIntegral {
    pub fn new(now: SimTime) -> Self {
        TimeIntegral {
            value: 0.0,
            last: now,
            total: 0.0,
            taken: 0.0,
        }
    }

    /// The value changes to `v` at `now`.
    #[inline]
    pub fn set(&mut self, now: SimTime, v: f64) {
        // Accumulated in value × nanoseconds (no division on the hot path);
        // converted to seconds when read.
        self.total += self.value * now.saturating_sub(self.last).as_nanos() as f64;
        self.last = now;
        self.value = v;
    }

    #[inline]
    pub fn add(&mut self, now: SimTime, dv: f64) {
        let v = self.value + dv;
        self.set(now, v);
    }

    pub fn value(&self) -> f64 {
        self.value
    }

    /// Area (value × seconds) accumulated since the last take, up to `now`.
    pub fn take(&mut self, now: SimTime) -> f64 {
        self.set(now, self.value);
        let a = self.total - self.taken;
        self.taken = self.total;
        a * 1e-9
    }

    /// Area from the start up to `now`.
    pub fn total(&mut self, now: SimTime) -> f64 {
        self.set(now, self.value);
        self.total * 1e-9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn integral_of_a_step_function() {
        let mut t = TimeIntegral::new(SimTime::ZERO);
        t.set(SimTime::from_secs(1), 2.0); // 0 for 1 s
        t.set(SimTime::from_secs(3), 1.0); // 2 for 2 s = 4
        assert_eq!(t.take(SimTime::from_secs(4)), 5.0); // + 1 for 1 s
        t.add(SimTime::from_secs(5), 1.0); // 1 for 1 s, then 2
        assert_eq!(t.take(SimTime::from_secs(6)), 3.0);
    }
}
