#!/usr/bin/env bash
# Installs everything Portico's build, tests and benchmarks need (Debian 12, as root).
# Idempotent: packages already present are skipped, so `make run`/`make test` can call it every time.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  # libraries
  node-llhttp libyaml-cpp-dev libre2-dev libssl-dev libc-ares-dev nlohmann-json3-dev libnghttp2-dev
  liburing-dev
  libcli11-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler  # the gRPC test peer
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  python3 python3-websockets curl nginx-light haproxy h2o wrk nghttp2-client nghttp2-server valgrind heaptrack procps iproute2
  dnsmasq-base
  python3-h2  # python3-hpack: header blocks of the hand-built frames in test_h2_smuggling.py
  prometheus  # promtool: checks /metrics in tests/integration/test_metrics.py
  openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Services from these packages (nginx, haproxy, h2o) must not be left running on their default
# ports: tests and benchmarks start their own instances on free ports.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
$SUDO rm -f /usr/sbin/policy-rc.d
