#!/usr/bin/env bash
# Master-slave replication with the official Java client 5.3.3 and Java 5.3.3 brokers.
#
#   ours.cluster-list          mqadmin clusterList shows the master (id 0) and the slave (id 1)
#   ours.sync.replicate        our SYNC_MASTER + our slave: a Java producer's 20,000 messages are all
#                              SEND_OK and the slave's CommitLog is byte-identical (rmqstore diff)
#   ours.ha-status             mqadmin haStatus on the master: one slave, in sync
#   ours.sync.metadata         the slave syncs the topic and the consumer offsets from its master
#   ours.sync.read-from-slave  master killed: a Java push consumer finishes the topic from the slave
#   ours.sync.offsets-back     master back: the same group consumes nothing again (offsets carried over)
#   ours.sync.kill9            10 cycles of kill -9 of the master under load: every SEND_OK message
#                              is on the slave, and the CommitLogs are identical at the end
#   ours.enospc.kill9          as ours.sync.kill9, with both stores on a small loop-mounted ext4 that a
#                              filler process keeps filling to 100 % and freeing again: every SEND_OK
#                              message is on the slave and the master (FINDINGS 25). The brokers run
#                              with cleanFileForciblyEnable=false: by default (as in Java) retention
#                              deletes the oldest files, acknowledged or not, above 85 % used. Needs
#                              root and a loop device, otherwise reported as SKIP (not counted)
#   ours.bogus-peer            a fake slave reporting offsets beyond the master's end gets no send
#                              acknowledged (apache/rocketmq#3015)
#   mixed.<master>-<slave>.<mode>   java-rust and rust-java pairs, SYNC and ASYNC: CommitLogs
#                              byte-identical, the slave syncs topic + offsets, and serves a Java
#                              consumer the whole topic once the master is gone
#
# Java masters get inSyncReplicas=2 under SYNC_MASTER: Java 5.x does not wait for a slave at the
# default of 1. Java slaves get slaveReadEnable=true: Java 5.x slaves refuse pulls without it.
#
# Environment: HA_COMPAT_COUNT (20000), HA_MIXED_COUNT (2000), HA_KILL_CYCLES (10),
#              HA_SCENARIOS (comma list of prefixes to run, default all), RMQRS_BIN_DIR (target/debug).
# Last line: "ha-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TAG=ha
COMPAT_SCENARIOS="${HA_SCENARIOS:-}"
COMPAT_KEEP_WORK="${HA_KEEP_WORK:-0}"
# shellcheck source=../lib.sh
source "$ROOT/compat-tests/lib.sh"
COUNT="${HA_COMPAT_COUNT:-20000}"
MIXED_COUNT="${HA_MIXED_COUNT:-2000}"
CYCLES="${HA_KILL_CYCLES:-10}"

build_all

java_client() { # <log> <args...>
    local out="$1"; shift
    timeout -k 10 900 java -Xms64m -Xmx384m -XX:+UseSerialGC -XX:ActiveProcessorCount=2 -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true -Duser.home="$WORK/client-home" -Drocketmq.client.logRoot="$WORK/client-logs" \
        -cp "$CLIENT_CP:$LAUNCH_CP" WakeJoin HaScenarios "$@" >"$out" 2>&1
}
result_field() { grep '^RESULT' "$1" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# identical <storeA> <storeB> <seconds>: waits until `rmqstore diff` reports identical CommitLogs.
identical() {
    local a="$1" b="$2" secs="$3" t
    for ((t = 0; t < secs; t++)); do
        "$BIN/rmqstore" diff "$a" "$b" >"$WORK/diff${LANE:-}.txt" 2>&1 && return 0
        sleep 1
    done
    return 1
}

# synced <slave store> <topic> <group> <seconds>: the slave's config files name the topic and the
# group's offsets (SlaveSynchronize copied them from the master).
synced() {
    local s="$1" topic="$2" group="$3" secs="$4" t
    for ((t = 0; t < secs; t++)); do
        grep -q "\"$topic\"" "$s/config/topics.json" 2>/dev/null \
            && grep -q "$topic@$group" "$s/config/consumerOffset.json" 2>/dev/null && return 0
        sleep 1
    done
    return 1
}

# until_acked <topic>: sends single probes until one is SEND_OK (a slave is attached), 90 s at most.
until_acked() {
    local t
    for ((t = 0; t < 45; t++)); do
        : >"$WORK/probe${LANE:-}.acks"
        java_client "$WORK/probe${LANE:-}.out" produce "$NS" "$1" 1 "$WORK/probe${LANE:-}.acks"
        [[ -s "$WORK/probe${LANE:-}.acks" ]] && return 0
        sleep 1
    done
    return 1
}

# keys of a store's messages on <topic>, one per line (from rmqstore dump).
store_keys() {
    "$BIN/rmqstore" dump "$1" --topic "$2" | python3 -c '
import json, sys
for line in sys.stdin:
    key = json.loads(line).get("properties", {}).get("KEYS")
    if key:
        print(key)
'
}

# ---------------------------------------------------------------- our pair, SYNC_MASTER
ours_pair() {
    local topic="HaSync" m=om s=os
    start_broker $m rust brokerClusterName=HaOurs brokerName=ha-ours brokerId=0 brokerRole=SYNC_MASTER || return 1
    start_broker $s rust brokerClusterName=HaOurs brokerName=ha-ours brokerId=1 brokerRole=SLAVE || return 1
    until_acked "$topic" || { report ours.sync.replicate FAIL "no slave ever acknowledged" "$WORK/probe.out" "$WORK/$s.out"; return 1; }
    # mqadmin clusterList shows both nodes of the group, the slave with id 1.
    cds_run mqadmin-5.3.3 timeout 120 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Duser.home="$WORK/client-home" \
        -cp "$SERVER_CP:$LAUNCH_CP" AdminExit clusterList -n "$NS" >"$WORK/clusterlist.out" 2>&1
    if grep -E "ha-ours +0 +127.0.0.1:${BROKER_PORT[$m]}" "$WORK/clusterlist.out" >/dev/null \
        && grep -E "ha-ours +1 +127.0.0.1:${BROKER_PORT[$s]}" "$WORK/clusterlist.out" >/dev/null; then
        report ours.cluster-list PASS "mqadmin clusterList lists the master (id 0) and the slave (id 1)"
    else
        report ours.cluster-list FAIL "both nodes not listed" "$WORK/clusterlist.out"
    fi
    : >"$WORK/sync.acks"
    local t=$SECONDS
    java_client "$WORK/sync-produce.out" produce "$NS" "$topic" "$COUNT" "$WORK/sync.acks"
    local ok; ok=$(result_field "$WORK/sync-produce.out" ok)
    if [[ "$ok" == "$COUNT" ]] && identical "$(store_of $m)" "$(store_of $s)" 60; then
        report ours.sync.replicate PASS "$ok/$COUNT SEND_OK in $((SECONDS - t)) s; $(cat "$WORK/diff${LANE:-}.txt")"
    else
        report ours.sync.replicate FAIL "ok=$ok/$COUNT; $(cat "$WORK/diff${LANE:-}.txt" 2>/dev/null)" "$WORK/sync-produce.out"
    fi
    # mqadmin haStatus (GET_BROKER_HA_STATUS) on the master: one slave, in sync.
    cds_run mqadmin-5.3.3 timeout 120 java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Duser.home="$WORK/client-home" \
        -cp "$SERVER_CP:$LAUNCH_CP" AdminExit haStatus -n "$NS" \
        -b "127.0.0.1:${BROKER_PORT[$m]}" >"$WORK/hastatus.out" 2>&1
    if grep -qP '^#SlaveNum\t1$' "$WORK/hastatus.out" && grep -qP '^#InSyncSlaveNum\t1$' "$WORK/hastatus.out"; then
        report ours.ha-status PASS "mqadmin haStatus: $(grep -P '^#(SlaveNum|InSyncSlaveNum)' "$WORK/hastatus.out" | tr '\n\t' '  ')"
    else
        report ours.ha-status FAIL "unexpected haStatus output" "$WORK/hastatus.out"
    fi

    # The group consumes from the master, so it has offsets there; the slave must copy them.
    java_client "$WORK/g1.out" consume "$NS" "$topic" ha_g1 "$WORK/sync.acks" 180
    if grep -q '^PASS' "$WORK/g1.out" && synced "$(store_of $s)" "$topic" ha_g1 40; then
        report ours.sync.metadata PASS "topic and ha_g1 offsets in the slave's topics.json / consumerOffset.json"
    else
        report ours.sync.metadata FAIL "$(tail -1 "$WORK/g1.out")" "$WORK/$s.out"
    fi

    stop_broker $m KILL
    log "master killed; consuming from the slave"
    java_client "$WORK/g2.out" consume "$NS" "$topic" ha_g2 "$WORK/sync.acks" 240
    if grep -q '^PASS' "$WORK/g2.out"; then
        report ours.sync.read-from-slave PASS "$(tail -1 "$WORK/g2.out") with the master down"
    else
        report ours.sync.read-from-slave FAIL "$(tail -1 "$WORK/g2.out")" "$WORK/g2.out" "$WORK/$s.out"
    fi

    start_broker $m rust brokerClusterName=HaOurs brokerName=ha-ours brokerId=0 brokerRole=SYNC_MASTER || return 1
    until_acked "$topic" >/dev/null
    java_client "$WORK/g2b.out" consume "$NS" "$topic" ha_g2 - 20
    local again; again=$(result_field "$WORK/g2b.out" received)
    # The probes sent by until_acked are new and may arrive; nothing from before may.
    if [[ -n "$again" && "$again" -le 2 ]]; then
        report ours.sync.offsets-back PASS "group ha_g2 got $again message(s) after the master returned (only new probes)"
    else
        report ours.sync.offsets-back FAIL "group ha_g2 consumed $again messages again" "$WORK/g2b.out" "$WORK/$m.out"
    fi

    # kill -9 of the master under load, $CYCLES times.
    local kt="HaKill"
    : >"$WORK/kill.acks"
    rm -f "$WORK/kill.stop"
    until_acked "$kt" >/dev/null
    java_client "$WORK/kill-produce.out" produce "$NS" "$kt" 100000000 "$WORK/kill.acks" "$WORK/kill.stop" &
    local prod=$! i
    for ((i = 1; i <= CYCLES; i++)); do
        sleep $((2 + RANDOM % 3))
        stop_broker $m KILL
        log "cycle $i: master killed with $(wc -l <"$WORK/kill.acks") acknowledged so far"
        sleep 1
        start_broker $m rust brokerClusterName=HaOurs brokerName=ha-ours brokerId=0 brokerRole=SYNC_MASTER || break
    done
    sleep 3
    touch "$WORK/kill.stop"
    wait "$prod"
    local acked; acked=$(wc -l <"$WORK/kill.acks")
    identical "$(store_of $m)" "$(store_of $s)" 60
    local same=$?
    stop_broker $s
    store_keys "$(store_of $s)" "$kt" | sort -u >"$WORK/kill.slave-keys"
    sort -u "$WORK/kill.acks" >"$WORK/kill.acked-keys"
    local missing; missing=$(comm -23 "$WORK/kill.acked-keys" "$WORK/kill.slave-keys" | wc -l)
    if [[ $acked -gt 0 && $missing == 0 && $same == 0 ]]; then
        report ours.sync.kill9 PASS "$CYCLES kill -9 cycles: $acked SEND_OK, all on the slave; $(result_field "$WORK/kill-produce.out" errors) send errors while down; CommitLogs identical"
    else
        report ours.sync.kill9 FAIL "acked=$acked missing-on-slave=$missing identical=$([[ $same == 0 ]] && echo yes || echo no) ($(cat "$WORK/diff${LANE:-}.txt"))" "$WORK/kill-produce.out"
    fi
    stop_broker $m
}

# ---------------------------------------------------------------- bogus HA peer
bogus_peer() {
    local m=bm
    start_broker $m rust brokerClusterName=HaBogus brokerName=ha-bogus brokerId=0 brokerRole=SYNC_MASTER slaveTimeout=500 || return 1
    python3 - "$((BROKER_PORT[$m] + 1))" >"$WORK/bogus.out" 2>&1 <<'EOF' &
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.05)
end = time.time() + 60
while time.time() < end:
    s.sendall(struct.pack(">q", 1 << 40))   # far beyond anything the master stored
    try:
        s.recv(65536)
    except socket.timeout:
        pass
EOF
    local peer=$!
    sleep 1
    : >"$WORK/bogus.acks"
    java_client "$WORK/bogus-produce.out" produce "$NS" HaBogus 10 "$WORK/bogus.acks"
    kill "$peer" 2>/dev/null
    local ok fst; ok=$(result_field "$WORK/bogus-produce.out" ok); fst=$(result_field "$WORK/bogus-produce.out" flushSlaveTimeout)
    if [[ "$ok" == 0 && "$fst" == 10 ]]; then
        report ours.bogus-peer PASS "10 sends, 0 SEND_OK, 10 FLUSH_SLAVE_TIMEOUT while the peer claimed offset 2^40"
    else
        report ours.bogus-peer FAIL "ok=$ok flushSlaveTimeout=$fst" "$WORK/bogus-produce.out" "$WORK/$m.out"
    fi
    stop_broker $m
}

# ---------------------------------------------------------------- mixed pairs
# mixed <master kind> <slave kind> SYNC|ASYNC
mixed() {
    local mk="$1" sk="$2" mode="$3" id="mixed.$1-$2.${3,,}"
    local name="ha-$1-$2-${3,,}" m="m-$1-$2-${3,,}" s="s-$1-$2-${3,,}" topic="HaMixed${1^}${2^}${3^}"
    local mextra=("brokerRole=${mode}_MASTER")
    [[ "$mk" == java && "$mode" == SYNC ]] && mextra+=(inSyncReplicas=2)
    local sextra=()
    [[ "$sk" == java ]] && sextra+=(slaveReadEnable=true)
    local t0=$SECONDS
    start_broker "$m" "$mk" brokerClusterName=HaMixed "brokerName=$name" brokerId=0 "${mextra[@]}" || { report "$id" FAIL "master did not start" "$WORK/$m.out"; return 1; }
    start_broker "$s" "$sk" brokerClusterName=HaMixed "brokerName=$name" brokerId=1 brokerRole=SLAVE "${sextra[@]}" || { report "$id" FAIL "slave did not start" "$WORK/$s.out"; stop_broker "$m"; return 1; }
    local ok=0
    if until_acked "$topic"; then
        : >"$WORK/$name.acks"
        java_client "$WORK/$name-produce.out" produce "$NS" "$topic" "$MIXED_COUNT" "$WORK/$name.acks"
        ok=$(result_field "$WORK/$name-produce.out" ok)
    fi
    local detail="" st=PASS
    if [[ "$ok" == "$MIXED_COUNT" ]] && identical "$(store_of "$m")" "$(store_of "$s")" 60; then
        detail="$ok SEND_OK; $(cat "$WORK/diff${LANE:-}.txt")"
    else
        st=FAIL; detail="ok=$ok/$MIXED_COUNT; $(cat "$WORK/diff${LANE:-}.txt" 2>/dev/null)"
    fi
    java_client "$WORK/$name-g1.out" consume "$NS" "$topic" ha_mg1 "$WORK/$name.acks" 120
    # A Java 5.3.3 slave syncs metadata for the first time about 60 s after it starts.
    if [[ $st == PASS ]]; then
        local wait_sync=40
        [[ "$sk" == java ]] && wait_sync=120
        if synced "$(store_of "$s")" "$topic" ha_mg1 "$wait_sync"; then
            detail+="; slave synced topic+offsets"
        else
            st=FAIL; detail+="; slave did not sync topic/offsets"
        fi
    fi
    stop_broker "$m"
    if [[ $st == PASS ]]; then
        java_client "$WORK/$name-g2.out" consume "$NS" "$topic" ha_mg2 "$WORK/$name.acks" 180
        if grep -q '^PASS' "$WORK/$name-g2.out"; then
            detail+="; master stopped, Java consumer read all $ok from the slave"
        else
            st=FAIL; detail+="; from the slave: $(tail -1 "$WORK/$name-g2.out")"
        fi
    fi
    report "$id" "$st" "$detail ($((SECONDS - t0)) s)" "$WORK/$name-produce.out" "$WORK/$name-g2.out" "$WORK/$s.out" "$WORK/$m.out"
    stop_broker "$s"
}

# ------------------------------------------- kill -9 of the master while the disk is full
# The loop mount is always $WORK/fullfs: enospc_pair runs in a lane, whose variables this
# cleanup (in the main shell) does not see.
FULLFS="$WORK/fullfs"
ha_cleanup() {
    pkill -f "fill-disk $FULLFS" 2>/dev/null
    umount -l "$FULLFS" 2>/dev/null # not mounted (or never): a harmless failure
    lib_cleanup
}
trap ha_cleanup EXIT
# fill_disk <dir>: takes every free block of <dir>'s file system for 6-12 s, frees it for 3-6 s,
# until killed ("fill-disk <dir>" is in its command line for the cleanup).
fill_disk() {
    bash -c 'd="$1"; while :; do
        free=$(df -B1 --output=avail "$d" | tail -1)
        fallocate -l "$free" "$d/filler" 2>/dev/null || dd if=/dev/zero of="$d/filler" bs=1M 2>/dev/null
        sleep $((6 + RANDOM % 7)); rm -f "$d/filler"; sleep $((3 + RANDOM % 4))
    done' "fill-disk $1" "$1" &
}
enospc_pair() {
    local m=fm s=fs kt=HaFull img="$WORK/fullfs.img" fsdir="$FULLFS"
    mkdir -p "$fsdir"
    if ! { truncate -s 192M "$img" && mkfs.ext4 -q -F "$img" && mount -o loop "$img" "$fsdir"; } >"$WORK/mount.err" 2>&1; then
        printf '%-34s SKIP %s\n' ours.enospc.kill9 "no loop-mounted file system here: $(head -1 "$WORK/mount.err")"
        return 0
    fi
    mkdir -p "$fsdir/$m" "$fsdir/$s"
    ln -sfn "$fsdir/$m" "$WORK/$m"
    ln -sfn "$fsdir/$s" "$WORK/$s"
    local conf=(brokerClusterName=HaFull brokerName=ha-full mappedFileSizeConsumeQueue=60000 maxHashSlotNum=5000 maxIndexNum=20000 cleanFileForciblyEnable=false)
    start_broker $m rust "${conf[@]}" brokerId=0 brokerRole=SYNC_MASTER || return 1
    start_broker $s rust "${conf[@]}" brokerId=1 brokerRole=SLAVE || return 1
    until_acked "$kt" >/dev/null || { report ours.enospc.kill9 FAIL "no slave ever acknowledged" "$WORK/probe.out" "$WORK/$s.out"; return 1; }
    : >"$WORK/full.acks"
    rm -f "$WORK/full.stop"
    java_client "$WORK/full-produce.out" produce "$NS" "$kt" 100000000 "$WORK/full.acks" "$WORK/full.stop" &
    local prod=$! i restarts=0 failed=0 filler
    fill_disk "$fsdir"
    filler=$!
    for ((i = 1; i <= CYCLES; i++)); do
        sleep $((2 + RANDOM % 3))
        stop_broker $m KILL
        sleep 1
        # With the disk full the master may fail to start; the next cycle tries again.
        if start_broker $m rust "${conf[@]}" brokerId=0 brokerRole=SYNC_MASTER >/dev/null; then
            restarts=$((restarts + 1))
        else
            failed=$((failed + 1))
        fi
        log "cycle $i: $(wc -l <"$WORK/full.acks") acknowledged, disk $(df --output=pcent "$fsdir" | tail -1 | tr -d ' ') used"
    done
    kill "$filler" 2>/dev/null; wait "$filler" 2>/dev/null; pkill -f "fill-disk $fsdir" 2>/dev/null
    rm -f "$fsdir/filler"
    alive $m || start_broker $m rust "${conf[@]}" brokerId=0 brokerRole=SYNC_MASTER >/dev/null
    sleep 3
    touch "$WORK/full.stop"
    wait "$prod"
    local acked; acked=$(wc -l <"$WORK/full.acks")
    identical "$(store_of $m)" "$(store_of $s)" 60
    local same=$?
    stop_broker $s
    stop_broker $m
    sort -u "$WORK/full.acks" >"$WORK/full.acked-keys"
    store_keys "$(store_of $s)" "$kt" | sort -u >"$WORK/full.slave-keys"
    store_keys "$(store_of $m)" "$kt" | sort -u >"$WORK/full.master-keys"
    local miss_s miss_m full_logs
    miss_s=$(comm -23 "$WORK/full.acked-keys" "$WORK/full.slave-keys" | wc -l)
    miss_m=$(comm -23 "$WORK/full.acked-keys" "$WORK/full.master-keys" | wc -l)
    full_logs=$(cat "$WORK/$m.out" "$WORK/$s.out" | grep -c -i "no space\|disk full\|ENOSPC")
    local detail="$CYCLES kill -9 cycles ($failed restarts refused by the full disk): $acked SEND_OK, missing on slave $miss_s, on master $miss_m; CommitLogs $([[ $same == 0 ]] && echo identical || echo "differ ($(head -1 "$WORK/diff${LANE:-}.txt"))"); $full_logs disk-full log lines"
    if [[ $acked -gt 0 && $miss_s == 0 && $miss_m == 0 && $same == 0 ]]; then
        report ours.enospc.kill9 PASS "$detail"
    else
        comm -23 "$WORK/full.acked-keys" "$WORK/full.slave-keys" | head -5 >"$WORK/full.missing"
        report ours.enospc.kill9 FAIL "$detail" "$WORK/full.missing" "$WORK/full-produce.out" "$WORK/$m.out" "$WORK/$s.out"
    fi
    umount -l "$fsdir" 2>/dev/null
}

# Two lanes, each with its own name server. Our pairs are busy (20,000 sends, kill cycles); the
# mixed pairs mostly wait for a Java broker's periodic metadata sync (60 s for a Java slave).
ours_lane() {
    own_namesrv
    if wanted ours; then ours_pair; fi
    if wanted ours.enospc; then enospc_pair; fi
    if wanted bogus; then bogus_peer; fi
}
mixed_lane() {
    own_namesrv
    local pair mode mk sk
    for pair in "java rust" "rust java"; do
        for mode in SYNC ASYNC; do
            read -r mk sk <<<"$pair"
            if wanted "mixed.$mk-$sk.${mode,,}"; then mixed "$mk" "$sk" "$mode"; fi
        done
    done
}
run_lanes ours_lane mixed_lane

echo "ha-compat: $pass passed, $fail failed"
[[ $fail == 0 ]]
