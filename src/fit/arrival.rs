//! Arrival-process estimation for one group of tenants: the rate over time
//! (constant, a daily cosine, or hourly steps) and bursts (index of
//! dispersion; Poisson vs a two-state MMPP).
//!
//! Requests are counted in short windows ([`WINDOW_S`]). A window is a
//! burst window when its count is improbable under the Poisson rate of its
//! trend bin (P(X ≥ c) < min(10⁻³, 0.05 / windows); neighbours of a burst
//! at P < 0.05), and the
//! trend is re-estimated without burst windows, three times. The index of
//! dispersion of all window counts around that trend is ≈ 1 for a Poisson
//! process (standard error √(2/(n−1))); above 1 + 4 SE with at least two
//! bursts the group is bursty, and the bursts are fitted as an on/off MMPP
//! added to the base rate: burst extra rate from the windows inside bursts,
//! each burst's length from its extra requests, the normal duration from
//! the time between bursts. The base rate's shape is chosen by a χ²
//! constancy test (p > 0.01 → constant), then a least-squares daily cosine
//! when the log covers at least 20 hours and the cosine explains ≥ 70 % of
//! the variance of the binned rates (R²), else piecewise-constant steps.

use statrs::distribution::{ChiSquared, ContinuousCDF, DiscreteCDF, Poisson};

/// Counting window for burst detection and the index of dispersion.
pub const WINDOW_S: f64 = 10.0;
/// A day: the period of the diurnal fit.
pub const DAY_S: f64 = 86_400.0;

/// The base rate's shape over time (group rates, requests per second).
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Constant {
        rate: f64,
        /// p-value of the χ² test that the binned rates are equal.
        p_value: f64,
    },
    /// rate(t) = mean + amplitude·cos(2π(t − peak_at)/day), clipped at 0.
    Diurnal {
        peak: f64,
        trough: f64,
        /// Seconds after the log's start (mod one day).
        peak_at_s: f64,
        r2: f64,
    },
    /// (from seconds after the start, rate).
    Steps {
        steps: Vec<(f64, f64)>,
        r2_cosine: Option<f64>,
    },
}

/// Bursts as an on/off MMPP on top of the base rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Bursts {
    pub count: usize,
    /// Extra group rate during a burst (req/s).
    pub extra_rate: f64,
    pub mean_burst_s: f64,
    pub mean_normal_s: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArrivalFit {
    pub requests: usize,
    pub span_s: f64,
    /// Bin length of the trend (an hour, or ten minutes for short logs).
    pub bin_s: f64,
    /// Rate of each trend bin without burst windows (req/s).
    pub binned: Vec<f64>,
    pub shape: Shape,
    pub dispersion: f64,
    pub dispersion_se: f64,
    pub bursts: Option<Bursts>,
}

impl ArrivalFit {
    /// Mean group rate implied by the fit.
    pub fn mean_rate(&self) -> f64 {
        let base = match &self.shape {
            Shape::Constant { rate, .. } => *rate,
            Shape::Diurnal { peak, trough, .. } => (peak + trough) / 2.0,
            Shape::Steps { steps, .. } => {
                let mut area = 0.0;
                for (i, (t, r)) in steps.iter().enumerate() {
                    let end = steps.get(i + 1).map_or(self.span_s, |s| s.0);
                    area += r * (end - t).max(0.0);
                }
                area / self.span_s.max(1e-9)
            }
        };
        base + self.bursts.as_ref().map_or(0.0, |b| {
            b.extra_rate * b.mean_burst_s / (b.mean_burst_s + b.mean_normal_s)
        })
    }
}

/// Fit the arrivals at `times` (seconds from the log's start, sorted) over
/// a log of `span_s` seconds: memory and time in proportion to `span_s` /
/// [`WINDOW_S`] (the readers keep it within [`super::MAX_SPAN_S`]).
pub fn fit_arrivals(times: &[f64], span_s: f64) -> ArrivalFit {
    let span_s = span_s.max(WINDOW_S);
    let win = Windows::count(times, span_s);
    let (burst, bin_rate) = win.find_burst_windows();
    // Index of dispersion around the trend.
    let mut d = 0.0;
    let mut m = 0usize;
    for i in 0..win.n() {
        let mu = bin_rate[i / win.per_bin] * win.len(i);
        if mu > 0.0 {
            d += (win.counts[i] as f64 - mu).powi(2) / mu;
            m += 1;
        }
    }
    let dispersion = if m > 1 { d / (m - 1) as f64 } else { 1.0 };
    let dispersion_se = (2.0 / (m.max(2) - 1) as f64).sqrt();
    let runs = burst_runs(&burst);
    let bursty = dispersion > 1.0 + 4.0 * dispersion_se && runs.len() >= 2;
    let bursts = bursty.then(|| win.fit_bursts(&runs, &bin_rate));
    let (binned, shape) = win.base_shape(&burst, bursty);
    ArrivalFit {
        requests: times.len(),
        span_s,
        bin_s: win.bin_s,
        binned,
        shape,
        dispersion,
        dispersion_se,
        bursts,
    }
}

/// A group's request counts per [`WINDOW_S`] window, and the trend bins
/// (an hour, or ten minutes for logs under three hours) that group them.
struct Windows {
    counts: Vec<u32>,
    span_s: f64,
    bin_s: f64,
    /// Windows per trend bin.
    per_bin: usize,
    /// Trend bins.
    nb: usize,
}

impl Windows {
    /// Count `times` (sorted seconds from the start) in windows over `span_s` (≥ [`WINDOW_S`]).
    fn count(times: &[f64], span_s: f64) -> Windows {
        let w = WINDOW_S;
        let nw = (span_s / w).ceil() as usize;
        let mut counts = vec![0u32; nw];
        for t in times {
            let i = ((t / w) as usize).min(nw - 1);
            counts[i] += 1;
        }
        let bin_s = if span_s >= 3.0 * 3600.0 { 3600.0 } else { 600.0 };
        let per_bin = (bin_s / w) as usize;
        Windows {
            counts,
            span_s,
            bin_s,
            per_bin,
            nb: nw.div_ceil(per_bin),
        }
    }

    /// The number of windows.
    fn n(&self) -> usize {
        self.counts.len()
    }

    /// Length of window `i` in seconds (the last may be partial).
    fn len(&self, i: usize) -> f64 {
        (self.span_s - i as f64 * WINDOW_S).min(WINDOW_S)
    }

    /// The windows of trend bin `b`.
    fn bin(&self, b: usize) -> std::ops::Range<usize> {
        b * self.per_bin..((b + 1) * self.per_bin).min(self.n())
    }

    /// Which windows are bursts, and each trend bin's rate without them:
    /// three rounds of re-estimating the trend and re-testing every window.
    fn find_burst_windows(&self) -> (Vec<bool>, Vec<f64>) {
        let nw = self.n();
        let mut burst = vec![false; nw];
        let mut bin_rate = vec![0.0; self.nb];
        for _round in 0..3 {
            for (b, rate) in bin_rate.iter_mut().enumerate() {
                let (mut c, mut len) = (0.0, 0.0);
                for i in self.bin(b) {
                    if !burst[i] {
                        c += self.counts[i] as f64;
                        len += self.len(i);
                    }
                }
                *rate = if len > 0.0 { c / len } else { 0.0 };
            }
            let sf = |i: usize| -> f64 {
                let mu = bin_rate[i / self.per_bin] * self.len(i);
                let c = self.counts[i] as u64;
                if c == 0 {
                    return 1.0;
                }
                if mu <= 0.0 {
                    return 0.0;
                }
                Poisson::new(mu).map_or(1.0, |p| p.sf(c - 1))
            };
            let p: Vec<f64> = (0..nw).map(sf).collect();
            // 10⁻³, or stricter for long logs so that chance windows (about
            // nw × threshold of them) are rarely taken for bursts.
            let threshold = (0.05 / nw as f64).min(1e-3);
            let mut new: Vec<bool> = p.iter().map(|x| *x < threshold).collect();
            // Grow bursts over neighbours that are unusual too (burst edges).
            let mut changed = true;
            while changed {
                changed = false;
                for i in 0..nw {
                    if !new[i] && p[i] < 0.05 && ((i > 0 && new[i - 1]) || (i + 1 < nw && new[i + 1])) {
                        new[i] = true;
                        changed = true;
                    }
                }
            }
            burst = new;
        }
        (burst, bin_rate)
    }

    /// The bursts (`runs` of burst windows) as an on/off MMPP over the trend `bin_rate`.
    fn fit_bursts(&self, runs: &[(usize, usize)], bin_rate: &[f64]) -> Bursts {
        let w = WINDOW_S;
        let excess = |i: usize| self.counts[i] as f64 - bin_rate[i / self.per_bin] * self.len(i);
        // Extra rate from windows well inside a burst (not its edges).
        let (mut e_in, mut n_in) = (0.0, 0.0);
        let (mut e_all, mut n_all) = (0.0, 0.0);
        for &(s, e) in runs {
            for i in s..e {
                e_all += excess(i);
                n_all += self.len(i);
                if i > s && i + 1 < e {
                    e_in += excess(i);
                    n_in += self.len(i);
                }
            }
        }
        let extra_rate = if n_in >= 3.0 * w {
            e_in / n_in
        } else {
            e_all / n_all.max(w)
        }
        .max(1e-9);
        // Each burst lasts (its extra requests) / (the extra rate).
        let total_burst: f64 = runs
            .iter()
            .map(|&(s, e)| (s..e).map(excess).sum::<f64>().max(0.0) / extra_rate)
            .sum();
        let count = runs.len();
        Bursts {
            count,
            extra_rate,
            mean_burst_s: total_burst / count as f64,
            mean_normal_s: ((self.span_s - total_burst) / count as f64).max(w),
        }
    }

    /// The base rate per trend bin (without burst windows when `bursty`)
    /// and its shape: constant, a daily cosine, or steps.
    fn base_shape(&self, burst: &[bool], bursty: bool) -> (Vec<f64>, Shape) {
        let bin_len: Vec<f64> = (0..self.nb)
            .map(|b| self.bin(b).filter(|i| !bursty || !burst[*i]).map(|i| self.len(i)).sum())
            .collect();
        let bin_count: Vec<f64> = (0..self.nb)
            .map(|b| {
                self.bin(b)
                    .filter(|i| !bursty || !burst[*i])
                    .map(|i| self.counts[i] as f64)
                    .sum()
            })
            .collect();
        let total_len: f64 = bin_len.iter().sum();
        let mean = bin_count.iter().sum::<f64>() / total_len.max(1e-9);
        let binned: Vec<f64> = bin_count
            .iter()
            .zip(&bin_len)
            .map(|(c, l)| if *l > 0.0 { c / l } else { 0.0 })
            .collect();
        let (mut x2, mut dof) = (0.0, 0usize);
        for (c, l) in bin_count.iter().zip(&bin_len) {
            let e = mean * l;
            if e > 0.0 {
                x2 += (c - e).powi(2) / e;
                dof += 1;
            }
        }
        let p_const = if dof > 1 {
            ChiSquared::new((dof - 1) as f64).map_or(1.0, |c| c.sf(x2))
        } else {
            1.0
        };
        let bin_s = self.bin_s;
        let cosine = (self.span_s >= 20.0 * 3600.0)
            .then(|| cosine_fit(&binned, &bin_len, bin_s))
            .flatten();
        let shape = if p_const > 0.01 {
            Shape::Constant {
                rate: mean,
                p_value: p_const,
            }
        } else if let Some((a, amp, peak_at_s, r2)) = cosine.filter(|c| c.3 >= 0.7) {
            Shape::Diurnal {
                peak: a + amp,
                trough: (a - amp).max(0.0),
                peak_at_s,
                r2,
            }
        } else {
            Shape::Steps {
                steps: binned.iter().enumerate().map(|(b, r)| (b as f64 * bin_s, *r)).collect(),
                r2_cosine: cosine.map(|c| c.3),
            }
        };
        (binned, shape)
    }
}

/// Runs of burst windows, `(first, end)`, joined across one-window gaps.
fn burst_runs(burst: &[bool]) -> Vec<(usize, usize)> {
    let nw = burst.len();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < nw {
        if burst[i] {
            let s = i;
            while i < nw && (burst[i] || (i + 1 < nw && burst[i + 1] && i > s)) {
                i += 1;
            }
            runs.push((s, i));
        } else {
            i += 1;
        }
    }
    runs
}

/// Weighted least squares of rate = a + b cos(ωt) + c sin(ωt) at bin
/// centres: (mean a, amplitude, time of the peak, R²).
fn cosine_fit(rates: &[f64], weights: &[f64], bin_s: f64) -> Option<(f64, f64, f64, f64)> {
    let om = 2.0 * std::f64::consts::PI / DAY_S;
    // Normal equations, 3×3.
    let mut ata = [[0.0f64; 3]; 3];
    let mut atb = [0.0f64; 3];
    for (i, (r, wt)) in rates.iter().zip(weights).enumerate() {
        if *wt <= 0.0 {
            continue;
        }
        let t = (i as f64 + 0.5) * bin_s;
        let x = [1.0, (om * t).cos(), (om * t).sin()];
        for j in 0..3 {
            for k in 0..3 {
                ata[j][k] += wt * x[j] * x[k];
            }
            atb[j] += wt * x[j] * r;
        }
    }
    let sol = solve3(ata, atb)?;
    let (a, b, c) = (sol[0], sol[1], sol[2]);
    let wsum: f64 = weights.iter().sum();
    let mean = rates.iter().zip(weights).map(|(r, w)| r * w).sum::<f64>() / wsum;
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for (i, (r, wt)) in rates.iter().zip(weights).enumerate() {
        let t = (i as f64 + 0.5) * bin_s;
        let pred = a + b * (om * t).cos() + c * (om * t).sin();
        ss_res += wt * (r - pred).powi(2);
        ss_tot += wt * (r - mean).powi(2);
    }
    let r2 = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 0.0 };
    let amp = (b * b + c * c).sqrt();
    let peak_at = (c.atan2(b) / om).rem_euclid(DAY_S);
    Some((a, amp, peak_at, r2))
}

fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let piv = (col..3).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for r in 0..3 {
            if r != col {
                let f = a[r][col] / a[col][col];
                let pivot_row = a[col];
                for (x, p) in a[r].iter_mut().zip(pivot_row) {
                    *x -= f * p;
                }
                b[r] -= f * b[col];
            }
        }
    }
    Some([b[0] / a[0][0], b[1] / a[1][1], b[2] / a[2][2]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn poisson_times(rate: impl Fn(f64) -> f64, max_rate: f64, span: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut t = 0.0;
        let mut out = Vec::new();
        loop {
            t += -(1.0 - rng.random::<f64>()).ln() / max_rate;
            if t >= span {
                return out;
            }
            if rng.random::<f64>() * max_rate < rate(t) {
                out.push(t);
            }
        }
    }

    #[test]
    fn a_steady_poisson_stream_is_constant_and_not_bursty() {
        let ts = poisson_times(|_| 2.0, 2.0, 4.0 * 3600.0, 1);
        let f = fit_arrivals(&ts, 4.0 * 3600.0);
        assert!(
            matches!(f.shape, Shape::Constant { rate, .. } if (rate - 2.0).abs() < 0.05),
            "{:?}",
            f.shape
        );
        assert!(f.bursts.is_none(), "{f:?}");
        assert!((f.dispersion - 1.0).abs() < 4.0 * f.dispersion_se, "{}", f.dispersion);
    }

    #[test]
    fn a_daily_cosine_is_found_with_its_peak() {
        // Peak 1.0/s at 15h, trough 0.2/s.
        let rate = |t: f64| 0.6 + 0.4 * (2.0 * std::f64::consts::PI * (t - 15.0 * 3600.0) / DAY_S).cos();
        let ts = poisson_times(rate, 1.0, DAY_S, 2);
        let f = fit_arrivals(&ts, DAY_S);
        let Shape::Diurnal {
            peak,
            trough,
            peak_at_s,
            r2,
        } = f.shape
        else {
            panic!("{:?}", f.shape)
        };
        assert!(
            (peak - 1.0).abs() < 0.05 && (trough - 0.2).abs() < 0.05,
            "{peak} {trough}"
        );
        assert!((peak_at_s / 3600.0 - 15.0).abs() < 0.5 && r2 > 0.9, "{peak_at_s} {r2}");
        assert!(f.bursts.is_none());
    }

    #[test]
    fn bursts_on_a_steady_base_are_an_mmpp() {
        // Base 1/s; +6/s for 90 s starting every 1000 s.
        let rate = |t: f64| if t % 1000.0 < 90.0 { 7.0 } else { 1.0 };
        let ts = poisson_times(rate, 7.0, 6.0 * 3600.0, 3);
        let f = fit_arrivals(&ts, 6.0 * 3600.0);
        let b = f.bursts.clone().expect("bursts");
        assert!(
            matches!(f.shape, Shape::Constant { rate, .. } if (rate - 1.0).abs() < 0.05),
            "{:?}",
            f.shape
        );
        assert_eq!(b.count, 22, "{b:?}");
        assert!((b.extra_rate / 6.0 - 1.0).abs() < 0.1, "{b:?}");
        assert!((b.mean_burst_s / 90.0 - 1.0).abs() < 0.1, "{b:?}");
        assert!(f.dispersion > 2.0);
    }

    #[test]
    fn a_step_change_is_steps() {
        let rate = |t: f64| if t < 2.0 * 3600.0 { 1.0 } else { 3.0 };
        let ts = poisson_times(rate, 3.0, 4.0 * 3600.0, 4);
        let f = fit_arrivals(&ts, 4.0 * 3600.0);
        let Shape::Steps { steps, .. } = &f.shape else {
            panic!("{:?}", f.shape)
        };
        assert_eq!(steps.len(), 4);
        assert!(
            (steps[0].1 - 1.0).abs() < 0.1 && (steps[3].1 - 3.0).abs() < 0.15,
            "{steps:?}"
        );
    }
}
