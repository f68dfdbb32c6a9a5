//! `tenantsim bench`: the performance suite (engine, sweeps,
//! memory, peers). Build with `--release` first: debug figures mean little.

use super::{BadInput, EXIT_OK};
use crate::bench::{self, CaseResult, CASES};
use std::process::Command;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  cargo build --release && ./target/release/tenantsim bench\n  tenantsim bench --case mm8 --customers 2000000\n  tenantsim bench --peers     # also the bare Rust loops, SimPy and Ciw (benchmarks/peers/)\n\nEach case runs in its own process so its peak memory is its own."
)]
pub struct BenchArgs {
    /// Cases to run (repeatable) [default: all]: mm8, hermes-size, day-1h, day-24h, sweep-1, sweep-2, points-1, points-2.
    #[arg(long = "case")]
    pub cases: Vec<String>,
    /// Customers for the M/M/8 case.
    #[arg(long, default_value_t = 1_000_000)]
    pub customers: u64,
    /// Also run the peers in benchmarks/peers/ (needs python3 and cargo; installs a venv there).
    #[arg(long)]
    pub peers: bool,
    /// Print one JSON line per case instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Internal: run one case in this process and print its JSON line.
    #[arg(long, hide = true)]
    pub child: Option<String>,
}

pub fn run(a: BenchArgs) -> anyhow::Result<i32> {
    if let Some(case) = &a.child {
        let r = bench::run_case(case, a.customers)?;
        println!("{}", serde_json::to_string(&r)?);
        return Ok(EXIT_OK);
    }
    let cases: Vec<String> = if a.cases.is_empty() {
        CASES.iter().map(|s| s.to_string()).collect()
    } else {
        a.cases.clone()
    };
    if let Some(bad) = cases.iter().find(|c| !CASES.contains(&c.as_str())) {
        return Err(BadInput(format!("unknown case `{bad}`; cases: {}", CASES.join(", "))).into());
    }
    if cfg!(debug_assertions) && !a.json {
        eprintln!("note: this is a debug build; build with --release for meaningful figures");
    }
    let exe = std::env::current_exe()?;
    let mut results = Vec::new();
    for c in &cases {
        if !a.json {
            eprintln!("running {c} ...");
        }
        let out = Command::new(&exe)
            .args(["bench", "--child", c, "--customers", &a.customers.to_string()])
            .output()?;
        if !out.status.success() {
            anyhow::bail!("case {c} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let r: CaseResult = serde_json::from_slice(&out.stdout)?;
        if a.json {
            println!("{}", serde_json::to_string(&r)?);
        }
        results.push(r);
    }
    let peers = if a.peers { run_peers(a.customers)? } else { Vec::new() };
    if a.json {
        for p in &peers {
            println!("{p}");
        }
        return Ok(EXIT_OK);
    }
    print!("{}", table(&results, &peers));
    Ok(EXIT_OK)
}

/// Run benchmarks/peers/run_peers.sh and collect its JSON lines.
fn run_peers(customers: u64) -> anyhow::Result<Vec<serde_json::Value>> {
    let script = std::path::Path::new("benchmarks/peers/run_peers.sh");
    if !script.exists() {
        return Err(BadInput("benchmarks/peers/run_peers.sh not found: run from the repository root".into()).into());
    }
    eprintln!("running peers (fast loop, bare loops, SimPy, Ciw) ...");
    let out = Command::new("bash").arg(script).arg(customers.to_string()).output()?;
    if !out.status.success() {
        anyhow::bail!("peers failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("peer").is_some())
        .collect())
}

/// The peer that is the fastest hand-written loop (benchmarks/peers/fast_loop):
/// the table states tenantsim's M/M/8 speed as a ratio of it.
const FASTEST_PEER: &str = "fast-loop";

fn table(results: &[CaseResult], peers: &[serde_json::Value]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<14} {:>7} {:>12} {:>14} {:>13} {:>10} {:>9}",
        "case", "threads", "customers", "customers/s", "events/s", "peak MB", "points/s"
    );
    for r in results {
        let _ = writeln!(
            o,
            "{:<14} {:>7} {:>12} {:>14.0} {:>13.0} {:>10} {:>9}",
            r.case,
            r.threads,
            r.customers,
            r.customers_per_s,
            r.events_per_s,
            r.peak_rss_mb.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into()),
            r.points_per_s.map(|p| format!("{p:.1}")).unwrap_or_else(|| "-".into()),
        );
    }
    let get = |c: &str| results.iter().find(|r| r.case == c);
    if let Some(m) = get("mm8") {
        if let (Some(w), Some(e)) = (m.wq_mean_s, m.erlang_c_wq_s) {
            let _ = writeln!(
                o,
                "\nmm8 mean wait {w:.6} s vs Erlang C {e:.6} s ({:+.2} %)",
                (w / e - 1.0) * 100.0
            );
        }
    }
    let speed_up = |one: &str, two: &str| Some(get(one)?.wall_s / get(two)?.wall_s);
    match (speed_up("sweep-1", "sweep-2"), speed_up("points-1", "points-2")) {
        (Some(s), Some(p)) => {
            let _ = writeln!(
                o,
                "sweep speed-up, 2 threads vs 1: {s:.2}x; the same simulations without files: {p:.2}x (the sweep gets {:.0} % of it)",
                s / p * 100.0
            );
        }
        (Some(s), None) => {
            let _ = writeln!(o, "sweep speed-up, 2 threads vs 1: {s:.2}x");
        }
        (None, Some(p)) => {
            let _ = writeln!(o, "200 simulations without files, speed-up 2 threads vs 1: {p:.2}x");
        }
        (None, None) => {}
    }
    if let (Some(a), Some(b)) = (get("day-1h"), get("day-24h")) {
        if let (Some(x), Some(y)) = (a.peak_rss_mb, b.peak_rss_mb) {
            let _ = writeln!(o, "peak memory, 24 h vs 1 h simulated: {y:.1} MB vs {x:.1} MB");
        }
    }
    if !peers.is_empty() {
        let ours = get("mm8").map(|r| r.customers_per_s);
        let fastest = peers
            .iter()
            .find(|p| p["peer"].as_str() == Some(FASTEST_PEER))
            .and_then(|p| p["customers_per_s"].as_f64());
        if let (Some(x), Some(f)) = (ours, fastest) {
            let _ = writeln!(
                o,
                "\nmm8 against the fastest bare loop ({FASTEST_PEER}), same run: {:.2}x (issue 25 target: at least 0.60x)",
                x / f
            );
        }
        let _ = writeln!(o, "\nM/M/8, one thread: peers measured in the same run");
        let _ = writeln!(
            o,
            "{:<16} {:>12} {:>14} {:>14} {:>10}",
            "peer", "customers", "customers/s", "tenantsim ×", "Wq in CI"
        );
        for p in peers {
            let cps = p["customers_per_s"].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                o,
                "{:<16} {:>12} {:>14.0} {:>14} {:>10}",
                p["peer"].as_str().unwrap_or("?"),
                p["customers"].as_u64().unwrap_or(0),
                cps,
                ours.map(|x| format!("{:.2}", x / cps)).unwrap_or_else(|| "-".into()),
                p["within_ci"]
                    .as_bool()
                    .map(|b| if b { "yes" } else { "NO" })
                    .unwrap_or("-"),
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_states_mm8_as_a_ratio_of_the_fastest_loop() {
        let mm8 = CaseResult {
            case: "mm8".into(),
            threads: 1,
            customers: 1000,
            events: 2000,
            wall_s: 1.0,
            customers_per_s: 3_000_000.0,
            events_per_s: 6_000_000.0,
            peak_rss_mb: None,
            points_per_s: None,
            wq_mean_s: None,
            erlang_c_wq_s: None,
        };
        let peers: Vec<serde_json::Value> = [
            r#"{"peer": "fast-loop", "customers": 1000, "customers_per_s": 12000000.0, "within_ci": null}"#,
            r#"{"peer": "bare-loop", "customers": 1000, "customers_per_s": 6000000.0, "within_ci": true}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let t = table(&[mm8], &peers);
        assert!(t.contains("fastest bare loop (fast-loop), same run: 0.25x"), "{t}");
        assert!(t.contains("bare-loop") && t.contains("0.50"), "{t}");
    }

    #[test]
    fn the_sweep_speed_up_is_set_beside_the_same_simulations_without_files() {
        let case = |name: &str, threads: usize, wall_s: f64| CaseResult {
            case: name.into(),
            threads,
            customers: 1000,
            events: 2000,
            wall_s,
            customers_per_s: 1000.0 / wall_s,
            events_per_s: 2000.0 / wall_s,
            peak_rss_mb: None,
            points_per_s: Some(200.0 / wall_s),
            wq_mean_s: None,
            erlang_c_wq_s: None,
        };
        let sweeps = [case("sweep-1", 1, 0.5), case("sweep-2", 2, 0.3125)];
        let points = [case("points-1", 1, 0.4), case("points-2", 2, 0.2)];
        let both: Vec<CaseResult> = sweeps.iter().chain(&points).cloned().collect();
        let t = table(&both, &[]);
        assert!(
            t.contains("sweep speed-up, 2 threads vs 1: 1.60x; the same simulations without files: 2.00x (the sweep gets 80 % of it)"),
            "{t}"
        );
        assert!(table(&sweeps, &[]).contains("sweep speed-up, 2 threads vs 1: 1.60x\n"));
        assert!(table(&points, &[]).contains("200 simulations without files, speed-up 2 threads vs 1: 2.00x"));
    }
}
