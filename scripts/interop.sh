#!/usr/bin/env bash
# Python interop checks (interop/check_*.py) against the release build, in a venv under /tmp
# with the packages they need from PyPI, and the HTML report in headless Chromium. Run after
# `scripts/test.sh` (which builds autoprune).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AUTOPRUNE_INTEROP_VENV:-/tmp/autoprune-interop-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check numpy safetensors onnx onnxruntime pillow
binary=${AUTOPRUNE_BIN:-$(swift build -c release --show-bin-path)/autoprune}
[ -x "$binary" ] || { echo "interop: $binary not built; run scripts/test.sh first" >&2; exit 1; }
work=$(mktemp -d /tmp/autoprune-interop.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" interop/check_safetensors.py "$binary" "$work"
"$venv/bin/python" interop/check_onnx.py "$binary" "$work"
"$venv/bin/python" interop/check_onnx_import.py "$binary" "$work"
# Graphs of networks only the library builds, written by the (already built) ONNX tests.
mkdir -p "$work/fixtures"
AUTOPRUNE_ONNX_FIXTURES="$work/fixtures" swift test -c release --disable-swift-testing --skip-build --filter 'ONNXExportTests|ONNXImportTests' >/dev/null
"$venv/bin/python" interop/check_onnx_fixtures.py "$work/fixtures"
# The demo report rendered by headless Chromium (installed from Debian when missing; where it
# cannot be installed the page is checked as text, or the check fails with
# AUTOPRUNE_REQUIRE_CHROMIUM=1);
# AUTOPRUNE_REPORT_PNG=PATH keeps a copy of the screenshot (docs/report.png is made this way).
"$venv/bin/python" interop/check_report.py "$binary" "$work" ${AUTOPRUNE_REPORT_PNG:+"$AUTOPRUNE_REPORT_PNG"}
