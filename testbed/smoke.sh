#!/usr/bin/env bash
# CI smoke of the testbed (issue 22): one short setting end to end — the
# servers start, the service answers, calibration and prediction run, and
# comparison.json is in the issue's format with sane numbers. Loose bounds:
# it guards against rot, not accuracy (that is testbed/grid.sh's job).
# About 60 s after the build; fails if it takes more than 90 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$(mktemp -d /tmp/tenantsim-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
(cd "$ROOT" && cargo build -q -p tenantsim-refsvc)
start=$(date +%s)
python3 "$HERE/scripts/test_calibrated.py"
CAL_DURATION=15 WARMUP=3 TB_NO_BUILD=1 TB_DISTURBED_RETRIES=0 timeout 90 "$HERE/run.sh" --pool-size 4 --load 0.4 --duration 10 --reps 2 --out "$OUT/run"
took=$(( $(date +%s) - start ))
python3 - "$OUT/run/comparison.json" "$took" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
metrics = ["throughput_rps", "latency_p50_s", "latency_p95_s", "latency_p99_s", "error_rate", "pool_wait_mean_s", "cache_hit_ratio"]
fail = []
for side in ("measured", "predicted"):
    for m in metrics:
        v = c[side].get(m)
        if not v or v["mean"] is None or "ci95" not in v:
            fail.append(f"{side}.{m} missing")
me, pr, rate = c["measured"], c["predicted"], c["setting"]["rate_rps"]
if not fail:
    if abs(me["throughput_rps"]["mean"] - rate) > 0.25 * rate:
        fail.append(f"measured throughput {me['throughput_rps']['mean']:.1f} is not within 25 % of the offered {rate}")
    if abs(pr["throughput_rps"]["mean"] - rate) > 0.15 * rate:
        fail.append(f"predicted throughput {pr['throughput_rps']['mean']:.1f} is not within 15 % of the offered {rate}")
    if me["error_rate"]["mean"] > 0.05:
        fail.append(f"measured error rate {me['error_rate']['mean']:.3f} > 5 % at 40 % load")
    r = pr["latency_p50_s"]["mean"] / me["latency_p50_s"]["mean"]
    if not 0.33 < r < 3.0:
        fail.append(f"predicted p50 / measured p50 = {r:.2f}, outside [1/3, 3]")
print(f"smoke: {sys.argv[2]} s; p50 measured {me['latency_p50_s']['mean']*1e3:.2f} ms, predicted {pr['latency_p50_s']['mean']*1e3:.2f} ms")
if fail:
    print("smoke FAILED:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("smoke ok")
PY
