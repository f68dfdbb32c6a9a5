//! Latency histograms: HDR histograms in nanoseconds with three significant
//! digits (quantiles within 0.1 %), plus an exact sum for the mean.

use crate::engine::SimTime;
use hdrhistogram::Histogram;

/// Highest trackable latency: ten days. Longer values are clamped.
const HIGHEST_NS: u64 = 10 * 86_400 * 1_000_000_000;

#[derive(Clone)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
    sum_s: f64,
    count: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        // Bounds and precision are constants within hdrhistogram's limits.
        let h = Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("valid HDR bounds");
        LatencyHistogram {
            h,
            sum_s: 0.0,
            count: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, d: SimTime) {
        self.h.saturating_record(d.as_nanos().min(HIGHEST_NS));
        self.sum_s += d.as_secs_f64();
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean in seconds, None when empty.
    pub fn mean_s(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_s / self.count as f64)
    }

    /// Quantile q ∈ [0, 1] in seconds, None when empty.
    pub fn quantile_s(&self, q: f64) -> Option<f64> {
        (self.count > 0).then(|| self.h.value_at_quantile(q) as f64 / 1e9)
    }

    pub fn reset(&mut self) {
        self.h.reset();
        self.sum_s = 0.0;
        self.count = 0;
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
}
