//! Unit tests of [`super::Instance`]: FCFS with dedicated cores, the
//! queue bound, processor sharing, and event-loop threads beside host work.

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

/// Drive one instance with `threads` event-loop threads: requests of
/// the given CPU (on threads) and host jobs (no thread), all offered at
/// time zero; returns (job, completion time) in completion order.
fn threaded(cores: u32, threads: u32, on_thread: &[f64], on_host: &[f64]) -> Vec<(u32, f64)> {
    let mut s: Scheduler<Msg> = Scheduler::new();
    let mut inst = Instance::new(0, 0, &spec(cores, 64, 10), 1, SimTime::ZERO);
    inst.use_threads(threads, SimTime::ZERO);
    inst.start_serving(SimTime::ZERO);
    let n = on_thread.len() as u32;
    for (i, d) in on_thread.iter().enumerate() {
        inst.offer(&mut s, r(i as u32), SimTime::from_secs_f64(*d), 0);
    }
    for (i, d) in on_host.iter().enumerate() {
        inst.run_host(&mut s, r(n + i as u32), SimTime::from_secs_f64(*d));
    }
    struct H<'a> {
        inst: &'a mut Instance,
        n: u32,
        out: Vec<(u32, f64)>,
    }
    impl Model for H<'_> {
        type Msg = Msg;
        fn handle(&mut self, s: &mut Scheduler<Msg>, m: Msg) {
            let Msg::CpuTick { gen, .. } = m else {
                unreachable!("threads use the shared CPU")
            };
            let mut done = vec![];
            self.inst.cpu_tick(s, gen, &mut done);
            for q in done {
                self.out.push((q.idx, s.now().as_secs_f64()));
                if q.idx < self.n {
                    self.inst.thread_done(s);
                }
            }
        }
    }
    use tenantsim_engine::Model;
    let mut h = H {
        inst: &mut inst,
        n,
        out: vec![],
    };
    s.run_until(&mut h, SimTime::from_secs(1000));
    h.out
}

#[test]
fn one_thread_runs_cpu_phases_one_after_the_other() {
    // One core, one thread, 64 workers: three phases of 1 s run FCFS
    // (done at 1, 2, 3 s), where processor sharing would finish all
    // three at 3 s.
    let out = threaded(1, 1, &[1.0, 1.0, 1.0], &[]);
    let t: Vec<f64> = out.iter().map(|x| x.1).collect();
    assert_eq!(out.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert!(
        t.iter().zip([1.0, 2.0, 3.0]).all(|(a, b)| (a - b).abs() < 1e-6),
        "{out:?}"
    );
    // Two threads on two cores: two at a time.
    let out = threaded(2, 2, &[1.0, 1.0, 1.0], &[]);
    assert!((out[2].1 - 2.0).abs() < 1e-6, "{out:?}");
}

#[test]
fn host_work_and_a_thread_halve_each_others_speed_on_one_core() {
    // A thread's phase of 1 s and the database's 1 s of query CPU on
    // the same core: each progresses at 1/2, both done at 2 s.
    let out = threaded(1, 1, &[1.0], &[1.0]);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|(_, t)| (t - 2.0).abs() < 1e-6), "{out:?}");
    // Two threads' phases and one host job on one core: 1/3 each.
    let out = threaded(1, 2, &[1.0, 1.0], &[1.0]);
    assert!(out.iter().all(|(_, t)| (t - 3.0).abs() < 1e-6), "{out:?}");
    // A queued phase does not take a share: one thread, phases of 1 s
    // and 1 s, host job of 1 s: the first phase and the host job share
    // the core until 2 s, then the second phase runs alone until 3 s.
    let out = threaded(1, 1, &[1.0, 1.0], &[1.0]);
    assert!(
        (out[0].1 - 2.0).abs() < 1e-6 && (out[1].1 - 2.0).abs() < 1e-6,
        "{out:?}"
    );
    assert_eq!(out[2].0, 1);
    assert!((out[2].1 - 3.0).abs() < 1e-6, "{out:?}");
}

#[test]
fn a_reply_waits_for_the_thread_to_finish_its_phase() {
    // One thread busy with a 1 s phase; a reply of 0.1 s of CPU comes
    // at 0.25 s: it runs only once the phase is over (1.0 → 1.1 s).
    let mut s: Scheduler<Msg> = Scheduler::new();
    let mut inst = Instance::new(0, 0, &spec(1, 64, 10), 1, SimTime::ZERO);
    inst.use_threads(1, SimTime::ZERO);
    inst.start_serving(SimTime::ZERO);
    inst.offer(&mut s, r(0), SimTime::from_secs(1), 0);
    struct H<'a> {
        inst: &'a mut Instance,
        out: Vec<(u32, f64)>,
    }
    impl Model for H<'_> {
        type Msg = Msg;
        fn handle(&mut self, s: &mut Scheduler<Msg>, m: Msg) {
            let Msg::CpuTick { gen, .. } = m else { unreachable!() };
            let mut done = vec![];
            self.inst.cpu_tick(s, gen, &mut done);
            for q in done {
                self.out.push((q.idx, s.now().as_secs_f64()));
                self.inst.thread_done(s);
            }
        }
    }
    use tenantsim_engine::Model;
    let mut h = H {
        inst: &mut inst,
        out: vec![],
    };
    s.run_until(&mut h, SimTime::from_nanos(250_000_000));
    h.inst.run_reply(&mut s, r(1), SimTime::from_secs_f64(0.1));
    assert_eq!(h.inst.run_queue_len(), 1);
    s.run_until(&mut h, SimTime::from_secs(10));
    assert_eq!(h.out[1].0, 1);
    assert!(
        (h.out[0].1 - 1.0).abs() < 1e-6 && (h.out[1].1 - 1.1).abs() < 1e-6,
        "{:?}",
        h.out
    );
}
