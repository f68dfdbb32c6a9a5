//! The load balancer: picks a ready instance for each admitted request.
//!
//! It keeps its own count of outstanding requests per instance (incremented
//! when it sends one, decremented when the response passes back), as a real
//! balancer does; it never looks inside an instance. Policies:
//! `round-robin`, `least-connections` (ties go to the earliest instance in
//! rotation order), `random`, `power-of-two` (two distinct random choices,
//! the less loaded wins).

use crate::spec::Balancing;
use rand::RngExt;
use tenantsim_engine::SimRng;

pub struct Balancer {
    policy: Balancing,
    /// Instances that receive traffic, in rotation order.
    ready: Vec<u32>,
    /// Outstanding requests, indexed by instance id.
    outstanding: Vec<u32>,
    next: usize,
    rng: SimRng,
}

impl Balancer {
    pub fn new(policy: Balancing, rng: SimRng) -> Self {
        Balancer {
            policy,
            ready: Vec::new(),
            outstanding: Vec::new(),
            next: 0,
            rng,
        }
    }

    /// Start sending traffic to instance `id`.
    pub fn add(&mut self, id: u32) {
        if self.outstanding.len() <= id as usize {
            self.outstanding.resize(id as usize + 1, 0);
        }
        if !self.ready.contains(&id) {
            self.ready.push(id);
        }
    }

    /// Stop sending traffic to instance `id` (its outstanding requests
    /// still come back through [`Balancer::done`]).
    pub fn remove(&mut self, id: u32) {
        self.ready.retain(|&x| x != id);
        if self.next >= self.ready.len() {
            self.next = 0;
        }
    }

    pub fn ready_count(&self) -> usize {
        self.ready.len()
    }

    /// Choose an instance and count the request as outstanding on it.
    #[inline]
    pub fn pick(&mut self) -> Option<u32> {
        let n = self.ready.len();
        if n == 0 {
            return None;
        }
        let id = match self.policy {
            Balancing::RoundRobin => {
                let id = self.ready[self.next % n];
                self.next = (self.next + 1) % n;
                id
            }
            Balancing::LeastConnections => {
                let mut best = self.ready[0];
                for &i in &self.ready[1..] {
                    if self.outstanding[i as usize] < self.outstanding[best as usize] {
                        best = i;
                    }
                }
                best
            }
            Balancing::Random => self.ready[self.rng.random_range(0..n)],
            Balancing::PowerOfTwo => {
                if n == 1 {
                    self.ready[0]
                } else {
                    let a = self.rng.random_range(0..n);
                    let mut b = self.rng.random_range(0..n - 1);
                    if b >= a {
                        b += 1;
                    }
                    let (a, b) = (self.ready[a], self.ready[b]);
                    if self.outstanding[b as usize] < self.outstanding[a as usize] {
                        b
                    } else {
                        a
                    }
                }
            }
        };
        self.outstanding[id as usize] += 1;
        Some(id)
    }

    /// A response from instance `id` passed back.
    #[inline]
    pub fn done(&mut self, id: u32) {
        let c = &mut self.outstanding[id as usize];
        *c = c.saturating_sub(1);
    }

    pub fn outstanding(&self, id: u32) -> u32 {
        self.outstanding.get(id as usize).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn lb(p: Balancing, n: u32) -> Balancer {
        let mut b = Balancer::new(p, SimRng::seed_from_u64(3));
        for i in 0..n {
            b.add(i);
        }
        b
    }

    #[test]
    fn round_robin_cycles() {
        let mut b = lb(Balancing::RoundRobin, 3);
        let picks: Vec<u32> = (0..6).map(|_| b.pick().unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn least_connections_fills_the_emptiest() {
        let mut b = lb(Balancing::LeastConnections, 3);
        assert_eq!(b.pick(), Some(0));
        assert_eq!(b.pick(), Some(1));
        assert_eq!(b.pick(), Some(2));
        b.done(1);
        assert_eq!(b.pick(), Some(1));
    }

    #[test]
    fn power_of_two_never_picks_the_busier_of_two() {
        let mut b = lb(Balancing::PowerOfTwo, 2);
        for _ in 0..10 {
            b.pick();
        }
        // With two instances both are always compared: loads stay within 1.
        assert!(b.outstanding(0).abs_diff(b.outstanding(1)) <= 1);
    }

    #[test]
    fn random_spreads_and_removed_instances_get_nothing() {
        let mut b = lb(Balancing::Random, 4);
        b.remove(2);
        let mut counts = [0u32; 4];
        for _ in 0..3000 {
            counts[b.pick().unwrap() as usize] += 1;
        }
        assert_eq!(counts[2], 0);
        // Each of 3 gets ~1000 (sd ≈ 26): 850 is over 5 sd below.
        assert!(
            counts
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 2)
                .all(|(_, c)| *c > 850),
            "{counts:?}"
        );
        assert!(lb(Balancing::Random, 0).pick().is_none());
    }
}
