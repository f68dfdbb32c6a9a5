#!/usr/bin/env python3
"""The `--set` overrides that put the calibrated scenario at one setting:
the offered rate, pool size and timeout, cache on/off, and what the
service's configuration fixes and an access log cannot tell (one core,
an asynchronous server, the key space and cache capacities, the tier
limits). Nothing here comes from a measurement of the setting. One
override a line.

usage: overrides.py FITTED RATE POOL CACHE DURATION WARMUP POOL_TIMEOUT_S KEYS ZIPF L1 FREE_RATE FREE_CONC PRO_CONC REPS [USERS THINK]"""
import sys, tomllib

(fitted, rate, pool, cache, duration, warmup, pool_timeout, keys, zipf, l1,
 free_rate, free_conc, pro_conc, reps) = sys.argv[1:15]
# A closed loop: USERS (over all tenants) and THINK after the 14 above.
users, think = (int(sys.argv[15]), sys.argv[16]) if len(sys.argv) > 16 else (None, None)
sc = tomllib.load(open(fitted, "rb"))
rate = 0.0 if rate == "closed" else float(rate)
tenants = sum(w["tenants"] for w in sc["workload"] if not w["name"].endswith("-bursts"))
sets = [
    f"simulation.duration={duration}s",
    f"simulation.warmup={warmup}s",
    f"simulation.replications={reps}",
    # The service runs on one core; actix is asynchronous: a request waiting
    # for a connection or the database holds no thread.
    "instance.cores=1",
    "instance.workers=4096",
    "instance.initial=1",
    f"pool.size={pool}",
    f"pool.timeout={pool_timeout}s",
]
for i, w in enumerate(sc["workload"]):
    # The client draws each request's tenant uniformly: every tenant offers
    # rate / tenants. Bursts seen at calibration are not part of a setting.
    r = 0.0 if w["name"].endswith("-bursts") else rate / tenants
    if users is not None and not w["name"].endswith("-bursts"):
        # refload gives user u the tenant u mod tenants: users / tenants each.
        sets.append(f'workload.{i}.arrival={{process="closed", users={users // tenants}, think_time="{think}"}}')
    else:
        sets.append(f'workload.{i}.arrival={{process="poisson", rate_per_s={max(r, 1e-9):.6f}}}')
    sets.append(f"workload.{i}.keys={{items={keys}, zipf={zipf}, shared=true}}")
for i, t in enumerate(sc["tier"]):
    if t["name"] == "free":
        sets.append(f"tier.{i}.rate_limit={{rate_per_s={free_rate}, burst={free_rate}}}")
        sets.append(f"tier.{i}.max_concurrency={free_conc}")
    elif t["name"] == "pro":
        sets.append(f"tier.{i}.max_concurrency={pro_conc}")
if "cache" in sc:
    if "l1" in sc["cache"]:
        sets.append(f"cache.l1.capacity={l1}")
    if "l2" in sc["cache"]:
        # Redis holds every key (256 MB, 100k items of ~200 B); its TTL is
        # in calibrated.toml (calibrated.py, from config.sh's L2_TTL).
        sets.append(f"cache.l2.capacity={int(keys) * 2}")
    if cache == "off":
        for name, e in sc.get("endpoint", {}).items():
            if e.get("cacheable"):
                sets.append(f"endpoint.{name}.cacheable=false")
print("\n".join(sets))
