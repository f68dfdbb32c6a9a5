"""Locust users for the testbed's closed loop (run.sh --generator locust).

The same workload as `refload --users N --think D`, driven by Locust, an
established load generator written elsewhere, so that refload's closed loop
can be checked against it: user u sends as tenant u mod the tenants of the
tier map (in the tier map's sorted order, as refload does), thinks for an
exponential time of mean D before each request (Locust's `wait_time`, which
runs between a user's answer and its next request: a closed loop), picks the
endpoint from the mix and the key from Zipf(KEYS, ZIPF), and sends the tenant
in `X-Tenant`. Latency is Locust's response time, from the send to the whole
answer.

Configuration comes from the environment (run.sh sets it): TB_TIER_MAP,
TB_MIX, TB_KEYS, TB_ZIPF, TB_THINK_S, TB_SEED, TB_DURATION_S, TB_WARMUP_S,
TB_TIMEOUT_S, TB_LOG and TB_SUMMARY. When the test stops it writes TB_LOG
(refload's `--log` columns) and TB_SUMMARY (refload's `--summary` JSON:
the requests sent after the warm-up, nearest-rank quantiles of the answered
ones), so compare.py reads either generator's output the same way.

Coordinated omission does not arise: the users are the closed system
being measured (a slow answer delays that user's next request, as it
does for the users tenantsim's `closed` arrival process predicts).
"""

import bisect
import itertools
import json
import math
import os
import random
import time

from locust import FastHttpUser, events, task

ENV = os.environ


def _tenants(path):
    names = []
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line or "," not in line:
            continue
        tenant = line.split(",")[0].strip()
        if tenant.lower() != "tenant":
            names.append(tenant)
    return sorted(set(names))


def _mix(text):
    out = []
    for kv in text.split(","):
        name, share = kv.split("=")
        out.append((name.strip(), float(share)))
    return out


TENANTS = _tenants(ENV["TB_TIER_MAP"])
MIX = _mix(ENV.get("TB_MIX", "read=0.8,write=0.1,cpu=0.1"))
MIX_CUM = list(itertools.accumulate(s for _, s in MIX))
KEYS = int(ENV.get("TB_KEYS", "100000"))
ZIPF = float(ENV.get("TB_ZIPF", "0.9"))
# Zipf(KEYS, ZIPF) by inverse transform over the cumulative weights k^-s.
KEY_CUM = list(itertools.accumulate(k ** -ZIPF for k in range(1, KEYS + 1))) if ZIPF > 0 else None
THINK = float(ENV["TB_THINK_S"])
SEED = int(ENV.get("TB_SEED", "1"))
DURATION = float(ENV["TB_DURATION_S"])
WARMUP = float(ENV.get("TB_WARMUP_S", "5"))
TIMEOUT = float(ENV.get("TB_TIMEOUT_S", "10"))

OUTCOMES = []  # (due_s, tenant, endpoint, status, reason, latency_s)
STATE = {"t0": None, "users": 0}


@events.test_start.add_listener
def _start(**_kw):
    STATE["t0"] = time.time()


class TenantUser(FastHttpUser):
    network_timeout = TIMEOUT
    connection_timeout = TIMEOUT

    def on_start(self):
        u = STATE["users"]
        STATE["users"] += 1
        self.tenant = TENANTS[u % len(TENANTS)]
        self.rng = random.Random(SEED * 1_000_003 + u)

    def wait_time(self):
        return self.rng.expovariate(1.0 / THINK)

    @task
    def one(self):
        due = time.time() - STATE["t0"]
        if due >= DURATION:
            self.stop()
            return
        r = self.rng
        endpoint = MIX[bisect.bisect_right(MIX_CUM, r.random() * MIX_CUM[-1])][0] if len(MIX) > 1 else MIX[0][0]
        if KEY_CUM is None:
            key = r.randint(1, KEYS)
        else:
            key = min(bisect.bisect_right(KEY_CUM, r.random() * KEY_CUM[-1]) + 1, KEYS)
        path = f"/{endpoint}?key={key}"
        headers = {"X-Tenant": self.tenant}
        send = time.time()
        status, reason = 0, "io_error"
        try:
            method = self.client.post if endpoint == "write" else self.client.get
            with method(path, headers=headers, name=endpoint, catch_response=True) as resp:
                status = resp.status_code or 0
                if status == 200:
                    reason = "ok"
                elif status:
                    reason = resp.headers.get("X-Reject-Reason") or f"http_{status}"
                elif isinstance(resp.error, TimeoutError) or "timed out" in str(resp.error).lower():
                    reason = "client_timeout"
                resp.success()  # refused requests are outcomes here, not Locust failures
        except Exception as e:  # connection refused or reset
            reason = "client_timeout" if "timed out" in str(e).lower() else "io_error"
        OUTCOMES.append((due, self.tenant, endpoint, status, reason, time.time() - send))


def _quantile(xs, p):
    if not xs:
        return float("nan")
    i = min(max(math.ceil(p * len(xs)), 1), len(xs)) - 1
    return xs[i]


@events.quitting.add_listener
def _write(environment, **_kw):
    out = sorted(OUTCOMES)
    with open(ENV["TB_LOG"], "w") as f:
        f.write("due_s,tenant,endpoint,status,reason,latency_s\n")
        for d, t, e, s, why, lat in out:
            f.write(f"{d:.6f},{t},{e},{s},{why},{lat:.6f}\n")
    measured = [o for o in out if o[0] >= WARMUP]
    window = DURATION - WARMUP
    ok = sorted(o[5] for o in measured if o[3] == 200)
    reasons = {}
    for o in measured:
        reasons[o[4]] = reasons.get(o[4], 0) + 1
    n = max(len(measured), 1)
    summary = {
        "offered_rps": len(measured) / window,
        "sent": len(measured),
        "throughput_rps": len(ok) / window,
        "latency_mean_s": sum(ok) / max(len(ok), 1),
        "latency_p50_s": _quantile(ok, 0.50),
        "latency_p95_s": _quantile(ok, 0.95),
        "latency_p99_s": _quantile(ok, 0.99),
        "error_rate": sum(1 for o in measured if o[3] != 200) / n,
        "max_send_lag_s": 0.0,
        "reasons": dict(sorted(reasons.items())),
        "generator": "locust",
    }
    with open(ENV["TB_SUMMARY"], "w") as f:
        f.write(json.dumps(summary) + "\n")
    environment.process_exit_code = 0
