#!/usr/bin/env bash
# Store interoperability with the official Java broker, both directions.
#
# For Java 5.3.3 and 4.9.8 (server 4.9.7 jars; see README):
#   java-to-rust.<v>.verify   the Java-written store passes `rmqstore verify`
#   java-to-rust.<v>.dump     `rmqstore dump` equals Java's own CommitLog walk (every field)
#   java-to-rust.<v>.cq       ConsumeQueue files rebuilt by us from Java's CommitLog are byte-identical
#   java-to-rust.<v>.index    index files rebuilt by us are identical (header, slots, entries)
#   rust-to-java.<v>.read     a store written by our store is opened by Java's DefaultMessageStore and
#                             every message read through its ConsumeQueues equals our dump
# Last line: "store-compat: N passed, M failed"; exit 1 when M > 0.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rmqrs-storecompat.XXXXXX")"
RMQSTORE="${RMQRS_STORE_TOOL:-$ROOT/target/debug/rmqstore}"
trap 'rm -rf "$WORK"' EXIT
pass=0; fail=0
report() { # id status detail
    printf '%-34s %s %s\n' "$1" "$2" "${3:-}"
    if [[ "$2" == PASS ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}
[[ -x "$RMQSTORE" ]] || (cd "$ROOT" && cargo build --bins --quiet) || { echo "store-compat: 0 passed, 1 failed"; exit 1; }

for v in 5.3.3 4.9.8; do
    out="$WORK/java-$v"
    if ! "$HERE/gen_java_store.sh" "$v" "$out" >"$WORK/gen-$v.log" 2>&1; then
        tail -30 "$WORK/gen-$v.log"
        report "java-to-rust.$v.generate" FAIL "Java store generation failed"
        continue
    fi
    store="$out/store"
    if "$RMQSTORE" verify "$store" >"$WORK/verify-$v.txt" 2>&1; then
        report "java-to-rust.$v.verify" PASS "$(tail -1 "$WORK/verify-$v.txt")"
    else
        report "java-to-rust.$v.verify" FAIL "$(tail -3 "$WORK/verify-$v.txt")"
    fi
    "$RMQSTORE" dump "$store" >"$WORK/ours-$v.jsonl" 2>"$WORK/dump-$v.err"
    if python3 "$HERE/compare.py" "$out/expected.jsonl" "$WORK/ours-$v.jsonl" >"$WORK/cmp-$v.txt" 2>&1; then
        report "java-to-rust.$v.dump" PASS "$(wc -l <"$WORK/ours-$v.jsonl") messages identical"
    else
        report "java-to-rust.$v.dump" FAIL "$(head -20 "$WORK/cmp-$v.txt")"
    fi
    rb="$WORK/rebuilt-$v"
    if "$RMQSTORE" rebuild "$store" "$rb" >"$WORK/rebuild-$v.txt" 2>&1 \
        && python3 "$HERE/compare.py" --cmp-dirs "$store/consumequeue" "$rb/consumequeue" >"$WORK/cq-$v.txt" 2>&1; then
        report "java-to-rust.$v.cq" PASS "$(tail -1 "$WORK/cq-$v.txt")"
    else
        report "java-to-rust.$v.cq" FAIL "$(head -20 "$WORK/rebuild-$v.txt" "$WORK/cq-$v.txt" 2>/dev/null)"
    fi
    if python3 "$HERE/compare.py" --cmp-index "$store/index" "$rb/index" >"$WORK/idx-$v.txt" 2>&1; then
        report "java-to-rust.$v.index" PASS "$(tail -1 "$WORK/idx-$v.txt")"
    else
        report "java-to-rust.$v.index" FAIL "$(head -20 "$WORK/idx-$v.txt")"
    fi
done

# Rust -> Java: our store writes (several 1 MiB CommitLog files, keys, 4 queues), Java reads.
ours="$WORK/rust-store"
"$RMQSTORE" append "$ours" --count 3000 --size 700 --commit-log-size 1048576 --topic RustTopic >/dev/null 2>"$WORK/append.err"
"$RMQSTORE" dump "$ours" >"$WORK/rust-dump.jsonl"
for v in 5.3.3 4.9.8; do
    copy="$WORK/rust-store-copy-$v"
    cp -a --sparse=always "$ours" "$copy"
    if "$HERE/store_dump.sh" "$v" --read-store "$copy" --commitlog-size 1048576 >"$WORK/java-read-$v.jsonl" 2>"$WORK/java-read-$v.err" \
        && python3 "$HERE/compare.py" "$WORK/rust-dump.jsonl" "$WORK/java-read-$v.jsonl" >"$WORK/rj-$v.txt" 2>&1; then
        report "rust-to-java.$v.read" PASS "$(wc -l <"$WORK/java-read-$v.jsonl") messages read by Java's DefaultMessageStore"
    else
        report "rust-to-java.$v.read" FAIL "$(tail -5 "$WORK/java-read-$v.err"; head -10 "$WORK/rj-$v.txt" 2>/dev/null)"
    fi
done
echo "store-compat: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
