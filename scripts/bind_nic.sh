#!/usr/bin/env bash
# Gives a NIC to DPDK (vfio-pci) and back to its kernel driver, refusing the management NIC, and
# makes that and the hugepage reservation survive reboots through Debian's dpdk.service.
#   scripts/bind_nic.sh status
#   scripts/bind_nic.sh bind IFACE|PCI [--driver=vfio-pci] [--dry-run|--config-only|--runtime-only]
#   scripts/bind_nic.sh unbind PCI [--config-only]
#   scripts/bind_nic.sh hugepages COUNT [--size=2M|1G] [--config-only]
# A NIC is refused if any of its kernel interfaces carries a default route, has an IP address
# (IPv4, or IPv6 beyond link-local), or has established TCP connections (an ssh session):
# taking it away would cut the operator off. Free it first (remove the address/route), or use
# another NIC. The kernel driver it had is recorded in /run/dprelay/bind/ so that `unbind`
# restores it. Plain sysfs (driver_override, drivers_probe): no dpdk-devbind.py needed.
#
# Persistence (the dpdk package's dpdk.service, which runs at boot before the network and
# before dprelay-dataplane.service): `bind` adds "pci ADDRESS DRIVER" to /etc/dpdk/interfaces
# and `unbind` removes it; `hugepages` sets NR_2M_PAGES / NR_1G_PAGES in /etc/dpdk/dpdk.conf
# and reserves them now. Both enable dpdk.service. --config-only writes the configuration
# without touching the device or memory now (for the next boot); --runtime-only does the
# opposite. Other lines of those files are kept as they are.
set -euo pipefail

STATE_DIR=${BIND_NIC_STATE_DIR:-/run/dprelay/bind}
DPDK_CONF_DIR=${BIND_NIC_DPDK_CONF_DIR:-/etc/dpdk}
PCI_RE='^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$'

die() {
  echo "bind_nic: $*" >&2
  exit 1
}
usage() {
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# replace_lines FILE PATTERN [LINE]: FILE without the lines matching the extended regex PATTERN,
# plus LINE at the end; written to a temporary file in the same directory and renamed over it.
replace_lines() {
  local file=$1 pattern=$2 line=${3:-} tmp
  mkdir -p "$(dirname "$file")"
  tmp=$(mktemp "$file.XXXXXX")
  if [ -f "$file" ]; then
    grep -Ev "$pattern" "$file" >"$tmp" || true
    chmod --reference="$file" "$tmp"
  else
    chmod 0644 "$tmp"
  fi
  [ -z "$line" ] || echo "$line" >>"$tmp"
  mv -f "$tmp" "$file"
}

# enable_dpdk_service: dpdk.service applies /etc/dpdk at boot; enable it where systemd runs.
enable_dpdk_service() {
  if [ ! -x /lib/dpdk/dpdk-init ]; then
    echo "bind_nic: note: the dpdk package (dpdk.service) is not installed; apt-get install dpdk, or the configuration in $DPDK_CONF_DIR is not applied at boot" >&2
  elif [ -z "${BIND_NIC_NO_SYSTEMCTL:-}" ] && [ -d /run/systemd/system ]; then
    systemctl enable --quiet dpdk.service
  fi
}

# persist_binding PCI DRIVER|"": /etc/dpdk/interfaces binds PCI to DRIVER at boot (or not).
persist_binding() {
  local pci=$1 driver=$2 file=$DPDK_CONF_DIR/interfaces
  local pattern="^[[:space:]]*pci[[:space:]]+${pci//./\\.}([[:space:]]|$)"
  if [ -n "$driver" ]; then
    replace_lines "$file" "$pattern" "pci	$pci	$driver"
    enable_dpdk_service
    echo "bind_nic: $file: $pci is bound to $driver at boot (dpdk.service)"
  elif [ -f "$file" ] && grep -Eq "$pattern" "$file"; then
    replace_lines "$file" "$pattern"
    echo "bind_nic: $file: $pci is no longer bound at boot"
  fi
}

# pci_of IFACE: the PCI address behind a kernel interface (virtio NICs sit one level below).
pci_of() {
  local dev
  dev=$(readlink -f "/sys/class/net/$1/device" 2>/dev/null) || return 1
  if [[ $(basename "$dev") =~ $PCI_RE ]]; then
    basename "$dev"
  elif [[ $(basename "$(dirname "$dev")") =~ $PCI_RE ]]; then
    basename "$(dirname "$dev")"
  else
    return 1
  fi
}

# ifaces_of PCI: the kernel interfaces a PCI device has now.
ifaces_of() {
  local d
  for d in /sys/bus/pci/devices/"$1"/net/* /sys/bus/pci/devices/"$1"/virtio*/net/*; do
    [ -e "$d" ] && basename "$d"
  done
  return 0
}

driver_of() {
  local link=/sys/bus/pci/devices/$1/driver
  [ -e "$link" ] && basename "$(readlink -f "$link")" || echo none
}

# why_management IFACE: prints why the interface must stay with the kernel; empty if it may go.
why_management() {
  local ifc=$1 reasons=()
  if ip -o route show default 2>/dev/null | grep -qw "dev $ifc" ||
    ip -o -6 route show default 2>/dev/null | grep -qw "dev $ifc"; then
    reasons+=("carries the default route")
  fi
  local addrs
  addrs=$(ip -o addr show dev "$ifc" 2>/dev/null | awk '$3 == "inet" || ($3 == "inet6" && $0 !~ / scope link/) {print $4}')
  if [ -n "$addrs" ]; then
    reasons+=("has address $(echo "$addrs" | paste -sd, -)")
    local a ip established
    for a in $addrs; do
      ip=${a%/*}
      # Without a state column, field 3 is the local address:port.
      established=$(ss -Htn state established 2>/dev/null | awk '{print $3}' |
        sed -E 's/:[0-9]+$//; s/^\[//; s/\]$//; s/%.*$//' | grep -cxF "$ip" || true)
      if [ "$established" -gt 0 ]; then
        reasons+=("has $established established TCP connection(s) on $ip (ssh?)")
      fi
    done
  fi
  if [ -n "${SSH_CONNECTION:-}" ]; then
    local server_ip
    server_ip=$(echo "$SSH_CONNECTION" | awk '{print $3}')
    if ip -o addr show dev "$ifc" 2>/dev/null | grep -q " ${server_ip}/"; then
      reasons+=("this ssh session arrives on it")
    fi
  fi
  [ ${#reasons[@]} -gt 0 ] && (IFS=';'; echo "${reasons[*]}" | sed 's/;/; /g')
  return 0
}

cmd_status() {
  local d pci ifc
  printf '%-14s %-12s %-12s %s\n' PCI DRIVER IFACE NOTE
  for d in /sys/bus/pci/devices/*; do
    pci=$(basename "$d")
    # Network controllers only (class 0x02xxxx).
    [[ $(cat "$d/class" 2>/dev/null) == 0x02* ]] || continue
    local ifaces
    ifaces=$(ifaces_of "$pci")
    if [ -z "$ifaces" ]; then
      printf '%-14s %-12s %-12s %s\n' "$pci" "$(driver_of "$pci")" - \
        "$([ -f "$STATE_DIR/$pci" ] && echo "bound by bind_nic (was $(cat "$STATE_DIR/$pci"))")"
      continue
    fi
    for ifc in $ifaces; do
      local why
      why=$(why_management "$ifc")
      printf '%-14s %-12s %-12s %s\n' "$pci" "$(driver_of "$pci")" "$ifc" \
        "${why:+management: $why}"
    done
  done
}

cmd_bind() {
  local target=$1 driver=$2 mode=$3 pci
  if [[ $target =~ $PCI_RE ]]; then
    pci=$target
    [ -d "/sys/bus/pci/devices/$pci" ] || die "$pci: no such PCI device"
  else
    [ -e "/sys/class/net/$target" ] || die "$target: no such network interface"
    local why
    why=$(why_management "$target")
    [ -z "$why" ] || die "refusing $target: it $why. It looks like a management NIC; move that to another NIC first."
    pci=$(pci_of "$target") || die "$target is not a PCI device (a veth or other virtual interface): use --port=af_xdp:$target instead"
  fi
  local ifc
  for ifc in $(ifaces_of "$pci"); do
    local why
    why=$(why_management "$ifc")
    [ -z "$why" ] || die "refusing $pci: its interface $ifc $why. It looks like a management NIC."
  done
  local current
  current=$(driver_of "$pci")
  if [ "$mode" = dry-run ]; then
    echo "bind_nic: would bind $pci (interfaces: $(ifaces_of "$pci" | paste -sd, -), driver $current) to $driver, and at boot ($DPDK_CONF_DIR/interfaces)"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "binding needs root"
  [ "$mode" = runtime-only ] || persist_binding "$pci" "$driver"
  [ "$mode" != config-only ] || return 0
  [ "$current" != "$driver" ] || { echo "bind_nic: $pci is already bound to $driver"; return 0; }
  if [ ! -d "/sys/bus/pci/drivers/$driver" ]; then
    modprobe "$driver" 2>/dev/null || true
    [ -d "/sys/bus/pci/drivers/$driver" ] || die "driver $driver is not available (modprobe $driver failed)"
  fi
  if [ "$driver" = vfio-pci ] && [ -z "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ] &&
    [ "$(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode 2>/dev/null)" != Y ]; then
    die "no IOMMU groups: enable the IOMMU (intel_iommu=on / amd_iommu=on), or on VMs without one (e.g. AWS non-metal): echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
  fi
  for ifc in $(ifaces_of "$pci"); do
    ip link set "$ifc" down
  done
  mkdir -p "$STATE_DIR"
  echo "$current" >"$STATE_DIR/$pci"
  echo "$driver" >"/sys/bus/pci/devices/$pci/driver_override"
  if [ "$current" != none ]; then
    echo "$pci" >"/sys/bus/pci/devices/$pci/driver/unbind"
  fi
  echo "$pci" >/sys/bus/pci/drivers_probe
  if [ "$(driver_of "$pci")" != "$driver" ]; then
    # Roll back to where it was.
    echo >"/sys/bus/pci/devices/$pci/driver_override"
    echo "$pci" >/sys/bus/pci/drivers_probe || true
    rm -f "$STATE_DIR/$pci"
    die "$pci did not bind to $driver (dmesg says why); left with $(driver_of "$pci")"
  fi
  echo "bind_nic: $pci bound to $driver (was $current); run the dataplane with --port=pci:$pci"
}

cmd_unbind() {
  local pci=$1 mode=$2
  [[ $pci =~ $PCI_RE ]] || die "$pci: expected a PCI address like 0000:3b:00.1"
  [ -d "/sys/bus/pci/devices/$pci" ] || die "$pci: no such PCI device"
  [ "$(id -u)" -eq 0 ] || die "unbinding needs root"
  persist_binding "$pci" ""
  [ "$mode" != config-only ] || return 0
  local current original
  current=$(driver_of "$pci")
  original=$(cat "$STATE_DIR/$pci" 2>/dev/null || echo "")
  if [ -n "$(ifaces_of "$pci")" ]; then
    echo "bind_nic: $pci is already with a kernel driver ($current)"
    return 0
  fi
  echo >"/sys/bus/pci/devices/$pci/driver_override"
  if [ "$current" != none ]; then
    echo "$pci" >"/sys/bus/pci/devices/$pci/driver/unbind"
  fi
  if [ -n "$original" ] && [ "$original" != none ] && [ -d "/sys/bus/pci/drivers/$original" ]; then
    echo "$pci" >"/sys/bus/pci/drivers/$original/bind" || echo "$pci" >/sys/bus/pci/drivers_probe
  else
    echo "$pci" >/sys/bus/pci/drivers_probe
  fi
  rm -f "$STATE_DIR/$pci"
  echo "bind_nic: $pci back to $(driver_of "$pci") (interfaces: $(ifaces_of "$pci" | paste -sd, -))"
}

# cmd_hugepages COUNT SIZE MODE: NR_<SIZE>_PAGES=COUNT in dpdk.conf, and reserved now.
cmd_hugepages() {
  local count=$1 size=$2 mode=$3 kb var
  [[ $count =~ ^[0-9]+$ ]] || die "$count: expected a number of hugepages"
  case $size in
    2M) kb=2048 var=NR_2M_PAGES ;;
    1G) kb=1048576 var=NR_1G_PAGES ;;
    *) die "--size=$size: expected 2M or 1G" ;;
  esac
  [ "$(id -u)" -eq 0 ] || die "reserving hugepages needs root"
  if [ "$mode" != runtime-only ]; then
    replace_lines "$DPDK_CONF_DIR/dpdk.conf" "^[[:space:]]*$var=" "$var=$count"
    enable_dpdk_service
    echo "bind_nic: $DPDK_CONF_DIR/dpdk.conf: $var=$count reserved at boot (dpdk.service)"
  fi
  [ "$mode" != config-only ] || return 0
  local nr=/sys/kernel/mm/hugepages/hugepages-${kb}kB/nr_hugepages got
  [ -w "$nr" ] || die "$size hugepages are not supported by this kernel ($nr)"
  echo "$count" >"$nr"
  got=$(cat "$nr")
  [ "$got" -ge "$count" ] || die "asked for $count $size hugepages, the kernel gave $got (memory fragmented: reserve at boot, or with hugepages= on the kernel command line)"
  echo "bind_nic: $got $size hugepages reserved now"
}

[ $# -ge 1 ] || usage
case $1 in
  status) cmd_status ;;
  bind)
    [ $# -ge 2 ] || usage
    target=$2 driver=vfio-pci mode=both
    shift 2
    for arg in "$@"; do
      case $arg in
        --driver=*) driver=${arg#--driver=} ;;
        --dry-run | --config-only | --runtime-only) mode=${arg#--} ;;
        *) usage ;;
      esac
    done
    cmd_bind "$target" "$driver" "$mode"
    ;;
  unbind)
    [ $# -ge 2 ] && [ $# -le 3 ] || usage
    [ $# -eq 2 ] || [ "$3" = --config-only ] || usage
    mode=${3:-}
    cmd_unbind "$2" "${mode#--}"
    ;;
  hugepages)
    [ $# -ge 2 ] || usage
    count=$2 size=2M mode=both
    shift 2
    for arg in "$@"; do
      case $arg in
        --size=*) size=${arg#--size=} ;;
        --config-only | --runtime-only) mode=${arg#--} ;;
        *) usage ;;
      esac
    done
    cmd_hugepages "$count" "$size" "$mode"
    ;;
  *) usage ;;
esac
