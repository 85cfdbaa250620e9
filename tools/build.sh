#!/usr/bin/env bash
# tools/build.sh DIR [CMAKE_ARGS...]: configures and builds Vigil into DIR. With VIGIL_TARGETS
# set (e.g. "vigild vigilctl"), builds only those targets and what they need.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
targets=()
if [ -n "${VIGIL_TARGETS:-}" ]; then
  read -ra names <<<"$VIGIL_TARGETS"
  targets=(--target "${names[@]}")
fi
cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
