#!/usr/bin/env bash
# Light Message Queues (RIP-28) with the official Java clients 5.3.3 and 4.9.8, against our broker
# and, for comparison, the Java 5.3.3 broker (both with enableLmq=true enableMultiDispatch=true).
#
# For each broker kind K (rust, java):
#   K.produce            N messages to a parent topic with INNER_MULTI_DISPATCH=%LMQ%lmqa,%LMQ%lmqb:
#                        the first half by client 5.3.3, then kill -9 and restart, the second half by
#                        client 4.9.8; all SEND_OK
#   K.consume.a.5.3.3    DefaultMQPullConsumer pulls MessageQueue(%LMQ%lmqa, broker, 0): every
#                        acknowledged message, LMQ offsets 0..N-1 in order (INNER_MULTI_QUEUE_OFFSET
#                        agrees with the pull offset), UPDATE/QUERY_CONSUMER_OFFSET round trip
#   K.consume.b.4.9.8    the same on %LMQ%lmqb with client 4.9.8 and an LMQ group (%LMQ%grp)
#   K.push.5.3.3         a DefaultMQPushConsumer reads %LMQ%lmqa whole, the way Java's
#                        example/lmq/LMQPushConsumer does (LMQ route and subscribe info filled by hand)
#   K.longpoll           a pull held at the LMQ's end is answered when a message arrives (~3 s)
#   K.lmq-offsets-file   after a clean stop, config/lmqConsumerOffset.json holds the LMQ group's
#                        offset in lmqOffsetTable
#   K.badname            a '/' in INNER_MULTI_DISPATCH: no ConsumeQueue directory escapes
#   K.poison-dispatch    INNER_MULTI_DISPATCH=plain,%LMQ%pq: Java 5.3.3 stores INNER_MULTI_QUEUE_OFFSET=",0"
#                        and its dispatcher stalls on it for ever (recorded); ours skips the entry and
#                        a later message is readable (required)
#   K.kill9-under-load   kill -9 while a 5.3.3 producer sends LOAD messages to two other LMQs, restart:
#                        each LMQ holds every acknowledged message, offsets dense from 0
# Then:
#   compare.stored-properties   for every message, the stored properties keys (in stored order) and
#                        INNER_MULTI_QUEUE_OFFSET are the same in our store and in Java's
#   compare.consume      the LMQ consume listings (offset, key) are identical
#   cross.java-store-on-rust    our broker opened on a copy of Java's store serves both LMQs whole,
#                        continues their offsets, and answers the consumer offsets Java kept
#                        (ordinary and LMQ group) from its lmqConsumerOffset.json
#   cross.rust-store-on-java    the Java 5.3.3 broker opened on a copy of our store does the same
#
# Environment: LMQ_COMPAT_COUNT (400), LMQ_LOAD_COUNT (3000), LMQ_SCENARIOS (comma list of prefixes), LMQ_KEEP_WORK=1.
# Last line: "lmq-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=lmq
COMPAT_SCENARIOS="${LMQ_SCENARIOS:-}"
COMPAT_KEEP_WORK="${LMQ_KEEP_WORK:-0}"
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"
N="${LMQ_COMPAT_COUNT:-400}"
LOAD="${LMQ_LOAD_COUNT:-3000}"
HALF=$((N / 2))
LMQS='%LMQ%lmqa,%LMQ%lmqb'
# The disk of a shared CI machine may be over 90 % used; neither broker may refuse writes or delete
# unexpired files for that during the run (Java and we apply the same ratios).
LMQ_CONF=(enableLmq=true enableMultiDispatch=true diskSpaceWarningLevelRatio=99 diskSpaceCleanForciblyRatio=98
    diskMaxUsedSpaceRatio=97 cleanFileForciblyEnable=false)

build_all

client() { # <5|4> <log> <args...>
    local v="$1" out="$2" cp
    shift 2
    if [[ "$v" == 5 ]]; then cp="$CLIENT_CP"; else cp="$CLIENT4_CP"; fi
    timeout -k 10 300 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$cp:$LAUNCH_CP" WakeJoin LmqScenarios "$@" >"$out" 2>&1
}
result() { grep '^RESULT' "$1" | tail -1 | cut -d' ' -f3-; }
passed() { grep -q '^RESULT [a-z]* PASS' "$1"; }

# until_routed <topic> <broker>: one probe send, retried until the auto-created parent topic routes.
until_routed() {
    local t
    for ((t = 0; t < 20; t++)); do
        client 5 "$WORK/$2-probe.out" plain "$NS" "$1" && return 0
        sleep 1
    done
    return 1
}

scenario() { # <kind>
    local k="$1" b="lmq_$1" topic="LmqParent_$1"
    local bname="lmq-$1"
    start_broker "$b" "$k" brokerClusterName=LmqCompat "brokerName=$bname" "${LMQ_CONF[@]}" || {
        report "$k.produce" FAIL "broker did not start" "$WORK/$b.out"; return 1; }
    until_routed "$topic" "$b"
    : >"$WORK/$k.acks"
    client 5 "$WORK/$k.produce1.out" produce "$NS" "$topic" "$LMQS" 0 "$HALF" "$WORK/$k.acks"
    stop_broker "$b" KILL
    start_broker "$b" "$k" brokerClusterName=LmqCompat "brokerName=$bname" "${LMQ_CONF[@]}" || {
        report "$k.produce" FAIL "broker did not restart after kill -9" "$WORK/$b.out"; return 1; }
    # The name server dropped the killed broker; wait until the restarted one routes the topic again.
    until_routed "$topic" "$b"
    client 4 "$WORK/$k.produce2.out" produce "$NS" "$topic" "$LMQS" "$HALF" "$((N - HALF))" "$WORK/$k.acks"
    local acked; acked=$(wc -l <"$WORK/$k.acks")
    if passed "$WORK/$k.produce1.out" && passed "$WORK/$k.produce2.out" && [[ "$acked" == "$N" ]]; then
        report "$k.produce" PASS "$acked/$N SEND_OK (5.3.3 then kill -9 + restart then 4.9.8)"
    else
        report "$k.produce" FAIL "acked=$acked/$N" "$WORK/$k.produce1.out" "$WORK/$k.produce2.out"
    fi
    # Consume each LMQ; every acknowledged key present, offsets 0..N-1.
    local q v g
    for q in a b; do
        if [[ $q == a ]]; then v=5; g=CID_LMQ_PULL; else v=4; g='%LMQ%grp'; fi
        local vv; vv=$([[ $v == 5 ]] && echo 5.3.3 || echo 4.9.8)
        client "$v" "$WORK/$k.consume.$q.out" consume "$NS" "$topic" "$bname" "%LMQ%lmq$q" "$g" "$WORK/$k.list.$q"
        local missing
        missing=$(comm -23 <(sort "$WORK/$k.acks") <(awk '{print $2}' "$WORK/$k.list.$q" | sort) | wc -l)
        if passed "$WORK/$k.consume.$q.out" && [[ "$missing" == 0 ]] && grep -q "min=0 max=$N " "$WORK/$k.consume.$q.out"; then
            report "$k.consume.$q.$vv" PASS "$(result "$WORK/$k.consume.$q.out") missing=0"
        else
            report "$k.consume.$q.$vv" FAIL "$(result "$WORK/$k.consume.$q.out") missing=$missing" "$WORK/$k.consume.$q.out"
        fi
    done
    # The push way of Java's example/lmq/LMQPushConsumer (5.3.3 only): route filled by hand.
    timeout -k 10 120 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$CLIENT_CP:$LAUNCH_CP" WakeJoin LmqPushScenario "$NS" "$topic" LmqCompat "$bname" "127.0.0.1:${BROKER_PORT[$b]}" \
        '%LMQ%lmqa' CID_LMQ_PUSH "$N" >"$WORK/$k.push.out" 2>&1
    if passed "$WORK/$k.push.out"; then
        report "$k.push.5.3.3" PASS "$(result "$WORK/$k.push.out")"
    else
        report "$k.push.5.3.3" FAIL "$(result "$WORK/$k.push.out")" "$WORK/$k.push.out"
    fi
    client 5 "$WORK/$k.longpoll.out" longpoll "$NS" "$topic" "$bname" '%LMQ%lmqa' "$LMQS"
    if passed "$WORK/$k.longpoll.out"; then
        report "$k.longpoll" PASS "$(result "$WORK/$k.longpoll.out")"
    else
        report "$k.longpoll" FAIL "$(result "$WORK/$k.longpoll.out")" "$WORK/$k.longpoll.out"
    fi
    client 4 "$WORK/$k.badname.out" badname "$NS" "$topic"
    # kill -9 while a producer is busy, on two other LMQs.
    : >"$WORK/$k.load.acks"
    client 5 "$WORK/$k.load.out" produce "$NS" "$topic" '%LMQ%loada,%LMQ%loadb' 0 "$LOAD" "$WORK/$k.load.acks" LL &
    local lp=$! t
    for ((t = 0; t < 100; t++)); do [[ $(wc -l <"$WORK/$k.load.acks") -ge $((LOAD / 5)) ]] && break; sleep 0.1; done
    local at_kill; at_kill=$(wc -l <"$WORK/$k.load.acks")
    stop_broker "$b" KILL
    start_broker "$b" "$k" brokerClusterName=LmqCompat "brokerName=$bname" "${LMQ_CONF[@]}" || {
        report "$k.kill9-under-load" FAIL "broker did not restart" "$WORK/$b.out"; return 1; }
    wait "$lp"
    until_routed "$topic" "$b"
    local lacked; lacked=$(wc -l <"$WORK/$k.load.acks")
    local lok=1 detail=""
    for q in a b; do
        client 5 "$WORK/$k.load.consume.$q.out" consume "$NS" "$topic" "$bname" "%LMQ%load$q" CID_LMQ_LOAD "$WORK/$k.load.list.$q"
        local lmissing
        lmissing=$(comm -23 <(sort "$WORK/$k.load.acks") <(awk '{print $2}' "$WORK/$k.load.list.$q" | sort) | wc -l)
        passed "$WORK/$k.load.consume.$q.out" && [[ "$lmissing" == 0 ]] || lok=0
        detail+=" $q: $(result "$WORK/$k.load.consume.$q.out" | cut -d' ' -f2-4) missing=$lmissing;"
    done
    if [[ $lok == 1 && $lacked == "$LOAD" ]] && passed "$WORK/$k.load.out"; then
        report "$k.kill9-under-load" PASS "killed at $at_kill acks, $lacked/$LOAD acknowledged ($(result "$WORK/$k.load.out" | grep -o 'retries=[0-9]*') while down), all in both LMQs;$detail"
    else
        report "$k.kill9-under-load" FAIL "killed at $at_kill acks, $lacked acknowledged;$detail" "$WORK/$k.load.out" "$WORK/$k.load.consume.a.out"
    fi
    # A name that is not an LMQ before an LMQ: Java stamps ",0" and its dispatcher then throws
    # NumberFormatException on "" for ever, so nothing sent later becomes readable. We skip the
    # entry and go on. Recorded for Java, required for us.
    client 5 "$WORK/$k.poison.out" produce "$NS" "$topic" 'plain,%LMQ%pq' 0 1 "$WORK/$k.poison.acks" PX
    client 5 "$WORK/$k.after.out" produce "$NS" "$topic" '%LMQ%after' 0 1 "$WORK/$k.poison.acks" AF
    sleep 2
    client 5 "$WORK/$k.after.consume.out" consume "$NS" "$topic" "$bname" '%LMQ%after' CID_LMQ_AFTER "$WORK/$k.after.list"
    local after; after=$(result "$WORK/$k.after.consume.out" | grep -o 'max=[0-9]*')
    if [[ $k == rust ]]; then
        if [[ "$after" == max=1 ]] && passed "$WORK/$k.poison.out"; then
            report "$k.poison-dispatch" PASS "'plain,%LMQ%pq' stored, a later message is readable ($after in %LMQ%after)"
        else
            report "$k.poison-dispatch" FAIL "later message not readable: $after" "$WORK/$b.out"
        fi
    else
        local nfe; nfe=$(grep -c 'NumberFormatException: For input string: ""' "$WORK/$b/home/logs/rocketmqlogs/store.log" 2>/dev/null)
        # Stalled, the later message is unreadable: the queue is either empty (max=0) or, when the
        # stall came before its ConsumeQueue was created, unknown to the broker (no RESULT line).
        if [[ "$after" != max=1 && "${nfe:-0}" -gt 0 ]]; then
            report "$k.poison-dispatch" PASS "recorded: Java 5.3.3 dispatch stalls (${after:-no queue} in %LMQ%after, $nfe NumberFormatException in store.log)"
        else
            report "$k.poison-dispatch" FAIL "Java behaved differently than recorded: $after, NumberFormatException x${nfe:-0}"
        fi
    fi
    stop_broker "$b"
    local s; s="$(store_of "$b")"
    if [[ ! -e "$s/consumequeue/%LMQ%x" ]]; then
        report "$k.badname" PASS "$(result "$WORK/$k.badname.out") (4.9.8 client); no consumequeue/%LMQ%x"
    else
        report "$k.badname" FAIL "consumequeue/%LMQ%x exists: $(find "$s/consumequeue/%LMQ%x" | head -3 | tr '\n' ' ')"
    fi
    if grep -q '"%LMQ%lmqb@%LMQ%grp":'"$N" "$s/config/lmqConsumerOffset.json" 2>/dev/null \
        && python3 -c 'import json,re,sys; t=open(sys.argv[1]).read(); t=re.sub(r"([{,]\s*)(-?\d+)\s*:", lambda m: m.group(1)+chr(34)+m.group(2)+chr(34)+":", t); d=json.loads(t); sys.exit(0 if "lmqOffsetTable" in d and "offsetTable" in d else 1)' "$s/config/lmqConsumerOffset.json"; then
        report "$k.lmq-offsets-file" PASS "lmqConsumerOffset.json: $(tr -d ' \n' <"$s/config/lmqConsumerOffset.json" | grep -o '"lmqOffsetTable":{[^}]*}')"
    else
        report "$k.lmq-offsets-file" FAIL "$(ls "$s/config"; cat "$s/config/lmqConsumerOffset.json" 2>/dev/null | head -30)"
    fi
    "$BIN/rmqstore" dump "$s" --topic "$topic" --raw >"$WORK/$k.dump.jsonl"
}

# Our broker's and Java's scenarios side by side, each lane with its own name server (Java's
# boots, restarts and kill -9 cycle take three times ours). Compare and cross-open read both stores.
lanes=()
for k in rust java; do
    if wanted "$k"; then lanes+=("own_namesrv; scenario $k"); fi
done
((${#lanes[@]})) && run_lanes "${lanes[@]}"
start_namesrv || { echo "lmq-compat: $pass passed, $((fail + 1)) failed"; exit 1; }

# Stored properties: key order and INNER_MULTI_QUEUE_OFFSET per message key, ours vs Java's.
if wanted compare && [[ -s "$WORK/rust.dump.jsonl" && -s "$WORK/java.dump.jsonl" ]]; then
    if python3 - "$WORK/rust.dump.jsonl" "$WORK/java.dump.jsonl" >"$WORK/compare.txt" 2>&1 <<'EOF'
import json, sys
def load(p):
    out = {}
    for line in open(p):
        m = json.loads(line)
        raw = m["propertiesString"]
        pairs = [s.split("\x01", 1) for s in raw.split("\x02") if s]
        key = m["properties"].get("KEYS")
        if key and key.startswith("LK"):
            out[key] = ([k for k, _ in pairs], m["properties"].get("INNER_MULTI_QUEUE_OFFSET"), raw)
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
bad = [k for k in a if k not in b or a[k][:2] != b[k][:2]]
missing = [k for k in b if k not in a]
first = next(iter(sorted(a, key=lambda k: int(k[2:]))), None)
print(f"{len(a)} ours, {len(b)} java, {len(bad)} differ, {len(missing)} missing; e.g. {first}: keys {a[first][0] if first else None}")
for k in bad[:5]:
    print("DIFF", k, a[k][:2], b.get(k, (None, None))[:2])
sys.exit(0 if not bad and not missing and a else 1)
EOF
    then report compare.stored-properties PASS "$(head -1 "$WORK/compare.txt")"
    else report compare.stored-properties FAIL "$(head -6 "$WORK/compare.txt")"; fi
    ok=1
    for q in a b; do
        cmp -s <(awk '{print $1, $2}' "$WORK/rust.list.$q") <(awk '{print $1, $2}' "$WORK/java.list.$q") || ok=0
    done
    if [[ $ok == 1 ]]; then
        report compare.consume PASS "both LMQ listings (offset, key) identical, $(wc -l <"$WORK/rust.list.a") lines each"
    else
        report compare.consume FAIL "$(diff <(awk '{print $1, $2}' "$WORK/rust.list.a") <(awk '{print $1, $2}' "$WORK/java.list.a") | head -5)"
    fi
fi

# Cross-open: each broker on a copy of the other's store; both LMQs whole, offsets continue at N.
cross() { # <id> <kind to run> <store kind>
    local id="$1" k="$2" from="lmq_$3" b="x_$2" topic="LmqCross_$2" bname="lmqx-$2"
    mkdir -p "$WORK/$b"
    cp -a "$(store_of "$from")" "$WORK/$b/store"
    start_broker "$b" "$k" brokerClusterName=LmqCompat "brokerName=$bname" "${LMQ_CONF[@]}" || {
        report "$id" FAIL "broker did not start on the copied store" "$WORK/$b.out"; return; }
    until_routed "$topic" "$b"
    : >"$WORK/$b.acks"
    client 5 "$WORK/$b.produce.out" produce "$NS" "$topic" "$LMQS" "$N" 1 "$WORK/$b.acks"
    client 5 "$WORK/$b.consume.a.out" consume "$NS" "$topic" "$bname" '%LMQ%lmqa' CID_LMQ_X "$WORK/$b.list.a"
    client 5 "$WORK/$b.consume.b.out" consume "$NS" "$topic" "$bname" '%LMQ%lmqb' CID_LMQ_X "$WORK/$b.list.b"
    # The offsets the other broker kept: an ordinary group's (offsetTable) and an LMQ group's
    # (lmqOffsetTable), both read from the other broker's lmqConsumerOffset.json.
    client 5 "$WORK/$b.offset.a.out" offset "$NS" "$topic" "$bname" '%LMQ%lmqa' CID_LMQ_PULL
    client 4 "$WORK/$b.offset.b.out" offset "$NS" "$topic" "$bname" '%LMQ%lmqb' '%LMQ%grp'
    local oa ob
    oa=$(result "$WORK/$b.offset.a.out" | grep -o 'offset=[-0-9]*')
    ob=$(result "$WORK/$b.offset.b.out" | grep -o 'offset=[-0-9]*')
    stop_broker "$b"
    # N from the other broker plus the long-poll probe and one new message: offsets 0..N+1.
    local want=$((N + 2)) last_a last_b
    last_a=$(tail -1 "$WORK/$b.list.a" 2>/dev/null)
    last_b=$(tail -1 "$WORK/$b.list.b" 2>/dev/null)
    if passed "$WORK/$b.consume.a.out" && passed "$WORK/$b.consume.b.out" \
        && grep -q "min=0 max=$want " "$WORK/$b.consume.a.out" && grep -q "min=0 max=$want " "$WORK/$b.consume.b.out" \
        && [[ "$last_a" == "$((want - 1)) LK$N "* && "$last_b" == "$((want - 1)) LK$N "* ]] \
        && [[ "$oa" == "offset=$N" && "$ob" == "offset=$N" ]]; then
        report "$id" PASS "a: $(result "$WORK/$b.consume.a.out"); new message at offset $((want - 1)) in both; committed offsets carried over: CID_LMQ_PULL $oa, %LMQ%grp $ob"
    else
        report "$id" FAIL "a: $(result "$WORK/$b.consume.a.out") b: $(result "$WORK/$b.consume.b.out") last: $last_a | $last_b; CID_LMQ_PULL $oa %LMQ%grp $ob" "$WORK/$b.out"
    fi
}
if [[ -d "$(store_of lmq_java)" && -d "$(store_of lmq_rust)" ]]; then
    wanted cross.java-store-on-rust && cross cross.java-store-on-rust rust java
    wanted cross.rust-store-on-java && cross cross.rust-store-on-java java rust
fi
finish
