#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever Vigil needs to build and test that is missing.
set -euo pipefail

packages=(
  cmake make g++ pkg-config
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  libabsl-dev libyaml-cpp-dev librocksdb-dev libjemalloc-dev
  libboost-dev libspdlog-dev prometheus-cpp-dev  # admin HTTP (Asio/Beast), logs, /metrics
  redis-server libhiredis-dev  # several nodes on Redis Cluster, and its tests
  nlohmann-json3-dev libsimdjson-dev  # vigil-replay: its report; reading logs fast
  openssl prometheus          # certificates for the TLS tests; promtool checks /metrics
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  python3  # the test and bench scripts pick free ports and write JSON with it
  chromium chromium-driver python3-selenium  # the console's test, in a headless browser
)
# The console's charting library comes from npm (below). Debian's nodejs and npm, unless a
# Node.js with npm is already there.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The console's charting library, at the version console/package-lock.json pins; CMake builds
# it into vigild.
console=$(cd "$(dirname "$0")/../console" && pwd)
if [ ! -f "$console/node_modules/uplot/dist/uPlot.iife.min.js" ]; then
  echo "install-deps: installing the console's charting library (npm ci in console/)"
  npm ci --prefix "$console" --no-audit --no-fund --loglevel=error
fi
