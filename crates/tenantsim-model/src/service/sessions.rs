//! Long-lived sessions (`[sessions]`): WebSocket-like connections held on
//! an instance, and the messages they send.
//!
//! Owns the session table, each instance's message-generation counter
//! (a pending message event is stale once the counter moved on), each
//! group's session-balancer position, the connected-sessions gauge, the
//! session streams (arrivals per workload; lifetimes, reconnect delays and
//! handshakes; messages), and the count of session jobs in the slab.
//!
//! A session connects to a ready instance of its group under the
//! per-instance cap, holds memory there, and sends messages: jobs that
//! queue for a worker and use CPU beside requests, outside the request
//! counts. An instance that stops serving drops its sessions; each client
//! reconnects after the reconnect delay, backing off after refusals.
//!
//! Must not: count session work as requests (conservation counts client
//! requests only; `jobs_live` is subtracted). Invariants: an instance's
//! message rate is redrawn whenever its session count changes (exact by
//! memorylessness); `msg_gen` has one entry per instance launched.

use super::Service;
use crate::instance::{InstanceState, Offer};
use crate::metrics::TimeIntegral;
use crate::request::{Job, Request, RequestCold, NO_USER};
use crate::session::{SessionRef, SessionTable, NOT_CONNECTED};
use crate::spec::{Jitter, Scenario, SessionPopulation};
use crate::Msg;
use rand::RngExt;
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

/// The sessions and their streams.
pub(super) struct Sessions {
    pub(super) table: Option<SessionTable>,
    /// Per instance: the generation of its pending message event.
    pub(super) msg_gen: Vec<u32>,
    /// Per group: the session balancer's round-robin position.
    rr: Vec<u32>,
    /// Connected sessions over time.
    pub(super) open: TimeIntegral,
    /// Draws of session arrivals (per workload), of lifetimes, reconnect
    /// delays and handshakes, and of messages.
    arrivals: Vec<SimRng>,
    rng: SimRng,
    msg_rng: SimRng,
    /// Session messages and handshakes in the slab (not client requests).
    pub(super) jobs_live: u64,
}

impl Sessions {
    pub(super) fn new(sc: &Scenario, streams: &RngStreams, groups: usize) -> Self {
        Sessions {
            table: sc.sessions.as_ref().map(|s| SessionTable::new(s.max_per_instance)),
            msg_gen: Vec::new(),
            rr: vec![0; groups],
            open: TimeIntegral::new(SimTime::ZERO),
            arrivals: (0..sc.workloads.len())
                .map(|w| streams.stream(StreamId::Other(3100 + w as u32)))
                .collect(),
            rng: streams.stream(StreamId::Other(3000)),
            msg_rng: streams.stream(StreamId::Other(3001)),
            jobs_live: 0,
        }
    }

    /// The most sessions one of the `instances` holds now (time series).
    pub(super) fn max_now(&self, instances: usize) -> Option<u32> {
        let t = self.table.as_ref()?;
        Some((0..instances as u32).map(|i| t.count(i)).max().unwrap_or(0))
    }
}

impl Service<'_> {
    /// Sessions held all run connect at t = 0 (already established: no
    /// handshake); session arrivals start.
    pub(super) fn start_sessions(&mut self, sched: &mut Scheduler<Msg>) {
        let sc = self.sc;
        for (w, wl) in sc.workloads.iter().enumerate() {
            match &wl.sessions {
                None => {}
                Some(SessionPopulation::PerTenant(n)) => {
                    let first = self.clients.workloads[w].first_tenant;
                    for t in 0..wl.tenants {
                        for _ in 0..*n {
                            let s = self.session_table().open(first + t, wl.tier as u16, SimTime::ZERO);
                            self.try_connect(sched, s, false);
                        }
                    }
                }
                Some(SessionPopulation::Arrivals { .. }) => self.schedule_session_arrival(sched, w),
            }
        }
    }

    pub(super) fn session_table(&mut self) -> &mut SessionTable {
        // Session events exist only with [sessions].
        self.sessions.table.as_mut().expect("[sessions] configured")
    }

    pub(super) fn schedule_session_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let Some(SessionPopulation::Arrivals { rate_per_s, .. }) = &self.sc.workloads[w].sessions else {
            return;
        };
        let rate = rate_per_s * self.clients.workloads[w].tenants as f64;
        let u: f64 = self.sessions.arrivals[w].random();
        let at = sched.now() + SimTime::from_secs_f64(-(1.0 - u).ln() / rate);
        if at <= self.sc.simulation.duration {
            sched.schedule_at(at, Msg::SessionArrival { workload: w as u32 });
        }
    }

    /// A tenant of workload `w` opens a session: it lives a drawn
    /// lifetime, and connects now.
    pub(super) fn on_session_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let now = sched.now();
        let ws = &self.clients.workloads[w];
        let (first, tenants, tier) = (ws.first_tenant, ws.tenants, ws.tier);
        let tenant = first + self.sessions.arrivals[w].random_range(0..tenants);
        let s = self.session_table().open(tenant, tier, now);
        if let Some(SessionPopulation::Arrivals { lifetime, .. }) = &self.sc.workloads[w].sessions {
            let at = now + lifetime.sample(&mut self.sessions.arrivals[w]);
            if at <= self.sc.simulation.duration {
                sched.schedule_at(
                    at,
                    Msg::SessionClose {
                        session: s.idx,
                        gen: s.gen,
                    },
                );
            }
        }
        self.try_connect(sched, s, true);
        self.schedule_session_arrival(sched, w);
    }

    /// Session `s` tries to connect through its group's session balancer
    /// (`handshake`: the instance does the handshake's CPU work). Refused,
    /// the client backs off and tries again, up to `attempts` in all.
    pub(super) fn try_connect(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef, handshake: bool) {
        let sc = self.sc;
        let spec = sc.sessions.as_ref().expect("[sessions] configured");
        let now = sched.now();
        let measured = now >= self.rec.warmup();
        let Some(sess) = self.sessions.table.as_ref().and_then(|t| t.get(s)) else {
            return;
        };
        if sess.instance != NOT_CONNECTED {
            return;
        }
        let (tier, reconnecting) = (sess.tier as usize, sess.reconnecting);
        if reconnecting && measured {
            self.rec.session_reconnects += 1;
        }
        let g = self.fleet.tier_group[tier] as usize;
        let instances = &self.fleet.instances;
        let ready = self.fleet.groups[g]
            .members
            .iter()
            .copied()
            .filter(move |&i| instances[i as usize].state == InstanceState::Ready);
        let table = self.sessions.table.as_mut().expect("[sessions] configured");
        let choice = table.choose(spec.balancer, ready, &mut self.sessions.rr[g]);
        match choice {
            Ok(inst) => {
                // `choose` checked the cap.
                table.connect(s, inst, now).expect("instance below its cap");
                if let Some(x) = table.get_mut(s) {
                    x.reconnecting = false;
                }
                self.sessions_changed(sched, inst, 1.0);
                if self.sc.memory.is_some() {
                    self.memory_admitted(sched, inst as usize);
                }
                let alive = self.fleet.instances[inst as usize].state == InstanceState::Ready;
                if let (true, true, Some(d)) = (alive, handshake, &spec.connect_cpu) {
                    let cpu = d.sample(&mut self.sessions.rng);
                    self.spawn_job(sched, inst, tier, cpu, Job::Handshake);
                }
            }
            Err(_) => {
                if measured {
                    self.rec.session_rejects += 1;
                }
                let sess = table.get_mut(s).expect("live session");
                sess.attempt += 1;
                let k = sess.attempt;
                if k >= spec.attempts {
                    if measured {
                        self.rec.sessions_lost += 1;
                    }
                    table.close(s);
                    return;
                }
                // Exponential backoff: base × 2^(k-1), capped, jittered.
                let exp = spec.backoff_base.as_secs_f64() * 2f64.powi(k as i32 - 1);
                let d = exp.min(spec.backoff_max.as_secs_f64());
                let d = match spec.jitter {
                    Jitter::None => d,
                    Jitter::Full => d * self.sessions.rng.random::<f64>(),
                    Jitter::Equal => d / 2.0 + d / 2.0 * self.sessions.rng.random::<f64>(),
                };
                self.schedule_connect(sched, s, SimTime::from_secs_f64(d));
            }
        }
    }

    pub(super) fn schedule_connect(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef, after: SimTime) {
        let at = sched.now() + after;
        if at <= self.sc.simulation.duration {
            sched.schedule_at(
                at,
                Msg::SessionConnect {
                    session: s.idx,
                    gen: s.gen,
                },
            );
        }
    }

    /// Instance `inst` gained (`delta` > 0) or lost sessions: its memory,
    /// its message rate, the gauges.
    pub(super) fn sessions_changed(&mut self, sched: &mut Scheduler<Msg>, inst: u32, delta: f64) {
        let now = sched.now();
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        let n = self.sessions.table.as_ref().map_or(0, |t| t.count(inst));
        self.fleet.instances[inst as usize].set_session_mb(now, n as f64 * spec.memory_per_session_mb);
        self.sessions.open.add(now, delta);
        self.rec.iv_session_max = self.rec.iv_session_max.max(n);
        self.schedule_messages(sched, inst);
    }

    /// The sessions of `inst` send messages as one Poisson stream of rate
    /// sessions × message_rate_per_s (a superposition of Poisson streams;
    /// redrawn whenever the count changes, exact by memorylessness).
    pub(super) fn schedule_messages(&mut self, sched: &mut Scheduler<Msg>, inst: u32) {
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        if spec.message_rate_per_s <= 0.0 {
            return;
        }
        let i = inst as usize;
        self.sessions.msg_gen[i] = self.sessions.msg_gen[i].wrapping_add(1);
        let n = self.sessions.table.as_ref().map_or(0, |t| t.count(inst));
        if n == 0 || self.fleet.instances[i].state != InstanceState::Ready {
            return;
        }
        let u: f64 = self.sessions.msg_rng.random();
        let gap = -(1.0 - u).ln() / (n as f64 * spec.message_rate_per_s);
        let at = sched.now() + SimTime::from_secs_f64(gap);
        if at <= self.sc.simulation.duration {
            sched.schedule_at(
                at,
                Msg::SessionMessage {
                    instance: inst,
                    gen: self.sessions.msg_gen[i],
                },
            );
        }
    }

    /// One of `inst`'s sessions, at random, sends a message: CPU work on
    /// `inst`, queued for a worker like a request.
    pub(super) fn on_session_message(&mut self, sched: &mut Scheduler<Msg>, inst: u32, gen: u32) {
        let i = inst as usize;
        if self.sessions.msg_gen[i] != gen || self.fleet.instances[i].state != InstanceState::Ready {
            return;
        }
        let now = sched.now();
        let table = self.sessions.table.as_mut().expect("[sessions] configured");
        let n = table.count(inst);
        if n == 0 {
            return;
        }
        let idx = table.nth(inst, self.sessions.msg_rng.random_range(0..n));
        table.touch(idx, now);
        let tier = table.handle(idx);
        let tier = table.get(tier).map_or(0, |x| x.tier as usize);
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        let cpu = spec
            .message_cpu
            .as_ref()
            .expect("messages have a message_cpu")
            .sample(&mut self.sessions.msg_rng);
        self.spawn_job(sched, inst, tier, cpu, Job::Message);
        // The next message, unless the job's memory killed the instance
        // (which moved the generation on).
        if self.sessions.msg_gen[i] == gen {
            self.schedule_messages(sched, inst);
        }
    }

    /// Session work of `cpu` for a session of `tier` on `inst`: it waits
    /// for a worker like a request (refused when the queue is full).
    pub(super) fn spawn_job(&mut self, sched: &mut Scheduler<Msg>, inst: u32, tier: usize, cpu: SimTime, job: Job) {
        let now = sched.now();
        let measured = now >= self.rec.warmup();
        let req = Request {
            tier: tier as u16,
            user: NO_USER,
            instance: inst,
            arrival: now,
            cpu,
            measured,
            level: self.tier_level[tier],
            job,
            ..Request::default()
        };
        let cold = RequestCold {
            enqueued: now,
            stage_since: now,
            wait_since: now,
            ..RequestCold::default()
        };
        let r = self.requests.insert(req, &cold);
        match self.fleet.instances[inst as usize].offer(sched, r, cpu, req.level) {
            Offer::Started | Offer::Queued => {
                self.sessions.jobs_live += 1;
                if self.sc.memory.is_some() {
                    self.memory_admitted(sched, inst as usize);
                }
            }
            Offer::Full => {
                self.requests.remove(r);
                if job == Job::Message {
                    self.rec.message(measured, false, SimTime::ZERO);
                }
            }
        }
    }

    /// Instance `inst` stops serving (failed, killed, scaled in): its
    /// sessions are dropped and their clients reconnect after the
    /// reconnect delay.
    pub(super) fn drop_sessions(&mut self, sched: &mut Scheduler<Msg>, inst: u32) {
        let Some(table) = self.sessions.table.as_mut() else {
            return;
        };
        let dropped = table.disconnect_all(inst);
        if dropped.is_empty() {
            return;
        }
        if sched.now() >= self.rec.warmup() {
            self.rec.session_drops += dropped.len() as u64;
        }
        self.sessions_changed(sched, inst, -(dropped.len() as f64));
        for s in dropped {
            self.reconnect_later(sched, s);
        }
    }

    /// A dropped session's client reconnects after the reconnect delay.
    pub(super) fn reconnect_later(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef) {
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        if let Some(x) = self.session_table().get_mut(s) {
            x.reconnecting = true;
            x.attempt = 0;
        }
        let d = spec.reconnect_delay.sample(&mut self.sessions.rng);
        self.schedule_connect(sched, s, d);
    }

    /// Memory `prune-connections`: close `fraction` of `id`'s sessions.
    pub(super) fn prune_sessions(
        &mut self,
        sched: &mut Scheduler<Msg>,
        id: u32,
        fraction: f64,
        oldest: bool,
        reconnect: bool,
    ) {
        let Some(table) = self.sessions.table.as_mut() else {
            return;
        };
        let victims = table.prune_candidates(id, fraction, oldest);
        if victims.is_empty() {
            return;
        }
        for &v in &victims {
            let s = table.handle(v);
            if reconnect {
                table.disconnect(v);
            } else {
                table.close(s);
            }
        }
        if sched.now() >= self.rec.warmup() {
            self.rec.sessions_pruned += victims.len() as u64;
        }
        self.sessions_changed(sched, id, -(victims.len() as f64));
        if reconnect {
            for v in victims {
                let s = self.session_table().handle(v);
                self.reconnect_later(sched, s);
            }
        }
    }

    /// Session `s` closes (its lifetime is over).
    pub(super) fn on_session_close(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef) {
        if let Some(inst) = self.sessions.table.as_mut().and_then(|t| t.close(s)) {
            self.sessions_changed(sched, inst, -1.0);
        }
    }
}
