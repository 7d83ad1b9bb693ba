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

# Persistence for dpdk.service, written into a scratch /etc/dpdk (--config-only: the device and
# memory are left alone). Inside the namespace the host's NIC has no interface, so it is not
# the management NIC there; in the host namespace the same NIC is refused.
CONF="$WORK/etc-dpdk"
mkdir -p "$CONF"
printf '# <bus> <id> <driver>\npci\t0000:ff:00.0\tvfio-pci\n' >"$CONF/interfaces"
printf '# comment kept\nNR_2M_PAGES=8\n#NR_1G_PAGES=2\n' >"$CONF/dpdk.conf"
cp "$CONF/interfaces" "$WORK/interfaces.before"
persist() {  # persist ARGS...: bind_nic.sh with the scratch configuration, output shown
  BIND_NIC_DPDK_CONF_DIR="$CONF" BIND_NIC_NO_SYSTEMCTL=1 "$@" >"$WORK/out" 2>&1
  local rc=$?
  sed 's/^/  bind_nic| /' "$WORK/out"
  return $rc
}
persist "$ROOT/scripts/bind_nic.sh" hugepages 512 --config-only
check "hugepages: NR_2M_PAGES replaced in dpdk.conf, the other lines kept" \
  eval '[ "$(cat "$CONF/dpdk.conf")" = "$(printf "# comment kept\n#NR_1G_PAGES=2\nNR_2M_PAGES=512")" ]'
persist "$ROOT/scripts/bind_nic.sh" hugepages 2 --size=1G --config-only
check "hugepages: 1G pages are NR_1G_PAGES (the commented example kept)" \
  eval 'grep -qx "NR_1G_PAGES=2" "$CONF/dpdk.conf" && grep -qx "#NR_1G_PAGES=2" "$CONF/dpdk.conf"'
check "hugepages: a count that is not a number is refused" \
  eval '! persist "$ROOT/scripts/bind_nic.sh" hugepages lots --config-only && grep -q "expected a number" "$WORK/out"'

NIC=""
for d in /sys/bus/pci/devices/*; do
  [[ $(cat "$d/class" 2>/dev/null) == 0x02* ]] && NIC=$(basename "$d") && break
done
if [ -n "$NIC" ]; then
  persist ip netns exec "$NS" "$ROOT/scripts/bind_nic.sh" bind "$NIC" --dry-run
  check "bind --dry-run writes no configuration" cmp -s "$CONF/interfaces" "$WORK/interfaces.before"
  persist ip netns exec "$NS" "$ROOT/scripts/bind_nic.sh" bind "$NIC" --config-only
  check "bind --config-only: $NIC bound to vfio-pci at boot, other entries kept" \
    eval 'grep -qxP "pci\t$NIC\tvfio-pci" "$CONF/interfaces" && grep -q "0000:ff:00.0" "$CONF/interfaces" &&
          [ "$(grep -c "$NIC" "$CONF/interfaces")" -eq 1 ]'
  persist ip netns exec "$NS" "$ROOT/scripts/bind_nic.sh" bind "$NIC" --driver=uio_pci_generic --config-only
  check "bind again with another driver replaces the entry" \
    eval 'grep -qxP "pci\t$NIC\tuio_pci_generic" "$CONF/interfaces" && [ "$(grep -c "$NIC" "$CONF/interfaces")" -eq 1 ]'
  persist ip netns exec "$NS" "$ROOT/scripts/bind_nic.sh" unbind "$NIC" --config-only
  check "unbind --config-only removes the boot entry and nothing else" \
    cmp -s "$CONF/interfaces" "$WORK/interfaces.before"
  HOST_IF=$(ls -d /sys/bus/pci/devices/"$NIC"/net/* /sys/bus/pci/devices/"$NIC"/virtio*/net/* 2>/dev/null | head -1)
  if [ -n "$HOST_IF" ] && ip -o route show default | grep -q "dev $(basename "$HOST_IF") "; then
    check "the host's management NIC is refused for persistence too, its file untouched" \
      eval '! persist "$ROOT/scripts/bind_nic.sh" bind "$NIC" --config-only &&
            grep -q "management NIC" "$WORK/out" && cmp -s "$CONF/interfaces" "$WORK/interfaces.before"'
  fi
else
  echo "SKIP no PCI network device on this host: /etc/dpdk/interfaces persistence not exercised"
fi
finish
