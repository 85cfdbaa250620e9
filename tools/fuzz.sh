#!/usr/bin/env bash
# tools/fuzz.sh [SECONDS]: builds the rule compiler's libFuzzer target with clang and runs it
# on the committed corpus (fuzz/corpus) for SECONDS (default 60). New inputs it finds go to a
# scratch directory; a crash, leak or sanitizer report fails the run and leaves the input in
# build-fuzz/ (crash-*, leak-*) to reproduce with: build-fuzz/bin/rule_compiler_fuzzer FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
# The fuzzer and what it links (the core and the rules), not the protos the configuration lists.
VIGIL_TARGETS=rule_compiler_fuzzer tools/build.sh build-fuzz -DVIGIL_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd build-fuzz
echo "fuzz: running the rule compiler fuzzer for ${seconds}s on $(ls ../fuzz/corpus | wc -l) corpus inputs"
ASAN_OPTIONS=detect_leaks=1 ./bin/rule_compiler_fuzzer -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "$scratch" ../fuzz/corpus 2>fuzz.log || {
  tail -40 fuzz.log
  echo "fuzz: FAILED (see build-fuzz/fuzz.log)"
  exit 1
}
grep -E "^stat::number_of_executed_units|^stat::new_units_added" fuzz.log | sed 's/^/fuzz: /'
echo "fuzz: no crash, leak or sanitizer report in ${seconds}s"
