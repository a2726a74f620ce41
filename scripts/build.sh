#!/usr/bin/env bash
# Builds autoprune for this machine's CPU (release). The built-in GEMM needs the host's vector
# width and FMA to be fast; the manifest cannot carry those flags (unsafeFlags forbid use as a
# dependency), so they are passed here. Usage: scripts/build.sh [extra swift build args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/native-flags.sh
swift build -c release "${NATIVE_FLAGS[@]}" "$@"
