//! The wiring of one replication: every actor, and the path of a request
//! through them (SPEC §3).
//!
//! Path: arrival → gateway (rate limit, tenant cap) → balancer → instance
//! (worker, FCFS queue, CPU) → for cacheable reads L1 → L2 → database; for
//! database work a connection from the pool, `db_queries` queries, release →
//! cache fill or invalidation → response. A failure anywhere ends the
//! request with its reason; the client may retry it (a retry is a new
//! arrival). The client may also give up (endpoint timeout) while the
//! server goes on: that work is counted as abandoned.

use super::balancer::Balancer;
use super::cache::{Cache, EvictionPolicy};
use super::database::Database;
use super::gateway::{Gateway, Refusal};
use super::instance::{Instance, Offer};
use super::pool::{Acquire, ConnectionPool, Grant, PoolConfig};
use super::request::{Phase, ReqRef, Request, Requests, NO_USER};
use super::workload::ArrivalGen;
use super::{Conservation, Msg, Station};
use crate::engine::{Model, RngStreams, Scheduler, SimRng, SimTime, StreamId};
use crate::metrics::{CacheEvent, GaugeAreas, Outcome, Recorder, TimeIntegral};
use crate::scenario::{Arrival, CacheLevel, CachePolicy, Jitter, PoolScope, Scenario, WritePolicy};
use rand::RngExt;
use rand_distr::Distribution;

struct WorkloadState {
    gen: ArrivalGen,
    arrivals: SimRng,
    tenant_pick: SimRng,
    mix_pick: SimRng,
    think: SimRng,
    keys: SimRng,
    zipf: Option<rand_distr::Zipf<f64>>,
    shared_keys: bool,
    first_tenant: u32,
    tenants: u32,
    tier: u16,
    next_rr: u32,
    users_per_tenant: u32,
    /// Recorded tenant/endpoint of the next trace arrival.
    pending: Option<crate::scenario::TraceEvent>,
}

fn new_cache(level: &CacheLevel) -> Cache {
    let policy = match level.policy {
        CachePolicy::Lru => EvictionPolicy::Lru,
        CachePolicy::Fifo => EvictionPolicy::Fifo,
        CachePolicy::Lfu => EvictionPolicy::Lfu,
        CachePolicy::None => EvictionPolicy::None,
    };
    Cache::new(level.capacity as usize, policy, level.ttl)
}

/// One replication of a scenario: all actors plus the recorder.
pub struct Service<'s> {
    sc: &'s Scenario,
    requests: Requests,
    gateway: Gateway,
    balancer: Balancer,
    instances: Vec<Instance>,
    l1: Vec<Cache>,
    l2: Option<Cache>,
    pools: Vec<ConnectionPool>,
    db: Option<Database>,
    workloads: Vec<WorkloadState>,
    cpu_rng: Vec<SimRng>,
    query_rng: Vec<SimRng>,
    latency_rng: SimRng,
    retry_rng: SimRng,
    pub rec: Recorder,
    in_system: TimeIntegral,
    ready: TimeIntegral,
    done_buf: Vec<ReqRef>,
    /// When the gauges were last cut.
    last_flush: SimTime,
    /// Write-behind flushes in progress (not client requests).
    background: u64,
    pub conservation: Conservation,
}

impl<'s> Service<'s> {
    /// Build the actors and schedule the first events.
    pub fn new(sc: &'s Scenario, replication: u32, sched: &mut Scheduler<Msg>) -> Self {
        let streams = RngStreams::new(sc.simulation.seed, replication as u64);
        let mut tenant_limits = Vec::with_capacity(sc.tenant_count() as usize);
        let mut workloads = Vec::with_capacity(sc.workloads.len());
        for (i, w) in sc.workloads.iter().enumerate() {
            let tier = &sc.tiers[w.tier];
            let first_tenant = tenant_limits.len() as u32;
            for _ in 0..w.tenants {
                tenant_limits.push((tier.rate_limit, tier.max_concurrency.unwrap_or(u32::MAX)));
            }
            let mut arrivals = streams.stream(StreamId::Arrivals(i as u32));
            let gen = ArrivalGen::new(&w.arrival, w.tenants, &mut arrivals);
            let users_per_tenant = match &w.arrival {
                Arrival::Closed { users, .. } => *users,
                _ => 0,
            };
            // Parameters were validated (items >= 1, 0 <= zipf <= 5).
            let zipf = w
                .keys
                .map(|k| rand_distr::Zipf::new(k.items as f64, k.zipf).expect("valid Zipf parameters"));
            workloads.push(WorkloadState {
                gen,
                arrivals,
                tenant_pick: streams.stream(StreamId::TenantChoice(i as u32)),
                mix_pick: streams.stream(StreamId::EndpointMix(i as u32)),
                think: streams.stream(StreamId::ThinkTime(i as u32)),
                keys: streams.stream(StreamId::CacheKeys(i as u32)),
                zipf,
                shared_keys: w.keys.is_some_and(|k| k.shared),
                first_tenant,
                tenants: w.tenants,
                tier: w.tier as u16,
                next_rr: 0,
                users_per_tenant,
                pending: None,
            });
        }
        let spec = &sc.instance;
        let mut balancer = Balancer::new(spec.load_balancer, streams.stream(StreamId::Balancer));
        let instances: Vec<Instance> = (0..spec.initial)
            .map(|id| Instance::new(id, spec, SimTime::ZERO))
            .collect();
        for i in &instances {
            balancer.add(i.id);
        }
        let l1 = match &sc.cache.l1 {
            Some(level) => instances.iter().map(|_| new_cache(level)).collect(),
            None => Vec::new(),
        };
        let pools = match &sc.pool {
            Some(p) => {
                let cfg = PoolConfig {
                    permanent: p.permanent,
                    limit: p.limit,
                    timeout: p.timeout,
                    recycle: p.recycle,
                    connect_time: p.connect_time,
                    idle_timeout: p.idle_timeout,
                };
                let n = if p.scope == PoolScope::Instance {
                    instances.len()
                } else {
                    1
                };
                (0..n)
                    .map(|_| ConnectionPool::new(cfg.clone(), SimTime::ZERO))
                    .collect()
            }
            None => Vec::new(),
        };
        let mut ready = TimeIntegral::new(SimTime::ZERO);
        ready.set(SimTime::ZERO, instances.len() as f64);
        let sim = &sc.simulation;
        let rows = (sim.duration.as_nanos() / sim.sample_interval.as_nanos()) as usize + 1;
        let mut svc = Service {
            sc,
            requests: Requests::with_capacity(1024),
            gateway: Gateway::new(tenant_limits),
            balancer,
            instances,
            l1,
            l2: sc.cache.l2.as_ref().map(new_cache),
            pools,
            db: sc
                .database
                .as_ref()
                .map(|d| Database::new(d.cores, d.max_connections, SimTime::ZERO)),
            workloads,
            cpu_rng: (0..sc.endpoints.len())
                .map(|e| streams.stream(StreamId::CpuDemand(e as u32)))
                .collect(),
            query_rng: (0..sc.endpoints.len())
                .map(|e| streams.stream(StreamId::QueryTime(e as u32)))
                .collect(),
            latency_rng: streams.stream(StreamId::Latency(0)),
            retry_rng: streams.stream(StreamId::Retry),
            rec: Recorder::new(sc.tiers.len(), sim.warmup, rows),
            in_system: TimeIntegral::new(SimTime::ZERO),
            ready,
            done_buf: Vec::with_capacity(64),
            last_flush: SimTime::ZERO,
            background: 0,
            conservation: Conservation::default(),
        };
        // First arrivals; closed users start after one think time each, so
        // they do not all fire at t = 0.
        for w in 0..svc.workloads.len() {
            let ws = &mut svc.workloads[w];
            if matches!(ws.gen, ArrivalGen::Closed) {
                let users = ws.tenants * ws.users_per_tenant;
                for u in 0..users {
                    let think = match &sc.workloads[w].arrival {
                        Arrival::Closed { think, .. } => think.sample(&mut ws.think),
                        _ => SimTime::ZERO,
                    };
                    sched.schedule_at(
                        think,
                        Msg::UserReady {
                            workload: w as u32,
                            user: u,
                        },
                    );
                }
            } else {
                svc.schedule_next_arrival(sched, w);
            }
        }
        if sim.warmup > SimTime::ZERO {
            sched.schedule_at(sim.warmup, Msg::WarmupEnd);
        }
        sched.schedule_at(sim.sample_interval, Msg::Sample);
        svc
    }

    // ----- arrivals -------------------------------------------------------

    fn schedule_next_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.workloads[w];
        if let Some((t, ev)) = ws.gen.next(sched.now(), &mut ws.arrivals) {
            ws.pending = ev;
            if t <= self.sc.simulation.duration {
                sched.schedule_at(t, Msg::Arrival { workload: w as u32 });
            }
        }
    }

    fn on_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.workloads[w];
        let pending = ws.pending.take();
        let local = match (pending.and_then(|e| e.tenant), &ws.gen) {
            (Some(t), _) => t,
            (None, ArrivalGen::Deterministic { .. }) => {
                let t = ws.next_rr;
                ws.next_rr = (ws.next_rr + 1) % ws.tenants;
                t
            }
            (None, _) if ws.tenants == 1 => 0,
            (None, _) => ws.tenant_pick.random_range(0..ws.tenants),
        };
        let tenant = ws.first_tenant + local;
        let endpoint = pending.and_then(|e| e.endpoint);
        self.schedule_next_arrival(sched, w);
        self.new_request(sched, w, tenant, endpoint, NO_USER, 0, None);
    }

    fn on_user_ready(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        let ws = &self.workloads[w];
        let tenant = ws.first_tenant + user / ws.users_per_tenant.max(1);
        self.new_request(sched, w, tenant, None, user, 0, None);
    }

    /// A closed-workload user got its final answer: think, then send the
    /// next request.
    fn user_next(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        if user == NO_USER {
            return;
        }
        if let Arrival::Closed { think, .. } = &self.sc.workloads[w].arrival {
            let d = think.sample(&mut self.workloads[w].think);
            let at = sched.now() + d;
            if at <= self.sc.simulation.duration {
                sched.schedule_at(
                    at,
                    Msg::UserReady {
                        workload: w as u32,
                        user,
                    },
                );
            }
        }
    }

    fn pick_endpoint(&mut self, w: usize) -> usize {
        let mix = &self.sc.workloads[w].mix;
        if mix.len() == 1 {
            return mix[0].0;
        }
        let u: f64 = self.workloads[w].mix_pick.random();
        mix.iter().find(|(_, c)| u < *c).unwrap_or(&mix[mix.len() - 1]).0
    }

    fn draw_key(&mut self, w: usize, tenant: u32) -> u64 {
        let ws = &mut self.workloads[w];
        let Some(z) = &ws.zipf else { return 0 };
        let k = z.sample(&mut ws.keys) as u64;
        if ws.shared_keys {
            k
        } else {
            ((tenant as u64) << 32) | k
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_request(
        &mut self,
        sched: &mut Scheduler<Msg>,
        w: usize,
        tenant: u32,
        endpoint: Option<usize>,
        user: u32,
        attempt: u8,
        key: Option<u64>,
    ) {
        let now = sched.now();
        let endpoint = endpoint.unwrap_or_else(|| self.pick_endpoint(w));
        // Drawn before admission so the sequences are the same whatever the
        // limits decide (common random numbers across configurations).
        let cpu = self.sc.endpoints[endpoint].cpu.sample(&mut self.cpu_rng[endpoint]);
        let key = match key {
            Some(k) => k,
            None => self.draw_key(w, tenant),
        };
        let tier = self.workloads[w].tier as usize;
        let measured = now >= self.rec.warmup();
        self.rec.arrival(tier, measured);
        self.conservation.arrived += 1;
        let mut req = Request {
            gen: 0,
            tenant,
            tier: tier as u16,
            workload: w as u16,
            endpoint: endpoint as u16,
            measured,
            client_gone: false,
            user,
            instance: 0,
            arrival: now,
            enqueued: now,
            cpu,
            key,
            phase: Phase::Cpu,
            attempt,
            background: false,
            hit: false,
            conn: 0,
            queries: 0,
            wait_since: now,
        };
        let refusal = match self.gateway.admit(now, tenant) {
            Ok(()) => None,
            Err(Refusal::RateLimited) => Some(Outcome::RateLimited),
            Err(Refusal::TenantLimit) => Some(Outcome::TenantLimit),
        };
        if let Some(o) = refusal {
            self.conservation.rejected += 1;
            return self.client_result(sched, &req, o, SimTime::ZERO);
        }
        let Some(inst) = self.balancer.pick() else {
            // No ready instance: the balancer has nowhere to send it.
            self.gateway.release(tenant);
            self.conservation.rejected += 1;
            return self.client_result(sched, &req, Outcome::QueueFull, SimTime::ZERO);
        };
        req.instance = inst;
        let r = self.requests.insert(req);
        match self.instances[inst as usize].offer(sched, r, cpu) {
            Offer::Started => self.rec.queue_wait(tier, measured, SimTime::ZERO),
            Offer::Queued => {}
            Offer::Full => {
                self.requests.remove(r);
                self.gateway.release(tenant);
                self.balancer.done(inst);
                self.conservation.rejected += 1;
                return self.client_result(sched, &req, Outcome::QueueFull, SimTime::ZERO);
            }
        }
        self.rec.admitted(measured);
        self.in_system.add(now, 1.0);
        if let Some(t) = self.sc.endpoints[endpoint].timeout {
            sched.schedule_in(t, Msg::ClientTimeout { req: r });
        }
    }

    /// The client learns the outcome of one attempt: record it, then retry
    /// or move on (closed users think, then send again).
    fn client_result(&mut self, sched: &mut Scheduler<Msg>, r: &Request, outcome: Outcome, latency: SimTime) {
        let tier = r.tier as usize;
        self.rec.outcome(tier, r.measured, outcome, latency);
        if outcome != Outcome::Completed {
            if let Some(rs) = &self.sc.retry {
                let on = &rs.on;
                let retryable = match outcome {
                    Outcome::Completed => false,
                    Outcome::RateLimited => on.rate_limited,
                    Outcome::TenantLimit => on.tenant_limit,
                    Outcome::QueueFull => on.queue_full,
                    Outcome::Timeout | Outcome::QueryTimeout => on.timeout,
                    Outcome::PoolTimeout => on.pool_timeout,
                    Outcome::DbRefused => on.db_refused,
                };
                if retryable && (r.attempt as u32) + 1 < rs.attempts {
                    // Exponential backoff: base × 2^attempt, capped, jittered.
                    let exp = rs.base.as_secs_f64() * 2f64.powi(r.attempt as i32);
                    let d = exp.min(rs.max.as_secs_f64());
                    let d = match rs.jitter {
                        Jitter::None => d,
                        Jitter::Full => d * self.retry_rng.random::<f64>(),
                        Jitter::Equal => d / 2.0 + d / 2.0 * self.retry_rng.random::<f64>(),
                    };
                    self.rec.retry(tier, sched.now() >= self.rec.warmup());
                    let at = sched.now() + SimTime::from_secs_f64(d);
                    if at <= self.sc.simulation.duration {
                        sched.schedule_at(
                            at,
                            Msg::Retry {
                                workload: r.workload,
                                endpoint: r.endpoint,
                                attempt: r.attempt + 1,
                                tenant: r.tenant,
                                user: r.user,
                                key: r.key,
                            },
                        );
                    }
                    return;
                }
            }
        }
        self.user_next(sched, r.workload as usize, r.user);
    }

    // ----- the server side ------------------------------------------------

    /// Give a freed worker of `inst` to the queued request `next`.
    fn start_queued(&mut self, sched: &mut Scheduler<Msg>, inst: usize, next: ReqRef) {
        // Queued handles are live: a request leaves the queue only here.
        let r = self.requests.get(next).expect("queued request is live");
        let wait = sched.now() - r.enqueued;
        let (tier, measured, cpu) = (r.tier as usize, r.measured, r.cpu);
        self.rec.queue_wait(tier, measured, wait);
        self.instances[inst].start(sched, next, cpu);
    }

    /// The CPU phase of `req` ended: caches, database, or respond.
    fn after_cpu(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        let ep = &self.sc.endpoints[r.endpoint as usize];
        if ep.cacheable && (self.l2.is_some() || !self.l1.is_empty()) {
            self.cache_lookup(sched, req, !self.l1.is_empty());
        } else if ep.write && self.sc.cache.write_policy == Some(WritePolicy::WriteBehind) && self.sc.cache.any() {
            // Write to the caches, answer, and flush to the database in the
            // background.
            let r = *r;
            self.cache_write(&r, true, sched.now());
            if ep.db_queries > 0 {
                let bg = self.requests.insert(Request {
                    background: true,
                    client_gone: true,
                    ..r
                });
                self.background += 1;
                self.start_db(sched, bg);
            }
            self.finish(sched, req, Outcome::Completed);
        } else if ep.db_queries > 0 {
            self.start_db(sched, req);
        } else {
            self.finish(sched, req, Outcome::Completed);
        }
    }

    /// Look `req`'s key up in L1 (`l1`) or L2 now; the answer arrives after
    /// that level's latency.
    fn cache_lookup(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, l1: bool) {
        let now = sched.now();
        let r = self.requests.get_mut(req).expect("live request");
        let (hit, latency) = if l1 {
            let level = self.sc.cache.l1.as_ref().expect("L1 configured");
            (
                self.l1[r.instance as usize].get(r.key, now),
                level.latency.sample(&mut self.latency_rng),
            )
        } else {
            let level = self.sc.cache.l2.as_ref().expect("L2 configured");
            (
                self.l2.as_mut().expect("L2 configured").get(r.key, now),
                level.latency.sample(&mut self.latency_rng),
            )
        };
        r.hit = hit;
        r.phase = if l1 { Phase::L1 } else { Phase::L2 };
        sched.schedule_in(latency, Msg::CacheStep { req });
    }

    fn on_cache_step(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        let (tier, measured, hit, phase, key, inst) =
            (r.tier as usize, r.measured, r.hit, r.phase, r.key, r.instance as usize);
        let db_queries = self.sc.endpoints[r.endpoint as usize].db_queries;
        match phase {
            Phase::L1 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L1Hit);
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L1 => {
                self.rec.cache(tier, measured, CacheEvent::L1Miss);
                if self.l2.is_some() {
                    self.cache_lookup(sched, req, false);
                } else {
                    self.read_miss(sched, req, db_queries);
                }
            }
            Phase::L2 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L2Hit);
                if let Some(l1) = self.l1.get_mut(inst) {
                    l1.insert(key, sched.now());
                }
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L2 => self.read_miss(sched, req, db_queries),
            _ => {}
        }
    }

    /// Every cache level missed: load from the database (then fill).
    fn read_miss(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, db_queries: u32) {
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

    fn cache_fill(&mut self, r: &Request, now: SimTime) {
        if let Some(l2) = &mut self.l2 {
            l2.insert(r.key, now);
        }
        if let Some(l1) = self.l1.get_mut(r.instance as usize) {
            l1.insert(r.key, now);
        }
    }

    /// A write's effect on the caches: update (write-through, write-behind)
    /// or invalidate (cache-aside). Other instances' L1 copies stay until
    /// their TTL, as in a real per-instance cache.
    fn cache_write(&mut self, r: &Request, update: bool, now: SimTime) {
        if update {
            self.cache_fill(r, now);
        } else {
            if let Some(l2) = &mut self.l2 {
                l2.invalidate(r.key);
            }
            if let Some(l1) = self.l1.get_mut(r.instance as usize) {
                l1.invalidate(r.key);
            }
        }
    }

    fn pool_index(&self, r: &Request) -> usize {
        if self.pools.len() == 1 {
            0
        } else {
            r.instance as usize
        }
    }

    /// Ask the pool for a connection.
    fn start_db(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let r = *self.requests.get(req).expect("live request");
        let p = self.pool_index(&r);
        let cap = self.sc.tiers[r.tier as usize].max_connections.unwrap_or(u32::MAX);
        let db = self.db.as_mut().expect("database work has a database");
        match self.pools[p].acquire(now, req, r.tenant, cap, db.can_open()) {
            Acquire::Granted(g) => {
                self.rec.pool_wait(r.tier as usize, r.measured, SimTime::ZERO);
                self.got_connection(sched, req, g);
            }
            Acquire::Waiting { tenant_capped } => {
                if tenant_capped {
                    self.rec.tenant_cap_wait(r.tier as usize, r.measured);
                }
                let rm = self.requests.get_mut(req).expect("live request");
                rm.phase = Phase::PoolWait;
                rm.wait_since = now;
                sched.schedule_in(self.pools[p].config().timeout, Msg::PoolTimeout { req });
            }
            Acquire::Refused => self.finish(sched, req, Outcome::DbRefused),
        }
    }

    fn got_connection(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, g: Grant) {
        if g.opened {
            self.db.as_mut().expect("database").opened();
        }
        let r = self.requests.get_mut(req).expect("live request");
        r.conn = g.conn;
        if g.delay > SimTime::ZERO {
            r.phase = Phase::Connecting;
            sched.schedule_in(g.delay, Msg::ConnReady { req });
        } else {
            self.start_query(sched, req);
        }
    }

    fn start_query(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = self.requests.get_mut(req).expect("live request");
        r.phase = Phase::Query;
        r.queries += 1;
        let (e, tier, q) = (r.endpoint as usize, r.tier as usize, r.queries);
        // Endpoints with db_queries > 0 always have a query distribution.
        let work = self.sc.endpoints[e]
            .query
            .as_ref()
            .expect("query distribution")
            .sample(&mut self.query_rng[e]);
        self.db.as_mut().expect("database").begin(sched, req, work);
        if let Some(t) = self.sc.tiers[tier].query_timeout {
            sched.schedule_in(t, Msg::QueryTimeout { req, query: q });
        }
    }

    fn query_done(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = self.requests.get(req).expect("live request");
        let more = (r.queries as u32) < self.sc.endpoints[r.endpoint as usize].db_queries;
        if more {
            return self.start_query(sched, req);
        }
        let r = *r;
        self.release_connection(sched, &r);
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
    fn release_connection(&mut self, sched: &mut Scheduler<Msg>, r: &Request) {
        let now = sched.now();
        let p = self.pool_index(r);
        let db = self.db.as_mut().expect("database");
        let released = self.pools[p].release(now, r.conn, r.tenant, db.can_open());
        if released.closed {
            db.closed(1);
        }
        if let Some((next, grant)) = released.next {
            if let Some(w) = self.requests.get(next) {
                let wait = now - w.wait_since;
                self.rec.pool_wait(w.tier as usize, w.measured, wait);
            }
            self.got_connection(sched, next, grant);
        }
    }

    /// The server is done with `req`: free its worker (the next queued
    /// request gets it), release its gateway slot, and answer the client
    /// unless it has gone.
    fn finish(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, outcome: Outcome) {
        let now = sched.now();
        let Some(r) = self.requests.get(req) else { return };
        let r = *r;
        self.requests.remove(req);
        if r.background {
            self.background -= 1;
            return;
        }
        let inst = r.instance as usize;
        if let Some(n) = self.instances[inst].free_worker(now) {
            self.start_queued(sched, inst, n);
        }
        self.gateway.release(r.tenant);
        self.balancer.done(r.instance);
        self.in_system.add(now, -1.0);
        self.conservation.server_done += 1;
        let latency = now - r.arrival;
        self.rec.server_done(r.measured, latency);
        if r.client_gone {
            self.rec.abandoned(r.tier as usize, r.measured);
        } else {
            self.client_result(sched, &r, outcome, latency);
        }
    }

    fn on_client_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let Some(r) = self.requests.get_mut(req) else { return };
        if r.client_gone {
            return;
        }
        r.client_gone = true;
        let r = *r;
        self.client_result(sched, &r, Outcome::Timeout, now - r.arrival);
    }

    fn on_pool_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        if r.phase != Phase::PoolWait {
            return;
        }
        let r = *r;
        let p = self.pool_index(&r);
        self.pools[p].cancel(sched.now(), req);
        self.rec
            .pool_wait(r.tier as usize, r.measured, sched.now() - r.wait_since);
        self.finish(sched, req, Outcome::PoolTimeout);
    }

    fn on_query_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, query: u16) {
        let Some(r) = self.requests.get(req) else { return };
        if r.phase != Phase::Query || r.queries != query {
            return;
        }
        let r = *r;
        self.db.as_mut().expect("database").cancel(sched, req);
        self.release_connection(sched, &r);
        self.finish(sched, req, Outcome::QueryTimeout);
    }

    // ----- measurement ----------------------------------------------------

    /// Cut the gauges' integrals at `now` and hand them to the recorder.
    fn flush_gauges(&mut self, now: SimTime) {
        let mut a = GaugeAreas::default();
        for i in &mut self.instances {
            a.busy_cores += i.busy.take(now);
            a.memory += i.memory.take(now);
        }
        a.instances = self.ready.take(now);
        a.cores = a.instances * self.sc.instance.cores as f64;
        a.in_system = self.in_system.take(now);
        let dt = now.saturating_sub(self.last_flush).as_secs_f64();
        self.last_flush = now;
        for p in &mut self.pools {
            a.pool_in_use += p.in_use_gauge.take(now);
            a.pool_waiting += p.waiting_gauge.take(now);
            a.pool_capacity += p.config().limit as f64 * dt;
        }
        if let Some(db) = &mut self.db {
            a.db_busy = db.busy.take(now);
            a.db_cores = db.cores() as f64 * dt;
        }
        let ready = self.balancer.ready_count() as u32;
        self.rec.gauges(now, a, ready);
    }

    /// Periodic upkeep at each sample: dynamic pools close idle connections.
    fn upkeep(&mut self, now: SimTime) {
        if let Some(db) = &mut self.db {
            for p in &mut self.pools {
                let closed = p.close_idle(now);
                db.closed(closed);
            }
        }
    }

    /// Called once after the last event: closes the last (partial) interval.
    pub fn finish_run(&mut self, end: SimTime) {
        self.flush_gauges(end);
        if self
            .rec
            .rows
            .last()
            .is_none_or(|r| SimTime::from_secs_f64(r.time_s) < end)
        {
            let n = self.balancer.ready_count() as u32;
            self.rec.sample(end, n, n);
        }
        // Background flushes are not requests anyone sent.
        self.conservation.in_flight = self.requests.live() as u64 - self.background;
    }
}

impl Model for Service<'_> {
    type Msg = Msg;

    #[inline]
    fn handle(&mut self, sched: &mut Scheduler<Msg>, msg: Msg) {
        match msg {
            Msg::Arrival { workload } => self.on_arrival(sched, workload as usize),
            Msg::UserReady { workload, user } => self.on_user_ready(sched, workload as usize, user),
            Msg::Retry {
                workload,
                endpoint,
                attempt,
                tenant,
                user,
                key,
            } => self.new_request(
                sched,
                workload as usize,
                tenant,
                Some(endpoint as usize),
                user,
                attempt,
                Some(key),
            ),
            Msg::CpuDone {
                station: Station::Instance(i),
                req,
            } => {
                self.instances[i as usize].cpu_done(sched.now());
                self.after_cpu(sched, req);
            }
            Msg::CpuTick {
                station: Station::Instance(i),
                gen,
            } => {
                let mut done = std::mem::take(&mut self.done_buf);
                done.clear();
                self.instances[i as usize].cpu_tick(sched, gen, &mut done);
                for &r in &done {
                    self.after_cpu(sched, r);
                }
                self.done_buf = done;
            }
            Msg::CpuDone {
                station: Station::Database,
                req,
            } => {
                // A query cancelled by its timeout already left the database.
                let live = self.requests.get(req).is_some_and(|r| r.phase == Phase::Query);
                if live {
                    self.db.as_mut().expect("database").done_direct(sched.now());
                    self.query_done(sched, req);
                }
            }
            Msg::CpuTick {
                station: Station::Database,
                gen,
            } => {
                let mut done = std::mem::take(&mut self.done_buf);
                done.clear();
                self.db.as_mut().expect("database").tick(sched, gen, &mut done);
                for &r in &done {
                    self.query_done(sched, r);
                }
                self.done_buf = done;
            }
            Msg::CacheStep { req } => self.on_cache_step(sched, req),
            Msg::ConnReady { req } => {
                if self.requests.get(req).is_some_and(|r| r.phase == Phase::Connecting) {
                    self.start_query(sched, req);
                }
            }
            Msg::PoolTimeout { req } => self.on_pool_timeout(sched, req),
            Msg::QueryTimeout { req, query } => self.on_query_timeout(sched, req, query),
            Msg::ClientTimeout { req } => self.on_client_timeout(sched, req),
            Msg::Sample => {
                let now = sched.now();
                self.flush_gauges(now);
                self.upkeep(now);
                let n = self.balancer.ready_count() as u32;
                self.rec.sample(now, n, n);
                let next = now + self.sc.simulation.sample_interval;
                if next <= self.sc.simulation.duration {
                    sched.schedule_at(next, Msg::Sample);
                }
            }
            Msg::WarmupEnd => self.flush_gauges(sched.now()),
        }
    }
}
