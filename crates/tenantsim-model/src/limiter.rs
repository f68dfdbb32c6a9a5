//! Rate limiters beside the tier token bucket (`[[rate_limit]]`): per
//! tenant, per client address, per endpoint or any combination of them,
//! with a token bucket, a fixed window or a sliding window (an exact
//! sliding log), and their state local to each instance or shared (a
//! Redis-like counter service; see [`CounterStore`]).
//!
//! Owns each limiter's counters: one counter per key (the values of the
//! dimensions in `per` of a request), created the first time a key is
//! seen (so memory grows with the keys used, never with simulated time),
//! either one table per limiter (shared state) or one per instance (local
//! state). A request passes a layer of limiters only if every limiter of
//! the layer that applies to it allows it; then, and only then, each of
//! them counts it (rejected requests consume no quota).
//!
//! Invariants (unit and property tests below): a fixed window admits at
//! most `limit` requests per window `[k·window, (k+1)·window)`; a sliding
//! window admits at most `limit` in any half-open interval of length
//! `window`; a token bucket admits at most `burst + rate·t` in any
//! interval of length `t`. With `local_limit = "divided"` each instance
//! enforces the limit scaled by `1 / ready instances of its group`.

use std::collections::VecDeque;
use tenantsim_engine::hash::FastMap;
use tenantsim_engine::SimTime;

/// How a limiter counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimitAlgorithm {
    /// `rate_per_s` tokens per second, at most `burst` stored; starts full.
    TokenBucket { rate_per_s: f64, burst: f64 },
    /// At most `limit` per window; windows aligned to multiples of
    /// `window` from time zero (a `floor(now / window)` counter key).
    FixedWindow { limit: u32, window: SimTime },
    /// At most `limit` in the last `window` (the interval `(now − window,
    /// now]`): a sliding log of the admitted requests' times.
    SlidingWindow { limit: u32, window: SimTime },
}

impl LimitAlgorithm {
    pub const NAMES: &'static [&'static str] = &["token-bucket", "fixed-window", "sliding-window"];
}

/// The dimensions a limiter keys its counters by (none: one counter for
/// all the traffic it applies to).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitKey {
    pub tenant: bool,
    pub ip: bool,
    pub endpoint: bool,
}

impl LimitKey {
    /// The counter key of a request: (client address or 0, tenant << 16 |
    /// endpoint, with the dimensions not in the key left at 0).
    #[inline]
    pub fn of(&self, tenant: u32, ip: u64, endpoint: u16) -> (u64, u64) {
        let t = if self.tenant { tenant as u64 + 1 } else { 0 };
        let e = if self.endpoint { endpoint as u64 + 1 } else { 0 };
        (if self.ip { ip } else { 0 }, (t << 17) | e)
    }
}

/// The counter of one key.
#[derive(Clone, Debug)]
enum Counter {
    Bucket { tokens: f64, last: SimTime },
    Fixed { window: u64, count: u32 },
    Log(VecDeque<SimTime>),
}

impl Counter {
    fn new(alg: &LimitAlgorithm, scale: f64) -> Counter {
        match alg {
            LimitAlgorithm::TokenBucket { burst, .. } => Counter::Bucket {
                tokens: burst * scale,
                last: SimTime::ZERO,
            },
            LimitAlgorithm::FixedWindow { .. } => Counter::Fixed { window: 0, count: 0 },
            LimitAlgorithm::SlidingWindow { .. } => Counter::Log(VecDeque::new()),
        }
    }

    /// Bring the counter up to `now` (refill, roll the window, drop old log
    /// entries) and say whether one more request fits. `scale` multiplies
    /// the limit (1 unless a local limit is divided among instances).
    #[inline]
    fn allows(&mut self, alg: &LimitAlgorithm, now: SimTime, scale: f64) -> bool {
        match (self, alg) {
            (Counter::Bucket { tokens, last }, LimitAlgorithm::TokenBucket { rate_per_s, burst }) => {
                let dt = now.saturating_sub(*last).as_secs_f64();
                *last = now;
                *tokens = (*tokens + dt * rate_per_s * scale).min(burst * scale);
                *tokens >= 1.0
            }
            (Counter::Fixed { window: w, count }, LimitAlgorithm::FixedWindow { limit, window }) => {
                let k = now.as_nanos() / window.as_nanos();
                if k != *w {
                    *w = k;
                    *count = 0;
                }
                (*count as f64 + 1.0) <= *limit as f64 * scale
            }
            (Counter::Log(log), LimitAlgorithm::SlidingWindow { limit, window }) => {
                let w = window.as_nanos();
                while log.front().is_some_and(|t| now.as_nanos() - t.as_nanos() >= w) {
                    log.pop_front();
                }
                (log.len() as f64 + 1.0) <= *limit as f64 * scale
            }
            // A counter is always made for its limiter's algorithm.
            _ => unreachable!("counter and algorithm of different kinds"),
        }
    }

    /// Count one admitted request (after [`Counter::allows`] said yes).
    #[inline]
    fn take(&mut self, now: SimTime) {
        match self {
            Counter::Bucket { tokens, .. } => *tokens -= 1.0,
            Counter::Fixed { count, .. } => *count += 1,
            Counter::Log(log) => log.push_back(now),
        }
    }
}

/// The counters of one limiter in one place (the shared store, or one
/// instance).
#[derive(Clone, Debug, Default)]
pub struct CounterTable {
    index: FastMap<(u64, u64), u32>,
    counters: Vec<Counter>,
}

impl CounterTable {
    /// The counter of `key`, created (full / empty) on first use.
    #[inline]
    fn slot(&mut self, key: (u64, u64), alg: &LimitAlgorithm, scale: f64) -> usize {
        let next = self.counters.len() as u32;
        let i = *self.index.entry(key).or_insert(next);
        if i == next {
            self.counters.push(Counter::new(alg, scale));
        }
        i as usize
    }

    /// Keys seen so far.
    pub fn keys(&self) -> usize {
        self.counters.len()
    }
}

/// One limiter's configuration as the model needs it.
#[derive(Clone, Debug)]
pub struct Limiter {
    pub algorithm: LimitAlgorithm,
    pub per: LimitKey,
}

impl Limiter {
    /// Whether `key` may send one more request at `now` (no side effect
    /// on the quota; the counter is brought up to date). Returns the
    /// counter's slot for [`Limiter::take`].
    #[inline]
    pub fn check(&self, table: &mut CounterTable, key: (u64, u64), now: SimTime, scale: f64) -> (bool, usize) {
        let slot = table.slot(key, &self.algorithm, scale);
        (table.counters[slot].allows(&self.algorithm, now, scale), slot)
    }

    /// Count an admitted request on the counter `slot` of `table`.
    #[inline]
    pub fn take(&self, table: &mut CounterTable, slot: usize, now: SimTime) {
        table.counters[slot].take(now);
    }

    /// Check and, if allowed, count (a limiter on its own).
    pub fn admit(&self, table: &mut CounterTable, key: (u64, u64), now: SimTime, scale: f64) -> bool {
        let (ok, slot) = self.check(table, key, now, scale);
        if ok {
            self.take(table, slot, now);
        }
        ok
    }
}

/// The shared counter service (Redis-like): every request that a shared
/// limiter applies to makes one call to it (all its shared limiters in one
/// round trip, as a pipelined script would). The call takes a network
/// latency drawn per call plus, with a capacity, its wait and service at a
/// single FCFS server doing `ops_per_s` calls per second. The counters are
/// read and updated when the call is made; the answer arrives after the
/// delay.
#[derive(Clone, Debug)]
pub struct CounterStore {
    /// Seconds of service per call (0 without a capacity).
    service: SimTime,
    /// When the server finishes the calls accepted so far.
    busy_until: SimTime,
}

impl CounterStore {
    pub fn new(ops_per_s: Option<f64>) -> Self {
        CounterStore {
            service: ops_per_s.map_or(SimTime::ZERO, |r| SimTime::from_secs_f64(1.0 / r)),
            busy_until: SimTime::ZERO,
        }
    }

    /// A call made at `now` with network latency `latency`: how long until
    /// its answer is back.
    #[inline]
    pub fn call(&mut self, now: SimTime, latency: SimTime) -> SimTime {
        if self.service == SimTime::ZERO {
            return latency;
        }
        let start = self.busy_until.max(now);
        self.busy_until = start + self.service;
        self.busy_until - now + latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(x: u64) -> SimTime {
        SimTime::from_nanos(x * 1_000_000)
    }

    fn limiter(algorithm: LimitAlgorithm) -> Limiter {
        Limiter {
            algorithm,
            per: LimitKey::default(),
        }
    }

    #[test]
    fn fixed_window_allows_limit_per_window_and_resets_at_the_boundary() {
        let l = limiter(LimitAlgorithm::FixedWindow {
            limit: 3,
            window: ms(1000),
        });
        let mut t = CounterTable::default();
        let k = (0, 0);
        assert!((0..3).all(|i| l.admit(&mut t, k, ms(900 + i), 1.0)));
        assert!(!l.admit(&mut t, k, ms(999), 1.0));
        // A new window: the full limit again, right after the burst (the
        // fixed window's known weakness: 6 in 101 ms).
        assert!((0..3).all(|_| l.admit(&mut t, k, ms(1000), 1.0)));
        assert!(!l.admit(&mut t, k, ms(1999), 1.0));
        // Halved (local limit divided over 2 instances): floor(1.5) = 1.
        let mut t2 = CounterTable::default();
        assert!(l.admit(&mut t2, k, ms(0), 0.5));
        assert!(!l.admit(&mut t2, k, ms(1), 0.5));
    }

    #[test]
    fn sliding_window_counts_the_last_window_only() {
        let l = limiter(LimitAlgorithm::SlidingWindow {
            limit: 3,
            window: ms(1000),
        });
        let mut t = CounterTable::default();
        let k = (0, 0);
        assert!((0..3).all(|i| l.admit(&mut t, k, ms(900 + i), 1.0)));
        // Unlike the fixed window, the boundary at 1 s frees nothing ...
        assert!(!l.admit(&mut t, k, ms(1000), 1.0));
        assert!(!l.admit(&mut t, k, ms(1899), 1.0));
        // ... the first admitted request leaves the window at 1.9 s.
        assert!(l.admit(&mut t, k, ms(1900), 1.0));
        assert!(!l.admit(&mut t, k, ms(1900), 1.0));
        assert!(l.admit(&mut t, k, ms(1901), 1.0));
    }

    #[test]
    fn rejected_requests_use_no_quota_and_keys_are_separate() {
        let l = Limiter {
            algorithm: LimitAlgorithm::FixedWindow {
                limit: 1,
                window: ms(1000),
            },
            per: LimitKey {
                ip: true,
                ..Default::default()
            },
        };
        let mut t = CounterTable::default();
        let a = l.per.of(7, 1, 0);
        let b = l.per.of(7, 2, 0);
        assert!(l.admit(&mut t, a, ms(0), 1.0));
        let (ok, _) = l.check(&mut t, a, ms(1), 1.0);
        assert!(!ok);
        assert!(l.admit(&mut t, b, ms(2), 1.0), "another address has its own counter");
        assert_eq!(t.keys(), 2);
        // Check without take leaves the quota untouched.
        let mut t2 = CounterTable::default();
        for _ in 0..5 {
            assert!(l.check(&mut t2, a, ms(0), 1.0).0);
        }
    }

    #[test]
    fn key_dimensions_are_distinct() {
        let all = LimitKey {
            tenant: true,
            ip: true,
            endpoint: true,
        };
        assert_ne!(all.of(0, 5, 1), all.of(1, 5, 0));
        assert_ne!(all.of(1, 5, 0), all.of(0, 5, 0));
        let tenant = LimitKey {
            tenant: true,
            ..Default::default()
        };
        assert_eq!(tenant.of(3, 5, 1), tenant.of(3, 9, 2));
        assert_ne!(tenant.of(3, 5, 1), tenant.of(4, 5, 1));
        assert_eq!(LimitKey::default().of(3, 5, 1), LimitKey::default().of(4, 6, 0));
    }

    #[test]
    fn token_bucket_matches_the_tier_bucket() {
        let l = limiter(LimitAlgorithm::TokenBucket {
            rate_per_s: 2.0,
            burst: 3.0,
        });
        let mut t = CounterTable::default();
        let k = (0, 0);
        assert!((0..3).all(|_| l.admit(&mut t, k, SimTime::ZERO, 1.0)));
        assert!(!l.admit(&mut t, k, SimTime::ZERO, 1.0));
        assert!(l.admit(&mut t, k, ms(500), 1.0));
        assert!(!l.admit(&mut t, k, ms(500), 1.0));
    }

    #[test]
    fn store_adds_latency_and_queues_beyond_its_capacity() {
        let mut s = CounterStore::new(None);
        assert_eq!(s.call(ms(5), ms(1)), ms(1));
        // 1000 calls/s: 1 ms each; three calls at once wait for each other.
        let mut s = CounterStore::new(Some(1000.0));
        assert_eq!(s.call(ms(10), ms(2)), ms(3));
        assert_eq!(s.call(ms(10), ms(2)), ms(4));
        assert_eq!(s.call(ms(10), ms(2)), ms(5));
        // Idle again later: no wait.
        assert_eq!(s.call(ms(100), ms(2)), ms(3));
    }

    /// Arrival times (ms offsets, sorted) from gaps.
    fn times(gaps: &[u64]) -> Vec<SimTime> {
        let mut t = 0;
        gaps.iter()
            .map(|g| {
                t += g;
                SimTime::from_nanos(t * 100_000)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn sliding_window_never_admits_more_than_limit_in_any_window(
            gaps in proptest::collection::vec(0u64..30, 1..400),
            limit in 1u32..8,
            window_ms in 1u64..50,
        ) {
            let window = ms(window_ms);
            let l = limiter(LimitAlgorithm::SlidingWindow { limit, window });
            let mut t = CounterTable::default();
            let admitted: Vec<SimTime> = times(&gaps)
                .into_iter()
                .filter(|&now| l.admit(&mut t, (0, 0), now, 1.0))
                .collect();
            // Every window (a, a + window] that can hold the most starts
            // just before an admitted request: check each.
            for (i, a) in admitted.iter().enumerate() {
                let n = admitted[i..].iter().take_while(|b| b.as_nanos() - a.as_nanos() < window.as_nanos()).count();
                prop_assert!(n as u32 <= limit, "{} admitted within {:?} from {:?}", n, window, a);
            }
            // And it is not stricter than it must be: a request is refused
            // only when the window before it is full.
            let mut t = CounterTable::default();
            let mut log: Vec<SimTime> = Vec::new();
            for now in times(&gaps) {
                let recent = log.iter().filter(|b| now.as_nanos() - b.as_nanos() < window.as_nanos()).count();
                let ok = l.admit(&mut t, (0, 0), now, 1.0);
                prop_assert_eq!(ok, (recent as u32) < limit);
                if ok { log.push(now); }
            }
        }

        #[test]
        fn fixed_window_admits_at_most_limit_per_window(
            gaps in proptest::collection::vec(0u64..30, 1..400),
            limit in 1u32..8,
            window_ms in 1u64..50,
        ) {
            let window = ms(window_ms);
            let l = limiter(LimitAlgorithm::FixedWindow { limit, window });
            let mut t = CounterTable::default();
            let mut per_window: std::collections::BTreeMap<u64, u32> = Default::default();
            for now in times(&gaps) {
                let k = now.as_nanos() / window.as_nanos();
                let before = *per_window.get(&k).unwrap_or(&0);
                let ok = l.admit(&mut t, (0, 0), now, 1.0);
                // Refused exactly when the window is full.
                prop_assert_eq!(ok, before < limit);
                if ok { *per_window.entry(k).or_default() += 1; }
            }
            prop_assert!(per_window.values().all(|&n| n <= limit));
        }

        #[test]
        fn token_bucket_admits_at_most_burst_plus_rate_times_t(
            gaps in proptest::collection::vec(0u64..30, 1..300),
            rate in 1.0f64..200.0,
            burst in 1u32..6,
        ) {
            let l = limiter(LimitAlgorithm::TokenBucket { rate_per_s: rate, burst: burst as f64 });
            let mut t = CounterTable::default();
            let admitted: Vec<SimTime> = times(&gaps)
                .into_iter()
                .filter(|&now| l.admit(&mut t, (0, 0), now, 1.0))
                .collect();
            for (i, a) in admitted.iter().enumerate() {
                for (j, b) in admitted.iter().enumerate().skip(i) {
                    let dt = (b.as_nanos() - a.as_nanos()) as f64 / 1e9;
                    prop_assert!((j - i + 1) as f64 <= burst as f64 + rate * dt + 1e-9);
                }
            }
        }
    }
}
