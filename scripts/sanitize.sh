#!/usr/bin/env bash
# The unit and EAL tiers (fuzz replays included) built with ASan+UBSan in their own folder,
# build-asan/ (-DDPRELAY_SANITIZE=ON), and run there. Called by scripts/test.sh (so by CI);
# SKIP_SANITIZERS=1 scripts/test.sh skips it. Extra arguments go to ctest, e.g. -R frame.
# Only the test binaries of those tiers (and dprelayctl, which one of them runs) are built: not
# the daemons, integration tests or perf.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${ASAN_BUILD_DIR:-build-asan}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDPRELAY_SANITIZE=ON \
    -DDPRELAY_TEST_TIERS="unit;eal;fuzz" >/dev/null
fi
# The test list is read from the generated CTestTestfiles: bring them up to date first.
ninja -C "$BUILD" build.ninja >/dev/null
# Test names are their binaries' target names; a test that is a script has no target.
mapfile -t targets < <(grep -xFf <(ninja -C "$BUILD" -t targets all | sed 's/:.*//') \
  <(ctest --test-dir "$BUILD" -N -L 'unit|eal' --show-only=json-v1 | jq -r '.tests[].name'))
# Script tests of these tiers that run a program: dprelayctl_completion_test runs dprelayctl.
targets+=(dprelayctl)
ninja -C "$BUILD" ${NINJA_ARGS:-} "${targets[@]}"

# Sanitizer options, each for a reason:
# - abort_on_error / halt_on_error: a report fails the test (UBSan already cannot recover:
#   -fno-sanitize-recover), with a core-style abort ctest shows as a failure.
# - detect_leaks=1: a leak fails the test. The EAL tests call rte_eal_cleanup and report none
#   today; tests/lsan.supp is where an allocation DPDK itself keeps for the life of the process
#   would be suppressed, with its reason (none is needed yet).
# - ASan makes mlock() a no-op, so the one test of locked key memory skips itself here.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD"
ctest --output-on-failure -j2 -L 'unit|eal' "$@"
