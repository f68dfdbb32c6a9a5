//! Service-time distributions fitted by maximum likelihood, and the
//! goodness-of-fit statistics that judge them.
//!
//! Families are the ones a scenario can state (`exponential`, `lognormal`,
//! `gamma`, `weibull`); a fit is chosen by AIC. Individual samples use
//! closed forms (exponential, lognormal) or a one-dimensional root search on
//! the likelihood equation (gamma and Weibull shapes, both monotone, solved
//! by bisection: no starting-point trouble). Histogram data (Prometheus
//! buckets) is fitted by maximising the interval-censored likelihood with
//! Nelder–Mead. Nothing here panics on odd data: fewer than two positive
//! values, or values that are all equal, give no fit.

use statrs::distribution::{ContinuousCDF, Gamma, LogNormal};
use statrs::function::gamma::{digamma, ln_gamma};

/// A distribution family a scenario can state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Exponential,
    Lognormal,
    Gamma,
    Weibull,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Exponential, Family::Lognormal, Family::Gamma, Family::Weibull];
    pub fn name(self) -> &'static str {
        match self {
            Family::Exponential => "exponential",
            Family::Lognormal => "lognormal",
            Family::Gamma => "gamma",
            Family::Weibull => "weibull",
        }
    }
    fn params(self) -> usize {
        if self == Family::Exponential {
            1
        } else {
            2
        }
    }
}

/// A fitted distribution (seconds). Parameters: exponential (mean);
/// lognormal (μ, σ of the log); gamma (shape k, scale θ); Weibull (shape k,
/// scale λ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fitted {
    pub family: Family,
    pub a: f64,
    pub b: f64,
}

impl Fitted {
    pub fn mean(&self) -> f64 {
        match self.family {
            Family::Exponential => self.a,
            Family::Lognormal => (self.a + self.b * self.b / 2.0).exp(),
            Family::Gamma => self.a * self.b,
            Family::Weibull => self.b * ln_gamma(1.0 + 1.0 / self.a).exp(),
        }
    }
    /// Coefficient of variation (std / mean).
    pub fn cv(&self) -> f64 {
        match self.family {
            Family::Exponential => 1.0,
            Family::Lognormal => ((self.b * self.b).exp() - 1.0).sqrt(),
            Family::Gamma => 1.0 / self.a.sqrt(),
            Family::Weibull => {
                let g1 = ln_gamma(1.0 + 1.0 / self.a).exp();
                let g2 = ln_gamma(1.0 + 2.0 / self.a).exp();
                (g2 / (g1 * g1) - 1.0).max(0.0).sqrt()
            }
        }
    }
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match self.family {
            Family::Exponential => 1.0 - (-x / self.a).exp(),
            Family::Lognormal => LogNormal::new(self.a, self.b).map_or(f64::NAN, |d| d.cdf(x)),
            Family::Gamma => Gamma::new(self.a, 1.0 / self.b).map_or(f64::NAN, |d| d.cdf(x)),
            Family::Weibull => 1.0 - (-(x / self.b).powf(self.a)).exp(),
        }
    }
    /// The p-quantile, 0 < p < 1.
    pub fn quantile(&self, p: f64) -> f64 {
        match self.family {
            Family::Exponential => -self.a * (1.0 - p).ln(),
            Family::Lognormal => LogNormal::new(self.a, self.b).map_or(f64::NAN, |d| d.inverse_cdf(p)),
            Family::Gamma => Gamma::new(self.a, 1.0 / self.b).map_or(f64::NAN, |d| d.inverse_cdf(p)),
            Family::Weibull => self.b * (-(1.0 - p).ln()).powf(1.0 / self.a),
        }
    }
    /// Log-density at x > 0.
    fn ln_pdf(&self, x: f64) -> f64 {
        match self.family {
            Family::Exponential => -self.a.ln() - x / self.a,
            Family::Lognormal => {
                let z = (x.ln() - self.a) / self.b;
                -x.ln() - self.b.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 0.5 * z * z
            }
            Family::Gamma => (self.a - 1.0) * x.ln() - x / self.b - self.a * self.b.ln() - ln_gamma(self.a),
            Family::Weibull => (self.a / self.b).ln() + (self.a - 1.0) * (x / self.b).ln() - (x / self.b).powf(self.a),
        }
    }
    /// As a scenario distribution table, e.g.
    /// `{ dist = "lognormal", mean = "12.5ms", cv = 0.8 }`.
    pub fn toml(&self) -> String {
        match self.family {
            Family::Exponential => format!("{{ dist = \"exponential\", mean = \"{}\" }}", duration(self.a)),
            Family::Lognormal | Family::Gamma => format!(
                "{{ dist = \"{}\", mean = \"{}\", cv = {:.4} }}",
                self.family.name(),
                duration(self.mean()),
                self.cv()
            ),
            Family::Weibull => format!(
                "{{ dist = \"weibull\", shape = {:.4}, scale = \"{}\" }}",
                self.a,
                duration(self.b)
            ),
        }
    }
    /// Parameters in words, for comments and reports.
    pub fn describe(&self) -> String {
        let p = match self.family {
            Family::Exponential => format!("mean {}", duration(self.a)),
            Family::Lognormal => format!("mu {:.4}, sigma {:.4}", self.a, self.b),
            Family::Gamma => format!("shape {:.4}, scale {}", self.a, duration(self.b)),
            Family::Weibull => format!("shape {:.4}, scale {}", self.a, duration(self.b)),
        };
        format!(
            "{} ({p}; mean {}, cv {:.3})",
            self.family.name(),
            duration(self.mean()),
            self.cv()
        )
    }
}

/// Seconds as a scenario duration string with four significant digits in
/// the largest unit that keeps the number at least 1 ("12.35ms", "840us").
pub fn duration(s: f64) -> String {
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "us")
    };
    let digits = if v >= 1000.0 {
        0
    } else if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    let t = format!("{v:.digits$}");
    let t = if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    };
    format!("{t}{unit}")
}

/// One family's fit to a sample and how well it fits.
#[derive(Clone, Debug)]
pub struct FitResult {
    pub fit: Fitted,
    pub log_likelihood: f64,
    pub aic: f64,
    /// Kolmogorov–Smirnov statistic sup |F̂ − F| (NaN for histogram fits).
    pub ks: f64,
}

/// Maximum-likelihood fit of one family to positive values (zeros and
/// negatives must be removed first). None when the sample cannot identify
/// the family (fewer than two values, all equal).
pub fn fit_family(family: Family, xs: &[f64]) -> Option<Fitted> {
    let n = xs.len() as f64;
    if xs.len() < 2 || xs.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n;
    let mean_ln = xs.iter().map(|x| x.ln()).sum::<f64>() / n;
    let var_ln = xs.iter().map(|x| (x.ln() - mean_ln).powi(2)).sum::<f64>() / n;
    if var_ln <= 1e-18 {
        return None;
    }
    let (a, b) = match family {
        Family::Exponential => (mean, 0.0),
        Family::Lognormal => (mean_ln, var_ln.sqrt()),
        Family::Gamma => {
            // ln k − ψ(k) = s, decreasing in k.
            let s = mean.ln() - mean_ln;
            let k = bisect_log(|k| k.ln() - digamma(k) - s, 1e-4, 1e6, false)?;
            (k, mean / k)
        }
        Family::Weibull => {
            // Σ xᵏ ln x / Σ xᵏ − 1/k − mean(ln x) = 0, increasing in k.
            // Values are scaled by the largest so xᵏ cannot overflow.
            let m = xs.iter().cloned().fold(0.0, f64::max);
            let ln: Vec<f64> = xs.iter().map(|x| (x / m).ln()).collect();
            let mean_l = ln.iter().sum::<f64>() / n;
            let g = |k: f64| {
                let (mut s0, mut s1) = (0.0, 0.0);
                for l in &ln {
                    let p = (k * l).exp();
                    s0 += p;
                    s1 += p * l;
                }
                s1 / s0 - 1.0 / k - mean_l
            };
            let k = bisect_log(g, 1e-3, 1e3, true)?;
            let s0: f64 = ln.iter().map(|l| (k * l).exp()).sum::<f64>() / n;
            (k, m * s0.powf(1.0 / k))
        }
    };
    Some(Fitted { family, a, b })
}

/// Root of a monotone function on [lo, hi] by bisection in log space.
fn bisect_log(f: impl Fn(f64) -> f64, lo: f64, hi: f64, increasing: bool) -> Option<f64> {
    let (mut a, mut b) = (lo.ln(), hi.ln());
    let sign = |x: f64| if increasing { f(x) } else { -f(x) };
    if sign(lo) > 0.0 || sign(hi) < 0.0 {
        return None;
    }
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if sign(m.exp()) < 0.0 {
            a = m;
        } else {
            b = m;
        }
        if b - a < 1e-12 {
            break;
        }
    }
    Some((0.5 * (a + b)).exp())
}

/// Every family's fit to `xs`, best (lowest AIC) first.
pub fn fit_all(xs: &[f64]) -> Vec<FitResult> {
    let mut sorted: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    sorted.sort_by(f64::total_cmp);
    let mut out: Vec<FitResult> = Family::ALL
        .iter()
        .filter_map(|f| fit_family(*f, &sorted))
        .map(|fit| {
            let ll: f64 = sorted.iter().map(|x| fit.ln_pdf(*x)).sum();
            FitResult {
                fit,
                log_likelihood: ll,
                aic: 2.0 * fit.family.params() as f64 - 2.0 * ll,
                ks: ks_statistic(&sorted, |x| fit.cdf(x)),
            }
        })
        .filter(|r| r.aic.is_finite())
        .collect();
    out.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    out
}

/// One-sample Kolmogorov–Smirnov statistic of a sorted sample against `cdf`.
pub fn ks_statistic(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    for (i, x) in sorted.iter().enumerate() {
        let f = cdf(*x);
        d = d.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    d
}

/// P(D > d) under the null for an effective sample size `n` (Kolmogorov's
/// limit with Stephens' small-sample correction, as in Numerical Recipes).
/// With parameters fitted from the same data the true p-value is smaller
/// (Lilliefors): read it as optimistic.
pub fn ks_p_value(d: f64, n: f64) -> f64 {
    let sn = n.sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=100 {
        let j = j as f64;
        let term = 2.0 * (-1f64).powf(j - 1.0) * (-2.0 * j * j * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    sum.clamp(0.0, 1.0)
}

/// Two-sample Kolmogorov–Smirnov: statistic and asymptotic p-value for a
/// sorted sample against a second sample of `m` values known only by its
/// CDF (a histogram's): D = sup |F̂₁ − F₂| over the first sample's values.
pub fn ks_two_sample(sorted: &[f64], other_cdf: impl Fn(f64) -> f64, m: f64) -> (f64, f64) {
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        // Ties: the empirical CDF jumps past every copy at once.
        let x = sorted[i];
        let mut j = i;
        while j < sorted.len() && sorted[j] == x {
            j += 1;
        }
        let f = other_cdf(x);
        d = d.max((f - i as f64 / n).abs()).max((j as f64 / n - f).abs());
        i = j;
    }
    let ne = n * m / (n + m);
    (d, ks_p_value(d, ne))
}

/// Fit a family to histogram data: `bounds` are bucket upper bounds
/// (ascending, the last may be +∞) and `counts` the requests in each bucket
/// (not cumulative). Maximises Σ cⱼ ln(F(bⱼ) − F(bⱼ₋₁)) with Nelder–Mead in
/// log-parameters, started from moments of the bucket midpoints.
pub fn fit_histogram(family: Family, bounds: &[f64], counts: &[f64]) -> Option<FitResult> {
    let total: f64 = counts.iter().sum();
    if total <= 0.0 || bounds.len() != counts.len() {
        return None;
    }
    // Moments from midpoints (the open last bucket at 1.5× its lower bound).
    let mut lo = 0.0;
    let (mut m1, mut m2) = (0.0, 0.0);
    for (b, c) in bounds.iter().zip(counts) {
        let mid = if b.is_finite() { 0.5 * (lo + b) } else { 1.5 * lo };
        m1 += c * mid;
        m2 += c * mid * mid;
        if b.is_finite() {
            lo = *b;
        }
    }
    let mean = (m1 / total).max(1e-9);
    let var = (m2 / total - mean * mean).max(mean * mean * 1e-4);
    let cv2 = var / (mean * mean);
    let start = match family {
        Family::Exponential => (mean, 0.0),
        Family::Lognormal => {
            let s2 = (1.0 + cv2).ln();
            (mean.ln() - s2 / 2.0, s2.sqrt())
        }
        Family::Gamma => (1.0 / cv2, mean * cv2),
        Family::Weibull => {
            let k = cv2.sqrt().powf(-1.086).clamp(0.05, 50.0);
            (k, mean / ln_gamma(1.0 + 1.0 / k).exp())
        }
    };
    // Optimise in unconstrained coordinates: log of positive parameters.
    let to = |p: &[f64]| -> Fitted {
        match family {
            Family::Exponential => Fitted {
                family,
                a: p[0].exp(),
                b: 0.0,
            },
            Family::Lognormal => Fitted {
                family,
                a: p[0],
                b: p[1].exp(),
            },
            _ => Fitted {
                family,
                a: p[0].exp(),
                b: p[1].exp(),
            },
        }
    };
    let x0: Vec<f64> = match family {
        Family::Exponential => vec![start.0.ln()],
        Family::Lognormal => vec![start.0, start.1.ln()],
        _ => vec![start.0.ln(), start.1.ln()],
    };
    let nll = |p: &[f64]| -> f64 {
        let f = to(p);
        let mut prev = 0.0;
        let mut ll = 0.0;
        for (b, c) in bounds.iter().zip(counts) {
            let cur = if b.is_finite() { f.cdf(*b) } else { 1.0 };
            if *c > 0.0 {
                ll += c * (cur - prev).max(1e-300).ln();
            }
            prev = cur;
        }
        if ll.is_finite() {
            -ll
        } else {
            f64::INFINITY
        }
    };
    let best = nelder_mead(&nll, &x0, 0.3, 2000);
    let fit = to(&best);
    let ll = -nll(&best);
    ll.is_finite().then(|| FitResult {
        fit,
        log_likelihood: ll,
        aic: 2.0 * family.params() as f64 - 2.0 * ll,
        ks: f64::NAN,
    })
}

/// Every family's fit to histogram data, best (lowest AIC) first.
pub fn fit_histogram_all(bounds: &[f64], counts: &[f64]) -> Vec<FitResult> {
    let mut out: Vec<FitResult> = Family::ALL
        .iter()
        .filter_map(|f| fit_histogram(*f, bounds, counts))
        .collect();
    out.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    out
}

/// Minimise `f` from `x0` with the Nelder–Mead simplex (standard
/// coefficients), initial steps of `step` in each coordinate.
pub fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, x0: &[f64], step: f64, iters: usize) -> Vec<f64> {
    let n = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
        .map(|i| {
            let mut x = x0.to_vec();
            if i > 0 {
                x[i - 1] += step;
            }
            let v = f(&x);
            (x, v)
        })
        .collect();
    for _ in 0..iters {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if (simplex[n].1 - simplex[0].1).abs() < 1e-10 * (1.0 + simplex[0].1.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|p| p.0[j]).sum::<f64>() / n as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (simplex[n].0[j] - centroid[j]))
                .collect()
        };
        let xr = along(-1.0);
        let fr = f(&xr);
        if fr < simplex[0].1 {
            let xe = along(-2.0);
            let fe = f(&xe);
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let xc = along(0.5);
            let fc = f(&xc);
            if fc < simplex[n].1 {
                simplex[n] = (xc, fc);
            } else {
                let best = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    let x: Vec<f64> = (0..n).map(|j| best[j] + 0.5 * (p.0[j] - best[j])).collect();
                    let v = f(&x);
                    *p = (x, v);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::Distribution;

    fn sample(d: impl Distribution<f64>, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        (0..n).map(|_| d.sample(&mut rng)).collect()
    }

    // 4000 draws: the MLE's relative standard error is about 1/sqrt(n) ≈
    // 1.6 % for scale and shape-like parameters, so 6 % is ~4 sigma.
    #[test]
    fn each_family_recovers_its_parameters_and_wins_on_aic() {
        let n = 4000;
        let cases: Vec<(Family, Vec<f64>, f64, f64)> = vec![
            (
                Family::Exponential,
                sample(rand_distr::Exp::new(1.0 / 0.02).unwrap(), n, 1),
                0.02,
                0.0,
            ),
            (
                Family::Lognormal,
                sample(rand_distr::LogNormal::new(-4.0, 0.8).unwrap(), n, 2),
                -4.0,
                0.8,
            ),
            (
                Family::Gamma,
                sample(rand_distr::Gamma::new(3.0, 0.01).unwrap(), n, 3),
                3.0,
                0.01,
            ),
            (
                Family::Weibull,
                sample(rand_distr::Weibull::new(0.05, 2.5).unwrap(), n, 4),
                2.5,
                0.05,
            ),
        ];
        for (fam, xs, a, b) in cases {
            let fits = fit_all(&xs);
            assert_eq!(fits[0].fit.family, fam, "{fam:?}: {fits:?}");
            let f = fits[0].fit;
            let rel = |x: f64, y: f64| if y == 0.0 { x.abs() } else { (x / y - 1.0).abs() };
            assert!(rel(f.a, a) < 0.06, "{fam:?} a {} vs {a}", f.a);
            if fam != Family::Exponential {
                assert!(rel(f.b, b) < 0.06, "{fam:?} b {} vs {b}", f.b);
            }
            // The true model's KS statistic at n = 4000 is ~0.01–0.02.
            assert!(fits[0].ks < 0.03, "{fam:?} ks {}", fits[0].ks);
        }
    }

    #[test]
    fn moments_and_quantiles_agree_with_the_parameters() {
        let f = Fitted {
            family: Family::Weibull,
            a: 1.0,
            b: 0.5,
        };
        assert!((f.mean() - 0.5).abs() < 1e-9 && (f.cv() - 1.0).abs() < 1e-9);
        let g = Fitted {
            family: Family::Gamma,
            a: 4.0,
            b: 0.25,
        };
        assert!((g.mean() - 1.0).abs() < 1e-12 && (g.cv() - 0.5).abs() < 1e-12);
        let l = Fitted {
            family: Family::Lognormal,
            a: 0.0,
            b: 1.0,
        };
        assert!((l.quantile(0.5) - 1.0).abs() < 1e-6);
        assert!((l.cdf(l.quantile(0.9)) - 0.9).abs() < 1e-6);
    }

    #[test]
    fn durations_print_in_a_unit_the_scenario_parser_reads() {
        assert_eq!(duration(0.0125), "12.5ms");
        assert_eq!(duration(0.00084), "840us");
        assert_eq!(duration(2.0), "2s");
        for s in [0.0125, 0.00084, 2.0, 1234.5] {
            let back = crate::scenario::units::parse_duration_secs(&duration(s)).unwrap();
            assert!((back / s - 1.0).abs() < 1e-3);
        }
    }

    #[test]
    fn ks_tests_tell_same_from_different() {
        let a = sample(rand_distr::Exp::new(10.0).unwrap(), 3000, 5);
        let mut s = a.clone();
        s.sort_by(f64::total_cmp);
        let same = Fitted {
            family: Family::Exponential,
            a: 0.1,
            b: 0.0,
        };
        let other = Fitted {
            family: Family::Exponential,
            a: 0.13,
            b: 0.0,
        };
        let (d1, p1) = ks_two_sample(&s, |x| same.cdf(x), 3000.0);
        let (d2, p2) = ks_two_sample(&s, |x| other.cdf(x), 3000.0);
        assert!(p1 > 0.01 && d1 < 0.04, "{d1} {p1}");
        assert!(p2 < 1e-6 && d2 > 0.08, "{d2} {p2}");
    }

    #[test]
    fn histogram_fits_recover_a_lognormal() {
        let xs = sample(rand_distr::LogNormal::new(-3.5, 0.6).unwrap(), 20000, 6);
        let bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, f64::INFINITY];
        let mut counts = vec![0.0; bounds.len()];
        for x in xs {
            let i = bounds.iter().position(|b| x <= *b).unwrap();
            counts[i] += 1.0;
        }
        let fits = fit_histogram_all(&bounds, &counts);
        assert_eq!(fits[0].fit.family, Family::Lognormal, "{fits:?}");
        assert!((fits[0].fit.a + 3.5).abs() < 0.03 && (fits[0].fit.b / 0.6 - 1.0).abs() < 0.05);
    }
}
