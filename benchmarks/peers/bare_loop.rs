//! Bare event-loop peer for the tenantsim benchmark: an M/M/8 FCFS queue
//! (λ = 680/s, μ = 100/s per server, ρ = 0.85) simulated with nothing but a
//! binary heap, a FIFO queue and a running sum of waits (plus batch means).
//!
//! Build: rustc -O --edition 2021 benchmarks/peers/bare_loop.rs -o /tmp/bare_loop
//! Run:   /tmp/bare_loop --mode plain|dyn --customers N --seed S
//!
//! * `--mode plain`: events are a small enum in
//!   `BinaryHeap<Reverse<(u64 time_ns, u64 seq, Event)>>`, handled by a `match`.
//! * `--mode dyn`: every event is a message to an actor dispatched through a
//!   `Box<dyn Actor>`; the heap holds (time, seq, actor index, message) and the
//!   actors live in a `Vec<Box<dyn Actor>>`. A Source actor sends each customer
//!   to a Station actor as a zero-delay message (delivered through the same dyn
//!   dispatch, from a FIFO outbox, without a heap round trip), so both modes
//!   push/pop exactly two heap events per customer (arrival, departure) and
//!   draw the same random numbers: with one seed they print the same Wq.
//!
//! No dependencies: the RNG is SplitMix64, one stream for arrivals and one for
//! services.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

const LAMBDA: f64 = 680.0;
const MU: f64 = 100.0;
const SERVERS: u32 = 8;
const ERLANG_C_WQ: f64 = 0.004771;
const BATCHES: usize = 20;
const T_19: f64 = 2.093024; // Student t, 0.975 quantile, 19 d.o.f.

// ---------------------------------------------------------------- RNG

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
        // u in (0, 1]: never ln(0)
        let u = ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
        (-u.ln() / rate * 1e9).round() as u64
    }
}

// ---------------------------------------------------------------- statistics

/// Waits arrive in customer order (FCFS: service starts in arrival order).
/// The first 10 % are warm-up; the rest are summed into 20 equal batches
/// (any remainder that does not fill a batch is dropped).
struct Stats {
    warmup: u64,
    batch_size: u64,
    seen: u64,
    sums_ns: [u128; BATCHES],
}

impl Stats {
    fn new(customers: u64) -> Self {
        let warmup = customers / 10;
        Stats { warmup, batch_size: (customers - warmup) / BATCHES as u64, seen: 0, sums_ns: [0; BATCHES] }
    }
    #[inline]
    fn record(&mut self, wait_ns: u64) {
        let k = self.seen;
        self.seen += 1;
        if k >= self.warmup {
            let b = ((k - self.warmup) / self.batch_size) as usize;
            if b < BATCHES {
                self.sums_ns[b] += wait_ns as u128;
            }
        }
    }
    /// (mean, lo, hi) in seconds.
    fn ci95(&self) -> (f64, f64, f64) {
        let means: Vec<f64> =
            self.sums_ns.iter().map(|&s| s as f64 / self.batch_size as f64 / 1e9).collect();
        let mean = means.iter().sum::<f64>() / BATCHES as f64;
        let var = means.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / (BATCHES - 1) as f64;
        let half = T_19 * (var / BATCHES as f64).sqrt();
        (mean, mean - half, mean + half)
    }
}

// ---------------------------------------------------------------- plain mode

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival,
    Departure,
}

fn run_plain(customers: u64, seed: u64) -> Stats {
    let mut arr_rng = SplitMix64::new(seed, 1);
    let mut svc_rng = SplitMix64::new(seed, 2);
    let mut heap: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::with_capacity(64);
    let mut queue: VecDeque<u64> = VecDeque::with_capacity(1024); // arrival times
    let mut stats = Stats::new(customers);
    let mut seq = 0u64;
    let mut busy = 0u32;
    let mut arrived = 0u64;

    if customers > 0 {
        heap.push(Reverse((arr_rng.exp_ns(LAMBDA), seq, Event::Arrival)));
        seq += 1;
    }
    while let Some(Reverse((now, _, ev))) = heap.pop() {
        match ev {
            Event::Arrival => {
                arrived += 1;
                if arrived < customers {
                    heap.push(Reverse((now + arr_rng.exp_ns(LAMBDA), seq, Event::Arrival)));
                    seq += 1;
                }
                if busy < SERVERS {
                    busy += 1;
                    stats.record(0);
                    heap.push(Reverse((now + svc_rng.exp_ns(MU), seq, Event::Departure)));
                    seq += 1;
                } else {
                    queue.push_back(now);
                }
            }
            Event::Departure => {
                if let Some(t) = queue.pop_front() {
                    stats.record(now - t);
                    heap.push(Reverse((now + svc_rng.exp_ns(MU), seq, Event::Departure)));
                    seq += 1;
                } else {
                    busy -= 1;
                }
            }
        }
    }
    stats
}

// ---------------------------------------------------------------- dyn mode

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Msg {
    Tick,
    Arrive { at: u64 },
    Depart,
}

/// What an actor can do while handling a message.
struct Ctx {
    now: u64,
    seq: u64,
    heap: BinaryHeap<Reverse<(u64, u64, usize, Msg)>>,
    outbox: VecDeque<(usize, Msg)>,
    stats: Stats,
}

impl Ctx {
    #[inline]
    fn send_in(&mut self, delay_ns: u64, to: usize, msg: Msg) {
        self.heap.push(Reverse((self.now + delay_ns, self.seq, to, msg)));
        self.seq += 1;
    }
    #[inline]
    fn send_now(&mut self, to: usize, msg: Msg) {
        self.outbox.push_back((to, msg));
    }
}

trait Actor {
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx);
}

const SOURCE: usize = 0;
const STATION: usize = 1;

struct Source {
    rng: SplitMix64,
    left: u64,
}

impl Actor for Source {
    fn handle(&mut self, _msg: Msg, ctx: &mut Ctx) {
        self.left -= 1;
        if self.left > 0 {
            let gap = self.rng.exp_ns(LAMBDA);
            ctx.send_in(gap, SOURCE, Msg::Tick);
        }
        ctx.send_now(STATION, Msg::Arrive { at: ctx.now });
    }
}

struct Station {
    rng: SplitMix64,
    busy: u32,
    queue: VecDeque<u64>,
}

impl Actor for Station {
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Arrive { at } => {
                if self.busy < SERVERS {
                    self.busy += 1;
                    ctx.stats.record(0);
                    let s = self.rng.exp_ns(MU);
                    ctx.send_in(s, STATION, Msg::Depart);
                } else {
                    self.queue.push_back(at);
                }
            }
            Msg::Depart => {
                if let Some(t) = self.queue.pop_front() {
                    ctx.stats.record(ctx.now - t);
                    let s = self.rng.exp_ns(MU);
                    ctx.send_in(s, STATION, Msg::Depart);
                } else {
                    self.busy -= 1;
                }
            }
            Msg::Tick => unreachable!("station gets no ticks"),
        }
    }
}

fn run_dyn(customers: u64, seed: u64) -> Stats {
    let mut arr_rng = SplitMix64::new(seed, 1);
    let first = arr_rng.exp_ns(LAMBDA);
    let mut actors: Vec<Box<dyn Actor>> = vec![
        Box::new(Source { rng: arr_rng, left: customers }),
        Box::new(Station { rng: SplitMix64::new(seed, 2), busy: 0, queue: VecDeque::with_capacity(1024) }),
    ];
    let mut ctx = Ctx {
        now: 0,
        seq: 0,
        heap: BinaryHeap::with_capacity(64),
        outbox: VecDeque::with_capacity(16),
        stats: Stats::new(customers),
    };
    if customers > 0 {
        ctx.send_in(first, SOURCE, Msg::Tick);
    }
    while let Some(Reverse((now, _, to, msg))) = ctx.heap.pop() {
        ctx.now = now;
        actors[to].handle(msg, &mut ctx);
        while let Some((to, msg)) = ctx.outbox.pop_front() {
            actors[to].handle(msg, &mut ctx);
        }
    }
    ctx.stats
}

// ---------------------------------------------------------------- main

fn usage() -> ! {
    eprintln!("usage: bare_loop [--mode plain|dyn] [--customers N] [--seed S]");
    std::process::exit(2)
}

fn main() {
    let mut mode = String::from("plain");
    let mut customers: u64 = 1_000_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--mode" => mode = val(),
            "--customers" => customers = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if customers < 10 * BATCHES as u64 {
        eprintln!("--customers must be at least {}", 10 * BATCHES);
        std::process::exit(2);
    }

    let start = Instant::now();
    let (peer, stats) = match mode.as_str() {
        "plain" => ("bare-loop", run_plain(customers, seed)),
        "dyn" => ("bare-loop-dyn", run_dyn(customers, seed)),
        _ => usage(),
    };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(stats.seen, customers, "every customer must have started service");

    let (mean, lo, hi) = stats.ci95();
    println!(
        "{{\"peer\": \"{}\", \"customers\": {}, \"wall_s\": {:.6}, \"customers_per_s\": {:.1}, \
         \"wq_mean_s\": {:.7}, \"wq_ci95\": [{:.7}, {:.7}], \"erlang_c_wq_s\": {}, \"within_ci\": {}}}",
        peer,
        customers,
        wall,
        customers as f64 / wall,
        mean,
        lo,
        hi,
        ERLANG_C_WQ,
        lo <= ERLANG_C_WQ && ERLANG_C_WQ <= hi
    );
}
