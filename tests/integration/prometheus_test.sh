#!/usr/bin/env bash
# Integration: the real Prometheus server (Debian's prometheus) scrapes dprelay-control every
# second, with conf/prometheus-alerts.yml loaded, while a client pair forwards through the
# relay (plus a few dropped packets and a refused allocation, so the "> 0" panels have data).
# Through Prometheus's HTTP API: the target is up; every expression of every panel of
# conf/grafana-dashboard.json returns data and filters by $instance; every alert rule is
# loaded and healthy and its queries (without the threshold) return data; stopping the
# dataplane makes DprelayDataplaneDisconnected pending.
# Prometheus and control listen on loopback inside the test's relay namespace (no host port).
#   prometheus_test.sh BUILD_DIR
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DPRELAY_BIN=$(cd "${1:?usage: prometheus_test.sh BUILD_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "prometheus_test: needs root (network namespaces)"; exit 1; }
for tool in prometheus promtool jq curl python3; do
  command -v "$tool" >/dev/null || { echo "prometheus_test: needs $tool (scripts/setup.sh)"; exit 1; }
done
WORK=$(mktemp -d /tmp/dprelay-prometheus.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
trap 'topo_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

source "$ROOT/tests/integration/checks.sh"

PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
EXPRS="$ROOT/tests/integration/prometheus_exprs.py"
METRICS=127.0.0.1:9464
PROM=http://127.0.0.1:9090

# api PATH [curl args...]: Prometheus's HTTP API from inside the relay namespace.
api() {
  local path=$1
  shift
  ip netns exec "$NS_R" curl -sf --max-time 5 "$@" "$PROM$path"
}
# query PROMQL: the result vector as JSON.
query() { api /api/v1/query --data-urlencode "query=$1" | jq -c '.data.result'; }
# has_data PROMQL: at least one sample.
has_data() { [ "$(query "$1" | jq 'length')" -gt 0 ] 2>/dev/null; }
# wait_for SECONDS COMMAND...: polls every 0.5 s.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.5
  done
}

topo_up
KEY_A=$("$PEER" genkey --key_file="$WORK/a.key")
KEY_B=$("$PEER" genkey --key_file="$WORK/b.key")
"$PEER" genkey --key_file="$WORK/c.key" >/dev/null
# The policy's capacity is below the dataplane's session table (--capacity, 65536): it is the
# relay's capacity.
printf '%s\n%s\ncapacity 1000\n' "$KEY_A" "$KEY_B" >"$WORK/policy"
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)

if ! dataplane_start "$WORK/dp.log" "$WORK/dp.sock"; then
  cat "$WORK/dp.log"
  check "dataplane starts" false
  finish
fi
check "control starts with --metrics_listen=$METRICS" \
  control_start 1 "$WORK/policy" --metrics_listen="$METRICS"

cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/conf/prometheus-alerts.yml
scrape_configs:
  - job_name: dprelay
    static_configs:
      - targets: ['$METRICS']
EOF
check "promtool accepts the scrape configuration with the rules" \
  promtool check config "$WORK/prometheus.yml"
topo_spawn "$WORK/prometheus.log" "$NS_R" prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address="${PROM#http://}" --log.level=warn
PROM_PID=$SPAWNED_PID
if ! check "Prometheus is ready" wait_for 20 api /-/ready -o /dev/null; then
  cat "$WORK/prometheus.log"
  finish
fi
echo "prometheus $(prometheus --version 2>&1 | head -n 1 | awk '{print $3}') (pid $PROM_PID)"

target_up() {
  api /api/v1/targets | jq -e '.data.activeTargets | length == 1 and
    (.[0] | .health == "up" and .labels.job == "dprelay" and .scrapeUrl == "http://'"$METRICS"'/metrics")' \
    >/dev/null
}
check "/api/v1/targets: the dprelay target is up" wait_for 15 target_up
api /api/v1/targets | jq -c '.data.activeTargets[] | {scrapeUrl, health, lastError}'

# The pair forwards for about 20 s (2000 packets each way at 100/s).
peer_run() {  # peer_run OUT NS KEYFILE PEERKEY; sets SPAWNED_PID
  topo_spawn "$1" "$2" "$PEER" run --key_file="$3" --peer="$4" \
    --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" \
    --count=2000 --pps=100 --size=200 --pings=3 --timeout=60s
}
peer_run "$WORK/a.out" "$NS_A" "$WORK/a.key" "$KEY_B"
PA=$SPAWNED_PID
peer_run "$WORK/b.out" "$NS_B" "$WORK/b.key" "$KEY_A"
PB=$SPAWNED_PID
# Prometheus has scraped the refusal counters at zero by now: the refusal below is a rise.
sleep 2
# Data for a VNI with no session: drop_unknown_vni. The dataplane reports a drop reason only
# once it is not zero, so its series starts at the first burst's count and only a second
# burst is a rise that rate() and increase() can see.
send_unknown_vni() {
  ip netns exec "$NS_A" "$PEER" send-raw --relay="$RELAY_IP:$RELAY_PORT" --vni=4000 --count=5 \
    >>"$WORK/raw.out" 2>&1
}
send_unknown_vni
ip netns exec "$NS_A" "$PEER" allocate --key_file="$WORK/c.key" --peer="$KEY_B" \
  --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" --timeout=1s \
  >"$WORK/c.out" 2>&1
check "an unlisted key is refused" bash -c "! grep -q '^allocation' '$WORK/c.out'"

check "Prometheus has the unknown_vni drop series" wait_for 10 \
  has_data 'dprelay_dataplane_drops_total{job="dprelay", reason="unknown_vni"}'
send_unknown_vni
forwarding() { has_data 'sum(rate(tailscaled_peer_relay_forwarded_packets_total{job="dprelay"}[1m])) > 0'; }
check "Prometheus sees the pair forwarding" wait_for 20 forwarding
check "dprelay_sessions is 1 (the pair's session)" has_data 'dprelay_sessions{job="dprelay"} == 1'
check "dprelay_session_capacity is the policy's 1000" \
  has_data 'dprelay_session_capacity{job="dprelay"} == 1000'
# The drops and the refusal reach Prometheus within a stats poll and a scrape.
check "Prometheus sees the unknown_vni drops" wait_for 10 \
  has_data 'increase(dprelay_dataplane_drops_total{reason="unknown_vni"}[1m]) > 0'
check "Prometheus sees the not_allowed refusal" wait_for 10 \
  has_data 'increase(dprelay_allocation_refusals_total{reason="not_allowed"}[1m]) > 0'

# Every panel: an instance matcher, and data.
python3 "$EXPRS" dashboard "$ROOT/conf/grafana-dashboard.json" >"$WORK/panels.tsv"
check "the dashboard has panel expressions ($(wc -l <"$WORK/panels.tsv"))" test -s "$WORK/panels.tsv"
while IFS=$'\t' read -r name expr matcher; do
  check "$name filters by instance=~\"\$instance\"" test "$matcher" = yes
  check "$name returns data: $expr" has_data "$expr"
done <"$WORK/panels.tsv"

# Every alert rule: loaded, healthy (evaluated without error), its queries return data.
api /api/v1/rules >"$WORK/rules.json"
grep -o '^ *- alert: [A-Za-z]*' "$ROOT/conf/prometheus-alerts.yml" | awk '{print $3}' | sort \
  >"$WORK/alerts.want"
jq -r '.data.groups[].rules[] | select(.type == "alerting") | .name' "$WORK/rules.json" | sort \
  >"$WORK/alerts.got"
check "/api/v1/rules: every alert of conf/prometheus-alerts.yml is loaded ($(wc -l <"$WORK/alerts.want"))" \
  bash -c "[ -s '$WORK/alerts.want' ] && diff '$WORK/alerts.want' '$WORK/alerts.got'"
python3 "$EXPRS" rules <"$WORK/rules.json" >"$WORK/rules.tsv"
while IFS=$'\t' read -r name health expr; do
  check "$name is healthy ($health)" test "$health" = ok
  check "$name's query returns data: $expr" has_data "$expr"
done <"$WORK/rules.tsv"

rc_a=0 rc_b=0
wait "$PA" || rc_a=$?
wait "$PB" || rc_b=$?
sed 's/^/  a| /' "$WORK/a.out" | tail -n 3
check "the pair forwarded every packet both ways" \
  bash -c "[ $rc_a -eq 0 ] && [ $rc_b -eq 0 ] && grep -q 'received=2000 corrupt=0' '$WORK/a.out' && grep -q 'received=2000 corrupt=0' '$WORK/b.out'"

# The dataplane goes away: the alert's expression holds at once, so it is pending (for: 1m).
dataplane_stop
disconnected_pending() {
  api /api/v1/alerts | jq -e '[.data.alerts[] | select(.labels.alertname == "DprelayDataplaneDisconnected"
    and .labels.job == "dprelay" and .state == "pending")] | length == 1' >/dev/null
}
check "the dataplane stopped: DprelayDataplaneDisconnected is pending" wait_for 15 disconnected_pending
topo_stop "$PROM_PID"
finish
