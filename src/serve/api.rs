//! The routes of `tenantsim serve`: the embedded page and the JSON API.
//! Handlers only validate, resolve and queue; simulation happens on the
//! job workers ([`super::jobs`]), so no handler blocks the server.

// Handlers return `Result<_, HttpResponse>`: the error *is* the response
// sent, built once per request, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::jobs::{self, Job, SubmitError, Work};
use super::scenarios::{self, NameError};
use super::{cli_command, AppState, MAX_BODY_BYTES};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Most `--set` overrides one request may carry.
const MAX_OVERRIDES: usize = 64;

/// Register the page and the API on an actix-web app.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    let json_cfg = web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|err, _| {
            let status = match &err {
                actix_web::error::JsonPayloadError::Overflow { .. }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            let resp = HttpResponse::build(status).json(json!({"error": err.to_string()}));
            actix_web::error::InternalError::from_response(err, resp).into()
        });
    // Every route sits behind the access checks (Host, Origin, token).
    let routes = web::scope("")
        .wrap(actix_web::middleware::from_fn(super::access::guard))
        .route(
            "/",
            web::get().to(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            web::get().to(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/style.css",
            web::get().to(|| async { asset(STYLE_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/scenarios", web::get().to(list_scenarios))
        .route("/api/scenarios/{name:.*}", web::get().to(get_scenario))
        .route("/api/runs", web::post().to(post_run))
        .route("/api/compare", web::post().to(post_compare))
        .route("/api/sweeps", web::post().to(post_sweep))
        .route("/api/jobs", web::get().to(list_jobs))
        .route("/api/{kind}/{id}", web::get().to(get_job))
        .route("/api/{kind}/{id}", web::delete().to(cancel_job))
        .route("/api/{kind}/{id}/events", web::get().to(job_events));
    cfg.app_data(state)
        .app_data(json_cfg)
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .service(routes);
}

fn asset(body: &'static str, content_type: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("cache-control", "no-cache"))
        .body(body)
}

fn error(status: StatusCode, msg: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": msg.into()}))
}

fn bad(msg: impl Into<String>) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, msg)
}

/// The file of a scenario name, or the error response.
fn resolve(st: &AppState, name: &str) -> Result<PathBuf, HttpResponse> {
    st.dir.resolve(name).map_err(|e| match e {
        NameError::Escapes => bad(format!(
            "scenario `{name}`: names are paths inside the served folder, without `..`, `\\` or a leading `/`"
        )),
        NameError::Unknown => error(
            StatusCode::NOT_FOUND,
            format!(
                "no scenario `{name}` in {} (GET /api/scenarios lists them)",
                st.dir.shown.display()
            ),
        ),
    })
}

async fn list_scenarios(st: web::Data<AppState>) -> HttpResponse {
    let list: Vec<_> = st
        .dir
        .list()
        .into_iter()
        .map(|(name, file)| json!({"name": name, "file": file.display().to_string()}))
        .collect();
    HttpResponse::Ok().json(list)
}

async fn get_scenario(st: web::Data<AppState>, name: web::Path<String>) -> HttpResponse {
    let file = match resolve(&st, &name) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let st2 = st.clone();
    let name = name.into_inner();
    // Parsing reads files: off the server's threads.
    let r = web::block(move || {
        scenarios::load(&file, &[]).map(|(sc, merged)| {
            let mut v = scenarios::describe(&name, &file, &sc, &merged);
            v["cli"] = cli_command(&["tenantsim".into(), "run".into(), file.display().to_string()]).into();
            v["limits"] = json!({
                "max_replications": st2.cfg.max_replications,
                "max_events": st2.cfg.max_events,
                "max_points": st2.cfg.max_points,
            });
            v
        })
    })
    .await;
    match r {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The fields every job request shares.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub scenario: String,
    /// `--set` assignments (`KEY=VALUE`).
    #[serde(default)]
    pub overrides: Vec<String>,
    /// Multiply every workload's offered load (expanded into `--set`s).
    pub load_multiplier: Option<f64>,
    pub replications: Option<u32>,
    pub seed: Option<u64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct CompareRequest {
    pub scenario: String,
    /// `--set-both`: applied to the baseline and the candidate.
    #[serde(default)]
    pub both: Vec<String>,
    /// `--set`: what makes the candidate.
    #[serde(default)]
    pub overrides: Vec<String>,
    /// Load multiplier of the candidate only.
    pub load_multiplier: Option<f64>,
    pub replications: Option<u32>,
    pub seed: Option<u64>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    pub scenario: String,
    #[serde(default)]
    pub overrides: Vec<String>,
    /// `--param KEY=SPEC`, e.g. `pool.size=10..60:10`.
    pub params: Vec<String>,
    /// Latin hypercube of N points instead of the grid.
    pub lhs: Option<usize>,
    pub replications: Option<u32>,
    pub seed: Option<u64>,
}

/// Refuse overrides that are malformed or name files: `include`, a trace
/// `file`, `instance.type` (reads `models/instances/NAME.toml`).
fn check_overrides(sets: &[String]) -> Result<(), HttpResponse> {
    if sets.len() > MAX_OVERRIDES {
        return Err(bad(format!("{} overrides: at most {MAX_OVERRIDES}", sets.len())));
    }
    for s in sets {
        let Some((key, _)) = s.split_once('=') else {
            return Err(bad(format!("override `{s}`: expected KEY=VALUE, e.g. pool.size=30")));
        };
        let key = key.trim();
        let names_file = key
            .split('.')
            .any(|seg| seg == "include" || seg == "file" || seg == "manifest")
            || key == "instance.type";
        if names_file {
            return Err(bad(format!(
                "override `{key}`: keys that name files cannot be set from the dashboard; use the CLI"
            )));
        }
    }
    Ok(())
}

fn check_replications(st: &AppState, r: Option<u32>) -> Result<(), HttpResponse> {
    match r {
        Some(0) => Err(bad("replications: at least 1")),
        Some(n) if n > st.cfg.max_replications => Err(bad(format!(
            "replications {n}: this server allows at most {} (serve --max-replications)",
            st.cfg.max_replications
        ))),
        _ => Ok(()),
    }
}

/// `results/serve/<kind>-<scenario>-<start>-<id>`.
fn out_dir(st: &AppState, kind: &str, scenario: &str, id: u64) -> PathBuf {
    let slug: String = scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    st.cfg
        .results
        .join("serve")
        .join(format!("{kind}-{slug}-{}-{id}", st.started_unix))
}

/// Load a scenario off the server's threads.
async fn load(file: PathBuf, sets: Vec<String>) -> Result<(crate::scenario::Scenario, toml::Table), HttpResponse> {
    match web::block(move || scenarios::load(&file, &sets)).await {
        Ok(Ok(x)) => Ok(x),
        Ok(Err(e)) => Err(bad(e.to_string())),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

fn flags(args: &mut Vec<String>, flag: &str, sets: &[String]) {
    for s in sets {
        args.push(flag.into());
        args.push(s.clone());
    }
}

/// `?dry_run=true`: answer with the command the request stands for, run nothing.
#[derive(Deserialize, Debug, Default)]
pub struct DryRun {
    #[serde(default)]
    pub dry_run: bool,
}

fn submit(st: &AppState, job: Job, work: Work, dry: bool) -> HttpResponse {
    if dry {
        return HttpResponse::Ok().json(json!({"dry_run": true, "cli": job.cli, "out_dir": job.out_dir}));
    }
    let (id, kind) = (job.id, job.kind);
    let (cli, out) = (job.cli.clone(), job.out_dir.display().to_string());
    match st.jobs.submit(job, work) {
        Ok(_) => HttpResponse::Accepted().json(json!({
            "id": id,
            "kind": kind,
            "cli": cli,
            "out_dir": out,
            "url": format!("/api/{}/{id}", route_of(kind)),
            "events": format!("/api/{}/{id}/events", route_of(kind)),
        })),
        Err(SubmitError::Full) => error(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "the run queue is full ({} running, {} waiting); try again when one finishes",
                st.cfg.workers, st.cfg.queue
            ),
        ),
    }
}

fn route_of(kind: &str) -> &'static str {
    match kind {
        "run" => "runs",
        "compare" => "compare",
        _ => "sweeps",
    }
}

async fn post_run(st: web::Data<AppState>, q: web::Query<DryRun>, req: web::Json<RunRequest>) -> HttpResponse {
    let req = req.into_inner();
    let file = match resolve(&st, &req.scenario) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = check_overrides(&req.overrides).and(check_replications(&st, req.replications)) {
        return r;
    }
    let (base, merged) = match load(file.clone(), vec![]).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut sets = req.overrides.clone();
    if let Some(m) = req.load_multiplier {
        match scenarios::load_multiplier_sets(&merged, &base, m) {
            Ok(extra) => sets.extend(extra),
            Err(e) => return bad(e),
        }
    }
    let all = crate::scenario::overrides(&sets, req.seed, req.replications);
    let (sc, _) = match load(file.clone(), all).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if sc.simulation.replications > st.cfg.max_replications {
        return bad(format!(
            "the scenario asks for {} replications; this server allows at most {}: pass replications",
            sc.simulation.replications, st.cfg.max_replications
        ));
    }
    let id = st.jobs.next_id();
    let out = out_dir(&st, "run", &req.scenario, id);
    let mut args = vec!["tenantsim".to_string(), "run".into(), file.display().to_string()];
    flags(&mut args, "--set", &sets);
    push_seed_reps(&mut args, req.seed, req.replications);
    args.extend(["--out".into(), out.display().to_string()]);
    let work = Work::Run { scenario: Box::new(sc) };
    let job = Job::new(id, &work, req.scenario, cli_command(&args), out, st.cfg.max_events);
    submit(&st, job, work, q.dry_run)
}

fn push_seed_reps(args: &mut Vec<String>, seed: Option<u64>, reps: Option<u32>) {
    if let Some(s) = seed {
        args.extend(["--seed".into(), s.to_string()]);
    }
    if let Some(r) = reps {
        args.extend(["--replications".into(), r.to_string()]);
    }
}

async fn post_compare(st: web::Data<AppState>, q: web::Query<DryRun>, req: web::Json<CompareRequest>) -> HttpResponse {
    let req = req.into_inner();
    let file = match resolve(&st, &req.scenario) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = check_overrides(&req.overrides)
        .and(check_overrides(&req.both))
        .and(check_replications(&st, req.replications))
    {
        return r;
    }
    // As `tenantsim compare FILE --set-both … --set …` does it.
    let common = crate::scenario::overrides(&req.both, req.seed, None);
    let (mut a, merged) = match load(file.clone(), common.clone()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut b_sets = req.overrides.clone();
    if let Some(m) = req.load_multiplier {
        match scenarios::load_multiplier_sets(&merged, &a, m) {
            Ok(extra) => b_sets.extend(extra),
            Err(e) => return bad(e),
        }
    }
    if b_sets.is_empty() {
        return bad("compare needs the candidate to differ from the baseline: change a knob (overrides) first");
    }
    let mut all_b = common.clone();
    all_b.extend(b_sets.iter().cloned());
    let (mut b, _) = match load(file.clone(), all_b).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let n = req
        .replications
        .unwrap_or(a.simulation.replications.max(b.simulation.replications));
    if n < 2 {
        return bad(format!("replications {n}: a paired comparison needs at least 2"));
    }
    if n > st.cfg.max_replications {
        return bad(format!(
            "replications {n}: this server allows at most {}",
            st.cfg.max_replications
        ));
    }
    a.simulation.replications = n;
    b.simulation.replications = n;
    b.simulation.seed = a.simulation.seed;
    let b_label = format!("{} with {}", a.name, b_sets.join(" "));
    let id = st.jobs.next_id();
    let out = out_dir(&st, "compare", &req.scenario, id);
    let mut args = vec!["tenantsim".to_string(), "compare".into(), file.display().to_string()];
    flags(&mut args, "--set-both", &req.both);
    flags(&mut args, "--set", &b_sets);
    push_seed_reps(&mut args, req.seed, Some(n));
    args.extend(["--out".into(), out.display().to_string()]);
    let work = Work::Compare {
        a: Box::new(a),
        b: Box::new(b),
        b_label,
    };
    let job = Job::new(id, &work, req.scenario, cli_command(&args), out, st.cfg.max_events);
    submit(&st, job, work, q.dry_run)
}

async fn post_sweep(st: web::Data<AppState>, q: web::Query<DryRun>, req: web::Json<SweepRequest>) -> HttpResponse {
    let req = req.into_inner();
    let file = match resolve(&st, &req.scenario) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let param_keys: Vec<String> = req
        .params
        .iter()
        .map(|p| format!("{}=", p.split_once('=').map_or(p.as_str(), |x| x.0)))
        .collect();
    if let Err(r) = check_overrides(&req.overrides)
        .and(check_overrides(&param_keys))
        .and(check_replications(&st, req.replications))
    {
        return r;
    }
    if req.params.is_empty() {
        return bad("a sweep needs params, e.g. [\"pool.size=10..60:10\"]");
    }
    let sets = crate::scenario::overrides(&req.overrides, req.seed, req.replications);
    let (params, lhs, max_points, max_reps) = (req.params.clone(), req.lhs, st.cfg.max_points, st.cfg.max_replications);
    let f = file.clone();
    let prepared = web::block(move || {
        let sw = jobs::prepare_sweep(&f, sets, &params, lhs)?;
        if sw.points.len() > max_points {
            return Err(format!(
                "{} points: this server runs at most {max_points} per sweep (serve --max-points); use the CLI command",
                sw.points.len()
            ));
        }
        if sw.manifest.replications > max_reps {
            return Err(format!(
                "{} replications per point: at most {max_reps}",
                sw.manifest.replications
            ));
        }
        Ok(sw)
    })
    .await;
    let sweep = match prepared {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return bad(e),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let id = st.jobs.next_id();
    let out = out_dir(&st, "sweep", &req.scenario, id);
    let mut args = vec!["tenantsim".to_string(), "sweep".into(), file.display().to_string()];
    flags(&mut args, "--set", &req.overrides);
    flags(&mut args, "--param", &req.params);
    if let Some(n) = req.lhs {
        args.extend(["--lhs".into(), n.to_string()]);
    }
    push_seed_reps(&mut args, req.seed, req.replications);
    args.extend(["--out".into(), out.display().to_string()]);
    let work = Work::Sweep { sweep: Box::new(sweep) };
    let job = Job::new(id, &work, req.scenario, cli_command(&args), out, st.cfg.max_events);
    submit(&st, job, work, q.dry_run)
}

async fn list_jobs(st: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(st.jobs.list())
}

/// The job at `/api/{kind}/{id}`, if its kind matches the route.
fn find(st: &AppState, kind: &str, id: &str) -> Result<std::sync::Arc<Job>, HttpResponse> {
    let want = match kind {
        "runs" => "run",
        "compare" => "compare",
        "sweeps" => "sweep",
        _ => return Err(error(StatusCode::NOT_FOUND, format!("no route /api/{kind}"))),
    };
    let id: u64 = id
        .parse()
        .map_err(|_| bad(format!("job id `{id}`: expected a number")))?;
    match st.jobs.get(id) {
        Some(j) if j.kind == want => Ok(j),
        _ => Err(error(StatusCode::NOT_FOUND, format!("no {want} {id}"))),
    }
}

async fn get_job(st: web::Data<AppState>, path: web::Path<(String, String)>) -> HttpResponse {
    match find(&st, &path.0, &path.1) {
        Ok(j) => HttpResponse::Ok().json(j.to_json()),
        Err(r) => r,
    }
}

async fn cancel_job(st: web::Data<AppState>, path: web::Path<(String, String)>) -> HttpResponse {
    match find(&st, &path.0, &path.1) {
        Ok(j) => {
            let status = j.cancel();
            HttpResponse::Accepted().json(json!({"id": j.id, "status": status}))
        }
        Err(r) => r,
    }
}

/// Server-Sent Events: the job's events after `Last-Event-ID` (all of
/// them without it), then new ones as they come ([`super::stream`]).
async fn job_events(req: HttpRequest, st: web::Data<AppState>, path: web::Path<(String, String)>) -> HttpResponse {
    match find(&st, &path.0, &path.1) {
        Ok(job) => super::stream::respond(&req, job, st.cfg.keep_alive),
        Err(r) => r,
    }
}
