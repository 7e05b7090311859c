#!/usr/bin/env bash
# Official-client compatibility harness for the Rust RocketMQ name server.
#
# Starts our name server (or the official Java one, COMPAT_NAMESRV=java, as a reference run),
# registers the official Java broker 5.3.3 to it, then drives it with the official tools
# (mqadmin 5.3.3), the Java clients 5.3.3 and 4.9.8, and the Go client test in compat-tests/go/
# when present. Scenarios listed in compat-tests/tests.allow must pass; others are informational.
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
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
NAMESRV_KIND="${COMPAT_NAMESRV:-rust}"
MSG_COUNT="${COMPAT_MSG_COUNT:-1000}"
CLIENT_TIMEOUT="${COMPAT_CLIENT_TIMEOUT:-90}"
PORT_MIN="${COMPAT_PORT_MIN:-20000}"
PORT_MAX="${COMPAT_PORT_MAX:-32000}"
JAVA_OUT="${COMPAT_JAVA_OUT:-$HERE/java/target}"
ALLOW_FILE="$HERE/tests.allow"
CLUSTER="CompatCluster"
BROKER_NAME="broker-compat"
RUN_ID="$(date +%s)$$"
RUN_ID="${RUN_ID: -8}"

case "$NAMESRV_KIND" in
    rust | java) ;;
    *) echo "run.sh: COMPAT_NAMESRV must be 'rust' or 'java', got '$NAMESRV_KIND'" >&2; exit 2 ;;
esac

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
    if [[ "${COMPAT_KEEP_STORE:-0}" != 1 && -d "$WORK/broker/store" ]]; then
        rm -rf "$WORK/broker/store"
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

# pick_port <offsets...>: sets PICKED_PORT to a random port p such that p+offset is free for
# every offset (and not handed out earlier in this run).
USED_PORTS=" "
pick_port() {
    local tries p off ok
    for ((tries = 0; tries < 200; tries++)); do
        p=$((PORT_MIN + 2 + RANDOM % (PORT_MAX - PORT_MIN - 4)))
        ok=1
        for off in "$@"; do
            if [[ "$USED_PORTS" == *" $((p + off)) "* ]] || port_open $((p + off)); then
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

# mqadmin <outfile> <args...>: official mqadmin 5.3.3 against our name server (stdout+stderr to outfile).
mqadmin() {
    local out="$1"
    shift
    local rc=0
    (cd "$WORK/admin" && timeout -k 5 60 java "${JVM_COMMON[@]}" -Xms64m -Xmx256m \
        -Duser.home="$WORK/admin/home" -Drocketmq.home.dir="$WORK/admin/home" \
        -Drmq.logback.configurationFile="$WORK/admin/tools-logback.xml" \
        -cp "$SERVER_CP" org.apache.rocketmq.tools.command.MQAdminStartup "$@" -n "$NAMESRV_ADDR") \
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
        -cp "$JAVA_OUT/classes/client-$ver:$JAVA_OUT/lib/client-$ver/*" \
        ProduceConsume "$NAMESRV_ADDR" "$topic" "$group" "$MSG_COUNT" "$CLIENT_TIMEOUT") >"$o" 2>&1 || rc=$?
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

# ---------------------------------------------------------------- main
main() {
    log "work dir $WORK (logs in $LOGS), name server under test: $NAMESRV_KIND"
    local setup_ok=1
    setup_java || setup_ok=0
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

    local i npass=0 nfail=0 ninfo=0 nskip=0
    echo
    echo "==================== compat summary ($NAMESRV_KIND name server, $((SECONDS - T_START)) s) ===================="
    for i in "${!RESULT_IDS[@]}"; do
        local id="${RESULT_IDS[$i]}" st="${RESULT_STATUS[$i]}" tag="required"
        is_required "$id" || tag="info"
        printf '  %-4s %-30s [%s] %s\n' "$st" "$id" "$tag" "${RESULT_DETAIL[$i]}"
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
