//! The data tier: connection pools, the primary database and its read
//! replicas, replica routing, and the database circuit breaker.
//!
//! Owns: the pools (shared: one per pool class and server; per instance:
//! one per class and server for each instance, created at launch and
//! closed at stop), the database servers, the round-robin position of
//! replica routing, and the database breaker with its not-closed time.
//!
//! The `Service` methods here carry a request through its database call:
//! breaker → pool → `db_queries` queries → release → cache fill or
//! invalidation. They must not draw from any shared stream: query work
//! comes from the request's own seed (`Request::query_seed`), so the
//! order of database events never shifts other draws.
//!
//! Invariants: pools are laid out server by server (pool index mod
//! servers = its server); a server's open connections are the sum over its
//! pools (every open/close is reported to it); a background flush never
//! touches the breaker.

use super::Service;
use crate::breaker::{CircuitBreaker, Permit};
use crate::database::Database;
use crate::metrics::{Outcome, TimeIntegral};
use crate::pool::{Acquire, ConnectionPool, Grant};
use crate::request::{Phase, ReqRef, Request, RequestCold};
use crate::spec::{DbRoute, Fallback, Isolation, PoolScope, ReplicaRouting, Scenario, WritePolicy};
use crate::{Msg, Station};
use rand::SeedableRng;
use tenantsim_engine::{Scheduler, SimRng, SimTime};

/// Pools, database servers, routing and the database breaker.
pub(super) struct DataTier {
    /// The primary, and the read replicas (servers 1..).
    pub(super) db: Option<Database>,
    pub(super) replicas: Vec<Database>,
    /// Database servers: 1 + replicas.
    pub(super) targets: usize,
    /// The next replica in rotation.
    replica_next: usize,
    /// Pool class of each tier: 0 for shared tiers, one per isolated tier.
    pub(super) tier_class: Vec<u16>,
    classes: usize,
    /// Pools are shared (per class and server), not per instance.
    shared_pools: bool,
    pub(super) pools: Vec<ConnectionPool>,
    /// Per-instance scope: pool index of (instance, class, server),
    /// u32::MAX if none.
    pool_slots: Vec<u32>,
    pub(super) breaker: Option<CircuitBreaker>,
    pub(super) breaker_open: TimeIntegral,
    /// The breaker may answer reads from stale cached copies.
    stale_fallback: bool,
}

impl DataTier {
    pub(super) fn new(sc: &Scenario) -> Self {
        // Pool classes: shared tiers share class 0; each hybrid or
        // dedicated tier has its own.
        let mut classes = 1usize;
        let tier_class: Vec<u16> = sc
            .tiers
            .iter()
            .map(|t| {
                if t.isolation == Isolation::Shared {
                    0
                } else {
                    classes += 1;
                    (classes - 1) as u16
                }
            })
            .collect();
        // Database servers: the primary and its read replicas; each has its
        // own pools (shared pools: per class and server).
        let targets = 1 + sc
            .database
            .as_ref()
            .and_then(|d| d.replicas.as_ref())
            .map_or(0, |r| r.count as usize);
        let shared_pools = sc.pool.as_ref().is_some_and(|p| p.scope == PoolScope::Shared);
        let pools = match &sc.pool {
            Some(p) if shared_pools => (0..classes * targets)
                .map(|_| ConnectionPool::new(p.config.clone(), SimTime::ZERO))
                .collect(),
            _ => Vec::new(),
        };
        DataTier {
            db: sc
                .database
                .as_ref()
                .map(|d| Database::new(d.cores, d.max_connections, SimTime::ZERO)),
            replicas: replica_servers(sc),
            targets,
            replica_next: 0,
            tier_class,
            classes,
            shared_pools,
            pools,
            pool_slots: Vec::new(),
            breaker: sc.breakers.database.as_ref().map(|b| CircuitBreaker::new(b.config)),
            breaker_open: TimeIntegral::new(SimTime::ZERO),
            stale_fallback: sc
                .breakers
                .database
                .as_ref()
                .is_some_and(|b| b.fallback == Fallback::Stale),
        }
    }

    /// A new instance `id` using pool `classes`: with per-instance pools,
    /// its pools (one per class and server). Returns how many were added.
    pub(super) fn add_instance(&mut self, sc: &Scenario, id: u32, classes: &[u16], now: SimTime) -> usize {
        let Some(p) = sc.pool.as_ref().filter(|p| p.scope == PoolScope::Instance) else {
            return 0;
        };
        let before = self.pools.len();
        let t = self.targets;
        self.pool_slots.extend(std::iter::repeat_n(u32::MAX, self.classes * t));
        for &c in classes {
            for target in 0..t {
                self.pool_slots[(id as usize * self.classes + c as usize) * t + target] = self.pools.len() as u32;
                self.pools.push(ConnectionPool::new(p.config.clone(), now));
            }
        }
        self.pools.len() - before
    }

    /// Instance `id` is gone: its own pools close their connections.
    pub(super) fn remove_instance(&mut self, sc: &Scenario, id: u32, now: SimTime) {
        if !sc.pool.as_ref().is_some_and(|p| p.scope == PoolScope::Instance) {
            return;
        }
        let t = self.targets;
        for c in 0..self.classes {
            for target in 0..t {
                let slot = self.pool_slots[(id as usize * self.classes + c) * t + target];
                if slot != u32::MAX {
                    let open = self.pools[slot as usize].open();
                    if let Some(db) = server(&mut self.db, &mut self.replicas, target) {
                        db.closed(open);
                    }
                    self.pools[slot as usize].close_all(now);
                }
            }
        }
    }

    /// Every database server's query work is multiplied by `factor`
    /// (a database-slowdown fault; 1 ends it).
    pub(super) fn set_slowdown(&mut self, factor: f64) {
        for db in self.db.iter_mut().chain(self.replicas.iter_mut()) {
            db.slowdown = factor;
        }
    }

    /// The pool `r` uses for its call (to its `db_target`).
    pub(super) fn pool_index(&self, r: &Request, db_target: u8) -> usize {
        self.pool_of(r, db_target as usize)
    }

    /// The pool `r` would use to reach database server `target`.
    fn pool_of(&self, r: &Request, target: usize) -> usize {
        let class = self.tier_class[r.tier as usize] as usize;
        if self.shared_pools {
            class * self.targets + target
        } else {
            self.pool_slots[(r.instance as usize * self.classes + class) * self.targets + target] as usize
        }
    }

    /// The database server of `r`'s call: the primary unless its endpoint
    /// reads from replicas and there are some; then by the routing rule
    /// (least-connections counts the calls in progress in the pools this
    /// request would use, as a client-side router sees them).
    fn route(&mut self, sc: &Scenario, r: &Request) -> usize {
        let n = self.targets - 1;
        if n == 0 || r.background || sc.endpoints[r.endpoint as usize].db_route != DbRoute::Replica {
            return 0;
        }
        let routing = sc
            .database
            .as_ref()
            .and_then(|d| d.replicas.as_ref())
            .map(|x| x.routing);
        let pick = match routing {
            Some(ReplicaRouting::LeastConnections) => {
                let mut best = (u32::MAX, 0);
                for k in 0..n {
                    let i = (self.replica_next + k) % n;
                    let p = &self.pools[self.pool_of(r, i + 1)];
                    let load = p.in_use() + p.waiting() as u32;
                    if load < best.0 {
                        best = (load, i);
                    }
                }
                best.1
            }
            _ => self.replica_next % n,
        };
        self.replica_next = (pick + 1) % n;
        pick + 1
    }

    /// Periodic upkeep at each sample: dynamic pools close idle connections.
    pub(super) fn upkeep(&mut self, now: SimTime) {
        // Pools are laid out server by server (index mod servers).
        let t = self.targets;
        for (i, p) in self.pools.iter_mut().enumerate() {
            let closed = p.close_idle(now);
            if let Some(db) = server(&mut self.db, &mut self.replicas, i % t) {
                db.closed(closed);
            }
        }
    }

    /// Database server `target` (0 the primary).
    #[inline]
    pub(super) fn server(&mut self, target: u8) -> &mut Database {
        // Database work exists only with a [database]; targets come from
        // its replicas.
        server(&mut self.db, &mut self.replicas, target as usize).expect("database server")
    }
}

impl Service<'_> {
    /// A database server finished `req`'s query.
    pub(super) fn on_db_cpu_done(&mut self, sched: &mut Scheduler<Msg>, station: Station, req: ReqRef) {
        // A query cancelled by its timeout already left the database.
        let live = self.requests.get(req).is_some_and(|r| r.phase == Phase::Query);
        if !live {
            return;
        }
        match station {
            Station::Database => self.data.db.as_mut().expect("database").done_direct(sched.now()),
            Station::Replica(i) => self.data.replicas[i as usize].done_direct(sched.now()),
            Station::Instance(_) => unreachable!("instance CPU is routed to the fleet"),
        }
        self.query_done(sched, req);
    }

    /// A database server's processor-shared CPU ticked: finish the queries
    /// it completed.
    pub(super) fn on_db_cpu_tick(&mut self, sched: &mut Scheduler<Msg>, station: Station, gen: u32) {
        let mut done = std::mem::take(&mut self.done_buf);
        done.clear();
        match station {
            Station::Database => self.data.db.as_mut().expect("database").tick(sched, gen, &mut done),
            Station::Replica(i) => self.data.replicas[i as usize].tick(sched, gen, &mut done),
            Station::Instance(_) => unreachable!("instance CPU is routed to the fleet"),
        }
        for &r in &done {
            self.query_done(sched, r);
        }
        self.done_buf = done;
    }

    /// Ask the database breaker, then the pool for a connection.
    pub(super) fn start_db(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let (rm, cm) = self.requests.both_mut(req).expect("live request");
        // The database call starts now (its wait for a connection included).
        cm.wait_since = now;
        if !rm.background {
            if let Some((permit, change)) = self.data.breaker.as_mut().map(|b| b.try_call(now)) {
                if let Some(t) = change {
                    self.breaker_changed(now, true, t);
                }
                match permit {
                    Some(p) => self.requests.cold_mut(req).expect("live request").breaker_epoch = p.epoch,
                    None => return self.breaker_fallback(sched, req),
                }
            }
        }
        let r = *self.requests.get(req).expect("live request");
        let mut c = *self.requests.cold(req).expect("live request");
        if self.data.targets > 1 {
            c.db_target = self.data.route(self.sc, &r) as u8;
            self.requests.cold_mut(req).expect("live request").db_target = c.db_target;
            if !r.background {
                self.rec.db_server_call(c.db_target as usize, r.measured);
            }
        }
        let p = self.data.pool_index(&r, c.db_target);
        let cap = self.sc.tiers[r.tier as usize].max_connections.unwrap_or(u32::MAX);
        let can_open = self.data.server(c.db_target).can_open();
        match self.data.pools[p].acquire(now, req, r.tenant, cap, r.level, can_open) {
            Acquire::Granted(g) => {
                if !r.background {
                    self.rec.pool_wait(r.tier as usize, r.measured, SimTime::ZERO);
                    self.rec
                        .db_server_wait(c.db_target as usize, r.measured, SimTime::ZERO, false);
                }
                self.got_connection(sched, req, g);
            }
            Acquire::Waiting { tenant_capped } => {
                if tenant_capped && !r.background {
                    self.rec.tenant_cap_wait(r.tier as usize, r.measured);
                }
                let (rm, cm) = self.requests.both_mut(req).expect("live request");
                rm.phase = Phase::PoolWait;
                cm.wait_since = now;
                let timer = sched.schedule_in_fixed(self.data.pools[p].config().timeout, Msg::PoolTimeout { req });
                self.requests.cold_mut(req).expect("live request").phase_timer = timer;
            }
            Acquire::Refused => {
                self.db_result(now, &r, &c, true);
                self.finish(sched, req, Outcome::DbRefused)
            }
        }
    }

    /// The database breaker refused `req`'s call: a stale copy if the
    /// fallback allows and a cache level held one, else fail fast.
    pub(super) fn breaker_fallback(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = *self.requests.get(req).expect("live request");
        if self.data.stale_fallback && r.stale && self.sc.endpoints[r.endpoint as usize].cacheable {
            self.rec.stale_hit(r.tier as usize, r.measured);
            self.finish(sched, req, Outcome::Completed);
        } else {
            self.finish(sched, req, Outcome::BreakerOpen);
        }
    }

    /// `r`'s database call ended at `now`: tell the breaker. A call slower
    /// than the breaker's `slow_call` is a failure too.
    pub(super) fn db_result(&mut self, now: SimTime, r: &Request, c: &RequestCold, failed: bool) {
        if r.background {
            return;
        }
        let slow = self.sc.breakers.database.as_ref().and_then(|b| b.slow_call);
        let Some(b) = &mut self.data.breaker else { return };
        let failed = failed || slow.is_some_and(|s| now - c.wait_since > s);
        if let Some(t) = b.record(now, Permit { epoch: c.breaker_epoch }, failed) {
            self.breaker_changed(now, true, t);
        }
    }

    pub(super) fn got_connection(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, g: Grant) {
        let c = self.requests.cold(req).expect("live request");
        // The pool wait (if any) is over.
        sched.cancel(c.phase_timer);
        let target = c.db_target;
        if g.opened {
            self.data.server(target).opened();
        }
        let r = *self.requests.get(req).expect("live request");
        let p = self.data.pool_index(&r, target);
        self.peaks.pool_open = self.peaks.pool_open.max(self.data.pools[p].open());
        let held = self.data.pools[p].held_by(r.tenant);
        let peak = &mut self.peaks.tenant_connections[r.tier as usize];
        *peak = (*peak).max(held);
        let (r, c) = self.requests.both_mut(req).expect("live request");
        c.conn = g.conn;
        if g.delay > SimTime::ZERO {
            r.phase = Phase::Connecting;
            sched.schedule_in(g.delay, Msg::ConnReady { req });
        } else {
            self.start_query(sched, req);
        }
    }

    pub(super) fn start_query(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let (r, c) = self.requests.both_mut(req).expect("live request");
        r.phase = Phase::Query;
        c.queries += 1;
        c.query_since = sched.now();
        let (tier, q, target, inst) = (r.tier as usize, c.queries, c.db_target, r.instance as usize);
        match self
            .sc
            .host
            .as_ref()
            .map(|h| h.query_cpu)
            .filter(|c| *c > SimTime::ZERO)
        {
            // The database runs on the instance's host: its CPU for the
            // query first, shared with the instance's threads.
            Some(cpu) => {
                r.phase = Phase::HostQuery;
                self.fleet.instances[inst].run_host(sched, req, cpu);
            }
            None => {
                let work = self.query_work(req);
                self.data.server(target).begin(sched, req, work);
            }
        }
        if let Some(t) = self.sc.tiers[tier].query_timeout {
            let timer = sched.schedule_in_fixed(t, Msg::QueryTimeout { req, query: q });
            self.requests.cold_mut(req).expect("live request").phase_timer = timer;
        }
    }

    /// The work of `req`'s current query on its database server: drawn
    /// from a generator of the request's own (see Request::query_seed), so
    /// the same whenever it is asked; seeding xoshiro costs four SplitMix
    /// steps, no allocation.
    fn query_work(&self, req: ReqRef) -> SimTime {
        let r = self.requests.get(req).expect("live request");
        let c = self.requests.cold(req).expect("live request");
        let (e, q, target) = (r.endpoint as usize, c.queries, c.db_target);
        let mut rng = SimRng::seed_from_u64(c.query_seed ^ (q as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Endpoints with db_queries > 0 always have a query distribution.
        let work = self.sc.endpoints[e]
            .query
            .as_ref()
            .expect("query distribution")
            .sample(&mut rng);
        if target > 0 {
            // A replica's query work relative to the primary's.
            let f = self
                .sc
                .database
                .as_ref()
                .and_then(|d| d.replicas.as_ref())
                .map_or(1.0, |x| x.query_factor);
            SimTime::from_secs_f64(work.as_secs_f64() * f)
        } else {
            work
        }
    }

    /// The database's CPU for `req`'s query on the host is done: the
    /// query's own time on the database follows.
    pub(super) fn host_query_done(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let work = self.query_work(req);
        let (r, c) = self.requests.both_mut(req).expect("live request");
        r.phase = Phase::Query;
        let target = c.db_target;
        self.data.server(target).begin(sched, req, work);
    }

    /// A query's reply arrived. With `[host]` a thread must process it
    /// (`reply_cpu`) before the request goes on; the connection stays held
    /// meanwhile.
    pub(super) fn query_done(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = self.requests.get(req).expect("live request");
        if !r.background {
            let since = self.requests.cold(req).expect("live request").query_since;
            let (tier, measured, took) = (r.tier as usize, r.measured, sched.now() - since);
            self.rec.db_query(tier, measured, took);
        }
        if let Some(h) = &self.sc.host {
            let r = self.requests.get_mut(req).expect("live request");
            r.phase = Phase::Reply;
            let inst = r.instance as usize;
            return self.fleet.instances[inst].run_reply(sched, req, h.reply_cpu);
        }
        self.reply_done(sched, req);
    }

    /// `req`'s query reply has been processed: the next query, or give the
    /// connection back, fill or update the caches and finish.
    pub(super) fn reply_done(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = *self.requests.get(req).expect("live request");
        let c = *self.requests.cold(req).expect("live request");
        sched.cancel(c.phase_timer);
        let more = (c.queries as u32) < self.sc.endpoints[r.endpoint as usize].db_queries;
        if more {
            return self.start_query(sched, req);
        }
        self.db_result(sched.now(), &r, &c, false);
        self.release_connection(sched, &r, &c);
        let ep = &self.sc.endpoints[r.endpoint as usize];
        if ep.cacheable {
            self.cache_fill(&r, sched.now());
        } else if ep.write && !r.background && self.sc.cache.any() {
            let update = self.sc.cache.write_policy == Some(WritePolicy::WriteThrough);
            self.cache_write(&r, update, sched.now());
        }
        self.finish(sched, req, Outcome::Completed);
    }

    /// Give `r`'s connection back; a waiter may get it.
    pub(super) fn release_connection(&mut self, sched: &mut Scheduler<Msg>, r: &Request, c: &RequestCold) {
        let now = sched.now();
        let p = self.data.pool_index(r, c.db_target);
        let db = self.data.server(c.db_target);
        let can_open = db.can_open();
        let released = self.data.pools[p].release(now, c.conn, r.tenant, can_open);
        if released.closed {
            self.data.server(c.db_target).closed(1);
        }
        if let Some((next, grant)) = released.next {
            if let Some(w) = self.requests.get(next).filter(|w| !w.background) {
                let wc = self.requests.cold(next).expect("live request");
                let wait = now - wc.wait_since;
                let (tier, measured, target) = (w.tier as usize, w.measured, wc.db_target as usize);
                self.rec.pool_wait(tier, measured, wait);
                self.rec.db_server_wait(target, measured, wait, false);
            }
            self.got_connection(sched, next, grant);
        }
    }

    pub(super) fn on_pool_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        if r.phase != Phase::PoolWait {
            return;
        }
        let r = *r;
        let c = *self.requests.cold(req).expect("live request");
        let p = self.data.pool_index(&r, c.db_target);
        self.data.pools[p].cancel(sched.now(), req);
        let wait = sched.now() - c.wait_since;
        self.rec.pool_wait(r.tier as usize, r.measured, wait);
        if !r.background {
            self.rec.db_server_wait(c.db_target as usize, r.measured, wait, true);
        }
        self.db_result(sched.now(), &r, &c, true);
        self.finish(sched, req, Outcome::PoolTimeout);
    }

    pub(super) fn on_query_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, query: u16) {
        let Some(r) = self.requests.get(req) else { return };
        let c = *self.requests.cold(req).expect("live request");
        if !matches!(r.phase, Phase::HostQuery | Phase::Query) || c.queries != query {
            // A reply already being processed is not cut short.
            return;
        }
        let r = *r;
        if r.phase == Phase::HostQuery {
            self.fleet.instances[r.instance as usize].cancel_host(sched, req);
        } else {
            self.data.server(c.db_target).cancel(sched, req);
        }
        self.release_connection(sched, &r, &c);
        self.db_result(sched.now(), &r, &c, true);
        self.finish(sched, req, Outcome::QueryTimeout);
    }
}

/// Read replicas of the scenario's database, as database servers.
fn replica_servers(sc: &Scenario) -> Vec<Database> {
    let Some(r) = sc.database.as_ref().and_then(|d| d.replicas.as_ref()) else {
        return Vec::new();
    };
    (0..r.count)
        .map(|i| Database::at(Station::Replica(i), r.cores, r.max_connections, SimTime::ZERO))
        .collect()
}

/// Database server `target`: 0 the primary, i the replica i − 1.
#[inline]
fn server<'a>(db: &'a mut Option<Database>, replicas: &'a mut [Database], target: usize) -> Option<&'a mut Database> {
    if target == 0 {
        db.as_mut()
    } else {
        replicas.get_mut(target - 1)
    }
}
