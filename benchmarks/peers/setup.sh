#!/usr/bin/env bash
# Create benchmarks/peers/.venv (if missing) and install the pinned SimPy and
# Ciw from requirements.txt (only if what is installed differs). Idempotent.
# Messages go to stderr so callers can keep stdout for results.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

say() { echo "setup: $*" >&2; }

if [[ -x "$venv/bin/python" ]]; then
    say "venv exists: $venv"
else
    say "creating venv $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

# Pins requested in requirements.txt, normalised to lower-case name==version.
want="$(grep -Ev '^\s*(#|$)' "$req" | tr 'A-Z' 'a-z' | sort)"
have="$("$venv/bin/python" -m pip freeze --all 2>/dev/null | tr 'A-Z' 'a-z' | sort)"
missing="$(comm -23 <(echo "$want") <(echo "$have"))"
if [[ -z "$missing" ]]; then
    say "pinned packages already installed: $(echo $want)"
else
    say "installing: $(echo $missing)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    say "installed: $(echo $want)"
fi
