//! Latency histograms: HDR histograms in nanoseconds with three significant
//! digits (quantiles within 0.1 %), plus an exact sum for the mean. Zero
//! values (a request that found a free worker, a connection at once) are
//! only counted, which spares the histogram most of its records.

use hdrhistogram::Histogram;
use tenantsim_engine::SimTime;

/// Highest trackable latency: ten days. Longer values are clamped.
const HIGHEST_NS: u64 = 10 * 86_400 * 1_000_000_000;

#[derive(Clone)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
    /// Sum of the recorded values, in nanoseconds.
    sum_ns: f64,
    count: u64,
    zeros: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        // Auto-resizing: the counts array grows to the largest value seen
        // (at most HIGHEST_NS, since values are clamped), so a run whose
        // latencies stay in milliseconds never allocates or zeroes the
        // ten-day range. Values are resolved to 1 µs at the bottom (HDR
        // keeps three significant digits above that): a quarter of the
        // counts of a 1 ns floor, which matters when a sweep creates
        // thousands of recorders. The 1 µs bounds and precision are valid.
        let mut h = Histogram::new_with_bounds(1_000, 1_000_000, 3).expect("valid HDR bounds");
        h.auto(true);
        LatencyHistogram {
            h,
            sum_ns: 0.0,
            count: 0,
            zeros: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, d: SimTime) {
        self.count += 1;
        if d == SimTime::ZERO {
            self.zeros += 1;
            return;
        }
        let v = d.as_nanos().min(HIGHEST_NS);
        // `record` resizes an auto-resizing histogram; it cannot fail for
        // values below HIGHEST_NS, but clamp rather than lose one if it did.
        if self.h.record(v).is_err() {
            self.h.saturating_record(v);
        }
        self.sum_ns += d.as_nanos() as f64;
    }

    /// Add `other`'s records to this one.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.h.add(&other.h);
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
        Some(self.h.value_at_quantile(q2) as f64 / 1e9)
    }

    pub fn reset(&mut self) {
        self.h.reset();
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
