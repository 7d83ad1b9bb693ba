#!/usr/bin/env bash
# Integration: restarts lose nothing (DESIGN.md §4 "Restart semantics"). Real processes in the
# shared netns topology; a client pair exchanges numbered packets at a fixed rate while
#   1. dprelay-control is killed with SIGKILL and restarted: no packet may be lost, control
#      rebuilds its registry from the dataplane's dump (dprelayctl shows the session with its
#      VNI and LamportID), the same pair gets the same endpoint again and a new pair gets a
#      higher LamportID;
#   2. dprelay-dataplane is killed with SIGKILL and restarted: control reinstalls the session
#      with its bound legs and forwarding resumes without the clients rebinding; the test
#      reports the loss and the longest gap the clients saw.
#   restart_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: restart_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "restart_test: needs root (network namespaces)"; exit 1; }
command -v jq >/dev/null || { echo "restart_test: needs jq"; exit 1; }
WORK=$(mktemp -d /tmp/dprelay-restart.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
PEER_PIDS=()
cleanup() {
  local pid
  for pid in "${PEER_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  topo_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

source "$ROOT/tests/integration/checks.sh"

PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
CTL=("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock")
PPS=200

topo_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
KEY_C=$("$PEER" genkey --key_file="$WORK/c.key")
"$PEER" genkey --key_file="$WORK/d.key" >/dev/null  # not in the policy
printf '%s\n%s\n%s\n' "$KEY_A" "$KEY_B" "$KEY_C" >"$WORK/policy"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)


# peers_start COUNT TAG: both clients send COUNT numbered packets at $PPS, in the background.
peers_start() {
  local count=$1 tag=$2 timeout=$(($1 / PPS + 10))
  local ns key peer
  for side in a b; do
    if [ "$side" = a ]; then ns=$NS_A key=$WORK/a.key peer=$KEY_B; else ns=$NS_B key=$WORK/b.key peer=$KEY_A; fi
    ip netns exec "$ns" "$PEER" run --key_file="$key" --peer="$peer" \
      --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" \
      --count="$count" --pps="$PPS" --size=200 --pings=1 --timeout="${timeout}s" \
      >"$WORK/$side.$tag.out" 2>&1 &
    PEER_PIDS+=($!)
  done
  PA=${PEER_PIDS[-2]} PB=${PEER_PIDS[-1]}
}

# wait_open: until dprelayctl lists an open session that has forwarded packets both ways.
wait_open() {
  local i
  for i in $(seq 150); do
    "${CTL[@]}" --json sessions >"$WORK/sessions.json" 2>/dev/null &&
      jq -e '.sessions[] | select(.state == "open" and .legs[0].packets > 0 and .legs[1].packets > 0)' \
        "$WORK/sessions.json" >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

summary() { tail -n 1 "$1"; }  # the peer's final line: sent=.. received=.. ... max_gap=..us
field() { summary "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | sed 's/us$//'; }

if ! dataplane_start "$WORK/dp.1.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.1.log"
  check "dataplane starts" false
  finish
fi
check "control starts and syncs with the dataplane" control_start 1 "$WORK/policy" --metrics_listen=127.0.0.1:9100

# ---- 1. kill -9 dprelay-control while traffic flows ----
COUNT1=$((8 * PPS))
peers_start "$COUNT1" ctl
check "session open and forwarding before the control restart" wait_open
VNI=$(jq -r '.sessions[0].vni' "$WORK/sessions.json")
LAMPORT=$(jq -r '.sessions[0].lamport_id' "$WORK/sessions.json")
kill -KILL "$CONTROL_PID"
wait "$CONTROL_PID" 2>/dev/null
echo "control killed (SIGKILL) with session vni=$VNI lamport=$LAMPORT"
sleep 1
check "control restarts and syncs" control_start 2 "$WORK/policy" --metrics_listen=127.0.0.1:9100
"${CTL[@]}" sessions | sed 's/^/  ctl| /'
"${CTL[@]}" --json sessions >"$WORK/sessions.after.json"
check "the restarted control lists the same session (vni $VNI, lamport $LAMPORT)" \
  jq -e --argjson v "$VNI" --argjson l "$LAMPORT" \
  '.sessions | length == 1 and .[0].vni == $v and .[0].lamport_id == $l and .[0].state == "open"' \
  "$WORK/sessions.after.json"
check "control log says it restored the session" grep -q "restored vni=$VNI" "$WORK/control.2.log"
rc_a=0 rc_b=0
wait "$PA" || rc_a=$?
wait "$PB" || rc_b=$?
echo "  a| $(summary "$WORK/a.ctl.out")"
echo "  b| $(summary "$WORK/b.ctl.out")"
check "client a lost nothing across the control restart (exit 0, received=$COUNT1)" \
  test "$rc_a" -eq 0 -a "$(field "$WORK/a.ctl.out" received)" = "$COUNT1"
check "client b lost nothing across the control restart (exit 0, received=$COUNT1)" \
  test "$rc_b" -eq 0 -a "$(field "$WORK/b.ctl.out" received)" = "$COUNT1"

ip netns exec "$NS_A" "$PEER" allocate --key_file="$WORK/a.key" --peer="$KEY_B" \
  --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" >"$WORK/again.out" 2>&1
sed 's/^/  a| /' "$WORK/again.out"
check "the same pair gets its existing endpoint again (vni=$VNI lamport=$LAMPORT)" \
  grep -q "^allocation vni=$VNI lamport=$LAMPORT " "$WORK/again.out"
ip netns exec "$NS_A" "$PEER" allocate --key_file="$WORK/c.key" --peer="$KEY_A" \
  --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" >"$WORK/new.out" 2>&1
sed 's/^/  c| /' "$WORK/new.out"
NEW_VNI=$(sed -n 's/^allocation vni=\([0-9]*\) .*/\1/p' "$WORK/new.out")
NEW_LAMPORT=$(sed -n 's/^allocation vni=[0-9]* lamport=\([0-9]*\) .*/\1/p' "$WORK/new.out")
check "a new pair gets another VNI and a higher LamportID (vni=${NEW_VNI:-none} lamport=${NEW_LAMPORT:-none})" \
  test -n "$NEW_VNI" -a "${NEW_VNI:-0}" != "$VNI" -a "${NEW_LAMPORT:-0}" -gt "$LAMPORT"

# ---- metrics and refusals, scraped over HTTP against the traffic above ----
ip netns exec "$NS_A" "$PEER" allocate --key_file="$WORK/d.key" --peer="$KEY_A" \
  --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" --timeout=2s >/dev/null 2>&1
sleep 2.5  # the exporter polls the dataplane every second
scrape() { ip netns exec "$NS_R" curl -sf http://127.0.0.1:9100/metrics; }
metric() { scrape | grep -F "$1 " | awk '{print $2}'; }
scrape >"$WORK/metrics.txt"
"${CTL[@]}" --json sessions >"$WORK/sessions.metrics.json"
FWD=$(metric 'tailscaled_peer_relay_forwarded_packets_total{transport_in="udp4",transport_out="udp4"}')
FWD_BYTES=$(metric 'tailscaled_peer_relay_forwarded_bytes_total{transport_in="udp4",transport_out="udp4"}')
SESSION_PKTS=$(jq '[.sessions[].legs[].packets] | add' "$WORK/sessions.metrics.json")
SESSION_BYTES=$(jq '[.sessions[].legs[].bytes] | add' "$WORK/sessions.metrics.json")
echo "metrics: forwarded packets=$FWD bytes=$FWD_BYTES; sessions listing: packets=$SESSION_PKTS bytes=$SESSION_BYTES"
check "forwarded_packets_total covers both clients' data ($FWD >= $((2 * COUNT1)))" \
  test "${FWD:-0}" -ge $((2 * COUNT1))
check "forwarded packets and bytes equal the per-session counters" \
  test "${FWD:-x}" = "$SESSION_PKTS" -a "${FWD_BYTES:-x}" = "$SESSION_BYTES"
check "bytes count the UDP payload with Geneve (>= $((2 * COUNT1)) data packets x 208 B)" \
  test "${FWD_BYTES:-0}" -ge $((2 * COUNT1 * 208))
check "endpoints gauge: 1 open (the pair), 1 connecting (c)" \
  grep -q '^tailscaled_peer_relay_endpoints{state="open"} 1$' "$WORK/metrics.txt"
check "the unlisted key's request is counted as not_allowed" \
  grep -q '^dprelay_allocation_refusals_total{reason="not_allowed"} [1-9]' "$WORK/metrics.txt"
check "dprelayctl refusals lists it with its source" \
  bash -c "'${CTL[0]}' '${CTL[1]}' refusals | grep -q 'not_allowed sender=d:.* src=$IP_A:'"
check "NIC xstats are exported per port (rx_good_packets > 0)" \
  grep -qE '^dprelay_nic_xstats_total\{name="rx_good_packets",port="[0-9]+"\} [1-9]' "$WORK/metrics.txt"
read -r _ BUILD_VERSION BUILD_DPDK < <("$CONTROL" --version | tr -d '()' | sed 's/DPDK //')
check "dprelay_build_info names this build ($BUILD_VERSION, DPDK $BUILD_DPDK)" \
  grep -qxF "dprelay_build_info{dpdk_version=\"$BUILD_DPDK\",version=\"$BUILD_VERSION\"} 1" \
  "$WORK/metrics.txt"
check "handshakes and drops are exported" \
  grep -q '^dprelay_handshakes_total{outcome="bound"} [1-9]' "$WORK/metrics.txt"

# ---- 2. kill -9 dprelay-dataplane while traffic flows ----
COUNT2=$((12 * PPS))
peers_start "$COUNT2" dp
check "session open and forwarding before the dataplane restart" wait_open
sleep 2
kill -KILL "$DP_PID"
wait "$DP_PID" 2>/dev/null
KILLED_AT=$(date +%s.%N)
echo "dataplane killed (SIGKILL)"
# A killed AF_XDP process leaves its XDP program on the interface.
ip -n "$NS_R" link set dp0 xdp off 2>/dev/null || true
if ! dataplane_start "$WORK/dp.2.log" "$WORK/dp.sock"; then
  check "dataplane restarts" false
  finish
fi
RUNNING_AT=$(date +%s.%N)
check "forwarding resumes after the dataplane restart" wait_open
RESUMED_AT=$(date +%s.%N)
rc_a=0 rc_b=0
wait "$PA" || rc_a=$?
wait "$PB" || rc_b=$?
echo "  a| $(summary "$WORK/a.dp.out")"
echo "  b| $(summary "$WORK/b.dp.out")"
"${CTL[@]}" sessions | sed 's/^/  ctl| /'
dataplane_stop
sed -n '/^counters:/,$p' "$WORK/dp.2.log" | head -n 1 | sed 's/^/  dp| /'
RA=$(field "$WORK/a.dp.out" received) RB=$(field "$WORK/b.dp.out" received)
GA=$(field "$WORK/a.dp.out" max_gap) GB=$(field "$WORK/b.dp.out" max_gap)
LOSS_A=$((COUNT2 - ${RA:-0})) LOSS_B=$((COUNT2 - ${RB:-0}))
awk -v k="$KILLED_AT" -v r="$RUNNING_AT" -v f="$RESUMED_AT" 'BEGIN {
  printf "dataplane restart: process up %.2fs after the kill, forwarding seen by dprelayctl %.2fs after it\n", r - k, f - k }'
echo "dataplane restart: loss a=$LOSS_A/$COUNT2 b=$LOSS_B/$COUNT2 packets, longest gap a=$((${GA:-0} / 1000))ms b=$((${GB:-0} / 1000))ms at $PPS pps"
check "both clients received packets sent after the restart (received a=${RA:-0} b=${RB:-0})" \
  test "${RA:-0}" -gt "$((COUNT2 / 2))" -a "${RB:-0}" -gt "$((COUNT2 / 2))"
check "the gap is the outage, not the rest of the run (< 8 s)" \
  test "${GA:-99999999}" -lt 8000000 -a "${GB:-99999999}" -lt 8000000
check "no client rebound: the new dataplane ran no handshake (legs_bound=0)" \
  test "$(counter "$WORK/dp.2.log" legs_bound)" -eq 0
check "the new dataplane forwarded the pair's traffic" \
  test "$(counter "$WORK/dp.2.log" forwarded_packets)" -gt 0
check "control reinstalled the sessions the new dataplane lacked" \
  grep -q "dataplane: reinstalled [1-9]" "$WORK/control.2.log"
finish
