#!/usr/bin/env bash
# Request-reply and message trace with the official Java clients 5.3.3 and 4.9.8 on our broker.
#
#   reply.<cv>.sync             DefaultMQProducer.request(msg, 10 s) x N, answered by a push consumer
#                               with MessageUtil.createReplyMessage + send (SEND_REPLY_MESSAGE_V2);
#                               every reply body matches and comes from DefaultCluster_REPLY_TOPIC
#   reply.<cv>.async            the same with request(msg, RequestCallback, 10 s)
#   reply.after-kill9           the broker is killed (-9) and restarted; request-reply works again
#                               and the replies stored before the kill (storeReplyMessageEnable) are
#                               still in DefaultCluster_REPLY_TOPIC
#   trace.<cv>.clients          DefaultMQProducer(group, true, null) / DefaultMQPushConsumer(group, true,
#                               null) send and consume N messages with trace on (traceTopicEnable=true)
#   trace.<cv>.query            mqadmin queryMsgTraceById -i <msgId> shows the Pub and the Sub traces
#                               of a message (QUERY_MESSAGE by key on RMQ_SYS_TRACE_TOPIC)
#   reply.go                    the Go client v2: producer.Request answered with consumer.CreateReplyMessage
#   trace.go.query              the Go client v2 with WithTrace: queryMsgTraceById shows Pub and Sub
#   trace.custom-topic          the same with a customized trace topic (auto-created), queried with -t
#   trace.after-kill9           after kill -9 and restart the traces are still found
#
# Environment: TRACE_SCENARIOS (comma list of id prefixes), TRACE_KEEP_WORK=1, RMQRS_BIN_DIR.
# Last line: "trace-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=trace
COMPAT_SCENARIOS="${TRACE_SCENARIOS:-}"
COMPAT_KEEP_WORK="${TRACE_KEEP_WORK:-0}"
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"
N=20

build_all
start_namesrv || { echo "trace-compat: 0 passed, 1 failed"; exit 1; }

client() { # <cp> <log> <class> <args...>
    local cp="$1" out="$2" cls="$3"; shift 3
    timeout -k 10 300 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
        -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$cp:$LAUNCH_CP" WakeJoin "$cls" "$NS" "$@" >"$out" 2>&1
}
line() { grep "^RESULT $2 " "$1" | head -1 | cut -d' ' -f3-; }
reply_max() { # max offset of DefaultCluster_REPLY_TOPIC queue 0, via mqadmin topicStatus
    mqadmin "$WORK/rs.log" topicStatus -t DefaultCluster_REPLY_TOPIC
    awk '/DefaultCluster_REPLY_TOPIC|^[a-z]/ && $3 ~ /^[0-9]+$/ {s += $4} END {print s + 0}' "$WORK/rs.log"
}
# ---- our broker (lane 0)
ours_lane() {
    start_broker b rust traceTopicEnable=true || { report setup.broker FAIL "our broker did not start" "$WORK/b.out"; return 1; }
    ADDR="127.0.0.1:${BROKER_PORT[b]}"
    mqadmin "$WORK/topic.log" updateTopic -b "$ADDR" -t rr-topic -r 4 -w 4
    mqadmin "$WORK/topic2.log" updateTopic -b "$ADDR" -t tr-topic -r 4 -w 4

    # --- request-reply
    for cv in 5.3.3 4.9.8; do
        [[ $cv == 5.3.3 ]] && cp="$CLIENT_CP" || cp="$CLIENT4_CP"
        wanted "reply.$cv" || continue
        client "$cp" "$WORK/rr-$cv.log" RequestReplyScenarios rr-topic "rr-g-${cv//./}" "$N" "$cv"
        for m in sync async; do
            # 5.3.3's sync request() is broken upstream (apache/rocketmq#9319): judged against Java below.
            [[ $cv == 5.3.3 && $m == sync ]] && continue
            if grep -q "^RESULT reply-$m PASS" "$WORK/rr-$cv.log"; then report "reply.$cv.$m" PASS "$(line "$WORK/rr-$cv.log" "reply-$m")"
            else report "reply.$cv.$m" FAIL "$(line "$WORK/rr-$cv.log" "reply-$m")" "$WORK/rr-$cv.log"; fi
        done
    done

    # --- message trace
    declare -A FIRST_ID=()
    for cv in 5.3.3 4.9.8; do
        [[ $cv == 5.3.3 ]] && cp="$CLIENT_CP" || cp="$CLIENT4_CP"
        wanted "trace.$cv" || continue
        client "$cp" "$WORK/tr-$cv.log" TraceScenarios tr-topic "tr-g-${cv//./}" "$N" -
        if grep -q "^RESULT trace-clients PASS" "$WORK/tr-$cv.log"; then report "trace.$cv.clients" PASS "$(line "$WORK/tr-$cv.log" trace-clients)"
        else report "trace.$cv.clients" FAIL "$(line "$WORK/tr-$cv.log" trace-clients)" "$WORK/tr-$cv.log"; fi
        id=$(sed -n 's/^MSGID //p' "$WORK/tr-$cv.log" | tail -1)
        FIRST_ID[$cv]="$id"
        ok=0
        for ((t = 0; t < 10; t++)); do
            mqadmin "$WORK/tq-$cv.log" queryMsgTraceById -i "$id"
            if grep -q "Pub" "$WORK/tq-$cv.log" && grep -q "SubAfter\|SubBefore\|Sub " "$WORK/tq-$cv.log"; then ok=1; break; fi
            sleep 2
        done
        if [[ $ok == 1 ]]; then
            report "trace.$cv.query" PASS "$(grep -c -E '^(Pub|SubBefore|SubAfter|Sub)' "$WORK/tq-$cv.log") trace rows for $id ($(grep -o -E '^(Pub|SubBefore|SubAfter|Sub)\b' "$WORK/tq-$cv.log" | sort -u | tr '\n' ' '))"
        else report "trace.$cv.query" FAIL "no Pub+Sub trace for $id" "$WORK/tq-$cv.log"; fi
    done

    if wanted reply.go || wanted trace.go; then
        (cd "$ROOT/compat-tests/go" && COMPAT_GO_REPLY_TRACE=1 NAMESRV_ADDR="$NS" COMPAT_RR_TOPIC=rr-topic \
            COMPAT_TRACE_TOPIC=tr-topic COMPAT_TRACE_IDS="$WORK/go-trace-ids" \
            timeout -k 10 600 go test -count=1 -v -run 'TestGoRequestReply|TestGoTrace' ./...) >"$WORK/go-rt.log" 2>&1
        if grep -q -- "--- PASS: TestGoRequestReply" "$WORK/go-rt.log"; then report reply.go PASS "10 Request() round trips"
        else report reply.go FAIL "go test" "$WORK/go-rt.log"; fi
        id=$(tail -1 "$WORK/go-trace-ids" 2>/dev/null)
        ok=0
        for ((t = 0; t < 10; t++)); do
            [[ -n "$id" ]] || break
            mqadmin "$WORK/tq-go.log" queryMsgTraceById -i "$id"
            if grep -q "^Pub " "$WORK/tq-go.log" && grep -q "^Sub" "$WORK/tq-go.log"; then ok=1; break; fi
            sleep 2
        done
        if [[ $ok == 1 ]] && grep -q -- "--- PASS: TestGoTrace" "$WORK/go-rt.log"; then report trace.go.query PASS "Pub+Sub traces for $id"
        else report trace.go.query FAIL "id='$id'" "$WORK/go-rt.log" "$WORK/tq-go.log"; fi
    fi

    if wanted trace.custom-topic; then
        client "$CLIENT_CP" "$WORK/tr-custom.log" TraceScenarios tr-topic tr-g-custom 5 my-trace-topic
        id=$(sed -n 's/^MSGID //p' "$WORK/tr-custom.log" | tail -1)
        ok=0
        for ((t = 0; t < 10; t++)); do
            mqadmin "$WORK/tq-custom.log" queryMsgTraceById -i "$id" -t my-trace-topic
            if grep -q "Pub" "$WORK/tq-custom.log" && grep -q "Sub" "$WORK/tq-custom.log"; then ok=1; break; fi
            sleep 2
        done
        if [[ $ok == 1 ]]; then report trace.custom-topic PASS "Pub+Sub traces in my-trace-topic for $id"
        else report trace.custom-topic FAIL "no traces for $id" "$WORK/tr-custom.log" "$WORK/tq-custom.log"; fi
    fi

    # --- kill -9 in the middle
    if wanted reply.after-kill9 || wanted trace.after-kill9; then
        before=$(reply_max)
        stop_broker b KILL
        start_broker b rust traceTopicEnable=true >/dev/null
        after=$(reply_max)
        if wanted reply.after-kill9; then
            client "$CLIENT_CP" "$WORK/rr-k9.log" RequestReplyScenarios rr-topic rr-g-k9 5 k9
            if grep -q "^RESULT reply-async PASS" "$WORK/rr-k9.log" && ! grep -q "^RESULT reply-send FAIL" "$WORK/rr-k9.log" \
                && [[ $before -gt 0 && $after -ge $before ]]; then
                report reply.after-kill9 PASS "stored replies before/after kill -9: $before/$after; request-reply works again"
            else report reply.after-kill9 FAIL "stored before=$before after=$after" "$WORK/rr-k9.log" "$WORK/rs.log"; fi
        fi
        if wanted trace.after-kill9 && [[ -n "${FIRST_ID[5.3.3]:-}" ]]; then
            mqadmin "$WORK/tq-k9.log" queryMsgTraceById -i "${FIRST_ID[5.3.3]}"
            if grep -q "Pub" "$WORK/tq-k9.log" && grep -q "Sub" "$WORK/tq-k9.log"; then
                report trace.after-kill9 PASS "traces of ${FIRST_ID[5.3.3]} still found after kill -9"
            else report trace.after-kill9 FAIL "lost" "$WORK/tq-k9.log"; fi
        fi
    fi

    stop_broker b
}

# ---- the Java 5.3.3 broker (lane 1, its own name server): the 5.3.3 client's sync request()
java_lane() {
    start_namesrv || { report reply.5.3.3.sync FAIL "name server did not start"; return 1; }
    if start_broker j java traceTopicEnable=true; then
        wait_for 60 grep -q "new broker registered.*:${BROKER_PORT[j]}" "$NSLOG"
        mqadmin "$WORK/j-topic.log" updateTopic -b "127.0.0.1:${BROKER_PORT[j]}" -t rr-topic -r 4 -w 4
        client "$CLIENT_CP" "$WORK/rr-java.log" RequestReplyScenarios rr-topic rr-g-java "$N" java
        touch "$WORK/rr-java.done"
        stop_broker j
    else report reply.5.3.3.sync FAIL "Java 5.3.3 broker did not start" "$WORK/j.out"; fi
}
lanes=(ours_lane)
wanted reply.5.3.3.sync && lanes+=(java_lane)
run_lanes "${lanes[@]}"

# The 5.3.3 client's sync request() against the Java 5.3.3 broker: the outcome (replies received,
# exception class) must be the same as against ours.
if wanted reply.5.3.3.sync && [[ -f "$WORK/rr-java.done" ]]; then
    ours="$(line "$WORK/rr-5.3.3.log" reply-sync)"
    java_line="$(line "$WORK/rr-java.log" reply-sync)"
    shape() { sed -E 's/ topic=[^ ]*//; s/ ms=[0-9]+//; s/ replies=[0-9]+\/[0-9]+//; s/first-error=([A-Za-z.]+).*/\1/' <<<"$1"; }
    if [[ -n "$ours" && "$(shape "$ours")" == "$(shape "$java_line")" ]]; then
        report reply.5.3.3.sync PASS "same as the Java 5.3.3 broker: $(shape "$ours") (apache/rocketmq#9319)"
    else report reply.5.3.3.sync FAIL "ours: $ours | java: $java_line" "$WORK/rr-java.log"; fi
    if grep -q "^RESULT reply-async PASS" "$WORK/rr-java.log"; then :; else log "note: Java broker async: $(line "$WORK/rr-java.log" reply-async)"; fi
fi
finish
