#!/usr/bin/env bash
# Builds the .deb from an existing build directory (scripts/setup.sh made it): the install
# rules of cmake/DprelayInstall.cmake under /usr, stripped, Depends from dpkg-shlibdeps.
# Nothing is recompiled that the build has not already compiled. Prints the .deb's path.
#   scripts/package.sh [BUILD_DIR]      (default: build; the .deb goes into BUILD_DIR)
# Then, to check it: lintian "$(scripts/package.sh)"
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-${BUILD_DIR:-$ROOT/build}}" && pwd)
[ -f "$BUILD/CPackConfig.cmake" ] || { echo "package: $BUILD is not a configured build directory (scripts/setup.sh)" >&2; exit 1; }
# The programs, man pages and changelog must be current; with a finished build this is
# ninja saying "no work to do".
ninja -C "$BUILD" dprelay-control dprelay-dataplane dprelayctl dprelay-peer \
  dprelay-control_man dprelay-dataplane_man dprelayctl_man dprelay-peer_man \
  dprelay_debian_changelog >&2
cd "$BUILD"
rm -f dprelay_*.deb
cpack -G DEB >&2
ls "$BUILD"/dprelay_*.deb
