#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, EAL (vdevs, no hugepages),
# integration (network namespaces; needs root). Extra arguments go to ctest, e.g. -L unit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 "$@"
