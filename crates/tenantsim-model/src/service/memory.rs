//! Memory pressure (`[memory]`): instance memory as a limit, and the
//! monitor's actions.
//!
//! Owns no state of its own: instance memory (base + requests + sessions +
//! L1 entries + garbage) is kept by each [`Instance`](crate::instance::Instance);
//! this file is the policy over it. After an admission, and at every
//! monitor check, an instance past its limit is OOM-killed (with
//! `oom_kill`) and replaced at once; at a check, the actions whose
//! threshold its memory reaches run lowest first (shrink the L1, shed,
//! restart, prune sessions, emergency GC), re-reading memory after each.
//!
//! Must not: draw from shared streams (an emergency GC's pause comes from
//! the instance's own chore stream), or kill an instance that is not
//! ready. Invariant: `abort_outcome` is `OomKilled` only during an OOM
//! kill, so only those requests fail as `oom_killed`.

use super::Service;
use crate::instance::InstanceState;
use crate::metrics::Outcome;
use crate::spec::MemoryActionKind;
use crate::Msg;
use tenantsim_engine::{Scheduler, SimTime};

impl Service<'_> {
    /// Recount the memory of instance `id`'s L1 (with `per_cache_item_mb`).
    #[inline]
    pub(super) fn l1_changed(&mut self, id: usize, now: SimTime) {
        let Some(m) = &self.sc.memory else { return };
        if m.per_cache_item_mb > 0.0 {
            let items = self.caches.l1.get(id).and_then(|c| c.as_ref()).map_or(0, |c| c.len());
            self.fleet.instances[id].set_cache_mb(now, items as f64 * m.per_cache_item_mb);
        }
    }

    /// After admitting a request to `id`: past `memory_mb` the instance is
    /// OOM-killed (the request with it).
    pub(super) fn memory_admitted(&mut self, sched: &mut Scheduler<Msg>, id: usize) {
        let Some(m) = &self.sc.memory else { return };
        let f = self.fleet.instances[id].memory_fraction();
        self.rec.memory_max = self.rec.memory_max.max(f);
        if m.oom_kill && f > 1.0 {
            self.memory_kill(sched, id, true);
        }
    }

    /// Every instance's memory monitor: OOM past the limit, else the
    /// actions whose threshold its memory reaches, lowest first (a cache
    /// shrink may bring it below the next ones).
    pub(super) fn on_memory_check(&mut self, sched: &mut Scheduler<Msg>) {
        let sc = self.sc;
        let Some(m) = &sc.memory else { return };
        let now = sched.now();
        let measured = now >= self.rec.warmup();
        for id in 0..self.fleet.instances.len() {
            if self.fleet.instances[id].state != InstanceState::Ready {
                continue;
            }
            self.l1_changed(id, now);
            let mut f = self.fleet.instances[id].memory_fraction();
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
                        if let Some(Some(c)) = self.caches.l1.get_mut(id) {
                            let keep = (c.len() as f64 * (1.0 - fraction)).floor() as usize;
                            if c.shrink_to(keep) > 0 && measured {
                                self.rec.cache_shrinks += 1;
                            }
                        }
                        self.l1_changed(id, now);
                        f = self.fleet.instances[id].memory_fraction();
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
                        f = self.fleet.instances[id].memory_fraction();
                    }
                    MemoryActionKind::EmergencyGc { pause } => {
                        // One at a time; the garbage is freed when it ends.
                        if !self.fleet.instances[id].gc_running {
                            self.fleet.instances[id].gc_running = true;
                            let d = m.gc_pauses[pause as usize].sample(&mut self.fleet.chore_rng[id]);
                            self.fleet.instances[id].pause(sched);
                            sched.schedule_in(d, Msg::GcEnd { instance: id as u32 });
                            if measured {
                                self.rec.emergency_gcs += 1;
                            }
                        }
                    }
                }
            }
            self.fleet.instances[id].memory_shed = shed;
        }
        if now + m.check_interval <= sc.simulation.duration {
            sched.schedule_in(m.check_interval, Msg::MemoryCheck);
        }
    }

    /// Kill instance `id` for memory (`oom`: the kernel's OOM killer, else
    /// a `restart` action); a replacement starts at once and is ready after
    /// `startup`.
    pub(super) fn memory_kill(&mut self, sched: &mut Scheduler<Msg>, id: usize, oom: bool) {
        if sched.now() >= self.rec.warmup() {
            if oom {
                self.rec.oom_kills += 1;
            } else {
                self.rec.memory_restarts += 1;
            }
        }
        let g = self.fleet.instances[id].group;
        if oom {
            self.fleet.abort_outcome = Outcome::OomKilled;
        }
        let killed = self.crash(sched, id as u32);
        self.fleet.abort_outcome = Outcome::InstanceFailure;
        if killed {
            self.fleet.groups[g as usize].owed += 1;
            sched.schedule_in(SimTime::ZERO, Msg::Replace { group: g });
        }
    }
}
