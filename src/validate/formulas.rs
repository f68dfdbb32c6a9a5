//! Analytic reference answers for classic queueing and caching models.
//!
//! This module owns the closed-form and small numerical solutions that
//! `tenantsim validate` and the tests compare simulated results against:
//! Erlang B/C, M/M/c wait and sojourn distributions, M/M/c/K, M/G/1
//! (Pollaczek–Khinchine), M/M/1-PS, Erlang A (M/M/c+M), M/M/c+D, Che's LRU
//! approximation, TTL caches, Zipf popularity and token buckets.
//!
//! Conventions: rates (`lambda`, `mu`, `theta`, ...) are per second and
//! times are seconds; `a = lambda / mu` is the offered load in Erlangs, `c`
//! the number of servers and `k` the total number of places (in service plus
//! waiting). Nothing here panics: invalid arguments (negative or non-finite
//! rates, `c == 0`, probabilities outside `[0, 1]`) and unstable systems
//! (`lambda >= c mu` where the queue is infinite) give `f64::NAN`;
//! quantiles give `f64::INFINITY` for `p == 1`.

/// Relative tolerance of the bisection root finders.
const REL_TOL: f64 = 1e-12;

fn nonneg(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

fn valid_rates(lambda: f64, mu: f64, c: u32) -> bool {
    nonneg(lambda) && nonneg(mu) && mu > 0.0 && c >= 1
}

fn valid_prob(p: f64) -> bool {
    (0.0..=1.0).contains(&p)
}

/// Erlang C and the drain rate `c mu - lambda` of a stable M/M/c queue.
fn stable_mmc(lambda: f64, mu: f64, c: u32) -> Option<(f64, f64)> {
    if !valid_rates(lambda, mu, c) {
        return None;
    }
    let drain = f64::from(c) * mu - lambda;
    let prob_wait = erlang_c(c, lambda / mu);
    (drain > 0.0 && prob_wait.is_finite()).then_some((prob_wait, drain))
}

/// Erlang B blocking probability of M/M/c/c with offered load `a`, by the
/// stable recursion `B(k) = a B(k-1) / (k + a B(k-1))`, `B(0) = 1`.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    if !nonneg(a) {
        return f64::NAN;
    }
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// Erlang C, the probability that an M/M/c arrival waits, from Erlang B as
/// `C = c B / (c - a (1 - B))`. NaN when `c == 0` or `a >= c`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let cf = f64::from(c);
    if c == 0 || !(a >= 0.0 && a < cf) {
        return f64::NAN;
    }
    let b = erlang_b(c, a);
    cf * b / (cf - a * (1.0 - b))
}

/// Mean time in queue of M/M/c, `Wq = C / (c mu - lambda)`.
pub fn mmc_mean_wait(lambda: f64, mu: f64, c: u32) -> f64 {
    stable_mmc(lambda, mu, c).map_or(f64::NAN, |(pw, drain)| pw / drain)
}

/// Mean sojourn time of M/M/c, `Wq + 1/mu`.
pub fn mmc_mean_sojourn(lambda: f64, mu: f64, c: u32) -> f64 {
    mmc_mean_wait(lambda, mu, c) + 1.0 / mu
}

/// FCFS M/M/c wait CDF `P(Wq <= t) = 1 - C e^{-(c mu - lambda) t}` (0 for `t < 0`).
pub fn mmc_wait_cdf(lambda: f64, mu: f64, c: u32, t: f64) -> f64 {
    match stable_mmc(lambda, mu, c) {
        Some(_) if t < 0.0 => 0.0,
        Some((pw, drain)) => 1.0 - pw * (-drain * t).exp(),
        None => f64::NAN,
    }
}

/// FCFS M/M/c wait quantile: 0 when `p <= 1 - C`, otherwise
/// `ln(C / (1 - p)) / (c mu - lambda)`.
pub fn mmc_wait_quantile(lambda: f64, mu: f64, c: u32, p: f64) -> f64 {
    match stable_mmc(lambda, mu, c) {
        Some(_) if !valid_prob(p) => f64::NAN,
        Some((pw, _)) if p <= 1.0 - pw => 0.0,
        Some((pw, drain)) => (pw / (1.0 - p)).ln() / drain,
        None => f64::NAN,
    }
}

/// FCFS M/M/c sojourn CDF `P(T <= t)`, `T = Wq + S` with `S ~ Exp(mu)`.
///
/// `Wq` is 0 with probability `1 - C` and `Exp(g)`, `g = c mu - lambda`,
/// otherwise, so `P(T > t) = e^{-mu t} + C mu (e^{-mu t} - e^{-g t}) / (g - mu)`.
/// The divided difference is evaluated as `t e^{-min(g,mu) t} (1 - e^{-x}) / x`
/// with `x = |g - mu| t >= 0`: stable near `g == mu` and equal at `g == mu`
/// to the Erlang-2 limit, `P(T > t) = e^{-mu t} (1 + C mu t)`.
pub fn mmc_sojourn_cdf(lambda: f64, mu: f64, c: u32, t: f64) -> f64 {
    let Some((pw, g)) = stable_mmc(lambda, mu, c) else {
        return f64::NAN;
    };
    if t.is_nan() {
        return f64::NAN;
    }
    if t <= 0.0 {
        return 0.0;
    }
    let x = (g - mu).abs() * t;
    let ratio = if x == 0.0 { 1.0 } else { -(-x).exp_m1() / x };
    let divided = t * (-g.min(mu) * t).exp() * ratio;
    (1.0 - (-mu * t).exp() - pw * mu * divided).clamp(0.0, 1.0)
}

/// FCFS M/M/c sojourn quantile: [`mmc_sojourn_cdf`] inverted by doubling
/// to a bracket, then bisection to `1e-12` relative width.
pub fn mmc_sojourn_quantile(lambda: f64, mu: f64, c: u32, p: f64) -> f64 {
    if stable_mmc(lambda, mu, c).is_none() || !valid_prob(p) {
        return f64::NAN;
    }
    if p == 0.0 || p == 1.0 {
        return if p == 0.0 { 0.0 } else { f64::INFINITY };
    }
    let below = |t: f64| mmc_sojourn_cdf(lambda, mu, c, t) < p;
    bracket_and_bisect(1.0 / mu, below)
}

/// Finds where the non-increasing predicate `below` turns false: doubles
/// `hi` from `start` until it does, then bisects to `REL_TOL`.
fn bracket_and_bisect(start: f64, below: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (0.0, start);
    while below(hi) {
        (lo, hi) = (hi, 2.0 * hi);
        if !hi.is_finite() {
            return f64::NAN;
        }
    }
    for _ in 0..2000 {
        if hi - lo <= REL_TOL * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if below(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// M/M/1 sojourn quantile `-ln(1 - p) / (mu - lambda)`.
pub fn mm1_sojourn_quantile(lambda: f64, mu: f64, p: f64) -> f64 {
    if stable_mmc(lambda, mu, 1).is_none() || !valid_prob(p) {
        return f64::NAN;
    }
    -(-p).ln_1p() / (mu - lambda)
}

/// Stationary M/M/c/K distribution from log-weights `ln(p_n / p_0)`, finite
/// for K in the thousands and any load (a finite chain is always stable).
fn mmck_distribution(lambda: f64, mu: f64, c: u32, k: u32) -> Option<Vec<f64>> {
    if !valid_rates(lambda, mu, c) || k < c {
        return None;
    }
    let logs: Vec<f64> = std::iter::once(0.0)
        .chain((1..=k).scan(0.0, |acc, n| {
            *acc += (lambda / (f64::from(n.min(c)) * mu)).ln();
            Some(*acc)
        }))
        .collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = logs.iter().map(|&l| (l - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    Some(weights.into_iter().map(|w| w / total).collect())
}

/// M/M/c/K probability that an arrival finds all `k` places full (`p_K`,
/// by PASTA). `k == c` is Erlang B.
pub fn mmck_blocking(lambda: f64, mu: f64, c: u32, k: u32) -> f64 {
    let dist = mmck_distribution(lambda, mu, c, k);
    dist.and_then(|p| p.last().copied()).unwrap_or(f64::NAN)
}

/// M/M/c/K mean number in system `L = sum n p_n`.
pub fn mmck_mean_in_system(lambda: f64, mu: f64, c: u32, k: u32) -> f64 {
    mmck_distribution(lambda, mu, c, k).map_or(f64::NAN, |p| p.iter().enumerate().map(|(n, pn)| n as f64 * pn).sum())
}

/// M/M/c/K mean sojourn of admitted customers, `L / (lambda (1 - p_K))` by
/// Little's law (`1/mu` when `lambda == 0`).
pub fn mmck_mean_sojourn(lambda: f64, mu: f64, c: u32, k: u32) -> f64 {
    if lambda == 0.0 && valid_rates(lambda, mu, c) && k >= c {
        return 1.0 / mu;
    }
    let admitted = lambda * (1.0 - mmck_blocking(lambda, mu, c, k));
    mmck_mean_in_system(lambda, mu, c, k) / admitted
}

/// Pollaczek–Khinchine M/G/1 mean wait `rho E[S] (1 + scv) / (2 (1 - rho))`,
/// `rho = lambda E[S]`, `scv` the squared coefficient of variation of the
/// service time. NaN if `rho >= 1`.
pub fn mg1_mean_wait(lambda: f64, mean_service: f64, scv: f64) -> f64 {
    let rho = lambda * mean_service;
    if !(nonneg(lambda) && nonneg(mean_service) && nonneg(scv)) || rho >= 1.0 {
        return f64::NAN;
    }
    rho * mean_service * (1.0 + scv) / (2.0 * (1.0 - rho))
}

/// M/D/1 mean wait with deterministic service `d`: P–K with `scv = 0`.
pub fn md1_mean_wait(lambda: f64, d: f64) -> f64 {
    mg1_mean_wait(lambda, d, 0.0)
}

/// M/M/1 processor-sharing mean sojourn `1 / (mu - lambda)`.
pub fn mm1_ps_mean_sojourn(lambda: f64, mu: f64) -> f64 {
    stable_mmc(lambda, mu, 1).map_or(f64::NAN, |_| 1.0 / (mu - lambda))
}

/// M/M/1-PS mean sojourn of a job needing `x` seconds of service: `x / (1 - rho)`.
pub fn mm1_ps_conditional_sojourn(lambda: f64, mu: f64, x: f64) -> f64 {
    match stable_mmc(lambda, mu, 1) {
        Some(_) if nonneg(x) => x / (1.0 - lambda / mu),
        _ => f64::NAN,
    }
}

/// Erlang A mean queue length `L_q` from the birth–death chain with birth
/// `lambda` and death `min(n,c) mu + (n-c)^+ theta`, with rescaled weights.
/// The sum stops when the ratio `r = lambda / death` is below 1 (so later
/// terms decay at least geometrically) and the tail bounds `w r/(1-r)` and
/// `w ((n-c) r/(1-r) + r/(1-r)^2)` are negligible.
fn erlang_a_queue_length(lambda: f64, mu: f64, c: u32, theta: f64) -> Option<f64> {
    let cf = f64::from(c);
    if !(valid_rates(lambda, mu, c) && nonneg(theta)) || (theta == 0.0 && lambda >= cf * mu) {
        return None;
    }
    let (mut w, mut s0, mut s1) = (1.0_f64, 1.0_f64, 0.0_f64);
    for n in 1..100_000_000_u32 {
        let excess = (f64::from(n) - cf).max(0.0);
        let death = f64::from(n).min(cf) * mu + excess * theta;
        w *= lambda / death;
        s0 += w;
        s1 += excess * w;
        if w > 1e250 {
            (w, s0, s1) = (w * 1e-250, s0 * 1e-250, s1 * 1e-250);
        }
        let r = lambda / (death + theta);
        if excess > 0.0 && r < 1.0 {
            let tail0 = w * r / (1.0 - r);
            let tail1 = w * (excess * r / (1.0 - r) + r / ((1.0 - r) * (1.0 - r)));
            if tail0 <= 1e-17 * s0 && tail1 <= 1e-17 * s1.max(f64::MIN_POSITIVE) {
                return Some(s1 / s0);
            }
        }
    }
    None
}

/// Erlang A (M/M/c+M, patience `Exp(theta)`): probability that an arrival
/// abandons, `theta L_q / lambda` (abandonment rate over arrival rate), by
/// a truncated birth–death solution. `theta == 0` is M/M/c (0 if stable,
/// NaN otherwise); 0 when `lambda == 0`.
pub fn erlang_a_abandon_prob(lambda: f64, mu: f64, c: u32, theta: f64) -> f64 {
    match erlang_a_queue_length(lambda, mu, c, theta) {
        Some(_) if lambda == 0.0 => 0.0,
        Some(lq) => theta * lq / lambda,
        None => f64::NAN,
    }
}

/// Erlang A mean wait over all arrivals (served or abandoning), `L_q / lambda`.
pub fn erlang_a_mean_wait(lambda: f64, mu: f64, c: u32, theta: f64) -> f64 {
    match erlang_a_queue_length(lambda, mu, c, theta) {
        Some(_) if lambda == 0.0 => 0.0,
        Some(lq) => lq / lambda,
        None => f64::NAN,
    }
}

/// M/M/c+D: probability that an arrival abandons when each waiting customer
/// leaves after exactly `d` seconds without service (FCFS).
///
/// Derivation (agrees with Baccelli & Hebuterne 1981 and the M/M/n+G
/// formulas of Mandelbaum & Zeltyn with `G` a point mass at `d`): while all
/// servers are busy let `Z` be the age of the head-of-line customer. Later
/// arrivals are younger, hence all still waiting, and form a Poisson stream
/// behind it, so `Z` grows at unit speed and, at a service completion (rate
/// `c mu`) or on reaching `d` (abandonment), drops by an `Exp(lambda)` gap
/// (to "queue empty" if the gap exceeds `Z`). Level crossing gives
/// `f(z) = c mu ∫_z^d f(y) e^{-lambda (y-z)} dy + f(d) e^{-lambda (d-z)}`,
/// solved by `f(z) = lambda p_c e^{g z}`, `g = lambda - c mu`, where
/// `p_n = p_0 a^n / n!` (`n <= c`; `p_c` = all busy, queue empty).
/// Abandonments happen at rate `f(d)`, so `P(ab) = f(d) / lambda = p_c e^{g d}`;
/// normalising `sum_{n<=c} p_n + ∫_0^d f = 1` with `B` = Erlang B(c, a):
///
/// `P(ab) = B e^{g d} / (1 + B lambda (e^{g d} - 1) / g)`, `(e^{gd}-1)/g -> d` at `g = 0`.
///
/// `d = 0` gives Erlang B; `d = inf` gives 0 if `g <= 0`, else `1 - c mu / lambda`.
pub fn mmc_deterministic_patience_abandon_prob(lambda: f64, mu: f64, c: u32, d: f64) -> f64 {
    if !valid_rates(lambda, mu, c) || d.is_nan() || d < 0.0 {
        return f64::NAN;
    }
    if lambda == 0.0 {
        return 0.0;
    }
    let b = erlang_b(c, lambda / mu);
    let g = lambda - f64::from(c) * mu;
    if g > 0.0 {
        // Divided through by e^{g d} so that large `g d` cannot overflow.
        b / ((-g * d).exp() - b * lambda * (-g * d).exp_m1() / g)
    } else if g == 0.0 {
        b / (1.0 + b * lambda * d)
    } else {
        b * (g * d).exp() / (1.0 + b * lambda * (g * d).exp_m1() / g)
    }
}

/// Non-negative finite weights scaled to sum to 1 (`None` if invalid or all zero).
fn normalise(weights: &[f64]) -> Option<Vec<f64>> {
    let total: f64 = weights.iter().sum();
    let ok = weights.iter().all(|&w| nonneg(w)) && total > 0.0 && total.is_finite();
    ok.then(|| weights.iter().map(|w| w / total).collect())
}

/// Che's approximation of the LRU hit ratio for independent requests with
/// popularity `popularity` (normalised here) and room for `capacity` items:
/// solve `sum_i (1 - e^{-p_i T}) = capacity` for the characteristic time
/// `T` (doubling, then bisection) and return `sum_i p_i (1 - e^{-p_i T})`.
/// 1 when every item with non-zero popularity fits, 0 for `capacity <= 0`.
pub fn che_lru_hit_ratio(popularity: &[f64], capacity: f64) -> f64 {
    let Some(p) = normalise(popularity) else {
        return f64::NAN;
    };
    let present = p.iter().filter(|&&x| x > 0.0).count() as f64;
    if capacity.is_nan() || capacity <= 0.0 || capacity >= present {
        return if capacity.is_nan() {
            f64::NAN
        } else {
            f64::from(capacity > 0.0)
        };
    }
    let cached = |pi: f64, t: f64| -(-pi * t).exp_m1();
    let occupancy = |t: f64| p.iter().map(|&pi| cached(pi, t)).sum::<f64>();
    let t = bracket_and_bisect(1.0, |t| occupancy(t) < capacity);
    p.iter().map(|&pi| pi * cached(pi, t)).sum()
}

/// Hit ratio of a TTL cache (entries expire `ttl` seconds after insertion,
/// unbounded size) under Poisson requests at `total_rate` split by
/// `popularity`: key `i`, at rate `lambda_i = p_i total_rate`, hits with
/// probability `lambda_i ttl / (1 + lambda_i ttl)` (each miss starts a
/// renewal cycle with `lambda_i ttl` hits on average).
pub fn ttl_hit_ratio(popularity: &[f64], total_rate: f64, ttl: f64) -> f64 {
    match normalise(popularity) {
        Some(p) if nonneg(total_rate) && ttl >= 0.0 => p
            .iter()
            .filter(|&&pi| pi > 0.0)
            .map(|&pi| pi * (1.0 - 1.0 / (1.0 + pi * total_rate * ttl)))
            .sum(),
        _ => f64::NAN,
    }
}

/// Normalised Zipf popularity `p_i ∝ 1 / i^s`, `i = 1..=items` (empty for
/// `items == 0`; entries are NaN unless `s` is finite).
pub fn zipf_popularity(items: usize, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=items).map(|i| (i as f64).powf(-s)).collect();
    let total: f64 = weights.iter().rev().sum(); // smallest first
    weights.into_iter().map(|w| w / total).collect()
}

/// Long-run admitted rate of a token bucket refilled at `bucket_rate`:
/// `min(offered_rate, bucket_rate)` (fluid limit). The burst size only shapes
/// transients and the small loss below this bound under random arrivals;
/// see [`token_bucket_admit_prob_poisson`] for the exact value.
pub fn token_bucket_admitted_rate(offered_rate: f64, bucket_rate: f64) -> f64 {
    if !(offered_rate >= 0.0 && bucket_rate >= 0.0) {
        return f64::NAN;
    }
    offered_rate.min(bucket_rate)
}

/// `P(N >= k)`, `N ~ Poisson(m)`, `m > 0`, for `k = 0..=kmax`: one minus the
/// CDF at or below the mean (no cancellation there), backward tail sums
/// above it, started ~40 standard deviations out.
fn poisson_upper_tails(m: f64, kmax: usize) -> Vec<f64> {
    let top = ((kmax as f64).max(m) + 40.0 * m.sqrt() + 60.0).ceil() as usize;
    let n_top = if m >= kmax as f64 { kmax } else { top };
    let pmf: Vec<f64> = (0..=n_top)
        .scan(0.0, |ln_fact, n| {
            *ln_fact += if n > 0 { (n as f64).ln() } else { 0.0 };
            Some((n as f64 * m.ln() - m - *ln_fact).exp())
        })
        .collect();
    let mut tails = vec![0.0_f64; kmax + 1];
    let (mut below, mut above) = (0.0_f64, 0.0_f64);
    for (k, tail) in tails.iter_mut().enumerate() {
        *tail = (1.0 - below).max(0.0);
        below += pmf[k];
    }
    for k in (0..=n_top).rev() {
        above += pmf[k];
        if k <= kmax && k as f64 > m {
            tails[k] = above;
        }
    }
    tails
}

fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Exact long-run admission probability of a token bucket holding at most
/// `burst` tokens, one token added every `1/bucket_rate` seconds (dropped if
/// full), Poisson arrivals at `offered_rate` each taking a token or being
/// rejected.
///
/// Embedded chain at ticks: `X` = tokens just after a tick (`1..=b`), `N ~
/// Poisson(m)`, `m = offered / bucket_rate`, arrivals per interval; then
/// `X' = min(max(X - N, 0) + 1, b)` and `min(N, X)` are admitted. `X` rises
/// by at most one per step, so the cut equations between `{..=j}` and
/// `{j+1..}`, `pi_j P(N=0) = sum_{i>j} pi_i P(N >= i-j+1)`, solve the chain
/// exactly from the top down (log space, O(b²); power iteration would mix
/// slowly near `m = 1`). Result: `sum_j pi_j E[min(N, j)] / m`, with
/// `E[min(N, j)] = sum_{n=1}^{j} P(N >= n)`.
///
/// This is the ticked bucket; a continuously refilled one differs only in
/// that its refill phase restarts whenever it is full. `burst == 0` gives 0,
/// `offered_rate == 0` gives 1 (the light-load limit).
pub fn token_bucket_admit_prob_poisson(offered_rate: f64, bucket_rate: f64, burst: u32) -> f64 {
    if !(nonneg(offered_rate) && nonneg(bucket_rate) && bucket_rate > 0.0) {
        return f64::NAN;
    }
    if burst == 0 || offered_rate == 0.0 {
        return f64::from(burst > 0);
    }
    let m = offered_rate / bucket_rate;
    let b = burst as usize;
    let tails = poisson_upper_tails(m, b + 1);
    let ln_tails: Vec<f64> = tails.iter().map(|t| t.ln()).collect();
    let mut ln_u = vec![f64::NEG_INFINITY; b + 1]; // ln of unnormalised pi_j
    ln_u[b] = 0.0;
    let mut terms = Vec::with_capacity(b);
    for j in (1..b).rev() {
        terms.clear();
        terms.extend(((j + 1)..=b).map(|i| ln_u[i] + ln_tails[i - j + 1]));
        ln_u[j] = log_sum_exp(&terms) + m; // dividing by P(N=0) = e^{-m}
    }
    let max = ln_u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (mut mass, mut admitted, mut mean_min) = (0.0, 0.0, 0.0);
    for j in 1..=b {
        mean_min += tails[j];
        let w = (ln_u[j] - max).exp();
        mass += w;
        admitted += w * mean_min;
    }
    (admitted / mass / m).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// SplitMix64 uniforms in (0, 1): tiny and deterministic.
    struct Rng(u64);

    impl Rng {
        fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn exp(&mut self, rate: f64) -> f64 {
            -self.uniform().ln() / rate
        }
    }

    /// Per-batch event fractions over 50 batches of arrivals. Batches of
    /// 20 000+ customers are far longer than the correlation time of these
    /// small systems, so batch means are near-independent and give an honest
    /// standard error.
    struct Batches {
        per: u64,
        arrivals: u64,
        events: u64,
        ratios: Vec<f64>,
    }

    impl Batches {
        fn new(total_arrivals: u64) -> Self {
            let per = total_arrivals / 50;
            Batches {
                per,
                arrivals: 0,
                events: 0,
                ratios: Vec::new(),
            }
        }

        fn running(&self) -> bool {
            self.ratios.len() < 50
        }

        fn arrival(&mut self) {
            self.arrivals += 1;
            if self.arrivals == self.per {
                self.ratios.push(self.events as f64 / self.arrivals as f64);
                (self.arrivals, self.events) = (0, 0);
            }
        }

        /// Within 5 standard errors (a false alarm is a ~1e-6 event, and the
        /// seed is fixed), with the SE small enough for that to be sharp.
        fn assert_matches(&self, exact: f64, max_se: f64) {
            let n = self.ratios.len() as f64;
            let mean = self.ratios.iter().sum::<f64>() / n;
            let var = self.ratios.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            assert!(se < max_se, "Monte Carlo too noisy: se {se}");
            assert!((mean - exact).abs() < 5.0 * se, "mc {mean} ± {se} vs {exact}");
        }
    }

    /// Relative closeness, absolute for |expected| < 1.
    fn check(got: f64, expected: f64, tol: f64) {
        let ok = (got - expected).abs() <= tol * expected.abs().max(1.0);
        assert!(ok, "{got} vs {expected} (tol {tol})");
    }

    #[test]
    fn erlang_reference_values() {
        // Published 8-digit table value; the recursion is exact to ~1e-15.
        check(erlang_b(10, 5.0), 0.018_384_57, 5e-9);
        // C(2, 1) = 1/3 by hand: p0 = 1/3, P(wait) = p2 / (1 - rho) = 1/3.
        check(erlang_c(2, 1.0), 1.0 / 3.0, 1e-14);
        assert!(erlang_c(2, 2.0).is_nan() && erlang_c(0, 0.5).is_nan());
        assert_eq!(erlang_b(3, 0.0), 0.0);
        // M/M/8, rho = 0.85: direct Erlang C sum vs C = B / (1 - rho (1 - B)).
        // Both exact, so they agree to rounding (1e-12); the pinned value is
        // from exact rational arithmetic (0.572568933014920...).
        let a = 6.8_f64;
        let terms: Vec<f64> = (0..8)
            .map(|n| a.powi(n) / f64::from((1..=n).product::<i32>()))
            .collect();
        let top = terms[7] * a / 8.0 / (1.0 - 0.85);
        let b = erlang_b(8, a);
        let pw = erlang_c(8, a);
        check(pw, top / (terms.iter().sum::<f64>() + top), 1e-12);
        check(pw, b / (1.0 - 0.85 * (1.0 - b)), 1e-12);
        check(pw, 0.572_568_933_015, 1e-12);
        check(mmc_mean_wait(a, 1.0, 8), pw / 1.2, 1e-14);
    }

    #[test]
    fn mm1_reductions() {
        let (lambda, mu) = (0.6, 1.5);
        let (rho, gap) = (lambda / mu, mu - lambda);
        check(erlang_c(1, rho), rho, 1e-14);
        check(mmc_mean_wait(lambda, mu, 1), rho / gap, 1e-14);
        check(mmc_mean_sojourn(lambda, mu, 1), 1.0 / gap, 1e-14);
        check(mm1_ps_mean_sojourn(lambda, mu), 1.0 / gap, 1e-14);
        let ps = mm1_ps_conditional_sojourn(lambda, mu, 2.0);
        check(ps, 2.0 / (1.0 - rho), 1e-14);
        // The M/M/1 sojourn is Exp(mu - lambda): exact to rounding.
        for t in [0.1_f64, 1.0, 5.0] {
            let exact = -(-gap * t).exp_m1();
            check(mmc_sojourn_cdf(lambda, mu, 1, t), exact, 1e-14);
        }
        for p in [0.5, 0.9, 0.999] {
            // Bisection stops at 1e-12 relative width.
            let q = mm1_sojourn_quantile(lambda, mu, p);
            check(mmc_sojourn_quantile(lambda, mu, 1, p), q, 1e-11);
        }
        assert!(mm1_sojourn_quantile(1.0, 1.0, 0.5).is_nan());
        // Pollaczek–Khinchine: scv = 1 is M/M/1; M/D/1 waits half as long.
        check(mg1_mean_wait(0.5, 1.0, 1.0), 1.0, 1e-14);
        check(md1_mean_wait(0.5, 1.0), 0.5, 1e-14);
        assert!(mg1_mean_wait(1.0, 1.0, 1.0).is_nan());
    }

    #[test]
    fn wait_and_sojourn_distributions() {
        let (lambda, mu, c) = (6.8, 1.0, 8);
        let pw = erlang_c(c, lambda / mu);
        assert_eq!(mmc_wait_quantile(lambda, mu, c, 1.0 - pw - 1e-9), 0.0);
        assert!(mmc_wait_quantile(lambda, mu, c, 1.5).is_nan());
        for p in [0.5, 0.9, 0.99] {
            // Closed forms inverting each other: rounding-level agreement.
            let q = mmc_wait_quantile(lambda, mu, c, p);
            check(mmc_wait_cdf(lambda, mu, c, q), p, 1e-12);
            // Bisection to 1e-12 relative in t; the CDF slope is O(1).
            let q = mmc_sojourn_quantile(lambda, mu, c, p);
            check(mmc_sojourn_cdf(lambda, mu, c, q), p, 1e-10);
        }
        let cdf: Vec<f64> = (1..400)
            .map(|i| mmc_sojourn_cdf(lambda, mu, c, f64::from(i) * 0.1))
            .collect();
        assert!(cdf.windows(2).all(|w| w[0] <= w[1]) && cdf[398] > 1.0 - 1e-12);
        // c mu - lambda == mu: Erlang-2 limit, continuous across it.
        let pw = erlang_c(2, 1.0);
        for t in [0.3_f64, 1.0, 4.0] {
            let limit = 1.0 - (-t).exp() * (1.0 + pw * t);
            check(mmc_sojourn_cdf(1.0, 1.0, 2, t), limit, 1e-14);
            // A 1e-7 change of lambda moves the CDF by O(1e-7).
            check(mmc_sojourn_cdf(1.0 + 1e-7, 1.0, 2, t), limit, 1e-6);
        }
    }

    #[test]
    fn mmck_against_erlang_b_and_mmc() {
        // K = c is the loss system: the same number up to rounding.
        check(mmck_blocking(5.0, 1.0, 10, 10), erlang_b(10, 5.0), 1e-12);
        // c = 1 closed form (1 - rho) rho^K / (1 - rho^{K+1}).
        let rho = 0.9_f64;
        let exact = (1.0 - rho) * rho.powi(20) / (1.0 - rho.powi(21));
        check(mmck_blocking(0.9, 1.0, 1, 20), exact, 1e-12);
        // K - c = 3992 at rho 0.85: truncated mass ~1e-282, so equal to M/M/c.
        let (lambda, mu, c) = (6.8, 1.0, 8);
        let w = mmc_mean_sojourn(lambda, mu, c);
        check(mmck_mean_in_system(lambda, mu, c, 4000), lambda * w, 1e-10);
        check(mmck_mean_sojourn(lambda, mu, c, 4000), w, 1e-10);
        assert!(mmck_blocking(lambda, mu, c, 4000) < 1e-200);
        // Overloaded but finite: blocking -> 1 - c mu / lambda, no overflow.
        check(mmck_blocking(20.0, 1.0, 8, 5000), 0.6, 1e-12);
        assert!(mmck_blocking(1.0, 1.0, 4, 3).is_nan());
    }

    #[test]
    fn erlang_a_limits_and_monte_carlo() {
        // theta == mu turns the chain into M/M/inf: N ~ Poisson(a), so
        // P(ab) = theta E[(N-c)^+] / lambda independently (to rounding).
        let (lambda, mu, c) = (4.0_f64, 1.0, 3);
        let pmf = (1..200u32).scan((-lambda).exp(), |p, n| {
            *p *= lambda / f64::from(n);
            Some(f64::from(n.saturating_sub(c)) * *p)
        });
        let exact = pmf.sum::<f64>() / lambda;
        check(erlang_a_abandon_prob(lambda, mu, c, mu), exact, 1e-12);
        // theta -> 0 on a stable system: no abandonment and Erlang C waits;
        // the O(theta E[W^2]) perturbation is ~1e-6 relative at theta 1e-6.
        let wq = mmc_mean_wait(2.5, mu, c);
        assert!(erlang_a_abandon_prob(2.5, mu, c, 1e-6) < 1e-5);
        check(erlang_a_mean_wait(2.5, mu, c, 1e-6), wq, 1e-4);
        check(erlang_a_mean_wait(2.5, mu, c, 0.0), wq, 1e-12);
        assert!(erlang_a_abandon_prob(3.5, mu, c, 0.0).is_nan());
        // Overloaded case vs the CTMC's jump chain (counting events per
        // arrival needs no clock), 2e6 arrivals: se ~7e-4, require < 2e-3.
        let (lambda, theta) = (3.5, 0.5);
        let (mut rng, mut n, mut batches) = (Rng(7), 0u32, Batches::new(2_000_000));
        while batches.running() {
            let serve = f64::from(n.min(c)) * mu;
            let u = rng.uniform() * (lambda + serve + f64::from(n.saturating_sub(c)) * theta);
            if u < lambda {
                n += 1;
                batches.arrival();
            } else {
                batches.events += u64::from(u >= lambda + serve);
                n -= 1;
            }
        }
        batches.assert_matches(erlang_a_abandon_prob(lambda, mu, c, theta), 2e-3);
    }

    #[test]
    fn deterministic_patience_limits_and_monte_carlo() {
        let f = mmc_deterministic_patience_abandon_prob;
        // d = 0 is the loss system; d = inf is M/M/c (0) or the overload loss.
        check(f(5.0, 1.0, 10, 0.0), erlang_b(10, 5.0), 1e-14);
        assert_eq!(f(3.0, 1.0, 4, f64::INFINITY), 0.0);
        check(f(5.0, 1.0, 4, f64::INFINITY), 0.2, 1e-14);
        // Continuity through g = lambda - c mu = 0 (slope is O(1)).
        check(f(4.0 + 1e-9, 1.0, 4, 0.5), f(4.0, 1.0, 4, 0.5), 1e-8);
        check(f(4.0 - 1e-9, 1.0, 4, 0.5), f(4.0, 1.0, 4, 0.5), 1e-8);
        // Under-, critically and over-loaded vs an event-driven simulation
        // with a real queue and deadlines (no balking shortcut; exponential
        // service lets the next completion be redrawn at each event).
        // 1e6 arrivals: se ~5e-4, require < 1e-3.
        for (lambda, c, d) in [(1.6, 2, 1.0), (4.0, 4, 0.5), (5.0, 4, 0.5)] {
            let (mut rng, mut batches) = (Rng(11), Batches::new(1_000_000));
            let (mut queue, mut busy, mut t) = (VecDeque::new(), 0u32, 0.0);
            let mut next_arrival = rng.exp(lambda);
            while batches.running() {
                let service = t + rng.exp(f64::from(busy)); // +inf when idle
                let deadline = queue.front().map_or(f64::INFINITY, |a| a + d);
                if next_arrival <= service.min(deadline) {
                    t = next_arrival;
                    if busy < c {
                        busy += 1;
                    } else {
                        queue.push_back(t);
                    }
                    next_arrival = t + rng.exp(lambda);
                    batches.arrival();
                } else if service <= deadline {
                    t = service;
                    busy -= u32::from(queue.pop_front().is_none());
                } else {
                    t = deadline;
                    queue.pop_front();
                    batches.events += 1;
                }
            }
            batches.assert_matches(f(lambda, 1.0, c, d), 1e-3);
        }
    }

    #[test]
    fn caches_and_zipf() {
        let zipf = zipf_popularity(100_000, 0.8);
        check(zipf.iter().sum::<f64>(), 1.0, 1e-12);
        check(zipf[0] / zipf[9], 10f64.powf(0.8), 1e-12);
        assert!(zipf_popularity(0, 1.0).is_empty());
        assert_eq!(che_lru_hit_ratio(&zipf_popularity(50, 1.0), 50.0), 1.0);
        // Uniform popularity: the root gives occupancy = capacity, so the
        // hit ratio is capacity / items up to the 1e-12 bisection width.
        check(che_lru_hit_ratio(&[1.0; 1000], 250.0), 0.25, 1e-9);
        // Skewed, 1e5 items: above the uniform value and monotone in capacity.
        let (h1, h2) = (che_lru_hit_ratio(&zipf, 1000.0), che_lru_hit_ratio(&zipf, 10_000.0));
        assert!(0.01 < h1 && h1 < h2 && h2 < 1.0, "{h1} {h2}");
        assert!(che_lru_hit_ratio(&[1.0, -1.0], 1.0).is_nan());
        // TTL by hand: rate 2, ttl 3 -> 6/7; two keys -> 0.75 (3/4) + 0.25 (1/2).
        check(ttl_hit_ratio(&[1.0], 2.0, 3.0), 6.0 / 7.0, 1e-14);
        let two = ttl_hit_ratio(&[3.0, 1.0], 4.0, 1.0);
        check(two, 0.75 * 0.75 + 0.25 * 0.5, 1e-14);
        assert_eq!(ttl_hit_ratio(&zipf, 100.0, 0.0), 0.0);
    }

    #[test]
    fn token_bucket_exact_vs_monte_carlo() {
        assert_eq!(token_bucket_admitted_rate(5.0, 3.0), 3.0);
        assert_eq!(token_bucket_admitted_rate(2.0, 3.0), 2.0);
        // burst 1: admitted iff the tick interval has >= 1 arrival (exact).
        check(
            token_bucket_admit_prob_poisson(0.7, 1.0, 1),
            -(-0.7_f64).exp_m1() / 0.7,
            1e-14,
        );
        // Heavy overload admits bucket_rate / offered; light load admits all.
        check(token_bucket_admit_prob_poisson(1000.0, 1.0, 5), 1e-3, 1e-9);
        assert!(token_bucket_admit_prob_poisson(0.01, 1.0, 20) > 1.0 - 1e-12);
        let big = token_bucket_admit_prob_poisson(1.0, 1.0, 2000);
        assert!(0.9 < big && big < 1.0, "{big}");
        // Ticked-bucket simulation, 1e6 arrivals: se ~6e-4, require < 1e-3.
        for (offered, rate, burst) in [(1.0, 1.1, 5), (2.0, 1.0, 3), (0.9, 1.0, 1), (1.0, 1.0, 10)] {
            let exact = token_bucket_admit_prob_poisson(offered, rate, burst);
            assert!(exact * offered <= token_bucket_admitted_rate(offered, rate) + 1e-12);
            let (mut rng, mut batches) = (Rng(3), Batches::new(1_000_000));
            let (mut t, mut ticks, mut tokens) = (0.0, 1u64, burst);
            while batches.running() {
                t += rng.exp(offered);
                // Tick times from the count, so the grid does not drift.
                while ticks as f64 / rate <= t {
                    (tokens, ticks) = ((tokens + 1).min(burst), ticks + 1);
                }
                batches.events += u64::from(tokens > 0);
                tokens = tokens.saturating_sub(1);
                batches.arrival();
            }
            batches.assert_matches(exact, 1e-3);
        }
    }
}
