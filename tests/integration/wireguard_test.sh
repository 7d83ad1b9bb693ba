#!/usr/bin/env bash
# Integration: real, unmodified WireGuard (wireguard-go configured with wg) in two client
# namespaces, peered only through dprelay: each WireGuard's peer endpoint is its local
# `dprelay-peer wg` bridge (scripts/lib/wireguard.sh). Asserts: ping and iperf3 (TCP both
# ways, UDP) run over the tunnel; the relay's forwarded counter lies between what the bridges
# received from it and what they sent to it; a marker sent inside the tunnel never shows in
# a capture of the relay port, which does see the relay traffic; moving one bridge to a new
# relay-facing port rebinds that leg (the relay shows the new port) and the tunnel keeps
# working. Prints the throughput and RTT figures (perf/RESULTS.md).
#   wireguard_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: wireguard_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "wireguard_test: needs root (network namespaces, TUN)"; exit 1; }
for tool in wireguard-go wg iperf3 tcpdump; do
  command -v "$tool" >/dev/null || { echo "wireguard_test: $tool missing (scripts/setup.sh)"; exit 1; }
done
WORK=$(mktemp -d /tmp/dprelay-wg.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
source "$ROOT/scripts/lib/wireguard.sh"
trap 'topo_down; wg_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

# 16 bytes, repeated by ping -p through every echo payload.
MARKER=dprelay-wg-mark!
MARKER_HEX=$(printf '%s' "$MARKER" | od -An -tx1 | tr -d ' \n')
PINGS=20
SECONDS_EACH=3
CTL=("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock")

topo_up
if ! wg_pair_up; then
  for f in "$WORK"/bridge.*.log "$WORK"/wireguard-go.*.log; do sed "s|^|  $(basename "$f")| |" "$f"; done
  check "WireGuard tunnel up through the relay" false
  finish
fi
echo "dataplane on net_$DP_DRIVER"
check "WireGuard tunnel up through the relay (bridges have pongs, tunnel pings)" true

# Captures: the relay port on the relay's side of its veth (everything to and from the
# dataplane), and the tunnel interface in ns A (where the marker must show, or the check
# below would pass for want of a marker).
topo_spawn "$WORK/tcpdump.relay.log" "$NS_R" tcpdump -i dp0b -U -s 0 -w "$WORK/relay.pcap" \
  udp port "$RELAY_PORT"
TCPDUMP_RELAY=$SPAWNED_PID
topo_spawn "$WORK/tcpdump.tunnel.log" "$NS_A" tcpdump -i "$WG_IF_A" -U -s 0 \
  -w "$WORK/tunnel.pcap" icmp
TCPDUMP_TUNNEL=$SPAWNED_PID
wg_wait_log "$WORK/tcpdump.relay.log" 'listening on' 5
wg_wait_log "$WORK/tcpdump.tunnel.log" 'listening on' 5

ip netns exec "$NS_A" ping -c "$PINGS" -i 0.2 -W 2 -s 200 -p "$MARKER_HEX" "$WG_TUN_B" \
  >"$WORK/ping.ab.out" 2>&1
sed 's/^/  ping a->b| /' "$WORK/ping.ab.out" | tail -n 3
check "ping a -> b through the tunnel: $PINGS/$PINGS answered" \
  grep -q "$PINGS packets transmitted, $PINGS received" "$WORK/ping.ab.out"
# The marker went out with the pings; the captures stop here so that they stay small.
kill -INT "$TCPDUMP_RELAY" "$TCPDUMP_TUNNEL" 2>/dev/null
wait "$TCPDUMP_RELAY" "$TCPDUMP_TUNNEL" 2>/dev/null
RELAY_CAPTURED=$(tcpdump -r "$WORK/relay.pcap" -nn 2>/dev/null | wc -l)
check "the relay-port capture saw the pings' traffic ($RELAY_CAPTURED packets)" \
  test "$RELAY_CAPTURED" -ge $((2 * PINGS))
check "the marker is inside the tunnel (capture on $WG_IF_A)" \
  grep -qaF "$MARKER" "$WORK/tunnel.pcap"
check "the marker never appears on the relay port (ciphertext only)" \
  bash -c "! grep -qaF '$MARKER' '$WORK/relay.pcap'"

ip netns exec "$NS_B" ping -c 5 -i 0.2 -W 2 "$WG_TUN_A" >"$WORK/ping.ba.out" 2>&1
check "ping b -> a through the tunnel: 5/5 answered" \
  grep -q "5 packets transmitted, 5 received" "$WORK/ping.ba.out"

check "iperf3 server listens on $WG_TUN_B:5201" wg_iperf_server_start
iperf() {  # iperf NAME ARGS...: iperf3 client in ns A against ns B, JSON in $WORK/NAME.json
  local name=$1
  shift
  timeout $((SECONDS_EACH + 15)) ip netns exec "$NS_A" iperf3 -c "$WG_TUN_B" -p 5201 \
    -t "$SECONDS_EACH" -J "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
}
iperf tcp
TCP_MBPS=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$WORK/tcp.json" 2>/dev/null)
check "iperf3 TCP a -> b over the tunnel (${TCP_MBPS:-?} Mbit/s)" \
  test "${TCP_MBPS:-0}" -gt 0
iperf tcp_reverse -R
TCPR_MBPS=$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' "$WORK/tcp_reverse.json" \
  2>/dev/null)
check "iperf3 TCP b -> a over the tunnel (${TCPR_MBPS:-?} Mbit/s)" \
  test "${TCPR_MBPS:-0}" -gt 0
UDP_RATE=${WG_UDP_RATE:-200M}
iperf udp -u -b "$UDP_RATE" -l 1300
# The receiver's figures: what crossed the tunnel, not what was offered.
read -r UDP_MBPS UDP_LOST UDP_PACKETS UDP_ARRIVED < <(jq -r '.end.sum_received |
  "\(.bits_per_second / 1e6 | floor) \(.lost_percent * 100 | round / 100) \(.packets)
   \(.packets - .lost_packets)"' "$WORK/udp.json" 2>/dev/null | tr '\n' ' '; echo)
check "iperf3 UDP a -> b over the tunnel at $UDP_RATE offered (${UDP_MBPS:-?} Mbit/s, ${UDP_LOST:-?}% lost)" \
  test "${UDP_MBPS:-0}" -gt 0

# Move side a's bridge to a new relay-facing port: it must notice, rebind (a new
# generation, the full handshake) and the relay must follow.
OLD_LOCAL=$(sed -n 's/^bound .* local=\([^ ]*\).*/\1/p' "$WORK/bridge.a.log" | tail -n 1)
leg_a_endpoint() {
  "${CTL[@]}" --json sessions | jq -r --arg k "$KEY_A" \
    '.sessions[].legs[] | select(.disco_key == $k) | .endpoint' | tail -n 1
}
BEFORE=$(leg_a_endpoint)
check "the relay has side a bound at its bridge's address ($BEFORE)" test "$BEFORE" = "$OLD_LOCAL"
kill -USR1 "$BRIDGE_PID_A"
wg_wait_log "$WORK/bridge.a.log" '^rebound .*reason=local_changed' 10
NEW_LOCAL=$(sed -n 's/^rebound .* local=\([^ ]*\) .*reason=local_changed.*/\1/p' \
  "$WORK/bridge.a.log" | tail -n 1)
check "side a's bridge rebound from a new port ($OLD_LOCAL -> ${NEW_LOCAL:-none})" \
  test -n "$NEW_LOCAL" -a "$NEW_LOCAL" != "$OLD_LOCAL"
ip netns exec "$NS_A" ping -c 5 -i 0.2 -W 2 "$WG_TUN_B" >"$WORK/ping.moved.out" 2>&1
check "ping a -> b after the move: 5/5 answered" \
  grep -q "5 packets transmitted, 5 received" "$WORK/ping.moved.out"
AFTER=$(leg_a_endpoint)
check "the relay shows side a's leg rebound to $NEW_LOCAL (is $AFTER)" test "$AFTER" = "$NEW_LOCAL"

for pid in "$BRIDGE_PID_A" "$BRIDGE_PID_B"; do kill -TERM "$pid" 2>/dev/null; done
wait "$BRIDGE_PID_A" "$BRIDGE_PID_B" 2>/dev/null
for side in a b; do grep -E '^(bound|rebound|pong|wg|allocation|bridge) ' "$WORK/bridge.$side.log" |
  sed "s/^/  bridge $side| /"; done
dataplane_stop
sed -n '/^counters:/,$p' "$WORK/dp.log" | sed 's/^/  dp| /'

FORWARDED=$(counter "$WORK/dp.log" forwarded_packets)
SENT=$(( $(wg_bridge_stat a relayed_sent) + $(wg_bridge_stat b relayed_sent) ))
RECEIVED=$(( $(wg_bridge_stat a relayed_received) + $(wg_bridge_stat b relayed_received) ))
check "relay forwarded ($FORWARDED) <= what the bridges sent it ($SENT)" \
  test "$FORWARDED" -le "$SENT"
check "relay forwarded ($FORWARDED) >= what the bridges received from it ($RECEIVED)" \
  test "$FORWARDED" -ge "$RECEIVED"
for side in a b; do
  TO=$(wg_bridge_stat $side to_wg) FROM=$(wg_bridge_stat $side to_relay)
  check "bridge $side carried WireGuard both ways (to relay $FROM, to WireGuard $TO)" \
    test "$TO" -gt "$PINGS" -a "$FROM" -gt "$PINGS"
done
check "relay forwarded ($FORWARDED) >= the UDP datagrams iperf3 got through (${UDP_ARRIVED:-?})" \
  test "$FORWARDED" -ge "${UDP_ARRIVED:-999999999}"
check "side a's handshakes: first bind plus the move (rebinds_local_changed=1)" \
  test "$(wg_bridge_stat a rebinds_local_changed)" -eq 1
check "the relay bound three legs: two, then side a again ($(counter "$WORK/dp.log" legs_bound))" \
  test "$(counter "$WORK/dp.log" legs_bound)" -ge 3

read -r RTT_MIN RTT_AVG RTT_MAX < <(sed -n 's|^rtt min/avg/max/mdev = \([^/]*\)/\([^/]*\)/\([^/]*\)/.*|\1 \2 \3|p' \
  "$WORK/ping.ab.out")
echo "figure: wireguard ping rtt_min=${RTT_MIN:-?}ms rtt_avg=${RTT_AVG:-?}ms rtt_max=${RTT_MAX:-?}ms ($PINGS pings, 200 B)"
echo "figure: wireguard iperf3 tcp a->b=${TCP_MBPS:-?}Mbit/s b->a=${TCPR_MBPS:-?}Mbit/s (${SECONDS_EACH}s each)"
echo "figure: wireguard iperf3 udp offered=$UDP_RATE received=${UDP_MBPS:-?}Mbit/s lost=${UDP_LOST:-?}% sent=${UDP_PACKETS:-?} arrived=${UDP_ARRIVED:-?} (1300 B, ${SECONDS_EACH}s)"
echo "figure: relay forwarded_packets=$FORWARDED driver=net_$DP_DRIVER; a->b datagrams: from wireguard $(wg_bridge_stat a wg_received), to relay $(wg_bridge_stat a to_relay), from relay $(wg_bridge_stat b from_relay), to wireguard $(wg_bridge_stat b to_wg)"
finish
