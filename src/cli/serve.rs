//! `tenantsim serve`: start the live what-if dashboard ([`crate::serve`]).

use super::{BadInput, EXIT_OK};
use crate::serve::{self, ServeConfig};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  tenantsim serve scenarios/                       (then open the printed http://127.0.0.1:8080/?token=…)
  tenantsim serve scenarios/ --bind 127.0.0.1:9000 --max-events 500000000
  tenantsim serve scenarios/ --bind 0.0.0.0:8080 --allow-host box.lan
                                                   (reachable from other machines: a warning is printed)
  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/api/scenarios

Access: a random token is made at start (or --token / TENANTSIM_SERVE_TOKEN)
and printed in the URL; the page sets it as a cookie, API clients send
`Authorization: Bearer TOKEN` or `X-Tenantsim-Token: TOKEN`. Requests whose
Host is not a loopback name, the bound address or an --allow-host name get
403, and so do POST/DELETE requests from another Origin. --no-token is
refused unless the address is loopback.

The page picks a scenario, changes its knobs, runs it (or compares it with
the scenario as written, on common random numbers) and draws the time series
as the simulation goes. Every job writes the same files as the CLI command it
shows, under RESULTS/serve/. Jobs run one at a time (--workers) with up to
--queue waiting; more get HTTP 429.
Exit codes: 0 stopped, 2 bad input (folder, address, token).")]
pub struct ServeArgs {
    /// Folder of scenario files to offer (searched 4 levels deep).
    #[arg(default_value = "scenarios")]
    pub scenario_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Folder for results (jobs write to RESULTS/serve/).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Jobs that run at the same time.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Threads per job for its replications [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Jobs that may wait for a worker; more are refused (HTTP 429).
    #[arg(long, default_value_t = 4)]
    pub queue: usize,
    /// Simulated events one job may use before it is stopped.
    #[arg(long, default_value_t = 2_000_000_000)]
    pub max_events: u64,
    /// Most replications a request may ask for.
    #[arg(long, default_value_t = 50)]
    pub max_replications: u32,
    /// Most points of a sweep.
    #[arg(long, default_value_t = 64)]
    pub max_points: usize,
    /// The access token (at least 16 of A-Z a-z 0-9 - . _ ~) [default:
    /// $TENANTSIM_SERVE_TOKEN, else 48 random hex digits].
    #[arg(long, value_name = "TOKEN", conflicts_with = "no_token")]
    pub token: Option<String>,
    /// Serve without a token: any program on this machine may use it.
    /// Refused unless --bind is a loopback address.
    #[arg(long)]
    pub no_token: bool,
    /// Another Host name to answer to (the name or address others use to
    /// reach this machine); repeatable. Loopback names and the bound
    /// address are always answered.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
}

/// The environment variable that may hold the token.
pub const TOKEN_ENV: &str = "TENANTSIM_SERVE_TOKEN";

/// The token to require: --token, else $TENANTSIM_SERVE_TOKEN, else a
/// fresh random one; none with --no-token (loopback only).
fn token(a: &ServeArgs, bind: &std::net::SocketAddr) -> anyhow::Result<Option<String>> {
    if a.no_token {
        if !serve::is_loopback(bind) {
            return Err(BadInput(format!(
                "--no-token with --bind {bind}: a server reachable from other machines needs a token; \
                 drop --no-token (a random token is printed at start) or bind 127.0.0.1"
            ))
            .into());
        }
        return Ok(None);
    }
    let given = match &a.token {
        Some(t) => Some(("--token", t.clone())),
        None => std::env::var(TOKEN_ENV).ok().map(|t| (TOKEN_ENV, t)),
    };
    match given {
        Some((from, t)) => {
            serve::access::check_token(&t).map_err(|e| BadInput(format!("{from}: {e}")))?;
            Ok(Some(t))
        }
        None => Ok(Some(serve::access::generate_token()?)),
    }
}

pub fn run(a: ServeArgs) -> anyhow::Result<i32> {
    let bind: std::net::SocketAddr = a
        .bind
        .parse()
        .map_err(|e| BadInput(format!("--bind {}: {e}; expected IP:PORT, e.g. 127.0.0.1:8080", a.bind)))?;
    if !a.scenario_dir.is_dir() {
        return Err(BadInput(format!("{}: not a folder of scenario files", a.scenario_dir.display())).into());
    }
    if a.workers == 0 {
        return Err(BadInput("--workers 0: at least one worker is needed".into()).into());
    }
    let token = token(&a, &bind)?;
    let cfg = ServeConfig {
        scenario_dir: a.scenario_dir,
        results: a.results,
        workers: a.workers,
        threads: a.threads.unwrap_or(0),
        queue: a.queue,
        max_events: a.max_events,
        max_replications: a.max_replications,
        max_points: a.max_points,
        bind,
        allow_hosts: a.allow_host,
        token,
        ..ServeConfig::default()
    };
    serve::serve(cfg).map_err(|e| BadInput(format!("{e:#}")))?;
    Ok(EXIT_OK)
}
