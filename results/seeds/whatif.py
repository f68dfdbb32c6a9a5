#!/usr/bin/env python3
"""Write results/seeds/whatif/<system>.md from one `tenantsim sweep` folder.

Called by results/seeds/whatif.sh (never edit the .md files by hand): every
number on a page is computed here — read from the sweep's results.csv (with
its 95 % CIs), its points/p<i>.json (settings, SLO limits, request stages),
`tenantsim lint --json` of the scenario (lint.json beside the sweep), or the
scenario file itself (with its includes) — never typed in. Standard library
only.

    python3 results/seeds/whatif.py SYSTEM SWEEP_DIR OUT_DIR "COMMAND"
"""

import csv
import json
import shutil
import sys
import tomllib
from pathlib import Path

SCENARIO = {}


def merge(a, b):
    """tenantsim's include merge: tables merge key by key, anything else (arrays too) is replaced."""
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            merge(a[k], v)
        else:
            a[k] = v


def load_scenario(path):
    path = Path(path)
    t = tomllib.loads(path.read_text())
    out = {}
    for inc in t.get("include", []):
        merge(out, load_scenario(path.parent / inc))
    merge(out, t)
    return out


def sv(key):
    """A value of the swept scenario (its own settings, before any --param), by --set path."""
    v = SCENARIO
    for part in key.split("."):
        v = v[int(part)] if isinstance(v, list) else v[part]
    return v


def secs(v):
    """A scenario duration ("300ms", "5m", 2.5) in seconds."""
    if isinstance(v, (int, float)):
        return float(v)
    for unit, f in (("ms", 0.001), ("us", 1e-6), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if v.endswith(unit) and v[: -len(unit)].replace(".", "", 1).isdigit():
            return float(v[: -len(unit)]) * f
    raise ValueError(f"not a duration: {v}")


def point(sweep, r):
    p = json.loads((sweep / "points" / f"p{int(r['point']):07d}.json").read_text())
    return p.get("summary", p)


def slo_limit(sweep, r, metric, stage=None):
    """The limit of the point's SLO check on `metric` (and stage), as tenantsim read it."""
    for c in point(sweep, r)["slo"]["checks"]:
        if c.get("metric") == metric and (stage is None or c.get("stage") == stage or stage in c.get("name", "")):
            return c["limit"]
    return None


def lint_finding(sweep, rule):
    """The scenario's `tenantsim lint` finding of `rule`: its message and arithmetic."""
    f = sweep / "lint.json"
    if not f.exists():
        return None
    for sc in json.loads(f.read_text()):
        for x in sc["findings"]:
            if x["rule"] == rule:
                return f"{x['message']} ({x['arithmetic']})"
    return None


def rows(sweep):
    with open(sweep / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def num(r, col):
    v = r.get(col, "")
    return float(v) if v not in ("", None) else None


def m(r, metric):
    return num(r, metric + "_mean")


def ms(x):
    return "n/a" if x is None else f"{x * 1000:.0f} ms"


def pct(x):
    return "n/a" if x is None else f"{x * 100:.1f} %"


def num0(x):
    return "n/a" if x is None else f"{x:.0f}"


def num2(x):
    return "n/a" if x is None else f"{x:.2f}"


def num3(x):
    return "n/a" if x is None else f"{x:.3f}"


def ci(r, metric, fmt):
    """'mean [low, high]': the point's mean and 95 % CI (the mean alone when the CI is missing)."""
    mean = m(r, metric)
    lo, hi = num(r, metric + "_ci_low"), num(r, metric + "_ci_high")
    if mean is None or lo is None or hi is None:
        return fmt(mean)
    return f"{fmt(mean)} [{fmt(lo)}, {fmt(hi)}]"


def col(title, metric, fmt):
    """A table column of a metric with its CI."""
    return (title, lambda r: ci(r, metric, fmt))


def table(rs, params, cols):
    """A Markdown table: the swept parameters, then (title, formatter, metric) columns."""
    head = "| " + " | ".join(params + [c[0] for c in cols]) + " |"
    sep = "|" + "---|" * (len(params) + len(cols))
    lines = [head, sep]
    for r in rs:
        cells = [r[p] for p in params] + [f(r) for _, f in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- systems


def hermes(rs, sweep):
    params = ["pool.size", "pool.overflow", "workload.2.tenants"]
    p95_max, err_max = secs(sv("slo.latency_p95")), float(sv("slo.error_rate"))
    ok = lambda r: (m(r, "latency_p95_s") or 9e9) <= p95_max and (m(r, "error_rate") or 0) <= err_max
    target = f"p95 ≤ {ms(p95_max)} and errors ≤ {pct(err_max)} (its SLOs)"
    base_pool = (str(sv("pool.size")), str(sv("pool.overflow")))
    rate = float(sv("workload.2.arrival.rate_per_s"))
    run_s = point(sweep, rs[0])["duration_s"]
    parts = []
    pool_matters = False
    for ent in sorted({r["workload.2.tenants"] for r in rs}, key=int):
        sub = [r for r in rs if r["workload.2.tenants"] == ent]
        sub.sort(key=lambda r: (int(r["pool.size"]) + int(r["pool.overflow"]), int(r["pool.size"])))
        good = [r for r in sub if ok(r)]
        base = next((r for r in sub if (r["pool.size"], r["pool.overflow"]) == base_pool), None)
        p95s = [m(r, "latency_p95_s") or 0 for r in sub]
        spread = (max(p95s) - min(p95s)) / max(max(p95s), 1e-9)
        pool_matters |= spread > 0.05
        load = f"with {ent} enterprise tenants ({int(ent) * rate:.0f} req/s offered by them: {ent} × {rate:g} req/s)"
        if good:
            g = good[0]
            s = (
                f"{load} the smallest pool that keeps {target} is "
                f"{g['pool.size']} + {g['pool.overflow']} (p95 {ci(g, 'latency_p95_s', ms)}, pool wait p95 "
                f"{ci(g, 'pool_wait_p95_s', ms)}, pools {ci(g, 'pool_utilization', pct)} busy)"
            )
            if base:
                s += (
                    f", where the scenario's {base_pool[0]} + {base_pool[1]} gives p95 {ci(base, 'latency_p95_s', ms)} "
                    f"with its pools {ci(base, 'pool_utilization', pct)} busy"
                )
        elif spread <= 0.05:
            s = (
                f"{load} every swept pool fails alike (p95 {ms(min(p95s))}–{ms(max(p95s))}, errors "
                f"{pct(min(m(r, 'error_rate') for r in sub))}–{pct(max(m(r, 'error_rate') for r in sub))}, "
                f"up to {max(m(r, 'instances_max') for r in sub):.0f} instances): the pool is not the limit; the "
                f"load outgrows the instances faster than the autoscaler adds them within the {run_s / 60:g}-minute run"
            )
        else:
            best = min(sub, key=lambda r: m(r, "latency_p95_s") or 9e9)
            s = (
                f"{load} no swept pool keeps {target}; the best is "
                f"{best['pool.size']} + {best['pool.overflow']} (p95 {ci(best, 'latency_p95_s', ms)})"
            )
        parts.append(s)
    conn = lint_finding(sweep, "pool-connections")
    text = (
        f"HERMES's pool ({base_pool[0]} + {base_pool[1]} per pool) against the tenant mix: "
        + "; ".join(parts)
        + ". "
        + (
            "The pool size changes the tail where connections run short. "
            if pool_matters
            else "Within each mix the pool size moves p95 by less than 5 %. "
        )
        + (f"What the pools do change is how many connections the instances could open: `tenantsim lint` finds {conn}." if conn else "")
    )
    cols = [
        col("p95", "latency_p95_s", ms),
        col("pool wait p95", "pool_wait_p95_s", ms),
        col("errors", "error_rate", pct),
        col("pool busy", "pool_utilization", pct),
        col("instances max", "instances_max", num0),
    ]
    return text, table(rs, params, cols), "01-"


def hive_mind(rs, sweep):
    params = ["instance.cores", "workload.0.arrival.users"]
    p95_max, err_max = secs(sv("slo.latency_p95")), float(sv("slo.error_rate"))
    cores = int(sv("instance.cores"))
    parts = []
    for users in sorted({r["workload.0.arrival.users"] for r in rs}, key=int):
        sub = sorted([r for r in rs if r["workload.0.arrival.users"] == users], key=lambda r: int(r["instance.cores"]))
        good = [r for r in sub if (m(r, "latency_p95_s") or 9e9) <= p95_max and (m(r, "error_rate") or 0) <= err_max]
        low = sub[0]
        s = f"at {users} users {low['instance.cores']} cores give p95 {ci(low, 'latency_p95_s', ms)} (CPU {ci(low, 'cpu_utilization', pct)})"
        if good:
            g = good[0]
            s += f", {g['instance.cores']} cores are the fewest with p95 ≤ {ms(p95_max)} and errors ≤ {pct(err_max)} ({ci(g, 'latency_p95_s', ms)}, CPU {ci(g, 'cpu_utilization', pct)})"
        else:
            s += f", and no swept core count brings p95 under {ms(p95_max)} with errors ≤ {pct(err_max)}"
        parts.append(s)
    at_base = [r for r in rs if int(r["instance.cores"]) == cores]
    busiest = max(at_base, key=lambda r: m(r, "cpu_utilization") or 0) if at_base else None
    text = (
        f"Hive Mind's response-time target (its SLO p95 ≤ {ms(p95_max)}) is a question of CPU: "
        + "; ".join(parts)
        + f". The report gives no hardware; the scenario assumes {cores} cores"
        + (
            f", {ci(busiest, 'cpu_utilization', pct)} busy at {busiest['workload.0.arrival.users']} users."
            if busiest
            else "."
        )
    )
    cols = [
        col("mean", "latency_mean_s", ms),
        col("p95", "latency_p95_s", ms),
        col("errors", "error_rate", pct),
        col("CPU", "cpu_utilization", pct),
        col("req/s", "throughput_rps", num0),
    ]
    return text, table(rs, params, cols), "05-"


def saas_idp(rs, sweep):
    params = ["cache.l1.capacity", "memory.actions.0.above"]
    by = {(r["cache.l1.capacity"], r["memory.actions.0.above"]): r for r in rs}
    caps = sorted({r["cache.l1.capacity"] for r in rs}, key=int)
    ths = sorted({r["memory.actions.0.above"] for r in rs}, key=float)
    item_mb = float(sv("memory.per_cache_item_mb"))
    parts = []
    for c in caps:
        cells = []
        for t in ths:
            r = by.get((c, t))
            if r is None:
                continue
            cells.append(
                f"cleanup at {float(t) * 100:.0f} %: hit ratio {ci(r, 'cache_hit_ratio', num2)}, p95 "
                f"{ci(r, 'latency_p95_s', ms)}, errors {ci(r, 'error_rate', pct)}, {m(r, 'cache_shrinks'):.0f} cleanups, "
                f"{m(r, 'oom_kills'):.0f} OOM kills, peak memory {ci(r, 'memory_max_utilization', pct)}"
            )
        parts.append(f"an L1 of {int(c):,} entries ({int(c) * item_mb:.0f} MB at {item_mb:g} MB each) — " + "; ".join(cells))
    best = min(rs, key=lambda r: ((m(r, "error_rate") or 0), (m(r, "latency_p95_s") or 9e9)))
    # Tied when every point's CI reaches down into the best point's CI.
    best_hi = num(best, "error_rate_ci_high")
    lows = [num(r, "error_rate_ci_low") for r in rs]
    tied = best_hi is not None and all(
        (lo if lo is not None else m(r, "error_rate")) <= best_hi for lo, r in zip(lows, rs)
    )
    actions = ", ".join(f"{a['action']} above {a['above'] * 100:.0f} %" for a in sv("memory.actions"))
    faults = [f for f in SCENARIO.get("fault", []) if f.get("kind") == "db-slowdown"]
    fault = (
        f", across the scenario's database slowdown (×{faults[0]['factor']} for {secs(faults[0]['duration']) / 60:g} min)"
        if faults
        else ""
    )
    mem = point(sweep, rs[0])["settings"]["instance"]["memory_mb"]
    text = (
        f"The memory triggers ({actions}) decide how big the in-process cache may grow inside an instance's "
        f"{mem:.0f} MB{fault}: "
        + ". With ".join(parts)
        + f". The lowest error rate and then p95 of the grid is L1 {int(best['cache.l1.capacity']):,} with cleanup at "
        f"{float(best['memory.actions.0.above']) * 100:.0f} % (errors {ci(best, 'error_rate', pct)}, p95 "
        f"{ci(best, 'latency_p95_s', ms)})"
        + (
            ", but no setting is clearly better: every point's 95 % CI of the error rate overlaps the best one's "
            f"(up to {pct(best_hi)}), so the ranking is noise at this many replications"
            if tied
            else ""
        )
        + "."
    )
    cols = [
        col("hit ratio", "cache_hit_ratio", num3),
        col("p95", "latency_p95_s", ms),
        col("errors", "error_rate", pct),
        ("cleanups", lambda r: f"{m(r, 'cache_shrinks'):.0f}"),
        ("OOM kills", lambda r: f"{m(r, 'oom_kills'):.0f}"),
        col("peak memory", "memory_max_utilization", pct),
        col("mean memory", "memory_utilization", pct),
    ]
    return text, table(rs, params, cols), "05-"


def agent_hive(rs, sweep):
    params = ["instance.initial", "database.cores"]
    key = lambda r: (int(r["instance.initial"]), int(r["database.cores"]))
    rs = sorted(rs, key=key)
    stages = ["jwt", "rbac", "ratelimit", "discovery", "loadbalance"]
    budgets = {f"e2e.{s}": secs(sv(f"slo.stage.{s}.latency_p95")) for s in stages}
    for r in rs:
        st = point(sweep, r).get("stages", {})
        r["_stages"] = {
            s: (st.get(s, {}).get("latency_p95_s") or {}).get("mean") for s in list(budgets) + ["e2e.gateway"]
        }
        r["_budget_ok"] = all(v is not None and v <= budgets[s] for s, v in r["_stages"].items() if s in budgets)
    rate = float(sv("workload.0.arrival.rate_per_s"))
    served_min = next(c["at_least"] for c in sv("claim") if c["id"] == "validated-500")
    e2e_max = secs(sv("slo.latency_p95"))
    served = lambda r: (m(r, "throughput_rps") or 0) >= served_min
    stage_ok = [r for r in rs if r["_budget_ok"] and served(r)]
    e2e_ok = [r for r in rs if (m(r, "latency_p95_s") or 9e9) <= e2e_max and served(r)]
    first = rs[0]
    cores = point(sweep, first)["settings"]["instance"]["cores"]
    # CPU and database time per completed request, from the utilizations of
    # the point that completes the most (where few requests fail part-way).
    top = max(rs, key=lambda r: m(r, "throughput_rps") or 0)
    x = m(top, "throughput_rps") or 0
    cpu_per_req = (m(top, "cpu_utilization") or 0) * cores * int(top["instance.initial"]) / x if x else None
    db_per_req = (m(top, "db_utilization") or 0) * int(top["database.cores"]) / x if x else None
    text = f"At the offered {rate:g} req/s, "
    if cpu_per_req is not None:
        text += (
            f"the utilizations at {top['instance.initial']} instances and {top['database.cores']} database cores "
            f"({ci(top, 'throughput_rps', num0)} req/s complete) give {ms(cpu_per_req)} of instance CPU and "
            f"{ms(db_per_req)} of database time per completed request: {cpu_per_req * rate:.1f} cores and "
            f"{db_per_req * rate:.1f} database cores of work at {rate:g} req/s. "
        )
    text += (
        f"With {first['instance.initial']} instances of {cores} cores and a {first['database.cores']}-core database "
        f"{ci(first, 'throughput_rps', num0)} req/s complete (errors {ci(first, 'error_rate', pct)}). "
    )
    budget_text = ", ".join(f"{s.split('.')[1]} < {ms(b)}" for s, b in budgets.items())
    if stage_ok:
        g = stage_ok[0]
        text += (
            f"Serving ≥ {served_min:g} req/s within every security-chain budget ({budget_text}, the stage SLOs) takes at least "
            f"{g['instance.initial']} instances and a {g['database.cores']}-core database (RBAC p95 "
            f"{ms(g['_stages']['e2e.rbac'])}, JWT p95 {ms(g['_stages']['e2e.jwt'])}, CPU {ci(g, 'cpu_utilization', pct)}, "
            f"database {ci(g, 'db_utilization', pct)} busy). "
        )
        fewer = [r for r in rs if int(r["database.cores"]) < int(g["database.cores"])]
        if fewer:
            rej = sum(m(r, "breaker_rejections") or 0 for r in fewer) / sum(m(r, "requests_arrived") or 1 for r in fewer)
            text += (
                f"With fewer database cores the database is the limit however many gateway instances there are: "
                f"its slow calls open the breaker, which then refuses {pct(rej)} of all requests "
                f"(the database itself at most {pct(max(m(r, 'db_utilization') or 0 for r in fewer))} busy). "
            )
    else:
        text += f"No swept combination serves ≥ {served_min:g} req/s within every stage budget ({budget_text}). "
    if e2e_ok:
        e = e2e_ok[0]
        text += (
            f"End to end p95 ≤ {ms(e2e_max)} first holds at {e['instance.initial']} instances and "
            f"{e['database.cores']} database cores (p95 {ci(e, 'latency_p95_s', ms)})."
        )
    else:
        served_rs = [r for r in rs if served(r)] or rs
        best = min(served_rs, key=lambda r: m(r, "latency_p95_s") or 9e9)
        text += (
            f"End to end p95 stays above {ms(e2e_max)} everywhere (best {ci(best, 'latency_p95_s', ms)} at "
            f"{best['instance.initial']} instances, {best['database.cores']} database cores): with the assumed "
            f"variability of the proxy wait (cv {sv('endpoint.e2e.stage.5.wait.cv'):g}) the tail of the sum passes the budget."
        )
    cols = [
        col("req/s", "throughput_rps", num0),
        col("e2e p95", "latency_p95_s", ms),
        col("errors", "error_rate", pct),
        col("CPU", "cpu_utilization", pct),
        col("database", "db_utilization", pct),
        ("JWT p95", lambda r: ms(r["_stages"]["e2e.jwt"])),
        ("RBAC p95", lambda r: ms(r["_stages"]["e2e.rbac"])),
        ("gateway p95", lambda r: ms(r["_stages"]["e2e.gateway"])),
        col("cost", "cost", num2),
    ]
    return text, table(rs, params, cols), "05-"


def scaling(sweep, r):
    """The scaling decisions of a point's first replication, as 'from → to at time'."""
    ev = [e for e in point(sweep, r).get("scaling_events", []) if e["replication"] == 0]
    return ", ".join(f"{e['from']} → {e['to']} at {e['time_s'] / 60:.1f} min" for e in ev) or "none"


def ai_hub(rs, sweep):
    key = "autoscaler.metrics.0.target"
    params = [key]
    rs = sorted(rs, key=lambda r: float(r[key]))
    t = lambda r: f"{float(r[key]):.1f}"
    cost = lambda r: m(r, "cost")
    p95 = lambda r: m(r, "latency_p95_s") or 0
    same = lambda a, b: abs(a - b) <= 0.01 * max(abs(a), abs(b), 1e-9)
    own = float(sv(key))
    base = next((r for r in rs if abs(float(r[key]) - own) < 1e-9), rs[len(rs) // 2])
    flat = [r for r in rs if same(cost(r), cost(base)) and same(p95(r), p95(base))]
    metrics = sv("autoscaler.metrics")
    targets = " and ".join(f"{x['metric']} at {x['target'] * 100:.0f} %" for x in metrics)
    steps = " → ".join(f"{s[1]:g}" for s in sv("workload.0.arrival.steps"))
    amax = point(sweep, base)["settings"]["autoscaler"]["max"]
    text = (
        f"The AI Orchestrator Hub's HPA scales on {targets}, taking the larger of the two. Over the walk {steps} req/s "
        f"the scenario's {own:g} gives p95 {ci(base, 'latency_p95_s', ms)}, errors {ci(base, 'error_rate', pct)}, "
        f"{ci(base, 'instances_mean', num2)} replicas on average and cost {ci(base, 'cost', num2)} per run "
        f"(scaling: {scaling(sweep, base)}). "
    )
    if len(flat) > 1:
        text += (
            f"Every CPU target from {t(flat[0])} to {t(flat[-1])} gives the same run (within 1 % in cost and p95): "
            f"the CPU is {ci(base, 'cpu_utilization', pct)} busy on average over the run, and the last step overshoots "
            f"every swept target at once, so the HPA goes to its maximum of {amax} whichever target it has. "
        )
    low = [r for r in rs if r not in flat]
    if low:
        cheap = min(rs, key=cost)
        fast = min(rs, key=p95)
        text += (
            f"Only a lower target changes the deployment: at {t(low[0])} the HPA runs "
            f"{ci(low[0], 'instances_mean', num2)} replicas on average (scaling: {scaling(sweep, low[0])}) for "
            f"cost {ci(low[0], 'cost', num2)} and p95 {ci(low[0], 'latency_p95_s', ms)}, errors {ci(low[0], 'error_rate', pct)}. "
            f"Across the sweep the lowest p95 is at {t(fast)} ({ci(fast, 'latency_p95_s', ms)}) and the lowest cost at "
            f"{t(cheap)} ({ci(cheap, 'cost', num2)}). "
        )
    lo_e = min(m(r, "error_rate") for r in rs)
    hi_e = max(m(r, "error_rate") for r in rs)
    conn = lint_finding(sweep, "pool-connections")
    text += f"Errors stay between {pct(lo_e)} and {pct(hi_e)}" + (
        f"; `tenantsim lint` finds {conn} — no CPU target of the API tier changes that." if conn else "."
    )
    cols = [
        col("mean", "latency_mean_s", ms),
        col("p95", "latency_p95_s", ms),
        col("errors", "error_rate", pct),
        col("replicas mean", "instances_mean", num2),
        col("replicas max", "instances_max", num0),
        col("CPU", "cpu_utilization", pct),
        col("memory", "memory_utilization", pct),
        col("cost", "cost", num2),
    ]
    return text, table(rs, params, cols), "06-"


SYSTEMS = {
    "hermes": ("HERMES (seed 000): pool size and overflow against the tenant mix", hermes),
    "hive-mind": ("Hive Mind (seed 001): cores against concurrent users", hive_mind),
    "saas-idp": ("SaaS IDP (seed 002): the memory triggers against the in-process cache size", saas_idp),
    "agent-hive": ("Agent Hive (seed 003): instances for 500 RPS and the per-stage budget", agent_hive),
    "ai-orchestrator-hub": ("AI Orchestrator Hub (seed 004): the HPA CPU target against p95 and cost", ai_hub),
}


def main():
    system, sweep, out, command = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    title, fn = SYSTEMS[system]
    # `tenantsim sweep SCENARIO ...`: the scenario's own values, for what a page quotes of it.
    SCENARIO.update(load_scenario(command.split()[2]))
    rs = rows(sweep)
    text, tab, plot_prefix = fn(rs, sweep)
    plots = sorted((sweep / "plots").glob(plot_prefix + "*.png")) or sorted((sweep / "plots").glob("*.png"))
    img = ""
    if plots:
        shutil.copyfile(plots[0], out / f"{system}.png")
        img = f"![{plots[0].stem}]({system}.png)\n\n"
    reps = sorted({r["replications"] for r in rs})
    md = (
        f"# What if — {title}\n\n"
        "Generated by `results/seeds/whatif.sh` (do not edit by hand): every number below is computed from the "
        f"sweep's `results.csv` and point files ({len(rs)} points, {', '.join(reps)} replications each, seed 1: the "
        "same seeds at every point), `tenantsim lint` of the scenario, or the scenario's own values. Figures are "
        "means with their 95 % CI in brackets.\n\n"
        f"```sh\n{command}\n```\n\n"
        f"{text}\n\n{img}{tab}\n"
    )
    (out / f"{system}.md").write_text(md)
    print(f"wrote {out / (system + '.md')}")


if __name__ == "__main__":
    main()
