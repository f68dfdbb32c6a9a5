//! An API instance: `workers` threads, a FCFS queue bounded by
//! `queue_capacity`, and `cores` of CPU shared by the running requests.
//!
//! Invariants: at most `workers` requests run; at most `queue_capacity`
//! wait; a waiting request starts only when a worker frees (FCFS). While no
//! more requests run than there are cores, each runs at full speed; beyond
//! that, CPU is processor-shared: each of n running requests progresses at
//! rate cores/n. With `workers <= cores` sharing can never happen, so the
//! instance schedules each completion directly and behaves exactly as an
//! M/M/c station for exponential demand.
//!
//! Processor sharing uses virtual time: `v` is the CPU work every running
//! request has received; a request with demand d started at virtual time v0
//! finishes when v reaches v0 + d. Completion events carry a generation and
//! are superseded whenever the number of running requests changes.

use super::request::ReqRef;
use super::Msg;
use crate::engine::{Scheduler, SimTime};
use crate::metrics::TimeIntegral;
use crate::scenario::InstanceSpec;
use std::collections::VecDeque;

/// What happened to a request offered to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    Started,
    Queued,
    Full,
}

struct ProcessorSharing {
    /// Work received by each running request so far, in ns (f64: exact to
    /// well beyond a year of simulated time).
    v: f64,
    last: SimTime,
    /// Running requests as (virtual finish time, request), a binary min-heap.
    heap: Vec<(f64, ReqRef)>,
    gen: u32,
}

pub struct Instance {
    pub id: u32,
    cores: u32,
    workers: u32,
    queue_capacity: u32,
    running: u32,
    queue: VecDeque<ReqRef>,
    ps: Option<ProcessorSharing>,
    base_memory_mb: f64,
    memory_per_request_mb: f64,
    memory_mb: f64,
    /// Busy cores over time (for CPU utilisation).
    pub busy: TimeIntegral,
    /// Memory in use, as a fraction of `memory_mb`, over time.
    pub memory: TimeIntegral,
}

impl Instance {
    pub fn new(id: u32, spec: &InstanceSpec, now: SimTime) -> Self {
        let ps = (spec.workers > spec.cores).then(|| ProcessorSharing {
            v: 0.0,
            last: now,
            heap: Vec::with_capacity(spec.workers.min(1 << 16) as usize),
            gen: 0,
        });
        let mut inst = Instance {
            id,
            cores: spec.cores,
            workers: spec.workers,
            queue_capacity: spec.queue_capacity,
            running: 0,
            queue: VecDeque::with_capacity(spec.queue_capacity.min(4096) as usize),
            ps,
            base_memory_mb: spec.base_memory_mb,
            memory_per_request_mb: spec.memory_per_request_mb,
            memory_mb: spec.memory_mb,
            busy: TimeIntegral::new(now),
            memory: TimeIntegral::new(now),
        };
        inst.memory.set(now, inst.memory_fraction());
        inst
    }

    pub fn cores(&self) -> u32 {
        self.cores
    }

    /// Requests held (running + queued).
    pub fn in_flight(&self) -> u32 {
        self.running + self.queue.len() as u32
    }

    pub fn running(&self) -> u32 {
        self.running
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn memory_fraction(&self) -> f64 {
        (self.base_memory_mb + self.memory_per_request_mb * self.in_flight() as f64)
            / self.memory_mb
    }

    fn update_gauges(&mut self, now: SimTime) {
        self.busy.set(now, self.running.min(self.cores) as f64);
        self.memory.set(now, self.memory_fraction());
    }

    /// Offer a request with CPU demand `cpu`.
    #[inline]
    pub fn offer(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime) -> Offer {
        if self.running < self.workers {
            self.start(sched, req, cpu);
            Offer::Started
        } else if (self.queue.len() as u64) < self.queue_capacity as u64 {
            self.queue.push_back(req);
            self.memory.set(sched.now(), self.memory_fraction());
            Offer::Queued
        } else {
            Offer::Full
        }
    }

    /// Give a worker to `req` (the caller checked one is free).
    #[inline]
    pub fn start(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime) {
        let now = sched.now();
        match &mut self.ps {
            None => {
                self.running += 1;
                sched.schedule_in(
                    cpu,
                    Msg::CpuDone {
                        instance: self.id,
                        req,
                    },
                );
            }
            Some(_) => {
                self.ps_advance(now);
                self.running += 1;
                let ps = self.ps.as_mut().expect("processor-sharing mode");
                heap_push(&mut ps.heap, (ps.v + cpu.as_nanos() as f64, req));
                self.ps_reschedule(sched);
            }
        }
        self.update_gauges(now);
    }

    /// A direct-mode CPU completion: free the worker. Returns the next
    /// queued request, which the caller must [`Instance::start`].
    #[inline]
    pub fn finish(&mut self, now: SimTime) -> Option<ReqRef> {
        self.running -= 1;
        self.update_gauges(now);
        self.queue.pop_front()
    }

    /// A processor-sharing tick: if current, move every request whose work
    /// is done into `done` (the caller then frees their workers with
    /// [`Instance::release_worker`] and starts queued requests).
    pub fn ps_tick(&mut self, sched: &mut Scheduler<Msg>, gen: u32, done: &mut Vec<ReqRef>) {
        let now = sched.now();
        match &self.ps {
            Some(ps) if ps.gen == gen => {}
            _ => return,
        }
        self.ps_advance(now);
        let ps = self.ps.as_mut().expect("checked above");
        // Half a nanosecond of slack absorbs the rounding of event times.
        while let Some(&(fv, r)) = ps.heap.first() {
            if fv <= ps.v + 0.5 {
                heap_pop(&mut ps.heap);
                done.push(r);
            } else {
                break;
            }
        }
    }

    /// Free the worker of a finished processor-sharing request; returns the
    /// next queued request, which the caller must start.
    pub fn release_worker(&mut self, sched: &mut Scheduler<Msg>) -> Option<ReqRef> {
        let now = sched.now();
        self.ps_advance(now);
        self.running -= 1;
        self.ps_reschedule(sched);
        self.update_gauges(now);
        self.queue.pop_front()
    }

    fn rate(&self) -> f64 {
        if self.running <= self.cores {
            1.0
        } else {
            self.cores as f64 / self.running as f64
        }
    }

    fn ps_advance(&mut self, now: SimTime) {
        let r = self.rate();
        if let Some(ps) = &mut self.ps {
            ps.v += (now.saturating_sub(ps.last)).as_nanos() as f64 * r;
            ps.last = now;
        }
    }

    fn ps_reschedule(&mut self, sched: &mut Scheduler<Msg>) {
        let r = self.rate();
        let id = self.id;
        if let Some(ps) = &mut self.ps {
            ps.gen = ps.gen.wrapping_add(1);
            if let Some(&(fv, _)) = ps.heap.first() {
                let dt = ((fv - ps.v).max(0.0) / r).ceil();
                sched.schedule_in(
                    SimTime::from_nanos(dt as u64),
                    Msg::CpuTick {
                        instance: id,
                        gen: ps.gen,
                    },
                );
            }
        }
    }

    /// Requests waiting in the queue are dropped (instance failure).
    pub fn drain_queue(&mut self) -> impl Iterator<Item = ReqRef> + '_ {
        self.queue.drain(..)
    }
}

fn heap_push(h: &mut Vec<(f64, ReqRef)>, x: (f64, ReqRef)) {
    h.push(x);
    let mut i = h.len() - 1;
    while i > 0 {
        let p = (i - 1) / 2;
        if h[i].0 < h[p].0 {
            h.swap(i, p);
            i = p;
        } else {
            break;
        }
    }
}

fn heap_pop(h: &mut Vec<(f64, ReqRef)>) -> Option<(f64, ReqRef)> {
    let last = h.pop()?;
    if h.is_empty() {
        return Some(last);
    }
    let top = std::mem::replace(&mut h[0], last);
    let n = h.len();
    let mut i = 0;
    loop {
        let l = 2 * i + 1;
        if l >= n {
            break;
        }
        let c = if l + 1 < n && h[l + 1].0 < h[l].0 {
            l + 1
        } else {
            l
        };
        if h[c].0 < h[i].0 {
            h.swap(c, i);
            i = c;
        } else {
            break;
        }
    }
    Some(top)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Balancing;

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
            inst.offer(&mut s, r(i), demand(i));
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
                        if let Some(n) = self.inst.finish(now) {
                            self.inst.start(s, n, d(n.idx, &self.demands));
                        }
                    }
                    Msg::CpuTick { gen, .. } => {
                        let mut done = vec![];
                        self.inst.ps_tick(s, gen, &mut done);
                        for q in done {
                            self.out.push((q.idx, now.as_secs_f64()));
                            if let Some(n) = self.inst.release_worker(s) {
                                self.inst.start(s, n, d(n.idx, &self.demands));
                            }
                        }
                    }
                    _ => unreachable!(),
                }
            }
        }
        use crate::engine::Model;
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
        let mut i = Instance::new(0, &spec(2, 2, 10), SimTime::ZERO);
        // Two run at once; the third waits for the first free worker.
        let out = completions(&mut i, &[3.0, 1.0, 1.0]);
        assert_eq!(out, vec![(1, 1.0), (2, 2.0), (0, 3.0)]);
    }

    #[test]
    fn queue_capacity_bounds_waiting_requests() {
        let mut s: Scheduler<Msg> = Scheduler::new();
        let mut i = Instance::new(0, &spec(1, 1, 2), SimTime::ZERO);
        let d = SimTime::from_secs(1);
        assert_eq!(i.offer(&mut s, r(0), d), Offer::Started);
        assert_eq!(i.offer(&mut s, r(1), d), Offer::Queued);
        assert_eq!(i.offer(&mut s, r(2), d), Offer::Queued);
        assert_eq!(i.offer(&mut s, r(3), d), Offer::Full);
        assert_eq!((i.running(), i.queued(), i.in_flight()), (1, 2, 3));
        // Memory: base 100 + 3 × 10 of 1000.
        assert!((i.memory.value() - 0.13).abs() < 1e-12);
    }

    #[test]
    fn processor_sharing_splits_the_cores() {
        // One core, four workers: two requests of 1 s each share the core
        // and both finish at 2 s; a third of 0.5 s started alongside them
        // finishes first, at 1.5 s (3 × 0.5), then the others at 2.5 s.
        let mut i = Instance::new(0, &spec(1, 4, 10), SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0]);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|(_, t)| (t - 2.0).abs() < 1e-6), "{out:?}");
        let mut i = Instance::new(0, &spec(1, 4, 10), SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0, 0.5]);
        assert_eq!(out[0].0, 2);
        assert!((out[0].1 - 1.5).abs() < 1e-6, "{out:?}");
        assert!(
            out[1..].iter().all(|(_, t)| (t - 2.5).abs() < 1e-6),
            "{out:?}"
        );
    }

    #[test]
    fn processor_sharing_only_beyond_the_core_count() {
        // Two cores, four workers, three equal jobs of 1 s: rate 2/3 each,
        // all finish at 1.5 s.
        let mut i = Instance::new(0, &spec(2, 4, 10), SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0, 1.0]);
        assert!(out.iter().all(|(_, t)| (t - 1.5).abs() < 1e-6), "{out:?}");
        // Beyond the workers, requests queue: 5 jobs, 4 workers, 2 cores.
        let mut i = Instance::new(0, &spec(2, 4, 10), SimTime::ZERO);
        let out = completions(&mut i, &[1.0, 1.0, 1.0, 1.0, 1.0]);
        // Four share two cores (rate 1/2): done at 2 s; the fifth then runs
        // alone for 1 s.
        assert!(
            out[..4].iter().all(|(_, t)| (t - 2.0).abs() < 1e-6),
            "{out:?}"
        );
        assert_eq!(out[4].0, 4);
        assert!((out[4].1 - 3.0).abs() < 1e-6);
    }
}
