//! The fleet: instance groups and the life of each instance.
//!
//! Owns the instances (in launch order: an instance's id is its index),
//! the groups (the shared group, and one per `dedicated` tier: balancer,
//! members, desired count, pool classes, replacements owed), the gauges of
//! ready / serving / alive instances, the load-shedding meters, and the
//! per-instance streams of background runs and pauses.
//!
//! The `Service` methods here launch instances (with their L1, pools and
//! autoscaler marks), make them ready, drain and stop them, fail what they
//! held, run background tasks and pauses, and move a group's desired count
//! (autoscaler ticks, replacements). Must not: decide a desired count (the
//! autoscaler does), or choose crash victims (faults and memory do).
//!
//! Invariants: a group's `members` are its instances not yet stopped, in
//! start order; the balancer holds exactly the group's ready instances;
//! `ready` ≤ `serving` ≤ `alive` at every instant; reconciling leaves out
//! the `owed` replacements until their `Replace` message.

use super::Service;
use crate::autoscaler::ScalingReason;
use crate::balancer::Balancer;
use crate::breaker::Permit;
use crate::instance::{Instance, InstanceState};
use crate::metrics::{Outcome, ScalingEvent, TimeIntegral};
use crate::request::{Phase, ReqRef};
use crate::shedding::ShedMeter;
use crate::spec::{Isolation, PauseEvery, ScaleIn, Scenario};
use crate::Msg;
use rand::RngExt;
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

/// An instance group: the shared one, or a dedicated tier's.
pub(super) struct Group {
    pub(super) balancer: Balancer,
    /// Instances not yet stopped, in start order.
    pub(super) members: Vec<u32>,
    pub(super) desired: u32,
    /// Pool classes its instances use.
    pub(super) classes: Vec<u16>,
    /// Failed instances whose replacement is not due yet (mttr, outage):
    /// reconciling leaves them out until their `Replace` message.
    pub(super) owed: u32,
}

/// The instances and their groups.
pub(super) struct Fleet {
    pub(super) instances: Vec<Instance>,
    pub(super) groups: Vec<Group>,
    /// Group of each tier.
    pub(super) tier_group: Vec<u16>,
    /// Number of priority levels (queues per instance).
    pub(super) levels: usize,
    /// Load-shedding meter of each instance (with `[shedding]`).
    pub(super) shed_meters: Vec<ShedMeter>,
    /// Per instance: draws of its background runs and pauses.
    pub(super) chore_rng: Vec<SimRng>,
    streams: RngStreams,
    /// How requests on a failing instance end (OOM kills differ).
    pub(super) abort_outcome: Outcome,
    pub(super) ready: TimeIntegral,
    pub(super) serving: TimeIntegral,
    pub(super) alive: TimeIntegral,
}

impl Fleet {
    /// The groups (the shared group if any tier uses it, then one per
    /// dedicated tier), no instance yet.
    pub(super) fn new(sc: &Scenario, streams: RngStreams, tier_class: &[u16], levels: usize) -> Self {
        let mut groups = Vec::new();
        let mut tier_group = vec![0u16; sc.tiers.len()];
        let make_group = |groups: &mut Vec<Group>, initial: u32, classes: Vec<u16>, g: u32| {
            groups.push(Group {
                balancer: Balancer::new(sc.instance.load_balancer, streams.stream(StreamId::Other(1000 + g))),
                members: Vec::new(),
                desired: initial,
                classes,
                owed: 0,
            });
        };
        let shared_classes: Vec<u16> = {
            let mut c: Vec<u16> = sc
                .tiers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.isolation != Isolation::Dedicated)
                .map(|(i, _)| tier_class[i])
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        if !shared_classes.is_empty() {
            make_group(&mut groups, sc.instance.initial, shared_classes, 0);
        }
        for (i, t) in sc.tiers.iter().enumerate() {
            if t.isolation == Isolation::Dedicated {
                tier_group[i] = groups.len() as u16;
                let g = groups.len() as u32;
                make_group(
                    &mut groups,
                    t.instances.unwrap_or(sc.instance.initial),
                    vec![tier_class[i]],
                    g,
                );
            }
        }
        Fleet {
            instances: Vec::new(),
            groups,
            tier_group,
            levels,
            shed_meters: Vec::new(),
            chore_rng: Vec::new(),
            streams,
            abort_outcome: Outcome::InstanceFailure,
            ready: TimeIntegral::new(SimTime::ZERO),
            serving: TimeIntegral::new(SimTime::ZERO),
            alive: TimeIntegral::new(SimTime::ZERO),
        }
    }

    /// Instances of `g` counted as its current size (starting + ready).
    fn current(&self, g: usize) -> u32 {
        self.groups[g]
            .members
            .iter()
            .filter(|&&i| {
                matches!(
                    self.instances[i as usize].state,
                    InstanceState::Starting | InstanceState::Ready
                )
            })
            .count() as u32
    }
}

impl Service<'_> {
    /// An instance finished `req`'s CPU phase (a lone request on a
    /// dedicated core).
    pub(super) fn on_instance_cpu_done(&mut self, sched: &mut Scheduler<Msg>, i: u32, req: ReqRef) {
        // Work on a failed instance was abandoned with it.
        let live = self
            .requests
            .get(req)
            .is_some_and(|r| r.phase == Phase::Cpu && r.instance == i);
        if live {
            self.fleet.instances[i as usize].cpu_done(sched.now());
            self.after_cpu(sched, req);
        }
    }

    /// An instance's processor-shared CPU ticked: the requests it finished
    /// go on. With `[host]`, a finished job is a CPU phase or a reply (it
    /// ran on a thread, which takes its next phase) or a query's CPU on
    /// the host.
    pub(super) fn on_instance_cpu_tick(&mut self, sched: &mut Scheduler<Msg>, i: u32, gen: u32) {
        if self.fleet.instances[i as usize].state == InstanceState::Stopped {
            return;
        }
        let mut done = std::mem::take(&mut self.done_buf);
        done.clear();
        self.fleet.instances[i as usize].cpu_tick(sched, gen, &mut done);
        for &r in &done {
            if self.sc.host.is_none() {
                self.after_cpu(sched, r);
                continue;
            }
            // Background tasks name no request.
            let Some(phase) = self.requests.get(r).map(|q| q.phase) else {
                continue;
            };
            match phase {
                Phase::HostQuery => self.host_query_done(sched, r),
                Phase::Reply => {
                    self.fleet.instances[i as usize].thread_done(sched);
                    self.reply_done(sched, r);
                }
                _ => {
                    self.fleet.instances[i as usize].thread_done(sched);
                    self.after_cpu(sched, r);
                }
            }
        }
        self.done_buf = done;
    }

    pub(super) fn on_drain_timeout(&mut self, sched: &mut Scheduler<Msg>, instance: u32) {
        if self.fleet.instances[instance as usize].state == InstanceState::Draining {
            self.stop(sched, instance);
        }
    }

    /// A replacement owed to group `g` is due.
    pub(super) fn on_replace(&mut self, sched: &mut Scheduler<Msg>, g: usize) {
        let group = &mut self.fleet.groups[g];
        group.owed = group.owed.saturating_sub(1);
        self.reconcile(sched, g);
    }

    pub(super) fn on_pause_end(&mut self, sched: &mut Scheduler<Msg>, instance: u32) {
        if self.fleet.instances[instance as usize].state != InstanceState::Stopped {
            self.fleet.instances[instance as usize].resume(sched);
            // A GC cycle: with garbage counted, it is collected.
            if self.sc.memory.as_ref().is_some_and(|m| m.garbage_per_request_mb > 0.0) {
                self.fleet.instances[instance as usize].collect_garbage(sched.now());
            }
        }
    }

    pub(super) fn on_gc_end(&mut self, sched: &mut Scheduler<Msg>, instance: u32) {
        let inst = &mut self.fleet.instances[instance as usize];
        if inst.state != InstanceState::Stopped {
            inst.resume(sched);
            inst.collect_garbage(sched.now());
            inst.gc_running = false;
        }
    }

    /// Request a new instance for group `g`; it is ready after `startup`.
    pub(super) fn launch(&mut self, sched: &mut Scheduler<Msg>, g: usize) -> u32 {
        let now = sched.now();
        let id = self.fleet.instances.len() as u32;
        self.fleet
            .instances
            .push(Instance::new(id, g as u16, &self.sc.instance, self.fleet.levels, now));
        if let Some(h) = &self.sc.host {
            self.fleet.instances[id as usize].use_threads(h.threads, now);
        }
        self.caches.add_instance(self.sc);
        if self.sc.shedding.is_some() {
            self.fleet.shed_meters.push(ShedMeter::new(now, self.fleet.levels));
        }
        let pools = self.data.add_instance(self.sc, id, &self.fleet.groups[g].classes, now);
        self.scaling.instance_added();
        self.scaling.pools_added(Some(id), pools);
        self.fleet.groups[g].members.push(id);
        self.sessions.msg_gen.push(0);
        self.fleet.alive.add(now, 1.0);
        // Initial instances are made ready at once by `new`; this event then
        // finds them ready and does nothing.
        sched.schedule_in(self.sc.instance.startup, Msg::InstanceReady { instance: id });
        if let Some((mtbf, _)) = self.faults.random_crashes {
            self.schedule_crash(sched, id, mtbf);
        }
        if self.sc.has_instance_chores() {
            self.schedule_chores(sched, id);
        }
        id
    }

    /// A new instance: processor-shared CPU, and the first run of each
    /// background task and the first pause at a random phase of their
    /// period (instances are not in step).
    pub(super) fn schedule_chores(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let now = sched.now();
        self.fleet.instances[id as usize].force_shared_cpu(now);
        let mut rng = self.fleet.streams.stream(StreamId::Pauses(id));
        for (t, task) in self.sc.background.iter().enumerate() {
            let phase = task.period.as_secs_f64() * rng.random::<f64>();
            sched.schedule_in(
                SimTime::from_secs_f64(phase),
                Msg::Background {
                    instance: id,
                    task: t as u16,
                },
            );
        }
        if let Some(p) = &self.sc.pauses {
            let gap = match p.every {
                PauseEvery::Interval(i) => i.as_secs_f64() * rng.random::<f64>(),
                PauseEvery::Poisson(rate) => -(1.0 - rng.random::<f64>()).ln() / rate,
            };
            sched.schedule_in(SimTime::from_secs_f64(gap), Msg::PauseStart { instance: id });
        }
        debug_assert_eq!(self.fleet.chore_rng.len(), id as usize);
        self.fleet.chore_rng.push(rng);
    }

    /// Background task `task` is due on `id`: run it if the instance
    /// serves, and schedule the next run.
    pub(super) fn on_background(&mut self, sched: &mut Scheduler<Msg>, id: u32, task: usize) {
        let i = id as usize;
        if self.fleet.instances[i].state == InstanceState::Stopped {
            return;
        }
        let now = sched.now();
        let t = &self.sc.background[task];
        if self.fleet.instances[i].serving {
            let cpu = t.cpu.sample(&mut self.fleet.chore_rng[i]);
            // A handle that names no request: its completion is ignored.
            let job = ReqRef {
                idx: u32::MAX,
                gen: task as u32,
            };
            self.fleet.instances[i].run_background(sched, job, cpu);
            if now >= self.rec.warmup() {
                self.rec.background_runs += 1;
            }
        }
        if now + t.period <= self.sc.simulation.duration {
            sched.schedule_in(
                t.period,
                Msg::Background {
                    instance: id,
                    task: task as u16,
                },
            );
        }
    }

    /// A pause of `id` begins: its CPU stops for a drawn duration; the next
    /// pause is scheduled from now.
    pub(super) fn on_pause_start(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let i = id as usize;
        if self.fleet.instances[i].state == InstanceState::Stopped {
            return;
        }
        let Some(p) = &self.sc.pauses else { return };
        let now = sched.now();
        let end = self.sc.simulation.duration;
        if self.fleet.instances[i].serving {
            let d = p.duration.sample(&mut self.fleet.chore_rng[i]);
            self.fleet.instances[i].pause(sched);
            sched.schedule_in(d, Msg::PauseEnd { instance: id });
            if now >= self.rec.warmup() {
                self.rec.paused_s += d.min(end.saturating_sub(now)).as_secs_f64();
            }
        }
        let gap = match p.every {
            PauseEvery::Interval(i) => i,
            PauseEvery::Poisson(rate) => {
                let u: f64 = self.fleet.chore_rng[i].random();
                SimTime::from_secs_f64(-(1.0 - u).ln() / rate)
            }
        };
        if now + gap <= end {
            sched.schedule_in(gap, Msg::PauseStart { instance: id });
        }
    }

    pub(super) fn make_ready(&mut self, id: u32, now: SimTime) {
        let inst = &mut self.fleet.instances[id as usize];
        if inst.state != InstanceState::Starting {
            return;
        }
        inst.start_serving(now);
        // The autoscaler measures from here.
        self.scaling.instance_ready(inst, now);
        let g = inst.group as usize;
        self.fleet.groups[g].balancer.add(id);
        self.fleet.ready.add(now, 1.0);
        self.fleet.serving.add(now, 1.0);
        self.note_replicas(now);
    }

    /// Hand the recorder's replica timeline the ready and desired counts.
    pub(super) fn note_replicas(&mut self, now: SimTime) {
        let ready = self.fleet.ready.value() as u32;
        let desired = self.desired_total();
        self.rec.replicas(now, ready, desired);
    }

    /// Start or drain instances until group `g` has `desired`.
    pub(super) fn reconcile(&mut self, sched: &mut Scheduler<Msg>, g: usize) {
        let desired = self.fleet.groups[g].desired.saturating_sub(self.fleet.groups[g].owed);
        let mut current = self.fleet.current(g);
        while current < desired {
            self.launch(sched, g);
            current += 1;
        }
        while current > desired {
            // Instances still starting go first (newest first), then ready
            // ones by the scale-in rule.
            let members = &self.fleet.groups[g].members;
            let starting = members
                .iter()
                .rev()
                .find(|&&i| self.fleet.instances[i as usize].state == InstanceState::Starting);
            let victim = match starting {
                Some(&i) => i,
                None => {
                    let ready = members
                        .iter()
                        .filter(|&&i| self.fleet.instances[i as usize].state == InstanceState::Ready);
                    let pick = match self.sc.instance.scale_in {
                        ScaleIn::Newest => ready.max(),
                        ScaleIn::LeastLoaded => {
                            ready.min_by_key(|&&i| (self.fleet.instances[i as usize].in_flight(), u32::MAX - i))
                        }
                    };
                    match pick {
                        Some(&i) => i,
                        None => break,
                    }
                }
            };
            self.drain(sched, victim);
            current -= 1;
        }
    }

    /// Stop sending traffic to `id` and let it finish its requests.
    pub(super) fn drain(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let now = sched.now();
        let inst = &mut self.fleet.instances[id as usize];
        let g = inst.group as usize;
        match inst.state {
            InstanceState::Starting => {
                inst.state = InstanceState::Draining;
                self.stop(sched, id);
            }
            InstanceState::Ready => {
                inst.state = InstanceState::Draining;
                self.fleet.groups[g].balancer.remove(id);
                self.fleet.ready.add(now, -1.0);
                self.note_replicas(now);
                // Its connections close now (a graceful shutdown); the
                // clients reconnect elsewhere.
                self.drop_sessions(sched, id);
                if self.fleet.instances[id as usize].in_flight() == 0 && !self.holds_background(id) {
                    self.stop(sched, id);
                } else {
                    sched.schedule_in(self.sc.instance.drain_timeout, Msg::DrainTimeout { instance: id });
                }
            }
            _ => {}
        }
    }

    pub(super) fn holds_background(&self, id: u32) -> bool {
        self.background > 0 && !self.requests.find(|r| r.background && r.instance == id).is_empty()
    }

    /// The instance fails now: its requests fail with `instance_failure`.
    pub(super) fn crash(&mut self, sched: &mut Scheduler<Msg>, id: u32) -> bool {
        let now = sched.now();
        let inst = &mut self.fleet.instances[id as usize];
        let g = inst.group as usize;
        match inst.state {
            InstanceState::Ready => {
                self.fleet.groups[g].balancer.remove(id);
                self.fleet.ready.add(now, -1.0);
                self.note_replicas(now);
            }
            InstanceState::Starting | InstanceState::Draining => {}
            InstanceState::Stopped => return false,
        }
        self.fleet.instances[id as usize].state = InstanceState::Draining;
        self.stop(sched, id);
        true
    }

    /// Remove instance `id`: fail whatever it still holds, close its pools,
    /// drop its L1.
    pub(super) fn stop(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let now = sched.now();
        if self.fleet.instances[id as usize].state == InstanceState::Stopped {
            return;
        }
        self.drop_sessions(sched, id);
        // Queued requests never got a worker.
        for r in self.fleet.instances[id as usize].take_queue(now) {
            self.abort(sched, r, false);
        }
        for r in self.requests.find(|r| r.instance == id) {
            self.abort(sched, r, true);
        }
        let inst = &mut self.fleet.instances[id as usize];
        inst.state = InstanceState::Stopped;
        if inst.serving {
            inst.serving = false;
            self.fleet.serving.add(now, -1.0);
        }
        inst.report_memory(now, false);
        let g = inst.group as usize;
        self.fleet.groups[g].members.retain(|&i| i != id);
        self.fleet.alive.add(now, -1.0);
        self.caches.remove_instance(id, &mut self.peaks);
        // Its local rate-limit counters go with it.
        self.limits.clear_local(id);
        self.data.remove_instance(self.sc, id, now);
    }

    /// A request on a failing instance: release what it holds and fail it.
    /// `has_worker`: it had a worker (was not queued).
    pub(super) fn abort(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, has_worker: bool) {
        let Some(r) = self.requests.get(req) else { return };
        let r = *r;
        let c = *self.requests.cold(req).expect("live request");
        match r.phase {
            Phase::PoolWait => {
                let p = self.data.pool_index(&r, c.db_target);
                self.data.pools[p].cancel(sched.now(), req);
            }
            Phase::Connecting => self.release_connection(sched, &r, &c),
            Phase::Query => {
                self.data.server(c.db_target).cancel(sched, req);
                self.release_connection(sched, &r, &c);
            }
            Phase::HostQuery => {
                self.fleet.instances[r.instance as usize].cancel_host(sched, req);
                self.release_connection(sched, &r, &c);
            }
            Phase::Reply => {
                self.release_connection(sched, &r, &c);
                if r.background {
                    // A write-behind flush holds no worker (below), but its
                    // reply holds a thread.
                    self.fleet.instances[r.instance as usize].leave_thread(sched, req);
                }
            }
            _ => {}
        }
        // A call cut short by the failure has no result for its breaker.
        let permit = Permit { epoch: c.breaker_epoch };
        match r.phase {
            Phase::PoolWait | Phase::Connecting | Phase::HostQuery | Phase::Query | Phase::Reply if !r.background => {
                if let Some(b) = &mut self.data.breaker {
                    b.cancel(permit);
                }
            }
            Phase::L2 => {
                if let Some(b) = &mut self.caches.breaker {
                    b.cancel(permit);
                }
            }
            _ => {}
        }
        if has_worker && !r.background {
            let on_thread = matches!(r.phase, Phase::Cpu | Phase::Reply);
            self.fleet.instances[r.instance as usize].abandon(sched, req, on_thread);
        }
        self.finish_with(sched, req, self.fleet.abort_outcome, false);
    }

    /// Keep group `g`'s lowest and highest desired count.
    pub(super) fn note_desired(&mut self, g: usize, to: u32) {
        let p = &mut self.peaks;
        p.desired_min[g] = p.desired_min[g].min(to);
        p.desired_max[g] = p.desired_max[g].max(to);
    }

    /// Record a change of a group's desired count.
    pub(super) fn set_desired(&mut self, now: SimTime, g: usize, to: u32, reason: ScalingReason) {
        let from = self.fleet.groups[g].desired;
        self.note_desired(g, to);
        if from != to {
            self.fleet.groups[g].desired = to;
            self.rec.scaling_events.push(ScalingEvent {
                time_s: now.as_secs_f64(),
                group: g as u16,
                from,
                to,
                reason: reason.text,
                hpa: reason.hpa,
            });
            self.note_replicas(now);
        }
    }

    pub(super) fn on_autoscale(&mut self, sched: &mut Scheduler<Msg>, g: usize) {
        let now = sched.now();
        let group = &self.fleet.groups[g];
        let (instances, pools) = (&mut self.fleet.instances, &mut self.data.pools);
        let mut obs = self
            .scaling
            .observe(now, g, group.desired, &group.members, instances, pools);
        // Requests held for a ready instance wait too (a broker's backlog
        // while scaled to zero): counted as they stand at this sync.
        if let Some(w) = &mut obs.waiting {
            *w += self.held[g].len() as f64;
        }
        let Some(a) = self.scaling.groups[g].autoscaler.as_mut() else {
            return;
        };
        let interval = a.interval;
        let (desired, why) = match &mut self.scaling.pipeline {
            // The controller's view: pods and their latest visible samples.
            Some(p) => {
                p.scrape(now, &mut self.fleet.instances);
                let pods = p.view(now, &self.fleet.groups[g].members, &self.fleet.instances);
                a.evaluate_seen(&obs, &pods)
            }
            None => a.evaluate(&obs),
        };
        // The policy's answer is relative to the current size; a failed
        // instance not yet replaced still counts as desired.
        self.set_desired(now, g, desired, why);
        self.reconcile(sched, g);
        if now + interval <= self.sc.simulation.duration {
            sched.schedule_in(interval, Msg::Autoscale { group: g as u16 });
        }
    }

    /// metrics-server's scrape of every pod; the next one on the grid.
    pub(super) fn on_metrics_scrape(&mut self, sched: &mut Scheduler<Msg>) {
        let now = sched.now();
        let Some(p) = &mut self.scaling.pipeline else { return };
        p.scrape(now, &mut self.fleet.instances);
        let next = p.next_scrape();
        if next <= self.sc.simulation.duration {
            sched.schedule_at(next, Msg::MetricsScrape);
        }
    }
}
