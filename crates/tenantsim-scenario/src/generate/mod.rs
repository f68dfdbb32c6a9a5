//! Random valid scenarios for property tests and `tenantsim gen-scenario`
//! (hidden): a seed picks tiers, workloads of every arrival process,
//! endpoints (stages included), instances, a pool and database with read
//! replicas (and per-endpoint `db_route`), L1/L2/L3 caches, rate limiters
//! (`[[rate_limit]]`: every algorithm, keyed by tenant / ip / endpoint,
//! local full or divided, or shared through a `[rate_limit_store]`, with
//! workload `clients`), long-lived sessions (`[sessions]`: caps, memory,
//! messages, handshakes, placement, reconnect backoff; per-workload
//! `sessions`), retries, breakers, shedding, memory pressure (with
//! `prune-connections` and `emergency-gc`), background work and pauses,
//! an autoscaler and faults, all with small horizons (tens of simulated
//! seconds), so hundreds run in a debug build in seconds.
//!
//! What it owns: producing TOML text that [`crate::from_str`]
//! accepts, and the facts a checker needs that the text does not make easy
//! to recover ([`Generated::latency_floor_s`]). It must not produce an
//! invalid scenario: a rejected one is a generator bug (the property tests
//! fail on it).
//!
//! Shape: [`SECTIONS`] is an ordered list of `(name, fn)`; each section
//! reads the decisions earlier sections recorded in [`Draft`] (is there a
//! database? an L2? which endpoints?) and appends its TOML. A new scenario
//! section (sessions, rate limiters, read replicas, an L3 cache, ...) is one
//! function and one line in [`SECTIONS`], placed after the sections it
//! depends on; it draws from the same [`Draft::rng`], so adding it changes
//! the scenarios later seeds produce but never makes one invalid. Keys a
//! later family puts in an earlier table (a workload's `sessions` and
//! `clients`, an endpoint's `db_route`) are decided by that family's
//! section, placed before the table's, and written by the table's
//! section from the [`Draft`] flags (`has_sessions`, `needs_clients`,
//! `has_replicas`) through the family's helper ([`workload_sessions`],
//! [`workload_clients`]).

use rand::{RngExt, SeedableRng};
use std::fmt::Write as _;
use std::path::PathBuf;
use tenantsim_engine::SimRng;

/// What the generator may use from outside.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A trace CSV (`time_s`, `tenant`, `endpoint` = `api`) a `trace`
    /// arrival may point at; None leaves that process out.
    pub trace_file: Option<PathBuf>,
}

/// A generated scenario.
#[derive(Clone, Debug)]
pub struct Generated {
    pub seed: u64,
    pub toml: String,
    /// No completed request can be faster than this (seconds): the
    /// smallest, over endpoints, of the constant parts of its path
    /// (a deterministic CPU demand, constant stage work). 0 when an
    /// endpoint has no constant part.
    pub latency_floor_s: f64,
    /// Names of the sections that added something, in order.
    pub sections: Vec<&'static str>,
}

/// The decisions so far, and the text being built.
pub struct Draft {
    pub rng: SimRng,
    pub opts: Options,
    pub toml: String,
    /// Tier names, and whether each is dedicated.
    pub tiers: Vec<(String, bool)>,
    /// Endpoint names (the first is always `api`, a read).
    pub endpoints: Vec<String>,
    /// Per endpoint, its constant latency floor (s).
    pub floors: Vec<f64>,
    pub has_db: bool,
    pub has_l1: bool,
    pub has_l2: bool,
    /// An `[cache.l3]` (with or without the levels above it).
    pub has_l3: bool,
    pub has_keys: bool,
    /// A `[database.replicas]` table was written (its `count` may be 0).
    pub has_replicas: bool,
    /// Some `[[rate_limit]]` keys by client address: every workload
    /// needs `clients`.
    pub needs_clients: bool,
    /// Some `[[rate_limit]]` exists (`retry_on` may name `rate_limited`).
    pub has_limiters: bool,
    /// A `[sessions]` table was written: the first workload opens sessions.
    pub has_sessions: bool,
    /// A finite closed workload (the run may end early).
    pub finite: bool,
    pub initial_instances: u32,
    /// Simulated seconds.
    pub duration_s: u32,
    /// Section names that wrote something.
    pub used: Vec<&'static str>,
}

impl Draft {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }
    fn int(&mut self, lo: u32, hi: u32) -> u32 {
        self.rng.random_range(lo..=hi)
    }
    fn real(&mut self, lo: f64, hi: f64) -> f64 {
        // Rounded so the TOML stays readable and round-trips exactly.
        let x = lo + (hi - lo) * self.rng.random::<f64>();
        (x * 1000.0).round() / 1000.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.random_range(0..xs.len())]
    }
    /// A duration in milliseconds as a TOML string.
    fn ms(&mut self, lo: u32, hi: u32) -> String {
        format!("\"{}ms\"", self.int(lo, hi))
    }
    /// A random distribution with a mean near `mean_ms`; returns the TOML
    /// and its constant value in seconds when it is deterministic.
    fn dist(&mut self, mean_ms: f64) -> (String, f64) {
        let m = (mean_ms * 1000.0).round() / 1000.0;
        match self.int(0, 7) {
            0 => (format!("\"{m}ms\""), m / 1000.0),
            1 => (format!("{{ dist = \"deterministic\", value = \"{m}ms\" }}"), m / 1000.0),
            2 => (
                format!(
                    "{{ dist = \"lognormal\", mean = \"{m}ms\", cv = {} }}",
                    self.real(0.2, 2.0)
                ),
                0.0,
            ),
            3 => (
                format!("{{ dist = \"gamma\", mean = \"{m}ms\", cv = {} }}", self.real(0.3, 1.5)),
                0.0,
            ),
            4 => (
                format!(
                    "{{ dist = \"weibull\", shape = {}, mean = \"{m}ms\" }}",
                    self.real(0.7, 3.0)
                ),
                0.0,
            ),
            5 => (
                format!(
                    "{{ dist = \"pareto\", alpha = {}, mean = \"{m}ms\" }}",
                    self.real(2.1, 4.0)
                ),
                0.0,
            ),
            6 => (
                format!(
                    "{{ dist = \"uniform\", min = \"{}ms\", max = \"{}ms\" }}",
                    (m / 2.0).max(0.001),
                    m * 1.5
                ),
                0.0,
            ),
            _ => (
                format!(
                    "{{ dist = \"empirical\", values = [\"{}ms\", \"{m}ms\", \"{}ms\"] }}",
                    m / 2.0,
                    m * 2.0
                ),
                0.0,
            ),
        }
    }
    fn line(&mut self, s: impl AsRef<str>) {
        self.toml.push_str(s.as_ref());
        self.toml.push('\n');
    }
}

/// Append a formatted line to the draft (arguments may draw from it).
macro_rules! w {
    ($d:expr, $($arg:tt)*) => {{
        let line = format!($($arg)*);
        $d.line(line);
    }};
}

// The sections (after `w!`, which they use).
mod load;
mod operations;
mod service;

use load::*;
use operations::*;
use service::*;

/// A section of the scenario: reads and extends the draft.
pub type Section = fn(&mut Draft);

/// Every section, in the order they are written. Add new ones here (after
/// the sections whose decisions they read).
pub const SECTIONS: &[(&str, Section)] = &[
    ("simulation", simulation),
    ("tiers", tiers),
    ("data", data),
    ("replicas", replicas),
    ("cache", cache),
    ("l3", l3),
    ("endpoints", endpoints),
    ("rate_limits", rate_limits),
    ("sessions", sessions),
    ("workloads", workloads),
    ("instance", instance),
    ("retry", retry),
    ("breakers", breakers),
    ("shedding", shedding),
    ("memory", memory),
    ("background", background),
    ("autoscaler", autoscaler),
    ("faults", faults),
];

/// The scenario of `seed`.
pub fn generate(seed: u64, opts: &Options) -> Generated {
    let mut d = Draft {
        rng: SimRng::seed_from_u64(seed ^ 0x5ce7_a210_6e7e_ae7e),
        opts: opts.clone(),
        toml: String::new(),
        tiers: Vec::new(),
        endpoints: Vec::new(),
        floors: Vec::new(),
        has_db: false,
        has_l1: false,
        has_l2: false,
        has_l3: false,
        has_keys: false,
        has_replicas: false,
        needs_clients: false,
        has_limiters: false,
        has_sessions: false,
        finite: false,
        initial_instances: 1,
        duration_s: 10,
        used: Vec::new(),
    };
    let _ = writeln!(d.toml, "# generated by `tenantsim gen-scenario --seed {seed}`");
    let _ = writeln!(d.toml, "name = \"gen-{seed}\"");
    for &(name, section) in SECTIONS {
        let before = d.toml.len();
        section(&mut d);
        if d.toml.len() > before {
            d.used.push(name);
        }
    }
    let latency_floor_s = d.floors.iter().copied().fold(f64::INFINITY, f64::min);
    Generated {
        seed,
        toml: d.toml,
        latency_floor_s: if latency_floor_s.is_finite() {
            latency_floor_s
        } else {
            0.0
        },
        sections: d.used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn same_seed_same_text_and_every_seed_valid() {
        for seed in 0..200 {
            let a = generate(seed, &Options::default());
            assert_eq!(a.toml, generate(seed, &Options::default()).toml);
            if let Err(e) = crate::from_str(Path::new("gen.toml"), &a.toml, &[]) {
                panic!("seed {seed}: {e}\n{}", a.toml);
            }
        }
    }

    #[test]
    fn the_sections_are_all_reached() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            seen.extend(generate(seed, &Options::default()).sections);
        }
        for (name, _) in SECTIONS {
            assert!(seen.contains(name), "section {name} never used in 200 seeds");
        }
    }
}
