//! Output analysis: means, standard deviations and Student-t confidence
//! intervals over replications; paired differences under common random
//! numbers; how many replications a requested precision needs; MSER-5
//! warm-up detection; batch means for a single long run.
//!
//! Replications are independent (their random streams differ), so the
//! per-replication values of a metric are i.i.d. samples and the 95 % CI of
//! their mean is mean ± t(0.975, n−1)·s/√n. With a single replication there
//! is no interval (`ci95` is null in `summary.json`).
//!
//! This module knows numbers only: nothing here runs a simulation.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The estimate of one metric over replications.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
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

/// How many replications in total make the CI's relative half-width at
/// most `target`, from an estimate over `e.n` replications: the half-width
/// shrinks like 1/√n, so n' = ⌈n·(h/target)²⌉ (the t quantile's own shrink
/// is ignored, which errs on the side of more). Returns `e.n` when the
/// precision is already met; None without a CI (one replication).
pub fn replications_needed(e: &Estimate, target: f64) -> Option<usize> {
    replications_needed_with_floor(e, target, 0.0)
}

/// [`replications_needed`] where the half-width is measured against
/// max(|mean|, `floor`) instead of |mean|: below the floor the target is the
/// absolute half-width `target × floor`. `--precision` uses this for ratios
/// (error rates, probabilities) whose mean can sit near zero, where a
/// relative target would ask for unbounded replications.
pub fn replications_needed_with_floor(e: &Estimate, target: f64, floor: f64) -> Option<usize> {
    let [lo, hi] = e.ci95?;
    let half = (hi - lo) / 2.0;
    let scale = e.mean.abs().max(floor);
    if half <= target * scale || half == 0.0 {
        return Some(e.n);
    }
    if scale == 0.0 {
        return None;
    }
    let ratio = half / (target * scale);
    Some(((e.n as f64) * ratio * ratio).ceil() as usize)
}

/// The difference B − A of a metric measured on the same replications of
/// two configurations (common random numbers): a Student-t interval over
/// the per-replication differences. Pairs where either side is undefined
/// are dropped.
pub fn paired_difference(a: &[Option<f64>], b: &[Option<f64>]) -> Option<Estimate> {
    let d: Vec<f64> = a.iter().zip(b).filter_map(|(x, y)| Some((*y)? - (*x)?)).collect();
    Estimate::from_samples(&d)
}

/// The difference of two means from independent samples (Welch's t), for
/// showing what the pairing saved.
pub fn welch_difference(a: &[f64], b: &[f64]) -> Option<Estimate> {
    let ea = Estimate::from_samples(a)?;
    let eb = Estimate::from_samples(b)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let mean = eb.mean - ea.mean;
    if a.len() < 2 || b.len() < 2 {
        return Some(Estimate {
            mean,
            ci95: None,
            std: 0.0,
            n: a.len().min(b.len()),
        });
    }
    let (va, vb) = (ea.std * ea.std / na, eb.std * eb.std / nb);
    let se = (va + vb).sqrt();
    // Welch–Satterthwaite degrees of freedom.
    let df = if se > 0.0 {
        ((va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0)))
            .floor()
            .max(1.0)
    } else {
        na + nb - 2.0
    };
    let half = t_quantile_975(df as usize) * se;
    Some(Estimate {
        mean,
        ci95: Some([mean - half, mean + half]),
        std: se,
        n: a.len().min(b.len()),
    })
}

/// MSER-5 warm-up detection (White 1997; Hoad, Robinson & Davies 2010):
/// average the series in batches of 5, then pick the number d of leading
/// batches to delete that minimises the marginal standard error
/// Σ_{i>d}(Y_i − Ȳ_d)² / (k − d)², searching d ≤ k/2. Returns the number
/// of raw observations to delete (a multiple of 5), or None when the
/// series has fewer than 4 batches.
pub fn mser5(series: &[f64]) -> Option<usize> {
    let batches: Vec<f64> = series.chunks_exact(5).map(|c| c.iter().sum::<f64>() / 5.0).collect();
    let k = batches.len();
    if k < 4 {
        return None;
    }
    let mut best = (f64::INFINITY, 0usize);
    for d in 0..=k / 2 {
        let tail = &batches[d..];
        let m = tail.iter().sum::<f64>() / tail.len() as f64;
        let ss: f64 = tail.iter().map(|y| (y - m) * (y - m)).sum();
        let mser = ss / (tail.len() as f64).powi(2);
        if mser < best.0 {
            best = (mser, d);
        }
    }
    Some(best.1 * 5)
}

/// Batch means for a single long run: cut the (post-warm-up) series of
/// `(value, weight)` observations into `batches` equal consecutive groups,
/// take each group's weighted mean, and treat those as approximately
/// independent samples. Returns None with fewer observations than batches.
/// Approximate: batches must be long compared with the series' correlation
/// time for the interval to be honest.
pub fn batch_means(obs: &[(f64, f64)], batches: usize) -> Option<Estimate> {
    if batches < 2 || obs.len() < batches {
        return None;
    }
    let per = obs.len() / batches;
    let means: Vec<f64> = obs
        .chunks_exact(per)
        .take(batches)
        .filter_map(|c| {
            let w: f64 = c.iter().map(|(_, w)| w).sum();
            (w > 0.0).then(|| c.iter().map(|(v, w)| v * w).sum::<f64>() / w)
        })
        .collect();
    Estimate::from_samples(&means)
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

    #[test]
    fn replications_needed_scales_with_the_square_of_the_ratio() {
        // Half-width 0.2 on a mean of 1 is 20 %; reaching 10 % needs 4× as many.
        let e = Estimate {
            mean: 1.0,
            ci95: Some([0.8, 1.2]),
            std: 0.0,
            n: 10,
        };
        assert_eq!(replications_needed(&e, 0.10), Some(40));
        assert_eq!(replications_needed(&e, 0.25), Some(10));
        let one = Estimate {
            mean: 1.0,
            ci95: None,
            std: 0.0,
            n: 1,
        };
        assert_eq!(replications_needed(&one, 0.1), None);
    }

    #[test]
    fn a_floor_turns_a_near_zero_mean_into_an_absolute_target() {
        // An error rate of 2e-6 ± 3e-6: 150 % relative, so 1 % relative
        // precision would need 22,500× the replications; against a floor
        // of 0.01 the target is ±1e-4 absolute, already met.
        let e = Estimate {
            mean: 2e-6,
            ci95: Some([-1e-6, 5e-6]),
            std: 0.0,
            n: 10,
        };
        assert_eq!(replications_needed(&e, 0.01), Some(225_000));
        assert_eq!(replications_needed_with_floor(&e, 0.01, 0.01), Some(10));
        // Above the floor nothing changes.
        let big = Estimate {
            mean: 0.5,
            ci95: Some([0.4, 0.6]),
            std: 0.0,
            n: 10,
        };
        assert_eq!(
            replications_needed_with_floor(&big, 0.1, 0.01),
            replications_needed(&big, 0.1)
        );
    }

    #[test]
    fn pairing_removes_the_shared_noise() {
        // B = A + 1 exactly: the paired difference has no spread at all,
        // the independent one inherits A's spread.
        let a = [1.0, 5.0, 2.0, 8.0, 3.0];
        let b: Vec<f64> = a.iter().map(|x| x + 1.0).collect();
        let ao: Vec<Option<f64>> = a.iter().copied().map(Some).collect();
        let bo: Vec<Option<f64>> = b.iter().copied().map(Some).collect();
        let p = paired_difference(&ao, &bo).unwrap();
        assert_eq!(p.mean, 1.0);
        assert_eq!(p.ci95, Some([1.0, 1.0]));
        let w = welch_difference(&a, &b).unwrap();
        assert!((w.mean - 1.0).abs() < 1e-12);
        let [lo, hi] = w.ci95.unwrap();
        assert!(lo < -1.0 && hi > 3.0, "{lo} {hi}");
        // Undefined pairs are dropped.
        let p2 = paired_difference(&[Some(1.0), None, Some(2.0)], &[Some(2.0), Some(9.0), Some(4.0)]).unwrap();
        assert_eq!(p2.n, 2);
        assert_eq!(p2.mean, 1.5);
    }

    #[test]
    fn mser5_cuts_an_initial_transient() {
        // 50 observations rising from 0 to a plateau at 10 after 20, with a
        // little deterministic wobble on the plateau.
        let s: Vec<f64> = (0..200)
            .map(|i| {
                if i < 20 {
                    i as f64 / 2.0
                } else {
                    10.0 + ((i * 37) % 11) as f64 * 0.1
                }
            })
            .collect();
        let d = mser5(&s).unwrap();
        // The transient is 20 observations; noise may cost a batch more.
        assert!((20..=25).contains(&d), "deleted {d}");
        // A stationary series needs no deletion.
        let flat: Vec<f64> = (0..100).map(|i| ((i * 7) % 5) as f64).collect();
        assert_eq!(mser5(&flat), Some(0));
        // A series that starts high (empty-and-idle bias reversed) too.
        let falling: Vec<f64> = (0..100).map(|i| if i < 10 { 50.0 } else { 1.0 }).collect();
        assert_eq!(mser5(&falling), Some(10));
        assert_eq!(mser5(&[1.0; 12]), None);
    }

    #[test]
    fn batch_means_weights_within_a_batch() {
        // Two batches: (1×1 + 3×3)/4 = 2.5 and (2×1 + 2×1)/2 = 2.
        let obs = [(1.0, 1.0), (3.0, 3.0), (2.0, 1.0), (2.0, 1.0)];
        let e = batch_means(&obs, 2).unwrap();
        assert_eq!(e.n, 2);
        assert!((e.mean - 2.25).abs() < 1e-12);
        assert!(batch_means(&obs, 5).is_none());
    }
}
