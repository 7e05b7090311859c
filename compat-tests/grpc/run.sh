#!/usr/bin/env bash
# The RocketMQ 5 gRPC SDK for Java (rocketmq-client-java 5.0.8, the official apache/rocketmq-clients
# SDK from Maven) against our broker's built-in gRPC endpoint (apache.rocketmq.v2.MessagingService,
# enableProxy=true / mqbroker --enable-proxy, on grpcServerPort).
#
#   ours.grpc-produce-remoting-consume
#       a gRPC Producer sends 10 normal (tag, 2 keys, a user property), 10 FIFO (two message
#       groups), 3 delay and 2 transactional messages (one committed, one rolled back, both by
#       EndTransaction); the broker is kill -9'd and restarted; a second producer sends the same
#       again. A remoting 5.3.3 DefaultMQPushConsumer gets every acknowledged message once at
#       least, with its tag, keys, message group (__SHARDINGKEY), user property and the gRPC
#       message id as UNIQ_KEY; each message group is on the queue the Java proxy picks (Guava's
#       consistent hash of the group's hash code); delay messages arrive no
#       earlier than their delivery time (the first batch's are due after the kill -9); the
#       rolled-back message never arrives.
#   ours.grpc-transaction-check
#       a gRPC producer leaves a transactional message open; the broker checks it back over the
#       producer's Telemetry stream (RecoverOrphanedTransactionCommand), the SDK's
#       TransactionChecker answers COMMIT, its EndTransaction commits it, and the remoting
#       consumer gets it.
#   ours.grpc-python-produce
#       the official Python SDK (PyPI rocketmq-python-client 5.1.2, in a venv under
#       compat-tests/grpc/target/) sends 5 normal, 6 FIFO and 2 delay messages to the same broker;
#       the remoting consumer gets them as above.
#   ours.grpc-simple-consumer
#       over TLS (the SDK's default enableSsl=true; the endpoint's permissive tlsMode with its
#       self-signed test certificate), a gRPC Producer sends and a gRPC SimpleConsumer (ReceiveMessage / AckMessage / ChangeInvisibleDuration on POP) gets
#       20 messages: one changed to 2 s and not acked, one never acked (invisible 10 s), both come
#       back (delivery attempt 2) no earlier than their invisible time; one changed to 30 s then
#       acked with the new handle, and every acked one, never come back.
#   ours.grpc-push-consumer
#       two gRPC PushConsumers of one group (one JVM) consume 10,000 messages sent over gRPC, each
#       exactly once.
#   ours.grpc-auto-renew
#       a broker with defaultInvisibleTimeMills=5000 (renewAheadTimeMillis=3000,
#       renewSchedulePeriodMillis=500): a PushConsumer whose listener holds each of 5 messages
#       12 s (past the invisible time) consumes each once, as the endpoint renews the handles;
#       a second consumer of the group started after the first closed gets nothing (the SDK's
#       acks with the handles it received reached the renewed checkpoints).
#   ours.grpc-fifo-consumer
#       an orderly consumer group (consumeMessageOrderly, so FIFO settings and orderly POP locks):
#       a PushConsumer gets 4 message groups x 25 messages each in send order, each once.
#   ours.grpc-dlq
#       a gRPC PushConsumer whose listener always fails, in a group with retryMaxTimes=1: each of
#       10 messages is delivered twice (the second time after the SDK's ChangeInvisibleDuration),
#       then the SDK's ForwardMessageToDeadLetterQueue puts it in %DLQ%<group>, where a remoting
#       5.3.3 consumer reads all 10 with their message ids.
#   ours.grpc-remoting-to-grpc
#       a remoting 5.3.3 DefaultMQProducer sends 20 messages; a gRPC SimpleConsumer receives and
#       acks all of them with their tag and message id (the other way round is
#       ours.grpc-produce-remoting-consume).
#   ours.grpc-python-consume
#       the Python SDK's SimpleConsumer receives and acks 10 messages the Java gRPC producer sent
#       and 13 the Python producer sent.
#   ours.grpc-node
#       the official Node.js SDK (npm rocketmq-client-nodejs 1.0.8, installed under the run's work
#       dir) sends 8 normal messages (tag, 2 keys, a user property) and 4 FIFO messages (two
#       message groups, tag TagNF); a remoting 5.3.3 DefaultMQProducer sends 10 more; the Node
#       SimpleConsumer (GrpcFifo subscribed to TagNF alone, which filters out what the other
#       scenarios put there) receives and acks all 22 with their tag, message id, message group,
#       body and property, and
#       a Java gRPC SimpleConsumer of another group reads the 18 normal ones with their ids.
#   ours.grpc-go
#       the official Go SDK (github.com/apache/rocketmq-clients/golang/v5 5.1.4, pinned in
#       compat-tests/grpc/go/go.mod and built from the Go module proxy), over the SDK's default TLS:
#       its Producer sends 100 normal messages (tag, 2 keys, a user property) and 20 FIFO messages
#       (two message groups); its SimpleConsumer in an orderly group receives and acks all 120
#       with topic, tag, message id, body, property and message group, each group in send order;
#       a Java gRPC SimpleConsumer of another group reads the 100 normal ones with their ids.
#   ours.grpc-acl
#       aclEnable=true with a plain_acl.yml account: a gRPC Producer signing with its AK/SK (the
#       authorization / x-mq-date-time metadata) sends and a SimpleConsumer signing the same way
#       consumes; a wrong secret, and a send to a topic the account may not use, are refused.
#   ours.grpc-standalone
#       rocketmq-standalone with a config that does not mention the endpoint serves it (on by
#       default there): the gRPC producer's 25 messages are consumed over remoting through the
#       standalone's own name server; `mqbroker --enable-proxy -p` shows enableProxy=true.
#
# Environment: COMPAT_SCENARIOS (comma list of id prefixes), RMQRS_BIN_DIR (target/debug).
# Last line: "grpc-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=grpc
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"

GRPC_CP="$JAVA_OUT/classes/grpc:$JAVA_OUT/lib/grpc-client-java/*"
PY_SDK=rocketmq-python-client==5.1.2
VENV="$ROOT/compat-tests/grpc/target/venv"
NODE_SDK=rocketmq-client-nodejs@1.0.8
NODE_DIR="$WORK/node"
GO_SDK=github.com/apache/rocketmq-clients/golang/v5@v5.1.4

# python_sdk: a venv with the Python SDK from PyPI (kept between runs, keyed by the version).
python_sdk() {
    [[ -f "$VENV/.stamp" && "$(cat "$VENV/.stamp")" == "$PY_SDK" ]] && return 0
    rm -rf "$VENV"
    python3 -m venv "$VENV" && timeout 600 "$VENV/bin/pip" install -q "$PY_SDK" >"$WORK/pip.log" 2>&1 \
        && echo "$PY_SDK" >"$VENV/.stamp"
}

# node_sdk: the Node.js SDK from npm in $NODE_DIR (a fresh work dir each run; never committed).
node_sdk() {
    command -v node >/dev/null && command -v npm >/dev/null || { echo "node or npm not on PATH" >"$WORK/npm.log"; return 1; }
    mkdir -p "$NODE_DIR" && echo '{"private": true}' >"$NODE_DIR/package.json" \
        && (cd "$NODE_DIR" && timeout 300 npm install --no-audit --no-fund --ignore-scripts "$NODE_SDK") >"$WORK/npm.log" 2>&1
}
# go_sdk: compat-tests/grpc/go built against the SDK version its go.mod pins (modules from the proxy).
go_sdk() {
    command -v go >/dev/null || { echo "go not on PATH" >"$WORK/go-build.log"; return 1; }
    (cd "$HERE/go" && timeout 600 go build -o "$WORK/grpcgo" .) >"$WORK/go-build.log" 2>&1
}
node_run() { # <out> <args...>
    local out="$1"; shift
    (cd "$WORK" && HOME="$WORK/client-home" NODE_PATH="$NODE_DIR/node_modules" timeout -k 10 120 node "$HERE/node_client.js" "$@" >"$out" 2>&1)
}

build_all

java_run() { # <classpath> <log> [-Dprop=value ...] <main> <args...>
    local cp="$1" out="$2" jvm=()
    shift 2
    # JVM options go before WakeJoin; after it they would be read as the main class.
    while [[ $# -gt 0 && $1 == -* ]]; do jvm+=("$1"); shift; done
    timeout -k 10 300 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -Drocketmq.log.root="$WORK/client-logs" "${jvm[@]}" -cp "$cp:$LAUNCH_CP" WakeJoin "$@" >"$out" 2>&1
}

# check <expect-file> <consumed-file> [final]: every expected message arrived as sent. Prints a
# summary; exit 1 while something is missing or wrong.
check() {
    python3 - "$@" <<'PY'
import sys
expect_f, got_f = sys.argv[1], sys.argv[2]
final = len(sys.argv) > 3
want, never = {}, set()
for line in open(expect_f):
    topic, key, tag, group, mid, due = line.split()
    if due == "-":
        never.add(key)
    else:
        want[key] = (topic, tag, group, mid, int(due))
got = {}
for line in open(got_f):
    p = line.split()
    if len(p) < 10:
        continue
    topic, keys, tags, sk, uniq, store, recv, timer, prop, qid = p[:10]
    for key in keys.split("_"):
        got.setdefault(key, []).append((topic, tags, sk, uniq, int(store), int(recv), prop, int(qid), keys))
bad, missing = [], [k for k in want if k not in got]
group_queues = {}
delays = []
for k, (topic, tag, group, mid, due) in want.items():
    for (t, tags, sk, uniq, store, recv, prop, qid, keys) in got.get(k, []):
        if t != topic or tags != tag or uniq != mid:
            bad.append(f"{k}: topic/tag/id {t}/{tags}/{uniq} != {topic}/{tag}/{mid}")
        if group != "-" and sk != group:
            bad.append(f"{k}: message group {sk} != {group}")
        if group != "-":
            group_queues.setdefault(group, set()).add(qid)
        if topic == "GrpcNormal" and (prop == "-" or "_k2" not in keys and "-k2" not in keys):
            bad.append(f"{k}: user property {prop} / keys {keys}")
        if due:
            delays.append((store - due, recv - due))
            if store < due or recv < due:
                bad.append(f"{k}: received {due - recv} ms before its delivery time")
# The Java proxy's queue for a group: Guava consistentHash(group.hashCode(), 4 write queues).
guava = {"g0": 0, "order-42": 3}
for g, qs in group_queues.items():
    if qs != {guava.get(g)}:
        bad.append(f"group {g} on queues {sorted(qs)}, the Java proxy picks {guava.get(g)}")
leaked = [k for k in never if k in got]
if leaked:
    bad.append(f"rolled back but consumed: {leaked}")
dups = sum(len(got.get(k, [])) - 1 for k in want if k in got)
summary = (f"{len(want) - len(missing)}/{len(want)} received, duplicates {dups}, "
           f"groups on one queue each {sorted((g, sorted(q)) for g, q in group_queues.items())}, "
           f"delay messages stored {min(d[0] for d in delays) if delays else 0}..{max(d[0] for d in delays) if delays else 0} ms "
           f"and received {min(d[1] for d in delays) if delays else 0}..{max(d[1] for d in delays) if delays else 0} ms after due, "
           f"rolled-back ones never seen ({len(never)})")
if bad or (missing and final):
    print(summary + "; BAD: " + "; ".join(bad[:8]) + (f"; missing {missing[:8]}" if missing else ""))
    sys.exit(1)
print(summary)
sys.exit(1 if missing else 0)
PY
}

interop() {
    local b=gb id=ours.grpc-produce-remoting-consume gp
    gp="$(pick_port 0)" || { report $id FAIL "no free port"; return; }
    local conf=(brokerClusterName=GrpcC brokerName=grpc-b enableProxy=true "grpcServerPort=$gp"
        transactionTimeOut=3000 transactionCheckInterval=1000)
    start_broker $b rust "${conf[@]}" || { report $id FAIL "broker did not start" "$WORK/$b.out"; return; }
    local t ty
    for t in GrpcNormal:NORMAL GrpcFifo:FIFO GrpcDelay:DELAY GrpcTx:TRANSACTION; do
        ty="${t#*:}"; t="${t%%:*}"
        mqadmin "$WORK/ut-$t.out" updateTopic -b "127.0.0.1:${BROKER_PORT[$b]}" -t "$t" -r 4 -w 4 -a "+message.type=$ty"
        grep -q "create topic to" "$WORK/ut-$t.out" || { report $id FAIL "updateTopic $t failed" "$WORK/ut-$t.out"; return; }
    done
    java_run "$CLIENT_CP" "$WORK/consumer.out" GrpcInterop consume "$NS" grpc_interop "$WORK/consumed.txt" 240 \
        GrpcNormal GrpcFifo GrpcDelay GrpcTx &
    local cpid=$!
    java_run "$GRPC_CP" "$WORK/produce-a.out" GrpcScenarios produce "127.0.0.1:$gp" a "$WORK/expect.txt" 15000
    log "$(grep RESULT "$WORK/produce-a.out")"
    log "kill -9 of the broker"
    stop_broker $b KILL
    start_broker $b rust "${conf[@]}" || { report $id FAIL "broker did not restart after kill -9" "$WORK/$b.out"; kill "$cpid"; return; }
    java_run "$GRPC_CP" "$WORK/produce-b.out" GrpcScenarios produce "127.0.0.1:$gp" b "$WORK/expect.txt" 3000
    log "$(grep RESULT "$WORK/produce-b.out")"
    local py=0
    if wanted ours.grpc-python && python_sdk; then
        py=1
        (cd "$WORK" && timeout -k 10 180 "$VENV/bin/python" "$HERE/py_producer.py" "127.0.0.1:$gp" p "$WORK/py-expect.txt" 3000 \
            >"$WORK/py-produce.out" 2>&1)
        log "$(grep RESULT "$WORK/py-produce.out")"
    fi
    java_run "$GRPC_CP" "$WORK/tx-check.out" GrpcScenarios check "127.0.0.1:$gp" c-t-check "$WORK/expect.txt"
    log "$(grep RESULT "$WORK/tx-check.out")"
    wait_for 90 check "$WORK/expect.txt" "$WORK/consumed.txt" >/dev/null
    sleep 3 # late duplicates or a leaked rolled-back message would show now
    kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
    local detail
    if grep -q "RESULT produce-a PASS sent=25/25" "$WORK/produce-a.out" \
        && grep -q "RESULT produce-b PASS sent=25/25" "$WORK/produce-b.out" \
        && detail=$(check "$WORK/expect.txt" "$WORK/consumed.txt" final); then
        report $id PASS "51 sent over gRPC (rocketmq-client-java 5.0.8) across a kill -9; $detail"
    else
        report $id FAIL "${detail:-producer failed}" "$WORK/produce-a.out" "$WORK/produce-b.out" "$WORK/consumer.out" "$WORK/$b.out"
    fi
    if [[ $py == 1 ]]; then
        local pyd
        wait_for 30 check "$WORK/py-expect.txt" "$WORK/consumed.txt" >/dev/null
        if grep -q "RESULT produce-p PASS sent=13/13" "$WORK/py-produce.out" \
            && pyd=$(check "$WORK/py-expect.txt" "$WORK/consumed.txt" final); then
            report ours.grpc-python-produce PASS "13 sent with $PY_SDK; $pyd"
        else
            report ours.grpc-python-produce FAIL "${pyd:-producer failed}" "$WORK/py-produce.out" "$WORK/pip.log"
        fi
    elif wanted ours.grpc-python; then
        report ours.grpc-python-produce FAIL "cannot install $PY_SDK from PyPI" "$WORK/pip.log"
    fi
    if grep -q "RESULT check PASS" "$WORK/tx-check.out" && grep -q "^GrpcTx c-t-check " "$WORK/consumed.txt"; then
        report ours.grpc-transaction-check PASS "$(grep -o 'checked-after=.*' "$WORK/tx-check.out" | cut -d' ' -f1-2); committed by the check's EndTransaction and consumed over remoting"
    else
        report ours.grpc-transaction-check FAIL "$(grep RESULT "$WORK/tx-check.out")" "$WORK/tx-check.out" "$WORK/$b.out"
    fi
    stop_broker $b
}

standalone() {
    local id=ours.grpc-standalone np bp gp
    np="$(pick_port 0)" && bp="$(pick_port -2 0 1)" && gp="$(pick_port 0)" || { report $id FAIL "no free port"; return; }
    mkdir -p "$WORK/sa"
    printf 'brokerIP1=127.0.0.1\nlistenPort=%s\ngrpcServerPort=%s\nbrokerName=sa-b\n' "$bp" "$gp" >"$WORK/sa.conf"
    "$BIN/rocketmq-standalone" --data-dir "$WORK/sa" --namesrv-port "$np" -c "$WORK/sa.conf" >"$WORK/sa.out" 2>&1 &
    PID[sa]=$!
    wait_for 60 grep -q "broker.*boot success" "$WORK/sa.out" || { report $id FAIL "standalone did not start" "$WORK/sa.out"; return; }
    local NS="127.0.0.1:$np" t ty
    for t in GrpcNormal:NORMAL GrpcFifo:FIFO GrpcDelay:DELAY GrpcTx:TRANSACTION; do
        ty="${t#*:}"; t="${t%%:*}"
        mqadmin "$WORK/sa-ut-$t.out" updateTopic -b "127.0.0.1:$bp" -t "$t" -a "+message.type=$ty"
    done
    java_run "$CLIENT_CP" "$WORK/sa-consumer.out" GrpcInterop consume "$NS" grpc_sa "$WORK/sa-consumed.txt" 120 \
        GrpcNormal GrpcFifo GrpcDelay GrpcTx &
    local cpid=$!
    java_run "$GRPC_CP" "$WORK/sa-produce.out" GrpcScenarios produce "127.0.0.1:$gp" s "$WORK/sa-expect.txt" 2000
    wait_for 60 check "$WORK/sa-expect.txt" "$WORK/sa-consumed.txt" >/dev/null
    sleep 2
    kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null
    local detail flag
    flag="$("$BIN/mqbroker" --enable-proxy -p 2>/dev/null | grep -c '^enableProxy=true')"
    if grep -q "RESULT produce-s PASS sent=25/25" "$WORK/sa-produce.out" && [[ "$flag" == 1 ]] \
        && detail=$(check "$WORK/sa-expect.txt" "$WORK/sa-consumed.txt" final); then
        report $id PASS "standalone gRPC on :$gp by default; $detail; mqbroker --enable-proxy sets enableProxy=true"
    else
        report $id FAIL "${detail:-producer failed} flag=$flag" "$WORK/sa-produce.out" "$WORK/sa-consumer.out" "$WORK/sa.out"
    fi
    kill "${PID[sa]}" 2>/dev/null; wait "${PID[sa]}" 2>/dev/null; unset 'PID[sa]'
}

consume() {
    local b=gc gp
    gp="$(pick_port 0)" || { report ours.grpc-consume FAIL "no free port"; return; }
    start_broker $b rust brokerClusterName=GrpcCC brokerName=grpc-c enableProxy=true "grpcServerPort=$gp" \
        || { report ours.grpc-consume FAIL "broker did not start" "$WORK/$b.out"; return; }
    local ep="127.0.0.1:$gp" addr="127.0.0.1:${BROKER_PORT[$b]}" t ty npm_pid=
    local go_pid=
    if wanted ours.grpc-node; then node_sdk & npm_pid=$!; fi # installs while the topics are made
    if wanted ours.grpc-go; then go_sdk & go_pid=$!; fi
    for t in GrpcSimple:NORMAL GrpcPush:NORMAL GrpcFifoC:FIFO GrpcFromRemoting:NORMAL GrpcPy:NORMAL GrpcDlq:NORMAL \
        GrpcNormal:NORMAL GrpcFifo:FIFO GrpcDelay:DELAY GrpcNode:NORMAL GrpcGo:NORMAL GrpcGoFifo:FIFO; do
        ty="${t#*:}"; t="${t%%:*}"
        mqadmin "$WORK/cut-$t.out" updateTopic -b "$addr" -t "$t" -r 4 -w 4 -a "+message.type=$ty"
        grep -q "create topic to" "$WORK/cut-$t.out" || { report ours.grpc-consume FAIL "updateTopic $t failed" "$WORK/cut-$t.out"; return; }
    done
    mqadmin "$WORK/csg.out" updateSubGroup -b "$addr" -g grpc_fifo -o true
    grep -qi "create subscription group to" "$WORK/csg.out" || { report ours.grpc-fifo-consumer FAIL "updateSubGroup failed" "$WORK/csg.out"; }
    local r
    if wanted ours.grpc-simple; then
        # Over TLS: the SDK's default enableSsl=true (the endpoint's permissive tlsMode, test cert).
        java_run "$GRPC_CP" "$WORK/simple.out" -Dgrpc.sdkDefaultSsl=true GrpcConsume simple "$ep" GrpcSimple grpc_simple
        r="$(grep '^RESULT simple' "$WORK/simple.out")"
        if [[ "$r" == "RESULT simple PASS"* ]]; then report ours.grpc-simple-consumer PASS "${r#RESULT simple PASS }"
        else report ours.grpc-simple-consumer FAIL "${r:-no result}" "$WORK/simple.out" "$WORK/$b.out"; fi
    fi
    if wanted ours.grpc-push; then
        java_run "$GRPC_CP" "$WORK/push.out" GrpcConsume push "$ep" GrpcPush grpc_push 10000
        r="$(grep '^RESULT push' "$WORK/push.out")"
        if [[ "$r" == "RESULT push PASS"* ]]; then report ours.grpc-push-consumer PASS "${r#RESULT push PASS }"
        else report ours.grpc-push-consumer FAIL "${r:-no result}" "$WORK/push.out" "$WORK/$b.out"; fi
    fi
    if wanted ours.grpc-fifo; then
        java_run "$GRPC_CP" "$WORK/fifo.out" GrpcConsume fifo "$ep" GrpcFifoC grpc_fifo 4 25
        r="$(grep '^RESULT fifo' "$WORK/fifo.out")"
        if [[ "$r" == "RESULT fifo PASS"* ]]; then report ours.grpc-fifo-consumer PASS "${r#RESULT fifo PASS }"
        else report ours.grpc-fifo-consumer FAIL "${r:-no result}" "$WORK/fifo.out" "$WORK/$b.out"; fi
    fi
    if wanted ours.grpc-dlq; then
        mqadmin "$WORK/dsg.out" updateSubGroup -b "$addr" -g grpc_dlq -r 1
        java_run "$GRPC_CP" "$WORK/dlq.out" GrpcConsume dlq "$ep" GrpcDlq grpc_dlq 10
        java_run "$CLIENT_CP" "$WORK/dlq-reader.out" GrpcInterop consume "$NS" grpc_dlq_reader "$WORK/dlq-consumed.txt" 20 "%DLQ%grpc_dlq"
        local n
        n="$(awk '$1 == "%DLQ%grpc_dlq" {split($2, k, "_"); print k[1]}' "$WORK/dlq-consumed.txt" 2>/dev/null | sort -u | grep -c '^d-')"
        r="$(grep '^RESULT dlq' "$WORK/dlq.out")"
        if [[ "$r" == "RESULT dlq PASS"* && "$n" == 10 ]]; then
            report ours.grpc-dlq PASS "${r#RESULT dlq PASS }; %DLQ%grpc_dlq read over remoting: $n/10"
        else report ours.grpc-dlq FAIL "${r:-no result}; in the DLQ: $n/10" "$WORK/dlq.out" "$WORK/dlq-reader.out" "$WORK/dsg.out"; fi
    fi
    if wanted ours.grpc-remoting-to; then
        java_run "$CLIENT_CP" "$WORK/rprod.out" GrpcInterop produce "$NS" GrpcFromRemoting r 20 "$WORK/r-expect.txt"
        java_run "$GRPC_CP" "$WORK/rdrain.out" GrpcConsume drain "$ep" GrpcFromRemoting grpc_from_remoting "$WORK/r-expect.txt" 60
        r="$(grep '^RESULT drain' "$WORK/rdrain.out")"
        if grep -q "RESULT produce PASS sent=20/20" "$WORK/rprod.out" && [[ "$r" == "RESULT drain PASS"* ]]; then
            report ours.grpc-remoting-to-grpc PASS "20 sent by DefaultMQProducer 5.3.3, gRPC SimpleConsumer ${r#RESULT drain PASS }"
        else report ours.grpc-remoting-to-grpc FAIL "$(grep RESULT "$WORK/rprod.out") ${r:-no result}" "$WORK/rprod.out" "$WORK/rdrain.out"; fi
    fi
    if wanted ours.grpc-python-consume; then
        if python_sdk; then
            java_run "$GRPC_CP" "$WORK/pysend.out" GrpcConsume send "$ep" GrpcPy j 10 "$WORK/pyc-expect.txt"
            (cd "$WORK" && timeout -k 10 120 "$VENV/bin/python" "$HERE/py_consumer.py" "$ep" grpc_py GrpcPy \
                "$WORK/pyc-expect.txt" 60 >"$WORK/py-consume.out" 2>&1)
            r="$(grep '^RESULT py-consume' "$WORK/py-consume.out")"
            # What the Python producer sent (ours.grpc-python-produce): its normal messages.
            (cd "$WORK" && timeout -k 10 120 "$VENV/bin/python" "$HERE/py_producer.py" "$ep" q "$WORK/pyq-expect.txt" 1000 \
                >"$WORK/py-produce-q.out" 2>&1)
            (cd "$WORK" && timeout -k 10 120 "$VENV/bin/python" "$HERE/py_consumer.py" "$ep" grpc_py2 GrpcNormal \
                "$WORK/pyq-expect.txt" 60 >"$WORK/py-consume-q.out" 2>&1)
            local r2
            r2="$(grep '^RESULT py-consume' "$WORK/py-consume-q.out")"
            if grep -q "RESULT send PASS" "$WORK/pysend.out" && [[ "$r" == "RESULT py-consume PASS"* && "$r2" == "RESULT py-consume PASS"* ]]; then
                report ours.grpc-python-consume PASS "$PY_SDK SimpleConsumer: Java-sent ${r#RESULT py-consume PASS }; Python-sent ${r2#RESULT py-consume PASS }"
            else report ours.grpc-python-consume FAIL "${r:-no result} / ${r2:-no result}" "$WORK/py-consume.out" "$WORK/py-consume-q.out" "$WORK/py-produce-q.out"; fi
        else
            report ours.grpc-python-consume FAIL "cannot install $PY_SDK from PyPI" "$WORK/pip.log"
        fi
    fi
    [[ -n "$npm_pid" ]] && node_scenario "$ep" "$npm_pid"
    [[ -n "$go_pid" ]] && go_scenario "$ep" "$addr" "$go_pid"
    stop_broker $b
}

node_scenario() { # <endpoint> <pid of node_sdk>
    local id=ours.grpc-node ep="$1" r1 r2 r3 r4
    wait "$2" || { report $id FAIL "cannot install $NODE_SDK with npm (or run it)" "$WORK/npm.log"; return; }
    node_run "$WORK/node-produce.out" produce "$ep" nd "$WORK/node-expect.txt"
    java_run "$CLIENT_CP" "$WORK/node-rprod.out" GrpcInterop produce "$NS" GrpcNode nr 10 "$WORK/node-expect.txt"
    node_run "$WORK/node-consume.out" consume "$ep" grpc_node GrpcNode,GrpcFifo:TagNF "$WORK/node-expect.txt" 60
    java_run "$GRPC_CP" "$WORK/node-jdrain.out" GrpcConsume drain "$ep" GrpcNode grpc_node_java "$WORK/node-expect.txt" 60
    r1="$(grep '^RESULT node-produce' "$WORK/node-produce.out")"
    r2="$(grep '^RESULT produce' "$WORK/node-rprod.out")"
    r3="$(grep '^RESULT node-consume' "$WORK/node-consume.out")"
    r4="$(grep '^RESULT drain' "$WORK/node-jdrain.out")"
    if [[ "$r1" == "RESULT node-produce PASS"* && "$r2" == "RESULT produce PASS sent=10/10"* \
        && "$r3" == "RESULT node-consume PASS"* && "$r4" == "RESULT drain PASS"* ]]; then
        report $id PASS "$NODE_SDK (node $(node --version)): sent ${r1#RESULT node-produce PASS sent=}; with 10 from DefaultMQProducer 5.3.3 its SimpleConsumer ${r3#RESULT node-consume PASS }; Java gRPC SimpleConsumer ${r4#RESULT drain PASS }"
    else
        report $id FAIL "${r1:-no produce result} / ${r2:-no remoting result} / ${r3:-no consume result} / ${r4:-no drain result}" \
            "$WORK/node-produce.out" "$WORK/node-consume.out" "$WORK/node-jdrain.out" "$WORK/npm.log"
    fi
}

go_scenario() { # <endpoint> <broker address> <pid of go_sdk>
    local id=ours.grpc-go ep="$1" r1 r2 r3
    wait "$3" || { report $id FAIL "cannot build compat-tests/grpc/go with $GO_SDK" "$WORK/go-build.log"; return; }
    mqadmin "$WORK/go-sg.out" updateSubGroup -b "$2" -g grpc_go -o true
    (cd "$WORK" && HOME="$WORK/client-home" timeout -k 10 120 "$WORK/grpcgo" produce "$ep" gd GrpcGo GrpcGoFifo \
        "$WORK/go-expect.txt" >"$WORK/go-produce.out" 2>&1)
    (cd "$WORK" && HOME="$WORK/client-home" timeout -k 10 150 "$WORK/grpcgo" consume "$ep" grpc_go GrpcGo,GrpcGoFifo \
        "$WORK/go-expect.txt" 90 >"$WORK/go-consume.out" 2>&1)
    grep '^GrpcGo ' "$WORK/go-expect.txt" 2>/dev/null | awk '{print $1, $2, $3, "-", $5, "-"}' >"$WORK/go-jexpect.txt"
    java_run "$GRPC_CP" "$WORK/go-jdrain.out" GrpcConsume drain "$ep" GrpcGo grpc_go_java "$WORK/go-jexpect.txt" 60
    r1="$(grep '^RESULT produce' "$WORK/go-produce.out")"
    r2="$(grep '^RESULT consume' "$WORK/go-consume.out")"
    r3="$(grep '^RESULT drain' "$WORK/go-jdrain.out")"
    if [[ "$r1" == "RESULT produce PASS sent=120/120" && "$r2" == "RESULT consume PASS"* && "$r3" == "RESULT drain PASS"* ]]; then
        report $id PASS "$GO_SDK ($(go env GOVERSION), SDK-default TLS): sent 120 (100 normal, 20 FIFO in 2 groups); its SimpleConsumer ${r2#RESULT consume PASS }; Java gRPC SimpleConsumer ${r3#RESULT drain PASS }"
    else
        report $id FAIL "${r1:-no produce result} / ${r2:-no consume result} / ${r3:-no drain result}" \
            "$WORK/go-produce.out" "$WORK/go-consume.out" "$WORK/go-jdrain.out" "$WORK/go-build.log"
    fi
}

renew() {
    local b=gr id=ours.grpc-auto-renew gp
    gp="$(pick_port 0)" || { report $id FAIL "no free port"; return; }
    start_broker $b rust brokerClusterName=GrpcRC brokerName=grpc-r enableProxy=true "grpcServerPort=$gp" \
        defaultInvisibleTimeMills=5000 renewAheadTimeMillis=3000 renewSchedulePeriodMillis=500 \
        || { report $id FAIL "broker did not start" "$WORK/$b.out"; return; }
    mqadmin "$WORK/rut.out" updateTopic -b "127.0.0.1:${BROKER_PORT[$b]}" -t GrpcRenew -r 2 -w 2 -a "+message.type=NORMAL"
    java_run "$GRPC_CP" "$WORK/renew.out" GrpcConsume renew "127.0.0.1:$gp" GrpcRenew grpc_renew 5 12000
    local r
    r="$(grep '^RESULT renew' "$WORK/renew.out")"
    if [[ "$r" == "RESULT renew PASS"* ]]; then report $id PASS "${r#RESULT renew PASS }"
    else report $id FAIL "${r:-no result}" "$WORK/renew.out" "$WORK/$b.out"; fi
    stop_broker $b
}

acl() {
    local b=ga id=ours.grpc-acl gp
    gp="$(pick_port 0)" || { report $id FAIL "no free port"; return; }
    local conf=(brokerClusterName=GrpcAC brokerName=grpc-a enableProxy=true "grpcServerPort=$gp" "rocketmqHome=$WORK/$b/home")
    mkdir -p "$WORK/$b/home/conf"
    printf '%s\n' "accounts:" "  - accessKey: grpcUserAK" "    secretKey: grpcSecret1" \
        "    whiteRemoteAddress:" "    admin: false" "    defaultTopicPerm: DENY" "    defaultGroupPerm: SUB" \
        "    topicPerms:" "      - GrpcAcl=PUB|SUB" "      - GrpcAclDeny=DENY" >"$WORK/$b/home/conf/plain_acl.yml"
    # Topics first (mqadmin does not sign), then the broker again with ACL on.
    start_broker $b rust "${conf[@]}" || { report $id FAIL "broker did not start" "$WORK/$b.out"; return; }
    local t
    for t in GrpcAcl GrpcAclDeny; do
        mqadmin "$WORK/aut-$t.out" updateTopic -b "127.0.0.1:${BROKER_PORT[$b]}" -t "$t" -r 2 -w 2 -a "+message.type=NORMAL"
    done
    stop_broker $b
    start_broker $b rust "${conf[@]}" aclEnable=true || { report $id FAIL "broker did not restart with ACL" "$WORK/$b.out"; return; }
    java_run "$GRPC_CP" "$WORK/acl.out" GrpcConsume acl "127.0.0.1:$gp" GrpcAcl GrpcAclDeny grpc_acl grpcUserAK grpcSecret1
    local r
    r="$(grep '^RESULT acl' "$WORK/acl.out")"
    if [[ "$r" == "RESULT acl PASS"* ]]; then report $id PASS "${r#RESULT acl PASS }"
    else report $id FAIL "${r:-no result}" "$WORK/acl.out" "$WORK/$b.out"; fi
    stop_broker $b
}

# Two lanes, each with its own name server: the SDK scenarios (busy: 10,000 pushed messages, the
# Go SDK's build), and the brokers of their own (auto-renew mostly waits: 5 messages held 12 s).
sdk_lane() {
    own_namesrv
    if wanted ours.grpc-produce || wanted ours.grpc-transaction; then interop; fi
    if wanted ours.grpc-simple || wanted ours.grpc-push || wanted ours.grpc-fifo || wanted ours.grpc-dlq \
        || wanted ours.grpc-remoting-to || wanted ours.grpc-python-consume || wanted ours.grpc-node \
        || wanted ours.grpc-go; then consume; fi
}
own_broker_lane() {
    own_namesrv
    if wanted ours.grpc-auto-renew; then renew; fi
    if wanted ours.grpc-acl; then acl; fi
    if wanted ours.grpc-standalone; then standalone; fi
}
run_lanes sdk_lane own_broker_lane
finish
