//! The cache tier: an L1 per instance, the shared L2, the persistent L3,
//! and the circuit breaker in front of the L2.
//!
//! Owns the caches, the latency streams of their lookups, the L2 slowdown
//! factor (cache-slowdown faults) and the cache breaker with its
//! not-closed time. The `Service` methods here walk a cacheable read down
//! L1 → L2 → L3 → database and fill the levels on the way back; writes
//! update or invalidate.
//!
//! Must not: touch an instance itself. An L1 change may change the
//! instance's memory; the cache tier reports it ([`CacheTier::fill`]
//! returns whether an L1 took the key) and the `Service` recounts the
//! memory (`l1_changed`) at the same point as before.
//!
//! Invariants: `l1[i]` is instance i's L1 (None once it stopped, or without
//! an L1); with the database breaker's stale fallback every level keeps
//! expired copies for `stale_for`, and a stale copy is a miss that marks
//! the request (`Request::stale`).

use super::Service;
use crate::breaker::{CircuitBreaker, Permit};
use crate::cache::{Cache, EvictionPolicy};
use crate::metrics::{CacheEvent, Outcome, TimeIntegral};
use crate::request::{Phase, ReqRef, Request};
use crate::spec::{CacheLevel, CachePolicy, Fallback, Scenario};
use crate::{Msg, Peaks};
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

/// The caches, their latency streams and the L2 breaker.
pub(super) struct CacheTier {
    /// Per instance: its L1 (None without one, or once it stopped).
    pub(super) l1: Vec<Option<Cache>>,
    pub(super) l2: Option<Cache>,
    /// The persistent L3 (shared) and its latency stream.
    pub(super) l3: Option<Cache>,
    l3_rng: SimRng,
    /// Latency draws of L1 and L2 lookups.
    latency_rng: SimRng,
    /// L2 latency multiplier (cache-slowdown faults).
    pub(super) l2_factor: f64,
    pub(super) breaker: Option<CircuitBreaker>,
    pub(super) breaker_open: TimeIntegral,
    /// The database breaker may serve stale copies: lookups note them.
    stale_fallback: bool,
    /// How long expired copies are kept (zero without the fallback).
    grace: SimTime,
}

fn new_cache(level: &CacheLevel, stale_grace: SimTime) -> Cache {
    let policy = match level.policy {
        CachePolicy::Lru => EvictionPolicy::Lru,
        CachePolicy::Fifo => EvictionPolicy::Fifo,
        CachePolicy::Lfu => EvictionPolicy::Lfu,
        CachePolicy::None => EvictionPolicy::None,
    };
    let mut c = Cache::new(level.capacity as usize, policy, level.ttl);
    c.keep_stale_for(stale_grace);
    c
}

/// How long caches keep expired copies for the database breaker's stale
/// fallback (zero without one).
fn stale_grace(sc: &Scenario) -> SimTime {
    match &sc.breakers.database {
        Some(b) if b.fallback == Fallback::Stale => b.stale_for,
        _ => SimTime::ZERO,
    }
}

impl CacheTier {
    pub(super) fn new(sc: &Scenario, streams: &RngStreams) -> Self {
        let grace = stale_grace(sc);
        CacheTier {
            l1: Vec::new(),
            l2: sc.cache.l2.as_ref().map(|l| new_cache(l, grace)),
            l3: sc.cache.l3.as_ref().map(|l| new_cache(l, grace)),
            l3_rng: streams.stream(StreamId::Latency(3)),
            latency_rng: streams.stream(StreamId::Latency(0)),
            l2_factor: 1.0,
            breaker: sc.breakers.cache.as_ref().map(|b| CircuitBreaker::new(b.config)),
            breaker_open: TimeIntegral::new(SimTime::ZERO),
            stale_fallback: sc
                .breakers
                .database
                .as_ref()
                .is_some_and(|b| b.fallback == Fallback::Stale),
            grace,
        }
    }

    /// A new instance: its L1 starts cold.
    pub(super) fn add_instance(&mut self, sc: &Scenario) {
        self.l1.push(sc.cache.l1.as_ref().map(|l| new_cache(l, self.grace)));
    }

    /// Instance `id` stopped: its L1 goes (its peak size is kept).
    pub(super) fn remove_instance(&mut self, id: u32, peaks: &mut Peaks) {
        if let Some(c) = self.l1[id as usize].take() {
            peaks.l1_items = peaks.l1_items.max(c.peak_len() as u64);
        }
    }

    /// Store `key` in every level (the L1 of `inst`). Returns whether an
    /// L1 took it (its instance's memory may have changed).
    pub(super) fn fill(&mut self, key: u64, inst: u32, now: SimTime) -> bool {
        if let Some(l3) = &mut self.l3 {
            l3.insert(key, now);
        }
        if let Some(l2) = &mut self.l2 {
            l2.insert(key, now);
        }
        if let Some(Some(l1)) = self.l1.get_mut(inst as usize) {
            l1.insert(key, now);
            return true;
        }
        false
    }

    /// Drop `key` from the L2, the L3 and `inst`'s L1 (other instances'
    /// L1 copies stay until their TTL, as in a real per-instance cache).
    pub(super) fn invalidate(&mut self, key: u64, inst: u32) {
        if let Some(l2) = &mut self.l2 {
            l2.invalidate(key);
        }
        if let Some(l3) = &mut self.l3 {
            l3.invalidate(key);
        }
        if let Some(Some(l1)) = self.l1.get_mut(inst as usize) {
            l1.invalidate(key);
        }
    }

    /// A cache-flush fault: empty the chosen levels.
    pub(super) fn flush(&mut self, l1: bool, l2: bool, l3: bool) {
        if l3 {
            if let Some(c) = &mut self.l3 {
                c.clear();
            }
        }
        if l2 {
            if let Some(c) = &mut self.l2 {
                c.clear();
            }
        }
        if l1 {
            for c in self.l1.iter_mut().flatten() {
                c.clear();
            }
        }
    }

    /// High-water marks at the end of the run.
    pub(super) fn peaks(&self, peaks: &mut Peaks) {
        for c in self.l1.iter().flatten() {
            peaks.l1_items = peaks.l1_items.max(c.peak_len() as u64);
        }
        if let Some(c) = &self.l2 {
            peaks.l2_items = c.peak_len() as u64;
        }
        if let Some(c) = &self.l3 {
            peaks.l3_items = c.peak_len() as u64;
        }
    }
}

impl Service<'_> {
    /// Look `req`'s key up in L1 (`l1`) or L2 now; the answer arrives after
    /// that level's latency.
    pub(super) fn cache_lookup(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, l1: bool) {
        let now = sched.now();
        if !l1 {
            if let Some((permit, change)) = self.caches.breaker.as_mut().map(|b| b.try_call(now)) {
                if let Some(t) = change {
                    self.breaker_changed(now, false, t);
                }
                let (r, c) = self.requests.both_mut(req).expect("live request");
                match permit {
                    Some(p) => {
                        c.breaker_epoch = p.epoch;
                        c.wait_since = now;
                    }
                    None => {
                        // Open: the read goes past the L2 (to the L3 or
                        // the database).
                        let q = self.sc.endpoints[r.endpoint as usize].db_queries;
                        return self.after_l2(sched, req, q);
                    }
                }
            }
        }
        let r = self.requests.get_mut(req).expect("live request");
        let (hit, latency) = if l1 {
            let level = self.sc.cache.l1.as_ref().expect("L1 configured");
            let cache = self.caches.l1[r.instance as usize]
                .as_mut()
                .expect("L1 of a live instance");
            // An expired copy stays stored for the stale fallback (a miss
            // either way; `get` would drop it).
            let stale = self.caches.stale_fallback && cache.holds_stale(r.key, now);
            r.stale |= stale;
            (
                !stale && cache.get(r.key, now),
                level.latency.sample(&mut self.caches.latency_rng),
            )
        } else {
            let level = self.sc.cache.l2.as_ref().expect("L2 configured");
            let cache = self.caches.l2.as_mut().expect("L2 configured");
            let stale = self.caches.stale_fallback && cache.holds_stale(r.key, now);
            r.stale |= stale;
            let mut latency = level.latency.sample(&mut self.caches.latency_rng);
            if self.caches.l2_factor != 1.0 {
                latency = SimTime::from_secs_f64(latency.as_secs_f64() * self.caches.l2_factor);
            }
            (!stale && cache.get(r.key, now), latency)
        };
        r.hit = hit;
        r.phase = if l1 { Phase::L1 } else { Phase::L2 };
        sched.schedule_in(latency, Msg::CacheStep { req });
    }

    pub(super) fn on_cache_step(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        let (tier, measured, hit, phase, key, inst) =
            (r.tier as usize, r.measured, r.hit, r.phase, r.key, r.instance as usize);
        let db_queries = self.sc.endpoints[r.endpoint as usize].db_queries;
        if phase == Phase::L2 {
            let c = self.requests.cold(req).expect("live request");
            let (epoch, since) = (c.breaker_epoch, c.wait_since);
            let now = sched.now();
            let slow = self.sc.breakers.cache.as_ref().and_then(|b| b.slow_call);
            if let Some(b) = &mut self.caches.breaker {
                let failed = slow.is_some_and(|s| now - since > s);
                if let Some(t) = b.record(now, Permit { epoch }, failed) {
                    self.breaker_changed(now, false, t);
                }
            }
        }
        match phase {
            Phase::L1 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L1Hit);
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L1 => {
                self.rec.cache(tier, measured, CacheEvent::L1Miss);
                if self.caches.l2.is_some() {
                    self.cache_lookup(sched, req, false);
                } else {
                    self.after_l2(sched, req, db_queries);
                }
            }
            Phase::L2 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L2Hit);
                if let Some(Some(l1)) = self.caches.l1.get_mut(inst) {
                    l1.insert(key, sched.now());
                    self.l1_changed(inst, sched.now());
                }
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L2 => self.after_l2(sched, req, db_queries),
            Phase::L3 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L3Hit);
                let now = sched.now();
                if let Some(l2) = &mut self.caches.l2 {
                    l2.insert(key, now);
                }
                if let Some(Some(l1)) = self.caches.l1.get_mut(inst) {
                    l1.insert(key, now);
                    self.l1_changed(inst, now);
                }
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L3 => {
                self.rec.cache(tier, measured, CacheEvent::L3Miss);
                self.read_miss(sched, req, db_queries);
            }
            _ => {}
        }
    }

    /// A read missed (or skipped) the L2: the L3 if there is one, else
    /// the database.
    pub(super) fn after_l2(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, db_queries: u32) {
        if self.caches.l3.is_some() {
            self.l3_lookup(sched, req);
        } else {
            self.read_miss(sched, req, db_queries);
        }
    }

    /// Look `req`'s key up in the persistent L3; the answer arrives after
    /// its latency.
    pub(super) fn l3_lookup(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let r = self.requests.get_mut(req).expect("live request");
        let level = self.sc.cache.l3.as_ref().expect("L3 configured");
        let cache = self.caches.l3.as_mut().expect("L3 configured");
        let stale = self.caches.stale_fallback && cache.holds_stale(r.key, now);
        r.stale |= stale;
        r.hit = !stale && cache.get(r.key, now);
        r.phase = Phase::L3;
        let latency = level.latency.sample(&mut self.caches.l3_rng);
        sched.schedule_in(latency, Msg::CacheStep { req });
    }

    /// Every cache level missed: load from the database (then fill).
    pub(super) fn read_miss(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, db_queries: u32) {
        let r = self.requests.get(req).expect("live request");
        self.rec.cache(r.tier as usize, r.measured, CacheEvent::Miss);
        if db_queries > 0 {
            self.start_db(sched, req);
        } else {
            let r = *r;
            self.cache_fill(&r, sched.now());
            self.finish(sched, req, Outcome::Completed);
        }
    }

    /// Fill every cache level with `r`'s key (after a database read or a
    /// write that updates the caches).
    pub(super) fn cache_fill(&mut self, r: &Request, now: SimTime) {
        if self.caches.fill(r.key, r.instance, now) {
            self.l1_changed(r.instance as usize, now);
        }
    }

    /// A write's effect on the caches: update (write-through, write-behind)
    /// or invalidate (cache-aside).
    pub(super) fn cache_write(&mut self, r: &Request, update: bool, now: SimTime) {
        if update {
            self.cache_fill(r, now);
        } else {
            self.caches.invalidate(r.key, r.instance);
        }
    }
}
