#!/usr/bin/env bash
# Side-by-side benchmark: the official Apache RocketMQ 5.3.3 name server + broker (Java) against ours,
# run one after the other on the same ports and the same (fresh) store directory.
#
# Usage: benches/compare_java.sh            (all knobs are environment variables, see below)
#
# Per implementation it measures (the rows of issue 12's "Must show" list are marked [goal])
#   1. broker start-up: process start -> port accepting, -> "boot success" line, -> visible in the
#      name server's cluster info (GET_BROKER_CLUSTER_INFO);
#   2. produce TPS: rmq-loadgen, 64 in flight, 1 KiB, $DURATION s, topic BenchTopic (8 queues, made up
#      front with the Java mqadmin updateTopic -r 8 -w 8), after a $WARMUP s warm-up on the same topic
#      [goal: >= 2.0x Java]; once per run (in ours' run, before our broker starts) the same phase against
#      a null server, `rmq-loadgen echo-server` on $ECHO_PORT, reached with `produce --broker`
#      [goal: ours >= 0.6x the echo server];
#   3. latency p50/p99/p999 at a fixed $RATE msg/s for $DURATION s, and again at half of Java's max
#      produce TPS of phase 2 (Java runs first; $HALF_RATE overrides) [goal: ours p99 <= 0.5x Java's];
#   4. consume TPS draining a $BACKLOG-message backlog (topic BenchDrain, 8 queues, filled with
#      rmq-loadgen --count, then drained by rmq-loadgen consume with a fresh group);
#   5. broker RSS after phase 2 and at the end (plus peak VmHWM and RssAnon at the end);
#   6. the official Java benchmark Producer (rocketmq-all 5.3.3 example/benchmark/Producer.java,
#      compiled here because rocketmq-example 5.3.3 is not published to Maven Central) with
#      -t BenchTopic -s 1024 -w 64 -ri 1000 for $JBENCH_SECS s; steady state = mean of the per-second
#      "Send TPS:" lines (each is a 9 s sliding window) whose window starts >= 5 s after launch;
#   7. CPU per message: the broker's user + system CPU (from /proc/PID/stat) divided by the messages
#      of a fixed $CPU_RATE msg/s produce run ($DURATION s) [goal: ours <= 1/3 of Java's], of the
#      backlog drain (pull path), and the name server's CPU per GET_ROUTEINFO_BY_TOPIC at a fixed
#      $ROUTE_RATE queries/s; rmq-loadgen's own CPU per message beside each (the standalone mode has
#      one process: its figure is the sum);
#   8. end-to-end latency, send -> delivered, at each of $E2E_RATES msg/s for $E2E_SECS s (topic BenchE2E):
#      `rmq-loadgen e2e` stamps the send time in each body and consumes with long-polling PULL_MESSAGE as
#      the Java push consumer does [goal at 5000/s: ours p99 <= 0.5x Java's]; with JAVA_E2E=1 (default)
#      first the official DefaultMQPushConsumer (benches/java/E2eConsumer.java) measures the same at
#      $JAVA_E2E_RATE msg/s (`rmq-loadgen e2e --produce-only`), a cross-check of the loadgen's figure;
#   9. send -> visible: `rmq-loadgen visible`, 64 in flight, $VIS_SECS s each, every 50th message of a
#      worker polled from SEND_OK until GET_MAX_OFFSET (then PULL_MESSAGE) shows it [goal: ours p99 <= 10 ms];
#  10. SYNC_FLUSH: the broker restarted with flushDiskType=SYNC_FLUSH on a fresh store, BenchTopic made
#      again, a $WARMUP s warm-up, then phase 2's produce for $SYNC_SECS s [goal: ours SYNC >= 0.7x our ASYNC].
# It prints a table (Java, ours, ours/Java, goal met / not met) and writes benches/RESULTS.md.
#
# Before measuring it waits (up to $QUIET_WAIT s in total) until no foreign java / mqbroker / mqnamesrv /
# rocketmq-standalone / rustc process runs, and it records any it saw during the run in RESULTS.md. Every
# phase above (echo server and SYNC_FLUSH restart included) is inside one broker's guarded attempt, which is
# repeated (up to $ATTEMPTS) when other processes or the hypervisor's steal time took more than
# $FOREIGN_MAX_PCT / $STEAL_MAX_PCT % of one core during it.
#
# Process bookkeeping, build/fetch, the quiet-machine wait and the report pieces shared with benches/ha/run.sh are in
# benches/lib.sh; the remoting probe (start-up timing, route check) is benches/probe.py.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-/tmp/rmq-compare-java}"        # store, logs, Java classpath (not in the repo)
NS_PORT="${NS_PORT:-43876}"
BROKER_PORT="${BROKER_PORT:-43911}"           # Java also binds listenPort-2 (fast port) and +1 (HA)
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-10}"
CONCURRENCY="${CONCURRENCY:-64}"
SIZE="${SIZE:-1024}"
RATE="${RATE:-5000}"
CPU_RATE="${CPU_RATE:-20000}"
ROUTE_RATE="${ROUTE_RATE:-5000}"
BACKLOG="${BACKLOG:-1000000}"
JBENCH_SECS="${JBENCH_SECS:-40}"
ECHO_PORT="${ECHO_PORT:-$((BROKER_PORT + 10))}"   # rmq-loadgen echo-server (null server)
HALF_RATE="${HALF_RATE:-}"                  # fixed rate of the "50 % of Java's max" phase (default: measured)
E2E_RATES="${E2E_RATES:-1000 5000 20000}"   # end-to-end latency rates (msg/s)
E2E_SECS="${E2E_SECS:-$DURATION}"
E2E_WARMUP="${E2E_WARMUP:-2}"               # first seconds of each e2e run not recorded
JAVA_E2E="${JAVA_E2E:-1}"                   # 1: cross-check with the Java DefaultMQPushConsumer
JAVA_E2E_RATE="${JAVA_E2E_RATE:-5000}"
VIS_SECS="${VIS_SECS:-15}"           # send -> visible, each of GET_MAX_OFFSET and PULL
SYNC_SECS="${SYNC_SECS:-$DURATION}"         # SYNC_FLUSH produce phase
COMMITLOG_BYTES="${COMMITLOG_BYTES:-1073741824}"   # mappedFileSizeCommitLog (smaller for smoke runs)
QUIET_WAIT="${QUIET_WAIT:-1200}"            # budget (s) for waiting for a quiet machine, per broker
QUIET_HOLD="${QUIET_HOLD:-30}"              # ... which must stay quiet this long before a broker starts
ATTEMPTS="${ATTEMPTS:-3}"                   # runs per broker when disturbed (see FOREIGN_MAX_PCT)
FOREIGN_MAX_PCT="${FOREIGN_MAX_PCT:-5}"     # max foreign CPU during a run, % of one core
STEAL_MAX_PCT="${STEAL_MAX_PCT:-5}"         # max hypervisor steal time during a run, % of one core
OURS_MODE="${OURS_MODE:-split}"                # split: mqnamesrv + mqbroker; standalone: rocketmq-standalone
SKIP_BUILD="${SKIP_BUILD:-0}"
RESULTS="${RESULTS:-$ROOT/benches/RESULTS.md}"
CLUSTER=DefaultCluster
NS="127.0.0.1:$NS_PORT"
BIN="${BIN:-$ROOT/target/release}"           # our binaries (another build: set BIN and SKIP_BUILD=1)
CMDLINE="$(printf '%q ' "$0" "$@")"
ENVLINE="QUIET_WAIT=$QUIET_WAIT QUIET_HOLD=$QUIET_HOLD ATTEMPTS=$ATTEMPTS FOREIGN_MAX_PCT=$FOREIGN_MAX_PCT STEAL_MAX_PCT=$STEAL_MAX_PCT WORK=$WORK NS_PORT=$NS_PORT BROKER_PORT=$BROKER_PORT DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY SIZE=$SIZE RATE=$RATE CPU_RATE=$CPU_RATE ROUTE_RATE=$ROUTE_RATE BACKLOG=$BACKLOG JBENCH_SECS=$JBENCH_SECS ECHO_PORT=$ECHO_PORT HALF_RATE=$HALF_RATE E2E_RATES='$E2E_RATES' E2E_SECS=$E2E_SECS E2E_WARMUP=$E2E_WARMUP JAVA_E2E=$JAVA_E2E JAVA_E2E_RATE=$JAVA_E2E_RATE VIS_SECS=$VIS_SECS SYNC_SECS=$SYNC_SECS COMMITLOG_BYTES=$COMMITLOG_BYTES OURS_MODE=$OURS_MODE"
PROBE="$ROOT/benches/probe.py"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"   # log/die, stop_pid/cleanup/run, fetch_java_jars, wait_quiet, run_attempts, ...
REMOVE_AT_EXIT=("$WORK/store" "$WORK/ours-data")   # multi-GB stores: removed by the EXIT trap too

# ---------------------------------------------------------------- build / fetch
mkdir -p "$WORK/logs" "$WORK/home"
build_release
require_bins "$BIN" mqnamesrv mqbroker rmq-loadgen
[[ $OURS_MODE != standalone ]] || require_bins "$BIN" rocketmq-standalone
require_tools mvn java javac python3 unzip ss

fetch_java_jars sources   # the 5.3.3 jars and the rocketmq-all source release
if [[ ! -f "$WORK/classes/org/apache/rocketmq/example/benchmark/Producer.class" ]]; then
    log "compiling the official benchmark Producer (5.3.3 sources)"
    bdir=rocketmq-all-5.3.3/example/src/main/java/org/apache/rocketmq/example/benchmark
    (cd "$WORK/src" && unzip -o -q rocketmq-all-5.3.3-source-release.zip "$bdir/Producer.java" "$bdir/AclClient.java") \
        || die "cannot unpack the benchmark sources"
    mkdir -p "$WORK/classes"
    javac --release 8 -nowarn -encoding UTF-8 -d "$WORK/classes" -cp "$WORK/lib/*" \
        "$WORK/src/$bdir/Producer.java" "$WORK/src/$bdir/AclClient.java" >"$WORK/logs/javac.log" 2>&1 \
        || { cat "$WORK/logs/javac.log" >&2; die "javac failed"; }
fi
if [[ $JAVA_E2E == 1 && ( ! -f "$WORK/classes/E2eConsumer.class" || "$ROOT/benches/java/E2eConsumer.java" -nt "$WORK/classes/E2eConsumer.class" ) ]]; then
    log "compiling benches/java/E2eConsumer.java"
    mkdir -p "$WORK/classes"
    javac -nowarn -encoding UTF-8 -d "$WORK/classes" -cp "$WORK/lib/*" "$ROOT/benches/java/E2eConsumer.java" \
        >"$WORK/logs/javac-e2e.log" 2>&1 || { cat "$WORK/logs/javac-e2e.log" >&2; die "javac E2eConsumer failed"; }
fi
JCP="$WORK/lib/*"
JHOME="$WORK/home"
# JCOMMON and JBROKER_OPTS (runbroker.sh's G1 options, 2 GiB heap) come from lib.sh.
JCOMMON+=(-Duser.home="$JHOME" -Drocketmq.home.dir="$JHOME" -Drocketmq.client.logRoot="$WORK/logs/javaclient")
export ROCKETMQ_HOME="$JHOME"

# ---------------------------------------------------------------- helpers
start_sampler   # foreign-CPU sampler for wait_quiet / run_attempts (lib.sh)

port_free() { ! ss -Htln "( sport = :$1 )" | grep -q .; }
wait_ports_free() { # [broker]: the broker's ports only (the name server stays up)
    local i p busy ports=("$NS_PORT" "$BROKER_PORT" $((BROKER_PORT - 2)) $((BROKER_PORT + 1)))
    [[ ${1:-} == broker ]] && ports=("${ports[@]:1}")
    for ((i = 0; i < 300; i++)); do
        busy=0
        for p in "${ports[@]}"; do
            port_free "$p" || busy=1
        done
        [[ $busy == 0 ]] && return 0
        sleep 0.1
    done
    die "ports $NS_PORT/$BROKER_PORT still in use"
}
# Start the start-up probe, wait until it is ready, then stamp the start time (no fork: EPOCHREALTIME).
# The caller launches the broker right after this returns.
start_probe() {
    local i
    rm -f "$WORK/t0" "$WORK/t0.ready" "$WORK/probe.out" "$L-broker.log"
    python3 "$PROBE" startup "$WORK/t0" "$L-broker.log" "$BROKER_PORT" "$NS_PORT" \
        "127.0.0.1:$BROKER_PORT" 180 >"$WORK/probe.out" 2>&1 &
    PROBE_PID=$!
    PIDS+=("$PROBE_PID")
    for ((i = 0; i < 1000; i++)); do [[ -e "$WORK/t0.ready" ]] && break; sleep 0.01; done
    echo "${EPOCHREALTIME/./}" >"$WORK/t0"
}
# cpu_result <impl> <key> <server ticks> <messages> <loadgen log>: server and loadgen CPU us per message.
cpu_result() {
    local lt
    R[$1.$2]="$(us_per "$3" "$4")"
    lt="$(awk '/^loadgen-cpu:/ {print $2}' "$5" | tail -1)"
    R[$1.$2_lg]="$(us_per "$lt" "$4")"
    log "$1 $2: server ${R[$1.$2]:-?} us/msg, rmq-loadgen ${R[$1.$2_lg]:-?} us/msg ($4 msgs, $3 server ticks)"
}
mqadmin() { # <topic>: updateTopic -r 8 -w 8, then wait until the route shows 8 write queues
    run 120 "$WORK/logs/$IMPL-mqadmin-$1.log" java "${JCOMMON[@]}" -Xms256m -Xmx256m -cp "$JCP" \
        org.apache.rocketmq.tools.command.MQAdminStartup updateTopic -n "$NS" -c "$CLUSTER" -t "$1" -r 8 -w 8 \
        || log "WARN: updateTopic $1 failed (see $WORK/logs/$IMPL-mqadmin-$1.log)"
    [[ "$(python3 "$PROBE" route "$NS_PORT" "$1" 8 30)" == ok ]] || log "WARN: route of $1 has no 8 write queues"
}
# start_broker <broker.conf> <log>: the broker (standalone: with its name server) in the background -> BROKER_PID.
start_broker() {
    if [[ $IMPL == java ]]; then
        java "${JCOMMON[@]}" "${JBROKER_OPTS[@]}" -cp "$JCP" org.apache.rocketmq.broker.BrokerStartup \
            -c "$1" >"$2" 2>&1 &
    elif [[ $OURS_MODE == standalone ]]; then
        HOME="$JHOME" "$BIN/rocketmq-standalone" --data-dir "$WORK/ours-data" --namesrv-port "$NS_PORT" \
            -c "$1" >"$2" 2>&1 &
    else
        HOME="$JHOME" "$BIN/mqbroker" -c "$1" >"$2" 2>&1 &
    fi
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
}
stop_broker() { # stops the broker, then sync + delete its store
    stop_pid "$BROKER_PID" 30
    log "sync + remove the store"
    timeout 600 sync
    rm -rf "$WORK/store" "$WORK/ours-data"
}
# produce_max <impl> <key> <log stem> <seconds> <target args>...: a $WARMUP s warm-up, then <seconds> at
# $CONCURRENCY in flight on BenchTopic (phase 2; also the echo server and SYNC_FLUSH phases).
produce_max() {
    local impl=$1 key=$2 stem=$3 secs=$4
    shift 4
    if ((WARMUP > 0)); then
        run $((WARMUP + 60)) "$stem-warmup.log" "${LG[@]}" produce "$@" --topic BenchTopic \
            --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$WARMUP"
    fi
    run $((secs + 120)) "$stem.log" "${LG[@]}" produce "$@" --topic BenchTopic \
        --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$secs"
    parse_produce "$impl" "$key" "$stem.log"
}
# fixed_rate <key> <rate>: latency at a fixed rate for $DURATION s (phases 3 and 7a).
fixed_rate() {
    run $((DURATION + 120)) "$L-$1.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchTopic \
        --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$DURATION" --rate "$2"
    parse_produce "$IMPL" "$1" "$L-$1.log"
    note_interference "$IMPL" "$1"
}

# ---------------------------------------------------------------- phases (IMPL, L, LG, BROKER_PID are set by bench)
phase_echo() { # 2b. the null server, driven exactly like phase 2 (same client, same load); once, in ours' run
    local pid elog="$WORK/logs/echo-server.log"
    port_free "$ECHO_PORT" || { log "WARN: echo port $ECHO_PORT in use: no echo figure"; return; }
    "${LG[@]}" echo-server --port "$ECHO_PORT" >"$elog" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if wait_line "$elog" "listening" 10 "$pid"; then
        produce_max echo prod "$WORK/logs/echo-produce" "$DURATION" --broker "127.0.0.1:$ECHO_PORT"
    else
        log "WARN: rmq-loadgen echo-server did not start (see $elog)"
    fi
    stop_pid "$pid" 5
    note_interference "$IMPL" echo
}
phase_half_rate() { # 3b. fixed rate at 50 % of Java's max produce TPS (Java runs first)
    local r="$HALF_RATE"
    [[ -n "$r" ]] || r=$(awk -v t="${R[java.prod_tps]:-0}" 'BEGIN { if (t > 0) printf "%d", t / 2 }')
    [[ -n "$r" ]] || { log "WARN: no Java max produce TPS: the 50 % phase is skipped"; return; }
    R[$IMPL.half_rate]=$r
    fixed_rate half "$r"
}
java_e2e() { # 8a. the official DefaultMQPushConsumer on the still empty BenchE2E, fed by rmq-loadgen e2e --produce-only
    local pid i stop="$WORK/e2e.stop" jlog="$L-java-e2e.log"
    rm -f "$stop"
    java "${JCOMMON[@]}" -Xms512m -Xmx512m -cp "$WORK/classes:$JCP" E2eConsumer "$NS" BenchE2E \
        "bench_e2e_java_$(date +%s)" "$stop" "$E2E_WARMUP" "$JAVA_E2E_RATE" >"$jlog" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if wait_line "$jlog" "^ready" 60 "$pid"; then
        sleep 3   # the first rebalance starts its pull loops
        run $((E2E_SECS + 60)) "$L-java-e2e-produce.log" "${LG[@]}" e2e --produce-only --namesrv "$NS" \
            --topic BenchE2E --rate "$JAVA_E2E_RATE" --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$E2E_SECS"
    else
        log "WARN: the Java E2eConsumer did not start (see $jlog)"
    fi
    touch "$stop"
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$pid" 5
    parse_produce "$IMPL" je2e "$jlog" '^java-e2e rate=.* msgs in'
    note_interference "$IMPL" java-e2e
}
phase_e2e() { # 8. send -> delivered, rmq-loadgen e2e at each rate (after the Java push consumer cross-check)
    local r
    [[ $JAVA_E2E == 1 ]] && java_e2e
    for r in $E2E_RATES; do
        run $((E2E_SECS + 60)) "$L-e2e-$r.log" "${LG[@]}" e2e --namesrv "$NS" --topic BenchE2E \
            --group "bench_e2e_$r" --rate "$r" --concurrency "$CONCURRENCY" --size "$SIZE" \
            --duration "$E2E_SECS" --warmup "$E2E_WARMUP"
        parse_produce "$IMPL" "e2e$r" "$L-e2e-$r.log" '^e2e rate=.* msgs in'
        R[$IMPL.e2e${r}_lost]="$(sed -nE 's/^e2e received: .*, ([0-9]+) not received.*/\1/p' "$L-e2e-$r.log" | tail -1)"
        note_interference "$IMPL" "e2e$r"
    done
}
phase_visible() { # 9. SEND_OK -> visible to GET_MAX_OFFSET (key vis), then to PULL_MESSAGE (key visp)
    local how key flag
    for how in max-offset pull; do
        key=vis flag=()
        [[ $how == pull ]] && key=visp flag=(--pull)
        run $((VIS_SECS + 60)) "$L-visible-$how.log" "${LG[@]}" visible --broker "127.0.0.1:$BROKER_PORT" \
            --topic BenchTopic --queues 8 --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$VIS_SECS" "${flag[@]}"
        parse_produce "$IMPL" "$key" "$L-visible-$how.log" '^visible .* msgs in'
        R[$IMPL.${key}_miss]="$(sed -nE 's/.*not visible: ([0-9]+).*/\1/p' "$L-visible-$how.log" | tail -1)"
        note_interference "$IMPL" "visible-$how"
    done
}
phase_drain() { # 4. backlog fill + drain, with 7b. broker CPU per pulled message
    local c0 c1 cl
    run 1800 "$L-fill.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchDrain \
        --concurrency "$CONCURRENCY" --size "$SIZE" --count "$BACKLOG" --duration 1800
    parse_produce "$IMPL" fill "$L-fill.log"
    c0=$(cpu_ticks "$BROKER_PID")
    run 700 "$L-consume.log" "${LG[@]}" consume --namesrv "$NS" --topic BenchDrain \
        --group "bench_cg_$(date +%s)" --duration 600
    c1=$(cpu_ticks "$BROKER_PID")
    cl="$(grep -E '^consume: ' "$L-consume.log" | tail -1)"
    log "$IMPL consume: ${cl:-no result line}"
    if [[ -n "$cl" ]]; then
        R[$IMPL.cons_n]="$(sed -E 's/^consume: ([0-9]+) msgs.*/\1/' <<<"$cl")"
        R[$IMPL.cons_tps]="$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$cl")"
        R[$IMPL.cons_mib]="$(sed -E 's/.*, ([0-9.]+) MiB\/s.*/\1/' <<<"$cl")"
    fi
    cpu_result "$IMPL" cpu_pull $((c1 - c0)) "${R[$IMPL.cons_n]:-}" "$L-consume.log"
    note_interference "$IMPL" consume
}
phase_route() { # 7c. name server CPU per route query at a fixed rate (standalone: the one process)
    local nsp=$1 c0 c1 rl
    c0=$(cpu_ticks "$nsp")
    run $((DURATION + 120)) "$L-route.log" "${LG[@]}" route --namesrv "$NS" --topic BenchTopic \
        --duration "$DURATION" --rate "$ROUTE_RATE"
    c1=$(cpu_ticks "$nsp")
    rl="$(grep -E '^route .* msgs in' "$L-route.log" | tail -1)"
    R[$IMPL.route_n]="$(sed -E 's/^[^:]*: ([0-9]+) msgs.*/\1/' <<<"$rl")"
    R[$IMPL.route_tps]="$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$rl")"
    R[$IMPL.route_p99]="$(sed -E 's/.* p99=([0-9]+).*/\1/' <<<"$rl")"
    cpu_result "$IMPL" cpu_route $((c1 - c0)) "${R[$IMPL.route_n]:-}" "$L-route.log"
    note_interference "$IMPL" route
}
phase_jbench() { # 6. official Java benchmark Producer
    run "$JBENCH_SECS" "$L-jbench.log" java "${JCOMMON[@]}" -Xms1g -Xmx1g \
        -Dorg.apache.rocketmq.client.sendSmartMsg=true -cp "$WORK/classes:$JCP" \
        org.apache.rocketmq.example.benchmark.Producer -n "$NS" -t BenchTopic -s "$SIZE" -w "$CONCURRENCY" -ri 1000
    # Line k (k = 0, 1, ...) is printed at ~10+k s and averages the window [1+k, 10+k] s: skip k < 4.
    read -r R[$IMPL.jb_tps] R[$IMPL.jb_rt] R[$IMPL.jb_lines] R[$IMPL.jb_fail] < <(awk -F'|' '
        /Send TPS:/ { k++; if (k <= 4) next
            for (i = 1; i <= NF; i++) {
                if ($i ~ /Send TPS:/) { split($i, a, ":"); s += a[2] }
                if ($i ~ /Average RT/) { split($i, a, ":"); rt += a[2] }
                if ($i ~ /Send Failed:/) { split($i, a, ":"); f = a[2] + 0 }
                if ($i ~ /Response Failed:/) { split($i, a, ":"); f += a[2] }
            }
            n++ }
        END { if (n) printf "%.0f %.3f %d %d\n", s / n, rt / n, n, f; else print "  0 " }' "$L-jbench.log")
    log "$IMPL official Producer: steady Send TPS ${R[$IMPL.jb_tps]:-?} over ${R[$IMPL.jb_lines]:-0} lines, avg RT ${R[$IMPL.jb_rt]:-?} ms, failed ${R[$IMPL.jb_fail]:-?}"
    note_interference "$IMPL" jbench
}
phase_sync_flush() { # 10. the broker again with flushDiskType=SYNC_FLUSH on a fresh store
    local r
    stop_broker
    if [[ $OURS_MODE == standalone && $IMPL == ours ]]; then wait_ports_free; else wait_ports_free broker; fi
    sed 's/^flushDiskType=.*/flushDiskType=SYNC_FLUSH/' "$WORK/broker.conf" >"$WORK/broker-sync.conf"
    start_broker "$WORK/broker-sync.conf" "$L-broker-sync.log"
    if ! wait_line "$L-broker-sync.log" 'The broker\[.*boot success' 120 "$BROKER_PID"; then
        log "WARN: $IMPL SYNC_FLUSH broker did not start (see $L-broker-sync.log)"
        return
    fi
    mqadmin BenchTopic
    produce_max "$IMPL" sync "$L-sync" "$SYNC_SECS" --namesrv "$NS"
    r="$(ratio "${R[$IMPL.sync_tps]:-}" "${R[$IMPL.prod_tps]:-}")"
    [[ $r == n/a ]] || R[$IMPL.sync_vs_async]=$r
    note_interference "$IMPL" sync-flush
}

# ---------------------------------------------------------------- one implementation
bench() { # java | ours
    IMPL=$1
    L="$WORK/logs/$IMPL"
    LG=("$BIN/rmq-loadgen")
    local store="$WORK/store" out ns_pid r
    log "===== $IMPL ====="
    wait_quiet "$IMPL"
    wait_ports_free
    echo "$IMPL#$ATTEMPT" >"$WORK/phase"
    BENCH_T0=$SECONDS
    rm -rf "$store" "$JHOME/namesrv" "$JHOME/store" "$WORK/ours-data"
    mkdir -p "$store"
    cat >"$WORK/namesrv.conf" <<EOC
listenPort=$NS_PORT
EOC
    cat >"$WORK/broker.conf" <<EOC
brokerClusterName=$CLUSTER
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NS
listenPort=$BROKER_PORT
storePathRootDir=$store
storePathCommitLog=$store/commitlog
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
mappedFileSizeCommitLog=$COMMITLOG_BYTES
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
EOC
    # -- 2b. the null echo server (once, in ours' run, before our broker starts)
    [[ $IMPL == ours ]] && phase_echo
    # -- name server (not timed), then the broker (timed)
    ns_pid=""
    if [[ $IMPL == java ]]; then
        java "${JCOMMON[@]}" -Xms512m -Xmx512m -cp "$JCP" org.apache.rocketmq.namesrv.NamesrvStartup \
            -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
        ns_pid=$!; PIDS+=("$ns_pid")
        wait_line "$L-namesrv.log" "boot success" 60 || die "java name server did not start (see $L-namesrv.log)"
    elif [[ $OURS_MODE != standalone ]]; then
        HOME="$JHOME" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
        ns_pid=$!; PIDS+=("$ns_pid")
        wait_line "$L-namesrv.log" "boot success" 60 || die "our name server did not start (see $L-namesrv.log)"
    fi
    start_probe
    start_broker "$WORK/broker.conf" "$L-broker.log"
    wait "$PROBE_PID"
    out="$(cat "$WORK/probe.out")"
    log "$IMPL start-up (ms): $out"
    for kv in $out; do R[$IMPL.start_${kv%%=*}]="${kv#*=}"; done
    [[ -n "${R[$IMPL.start_port]:-}" ]] || die "$IMPL broker did not open port $BROKER_PORT (see $L-broker.log)"
    R[$IMPL.rss_boot]=$(rss_kib "$BROKER_PID")

    # -- topics
    for t in BenchTopic BenchDrain BenchE2E; do mqadmin "$t"; done

    # -- 2. max produce TPS (after a warm-up)
    note_interference "$IMPL" produce
    produce_max "$IMPL" prod "$L-produce" "$DURATION" --namesrv "$NS"
    note_interference "$IMPL" produce
    R[$IMPL.rss_prod]=$(rss_kib "$BROKER_PID")
    # -- 3. fixed rate latency; 3b. at 50 % of Java's max
    fixed_rate rate "$RATE"
    phase_half_rate
    # -- 7a. CPU per message at a fixed produce rate
    local c0 c1
    c0=$(cpu_ticks "$BROKER_PID")
    fixed_rate cpu "$CPU_RATE"
    c1=$(cpu_ticks "$BROKER_PID")
    cpu_result "$IMPL" cpu_send $((c1 - c0)) "${R[$IMPL.cpu_n]:-}" "$L-cpu.log"
    # -- 8. end to end; 9. send -> visible; 4. backlog; 7c. route; 6. official Producer
    phase_e2e
    phase_visible
    phase_drain
    phase_route "${ns_pid:-$BROKER_PID}"
    phase_jbench

    # -- 5. RSS at the end
    R[$IMPL.rss_end]=$(rss_kib "$BROKER_PID")
    R[$IMPL.hwm_end]=$(status_kib "$BROKER_PID" VmHWM)
    R[$IMPL.anon_end]=$(status_kib "$BROKER_PID" RssAnon)
    R[$IMPL.store_mib]=$(du -sm "$store" 2>/dev/null | cut -f1)
    kill -0 "$BROKER_PID" 2>/dev/null || log "WARN: $IMPL broker died during the run (see $L-broker.log)"

    # -- 10. SYNC_FLUSH (a restart on a fresh store)
    phase_sync_flush

    R[$IMPL.secs]=$((SECONDS - BENCH_T0))
    sleep 1   # let the sampler take a last look at this phase
    echo idle >"$WORK/phase"
    stop_broker
    [[ -n "$ns_pid" ]] && stop_pid "$ns_pid" 15
    PIDS=()
}

# A broker's run is repeated (up to ATTEMPTS times) when other processes used more than FOREIGN_MAX_PCT % of
# one core on average during it; the last attempt is reported either way.
for impl in java ours; do
    run_attempts bench "$impl"
done

# ---------------------------------------------------------------- report
# Derived figures: produce TPS over the echo server's (one echo figure, measured in ours' run).
R[ours.echo_tps]="${R[echo.prod_tps]:-}"
for impl in java ours; do
    r="$(ratio "${R[$impl.prod_tps]:-}" "${R[echo.prod_tps]:-}")"
    [[ $r == n/a ]] || R[$impl.vs_echo]=$r
done
HALF_LABEL="${R[java.half_rate]:-${R[ours.half_rate]:-?}}"
# "label|key|goal" (goal: see goal_verdict in lib.sh; the "Must show" goals of issue 12).
ROWS=(
    "Broker start -> port accepting (ms, lower better)|start_port"
    "Broker start -> 'boot success' line (ms)|start_boot"
    "Broker start -> registered in name server (ms)|start_reg"
    "Produce TPS, ${CONCURRENCY} in flight, ${SIZE} B, ${DURATION} s (msg/s)|prod_tps|ratio>=2.0"
    "  latency at max load p50 (us)|prod_p50"
    "  latency at max load p99 (us)|prod_p99"
    "  send errors (rmq-loadgen)|prod_err"
    "Null echo server (rmq-loadgen echo-server), same client and load (msg/s; one figure)|echo_tps"
    "  broker produce TPS / null echo server's|vs_echo|ours>=0.6"
    "SYNC_FLUSH produce TPS, ${CONCURRENCY} in flight, ${SYNC_SECS} s, restarted on a fresh store (msg/s)|sync_tps"
    "  p99 (us)|sync_p99"
    "  send errors (rmq-loadgen)|sync_err"
    "  SYNC_FLUSH / ASYNC_FLUSH produce TPS|sync_vs_async|ours>=0.7"
    "Fixed ${RATE} msg/s, ${DURATION} s: achieved (msg/s)|rate_tps"
    "  p50 (us)|rate_p50"
    "  p99 (us)|rate_p99"
    "  p999 (us)|rate_p999"
    "  max (us)|rate_max"
    "  send errors (rmq-loadgen)|rate_err"
    "Fixed ${HALF_LABEL} msg/s = 50 % of Java's max produce TPS, ${DURATION} s: achieved (msg/s)|half_tps"
    "  p50 (us)|half_p50"
    "  p99 (us)|half_p99|ratio<=0.5"
    "  p999 (us)|half_p999"
    "  send errors (rmq-loadgen)|half_err"
    "Fixed ${CPU_RATE} msg/s produce: achieved (msg/s)|cpu_tps"
    "  broker CPU per message (us, user+sys)|cpu_send|ratio<=0.333"
    "  rmq-loadgen CPU per message (us)|cpu_send_lg"
)
for r in $E2E_RATES; do
    g=""
    [[ $r == 5000 ]] && g="ratio<=0.5"
    ROWS+=(
        "End to end, send -> long-polling consumer (rmq-loadgen e2e), fixed ${r} msg/s, ${E2E_SECS} s: achieved (msg/s)|e2e${r}_tps"
        "  p50 (us)|e2e${r}_p50"
        "  p99 (us)|e2e${r}_p99|$g"
        "  p999 (us)|e2e${r}_p999"
        "  not received within 5 s of the last send|e2e${r}_lost"
    )
done
[[ $JAVA_E2E == 1 ]] && ROWS+=(
    "End to end via the Java DefaultMQPushConsumer 5.3.3 (listener call), fixed ${JAVA_E2E_RATE} msg/s: p50 (us)|je2e_p50"
    "  p99 (us)|je2e_p99"
    "  p999 (us)|je2e_p999"
    "  messages received|je2e_n"
)
ROWS+=(
    "Send -> visible to GET_MAX_OFFSET, ${CONCURRENCY} in flight, ${VIS_SECS} s: p50 (us)|vis_p50"
    "  p99 (us)|vis_p99|ours<=10000"
    "  produce TPS meanwhile (msg/s)|vis_tps"
    "  sampled messages not visible within 10 s|vis_miss"
    "Send -> visible to PULL_MESSAGE, ${CONCURRENCY} in flight, ${VIS_SECS} s: p50 (us)|visp_p50"
    "  p99 (us)|visp_p99|ours<=10000"
    "  produce TPS meanwhile (msg/s)|visp_tps"
    "  sampled messages not visible within 10 s|visp_miss"
    "Backlog fill ${BACKLOG} msgs, ${CONCURRENCY} in flight (msg/s)|fill_tps"
    "  send errors (rmq-loadgen)|fill_err"
    "Consume drain of the backlog (msg/s)|cons_tps"
    "  consume (MiB/s)|cons_mib"
    "  messages drained|cons_n"
    "  broker CPU per pulled message (us)|cpu_pull"
    "  rmq-loadgen CPU per pulled message (us)|cpu_pull_lg"
    "Route queries at ${ROUTE_RATE}/s: achieved (q/s)|route_tps"
    "  p99 (us)|route_p99"
    "  name server CPU per query (us; standalone: whole process)|cpu_route"
    "  rmq-loadgen CPU per query (us)|cpu_route_lg"
    "Broker RSS after boot (MiB)|rss_boot_mib"
    "Broker RSS after produce phase (MiB)|rss_prod_mib"
    "Broker RSS at end (MiB)|rss_end_mib"
    "  peak RSS VmHWM (MiB)|hwm_end_mib"
    "  anonymous RSS at end (MiB)|anon_end_mib"
    "Official Java Producer -w ${CONCURRENCY} -s ${SIZE}: steady Send TPS|jb_tps"
    "  its Average RT (ms)|jb_rt"
    "  its Send+Response Failed|jb_fail"
)
for impl in java ours; do
    for k in rss_boot rss_prod rss_end hwm_end anon_end; do R[$impl.${k}_mib]="$(mib "${R[$impl.$k]:-}")"; done
done
TABLE="| Metric | Java 5.3.3 | Ours | Ours/Java | Goal (issue 12) |
|---|---:|---:|---:|---|"
GOALS=()
parent=""
for row in "${ROWS[@]}"; do
    IFS='|' read -r label key goal <<<"$row"
    j="${R[java.$key]:-}"; o="${R[ours.$key]:-}"; q="$(ratio "$o" "$j")"
    verdict="$(goal_verdict "${goal:-}" "$o" "$q")"
    TABLE+=$'\n'"| $label | ${j:-n/a} | ${o:-n/a} | $q | $verdict |"
    [[ $label == "  "* ]] || parent=$label
    [[ -n "$verdict" ]] && GOALS+=("$([[ $label == "  "* ]] && echo "$parent —")${label#  }: Java ${j:-n/a}, ours ${o:-n/a} — $verdict")
done
print_table "$TABLE"
printf '%s\n' "${GOALS[@]}"

TOTAL=$((SECONDS - T_START))
# The hand-written sections (run history, gRPC bench, produce-path cuts, scale and visibility) come after the
# generated ones; everything from the first of them to the end of the file is carried over.
CARRY="$(awk '/^## (Run history|gRPC endpoint vs Java proxy|CPU per message and produce-path cuts|Scale and visibility)/ {on = 1} on' "$RESULTS" 2>/dev/null)"
{
    echo "# Rust broker vs Apache RocketMQ 5.3.3 (Java) — side-by-side results"
    echo
    echo "Generated by \`benches/compare_java.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); total run time ${TOTAL} s."
    echo
    echo "## Machine and versions"
    echo
    machine_line
    echo "- Java: $(java -version 2>&1 | head -1); Maven: $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
    echo "- Java side: rocketmq-namesrv / rocketmq-broker / rocketmq-tools / rocketmq-client 5.3.3 from Maven Central;"
    echo "  benchmark Producer compiled from rocketmq-all-5.3.3 source-release (rocketmq-example 5.3.3 is not on Central)."
    echo "- Java broker JVM: ${JCOMMON[*]:0:3} ${JBROKER_OPTS[*]}; name server -Xms512m -Xmx512m."
    echo "- Ours: $(cd "$ROOT" && grep -m1 '^version' Cargo.toml), release build; mode: $OURS_MODE ($([[ $OURS_MODE == split ]] && echo 'mqnamesrv + mqbroker' || echo 'rocketmq-standalone'))."
    echo "- Both: brokerIP1=127.0.0.1, ASYNC_MASTER, ASYNC_FLUSH (SYNC_FLUSH for the SYNC_FLUSH rows), $((COMMITLOG_BYTES / 1048576)) MiB CommitLog files, fresh store $WORK/store,"
    echo "  name server :$NS_PORT, broker :$BROKER_PORT, run one after the other (Java first), no CPU pinning."
    echo
    command_and_results
    echo "Method: rmq-loadgen (Rust, speaks the remoting protocol) drives phases 2–4; a ${WARMUP} s warm-up at ${CONCURRENCY} in"
    echo "flight precedes phase 2 for both brokers. Fixed-rate latency is measured from each message's scheduled send time."
    echo "The drain uses its own 8-queue topic BenchDrain so the backlog is exactly ${BACKLOG} messages. RSS is \`ps -o rss\` of"
    echo "the broker process (the JVM for Java); it includes mapped CommitLog pages. The official Producer prints a"
    echo "9-s sliding-window \`Send TPS\` every second; the figure is the mean of the lines whose window starts ≥ 5 s after launch"
    echo "(${JBENCH_SECS} s run). It shares the 2 cores with the broker, as rmq-loadgen does."
    echo "Interference: a /proc sampler charges every process outside this script's tree (kernel threads excluded) with"
    echo "the CPU it used during each broker's run; a run where that exceeded ${FOREIGN_MAX_PCT} % of one core is repeated (up to ${ATTEMPTS} runs)."
    echo 'Drain and `--count` times are measured by rmq-loadgen with 10 ms resolution.'
    echo "Null echo server: \`rmq-loadgen echo-server\` answers every request with a SEND_OK-shaped response (the header fields"
    echo "of a real SEND_MESSAGE_V2 response, no other work); phase 2's warm-up and run go to it with \`produce --broker\`, in"
    echo "ours' guarded run before our broker starts. 50 % rate: half of Java's phase-2 TPS, used for both brokers."
    echo "End to end: \`rmq-loadgen e2e\` writes the wall-clock send time into each body and consumes BenchE2E as the Java push"
    echo "consumer pulls (one long-polling PULL_MESSAGE per queue, 15 s broker suspend, 32 per batch, all queues on one"
    echo "connection; the subscription travels with each pull), from each queue's max offset; latency = pull response"
    echo "decoded − send time; the first ${E2E_WARMUP} s of each run are not recorded. The \"via the Java DefaultMQPushConsumer\" rows use"
    echo "the official consumer (benches/java/E2eConsumer.java, time taken when its listener is called) on the same stamps."
    echo "Send → visible: \`rmq-loadgen visible\`, every 50th message of each of the ${CONCURRENCY} workers is polled for right after SEND_OK."
    echo "SYNC_FLUSH: after the other phases the broker is stopped and started again with flushDiskType=SYNC_FLUSH on a"
    echo "fresh store; BenchTopic is made again, then phase 2 is repeated (warm-up included) for ${SYNC_SECS} s."
    echo
    echo "## Issue 12 goals (\"Must show\")"
    echo
    printf -- '- %s\n' "${GOALS[@]}"
    echo
    quietness_section
    # The hand-written sections survive a re-run.
    if [[ -n "$CARRY" ]]; then
        echo
        printf '%s\n' "$CARRY"
    fi
} >"$RESULTS"
log "wrote $RESULTS; total run time ${TOTAL} s"
