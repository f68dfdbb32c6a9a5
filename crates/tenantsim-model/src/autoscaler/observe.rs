//! Observation: what the autoscaler of each instance group sees, measured
//! from the instances and pools since the group's previous evaluation.
//!
//! Owns the measuring state that used to sit on the actors: each group's
//! window (when it was last observed, arrivals since, completed-request
//! latencies when a policy scales on `latency_p95`), each instance's marks
//! on its busy/memory/queue integrals, and each pool's owner and mark on its
//! in-use integral. The instances and pools stay unaware of the autoscaler.
//!
//! Must not: change an instance, a pool or a desired count; it only reads
//! their integrals (cutting them at `now` changes no total) and moves its
//! own marks. The instance lifecycle calls [`Scaling::instance_added`],
//! [`Scaling::instance_ready`] and [`Scaling::pools_added`] as instances and
//! pools appear, so the mark vectors stay indexed like the instances and
//! the pools.
//!
//! Invariants: `instance_marks.len()` = instances launched; `pool_marks`
//! and `pool_owner` have one entry per pool, in pool order. Every
//! observation moves the mark of every pool (not only the group's own), as
//! the service always did.

use super::k8s_view::MetricsPipeline;
use super::{Autoscaler, Observation, ScaleMetric};
use crate::instance::{Instance, InstanceState};
use crate::metrics::LatencyHistogram;
use crate::pool::ConnectionPool;
use crate::spec::{AutoscalerSpec, PolicySpec};
use tenantsim_engine::SimTime;

/// One instance group's autoscaler and its observation window.
pub struct GroupScaling {
    pub autoscaler: Option<Autoscaler>,
    /// Instances younger than this are left out of the metrics.
    warmup: SimTime,
    last_obs: SimTime,
    /// Requests that arrived for the group since the last observation.
    arrivals: u64,
    /// Latencies of requests completed since (only if a policy uses them).
    latency: Option<LatencyHistogram>,
}

/// The autoscaling state of all groups, and the marks on the actors.
pub struct Scaling {
    pub groups: Vec<GroupScaling>,
    /// Per instance: marks on (busy, memory, queue length) integrals.
    instance_marks: Vec<[f64; 3]>,
    /// Per pool: the instance that owns it (None: a shared pool), and the
    /// mark on its in-use integral (connection-seconds).
    pool_owner: Vec<Option<u32>>,
    pool_marks: Vec<f64>,
    /// What the Kubernetes controller sees (an `hpa` policy with
    /// `controller = "kubernetes"`): per-pod samples on a scrape grid.
    pub pipeline: Option<MetricsPipeline>,
}

impl GroupScaling {
    pub fn new(spec: Option<&AutoscalerSpec>) -> Self {
        let warmup = match spec.map(|a| &a.policy) {
            Some(PolicySpec::TargetTracking { warmup, .. }) => *warmup,
            _ => SimTime::ZERO,
        };
        let uses_latency = match spec.map(|a| &a.policy) {
            Some(PolicySpec::Hpa { metrics, .. }) => metrics.iter().any(|m| m.0 == ScaleMetric::LatencyP95),
            Some(PolicySpec::Threshold { rules, .. }) => rules.iter().any(|r| r.metric == ScaleMetric::LatencyP95),
            Some(PolicySpec::TargetTracking { metric, .. }) | Some(PolicySpec::Step { metric, .. }) => {
                *metric == ScaleMetric::LatencyP95
            }
            _ => false,
        };
        GroupScaling {
            autoscaler: spec.map(super::from_spec),
            warmup,
            last_obs: SimTime::ZERO,
            arrivals: 0,
            latency: uses_latency.then(LatencyHistogram::new),
        }
    }
}

impl Scaling {
    /// `groups` groups under `spec`, and `shared_pools` pools owned by no
    /// instance (created before any instance).
    /// `startup`: the instances' start-up time (the pods' timeline).
    pub fn new(spec: Option<&AutoscalerSpec>, groups: usize, shared_pools: usize, startup: SimTime) -> Self {
        let pipeline = match spec.map(|a| &a.policy) {
            Some(PolicySpec::Hpa {
                controller: Some(settings),
                ..
            }) => Some(MetricsPipeline::new(*settings, startup, groups)),
            _ => None,
        };
        Scaling {
            groups: (0..groups).map(|_| GroupScaling::new(spec)).collect(),
            instance_marks: Vec::new(),
            pool_owner: vec![None; shared_pools],
            pool_marks: vec![0.0; shared_pools],
            pipeline,
        }
    }

    /// A request arrived for group `g`.
    #[inline]
    pub fn arrival(&mut self, g: usize) {
        self.groups[g].arrivals += 1;
        if let Some(p) = &mut self.pipeline {
            p.arrival(g);
        }
    }

    /// A request of group `g` completed after `latency`.
    #[inline]
    pub fn completed(&mut self, g: usize, latency: SimTime) {
        if let Some(h) = &mut self.groups[g].latency {
            h.record(latency);
        }
    }

    /// A new instance was launched (ids are given in order).
    pub fn instance_added(&mut self) {
        self.instance_marks.push([0.0; 3]);
        if let Some(p) = &mut self.pipeline {
            p.instance_added();
        }
    }

    /// `n` new pools owned by `owner` were appended to the pool list.
    pub fn pools_added(&mut self, owner: Option<u32>, n: usize) {
        self.pool_owner.extend(std::iter::repeat_n(owner, n));
        self.pool_marks.extend(std::iter::repeat_n(0.0, n));
    }

    /// Instance `inst` starts serving: the autoscaler measures from here.
    pub fn instance_ready(&mut self, inst: &mut Instance, now: SimTime) {
        self.instance_marks[inst.id as usize] =
            [inst.busy.total(now), inst.memory.total(now), inst.queue_len.total(now)];
    }

    /// The view of group `g` (its `members`, `desired` wanted) since its
    /// last evaluation; moves the marks to `now`.
    pub fn observe(
        &mut self,
        now: SimTime,
        g: usize,
        desired: u32,
        members: &[u32],
        instances: &mut [Instance],
        pools: &mut [ConnectionPool],
    ) -> Observation {
        let warmup = self.groups[g].warmup;
        let last_obs = self.groups[g].last_obs;
        let dt = now.saturating_sub(last_obs).as_secs_f64();
        let (mut busy, mut cores_time, mut mem, mut queue, mut inst_time) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut ready = 0u32;
        // Requests waiting on every ready instance (an External metric's
        // total, whatever the instances' age).
        let mut waiting = 0.0;
        for &id in members {
            let inst = &mut instances[id as usize];
            if inst.state != InstanceState::Ready {
                continue;
            }
            ready += 1;
            let totals = [inst.busy.total(now), inst.memory.total(now), inst.queue_len.total(now)];
            let marks = &mut self.instance_marks[id as usize];
            let deltas = [totals[0] - marks[0], totals[1] - marks[1], totals[2] - marks[2]];
            *marks = totals;
            waiting += deltas[2];
            let since = now.saturating_sub(inst.ready_at.max(last_obs)).as_secs_f64();
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
        let arrivals_per_s = (dt > 0.0).then(|| group.arrivals as f64 / dt);
        let waiting = (dt > 0.0).then(|| waiting / dt);
        group.arrivals = 0;
        if let Some(h) = &mut group.latency {
            metrics[ScaleMetric::LatencyP95.index()] = h.quantile_s(0.95);
            h.reset();
        }
        // Pools of the group's ready instances (or the shared pools), each
        // measured from its own mark.
        let mut in_use = 0.0;
        let mut n_pools = 0usize;
        for (i, p) in pools.iter_mut().enumerate() {
            let counts = match self.pool_owner[i] {
                Some(id) => {
                    let inst = &instances[id as usize];
                    inst.group as usize == g && inst.state == InstanceState::Ready
                }
                None => true,
            };
            let total = p.in_use_gauge.total(now);
            if counts {
                in_use += total - self.pool_marks[i];
                n_pools += 1;
            }
            self.pool_marks[i] = total;
        }
        if n_pools > 0 && dt > 0.0 {
            metrics[ScaleMetric::PoolInUse.index()] = Some((in_use / dt / n_pools as f64).max(0.0));
        }
        self.groups[g].last_obs = now;
        // Policies work from the desired count (Kubernetes' spec.replicas),
        // not the live one: a crashed instance awaiting its replacement is
        // still wanted.
        Observation {
            now,
            current: desired,
            ready,
            metrics,
            arrivals_per_s,
            waiting,
        }
    }
}
