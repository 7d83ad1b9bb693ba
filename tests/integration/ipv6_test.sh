#!/usr/bin/env bash
# Integration: the relay with an IPv4 and an IPv6 address on one port (net_af_xdp, or
# net_af_packet), kernel clients in namespaces. The kernel resolves the relay's IPv6 address
# by Neighbour Discovery and pings it; one pair relays across families (a over IPv4, b over
# IPv6), another pair over IPv6 only. Asserts payloads intact, the relay address each client
# bound, per-direction counters and the reference metric labels.
#   ipv6_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: ipv6_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "ipv6_test: needs root (network namespaces)"; exit 1; }
WORK=$(mktemp -d /tmp/dprelay-v6.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
trap 'topo_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

COUNT=40
PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
METRICS_PORT=9464
topo_up
for k in a b c d; do
  eval "KEY_${k^^}=\$(\"\$PEER\" genkey --key_file=\"\$WORK/$k.key\")"
done
printf '%s\n' "$KEY_A" "$KEY_B" "$KEY_C" "$KEY_D" >"$WORK/allow.keys"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)

if ! dataplane_start "$WORK/dp.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.log"
  check "dataplane starts on dp0" false
  finish
fi
echo "dataplane on net_$DP_DRIVER"
check "the dataplane announces both relay addresses" \
  grep -q "relay $RELAY_IP:$RELAY_PORT and \[$RELAY_IP6\]:$RELAY_PORT" "$WORK/dp.log"
# fd77::1's solicited-node group ff02::1:ff00:1 is 33:33:ff:00:00:01 on Ethernet.
check "the relay port joined its addresses' solicited-node groups (kernel filter of dp0)" \
  bash -c "ip -n '$NS_R' maddr show dev dp0 | grep -q '33:33:ff:00:00:01'"
# Dual-stack allocation socket: IPv4 clients reach 10.77.0.2, IPv6 ones fd77::2.
if ! control_start main "$WORK/allow.keys" --listen="[::]:$CONTROL_PORT" \
  --metrics_listen="$CONTROL_IP:$METRICS_PORT"; then
  check "control connects to the dataplane" false
  finish
fi

check "the relay's IPv6 address is resolved (ND) and answers ping" \
  ip netns exec "$NS_B" ping -6 -c 2 -i 0.2 -W 2 -q "$RELAY_IP6"
# The Linux bridge snoops MLD: the relay's report (checksum, hop limit 1, Router Alert, as
# the kernel checks them) registers its solicited-node group on the bridge port it is behind.
check "the bridge learned the relay's solicited-node group from its MLDv2 report" \
  bash -c "for i in \$(seq 30); do bridge -n '$NS_R' mdb show | grep -q 'port dp0b grp ff02::1:ff00:1' && exit 0; sleep 0.1; done; exit 1"
check "the kernel learned the relay's MAC by Neighbour Discovery" \
  bash -c "ip -n '$NS_B' -6 neigh show '$RELAY_IP6' | grep -q lladdr"

# pair WHAT X Y CONTROL_X LOCAL_X CONTROL_Y LOCAL_Y: clients x (in ns A) and y (in ns B) with
# keys $WORK/x.key and $WORK/y.key run against each other at the same time; their output is in
# $WORK/x.out and $WORK/y.out. Checks both exit 0 with every payload intact.
pair() {
  local what=$1 x=$2 y=$3 rc_x=0 rc_y=0 px py
  local key_x key_y
  key_x=$("$PEER" pubkey --key_file="$WORK/$x.key") key_y=$("$PEER" pubkey --key_file="$WORK/$y.key")
  ip netns exec "$NS_A" "$PEER" run --key_file="$WORK/$x.key" --peer="$key_y" --control="$4" \
    --local="$5" --control_key="$CONTROL_KEY" --count="$COUNT" --size=1000 --pings=2 \
    --timeout=30s >"$WORK/$x.out" 2>&1 & px=$!
  ip netns exec "$NS_B" "$PEER" run --key_file="$WORK/$y.key" --peer="$key_x" --control="$6" \
    --local="$7" --control_key="$CONTROL_KEY" --count="$COUNT" --size=1000 --pings=2 \
    --timeout=30s >"$WORK/$y.out" 2>&1 & py=$!
  wait $px || rc_x=$?
  wait $py || rc_y=$?
  sed "s/^/  $x| /" "$WORK/$x.out"
  sed "s/^/  $y| /" "$WORK/$y.out"
  check "$what: $x and $y exit 0" test "$rc_x" -eq 0 -a "$rc_y" -eq 0
  check "$what: both received all $COUNT payloads intact" bash -c \
    "grep -q 'received=$COUNT corrupt=0' '$WORK/$x.out' && grep -q 'received=$COUNT corrupt=0' '$WORK/$y.out'"
}
V4_CONTROL="$CONTROL_IP:$CONTROL_PORT" V6_CONTROL="[$CONTROL_IP6]:$CONTROL_PORT"

pair "cross-family" a b "$V4_CONTROL" "$IP_A:0" "$V6_CONTROL" "[$IP6_B]:0"
check "the allocation advertises both relay addresses" \
  grep -q "addrs=$RELAY_IP:$RELAY_PORT,\[$RELAY_IP6\]:$RELAY_PORT " "$WORK/a.out"
check "a bound over IPv4" grep -q "^bound .* relay=$RELAY_IP:$RELAY_PORT " "$WORK/a.out"
check "b bound over IPv6" grep -q "^bound .* relay=\[$RELAY_IP6\]:$RELAY_PORT " "$WORK/b.out"

pair "IPv6 only" c d "$V6_CONTROL" "[$IP6_A]:0" "$V6_CONTROL" "[$IP6_B]:0"
check "c bound over IPv6" grep -q "^bound .* relay=\[$RELAY_IP6\]:$RELAY_PORT " "$WORK/c.out"

sleep 1.5  # control polls the dataplane's counters every second
metric() {
  ip netns exec "$NS_R" curl -s "http://$CONTROL_IP:$METRICS_PORT/metrics" |
    awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'
}
M46=$(metric 'tailscaled_peer_relay_forwarded_packets_total{transport_in="udp4",transport_out="udp6"}')
M64=$(metric 'tailscaled_peer_relay_forwarded_packets_total{transport_in="udp6",transport_out="udp4"}')
M66=$(metric 'tailscaled_peer_relay_forwarded_packets_total{transport_in="udp6",transport_out="udp6"}')
check "metrics label both families (udp4->udp6 $M46, udp6->udp4 $M64, udp6->udp6 $M66)" \
  bash -c "[ '${M46:-0}' -ge $COUNT ] && [ '${M64:-0}' -ge $COUNT ] && [ '${M66:-0}' -ge $((2 * COUNT)) ]"

dataplane_stop
sed -n '/^counters:/,$p' "$WORK/dp.log" | sed 's/^/  dp| /'
check "the dataplane printed its counters at stop" grep -q '^counters:' "$WORK/dp.log"
check "udp4 -> udp6 forwarded at least $COUNT" \
  test "$(counter "$WORK/dp.log" forwarded_packets_udp4_udp6)" -ge "$COUNT"
check "udp6 -> udp4 forwarded at least $COUNT" \
  test "$(counter "$WORK/dp.log" forwarded_packets_udp6_udp4)" -ge "$COUNT"
check "udp6 -> udp6 forwarded at least $((2 * COUNT))" \
  test "$(counter "$WORK/dp.log" forwarded_packets_udp6_udp6)" -ge $((2 * COUNT))
check "the relay answered Neighbour Solicitations" \
  test "$(counter "$WORK/dp.log" nd_advertisements)" -ge 1
check "no packet lost for want of a neighbour" \
  test "$(counter "$WORK/dp.log" drop_no_neighbour)" -eq 0
check "no IPv6 UDP arrived without a checksum" \
  test "$(counter "$WORK/dp.log" drop_udp6_zero_checksum)" -eq 0
finish
