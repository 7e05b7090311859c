#!/usr/bin/env bash
# Produce a real Java-written RocketMQ store plus its expected message dump.
#
#   compat-tests/store/gen_java_store.sh <5.5.1|5.5.0|5.3.3|4.9.8> <out-dir>
#
# Starts the official Java name server + broker of that version (for 4.9.8: the 4.9.7 server jars, whose
# rocketmq-store is class-for-class identical to 4.9.8's; 4.9.8 broker/namesrv are not on Maven Central)
# with storePathRootDir=<out-dir>/store and 1 MiB CommitLog files, fills it with StoreProducer
# (~3000 messages, 3 topics x 4 queues, plus long-topic probes), stops the broker with SIGTERM (clean
# shutdown: abort file removed, ConsumeQueue/index/checkpoint flushed), stops the name server, then writes
#   <out-dir>/store/           the Java store (commitlog/ consumequeue/ index/ checkpoint config/ ...)
#   <out-dir>/expected.jsonl   StoreDump walk of <out-dir>/store/commitlog (Java MessageDecoder)
#   <out-dir>/run/             configs, logs, producer output, store descriptions before/after shutdown
#   <out-dir>/summary.txt      the RESULT lines, timings and store description
#
# Environment: STORE_GEN_COUNT (default 3000), STORE_GEN_SEED (default 20240501),
#              STORE_GEN_FORCE=1 to wipe an existing <out-dir>/{store,run,expected.jsonl,summary.txt}.
# Ports: picked from 61000-64999, above the default ephemeral range (name server P, broker P-2/P/P+1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { echo "usage: $0 <5.5.1|5.5.0|5.3.3|4.9.8> <out-dir>" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
ver="$1"
case "$ver" in 5.5.1|5.5.0|5.3.3|4.9.8) ;; *) usage ;; esac
mkdir -p "$2"
out="$(cd "$2" && pwd)"
count="${STORE_GEN_COUNT:-3000}"
seed="${STORE_GEN_SEED:-20240501}"

T0=$SECONDS
log() { printf '[gen %s %4ds] %s\n' "$ver" "$((SECONDS - T0))" "$*"; }

if [[ -e "$out/store" || -e "$out/run" || -e "$out/expected.jsonl" ]]; then
    if [[ "${STORE_GEN_FORCE:-0}" == 1 ]]; then
        rm -rf "$out/store" "$out/run" "$out/expected.jsonl" "$out/summary.txt"
    else
        echo "$0: $out already has store/, run/ or expected.jsonl (set STORE_GEN_FORCE=1 to replace)" >&2
        exit 1
    fi
fi

"$here/build.sh" "$ver"
tgt="${COMPAT_STORE_OUT:-$here/target}/$ver"
SERVER_CP="$tgt/lib-server/*"
CLIENT_CP="$tgt/classes:$tgt/lib-client/*"

run="$out/run"
home="$run/home"
mkdir -p "$home/conf" "$out/store"

# ---------------------------------------------------------------- processes
PIDS=()
cleanup() {
    local rc=$? p i
    for p in "${PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
        fi
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() { kill -0 "$1" 2>/dev/null; }
# Free = no socket in any state (listening, connected or TIME_WAIT) uses it: a client socket's
# TIME_WAIT on the port makes a later server bind fail with "Address already in use".
port_free() { [[ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]; }
pick_port() { # <offsets...>: a port P in 61000-64999 (above Linux's default ephemeral range,
    # 32768-60999, so the client sockets of earlier tests cannot hold it) with P+offset free
    local tries p o ok
    for ((tries = 0; tries < 200; tries++)); do
        p=$((61010 + RANDOM % 3980))
        ok=1
        for o in "$@"; do port_free $((p + o)) || { ok=0; break; }; done
        [[ $ok == 1 ]] && { echo "$p"; return 0; }
    done
    return 1
}
wait_for() { # <seconds> <what> <cmd...>
    local secs=$1 what=$2 t
    shift 2
    for ((t = 0; t < secs * 5; t++)); do
        if "$@"; then return 0; fi
        sleep 0.2
    done
    log "timed out after ${secs}s waiting for $what"
    return 1
}
wait_exit() { # <pid> <seconds>
    local t
    for ((t = 0; t < $2 * 5; t++)); do alive "$1" || return 0; sleep 0.2; done
    return 1
}

JVM=(-Xms256m -Xmx512m -XX:MaxDirectMemorySize=512m -XX:+UseSerialGC -XX:ActiveProcessorCount=2
    -XX:-OmitStackTraceInFastThrow -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8
    -Duser.home="$home" -Drocketmq.home.dir="$home")
if [[ "$ver" == 4.9.8 && "${STORE_GEN_JDK_OPENS:-1}" == 1 ]]; then
    # rocketmq-store 4.9.x unmaps files with reflection on DirectByteBuffer.attachment()/cleaner() and
    # jdk.internal.ref.Cleaner.clean(); JDK 17 denies that without these opens (see README).
    JVM+=(--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED)
fi
if [[ "$ver" == 4.9.8 ]]; then
    # 4.9.x startups configure logback from $ROCKETMQ_HOME/conf/logback_{namesrv,broker}.xml.
    for n in namesrv broker; do
        cat >"$home/conf/logback_$n.xml" <<EOF
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$run/logs/$n.log</file>
    <encoder><pattern>%d{yyy-MM-dd HH:mm:ss,SSS} %p %t - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
    done
    NS_LOGCFG=()
    BR_LOGCFG=()
else
    unzip -p "$(ls "$tgt"/lib-server/rocketmq-namesrv-*.jar | head -1)" rmq.namesrv.logback.xml >"$home/conf/rmq.namesrv.logback.xml"
    unzip -p "$tgt/lib-server/rocketmq-broker-$ver.jar" rmq.broker.logback.xml >"$home/conf/rmq.broker.logback.xml"
    NS_LOGCFG=(-Drmq.logback.configurationFile="$home/conf/rmq.namesrv.logback.xml")
    BR_LOGCFG=(-Drmq.logback.configurationFile="$home/conf/rmq.broker.logback.xml")
fi
mkdir -p "$run/logs"

# ---------------------------------------------------------------- name server
NS_PORT="$(pick_port 0)" || { log "no free port"; exit 1; }
cat >"$run/namesrv.conf" <<EOF
listenPort=$NS_PORT
kvConfigPath=$run/namesrv-kvConfig.json
configStorePath=$run/namesrv.properties
EOF
log "starting name server $ver on 127.0.0.1:$NS_PORT"
ROCKETMQ_HOME="$home" java "${JVM[@]}" "${NS_LOGCFG[@]}" -cp "$SERVER_CP" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$run/namesrv.conf" >"$run/logs/namesrv.out" 2>&1 &
NS_PID=$!
PIDS+=("$NS_PID")
ns_ready() { alive "$NS_PID" && grep -q 'boot success' "$run/logs/namesrv.out"; }
if ! wait_for 60 "name server boot" ns_ready; then tail -n 30 "$run/logs/namesrv.out" >&2; exit 1; fi

# ---------------------------------------------------------------- broker
BR_PORT="$(pick_port -2 0 1)" || { log "no free port"; exit 1; }
cat >"$run/broker.conf" <<EOF
brokerClusterName=StoreGenCluster
brokerName=storegen-broker
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=127.0.0.1:$NS_PORT
listenPort=$BR_PORT
storePathRootDir=$out/store
storePathCommitLog=$out/store/commitlog
mappedFileSizeCommitLog=1048576
cleanFileForciblyEnable=false
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
autoCreateTopicEnable=true
# A request may wait 3 s (default 200 ms) in the send queue before the broker answers "broker
# busy" (TIMEOUT_CLEAN_QUEUE): on a loaded 2-core CI machine one of 3000 sends met that.
waitTimeMillsInSendQueue=3000
EOF
log "starting broker $ver on 127.0.0.1:$BR_PORT, store $out/store"
ROCKETMQ_HOME="$home" java "${JVM[@]}" "${BR_LOGCFG[@]}" -cp "$SERVER_CP" \
    org.apache.rocketmq.broker.BrokerStartup -c "$run/broker.conf" >"$run/logs/broker.out" 2>&1 &
BR_PID=$!
PIDS+=("$BR_PID")
br_ready() { alive "$BR_PID" && grep -q 'boot success' "$run/logs/broker.out"; }
if ! wait_for 120 "broker boot" br_ready; then tail -n 30 "$run/logs/broker.out" >&2; exit 1; fi
log "$(grep -m1 'boot success' "$run/logs/broker.out")"

# ---------------------------------------------------------------- producer
t_prod=$SECONDS
log "StoreProducer: $count messages (seed $seed)"
prod_rc=0
timeout -k 10 600 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -Dfile.encoding=UTF-8 \
    -Djava.net.preferIPv4Stack=true -Duser.home="$home" -Drocketmq.client.logRoot="$run/logs/client" \
    -cp "$CLIENT_CP" StoreProducer "127.0.0.1:$NS_PORT" "127.0.0.1:$BR_PORT" "$count" "$seed" \
    >"$run/logs/producer.out" 2>&1 || prod_rc=$?
grep '^RESULT' "$run/logs/producer.out" | sed 's/^/    /' || true
log "producer finished in $((SECONDS - t_prod)) s, exit $prod_rc"
if [[ $prod_rc != 0 ]]; then tail -n 30 "$run/logs/producer.out" >&2; exit 1; fi
alive "$BR_PID" || { log "broker died"; exit 1; }

# Give the reput/flush services a moment, then record what the running store looks like.
sleep 2
python3 "$here/compare.py" --describe "$out/store" >"$run/describe-before-shutdown.txt" 2>&1 || true

# ---------------------------------------------------------------- clean shutdown
log "SIGTERM broker (pid $BR_PID)"
t_stop=$SECONDS
kill -TERM "$BR_PID"
if ! wait_exit "$BR_PID" 90; then
    log "broker did not exit within 90 s after SIGTERM"
    exit 1
fi
wait "$BR_PID" 2>/dev/null || true
log "broker exited after $((SECONDS - t_stop)) s"
kill -TERM "$NS_PID"
wait_exit "$NS_PID" 30 || { log "name server did not exit within 30 s"; exit 1; }
wait "$NS_PID" 2>/dev/null || true
if [[ -e "$out/store/abort" ]]; then
    log "WARNING: abort file still present after shutdown (unclean shutdown)"
    tail -n 20 "$run/logs/broker.out" >&2
    exit 1
fi
python3 "$here/compare.py" --describe "$out/store" >"$run/describe-after-shutdown.txt" 2>&1 || true

# ---------------------------------------------------------------- expected dump
log "StoreDump walk -> expected.jsonl"
java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -Dfile.encoding=UTF-8 -Duser.home="$home" \
    -cp "$CLIENT_CP" StoreDump "$out/store" >"$out/expected.jsonl" 2>"$run/logs/dump.err"
n=$(wc -l <"$out/expected.jsonl")
{
    echo "version=$ver server-jars=$(ls "$tgt/lib-server" | sed -n 's/^rocketmq-broker-\(.*\)\.jar$/\1/p') count=$count seed=$seed"
    grep '^RESULT' "$run/logs/producer.out" || true
    echo "expected.jsonl: $n messages"
    python3 - "$out/expected.jsonl" <<'EOF'
import json, sys, collections
c = collections.Counter(); v2 = 0
for line in open(sys.argv[1]):
    m = json.loads(line); c[m["topic"]] += 1
print("per topic: " + ", ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
    echo "--- store after shutdown"
    cat "$run/describe-after-shutdown.txt"
    echo "elapsed: $((SECONDS - T0)) s"
} >"$out/summary.txt"
log "done: $n messages in expected.jsonl; summary in $out/summary.txt"
