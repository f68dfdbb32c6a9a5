//! Circuit breakers in front of a downstream (the database, the L2 cache),
//! as resilience4j, Polly or Envoy outlier detection do it.
//!
//! States: **closed** (calls pass; outcomes are recorded), **open** (calls
//! are refused at once for `open_for`), **half-open** (up to `probes` calls
//! pass; if all of them succeed the breaker closes, the first failure opens
//! it again). A closed breaker opens when, over the last `window` calls (and
//! once at least `min_calls` were recorded), the failure rate reaches
//! `failure_rate`, or after `consecutive` failures in a row — whichever
//! trigger is configured.
//!
//! Invariants: a half-open breaker never admits more than `probes` calls in
//! that half-open period (a cancelled probe gives its permit back); results
//! of calls admitted in an earlier state (another *epoch*) are ignored, so a
//! slow call from before the breaker opened cannot close it. The sliding
//! window is a fixed ring allocated once: recording allocates nothing.

use tenantsim_engine::SimTime;

/// A breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// What opens a closed breaker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trip {
    /// Failure rate ≥ `rate` over the last `window` calls, once at least
    /// `min_calls` calls are in the window.
    FailureRate { rate: f64, window: u32, min_calls: u32 },
    /// `n` failures in a row.
    Consecutive { n: u32 },
}

/// A breaker's configuration (validated by the scenario).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    pub trip: Trip,
    /// How long an open breaker refuses calls before it half-opens.
    pub open_for: SimTime,
    /// Calls a half-open breaker lets through to test the downstream.
    pub probes: u32,
}

/// Permission to make one call: hand it back with the result
/// ([`CircuitBreaker::record`]) or when the call is abandoned
/// ([`CircuitBreaker::cancel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permit {
    pub epoch: u32,
}

/// A state change, for the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

pub struct CircuitBreaker {
    cfg: BreakerConfig,
    state: BreakerState,
    /// Incremented at every state change.
    epoch: u32,
    /// Open: when it half-opens.
    open_until: SimTime,
    /// Half-open: permits handed out (minus cancelled) and successes.
    probes_out: u32,
    probe_ok: u32,
    /// Closed: ring of the last calls' outcomes (true = failure).
    ring: Vec<bool>,
    ring_pos: usize,
    ring_len: u32,
    ring_failures: u32,
    consecutive: u32,
}

impl CircuitBreaker {
    pub fn new(cfg: BreakerConfig) -> Self {
        let window = match cfg.trip {
            Trip::FailureRate { window, .. } => window as usize,
            Trip::Consecutive { .. } => 0,
        };
        CircuitBreaker {
            cfg,
            state: BreakerState::Closed,
            epoch: 0,
            open_until: SimTime::ZERO,
            probes_out: 0,
            probe_ok: 0,
            ring: vec![false; window],
            ring_pos: 0,
            ring_len: 0,
            ring_failures: 0,
            consecutive: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Permits handed out in the current half-open period (0 otherwise).
    pub fn probes_out(&self) -> u32 {
        self.probes_out
    }

    fn set(&mut self, now: SimTime, to: BreakerState) -> Transition {
        let from = self.state;
        self.state = to;
        self.epoch = self.epoch.wrapping_add(1);
        self.probes_out = 0;
        self.probe_ok = 0;
        match to {
            BreakerState::Open => self.open_until = now + self.cfg.open_for,
            BreakerState::Closed => {
                self.ring_pos = 0;
                self.ring_len = 0;
                self.ring_failures = 0;
                self.consecutive = 0;
            }
            BreakerState::HalfOpen => {}
        }
        Transition { from, to }
    }

    /// Ask to make a call at `now`. An open breaker whose `open_for` has
    /// passed half-opens first (the returned transition says so).
    pub fn try_call(&mut self, now: SimTime) -> (Option<Permit>, Option<Transition>) {
        let mut change = None;
        if self.state == BreakerState::Open && now >= self.open_until {
            change = Some(self.set(now, BreakerState::HalfOpen));
        }
        let permit = match self.state {
            BreakerState::Closed => Some(Permit { epoch: self.epoch }),
            BreakerState::Open => None,
            BreakerState::HalfOpen if self.probes_out < self.cfg.probes => {
                self.probes_out += 1;
                Some(Permit { epoch: self.epoch })
            }
            BreakerState::HalfOpen => None,
        };
        (permit, change)
    }

    /// The call made with `p` ended at `now`; `failed` says how.
    pub fn record(&mut self, now: SimTime, p: Permit, failed: bool) -> Option<Transition> {
        if p.epoch != self.epoch {
            return None;
        }
        match self.state {
            BreakerState::Closed => {
                self.consecutive = if failed { self.consecutive + 1 } else { 0 };
                let trip = match self.cfg.trip {
                    Trip::Consecutive { n } => self.consecutive >= n,
                    Trip::FailureRate {
                        rate,
                        window,
                        min_calls,
                    } => {
                        if self.ring_len == window {
                            self.ring_failures -= u32::from(self.ring[self.ring_pos]);
                        } else {
                            self.ring_len += 1;
                        }
                        self.ring[self.ring_pos] = failed;
                        self.ring_failures += u32::from(failed);
                        self.ring_pos = (self.ring_pos + 1) % window as usize;
                        self.ring_len >= min_calls && self.ring_failures as f64 >= rate * self.ring_len as f64
                    }
                };
                trip.then(|| self.set(now, BreakerState::Open))
            }
            BreakerState::HalfOpen => {
                if failed {
                    Some(self.set(now, BreakerState::Open))
                } else {
                    self.probe_ok += 1;
                    (self.probe_ok >= self.cfg.probes).then(|| self.set(now, BreakerState::Closed))
                }
            }
            // Permits are only handed out closed or half-open, and every
            // change bumps the epoch: an open breaker sees only stale ones.
            BreakerState::Open => None,
        }
    }

    /// The call made with `p` was abandoned without a result (its instance
    /// failed): a half-open probe gives its permit back.
    pub fn cancel(&mut self, p: Permit) {
        if p.epoch == self.epoch && self.state == BreakerState::HalfOpen {
            self.probes_out = self.probes_out.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(x: u64) -> SimTime {
        SimTime::from_secs(x)
    }

    fn rate(rate: f64, window: u32, min_calls: u32) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            trip: Trip::FailureRate {
                rate,
                window,
                min_calls,
            },
            open_for: s(10),
            probes: 2,
        })
    }

    fn call(b: &mut CircuitBreaker, now: SimTime, failed: bool) -> Option<Transition> {
        let (p, _) = b.try_call(now);
        b.record(now, p.expect("permitted"), failed)
    }

    #[test]
    fn failure_rate_opens_only_after_min_calls() {
        let mut b = rate(0.5, 10, 4);
        // Three failures: 100 % but below min_calls.
        for _ in 0..3 {
            assert_eq!(call(&mut b, s(0), true), None);
        }
        let t = call(&mut b, s(1), true).expect("opens at the 4th call");
        assert_eq!((t.from, t.to), (BreakerState::Closed, BreakerState::Open));
        // Open: refused until open_for has passed.
        assert_eq!(b.try_call(s(5)).0, None);
        assert_eq!(b.try_call(s(10)).0, None);
        let (p, t) = b.try_call(s(11));
        assert!(p.is_some());
        assert_eq!(t.map(|t| t.to), Some(BreakerState::HalfOpen));
    }

    #[test]
    fn the_window_slides_over_the_last_calls() {
        let mut b = rate(0.5, 4, 4);
        // F S S S: 25 %; then S: window S S S S; then F F: S S F F = 50 %.
        for f in [true, false, false, false, false, true] {
            assert_eq!(call(&mut b, s(0), f), None);
        }
        assert_eq!(call(&mut b, s(0), true).map(|t| t.to), Some(BreakerState::Open));
    }

    #[test]
    fn consecutive_failures_reset_on_success() {
        let mut b = CircuitBreaker::new(BreakerConfig {
            trip: Trip::Consecutive { n: 3 },
            open_for: s(1),
            probes: 1,
        });
        for f in [true, true, false, true, true] {
            assert_eq!(call(&mut b, s(0), f), None);
        }
        assert_eq!(call(&mut b, s(0), true).map(|t| t.to), Some(BreakerState::Open));
    }

    #[test]
    fn half_open_admits_probes_then_closes_or_reopens() {
        let mut b = rate(0.5, 2, 2);
        call(&mut b, s(0), true);
        call(&mut b, s(0), true);
        assert_eq!(b.state(), BreakerState::Open);
        let (p1, _) = b.try_call(s(10));
        let (p2, _) = b.try_call(s(10));
        assert!(p1.is_some() && p2.is_some());
        assert_eq!(b.try_call(s(10)).0, None, "only two probes");
        // A cancelled probe gives its permit back.
        b.cancel(p2.unwrap());
        let (p3, _) = b.try_call(s(10));
        assert!(p3.is_some());
        assert_eq!(b.record(s(11), p1.unwrap(), false), None);
        let t = b.record(s(11), p3.unwrap(), false).unwrap();
        assert_eq!((t.from, t.to), (BreakerState::HalfOpen, BreakerState::Closed));
        // Open again; a failed probe reopens for another open_for.
        call(&mut b, s(12), true);
        call(&mut b, s(12), true);
        let (p, _) = b.try_call(s(22));
        assert_eq!(
            b.record(s(23), p.unwrap(), true).map(|t| t.to),
            Some(BreakerState::Open)
        );
        assert_eq!(b.try_call(s(32)).0, None);
        assert!(b.try_call(s(33)).0.is_some());
    }

    #[test]
    fn results_from_an_earlier_state_are_ignored() {
        let mut b = rate(0.5, 2, 2);
        let (slow, _) = b.try_call(s(0));
        call(&mut b, s(0), true);
        call(&mut b, s(0), true);
        assert_eq!(b.state(), BreakerState::Open);
        // The slow call admitted while closed succeeds while open: no effect.
        assert_eq!(b.record(s(1), slow.unwrap(), false), None);
        assert_eq!(b.state(), BreakerState::Open);
    }

    proptest! {
        /// Whatever the sequence of calls, results and cancellations, a
        /// half-open breaker never has more than `probes` permits out, and
        /// an open one hands out none.
        #[test]
        fn half_open_never_exceeds_the_probe_count(
            ops in proptest::collection::vec((0u8..3, any::<bool>(), 0u64..3), 1..400),
            probes in 1u32..5,
        ) {
            let mut b = CircuitBreaker::new(BreakerConfig {
                trip: Trip::Consecutive { n: 2 },
                open_for: SimTime::from_secs(1),
                probes,
            });
            let mut now = SimTime::ZERO;
            let mut out: Vec<Permit> = Vec::new();
            let mut admitted_this_half_open = 0u32;
            for (op, failed, dt) in ops {
                now += SimTime::from_nanos(dt * 400_000_000);
                match op {
                    0 => {
                        let (p, t) = b.try_call(now);
                        if t.is_some() {
                            admitted_this_half_open = 0;
                        }
                        if let Some(p) = p {
                            if b.state() == BreakerState::HalfOpen {
                                admitted_this_half_open += 1;
                            }
                            out.push(p);
                        }
                    }
                    1 if !out.is_empty() => {
                        let p = out.remove(0);
                        if b.record(now, p, failed).is_some() {
                            admitted_this_half_open = 0;
                        }
                    }
                    2 if !out.is_empty() => {
                        let p = out.remove(0);
                        if p.epoch == b.epoch && b.state() == BreakerState::HalfOpen {
                            admitted_this_half_open -= 1;
                        }
                        b.cancel(p);
                    }
                    _ => {}
                }
                prop_assert!(b.probes_out() <= probes);
                prop_assert!(admitted_this_half_open <= probes);
                if b.state() != BreakerState::HalfOpen {
                    prop_assert_eq!(b.probes_out(), 0);
                }
            }
        }
    }
}
