#!/usr/bin/env python3
"""DIR/comparison.json of one setting: the measured side from the
repetitions' client summaries and access logs (mean and a Student-t 95 %
CI over repetitions), the predicted side from tenantsim's summary.json.

A re-prediction (grid.sh --predict-only) keeps the measured side of an
existing comparison.json and replaces only the predicted side.

usage: compare.py DIR REPS POOL CACHE RATE CAPACITY DURATION WARMUP FREE_RATE [USERS THINK GENERATOR]
       compare.py --table DIR/comparison.json
       compare.py --repredict DIR/comparison.json PREDICTED_DIR"""
import csv, glob, json, math, statistics, sys

METRICS = ["throughput_rps", "latency_p50_s", "latency_p95_s", "latency_p99_s",
           "error_rate", "pool_wait_mean_s", "cache_hit_ratio"]
# Student t, two-sided 95 %, by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def mean_ci(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return {"mean": None, "ci95": None}
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return {"mean": m, "ci95": None}
    h = T95.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / math.sqrt(len(xs))
    return {"mean": m, "ci95": [m - h, m + h]}


def measured_rep(d, warmup):
    c = json.load(open(f"{d}/client.json"))
    start = float(open(f"{d}/start").read())
    rows = [r for r in csv.DictReader(open(f"{d}/access.csv")) if float(r["ts"]) >= start + warmup]
    acquired = [float(r["pool_wait_s"]) for r in rows if float(r["hold_s"]) > 0 or r["reason"] == "pool_timeout"]
    reads = [r["cache_level"] for r in rows if r["endpoint"] == "read" and r["status"] == "200"]
    hits = sum(1 for l in reads if l in ("l1", "l2"))
    by_reason = c["reasons"]
    # The service core: how busy it was, and how much of it went to other
    # processes than ours (the machine is shared).
    core = {}
    try:
        p0, i0, t0, p1, i1, t1 = map(float, open(f"{d}/core_stat").read().split())
        o0, o1 = map(float, open(f"{d}/core_cpu").read().split())
        if t1 > t0:
            core = {"service_core_busy": (p1 - p0 + i1 - i0) / (t1 - t0),
                    "service_core_interrupt_share": (i1 - i0) / (t1 - t0),
                    "service_core_foreign_share": max((p1 - p0) - (o1 - o0), 0.0) / (t1 - t0)}
    except (OSError, ValueError):
        pass
    sent = max(c["sent"], 1)
    return {
        "throughput_rps": c["throughput_rps"],
        "latency_p50_s": c["latency_p50_s"],
        "latency_p95_s": c["latency_p95_s"],
        "latency_p99_s": c["latency_p99_s"],
        "error_rate": c["error_rate"],
        "pool_wait_mean_s": statistics.fmean(acquired) if acquired else 0.0,
        "cache_hit_ratio": hits / len(reads) if reads else 0.0,
        "errors_by_reason": {k: v / sent for k, v in by_reason.items() if k != "ok"},
        "max_send_lag_s": c["max_send_lag_s"],
        # Diagnostics: the connection hold and the server-side latency.
        "hold_mean_s": statistics.fmean(float(r["hold_s"]) for r in rows if float(r["hold_s"]) > 0) if any(float(r["hold_s"]) > 0 for r in rows) else 0.0,
        "log_latency_mean_s": statistics.fmean(float(r["latency_s"]) for r in rows if r["status"] == "200") if rows else 0.0,
        "client_latency_mean_s": c["latency_mean_s"],
        **core,
    }


def predicted_side(pred_dir, cache):
    """The predicted metrics and error rates by reason from tenantsim's
    summary.json in PRED_DIR."""
    summ = json.load(open(f"{pred_dir}/summary.json"))["metrics"]
    predicted = {}
    for m in METRICS:
        v = summ.get(m)
        predicted[m] = {"mean": v["mean"], "ci95": v["ci95"]} if v else {"mean": None, "ci95": None}
    if cache == "off":
        predicted["cache_hit_ratio"] = {"mean": 0.0, "ci95": None} if predicted["cache_hit_ratio"]["mean"] is None else predicted["cache_hit_ratio"]
    # Error rates by reason, as shares of arrivals, in the client's words.
    arrived = summ.get("requests_arrived", {}).get("mean") or 0.0
    pred_reasons = {name: summ[k]["mean"] / arrived for k, name in
                    (("rejected_rate_limited", "rate_limited"), ("rejected_tenant_limit", "tenant_limit"), ("pool_timeouts", "pool_timeout"))
                    if k in summ and arrived > 0}
    # Diagnostics beside the compared metrics: the model's connection hold
    # (connections in use over database calls, Little's law) is not in the
    # summary; its pool utilization and CPU utilization are.
    diag = {k: summ[k]["mean"] for k in ("pool_utilization", "cpu_utilization") if k in summ}
    return predicted, pred_reasons, diag


def main():
    if sys.argv[1] == "--repredict":
        c = json.load(open(sys.argv[2]))
        c["predicted"], c["predicted_errors_by_reason"], c["predicted_diagnostics"] = predicted_side(
            sys.argv[3], c["setting"]["cache"])
        print(json.dumps(c, indent=1))
        return
    if sys.argv[1] == "--table":
        c = json.load(open(sys.argv[2]))
        s = c["setting"]
        print(f"pool {s['pool_size']}, cache {s['cache']}, {s['rate_rps']} req/s ({s['load']:.0%} of capacity):")
        print(f"{'metric':<18}{'measured':>12}{'  95% CI':>26}{'predicted':>12}{'error':>9}")
        for m in METRICS:
            me, pr = c["measured"][m], c["predicted"][m]
            ci = me["ci95"]
            cis = f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "-"
            err = ""
            if me["mean"] and pr["mean"] is not None:
                err = f"{100 * (pr['mean'] - me['mean']) / me['mean']:+.0f} %"
            fm = lambda v: "-" if v is None else f"{v:.4g}"
            print(f"{m:<18}{fm(me['mean']):>12}{cis:>26}{fm(pr['mean']):>12}{err:>9}")
        return
    d, reps, pool, cache, rate, capacity, duration, warmup, free_rate = sys.argv[1:10]
    # A closed loop: its users, think time and the generator that drove it
    # (the rate is then the mean achieved over the repetitions).
    closed = {"users": int(sys.argv[10]), "think": sys.argv[11], "generator": sys.argv[12]} if len(sys.argv) > 12 else None
    reps = int(reps)
    runs = [measured_rep(f"{d}/rep{r}", float(warmup)) for r in range(1, reps + 1)]
    predicted, pred_reasons, diag = predicted_side(f"{d}/predicted", cache)
    reasons = sorted({k for r in runs for k in r["errors_by_reason"]})
    out = {
        "setting": {"pool_size": int(pool), "cache": cache, "rate_rps": float(rate),
                    "load": float(rate) / float(capacity), "capacity_rps": float(capacity),
                    "duration_s": float(duration), "warmup_s": float(warmup), "repetitions": reps,
                    "free_tier_rate_per_s": float(free_rate), **({"closed_loop": closed} if closed else {})},
        "measured": {m: mean_ci([r[m] for r in runs]) for m in METRICS},
        "predicted": predicted,
        "measured_errors_by_reason": {k: mean_ci([r["errors_by_reason"].get(k, 0.0) for r in runs]) for k in reasons},
        "predicted_errors_by_reason": pred_reasons,
        "predicted_diagnostics": diag,
        "measured_repetitions": runs,
        # Repetitions set aside because the client fell behind (run.sh).
        "disturbed_repetitions_set_aside": len(glob.glob(f"{d}/rep*.disturbed*")),
    }
    print(json.dumps(out, indent=1))


main()
