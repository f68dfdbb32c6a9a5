//! The clients: each workload's tenants, their arrivals (open streams,
//! closed users with think times, ramps, finite tests, traces), the
//! cache keys and client addresses they use, and client retries.
//!
//! Owns the workloads' generators and streams, the finite-test count of
//! users still sending, and the retry stream. The `Service` methods here
//! schedule arrivals and user turns and, once a request's outcome is known
//! to its client, record it and retry it (a retry is a new arrival) or let
//! the user think and send again.
//!
//! Must not: decide a request's fate (the gateway and the server do), or
//! draw from another part's stream. Invariants: the draws of a request
//! (endpoint, key, address) happen in the same order whatever the limits
//! decide (common random numbers across configurations); a ramped user is
//! never started twice (`user_busy`); a finite test ends the run when its
//! last user is done and nothing is in flight.

use super::Service;
use crate::metrics::Outcome;
use crate::request::{Request, NO_USER};
use crate::spec::{Arrival, Jitter, RateLimit, Scenario};
use crate::workload::{ArrivalGen, UserRamp};
use crate::Msg;
use rand::RngExt;
use tenantsim_engine::zipf::{ZipfCache, ZipfRanks};
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

pub(super) struct WorkloadState {
    pub(super) gen: ArrivalGen,
    pub(super) arrivals: SimRng,
    pub(super) tenant_pick: SimRng,
    pub(super) mix_pick: SimRng,
    pub(super) think: SimRng,
    pub(super) keys: SimRng,
    pub(super) zipf: Option<ZipfRanks>,
    pub(super) shared_keys: bool,
    /// Client-address popularity (`clients`) and its stream.
    pub(super) clients: Option<ZipfRanks>,
    pub(super) client_pick: SimRng,
    pub(super) shared_clients: bool,
    pub(super) first_tenant: u32,
    pub(super) tenants: u32,
    pub(super) tier: u16,
    pub(super) next_rr: u32,
    /// Closed workloads: user slots per tenant (the most ever active).
    pub(super) users_per_tenant: u32,
    /// Closed workloads: users per tenant active now (local indices below
    /// this may send; the others retire after their current request).
    pub(super) active: u32,
    /// Ramped closed workloads: the schedule, and the count the next
    /// `Ramp` message applies.
    pub(super) ramp: Option<UserRamp>,
    pub(super) ramp_pending: u32,
    /// Ramped closed workloads: per user, whether it has a request or a
    /// think time under way (so a user coming back is not started twice).
    pub(super) user_busy: Vec<bool>,
    /// Finite tests: requests each user still has to finish.
    pub(super) requests_left: Vec<u32>,
    /// Recorded tenant/endpoint of the next trace arrival.
    pub(super) pending: Option<crate::spec::TraceEvent>,
}

/// The workloads and the clients' own streams.
pub(super) struct Clients {
    pub(super) workloads: Vec<WorkloadState>,
    retry_rng: SimRng,
    /// Finite tests: users still sending; the run ends when it reaches
    /// zero and nothing is in flight.
    finite_users_left: u64,
    finite: bool,
}

/// Each tenant's gateway limits, in tenant order: its tier's rate limit,
/// and its cap on requests in flight (the tier's `max_concurrency`, and
/// its memory quota if any).
pub(super) fn tenant_limits(sc: &Scenario) -> Vec<(Option<RateLimit>, u32)> {
    let mut limits = Vec::with_capacity(sc.tenant_count() as usize);
    let per_req_mb = sc.instance.memory_per_request_mb;
    for w in &sc.workloads {
        let tier = &sc.tiers[w.tier];
        // A memory quota caps the tenant's requests in flight.
        let quota = match tier.memory_mb {
            Some(m) if per_req_mb > 0.0 => (m / per_req_mb).floor().max(1.0) as u32,
            _ => u32::MAX,
        };
        let cap = tier.max_concurrency.unwrap_or(u32::MAX).min(quota);
        for _ in 0..w.tenants {
            limits.push((tier.rate_limit, cap));
        }
    }
    limits
}

impl Clients {
    pub(super) fn new(sc: &Scenario, streams: &RngStreams) -> Self {
        let mut workloads = Vec::with_capacity(sc.workloads.len());
        let mut zipf_tables = ZipfCache::default();
        let mut first_tenant = 0u32;
        for (i, w) in sc.workloads.iter().enumerate() {
            let mut arrivals = streams.stream(StreamId::Arrivals(i as u32));
            let gen = ArrivalGen::new(&w.arrival, w.tenants, &mut arrivals);
            let users_per_tenant = w.arrival.max_users();
            let slots = (w.tenants * users_per_tenant) as usize;
            let (active, ramp, requests_left) = match &w.arrival {
                Arrival::Closed {
                    users,
                    stages,
                    requests_per_user,
                    ..
                } => (
                    *users,
                    (!stages.is_empty()).then(|| UserRamp::new(stages.clone())),
                    requests_per_user.map_or(Vec::new(), |m| vec![m; slots]),
                ),
                _ => (0, None, Vec::new()),
            };
            let user_busy = if ramp.is_some() { vec![false; slots] } else { Vec::new() };
            // Parameters were validated (items >= 1, 0 <= zipf <= 5).
            let zipf = w.keys.map(|k| zipf_tables.get(k.items, k.zipf));
            workloads.push(WorkloadState {
                gen,
                arrivals,
                tenant_pick: streams.stream(StreamId::TenantChoice(i as u32)),
                mix_pick: streams.stream(StreamId::EndpointMix(i as u32)),
                think: streams.stream(StreamId::ThinkTime(i as u32)),
                keys: streams.stream(StreamId::CacheKeys(i as u32)),
                zipf,
                shared_keys: w.keys.is_some_and(|k| k.shared),
                // Validated: addresses >= 1, 0 <= zipf <= 5.
                clients: w.clients.map(|c| zipf_tables.get(c.addresses as u64, c.zipf)),
                client_pick: streams.stream(StreamId::Other(3000 + i as u32)),
                shared_clients: w.clients.is_some_and(|c| c.shared),
                first_tenant,
                tenants: w.tenants,
                tier: w.tier as u16,
                next_rr: 0,
                users_per_tenant,
                active,
                ramp,
                ramp_pending: 0,
                user_busy,
                requests_left,
                pending: None,
            });
            first_tenant += w.tenants;
        }
        Clients {
            workloads,
            retry_rng: streams.stream(StreamId::Retry),
            finite_users_left: sc
                .workloads
                .iter()
                .filter(|w| w.arrival.is_finite())
                .map(|w| w.tenants as u64 * w.arrival.max_users() as u64)
                .sum(),
            finite: sc.has_finite_workload(),
        }
    }

    /// Every finite test is over (false without finite workloads).
    pub(super) fn all_done(&self) -> bool {
        self.finite && self.finite_users_left == 0
    }

    pub(super) fn pick_endpoint(&mut self, sc: &Scenario, w: usize) -> usize {
        let mix = &sc.workloads[w].mix;
        if mix.len() == 1 {
            return mix[0].0;
        }
        let u: f64 = self.workloads[w].mix_pick.random();
        mix.iter().find(|(_, c)| u < *c).unwrap_or(&mix[mix.len() - 1]).0
    }

    pub(super) fn draw_key(&mut self, w: usize, tenant: u32) -> u64 {
        let ws = &mut self.workloads[w];
        let Some(z) = &ws.zipf else { return 0 };
        let k = z.sample(&mut ws.keys);
        if ws.shared_keys {
            k
        } else {
            ((tenant as u64) << 32) | k
        }
    }

    /// The full cache key of rank `k` for `tenant` of workload `w` (a
    /// retry carries the rank only).
    pub(super) fn key_of(&self, w: usize, tenant: u32, k: u32) -> u64 {
        let ws = &self.workloads[w];
        if ws.zipf.is_none() || ws.shared_keys {
            k as u64
        } else {
            ((tenant as u64) << 32) | k as u64
        }
    }

    /// The client address of a request of `tenant` (workload `w`): index
    /// `addr` in the tenant's population, or the workload's if shared.
    pub(super) fn ip_of(&self, w: usize, tenant: u32, addr: u32) -> u64 {
        if self.workloads[w].clients.is_none() {
            return 0;
        }
        let pop = if self.workloads[w].shared_clients {
            (1u64 << 31) | w as u64
        } else {
            tenant as u64
        };
        (pop << 32) | addr as u64
    }

    /// Draw a client address for a request of workload `w` (0 without
    /// `clients`).
    pub(super) fn draw_ip(&mut self, w: usize, tenant: u32) -> u64 {
        let ws = &mut self.workloads[w];
        let Some(z) = &ws.clients else { return 0 };
        let a = z.sample(&mut ws.client_pick) as u32;
        self.ip_of(w, tenant, a)
    }
}

impl Service<'_> {
    /// First arrivals; closed users start after one think time each, so
    /// they do not all fire at t = 0. A ramp starts its active users the
    /// same way and the others as it reaches them.
    pub(super) fn start_clients(&mut self, sched: &mut Scheduler<Msg>) {
        let sc = self.sc;
        for w in 0..self.clients.workloads.len() {
            let ws = &mut self.clients.workloads[w];
            if matches!(ws.gen, ArrivalGen::Closed) {
                let users = ws.tenants * ws.users_per_tenant;
                for u in 0..users {
                    if u % ws.users_per_tenant >= ws.active {
                        continue;
                    }
                    if let Some(b) = ws.user_busy.get_mut(u as usize) {
                        *b = true;
                    }
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
                self.schedule_ramp(sched, w);
            } else {
                self.schedule_next_arrival(sched, w);
            }
        }
    }

    /// A client retries a request (same workload, tenant, endpoint, user,
    /// key rank and address index).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_retry(
        &mut self,
        sched: &mut Scheduler<Msg>,
        workload: u16,
        endpoint: u16,
        attempt: u8,
        tenant: u32,
        user: u32,
        key: u32,
        ip: u32,
    ) {
        let w = workload as usize;
        let key = self.clients.key_of(w, tenant, key);
        let ip = self.clients.ip_of(w, tenant, ip);
        self.new_request(
            sched,
            w,
            tenant,
            Some(endpoint as usize),
            user,
            attempt,
            Some(key),
            Some(ip),
        )
    }

    pub(super) fn schedule_next_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.clients.workloads[w];
        if let Some((t, ev)) = ws.gen.next(sched.now(), &mut ws.arrivals) {
            ws.pending = ev;
            if t <= self.sc.simulation.duration {
                sched.schedule_at(t, Msg::Arrival { workload: w as u32 });
            }
        }
    }

    pub(super) fn on_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.clients.workloads[w];
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
        self.new_request(sched, w, tenant, endpoint, NO_USER, 0, None, None);
    }

    pub(super) fn on_user_ready(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        let ws = &mut self.clients.workloads[w];
        if ws.ramp.is_some() && user % ws.users_per_tenant >= ws.active {
            // Ramped down while thinking: retire without sending.
            ws.user_busy[user as usize] = false;
            return;
        }
        let tenant = ws.first_tenant + user / ws.users_per_tenant.max(1);
        self.new_request(sched, w, tenant, None, user, 0, None, None);
    }

    /// Schedule the next change of workload `w`'s ramp, if any is due
    /// before the end.
    pub(super) fn schedule_ramp(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.clients.workloads[w];
        let Some(ramp) = &mut ws.ramp else { return };
        if let Some((at, count)) = ramp.next_change() {
            if at <= self.sc.simulation.duration {
                ws.ramp_pending = count;
                sched.schedule_at(at, Msg::Ramp { workload: w as u32 });
            }
        }
    }

    /// A ramp step: users that become active and are idle start at once
    /// (k6 starts a VU's iteration immediately); users above the new count
    /// retire after their current request or think time.
    pub(super) fn on_ramp(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.clients.workloads[w];
        let (old, new) = (ws.active, ws.ramp_pending);
        ws.active = new;
        for t in 0..ws.tenants {
            for local in old..new.max(old) {
                let u = t * ws.users_per_tenant + local;
                if !ws.user_busy[u as usize] {
                    ws.user_busy[u as usize] = true;
                    sched.schedule_in(
                        SimTime::ZERO,
                        Msg::UserReady {
                            workload: w as u32,
                            user: u,
                        },
                    );
                }
            }
        }
        self.schedule_ramp(sched, w);
    }

    /// A closed-workload user got its final answer: think, then send the
    /// next request — unless its finite test is over or a ramp retired it.
    pub(super) fn user_next(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        if user == NO_USER {
            return;
        }
        let ws = &mut self.clients.workloads[w];
        if let Some(left) = ws.requests_left.get_mut(user as usize) {
            *left -= 1;
            if *left == 0 {
                self.clients.finite_users_left -= 1;
                self.end_if_done(sched);
                return;
            }
        }
        if ws.ramp.is_some() && user % ws.users_per_tenant >= ws.active {
            ws.user_busy[user as usize] = false;
            return;
        }
        if let Arrival::Closed { think, .. } = &self.sc.workloads[w].arrival {
            let d = think.sample(&mut self.clients.workloads[w].think);
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

    /// The client learns the outcome of one attempt: record it, then retry
    /// or move on (closed users think, then send again).
    pub(super) fn client_result(
        &mut self,
        sched: &mut Scheduler<Msg>,
        r: &Request,
        ip: u64,
        outcome: Outcome,
        latency: SimTime,
    ) {
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
                    Outcome::InstanceFailure | Outcome::NoInstance => on.instance_failure,
                    Outcome::BreakerOpen => on.breaker_open,
                    Outcome::Shed => on.shed,
                    Outcome::StageFailure => on.stage_failure,
                    Outcome::OomKilled => on.oom_killed,
                };
                if retryable && (r.attempt as u32) + 1 < rs.attempts {
                    // Exponential backoff: base × 2^attempt, capped, jittered.
                    let exp = rs.base.as_secs_f64() * 2f64.powi(r.attempt as i32);
                    let d = exp.min(rs.max.as_secs_f64());
                    let d = match rs.jitter {
                        Jitter::None => d,
                        Jitter::Full => d * self.clients.retry_rng.random::<f64>(),
                        Jitter::Equal => d / 2.0 + d / 2.0 * self.clients.retry_rng.random::<f64>(),
                    };
                    let at = sched.now() + SimTime::from_secs_f64(d);
                    if at <= self.sc.simulation.duration {
                        self.rec.retry(tier, sched.now() >= self.rec.warmup());
                        sched.schedule_at(
                            at,
                            Msg::Retry {
                                workload: r.workload,
                                endpoint: r.endpoint,
                                attempt: r.attempt + 1,
                                tenant: r.tenant,
                                user: r.user,
                                // Ranks below 2^32 (items <= 10^9): the
                                // tenant namespace is added back.
                                key: r.key as u32,
                                ip: ip as u32,
                            },
                        );
                    }
                    return;
                }
            }
        }
        self.user_next(sched, r.workload as usize, r.user);
    }
}
