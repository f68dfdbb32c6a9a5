#!/usr/bin/env bash
# Regenerate the committed baselines in results/baselines/ with the release
# binary, from the list in results/baselines.txt (one line per baseline:
# folder name, then the tenantsim arguments; --out is added here). The same
# list drives the regression test tests/it/baselines.rs, so what is
# committed is exactly what the test re-runs.
#
#   results/regenerate.sh            # all baselines
#   results/regenerate.sh quickstart # only those named
#   TENANTSIM=target/debug/tenantsim results/regenerate.sh   # with a built binary
#
# Fixed seeds: without a model change the output is byte-identical, except
# the wall-clock fields of summaries (engine.wall_s, engine.events_per_s),
# which are zeroed here so that `git diff results/baselines/` shows model
# changes only. Review that diff before committing it.
set -euo pipefail
cd "$(dirname "$0")/.."

# TENANTSIM=path/to/tenantsim uses that binary instead of building the
# release one (results do not depend on the profile: a debug build gives
# the same bytes).
if [[ -n "${TENANTSIM:-}" ]]; then
    bin=$TENANTSIM
else
    target="${CARGO_TARGET_DIR:-target}"
    cargo build --release --quiet
    bin="$target/release/tenantsim"
fi

# Zero the wall-clock fields of a summary.json or a sweep point file, in
# place, keeping tenantsim's formatting of everything else.
strip_timing() {
    sed -E -i 's/"(wall_s|events_per_s)":( ?)[-+0-9.eE]+/"\1":\20.0/g' "$1"
}

only=("$@")
while read -r name args; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    if ((${#only[@]})) && [[ ! " ${only[*]} " == *" $name "* ]]; then
        continue
    fi
    out="results/baselines/$name"
    echo "== $name: tenantsim $args"
    rm -rf "$out"
    # shellcheck disable=SC2086 # the arguments are words, split on purpose
    "$bin" $args --out "$out" --quiet --no-report || [[ $? == 1 ]] # 1: an SLO failed, on purpose in some
    for f in "$out"/summary.json "$out"/points/*.json; do
        [[ -f "$f" ]] && strip_timing "$f"
    done
done <results/baselines.txt
du -sh results/baselines
