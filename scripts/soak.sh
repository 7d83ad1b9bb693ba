#!/usr/bin/env bash
# Soak: the real processes in the shared netns topology, churned for a given time while a pair
# exchanges numbered packets through the relay. Not part of scripts/test.sh (it runs for as
# long as it is told); run as root.
#   scripts/soak.sh DURATION [BUILD_DIR]        DURATION: seconds, or 30m, 1h
# What it does, on a schedule (seconds, overridable by environment):
#   - the long-lived pair a <-> b sends SOAK_PPS (200) packets/s in windows of SOAK_WINDOW (20)
#     seconds; each window is a new client process, so each rebinds from a new source port;
#   - churn pairs allocate, bind, forward 100 packets and leave (SOAK_CHURN per window, 3;
#     six pairs, each every other window, so their sessions expire in between);
#   - SOAK_IDLE (10) allocations per window are never bound and must expire (bind lifetime 5 s);
#   - every SOAK_RELOAD_EVERY (60) s the policy is rewritten and control gets SIGHUP;
#   - every SOAK_KILL_EVERY (300) s, in turn, dprelay-control or dprelay-dataplane is killed
#     with SIGKILL in the middle of a window and started again;
#   - every 5 s the RSS of both processes and control's session count are sampled.
# At the end it lets every session expire and reports, in SOAK_OUT (BUILD_DIR/soak):
#   rss.csv      time, RSS of the dataplane and of control (kB), sessions, events
#   windows.csv  per window: what happened in it, packets sent and received by a and b
#   summary.txt  RSS over time, loss outside and inside restart windows, leaked sessions
# Exit status 1 when a session or VNI leaked, or a packet was lost outside a restart window.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${1:?usage: soak.sh DURATION [BUILD_DIR]}
DPRELAY_BIN=$(cd "${2:-$ROOT/build}" && pwd)
case "$DURATION" in
  *h) DURATION=$((${DURATION%h} * 3600)) ;;
  *m) DURATION=$((${DURATION%m} * 60)) ;;
  *s) DURATION=${DURATION%s} ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root (network namespaces)" >&2; exit 1; }
command -v jq >/dev/null || { echo "soak: needs jq (scripts/setup.sh installs it)" >&2; exit 1; }
WINDOW=${SOAK_WINDOW:-20}
PPS=${SOAK_PPS:-200}
CHURN=${SOAK_CHURN:-3}
IDLE=${SOAK_IDLE:-10}
RELOAD_EVERY=${SOAK_RELOAD_EVERY:-60}
KILL_EVERY=${SOAK_KILL_EVERY:-300}
BIND_LIFETIME=5
STEADY_LIFETIME=30
OUT=${SOAK_OUT:-$DPRELAY_BIN/soak}
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/dprelay-soak.XXXXXX)
source "$ROOT/scripts/lib/topology.sh"
BG_PIDS=()
cleanup() {
  topo_stop "${BG_PIDS[@]:-}"
  topo_down
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PEER="$DPRELAY_BIN/client/dprelay-peer"
CONTROL="$DPRELAY_BIN/control/dprelay-control"
CTL=("$DPRELAY_BIN/control/dprelayctl" --socket="$WORK/control.sock")
log() { echo "$(date -u +%H:%M:%S) [$((SECONDS - T0))s] $*" | tee -a "$OUT/events.log"; }

topo_up
# Keys: a, b (the pair), c0..c11 (six churn pairs, each used every other window so that its
# session expires in between), i0..i5 (idle allocations: 15 pairs), x (in the policy every
# other reload).
CHURN_KEYS=(c0 c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11)
for k in a b "${CHURN_KEYS[@]}" i0 i1 i2 i3 i4 i5 x; do
  "$PEER" genkey --key_file="$WORK/$k.key" >"$WORK/$k.pub"
done
pub() { cat "$WORK/$1.pub"; }
write_policy() {  # write_policy WITH_X
  local k
  for k in a b "${CHURN_KEYS[@]}" i0 i1 i2 i3 i4 i5; do pub "$k"; done >"$WORK/policy.new"
  [ "$1" = 1 ] && pub x >>"$WORK/policy.new"
  mv "$WORK/policy.new" "$WORK/policy"
}
write_policy 0
CONTROL_KEY=$("$CONTROL" --state_dir="$WORK/state" --print_public_key)
CONTROL_FLAGS=(--bind_lifetime="${BIND_LIFETIME}s" --steady_state_lifetime="${STEADY_LIFETIME}s")

# The current instances' PIDs, for the sampler (a subshell: it cannot see the variables).
note_pids() { echo "${DP_PID:-} ${CONTROL_PID:-}" >"$WORK/pids"; }
start_dataplane() {
  ip -n "$NS_R" link set dp0 xdp off 2>/dev/null || true  # what a killed AF_XDP process leaves
  dataplane_start "$WORK/dp.$1.log" "$WORK/dp.sock" || { cat "$WORK/dp.$1.log"; exit 1; }
  note_pids
}
start_control() {
  control_start "$1" "$WORK/policy" "${CONTROL_FLAGS[@]}" ||
    { cat "$WORK/control.$1.log"; echo "soak: control did not sync" >&2; exit 1; }
  note_pids
}
T0=$SECONDS
DP_GEN=1 CTL_GEN=1
start_dataplane $DP_GEN
start_control $CTL_GEN
log "started: dataplane on net_$DP_DRIVER, control; ${DURATION}s of windows of ${WINDOW}s"

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
EVENTS_FILE=$WORK/events.pending
: >"$EVENTS_FILE"
sampler() {
  echo "t,dataplane_rss_kb,control_rss_kb,control_sessions,events" >"$OUT/rss.csv"
  while :; do
    local dp ctl sessions events
    read -r dp ctl <"$WORK/pids"
    sessions=$("${CTL[@]}" --json status 2>/dev/null | jq -r '.sessions.total // ""')
    events=$(cat "$EVENTS_FILE" 2>/dev/null | tr '\n' ' ')
    : >"$EVENTS_FILE"
    echo "$((SECONDS - T0)),$(rss "$dp"),$(rss "$ctl"),$sessions,${events% }" >>"$OUT/rss.csv"
    sleep 5
  done
}
sampler &
BG_PIDS+=($!)

# A client run in the background: run_peer NS KEY PEER_KEY COUNT PPS OUTFILE.
run_peer() {
  ip netns exec "$1" "$PEER" run --key_file="$WORK/$2.key" --peer="$(pub "$3")" \
    --control="$CONTROL_IP:$CONTROL_PORT" --control_key="$CONTROL_KEY" --count="$4" \
    --pps="$5" --size=200 --pings=1 --timeout="$(($4 / $5 + 15))s" >"$6" 2>&1 &
  BG_PIDS+=($!)
  LAST_PID=$!
}
field() { tail -n 1 "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "window,start_s,event,a_sent,a_received,b_sent,b_received" >"$OUT/windows.csv"
window=0 next_reload=$RELOAD_EVERY next_kill=$KILL_EVERY kill_turn=control with_x=0 idle_pair=0
COUNT=$((WINDOW * PPS))
while [ $((SECONDS - T0)) -lt "$DURATION" ]; do
  window=$((window + 1))
  start=$((SECONDS - T0))
  event=
  run_peer "$NS_A" a b "$COUNT" "$PPS" "$WORK/a.out"
  PA=$LAST_PID
  run_peer "$NS_B" b a "$COUNT" "$PPS" "$WORK/b.out"
  PB=$LAST_PID
  # Churn: pairs that bind, forward and leave; allocations that are never bound.
  for i in $(seq 0 $((CHURN - 1))); do
    c=$(((window % 2) * 3 + i % 3))  # pairs 0-2 in odd windows, 3-5 in even ones
    run_peer "$NS_A" "c$((2 * c))" "c$((2 * c + 1))" 100 100 "$WORK/churn$i.a.out"
    run_peer "$NS_B" "c$((2 * c + 1))" "c$((2 * c))" 100 100 "$WORK/churn$i.b.out"
  done
  for i in $(seq 1 "$IDLE"); do
    idle_pair=$(((idle_pair + 1) % 15))  # the 15 pairs of i0..i5 in turn
    x=0 y=$idle_pair
    while [ "$y" -ge $((5 - x)) ]; do y=$((y - 5 + x)); x=$((x + 1)); done
    ip netns exec "$NS_A" "$PEER" allocate --key_file="$WORK/i$x.key" \
      --peer="$(pub "i$((x + y + 1))")" --control="$CONTROL_IP:$CONTROL_PORT" \
      --control_key="$CONTROL_KEY" --timeout=5s >>"$WORK/idle.out" 2>&1 || true
  done
  sleep $((WINDOW / 2))
  now=$((SECONDS - T0))
  if [ "$now" -ge "$next_reload" ]; then
    with_x=$((1 - with_x))
    write_policy "$with_x"
    kill -HUP "$CONTROL_PID"
    event+="reload "
    echo reload >>"$EVENTS_FILE"
    next_reload=$((next_reload + RELOAD_EVERY))
  fi
  if [ "$now" -ge "$next_kill" ]; then
    if [ "$kill_turn" = control ]; then
      kill -KILL "$CONTROL_PID"
      wait "$CONTROL_PID" 2>/dev/null
      CTL_GEN=$((CTL_GEN + 1))
      start_control $CTL_GEN
      kill_turn=dataplane
      event+="kill_control "
    else
      kill -KILL "$DP_PID"
      wait "$DP_PID" 2>/dev/null
      DP_GEN=$((DP_GEN + 1))
      start_dataplane $DP_GEN
      kill_turn=control
      event+="kill_dataplane "
    fi
    log "window $window: ${event% } (up again)"
    echo "${event% }" | tr ' ' '\n' | grep kill >>"$EVENTS_FILE"
    next_kill=$((next_kill + KILL_EVERY))
  fi
  wait "$PA" "$PB" 2>/dev/null
  echo "$window,$start,${event% },$(field "$WORK/a.out" sent),$(field "$WORK/a.out" received),$(field "$WORK/b.out" sent),$(field "$WORK/b.out" received)" >>"$OUT/windows.csv"
  cat "$WORK/a.out" "$WORK/b.out" | grep -v '^sent=' | sed "s/^/  w$window| /" >>"$OUT/clients.log"
  [ $((window % 15)) -eq 0 ] && log "window $window: $(tail -n 1 "$OUT/rss.csv")"
done
# Every churn client has finished by now (100 packets at 100/s); wait for stragglers.
sleep 3
log "traffic stopped after $window windows; waiting $((STEADY_LIFETIME + BIND_LIFETIME + 10))s for every session to expire"
sleep $((STEADY_LIFETIME + BIND_LIFETIME + 10))
"${CTL[@]}" --json status >"$OUT/status.end.json"
"${CTL[@]}" sessions >"$OUT/sessions.end.txt" 2>&1
CONTROL_SESSIONS=$(jq -r .sessions.total "$OUT/status.end.json")
CONTROL_RSS_END=$(rss "$CONTROL_PID") DP_RSS_END=$(rss "$DP_PID")
dataplane_stop
DP_SESSIONS=$(grep -c '^session vni=' "$WORK/dp.$DP_GEN.log")
cp "$WORK"/dp.*.log "$WORK"/control.*.log "$OUT/"

# Loss: windows with a dataplane kill are restart windows; the others must lose nothing.
read -r out_sent out_lost in_sent in_lost n_restart < <(awk -F, -v c="$COUNT" 'NR > 1 {
    lost = (c - $5) + (c - $7)
    if ($3 ~ /kill_dataplane/) { is += 2 * c; il += lost; nr++ } else { os += 2 * c; ol += lost }
  } END { printf "%d %d %d %d %d\n", os, ol, is, il, nr }' "$OUT/windows.csv")
failed_windows=$(awk -F, -v c="$COUNT" 'NR > 1 && $3 !~ /kill_dataplane/ && ($5 < c || $7 < c) {printf "%s ", $1}' "$OUT/windows.csv")
rss_line() {  # rss_line COLUMN: the column's samples at 0 %, 25 %, 50 %, 75 %, 100 % of the run
  awk -F, -v col="$1" 'NR > 1 && $col != "" { v[n++] = $col } END {
    printf "%s %s %s %s %s", v[0], v[int(n / 4)], v[int(n / 2)], v[int(3 * n / 4)], v[n - 1] }' "$OUT/rss.csv"
}
{
  echo "soak: ${DURATION}s, $window windows of ${WINDOW}s at ${PPS} pps each way, dataplane on net_$DP_DRIVER"
  echo "events: $(grep -c reload "$OUT/rss.csv" || true) reloads, $((CTL_GEN - 1)) control kills, $((DP_GEN - 1)) dataplane kills"
  echo "RSS kB at 0/25/50/75/100 % of the run: dataplane $(rss_line 2); control $(rss_line 3)"
  echo "RSS kB of the last instances at the end: dataplane $DP_RSS_END, control $CONTROL_RSS_END"
  echo "loss outside restart windows: $out_lost of $out_sent packets${failed_windows:+ (windows $failed_windows)}"
  echo "loss in the $n_restart dataplane-restart windows: $in_lost of $in_sent packets"
  echo "leaked after every lifetime passed: control sessions=$CONTROL_SESSIONS, dataplane sessions=$DP_SESSIONS"
  grep '^counters:' "$WORK/dp.$DP_GEN.log" | tail -n 1 | cut -c1-400
} | tee "$OUT/summary.txt"
[ "$CONTROL_SESSIONS" = 0 ] && [ "$DP_SESSIONS" = 0 ] && [ "$out_lost" = 0 ]
