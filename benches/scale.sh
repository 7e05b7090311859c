#!/usr/bin/env bash
# Scale and visibility runs against our own name server and broker (release build), each
# measured at a small and a large size back to back, so the figures are growth ratios that hold
# on a busy machine. Server CPU comes from /proc/PID/stat (rmq-loadgen --server-pid).
#
#   benches/scale.sh                       # every phase
#   PHASES="register route" benches/scale.sh
#
# Phases:
#   register  REGISTER_BROKER with SMALL_TOPICS then BIG_TOPICS topics (first, same version, changed version)
#   route     GET_ROUTEINFO_BY_TOPIC QPS with SMALL_TOPICS registered, then with BIG_TOPICS more
#   spread    produce one message per queue over SMALL_TOPICS then BIG_TOPICS topics × QUEUES (create pass + steady pass)
#   clients   SMALL_CLIENTS then BIG_CLIENTS connections heartbeating (join round + steady rounds), RSS
#   visible   send -> visible delay under 64 in flight (GET_MAX_OFFSET, then PULL)
#
# Knobs: WORK (/tmp/rmq-scale), NS_PORT (24876), BROKER_PORT (24911), SMALL_TOPICS (100),
# BIG_TOPICS (10000), QUEUES (8), SPREAD_QUEUES (4), CQ_FILE_BYTES (40960), SMALL_CLIENTS (500),
# BIG_CLIENTS (5000), CLIENT_GROUPS (50), MAX_CONNECTIONS (the broker's serverMaxConnections;
# empty = its default, 65536 held under the open-file limit), ROUNDS (5), DURATION (10), SKIP_BUILD.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
T_START=$SECONDS
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

WORK="${WORK:-/tmp/rmq-scale}"
NS_PORT="${NS_PORT:-24876}"
BROKER_PORT="${BROKER_PORT:-24911}"
SMALL_TOPICS="${SMALL_TOPICS:-100}"
BIG_TOPICS="${BIG_TOPICS:-10000}"
QUEUES="${QUEUES:-8}"
# 10,000 topics × 8 queues are 80,000 ConsumeQueue maps, above the default vm.max_map_count (65530).
SPREAD_QUEUES="${SPREAD_QUEUES:-4}"
# Each ConsumeQueue file is reserved (fallocate) at creation, 5.7 MB by default as in Java: 40,000
# queues would reserve 229 GB. Small files keep the run on an ordinary disk.
CQ_FILE_BYTES="${CQ_FILE_BYTES:-40960}"
SMALL_CLIENTS="${SMALL_CLIENTS:-500}"
BIG_CLIENTS="${BIG_CLIENTS:-5000}"
CLIENT_GROUPS="${CLIENT_GROUPS:-50}"
MAX_CONNECTIONS="${MAX_CONNECTIONS:-}"
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10}"
PHASES="${PHASES:-register route spread clients visible}"
BIN="${BIN:-$ROOT/target/release}"
NS="127.0.0.1:$NS_PORT"
BROKER="127.0.0.1:$BROKER_PORT"
LG="$BIN/rmq-loadgen"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$ROOT" && nice cargo build --release --locked -j 2 --bins) || die "build failed"
fi
mkdir -p "$WORK/logs"
OUT="$WORK/scale.out"
: >"$OUT"
has() { [[ " $PHASES " == *" $1 "* ]]; }
note() { echo "$*" | tee -a "$OUT"; }
for b in mqnamesrv rmq-loadgen $(has spread || has clients || has visible && echo mqbroker); do [[ -x "$BIN/$b" ]] || die "missing $BIN/$b"; done

start_ns() {
    echo "listenPort=$NS_PORT" >"$WORK/namesrv.conf"
    HOME="$WORK/home" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$WORK/logs/namesrv.log" 2>&1 &
    NS_PID=$!; PIDS+=("$NS_PID")
    wait_line "$WORK/logs/namesrv.log" "boot success" 30 "$NS_PID" || die "name server did not start"
}
start_broker() {
    rm -rf "$WORK/store"; mkdir -p "$WORK/store"
    cat >"$WORK/broker.conf" <<EOF
brokerClusterName=ScaleBench
brokerName=scale-a
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NS
listenPort=$BROKER_PORT
storePathRootDir=$WORK/store
storePathCommitLog=$WORK/store/commitlog
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
mappedFileSizeCommitLog=1073741824
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
defaultTopicQueueNums=$SPREAD_QUEUES
mappedFileSizeConsumeQueue=$CQ_FILE_BYTES
EOF
    [[ -n "$MAX_CONNECTIONS" ]] && echo "serverMaxConnections=$MAX_CONNECTIONS" >>"$WORK/broker.conf"
    HOME="$WORK/home" "$BIN/mqbroker" -c "$WORK/broker.conf" >"$WORK/logs/broker.log" 2>&1 &
    BROKER_PID=$!; PIDS+=("$BROKER_PID")
    wait_line "$WORK/logs/broker.log" "boot success" 30 "$BROKER_PID" || die "broker did not start"
    sleep 1
}
# Open descriptors and memory maps of the broker, its open-file limit and any EMFILE / cap lines
# in its log: the two per-process limits the spread and clients phases run into.
fds_and_maps() {
    local fds maps lim
    fds=$(find "/proc/$BROKER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    maps=$(wc -l <"/proc/$BROKER_PID/maps" 2>/dev/null)
    lim=$(awk '/Max open files/ {print $4}' "/proc/$BROKER_PID/limits" 2>/dev/null)
    note "broker $1: open descriptors $fds (limit $lim), memory maps $maps (vm.max_map_count $(cat /proc/sys/vm/max_map_count)); log lines: EMFILE $(grep -c 'Too many open files' "$WORK/logs/broker.log"), cap $(grep -c 'connection cap' "$WORK/logs/broker.log")"
}
stop_all() { stop_pid "${BROKER_PID:-}" 20; stop_pid "${NS_PID:-}" 5; BROKER_PID=""; NS_PID=""; }

note "# scale.sh $(date -u '+%F %T') UTC; loadavg $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc)"
start_ns
if has register || has route; then
    for n in 10 "$BIG_TOPICS"; do
        # Runs in the background and keeps its connection: the name server drops the routes of a
        # broker whose connection closes.
        timeout -k 5 $((DURATION + 400)) "$LG" register --namesrv "$NS" --prefix "Reg${n}_" --topics "$n" \
            --queues "$QUEUES" --rounds "$ROUNDS" --server-pid "$NS_PID" --hold $((2 * DURATION + 300)) \
            >"$WORK/logs/register-$n.log" 2>&1 &
        REG_PID=$!; PIDS+=("$REG_PID")
        wait_line "$WORK/logs/register-$n.log" "holding" 380 "$REG_PID" || die "register $n failed (see $WORK/logs/register-$n.log)"
        has register && grep -E '^(phase|register body)' "$WORK/logs/register-$n.log" | tee -a "$OUT"
        if has route; then
            c0=$(cpu_ticks "$NS_PID")
            run $((DURATION + 30)) "$WORK/logs/route-$n.log" "$LG" route --namesrv "$NS" --topic "Reg10_0" \
                --concurrency 16 --duration "$DURATION"
            c1=$(cpu_ticks "$NS_PID")
            n_ok=$(grep -oE '^route [^:]*: [0-9]+' "$WORK/logs/route-$n.log" | awk '{print $NF}')
            note "route with $n topics more registered: $(grep -E '^route ' "$WORK/logs/route-$n.log") ns_us_per_query=$(us_per $((c1 - c0)) "$n_ok")"
        fi
    done
fi
if has spread || has clients || has visible; then
    start_broker
    note "broker RSS after boot: $(status_kib "$BROKER_PID" VmRSS) KiB"
    if has spread; then
        for n in "$SMALL_TOPICS" "$BIG_TOPICS"; do
            run 900 "$WORK/logs/spread-$n.log" "$LG" spread --broker "$BROKER" --prefix "Spread${n}_" \
                --topics "$n" --queues "$SPREAD_QUEUES" --passes 2 --server-pid "$BROKER_PID"
            grep -E '^(phase|errors)' "$WORK/logs/spread-$n.log" | tee -a "$OUT"
        done
        note "broker RSS after spread: $(status_kib "$BROKER_PID" VmRSS) KiB; topics.json $(stat -c %s "$WORK/store/config/topics.json" 2>/dev/null) bytes"
        fds_and_maps "after spread"
        # Periodic re-registration of the big table: broker CPU over 2 periods while idle.
        c0=$(cpu_ticks "$BROKER_PID"); sleep 65; c1=$(cpu_ticks "$BROKER_PID")
        note "broker idle CPU with $BIG_TOPICS+ topics over 65 s (2 registrations): $((c1 - c0)) ticks"
    fi
    if has visible; then
        for mode in "" --pull; do
            run $((DURATION + 60)) "$WORK/logs/visible$mode.log" "$LG" visible --broker "$BROKER" \
                --topic VisibleTopic --queues "$SPREAD_QUEUES" --duration "$DURATION" $mode
            grep -E '^visible' "$WORK/logs/visible$mode.log" | tee -a "$OUT"
        done
    fi
    if has clients; then
        for n in "$SMALL_CLIENTS" "$BIG_CLIENTS"; do
            run 900 "$WORK/logs/clients-$n.log" "$LG" clients --broker "$BROKER" --count "$n" \
                --groups "$CLIENT_GROUPS" --rounds "$ROUNDS" --server-pid "$BROKER_PID"
            grep -E '^(phase|errors|server)' "$WORK/logs/clients-$n.log" | tee -a "$OUT"
        done
        fds_and_maps "after clients"
    fi
fi
stop_all
log "done; summary in $OUT"
