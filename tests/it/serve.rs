//! `tenantsim serve`: the JSON API with actix-web's test utilities — runs,
//! comparisons and sweeps through the worker pool, the event stream, the
//! files written (same as the printed CLI command), and the safety limits
//! (path traversal, body size, queue, events budget, file-naming keys).

use actix_web::{test, web, App};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tenantsim::serve::{configure, AppState, ServeConfig};

/// A served folder with `tiny.toml`: the quickstart scenario, 2 simulated
/// minutes, 2 replications, samples every 5 s (fast in a debug build).
pub fn tiny_dir(name: &str) -> PathBuf {
    let d = crate::tmpdir(name);
    std::fs::create_dir_all(d.join("scenarios/sub")).unwrap();
    let text = std::fs::read_to_string(crate::repo("scenarios/examples/quickstart.toml"))
        .unwrap()
        .replace("name = \"quickstart\"", "name = \"tiny\"")
        .replace("duration = \"30m\"", "duration = \"2m\"")
        .replace("warmup = \"2m\"", "warmup = \"10s\"")
        .replace("replications = 5", "replications = 2")
        .replace("sample_interval = \"30s\"", "sample_interval = \"5s\"");
    assert!(
        text.contains("duration = \"2m\""),
        "quickstart.toml changed: update tiny_dir"
    );
    std::fs::write(d.join("scenarios/tiny.toml"), &text).unwrap();
    std::fs::write(
        d.join("scenarios/sub/long.toml"),
        text.replace("duration = \"2m\"", "duration = \"1d\""),
    )
    .unwrap();
    std::fs::write(d.join("secret.toml"), "name = \"secret\"\n").unwrap();
    d
}

/// The token of the test servers.
pub const TOKEN: &str = "test-token-0123456789";

/// A request as an API client on this machine sends it: a loopback Host
/// and the token.
pub fn authed(r: test::TestRequest) -> test::TestRequest {
    r.insert_header(("host", "127.0.0.1:8080"))
        .insert_header(("authorization", format!("Bearer {TOKEN}")))
}

pub fn config(d: &Path) -> ServeConfig {
    ServeConfig {
        scenario_dir: d.join("scenarios"),
        results: d.join("results"),
        workers: 1,
        threads: 2,
        queue: 2,
        token: Some(TOKEN.into()),
        ..ServeConfig::default()
    }
}

/// The events of an SSE text: (`id`, parsed `data`) of each complete
/// event; comments and `retry` lines are skipped.
pub fn sse_events(text: &str) -> Vec<(Option<usize>, Value)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let (mut id, mut data) = (None, None);
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.parse().unwrap_or_else(|_| panic!("id `{v}`")));
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = Some(serde_json::from_str(v).unwrap_or_else(|e| panic!("data `{v}`: {e}")));
            }
        }
        if let Some(d) = data {
            out.push((id, d));
        }
    }
    out
}

#[macro_export]
macro_rules! app {
    ($cfg:expr) => {{
        let state = web::Data::new(AppState::new($cfg).unwrap());
        test::init_service(App::new().configure(|c| configure(c, state.clone()))).await
    }};
}

/// Call the app as an authorised local client: (status, JSON body or Null).
#[macro_export]
macro_rules! send {
    ($app:expr, $req:expr) => {{
        let resp = test::call_service($app, $crate::serve::authed($req).to_request()).await;
        let status = resp.status().as_u16();
        let body = test::read_body(resp).await;
        (status, serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null))
    }};
}

/// Poll a job until it has finished; its JSON.
#[macro_export]
macro_rules! wait_finished {
    ($app:expr, $url:expr) => {{
        let start = std::time::Instant::now();
        loop {
            let (code, v) = $crate::send!($app, test::TestRequest::get().uri($url));
            assert_eq!(code, 200, "{v}");
            if ["done", "failed", "cancelled"].contains(&v["status"].as_str().unwrap()) {
                break v;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(600),
                "job did not finish: {v}"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }};
}

#[actix_web::test]
async fn scenarios_are_listed_and_described_with_knobs() {
    let d = tiny_dir("serve-list");
    let app = app!(config(&d));
    let (code, list) = send!(&app, test::TestRequest::get().uri("/api/scenarios"));
    assert_eq!(code, 200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sub/long", "tiny"]);
    let (code, sc) = send!(&app, test::TestRequest::get().uri("/api/scenarios/tiny"));
    assert_eq!(code, 200, "{sc}");
    assert_eq!(sc["scenario"], "tiny");
    assert_eq!(sc["simulation"]["duration_s"], 120.0);
    let keys: Vec<&str> = sc["knobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"instance.workers") && keys.contains(&"tier.0.max_concurrency"),
        "{keys:?}"
    );
    assert!(sc["slo"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["metric"] == "latency_p95_s"));
    assert!(sc["cli"].as_str().unwrap().starts_with("tenantsim run "));
    // The page and its assets are embedded.
    for (uri, needle) in [
        ("/", "<canvas id=\"chart-latency\""),
        ("/app.js", "EventSource"),
        ("/style.css", ".badge"),
    ] {
        let resp = test::call_service(&app, authed(test::TestRequest::get().uri(uri)).to_request()).await;
        assert_eq!(resp.status().as_u16(), 200);
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        assert!(body.contains(needle), "{uri}");
    }
}

#[actix_web::test]
async fn scenario_names_cannot_escape_the_served_folder() {
    let d = tiny_dir("serve-traversal");
    let app = app!(config(&d));
    for uri in [
        "/api/scenarios/..%2Fsecret",
        "/api/scenarios/../secret",
        "/api/scenarios/sub%2F..%2F..%2Fsecret",
        "/api/scenarios/%2Fetc%2Fpasswd",
    ] {
        let (code, v) = send!(&app, test::TestRequest::get().uri(uri));
        assert!(code == 400 || code == 404, "{uri}: {code} {v}");
        assert!(!v.to_string().contains("secret\""), "{uri} leaked: {v}");
    }
    for name in ["../secret", "sub/../../secret", "/etc/passwd", "..\\secret"] {
        let body = json!({"scenario": name});
        let (code, v) = send!(&app, test::TestRequest::post().uri("/api/runs").set_json(&body));
        assert_eq!(code, 400, "{name}: {v}");
        assert!(v["error"].as_str().unwrap().contains("inside the served folder"), "{v}");
    }
    let (code, _) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "nope"}))
    );
    assert_eq!(code, 404);
}

#[actix_web::test]
async fn bad_requests_are_refused_before_anything_runs() {
    let d = tiny_dir("serve-bad");
    let app = app!(config(&d));
    let post = |body: Value| test::TestRequest::post().uri("/api/runs").set_json(body);
    // Keys that name files.
    for set in [
        "include=[\"/etc/passwd\"]",
        "workload.0.arrival.file=/etc/passwd",
        "instance.type=../../x",
    ] {
        let (code, v) = send!(&app, post(json!({"scenario": "tiny", "overrides": [set]})));
        assert_eq!(code, 400, "{set}: {v}");
    }
    // A bad value is a scenario error naming the key.
    let (code, v) = send!(
        &app,
        post(json!({"scenario": "tiny", "overrides": ["instance.workers=-3"]}))
    );
    assert_eq!(code, 400);
    assert!(v["error"].as_str().unwrap().contains("workers"), "{v}");
    // Unknown fields, too many replications, a silly load multiplier.
    let (code, _) = send!(&app, post(json!({"scenario": "tiny", "replicatons": 3})));
    assert_eq!(code, 400);
    let (code, _) = send!(&app, post(json!({"scenario": "tiny", "replications": 51})));
    assert_eq!(code, 400);
    let (code, _) = send!(&app, post(json!({"scenario": "tiny", "load_multiplier": -1.0})));
    assert_eq!(code, 400);
    // Bodies above the limit.
    let huge = json!({"scenario": "tiny", "overrides": vec!["instance.workers=8"; 10_000]});
    let (code, _) = send!(&app, post(huge));
    assert_eq!(code, 413);
    // Nothing was queued.
    let (_, jobs) = send!(&app, test::TestRequest::get().uri("/api/jobs"));
    assert_eq!(jobs.as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn a_run_streams_rows_and_writes_what_its_cli_command_writes() {
    let d = tiny_dir("serve-run");
    let app = app!(config(&d));
    let body = json!({"scenario": "tiny", "overrides": ["instance.workers=6"], "load_multiplier": 1.5, "seed": 7});
    let (code, dry) = send!(
        &app,
        test::TestRequest::post().uri("/api/runs?dry_run=true").set_json(&body)
    );
    assert_eq!(code, 200, "{dry}");
    assert!(
        dry["cli"]
            .as_str()
            .unwrap()
            .contains("--set workload.1.arrival.rate_per_s=1.5"),
        "{dry}"
    );
    let (code, sub) = send!(&app, test::TestRequest::post().uri("/api/runs").set_json(&body));
    assert_eq!(code, 202, "{sub}");
    let url = sub["url"].as_str().unwrap().to_string();
    // The event stream replays from the start and ends after `done`.
    let resp = test::call_service(
        &app,
        authed(test::TestRequest::get().uri(sub["events"].as_str().unwrap())).to_request(),
    )
    .await;
    assert_eq!(resp.headers().get("content-type").unwrap(), "text/event-stream");
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    let events: Vec<Value> = sse_events(&text).into_iter().map(|(_, v)| v).collect();
    let rows: usize = events
        .iter()
        .filter(|e| e["type"] == "rows")
        .map(|e| e["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows, 120 / 5, "one row per sample interval of replication 0");
    let first_rows = events.iter().position(|e| e["type"] == "rows").unwrap();
    let summary_at = events.iter().position(|e| e["type"] == "summary").unwrap();
    assert!(first_rows < summary_at, "rows come before the summary");
    assert_eq!(events.last().unwrap()["status"], "done");
    let job = wait_finished!(&app, &url);
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["summary"]["replications"], 2);
    assert!(job["result"]["summary"]["slo"]["checks"].as_array().unwrap().len() >= 3);
    assert!(job["first_row_ms"].as_f64().is_some());
    // The printed command reproduces the files exactly.
    let out = PathBuf::from(job["out_dir"].as_str().unwrap());
    for f in ["summary.json", "timeseries.csv", "report.html"] {
        assert!(out.join(f).exists(), "{f} missing in {}", out.display());
    }
    let cli = job["cli"].as_str().unwrap();
    let mut args: Vec<String> = cli.split(' ').map(String::from).collect();
    assert_eq!(args[0], "tenantsim");
    let again = d.join("again");
    let n = args.len();
    assert_eq!(args[n - 2], "--out");
    args[n - 1] = again.display().to_string();
    let rerun = assert_cmd::Command::cargo_bin("tenantsim")
        .unwrap()
        .args(&args[1..])
        .arg("--quiet")
        .output()
        .unwrap();
    let code = rerun.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "{cli}: {}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let strip = |p: &Path| {
        let mut v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("engine"); // wall-clock figures
        v
    };
    assert_eq!(strip(&out.join("summary.json")), strip(&again.join("summary.json")));
    assert_eq!(
        std::fs::read(out.join("timeseries.csv")).unwrap(),
        std::fs::read(again.join("timeseries.csv")).unwrap()
    );
}

#[actix_web::test]
async fn compare_is_paired_and_sweeps_stream_points() {
    let d = tiny_dir("serve-compare");
    let app = app!(config(&d));
    let body = json!({"scenario": "tiny", "both": ["simulation.duration=60s"], "overrides": ["instance.initial=1"],
                      "replications": 3});
    let (code, sub) = send!(&app, test::TestRequest::post().uri("/api/compare").set_json(&body));
    assert_eq!(code, 202, "{sub}");
    assert!(sub["cli"]
        .as_str()
        .unwrap()
        .contains("--set-both simulation.duration=60s --set instance.initial=1"));
    let job = wait_finished!(&app, sub["url"].as_str().unwrap());
    assert_eq!(job["status"], "done", "{job}");
    let c = &job["result"]["comparison"];
    assert_eq!(c["common_random_numbers"], true);
    assert_eq!(c["replications"], 3);
    let arrived = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "requests_arrived")
        .unwrap();
    // Common random numbers: the same arrivals on both sides.
    assert_eq!(arrived["difference"], 0.0, "{arrived}");
    let p95 = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "latency_p95_s")
        .unwrap();
    assert!(
        p95["b"].as_f64().unwrap() > p95["a"].as_f64().unwrap(),
        "one instance is slower: {p95}"
    );
    assert!(Path::new(job["out_dir"].as_str().unwrap())
        .join("comparison.json")
        .exists());
    // No change, no comparison.
    let (code, _) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/compare")
            .set_json(json!({"scenario": "tiny"}))
    );
    assert_eq!(code, 400);

    let body = json!({"scenario": "tiny", "overrides": ["simulation.duration=30s"], "params": ["instance.initial=1,2,3"],
                      "replications": 1});
    let (code, sub) = send!(&app, test::TestRequest::post().uri("/api/sweeps").set_json(&body));
    assert_eq!(code, 202, "{sub}");
    let job = wait_finished!(&app, sub["url"].as_str().unwrap());
    assert_eq!(job["status"], "done", "{job}");
    let points = job["result"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    assert_eq!(points[0]["values"], json!(["1"]));
    assert!(Path::new(job["out_dir"].as_str().unwrap()).join("results.csv").exists());
    // Too many points for this server.
    let body = json!({"scenario": "tiny", "params": ["instance.initial=1..100:1"]});
    let (code, v) = send!(&app, test::TestRequest::post().uri("/api/sweeps").set_json(&body));
    assert_eq!(code, 400, "{v}");
}

#[actix_web::test]
async fn the_queue_is_bounded_and_jobs_can_be_cancelled() {
    let d = tiny_dir("serve-queue");
    let app = app!(ServeConfig { queue: 1, ..config(&d) });
    // A simulated day: long enough to still be running.
    let long = json!({"scenario": "sub/long", "replications": 2});
    let mut accepted = Vec::new();
    let mut refused = 0;
    for _ in 0..4 {
        let (code, v) = send!(&app, test::TestRequest::post().uri("/api/runs").set_json(&long));
        match code {
            202 => accepted.push(v["url"].as_str().unwrap().to_string()),
            429 => refused += 1,
            _ => panic!("{code} {v}"),
        }
    }
    // One worker and one waiting place: at most two accepted.
    assert!(
        accepted.len() <= 2 && refused >= 2,
        "accepted {accepted:?}, refused {refused}"
    );
    for url in &accepted {
        let (code, _) = send!(&app, test::TestRequest::delete().uri(url));
        assert_eq!(code, 202);
    }
    for url in &accepted {
        let job = wait_finished!(&app, url);
        assert_eq!(job["status"], "cancelled", "{job}");
    }
    // Room again.
    let (code, v) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "tiny"}))
    );
    assert_eq!(code, 202, "{v}");
    let (code, _) = send!(&app, test::TestRequest::get().uri("/api/runs/999"));
    assert_eq!(code, 404);
}

#[actix_web::test]
async fn a_job_stops_at_its_events_budget() {
    let d = tiny_dir("serve-budget");
    let app = app!(ServeConfig {
        max_events: 20_000,
        ..config(&d)
    });
    let (code, sub) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "sub/long"}))
    );
    assert_eq!(code, 202);
    let job = wait_finished!(&app, sub["url"].as_str().unwrap());
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("budget"), "{job}");
    // Stopped soon after the budget: within one chunk (1 % of a replication) per thread.
    assert!(job["events"].as_u64().unwrap() < 1_000_000, "{job}");
}
