#!/usr/bin/env bash
# Fetch the pinned official RocketMQ Java artifacts with Maven and compile the scenario programs.
#
# Output (default compat-tests/java/target, override with COMPAT_JAVA_OUT):
#   lib/server/        rocketmq-namesrv + rocketmq-broker + rocketmq-tools 5.3.3 (+ dependencies)
#   lib/client-5.3.3/  rocketmq-client 5.3.3 (+ dependencies)
#   lib/client-4.9.8/  rocketmq-client 4.9.8 (+ dependencies)
#   lib/client-5.5.0/  rocketmq-client 5.5.0, the newest release (+ dependencies)
#   lib/tools-5.5.0/   rocketmq-tools 5.5.0 (mqadmin of the newest release)
#   classes/client-5.3.3/, classes/client-4.9.8/, classes/client-5.5.0/   the scenario programs
#                      compiled against each client (lib.sh: COMPAT_CLIENT picks one)
#   classes/admin/     AdminProbe compiled against the tools classpath
#   classes/launch/, launch.jar   AdminExit (mqadmin of any tools version, ending when its command
#                      is done) and WakeJoin; the jar is what the suites use (LAUNCH_CP)
#   cds/               class-data-sharing archives the suites write (cds.sh); removed here whenever
#                      anything is fetched or compiled
#   lib/grpc-client-java/, classes/grpc/   rocketmq-client-java 5.0.8 (the gRPC SDK) and the
#                      programs of src/grpc/, compiled against it alone
#   lib/broker-4.9.7/  rocketmq-broker + acl + tools 4.9.7 (the last Java broker with ACL 1.0;
#                      pom in compat-tests/acl/broker-4.9.7/), for compat-tests/acl/run.sh
#   lib/proxy/         rocketmq-proxy 5.3.3 (+ its broker), for the gRPC side-by-side bench: fetched
#                      only with COMPAT_JAVA_PROXY=1 (compat-tests/grpc/bench.sh sets it), not in CI
#
# Jars are cached in the local Maven repository (~/.m2); stamp files skip the work when the poms
# and sources did not change. Set COMPAT_JAVA_REBUILD=1 to force.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${COMPAT_JAVA_OUT:-$here/target}"
mkdir -p "$out"

for tool in mvn javac java jar; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: '$tool' not found on PATH" >&2; exit 1; }
done

# Each classpath is re-fetched only when its pom changed; the programs are recompiled only when
# their sources (or the classpaths, or javac) changed.
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
force="${COMPAT_JAVA_REBUILD:-0}"

pom_of() { if [[ "$1" == broker-4.9.7 ]]; then echo "$here/../acl/broker-4.9.7/pom.xml"; else echo "$here/deps/$1/pom.xml"; fi; }
parts=(server client-5.3.3 client-4.9.8 client-5.5.0 tools-5.5.0 grpc-client-java broker-4.9.7)
[[ "${COMPAT_JAVA_PROXY:-0}" == 1 ]] && parts+=(proxy)

t0=$SECONDS
fetched=0
for d in "${parts[@]}"; do
    want="$(hash_of "$(pom_of "$d")")"
    if [[ "$force" != 1 && -f "$out/lib/$d/.stamp" && "$(cat "$out/lib/$d/.stamp")" == "$want" ]]; then
        continue
    fi
    echo "build.sh: fetching $d classpath"
    rm -rf "$out/cds" # archives of the old jars would only be refused by the JVM
    [[ "$d" == broker-4.9.7 || "$d" == proxy ]] || fetched=1 # no scenario class is compiled against those
    rm -rf "$out/lib/$d"
    mkdir -p "$out/lib/$d"
    # Bounded: a stalled download must not hang CI forever.
    if ! timeout 900 mvn -B -Dstyle.color=never -f "$(pom_of "$d")" \
        -Dmaven.wagon.http.retryHandler.count=3 \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out/lib/$d" \
        >"$out/mvn-$d.log" 2>&1; then
        tail -n 60 "$out/mvn-$d.log" >&2
        echo "build.sh: maven failed for $d (full log: $out/mvn-$d.log)" >&2
        exit 1
    fi
    echo "$want" >"$out/lib/$d/.stamp"
done

# The classes depend on the classpaths they are compiled against, not on broker-4.9.7 or proxy.
want="$( (cat "$here"/src/client/*.java "$here"/src/client5/*.java "$here"/src/admin/*.java "$here"/src/grpc/*.java "$here"/src/launch/*.java \
    "$out"/lib/{server,client-5.3.3,client-4.9.8,client-5.5.0,tools-5.5.0,grpc-client-java}/.stamp; javac -version 2>&1) \
    | sha256sum | cut -d' ' -f1)"
if [[ "$force" != 1 && $fetched == 0 && -f "$out/launch.jar" && -f "$out/classes/.stamp" && "$(cat "$out/classes/.stamp")" == "$want" ]]; then
    echo "build.sh: Java artifacts up to date in $out"
    exit 0
fi
rm -f "$out/classes/.stamp"
rm -rf "$out/cds"

compile() { # <output name> <classpath name> <source dirs under src/...>
    rm -rf "$out/classes/$1"
    mkdir -p "$out/classes/$1"
    local srcs=()
    for d in "${@:3}"; do srcs+=("$here"/src/"$d"/*.java); done
    javac --release 8 -nowarn -Xlint:-options -encoding UTF-8 -d "$out/classes/$1" \
        -cp "$out/lib/$2/*" "${srcs[@]}"
}
echo "build.sh: compiling scenario programs"
compile client-5.3.3 client-5.3.3 client client5   # client5/: APIs only the 5.x client has (POP, timer)
compile client-4.9.8 client-4.9.8 client
compile client-5.5.0 client-5.5.0 client client5
compile admin server admin
compile launch server launch   # AdminExit: mqadmin without its 2 s linger (lib.sh ADMIN_EXIT)
jar cf "$out/launch.jar" -C "$out/classes/launch" .   # a jar: cds.sh archives take no directory
compile grpc grpc-client-java grpc   # the gRPC SDK only: no remoting client on this classpath

for j in rocketmq-broker-5.3.3 rocketmq-namesrv-5.3.3 rocketmq-tools-5.3.3; do
    [[ -f "$out/lib/server/$j.jar" ]] || { echo "build.sh: $j.jar missing from server classpath" >&2; exit 1; }
done
[[ -f "$out/lib/client-5.3.3/rocketmq-client-5.3.3.jar" ]] || { echo "build.sh: client 5.3.3 missing" >&2; exit 1; }
[[ -f "$out/lib/client-4.9.8/rocketmq-client-4.9.8.jar" ]] || { echo "build.sh: client 4.9.8 missing" >&2; exit 1; }
[[ -f "$out/lib/client-5.5.0/rocketmq-client-5.5.0.jar" ]] || { echo "build.sh: client 5.5.0 missing" >&2; exit 1; }
[[ -f "$out/lib/tools-5.5.0/rocketmq-tools-5.5.0.jar" ]] || { echo "build.sh: tools 5.5.0 missing" >&2; exit 1; }
[[ -f "$out/lib/grpc-client-java/rocketmq-client-java-5.0.8.jar" ]] || { echo "build.sh: rocketmq-client-java 5.0.8 missing" >&2; exit 1; }

echo "$want" >"$out/classes/.stamp"
echo "build.sh: done in $((SECONDS - t0)) s -> $out"
