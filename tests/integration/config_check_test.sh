#!/usr/bin/env bash
# `--check` and configuration errors as an operator meets them: dprelay-control and
# dprelay-dataplane read a flagfile, report every error on its own line naming file and line,
# create nothing (no state directory, no keys, no sockets, no EAL runtime files) when checking or
# when a start is refused, and the dataplane takes its EAL options from the flagfile
# (--eal_args) and answers --help without EAL.
#   config_check_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
CONTROL="$BUILD/control/dprelay-control"
DATAPLANE="$BUILD/dataplane/dprelay-dataplane"
WORK=$(mktemp -d /tmp/dprelay-check.XXXXXX)
DP_PID=""
cleanup() {
  [ -n "$DP_PID" ] && kill "$DP_PID" 2>/dev/null && wait "$DP_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

# run NAME CMD...: exit code in $WORK/NAME.rc, stdout and stderr in NAME.out / NAME.err.
run() {
  local name=$1 rc=0
  shift
  timeout 20 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  echo "$rc" >"$WORK/$name.rc"
  sed "s/^/  $name| /" "$WORK/$name.out" "$WORK/$name.err"
}
rc_is() { [ "$(cat "$WORK/$1.rc")" = "$2" ]; }
lines() { wc -l <"$WORK/$1.err"; }
has() { grep -qF -- "$2" "$WORK/$1.$3"; }

KEY="discokey:$(printf 'ab%.0s' $(seq 32))"
printf '# allowed clients\n%s\n' "$KEY" >"$WORK/policy"
printf '%s\n\ndiscokey:not-hex\n' "$KEY" >"$WORK/bad-policy"
STATE="$WORK/state"

# --- dprelay-control ---
cat >"$WORK/control.flags" <<FLAGS
--state_dir=$STATE
--listen=127.0.0.1:nonsense
--policy=$WORK/policy
--bind_lifetime=forever
--admin_socket=$WORK/control.sock
--dataplane_socket=$WORK/dp.sock
FLAGS
run c_flags "$CONTROL" --flagfile="$WORK/control.flags" --check
check "control --check: exit 1 with one line per bad flag" \
  eval 'rc_is c_flags 1 && [ "$(lines c_flags)" -eq 2 ]'
check "control --check: each line names the flagfile line" \
  eval 'has c_flags "dprelay-control: $WORK/control.flags:2: --listen: \"127.0.0.1:nonsense\"" err &&
        has c_flags "$WORK/control.flags:4: --bind_lifetime: \"forever\" is not a duration" err'

sed -i -e 's/127.0.0.1:nonsense/127.0.0.1:40001/' -e 's/forever/30s/' "$WORK/control.flags"
run c_ok "$CONTROL" --flagfile="$WORK/control.flags" --check
check "control --check: a good configuration exits 0 and says what would run" \
  eval 'rc_is c_ok 0 && has c_ok "allocation socket  127.0.0.1:40001" out &&
        has c_ok "$WORK/policy: 1 keys" out && has c_ok "configuration OK" out'

run c_policy "$CONTROL" --flagfile="$WORK/control.flags" --policy="$WORK/bad-policy" --check
check "control --check: a policy error names the policy file and line" \
  eval 'rc_is c_policy 1 && [ "$(lines c_policy)" -eq 1 ] && has c_policy "$WORK/bad-policy:3:" err'

run c_start "$CONTROL" --flagfile="$WORK/control.flags" --policy="$WORK/bad-policy"
check "control: a start refused for its policy exits 1 naming the file" \
  eval 'rc_is c_start 1 && has c_start "$WORK/bad-policy:3:" err'
check "control: neither a check nor a refused start created the state dir or sockets" \
  eval '[ ! -e "$STATE" ] && [ ! -e "$WORK/control.sock" ]'

# --- dprelay-dataplane ---
run d_help "$DATAPLANE" --help
check "dataplane --help: works without EAL or a port, and documents --eal_args" \
  eval 'rc_is d_help 0 && grep -q -- "-eal_args" "$WORK/d_help.out" "$WORK/d_help.err"'

PREFIX="dprelay-check-$$"
cat >"$WORK/dataplane.flags" <<FLAGS
# the whole dataplane configuration in one file
--eal_args=-l 0 --no-huge --no-pci -m 256 --file-prefix=$PREFIX
--port=af_packet:nonesuch0
--address=10.0.0.1/33
--capacity=0
--ipc_socket=$WORK/dp.sock
FLAGS
run d_bad "$DATAPLANE" --flagfile="$WORK/dataplane.flags" --check
check "dataplane --check: one line per bad flag, each naming the flagfile line" \
  eval 'rc_is d_bad 1 && [ "$(lines d_bad)" -eq 2 ] &&
        has d_bad "dprelay-dataplane: $WORK/dataplane.flags:4: --address" err &&
        has d_bad "$WORK/dataplane.flags:5: --capacity: 0: must be 1..16777215" err'

sed -i -e 's|10.0.0.1/33|10.0.0.1/24|' -e 's/--capacity=0/--capacity=4096/' "$WORK/dataplane.flags"
run d_noif "$DATAPLANE" --flagfile="$WORK/dataplane.flags" --check
check "dataplane --check: a port interface that does not exist is named" \
  eval 'rc_is d_noif 1 && has d_noif "$WORK/dataplane.flags:3: --port=af_packet:nonesuch0: no interface nonesuch0" err'

run d_pci "$DATAPLANE" --flagfile="$WORK/dataplane.flags" --port=pci:ff:1f.7 --eal_args=-l\ 0 --check
check "dataplane --check: a pci: port that is not on this host is named" \
  eval 'rc_is d_pci 1 && has d_pci "--port=pci:0000:ff:1f.7: no such PCI device" err'

run d_nopci "$DATAPLANE" --flagfile="$WORK/dataplane.flags" --port=pci:0000:ff:1f.7 --check
check "dataplane --check: a pci: port with --no-pci in the EAL options is refused" \
  eval 'rc_is d_nopci 1 && has d_nopci "$WORK/dataplane.flags:2: --eal_args: pci:0000:ff:1f.7: the EAL options include --no-pci" err'

run d_both "$DATAPLANE" -l 0 -- --flagfile="$WORK/dataplane.flags" --check
check "dataplane: EAL options both before '--' and in --eal_args are refused" \
  eval 'rc_is d_both 1 && has d_both "give them in one place" err'

sed -i 's/af_packet:nonesuch0/af_packet:lo/' "$WORK/dataplane.flags"
run d_ok "$DATAPLANE" --flagfile="$WORK/dataplane.flags" --check
check "dataplane --check: a good configuration exits 0 and says what would run" \
  eval 'rc_is d_ok 0 && has d_ok "EAL options        -l 0 --no-huge --no-pci -m 256" out &&
        has d_ok "af_packet on lo" out && has d_ok "configuration OK" out'
check "dataplane: neither --help nor --check created the IPC socket or EAL runtime files" \
  eval '[ ! -e "$WORK/dp.sock" ] && [ ! -e "/var/run/dpdk/$PREFIX" ] && [ ! -e "/run/dpdk/$PREFIX" ]'

# A real start from the flagfile alone (net_null: no traffic, no privileges beyond EAL's).
sed -i 's/af_packet:lo/null/' "$WORK/dataplane.flags"
"$DATAPLANE" --flagfile="$WORK/dataplane.flags" >"$WORK/d_run.out" 2>&1 &
DP_PID=$!
for _ in $(seq 100); do [ -S "$WORK/dp.sock" ] && break; sleep 0.1; done
check "dataplane: starts with its EAL options from --eal_args (no '--' on the command line)" \
  eval '[ -S "$WORK/dp.sock" ] && kill -0 "$DP_PID"'
kill "$DP_PID"
wait "$DP_PID"
DP_RC=$?
DP_PID=""
sed 's/^/  d_run| /' "$WORK/d_run.out" | tail -5
check "dataplane: exits 0 on SIGTERM" [ "$DP_RC" -eq 0 ]
rm -rf "/var/run/dpdk/$PREFIX" "/run/dpdk/$PREFIX"
finish
