#!/usr/bin/env bash
# Integration: the demo topology (network namespaces, veth, a bridge), the dataplane on
# net_af_xdp (or net_af_packet), the real control process, kernel-socket clients.
# Asserts what a user would check: payloads intact both ways, no allocation for an unlisted
# key, nothing forwarded from an unbound source; exit status and counters.
#   relay_netns_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: relay_netns_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "relay_netns_test: needs root (network namespaces)"; exit 1; }
WORK=$(mktemp -d /tmp/dprelay-it.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
trap 'topo_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

source "$ROOT/tests/integration/checks.sh"

COUNT=50
PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
topo_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
KEY_C=$("$PEER" genkey --key_file="$WORK/c.key")
printf '# allow-list for the test\n%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/allow.keys"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)

if ! dataplane_start "$WORK/dp.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.log"
  check "dataplane starts on dp0" false
  finish
fi
echo "dataplane on net_$DP_DRIVER"
check "the dataplane runs on the requested driver (net_$DP_DRIVER)" \
  bash -c "[ -z '${DP_DRIVERS:-}' ] || [ '${DP_DRIVERS:-}' = '$DP_DRIVER' ]"
topo_spawn "$WORK/control.log" "$NS_R" "$CONTROL" --state_dir="$WORK/state" \
  --listen="$CONTROL_IP:$CONTROL_PORT" --policy="$WORK/allow.keys" \
  --dataplane_socket="$WORK/dp.sock" --admin_socket="$WORK/control.sock"
sleep 1

check "the relay address answers ping" \
  ip netns exec "$NS_A" ping -c 2 -i 0.2 -W 2 -q "$RELAY_IP"

peer_run() {
  ip netns exec "$1" "$PEER" run --key_file="$2" --peer="$3" \
    --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" \
    --count="$COUNT" --size=1200 --pings=3 --timeout=30s
}
peer_run "$NS_A" "$WORK/a.key" "$KEY_B" >"$WORK/a.out" 2>&1 & PA=$!
peer_run "$NS_B" "$WORK/b.key" "$KEY_A" >"$WORK/b.out" 2>&1 & PB=$!
rc_a=0 rc_b=0
wait $PA || rc_a=$?
wait $PB || rc_b=$?
sed 's/^/  a| /' "$WORK/a.out"
sed 's/^/  b| /' "$WORK/b.out"
check "client a exits 0" test "$rc_a" -eq 0
check "client b exits 0" test "$rc_b" -eq 0
check "a received all $COUNT payloads intact" grep -q "received=$COUNT corrupt=0" "$WORK/a.out"
check "b received all $COUNT payloads intact" grep -q "received=$COUNT corrupt=0" "$WORK/b.out"
check "pongs through the relay" grep -q "^pong from" "$WORK/a.out"
VNI_A=$(sed -n 's/^allocation vni=\([0-9]*\).*/\1/p' "$WORK/a.out" | head -n 1)
VNI_B=$(sed -n 's/^allocation vni=\([0-9]*\).*/\1/p' "$WORK/b.out" | head -n 1)
check "both clients got the same endpoint (vni ${VNI_A:-none})" \
  test -n "$VNI_A" -a "$VNI_A" = "${VNI_B:-x}"

rc_c=0
ip netns exec "$NS_A" "$PEER" allocate --key_file="$WORK/c.key" --peer="$KEY_B" \
  --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" --timeout=4s \
  >"$WORK/c.out" 2>&1 || rc_c=$?
sed 's/^/  c| /' "$WORK/c.out"
check "an unlisted key gets no allocation (non-zero exit)" test "$rc_c" -ne 0
check "an unlisted key is not given an endpoint" bash -c "! grep -q '^allocation' '$WORK/c.out'"

ip netns exec "$NS_A" "$PEER" send-raw --relay="$RELAY_IP:$RELAY_PORT" --vni="${VNI_A:-1}" \
  --count=5 >"$WORK/raw.out" 2>&1
sleep 1
dataplane_stop
sed -n '/^counters:/,$p' "$WORK/dp.log" | sed 's/^/  dp| /'
check "data from an unbound source is dropped, not forwarded (drop_unknown_source=5)" \
  test "$(counter "$WORK/dp.log" drop_unknown_source)" -eq 5
check "forwarded at least $((2 * COUNT)) packets" \
  test "$(counter "$WORK/dp.log" forwarded_packets)" -ge $((2 * COUNT))
check "both legs bound through the handshake" test "$(counter "$WORK/dp.log" legs_bound)" -ge 2
check "no packet lost for want of a neighbour" \
  test "$(counter "$WORK/dp.log" drop_no_neighbour)" -eq 0
finish
