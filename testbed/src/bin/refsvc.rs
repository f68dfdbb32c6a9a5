//! `refsvc`: the reference multi-tenant service (issue 22).
//!
//! Endpoints: `GET /read?key=K` (L1 LRU → Redis → PostgreSQL, filling the
//! caches on the way back), `POST /write?key=K` (PostgreSQL, then
//! invalidates Redis and the L1), `GET /cpu` (CPU work only), `GET
//! /metrics` (Prometheus) and `GET /health`. The tenant is the `X-Tenant`
//! header; its tier (from `--tier-map`) sets its token bucket and
//! concurrency cap. Every request first does its CPU work (a demand drawn
//! from `--cpu`), then its data work.
//!
//! Answers: 200; 429 when the tenant's bucket is empty or it has its cap in
//! flight (`X-Reject-Reason: rate_limited | tenant_limit`); 503 when no
//! connection came within `--pool-timeout` (`pool_timeout`); 403 for a
//! tenant in no tier; 500 for a database or Redis error.
//!
//! Access log (CSV): ts, tenant, tier, endpoint, status, reason, latency_s
//! (handler entry to response), cpu_s (thread CPU time of the work),
//! cache_level (l1, l2, db or `-`), cache_s (time in L1/Redis lookups and
//! fills), pool_wait_s (acquiring a connection), hold_s (holding it: the
//! queries). Everything binds 127.0.0.1.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use clap::Parser;
use deadpool_postgres::{tokio_postgres::NoTls, Pool, PoolError, Runtime, TimeoutType};
use rand::SeedableRng;
use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tenantsim_refsvc::limits::{Refusal, TenantLimits};
use tenantsim_refsvc::lru::Lru;
use tenantsim_refsvc::metrics::Metrics;
use tenantsim_refsvc::tiers::{read_tier_map, TierSpec};
use tenantsim_refsvc::work::{burn, CpuDist};

#[derive(Parser, Debug)]
#[command(about = "The testbed's reference multi-tenant service (loopback only)")]
struct Args {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// actix worker threads (each runs many requests; CPU work blocks its thread).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// PostgreSQL: host=127.0.0.1 port=... user=... dbname=...
    #[arg(long, default_value = "host=127.0.0.1 port=5432 user=postgres dbname=postgres")]
    pg: String,
    /// Redis URL; leave out for no L2.
    #[arg(long)]
    redis: Option<String>,
    #[arg(long, default_value_t = 4)]
    pool_size: usize,
    /// Wait for a connection at most this long, then answer 503.
    #[arg(long, default_value = "1s")]
    pool_timeout: String,
    /// Rows of the items table (created and filled when its size differs).
    #[arg(long, default_value_t = 100_000)]
    rows: i64,
    /// Server-side pg_sleep per query (an I/O-bound query); 0 for none.
    #[arg(long, default_value = "0ms")]
    pg_sleep: String,
    /// CPU demand per request: const:MEAN, exp:MEAN or lognormal:MEAN:CV.
    #[arg(long, default_value = "exp:1ms")]
    cpu: String,
    /// Caches (L1 and Redis) on or off.
    #[arg(long, default_value = "on")]
    cache: String,
    /// L1 entries.
    #[arg(long, default_value_t = 1000)]
    l1_capacity: usize,
    /// Redis entries expire after this long.
    #[arg(long, default_value = "300s")]
    l2_ttl: String,
    /// A tier: NAME:rate=R,burst=B,conc=C (repeat for each tier).
    #[arg(long = "tier", required = true)]
    tiers: Vec<String>,
    /// `tenant,tier` lines.
    #[arg(long)]
    tier_map: std::path::PathBuf,
    /// Access log (CSV).
    #[arg(long)]
    access_log: std::path::PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

struct State {
    limits: TenantLimits,
    pool: Pool,
    pool_max: usize,
    redis: Option<redis::aio::MultiplexedConnection>,
    l1: Option<Mutex<Lru<Arc<str>>>>,
    l2_ttl_s: u64,
    cpu: CpuDist,
    pg_sleep_s: f64,
    metrics: Metrics,
    log: Mutex<std::io::BufWriter<std::fs::File>>,
}

/// What one request did, for the log and the metrics.
#[derive(Default)]
struct Trace {
    status: u16,
    reason: &'static str,
    cpu_s: f64,
    cache_level: &'static str,
    cache_s: f64,
    pool_wait_s: f64,
    hold_s: f64,
}

thread_local! {
    static RNG: RefCell<Option<rand::rngs::StdRng>> = const { RefCell::new(None) };
}

fn draw_cpu(st: &State, seed: u64) -> f64 {
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        let rng = r.get_or_insert_with(|| {
            // One stream per worker thread, from the seed and the thread id.
            let id = format!("{:?}", std::thread::current().id());
            let h = id
                .bytes()
                .fold(seed, |h, b| h.wrapping_mul(1_099_511_628_211).wrapping_add(b as u64));
            rand::rngs::StdRng::seed_from_u64(h)
        });
        st.cpu.sample(rng)
    })
}

fn key_of(req: &HttpRequest) -> Option<i64> {
    req.query_string()
        .split('&')
        .find_map(|kv| kv.strip_prefix("key="))
        .and_then(|v| v.parse().ok())
}

async fn acquire(st: &State, t: &mut Trace) -> Result<deadpool_postgres::Object, ()> {
    let t0 = Instant::now();
    st.metrics.pool_waiting.fetch_add(1, Relaxed);
    let r = st.pool.get().await;
    st.metrics.pool_waiting.fetch_sub(1, Relaxed);
    t.pool_wait_s = t0.elapsed().as_secs_f64();
    st.metrics.pool_wait.observe(t.pool_wait_s);
    match r {
        Ok(c) => {
            st.metrics.pool_in_use.fetch_add(1, Relaxed);
            Ok(c)
        }
        Err(PoolError::Timeout(TimeoutType::Wait)) => {
            (t.status, t.reason) = (503, "pool_timeout");
            Err(())
        }
        Err(e) => {
            eprintln!("pool: {e}");
            (t.status, t.reason) = (500, "error");
            Err(())
        }
    }
}

fn release(st: &State, t: &mut Trace, held_since: Instant) {
    t.hold_s = held_since.elapsed().as_secs_f64();
    st.metrics.pool_hold.observe(t.hold_s);
    st.metrics.pool_in_use.fetch_sub(1, Relaxed);
}

async fn db_read(st: &State, key: i64, t: &mut Trace) -> Option<String> {
    let c = acquire(st, t).await.ok()?;
    let held = Instant::now();
    let r: Result<String, _> = async {
        if st.pg_sleep_s > 0.0 {
            let s = c.prepare_cached("SELECT pg_sleep($1)").await?;
            c.execute(&s, &[&st.pg_sleep_s]).await?;
        }
        let s = c.prepare_cached("SELECT payload FROM items WHERE id = $1").await?;
        let row = c.query_one(&s, &[&key]).await?;
        Ok::<_, deadpool_postgres::tokio_postgres::Error>(row.get(0))
    }
    .await;
    drop(c);
    release(st, t, held);
    match r {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("read {key}: {e}");
            (t.status, t.reason) = (500, "error");
            None
        }
    }
}

async fn db_write(st: &State, key: i64, t: &mut Trace) -> bool {
    let Ok(c) = acquire(st, t).await else { return false };
    let held = Instant::now();
    let r = async {
        if st.pg_sleep_s > 0.0 {
            let s = c.prepare_cached("SELECT pg_sleep($1)").await?;
            c.execute(&s, &[&st.pg_sleep_s]).await?;
        }
        let s = c
            .prepare_cached("UPDATE items SET version = version + 1 WHERE id = $1")
            .await?;
        c.execute(&s, &[&key]).await
    }
    .await;
    drop(c);
    release(st, t, held);
    if let Err(e) = r {
        eprintln!("write {key}: {e}");
        (t.status, t.reason) = (500, "error");
        return false;
    }
    true
}

async fn read(st: &State, key: i64, t: &mut Trace) {
    let c0 = Instant::now();
    if let Some(l1) = &st.l1 {
        let hit = l1.lock().unwrap_or_else(|e| e.into_inner()).get(key as u64);
        if hit.is_some() {
            t.cache_level = "l1";
            t.cache_s = c0.elapsed().as_secs_f64();
            return;
        }
    }
    let cache_key = format!("item:{key}");
    if let Some(r) = &st.redis {
        let mut r = r.clone();
        let v: Result<Option<String>, _> = redis::cmd("GET").arg(&cache_key).query_async(&mut r).await;
        if let Ok(Some(v)) = v {
            if let Some(l1) = &st.l1 {
                l1.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .put(key as u64, Arc::from(v.as_str()));
            }
            t.cache_level = "l2";
            t.cache_s = c0.elapsed().as_secs_f64();
            return;
        }
    }
    t.cache_s = c0.elapsed().as_secs_f64();
    let Some(payload) = db_read(st, key, t).await else {
        return;
    };
    t.cache_level = "db";
    let c1 = Instant::now();
    if let Some(r) = &st.redis {
        let mut r = r.clone();
        let _: Result<(), _> = redis::cmd("SET")
            .arg(&cache_key)
            .arg(&payload)
            .arg("EX")
            .arg(st.l2_ttl_s)
            .query_async(&mut r)
            .await;
    }
    if let Some(l1) = &st.l1 {
        l1.lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(key as u64, Arc::from(payload.as_str()));
    }
    t.cache_s += c1.elapsed().as_secs_f64();
}

async fn write(st: &State, key: i64, t: &mut Trace) {
    if !db_write(st, key, t).await {
        return;
    }
    let c0 = Instant::now();
    if let Some(r) = &st.redis {
        let mut r = r.clone();
        let _: Result<(), _> = redis::cmd("DEL").arg(format!("item:{key}")).query_async(&mut r).await;
    }
    if let Some(l1) = &st.l1 {
        l1.lock().unwrap_or_else(|e| e.into_inner()).remove(key as u64);
    }
    t.cache_s = c0.elapsed().as_secs_f64();
}

async fn handle(req: HttpRequest, st: web::Data<(State, u64)>, endpoint: &'static str) -> HttpResponse {
    let (st, seed) = (&st.0, st.1);
    let t0 = Instant::now();
    let ts = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let tenant = req
        .headers()
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let e = Metrics::endpoint_index(endpoint);
    let mut t = Trace {
        status: 200,
        reason: "ok",
        cache_level: "-",
        ..Trace::default()
    };
    match st.limits.admit(&tenant) {
        Err(r) => {
            t.status = if r == Refusal::UnknownTenant { 403 } else { 429 };
            t.reason = r.reason();
        }
        Ok(_slot) => {
            st.metrics.in_flight.fetch_add(1, Relaxed);
            let demand = draw_cpu(st, seed);
            t.cpu_s = burn(demand);
            st.metrics.cpu[e].observe(t.cpu_s);
            let key = key_of(&req).unwrap_or(1);
            match endpoint {
                "read" => read(st, key, &mut t).await,
                "write" => write(st, key, &mut t).await,
                _ => {}
            }
            if endpoint == "read" && t.status == 200 {
                let lvl = ["l1", "l2", "db"].iter().position(|l| *l == t.cache_level);
                if let Some(i) = lvl {
                    st.metrics.cache_hits[i].fetch_add(1, Relaxed);
                }
            }
            st.metrics.in_flight.fetch_sub(1, Relaxed);
        }
    }
    let latency = t0.elapsed().as_secs_f64();
    st.metrics.count(e, t.status, t.reason);
    st.metrics.duration[e].observe(latency);
    {
        let tier = st.limits.tier_of(&tenant).unwrap_or("-");
        let mut w = st.log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            w,
            "{ts:.6},{tenant},{tier},{endpoint},{},{},{latency:.6},{:.6},{},{:.6},{:.6},{:.6}",
            t.status, t.reason, t.cpu_s, t.cache_level, t.cache_s, t.pool_wait_s, t.hold_s
        );
    }
    let mut resp = match t.status {
        200 => HttpResponse::Ok(),
        429 => HttpResponse::TooManyRequests(),
        503 => HttpResponse::ServiceUnavailable(),
        403 => HttpResponse::Forbidden(),
        _ => HttpResponse::InternalServerError(),
    };
    if t.status != 200 {
        resp.insert_header(("X-Reject-Reason", t.reason));
    }
    resp.body(t.reason)
}

async fn init_db(pool: &Pool, rows: i64) -> anyhow::Result<()> {
    let c = pool.get().await.context("connecting to PostgreSQL")?;
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY, payload text NOT NULL, version bigint NOT NULL DEFAULT 0)",
    )
    .await?;
    let n: i64 = c.query_one("SELECT count(*) FROM items", &[]).await?.get(0);
    if n != rows {
        c.batch_execute("TRUNCATE items").await?;
        c.execute(
            "INSERT INTO items (id, payload) SELECT i, repeat(md5(i::text), 4) FROM generate_series(1, $1::bigint) AS i",
            &[&rows],
        )
        .await?;
        c.batch_execute("ANALYZE items").await?;
        eprintln!("refsvc: items table filled with {rows} rows");
    }
    Ok(())
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let d = |s: &str| tenantsim_refsvc::parse_duration(s).map_err(anyhow::Error::msg);
    let tiers: Vec<TierSpec> = a
        .tiers
        .iter()
        .map(|s| TierSpec::parse(s))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let map_text = std::fs::read_to_string(&a.tier_map).with_context(|| format!("reading {}", a.tier_map.display()))?;
    let tier_of = read_tier_map(&map_text).map_err(anyhow::Error::msg)?;
    let limits = TenantLimits::new(&tiers, tier_of.into_iter().collect()).map_err(anyhow::Error::msg)?;
    let cache_on = match a.cache.as_str() {
        "on" => true,
        "off" => false,
        o => anyhow::bail!("--cache is on or off, not `{o}`"),
    };
    let mut cfg = deadpool_postgres::Config::new();
    let pgc: deadpool_postgres::tokio_postgres::Config = a.pg.parse().context("--pg")?;
    cfg.host = pgc.get_hosts().iter().find_map(|h| match h {
        deadpool_postgres::tokio_postgres::config::Host::Tcp(s) => Some(s.clone()),
        #[allow(unreachable_patterns)]
        _ => None,
    });
    cfg.port = pgc.get_ports().first().copied();
    cfg.user = pgc.get_user().map(str::to_string);
    cfg.dbname = pgc.get_dbname().map(str::to_string);
    let mut pc = deadpool_postgres::PoolConfig::new(a.pool_size);
    pc.timeouts.wait = Some(Duration::from_secs_f64(d(&a.pool_timeout)?));
    pc.timeouts.create = Some(Duration::from_secs(5));
    pc.timeouts.recycle = Some(Duration::from_secs(5));
    cfg.pool = Some(pc);
    let pool = cfg
        .create_pool(Some(Runtime::Tokio1), NoTls)
        .context("creating the pool")?;
    init_db(&pool, a.rows).await?;
    // Open every connection now, so no request pays for connecting.
    let mut warm = Vec::new();
    for _ in 0..a.pool_size {
        warm.push(pool.get().await.context("opening the pool's connections")?);
    }
    drop(warm);
    let redis = match (&a.redis, cache_on) {
        (Some(url), true) => {
            let c = redis::Client::open(url.as_str()).context("--redis")?;
            Some(
                c.get_multiplexed_async_connection()
                    .await
                    .context("connecting to Redis")?,
            )
        }
        _ => None,
    };
    let log_file =
        std::fs::File::create(&a.access_log).with_context(|| format!("creating {}", a.access_log.display()))?;
    let mut log = std::io::BufWriter::new(log_file);
    writeln!(
        log,
        "ts,tenant,tier,endpoint,status,reason,latency_s,cpu_s,cache_level,cache_s,pool_wait_s,hold_s"
    )?;
    let state = web::Data::new((
        State {
            limits,
            pool,
            pool_max: a.pool_size,
            redis,
            l1: cache_on.then(|| Mutex::new(Lru::new(a.l1_capacity))),
            l2_ttl_s: d(&a.l2_ttl)?.round().max(1.0) as u64,
            cpu: CpuDist::parse(&a.cpu).map_err(anyhow::Error::msg)?,
            pg_sleep_s: d(&a.pg_sleep)?,
            metrics: Metrics::default(),
            log: Mutex::new(log),
        },
        a.seed,
    ));
    // Flush the access log every second (and at the end).
    {
        let st = state.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let _ = st.0.log.lock().unwrap_or_else(|e| e.into_inner()).flush();
        });
    }
    let st = state.clone();
    eprintln!(
        "refsvc: 127.0.0.1:{} workers {} pool {} cache {} cpu {} pg_sleep {}",
        a.port, a.workers, a.pool_size, a.cache, a.cpu, a.pg_sleep
    );
    HttpServer::new(move || {
        App::new()
            .app_data(st.clone())
            .route("/read", web::get().to(|r, s| handle(r, s, "read")))
            .route("/write", web::post().to(|r, s| handle(r, s, "write")))
            .route("/cpu", web::get().to(|r, s| handle(r, s, "cpu")))
            .route(
                "/metrics",
                web::get().to(|s: web::Data<(State, u64)>| async move {
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4")
                        .body(s.0.metrics.render(s.0.pool_max))
                }),
            )
            .route("/health", web::get().to(|| async { HttpResponse::Ok().body("ok") }))
    })
    .workers(a.workers)
    .backlog(4096)
    .max_connections(100_000)
    .bind(("127.0.0.1", a.port))?
    .run()
    .await?;
    state.0.log.lock().unwrap_or_else(|e| e.into_inner()).flush()?;
    eprintln!("refsvc: stopped");
    Ok(())
}
