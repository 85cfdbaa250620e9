#!/usr/bin/env bash
# Installs what is missing, builds Vigil, and runs every test: once in a normal build, once under
# AddressSanitizer and UndefinedBehaviorSanitizer; then fuzzes the rule compiler for 60 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh

echo "== build (RelWithDebInfo) =="
tools/build.sh build
echo "== tests =="
(cd build && ctest --output-on-failure -j "$(nproc)")

echo "== build (ASan + UBSan) =="
tools/build.sh build-asan -DVIGIL_SANITIZE=ON -DVIGIL_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug
echo "== tests under ASan + UBSan =="
suppressions="$PWD/tools/lsan-suppressions.txt"  # what they are for: in the file
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$suppressions" \
  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$(nproc)")

echo "== fuzz the rule compiler (libFuzzer, 60 s) =="
tools/fuzz.sh 60
