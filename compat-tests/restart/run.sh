#!/usr/bin/env bash
# Issue-9 features with a kill -9 of our broker in the middle, official Java clients 5.3.3 and
# 4.9.8 (compat-tests/java/src/client/RestartScenarios.java):
#
#   <ver>.transaction-kill9   half messages sent (commit, rollback, and UNKNOW answered by a
#                             check-back); the broker is killed before any check is due; after the
#                             restart exactly the committed ones are consumed and every UNKNOW one
#                             was checked back
#   <ver>.retry-kill9         a consumer answering RECONSUME_LATER saw its first retry when the
#                             broker is killed; after the restart every message is retried to
#                             maxReconsumeTimes and then read back from %DLQ%<group>
#   <ver>.sql92-kill9         an SQL92 consumer is a third through its matches when the broker is
#                             killed; after the restart it ends with exactly the matching messages
#
# Environment: COMPAT_SCENARIOS (comma list of id prefixes), RMQRS_BIN_DIR (target/debug).
# Last line: "restart-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=restart
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"

build_all
start_namesrv || { echo "restart-compat: 0 passed, 1 failed"; exit 1; }
# One broker per client version (RB, with CONF), each in its own lane: see the end.
CONF=(brokerClusterName=RestartC transactionCheckInterval=2000 transactionTimeOut=1000
    enablePropertyFilter=true "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s")

# kill9_mid <id> <classpath> <mode> <topic> <group> <n>: runs the program, kills the broker when
# the program is ready, restarts it, lets the program finish.
kill9_mid() {
    local id="$1" cp="$2" mode="$3" topic="$4" group="$5" n="$6" sig="$WORK/sig-$1"
    mkdir -p "$sig"
    timeout -k 10 400 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$cp:$LAUNCH_CP" WakeJoin RestartScenarios "$mode" "$NS" "$topic" "$group" "$sig" "$n" >"$WORK/$id.out" 2>&1 &
    local jp=$!
    if ! wait_for 120 test -e "$sig/ready"; then
        wait $jp
        report "$id" FAIL "the program never got ready" "$WORK/$id.out"
        return
    fi
    stop_broker "$RB" KILL
    log "$id: broker killed (kill -9)"
    start_broker "$RB" rust "${CONF[@]}" || { report "$id" FAIL "broker did not restart" "$WORK/$RB.out"; touch "$sig/restarted"; wait $jp; return; }
    touch "$sig/restarted"
    wait $jp
    local verdict
    verdict="$(grep '^RESULT' "$WORK/$id.out" | tail -1)"
    if [[ "$verdict" == "RESULT PASS"* ]]; then
        report "$id" PASS "${verdict#RESULT PASS }"
    else
        report "$id" FAIL "${verdict:-no RESULT line}" "$WORK/$id.out" "$WORK/$RB.out"
    fi
}

# version_lane <client version>: its own broker (name restart-b<v>), killed and restarted by each
# scenario of that client; the two versions run side by side, each with its own name server.
version_lane() {
    local ver="$1" cp="$CLIENT_CP" v="${1//./}"
    [[ $ver == 4.9.8 ]] && cp="$CLIENT4_CP"
    RB="rb$v"
    CONF+=("brokerName=restart-b$v")
    start_broker "$RB" rust "${CONF[@]}" || { report "$ver.broker-start" FAIL "broker did not start" "$WORK/$RB.out"; return; }
    wanted "$ver.transaction" && kill9_mid "$ver.transaction-kill9" "$cp" tx "RestartTx$v" "restart_tx_$v" 5
    wanted "$ver.retry" && kill9_mid "$ver.retry-kill9" "$cp" retry "RestartRetry$v" "restart_retry_$v" 5
    wanted "$ver.sql92" && kill9_mid "$ver.sql92-kill9" "$cp" sql "RestartSql$v" "restart_sql_$v" 300
    stop_broker "$RB"
}
run_lanes "own_namesrv; version_lane 5.3.3" "own_namesrv; version_lane 4.9.8"
finish
