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
#   6. the official Java benchmark Producer (rocketmq-all 5.3.3 example/benchmark/Producer.java,
#      compiled here because rocketmq-example 5.3.3 is not published to Maven Central) with
#      -t BenchTopic -s 1024 -w 64 -ri 1000 for $JBENCH_SECS s; steady state = mean of the per-second
#      "Send TPS:" lines (each is a 9 s sliding window) whose window starts >= 5 s after launch.
# It prints a table (Java, ours, ours/Java) and writes benches/RESULTS.md.
#
# Before measuring it waits (up to $QUIET_WAIT s in total) until no foreign java / mqbroker / mqnamesrv /
# rocketmq-standalone / rustc process runs, and it records any it saw during the run in RESULTS.md.
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
ENVLINE="QUIET_WAIT=$QUIET_WAIT QUIET_HOLD=$QUIET_HOLD ATTEMPTS=$ATTEMPTS FOREIGN_MAX_PCT=$FOREIGN_MAX_PCT WORK=$WORK NS_PORT=$NS_PORT BROKER_PORT=$BROKER_PORT DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY SIZE=$SIZE RATE=$RATE BACKLOG=$BACKLOG JBENCH_SECS=$JBENCH_SECS OURS_MODE=$OURS_MODE"
T_START=$SECONDS

log() { printf '[%s +%4ds] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - T_START))" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# ---------------------------------------------------------------- process bookkeeping / cleanup
PIDS=()
stop_pid() { # <pid> [grace seconds]
    local pid=$1 grace=${2:-15} i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
SAMPLER_PID=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
    PIDS=()
    [[ -n "$SAMPLER_PID" ]] && stop_pid "$SAMPLER_PID" 2
    return 0
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Run a bounded command in the background (so a signal reaches the trap at once) and wait for it.
run() { # <timeout s> <log file> cmd...
    local t=$1 out=$2 pid rc
    shift 2
    timeout -k 10 "$t" "$@" >"$out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid"
    rc=$?
    return $rc
}

# ---------------------------------------------------------------- build / fetch
mkdir -p "$WORK/logs" "$WORK/home"
if [[ "$SKIP_BUILD" != 1 ]]; then
    log "cargo build --release --bins"
    (cd "$ROOT" && timeout 3600 cargo build --release --bins >"$WORK/logs/cargo.log" 2>&1) \
        || { tail -20 "$WORK/logs/cargo.log" >&2; die "cargo build failed"; }
fi
for b in mqnamesrv mqbroker rocketmq-standalone rmq-loadgen; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b missing (cargo build --release --bins)"
done
for t in mvn java javac python3 unzip ss; do command -v "$t" >/dev/null || die "'$t' not on PATH"; done

POM="$ROOT/benches/java/pom.xml"
stamp="$(sha256sum "$POM" | cut -d' ' -f1)"
if [[ ! -f "$WORK/lib/.stamp" || "$(cat "$WORK/lib/.stamp")" != "$stamp" ]]; then
    log "fetching the Java 5.3.3 classpath with Maven"
    rm -rf "$WORK/lib" "$WORK/src" "$WORK/classes"
    mkdir -p "$WORK/lib" "$WORK/src"
    timeout 900 mvn -B -Dstyle.color=never -f "$POM" -Dmaven.wagon.http.retryHandler.count=3 \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$WORK/lib" \
        >"$WORK/logs/mvn.log" 2>&1 || { tail -30 "$WORK/logs/mvn.log" >&2; die "maven failed"; }
    timeout 900 mvn -B -Dstyle.color=never -f "$POM" \
        dependency:copy -Dartifact=org.apache.rocketmq:rocketmq-all:5.3.3:zip:source-release \
        -DoutputDirectory="$WORK/src" >>"$WORK/logs/mvn.log" 2>&1 \
        || { tail -30 "$WORK/logs/mvn.log" >&2; die "maven (source-release) failed"; }
    echo "$stamp" >"$WORK/lib/.stamp"
fi
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
JCOMMON=(-server -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -Duser.home="$JHOME"
         -Drocketmq.home.dir="$JHOME" -Drocketmq.client.logRoot="$WORK/logs/javaclient")
# runbroker.sh's G1 options, with a 2 GiB heap instead of 8 GiB and no AlwaysPreTouch.
JBROKER_OPTS=(-Xms2g -Xmx2g -XX:MaxDirectMemorySize=2g -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25
              -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0)
export ROCKETMQ_HOME="$JHOME"

# ---------------------------------------------------------------- helpers
cat >"$WORK/probe.py" <<'PY'
# Tiny RocketMQ remoting client (JSON headers) for start-up timing and route checks.
import json, os, socket, struct, sys, time

def call(port, code, ext, timeout=1.0):
    hdr = json.dumps({"code": code, "language": "JAVA", "version": 479, "opaque": 1, "flag": 0,
                      "extFields": ext, "serializeTypeCurrentRPC": "JSON"}).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(struct.pack(">II", 4 + len(hdr), len(hdr)) + hdr)
        buf = b""
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("closed")
            buf += chunk
    hl = struct.unpack(">I", buf[4:8])[0] & 0xFFFFFF
    head = json.loads(buf[8:8 + hl])
    return head, buf[8 + hl:].decode("utf-8", "replace")

def startup(t0file, logfile, bport, nsport, addr, limit):
    # Started before the broker so interpreter start-up is not counted: announce readiness, then wait
    # for the launcher to write the broker's start time (epoch microseconds) into t0file.
    open(t0file + ".ready", "w").close()
    deadline = time.time() + 30
    while not (os.path.exists(t0file) and open(t0file).read().strip()):
        if time.time() > deadline:
            sys.exit("no start time")
        time.sleep(0.001)
    t0 = int(open(t0file).read().strip()) * 1000
    got = {}
    next_reg = 0.0
    deadline = time.time() + float(limit)
    while time.time() < deadline and len(got) < 3:
        now = lambda: (time.time_ns() - t0) / 1e6
        if "port" not in got:
            try:
                socket.create_connection(("127.0.0.1", int(bport)), timeout=0.2).close()
                got["port"] = now()
            except OSError:
                pass
        if "boot" not in got:
            try:
                with open(logfile, "rb") as f:
                    if b"boot success" in f.read().replace(b"Name Server boot success", b""):
                        got["boot"] = now()
            except OSError:
                pass
        if "reg" not in got and time.time() >= next_reg:
            next_reg = time.time() + 0.01
            try:
                h, body = call(int(nsport), 106, {}, 0.5)
                if h.get("code") == 0 and addr in body:
                    got["reg"] = now()
            except (OSError, ValueError):
                pass
        time.sleep(0.002)
    print(" ".join(f"{k}={got[k]:.0f}" if k in got else f"{k}=" for k in ("port", "boot", "reg")))

def route(nsport, topic, queues, limit):
    deadline = time.time() + float(limit)
    want = f'"writeQueueNums":{queues}'
    while time.time() < deadline:
        try:
            h, body = call(int(nsport), 105, {"topic": topic})
            if h.get("code") == 0 and want in body.replace(" ", ""):
                print("ok")
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    print("timeout")
    sys.exit(1)

if __name__ == "__main__":
    {"startup": startup, "route": route}[sys.argv[1]](*sys.argv[2:])
PY

# Background sampler: CPU time used by processes that are not descendants of this script, per phase
# (the phase name is read from $WORK/phase). Catches load from other users of the machine by any name.
echo idle >"$WORK/phase"
rm -f "$WORK/foreign.txt"
python3 "$ROOT/benches/sampler.py" $$ "$WORK/phase" "$WORK/foreign.txt" >"$WORK/logs/sampler.log" 2>&1 &
SAMPLER_PID=$!
foreign_cpu() { awk -v p="$1" '$1 == p {print $2, $3}' "$WORK/foreign.txt" 2>/dev/null; }

FOREIGN_RE='^(java|mqbroker|mqnamesrv|rocketmq-standa|rustc)$'
foreign() { # foreign processes that would skew the figures (ours are excluded by pid)
    local pid comm args mine p
    while read -r pid comm args; do
        [[ "$comm" =~ $FOREIGN_RE ]] || continue
        mine=0
        for p in "${PIDS[@]}"; do [[ "$p" == "$pid" ]] && mine=1; done
        # children of our `timeout` wrappers
        [[ $mine == 0 ]] && for p in "${PIDS[@]}"; do
            [[ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$p" ]] && mine=1
        done
        [[ $mine == 0 ]] && echo "$pid $comm ${args:0:100}"
    done < <(ps -eo pid=,comm=,args=)
}
QUIET_NOTES=()
INTERFERENCE=()
INTERFERENCE_RUN=()
wait_quiet() { # <label>: wait until, for QUIET_HOLD s, no foreign named process was seen (checked every 5 s)
    #             and other processes used at most FOREIGN_MAX_PCT % of one core (background sampler)
    local f c waited=$SECONDS quiet_since=$SECONDS QUIET_DEADLINE=$((SECONDS + QUIET_WAIT)) ph="hold-$SECONDS"
    echo "$ph" >"$WORK/phase"
    while :; do
        f="$(foreign)"
        c="$(foreign_cpu "$ph" | cut -d' ' -f1)"
        if [[ -n "$f" ]] || awk -v c="${c:-0}" -v t=$((SECONDS - quiet_since + 1)) -v m="$FOREIGN_MAX_PCT" \
            'BEGIN { exit !(100 * c / t > m) }'; then
            quiet_since=$SECONDS
            ph="hold-$SECONDS"
            echo "$ph" >"$WORK/phase"
        elif ((SECONDS - quiet_since >= QUIET_HOLD)); then
            break
        fi
        if ((SECONDS >= QUIET_DEADLINE)); then
            QUIET_NOTES+=("$1: machine NOT quiet for ${QUIET_HOLD} s within the ${QUIET_WAIT} s wait budget; last seen: $(echo "$f" | awk '{print $2"("$1")"}' | tr '\n' ' ')$(foreign_cpu "$ph" | cut -d' ' -f2)")
            log "not quiet, measuring anyway"
            echo idle >"$WORK/phase"
            return
        fi
        (((SECONDS - waited) % 60 < 5)) && log "waiting for a quiet machine: ${f:+$(echo "$f" | awk '{print $2"("$1")"}' | tr '\n' ' ')}$(foreign_cpu "$ph" | cut -d' ' -f2)"
        sleep 5
    done
    echo idle >"$WORK/phase"
    QUIET_NOTES+=("$1: quiet for ${QUIET_HOLD} s before start (waited $((SECONDS - waited)) s in total)")
}
note_interference() { # <impl> <phase>
    local f
    f="$(foreign)"
    [[ -n "$f" ]] && INTERFERENCE_RUN+=("$1/$2: $(echo "$f" | awk '{print $2"("$1")"}' | tr '\n' ' ')(loadavg $(cut -d' ' -f1 /proc/loadavg))")
    return 0
}

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
wait_line() { # <file> <text> <timeout s>
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# Start the start-up probe, wait until it is ready, then stamp the start time (no fork: EPOCHREALTIME).
# The caller launches the broker right after this returns.
start_probe() {
    local i
    rm -f "$WORK/t0" "$WORK/t0.ready" "$WORK/probe.out" "$L-broker.log"
    python3 "$WORK/probe.py" startup "$WORK/t0" "$L-broker.log" "$BROKER_PORT" "$NS_PORT" \
        "127.0.0.1:$BROKER_PORT" 180 >"$WORK/probe.out" 2>&1 &
    PROBE_PID=$!
    PIDS+=("$PROBE_PID")
    for ((i = 0; i < 1000; i++)); do [[ -e "$WORK/t0.ready" ]] && break; sleep 0.01; done
    echo "${EPOCHREALTIME/./}" >"$WORK/t0"
}
rss_kib() { ps -o rss= -p "$1" 2>/dev/null | tr -d ' '; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
mib() { [[ -n "${1:-}" ]] && awk -v v="$1" 'BEGIN{printf "%.0f", v / 1024}'; }

declare -A R   # R[impl.key] = value

parse_produce() { # <impl> <prefix> <log>
    local line
    line="$(grep -E '^produce .* msgs in' "$3" | tail -1)"
    [[ -n "$line" ]] || { log "$1 $2: no result line (see $3)"; return; }
    R[$1.$2_tps]="$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$line")"
    R[$1.$2_n]="$(sed -E 's/^[^:]*: ([0-9]+) msgs.*/\1/' <<<"$line")"
    for q in p50 p90 p99 p999 max; do
        R[$1.$2_$q]="$(sed -E "s/.* $q=([0-9]+).*/\1/" <<<"$line")"
    done
    R[$1.$2_err]="$(awk '/^errors:/ {print $2}' "$3" | tail -1)"
    log "$1 $2: $line; errors ${R[$1.$2_err]:-?}"
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
        [[ "$(python3 "$WORK/probe.py" route "$NS_PORT" "$t" 8 30)" == ok ]] || log "WARN: route of $t has no 8 write queues"
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

    # -- 4. backlog fill + drain
    run 1800 "$L-fill.log" "${LG[@]}" produce --namesrv "$NS" --topic BenchDrain \
        --concurrency "$CONCURRENCY" --size "$SIZE" --count "$BACKLOG" --duration 1800
    parse_produce "$IMPL" fill "$L-fill.log"
    run 700 "$L-consume.log" "${LG[@]}" consume --namesrv "$NS" --topic BenchDrain \
        --group "bench_cg_$(date +%s)" --duration 600
    local cl
    cl="$(grep -E '^consume: ' "$L-consume.log" | tail -1)"
    log "$IMPL consume: ${cl:-no result line}"
    if [[ -n "$cl" ]]; then
        R[$IMPL.cons_n]="$(sed -E 's/^consume: ([0-9]+) msgs.*/\1/' <<<"$cl")"
        R[$IMPL.cons_tps]="$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$cl")"
        R[$IMPL.cons_mib]="$(sed -E 's/.*, ([0-9.]+) MiB\/s.*/\1/' <<<"$cl")"
    fi
    note_interference "$IMPL" consume

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
    for ((ATTEMPT = 1; ATTEMPT <= ATTEMPTS; ATTEMPT++)); do
        INTERFERENCE_RUN=()
        bench "$impl"
        read -r fcpu ftop < <(foreign_cpu "$impl#$ATTEMPT")
        fcpu=${fcpu:-0}
        pct=$(awk -v c="$fcpu" -v t="${R[$impl.secs]}" 'BEGIN { printf "%.1f", (t > 0 ? 100 * c / t : 0) }')
        verdict="$impl attempt $ATTEMPT: other processes used ${fcpu} CPU-s in ${R[$impl.secs]} s (${pct} % of one core)${ftop:+; top: $ftop}"
        log "$verdict"
        if awk -v p="$pct" -v m="$FOREIGN_MAX_PCT" 'BEGIN { exit !(p <= m) }'; then
            QUIET_NOTES+=("$verdict — kept (≤ ${FOREIGN_MAX_PCT} %)")
            break
        elif ((ATTEMPT < ATTEMPTS)); then
            QUIET_NOTES+=("$verdict — discarded, repeated")
        else
            QUIET_NOTES+=("$verdict — **kept although disturbed** (no quiet attempt within $ATTEMPTS tries)")
        fi
    done
    INTERFERENCE+=("${INTERFERENCE_RUN[@]}")
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
    "Backlog fill ${BACKLOG} msgs, ${CONCURRENCY} in flight (msg/s)|fill_tps"
    "  send errors (rmq-loadgen)|fill_err"
    "Consume drain of the backlog (msg/s)|cons_tps"
    "  consume (MiB/s)|cons_mib"
    "  messages drained|cons_n"
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
TABLE="| Metric | Java 5.3.3 | Ours | Ours/Java |
|---|---:|---:|---:|"
for row in "${ROWS[@]}"; do
    label="${row%%|*}"; key="${row#*|}"
    j="${R[java.$key]:-}"; o="${R[ours.$key]:-}"
    TABLE+=$'\n'"| $label | ${j:-n/a} | ${o:-n/a} | $(ratio "$o" "$j") |"
done
echo
echo "$TABLE" | grep -v '^|---' | sed 's/^| //; s/ |$//' | column -t -s '|'
echo

TOTAL=$((SECONDS - T_START))
{
    echo "# Rust broker vs Apache RocketMQ 5.3.3 (Java) — side-by-side results"
    echo
    echo "Generated by \`benches/compare_java.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); total run time ${TOTAL} s."
    echo
    echo "## Machine and versions"
    echo
    echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); RAM: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r)"
    echo "- Java: $(java -version 2>&1 | head -1); Maven: $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
    echo "- Java side: rocketmq-namesrv / rocketmq-broker / rocketmq-tools / rocketmq-client 5.3.3 from Maven Central;"
    echo "  benchmark Producer compiled from rocketmq-all-5.3.3 source-release (rocketmq-example 5.3.3 is not on Central)."
    echo "- Java broker JVM: ${JCOMMON[*]:0:3} ${JBROKER_OPTS[*]}; name server -Xms512m -Xmx512m."
    echo "- Ours: $(cd "$ROOT" && grep -m1 '^version' Cargo.toml), release build; mode: $OURS_MODE ($([[ $OURS_MODE == split ]] && echo 'mqnamesrv + mqbroker' || echo 'rocketmq-standalone'))."
    echo "- Both: brokerIP1=127.0.0.1, ASYNC_MASTER, ASYNC_FLUSH, 1 GiB CommitLog files, fresh store $WORK/store,"
    echo "  name server :$NS_PORT, broker :$BROKER_PORT, run one after the other (Java first), no CPU pinning."
    echo
    echo "## Command"
    echo
    echo '```'
    echo "$ENVLINE $CMDLINE"
    echo '```'
    echo
    echo "## Results"
    echo
    echo "$TABLE"
    echo
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
    echo "## Machine quietness"
    echo
    for n in "${QUIET_NOTES[@]}"; do echo "- $n"; done
    if ((${#INTERFERENCE[@]})); then
        echo "- Named processes (java/mqbroker/mqnamesrv/rocketmq-standalone/rustc) seen at phase boundaries of the kept runs:"
        for n in "${INTERFERENCE[@]}"; do echo "  - $n"; done
    else
        echo "- No foreign java/mqbroker/mqnamesrv/rocketmq-standalone/rustc process seen at the phase boundaries of the kept runs."
    fi
    echo
    echo "Logs of this run: $WORK/logs/."
} >"$RESULTS"
log "wrote $RESULTS; total run time ${TOTAL} s"
