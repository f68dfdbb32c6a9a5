//! An API instance: `workers` threads, a FCFS queue bounded by
//! `queue_capacity`, and `cores` of CPU shared by the running requests
//! ([`CpuShare`]).
//!
//! Invariants: at most `workers` requests hold a worker; at most
//! `queue_capacity` wait; a waiting request gets a worker only when one
//! frees, in priority order and FCFS within a priority level. A request holds its worker from start to response, also
//! while it waits for caches or the database, but uses CPU only during its
//! CPU phase. With `workers <= cores` the instance is exactly an M/M/c
//! station for exponential CPU demand.

use super::cpu::CpuShare;
use super::request::ReqRef;
use super::{Msg, Station};
use crate::metrics::TimeIntegral;
use crate::spec::InstanceSpec;
use std::collections::VecDeque;
use tenantsim_engine::{Scheduler, SimTime};

/// What happened to a request offered to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    Started,
    Queued,
    Full,
}

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// Requested, not yet serving (for `startup`).
    Starting,
    /// Receiving traffic.
    Ready,
    /// Removed from the balancer, finishing its in-flight requests.
    Draining,
    /// Gone (removed or failed).
    Stopped,
}

pub struct Instance {
    pub id: u32,
    /// The instance group it belongs to.
    pub group: u16,
    pub state: InstanceState,
    /// When it became ready (start time until then).
    pub ready_at: SimTime,
    /// It has served (became ready); stays true while draining.
    pub serving: bool,
    workers: u32,
    queue_capacity: u32,
    busy_workers: u32,
    /// Waiting requests, one FCFS queue per priority level (0 first).
    queues: Vec<VecDeque<ReqRef>>,
    queued: u32,
    cpu: CpuShare,
    base_memory_mb: f64,
    memory_per_request_mb: f64,
    memory_mb: f64,
    /// Memory held by the L1 cache (with `[memory] per_cache_item_mb`).
    cache_mb: f64,
    /// Memory held by its sessions (`[sessions] memory_per_session_mb`).
    session_mb: f64,
    /// Garbage left by finished requests until a GC (`[memory]
    /// garbage_per_request_mb`).
    garbage_mb: f64,
    /// A memory `shed` action refuses new requests here.
    pub memory_shed: bool,
    /// An `emergency-gc` pause is under way.
    pub gc_running: bool,
    /// Busy cores over time (for CPU utilisation).
    pub busy: TimeIntegral,
    /// Memory in use, as a fraction of `memory_mb`, over time.
    pub memory: TimeIntegral,
    /// Requests waiting for a worker, over time.
    pub queue_len: TimeIntegral,
}

impl Instance {
    /// A new instance in state `Starting`; `levels` priority levels.
    pub fn new(id: u32, group: u16, spec: &InstanceSpec, levels: usize, now: SimTime) -> Self {
        Instance {
            id,
            group,
            state: InstanceState::Starting,
            ready_at: now,
            serving: false,
            workers: spec.workers,
            queue_capacity: spec.queue_capacity,
            busy_workers: 0,
            queues: (0..levels.max(1))
                .map(|_| VecDeque::with_capacity(spec.queue_capacity.min(1024) as usize))
                .collect(),
            queued: 0,
            cpu: CpuShare::new(Station::Instance(id), spec.cores, spec.workers, now),
            base_memory_mb: spec.base_memory_mb,
            memory_per_request_mb: spec.memory_per_request_mb,
            memory_mb: spec.memory_mb,
            cache_mb: 0.0,
            session_mb: 0.0,
            garbage_mb: 0.0,
            memory_shed: false,
            gc_running: false,
            busy: TimeIntegral::new(now),
            memory: TimeIntegral::new(now),
            queue_len: TimeIntegral::new(now),
        }
    }

    /// The instance finished starting: it serves from `now`.
    pub fn start_serving(&mut self, now: SimTime) {
        self.state = InstanceState::Ready;
        self.ready_at = now;
        self.serving = true;
        self.report_memory(now, true);
    }

    /// Memory is reported only while the instance serves (ready or
    /// draining): start it at `make_ready`, zero it when stopped.
    pub fn report_memory(&mut self, now: SimTime, on: bool) {
        let v = if on { self.memory_fraction() } else { 0.0 };
        self.memory.set(now, v);
        if !on {
            self.busy.set(now, 0.0);
        }
    }

    /// Requests held (holding a worker or queued).
    pub fn in_flight(&self) -> u32 {
        self.busy_workers + self.queued
    }

    /// Requests holding a worker.
    pub fn running(&self) -> u32 {
        self.busy_workers
    }

    pub fn queued(&self) -> usize {
        self.queued as usize
    }

    /// Requests of priority `level` waiting for a worker.
    pub fn queued_at(&self, level: u8) -> usize {
        self.queues.get(level as usize).map_or(0, |q| q.len())
    }

    pub fn cores(&self) -> u32 {
        self.cpu.cores()
    }

    /// Memory in use as a fraction of `memory_mb`: base, requests held
    /// (running or queued), L1 cache, sessions and garbage.
    pub fn memory_fraction(&self) -> f64 {
        (self.base_memory_mb
            + self.memory_per_request_mb * self.in_flight() as f64
            + self.cache_mb
            + self.session_mb
            + self.garbage_mb)
            / self.memory_mb
    }

    /// The L1 cache now holds `mb` of memory.
    pub fn set_cache_mb(&mut self, now: SimTime, mb: f64) {
        self.cache_mb = mb;
        self.memory_changed(now);
    }

    /// Its sessions now hold `mb` of memory.
    pub fn set_session_mb(&mut self, now: SimTime, mb: f64) {
        self.session_mb = mb;
        self.memory_changed(now);
    }

    /// A finished request left `mb` of garbage.
    #[inline]
    pub fn add_garbage(&mut self, now: SimTime, mb: f64) {
        self.garbage_mb += mb;
        self.memory_changed(now);
    }

    /// A GC collected the garbage.
    pub fn collect_garbage(&mut self, now: SimTime) {
        self.garbage_mb = 0.0;
        self.memory_changed(now);
    }

    #[inline]
    fn memory_changed(&mut self, now: SimTime) {
        if self.serving {
            self.memory.set(now, self.memory_fraction());
        }
    }

    fn update_gauges(&mut self, now: SimTime) {
        if !self.serving {
            return;
        }
        debug_assert!(self.busy_workers <= self.workers, "more requests than workers");
        debug_assert!(self.queued as u64 <= self.queue_capacity as u64, "queue over capacity");
        self.busy.set(now, self.cpu.busy_cores() as f64);
        self.memory.set(now, self.memory_fraction());
    }

    /// Offer a request with CPU demand `cpu` and priority `level`.
    #[inline]
    pub fn offer(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime, level: u8) -> Offer {
        if self.busy_workers < self.workers {
            self.start(sched, req, cpu);
            Offer::Started
        } else if (self.queued as u64) < self.queue_capacity as u64 {
            let l = (level as usize).min(self.queues.len() - 1);
            self.queues[l].push_back(req);
            self.queued += 1;
            let now = sched.now();
            self.memory.set(now, self.memory_fraction());
            self.queue_len.set(now, self.queued as f64);
            Offer::Queued
        } else {
            Offer::Full
        }
    }

    /// Give a worker to `req` and start its CPU phase (the caller checked a
    /// worker is free).
    #[inline]
    pub fn start(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime) {
        self.busy_workers += 1;
        self.cpu.begin(sched, req, cpu);
        self.update_gauges(sched.now());
    }

    /// Use processor sharing whatever the worker count, so the CPU can be
    /// paused and run background work (a new instance, before any job).
    pub fn force_shared_cpu(&mut self, now: SimTime) {
        let cores = self.cpu.cores();
        self.cpu = CpuShare::new(Station::Instance(self.id), cores, self.workers.max(cores) + 1, now);
    }

    /// A stop-the-world pause begins / ends.
    pub fn pause(&mut self, sched: &mut Scheduler<Msg>) {
        self.cpu.pause(sched);
    }

    pub fn resume(&mut self, sched: &mut Scheduler<Msg>) {
        self.cpu.resume(sched);
    }

    /// Start CPU work that holds no worker (a background task run); its
    /// completion comes back with `job`, which names no request.
    pub fn run_background(&mut self, sched: &mut Scheduler<Msg>, job: ReqRef, cpu: SimTime) {
        self.cpu.begin(sched, job, cpu);
        self.update_gauges(sched.now());
    }

    /// Start another CPU phase of a request that already holds a worker
    /// (the next request stage).
    #[inline]
    pub fn run_cpu(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime) {
        self.cpu.begin(sched, req, cpu);
        self.update_gauges(sched.now());
    }

    /// A direct-mode CPU completion (`Msg::CpuDone`) was delivered; the
    /// request keeps its worker.
    #[inline]
    pub fn cpu_done(&mut self, now: SimTime) {
        self.cpu.end_direct();
        self.update_gauges(now);
    }

    /// A processor-sharing tick: finished CPU phases are appended to `done`.
    pub fn cpu_tick(&mut self, sched: &mut Scheduler<Msg>, gen: u32, done: &mut Vec<ReqRef>) {
        self.cpu.tick(sched, gen, done);
        self.update_gauges(sched.now());
    }

    /// A request let go of its worker. Returns the next queued request, to
    /// which the caller must give the worker with [`Instance::start`].
    #[inline]
    pub fn free_worker(&mut self, now: SimTime) -> Option<ReqRef> {
        self.busy_workers -= 1;
        let next = self.pop_queue(now);
        self.update_gauges(now);
        next
    }

    fn pop_queue(&mut self, now: SimTime) -> Option<ReqRef> {
        let next = self.queues.iter_mut().find_map(|q| q.pop_front());
        if next.is_some() {
            self.queued -= 1;
            self.queue_len.set(now, self.queued as f64);
        }
        next
    }

    /// Empty the queue (the instance is going away); returns the requests.
    pub fn take_queue(&mut self, now: SimTime) -> Vec<ReqRef> {
        let all: Vec<ReqRef> = self.queues.iter_mut().flat_map(|q| q.drain(..)).collect();
        self.queued = 0;
        self.queue_len.set(now, 0.0);
        self.update_gauges(now);
        all
    }

    /// A running request is abandoned (instance failure): free its worker
    /// without starting another, and stop its CPU work.
    pub fn abandon(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, in_cpu: bool) {
        if in_cpu {
            self.cpu.cancel(sched, req);
        }
        self.busy_workers = self.busy_workers.saturating_sub(1);
        self.update_gauges(sched.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Balancing;

    fn spec(cores: u32, workers: u32, queue_capacity: u32) -> InstanceSpec {
        InstanceSpec {
            cores,
            workers,
            queue_capacity,
            base_memory_mb: 100.0,
            memory_per_request_mb: 10.0,
            memory_mb: 1000.0,
            startup: SimTime::ZERO,
            initial: 1,
            cost_per_hour: 0.0,
            load_balancer: Balancing::RoundRobin,
            drain_timeout: SimTime::ZERO,
            scale_in: crate::spec::ScaleIn::Newest,
            none_ready: crate::spec::NoneReady::Fail,
        }
    }

    fn r(i: u32) -> ReqRef {
        ReqRef { idx: i, gen: 0 }
    }

    /// Drive one instance alone: offer requests with given demands at time
    /// zero and return (request, completion time) in completion order.
    fn completions(inst: &mut Instance, demands_s: &[f64]) -> Vec<(u32, f64)> {
        let mut s: Scheduler<Msg> = Scheduler::new();
        let demand = |i: u32| SimTime::from_secs_f64(demands_s[i as usize]);
        for i in 0..demands_s.len() as u32 {
            inst.offer(&mut s, r(i), demand(i), 0);
        }
        struct H<'a> {
            inst: &'a mut Instance,
            out: Vec<(u32, f64)>,
            demands: Vec<f64>,
        }
        impl Model for H<'_> {
            type Msg = Msg;
            fn handle(&mut self, s: &mut Scheduler<Msg>, m: Msg) {
                let now = s.now();
                let d = |i: u32, ds: &Vec<f64>| SimTime::from_secs_f64(ds[i as usize]);
                match m {
                    Msg::CpuDone { req, .. } => {
                        self.out.push((req.idx, now.as_secs_f64()));
                        self.inst.cpu_done(now);
                        if let Some(n) = self.inst.free_worker(now) {
                            self.inst.start(s, n, d(n.idx, &self.demands));
                        }
                    }
                    Msg::CpuTick { gen, .. } => {
                        let mut done = vec![];
                        self.inst.cpu_tick(s, gen, &mut done);
                        for q in done {
                            self.out.push((q.idx, now.as_secs_f64()));
                            if let Some(n) = self.inst.free_worker(now) {
                                self.inst.start(s, n, d(n.idx, &self.demands));
                            }
                        }
                    }
                    _ => unreachable!(),
                }
            }
        }
        use tenantsim_engine::Model;
        let mut h = H {
            inst,
            out: vec![],
            demands: demands_s.to_vec(),
        };
        s.run_until(&mut h, SimTime::from_secs(1000));
        h.out
    }

    #[test]
    fn fcfs_with_dedicated_cores() {
        let mut i = Instance::new(0, 0, &spec(2, 2, 10), 1, SimTime::ZERO);
        i.start_serving(SimTime::ZERO);
        // Two run at once; the third waits for the first free worker.
        let out = completions(&mut i, &[3.0, 1.0, 1.0]);
        assert_eq!(out, vec![(1, 1.0), (2, 2.0), (0, 3.0)]);
    }

    #[test]
    fn queue_capacity_bounds_waiting_requests() {
        let mut s: Scheduler<Msg> = Scheduler::new();
        let mut i = Instance::new(0, 0, &spec(1, 1, 2), 1, SimTime::ZERO);
        i.start_serving(SimTime::ZERO);
        let d = SimTime::from_secs(1);
        assert_eq!(i.offer(&mut s, r(0), d, 0), Offer::Started);
        assert_eq!(i.offer(&mut s, r(1), d, 0), Offer::Queued);
        assert_eq!(i.offer(&mut s, r(2), d, 0), Offer::Queued);
        assert_eq!(i.offer(&mut s, r(3), d, 0), Offer::Full);
        assert_eq!((i.running(), i.queued(), i.in_flight()), (1, 2, 3));
        // Memory: base 100 + 3 × 10 of 1000.
        assert!((i.memory.value() - 0.13).abs() < 1e-12);
    }

    #[test]
    fn processor_sharing_splits_the_cores() {
        // One core, four workers: two requests of 1 s each share the core
        // and both finish at 2 s; a third of 0.5 s started alongside them
        // finishes first, at 1.5 s (3 × 0.5), then the others at 2.5 s.
        let mut i = Instance::new(0, 0, &spec(1, 4, 10), 1, SimTime::ZERO);
        i.start_serving(SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0]);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, t)| (t - 2.0).abs() < 1e-6), "{out:?}");
        let mut i = Instance::new(0, 0, &spec(1, 4, 10), 1, SimTime::ZERO);
        i.start_serving(SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0, 0.5]);
        assert_eq!(out[0].0, 2);
        assert!((out[0].1 - 1.5).abs() < 1e-6, "{out:?}");
        assert!(out[1..].iter().all(|(_, t)| (t - 2.5).abs() < 1e-6), "{out:?}");
    }

    #[test]
    fn processor_sharing_only_beyond_the_core_count() {
        // Two cores, four workers, three equal jobs of 1 s: rate 2/3 each,
        // all finish at 1.5 s.
        let mut i = Instance::new(0, 0, &spec(2, 4, 10), 1, SimTime::ZERO);
        i.start_serving(SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0, 1.0]);
        assert!(out.iter().all(|(_, t)| (t - 1.5).abs() < 1e-6), "{out:?}");
        // Beyond the workers, requests queue: 5 jobs, 4 workers, 2 cores.
        let mut i = Instance::new(0, 0, &spec(2, 4, 10), 1, SimTime::ZERO);
        i.start_serving(SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0, 1.0, 1.0, 1.0]);
        // Four share two cores (rate 1/2): done at 2 s; the fifth then runs
        // alone for 1 s.
        assert!(out[..4].iter().all(|(_, t)| (t - 2.0).abs() < 1e-6), "{out:?}");
        assert_eq!(out[4].0, 4);
        assert!((out[4].1 - 3.0).abs() < 1e-6);
    }
}
