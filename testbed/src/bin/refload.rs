//! `refload`: an open-loop load client with Poisson arrivals for the
//! reference service.
//!
//! Open loop: request k is due at the k-th arrival of a Poisson process,
//! whether or not earlier requests have answered, and its latency is
//! measured from when it was *due*, not from when it was sent. A slow
//! answer therefore cannot hold back the next requests (coordinated
//! omission): if the client itself falls behind, its lag shows up in the
//! latencies and in `max_send_lag_s`, and the run says so.
//!
//! Closed loop (`--users N --think D` instead of `--rate`): N users, each
//! with its own tenant, think for an exponential time of mean D, send a
//! request and wait for its answer, then think again. Latency is measured
//! from the send: a user that waits is the system being measured (the
//! offered load falls as latency grows), which is what tenantsim's `closed`
//! arrival process models — it is not a fixed rate with coordinated
//! omission.
//!
//! Bounded: at most `--max-requests`, for at most `--duration` plus
//! `--timeout`, with at most `--max-in-flight` open requests (beyond it a
//! due request is counted as `client_overflow`, not sent). Loopback only.
//!
//! Output: a CSV of requests (`--log`) and a JSON summary (`--summary`) of
//! the requests due after `--warmup`: throughput, latency quantiles,
//! errors by reason.

use clap::Parser;
use rand::{RngExt, SeedableRng};
use rand_distr::Distribution;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tenantsim_refsvc::tiers::read_tier_map;
use tenantsim_refsvc::work::KeyChooser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser, Debug)]
#[command(about = "Open-loop Poisson load for refsvc (loopback only)")]
struct Args {
    /// The service, 127.0.0.1:PORT.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Requests per second (the mean of the Poisson process).
    #[arg(long, required_unless_present = "users", conflicts_with = "users")]
    rate: Option<f64>,
    /// Closed loop: this many users, each sending one request at a time.
    #[arg(long, requires = "think")]
    users: Option<usize>,
    /// Closed loop: mean think time between a user's answer and its next request (exponential).
    #[arg(long)]
    think: Option<String>,
    #[arg(long, default_value = "30s")]
    duration: String,
    /// Requests due before this are sent but left out of the summary.
    #[arg(long, default_value = "5s")]
    warmup: String,
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    #[arg(long, default_value_t = 2000)]
    max_in_flight: usize,
    /// A request unanswered after this long counts as `client_timeout`.
    #[arg(long, default_value = "10s")]
    timeout: String,
    /// `tenant,tier` lines: each request's tenant is drawn uniformly from them.
    #[arg(long)]
    tier_map: std::path::PathBuf,
    /// Endpoint shares: read=0.8,write=0.1,cpu=0.1
    #[arg(long, default_value = "read=0.8,write=0.1,cpu=0.1")]
    mix: String,
    /// Distinct item keys.
    #[arg(long, default_value_t = 100_000)]
    keys: u64,
    /// Zipf exponent of key popularity (0: uniform).
    #[arg(long, default_value_t = 0.9)]
    zipf: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// CSV of every request.
    #[arg(long)]
    log: Option<std::path::PathBuf>,
    /// JSON summary (else printed).
    #[arg(long)]
    summary: Option<std::path::PathBuf>,
}

/// One request as the client saw it.
struct Outcome {
    due_s: f64,
    endpoint: &'static str,
    tenant: usize,
    status: u16,
    reason: String,
    latency_s: f64,
}

async fn exchange(conn: &mut TcpStream, req: &[u8]) -> std::io::Result<(u16, String, bool)> {
    conn.write_all(req).await?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("header too long"));
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let (mut len, mut reason, mut close) = (0usize, String::new(), false);
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "x-reject-reason" => reason = v.to_string(),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let mut have = buf.len() - head_end;
    while have < len {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed in body"));
        }
        have += n;
    }
    if reason.is_empty() {
        reason = if status == 200 {
            "ok".into()
        } else {
            format!("http_{status}")
        };
    }
    Ok((status, reason, !close))
}

type Idle = Rc<RefCell<Vec<TcpStream>>>;

async fn one_request(addr: &str, idle: &Idle, req: &[u8]) -> (u16, String) {
    // A kept-alive connection may have been closed by the server: retry
    // once on a fresh one.
    for attempt in 0..2 {
        let reused = idle.borrow_mut().pop();
        let fresh = reused.is_none();
        let mut conn = match reused {
            Some(c) => c,
            None => match TcpStream::connect(addr).await {
                Ok(c) => {
                    let _ = c.set_nodelay(true);
                    c
                }
                Err(_) => return (0, "connect_error".into()),
            },
        };
        match exchange(&mut conn, req).await {
            Ok((s, r, keep)) => {
                if keep {
                    idle.borrow_mut().push(conn);
                }
                return (s, r);
            }
            Err(_) if !fresh && attempt == 0 => continue,
            Err(_) => return (0, "io_error".into()),
        }
    }
    (0, "io_error".into())
}

/// An endpoint drawn from the mix (shares summing to `total`).
fn pick<R: rand::Rng>(mix: &[(&'static str, f64)], total: f64, rng: &mut R) -> &'static str {
    let u: f64 = rng.random::<f64>() * total;
    let mut acc = 0.0;
    mix.iter()
        .find(|(_, s)| {
            acc += s;
            u < acc
        })
        .map_or(mix[mix.len() - 1].0, |x| x.0)
}

fn request(endpoint: &str, key: u64, addr: &str, tenant: &str) -> String {
    let method = if endpoint == "write" { "POST" } else { "GET" };
    format!(
        "{method} /{endpoint}?key={key} HTTP/1.1\r\nHost: {addr}\r\nX-Tenant: {tenant}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // The nearest-rank quantile.
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// What every request of a run shares: where it goes, what it asks for,
/// its deadlines, and where its outcome is recorded.
struct Plan {
    addr: Rc<str>,
    tenants: Rc<Vec<String>>,
    mix: Rc<Vec<(&'static str, f64)>>,
    /// The mix's shares added up.
    total: f64,
    duration: f64,
    timeout: f64,
    outcomes: Rc<RefCell<Vec<Outcome>>>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let d = |s: &str| tenantsim_refsvc::parse_duration(s).map_err(anyhow::Error::msg);
    let (duration, warmup, timeout) = (d(&a.duration)?, d(&a.warmup)?, d(&a.timeout)?);
    if let Some(r) = a.rate {
        anyhow::ensure!(r > 0.0 && r.is_finite(), "--rate must be > 0");
    }
    anyhow::ensure!(warmup < duration, "--warmup must be shorter than --duration");
    anyhow::ensure!(
        a.addr.starts_with("127.") || a.addr.starts_with("localhost:"),
        "--addr must be a loopback address"
    );
    let tenants: Rc<Vec<String>> = read_tier_map(&std::fs::read_to_string(&a.tier_map)?)
        .map_err(anyhow::Error::msg)?
        .into_keys()
        .collect::<Vec<_>>()
        .into();
    let mix = parse_mix(&a.mix)?;
    let total: f64 = mix.iter().map(|x| x.1).sum();
    let mix: Rc<Vec<(&'static str, f64)>> = Rc::new(mix);
    anyhow::ensure!(total > 0.0, "--mix: the shares add up to 0");
    let keys = KeyChooser::new(a.keys, a.zipf).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let plan = Plan {
        addr: Rc::from(a.addr.as_str()),
        tenants,
        mix,
        total,
        duration,
        timeout,
        outcomes: Rc::default(),
    };
    let max_lag = local.block_on(&rt, async {
        let start = Instant::now();
        if let (Some(users), Some(think)) = (a.users, &a.think) {
            closed_loop(&a, &plan, users, d(think)?, start).await?;
            return Ok(0.0);
        }
        open_loop(&a, &plan, &keys, start).await
    })?;
    let mut out = plan.outcomes.borrow_mut();
    out.sort_by(|x, y| x.due_s.total_cmp(&y.due_s));
    if let Some(p) = &a.log {
        write_log(p, &out, &plan.tenants)?;
    }
    let summary = summary_json(&out, warmup, duration, max_lag);
    match &a.summary {
        Some(p) => std::fs::write(p, summary + "\n")?,
        None => println!("{summary}"),
    }
    if max_lag > 0.05 {
        eprintln!("refload: the client fell {max_lag:.3} s behind its schedule at worst: it, not only the service, limited this run");
    }
    Ok(())
}

/// `--mix`: `ENDPOINT=SHARE` pairs, separated by commas, of `read`, `write` and `cpu`.
fn parse_mix(s: &str) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let mut mix: Vec<(&'static str, f64)> = Vec::new();
    for kv in s.split(',') {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--mix: `{kv}` is not ENDPOINT=SHARE"))?;
        let name: &'static str = match k.trim() {
            "read" => "read",
            "write" => "write",
            "cpu" => "cpu",
            o => anyhow::bail!("--mix: unknown endpoint `{o}` (read, write, cpu)"),
        };
        mix.push((name, v.trim().parse()?));
    }
    Ok(mix)
}

/// The closed loop: `users` users, each with its own tenant, connection
/// and random stream, thinking (exponential, mean `think` s) between answers.
async fn closed_loop(a: &Args, p: &Plan, users: usize, think: f64, start: Instant) -> anyhow::Result<()> {
    let (duration, timeout, total) = (p.duration, p.timeout, p.total);
    let sent = Rc::new(RefCell::new(0u64));
    let mut handles = Vec::new();
    for u in 0..users {
        let mut urng = rand::rngs::StdRng::seed_from_u64(a.seed.wrapping_mul(1_000_003).wrapping_add(u as u64));
        let (idle, outcomes, addr, sent, mix, tenants) = (
            Idle::default(),
            p.outcomes.clone(),
            p.addr.clone(),
            sent.clone(),
            p.mix.clone(),
            p.tenants.clone(),
        );
        let keys = KeyChooser::new(a.keys, a.zipf).map_err(anyhow::Error::msg)?;
        let tenant = u % tenants.len();
        let max_requests = a.max_requests;
        handles.push(tokio::task::spawn_local(async move {
            loop {
                let e: f64 = rand_distr::Exp1.sample(&mut urng);
                tokio::time::sleep(Duration::from_secs_f64(think * e)).await;
                let due = start.elapsed().as_secs_f64();
                if due >= duration || *sent.borrow() >= max_requests {
                    break;
                }
                *sent.borrow_mut() += 1;
                let endpoint = pick(&mix, total, &mut urng);
                let key = keys.sample(&mut urng);
                let req = request(endpoint, key, &addr, &tenants[tenant]);
                let r = tokio::time::timeout(
                    Duration::from_secs_f64(timeout),
                    one_request(&addr, &idle, req.as_bytes()),
                )
                .await;
                let (status, reason) = r.unwrap_or((0, "client_timeout".into()));
                outcomes.borrow_mut().push(Outcome {
                    due_s: due,
                    endpoint,
                    tenant,
                    status,
                    reason,
                    latency_s: start.elapsed().as_secs_f64() - due,
                });
            }
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}

/// The open loop: requests due at the arrivals of a Poisson process of
/// `--rate`, each sent at its due time whatever the earlier ones are
/// doing; returns how far the client fell behind its schedule at worst (s).
async fn open_loop(a: &Args, p: &Plan, keys: &KeyChooser, start: Instant) -> anyhow::Result<f64> {
    let (duration, timeout, total) = (p.duration, p.timeout, p.total);
    let idle: Idle = Rc::default();
    let in_flight = Rc::new(RefCell::new(0usize));
    let mut max_lag = 0.0f64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(a.seed);
    let rate = a.rate.unwrap_or(1.0);
    let exp = rand_distr::Exp::new(rate).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut due = 0.0f64;
    let mut handles = Vec::new();
    for _ in 0..a.max_requests {
        due += exp.sample(&mut rng);
        if due >= duration {
            break;
        }
        let endpoint = pick(&p.mix, total, &mut rng);
        let tenant = rng.random_range(0..p.tenants.len());
        let key = keys.sample(&mut rng);
        // tokio's timers tick in whole milliseconds: sleep to a
        // millisecond before the due time, then yield (other requests'
        // answers are read meanwhile) until it. The client has its own
        // core, so the spin costs the service nothing.
        let at = start + Duration::from_secs_f64(due);
        if let Some(early) = at.checked_sub(Duration::from_millis(1)) {
            tokio::time::sleep_until(early.into()).await;
        }
        while Instant::now() < at {
            tokio::task::yield_now().await;
        }
        max_lag = max_lag.max(start.elapsed().as_secs_f64() - due);
        if *in_flight.borrow() >= a.max_in_flight {
            p.outcomes.borrow_mut().push(Outcome {
                due_s: due,
                endpoint,
                tenant,
                status: 0,
                reason: "client_overflow".into(),
                latency_s: 0.0,
            });
            continue;
        }
        let req = request(endpoint, key, &p.addr, &p.tenants[tenant]);
        let (idle, outcomes, in_flight, addr) = (idle.clone(), p.outcomes.clone(), in_flight.clone(), p.addr.clone());
        *in_flight.borrow_mut() += 1;
        handles.push(tokio::task::spawn_local(async move {
            let r = tokio::time::timeout(
                Duration::from_secs_f64(timeout),
                one_request(&addr, &idle, req.as_bytes()),
            )
            .await;
            let (status, reason) = r.unwrap_or((0, "client_timeout".into()));
            let latency_s = start.elapsed().as_secs_f64() - due;
            *in_flight.borrow_mut() -= 1;
            outcomes.borrow_mut().push(Outcome {
                due_s: due,
                endpoint,
                tenant,
                status,
                reason,
                latency_s,
            });
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    Ok(max_lag)
}

/// `--log`: every request as a CSV line, in order of due time.
fn write_log(path: &std::path::Path, out: &[Outcome], tenants: &[String]) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "due_s,tenant,endpoint,status,reason,latency_s")?;
    for o in out.iter() {
        writeln!(
            w,
            "{:.6},{},{},{},{},{:.6}",
            o.due_s, tenants[o.tenant], o.endpoint, o.status, o.reason, o.latency_s
        )?;
    }
    Ok(())
}

/// The JSON summary of the requests due after the warm-up: throughput,
/// latency quantiles of the answered ones, error rate and reasons.
fn summary_json(out: &[Outcome], warmup: f64, duration: f64, max_lag: f64) -> String {
    let window = duration - warmup;
    let measured: Vec<&Outcome> = out.iter().filter(|o| o.due_s >= warmup).collect();
    let mut ok: Vec<f64> = measured
        .iter()
        .filter(|o| o.status == 200)
        .map(|o| o.latency_s)
        .collect();
    ok.sort_by(f64::total_cmp);
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &measured {
        *reasons.entry(o.reason.as_str()).or_default() += 1;
    }
    let n = measured.len().max(1) as f64;
    let errors = measured.iter().filter(|o| o.status != 200).count() as f64;
    format!(
        "{{\"offered_rps\": {:.4}, \"sent\": {}, \"throughput_rps\": {:.4}, \"latency_mean_s\": {:.6}, \"latency_p50_s\": {:.6}, \"latency_p95_s\": {:.6}, \"latency_p99_s\": {:.6}, \"error_rate\": {:.6}, \"max_send_lag_s\": {:.6}, \"reasons\": {{{}}}}}",
        measured.len() as f64 / window,
        measured.len(),
        ok.len() as f64 / window,
        ok.iter().sum::<f64>() / ok.len().max(1) as f64,
        quantile(&ok, 0.50),
        quantile(&ok, 0.95),
        quantile(&ok, 0.99),
        errors / n,
        max_lag,
        reasons
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
