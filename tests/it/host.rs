//! `[host]`: event-loop threads that run every CPU phase and database reply
//! to completion, and the database's CPU on the instance's cores — checked
//! against queueing results and the mechanism the testbed measured (a
//! connection held while its reply waits for a busy thread).

use super::{overall, run_text};
use std::path::Path;

/// One instance, one core; `mix` over the endpoints `db` (no CPU of its
/// own, one query of 5 ms on a pool of 4) and `burn` (4 ms of CPU).
fn service(rate: f64, mix: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "600s"
warmup = "20s"
replications = 1
[[workload]]
tenants = 1
arrival = {{ process = "poisson", rate_per_s = {rate} }}
mix = {{ {mix} }}
[endpoint.db]
cpu = "0s"
db_queries = 1
query = "5ms"
[endpoint.burn]
cpu = "4ms"
[instance]
cores = 1
workers = 1000
[pool]
size = 4
[database]
cores = 64
{extra}"#
    )
}

/// The mean connection hold: connections in use (time-averaged) over the
/// rate of database calls (Little's law).
fn hold(r: &tenantsim::runner::ReplicationResult, db_rate: f64) -> f64 {
    overall(r, "pool_utilization") * 4.0 / db_rate
}

#[test]
fn one_thread_serves_cpu_phases_first_come_first_served() {
    // Constant 10 ms of CPU at 50 req/s (ρ = 0.5). One thread: M/D/1 FCFS,
    // mean latency 10 + ρ·10 / (2(1 − ρ)) = 15 ms (Pollaczek–Khinchine).
    // Without [host] the 1000 workers share the core: M/D/1-PS, 10 / (1 − ρ)
    // = 20 ms. 29,000 requests: both within 5 %.
    let text = |extra: &str| {
        format!(
            "[simulation]\nduration = \"600s\"\nwarmup = \"20s\"\nreplications = 1\n[[workload]]\ntenants = 1\n\
             arrival = {{ process = \"poisson\", rate_per_s = 50.0 }}\n[endpoint.api]\ncpu = \"10ms\"\n\
             [instance]\ncores = 1\nworkers = 1000\n{extra}"
        )
    };
    let fcfs = overall(&run_text("h.toml", &text("[host]\nthreads = 1\n")), "latency_mean_s");
    let ps = overall(&run_text("h.toml", &text("")), "latency_mean_s");
    assert!((fcfs / 0.015 - 1.0).abs() < 0.05, "one thread: {fcfs}");
    assert!((ps / 0.020 - 1.0).abs() < 0.05, "processor sharing: {ps}");
}

#[test]
fn a_held_connection_waits_for_the_busy_thread() {
    let host = "[host]\nthreads = 1\nreply_cpu = \"0s\"\n";
    // 50 database calls per second alone: the hold is the query's 5 ms,
    // with or without [host] (nothing else keeps the thread busy).
    let idle = run_text("h.toml", &service(50.0, "db = 1.0", host));
    assert!((hold(&idle, 50.0) / 0.005 - 1.0).abs() < 0.02, "{}", hold(&idle, 50.0));
    // The same calls beside 150 req/s of 4 ms CPU (ρ = 0.6): without
    // [host] the hold stays 5 ms; with one thread a reply arriving while
    // the thread computes waits for it (at least ρ × the mean residual
    // 2 ms: +1.2 ms, +24 %), so the hold grows with the CPU load.
    let plain = run_text("h.toml", &service(200.0, "db = 0.25, burn = 0.75", ""));
    let busy = run_text("h.toml", &service(200.0, "db = 0.25, burn = 0.75", host));
    let (h0, h1) = (hold(&plain, 50.0), hold(&busy, 50.0));
    assert!((h0 / 0.005 - 1.0).abs() < 0.02, "without [host]: {h0}");
    assert!(h1 > 0.005 * 1.2, "with one thread: {h1}");
    // The same arrivals (common random numbers).
    assert_eq!(overall(&plain, "requests_arrived"), overall(&busy, "requests_arrived"));
}

#[test]
fn the_databases_query_cpu_shares_the_instances_core() {
    // 50 calls per second, each 2 ms on the thread (reply_cpu) and 6 ms of
    // the database's CPU on the host: the core is busy 50 × 8 ms = 40 % of
    // the time (±0.02 over 580 s), where the database's own cores took
    // the query before.
    let host = "[host]\nthreads = 1\nreply_cpu = \"2ms\"\nquery_cpu = \"6ms\"\n";
    let r = run_text("h.toml", &service(50.0, "db = 1.0", host));
    let u = overall(&r, "cpu_utilization");
    assert!((u - 0.40).abs() < 0.02, "{u}");
    // The hold: 6 ms of host CPU, the 5 ms query, 2 ms of reply, plus the
    // waits when two calls meet on the core.
    assert!(hold(&r, 50.0) > 0.013, "{}", hold(&r, 50.0));
}

#[test]
fn host_mistakes_are_located() {
    let base = service(10.0, "db = 1.0", "");
    let cases = [
        (base.clone() + "[host]\nreply_cpu = \"1ms\"\n", "missing `threads`"),
        (base.clone() + "[host]\nthreads = 0\n", "host.threads"),
        (
            base.clone() + "[host]\nthreads = 1\nthread = 2\n",
            "unknown field `thread`",
        ),
        (
            base.replace("cores = 1\nworkers = 1000", "cores = 1\nworkers = 1000\ninitial = 2")
                + "[host]\nthreads = 1\nquery_cpu = \"1ms\"\n",
            "exactly one instance",
        ),
        (
            base.replace("[database]\ncores = 64\n", "")
                .replace("db_queries = 1\nquery = \"5ms\"\n", "")
                .replace("[pool]\nsize = 4\n", "")
                + "[host]\nthreads = 1\nquery_cpu = \"1ms\"\n",
            "no database",
        ),
    ];
    for (text, want) in cases {
        let e = tenantsim::scenario::from_str(Path::new("h.toml"), &text, &[]).expect_err(want);
        let msg = e.to_string();
        assert!(msg.contains(want) && msg.contains("h.toml:"), "{msg}");
    }
}
