#!/usr/bin/env bash
# Installs what is missing, builds what it runs (vigild, vigilctl, vigil-rules and vigil-replay,
# in Release, in build-run/, apart from the test build), and starts vigild on the shipped rules in the
# foreground (Ctrl-C or SIGTERM stops it cleanly). Extra arguments go to vigild, e.g.
#   tools/run.sh --listen 127.0.0.1:6000
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
VIGIL_TARGETS="vigild vigilctl vigil-rules vigil-replay" \
  tools/build.sh build-run -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_BENCHMARKS=OFF
mkdir -p .vigil-data
echo "run: vigild is starting; try: build-run/bin/vigilctl health, and the console at http://127.0.0.1:9464/"
exec build-run/bin/vigild --rules rules/ --data-dir .vigil-data "$@"
