//! Bad scenarios: each error names the file, the line, the key and what is
//! allowed.

use std::path::Path;
use tenantsim::scenario::Scenario;

const BASE: &str = "[[workload]]\ntenants = 2\narrival = { process = \"poisson\", rate_per_s = 1.0 }\n[endpoint.a]\ncpu = \"5ms\"\n[instance]\ncores = 1\n";

/// BASE with database work and a database (line 6: db_queries, 10: [database]).
const DB: &str = "[[workload]]\ntenants = 2\narrival = { process = \"poisson\", rate_per_s = 1.0 }\n[endpoint.a]\ncpu = \"5ms\"\ndb_queries = 1\nquery = \"5ms\"\n[instance]\ncores = 1\n[database]\ncores = 4\nmax_connections = 10\n";

fn err(text: &str) -> tenantsim::scenario::ScenarioError {
    Scenario::from_str(Path::new("s.toml"), text, &[]).expect_err("scenario should be refused")
}

#[test]
fn the_base_scenario_is_valid() {
    Scenario::from_str(Path::new("s.toml"), BASE, &[]).unwrap();
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
    let sc = Scenario::load(&dir.join("main.toml"), &[]).unwrap();
    assert_eq!(sc.tiers[0].name, "free");
    assert_eq!(sc.tiers[0].max_concurrency, Some(2));
    // A problem inside the included file is reported there.
    std::fs::write(
        dir.join("tiers.toml"),
        "[[tier]]\nname = \"free\"\nmax_concurrency = 0\n",
    )
    .unwrap();
    let e = Scenario::load(&dir.join("main.toml"), &[]).unwrap_err();
    assert!(e.to_string().contains("tiers.toml:3"), "{e}");
    // Missing includes and cycles.
    std::fs::write(dir.join("main.toml"), format!("include = [\"nope.toml\"]\n{BASE}")).unwrap();
    let e = Scenario::load(&dir.join("main.toml"), &[]).unwrap_err();
    assert!(
        e.to_string().contains("main.toml:1") && e.to_string().contains("nope.toml"),
        "{e}"
    );
    std::fs::write(dir.join("a.toml"), "include = [\"b.toml\"]\n").unwrap();
    std::fs::write(dir.join("b.toml"), "include = [\"a.toml\"]\n").unwrap();
    let e = Scenario::load(&dir.join("a.toml"), &[]).unwrap_err();
    assert!(e.to_string().contains("include cycle"), "{e}");
}

#[test]
fn set_overrides_are_checked_too() {
    let e = Scenario::from_str(Path::new("s.toml"), BASE, &["instance.cores=\"many\"".into()]).unwrap_err();
    assert!(e.to_string().contains("--set instance.cores"), "{e}");
    let sc = Scenario::from_str(Path::new("s.toml"), BASE, &["workload.0.tenants=7".into()]).unwrap();
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
    let e = Scenario::from_str(&dir.join("s.toml"), &text, &[]).unwrap_err();
    assert!(
        e.to_string().contains("t.csv:3") && e.to_string().contains("time order"),
        "{e}"
    );
    std::fs::write(dir.join("t.csv"), "time_s,tenant\n0.5,0\n0.7,5\n").unwrap();
    let e = Scenario::from_str(&dir.join("s.toml"), &text, &[]).unwrap_err();
    assert!(e.to_string().contains("tenant 5"), "{e}");
}
