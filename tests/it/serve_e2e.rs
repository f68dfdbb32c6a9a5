//! End to end: the real `tenantsim serve` binary, driven in headless
//! Chromium through ChromeDriver (W3C WebDriver over plain HTTP, so no
//! browser-automation crate): the page is opened with the token the server
//! printed, a slider moves with arrow keys, Run is clicked, and the test
//! waits for the latency chart's first point and the SLO verdict badges,
//! then saves a screenshot to `results/serve-e2e/dashboard.png`.
//!
//! The browser reaches the server through a proxy ([`super::stream_proxy`])
//! that breaks the job's event stream twice mid-run: it cuts the first
//! connection inside its 4th event, and forwards the browser's reconnect
//! without its `Last-Event-ID` (so the server replays from the start) and
//! cuts that one inside its 7th event; the third connection resumes. The
//! test checks that the browser reconnected with the right ids and that
//! the chart has every point once: no duplicate, none missing.
//!
//! Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver;
//! `.ci/run` installs them). Without them the test says so loudly and
//! returns; set TENANTSIM_E2E_REQUIRED=1 to make that a failure.

use super::stream_proxy::{Proxy, StreamPlan};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped (also when an assertion fails).
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for n in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/lib/chromium")]) {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// One HTTP/1.1 request: status and JSON body. chromedriver drops HTTP/1.0
/// requests and keeps connections open, so the body is read by its
/// Content-Length.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, Value::Null);
    };
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    // A driver still starting may accept and then drop the connection:
    // status 0, so callers retry or report it.
    if write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .is_err()
    {
        return (0, Value::Null);
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let mut need: Option<usize> = None;
    loop {
        if let Some(n) = need {
            if raw.len() >= n {
                break;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => raw.extend_from_slice(&buf[..k]),
        }
        if need.is_none() {
            if let Some(h) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..h]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                match len {
                    Some(l) => need = Some(h + 4 + l),
                    None => need = None,
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

struct Browser {
    port: u16,
    session: String,
}

impl Browser {
    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}/{what}", self.session);
        let (code, v) = http(self.port, method, &path, body.as_ref());
        assert_eq!(code, 200, "WebDriver {method} {what}: {v}");
        v["value"].clone()
    }
    fn js(&self, script: &str) -> Value {
        self.cmd("POST", "execute/sync", Some(json!({"script": script, "args": []})))
    }
    fn element(&self, css: &str) -> String {
        let v = self.cmd("POST", "element", Some(json!({"using": "css selector", "value": css})));
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|x| x.as_str())
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }
    /// Poll `script` until it returns something truthy; its value.
    fn wait_for(&self, script: &str, what: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let v = self.js(script);
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return v;
            }
            if start.elapsed() > limit {
                let status = self.js("return document.getElementById('status').textContent");
                panic!("timed out waiting for {what}; page status: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !b"=\r\n ".contains(c)).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|c| val(*c) as u32).collect();
        let n = v.iter().enumerate().fold(0u32, |acc, (i, x)| acc | x << (18 - 6 * i));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

#[test]
fn dashboard_runs_a_changed_scenario_in_headless_chromium() {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        let msg = "\n\n************************************************************\n\
                   SKIPPED serve e2e: chromium and chromedriver are needed\n\
                   (apt-get install chromium chromium-driver; .ci/run does it)\n\
                   ************************************************************\n";
        eprintln!("{msg}");
        assert!(std::env::var_os("TENANTSIM_E2E_REQUIRED").is_none(), "{msg}");
        return;
    };
    let d = super::serve::tiny_dir("serve-e2e");
    // The real binary, on a free port chosen by the OS.
    let mut server = Killed(
        Command::new(env!("CARGO_BIN_EXE_tenantsim"))
            .args([
                "serve",
                "scenarios",
                "--bind",
                "127.0.0.1:0",
                "--results",
                "results",
                "--threads",
                "2",
            ])
            .current_dir(&d)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tenantsim serve"),
    );
    let mut line = String::new();
    let mut out = BufReader::new(server.0.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep draining the server's stdout: a closed pipe would make its next
    // line fail and stop it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    // http://127.0.0.1:PORT/?token=T, reached through the stream-breaking proxy.
    let (addr, query) = url
        .strip_prefix("http://")
        .and_then(|u| u.split_once('/'))
        .unwrap_or_else(|| panic!("{url}"));
    assert!(query.starts_with("?token="), "the URL carries the token: {url}");
    let server_port: u16 = addr.rsplit_once(':').unwrap().1.parse().unwrap();
    let plans = vec![
        StreamPlan {
            cut_in_event: Some(4),
            ..StreamPlan::default()
        },
        StreamPlan {
            strip_last_event_id: true,
            cut_in_event: Some(7),
        },
    ];
    let proxy = Proxy::start(server_port, plans);
    let url = format!("http://127.0.0.1:{}/{query}", proxy.port);
    let driver_port = free_port();
    let _driver = Killed(
        Command::new(&driver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let start = Instant::now();
    while http_ready(driver_port).is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = d.join("chromium-profile");
    // The flags this closed network needs (no background connections).
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1500,1900",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args}
    }}});
    let (code, v) = http(driver_port, "POST", "/session", Some(&caps));
    assert_eq!(code, 200, "new session: {v}");
    let b = Browser {
        port: driver_port,
        session: v["value"]["sessionId"].as_str().unwrap().to_string(),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drive(&b, &url, &d, &proxy)));
    let _ = http(driver_port, "DELETE", &format!("/session/{}", b.session), None);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn http_ready(port: u16) -> Option<()> {
    TcpStream::connect(("127.0.0.1", port)).ok()?;
    let (code, v) = http(port, "GET", "/status", None);
    (code == 200 && v["value"]["ready"] == json!(true)).then_some(())
}

fn drive(b: &Browser, url: &str, d: &Path, proxy: &Proxy) {
    b.cmd("POST", "url", Some(json!({"url": format!("{url}&scenario=tiny")})));
    b.wait_for(
        "return document.body.dataset.ready === 'true'",
        "the page to load",
        Duration::from_secs(30),
    );
    // The token went into a cookie and out of the address bar.
    let here = b.js("return location.href");
    assert!(!here.as_str().unwrap().contains("token"), "{here}");
    // Ten simulated minutes: the stream is cut while the job runs.
    b.js("const d = document.getElementById('duration'); d.value = 600; d.dispatchEvent(new Event('input'));");
    // Move the workers slider with the keyboard, as a user would.
    let sel = "input[type=range][data-key='instance.workers']";
    let before = b.js(&format!("return document.querySelector(\"{sel}\").value"));
    let slider = b.element(sel);
    b.cmd("POST", &format!("element/{slider}/click"), Some(json!({})));
    let left = "\u{E012}"; // ArrowLeft
    b.cmd(
        "POST",
        &format!("element/{slider}/value"),
        Some(json!({"text": left.repeat(3)})),
    );
    let after = b.js(&format!("return document.querySelector(\"{sel}\").value"));
    assert_ne!(before, after, "the slider did not move");
    b.wait_for(
        "return document.querySelector(\".knob.changed[data-key='instance.workers']\") !== null \
         && document.getElementById('cli').textContent.includes('--set instance.workers=')",
        "the knob to be marked changed and the CLI command to show it",
        Duration::from_secs(10),
    );
    let run = b.element("#run");
    b.cmd("POST", &format!("element/{run}/click"), Some(json!({})));
    let clicked = Instant::now();
    b.wait_for(
        "return Number(document.getElementById('chart-latency').dataset.points || 0) > 0",
        "the first point of the latency chart",
        Duration::from_secs(300),
    );
    let first_point = clicked.elapsed();
    b.wait_for(
        "return document.querySelectorAll('#verdicts .badge.pass, #verdicts .badge.fail').length",
        "the SLO verdict badges",
        Duration::from_secs(600),
    );
    let status = b.wait_for(
        "return document.body.dataset.jobStatus",
        "the job to finish",
        Duration::from_secs(600),
    );
    assert_eq!(status, "done");
    let page_ms = b.js("return Number(document.body.dataset.firstPointMs)");
    let verdict = b.js("return document.getElementById('verdicts').dataset.verdict");
    assert!(verdict == "pass" || verdict == "fail", "{verdict}");
    let cli = b.js("return document.getElementById('cli').textContent");
    assert!(cli.as_str().unwrap().contains("--set instance.workers="), "{cli}");
    let points = b.js("return Number(document.getElementById('chart-latency').dataset.points)");
    assert!(points.as_u64().unwrap() >= 20, "latency chart has {points} points");
    // The stream was cut twice and the browser came back each time, with
    // the id of the last whole event it had.
    let seen = proxy.seen();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen[0].cut && seen[1].cut, "{seen:?}");
    assert_eq!(seen[0].last_event_id, None, "{seen:?}");
    assert_eq!(seen[1].last_event_id.as_deref(), Some("3"), "{seen:?}");
    assert_eq!(seen[2].last_event_id.as_deref(), Some("6"), "{seen:?}");
    let opens = b.js("return Number(document.body.dataset.streamOpens)");
    assert!(opens.as_u64().unwrap() >= 3, "the page saw {opens} stream openings");
    // Every sample interval once: 600 s / 5 s, strictly increasing times.
    let times = b.js("return state.series.a.map((r) => r.t)");
    let times: Vec<f64> = times.as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
    assert_eq!(times.len(), 600 / 5, "points on the chart: {times:?}");
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "a point twice or out of order: {times:?}"
    );
    // The files of the run are where the command says.
    let out = b.js("return document.getElementById('status').textContent");
    assert!(out.as_str().unwrap().contains("results/serve/run-tiny-"), "{out}");
    let png = base64_decode(b.cmd("GET", "screenshot", None).as_str().unwrap());
    assert_eq!(&png[..4], b"\x89PNG");
    let shot_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/serve-e2e");
    std::fs::create_dir_all(&shot_dir).unwrap();
    std::fs::write(shot_dir.join("dashboard.png"), &png).unwrap();
    let _ = std::fs::remove_dir_all(d.join("chromium-profile"));
    eprintln!(
        "serve e2e: Run → first chart point {} ms (page clock {page_ms} ms), verdict {verdict}; stream requests \
         {seen:?}; screenshot {}",
        first_point.as_millis(),
        shot_dir.join("dashboard.png").display()
    );
}
