#!/usr/bin/env bash
# Installs what dprelay needs from Debian (idempotently) and builds it into build/.
#   scripts/setup.sh            install missing packages, configure, build
#   SETUP_NO_BUILD=1 scripts/setup.sh   packages only
#   SETUP_EXTRA_PACKAGES="clang ..."     install these as well
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compiler, CMake, the libraries of DESIGN.md. Run: iproute2/ethtool for the netns
# topologies, ping for the demo, libxdp for net_af_xdp, jq and curl for the integration tests
# (dprelayctl --json, metrics scrapes, health checks); nftables for the emulated AWS NLB
# (DNAT); wireguard-go, wireguard-tools, iperf3 and tcpdump for the WireGuard test and demo
# (userspace WireGuard: this kernel has no WireGuard module); python3 for the hostile-traffic
# test's attacker (raw frames, sealed requests through libsodium); prometheus for promtool (the
# alert rules' checks) and the server the Prometheus integration test scrapes with. Packaging:
# help2man (man pages from --help), dpkg-dev (CPack's dpkg-shlibdeps), lintian, and mmdebstrap
# and file for the package install test; dpdk-dev for DPDK's own operator tools the counters
# and capture tests run (dpdk-telemetry.py, dpdk-dumpcap).
PACKAGES=(
  g++ cmake ninja-build pkg-config
  dpdk libdpdk-dev libsodium-dev libabsl-dev libgflags-dev prometheus-cpp-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev libbpf-dev libxdp-dev libsystemd-dev dpdk-dev
  iproute2 ethtool iputils-ping procps jq curl nftables prometheus
  wireguard-go wireguard-tools iperf3 tcpdump python3
  help2man dpkg-dev lintian mmdebstrap file
)

# Callers that need more (scripts/fuzz.sh: clang) name it in SETUP_EXTRA_PACKAGES.
read -r -a extra <<<"${SETUP_EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/dprelay-apt.log 2>&1; then
    still=()
    for p in "${missing[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || still+=("$p")
    done
    echo "setup: could not install: ${still[*]} (see /tmp/dprelay-apt.log)" >&2
    exit 1
  fi
fi

[ -n "${SETUP_NO_BUILD:-}" ] && exit 0
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
fi
ninja -C "$BUILD_DIR" ${NINJA_ARGS:-}
