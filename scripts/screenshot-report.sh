#!/bin/bash
# Render a tenantsim report.html in headless Chromium and save a full-page
# screenshot, to check the report as a browser shows it (fonts, charts,
# layout) — the check issue 7 asks for, kept out of CI because CI machines
# do not have Chromium.
#
#   scripts/screenshot-report.sh results/quickstart            → results/quickstart/report-screenshot.png
#   CHROMIUM=/usr/bin/chromium scripts/screenshot-report.sh DIR [HEIGHT]
#
# Needs Chromium (Debian: apt-get install chromium). The flags keep it from
# reaching the network: the report must render offline.
set -euo pipefail
dir=${1:?usage: scripts/screenshot-report.sh RESULT_DIR [HEIGHT_PX]}
height=${2:-6000}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chromium" ] || { echo "error: no chromium found (apt-get install chromium, or set CHROMIUM)" >&2; exit 2; }
[ -f "$dir/report.html" ] || { echo "error: $dir/report.html does not exist (run tenantsim report $dir)" >&2; exit 2; }
out="$dir/report-screenshot.png"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1100,"$height" \
    --screenshot="$out" "file://$(cd "$dir" && pwd)/report.html" 2>/dev/null
[ -s "$out" ] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "wrote $out"
