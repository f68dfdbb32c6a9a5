//! Sections of how the service is run and how it fails: the instance,
//! retries, breakers, shedding, memory pressure, background work and
//! pauses, the autoscaler, and faults.

use super::*;

pub(super) fn instance(d: &mut Draft) {
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

pub(super) fn retry(d: &mut Draft) {
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

pub(super) fn breakers(d: &mut Draft) {
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

pub(super) fn shedding(d: &mut Draft) {
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

pub(super) fn memory(d: &mut Draft) {
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

pub(super) fn background(d: &mut Draft) {
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

pub(super) fn autoscaler(d: &mut Draft) {
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

pub(super) fn faults(d: &mut Draft) {
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
