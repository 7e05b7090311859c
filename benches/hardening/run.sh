#!/usr/bin/env bash
# Hostile-client hardening measurements against a name server + broker: Java 5.3.3 or ours.
#
#   IMPL=java benches/hardening/run.sh
#   IMPL=ours BIN=/work/main/target/release benches/hardening/run.sh
#
# For every scenario (and variant) it starts a FRESH name server + broker (store under $WORK, wiped),
# runs one bounded `attack.py` subcommand against it, checks that the server still answers, stops
# it (SIGTERM, SIGKILL after a grace period) and keeps its logs. At the end it appends one table per
# scenario to benches/hardening/RESULTS.md (date, command, impl) and saves the raw figures as
# benches/hardening/results/<impl>-<timestamp>.json (`attack.py compare java=A.json ours=B.json`
# prints the side-by-side tables).
#
# Scenarios (see attack.py for what each one shows):
#   bigheader   4 variants: broker JSON, broker ROCKETMQ, name server JSON, name server ROCKETMQ;
#               2 frames with $BIG_KEYS junk extFields each, small requests every 10 ms meanwhile.
#   trickle     $TRICKLE_CONNS slowloris connections to the broker, then 8 fresh clients.
#   unfinished  $UNFINISHED_CONNS connections x (16 MiB frame minus one byte) to the broker, RSS sampled;
#               for IMPL=ours a second variant runs the broker under `prlimit --as=$AS_LIMIT` (3 GiB);
#               skipped for Java, whose JVM reserves far more address space than that at start.
#   topicflood  $FLOOD_THREADS threads auto-create $FLOOD_TOPICS topics; then SIGTERM, count the topics
#               in topics.json, restart the broker on the same store and count what it serves.
#
# Environment knobs (defaults in brackets):
#   IMPL (java|ours, required), BIN [$ROOT/target/release] dir with mqnamesrv + mqbroker (ours),
#   JAVA_LIB [$ROOT/compat-tests/store/target/5.3.3/lib-server] Java 5.3.3 server jars,
#   WORK [/tmp/rmq-hardening/$IMPL], NS_PORT [61876], BROKER_PORT [61911] (Java also binds -2 and +1;
#   the defaults sit above the kernel's ephemeral range 32768-60999, so the thousands of client
#   sockets the attacks open cannot occupy them, e.g. in TIME_WAIT, before the next server starts),
#   SCENARIOS ["bigheader trickle unfinished topicflood"], BIG_KEYS [100000],
#   BIGHEADER_VARIANTS ["broker-json broker-rocketmq namesrv-json namesrv-rocketmq"], TRICKLE_CONNS [5000],
#   UNFINISHED_CONNS [200], FLOOD_TOPICS [2000], FLOOD_THREADS [16], SCENARIO_MAX [300] s hard cap
#   per attack, AS_LIMIT [3221225472], RESULTS [benches/hardening/RESULTS.md], NO_RESULTS=1 to skip
#   writing RESULTS.md (the JSON is still saved).
#
# Only 127.0.0.1 is ever contacted. Nothing in the repository other than benches/hardening/ is written.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMPL="${IMPL:-${1:-}}"
case "$IMPL" in java | ours) ;; *) echo "usage: IMPL=java|ours [BIN=dir] $0" >&2; exit 2 ;; esac
BIN="${BIN:-$ROOT/target/release}"
JAVA_LIB="${JAVA_LIB:-$ROOT/compat-tests/store/target/5.3.3/lib-server}"
WORK="${WORK:-/tmp/rmq-hardening/$IMPL}"
NS_PORT="${NS_PORT:-61876}"
BROKER_PORT="${BROKER_PORT:-61911}"
SCENARIOS="${SCENARIOS:-bigheader trickle unfinished topicflood}"
BIG_KEYS="${BIG_KEYS:-100000}"
BIGHEADER_VARIANTS="${BIGHEADER_VARIANTS:-broker-json broker-rocketmq namesrv-json namesrv-rocketmq}"
TRICKLE_CONNS="${TRICKLE_CONNS:-5000}"
UNFINISHED_CONNS="${UNFINISHED_CONNS:-200}"
FLOOD_TOPICS="${FLOOD_TOPICS:-2000}"
FLOOD_THREADS="${FLOOD_THREADS:-16}"
SCENARIO_MAX="${SCENARIO_MAX:-300}"
AS_LIMIT="${AS_LIMIT:-3221225472}"
RESULTS="${RESULTS:-$HERE/RESULTS.md}"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the repository
ATTACK=(python3 "$HERE/attack.py")
CMDLINE="IMPL=$IMPL$([[ $IMPL == ours ]] && echo " BIN=$BIN") SCENARIOS=\"$SCENARIOS\" $0"
STAMP="$(date -u +%Y%m%d-%H%M%S)"
T_START=$SECONDS

log() { printf '[%s +%4ds] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - T_START))" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# The 5000-connection trickle needs fds on both sides; the container may cap the hard limit lower.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE="$(ulimit -n)"
[[ "$NOFILE" == 65536 ]] || log "note: ulimit -n 65536 not permitted here; using the hard limit $NOFILE"

command -v python3 >/dev/null || die "python3 missing"
command -v ss >/dev/null || die "ss missing"
if [[ $IMPL == java ]]; then
    command -v java >/dev/null || die "java missing"
    if ! ls "$JAVA_LIB"/rocketmq-broker-5.3.3.jar >/dev/null 2>&1; then
        # Fetch the pinned 5.3.3 server jars with Maven (cached in ~/.m2), as the store suite does.
        bash "$ROOT/compat-tests/store/build.sh" 5.3.3 >&2 || die "cannot fetch the Java 5.3.3 jars"
    fi
    ls "$JAVA_LIB"/rocketmq-broker-5.3.3.jar >/dev/null 2>&1 || die "no Java 5.3.3 jars in $JAVA_LIB"
else
    for b in mqnamesrv mqbroker; do [[ -x "$BIN/$b" ]] || die "$BIN/$b missing"; done
fi

rm -rf "$WORK"
mkdir -p "$WORK/logs" "$WORK/home/conf"
[[ "${NO_RESULTS:-0}" == 1 ]] || mkdir -p "$HERE/results"
JSON="$WORK/results.json"
STORE="$WORK/store"
NS="127.0.0.1:$NS_PORT"

# ------------------------------------------------------------------ Java command lines
JHOME="$WORK/home"
JCOMMON=(-server -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -Djava.net.preferIPv4Stack=true
         -Duser.home="$JHOME" -Drocketmq.home.dir="$JHOME")
# Same heap/direct sizes as benches/compare_java.sh (runbroker.sh's G1 flags, 2 GiB instead of 8 GiB).
JBROKER_OPTS=(-Xms2g -Xmx2g -XX:MaxDirectMemorySize=2g -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25
              -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0)
JNS_OPTS=(-Xms512m -Xmx512m)
if [[ $IMPL == java ]]; then
    unzip -p "$JAVA_LIB/rocketmq-namesrv-5.3.3.jar" rmq.namesrv.logback.xml >"$JHOME/conf/rmq.namesrv.logback.xml"
    unzip -p "$JAVA_LIB/rocketmq-broker-5.3.3.jar" rmq.broker.logback.xml >"$JHOME/conf/rmq.broker.logback.xml"
fi

cat >"$WORK/namesrv.conf" <<EOF
listenPort=$NS_PORT
EOF
cat >"$WORK/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NS
listenPort=$BROKER_PORT
storePathRootDir=$STORE
storePathCommitLog=$STORE/commitlog
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
mappedFileSizeCommitLog=1073741824
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
EOF

# ------------------------------------------------------------------ process control
NS_PID=""
BR_PID=""
STOP_SECS=""
STOP_HOW=""
stop_pid() { # <pid> <grace s>: SIGTERM, SIGKILL after the grace; sets STOP_SECS / STOP_HOW
    local pid=$1 grace=$2 i t0=$EPOCHREALTIME
    STOP_HOW="not running"
    STOP_SECS=0
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    STOP_HOW="SIGTERM"
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        STOP_HOW="SIGKILL after ${grace} s"
    fi
    wait "$pid" 2>/dev/null
    STOP_SECS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}
cleanup() {
    stop_pid "$BR_PID" 10
    stop_pid "$NS_PID" 10
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

port_free() { [[ -z "$(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null)" ]]; }   # TIME_WAIT is fine (SO_REUSEADDR)
wait_ports_free() {
    local i p busy
    for ((i = 0; i < 600; i++)); do
        busy=0
        for p in "$NS_PORT" "$BROKER_PORT" $((BROKER_PORT - 2)) $((BROKER_PORT + 1)); do
            port_free "$p" || busy=1
        done
        [[ $busy == 0 ]] && return 0
        sleep 0.1
    done
    die "ports $NS_PORT / $BROKER_PORT±2 still in use"
}
wait_line() { # <file> <text> <timeout s> <pid>
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

start_ns() { # <tag>
    local L="$WORK/logs/$1"
    if [[ $IMPL == java ]]; then
        ROCKETMQ_HOME="$JHOME" java "${JCOMMON[@]}" "${JNS_OPTS[@]}" \
            -Drmq.logback.configurationFile="$JHOME/conf/rmq.namesrv.logback.xml" -cp "$JAVA_LIB/*" \
            org.apache.rocketmq.namesrv.NamesrvStartup -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
    else
        HOME="$JHOME" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
    fi
    NS_PID=$!
    wait_line "$L-namesrv.log" "boot success" 60 "$NS_PID" || die "name server did not start (see $L-namesrv.log)"
}

start_broker() { # <tag> [wrapper cmd...]   (does not wipe the store)
    local tag=$1 L="$WORK/logs/$1" t0=$SECONDS i
    shift
    if [[ $IMPL == java ]]; then
        ROCKETMQ_HOME="$JHOME" "$@" java "${JCOMMON[@]}" "${JBROKER_OPTS[@]}" \
            -Drmq.logback.configurationFile="$JHOME/conf/rmq.broker.logback.xml" -cp "$JAVA_LIB/*" \
            org.apache.rocketmq.broker.BrokerStartup -c "$WORK/broker.conf" >"$L-broker.log" 2>&1 &
    else
        HOME="$JHOME" "$@" "$BIN/mqbroker" -c "$WORK/broker.conf" -n "$NS" >"$L-broker.log" 2>&1 &
    fi
    BR_PID=$!
    wait_line "$L-broker.log" "boot success" 120 "$BR_PID" || { tail -20 "$L-broker.log" >&2; return 1; }
    # ready = the name server routes TBW102 to this broker
    for ((i = 0; i < 60; i++)); do
        "${ATTACK[@]}" probe --port "$NS_PORT" --code 105 --ext topic=TBW102 --want-code 0 >/dev/null 2>&1 && break
        sleep 1
    done
    log "$tag: broker pid $BR_PID up in $((SECONDS - t0)) s ($(grep -m1 -o 'boot success.*' "$L-broker.log" | cut -c1-60))"
}

start_servers() { # <tag> [broker wrapper...]: fresh store, name server + broker
    local tag=$1
    shift
    stop_pid "$BR_PID" 15
    stop_pid "$NS_PID" 15
    wait_ports_free
    rm -rf "$STORE" "$JHOME/logs" "$JHOME/store" "$JHOME/namesrv"
    mkdir -p "$STORE"
    start_ns "$tag"
    if ! start_broker "$tag" "$@"; then
        log "$tag: broker did not start; retrying once in 10 s"
        stop_pid "$BR_PID" 5
        sleep 10
        wait_ports_free
        start_broker "$tag" "$@" || die "$tag: broker did not start (see $WORK/logs/$tag-broker.log)"
    fi
}

# Errors worth mentioning from the server logs of this run (OOM, panics, exceptions while decoding).
log_findings() { # <tag>
    local tag=$1 files=("$WORK/logs/$tag-broker.log" "$WORK/logs/$tag-namesrv.log") hits
    [[ -d "$JHOME/logs" ]] && files+=("$JHOME"/logs/rocketmqlogs/*.log)
    hits="$(grep -h -i -E 'OutOfMemory|OutOfDirectMemory|panicked|memory allocation|Too many open|exceed|TooLong|decode.*(fail|error)|frame|cannot persist|persist.*fail' \
        "${files[@]}" 2>/dev/null | sed -E 's/\x1b\[[0-9;]*m//g; s/^[0-9T:.Z-]+ +//; s/^[0-9-]+ [0-9:,]+ //' \
        | grep -v -i -E 'boot success|^\s*at ' | sort | uniq -c | sort -rn | head -3 \
        | sed -E 's/^ *([0-9]+) /\1x /' | cut -c1-220 | tr '\n' ' ')"
    echo "${hits:--}"
}

stop_servers() { # <tag> <label>: record liveness, stop both, keep Java's log dir
    local tag=$1 label=$2 alive probe rc=""
    if kill -0 "$BR_PID" 2>/dev/null; then alive=yes; else alive=NO; wait "$BR_PID" 2>/dev/null; rc=$?; fi
    if [[ $label == *namesrv* ]]; then
        probe="$("${ATTACK[@]}" probe --port "$NS_PORT" --code 105 --ext topic=TBW102 --timeout 5 2>&1 | head -1)"
    else
        probe="$("${ATTACK[@]}" probe --port "$BROKER_PORT" --timeout 5 2>&1 | head -1)"
    fi
    "${ATTACK[@]}" record --out "$JSON" --label "$label" \
        "broker process alive at end=$alive${rc:+ (exit status $rc)}" \
        "name server process alive at end=$(kill -0 "$NS_PID" 2>/dev/null && echo yes || echo NO)" \
        "fresh probe after the attack=${probe:0:90}" \
        "server log findings=$(log_findings "$tag")" >/dev/null
    stop_pid "$BR_PID" 20
    "${ATTACK[@]}" record --out "$JSON" --label "$label" "broker stop=$STOP_HOW, $STOP_SECS s" >/dev/null
    stop_pid "$NS_PID" 10
    BR_PID=""
    NS_PID=""
    [[ -d "$JHOME/logs" ]] && mv "$JHOME/logs" "$WORK/logs/$tag-java-logs"
}

attack() { # <tag> <subcommand> args...: bounded attack.py run, output to console and log
    local tag=$1
    shift
    log "$tag: attack.py $*"
    timeout -k 10 "$SCENARIO_MAX" "${ATTACK[@]}" "$@" --out "$JSON" 2>&1 | tee "$WORK/logs/$tag-attack.log"
    local rc=${PIPESTATUS[0]}
    [[ $rc == 0 ]] || log "$tag: attack.py exited $rc (124 = killed by the ${SCENARIO_MAX} s cap)"
    return 0
}

# ------------------------------------------------------------------ scenarios
run_bigheader() {
    local v port code pid label tag
    for v in $BIGHEADER_VARIANTS; do
        tag="bigheader-$v"
        label="bigheader: $v"
        start_servers "$tag"
        if [[ $v == broker-* ]]; then
            port=$BROKER_PORT code=30 pid=$BR_PID
            ext=(topic=TBW102 queueId=0)
        else
            port=$NS_PORT code=105 pid=$NS_PID
            ext=(topic=TBW102)
        fi
        attack "$tag" bigheader --label "$label" --port "$port" --server-pid "$pid" --serialize "${v#*-}" \
            --keys "$BIG_KEYS" --big-code "$code" --big-ext "${ext[@]}" --small-code "$code" \
            --small-ext "${ext[@]}" --timeout 120
        stop_servers "$tag" "$label"
    done
}

run_trickle() {
    local tag=trickle label="trickle: $TRICKLE_CONNS slowloris conns"
    start_servers "$tag"
    attack "$tag" trickle --label "$label" --port "$BROKER_PORT" --server-pid "$BR_PID" --conns "$TRICKLE_CONNS"
    stop_servers "$tag" "$label"
}

run_unfinished() {
    local tag=unfinished label="unfinished: $UNFINISHED_CONNS x 16 MiB-1"
    start_servers "$tag"
    attack "$tag" unfinished --label "$label" --port "$BROKER_PORT" --server-pid "$BR_PID" \
        --conns "$UNFINISHED_CONNS"
    stop_servers "$tag" "$label"
    label="unfinished: $UNFINISHED_CONNS x 16 MiB-1, broker under prlimit --as=$AS_LIMIT"
    if [[ $IMPL == java ]]; then
        "${ATTACK[@]}" record --out "$JSON" --label "$label" \
            "skipped=the JVM (2 GiB heap + code cache + metaspace + 1 GiB CommitLog mapping + thread stacks) reserves more than 3 GiB of address space before serving" >/dev/null
        return
    fi
    tag=unfinished-as
    start_servers "$tag" prlimit --as="$AS_LIMIT" --
    attack "$tag" unfinished --label "$label" --port "$BROKER_PORT" --server-pid "$BR_PID" \
        --conns "$UNFINISHED_CONNS"
    stop_servers "$tag" "$label"
}

run_topicflood() {
    local tag=topicflood label="topicflood: $FLOOD_TOPICS topics, $FLOOD_THREADS threads" names="$WORK/flood-names.txt"
    start_servers "$tag"
    attack "$tag" topicflood --label "$label" --port "$BROKER_PORT" --server-pid "$BR_PID" \
        --topics "$FLOOD_TOPICS" --threads "$FLOOD_THREADS" --names-out "$names" --timeout 240
    "${ATTACK[@]}" topiccount --out "$JSON" --label "$label" --names "$names" --port "$BROKER_PORT" \
        --what "before stop" | tail -n +2
    cp "$STORE/config/topics.json" "$WORK/topics-before-stop.json" 2>/dev/null
    log "$tag: SIGTERM broker"
    stop_pid "$BR_PID" 60
    "${ATTACK[@]}" record --out "$JSON" --label "$label" "graceful stop=$STOP_HOW, $STOP_SECS s" \
        "server log findings during the flood=$(log_findings "$tag")" >/dev/null
    "${ATTACK[@]}" topiccount --out "$JSON" --label "$label" --names "$names" \
        --topics-json "$STORE/config/topics.json" --what "after SIGTERM" | tail -n +2
    local t0=$SECONDS
    if start_broker "$tag-restart"; then
        "${ATTACK[@]}" record --out "$JSON" --label "$label" "restart to ready (s)=$((SECONDS - t0))" >/dev/null
        "${ATTACK[@]}" topiccount --out "$JSON" --label "$label" --names "$names" --port "$BROKER_PORT" \
            --what "after restart" | tail -n +2
    else
        "${ATTACK[@]}" record --out "$JSON" --label "$label" "restart=FAILED (see logs/$tag-restart-broker.log)" >/dev/null
    fi
    stop_servers "$tag-restart" "$label"
}

# ------------------------------------------------------------------ main
"${ATTACK[@]}" record --out "$JSON" --label _meta "impl=$IMPL" >/dev/null
log "IMPL=$IMPL WORK=$WORK ulimit -n $NOFILE scenarios: $SCENARIOS"
LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SCENARIOS; do
    case "$s" in
        bigheader | trickle | unfinished | topicflood) "run_$s" ;;
        *) die "unknown scenario $s" ;;
    esac
done

if [[ "${NO_RESULTS:-0}" == 1 ]]; then
    log "raw figures: $JSON (NO_RESULTS=1: RESULTS.md and results/ untouched)"
else
    cp "$JSON" "$HERE/results/$IMPL-$STAMP.json"
    log "raw figures: benches/hardening/results/$IMPL-$STAMP.json"
    {
        echo
        echo "## Run $(date -u '+%Y-%m-%d %H:%M UTC') — IMPL=$IMPL"
        echo
        echo "- Command: \`$CMDLINE\`"
        if [[ $IMPL == java ]]; then
            echo "- Server: Apache RocketMQ 5.3.3 jars from \`$JAVA_LIB\`; $(java -version 2>&1 | head -1);"
            echo "  broker JVM ${JBROKER_OPTS[*]:0:3} (G1), name server ${JNS_OPTS[*]}."
        else
            echo "- Server: \`$BIN/mqnamesrv\` + \`$BIN/mqbroker\` ($(stat -c '%y' "$BIN/mqbroker" | cut -d. -f1), sha256 $(sha256sum "$BIN/mqbroker" | cut -c1-12))."
        fi
        echo "- Machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; ulimit -n $NOFILE; load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg); total $((SECONDS - T_START)) s."
        echo "- Raw figures: \`benches/hardening/results/$IMPL-$STAMP.json\`; logs: \`$WORK/logs/\`."
        echo
        "${ATTACK[@]}" table --in "$JSON"
    } >>"$RESULTS"
    log "appended to $RESULTS"
fi
log "done in $((SECONDS - T_START)) s"
