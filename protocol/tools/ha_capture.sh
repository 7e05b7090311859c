#!/usr/bin/env bash
# Captures the classic HA byte streams between a Java 5.3.3 master and a Java 5.3.3 slave into
# protocol/ha/ (golden data for tests/ha_golden.rs).
#
#   protocol/tools/ha_capture.sh [out-dir]      (default protocol/ha)
#
# Our name server; a Java master (ASYNC_MASTER, 1 MiB CommitLog files); a raw TCP proxy
# (ha_proxy.py record) in front of the master's HA port; a Java slave that learns the proxy as its
# master's HA address through a name-server proxy (ha_proxy.py rewrite).
# A Java producer (compat-tests HaScenarios) sends 3 messages; after 12 s (two heartbeat periods)
# everything stops and the two directions are written as hex with their provenance.
# Needs the Java artifacts of compat-tests/java/build.sh and `cargo build --bins`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/protocol/ha}"
JAVA_OUT="$ROOT/compat-tests/java/target"
WORK="$(mktemp -d /tmp/rmqrs-hacapture.XXXXXX)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; [[ -n "${KEEP:-}" ]] || rm -rf "$WORK"' EXIT
bash "$ROOT/compat-tests/java/build.sh" >/dev/null
(cd "$ROOT" && cargo build --bins --quiet)
free() { [[ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]; }
pick() { # a port P (61010-64989, above the ephemeral range) with P-2..P+1 free
    local p
    for _ in $(seq 300); do
        p=$((61010 + RANDOM % 3980))
        free $((p - 2)) && free $p && free $((p + 1)) && { echo $p; return 0; }
    done
    return 1
}
NS=$(pick) M=$(pick) S=$(pick) PROXY=$(pick) NSPROXY=$(pick)
JVM=(-Xms128m -Xmx512m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -Djava.net.preferIPv4Stack=true)
unzip -p "$JAVA_OUT/lib/server/rocketmq-broker-5.3.3.jar" rmq.broker.logback.xml >"$WORK/logback.xml"

printf 'listenPort=%s\n' $NS >"$WORK/ns.conf"
"$ROOT/target/debug/mqnamesrv" -c "$WORK/ns.conf" >"$WORK/ns.log" 2>&1 & PIDS+=($!)
broker() { # name port extra...
    local n=$1 p=$2; shift 2
    mkdir -p "$WORK/$n/home"
    printf '%s\n' brokerClusterName=HaGolden brokerName=ha-golden brokerIP1=127.0.0.1 brokerIP2=127.0.0.1 \
        "listenPort=$p" "storePathRootDir=$WORK/$n/store" \
        "storePathCommitLog=$WORK/$n/store/commitlog" mappedFileSizeCommitLog=1048576 "$@" >"$WORK/$n.conf"
    ROCKETMQ_HOME="$WORK/$n/home" java "${JVM[@]}" -Duser.home="$WORK/$n/home" \
        -Drmq.logback.configurationFile="$WORK/logback.xml" -cp "$JAVA_OUT/lib/server/*" \
        org.apache.rocketmq.broker.BrokerStartup -c "$WORK/$n.conf" >"$WORK/$n.out" 2>&1 & PIDS+=($!)
    for _ in $(seq 120); do grep -q "boot success" "$WORK/$n.out" && return 0; sleep 0.5; done
    echo "$n did not start"; tail "$WORK/$n.out"; exit 1
}
broker master $M "namesrvAddr=127.0.0.1:$NS" brokerId=0 brokerRole=ASYNC_MASTER autoCreateTopicEnable=true
python3 "$ROOT/protocol/tools/ha_proxy.py" record $PROXY 127.0.0.1 $((M + 1)) "$WORK/stream" & PIDS+=($!)
python3 "$ROOT/protocol/tools/ha_proxy.py" rewrite $NSPROXY 127.0.0.1 $NS "127.0.0.1:$((M + 1))" "127.0.0.1:$PROXY" & PIDS+=($!)
sleep 1
broker slave $S brokerId=1 brokerRole=SLAVE "namesrvAddr=127.0.0.1:$NSPROXY"
sleep 2
for _ in $(seq 20); do  # until the new topic's route exists
    java -cp "$JAVA_OUT/classes/client-5.3.3:$JAVA_OUT/lib/client-5.3.3/*" -Duser.home="$WORK" \
        HaScenarios produce "127.0.0.1:$NS" HaGoldenTopic 3 "$WORK/acks" >"$WORK/produce.out" 2>&1
    grep -q "ok=3" "$WORK/produce.out" && break
    sleep 1
done
grep RESULT "$WORK/produce.out"
sleep 12
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
sleep 3
mkdir -p "$OUT"
stamp="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for dir in up down; do
    case $dir in
        up) what="slave -> master: 8-byte max-offset reports";;
        down) what="master -> slave: 12-byte transfer headers (offset i64, size i32), each followed by size raw CommitLog bytes";;
    esac
    {
        echo "# Classic HA stream, $what."
        echo "# Sender/receiver: Java rocketmq-broker 5.3.3 master (ASYNC_MASTER, mappedFileSizeCommitLog=1048576)"
        echo "# and 5.3.3 slave (brokerId=1, empty store), JDK $(java -version 2>&1 | head -1 | cut -d'"' -f2)."
        echo "# One connection, whole stream in order, from connect to SIGTERM of the brokers: 3 messages sent by"
        echo "# the 5.3.3 client (HaScenarios produce, topic HaGoldenTopic, keys k0..k2, 200-byte bodies), then"
        echo "# 12 s idle (heartbeats). Captured $stamp by protocol/tools/ha_capture.sh (raw proxy ha_proxy.py)."
        echo "# Bytes: $(stat -c %s "$WORK/stream.$dir")"
        xxd -p -c 32 "$WORK/stream.$dir"
    } >"$OUT/java533_$dir.hex"
done
echo "written $OUT/java533_up.hex ($(stat -c %s "$WORK/stream.up") B) and java533_down.hex ($(stat -c %s "$WORK/stream.down") B)"
