#!/usr/bin/env bash
# One setting of the testbed (issue 22): start PostgreSQL, Redis, Prometheus
# and the reference service on loopback, calibrate tenantsim once at a low
# load (or reuse a calibration), measure the setting (>= 3 repetitions),
# predict it with `tenantsim run`, and write DIR/comparison.json.
#
#   testbed/run.sh --pool-size N (--rate R | --load F | --users U --think T) [--cache on|off]
#                  [--duration D] [--reps K] [--free-rate R] --out DIR
#                  [--calibration CALDIR] [--generator refload|locust]
#
# --load F is a fraction of the capacity found by calibration (CALDIR/
# capacity.json). --users U --think T is a closed loop instead: U users (a
# multiple of the 25 tenants), each thinking an exponential T between its
# answer and its next request; predicted with the `closed` arrival process.
# --generator locust drives that closed loop with Locust users
# (scripts/locustfile.py; installed into target/testbed-venv when absent)
# instead of refload, to check refload against an established generator.
# The calibration (CALDIR, default DIR/calibration) is made once, at pool 4, cache on, $CAL_RATE req/s, and reused as it is by every
# setting that names it: nothing is tuned per setting.
#
# Cores: the service, PostgreSQL and Redis share core $TB_SVC_CORE (0) at
# nice -15; the load client (nice -10) and Prometheus run on core
# $TB_LOAD_CORE (1). See infra.sh for why the priorities.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
. "$HERE/infra.sh"

POOL= RATE= LOAD= USERS= THINK= GENERATOR=refload CACHE=on DURATION=30 REPS=3 OUT= CAL= FREE_RATE=${FREE_RATE:-25}
while [ $# -gt 0 ]; do
  case "$1" in
    --pool-size) POOL=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --think) THINK=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --duration) DURATION=${2%s}; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --free-rate) FREE_RATE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --calibration) CAL=$2; shift 2 ;;
    --generator) GENERATOR=$2; shift 2 ;;
    -h|--help) sed -n 2,23p "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$POOL" ] && [ -n "$OUT" ] && { [ -n "$RATE" ] || [ -n "$LOAD" ] || { [ -n "$USERS" ] && [ -n "$THINK" ]; }; } \
  || { echo "run.sh: --pool-size, --out and one of --rate, --load or --users with --think are required (see --help)" >&2; exit 2; }
if [ -n "$USERS" ] && [ $((USERS % 25)) != 0 ]; then echo "run.sh: --users must be a multiple of the 25 tenants" >&2; exit 2; fi
[ "$REPS" -ge 2 ] || { echo "run.sh: --reps must be >= 2 for a confidence interval" >&2; exit 2; }
case "$CACHE" in on|off) ;; *) echo "run.sh: --cache on|off" >&2; exit 2 ;; esac
case "$GENERATOR" in
  refload) ;;
  locust) [ -n "$USERS" ] || { echo "run.sh: --generator locust drives the closed loop: give --users U --think T" >&2; exit 2; } ;;
  *) echo "run.sh: --generator refload|locust, not \`$GENERATOR\`" >&2; exit 2 ;;
esac
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
CAL=${CAL:-$OUT/calibration}; mkdir -p "$CAL"; CAL=$(cd "$CAL" && pwd)

. "$HERE/config.sh"
# How often a disturbed repetition (client > 50 ms behind) is run again.
RETRIES=${TB_DISTURBED_RETRIES:-2}
TIERS=(--tier "free:rate=$FREE_RATE,burst=$FREE_RATE,conc=$FREE_CONC" --tier "pro:conc=$PRO_CONC")

TB_BIN=${TB_BIN:-$ROOT/target/debug}
TENANTSIM=${TENANTSIM:-$ROOT/target/debug/tenantsim}
if [ ! -x "$TB_BIN/refsvc" ] || [ ! -x "$TB_BIN/refload" ] || [ -z "${TB_NO_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build -q -p tenantsim-refsvc)
fi
[ -x "$TENANTSIM" ] || { echo "run.sh: $TENANTSIM missing: build it with \`cargo test --no-run\` (or set TENANTSIM)" >&2; exit 2; }

trap tb_cleanup EXIT
trap 'exit 143' TERM INT
tb_install
[ "$GENERATOR" != locust ] || LOCUST=$(tb_locust)
tb_start_infra
MAP=$OUT/tenants.csv
{ echo "tenant,tier"; for i in $(seq -w 1 20); do echo "free-$i,free"; done; for i in 1 2 3 4 5; do echo "pro-$i,pro"; done; } >"$MAP"
SVCPORT=$(tb_port)

# measure_once POOL CACHE RATE DURATION SEED DIR: one run of the service.
measure_once() {
  local pool=$1 cache=$2 rate=$3 dur=$4 seed=$5 dir=$6 load_args
  if [ "$rate" = closed ]; then load_args=(--users "$USERS" --think "$THINK"); else load_args=(--rate "$rate"); fi
  mkdir -p "$dir"
  redis-cli -p "$TB_REDISPORT" flushall >/dev/null
  tb_start_service "$SVCPORT" "$pool" "$cache" "$dir/access.csv" --tier-map "$MAP" "${TIERS[@]}" \
    --rows "$ROWS" --cpu "$CPU_DIST" --pg-sleep "$PG_SLEEP" --pool-timeout "${POOL_TIMEOUT_S}s" --l1-capacity "$L1" --l2-ttl "$L2_TTL" --seed "$seed"
  local cpu0 stat0
  if [ -n "${IDLE_S:-}" ]; then
    # The idle core first (calibration only): its background CPU — the
    # database's and Redis's timers, Prometheus scraping /metrics — is not
    # per request.
    cpu0=$(core_cpu); stat0=$(core_stat)
    sleep "$IDLE_S"
    echo "$cpu0 $(core_cpu) $stat0 $(core_stat) $IDLE_S" >"$dir/idle"
  fi
  cpu0=$(core_cpu); stat0=$(core_stat); svc0=$(svc_cpu)
  date +%s.%N >"$dir/start"
  if [ "$GENERATOR" = locust ]; then
    # Locust's run time ends the test a second after the last send is due;
    # --stop-timeout lets the requests in flight answer (10 s timeout).
    TB_TIER_MAP=$MAP TB_MIX=$MIX TB_KEYS=$KEYS TB_ZIPF=$ZIPF TB_THINK_S=$(tb_seconds "$THINK") TB_SEED=$seed \
      TB_DURATION_S=$dur TB_WARMUP_S=$WARMUP TB_TIMEOUT_S=10 TB_LOG=$dir/client.csv TB_SUMMARY=$dir/client.json \
      taskset -c "$TB_LOAD_CORE" nice -n "$TB_LOAD_NICE" "$LOCUST" -f "$HERE/scripts/locustfile.py" --headless \
      --users "$USERS" --spawn-rate "$USERS" --run-time "$((${dur%.*} + 1))s" --stop-timeout 11 \
      --host "http://127.0.0.1:$SVCPORT" --only-summary --loglevel WARNING >"$dir/client.out" 2>"$dir/client.err" \
      && [ -s "$dir/client.json" ] || { cat "$dir/client.err" >&2; return 1; }
  else
    taskset -c "$TB_LOAD_CORE" nice -n "$TB_LOAD_NICE" "$TB_BIN/refload" --addr "127.0.0.1:$SVCPORT" "${load_args[@]}" --duration "${dur}s" \
      --warmup "${WARMUP}s" --tier-map "$MAP" --mix "$MIX" --keys "$KEYS" --zipf "$ZIPF" --seed "$seed" \
      --timeout 10s --summary "$dir/client.json" --log "$dir/client.csv" 2>"$dir/client.err" || { cat "$dir/client.err" >&2; return 1; }
  fi
  date +%s.%N >"$dir/end"
  echo "$cpu0 $(core_cpu)" >"$dir/core_cpu"
  echo "$svc0 $(svc_cpu)" >"$dir/svc_cpu"
  echo "$stat0 $(core_stat)" >"$dir/core_stat"
  tb_stop_service
}

# Seconds of the service core so far (/proc/stat): in processes (user,
# nice, system), in interrupts (irq, softirq: the loopback network, charged
# to no process) and in all. Processes beyond ours are other users'.
core_stat() {
  awk -v c="cpu$TB_SVC_CORE" -v t="$(getconf CLK_TCK)" '$1 == c {p = $2+$3+$4; i = $7+$8; printf "%.2f %.2f %.2f\n", p/t, i/t, (p+i+$5+$6+$9)/t}' /proc/stat
}

# CPU seconds used so far by the processes on the service core (refsvc,
# PostgreSQL's processes, Redis), from /proc (clock ticks).
core_cpu() {
  local pids=("$TB_SVC_PID" "${TB_PIDS[0]}") tck; tck=$(getconf CLK_TCK)
  pids+=($(ps -u postgres -o pid= 2>/dev/null))
  for p in "${pids[@]}"; do [ -r "/proc/$p/stat" ] && awk '{print $14+$15}' "/proc/$p/stat"; done \
    | awk -v t="$tck" '{s+=$1} END {printf "%.3f\n", s/t}'
}

# CPU seconds used so far by refsvc alone (its thread's work, HTTP and the
# drivers), to tell it from PostgreSQL's and Redis's in core_cpu.
svc_cpu() {
  awk -v t="$(getconf CLK_TCK)" '{printf "%.3f\n", ($14+$15)/t}' "/proc/$TB_SVC_PID/stat"
}

# --- Calibration: once, at a low load --------------------------------------
if [ ! -s "$CAL/fitted.toml" ] || [ ! -s "$CAL/capacity.json" ]; then
  tb_log "calibrating at $CAL_RATE req/s for ${CAL_DURATION}s, pool $CAL_POOL, cache on"
  tb_start_prometheus "$SVCPORT"
  # The calibration too is run again (at most twice) when its client fell
  # more than 50 ms behind its schedule.
  rm -rf "$CAL/run" "$CAL"/run.disturbed*
  for k in $(seq 1 $((RETRIES + 1))); do
    IDLE_S=${CAL_IDLE_S:-10} measure_once "$CAL_POOL" on "$CAL_RATE" "$CAL_DURATION" 1 "$CAL/run"
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["max_send_lag_s"] > 0.05)' "$CAL/run/client.json" && break
    [ "$k" = $((RETRIES + 1)) ] && break
    tb_log "calibration: the client fell behind its schedule by more than 50 ms: set aside, run again"
    mv "$CAL/run" "$CAL/run.disturbed$k"
  done
  # The scenario from the access log (decomposed) and the live Prometheus.
  "$TENANTSIM" fit "$CAL/run/access.csv" --tier-map "$MAP" --cores 1 --name testbed-calibrated \
    --prometheus "http://127.0.0.1:$TB_PROMPORT" --out "$CAL/fitted.toml" 2>"$CAL/fit.log" \
    || { cat "$CAL/fit.log" >&2; exit 1; }
  "$TENANTSIM" fit "$CAL/run/access.csv" --tier-map "$MAP" --cores 1 --name testbed-log-only \
    --out "$CAL/fitted-log-only.toml" 2>>"$CAL/fit.log"
  python3 "$HERE/scripts/capacity.py" "$CAL" "$CAL_POOL" >"$CAL/capacity.json"
  tb_log "calibration: $(cat "$CAL/capacity.json")"
fi
# The calibrated scenario: the stored calibration as the current model uses
# it (rebuilt every time, so a calibration made before a model change is
# reused as it was measured).
python3 "$HERE/scripts/calibrated.py" "$CAL/fitted.toml" "$CAL/capacity.json" "$(tb_threads)" "$(tb_round_trips)" "$L2_TTL" >"$CAL/calibrated.toml"
CAPACITY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["capacity_rps"])' "$CAL/capacity.json")
if [ -n "$USERS" ]; then RATE=closed; elif [ -z "$RATE" ]; then RATE=$(python3 -c "print(round($LOAD * $CAPACITY, 1))"); fi

# --- Measurement: REPS repetitions ----------------------------------------
tb_log "measuring pool $POOL, cache $CACHE, $RATE req/s (capacity $CAPACITY), ${DURATION}s x $REPS; service+PostgreSQL+Redis on core $TB_SVC_CORE (nice $TB_SVC_NICE), load client (nice $TB_LOAD_NICE)+Prometheus on core $TB_LOAD_CORE"
# A repetition whose client fell more than 50 ms behind its schedule
# (another process took the client's core: the latencies then include the
# client's lateness) is set aside as repN.disturbedK and run again, at most
# TB_DISTURBED_RETRIES (2) times; comparison.json counts what was set aside, and a third disturbed
# run is kept (and counted as disturbed in the report).
rm -f "$OUT/closed-rates"
for r in $(seq 1 "$REPS"); do
  rm -rf "$OUT/rep$r" "$OUT/rep$r".disturbed*
  for k in $(seq 1 $((RETRIES + 1))); do
    measure_once "$POOL" "$CACHE" "$RATE" "$DURATION" "$((100 + r))" "$OUT/rep$r"
    python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["max_send_lag_s"] > 0.05)' "$OUT/rep$r/client.json" && break
    [ "$k" = $((RETRIES + 1)) ] && break
    tb_log "repetition $r: the client fell behind its schedule by more than 50 ms: set aside, run again"
    mv "$OUT/rep$r" "$OUT/rep$r.disturbed$k"
  done
  # A closed loop's rate is what it achieved: the mean over repetitions.
  [ "$RATE" != closed ] || python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["offered_rps"])' "$OUT/rep$r/client.json" >>"$OUT/closed-rates"
done

# --- Prediction: the calibrated scenario at this setting -------------------
python3 "$HERE/scripts/overrides.py" "$CAL/calibrated.toml" "$RATE" "$POOL" "$CACHE" "$DURATION" "$WARMUP" \
  "$POOL_TIMEOUT_S" "$KEYS" "$ZIPF" "$L1" "$FREE_RATE" "$FREE_CONC" "$PRO_CONC" "$PRED_REPS" ${USERS:+"$USERS" "$THINK"} >"$OUT/overrides.txt"
mapfile -t SETS <"$OUT/overrides.txt"
SETARGS=(); for s in "${SETS[@]}"; do SETARGS+=(--set "$s"); done
"$TENANTSIM" run "$CAL/calibrated.toml" "${SETARGS[@]}" --out "$OUT/predicted" --quiet --no-report --threads 2 >/dev/null 2>"$OUT/predict.log" \
  || { rc=$?; [ $rc = 1 ] || { cat "$OUT/predict.log" >&2; exit 1; }; }

if [ "$RATE" = closed ]; then RATE=$(awk '{s+=$1} END {printf "%.1f", s/NR}' "$OUT/closed-rates"); fi
python3 "$HERE/scripts/compare.py" "$OUT" "$REPS" "$POOL" "$CACHE" "$RATE" "$CAPACITY" "$DURATION" "$WARMUP" "$FREE_RATE" \
  ${USERS:+"$USERS" "$THINK" "$GENERATOR"} >"$OUT/comparison.json"
python3 "$HERE/scripts/compare.py" --table "$OUT/comparison.json"
