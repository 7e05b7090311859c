#!/usr/bin/env bash
# Side-by-side benchmark: the official Apache RocketMQ 5.3.3 name server + broker (Java) against ours,
# run one after the other on the same ports and the same (fresh) store directory.
#
# Usage: benches/compare_java.sh            (all knobs are environment variables, see below)
#
# Per implementation it measures
#   1. broker start-up: process start -> port accepting, -> "boot success" line, -> visible in the
#      name server's cluster info (GET_BROKER_CLUSTER_INFO);
#   2. produce TPS: rmq-loadgen, 64 in flight, 1 KiB, $DURATION s, topic BenchTopic (8 queues, made up
#      front with the Java mqadmin updateTopic -r 8 -w 8), after a $WARMUP s warm-up on the same topic;
#   3. latency p50/p99/p999 at a fixed $RATE msg/s for $DURATION s;
#   4. consume TPS draining a $BACKLOG-message backlog (topic BenchDrain, 8 queues, filled with
#      rmq-loadgen --count, then drained by rmq-loadgen consume with a fresh group);
#   5. broker RSS after phase 2 and at the end (plus peak VmHWM and RssAnon at the end);
#   7. CPU per message: the broker's user + system CPU (from /proc/PID/stat) divided by the messages
#      of a fixed $CPU_RATE msg/s produce run ($DURATION s), of the backlog drain (pull path), and
#      the name server's CPU per GET_ROUTEINFO_BY_TOPIC at a fixed $ROUTE_RATE queries/s; rmq-loadgen's
#      own CPU per message beside each (the standalone mode has one process: its figure is the sum);
#   6. the official Java benchmark Producer (rocketmq-all 5.3.3 example/benchmark/Producer.java,
#      compiled here because rocketmq-example 5.3.3 is not published to Maven Central) with
#      -t BenchTopic -s 1024 -w 64 -ri 1000 for $JBENCH_SECS s; steady state = mean of the per-second
#      "Send TPS:" lines (each is a 9 s sliding window) whose window starts >= 5 s after launch.
# It prints a table (Java, ours, ours/Java) and writes benches/RESULTS.md.
#
# Before measuring it waits (up to $QUIET_WAIT s in total) until no foreign java / mqbroker / mqnamesrv /
# rocketmq-standalone / rustc process runs, and it records any it saw during the run in RESULTS.md.
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
QUIET_WAIT="${QUIET_WAIT:-1200}"            # budget (s) for waiting for a quiet machine, per broker
QUIET_HOLD="${QUIET_HOLD:-30}"              # ... which must stay quiet this long before a broker starts
ATTEMPTS="${ATTEMPTS:-3}"                   # runs per broker when disturbed (see FOREIGN_MAX_PCT)
FOREIGN_MAX_PCT="${FOREIGN_MAX_PCT:-5}"     # max foreign CPU during a run, % of one core
OURS_MODE="${OURS_MODE:-split}"                # split: mqnamesrv + mqbroker; standalone: rocketmq-standalone
SKIP_BUILD="${SKIP_BUILD:-0}"
RESULTS="${RESULTS:-$ROOT/benches/RESULTS.md}"
CLUSTER=DefaultCluster
NS="127.0.0.1:$NS_PORT"
BIN="$ROOT/target/release"
CMDLINE="$(printf '%q ' "$0" "$@")"
ENVLINE="QUIET_WAIT=$QUIET_WAIT QUIET_HOLD=$QUIET_HOLD ATTEMPTS=$ATTEMPTS FOREIGN_MAX_PCT=$FOREIGN_MAX_PCT WORK=$WORK NS_PORT=$NS_PORT BROKER_PORT=$BROKER_PORT DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY SIZE=$SIZE RATE=$RATE CPU_RATE=$CPU_RATE ROUTE_RATE=$ROUTE_RATE BACKLOG=$BACKLOG JBENCH_SECS=$JBENCH_SECS OURS_MODE=$OURS_MODE"
PROBE="$ROOT/benches/probe.py"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"   # log/die, stop_pid/cleanup/run, fetch_java_jars, wait_quiet, run_attempts, ...

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
JCP="$WORK/lib/*"
JHOME="$WORK/home"
# JCOMMON and JBROKER_OPTS (runbroker.sh's G1 options, 2 GiB heap) come from lib.sh.
JCOMMON+=(-Duser.home="$JHOME" -Drocketmq.home.dir="$JHOME" -Drocketmq.client.logRoot="$WORK/logs/javaclient")
export ROCKETMQ_HOME="$JHOME"

# ---------------------------------------------------------------- helpers
start_sampler   # foreign-CPU sampler for wait_quiet / run_attempts (lib.sh)

port_free() { ! ss -Htln "( sport = :$1 )" | grep -q .; }
wait_ports_free() {
    local i p busy
    for ((i = 0; i < 300; i++)); do
        busy=0
        for p in "$NS_PORT" "$BROKER_PORT" $((BROKER_PORT - 2)) $((BROKER_PORT + 1)); do
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
mqadmin() {
    run 120 "$WORK/logs/$IMPL-mqadmin-$1.log" java "${JCOMMON[@]}" -Xms256m -Xmx256m -cp "$JCP" \
        org.apache.rocketmq.tools.command.MQAdminStartup updateTopic -n "$NS" -c "$CLUSTER" -t "$1" -r 8 -w 8
}

# ---------------------------------------------------------------- one implementation
bench() { # java | ours
    IMPL=$1
    local L="$WORK/logs/$IMPL" store="$WORK/store" out ns_pid broker_pid
    log "===== $IMPL ====="
    wait_quiet "$IMPL"
    wait_ports_free
    echo "$IMPL#$ATTEMPT" >"$WORK/phase"
    BENCH_T0=$SECONDS
    rm -rf "$store" "$JHOME/namesrv" "$JHOME/store"
    mkdir -p "$store"
    cat >"$WORK/namesrv.conf" <<EOF
listenPort=$NS_PORT
EOF
    cat >"$WORK/broker.conf" <<EOF
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
mappedFileSizeCommitLog=1073741824
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
EOF
    # -- name server (not timed), then the broker (timed)
    if [[ $IMPL == java ]]; then
        java "${JCOMMON[@]}" -Xms512m -Xmx512m -cp "$JCP" org.apache.rocketmq.namesrv.NamesrvStartup \
            -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
        ns_pid=$!; PIDS+=("$ns_pid")
        wait_line "$L-namesrv.log" "boot success" 60 || die "java name server did not start (see $L-namesrv.log)"
        start_probe
        java "${JCOMMON[@]}" "${JBROKER_OPTS[@]}" -cp "$JCP" org.apache.rocketmq.broker.BrokerStartup \
            -c "$WORK/broker.conf" >"$L-broker.log" 2>&1 &
        broker_pid=$!; PIDS+=("$broker_pid")
    elif [[ $OURS_MODE == standalone ]]; then
        ns_pid=""
        start_probe
        HOME="$JHOME" "$BIN/rocketmq-standalone" --data-dir "$WORK/ours-data" --namesrv-port "$NS_PORT" \
            -c "$WORK/broker.conf" >"$L-broker.log" 2>&1 &
        broker_pid=$!; PIDS+=("$broker_pid")
    else
        HOME="$JHOME" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
        ns_pid=$!; PIDS+=("$ns_pid")
        wait_line "$L-namesrv.log" "boot success" 60 || die "our name server did not start (see $L-namesrv.log)"
        start_probe
        HOME="$JHOME" "$BIN/mqbroker" -c "$WORK/broker.conf" >"$L-broker.log" 2>&1 &
        broker_pid=$!; PIDS+=("$broker_pid")
    fi
    wait "$PROBE_PID"
    out="$(cat "$WORK/probe.out")"
    log "$IMPL start-up (ms): $out"
    for kv in $out; do R[$IMPL.start_${kv%%=*}]="${kv#*=}"; done
    [[ -n "${R[$IMPL.start_port]:-}" ]] || die "$IMPL broker did not open port $BROKER_PORT (see $L-broker.log)"
    R[$IMPL.rss_boot]=$(rss_kib "$broker_pid")

    # -- topics
    mqadmin BenchTopic || log "WARN: updateTopic BenchTopic failed (see $WORK/logs/$IMPL-mqadmin-BenchTopic.log)"
    mqadmin BenchDrain || log "WARN: updateTopic BenchDrain failed"
    for t in BenchTopic BenchDrain; do
        [[ "$(python3 "$PROBE" route "$NS_PORT" "$t" 8 30)" == ok ]] || log "WARN: route of $t has no 8 write queues"
    done

    local LG=("$BIN/rmq-loadgen")
    # -- warm-up (not reported), then 2. max produce TPS
    if ((WARMUP > 0)); then
        run $((WARMUP + 60)) "$L-warmup.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchTopic \
            --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$WARMUP"
    fi
    note_interference "$IMPL" produce
    run $((DURATION + 120)) "$L-produce.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchTopic \
        --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$DURATION"
    parse_produce "$IMPL" prod "$L-produce.log"
    note_interference "$IMPL" produce
    R[$IMPL.rss_prod]=$(rss_kib "$broker_pid")

    # -- 3. fixed rate latency
    run $((DURATION + 120)) "$L-rate.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchTopic \
        --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$DURATION" --rate "$RATE"
    parse_produce "$IMPL" rate "$L-rate.log"
    note_interference "$IMPL" rate

    # -- 7a. CPU per message at a fixed produce rate
    local c0 c1
    c0=$(cpu_ticks "$broker_pid")
    run $((DURATION + 120)) "$L-cpu.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchTopic \
        --concurrency "$CONCURRENCY" --size "$SIZE" --duration "$DURATION" --rate "$CPU_RATE"
    c1=$(cpu_ticks "$broker_pid")
    parse_produce "$IMPL" cpu "$L-cpu.log"
    cpu_result "$IMPL" cpu_send $((c1 - c0)) "${R[$IMPL.cpu_n]:-}" "$L-cpu.log"
    note_interference "$IMPL" cpu

    # -- 4. backlog fill + drain
    run 1800 "$L-fill.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchDrain \
        --concurrency "$CONCURRENCY" --size "$SIZE" --count "$BACKLOG" --duration 1800
    parse_produce "$IMPL" fill "$L-fill.log"
    c0=$(cpu_ticks "$broker_pid")
    run 700 "$L-consume.log" "${LG[@]}" consume --namesrv "$NS" --topic BenchDrain \
        --group "bench_cg_$(date +%s)" --duration 600
    c1=$(cpu_ticks "$broker_pid")
    local cl
    cl="$(grep -E '^consume: ' "$L-consume.log" | tail -1)"
    log "$IMPL consume: ${cl:-no result line}"
    if [[ -n "$cl" ]]; then
        R[$IMPL.cons_n]="$(sed -E 's/^consume: ([0-9]+) msgs.*/\1/' <<<"$cl")"
        R[$IMPL.cons_tps]="$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$cl")"
        R[$IMPL.cons_mib]="$(sed -E 's/.*, ([0-9.]+) MiB\/s.*/\1/' <<<"$cl")"
    fi
    cpu_result "$IMPL" cpu_pull $((c1 - c0)) "${R[$IMPL.cons_n]:-}" "$L-consume.log"
    note_interference "$IMPL" consume

    # -- 7c. name server CPU per route query at a fixed rate (standalone: the one process)
    local nsp="${ns_pid:-$broker_pid}" rl
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

    # -- 6. official Java benchmark Producer
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

    # -- 5. RSS at the end
    R[$IMPL.rss_end]=$(rss_kib "$broker_pid")
    R[$IMPL.hwm_end]=$(status_kib "$broker_pid" VmHWM)
    R[$IMPL.anon_end]=$(status_kib "$broker_pid" RssAnon)
    R[$IMPL.store_mib]=$(du -sm "$store" 2>/dev/null | cut -f1)
    kill -0 "$broker_pid" 2>/dev/null || log "WARN: $IMPL broker died during the run (see $L-broker.log)"

    R[$IMPL.secs]=$((SECONDS - BENCH_T0))
    sleep 1   # let the sampler take a last look at this phase
    echo idle >"$WORK/phase"
    stop_pid "$broker_pid" 30
    [[ -n "$ns_pid" ]] && stop_pid "$ns_pid" 15
    PIDS=()
    log "sync + remove the store"
    timeout 600 sync
    rm -rf "$store" "$WORK/ours-data"
}

# A broker's run is repeated (up to ATTEMPTS times) when other processes used more than FOREIGN_MAX_PCT % of
# one core on average during it; the last attempt is reported either way.
for impl in java ours; do
    run_attempts bench "$impl"
done

# ---------------------------------------------------------------- report
ROWS=(
    "Broker start -> port accepting (ms, lower better)|start_port"
    "Broker start -> 'boot success' line (ms)|start_boot"
    "Broker start -> registered in name server (ms)|start_reg"
    "Produce TPS, ${CONCURRENCY} in flight, ${SIZE} B, ${DURATION} s (msg/s)|prod_tps"
    "  latency at max load p50 (us)|prod_p50"
    "  latency at max load p99 (us)|prod_p99"
    "  send errors (rmq-loadgen)|prod_err"
    "Fixed ${RATE} msg/s, ${DURATION} s: achieved (msg/s)|rate_tps"
    "  p50 (us)|rate_p50"
    "  p99 (us)|rate_p99"
    "  p999 (us)|rate_p999"
    "  max (us)|rate_max"
    "  send errors (rmq-loadgen)|rate_err"
    "Fixed ${CPU_RATE} msg/s produce: achieved (msg/s)|cpu_tps"
    "  broker CPU per message (us, user+sys)|cpu_send"
    "  rmq-loadgen CPU per message (us)|cpu_send_lg"
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
TABLE="| Metric | Java 5.3.3 | Ours | Ours/Java |
|---|---:|---:|---:|"
for row in "${ROWS[@]}"; do
    label="${row%%|*}"; key="${row#*|}"
    j="${R[java.$key]:-}"; o="${R[ours.$key]:-}"
    TABLE+=$'\n'"| $label | ${j:-n/a} | ${o:-n/a} | $(ratio "$o" "$j") |"
done
print_table "$TABLE"

TOTAL=$((SECONDS - T_START))
# The hand-written sections (gRPC bench, produce-path cuts, scale and visibility) come after the
# generated ones; everything from the first of them to the end of the file is carried over.
CARRY="$(awk '/^## (gRPC endpoint vs Java proxy|CPU per message and produce-path cuts|Scale and visibility)/ {on = 1} on' "$RESULTS" 2>/dev/null)"
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
    echo "- Both: brokerIP1=127.0.0.1, ASYNC_MASTER, ASYNC_FLUSH, 1 GiB CommitLog files, fresh store $WORK/store,"
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
    echo
    quietness_section
    # The hand-written sections survive a re-run.
    if [[ -n "$CARRY" ]]; then
        echo
        printf '%s\n' "$CARRY"
    fi
} >"$RESULTS"
log "wrote $RESULTS; total run time ${TOTAL} s"
