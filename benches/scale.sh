#!/usr/bin/env bash
# Scale runs against Java 5.3.3's and our name server and broker (release build), Java first, then ours,
# on the same ports and sizes. Each figure is measured at a small and a large size back to back, so the
# growth ratios (and the ours/Java ratios) hold on a busy machine. Server CPU comes from /proc/PID/stat.
#
#   benches/scale.sh                       # IMPL=both, every phase but visible
#   IMPL=ours PHASES="register route" benches/scale.sh
#
# Phases:
#   register  REGISTER_BROKER with 10 then BIG_TOPICS topics (first, same version = the 30 s re-registration,
#             changed version): name-server CPU and wall time
#   route     GET_ROUTEINFO_BY_TOPIC QPS and name-server CPU per query with 10 topics, then with BIG_TOPICS more
#   spread    produce TPS into one topic × ONE_QUEUES queues (PRODUCE_SECS), then, for each TOPICSxQUEUES of
#             SPREAD_SIZES on a fresh broker, one message per queue per pass (create pass + 2 steady passes),
#             then the broker's idle CPU over PERIOD_SECS (its periodic re-registration of the whole table)
#   clients   for each N of CLIENT_SIZES on a fresh broker: N connections join (one HEART_BEAT each), then
#             heartbeat once each spread over HB_INTERVAL s while a producer runs PRODUCE_SECS: TPS, broker RSS
#   visible   send -> visible delay under 64 in flight (GET_MAX_OFFSET, then PULL)
#
# Knobs: IMPL (both | java | ours), WORK (/tmp/rmq-scale), JAVA_WORK (where the Java classpath is cached in
# lib/, default $WORK), NS_PORT (24876), BROKER_PORT (24911), BIG_TOPICS (10000), QUEUES (8),
# SPREAD_SIZES ("2000x8 7000x8 10000x8"), JAVA_MAX_QUEUES (Java's MappedFile keeps one descriptor per ConsumeQueue
# file: sizes with more queues than this are not run on Java; default the open-file limit − 2000),
# ONE_QUEUES (4), CQ_FILE_BYTES (40960), CLIENT_SIZES ("0 500 5000"), CLIENT_GROUPS (50), HB_INTERVAL (30),
# PRODUCE_SECS (20), PERIOD_SECS (35), SETTLED_TICKS (25), SETTLE_MAX_SECS (300), MAX_CONNECTIONS, ROUNDS (5), DURATION (10), SKIP_BUILD.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"

WORK="${WORK:-/tmp/rmq-scale}"
JAVA_WORK="${JAVA_WORK:-$WORK}"
IMPL="${IMPL:-both}"
NS_PORT="${NS_PORT:-24876}"
BROKER_PORT="${BROKER_PORT:-24911}"
BIG_TOPICS="${BIG_TOPICS:-10000}"
QUEUES="${QUEUES:-8}"
# 10,000 topics × 8 queues are 80,000 ConsumeQueue maps, above the default vm.max_map_count (65,530), for
# both implementations (each keeps every queue file mapped); Java also keeps a descriptor per file.
SPREAD_SIZES="${SPREAD_SIZES:-2000x8 7000x8 10000x8}"
JAVA_MAX_QUEUES="${JAVA_MAX_QUEUES:-$(($(ulimit -n) - 2000))}"
# 4: what an auto-created topic gets from a Java producer (defaultTopicQueueNums) and the
# produce mode asks for; the Java broker rejects sends to queues beyond it.
ONE_QUEUES="${ONE_QUEUES:-4}"
# Each ConsumeQueue file is reserved at creation, 5.7 MB by default as in Java: 80,000 queues would reserve
# 458 GB. Small files keep the run on an ordinary disk (a multiple of Java's 20-byte unit).
CQ_FILE_BYTES="${CQ_FILE_BYTES:-40960}"
CLIENT_SIZES="${CLIENT_SIZES:-0 500 5000}"
CLIENT_GROUPS="${CLIENT_GROUPS:-50}"
HB_INTERVAL="${HB_INTERVAL:-30}"
PRODUCE_SECS="${PRODUCE_SECS:-20}"
PERIOD_SECS="${PERIOD_SECS:-35}"
SETTLED_TICKS="${SETTLED_TICKS:-25}"   # a 5 s window under this (5 % of a core) ends the catch-up
SETTLE_MAX_SECS="${SETTLE_MAX_SECS:-300}"
MAX_CONNECTIONS="${MAX_CONNECTIONS:-}"
ROUNDS="${ROUNDS:-5}"
DURATION="${DURATION:-10}"
PHASES="${PHASES:-register route spread clients}"
BIN="${BIN:-$ROOT/target/release}"
NS="127.0.0.1:$NS_PORT"
BROKER="127.0.0.1:$BROKER_PORT"
LG="$BIN/rmq-loadgen"
case $IMPL in both) IMPLS=(java ours) ;; java | ours) IMPLS=("$IMPL") ;; *) die "IMPL must be both, java or ours" ;; esac

mkdir -p "$WORK/logs"
if [[ -z "${SKIP_BUILD:-}" ]]; then
    (cd "$ROOT" && nice cargo build --release --locked -j 2 --bins) || die "build failed"
fi
OUT="$WORK/scale.out"
: >"$OUT"
has() { [[ " $PHASES " == *" $1 "* ]]; }
note() { echo "$*" | tee -a "$OUT"; }
needs_broker() { has spread || has clients || has visible; }
for b in mqnamesrv rmq-loadgen $(needs_broker && echo mqbroker); do [[ -x "$BIN/$b" ]] || die "missing $BIN/$b"; done
if [[ " ${IMPLS[*]} " == *" java "* ]]; then
    require_tools mvn java
    # fetch_java_jars (lib.sh) caches the classpath in $WORK/lib; JAVA_WORK can point at compare_java.sh's.
    (WORK="$JAVA_WORK"; mkdir -p "$WORK/logs"; fetch_java_jars) || die "Java classpath"
fi
JCP="$JAVA_WORK/lib/*"
JHOME="$WORK/home"
JCOMMON+=(-Duser.home="$JHOME" -Drocketmq.home.dir="$JHOME")
export ROCKETMQ_HOME="$JHOME"

start_ns() { # <impl> -> NS_PID
    echo "listenPort=$NS_PORT" >"$WORK/namesrv.conf"
    rm -rf "$JHOME/namesrv"
    if [[ $1 == java ]]; then
        java "${JCOMMON[@]}" -Xms512m -Xmx512m -cp "$JCP" org.apache.rocketmq.namesrv.NamesrvStartup \
            -c "$WORK/namesrv.conf" >"$WORK/logs/$1-namesrv.log" 2>&1 &
    else
        HOME="$JHOME" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$WORK/logs/$1-namesrv.log" 2>&1 &
    fi
    NS_PID=$!; PIDS+=("$NS_PID")
    wait_line "$WORK/logs/$1-namesrv.log" "boot success" 60 "$NS_PID" || die "$1 name server did not start"
}
start_broker() { # <impl> <log label> -> BROKER_PID, on an empty store
    stop_pid "${BROKER_PID:-}" 30; BROKER_PID=""
    rm -rf "$WORK/store" "$JHOME/store"; mkdir -p "$WORK/store"
    # Java's own logs (broker.log, store.log) of the previous broker are kept aside, so the EMFILE / map-failure
    # counts of fds_and_maps are this broker's.
    [[ -d "$JHOME/logs/rocketmqlogs" ]] && mv "$JHOME/logs/rocketmqlogs" "$WORK/logs/java-rocketmqlogs-before-$1-$2"
    BLOG="$WORK/logs/$1-broker-$2.log"
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
defaultTopicQueueNums=$QUEUES
mappedFileSizeConsumeQueue=$CQ_FILE_BYTES
EOF
    [[ -n "$MAX_CONNECTIONS" ]] && echo "serverMaxConnections=$MAX_CONNECTIONS" >>"$WORK/broker.conf"
    if [[ $1 == java ]]; then
        java "${JCOMMON[@]}" "${JBROKER_OPTS[@]}" -cp "$JCP" org.apache.rocketmq.broker.BrokerStartup \
            -c "$WORK/broker.conf" >"$BLOG" 2>&1 &
    else
        HOME="$JHOME" "$BIN/mqbroker" -c "$WORK/broker.conf" >"$BLOG" 2>&1 &
    fi
    BROKER_PID=$!; PIDS+=("$BROKER_PID")
    wait_line "$BLOG" "boot success" 90 "$BROKER_PID" || die "$1 broker did not start (see $BLOG)"
    sleep 2
}
# Open descriptors and memory maps of the broker, its open-file limit and any EMFILE / map-failure lines in
# its logs: the two per-process limits the spread and clients phases run into.
fds_and_maps() { # <impl> <label>
    local fds maps lim emfile mapfail
    fds=$(find "/proc/$BROKER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    maps=$(wc -l <"/proc/$BROKER_PID/maps" 2>/dev/null)
    lim=$(awk '/Max open files/ {print $4}' "/proc/$BROKER_PID/limits" 2>/dev/null)
    emfile=$(cat "$BLOG" "$JHOME"/logs/rocketmqlogs/*.log 2>/dev/null | grep -c 'Too many open files')
    mapfail=$(cat "$BLOG" "$JHOME"/logs/rocketmqlogs/*.log 2>/dev/null | grep -ciE 'map failed|cannot allocate memory|ENOMEM|OutOfMemory')
    R[$1.$2_fds]=$fds; R[$1.$2_maps]=$maps; R[$1.$2_emfile]=$emfile; R[$1.$2_mapfail]=$mapfail
    note "$1 broker $2: open descriptors $fds (limit $lim), memory maps $maps (vm.max_map_count $(cat /proc/sys/vm/max_map_count)); log lines: 'Too many open files' $emfile, map failures $mapfail"
}
# phase_field <log> <phase label regex> <field>: the field of the last matching "phase ..." line.
phase_field() { grep -E "^phase $2" "$1" | tail -1 | grep -oE " $3=[0-9.]+" | cut -d= -f2; }
ms() { awk -v v="$1" 'BEGIN { if (v == "") print ""; else printf "%.1f", v / 1000 }'; }

register_route() { # <impl>
    local n c0 c1 n_ok lf
    for n in 10 "$BIG_TOPICS"; do
        lf="$WORK/logs/$1-register-$n.log"
        # In the background, keeping its connection: the name server drops the routes of a broker whose
        # connection closes.
        timeout -k 5 $((DURATION + 400)) "$LG" register --namesrv "$NS" --prefix "Reg${n}_" --topics "$n" \
            --queues "$QUEUES" --rounds "$ROUNDS" --server-pid "$NS_PID" --hold $((2 * DURATION + 300)) \
            >"$lf" 2>&1 &
        REG_PID=$!; PIDS+=("$REG_PID"); REG_PIDS+=("$REG_PID")
        wait_line "$lf" "holding" 380 "$REG_PID" || die "$1 register $n failed (see $lf)"
        grep -E '^(phase|register body)' "$lf" | sed "s/^/$1 /" | tee -a "$OUT"
        for k in first again changed; do
            R[$1.reg_${k}_$n]=$(phase_field "$lf" "register-$k" server_us_per_op)
            R[$1.reg_${k}_wall_$n]=$(phase_field "$lf" "register-$k" wall_us_per_op)
        done
        if has route; then
            # Warm-up (Java's JIT), not counted.
            [[ $n == 10 ]] && run 30 "$WORK/logs/$1-route-warm.log" "$LG" route --namesrv "$NS" --topic "Reg10_0" \
                --concurrency 16 --duration 3
            c0=$(cpu_ticks "$NS_PID")
            run $((DURATION + 30)) "$WORK/logs/$1-route-$n.log" "$LG" route --namesrv "$NS" --topic "Reg10_0" \
                --concurrency 16 --duration "$DURATION"
            c1=$(cpu_ticks "$NS_PID")
            n_ok=$(grep -oE '^route [^:]*: [0-9]+' "$WORK/logs/$1-route-$n.log" | awk '{print $NF}')
            R[$1.route_qps_$n]=$(grep -E '^route ' "$WORK/logs/$1-route-$n.log" | sed -E 's/.*= ([0-9]+) msg\/s.*/\1/')
            R[$1.route_us_$n]=$(us_per $((c1 - c0)) "$n_ok")
            note "$1 route with $n topics more registered: $(grep -E '^route ' "$WORK/logs/$1-route-$n.log") ns_us_per_query=${R[$1.route_us_$n]}"
        fi
    done
}

spread() { # <impl>
    local size t q lf c0 c1
    start_broker "$1" one
    # One topic: warm-up (creates the topic), then the measured run.
    run $((PRODUCE_SECS + 60)) "$WORK/logs/$1-one-warm.log" "$LG" produce --broker "$BROKER" --topic ScaleOne \
        --queues "$ONE_QUEUES" --duration 5
    run $((PRODUCE_SECS + 60)) "$WORK/logs/$1-one.log" "$LG" produce --broker "$BROKER" --topic ScaleOne \
        --queues "$ONE_QUEUES" --duration "$PRODUCE_SECS"
    parse_produce "$1" one "$WORK/logs/$1-one.log"
    note "$1 produce, 1 topic × $ONE_QUEUES queues: ${R[$1.one_tps]:-?} msg/s, p99 ${R[$1.one_p99]:-?} us, errors ${R[$1.one_err]:-?}"
    for size in $SPREAD_SIZES; do
        t=${size%x*}; q=${size#*x}
        if [[ $1 == java ]] && ((t * q > JAVA_MAX_QUEUES)); then
            R[$1.spread_${size}_skip]="not run: $((t * q)) ConsumeQueue files > JAVA_MAX_QUEUES=$JAVA_MAX_QUEUES (Java keeps a descriptor per file; open-file limit $(ulimit -n))"
            note "$1 spread $size: ${R[$1.spread_${size}_skip]}"
            continue
        fi
        start_broker "$1" "spread-$size"
        lf="$WORK/logs/$1-spread-$size.log"
        run 1200 "$lf" "$LG" spread --broker "$BROKER" --prefix "Spread${t}_" --topics "$t" --queues "$q" \
            --passes 3 --server-pid "$BROKER_PID"
        grep -E '^(phase|errors|first error)' "$lf" | sed "s/^/$1 /" | tee -a "$OUT"
        R[$1.spread_${size}_errors]=$(awk '/^errors:/ {s += $2} END {print s + 0}' "$lf")
        R[$1.spread_${size}_first]=$(grep -m1 '^first error' "$lf")
        R[$1.spread_${size}_create_wall]=$(phase_field "$lf" "spread-create" wall_s)
        R[$1.spread_${size}_create_us]=$(phase_field "$lf" "spread-create" server_us_per_op)
        R[$1.spread_${size}_steady_us]=$(phase_field "$lf" "spread-steady" server_us_per_op)
        # Acknowledged sends of the last steady pass per second (its "errors:" line follows it).
        R[$1.spread_${size}_tps]=$(awk '/^phase spread-steady/ {for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}}
            /^errors:/ {e = $2} END {if (v["wall_s"] > 0) printf "%.0f", (v["ops"] - e) / v["wall_s"]}' "$lf")
        R[$1.spread_${size}_rss]=$(status_kib "$BROKER_PID" VmRSS)
        fds_and_maps "$1" "spread_$size"
        # After the passes the broker is still dispatching them: creating one ConsumeQueue file per
        # queue (ext4 inode allocation) takes the dispatcher tens of seconds at 80,000 queues. That
        # catch-up is measured first, until a 5 s window costs under SETTLED_TICKS (at most
        # SETTLE_MAX_SECS); then the idle broker (periodic re-registration, flush passes) over PERIOD_SECS.
        local s0 w0 w1 waited=0
        s0=$(cpu_ticks "$BROKER_PID")
        while ((waited < SETTLE_MAX_SECS)); do
            w0=$(cpu_ticks "$BROKER_PID"); sleep 5; w1=$(cpu_ticks "$BROKER_PID"); waited=$((waited + 5))
            (((w1 - w0) < SETTLED_TICKS)) && break
        done
        R[$1.spread_${size}_catchup]="$((w1 - s0)) ticks in ${waited} s"
        c0=$(cpu_ticks "$BROKER_PID"); sleep "$PERIOD_SECS"; c1=$(cpu_ticks "$BROKER_PID")
        R[$1.spread_${size}_idle]=$((c1 - c0))
        note "$1 broker dispatch catch-up after the passes with $t topics: ${R[$1.spread_${size}_catchup]}; then idle CPU over $PERIOD_SECS s: $((c1 - c0)) ticks"
    done
}

clients() { # <impl>
    local n cl lf
    for n in $CLIENT_SIZES; do
        start_broker "$1" "clients-$n"
        run 60 "$WORK/logs/$1-clients-warm-$n.log" "$LG" produce --broker "$BROKER" --topic ScaleClients \
            --queues "$ONE_QUEUES" --duration 5
        cl=""
        if ((n > 0)); then
            lf="$WORK/logs/$1-clients-$n.log"
            timeout -k 5 900 "$LG" clients --broker "$BROKER" --count "$n" --groups "$CLIENT_GROUPS" --rounds 1 \
                --interval "$HB_INTERVAL" --topic ScaleClients --server-pid "$BROKER_PID" >"$lf" 2>&1 &
            cl=$!; PIDS+=("$cl")
            wait_line "$lf" "^joined" 600 "$cl" || { note "$1 clients $n: did not join (see $lf)"; stop_pid "$cl" 5; continue; }
        fi
        run $((PRODUCE_SECS + 60)) "$WORK/logs/$1-clients-produce-$n.log" "$LG" produce --broker "$BROKER" \
            --topic ScaleClients --queues "$ONE_QUEUES" --duration "$PRODUCE_SECS"
        R[$1.clients_rss_$n]=$(status_kib "$BROKER_PID" VmRSS)
        parse_produce "$1" "clients_$n" "$WORK/logs/$1-clients-produce-$n.log"
        if [[ -n "$cl" ]]; then
            wait "$cl"
            grep -E '^(phase|errors|server)' "$lf" | sed "s/^/$1 /" | tee -a "$OUT"
            R[$1.clients_hb_us_$n]=$(phase_field "$lf" "heartbeat-steady" server_us_per_op)
            R[$1.clients_join_us_$n]=$(phase_field "$lf" "heartbeat-join" server_us_per_op)
            R[$1.clients_hb_err_$n]=$(awk '/^errors:/ {s += $2} END {print s + 0}' "$lf")
        fi
        note "$1 $n clients heartbeating every ${HB_INTERVAL} s: produce ${R[$1.clients_${n}_tps]:-?} msg/s (errors ${R[$1.clients_${n}_err]:-?}), broker RSS ${R[$1.clients_rss_$n]:-?} KiB, heartbeat errors ${R[$1.clients_hb_err_$n]:-0}"
        fds_and_maps "$1" "clients_$n"
    done
}

visible() { # <impl>
    local mode
    start_broker "$1" visible
    for mode in "" --pull; do
        run $((DURATION + 60)) "$WORK/logs/$1-visible$mode.log" "$LG" visible --broker "$BROKER" \
            --topic VisibleTopic --queues 4 --duration "$DURATION" $mode
        grep -E '^visible' "$WORK/logs/$1-visible$mode.log" | sed "s/^/$1 /" | tee -a "$OUT"
    done
}

note "# scale.sh $(date -u '+%F %T') UTC; IMPL=$IMPL; loadavg $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc); open-file limit $(ulimit -n); vm.max_map_count $(cat /proc/sys/vm/max_map_count)"
for impl in "${IMPLS[@]}"; do
    log "===== $impl ====="
    REG_PIDS=()
    start_ns "$impl"
    if has register || has route; then register_route "$impl"; fi
    for p in "${REG_PIDS[@]}"; do stop_pid "$p" 5; done
    has spread && spread "$impl"
    has clients && clients "$impl"
    has visible && visible "$impl"
    stop_pid "${BROKER_PID:-}" 30; BROKER_PID=""
    stop_pid "$NS_PID" 10
    rm -rf "$WORK/store" "$JHOME/store" "$JHOME/namesrv"
done

# ---------------------------------------------------------------- table
growth() { ratio "$2" "$1"; } # <small> <large>: large / small
row() { # <what> <ours> <java> [ours growth] [java growth]
    local q=""
    [[ $2 =~ ^[0-9.]+$ && $3 =~ ^[0-9.]+$ ]] && q=$(ratio "$2" "$3")
    echo "| $1 | ${2:-–} | ${3:-–} | $q | ${4:-} | ${5:-} |"
}
{
    echo "| What | Ours | Java | Ours/Java | Growth ours | Growth Java |"
    echo "|---|---:|---:|---:|---:|---:|"
    o1=${R[ours.one_tps]:-}; j1=${R[java.one_tps]:-}
    row "Produce msg/s, 1 topic × $ONE_QUEUES q (64 in flight, 1 KiB)" "$o1" "$j1"
    for size in $SPREAD_SIZES; do
        row "Produce msg/s, spread steady pass, ${size/x/ topics × } q" "${R[ours.spread_${size}_tps]:-}" \
            "${R[java.spread_${size}_tps]:-}" "$(growth "$o1" "${R[ours.spread_${size}_tps]:-}")" \
            "$(growth "$j1" "${R[java.spread_${size}_tps]:-}")"
        row "  create pass (auto-create + CQ files): wall s" "${R[ours.spread_${size}_create_wall]:-}" "${R[java.spread_${size}_create_wall]:-}"
        row "  create / steady pass: broker CPU µs per msg" "${R[ours.spread_${size}_create_us]:-} / ${R[ours.spread_${size}_steady_us]:-}" \
            "${R[java.spread_${size}_create_us]:-} / ${R[java.spread_${size}_steady_us]:-}"
        row "  broker CPU catching up on dispatch after the passes (until 5 s cost < ${SETTLED_TICKS} ticks)" "${R[ours.spread_${size}_catchup]:-}" "${R[java.spread_${size}_catchup]:-}"
        row "  broker idle CPU ticks over ${PERIOD_SECS} s after that (periodic re-registration, flush passes)" "${R[ours.spread_${size}_idle]:-}" "${R[java.spread_${size}_idle]:-}"
        row "  broker RSS MiB; errors" "$(mib "${R[ours.spread_${size}_rss]:-}"); ${R[ours.spread_${size}_errors]:-}" \
            "$(mib "${R[java.spread_${size}_rss]:-}"); ${R[java.spread_${size}_errors]:-}${R[java.spread_${size}_skip]:+ ${R[java.spread_${size}_skip]}}"
    done
    for k in first again changed; do
        row "REGISTER_BROKER $k, name-server CPU ms (10 → $BIG_TOPICS topics)" "$(ms "${R[ours.reg_${k}_$BIG_TOPICS]:-}")" \
            "$(ms "${R[java.reg_${k}_$BIG_TOPICS]:-}")" "$(growth "${R[ours.reg_${k}_10]:-}" "${R[ours.reg_${k}_$BIG_TOPICS]:-}")" \
            "$(growth "${R[java.reg_${k}_10]:-}" "${R[java.reg_${k}_$BIG_TOPICS]:-}")"
        row "REGISTER_BROKER $k, wall ms" "$(ms "${R[ours.reg_${k}_wall_$BIG_TOPICS]:-}")" "$(ms "${R[java.reg_${k}_wall_$BIG_TOPICS]:-}")" \
            "$(growth "${R[ours.reg_${k}_wall_10]:-}" "${R[ours.reg_${k}_wall_$BIG_TOPICS]:-}")" \
            "$(growth "${R[java.reg_${k}_wall_10]:-}" "${R[java.reg_${k}_wall_$BIG_TOPICS]:-}")"
    done
    row "Route query QPS (16 in flight), 10 → +$BIG_TOPICS topics" "${R[ours.route_qps_$BIG_TOPICS]:-}" "${R[java.route_qps_$BIG_TOPICS]:-}" \
        "$(growth "${R[ours.route_qps_10]:-}" "${R[ours.route_qps_$BIG_TOPICS]:-}")" "$(growth "${R[java.route_qps_10]:-}" "${R[java.route_qps_$BIG_TOPICS]:-}")"
    row "Route query, name-server CPU µs per query" "${R[ours.route_us_$BIG_TOPICS]:-}" "${R[java.route_us_$BIG_TOPICS]:-}" \
        "$(growth "${R[ours.route_us_10]:-}" "${R[ours.route_us_$BIG_TOPICS]:-}")" "$(growth "${R[java.route_us_10]:-}" "${R[java.route_us_$BIG_TOPICS]:-}")"
    first=""
    for n in $CLIENT_SIZES; do
        [[ -z "$first" ]] && first=$n
        row "Produce msg/s with $n clients heartbeating every ${HB_INTERVAL} s" "${R[ours.clients_${n}_tps]:-}" "${R[java.clients_${n}_tps]:-}" \
            "$(growth "${R[ours.clients_${first}_tps]:-}" "${R[ours.clients_${n}_tps]:-}")" "$(growth "${R[java.clients_${first}_tps]:-}" "${R[java.clients_${n}_tps]:-}")"
        row "  broker RSS MiB with $n clients" "$(mib "${R[ours.clients_rss_$n]:-}")" "$(mib "${R[java.clients_rss_$n]:-}")" \
            "$(growth "${R[ours.clients_rss_$first]:-}" "${R[ours.clients_rss_$n]:-}")" "$(growth "${R[java.clients_rss_$first]:-}" "${R[java.clients_rss_$n]:-}")"
        ((n > 0)) && row "  heartbeat join / steady: broker CPU µs per heartbeat; errors" \
            "${R[ours.clients_join_us_$n]:-} / ${R[ours.clients_hb_us_$n]:-}; ${R[ours.clients_hb_err_$n]:-}" \
            "${R[java.clients_join_us_$n]:-} / ${R[java.clients_hb_us_$n]:-}; ${R[java.clients_hb_err_$n]:-}"
    done
} >"$WORK/scale-table.md"
echo >>"$OUT"
cat "$WORK/scale-table.md" | tee -a "$OUT"
log "done; summary in $OUT, table in $WORK/scale-table.md"
