# Shell helpers shared by the benchmark drivers benches/compare_java.sh and benches/ha/run.sh; both `source` it.
# It provides:
#   log, die                         timestamped progress lines on stderr (T_START is set when this file is sourced)
#   PIDS, stop_pid, cleanup, run     process bookkeeping: every process is started and stopped by PID; the EXIT trap
#                                    (installed here) stops what is still running, including the sampler
#   build_release, require_bins,     cargo build --release --bins (unless SKIP_BUILD=1), binary and tool checks
#   require_tools
#   fetch_java_jars                  the Java 5.3.3 jars of benches/java/pom.xml (and optionally the source release)
#   JCOMMON, JBROKER_OPTS            the Java JVM flags (runbroker.sh's G1 options, 2 GiB heap, no AlwaysPreTouch)
#   start_sampler, foreign_cpu,      quiet machine: the foreign-CPU sampler (benches/sampler.py), foreign named
#   foreign, wait_quiet,             processes, waiting for a quiet window before a run, interference notes, and
#   note_interference, run_attempts  repeating a disturbed run up to ATTEMPTS times
#   wait_line, rss_kib, status_kib,  waits and measurements; R[<impl or setup>.<key>] holds the figures
#   mib, parse_produce, cpu_ticks, us_per   (RSS, loadgen result lines, CPU per message)
#   ratio, goal_verdict, print_table, report pieces common to both RESULTS.md files
#   machine_line, command_and_results,
#   quietness_section
#
# The caller sets ROOT (repository root) and WORK before sourcing, and the knobs the functions read when called:
# SKIP_BUILD, QUIET_WAIT, QUIET_HOLD, FOREIGN_MAX_PCT, ATTEMPTS.

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T_START=$SECONDS

log() { printf '[%s +%4ds] %s\n' "$(date +%H:%M:%S)" "$((SECONDS - T_START))" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# ---------------------------------------------------------------- process bookkeeping / cleanup
PIDS=()
stop_pid() { # <pid> [grace seconds]
    local pid=$1 grace=${2:-15} i
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
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
# Directories removed at exit, after the processes stopped (stores of many GB: a run stopped by a
# signal must not leave them to fill the disk).
REMOVE_AT_EXIT=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
    PIDS=()
    [[ -n "$SAMPLER_PID" ]] && stop_pid "$SAMPLER_PID" 2
    ((${#REMOVE_AT_EXIT[@]})) && rm -rf "${REMOVE_AT_EXIT[@]}"
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
build_release() { # cargo build --release --bins, log in $WORK/logs/cargo.log; skipped with SKIP_BUILD=1
    [[ "$SKIP_BUILD" != 1 ]] || return 0
    log "cargo build --release --bins"
    (cd "$ROOT" && timeout 3600 cargo build --release --bins >"$WORK/logs/cargo.log" 2>&1) \
        || { tail -20 "$WORK/logs/cargo.log" >&2; die "cargo build failed"; }
}
require_bins() { # <dir> <name>...: every binary must be there
    local dir=$1 b
    shift
    for b in "$@"; do
        [[ -x "$dir/$b" ]] || die "$dir/$b missing (cargo build --release --bins)"
    done
}
require_tools() { # <tool>...
    local t
    for t in "$@"; do command -v "$t" >/dev/null || die "'$t' not on PATH"; done
}

# The Java 5.3.3 classpath (namesrv, broker, tools, client from benches/java/pom.xml) in $WORK/lib, fetched again
# when the pom changes. With "sources", also org.apache.rocketmq:rocketmq-all:5.3.3:zip:source-release into $WORK/src
# (rocketmq-example 5.3.3, with the official benchmark Producer, is not on Maven Central).
fetch_java_jars() { # [sources]
    local pom="$ROOT/benches/java/pom.xml" stamp
    stamp="$(sha256sum "$pom" | cut -d' ' -f1)"
    [[ ! -f "$WORK/lib/.stamp" || "$(cat "$WORK/lib/.stamp")" != "$stamp" ]] || return 0
    log "fetching the Java 5.3.3 classpath with Maven"
    rm -rf "$WORK/lib"
    [[ ${1:-} == sources ]] && rm -rf "$WORK/src" "$WORK/classes"
    mkdir -p "$WORK/lib"
    timeout 900 mvn -B -Dstyle.color=never -f "$pom" -Dmaven.wagon.http.retryHandler.count=3 \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$WORK/lib" \
        >"$WORK/logs/mvn.log" 2>&1 || { tail -30 "$WORK/logs/mvn.log" >&2; die "maven failed"; }
    if [[ ${1:-} == sources ]]; then
        mkdir -p "$WORK/src"
        timeout 900 mvn -B -Dstyle.color=never -f "$pom" \
            dependency:copy -Dartifact=org.apache.rocketmq:rocketmq-all:5.3.3:zip:source-release \
            -DoutputDirectory="$WORK/src" >>"$WORK/logs/mvn.log" 2>&1 \
            || { tail -30 "$WORK/logs/mvn.log" >&2; die "maven (source-release) failed"; }
    fi
    echo "$stamp" >"$WORK/lib/.stamp"
}
# JVM flags of every Java process (callers add their own user.home / log flags), and the broker's:
# runbroker.sh's G1 options, with a 2 GiB heap instead of 8 GiB and no AlwaysPreTouch.
JCOMMON=(-server -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow)
JBROKER_OPTS=(-Xms2g -Xmx2g -XX:MaxDirectMemorySize=2g -XX:G1HeapRegionSize=16m -XX:G1ReservePercent=25
              -XX:InitiatingHeapOccupancyPercent=30 -XX:SoftRefLRUPolicyMSPerMB=0)

# ---------------------------------------------------------------- quiet machine
# Background sampler: CPU time used by processes that are not descendants of this script, per phase
# (the phase name is read from $WORK/phase). Catches load from other users of the machine by any name.
start_sampler() {
    echo idle >"$WORK/phase"
    rm -f "$WORK/foreign.txt"
    python3 "$LIB_DIR/sampler.py" $$ "$WORK/phase" "$WORK/foreign.txt" >"$WORK/logs/sampler.log" 2>&1 &
    SAMPLER_PID=$!
}
foreign_cpu() { awk -v p="$1" '$1 == p {print $2, $3}' "$WORK/foreign.txt" 2>/dev/null; }
# Hypervisor steal time (CPU-s) during a phase: the VM's CPUs were runnable while the host ran something else.
# No process inside the VM shows it, yet it slows every figure (an echo server run that reaches 65k msg/s
# instead of 94k on the same build). Idle CPUs accrue none, so only a run can measure it, not the quiet wait.
steal_cpu() { awk -v p="steal@$1" '$1 == p {print $2}' "$WORK/foreign.txt" 2>/dev/null; }

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
note_interference() { # <impl or setup> <phase>
    local f
    f="$(foreign)"
    [[ -n "$f" ]] && INTERFERENCE_RUN+=("$1/$2: $(echo "$f" | awk '{print $2"("$1")"}' | tr '\n' ' ')(loadavg $(cut -d' ' -f1 /proc/loadavg))")
    return 0
}

# run_attempts <bench function> <label>: runs `<bench function> <label>` (global ATTEMPT = 1, 2, ...) and repeats it,
# up to ATTEMPTS runs, while other processes used more than FOREIGN_MAX_PCT % of one core on average during it, or
# the hypervisor stole more than STEAL_MAX_PCT % of one core (sampler phase "<label>#<ATTEMPT>", run length
# R[<label>.secs]); the last attempt is reported either way.
# A run that returns non-zero (reason in R[<label>.failed]) is noted as FAILED and repeated.
run_attempts() {
    local fn=$1 label=$2 fcpu ftop pct verdict steal spct
    for ((ATTEMPT = 1; ATTEMPT <= ATTEMPTS; ATTEMPT++)); do
        INTERFERENCE_RUN=()
        BENCH_T0=$SECONDS
        if ! "$fn" "$label"; then
            QUIET_NOTES+=("$label attempt $ATTEMPT FAILED: ${R[$label.failed]:-?}$( ((ATTEMPT < ATTEMPTS)) && echo ' — repeated')")
            continue
        fi
        read -r fcpu ftop < <(foreign_cpu "$label#$ATTEMPT")
        fcpu=${fcpu:-0}
        pct=$(awk -v c="$fcpu" -v t="${R[$label.secs]}" 'BEGIN { printf "%.1f", (t > 0 ? 100 * c / t : 0) }')
        steal=$(steal_cpu "$label#$ATTEMPT")
        steal=${steal:-0}
        spct=$(awk -v c="$steal" -v t="${R[$label.secs]}" 'BEGIN { printf "%.1f", (t > 0 ? 100 * c / t : 0) }')
        verdict="$label attempt $ATTEMPT: other processes used ${fcpu} CPU-s in ${R[$label.secs]} s (${pct} % of one core)${ftop:+; top: $ftop}; hypervisor steal ${steal} CPU-s (${spct} %)"
        log "$verdict"
        if awk -v p="$pct" -v m="$FOREIGN_MAX_PCT" -v s="$spct" -v sm="$STEAL_MAX_PCT" 'BEGIN { exit !(p <= m && s <= sm) }'; then
            QUIET_NOTES+=("$verdict — kept (≤ ${FOREIGN_MAX_PCT} % foreign, ≤ ${STEAL_MAX_PCT} % steal)")
            break
        elif ((ATTEMPT < ATTEMPTS)); then
            QUIET_NOTES+=("$verdict — discarded, repeated")
        else
            QUIET_NOTES+=("$verdict — **kept although disturbed** (no quiet attempt within $ATTEMPTS tries)")
        fi
    done
    INTERFERENCE+=("${INTERFERENCE_RUN[@]}")
}

# ---------------------------------------------------------------- waits and measurements
wait_line() { # <file> <text> <timeout s> [pid that must stay alive]
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        [[ -n "${4:-}" ]] && ! kill -0 "$4" 2>/dev/null && return 1
        sleep 0.1
    done
    return 1
}
rss_kib() { ps -o rss= -p "$1" 2>/dev/null | tr -d ' '; }
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
# cpu_ticks <pid>: user + system clock ticks the process has used (fields 14 + 15 of /proc/PID/stat).
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
CLK_TCK="$(getconf CLK_TCK 2>/dev/null || echo 100)"
# us_per <ticks> <count>: microseconds of CPU per item.
us_per() { awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (t == "" || n == "" || n + 0 == 0) print ""; else printf "%.1f", t * 1e6 / hz / n }'; }
mib() { [[ -n "${1:-}" ]] && awk -v v="$1" 'BEGIN{printf "%.0f", v / 1024}'; }

declare -A R   # R[<impl or setup>.<key>] = value

# parse_produce <impl or setup> <prefix> <rmq-loadgen log> [result line pattern, default '^produce .* msgs in']:
# R[<impl>.<prefix>_{tps,n,p50,p90,p99,p999,max,err,first}] from a "<label>: N msgs in S s = T msg/s; ... p50=..."
# line (produce, e2e, visible and route modes print it; so does benches/java/E2eConsumer.java).
parse_produce() {
    local line first
    line="$(grep -E "${4:-^produce .* msgs in}" "$3" | tail -1)"
    [[ -n "$line" ]] || { log "$1 $2: no result line (see $3)"; return; }
    R[$1.$2_tps]="$(sed -E 's/.*= ([0-9]+) msg\/s.*/\1/' <<<"$line")"
    R[$1.$2_n]="$(sed -E 's/^[^:]*: ([0-9]+) msgs.*/\1/' <<<"$line")"
    for q in p50 p90 p99 p999 max; do
        R[$1.$2_$q]="$(sed -E "s/.* $q=([0-9]+).*/\1/" <<<"$line")"
    done
    R[$1.$2_err]="$(awk '/^errors:/ {print $2}' "$3" | tail -1)"
    first="$(grep -m1 '^first error:' "$3" | sed 's/^first error: //')"
    R[$1.$2_first]="$first"
    log "$1 $2: $line; errors ${R[$1.$2_err]:-?}${first:+ (first: $first)}"
}

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
# goal_verdict <spec> <ours> <ours/java ratio>: "<goal>: met" / "not met" / "no figure". <spec> is
# "ratio>=2.0", "ratio<=0.5" (on Ours/Java) or "ours>=0.6", "ours<=10000" (on the Ours figure); empty: no goal.
goal_verdict() {
    [[ -n "$1" ]] || return 0
    local what=${1%%[<>]=*} op limit v text
    op=${1#"$what"}; limit=${op:2}; op=${op:0:2}
    if [[ $what == ratio ]]; then v=$3; text="Ours/Java ${op/>=/≥}"; else v=$2; text="Ours ${op/>=/≥}"; fi
    text="${text/<=/≤} $limit"
    if [[ -z "$v" || $v == n/a ]]; then
        echo "$text: no figure"
    elif awk -v v="$v" -v l="$limit" -v op="$op" 'BEGIN { exit !(op == ">=" ? v + 0 >= l + 0 : v + 0 <= l + 0) }'; then
        echo "$text: met"
    else
        echo "$text: **not met**"
    fi
}
print_table() { # <markdown table>: prints it as aligned columns on stdout
    echo
    echo "$1" | grep -v '^|---' | sed 's/^| //; s/ |$//' | column -t -s '|'
    echo
}
machine_line() {
    echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); RAM: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r)"
}
command_and_results() { # RESULTS.md's "## Command" ($ENVLINE $CMDLINE) and "## Results" ($TABLE) sections
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
}
quietness_section() { # the end of RESULTS.md: quiet-machine notes, interference seen, where the logs are
    local n
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
}
