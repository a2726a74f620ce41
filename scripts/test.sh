#!/usr/bin/env bash
# Runs the test suite: installs what the project needs (when it can), then `swift test` in
# release mode for this CPU (the training and determinism tests are 10–50× slower in debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/native-flags.sh
swift test -c release --disable-swift-testing "${NATIVE_FLAGS[@]}" "$@"
