//! Workloads: groups of identical tenants and the arrival processes that
//! drive them.
//!
//! Open processes are generated per group, not per tenant: the superposition
//! of N independent Poisson tenants of rate λ is one Poisson stream of rate
//! Nλ whose requests belong to a uniformly chosen tenant, which costs one
//! event per request instead of one timer per tenant. Deterministic tenants
//! are interleaved evenly (tenant k of N sends at offsets k/(Nλ)), so each
//! tenant still sends exactly every 1/λ. Time-varying rates (diurnal) use
//! thinning; piecewise rates (steps, MMPP state changes) restart the
//! exponential gap at each change, which is exact by memorylessness.
//! Closed users are driven by the service (`UserReady` messages); a
//! [`UserRamp`] says when a ramped closed workload's active user count
//! changes.

use crate::spec::{Arrival, TraceEvent};
use rand::RngExt;
use rand_distr::Distribution;
use std::sync::Arc;
use tenantsim_engine::{SimRng, SimTime};

#[inline]
fn exp_gap(rng: &mut SimRng, rate: f64) -> f64 {
    // Ziggurat sampling: no logarithm on the common path.
    let e: f64 = rand_distr::Exp1.sample(rng);
    e / rate
}

/// The next-arrival generator of one workload.
pub enum ArrivalGen {
    Poisson {
        rate: f64,
    },
    Deterministic {
        interval_ns: f64,
        k: u64,
    },
    Diurnal {
        peak: f64,
        trough: f64,
        period_s: f64,
        peak_at_s: f64,
    },
    Steps {
        steps: Vec<(SimTime, f64)>,
        idx: usize,
        exponential: bool,
    },
    Mmpp {
        normal: f64,
        burst: f64,
        mean_normal_s: f64,
        mean_burst_s: f64,
        in_burst: bool,
        switch_at: f64,
    },
    Trace {
        events: Arc<Vec<TraceEvent>>,
        pos: usize,
    },
    Closed,
}

impl ArrivalGen {
    /// `tenants` is the group size; rates in `arrival` are per tenant.
    pub fn new(arrival: &Arrival, tenants: u32, rng: &mut SimRng) -> Self {
        let n = tenants as f64;
        match arrival {
            Arrival::Poisson { rate_per_s } => ArrivalGen::Poisson { rate: rate_per_s * n },
            Arrival::Deterministic { rate_per_s } => ArrivalGen::Deterministic {
                interval_ns: 1e9 / (rate_per_s * n),
                k: 0,
            },
            Arrival::Diurnal {
                peak_rate_per_s,
                trough_rate_per_s,
                period,
                peak_at,
            } => ArrivalGen::Diurnal {
                peak: peak_rate_per_s * n,
                trough: trough_rate_per_s * n,
                period_s: period.as_secs_f64(),
                peak_at_s: peak_at.as_secs_f64(),
            },
            Arrival::Steps { steps, exponential } => ArrivalGen::Steps {
                steps: steps.iter().map(|(t, r)| (*t, r * n)).collect(),
                idx: 0,
                exponential: *exponential,
            },
            Arrival::Mmpp {
                rate_per_s,
                burst_rate_per_s,
                normal_duration,
                burst_duration,
            } => {
                let mean_normal_s = normal_duration.as_secs_f64();
                ArrivalGen::Mmpp {
                    normal: rate_per_s * n,
                    burst: burst_rate_per_s * n,
                    mean_normal_s,
                    mean_burst_s: burst_duration.as_secs_f64(),
                    in_burst: false,
                    switch_at: exp_gap(rng, 1.0 / mean_normal_s),
                }
            }
            Arrival::Trace { events, .. } => ArrivalGen::Trace {
                events: events.clone(),
                pos: 0,
            },
            Arrival::Closed { .. } => ArrivalGen::Closed,
        }
    }

    /// The time of the next arrival after one at `now` (the first when
    /// called at time zero before any arrival), or None when the process has
    /// no more arrivals. For traces, also the recorded tenant and endpoint.
    pub fn next(&mut self, now: SimTime, rng: &mut SimRng) -> Option<(SimTime, Option<TraceEvent>)> {
        match self {
            ArrivalGen::Poisson { rate } => Some((now + SimTime::from_secs_f64(exp_gap(rng, *rate)), None)),
            ArrivalGen::Deterministic { interval_ns, k } => {
                *k += 1;
                Some((SimTime::from_nanos((*k as f64 * *interval_ns).round() as u64), None))
            }
            ArrivalGen::Diurnal {
                peak,
                trough,
                period_s,
                peak_at_s,
            } => {
                let mut t = now.as_secs_f64();
                loop {
                    t += exp_gap(rng, *peak);
                    let phase = 2.0 * std::f64::consts::PI * (t - *peak_at_s) / *period_s;
                    let rate = *trough + (*peak - *trough) * (1.0 + phase.cos()) / 2.0;
                    if rng.random::<f64>() * *peak <= rate {
                        return Some((SimTime::from_secs_f64(t), None));
                    }
                }
            }
            ArrivalGen::Steps {
                steps,
                idx,
                exponential,
            } => {
                let mut t = now;
                loop {
                    let rate = steps[*idx].1;
                    let next_break = steps.get(*idx + 1).map(|s| s.0);
                    let cand = if rate > 0.0 {
                        let gap = if *exponential { exp_gap(rng, rate) } else { 1.0 / rate };
                        Some(t + SimTime::from_secs_f64(gap))
                    } else {
                        None
                    };
                    match (cand, next_break) {
                        (Some(c), Some(b)) if c >= b => {
                            t = b;
                            *idx += 1;
                        }
                        (Some(c), _) => return Some((c, None)),
                        (None, Some(b)) => {
                            t = b;
                            *idx += 1;
                        }
                        (None, None) => return None,
                    }
                }
            }
            ArrivalGen::Mmpp {
                normal,
                burst,
                mean_normal_s,
                mean_burst_s,
                in_burst,
                switch_at,
            } => {
                let mut t = now.as_secs_f64();
                loop {
                    let rate = if *in_burst { *burst } else { *normal };
                    let cand = if rate > 0.0 {
                        t + exp_gap(rng, rate)
                    } else {
                        f64::INFINITY
                    };
                    if cand < *switch_at {
                        return Some((SimTime::from_secs_f64(cand), None));
                    }
                    t = *switch_at;
                    *in_burst = !*in_burst;
                    let mean = if *in_burst { *mean_burst_s } else { *mean_normal_s };
                    *switch_at = t + exp_gap(rng, 1.0 / mean);
                }
            }
            ArrivalGen::Trace { events, pos } => {
                let e = events.get(*pos).copied()?;
                *pos += 1;
                Some((e.at, Some(e)))
            }
            ArrivalGen::Closed => None,
        }
    }
}

/// The schedule of a ramped closed workload's active users per tenant
/// (k6 `stages`): linear between breakpoints, as a sequence of integer
/// changes. Going up, the k-th user joins when the line reaches k; going
/// down, it leaves when the line falls to k − 1, so a ramp from 0 to N and
/// one from N to 0 are mirror images and the last change falls on the
/// stage's end.
#[derive(Clone, Debug)]
pub struct UserRamp {
    /// (time, users per tenant), the first at time zero.
    points: Vec<(SimTime, u32)>,
    /// The segment being walked: points[seg] → points[seg + 1].
    seg: usize,
    /// Active users after the last change returned.
    count: u32,
}

impl UserRamp {
    /// `points` as in `Arrival::Closed::stages` (first at time zero).
    pub fn new(points: Vec<(SimTime, u32)>) -> Self {
        let count = points.first().map_or(0, |p| p.1);
        UserRamp { points, seg: 0, count }
    }

    /// Users per tenant active now (after every change returned so far).
    pub fn active(&self) -> u32 {
        self.count
    }

    /// The next change of the active count: (when, new count); None once
    /// the last stage is reached (the count then holds).
    pub fn next_change(&mut self) -> Option<(SimTime, u32)> {
        loop {
            let (t0, a) = *self.points.get(self.seg)?;
            let (t1, b) = *self.points.get(self.seg + 1)?;
            if self.count == b {
                self.seg += 1;
                continue;
            }
            if t1 == t0 {
                // A zero-length stage is a jump.
                self.count = b;
                return Some((t1, b));
            }
            let k = if b > self.count { self.count + 1 } else { self.count - 1 };
            let frac = (k.abs_diff(a) as f64) / (b.abs_diff(a) as f64);
            let span = (t1 - t0).as_nanos() as f64;
            let at = t0 + SimTime::from_nanos((span * frac).round() as u64);
            self.count = k;
            return Some((at.min(t1), k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn count_until(g: &mut ArrivalGen, end: SimTime) -> (u64, Vec<SimTime>) {
        let mut rng = SimRng::seed_from_u64(11);
        let mut t = SimTime::ZERO;
        let mut n = 0;
        let mut times = vec![];
        while let Some((next, _)) = g.next(t, &mut rng) {
            if next > end {
                break;
            }
            assert!(next >= t);
            t = next;
            n += 1;
            if times.len() < 1000 {
                times.push(t);
            }
        }
        (n, times)
    }

    #[test]
    fn ramp_changes_one_user_at_a_time_along_the_line() {
        let s = SimTime::from_secs;
        // k6: [["2m", 100], ["5m", 100], ["2m", 0]] from 0 users.
        let mut r = UserRamp::new(vec![(s(0), 0), (s(120), 100), (s(420), 100), (s(540), 0)]);
        assert_eq!(r.active(), 0);
        let mut changes = vec![];
        while let Some(c) = r.next_change() {
            changes.push(c);
        }
        assert_eq!(changes.len(), 200);
        // Up: user k joins at 1.2 s × k; the 100th at the end of the stage.
        assert_eq!(changes[0], (SimTime::from_nanos(1_200_000_000), 1));
        assert_eq!(changes[99], (s(120), 100));
        // Hold, then down: one leaves every 1.2 s, the last at 540 s.
        assert_eq!(changes[100], (s(420) + SimTime::from_nanos(1_200_000_000), 99));
        assert_eq!(changes[199], (s(540), 0));
        assert!(changes.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(r.active(), 0);
        assert_eq!(r.next_change(), None);
    }

    #[test]
    fn ramp_jumps_on_zero_length_stages_and_holds_the_last_target() {
        let s = SimTime::from_secs;
        let mut r = UserRamp::new(vec![(s(0), 5), (s(0), 20), (s(10), 20), (s(20), 15)]);
        assert_eq!(r.active(), 5);
        assert_eq!(r.next_change(), Some((s(0), 20)));
        assert_eq!(r.next_change(), Some((s(12), 19)));
        let mut last = None;
        while let Some(c) = r.next_change() {
            last = Some(c);
        }
        assert_eq!(last, Some((s(20), 15)));
        // No stages beyond the start: never changes.
        assert_eq!(UserRamp::new(vec![(s(0), 3)]).next_change(), None);
    }

    #[test]
    fn poisson_group_rate_is_tenants_times_rate() {
        let mut rng = SimRng::seed_from_u64(1);
        let mut g = ArrivalGen::new(&Arrival::Poisson { rate_per_s: 0.5 }, 100, &mut rng);
        // Expect 50/s × 1000 s = 50,000 arrivals, sd ≈ 224: 1.5 % is > 3 sd.
        let (n, _) = count_until(&mut g, SimTime::from_secs(1000));
        assert!((n as f64 / 50_000.0 - 1.0).abs() < 0.015, "{n}");
    }

    #[test]
    fn deterministic_is_evenly_spaced() {
        let mut rng = SimRng::seed_from_u64(1);
        let mut g = ArrivalGen::new(&Arrival::Deterministic { rate_per_s: 2.0 }, 5, &mut rng);
        let (n, times) = count_until(&mut g, SimTime::from_secs(10));
        assert_eq!(n, 100);
        assert_eq!(times[0], SimTime::from_nanos(100_000_000));
        assert_eq!(times[1] - times[0], SimTime::from_nanos(100_000_000));
    }

    #[test]
    fn steps_follow_the_schedule() {
        let steps = vec![
            (SimTime::ZERO, 10.0),
            (SimTime::from_secs(100), 0.0),
            (SimTime::from_secs(200), 40.0),
        ];
        let mut rng = SimRng::seed_from_u64(1);
        let mut g = ArrivalGen::new(
            &Arrival::Steps {
                steps: steps.clone(),
                exponential: false,
            },
            1,
            &mut rng,
        );
        let (n, times) = count_until(&mut g, SimTime::from_secs(300));
        // 10/s for 100 s, nothing for 100 s, 40/s for 100 s (deterministic).
        assert!((n as i64 - 5000).abs() <= 2, "{n}");
        assert!(times
            .iter()
            .all(|t| *t < SimTime::from_secs(100) || *t >= SimTime::from_secs(200)));
        let mut g = ArrivalGen::new(
            &Arrival::Steps {
                steps,
                exponential: true,
            },
            1,
            &mut rng,
        );
        let (n, _) = count_until(&mut g, SimTime::from_secs(300));
        // Poisson count with mean 5000, sd ≈ 71: 300 is > 4 sd.
        assert!((n as i64 - 5000).abs() < 300, "{n}");
    }

    #[test]
    fn diurnal_and_mmpp_average_rates() {
        let mut rng = SimRng::seed_from_u64(2);
        let a = Arrival::Diurnal {
            peak_rate_per_s: 30.0,
            trough_rate_per_s: 10.0,
            period: SimTime::from_secs(100),
            peak_at: SimTime::from_secs(50),
        };
        let mut g = ArrivalGen::new(&a, 1, &mut rng);
        // Whole periods average (30+10)/2 = 20/s: 20,000 in 1000 s, sd ≈ 141.
        let (n, _) = count_until(&mut g, SimTime::from_secs(1000));
        assert!((n as f64 / 20_000.0 - 1.0).abs() < 0.03, "{n}");
        let a = Arrival::Mmpp {
            rate_per_s: 10.0,
            burst_rate_per_s: 50.0,
            normal_duration: SimTime::from_secs(9),
            burst_duration: SimTime::from_secs(1),
        };
        let mut g = ArrivalGen::new(&a, 1, &mut rng);
        // Long-run mean (10·9 + 50·1)/10 = 14/s. State durations add
        // variance; 20,000 s gives ~2,000 cycles, so 5 % is ample.
        let (n, _) = count_until(&mut g, SimTime::from_secs(20_000));
        assert!((n as f64 / 280_000.0 - 1.0).abs() < 0.05, "{n}");
    }
}
