#!/usr/bin/env python3
"""calibrated.toml: the scenario `tenantsim fit` wrote, plus what the
calibration run measured outside the access log (capacity.json) and what
the service's configuration fixes about its host.

From capacity.json, two stages per endpoint: the host's CPU per request
beyond the logged work (a CPU stage) and the time outside the handler (a
wait stage). Both constant, the same for every endpoint (one run cannot
split them by endpoint): ASSUMED.

From the service's configuration, `[host]`: refsvc runs every request on
THREADS actix worker threads (`--workers`, 1), an asynchronous server
whose thread also runs the PostgreSQL driver: a request's CPU work runs to
completion on it, and a query's reply is processed on it before the
connection is given back. With `pg_sleep` on (ROUND_TRIPS = 2) a
connection is held over two round trips (`SELECT pg_sleep`, then the
query), each answered through the thread: the fitted hold is split evenly
over them (db_queries = 2, each with half the fitted mean, the same cv:
ASSUMED). When the calibration measured refsvc's CPU apart from
PostgreSQL's and Redis's (capacity.json `db_cpu_per_request_s`), their CPU
is the database's on the host, `query_cpu` per round trip (processor-shared
with the thread; taken out of the fitted hold, which included it), and the
thread's CPU stage is the rest. Otherwise (calibrations before it) all the
host CPU runs on the thread and `query_cpu` = 0 (ASSUMED; the thread is
then as busy as the core, an upper bound on its waits).

From the service's configuration too, `[cache.l2]`: refsvc reads Redis
after its L1 (read = L1 -> Redis -> PostgreSQL), and Redis (256 MB,
allkeys-lru) keeps every key for L2_TTL (refsvc --l2-ttl, 300s). A
calibration at a low rate may show no Redis hit at all (its L1 never
evicts), and then `fit` writes no L2: without one the scenario would send
to the database every read the L1 has evicted, which Redis answers once
the load fills the L1. The L2's lookup costs nothing in the scenario
(ASSUMED): the fitted `rest` already holds the Redis lookup of every L1
miss of the calibration.

The time outside the handler is far from constant: most requests spend
little of it and a few a lot (loopback and HTTP on a shared core, the
client's timers). Its mean is the calibration's client mean less the log's
less the host CPU; its shape is fitted to the calibration's client
quantiles: a lognormal of that mean whose sigma makes (the calibration's
logged latencies + the host CPU + the outside time) reproduce the client's
p50, p95 and p99 best (least squares on log ratios, a fixed-seed Monte
Carlo over a grid of sigmas). Only the calibration run's files are used
(CALDIR/run/access.csv, client.json, start): nothing is fitted per setting.

usage: calibrated.py FITTED.toml CAPACITY.json [THREADS ROUND_TRIPS [L2_TTL]] > calibrated.toml"""
import csv, json, math, os, random, re, sys, tomllib

fitted, cap = sys.argv[1], json.load(open(sys.argv[2]))
threads, trips = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (1, 2)
l2_ttl = sys.argv[5] if len(sys.argv) > 5 else "300s"
text = open(fitted).read()
sc = tomllib.loads(text)
us = lambda s: f"{s * 1e6:.1f}us"
UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


# The database's CPU on the host per round trip, when measured apart.
db_cpu, calls = cap.get("db_cpu_per_request_s"), cap.get("db_calls_per_request")
query_cpu = db_cpu / (calls * trips) if db_cpu and calls else 0.0
thread_cpu = max(cap["host_cpu_per_request_s"] - (db_cpu or 0.0), 0.0) if query_cpu else cap["host_cpu_per_request_s"]


def outside_shape(run, outside, host):
    """The sigma of the lognormal outside time (mean `outside`) that makes
    logged latency + host CPU + outside time match the calibration client's
    p50, p95 and p99; None when the run's files are missing."""
    try:
        client = json.load(open(f"{run}/client.json"))
        start = float(open(f"{run}/start").read())
        rows = csv.DictReader(open(f"{run}/access.csv"))
        logged = [float(r["latency_s"]) for r in rows if r["status"] == "200" and float(r["ts"]) >= start + WARMUP_S]
    except (OSError, KeyError, ValueError):
        return None
    if not logged or outside <= 0:
        return None
    target = [client[k] for k in ("latency_p50_s", "latency_p95_s", "latency_p99_s")]
    best = None
    for i in range(0, 31):
        sigma = 0.1 * i
        rng = random.Random(1)
        mu = math.log(outside) - sigma * sigma / 2
        tot = sorted(l + host + math.exp(rng.gauss(mu, sigma)) for l in logged for _ in range(10))
        qs = [tot[min(len(tot) - 1, int(p * len(tot)))] for p in (0.50, 0.95, 0.99)]
        err = sum(math.log(q / t) ** 2 for q, t in zip(qs, target))
        if best is None or err < best[0]:
            best = (err, sigma, qs)
    return best[1], best[2], target  # sigma, the fitted quantiles, the measured ones


WARMUP_S = float(os.environ.get("WARMUP", "5"))


def split_round_trips(text, trips):
    """Each endpoint's one fitted query (the whole hold) as `trips` round
    trips of 1/trips of its mean, less the query CPU on the host; only a
    mean-parameterised query line (`query = { dist = ..., mean = "X", ... }`)
    can be split."""
    if trips == 1 and not query_cpu:
        return text, 0
    pat = re.compile(r'^db_queries = 1\n((?:#.*\n)*)query = \{ dist = "(\w+)", mean = "([0-9.]+)(us|ms|s)"(.*)$', re.M)

    def sub(m):
        mean = max(float(m.group(3)) * UNIT[m.group(4)] / trips - query_cpu, 1e-6)
        return (f"db_queries = {trips}   # round trips of refsvc's hold (pg_sleep, then the query)\n{m.group(1)}"
                f'query = {{ dist = "{m.group(2)}", mean = "{us(mean)}"{m.group(5)}   # the fitted hold / {trips} '
                f'less query_cpu: ASSUMED even')
    return pat.subn(sub, text)


text, n_split = split_round_trips(text, trips)
if query_cpu:
    # The database on the host needs the one instance it shares it with.
    text = re.sub(r"^initial = \d+.*$", "initial = 1         # refsvc is one process beside PostgreSQL", text, count=1, flags=re.M)
shape = outside_shape(os.path.join(os.path.dirname(os.path.abspath(sys.argv[2])), "run"),
                      cap["outside_handler_s"], thread_cpu + query_cpu * trips)
out = [text.rstrip("\n"), "",
       "# ---- Added by testbed/scripts/calibrated.py from the calibration run, outside the access log ----",
       f"# The service core spent {us(cap['core_cpu_per_request_s'])} of CPU per request (refsvc, PostgreSQL, Redis, interrupts",
       f"# from /proc) of which the log's cpu_s is {us(cap['logged_cpu_per_request_s'])}: the other",
       f"# {us(cap['host_cpu_per_request_s'])} (HTTP handling, database and Redis CPU): {us(thread_cpu)} is a CPU stage on",
       f"# the thread, {us(query_cpu)} per round trip the database's CPU on the host ([host] query_cpu).",
       f"# The client saw {us(cap['client_latency_mean_s'])} on average, the log {us(cap['log_latency_mean_s'])}: the",
       f"# remaining {us(cap['outside_handler_s'])} (loopback, HTTP, client) is a wait stage"
       + (f", lognormal, sigma {shape[0]:.1f}\n# (cv {math.sqrt(math.exp(shape[0] ** 2) - 1):.2f}): with it the calibration's logged latencies give a client "
          f"p50/p95/p99 of {'/'.join(f'{q * 1e3:.2f}' for q in shape[1])} ms,\n# measured {'/'.join(f'{t * 1e3:.2f}' for t in shape[2])} ms."
          if shape else " (ASSUMED constant: the calibration run's files are missing)."),
       "# ASSUMED: the host CPU constant; both the same for every endpoint and at every load.",
       "",
       f"# refsvc --workers {threads}: an asynchronous server whose thread runs every request's CPU work to",
       "# completion and the PostgreSQL driver: a reply waits for the thread before the connection is",
       f"# given back. {n_split} endpoint(s) hold their connection over {trips} round trips.",
       ("# PostgreSQL's and Redis's CPU measured apart from refsvc's: the database's on the host." if query_cpu else
        "# ASSUMED: no CPU of the database's own beside the thread's (query_cpu = 0; the calibration\n"
        "# measured the core's processes together)."),
       "# ASSUMED: replies cost no CPU beyond the stages (reply_cpu = 0).",
       "[host]",
       f"threads = {threads}"] + ([f'query_cpu = "{us(query_cpu)}"'] if query_cpu else [])
for name in sc.get("endpoint", {}):
    out += ["", f"[[endpoint.{name}.stage]]", 'name = "host-cpu"', f'cpu = "{us(thread_cpu)}"']
    if cap["outside_handler_s"] > 0:
        wait = (f'{{ dist = "lognormal", mean = "{us(cap["outside_handler_s"])}", cv = {math.sqrt(math.exp(shape[0] ** 2) - 1):.4f} }}'
                if shape and shape[0] > 0 else f'"{us(cap["outside_handler_s"])}"')
        out += ["", f"[[endpoint.{name}.stage]]", 'name = "outside-handler"', f"wait = {wait}"]
caches = sc.get("cache", {})
if "l1" in caches and "l2" not in caches:
    out += ["", "# refsvc reads Redis after its L1, and Redis keeps every key (the service's configuration);",
            "# the calibration log shows no Redis hit (its L1 never evicted), so `fit` wrote no L2.",
            "# ASSUMED: a lookup costs nothing here (the fitted `rest` holds the calibration's Redis lookups).",
            "[cache.l2]", f'ttl = "{l2_ttl}"']
bg = cap.get("background_cpu_per_s", 0.0)
if bg > 0:
    out += ["", f"# The idle core used {bg * 100:.1f} % of its time before the load (database and Redis timers,",
            "# Prometheus scraping /metrics): a background task on the instance, 100 ms apart.",
            "[[background]]", 'name = "idle-core"', 'period = "100ms"', f'cpu = "{us(bg * 0.1)}"']
print("\n".join(out))
