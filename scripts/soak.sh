#!/usr/bin/env bash
# Soak test (issue 13): simulate DAYS days (default 7) of the HERMES-size
# benchmark scenario in one process and report its peak RSS (VmHWM) as the
# simulated clock passes each day. Memory must not grow with simulated time:
# the day-1 and day-7 figures should be equal within noise.
#
#   cargo build --release && scripts/soak.sh                     # 7 days
#   scripts/soak.sh target/release/tenantsim 2                   # 2 days
#
# The time series is the one output that grows with the horizon by design
# (one ~136-byte row per sample_interval), so the soak samples every 10 min
# (1,008 rows in 7 days) to measure the engine, not the output table.
# Progress comes from the run's own progress bar (a pseudo-terminal via
# `script`); RSS from /proc/PID/status every 5 s. Linux only.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/tenantsim}
days=${2:-7}
work=$(mktemp -d)
log=$work/progress.log
samples=$work/samples.txt
script -qfec "echo \$\$ > $work/pid; exec $bin run benchmarks/hermes-size.toml --set simulation.duration='\"${days}d\"' --set simulation.sample_interval='\"10m\"' --replications 1 --no-report --out $work/result" "$log" >/dev/null 2>&1 &
runner=$!
while [ ! -s "$work/pid" ]; do sleep 0.2; done
pid=$(cat "$work/pid")
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  pct=$(tail -c 400 "$log" 2>/dev/null | grep -ao '[0-9]\+%' | tail -1 | tr -d '%' || true)
  hwm=$(awk '/VmHWM/ {print $2}' /proc/"$pid"/status 2>/dev/null || true)
  rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null || true)
  [ -n "$hwm" ] && echo "$(( $(date +%s) - start )) ${pct:-0} $hwm $rss" >> "$samples"
  sleep 5
done
wait "$runner" || { echo "the run failed; see $log" >&2; exit 1; }
echo "soak: $days simulated days of benchmarks/hermes-size.toml, $(( $(date +%s) - start )) s wall"
for d in $(seq 1 "$days"); do
  need=$(( d * 100 / days ))
  # The progress bar may stop short of 100 % before the process exits:
  # the last day is the last sample.
  awk -v need="$need" -v d="$d" -v last="$([ "$d" = "$days" ] && echo 1 || echo 0)" '
    $2 >= need && !done { printf "day %d: peak RSS %.1f MB (RSS %.1f MB) at %d s wall\n", d, $3/1024, $4/1024, $1; done=1 }
    { t=$1; h=$3; r=$4 }
    END { if (!done && last) printf "day %d: peak RSS %.1f MB (RSS %.1f MB) at %d s wall (last sample)\n", d, h/1024, r/1024, t }' "$samples"
done
awk 'END { printf "end: peak RSS %.1f MB\n", $3/1024 }' "$samples"
echo "summary: $work/result/summary.json (engine.events), samples: $samples"
