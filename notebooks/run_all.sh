#!/usr/bin/env bash
# Install the Python package (python/) into notebooks/.venv, run its pytest
# suite, then execute every notebook in notebooks/ headless (nbclient): they
# run their simulations through the package. Exit 1 on a failing test or
# any cell error.
#
#   notebooks/run_all.sh
#
# Creates notebooks/.venv (gitignored) with the pinned requirements on first
# use, and reinstalls when requirements.txt changes. The package is rebuilt
# and reinstalled on every run (`pip install ./python`; cargo makes that a
# no-op when nothing changed). It is built with cargo's dev profile in the
# workspace target/ — the profile and dependency features `cargo test`
# builds — so after `cargo test` (as in .ci/run) only the extension crate
# itself compiles, not polars a second time; TENANTSIM_PY_PROFILE=release
# builds it optimised instead. Executed copies, with their outputs and plots,
# go to notebooks/.executed/ (gitignored) to look at.
#
# Needs python3 >= 3.11 with venv and the Python package index. When the
# index cannot be reached and no venv is installed yet, it prints SKIPPED and
# exits 0 — unless NOTEBOOKS_REQUIRED=1, which makes that an error (exit 3).
# Nothing else is skipped: a failing cell, a missing result file or a
# failing install fails the script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
py="${PYTHON:-python3}"

if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "notebooks: $py is $("$py" --version 2>&1); need Python >= 3.11 (set PYTHON=...)" >&2
    exit 3
fi

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    index="${PIP_INDEX_URL:-https://pypi.org/simple}"
    if ! "$py" - "$index" <<'EOF'; then
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/pip/", timeout=15)
except Exception as e:
    print(f"cannot reach {sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(1)
EOF
        msg="notebooks: SKIPPED — the package index ($index) is unreachable, so the pinned requirements cannot be installed; the notebooks were NOT executed"
        if [[ "${NOTEBOOKS_REQUIRED:-0}" == 1 ]]; then
            echo "$msg (NOTEBOOKS_REQUIRED=1: failing)" >&2
            exit 3
        fi
        echo "$msg" >&2
        exit 0
    fi
    echo "notebooks: installing $req into $venv"
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile -r "$req"
    echo "$want" >"$stamp"
fi

# maturin's PEP 517 backend takes cargo arguments from MATURIN_PEP517_ARGS;
# pip builds the local folder in place, so cargo uses the workspace target/.
profile="${TENANTSIM_PY_PROFILE:-dev}"
echo "notebooks: building and installing the tenantsim package (python/, cargo profile $profile)"
start=$(date +%s)
MATURIN_PEP517_ARGS="--profile $profile" "$venv/bin/python" -m pip install --quiet \
    --disable-pip-version-check --no-compile --force-reinstall --no-deps "$here/../python"
echo "notebooks: package built and installed in $(( $(date +%s) - start )) s"

# The package's tests (python/tests), in the same venv. pytest exits 5 when
# it collects no test: that is a failure here too.
(cd "$here/.." && "$venv/bin/python" -m pytest -q python/tests)

mkdir -p "$here/.executed"
"$venv/bin/python" - "$here" <<'EOF'
import sys, time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

here = Path(sys.argv[1])
failed = []
for path in sorted(here.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(here)}})
    try:
        client.execute()
        status = "ok"
    except CellExecutionError as e:
        status = "FAILED"
        failed.append(path.name)
        print(e, file=sys.stderr)
    nbformat.write(nb, here / ".executed" / path.name)
    print(f"notebooks: {path.name}: {status} in {time.monotonic() - start:.1f} s")
if failed:
    print(f"notebooks: {len(failed)} failed: {', '.join(failed)} "
          f"(executed copies in {here / '.executed'})", file=sys.stderr)
    sys.exit(1)
EOF
