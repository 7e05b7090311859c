#!/usr/bin/env bash
# Official-client compatibility harness for the Rust RocketMQ name server.
#
# Starts our name server (or the official Java one, COMPAT_NAMESRV=java, as a reference run),
# registers the official Java broker 5.3.3 to it, then drives it with the official tools
# (mqadmin 5.3.3), the Java clients 5.3.3 and 4.9.8, and the Go client test in compat-tests/go/
# when present (phase 1). Phase 2 then starts our name server with OUR broker (mqbroker) and runs
# the broker scenarios (send modes, rebalancing, broadcasting, orderly, lite pull, tags, offsets
# across a restart, new-group start position, mqadmin, rocketmq-standalone quick start) with the
# Java clients 5.3.3 and 4.9.8 and the Go client; those ids start with "broker.".
# Scenarios listed in compat-tests/tests.allow must pass; others are informational.
#
# The last line of output is always "compat: N passed, M failed" (M counts required failures).
# Exit status: 0 when M = 0, 1 otherwise.
#
# Environment (all optional):
#   COMPAT_NAMESRV=rust|java   which name server to test (default rust)
#   RMQRS_NAMESRV=path         our name server binary (default: cargo build --bins, target/debug/mqnamesrv)
#   COMPAT_MSG_COUNT=1000      messages per Java client scenario
#   COMPAT_CLIENT_TIMEOUT=90   seconds a client scenario may wait for its messages
#   COMPAT_PORT_MIN/MAX        range for picking free TCP ports (default 20000-32000)
#   COMPAT_WORKDIR=dir         where to put configs, stores and logs (default: a new mktemp dir)
#   COMPAT_KEEP_STORE=1        keep the broker store directory (deleted at exit by default)
#   COMPAT_JAVA_OUT=dir        Java build output (default compat-tests/java/target)
#   COMPAT_PHASES=1,2          which phases to run (1: Java broker + our name server, 2: our broker)
#   COMPAT_BROKER=rust|java    phase-2 broker (java = reference run of the phase-2 scenarios)
#   RMQRS_BROKER, RMQRS_STANDALONE   our broker / standalone binaries (default: next to mqnamesrv)
#   COMPAT_SEND_COUNT=10000    messages per send mode in phase 2 (sync, async, oneway, batch)
#   COMPAT_BROKER_COUNT=400    messages for the other phase-2 scenarios
#   COMPAT_BROKER_TIMEOUT=60   seconds each phase-2 wait may take
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
NAMESRV_KIND="${COMPAT_NAMESRV:-rust}"
MSG_COUNT="${COMPAT_MSG_COUNT:-1000}"
CLIENT_TIMEOUT="${COMPAT_CLIENT_TIMEOUT:-90}"
PORT_MIN="${COMPAT_PORT_MIN:-20000}"
PORT_MAX="${COMPAT_PORT_MAX:-32000}"
JAVA_OUT="${COMPAT_JAVA_OUT:-$HERE/java/target}"
PHASES="${COMPAT_PHASES:-1,2}"
P2_BROKER_KIND="${COMPAT_BROKER:-rust}"
SEND_COUNT="${COMPAT_SEND_COUNT:-10000}"
P2_COUNT="${COMPAT_BROKER_COUNT:-400}"
P2_TIMEOUT="${COMPAT_BROKER_TIMEOUT:-60}"
ALLOW_FILE="$HERE/tests.allow"
CLUSTER="CompatCluster"
BROKER_NAME="broker-compat"
RUN_ID="$(date +%s)$$"
RUN_ID="${RUN_ID: -8}"

case "$NAMESRV_KIND" in
    rust | java) ;;
    *) echo "run.sh: COMPAT_NAMESRV must be 'rust' or 'java', got '$NAMESRV_KIND'" >&2; exit 2 ;;
esac
case "$P2_BROKER_KIND" in
    rust | java) ;;
    *) echo "run.sh: COMPAT_BROKER must be 'rust' or 'java', got '$P2_BROKER_KIND'" >&2; exit 2 ;;
esac
phase_on() { [[ ",$PHASES," == *",$1,"* ]]; }

if [[ -n "${COMPAT_WORKDIR:-}" ]]; then
    WORK="$COMPAT_WORKDIR"
    mkdir -p "$WORK"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/rmqrs-compat.XXXXXX")"
fi
LOGS="$WORK/logs"
mkdir -p "$LOGS"

# JVM flags sized for a 2-core CI machine: short-lived JVMs, serial GC, C1 only.
JVM_COMMON=(-XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1
    -XX:-OmitStackTraceInFastThrow -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8)

T_START=$SECONDS
log() { printf '[compat %4ds] %s\n' "$((SECONDS - T_START))" "$*"; }

# ---------------------------------------------------------------- results bookkeeping
declare -a RESULT_IDS=() RESULT_STATUS=() RESULT_DETAIL=()
declare -A REQUIRED=()
if [[ -f "$ALLOW_FILE" ]]; then
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line%%#*}"
        line="${line//[[:space:]]/}"
        [[ -n "$line" ]] && REQUIRED["$line"]=1
    done <"$ALLOW_FILE"
else
    echo "run.sh: warning: $ALLOW_FILE missing, every scenario is informational" >&2
fi

is_required() { [[ -n "${REQUIRED[$1]:-}" ]]; }

# record <id> PASS|FAIL|SKIP <detail> [log files to show on failure...]
record() {
    local id="$1" status="$2" detail="$3"
    shift 3
    local kind="informational"
    is_required "$id" && kind="required"
    RESULT_IDS+=("$id")
    RESULT_STATUS+=("$status")
    RESULT_DETAIL+=("$detail")
    log "$status $id ($kind): $detail"
    if [[ "$status" == FAIL ]]; then
        local f
        for f in "$@"; do
            show_tail "$f" 40
        done
    fi
}

# logback prints its own status lines on stdout; drop them when showing logs.
filter_noise() { grep -v -E '^[0-9:,]+ \|-(INFO|WARN|ERROR) in ' || true; }

show_tail() {
    local f="$1" n="${2:-40}"
    if [[ -f "$f" ]]; then
        echo "----- last lines of $f -----"
        filter_noise <"$f" | tail -n "$n"
        echo "----- end of $f -----"
    else
        echo "----- (no log file $f) -----"
    fi
}

# ---------------------------------------------------------------- process management
declare -a PIDS=() PID_NAMES=()
TORN_DOWN=0

# start_bg <name> <logfile> <cmd...>: runs cmd in its own process group (job control on).
start_bg() {
    local name="$1" logf="$2"
    shift 2
    set -m
    "$@" >"$logf" 2>&1 </dev/null &
    local pid=$!
    set +m
    PIDS+=("$pid")
    PID_NAMES+=("$name")
    LAST_PID=$pid
    log "started $name (pid $pid), log $logf"
}

# A process that exited but was not reaped yet (zombie) counts as dead.
alive() {
    local st
    st="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$st" && "$st" != Z* ]]
}

# stop_pid <pid> <name> <grace seconds>: TERM the process group, then KILL after the grace period.
stop_pid() {
    local pid="$1" name="$2" grace="$3" i
    alive "$pid" || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        log "$name (pid $pid) still running after ${grace}s, killing"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

teardown() {
    [[ "$TORN_DOWN" == 1 ]] && return 0
    TORN_DOWN=1
    local i
    # Reverse start order: the broker unregisters from the name server while both are up.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]}" "${PID_NAMES[$i]}" 20
    done
    if [[ "${COMPAT_KEEP_STORE:-0}" != 1 ]]; then
        rm -rf "$WORK/broker/store" "$WORK/p2/broker/store" "$WORK/p2/standalone/data"
    fi
}

on_exit() {
    local rc=$?
    if [[ "$TORN_DOWN" != 1 ]]; then
        teardown
        echo "run.sh: aborted (status $rc); logs in $LOGS" >&2
    fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# True when any socket (listening, connected, TIME_WAIT) holds the port: a client socket's
# TIME_WAIT there makes a later server bind fail with "Address already in use".
port_taken() { port_open "$1" || [[ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]; }

# pick_port <offsets...>: sets PICKED_PORT to a random port p such that p+offset is free for
# every offset (and not handed out earlier in this run).
USED_PORTS=" "
pick_port() {
    local tries p off ok
    for ((tries = 0; tries < 200; tries++)); do
        p=$((PORT_MIN + 2 + RANDOM % (PORT_MAX - PORT_MIN - 4)))
        ok=1
        for off in "$@"; do
            if [[ "$USED_PORTS" == *" $((p + off)) "* ]] || port_taken $((p + off)); then
                ok=0
                break
            fi
        done
        if [[ $ok == 1 ]]; then
            for off in "$@"; do USED_PORTS+="$((p + off)) "; done
            PICKED_PORT=$p
            return 0
        fi
    done
    log "no free port found in $PORT_MIN-$PORT_MAX"
    return 1
}

# extract_resource <jar> <entry> <dest>: copy one file out of a jar (unzip, or the JDK's jar tool).
extract_resource() {
    if command -v unzip >/dev/null 2>&1; then
        unzip -p "$1" "$2" >"$3"
    else
        local tmp
        tmp="$(mktemp -d "$WORK/extract.XXXXXX")"
        (cd "$tmp" && jar xf "$1" "$2") && mv "$tmp/$2" "$3"
        rm -rf "$tmp"
    fi
}

# wait_for <seconds> <description> <command...>: poll until the command succeeds (status 0).
# Status 2 from the command means "give up now" (e.g. the process died).
wait_for() {
    local secs="$1" what="$2" deadline=$((SECONDS + $1)) rc
    shift 2
    while ((SECONDS < deadline)); do
        rc=0
        "$@" || rc=$?
        [[ $rc == 0 ]] && return 0
        if [[ $rc == 2 ]]; then
            log "gave up waiting for $what"
            return 1
        fi
        sleep 0.5
    done
    log "timed out after ${secs}s waiting for $what"
    return 1
}

SERVER_CP="$JAVA_OUT/lib/server/*"
# java/src/launch/: AdminExit (mqadmin) and WakeJoin (scenario programs) skip the 2-5 s a JVM otherwise
# idles in the 5.x remoting client's teardown (JoinWaker).
LAUNCH_CP="$JAVA_OUT/launch.jar"
# shellcheck source=java/cds.sh
source "$HERE/java/cds.sh"

# mqadmin <outfile> <args...>: official mqadmin 5.3.3 against our name server (stdout+stderr to outfile),
# through AdminExit (java/src/launch/): MQAdminStartup.main, then the JVM ends without Netty's 2 s linger;
# with the class-data-sharing archive of its classpath (java/cds.sh, the same as lib.sh's mqadmin).
mqadmin() {
    local out="$1"
    shift
    local rc=0
    (cd "$WORK/admin" && cds_run mqadmin-5.3.3 timeout -k 5 60 java "${JVM_COMMON[@]}" -Xms64m -Xmx256m \
        -Duser.home="$WORK/admin/home" -Drocketmq.home.dir="$WORK/admin/home" \
        -Drmq.logback.configurationFile="$WORK/admin/tools-logback.xml" \
        -cp "$SERVER_CP:$LAUNCH_CP" AdminExit "$@" -n "$NAMESRV_ADDR") \
        >"$out" 2>&1 || rc=$?
    echo "# exit status $rc" >>"$out"
    return 0
}

admin_probe() {
    local out="$1"
    shift
    local rc=0
    (cd "$WORK/admin" && timeout -k 5 90 java "${JVM_COMMON[@]}" -Xms64m -Xmx256m \
        -Duser.home="$WORK/admin/home" -Drmq.logback.configurationFile="$WORK/admin/tools-logback.xml" \
        -cp "$JAVA_OUT/classes/admin:$SERVER_CP" AdminProbe "$NAMESRV_ADDR" "$@") >"$out" 2>&1 || rc=$?
    return $rc
}

has() { grep -q -F -- "$2" "$1"; }
has_line() { grep -q -x -F -- "$2" "$1"; }
# mqadmin usually exits 0 even on errors; look for Java exceptions in its output instead.
no_exception() { ! grep -q -E 'Exception|^Error|ERROR' "$1"; }

# ---------------------------------------------------------------- setup
setup_java() {
    log "building Java side (Maven fetch + javac) into $JAVA_OUT"
    if COMPAT_JAVA_OUT="$JAVA_OUT" "$HERE/java/build.sh" >"$LOGS/java-build.log" 2>&1; then
        record setup.java-build PASS "$(tail -n1 "$LOGS/java-build.log")"
    else
        record setup.java-build FAIL "compat-tests/java/build.sh failed" "$LOGS/java-build.log"
        return 1
    fi
    mkdir -p "$WORK/admin/home"
    extract_resource "$JAVA_OUT/lib/server/rocketmq-tools-5.3.3.jar" rmq.tools.logback.xml "$WORK/admin/tools-logback.xml"
}

setup_rust() {
    if [[ -n "${RMQRS_NAMESRV:-}" ]]; then
        NAMESRV_BIN="$RMQRS_NAMESRV"
        log "using RMQRS_NAMESRV=$NAMESRV_BIN"
    else
        log "cargo build --bins (in $ROOT)"
        if ! (cd "$ROOT" && timeout 3600 cargo build --bins) >"$LOGS/cargo-build.log" 2>&1; then
            record setup.rust-build FAIL "cargo build --bins failed" "$LOGS/cargo-build.log"
            return 1
        fi
        NAMESRV_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/mqnamesrv"
    fi
    if [[ ! -x "$NAMESRV_BIN" ]]; then
        record setup.rust-build FAIL "name server binary $NAMESRV_BIN not found or not executable" "$LOGS/cargo-build.log"
        return 1
    fi
    record setup.rust-build PASS "$NAMESRV_BIN"
}

start_namesrv() {
    pick_port 0 || { record setup.namesrv-start FAIL "no free port"; return 1; }
    NAMESRV_PORT=$PICKED_PORT
    NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT"
    local d="$WORK/namesrv"
    mkdir -p "$d/home"
    cat >"$d/namesrv.conf" <<EOF
listenPort=$NAMESRV_PORT
kvConfigPath=$d/kvConfig.json
configStorePath=$d/namesrv.properties
EOF
    NAMESRV_LOG="$LOGS/namesrv.out"
    if [[ "$NAMESRV_KIND" == java ]]; then
        extract_resource "$JAVA_OUT/lib/server/rocketmq-namesrv-5.3.3.jar" rmq.namesrv.logback.xml "$d/namesrv-logback.xml"
        start_bg namesrv-java "$NAMESRV_LOG" env ROCKETMQ_HOME="$d/home" \
            java "${JVM_COMMON[@]}" -Xms128m -Xmx256m -Duser.home="$d/home" -Drocketmq.home.dir="$d/home" \
            -Drmq.logback.configurationFile="$d/namesrv-logback.xml" \
            -cp "$SERVER_CP" org.apache.rocketmq.namesrv.NamesrvStartup -c "$d/namesrv.conf"
        NAMESRV_FILE_LOG="$d/home/logs/rocketmqlogs/namesrv.log"
    else
        start_bg namesrv-rust "$NAMESRV_LOG" env ROCKETMQ_HOME="$d/home" HOME="$d/home" \
            RUST_BACKTRACE=1 "$NAMESRV_BIN" -c "$d/namesrv.conf"
        NAMESRV_FILE_LOG="$NAMESRV_LOG"
    fi
    NAMESRV_PID=$LAST_PID
    ns_ready() {
        alive "$NAMESRV_PID" || { log "name server process exited"; return 2; }
        port_open "$NAMESRV_PORT"
    }
    if ! wait_for 60 "name server port $NAMESRV_PORT" ns_ready; then
        local why="" st=0
        if ! alive "$NAMESRV_PID"; then
            wait "$NAMESRV_PID" 2>/dev/null || st=$?
            why=" (process exited with status $st)"
        fi
        record setup.namesrv-start FAIL "name server ($NAMESRV_KIND) did not accept connections on $NAMESRV_ADDR$why" \
            "$NAMESRV_LOG"
        return 1
    fi
    # The boot line is printed right after the port is bound; give it a moment.
    wait_for 5 "name server boot line" grep -q 'The Name Server boot success' "$NAMESRV_LOG" || true
    if grep -q 'The Name Server boot success. serializeType=JSON' "$NAMESRV_LOG"; then
        record setup.namesrv-start PASS "$NAMESRV_KIND name server on $NAMESRV_ADDR, boot line seen"
    else
        record setup.namesrv-start PASS "$NAMESRV_KIND name server on $NAMESRV_ADDR (port open; boot line NOT seen)"
    fi
    record namesrv.boot-line "$(grep -q 'The Name Server boot success. serializeType=JSON' "$NAMESRV_LOG" && echo PASS || echo FAIL)" \
        "stdout contains 'The Name Server boot success. serializeType=JSON'" "$NAMESRV_LOG"
}

start_broker() {
    # The broker also listens on listenPort-2 (fast/VIP channel) and listenPort+1 (HA).
    pick_port -2 0 1 || { record setup.broker-start FAIL "no free port"; return 1; }
    BROKER_PORT=$PICKED_PORT
    BROKER_ADDR="127.0.0.1:$BROKER_PORT"
    local d="$WORK/broker"
    mkdir -p "$d/home" "$d/store"
    cat >"$d/broker.conf" <<EOF
brokerClusterName=$CLUSTER
brokerName=$BROKER_NAME
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NAMESRV_ADDR
listenPort=$BROKER_PORT
storePathRootDir=$d/store
storePathCommitLog=$d/store/commitlog
mappedFileSizeCommitLog=67108864
cleanFileForciblyEnable=false
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
autoCreateTopicEnable=true
EOF
    extract_resource "$JAVA_OUT/lib/server/rocketmq-broker-5.3.3.jar" rmq.broker.logback.xml "$d/broker-logback.xml"
    BROKER_LOG="$LOGS/broker.out"
    BROKER_FILE_LOG="$d/home/logs/rocketmqlogs/broker.log"
    start_bg broker-java "$BROKER_LOG" env ROCKETMQ_HOME="$d/home" \
        java "${JVM_COMMON[@]}" -Xms512m -Xmx512m -XX:MaxDirectMemorySize=512m \
        -Duser.home="$d/home" -Drocketmq.home.dir="$d/home" -Drmq.logback.configurationFile="$d/broker-logback.xml" \
        -cp "$SERVER_CP" org.apache.rocketmq.broker.BrokerStartup -c "$d/broker.conf"
    BROKER_PID=$LAST_PID
    broker_booted() {
        alive "$BROKER_PID" || { log "broker process exited"; return 2; }
        grep -q 'boot success' "$BROKER_LOG"
    }
    if ! wait_for 120 "broker boot" broker_booted; then
        record setup.broker-start FAIL "Java broker did not print 'boot success'" "$BROKER_LOG" "$BROKER_FILE_LOG"
        return 1
    fi
    log "broker: $(grep 'boot success' "$BROKER_LOG" | head -n1)"
    # The 5.3.3 broker registers at boot if its client already sees the name server as available,
    # otherwise with its periodic task (first run 10 s after boot, then every 30 s).
    local p="$LOGS/probe-waitbroker.out" out="$LOGS/mqadmin-clusterList-wait.out"
    if admin_probe "$p" waitbroker 75 "$CLUSTER" "$BROKER_ADDR"; then
        mqadmin "$out" clusterList
        if has "$out" "$BROKER_ADDR" && has "$out" "$CLUSTER"; then
            record setup.broker-start PASS "broker $BROKER_NAME at $BROKER_ADDR registered ($(sed -n 's/^BROKER OK .* after //p' "$p") after the probe started), listed by clusterList"
            return 0
        fi
        record setup.broker-start FAIL "broker $BROKER_ADDR registered but not shown by mqadmin clusterList" \
            "$out" "$NAMESRV_FILE_LOG"
        return 1
    fi
    record setup.broker-start FAIL "broker $BROKER_ADDR never appeared in the cluster info (GET_BROKER_CLUSTER_INFO)" \
        "$p" "$NAMESRV_FILE_LOG" "$BROKER_FILE_LOG"
    return 1
}

# ---------------------------------------------------------------- scenarios
scenario_mqadmin() {
    local topic="CompatAdmin_$RUN_ID" o
    o="$LOGS/mqadmin-clusterList.out"
    mqadmin "$o" clusterList
    if has "$o" "$CLUSTER" && has "$o" "$BROKER_NAME" && has "$o" "$BROKER_ADDR" && no_exception "$o"; then
        record mqadmin.clusterList PASS "lists $CLUSTER/$BROKER_NAME/$BROKER_ADDR"
    else
        record mqadmin.clusterList FAIL "expected $CLUSTER, $BROKER_NAME and $BROKER_ADDR without exceptions" "$o"
    fi

    o="$LOGS/mqadmin-updateTopic.out"
    mqadmin "$o" updateTopic -c "$CLUSTER" -t "$topic" -r 4 -w 4
    if has "$o" "create topic to $BROKER_ADDR success." && no_exception "$o"; then
        record mqadmin.updateTopic PASS "created $topic on $BROKER_ADDR via cluster $CLUSTER"
    else
        record mqadmin.updateTopic FAIL "expected 'create topic to $BROKER_ADDR success.'" "$o"
    fi

    # The broker re-registers asynchronously after a topic change: allow a few attempts.
    local i
    o="$LOGS/mqadmin-topicList.out"
    for i in 1 2 3 4; do
        mqadmin "$o" topicList
        has_line "$o" "$topic" && break
        sleep 2
    done
    if has_line "$o" "$topic" && no_exception "$o"; then
        record mqadmin.topicList PASS "$topic listed (attempt $i)"
    else
        record mqadmin.topicList FAIL "$topic not listed as a line of topicList output" "$o"
    fi

    o="$LOGS/mqadmin-topicRoute.out"
    mqadmin "$o" topicRoute -t "$topic"
    if has "$o" '"brokerDatas"' && has "$o" "\"$BROKER_ADDR\"" && has "$o" '"readQueueNums":4' \
        && has "$o" '"writeQueueNums":4' && has "$o" "\"cluster\":\"$CLUSTER\"" && no_exception "$o"; then
        record mqadmin.topicRoute PASS "route of $topic: $BROKER_NAME $BROKER_ADDR, 4/4 queues"
    else
        record mqadmin.topicRoute FAIL "expected brokerDatas with $BROKER_ADDR and 4 read/write queues" "$o"
    fi

    o="$LOGS/mqadmin-topicRoute-missing.out"
    mqadmin "$o" topicRoute -t "NoSuchTopic_$RUN_ID"
    if has "$o" "CODE: 17" && has "$o" "No topic route info in name server for the topic: NoSuchTopic_$RUN_ID"; then
        record mqadmin.topicRoute-missing PASS "unknown topic -> CODE: 17 with the standard remark"
    else
        record mqadmin.topicRoute-missing FAIL "expected 'CODE: 17' and 'No topic route info in name server for the topic: ...'" "$o"
    fi

    local ns="compat_ns" key="k_$RUN_ID" val="v_$RUN_ID" p
    o="$LOGS/mqadmin-updateKvConfig.out"
    p="$LOGS/probe-kvget-after-update.out"
    mqadmin "$o" updateKvConfig -s "$ns" -k "$key" -v "$val"
    admin_probe "$p" kvget "$ns" "$key" || true
    if has "$o" "create or update kv config to namespace success." && no_exception "$o" \
        && has_line "$p" "KV FOUND $ns $key=$val"; then
        record mqadmin.updateKvConfig PASS "$ns/$key=$val stored and read back (GET_KV_CONFIG)"
    else
        record mqadmin.updateKvConfig FAIL "expected mqadmin success line and 'KV FOUND $ns $key=$val'" "$o" "$p"
    fi

    local kvfile="$WORK/namesrv/kvConfig.json"
    if [[ -f "$kvfile" ]] && grep -q -F "$key" "$kvfile" && grep -q -F "$val" "$kvfile"; then
        record namesrv.kvConfigPersist PASS "kvConfigPath file contains the new entry"
    else
        record namesrv.kvConfigPersist FAIL "kvConfigPath $kvfile missing or without $key=$val" "$kvfile"
    fi

    o="$LOGS/mqadmin-deleteKvConfig.out"
    p="$LOGS/probe-kvget-after-delete.out"
    mqadmin "$o" deleteKvConfig -s "$ns" -k "$key"
    admin_probe "$p" kvget "$ns" "$key" || true
    if has "$o" "delete kv config from namespace success." && no_exception "$o" \
        && grep -q -E "^KV NOTFOUND $ns $key code=22( |$)" "$p"; then
        record mqadmin.deleteKvConfig PASS "$ns/$key deleted; GET_KV_CONFIG now answers code 22"
    else
        record mqadmin.deleteKvConfig FAIL "expected mqadmin success line and 'KV NOTFOUND ... code=22'" "$o" "$p"
    fi

    o="$LOGS/mqadmin-getNamesrvConfig.out"
    mqadmin "$o" getNamesrvConfig
    if grep -q -E "^listenPort +=  $NAMESRV_PORT\$" "$o" && no_exception "$o"; then
        record mqadmin.getNamesrvConfig PASS "reports listenPort = $NAMESRV_PORT"
    else
        record mqadmin.getNamesrvConfig FAIL "expected a 'listenPort = $NAMESRV_PORT' line" "$o"
    fi
}

# Topics for the client scenarios are created up front, then one probe waits for all routes.
prepare_client_topics() {
    local t o ok=1 pids=()
    # mqadmin JVMs mostly sit idle (connect, netty shutdown); run them side by side.
    for t in "$@"; do
        mqadmin "$LOGS/mqadmin-updateTopic-$t.out" updateTopic -c "$CLUSTER" -t "$t" -r 4 -w 4 &
        pids+=($!)
    done
    for t in "${pids[@]}"; do wait "$t" || true; done
    for t in "$@"; do
        o="$LOGS/mqadmin-updateTopic-$t.out"
        if ! has "$o" "create topic to $BROKER_ADDR success."; then
            log "creating topic $t failed (see $o)"
            ok=0
        fi
    done
    if ! admin_probe "$LOGS/probe-waitroute.out" waitroute 45 "$@"; then
        log "routes not all visible: $(tail -n1 "$LOGS/probe-waitroute.out")"
        ok=0
    fi
    [[ $ok == 1 ]]
}

scenario_java_client() {
    local ver="$1" topic="$2" group="$3" id="client.java-$1"
    local o="$LOGS/client-java-$ver.out" rc=0
    mkdir -p "$WORK/client-$ver/home"
    log "running Java client $ver: $MSG_COUNT messages on $topic (group $group)"
    (cd "$WORK/client-$ver" && timeout -k 5 $((CLIENT_TIMEOUT + 60)) java "${JVM_COMMON[@]}" -Xms128m -Xmx256m \
        -Duser.home="$WORK/client-$ver/home" \
        -cp "$JAVA_OUT/classes/client-$ver:$JAVA_OUT/lib/client-$ver/*:$LAUNCH_CP" \
        WakeJoin ProduceConsume "$NAMESRV_ADDR" "$topic" "$group" "$MSG_COUNT" "$CLIENT_TIMEOUT") >"$o" 2>&1 || rc=$?
    local verdict
    verdict="$(grep -E '^(PASS|FAIL) ' "$o" | tail -n1 || true)"
    if [[ $rc == 0 && "$verdict" == PASS* ]]; then
        record "$id" PASS "${verdict#PASS }"
    else
        record "$id" FAIL "exit $rc: ${verdict:-no verdict line}" "$o" \
            "$WORK/client-$ver/home/logs/rocketmqlogs/rocketmq_client.log"
    fi
}

scenario_go_client() {
    local topic="$1" group="$2" id="client.go"
    if [[ ! -d "$HERE/go" ]]; then
        record "$id" SKIP "compat-tests/go/ not present"
        return 0
    fi
    if ! command -v go >/dev/null 2>&1; then
        record "$id" FAIL "compat-tests/go/ exists but 'go' is not on PATH"
        return 0
    fi
    local o="$LOGS/client-go.out" rc=0
    log "running Go client test (go test ./... in compat-tests/go)"
    (cd "$HERE/go" && NAMESRV_ADDR="$NAMESRV_ADDR" COMPAT_TOPIC="$topic" COMPAT_GROUP="$group" \
        COMPAT_MSG_COUNT="$MSG_COUNT" timeout -k 10 900 go test -count=1 -v ./...) >"$o" 2>&1 || rc=$?
    local npass nfail
    npass="$(grep -c -E '^\s*--- PASS' "$o" || true)"
    nfail="$(grep -c -E '^\s*--- FAIL' "$o" || true)"
    if [[ $rc == 0 && "$nfail" == 0 ]]; then
        record "$id" PASS "go test: $npass passed"
    else
        record "$id" FAIL "go test exit $rc: $npass passed, $nfail failed" "$o"
    fi
}

# Reference runs: show which request codes the official Java name server received.
report_java_namesrv_traffic() {
    local f="$WORK/namesrv/home/logs/rocketmqlogs/namesrv_traffic.log"
    [[ "$NAMESRV_KIND" == java && -f "$f" ]] || return 0
    log "request codes received by the Java name server (from namesrv_traffic.log):"
    grep -h 'RequestCode Distribution' "$f" | sed -e 's/.*RequestCode Distribution: //' \
        | tr -d '{} ' | tr ',' '\n' | awk -F: 'NF == 2 { n[$1] += $2 } END { for (c in n) print c, n[c] }' \
        | sort -n | awk '{ printf "  code %-4s x%d\n", $1, $2 }' || true
}

# ================================================================ phase 2: our broker
# Our name server + our broker (target/debug/mqbroker), driven by the official clients. Scenario
# ids start with "broker.". COMPAT_BROKER=java runs the same scenarios against the Java broker
# 5.3.3 instead (a reference run for the scenarios themselves; the standalone part is skipped).

declare -A REF_NEWGROUP=()
REF_BROKERSTATUS=""
P2="$WORK/p2"

# Java scenario programs (BrokerScenarios) ----------------------------------------------------
# run_broker_scenarios <client version> <log name> <jvm timeout s> <BrokerScenarios args...>
# Sets RUN_OUT (output file) and RUN_RC (exit status).
run_broker_scenarios() {
    local ver="$1" name="$2" tmo="$3"
    shift 3
    local d="$P2/client-$ver"
    mkdir -p "$d/home"
    RUN_OUT="$LOGS/$name.out"
    RUN_RC=0
    (cd "$d" && timeout -k 5 "$tmo" java "${JVM_COMMON[@]}" -Xms128m -Xmx384m -Duser.home="$d/home" \
        -cp "$JAVA_OUT/classes/client-$ver:$JAVA_OUT/lib/client-$ver/*:$LAUNCH_CP" WakeJoin BrokerScenarios "$@") >"$RUN_OUT" 2>&1 || RUN_RC=$?
}

# scenario_verdict <scenario> <output file>: prints "PASS detail" / "FAIL detail" / "" (no RESULT line)
scenario_verdict() {
    local line
    line="$(grep -E "^RESULT $1 (PASS|FAIL) " "$2" | tail -n1 || true)"
    [[ -n "$line" ]] && echo "${line#RESULT $1 }"
    return 0
}

# record_scenario <id> <scenario> <output file> <client version> [extra detail]
record_scenario() {
    local id="$1" scn="$2" o="$3" ver="$4" extra="${5:-}" v
    v="$(scenario_verdict "$scn" "$o")"
    if [[ -z "$v" ]]; then
        record "$id" FAIL "no RESULT line for '$scn' (JVM exit $RUN_RC)$extra" "$o" \
            "$P2/client-$ver/home/logs/rocketmqlogs/rocketmq_client.log"
    elif [[ "$v" == PASS* ]]; then
        record "$id" PASS "${v#PASS }$extra"
    else
        record "$id" FAIL "${v#FAIL }$extra" "$o"
    fi
}

# Phase-1 add-on: what the Java broker does, for the phase-2 comparisons ----------------------
reference_java_broker() {
    log "reference checks against the Java broker (for phase 2)"
    local b5="RefJ5_$RUN_ID" b4="RefJ4_$RUN_ID" p="$LOGS/probe-ref-topics.out" ver base v cls
    admin_probe "$p" createtopic "$BROKER_ADDR" 4 "$b5-newgroup" "$b4-newgroup" || true
    admin_probe "$LOGS/probe-ref-waitroute.out" waitroute 45 "$b5-newgroup" "$b4-newgroup" || true
    REF_BROKERSTATUS="$LOGS/ref-mqadmin-brokerStatus.out"
    mqadmin "$REF_BROKERSTATUS" brokerStatus -b "$BROKER_ADDR" &
    local bs_pid=$!
    for ver in 5.3.3 4.9.8; do
        base="$b5"
        [[ $ver == 4.9.8 ]] && base="$b4"
        run_broker_scenarios "$ver" "ref-java-$ver-newgroup" 200 "$NAMESRV_ADDR" "$base" "RefG${ver%%.*}_$RUN_ID" \
            newgroup count="$P2_COUNT" timeout="$P2_TIMEOUT" tag="r$RUN_ID"
        v="$(scenario_verdict newgroup "$RUN_OUT")"
        cls="$(sed -n 's/^BEHAVIOUR newgroup \([a-z]*\) .*/\1/p' "$RUN_OUT" | tail -n1)"
        if [[ "$v" == PASS* && -n "$cls" ]]; then
            REF_NEWGROUP[$ver]="$cls"
            record "reference.java-$ver.new-group-start" PASS "Java broker: ${v#PASS }"
        else
            record "reference.java-$ver.new-group-start" FAIL "${v:-no RESULT line (exit $RUN_RC)}" "$RUN_OUT"
        fi
    done
    wait "$bs_pid" || true
    if grep -q -E '^brokerVersionDesc +: ' "$REF_BROKERSTATUS"; then
        record reference.brokerStatus PASS "Java broker brokerStatus: $(grep -c -E '^[A-Za-z_/0-9.]+ *: ' "$REF_BROKERSTATUS") keys"
    else
        record reference.brokerStatus FAIL "no brokerVersionDesc line" "$REF_BROKERSTATUS"
        REF_BROKERSTATUS=""
    fi
}

# Phase-2 set-up ---------------------------------------------------------------------------------
p2_setup_bins() {
    local bindir=""
    if [[ -n "${NAMESRV_BIN:-}" ]]; then
        bindir="$(dirname "$NAMESRV_BIN")"
    elif [[ -n "${RMQRS_NAMESRV:-}" ]]; then
        bindir="$(dirname "$RMQRS_NAMESRV")"
    else
        log "cargo build --bins (in $ROOT) for phase 2"
        if ! (cd "$ROOT" && timeout 3600 cargo build --bins) >"$LOGS/cargo-build-p2.log" 2>&1; then
            record broker.setup.binaries FAIL "cargo build --bins failed" "$LOGS/cargo-build-p2.log"
            return 1
        fi
        bindir="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
    fi
    P2_NAMESRV_BIN="${RMQRS_NAMESRV:-$bindir/mqnamesrv}"
    P2_BROKER_BIN="${RMQRS_BROKER:-$bindir/mqbroker}"
    P2_STANDALONE_BIN="${RMQRS_STANDALONE:-$bindir/rocketmq-standalone}"
    local b
    for b in "$P2_NAMESRV_BIN" "$P2_BROKER_BIN" "$P2_STANDALONE_BIN"; do
        if [[ ! -x "$b" ]]; then
            record broker.setup.binaries FAIL "$b not found or not executable"
            return 1
        fi
    done
    record broker.setup.binaries PASS "$P2_NAMESRV_BIN, $P2_BROKER_BIN, $P2_STANDALONE_BIN"
}

p2_start_namesrv() {
    pick_port 0 || { record broker.setup.namesrv-start FAIL "no free port"; return 1; }
    NAMESRV_PORT=$PICKED_PORT
    NAMESRV_ADDR="127.0.0.1:$NAMESRV_PORT"
    local d="$P2/namesrv"
    mkdir -p "$d/home"
    cat >"$d/namesrv.conf" <<EOF
listenPort=$NAMESRV_PORT
kvConfigPath=$d/kvConfig.json
configStorePath=$d/namesrv.properties
EOF
    P2_NAMESRV_LOG="$LOGS/p2-namesrv.out"
    start_bg namesrv-rust-p2 "$P2_NAMESRV_LOG" env ROCKETMQ_HOME="$d/home" HOME="$d/home" RUST_BACKTRACE=1 \
        "$P2_NAMESRV_BIN" -c "$d/namesrv.conf"
    P2_NAMESRV_PID=$LAST_PID
    p2_ns_ready() {
        alive "$P2_NAMESRV_PID" || return 2
        port_open "$NAMESRV_PORT"
    }
    if ! wait_for 30 "name server port $NAMESRV_PORT" p2_ns_ready; then
        record broker.setup.namesrv-start FAIL "our name server did not accept connections on $NAMESRV_ADDR" "$P2_NAMESRV_LOG"
        return 1
    fi
    record broker.setup.namesrv-start PASS "our name server on $NAMESRV_ADDR"
}

# p2_start_broker <id>: starts the phase-2 broker (first start or restart on the same store).
p2_start_broker() {
    local id="$1" d="$P2/broker"
    if [[ -z "${P2_BROKER_PORT:-}" ]]; then
        pick_port -2 0 1 || { record "$id" FAIL "no free port"; return 1; }
        P2_BROKER_PORT=$PICKED_PORT
        P2_BROKER_ADDR="127.0.0.1:$P2_BROKER_PORT"
        mkdir -p "$d/home" "$d/store"
        # SYNC_FLUSH: every official-client send of this phase waits for the group commit, and the
        # scenarios that count SEND_OK fail on a FLUSH_DISK_TIMEOUT. The other suites run ASYNC_FLUSH.
        cat >"$d/broker.conf" <<EOF
brokerClusterName=$CLUSTER
brokerName=$P2_BROKER_NAME
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NAMESRV_ADDR
listenPort=$P2_BROKER_PORT
storePathRootDir=$d/store
storePathCommitLog=$d/store/commitlog
mappedFileSizeCommitLog=67108864
cleanFileForciblyEnable=false
brokerRole=ASYNC_MASTER
flushDiskType=SYNC_FLUSH
autoCreateTopicEnable=true
transactionCheckInterval=2000
transactionTimeOut=1000
enablePropertyFilter=true
messageDelayLevel=1s 1s 1s 1s 1s 1s 2s 2s 2s 2s 2s 2s 3s 3s 3s 3s 3s 3s
EOF
    fi
    P2_BROKER_STARTS=$((${P2_BROKER_STARTS:-0} + 1))
    P2_BROKER_LOG="$LOGS/p2-broker-$P2_BROKER_STARTS.out"
    if [[ "$P2_BROKER_KIND" == java ]]; then
        extract_resource "$JAVA_OUT/lib/server/rocketmq-broker-5.3.3.jar" rmq.broker.logback.xml "$d/broker-logback.xml"
        start_bg broker-java-p2 "$P2_BROKER_LOG" env ROCKETMQ_HOME="$d/home" \
            java "${JVM_COMMON[@]}" -Xms512m -Xmx512m -XX:MaxDirectMemorySize=512m \
            -Duser.home="$d/home" -Drocketmq.home.dir="$d/home" -Drmq.logback.configurationFile="$d/broker-logback.xml" \
            -cp "$SERVER_CP" org.apache.rocketmq.broker.BrokerStartup -c "$d/broker.conf"
    else
        start_bg broker-rust "$P2_BROKER_LOG" env ROCKETMQ_HOME="$d/home" HOME="$d/home" RUST_BACKTRACE=1 \
            "$P2_BROKER_BIN" -c "$d/broker.conf"
    fi
    P2_BROKER_PID=$LAST_PID
    local t0=$SECONDS
    p2_broker_booted() {
        alive "$P2_BROKER_PID" || { log "broker process exited"; return 2; }
        grep -q 'boot success' "$P2_BROKER_LOG"
    }
    if ! wait_for 90 "broker boot" p2_broker_booted; then
        record "$id" FAIL "$P2_BROKER_KIND broker did not print 'boot success'" "$P2_BROKER_LOG"
        return 1
    fi
    local boot=$((SECONDS - t0)) p="$LOGS/p2-probe-waitbroker-$P2_BROKER_STARTS.out"
    if ! admin_probe "$p" waitbroker 60 "$CLUSTER" "$P2_BROKER_ADDR"; then
        record "$id" FAIL "broker booted but never appeared in the cluster info (GET_BROKER_CLUSTER_INFO)" "$p" "$P2_BROKER_LOG"
        return 1
    fi
    record "$id" PASS "$P2_BROKER_KIND broker $P2_BROKER_NAME at $P2_BROKER_ADDR booted in ${boot}s, registered ($(sed -n 's/^BROKER OK .* after //p' "$p") after the probe started)"
}

# p2_stop_broker <id>: SIGTERM, expect a clean exit (status 0) within 30 s.
p2_stop_broker() {
    local id="$1" pid="$P2_BROKER_PID" i st=0 t0=$SECONDS
    if ! alive "$pid"; then
        wait "$pid" 2>/dev/null || st=$?
        record "$id" FAIL "broker was not running any more (exit status $st)" "$P2_BROKER_LOG"
        return 1
    fi
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        record "$id" FAIL "broker did not exit within 30 s of SIGTERM (killed)" "$P2_BROKER_LOG"
        return 1
    fi
    wait "$pid" 2>/dev/null || st=$?
    if [[ $st == 0 || ("$P2_BROKER_KIND" == java && $st == 143) ]]; then
        record "$id" PASS "SIGTERM -> exit status $st after $((SECONDS - t0))s"
    else
        record "$id" FAIL "SIGTERM -> exit status $st after $((SECONDS - t0))s" "$P2_BROKER_LOG"
    fi
}

P2_JAVA_SCENARIOS="sync,async,oneway,batch,cluster,broadcast,orderly,litepull-assign,litepull-subscribe,tags,transaction,sql92,retry,newgroup,offsets-before"
P2_TOPIC_SUFFIXES="sync async oneway batch cluster broadcast orderly lpassign lpsub tags tx sql retry newgroup offsets admin"
P2_GO_TOPIC_SUFFIXES="sync async oneway batch cluster broadcast orderly tags pull tx"

p2_create_topics() {
    local topics=() s v
    for v in 5 4; do
        for s in $P2_TOPIC_SUFFIXES; do topics+=("BrkJ${v}_$RUN_ID-$s"); done
    done
    if [[ -d "$HERE/go" ]]; then
        topics+=("BrkGo_$RUN_ID")
        for s in $P2_GO_TOPIC_SUFFIXES; do topics+=("BrkGo_$RUN_ID-$s"); done
    fi
    local p="$LOGS/p2-probe-createtopic.out" w="$LOGS/p2-probe-waitroute.out" ok=1
    admin_probe "$p" createtopic "$P2_BROKER_ADDR" 4 "${topics[@]}" || ok=0
    if [[ $ok == 1 ]] && admin_probe "$w" waitroute 60 "${topics[@]}"; then
        record broker.setup.topics PASS "${#topics[@]} topics created (UPDATE_AND_CREATE_TOPIC, 4 queues) and routed"
    else
        record broker.setup.topics FAIL "creating ${#topics[@]} topics: $(grep -c '^TOPIC OK' "$p" || true) created; $(tail -n1 "$w" 2>/dev/null)" "$p" "$w"
    fi
}

p2_java_scenarios() {
    local ver="$1" v="${1%%.*}" id="broker.java-$1"
    log "our broker: Java client $ver scenarios ($P2_JAVA_SCENARIOS)"
    run_broker_scenarios "$ver" "p2-java-$ver" 480 "$NAMESRV_ADDR" "BrkJ${v}_$RUN_ID" "BrkG${v}_$RUN_ID" \
        "$P2_JAVA_SCENARIOS" sendCount="$SEND_COUNT" count="$P2_COUNT" timeout="$P2_TIMEOUT" tag="$RUN_ID"
    local o="$RUN_OUT"
    record_scenario "$id.sync-send" sync "$o" "$ver"
    record_scenario "$id.async-send" async "$o" "$ver"
    record_scenario "$id.oneway-send" oneway "$o" "$ver"
    record_scenario "$id.batch-send" batch "$o" "$ver"
    record_scenario "$id.cluster-rebalance" cluster "$o" "$ver"
    record_scenario "$id.broadcast" broadcast "$o" "$ver"
    record_scenario "$id.orderly" orderly "$o" "$ver"
    record_scenario "$id.litepull-assign" litepull-assign "$o" "$ver"
    record_scenario "$id.litepull-subscribe" litepull-subscribe "$o" "$ver"
    record_scenario "$id.tag-filter" tags "$o" "$ver"
    record_scenario "$id.transaction-check" transaction "$o" "$ver"
    record_scenario "$id.sql92-filter" sql92 "$o" "$ver"
    record_scenario "$id.retry-dlq" retry "$o" "$ver"
    # New group with CONSUME_FROM_LAST_OFFSET: must do what the Java broker did in phase 1.
    local nv cls want src
    nv="$(scenario_verdict newgroup "$o")"
    cls="$(sed -n 's/^BEHAVIOUR newgroup \([a-z]*\) .*/\1/p' "$o" | tail -n1)"
    want="${REF_NEWGROUP[$ver]:-}"
    src="the Java broker in phase 1"
    if [[ -z "$want" ]]; then
        want=all
        src="the documented Java 5.3.3 behaviour (no phase-1 reference this run)"
    fi
    if [[ "$nv" == PASS* && "$cls" == "$want" ]]; then
        record "$id.new-group-start" PASS "old messages: $cls, like $src; ${nv#PASS }"
    else
        record "$id.new-group-start" FAIL "old messages: ${cls:-?}, $src: $want; ${nv:-no RESULT line (exit $RUN_RC)}" "$o"
    fi
    P2_OFFSETS_BEFORE[$ver]="$(scenario_verdict offsets-before "$o")"
}
declare -A P2_OFFSETS_BEFORE=()

p2_offsets_after() {
    local ver="$1" v="${1%%.*}" id="broker.java-$1.offsets-restart" before
    before="${P2_OFFSETS_BEFORE[$ver]:-}"
    run_broker_scenarios "$ver" "p2-java-$ver-offsets-after" 240 "$NAMESRV_ADDR" "BrkJ${v}_$RUN_ID" "BrkG${v}_$RUN_ID" \
        offsets-after count="$P2_COUNT" timeout="$P2_TIMEOUT" tag="$RUN_ID"
    if [[ "$before" != PASS* ]]; then
        record "$id" FAIL "before the restart: ${before:-no RESULT line}; after: $(scenario_verdict offsets-after "$RUN_OUT")" \
            "$LOGS/p2-java-$ver.out" "$RUN_OUT"
    else
        record_scenario "$id" offsets-after "$RUN_OUT" "$ver" " [before restart: ${before#PASS }]"
    fi
}

p2_go() {
    if [[ ! -d "$HERE/go" ]]; then
        record broker.go SKIP "compat-tests/go/ not present"
        return 0
    fi
    if ! command -v go >/dev/null 2>&1; then
        record broker.go FAIL "compat-tests/go/ exists but 'go' is not on PATH"
        return 0
    fi
    local o="$LOGS/p2-go.out" rc=0
    log "our broker: Go client tests (COMPAT_GO_SCENARIOS=1 go test ./...)"
    (cd "$HERE/go" && NAMESRV_ADDR="$NAMESRV_ADDR" COMPAT_TOPIC="BrkGo_$RUN_ID" COMPAT_GROUP="BrkGoG_$RUN_ID" \
        COMPAT_GO_SCENARIOS=1 COMPAT_GO_SEND_COUNT="$SEND_COUNT" COMPAT_GO_COUNT="$P2_COUNT" \
        COMPAT_GO_TIMEOUT="$P2_TIMEOUT" timeout -k 10 600 go test -count=1 -v ./...) >"$o" 2>&1 || rc=$?
    local pair name id st detail
    for pair in TestProduceConsume:produce-consume TestAutoCreateTopicViaTBW102:autocreate-tbw102 \
        TestBrokerSendModes/sync:sync-send TestBrokerSendModes/async:async-send \
        TestBrokerSendModes/oneway:oneway-send TestBrokerSendModes/batch:batch-send \
        TestBrokerClusterRebalance:cluster-rebalance TestBrokerBroadcast:broadcast TestBrokerOrderly:orderly \
        TestBrokerTagFilter:tag-filter TestBrokerPullConsumer:pull-consumer \
        TestBrokerTransaction:transaction-check; do
        name="${pair%%:*}"
        id="broker.go.${pair#*:}"
        st="$(grep -o -E -- "--- (PASS|FAIL|SKIP): $name \(" "$o" | head -n1 | sed -E 's/--- ([A-Z]+).*/\1/')"
        # The test's own log lines (t.Logf/t.Errorf) sit between "=== RUN <name>" and its verdict.
        detail="$(awk -v n="$name" '$0 == "=== RUN   " n { on = 1; next }
            on && /^=== RUN/ && $0 != "=== RUN   " n { if (index($0, n "/") == 0) on = 0 }
            on && /_test\.go:[0-9]+: / { sub(/^[ \t]+/, ""); last = $0 } END { print last }' "$o" | cut -c1-400)"
        case "$st" in
            PASS) record "$id" PASS "${detail:-passed}" ;;
            SKIP) record "$id" SKIP "${detail:-skipped}" ;;
            FAIL) record "$id" FAIL "${detail:-failed}" "$o" ;;
            *) record "$id" FAIL "no verdict for $name (go test exit $rc)" "$o" ;;
        esac
    done
}

# mqadmin 5.3.3 against our broker ---------------------------------------------------------------
p2_mqadmin() {
    local topic="BrkJ5_$RUN_ID-admin" group="BrkG5_$RUN_ID-admin" t2="BrkT2_$RUN_ID" g2="BrkSubG2_$RUN_ID"
    local hold="$P2/hold-consumer.stop" ho="$LOGS/p2-hold-consumer.out" d="$P2/client-5.3.3"
    mkdir -p "$d/home"
    rm -f "$hold"
    log "our broker: mqadmin 5.3.3 (a 5.3.3 push consumer of $group stays up meanwhile)"
    start_bg hold-consumer "$ho" bash -c 'cd "$1" && shift && exec timeout -k 5 200 "$@"' _ "$d" java "${JVM_COMMON[@]}" \
        -Xms64m -Xmx256m -Duser.home="$d/home" -cp "$JAVA_OUT/classes/client-5.3.3:$JAVA_OUT/lib/client-5.3.3/*:$LAUNCH_CP" \
        WakeJoin BrokerScenarios "$NAMESRV_ADDR" "BrkJ5_$RUN_ID" "BrkG5_$RUN_ID" hold-consumer count=20 \
        holdFile="$hold" timeout=120 tag="$RUN_ID"
    local hold_pid=$LAST_PID
    hold_ready() {
        alive "$hold_pid" || return 2
        grep -q '^HOLDING' "$ho"
    }
    wait_for 90 "the hold consumer" hold_ready || true
    local o="$LOGS/p2-mqadmin" pids=() p
    mqadmin "$o-clusterList.out" clusterList &
    pids+=($!)
    mqadmin "$o-brokerStatus.out" brokerStatus -b "$P2_BROKER_ADDR" &
    pids+=($!)
    mqadmin "$o-topicStatus.out" topicStatus -t "$topic" &
    pids+=($!)
    mqadmin "$o-consumerProgress.out" consumerProgress -g "$group" &
    pids+=($!)
    mqadmin "$o-topicRoute.out" topicRoute -t "$topic" &
    pids+=($!)
    mqadmin "$o-updateTopic.out" updateTopic -b "$P2_BROKER_ADDR" -t "$t2" &
    pids+=($!)
    mqadmin "$o-updateSubGroup.out" updateSubGroup -b "$P2_BROKER_ADDR" -g "$g2" &
    pids+=($!)
    mqadmin "$o-consumerConnection.out" consumerConnection -g "$group" &
    pids+=($!)
    for p in "${pids[@]}"; do wait "$p" || true; done
    touch "$hold"
    # Read-backs of what updateTopic/updateSubGroup wrote.
    admin_probe "$LOGS/p2-probe-topicconfig-T2.out" topicconfig "$P2_BROKER_ADDR" "$t2" || true
    admin_probe "$LOGS/p2-probe-subgroup-G2.out" subgroup "$P2_BROKER_ADDR" "$g2" || true
    admin_probe "$LOGS/p2-probe-waitroute-T2.out" waitroute 20 "$t2" || true
    hold_gone() { ! alive "$hold_pid"; }
    wait_for 40 "the hold consumer to exit" hold_gone || true
    stop_pid "$hold_pid" hold-consumer 10
    local hv
    hv="$(scenario_verdict hold-consumer "$ho")"
    [[ "$hv" == PASS* ]] || log "hold consumer: ${hv:-no RESULT line}"

    local f="$o-clusterList.out"
    if has "$f" "$CLUSTER" && has "$f" "$P2_BROKER_NAME" && has "$f" "$P2_BROKER_ADDR" && has "$f" V5_3_3 && no_exception "$f"; then
        record broker.mqadmin.clusterList PASS "lists $CLUSTER/$P2_BROKER_NAME/$P2_BROKER_ADDR V5_3_3"
    else
        record broker.mqadmin.clusterList FAIL "expected $CLUSTER, $P2_BROKER_NAME, $P2_BROKER_ADDR and V5_3_3 without exceptions" "$f"
    fi

    f="$o-brokerStatus.out"
    local k missing=() core="brokerVersionDesc bootTimestamp msgPutTotalTodayNow msgGetTotalTodayNow commitLogMaxOffset commitLogMinOffset putTps getTotalTps"
    for k in $core; do grep -q -E "^$k +: " "$f" || missing+=("$k"); done
    local puts
    puts="$(sed -n -E 's/^msgPutTotalTodayNow +: ([0-9]+).*/\1/p' "$f")"
    if [[ ${#missing[@]} == 0 && "${puts:-0}" -gt 0 ]] && has "$f" V5_3_3 && no_exception "$f"; then
        record broker.mqadmin.brokerStatus PASS "$(grep -c -E '^[A-Za-z_/0-9.]+ *: ' "$f") keys incl. $core; msgPutTotalTodayNow=$puts"
    else
        record broker.mqadmin.brokerStatus FAIL "missing keys: ${missing[*]:-none}; msgPutTotalTodayNow=${puts:-?}" "$f"
    fi
    # Values, not just keys: after ~100,000 puts in the last minutes the rates and the disk ratio
    # are non-zero on the Java broker (clusterList shows them as #InTPS/#OutTPS/#SPACE).
    local bad=() tps ratio
    tps="$(sed -n -E 's/^putTps +: (.*)/\1/p' "$f")"
    awk -v v="$tps" 'BEGIN { n = split(v, a, " "); for (i = 1; i <= n; i++) if (a[i] + 0 > 0) exit 0; exit 1 }' \
        || bad+=("putTps='$tps'")
    tps="$(sed -n -E 's/^getTotalTps +: (.*)/\1/p' "$f")"
    awk -v v="$tps" 'BEGIN { n = split(v, a, " "); for (i = 1; i <= n; i++) if (a[i] + 0 > 0) exit 0; exit 1 }' \
        || bad+=("getTotalTps='$tps'")
    ratio="$(sed -n -E 's/^commitLogDiskRatio +: (.*)/\1/p' "$f")"
    awk -v v="$ratio" 'BEGIN { exit !(v + 0 > 0) }' || bad+=("commitLogDiskRatio='$ratio'")
    if [[ ${#bad[@]} == 0 ]]; then
        record broker.mqadmin.brokerStatus-values PASS "putTps, getTotalTps and commitLogDiskRatio are non-zero"
    else
        record broker.mqadmin.brokerStatus-values FAIL "zero after heavy traffic: ${bad[*]} (the Java broker reports the real rates and disk usage)"
    fi
    if [[ -n "$REF_BROKERSTATUS" && -f "$REF_BROKERSTATUS" ]]; then
        local absent
        absent="$(comm -23 <(sed -n -E 's/^([A-Za-z_/0-9.]+) *: .*/\1/p' "$REF_BROKERSTATUS" | grep -v '^commitLogDiskRatio_/' | sort -u) \
            <(sed -n -E 's/^([A-Za-z_/0-9.]+) *: .*/\1/p' "$f" | sort -u) | tr '\n' ' ')"
        if [[ -z "${absent// /}" ]]; then
            record broker.mqadmin.brokerStatus-keys PASS "every key the Java broker reports is present"
        else
            record broker.mqadmin.brokerStatus-keys FAIL "keys the Java broker reports but ours does not: $absent"
        fi
    else
        record broker.mqadmin.brokerStatus-keys SKIP "no Java brokerStatus reference (phase 1 not run)"
    fi

    f="$o-topicStatus.out"
    local rows sum
    rows="$(grep -c -E "^$P2_BROKER_NAME +[0-3] +0 +[0-9]+ " "$f" || true)"
    sum="$(awk -v b="$P2_BROKER_NAME" '$1 == b && NF >= 4 { s += $4 } END { print s + 0 }' "$f")"
    if [[ "$rows" == 4 && "$sum" == 20 ]] && no_exception "$f"; then
        record broker.mqadmin.topicStatus PASS "$topic: 4 queues of $P2_BROKER_NAME, min 0, max offsets sum to 20"
    else
        record broker.mqadmin.topicStatus FAIL "expected 4 queue rows of $P2_BROKER_NAME with max offsets summing to 20 (got $rows rows, sum $sum)" "$f"
    fi

    f="$o-consumerProgress.out"
    rows="$(awk -v t="$topic" -v b="$P2_BROKER_NAME" '$1 == t && $2 == b && $4 == $5 { n++ } END { print n + 0 }' "$f")"
    sum="$(awk -v t="$topic" '$1 == t { s += $5 } END { print s + 0 }' "$f")"
    if [[ "$rows" == 4 && "$sum" == 20 ]] && has "$f" "Consume Diff Total: 0" && no_exception "$f"; then
        record broker.mqadmin.consumerProgress PASS "$group: 4 queues, consumer offset = broker offset (sum 20), diff total 0"
    else
        record broker.mqadmin.consumerProgress FAIL "expected 4 rows of $topic with consumer offset = broker offset summing to 20 and 'Consume Diff Total: 0' (rows $rows, sum $sum)" "$f"
    fi
    # Java prints the store time of the last consumed message; N/A means the broker returned lastTimestamp 0.
    local na
    na="$(awk -v t="$topic" '$1 == t && $NF == "N/A" { n++ } END { print n + 0 }' "$f")"
    if [[ "$rows" == 4 && "$na" == 0 ]]; then
        record broker.mqadmin.consumerProgress-lastTime PASS "#LastTime set on every queue row"
    else
        record broker.mqadmin.consumerProgress-lastTime FAIL "#LastTime is N/A on $na of the $topic rows (the Java broker prints the last consumed message's store time)"
    fi

    f="$o-topicRoute.out"
    if has "$f" "\"$P2_BROKER_ADDR\"" && has "$f" '"readQueueNums":4' && has "$f" '"writeQueueNums":4' \
        && has "$f" "\"cluster\":\"$CLUSTER\"" && has "$f" "\"brokerName\":\"$P2_BROKER_NAME\"" && no_exception "$f"; then
        record broker.mqadmin.topicRoute PASS "route of $topic: $P2_BROKER_NAME $P2_BROKER_ADDR, 4/4 queues"
    else
        record broker.mqadmin.topicRoute FAIL "expected $P2_BROKER_ADDR, $P2_BROKER_NAME, $CLUSTER and 4/4 queues" "$f"
    fi

    f="$o-updateTopic.out"
    if has "$f" "create topic to $P2_BROKER_ADDR success." && no_exception "$f" \
        && grep -q "^TOPICCONFIG OK $t2 .*readQueueNums=8, writeQueueNums=8" "$LOGS/p2-probe-topicconfig-T2.out" \
        && grep -q "^ROUTE OK $t2 " "$LOGS/p2-probe-waitroute-T2.out"; then
        record broker.mqadmin.updateTopic PASS "$t2 created on $P2_BROKER_ADDR (8/8 queues), read back (GET_TOPIC_CONFIG) and routed"
    else
        record broker.mqadmin.updateTopic FAIL "expected the success line, GET_TOPIC_CONFIG with 8/8 queues and a route for $t2" \
            "$f" "$LOGS/p2-probe-topicconfig-T2.out" "$LOGS/p2-probe-waitroute-T2.out"
    fi

    f="$o-updateSubGroup.out"
    if has "$f" "create subscription group to $P2_BROKER_ADDR success." && no_exception "$f" \
        && grep -q "^SUBGROUP OK $g2 " "$LOGS/p2-probe-subgroup-G2.out"; then
        record broker.mqadmin.updateSubGroup PASS "$g2 created on $P2_BROKER_ADDR and read back (GET_ALL_SUBSCRIPTIONGROUP_CONFIG)"
    else
        record broker.mqadmin.updateSubGroup FAIL "expected the success line and the group in the broker's subscription groups" \
            "$f" "$LOGS/p2-probe-subgroup-G2.out"
    fi

    f="$o-consumerConnection.out"
    if grep -q -E '^[0-9.]+@compat-admin-' "$f" && has "$f" "ConsumeType: CONSUME_PASSIVELY" && has "$f" "MessageModel: CLUSTERING" \
        && has "$f" "ConsumeFromWhere: CONSUME_FROM_FIRST_OFFSET" && grep -q -E "^$topic +\\*" "$f" && has "$f" V5_3_3 \
        && no_exception "$f"; then
        record broker.mqadmin.consumerConnection PASS "$group: the held 5.3.3 consumer, its subscription to $topic, CLUSTERING, CONSUME_PASSIVELY"
    else
        record broker.mqadmin.consumerConnection FAIL "expected the held consumer's clientId, subscription '$topic *', CONSUME_PASSIVELY, CLUSTERING, CONSUME_FROM_FIRST_OFFSET" "$f" "$ho"
    fi
}

# Standalone quick start -------------------------------------------------------------------------
p2_standalone() {
    if [[ "$P2_BROKER_KIND" == java ]]; then
        record broker.standalone.start SKIP "COMPAT_BROKER=java"
        return 0
    fi
    pick_port 0 || { record broker.standalone.start FAIL "no free port"; return 0; }
    local nsport=$PICKED_PORT
    pick_port -2 0 1 || { record broker.standalone.start FAIL "no free port"; return 0; }
    local bport=$PICKED_PORT d="$P2/standalone" o="$LOGS/p2-standalone.out"
    mkdir -p "$d/home"
    cat >"$d/broker.conf" <<EOF
listenPort=$bport
brokerIP1=127.0.0.1
mappedFileSizeCommitLog=67108864
cleanFileForciblyEnable=false
EOF
    start_bg standalone "$o" env HOME="$d/home" RUST_BACKTRACE=1 \
        "$P2_STANDALONE_BIN" --data-dir "$d/data" --namesrv-port "$nsport" -c "$d/broker.conf"
    local pid=$LAST_PID
    sa_ready() {
        alive "$pid" || return 2
        grep -q 'boot success' "$o" && port_open "$nsport"
    }
    if ! wait_for 60 "rocketmq-standalone" sa_ready; then
        record broker.standalone.start FAIL "rocketmq-standalone did not boot (name server $nsport, broker $bport)" "$o"
        stop_pid "$pid" standalone 20
        return 0
    fi
    record broker.standalone.start PASS "name server 127.0.0.1:$nsport + broker 127.0.0.1:$bport in one process: $(grep 'boot success' "$o" | tail -n1 | cut -c1-120)"
    local ver=5.3.3 dd="$P2/client-quickstart"
    mkdir -p "$dd/home"
    local phase
    for phase in producer consumer; do
        RUN_OUT="$LOGS/p2-quickstart-$phase.out"
        RUN_RC=0
        (cd "$dd" && NAMESRV_ADDR="127.0.0.1:$nsport" timeout -k 5 200 java "${JVM_COMMON[@]}" -Xms64m -Xmx256m \
            -Duser.home="$dd/home" -cp "$JAVA_OUT/classes/client-$ver:$JAVA_OUT/lib/client-$ver/*:$LAUNCH_CP" \
            WakeJoin BrokerScenarios env - - "quickstart-$phase" timeout="$P2_TIMEOUT") >"$RUN_OUT" 2>&1 || RUN_RC=$?
        local v
        v="$(scenario_verdict "quickstart-$phase" "$RUN_OUT")"
        if [[ "$v" == PASS* ]]; then
            record "broker.standalone.quickstart-$phase" PASS "${v#PASS }"
        else
            record "broker.standalone.quickstart-$phase" FAIL "${v:-no RESULT line (exit $RUN_RC)}" "$RUN_OUT" \
                "$dd/home/logs/rocketmqlogs/rocketmq_client.log" "$o"
        fi
    done
    local st=0 t0=$SECONDS
    kill -TERM -- "-$pid" 2>/dev/null || true
    sa_gone() { ! alive "$pid"; }
    wait_for 30 "standalone exit" sa_gone || true
    if alive "$pid"; then
        stop_pid "$pid" standalone 5
        record broker.standalone.clean-shutdown FAIL "still running 30 s after SIGTERM (killed)" "$o"
    else
        wait "$pid" 2>/dev/null || st=$?
        if [[ $st == 0 ]]; then
            record broker.standalone.clean-shutdown PASS "SIGTERM -> exit status 0 after $((SECONDS - t0))s"
        else
            record broker.standalone.clean-shutdown FAIL "SIGTERM -> exit status $st" "$o"
        fi
    fi
}

phase2() {
    log "==================== phase 2: our broker ($P2_BROKER_KIND broker, our name server) ===================="
    mkdir -p "$P2"
    p2_setup_bins || return 0
    p2_start_namesrv || return 0
    if [[ "$P2_BROKER_KIND" == java ]]; then P2_BROKER_NAME="broker-java-ref"; else P2_BROKER_NAME="broker-rs"; fi
    p2_start_broker broker.setup.broker-start || return 0
    if grep -q -E "^The broker\\[$P2_BROKER_NAME, $P2_BROKER_ADDR\\] boot success\\. serializeType=JSON and name server is $NAMESRV_ADDR\$" "$P2_BROKER_LOG"; then
        record broker.boot-line PASS "stdout: $(grep 'boot success' "$P2_BROKER_LOG" | head -n1)"
    else
        record broker.boot-line FAIL "expected 'The broker[$P2_BROKER_NAME, $P2_BROKER_ADDR] boot success. serializeType=JSON and name server is $NAMESRV_ADDR'" "$P2_BROKER_LOG"
    fi
    p2_create_topics
    p2_java_scenarios 5.3.3
    p2_java_scenarios 4.9.8
    p2_go
    p2_mqadmin

    # Consumer offsets across a restart of the broker (same store).
    log "our broker: restart (SIGTERM, start again on the same store)"
    if p2_stop_broker broker.clean-shutdown && p2_start_broker broker.restart; then
        p2_offsets_after 5.3.3
        p2_offsets_after 4.9.8
    else
        record broker.java-5.3.3.offsets-restart FAIL "broker restart failed"
        record broker.java-4.9.8.offsets-restart FAIL "broker restart failed"
    fi

    local panics
    panics="$(cat "$LOGS"/p2-broker-*.out "$P2_NAMESRV_LOG" 2>/dev/null | grep -c -E 'panicked at' || true)"
    if alive "$P2_BROKER_PID" && alive "$P2_NAMESRV_PID" && [[ "$panics" == 0 ]]; then
        record broker.still-running PASS "our broker and name server alive after all scenarios, no panics logged"
    else
        record broker.still-running FAIL "broker alive: $(alive "$P2_BROKER_PID" && echo yes || echo no), name server alive: $(alive "$P2_NAMESRV_PID" && echo yes || echo no), panics logged: $panics" \
            "$P2_BROKER_LOG" "$P2_NAMESRV_LOG"
    fi
    log "stopping our broker and name server"
    stop_pid "$P2_BROKER_PID" broker-p2 20
    stop_pid "$P2_NAMESRV_PID" namesrv-p2 20

    p2_standalone
}

# ---------------------------------------------------------------- main
main() {
    log "work dir $WORK (logs in $LOGS), name server under test: $NAMESRV_KIND, phases: $PHASES"
    local setup_ok=1 java_ok=1
    setup_java || { setup_ok=0; java_ok=0; }
    if phase_on 1; then
        if [[ $setup_ok == 1 && "$NAMESRV_KIND" == rust ]]; then
            setup_rust || setup_ok=0
        fi
        [[ $setup_ok == 1 ]] && { start_namesrv || setup_ok=0; }
        [[ $setup_ok == 1 ]] && { start_broker || setup_ok=0; }

        if [[ $setup_ok == 1 ]]; then
            scenario_mqadmin
            local t5="CompatJava5_$RUN_ID" t4="CompatJava4_$RUN_ID" tg="CompatGo_$RUN_ID"
            local topics=("$t5" "$t4")
            [[ -d "$HERE/go" ]] && topics+=("$tg")
            if ! prepare_client_topics "${topics[@]}"; then
                log "warning: client topics not fully prepared; clients will rely on broker auto-creation"
            fi
            scenario_java_client 5.3.3 "$t5" "CompatGroup5_$RUN_ID"
            scenario_java_client 4.9.8 "$t4" "CompatGroup4_$RUN_ID"
            scenario_go_client "$tg" "CompatGroupGo_$RUN_ID"
            # What the Java broker does where phase 2 compares our broker with it.
            phase_on 2 && reference_java_broker
            if ! alive "$NAMESRV_PID"; then
                record namesrv.still-running FAIL "the name server process exited during the run" "$NAMESRV_LOG"
            else
                record namesrv.still-running PASS "name server alive after all scenarios"
            fi
        else
            log "setup failed; scenarios not run"
        fi

        log "tearing down"
        teardown
        report_java_namesrv_traffic
    fi

    if phase_on 2 && [[ $java_ok == 1 ]]; then
        # Phase 2 has its own processes; teardown (and the EXIT trap) handle them the same way.
        TORN_DOWN=0
        PIDS=()
        PID_NAMES=()
        phase2
        log "tearing down phase 2"
        teardown
    fi

    local i npass=0 nfail=0 ninfo=0 nskip=0
    echo
    echo "==================== compat summary (phases $PHASES; phase 1: $NAMESRV_KIND name server; phase 2: our name server + $P2_BROKER_KIND broker; $((SECONDS - T_START)) s) ===================="
    for i in "${!RESULT_IDS[@]}"; do
        local id="${RESULT_IDS[$i]}" st="${RESULT_STATUS[$i]}" tag="required"
        is_required "$id" || tag="info"
        printf '  %-4s %-44s [%s] %s\n' "$st" "$id" "$tag" "${RESULT_DETAIL[$i]}"
        case "$st" in
            PASS) npass=$((npass + 1)) ;;
            SKIP) nskip=$((nskip + 1)) ;;
            # setup.* failures always count: nothing after them ran.
            FAIL) if is_required "$id" || [[ "$id" == setup.* ]]; then nfail=$((nfail + 1)); else ninfo=$((ninfo + 1)); fi ;;
        esac
    done
    echo "  logs: $LOGS"
    echo "  informational failures: $ninfo, skipped: $nskip"
    echo "compat: $npass passed, $nfail failed"
    [[ $nfail == 0 ]]
}

main
