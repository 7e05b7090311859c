#!/usr/bin/env bash
# ACL 1.0 (aclEnable=true, $ROCKETMQ_HOME/conf/plain_acl.yml) with the official Java clients 5.3.3
# and 4.9.8 signing through AclClientRPCHook(new SessionCredentials(ak, sk)).
#
#   acl.<cv>.send-restart-consume   right AK/SK: 20 messages acknowledged, broker restarted (kill -9
#                                   for 5.3.3, TERM for 4.9.8), a signed push consumer gets all 20
#   acl.<cv>.wrong-secret           a wrong secret is refused (code 1, "Check signature failed ...")
#   acl.<cv>.deny-topic             a topic with =DENY is refused ("No default permission for topic:...")
#   acl.<cv>.no-signature           a client without the hook is refused ("No accessKey is configured")
#   acl.admin.non-admin             mqadmin updateTopic signed by a non-admin account is refused
#   acl.admin.topic                 mqadmin updateTopic signed by the admin account (tools.yml) works
#   acl.reload                      plain_acl.yml edited on disk (acl-deny=PUB): sends pass within 12 s
#   acl.mqadmin.update-acl          mqadmin 4.9.7 updateAclConfig adds an account (written to the yml);
#                                   a client signing with it can send; clusterAclConfigVersion shows
#                                   the new dataVersion; deleteAclConfig removes it again
#   acl.go.<test>                   the Go client v2 with primitive.Credentials: signed send + consume,
#                                   wrong secret, DENY topic and no signature refused (compat-tests/go/acl_test.go)
#   acl.trace                       a signed producer with message trace on: its Pub trace reaches
#                                   RMQ_SYS_TRACE_TOPIC although the account has no permission on it
#                                   (Java lets PUB to the trace topic through) and queryMsgTraceById finds it
#   acl.mqadmin.global-white        mqadmin 4.9.7 updateGlobalWhiteAddr adds 127.0.0.1: an unsigned client
#                                   can send; set back, it is refused again
#   acl.java-parity.<case>          the same three refusals from the Java 4.9.7 broker (the last Java
#                                   broker with ACL 1.0 on Maven Central; 5.3.3 has ACL 2.0 only) give
#                                   the same code and remark (Java's stack line numbers normalized)
#   acl.java533.ignores-aclEnable   documents that Java 5.3.3 with aclEnable=true accepts unsigned sends
#   acl.java533.acl2-migrated       records what Java 5.3.3 answers with ACL 2.0 migrated from the same
#                                   plain_acl.yml (migrateAuthFromV1Enabled): the signed client works, the
#                                   refusals are NO_PERMISSION (16) with ACL 2.0's texts (we answer 4.9's)
#   acl.ours.acl2-migrated          ours with the same ACL 2.0 + migrateAuthFromV1Enabled configuration:
#                                   the signed send works and the three refusals equal Java 5.3.3's
#   acl2.<side>.*                   ACL 2.0 (authenticationEnabled + authorizationEnabled, an init super
#                                   user) on our broker (side "ours") and on the Java 5.3.3 broker ("java"):
#                                   mqadmin 5.3.3 createUser, getUser, updateUser, listUser, createAcl,
#                                   updateAcl, getAcl, listAcl, deleteAcl, deleteUser signed as the super
#                                   user; a 5.3.3 producer/consumer signed as the new user sends and
#                                   consumes; a wrong secret, a Deny topic, no signature and a deleted
#                                   user are refused with NO_PERMISSION (16) and Java's remark
#   acl2.same.<step>                ours and Java print the same mqadmin output and refusal for each step
#                                   (addresses normalized)
#   acl2.copy                       mqadmin copyUser and copyAcl from the Java 5.3.3 broker to ours
#                                   (acl2.* take about 6 minutes on a loaded 2-core host, most of it
#                                   the ~26 mqadmin JVM starts; ACL_SCENARIOS=acl2 runs only them)
#
# Environment: ACL_SCENARIOS (comma list of id prefixes), ACL_KEEP_WORK=1, RMQRS_BIN_DIR.
# Last line: "acl-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=acl
COMPAT_SCENARIOS="${ACL_SCENARIOS:-}"
COMPAT_KEEP_WORK="${ACL_KEEP_WORK:-0}"
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"

build_all
# The Java 4.9.7 broker + tools classpath (rocketmq-broker 4.9.8 is not on Maven Central).
B4="$JAVA_OUT/lib/broker-4.9.7"
want="$(sha256sum "$HERE/broker-4.9.7/pom.xml" | cut -d' ' -f1)"
if [[ ! -f "$B4/.stamp" || "$(cat "$B4/.stamp")" != "$want" ]]; then
    rm -rf "$B4" && mkdir -p "$B4"
    timeout 900 mvn -B -q -f "$HERE/broker-4.9.7/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$B4" >"$WORK/mvn-b4.log" 2>&1 || { tail -20 "$WORK/mvn-b4.log"; echo "acl-compat: 0 passed, 1 failed"; exit 1; }
    echo "$want" >"$B4/.stamp"
fi
start_namesrv || { echo "acl-compat: 0 passed, 1 failed"; exit 1; }

AK=RocketMQ SK=12345678 ADMIN_AK=rocketmq2 ADMIN_SK=87654321
acl_yml() { # <deny perm>
    cat <<EOF
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*
accounts:
  - accessKey: $AK
    secretKey: $SK
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - acl-ok=PUB|SUB
      - acl-deny=$1
    groupPerms:
      - acl-bad-group=DENY
  - accessKey: $ADMIN_AK
    secretKey: $ADMIN_SK
    whiteRemoteAddress: 192.168.1.*
    admin: true
EOF
}
home_setup() { # <broker name>
    mkdir -p "$WORK/$1/home/conf"
    acl_yml DENY >"$WORK/$1/home/conf/plain_acl.yml"
    cp "$WORK/logback.xml" "$WORK/$1/home/conf/logback_broker.xml"
}
# 4.9.7's broker and tools insist on $ROCKETMQ_HOME/conf/logback_*.xml.
cat >"$WORK/logback.xml" <<'EOF'
<configuration><appender name="O" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%d %p %c{0} - %m%n</pattern></encoder></appender><root level="WARN"><appender-ref ref="O"/></root></configuration>
EOF
# mqadmin as an ACL user: 5.3.3 tools read $ROCKETMQ_HOME/conf/tools.yml.
tools_home() { # <dir> <ak> <sk>
    mkdir -p "$1/conf"
    printf 'accessKey: %s\nsecretKey: %s\n' "$2" "$3" >"$1/conf/tools.yml"
}
admin_as() { # <ak> <sk> <out> <mqadmin args...>
    local d="$WORK/tools-$1"
    tools_home "$d" "$1" "$2"
    shift 2
    ROCKETMQ_HOME="$d" mqadmin "$@"
}
mqadmin4() { # <ak> <sk> <out> <args...>: mqadmin 4.9.7 signed as <ak>
    local d="$WORK/tools4-$1" out="$3"
    tools_home "$d" "$1" "$2"
    cp "$WORK/logback.xml" "$d/conf/logback_tools.xml"
    shift 3
    ROCKETMQ_HOME="$d" cds_run mqadmin-4.9.7 timeout 120 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Duser.home="$WORK/client-home" \
        -cp "$B4/*:$LAUNCH_CP" AdminExit "$@" -n "$NS" >"$out" 2>&1
}
client() { # <cp> <log> <args...>
    local cp="$1" out="$2"; shift 2
    timeout -k 10 300 java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
        -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$cp:$LAUNCH_CP" WakeJoin AclScenarios "$NS" "$@" >"$out" 2>&1
}
refusal() { grep '^REFUSED' "$1" | head -1 | sed -e 's/^REFUSED //' -e 's/\.java:[0-9]*)/.java:N)/'; }

home_setup r
start_broker r rust aclEnable=true traceTopicEnable=true "rocketmqHome=$WORK/r/home" || { echo "acl-compat: 0 passed, 1 failed"; exit 1; }
ADDR="127.0.0.1:${BROKER_PORT[r]}"

if wanted acl.admin.non-admin; then
    admin_as "$AK" "$SK" "$WORK/adm-nonadmin.log" updateTopic -b "$ADDR" -t acl-ok -r 4 -w 4
    if grep -q "Need admin permission for request code=17, but accessKey=$AK is not" "$WORK/adm-nonadmin.log"; then
        report acl.admin.non-admin PASS "updateTopic refused: Need admin permission"
    else report acl.admin.non-admin FAIL "not refused" "$WORK/adm-nonadmin.log"; fi
fi
if admin_as "$ADMIN_AK" "$ADMIN_SK" "$WORK/adm-topic.log" updateTopic -b "$ADDR" -t acl-ok -r 4 -w 4 \
    && grep -q "create topic to .* success" "$WORK/adm-topic.log"; then
    report acl.admin.topic PASS "admin account created acl-ok"
else report acl.admin.topic FAIL "updateTopic as admin" "$WORK/adm-topic.log"; fi
admin_as "$ADMIN_AK" "$ADMIN_SK" "$WORK/adm-topic2.log" updateTopic -b "$ADDR" -t acl-deny -r 4 -w 4

declare -A OUR_REFUSAL=()
for cv in 5.3.3 4.9.8; do
    if [[ $cv == 5.3.3 ]]; then cp="$CLIENT_CP"; sig=KILL; else cp="$CLIENT4_CP"; sig=TERM; fi
    id="acl.$cv.send-restart-consume"
    if wanted "$id"; then
        client "$cp" "$WORK/send-$cv.log" send "$AK" "$SK" acl-ok "acl-g-${cv//./}" 20
        sent=$(sed -n 's/^SENT //p' "$WORK/send-$cv.log")
        stop_broker r "$sig"
        start_broker r rust aclEnable=true traceTopicEnable=true "rocketmqHome=$WORK/r/home" >/dev/null
        # Everything acknowledged before the restart (each run adds 20 to the topic).
        [[ $cv == 5.3.3 ]] && want_n=20 || want_n=40
        client "$cp" "$WORK/consume-$cv.log" consume "$AK" "$SK" acl-ok "acl-g-${cv//./}" "$want_n"
        if [[ "$sent" == 20 ]] && grep -q '^RESULT consume PASS' "$WORK/consume-$cv.log"; then
            report "$id" PASS "sent=20, restart ($sig), consumed $want_n distinct (all acknowledged)"
        else report "$id" FAIL "sent=$sent" "$WORK/send-$cv.log" "$WORK/consume-$cv.log"; fi
    fi
    for c in wrong-secret deny-topic no-signature; do
        id="acl.$cv.$c"
        wanted "$id" || continue
        case $c in
            wrong-secret) args=("$AK" wrongsecret acl-ok acl-g-x 1); want="code=1 remark=org.apache.rocketmq.acl.common.AclException: Check signature failed for accessKey=$AK" ;;
            deny-topic) args=("$AK" "$SK" acl-deny acl-g-x 1); want="code=1 remark=org.apache.rocketmq.acl.common.AclException: No default permission for topic:acl-deny" ;;
            no-signature) args=(- - acl-ok acl-g-x 1); want="code=1 remark=org.apache.rocketmq.acl.common.AclException: No accessKey is configured" ;;
        esac
        client "$cp" "$WORK/$c-$cv.log" refused "${args[@]}"
        got="$(refusal "$WORK/$c-$cv.log")"
        OUR_REFUSAL[$c]="$got"
        if [[ "$got" == "$want"* ]]; then report "$id" PASS "${got:0:110}"
        else report "$id" FAIL "got: $got" "$WORK/$c-$cv.log"; fi
    done
done

if wanted acl.go; then
    (cd "$ROOT/compat-tests/go" && COMPAT_GO_ACL=1 NAMESRV_ADDR="$NS" COMPAT_ACL_AK="$AK" COMPAT_ACL_SK="$SK" \
        COMPAT_ACL_TOPIC=acl-ok COMPAT_ACL_DENY_TOPIC=acl-deny timeout -k 10 600 go test -count=1 -v -run 'TestACL' ./...) \
        >"$WORK/go-acl.log" 2>&1
    for t in TestACLSignedSendConsume TestACLWrongSecretRefused TestACLDenyTopicRefused TestACLNoSignatureRefused; do
        if grep -q -- "--- PASS: $t" "$WORK/go-acl.log"; then report "acl.go.$t" PASS "go test"
        else report "acl.go.$t" FAIL "go test" "$WORK/go-acl.log"; fi
    done
fi

if wanted acl.trace; then
    client "$CLIENT_CP" "$WORK/trace.log" trace "$AK" "$SK" acl-ok acl-g-t 3
    id=$(sed -n 's/^MSGID //p' "$WORK/trace.log" | tail -1)
    ok=0
    for ((t = 0; t < 8; t++)); do
        [[ -n "$id" ]] || break
        admin_as "$ADMIN_AK" "$ADMIN_SK" "$WORK/trace-q.log" queryMsgTraceById -i "$id"
        grep -q "^Pub " "$WORK/trace-q.log" && { ok=1; break; }
        sleep 2
    done
    if [[ $ok == 1 ]]; then report acl.trace PASS "Pub trace of $id found (signed trace producer, no perm on the trace topic)"
    else report acl.trace FAIL "no Pub trace for '$id'" "$WORK/trace.log" "$WORK/trace-q.log"; fi
fi

if wanted acl.reload; then
    acl_yml PUB >"$WORK/r/home/conf/plain_acl.yml.new" && mv "$WORK/r/home/conf/plain_acl.yml.new" "$WORK/r/home/conf/plain_acl.yml"
    ok=0
    for ((i = 0; i < 6; i++)); do
        sleep 2
        if client "$CLIENT_CP" "$WORK/reload.log" send "$AK" "$SK" acl-deny acl-g-r 1; then ok=1; break; fi
    done
    if [[ $ok == 1 ]]; then report acl.reload PASS "acl-deny=PUB took effect after $(( (i + 1) * 2 )) s"
    else report acl.reload FAIL "still refused" "$WORK/reload.log"; fi
    acl_yml DENY >"$WORK/r/home/conf/plain_acl.yml"
fi

if wanted acl.mqadmin.update-acl; then
    sleep 6  # the DENY rewrite above is picked up
    mqadmin4 "$ADMIN_AK" "$ADMIN_SK" "$WORK/upd.log" updateAclConfig -b "$ADDR" -a newuser01 -s newsecret01 \
        -t "acl-ok=PUB" -u SUB -i DENY
    client "$CLIENT_CP" "$WORK/upd-send.log" send newuser01 newsecret01 acl-ok acl-g-n 1
    mqadmin4 "$ADMIN_AK" "$ADMIN_SK" "$WORK/ver.log" clusterAclConfigVersion -c DefaultCluster
    mqadmin4 "$ADMIN_AK" "$ADMIN_SK" "$WORK/del.log" deleteAclConfig -b "$ADDR" -a newuser01
    in_yml=$(grep -c newuser01 "$WORK/r/home/conf/plain_acl.yml")
    if grep -q "success" "$WORK/upd.log" && grep -q '^RESULT send PASS' "$WORK/upd-send.log" \
        && grep -q "plain_acl.yml" "$WORK/ver.log" && grep -q success "$WORK/del.log" && [[ $in_yml == 0 ]]; then
        ver=$(grep plain_acl.yml "$WORK/ver.log" | awk '{print $5}')
        report acl.mqadmin.update-acl PASS "updateAclConfig -> signed send ok -> clusterAclConfigVersion $ver -> deleteAclConfig"
    else report acl.mqadmin.update-acl FAIL "in_yml=$in_yml" "$WORK/upd.log" "$WORK/upd-send.log" "$WORK/ver.log" "$WORK/del.log"; fi
fi
if wanted acl.mqadmin.global-white; then
    mqadmin4 "$ADMIN_AK" "$ADMIN_SK" "$WORK/gw.log" updateGlobalWhiteAddr -b "$ADDR" -g "10.10.103.*,127.0.0.1"
    client "$CLIENT_CP" "$WORK/gw-send.log" send - - acl-ok acl-g-w 1
    mqadmin4 "$ADMIN_AK" "$ADMIN_SK" "$WORK/gw2.log" updateGlobalWhiteAddr -b "$ADDR" -g "10.10.103.*,192.168.0.*"
    client "$CLIENT_CP" "$WORK/gw-refused.log" refused - - acl-ok acl-g-w 1
    if grep -q '^RESULT send PASS' "$WORK/gw-send.log" && grep -q '^RESULT refused PASS' "$WORK/gw-refused.log" \
        && grep -q "192.168.0" "$WORK/r/home/conf/plain_acl.yml"; then
        report acl.mqadmin.global-white PASS "unsigned send allowed while 127.0.0.1 was white-listed, refused after"
    else report acl.mqadmin.global-white FAIL "" "$WORK/gw.log" "$WORK/gw-send.log" "$WORK/gw-refused.log"; fi
fi
stop_broker r

# What Java answers with the same plain_acl.yml.
if wanted acl.java-parity; then
    home_setup j
    save_cp="$SERVER_CP"; SERVER_CP="$B4/*"
    JVM+=(--add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED)
    if start_broker j java aclEnable=true; then
        JADDR="127.0.0.1:${BROKER_PORT[j]}"
        tools_home "$WORK/tools-j" "$ADMIN_AK" "$ADMIN_SK"
        ROCKETMQ_HOME="$WORK/tools-j" mqadmin "$WORK/j-topic.log" updateTopic -b "$JADDR" -t acl-ok -r 4 -w 4
        ROCKETMQ_HOME="$WORK/tools-j" mqadmin "$WORK/j-topic2.log" updateTopic -b "$JADDR" -t acl-deny -r 4 -w 4
        for c in wrong-secret deny-topic no-signature; do
            case $c in
                wrong-secret) args=("$AK" wrongsecret acl-ok acl-g-x 1) ;;
                deny-topic) args=("$AK" "$SK" acl-deny acl-g-x 1) ;;
                no-signature) args=(- - acl-ok acl-g-x 1) ;;
            esac
            client "$CLIENT_CP" "$WORK/j-$c.log" refused "${args[@]}"
            got="$(refusal "$WORK/j-$c.log")"
            if [[ -n "$got" && "$got" == "${OUR_REFUSAL[$c]:-}" ]]; then report "acl.java-parity.$c" PASS "same: ${got:0:90}"
            else report "acl.java-parity.$c" FAIL "java: $got | ours: ${OUR_REFUSAL[$c]:-}" "$WORK/j-$c.log"; fi
        done
        stop_broker j
    else
        report acl.java-parity FAIL "Java 4.9.7 broker did not start" "$WORK/j.out"
    fi
    SERVER_CP="$save_cp"
fi

if wanted acl.java533; then
    home_setup k
    if start_broker k java aclEnable=true; then
        # Java 5.3.3 registers a little after "boot success"; a topic created before is refused by
        # the name server (an increment before the first full registration).
        wait_for 60 grep -q "new broker registered.*:${BROKER_PORT[k]}" "$WORK/namesrv.log"
        mqadmin "$WORK/k-topic.log" updateTopic -b "127.0.0.1:${BROKER_PORT[k]}" -t acl-k -r 4 -w 4
        if client "$CLIENT_CP" "$WORK/k-send.log" send - - acl-k acl-g-k 1; then
            report acl.java533.ignores-aclEnable PASS "Java 5.3.3 with aclEnable=true accepts an unsigned send (ACL 1.0 gone)"
        else report acl.java533.ignores-aclEnable FAIL "Java 5.3.3 refused" "$WORK/k-send.log"; fi
        stop_broker k
    else report acl.java533.ignores-aclEnable FAIL "Java 5.3.3 did not start" "$WORK/k.out"; fi
fi

if wanted acl.java533.acl2-migrated; then
    home_setup v
    ACL2_MIGRATE_CONF=(authenticationEnabled=true authorizationEnabled=true
        authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
        authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
        authorizationProvider=org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider
        authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider
        "initAuthenticationUser={\"username\":\"$ADMIN_AK\",\"password\":\"$ADMIN_SK\"}"
        "innerClientAuthenticationCredentials={\"accessKey\":\"$ADMIN_AK\",\"secretKey\":\"$ADMIN_SK\"}")
    if start_broker v java migrateAuthFromV1Enabled=true "${ACL2_MIGRATE_CONF[@]}"; then
        wait_for 60 grep -q "new broker registered.*:${BROKER_PORT[v]}" "$WORK/namesrv.log"
        tools_home "$WORK/tools-v" "$ADMIN_AK" "$ADMIN_SK"
        for t in acl-ok acl-deny; do
            ROCKETMQ_HOME="$WORK/tools-v" mqadmin "$WORK/v-topic.log" updateTopic -b "127.0.0.1:${BROKER_PORT[v]}" -t "$t" -r 4 -w 4
        done
        client "$CLIENT_CP" "$WORK/v-send.log" send "$AK" "$SK" acl-ok acl-g-v 2
        client "$CLIENT_CP" "$WORK/v-wrong.log" refused "$AK" wrongsecret acl-ok acl-g-x 1
        client "$CLIENT_CP" "$WORK/v-deny.log" refused "$AK" "$SK" acl-deny acl-g-x 1
        client "$CLIENT_CP" "$WORK/v-none.log" refused - - acl-ok acl-g-x 1
        for c in wrong deny none; do log "Java 5.3.3 ACL 2.0, $c: $(refusal "$WORK/v-$c.log")"; done
        if grep -q '^RESULT send PASS' "$WORK/v-send.log" && [[ "$(refusal "$WORK/v-wrong.log")" == code=16* ]]; then
            report acl.java533.acl2-migrated PASS "signed send ok; wrong secret -> $(refusal "$WORK/v-wrong.log")"
        else report acl.java533.acl2-migrated FAIL "" "$WORK/v-send.log" "$WORK/v-wrong.log"; fi
        stop_broker v
        # Ours with the same configuration: the same answers.
        home_setup w
        if start_broker w rust migrateAuthFromV1Enabled=true "rocketmqHome=$WORK/w/home" "${ACL2_MIGRATE_CONF[@]}"; then
            tools_home "$WORK/tools-w" "$ADMIN_AK" "$ADMIN_SK"
            for t in acl-ok acl-deny; do
                ROCKETMQ_HOME="$WORK/tools-w" mqadmin "$WORK/w-topic.log" updateTopic -b "127.0.0.1:${BROKER_PORT[w]}" -t "$t" -r 4 -w 4
            done
            client "$CLIENT_CP" "$WORK/w-send.log" send "$AK" "$SK" acl-ok acl-g-v 2
            client "$CLIENT_CP" "$WORK/w-wrong.log" refused "$AK" wrongsecret acl-ok acl-g-x 1
            client "$CLIENT_CP" "$WORK/w-deny.log" refused "$AK" "$SK" acl-deny acl-g-x 1
            client "$CLIENT_CP" "$WORK/w-none.log" refused - - acl-ok acl-g-x 1
            same=1
            for c in wrong deny none; do
                [[ "$(refusal "$WORK/w-$c.log")" == "$(refusal "$WORK/v-$c.log")" ]] || { same=0; log "differs, $c: ours $(refusal "$WORK/w-$c.log")"; }
            done
            if grep -q '^RESULT send PASS' "$WORK/w-send.log" && [[ $same == 1 ]]; then
                report acl.ours.acl2-migrated PASS "signed send ok; wrong secret, DENY topic, no signature: same answers as Java 5.3.3"
            else report acl.ours.acl2-migrated FAIL "" "$WORK/w-send.log" "$WORK/w-deny.log"; fi
            stop_broker w
        else report acl.ours.acl2-migrated FAIL "our broker did not start" "$WORK/w.out"; fi
    else report acl.java533.acl2-migrated FAIL "Java 5.3.3 did not start" "$WORK/v.out"; fi
fi
# ---- ACL 2.0: the same steps against ours and the Java 5.3.3 broker, outputs compared.
A2_ADMIN=acl2admin A2_ADMIN_SK=acl2adminpw A2U=acl2user
ACL2_CONF=(authenticationEnabled=true authorizationEnabled=true
    authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
    authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
    authorizationProvider=org.apache.rocketmq.auth.authorization.provider.DefaultAuthorizationProvider
    authorizationMetadataProvider=org.apache.rocketmq.auth.authorization.provider.LocalAuthorizationMetadataProvider
    "initAuthenticationUser={\"username\":\"$A2_ADMIN\",\"password\":\"$A2_ADMIN_SK\"}"
    "innerClientAuthenticationCredentials={\"accessKey\":\"$A2_ADMIN\",\"secretKey\":\"$A2_ADMIN_SK\"}")
A2_STEPS=(createUser getUser updateUser listUser createAcl createAcl2 updateAcl getAcl listAcl
    deleteAcl getAcl2 deleteUser listUser2)
# acl2_side <side> <kind>: every step's output in $WORK/a2-<side>/<step>.out, addresses as ADDR.
acl2_side() {
    local side="$1" kind="$2" n="a2$1" d="$WORK/a2-$1" addr
    mkdir -p "$d"
    start_broker "$n" "$kind" "${ACL2_CONF[@]}" || { report "acl2.$side.start" FAIL "broker did not start" "$WORK/$n.out"; return 1; }
    addr="127.0.0.1:${BROKER_PORT[$n]}"
    [[ $kind == java ]] && wait_for 60 grep -q "new broker registered.*:${BROKER_PORT[$n]}" "$WORK/namesrv.log"
    tools_home "$d/tools" "$A2_ADMIN" "$A2_ADMIN_SK"
    a2() { local step="$1"; shift; ROCKETMQ_HOME="$d/tools" mqadmin "$d/$step.raw" "$@"
        sed -e "s/$addr/ADDR/g" -e '/ |-/d' -e '/^$/d' -e '/^[0-9:. ]*\(WARN\|INFO\)/d' "$d/$step.raw" >"$d/$step.out"; }
    a2 topic1 updateTopic -b "$addr" -t acl2-ok -r 4 -w 4
    a2 topic2 updateTopic -b "$addr" -t acl2-deny -r 4 -w 4
    a2 createUser createUser -b "$addr" -u "$A2U" -p acl2pass1
    a2 getUser getUser -b "$addr" -u "$A2U"
    a2 updateUser updateUser -b "$addr" -u "$A2U" -p acl2pass2
    a2 listUser listUser -b "$addr"
    a2 createAcl createAcl -b "$addr" -s "User:$A2U" -r Topic:acl2-ok,Group:acl2-g -a Pub,Sub -d Allow
    a2 createAcl2 createAcl -b "$addr" -s "User:$A2U" -r Topic:acl2-deny -a Pub -d Deny
    a2 updateAcl updateAcl -b "$addr" -s "User:$A2U" -r Topic:acl2-ok -a Pub,Sub,Get -i 127.0.0.1 -d Allow
    a2 getAcl getAcl -b "$addr" -s "User:$A2U"
    a2 listAcl listAcl -b "$addr"
    client "$CLIENT_CP" "$d/send.log" send "$A2U" acl2pass2 acl2-ok acl2-g 5
    client "$CLIENT_CP" "$d/consume.log" consume "$A2U" acl2pass2 acl2-ok acl2-g 5
    # A refusal is judged once the broker answered: a client timeout (a loaded host) is retried.
    a2_refused() { local out="$1"; shift
        client "$CLIENT_CP" "$out" refused "$@"
        grep -q RemotingTimeoutException "$out" && { log "client timed out, retrying: $out"; client "$CLIENT_CP" "$out" refused "$@"; }
        return 0; }
    a2_refused "$d/wrong.log" "$A2U" wrongpass1 acl2-ok acl2-g 1
    a2_refused "$d/deny.log" "$A2U" acl2pass2 acl2-deny acl2-g 1
    a2_refused "$d/none.log" - - acl2-ok acl2-g 1
    a2 deleteAcl deleteAcl -b "$addr" -s "User:$A2U" -r Topic:acl2-deny
    a2 getAcl2 getAcl -b "$addr" -s "User:$A2U"
    a2 deleteUser deleteUser -b "$addr" -u "$A2U"
    a2 listUser2 listUser -b "$addr"
    a2_refused "$d/gone.log" "$A2U" acl2pass2 acl2-ok acl2-g 1
    for c in wrong deny none gone; do refusal "$d/$c.log" >"$d/$c.out"; done
    if [[ $kind == java ]] && wanted acl2.copy; then
        # copyUser / copyAcl from the Java broker to a fresh broker of ours.
        a2 copyUser0 createUser -b "$addr" -u acl2copy -p acl2copypw
        a2 copyAcl0 createAcl -b "$addr" -s User:acl2copy -r Topic:acl2-ok -a Sub -d Allow
        if start_broker a2copy rust brokerName=a2copy "${ACL2_CONF[@]}"; then
            local to="127.0.0.1:${BROKER_PORT[a2copy]}"
            a2 copyUser copyUser -f "$addr" -t "$to" -u acl2copy
            a2 copyAcl copyAcl -f "$addr" -t "$to" -s User:acl2copy
            a2 copyGetUser getUser -b "$to" -u acl2copy
            a2 copyGetAcl getAcl -b "$to" -s User:acl2copy
            stop_broker a2copy
            if grep -q "^acl2copy  *acl2copypw  *Normal  *enable" "$d/copyGetUser.out" \
                && grep -q "User:acl2copy  *Custom  *Topic:acl2-ok  *\[Sub\]  *null  *Allow" "$d/copyGetAcl.out"; then
                report acl2.copy PASS "copyUser and copyAcl from Java 5.3.3 to ours"
            else report acl2.copy FAIL "" "$d/copyUser.raw" "$d/copyAcl.raw" "$d/copyGetUser.raw" "$d/copyGetAcl.raw"; fi
        else report acl2.copy FAIL "our broker did not start" "$WORK/a2copy.out"; fi
    fi
    stop_broker "$n"

    local bad=() s
    for s in createUser updateUser createAcl createAcl2 updateAcl deleteAcl deleteUser; do
        grep -q "success" "$d/$s.out" || bad+=("$s")
    done
    grep -q "^$A2U  *acl2pass1  *Normal  *enable" "$d/getUser.out" || bad+=(getUser)
    grep -q "^$A2U  *acl2pass2  *Normal  *enable" "$d/listUser.out" || bad+=(listUser)
    grep -q "^$A2_ADMIN  *$A2_ADMIN_SK  *Super  *enable" "$d/listUser.out" || bad+=(listUser-admin)
    grep -q "$A2U" "$d/listUser2.out" && bad+=(listUser2)
    if [[ ${#bad[@]} == 0 ]]; then report "acl2.$side.mqadmin" PASS "createUser getUser updateUser listUser deleteUser"
    else report "acl2.$side.mqadmin" FAIL "steps: ${bad[*]}" "$d/${bad[0]%%-*}.raw"; fi
    bad=()
    grep -q "User:$A2U  *Custom  *Topic:acl2-ok  *\[Pub, Sub, Get\]  *\[127.0.0.1\]  *Allow" "$d/getAcl.out" || bad+=(getAcl)
    grep -q "User:$A2U  *Custom  *Topic:acl2-deny  *\[Pub\]  *null  *Deny" "$d/listAcl.out" || bad+=(listAcl)
    grep -q "acl2-deny" "$d/getAcl2.out" && bad+=(getAcl2)
    if [[ ${#bad[@]} == 0 ]]; then report "acl2.$side.mqadmin-acl" PASS "createAcl updateAcl getAcl listAcl deleteAcl"
    else report "acl2.$side.mqadmin-acl" FAIL "steps: ${bad[*]}" "$d/${bad[0]}.raw"; fi
    if grep -q '^RESULT send PASS' "$d/send.log" && grep -q '^RESULT consume PASS' "$d/consume.log"; then
        report "acl2.$side.signed-send-consume" PASS "5 sent and consumed as $A2U"
    else report "acl2.$side.signed-send-consume" FAIL "" "$d/send.log" "$d/consume.log"; fi
    local want
    for c in wrong deny none gone; do
        case $c in
            wrong) want="code=16 remark=check signature failed." ;;
            deny) want="code=16 remark=User:$A2U has no permission to access Topic:acl2-deny from 127.0.0.1, the decision is deny." ;;
            none) want="code=16 remark=username cannot be null." ;;
            gone) want="code=16 remark=User:$A2U is not found." ;;
        esac
        if [[ "$(cat "$d/$c.out")" == "$want"* ]]; then report "acl2.$side.refused-$c" PASS "$(cut -c1-100 "$d/$c.out")"
        else report "acl2.$side.refused-$c" FAIL "got: $(cat "$d/$c.out")" "$d/$c.log"; fi
    done
}
if wanted acl2; then
    acl2_side ours rust
    if acl2_side java java; then
        for s in "${A2_STEPS[@]}" wrong deny none gone; do
            if diff -q "$WORK/a2-ours/$s.out" "$WORK/a2-java/$s.out" >/dev/null; then
                report "acl2.same.$s" PASS "$(grep -vc '^$' "$WORK/a2-ours/$s.out") lines identical"
            else report "acl2.same.$s" FAIL "ours and Java differ" "$WORK/a2-ours/$s.out" "$WORK/a2-java/$s.out"; fi
        done
    fi
fi
finish
