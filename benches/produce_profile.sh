#!/usr/bin/env bash
# Produce-path cost of our broker, independent of machine load: instructions per message (callgrind) and,
# optionally, a sampled call-graph profile (perf) and broker CPU per message at a fixed rate.
#
# Usage: benches/produce_profile.sh [callgrind|perf|cpu|tps|flush]...   (default: callgrind)
#
#   callgrind  mqbroker runs under `valgrind --tool=callgrind` with instrumentation off; after a warm-up
#              ($WARM messages, topic auto-created) instrumentation is switched on for a produce run of $COUNT
#              messages at $CONCURRENCY in flight ($SIZE B, SEND_MESSAGE_V2), then off again. Prints
#              "callgrind: <Ir> instructions for <n> msgs = <Ir/n> per message" and keeps the profile
#              ($WORK/callgrind.out) for callgrind_annotate. Load-independent: use it for before/after figures
#              on a busy machine.
#   perf       mqbroker runs natively; `perf record -e cpu-clock -g` samples it during a $DURATION s produce
#              run at $CONCURRENCY in flight (unthrottled, or at $PERF_RATE msg/s when set: PERF_RATE=20000
#              profiles the fixed-rate phase of compare_java.sh); writes $WORK/perf.data and $WORK/perf.txt
#              (perf report --no-children).
#   cpu        mqbroker runs natively; broker user+system CPU (/proc/PID/stat, all threads) over a fixed
#              $RATE msg/s produce run of $DURATION s, in µs per message, and its syscalls per message (perf
#              syscall tracepoints: futex, read, recvfrom, write, writev, sendto, epoll_wait, msync) and context
#              switches per message (software event `context-switches`, all broker threads; then per thread name,
#              voluntary + involuntary, from /proc/PID/task/*/status). Depends on load.
#   tps        mqbroker runs natively; an unthrottled produce run of $DURATION s at $CONCURRENCY in flight;
#              prints the load generator's line (msg/s and latency percentiles). Depends on load: run it
#              alternately with the other build (BIN=...) and keep LOADGEN the same for both.
#   flush      where a SYNC_FLUSH send's time goes: the broker runs with flushDiskType=SYNC_FLUSH (whatever FLUSH
#              says), an unthrottled produce run of $DURATION s at $CONCURRENCY in flight, and `perf trace -e msync`
#              on the group-commit thread (FlushCommitLogService) for its middle half. Prints the load generator's
#              line, then the msyncs: count per second, duration p50/p90/p99/mean, mean range, the share of the time the
#              thread spent in msync, the mean gap between two, and the wait a send that arrives at a random
#              moment should see from the flushes alone (the rest of the running msync plus one whole msync:
#              busy * E[d^2] / (2 E[d]) + E[d]). Depends on load and on the disk.
#
# Knobs: WORK (default /tmp/rmq-produce-profile), NS_PORT (29876), BROKER_PORT (29911), COUNT (20000), WARM (2000),
# CONCURRENCY (64), SIZE (1024), DURATION (10), RATE (20000), FLUSH (ASYNC_FLUSH or SYNC_FLUSH: the broker's
# flushDiskType; default ASYNC_FLUSH), COMMITLOG_BYTES (mappedFileSizeCommitLog, 268435456), BIN (target/release; build it first),
# LOADGEN (the rmq-loadgen binary; default $BIN/rmq-loadgen — point both builds' runs at one client), PERF_RATE (unset),
# TRACE_ALL (flush: set to trace the msyncs of every broker thread, not only the group commit's).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-/tmp/rmq-produce-profile}"
NS_PORT="${NS_PORT:-29876}"   # below the ephemeral port range, so no outgoing connection holds it
BROKER_PORT="${BROKER_PORT:-29911}"
COUNT="${COUNT:-20000}"
WARM="${WARM:-2000}"
CONCURRENCY="${CONCURRENCY:-64}"
SIZE="${SIZE:-1024}"
DURATION="${DURATION:-10}"
RATE="${RATE:-20000}"
FLUSH="${FLUSH:-ASYNC_FLUSH}"
COMMITLOG_BYTES="${COMMITLOG_BYTES:-268435456}"
[[ $FLUSH == ASYNC_FLUSH || $FLUSH == SYNC_FLUSH ]] || { echo "FLUSH must be ASYNC_FLUSH or SYNC_FLUSH" >&2; exit 2; }
BIN="${BIN:-$ROOT/target/release}"
LOADGEN="${LOADGEN:-$BIN/rmq-loadgen}"
PERF_RATE="${PERF_RATE:-}"
SKIP_BUILD=1
NS="127.0.0.1:$NS_PORT"
# shellcheck source=benches/lib.sh
source "$ROOT/benches/lib.sh"   # log/die, PIDS/stop_pid/run, wait_line, cpu_ticks, us_per
require_bins "$BIN" mqnamesrv mqbroker
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN"

mkdir -p "$WORK/logs"
LG=("$LOADGEN" produce --namesrv "$NS" --topic ProfTopic --concurrency "$CONCURRENCY" --size "$SIZE")
sent() { grep -E '^produce .* msgs in' "$1" | tail -1 | sed -E 's/^[^:]*: ([0-9]+) msgs.*/\1/'; }
# ctx_switches <pid>: "<thread name> <voluntary + involuntary switches>" per thread, summed by name.
ctx_switches() {
    local t name n
    for t in /proc/"$1"/task/*; do
        name=$(tr ' ' '_' <"$t/comm" 2>/dev/null) || continue
        n=$(awk '/ctxt_switches/ {s += $2} END {print s + 0}' "$t/status" 2>/dev/null)
        echo "$name $n"
    done | awk '{s[$1] += $2} END {for (k in s) print k, s[k]}'
}

# start_pair <mode>: a fresh store, our name server, then the broker (natively or under callgrind).
start_pair() {
    local mode=$1
    rm -rf "$WORK/store" "$WORK/home"
    mkdir -p "$WORK/store" "$WORK/home"
    echo "listenPort=$NS_PORT" >"$WORK/namesrv.conf"
    cat >"$WORK/broker.conf" <<EOF
brokerClusterName=ProfCluster
brokerName=prof-a
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=$NS
listenPort=$BROKER_PORT
storePathRootDir=$WORK/store
storePathCommitLog=$WORK/store/commitlog
brokerRole=ASYNC_MASTER
flushDiskType=$FLUSH
mappedFileSizeCommitLog=$COMMITLOG_BYTES
autoCreateTopicEnable=true
EOF
    HOME="$WORK/home" "$BIN/mqnamesrv" -c "$WORK/namesrv.conf" >"$WORK/logs/namesrv.log" 2>&1 &
    NS_PID=$!; PIDS+=("$NS_PID")
    wait_line "$WORK/logs/namesrv.log" "boot success" 60 "$NS_PID" || die "name server did not start"
    if [[ $mode == callgrind ]]; then
        rm -f "$WORK"/callgrind.out*
        HOME="$WORK/home" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
            "$BIN/mqbroker" -c "$WORK/broker.conf" >"$WORK/logs/broker.log" 2>&1 &
    else
        HOME="$WORK/home" "$BIN/mqbroker" -c "$WORK/broker.conf" >"$WORK/logs/broker.log" 2>&1 &
    fi
    BROKER_PID=$!; PIDS+=("$BROKER_PID")
    wait_line "$WORK/logs/broker.log" "boot success" 300 "$BROKER_PID" || die "broker did not start (see $WORK/logs/broker.log)"
    # The broker must be in the name server's route before the load generator asks for it.
    sleep 2
    run 600 "$WORK/logs/warm.log" "${LG[@]}" --count "$WARM" --duration 600 || die "warm-up failed (see $WORK/logs/warm.log)"
}

stop_pair() {
    stop_pid "$BROKER_PID" 120
    stop_pid "$NS_PID" 15
    PIDS=()
}

for mode in "${@:-callgrind}"; do
    case $mode in
    callgrind)
        command -v callgrind_control >/dev/null || die "valgrind (callgrind_control) missing"
        start_pair callgrind
        callgrind_control -i on "$BROKER_PID" >/dev/null || die "callgrind_control -i on failed"
        run 3600 "$WORK/logs/load.log" "${LG[@]}" --count "$COUNT" --duration 3600
        callgrind_control -i off "$BROKER_PID" >/dev/null
        n=$(sent "$WORK/logs/load.log")
        stop_pair
        ir=$(awk '/^totals:/ {s += $2} END {if (s) print s}' "$WORK"/callgrind.out* 2>/dev/null)
        [[ -n "$ir" && -n "$n" && "$n" -gt 0 ]] || die "no callgrind total or message count (see $WORK/logs)"
        echo "callgrind: $ir instructions for $n msgs = $((ir / n)) per message (profile: $WORK/callgrind.out)"
        ;;
    perf)
        start_pair native
        perf record -e cpu-clock -g -o "$WORK/perf.data" -p "$BROKER_PID" -- sleep "$DURATION" \
            >"$WORK/logs/perf.log" 2>&1 &
        ppid=$!
        rate_args=()
        [[ -n $PERF_RATE ]] && rate_args=(--rate "$PERF_RATE")
        run $((DURATION + 60)) "$WORK/logs/load.log" "${LG[@]}" --duration "$DURATION" "${rate_args[@]}"
        wait "$ppid"
        stop_pair
        perf report -i "$WORK/perf.data" --no-children --stdio --percent-limit 0.5 >"$WORK/perf.txt" 2>/dev/null
        echo "perf: $(sent "$WORK/logs/load.log") msgs; report $WORK/perf.txt"
        ;;
    cpu)
        start_pair native
        # Syscalls of the broker during the run (tracepoints; skipped where perf cannot read them).
        sc=syscalls:sys_enter_
        perf stat -x, -o "$WORK/syscalls.csv" -p "$BROKER_PID" \
            -e "${sc}futex,${sc}read,${sc}recvfrom,${sc}write,${sc}writev,${sc}sendto,${sc}epoll_wait,${sc}msync" \
            -e context-switches \
            -- sleep "$DURATION" >/dev/null 2>&1 &
        spid=$!
        ctx_switches "$BROKER_PID" >"$WORK/ctx0.txt"
        c0=$(cpu_ticks "$BROKER_PID")
        run $((DURATION + 60)) "$WORK/logs/load.log" "${LG[@]}" --duration "$DURATION" --rate "$RATE"
        c1=$(cpu_ticks "$BROKER_PID")
        ctx_switches "$BROKER_PID" >"$WORK/ctx1.txt"
        wait "$spid"
        n=$(sent "$WORK/logs/load.log")
        stop_pair
        echo "cpu: broker $(us_per $((c1 - c0)) "$n") us/msg over $n msgs at $RATE msg/s ($FLUSH)"
        [[ -s "$WORK/syscalls.csv" ]] && awk -F, -v n="$n" '($3 ~ /sys_enter_/ || $3 == "context-switches") && n > 0 {
            sub(/.*sys_enter_/, "", $3); printf "%s %.2f ", $3, $1 / n } END { print "per message (syscalls, context switches)" }' "$WORK/syscalls.csv"
        awk -v n="$n" 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > 0 && n > 0) printf "%s %.3f ", $1, d / n}
            END {print "per message (context switches by thread)"}' "$WORK/ctx0.txt" "$WORK/ctx1.txt"
        ;;
    tps)
        start_pair native
        run $((DURATION + 60)) "$WORK/logs/load.log" "${LG[@]}" --duration "$DURATION"
        stop_pair
        echo "tps: $(grep -E '^produce .* msgs in' "$WORK/logs/load.log" | tail -1)"
        ;;
    flush)
        FLUSH=SYNC_FLUSH start_pair native
        tid=$(grep -l '^FlushCommitLogS' /proc/"$BROKER_PID"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5)
        [[ -n $tid ]] || die "no FlushCommitLogService thread in the broker"
        run $((DURATION + 60)) "$WORK/logs/load.log" "${LG[@]}" --duration "$DURATION" &
        lpid=$!
        sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 4 }')"
        traced=$(awk -v d="$DURATION" 'BEGIN { print d / 2 }')
        timeout -s INT "$traced" perf trace -e msync ${TRACE_ALL:+-p "$BROKER_PID"} ${TRACE_ALL:--t "$tid"} -o "$WORK/msync.txt" >/dev/null 2>&1
        wait "$lpid"
        stop_pair
        echo "flush: $(grep -E '^produce .* msgs in' "$WORK/logs/load.log" | tail -1)"
        # perf trace lines: "<start ms> ( <duration> ms): <comm>/<tid> msync(start: .., len: N, flags: 4) = 0"
        python3 - "$WORK/msync.txt" "$traced" <<'PY'
import re, sys
rows = [(float(m.group(1)), float(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"^\s*([\d.]+) \(\s*([\d.]+) ms\).*?len: (\d+)", open(sys.argv[1]).read(), re.M)]
if len(rows) < 2:
    sys.exit(f"flush: {len(rows)} msyncs traced (perf trace missing or no SYNC_FLUSH load?)")
secs = float(sys.argv[2])
d = sorted(r[1] for r in rows)
pct = lambda q: d[min(len(d) - 1, int(q * len(d)))]
mean = sum(d) / len(d)
busy = sum(d) / (rows[-1][0] + rows[-1][1] - rows[0][0])
gap = sum(b[0] - (a[0] + a[1]) for a, b in zip(rows, rows[1:])) / (len(rows) - 1)
wait = busy * sum(x * x for x in d) / len(d) / (2 * mean) + mean
print(f"flush: {len(rows) / secs:.0f} msync/s over {secs:g} s, ms p50={pct(0.5):.3f} p90={pct(0.9):.3f} "
      f"p99={pct(0.99):.3f} mean={mean:.3f}, {sum(r[2] for r in rows) / len(rows) / 1024:.0f} KiB each; in msync {100 * busy:.0f} % of the time, mean gap {gap:.3f} ms; "
      f"a send's expected flush wait {wait:.3f} ms")
PY
        ;;
    *) die "unknown mode $mode (callgrind|perf|cpu|tps|flush)" ;;
    esac
done
