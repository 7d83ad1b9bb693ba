#!/usr/bin/env bash
# Integration: what an operator does with dprelayctl against the real processes. Static-only
# mode (the AWS NLB case) advertises only the static endpoints; `set static-endpoints` replaces
# them at run time and survives a control restart; a malformed endpoint is refused by name;
# policy reloads (dprelayctl and SIGHUP) apply quotas and refuse a broken file with file:line;
# errors (permission denied, control not running) are one line and exit 1; every program
# prints its version. dprelayctl's sessions filters and tailscale format, evict, reload's report
# and --evict-removed, version, and the operator group (--admin_group).
#   operator_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: operator_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "operator_test: needs root (network namespaces)"; exit 1; }
command -v jq >/dev/null || { echo "operator_test: needs jq"; exit 1; }
WORK=$(mktemp -d /tmp/dprelay-operator.XXXXXX)
chmod 755 "$WORK"  # so that an unprivileged dprelayctl reaches the socket's permission check
source "$ROOT/scripts/lib/topology.sh"
trap 'topo_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

source "$ROOT/tests/integration/checks.sh"

PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
CTLBIN="$DPRELAY_BIN/control/dprelayctl"
CTL=("$CTLBIN" --socket="$WORK/control.sock")
STATIC="$RELAY_IP:$RELAY_PORT"  # the "NLB" address: here the relay itself, so binds work

# Every program says its version, without a config, a port or EAL (the dataplane's comes
# before any EAL argument would be read), and they all say the same one.
VERSION=$("$CONTROL" --version | awk '{print $2}')
for prog in control/dprelay-control dataplane/dprelay-dataplane control/dprelayctl client/dprelay-peer; do
  name=${prog#*/}
  out=$("$DPRELAY_BIN/$prog" --version 2>&1)
  rc=$?
  check "$name --version: exit 0, '$out'" \
    test "$rc" -eq 0 -a "${out%% (DPDK *}" = "$name $VERSION" -a -n "$VERSION"
done
check "the dataplane's --version also works after EAL arguments" \
  bash -c "'$DPRELAY_BIN/dataplane/dprelay-dataplane' -l 0 --no-huge -- --version | grep -q '^dprelay-dataplane $VERSION (DPDK [0-9]'"

topo_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)

allocate() {  # allocate KEYFILE PEERKEY OUT
  ip netns exec "$NS_A" "$PEER" allocate --key_file="$1" --peer="$2" \
    --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" --timeout=2s >"$3" 2>&1
}

if ! dataplane_start "$WORK/dp.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.log"
  check "dataplane starts" false
  finish
fi
check "control starts in static-only mode" control_start 1 "$WORK/policy" --static_only --static_endpoints="$STATIC"
"${CTL[@]}" status | sed 's/^/  ctl| /'
check "status: only the static endpoint is advertised" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json status | jq -e '.advertised == [\"$STATIC\"] and .static_only' >/dev/null"

allocate "$WORK/a.key" "$KEY_B" "$WORK/alloc1.out"
sed 's/^/  a| /' "$WORK/alloc1.out"
check "a client is told the static endpoint only" grep -q " addrs=$STATIC bind_lifetime" "$WORK/alloc1.out"

"${CTL[@]}" set static-endpoints "$STATIC,192.0.2.99:40000" | sed 's/^/  ctl| /'
allocate "$WORK/a.key" "$KEY_B" "$WORK/alloc2.out"
check "set static-endpoints replaces the list at once" \
  grep -q " addrs=$STATIC,192.0.2.99:40000 bind_lifetime" "$WORK/alloc2.out"

rc=0
"${CTL[@]}" set static-endpoints "$STATIC,10.77.0.1:4x" >"$WORK/bad.out" 2>&1 || rc=$?
sed 's/^/  ctl| /' "$WORK/bad.out"
check "a malformed endpoint is refused by name (exit 1)" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/bad.out') -eq 1 ] && grep -q '10.77.0.1:4x' '$WORK/bad.out'"

kill -TERM "$CONTROL_PID"
wait "$CONTROL_PID" 2>/dev/null
rc=0
"${CTL[@]}" status >"$WORK/down.out" 2>&1 || rc=$?
sed 's/^/  ctl| /' "$WORK/down.out"
check "control not running: one line, exit 1" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/down.out') -eq 1 ] && grep -q 'is dprelay-control running' '$WORK/down.out'"
check "control restarts" control_start 2 "$WORK/policy" --static_only --static_endpoints="$STATIC"
check "the runtime static endpoints survived the restart (and win over the flag)" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json status | jq -e '.static_endpoints == [\"$STATIC\", \"192.0.2.99:40000\"] and .static_endpoints_source == \"runtime\"' >/dev/null"

# The clients bind through the advertised addresses and exchange data.
check "clients relay through the static endpoint (both exit 0)" topo_pair_run "$PEER" "$WORK" 20
"${CTL[@]}" sessions | sed 's/^/  ctl| /'
check "dprelayctl sessions shows the pair's 20+ packets each way" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json sessions | jq -e '.sessions[0].legs | all(.packets >= 20)' >/dev/null"
VNI=$("${CTL[@]}" --json sessions | jq -r '.sessions[0].vni')
"${CTL[@]}" ping "$VNI" | sed 's/^/  ctl| /'
check "dprelayctl ping: both legs' handshake round trip measured (0-1000 ms) and heard within 60 s" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json ping $VNI | jq -e '.state == \"open\" and (.legs | all(.handshake_rtt_ms > 0 and .handshake_rtt_ms < 1000 and .idle_s < 60))' >/dev/null"
rc=0
"${CTL[@]}" ping 4242 >"$WORK/ping.out" 2>&1 || rc=$?
check "dprelayctl ping of a VNI that is not live: one line naming it, exit 1" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/ping.out') -eq 1 ] && grep -q 'VNI 4242 is not a live session' '$WORK/ping.out'"

# sessions filters and tailscale's shape (issue 11): by key prefix, client address, VNI.
HEX_A=${KEY_A#discokey:}
LEG0=$("${CTL[@]}" --json sessions | jq -r '.sessions[0].legs[0].endpoint')
count_sessions() { "${CTL[@]}" --json sessions "$@" | jq '.sessions | length'; }
check "sessions --key=<prefix of a's key> finds the pair" test "$(count_sessions --key="${HEX_A:0:8}")" -eq 1
check "sessions --key=<no such prefix> finds nothing" \
  test "$(count_sessions --key="$( [ "${HEX_A:0:1}" = 0 ] && echo 1 || echo 0 )${HEX_A:1:7}")" -eq 0
check "sessions --client=$LEG0 (ip:port) and its IP alone find the pair" \
  test "$(count_sessions --client="$LEG0")" -eq 1 -a "$(count_sessions --client="${LEG0%:*}")" -eq 1
check "sessions --client=<another address> finds nothing" test "$(count_sessions --client=192.0.2.250)" -eq 0
check "sessions --vni=$VNI finds it, --vni=4242 nothing" \
  test "$(count_sessions --vni="$VNI")" -eq 1 -a "$(count_sessions --vni=4242)" -eq 0
"${CTL[@]}" sessions --format=tailscale | sed 's/^/  ctl| /'
check "sessions --format=tailscale: tailscaled's ServerStatus (UDPPort, Sessions[].VNI/Client1/Client2 with Endpoint, ShortDisco, PacketsTx, BytesTx)" \
  bash -c "'${CTL[0]}' '${CTL[1]}' sessions --format=tailscale | jq -e '.UDPPort == $RELAY_PORT and (.Sessions | length) == 1 and .Sessions[0].VNI == $VNI and ([.Sessions[0].Client1, .Sessions[0].Client2] | all((keys == [\"BytesTx\", \"Endpoint\", \"PacketsTx\", \"ShortDisco\"]) and (.ShortDisco | startswith(\"d:\")) and .PacketsTx >= 20 and .BytesTx > 0 and (.Endpoint | length) > 0))' >/dev/null"
"${CTL[@]}" version | sed 's/^/  ctl| /'
check "dprelayctl version: its own and the server's" \
  bash -c "[ \"\$('${CTL[0]}' '${CTL[1]}' version | cut -d' ' -f1,2 | tr '\n' ' ')\" = 'dprelayctl $VERSION dprelay-control $VERSION ' ]"

# reload reports the live sessions of keys the new policy drops; --evict-removed ends them, in
# control and in the dataplane (whose dump `ping` reads).
printf '%s\n' "$KEY_A" >"$WORK/policy"
"${CTL[@]}" reload >"$WORK/reload_report.out" 2>&1
sed 's/^/  ctl| /' "$WORK/reload_report.out"
check "reload lists the live session whose key the policy no longer allows" \
  grep -q "^  VNI $VNI (d:" "$WORK/reload_report.out"
check "... and leaves it alive" "${CTL[@]}" ping "$VNI"
"${CTL[@]}" reload --evict-removed | sed 's/^/  ctl| /'
check "reload --evict-removed: control's session count drops to 0" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json status | jq -e '.sessions.total == 0' >/dev/null"
check "... and the dataplane no longer has VNI $VNI" \
  bash -c "! '${CTL[0]}' '${CTL[1]}' ping $VNI 2>&1 | grep -q '^VNI'"
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
"${CTL[@]}" reload >/dev/null
# evict VNI and evict KEY.
allocate "$WORK/a.key" "$KEY_B" "$WORK/alloc3.out"
VNI2=$(sed -n 's/^allocation vni=\([0-9]*\).*/\1/p' "$WORK/alloc3.out")
check "a new allocation gets a VNI ($VNI2)" test -n "$VNI2"
check "dprelayctl evict VNI ends it in the dataplane at once" \
  bash -c "'${CTL[0]}' '${CTL[1]}' evict $VNI2 | grep -q '^evicted 1 session' && ! '${CTL[0]}' '${CTL[1]}' ping $VNI2 2>/dev/null"
allocate "$WORK/a.key" "$KEY_B" "$WORK/alloc4.out"
check "dprelayctl evict KEY ends every session of that key" \
  bash -c "'${CTL[0]}' '${CTL[1]}' evict $KEY_B | grep -q '^evicted 1 session' && '${CTL[0]}' '${CTL[1]}' --json status | jq -e '.sessions.total == 0' >/dev/null"
rc=0
"${CTL[@]}" evict 4242 >"$WORK/evict.out" 2>&1 || rc=$?
check "evict of a VNI that is not live: one line, exit 1" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/evict.out') -eq 1 ] && grep -q 'VNI 4242 is not a live session' '$WORK/evict.out'"

# Permission: the socket is 0600 root.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "${CTL[@]}" status >"$WORK/perm.out" 2>&1 || rc=$?
sed 's/^/  nobody| /' "$WORK/perm.out"
check "an unprivileged user gets one 'permission denied' line and exit 1" \
  bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/perm.out') -eq 1 ] && grep -q 'permission denied' '$WORK/perm.out'"

# Policy reloads: a rate quota applies at once; a broken file is refused with file:line.
printf 'allow %s rate=1/s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
check "dprelayctl reload applies the new policy" "${CTL[@]}" reload
allocate "$WORK/a.key" "$KEY_B" "$WORK/r1.out" & R1=$!
allocate "$WORK/a.key" "$KEY_B" "$WORK/r2.out" & R2=$!
wait "$R1" "$R2"
check "one of two simultaneous requests is answered under rate=1/s" \
  bash -c "[ \$(cat '$WORK/r1.out' '$WORK/r2.out' | grep -c '^allocation vni=') -eq 1 ]"
check "the other is refused as key_rate" \
  bash -c "'${CTL[0]}' '${CTL[1]}' --json refusals | jq -e '.by_reason.key_rate >= 1' >/dev/null"
"${CTL[@]}" refusals | sed 's/^/  ctl| /'
echo "allow" >>"$WORK/policy"
rc=0
"${CTL[@]}" reload >"$WORK/reload.out" 2>&1 || rc=$?
sed 's/^/  ctl| /' "$WORK/reload.out"
check "a broken policy is refused with file and line (exit 1)" \
  bash -c "[ $rc -eq 1 ] && grep -q '$WORK/policy:3:' '$WORK/reload.out'"
kill -HUP "$CONTROL_PID"
sleep 0.5
check "SIGHUP with the broken file keeps the old policy and logs why" \
  grep -q "policy reload failed, keeping the previous one" "$WORK/control.2.log"
check "control still serves after the failed reloads" "${CTL[@]}" status

# The operator group (--admin_group): the socket is 0660 with that group; a member (here by its
# gid) runs read-only commands, and a change is refused by name; others cannot connect.
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
kill -TERM "$CONTROL_PID"
wait "$CONTROL_PID" 2>/dev/null
OPS_GID=$(getent group operator | cut -d: -f3)
check "control restarts with --admin_group=operator" control_start 3 "$WORK/policy" --admin_group=operator
check "the admin socket is mode 660, group operator" \
  test "$(stat -c '%a %G' "$WORK/control.sock")" = "660 operator"
as_operator() { setpriv --reuid=65534 --regid="$OPS_GID" --clear-groups "${CTL[@]}" "$@"; }
check "an operator runs status" as_operator status
check "an operator runs sessions" as_operator sessions
check "an operator runs version" as_operator version
for cmd in "reload" "evict 7" "set static-endpoints none"; do
  rc=0
  # shellcheck disable=SC2086
  as_operator $cmd >"$WORK/op.out" 2>&1 || rc=$?
  sed 's/^/  operator| /' "$WORK/op.out"
  check "an operator's '$cmd' is refused: one line naming it, exit 1" \
    bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$WORK/op.out') -eq 1 ] && grep -q '^dprelayctl: ${cmd%% *}.*: permission denied: it changes the relay' '$WORK/op.out'"
done
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "${CTL[@]}" status >"$WORK/perm2.out" 2>&1 || rc=$?
check "someone outside the group still gets 'permission denied' (exit 1)" \
  bash -c "[ $rc -eq 1 ] && grep -q 'permission denied' '$WORK/perm2.out'"
check "root still runs a change (reload)" "${CTL[@]}" reload
finish
