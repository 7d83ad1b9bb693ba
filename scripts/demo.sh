#!/usr/bin/env bash
# dprelay demo: two clients in their own network namespaces get an allocation from
# dprelay-control, bind to dprelay-dataplane with the disco handshake and exchange traffic and
# pings through it. Builds first if needed; removes everything it made on exit, Ctrl-C or error.
# With --wireguard, the clients are unmodified WireGuard (wireguard-go) instead, each peered
# only with its local `dprelay-peer wg` bridge: a ping and a short iperf3 run through dprelay.
# With --ipv6, client b reaches control and the relay over IPv6 while a stays on IPv4: the
# relay forwards across families.
#   scripts/demo.sh [--count N] [--pings N] [--size BYTES] [--workers N] [--wireguard|--ipv6]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COUNT=20 PINGS=5 SIZE=200 WIREGUARD=0 IPV6=0
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=$2; shift 2 ;;
    --pings) PINGS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --workers) export DP_WORKERS=$2; shift 2 ;;
    --wireguard) WIREGUARD=1; shift ;;
    --ipv6) IPV6=1; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (network namespaces, AF_XDP)" >&2; exit 1; }

"$ROOT/scripts/setup.sh" >/dev/null
DPRELAY_BIN=${DPRELAY_BIN:-$ROOT/build}
WORK=$(mktemp -d /tmp/dprelay-demo.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
source "$ROOT/scripts/lib/wireguard.sh"
cleanup() {
  topo_down
  wg_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "topology: namespaces $NS_A, $NS_B (clients) and $NS_R (relay)"
topo_up

if [ $WIREGUARD -eq 1 ]; then
  step "WireGuard through dprelay: relay, a dprelay-peer wg bridge and wireguard-go in each client namespace"
  if ! wg_pair_up; then
    for f in "$WORK"/dp.log "$WORK"/control.wg.log "$WORK"/bridge.*.log "$WORK"/wireguard-go.*.log; do
      [ -f "$f" ] && sed "s|^|   $(basename "$f")| |" "$f"
    done
    step "result: FAILED (no tunnel through the relay)"
    exit 1
  fi
  echo "dataplane on net_$DP_DRIVER; tunnel $WG_TUN_A ($NS_A) <-> $WG_TUN_B ($NS_B)"
  for side in a b; do
    echo "-- bridge $side"
    grep -E '^(wg|allocation|bound|pong) ' "$WORK/bridge.$side.log" | sed 's/^/   /'
  done
  echo "-- wg show ($NS_A)"
  ip netns exec "$NS_A" wg show "$WG_IF_A" | sed 's/^/   /'

  step "ping $WG_TUN_B through the WireGuard tunnel (and so through the relay)"
  ip netns exec "$NS_A" ping -c "$PINGS" -i 0.2 -W 2 "$WG_TUN_B" | sed 's/^/   /'

  step "iperf3 TCP for 3 s over the tunnel"
  wg_iperf_server_start
  timeout 20 ip netns exec "$NS_A" iperf3 -c "$WG_TUN_B" -p 5201 -t 3 -f m |
    grep -E 'sender|receiver' | sed 's/^/   /'

  step "dprelayctl sessions (both legs, forwarded packets)"
  "$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock" sessions | sed 's/^/   /'

  step "dprelay-dataplane counters (at stop)"
  for pid in "$BRIDGE_PID_A" "$BRIDGE_PID_B"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "$BRIDGE_PID_A" "$BRIDGE_PID_B" 2>/dev/null || true
  dataplane_stop
  grep '^counters:' "$WORK/dp.log" | sed 's/^counters: //' | tr ' ' '\n' |
    grep -E '^(rx|tx|forwarded)_|legs_bound|^drop_' | sed 's/^/   /'
  for side in a b; do
    echo "-- bridge $side: $(grep '^bridge ' "$WORK/bridge.$side.log" | cut -d' ' -f2-7)"
  done
  step "result: WireGuard ping and iperf3 through dprelay"
  exit 0
fi
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

step "dprelay-dataplane on dp0, relay $RELAY_IP:$RELAY_PORT and [$RELAY_IP6]:$RELAY_PORT"
dataplane_start "$WORK/dataplane.log" "$WORK/dataplane.sock" ||
  { cat "$WORK/dataplane.log"; exit 1; }
echo "driver net_$DP_DRIVER, pid $DP_PID, $(grep -o '[0-9]* worker(s)' "$WORK/dataplane.log")"

step "dprelay-control, allocation socket [::]:$CONTROL_PORT ($CONTROL_IP and $CONTROL_IP6)"
topo_spawn "$WORK/control.log" "$NS_R" "$CONTROL" --state_dir="$WORK/state" \
  --listen="[::]:$CONTROL_PORT" --policy="$WORK/allow.keys" \
  --dataplane_socket="$WORK/dataplane.sock" --admin_socket="$WORK/control.sock"
echo "pid $SPAWNED_PID"
sleep 1

step "ping the relay address from client a (ARP and ICMP answered by the dataplane)"
ip netns exec "$NS_A" ping -c 2 -i 0.2 -W 1 "$RELAY_IP" | sed -n '2,3p'
if [ $IPV6 -eq 1 ]; then
  step "ping the relay's IPv6 address from client b (Neighbour Discovery and ICMPv6 answered)"
  ip netns exec "$NS_B" ping -6 -c 2 -i 0.2 -W 1 "$RELAY_IP6" | sed -n '2,3p'
fi

step "clients a and b: allocate, bind, ping each other through the relay, send $COUNT packets each way"
run_peer() {  # run_peer NS KEY PEER_KEY CONTROL [FLAG...]
  local ns=$1 key=$2 peer=$3 control=$4
  shift 4
  ip netns exec "$ns" "$PEER" run --key_file="$key" --peer="$peer" \
    --control="$control" --control_key="$CONTROL_KEY" \
    --count="$COUNT" --pings="$PINGS" --size="$SIZE" "$@"
}
B_OVER=("$CONTROL_IP:$CONTROL_PORT")
[ $IPV6 -eq 1 ] && B_OVER=("[$CONTROL_IP6]:$CONTROL_PORT" --local="[$IP6_B]:0")
run_peer "$NS_A" "$WORK/a.key" "$KEY_B" "$CONTROL_IP:$CONTROL_PORT" >"$WORK/a.out" 2>&1 & PA=$!
run_peer "$NS_B" "$WORK/b.key" "$KEY_A" "${B_OVER[@]}" >"$WORK/b.out" 2>&1 & PB=$!
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
