// Scratch benchmark for docs/engine.md — NOT part of the tenantsim crate
// (cargo never compiles files under docs/; actix is not a tenantsim dependency).
// Build it in a scratch crate outside the repository:
//   mkdir -p /tmp/actix_mm8/src && cp benchmarks/engine-actix-mm8.rs /tmp/actix_mm8/src/main.rs
//   /tmp/actix_mm8/Cargo.toml: [package] name = "actix_mm8", edition = "2021";
//     [dependencies] actix = "0.13.5", tokio = { version = "1", features = ["sync"] }
//   cd /tmp/actix_mm8 && CARGO_TARGET_DIR=/tmp/actix_target cargo build --release
//   /tmp/actix_target/release/actix_mm8 --mode step|task|fire [--threads 1|3] [--customers N] [--seed S]
// Measured with actix 0.13.5, actix-rt 2.15.0, tokio 1.54.1, rustc 1.95.0.

//! M/M/8 (λ = 680/s, mean service 10 ms, FCFS) driven through actix mailboxes.
//!
//! Same model, RNG (SplitMix64, stream 1 = arrivals, stream 2 = services) and
//! statistics (10 % warm-up, 20 batch means) as tenantsim's
//! benchmarks/peers/bare_loop.rs, so with one seed the awaited modes must
//! print the same Wq as `bare_loop --mode plain|dyn`.
//!
//! Actors: Source (arrivals), Station (8 servers + FIFO queue), Scheduler
//! (the event heap ordered by (time ns, seq)). Per customer: 3 deliveries
//! (Source Tick, Station Arrive, Station Depart), 2 heap events (Tick, Depart;
//! Arrive is a zero-delay message delivered from an outbox, as in bare_loop's
//! dyn mode).
//!
//! Modes:
//!  * step  - the Scheduler actor delivers each event with `addr.send(..)`,
//!            waits for the reply inside its own context (`ctx.wait`), applies
//!            the events the reply carries, then delivers the next one.
//!  * task  - the same heap loop as one async task: `addr.send(..).await`.
//!  * fire  - fire-and-forget: the Scheduler `do_send`s the earliest event and
//!            goes on without waiting; targets `do_send` their new events back
//!            in a `Schedule` message. Order then depends on mailbox polling.
//! `--threads 3` puts Source and Station on their own Arbiters (OS threads).

use actix::prelude::*;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

const LAMBDA: f64 = 680.0;
const MU: f64 = 100.0;
const SERVERS: u32 = 8;
const ERLANG_C_WQ: f64 = 0.004771;
const BATCHES: usize = 20;
const T_19: f64 = 2.093024; // Student t, 0.975 quantile, 19 d.o.f.

// ------------------------------------------------------------------ RNG

struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = SplitMix64(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Exponential draw with the given rate (per second), in nanoseconds.
    #[inline]
    fn exp_ns(&mut self, rate: f64) -> u64 {
        let u = ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
        (-u.ln() / rate * 1e9).round() as u64
    }
}

// ------------------------------------------------------------------ statistics

#[derive(Clone)]
struct Stats {
    warmup: u64,
    batch_size: u64,
    seen: u64,
    sums_ns: [u128; BATCHES],
    /// FNV-1a over every wait in service-start order: the run's fingerprint.
    fnv: u64,
    /// Waits that came out negative (a departure delivered after a later arrival).
    negative: u64,
}

impl Stats {
    fn new(customers: u64) -> Self {
        let warmup = customers / 10;
        Stats {
            warmup,
            batch_size: (customers - warmup) / BATCHES as u64,
            seen: 0,
            sums_ns: [0; BATCHES],
            fnv: 0xcbf2_9ce4_8422_2325,
            negative: 0,
        }
    }
    fn record(&mut self, wait_ns: u64) {
        for b in wait_ns.to_le_bytes() {
            self.fnv = (self.fnv ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        let k = self.seen;
        self.seen += 1;
        if k >= self.warmup {
            let b = ((k - self.warmup) / self.batch_size) as usize;
            if b < BATCHES {
                self.sums_ns[b] += wait_ns as u128;
            }
        }
    }
    fn ci95(&self) -> (f64, f64, f64) {
        let means: Vec<f64> =
            self.sums_ns.iter().map(|&s| s as f64 / self.batch_size as f64 / 1e9).collect();
        let mean = means.iter().sum::<f64>() / BATCHES as f64;
        let var = means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / (BATCHES - 1) as f64;
        let half = T_19 * (var / BATCHES as f64).sqrt();
        (mean, mean - half, mean + half)
    }
}

// ------------------------------------------------------------------ messages

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Source,
    Station,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Tick,
    Arrive { at: u64 },
    Depart,
}

/// One event an actor wants delivered: after `delay` ns, or (None) right
/// after the current one, before anything from the heap.
#[derive(Clone, Copy)]
struct Emit {
    delay: Option<u64>,
    to: Target,
    ev: Ev,
}

/// A handler's reply: at most two new events (no allocation).
#[derive(Clone, Copy, Default)]
struct Out([Option<Emit>; 2]);

/// Awaited delivery: the reply carries the new events.
struct Deliver {
    now: u64,
    ev: Ev,
}
impl Message for Deliver {
    type Result = Out;
}

/// Fire-and-forget delivery: the target `do_send`s a `Schedule` back.
struct Fire {
    now: u64,
    ev: Ev,
}
impl Message for Fire {
    type Result = ();
}

struct Schedule {
    base: u64,
    out: Out,
}
impl Message for Schedule {
    type Result = ();
}

struct GetStats;
impl Message for GetStats {
    type Result = Stats;
}

// ------------------------------------------------------------------ Source, Station

struct Source {
    rng: SplitMix64,
    left: u64,
    sched: Option<Addr<Scheduler>>,
}
impl Actor for Source {
    type Context = Context<Self>;
}
impl Source {
    fn on(&mut self, now: u64, _ev: Ev) -> Out {
        let mut out = Out::default();
        self.left -= 1;
        if self.left > 0 {
            let gap = self.rng.exp_ns(LAMBDA);
            out.0[0] = Some(Emit { delay: Some(gap), to: Target::Source, ev: Ev::Tick });
        }
        out.0[1] = Some(Emit { delay: None, to: Target::Station, ev: Ev::Arrive { at: now } });
        out
    }
}
impl Handler<Deliver> for Source {
    type Result = MessageResult<Deliver>;
    fn handle(&mut self, m: Deliver, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.on(m.now, m.ev))
    }
}
impl Handler<Fire> for Source {
    type Result = ();
    fn handle(&mut self, m: Fire, _: &mut Context<Self>) {
        let out = self.on(m.now, m.ev);
        self.sched.as_ref().unwrap().do_send(Schedule { base: m.now, out });
    }
}

struct Station {
    rng: SplitMix64,
    busy: u32,
    queue: VecDeque<u64>,
    stats: Stats,
    sched: Option<Addr<Scheduler>>,
}
impl Actor for Station {
    type Context = Context<Self>;
}
impl Station {
    fn on(&mut self, now: u64, ev: Ev) -> Out {
        let mut out = Out::default();
        match ev {
            Ev::Arrive { at } => {
                if self.busy < SERVERS {
                    self.busy += 1;
                    self.stats.record(0);
                    let s = self.rng.exp_ns(MU);
                    out.0[0] = Some(Emit { delay: Some(s), to: Target::Station, ev: Ev::Depart });
                } else {
                    self.queue.push_back(at);
                }
            }
            Ev::Depart => {
                if let Some(t) = self.queue.pop_front() {
                    if now < t {
                        self.stats.negative += 1;
                    }
                    self.stats.record(now.saturating_sub(t));
                    let s = self.rng.exp_ns(MU);
                    out.0[0] = Some(Emit { delay: Some(s), to: Target::Station, ev: Ev::Depart });
                } else {
                    self.busy -= 1;
                }
            }
            Ev::Tick => unreachable!("station gets no ticks"),
        }
        out
    }
}
impl Handler<Deliver> for Station {
    type Result = MessageResult<Deliver>;
    fn handle(&mut self, m: Deliver, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.on(m.now, m.ev))
    }
}
impl Handler<Fire> for Station {
    type Result = ();
    fn handle(&mut self, m: Fire, _: &mut Context<Self>) {
        let out = self.on(m.now, m.ev);
        self.sched.as_ref().unwrap().do_send(Schedule { base: m.now, out });
    }
}
impl Handler<GetStats> for Station {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}

// ------------------------------------------------------------------ event set

/// The pending events: a (time, seq) min-heap plus the zero-delay outbox.
struct Events {
    heap: BinaryHeap<Reverse<(u64, u64, Target, Ev)>>,
    outbox: VecDeque<(u64, Target, Ev)>,
    seq: u64,
}
impl Events {
    fn new() -> Self {
        Events { heap: BinaryHeap::with_capacity(64), outbox: VecDeque::with_capacity(16), seq: 0 }
    }
    fn apply(&mut self, base: u64, out: Out) {
        for e in out.0.into_iter().flatten() {
            match e.delay {
                Some(d) => {
                    self.heap.push(Reverse((base + d, self.seq, e.to, e.ev)));
                    self.seq += 1;
                }
                None => self.outbox.push_back((base, e.to, e.ev)),
            }
        }
    }
    fn next(&mut self) -> Option<(u64, Target, Ev)> {
        if let Some(x) = self.outbox.pop_front() {
            return Some(x);
        }
        self.heap.pop().map(|Reverse((t, _, to, ev))| (t, to, ev))
    }
    fn is_empty(&self) -> bool {
        self.outbox.is_empty() && self.heap.is_empty()
    }
}

// ------------------------------------------------------------------ Scheduler actor

struct Scheduler {
    events: Events,
    source: Option<Addr<Source>>,
    station: Option<Addr<Station>>,
    delivered: u64,
    /// Deliveries whose time is earlier than the previous delivery's.
    inversions: u64,
    last_t: u64,
    in_flight: u64,
    pump_pending: bool,
    done: Option<tokio::sync::oneshot::Sender<(Stats, u64, u64)>>,
}
impl Actor for Scheduler {
    type Context = Context<Self>;
}

struct Start {
    first: u64,
    fire: bool,
    done: tokio::sync::oneshot::Sender<(Stats, u64, u64)>,
}
impl Message for Start {
    type Result = ();
}
struct Pump;
impl Message for Pump {
    type Result = ();
}

impl Scheduler {
    /// Awaited mode: deliver the next event, wait for the reply in this
    /// actor's context (no other message is handled meanwhile), apply it,
    /// repeat.
    fn step(&mut self, ctx: &mut Context<Self>) {
        let Some((t, to, ev)) = self.events.next() else {
            self.finish(ctx);
            return;
        };
        self.delivered += 1;
        let msg = Deliver { now: t, ev };
        match to {
            Target::Source => {
                let f = self.source.as_ref().unwrap().send(msg);
                ctx.wait(fut::wrap_future(f).map(move |r, act: &mut Self, ctx| {
                    act.events.apply(t, r.expect("source mailbox"));
                    act.step(ctx);
                }));
            }
            Target::Station => {
                let f = self.station.as_ref().unwrap().send(msg);
                ctx.wait(fut::wrap_future(f).map(move |r, act: &mut Self, ctx| {
                    act.events.apply(t, r.expect("station mailbox"));
                    act.step(ctx);
                }));
            }
        }
    }

    fn finish(&mut self, ctx: &mut Context<Self>) {
        let f = self.station.as_ref().unwrap().send(GetStats);
        ctx.wait(fut::wrap_future(f).map(|r, act: &mut Self, _| {
            let s = r.expect("station mailbox");
            let _ = act.done.take().unwrap().send((s, act.delivered, act.inversions));
        }));
    }
}

impl Handler<Start> for Scheduler {
    type Result = ();
    fn handle(&mut self, m: Start, ctx: &mut Context<Self>) {
        self.done = Some(m.done);
        self.events.heap.push(Reverse((m.first, 0, Target::Source, Ev::Tick)));
        self.events.seq = 1;
        if m.fire {
            self.pump_pending = true;
            ctx.notify(Pump);
        } else {
            self.step(ctx);
        }
    }
}

/// Fire-and-forget: deliver the earliest known event without waiting for
/// the events its handling will produce.
impl Handler<Pump> for Scheduler {
    type Result = ();
    fn handle(&mut self, _: Pump, ctx: &mut Context<Self>) {
        self.pump_pending = false;
        if let Some((t, to, ev)) = self.events.next() {
            if t < self.last_t {
                self.inversions += 1;
            }
            self.last_t = t;
            self.delivered += 1;
            self.in_flight += 1;
            match to {
                Target::Source => self.source.as_ref().unwrap().do_send(Fire { now: t, ev }),
                Target::Station => self.station.as_ref().unwrap().do_send(Fire { now: t, ev }),
            }
            if !self.events.is_empty() {
                self.pump_pending = true;
                ctx.notify(Pump);
            }
        } else if self.in_flight == 0 {
            self.finish(ctx);
        }
    }
}
impl Handler<Schedule> for Scheduler {
    type Result = ();
    fn handle(&mut self, m: Schedule, ctx: &mut Context<Self>) {
        self.in_flight -= 1;
        self.events.apply(m.base, m.out);
        if !self.pump_pending {
            self.pump_pending = true;
            ctx.notify(Pump);
        }
    }
}

// ------------------------------------------------------------------ task mode

/// The heap loop as a plain async task awaiting each `send`.
async fn drive_task(source: Addr<Source>, station: Addr<Station>, first: u64) -> (Stats, u64, u64) {
    let mut events = Events::new();
    events.heap.push(Reverse((first, 0, Target::Source, Ev::Tick)));
    events.seq = 1;
    let mut delivered = 0u64;
    while let Some((t, to, ev)) = events.next() {
        delivered += 1;
        let msg = Deliver { now: t, ev };
        let out = match to {
            Target::Source => source.send(msg).await,
            Target::Station => station.send(msg).await,
        }
        .expect("mailbox");
        events.apply(t, out);
    }
    (station.send(GetStats).await.expect("mailbox"), delivered, 0)
}

// ------------------------------------------------------------------ main

fn usage() -> ! {
    eprintln!("usage: actix_mm8 [--mode step|task|fire] [--threads 1|3] [--customers N] [--seed S]");
    std::process::exit(2)
}

fn main() {
    let mut mode = String::from("step");
    let mut threads = 1u32;
    let mut customers: u64 = 1_000_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--mode" => mode = val(),
            "--threads" => threads = val().parse().unwrap_or_else(|_| usage()),
            "--customers" => customers = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if customers < 10 * BATCHES as u64 || !matches!(mode.as_str(), "step" | "task" | "fire") {
        usage();
    }
    let fire = mode == "fire";
    let task = mode == "task";

    let sys = System::new();
    let (stats, delivered, inversions, wall) = sys.block_on(async move {
        let mut arr_rng = SplitMix64::new(seed, 1);
        let first = arr_rng.exp_ns(LAMBDA);
        let svc_rng = SplitMix64::new(seed, 2);
        let arbiters: Vec<Arbiter> = (1..threads).map(|_| Arbiter::new()).collect();

        // The Scheduler is created first so that Source and Station know its
        // address (they only use it in fire mode).
        let sched = Scheduler::create(|_| Scheduler {
            events: Events::new(),
            source: None,
            station: None,
            delivered: 0,
            inversions: 0,
            last_t: 0,
            in_flight: 0,
            pump_pending: false,
            done: None,
        });
        let src_actor = {
            let s = sched.clone();
            move || Source { rng: arr_rng, left: customers, sched: Some(s) }
        };
        let sta_actor = {
            let s = sched.clone();
            move || Station {
                rng: svc_rng,
                busy: 0,
                queue: VecDeque::with_capacity(1024),
                stats: Stats::new(customers),
                sched: Some(s),
            }
        };
        let (source, station) = if threads >= 3 {
            (
                Source::start_in_arbiter(&arbiters[0].handle(), move |_| src_actor()),
                Station::start_in_arbiter(&arbiters[1].handle(), move |_| sta_actor()),
            )
        } else {
            (src_actor().start(), sta_actor().start())
        };

        let t0 = Instant::now();
        let res = if task {
            drive_task(source, station, first).await
        } else {
            struct Wire(Addr<Source>, Addr<Station>);
            impl Message for Wire {
                type Result = ();
            }
            impl Handler<Wire> for Scheduler {
                type Result = ();
                fn handle(&mut self, w: Wire, _: &mut Context<Self>) {
                    self.source = Some(w.0);
                    self.station = Some(w.1);
                }
            }
            sched.send(Wire(source, station)).await.unwrap();
            let (tx, rx) = tokio::sync::oneshot::channel();
            sched.do_send(Start { first, fire, done: tx });
            rx.await.expect("scheduler finished")
        };
        let wall = t0.elapsed().as_secs_f64();
        for a in &arbiters {
            a.stop();
        }
        (res.0, res.1, res.2, wall)
    });

    assert_eq!(stats.seen, customers, "every customer must have started service");
    let (mean, lo, hi) = stats.ci95();
    println!(
        "{{\"peer\": \"actix-{}\", \"threads\": {}, \"customers\": {}, \"deliveries\": {}, \
         \"wall_s\": {:.6}, \"customers_per_s\": {:.1}, \"wq_mean_s\": {:.9}, \
         \"wq_ci95\": [{:.7}, {:.7}], \"erlang_c_wq_s\": {}, \"within_ci\": {}, \
         \"time_inversions\": {}, \"negative_waits\": {}, \"waits_fnv\": \"{:016x}\"}}",
        mode,
        threads,
        customers,
        delivered,
        wall,
        customers as f64 / wall,
        mean,
        lo,
        hi,
        ERLANG_C_WQ,
        lo <= ERLANG_C_WQ && ERLANG_C_WQ <= hi,
        inversions,
        stats.negative,
        stats.fnv,
    );
}
