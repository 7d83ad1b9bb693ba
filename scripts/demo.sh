#!/usr/bin/env bash
# dprelay demo: two clients in their own network namespaces get an allocation from
# dprelay-control, bind to dprelay-dataplane with the disco handshake and exchange traffic and
# pings through it. Builds first if needed; removes everything it made on exit, Ctrl-C or error.
#   scripts/demo.sh [--count N] [--pings N] [--size BYTES] [--workers N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=20 PINGS=5 SIZE=200
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --pings) PINGS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --workers) export DP_WORKERS=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "demo: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (network namespaces, AF_XDP)" >&2; exit 1; }

"$ROOT/scripts/setup.sh" >/dev/null
DPRELAY_BIN=${DPRELAY_BIN:-$ROOT/build}
WORK=$(mktemp -d /tmp/dprelay-demo.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
cleanup() {
  topo_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "topology: namespaces $NS_A, $NS_B (clients) and $NS_R (relay)"
topo_up
PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"

step "keys"
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/allow.keys"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)
echo "client a:    $KEY_A"
echo "client b:    $KEY_B"
echo "control key: $CONTROL_KEY"

step "dprelay-dataplane on dp0, relay $RELAY_IP:$RELAY_PORT"
dataplane_start "$WORK/dataplane.log" "$WORK/dataplane.sock" ||
  { cat "$WORK/dataplane.log"; exit 1; }
echo "driver net_$DP_DRIVER, pid $DP_PID, $(grep -o '[0-9]* worker(s)' "$WORK/dataplane.log")"

step "dprelay-control, allocation socket $CONTROL_IP:$CONTROL_PORT"
topo_spawn "$WORK/control.log" "$NS_R" "$CONTROL" --state_dir="$WORK/state" \
  --listen="$CONTROL_IP:$CONTROL_PORT" --policy="$WORK/allow.keys" \
  --dataplane_socket="$WORK/dataplane.sock" --admin_socket="$WORK/control.sock"
echo "pid $SPAWNED_PID"
sleep 1

step "ping the relay address from client a (ARP and ICMP answered by the dataplane)"
ip netns exec "$NS_A" ping -c 2 -i 0.2 -W 1 "$RELAY_IP" | sed -n '2,3p'

step "clients a and b: allocate, bind, ping each other through the relay, send $COUNT packets each way"
run_peer() {
  local ns=$1 key=$2 peer=$3
  ip netns exec "$ns" "$PEER" run --key_file="$key" --peer="$peer" \
    --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" \
    --count="$COUNT" --pings="$PINGS" --size="$SIZE"
}
run_peer "$NS_A" "$WORK/a.key" "$KEY_B" >"$WORK/a.out" 2>&1 & PA=$!
run_peer "$NS_B" "$WORK/b.key" "$KEY_A" >"$WORK/b.out" 2>&1 & PB=$!
rc_a=0 rc_b=0
wait $PA || rc_a=$?
wait $PB || rc_b=$?
echo "-- client a (exit $rc_a)"; sed 's/^/   /' "$WORK/a.out"
echo "-- client b (exit $rc_b)"; sed 's/^/   /' "$WORK/b.out"

step "dprelay-control log"
sed 's/^/   /' "$WORK/control.log"

step "dprelay-dataplane counters and sessions (at stop)"
dataplane_stop
grep '^counters:' "$WORK/dataplane.log" | sed 's/^counters: //' | tr ' ' '\n' | sed 's/^/   /'
grep '^session' "$WORK/dataplane.log" | sed 's/^/   /' || true

if [ $rc_a -eq 0 ] && [ $rc_b -eq 0 ]; then
  step "result: data relayed both ways, RTTs above"
else
  step "result: FAILED (client a exit $rc_a, client b exit $rc_b)"
  exit 1
fi
