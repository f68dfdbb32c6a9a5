#!/usr/bin/env bash
# Usage: benchmarks/peers/run_peers.sh [N] [SEED]
# Runs setup.sh, compiles bare_loop.rs into a temporary directory and the
# fast_loop crate (its own release profile: lto fat, one codegen unit, panic
# abort; kept in fast_loop/target between runs), then runs the five peers
# (fast-loop, bare-loop, bare-loop-dyn, simpy, ciw) one after another with
# N customers (default 1,000,000) and prints one JSON line per peer on stdout.
# Progress and setup messages go to stderr.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
n="${1:-1000000}"
seed="${2:-1}"

"$here/setup.sh"
py="$here/.venv/bin/python"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "run_peers: compiling bare_loop.rs ($(rustc --version))" >&2
rustc -O --edition 2021 "$here/bare_loop.rs" -o "$tmp/bare_loop"
echo "run_peers: building fast_loop (cargo, release)" >&2
cargo build --quiet --release --manifest-path "$here/fast_loop/Cargo.toml" >&2

echo "run_peers: N=$n seed=$seed" >&2
"$here/fast_loop/target/release/fast-loop" --customers "$n" --seed "$seed"
"$tmp/bare_loop" --mode plain --customers "$n" --seed "$seed"
"$tmp/bare_loop" --mode dyn --customers "$n" --seed "$seed"
"$py" "$here/simpy_mm8.py" --customers "$n" --seed "$seed"
"$py" "$here/ciw_mm8.py" --customers "$n" --seed "$seed"
