# WireGuard through dprelay, shared by tests/integration/wireguard_test.sh and
# `scripts/demo.sh --wireguard` (source it after topology.sh; needs $WORK and $DPRELAY_BIN).
#
#   ns A: wireguard-go (10.99.0.1, UDP 51820) <-> dprelay-peer wg (127.0.0.1:51821) ─┐
#   ns B: wireguard-go (10.99.0.2, UDP 51820) <-> dprelay-peer wg (127.0.0.1:51821) ─┤
#                                           relay 10.77.0.1:40000 in ns R (topology.sh)
#
# Each WireGuard's only peer endpoint is its local bridge: the tunnel can only go through
# the relay. Userspace WireGuard (wireguard-go) because the kernel has no WireGuard module.
# Every process is started with topo_spawn, so topo_down ends it by PID.

# wireguard-go's control socket is /var/run/wireguard/<ifname>.sock, which every network
# namespace shares: interface names carry the run's suffix (at most 15 characters).
WG_IF_A="dprwa$TOPO_SUFFIX"
WG_IF_B="dprwb$TOPO_SUFFIX"
WG_TUN_A=10.99.0.1
WG_TUN_B=10.99.0.2
WG_LISTEN_PORT=51820
WG_BRIDGE_PORT=51821
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

# wg_side_vars SIDE: NS, IF, TUN, PEER_TUN, KEY (dprelay key file), PEER_KEY for side a or b.
wg_side_vars() {
  case "$1" in
    a) NS=$NS_A IF=$WG_IF_A TUN=$WG_TUN_A PEER_TUN=$WG_TUN_B KEY=$WORK/a.key PEER_KEY=$KEY_B ;;
    b) NS=$NS_B IF=$WG_IF_B TUN=$WG_TUN_B PEER_TUN=$WG_TUN_A KEY=$WORK/b.key PEER_KEY=$KEY_A ;;
    *) echo "wg_side_vars: side '$1' is not a or b" >&2; return 1 ;;
  esac
}

# wg_relay_start: dprelay keys for both bridges, the dataplane and control (allow-list of
# the two keys). Sets KEY_A, KEY_B, CONTROL_KEY, DP_PID, DP_DRIVER, CONTROL_PID; the
# dataplane logs to $WORK/dp.log.
wg_relay_start() {
  local peer="$DPRELAY_BIN/client/dprelay-peer"
  KEY_A=$("$peer" genkey --key_file="$WORK/a.key") || return 1
  KEY_B=$("$peer" genkey --key_file="$WORK/b.key") || return 1
  printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/allow.keys"
  CONTROL_KEY=$("$DPRELAY_BIN/control/dprelay-control" --state_dir="$WORK/state" \
    --print_public_key) || return 1
  dataplane_start "$WORK/dp.log" "$WORK/dp.sock" || { cat "$WORK/dp.log" >&2; return 1; }
  control_start wg "$WORK/allow.keys" || { cat "$WORK/control.wg.log" >&2; return 1; }
}

# wg_bridge_start SIDE [FLAG...]: `dprelay-peer wg` in the side's namespace, listening for
# its WireGuard on 127.0.0.1:$WG_BRIDGE_PORT, allocating at $WG_CONTROL (default: control's
# allocation socket in the relay namespace); log $WORK/bridge.SIDE.log, PID in BRIDGE_PID_A/B.
wg_bridge_start() {
  local side=$1 NS IF TUN PEER_TUN KEY PEER_KEY
  shift
  wg_side_vars "$side" || return 1
  topo_spawn "$WORK/bridge.$side.log" "$NS" "$DPRELAY_BIN/client/dprelay-peer" wg \
    --key_file="$KEY" --peer="$PEER_KEY" --control="${WG_CONTROL:-$CONTROL_IP:$CONTROL_PORT}" \
    --control_key="$CONTROL_KEY" --wg_listen="127.0.0.1:$WG_BRIDGE_PORT" "$@"
  printf -v "BRIDGE_PID_${side^^}" '%s' "$SPAWNED_PID"
}

# wg_wait_log FILE PATTERN SECONDS: until an extended regex matches a line of FILE.
wg_wait_log() {
  local i
  for i in $(seq $(( $3 * 10 ))); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# wg_tunnel_start SIDE [WG_SET_ARG...]: unmodified wireguard-go in the side's namespace
# (foreground, PID in WGGO_PID_A/B), configured with wg: a fresh key, UDP $WG_LISTEN_PORT,
# one peer (the other side) whose endpoint is the local bridge; tunnel address $TUN/24.
# Needs the other side's public WireGuard key in $WORK/wg-OTHER.pub (wg_keys).
wg_tunnel_start() {
  local side=$1 other NS IF TUN PEER_TUN KEY PEER_KEY
  shift
  wg_side_vars "$side" || return 1
  other=$([ "$side" = a ] && echo b || echo a)
  topo_spawn "$WORK/wireguard-go.$side.log" "$NS" wireguard-go -f "$IF"
  printf -v "WGGO_PID_${side^^}" '%s' "$SPAWNED_PID"
  local i
  for i in $(seq 50); do
    [ -S "/var/run/wireguard/$IF.sock" ] && break
    sleep 0.1
  done
  ip netns exec "$NS" wg set "$IF" private-key "$WORK/wg-$side.key" \
    listen-port "$WG_LISTEN_PORT" peer "$(cat "$WORK/wg-$other.pub")" \
    allowed-ips "$PEER_TUN/32" endpoint "127.0.0.1:$WG_BRIDGE_PORT" "$@" || return 1
  ip -n "$NS" addr add "$TUN/24" dev "$IF" || return 1
  ip -n "$NS" link set "$IF" up
}

# wg_keys: WireGuard key pairs for both sides in $WORK/wg-{a,b}.{key,pub} (mode 0600).
wg_keys() {
  local side
  for side in a b; do
    (umask 077 && wg genkey >"$WORK/wg-$side.key") || return 1
    wg pubkey <"$WORK/wg-$side.key" >"$WORK/wg-$side.pub" || return 1
  done
}

# wg_pair_up: relay, then the tunnel (wg_tunnel_up).
wg_pair_up() {
  wg_relay_start || return 1
  wg_tunnel_up
}

# wg_tunnel_up: both bridges (side a is told its WireGuard's address, side b learns it from
# the first datagram), both tunnels, on a running relay. Returns once both bridges have a
# pong through the relay and WireGuard has completed its handshake (a ping through the
# tunnel answers).
wg_tunnel_up() {
  wg_bridge_start a --wg_endpoint="127.0.0.1:$WG_LISTEN_PORT" || return 1
  wg_bridge_start b || return 1
  wg_wait_log "$WORK/bridge.a.log" '^pong from' 20 &&
    wg_wait_log "$WORK/bridge.b.log" '^pong from' 20 ||
    { echo "wg_pair_up: the bridges found no path through the relay" >&2; return 1; }
  wg_keys || return 1
  wg_tunnel_start a || return 1
  # Side b's bridge learns its WireGuard from the first datagram WireGuard sends: the
  # keepalive makes it send one as soon as the interface is up.
  wg_tunnel_start b persistent-keepalive 25 || return 1
  local i
  for i in $(seq 20); do
    ip netns exec "$NS_A" ping -c 1 -W 1 -q "$WG_TUN_B" >/dev/null 2>&1 && return 0
  done
  echo "wg_pair_up: no ping through the tunnel after 20 tries" >&2
  return 1
}

# wg_iperf_server_start: iperf3 server on side b's tunnel address, port 5201 (PID in
# IPERF_PID); returns once it listens.
wg_iperf_server_start() {
  topo_spawn "$WORK/iperf3.server.log" "$NS_B" iperf3 -s -B "$WG_TUN_B" -p 5201
  IPERF_PID=$SPAWNED_PID
  local i
  for i in $(seq 50); do
    [ -n "$(ip netns exec "$NS_B" ss -Hltn 'sport = :5201')" ] && return 0
    sleep 0.1
  done
  echo "wg_iperf_server_start: iperf3 does not listen ($(cat "$WORK/iperf3.server.log"))" >&2
  return 1
}

# wg_down: what topo_down cannot know about: wireguard-go's sockets, if it died uncleanly.
wg_down() {
  rm -f "/var/run/wireguard/$WG_IF_A.sock" "/var/run/wireguard/$WG_IF_B.sock"
}

# wg_bridge_stat SIDE NAME: a counter from the bridge's last "bridge ..." line (after it
# stopped), 0 if absent.
wg_bridge_stat() {
  local v
  v=$(grep '^bridge ' "$WORK/bridge.$1.log" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p")
  echo "${v:-0}"
}
