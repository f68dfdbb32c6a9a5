//! The request path on the server side: admission, the worker queue,
//! request stages, the CPU phase, and the end of a request with its
//! accounting.
//!
//! Owns the per-endpoint draws: the streams of CPU demand, of per-request
//! query seeds and stage seeds (drawn at arrival, so the sequences do not
//! depend on what the limits decide), the flat index of each endpoint's
//! first stage in the recorder, and the CPU multipliers of latency-spike
//! faults.
//!
//! The `Service` methods here take a request from the gateway through the
//! shared limiters, the balancer, the local limiters and load shedding to
//! a worker; run its stages and CPU; hand it to the caches or the data
//! tier; and finish it: free the worker (the next queued request gets it),
//! release the gateway slot and the balancer count, account it, and answer
//! the client unless it has gone.
//!
//! Must not: allocate per request (requests live in the slab; stage and
//! query randomness comes from per-request seeds). Invariants: conservation
//! — arrived = completed + rejected + in flight, per tier too; a request is
//! counted once as `server_done` or `rejected`; session jobs and
//! write-behind flushes never enter these counts.

use super::Service;
use crate::gateway::Refusal;
use crate::instance::{InstanceState, Offer};
use crate::metrics::Outcome;
use crate::request::{Job, Phase, ReqRef, Request, RequestCold};
use crate::shedding::ShedSignal;
use crate::spec::{NoneReady, Scenario, WritePolicy};
use crate::Msg;
use rand::{Rng, RngExt, SeedableRng};
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

/// Per-endpoint streams and factors of a request's draws.
pub(super) struct EndpointDraws {
    cpu_rng: Vec<SimRng>,
    pub(super) query_rng: Vec<SimRng>,
    /// Per endpoint: the stream of per-request stage seeds, and the flat
    /// index of its first stage in the recorder's stage figures.
    stage_rng: Vec<SimRng>,
    stage_base: Vec<u32>,
    /// CPU demand multiplier per endpoint (latency-spike faults).
    pub(super) cpu_factor: Vec<f64>,
}

impl EndpointDraws {
    pub(super) fn new(sc: &Scenario, streams: &RngStreams) -> Self {
        EndpointDraws {
            cpu_rng: (0..sc.endpoints.len())
                .map(|e| streams.stream(StreamId::CpuDemand(e as u32)))
                .collect(),
            query_rng: (0..sc.endpoints.len())
                .map(|e| streams.stream(StreamId::QueryTime(e as u32)))
                .collect(),
            stage_rng: (0..sc.endpoints.len())
                .map(|e| streams.stream(StreamId::Stages(e as u32)))
                .collect(),
            stage_base: sc
                .endpoints
                .iter()
                .scan(0u32, |next, e| {
                    let base = *next;
                    *next += e.stages.len() as u32;
                    Some(base)
                })
                .collect(),
            cpu_factor: vec![1.0; sc.endpoints.len()],
        }
    }
}

impl Service<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new_request(
        &mut self,
        sched: &mut Scheduler<Msg>,
        w: usize,
        tenant: u32,
        endpoint: Option<usize>,
        user: u32,
        attempt: u8,
        key: Option<u64>,
        ip: Option<u64>,
    ) {
        let now = sched.now();
        let sc = self.sc;
        let endpoint = endpoint.unwrap_or_else(|| self.clients.pick_endpoint(sc, w));
        // Drawn before admission so the sequences are the same whatever the
        // limits decide (common random numbers across configurations).
        let mut cpu = self.sc.endpoints[endpoint]
            .cpu
            .sample(&mut self.draws.cpu_rng[endpoint]);
        if self.draws.cpu_factor[endpoint] != 1.0 {
            cpu = SimTime::from_secs_f64(cpu.as_secs_f64() * self.draws.cpu_factor[endpoint]);
        }
        // With stages, the request starts with stage 0's CPU; the
        // endpoint's own runs after the last stage.
        let (mut stage_seed, mut backend_cpu, mut stage_wait, mut stage_fails) =
            (0, SimTime::ZERO, SimTime::ZERO, false);
        if !self.sc.endpoints[endpoint].stages.is_empty() {
            stage_seed = self.draws.stage_rng[endpoint].next_u64();
            backend_cpu = cpu;
            (cpu, stage_wait, stage_fails) = self.draw_stage(endpoint, stage_seed, 0);
        }
        let query_seed = if self.sc.endpoints[endpoint].db_queries > 0 {
            self.draws.query_rng[endpoint].next_u64()
        } else {
            0
        };
        let key = match key {
            Some(k) => k,
            None => self.clients.draw_key(w, tenant),
        };
        let ip = match ip {
            Some(a) => a,
            None => self.clients.draw_ip(w, tenant),
        };
        let tier = self.clients.workloads[w].tier as usize;
        let measured = now >= self.rec.warmup();
        self.rec.arrival(tier, measured);
        self.conservation.arrived += 1;
        self.tier_conservation[tier].arrived += 1;
        let g = self.fleet.tier_group[tier] as usize;
        self.scaling.arrival(g);
        let mut req = Request {
            arrival: now,
            cpu,
            key,
            admitted: now,
            gen: 0,
            tenant,
            user,
            instance: 0,
            tier: tier as u16,
            workload: w as u16,
            endpoint: endpoint as u16,
            measured,
            client_gone: false,
            alive: false,
            phase: Phase::Cpu,
            job: Job::Request,
            level: self.tier_level[tier],
            background: false,
            attempt,
            hit: false,
            stale: false,
        };
        let mut cold = RequestCold {
            ip,
            enqueued: now,
            query_seed,
            wait_since: now,
            query_since: now,
            stage_since: now,
            stage_wait,
            stage_seed,
            backend_cpu,
            stage_fails,
            ..RequestCold::default()
        };
        let refusal = match self.gateway.admit(now, tenant) {
            Ok(()) => None,
            Err(Refusal::RateLimited) => Some(Outcome::RateLimited),
            Err(Refusal::TenantLimit) => Some(Outcome::TenantLimit),
        };
        if let Some(o) = refusal {
            self.reject_counted(tier, o);
            return self.client_result(sched, &req, ip, o, SimTime::ZERO);
        }
        // Shared limiters: one call to the store; the request waits for
        // the answer before it goes to an instance.
        if !self.limits.shared.is_empty() && self.limits.layer_applies(sc, true, tier, endpoint) {
            cold.limited = !self.limits.check_layer(sc, &mut self.rec, now, &req, ip, true, 0, 0);
            let delay = self.limits.store_call(sc, now);
            req.phase = Phase::RateCheck;
            req.instance = u32::MAX;
            let r = self.requests.insert(req, &cold);
            sched.schedule_in(delay, Msg::LimiterReply { req: r });
            return;
        }
        self.admit(sched, req, &cold);
    }

    /// A request past the gateway (and the shared limiters): the balancer
    /// picks an instance, whose local limiters and load shedding may refuse
    /// it, then it queues for a worker.
    pub(super) fn admit(&mut self, sched: &mut Scheduler<Msg>, mut req: Request, cold: &RequestCold) {
        let now = sched.now();
        let (tier, tenant, endpoint, measured, cpu) = (
            req.tier as usize,
            req.tenant,
            req.endpoint as usize,
            req.measured,
            req.cpu,
        );
        req.admitted = now;
        let g = self.fleet.tier_group[tier] as usize;
        let Some(inst) = self.fleet.groups[g].balancer.pick() else {
            if self.sc.instance.none_ready == NoneReady::Wait {
                // Held until an instance of the group is ready.
                self.held[g].push_back((req, *cold));
                return;
            }
            // No ready instance: the balancer has nowhere to send it.
            self.gateway.release(tenant);
            self.reject_counted(tier, Outcome::NoInstance);
            return self.client_result(sched, &req, cold.ip, Outcome::NoInstance, SimTime::ZERO);
        };
        req.instance = inst;
        if !self.limits.local.is_empty() && self.limits.layer_applies(self.sc, false, tier, endpoint) {
            let ready = self.fleet.groups[g].balancer.ready_count();
            if !self
                .limits
                .check_layer(self.sc, &mut self.rec, now, &req, cold.ip, false, inst as usize, ready)
            {
                self.gateway.release(tenant);
                self.fleet.groups[g].balancer.done(inst);
                self.reject_counted(tier, Outcome::RateLimited);
                self.rec.limiter_refusal(tier, measured);
                return self.client_result(sched, &req, cold.ip, Outcome::RateLimited, SimTime::ZERO);
            }
        }
        let memory_shed = self.fleet.instances[inst as usize].memory_shed;
        if memory_shed || (self.sc.shedding.is_some() && self.overloaded(now, inst, req.level)) {
            self.gateway.release(tenant);
            self.fleet.groups[g].balancer.done(inst);
            self.reject_counted(tier, Outcome::Shed);
            return self.client_result(sched, &req, cold.ip, Outcome::Shed, SimTime::ZERO);
        }
        // The caches will be asked for this key after the CPU phase: start
        // loading their table slots now (a hint; changes no result).
        if let Some(Some(c)) = self.caches.l1.get(inst as usize) {
            c.prefetch(req.key);
        }
        if let Some(c) = &self.caches.l2 {
            c.prefetch(req.key);
        }
        let r = self.requests.insert(req, cold);
        match self.fleet.instances[inst as usize].offer(sched, r, cpu, req.level) {
            Offer::Started => {
                self.rec.queue_wait(tier, measured, SimTime::ZERO);
                self.shed_dequeued(now, inst as usize, req.level, SimTime::ZERO);
            }
            Offer::Queued => {}
            Offer::Full => {
                self.requests.remove(r);
                self.gateway.release(tenant);
                self.fleet.groups[g].balancer.done(inst);
                self.reject_counted(tier, Outcome::QueueFull);
                return self.client_result(sched, &req, cold.ip, Outcome::QueueFull, SimTime::ZERO);
            }
        }
        let held = self.gateway.in_flight(tenant);
        let peak = &mut self.peaks.tenant_in_flight[tier];
        *peak = (*peak).max(held);
        let i = &self.fleet.instances[inst as usize];
        self.peaks.running = self.peaks.running.max(i.running());
        self.peaks.queued = self.peaks.queued.max(i.queued() as u32);
        self.rec.admitted(measured);
        self.in_system.add(now, 1.0);
        if let Some(t) = self.sc.endpoints[endpoint].timeout {
            // From arrival (a shared limiter's answer may have taken a
            // while); a fixed-delay lane when it is from now.
            if req.arrival >= now {
                let timer = sched.schedule_in_fixed(t, Msg::ClientTimeout { req: r });
                self.requests.cold_mut(r).expect("live request").client_timer = timer;
            } else {
                sched.schedule_at((req.arrival + t).max(now), Msg::ClientTimeout { req: r });
            }
        }
        if self.sc.memory.is_some() {
            self.memory_admitted(sched, inst as usize);
        }
    }

    /// Whether load shedding refuses a request of priority `level` at
    /// instance `inst` now.
    pub(super) fn overloaded(&mut self, now: SimTime, inst: u32, level: u8) -> bool {
        let Some(p) = self.sc.shedding else { return false };
        let i = inst as usize;
        let value = match p.signal {
            ShedSignal::QueueLength { .. } => self.fleet.instances[i].queued() as f64,
            ShedSignal::QueueDelay { interval, .. } => {
                let queued = self.fleet.instances[i].queued_at(level);
                self.fleet.shed_meters[i].delay(now, level, queued, interval)
            }
            ShedSignal::Cpu { window, .. } => {
                let busy = self.fleet.instances[i].busy.total(now);
                let cores = self.fleet.instances[i].cores();
                self.fleet.shed_meters[i].cpu(now, busy, cores, window)
            }
        };
        p.sheds(value, level, self.fleet.levels)
    }

    /// A request got a worker at `inst` after `wait` (CoDel's input).
    #[inline]
    pub(super) fn shed_dequeued(&mut self, now: SimTime, inst: usize, level: u8, wait: SimTime) {
        if let Some(p) = self.sc.shedding {
            if let ShedSignal::QueueDelay { interval, .. } = p.signal {
                self.fleet.shed_meters[inst].dequeued(now, level, wait, interval);
            }
        }
    }

    /// Give a freed worker of `inst` to the queued request `next`.
    pub(super) fn start_queued(&mut self, sched: &mut Scheduler<Msg>, inst: usize, next: ReqRef) {
        // Queued handles are live: a request leaves the queue only here or
        // when its instance fails (then the queue is emptied first).
        let (r, cold) = self.requests.both_mut(next).expect("queued request is live");
        cold.stage_since = sched.now();
        let wait = sched.now() - cold.enqueued;
        let (tier, measured, cpu, level) = (r.tier as usize, r.measured, r.cpu, r.level);
        if r.job == Job::Request {
            self.rec.queue_wait(tier, measured, wait);
        }
        self.shed_dequeued(sched.now(), inst, level, wait);
        self.fleet.instances[inst].start(sched, next, cpu);
    }

    /// Draw stage `j` of a request of endpoint `e`: (CPU, wait, fails),
    /// from a generator of the request's own (see `Request::stage_seed`).
    pub(super) fn draw_stage(&self, e: usize, seed: u64, j: usize) -> (SimTime, SimTime, bool) {
        let st = &self.sc.endpoints[e].stages[j];
        let mut rng = SimRng::seed_from_u64(seed ^ (j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut cpu = st.cpu.as_ref().map_or(SimTime::ZERO, |d| d.sample(&mut rng));
        if self.draws.cpu_factor[e] != 1.0 {
            cpu = SimTime::from_secs_f64(cpu.as_secs_f64() * self.draws.cpu_factor[e]);
        }
        let wait = st.wait.as_ref().map_or(SimTime::ZERO, |d| d.sample(&mut rng));
        let fails = st.fail > 0.0 && rng.random::<f64>() < st.fail;
        (cpu, wait, fails)
    }

    /// The current stage of `req` is over (CPU and wait done): record its
    /// time, fail the request if the stage failed, else begin the next
    /// stage, or the endpoint's own CPU after the last.
    pub(super) fn stage_end(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let (r, c) = self.requests.both_mut(req).expect("live request");
        let e = r.endpoint as usize;
        let flat = self.draws.stage_base[e] as usize + c.stage as usize;
        self.rec.stage(flat, r.measured, now - c.stage_since, c.stage_fails);
        if c.stage_fails {
            return self.finish(sched, req, Outcome::StageFailure);
        }
        c.stage += 1;
        c.stage_since = now;
        let (j, seed, backend_cpu, inst) = (c.stage as usize, c.stage_seed, c.backend_cpu, r.instance as usize);
        let cpu = if j < self.sc.endpoints[e].stages.len() {
            let (cpu, wait, fails) = self.draw_stage(e, seed, j);
            let c = self.requests.cold_mut(req).expect("live request");
            c.stage_wait = wait;
            c.stage_fails = fails;
            cpu
        } else {
            backend_cpu
        };
        if cpu > SimTime::ZERO {
            self.requests.get_mut(req).expect("live request").phase = Phase::Cpu;
            self.fleet.instances[inst].run_cpu(sched, req, cpu);
        } else {
            self.after_cpu(sched, req);
        }
    }

    /// The CPU phase of `req` ended: the rest of its stage, or caches,
    /// database, or respond.
    pub(super) fn after_cpu(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some((r, c)) = self.requests.both_mut(req) else {
            return;
        };
        if r.job != Job::Request {
            // Session work is CPU only.
            return self.finish(sched, req, Outcome::Completed);
        }
        let ep = &self.sc.endpoints[r.endpoint as usize];
        // Without stages the cold part is not read here (its stage is 0).
        if !ep.stages.is_empty() && (c.stage as usize) < ep.stages.len() {
            if c.stage_wait > SimTime::ZERO {
                r.phase = Phase::Wait;
                sched.schedule_in(c.stage_wait, Msg::StageWait { req });
            } else {
                self.stage_end(sched, req);
            }
            return;
        }
        r.phase = Phase::L1; // no longer on the CPU
        let has_l1 = self.caches.l1.get(r.instance as usize).is_some_and(|c| c.is_some());
        if let (true, Some(l2)) = (ep.cacheable, &self.caches.l2) {
            // An L1 miss asks the L2 next (a hint; changes no result).
            l2.prefetch_entry(r.key);
        }
        if ep.cacheable && self.caches.l2.is_none() && !has_l1 && self.caches.l3.is_some() {
            self.l3_lookup(sched, req);
        } else if ep.cacheable && (self.caches.l2.is_some() || has_l1) {
            self.cache_lookup(sched, req, has_l1);
        } else if ep.write && self.sc.cache.write_policy == Some(WritePolicy::WriteBehind) && self.sc.cache.any() {
            // Write to the caches, answer, and flush to the database in the
            // background.
            let (r, c) = (*r, *c);
            self.cache_write(&r, true, sched.now());
            if ep.db_queries > 0 {
                let hot = Request {
                    background: true,
                    client_gone: true,
                    ..r
                };
                let bg = self.requests.insert(hot, &c);
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

    pub(super) fn finish(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, outcome: Outcome) {
        self.finish_with(sched, req, outcome, true);
    }

    /// The server is done with `req`: free its worker (the next queued
    /// request gets it) unless the instance is failing, release its gateway
    /// slot, and answer the client unless it has gone.
    pub(super) fn finish_with(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, outcome: Outcome, free_worker: bool) {
        let now = sched.now();
        let Some(r) = self.requests.get(req) else { return };
        let r = *r;
        // The one cold line a request's end reads: its timers and address.
        let c = self.requests.cold(req).expect("live request");
        let (client_timer, phase_timer, ip) = (c.client_timer, c.phase_timer, c.ip);
        self.requests.remove(req);
        sched.cancel(client_timer);
        sched.cancel(phase_timer);
        if r.background {
            self.background -= 1;
            // The flush may have been all a draining instance still held.
            let inst = r.instance as usize;
            if free_worker
                && self.fleet.instances[inst].state == InstanceState::Draining
                && self.fleet.instances[inst].in_flight() == 0
                && !self.holds_background(r.instance)
            {
                self.stop(sched, r.instance);
            }
            self.end_if_done(sched);
            return;
        }
        let inst = r.instance as usize;
        if free_worker {
            if let Some(n) = self.fleet.instances[inst].free_worker(now) {
                self.start_queued(sched, inst, n);
            }
            if let Some(m) = self.sc.memory.as_ref().filter(|m| m.garbage_per_request_mb > 0.0) {
                self.fleet.instances[inst].add_garbage(now, m.garbage_per_request_mb);
            }
        }
        if r.job != Job::Request {
            // Session work: no client, gateway slot or balancer count.
            self.sessions.jobs_live -= 1;
            if r.job == Job::Message {
                self.rec
                    .message(r.measured, outcome == Outcome::Completed, now - r.arrival);
            }
            if free_worker
                && self.fleet.instances[inst].state == InstanceState::Draining
                && self.fleet.instances[inst].in_flight() == 0
                && !self.holds_background(inst as u32)
            {
                self.stop(sched, inst as u32);
            }
            self.end_if_done(sched);
            return;
        }
        let g = self.fleet.instances[inst].group as usize;
        self.gateway.release(r.tenant);
        self.fleet.groups[g].balancer.done(r.instance);
        self.in_system.add(now, -1.0);
        self.conservation.server_done += 1;
        self.tier_conservation[r.tier as usize].server_done += 1;
        let latency = now - r.arrival;
        // Little's law: time since admission (a shared limiter's wait
        // comes before it).
        self.rec.server_done(r.measured, now - r.admitted);
        if r.client_gone {
            self.rec.abandoned(r.tier as usize, r.measured);
        } else {
            if outcome == Outcome::Completed {
                self.scaling.completed(g, latency);
            }
            self.client_result(sched, &r, ip, outcome, latency);
        }
        // A draining instance leaves once it holds nothing.
        if free_worker
            && self.fleet.instances[inst].state == InstanceState::Draining
            && self.fleet.instances[inst].in_flight() == 0
            && !self.holds_background(inst as u32)
        {
            self.stop(sched, inst as u32);
        }
        self.end_if_done(sched);
    }

    /// End the run when every finite test is done and the server holds
    /// nothing (work whose client gave up included).
    #[inline]
    pub(super) fn end_if_done(&mut self, sched: &mut Scheduler<Msg>) {
        if self.clients.all_done() && self.requests.live() == 0 {
            sched.stop();
        }
    }

    pub(super) fn on_client_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let Some(r) = self.requests.get_mut(req) else { return };
        if r.client_gone {
            return;
        }
        r.client_gone = true;
        let r = *r;
        let ip = self.requests.cold(req).expect("live request").ip;
        self.client_result(sched, &r, ip, Outcome::Timeout, now - r.arrival);
    }

    /// Instance of group `g` became ready: send it the held requests, in
    /// arrival order (each through the balancer again).
    pub(super) fn release_held(&mut self, sched: &mut Scheduler<Msg>, g: usize) {
        while self.fleet.groups[g].balancer.ready_count() > 0 {
            let Some((req, cold)) = self.held[g].pop_front() else {
                break;
            };
            self.admit(sched, req, &cold);
        }
    }

    /// A request refused before it reached a worker, in the accounting.
    pub(super) fn reject_counted(&mut self, tier: usize, outcome: Outcome) {
        let limited = u64::from(outcome == Outcome::RateLimited);
        for c in [&mut self.conservation, &mut self.tier_conservation[tier]] {
            c.rejected += 1;
            c.rate_limited += limited;
        }
    }
}
