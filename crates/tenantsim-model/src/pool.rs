//! The database connection pool, modelled on SQLAlchemy's QueuePool and
//! HikariCP.
//!
//! `permanent` connections stay open once opened; up to `limit` in all may
//! be open. A connection above `permanent` is an overflow connection: with
//! a static pool (`size` + `overflow`) it is closed as soon as it is
//! returned (QueuePool); with a dynamic pool (`min`/`max`) it is closed after
//! `idle_timeout` without use (HikariCP). Opening a connection costs
//! `connect_time`, and so does reopening one older than `recycle` at
//! checkout. A request that finds no idle connection and no room to open
//! one waits FCFS, up to `timeout` (then `pool_timeout`).
//!
//! Per-tenant caps: a tenant never holds more than its tier's
//! `max_connections`; a request over its tenant's cap waits even when
//! connections are idle, and is counted as a tenant-cap wait.
//!
//! Invariants: open ≤ limit; in use ≤ open; each tenant's holdings ≤ its
//! cap; waiters are served in arrival order among those eligible.

use super::request::ReqRef;
use crate::metrics::TimeIntegral;
use std::collections::VecDeque;
use tenantsim_engine::hash::FastMap;
use tenantsim_engine::SimTime;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub permanent: u32,
    pub limit: u32,
    pub timeout: SimTime,
    pub recycle: Option<SimTime>,
    pub connect_time: SimTime,
    /// None: close overflow connections when returned; Some(d): after d idle.
    pub idle_timeout: Option<SimTime>,
}

#[derive(Clone, Copy, Debug)]
struct Conn {
    opened: SimTime,
    idle_since: SimTime,
    open: bool,
    busy: bool,
}

/// A granted connection: use it after `delay` (connect or reconnect time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub conn: u32,
    pub delay: SimTime,
    /// A new connection was opened (the database must count it).
    pub opened: bool,
}

/// Result of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Released {
    /// A waiter that now has a connection, and its grant.
    pub next: Option<(ReqRef, Grant)>,
    /// The returned connection was closed (an overflow connection nobody
    /// waited for): the database has one connection fewer.
    pub closed: bool,
}

/// Result of an acquire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquire {
    Granted(Grant),
    /// Queued; `tenant_capped` when the tenant's cap (not the pool) is why.
    Waiting {
        tenant_capped: bool,
    },
    /// A new connection was needed and the database refused it.
    Refused,
}

#[derive(Clone, Copy, Debug)]
struct Waiter {
    req: ReqRef,
    tenant: u32,
    cap: u32,
    /// Priority level, 0 first.
    level: u8,
}

pub struct ConnectionPool {
    cfg: PoolConfig,
    conns: Vec<Conn>,
    idle: Vec<u32>,
    open: u32,
    in_use: u32,
    waiters: VecDeque<Waiter>,
    held: FastMap<u32, u32>,
    /// Connections in use over time (pool utilisation, time series).
    pub in_use_gauge: TimeIntegral,
    /// Waiting requests over time.
    pub waiting_gauge: TimeIntegral,
    /// Connection capacity (`limit` while the pool exists, 0 once closed).
    pub capacity_gauge: TimeIntegral,
}

impl ConnectionPool {
    pub fn new(cfg: PoolConfig, now: SimTime) -> Self {
        let n = cfg.limit as usize;
        ConnectionPool {
            cfg,
            conns: Vec::with_capacity(n),
            idle: Vec::with_capacity(n),
            open: 0,
            in_use: 0,
            waiters: VecDeque::with_capacity(64),
            held: FastMap::default(),
            in_use_gauge: TimeIntegral::new(now),
            waiting_gauge: TimeIntegral::new(now),
            capacity_gauge: {
                let mut g = TimeIntegral::new(now);
                g.set(now, n as f64);
                g
            },
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }
    pub fn open(&self) -> u32 {
        self.open
    }
    pub fn in_use(&self) -> u32 {
        self.in_use
    }
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }
    pub fn held_by(&self, tenant: u32) -> u32 {
        self.held.get(&tenant).copied().unwrap_or(0)
    }

    /// The pool's invariants, checked in debug builds (tests) after every
    /// change.
    fn check(&self) {
        debug_assert!(
            self.open <= self.cfg.limit,
            "pool opened {} > limit {}",
            self.open,
            self.cfg.limit
        );
        debug_assert!(self.in_use <= self.open, "in use {} > open {}", self.in_use, self.open);
        debug_assert!(
            self.waiters.iter().all(|w| self.held_by(w.tenant) <= w.cap),
            "tenant over its cap"
        );
    }

    fn gauges(&mut self, now: SimTime) {
        self.check();
        self.in_use_gauge.set(now, self.in_use as f64);
        self.waiting_gauge.set(now, self.waiters.len() as f64);
    }

    /// Hand out an idle connection or open one; None when neither is possible.
    fn take(&mut self, now: SimTime, tenant: u32, can_open: bool) -> Option<Result<Grant, ()>> {
        let grant = if let Some(c) = self.idle.pop() {
            let conn = &mut self.conns[c as usize];
            let stale = self.cfg.recycle.is_some_and(|r| now.saturating_sub(conn.opened) >= r);
            let delay = if stale {
                conn.opened = now;
                self.cfg.connect_time
            } else {
                SimTime::ZERO
            };
            conn.busy = true;
            Grant {
                conn: c,
                delay,
                opened: false,
            }
        } else if self.open < self.cfg.limit {
            if !can_open {
                return Some(Err(()));
            }
            let c = match self.conns.iter().position(|c| !c.open) {
                Some(i) => i,
                None => {
                    self.conns.push(Conn {
                        opened: now,
                        idle_since: now,
                        open: false,
                        busy: false,
                    });
                    self.conns.len() - 1
                }
            };
            self.conns[c] = Conn {
                opened: now,
                idle_since: now,
                open: true,
                busy: true,
            };
            self.open += 1;
            Grant {
                conn: c as u32,
                delay: self.cfg.connect_time,
                opened: true,
            }
        } else {
            return None;
        };
        self.in_use += 1;
        *self.held.entry(tenant).or_insert(0) += 1;
        Some(Ok(grant))
    }

    /// Ask for a connection for `req` of `tenant` (cap: the tier's
    /// `max_connections`, u32::MAX for none; level: priority, 0 first). `can_open`: whether the
    /// database would accept one more connection now.
    pub fn acquire(&mut self, now: SimTime, req: ReqRef, tenant: u32, cap: u32, level: u8, can_open: bool) -> Acquire {
        let capped = self.held_by(tenant) >= cap;
        // FCFS among eligible requests: do not overtake a waiter that could
        // use a connection; waiters held back by their own tenant's cap do
        // not block others.
        let eligible_ahead = self.waiters.iter().any(|w| self.held_by(w.tenant) < w.cap);
        let result = if !capped && !eligible_ahead {
            match self.take(now, tenant, can_open) {
                Some(Ok(g)) => Acquire::Granted(g),
                Some(Err(())) => Acquire::Refused,
                None => {
                    self.enqueue(Waiter {
                        req,
                        tenant,
                        cap,
                        level,
                    });
                    Acquire::Waiting { tenant_capped: false }
                }
            }
        } else {
            self.enqueue(Waiter {
                req,
                tenant,
                cap,
                level,
            });
            Acquire::Waiting { tenant_capped: capped }
        };
        self.gauges(now);
        result
    }

    /// Queue a waiter behind those of its priority level or higher.
    fn enqueue(&mut self, w: Waiter) {
        match self.waiters.iter().position(|x| x.level > w.level) {
            Some(p) => self.waiters.insert(p, w),
            None => self.waiters.push_back(w),
        }
    }

    /// Return connection `conn` held by `tenant`. If a waiter can now have a
    /// connection (this one, or one the release makes possible), `next`
    /// names it and its grant; the caller starts it. `can_open`: whether the
    /// database would accept one more connection.
    pub fn release(&mut self, now: SimTime, conn: u32, tenant: u32, can_open: bool) -> Released {
        self.in_use -= 1;
        if let Some(h) = self.held.get_mut(&tenant) {
            *h -= 1;
            if *h == 0 {
                self.held.remove(&tenant);
            }
        }
        // Static pools close an overflow connection at once unless a waiter
        // can use it (waiters held back by their tenant's cap cannot).
        let eligible = self.waiters.iter().any(|w| self.held_by(w.tenant) < w.cap);
        let closed = self.cfg.idle_timeout.is_none() && self.open > self.cfg.permanent && !eligible;
        let c = &mut self.conns[conn as usize];
        c.busy = false;
        c.idle_since = now;
        if closed {
            c.open = false;
            self.open -= 1;
        } else {
            self.idle.push(conn);
        }
        let next = self.serve_waiter(now, can_open);
        self.gauges(now);
        Released { next, closed }
    }

    /// Give a connection to the first waiter whose tenant is under its cap.
    fn serve_waiter(&mut self, now: SimTime, can_open: bool) -> Option<(ReqRef, Grant)> {
        let pos = self.waiters.iter().position(|w| self.held_by(w.tenant) < w.cap)?;
        let w = self.waiters[pos];
        match self.take(now, w.tenant, can_open) {
            Some(Ok(g)) => {
                self.waiters.remove(pos);
                Some((w.req, g))
            }
            _ => None,
        }
    }

    /// A waiter gave up (pool timeout or client gone). Returns whether it
    /// was still waiting.
    pub fn cancel(&mut self, now: SimTime, req: ReqRef) -> bool {
        let found = match self.waiters.iter().position(|w| w.req == req) {
            Some(p) => {
                self.waiters.remove(p);
                true
            }
            None => false,
        };
        self.gauges(now);
        found
    }

    /// Close every connection and drop every waiter (the instance that owns
    /// the pool is gone; its requests were failed first).
    pub fn close_all(&mut self, now: SimTime) {
        self.conns.clear();
        self.idle.clear();
        self.waiters.clear();
        self.held.clear();
        self.open = 0;
        self.in_use = 0;
        self.capacity_gauge.set(now, 0.0);
        self.gauges(now);
    }

    /// Close idle overflow connections idle for longer than `idle_timeout`
    /// (dynamic pools). Returns how many were closed.
    pub fn close_idle(&mut self, now: SimTime) -> u32 {
        let Some(limit) = self.cfg.idle_timeout else { return 0 };
        let mut closed = 0;
        let mut i = 0;
        while i < self.idle.len() && self.open > self.cfg.permanent {
            let c = self.idle[i];
            let conn = &mut self.conns[c as usize];
            if now.saturating_sub(conn.idle_since) >= limit {
                conn.open = false;
                self.idle.swap_remove(i);
                self.open -= 1;
                closed += 1;
            } else {
                i += 1;
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg(permanent: u32, limit: u32) -> PoolConfig {
        PoolConfig {
            permanent,
            limit,
            timeout: SimTime::from_secs(30),
            recycle: None,
            connect_time: SimTime::from_nanos(20),
            idle_timeout: None,
        }
    }
    fn r(i: u32) -> ReqRef {
        ReqRef { idx: i, gen: 0 }
    }
    const T0: SimTime = SimTime::ZERO;

    #[test]
    fn opens_up_to_the_limit_then_queues_fcfs() {
        let mut p = ConnectionPool::new(cfg(1, 2), T0);
        let a = p.acquire(T0, r(0), 0, u32::MAX, 0, true);
        assert!(matches!(a, Acquire::Granted(Grant { opened: true, .. })));
        let b = p.acquire(T0, r(1), 0, u32::MAX, 0, true);
        let Acquire::Granted(gb) = b else { panic!("{b:?}") };
        assert_eq!(
            p.acquire(T0, r(2), 0, u32::MAX, 0, true),
            Acquire::Waiting { tenant_capped: false }
        );
        assert_eq!(
            p.acquire(T0, r(3), 0, u32::MAX, 0, true),
            Acquire::Waiting { tenant_capped: false }
        );
        // The overflow connection is handed to the first waiter, not closed.
        let (next, g) = p.release(T0, gb.conn, 0, true).next.unwrap();
        assert_eq!(next, r(2));
        assert_eq!(g.delay, SimTime::ZERO);
        assert_eq!(p.open(), 2);
        assert!(p.cancel(T0, r(3)));
        // Now nobody waits: returning the overflow connection closes it.
        let rel = p.release(T0, g.conn, 0, true);
        assert!(rel.next.is_none() && rel.closed);
        assert_eq!(p.open(), 1);
        assert_eq!(p.in_use(), 1);
    }

    #[test]
    fn database_refusal_and_recycle() {
        let mut p = ConnectionPool::new(
            PoolConfig {
                recycle: Some(SimTime::from_secs(10)),
                ..cfg(2, 2)
            },
            T0,
        );
        assert_eq!(p.acquire(T0, r(0), 0, u32::MAX, 0, false), Acquire::Refused);
        let Acquire::Granted(g) = p.acquire(T0, r(0), 0, u32::MAX, 0, true) else {
            panic!()
        };
        p.release(T0, g.conn, 0, true);
        // Reused within recycle: no delay; after it: reconnect cost.
        let Acquire::Granted(g) = p.acquire(SimTime::from_secs(5), r(1), 0, u32::MAX, 0, true) else {
            panic!()
        };
        assert_eq!(g.delay, SimTime::ZERO);
        p.release(SimTime::from_secs(5), g.conn, 0, true);
        let Acquire::Granted(g) = p.acquire(SimTime::from_secs(11), r(2), 0, u32::MAX, 0, true) else {
            panic!()
        };
        assert_eq!(g.delay, SimTime::from_nanos(20));
        assert!(!g.opened);
    }

    #[test]
    fn tenant_cap_makes_requests_wait_while_others_pass() {
        let mut p = ConnectionPool::new(cfg(4, 4), T0);
        let Acquire::Granted(g) = p.acquire(T0, r(0), 7, 1, 0, true) else {
            panic!()
        };
        assert_eq!(
            p.acquire(T0, r(1), 7, 1, 0, true),
            Acquire::Waiting { tenant_capped: true }
        );
        // Tenant 8 is not held back by tenant 7's capped request.
        assert!(matches!(p.acquire(T0, r(2), 8, 1, 0, true), Acquire::Granted(_)));
        let (next, _) = p.release(T0, g.conn, 7, true).next.unwrap();
        assert_eq!(next, r(1));
        assert_eq!(p.held_by(7), 1);
    }

    #[test]
    fn higher_priority_waiters_are_served_first() {
        let mut p = ConnectionPool::new(cfg(1, 1), T0);
        let Acquire::Granted(g) = p.acquire(T0, r(0), 0, u32::MAX, 1, true) else {
            panic!()
        };
        // Two low-priority waiters, then a high-priority one: it goes first;
        // FCFS holds within a level.
        p.acquire(T0, r(1), 1, u32::MAX, 1, true);
        p.acquire(T0, r(2), 2, u32::MAX, 1, true);
        p.acquire(T0, r(3), 3, u32::MAX, 0, true);
        let (next, g) = p.release(T0, g.conn, 0, true).next.unwrap();
        assert_eq!(next, r(3));
        let (next, g) = p.release(T0, g.conn, 3, true).next.unwrap();
        assert_eq!(next, r(1));
        let (next, _) = p.release(T0, g.conn, 1, true).next.unwrap();
        assert_eq!(next, r(2));
    }

    #[test]
    fn dynamic_pools_close_idle_overflow_after_the_timeout() {
        let mut p = ConnectionPool::new(
            PoolConfig {
                idle_timeout: Some(SimTime::from_secs(60)),
                ..cfg(1, 3)
            },
            T0,
        );
        let gs: Vec<Grant> = (0..3)
            .map(|i| match p.acquire(T0, r(i), i, u32::MAX, 0, true) {
                Acquire::Granted(g) => g,
                a => panic!("{a:?}"),
            })
            .collect();
        for (i, g) in gs.iter().enumerate() {
            p.release(T0, g.conn, i as u32, true);
        }
        assert_eq!(p.open(), 3);
        assert_eq!(p.close_idle(SimTime::from_secs(30)), 0);
        assert_eq!(p.close_idle(SimTime::from_secs(61)), 2);
        assert_eq!(p.open(), 1);
    }

    proptest! {
        #[test]
        fn never_lends_more_than_the_limit_nor_over_a_tenant_cap(
            ops in proptest::collection::vec((0u8..3, 0u32..4), 1..400),
            permanent in 0u32..4, extra in 0u32..4, cap in 1u32..3,
        ) {
            let limit = (permanent + extra).max(1);
            let mut p = ConnectionPool::new(cfg(permanent, limit), T0);
            let mut holding: Vec<(ReqRef, u32, u32)> = vec![]; // (req, conn, tenant)
            let mut waiting: Vec<(ReqRef, u32)> = vec![];
            let mut next_id = 0u32;
            for (op, tenant) in ops {
                match op {
                    0 => {
                        let req = r(next_id);
                        next_id += 1;
                        match p.acquire(T0, req, tenant, cap, 0, true) {
                            Acquire::Granted(g) => holding.push((req, g.conn, tenant)),
                            Acquire::Waiting { .. } => waiting.push((req, tenant)),
                            Acquire::Refused => unreachable!(),
                        }
                    }
                    1 if !holding.is_empty() => {
                        let (_, conn, t) = holding.remove(0);
                        if let Some((req, g)) = p.release(T0, conn, t, true).next {
                            let i = waiting.iter().position(|w| w.0 == req).unwrap();
                            let (_, wt) = waiting.remove(i);
                            holding.push((req, g.conn, wt));
                        }
                    }
                    _ if !waiting.is_empty() => {
                        let (req, _) = waiting.remove(0);
                        prop_assert!(p.cancel(T0, req));
                    }
                    _ => {}
                }
                prop_assert!(p.open() <= limit);
                prop_assert_eq!(p.in_use() as usize, holding.len());
                prop_assert_eq!(p.waiting(), waiting.len());
                for t in 0..4 {
                    prop_assert!(p.held_by(t) <= cap);
                    prop_assert_eq!(p.held_by(t) as usize, holding.iter().filter(|h| h.2 == t).count());
                }
                // Distinct connections.
                let mut conns: Vec<u32> = holding.iter().map(|h| h.1).collect();
                conns.sort();
                conns.dedup();
                prop_assert_eq!(conns.len(), holding.len());
            }
        }
    }
}
