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

use super::autoscaler::{self, Autoscaler, Observation, ScaleMetric};
use super::balancer::Balancer;
use super::breaker::{CircuitBreaker, Permit, Transition};
use super::cache::{Cache, EvictionPolicy};
use super::database::Database;
use super::gateway::{Gateway, Refusal};
use super::instance::{Instance, InstanceState, Offer};
use super::limiter::{CounterStore, CounterTable};
use super::pool::{Acquire, ConnectionPool, Grant};
use super::request::{Job, Phase, ReqRef, Request, Requests, NO_USER};
use super::session::{SessionRef, SessionTable, NOT_CONNECTED};
use super::shedding::{ShedMeter, ShedSignal};
use super::workload::{ArrivalGen, UserRamp};
use super::{Conservation, Msg, Peaks, Station};
use crate::engine::zipf::{ZipfCache, ZipfRanks};
use crate::engine::{Model, RngStreams, Scheduler, SimRng, SimTime, StreamId, Timer};
use crate::metrics::{CacheEvent, GaugeAreas, LatencyHistogram, Outcome, Recorder, ScalingEvent, TimeIntegral};
use crate::scenario::{
    Arrival, CacheLevel, CachePolicy, DbRoute, Fallback, FaultKind, Isolation, Jitter, MemoryActionKind, PauseEvery,
    PolicySpec, PoolScope, ReplicaRouting, ScaleIn, Scenario, SessionPopulation, WritePolicy,
};
use rand::{Rng, RngExt, SeedableRng};

struct WorkloadState {
    gen: ArrivalGen,
    arrivals: SimRng,
    tenant_pick: SimRng,
    mix_pick: SimRng,
    think: SimRng,
    keys: SimRng,
    zipf: Option<ZipfRanks>,
    shared_keys: bool,
    /// Client-address popularity (`clients`) and its stream.
    clients: Option<ZipfRanks>,
    client_pick: SimRng,
    shared_clients: bool,
    first_tenant: u32,
    tenants: u32,
    tier: u16,
    next_rr: u32,
    /// Closed workloads: user slots per tenant (the most ever active).
    users_per_tenant: u32,
    /// Closed workloads: users per tenant active now (local indices below
    /// this may send; the others retire after their current request).
    active: u32,
    /// Ramped closed workloads: the schedule, and the count the next
    /// `Ramp` message applies.
    ramp: Option<UserRamp>,
    ramp_pending: u32,
    /// Ramped closed workloads: per user, whether it has a request or a
    /// think time under way (so a user coming back is not started twice).
    user_busy: Vec<bool>,
    /// Finite tests: requests each user still has to finish.
    requests_left: Vec<u32>,
    /// Recorded tenant/endpoint of the next trace arrival.
    pending: Option<crate::scenario::TraceEvent>,
}

/// An instance group: the shared one, or a dedicated tier's.
struct Group {
    balancer: Balancer,
    /// Instances not yet stopped, in start order.
    members: Vec<u32>,
    desired: u32,
    autoscaler: Option<Autoscaler>,
    /// Instances younger than this are left out of the autoscaler's metrics.
    warmup: SimTime,
    /// Pool classes its instances use.
    classes: Vec<u16>,
    /// Failed instances whose replacement is not due yet (mttr, outage):
    /// reconciling leaves them out until their `Replace` message.
    owed: u32,
    // The autoscaler's observation window.
    last_obs: SimTime,
    arrivals: u64,
    latency: Option<LatencyHistogram>,
}

fn new_cache(level: &CacheLevel, stale_grace: SimTime) -> Cache {
    let policy = match level.policy {
        CachePolicy::Lru => EvictionPolicy::Lru,
        CachePolicy::Fifo => EvictionPolicy::Fifo,
        CachePolicy::Lfu => EvictionPolicy::Lfu,
        CachePolicy::None => EvictionPolicy::None,
    };
    let mut c = Cache::new(level.capacity as usize, policy, level.ttl);
    c.keep_stale_for(stale_grace);
    c
}

/// How long caches keep expired copies for the database breaker's stale
/// fallback (zero without one).
fn stale_grace(sc: &Scenario) -> SimTime {
    match &sc.breakers.database {
        Some(b) if b.fallback == Fallback::Stale => b.stale_for,
        _ => SimTime::ZERO,
    }
}

/// One replication of a scenario: all actors plus the recorder.
pub struct Service<'s> {
    sc: &'s Scenario,
    requests: Requests,
    gateway: Gateway,
    groups: Vec<Group>,
    /// Group of each tier.
    tier_group: Vec<u16>,
    /// Priority level of each tier (0 first) and the number of levels.
    tier_level: Vec<u8>,
    levels: usize,
    instances: Vec<Instance>,
    /// Load-shedding meter of each instance (with `[shedding]`).
    shed_meters: Vec<ShedMeter>,
    l1: Vec<Option<Cache>>,
    l2: Option<Cache>,
    /// The persistent L3 (shared) and its latency stream.
    l3: Option<Cache>,
    l3_rng: SimRng,
    /// Per `[[rate_limit]]`: its counter tables (one if shared, else one
    /// per instance id), and which limiters are shared / local.
    limit_tables: Vec<Vec<CounterTable>>,
    shared_limits: Vec<usize>,
    local_limits: Vec<usize>,
    /// Scratch: (limiter, table, counter slot) of a layer's checks.
    limit_slots: Vec<(usize, usize, usize)>,
    limit_store: Option<CounterStore>,
    limit_store_rng: SimRng,
    /// Read replicas (the primary is `db`); database servers = 1 + replicas,
    /// and the next replica in rotation.
    replicas: Vec<Database>,
    targets: usize,
    replica_next: usize,
    /// Pool class of each tier: 0 for shared tiers, one per isolated tier.
    tier_class: Vec<u16>,
    classes: usize,
    pools: Vec<ConnectionPool>,
    /// Per-instance scope: pool index of (instance, class), u32::MAX if none.
    pool_slots: Vec<u32>,
    db: Option<Database>,
    workloads: Vec<WorkloadState>,
    cpu_rng: Vec<SimRng>,
    query_rng: Vec<SimRng>,
    /// Per endpoint: the stream of per-request stage seeds, and the flat
    /// index of its first stage in the recorder's stage figures.
    stage_rng: Vec<SimRng>,
    stage_base: Vec<u32>,
    latency_rng: SimRng,
    retry_rng: SimRng,
    fault_rng: SimRng,
    /// CPU demand multiplier per endpoint (latency-spike faults).
    cpu_factor: Vec<f64>,
    /// L2 latency multiplier (cache-slowdown faults).
    l2_factor: f64,
    /// Circuit breakers, and whether each is not closed (time integrals).
    db_breaker: Option<CircuitBreaker>,
    cache_breaker: Option<CircuitBreaker>,
    db_breaker_open: TimeIntegral,
    cache_breaker_open: TimeIntegral,
    /// The database breaker may serve stale copies: lookups note them.
    stale_fallback: bool,
    /// Per instance: draws of its background runs and pauses.
    chore_rng: Vec<SimRng>,
    streams: RngStreams,
    /// How requests on a failing instance end (OOM kills differ).
    abort_outcome: Outcome,
    /// Random-crash faults in force: (mtbf, mttr).
    random_crashes: Option<(SimTime, SimTime)>,
    pub rec: Recorder,
    in_system: TimeIntegral,
    ready: TimeIntegral,
    serving: TimeIntegral,
    alive: TimeIntegral,
    done_buf: Vec<ReqRef>,
    /// When the gauges were last cut.
    last_flush: SimTime,
    /// Write-behind flushes in progress (not client requests).
    background: u64,
    /// Finite tests: users still sending; the run ends when it reaches
    /// zero and nothing is in flight.
    finite_users_left: u64,
    finite: bool,
    pub conservation: Conservation,
    /// Long-lived sessions (with `[sessions]`).
    sessions: Option<SessionTable>,
    /// Per instance: the generation of its pending message event.
    msg_gen: Vec<u32>,
    /// Per group: the session balancer's round-robin position.
    session_rr: Vec<u32>,
    /// Connected sessions over time.
    sessions_open: TimeIntegral,
    /// Draws of session arrivals (per workload), of lifetimes, reconnect
    /// delays and handshakes, and of messages.
    session_arrivals: Vec<SimRng>,
    session_rng: SimRng,
    msg_rng: SimRng,
    /// Session messages and handshakes in the slab (not client requests).
    jobs_live: u64,
    /// The same accounting per tier.
    pub tier_conservation: Vec<Conservation>,
    /// High-water marks for cap checks.
    pub peaks: Peaks,
}

impl<'s> Service<'s> {
    /// Build the actors and schedule the first events.
    pub fn new(sc: &'s Scenario, replication: u32, sched: &mut Scheduler<Msg>) -> Self {
        let streams = RngStreams::new(sc.simulation.seed, replication as u64);
        let mut tenant_limits = Vec::with_capacity(sc.tenant_count() as usize);
        let mut workloads = Vec::with_capacity(sc.workloads.len());
        let mut zipf_tables = ZipfCache::default();
        let per_req_mb = sc.instance.memory_per_request_mb;
        for (i, w) in sc.workloads.iter().enumerate() {
            let tier = &sc.tiers[w.tier];
            let first_tenant = tenant_limits.len() as u32;
            // A memory quota caps the tenant's requests in flight.
            let quota = match tier.memory_mb {
                Some(m) if per_req_mb > 0.0 => (m / per_req_mb).floor().max(1.0) as u32,
                _ => u32::MAX,
            };
            let cap = tier.max_concurrency.unwrap_or(u32::MAX).min(quota);
            for _ in 0..w.tenants {
                tenant_limits.push((tier.rate_limit, cap));
            }
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
        }
        // Priority levels: distinct tier priorities, highest first.
        let mut prios: Vec<i64> = sc.tiers.iter().map(|t| t.priority).collect();
        prios.sort_unstable_by(|a, b| b.cmp(a));
        prios.dedup();
        let tier_level: Vec<u8> = sc
            .tiers
            .iter()
            .map(|t| prios.iter().position(|p| *p == t.priority).unwrap_or(0) as u8)
            .collect();
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
        // Groups: the shared group (if any tier uses it), then one per
        // dedicated tier.
        let mut groups = Vec::new();
        let mut tier_group = vec![0u16; sc.tiers.len()];
        let make_group = |groups: &mut Vec<Group>, initial: u32, classes: Vec<u16>, g: u32| {
            let autoscaler = sc.autoscaler.as_ref().map(|a| {
                let policy: Box<dyn autoscaler::Policy> = match &a.policy {
                    PolicySpec::None => Box::new(autoscaler::NoPolicy),
                    PolicySpec::Threshold {
                        rules,
                        step,
                        sustain,
                        scale_out_cooldown,
                        scale_in_cooldown,
                    } => Box::new(autoscaler::ThresholdPolicy::new(
                        rules.clone(),
                        *step,
                        *sustain,
                        *scale_out_cooldown,
                        *scale_in_cooldown,
                    )),
                    PolicySpec::Hpa {
                        metrics,
                        tolerance,
                        scale_up,
                        scale_down,
                    } => Box::new(autoscaler::HpaPolicy {
                        hpa: autoscaler::hpa::Hpa::new(autoscaler::hpa::HpaSpec {
                            min: a.min,
                            max: a.max,
                            tolerance: *tolerance,
                            scale_up: scale_up.clone(),
                            scale_down: scale_down.clone(),
                        }),
                        metrics: metrics.clone(),
                    }),
                    PolicySpec::TargetTracking {
                        metric,
                        target,
                        disable_scale_in,
                        scale_in_cooldown,
                        ..
                    } => Box::new(autoscaler::TargetTrackingPolicy::new(
                        *metric,
                        *target,
                        *disable_scale_in,
                        *scale_in_cooldown,
                    )),
                    PolicySpec::Step {
                        metric,
                        adjustments,
                        cooldown,
                    } => Box::new(autoscaler::StepPolicy::new(*metric, adjustments.clone(), *cooldown)),
                    PolicySpec::Schedule { entries } => Box::new(autoscaler::SchedulePolicy {
                        entries: entries.clone(),
                    }),
                };
                Autoscaler::new(a.min, a.max, a.interval, policy)
            });
            let warmup = match sc.autoscaler.as_ref().map(|a| &a.policy) {
                Some(PolicySpec::TargetTracking { warmup, .. }) => *warmup,
                _ => SimTime::ZERO,
            };
            let uses_latency = match sc.autoscaler.as_ref().map(|a| &a.policy) {
                Some(PolicySpec::Hpa { metrics, .. }) => metrics.iter().any(|m| m.0 == ScaleMetric::LatencyP95),
                Some(PolicySpec::Threshold { rules, .. }) => rules.iter().any(|r| r.metric == ScaleMetric::LatencyP95),
                Some(PolicySpec::TargetTracking { metric, .. }) | Some(PolicySpec::Step { metric, .. }) => {
                    *metric == ScaleMetric::LatencyP95
                }
                _ => false,
            };
            groups.push(Group {
                balancer: Balancer::new(sc.instance.load_balancer, streams.stream(StreamId::Other(1000 + g))),
                members: Vec::new(),
                desired: initial,
                autoscaler,
                warmup,
                classes,
                owed: 0,
                last_obs: SimTime::ZERO,
                arrivals: 0,
                latency: uses_latency.then(LatencyHistogram::new),
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
        // Database servers: the primary and its read replicas; each has its
        // own pools (shared pools: per class and server).
        let targets = 1 + sc
            .database
            .as_ref()
            .and_then(|d| d.replicas.as_ref())
            .map_or(0, |r| r.count as usize);
        let pools = match &sc.pool {
            Some(p) if p.scope == PoolScope::Shared => (0..classes * targets)
                .map(|_| ConnectionPool::new(p.config.clone(), SimTime::ZERO))
                .collect(),
            _ => Vec::new(),
        };
        let sim = &sc.simulation;
        let rows = (sim.duration.as_nanos() / sim.sample_interval.as_nanos()) as usize + 1;
        let mut svc = Service {
            sc,
            requests: Requests::with_capacity(1024),
            gateway: Gateway::new(tenant_limits),
            groups,
            tier_group,
            tier_level,
            levels: prios.len(),
            instances: Vec::new(),
            shed_meters: Vec::new(),
            l1: Vec::new(),
            l2: sc.cache.l2.as_ref().map(|l| new_cache(l, stale_grace(sc))),
            l3: sc.cache.l3.as_ref().map(|l| new_cache(l, stale_grace(sc))),
            l3_rng: streams.stream(StreamId::Latency(3)),
            limit_tables: sc
                .rate_limits
                .iter()
                .map(|l| {
                    if l.shared {
                        vec![CounterTable::default()]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            shared_limits: (0..sc.rate_limits.len())
                .filter(|&i| sc.rate_limits[i].shared)
                .collect(),
            local_limits: (0..sc.rate_limits.len())
                .filter(|&i| !sc.rate_limits[i].shared)
                .collect(),
            limit_slots: Vec::with_capacity(sc.rate_limits.len()),
            limit_store: sc.limit_store.as_ref().map(|s| CounterStore::new(s.ops_per_s)),
            limit_store_rng: streams.stream(StreamId::Latency(4)),
            replicas: replica_servers(sc),
            targets,
            replica_next: 0,
            tier_class,
            classes,
            pools,
            pool_slots: Vec::new(),
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
            latency_rng: streams.stream(StreamId::Latency(0)),
            retry_rng: streams.stream(StreamId::Retry),
            fault_rng: streams.stream(StreamId::Faults),
            cpu_factor: vec![1.0; sc.endpoints.len()],
            l2_factor: 1.0,
            db_breaker: sc.breakers.database.as_ref().map(|b| CircuitBreaker::new(b.config)),
            cache_breaker: sc.breakers.cache.as_ref().map(|b| CircuitBreaker::new(b.config)),
            db_breaker_open: TimeIntegral::new(SimTime::ZERO),
            cache_breaker_open: TimeIntegral::new(SimTime::ZERO),
            stale_fallback: sc
                .breakers
                .database
                .as_ref()
                .is_some_and(|b| b.fallback == Fallback::Stale),
            abort_outcome: Outcome::InstanceFailure,
            chore_rng: Vec::new(),
            streams,
            random_crashes: None,
            rec: Recorder::new(sc.tiers.len(), sim.warmup, rows),
            in_system: TimeIntegral::new(SimTime::ZERO),
            ready: TimeIntegral::new(SimTime::ZERO),
            serving: TimeIntegral::new(SimTime::ZERO),
            alive: TimeIntegral::new(SimTime::ZERO),
            done_buf: Vec::with_capacity(64),
            last_flush: SimTime::ZERO,
            background: 0,
            finite_users_left: sc
                .workloads
                .iter()
                .filter(|w| w.arrival.is_finite())
                .map(|w| w.tenants as u64 * w.arrival.max_users() as u64)
                .sum(),
            finite: sc.has_finite_workload(),
            conservation: Conservation::default(),
            sessions: sc.sessions.as_ref().map(|s| SessionTable::new(s.max_per_instance)),
            msg_gen: Vec::new(),
            session_rr: Vec::new(),
            sessions_open: TimeIntegral::new(SimTime::ZERO),
            session_arrivals: (0..sc.workloads.len())
                .map(|w| streams.stream(StreamId::Other(3100 + w as u32)))
                .collect(),
            session_rng: streams.stream(StreamId::Other(3000)),
            msg_rng: streams.stream(StreamId::Other(3001)),
            jobs_live: 0,
            tier_conservation: vec![Conservation::default(); sc.tiers.len()],
            peaks: Peaks {
                tenant_in_flight: vec![0; sc.tiers.len()],
                tenant_connections: vec![0; sc.tiers.len()],
                ..Peaks::default()
            },
        };
        svc.session_rr = vec![0; svc.groups.len()];
        svc.rec.init_stages(sc.endpoints.iter().map(|e| e.stages.len()).sum());
        svc.rec
            .init_data_tier(sc.rate_limits.len(), if targets > 1 { targets } else { 0 });
        // Initial instances are ready at time zero.
        svc.peaks.desired_min = svc.groups.iter().map(|g| g.desired).collect();
        svc.peaks.desired_max = svc.peaks.desired_min.clone();
        for g in 0..svc.groups.len() {
            for _ in 0..svc.groups[g].desired {
                let id = svc.launch(sched, g);
                svc.make_ready(id, SimTime::ZERO);
            }
            if let Some(a) = &svc.groups[g].autoscaler {
                sched.schedule_at(a.interval, Msg::Autoscale { group: g as u16 });
            }
        }
        // First arrivals; closed users start after one think time each, so
        // they do not all fire at t = 0. A ramp starts its active users the
        // same way and the others as it reaches them.
        for w in 0..svc.workloads.len() {
            let ws = &mut svc.workloads[w];
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
                svc.schedule_ramp(sched, w);
            } else {
                svc.schedule_next_arrival(sched, w);
            }
        }
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
            svc.start_sessions(sched);
        }
        sched.schedule_at(sim.sample_interval, Msg::Sample);
        svc
    }

    // ----- sessions ---------------------------------------------------------

    /// Sessions held all run connect at t = 0 (already established: no
    /// handshake); session arrivals start.
    fn start_sessions(&mut self, sched: &mut Scheduler<Msg>) {
        let sc = self.sc;
        for (w, wl) in sc.workloads.iter().enumerate() {
            match &wl.sessions {
                None => {}
                Some(SessionPopulation::PerTenant(n)) => {
                    let first = self.workloads[w].first_tenant;
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

    fn session_table(&mut self) -> &mut SessionTable {
        // Session events exist only with [sessions].
        self.sessions.as_mut().expect("[sessions] configured")
    }

    fn schedule_session_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let Some(SessionPopulation::Arrivals { rate_per_s, .. }) = &self.sc.workloads[w].sessions else {
            return;
        };
        let rate = rate_per_s * self.workloads[w].tenants as f64;
        let u: f64 = self.session_arrivals[w].random();
        let at = sched.now() + SimTime::from_secs_f64(-(1.0 - u).ln() / rate);
        if at <= self.sc.simulation.duration {
            sched.schedule_at(at, Msg::SessionArrival { workload: w as u32 });
        }
    }

    /// A tenant of workload `w` opens a session: it lives a drawn
    /// lifetime, and connects now.
    fn on_session_arrival(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let now = sched.now();
        let ws = &self.workloads[w];
        let (first, tenants, tier) = (ws.first_tenant, ws.tenants, ws.tier);
        let tenant = first + self.session_arrivals[w].random_range(0..tenants);
        let s = self.session_table().open(tenant, tier, now);
        if let Some(SessionPopulation::Arrivals { lifetime, .. }) = &self.sc.workloads[w].sessions {
            let at = now + lifetime.sample(&mut self.session_arrivals[w]);
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
    fn try_connect(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef, handshake: bool) {
        let sc = self.sc;
        let spec = sc.sessions.as_ref().expect("[sessions] configured");
        let now = sched.now();
        let measured = now >= self.rec.warmup();
        let Some(sess) = self.sessions.as_ref().and_then(|t| t.get(s)) else {
            return;
        };
        if sess.instance != NOT_CONNECTED {
            return;
        }
        let (tier, reconnecting) = (sess.tier as usize, sess.reconnecting);
        if reconnecting && measured {
            self.rec.session_reconnects += 1;
        }
        let g = self.tier_group[tier] as usize;
        let instances = &self.instances;
        let ready = self.groups[g]
            .members
            .iter()
            .copied()
            .filter(move |&i| instances[i as usize].state == InstanceState::Ready);
        let table = self.sessions.as_mut().expect("[sessions] configured");
        let choice = table.choose(spec.balancer, ready, &mut self.session_rr[g]);
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
                let alive = self.instances[inst as usize].state == InstanceState::Ready;
                if let (true, true, Some(d)) = (alive, handshake, &spec.connect_cpu) {
                    let cpu = d.sample(&mut self.session_rng);
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
                    Jitter::Full => d * self.session_rng.random::<f64>(),
                    Jitter::Equal => d / 2.0 + d / 2.0 * self.session_rng.random::<f64>(),
                };
                self.schedule_connect(sched, s, SimTime::from_secs_f64(d));
            }
        }
    }

    fn schedule_connect(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef, after: SimTime) {
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
    fn sessions_changed(&mut self, sched: &mut Scheduler<Msg>, inst: u32, delta: f64) {
        let now = sched.now();
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        let n = self.sessions.as_ref().map_or(0, |t| t.count(inst));
        self.instances[inst as usize].set_session_mb(now, n as f64 * spec.memory_per_session_mb);
        self.sessions_open.add(now, delta);
        self.rec.iv_session_max = self.rec.iv_session_max.max(n);
        self.schedule_messages(sched, inst);
    }

    /// The sessions of `inst` send messages as one Poisson stream of rate
    /// sessions × message_rate_per_s (a superposition of Poisson streams;
    /// redrawn whenever the count changes, exact by memorylessness).
    fn schedule_messages(&mut self, sched: &mut Scheduler<Msg>, inst: u32) {
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        if spec.message_rate_per_s <= 0.0 {
            return;
        }
        let i = inst as usize;
        self.msg_gen[i] = self.msg_gen[i].wrapping_add(1);
        let n = self.sessions.as_ref().map_or(0, |t| t.count(inst));
        if n == 0 || self.instances[i].state != InstanceState::Ready {
            return;
        }
        let u: f64 = self.msg_rng.random();
        let gap = -(1.0 - u).ln() / (n as f64 * spec.message_rate_per_s);
        let at = sched.now() + SimTime::from_secs_f64(gap);
        if at <= self.sc.simulation.duration {
            sched.schedule_at(
                at,
                Msg::SessionMessage {
                    instance: inst,
                    gen: self.msg_gen[i],
                },
            );
        }
    }

    /// One of `inst`'s sessions, at random, sends a message: CPU work on
    /// `inst`, queued for a worker like a request.
    fn on_session_message(&mut self, sched: &mut Scheduler<Msg>, inst: u32, gen: u32) {
        let i = inst as usize;
        if self.msg_gen[i] != gen || self.instances[i].state != InstanceState::Ready {
            return;
        }
        let now = sched.now();
        let table = self.sessions.as_mut().expect("[sessions] configured");
        let n = table.count(inst);
        if n == 0 {
            return;
        }
        let idx = table.nth(inst, self.msg_rng.random_range(0..n));
        table.touch(idx, now);
        let tier = table.handle(idx);
        let tier = table.get(tier).map_or(0, |x| x.tier as usize);
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        let cpu = spec
            .message_cpu
            .as_ref()
            .expect("messages have a message_cpu")
            .sample(&mut self.msg_rng);
        self.spawn_job(sched, inst, tier, cpu, Job::Message);
        // The next message, unless the job's memory killed the instance
        // (which moved the generation on).
        if self.msg_gen[i] == gen {
            self.schedule_messages(sched, inst);
        }
    }

    /// Session work of `cpu` for a session of `tier` on `inst`: it waits
    /// for a worker like a request (refused when the queue is full).
    fn spawn_job(&mut self, sched: &mut Scheduler<Msg>, inst: u32, tier: usize, cpu: SimTime, job: Job) {
        let now = sched.now();
        let measured = now >= self.rec.warmup();
        let req = Request {
            tier: tier as u16,
            user: NO_USER,
            instance: inst,
            arrival: now,
            enqueued: now,
            stage_since: now,
            wait_since: now,
            cpu,
            measured,
            level: self.tier_level[tier],
            job,
            ..Request::default()
        };
        let r = self.requests.insert(req);
        match self.instances[inst as usize].offer(sched, r, cpu, req.level) {
            Offer::Started | Offer::Queued => {
                self.jobs_live += 1;
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
    fn drop_sessions(&mut self, sched: &mut Scheduler<Msg>, inst: u32) {
        let Some(table) = self.sessions.as_mut() else { return };
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
    fn reconnect_later(&mut self, sched: &mut Scheduler<Msg>, s: SessionRef) {
        let spec = self.sc.sessions.as_ref().expect("[sessions] configured");
        if let Some(x) = self.session_table().get_mut(s) {
            x.reconnecting = true;
            x.attempt = 0;
        }
        let d = spec.reconnect_delay.sample(&mut self.session_rng);
        self.schedule_connect(sched, s, d);
    }

    /// Memory `prune-connections`: close `fraction` of `id`'s sessions.
    fn prune_sessions(&mut self, sched: &mut Scheduler<Msg>, id: u32, fraction: f64, oldest: bool, reconnect: bool) {
        let Some(table) = self.sessions.as_mut() else { return };
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

    /// The most sessions one instance holds now (time series).
    fn session_max_now(&self) -> Option<u32> {
        let t = self.sessions.as_ref()?;
        Some((0..self.instances.len() as u32).map(|i| t.count(i)).max().unwrap_or(0))
    }

    // ----- instance lifecycle ---------------------------------------------

    /// Request a new instance for group `g`; it is ready after `startup`.
    fn launch(&mut self, sched: &mut Scheduler<Msg>, g: usize) -> u32 {
        let now = sched.now();
        let id = self.instances.len() as u32;
        self.instances
            .push(Instance::new(id, g as u16, &self.sc.instance, self.levels, now));
        let grace = stale_grace(self.sc);
        self.l1.push(self.sc.cache.l1.as_ref().map(|l| new_cache(l, grace)));
        if self.sc.shedding.is_some() {
            self.shed_meters.push(ShedMeter::new(now, self.levels));
        }
        if let Some(p) = &self.sc.pool {
            if p.scope == PoolScope::Instance {
                let t = self.targets;
                self.pool_slots.extend(std::iter::repeat_n(u32::MAX, self.classes * t));
                for &c in &self.groups[g].classes {
                    for target in 0..t {
                        self.pool_slots[(id as usize * self.classes + c as usize) * t + target] =
                            self.pools.len() as u32;
                        let mut pool = ConnectionPool::new(p.config.clone(), now);
                        pool.owner = Some(id);
                        self.pools.push(pool);
                    }
                }
            }
        }
        self.groups[g].members.push(id);
        self.msg_gen.push(0);
        self.alive.add(now, 1.0);
        // Initial instances are made ready at once by `new`; this event then
        // finds them ready and does nothing.
        sched.schedule_in(self.sc.instance.startup, Msg::InstanceReady { instance: id });
        if let Some((mtbf, _)) = self.random_crashes {
            self.schedule_crash(sched, id, mtbf);
        }
        if self.sc.has_instance_chores() {
            self.schedule_chores(sched, id);
        }
        id
    }

    // ----- background work and pauses --------------------------------------

    /// A new instance: processor-shared CPU, and the first run of each
    /// background task and the first pause at a random phase of their
    /// period (instances are not in step).
    fn schedule_chores(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let now = sched.now();
        self.instances[id as usize].force_shared_cpu(now);
        let mut rng = self.streams.stream(StreamId::Pauses(id));
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
        debug_assert_eq!(self.chore_rng.len(), id as usize);
        self.chore_rng.push(rng);
    }

    /// Background task `task` is due on `id`: run it if the instance
    /// serves, and schedule the next run.
    fn on_background(&mut self, sched: &mut Scheduler<Msg>, id: u32, task: usize) {
        let i = id as usize;
        if self.instances[i].state == InstanceState::Stopped {
            return;
        }
        let now = sched.now();
        let t = &self.sc.background[task];
        if self.instances[i].serving {
            let cpu = t.cpu.sample(&mut self.chore_rng[i]);
            // A handle that names no request: its completion is ignored.
            let job = ReqRef {
                idx: u32::MAX,
                gen: task as u32,
            };
            self.instances[i].run_background(sched, job, cpu);
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
    fn on_pause_start(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let i = id as usize;
        if self.instances[i].state == InstanceState::Stopped {
            return;
        }
        let Some(p) = &self.sc.pauses else { return };
        let now = sched.now();
        let end = self.sc.simulation.duration;
        if self.instances[i].serving {
            let d = p.duration.sample(&mut self.chore_rng[i]);
            self.instances[i].pause(sched);
            sched.schedule_in(d, Msg::PauseEnd { instance: id });
            if now >= self.rec.warmup() {
                self.rec.paused_s += d.min(end.saturating_sub(now)).as_secs_f64();
            }
        }
        let gap = match p.every {
            PauseEvery::Interval(i) => i,
            PauseEvery::Poisson(rate) => {
                let u: f64 = self.chore_rng[i].random();
                SimTime::from_secs_f64(-(1.0 - u).ln() / rate)
            }
        };
        if now + gap <= end {
            sched.schedule_in(gap, Msg::PauseStart { instance: id });
        }
    }

    fn make_ready(&mut self, id: u32, now: SimTime) {
        let inst = &mut self.instances[id as usize];
        if inst.state != InstanceState::Starting {
            return;
        }
        inst.start_serving(now);
        // The autoscaler measures from here.
        inst.marks = [inst.busy.total(now), inst.memory.total(now), inst.queue_len.total(now)];
        let g = inst.group as usize;
        self.groups[g].balancer.add(id);
        self.ready.add(now, 1.0);
        self.serving.add(now, 1.0);
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

    /// Start or drain instances until group `g` has `desired`.
    fn reconcile(&mut self, sched: &mut Scheduler<Msg>, g: usize) {
        let desired = self.groups[g].desired.saturating_sub(self.groups[g].owed);
        let mut current = self.current(g);
        while current < desired {
            self.launch(sched, g);
            current += 1;
        }
        while current > desired {
            // Instances still starting go first (newest first), then ready
            // ones by the scale-in rule.
            let members = &self.groups[g].members;
            let starting = members
                .iter()
                .rev()
                .find(|&&i| self.instances[i as usize].state == InstanceState::Starting);
            let victim = match starting {
                Some(&i) => i,
                None => {
                    let ready = members
                        .iter()
                        .filter(|&&i| self.instances[i as usize].state == InstanceState::Ready);
                    let pick = match self.sc.instance.scale_in {
                        ScaleIn::Newest => ready.max(),
                        ScaleIn::LeastLoaded => {
                            ready.min_by_key(|&&i| (self.instances[i as usize].in_flight(), u32::MAX - i))
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
    fn drain(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let now = sched.now();
        let inst = &mut self.instances[id as usize];
        let g = inst.group as usize;
        match inst.state {
            InstanceState::Starting => {
                inst.state = InstanceState::Draining;
                self.stop(sched, id);
            }
            InstanceState::Ready => {
                inst.state = InstanceState::Draining;
                self.groups[g].balancer.remove(id);
                self.ready.add(now, -1.0);
                // Its connections close now (a graceful shutdown); the
                // clients reconnect elsewhere.
                self.drop_sessions(sched, id);
                if self.instances[id as usize].in_flight() == 0 && !self.holds_background(id) {
                    self.stop(sched, id);
                } else {
                    sched.schedule_in(self.sc.instance.drain_timeout, Msg::DrainTimeout { instance: id });
                }
            }
            _ => {}
        }
    }

    fn holds_background(&self, id: u32) -> bool {
        self.background > 0 && !self.requests.find(|r| r.background && r.instance == id).is_empty()
    }

    /// The instance fails now: its requests fail with `instance_failure`.
    fn crash(&mut self, sched: &mut Scheduler<Msg>, id: u32) -> bool {
        let now = sched.now();
        let inst = &mut self.instances[id as usize];
        let g = inst.group as usize;
        match inst.state {
            InstanceState::Ready => {
                self.groups[g].balancer.remove(id);
                self.ready.add(now, -1.0);
            }
            InstanceState::Starting | InstanceState::Draining => {}
            InstanceState::Stopped => return false,
        }
        self.instances[id as usize].state = InstanceState::Draining;
        self.stop(sched, id);
        true
    }

    /// Remove instance `id`: fail whatever it still holds, close its pools,
    /// drop its L1.
    fn stop(&mut self, sched: &mut Scheduler<Msg>, id: u32) {
        let now = sched.now();
        if self.instances[id as usize].state == InstanceState::Stopped {
            return;
        }
        self.drop_sessions(sched, id);
        // Queued requests never got a worker.
        for r in self.instances[id as usize].take_queue(now) {
            self.abort(sched, r, false);
        }
        for r in self.requests.find(|r| r.instance == id) {
            self.abort(sched, r, true);
        }
        let inst = &mut self.instances[id as usize];
        inst.state = InstanceState::Stopped;
        if inst.serving {
            inst.serving = false;
            self.serving.add(now, -1.0);
        }
        inst.report_memory(now, false);
        let g = inst.group as usize;
        self.groups[g].members.retain(|&i| i != id);
        self.alive.add(now, -1.0);
        if let Some(c) = self.l1[id as usize].take() {
            self.peaks.l1_items = self.peaks.l1_items.max(c.peak_len() as u64);
        }
        // Its local rate-limit counters go with it.
        for &i in &self.local_limits {
            if let Some(t) = self.limit_tables[i].get_mut(id as usize) {
                *t = CounterTable::default();
            }
        }
        if self.sc.pool.as_ref().is_some_and(|p| p.scope == PoolScope::Instance) {
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
    }

    /// A request on a failing instance: release what it holds and fail it.
    /// `has_worker`: it had a worker (was not queued).
    fn abort(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, has_worker: bool) {
        let Some(r) = self.requests.get(req) else { return };
        let r = *r;
        match r.phase {
            Phase::PoolWait => {
                let p = self.pool_index(&r);
                self.pools[p].cancel(sched.now(), req);
            }
            Phase::Connecting => self.release_connection(sched, &r),
            Phase::Query => {
                self.server(r.db_target).cancel(sched, req);
                self.release_connection(sched, &r);
            }
            _ => {}
        }
        // A call cut short by the failure has no result for its breaker.
        let permit = Permit { epoch: r.breaker_epoch };
        match r.phase {
            Phase::PoolWait | Phase::Connecting | Phase::Query if !r.background => {
                if let Some(b) = &mut self.db_breaker {
                    b.cancel(permit);
                }
            }
            Phase::L2 => {
                if let Some(b) = &mut self.cache_breaker {
                    b.cancel(permit);
                }
            }
            _ => {}
        }
        if has_worker && !r.background {
            self.instances[r.instance as usize].abandon(sched, req, r.phase == Phase::Cpu);
        }
        self.finish_with(sched, req, self.abort_outcome, false);
    }

    // ----- memory pressure ------------------------------------------------

    /// Recount the memory of instance `id`'s L1 (with `per_cache_item_mb`).
    #[inline]
    fn l1_changed(&mut self, id: usize, now: SimTime) {
        let Some(m) = &self.sc.memory else { return };
        if m.per_cache_item_mb > 0.0 {
            let items = self.l1.get(id).and_then(|c| c.as_ref()).map_or(0, |c| c.len());
            self.instances[id].set_cache_mb(now, items as f64 * m.per_cache_item_mb);
        }
    }

    /// After admitting a request to `id`: past `memory_mb` the instance is
    /// OOM-killed (the request with it).
    fn memory_admitted(&mut self, sched: &mut Scheduler<Msg>, id: usize) {
        let Some(m) = &self.sc.memory else { return };
        let f = self.instances[id].memory_fraction();
        self.rec.memory_max = self.rec.memory_max.max(f);
        if m.oom_kill && f > 1.0 {
            self.memory_kill(sched, id, true);
        }
    }

    /// Every instance's memory monitor: OOM past the limit, else the
    /// actions whose threshold its memory reaches, lowest first (a cache
    /// shrink may bring it below the next ones).
    fn on_memory_check(&mut self, sched: &mut Scheduler<Msg>) {
        let sc = self.sc;
        let Some(m) = &sc.memory else { return };
        let now = sched.now();
        let measured = now >= self.rec.warmup();
        for id in 0..self.instances.len() {
            if self.instances[id].state != InstanceState::Ready {
                continue;
            }
            self.l1_changed(id, now);
            let mut f = self.instances[id].memory_fraction();
            self.rec.memory_max = self.rec.memory_max.max(f);
            if m.oom_kill && f > 1.0 {
                self.memory_kill(sched, id, true);
                continue;
            }
            let mut shed = false;
            for a in &m.actions {
                if f < a.above {
                    break;
                }
                match a.kind {
                    MemoryActionKind::ShrinkCache { fraction } => {
                        if let Some(Some(c)) = self.l1.get_mut(id) {
                            let keep = (c.len() as f64 * (1.0 - fraction)).floor() as usize;
                            if c.shrink_to(keep) > 0 && measured {
                                self.rec.cache_shrinks += 1;
                            }
                        }
                        self.l1_changed(id, now);
                        f = self.instances[id].memory_fraction();
                    }
                    MemoryActionKind::Shed => shed = true,
                    MemoryActionKind::Restart => {
                        self.memory_kill(sched, id, false);
                        break;
                    }
                    MemoryActionKind::PruneSessions {
                        fraction,
                        oldest,
                        reconnect,
                    } => {
                        self.prune_sessions(sched, id as u32, fraction, oldest, reconnect);
                        f = self.instances[id].memory_fraction();
                    }
                    MemoryActionKind::EmergencyGc { pause } => {
                        // One at a time; the garbage is freed when it ends.
                        if !self.instances[id].gc_running {
                            self.instances[id].gc_running = true;
                            let d = m.gc_pauses[pause as usize].sample(&mut self.chore_rng[id]);
                            self.instances[id].pause(sched);
                            sched.schedule_in(d, Msg::GcEnd { instance: id as u32 });
                            if measured {
                                self.rec.emergency_gcs += 1;
                            }
                        }
                    }
                }
            }
            self.instances[id].memory_shed = shed;
        }
        if now + m.check_interval <= sc.simulation.duration {
            sched.schedule_in(m.check_interval, Msg::MemoryCheck);
        }
    }

    /// Kill instance `id` for memory (`oom`: the kernel's OOM killer, else
    /// a `restart` action); a replacement starts at once and is ready after
    /// `startup`.
    fn memory_kill(&mut self, sched: &mut Scheduler<Msg>, id: usize, oom: bool) {
        if sched.now() >= self.rec.warmup() {
            if oom {
                self.rec.oom_kills += 1;
            } else {
                self.rec.memory_restarts += 1;
            }
        }
        let g = self.instances[id].group;
        if oom {
            self.abort_outcome = Outcome::OomKilled;
        }
        let killed = self.crash(sched, id as u32);
        self.abort_outcome = Outcome::InstanceFailure;
        if killed {
            self.groups[g as usize].owed += 1;
            sched.schedule_in(SimTime::ZERO, Msg::Replace { group: g });
        }
    }

    fn schedule_crash(&mut self, sched: &mut Scheduler<Msg>, id: u32, mtbf: SimTime) {
        let u: f64 = self.fault_rng.random();
        let t = -mtbf.as_secs_f64() * (1.0 - u).ln();
        sched.schedule_in(SimTime::from_secs_f64(t), Msg::Crash { instance: id });
    }

    /// Keep group `g`'s lowest and highest desired count.
    fn note_desired(&mut self, g: usize, to: u32) {
        let p = &mut self.peaks;
        p.desired_min[g] = p.desired_min[g].min(to);
        p.desired_max[g] = p.desired_max[g].max(to);
    }

    /// Record a change of a group's desired count.
    fn set_desired(&mut self, now: SimTime, g: usize, to: u32, reason: &'static str) {
        let from = self.groups[g].desired;
        self.note_desired(g, to);
        if from != to {
            self.groups[g].desired = to;
            self.rec.scaling_events.push(ScalingEvent {
                time_s: now.as_secs_f64(),
                group: g as u16,
                from,
                to,
                reason,
            });
        }
    }

    /// The autoscaler's view of group `g` since its last evaluation.
    fn observe(&mut self, now: SimTime, g: usize) -> Observation {
        let warmup = self.groups[g].warmup;
        let dt = now.saturating_sub(self.groups[g].last_obs).as_secs_f64();
        let (mut busy, mut cores_time, mut mem, mut queue, mut inst_time) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut ready = 0u32;
        let members = self.groups[g].members.clone();
        for id in members {
            let inst = &mut self.instances[id as usize];
            if inst.state != InstanceState::Ready {
                continue;
            }
            ready += 1;
            let totals = [inst.busy.total(now), inst.memory.total(now), inst.queue_len.total(now)];
            let deltas = [
                totals[0] - inst.marks[0],
                totals[1] - inst.marks[1],
                totals[2] - inst.marks[2],
            ];
            inst.marks = totals;
            let since = now
                .saturating_sub(inst.ready_at.max(self.groups[g].last_obs))
                .as_secs_f64();
            if now.saturating_sub(inst.ready_at) < warmup {
                continue;
            }
            busy += deltas[0];
            mem += deltas[1];
            queue += deltas[2];
            cores_time += inst.cores() as f64 * since;
            inst_time += since;
        }
        let group = &mut self.groups[g];
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        let mut metrics = [None; 6];
        metrics[ScaleMetric::Cpu.index()] = ratio(busy, cores_time);
        metrics[ScaleMetric::Memory.index()] = ratio(mem, inst_time);
        metrics[ScaleMetric::Queue.index()] = ratio(queue, inst_time);
        metrics[ScaleMetric::Rps.index()] = (ready > 0 && dt > 0.0).then(|| group.arrivals as f64 / dt / ready as f64);
        group.arrivals = 0;
        if let Some(h) = &mut group.latency {
            metrics[ScaleMetric::LatencyP95.index()] = h.quantile_s(0.95);
            h.reset();
        }
        // Pools of the group's ready instances (or the shared pools), each
        // measured from its own mark.
        let mut in_use = 0.0;
        let mut n_pools = 0usize;
        for p in self.pools.iter_mut() {
            let counts = match p.owner {
                Some(id) => {
                    let inst = &self.instances[id as usize];
                    inst.group as usize == g && inst.state == InstanceState::Ready
                }
                None => true,
            };
            let total = p.in_use_gauge.total(now);
            if counts {
                in_use += total - p.mark;
                n_pools += 1;
            }
            p.mark = total;
        }
        let group = &mut self.groups[g];
        if n_pools > 0 && dt > 0.0 {
            metrics[ScaleMetric::PoolInUse.index()] = Some((in_use / dt / n_pools as f64).max(0.0));
        }
        group.last_obs = now;
        // Policies work from the desired count (Kubernetes' spec.replicas),
        // not the live one: a crashed instance awaiting its replacement is
        // still wanted.
        Observation {
            now,
            current: self.groups[g].desired,
            ready,
            metrics,
        }
    }

    fn on_autoscale(&mut self, sched: &mut Scheduler<Msg>, g: usize) {
        let now = sched.now();
        let obs = self.observe(now, g);
        let Some(a) = self.groups[g].autoscaler.as_mut() else {
            return;
        };
        let interval = a.interval;
        let (desired, why) = a.evaluate(&obs);
        // The policy's answer is relative to the current size; a failed
        // instance not yet replaced still counts as desired.
        self.set_desired(now, g, desired, why);
        self.reconcile(sched, g);
        if now + interval <= self.sc.simulation.duration {
            sched.schedule_in(interval, Msg::Autoscale { group: g as u16 });
        }
    }

    fn on_fault_start(&mut self, sched: &mut Scheduler<Msg>, index: usize) {
        let f = &self.sc.faults[index];
        match &f.kind {
            FaultKind::InstanceCrash { count, mttr } => {
                let mttr = *mttr;
                for _ in 0..*count {
                    let victim = self
                        .instances
                        .iter()
                        .filter(|i| i.state == InstanceState::Ready)
                        .map(|i| i.id)
                        .max();
                    let Some(id) = victim else { break };
                    let g = self.instances[id as usize].group;
                    self.crash(sched, id);
                    self.groups[g as usize].owed += 1;
                    sched.schedule_in(mttr, Msg::Replace { group: g });
                }
            }
            FaultKind::RandomCrashes { mtbf, mttr } => {
                self.random_crashes = Some((*mtbf, *mttr));
                let live: Vec<u32> = self
                    .instances
                    .iter()
                    .filter(|i| i.state != InstanceState::Stopped)
                    .map(|i| i.id)
                    .collect();
                for id in live {
                    self.schedule_crash(sched, id, *mtbf);
                }
            }
            FaultKind::ZoneOutage { fraction, duration } => {
                let ready: Vec<u32> = self
                    .instances
                    .iter()
                    .filter(|i| i.state == InstanceState::Ready)
                    .map(|i| i.id)
                    .collect();
                let n = ((ready.len() as f64) * fraction).round() as usize;
                // The zone holds every k-th instance, spread over groups.
                let step = ready.len().checked_div(n).map_or(usize::MAX, |s| s.max(1));
                for id in ready.iter().step_by(step).take(n) {
                    let g = self.instances[*id as usize].group;
                    self.crash(sched, *id);
                    // Replacements start when the zone is back.
                    self.groups[g as usize].owed += 1;
                    sched.schedule_in(*duration, Msg::Replace { group: g });
                }
            }
            FaultKind::DbSlowdown { factor, duration } => {
                // Every database server: the primary and its replicas.
                for db in self.db.iter_mut().chain(self.replicas.iter_mut()) {
                    db.slowdown = *factor;
                }
                sched.schedule_in(*duration, Msg::FaultEnd { index: index as u16 });
            }
            FaultKind::CacheSlowdown { factor, duration } => {
                self.l2_factor = *factor;
                sched.schedule_in(*duration, Msg::FaultEnd { index: index as u16 });
            }
            FaultKind::CacheFlush { l1, l2, l3 } => {
                if *l3 {
                    if let Some(c) = &mut self.l3 {
                        c.clear();
                    }
                }
                if *l2 {
                    if let Some(c) = &mut self.l2 {
                        c.clear();
                    }
                }
                if *l1 {
                    for c in self.l1.iter_mut().flatten() {
                        c.clear();
                    }
                }
            }
            FaultKind::LatencySpike {
                endpoint,
                factor,
                duration,
            } => {
                for (e, f) in self.cpu_factor.iter_mut().enumerate() {
                    if endpoint.is_none_or(|x| x == e) {
                        *f = *factor;
                    }
                }
                sched.schedule_in(*duration, Msg::FaultEnd { index: index as u16 });
            }
        }
    }

    fn on_fault_end(&mut self, index: usize) {
        match &self.sc.faults[index].kind {
            FaultKind::CacheSlowdown { .. } => self.l2_factor = 1.0,
            FaultKind::DbSlowdown { .. } => {
                for db in self.db.iter_mut().chain(self.replicas.iter_mut()) {
                    db.slowdown = 1.0;
                }
            }
            FaultKind::LatencySpike { endpoint, .. } => {
                for (e, f) in self.cpu_factor.iter_mut().enumerate() {
                    if endpoint.is_none_or(|x| x == e) {
                        *f = 1.0;
                    }
                }
            }
            _ => {}
        }
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
        self.new_request(sched, w, tenant, endpoint, NO_USER, 0, None, None);
    }

    fn on_user_ready(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        let ws = &mut self.workloads[w];
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
    fn schedule_ramp(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.workloads[w];
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
    fn on_ramp(&mut self, sched: &mut Scheduler<Msg>, w: usize) {
        let ws = &mut self.workloads[w];
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
    fn user_next(&mut self, sched: &mut Scheduler<Msg>, w: usize, user: u32) {
        if user == NO_USER {
            return;
        }
        let ws = &mut self.workloads[w];
        if let Some(left) = ws.requests_left.get_mut(user as usize) {
            *left -= 1;
            if *left == 0 {
                self.finite_users_left -= 1;
                self.end_if_done(sched);
                return;
            }
        }
        if ws.ramp.is_some() && user % ws.users_per_tenant >= ws.active {
            ws.user_busy[user as usize] = false;
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

    /// The full cache key of rank `k` for `tenant` of workload `w` (a
    /// retry carries the rank only).
    fn key_of(&self, w: usize, tenant: u32, k: u32) -> u64 {
        let ws = &self.workloads[w];
        if ws.zipf.is_none() || ws.shared_keys {
            k as u64
        } else {
            ((tenant as u64) << 32) | k as u64
        }
    }

    /// The client address of a request of `tenant` (workload `w`): index
    /// `addr` in the tenant's population, or the workload's if shared.
    fn ip_of(&self, w: usize, tenant: u32, addr: u32) -> u64 {
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
    fn draw_ip(&mut self, w: usize, tenant: u32) -> u64 {
        let ws = &mut self.workloads[w];
        let Some(z) = &ws.clients else { return 0 };
        let a = z.sample(&mut ws.client_pick) as u32;
        self.ip_of(w, tenant, a)
    }

    /// One layer of `[[rate_limit]]`s (the shared ones, or the local ones
    /// at instance `inst`, whose group has `ready` instances) for `r`: all
    /// that apply must allow it, and only then does each count it.
    fn limit_layer(&mut self, now: SimTime, r: &Request, shared: bool, inst: usize, ready: usize) -> bool {
        let sc = self.sc;
        let n = if shared {
            self.shared_limits.len()
        } else {
            self.local_limits.len()
        };
        self.limit_slots.clear();
        let mut ok = true;
        for j in 0..n {
            let i = if shared {
                self.shared_limits[j]
            } else {
                self.local_limits[j]
            };
            let spec = &sc.rate_limits[i];
            if !spec.applies(r.tier as usize, r.endpoint as usize) {
                continue;
            }
            let scale = if spec.divided { 1.0 / ready.max(1) as f64 } else { 1.0 };
            let tables = &mut self.limit_tables[i];
            let t = if shared { 0 } else { inst };
            if tables.len() <= t {
                tables.resize_with(t + 1, CounterTable::default);
            }
            let key = spec.limiter.per.of(r.tenant, r.ip, r.endpoint);
            let (allowed, slot) = spec.limiter.check(&mut tables[t], key, now, scale);
            self.rec.limiter(i, r.measured, !allowed);
            if allowed {
                self.limit_slots.push((i, t, slot));
            } else {
                ok = false;
            }
        }
        if ok {
            for &(i, t, slot) in &self.limit_slots {
                sc.rate_limits[i].limiter.take(&mut self.limit_tables[i][t], slot, now);
            }
        }
        ok
    }

    /// Whether some limiter of the layer (shared or local) applies to a
    /// request of `tier` to `endpoint`.
    fn layer_applies(&self, shared: bool, tier: usize, endpoint: usize) -> bool {
        let list = if shared {
            &self.shared_limits
        } else {
            &self.local_limits
        };
        list.iter().any(|&i| self.sc.rate_limits[i].applies(tier, endpoint))
    }

    /// The shared store answered `req`'s call: refuse it (429) or go on.
    fn on_limiter_reply(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get(req) else { return };
        let mut r = *r;
        self.requests.remove(req);
        let now = sched.now();
        self.rec.limit_store_wait(r.measured, now - r.arrival);
        if r.limited {
            self.gateway.release(r.tenant);
            self.reject_counted(r.tier as usize, Outcome::RateLimited);
            self.rec.limiter_refusal(r.tier as usize, r.measured);
            return self.client_result(sched, &r, Outcome::RateLimited, now - r.arrival);
        }
        r.phase = Phase::Cpu;
        r.instance = 0;
        self.admit(sched, r);
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
        ip: Option<u64>,
    ) {
        let now = sched.now();
        let endpoint = endpoint.unwrap_or_else(|| self.pick_endpoint(w));
        // Drawn before admission so the sequences are the same whatever the
        // limits decide (common random numbers across configurations).
        let mut cpu = self.sc.endpoints[endpoint].cpu.sample(&mut self.cpu_rng[endpoint]);
        if self.cpu_factor[endpoint] != 1.0 {
            cpu = SimTime::from_secs_f64(cpu.as_secs_f64() * self.cpu_factor[endpoint]);
        }
        // With stages, the request starts with stage 0's CPU; the
        // endpoint's own runs after the last stage.
        let (mut stage_seed, mut backend_cpu, mut stage_wait, mut stage_fails) =
            (0, SimTime::ZERO, SimTime::ZERO, false);
        if !self.sc.endpoints[endpoint].stages.is_empty() {
            stage_seed = self.stage_rng[endpoint].next_u64();
            backend_cpu = cpu;
            (cpu, stage_wait, stage_fails) = self.draw_stage(endpoint, stage_seed, 0);
        }
        let query_seed = if self.sc.endpoints[endpoint].db_queries > 0 {
            self.query_rng[endpoint].next_u64()
        } else {
            0
        };
        let key = match key {
            Some(k) => k,
            None => self.draw_key(w, tenant),
        };
        let ip = match ip {
            Some(a) => a,
            None => self.draw_ip(w, tenant),
        };
        let tier = self.workloads[w].tier as usize;
        let measured = now >= self.rec.warmup();
        self.rec.arrival(tier, measured);
        self.conservation.arrived += 1;
        self.tier_conservation[tier].arrived += 1;
        let g = self.tier_group[tier] as usize;
        self.groups[g].arrivals += 1;
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
            query_seed,
            key,
            phase: Phase::Cpu,
            attempt,
            background: false,
            hit: false,
            conn: 0,
            queries: 0,
            wait_since: now,
            level: self.tier_level[tier],
            breaker_epoch: 0,
            stale: false,
            stage: 0,
            stage_since: now,
            stage_wait,
            stage_fails,
            stage_seed,
            backend_cpu,
            alive: false,
            ip,
            db_target: 0,
            limited: false,
            admitted: now,
            job: Job::Request,
            client_timer: Timer::NONE,
            phase_timer: Timer::NONE,
        };
        let refusal = match self.gateway.admit(now, tenant) {
            Ok(()) => None,
            Err(Refusal::RateLimited) => Some(Outcome::RateLimited),
            Err(Refusal::TenantLimit) => Some(Outcome::TenantLimit),
        };
        if let Some(o) = refusal {
            self.reject_counted(tier, o);
            return self.client_result(sched, &req, o, SimTime::ZERO);
        }
        // Shared limiters: one call to the store; the request waits for
        // the answer before it goes to an instance.
        if !self.shared_limits.is_empty() && self.layer_applies(true, tier, endpoint) {
            req.limited = !self.limit_layer(now, &req, true, 0, 0);
            let store = self.sc.limit_store.as_ref().expect("shared limiters have a store");
            let latency = store.latency.sample(&mut self.limit_store_rng);
            let delay = self.limit_store.as_mut().expect("store").call(now, latency);
            req.phase = Phase::RateCheck;
            req.instance = u32::MAX;
            let r = self.requests.insert(req);
            sched.schedule_in(delay, Msg::LimiterReply { req: r });
            return;
        }
        self.admit(sched, req);
    }

    /// A request past the gateway (and the shared limiters): the balancer
    /// picks an instance, whose local limiters and load shedding may refuse
    /// it, then it queues for a worker.
    fn admit(&mut self, sched: &mut Scheduler<Msg>, mut req: Request) {
        let now = sched.now();
        let (tier, tenant, endpoint, measured, cpu) = (
            req.tier as usize,
            req.tenant,
            req.endpoint as usize,
            req.measured,
            req.cpu,
        );
        req.admitted = now;
        let g = self.tier_group[tier] as usize;
        let Some(inst) = self.groups[g].balancer.pick() else {
            // No ready instance: the balancer has nowhere to send it.
            self.gateway.release(tenant);
            self.reject_counted(tier, Outcome::NoInstance);
            return self.client_result(sched, &req, Outcome::NoInstance, SimTime::ZERO);
        };
        req.instance = inst;
        if !self.local_limits.is_empty() && self.layer_applies(false, tier, endpoint) {
            let ready = self.groups[g].balancer.ready_count();
            if !self.limit_layer(now, &req, false, inst as usize, ready) {
                self.gateway.release(tenant);
                self.groups[g].balancer.done(inst);
                self.reject_counted(tier, Outcome::RateLimited);
                self.rec.limiter_refusal(tier, measured);
                return self.client_result(sched, &req, Outcome::RateLimited, SimTime::ZERO);
            }
        }
        let memory_shed = self.instances[inst as usize].memory_shed;
        if memory_shed || (self.sc.shedding.is_some() && self.overloaded(now, inst, req.level)) {
            self.gateway.release(tenant);
            self.groups[g].balancer.done(inst);
            self.reject_counted(tier, Outcome::Shed);
            return self.client_result(sched, &req, Outcome::Shed, SimTime::ZERO);
        }
        // The caches will be asked for this key after the CPU phase: start
        // loading their table slots now (a hint; changes no result).
        if let Some(Some(c)) = self.l1.get(inst as usize) {
            c.prefetch(req.key);
        }
        if let Some(c) = &self.l2 {
            c.prefetch(req.key);
        }
        let r = self.requests.insert(req);
        match self.instances[inst as usize].offer(sched, r, cpu, req.level) {
            Offer::Started => {
                self.rec.queue_wait(tier, measured, SimTime::ZERO);
                self.shed_dequeued(now, inst as usize, req.level, SimTime::ZERO);
            }
            Offer::Queued => {}
            Offer::Full => {
                self.requests.remove(r);
                self.gateway.release(tenant);
                self.groups[g].balancer.done(inst);
                self.reject_counted(tier, Outcome::QueueFull);
                return self.client_result(sched, &req, Outcome::QueueFull, SimTime::ZERO);
            }
        }
        let held = self.gateway.in_flight(tenant);
        let peak = &mut self.peaks.tenant_in_flight[tier];
        *peak = (*peak).max(held);
        let i = &self.instances[inst as usize];
        self.peaks.running = self.peaks.running.max(i.running());
        self.peaks.queued = self.peaks.queued.max(i.queued() as u32);
        self.rec.admitted(measured);
        self.in_system.add(now, 1.0);
        if let Some(t) = self.sc.endpoints[endpoint].timeout {
            // From arrival (a shared limiter's answer may have taken a
            // while); a fixed-delay lane when it is from now.
            if req.arrival >= now {
                let timer = sched.schedule_in_fixed(t, Msg::ClientTimeout { req: r });
                self.requests.get_mut(r).expect("live request").client_timer = timer;
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
    fn overloaded(&mut self, now: SimTime, inst: u32, level: u8) -> bool {
        let Some(p) = self.sc.shedding else { return false };
        let i = inst as usize;
        let value = match p.signal {
            ShedSignal::QueueLength { .. } => self.instances[i].queued() as f64,
            ShedSignal::QueueDelay { interval, .. } => {
                let queued = self.instances[i].queued_at(level);
                self.shed_meters[i].delay(now, level, queued, interval)
            }
            ShedSignal::Cpu { window, .. } => {
                let busy = self.instances[i].busy.total(now);
                let cores = self.instances[i].cores();
                self.shed_meters[i].cpu(now, busy, cores, window)
            }
        };
        p.sheds(value, level, self.levels)
    }

    /// A request got a worker at `inst` after `wait` (CoDel's input).
    #[inline]
    fn shed_dequeued(&mut self, now: SimTime, inst: usize, level: u8, wait: SimTime) {
        if let Some(p) = self.sc.shedding {
            if let ShedSignal::QueueDelay { interval, .. } = p.signal {
                self.shed_meters[inst].dequeued(now, level, wait, interval);
            }
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
                        Jitter::Full => d * self.retry_rng.random::<f64>(),
                        Jitter::Equal => d / 2.0 + d / 2.0 * self.retry_rng.random::<f64>(),
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
                                ip: r.ip as u32,
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
        // Queued handles are live: a request leaves the queue only here or
        // when its instance fails (then the queue is emptied first).
        let r = self.requests.get_mut(next).expect("queued request is live");
        r.stage_since = sched.now();
        let wait = sched.now() - r.enqueued;
        let (tier, measured, cpu, level) = (r.tier as usize, r.measured, r.cpu, r.level);
        if r.job == Job::Request {
            self.rec.queue_wait(tier, measured, wait);
        }
        self.shed_dequeued(sched.now(), inst, level, wait);
        self.instances[inst].start(sched, next, cpu);
    }

    /// Draw stage `j` of a request of endpoint `e`: (CPU, wait, fails),
    /// from a generator of the request's own (see `Request::stage_seed`).
    fn draw_stage(&self, e: usize, seed: u64, j: usize) -> (SimTime, SimTime, bool) {
        let st = &self.sc.endpoints[e].stages[j];
        let mut rng = SimRng::seed_from_u64(seed ^ (j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut cpu = st.cpu.as_ref().map_or(SimTime::ZERO, |d| d.sample(&mut rng));
        if self.cpu_factor[e] != 1.0 {
            cpu = SimTime::from_secs_f64(cpu.as_secs_f64() * self.cpu_factor[e]);
        }
        let wait = st.wait.as_ref().map_or(SimTime::ZERO, |d| d.sample(&mut rng));
        let fails = st.fail > 0.0 && rng.random::<f64>() < st.fail;
        (cpu, wait, fails)
    }

    /// The current stage of `req` is over (CPU and wait done): record its
    /// time, fail the request if the stage failed, else begin the next
    /// stage, or the endpoint's own CPU after the last.
    fn stage_end(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let r = self.requests.get_mut(req).expect("live request");
        let e = r.endpoint as usize;
        let flat = self.stage_base[e] as usize + r.stage as usize;
        self.rec.stage(flat, r.measured, now - r.stage_since, r.stage_fails);
        if r.stage_fails {
            return self.finish(sched, req, Outcome::StageFailure);
        }
        r.stage += 1;
        r.stage_since = now;
        let (j, seed, backend_cpu, inst) = (r.stage as usize, r.stage_seed, r.backend_cpu, r.instance as usize);
        let cpu = if j < self.sc.endpoints[e].stages.len() {
            let (cpu, wait, fails) = self.draw_stage(e, seed, j);
            let r = self.requests.get_mut(req).expect("live request");
            r.stage_wait = wait;
            r.stage_fails = fails;
            cpu
        } else {
            backend_cpu
        };
        if cpu > SimTime::ZERO {
            self.requests.get_mut(req).expect("live request").phase = Phase::Cpu;
            self.instances[inst].run_cpu(sched, req, cpu);
        } else {
            self.after_cpu(sched, req);
        }
    }

    /// The CPU phase of `req` ended: the rest of its stage, or caches,
    /// database, or respond.
    fn after_cpu(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let Some(r) = self.requests.get_mut(req) else { return };
        if r.job != Job::Request {
            // Session work is CPU only.
            return self.finish(sched, req, Outcome::Completed);
        }
        let ep = &self.sc.endpoints[r.endpoint as usize];
        if (r.stage as usize) < ep.stages.len() {
            if r.stage_wait > SimTime::ZERO {
                r.phase = Phase::Wait;
                sched.schedule_in(r.stage_wait, Msg::StageWait { req });
            } else {
                self.stage_end(sched, req);
            }
            return;
        }
        r.phase = Phase::L1; // no longer on the CPU
        let has_l1 = self.l1.get(r.instance as usize).is_some_and(|c| c.is_some());
        if let (true, Some(l2)) = (ep.cacheable, &self.l2) {
            // An L1 miss asks the L2 next (a hint; changes no result).
            l2.prefetch_entry(r.key);
        }
        if ep.cacheable && self.l2.is_none() && !has_l1 && self.l3.is_some() {
            self.l3_lookup(sched, req);
        } else if ep.cacheable && (self.l2.is_some() || has_l1) {
            self.cache_lookup(sched, req, has_l1);
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
        if !l1 {
            if let Some((permit, change)) = self.cache_breaker.as_mut().map(|b| b.try_call(now)) {
                if let Some(t) = change {
                    self.breaker_changed(now, false, t);
                }
                let r = self.requests.get_mut(req).expect("live request");
                match permit {
                    Some(p) => {
                        r.breaker_epoch = p.epoch;
                        r.wait_since = now;
                    }
                    None => {
                        // Open: the read goes past the L2 (to the L3 or
                        // the database).
                        let q = self.sc.endpoints[r.endpoint as usize].db_queries;
                        return self.after_l2(sched, req, q);
                    }
                }
            }
        }
        let r = self.requests.get_mut(req).expect("live request");
        let (hit, latency) = if l1 {
            let level = self.sc.cache.l1.as_ref().expect("L1 configured");
            let cache = self.l1[r.instance as usize].as_mut().expect("L1 of a live instance");
            // An expired copy stays stored for the stale fallback (a miss
            // either way; `get` would drop it).
            let stale = self.stale_fallback && cache.holds_stale(r.key, now);
            r.stale |= stale;
            (
                !stale && cache.get(r.key, now),
                level.latency.sample(&mut self.latency_rng),
            )
        } else {
            let level = self.sc.cache.l2.as_ref().expect("L2 configured");
            let cache = self.l2.as_mut().expect("L2 configured");
            let stale = self.stale_fallback && cache.holds_stale(r.key, now);
            r.stale |= stale;
            let mut latency = level.latency.sample(&mut self.latency_rng);
            if self.l2_factor != 1.0 {
                latency = SimTime::from_secs_f64(latency.as_secs_f64() * self.l2_factor);
            }
            (!stale && cache.get(r.key, now), latency)
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
        if phase == Phase::L2 {
            let (epoch, since) = (r.breaker_epoch, r.wait_since);
            let now = sched.now();
            let slow = self.sc.breakers.cache.as_ref().and_then(|b| b.slow_call);
            if let Some(b) = &mut self.cache_breaker {
                let failed = slow.is_some_and(|s| now - since > s);
                if let Some(t) = b.record(now, Permit { epoch }, failed) {
                    self.breaker_changed(now, false, t);
                }
            }
        }
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
                    self.after_l2(sched, req, db_queries);
                }
            }
            Phase::L2 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L2Hit);
                if let Some(Some(l1)) = self.l1.get_mut(inst) {
                    l1.insert(key, sched.now());
                    self.l1_changed(inst, sched.now());
                }
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L2 => self.after_l2(sched, req, db_queries),
            Phase::L3 if hit => {
                self.rec.cache(tier, measured, CacheEvent::L3Hit);
                let now = sched.now();
                if let Some(l2) = &mut self.l2 {
                    l2.insert(key, now);
                }
                if let Some(Some(l1)) = self.l1.get_mut(inst) {
                    l1.insert(key, now);
                    self.l1_changed(inst, now);
                }
                self.finish(sched, req, Outcome::Completed);
            }
            Phase::L3 => {
                self.rec.cache(tier, measured, CacheEvent::L3Miss);
                self.read_miss(sched, req, db_queries);
            }
            _ => {}
        }
    }

    /// A read missed (or skipped) the L2: the L3 if there is one, else
    /// the database.
    fn after_l2(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, db_queries: u32) {
        if self.l3.is_some() {
            self.l3_lookup(sched, req);
        } else {
            self.read_miss(sched, req, db_queries);
        }
    }

    /// Look `req`'s key up in the persistent L3; the answer arrives after
    /// its latency.
    fn l3_lookup(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let r = self.requests.get_mut(req).expect("live request");
        let level = self.sc.cache.l3.as_ref().expect("L3 configured");
        let cache = self.l3.as_mut().expect("L3 configured");
        let stale = self.stale_fallback && cache.holds_stale(r.key, now);
        r.stale |= stale;
        r.hit = !stale && cache.get(r.key, now);
        r.phase = Phase::L3;
        let latency = level.latency.sample(&mut self.l3_rng);
        sched.schedule_in(latency, Msg::CacheStep { req });
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
        if let Some(l3) = &mut self.l3 {
            l3.insert(r.key, now);
        }
        if let Some(l2) = &mut self.l2 {
            l2.insert(r.key, now);
        }
        if let Some(Some(l1)) = self.l1.get_mut(r.instance as usize) {
            l1.insert(r.key, now);
            self.l1_changed(r.instance as usize, now);
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
            if let Some(l3) = &mut self.l3 {
                l3.invalidate(r.key);
            }
            if let Some(Some(l1)) = self.l1.get_mut(r.instance as usize) {
                l1.invalidate(r.key);
            }
        }
    }

    fn pool_index(&self, r: &Request) -> usize {
        self.pool_of(r, r.db_target as usize)
    }

    /// The pool `r` would use to reach database server `target`.
    fn pool_of(&self, r: &Request, target: usize) -> usize {
        let class = self.tier_class[r.tier as usize] as usize;
        if self.sc.pool.as_ref().is_some_and(|p| p.scope == PoolScope::Shared) {
            class * self.targets + target
        } else {
            self.pool_slots[(r.instance as usize * self.classes + class) * self.targets + target] as usize
        }
    }

    /// The database server of `r`'s call: the primary unless its endpoint
    /// reads from replicas and there are some; then by the routing rule
    /// (least-connections counts the calls in progress in the pools this
    /// request would use, as a client-side router sees them).
    fn route(&mut self, r: &Request) -> usize {
        let n = self.targets - 1;
        if n == 0 || r.background || self.sc.endpoints[r.endpoint as usize].db_route != DbRoute::Replica {
            return 0;
        }
        let routing = self
            .sc
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

    /// Ask the database breaker, then the pool for a connection.
    fn start_db(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let now = sched.now();
        let rm = self.requests.get_mut(req).expect("live request");
        // The database call starts now (its wait for a connection included).
        rm.wait_since = now;
        if !rm.background {
            if let Some((permit, change)) = self.db_breaker.as_mut().map(|b| b.try_call(now)) {
                if let Some(t) = change {
                    self.breaker_changed(now, true, t);
                }
                match permit {
                    Some(p) => self.requests.get_mut(req).expect("live request").breaker_epoch = p.epoch,
                    None => return self.breaker_fallback(sched, req),
                }
            }
        }
        let mut r = *self.requests.get(req).expect("live request");
        if self.targets > 1 {
            r.db_target = self.route(&r) as u8;
            self.requests.get_mut(req).expect("live request").db_target = r.db_target;
            if !r.background {
                self.rec.db_server_call(r.db_target as usize, r.measured);
            }
        }
        let p = self.pool_index(&r);
        let cap = self.sc.tiers[r.tier as usize].max_connections.unwrap_or(u32::MAX);
        let can_open = self.server(r.db_target).can_open();
        match self.pools[p].acquire(now, req, r.tenant, cap, r.level, can_open) {
            Acquire::Granted(g) => {
                if !r.background {
                    self.rec.pool_wait(r.tier as usize, r.measured, SimTime::ZERO);
                    self.rec
                        .db_server_wait(r.db_target as usize, r.measured, SimTime::ZERO, false);
                }
                self.got_connection(sched, req, g);
            }
            Acquire::Waiting { tenant_capped } => {
                if tenant_capped && !r.background {
                    self.rec.tenant_cap_wait(r.tier as usize, r.measured);
                }
                let rm = self.requests.get_mut(req).expect("live request");
                rm.phase = Phase::PoolWait;
                rm.wait_since = now;
                let timer = sched.schedule_in_fixed(self.pools[p].config().timeout, Msg::PoolTimeout { req });
                self.requests.get_mut(req).expect("live request").phase_timer = timer;
            }
            Acquire::Refused => {
                self.db_result(now, &r, true);
                self.finish(sched, req, Outcome::DbRefused)
            }
        }
    }

    /// The database breaker refused `req`'s call: a stale copy if the
    /// fallback allows and a cache level held one, else fail fast.
    fn breaker_fallback(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = *self.requests.get(req).expect("live request");
        if self.stale_fallback && r.stale && self.sc.endpoints[r.endpoint as usize].cacheable {
            self.rec.stale_hit(r.tier as usize, r.measured);
            self.finish(sched, req, Outcome::Completed);
        } else {
            self.finish(sched, req, Outcome::BreakerOpen);
        }
    }

    /// `r`'s database call ended at `now`: tell the breaker. A call slower
    /// than the breaker's `slow_call` is a failure too.
    fn db_result(&mut self, now: SimTime, r: &Request, failed: bool) {
        if r.background {
            return;
        }
        let slow = self.sc.breakers.database.as_ref().and_then(|b| b.slow_call);
        let Some(b) = &mut self.db_breaker else { return };
        let failed = failed || slow.is_some_and(|s| now - r.wait_since > s);
        if let Some(t) = b.record(now, Permit { epoch: r.breaker_epoch }, failed) {
            self.breaker_changed(now, true, t);
        }
    }

    /// Record a breaker's state change (`db`: the database's, else the L2's).
    fn breaker_changed(&mut self, now: SimTime, db: bool, t: Transition) {
        let not_closed = if t.to == super::breaker::BreakerState::Closed {
            0.0
        } else {
            1.0
        };
        let (integral, name) = if db {
            (&mut self.db_breaker_open, "database")
        } else {
            (&mut self.cache_breaker_open, "cache")
        };
        integral.set(now, not_closed);
        self.rec.breaker_event(now, name, t.from.name(), t.to.name());
    }

    fn got_connection(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, g: Grant) {
        let r = self.requests.get(req).expect("live request");
        // The pool wait (if any) is over.
        sched.cancel(r.phase_timer);
        let target = r.db_target;
        if g.opened {
            self.server(target).opened();
        }
        let r = *self.requests.get(req).expect("live request");
        let p = self.pool_index(&r);
        self.peaks.pool_open = self.peaks.pool_open.max(self.pools[p].open());
        let held = self.pools[p].held_by(r.tenant);
        let peak = &mut self.peaks.tenant_connections[r.tier as usize];
        *peak = (*peak).max(held);
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
        let (e, tier, q, target) = (r.endpoint as usize, r.tier as usize, r.queries, r.db_target);
        // A generator of this request's own (see Request::query_seed):
        // seeding xoshiro costs four SplitMix steps, no allocation.
        let mut rng = SimRng::seed_from_u64(r.query_seed ^ (q as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Endpoints with db_queries > 0 always have a query distribution.
        let work = self.sc.endpoints[e]
            .query
            .as_ref()
            .expect("query distribution")
            .sample(&mut rng);
        let work = if target > 0 {
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
        };
        self.server(target).begin(sched, req, work);
        if let Some(t) = self.sc.tiers[tier].query_timeout {
            let timer = sched.schedule_in_fixed(t, Msg::QueryTimeout { req, query: q });
            self.requests.get_mut(req).expect("live request").phase_timer = timer;
        }
    }

    fn query_done(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        let r = self.requests.get(req).expect("live request");
        sched.cancel(r.phase_timer);
        let more = (r.queries as u32) < self.sc.endpoints[r.endpoint as usize].db_queries;
        if more {
            return self.start_query(sched, req);
        }
        let r = *r;
        self.db_result(sched.now(), &r, false);
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
        let db = self.server(r.db_target);
        let can_open = db.can_open();
        let released = self.pools[p].release(now, r.conn, r.tenant, can_open);
        if released.closed {
            self.server(r.db_target).closed(1);
        }
        if let Some((next, grant)) = released.next {
            if let Some(w) = self.requests.get(next).filter(|w| !w.background) {
                let wait = now - w.wait_since;
                let (tier, measured, target) = (w.tier as usize, w.measured, w.db_target as usize);
                self.rec.pool_wait(tier, measured, wait);
                self.rec.db_server_wait(target, measured, wait, false);
            }
            self.got_connection(sched, next, grant);
        }
    }

    fn finish(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, outcome: Outcome) {
        self.finish_with(sched, req, outcome, true);
    }

    /// The server is done with `req`: free its worker (the next queued
    /// request gets it) unless the instance is failing, release its gateway
    /// slot, and answer the client unless it has gone.
    fn finish_with(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, outcome: Outcome, free_worker: bool) {
        let now = sched.now();
        let Some(r) = self.requests.get(req) else { return };
        let r = *r;
        self.requests.remove(req);
        sched.cancel(r.client_timer);
        sched.cancel(r.phase_timer);
        if r.background {
            self.background -= 1;
            // The flush may have been all a draining instance still held.
            let inst = r.instance as usize;
            if free_worker
                && self.instances[inst].state == InstanceState::Draining
                && self.instances[inst].in_flight() == 0
                && !self.holds_background(r.instance)
            {
                self.stop(sched, r.instance);
            }
            self.end_if_done(sched);
            return;
        }
        let inst = r.instance as usize;
        if free_worker {
            if let Some(n) = self.instances[inst].free_worker(now) {
                self.start_queued(sched, inst, n);
            }
            if let Some(m) = self.sc.memory.as_ref().filter(|m| m.garbage_per_request_mb > 0.0) {
                self.instances[inst].add_garbage(now, m.garbage_per_request_mb);
            }
        }
        if r.job != Job::Request {
            // Session work: no client, gateway slot or balancer count.
            self.jobs_live -= 1;
            if r.job == Job::Message {
                self.rec
                    .message(r.measured, outcome == Outcome::Completed, now - r.arrival);
            }
            if free_worker
                && self.instances[inst].state == InstanceState::Draining
                && self.instances[inst].in_flight() == 0
                && !self.holds_background(inst as u32)
            {
                self.stop(sched, inst as u32);
            }
            self.end_if_done(sched);
            return;
        }
        let g = self.instances[inst].group as usize;
        self.gateway.release(r.tenant);
        self.groups[g].balancer.done(r.instance);
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
                if let Some(h) = &mut self.groups[g].latency {
                    h.record(latency);
                }
            }
            self.client_result(sched, &r, outcome, latency);
        }
        // A draining instance leaves once it holds nothing.
        if free_worker
            && self.instances[inst].state == InstanceState::Draining
            && self.instances[inst].in_flight() == 0
            && !self.holds_background(inst as u32)
        {
            self.stop(sched, inst as u32);
        }
        self.end_if_done(sched);
    }

    /// End the run when every finite test is done and the server holds
    /// nothing (work whose client gave up included).
    #[inline]
    fn end_if_done(&mut self, sched: &mut Scheduler<Msg>) {
        if self.finite && self.finite_users_left == 0 && self.requests.live() == 0 {
            sched.stop();
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
        let wait = sched.now() - r.wait_since;
        self.rec.pool_wait(r.tier as usize, r.measured, wait);
        if !r.background {
            self.rec.db_server_wait(r.db_target as usize, r.measured, wait, true);
        }
        self.db_result(sched.now(), &r, true);
        self.finish(sched, req, Outcome::PoolTimeout);
    }

    fn on_query_timeout(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, query: u16) {
        let Some(r) = self.requests.get(req) else { return };
        if r.phase != Phase::Query || r.queries != query {
            return;
        }
        let r = *r;
        self.server(r.db_target).cancel(sched, req);
        self.release_connection(sched, &r);
        self.db_result(sched.now(), &r, true);
        self.finish(sched, req, Outcome::QueryTimeout);
    }

    // ----- measurement ----------------------------------------------------

    /// Cut the gauges' integrals at `now` and hand them to the recorder.
    fn flush_gauges(&mut self, now: SimTime) {
        let mut a = GaugeAreas::default();
        for i in &mut self.instances {
            a.busy_cores += i.busy.take(now);
            // Zero unless serving (see Instance::report_memory).
            a.memory += i.memory.take(now);
        }
        a.instances = self.ready.take(now);
        a.serving = self.serving.take(now);
        a.cores = a.serving * self.sc.instance.cores as f64;
        a.alive = self.alive.take(now);
        a.in_system = self.in_system.take(now);
        let dt = now.saturating_sub(self.last_flush).as_secs_f64();
        self.last_flush = now;
        for p in self.pools.iter_mut() {
            a.pool_in_use += p.in_use_gauge.take(now);
            a.pool_waiting += p.waiting_gauge.take(now);
            a.pool_capacity += p.capacity_gauge.take(now);
        }
        if let Some(db) = &mut self.db {
            a.db_busy = db.busy.take(now);
            a.db_cores = db.cores() as f64 * dt;
            if self.targets > 1 {
                self.rec.db_server_areas(now, 0, a.db_busy, a.db_cores);
            }
        }
        for (i, db) in self.replicas.iter_mut().enumerate() {
            let (busy, cores) = (db.busy.take(now), db.cores() as f64 * dt);
            a.replica_busy += busy;
            a.replica_cores += cores;
            self.rec.db_server_areas(now, i + 1, busy, cores);
        }
        a.db_breaker_open = self.db_breaker_open.take(now);
        a.cache_breaker_open = self.cache_breaker_open.take(now);
        a.sessions = self.sessions_open.take(now);
        let ready = self.ready.value() as u32;
        self.rec.gauges(now, a, ready);
    }

    fn desired_total(&self) -> u32 {
        self.groups.iter().map(|g| g.desired).sum()
    }

    /// Periodic upkeep at each sample: dynamic pools close idle connections.
    fn upkeep(&mut self, now: SimTime) {
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
    fn server(&mut self, target: u8) -> &mut Database {
        // Database work exists only with a [database]; targets come from
        // its replicas.
        server(&mut self.db, &mut self.replicas, target as usize).expect("database server")
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
            let n = self.ready.value() as u32;
            let s = self.session_max_now();
            self.rec.sample_with_sessions(end, n, self.desired_total(), s);
        }
        if let Some(t) = &self.sessions {
            self.rec.sessions_max_per_instance = t.max_per_instance;
        }
        // Background flushes and session work are not requests anyone sent.
        self.conservation.in_flight = self.requests.live() as u64 - self.background - self.jobs_live;
        for c in &mut self.tier_conservation {
            c.in_flight = 0;
        }
        for r in self.requests.find(|r| !r.background && r.job == Job::Request) {
            let tier = self.requests.get(r).expect("live request").tier as usize;
            self.tier_conservation[tier].in_flight += 1;
        }
        for c in self.l1.iter().flatten() {
            self.peaks.l1_items = self.peaks.l1_items.max(c.peak_len() as u64);
        }
        if let Some(c) = &self.l2 {
            self.peaks.l2_items = c.peak_len() as u64;
        }
        if let Some(c) = &self.l3 {
            self.peaks.l3_items = c.peak_len() as u64;
        }
        if let Some(db) = &self.db {
            self.peaks.db_open = db.peak_connections();
        }
        self.peaks.replica_open = self.replicas.iter().map(|r| r.peak_connections()).max().unwrap_or(0);
        if let Some(t) = &self.sessions {
            self.peaks.sessions_per_instance = t.max_per_instance;
        }
    }

    /// A request refused before it reached a worker, in the accounting.
    fn reject_counted(&mut self, tier: usize, outcome: Outcome) {
        let limited = u64::from(outcome == Outcome::RateLimited);
        for c in [&mut self.conservation, &mut self.tier_conservation[tier]] {
            c.rejected += 1;
            c.rate_limited += limited;
        }
    }
}

impl Model for Service<'_> {
    type Msg = Msg;

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
            } => {
                let (w, key) = (workload as usize, self.key_of(workload as usize, tenant, key));
                let ip = self.ip_of(w, tenant, ip);
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
            Msg::LimiterReply { req } => self.on_limiter_reply(sched, req),
            Msg::CpuDone {
                station: Station::Instance(i),
                req,
            } => {
                // Work on a failed instance was abandoned with it.
                let live = self
                    .requests
                    .get(req)
                    .is_some_and(|r| r.phase == Phase::Cpu && r.instance == i);
                if live {
                    self.instances[i as usize].cpu_done(sched.now());
                    self.after_cpu(sched, req);
                }
            }
            Msg::CpuTick {
                station: Station::Instance(i),
                gen,
            } => {
                if self.instances[i as usize].state == InstanceState::Stopped {
                    return;
                }
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
            Msg::CpuDone {
                station: Station::Replica(i),
                req,
            } => {
                let live = self.requests.get(req).is_some_and(|r| r.phase == Phase::Query);
                if live {
                    self.replicas[i as usize].done_direct(sched.now());
                    self.query_done(sched, req);
                }
            }
            Msg::CpuTick {
                station: Station::Replica(i),
                gen,
            } => {
                let mut done = std::mem::take(&mut self.done_buf);
                done.clear();
                self.replicas[i as usize].tick(sched, gen, &mut done);
                for &r in &done {
                    self.query_done(sched, r);
                }
                self.done_buf = done;
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
            Msg::InstanceReady { instance } => self.make_ready(instance, sched.now()),
            Msg::DrainTimeout { instance } => {
                if self.instances[instance as usize].state == InstanceState::Draining {
                    self.stop(sched, instance);
                }
            }
            Msg::Autoscale { group } => self.on_autoscale(sched, group as usize),
            Msg::Replace { group } => {
                let g = &mut self.groups[group as usize];
                g.owed = g.owed.saturating_sub(1);
                self.reconcile(sched, group as usize);
            }
            Msg::Crash { instance } => {
                if self.crash(sched, instance) {
                    let g = self.instances[instance as usize].group;
                    let mttr = self.random_crashes.map(|c| c.1).unwrap_or(SimTime::ZERO);
                    self.groups[g as usize].owed += 1;
                    sched.schedule_in(mttr, Msg::Replace { group: g });
                }
            }
            Msg::FaultStart { index } => self.on_fault_start(sched, index as usize),
            Msg::FaultEnd { index } => self.on_fault_end(index as usize),
            Msg::Sample => {
                let now = sched.now();
                self.flush_gauges(now);
                self.upkeep(now);
                let n = self.ready.value() as u32;
                let d = self.desired_total();
                let s = self.session_max_now();
                self.rec.sample_with_sessions(now, n, d, s);
                let next = now + self.sc.simulation.sample_interval;
                if next <= self.sc.simulation.duration {
                    sched.schedule_at(next, Msg::Sample);
                }
            }
            Msg::WarmupEnd => self.flush_gauges(sched.now()),
            Msg::MemoryCheck => self.on_memory_check(sched),
            Msg::Background { instance, task } => self.on_background(sched, instance, task as usize),
            Msg::PauseStart { instance } => self.on_pause_start(sched, instance),
            Msg::PauseEnd { instance } => {
                if self.instances[instance as usize].state != InstanceState::Stopped {
                    self.instances[instance as usize].resume(sched);
                    // A GC cycle: with garbage counted, it is collected.
                    if self.sc.memory.as_ref().is_some_and(|m| m.garbage_per_request_mb > 0.0) {
                        self.instances[instance as usize].collect_garbage(sched.now());
                    }
                }
            }
            Msg::GcEnd { instance } => {
                let inst = &mut self.instances[instance as usize];
                if inst.state != InstanceState::Stopped {
                    inst.resume(sched);
                    inst.collect_garbage(sched.now());
                    inst.gc_running = false;
                }
            }
            Msg::SessionArrival { workload } => self.on_session_arrival(sched, workload as usize),
            Msg::SessionConnect { session, gen } => {
                let s = SessionRef { idx: session, gen };
                self.try_connect(sched, s, true);
            }
            Msg::SessionClose { session, gen } => {
                let s = SessionRef { idx: session, gen };
                if let Some(inst) = self.sessions.as_mut().and_then(|t| t.close(s)) {
                    self.sessions_changed(sched, inst, -1.0);
                }
            }
            Msg::SessionMessage { instance, gen } => self.on_session_message(sched, instance, gen),
        }
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
