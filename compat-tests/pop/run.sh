#!/usr/bin/env bash
# POP consumption over remoting with the official Java 5.3.3 client and mqadmin 5.3.3.
#
#   pop.set-consume-mode     mqadmin setConsumeMode -m POP -q 8 succeeds and lands in
#                            config/messageRequestMode.json
#   pop.push.10k-once        two DefaultMQPushConsumers (setClientRebalance(false)) in one group pop
#                            10,000 messages: every one consumed, none twice after settling
#   pop.push.reconsume-later RECONSUME_LATER on every 10th key: the client changes the invisible time
#                            to 10 s, the revive service puts the message in %RETRY%<group>_<topic>,
#                            and it comes back once with reconsumeTimes 1
#   pop.raw.ack-change-revive  MQClientAPIImpl pop/ack/changeInvisibleTime: un-acked messages come
#                            back after their 4 s, acked ones never, the changed one after its 20 s
#   pop.raw.orderly          orderly pop (MQClientAPIImpl, order=true): queue order, the queue blocked
#                            for other attempts until acked, the un-acked message back after 3 s
#                            with reconsumeTimes 1
#   pop.consumer-kill9       a consumer killed with kill -9 mid-way: what it popped and never acked
#                            comes back to the other consumer after the invisible time (8 s)
#   pop.broker-kill9         kill -9 of the broker in the middle of producing and popping: every
#                            SEND_OK message is consumed after the restart (duplicates counted)
#
# Environment: POP_COUNT (10000), POP_SCENARIOS (comma list of id prefixes), POP_KEEP_WORK,
#              POP_BROKER (rust; "java" runs the same scenarios against the Java 5.3.3 broker, to
#              check what they expect), RMQRS_BIN_DIR (target/debug).
# Last line: "pop-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=pop
COMPAT_SCENARIOS="${POP_SCENARIOS:-}"
COMPAT_KEEP_WORK="${POP_KEEP_WORK:-0}"
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"
COUNT="${POP_COUNT:-10000}"

build_all
start_namesrv || { echo "pop-compat: 0 passed, 1 failed"; exit 1; }
KIND_B1="${POP_BROKER:-rust}"
start_broker b1 "$KIND_B1" "brokerName=pop-b1" || { echo "pop-compat: 0 passed, 1 failed"; exit 1; }
ADDR="127.0.0.1:${BROKER_PORT[b1]}"

JAVA_CLIENT=(java -Xms64m -Xmx384m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1
    -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs"
    -cp "$CLIENT_CP")
jrun() { # <log> <class> <args...>: a Java client program
    local out="$1" cls="$2"; shift 2
    timeout -k 10 900 java -Xms64m -Xmx384m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$CLIENT_CP:$LAUNCH_CP" WakeJoin "$cls" "$@" >"$out" 2>&1
}
produce() { jrun "$WORK/produce-$1.out" HaScenarios produce "$NS" "$1" "$2" "$WORK/acks-$1.txt"; }
# make_topic <topic> <group>: the topic (8 queues) and the group's POP mode.
make_topic() {
    local t
    for ((t = 0; t < 30; t++)); do # a Java broker may not be in the cluster list yet
        mqadmin "$WORK/mk-$1.out" updateTopic -c DefaultCluster -t "$1" -r 8 -w 8 \
            && grep -q "success" "$WORK/mk-$1.out" && break
        sleep 1
    done
    mqadmin "$WORK/mode-$1.out" setConsumeMode -c DefaultCluster -t "$1" -g "$2" -m POP -q 8 || return 1
    grep -q "success" "$WORK/mode-$1.out"
}
# consumer <name> <topic> <group> <laterEvery> [invisibleMs] [sleepMs]: a POP push consumer in the
# background.
consumer() {
    local n="$1" t="$2" g="$3" later="$4" inv="${5:-60000}" slow="${6:-0}"
    rm -f "$WORK/stop-$n"
    # exec: the recorded pid is the JVM's own, so kill -9 hits the consumer itself.
    (exec "${JAVA_CLIENT[@]}" PopScenarios consume "$NS" "$t" "$g" "$WORK/got-$n.txt" "$WORK/stop-$n" "$later" "$inv" "$slow" \
        >"$WORK/consumer-$n.out" 2>&1) &
    PID[c_$n]=$!
}
stop_consumer() { touch "$WORK/stop-$1"; wait "${PID[c_$1]}" 2>/dev/null; unset "PID[c_$1]"; }
# missing <ackFile> <gotFiles...>: how many acked keys were never delivered.
missing() {
    local acks="$1"; shift
    cat "$@" 2>/dev/null | cut -d' ' -f1 | sort -u >"$WORK/seen.txt"
    sort -u "$acks" | comm -23 - "$WORK/seen.txt" | wc -l
}
dups() { cat "$@" 2>/dev/null | cut -d' ' -f1 | sort | uniq -d | wc -l; }
# wait_all <seconds> <ackFile> <gotFiles...>: until every acked key was delivered.
wait_all() {
    local secs="$1" t; shift
    for ((t = 0; t < secs; t++)); do [[ $(missing "$@") == 0 ]] && return 0; sleep 1; done
    return 1
}

if wanted pop.set-consume-mode; then
    if make_topic PopT1 PopG1 && tr -d ' \t\n' <"$(store_of b1)/config/messageRequestMode.json" \
        | grep -q '"PopT1":{"PopG1":{"consumerGroup":"PopG1","mode":"POP","popShareQueueNum":8'; then
        report pop.set-consume-mode PASS "$(grep -m1 success "$WORK/mode-PopT1.out")"
    else
        report pop.set-consume-mode FAIL "setConsumeMode or messageRequestMode.json" "$WORK/mode-PopT1.out"
    fi
fi

if wanted pop.push.10k-once; then
    make_topic PopT1 PopG1 >/dev/null 2>&1
    consumer a PopT1 PopG1 0
    consumer b PopT1 PopG1 0
    produce PopT1 "$COUNT"
    acked=$(wc -l <"$WORK/acks-PopT1.txt")
    wait_all 300 "$WORK/acks-PopT1.txt" "$WORK/got-a.txt" "$WORK/got-b.txt"
    sleep 15 # settle: a duplicate would show up now
    stop_consumer a; stop_consumer b
    m=$(missing "$WORK/acks-PopT1.txt" "$WORK/got-a.txt" "$WORK/got-b.txt")
    d=$(dups "$WORK/got-a.txt" "$WORK/got-b.txt")
    na=$(wc -l <"$WORK/got-a.txt"); nb=$(wc -l <"$WORK/got-b.txt")
    if [[ $acked == "$COUNT" && $m == 0 && $d == 0 && $na -gt 0 && $nb -gt 0 ]]; then
        report pop.push.10k-once PASS "acked=$acked consumerA=$na consumerB=$nb duplicates=0"
    else
        report pop.push.10k-once FAIL "acked=$acked missing=$m duplicates=$d A=$na B=$nb" \
            "$WORK/consumer-a.out" "$WORK/b1.out"
    fi
fi

if wanted pop.push.reconsume-later; then
    make_topic PopT2 PopG2 >/dev/null 2>&1
    produce PopT2 200
    consumer l PopT2 PopG2 10
    # 20 keys come back after 10 s (+ the revive margin); each must appear exactly twice.
    ok=0
    for ((t = 0; t < 90; t++)); do
        twice=$(cut -d' ' -f1 "$WORK/got-l.txt" 2>/dev/null | sort | uniq -c | awk '$1==2' | wc -l)
        [[ $twice -ge 20 && $(missing "$WORK/acks-PopT2.txt" "$WORK/got-l.txt") == 0 ]] && { ok=1; break; }
        sleep 1
    done
    sleep 12
    stop_consumer l
    twice=$(cut -d' ' -f1 "$WORK/got-l.txt" | sort | uniq -c | awk '$1==2' | wc -l)
    more=$(cut -d' ' -f1 "$WORK/got-l.txt" | sort | uniq -c | awk '$1>2' | wc -l)
    retried=$(awk '$2==1' "$WORK/got-l.txt" | wc -l)
    wrong=$(awk '$2==1 {sub("k","",$1); if ($1 % 10 != 0) print}' "$WORK/got-l.txt" | wc -l)
    if [[ $ok == 1 && $twice == 20 && $more == 0 && $retried == 20 && $wrong == 0 ]]; then
        report pop.push.reconsume-later PASS "200 keys, 20 RECONSUME_LATER came back once each with reconsumeTimes=1"
    else
        report pop.push.reconsume-later FAIL "twice=$twice more=$more retried=$retried wrong=$wrong" \
            "$WORK/consumer-l.out"
    fi
fi

if wanted pop.raw.ack-change-revive; then
    mqadmin "$WORK/mk-PopT3.out" updateTopic -c DefaultCluster -t PopT3 -r 4 -w 4
    produce PopT3 20
    jrun "$WORK/raw.out" PopScenarios raw "$NS" "$ADDR" pop-b1 PopT3 PopG3 20
    line="$(grep '^RESULT' "$WORK/raw.out" | tail -1)"
    if [[ "$line" == "RESULT raw PASS"* ]]; then
        report pop.raw.ack-change-revive PASS "${line#RESULT raw PASS }"
    else
        report pop.raw.ack-change-revive FAIL "${line:-no RESULT}" "$WORK/raw.out"
    fi
fi

if wanted pop.raw.orderly; then
    mqadmin "$WORK/mk-PopT6.out" updateTopic -c DefaultCluster -t PopT6 -r 1 -w 1
    produce PopT6 10
    jrun "$WORK/order.out" PopScenarios order "$NS" "$ADDR" pop-b1 PopT6 PopG6 10
    line="$(grep '^RESULT' "$WORK/order.out" | tail -1)"
    if [[ "$line" == "RESULT order PASS"* ]]; then
        report pop.raw.orderly PASS "${line#RESULT order PASS }"
    else
        report pop.raw.orderly FAIL "${line:-no RESULT}" "$WORK/order.out"
    fi
fi

if wanted pop.consumer-kill9; then
    make_topic PopT5 PopG5 >/dev/null 2>&1
    produce PopT5 2000
    consumer k PopT5 PopG5 0 8000 40 # slow: popped messages wait un-acked in the client
    for ((t = 0; t < 240; t++)); do [[ $(cat "$WORK/got-k.txt" 2>/dev/null | wc -l) -ge 200 ]] && break; sleep 0.5; done
    kill -KILL "${PID[c_k]}" 2>/dev/null; wait "${PID[c_k]}" 2>/dev/null; unset 'PID[c_k]'
    before=$(cat "$WORK/got-k.txt" 2>/dev/null | wc -l)
    log "consumer k killed (-9) after $before deliveries"
    consumer r PopT5 PopG5 0
    wait_all 120 "$WORK/acks-PopT5.txt" "$WORK/got-k.txt" "$WORK/got-r.txt"
    stop_consumer r
    m=$(missing "$WORK/acks-PopT5.txt" "$WORK/got-k.txt" "$WORK/got-r.txt")
    d=$(dups "$WORK/got-k.txt" "$WORK/got-r.txt")
    back=$(awk '$2>=1' "$WORK/got-r.txt" | wc -l)
    if [[ $m == 0 && $back -gt 0 ]]; then
        report pop.consumer-kill9 PASS "killed after $before deliveries; all 2000 consumed, $back came back from revive, duplicates=$d"
    else
        report pop.consumer-kill9 FAIL "missing=$m revived=$back duplicates=$d" "$WORK/consumer-r.out"
    fi
fi

if wanted pop.broker-kill9; then
    make_topic PopT4 PopG4 >/dev/null 2>&1
    consumer x PopT4 PopG4 0
    jrun "$WORK/produce-PopT4.out" HaScenarios produce "$NS" PopT4 6000 "$WORK/acks-PopT4.txt" "$WORK/stop-produce" &
    PID[prod]=$!
    for ((t = 0; t < 240; t++)); do [[ $(cat "$WORK/acks-PopT4.txt" 2>/dev/null | wc -l) -ge 2500 ]] && break; sleep 0.5; done
    stop_broker b1 KILL
    log "broker killed (-9) after $(wc -l <"$WORK/acks-PopT4.txt") acked sends"
    sleep 2
    start_broker b1 "$KIND_B1" "brokerName=pop-b1"
    wait "${PID[prod]}" 2>/dev/null; unset 'PID[prod]'
    acked=$(wc -l <"$WORK/acks-PopT4.txt")
    wait_all 240 "$WORK/acks-PopT4.txt" "$WORK/got-x.txt"
    stop_consumer x
    m=$(missing "$WORK/acks-PopT4.txt" "$WORK/got-x.txt")
    d=$(dups "$WORK/got-x.txt")
    if [[ $m == 0 && $acked -gt 2500 ]]; then
        report pop.broker-kill9 PASS "acked=$acked all consumed after kill -9 + restart, duplicates=$d"
    else
        report pop.broker-kill9 FAIL "acked=$acked missing=$m duplicates=$d" "$WORK/consumer-x.out" "$WORK/b1.out"
    fi
fi

finish
