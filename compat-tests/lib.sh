# Shared helpers for the feature compat scripts (compat-tests/<feature>/run.sh). Source it after
# setting:
#   TAG    short name printed in log lines and the final "<TAG>-compat: N passed, M failed" line
#   ROOT   repository root
# Optional: COMPAT_CLIENT (default 5.3.3; 5.5.0 = the newest release) is the 5.x client behind
# CLIENT_CP, COMPAT_TOOLS (default 5.3.3; or 5.5.0) the rocketmq-tools that `mqadmin` runs.
# It sets BIN, JAVA_OUT, WORK (a fresh temp dir, removed at exit unless COMPAT_KEEP_WORK=1),
# CLIENT_CP (COMPAT_CLIENT client + scenario classes), CLIENT4_CP (4.9.8), SERVER_CP (Java
# broker/tools 5.3.3), TOOLS_CP (COMPAT_TOOLS tools),
# and defines: log, report, wanted, finish, alive, pick_port, wait_for, build_all, start_namesrv
# (sets NS), start_broker, stop_broker, store_of, mqadmin.
# shellcheck shell=bash
BIN="${RMQRS_BIN_DIR:-$ROOT/target/debug}"
JAVA_OUT="${COMPAT_JAVA_OUT:-$ROOT/compat-tests/java/target}"
ONLY="${COMPAT_SCENARIOS:-}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rmqrs-$TAG-compat.XXXXXX")"
T0=$SECONDS
COMPAT_CLIENT="${COMPAT_CLIENT:-5.3.3}"
COMPAT_TOOLS="${COMPAT_TOOLS:-5.3.3}"
CLIENT_CP="$JAVA_OUT/classes/client-$COMPAT_CLIENT:$JAVA_OUT/lib/client-$COMPAT_CLIENT/*"
CLIENT4_CP="$JAVA_OUT/classes/client-4.9.8:$JAVA_OUT/lib/client-4.9.8/*"
SERVER_CP="$JAVA_OUT/lib/server/*"
if [[ "$COMPAT_TOOLS" == 5.3.3 ]]; then TOOLS_CP="$SERVER_CP"; else TOOLS_CP="$JAVA_OUT/lib/tools-$COMPAT_TOOLS/*"; fi
log() { printf '[%s %4ds] %s\n' "$TAG" "$((SECONDS - T0))" "$*"; }

pass=0; fail=0
report() { # id PASS|FAIL detail [files to show on failure]
    local id="$1" st="$2" detail="$3" f
    shift 3
    printf '%-34s %s %s\n' "$id" "$st" "$detail"
    if [[ "$st" == PASS ]]; then pass=$((pass + 1)); else
        fail=$((fail + 1))
        for f in "$@"; do [[ -f "$f" ]] && { echo "--- tail $f"; tail -n 25 "$f"; }; done
    fi
}
# wanted <id>: true when COMPAT_SCENARIOS is unset or names a prefix of <id>.
wanted() { [[ -z "$ONLY" ]] && return 0; local p; IFS=, read -ra ps <<<"$ONLY"; for p in "${ps[@]}"; do [[ "$1" == "$p"* ]] && return 0; done; return 1; }
# finish: prints the summary line and exits 1 when anything failed.
finish() { echo "$TAG-compat: $pass passed, $fail failed"; [[ $fail == 0 ]]; exit $?; }

declare -A PID=()
lib_cleanup() {
    local n
    for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null; done
    if [[ "${COMPAT_KEEP_WORK:-0}" == 1 ]]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap lib_cleanup EXIT
alive() { [[ -n "${PID[$1]:-}" ]] && kill -0 "${PID[$1]}" 2>/dev/null; }
port_free() { [[ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]; }
USED=" "
# Ports come from PORT_LO .. PORT_LO+PORT_SPAN; run_lanes gives each lane its own part of the range.
PORT_LO=61010 PORT_SPAN=3980
pick_port() { # <offsets...>: P in 61000-64999 (above the ephemeral range) with P+offset free
    local t p o ok
    for ((t = 0; t < 300; t++)); do
        p=$((PORT_LO + RANDOM % PORT_SPAN)); ok=1
        for o in "$@"; do
            if [[ "$USED" == *" $((p + o)) "* ]] || ! port_free $((p + o)); then ok=0; break; fi
        done
        if [[ $ok == 1 ]]; then for o in "$@"; do USED+="$((p + o)) "; done; echo "$p"; return 0; fi
    done
    return 1
}
# run_lanes <command> <command>...: runs each command (a function call, as one string) in its own
# lane at the same time: a subshell with its own ports, broker processes and counts; LANE is its
# number (use it in the names of scratch files). Each lane's output is printed once all are done,
# in order, and its passes and failures are added here. For scenarios that mostly wait (a Java
# broker's periodic sync, a timer). Lanes that start brokers begin with own_namesrv: brokers of two
# lanes on one name server would share auto-created topics (TBW102 routes to every broker).
run_lanes() {
    local n=$# i=0 c lo=$PORT_LO span=$((PORT_SPAN / $#)) pids=() p f cmds=("$@")
    for c in "$@"; do
        (
            PID=()
            trap 'for k in "${!PID[@]}"; do kill -KILL "${PID[$k]}" 2>/dev/null; done' EXIT
            LANE=$i PORT_LO=$((lo + i * span)) PORT_SPAN=$span pass=0 fail=0
            eval "$c"
            echo "$pass $fail" >"$WORK/lane-$LANE.count"
        ) >"$WORK/lane-$i.log" 2>&1 &
        pids+=($!)
        i=$((i + 1))
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for ((i = 0; i < n; i++)); do
        cat "$WORK/lane-$i.log"
        if read -r p f 2>/dev/null <"$WORK/lane-$i.count"; then
            pass=$((pass + p)); fail=$((fail + f))
        else
            report "lane-$i" FAIL "lane '${cmds[i]}' ended without its counts"
        fi
    done
}
# own_namesrv: a name server for this lane alone (NS, NSLOG); without one the lane ends (and
# run_lanes reports it).
own_namesrv() { start_namesrv || { log "lane $LANE: name server did not start"; exit 1; }; }
wait_for() { # <seconds> <cmd...>
    local secs=$1 t; shift
    for ((t = 0; t < secs * 5; t++)); do "$@" && return 0; sleep 0.2; done
    return 1
}

# build_all: our binaries and the Java scenario programs; exits with a failed summary if either fails.
# COMPAT_PREBUILT=1 (scripts/test.sh, after `cargo test --all-targets` built them) uses the binaries
# in $BIN as they are.
build_all() {
    if [[ "${COMPAT_PREBUILT:-0}" != 1 ]]; then
        (cd "$ROOT" && cargo build --bins --quiet) || { echo "$TAG-compat: 0 passed, 1 failed"; exit 1; }
    fi
    bash "$ROOT/compat-tests/java/build.sh" >"$WORK/java-build.log" 2>&1 \
        || { tail -20 "$WORK/java-build.log"; echo "$TAG-compat: 0 passed, 1 failed"; exit 1; }
}

JVM=(-Xms128m -Xmx512m -XX:MaxDirectMemorySize=512m -XX:+UseSerialGC -XX:ActiveProcessorCount=2
    -XX:TieredStopAtLevel=1 -XX:-OmitStackTraceInFastThrow -Djava.net.preferIPv4Stack=true -Dfile.encoding=UTF-8)
LOGCFG="$WORK/rmq.broker.logback.xml"

# start_namesrv [conf-lines...]: our name server on a free port; sets NS (host:port) and NSLOG (its
# output: $WORK/namesrv.log, in a lane namesrv<LANE>.log).
start_namesrv() {
    local port
    port="$(pick_port 0)" || return 1
    NS="127.0.0.1:$port"
    NSLOG="$WORK/namesrv${LANE:-}.log"
    { printf 'listenPort=%s\n' "$port"; printf '%s\n' "$@"; } >"$WORK/namesrv${LANE:-}.conf"
    "$BIN/mqnamesrv" -c "$WORK/namesrv${LANE:-}.conf" >"$NSLOG" 2>&1 &
    PID[ns]=$!
    wait_for 30 grep -q "boot success" "$NSLOG" || { cat "$NSLOG"; return 1; }
    log "name server (ours) on $NS"
}

# start_broker <name> rust|java <conf-lines...>: conf in $WORK/<name>.conf, store $WORK/<name>/store.
# The broker port is in BROKER_PORT[<name>] (kept across restarts). Waits for "boot success".
declare -A BROKER_PORT=() KIND=()
start_broker() {
    local name="$1" kind="$2" port
    shift 2
    port="${BROKER_PORT[$name]:-}"
    if [[ -z "$port" ]]; then port="$(pick_port -2 0 1)" || return 1; BROKER_PORT[$name]=$port; fi
    KIND[$name]=$kind
    mkdir -p "$WORK/$name/store" "$WORK/$name/home"
    {
        printf 'brokerIP1=127.0.0.1\nbrokerIP2=127.0.0.1\nlistenPort=%s\nnamesrvAddr=%s\n' "$port" "$NS"
        printf 'storePathRootDir=%s\nstorePathCommitLog=%s\n' "$WORK/$name/store" "$WORK/$name/store/commitlog"
        printf 'mappedFileSizeCommitLog=1048576\nautoCreateTopicEnable=true\nflushDiskType=ASYNC_FLUSH\n'
        # The test host's disk is shared and at times more than 85 % used: with Java's default
        # (true) retention would then delete unconsumed CommitLog files under a running test.
        printf 'cleanFileForciblyEnable=false\n'
        printf '%s\n' "$@"
    } >"$WORK/$name.conf"
    local out="$WORK/$name.out"
    echo "=== start $(date +%T)" >>"$out"
    if [[ "$kind" == rust ]]; then
        "$BIN/mqbroker" -c "$WORK/$name.conf" >>"$out" 2>&1 &
    else
        # Written aside and renamed: brokers of several lanes may start at once.
        [[ -s "$LOGCFG" ]] || { unzip -p "$JAVA_OUT/lib/server/rocketmq-broker-5.3.3.jar" rmq.broker.logback.xml \
            >"$LOGCFG.$BASHPID" 2>/dev/null && mv -f "$LOGCFG.$BASHPID" "$LOGCFG"; } || true
        ROCKETMQ_HOME="$WORK/$name/home" java "${JVM[@]}" -Duser.home="$WORK/$name/home" \
            -Drmq.logback.configurationFile="$LOGCFG" -cp "$SERVER_CP" \
            org.apache.rocketmq.broker.BrokerStartup -c "$WORK/$name.conf" >>"$out" 2>&1 &
    fi
    PID[$name]=$!
    local n0
    n0=$(grep -c "boot success" "$out")
    booted() { [[ $(grep -c "boot success" "$out") -gt $n0 ]] || ! alive "$name"; }
    wait_for 90 booted
    alive "$name" || { log "$name ($kind) died at start"; tail -20 "$out"; return 1; }
    log "$name ($kind) up on 127.0.0.1:$port"
}
stop_broker() { # <name> [KILL]
    local sig="${2:-TERM}" p="${PID[$1]:-}"
    [[ -z "$p" ]] && return 0
    kill -"$sig" "$p" 2>/dev/null
    wait_for 60 bash -c "! kill -0 $p 2>/dev/null" || kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset 'PID[$1]'
}
store_of() { echo "$WORK/$1/store"; }
# LAUNCH_CP: the classes of java/src/launch/ (a jar), appended to a classpath. AdminExit runs mqadmin
# (MQAdminStartup.main) and ends the JVM when it returns; WakeJoin <main class> <args> runs a scenario
# program. Both skip the 2-5 s a JVM otherwise idles in the 5.x remoting client's teardown (JoinWaker).
LAUNCH_CP="$JAVA_OUT/launch.jar"
# shellcheck source=java/cds.sh
source "$ROOT/compat-tests/java/cds.sh"
# mqadmin <out> <args...>: runs mqadmin (rocketmq-tools COMPAT_TOOLS) against the name server, with
# the class-data-sharing archive of its classpath (cds_run).
mqadmin() {
    local out="$1"; shift
    cds_run "mqadmin-$COMPAT_TOOLS" timeout 120 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Duser.home="$WORK/client-home" -cp "$TOOLS_CP:$LAUNCH_CP" AdminExit "$@" -n "$NS" >"$out" 2>&1
}
