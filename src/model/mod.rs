//! The service model: the actors a request goes through (SPEC §3) and the
//! wiring between them.
//!
//! Actors — [`workload`] (tenants and their arrivals), [`gateway`] (rate
//! limits and tenant caps), [`balancer`], [`instance`] — each own their
//! state and are driven only by messages ([`Msg`]) and by the calls the
//! [`Service`] makes when a message reaches them. A hop that takes no
//! simulated time (gateway → balancer → instance) is a direct call in a
//! fixed order rather than a queued event: the outcome is the same and
//! deterministic, and a request costs two events (arrival, completion)
//! instead of five.

pub mod balancer;
pub mod cpu;
pub mod gateway;
pub mod instance;
pub mod request;
pub mod workload;

use crate::engine::{Model, RngStreams, Scheduler, SimRng, SimTime, StreamId};
use crate::metrics::GaugeAreas;
use crate::metrics::{Outcome, Recorder, TimeIntegral};
use crate::scenario::{Arrival, Scenario};
use balancer::Balancer;
use gateway::{Gateway, Refusal};
use instance::{Instance, Offer};
use rand::RngExt;
use request::{ReqRef, Request, Requests, NO_USER};
use workload::ArrivalGen;

/// A place where CPU work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Station {
    Instance(u32),
    Database,
}

/// Every message the service's actors exchange. Small and `Copy`, so the
/// event queue moves plain values.
#[derive(Clone, Copy, Debug)]
pub enum Msg {
    /// The next request of an open workload arrives.
    Arrival { workload: u32 },
    /// A closed-workload user finished thinking and sends a request.
    UserReady { workload: u32, user: u32 },
    /// A job's CPU work finished (station without CPU sharing).
    CpuDone { station: Station, req: ReqRef },
    /// The earliest CPU completion under processor sharing (stale unless
    /// `gen` is the station's current generation).
    CpuTick { station: Station, gen: u32 },
    /// The client's patience ran out.
    ClientTimeout { req: ReqRef },
    /// Close a time-series interval.
    Sample,
    /// The warm-up period ends.
    WarmupEnd,
}

struct WorkloadState {
    gen: ArrivalGen,
    arrivals: SimRng,
    tenant_pick: SimRng,
    mix_pick: SimRng,
    think: SimRng,
    first_tenant: u32,
    tenants: u32,
    tier: u16,
    next_rr: u32,
    users_per_tenant: u32,
    /// Recorded tenant/endpoint of the next trace arrival.
    pending: Option<crate::scenario::TraceEvent>,
}

/// Server-side request accounting for conservation checks (whole run,
/// warm-up included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conservation {
    pub arrived: u64,
    pub rejected: u64,
    pub server_done: u64,
    pub in_flight: u64,
}

/// One replication of a scenario: all actors plus the recorder.
pub struct Service<'s> {
    sc: &'s Scenario,
    requests: Requests,
    gateway: Gateway,
    balancer: Balancer,
    instances: Vec<Instance>,
    workloads: Vec<WorkloadState>,
    cpu_rng: Vec<SimRng>,
    pub rec: Recorder,
    in_system: TimeIntegral,
    ready: TimeIntegral,
    done_buf: Vec<ReqRef>,
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
            workloads.push(WorkloadState {
                gen,
                arrivals,
                tenant_pick: streams.stream(StreamId::TenantChoice(i as u32)),
                mix_pick: streams.stream(StreamId::EndpointMix(i as u32)),
                think: streams.stream(StreamId::ThinkTime(i as u32)),
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
            workloads,
            cpu_rng: (0..sc.endpoints.len())
                .map(|e| streams.stream(StreamId::CpuDemand(e as u32)))
                .collect(),
            rec: Recorder::new(sc.tiers.len(), sim.warmup, rows),
            in_system: TimeIntegral::new(SimTime::ZERO),
            ready,
            done_buf: Vec::with_capacity(64),
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
        self.new_request(sched, w, tenant, endpoint, NO_USER);
    }

    fn on_user_ready(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        let ws = &self.workloads[w];
        let tenant = ws.first_tenant + user / ws.users_per_tenant.max(1);
        self.new_request(sched, w, tenant, None, user);
    }

    /// A closed-workload user got an answer (or gave up): think, then send
    /// the next request.
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
        mix.iter()
            .find(|(_, c)| u < *c)
            .unwrap_or(&mix[mix.len() - 1])
            .0
    }

    fn new_request(
        &mut self,
        sched: &mut Scheduler<Msg>,
        w: usize,
        tenant: u32,
        endpoint: Option<usize>,
        user: u32,
    ) {
        let now = sched.now();
        let endpoint = endpoint.unwrap_or_else(|| self.pick_endpoint(w));
        // Drawn before admission so the sequence is the same whatever the
        // limits decide (common random numbers across configurations).
        let cpu = self.sc.endpoints[endpoint]
            .cpu
            .sample(&mut self.cpu_rng[endpoint]);
        let tier = self.workloads[w].tier as usize;
        let measured = now >= self.rec.warmup();
        self.rec.arrival(tier, measured);
        self.conservation.arrived += 1;
        let refuse = |s: &mut Self, sched: &mut Scheduler<Msg>, o: Outcome| {
            s.rec.outcome(tier, measured, o, SimTime::ZERO);
            s.conservation.rejected += 1;
            s.user_next(sched, w, user);
        };
        match self.gateway.admit(now, tenant) {
            Ok(()) => {}
            Err(Refusal::RateLimited) => return refuse(self, sched, Outcome::RateLimited),
            Err(Refusal::TenantLimit) => return refuse(self, sched, Outcome::TenantLimit),
        }
        let Some(inst) = self.balancer.pick() else {
            // No ready instance: the balancer has nowhere to send it.
            self.gateway.release(tenant);
            return refuse(self, sched, Outcome::QueueFull);
        };
        let req = self.requests.insert(Request {
            gen: 0,
            tenant,
            tier: tier as u16,
            workload: w as u16,
            endpoint: endpoint as u16,
            measured,
            client_gone: false,
            user,
            instance: inst,
            arrival: now,
            enqueued: now,
            cpu,
        });
        match self.instances[inst as usize].offer(sched, req, cpu) {
            Offer::Started => self.rec.queue_wait(tier, measured, SimTime::ZERO),
            Offer::Queued => {}
            Offer::Full => {
                self.requests.remove(req);
                self.gateway.release(tenant);
                self.balancer.done(inst);
                return refuse(self, sched, Outcome::QueueFull);
            }
        }
        self.rec.admitted(measured);
        self.in_system.add(now, 1.0);
        if let Some(t) = self.sc.endpoints[endpoint].timeout {
            sched.schedule_in(t, Msg::ClientTimeout { req });
        }
    }

    /// Give a freed worker of `inst` to the queued request `next`.
    fn start_queued(&mut self, sched: &mut Scheduler<Msg>, inst: usize, next: ReqRef) {
        // Queued handles are live: a request leaves the queue only here.
        let r = self.requests.get(next).expect("queued request is live");
        let wait = sched.now() - r.enqueued;
        let (tier, measured, cpu) = (r.tier as usize, r.measured, r.cpu);
        self.rec.queue_wait(tier, measured, wait);
        self.instances[inst].start(sched, next, cpu);
    }

    /// The server finished `req`: respond (unless the client left) and free
    /// everything it held.
    fn server_done(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let Some(r) = self.requests.get(req) else {
            return;
        };
        let (tenant, inst, tier, measured, user, w) = (
            r.tenant,
            r.instance,
            r.tier as usize,
            r.measured,
            r.user,
            r.workload as usize,
        );
        let latency = now - r.arrival;
        let client_gone = r.client_gone;
        self.requests.remove(req);
        self.gateway.release(tenant);
        self.balancer.done(inst);
        self.in_system.add(now, -1.0);
        self.conservation.server_done += 1;
        self.rec.server_done(measured, latency);
        if !client_gone {
            self.rec
                .outcome(tier, measured, Outcome::Completed, latency);
            self.user_next(sched, w, user);
        }
    }

    /// The CPU phase of `req` ended: respond, free its worker, and give the
    /// worker to the next queued request.
    fn after_cpu(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        let inst = r.instance as usize;
        self.server_done(sched, req);
        if let Some(n) = self.instances[inst].free_worker(sched.now()) {
            self.start_queued(sched, inst, n);
        }
    }

    fn on_client_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let Some(r) = self.requests.get_mut(req) else {
            return;
        };
        if r.client_gone {
            return;
        }
        r.client_gone = true;
        let (tier, measured, user, w, latency) = (
            r.tier as usize,
            r.measured,
            r.user,
            r.workload as usize,
            now - r.arrival,
        );
        self.rec.outcome(tier, measured, Outcome::Timeout, latency);
        self.user_next(sched, w, user);
    }

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
        let ready = self.balancer.ready_count() as u32;
        self.rec.gauges(now, a, ready);
    }

    /// Called once after the last event: closes the last (partial) interval.
    pub fn finish(&mut self, end: SimTime) {
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
        self.conservation.in_flight = self.requests.live() as u64;
    }
}

impl Model for Service<'_> {
    type Msg = Msg;

    #[inline]
    fn handle(&mut self, sched: &mut Scheduler<Msg>, msg: Msg) {
        match msg {
            Msg::Arrival { workload } => self.on_arrival(sched, workload as usize),
            Msg::UserReady { workload, user } => self.on_user_ready(sched, workload as usize, user),
            Msg::CpuDone { station: Station::Instance(i), req } => {
                self.instances[i as usize].cpu_done(sched.now());
                self.after_cpu(sched, req);
            }
            Msg::CpuTick { station: Station::Instance(i), gen } => {
                let mut done = std::mem::take(&mut self.done_buf);
                done.clear();
                self.instances[i as usize].cpu_tick(sched, gen, &mut done);
                for &r in &done {
                    self.after_cpu(sched, r);
                }
                self.done_buf = done;
            }
            Msg::CpuDone { station: Station::Database, .. } | Msg::CpuTick { station: Station::Database, .. } => {
                unreachable!("no database in this model yet")
            }
            Msg::ClientTimeout { req } => self.on_client_timeout(sched, req),
            Msg::Sample => {
                let now = sched.now();
                self.flush_gauges(now);
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
