//! Sections of the load: long-lived sessions and workloads of every arrival
//! process (open, closed, trace-free), with the helpers that write a
//! workload's `sessions` and `clients` keys.

use super::*;

/// A non-empty subset of `names`, in order, as quoted TOML list items.
pub(super) fn subset(d: &mut Draft, names: &[String]) -> String {
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
pub(super) fn workload_clients(d: &mut Draft) -> String {
    let addresses = d.int(1, 200);
    let zipf = d.real(0.0, 1.5);
    let shared = d.chance(0.3);
    format!("{{ addresses = {addresses}, zipf = {zipf}, shared = {shared} }}")
}

/// `[sessions]`: long-lived connections with a cap per instance (or none),
/// memory, messages, handshakes, placement and reconnects. The workloads
/// that open them are drawn in [`workloads`] ([`workload_sessions`]); the
/// memory actions for sessions in [`memory`].
pub(super) fn sessions(d: &mut Draft) {
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
pub(super) fn workload_sessions(d: &mut Draft) -> String {
    if d.chance(0.5) {
        format!("{{ per_tenant = {} }}", d.int(1, 5))
    } else {
        let rate = d.real(0.05, 1.0);
        let mean = d.int(500, 10_000) as f64;
        let (lifetime, _) = d.dist(mean);
        format!("{{ rate_per_s = {rate}, lifetime = {lifetime} }}")
    }
}

pub(super) fn workloads(d: &mut Draft) {
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
pub(super) fn closed(d: &mut Draft) -> String {
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
