#!/usr/bin/env bash
# Capacity benchmark: writes perf/RESULTS.md. Ratios are measured in one run (relay worker vs
# the same harness forwarding with no relay logic); instructions per packet come from callgrind.
#   scripts/bench.sh [--quick]     (--quick: 1k sessions only, shorter runs)
# Sections of perf/RESULTS.md that other runs wrote (a "<!-- kept by scripts/bench.sh -->" line
# under their "## " heading, e.g. the WireGuard tunnel figures) are kept, after bench.sh's own.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
[ "$(id -u)" -eq 0 ] || { echo "bench: must run as root (hugepages)" >&2; exit 1; }
"$ROOT/scripts/setup.sh" >/dev/null
command -v valgrind >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
BENCH="$ROOT/build/perf/dprelay-bench"
OUT="$ROOT/perf/RESULTS.md"
TMP=$(mktemp -d /tmp/dprelay-bench.XXXXXX)

# Hugepages if they can be had (2 MiB pages on a private hugetlbfs mount), else --no-huge.
HUGE_BEFORE=$(cat /proc/sys/vm/nr_hugepages)
HUGE_DIR="$TMP/huge"
cleanup() {
  mountpoint -q "$HUGE_DIR" 2>/dev/null && { rm -f "$HUGE_DIR"/* 2>/dev/null; umount "$HUGE_DIR"; }
  echo "$HUGE_BEFORE" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
MEM_MB=2048
EAL=(--no-pci --file-prefix="dprelay-bench-$$" --log-level=*:error)
mkdir -p "$HUGE_DIR"
if echo $((HUGE_BEFORE + MEM_MB / 2)) >/proc/sys/vm/nr_hugepages 2>/dev/null &&
   [ "$(cat /proc/sys/vm/nr_hugepages)" -ge $((HUGE_BEFORE + MEM_MB / 2)) ] &&
   mount -t hugetlbfs -o pagesize=2M none "$HUGE_DIR" 2>/dev/null; then
  EAL+=(--huge-dir="$HUGE_DIR" -m "$MEM_MB")
  MEMORY="2 MiB hugepages"
else
  EAL+=(--no-huge --no-shconf -m "$MEM_MB")
  MEMORY="no hugepages (--no-huge)"
fi
SECONDS_EACH=3
[ $QUICK -eq 1 ] && SECONDS_EACH=1

run() {  # run NAME ARGS...: prints the command and keeps its output
  local name=$1
  shift
  # Recorded without this machine's paths: relative to the repository, temporaries as $TMP.
  local shown="$*"
  shown=${shown//"$ROOT/"/}
  shown=${shown//"$TMP"/'$TMP'}
  echo "+ $shown" >"$TMP/$name.cmd"
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || { cat "$TMP/$name.err" >&2; return 1; }
}
field() { sed -n "s/.*[ ^]$2=\([^ ]*\).*/\1/p" <<<" $1" | head -n 1; }

echo "bench: 1k sessions (relay worker and bare ceiling, lcore 1; emulator lcore 0)"
run k1 "$BENCH" -l 0-1 "${EAL[@]}" -- --sessions=1000 --seconds=$SECONDS_EACH
SCALE_SESSIONS=1000000
[ $QUICK -eq 1 ] && SCALE_SESSIONS=100000
echo "bench: $SCALE_SESSIONS sessions, 86-byte payloads"
run m1 "$BENCH" -l 0-1 "${EAL[@]}" -- --sessions=$SCALE_SESSIONS --payloads=86 --seconds=$SECONDS_EACH
echo "bench: kernel-socket relay baseline (recvmmsg/sendmmsg, batch 64)"
run kern "$ROOT/build/perf/dprelay-kernel-bench" --sessions=1000 --payload=86 --seconds=$SECONDS_EACH
echo "bench: coturn baseline (turnserver on one core, turnutils_uclient clients)"
run turn "$ROOT/perf/coturn_baseline.sh" 200 1000 86
echo "bench: instructions per forwarded packet (callgrind, worker loop only)"
CG_PACKETS=200000
run cg valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
  --toggle-collect='dprelay::Worker::Poll*' "$BENCH" -l 0 --no-huge --no-shconf -m 512 \
  --no-pci --log-level=*:error -- --sessions=1000 --payloads=86 --packets=$CG_PACKETS
IR=$(sed -n 's/^summary: //p' "$TMP/callgrind.out")
FWD=$(sed -n 's/.*forwarded_packets=\([0-9]*\).*/\1/p' "$TMP/cg.out")
IPP=$(awk -v ir="$IR" -v n="$FWD" 'BEGIN{printf "%.0f", ir / n}')

# The sections to keep, each from its heading to the next one.
KEPT="$TMP/kept.md"
if [ -f "$OUT" ]; then
  awk '/^## /{if(keep)printf "%s", buf; buf=""; keep=0}
       {buf=buf $0 "\n"}
       /^<!-- kept by scripts\/bench.sh -->$/{keep=1}
       END{if(keep)printf "%s", buf}' "$OUT" >"$KEPT"
fi

{
  echo "# dprelay benchmark results"
  echo
  echo "Written by \`scripts/bench.sh$([ $QUICK -eq 1 ] && echo ' --quick')\` on $(date -u +%Y-%m-%d), $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $MEMORY."
  echo "Wall-clock rates on a shared 2-core VM are noisy: read the ratios, measured in one run,"
  echo "and the instruction count, which is stable."
  echo
  echo "## Per-core capacity (ring-backed port, closed loop, 1k sessions bound by handshake)"
  echo
  echo "Relay worker on lcore 1, peer emulator on lcore 0. The harness's ceilings replace the"
  echo "worker with no relay logic: *io* passes mbuf pointers rx_burst -> tx_burst and never"
  echo "touches a packet (testpmd io mode); *l2fwd* also rewrites each packet's MACs (testpmd mac"
  echo "mode). Each figure is the median of 3 interleaved runs; the relay's range is given."
  echo
  echo "| UDP payload | io ceiling Mpps | l2fwd Mpps | relay Mpps (min-max) | relay / io | relay / l2fwd |"
  echo "|---|---|---|---|---|---|"
  grep '^payload=' "$TMP/k1.out" | while read -r line; do
    echo "| $(field "$line" payload) B | $(field "$line" bare_mpps) | $(field "$line" l2fwd_mpps) | $(field "$line" relay_mpps) ($(field "$line" relay_min)-$(field "$line" relay_max)) | $(field "$line" ratio) | $(field "$line" ratio_l2fwd) |"
  done
  echo
  echo '```'
  cat "$TMP/k1.cmd"
  grep -E '^(sessions|memory|unexpected|drop_)' "$TMP/k1.out" || true
  echo '```'
  echo
  echo "## Scale: $SCALE_SESSIONS sessions, random access over all of them (86 B)"
  echo
  local_1k=$(grep '^payload=86 ' "$TMP/k1.out" | head -n1)
  line_m=$(grep '^payload=86 ' "$TMP/m1.out" | head -n1)
  echo "| sessions | io ceiling Mpps | relay Mpps (min-max) | relay / io |"
  echo "|---|---|---|---|"
  echo "| 1000 | $(field "$local_1k" bare_mpps) | $(field "$local_1k" relay_mpps) ($(field "$local_1k" relay_min)-$(field "$local_1k" relay_max)) | $(field "$local_1k" ratio) |"
  echo "| $SCALE_SESSIONS | $(field "$line_m" bare_mpps) | $(field "$line_m" relay_mpps) ($(field "$line_m" relay_min)-$(field "$line_m" relay_max)) | $(field "$line_m" ratio) |"
  echo
  echo "$SCALE_SESSIONS vs 1k relay rate: $(awk -v a="$(field "$line_m" relay_mpps)" -v b="$(field "$local_1k" relay_mpps)" 'BEGIN{printf "%.2f", a / b}')x"
  echo
  echo '```'
  cat "$TMP/m1.cmd"
  grep -E '^(sessions|memory)' "$TMP/m1.out" || true
  echo '```'
  echo
  echo "Memory per session: the forwarding slot (two cache lines), the leg counters of each lcore,"
  echo "and the main lcore's session state as accounted by the session manager (records, VNI"
  echo "index, interned parameters); total adds them up (and IPv6 side records when configured)."
  echo "memory_measured is the main lcore's heap growth around its start and the binds, the"
  echo "emulator excluded: the same state plus fixed allocations (the session pool's first chunk"
  echo "of 4096 records, the VNI index, the 2 MiB handshake-limiter table), which dominate at 1k"
  echo "sessions and vanish per session at 1M. See docs/DECISIONS.md \"Memory per session\"."
  echo
  echo "## Against a kernel-socket relay (one core each, 86 B, 1k sessions)"
  echo
  kern_line=$(grep '^kernel_relay' "$TMP/kern.out")
  echo "The reference relay's I/O model: recvmmsg/sendmmsg in batches of 64 on one UDP socket,"
  echo "VNI lookup and source match per datagram, pinned to one core; a closed-loop generator on"
  echo "the other core over loopback."
  echo
  echo "| relay | Mpps per core |"
  echo "|---|---|"
  turn_line=$(grep '^coturn' "$TMP/turn.out")
  echo "| kernel sockets | $(field "$kern_line" mpps) |"
  echo "| coturn (relayed messages per turnserver CPU-second) | $(field "$turn_line" mpps_per_core) |"
  echo "| dprelay worker | $(field "$local_1k" relay_mpps) |"
  echo
  echo "dprelay / kernel-socket relay: $(awk -v a="$(field "$local_1k" relay_mpps)" -v b="$(field "$kern_line" mpps)" 'BEGIN{printf "%.1f", a / b}')x;"
  echo "dprelay / coturn: $(awk -v a="$(field "$local_1k" relay_mpps)" -v b="$(field "$turn_line" mpps_per_core)" 'BEGIN{printf "%.0f", a / b}')x."
  echo
  echo "coturn cannot be saturated by turnutils_uclient (it paces its sends), so its figure is"
  echo "relayed messages per CPU-second that turnserver used, allocations included."
  echo
  echo '```'
  cat "$TMP/kern.cmd"
  cat "$TMP/turn.cmd"
  cat "$TMP/turn.out"
  echo '```'
  echo
  echo "## Instructions per forwarded packet"
  echo
  echo "**$IPP** instructions per forwarded packet (callgrind Ir inside \`Worker::Poll\`, including"
  echo "the ring PMD's rx/tx burst; $FWD packets of 86 B over 1k sessions)."
  echo
  echo '```'
  cat "$TMP/cg.cmd"
  echo "summary: $IR"
  echo '```'
  echo
  echo "## Targets (issue: dataplane at line rate)"
  echo
  echo "relay >= 0.5x ceiling per core; <= 120 instructions per packet; 1M sessions >= 0.7x the"
  echo "1k rate; <= 256 B per session; >= 50x a kernel-socket relay per core. See the issue's"
  echo "closing note for what bounds each figure."
} >"$OUT"
if [ -s "$KEPT" ]; then
  { echo; cat "$KEPT"; } >>"$OUT"
fi
echo "bench: wrote $OUT"
cat "$OUT"
