#!/usr/bin/env bash
# Fetch the pinned RocketMQ Java jars with Maven and compile StoreProducer + StoreDump.
#
#   compat-tests/store/build.sh <5.5.1|5.5.0|5.3.3|4.9.8>
#
# Output (override the root with COMPAT_STORE_OUT, default compat-tests/store/target):
#   <out>/<ver>/lib-server/   name server + broker jars      (deps/<ver>/server/pom.xml)
#   <out>/<ver>/lib-client/   client + store + common + tools (deps/<ver>/client/pom.xml)
#   <out>/<ver>/classes/      src/*.java compiled against lib-client
# For "4.9.8" the server jars are 4.9.7 (4.9.8 broker/namesrv are not on Maven Central; see the pom).
# Jars are cached in ~/.m2; stamp files skip work when nothing changed (COMPAT_STORE_REBUILD=1 forces).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ver="${1:-}"
case "$ver" in
    5.5.1|5.5.0|5.3.3|4.9.8) ;;
    *) echo "usage: $0 <5.5.1|5.5.0|5.3.3|4.9.8>" >&2; exit 2 ;;
esac
out="${COMPAT_STORE_OUT:-$here/target}/$ver"
mkdir -p "$out"
for tool in mvn javac java; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: '$tool' not found on PATH" >&2; exit 1; }
done
force="${COMPAT_STORE_REBUILD:-0}"
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

t0=$SECONDS
fetched=0
for part in server client; do
    pom="$here/deps/$ver/$part/pom.xml"
    lib="$out/lib-$part"
    want="$(hash_of "$pom")"
    if [[ "$force" != 1 && -f "$lib/.stamp" && "$(cat "$lib/.stamp")" == "$want" ]]; then
        continue
    fi
    echo "build.sh: fetching $ver $part classpath"
    fetched=1
    rm -rf "$lib"
    mkdir -p "$lib"
    if ! timeout 900 mvn -B -Dstyle.color=never -f "$pom" -Dmaven.wagon.http.retryHandler.count=3 \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" \
        >"$out/mvn-$part.log" 2>&1; then
        tail -n 40 "$out/mvn-$part.log" >&2
        echo "build.sh: maven failed for $ver/$part (full log: $out/mvn-$part.log)" >&2
        exit 1
    fi
    echo "$want" >"$lib/.stamp"
done

want="$( (cat "$here"/src/*.java "$out"/lib-*/.stamp; javac -version 2>&1) | sha256sum | cut -d' ' -f1)"
if [[ "$force" != 1 && $fetched == 0 && -f "$out/classes/.stamp" && "$(cat "$out/classes/.stamp")" == "$want" ]]; then
    exit 0
fi
rm -rf "$out/classes"
mkdir -p "$out/classes"
javac --release 11 -nowarn -Xlint:-options -encoding UTF-8 -d "$out/classes" \
    -cp "$out/lib-client/*" "$here"/src/*.java
echo "$want" >"$out/classes/.stamp"
echo "build.sh: $ver ready in $((SECONDS - t0)) s -> $out"
