#!/usr/bin/env bash
# Integration: packet capture on the relay port with DPDK's dpdk-dumpcap (package dpdk-dev), as
# docs/CAPTURE.md tells an operator. The dataplane runs with hugepages and a shared config (a
# secondary process needs both); dumpcap attaches to it, lists its port, and captures pings to
# the relay (the requests it received and the replies it sent) and marked UDP datagrams.
# Hugepages: the test mounts a hugetlbfs of its own and, if too few 2 MiB pages are free,
# raises vm.nr_hugepages for the run (restored on exit).
#   capture_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: capture_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "capture_test: needs root (network namespaces, hugepages)"; exit 1; }
for tool in dpdk-dumpcap tcpdump; do
  command -v "$tool" >/dev/null || { echo "capture_test: needs $tool (scripts/setup.sh installs it)"; exit 1; }
done
WORK=$(mktemp -d /tmp/dprelay-capture.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
PREFIX="dprelay-capture-$$"
PAGES_WANTED=160  # 320 MiB: the dataplane (--capacity=1024) and dumpcap's pool
NR_HUGEPAGES=/proc/sys/vm/nr_hugepages
PAGES_BEFORE=$(cat "$NR_HUGEPAGES")
cleanup() {
  topo_down
  umount "$WORK/huge" 2>/dev/null
  [ "$(cat "$NR_HUGEPAGES")" != "$PAGES_BEFORE" ] && echo "$PAGES_BEFORE" >"$NR_HUGEPAGES"
  rm -rf "$WORK" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
source "$ROOT/tests/integration/checks.sh"

free_pages() { awk '/^HugePages_Free:/ {print $2}' /proc/meminfo; }
if [ "$(free_pages)" -lt "$PAGES_WANTED" ]; then
  echo $((PAGES_BEFORE + PAGES_WANTED - $(free_pages))) >"$NR_HUGEPAGES"
fi
check "$PAGES_WANTED free 2 MiB hugepages (free now: $(free_pages))" test "$(free_pages)" -ge "$PAGES_WANTED"
mkdir "$WORK/huge"
check "a hugetlbfs of the test's own is mounted" mount -t hugetlbfs -o pagesize=2M nodev "$WORK/huge"

topo_up
# net_af_packet: its secondary-process attach is what DPDK 22.11 supports for vdevs here.
if ! DP_DRIVERS=af_packet DP_HUGE_DIR="$WORK/huge" DP_EXTRA_EAL="--file-prefix=$PREFIX" \
    DP_EXTRA_FLAGS="--capacity=1024" dataplane_start "$WORK/dp.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.log"
  check "dataplane starts with hugepages and a shared config" false
  finish
fi

ip netns exec "$NS_R" dpdk-dumpcap --file-prefix="$PREFIX" -D >"$WORK/ports.txt" 2>"$WORK/ports.err"
sed 's/^/  dumpcap -D| /' "$WORK/ports.txt"
check "dpdk-dumpcap attaches and lists the relay port" grep -q '^0\. net_af_packet' "$WORK/ports.txt"

MARK=dprelay-capture-marker
ip netns exec "$NS_R" dpdk-dumpcap --file-prefix="$PREFIX" -i 0 -s 256 -a duration:6 \
  -w "$WORK/relay.pcapng" >"$WORK/dumpcap.out" 2>&1 &
DUMPCAP=$!
TOPO_PIDS+=("$DUMPCAP")
sleep 2  # dumpcap is attached and capturing
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 1 "$RELAY_IP" >"$WORK/ping.out" 2>&1
for i in 1 2 3; do
  ip netns exec "$NS_A" bash -c "echo $MARK$i >/dev/udp/$RELAY_IP/$RELAY_PORT"
done
wait "$DUMPCAP"
check "dpdk-dumpcap exits 0" test $? -eq 0
tr '\r' '\n' <"$WORK/dumpcap.out" | grep -v '^$' | sed 's/^/  dumpcap| /'
tcpdump -n -r "$WORK/relay.pcapng" 2>/dev/null >"$WORK/relay.txt"
sed 's/^/  tcpdump| /' "$WORK/relay.txt" | head -n 20
check "the ping got its replies" grep -q ' 0% packet loss' "$WORK/ping.out"
check "captured: the 3 echo requests the relay received" \
  test "$(grep -c "$IP_A > $RELAY_IP: ICMP echo request" "$WORK/relay.txt")" -eq 3
check "captured: the 3 echo replies the relay sent" \
  test "$(grep -c "$RELAY_IP > $IP_A: ICMP echo reply" "$WORK/relay.txt")" -eq 3
check "captured: the 3 marked datagrams to the relay port" \
  test "$(tcpdump -n -A -r "$WORK/relay.pcapng" 2>/dev/null | grep -c "$MARK")" -eq 3
check "the dataplane still runs after the capture" kill -0 "$DP_PID"
finish
