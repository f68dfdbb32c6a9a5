#!/usr/bin/env python3
"""What the calibration run measured beside the access log, and the
service's capacity. Prints JSON.

- host_cpu_per_request_s: CPU seconds the service core spent per request
  (refsvc + PostgreSQL + Redis from /proc/PID/stat, and the core's
  interrupt time from /proc/stat: the loopback network) less the request's
  own logged CPU work: HTTP handling, networking, the database's and
  Redis's CPU. The access log
  cannot see it; they share the core with the request's work.
- outside_handler_s: the client's mean latency less the log's (handler
  entry to response) less the host CPU: loopback, HTTP, client-side time.
- db_cpu_per_request_s, db_calls_per_request (when run/svc_cpu is
  there): PostgreSQL's and Redis's CPU per request (the processes on the
  core other than refsvc), and the share of requests that held a
  connection.
- background_cpu_per_s: the idle core's CPU (measured before the load
  when the run has an `idle` file), not counted per request.
- capacity_rps: (1 − background) / (core CPU per request), the rate that
  saturates the service core; pool_bound_rps: pool size / (connection hold per request).

usage: capacity.py CALDIR POOL"""
import csv, json, statistics, sys

cal, pool = sys.argv[1], int(sys.argv[2])
run = f"{cal}/run"
rows = list(csv.DictReader(open(f"{run}/access.csv")))
ok = [r for r in rows if r["status"] == "200"]
client = json.load(open(f"{run}/client.json"))
c0, c1 = map(float, open(f"{run}/core_cpu").read().split())
# Interrupt time on the core (the loopback network's softirq, charged to no
# process) counts as the service's: nothing else on the core does I/O.
_, i0, _, _, i1, _ = map(float, open(f"{run}/core_stat").read().split())
# The idle core's background CPU (CPU seconds per second), measured before
# the load, is not per request: subtract it over the load's duration.
background = 0.0
try:
    o0, o1, _, j0, t0, _, j1, t1, _ = map(float, open(f"{run}/idle").read().split())
    background = max((o1 - o0 + j1 - j0) / (t1 - t0), 0.0)
except (OSError, ValueError):
    pass
load_s = float(open(f"{run}/end").read()) - float(open(f"{run}/start").read())
core_per_req = max(c1 - c0 + i1 - i0 - background * load_s, 0.0) / max(len(rows), 1)
work = statistics.fmean(float(r["cpu_s"]) for r in ok)
log_mean = statistics.fmean(float(r["latency_s"]) for r in ok)
hold_per_req = statistics.fmean(float(r["hold_s"]) for r in ok)
host = max(core_per_req - work, 0.0)
# refsvc's own CPU apart from PostgreSQL's and Redis's (calibrations since
# [host]: run/svc_cpu): the database's CPU per request, and how many
# requests called the database.
split = {}
try:
    s0, s1 = map(float, open(f"{run}/svc_cpu").read().split())
    split = {"service_cpu_per_request_s": (s1 - s0) / max(len(rows), 1),
             "db_cpu_per_request_s": max(c1 - c0 - (s1 - s0), 0.0) / max(len(rows), 1),
             "db_calls_per_request": sum(1 for r in rows if float(r["hold_s"]) > 0) / max(len(rows), 1)}
except (OSError, ValueError):
    pass
out = {
    "capacity_rps": round((1.0 - background) / core_per_req, 1),
    "background_cpu_per_s": background,
    "core_cpu_per_request_s": core_per_req,
    "interrupt_cpu_per_request_s": (i1 - i0) / max(len(rows), 1),
    "logged_cpu_per_request_s": work,
    "host_cpu_per_request_s": host,
    "client_latency_mean_s": client["latency_mean_s"],
    "log_latency_mean_s": log_mean,
    "outside_handler_s": max(client["latency_mean_s"] - log_mean - host, 0.0),
    "hold_per_request_s": hold_per_req,
    "pool_bound_rps": {str(n): round(n / hold_per_req, 1) for n in (2, 4, 8, 16)},
    "calibration_requests": len(rows),
    "calibration_rate_rps": client["offered_rps"],
    "calibration_pool": pool,
    **split,
}
print(json.dumps(out, indent=1))
