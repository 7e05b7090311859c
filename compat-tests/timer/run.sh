#!/usr/bin/env bash
# Timer messages (5.x TIMER_DELIVER_MS) with the official Java clients and a Java 5.3.3 broker.
#
#   ours.on-time-restarts   a 5.3.3 producer (setDeliverTimeMs) sends messages due in 3 s and 60 s,
#                           a 4.9.8 producer one due in 5 s (the TIMER_DELIVER_MS property); the
#                           broker is restarted right after (TERM) and kill -9'd at ~25 s; a push
#                           consumer gets each message, stored no earlier than due and within one
#                           precision step (1 s) plus 500 ms of it
#   ours.recall             a 5.3.3 producer recalls one of two timer messages with its send
#                           result's recall handle (recallMessageEnable=true): only the other one
#                           is ever consumed
#   store.rust-to-java      a message due in 20 s is in our timer wheel when our broker stops; a
#                           Java 5.3.3 broker started on the same store delivers it on time
#   store.java-to-rust      the other way round: Java's pending timer message, our broker delivers
#
# Environment: COMPAT_SCENARIOS (comma list of id prefixes), RMQRS_BIN_DIR (target/debug).
# Last line: "timer-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=timer
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"

build_all

java_timer() { # <classpath> <log> <args...>
    local cp="$1" out="$2"; shift 2
    timeout -k 10 300 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$cp:$LAUNCH_CP" WakeJoin TimerScenarios "$@" >"$out" 2>&1
}

# on_time [--up-ms T] <produced files...> -- <consumed file>: every produced key was consumed, its
# first copy stored no earlier than due and at most 1,500 ms after due, or after T (ms since the
# epoch: when the delivering broker was up) for a message that fell due while no broker ran.
# Prints a summary; exit 1 otherwise.
on_time() {
    python3 - "$@" <<'PY'
import sys
args = sys.argv[1:]
up = 0
if args[:1] == ["--up-ms"]:
    up = int(args[1])
    args = args[2:]
sep = args.index("--")
due = {}
for f in args[:sep]:
    for line in open(f):
        k, d = line.split()
        due[k] = int(d)
first = {}
copies = {}
for line in open(args[sep + 1]):
    k, store, recv = line.split()
    copies[k] = copies.get(k, 0) + 1
    if k not in first:
        first[k] = (int(store), int(recv))
bad = []
parts = []
for k, d in sorted(due.items(), key=lambda kv: kv[1]):
    if k not in first:
        bad.append(f"{k} never arrived")
        continue
    store, recv = first[k]
    parts.append(f"{k}: stored {store - d:+d} ms, received {recv - d:+d} ms")
    if up > d:
        parts.append(f"{k} fell due {up - d} ms before the broker was up")
    if store < d or store > max(d, up) + 1500:
        bad.append(f"{k} stored {store - d:+d} ms from due")
dups = sum(c - 1 for c in copies.values())
print("; ".join(parts) + f"; duplicates {dups}" + ("; BAD: " + ", ".join(bad) if bad else ""))
sys.exit(1 if bad or not due else 0)
PY
}

# ---------------------------------------------------------------- our broker, restarts
ours_on_time() {
    local b=tb topic=TimerOnTime id=ours.on-time-restarts
    start_broker $b rust brokerClusterName=TimerC brokerName=timer-b || { report $id FAIL "broker did not start" "$WORK/$b.out"; return; }
    java_timer "$CLIENT_CP" "$WORK/warm.out" produce "$NS" "$topic" "$WORK/warm.txt" 0
    java_timer "$CLIENT_CP" "$WORK/tc.out" consume "$NS" "$topic" timer_g1 "$WORK/t-consumed.txt" 4 150 &
    local cpid=$!
    java_timer "$CLIENT_CP" "$WORK/p5.out" produce "$NS" "$topic" "$WORK/t-p5.txt" 3000,60000
    java_timer "$CLIENT4_CP" "$WORK/p4.out" produce "$NS" "$topic" "$WORK/t-p4.txt" 5000
    log "sent; restarting the broker (TERM)"
    stop_broker $b
    start_broker $b rust brokerClusterName=TimerC brokerName=timer-b || { report $id FAIL "broker did not restart" "$WORK/$b.out"; return; }
    sleep 20
    log "kill -9 of the broker before the 60 s message is due"
    stop_broker $b KILL
    start_broker $b rust brokerClusterName=TimerC brokerName=timer-b || { report $id FAIL "broker did not restart after kill -9" "$WORK/$b.out"; return; }
    wait $cpid
    local detail
    if detail=$(on_time "$WORK/t-p5.txt" "$WORK/t-p4.txt" -- "$WORK/t-consumed.txt"); then
        report $id PASS "$detail ($(grep -o 'api=[a-zA-Z]*' "$WORK/p5.out") 5.3.3, $(grep -o 'api=[a-zA-Z]*' "$WORK/p4.out") 4.9.8)"
    else
        report $id FAIL "$detail" "$WORK/tc.out" "$WORK/p5.out" "$WORK/p4.out" "$WORK/$b.out"
    fi
    stop_broker $b
}

# ---------------------------------------------------------------- recall (5.3)
ours_recall() {
    local b=tr topic=TimerRecall id=ours.recall
    start_broker $b rust brokerClusterName=TimerC brokerName=timer-r recallMessageEnable=true || { report $id FAIL "broker did not start" "$WORK/$b.out"; return; }
    java_timer "$CLIENT_CP" "$WORK/rc-p.out" recall "$NS" "$topic" "$WORK/rc-p.txt" 4000
    java_timer "$CLIENT_CP" "$WORK/rc-c.out" consume "$NS" "$topic" timer_rc "$WORK/rc-c.txt" 2 15
    local detail
    if grep -q '^RESULT recalled=' "$WORK/rc-p.out" && ! grep -q '^recalled ' "$WORK/rc-c.txt" \
        && detail=$(on_time "$WORK/rc-p.txt" -- "$WORK/rc-c.txt"); then
        report $id PASS "recalled $(grep -o 'recalled=.*' "$WORK/rc-p.out"), never consumed; $detail"
    else
        report $id FAIL "${detail:-} consumed: $(cut -d' ' -f1 "$WORK/rc-c.txt" 2>/dev/null | tr '\n' ' ')" "$WORK/rc-p.out" "$WORK/rc-c.out" "$WORK/$b.out"
    fi
    stop_broker $b
}

# ---------------------------------------------------------------- a store moved between brokers
# moved <id> <first kind> <second kind> <topic>: a message due in 20 s is sent to the first
# broker, which stops once it is in the wheel; the second broker, on the same store, delivers it.
moved() {
    local id="$1" k1="$2" k2="$3" topic="$4" b="mv-$2"
    start_broker "$b" "$k1" brokerClusterName=TimerC "brokerName=timer-$k1" || { report "$id" FAIL "$k1 broker did not start" "$WORK/$b.out"; return; }
    # A freshly booted Java broker may not have its routes at the name server yet: create the
    # topic on the broker, then retry the send until the route is there.
    mqadmin "$WORK/$b-ut.out" updateTopic -b "127.0.0.1:${BROKER_PORT[$b]}" -t "$topic"
    local try
    for ((try = 0; try < 15; try++)); do
        java_timer "$CLIENT_CP" "$WORK/$b-p.out" produce "$NS" "$topic" "$WORK/$b-p.txt" 20000
        grep -q 'RESULT ok=1' "$WORK/$b-p.out" && break
        sleep 2
    done
    sleep 4 # linked into the wheel and checkpointed (both flush every second)
    stop_broker "$b"
    start_broker "$b" "$k2" brokerClusterName=TimerC "brokerName=timer-$k1" || { report "$id" FAIL "$k2 broker did not start on the $k1 store" "$WORK/$b.out"; return; }
    # On a loaded machine the first broker's stop and the second's start can outlast the 20 s:
    # a message already due is then judged from the moment the second broker was up.
    local up_ms; up_ms=$(date +%s%3N)
    java_timer "$CLIENT_CP" "$WORK/$b-c.out" consume "$NS" "$topic" "timer_$b" "$WORK/$b-c.txt" 1 60
    local detail
    if detail=$(on_time --up-ms "$up_ms" "$WORK/$b-p.txt" -- "$WORK/$b-c.txt"); then
        report "$id" PASS "$k2 broker delivered the $k1 broker's pending timer message: $detail"
    else
        report "$id" FAIL "$detail" "$WORK/$b-c.out" "$WORK/$b-p.out" "$WORK/$b.out"
    fi
    stop_broker "$b"
}

# Two lanes, each with its own name server: our broker's scenarios mostly wait for due times (a
# minute in all), the store moves mostly boot Java brokers; side by side they take the longer one's time.
ours_lane() {
    own_namesrv
    if wanted ours.on-time; then ours_on_time; fi
    if wanted ours.recall; then ours_recall; fi
}
moved_lane() {
    own_namesrv
    if wanted store.rust-to-java; then moved store.rust-to-java rust java TimerToJava; fi
    if wanted store.java-to-rust; then moved store.java-to-rust java rust TimerToRust; fi
}
run_lanes ours_lane moved_lane
finish
