#!/usr/bin/env bash
# The testbed grid (issue 22): one calibration, then every setting measured
# (testbed/run.sh, >= 3 repetitions) and predicted, then
# results/testbed/README.md with the table, a predicted-vs-measured plot and
# p95-vs-load curves per pool size with the knee marked.
#
#   testbed/grid.sh [--out DIR]          # the full grid (about 2 h here)
#   POOLS="4 8" LOADS="0.3 0.85" testbed/grid.sh   # a subset
#
# Axes (environment): LOADS (fractions of the calibrated capacity), POOLS,
# CACHES (on off), FREE_RATES (the free tier's token-bucket rate per tenant:
# the first is the base, the others are the tier-limit change, run at pool
# 4 with the cache on), DURATION (s), REPS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$ROOT/results/testbed
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "grid.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
LOADS=${LOADS:-0.3 0.5 0.7 0.85 1.0 1.1}
POOLS=${POOLS:-2 4 8 16}
CACHES=${CACHES:-on off}
FREE_RATES=${FREE_RATES:-25 10}
DURATION=${DURATION:-20}
REPS=${REPS:-3}
mkdir -p "$OUT/runs"
(cd "$ROOT" && cargo build -q -p tenantsim-refsvc)
base=${FREE_RATES%% *}
run() { # name args...
  local name=$1; shift
  if [ -s "$OUT/runs/$name/comparison.json" ]; then return 0; fi
  TB_NO_BUILD=1 "$HERE/run.sh" "$@" --duration "$DURATION" --reps "$REPS" --calibration "$OUT/calibration" \
    --out "$OUT/runs/$name" 2>>"$OUT/grid.log" | tee -a "$OUT/grid.log" >/dev/null \
    || echo "grid: $name failed (see $OUT/grid.log)" >&2
}
for cache in $CACHES; do
  for pool in $POOLS; do
    for load in $LOADS; do
      run "pool$pool-cache$cache-load$load-free$base" --pool-size "$pool" --load "$load" --cache "$cache" --free-rate "$base"
    done
  done
done
for fr in ${FREE_RATES#* }; do
  [ "$fr" = "$base" ] && continue
  for load in $LOADS; do
    run "pool4-cacheon-load$load-free$fr" --pool-size 4 --load "$load" --cache on --free-rate "$fr"
  done
done
python3 "$HERE/scripts/report.py" "$OUT"
echo "wrote $OUT/README.md"
