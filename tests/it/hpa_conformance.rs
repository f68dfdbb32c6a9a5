//! The HPA as the Kubernetes controller computes it, end to end: a step
//! load with a startup delay against a controller trace derived by hand in
//! the scenario's header (scenarios/examples/hpa-startup-step.toml).

use crate::repo;
use tenantsim::runner::run;

fn events(sets: &[&str]) -> Vec<(f64, u32, u32)> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let sc = tenantsim::scenario::load(&repo("scenarios/examples/hpa-startup-step.toml"), &sets).unwrap();
    let out = run(&sc, &|_| {});
    out.replications[0]
        .scaling_events
        .iter()
        .map(|e| (e.time_s, e.from, e.to))
        .collect()
}

#[test]
fn step_load_with_startup_matches_the_hand_derived_controller_trace() {
    // 2 → 4 at the 315 s sync and nothing after: the new pods are missing
    // (330 s), unready (345 s) and too fresh for CPU (360 s) in turn, and
    // are counted as 0 % each time, so the controller does not overshoot.
    assert_eq!(events(&[]), vec![(315.0, 2, 4)]);
}

#[test]
fn the_simple_view_overshoots_on_the_same_load() {
    // What tenantsim did before: at 360 s, 4 ready instances averaging
    // 67.5 % over the sync interval → ceil(4 × 1.35) = 6.
    let ev = events(&["autoscaler.controller=\"simple\""]);
    assert_eq!(ev.first(), Some(&(315.0, 2, 4)));
    assert_eq!(ev.get(1), Some(&(360.0, 4, 6)), "{ev:?}");
}

mod explain {
    use crate::repo;
    use assert_cmd::Command;

    fn explain(args: &[&str]) -> assert_cmd::assert::Assert {
        let mut c = Command::cargo_bin("tenantsim").unwrap();
        c.arg("hpa").arg("explain").args(args);
        c.assert()
    }

    fn example(f: &str) -> String {
        repo(&format!("scenarios/examples/hpa-explain/{f}"))
            .display()
            .to_string()
    }

    #[test]
    fn the_documented_example_is_explained_step_by_step() {
        let a = explain(&[&example("hpa.yaml"), &example("pods.json")]).success();
        let text = String::from_utf8(a.get_output().stdout.clone()).unwrap();
        for line in [
            "unready  api-2: Ready less than one metric window before its sample, within the CPU initialization period → counted as 0",
            "missing  api-3: no sample → counted as 0",
            "current 90 % utilization (average 900m per pod with a sample)",
            "usage ratio 1.5000",
            "recomputed with the unready and missing pods filled in: ratio 0.7500 over 4 pods",
            "rule: recomputed ratio reverses the direction: keep the current count",
            "2. External queue_messages_ready (target: average value 30)",
            "rule: ceil(total value / average-value target)",
            "limit: DesiredWithinRange",
            "replicas: 4 → 4",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
    }

    #[test]
    fn json_gives_the_same_for_machines() {
        let a = explain(&[&example("hpa.yaml"), &example("pods.json"), "--json"]).success();
        let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        let cpu = &v["metrics"][0]["calculation"];
        assert_eq!(cpu["usage_ratio"], 1.5);
        assert_eq!(cpu["recomputed_ratio"], 0.75);
        assert_eq!(cpu["pods"][2]["class"], "unready");
        assert_eq!(cpu["pods"][3]["class"], "missing");
        assert_eq!(v["metrics"][1]["calculation"]["replicas"], 4);
        assert_eq!(v["decision"]["desired"], 4);
        assert_eq!(v["decision"]["limit"], "DesiredWithinRange");
    }

    #[test]
    fn bad_snapshots_name_the_field_and_what_is_allowed() {
        let dir = std::env::temp_dir().join(format!("hpa-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("pods.json");
        std::fs::write(
            &bad,
            r#"{"time": "2026-12-04T12:00:00Z", "pods": [{"name": "p", "phase": "Runing"}]}"#,
        )
        .unwrap();
        let a = explain(&[&example("hpa.yaml"), bad.to_str().unwrap()]).code(2);
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert!(
            err.contains("snapshot.pods[0].phase: `Runing`: allowed: Pending, Running, Succeeded, Failed"),
            "{err}"
        );
    }
}

mod scaling_slo {
    use crate::repo;
    use assert_cmd::Command;

    fn check(extra: &[&str], junit: &std::path::Path) -> (i32, String, String) {
        check_on("hpa-scaling-slo", extra, junit)
    }

    fn check_on(scenario: &str, extra: &[&str], junit: &std::path::Path) -> (i32, String, String) {
        let mut c = Command::cargo_bin("tenantsim").unwrap();
        c.arg("check")
            .arg(repo(&format!("scenarios/examples/{scenario}.toml")))
            .arg("--junit")
            .arg(junit)
            .args(extra);
        let o = c.output().unwrap();
        let xml = std::fs::read_to_string(junit).unwrap_or_default();
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            xml,
        )
    }

    #[test]
    fn the_timeline_assertions_pass_for_the_policy_and_fail_ci_when_it_flaps() {
        let dir = std::env::temp_dir().join(format!("hpa-slo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (code, out, xml) = check(&[], &dir.join("ok.xml"));
        assert_eq!(code, 0, "{out}");
        for name in [
            "scale_flaps_per_hour",
            "underprovisioned_fraction",
            "overprovisioned_fraction",
            "instance_hours",
            "cost",
        ] {
            assert!(
                xml.contains(&format!("name=\"all {name} ")),
                "{name} missing from the JUnit report:\n{xml}"
            );
        }
        // The averaged view flaps 3.5 times per hour: CI turns red, and the
        // JUnit report says which assertion failed.
        let (code, out, xml) = check(&["--set", "autoscaler.controller=\"simple\""], &dir.join("flaps.xml"));
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAIL hpa-scaling-slo all scale_flaps_per_hour"), "{out}");
        assert!(xml.contains("<failure"), "{xml}");
    }

    /// The step metrics of one run of hpa-step-response.toml.
    fn step_metrics(sets: &[&str]) -> (f64, f64) {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let sc = tenantsim::scenario::load(&repo("scenarios/examples/hpa-step-response.toml"), &sets).unwrap();
        let out = tenantsim::runner::run(&sc, &|_| {});
        let v = &out.replications[0].overall;
        let get = |name: &str| v[tenantsim::metrics::names::index(name).unwrap()].unwrap();
        (get("time_to_need_s"), get("overshoot_instances"))
    }

    #[test]
    fn the_step_metrics_match_the_hand_derived_trace() {
        // The step at 300 s; 2 → 4 at the 315 s sync; Ready 40 s later.
        assert_eq!(step_metrics(&[]), (55.0, 0.0));
        // The averaged view goes to 6 at 360 s: 2 above the need of 4.
        assert_eq!(step_metrics(&["autoscaler.controller=\"simple\""]).1, 2.0);
        // A 60 s sync period first sees the step at 360 s: Ready at 400 s.
        assert_eq!(step_metrics(&["autoscaler.interval=\"60s\""]).0, 100.0);
    }

    #[test]
    fn a_policy_that_reacts_too_slowly_or_overshoots_fails_check() {
        let dir = std::env::temp_dir().join(format!("hpa-step-slo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (code, out, xml) = check_on("hpa-step-response", &[], &dir.join("ok.xml"));
        assert_eq!(code, 0, "{out}");
        for name in ["time_to_need", "overshoot_instances"] {
            assert!(xml.contains(&format!("name=\"all {name} ")), "{name} missing:\n{xml}");
        }
        assert!(!xml.contains("<failure"), "{xml}");

        let (code, out, xml) = check_on(
            "hpa-step-response",
            &["--set", "autoscaler.interval=\"60s\""],
            &dir.join("slow.xml"),
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAIL hpa-step-response all time_to_need"), "{out}");
        assert!(!out.contains("FAIL hpa-step-response all overshoot_instances"), "{out}");
        assert!(xml.contains("<failure"), "{xml}");

        let (code, out, _) = check_on(
            "hpa-step-response",
            &["--set", "autoscaler.controller=\"simple\""],
            &dir.join("over.xml"),
        );
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAIL hpa-step-response all overshoot_instances"), "{out}");
    }

    #[test]
    fn a_scaling_step_outside_the_run_or_with_an_unknown_key_is_refused() {
        let dir = std::env::temp_dir().join(format!("hpa-step-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.toml");
        let base = std::fs::read_to_string(repo("scenarios/examples/hpa-startup-step.toml")).unwrap();
        std::fs::write(
            &bad,
            format!("{base}\n[slo.scaling]\nstep_at = \"5m\"\nneed = 4\nuntil = \"20m\"\n"),
        )
        .unwrap();
        let junit = dir.join("bad.xml");
        let mut c = Command::cargo_bin("tenantsim").unwrap();
        let o = c.arg("check").arg(&bad).arg("--junit").arg(&junit).output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("bad.toml:") && err.contains("slo.scaling.until"), "{err}");
        assert!(err.contains("must be within the run"), "{err}");
        assert!(!junit.exists(), "nothing is written on bad input");

        std::fs::write(&bad, format!("{base}\n[slo.scaling]\nstep_at = \"5m\"\nneeds = 4\n")).unwrap();
        let o = Command::cargo_bin("tenantsim")
            .unwrap()
            .arg("check")
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("slo.scaling.needs") && err.contains("allowed: step_at, need, until"),
            "{err}"
        );
    }
}
