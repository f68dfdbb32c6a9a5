//! The wiring of one replication: every actor, and the path of a request
//! through them (SPEC §3).
//!
//! Path: arrival → gateway (rate limit, tenant cap) → the balancer of the
//! tenant's instance group → instance (worker, queue, CPU) → for cacheable
//! reads L1 → L2 → database; for database work a connection from the pool,
//! `db_queries` queries, release → cache fill or invalidation → response. A
//! failure anywhere ends the request with its reason; the client may retry
//! it (a retry is a new arrival). The client may also give up (endpoint
//! timeout) while the server goes on: that work is counted as abandoned.
//!
//! Circuit breakers sit in front of the database (checked when a request
//! asks the pool for a connection; a call is the connection plus the
//! request's queries) and the L2 (checked per lookup). An open database
//! breaker fails the request at once, or answers a read from an expired
//! cached copy (`stale`); an open L2 breaker sends the read past the L2.
//!
//! Request stages run once a request has a worker, before its endpoint's
//! own CPU: each stage's CPU (a share of the cores), then its wait (the
//! worker only), then its failure draw, all drawn per request. With
//! `[memory]`, instance memory (base + requests + L1 entries) is a limit:
//! past it at an admission or a monitor check the instance is OOM-killed
//! and replaced; the monitor's actions (shrink the L1, shed, restart) run
//! at their thresholds. Background task runs (CPU holding no worker) and
//! stop-the-world pauses are scheduled per instance from its own stream.
//!
//! Sessions (`[sessions]`) connect to a ready instance of their group under
//! its cap, hold memory there, and send messages: jobs that queue for a
//! worker and use CPU on that instance beside requests, outside the
//! request path and its counts. An instance that stops serving drops its
//! sessions; each client reconnects after the reconnect delay, backing off
//! after refusals. Memory actions may prune sessions or run an emergency GC
//! (a pause that frees the instance's garbage).
//!
//! Instances live in groups: the shared group, and one per `dedicated`
//! tier. Each group has its own balancer, desired count and autoscaler.
//! Instances start (`startup`, cold L1), serve, drain on scale-in, and may
//! fail (faults); instance-hours accrue from start request to removal.
//!
//! # How the code is cut
//!
//! [`Service`] holds the parts, each a struct owning its own state, and
//! the wiring: it routes every [`Msg`] to the part that handles it and
//! carries a request from part to part. Parts never call each other; a
//! step that needs two parts (a cache fill that changes an instance's
//! memory) is a `Service` method in the file of the part it is about.
//!
//! - [`clients`]: the workloads' arrivals, closed users, ramps, keys,
//!   addresses, and client retries.
//! - [`limits`]: the `[[rate_limit]]` counters and the shared store.
//! - [`request_path`]: admission, the worker queue, stages, CPU, the end of
//!   a request and its accounting (the per-endpoint draws live here).
//! - [`caches`]: L1 per instance, L2, L3, the cache breaker.
//! - [`data`]: connection pools, the database and its replicas, routing,
//!   the database breaker.
//! - [`fleet`]: instance groups and the instance lifecycle (launch, ready,
//!   drain, stop), background runs and pauses, desired counts.
//! - [`faults`]: scheduled faults and random crashes.
//! - [`memory`]: memory pressure (no state of its own: a policy over the
//!   instances, their L1s and their sessions).
//! - [`sessions`]: long-lived sessions and their messages.
//! - Autoscaling lives in [`crate::autoscaler`]: the policies, their
//!   factory and the observation windows ([`Scaling`]).
//!
//! Must not: allocate per event or box messages (the loop stays
//! monomorphic), or change the order of random draws or of scheduled
//! events — results are bit-identical run to run and across refactors
//! (`scripts/compare-summaries.sh` checks it).

mod caches;
mod clients;
mod data;
mod faults;
mod fleet;
mod limits;
mod memory;
mod request_path;
mod sessions;

use super::autoscaler::Scaling;
use super::gateway::Gateway;
use super::request::{Job, Phase, ReqRef, Requests};
use super::session::SessionRef;
use super::{Conservation, Msg, Peaks, Station};
use crate::metrics::{GaugeAreas, Recorder, TimeIntegral};
use crate::spec::{Isolation, Scenario};
use caches::CacheTier;
use clients::Clients;
use data::DataTier;
use faults::Faults;
use fleet::Fleet;
use limits::RateLimits;
use request_path::EndpointDraws;
use sessions::Sessions;
use tenantsim_engine::{Model, RngStreams, Scheduler, SimTime};

/// One replication of a scenario: all actors plus the recorder.
pub struct Service<'s> {
    sc: &'s Scenario,
    /// Requests in flight (and session jobs, write-behind flushes).
    requests: Requests,
    gateway: Gateway,
    clients: Clients,
    limits: RateLimits,
    draws: EndpointDraws,
    caches: CacheTier,
    data: DataTier,
    fleet: Fleet,
    /// Per group: requests held because no instance was ready
    /// (`instance.none_ready = "wait"`), oldest first.
    held: Vec<std::collections::VecDeque<(crate::request::Request, crate::request::RequestCold)>>,
    faults: Faults,
    sessions: Sessions,
    scaling: Scaling,
    /// Priority level of each tier (0 first).
    tier_level: Vec<u8>,
    pub rec: Recorder,
    in_system: TimeIntegral,
    /// Scratch for the requests a CPU tick completes (no allocation per
    /// event).
    done_buf: Vec<ReqRef>,
    /// When the gauges were last cut.
    last_flush: SimTime,
    /// Write-behind flushes in progress (not client requests).
    background: u64,
    pub conservation: Conservation,
    /// The same accounting per tier.
    pub tier_conservation: Vec<Conservation>,
    /// High-water marks for cap checks.
    pub peaks: Peaks,
}

/// Priority level of each tier (distinct tier priorities, highest first)
/// and the number of levels.
fn priority_levels(sc: &Scenario) -> (Vec<u8>, usize) {
    let mut prios: Vec<i64> = sc.tiers.iter().map(|t| t.priority).collect();
    prios.sort_unstable_by(|a, b| b.cmp(a));
    prios.dedup();
    let tier_level = sc
        .tiers
        .iter()
        .map(|t| prios.iter().position(|p| *p == t.priority).unwrap_or(0) as u8)
        .collect();
    (tier_level, prios.len())
}

impl<'s> Service<'s> {
    /// Build the actors and schedule the first events.
    pub fn new(sc: &'s Scenario, replication: u32, sched: &mut Scheduler<Msg>) -> Self {
        let streams = RngStreams::new(sc.simulation.seed, replication as u64);
        let (tier_level, levels) = priority_levels(sc);
        let data = DataTier::new(sc);
        let fleet = Fleet::new(sc, streams, &data.tier_class, levels);
        let groups = fleet.groups.len();
        let sim = &sc.simulation;
        let rows = (sim.duration.as_nanos() / sim.sample_interval.as_nanos()) as usize + 1;
        let mut svc = Service {
            sc,
            requests: Requests::with_capacity(1024),
            gateway: Gateway::new(clients::tenant_limits(sc)),
            clients: Clients::new(sc, &streams),
            limits: RateLimits::new(sc, &streams),
            draws: EndpointDraws::new(sc, &streams),
            caches: CacheTier::new(sc, &streams),
            scaling: Scaling::new(sc.autoscaler.as_ref(), groups, data.pools.len(), sc.instance.startup),
            data,
            held: vec![Default::default(); groups],
            fleet,
            faults: Faults::new(&streams),
            sessions: Sessions::new(sc, &streams, groups),
            tier_level,
            rec: Recorder::new(sc.tiers.len(), sim.warmup, rows),
            in_system: TimeIntegral::new(SimTime::ZERO),
            done_buf: Vec::with_capacity(64),
            last_flush: SimTime::ZERO,
            background: 0,
            conservation: Conservation::default(),
            tier_conservation: vec![Conservation::default(); sc.tiers.len()],
            peaks: Peaks {
                tenant_in_flight: vec![0; sc.tiers.len()],
                tenant_connections: vec![0; sc.tiers.len()],
                ..Peaks::default()
            },
        };
        svc.rec.init_stages(sc.endpoints.iter().map(|e| e.stages.len()).sum());
        let targets = svc.data.targets;
        svc.rec
            .init_data_tier(sc.rate_limits.len(), if targets > 1 { targets } else { 0 });
        svc.start(sched);
        svc
    }

    /// The first events, in a fixed order: initial instances (ready at
    /// time zero) and autoscaler ticks, the clients, faults, warm-up end,
    /// memory checks, sessions, the first sample.
    fn start(&mut self, sched: &mut Scheduler<Msg>) {
        let sc = self.sc;
        let sim = &sc.simulation;
        self.peaks.desired_min = self.fleet.groups.iter().map(|g| g.desired).collect();
        self.peaks.desired_max = self.peaks.desired_min.clone();
        for g in 0..self.fleet.groups.len() {
            for _ in 0..self.fleet.groups[g].desired {
                let id = self.launch(sched, g);
                self.make_ready(id, SimTime::ZERO);
            }
            if let Some(a) = &self.scaling.groups[g].autoscaler {
                sched.schedule_at(a.interval, Msg::Autoscale { group: g as u16 });
            }
        }
        if self.scaling.pipeline.is_some() {
            sched.schedule_at(SimTime::ZERO, Msg::MetricsScrape);
        }
        self.start_clients(sched);
        for (i, f) in sc.faults.iter().enumerate() {
            sched.schedule_at(f.at, Msg::FaultStart { index: i as u16 });
        }
        if sim.warmup > SimTime::ZERO {
            sched.schedule_at(sim.warmup, Msg::WarmupEnd);
        }
        if let Some(m) = &sc.memory {
            sched.schedule_at(m.check_interval, Msg::MemoryCheck);
        }
        if sc.sessions.is_some() {
            self.start_sessions(sched);
        }
        sched.schedule_at(sim.sample_interval, Msg::Sample);
    }

    /// A sample is due: cut the gauges, let pools close idle connections,
    /// record a row, schedule the next sample.
    fn on_sample(&mut self, sched: &mut Scheduler<Msg>) {
        let now = sched.now();
        self.flush_gauges(now);
        self.data.upkeep(now);
        let n = self.fleet.ready.value() as u32;
        let d = self.desired_total();
        let s = self.sessions.max_now(self.fleet.instances.len());
        self.rec.sample_with_sessions(now, n, d, s);
        let next = now + self.sc.simulation.sample_interval;
        if next <= self.sc.simulation.duration {
            sched.schedule_at(next, Msg::Sample);
        }
    }

    /// Cut the gauges' integrals at `now` and hand them to the recorder.
    fn flush_gauges(&mut self, now: SimTime) {
        let mut a = GaugeAreas::default();
        for i in &mut self.fleet.instances {
            a.busy_cores += i.busy.take(now);
            // Zero unless serving (see Instance::report_memory).
            a.memory += i.memory.take(now);
        }
        a.instances = self.fleet.ready.take(now);
        a.serving = self.fleet.serving.take(now);
        a.cores = a.serving * self.sc.instance.cores as f64;
        a.alive = self.fleet.alive.take(now);
        a.in_system = self.in_system.take(now);
        let dt = now.saturating_sub(self.last_flush).as_secs_f64();
        self.last_flush = now;
        for p in self.data.pools.iter_mut() {
            a.pool_in_use += p.in_use_gauge.take(now);
            a.pool_waiting += p.waiting_gauge.take(now);
            a.pool_capacity += p.capacity_gauge.take(now);
        }
        if let Some(db) = &mut self.data.db {
            a.db_busy = db.busy.take(now);
            a.db_cores = db.cores() as f64 * dt;
            if self.data.targets > 1 {
                self.rec.db_server_areas(now, 0, a.db_busy, a.db_cores);
            }
        }
        for (i, db) in self.data.replicas.iter_mut().enumerate() {
            let (busy, cores) = (db.busy.take(now), db.cores() as f64 * dt);
            a.replica_busy += busy;
            a.replica_cores += cores;
            self.rec.db_server_areas(now, i + 1, busy, cores);
        }
        a.db_breaker_open = self.data.breaker_open.take(now);
        a.cache_breaker_open = self.caches.breaker_open.take(now);
        a.sessions = self.sessions.open.take(now);
        let ready = self.fleet.ready.value() as u32;
        self.rec.gauges(now, a, ready);
    }

    fn desired_total(&self) -> u32 {
        self.fleet.groups.iter().map(|g| g.desired).sum()
    }

    /// Qualified names (`endpoint.stage`) of all request stages, in the
    /// recorder's order.
    pub fn stage_names(&self) -> Vec<String> {
        self.sc
            .endpoints
            .iter()
            .flat_map(|e| e.stages.iter().map(move |s| format!("{}.{}", e.name, s.name)))
            .collect()
    }

    /// Names of the instance groups: "shared", or the dedicated tier's name.
    pub fn group_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.sc.tiers.iter().any(|t| t.isolation != Isolation::Dedicated) {
            names.push("shared".to_string());
        }
        names.extend(
            self.sc
                .tiers
                .iter()
                .filter(|t| t.isolation == Isolation::Dedicated)
                .map(|t| t.name.clone()),
        );
        names
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
            let n = self.fleet.ready.value() as u32;
            let s = self.sessions.max_now(self.fleet.instances.len());
            self.rec.sample_with_sessions(end, n, self.desired_total(), s);
        }
        if let Some(t) = &self.sessions.table {
            self.rec.sessions_max_per_instance = t.max_per_instance;
        }
        // Background flushes and session work are not requests anyone sent.
        // Held requests (no instance ready) are in flight too.
        let held = self.held.iter().flatten();
        self.conservation.in_flight =
            self.requests.live() as u64 - self.background - self.sessions.jobs_live + held.clone().count() as u64;
        for c in &mut self.tier_conservation {
            c.in_flight = 0;
        }
        for (r, _) in held {
            self.tier_conservation[r.tier as usize].in_flight += 1;
        }
        for r in self.requests.find(|r| !r.background && r.job == Job::Request) {
            let tier = self.requests.get(r).expect("live request").tier as usize;
            self.tier_conservation[tier].in_flight += 1;
        }
        self.caches.peaks(&mut self.peaks);
        if let Some(db) = &self.data.db {
            self.peaks.db_open = db.peak_connections();
        }
        self.peaks.replica_open = self
            .data
            .replicas
            .iter()
            .map(|r| r.peak_connections())
            .max()
            .unwrap_or(0);
        if let Some(t) = &self.sessions.table {
            self.peaks.sessions_per_instance = t.max_per_instance;
        }
    }

    /// A breaker changed state (`db`: the database's, else the L2's):
    /// its not-closed time integral and the recorder's event list.
    fn breaker_changed(&mut self, now: SimTime, db: bool, t: super::breaker::Transition) {
        let not_closed = if t.to == super::breaker::BreakerState::Closed {
            0.0
        } else {
            1.0
        };
        let (integral, name) = if db {
            (&mut self.data.breaker_open, "database")
        } else {
            (&mut self.caches.breaker_open, "cache")
        };
        integral.set(now, not_closed);
        self.rec.breaker_event(now, name, t.from.name(), t.to.name());
    }
}

impl Model for Service<'_> {
    type Msg = Msg;

    /// Route each message to the part that handles it.
    #[inline]
    fn handle(&mut self, sched: &mut Scheduler<Msg>, msg: Msg) {
        match msg {
            Msg::Arrival { workload } => self.on_arrival(sched, workload as usize),
            Msg::UserReady { workload, user } => self.on_user_ready(sched, workload as usize, user),
            Msg::Ramp { workload } => self.on_ramp(sched, workload as usize),
            Msg::Retry {
                workload,
                endpoint,
                attempt,
                tenant,
                user,
                key,
                ip,
            } => self.on_retry(sched, workload, endpoint, attempt, tenant, user, key, ip),
            Msg::LimiterReply { req } => self.on_limiter_reply(sched, req),
            Msg::CpuDone {
                station: Station::Instance(i),
                req,
            } => self.on_instance_cpu_done(sched, i, req),
            Msg::CpuTick {
                station: Station::Instance(i),
                gen,
            } => self.on_instance_cpu_tick(sched, i, gen),
            Msg::CpuDone { station, req } => self.on_db_cpu_done(sched, station, req),
            Msg::CpuTick { station, gen } => self.on_db_cpu_tick(sched, station, gen),
            Msg::StageWait { req } => {
                if self.requests.get(req).is_some_and(|r| r.phase == Phase::Wait) {
                    self.stage_end(sched, req);
                }
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
            Msg::InstanceReady { instance } => {
                self.make_ready(instance, sched.now());
                let g = self.fleet.instances[instance as usize].group as usize;
                self.release_held(sched, g);
            }
            Msg::DrainTimeout { instance } => self.on_drain_timeout(sched, instance),
            Msg::Autoscale { group } => self.on_autoscale(sched, group as usize),
            Msg::MetricsScrape => self.on_metrics_scrape(sched),
            Msg::Replace { group } => self.on_replace(sched, group as usize),
            Msg::Crash { instance } => self.on_crash(sched, instance),
            Msg::FaultStart { index } => self.on_fault_start(sched, index as usize),
            Msg::FaultEnd { index } => self.on_fault_end(index as usize),
            Msg::Sample => self.on_sample(sched),
            Msg::WarmupEnd => self.flush_gauges(sched.now()),
            Msg::MemoryCheck => self.on_memory_check(sched),
            Msg::Background { instance, task } => self.on_background(sched, instance, task as usize),
            Msg::PauseStart { instance } => self.on_pause_start(sched, instance),
            Msg::PauseEnd { instance } => self.on_pause_end(sched, instance),
            Msg::GcEnd { instance } => self.on_gc_end(sched, instance),
            Msg::SessionArrival { workload } => self.on_session_arrival(sched, workload as usize),
            Msg::SessionConnect { session, gen } => self.try_connect(sched, SessionRef { idx: session, gen }, true),
            Msg::SessionClose { session, gen } => self.on_session_close(sched, SessionRef { idx: session, gen }),
            Msg::SessionMessage { instance, gen } => self.on_session_message(sched, instance, gen),
        }
    }

    fn sender(&self, msg: &Msg) -> &'static str {
        msg.sender()
    }
}
