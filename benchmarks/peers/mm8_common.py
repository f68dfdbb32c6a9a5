"""Shared bits of the Python peers: the M/M/8 parameters, the command line,
batch means and the one-line JSON report. Kept identical to bare_loop.rs."""
import argparse
import json
import math
import statistics

LAMBDA = 680.0          # arrivals per second
MU = 100.0              # services per second per server (mean 10 ms)
SERVERS = 8
ERLANG_C_WQ = 0.004771  # C(8, 6.8) / (c*mu - lambda) = 0.5725689 / 120
WARMUP = 0.10
BATCHES = 20
T_19 = 2.093024         # Student t, 0.975 quantile, 19 degrees of freedom


def parse_args():
    p = argparse.ArgumentParser(description="M/M/8 FCFS, rho = 0.85")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


def batch_means(waits):
    """Drop the first 10 %, split the rest into 20 equal batches (the
    remainder is dropped), return (mean, lo, hi) of a 95 % Student-t CI."""
    rest = waits[int(len(waits) * WARMUP):]
    size = len(rest) // BATCHES
    means = [statistics.fmean(rest[i * size:(i + 1) * size]) for i in range(BATCHES)]
    mean = statistics.fmean(means)
    half = T_19 * statistics.stdev(means) / math.sqrt(BATCHES)
    return mean, mean - half, mean + half


def report(peer, customers, wall_s, waits):
    mean, lo, hi = batch_means(waits)
    print(json.dumps({
        "peer": peer,
        "customers": customers,
        "wall_s": round(wall_s, 6),
        "customers_per_s": round(customers / wall_s, 1),
        "wq_mean_s": round(mean, 7),
        "wq_ci95": [round(lo, 7), round(hi, 7)],
        "erlang_c_wq_s": ERLANG_C_WQ,
        "within_ci": lo <= ERLANG_C_WQ <= hi,
    }))
