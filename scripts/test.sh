#!/usr/bin/env bash
# Runs the test suite: installs what the project needs (when it can), then `swift test` in
# release mode (the training and determinism tests are 10–50× slower in debug). The kernel tests
# run every instruction set this CPU supports, whatever the build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift test -c release --disable-swift-testing "$@"
