//! CPU time on a set of cores, shared by the jobs running on it: the engine
//! room of an instance and of the database.
//!
//! While no more jobs run than there are cores, each runs at full speed;
//! beyond that the cores are processor-shared: each of n jobs progresses at
//! rate cores/n. When the number of concurrent jobs can never exceed the
//! cores (`max_concurrent <= cores`), completions are scheduled directly —
//! one event per job, exactly an M/M/c service for exponential demand.
//! Otherwise virtual time is used: `v` is the work every running job has
//! received; a job with demand d started at virtual time v0 finishes when v
//! reaches v0 + d. At most one completion tick is current: it carries a
//! generation, and it is superseded only when a completion becomes due
//! before it; when completions move later (a job joins) it is kept, fires
//! early, and reschedules itself.
//!
//! A stop-the-world pause (shared mode only) sets the rate to zero: no job
//! progresses and no completion is pending until the last pause ends; jobs
//! then resume with the work they had left.
//!
//! Cost (issue 25): the rate `cores / n` is kept in a field, recomputed when
//! the running count or a pause changes it (the same division, done once
//! per change instead of in every `advance` and `reschedule`), and the
//! completion delay is rounded up to whole nanoseconds with integer
//! arithmetic instead of a call to `ceil` (the target's baseline has no
//! rounding instruction). Both give bit-identical times.

use super::request::ReqRef;
use super::{Msg, Station};
use tenantsim_engine::{Scheduler, SimTime};

struct Shared {
    v: f64,
    last: SimTime,
    /// Running jobs as (virtual finish, job), a binary min-heap.
    heap: Vec<(f64, ReqRef)>,
    gen: u32,
    /// The one current tick: its time and generation. Ticks of other
    /// generations are stale and ignored.
    pending: Option<SimTime>,
}

pub struct CpuShare {
    station: Station,
    cores: u32,
    running: u32,
    shared: Option<Shared>,
    /// Stop-the-world pauses in force (shared mode only): no job
    /// progresses while above zero.
    paused: u32,
    /// Work each running job receives per nanosecond (shared mode):
    /// 0 while paused, else min(1, cores / running). Kept current by
    /// [`CpuShare::set_rate`] whenever `running` or `paused` changes.
    rate: f64,
}

impl CpuShare {
    pub fn new(station: Station, cores: u32, max_concurrent: u32, now: SimTime) -> Self {
        let shared = (max_concurrent > cores).then(|| Shared {
            v: 0.0,
            last: now,
            heap: Vec::with_capacity(max_concurrent.min(1 << 16) as usize),
            gen: 0,
            pending: None,
        });
        CpuShare {
            station,
            cores,
            running: 0,
            shared,
            paused: 0,
            rate: 1.0,
        }
    }

    /// A pause begins (nested pauses count): every job stops progressing.
    /// Only in shared mode (build with `max_concurrent > cores`).
    pub fn pause(&mut self, sched: &mut Scheduler<Msg>) {
        debug_assert!(self.shared.is_some(), "pauses need the shared mode");
        self.advance(sched.now());
        self.paused += 1;
        self.set_rate();
        self.reschedule(sched);
    }

    /// A pause ends; jobs progress again once no pause is left.
    pub fn resume(&mut self, sched: &mut Scheduler<Msg>) {
        self.advance(sched.now());
        self.paused = self.paused.saturating_sub(1);
        self.set_rate();
        self.reschedule(sched);
    }

    pub fn cores(&self) -> u32 {
        self.cores
    }

    pub fn running(&self) -> u32 {
        self.running
    }

    /// Cores busy now.
    pub fn busy_cores(&self) -> u32 {
        self.running.min(self.cores)
    }

    /// Recompute `rate` after `running` or `paused` changed.
    #[inline]
    fn set_rate(&mut self) {
        self.rate = if self.paused > 0 {
            0.0
        } else if self.running <= self.cores {
            1.0
        } else {
            self.cores as f64 / self.running as f64
        };
    }

    #[inline]
    fn advance(&mut self, now: SimTime) {
        let r = self.rate;
        if let Some(s) = &mut self.shared {
            s.v += now.saturating_sub(s.last).as_nanos() as f64 * r;
            s.last = now;
        }
    }

    /// Make sure a tick is due no later than the next completion. A tick
    /// already pending at or before that time is kept: it fires, finds
    /// nothing finished and reschedules, which costs one event, where
    /// superseding it on every change of the running set left one stale
    /// event in the queue per change. Only an earlier completion (a short
    /// job starting, a pause ending) supersedes the pending tick.
    fn reschedule(&mut self, sched: &mut Scheduler<Msg>) {
        let r = self.rate;
        let station = self.station;
        if let Some(s) = &mut self.shared {
            if let Some(&(fv, _)) = s.heap.first().filter(|_| r > 0.0) {
                let dt = ceil_nanos((fv - s.v).max(0.0) / r);
                let at = sched.now() + SimTime::from_nanos(dt);
                if s.pending.is_some_and(|p| p <= at) {
                    return;
                }
                s.gen = s.gen.wrapping_add(1);
                s.pending = Some(at);
                sched.schedule_at(at, Msg::CpuTick { station, gen: s.gen });
            }
        }
    }

    /// Start a job needing `work` of CPU time. Its completion arrives as
    /// `Msg::CpuDone` (direct) or through `Msg::CpuTick` → [`CpuShare::tick`].
    #[inline]
    pub fn begin(&mut self, sched: &mut Scheduler<Msg>, job: ReqRef, work: SimTime) {
        if self.shared.is_none() {
            self.running += 1;
            sched.schedule_in(
                work,
                Msg::CpuDone {
                    station: self.station,
                    req: job,
                },
            );
            return;
        }
        self.advance(sched.now());
        self.running += 1;
        self.set_rate();
        let s = self.shared.as_mut().expect("shared mode");
        heap_push(&mut s.heap, (s.v + work.as_nanos() as f64, job));
        self.reschedule(sched);
    }

    /// A direct-mode completion was delivered.
    #[inline]
    pub fn end_direct(&mut self) {
        self.running -= 1;
    }

    /// A shared-mode tick: if current, remove every finished job, append it
    /// to `done`, and schedule the next completion.
    pub fn tick(&mut self, sched: &mut Scheduler<Msg>, gen: u32, done: &mut Vec<ReqRef>) {
        match &mut self.shared {
            Some(s) if s.gen == gen && s.pending.is_some() => s.pending = None,
            _ => return,
        }
        self.advance(sched.now());
        let s = self.shared.as_mut().expect("checked above");
        let before = done.len();
        // Half a nanosecond of slack absorbs the rounding of event times.
        while let Some(&(fv, r)) = s.heap.first() {
            if fv <= s.v + 0.5 {
                heap_pop(&mut s.heap);
                done.push(r);
            } else {
                break;
            }
        }
        self.running -= (done.len() - before) as u32;
        self.set_rate();
        self.reschedule(sched);
    }

    /// Abandon a running job (a query timeout). Direct mode: the caller must
    /// ignore the job's later `CpuDone` (the request handle will be stale or
    /// the request no longer in this phase).
    pub fn cancel(&mut self, sched: &mut Scheduler<Msg>, job: ReqRef) -> bool {
        if self.shared.is_none() {
            self.running -= 1;
            return true;
        }
        self.advance(sched.now());
        let s = self.shared.as_mut().expect("shared mode");
        let Some(pos) = s.heap.iter().position(|(_, r)| *r == job) else {
            return false;
        };
        s.heap.swap_remove(pos);
        // Restore the heap property after the arbitrary removal.
        let mut h = std::mem::take(&mut s.heap);
        h.sort_by(|a, b| a.0.total_cmp(&b.0));
        s.heap = h;
        self.running -= 1;
        self.set_rate();
        self.reschedule(sched);
        true
    }
}

/// `x.ceil() as u64` for x ≥ 0 (NaN gives 0 and values beyond `u64::MAX`
/// saturate, as the cast does), without the `ceil` call: truncate, then
/// add one if something was cut off. Exact: below 2^53 the truncated value
/// converts back exactly; above it every f64 is an integer.
#[inline(always)]
fn ceil_nanos(x: f64) -> u64 {
    let t = x as u64;
    t.saturating_add(u64::from((t as f64) < x))
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
        let c = if l + 1 < n && h[l + 1].0 < h[l].0 { l + 1 } else { l };
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
    use tenantsim_engine::Model;

    /// Collects completions of a shared-mode CPU.
    struct Driver {
        cpu: CpuShare,
        done: Vec<(u32, f64)>,
    }

    impl Model for Driver {
        type Msg = Msg;
        fn handle(&mut self, s: &mut Scheduler<Msg>, m: Msg) {
            if let Msg::CpuTick { gen, .. } = m {
                let mut out = Vec::new();
                self.cpu.tick(s, gen, &mut out);
                let now = s.now().as_secs_f64();
                self.done.extend(out.iter().map(|r| (r.idx, now)));
            }
        }
    }

    fn job(i: u32) -> ReqRef {
        ReqRef { idx: i, gen: 0 }
    }

    #[test]
    fn a_pause_freezes_every_job_for_its_length() {
        // Two cores, jobs of 1 s and 2 s at full speed; a pause from 0.5 s
        // to 0.8 s delays both by 0.3 s.
        let mut s: Scheduler<Msg> = Scheduler::new();
        let mut d = Driver {
            cpu: CpuShare::new(Station::Database, 2, 3, SimTime::ZERO),
            done: vec![],
        };
        d.cpu.begin(&mut s, job(0), SimTime::from_secs(1));
        d.cpu.begin(&mut s, job(1), SimTime::from_secs(2));
        s.run_until(&mut d, SimTime::from_nanos(500_000_000));
        d.cpu.pause(&mut s);
        // Nested pauses: the CPU runs again only when both are over.
        s.run_until(&mut d, SimTime::from_nanos(600_000_000));
        d.cpu.pause(&mut s);
        s.run_until(&mut d, SimTime::from_nanos(700_000_000));
        d.cpu.resume(&mut s);
        s.run_until(&mut d, SimTime::from_nanos(800_000_000));
        assert!(d.done.is_empty());
        d.cpu.resume(&mut s);
        s.run_until(&mut d, SimTime::from_secs(10));
        assert_eq!(d.done.len(), 2);
        assert_eq!(d.done[0].0, 0);
        assert!((d.done[0].1 - 1.3).abs() < 1e-6, "{:?}", d.done);
        assert!((d.done[1].1 - 2.3).abs() < 1e-6, "{:?}", d.done);
    }

    #[test]
    fn ceil_nanos_is_ceil_then_cast() {
        let mut xs = vec![
            0.0,
            0.25,
            0.5,
            1.0,
            1.5,
            2.0 - 1e-12,
            1e9 + 0.5,
            9_007_199_254_740_991.0,
        ];
        xs.extend([
            2f64.powi(53),
            2f64.powi(53) + 2.0,
            2f64.powi(63) * 1.5,
            2f64.powi(64),
            1e300,
        ]);
        xs.extend([f64::INFINITY, f64::NAN, f64::MIN_POSITIVE, 5e-324]);
        // Quotients as reschedule makes them: work over a rate cores / n.
        for n in 1..200u32 {
            for w in [1u64, 7, 999, 1_000_001, 123_456_789_012] {
                xs.push(w as f64 / (8.0 / n as f64));
                xs.push((w as f64 + 0.3) / (3.0 / n as f64));
            }
        }
        for x in xs {
            assert_eq!(ceil_nanos(x), x.ceil() as u64, "{x}");
            let up = f64::from_bits(x.to_bits() + 1);
            if up.is_finite() {
                assert_eq!(ceil_nanos(up), up.ceil() as u64, "{up}");
            }
        }
    }

    #[test]
    fn background_work_shares_the_cores_with_requests() {
        // One core: a request of 1 s and a background job of 1 s started
        // together share it and both finish at 2 s.
        let mut s: Scheduler<Msg> = Scheduler::new();
        let mut d = Driver {
            cpu: CpuShare::new(Station::Database, 1, 2, SimTime::ZERO),
            done: vec![],
        };
        d.cpu.begin(&mut s, job(0), SimTime::from_secs(1));
        d.cpu
            .begin(&mut s, ReqRef { idx: u32::MAX, gen: 0 }, SimTime::from_secs(1));
        s.run_until(&mut d, SimTime::from_secs(10));
        assert!(d.done.iter().all(|(_, t)| (t - 2.0).abs() < 1e-6), "{:?}", d.done);
    }
}
