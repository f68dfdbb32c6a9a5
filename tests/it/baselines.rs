//! Regression of the model itself: every committed baseline in
//! `results/baselines/` is simulated again with the settings it was made
//! with (`results/baselines.txt`, the one list `results/regenerate.sh`
//! also reads) and each metric's new mean is compared with the baseline.
//!
//! Rule, per metric, overall and per tier, of every `summary.json` (a run)
//! and every `points/p<i>.json` (a sweep):
//! - the baseline CI has width > 0: the new mean must lie inside the
//!   baseline's 95 % CI (ends included);
//! - the baseline CI has zero width (every replication gave the same value:
//!   instance counts, cost, counts that stayed 0) or there is no CI: the
//!   value is fixed by the configuration, not by chance, so the new mean must
//!   equal the baseline within 1e-9 relative (1e-12 absolute);
//! - a metric undefined in the baseline (null mean) must stay undefined, and
//!   a metric of the baseline must still be reported. Metrics new since the
//!   baseline are ignored (they cannot have drifted).
//!
//! Same seed and same model give the same numbers bit for bit, so a pure
//! refactoring passes exactly. A change that moves a metric by less than
//! its noise passes; one that moves it beyond its CI fails. A change that
//! draws random numbers differently (a new stream, a different order)
//! gives a new sample of the same model: each metric then lands inside the
//! old CI with probability ≈ 0.95 only, so such a change can fail here
//! without being wrong. In either case, if the change is intended, run
//! `results/regenerate.sh`, read the diff of `results/baselines/` and commit
//! it with the change.
//!
//! The baselines are short (about 5 s in all in this debug test profile):
//! the 30-minute quickstart, the 16-minute k6 ramp under the HPA, and two
//! small sweeps of 3- and 10-minute points at 3 replications.

use super::{repo, tmpdir};
use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// One line of `results/baselines.txt`: a name (the folder under
/// `results/baselines/`) and the tenantsim arguments, without `--out`.
struct Baseline {
    name: String,
    args: Vec<String>,
}

fn baselines() -> Vec<Baseline> {
    let text = std::fs::read_to_string(repo("results/baselines.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace().map(String::from);
            let name = words.next().unwrap();
            Baseline {
                name,
                args: words.collect(),
            }
        })
        .collect()
}

/// Compare one estimate (`{"mean", "ci95", ...}`) with its baseline.
fn check_estimate(what: &str, base: &Value, new: Option<&Value>, drifts: &mut Vec<String>) {
    let Some(new) = new else {
        drifts.push(format!("{what}: no longer reported"));
        return;
    };
    let (b, n) = (base["mean"].as_f64(), new["mean"].as_f64());
    let (b, n) = match (b, n) {
        (None, None) => return,
        (Some(b), Some(n)) => (b, n),
        (b, n) => {
            drifts.push(format!("{what}: mean {n:?}, baseline {b:?}"));
            return;
        }
    };
    let ci = base["ci95"]
        .as_array()
        .and_then(|a| Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?)));
    match ci {
        Some((lo, hi)) if hi > lo => {
            if !(lo..=hi).contains(&n) {
                drifts.push(format!(
                    "{what}: mean {n} outside the baseline's 95 % CI [{lo}, {hi}] (baseline mean {b})"
                ));
            }
        }
        _ => {
            if (n - b).abs() > (1e-9 * b.abs()).max(1e-12) {
                drifts.push(format!(
                    "{what}: mean {n}, baseline {b} (a zero-width CI: must not change)"
                ));
            }
        }
    }
}

/// Compare every metric, overall and per tier, of two summaries.
fn check_summary(what: &str, base: &Value, new: &Value, drifts: &mut Vec<String>) {
    for (metric, est) in base["metrics"].as_object().unwrap() {
        check_estimate(&format!("{what} {metric}"), est, new["metrics"].get(metric), drifts);
    }
    for (tier, metrics) in base["tiers"].as_object().unwrap() {
        for (metric, est) in metrics.as_object().unwrap() {
            let new_est = new["tiers"].get(tier).and_then(|t| t.get(metric));
            check_estimate(&format!("{what} tier {tier} {metric}"), est, new_est, drifts);
        }
    }
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// The summaries of a result folder: `summary.json`, or a sweep's points.
fn summaries(dir: &Path) -> Vec<(String, Value)> {
    let run = dir.join("summary.json");
    if run.exists() {
        return vec![("summary.json".into(), read_json(&run))];
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.join("points"))
        .unwrap_or_else(|e| panic!("{}/points: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            // A point file: {"index", "values", "precision_met", "summary"}.
            let mut point = read_json(&p);
            let mut summary = point["summary"].take();
            summary["values"] = point["values"].take();
            (format!("points/{}", p.file_name().unwrap().to_string_lossy()), summary)
        })
        .collect()
}

#[test]
fn bundled_scenarios_stay_within_their_baseline_cis() {
    let list = baselines();
    assert!(list.len() >= 3, "results/baselines.txt lists {} baselines", list.len());
    let mut drifts = Vec::new();
    for b in &list {
        let out = tmpdir(&format!("baseline-{}", b.name));
        let status = Command::cargo_bin("tenantsim")
            .unwrap()
            .current_dir(repo(""))
            .args(&b.args)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .arg("--no-report")
            .output()
            .unwrap();
        // Exit 1 is an SLO verdict (some baselines fail theirs on purpose).
        assert!(
            matches!(status.status.code(), Some(0 | 1)),
            "{}: tenantsim {} failed: {}",
            b.name,
            b.args.join(" "),
            String::from_utf8_lossy(&status.stderr)
        );
        let base_dir = repo("results/baselines").join(&b.name);
        let base = summaries(&base_dir);
        let new = summaries(&out);
        let names = |s: &[(String, Value)]| s.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&base), names(&new), "{}: different result files", b.name);
        for ((file, bs), (_, ns)) in base.iter().zip(&new) {
            assert_eq!(bs["replications"], ns["replications"], "{} {file}", b.name);
            assert_eq!(bs["values"], ns["values"], "{} {file}: parameter values", b.name);
            check_summary(&format!("{} {file}", b.name), bs, ns, &mut drifts);
        }
    }
    assert!(
        drifts.is_empty(),
        "{} metric(s) drifted from results/baselines/ (if the model change is intended, \
         run results/regenerate.sh and commit the new baselines):\n{}",
        drifts.len(),
        drifts.join("\n")
    );
}
