# Network-namespace topology shared by the demo and the integration tests (source it).
#
#   ns A (client a, 10.77.0.11, fd77::11) ─┐
#   ns B (client b, 10.77.0.12, fd77::12) ─┼─ br0 in ns R (10.77.0.2, fd77::2: control)
#   dp0 in ns R (DPDK, no kernel IP; relay 10.77.0.1:40000 and [fd77::1]:40000) ─┘
#
# Everything is named with a per-run suffix and removed by topo_down, which callers run from a
# trap so that failures and Ctrl-C clean up too. Processes are tracked by PID.

TOPO_SUFFIX=${TOPO_SUFFIX:-$$}
NS_R="dpr-r-$TOPO_SUFFIX"
NS_A="dpr-a-$TOPO_SUFFIX"
NS_B="dpr-b-$TOPO_SUFFIX"
RELAY_IP=10.77.0.1
CONTROL_IP=10.77.0.2
IP_A=10.77.0.11
IP_B=10.77.0.12
RELAY_IP6=fd77::1
CONTROL_IP6=fd77::2
IP6_A=fd77::11
IP6_B=fd77::12
RELAY_PORT=40000
CONTROL_PORT=40001
TOPO_PIDS=()
TOPO_EXTRA_NS=()  # further namespaces a caller made (e.g. nlb_topology.sh); topo_down removes them

topo_up() {
  ip netns add "$NS_R"
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip -n "$NS_R" link add br0 type bridge
  ip -n "$NS_R" link set br0 up
  ip -n "$NS_R" addr add "$CONTROL_IP/24" dev br0
  # nodad: the addresses are usable at once (no duplicate address detection delay).
  ip -n "$NS_R" addr add "$CONTROL_IP6/64" dev br0 nodad
  ip -n "$NS_R" link set lo up
  # Created straight into the namespaces: nothing appears in the host's namespace.
  # One queue pair per dataplane worker (DP_WORKERS): net_af_xdp binds one socket per queue.
  local q=$(( ${DP_WORKERS:-0} > 0 ? ${DP_WORKERS:-0} : 1 ))
  ip link add dp0 netns "$NS_R" numtxqueues "$q" numrxqueues "$q" type veth \
    peer name dp0b netns "$NS_R" numtxqueues "$q" numrxqueues "$q"
  ip link add eth0 netns "$NS_A" type veth peer name a0 netns "$NS_R"
  ip link add eth0 netns "$NS_B" type veth peer name b0 netns "$NS_R"
  for port in dp0b a0 b0; do
    ip -n "$NS_R" link set "$port" master br0
    ip -n "$NS_R" link set "$port" up
  done
  ip -n "$NS_R" link set dp0 up
  for ns_ip in "$NS_A:$IP_A:$IP6_A" "$NS_B:$IP_B:$IP6_B"; do
    local ns=${ns_ip%%:*} rest=${ns_ip#*:}
    local addr=${rest%%:*} addr6=${rest#*:}
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" addr add "$addr6/64" dev eth0 nodad
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    # veth leaves UDP checksums to "hardware" (CHECKSUM_PARTIAL); a DPDK port receives them
    # unfinished. Real NICs finish them; here the client kernels must.
    ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 || true
  done
  # Bridge ports forward at once (no STP learning delay).
  ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=0
}

# topo_spawn LOGFILE NS CMD...: start CMD in NS in the background; its PID is recorded for
# topo_down and left in SPAWNED_PID. Call it directly, not in $(...): a subshell would lose
# the record.
topo_spawn() {
  local log=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  SPAWNED_PID=$!
  TOPO_PIDS+=("$SPAWNED_PID")
}

# topo_pair_run PEER WORK COUNT: `dprelay-peer run` for client a (ns A, WORK/a.key) and client
# b (ns B, WORK/b.key) at once, peered with each other (KEY_A, KEY_B) through control
# (CONTROL_IP:CONTROL_PORT, CONTROL_KEY), COUNT packets each way; output in WORK/a.out and
# WORK/b.out. Returns 0 only if both exit 0 (every packet arrived intact).
topo_pair_run() {
  local peer_bin=$1 work=$2 count=$3 side ns key peer rc=0
  local -A pid
  for side in a b; do
    if [ "$side" = a ]; then ns=$NS_A key=$work/a.key peer=$KEY_B; else ns=$NS_B key=$work/b.key peer=$KEY_A; fi
    ip netns exec "$ns" "$peer_bin" run --key_file="$key" --peer="$peer" \
      --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" \
      --count="$count" --pings=1 --timeout=20s >"$work/$side.out" 2>&1 &
    pid[$side]=$!
  done
  wait "${pid[a]}" || rc=1
  wait "${pid[b]}" || rc=1
  return $rc
}

# topo_stop PID...: SIGTERM to each (by PID, never by name), then reap them.
topo_stop() {
  local pid
  for pid in "$@"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
}

topo_down() {
  topo_stop "${TOPO_PIDS[@]:-}"
  TOPO_PIDS=()
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  ip netns del "$NS_R" 2>/dev/null || true
  local ns
  for ns in "${TOPO_EXTRA_NS[@]:-}"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  done
}

# dataplane_start LOG SOCKET: the relay on dp0, net_af_xdp, else net_af_packet (DP_DRIVERS
# overrides the list, e.g. DP_DRIVERS=af_packet; DP_EXTRA_FLAGS adds flags of ours, e.g.
# "--gateway=... --exception_iface=..."; DP_EXTRA_EAL and DP_HUGE_DIR: EAL options, see
# below). Sets DP_PID and DP_DRIVER.
dataplane_start() {
  local log=$1 sock=$2
  # DP_WORKERS=N: the main lcore plus N workers, spread over the machine's cores (a 2-core
  # machine oversubscribes them; the idle sleep keeps that fair). Default: one lcore doing both.
  local lcores="0"
  if [ "${DP_WORKERS:-0}" -gt 0 ]; then
    local cpus=$(( $(nproc) - 1 )) i
    lcores="0@0"
    for i in $(seq 1 "$DP_WORKERS"); do lcores+=",$i@$(( i % (cpus + 1) ))"; done
  fi
  # Without hugepages or a shared config by default. DP_HUGE_DIR=DIR (a mounted hugetlbfs):
  # hugepages from there and a shared config, which a secondary process such as dpdk-dumpcap
  # needs to attach (docs/CAPTURE.md). DP_EXTRA_EAL adds EAL options, e.g. --file-prefix=NAME
  # for a runtime dir (telemetry socket) of the run's own.
  local eal=(--lcores="$lcores" --no-pci --log-level=*:warning)
  if [ -n "${DP_HUGE_DIR:-}" ]; then
    eal+=(--huge-dir="$DP_HUGE_DIR")
  else
    eal+=(--no-huge --no-shconf -m 512)
  fi
  eal+=(${DP_EXTRA_EAL:-})
  local ours=(--address="$RELAY_IP/24,$RELAY_IP6/64" --relay_port="$RELAY_PORT" --ipc_socket="$sock"
              --idle_sleep_us="${DP_IDLE_SLEEP_US:-20}" ${DP_EXTRA_FLAGS:-})
  local driver
  for driver in ${DP_DRIVERS:-af_xdp af_packet}; do
    topo_spawn "$log" "$NS_R" "$DPRELAY_BIN/dataplane/dprelay-dataplane" "${eal[@]}" -- \
      --port="$driver:dp0" "${ours[@]}"
    DP_PID=$SPAWNED_PID
    local i
    for i in $(seq 50); do
      grep -q "dataplane running" "$log" 2>/dev/null && { DP_DRIVER=$driver; return 0; }
      kill -0 "$DP_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM "$DP_PID" 2>/dev/null || true
    wait "$DP_PID" 2>/dev/null || true
    echo "dataplane: net_$driver did not start ($(grep -v '^ ' "$log" | tail -n 1)); trying the next driver" >&2
  done
  return 1
}

# control_start TAG POLICY [FLAG...]: dprelay-control in the relay namespace (allocation
# socket $CONTROL_IP:$CONTROL_PORT, state $WORK/state, IPC $WORK/dp.sock, admin socket
# $WORK/control.sock, log $WORK/control.TAG.log) with any extra flags. Sets CONTROL_PID and
# returns once dprelayctl reports the dataplane ready (fails after 10 s).
control_start() {
  local tag=$1 policy=$2
  shift 2
  topo_spawn "$WORK/control.$tag.log" "$NS_R" "$DPRELAY_BIN/control/dprelay-control" \
    --state_dir="$WORK/state" --listen="$CONTROL_IP:$CONTROL_PORT" --policy="$policy" \
    --dataplane_socket="$WORK/dp.sock" --admin_socket="$WORK/control.sock" "$@"
  CONTROL_PID=$SPAWNED_PID
  local i state
  for i in $(seq 100); do
    state=$("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock" --json status \
      2>/dev/null | jq -r .dataplane.state)
    [ "$state" = ready ] && return 0
    sleep 0.1
  done
  return 1
}

# dataplane_stop: SIGINT, wait; its final counters and sessions are at the end of its log.
dataplane_stop() {
  kill -INT "$DP_PID" 2>/dev/null || true
  wait "$DP_PID" 2>/dev/null || true
}

# counter LOG NAME: a value from the dataplane's final "counters:" line (0 if absent).
counter() {
  local v
  v=$(grep '^counters:' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p")
  echo "${v:-0}"
}
