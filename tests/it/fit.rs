//! `tenantsim fit`: parameter recovery on a synthetic log of a known
//! scenario, the CLI on the example log (fit, --check, --replay), and the
//! trace arrival process's scaling and selection keys.

use super::{repo, tmpdir};
use assert_cmd::Command;
use std::path::Path;
use tenantsim::fit::arrival::Shape;
use tenantsim::fit::dist::Family;
use tenantsim::scenario::{Arrival, Scenario};

fn tenantsim() -> Command {
    Command::cargo_bin("tenantsim").unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a / b - 1.0).abs()
}

/// The example's truth (scenarios/examples/access-log-truth.toml), one day,
/// seed 7 — the same log as scenarios/examples/access-log.csv.
///
/// Tolerances, and why they are enough: ~28,000 requests, of which 19,000
/// free, 6,400 pro, 2,600 enterprise.
/// - Rates: the diurnal peak and trough rest on 24 hourly rates of a few
///   hundred requests each (relative error ~3–5 % each, less in the cosine
///   fit), so 8 %; the peak time within 30 minutes (the cosine's phase is
///   fitted from all 24 hours); the steady tier's rate to 6 % (2,600
///   requests: 2 % standard error).
/// - Bursts: the extra rate is estimated from ~25 bursts × 12 windows of
///   ~17 requests each (≈1 % standard error; 10 % allows for edge windows).
///   Burst and normal durations are exponential in the truth: a day holds
///   about 24 bursts, so their realized means have ~20 % standard error;
///   50 % is 2.5 SE.
/// - Service times: means within 3 % and CVs within 6 % (MLE standard
///   errors are ≈1/√n: 0.7–2 % for 2,300–20,000 latencies).
/// - Mix shares within 0.02 (binomial SE ≤ 0.006 for the smallest tier).
#[test]
fn fitting_a_synthetic_log_recovers_the_known_scenario() {
    let truth = tenantsim::scenario::load(&repo("scenarios/examples/access-log-truth.toml"), &[]).unwrap();
    let start = tenantsim::fit::timestamp::parse_timestamp("2026-05-04T00:00:00Z").unwrap();
    let reqs = tenantsim::fit::synth::synthesize(&truth, 7, start).unwrap();
    let map = tenantsim::fit::read_tier_map(&tenantsim::fit::synth::tier_map(&truth)).unwrap();
    let fit = tenantsim::fit::fit_log(&reqs, Some(&map), 12);
    let group = |t: &str| fit.groups.iter().find(|g| g.tier == t).unwrap();
    // Tenant population by tier.
    assert_eq!(
        fit.groups
            .iter()
            .map(|g| (g.tier.as_str(), g.population))
            .collect::<Vec<_>>(),
        vec![("enterprise", 3), ("free", 60), ("pro", 15)]
    );
    // Diurnal tiers: (group peak, trough) of the truth, peak at 15 h.
    for (tier, peak_t, trough_t) in [("free", 0.24, 0.06), ("pro", 0.12, 0.03)] {
        let g = group(tier);
        let Shape::Diurnal {
            peak,
            trough,
            peak_at_s,
            r2,
        } = g.arrival.shape
        else {
            panic!("{tier}: {:?}", g.arrival.shape)
        };
        eprintln!("{tier}: peak {peak:.4} (true {peak_t}), trough {trough:.4} (true {trough_t}), peak at {:.2} h (true 15), R² {r2:.3}", peak_at_s / 3600.0);
        assert!(
            rel(peak, peak_t) < 0.08 && rel(trough, trough_t) < 0.08,
            "{tier}: {peak} {trough}"
        );
        assert!((peak_at_s / 3600.0 - 15.0).abs() < 0.5, "{tier}: peak at {peak_at_s}");
    }
    let e = group("enterprise");
    let Shape::Constant { rate, .. } = e.arrival.shape else {
        panic!("{:?}", e.arrival.shape)
    };
    eprintln!("enterprise: rate {rate:.4} (true 0.03)");
    assert!(rel(rate, 0.03) < 0.06, "{rate}");
    // Bursts only where the truth has them.
    assert!(group("pro").arrival.bursts.is_none() && e.arrival.bursts.is_none());
    let b = group("free").arrival.bursts.clone().expect("the free tier's bursts");
    eprintln!(
        "free bursts: {} bursts, +{:.3}/s (true 1.5) for {:.0} s (true 120) every {:.0} s (true 3600); dispersion {:.2}",
        b.count,
        b.extra_rate,
        b.mean_burst_s,
        b.mean_normal_s + b.mean_burst_s,
        group("free").arrival.dispersion
    );
    assert!(rel(b.extra_rate, 1.5) < 0.10, "{b:?}");
    assert!(rel(b.mean_burst_s, 120.0) < 0.5, "{b:?}");
    assert!(rel(b.mean_normal_s + b.mean_burst_s, 3600.0) < 0.5, "{b:?}");
    // Mixes.
    for (tier, want) in [
        ("free", [0.80, 0.05, 0.15]),
        ("pro", [0.60, 0.10, 0.30]),
        ("enterprise", [0.40, 0.30, 0.30]),
    ] {
        let got: Vec<f64> = group(tier).mix.iter().map(|m| m.1).collect();
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 0.02, "{tier} mix {got:?} vs {want:?}");
        }
    }
    // Service times: family, mean, cv.
    for (ep, fam, mean, cv) in [
        ("get_api_items_id", Family::Lognormal, 0.012, 0.8),
        ("post_api_items", Family::Gamma, 0.045, 0.5),
        // Weibull(1.5, 200 ms): mean 180.5 ms, cv 0.679.
        ("get_api_reports", Family::Weibull, 0.2 * 0.902_745, 0.678_60),
    ] {
        let f = fit.endpoints.iter().find(|e| e.name == ep).unwrap();
        let best = &f.fits[0];
        eprintln!(
            "{ep}: {} (true {} mean {mean} cv {cv}); KS D {:.4}",
            best.fit.describe(),
            fam.name(),
            best.ks
        );
        assert_eq!(best.fit.family, fam, "{ep}");
        assert!(
            rel(best.fit.mean(), mean) < 0.03 && rel(best.fit.cv(), cv) < 0.06,
            "{ep}: {:?}",
            best.fit
        );
    }
}

#[test]
fn fit_check_and_replay_on_the_example_log() {
    let d = tmpdir("fit-example");
    let out = d.join("fitted.toml");
    let run = tenantsim()
        .args([
            "fit",
            "scenarios/examples/access-log.csv",
            "--tier-map",
            "scenarios/examples/access-log-tenants.csv",
        ])
        .args([
            "--prometheus",
            "scenarios/examples/access-log-prometheus.json",
            "--check",
            "--replications",
            "1",
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(repo(""))
        .assert()
        .success();
    let stdout = String::from_utf8(run.get_output().stdout.clone()).unwrap();
    // The check compares the fit with the log it came from.
    let d_stat: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("latency two-sample KS: D = "))
        .and_then(|l| l.split(',').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(d_stat < 0.02, "{stdout}");
    let tput = stdout.lines().find(|l| l.starts_with("throughput_rps")).unwrap();
    let v: Vec<f64> = tput
        .split_whitespace()
        .skip(1)
        .take(2)
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(rel(v[1], v[0]) < 0.10, "{tput}");
    assert!(stdout.contains("instances_mean"), "{stdout}");
    // The scenario is a valid scenario, with its Q-Q plots beside it.
    let sc = tenantsim::scenario::load(&out, &[]).unwrap();
    assert_eq!(sc.workloads.len(), 4, "three tiers and the free tier's bursts");
    assert!(d.join("fitted-qq/get_api_items_id.png").exists());
    // Replay: each tier's workload replays exactly its own requests.
    let out2 = d.join("replay.toml");
    tenantsim()
        .args([
            "fit",
            "scenarios/examples/access-log.csv",
            "--tier-map",
            "scenarios/examples/access-log-tenants.csv",
            "--replay",
        ])
        .arg("--out")
        .arg(&out2)
        .current_dir(repo(""))
        .assert()
        .success();
    let sc = tenantsim::scenario::load(&out2, &[]).unwrap();
    let events: usize = sc
        .workloads
        .iter()
        .map(|w| match &w.arrival {
            Arrival::Trace { events, .. } => events.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    let lines = std::fs::read_to_string(repo("scenarios/examples/access-log.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(events, lines);
}

#[test]
fn fit_refuses_bad_input_with_exit_code_2() {
    tenantsim().arg("fit").assert().code(2);
    let d = tmpdir("fit-bad");
    let map = d.join("map.csv");
    std::fs::write(&map, "tenant,tier\nacme\n").unwrap();
    let a = tenantsim()
        .args(["fit", "scenarios/examples/access-log.csv", "--tier-map"])
        .arg(&map)
        .current_dir(repo(""))
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("expected `tenant,tier`"));
    tenantsim()
        .args(["fit", "scenarios/examples/access-log.csv", "--timestamp-col", "when"])
        .current_dir(repo(""))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no column `when`"));
}

fn trace_scenario(dir: &Path, arrival: &str) -> Result<Scenario, String> {
    std::fs::write(
        dir.join("t.csv"),
        "time_s,tier,tenant_id,endpoint\n0,free,a,x\n1,pro,b,x\n2,free,c,y\n4,free,a,y\n10,free,a,x\n",
    )
    .unwrap();
    let text = format!(
        "[[tier]]\nname = \"free\"\n[[tier]]\nname = \"pro\"\n[[workload]]\ntier = \"free\"\ntenants = 2\narrival = {arrival}\nmix = {{ x = 1.0, y = 1.0 }}\n[endpoint.x]\ncpu = \"1ms\"\n[endpoint.y]\ncpu = \"1ms\"\n[instance]\ncores = 1\nworkers = 1\ninitial = 1\n"
    );
    tenantsim::scenario::from_str(&dir.join("s.toml"), &text, &[]).map_err(|e| e.to_string())
}

fn events(sc: &Scenario) -> Vec<(f64, Option<u32>, Option<usize>)> {
    match &sc.workloads[0].arrival {
        Arrival::Trace { events, .. } => events
            .iter()
            .map(|e| (e.at.as_secs_f64(), e.tenant, e.endpoint))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn trace_replay_keys_scale_and_select() {
    let d = tmpdir("trace-keys");
    // Only the free tier's rows; tenants by first appearance (a → 0, c → 1).
    let sc = trace_scenario(&d, "{ process = \"trace\", file = \"t.csv\" }").unwrap();
    assert_eq!(
        events(&sc),
        vec![
            (0.0, Some(0), Some(0)),
            (2.0, Some(1), Some(1)),
            (4.0, Some(0), Some(1)),
            (10.0, Some(0), Some(0))
        ]
    );
    // Twice as fast.
    let sc = trace_scenario(&d, "{ process = \"trace\", file = \"t.csv\", speedup = 2.0 }").unwrap();
    assert_eq!(
        events(&sc).iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![0.0, 1.0, 2.0, 5.0]
    );
    // 1.5 × the requests: rows sent 1, 2, 1, 2 times, copies spread to the next row.
    let sc = trace_scenario(&d, "{ process = \"trace\", file = \"t.csv\", rate_multiplier = 1.5 }").unwrap();
    assert_eq!(
        events(&sc).iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![0.0, 2.0, 3.0, 4.0, 10.0, 10.0]
    );
    // Half: every other row.
    let sc = trace_scenario(&d, "{ process = \"trace\", file = \"t.csv\", rate_multiplier = 0.5 }").unwrap();
    assert_eq!(events(&sc).iter().map(|e| e.0).collect::<Vec<_>>(), vec![2.0, 10.0]);
    // A subset of tenants, numbered in the order given.
    let sc = trace_scenario(
        &d,
        "{ process = \"trace\", file = \"t.csv\", select_tenants = [\"c\", \"a\"] }",
    )
    .unwrap();
    assert_eq!(
        events(&sc).iter().map(|e| e.1).collect::<Vec<_>>(),
        vec![Some(1), Some(0), Some(1), Some(1)]
    );
    let sc = trace_scenario(
        &d,
        "{ process = \"trace\", file = \"t.csv\", select_tenants = [\"c\"] }",
    )
    .unwrap();
    assert_eq!(events(&sc), vec![(2.0, Some(0), Some(1))]);
    // Errors name the key.
    let e = trace_scenario(&d, "{ process = \"trace\", file = \"t.csv\", speedup = 0 }").unwrap_err();
    assert!(e.contains("speedup") && e.contains("positive"), "{e}");
    let e = trace_scenario(
        &d,
        "{ process = \"trace\", file = \"t.csv\", select_tenants = [\"a\", \"b\", \"c\"] }",
    )
    .unwrap_err();
    assert!(e.contains("raise the workload's `tenants`"), "{e}");
    let e = trace_scenario(
        &d,
        "{ process = \"trace\", file = \"t.csv\", select_tenants = [\"zed\"] }",
    )
    .unwrap_err();
    assert!(e.contains("no rows") && e.contains("select_tenants"), "{e}");
    let e = trace_scenario(&d, "{ process = \"trace\", file = \"t.csv\", rate = 2 }").unwrap_err();
    assert!(e.contains("unknown key `rate`"), "{e}");
}

#[test]
fn fit_refuses_a_log_too_small_to_fit_and_writes_nothing() {
    let d = tmpdir("fit-tiny");
    let log = d.join("one.csv");
    std::fs::write(
        &log,
        "timestamp,tenant,endpoint,status,latency_ms\n2026-05-04T00:00:00Z,acme,/read,200,12\n",
    )
    .unwrap();
    let out = d.join("fitted.toml");
    let a = tenantsim().arg("fit").arg(&log).arg("--out").arg(&out).assert().code(2);
    let e = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(e.contains("one.csv: 1 request(s) read: a fit needs at least 30"), "{e}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "only the log is there");
}
