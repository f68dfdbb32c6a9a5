#!/usr/bin/env bash
# Regenerate results/seeds/<system>.md — every seed system's claims with a
# verdict (holds / fails / holds only if / inconsistent / cannot be checked),
# its lint findings and its what-if page. Never edit those files by hand.
#
#   results/seeds/regenerate.sh            # release build, then all five systems
#   TENANTSIM=target/debug/tenantsim results/seeds/regenerate.sh   # another binary
#
# The output carries no times or paths of this machine: the same tree gives
# the same bytes, whatever binary profile ran it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${TENANTSIM:-}" ]; then
  cargo build --release --quiet
  TENANTSIM=target/release/tenantsim
fi
"$TENANTSIM" claims --quiet --write results/seeds scenarios/*.toml
