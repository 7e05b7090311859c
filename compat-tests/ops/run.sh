#!/usr/bin/env bash
# Every mqadmin 5.3.3 command that applies to one name server and one broker, against the Java
# broker 5.3.3 and against ours, after the same produce/consume workload.
#
# The commands are in compat-tests/ops/commands.tsv; OpsBatch (compat-tests/java/src/admin) runs
# them in one JVM through the mqadmin subcommand classes (MQAdminStartup's own parsing and
# execute), first the workload (60 messages produced and consumed, producer and consumer kept
# online). Each broker has its own name server (ours), so a stopped broker leaves no route behind.
#
# A command passes when execute() returns without exception, its output matches the regex of the
# tsv and carries no error words. Commands flagged "keys" also compare the key set of their output
# (brokerStatus, getBrokerConfig): a key Java prints and ours does not fails ours. Commands flagged
# "unsup" (RocksDB, cold-data flow control, static topics: out of scope) pass for ours when the
# broker answers a clear "not supported"; commands flagged "gap" (ACL 2.0 users and ACLs) are a
# known gap listed in FINDINGS: shown in the table, not counted.
#
# The result is a table (command, Java, ours); with OPS_FINDINGS=1 it replaces the block between
# the "ops-table" markers in compat-tests/FINDINGS.md.
#
# OpsBatch needs JDK 17+ (`-Djava.security.manager=allow`: a command calling System.exit on bad
# options fails that row instead of ending the JVM). Both sides run at once; about 2.5 minutes.
#
# One scenario per command that passes against Java: "ops.<id>"; exit 1 when ours fails one.
# Environment: OPS_COUNT (60), OPS_KEEP_WORK, OPS_FINDINGS, OPS_BROKERS ("java rust"),
#              OPS_COMMANDS (another commands file),
#              RMQRS_BIN_DIR (target/debug).
# Last line: "ops-compat: N passed, M failed".
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=ops
COMPAT_KEEP_WORK="${OPS_KEEP_WORK:-0}"
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"
COUNT="${OPS_COUNT:-60}"
BROKERS="${OPS_BROKERS:-java rust}"
COMMANDS="${OPS_COMMANDS:-$HERE/commands.tsv}"
ADMIN_CP="$JAVA_OUT/classes/admin:$SERVER_CP"

build_all

# run_side <java|rust>: name server, broker, OpsBatch; results in $WORK/<kind>/results.txt.
run_side() {
    local kind="$1" out="$WORK/$1"
    mkdir -p "$out"
    local work="$WORK"
    WORK="$out" # start_namesrv writes namesrv.conf and namesrv.log there: one per side
    start_namesrv || return 1
    WORK="$work"
    PID[ns_$kind]=${PID[ns]}
    unset 'PID[ns]'
    local extra=()
    # The Java broker needs metadata providers for the ACL 2.0 user and ACL commands.
    [[ "$kind" == java ]] && extra=(
        "authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider"
        "authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider")
    start_broker "b_$kind" "$kind" "brokerName=ops-b" "${extra[@]}" || return 1
    local addr="127.0.0.1:${BROKER_PORT[b_$kind]}"
    # Inputs of updateTopicList and updateSubGroupList.
    printf '[{"topicName":"OpsTL1","readQueueNums":4,"writeQueueNums":4,"perm":6},{"topicName":"OpsTL2","readQueueNums":2,"writeQueueNums":2,"perm":6}]\n' \
        >"$out/topics.json"
    printf '[{"groupName":"OpsGL1","consumeEnable":true,"retryMaxTimes":16},{"groupName":"OpsGL2","consumeEnable":true,"retryMaxTimes":3}]\n' \
        >"$out/groups.json"
    AdminProbe_wait "$addr" || log "$kind broker not in the cluster list yet"
    log "$kind: running $(grep -vc '^#' "$COMMANDS") commands"
    # cd: consumerStatus writes its ConsumerRunningInfo files into the working directory.
    (cd "$out" && exec timeout -k 10 600 java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 -Djava.security.manager=allow \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home-$kind" \
        -Drocketmq.client.logRoot="$WORK/client-logs-$kind" -cp "$ADMIN_CP" \
        OpsBatch "$COMMANDS" "$out" "$NS" "$addr" ops-b "$COUNT" >"$out/batch.log" 2>&1)
    local rc=$?
    [[ $rc == 0 ]] || log "$kind: OpsBatch exited with $rc"
    grep '^RESULT ' "$out/batch.log" >"$out/results.txt"
    log "$kind: $(grep -c ' PASS' "$out/results.txt") pass, $(grep -c ' FAIL' "$out/results.txt") fail; $(grep -m1 WORKLOAD "$out/batch.log")"
    stop_broker "b_$kind"
}
AdminProbe_wait() {
    timeout 60 java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$ADMIN_CP" \
        AdminProbe "$NS" waitbroker 40 DefaultCluster "$1" >/dev/null 2>&1
}

# Both sides at once (each on its own ports): most of a command's time is the admin client's
# start and shutdown, not CPU. Each side stops what it started, also when interrupted.
side_pids=()
for k in $BROKERS; do
    (
        trap 'for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null; done' EXIT
        run_side "$k" || log "$k side failed to start"
        kill "${PID[ns_$k]}" 2>/dev/null
    ) &
    side_pids+=($!)
    sleep 2
done
wait "${side_pids[@]}"

# keys_of <file>: the keys of "key : value" / "key=value" lines. The two ACL 2.0 provider keys
# are left out: Java echoes every key of its -c file (registerConfig(properties)) and only the
# Java broker's file has them.
keys_of() {
    sed -nE 's/^([][A-Za-z0-9_.]+)[[:space:]]*[:=].*/\1/p' "$1" \
        | grep -vxE 'authenticationMetadataProvider|authorizationMetadataProvider' | sort -u
}
# Verdicts by side and id ("PASS ...", "FAIL ..."), read once; "-" when not run.
declare -A VERDICT=()
for k in java rust; do
    while read -r _ id rest; do VERDICT[$k/$id]="$rest"; done < <(grep '^RESULT ' "$WORK/$k/results.txt" 2>/dev/null)
done

table="$WORK/table.md"
{
    echo "| command | Java 5.3.3 | ours | note |"
    echo "|---|---|---|---|"
} >"$table"
while IFS=$'\t' read -r id flags _ args; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    j="${VERDICT[java/$id]:--}"; r="${VERDICT[rust/$id]:--}"
    note=""
    if [[ "$flags" == *keys* && "$j" == PASS* && -f "$WORK/java/$id.out" && -f "$WORK/rust/$id.out" ]]; then
        kj="$(keys_of "$WORK/java/$id.out")"; kr="$(keys_of "$WORK/rust/$id.out")"
        missing="$(comm -23 <(echo "$kj") <(echo "$kr") | tr '\n' ' ')"
        nj=$(grep -c . <<<"$kj"); nr=$(grep -c . <<<"$kr")
        note="keys: Java $nj, ours $nr"
        if [[ -n "$missing" && "$r" == PASS* ]]; then
            r="FAIL missing keys: ${missing:0:200}"
        fi
    fi
    if [[ "$flags" == *unsup* && "$r" == FAIL* ]] && grep -q "not supported" "$WORK/rust/$id.out" 2>/dev/null; then
        r="PASS (answers not supported: out of scope)"
    fi
    js="${j%% *}"; rs="${r%% *}"
    [[ "$r" == "PASS (answers"* ]] && rs="not supported"
    [[ "$rs" == FAIL ]] && note="${note:+$note; }${r#FAIL }"
    [[ "$flags" == *gap* && "$r" != PASS* ]] && note="known gap (FINDINGS): ${note}"
    note="${note//|//}"
    printf '| `%s` | %s | %s | %s |\n' "$args" "$js" "$rs" "${note:0:160}" >>"$table"
    if [[ "$BROKERS" == *rust* ]]; then
        if [[ "$flags" == *gap* && "$r" != PASS* ]]; then
            echo "ops.$id known gap, not counted: ${r:0:160}"
        elif [[ "$r" == PASS* ]]; then
            report "ops.$id" PASS "${r#PASS }"
        elif [[ "$j" == PASS* || "$BROKERS" != *java* ]]; then
            report "ops.$id" FAIL "${r#FAIL }" "$WORK/rust/$id.out"
        else
            report "ops.$id" PASS "fails against Java too: ${j:0:120}"
        fi
    fi
done <"$COMMANDS"
cp "$table" "$ROOT/target/ops-table.md" 2>/dev/null || true
if [[ "${OPS_FINDINGS:-0}" == 1 ]]; then
    f="$ROOT/compat-tests/FINDINGS.md"
    if grep -q '<!-- ops-table:begin -->' "$f"; then
        awk -v t="$table" '
            /<!-- ops-table:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next }
            /<!-- ops-table:end -->/ { skip = 0 }
            !skip { print }' "$f" >"$WORK/findings.new" && cp "$WORK/findings.new" "$f"
        log "table written into compat-tests/FINDINGS.md"
    else
        log "FINDINGS.md has no ops-table markers; table in target/ops-table.md"
    fi
fi
finish
