#!/usr/bin/env python3
"""calibrated.toml: the scenario `tenantsim fit` wrote, plus two stages per
endpoint for what the calibration run measured outside the access log
(capacity.json): the host's CPU per request (a CPU stage: it competes with
the requests' work for the one core) and the time outside the handler (a
wait stage). Both constant, the same for every endpoint (one run cannot
split them by endpoint): ASSUMED.

usage: calibrated.py FITTED.toml CAPACITY.json > calibrated.toml"""
import json, sys, tomllib

fitted, cap = sys.argv[1], json.load(open(sys.argv[2]))
text = open(fitted).read()
sc = tomllib.loads(text)
us = lambda s: f"{s * 1e6:.1f}us"
out = [text.rstrip("\n"), "",
       "# ---- Added by testbed/run.sh from the calibration run, outside the access log ----",
       f"# The service core spent {us(cap['core_cpu_per_request_s'])} of CPU per request (refsvc, PostgreSQL, Redis, interrupts",
       f"# from /proc) of which the log's cpu_s is {us(cap['logged_cpu_per_request_s'])}: the other",
       f"# {us(cap['host_cpu_per_request_s'])} (HTTP handling, database and Redis CPU) is a CPU stage on the same core.",
       f"# The client saw {us(cap['client_latency_mean_s'])} on average, the log {us(cap['log_latency_mean_s'])}: the",
       f"# remaining {us(cap['outside_handler_s'])} (loopback, HTTP, client) is a wait stage.",
       "# ASSUMED: both constant and the same for every endpoint."]
for name in sc.get("endpoint", {}):
    out += ["", f"[[endpoint.{name}.stage]]", 'name = "host-cpu"', f'cpu = "{us(cap["host_cpu_per_request_s"])}"']
    if cap["outside_handler_s"] > 0:
        out += ["", f"[[endpoint.{name}.stage]]", 'name = "outside-handler"', f'wait = "{us(cap["outside_handler_s"])}"']
bg = cap.get("background_cpu_per_s", 0.0)
if bg > 0:
    out += ["", f"# The idle core used {bg * 100:.1f} % of its time before the load (database and Redis timers,",
            "# Prometheus scraping /metrics): a background task on the instance, 100 ms apart.",
            "[[background]]", 'name = "idle-core"', 'period = "100ms"', f'cpu = "{us(bg * 0.1)}"']
print("\n".join(out))
