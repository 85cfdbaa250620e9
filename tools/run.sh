#!/usr/bin/env bash
# Installs what is missing, builds Vigil, and starts vigild on the shipped rules in the
# foreground (Ctrl-C or SIGTERM stops it cleanly). Extra arguments go to vigild, e.g.
#   tools/run.sh --listen 127.0.0.1:6000
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh build -DCMAKE_BUILD_TYPE=Release
mkdir -p .vigil-data
echo "run: vigild is starting; try: build/bin/vigilctl health"
exec build/bin/vigild --rules rules/ --data-dir .vigil-data "$@"
