#!/usr/bin/env bash
# What-if findings for the five seed systems (issue 9 item 5): one
# `tenantsim sweep` per system on its most important knob, then
# results/seeds/whatif.py writes results/seeds/whatif/<system>.md (the
# command, a conclusion whose numbers it reads from the sweep's results.csv,
# the table of points) and copies one of the sweep report's charts beside it
# as <system>.png. Release build; a few minutes in all on 2 cores. Every
# point runs 3 replications (common seeds across points), so every figure
# on a page has its 95 % CI. Beside each sweep, `tenantsim lint --json` of
# the scenario gives the pages the arithmetic they quote (connections
# against max_connections): nothing on a page is typed by hand.
#
#   results/seeds/whatif.sh                 # all five
#   results/seeds/whatif.sh hermes saas-idp # only those named
#   TENANTSIM=target/debug/tenantsim results/seeds/whatif.sh   # another binary
#
# The sweep folders themselves go to results/seeds/whatif/.sweeps/ (not
# committed); RESUME=1 continues interrupted sweeps there (tenantsim sweep
# --resume) instead of starting afresh. Fixed seed (1): without a model
# change the output is the same.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -n "${TENANTSIM:-}" ]; then
    bin=$TENANTSIM
else
    target="${CARGO_TARGET_DIR:-target}"
    cargo build --release --quiet
    bin="$target/release/tenantsim"
fi
out=results/seeds/whatif
work=$out/.sweeps
mkdir -p "$work"

only=("$@")
# sweep NAME SCENARIO ARGS...: run the sweep, then write NAME.md
sweep() {
    local name=$1 scenario=$2
    shift 2
    if ((${#only[@]})) && [[ ! " ${only[*]} " == *" $name "* ]]; then
        return 0
    fi
    echo "== $name"
    local resume=()
    if [[ "${RESUME:-}" == 1 && -d "$work/$name" ]]; then
        resume=(--resume)
    else
        rm -rf "${work:?}/$name"
    fi
    local start=$SECONDS
    "$bin" sweep "$scenario" "$@" --seed 1 --out "$work/$name" --quiet "${resume[@]}" || [[ $? == 1 ]] # 1: some points fail their SLOs
    echo "   $((SECONDS - start)) s"
    "$bin" lint --json "$scenario" > "$work/$name/lint.json" || [[ $? == 1 ]] # 1: findings at error level
    python3 results/seeds/whatif.py "$name" "$work/$name" "$out" "tenantsim sweep $scenario $*"
}

# HERMES: pool size + overflow against the tenant mix (enterprise tenants 5 → 10).
sweep hermes scenarios/hermes.toml --param pool.size=2,5,20 --param pool.overflow=0,40 \
    --param workload.2.tenants=5,10 --param simulation.duration=20m --param simulation.warmup=5m --replications 3

# Hive Mind: cores against concurrent users (the "< 200 ms at 1000+ users" claims).
sweep hive-mind scenarios/hive-mind.toml --param instance.cores=2,3,4 --param workload.0.arrival.users=800,1000,1200 \
    --param simulation.duration=10m --param simulation.warmup=3m --replications 3

# SaaS IDP: the memory triggers (cache cleanup threshold) against the in-process cache size.
sweep saas-idp scenarios/saas-idp.toml --param cache.l1.capacity=10000,20000,30000 \
    --param memory.actions.0.above=0.75,0.85 --replications 3

# Agent Hive: gateway instances and database cores for 500 RPS against the per-stage budget.
sweep agent-hive scenarios/agent-hive-500.toml --param instance.initial=5,6,8 --param database.cores=4,8,16,24 \
    --param simulation.duration=3m --param simulation.warmup=1m --replications 3

# AI Orchestrator Hub: the HPA CPU target against p95 and cost (the walk 500 → 5000 req/s, its
# last step cut to 5 min).
sweep ai-orchestrator-hub scenarios/ai-orchestrator-hub.toml --param autoscaler.metrics.0.target=0.2,0.3,0.4,0.5,0.7,0.9 \
    --param simulation.duration=50m --replications 3
