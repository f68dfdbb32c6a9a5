//! Access logs: reading CSV, JSON lines and nginx/envoy text logs into
//! [`Request`] records.
//!
//! Columns of CSV and JSON logs are found by name (a list of the usual
//! spellings per field, e.g. `latency_ms`, `request_time`, `duration`) or
//! mapped by flags ([`Columns`]). Text logs are recognised by shape: the
//! nginx `combined` format, optionally followed by `key=value` fields
//! (`rt=$request_time tenant=$http_x_tenant`) or a bare `$request_time`;
//! and envoy's default access-log format. Lines that cannot be read are
//! counted and the first few kept as examples, never fatal unless nothing
//! can be read, or the requests span more than [`super::MAX_SPAN_S`] (the
//! error names the earliest and the latest line). Records come back sorted
//! by time.

use super::timestamp::parse_timestamp;
use std::path::Path;

/// One request of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Seconds since the Unix epoch (or since the log's own origin for
    /// relative timestamps).
    pub t: f64,
    pub tenant: String,
    /// Endpoint name as it will appear in the scenario (see [`endpoint_name`]).
    pub endpoint: String,
    pub status: u16,
    pub latency_s: Option<f64>,
    pub bytes: Option<u64>,
}

/// Log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Auto,
    Csv,
    Jsonl,
    Nginx,
    Envoy,
}

/// Column (or JSON key) names given by flags; None means "find it".
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub timestamp: Option<String>,
    pub tenant: Option<String>,
    pub endpoint: Option<String>,
    pub status: Option<String>,
    pub latency: Option<String>,
    pub bytes: Option<String>,
}

/// How a log is read.
#[derive(Clone, Debug)]
pub struct LogOptions {
    pub format: Format,
    pub columns: Columns,
    /// Seconds per unit of a unitless latency number; None: from the
    /// column name's suffix, else guessed from the median.
    pub latency_unit: Option<f64>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            format: Format::Auto,
            columns: Columns::default(),
            latency_unit: None,
        }
    }
}

/// What was read, and how.
#[derive(Debug)]
pub struct ParsedLog {
    pub requests: Vec<Request>,
    pub format: Format,
    /// (field, the column or source it came from).
    pub mapping: Vec<(&'static str, String)>,
    pub skipped: usize,
    /// The first few unreadable lines: (line number, why).
    pub skipped_examples: Vec<(usize, String)>,
    /// How unitless latency numbers were read, when that was guessed.
    pub latency_note: Option<String>,
}

const TIME_NAMES: &[&str] = &[
    "timestamp",
    "time",
    "ts",
    "@timestamp",
    "time_local",
    "time_iso8601",
    "start_time",
    "datetime",
    "date",
    "time_s",
    "request_time_start",
];
const TENANT_NAMES: &[&str] = &[
    "tenant",
    "tenant_id",
    "tenantid",
    "customer",
    "customer_id",
    "account",
    "account_id",
    "org",
    "org_id",
    "organization",
    "client_id",
    "remote_user",
];
const ENDPOINT_NAMES: &[&str] = &[
    "endpoint",
    "route",
    "operation",
    "handler",
    "path",
    "uri",
    "request_uri",
    "url",
    "request",
    "method_path",
];
const STATUS_NAMES: &[&str] = &["status", "status_code", "response_code", "code", "http_status"];
const LATENCY_NAMES: &[&str] = &[
    "latency",
    "latency_s",
    "latency_ms",
    "latency_us",
    "duration",
    "duration_s",
    "duration_ms",
    "duration_us",
    "request_time",
    "response_time",
    "response_time_ms",
    "elapsed",
    "elapsed_ms",
    "took_ms",
    "upstream_response_time",
];
const BYTES_NAMES: &[&str] = &[
    "bytes",
    "bytes_sent",
    "body_bytes_sent",
    "size",
    "response_size",
    "bytes_out",
];

fn find_col(headers: &[String], given: &Option<String>, names: &[&str], what: &str) -> Result<Option<usize>, String> {
    if let Some(g) = given {
        return headers
            .iter()
            .position(|h| h == g)
            .map(Some)
            .ok_or_else(|| format!("no column `{g}` for the {what} (columns: {})", headers.join(", ")));
    }
    let lower: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    Ok(names.iter().find_map(|n| lower.iter().position(|h| h == n)))
}

/// Seconds per unit implied by a latency column's name, if it says.
fn unit_of(name: &str) -> Option<f64> {
    let n = name.to_ascii_lowercase();
    if n.ends_with("_ms") || n.ends_with("millis") {
        Some(1e-3)
    } else if n.ends_with("_us") || n.ends_with("micros") {
        Some(1e-6)
    } else if n.ends_with("_ns") {
        Some(1e-9)
    } else if n.ends_with("_s") || n.ends_with("seconds") || n == "request_time" || n == "upstream_response_time" {
        Some(1.0)
    } else {
        None
    }
}

/// A tabular log's row: (line number, cell per column).
type Row = (usize, Vec<Option<String>>);

/// Read `path`.
pub fn read_log(path: &Path, o: &LogOptions) -> Result<ParsedLog, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut p = parse_log(&text, o).map_err(|m| format!("{}: {m}", path.display()))?;
    p.requests.sort_by(|a, b| a.t.total_cmp(&b.t));
    Ok(p)
}

/// Which format `text` is in, from its first non-empty line.
pub fn detect(text: &str) -> Format {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if first.starts_with('{') {
        return Format::Jsonl;
    }
    let toks = tokenize(first);
    if toks.len() >= 9 && toks[3].starts_with('[') && toks[4].starts_with('"') {
        return Format::Nginx;
    }
    if toks.len() >= 7 && toks[0].starts_with('[') && toks[1].starts_with('"') && toks[2].parse::<u16>().is_ok() {
        return Format::Envoy;
    }
    Format::Csv
}

/// Parse a log held in memory (unsorted).
pub fn parse_log(text: &str, o: &LogOptions) -> Result<ParsedLog, String> {
    let format = if o.format == Format::Auto {
        detect(text)
    } else {
        o.format
    };
    let mut out = ParsedLog {
        requests: Vec::new(),
        format,
        mapping: Vec::new(),
        skipped: 0,
        skipped_examples: Vec::new(),
        latency_note: None,
    };
    // Latencies of tabular logs as read (unit applied afterwards, so the
    // median guess sees them all), and the line number of each request
    // (for the span check's message).
    let mut read = ReadLines::default();
    let mut unit: Option<f64> = o.latency_unit;
    match format {
        Format::Csv | Format::Jsonl => {
            let (headers, rows) = if format == Format::Csv {
                read_csv_rows(text, &mut out)?
            } else {
                read_jsonl_rows(text, &mut out)
            };
            parse_rows(&headers, rows, o, &mut out, &mut read, &mut unit)?;
        }
        Format::Nginx | Format::Envoy => parse_text_lines(text, format, &mut out, &mut read),
        Format::Auto => unreachable!("detect() never returns Auto"),
    }
    apply_latency_unit(&mut out, &read.raw_latency, unit);
    if out.requests.is_empty() {
        let ex = out
            .skipped_examples
            .first()
            .map(|(l, w)| format!(" (line {l}: {w})"))
            .unwrap_or_default();
        return Err(format!("no request could be read from the log{ex}"));
    }
    check_span(&out.requests, &read.lines)?;
    Ok(out)
}

/// What [`parse_log`] keeps per request besides the request itself:
/// `raw_latency[i]` and `lines[i]` belong to `out.requests[i]`.
#[derive(Default)]
struct ReadLines {
    /// The latency as read: (number, whether it carried its unit).
    raw_latency: Vec<Option<(f64, bool)>>,
    /// The line the request was read from.
    lines: Vec<usize>,
}

/// Count a line that could not be read, keeping the first five reasons.
fn skip(out: &mut ParsedLog, line: usize, why: String) {
    out.skipped += 1;
    if out.skipped_examples.len() < 5 {
        out.skipped_examples.push((line, why));
    }
}

/// A reader of a CSV log, or a tab-separated one when its first line has a
/// tab: fields trimmed, rows of any length (the caller checks them).
pub(crate) fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    let delim = if text.lines().next().unwrap_or("").contains('\t') {
        b'\t'
    } else {
        b','
    };
    csv::ReaderBuilder::new()
        .delimiter(delim)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// A CSV (or tab-separated) log's header and rows, each row with its line number.
fn read_csv_rows(text: &str, out: &mut ParsedLog) -> Result<(Vec<String>, Vec<Row>), String> {
    let mut rdr = csv_reader(text);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("cannot read the CSV header: {e}"))?
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        match rec {
            Ok(r) => rows.push((i + 2, r.iter().map(|s| Some(s.to_string())).collect())),
            Err(e) => skip(out, i + 2, e.to_string()),
        }
    }
    Ok((headers, rows))
}

/// A JSON-lines log as a table: the keys in order of first appearance, and
/// each object's values (strings as they are, other values as JSON text).
fn read_jsonl_rows(text: &str, out: &mut ParsedLog) -> (Vec<String>, Vec<Row>) {
    let mut headers: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                skip(out, i + 1, format!("not JSON: {e}"));
                continue;
            }
        };
        let Some(obj) = v.as_object() else {
            skip(out, i + 1, "not a JSON object".into());
            continue;
        };
        let mut row = vec![None; headers.len()];
        for (k, v) in obj {
            let idx = match headers.iter().position(|h| h == k) {
                Some(x) => x,
                None => {
                    headers.push(k.clone());
                    row.push(None);
                    headers.len() - 1
                }
            };
            row[idx] = match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            };
        }
        rows.push((i + 1, row));
    }
    (headers, rows)
}

/// Requests from a tabular log's rows: finds the columns (recorded in
/// `out.mapping`), the latency unit its header names, and reads each row.
fn parse_rows(
    headers: &[String],
    rows: Vec<Row>,
    o: &LogOptions,
    out: &mut ParsedLog,
    read: &mut ReadLines,
    unit: &mut Option<f64>,
) -> Result<(), String> {
    let c = &o.columns;
    let t_col = find_col(headers, &c.timestamp, TIME_NAMES, "timestamp")?.ok_or_else(|| {
        format!(
            "no timestamp column found (looked for {}); name it with --timestamp-col (columns: {})",
            TIME_NAMES.join(", "),
            headers.join(", ")
        )
    })?;
    let tenant_col = find_col(headers, &c.tenant, TENANT_NAMES, "tenant")?;
    let ep_col = find_col(headers, &c.endpoint, ENDPOINT_NAMES, "endpoint")?;
    let status_col = find_col(headers, &c.status, STATUS_NAMES, "status")?;
    let lat_col = find_col(headers, &c.latency, LATENCY_NAMES, "latency")?;
    let bytes_col = find_col(headers, &c.bytes, BYTES_NAMES, "bytes")?;
    let method_col = headers.iter().position(|h| h.eq_ignore_ascii_case("method"));
    for (field, col) in [
        ("timestamp", Some(t_col)),
        ("tenant", tenant_col),
        ("endpoint", ep_col),
        ("status", status_col),
        ("latency", lat_col),
        ("bytes", bytes_col),
    ] {
        out.mapping
            .push((field, col.map_or("(none)".to_string(), |i| headers[i].clone())));
    }
    if unit.is_none() {
        *unit = lat_col.and_then(|i| unit_of(&headers[i]));
    }
    let get = |row: &Vec<Option<String>>, col: Option<usize>| -> Option<String> {
        col.and_then(|i| row.get(i).cloned().flatten())
            .filter(|s| !s.is_empty() && s != "-")
    };
    for (line, row) in rows {
        let Some(ts) = get(&row, Some(t_col)) else {
            skip(out, line, "no timestamp".into());
            continue;
        };
        let Some(t) = parse_timestamp(&ts) else {
            skip(out, line, format!("unreadable timestamp `{ts}`"));
            continue;
        };
        let status = match get(&row, status_col) {
            None => 200,
            Some(s) => match s.parse::<f64>() {
                Ok(v) if (100.0..600.0).contains(&v) => v as u16,
                _ => {
                    skip(out, line, format!("unreadable status `{s}`"));
                    continue;
                }
            },
        };
        let lat = match get(&row, lat_col) {
            None => None,
            Some(s) => match parse_latency(&s) {
                Some(v) => Some(v),
                None => {
                    skip(out, line, format!("unreadable latency `{s}`"));
                    continue;
                }
            },
        };
        let ep = get(&row, ep_col).unwrap_or_else(|| "all".into());
        let ep = match get(&row, method_col) {
            Some(m) if ep.starts_with('/') => format!("{m} {ep}"),
            _ => ep,
        };
        read.raw_latency.push(lat);
        read.lines.push(line);
        out.requests.push(Request {
            t,
            tenant: get(&row, tenant_col).unwrap_or_else(|| "-".into()),
            endpoint: endpoint_name(&ep),
            status,
            latency_s: None,
            bytes: get(&row, bytes_col).and_then(|s| s.parse().ok()),
        });
    }
    Ok(())
}

/// Requests from an nginx or Envoy text log, one per line (their latency
/// carries its unit); records where each field comes from in `out.mapping`.
fn parse_text_lines(text: &str, format: Format, out: &mut ParsedLog, read: &mut ReadLines) {
    out.mapping = if format == Format::Nginx {
        vec![
            ("timestamp", "[$time_local]".into()),
            ("tenant", "tenant= field, else $remote_user".into()),
            ("endpoint", "\"$request\" (method and path template)".into()),
            ("status", "$status".into()),
            (
                "latency",
                "rt=/request_time= field or a trailing number (seconds)".into(),
            ),
            ("bytes", "$body_bytes_sent".into()),
        ]
    } else {
        vec![
            ("timestamp", "[%START_TIME%]".into()),
            ("tenant", "tenant= field, else the first label of :authority".into()),
            ("endpoint", "\"%REQ(:METHOD)% %REQ(:PATH)%\" (path template)".into()),
            ("status", "%RESPONSE_CODE%".into()),
            ("latency", "%DURATION% (milliseconds)".into()),
            ("bytes", "%BYTES_SENT%".into()),
        ]
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_text_line(line, format) {
            Ok(r) => {
                read.raw_latency.push(None);
                read.lines.push(i + 1);
                out.requests.push(r)
            }
            Err(why) => skip(out, i + 1, why),
        }
    }
}

/// Set each request's latency in seconds: unitless numbers take the
/// column's unit, else a guess from their median (noted in `out.latency_note`).
fn apply_latency_unit(out: &mut ParsedLog, raw_latency: &[Option<(f64, bool)>], unit: Option<f64>) {
    let plain: Vec<f64> = raw_latency
        .iter()
        .flatten()
        .filter(|(_, u)| !u)
        .map(|(v, _)| *v)
        .collect();
    let unit = unit.unwrap_or_else(|| {
        let mut p = plain.clone();
        p.sort_by(f64::total_cmp);
        let med = p.get(p.len() / 2).copied().unwrap_or(0.0);
        if !p.is_empty() {
            out.latency_note = Some(if med >= 1.0 {
                format!("latency numbers have no unit; read as milliseconds (median {med}); use --latency-unit to say otherwise")
            } else {
                format!("latency numbers have no unit; read as seconds (median {med}); use --latency-unit to say otherwise")
            });
        }
        if med >= 1.0 {
            1e-3
        } else {
            1.0
        }
    });
    for (r, l) in out.requests.iter_mut().zip(raw_latency) {
        if let Some((v, had_unit)) = l {
            r.latency_s = Some(if *had_unit { *v } else { v * unit });
        }
    }
}

/// Refuse requests spanning more than [`super::MAX_SPAN_S`], naming the
/// lines of the earliest and the latest (`lines[i]` is request i's line).
fn check_span(reqs: &[Request], lines: &[usize]) -> Result<(), String> {
    let by_t = |a: &(usize, &Request), b: &(usize, &Request)| a.1.t.total_cmp(&b.1.t);
    let (Some(first), Some(last)) = (
        reqs.iter().enumerate().min_by(by_t),
        reqs.iter().enumerate().max_by(by_t),
    ) else {
        return Ok(());
    };
    let span = last.1.t - first.1.t;
    if span <= super::MAX_SPAN_S {
        return Ok(());
    }
    // parse_log pushes a line number with every request: i is in range.
    let at = |(i, r): (usize, &Request)| format!("line {} ({})", lines[i], super::timestamp::rfc3339(r.t));
    Err(format!(
        "the log's requests span {}, from {} to {}: more than the {} `fit` reads. \
         Is a timestamp garbled or in another unit? Remove such lines, or fit a shorter part of the log",
        super::span_days(span),
        at(first),
        at(last),
        super::span_days(super::MAX_SPAN_S)
    ))
}

/// A latency value: a number (unit decided later: returns (v, false)) or a
/// number with a unit ("12ms", "0.3s": returns seconds, true).
fn parse_latency(s: &str) -> Option<(f64, bool)> {
    if let Ok(v) = s.parse::<f64>() {
        return (v.is_finite() && v >= 0.0).then_some((v, false));
    }
    crate::scenario::units::parse_duration_secs(s).ok().map(|v| (v, true))
}

/// Split a text log line into fields: `[...]` and `"..."` are one field each
/// (brackets and quotes kept, `\"` inside quotes allowed).
pub fn tokenize(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
            }
            _ => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    // key="quoted value"
                    if b[i] == b'"' {
                        i += 1;
                        while i < b.len() && b[i] != b'"' {
                            i += 1;
                        }
                    }
                    i += 1;
                }
                i = i.min(b.len());
            }
        }
        out.push(&line[start..i]);
    }
    out
}

fn unquote(s: &str) -> &str {
    s.trim_start_matches(['"', '[']).trim_end_matches(['"', ']'])
}

fn parse_text_line(line: &str, format: Format) -> Result<Request, String> {
    let tok = tokenize(line);
    let (time_i, req_i, status_i, bytes_i, extra_from) = if format == Format::Nginx {
        if tok.len() < 9 {
            return Err(format!("{} fields, the nginx combined format has 9", tok.len()));
        }
        (3, 4, 5, 6, 9)
    } else {
        if tok.len() < 7 {
            return Err(format!("{} fields, envoy's default format has 13", tok.len()));
        }
        (0, 1, 2, 5, 13)
    };
    let ts = unquote(tok[time_i]);
    let t = parse_timestamp(ts).ok_or_else(|| format!("unreadable timestamp `{ts}`"))?;
    let req = unquote(tok[req_i]);
    let status: u16 = tok[status_i]
        .parse()
        .map_err(|_| format!("unreadable status `{}`", tok[status_i]))?;
    let bytes = tok[bytes_i].parse().ok();
    // key=value extras (and a bare number: nginx $request_time).
    let mut tenant: Option<String> = None;
    let mut latency: Option<f64> = None;
    for x in tok.iter().skip(extra_from) {
        if let Some((k, v)) = x.split_once('=') {
            let v = unquote(v);
            match k {
                "tenant" | "tenant_id" | "x_tenant" | "x_tenant_id" | "org" | "account"
                    if !v.is_empty() && v != "-" =>
                {
                    tenant = Some(v.to_string())
                }
                "rt" | "request_time" | "urt" | "upstream_response_time" if latency.is_none() => {
                    latency = v.parse().ok()
                }
                "duration_ms" | "latency_ms" => latency = v.parse::<f64>().ok().map(|x| x / 1e3),
                _ => {}
            }
        } else if format == Format::Nginx && latency.is_none() {
            latency = x.parse().ok();
        }
    }
    if format == Format::Envoy {
        latency = latency.or_else(|| tok[6].parse::<f64>().ok().map(|ms| ms / 1e3));
        if tenant.is_none() {
            tenant = tok
                .get(11)
                .map(|a| unquote(a))
                .filter(|a| !a.is_empty() && *a != "-")
                .map(|a| a.split('.').next().unwrap_or(a).to_string());
        }
    } else if tenant.is_none() && tok[2] != "-" {
        tenant = Some(tok[2].to_string());
    }
    Ok(Request {
        t,
        tenant: tenant.unwrap_or_else(|| "-".into()),
        endpoint: endpoint_name(req),
        status,
        latency_s: latency.filter(|v| v.is_finite() && *v >= 0.0),
        bytes,
    })
}

/// An endpoint name a scenario can use as a bare key: a request line
/// (`GET /api/orders/123?x=1 HTTP/1.1`) or path becomes its method and
/// path template with ids replaced (`get_api_orders_id`); any other name
/// keeps letters, digits, `_` and `-`, other characters becoming `_`.
pub fn endpoint_name(raw: &str) -> String {
    let raw = raw.trim();
    let mut parts = raw.split_whitespace();
    let first = parts.next().unwrap_or("");
    let (method, path) = if first.starts_with('/') {
        (None, Some(first))
    } else if let Some(p) = parts.next().filter(|p| p.starts_with('/')) {
        (Some(first), Some(p))
    } else {
        (None, None)
    };
    let mut name = String::new();
    if let Some(path) = path {
        if let Some(m) = method {
            name.push_str(&m.to_ascii_lowercase());
        }
        let path = path.split(['?', '#']).next().unwrap_or("");
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let is_id = seg.chars().any(|c| c.is_ascii_digit())
                && (seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-') || seg.chars().all(|c| c.is_ascii_digit()));
            if !name.is_empty() {
                name.push('_');
            }
            if is_id {
                name.push_str("id");
            } else {
                name.push_str(&sanitize(&seg.to_ascii_lowercase()));
            }
        }
        if name.is_empty() || name == method.map(|m| m.to_ascii_lowercase()).unwrap_or_default() {
            name.push_str(if name.is_empty() { "root" } else { "_root" });
        }
        name
    } else {
        let s = sanitize(raw);
        if s.is_empty() {
            "all".into()
        } else {
            s
        }
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_become_templates() {
        assert_eq!(endpoint_name("GET /api/orders/123?x=1 HTTP/1.1"), "get_api_orders_id");
        assert_eq!(
            endpoint_name("POST /v1/tenants/3fa85f64-5717-4562-b3fc-2c963f66afa6/jobs"),
            "post_v1_tenants_id_jobs"
        );
        assert_eq!(endpoint_name("/healthz"), "healthz");
        assert_eq!(endpoint_name("GET / HTTP/1.1"), "get_root");
        assert_eq!(endpoint_name("search.v2"), "search_v2");
    }

    #[test]
    fn csv_columns_are_found_by_name_and_units_by_suffix() {
        let text = "ts,customer,route,status_code,duration_ms\n\
                    2024-05-01T13:00:01Z,acme,GET /a/1,200,12.5\n\
                    2024-05-01T13:00:00Z,globex,GET /a/2,503,40\n\
                    bad,acme,GET /a,200,1\n";
        let p = parse_log(text, &LogOptions::default()).unwrap();
        assert_eq!(p.format, Format::Csv);
        assert_eq!(p.requests.len(), 2);
        assert_eq!(p.skipped, 1);
        assert_eq!(p.requests[0].endpoint, "get_a_id");
        assert_eq!(p.requests[0].latency_s, Some(0.0125));
        assert_eq!(p.requests[1].status, 503);
        assert_eq!(p.requests[1].tenant, "globex");
    }

    #[test]
    fn json_lines_with_mapped_keys() {
        let text = "{\"when\": 1714568400.5, \"org\": \"acme\", \"op\": \"search\", \"ms\": 7}\n\
                    {\"when\": 1714568401.0, \"org\": \"initech\", \"op\": \"upload\", \"ms\": 70}\n";
        let o = LogOptions {
            columns: Columns {
                timestamp: Some("when".into()),
                endpoint: Some("op".into()),
                latency: Some("ms".into()),
                ..Columns::default()
            },
            latency_unit: Some(1e-3),
            ..LogOptions::default()
        };
        let p = parse_log(text, &o).unwrap();
        assert_eq!(p.format, Format::Jsonl);
        assert_eq!(p.requests[1].tenant, "initech");
        assert_eq!(p.requests[1].endpoint, "upload");
        assert_eq!(p.requests[1].latency_s, Some(0.07));
        let bad = LogOptions {
            columns: Columns {
                timestamp: Some("nope".into()),
                ..Columns::default()
            },
            ..LogOptions::default()
        };
        assert!(parse_log(text, &bad).unwrap_err().contains("no column `nope`"));
    }

    #[test]
    fn nginx_and_envoy_lines() {
        let nginx = "10.0.0.1 - acme [01/May/2024:13:00:00 +0000] \"GET /api/items/42 HTTP/1.1\" 200 512 \"-\" \"curl/8\" rt=0.023 tenant=globex\n\
                     10.0.0.2 - acme [01/May/2024:13:00:01 +0000] \"POST /api/items HTTP/1.1\" 201 64 \"-\" \"curl/8\" 0.150\n";
        let p = parse_log(nginx, &LogOptions::default()).unwrap();
        assert_eq!(p.format, Format::Nginx);
        assert_eq!(p.requests[0].tenant, "globex");
        assert_eq!(p.requests[0].latency_s, Some(0.023));
        assert_eq!(p.requests[1].tenant, "acme");
        assert_eq!(p.requests[1].endpoint, "post_api_items");
        assert_eq!(p.requests[1].latency_s, Some(0.15));
        let envoy = "[2024-05-01T13:00:00.000Z] \"GET /api/items/42 HTTP/1.1\" 200 - 0 512 31 29 \"-\" \"curl/8\" \"abc\" \"acme.api.example.com\" \"10.0.0.9:8080\"\n";
        let p = parse_log(envoy, &LogOptions::default()).unwrap();
        assert_eq!(p.format, Format::Envoy);
        assert_eq!(p.requests[0].tenant, "acme");
        assert_eq!(p.requests[0].latency_s, Some(0.031));
        assert_eq!(p.requests[0].bytes, Some(512));
    }
}
