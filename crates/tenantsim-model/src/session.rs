//! Long-lived sessions (WebSocket connections): which tenant holds each,
//! which instance it is connected to, and how many each instance holds.
//!
//! A [`SessionTable`] owns the sessions (a slab addressed by
//! [`SessionRef`], like requests) and, per instance, the list of sessions
//! connected to it. It decides nothing about time: the service schedules
//! connections, messages, drops and reconnects, and asks the table to
//! connect, disconnect, choose an instance and pick sessions to prune.
//!
//! Invariants: an instance never holds more than `cap` sessions (a
//! connection to a full instance is refused and changes nothing); a
//! session is connected to at most one instance and appears exactly once
//! in that instance's list; `connected()` is the sum of the lists.

use crate::spec::SessionBalancing;
use tenantsim_engine::SimTime;

/// No instance (a session waiting to reconnect).
pub const NOT_CONNECTED: u32 = u32::MAX;

/// A handle to a session slot, valid while `gen` matches the slot's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionRef {
    pub idx: u32,
    pub gen: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct Session {
    pub gen: u32,
    pub alive: bool,
    pub tenant: u32,
    pub tier: u16,
    /// The instance it is connected to, or [`NOT_CONNECTED`].
    pub instance: u32,
    /// Its position in that instance's list.
    slot: u32,
    /// When it connected to its instance (prune `oldest`).
    pub connected_at: SimTime,
    /// Its last message, or its connection (prune `idle`).
    pub last_active: SimTime,
    /// Refused attempts since the last drop (for the backoff).
    pub attempt: u32,
    /// It was dropped and is reconnecting (its attempts are reconnects).
    pub reconnecting: bool,
}

/// Why a connection attempt was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The chosen instance holds `cap` sessions.
    AtCap,
    /// No instance is ready.
    NoInstance,
}

pub struct SessionTable {
    slots: Vec<Session>,
    free: Vec<u32>,
    /// Sessions connected to each instance (indexed by instance id).
    on: Vec<Vec<u32>>,
    cap: u32,
    connected: u32,
    /// The most sessions any instance has held.
    pub max_per_instance: u32,
}

impl SessionTable {
    pub fn new(cap: u32) -> Self {
        SessionTable {
            slots: Vec::new(),
            free: Vec::new(),
            on: Vec::new(),
            cap,
            connected: 0,
            max_per_instance: 0,
        }
    }

    /// A new session of `tenant`, not yet connected.
    pub fn open(&mut self, tenant: u32, tier: u16, now: SimTime) -> SessionRef {
        let s = Session {
            gen: 0,
            alive: true,
            tenant,
            tier,
            instance: NOT_CONNECTED,
            slot: 0,
            connected_at: now,
            last_active: now,
            attempt: 0,
            reconnecting: false,
        };
        match self.free.pop() {
            Some(idx) => {
                let gen = self.slots[idx as usize].gen;
                self.slots[idx as usize] = Session { gen, ..s };
                SessionRef { idx, gen }
            }
            None => {
                self.slots.push(s);
                SessionRef {
                    idx: self.slots.len() as u32 - 1,
                    gen: 0,
                }
            }
        }
    }

    /// The session, if `r` is still current.
    pub fn get(&self, r: SessionRef) -> Option<&Session> {
        self.slots.get(r.idx as usize).filter(|s| s.alive && s.gen == r.gen)
    }

    pub fn get_mut(&mut self, r: SessionRef) -> Option<&mut Session> {
        self.slots.get_mut(r.idx as usize).filter(|s| s.alive && s.gen == r.gen)
    }

    /// The current handle of the session in slot `idx` (a connected one).
    pub fn handle(&self, idx: u32) -> SessionRef {
        SessionRef {
            idx,
            gen: self.slots[idx as usize].gen,
        }
    }

    /// Close the session for good (disconnecting it first); later lookups
    /// with `r` fail. Returns the instance it was connected to.
    pub fn close(&mut self, r: SessionRef) -> Option<u32> {
        self.get(r)?;
        let was = self.disconnect(r.idx);
        let s = &mut self.slots[r.idx as usize];
        s.alive = false;
        s.gen = s.gen.wrapping_add(1);
        self.free.push(r.idx);
        was
    }

    /// Sessions connected to `inst`.
    pub fn count(&self, inst: u32) -> u32 {
        self.on.get(inst as usize).map_or(0, |l| l.len() as u32)
    }

    /// Sessions connected to any instance.
    pub fn connected(&self) -> u32 {
        self.connected
    }

    /// Connect session `r` to `inst` at `now`, unless `inst` is at the cap.
    pub fn connect(&mut self, r: SessionRef, inst: u32, now: SimTime) -> Result<(), Refused> {
        let Some(s) = self.get(r) else { return Ok(()) };
        debug_assert_eq!(s.instance, NOT_CONNECTED, "connecting a connected session");
        if self.count(inst) >= self.cap {
            return Err(Refused::AtCap);
        }
        if self.on.len() <= inst as usize {
            self.on.resize_with(inst as usize + 1, Vec::new);
        }
        let list = &mut self.on[inst as usize];
        list.push(r.idx);
        let n = list.len() as u32;
        let s = &mut self.slots[r.idx as usize];
        s.instance = inst;
        s.slot = n - 1;
        s.connected_at = now;
        s.last_active = now;
        s.attempt = 0;
        self.connected += 1;
        self.max_per_instance = self.max_per_instance.max(n);
        Ok(())
    }

    /// Disconnect the session in slot `idx` from its instance (if any);
    /// returns that instance.
    pub fn disconnect(&mut self, idx: u32) -> Option<u32> {
        let s = self.slots[idx as usize];
        if s.instance == NOT_CONNECTED {
            return None;
        }
        let list = &mut self.on[s.instance as usize];
        list.swap_remove(s.slot as usize);
        if let Some(&moved) = list.get(s.slot as usize) {
            self.slots[moved as usize].slot = s.slot;
        }
        self.slots[idx as usize].instance = NOT_CONNECTED;
        self.connected -= 1;
        Some(s.instance)
    }

    /// Disconnect every session of `inst`; returns their handles (for an
    /// instance going away: rare, so the list is allocated).
    pub fn disconnect_all(&mut self, inst: u32) -> Vec<SessionRef> {
        let Some(list) = self.on.get_mut(inst as usize) else {
            return Vec::new();
        };
        let idxs = std::mem::take(list);
        self.connected -= idxs.len() as u32;
        idxs.into_iter()
            .map(|i| {
                self.slots[i as usize].instance = NOT_CONNECTED;
                self.handle(i)
            })
            .collect()
    }

    /// The `k`-th session connected to `inst` (k < count).
    pub fn nth(&self, inst: u32, k: u32) -> u32 {
        self.on[inst as usize][k as usize]
    }

    /// Mark the session in slot `idx` active (a message) at `now`.
    pub fn touch(&mut self, idx: u32, now: SimTime) {
        self.slots[idx as usize].last_active = now;
    }

    /// Which of the `ready` instances a new connection goes to; `rr` is
    /// the round-robin position, advanced here.
    pub fn choose(
        &self,
        policy: SessionBalancing,
        ready: impl Iterator<Item = u32> + Clone,
        rr: &mut u32,
    ) -> Result<u32, Refused> {
        let pick = match policy {
            SessionBalancing::LeastSessions => ready.min_by_key(|&i| (self.count(i), i)),
            SessionBalancing::RoundRobin => {
                let n = ready.clone().count() as u32;
                if n == 0 {
                    None
                } else {
                    let k = *rr % n;
                    *rr = rr.wrapping_add(1);
                    ready.clone().nth(k as usize)
                }
            }
        };
        let inst = pick.ok_or(Refused::NoInstance)?;
        if self.count(inst) >= self.cap {
            return Err(Refused::AtCap);
        }
        Ok(inst)
    }

    /// The sessions of `inst` a prune of `fraction` closes: the rounded-up
    /// share, idlest first (longest since a message) or `oldest` first
    /// (longest connected); ties by slot, so the choice is deterministic.
    pub fn prune_candidates(&self, inst: u32, fraction: f64, oldest: bool) -> Vec<u32> {
        let Some(list) = self.on.get(inst as usize) else {
            return Vec::new();
        };
        let n = ((list.len() as f64 * fraction).ceil() as usize).min(list.len());
        let mut v = list.clone();
        let key = |i: &u32| {
            let s = &self.slots[*i as usize];
            (if oldest { s.connected_at } else { s.last_active }, *i)
        };
        v.sort_unstable_by_key(key);
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn an_instance_at_its_cap_refuses_and_nothing_changes() {
        let mut st = SessionTable::new(2);
        let a = st.open(0, 0, t(0));
        let b = st.open(0, 0, t(0));
        let c = st.open(1, 0, t(0));
        assert_eq!(st.connect(a, 7, t(1)), Ok(()));
        assert_eq!(st.connect(b, 7, t(1)), Ok(()));
        assert_eq!(st.connect(c, 7, t(1)), Err(Refused::AtCap));
        assert_eq!((st.count(7), st.connected(), st.max_per_instance), (2, 2, 2));
        assert_eq!(st.get(c).unwrap().instance, NOT_CONNECTED);
        // A slot frees when a session closes.
        assert_eq!(st.close(a), Some(7));
        assert!(st.get(a).is_none());
        assert_eq!(st.connect(c, 7, t(2)), Ok(()));
        assert_eq!(st.count(7), 2);
    }

    #[test]
    fn least_sessions_fills_the_emptiest_and_refuses_only_when_it_is_full() {
        let mut st = SessionTable::new(2);
        let mut rr = 0;
        let ready = [3u32, 5];
        let mut placed = vec![];
        for _ in 0..4 {
            let s = st.open(0, 0, t(0));
            let i = st
                .choose(SessionBalancing::LeastSessions, ready.iter().copied(), &mut rr)
                .unwrap();
            st.connect(s, i, t(0)).unwrap();
            placed.push(i);
        }
        assert_eq!(placed, vec![3, 5, 3, 5]);
        assert_eq!(
            st.choose(SessionBalancing::LeastSessions, ready.iter().copied(), &mut rr),
            Err(Refused::AtCap)
        );
        assert_eq!(
            st.choose(SessionBalancing::LeastSessions, std::iter::empty(), &mut rr),
            Err(Refused::NoInstance)
        );
    }

    #[test]
    fn round_robin_refuses_at_a_full_instance_even_when_another_has_room() {
        let mut st = SessionTable::new(1);
        let mut rr = 0;
        let ready = [0u32, 1];
        let s = st.open(0, 0, t(0));
        st.connect(s, 0, t(0)).unwrap();
        // Turn 0 is instance 0 (full), turn 1 instance 1 (room).
        assert_eq!(
            st.choose(SessionBalancing::RoundRobin, ready.iter().copied(), &mut rr),
            Err(Refused::AtCap)
        );
        assert_eq!(
            st.choose(SessionBalancing::RoundRobin, ready.iter().copied(), &mut rr),
            Ok(1)
        );
    }

    #[test]
    fn disconnecting_keeps_the_lists_consistent() {
        let mut st = SessionTable::new(10);
        let s: Vec<_> = (0..4).map(|k| st.open(k, 0, t(0))).collect();
        for &x in &s {
            st.connect(x, 1, t(0)).unwrap();
        }
        // Remove from the middle: the last moves into its place.
        assert_eq!(st.disconnect(s[1].idx), Some(1));
        assert_eq!(st.disconnect(s[1].idx), None);
        let mut held: Vec<u32> = (0..st.count(1)).map(|k| st.nth(1, k)).collect();
        held.sort();
        assert_eq!(held, vec![s[0].idx, s[2].idx, s[3].idx]);
        assert_eq!(st.disconnect(s[3].idx), Some(1));
        let all = st.disconnect_all(1);
        assert_eq!(all.len(), 2);
        assert_eq!((st.count(1), st.connected()), (0, 0));
        assert!(all.iter().all(|r| st.get(*r).unwrap().instance == NOT_CONNECTED));
    }

    #[test]
    fn pruning_picks_the_idlest_or_the_oldest() {
        let mut st = SessionTable::new(10);
        let s: Vec<_> = (0..4).map(|k| st.open(k, 0, t(0))).collect();
        for (k, &x) in s.iter().enumerate() {
            st.connect(x, 0, t(k as u64)).unwrap();
        }
        // Messages: session 0 just now, session 3 long ago.
        st.touch(s[0].idx, t(100));
        st.touch(s[1].idx, t(50));
        st.touch(s[2].idx, t(60));
        // last_active of 3 is its connection, t = 3.
        assert_eq!(st.prune_candidates(0, 0.5, false), vec![s[3].idx, s[1].idx]);
        assert_eq!(st.prune_candidates(0, 0.5, true), vec![s[0].idx, s[1].idx]);
        // A fraction rounds up: a quarter of 4 is 1, 0.3 of 4 is 2.
        assert_eq!(st.prune_candidates(0, 0.25, true).len(), 1);
        assert_eq!(st.prune_candidates(0, 0.3, true).len(), 2);
        assert!(st.prune_candidates(9, 0.5, true).is_empty());
    }

    #[test]
    fn stale_handles_are_refused_after_reuse() {
        let mut st = SessionTable::new(10);
        let a = st.open(0, 0, t(0));
        st.close(a);
        let b = st.open(1, 0, t(0));
        assert_eq!(a.idx, b.idx);
        assert!(st.get(a).is_none());
        assert_eq!(st.close(a), None);
        assert_eq!(st.get(b).unwrap().tenant, 1);
    }
}
