//! Requests in flight: a slab of reusable slots addressed by [`ReqRef`].
//!
//! A request is the envelope that travels with messages between actors; it
//! is stored here once so messages stay small `Copy` values. A slot is
//! reused after the request leaves the service; the generation in a
//! [`ReqRef`] makes a late message about a reused slot (a client timeout
//! after the response, say) recognisably stale. Slots are never freed back
//! to the allocator, so a steady-state run does not allocate.

use tenantsim_engine::{SimTime, Timer};

/// A handle to a request slot, valid while `gen` matches the slot's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqRef {
    pub idx: u32,
    pub gen: u32,
}

/// Sentinel for "not from a closed-workload user".
pub const NO_USER: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Default)]
pub struct Request {
    pub gen: u32,
    pub tenant: u32,
    pub tier: u16,
    pub workload: u16,
    pub endpoint: u16,
    /// Arrived after the warm-up: counts in the statistics.
    pub measured: bool,
    /// The client stopped waiting (endpoint timeout).
    pub client_gone: bool,
    /// Closed-workload user that sent it, or [`NO_USER`].
    pub user: u32,
    pub instance: u32,
    pub arrival: SimTime,
    pub enqueued: SimTime,
    /// CPU demand drawn at arrival (so the draw sequence does not depend on
    /// admission decisions: common random numbers).
    pub cpu: SimTime,
    /// Seed of this request's query times, drawn at arrival: query j's time
    /// comes from a generator seeded by (query_seed, j), so it is the same
    /// whatever order queries start in (common random numbers across pool
    /// sizes and database limits).
    pub query_seed: u64,
    /// Cache key (tenant namespace in the high 32 bits unless shared).
    pub key: u64,
    /// Where the request is on its way through the service.
    pub phase: Phase,
    /// Attempt number, 0 for the first.
    pub attempt: u8,
    /// Database work with no client or worker (a write-behind flush).
    pub background: bool,
    /// The result of the cache lookup in progress.
    pub hit: bool,
    /// Connection held, valid in phases Connecting and Query.
    pub conn: u32,
    /// Queries started so far.
    pub queries: u16,
    /// When the request started waiting for a connection.
    pub wait_since: SimTime,
    /// When the current query started on the database (its host CPU
    /// first, with `[host]`), for `db_query_time_*`.
    pub query_since: SimTime,
    /// Epoch of the circuit-breaker permit of the call in progress
    /// (database, or the L2 lookup before it).
    pub breaker_epoch: u32,
    /// A cache level held an expired copy of the key (for the database
    /// breaker's stale fallback).
    pub stale: bool,
    /// Priority level: 0 is served first (from the tier's `priority`).
    pub level: u8,
    /// Request stages: the stage under way (the endpoint's stage count once
    /// past them), when it began, and its wait and failure, drawn when it
    /// began from a generator seeded by (stage_seed, stage) — per request,
    /// so the draws do not depend on event order (common random numbers).
    pub stage: u8,
    pub stage_since: SimTime,
    pub stage_wait: SimTime,
    pub stage_fails: bool,
    pub stage_seed: u64,
    /// With stages: the endpoint's own CPU demand, run after the stages
    /// (`cpu` then holds the current stage's).
    pub backend_cpu: SimTime,
    /// The slot holds a request (false once removed).
    pub alive: bool,
    /// Client address (population in the high 32 bits, index in the low),
    /// 0 without `clients`.
    pub ip: u64,
    /// Database server of its call: 0 the primary, i replica i − 1.
    pub db_target: u8,
    /// The shared rate-limit store refused it (its answer is on the way).
    pub limited: bool,
    /// When it passed the gateway and the shared limiters (its arrival
    /// unless a shared limiter's answer took time).
    pub admitted: SimTime,
    /// A client request, or work of a session (a message, a handshake).
    pub job: Job,
    /// The pending client timeout, cancelled when the request finishes.
    pub client_timer: Timer,
    /// The pending pool-wait or query timeout, cancelled when the wait or
    /// the query ends.
    pub phase_timer: Timer,
}

/// What a slot's work is: client requests go through the whole path;
/// session work holds a worker and CPU on its session's instance only, and
/// is counted apart from requests (no gateway, balancer or client).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Job {
    #[default]
    Request,
    /// A message on an open session.
    Message,
    /// A session's connection handshake.
    Handshake,
}

/// The steps of a request after it has a worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Cpu,
    /// A request stage's external call: holds the worker, no CPU.
    Wait,
    L1,
    L2,
    /// Looking up the persistent L3 cache.
    L3,
    /// Waiting for the shared rate-limit store (before an instance:
    /// `instance` is `u32::MAX`).
    RateCheck,
    PoolWait,
    Connecting,
    /// The database's CPU for a query on the instance's host (`[host]
    /// query_cpu`), before the query's time on the database.
    HostQuery,
    Query,
    /// A thread processes the query's reply (`[host]`); the connection is
    /// still held.
    Reply,
}

#[derive(Default)]
pub struct Requests {
    slots: Vec<Request>,
    free: Vec<u32>,
    live: usize,
}

impl Requests {
    pub fn with_capacity(n: usize) -> Self {
        Requests {
            slots: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
            live: 0,
        }
    }

    /// Take a slot and fill it with `r` (its `gen` is set here).
    #[inline]
    pub fn insert(&mut self, mut r: Request) -> ReqRef {
        self.live += 1;
        r.alive = true;
        // A copy (a retry, a background flush) must not cancel the
        // original's timers.
        r.client_timer = Timer::NONE;
        r.phase_timer = Timer::NONE;
        match self.free.pop() {
            Some(idx) => {
                let slot = &mut self.slots[idx as usize];
                r.gen = slot.gen;
                *slot = r;
                ReqRef { idx, gen: r.gen }
            }
            None => {
                let idx = self.slots.len() as u32;
                r.gen = 0;
                self.slots.push(r);
                ReqRef { idx, gen: 0 }
            }
        }
    }

    /// The request, if `r` is still current.
    #[inline]
    pub fn get(&self, r: ReqRef) -> Option<&Request> {
        self.slots.get(r.idx as usize).filter(|s| s.gen == r.gen)
    }

    #[inline]
    pub fn get_mut(&mut self, r: ReqRef) -> Option<&mut Request> {
        self.slots.get_mut(r.idx as usize).filter(|s| s.gen == r.gen)
    }

    /// Release the slot; later lookups with `r` return None.
    #[inline]
    pub fn remove(&mut self, r: ReqRef) {
        if let Some(s) = self.slots.get_mut(r.idx as usize) {
            if s.gen == r.gen {
                s.gen = s.gen.wrapping_add(1);
                s.alive = false;
                self.free.push(r.idx);
                self.live -= 1;
            }
        }
    }

    /// Requests currently in the service.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Handles of the live requests matching `f` (a scan: for rare events
    /// such as an instance failing).
    pub fn find(&self, f: impl Fn(&Request) -> bool) -> Vec<ReqRef> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.alive && f(s))
            .map(|(i, s)| ReqRef {
                idx: i as u32,
                gen: s.gen,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn stale_handles_are_refused_after_reuse() {
        let mut rs = Requests::with_capacity(1);
        let a = rs.insert(Request {
            tenant: 1,
            ..Default::default()
        });
        rs.remove(a);
        let b = rs.insert(Request {
            tenant: 2,
            ..Default::default()
        });
        assert_eq!(a.idx, b.idx);
        assert!(rs.get(a).is_none());
        assert_eq!(rs.get(b).unwrap().tenant, 2);
        rs.remove(a); // stale: no effect
        assert_eq!(rs.live(), 1);
    }
}
