#!/usr/bin/env bash
# Builds the DocC documentation of the AutoPrune library into .build/docs/AutoPrune.doccarchive:
# symbol graphs from a separate build directory (so the main build's flags stay untouched), then
# `docc convert` of Sources/AutoPrune/AutoPrune.docc with warnings as errors (a broken symbol
# link in an article fails). Needs only the Swift toolchain (it ships docc).
set -euo pipefail
cd "$(dirname "$0")/.."
graphs=.build/docs/symbol-graphs
# The graphs are written when a module compiles: kept between runs, as the build that makes them is.
rm -rf "$graphs/AutoPrune" .build/docs/AutoPrune.doccarchive
mkdir -p "$graphs/all"
swift build --scratch-path .build/docs/build --target AutoPrune \
  -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc "$PWD/$graphs/all" >&2
# Only this module's graphs (and its extensions of others'): dependencies document themselves.
mkdir -p "$graphs/AutoPrune"
cp "$graphs"/all/AutoPrune.symbols.json "$graphs"/all/AutoPrune@*.symbols.json "$graphs/AutoPrune/" 2>/dev/null || true
docc convert Sources/AutoPrune/AutoPrune.docc --additional-symbol-graph-dir "$graphs/AutoPrune" \
  --fallback-display-name AutoPrune --fallback-bundle-identifier org.autoprune.AutoPrune \
  --output-path .build/docs/AutoPrune.doccarchive --warnings-as-errors
echo "docs: .build/docs/AutoPrune.doccarchive"
