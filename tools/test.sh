#!/usr/bin/env bash
# Installs what is missing, builds Vigil, and runs every test: once in a normal build, once under
# AddressSanitizer and UndefinedBehaviorSanitizer; then fuzzes the rule compiler for 30 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
# When each stage begins, from the start of the run: CI allows 20 minutes in all.
stage() { echo "== $1 (at $((SECONDS / 60))m$((SECONDS % 60))s) =="; }
tools/install-deps.sh

stage "build (RelWithDebInfo)"
tools/build.sh build
stage "tests"
(cd build && ctest --output-on-failure -j "$(nproc)")

stage "build (ASan + UBSan)"
tools/build.sh build-asan -DVIGIL_SANITIZE=ON -DVIGIL_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug
stage "tests under ASan + UBSan"
suppressions="$PWD/tools/lsan-suppressions.txt"  # what they are for: in the file
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$suppressions" \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$(nproc)")

stage "fuzz the rule compiler (libFuzzer, 30 s)"
tools/fuzz.sh 30
stage "done"
