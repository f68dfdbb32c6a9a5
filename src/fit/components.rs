//! Latency decomposition: an access log with per-component columns (CPU
//! time, pool wait, connection hold, cache lookups and the level that
//! answered) says how each endpoint's latency splits into the parts the
//! scenario models, so `fit` can calibrate each part instead of taking the
//! whole latency as CPU demand.
//!
//! Owns: finding the component columns (by name, like [`super::log`]),
//! per-endpoint samples of successful requests, and the scenario lines they
//! become (`cpu`, `db_queries`/`query`, `cacheable`, a `rest` wait stage,
//! and the `[pool]`, `[database]` and `[cache]` tables). It must not tune
//! anything to a load: what the log cannot tell (pool size, cache
//! capacities, database cores) is written as ASSUMED, for the caller to
//! set with `--set`.
//!
//! The split, per successful request: latency = cpu + pool wait + hold +
//! cache lookups + rest. The model computes pool wait and queueing itself,
//! so they are not calibrated (the log's pool wait is reported, not used);
//! `rest` (HTTP handling, scheduling, cache fills) is what is left after
//! the modelled parts and becomes a wait stage with its mean.

use super::dist::{self, duration};
use std::collections::BTreeMap;
use std::fmt::Write;

const CPU_NAMES: &[&str] = &["cpu_s", "cpu_ms", "cpu_us", "cpu_time_s", "cpu_time_ms", "cpu_seconds"];
const WAIT_NAMES: &[&str] = &["pool_wait_s", "pool_wait_ms", "pool_wait_us", "acquire_s", "acquire_ms"];
const HOLD_NAMES: &[&str] = &["hold_s", "hold_ms", "hold_us", "query_s", "query_ms", "db_s", "db_ms"];
const CACHE_S_NAMES: &[&str] = &["cache_s", "cache_ms", "cache_us"];
const LEVEL_NAMES: &[&str] = &["cache_level", "cache_hit", "cache"];
const ENDPOINT_NAMES: &[&str] = &["endpoint", "route", "operation", "handler", "path"];
const STATUS_NAMES: &[&str] = &["status", "status_code", "code"];
const LATENCY_NAMES: &[&str] = &[
    "latency_s",
    "latency_ms",
    "latency_us",
    "duration_s",
    "duration_ms",
    "latency",
];

/// One endpoint's successful requests, split.
#[derive(Clone, Debug, Default)]
pub struct EndpointParts {
    pub requests: usize,
    pub latency: Vec<f64>,
    pub cpu: Vec<f64>,
    /// Pool waits of requests that acquired a connection.
    pub pool_wait: Vec<f64>,
    /// Connection holds of requests that held one.
    pub hold: Vec<f64>,
    /// Cache time of requests answered at each level (`l1`, `l2`, `db`).
    pub cache_by_level: BTreeMap<String, Vec<f64>>,
    /// latency − cpu − pool wait − hold − cache, per request.
    pub remainder: Vec<f64>,
}

/// What the log's component columns say.
#[derive(Clone, Debug, Default)]
pub struct Decomposition {
    /// (component, the column it came from); missing ones are absent.
    pub columns: Vec<(&'static str, String)>,
    pub endpoints: BTreeMap<String, EndpointParts>,
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

fn unit(name: &str) -> f64 {
    if name.ends_with("_ms") {
        1e-3
    } else if name.ends_with("_us") {
        1e-6
    } else {
        1.0
    }
}

/// Read the component columns of a CSV access log. None when the log has
/// no CPU column (nothing to decompose) or is not CSV.
pub fn read(text: &str) -> Result<Option<Decomposition>, String> {
    let first = text.lines().next().unwrap_or("");
    if first.trim_start().starts_with('{') {
        return Ok(None);
    }
    let mut rdr = super::log::csv_reader(text);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| names.iter().find_map(|n| headers.iter().position(|h| h == n));
    let Some(cpu_c) = find(CPU_NAMES) else { return Ok(None) };
    let (ep_c, lat_c) = match (find(ENDPOINT_NAMES), find(LATENCY_NAMES)) {
        (Some(e), Some(l)) => (e, l),
        _ => return Ok(None),
    };
    let status_c = find(STATUS_NAMES);
    let wait_c = find(WAIT_NAMES);
    let hold_c = find(HOLD_NAMES);
    let cache_c = find(CACHE_S_NAMES);
    let level_c = find(LEVEL_NAMES);
    let mut d = Decomposition::default();
    for (what, c) in [
        ("cpu", Some(cpu_c)),
        ("pool wait", wait_c),
        ("connection hold", hold_c),
        ("cache time", cache_c),
        ("cache level", level_c),
    ] {
        if let Some(c) = c {
            d.columns.push((what, headers[c].clone()));
        }
    }
    let (u_lat, u_cpu) = (unit(&headers[lat_c]), unit(&headers[cpu_c]));
    let u = |c: Option<usize>| c.map_or(1.0, |c| unit(&headers[c]));
    let (u_wait, u_hold, u_cache) = (u(wait_c), u(hold_c), u(cache_c));
    for rec in rdr.records() {
        let Ok(r) = rec else { continue };
        let num = |c: Option<usize>| {
            c.and_then(|c| r.get(c))
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|x| x.is_finite())
        };
        if let Some(s) = num(status_c) {
            if !(200.0..400.0).contains(&s) {
                continue;
            }
        }
        let (Some(lat), Some(cpu)) = (num(Some(lat_c)), num(Some(cpu_c))) else {
            continue;
        };
        let ep = super::log::endpoint_name(r.get(ep_c).unwrap_or(""));
        let e = d.endpoints.entry(ep).or_default();
        let (lat, cpu) = (lat * u_lat, cpu * u_cpu);
        let hold = num(hold_c).map_or(0.0, |x| x * u_hold);
        let wait = num(wait_c).map_or(0.0, |x| x * u_wait);
        let cache = num(cache_c).map_or(0.0, |x| x * u_cache);
        e.requests += 1;
        e.latency.push(lat);
        e.cpu.push(cpu);
        if hold > 0.0 {
            e.hold.push(hold);
            e.pool_wait.push(wait);
        }
        if let Some(level) = level_c.and_then(|c| r.get(c)).filter(|l| !l.is_empty() && *l != "-") {
            e.cache_by_level
                .entry(level.to_ascii_lowercase())
                .or_default()
                .push(cache);
        }
        e.remainder.push(lat - cpu - wait - hold - cache);
    }
    Ok((!d.endpoints.is_empty()).then_some(d))
}

impl Decomposition {
    fn has(&self, what: &str) -> bool {
        self.columns.iter().any(|c| c.0 == what)
    }

    /// Mean time of a lookup answered by the L1, and by the L2 (an L2 hit
    /// is an L1 miss plus an L2 lookup), over all endpoints.
    pub fn lookup_means(&self) -> (Option<f64>, Option<f64>) {
        let all = |l: &str| -> Vec<f64> {
            self.endpoints
                .values()
                .flat_map(|e| e.cache_by_level.get(l).cloned().unwrap_or_default())
                .collect()
        };
        let (l1, l2) = (all("l1"), all("l2"));
        let m1 = (!l1.is_empty()).then(|| mean(&l1));
        let m2 = (!l2.is_empty()).then(|| (mean(&l2) - m1.unwrap_or(0.0)).max(0.0));
        (m1, m2)
    }

    /// Any endpoint read through a cache.
    pub fn cached(&self) -> bool {
        self.endpoints
            .values()
            .any(|e| e.cache_by_level.keys().any(|k| k == "l1" || k == "l2"))
    }

    /// Any endpoint held a database connection.
    pub fn uses_database(&self) -> bool {
        self.endpoints.values().any(|e| !e.hold.is_empty())
    }

    /// The `[endpoint.NAME]` body for `name` (without the header), or None
    /// when the log had no successful request of it.
    pub fn endpoint_toml(&self, name: &str) -> Option<String> {
        let e = self.endpoints.get(name)?;
        let (l1, l2) = self.lookup_means();
        let hold_share = e.hold.len() as f64 / e.requests.max(1) as f64;
        // The modelled lookups: every request that reached the cache pays
        // an L1 lookup, those past the L1 also an L2 lookup.
        let n_lvl = |l: &str| e.cache_by_level.get(l).map_or(0, |v| v.len()) as f64;
        let reached = n_lvl("l1") + n_lvl("l2") + n_lvl("db");
        let past_l1 = n_lvl("l2") + n_lvl("db");
        let cacheable = n_lvl("l1") + n_lvl("l2") > 0.0;
        let lookups = if cacheable {
            (l1.unwrap_or(0.0) * reached + l2.unwrap_or(0.0) * past_l1) / e.requests.max(1) as f64
        } else {
            0.0
        };
        let split = Split {
            source: format!("the log's component columns ({} successful requests)", e.requests),
            latency: mean(&e.latency),
            cpu: mean(&e.cpu),
            hold_share,
            hold: mean(&e.hold),
            wait: mean(&e.pool_wait),
            lookups,
            cache_logged: Some(e.cache_by_level.values().flatten().sum::<f64>() / e.requests.max(1) as f64),
            cacheable,
        };
        let cpu_fits = dist::fit_all(&e.cpu);
        let hold_fits = dist::fit_all(&e.hold);
        Some(split.toml(name, "the logged CPU time", &cpu_fits, &hold_fits))
    }

    /// `[pool]`, `[database]` and `[cache]` tables for what the log showed.
    pub fn data_tier_toml(&self) -> String {
        let mut t = String::new();
        if self.uses_database() {
            let waits: Vec<f64> = self.endpoints.values().flat_map(|e| e.pool_wait.clone()).collect();
            t.push_str(&pool_database_toml(&format!(
                "The log shows a mean pool wait of {} (p95 {})",
                duration(mean(&waits)),
                duration(quantile(&waits, 0.95))
            )));
        }
        if self.cached() {
            let (l1, l2) = self.lookup_means();
            let mut hits = BTreeMap::<String, usize>::new();
            for e in self.endpoints.values() {
                for (l, v) in &e.cache_by_level {
                    *hits.entry(l.clone()).or_default() += v.len();
                }
            }
            let total: usize = hits.values().sum();
            let _ = writeln!(
                t,
                "# Reads answered by level in the log: {} (the capacities and the key popularity are not in it).",
                hits.iter()
                    .map(|(l, n)| format!("{l} {:.1} %", 100.0 * *n as f64 / total.max(1) as f64))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(m) = l1 {
                let _ = writeln!(t, "[cache.l1]");
                let _ = writeln!(t, "capacity = 1000       # ASSUMED: set with --set cache.l1.capacity=N");
                let _ = writeln!(
                    t,
                    "latency = \"{}\"       # mean time of an L1 hit",
                    duration(m.max(1e-9))
                );
                let _ = writeln!(t);
            }
            if let Some(m) = l2 {
                let _ = writeln!(t, "[cache.l2]");
                let _ = writeln!(t, "capacity = 1000000    # ASSUMED: set with --set cache.l2.capacity=N");
                let _ = writeln!(
                    t,
                    "latency = \"{}\"       # mean time of an L2 hit less an L1 lookup",
                    duration(m.max(1e-9))
                );
                let _ = writeln!(t);
            }
        }
        t
    }

    /// One line per component: where it came from, or that it was assumed.
    pub fn notes(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (what, miss) in [
            ("cpu", "—"),
            (
                "connection hold",
                "no database time: every endpoint is CPU (and rest) only",
            ),
            (
                "pool wait",
                "pool wait ASSUMED 0 at calibration (its part is left in `rest`)",
            ),
            ("cache level", "no cache: reads are not cacheable"),
            (
                "cache time",
                "cache lookups ASSUMED free (their time is left in `rest`)",
            ),
        ] {
            match self.columns.iter().find(|c| c.0 == what) {
                Some((_, col)) => v.push(format!("{what}: column `{col}`")),
                None => v.push(format!("{what}: {miss}")),
            }
        }
        let _ = self.has("cpu");
        v
    }
}

/// One endpoint's mean latency split into the parts the scenario models
/// (seconds per request): latency is cpu, hold, pool wait, cache lookups
/// and the rest. Built from the log's columns ([`Decomposition::endpoint_toml`])
/// or from Prometheus series ([`super::prom_components`]); [`Split::toml`]
/// writes either the same way.
#[derive(Clone, Debug, Default)]
pub struct Split {
    /// Where the means came from, for the comment.
    pub source: String,
    pub latency: f64,
    pub cpu: f64,
    /// Fraction of requests that held a connection.
    pub hold_share: f64,
    /// Mean hold and pool wait of a request that held a connection.
    pub hold: f64,
    pub wait: f64,
    /// Modelled cache lookups per request.
    pub lookups: f64,
    /// Logged cache time per request (lookups and fills), when known.
    pub cache_logged: Option<f64>,
    pub cacheable: bool,
}

impl Split {
    /// What is left after the modelled parts, per request.
    pub fn rest(&self) -> f64 {
        self.latency - self.cpu - (self.hold + self.wait) * self.hold_share - self.lookups
    }

    /// The `[endpoint.NAME]` body: the split as comments, `cpu` from the
    /// best of `cpu_fits` (else a constant mean), `db_queries`/`query` from
    /// `hold_fits` when requests held a connection, and a `rest` stage.
    pub fn toml(
        &self,
        name: &str,
        cpu_what: &str,
        cpu_fits: &[dist::FitResult],
        hold_fits: &[dist::FitResult],
    ) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "# Decomposed from {}:", self.source);
        let lat = self.latency;
        let part = |x: f64| if lat > 0.0 { 100.0 * x / lat } else { 0.0 };
        let (cpu_m, hold_m, wait_m) = (self.cpu, self.hold * self.hold_share, self.wait * self.hold_share);
        let lookups_m = self.lookups;
        let rest_m = self.rest();
        let _ = writeln!(
            t,
            "#   mean latency {} = CPU {} ({:.0} %) + connection hold {} ({:.0} %) + pool wait {} ({:.0} %)",
            duration(lat),
            duration(cpu_m),
            part(cpu_m),
            duration(hold_m),
            part(hold_m),
            duration(wait_m),
            part(wait_m)
        );
        let logged = self.cache_logged.map_or(String::new(), |c| {
            format!("; logged cache time incl. fills {}", duration(c))
        });
        let _ = writeln!(
            t,
            "#   + cache lookups {} ({:.0} %{logged}) + rest {} ({:.0} %).",
            duration(lookups_m),
            part(lookups_m),
            duration(rest_m.max(0.0)),
            part(rest_m.max(0.0))
        );
        let _ = writeln!(
            t,
            "#   The pool wait is not calibrated: the model computes its own from [pool]."
        );
        match cpu_fits.first() {
            Some(best) => {
                let _ = writeln!(
                    t,
                    "# CPU demand: {cpu_what}, {} (best of {} families by AIC{}).",
                    best.fit.describe(),
                    cpu_fits.len(),
                    ks_note(best, "; ")
                );
                let _ = writeln!(t, "cpu = {}", best.fit.toml());
            }
            None => {
                let _ = writeln!(t, "# CPU demand: {cpu_what}, its mean (ASSUMED constant).");
                let _ = writeln!(t, "cpu = \"{}\"", duration(cpu_m.max(1e-6)));
            }
        }
        if self.hold_share > 0.0 && self.hold > 0.0 {
            let _ = writeln!(
                t,
                "# {:.1} % of requests held a connection; the hold (queries and round trips) is the query time:",
                100.0 * self.hold_share
            );
            let _ = writeln!(t, "db_queries = 1");
            match hold_fits.first() {
                Some(best) => {
                    let _ = writeln!(t, "#   {}{}.", best.fit.describe(), ks_note(best, " "));
                    let _ = writeln!(t, "query = {}", best.fit.toml());
                }
                None => {
                    let _ = writeln!(t, "query = \"{}\"", duration(self.hold.max(1e-6)));
                }
            }
            if self.cacheable {
                let _ = writeln!(t, "cacheable = true");
            }
            if !self.cacheable && name.contains("write") {
                let _ = writeln!(
                    t,
                    "operation = \"write\"   # ASSUMED from the name: it invalidates the caches"
                );
            }
        }
        if rest_m > 1e-6 {
            let _ = writeln!(
                t,
                "# The rest (HTTP handling, scheduling, cache fills): a wait stage with its mean (ASSUMED constant)."
            );
            let _ = writeln!(t, "[[endpoint.{name}.stage]]");
            let _ = writeln!(t, "name = \"rest\"");
            let _ = writeln!(t, "wait = \"{}\"", duration(rest_m));
        } else if rest_m < -1e-4 {
            let _ = writeln!(
                t,
                "# The components add up to {} more than the latency: overlapping columns? No rest stage.",
                duration(-rest_m)
            );
        }
        t
    }
}

/// "(KS D x)" text for a sample fit; nothing for a histogram fit (no KS).
fn ks_note(f: &dist::FitResult, sep: &str) -> String {
    if f.ks.is_nan() {
        String::new()
    } else if sep == " " {
        format!(" (KS D {:.4})", f.ks)
    } else {
        format!("{sep}KS D {:.4}", f.ks)
    }
}

/// The `[pool]` and `[database]` tables when requests held connections;
/// `seen` says what the source showed of the pool wait.
pub fn pool_database_toml(seen: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "[pool]");
    let _ = writeln!(t, "# {seen}, but not the pool's size or timeout.");
    let _ = writeln!(
        t,
        "size = 10            # ASSUMED: set the real one with --set pool.size=N"
    );
    let _ = writeln!(t, "timeout = \"30s\"      # ASSUMED: set with --set pool.timeout=...");
    let _ = writeln!(t);
    let _ = writeln!(t, "[database]");
    let _ = writeln!(
        t,
        "# ASSUMED: queries do not compete for database CPU (their hold time is taken as measured)."
    );
    let _ = writeln!(t, "cores = 64");
    let _ = writeln!(t, "max_connections = 1000");
    let _ = writeln!(t);
    t
}

fn quantile(xs: &[f64], p: f64) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return 0.0;
    }
    s[((p * s.len() as f64) as usize).min(s.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic log whose components are known: read = 2 ms CPU + 3 ms
    /// hold + 0.5 ms rest on a DB hit, 2 ms + 0.1 ms (L1) + 0.5 ms rest on
    /// an L1 hit; cpu = 4 ms CPU + 0.5 ms rest.
    fn log() -> String {
        let mut s = String::from("ts,tenant,endpoint,status,latency_s,cpu_s,cache_level,cache_s,pool_wait_s,hold_s\n");
        for i in 0..400 {
            let t = i as f64 * 0.1;
            let cpu = 0.002 * (1.0 + 0.5 * ((i % 7) as f64 - 3.0) / 3.0);
            if i % 2 == 0 {
                let hold = 0.003 * (1.0 + 0.3 * ((i % 5) as f64 - 2.0) / 2.0);
                let lat = cpu + 0.0002 + hold + 0.0005;
                s += &format!("{t},a,read,200,{lat},{cpu},db,0.0002,0,{hold}\n");
            } else {
                let lat = cpu + 0.0001 + 0.0005;
                s += &format!("{t},a,read,200,{lat},{cpu},l1,0.0001,0,0\n");
            }
            let lat = 0.0045;
            s += &format!("{t},b,cpu,200,{lat},0.004,-,0,0,0\n");
            s += &format!("{t},b,cpu,429,0.0001,0,-,0,0,0\n"); // refused: left out
        }
        s
    }

    #[test]
    fn splits_latency_into_the_modelled_parts() {
        let d = read(&log()).unwrap().expect("component columns");
        let r = &d.endpoints["read"];
        assert_eq!(r.requests, 400, "only successful requests");
        assert_eq!(r.hold.len(), 200);
        assert!((mean(&r.cpu) - 0.002).abs() < 1e-4);
        assert!((mean(&r.hold) - 0.003).abs() < 1e-4);
        let (l1, l2) = d.lookup_means();
        assert!((l1.unwrap() - 0.0001).abs() < 1e-9);
        assert_eq!(l2, None);
        // Rest: 0.5 ms everywhere, plus the DB-hit's 0.1 ms of fill beyond
        // the modelled L1 lookup on half the reads.
        assert!((mean(&r.remainder) - 0.0005).abs() < 1e-6);
        let t = d.endpoint_toml("read").unwrap();
        assert!(t.contains("db_queries = 1"), "{t}");
        assert!(t.contains("cacheable = true"), "{t}");
        assert!(t.contains("name = \"rest\""), "{t}");
        // rest = 4.35 − 2 − 1.5 − 0.1 = 0.55 ms (the DB reads' 0.1 ms fill
        // is rest: the model charges a lookup, not a fill).
        assert!(t.contains("wait = \"550us\"") || t.contains("wait = \"0.55ms\""), "{t}");
        let c = d.endpoint_toml("cpu").unwrap();
        assert!(!c.contains("db_queries"), "{c}");
        assert!(c.contains("wait = \"500us\"") || c.contains("wait = \"0.5ms\""), "{c}");
        let tier = d.data_tier_toml();
        assert!(
            tier.contains("[pool]") && tier.contains("[cache.l1]") && !tier.contains("[cache.l2]"),
            "{tier}"
        );
    }

    #[test]
    fn without_a_cpu_column_there_is_nothing_to_split() {
        assert!(read("ts,endpoint,status,latency_s\n1,a,200,0.1\n").unwrap().is_none());
        let n = read(&log()).unwrap().unwrap().notes();
        assert!(
            n.iter().any(|l| l.starts_with("connection hold: column `hold_s`")),
            "{n:?}"
        );
    }
}
