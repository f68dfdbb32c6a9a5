//! `fit --prometheus URL`: the range queries `fit` needs, asked of a live
//! Prometheus server over its HTTP API (`/api/v1/query_range`), returned as
//! the export [`super::prometheus::parse_export`] reads (a list of
//! responses). A plain HTTP/1.0 GET over `std::net::TcpStream`: no TLS, no
//! redirects, no proxy — a server on the same host or network, as the
//! testbed's; for anything else save an export with curl and pass the file.

use super::prometheus::ComponentNames;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Every series name to ask for: [`QUERIES`], then the component ones.
pub fn queries(names: &ComponentNames) -> Vec<String> {
    let mut v: Vec<String> = QUERIES.iter().map(|q| q.to_string()).collect();
    v.extend(names.series());
    v
}

/// The series `fit` reads (see [`super::prometheus`]), besides the
/// component histograms of [`ComponentNames::series`].
pub const QUERIES: &[&str] = &[
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "container_cpu_usage_seconds_total",
    "kube_deployment_status_replicas",
];

/// The most points one query may return (Prometheus refuses > 11,000).
const MAX_POINTS: f64 = 10_000.0;

/// (host:port, path prefix) of an `http://` URL.
pub fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("`{url}`: only http:// URLs are read live (for https, save a query_range export and pass the file)")
    })?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if hostport.is_empty() {
        return Err(format!("`{url}`: no host"));
    }
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    Ok((hostport, path.to_string()))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `path` from `hostport`; the body of a 200 answer.
pub fn get(hostport: &str, path: &str) -> Result<String, String> {
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("{hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hostport}: no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|e| format!("{hostport}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let host = hostport.split(':').next().unwrap_or(hostport);
    // HTTP/1.0: the server closes the connection after the body and sends
    // no chunked encoding, so the answer is everything until EOF.
    let req = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| format!("{hostport}: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| format!("{hostport}: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{hostport}: not an HTTP answer"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        let first = head.lines().next().unwrap_or("");
        return Err(format!(
            "GET http://{hostport}{path}: {first}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    Ok(body.to_string())
}

/// Ask `url` (a Prometheus server) for [`queries`] over [start, end] (Unix
/// seconds); the answers as one export. A query with no series is left out.
pub fn fetch_export(url: &str, start: f64, end: f64, names: &ComponentNames) -> Result<String, String> {
    let queries = queries(names);
    if start.is_nan() || end.is_nan() || end <= start {
        return Err(format!("the range [{start}, {end}] is empty"));
    }
    let (hostport, prefix) = split_url(url)?;
    let step = ((end - start) / MAX_POINTS).max(1.0).ceil();
    let mut answers = Vec::new();
    for q in &queries {
        let path = format!(
            "{prefix}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
            encode(q)
        );
        let body = get(&hostport, &path)?;
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("{url}: {q}: not JSON: {e}"))?;
        let empty = v["data"]["result"].as_array().is_none_or(|r| r.is_empty());
        if !empty {
            answers.push(body);
        }
    }
    if answers.is_empty() {
        return Err(format!(
            "{url} has none of {} between {start:.0} and {end:.0}",
            queries.join(", ")
        ));
    }
    Ok(format!("[{}]", answers.join(",\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Read a request's head; its first line.
    fn read_head(c: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        let mut b = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = c.read(&mut b).unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&b[..n]);
        }
        String::from_utf8_lossy(&buf).lines().next().unwrap_or("").to_string()
    }

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:9090").unwrap(),
            ("127.0.0.1:9090".into(), "".into())
        );
        assert_eq!(split_url("http://prom/x/").unwrap(), ("prom:80".into(), "/x".into()));
        assert!(split_url("https://prom").is_err());
        assert_eq!(encode("a{b=\"c\"}"), "a%7Bb%3D%22c%22%7D");
    }

    /// A Prometheus stand-in on loopback answers each query_range with a
    /// canned matrix; the export it yields fits like a saved one.
    #[test]
    fn fetches_range_queries_from_a_live_server() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut asked = Vec::new();
            for _ in 0..queries(&ComponentNames::default()).len() {
                let (mut c, _) = l.accept().unwrap();
                let line = read_head(&mut c);
                asked.push(line.clone());
                let body = if line.contains("query=http_requests_total&") {
                    r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"http_requests_total","endpoint":"read","status":"200"},"values":[[1000,"0"],[1060,"600"],[1120,"1200"]]}]}}"#
                } else if line.contains("http_request_duration_seconds_bucket") {
                    r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"http_request_duration_seconds_bucket","endpoint":"read","le":"0.005"},"values":[[1000,"0"],[1120,"700"]]},{"metric":{"__name__":"http_request_duration_seconds_bucket","endpoint":"read","le":"0.01"},"values":[[1000,"0"],[1120,"1100"]]},{"metric":{"__name__":"http_request_duration_seconds_bucket","endpoint":"read","le":"+Inf"},"values":[[1000,"0"],[1120,"1200"]]}]}}"#
                } else {
                    r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#
                };
                write!(c, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}").unwrap();
            }
            asked
        });
        let export = fetch_export(&format!("http://{addr}"), 1000.0, 1120.0, &ComponentNames::default()).unwrap();
        let asked = server.join().unwrap();
        assert!(
            asked[0]
                .starts_with("GET /api/v1/query_range?query=http_requests_total&start=1000.000&end=1120.000&step=1 "),
            "{asked:?}"
        );
        let series = crate::fit::prometheus::parse_export(&export).unwrap();
        let fit = crate::fit::prometheus::fit_export(&series).unwrap();
        assert!((fit.requests - 1200.0).abs() < 1e-9, "{}", fit.requests);
        assert!(fit.latency.contains_key("read"));
    }

    #[test]
    fn an_error_answer_is_reported() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            read_head(&mut c);
            write!(c, "HTTP/1.0 400 Bad Request\r\n\r\n{{\"error\":\"bad query\"}}").unwrap();
        });
        let e = fetch_export(&format!("http://{addr}"), 0.0, 60.0, &ComponentNames::default()).unwrap_err();
        t.join().unwrap();
        assert!(e.contains("400") && e.contains("bad query"), "{e}");
    }
}
