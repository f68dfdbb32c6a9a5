//! `tenantsim serve`: the live what-if dashboard. An actix-web server that
//! serves one embedded page (no CDN: HTML, JS and CSS are compiled into the
//! binary) and a JSON API over the scenario files of one folder:
//!
//! | route | what |
//! |---|---|
//! | `GET /api/scenarios` | the scenario files served |
//! | `GET /api/scenarios/{name}` | one, parsed: settings, SLOs, claims, knobs |
//! | `POST /api/runs` | `{scenario, overrides, load_multiplier, replications, seed}` → job id |
//! | `POST /api/compare` | baseline vs `overrides` on common random numbers → job id |
//! | `POST /api/sweeps` | `{…, params: ["pool.size=10..60:10"], lhs}` → job id |
//! | `GET /api/{runs,compare,sweeps}/{id}` | status, progress, result, CLI command |
//! | `DELETE /api/{runs,compare,sweeps}/{id}` | cancel |
//! | `GET /api/{runs,compare,sweeps}/{id}/events` | Server-Sent Events: progress, time-series rows, summaries; `id:` on each, resumable with `Last-Event-ID` |
//!
//! Every route but the static assets needs the access token printed at
//! start (`/?token=…` sets a cookie for the page; scripts send
//! `Authorization: Bearer …`).
//!
//! Jobs run on a bounded worker pool ([`jobs`]) outside the server's
//! threads, write the same files as the CLI command they print (under
//! `results/serve/`), and stop at a simulated-events budget.
//!
//! Safety: binds to 127.0.0.1 unless told otherwise (and warns then);
//! every request passes the Host allowlist, the Origin check and the token
//! check of [`access`] first; event streams resume from `Last-Event-ID`
//! without duplicates ([`stream`]); request bodies are capped; the run
//! queue is bounded (429 when full); scenario names are looked up in the folder's listing, never joined to a
//! path ([`scenarios`]); overrides cannot name files (`include`, trace
//! `file`, `instance.type`).

pub mod access;
mod api;
pub mod jobs;
pub mod scenarios;
pub mod stream;

pub use api::configure;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Largest accepted request body (JSON).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the server is set up (from `tenantsim serve`'s flags).
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub scenario_dir: PathBuf,
    /// Result folders go to `<results>/serve/`.
    pub results: PathBuf,
    /// Jobs that run at once.
    pub workers: usize,
    /// Threads per job for replications (0 = all cores).
    pub threads: usize,
    /// Jobs that may wait; more are refused with 429.
    pub queue: usize,
    /// Simulated events one job may use before it is stopped.
    pub max_events: u64,
    /// Largest replications a request may ask for.
    pub max_replications: u32,
    /// Largest number of points of a sweep.
    pub max_points: usize,
    /// The address bound (its IP is an allowed Host name; its port names
    /// the token cookie).
    pub bind: SocketAddr,
    /// Host names answered besides loopback and the bound address.
    pub allow_hosts: Vec<String>,
    /// The access token; `None` serves without one (loopback only, the CLI
    /// makes sure).
    pub token: Option<String>,
    /// An idle event stream gets a `: keep-alive` comment this often.
    pub keep_alive: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            scenario_dir: PathBuf::from("scenarios"),
            results: PathBuf::from("results"),
            workers: 1,
            threads: 0,
            queue: 4,
            max_events: 2_000_000_000,
            max_replications: 50,
            max_points: 64,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            allow_hosts: Vec::new(),
            token: None,
            keep_alive: Duration::from_secs(15),
        }
    }
}

/// Shared state of the handlers.
pub struct AppState {
    pub cfg: ServeConfig,
    pub dir: scenarios::ScenarioDir,
    pub jobs: Arc<jobs::Jobs>,
    pub access: access::Access,
    /// Unix seconds at start: result folders of two server lifetimes differ.
    pub started_unix: u64,
}

impl AppState {
    pub fn new(cfg: ServeConfig) -> std::io::Result<AppState> {
        let dir = scenarios::ScenarioDir::new(&cfg.scenario_dir)
            .map_err(|e| std::io::Error::other(format!("scenario folder {}: {e}", cfg.scenario_dir.display())))?;
        let jobs = jobs::Jobs::start(cfg.workers, cfg.threads, cfg.queue);
        let started_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let access = access::Access::new(cfg.bind, &cfg.allow_hosts, cfg.token.clone());
        Ok(AppState {
            cfg,
            dir,
            jobs,
            access,
            started_unix,
        })
    }
}

/// A command line as a user would type it: arguments quoted for a POSIX
/// shell where needed.
pub fn cli_command(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "_./=:,+-@%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether binding to `addr` exposes the server beyond this machine.
pub fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// The address to open in a browser: the bound one (a loopback name for
/// an unspecified address) with the token.
pub fn page_url(addr: &SocketAddr, token: Option<&str>) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    match token {
        Some(t) => format!("http://{host}:{}/?token={t}", addr.port()),
        None => format!("http://{host}:{}/", addr.port()),
    }
}

/// Run the server until interrupted. `cfg.bind` is the address to bind
/// (port 0 picks a free one); the address actually bound is printed with
/// the token, as the URL to open.
pub fn serve(mut cfg: ServeConfig) -> anyhow::Result<()> {
    use actix_web::{web, App, HttpServer};
    let listener = std::net::TcpListener::bind(cfg.bind)?;
    cfg.bind = listener.local_addr()?;
    let state = web::Data::new(AppState::new(cfg.clone())?);
    actix_web::rt::System::new().block_on(async move {
        let st = state.clone();
        let server = HttpServer::new(move || App::new().configure(|c| configure(c, st.clone())))
            .workers(2)
            .listen(listener)?;
        let a = cfg.bind;
        if !is_loopback(&a) {
            eprintln!(
                "warning: serving on {a}, reachable from other machines: anyone who has the token can read the \
                 scenario folder's files and run simulations here, and the token travels unencrypted (plain \
                 HTTP). Use --bind 127.0.0.1:PORT to keep it local."
            );
        }
        println!("tenantsim serve: {}", page_url(&a, cfg.token.as_deref()));
        if cfg.token.is_none() {
            println!("no token (--no-token): any local program may use this server");
        }
        println!(
            "scenarios from {} ({} files), results to {}/serve/; Ctrl-C stops",
            state.dir.shown.display(),
            state.dir.list().len(),
            cfg.results.display()
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        server.run().await
    })?;
    Ok(())
}
