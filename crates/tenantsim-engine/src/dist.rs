//! Probability distributions of durations (CPU demand, think time, latency).
//!
//! A [`Dist`] is built once from a scenario and sampled in the hot loop; it
//! returns nanoseconds. Parameters are validated when the scenario is
//! resolved, so sampling never fails.

use super::{SimRng, SimTime};
use rand::RngExt;
use rand_distr::Distribution;

/// A distribution of non-negative durations, parameterised in seconds.
/// Build one with the constructors, which check parameters and record the
/// mean and coefficient of variation for diagnostics (utilisation warnings,
/// lint, validation).
#[derive(Clone, Debug)]
pub struct Dist {
    kind: Kind,
    mean: f64,
    cv: f64,
}

#[derive(Clone, Debug)]
enum Kind {
    Deterministic(f64),
    Exponential(f64),
    Lognormal(rand_distr::LogNormal<f64>),
    Gamma(rand_distr::Gamma<f64>),
    Weibull(rand_distr::Weibull<f64>),
    Pareto(rand_distr::Pareto<f64>),
    Uniform(f64, f64),
    Empirical(Vec<f64>),
}

fn positive(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} must be a positive number, got {v}"))
    }
}

impl Dist {
    /// Always `v` seconds (v >= 0).
    pub fn deterministic(v: f64) -> Result<Dist, String> {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("a duration must be zero or positive, got {v}"));
        }
        Ok(Dist {
            kind: Kind::Deterministic(v),
            mean: v,
            cv: 0.0,
        })
    }
    /// Exponential with the given mean.
    pub fn exponential(mean: f64) -> Result<Dist, String> {
        positive("mean", mean)?;
        Ok(Dist {
            kind: Kind::Exponential(mean),
            mean,
            cv: 1.0,
        })
    }
    /// Lognormal with the given mean and coefficient of variation.
    pub fn lognormal(mean: f64, cv: f64) -> Result<Dist, String> {
        positive("mean", mean)?;
        positive("cv", cv)?;
        let s2 = (1.0 + cv * cv).ln();
        let mu = mean.ln() - s2 / 2.0;
        let d = rand_distr::LogNormal::new(mu, s2.sqrt()).map_err(|e| e.to_string())?;
        Ok(Dist {
            kind: Kind::Lognormal(d),
            mean,
            cv,
        })
    }
    /// Gamma with the given mean and coefficient of variation
    /// (shape = 1/cv², scale = mean·cv²).
    pub fn gamma(mean: f64, cv: f64) -> Result<Dist, String> {
        positive("mean", mean)?;
        positive("cv", cv)?;
        let shape = 1.0 / (cv * cv);
        let d = rand_distr::Gamma::new(shape, mean / shape).map_err(|e| e.to_string())?;
        Ok(Dist {
            kind: Kind::Gamma(d),
            mean,
            cv,
        })
    }
    /// Weibull with shape k and scale λ (seconds).
    pub fn weibull(shape: f64, scale: f64) -> Result<Dist, String> {
        positive("shape", shape)?;
        positive("scale", scale)?;
        let g1 = statrs::function::gamma::gamma(1.0 + 1.0 / shape);
        let g2 = statrs::function::gamma::gamma(1.0 + 2.0 / shape);
        let mean = scale * g1;
        let cv = ((g2 - g1 * g1).max(0.0)).sqrt() / g1;
        let d = rand_distr::Weibull::new(scale, shape).map_err(|e| e.to_string())?;
        Ok(Dist {
            kind: Kind::Weibull(d),
            mean,
            cv,
        })
    }
    /// Weibull with shape k and the given mean.
    pub fn weibull_with_mean(shape: f64, mean: f64) -> Result<Dist, String> {
        positive("shape", shape)?;
        positive("mean", mean)?;
        Dist::weibull(shape, mean / statrs::function::gamma::gamma(1.0 + 1.0 / shape))
    }
    /// Pareto type I with minimum `scale` and shape `alpha`.
    pub fn pareto(scale: f64, alpha: f64) -> Result<Dist, String> {
        positive("scale", scale)?;
        positive("alpha", alpha)?;
        let mean = if alpha > 1.0 {
            alpha * scale / (alpha - 1.0)
        } else {
            f64::INFINITY
        };
        let cv = if alpha > 2.0 {
            1.0 / (alpha * (alpha - 2.0)).sqrt()
        } else {
            f64::INFINITY
        };
        let d = rand_distr::Pareto::new(scale, alpha).map_err(|e| e.to_string())?;
        Ok(Dist {
            kind: Kind::Pareto(d),
            mean,
            cv,
        })
    }
    /// Pareto type I with shape `alpha` (> 1) and the given mean.
    pub fn pareto_with_mean(mean: f64, alpha: f64) -> Result<Dist, String> {
        positive("mean", mean)?;
        if alpha.is_nan() || alpha <= 1.0 {
            return Err(format!("alpha must be above 1 for a finite mean, got {alpha}"));
        }
        Dist::pareto(mean * (alpha - 1.0) / alpha, alpha)
    }
    /// Uniform on [min, max).
    pub fn uniform(min: f64, max: f64) -> Result<Dist, String> {
        if !(min.is_finite() && max.is_finite() && min >= 0.0 && max > min) {
            return Err(format!("uniform needs 0 <= min < max, got min {min}, max {max}"));
        }
        let mean = (min + max) / 2.0;
        let cv = (max - min) / 12f64.sqrt() / mean;
        Ok(Dist {
            kind: Kind::Uniform(min, max),
            mean,
            cv,
        })
    }
    /// One of `values`, each equally likely.
    pub fn empirical(values: Vec<f64>) -> Result<Dist, String> {
        if values.is_empty() {
            return Err("an empirical distribution needs at least one value".into());
        }
        if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(format!("empirical values must be zero or positive, got {v}"));
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
        Ok(Dist {
            kind: Kind::Empirical(values),
            mean,
            cv,
        })
    }

    /// Draw one duration, in seconds.
    #[inline]
    pub fn sample_secs(&self, rng: &mut SimRng) -> f64 {
        match &self.kind {
            Kind::Deterministic(v) => *v,
            // Ziggurat sampling: no logarithm on the common path.
            Kind::Exponential(mean) => {
                let e: f64 = rand_distr::Exp1.sample(rng);
                mean * e
            }
            Kind::Lognormal(d) => d.sample(rng),
            Kind::Gamma(d) => d.sample(rng),
            Kind::Weibull(d) => d.sample(rng),
            Kind::Pareto(d) => d.sample(rng),
            Kind::Uniform(a, b) => a + (b - a) * rng.random::<f64>(),
            Kind::Empirical(v) => v[rng.random_range(0..v.len())],
        }
    }

    /// Draw one duration.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimTime {
        SimTime::from_secs_f64(self.sample_secs(rng))
    }

    /// The mean, in seconds (infinite for a Pareto with alpha <= 1).
    pub fn mean_secs(&self) -> f64 {
        self.mean
    }

    /// The coefficient of variation (standard deviation / mean).
    pub fn cv(&self) -> f64 {
        self.cv
    }

    /// True when every draw is the same value.
    pub fn is_deterministic(&self) -> bool {
        matches!(self.kind, Kind::Deterministic(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn mean_cv(d: &Dist) -> (f64, f64) {
        let mut r = SimRng::seed_from_u64(7);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| d.sample_secs(&mut r)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt() / m)
    }

    #[test]
    fn exponential_has_mean_and_cv_one() {
        // 200k draws: the standard error of the mean is 0.22 % of the mean,
        // so 1.5 % is over 6 standard errors.
        let (m, cv) = mean_cv(&Dist::exponential(0.004).unwrap());
        assert!((m / 0.004 - 1.0).abs() < 0.015, "mean {m}");
        assert!((cv - 1.0).abs() < 0.02, "cv {cv}");
    }

    #[test]
    fn uniform_and_empirical_stay_in_range() {
        let mut r = SimRng::seed_from_u64(1);
        let u = Dist::uniform(1.0, 2.0).unwrap();
        let e = Dist::empirical(vec![0.5, 0.7]).unwrap();
        for _ in 0..1000 {
            let x = u.sample_secs(&mut r);
            assert!((1.0..2.0).contains(&x));
            let y = e.sample_secs(&mut r);
            assert!(y == 0.5 || y == 0.7);
        }
        assert_eq!(u.mean_secs(), 1.5);
    }

    #[test]
    fn parameterised_by_mean_and_cv_match_their_moments() {
        // 200k draws; lognormal with cv 1 has a heavy-ish tail, so allow 3 %
        // on the mean (about 5 standard errors) and 8 % on the cv.
        for d in [
            Dist::lognormal(0.01, 1.0).unwrap(),
            Dist::gamma(0.01, 0.5).unwrap(),
            Dist::weibull_with_mean(1.5, 0.01).unwrap(),
            Dist::pareto_with_mean(0.01, 3.5).unwrap(),
        ] {
            let (m, cv) = mean_cv(&d);
            assert!((m / d.mean_secs() - 1.0).abs() < 0.03, "{d:?}: mean {m}");
            assert!((cv / d.cv() - 1.0).abs() < 0.08, "{d:?}: cv {cv} vs {}", d.cv());
        }
        assert!(Dist::exponential(0.0).is_err());
        assert!(Dist::lognormal(1.0, -1.0).is_err());
        assert!(Dist::pareto_with_mean(1.0, 1.0).is_err());
    }
}
