#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (into build-fuzz/, ASan+UBSan) and runs each in turn,
# one process at a time, on a scratch copy of its committed seed corpus (tests/fuzz/corpus/).
#   scripts/fuzz.sh 10000000                each target for -runs=10000000 executions
#   scripts/fuzz.sh 300s                    each target for 300 seconds
#   scripts/fuzz.sh 1000000 fuzz_worker     only the targets named
# Prints one line per target: executions, exec/s, corpus size before -> after, and OK or the
# crash (its reproducer is kept in build-fuzz/fuzz-out/<target>/, the log next to it).
# FUZZ_MERGE=1 merges what each run found back into tests/fuzz/corpus/<target> (minimised).
# Exit status: 1 when any target crashed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ $# -lt 1 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
BUDGET=$1
shift
case "$BUDGET" in
  *s) LIMIT=(-max_total_time="${BUDGET%s}" -runs=-1) ;;
  *) LIMIT=(-runs="$BUDGET") ;;
esac

# clang, and the libFuzzer runtime (Debian ships it apart from clang).
if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  SETUP_NO_BUILD=1 SETUP_EXTRA_PACKAGES="clang libclang-rt-14-dev" "$ROOT/scripts/setup.sh"
fi

BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDPRELAY_FUZZ=ON -DDPRELAY_TEST_TIERS=fuzz >/dev/null
fi
# Every libFuzzer binary is a target named like its source, fuzz_<name>.cc.
ALL=()
for src in tests/fuzz/fuzz_*.cc; do
  ALL+=("$(basename "$src" .cc)")
done
TARGETS=("${@:-${ALL[@]}}")
if ! ninja -C "$BUILD" -j "${FUZZ_BUILD_JOBS:-2}" "${TARGETS[@]}" >"$BUILD/fuzz-build.log" 2>&1; then
  grep -E 'FAILED|error' "$BUILD/fuzz-build.log" | head -20 >&2
  echo "fuzz: build failed, see $BUILD/fuzz-build.log" >&2
  exit 1
fi

OUT="$BUILD/fuzz-out"
status=0
for t in "${TARGETS[@]}"; do
  dir="$OUT/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  before=$(find "$dir/corpus" -type f | wc -l)
  rc=0
  # -rss_limit_mb: well above any target's need, below what would starve the machine.
  "$BUILD/tests/fuzz/$t" "${LIMIT[@]}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  after=$(find "$dir/corpus" -type f | wc -l)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  artifact=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' \) | head -1)
  if [ "$rc" -ne 0 ] || [ -n "$artifact" ]; then
    verdict="CRASH (exit $rc) ${artifact:-see $dir/log}"
    status=1
  else
    verdict=OK
  fi
  printf '%-22s %12s execs %8s exec/s  corpus %4d -> %-5d %s\n' "$t" "${runs:-?}" \
    "${rate:-?}" "$before" "$after" "$verdict"
  if [ -n "${FUZZ_MERGE:-}" ] && [ "$verdict" = OK ]; then
    "$BUILD/tests/fuzz/$t" -merge=1 tests/fuzz/corpus/"$t" "$dir/corpus" >"$dir/merge.log" 2>&1
  fi
done
exit $status
