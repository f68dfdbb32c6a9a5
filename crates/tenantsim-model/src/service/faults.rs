//! Faults: the scheduled `[[fault]]`s and random crashes.
//!
//! Owns the fault stream (crash times of `random-crashes`) and whether
//! random crashes are in force. Each fault acts through the part that owns
//! what it breaks: crashes through the fleet, slowdowns through the data
//! tier, the cache tier or the per-endpoint draws, flushes through the
//! cache tier.
//!
//! Must not: draw from any stream but its own (a fault changes no other
//! sequence of draws). Invariants: a crashed instance is replaced after its
//! fault's repair time (`mttr`, the outage), never before: the group owes
//! the replacement until its `Replace` message.

use super::Service;
use crate::instance::InstanceState;
use crate::spec::FaultKind;
use crate::Msg;
use rand::RngExt;
use tenantsim_engine::{RngStreams, Scheduler, SimRng, SimTime, StreamId};

/// The fault stream and the random-crash settings in force.
pub(super) struct Faults {
    rng: SimRng,
    /// Random-crash faults in force: (mtbf, mttr).
    pub(super) random_crashes: Option<(SimTime, SimTime)>,
}

impl Faults {
    pub(super) fn new(streams: &RngStreams) -> Self {
        Faults {
            rng: streams.stream(StreamId::Faults),
            random_crashes: None,
        }
    }
}

impl Service<'_> {
    pub(super) fn schedule_crash(&mut self, sched: &mut Scheduler<Msg>, id: u32, mtbf: SimTime) {
        let u: f64 = self.faults.rng.random();
        let t = -mtbf.as_secs_f64() * (1.0 - u).ln();
        sched.schedule_in(SimTime::from_secs_f64(t), Msg::Crash { instance: id });
    }

    pub(super) fn on_fault_start(&mut self, sched: &mut Scheduler<Msg>, index: usize) {
        let f = &self.sc.faults[index];
        match &f.kind {
            FaultKind::InstanceCrash { count, mttr } => {
                let mttr = *mttr;
                for _ in 0..*count {
                    let victim = self
                        .fleet
                        .instances
                        .iter()
                        .filter(|i| i.state == InstanceState::Ready)
                        .map(|i| i.id)
                        .max();
                    let Some(id) = victim else { break };
                    let g = self.fleet.instances[id as usize].group;
                    self.crash(sched, id);
                    self.fleet.groups[g as usize].owed += 1;
                    sched.schedule_in(mttr, Msg::Replace { group: g });
                }
            }
            FaultKind::RandomCrashes { mtbf, mttr } => {
                self.faults.random_crashes = Some((*mtbf, *mttr));
                let live: Vec<u32> = self
                    .fleet
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
                    .fleet
                    .instances
                    .iter()
                    .filter(|i| i.state == InstanceState::Ready)
                    .map(|i| i.id)
                    .collect();
                let n = ((ready.len() as f64) * fraction).round() as usize;
                // The zone holds every k-th instance, spread over groups.
                let step = ready.len().checked_div(n).map_or(usize::MAX, |s| s.max(1));
                for id in ready.iter().step_by(step).take(n) {
                    let g = self.fleet.instances[*id as usize].group;
                    self.crash(sched, *id);
                    // Replacements start when the zone is back.
                    self.fleet.groups[g as usize].owed += 1;
                    sched.schedule_in(*duration, Msg::Replace { group: g });
                }
            }
            FaultKind::DbSlowdown { factor, duration } => {
                // Every database server: the primary and its replicas.
                self.data.set_slowdown(*factor);
                sched.schedule_in(*duration, Msg::FaultEnd { index: index as u16 });
            }
            FaultKind::CacheSlowdown { factor, duration } => {
                self.caches.l2_factor = *factor;
                sched.schedule_in(*duration, Msg::FaultEnd { index: index as u16 });
            }
            FaultKind::CacheFlush { l1, l2, l3 } => self.caches.flush(*l1, *l2, *l3),
            FaultKind::LatencySpike {
                endpoint,
                factor,
                duration,
            } => {
                for (e, f) in self.draws.cpu_factor.iter_mut().enumerate() {
                    if endpoint.is_none_or(|x| x == e) {
                        *f = *factor;
                    }
                }
                sched.schedule_in(*duration, Msg::FaultEnd { index: index as u16 });
            }
        }
    }

    pub(super) fn on_fault_end(&mut self, index: usize) {
        match &self.sc.faults[index].kind {
            FaultKind::CacheSlowdown { .. } => self.caches.l2_factor = 1.0,
            FaultKind::DbSlowdown { .. } => self.data.set_slowdown(1.0),
            FaultKind::LatencySpike { endpoint, .. } => {
                for (e, f) in self.draws.cpu_factor.iter_mut().enumerate() {
                    if endpoint.is_none_or(|x| x == e) {
                        *f = 1.0;
                    }
                }
            }
            _ => {}
        }
    }

    /// A random crash of `instance` is due: if it still runs, it fails and
    /// its group owes a replacement after `mttr`.
    pub(super) fn on_crash(&mut self, sched: &mut Scheduler<Msg>, instance: u32) {
        if self.crash(sched, instance) {
            let g = self.fleet.instances[instance as usize].group;
            let mttr = self.faults.random_crashes.map(|c| c.1).unwrap_or(SimTime::ZERO);
            self.fleet.groups[g as usize].owed += 1;
            sched.schedule_in(mttr, Msg::Replace { group: g });
        }
    }
}
