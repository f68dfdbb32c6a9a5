//! The fastest bare loop peer for the tenantsim benchmark (issue 25): an
//! M/M/8 FCFS queue (λ = 680/s, μ = 100/s per server, ρ = 0.85) with f64
//! times, a `BinaryHeap` of (time, seq, event) ordered with `total_cmp`, a
//! `VecDeque` of waiting arrival times, one `SmallRng` (rand 0.9) drawing
//! through `rand_distr::Exp`, and running sums of Wq and W only (no batch
//! means, no histograms): the floor for any engine that records metrics.
//! Its release profile (lto = "fat", codegen-units = 1, panic = "abort",
//! in Cargo.toml) is part of its speed.
//!
//! Build: cargo build --release --manifest-path benchmarks/peers/fast_loop/Cargo.toml
//! Run:   fast-loop --customers N --seed S
//!
//! Prints the peers' JSON line (benchmarks/peers/README.md). With no batch
//! means there is no confidence interval: `wq_ci95` and `within_ci` are
//! null, and `wq_rel_err` says how far Wq is from Erlang C.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

const LAMBDA: f64 = 680.0;
const MU: f64 = 100.0;
const SERVERS: u32 = 8;
const ERLANG_C_WQ: f64 = 0.004771;

#[derive(Clone, Copy)]
enum Event {
    Arrival,
    /// The `customer`-th to start service (1-based), who arrived at `arrived_at`.
    Departure {
        customer: u64,
        arrived_at: f64,
    },
}

/// An event at `time` (seconds); `seq` breaks ties in scheduling order.
struct Entry {
    time: f64,
    seq: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Reversed: `BinaryHeap` is a max-heap, the earliest event must come first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.time.total_cmp(&self.time).then(o.seq.cmp(&self.seq))
    }
}

/// Running sums over the customers after the warm-up (the first 10 % to
/// start service; FCFS, so the first 10 % to arrive).
#[derive(Default)]
struct Sums {
    started: u64,
    wq: f64,
    departed: u64,
    w: f64,
}

fn run(customers: u64, seed: u64) -> Sums {
    let mut rng = SmallRng::seed_from_u64(seed);
    let arrivals = Exp::new(LAMBDA).expect("λ > 0");
    let services = Exp::new(MU).expect("μ > 0");
    let mut heap: BinaryHeap<Entry> = BinaryHeap::with_capacity(64);
    let mut waiting: VecDeque<f64> = VecDeque::with_capacity(1024);
    let warmup = customers / 10;
    let mut sums = Sums::default();
    let (mut seq, mut busy, mut arrived, mut started) = (0u64, 0u32, 0u64, 0u64);
    if customers > 0 {
        heap.push(Entry {
            time: arrivals.sample(&mut rng),
            seq,
            event: Event::Arrival,
        });
        seq += 1;
    }
    while let Some(e) = heap.pop() {
        let now = e.time;
        // A customer who arrived at `at` starts service now.
        let mut start = |heap: &mut BinaryHeap<Entry>, rng: &mut SmallRng, at: f64| {
            started += 1;
            if started > warmup {
                sums.started += 1;
                sums.wq += now - at;
            }
            let event = Event::Departure {
                customer: started,
                arrived_at: at,
            };
            heap.push(Entry {
                time: now + services.sample(rng),
                seq,
                event,
            });
            seq += 1;
        };
        match e.event {
            Event::Arrival => {
                arrived += 1;
                if busy < SERVERS {
                    busy += 1;
                    start(&mut heap, &mut rng, now);
                } else {
                    waiting.push_back(now);
                }
                if arrived < customers {
                    heap.push(Entry {
                        time: now + arrivals.sample(&mut rng),
                        seq,
                        event: Event::Arrival,
                    });
                    seq += 1;
                }
            }
            Event::Departure { customer, arrived_at } => {
                if customer > warmup {
                    sums.departed += 1;
                    sums.w += now - arrived_at;
                }
                match waiting.pop_front() {
                    Some(at) => start(&mut heap, &mut rng, at),
                    None => busy -= 1,
                }
            }
        }
    }
    sums
}

fn usage() -> ! {
    eprintln!("usage: fast-loop [--customers N] [--seed S]");
    std::process::exit(2)
}

fn main() {
    let mut customers: u64 = 1_000_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--customers" => customers = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = val().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if customers < 100 {
        eprintln!("--customers must be at least 100");
        std::process::exit(2);
    }
    let t0 = Instant::now();
    let sums = run(customers, seed);
    let wall = t0.elapsed().as_secs_f64();
    assert_eq!(
        sums.started,
        customers - customers / 10,
        "every customer must have started service"
    );
    let wq = sums.wq / sums.started as f64;
    let w = sums.w / sums.departed as f64;
    println!(
        "{{\"peer\": \"fast-loop\", \"customers\": {customers}, \"wall_s\": {wall:.6}, \"customers_per_s\": {:.1}, \
         \"wq_mean_s\": {wq:.7}, \"w_mean_s\": {w:.7}, \"wq_ci95\": null, \"erlang_c_wq_s\": {ERLANG_C_WQ}, \
         \"wq_rel_err\": {:.4}, \"within_ci\": null}}",
        customers as f64 / wall,
        wq / ERLANG_C_WQ - 1.0,
    );
}
