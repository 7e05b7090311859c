#!/usr/bin/env bash
# Side-by-side gRPC bench, one run on one machine: the official Java SDK (rocketmq-client-java
# 5.0.8) produces (async sends, 64 in flight, 1 KiB bodies), then SimpleConsumers of one group
# receive what it stored and ack each message asynchronously (4 consumers, one thread each,
# batches of 32), against
#   ours  mqbroker with its built-in gRPC endpoint (enableProxy=true)
#   java  the Java broker 5.3.3 with rocketmq-proxy 5.3.3 in local mode (what
#         `mqbroker --enable-proxy` runs: ProxyStartup -pm local)
# both with ASYNC_FLUSH, 128 MiB CommitLog files, one 8-queue topic.
#
# Environment: BENCH_SECONDS (default 20, per phase), BENCH_IN_FLIGHT (64), BENCH_BODY (1024),
# BENCH_CONSUMERS (4), BENCH_BATCH (32), RMQRS_BIN_DIR (target/debug; build --release and point
# it at target/release for real figures: a debug build is several times slower). Prints
# bench.<broker>.produce and bench.<broker>.receive per broker, then the ratios ours/Java and each
# broker process's CPU time per 1,000 messages per phase (/proc/<pid>/stat; for Java the one JVM
# of broker + proxy), and exits 0 when all four ran.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=grpc-bench
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"
GRPC_CP="$JAVA_OUT/classes/grpc:$JAVA_OUT/lib/grpc-client-java/*"
SECS="${BENCH_SECONDS:-20}" INFLIGHT="${BENCH_IN_FLIGHT:-64}" BODY="${BENCH_BODY:-1024}"
CONSUMERS="${BENCH_CONSUMERS:-4}" BATCH="${BENCH_BATCH:-32}"

COMPAT_JAVA_PROXY=1 build_all # lib/proxy: the Java broker + proxy
start_namesrv || { echo "grpc-bench-compat: 0 passed, 1 failed"; exit 1; }

# cpu_ticks <pid>: user + system CPU of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

run_bench() { # <name> <grpc port> <broker pid> [quiet|report-only]
    if [[ "${4:-}" != report-only ]]; then
        local c0 c1="" c2 jpid
        c0="$(cpu_ticks "$3")"
        timeout -k 10 $((2 * SECS + 180)) java -Xms256m -Xmx512m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -cp "$GRPC_CP" \
        GrpcScenarios bench "127.0.0.1:$2" Bench "$SECS" "$INFLIGHT" "$BODY" BenchGroup "$CONSUMERS" "$BATCH" \
        >"$WORK/bench-$1.out" 2>&1 &
        jpid=$!
        # The broker's CPU at the end of the produce phase splits its CPU between the phases.
        while kill -0 "$jpid" 2>/dev/null; do
            [[ -z "$c1" ]] && grep -q "^RESULT bench " "$WORK/bench-$1.out" && c1="$(cpu_ticks "$3")"
            sleep 0.2
        done
        wait "$jpid"
        c2="$(cpu_ticks "$3")"
        echo "$c0 ${c1:-$c2} $c2" >"$WORK/cpu-$1.txt"
    fi
    [[ "${4:-}" == quiet ]] && return 0
    local r phase
    for phase in bench:produce receive:receive; do
        r="$(grep "^RESULT ${phase%%:*} " "$WORK/bench-$1.out")"
        report "bench.$1.${phase#*:}" "$([[ "$r" == *PASS* ]] && echo PASS || echo FAIL)" "${r#RESULT * * }" "$WORK/bench-$1.out"
    done
}
field() { # <broker> <bench|receive> <field>: a number from that RESULT line
    grep -o "^RESULT $2 .*" "$WORK/bench-$1.out" 2>/dev/null | grep -o " $3=[0-9]*" | cut -d= -f2
}
# cpu_per_k <broker> <bench|receive>: the broker's CPU ms per 1,000 messages of the phase (sent
# or received, the warm-up's included), what a busy machine disturbs least.
cpu_per_k() {
    local c n from to
    read -ra c <"$WORK/cpu-$1.txt" 2>/dev/null || return 0
    if [[ "$2" == bench ]]; then n="$(field "$1" bench total)" from="${c[0]}" to="${c[1]}"
    else n="$(field "$1" receive received)" from="${c[1]}" to="${c[2]}"; fi
    [[ -n "$n" && "$n" -gt 0 ]] && awk -v a="$from" -v b="$to" -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", (b - a) * 1000 / hz * 1000 / n }'
}

conf=(brokerClusterName=BenchC mappedFileSizeCommitLog=134217728)

# ours
gp="$(pick_port 0)"
start_broker ours rust "${conf[@]}" brokerName=bench-ours enableProxy=true "grpcServerPort=$gp" \
    || { report bench.ours FAIL "broker did not start" "$WORK/ours.out"; finish; }
mqadmin "$WORK/ut-ours.out" updateTopic -b "127.0.0.1:${BROKER_PORT[ours]}" -t Bench -r 8 -w 8
run_bench ours "$gp" "${PID[ours]}"
stop_broker ours

# Java broker + rocketmq-proxy 5.3.3, local mode
jp="$(pick_port 0)" bp="$(pick_port -2 0 1)"
mkdir -p "$WORK/java/store" "$WORK/java/home"
{
    printf 'brokerIP1=127.0.0.1\nlistenPort=%s\nnamesrvAddr=%s\nbrokerName=bench-java\n' "$bp" "$NS"
    printf 'storePathRootDir=%s\nstorePathCommitLog=%s\n' "$WORK/java/store" "$WORK/java/store/commitlog"
    printf 'autoCreateTopicEnable=true\nflushDiskType=ASYNC_FLUSH\n'
    printf '%s\n' "${conf[@]}"
} >"$WORK/java.conf"
printf '{"rocketMQClusterName":"BenchC","grpcServerPort":%s,"remotingListenPort":%s,"namesrvAddr":"%s"}\n' \
    "$jp" "$(pick_port 0)" "$NS" >"$WORK/rmq-proxy.json"
# A production-like JVM (runbroker.sh's G1, the full JIT; a smaller heap than its 8 GiB), not the
# compat tests' quick-start one (C1 only, SerialGC).
BENCH_JVM=(-server -Xms1g -Xmx1g -XX:MaxDirectMemorySize=1g -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow
    -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8)
ROCKETMQ_HOME="$WORK/java/home" java "${BENCH_JVM[@]}" -Duser.home="$WORK/java/home" -cp "$JAVA_OUT/lib/proxy/*" \
    org.apache.rocketmq.proxy.ProxyStartup -pm local -bc "$WORK/java.conf" -pc "$WORK/rmq-proxy.json" >"$WORK/java.out" 2>&1 &
PID[java]=$!
if wait_for 120 grep -qs "rocketmq-proxy startup successfully" "$WORK/java.out"; then
    mqadmin "$WORK/ut-java.out" updateTopic -b "127.0.0.1:$bp" -t Bench -r 8 -w 8
    # The route reaches the name server with the broker's next registration and the proxy's
    # route cache: retry the producer start until it finds the topic.
    for try in 1 2 3 4 5 6; do
        run_bench java "$jp" "${PID[java]}" quiet
        grep -q "RESULT bench" "$WORK/bench-java.out" && break
        sleep 10
    done
    run_bench java "$jp" "${PID[java]}" report-only
else
    report bench.java FAIL "Java broker + proxy did not start" "$WORK/java.out"
fi
kill "${PID[java]}" 2>/dev/null; wait "${PID[java]}" 2>/dev/null; unset 'PID[java]'
for phase in bench:produce receive:receive; do
    o="$(field ours "${phase%%:*}" tps)" j="$(field java "${phase%%:*}" tps)"
    [[ -n "$o" && -n "$j" && "$j" -gt 0 ]] && log "${phase#*:}: ours $o/s, Java $j/s, ours/Java $(awk -v o="$o" -v j="$j" 'BEGIN { printf "%.2f", o / j }');" \
        "broker CPU per 1,000 messages: ours $(cpu_per_k ours "${phase%%:*}") ms, Java broker+proxy $(cpu_per_k java "${phase%%:*}") ms"
done
log "binaries: $BIN; $SECS s per phase, $INFLIGHT in flight, $BODY-byte bodies, $CONSUMERS consumers x batch $BATCH"
finish
