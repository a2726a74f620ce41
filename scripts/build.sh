#!/usr/bin/env bash
# Builds autoprune (release): a plain `swift build`, the same build `swift run` and packages that
# depend on ours get. No CPU flags are needed: the vector kernels are compiled for AVX-512,
# AVX2+FMA and the baseline in the C target CAutoPruneKernels and chosen when the tool starts.
# AUTOPRUNE_NATIVE=1 adds `-target-cpu native` for the Swift code as well (measured no faster:
# LeNet-5 epochs of 9.00/8.05 s native against 8.04/8.59 s plain; see docs/bench.md).
# Usage: scripts/build.sh [extra swift build args]
set -euo pipefail
cd "$(dirname "$0")/.."
flags=()
if [ "${AUTOPRUNE_NATIVE:-0}" = 1 ]; then
  source scripts/native-flags.sh
  flags=("${NATIVE_FLAGS[@]}")
fi
swift build -c release ${flags[@]+"${flags[@]}"} "$@"
