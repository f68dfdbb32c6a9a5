//! Sections of the service itself: `[simulation]`, tiers, the data tier
//! (pool, database, read replicas), the L1/L2/L3 caches, endpoints and
//! their stages, and `[[rate_limit]]`.

use super::*;

pub(super) fn simulation(d: &mut Draft) {
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

pub(super) fn tiers(d: &mut Draft) {
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

pub(super) fn data(d: &mut Draft) {
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
pub(super) fn replicas(d: &mut Draft) {
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

pub(super) fn cache(d: &mut Draft) {
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
pub(super) fn l3(d: &mut Draft) {
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

pub(super) fn endpoints(d: &mut Draft) {
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
pub(super) fn d_cpu_ms(i: u32) -> f64 {
    [5.0, 2.0, 10.0][i as usize % 3]
}

/// `[[rate_limit]]` tables beside the tier buckets: each algorithm, keyed
/// by any combination of tenant / ip / endpoint (or global), optionally
/// filtered by endpoints and tiers, with local (full or divided) or shared
/// state; a `[rate_limit_store]` when some state is shared. A limiter per
/// ip makes every workload give `clients` (see [`workload_clients`]).
pub(super) fn rate_limits(d: &mut Draft) {
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
