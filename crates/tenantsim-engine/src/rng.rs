//! Independent, reproducible random-number streams.
//!
//! Every purpose (arrivals of workload 3, CPU demand of endpoint `read`,
//! tenant choice, load-balancer picks, faults, …) gets its own generator,
//! seeded from a hash of (seed, replication, purpose, index). Adding a pool
//! or drawing extra numbers for caches therefore never changes the arrival
//! sequence: this is what makes paired comparisons (common random numbers)
//! sharp. The generator is xoshiro256++ from `rand`; the mapping from seed
//! to output is stable for a given `rand` minor version.

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

/// The generator used everywhere in a simulation.
pub type SimRng = Xoshiro256PlusPlus;

/// What a stream is for. The numeric values are part of the reproducibility
/// contract: do not renumber, only append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamId {
    /// Inter-arrival times of workload `i`.
    Arrivals(u32),
    /// Which tenant of workload `i` sends the next request.
    TenantChoice(u32),
    /// Which endpoint a request of workload `i` calls.
    EndpointMix(u32),
    /// CPU demand of endpoint `i`.
    CpuDemand(u32),
    /// Database query times of endpoint `i`.
    QueryTime(u32),
    /// Cache keys drawn by workload `i`.
    CacheKeys(u32),
    /// Random and power-of-two load-balancer choices.
    Balancer,
    /// Faults.
    Faults,
    /// Think times of closed workload `i`.
    ThinkTime(u32),
    /// Retry backoff jitter.
    Retry,
    /// Cache and network latencies of component `i`.
    Latency(u32),
    /// Anything else a model needs, by index.
    Other(u32),
    /// Per-request seeds of the stage draws of endpoint `i`.
    Stages(u32),
    /// Background tasks and pauses of instance `i`.
    Pauses(u32),
}

impl StreamId {
    fn code(self) -> (u64, u64) {
        match self {
            StreamId::Arrivals(i) => (1, i as u64),
            StreamId::TenantChoice(i) => (2, i as u64),
            StreamId::EndpointMix(i) => (3, i as u64),
            StreamId::CpuDemand(i) => (4, i as u64),
            StreamId::QueryTime(i) => (5, i as u64),
            StreamId::CacheKeys(i) => (6, i as u64),
            StreamId::Balancer => (7, 0),
            StreamId::Faults => (8, 0),
            StreamId::ThinkTime(i) => (9, i as u64),
            StreamId::Retry => (10, 0),
            StreamId::Latency(i) => (11, i as u64),
            StreamId::Other(i) => (12, i as u64),
            StreamId::Stages(i) => (13, i as u64),
            StreamId::Pauses(i) => (14, i as u64),
        }
    }
}

/// SplitMix64 finaliser: a bijective mixer with good avalanche.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives the streams of one replication.
#[derive(Clone, Copy, Debug)]
pub struct RngStreams {
    seed: u64,
    replication: u64,
}

impl RngStreams {
    pub fn new(seed: u64, replication: u64) -> Self {
        RngStreams { seed, replication }
    }

    /// The 64-bit seed of one stream.
    pub fn stream_seed(&self, id: StreamId) -> u64 {
        let (purpose, index) = id.code();
        let mut h = mix(self.seed);
        h = mix(h ^ self.replication.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        h = mix(h ^ purpose.wrapping_mul(0xA076_1D64_78BD_642F));
        mix(h ^ index.wrapping_mul(0xE703_7ED1_A0B4_28DB))
    }

    /// A fresh generator for `id`.
    pub fn stream(&self, id: StreamId) -> SimRng {
        SimRng::seed_from_u64(self.stream_seed(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let s = RngStreams::new(42, 0);
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream(StreamId::Arrivals(0)), |r, _| Some(r.random()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream(StreamId::Arrivals(0)), |r, _| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        let ids = [
            StreamId::Arrivals(0),
            StreamId::Arrivals(1),
            StreamId::CpuDemand(0),
            StreamId::Balancer,
            StreamId::Faults,
        ];
        let seeds: Vec<u64> = ids.iter().map(|i| s.stream_seed(*i)).collect();
        for i in 0..seeds.len() {
            for j in 0..i {
                assert_ne!(seeds[i], seeds[j]);
            }
        }
        assert_ne!(
            s.stream_seed(StreamId::Arrivals(0)),
            RngStreams::new(42, 1).stream_seed(StreamId::Arrivals(0))
        );
        assert_ne!(
            s.stream_seed(StreamId::Arrivals(0)),
            RngStreams::new(43, 0).stream_seed(StreamId::Arrivals(0))
        );
    }
}
