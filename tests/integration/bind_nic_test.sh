#!/usr/bin/env bash
# scripts/bind_nic.sh refuses what would cut the operator off, inside a namespace of its own
# (read-only checks: nothing is bound): an interface with an address, one carrying the default
# route, a virtual interface (not PCI), unknown names and malformed PCI addresses.
#   bind_nic_test.sh
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "bind_nic_test: needs root (network namespaces)"; exit 1; }
NS="dpr-bind-$$"
WORK=$(mktemp -d /tmp/dprelay-bind.XXXXXX)
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

ip netns add "$NS"
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up

refused() {  # refused PATTERN ARGS...: exit 1 and a one-line message matching PATTERN
  local pattern=$1 rc=0
  shift
  ip netns exec "$NS" "$ROOT/scripts/bind_nic.sh" "$@" >"$WORK/out" 2>&1 || rc=$?
  sed 's/^/  bind_nic| /' "$WORK/out"
  [ "$rc" -eq 1 ] && [ "$(wc -l <"$WORK/out")" -eq 1 ] && grep -q "$pattern" "$WORK/out"
}

check "a virtual interface is not PCI: use af_xdp instead" \
  refused "v0 is not a PCI device.*--port=af_xdp:v0" bind v0 --dry-run
ip -n "$NS" addr add 192.0.2.7/24 dev v0
check "an interface with an address is refused" refused "refusing v0: it has address 192.0.2.7/24" bind v0
ip -n "$NS" addr flush dev v0
ip -n "$NS" route add default dev v0
check "the interface with the default route is refused" \
  refused "refusing v0: it carries the default route" bind v0 --dry-run
check "an unknown interface is named" refused "nope0: no such network interface" bind nope0
check "unbind wants a PCI address" refused "expected a PCI address" unbind v1
check "a PCI address that does not exist is named" refused "0000:ff:1f.7: no such PCI device" bind 0000:ff:1f.7
finish
