#!/usr/bin/env bash
# Integration: the two daemons as their systemd units run them. A stand-in for systemd's
# notify socket ($NOTIFY_SOCKET, notify_listener.py) hears each process say READY=1 once it
# serves, STATUS= lines, WATCHDOG=1 keep-alives at the rate $WATCHDOG_USEC asks for, and
# STOPPING=1. Control runs as an unprivileged user (nobody:nogroup, as the unit's
# User=dprelay) and drives the root dataplane through its IPC socket, which --ipc_group
# makes 0660 of that group.
#   service_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: service_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "service_test: needs root (network namespaces)"; exit 1; }
WORK=$(mktemp -d /tmp/dprelay-service.XXXXXX)
chmod 755 "$WORK"
source "$ROOT/scripts/lib/topology.sh"
LISTENER_PID=
trap '[ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null; topo_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

PEER="$DPRELAY_BIN/client/dprelay-peer"
RUN="$WORK/run"          # the units' /run/dprelay: root's, where the dataplane listens
STATE="$WORK/state"      # control's StateDirectory, its user's
mkdir -m 0755 "$RUN"
mkdir -m 0700 "$STATE"
chown nobody:nogroup "$STATE"
mkdir -m 0755 "$WORK/ctl" && chown nobody:nogroup "$WORK/ctl"

python3 "$ROOT/tests/integration/notify_listener.py" "$WORK/notify.sock" "$WORK/notify.log" &
LISTENER_PID=$!
for _ in $(seq 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done
export NOTIFY_SOCKET="$WORK/notify.sock"
# Each process looks at its own messages: the listener cannot tell them apart, so they start
# one after the other and the log is split at the second READY=1.
export WATCHDOG_USEC=1000000  # WatchdogSec=1s: a keep-alive every half second

topo_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
printf '%s\n%s\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
chmod 644 "$WORK/policy"

DP_EXTRA_FLAGS="--ipc_group=nogroup" dataplane_start "$WORK/dp.log" "$RUN/dataplane.sock" || {
  cat "$WORK/dp.log"; check "dataplane starts" false; finish; }
for _ in $(seq 30); do grep -q '^READY=1' "$WORK/notify.log" && break; sleep 0.1; done
check "dataplane: READY=1 with its status once the port and IPC socket are up" \
  grep -q '^READY=1|STATUS=forwarding on .*:dp0, UDP port 40000; control socket '"$RUN/dataplane.sock"'$' \
  "$WORK/notify.log"
check "dataplane: the IPC socket is 0660 root:nogroup" \
  test "$(stat -c '%a %U:%G' "$RUN/dataplane.sock")" = "660 root:nogroup"
sleep 2.2
check "dataplane: WATCHDOG=1 about every half second (>= 3 in 2.2 s)" \
  test "$(grep -c '^WATCHDOG=1$' "$WORK/notify.log")" -ge 3
check "dataplane: STATUS says control is not connected yet" \
  grep -q '^STATUS=forwarding; control not connected$' "$WORK/notify.log"
: >"$WORK/notify.log"

topo_spawn "$WORK/control.log" "$NS_R" setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$DPRELAY_BIN/control/dprelay-control" --state_dir="$STATE" \
  --listen="$CONTROL_IP:$CONTROL_PORT" --policy="$WORK/policy" \
  --dataplane_socket="$RUN/dataplane.sock" --admin_socket="$WORK/ctl/control.sock"
CONTROL_PID=$SPAWNED_PID
ready=
for _ in $(seq 100); do
  state=$("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/ctl/control.sock" --json status \
    2>/dev/null | jq -r .dataplane.state)
  [ "$state" = ready ] && { ready=1; break; }
  sleep 0.1
done
sed 's/^/  control| /' "$WORK/control.log"
check "control as nobody:nogroup reaches the root dataplane through --ipc_group (state ready)" \
  test -n "$ready"
check "control: READY=1 naming its allocation socket" \
  grep -q "READY=1|STATUS=allocations on $CONTROL_IP:$CONTROL_PORT; dataplane " "$WORK/notify.log"
check "control: a STATUS line once the dataplane is ready" \
  grep -q "^STATUS=allocations on $CONTROL_IP:$CONTROL_PORT; dataplane ready$" "$WORK/notify.log"
for _ in $(seq 20); do
  grep -q '^STATUS=forwarding; control connected$' "$WORK/notify.log" && break; sleep 0.1
done
check "dataplane: STATUS says control is connected" \
  grep -q '^STATUS=forwarding; control connected$' "$WORK/notify.log"
: >"$WORK/notify.log"
sleep 1.6
# Both send keep-alives now: at least 2 each in 1.6 s.
check "WATCHDOG=1 from both processes (>= 4 in 1.6 s)" \
  test "$(grep -c '^WATCHDOG=1$' "$WORK/notify.log")" -ge 4
kill -TERM "$CONTROL_PID"; wait "$CONTROL_PID" 2>/dev/null
check "control: STOPPING=1 at SIGTERM" grep -q '^STOPPING=1|STATUS=stopping: Terminated$' "$WORK/notify.log"
dataplane_stop
check "dataplane: STOPPING=1 at SIGINT" grep -q '^STOPPING=1|STATUS=stopping: signal$' "$WORK/notify.log"
grep -q 'refusing a control connection' "$WORK/dp.log" && sed 's/^/  dp| /' "$WORK/dp.log"
check "dataplane refused no control connection" bash -c "! grep -q 'refusing a control connection' '$WORK/dp.log'"
finish
