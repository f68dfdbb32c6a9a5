//! Latency histograms in nanoseconds with three significant digits
//! (quantiles within 0.1 %), plus an exact sum for the mean. Zero values
//! (a request that found a free worker, a connection at once) are only
//! counted, which spares the histogram most of its records.
//!
//! The buckets are HDR histogram buckets (`hdrhistogram`'s layout for a
//! lowest discernible value of 1 µs and 3 significant digits: 2,048
//! sub-buckets, the first bucket 1 µs wide) and the quantiles are HDR's
//! `value_at_quantile`, so every figure is the one an `hdrhistogram`
//! `Histogram` gives for the same records (the tests check it against the
//! crate). The counts are kept here rather than in a `Histogram` because
//! recording is on the hot path of every request: one bucket index (a
//! leading-zero count and two shifts) and an add, where
//! `Histogram::record` also checked for a resize and kept a total, a
//! minimum and a maximum that nothing read (about 70 instructions per
//! record, 5 % of an M/M/8 run). Invariant: `counts` sums to
//! `count - zeros`; it grows one HDR bucket at a time, only as far as the
//! largest value recorded (so a run whose latencies stay in milliseconds
//! keeps 2,048 counts, as the auto-resizing `Histogram` did).

use tenantsim_engine::SimTime;

/// Highest trackable latency: ten days. Longer values are clamped.
const HIGHEST_NS: u64 = 10 * 86_400 * 1_000_000_000;

/// log2 of the lowest discernible value, 1 µs (HDR's `unit_magnitude`:
/// floor(log2(1000))).
const UNIT_MAGNITUDE: u32 = 9;
/// Sub-buckets per bucket: 2^11 ≥ 2 × 10^3 (three significant digits).
const SUB_BUCKET_COUNT_MAGNITUDE: u32 = 11;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = SUB_BUCKET_COUNT_MAGNITUDE - 1;
const SUB_BUCKET_HALF_COUNT: u64 = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_MASK: u64 = ((1 << SUB_BUCKET_COUNT_MAGNITUDE) - 1) << UNIT_MAGNITUDE;
const LEADING_ZERO_COUNT_BASE: u32 = 64 - UNIT_MAGNITUDE - SUB_BUCKET_COUNT_MAGNITUDE;

/// HDR bucket of `v`: how many powers of two it lies above bucket 0.
#[inline(always)]
fn bucket_of(v: u64) -> u32 {
    LEADING_ZERO_COUNT_BASE - (v | SUB_BUCKET_MASK).leading_zeros()
}

/// Index in the counts array of `v` (HDR's `index_for`).
#[inline(always)]
fn index_of(v: u64) -> usize {
    let b = bucket_of(v);
    let sub = v >> (b + UNIT_MAGNITUDE);
    (((b as u64 + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub - SUB_BUCKET_HALF_COUNT) as usize
}

/// The lowest value counted at `index` (HDR's `value_for`).
fn value_of(index: usize) -> u64 {
    let mut bucket = (index as i64 >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
    let mut sub = (index as u64 & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF_COUNT;
        bucket = 0;
    }
    sub << (bucket as u32 + UNIT_MAGNITUDE)
}

/// The highest value counted in the same bucket as `v` (HDR's
/// `highest_equivalent`; `v` is a bucket's lowest value here).
fn highest_equivalent(v: u64) -> u64 {
    v + (1 << (UNIT_MAGNITUDE + bucket_of(v))) - 1
}

#[derive(Clone, Default)]
pub struct LatencyHistogram {
    /// Records per HDR bucket (non-zero values only).
    counts: Vec<u64>,
    /// Sum of the recorded values, in nanoseconds.
    sum_ns: f64,
    count: u64,
    zeros: u64,
}

impl LatencyHistogram {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn record(&mut self, d: SimTime) {
        self.count += 1;
        if d == SimTime::ZERO {
            self.zeros += 1;
            return;
        }
        let i = index_of(d.as_nanos().min(HIGHEST_NS));
        match self.counts.get_mut(i) {
            Some(c) => *c += 1,
            None => self.grow_and_count(i),
        }
        self.sum_ns += d.as_nanos() as f64;
    }

    /// Grow the counts to cover `index` (to the end of its HDR bucket) and
    /// count one there.
    #[cold]
    #[inline(never)]
    fn grow_and_count(&mut self, index: usize) {
        let half = SUB_BUCKET_HALF_COUNT as usize;
        // A bucket above 0 fills the upper half of its 2,048 sub-buckets:
        // the counts end at a multiple of 1,024, at least bucket 0's 2,048.
        let len = ((index / half + 1) * half).max(2 * half);
        // Exactly that (as HDR's resize): `resize` alone may double.
        self.counts.reserve_exact(len - self.counts.len());
        self.counts.resize(len, 0);
        self.counts[index] += 1;
    }

    /// Add `other`'s records to this one.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.reserve_exact(other.counts.len() - self.counts.len());
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum_ns += other.sum_ns;
        self.count += other.count;
        self.zeros += other.zeros;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean in seconds, None when empty.
    pub fn mean_s(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ns / self.count as f64 / 1e9)
    }

    /// Quantile q ∈ [0, 1] in seconds, None when empty.
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q * self.count as f64;
        let nonzero = self.count - self.zeros;
        if nonzero == 0 || rank <= self.zeros as f64 {
            return Some(0.0);
        }
        let q2 = ((rank - self.zeros as f64) / nonzero as f64).min(1.0);
        Some(self.value_at_quantile(q2, nonzero) as f64 / 1e9)
    }

    /// HDR's `value_at_quantile` over the non-zero records (`total` of
    /// them): the highest value of the first bucket at which the running
    /// count reaches ⌈q × total⌉ (at least 1); the lowest for q = 0.
    fn value_at_quantile(&self, q: f64, total: u64) -> u64 {
        let q = q.min(1.0);
        let target = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                let v = value_of(i);
                return if q == 0.0 { v } else { highest_equivalent(v) };
            }
        }
        0
    }

    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.sum_ns = 0.0;
        self.count = 0;
        self.zeros = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn quantiles_within_a_tenth_of_a_percent() {
        let mut h = LatencyHistogram::new();
        for i in 1..=1000u64 {
            h.record(SimTime::from_nanos(i * 1_000_000)); // 1..1000 ms
        }
        assert_eq!(h.count(), 1000);
        assert!((h.mean_s().unwrap() - 0.5005).abs() < 1e-9);
        let p95 = h.quantile_s(0.95).unwrap();
        assert!((p95 / 0.950 - 1.0).abs() < 0.001, "{p95}");
        h.reset();
        assert_eq!(h.quantile_s(0.5), None);
    }

    /// The histogram this module replaced, as the oracle: HDR with 1 µs
    /// resolution and three significant digits, auto-resizing.
    fn hdr() -> hdrhistogram::Histogram<u64> {
        let mut h = hdrhistogram::Histogram::new_with_bounds(1_000, 1_000_000, 3).unwrap();
        h.auto(true);
        h
    }

    /// Values from 1 ns to beyond ten days, most in the millisecond range
    /// (a SplitMix64 sequence, so the test is the same every run).
    fn values(n: usize, seed: u64) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                // A random magnitude (2^0 .. 2^51 ns), then a random mantissa.
                let bits = (z % 52) as u32;
                ((z >> 8) & ((1u64 << bits) - 1)) | (1 << bits)
            })
            .collect()
    }

    #[test]
    fn quantiles_are_those_of_an_hdr_histogram_with_the_same_records() {
        let probabilities: Vec<f64> = (0..=1000).map(|i| i as f64 / 1000.0).chain([0.999_9, 1e-9]).collect();
        for (n, seed) in [(1usize, 1u64), (7, 2), (1000, 3), (100_000, 4)] {
            let mut ours = LatencyHistogram::new();
            let mut theirs = hdr();
            for v in values(n, seed) {
                ours.record(SimTime::from_nanos(v));
                theirs.record(v.min(HIGHEST_NS)).unwrap();
            }
            assert_eq!(ours.count(), theirs.len());
            for &q in &probabilities {
                assert_eq!(
                    ours.value_at_quantile(q, theirs.len()),
                    theirs.value_at_quantile(q),
                    "n = {n}, q = {q}"
                );
            }
            // Merging (counts of different lengths) and resetting keep it.
            let mut small = LatencyHistogram::new();
            small.record(SimTime::from_nanos(1_500));
            small.merge(&ours);
            theirs.record(1_500).unwrap();
            for &q in &probabilities {
                assert_eq!(small.value_at_quantile(q, theirs.len()), theirs.value_at_quantile(q));
            }
            small.reset();
            assert_eq!(small.quantile_s(0.5), None);
        }
    }

    #[test]
    fn counts_grow_one_hdr_bucket_at_a_time_and_no_further() {
        // Peak memory: the counts cover what HDR's auto-resize covered
        // (2,048 for bucket 0, then 1,024 per bucket), without `Vec`'s
        // doubling on top.
        let mut h = LatencyHistogram::new();
        assert_eq!(h.counts.capacity(), 0);
        h.record(SimTime::from_nanos(1_000));
        assert_eq!((h.counts.len(), h.counts.capacity()), (2048, 2048));
        h.record(SimTime::from_nanos(2_000_000)); // bucket 1
        assert_eq!((h.counts.len(), h.counts.capacity()), (3072, 3072));
        let mut other = LatencyHistogram::new();
        other.merge(&h);
        assert_eq!((other.counts.len(), other.counts.capacity()), (3072, 3072));
    }

    #[test]
    fn every_value_lands_in_the_hdr_bucket_of_its_equivalents() {
        let h = hdr();
        for v in values(200_000, 5).into_iter().map(|v| v.min(HIGHEST_NS)) {
            let lowest = value_of(index_of(v));
            assert_eq!(lowest, h.lowest_equivalent(v), "{v}");
            assert_eq!(highest_equivalent(lowest), h.highest_equivalent(v), "{v}");
        }
    }

    #[test]
    fn zeros_are_counted_apart_but_keep_their_place_in_quantiles() {
        let mut h = LatencyHistogram::new();
        for _ in 0..60 {
            h.record(SimTime::ZERO);
        }
        for i in 1..=40u64 {
            h.record(SimTime::from_nanos(i * 1_000_000));
        }
        assert_eq!(h.quantile_s(0.5), Some(0.0));
        assert_eq!(h.quantile_s(0.6), Some(0.0));
        // Rank 80 of 100 is the 20th non-zero value: 20 ms.
        let p80 = h.quantile_s(0.8).unwrap();
        assert!((p80 / 0.020 - 1.0).abs() < 0.001, "{p80}");
        assert!((h.mean_s().unwrap() - 0.0082).abs() < 1e-12);
        let mut other = LatencyHistogram::new();
        other.record(SimTime::from_nanos(1_000_000_000));
        h.merge(&other);
        assert_eq!(h.count(), 101);
        assert!((h.quantile_s(1.0).unwrap() - 1.0).abs() < 0.001);
    }
}
