//! Bad scenarios: each error names the file, the line, the key and what is
//! allowed.

use std::path::Path;

const BASE: &str = "[[workload]]\ntenants = 2\narrival = { process = \"poisson\", rate_per_s = 1.0 }\n[endpoint.a]\ncpu = \"5ms\"\n[instance]\ncores = 1\n";

/// BASE with database work and a database (line 6: db_queries, 10: [database]).
const DB: &str = "[[workload]]\ntenants = 2\narrival = { process = \"poisson\", rate_per_s = 1.0 }\n[endpoint.a]\ncpu = \"5ms\"\ndb_queries = 1\nquery = \"5ms\"\n[instance]\ncores = 1\n[database]\ncores = 4\nmax_connections = 10\n";

fn err(text: &str) -> tenantsim::scenario::ScenarioError {
    tenantsim::scenario::from_str(Path::new("s.toml"), text, &[]).expect_err("scenario should be refused")
}

#[test]
fn the_base_scenario_is_valid() {
    tenantsim::scenario::from_str(Path::new("s.toml"), BASE, &[]).unwrap();
}

#[test]
fn each_mistake_gets_a_located_message() {
    // (scenario, expected line, fragments of the message)
    let cases: Vec<(String, Option<usize>, Vec<&str>)> = vec![
        ("name = \n".to_string() + BASE, Some(1), vec!["s.toml:1"]),
        (
            BASE.replace("tenants = 2", "tenant = 2"),
            Some(2),
            vec!["did you mean `tenants`"],
        ),
        (
            BASE.replace("rate_per_s = 1.0", "rate_per_s = 0.0"),
            Some(3),
            vec!["rate_per_s", "positive"],
        ),
        (
            BASE.replace("\"poisson\"", "\"poison\""),
            Some(3),
            vec!["did you mean `poisson`", "allowed"],
        ),
        (BASE.replace("cpu = \"5ms\"", "cpu = \"5\""), Some(5), vec!["no unit"]),
        (
            BASE.replace("cpu = \"5ms\"", "cpu = { dist = \"lognormal\", mean = \"5ms\" }"),
            Some(5),
            vec!["missing `cv`"],
        ),
        (
            BASE.replace("cpu = \"5ms\"", "cpu = { dist = \"normal\", mean = \"5ms\" }"),
            Some(5),
            vec!["unknown distribution", "lognormal"],
        ),
        (
            BASE.replace("tenants = 2", "tenants = 2\ntier = \"gold\""),
            Some(3),
            vec!["no tier named `gold`"],
        ),
        (
            BASE.replace("tenants = 2", "tenants = 2\nmix = { b = 1.0 }"),
            Some(3),
            vec!["no endpoint named `b`"],
        ),
        (
            BASE.replace("tenants = 2", "tenants = 2\nmix = { a = 0.0 }"),
            Some(3),
            vec!["sum to a positive"],
        ),
        (
            BASE.to_string() + "[[claim]]\nid = \"x\"\nstatement = \"x\"\n",
            Some(10),
            vec!["unknown key `statement` in a claim"],
        ),
        (
            BASE.to_string() + "[autoscaler]\npolicy = \"hpa\"\n",
            Some(8),
            vec!["missing `metrics`"],
        ),
        (
            BASE.to_string() + "[autoscaler]\npolicy = \"treshold\"\n",
            Some(9),
            vec!["did you mean `threshold`"],
        ),
        (
            BASE.to_string()
                + "[autoscaler]\npolicy = \"threshold\"\nmetrics = [{ metric = \"cpu\", above = 0.3, below = 0.7 }]\n",
            Some(10),
            vec!["must be below `above`"],
        ),
        (
            BASE.to_string() + "[autoscaler]\npolicy = \"hpa\"\nmetrics = [{ metric = \"cpus\", target = 0.7 }]\n",
            Some(10),
            vec!["did you mean `cpu`"],
        ),
        (
            BASE.to_string() + "[[fault]]\nkind = \"db-slowdown\"\nfactor = 3\n",
            Some(8),
            vec!["missing `duration`"],
        ),
        (
            BASE.to_string() + "[[fault]]\nkind = \"zone-outage\"\nfraction = 1.5\nduration = \"1m\"\n",
            Some(10),
            vec!["between 0 and 1"],
        ),
        (
            BASE.to_string() + "[pool]\nsize = 3\n",
            Some(8),
            vec!["needs a [database]"],
        ),
        // Data tier (issue 4).
        (
            DB.to_string() + "[pool]\nsize = 0\n",
            Some(14),
            vec!["at least one permanent connection"],
        ),
        (
            DB.to_string() + "[pool]\nsize = 2\noverflow = -1\n",
            Some(15),
            vec!["between 0 and"],
        ),
        (
            DB.replace("[database]\n", "[databse]\n"),
            Some(10),
            vec!["did you mean `database`"],
        ),
        (
            DB.to_string() + "[pool]\nsize = 2\n[cache.l1]\ncapacity = 0\n",
            Some(16),
            vec!["capacity of at least 1", "TTL-only"],
        ),
        (
            DB.to_string() + "[pool]\nsize = 2\n[cache.l2]\nttl = \"1ms\"\nlatency = \"2ms\"\n",
            Some(16),
            vec!["must be longer than the cache latency"],
        ),
        (DB.to_string(), Some(6), vec!["needs a connection [pool]"]),
        (
            DB.to_string() + "[pool]\nsize = 2\n[retry]\nretry_on = [\"timeouts\"]\n",
            Some(16),
            vec!["did you mean `timeout`"],
        ),
        (
            BASE.to_string() + "[slo]\nlatency_p97 = \"1s\"\n",
            Some(9),
            vec!["not a metric", "did you mean"],
        ),
        (
            BASE.to_string() + "[slo]\nerror_rate = 5\n",
            Some(9),
            vec!["ratio between 0 and 1"],
        ),
        (
            BASE.to_string() + "[slo]\nlatency_p95 = 0.5\n",
            Some(9),
            vec!["a duration"],
        ),
        (BASE.replace("cores = 1", "cores = 0"), Some(7), vec!["at least 1"]),
        (BASE.replace("cores = 1", "cores = -1"), Some(7), vec![]),
        (
            "[simulation]\nduration = \"1m\"\nwarmup = \"2m\"\n".to_string() + BASE,
            Some(3),
            vec!["shorter than the duration"],
        ),
    ];
    for (text, line, fragments) in cases {
        let e = err(&text);
        let msg = e.to_string();
        assert_eq!(e.line, line, "wrong line for:\n{text}\n→ {msg}");
        assert!(msg.starts_with("s.toml:"), "no file in: {msg}");
        for f in fragments {
            assert!(msg.contains(f), "`{f}` missing from: {msg}");
        }
    }
}

#[test]
fn includes_merge_and_report_problems_in_the_right_file() {
    let dir = super::tmpdir("includes");
    std::fs::write(
        dir.join("tiers.toml"),
        "[[tier]]\nname = \"free\"\nmax_concurrency = 2\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.toml"),
        format!(
            "include = [\"tiers.toml\"]\n{}",
            BASE.replace("tenants = 2", "tenants = 2\ntier = \"free\"")
        ),
    )
    .unwrap();
    let sc = tenantsim::scenario::load(&dir.join("main.toml"), &[]).unwrap();
    assert_eq!(sc.tiers[0].name, "free");
    assert_eq!(sc.tiers[0].max_concurrency, Some(2));
    // A problem inside the included file is reported there.
    std::fs::write(
        dir.join("tiers.toml"),
        "[[tier]]\nname = \"free\"\nmax_concurrency = 0\n",
    )
    .unwrap();
    let e = tenantsim::scenario::load(&dir.join("main.toml"), &[]).unwrap_err();
    assert!(e.to_string().contains("tiers.toml:3"), "{e}");
    // Missing includes and cycles.
    std::fs::write(dir.join("main.toml"), format!("include = [\"nope.toml\"]\n{BASE}")).unwrap();
    let e = tenantsim::scenario::load(&dir.join("main.toml"), &[]).unwrap_err();
    assert!(
        e.to_string().contains("main.toml:1") && e.to_string().contains("nope.toml"),
        "{e}"
    );
    std::fs::write(dir.join("a.toml"), "include = [\"b.toml\"]\n").unwrap();
    std::fs::write(dir.join("b.toml"), "include = [\"a.toml\"]\n").unwrap();
    let e = tenantsim::scenario::load(&dir.join("a.toml"), &[]).unwrap_err();
    assert!(e.to_string().contains("include cycle"), "{e}");
}

#[test]
fn set_overrides_are_checked_too() {
    let e = tenantsim::scenario::from_str(Path::new("s.toml"), BASE, &["instance.cores=\"many\"".into()]).unwrap_err();
    assert!(e.to_string().contains("--set instance.cores"), "{e}");
    let sc = tenantsim::scenario::from_str(Path::new("s.toml"), BASE, &["workload.0.tenants=7".into()]).unwrap();
    assert_eq!(sc.workloads[0].tenants, 7);
}

#[test]
fn trace_files_are_validated() {
    let dir = super::tmpdir("trace");
    std::fs::write(dir.join("t.csv"), "time_s,tenant\n0.5,0\n0.2,1\n").unwrap();
    let text = BASE.replace(
        "{ process = \"poisson\", rate_per_s = 1.0 }",
        "{ process = \"trace\", file = \"t.csv\" }",
    );
    let e = tenantsim::scenario::from_str(&dir.join("s.toml"), &text, &[]).unwrap_err();
    assert!(
        e.to_string().contains("t.csv:3") && e.to_string().contains("time order"),
        "{e}"
    );
    std::fs::write(dir.join("t.csv"), "time_s,tenant\n0.5,0\n0.7,5\n").unwrap();
    let e = tenantsim::scenario::from_str(&dir.join("s.toml"), &text, &[]).unwrap_err();
    assert!(e.to_string().contains("tenant 5"), "{e}");
}

/// Write `text` as `name` in a fresh folder and run it with `sets`: the
/// run must exit 2 with every fragment on stderr and write nothing.
fn refused_by_run(dir_name: &str, name: &str, text: &str, sets: &[&str], fragments: &[&str]) {
    use assert_cmd::Command;
    let dir = super::tmpdir(dir_name);
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let mut cmd = Command::cargo_bin("tenantsim").unwrap();
    cmd.args(["run", "--quiet", "--no-report", "--out"])
        .arg(&out)
        .arg(&file);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for f in fragments {
        assert!(stderr.contains(f), "`{f}` missing from: {stderr}");
    }
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}

/// The quickstart scenario with `extra` appended.
fn quickstart_with(extra: &str) -> String {
    std::fs::read_to_string(super::repo("scenarios/examples/quickstart.toml")).unwrap() + extra
}

/// Line of the first occurrence of `needle` in `text` (1-based).
fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).expect(needle)].matches('\n').count() + 1
}

// Issue 26 item 1: a CPU target written as a percentage (70 for 0.7) was
// accepted, and the group never scaled (p95 3 s, 5.6 % errors).
#[test]
fn an_hpa_cpu_target_written_as_a_percentage_is_refused_by_run() {
    let text = quickstart_with("\n[autoscaler]\npolicy = \"hpa\"\nmetrics = [{ metric = \"cpu\", target = 70 }]\n");
    let line = line_of(&text, "metrics = [{ metric = \"cpu\", target = 70");
    refused_by_run(
        "pct-hpa",
        "q.toml",
        &text,
        &["workload.0.tenants=600"],
        &[
            &format!("q.toml:{line}:"),
            "autoscaler.metrics[0].target",
            "a ratio between 0 and 1 (not a percentage): write 0.7 for 70 %",
        ],
    );
}

#[test]
fn threshold_bounds_written_as_percentages_are_refused_by_run() {
    let text = quickstart_with(
        "\n[autoscaler]\npolicy = \"threshold\"\nmetrics = [{ metric = \"cpu\", above = 70, below = 30 }]\n",
    );
    let line = line_of(&text, "above = 70");
    refused_by_run(
        "pct-threshold",
        "q.toml",
        &text,
        &[],
        &[
            &format!("q.toml:{line}:"),
            "autoscaler.metrics[0].above",
            "not a percentage): write 0.7 for 70 %",
        ],
    );
}

#[test]
fn every_ratio_key_refuses_a_percentage_and_names_itself() {
    // (text after BASE, key in the message, the rewritten value)
    let cases: &[(&str, &str, &str)] = &[
        (
            "[autoscaler]\npolicy = \"threshold\"\nmetrics = [{ metric = \"memory\", below = 30 }]\n",
            "autoscaler.metrics[0].below",
            "write 0.3 for 30 %",
        ),
        (
            "[autoscaler]\npolicy = \"hpa\"\nmetrics = [{ metric = \"memory\", target = 80 }]\n",
            "autoscaler.metrics[0].target",
            "write 0.8 for 80 %",
        ),
        (
            "[autoscaler]\npolicy = \"hpa\"\ntolerance = 10\nmetrics = [{ metric = \"cpu\", target = 0.7 }]\n",
            "autoscaler.tolerance",
            "write 0.1 for 10 %",
        ),
        (
            "[autoscaler]\npolicy = \"target-tracking\"\nmetric = \"cpu\"\ntarget = 50\n",
            "autoscaler.target",
            "write 0.5 for 50 %",
        ),
        (
            "[autoscaler]\npolicy = \"step\"\nmetric = \"cpu\"\nadjustments = [{ lower = 70, change = 1 }]\n",
            "autoscaler.adjustments[0].lower",
            "write 0.7 for 70 %",
        ),
        (
            "[shedding]\nsignal = \"cpu\"\nlimit = 90\n",
            "shedding.limit",
            "write 0.9 for 90 %",
        ),
        (
            "[[fault]]\nkind = \"zone-outage\"\nfraction = 50\nduration = \"1m\"\n",
            "fault[0].fraction",
            "write 0.5 for 50 %",
        ),
        ("[slo]\nerror_rate = 1.5\n", "slo.error_rate", "write 0.015 for 1.5 %"),
        (
            "[[claim]]\nid = \"c\"\nsource = \"x\"\nmetric = \"error_rate\"\nat_most = 2\n",
            "claim[0].at_most",
            "write 0.02 for 2 %",
        ),
    ];
    for (extra, key, fix) in cases {
        let text = format!("{BASE}{extra}");
        let e = err(&text);
        let msg = e.to_string();
        assert!(msg.starts_with("s.toml:") && e.line.is_some(), "no file:line in: {msg}");
        assert!(msg.contains(&format!("key `{key}`")), "`{key}` missing from: {msg}");
        assert!(msg.contains("(not a percentage)") && msg.contains(fix), "{msg}");
    }
}

#[test]
fn targets_of_metrics_that_are_not_ratios_keep_any_positive_value() {
    // rps, queue length and p95 latency are not ratios: 70 is meaningful.
    for m in ["rps", "queue", "pool_in_use", "latency_p95"] {
        let text = format!("{BASE}[autoscaler]\npolicy = \"hpa\"\nmetrics = [{{ metric = \"{m}\", target = 70 }}]\n");
        tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).unwrap_or_else(|e| panic!("{m}: {e}"));
        let text = format!(
            "{BASE}[autoscaler]\npolicy = \"threshold\"\nmetrics = [{{ metric = \"{m}\", above = 70, below = 30 }}]\n"
        );
        tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    // And a ratio within its range is fine.
    let text = format!("{BASE}[autoscaler]\npolicy = \"hpa\"\nmetrics = [{{ metric = \"cpu\", target = 0.7 }}]\n");
    tenantsim::scenario::from_str(Path::new("s.toml"), &text, &[]).unwrap();
}

// Issue 26 item 3: 20 tenants × 10⁹/s drew gaps that rounded to 0 ns on the
// nanosecond clock: 1000× the rate, and a run that seemed to hang.
#[test]
fn an_arrival_rate_finer_than_the_clock_is_refused_by_run() {
    let text = "[simulation]\nduration = \"100us\"\nwarmup = \"0s\"\nreplications = 1\n".to_string()
        + &BASE
            .replace("tenants = 2", "tenants = 20")
            .replace("rate_per_s = 1.0", "rate_per_s = 1e9");
    refused_by_run(
        "rate-too-fine",
        "fast.toml",
        &text,
        &[],
        &[
            "fast.toml:7:",
            "workload[0].arrival.rate_per_s",
            "20 tenants",
            "clock ticks in nanoseconds",
            "at most 1,000,000 arrivals/s",
        ],
    );
}

#[test]
fn every_generated_stream_is_held_to_the_clock() {
    let cases: Vec<(String, &str)> = vec![
        (
            BASE.replace(
                "{ process = \"poisson\", rate_per_s = 1.0 }",
                "{ process = \"steps\", steps = [[\"0s\", 1.0], [\"1s\", 6e5]] }",
            ),
            "workload[0].arrival.steps[1]",
        ),
        (
            BASE.replace(
                "{ process = \"poisson\", rate_per_s = 1.0 }",
                "{ process = \"diurnal\", peak_rate_per_s = 1e6, trough_rate_per_s = 1.0 }",
            ),
            "workload[0].arrival.peak_rate_per_s",
        ),
        (
            BASE.replace(
                "{ process = \"poisson\", rate_per_s = 1.0 }",
                "{ process = \"mmpp\", rate_per_s = 1.0, burst_rate_per_s = 1e7, normal_duration = \"1m\", burst_duration = \"1s\" }",
            ),
            "workload[0].arrival.burst_rate_per_s",
        ),
        (
            BASE.replace("process = \"poisson\"", "process = \"deterministic\"")
                .replace("rate_per_s = 1.0", "rate_per_s = 1e6"),
            "workload[0].arrival.rate_per_s",
        ),
        (
            BASE.to_string() + "[pauses]\nrate_per_s = 2e6\nduration = \"1us\"\n",
            "pauses.rate_per_s",
        ),
    ];
    for (text, key) in cases {
        let e = err(&text);
        let msg = e.to_string();
        assert!(e.line.is_some(), "no line in: {msg}");
        assert!(
            msg.contains(&format!("key `{key}`")) && msg.contains("clock ticks"),
            "{msg}"
        );
    }
}

#[test]
fn a_high_rate_the_clock_resolves_is_accepted_and_gives_the_right_count() {
    // 20 tenants × 40,000/s = 800,000/s (1.25 µs = 1250 ticks apart on
    // average, under the bound) for 10 ms: 8000 arrivals expected. Poisson
    // sd √8000 ≈ 89, so ±5 % (4.5 sd) fails only if the rate is wrong — as
    // it was by 15× and more when gaps rounded to zero.
    let text = "[simulation]\nduration = \"10ms\"\nwarmup = \"0s\"\nreplications = 1\n".to_string()
        + &BASE
            .replace("tenants = 2", "tenants = 20")
            .replace("rate_per_s = 1.0", "rate_per_s = 40000.0")
            .replace("cpu = \"5ms\"", "cpu = \"100ns\"");
    let r = super::run_text("fine.toml", &text);
    let arrived = super::overall(&r, "requests_arrived");
    assert!(
        (arrived - 8000.0).abs() < 400.0,
        "arrived {arrived}, expected 8000 ± 400"
    );
}

// Issue 26 item 10: two workloads of one name were merged in the output.
#[test]
fn two_workloads_of_one_name_are_refused_by_run() {
    let text = quickstart_with("").replace("name = \"pro-tenants\"", "name = \"free-tenants\"");
    let line = text
        .match_indices("name = \"free-tenants\"")
        .nth(1)
        .map(|(i, _)| text[..i].matches('\n').count() + 1)
        .unwrap();
    refused_by_run(
        "dup-workload",
        "q.toml",
        &text,
        &[],
        &[
            &format!("q.toml:{line}:"),
            "workload[1].name",
            "workload `free-tenants` is defined twice",
            "workload.0 and workload.1",
        ],
    );
}

#[test]
fn a_trace_that_starts_after_the_run_ends_is_refused_by_run() {
    let dir = super::tmpdir("late-trace-data");
    let csv = dir.join("late.csv");
    std::fs::write(&csv, "time_s,tenant\n120,0\n150,1\n").unwrap();
    let text = "[simulation]\nduration = \"60s\"\nwarmup = \"0s\"\n".to_string()
        + &BASE.replace(
            "{ process = \"poisson\", rate_per_s = 1.0 }",
            &format!("{{ process = \"trace\", file = \"{}\" }}", csv.display()),
        );
    refused_by_run(
        "late-trace",
        "t.toml",
        &text,
        &[],
        &[
            "t.toml:6:",
            "workload[0].arrival.file",
            "late.csv",
            "120s to 150s",
            "the run lasts 60s",
        ],
    );
    // With a trace that starts within the run it loads.
    std::fs::write(&csv, "time_s,tenant\n30,0\n150,1\n").unwrap();
    tenantsim::scenario::from_str(&dir.join("t.toml"), &text, &[]).unwrap();
}
