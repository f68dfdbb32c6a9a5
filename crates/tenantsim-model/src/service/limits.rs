//! Rate limits (`[[rate_limit]]`): per-key limiters in two layers, and the
//! shared counter store.
//!
//! Owns each limiter's counter tables (one table if the limiter is shared,
//! else one per instance id), the split into shared and local limiters,
//! the scratch list of a layer's checks, and the shared store with its
//! latency stream. A request passes the shared layer (one store call, whose
//! answer arrives after the store's latency) before the balancer, and its
//! instance's local layer after.
//!
//! Must not: count a request that some limiter of the layer refuses — a
//! layer first checks every limiter that applies, and only if all allow
//! does each take its token (no partial charges). Invariants: a local
//! limiter's counters live and die with their instance (`clear_local`);
//! `slots` is empty between calls (scratch, kept to avoid allocating).

use super::Service;
use crate::limiter::{CounterStore, CounterTable};
use crate::metrics::{Outcome, Recorder};
use crate::request::{Phase, ReqRef, Request};
use crate::spec::Scenario;
use crate::Msg;
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

/// The limiters' counters and the shared store.
pub(super) struct RateLimits {
    /// Per `[[rate_limit]]`: its counter tables.
    tables: Vec<Vec<CounterTable>>,
    /// Indices of the shared and of the local limiters.
    pub(super) shared: Vec<usize>,
    pub(super) local: Vec<usize>,
    /// Scratch: (limiter, table, counter slot) of a layer's checks.
    slots: Vec<(usize, usize, usize)>,
    store: Option<CounterStore>,
    store_rng: SimRng,
}

impl RateLimits {
    pub(super) fn new(sc: &Scenario, streams: &RngStreams) -> Self {
        RateLimits {
            tables: sc
                .rate_limits
                .iter()
                .map(|l| {
                    if l.shared {
                        vec![CounterTable::default()]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            shared: (0..sc.rate_limits.len())
                .filter(|&i| sc.rate_limits[i].shared)
                .collect(),
            local: (0..sc.rate_limits.len())
                .filter(|&i| !sc.rate_limits[i].shared)
                .collect(),
            slots: Vec::with_capacity(sc.rate_limits.len()),
            store: sc.limit_store.as_ref().map(|s| CounterStore::new(s.ops_per_s)),
            store_rng: streams.stream(StreamId::Latency(4)),
        }
    }

    /// One layer of limiters (the shared ones, or the local ones at
    /// instance `inst`, whose group has `ready` instances) for `r`: all
    /// that apply must allow it, and only then does each count it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_layer(
        &mut self,
        sc: &Scenario,
        rec: &mut Recorder,
        now: SimTime,
        r: &Request,
        ip: u64,
        shared: bool,
        inst: usize,
        ready: usize,
    ) -> bool {
        let n = if shared { self.shared.len() } else { self.local.len() };
        self.slots.clear();
        let mut ok = true;
        for j in 0..n {
            let i = if shared { self.shared[j] } else { self.local[j] };
            let spec = &sc.rate_limits[i];
            if !spec.applies(r.tier as usize, r.endpoint as usize) {
                continue;
            }
            let scale = if spec.divided { 1.0 / ready.max(1) as f64 } else { 1.0 };
            let tables = &mut self.tables[i];
            let t = if shared { 0 } else { inst };
            if tables.len() <= t {
                tables.resize_with(t + 1, CounterTable::default);
            }
            let key = spec.limiter.per.of(r.tenant, ip, r.endpoint);
            let (allowed, slot) = spec.limiter.check(&mut tables[t], key, now, scale);
            rec.limiter(i, r.measured, !allowed);
            if allowed {
                self.slots.push((i, t, slot));
            } else {
                ok = false;
            }
        }
        if ok {
            for &(i, t, slot) in &self.slots {
                sc.rate_limits[i].limiter.take(&mut self.tables[i][t], slot, now);
            }
        }
        ok
    }

    /// Whether some limiter of the layer (shared or local) applies to a
    /// request of `tier` to `endpoint`.
    pub(super) fn layer_applies(&self, sc: &Scenario, shared: bool, tier: usize, endpoint: usize) -> bool {
        let list = if shared { &self.shared } else { &self.local };
        list.iter().any(|&i| sc.rate_limits[i].applies(tier, endpoint))
    }

    /// A call to the shared store at `now`: when its answer arrives.
    pub(super) fn store_call(&mut self, sc: &Scenario, now: SimTime) -> SimTime {
        let store = sc.limit_store.as_ref().expect("shared limiters have a store");
        let latency = store.latency.sample(&mut self.store_rng);
        self.store.as_mut().expect("store").call(now, latency)
    }

    /// Instance `id` stopped: its local counters go with it.
    pub(super) fn clear_local(&mut self, id: u32) {
        for &i in &self.local {
            if let Some(t) = self.tables[i].get_mut(id as usize) {
                *t = CounterTable::default();
            }
        }
    }
}

impl Service<'_> {
    /// The shared store answered `req`'s call: refuse it (429) or go on.
    pub(super) fn on_limiter_reply(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        let mut r = *r;
        let c = *self.requests.cold(req).expect("live request");
        self.requests.remove(req);
        let now = sched.now();
        self.rec.limit_store_wait(r.measured, now - r.arrival);
        if c.limited {
            self.gateway.release(r.tenant);
            self.reject_counted(r.tier as usize, Outcome::RateLimited);
            self.rec.limiter_refusal(r.tier as usize, r.measured);
            return self.client_result(sched, &r, c.ip, Outcome::RateLimited, now - r.arrival);
        }
        r.phase = Phase::Cpu;
        r.instance = 0;
        self.admit(sched, r, &c);
    }
}
