#!/usr/bin/env bash
# coturn baseline: Debian's turnserver on one core in its own network namespace, driven by
# turnutils_uclient (client-to-client relaying, many clients) from another namespace. uclient
# paces its sends and cannot saturate turnserver, so the per-core figure is relayed messages per
# CPU-second of turnserver (its utime+stime from /proc, allocations included).
#   perf/coturn_baseline.sh [CLIENTS] [MESSAGES_EACH] [PAYLOAD]   (root; prints one line)
set -euo pipefail
CLIENTS=${1:-200} MESSAGES=${2:-1000} PAYLOAD=${3:-86}
command -v turnserver >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn >/dev/null
S="dpr-turn-s-$$" C="dpr-turn-c-$$"
WORK=$(mktemp -d /tmp/dprelay-coturn.XXXXXX)
TP=""
cleanup() {
  if [ -n "$TP" ]; then
    kill "$TP" 2>/dev/null || true
    wait "$TP" 2>/dev/null || true
  fi
  ip netns del "$S" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$S"
ip netns add "$C"
ip link add eth0 netns "$S" type veth peer name eth0 netns "$C"
ip -n "$S" addr add 10.88.0.1/24 dev eth0
ip -n "$C" addr add 10.88.0.2/24 dev eth0
for n in "$S" "$C"; do ip -n "$n" link set eth0 up; ip -n "$n" link set lo up; done
# coturn refuses loopback peers even when told otherwise, hence the namespaces.
ip netns exec "$S" taskset -c 1 turnserver -c /dev/null -n --listening-ip=10.88.0.1 \
  --relay-ip=10.88.0.1 --no-auth --no-tls --no-dtls --no-cli --relay-threads=1 \
  --min-port=40000 --max-port=60000 --log-file=stdout --simple-log >"$WORK/turn.log" 2>&1 &
TP=$!
sleep 1
ip netns exec "$C" taskset -c 0 timeout 120 turnutils_uclient -y -c -m "$CLIENTS" \
  -n "$MESSAGES" -l "$PAYLOAD" -z 1 10.88.0.1 >"$WORK/uclient.log" 2>&1
TICKS=$(awk '{print $14 + $15}' /proc/$TP/stat)
HZ=$(getconf CLK_TCK)
RECV=$(sed -n 's/.*tot_send_msgs=[0-9]*, tot_recv_msgs=\([0-9]*\)$/\1/p' "$WORK/uclient.log" | tail -n 1)
awk -v r="${RECV:-0}" -v t="$TICKS" -v hz="$HZ" -v p="$PAYLOAD" 'BEGIN {
  cpu = t / hz; printf "coturn payload=%d relayed=%d cpu_seconds=%.2f mpps_per_core=%.4f\n", p, r, cpu, (cpu > 0 ? r / cpu / 1e6 : 0) }'
