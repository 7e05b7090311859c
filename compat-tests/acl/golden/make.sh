#!/usr/bin/env bash
# Regenerates protocol/fixtures/acl_*.hex (ACL-signed frames for tests/acl.rs) with the official
# Java clients 5.3.3 and 4.9.8 (run compat-tests/java/build.sh first for the jars).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
LIB="${COMPAT_JAVA_OUT:-$ROOT/compat-tests/java/target}/lib"
OUT="$ROOT/protocol/fixtures"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for v in 5.3.3 4.9.8; do
    mkdir -p "$TMP/$v"
    javac --release 8 -nowarn -d "$TMP/$v" -cp "$LIB/client-$v/*" "$HERE/GoldenAclFrames.java"
    java -cp "$TMP/$v:$LIB/client-$v/*" GoldenAclFrames "$OUT" "client${v//./}"
done
ls "$OUT"/acl_*.hex
