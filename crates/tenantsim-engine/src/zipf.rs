//! Zipf-distributed ranks (cache keys, client addresses) drawn in O(1).
//!
//! `rand_distr::Zipf` draws by rejection-inversion: a `powf` or two per
//! draw, about 5 % of a HERMES-size run's time. For up to
//! [`TABLE_LIMIT`] ranks, [`ZipfRanks`] instead builds Walker's alias
//! table once (Vose's construction, O(n)) and draws with one 64-bit random
//! number: its high half picks a column, its low half decides between the
//! column and its alias. Each rank's probability is represented to within
//! n · 2⁻³² (the thresholds are 32-bit), far below any sampling error a run
//! can show. More ranks than that fall back to rejection-inversion, whose
//! memory does not grow with n.
//!
//! Tables are built from (n, s) alone, so they are deterministic; equal
//! parameters share one table ([`ZipfCache`]).

use super::SimRng;
use rand::Rng;
use rand_distr::Distribution;
use std::collections::HashMap;
use std::sync::Arc;

/// Most ranks an alias table is built for (8 bytes per rank: 8 MB).
pub const TABLE_LIMIT: u64 = 1 << 20;

/// Walker's alias table over ranks 1..=n.
#[derive(Debug)]
pub struct AliasTable {
    /// Column i keeps rank i + 1 when the low 32 bits of the draw are
    /// below `keep[i]`, else gives `alias[i]` (a 0-based rank).
    keep: Vec<u32>,
    alias: Vec<u32>,
}

impl AliasTable {
    /// Zipf(s) over ranks 1..=n: P(k) ∝ k^-s.
    pub fn zipf(n: u64, s: f64) -> Self {
        let n = n.max(1) as usize;
        let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
        Self::new(&w)
    }

    /// From weights (non-negative, not all zero).
    pub fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        // Scaled so the mean column is exactly 1.
        let mut p: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| p[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s] = l as u32;
            p[l] -= 1.0 - p[s];
            if p[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left is 1 up to rounding: keep it whole.
        for i in small.into_iter().chain(large) {
            p[i] = 1.0;
        }
        let keep = p
            .iter()
            .map(|&x| {
                if x >= 1.0 {
                    u32::MAX
                } else {
                    (x * 4_294_967_296.0) as u32
                }
            })
            .collect();
        AliasTable { keep, alias }
    }

    /// A 0-based index.
    #[inline]
    pub fn sample_index(&self, rng: &mut SimRng) -> usize {
        let u: u64 = rng.next_u64();
        let col = (((u >> 32) * self.keep.len() as u64) >> 32) as usize;
        // `keep == u32::MAX` means always (the low half is at most MAX).
        if (u as u32) < self.keep[col] || self.keep[col] == u32::MAX {
            col
        } else {
            self.alias[col] as usize
        }
    }
}

/// A Zipf(s) rank sampler over 1..=n.
#[derive(Clone, Debug)]
pub enum ZipfRanks {
    Table(Arc<AliasTable>),
    Rejection(rand_distr::Zipf<f64>),
}

impl ZipfRanks {
    /// A rank in 1..=n.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        match self {
            ZipfRanks::Table(t) => t.sample_index(rng) as u64 + 1,
            ZipfRanks::Rejection(z) => z.sample(rng) as u64,
        }
    }
}

/// Builds [`ZipfRanks`], sharing one table between equal parameters.
#[derive(Default)]
pub struct ZipfCache {
    tables: HashMap<(u64, u64), Arc<AliasTable>>,
}

impl ZipfCache {
    /// A sampler of Zipf(s) over 1..=n. `n >= 1` and `s >= 0` (the
    /// scenario validated them).
    pub fn get(&mut self, n: u64, s: f64) -> ZipfRanks {
        if n > TABLE_LIMIT {
            return ZipfRanks::Rejection(rand_distr::Zipf::new(n as f64, s).expect("valid Zipf parameters"));
        }
        let t = self
            .tables
            .entry((n, s.to_bits()))
            .or_insert_with(|| Arc::new(AliasTable::zipf(n, s)));
        ZipfRanks::Table(Arc::clone(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn frequencies(z: &ZipfRanks, n: usize, draws: usize) -> Vec<f64> {
        let mut rng = SimRng::seed_from_u64(7);
        let mut c = vec![0u64; n + 1];
        for _ in 0..draws {
            let k = z.sample(&mut rng) as usize;
            assert!((1..=n).contains(&k), "rank {k} outside 1..={n}");
            c[k] += 1;
        }
        c.iter().map(|&x| x as f64 / draws as f64).collect()
    }

    #[test]
    fn the_alias_table_draws_zipf_frequencies() {
        for &(n, s) in &[(10u64, 0.9), (1000, 1.2), (7, 0.0), (1, 0.9)] {
            let z = ZipfCache::default().get(n, s);
            assert!(matches!(z, ZipfRanks::Table(_)));
            let f = frequencies(&z, n as usize, 400_000);
            let h: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
            // Every rank with a mass above 1 % within 4 standard errors.
            for (k, fk) in f.iter().enumerate().take(n as usize + 1).skip(1) {
                let p = (k as f64).powf(-s) / h;
                if p > 0.01 {
                    let se = (p * (1.0 - p) / 400_000.0).sqrt();
                    assert!((fk - p).abs() <= 4.0 * se + 1e-12, "n {n} s {s} rank {k}: {fk} vs {p}");
                }
            }
        }
    }

    #[test]
    fn table_and_rejection_agree_on_the_head_of_the_distribution() {
        let table = ZipfCache::default().get(5000, 0.9);
        let rejection = ZipfRanks::Rejection(rand_distr::Zipf::new(5000.0, 0.9).unwrap());
        let (a, b) = (
            frequencies(&table, 5000, 300_000),
            frequencies(&rejection, 5000, 300_000),
        );
        for k in 1..=5 {
            assert!((a[k] - b[k]).abs() < 0.004, "rank {k}: {} vs {}", a[k], b[k]);
        }
    }

    #[test]
    fn huge_populations_use_rejection_and_equal_parameters_share_a_table() {
        let mut c = ZipfCache::default();
        assert!(matches!(c.get(TABLE_LIMIT + 1, 0.9), ZipfRanks::Rejection(_)));
        let (ZipfRanks::Table(a), ZipfRanks::Table(b)) = (c.get(100, 0.9), c.get(100, 0.9)) else {
            panic!("tables expected")
        };
        assert!(Arc::ptr_eq(&a, &b));
        let ZipfRanks::Table(d) = c.get(100, 1.0) else { panic!() };
        assert!(!Arc::ptr_eq(&a, &d));
    }
}
