#!/usr/bin/env bash
# The testbed grid (issue 22): one calibration, then every setting measured
# (testbed/run.sh, >= 3 repetitions) and predicted, then
# results/testbed/README.md with the table, a predicted-vs-measured plot and
# p95-vs-load curves per pool size with the knee marked.
#
#   testbed/grid.sh [--out DIR]          # the full grid (about 90 min here)
#   POOLS="4 8" LOADS="0.3 0.85" testbed/grid.sh   # a subset
#   testbed/grid.sh --predict-only       # re-predict the measured grid
#
# --predict-only measures nothing and starts no service: for every
# runs/*/comparison.json it keeps the measured side, rebuilds the
# calibrated scenario from the stored calibration (calibration/fitted.toml
# and capacity.json, through scripts/calibrated.py: the current model's
# use of the one calibration), predicts the setting with the current
# tenantsim binary, replaces the predicted side, and regenerates the report.
#
# Axes (environment): LOADS (fractions of the calibrated capacity), POOLS,
# CACHES (on off), FREE_RATES (the free tier's token-bucket rate per tenant:
# the first is the base, the others are the tier-limit change, run at
# every pool size and cache setting), CLOSED_USERS and CLOSED_THINK (the
# closed loop at pool 4, cache on), GENERATORS (of the closed loop: refload
# locust), DURATION (s), REPS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT=$ROOT/results/testbed
PREDICT_ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --predict-only) PREDICT_ONLY=1; shift ;;
    -h|--help) sed -n 2,24p "$0"; exit 0 ;;
    *) echo "grid.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
LOADS=${LOADS:-0.3 0.6 0.85 1.0 1.1}
POOLS=${POOLS:-2 4 8 16}
CACHES=${CACHES:-on off}
FREE_RATES=${FREE_RATES:-25 10}
CLOSED_USERS=${CLOSED_USERS:-50 100 125}
CLOSED_THINK=${CLOSED_THINK:-0.2s}
GENERATORS=${GENERATORS:-refload locust}
DURATION=${DURATION:-15}
REPS=${REPS:-3}
if [ -n "$PREDICT_ONLY" ]; then
  . "$HERE/config.sh"
  TENANTSIM=${TENANTSIM:-$ROOT/target/debug/tenantsim}
  [ -x "$TENANTSIM" ] || { echo "grid.sh: $TENANTSIM missing: build it with \`cargo test --no-run\` (or set TENANTSIM)" >&2; exit 2; }
  CAL=$OUT/calibration
  [ -s "$CAL/fitted.toml" ] && [ -s "$CAL/capacity.json" ] \
    || { echo "grid.sh: --predict-only needs a calibration in $CAL (fitted.toml, capacity.json)" >&2; exit 2; }
  python3 "$HERE/scripts/calibrated.py" "$CAL/fitted.toml" "$CAL/capacity.json" "$(tb_threads)" "$(tb_round_trips)" "$L2_TTL" >"$CAL/calibrated.toml"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  n=0
  for cmp in "$OUT"/runs/*/comparison.json; do
    dir=$(dirname "$cmp")
    # The setting, as run.sh predicted it (rate, pool, cache, tier limit).
    read -r rate pool cache dur free users think < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["setting"]
c=s.get("closed_loop")
print("closed" if c else s["rate_rps"], s["pool_size"], s["cache"], int(s["duration_s"]), int(s["free_tier_rate_per_s"]), *((c["users"], c["think"]) if c else ()))' "$cmp")
    python3 "$HERE/scripts/overrides.py" "$CAL/calibrated.toml" "$rate" "$pool" "$cache" "$dur" "$WARMUP" \
      "$POOL_TIMEOUT_S" "$KEYS" "$ZIPF" "$L1" "$free" "$FREE_CONC" "$PRO_CONC" "$PRED_REPS" ${users:+"$users" "$think"} >"$dir/overrides.txt"
    mapfile -t SETS <"$dir/overrides.txt"
    SETARGS=(); for s in "${SETS[@]}"; do SETARGS+=(--set "$s"); done
    rm -rf "$tmp/predicted"
    "$TENANTSIM" run "$CAL/calibrated.toml" "${SETARGS[@]}" --out "$tmp/predicted" --quiet --no-report --threads 2 \
      >/dev/null 2>"$dir/predict.log" || { rc=$?; [ $rc = 1 ] || { cat "$dir/predict.log" >&2; exit 1; }; }
    python3 "$HERE/scripts/compare.py" --repredict "$cmp" "$tmp/predicted" >"$tmp/comparison.json"
    mv "$tmp/comparison.json" "$cmp"
    n=$((n + 1))
  done
  echo "re-predicted $n settings with $TENANTSIM" >&2
  python3 "$HERE/scripts/report.py" "$OUT"
  echo "wrote $OUT/README.md"
  exit 0
fi
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
  for cache in $CACHES; do
    for pool in $POOLS; do
      for load in $LOADS; do
        run "pool$pool-cache$cache-load$load-free$fr" --pool-size "$pool" --load "$load" --cache "$cache" --free-rate "$fr"
      done
    done
  done
done
# The closed loop, driven by refload and by Locust (an established
# generator written elsewhere), at pool 4 with the cache on.
for users in $CLOSED_USERS; do
  for gen in $GENERATORS; do
    run "pool4-cacheon-closed$users-think$CLOSED_THINK-free$base-$gen" --pool-size 4 --users "$users" --think "$CLOSED_THINK" \
      --cache on --free-rate "$base" --generator "$gen"
  done
done
python3 "$HERE/scripts/report.py" "$OUT"
echo "wrote $OUT/README.md"
