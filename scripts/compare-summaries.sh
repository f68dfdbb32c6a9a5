#!/usr/bin/env bash
# Behaviour check for refactors: run every bundled scenario with two
# tenantsim binaries and compare their outputs exactly (issue 20: a
# refactor of the model must keep results bit-identical).
#
#   scripts/compare-summaries.sh OLD_BIN NEW_BIN [--max-events N]
#
# Scenarios: scenarios/*.toml, scenarios/examples/*.toml and
# scenarios/validation/*.toml. A file that is not a runnable scenario (no
# [simulation] table and no `include`, e.g. a fragment meant to be
# included) is skipped and named. Each scenario runs as
#   BIN run FILE --out DIR --quiet --no-report [--max-events N]
# with the same flags for both binaries, so the comparison stays exact;
# --max-events keeps the long seed scenarios short. The wall-clock fields
# (engine.wall_s, engine.events_per_s) are zeroed as in
# results/regenerate.sh, the version fields (schema_version, tool_version)
# dropped, then summary.json and timeseries.csv are compared.
#
# Exit code 1 from `run` means an SLO failed: a normal outcome, compared
# like any other. Prints one line per scenario:
#   same | DIFFERENT (what) | failed (exit N on both) | exit codes differ
# and exits 1 if any scenario differs (or failed on one side only), else 0.
set -uo pipefail

usage() {
    echo "usage: scripts/compare-summaries.sh OLD_BIN NEW_BIN [--max-events N]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
old=$1
new=$2
shift 2
cap=()
while [ $# -gt 0 ]; do
    case $1 in
    --max-events)
        [ $# -ge 2 ] || usage
        cap=(--max-events "$2")
        shift 2
        ;;
    *) usage ;;
    esac
done
for b in "$old" "$new"; do
    [ -x "$b" ] || { echo "error: $b is not an executable (build it with cargo test --no-run)" >&2; exit 2; }
done
old=$(realpath "$old")
new=$(realpath "$new")
cd "$(dirname "$0")/.."

# Also drop `schema_version` and `tool_version`: they say which binary
# wrote the file (a release bump, a binary from before the contract), not
# what the model computed.
strip_timing() {
    sed -E -i 's/"(wall_s|events_per_s)":( ?)[-+0-9.eE]+/"\1":\20.0/g; /^  "(schema_version|tool_version)": /d' "$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

differ=0
n_same=0
n_skip=0
for f in scenarios/*.toml scenarios/examples/*.toml scenarios/validation/*.toml; do
    [ -f "$f" ] || continue
    if ! grep -Eq '^\s*(\[simulation\]|include\s*=)' "$f"; then
        printf '%-52s skipped (not a scenario: no [simulation], no include)\n' "$f"
        n_skip=$((n_skip + 1))
        continue
    fi
    name=$(echo "$f" | tr '/' '_')
    codes=()
    for side in old new; do
        bin=$old
        [ $side = new ] && bin=$new
        out="$tmp/$side/$name"
        mkdir -p "$out"
        "$bin" run "$f" --out "$out" --quiet --no-report "${cap[@]}" >"$tmp/$side/$name.log" 2>&1
        codes+=($?)
        [ -f "$out/summary.json" ] && strip_timing "$out/summary.json"
    done
    if [ "${codes[0]}" != "${codes[1]}" ]; then
        printf '%-52s exit codes differ (old %s, new %s)\n' "$f" "${codes[0]}" "${codes[1]}"
        differ=1
        continue
    fi
    if [ "${codes[0]}" -gt 1 ]; then
        if cmp -s "$tmp/old/$name.log" "$tmp/new/$name.log"; then
            printf '%-52s failed (exit %s on both, same message)\n' "$f" "${codes[0]}"
        else
            printf '%-52s failed (exit %s on both, messages DIFFERENT)\n' "$f" "${codes[0]}"
            differ=1
        fi
        continue
    fi
    what=()
    for file in summary.json timeseries.csv; do
        a="$tmp/old/$name/$file"
        b="$tmp/new/$name/$file"
        if [ ! -f "$a" ] && [ ! -f "$b" ]; then
            continue
        fi
        if [ ! -f "$a" ] || [ ! -f "$b" ] || ! cmp -s "$a" "$b"; then
            what+=("$file")
        fi
    done
    [ -f "$tmp/old/$name/summary.json" ] || what+=("no summary.json")
    if [ ${#what[@]} -eq 0 ]; then
        printf '%-52s same (exit %s)\n' "$f" "${codes[0]}"
        n_same=$((n_same + 1))
    else
        printf '%-52s DIFFERENT (%s)\n' "$f" "${what[*]}"
        differ=1
    fi
done
echo "$n_same same, $n_skip skipped; $([ $differ = 0 ] && echo 'no differences' || echo 'DIFFERENCES FOUND')"
exit $differ
