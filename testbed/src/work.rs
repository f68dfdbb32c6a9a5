//! CPU work: a demand drawn from a configured distribution and done as
//! computation (an integer mixing loop), not a sleep. The demand is in CPU
//! seconds of the thread that runs it (`CLOCK_THREAD_CPUTIME_ID`), so a
//! request preempted by PostgreSQL or another worker still does all of its
//! work and its logged CPU time is what it used, not how long it took.

use rand::RngExt;
use rand_distr::Distribution;

/// The distribution of a request's CPU demand.
#[derive(Clone, Debug, PartialEq)]
pub enum CpuDist {
    Constant(f64),
    Exponential(f64),
    /// mean, coefficient of variation
    Lognormal(f64, f64),
}

impl CpuDist {
    /// `const:2ms`, `exp:2ms` or `lognormal:2ms:0.8` (mean and CV).
    pub fn parse(s: &str) -> Result<CpuDist, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let d = |x: &str| crate::parse_duration(x);
        match parts.as_slice() {
            ["const", m] => Ok(CpuDist::Constant(d(m)?)),
            ["exp", m] => Ok(CpuDist::Exponential(d(m)?)),
            ["lognormal", m, cv] => {
                let cv: f64 = cv.parse().map_err(|_| format!("`{cv}` is not a CV"))?;
                if !(cv > 0.0 && cv.is_finite()) {
                    return Err("a lognormal's CV must be > 0".into());
                }
                Ok(CpuDist::Lognormal(d(m)?, cv))
            }
            _ => Err(format!(
                "`{s}`: a CPU distribution is const:MEAN, exp:MEAN or lognormal:MEAN:CV (e.g. exp:2ms)"
            )),
        }
    }

    pub fn mean(&self) -> f64 {
        match *self {
            CpuDist::Constant(m) | CpuDist::Exponential(m) | CpuDist::Lognormal(m, _) => m,
        }
    }

    /// One demand, in seconds.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            CpuDist::Constant(m) => m,
            CpuDist::Exponential(m) => {
                let e: f64 = rand_distr::Exp1.sample(rng);
                m * e
            }
            CpuDist::Lognormal(m, cv) => {
                let s2 = (1.0 + cv * cv).ln();
                let mu = m.ln() - s2 / 2.0;
                let z: f64 = rand_distr::StandardNormal.sample(rng);
                (mu + s2.sqrt() * z).exp()
            }
        }
    }
}

/// CPU seconds used by the calling thread so far.
pub fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec we own; the clock id is a
    // constant Linux supports for every thread.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU seconds used by the whole process so far (user + system), for
/// `process_cpu_seconds_total`.
pub fn process_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: as above, for the process clock.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Compute until this thread has used `demand_s` more CPU seconds; returns
/// the CPU seconds actually used (a little more: the loop checks the clock
/// every few microseconds).
pub fn burn(demand_s: f64) -> f64 {
    let start = thread_cpu_s();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ (demand_s.to_bits());
    loop {
        for _ in 0..256 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x ^= x >> 29;
        }
        std::hint::black_box(x);
        let used = thread_cpu_s() - start;
        if used >= demand_s {
            return used;
        }
    }
}

/// A random key in 1..=items: uniform (`zipf` = 0) or Zipf(`zipf`).
pub struct KeyChooser {
    items: u64,
    zipf: Option<rand_distr::Zipf<f64>>,
}

impl KeyChooser {
    pub fn new(items: u64, zipf: f64) -> Result<Self, String> {
        if items == 0 {
            return Err("keys: items must be ≥ 1".into());
        }
        let zipf = if zipf > 0.0 {
            Some(rand_distr::Zipf::new(items as f64, zipf).map_err(|e| format!("zipf: {e}"))?)
        } else {
            None
        };
        Ok(KeyChooser { items, zipf })
    }

    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match &self.zipf {
            Some(z) => (z.sample(rng) as u64).clamp(1, self.items),
            None => rng.random_range(1..=self.items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn burn_uses_the_demand_in_cpu_time() {
        let used = burn(0.005);
        assert!((0.005..0.0075).contains(&used), "used {used}");
    }

    #[test]
    fn sampled_means() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for d in [
            CpuDist::parse("exp:2ms").unwrap(),
            CpuDist::parse("lognormal:2ms:0.8").unwrap(),
        ] {
            let n = 200_000;
            let m: f64 = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64;
            // Standard error of the mean ≤ 2 ms / √200000 ≈ 4.5 µs: 1 % is > 4 SE.
            assert!((m - 0.002).abs() < 0.00002, "{d:?}: {m}");
        }
        assert!(CpuDist::parse("gamma:1ms").is_err());
    }

    #[test]
    fn keys_stay_in_range() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let k = KeyChooser::new(100, 0.9).unwrap();
        assert!((0..10_000).map(|_| k.sample(&mut rng)).all(|x| (1..=100).contains(&x)));
    }
}
