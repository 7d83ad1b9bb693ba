#!/usr/bin/env bash
# Integration: the dataplane's counters as an operator reads them on a running relay, after a
# pair has exchanged data and a few packets were sent to a port that is not the relay's.
#   - `dprelayctl counters --json`: forwarded packets, the drop by reason, workers, rings, NIC;
#   - `dprelayctl counters`: only non-zero counters, `--all` every one, `--watch` with rates;
#   - DPDK telemetry: DPDK's own dpdk-telemetry.py (package dpdk-dev) on the dataplane's socket
#     (/var/run/dpdk/<--file-prefix>/dpdk_telemetry.v2) shows the same counters.
#   counters_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: counters_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "counters_test: needs root (network namespaces)"; exit 1; }
for tool in jq dpdk-telemetry.py; do
  command -v "$tool" >/dev/null || { echo "counters_test: needs $tool (scripts/setup.sh installs it)"; exit 1; }
done
WORK=$(mktemp -d /tmp/dprelay-counters.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
# A file prefix of its own: the telemetry socket of this run, apart from any other DPDK process.
PREFIX="dprelay-counters-$$"
RUNTIME_DIR=/var/run/dpdk/$PREFIX
trap 'topo_down; rm -rf "$WORK" "$RUNTIME_DIR"' EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
CTL=("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock")
JUNK=7  # UDP datagrams to a port that is not the relay's: drop reason not_relay_port
# jqf FILTER FILE: FILE holds JSON and FILTER is true of it (jq -e alone passes an empty file).
jqf() { [ -s "$2" ] && jq -e "$1" "$2" >/dev/null; }

topo_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)

if ! DP_EXTRA_EAL="--file-prefix=$PREFIX" dataplane_start "$WORK/dp.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.log"
  check "dataplane starts" false
  finish
fi
check "control starts" control_start 1 "$WORK/policy"

# Before any traffic: the command answers, and the relay's counters are still zero.
# Control answers from its once-a-second poll of the dataplane: the first one comes within 1 s.
for i in $(seq 30); do
  "${CTL[@]}" --json counters >"$WORK/before.json" 2>/dev/null && break
  sleep 0.1
done
check "counters before traffic: forwarded_packets 0" jqf '.counters.forwarded_packets == 0' "$WORK/before.json"

check "the pair relays (both exit 0)" topo_pair_run "$PEER" "$WORK" 20
for i in $(seq "$JUNK"); do
  ip netns exec "$NS_A" bash -c "echo junk$i >/dev/udp/$RELAY_IP/$((RELAY_PORT + 7))"
done
sleep 1.5  # control polls the dataplane's counters every second

"${CTL[@]}" --json counters >"$WORK/counters.json" || sed 's/^/  control| /' "$WORK/control.1.log"
"${CTL[@]}" counters >"$WORK/counters.txt"
"${CTL[@]}" counters --all >"$WORK/counters-all.txt"
sed 's/^/  ctl| /' "$WORK/counters.txt"
# The per-session counters are the truth the relay's totals must cover.
SESSION_PACKETS=$("${CTL[@]}" --json sessions | jq '[.sessions[].legs[].packets] | add')
FWD=$(jq '.counters.forwarded_packets' "$WORK/counters.json")
check "forwarded_packets ($FWD) equals the sessions' packets ($SESSION_PACKETS) and is >= 40" \
  test "$FWD" -eq "$SESSION_PACKETS" -a "$FWD" -ge 40
check "forwarded_packets_udp4_udp4 is all of them" \
  jqf ".counters.forwarded_packets_udp4_udp4 == $FWD" "$WORK/counters.json"
check "legs_bound >= 2 and challenges_sent >= 2" \
  jqf '.counters.legs_bound >= 2 and .counters.challenges_sent >= 2' "$WORK/counters.json"
check "drops.not_relay_port is the $JUNK junk datagrams" \
  jqf ".drops.not_relay_port == $JUNK" "$WORK/counters.json"
check "every drop reason is listed in JSON (ip_fragment: 0)" \
  jqf '.drops.ip_fragment == 0 and (.drops | length) > 30' "$WORK/counters.json"
check "one worker, with packets and a busy ratio in [0, 1]" \
  jqf '(.workers | length) == 1 and .workers[0].rx_packets >= 40 and .workers[0].busy_ratio >= 0 and .workers[0].busy_ratio <= 1 and .workers[0].cycles > 0' "$WORK/counters.json"
check "rings: the main lcore's three, empty, with their capacity" \
  jqf '[.rings[] | select(.ring | startswith("main_"))] | length == 3 and all(.count == 0 and .capacity > 0 and .overflows == 0)' "$WORK/counters.json"
check "the NIC's xstats are there (rx_good_packets > 0)" \
  jqf '.nic[0].xstats.rx_good_packets > 0' "$WORK/counters.json"
check "text: forwarded_packets line with its value" \
  grep -Eq "^  forwarded_packets +$FWD\$" "$WORK/counters.txt"
check "text: not_relay_port under drops by reason" \
  bash -c "sed -n '/^drops by reason:/,/^workers:/p' '$WORK/counters.txt' | grep -Eq '^  not_relay_port +$JUNK\$'"
check "text: zero counters are left out by default (no ip_fragment, no nd_solicitations)" \
  bash -c "[ -s '$WORK/counters.txt' ] && ! grep -Eq '^  (ip_fragment|nd_solicitations) ' '$WORK/counters.txt'"
check "text --all: zero counters too (ip_fragment 0, nd_solicitations 0)" \
  bash -c "grep -Eq '^  ip_fragment +0$' '$WORK/counters-all.txt' && grep -Eq '^  nd_solicitations +0$' '$WORK/counters-all.txt'"

# --watch: refreshes, and from the second sample on shows per-second rates.
timeout 3.5 "${CTL[@]}" counters --watch 1 >"$WORK/watch.txt" 2>&1
sed "s/^/  watch| /" "$WORK/watch.txt" | head -5
check "--watch 1 printed at least two samples" \
  test "$(grep -c '^counters:' "$WORK/watch.txt")" -ge 2
check "--watch 1 shows rates (/s) from the second sample" grep -q '/s$' "$WORK/watch.txt"
timeout 2.5 "${CTL[@]}" --json counters --watch 1 >"$WORK/watch.json" 2>&1
jq -s . "$WORK/watch.json" >"$WORK/watch-all.json"
check "--json --watch prints one JSON document per sample" \
  jqf 'length >= 2 and all(.[]; .counters.forwarded_packets > 0)' "$WORK/watch-all.json"

# DPDK telemetry, read by DPDK's own client on the dataplane's socket.
check "the telemetry socket is in the runtime dir of the file prefix" \
  test -S "$RUNTIME_DIR/dpdk_telemetry.v2"
printf '/dprelay/counters\n/dprelay/drops\n/dprelay/workers\n/dprelay/rings\n' |
  dpdk-telemetry.py -f "$PREFIX" >"$WORK/telemetry.out" 2>&1
sed 's/^/  telemetry| /' "$WORK/telemetry.out" | cut -c1-200
jq -s . "$WORK/telemetry.out" >"$WORK/telemetry.json"
check "telemetry /dprelay/counters: forwarded_packets as dprelayctl shows it ($FWD)" \
  jqf ".[0][\"/dprelay/counters\"].forwarded_packets == $FWD" "$WORK/telemetry.json"
check "telemetry /dprelay/drops: not_relay_port $JUNK" \
  jqf ".[1][\"/dprelay/drops\"].not_relay_port == $JUNK" "$WORK/telemetry.json"
check "telemetry /dprelay/workers: worker 0 busy cycles <= cycles" \
  jqf '.[2]["/dprelay/workers"]["0"] | .cycles > 0 and .busy_cycles <= .cycles' "$WORK/telemetry.json"
check "telemetry /dprelay/rings: main_handshake with its capacity" \
  jqf '.[3]["/dprelay/rings"].main_handshake.capacity > 0' "$WORK/telemetry.json"

# Without the dataplane, the command says so in one line (exit 1).
dataplane_stop
sleep 1.5
rc=0
"${CTL[@]}" counters >"$WORK/down.out" 2>&1 || rc=$?
sed 's/^/  ctl| /' "$WORK/down.out"
check "dataplane gone: one line, exit 1" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/down.out') -eq 1 ] && grep -q 'dataplane' '$WORK/down.out'"
finish
