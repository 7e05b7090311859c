#!/usr/bin/env bash
# Run StoreDump with the Java classes of one RocketMQ version.
#
#   compat-tests/store/store_dump.sh <5.5.1|5.5.0|5.3.3|4.9.8> <storeRoot|commitlogDir>               # walk the CommitLog
#   compat-tests/store/store_dump.sh <5.5.1|5.5.0|5.3.3|4.9.8> --read-store <storeRoot> --commitlog-size N [--cq-size N]
#
# JSON lines go to stdout, diagnostics to stderr. --read-store runs DefaultMessageStore.load() (with
# recovery) on the directory itself: recovery may truncate a dirty tail and, after an unclean shutdown
# (abort file present), drop index files newer than the checkpoint. Work on a copy
# (cp -a --sparse=always) if the original must stay untouched.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 2 ]] || { sed -n '2,10p' "$0" >&2; exit 2; }
ver="$1"
shift
case "$ver" in 5.5.1|5.5.0|5.3.3|4.9.8) ;; *) echo "unknown version $ver" >&2; exit 2 ;; esac
"$here/build.sh" "$ver" >&2
tgt="${COMPAT_STORE_OUT:-$here/target}/$ver"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
# -Duser.home: the store classes log to ~/logs; keep that out of the real home.
# The --add-opens let rocketmq-store 4.9.x unmap files on JDK 17 (harmless for 5.x).
timeout -k 10 "${STORE_DUMP_TIMEOUT:-600}" java -Xms64m -Xmx512m -XX:MaxDirectMemorySize=512m -XX:+UseSerialGC \
    -XX:ActiveProcessorCount=2 -Dfile.encoding=UTF-8 -Duser.home="$home" \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    -cp "$tgt/classes:$tgt/lib-client/*" StoreDump "$@"
