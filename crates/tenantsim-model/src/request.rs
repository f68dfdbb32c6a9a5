//! Requests in flight: a slab of reusable slots addressed by [`ReqRef`].
//!
//! A request is the envelope that travels with messages between actors; it
//! is stored here once so messages stay small `Copy` values. A slot is
//! reused after the request leaves the service; the generation in a
//! [`ReqRef`] makes a late message about a reused slot (a client timeout
//! after the response, say) recognisably stale. Slots are never freed back
//! to the allocator, so a steady-state run does not allocate.
//!
//! A slot is split in two: the hot [`Request`] (at most 64 bytes, one cache
//! line: what admission, the worker queue, the CPU phase, the cache lookups
//! and a request's end touch) and the cold [`RequestCold`] (data tier,
//! stages, limiters, timers), in two arrays under the same index. Moving a
//! request into or out of the slab copies the hot line and, at insertion,
//! the cold part once; no path copies both back out except the rare ones
//! (the shared limiter's answer, a write-behind flush, an aborted call).

use tenantsim_engine::{SimTime, Timer};

/// A handle to a request slot, valid while `gen` matches the slot's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqRef {
    pub idx: u32,
    pub gen: u32,
}

/// Sentinel for "not from a closed-workload user".
pub const NO_USER: u32 = u32::MAX;

/// The hot part of a request: the fields read or written on every
/// request's way through the service (admission, the worker queue, the CPU
/// phase, the cache lookups, the end and the client's answer). At most 64
/// bytes — one cache line — so moving it into [`Requests::insert`] and out
/// again when a request finishes costs a few register moves, not a
/// `memcpy`. Everything else is in [`RequestCold`], in a side slab under
/// the same [`ReqRef`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Request {
    pub arrival: SimTime,
    /// CPU demand drawn at arrival (so the draw sequence does not depend on
    /// admission decisions: common random numbers). With stages, the
    /// current stage's.
    pub cpu: SimTime,
    /// Cache key (tenant namespace in the high 32 bits unless shared).
    pub key: u64,
    /// When it passed the gateway and the shared limiters (its arrival
    /// unless a shared limiter's answer took time).
    pub admitted: SimTime,
    pub gen: u32,
    pub tenant: u32,
    /// Closed-workload user that sent it, or [`NO_USER`].
    pub user: u32,
    pub instance: u32,
    pub tier: u16,
    pub workload: u16,
    pub endpoint: u16,
    /// Arrived after the warm-up: counts in the statistics.
    pub measured: bool,
    /// The client stopped waiting (endpoint timeout).
    pub client_gone: bool,
    /// The slot holds a request (false once removed).
    pub alive: bool,
    /// Where the request is on its way through the service.
    pub phase: Phase,
    /// A client request, or work of a session (a message, a handshake).
    pub job: Job,
    /// Priority level: 0 is served first (from the tier's `priority`).
    pub level: u8,
    /// Database work with no client or worker (a write-behind flush).
    pub background: bool,
    /// Attempt number, 0 for the first.
    pub attempt: u8,
    /// The result of the cache lookup in progress.
    pub hit: bool,
    /// A cache level held an expired copy of the key (for the database
    /// breaker's stale fallback).
    pub stale: bool,
}

// The point of the split: the hot part is one cache line.
const _: () = assert!(std::mem::size_of::<Request>() <= 64);

/// The cold part of a request: fields of the data tier, request stages,
/// rate limiting and timers, read on some paths only. Stored beside the
/// hot part under the same slot index.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestCold {
    /// The pending client timeout, cancelled when the request finishes.
    pub client_timer: Timer,
    /// The pending pool-wait or query timeout, cancelled when the wait or
    /// the query ends.
    pub phase_timer: Timer,
    /// Client address (population in the high 32 bits, index in the low),
    /// 0 without `clients`.
    pub ip: u64,
    /// Its arrival (session work: its creation); the worker-queue wait
    /// is measured from it.
    pub enqueued: SimTime,
    /// Seed of this request's query times, drawn at arrival: query j's time
    /// comes from a generator seeded by (query_seed, j), so it is the same
    /// whatever order queries start in (common random numbers across pool
    /// sizes and database limits).
    pub query_seed: u64,
    /// When the request started waiting for a connection.
    pub wait_since: SimTime,
    /// When the current query started on the database (its host CPU
    /// first, with `[host]`), for `db_query_time_*`.
    pub query_since: SimTime,
    /// Request stages: the stage under way (the endpoint's stage count once
    /// past them), when it began, and its wait and failure, drawn when it
    /// began from a generator seeded by (stage_seed, stage) — per request,
    /// so the draws do not depend on event order (common random numbers).
    pub stage_since: SimTime,
    pub stage_wait: SimTime,
    pub stage_seed: u64,
    /// With stages: the endpoint's own CPU demand, run after the stages
    /// (`cpu` then holds the current stage's).
    pub backend_cpu: SimTime,
    /// Connection held, valid in phases Connecting and Query.
    pub conn: u32,
    /// Epoch of the circuit-breaker permit of the call in progress
    /// (database, or the L2 lookup before it).
    pub breaker_epoch: u32,
    /// Queries started so far.
    pub queries: u16,
    pub stage: u8,
    pub stage_fails: bool,
    /// Database server of its call: 0 the primary, i replica i − 1.
    pub db_target: u8,
    /// The shared rate-limit store refused it (its answer is on the way).
    pub limited: bool,
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

/// The slab: hot parts in one array, cold parts in another, both indexed
/// by the slot; a slot's generation lives in its hot part.
#[derive(Default)]
pub struct Requests {
    slots: Vec<Request>,
    cold: Vec<RequestCold>,
    free: Vec<u32>,
    live: usize,
}

impl Requests {
    pub fn with_capacity(n: usize) -> Self {
        Requests {
            slots: Vec::with_capacity(n),
            cold: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
            live: 0,
        }
    }

    /// Take a slot and fill it with `r` and `c` (its `gen` is set here;
    /// the timers in `c` are not copied).
    #[inline]
    pub fn insert(&mut self, mut r: Request, c: &RequestCold) -> ReqRef {
        self.live += 1;
        r.alive = true;
        match self.free.pop() {
            Some(idx) => {
                let slot = &mut self.slots[idx as usize];
                r.gen = slot.gen;
                *slot = r;
                let cold = &mut self.cold[idx as usize];
                *cold = *c;
                // A copy (a retry, a background flush) must not cancel the
                // original's timers.
                cold.client_timer = Timer::NONE;
                cold.phase_timer = Timer::NONE;
                ReqRef { idx, gen: r.gen }
            }
            None => {
                let idx = self.slots.len() as u32;
                r.gen = 0;
                self.slots.push(r);
                self.cold.push(RequestCold {
                    client_timer: Timer::NONE,
                    phase_timer: Timer::NONE,
                    ..*c
                });
                ReqRef { idx, gen: 0 }
            }
        }
    }

    /// The request's hot part, if `r` is still current.
    #[inline]
    pub fn get(&self, r: ReqRef) -> Option<&Request> {
        self.slots.get(r.idx as usize).filter(|s| s.gen == r.gen)
    }

    #[inline]
    pub fn get_mut(&mut self, r: ReqRef) -> Option<&mut Request> {
        self.slots.get_mut(r.idx as usize).filter(|s| s.gen == r.gen)
    }

    /// The request's cold part, if `r` is still current.
    #[inline]
    pub fn cold(&self, r: ReqRef) -> Option<&RequestCold> {
        self.get(r)?;
        self.cold.get(r.idx as usize)
    }

    #[inline]
    pub fn cold_mut(&mut self, r: ReqRef) -> Option<&mut RequestCold> {
        self.get(r)?;
        self.cold.get_mut(r.idx as usize)
    }

    /// Both parts, if `r` is still current.
    #[inline]
    pub fn both_mut(&mut self, r: ReqRef) -> Option<(&mut Request, &mut RequestCold)> {
        let hot = self.slots.get_mut(r.idx as usize).filter(|s| s.gen == r.gen)?;
        Some((hot, self.cold.get_mut(r.idx as usize)?))
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
        let a = rs.insert(
            Request {
                tenant: 1,
                ..Default::default()
            },
            &RequestCold::default(),
        );
        rs.remove(a);
        let b = rs.insert(
            Request {
                tenant: 2,
                ..Default::default()
            },
            &RequestCold {
                ip: 7,
                ..Default::default()
            },
        );
        assert_eq!(a.idx, b.idx);
        assert!(rs.get(a).is_none());
        assert_eq!(rs.get(b).unwrap().tenant, 2);
        assert!(rs.cold(a).is_none());
        assert_eq!(rs.cold(b).unwrap().ip, 7);
        rs.remove(a); // stale: no effect
        assert_eq!(rs.live(), 1);
    }

    /// The split's purpose: a request's hot part is one cache line, so
    /// admission and the end of a request move at most 64 bytes.
    #[test]
    fn hot_part_fits_one_cache_line() {
        assert!(
            std::mem::size_of::<Request>() <= 64,
            "{}",
            std::mem::size_of::<Request>()
        );
    }

    #[test]
    fn cold_part_follows_its_slot() {
        let mut rs = Requests::with_capacity(2);
        let a = rs.insert(Request::default(), &RequestCold::default());
        let (hot, c) = rs.both_mut(a).unwrap();
        hot.tenant = 5;
        c.conn = 3;
        let copy = *rs.cold(a).unwrap();
        let b = rs.insert(Request::default(), &copy);
        assert_eq!(rs.cold(b).unwrap().conn, 3);
        rs.remove(a);
        assert!(rs.both_mut(a).is_none());
        let c = rs.insert(Request::default(), &RequestCold::default());
        assert_eq!((c.idx, rs.cold(c).unwrap().conn), (a.idx, 0));
    }
}
