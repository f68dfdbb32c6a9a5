//! Output analysis across replications: means, standard deviations and
//! Student-t confidence intervals.
//!
//! Replications are independent (their random streams differ), so the
//! per-replication values of a metric are i.i.d. samples and the 95 % CI of
//! their mean is mean ± t(0.975, n−1)·s/√n. With a single replication there
//! is no interval (`ci95` is null in `summary.json`).

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The estimate of one metric over replications.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub ci95: Option<[f64; 2]>,
    pub std: f64,
    #[serde(skip)]
    pub n: usize,
}

impl Estimate {
    /// None when `xs` is empty.
    pub fn from_samples(xs: &[f64]) -> Option<Estimate> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Estimate {
                mean,
                ci95: None,
                std: 0.0,
                n,
            });
        }
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        let std = var.sqrt();
        let half = t_quantile_975(n - 1) * std / (n as f64).sqrt();
        Some(Estimate {
            mean,
            ci95: Some([mean - half, mean + half]),
            std,
            n,
        })
    }

    /// Half-width of the CI relative to the mean (None without a CI or for a
    /// zero mean).
    pub fn relative_half_width(&self) -> Option<f64> {
        let [lo, hi] = self.ci95?;
        (self.mean != 0.0).then(|| (hi - lo) / 2.0 / self.mean.abs())
    }
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile_975(df: usize) -> f64 {
    // df >= 1 and the location/scale are valid, so construction succeeds.
    StudentsT::new(0.0, 1.0, df as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(1.959964)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn student_t_interval() {
        // t(0.975, 4) = 2.776445; s = 1.5811 for 1..5; half = 2.776445·1.5811/√5.
        let e = Estimate::from_samples(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(e.mean, 3.0);
        let [lo, hi] = e.ci95.unwrap();
        assert!((hi - 3.0 - 1.963243).abs() < 1e-5, "{hi}");
        assert!((3.0 - lo - 1.963243).abs() < 1e-5);
        assert!(Estimate::from_samples(&[2.0]).unwrap().ci95.is_none());
        assert!(Estimate::from_samples(&[]).is_none());
    }
}
