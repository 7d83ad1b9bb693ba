#!/usr/bin/env bash
# Integration: the AWS NLB deployment rehearsed in namespaces (scripts/lib/nlb_topology.sh).
# Clients know only the NLB's static IP:port; the NLB forwards to the relay's private address
# keeping the client's source, and the replies go back through it. The relay namespace routes
# as an AWS instance does: default route on the management NIC, a source policy rule for the
# relay address, so control (listening on 0.0.0.0) must answer from the address each request
# came to. Control runs static-only with the NLB endpoint. Asserts: allocation (through the NLB and the exception path) advertises
# only the NLB endpoint; bind and data through the NLB work and the relay sees the clients' real
# addresses; the NLB's health checks (HTTP and TCP to the relay address, served by the kernel
# behind the exception interface, and HTTP to control's health endpoint on the management
# address) pass while the dataplane runs and fail when it stops (503 with the reason from
# control); everything is healthy again after a restart. A real WireGuard tunnel (wireguard-go
# through `dprelay-peer wg` bridges) runs through the NLB too: ping both ways and iperf3.
#   nlb_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: nlb_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "nlb_test: needs root (network namespaces)"; exit 1; }
for tool in jq curl nft; do
  command -v "$tool" >/dev/null || { echo "nlb_test: needs $tool (scripts/setup.sh installs it)"; exit 1; }
done
[ -c /dev/net/tun ] || { echo "nlb_test: needs /dev/net/tun (the exception interface is a TAP)"; exit 1; }
WORK=$(mktemp -d /tmp/dprelay-nlb.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
source "$ROOT/scripts/lib/nlb_topology.sh"
source "$ROOT/scripts/lib/wireguard.sh"
trap 'topo_down; wg_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

source "$ROOT/tests/integration/checks.sh"

COUNT=50
HEALTH_PORT=8080
PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
CTL=("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock")
NLB_EP="$NLB_IP:$RELAY_PORT"
export DP_EXTRA_FLAGS="--gateway=$NLB_PRIV --exception_iface=$EXC_IFACE"

nlb_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)

# The NLB's health checks, from its private address as NLB sends them. Each prints what it saw.
http_check() {  # http_check URL: prints "<status> <body>"
  ip netns exec "$NS_N" curl -s -m 2 -o "$WORK/body" -w '%{http_code}' "$1" 2>/dev/null
  echo " $(tr -d '\n' <"$WORK/body" 2>/dev/null)"
}
tcp_check() {  # tcp_check IP PORT: connects and closes, as an NLB TCP health check does
  ip netns exec "$NS_N" timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
healthy_within() {  # healthy_within SECONDS URL: 200 within the time
  local i
  for i in $(seq $(($1 * 5))); do
    [ "$(http_check "$2" | cut -d' ' -f1)" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}
EXC_URL="http://$RELAY_IP:$HEALTH_PORT/healthz"   # through the NIC and the exception path
MGMT_URL="http://$MGMT_R:$HEALTH_PORT/healthz"    # control's endpoint on the management NIC

start_relay() {  # start_relay TAG
  if ! dataplane_start "$WORK/dp.$1.log" "$WORK/dp.sock"; then
    cat "$WORK/dp.$1.log"
    return 1
  fi
  nlb_relay_routes
}

# A real WireGuard tunnel through the NLB: the bridges allocate at the NLB's allocation port
# and bind at its relay endpoint (scripts/lib/wireguard.sh), with the clients' existing keys
# (the pair gets its existing endpoint back).
wireguard_through_nlb() {
  WG_CONTROL="$NLB_IP:$CONTROL_PORT"
  if ! wg_tunnel_up; then
    sed 's/^/  bridge a| /' "$WORK/bridge.a.log"
    sed 's/^/  bridge b| /' "$WORK/bridge.b.log"
    check "WireGuard through the NLB: tunnel up" false
    return
  fi
  check "WireGuard through the NLB: both bridges bound at the NLB endpoint" \
    bash -c "grep -q '^bound .*relay=$NLB_EP' '$WORK/bridge.a.log' && grep -q '^bound .*relay=$NLB_EP' '$WORK/bridge.b.log'"
  check "WireGuard through the NLB: ping both ways" bash -c \
    "ip netns exec '$NS_A' ping -c 3 -i 0.2 -W 2 -q '$WG_TUN_B' && ip netns exec '$NS_B' ping -c 3 -i 0.2 -W 2 -q '$WG_TUN_A'"
  wg_iperf_server_start || { check "WireGuard through the NLB: iperf3 server" false; return; }
  ip netns exec "$NS_A" timeout 20 iperf3 -c "$WG_TUN_B" -p 5201 -t 2 -J >"$WORK/iperf.nlb.json" 2>&1
  local bps
  bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$WORK/iperf.nlb.json" 2>/dev/null)
  echo "figure: wireguard through the NLB iperf3 tcp ${bps%.*} bit/s"
  check "WireGuard through the NLB: iperf3 TCP carries data (${bps%.*} bit/s)" \
    bash -c "[ '${bps%.*}' -gt 1000000 ]"
}

if ! start_relay 1; then
  check "dataplane starts with the exception interface" false
  finish
fi
echo "dataplane on net_$DP_DRIVER"
check "the exception interface has the relay address and the NIC's MAC" \
  bash -c "ip -n '$NS_R' -4 addr show dev '$EXC_IFACE' | grep -q 'inet $RELAY_IP/24' &&
           [ \"\$(ip -n '$NS_R' -j link show dev '$EXC_IFACE' | jq -r '.[0].address')\" = \
             \"\$(grep -o 'mac [0-9a-f:]*' '$WORK/dp.1.log' | head -n1 | cut -d' ' -f2)\" ]"
check "the exception interface has the relay's IPv6 address too, without DAD" \
  bash -c "ip -n '$NS_R' -6 addr show dev '$EXC_IFACE' | grep -Eq 'inet6 $RELAY_IP6/64 scope global *$'"
check "ns R routes as an AWS instance: default via the management NIC, relay address by rule" \
  bash -c "ip -n '$NS_R' route show default | grep -q 'via $MGMT_N dev mgmt0' &&
           ip -n '$NS_R' rule show | grep -q 'from $RELAY_IP lookup $NLB_TABLE' &&
           ip -n '$NS_R' route show table '$NLB_TABLE' | grep -q 'default via $NLB_PRIV dev $EXC_IFACE'"
check "control starts static-only with the NLB endpoint" control_start 1 "$WORK/policy" \
  --listen="0.0.0.0:$CONTROL_PORT" --static_only --static_endpoints="$NLB_EP" \
  --health_listen="0.0.0.0:$HEALTH_PORT" --metrics_listen="$MGMT_R:9100"

# Health while running: through the exception path (HTTP and TCP) and on the management NIC.
check "NLB HTTP health check via the relay address: 200 ok" healthy_within 5 "$EXC_URL"
http_check "$EXC_URL" | sed 's/^/  nlb-health| /'
check "NLB TCP health check via the relay address connects" tcp_check "$RELAY_IP" "$HEALTH_PORT"
check "health endpoint on the management address: 200 ok" \
  bash -c "[ \"\$(ip netns exec '$NS_N' curl -s -m 2 '$MGMT_URL')\" = ok ]"
check "ping of the relay address is answered by the dataplane" \
  ip netns exec "$NS_N" ping -c 1 -W 2 "$RELAY_IP"

# Allocation (UDP through the NLB to the exception path), bind and data through the NLB.
for side in a b; do
  if [ "$side" = a ]; then ns=$NS_A key=$WORK/a.key peer=$KEY_B; else ns=$NS_B key=$WORK/b.key peer=$KEY_A; fi
  ip netns exec "$ns" timeout 40 "$PEER" run --key_file="$key" --peer="$peer" \
    --control="$NLB_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" \
    --count="$COUNT" --pings=3 --timeout=30s >"$WORK/$side.out" 2>&1 &
  eval "P_$side=\$!"
done
rc_a=0 rc_b=0
wait "$P_a" || rc_a=$?
wait "$P_b" || rc_b=$?
sed 's/^/  a| /' "$WORK/a.out"
sed 's/^/  b| /' "$WORK/b.out"
check "client a exchanges $COUNT packets intact through the NLB (exit 0)" test "$rc_a" -eq 0
check "client b exchanges $COUNT packets intact through the NLB (exit 0)" test "$rc_b" -eq 0
check "the NLB's source check dropped nothing (every reply left the right NIC with its address)" \
  test "$(nlb_source_check_drops)" -eq 0
check "allocation advertises only the NLB endpoint" \
  bash -c "grep -q ' addrs=$NLB_EP bind_lifetime' '$WORK/a.out' && grep -q ' addrs=$NLB_EP bind_lifetime' '$WORK/b.out'"
check "the clients bound through the NLB endpoint" \
  bash -c "grep -q 'relay=$NLB_EP' '$WORK/a.out' && grep -q 'relay=$NLB_EP' '$WORK/b.out'"
"${CTL[@]}" sessions | sed 's/^/  ctl| /'
check "the relay bound the clients' real addresses (source kept by the NLB; the MAC verified)" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json sessions | jq -e '.sessions[0].legs | map(.endpoint | split(\":\")[0]) | sort == [\"$PUB_A\", \"$PUB_B\"]' >/dev/null"
check "metrics on the management NIC count the exception traffic" \
  bash -c "ip netns exec '$NS_N' curl -s -m 2 http://$MGMT_R:9100/metrics | grep -Eq '^dprelay_dataplane_exception_to_kernel_total [1-9]'"
wireguard_through_nlb

# The dataplane stops: every health check fails; control says why.
dataplane_stop
sed -n 's/^counters: /  dp counters| /p' "$WORK/dp.1.log" | tr ' ' '\n' | grep -E 'exception|forwarded_packets|drop_' | sed 's/^/  dp| /'
check "dataplane forwarded both clients' traffic ($((2 * COUNT))+ packets)" \
  test "$(counter "$WORK/dp.1.log" forwarded_packets)" -ge $((2 * COUNT))
check "the exception path carried traffic both ways" \
  bash -c "[ $(counter "$WORK/dp.1.log" exception_to_kernel) -gt 0 ] && [ $(counter "$WORK/dp.1.log" exception_from_kernel) -gt 0 ]"
check "nothing for the relay address was dropped as not_relay_port or unsupported_l4" \
  bash -c "[ $(counter "$WORK/dp.1.log" drop_not_relay_port) -eq 0 ] && [ $(counter "$WORK/dp.1.log" drop_unsupported_l4) -eq 0 ]"
sleep 0.5
check "NLB HTTP health check via the relay address fails (no 200)" \
  bash -c "[ \"\$(ip netns exec '$NS_N' curl -s -m 2 -o /dev/null -w '%{http_code}' '$EXC_URL')\" != 200 ]"
check "NLB TCP health check via the relay address fails" bash -c "! ip netns exec '$NS_N' timeout 2 bash -c 'exec 3<>/dev/tcp/$RELAY_IP/$HEALTH_PORT' 2>/dev/null"
http_check "$MGMT_URL" | sed 's/^/  mgmt-health| /'
check "health endpoint: 503 'dataplane not connected'" \
  bash -c "[ \"\$(ip netns exec '$NS_N' curl -s -m 2 -w ' %{http_code}' '$MGMT_URL')\" = 'dataplane not connected
 503' ]"

# Back again: control reconnects and reinstalls; every check is healthy again.
if start_relay 2; then
  check "after a dataplane restart the health check via the relay address is 200 again" \
    healthy_within 10 "$EXC_URL"
  check "and on the management address" healthy_within 5 "$MGMT_URL"
else
  check "the dataplane restarts" false
fi
finish
