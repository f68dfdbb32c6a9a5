//! `tenantsim fit --prometheus` with and without the component histograms
//! (CPU seconds per endpoint, pool hold and pool wait): with them each
//! endpoint's latency is split into CPU demand, query time, pool wait and
//! the rest; without them the output says the whole latency was taken as
//! CPU demand.

use super::tmpdir;
use assert_cmd::Command;

/// A counter or sum series from 0 at t = 1000 to `v` at t = 1120.
fn series(name: &str, labels: &str, v: f64) -> String {
    let sep = if labels.is_empty() { "" } else { "," };
    format!(
        r#"{{"metric":{{"__name__":"{name}"{sep}{labels}}},"values":[[1000,"0"],[1060,"{}"],[1120,"{v}"]]}}"#,
        v / 2.0
    )
}

/// A saved query_range export: `read` (1,200 requests, mean latency 6 ms)
/// and `cpu` (600 requests, 4 ms), with latency buckets; `components`
/// adds CPU seconds per endpoint (read 1 ms, cpu 4 ms) and unlabelled pool
/// hold (4 ms) and wait (0.5 ms) histograms over 1,200 acquisitions.
fn export(components: bool) -> String {
    let mut s = vec![
        series("http_requests_total", r#""endpoint":"read","status":"200""#, 1200.0),
        series("http_requests_total", r#""endpoint":"cpu","status":"200""#, 600.0),
        series("http_request_duration_seconds_sum", r#""endpoint":"read""#, 7.2),
        series("http_request_duration_seconds_count", r#""endpoint":"read""#, 1200.0),
        series("http_request_duration_seconds_sum", r#""endpoint":"cpu""#, 2.4),
        series("http_request_duration_seconds_count", r#""endpoint":"cpu""#, 600.0),
    ];
    for (ep, counts) in [("read", [100.0, 1100.0, 1200.0]), ("cpu", [300.0, 600.0, 600.0])] {
        for (le, c) in ["0.004", "0.01", "+Inf"].iter().zip(counts) {
            s.push(series(
                "http_request_duration_seconds_bucket",
                &format!(r#""endpoint":"{ep}","le":"{le}""#),
                c,
            ));
        }
    }
    if components {
        s.push(series("svc_cpu_seconds_sum", r#""endpoint":"read""#, 1.2));
        s.push(series("svc_cpu_seconds_count", r#""endpoint":"read""#, 1200.0));
        s.push(series("svc_cpu_seconds_sum", r#""endpoint":"cpu""#, 2.4));
        s.push(series("svc_cpu_seconds_count", r#""endpoint":"cpu""#, 600.0));
        s.push(series("svc_hold_seconds_sum", "", 4.8));
        s.push(series("svc_hold_seconds_count", "", 1200.0));
        s.push(series("svc_wait_seconds_sum", "", 0.6));
        s.push(series("svc_wait_seconds_count", "", 1200.0));
    }
    format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
        s.join(",")
    )
}

fn fit(name: &str, components: bool) -> (String, String, tenantsim::scenario::Scenario) {
    let d = tmpdir(name);
    let input = d.join("export.json");
    std::fs::write(&input, export(components)).unwrap();
    let out = d.join("fitted.toml");
    let run = Command::cargo_bin("tenantsim")
        .unwrap()
        .arg("fit")
        .arg("--prometheus")
        .arg(&input)
        .args(["--prom-cpu", "svc_cpu_seconds", "--prom-hold", "svc_hold_seconds"])
        .args(["--prom-wait", "svc_wait_seconds", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let sc = tenantsim::scenario::load(&out, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (stderr, text, sc)
}

/// The `[endpoint.NAME]` table's text, up to the next top-level table.
fn table<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("[endpoint.{name}]"))
        .unwrap_or_else(|| panic!("{text}"));
    let rest = &text[start + 1..];
    let end = rest
        .find("\n[endpoint.")
        .or_else(|| rest.find("\n[instance]"))
        .unwrap_or(rest.len());
    &text[start..start + 1 + end]
}

#[test]
fn prometheus_component_series_split_latency_into_cpu_hold_and_rest() {
    let (stderr, text, _sc) = fit("fit-prom-components", true);
    let read = table(&text, "read");
    // read: 6 ms = 1 ms CPU + 4 ms hold + 0.5 ms pool wait + 0.5 ms rest;
    // the unlabelled hold goes to `read`, the only endpoint with non-CPU time.
    assert!(read.contains("cpu = \"1ms\""), "{read}");
    assert!(
        read.contains("db_queries = 1") && read.contains("query = \"4ms\""),
        "{read}"
    );
    assert!(read.contains("wait = \"500us\""), "{read}");
    let cpu = table(&text, "cpu");
    assert!(cpu.contains("cpu = \"4ms\"") && !cpu.contains("db_queries"), "{cpu}");
    assert!(text.contains("[pool]") && text.contains("[database]"), "{text}");
    assert!(
        stderr.contains("connection hold: series `svc_hold_seconds` has no endpoint label: ASSUMED"),
        "{stderr}"
    );
    assert!(!text.contains("ASSUMED: latency is CPU demand"), "{text}");
}

#[test]
fn without_component_series_fit_says_latency_was_taken_as_cpu() {
    let (stderr, text, _sc) = fit("fit-prom-no-components", false);
    let says = "no CPU series (`svc_cpu_seconds_sum`/`_count`): ASSUMED the whole latency is CPU demand";
    assert!(stderr.contains(says), "{stderr}");
    assert!(text.contains(says), "{text}");
    assert!(
        table(&text, "read").contains("ASSUMED: latency is CPU demand"),
        "{text}"
    );
    assert!(!text.contains("db_queries") && !text.contains("[pool]"), "{text}");
}
