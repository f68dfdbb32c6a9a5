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
//!
//! Event-loop threads (`[host] threads`, see [`Instance::use_threads`]): an
//! asynchronous server runs every CPU phase of its requests on one of a
//! few threads, to completion and without preemption. Then at most
//! `threads` CPU phases run at once; the others wait FCFS in the threads'
//! run queue. The running phases still share the cores with the host's
//! other jobs (the database's query CPU, background tasks): the operating
//! system shares the cores between processes. Invariant: phases on
//! threads ≤ `threads`, and a phase waits in the run queue only while every
//! thread is busy.

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
    /// Event-loop threads; `u32::MAX` when CPU phases are not gated by
    /// threads (the default: every running request shares the cores).
    threads: u32,
    threads_busy: u32,
    /// CPU phases waiting for a thread, FCFS, with their work.
    run_queue: VecDeque<(ReqRef, SimTime)>,
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
            threads: u32::MAX,
            threads_busy: 0,
            run_queue: VecDeque::new(),
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
        debug_assert!(
            self.threads == u32::MAX || self.threads_busy <= self.threads,
            "more CPU phases on threads than threads"
        );
        debug_assert!(self.queued as u64 <= self.queue_capacity as u64, "queue over capacity");
        self.busy.set(now, self.cpu.busy_cores() as f64);
        self.memory.set(now, self.memory_fraction());
    }

    /// Run the request's CPU phases on `threads` event-loop threads (see
    /// the module doc). The cores become processor-shared whatever the
    /// worker count, since the host's other jobs share them too.
    pub fn use_threads(&mut self, threads: u32, now: SimTime) {
        debug_assert!(threads > 0);
        self.threads = threads;
        self.force_shared_cpu(now);
    }

    /// CPU phases waiting for a thread.
    pub fn run_queue_len(&self) -> usize {
        self.run_queue.len()
    }

    /// Start `req`'s CPU phase of `cpu` on a thread, or queue it for one.
    #[inline]
    fn on_thread(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime) {
        if self.threads == u32::MAX {
            self.cpu.begin(sched, req, cpu);
        } else if self.threads_busy < self.threads {
            self.threads_busy += 1;
            self.cpu.begin(sched, req, cpu);
        } else {
            self.run_queue.push_back((req, cpu));
        }
    }

    /// A CPU phase that ran on a thread ended (the caller knows it was a
    /// thread's: a request's CPU phase or a database reply): the thread
    /// takes the next phase of its run queue.
    #[inline]
    pub fn thread_done(&mut self, sched: &mut Scheduler<Msg>) {
        if self.threads == u32::MAX {
            return;
        }
        self.threads_busy -= 1;
        if let Some((next, cpu)) = self.run_queue.pop_front() {
            self.threads_busy += 1;
            self.cpu.begin(sched, next, cpu);
        }
        self.update_gauges(sched.now());
    }

    /// Stop `req`'s CPU phase (or reply) on a thread, or take it out of
    /// the run queue. Its thread takes no further phase: this is for work
    /// abandoned with a failing instance.
    pub fn leave_thread(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        if let Some(pos) = self.run_queue.iter().position(|(r, _)| *r == req) {
            // Still waiting for a thread: it holds none.
            self.run_queue.remove(pos);
        } else if self.cpu.cancel(sched, req) && self.threads != u32::MAX {
            self.threads_busy -= 1;
        }
    }

    /// Processing a database reply on a thread: `cpu` of work, after any
    /// phases queued before it. Completes like a CPU phase.
    pub fn run_reply(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, cpu: SimTime) {
        self.on_thread(sched, req, cpu);
        self.update_gauges(sched.now());
    }

    /// CPU work of the host that no thread runs (the database's query CPU
    /// on a shared host): it shares the cores with the threads.
    pub fn run_host(&mut self, sched: &mut Scheduler<Msg>, job: ReqRef, cpu: SimTime) {
        self.cpu.begin(sched, job, cpu);
        self.update_gauges(sched.now());
    }

    /// Stop host work that no thread runs (a query cut short).
    pub fn cancel_host(&mut self, sched: &mut Scheduler<Msg>, job: ReqRef) {
        self.cpu.cancel(sched, job);
        self.update_gauges(sched.now());
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
        self.on_thread(sched, req, cpu);
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
        self.on_thread(sched, req, cpu);
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
            self.leave_thread(sched, req);
        }
        self.busy_workers = self.busy_workers.saturating_sub(1);
        self.update_gauges(sched.now());
    }
}

#[cfg(test)]
mod tests;
