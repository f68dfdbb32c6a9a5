//! `tenantsim serve`'s event stream at the HTTP level (no browser): every
//! event has an id, a reconnect with `Last-Event-ID` resumes after it with
//! no event twice and none missing, an id the job never sent replays
//! everything after a `reset`, and idle streams get keep-alive comments.

use crate::serve::{authed, config, sse_events, tiny_dir};
use crate::{app, send, wait_finished};
use actix_web::body::MessageBody;
use actix_web::{test, web, App};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tenantsim::serve::{configure, AppState, ServeConfig};

/// Read an event stream: its text so far, until `enough` says so, the
/// stream ends or `limit` passes (then the connection is dropped).
macro_rules! read_stream {
    ($app:expr, $req:expr, $limit:expr, $enough:expr) => {{
        let resp = test::call_service($app, authed($req).to_request()).await;
        assert_eq!(resp.status().as_u16(), 200);
        let mut body = std::pin::pin!(resp.into_body());
        let start = Instant::now();
        let mut text = String::new();
        let mut ended = false;
        loop {
            let left = $limit.saturating_sub(start.elapsed());
            let next = actix_web::rt::time::timeout(left, std::future::poll_fn(|cx| body.as_mut().poll_next(cx))).await;
            match next {
                Ok(Some(Ok(bytes))) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(Some(Err(e))) => panic!("stream error: {e}"),
                Ok(None) => {
                    ended = true;
                    break;
                }
                Err(_) => break, // out of time
            }
            let enough: &dyn Fn(&str) -> bool = &$enough;
            if enough(&text) {
                break;
            }
        }
        (text, ended)
    }};
}

fn ids(events: &[(Option<usize>, Value)]) -> Vec<usize> {
    events
        .iter()
        .map(|(id, e)| id.unwrap_or_else(|| panic!("event without an id: {e}")))
        .collect()
}

#[actix_web::test]
async fn a_reconnect_with_last_event_id_resumes_without_duplicates_or_gaps() {
    let d = tiny_dir("serve-resume");
    let app = app!(config(&d));
    // Ten simulated minutes: long enough that the first connection is
    // usually dropped while the job still runs.
    let body = json!({"scenario": "tiny", "overrides": ["simulation.duration=10m"], "replications": 1});
    let (code, sub) = send!(&app, test::TestRequest::post().uri("/api/runs").set_json(&body));
    assert_eq!(code, 202, "{sub}");
    let events_url = sub["events"].as_str().unwrap().to_string();
    // First connection: dropped after three events.
    let (first, ended) = read_stream!(
        &app,
        test::TestRequest::get().uri(&events_url),
        Duration::from_secs(600),
        |t: &str| sse_events(t).len() >= 3
    );
    assert!(!ended, "the job ended before three events: {first}");
    assert!(first.starts_with("retry: "), "{first}");
    // The connection tears after the third event (whatever else the
    // chunk held is lost with it).
    let first = sse_events(&first)[..3].to_vec();
    let last_id = *ids(&first).last().unwrap();
    let (_, job_then) = send!(&app, test::TestRequest::get().uri(sub["url"].as_str().unwrap()));
    // The reconnect, as a browser sends it.
    let (second, ended) = read_stream!(
        &app,
        test::TestRequest::get()
            .uri(&events_url)
            .insert_header(("last-event-id", last_id.to_string())),
        Duration::from_secs(600),
        |_: &str| false
    );
    assert!(ended, "the stream ends after `done`");
    let second = sse_events(&second);
    let job = wait_finished!(&app, sub["url"].as_str().unwrap());
    assert_eq!(job["status"], "done", "{job}");
    // The whole log, for reference.
    let (all, _) = read_stream!(
        &app,
        test::TestRequest::get().uri(&events_url),
        Duration::from_secs(60),
        |_: &str| false
    );
    let all = sse_events(&all);
    let n = all.len();
    assert_eq!(
        ids(&all),
        (1..=n).collect::<Vec<_>>(),
        "ids are 1, 2, 3, … without gaps"
    );
    assert_eq!(ids(&second), (last_id + 1..=n).collect::<Vec<_>>());
    // Both connections together: every event exactly once, in order.
    let joined: Vec<_> = first.iter().chain(&second).cloned().collect();
    assert_eq!(joined, all);
    let rows: Vec<f64> = joined
        .iter()
        .filter(|(_, e)| e["type"] == "rows")
        .flat_map(|(_, e)| e["rows"].as_array().unwrap().iter().map(|r| r["t"].as_f64().unwrap()))
        .collect();
    assert_eq!(rows.len(), 600 / 5, "one row per sample interval, none twice");
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "{rows:?}");
    eprintln!(
        "resume: dropped after id {last_id} of {n} (job was {} then)",
        job_then["status"]
    );
}

#[actix_web::test]
async fn a_last_event_id_the_job_never_sent_replays_everything_after_a_reset() {
    let d = tiny_dir("serve-reset");
    let app = app!(config(&d));
    let (code, sub) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "tiny", "replications": 1}))
    );
    assert_eq!(code, 202, "{sub}");
    let url = sub["events"].as_str().unwrap().to_string();
    wait_finished!(&app, sub["url"].as_str().unwrap());
    let get = || test::TestRequest::get().uri(&url);
    let (all, _) = read_stream!(&app, get(), Duration::from_secs(60), |_: &str| false);
    let all = sse_events(&all);
    let n = all.len();
    for stale in [(n + 1).to_string(), "999999".into(), "abc".into()] {
        let (text, ended) = read_stream!(
            &app,
            get().insert_header(("last-event-id", stale.as_str())),
            Duration::from_secs(60),
            |_: &str| false
        );
        assert!(ended);
        let ev = sse_events(&text);
        assert_eq!(ev[0], (None, json!({"type": "reset"})), "{stale}: {text}");
        assert_eq!(ev[1..], all[..], "{stale}: then the whole log");
    }
    // The last id: nothing more to send, and the stream ends.
    let (text, ended) = read_stream!(
        &app,
        get().insert_header(("last-event-id", n.to_string())),
        Duration::from_secs(60),
        |_: &str| false
    );
    assert!(ended);
    assert!(sse_events(&text).is_empty(), "{text}");
}

#[actix_web::test]
async fn an_idle_stream_gets_keep_alive_comments() {
    let d = tiny_dir("serve-keepalive");
    let app = app!(ServeConfig {
        keep_alive: Duration::from_millis(100),
        ..config(&d)
    });
    // A simulated day keeps the only worker busy; the next job waits, and
    // its stream has nothing to say.
    let (code, busy) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "sub/long", "replications": 1}))
    );
    assert_eq!(code, 202, "{busy}");
    let (code, waiting) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "tiny"}))
    );
    assert_eq!(code, 202, "{waiting}");
    let (text, ended) = read_stream!(
        &app,
        test::TestRequest::get().uri(waiting["events"].as_str().unwrap()),
        Duration::from_millis(1500),
        |t: &str| t.matches(": keep-alive\n\n").count() >= 3
    );
    assert!(!ended);
    assert!(text.matches(": keep-alive\n\n").count() >= 3, "{text:?}");
    assert!(sse_events(&text).is_empty(), "{text:?}");
    for j in [&busy, &waiting] {
        send!(&app, test::TestRequest::delete().uri(j["url"].as_str().unwrap()));
    }
    for j in [&busy, &waiting] {
        assert_eq!(wait_finished!(&app, j["url"].as_str().unwrap())["status"], "cancelled");
    }
}
