//! The database: `cores` shared by the running queries (processor sharing
//! beyond the core count) and a `max_connections` limit on connections
//! opened by all pools together.
//!
//! Invariant: open connections ≤ `max_connections`. A pool that would need
//! one more is refused (with per-instance pools, scale-out can exhaust the
//! database: a real production failure mode). `slowdown` multiplies query
//! work (the hook for `db-slowdown` faults). Read replicas are more
//! values of this type, each with its own cores and connection limit.

use super::cpu::CpuShare;
use super::request::ReqRef;
use super::{Msg, Station};
use crate::metrics::TimeIntegral;
use tenantsim_engine::{Scheduler, SimTime};

pub struct Database {
    max_connections: u32,
    open: u32,
    /// The most connections open at once (≤ `max_connections`).
    peak_open: u32,
    cpu: CpuShare,
    pub slowdown: f64,
    /// Busy cores over time.
    pub busy: TimeIntegral,
    cores: u32,
}

impl Database {
    pub fn new(cores: u32, max_connections: u32, now: SimTime) -> Self {
        Self::at(Station::Database, cores, max_connections, now)
    }

    /// A database server whose CPU events name `station` (the primary is
    /// [`Station::Database`], read replicas [`Station::Replica`]).
    pub fn at(station: Station, cores: u32, max_connections: u32, now: SimTime) -> Self {
        Database {
            max_connections,
            open: 0,
            peak_open: 0,
            cpu: CpuShare::new(station, cores, max_connections, now),
            slowdown: 1.0,
            busy: TimeIntegral::new(now),
            cores,
        }
    }

    pub fn cores(&self) -> u32 {
        self.cores
    }

    /// Would the database accept one more connection?
    pub fn can_open(&self) -> bool {
        self.open < self.max_connections
    }

    pub fn opened(&mut self) {
        debug_assert!(self.open < self.max_connections);
        self.open += 1;
        self.peak_open = self.peak_open.max(self.open);
    }

    pub fn closed(&mut self, n: u32) {
        self.open = self.open.saturating_sub(n);
    }

    pub fn open_connections(&self) -> u32 {
        self.open
    }

    /// The most connections it has had open at once.
    pub fn peak_connections(&self) -> u32 {
        self.peak_open
    }

    /// Start a query of `work` (before slowdown).
    pub fn begin(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef, work: SimTime) {
        let w = if self.slowdown == 1.0 {
            work
        } else {
            SimTime::from_secs_f64(work.as_secs_f64() * self.slowdown)
        };
        self.cpu.begin(sched, req, w);
        self.busy.set(sched.now(), self.cpu.busy_cores() as f64);
    }

    pub fn done_direct(&mut self, now: SimTime) {
        self.cpu.end_direct();
        self.busy.set(now, self.cpu.busy_cores() as f64);
    }

    pub fn tick(&mut self, sched: &mut Scheduler<Msg>, gen: u32, done: &mut Vec<ReqRef>) {
        self.cpu.tick(sched, gen, done);
        self.busy.set(sched.now(), self.cpu.busy_cores() as f64);
    }

    /// Abort a running query (query timeout).
    pub fn cancel(&mut self, sched: &mut Scheduler<Msg>, req: ReqRef) {
        self.cpu.cancel(sched, req);
        self.busy.set(sched.now(), self.cpu.busy_cores() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_limit_and_slowdown() {
        let mut db = Database::new(2, 2, SimTime::ZERO);
        assert!(db.can_open());
        db.opened();
        db.opened();
        assert!(!db.can_open(), "max_connections reached");
        db.closed(1);
        assert!(db.can_open());
        assert_eq!(db.open_connections(), 1);
        // A slowed-down query takes factor × its work; with at most
        // max_connections (2) queries on 2 cores there is no sharing, so the
        // completion is scheduled directly at 3 × 10 ms.
        let mut s: Scheduler<Msg> = Scheduler::new();
        db.slowdown = 3.0;
        let req = ReqRef { idx: 0, gen: 0 };
        db.begin(&mut s, req, SimTime::from_secs_f64(0.010));
        struct Probe(Vec<(u64, Msg)>);
        impl tenantsim_engine::Model for Probe {
            type Msg = Msg;
            fn handle(&mut self, s: &mut Scheduler<Msg>, m: Msg) {
                self.0.push((s.now().as_nanos(), m));
            }
        }
        let mut p = Probe(vec![]);
        s.run_until(&mut p, SimTime::from_secs(1));
        assert_eq!(p.0.len(), 1);
        assert_eq!(p.0[0].0, 30_000_000);
        assert!(matches!(
            p.0[0].1,
            Msg::CpuDone {
                station: Station::Database,
                ..
            }
        ));
    }
}
