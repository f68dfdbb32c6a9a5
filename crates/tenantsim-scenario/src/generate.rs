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

fn simulation(d: &mut Draft) {
    let duration = d.int(10, 30);
    d.duration_s = duration;
    let warmup = d.int(0, 3);
    let seed = d.int(0, 10_000);
    let sample = d.pick(&["1s", "2s", "5s"]);
    d.line("[simulation]");
    w!(d, "duration = \"{duration}s\"");
    w!(d, "warmup = \"{warmup}s\"");
    w!(d, "seed = {seed}");
    d.line("replications = 1");
    w!(d, "sample_interval = \"{sample}\"");
}

fn tiers(d: &mut Draft) {
    let n = d.int(1, 3);
    for i in 0..n {
        let name = format!("t{i}");
        d.line("[[tier]]");
        w!(d, "name = \"{name}\"");
        if d.chance(0.4) {
            let rate = d.real(2.0, 50.0);
            let burst = d.int(1, 20);
            w!(d, "rate_limit = {{ rate_per_s = {rate}, burst = {burst} }}");
        }
        if d.chance(0.4) {
            let c = d.int(1, 8);
            w!(d, "max_concurrency = {c}");
        }
        if d.chance(0.4) {
            let c = d.int(1, 4);
            w!(d, "max_connections = {c}");
        }
        if d.chance(0.3) {
            let q = d.ms(20, 300);
            w!(d, "query_timeout = {q}");
        }
        if d.chance(0.2) {
            let m = d.int(2, 40);
            w!(d, "memory_mb = {m}");
        }
        let p = d.int(0, 2);
        w!(d, "priority = {p}");
        // The last tier of several may be hybrid or dedicated; at least one
        // tier stays on the shared instances.
        let isolation = if i > 0 && i == n - 1 {
            d.pick(&["shared", "hybrid", "dedicated"])
        } else {
            "shared"
        };
        w!(d, "isolation = \"{isolation}\"");
        let dedicated = isolation == "dedicated";
        if dedicated {
            let k = d.int(1, 2);
            w!(d, "instances = {k}");
        }
        d.tiers.push((name, dedicated));
    }
}

fn data(d: &mut Draft) {
    if !d.chance(0.6) {
        return;
    }
    d.has_db = true;
    d.line("[pool]");
    let dynamic = d.chance(0.25);
    if dynamic {
        let min = d.int(0, 3);
        let max = min + d.int(1, 6);
        w!(d, "min = {min}");
        w!(d, "max = {max}");
        let idle = d.ms(100, 3000);
        w!(d, "idle_timeout = {idle}");
    } else {
        let size = d.int(1, 8);
        let overflow = d.int(0, 4);
        w!(d, "size = {size}");
        w!(d, "overflow = {overflow}");
    }
    let t = d.ms(20, 2000);
    w!(d, "timeout = {t}");
    if d.chance(0.3) {
        let r = d.int(1, 10);
        w!(d, "recycle = \"{r}s\"");
    }
    let c = d.ms(0, 20);
    w!(d, "connect_time = {c}");
    let scope = d.pick(&["instance", "shared"]);
    w!(d, "scope = \"{scope}\"");
    d.line("[database]");
    let cores = d.int(1, 8);
    let conns = d.int(3, 60);
    w!(d, "cores = {cores}");
    w!(d, "max_connections = {conns}");
}

/// `[database.replicas]` (reads move to them; `db_route` per endpoint is
/// drawn in [`endpoints`]). `count = 0` is valid and means none.
fn replicas(d: &mut Draft) {
    if !(d.has_db && d.chance(0.35)) {
        return;
    }
    d.has_replicas = true;
    d.line("[database.replicas]");
    w!(d, "count = {}", d.int(0, 3));
    if d.chance(0.7) {
        let r = d.pick(&["round-robin", "least-connections"]);
        w!(d, "routing = \"{r}\"");
    }
    if d.chance(0.5) {
        w!(d, "cores = {}", d.int(1, 4));
    }
    if d.chance(0.6) {
        w!(d, "max_connections = {}", d.int(1, 30));
    }
    if d.chance(0.5) {
        w!(d, "query_factor = {}", d.real(0.3, 2.0));
    }
}

fn cache(d: &mut Draft) {
    d.has_l1 = d.chance(0.45);
    d.has_l2 = d.chance(0.4);
    if !(d.has_l1 || d.has_l2) {
        return;
    }
    d.line("[cache]");
    let wp = d.pick(&["cache-aside", "write-through", "write-behind"]);
    // Write-behind flushes need a database to flush to.
    let wp = if wp == "write-behind" && !d.has_db {
        "cache-aside"
    } else {
        wp
    };
    w!(d, "write_policy = \"{wp}\"");
    if d.has_l1 {
        d.line("[cache.l1]");
        let policy = d.pick(&["lru", "fifo", "lfu", "none"]);
        if policy != "none" {
            let c = d.int(1, 200);
            w!(d, "capacity = {c}");
        }
        w!(d, "policy = \"{policy}\"");
        if d.chance(0.7) || policy == "none" {
            let t = d.int(1, 20);
            w!(d, "ttl = \"{t}s\"");
        }
        let l = d.int(1, 200);
        w!(d, "latency = \"{l}us\"");
    }
    if d.has_l2 {
        d.line("[cache.l2]");
        let t = d.int(1, 30);
        w!(d, "ttl = \"{t}s\"");
        let (lat, _) = d.dist(0.8);
        w!(d, "latency = {lat}");
    }
}

/// `[cache.l3]`: a slower shared level after the L2, alone or under the
/// others (levels left out are skipped). Without L1/L2 the `[cache]`
/// table (its write policy) is written here.
fn l3(d: &mut Draft) {
    if !d.chance(0.3) {
        return;
    }
    d.has_l3 = true;
    if !(d.has_l1 || d.has_l2) && d.chance(0.5) {
        d.line("[cache]");
        let wp = d.pick(&["cache-aside", "write-through", "write-behind"]);
        let wp = if wp == "write-behind" && !d.has_db {
            "cache-aside"
        } else {
            wp
        };
        w!(d, "write_policy = \"{wp}\"");
    }
    d.line("[cache.l3]");
    let policy = d.pick(&["lru", "fifo", "lfu", "none"]);
    if policy != "none" {
        let c = d.int(1, 500);
        w!(d, "capacity = {c}");
    }
    // Left out, the policy is LRU with a capacity and TTL-only without.
    if d.chance(0.8) || policy == "fifo" || policy == "lfu" {
        w!(d, "policy = \"{policy}\"");
    }
    if d.chance(0.7) || policy == "none" {
        let t = d.int(1, 30);
        w!(d, "ttl = \"{t}s\"");
    }
    let (lat, _) = d.dist(3.0);
    w!(d, "latency = {lat}");
}

fn endpoints(d: &mut Draft) {
    let n = d.int(1, 3);
    for i in 0..n {
        let name = if i == 0 { "api".to_string() } else { format!("e{i}") };
        w!(d, "[endpoint.{name}]");
        let (cpu, mut floor) = d.dist(d_cpu_ms(i));
        let with_stages = d.chance(0.2);
        if !with_stages || d.chance(0.7) {
            w!(d, "cpu = {cpu}");
        } else {
            floor = 0.0;
        }
        if i > 0 && d.chance(0.3) {
            d.line("operation = \"write\"");
        } else if d.has_l1 || d.has_l2 || d.has_l3 {
            d.line("cacheable = true");
        }
        if d.has_db && d.chance(0.7) {
            let q = d.int(1, 3);
            let (query, _) = d.dist(4.0);
            w!(d, "db_queries = {q}");
            w!(d, "query = {query}");
            if d.has_replicas && d.chance(0.4) {
                let route = d.pick(&["replica", "primary"]);
                w!(d, "db_route = \"{route}\"");
            }
        }
        if d.chance(0.4) {
            let t = d.ms(30, 1000);
            w!(d, "timeout = {t}");
        }
        if with_stages {
            for s in 0..d.int(1, 3) {
                w!(d, "[[endpoint.{name}.stage]]");
                w!(d, "name = \"s{s}\"");
                let kind = d.int(0, 2);
                if kind != 1 {
                    let (c, f) = d.dist(1.0);
                    w!(d, "cpu = {c}");
                    floor += f;
                }
                if kind != 0 {
                    let (w, f) = d.dist(3.0);
                    w!(d, "wait = {w}");
                    floor += f;
                }
                if d.chance(0.4) {
                    let p = d.real(0.0, 0.2);
                    w!(d, "fail = {p}");
                }
            }
        }
        d.endpoints.push(name);
        d.floors.push(floor);
    }
}

/// The CPU demand of endpoint `i` (ms): a few milliseconds.
fn d_cpu_ms(i: u32) -> f64 {
    [5.0, 2.0, 10.0][i as usize % 3]
}

/// `[[rate_limit]]` tables beside the tier buckets: each algorithm, keyed
/// by any combination of tenant / ip / endpoint (or global), optionally
/// filtered by endpoints and tiers, with local (full or divided) or shared
/// state; a `[rate_limit_store]` when some state is shared. A limiter per
/// ip makes every workload give `clients` (see [`workload_clients`]).
fn rate_limits(d: &mut Draft) {
    if !d.chance(0.3) {
        return;
    }
    d.has_limiters = true;
    let mut any_shared = false;
    for i in 0..d.int(1, 3) {
        d.line("[[rate_limit]]");
        w!(d, "name = \"rl{i}\"");
        let algorithm = d.pick(&["token-bucket", "fixed-window", "sliding-window"]);
        // Left out, the algorithm is a token bucket.
        if algorithm != "token-bucket" || d.chance(0.7) {
            w!(d, "algorithm = \"{algorithm}\"");
        }
        if algorithm == "token-bucket" {
            w!(d, "rate_per_s = {}", d.real(1.0, 40.0));
            if d.chance(0.8) {
                w!(d, "burst = {}", d.int(1, 20));
            }
        } else {
            w!(d, "limit = {}", d.int(1, 50));
            let window = d.ms(100, 5000);
            w!(d, "window = {window}");
        }
        let dims: Vec<&str> = ["tenant", "ip", "endpoint"]
            .into_iter()
            .filter(|_| d.chance(0.4))
            .collect();
        match (dims.is_empty(), d.chance(0.5)) {
            // Left out, a limiter is per tenant.
            (true, true) => {}
            (true, false) => d.line("per = \"global\""),
            (false, _) => {
                let quoted: Vec<String> = dims.iter().map(|x| format!("\"{x}\"")).collect();
                w!(d, "per = [{}]", quoted.join(", "));
            }
        }
        if dims.contains(&"ip") {
            d.needs_clients = true;
        }
        if d.chance(0.3) {
            let endpoints = d.endpoints.clone();
            let names = subset(d, &endpoints);
            w!(d, "endpoints = [{names}]");
        }
        if d.chance(0.3) {
            let tiers: Vec<String> = d.tiers.iter().map(|t| t.0.clone()).collect();
            let names = subset(d, &tiers);
            w!(d, "tiers = [{names}]");
        }
        if d.chance(0.4) {
            any_shared = true;
            d.line("state = \"shared\"");
        } else {
            match d.int(0, 2) {
                0 => {}
                1 => d.line("state = \"local\"\nlocal_limit = \"full\""),
                _ => d.line("local_limit = \"divided\""),
            }
        }
    }
    if any_shared {
        d.line("[rate_limit_store]");
        let (latency, _) = d.dist(0.5);
        w!(d, "latency = {latency}");
        if d.chance(0.5) {
            w!(d, "ops_per_s = {}", d.real(20.0, 2000.0));
        }
    }
}

/// A non-empty subset of `names`, in order, as quoted TOML list items.
fn subset(d: &mut Draft, names: &[String]) -> String {
    let first = d.rng.random_range(0..names.len());
    let picked: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(k, _)| *k == first || d.chance(0.4))
        .map(|(_, n)| format!("\"{n}\""))
        .collect();
    picked.join(", ")
}

/// A workload's client addresses (for limiters per ip).
fn workload_clients(d: &mut Draft) -> String {
    let addresses = d.int(1, 200);
    let zipf = d.real(0.0, 1.5);
    let shared = d.chance(0.3);
    format!("{{ addresses = {addresses}, zipf = {zipf}, shared = {shared} }}")
}

/// `[sessions]`: long-lived connections with a cap per instance (or none),
/// memory, messages, handshakes, placement and reconnects. The workloads
/// that open them are drawn in [`workloads`] ([`workload_sessions`]); the
/// memory actions for sessions in [`memory`].
fn sessions(d: &mut Draft) {
    if !d.chance(0.3) {
        return;
    }
    d.has_sessions = true;
    d.line("[sessions]");
    if d.chance(0.8) {
        w!(d, "max_per_instance = {}", d.int(1, 100));
    }
    if d.chance(0.6) {
        w!(d, "memory_per_session_mb = {}", d.real(0.0, 2.0));
    }
    if d.chance(0.7) {
        w!(d, "message_rate_per_s = {}", d.real(0.05, 1.0));
        let (cpu, _) = d.dist(1.0);
        w!(d, "message_cpu = {cpu}");
    }
    if d.chance(0.5) {
        let (cpu, _) = d.dist(5.0);
        w!(d, "connect_cpu = {cpu}");
    }
    if d.chance(0.6) {
        let b = d.pick(&["least-sessions", "round-robin"]);
        w!(d, "balancer = \"{b}\"");
    }
    if d.chance(0.5) {
        let mean = d.int(10, 2000) as f64;
        let (delay, _) = d.dist(mean);
        w!(d, "reconnect_delay = {delay}");
    }
    if d.chance(0.6) {
        w!(d, "attempts = {}", d.int(1, 10));
    }
    if d.chance(0.6) {
        let jitter = d.pick(&["none", "full", "equal"]);
        let base = d.int(10, 500);
        w!(
            d,
            "backoff = {{ base = \"{base}ms\", max = \"{}ms\", jitter = \"{jitter}\" }}",
            base * d.int(1, 20)
        );
    }
}

/// A workload's session population: held all run, or opened at random
/// with a drawn lifetime.
fn workload_sessions(d: &mut Draft) -> String {
    if d.chance(0.5) {
        format!("{{ per_tenant = {} }}", d.int(1, 5))
    } else {
        let rate = d.real(0.05, 1.0);
        let mean = d.int(500, 10_000) as f64;
        let (lifetime, _) = d.dist(mean);
        format!("{{ rate_per_s = {rate}, lifetime = {lifetime} }}")
    }
}

fn workloads(d: &mut Draft) {
    let n = d.int(1, 3);
    let mut processes = vec!["poisson", "deterministic", "diurnal", "steps", "mmpp", "closed"];
    if d.opts.trace_file.is_some() {
        processes.push("trace");
    }
    d.has_keys = d.has_l1 || d.has_l2 || d.has_l3 || d.chance(0.3);
    for i in 0..n {
        let tier = d.rng.random_range(0..d.tiers.len());
        let tier = d.tiers[tier].0.clone();
        d.line("[[workload]]");
        w!(d, "name = \"w{i}\"");
        w!(d, "tier = \"{tier}\"");
        let process = d.pick(&processes);
        // The trace names tenants 0-2.
        let tenants = match process {
            "closed" => d.int(1, 4),
            "trace" => d.int(3, 6),
            _ => d.int(1, 30),
        };
        w!(d, "tenants = {tenants}");
        // Per-tenant rates such that the group sends 5-60 req/s.
        let rate = |d: &mut Draft| ((d.real(5.0, 60.0) / tenants as f64) * 1000.0).round() / 1000.0 + 0.001;
        let arrival = match process {
            "poisson" | "deterministic" => format!("{{ process = \"{process}\", rate_per_s = {} }}", rate(d)),
            "diurnal" => {
                let peak = rate(d);
                let period = d.int(5, 30);
                format!(
                    "{{ process = \"diurnal\", peak_rate_per_s = {peak}, trough_rate_per_s = {}, period = \"{period}s\", peak_at = \"{}s\" }}",
                    (peak / 4.0 * 1000.0).round() / 1000.0,
                    d.int(0, period - 1)
                )
            }
            "steps" => {
                let (a, b, at) = (rate(d), rate(d), d.int(1, 10));
                let spacing = d.pick(&["exponential", "deterministic"]);
                format!("{{ process = \"steps\", steps = [[\"0s\", {a}], [\"{at}s\", {b}]], spacing = \"{spacing}\" }}")
            }
            "mmpp" => {
                let r = rate(d);
                format!(
                    "{{ process = \"mmpp\", rate_per_s = {r}, burst_rate_per_s = {}, normal_duration = \"{}s\", burst_duration = {} }}",
                    r * 4.0,
                    d.int(1, 8),
                    d.ms(200, 2000)
                )
            }
            "closed" => closed(d),
            _ => {
                let f = d.opts.trace_file.as_ref().expect("trace only offered with a file");
                let f = f.display().to_string().replace('\\', "/");
                format!("{{ process = \"trace\", file = \"{f}\" }}")
            }
        };
        w!(d, "arrival = {arrival}");
        // A workload needs a `mix` whenever there are several endpoints,
        // even a trace one (whose rows name their endpoint themselves).
        if d.endpoints.len() > 1 {
            let weights: Vec<String> = d
                .endpoints
                .clone()
                .iter()
                .map(|e| format!("{e} = {}", d.real(0.05, 1.0)))
                .collect();
            w!(d, "mix = {{ {} }}", weights.join(", "));
        }
        if d.has_keys {
            let items = d.int(1, 300);
            let zipf = d.real(0.0, 1.5);
            let shared = d.chance(0.3);
            w!(d, "keys = {{ items = {items}, zipf = {zipf}, shared = {shared} }}");
        }
        if d.needs_clients || d.chance(0.15) {
            let clients = workload_clients(d);
            w!(d, "clients = {clients}");
        }
        // Some workload must open the sessions of a [sessions] table.
        if d.has_sessions && (i == 0 || d.chance(0.5)) {
            let sessions = workload_sessions(d);
            w!(d, "sessions = {sessions}");
        }
    }
}

/// A closed arrival: plain users, k6-style stages, or a finite test.
fn closed(d: &mut Draft) -> String {
    let mean = d.int(5, 200) as f64;
    let (think, _) = d.dist(mean);
    match d.int(0, 2) {
        0 => format!(
            "{{ process = \"closed\", users = {}, think_time = {think} }}",
            d.int(1, 5)
        ),
        1 => {
            // At least one stage must have users (the first one here), or
            // the workload would send nothing and is refused.
            let stages: Vec<String> = (0..d.int(1, 3))
                .map(|k| format!("[\"{}s\", {}]", d.int(0, 6), d.int(u32::from(k == 0), 6)))
                .collect();
            format!(
                "{{ process = \"closed\", users = {}, think_time = {think}, stages = [{}] }}",
                d.int(0, 3),
                stages.join(", ")
            )
        }
        _ => {
            d.finite = true;
            format!(
                "{{ process = \"closed\", users = {}, think_time = {think}, requests_per_user = {} }}",
                d.int(1, 5),
                d.int(1, 40)
            )
        }
    }
}

fn instance(d: &mut Draft) {
    d.line("[instance]");
    let cores = d.int(1, 4);
    let workers = cores + d.int(0, 8);
    w!(d, "cores = {cores}");
    w!(d, "workers = {workers}");
    if d.chance(0.5) {
        let q = d.int(0, 40);
        w!(d, "queue_capacity = {q}");
    }
    d.initial_instances = d.int(1, 4);
    w!(d, "initial = {}", d.initial_instances);
    let lb = d.pick(&["round-robin", "least-connections", "random", "power-of-two"]);
    w!(d, "load_balancer = \"{lb}\"");
    let s = d.ms(0, 3000);
    w!(d, "startup = {s}");
    let dt = d.ms(100, 3000);
    w!(d, "drain_timeout = {dt}");
    if d.chance(0.3) {
        let si = d.pick(&["newest", "least-loaded"]);
        w!(d, "scale_in = \"{si}\"");
    }
    let base = d.int(50, 200);
    w!(d, "base_memory_mb = {base}");
    w!(d, "memory_per_request_mb = {}", d.int(1, 8));
    w!(d, "memory_mb = {}", base + d.int(20, 400));
    w!(d, "cost_per_hour = {}", d.real(0.01, 1.0));
}

fn retry(d: &mut Draft) {
    if !d.chance(0.35) {
        return;
    }
    d.line("[retry]");
    w!(d, "attempts = {}", d.int(1, 4));
    let jitter = d.pick(&["none", "full", "equal"]);
    let base = d.int(1, 50);
    w!(
        d,
        "backoff = {{ base = \"{base}ms\", max = \"{}ms\", jitter = \"{jitter}\" }}",
        base * d.int(1, 20)
    );
    if d.has_limiters && d.chance(0.5) {
        d.line("retry_on = [\"timeout\", \"rate_limited\"]");
    } else if d.chance(0.3) {
        d.line("retry_on = [\"timeout\", \"queue_full\", \"pool_timeout\", \"shed\"]");
    }
}

fn breakers(d: &mut Draft) {
    if d.has_db && d.chance(0.3) {
        d.line("[breaker.database]");
        if d.chance(0.5) {
            w!(d, "failure_rate = {}", d.real(0.1, 0.9));
            let window = d.int(2, 30);
            w!(d, "window = {window}");
            w!(d, "min_calls = {}", d.int(1, window));
        } else {
            w!(d, "consecutive_failures = {}", d.int(1, 6));
        }
        if d.chance(0.6) {
            let s = d.ms(5, 200);
            w!(d, "slow_call = {s}");
        }
        let o = d.ms(100, 5000);
        w!(d, "open_for = {o}");
        w!(d, "half_open_probes = {}", d.int(1, 3));
        if (d.has_l1 || d.has_l2) && d.chance(0.5) {
            d.line("fallback = \"stale\"");
            let s = d.int(1, 60);
            w!(d, "stale_for = \"{s}s\"");
        }
    }
    if d.has_l2 && d.chance(0.3) {
        d.line("[breaker.cache]");
        w!(d, "consecutive_failures = {}", d.int(1, 6));
        let s = d.ms(1, 5);
        w!(d, "slow_call = {s}");
        let o = d.ms(100, 3000);
        w!(d, "open_for = {o}");
    }
}

fn shedding(d: &mut Draft) {
    if !d.chance(0.25) {
        return;
    }
    d.line("[shedding]");
    match d.pick(&["queue-length", "queue-delay", "cpu"]) {
        "queue-length" => {
            d.line("signal = \"queue-length\"");
            w!(d, "limit = {}", d.int(1, 20));
            w!(d, "priority_step = {}", d.real(0.0, 2.0));
        }
        "queue-delay" => {
            d.line("signal = \"queue-delay\"");
            let t = d.ms(1, 20);
            w!(d, "target = {t}");
            let i = d.ms(20, 500);
            w!(d, "interval = {i}");
        }
        _ => {
            d.line("signal = \"cpu\"");
            w!(d, "limit = {}", d.real(0.3, 0.95));
            let w = d.ms(100, 2000);
            w!(d, "window = {w}");
        }
    }
}

fn memory(d: &mut Draft) {
    if !d.chance(0.25) {
        return;
    }
    d.line("[memory]");
    if d.has_l1 && d.chance(0.5) {
        w!(d, "per_cache_item_mb = {}", d.real(0.01, 1.0));
    }
    w!(d, "oom_kill = {}", d.chance(0.7));
    let c = d.ms(20, 1000);
    w!(d, "check_interval = {c}");
    // Garbage finished requests leave until a GC (`emergency-gc`) frees it.
    let garbage = d.chance(0.3);
    if garbage {
        w!(d, "garbage_per_request_mb = {}", d.real(0.01, 2.0));
    }
    let mut actions = Vec::new();
    let mut above = d.real(0.3, 0.6);
    if d.has_l1 && d.chance(0.5) {
        actions.push(format!(
            "{{ above = {above}, action = \"shrink-cache\", fraction = {} }}",
            d.real(0.1, 0.9)
        ));
        above += 0.1;
    }
    if d.chance(0.5) {
        actions.push(format!("{{ above = {:.3}, action = \"shed\" }}", above));
        above += 0.1;
    }
    if d.has_sessions && d.chance(0.5) {
        let fraction = d.real(0.05, 1.0);
        let select = d.pick(&["idle", "oldest"]);
        let reconnect = d.chance(0.7);
        actions.push(format!(
            "{{ above = {above:.3}, action = \"prune-connections\", fraction = {fraction}, select = \"{select}\", reconnect = {reconnect} }}"
        ));
        above += 0.1;
    }
    if garbage && d.chance(0.6) {
        let mean = d.int(5, 300) as f64;
        let (pause, _) = d.dist(mean);
        actions.push(format!(
            "{{ above = {above:.3}, action = \"emergency-gc\", pause = {pause} }}"
        ));
        above += 0.1;
    }
    if d.chance(0.4) {
        actions.push(format!("{{ above = {:.3}, action = \"restart\" }}", above));
    }
    if !actions.is_empty() {
        w!(d, "actions = [{}]", actions.join(", "));
    }
}

fn background(d: &mut Draft) {
    if d.chance(0.2) {
        for i in 0..d.int(1, 2) {
            d.line("[[background]]");
            w!(d, "name = \"job{i}\"");
            let p = d.ms(200, 5000);
            w!(d, "period = {p}");
            let mean = d.int(5, 300) as f64;
            let (c, _) = d.dist(mean);
            w!(d, "cpu = {c}");
        }
    }
    if d.chance(0.2) {
        d.line("[pauses]");
        if d.chance(0.5) {
            w!(d, "rate_per_s = {}", d.real(0.1, 5.0));
        } else {
            let i = d.ms(200, 5000);
            w!(d, "interval = {i}");
        }
        let mean = d.int(1, 50) as f64;
        let (p, _) = d.dist(mean);
        w!(d, "duration = {p}");
    }
}

fn autoscaler(d: &mut Draft) {
    if !d.chance(0.5) {
        return;
    }
    let policy = d.pick(&["none", "threshold", "hpa", "target-tracking", "step", "schedule"]);
    // Dedicated tiers start with 1-2 instances of their own: keep them
    // inside [min, max] too.
    let low = d.initial_instances.min(1);
    let min = d.int(low, d.initial_instances.min(2));
    let max = d.initial_instances.max(2) + d.int(0, 4);
    d.line("[autoscaler]");
    w!(d, "policy = \"{policy}\"");
    w!(d, "min = {min}");
    w!(d, "max = {max}");
    let i = d.ms(500, 5000);
    w!(d, "interval = {i}");
    let metric = |d: &mut Draft| d.pick(&["cpu", "memory", "rps", "queue", "latency_p95"]);
    let target = |d: &mut Draft, m: &str| match m {
        "rps" => d.real(5.0, 50.0),
        "queue" => d.real(0.5, 10.0),
        "latency_p95" => d.real(0.01, 0.5),
        _ => d.real(0.2, 0.9),
    };
    match policy {
        "threshold" => {
            let m = metric(d);
            let hi = target(d, m);
            w!(
                d,
                "metrics = [{{ metric = \"{m}\", above = {hi}, below = {} }}]",
                (hi / 3.0 * 1000.0).round() / 1000.0
            );
            w!(d, "step = {}", d.int(1, 2));
            let f = d.ms(0, 3000);
            w!(d, "for = {f}");
            let c = d.ms(0, 5000);
            w!(d, "cooldown = {c}");
        }
        "hpa" => {
            let ms: Vec<String> = (0..d.int(1, 2))
                .map(|_| {
                    let m = metric(d);
                    format!("{{ metric = \"{m}\", target = {} }}", target(d, m))
                })
                .collect();
            w!(d, "metrics = [{}]", ms.join(", "));
            w!(d, "tolerance = {}", d.real(0.0, 0.2));
            let select = d.pick(&["Max", "Min", "Disabled"]);
            // Kubernetes (and the scenario) allow a period of 1s..1800s.
            let p = d.ms(1000, 5000);
            w!(d,
                "scale_up = {{ stabilization = \"0s\", select = \"{select}\", policies = [{{ type = \"Percent\", value = {}, period = {p} }}, {{ type = \"Pods\", value = {}, period = {p} }}] }}",
                d.int(10, 200),
                d.int(1, 4)
            );
            let s = d.ms(0, 10_000);
            w!(d, "scale_down = {{ stabilization = {s} }}");
        }
        "target-tracking" => {
            let m = metric(d);
            w!(d, "metric = \"{m}\"");
            w!(d, "target = {}", target(d, m));
            w!(d, "disable_scale_in = {}", d.chance(0.3));
            let c = d.ms(0, 5000);
            w!(d, "scale_in_cooldown = {c}");
            let w = d.ms(0, 3000);
            w!(d, "warmup = {w}");
        }
        "step" => {
            let m = metric(d);
            let t = target(d, m);
            // A utilization's bounds stay ratios (the resolver refuses
            // above 1, where a percentage is the likely mistake).
            let hi = if matches!(m, "cpu" | "memory") {
                (t * 2.0).min(1.0)
            } else {
                t * 2.0
            };
            w!(d, "metric = \"{m}\"");
            w!(d,
                "adjustments = [{{ upper = {t}, change = -1 }}, {{ lower = {t}, upper = {hi}, change = 1 }}, {{ lower = {hi}, change = 2 }}]"
            );
            let c = d.ms(0, 5000);
            w!(d, "cooldown = {c}");
        }
        "schedule" => {
            let a = d.int(min, max);
            let b = d.int(min, max);
            w!(
                d,
                "schedule = [[\"{}s\", {a}], [\"{}s\", {b}]]",
                d.int(0, 5),
                d.int(6, 20)
            );
        }
        _ => {}
    }
}

fn faults(d: &mut Draft) {
    for _ in 0..d.int(0, 2) {
        let mut kinds = vec!["instance-crash", "random-crashes", "zone-outage", "latency-spike"];
        if d.has_l1 || d.has_l2 || d.has_l3 {
            kinds.push("cache-flush");
        }
        if d.has_db {
            kinds.push("db-slowdown");
        }
        if d.has_l2 {
            kinds.push("cache-slowdown");
        }
        let kind = d.pick(&kinds);
        d.line("[[fault]]");
        w!(d, "kind = \"{kind}\"");
        let at = d.int(0, d.duration_s - 1);
        w!(d, "at = \"{at}s\"");
        match kind {
            "instance-crash" => {
                w!(d, "count = {}", d.int(1, 3));
                let m = d.ms(0, 5000);
                w!(d, "mttr = {m}");
            }
            "random-crashes" => {
                let b = d.int(3, 30);
                w!(d, "mtbf = \"{b}s\"");
                let m = d.ms(0, 3000);
                w!(d, "mttr = {m}");
            }
            "zone-outage" => {
                w!(d, "fraction = {}", d.real(0.1, 1.0));
                let du = d.ms(500, 8000);
                w!(d, "duration = {du}");
            }
            "cache-flush" => {
                let mut levels = Vec::new();
                if d.has_l1 {
                    levels.push("l1");
                }
                if d.has_l2 {
                    levels.push("l2");
                }
                if d.has_l1 && d.has_l2 {
                    levels.push("all");
                }
                if d.has_l3 {
                    levels.push("l3");
                }
                let l = d.pick(&levels);
                w!(d, "level = \"{l}\"");
            }
            "latency-spike" => {
                w!(d, "factor = {}", d.real(1.0, 5.0));
                let du = d.ms(500, 8000);
                w!(d, "duration = {du}");
                if d.chance(0.3) {
                    d.line("endpoint = \"api\"");
                }
            }
            _ => {
                // db-slowdown, cache-slowdown
                w!(d, "factor = {}", d.real(1.0, 20.0));
                let du = d.ms(500, 8000);
                w!(d, "duration = {du}");
            }
        }
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
