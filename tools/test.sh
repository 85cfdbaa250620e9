#!/usr/bin/env bash
# Installs what is missing, builds Vigil, and runs every test: once in a normal build, once under
# AddressSanitizer and UndefinedBehaviorSanitizer; then fuzzes the rule compiler for 30 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
# When each stage begins, from the start of the run: CI allows 20 minutes in all.
stage() { echo "== $1 (at $((SECONDS / 60))m$((SECONDS % 60))s) =="; }
tools/install-deps.sh

# Debug information as line tables only (-g1): failures and sanitizer reports keep their
# file:line, and the two builds take about a fifth less time than with full -g.
stage "build (RelWithDebInfo)"
tools/build.sh build -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
stage "tests"
(cd build && ctest --output-on-failure -j "$(nproc)")

stage "build (ASan + UBSan)"
tools/build.sh build-asan -DVIGIL_SANITIZE=ON -DVIGIL_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1"
stage "tests under ASan + UBSan"
suppressions="$PWD/tools/lsan-suppressions.txt"  # what they are for: in the file
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$suppressions" \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$(nproc)")

stage "fuzz the rule compiler (libFuzzer, 30 s)"
tools/fuzz.sh 30
stage "done"
