#!/usr/bin/env bash
# tools/run.sh builds only what it runs, in a directory of its own: a newcomer does not wait for
# the tests to build, and run.sh and test.sh never rebuild each other's tree. cmake is replaced
# by a stand-in that records how it was called, so nothing is built here.
#   run_sh_test.sh SOURCE_DIR
set -uo pipefail
source_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
cat >"$work/bin/cmake" <<STUB
#!/usr/bin/env bash
echo "\$*" >>"$work/cmake.calls"
STUB
chmod +x "$work/bin/cmake"
# vigild is not there to start (nothing was built); run.sh's exit code is not the point.
PATH="$work/bin:$PATH" "$source_dir/tools/run.sh" >"$work/out" 2>&1
failures=0
configure=$(grep -- '^-S' "$work/cmake.calls")
build=$(grep -- '^--build' "$work/cmake.calls")
check() {
  if grep -Eq -- "$2" <<<"$3"; then echo "ok: $1"; else
    echo "FAIL: $1: cmake was called with: $3"; failures=$((failures + 1))
  fi
}
check "configures build-run, not the test build" '-B build-run( |$)' "$configure"
check "builds in Release without the benchmarks" \
  '-DCMAKE_BUILD_TYPE=Release.*-DVIGIL_BUILD_BENCHMARKS=OFF' "$configure"
check "builds only vigild, vigilctl, vigil-rules and vigil-replay" \
  '^--build build-run -j [0-9]+ --target vigild vigilctl vigil-rules vigil-replay$' "$build"
rm -f "$source_dir/build-run.configure.log"
echo "run.sh: $((3 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
