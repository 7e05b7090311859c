#!/usr/bin/env bash
# Master-slave replication (classic HA) benchmark. Three setups, one after the other, each with a fresh
# store and our name server (target/release/mqnamesrv):
#
#   ours-sync    our SYNC_MASTER  + our SLAVE           (target/release/mqbroker)
#   ours-async   our ASYNC_MASTER + our SLAVE
#   java-sync    Java 5.3.3 SYNC_MASTER (inSyncReplicas=2: Java 5.x does not wait for a slave at the
#                default of 1) + Java 5.3.3 SLAVE (slaveReadEnable=true)
#
# For every setup: start name server, master, slave; mqadmin updateTopic BenchTopic -r 8 -w 8; wait until
# the route has 8 write queues and the slave is registered; send single probes until the master answers
# SUCCESS (for a SYNC master this means a slave acknowledged) and the slave's CommitLog max offset equals
# the master's (the slave is attached and replicating); then rmq-loadgen: $WARMUP s warm-up, max-rate
# produce ($CONCURRENCY in flight, $SIZE B, $DURATION s), fixed $RATE msg/s for $DURATION s (latency from
# the scheduled send time). RSS of master and slave after the max-rate phase and at the end, slave lag
# right after the max-rate phase, catch-up time, and a byte-for-byte CommitLog comparison (rmqstore diff)
# after both brokers stopped. Writes benches/ha/RESULTS.md.
#
# Usage: benches/ha/run.sh        (knobs are environment variables, see below and benches/ha/README.md)
#
# Process bookkeeping, build/fetch, the Java JVM flags, the quiet-machine wait (with benches/sampler.py) and the
# report pieces are shared with benches/compare_java.sh through benches/lib.sh; ha.py builds on benches/probe.py.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/rmq-ha-bench}"           # stores, logs, Java classpath (not in the repo)
SETUPS="${SETUPS:-ours-sync ours-async java-sync}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-10}"
CONCURRENCY="${CONCURRENCY:-64}"
SIZE="${SIZE:-1024}"
RATE="${RATE:-4000}"
COMMITLOG_SIZE="${COMMITLOG_SIZE:-1073741824}"  # mappedFileSizeCommitLog, same for all setups
QUIET_WAIT="${QUIET_WAIT:-1200}"            # budget (s) for waiting for a quiet machine, per setup
QUIET_HOLD="${QUIET_HOLD:-30}"              # ... which must stay quiet this long before a setup starts
ATTEMPTS="${ATTEMPTS:-3}"                   # runs per setup when disturbed (see FOREIGN_MAX_PCT)
FOREIGN_MAX_PCT="${FOREIGN_MAX_PCT:-5}"     # max foreign CPU during a run, % of one core
STEAL_MAX_PCT="${STEAL_MAX_PCT:-5}"         # max hypervisor steal time during a run, % of one core
SKIP_BUILD="${SKIP_BUILD:-0}"
RESULTS="${RESULTS:-$HERE/RESULTS.md}"
CLUSTER=HaBench
BNAME=ha-bench
TOPIC=BenchTopic
BIN="$ROOT/target/release"
CMDLINE="$(printf '%q ' "$0" "$@")"
ENVLINE="SKIP_BUILD=$SKIP_BUILD SETUPS='$SETUPS' DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY SIZE=$SIZE RATE=$RATE COMMITLOG_SIZE=$COMMITLOG_SIZE QUIET_WAIT=$QUIET_WAIT QUIET_HOLD=$QUIET_HOLD ATTEMPTS=$ATTEMPTS FOREIGN_MAX_PCT=$FOREIGN_MAX_PCT STEAL_MAX_PCT=$STEAL_MAX_PCT WORK=$WORK"
HAPY="$HERE/ha.py"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"   # log/die, stop_pid/cleanup/run, fetch_java_jars, wait_quiet, run_attempts, ...

# ---------------------------------------------------------------- build / fetch
mkdir -p "$WORK/logs"
BUILD_REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)"
BUILD_DIRTY="$(cd "$ROOT" && git diff --stat HEAD -- src Cargo.toml Cargo.lock 2>/dev/null | tail -1)"
build_release
# Run copies, so a concurrent cargo build in the repository cannot swap a binary mid-run.
mkdir -p "$WORK/bin"
require_bins "$BIN" mqnamesrv mqbroker rmq-loadgen rmqstore
for b in mqnamesrv mqbroker rmq-loadgen rmqstore; do cp -f "$BIN/$b" "$WORK/bin/$b"; done
BIN_BUILT="$(stat -c %y "$BIN/mqbroker" | cut -d. -f1)"
BIN="$WORK/bin"
require_tools mvn java python3 unzip ss timeout

fetch_java_jars   # the Java 5.3.3 classpath (broker, tools for mqadmin)
JCP="$WORK/lib/*"
LOGCFG="$WORK/rmq.broker.logback.xml"
unzip -p "$WORK/lib/rocketmq-broker-5.3.3.jar" rmq.broker.logback.xml >"$LOGCFG" 2>/dev/null \
    || die "cannot extract rmq.broker.logback.xml from rocketmq-broker-5.3.3.jar"
# JCOMMON and JBROKER_OPTS (runbroker.sh's G1 options, 2 GiB heap, no AlwaysPreTouch) come from lib.sh.
jhome_flags() { # <home dir>: keeps Java logs and KV files out of ~
    echo "-Duser.home=$1" "-Drocketmq.home.dir=$1" "-Drocketmq.client.logRoot=$1/logs/client"
}

start_sampler   # foreign-CPU sampler for wait_quiet / run_attempts (lib.sh)

# ---------------------------------------------------------------- helpers
port_free() { [[ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]; }
USED=" "
pick_port() { # <offsets...>: P in 61000-64999 (above the ephemeral range) with every P+offset free
    local t p o ok
    for ((t = 0; t < 300; t++)); do
        p=$((61010 + RANDOM % 3980)); ok=1
        for o in "$@"; do
            if [[ "$USED" == *" $((p + o)) "* ]] || ! port_free $((p + o)); then ok=0; break; fi
        done
        if [[ $ok == 1 ]]; then for o in "$@"; do USED+="$((p + o)) "; done; echo "$p"; return 0; fi
    done
    return 1
}
cpu_ticks() { awk '{ s = $0; sub(/.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null; }
HZ=$(getconf CLK_TCK)

# start_broker <setup> <master|slave> <ours|java> <port> <conf lines...>; sets BPID[<role>]
declare -A BPID
start_broker() {
    local setup=$1 role=$2 kind=$3 port=$4 conf="$WORK/$2.conf" out="$WORK/logs/$1-$2.log" home="$WORK/home/$2"
    shift 4
    mkdir -p "$WORK/store/$role" "$home"
    {
        echo "brokerClusterName=$CLUSTER"
        echo "brokerName=$BNAME"
        echo "brokerIP1=127.0.0.1"
        echo "brokerIP2=127.0.0.1"
        echo "listenPort=$port"
        echo "namesrvAddr=$NS"
        echo "storePathRootDir=$WORK/store/$role"
        echo "storePathCommitLog=$WORK/store/$role/commitlog"
        echo "mappedFileSizeCommitLog=$COMMITLOG_SIZE"
        echo "flushDiskType=ASYNC_FLUSH"
        echo "autoCreateTopicEnable=true"
        echo "autoCreateSubscriptionGroup=true"
        printf '%s\n' "$@"
    } >"$conf"
    cp "$conf" "$WORK/logs/$setup-$role.conf"
    : >"$out"   # truncate here: the redirection below happens in the child, maybe after wait_line looks
    if [[ $kind == ours ]]; then
        HOME="$home" "$BIN/mqbroker" -c "$conf" >"$out" 2>&1 &
    else
        # shellcheck disable=SC2046
        ROCKETMQ_HOME="$home" java "${JCOMMON[@]}" $(jhome_flags "$home") "${JBROKER_OPTS[@]}" \
            -Drmq.logback.configurationFile="$LOGCFG" -cp "$JCP" \
            org.apache.rocketmq.broker.BrokerStartup -c "$conf" >"$out" 2>&1 &
    fi
    BPID[$role]=$!
    PIDS+=("${BPID[$role]}")
    wait_line "$out" "boot success" 120 "${BPID[$role]}" || { tail -20 "$out" >&2; return 1; }
    log "$setup: $role ($kind) up on 127.0.0.1:$port (pid ${BPID[$role]})"
}

mqadmin() { # <setup> <topic>
    local home="$WORK/home/mqadmin"
    mkdir -p "$home"
    # shellcheck disable=SC2046
    run 120 "$WORK/logs/$1-mqadmin-$2.log" env ROCKETMQ_HOME="$home" java "${JCOMMON[@]}" $(jhome_flags "$home") \
        -Xms256m -Xmx256m -cp "$JCP" \
        org.apache.rocketmq.tools.command.MQAdminStartup updateTopic -n "$NS" -c "$CLUSTER" -t "$2" -r 8 -w 8
}

# ---------------------------------------------------------------- one setup
setup_fail() { # <message>: records why the current setup failed and stops its processes
    log "FAILED $S: $*"
    R[$S.failed]="$*"
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 10; done
    PIDS=()
    echo idle >"$WORK/phase"
    R[$S.secs]=$((SECONDS - BENCH_T0))
    return 1
}
bench() { # ours-sync | ours-async | java-sync
    local kind mrole mextra=() sextra=() ns_pid L="$WORK/logs/$1" mo so lag_pid lag_max lag_n
    S=$1
    unset "R[$S.failed]"
    case $S in
        ours-sync) kind=ours; mrole=SYNC_MASTER ;;
        ours-async) kind=ours; mrole=ASYNC_MASTER ;;
        java-sync) kind=java; mrole=SYNC_MASTER; mextra=(inSyncReplicas=2); sextra=(slaveReadEnable=true) ;;
        *) die "unknown setup $S" ;;
    esac
    log "===== $S ====="
    wait_quiet "$S"
    echo "$S#$ATTEMPT" >"$WORK/phase"
    BENCH_T0=$SECONDS
    rm -rf "$WORK/store" "$WORK/home"
    mkdir -p "$WORK/store" "$WORK/home/ns"
    USED=" "
    NS_PORT="$(pick_port 0)" && MPORT="$(pick_port -2 0 1)" && SPORT="$(pick_port -2 0 1)" || { setup_fail "no free ports"; return 1; }
    NS="127.0.0.1:$NS_PORT"
    R[$S.ports]="ns $NS_PORT, master $MPORT (HA $((MPORT + 1))), slave $SPORT"
    R[$S.mconf]="brokerRole=$mrole${mextra[*]:+ ${mextra[*]}}"
    R[$S.sconf]="brokerRole=SLAVE brokerId=1${sextra[*]:+ ${sextra[*]}}"

    printf 'listenPort=%s\n' "$NS_PORT" >"$WORK/namesrv.conf"
    rm -f "$L"-*
    HOME="$WORK/home/ns" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$L-namesrv.log" 2>&1 &
    ns_pid=$!; PIDS+=("$ns_pid")
    wait_line "$L-namesrv.log" "boot success" 60 "$ns_pid" || { setup_fail "name server did not start (see $L-namesrv.log)"; return 1; }

    start_broker "$S" master "$kind" "$MPORT" brokerId=0 "brokerRole=$mrole" "${mextra[@]}" \
        || { setup_fail "master did not start (see $L-master.log)"; return 1; }
    R[$S.rss_boot_m]=$(rss_kib "${BPID[master]}")
    # Before the slave exists: a SYNC master must not answer SUCCESS (Java 5.3.3: 12 after slaveTimeout;
    # ours: 11 at once). An ASYNC master answers 0.
    R[$S.noslave]="$(timeout 30 python3 "$HAPY" send1 "$MPORT" HaBenchNoSlave)"
    log "$S: one send before the slave started: ${R[$S.noslave]}"
    start_broker "$S" slave "$kind" "$SPORT" brokerId=1 brokerRole=SLAVE "${sextra[@]}" \
        || { setup_fail "slave did not start (see $L-slave.log)"; return 1; }

    local out i
    out="$(timeout 150 python3 "$HAPY" registered "$NS_PORT" 120 "127.0.0.1:$MPORT" "127.0.0.1:$SPORT")" \
        || { setup_fail "master and slave not both registered in the name server"; return 1; }
    log "$S: master and slave registered in the name server (${out#ok } s after the slave's boot)"
    for ((i = 1; i <= 3; i++)); do
        mqadmin "$S" "$TOPIC" || log "WARN: updateTopic $TOPIC failed (see $WORK/logs/$S-mqadmin-$TOPIC.log)"
        out="$(timeout 60 python3 "$HAPY" route "$NS_PORT" "$TOPIC" 8 30)" && break
    done
    [[ $out == ok* ]] || { setup_fail "route not ready: $out"; return 1; }
    log "$S: route $out"

    # The slave is attached: a probe is answered SUCCESS (SYNC: acknowledged by the slave) and the
    # slave's CommitLog has everything the master has.
    out="$(timeout 200 python3 "$HAPY" probe "$MPORT" "$TOPIC" 180)" || { setup_fail "no probe answered SUCCESS: $out"; return 1; }
    R[$S.probe]="$out"
    log "$S: probe $out"
    out="$(timeout 100 python3 "$HAPY" catchup "$MPORT" "$SPORT" 90)" || { setup_fail "slave does not replicate: $out"; return 1; }
    log "$S: slave caught up before load: $out"
    if [[ $kind == ours ]]; then
        R[$S.attach]="$(grep -c 'HA connection accepted' "$L-master.log") × \"HA connection accepted\" in the master's log"
    else
        R[$S.attach]="$(cat "$WORK/home/master/logs/rocketmqlogs/"*.log 2>/dev/null | grep -c 'HAService receive new connection') × \"HAService receive new connection\" in the master's logs"
    fi
    log "$S: ${R[$S.attach]}"

    local LG=("$BIN/rmq-loadgen" produce --namesrv "$NS" --topic "$TOPIC" --concurrency "$CONCURRENCY" --size "$SIZE")
    # -- warm-up (not reported)
    if ((WARMUP > 0)); then
        run $((WARMUP + 60)) "$L-warmup.log" "${LG[@]}" --duration "$WARMUP"
        parse_produce "$S" warm "$L-warmup.log"
    fi
    note_interference "$S" produce
    # -- max-rate produce
    local cm0 cs0 t0
    rm -f "$WORK/lag.txt"
    timeout $((DURATION + 30)) python3 "$HAPY" lagmon "$MPORT" "$SPORT" "$WORK/lag.txt" $((DURATION + 20)) &
    lag_pid=$!; PIDS+=("$lag_pid")
    cm0=$(cpu_ticks "${BPID[master]}"); cs0=$(cpu_ticks "${BPID[slave]}"); t0=$EPOCHREALTIME
    run $((DURATION + 120)) "$L-produce.log" "${LG[@]}" --duration "$DURATION"
    stop_pid "$lag_pid" 2
    read -r lag_max lag_n _ <"$WORK/lag.txt" 2>/dev/null
    R[$S.lag_max]=$(awk -v m="${lag_max:-}" 'BEGIN { if (m ~ /^[0-9]+$/) printf "%.1f", m / 1048576 }')
    R[$S.lag_n]=${lag_n:-0}
    R[$S.cpu_m]=$(awk -v a="$cm0" -v b="$(cpu_ticks "${BPID[master]}")" -v hz="$HZ" -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
    R[$S.cpu_s]=$(awk -v a="$cs0" -v b="$(cpu_ticks "${BPID[slave]}")" -v hz="$HZ" -v t0="$t0" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')
    read -r mo so _ < <(python3 "$HAPY" offsets "$MPORT" "$SPORT")
    R[$S.lag]=$(awk -v m="$mo" -v s="$so" 'BEGIN { if (m ~ /^[0-9]+$/ && s ~ /^[0-9]+$/) printf "%.1f", (m - s) / 1048576; }')
    parse_produce "$S" prod "$L-produce.log"
    note_interference "$S" produce
    R[$S.rss_prod_m]=$(rss_kib "${BPID[master]}"); R[$S.rss_prod_s]=$(rss_kib "${BPID[slave]}")

    # -- fixed rate latency
    run $((DURATION + 120)) "$L-rate.log" "${LG[@]}" --duration "$DURATION" --rate "$RATE"
    parse_produce "$S" rate "$L-rate.log"
    note_interference "$S" rate

    # -- end: RSS, catch-up, stop, CommitLog comparison
    for r in master slave; do
        R[$S.rss_end_${r:0:1}]=$(rss_kib "${BPID[$r]}")
        R[$S.hwm_${r:0:1}]=$(status_kib "${BPID[$r]}" VmHWM)
        R[$S.anon_${r:0:1}]=$(status_kib "${BPID[$r]}" RssAnon)
        kill -0 "${BPID[$r]}" 2>/dev/null || log "WARN: $S $r died during the run (see $L-$r.log)"
    done
    out="$(timeout 200 python3 "$HAPY" catchup "$MPORT" "$SPORT" 180)"
    R[$S.catchup]="$out"
    log "$S: slave catch-up after the load: $out"
    read -r mo so _ < <(python3 "$HAPY" offsets "$MPORT" "$SPORT")
    R[$S.written_mib]=$(awk -v m="$mo" 'BEGIN { if (m ~ /^[0-9]+$/) printf "%.0f", m / 1048576 }')
    R[$S.secs]=$((SECONDS - BENCH_T0))
    sleep 1   # let the sampler take a last look at this phase
    echo idle >"$WORK/phase"
    stop_pid "${BPID[slave]}" 30
    stop_pid "${BPID[master]}" 30
    stop_pid "$ns_pid" 15
    PIDS=()
    log "$S: stopped"
    out="$(timeout 600 "$BIN/rmqstore" diff "$WORK/store/master" "$WORK/store/slave" 2>&1)"
    R[$S.diff]="$out"
    log "$S: rmqstore diff: $out"
    grep -E 'ERROR|panicked' "$L-master.log" "$L-slave.log" | head -5 >&2
    log "sync + remove the stores"
    timeout 600 sync
    rm -rf "$WORK/store"
}

# A setup's run is repeated (up to ATTEMPTS times) when it failed or other processes used more than
# FOREIGN_MAX_PCT % of one core on average during it; the last attempt is reported either way.
for S in $SETUPS; do
    run_attempts bench "$S"
done

# ---------------------------------------------------------------- report
for S in $SETUPS; do
    for k in rss_boot_m rss_prod_m rss_prod_s rss_end_m rss_end_s hwm_m hwm_s anon_m anon_s; do
        R[$S.${k}_mib]="$(mib "${R[$S.$k]:-}")"
    done
    R[$S.prod_errs]="${R[$S.prod_err]:-?}${R[$S.prod_first]:+ (first: ${R[$S.prod_first]})}"
    R[$S.rate_errs]="${R[$S.rate_err]:-?}${R[$S.rate_first]:+ (first: ${R[$S.rate_first]})}"
done
ROWS=(
    "Max-rate produce, ${CONCURRENCY} in flight, ${SIZE} B, ${DURATION} s: TPS (msg/s)|prod_tps"
    "  SEND_OK (code 0) responses|prod_n"
    "  errors: any other code or transport error|prod_errs"
    "  latency p50 (us)|prod_p50"
    "  latency p99 (us)|prod_p99"
    "  latency p999 (us)|prod_p999"
    "  master CPU during the phase (% of one core)|cpu_m"
    "  slave CPU during the phase (% of one core)|cpu_s"
    "  slave behind the master: largest of 1-s samples during the phase (MiB)|lag_max"
    "  slave behind the master right after the phase (MiB)|lag"
    "Fixed ${RATE} msg/s, ${DURATION} s: achieved (msg/s)|rate_tps"
    "  SEND_OK (code 0) responses|rate_n"
    "  errors: any other code or transport error|rate_errs"
    "  latency p50 (us)|rate_p50"
    "  latency p99 (us)|rate_p99"
    "  latency p999 (us)|rate_p999"
    "  latency max (us)|rate_max"
    "Master RSS after boot (MiB)|rss_boot_m_mib"
    "Master RSS after max-rate phase (MiB)|rss_prod_m_mib"
    "Master RSS at end (MiB)|rss_end_m_mib"
    "  master peak VmHWM / RssAnon at end (MiB)|hwm_anon_m"
    "Slave RSS after max-rate phase (MiB)|rss_prod_s_mib"
    "Slave RSS at end (MiB)|rss_end_s_mib"
    "  slave peak VmHWM / RssAnon at end (MiB)|hwm_anon_s"
    "CommitLog written in the whole run (MiB, master's commitLogMaxOffset)|written_mib"
)
for S in $SETUPS; do
    R[$S.hwm_anon_m]="${R[$S.hwm_m_mib]:-?} / ${R[$S.anon_m_mib]:-?}"
    R[$S.hwm_anon_s]="${R[$S.hwm_s_mib]:-?} / ${R[$S.anon_s_mib]:-?}"
done
declare -A TITLE=([ours-sync]="Ours SYNC_MASTER + SLAVE" [ours-async]="Ours ASYNC_MASTER + SLAVE" [java-sync]="Java 5.3.3 SYNC_MASTER (inSyncReplicas=2) + SLAVE")
TABLE="| Metric |"; SEP="|---|"
for S in $SETUPS; do TABLE+=" ${TITLE[$S]} |"; SEP+="---:|"; done
TABLE+=$'\n'"$SEP"
for row in "${ROWS[@]}"; do
    label="${row%%|*}"; key="${row#*|}"
    TABLE+=$'\n'"| $label |"
    for S in $SETUPS; do TABLE+=" ${R[$S.$key]:-n/a} |"; done
done
R_SA="$(ratio "${R[ours-sync.prod_tps]:-}" "${R[ours-async.prod_tps]:-}")"
R_SJ="$(ratio "${R[ours-sync.prod_tps]:-}" "${R[java-sync.prod_tps]:-}")"
R_P99_SJ="$(ratio "${R[ours-sync.rate_p99]:-}" "${R[java-sync.rate_p99]:-}")"
R_P99M_SJ="$(ratio "${R[ours-sync.prod_p99]:-}" "${R[java-sync.prod_p99]:-}")"
verdict() { awk -v r="$1" -v g="$2" -v strict="$3" 'BEGIN { if (r == "n/a") print "n/a"; else if ((strict && r > g) || (!strict && r >= g)) print "met"; else print "**NOT met**" }'; }

print_table "$TABLE"
echo "ours SYNC / ours ASYNC TPS = $R_SA (goal >= 0.5); ours SYNC / Java SYNC TPS = $R_SJ (goal > 1)"

TOTAL=$((SECONDS - T_START))
{
    echo "# Master–slave replication (classic HA): ours vs Apache RocketMQ 5.3.3"
    echo
    echo "Generated by \`benches/ha/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); total run time ${TOTAL} s."
    echo
    echo "## Headline"
    echo
    echo "| Ratio | Value | Goal |"
    echo "|---|---:|---|"
    echo "| Ours SYNC TPS / ours ASYNC TPS (max rate) | $R_SA | ≥ 0.5: $(verdict "$R_SA" 0.5 0) |"
    echo "| Ours SYNC TPS / Java SYNC TPS (max rate) | $R_SJ | > 1: $(verdict "$R_SJ" 1 1) |"
    echo "| Ours SYNC p99 / Java SYNC p99 at max rate (lower is better) | $R_P99M_SJ | |"
    echo "| Ours SYNC p99 / Java SYNC p99 at fixed ${RATE} msg/s (lower is better) | $R_P99_SJ | |"
    echo
    echo "## Machine and versions"
    echo
    machine_line
    echo "- Store disk: $(df -h "$WORK" | awk 'NR == 2 {print $1 " (" $2 ")"}'), stores under $WORK/store (master and slave on the same disk)."
    echo "- Ours: $(cd "$ROOT" && grep -m1 '^version' Cargo.toml), release build of the working tree at commit $BUILD_REV$([[ -n "$BUILD_DIRTY" ]] && echo " plus uncommitted changes to src/ ($BUILD_DIRTY)"),"
    echo "  target/release binaries dated $BIN_BUILT$([[ "$SKIP_BUILD" == 1 ]] && echo ' (SKIP_BUILD=1: not rebuilt by this run)'), copied to $BIN for the run."
    echo "- Java: $(java -version 2>&1 | head -1); rocketmq-broker / rocketmq-tools 5.3.3 from Maven Central (benches/java/pom.xml)."
    echo "  JVM: ${JCOMMON[*]} ${JBROKER_OPTS[*]} (as benches/compare_java.sh), one JVM per broker."
    echo "- Name server: ours (\`mqnamesrv\`) for all three setups."
    echo "- All brokers: brokerIP1=brokerIP2=127.0.0.1, flushDiskType=ASYNC_FLUSH, mappedFileSizeCommitLog=$COMMITLOG_SIZE,"
    echo "  one cluster \`$CLUSTER\`, brokerName \`$BNAME\`; the slave learns the master's HA address (listenPort+1) from the name server."
    for S in $SETUPS; do
        echo "- $S: master ${R[$S.mconf]:-}; slave ${R[$S.sconf]:-}; ports ${R[$S.ports]:-}."
    done
    echo
    command_and_results
    echo "## Was the slave attached, and did it get everything?"
    echo
    for S in $SETUPS; do
        [[ -n "${R[$S.failed]:-}" ]] && echo "- **$S FAILED**: ${R[$S.failed]} (logs in $WORK/logs/)."
        echo "- **$S**: one send (topic HaBenchNoSlave) before the slave was started: \`${R[$S.noslave]:-n/a}\`."
        echo "  Slave started, before the load: probe ${R[$S.probe]:-n/a}; ${R[$S.attach]:-n/a}."
        echo "  After the load, slave caught up with the master: \`${R[$S.catchup]:-n/a}\` (seconds, offset)."
        echo "  Both stopped, \`rmqstore diff master slave\`: \`${R[$S.diff]:-n/a}\`."
    done
    echo
    echo "## Method and caveats"
    echo
    echo "- Load: \`rmq-loadgen produce\` (benches/loadgen), same parameters for every setup: a ${WARMUP} s warm-up at"
    echo "  ${CONCURRENCY} in flight (not reported), then ${DURATION} s at ${CONCURRENCY} in flight with ${SIZE} B bodies, then ${DURATION} s at a fixed"
    echo "  ${RATE} msg/s (${CONCURRENCY} workers; latency measured from each message's scheduled send time, so a stall counts"
    echo "  for every message it delays). 8-queue topic \`$TOPIC\` made with Java \`mqadmin updateTopic -c $CLUSTER -r 8 -w 8\`."
    echo "  Every request carries WAIT=true, so a SYNC master answers only after the slave acknowledged (or timed out)."
    echo "- Response codes: rmq-loadgen counts **only code 0 (SEND_OK)** as a success; TPS and latency are computed over"
    echo "  those. Every other code — FLUSH_SLAVE_TIMEOUT (12), SLAVE_NOT_AVAILABLE (11), SYSTEM_BUSY (2), … — and every"
    echo "  transport error or 10 s timeout is one \`errors\` count. It does **not** break errors down per code; it prints"
    echo "  the first error's code and remark, shown in the table as \"first: …\"."
    echo "- Java 5.3.3 SYNC_MASTER with inSyncReplicas=2: \`CommitLog.handleHA\` waits for a slave ack (GroupCommitRequest,"
    echo "  needAckNums=2) and answers FLUSH_SLAVE_TIMEOUT after slaveTimeout (3 s) when none comes; with the default"
    echo "  inSyncReplicas=1 it would answer at once. Ours waits for one slave ack at any inSyncReplicas ≤ 2 and answers"
    echo "  SLAVE_NOT_AVAILABLE when no slave is attached (or is > haMaxGapNotInSync behind), FLUSH_SLAVE_TIMEOUT after 3 s."
    echo "- \"Slave behind\" is the master's commitLogMaxOffset minus the slave's (GET_BROKER_RUNTIME_INFO, one call to"
    echo "  each, one after the other), sampled once a second during the max-rate phase and once right after it. For a"
    echo "  SYNC pair it is bounded by what is in flight; for an ASYNC pair it shows how far the slave trails."
    echo "- CPU: utime+stime of the broker process over the max-rate phase. Everything (two brokers, name server,"
    echo "  load generator) shares the $(nproc) cores; no CPU pinning."
    echo "- RSS is \`ps -o rss\`; it includes touched pages of the memory-mapped CommitLog. RssAnon excludes them"
    echo "  (for Java it is mostly the heap, -Xms2g)."
    echo "- Interference: a /proc sampler charges every process outside this script's tree (kernel threads excluded)"
    echo "  with the CPU it used during each setup; a setup where that exceeded ${FOREIGN_MAX_PCT} % of one core is repeated"
    echo "  (up to ${ATTEMPTS} runs)."
    echo
    quietness_section
} >"$RESULTS"
log "wrote $RESULTS; total run time ${TOTAL} s"
