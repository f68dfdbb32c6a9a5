//! What the Kubernetes HPA controller sees of a simulated instance group:
//! pods with a timeline (created → started → Ready) and per-pod metric
//! samples as metrics-server publishes them (one sample per `resolution`,
//! averaged over that window, visible `scrape_lag` after its end).
//!
//! # What this module owns
//!
//! * [`ControllerSettings`]: the controller and metrics-pipeline settings a
//!   scenario can give (`[autoscaler]` keys of `policy = "hpa"`), with the
//!   Kubernetes defaults.
//! * [`MetricsPipeline`]: per-instance scrape marks and the recent samples,
//!   taken on a fixed grid of `resolution` (the service calls
//!   [`MetricsPipeline::scrape`] from a periodic message and before every
//!   sync, so the order of the two at one instant does not matter).
//! * [`MetricsPipeline::view`]: the pods and samples at a sync, in the
//!   shape [`super::replica_calc::calculate`] reads.
//!
//! # Mapping (assumptions, documented in docs/scenario-reference.md)
//!
//! * An instance is a pod. Created when launched; *started* (phase Running,
//!   `status.startTime`) `container_start` later; Ready when tenantsim makes
//!   it ready (after `instance.startup`); draining = being deleted.
//!   Instances present at time zero were created `startup` before it.
//! * A pod has a sample at a scrape only if it was started a full window
//!   before it (metrics-server needs two cumulative readings): a new pod's
//!   metrics are *missing* until then.
//! * cpu: busy cores over the window, in millicores, against a request of
//!   the instance's cores. memory: the memory fraction in milli-units
//!   against a request of 1000 (so utilization is the fraction in percent).
//!   queue: waiting requests (time average). rps: the group's arrivals over
//!   the window shared by the pods Ready for the whole window (0 for the
//!   others). pool_in_use and latency_p95 are group-level values: Object
//!   metrics read from the autoscaler's observation.
//!
//! Must not: change instances or counts; it only reads integrals.
//! Invariant: `marks` and `scrapes` have one entry per launched instance.

use std::collections::VecDeque;

use super::replica_calc::{PodSample, PodState, Resource};
use crate::instance::{Instance, InstanceState};
use crate::spec::ControllerSettings;
use tenantsim_engine::SimTime;

/// Metric indices of a [`Scrape`].
pub const CPU: usize = 0;
pub const MEMORY: usize = 1;
pub const QUEUE: usize = 2;
pub const RPS: usize = 3;

/// One pod's sample at one scrape, in milli-units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scrape {
    /// End of the window.
    pub at: SimTime,
    pub values: [f64; 4],
}

/// The pods of a group and their visible samples at one sync.
#[derive(Clone, Debug, Default)]
pub struct PodsView {
    pub now_s: f64,
    pub pods: Vec<PodState>,
    /// Per pod (same order), its latest visible sample.
    pub samples: Vec<Option<Scrape>>,
    pub window_s: f64,
}

impl PodsView {
    /// The samples of metric `m` (a [`Scrape`] index) as the controller
    /// reads them.
    pub fn samples_of(&self, m: usize) -> Vec<PodSample> {
        self.pods
            .iter()
            .zip(&self.samples)
            .filter_map(|(p, s)| {
                s.map(|s| PodSample {
                    pod: p.name.clone(),
                    value: s.values[m],
                    timestamp: s.at.as_secs_f64(),
                    window: self.window_s,
                })
            })
            .collect()
    }
}

/// Per-instance scrape state of the whole service.
pub struct MetricsPipeline {
    pub settings: ControllerSettings,
    startup: SimTime,
    /// The next scrape on the grid.
    next: SimTime,
    /// Per instance: when it was last scraped and its (busy, memory, queue)
    /// integrals then.
    marks: Vec<Option<(SimTime, [f64; 3])>>,
    /// Per instance: its recent samples, oldest first.
    scrapes: Vec<VecDeque<Scrape>>,
    /// Per group: arrivals since the last scrape.
    arrivals: Vec<u64>,
}

impl MetricsPipeline {
    pub fn new(settings: ControllerSettings, startup: SimTime, groups: usize) -> Self {
        MetricsPipeline {
            settings,
            startup,
            next: SimTime::ZERO,
            marks: Vec::new(),
            scrapes: Vec::new(),
            arrivals: vec![0; groups],
        }
    }

    pub fn instance_added(&mut self) {
        self.marks.push(None);
        self.scrapes.push(VecDeque::new());
    }

    #[inline]
    pub fn arrival(&mut self, g: usize) {
        self.arrivals[g] += 1;
    }

    /// When the next scrape is due.
    pub fn next_scrape(&self) -> SimTime {
        self.next
    }

    /// When instance `inst` was created (launched).
    fn created(&self, inst: &Instance) -> f64 {
        match inst.state {
            // While starting, `ready_at` holds the launch time.
            InstanceState::Starting => inst.ready_at.as_secs_f64(),
            _ => inst.ready_at.as_secs_f64() - self.startup.as_secs_f64(),
        }
    }

    fn started(&self, inst: &Instance) -> f64 {
        self.created(inst) + self.settings.container_start.as_secs_f64()
    }

    /// Takes the scrape due at or before `now` (at `now`), if any; does
    /// nothing otherwise.
    pub fn scrape(&mut self, now: SimTime, instances: &mut [Instance]) {
        if now < self.next {
            return;
        }
        self.next = now + self.settings.metric_resolution;
        let now_s = now.as_secs_f64();
        // Pods Ready for the whole window share their group's arrivals.
        let window = self.settings.metric_resolution;
        let since = now.saturating_sub(window);
        let full_ready = |i: &Instance| i.state == InstanceState::Ready && i.ready_at <= since;
        let mut ready_per_group = vec![0u32; self.arrivals.len()];
        for inst in instances.iter() {
            if full_ready(inst) {
                ready_per_group[inst.group as usize] += 1;
            }
        }
        let keep = (self.settings.scrape_lag.as_secs_f64() / window.as_secs_f64().max(1e-9)).ceil() as usize + 2;
        for (id, inst) in instances.iter_mut().enumerate() {
            if inst.state == InstanceState::Stopped {
                self.marks[id] = None;
                self.scrapes[id].clear();
                continue;
            }
            if self.started(inst) > now_s {
                continue;
            }
            let totals = [inst.busy.total(now), inst.memory.total(now), inst.queue_len.total(now)];
            if let Some((t0, m)) = self.marks[id] {
                let dt = now.saturating_sub(t0).as_secs_f64();
                if dt > 0.0 {
                    let g = inst.group as usize;
                    let rps = if full_ready(inst) && ready_per_group[g] > 0 {
                        self.arrivals[g] as f64 / dt / f64::from(ready_per_group[g])
                    } else {
                        0.0
                    };
                    let s = &mut self.scrapes[id];
                    s.push_back(Scrape {
                        at: now,
                        values: [
                            (totals[0] - m[0]) / dt * 1000.0,
                            (totals[1] - m[1]) / dt * 1000.0,
                            (totals[2] - m[2]) / dt * 1000.0,
                            rps * 1000.0,
                        ],
                    });
                    while s.len() > keep {
                        s.pop_front();
                    }
                }
            }
            self.marks[id] = Some((now, totals));
        }
        self.arrivals.iter_mut().for_each(|a| *a = 0);
    }

    /// The pods of a group (`members`) and their latest visible samples at
    /// `now`.
    pub fn view(&self, now: SimTime, members: &[u32], instances: &[Instance]) -> PodsView {
        let now_s = now.as_secs_f64();
        let lag = self.settings.scrape_lag;
        let mut view = PodsView {
            now_s,
            window_s: self.settings.metric_resolution.as_secs_f64(),
            ..PodsView::default()
        };
        for &id in members {
            let inst = &instances[id as usize];
            if inst.state == InstanceState::Stopped {
                continue;
            }
            let created = self.created(inst);
            let started = self.started(inst);
            let running = started <= now_s;
            let ready = inst.state == InstanceState::Ready;
            let mut pod = PodState::running(
                format!("pod-{id}"),
                started,
                ready,
                if inst.serving {
                    inst.ready_at.as_secs_f64()
                } else {
                    started.max(created)
                },
            );
            if !running {
                pod.phase = super::replica_calc::Phase::Pending;
                pod.start = None;
                pod.ready = None;
            }
            pod.deleted = inst.state == InstanceState::Draining;
            pod.requests.insert(Resource::Cpu, f64::from(inst.cores()) * 1000.0);
            pod.requests.insert(Resource::Memory, 1000.0);
            let sample = self.scrapes[id as usize]
                .iter()
                .rev()
                .find(|s| s.at + lag <= now)
                .copied();
            view.pods.push(pod);
            view.samples.push(sample);
        }
        view
    }
}

impl ControllerSettings {
    /// The replica calculation's settings for this view and a tolerance.
    pub fn calc_config(&self, tolerance: f64) -> super::replica_calc::CalcConfig {
        super::replica_calc::CalcConfig {
            tolerance_down: tolerance,
            tolerance_up: tolerance,
            cpu_initialization_period: self.cpu_initialization_period.as_secs_f64(),
            initial_readiness_delay: self.initial_readiness_delay.as_secs_f64(),
        }
    }
}
