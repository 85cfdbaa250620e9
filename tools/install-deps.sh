#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever Vigil needs to build and test that is missing.
set -euo pipefail

packages=(
  cmake make g++ pkg-config
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  libabsl-dev libyaml-cpp-dev librocksdb-dev libjemalloc-dev
  libboost-dev libspdlog-dev prometheus-cpp-dev  # admin HTTP (Asio/Beast), logs, /metrics
  redis-server libhiredis-dev  # several nodes on Redis Cluster, and its tests
  nlohmann-json3-dev           # vigil-replay's report
  openssl prometheus          # certificates for the TLS tests; promtool checks /metrics
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  python3  # the test and bench scripts pick free ports and write JSON with it
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
