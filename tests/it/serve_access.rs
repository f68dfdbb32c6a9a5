//! Who may use `tenantsim serve`: DNS rebinding (a foreign Host → 403 for
//! the page, the API and the stream), cross-site requests (a foreign Origin
//! → 403, nothing started), the token (missing or wrong → 401, right → 200;
//! the page's `?token=` becomes a cookie), and the CLI's refusals (no token
//! beyond loopback, a weak token → exit 2). The last test asks the real
//! binary the two questions over TCP.

use crate::serve::{config, tiny_dir, TOKEN};
use crate::{app, send};
use actix_web::{test, web, App};
use serde_json::{json, Value};
use tenantsim::serve::{configure, AppState};

/// Call the app exactly as given (no Host or token added): status,
/// headers, body text.
macro_rules! raw {
    ($app:expr, $req:expr) => {{
        let resp = test::call_service($app, $req.to_request()).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        (status, headers, body)
    }};
}

fn bearer() -> (&'static str, String) {
    ("authorization", format!("Bearer {TOKEN}"))
}

#[actix_web::test]
async fn a_foreign_host_is_refused_for_the_page_the_api_and_the_stream() {
    let d = tiny_dir("serve-rebinding");
    let app = app!(config(&d));
    let (code, sub) = send!(
        &app,
        test::TestRequest::post()
            .uri("/api/runs")
            .set_json(json!({"scenario": "tiny", "replications": 1}))
    );
    assert_eq!(code, 202);
    let events = sub["events"].as_str().unwrap();
    for uri in [
        "/",
        "/app.js",
        "/api/scenarios",
        "/api/scenarios/tiny",
        "/api/jobs",
        events,
    ] {
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example:8080",
            "127.0.0.1.nip.io",
        ] {
            // The right token does not help: a rebound page could have
            // read it from nowhere, but the Host alone must decide.
            let (code, _, body) = raw!(
                &app,
                test::TestRequest::get()
                    .uri(uri)
                    .insert_header(("host", host))
                    .insert_header(bearer())
            );
            assert_eq!(code, 403, "{host} {uri}: {body}");
            assert!(body.contains("--allow-host"), "{body}");
        }
    }
    // Forwarding headers are not believed.
    let (code, _, _) = raw!(
        &app,
        test::TestRequest::get()
            .uri("/api/jobs")
            .insert_header(("host", "evil.example"))
            .insert_header(("x-forwarded-host", "localhost"))
            .insert_header(("forwarded", "host=localhost"))
            .insert_header(bearer())
    );
    assert_eq!(code, 403);
    for host in [
        "localhost",
        "localhost:8080",
        "LOCALHOST:9",
        "127.0.0.1:8080",
        "[::1]:8080",
    ] {
        let (code, _, body) = raw!(
            &app,
            test::TestRequest::get()
                .uri("/api/jobs")
                .insert_header(("host", host))
                .insert_header(bearer())
        );
        assert_eq!(code, 200, "{host}: {body}");
    }
    // A name given with --allow-host.
    let app2 = app!(tenantsim::serve::ServeConfig {
        allow_hosts: vec!["box.lan".into()],
        ..config(&d)
    });
    let (code, _, _) = raw!(
        &app2,
        test::TestRequest::get()
            .uri("/api/jobs")
            .insert_header(("host", "box.lan:8080"))
            .insert_header(bearer())
    );
    assert_eq!(code, 200);
}

#[actix_web::test]
async fn a_cross_site_request_is_refused_and_starts_nothing() {
    let d = tiny_dir("serve-csrf");
    let app = app!(config(&d));
    let cookie = ("cookie", format!("tenantsim-token-8080={TOKEN}"));
    let post = || {
        test::TestRequest::post()
            .uri("/api/runs")
            .insert_header(("host", "127.0.0.1:8080"))
            .set_json(json!({"scenario": "tiny"}))
    };
    for origin in [
        "http://evil.example",
        "null",
        "http://127.0.0.1:8080.evil.example",
        "http://127.0.0.1:9999",
    ] {
        for auth in [cookie.clone(), bearer()] {
            let (code, _, body) = raw!(&app, post().insert_header(("origin", origin)).insert_header(auth));
            assert_eq!(code, 403, "{origin}: {body}");
        }
    }
    // Without Origin, the page's cookie is not enough (browsers always send
    // Origin on a POST; a client without one must show the token itself).
    let (code, _, body) = raw!(&app, post().insert_header(cookie.clone()));
    assert_eq!(code, 403, "{body}");
    let (_, jobs) = send!(&app, test::TestRequest::get().uri("/api/jobs"));
    assert_eq!(jobs, json!([]), "nothing was started");
    // The page's own requests pass: same Origin, cookie.
    let (code, _, body) = raw!(
        &app,
        post()
            .insert_header(("origin", "http://127.0.0.1:8080"))
            .insert_header(cookie.clone())
    );
    assert_eq!(code, 202, "{body}");
    let job: Value = serde_json::from_str(&body).unwrap();
    let url = job["url"].as_str().unwrap();
    // A cross-site DELETE cannot cancel it.
    let (code, _, _) = raw!(
        &app,
        test::TestRequest::delete()
            .uri(url)
            .insert_header(("host", "127.0.0.1:8080"))
            .insert_header(("origin", "http://evil.example"))
            .insert_header(cookie)
    );
    assert_eq!(code, 403);
    // A script with the token and no Origin.
    let (code, _, body) = raw!(&app, post().insert_header(bearer()));
    assert_eq!(code, 202, "{body}");
}

#[actix_web::test]
async fn the_token_is_required_and_the_page_turns_it_into_a_cookie() {
    let d = tiny_dir("serve-token");
    let app = app!(config(&d));
    let get = |uri: &str| {
        test::TestRequest::get()
            .uri(uri)
            .insert_header(("host", "localhost:8080"))
    };
    for uri in ["/", "/api/scenarios", "/api/jobs", "/api/runs/1", "/api/runs/1/events"] {
        let (code, _, body) = raw!(&app, get(uri));
        assert_eq!(code, 401, "{uri}: {body}");
        assert!(body.contains("token"), "{body}");
        for wrong in [
            ("authorization", "Bearer wrong-token-0123456789".to_string()),
            ("x-tenantsim-token", format!("{TOKEN}x")),
            ("cookie", "tenantsim-token-8080=nope".to_string()),
        ] {
            let (code, _, _) = raw!(&app, get(uri).insert_header(wrong.clone()));
            assert_eq!(code, 401, "{uri} {wrong:?}");
        }
    }
    let (code, _, _) = raw!(&app, get("/api/scenarios?token=wrong-token-0123456789"));
    assert_eq!(code, 401);
    // The right token, each way.
    for right in [
        bearer(),
        ("x-tenantsim-token", TOKEN.to_string()),
        ("cookie", format!("tenantsim-token-8080={TOKEN}")),
    ] {
        let (code, _, body) = raw!(&app, get("/api/scenarios").insert_header(right.clone()));
        assert_eq!(code, 200, "{right:?}: {body}");
    }
    let (code, _, _) = raw!(&app, get(&format!("/api/scenarios?token={TOKEN}")));
    assert_eq!(code, 200);
    // The static assets hold no data.
    let (code, _, _) = raw!(&app, get("/style.css"));
    assert_eq!(code, 200);
    // Opening the printed URL: a cookie, and the token leaves the address bar.
    let (code, headers, _) = raw!(&app, get(&format!("/?token={TOKEN}&scenario=tiny")));
    assert_eq!(code, 303);
    assert_eq!(headers.get("location").unwrap(), "/?scenario=tiny");
    let set = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.starts_with(&format!("tenantsim-token-8080={TOKEN};")), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_string();
    let (code, _, body) = raw!(&app, get("/?scenario=tiny").insert_header(("cookie", cookie)));
    assert_eq!(code, 200);
    assert!(body.contains("<canvas"), "the page");
}

/// The real binary (no actix test harness here, so `#[test]` is the
/// standard one).
mod real_binary {
    use crate::serve::{tiny_dir, TOKEN};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    fn tenantsim(args: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("tenantsim").unwrap();
        c.args(args)
            .env_remove("TENANTSIM_SERVE_TOKEN")
            .timeout(Duration::from_secs(60));
        c
    }

    #[test]
    fn serve_refuses_to_run_without_a_token_beyond_loopback_or_with_a_weak_one() {
        let d = tiny_dir("serve-cli-token");
        let dir = d.join("scenarios");
        let dir = dir.to_str().unwrap();
        let out = tenantsim(&["serve", dir, "--bind", "0.0.0.0:0", "--no-token"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--no-token") && err.contains("0.0.0.0"), "{err}");
        assert!(
            out.stdout.is_empty(),
            "nothing served: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let out = tenantsim(&["serve", dir, "--bind", "127.0.0.1:0", "--token", "short"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--token") && err.contains("at least 16"), "{err}");
        let out = tenantsim(&["serve", dir, "--bind", "127.0.0.1:0"])
            .env("TENANTSIM_SERVE_TOKEN", "no spaces allowed here")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("TENANTSIM_SERVE_TOKEN"));
        let out = tenantsim(&["serve", dir, "--no-token", "--token", TOKEN])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--token and --no-token conflict");
    }

    /// One HTTP/1.1 request over TCP: the status and the body.
    fn request(port: u16, head: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let body = if head.starts_with("POST") {
            "{\"scenario\":\"tiny\"}"
        } else {
            ""
        };
        write!(
            s,
            "{head}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (
            status,
            text.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default(),
        )
    }

    /// A `tenantsim serve` child, killed when dropped.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Start the real server on a free port: it and the URL it printed.
    fn start(d: &std::path::Path, env_token: Option<&str>) -> (Server, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tenantsim"));
        c.args(["serve", "scenarios", "--bind", "127.0.0.1:0"])
            .current_dir(d)
            .env_remove("TENANTSIM_SERVE_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(t) = env_token {
            c.env("TENANTSIM_SERVE_TOKEN", t);
        }
        let mut server = Server(c.spawn().expect("start tenantsim serve"));
        let mut line = String::new();
        let mut out = BufReader::new(server.0.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        // Keep draining stdout: the server prints more lines after the URL,
        // and a closed pipe would kill it with EPIPE in the middle of a test.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        (server, url)
    }

    #[test]
    fn the_real_server_refuses_rebinding_cross_site_posts_and_missing_tokens() {
        let d = tiny_dir("serve-tcp-access");
        // A fresh random token, printed in the URL.
        let (_server, url) = start(&d, None);
        let (addr, token) = url
            .strip_prefix("http://")
            .and_then(|u| u.split_once("/?token="))
            .unwrap_or_else(|| panic!("{url}"));
        assert_eq!(token.len(), 48, "{url}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
        let port: u16 = addr.rsplit_once(':').unwrap().1.parse().unwrap();
        let auth = format!("Authorization: Bearer {token}");
        // The two findings: `Host: evil.example` got 200, a POST with
        // `Origin: http://evil.example` got 202.
        let (code, body) = request(port, &format!("GET / HTTP/1.1\r\nHost: evil.example\r\n{auth}"));
        assert_eq!(code, 403, "{body}");
        let (code, body) = request(
            port,
            &format!("POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n{auth}"),
        );
        assert_eq!(code, 403, "{body}");
        let (code, _) = request(port, &format!("GET /api/scenarios HTTP/1.1\r\nHost: 127.0.0.1:{port}"));
        assert_eq!(code, 401);
        let (code, body) = request(
            port,
            &format!("GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}"),
        );
        assert_eq!((code, body.as_str()), (200, "[]"), "the refused POST started nothing");
        // The token from the environment.
        let (_server2, url2) = start(&d, Some(TOKEN));
        assert!(url2.ends_with(&format!("/?token={TOKEN}")), "{url2}");
    }
}
