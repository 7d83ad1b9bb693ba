#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit, EAL (vdevs, no hugepages),
# integration (network namespaces; needs root). Extra arguments go to ctest, e.g. -L unit.
# Then the unit and EAL tiers again under ASan+UBSan (scripts/sanitize.sh, build-asan/);
# SKIP_SANITIZERS=1 skips that step (CI runs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/setup.sh"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j2 "$@")
if [ -z "${SKIP_SANITIZERS:-}" ]; then
  "$ROOT/scripts/sanitize.sh"
fi
