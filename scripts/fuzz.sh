#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/ (with address sanitizer) and runs each one for SECONDS
# over a working copy of its seed corpus, Fuzz/Corpus/<Harness>/ (docs/fuzzing.md). New inputs go
# to a scratch directory, never into the committed corpus. Prints, per harness, the executions,
# executions per second, coverage (libFuzzer's cov: and ft:) and whether it crashed; a crash,
# timeout or out-of-memory leaves its input in the directory named at the end and makes the
# script exit 1.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   (default: 600 s each, every harness)
# FUZZ_WORK=DIR keeps the scratch directory there. FUZZ_CONFIG=debug builds unoptimized (the
# default, release, runs 1–3× more inputs a second with the same checks: bounds, overflow, ASan).
# FUZZ_SKIP_CRASHES=1 leaves out the seeds named crash-* (known failures not fixed yet), so a
# campaign can look past them. FUZZ_NICE=N runs the fuzzers at a lower priority.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} = 0 ]; then
  harnesses=(FuzzIDX FuzzCIFAR FuzzImage FuzzSafeTensors FuzzCheckpoint FuzzRecipe FuzzRunLog FuzzONNX)
fi
config=${FUZZ_CONFIG:-release}
work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/autoprune-fuzz.XXXXXX")}
mkdir -p "$work"

# libFuzzer's limits per harness. -max_len: the largest input tried (IDX and CIFAR take more, so
# a small gzip bomb fits). -malloc_limit_mb: one allocation above it is a failure, since no input
# may make a reader allocate more than the input can justify: for the gzip readers up to deflate's
# ratio (1,032×) of 128 KiB, twice over while the output grows; for the others 128 MB, far above
# anything a 64 KiB input describes (16K floats) or the largest tensor of a model at its default
# width (vgg-like: 9 MB). -rss_limit_mb: the whole process (sampled once a second, so a brief
# peak can pass unseen: the per-allocation limit is the reliable one).
limits() {
  case $1 in
    FuzzIDX | FuzzCIFAR) echo "-max_len=131072 -malloc_limit_mb=512" ;;
    *) echo "-max_len=65536 -malloc_limit_mb=128" ;;
  esac
}

# One build per harness: every executable built with -sanitize=fuzzer gets libFuzzer's main, so
# MakeCorpus (which has its own) stays out of this build. SwiftPM's --sanitize flags instrument the
# C targets and link the runtimes, but reach swiftc as two -sanitize= flags of which the driver
# keeps only the last: without the combined -Xswiftc flag the Swift code has no coverage.
echo "fuzz: building the harnesses ($config, address sanitizer)"
for h in "${harnesses[@]}"; do
  swift build --package-path Fuzz -c "$config" --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
    --product "$h" 2>&1 \
    | grep -v "ld.gold: warning: Cannot export local symbol" | grep -E "error|warning: unre|Compiling Fuzz" || true
  [ -x "Fuzz/.build/$config/$h" ] || { echo "fuzz: $h did not build" >&2; exit 1; }
done

failed=()
rows=()
for h in "${harnesses[@]}"; do
  dir="$work/$h"
  rm -rf "$dir/corpus"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "Fuzz/Corpus/$h/." "$dir/corpus/"
  if [ "${FUZZ_SKIP_CRASHES:-0}" = 1 ]; then rm -f "$dir/corpus"/crash-*; fi
  echo "fuzz: $h for ${seconds} s (log: $dir/log)"
  status=0
  # SWIFT_BACKTRACE=enable=no: libFuzzer and ASan report a crash themselves; Swift's backtracer
  # would otherwise take over the signal and hang the run for half a minute.
  # shellcheck disable=SC2046
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} nice -n "${FUZZ_NICE:-0}" \
    "Fuzz/.build/$config/$h" "$dir/corpus" $(limits "$h") -rss_limit_mb=2048 -timeout=10 \
    -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -1 || true)
  if [ "$status" = 0 ]; then
    result=ok
  else
    result="FAILED (exit $status): $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^(]*|Fatal error: .*|SUMMARY: .*' "$dir/log" || echo "see $dir/log")"
    failed+=("$h")
  fi
  rows+=("$(printf '%-16s %10s %8s  %-18s %s' "$h" "${execs:-?}" "${rate:-?}" "${coverage:-?}" "$result")")
done

echo
printf '%-16s %10s %8s  %-18s %s\n' harness executions exec/s coverage result
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo
  for h in "${failed[@]}"; do
    # The stack and, for a small input, its Base64: enough to rebuild it from a CI log.
    echo "fuzz: end of $h's log ($work/$h/log):"
    grep -vE "^(INFO|#[0-9]+[[:space:]]|[[:space:]]NEW_FUNC)" "$work/$h/log" | tail -n 40
    echo "fuzz: $h failed; its input is in $work/$h/artifacts/:"
    ls "$work/$h/artifacts/"
  done
  echo "fuzz: to keep one as a seed: cp $work/<Harness>/artifacts/<file> Fuzz/Corpus/<Harness>/crash-<short-name>"
  exit 1
fi
