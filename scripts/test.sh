#!/usr/bin/env bash
# The one test command: format, lints, unit/integration/doc tests, then the official-client
# compatibility suite (which fetches its own Maven and Go dependencies).
# Set SKIP_COMPAT=1 to stop after the Rust tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each step prints the seconds elapsed since the start, and a table of every step's seconds is
# printed at the end (also when a step fails), so CI's time budget can be read per suite.
STEP_NAMES=() STEP_STARTS=()
step() {
    STEP_NAMES+=("$*")
    STEP_STARTS+=("$SECONDS")
    printf '\n=== [%5ds] %s ===\n' "$SECONDS" "$*"
}
timing_table() {
    local rc=$? i n=${#STEP_NAMES[@]} end
    ((n > 0)) || return 0
    printf '\n=== time per step (seconds; total %d s, exit status %d) ===\n' "$SECONDS" "$rc"
    for ((i = 0; i < n; i++)); do
        if ((i + 1 < n)); then end=${STEP_STARTS[i + 1]}; else end=$SECONDS; fi
        printf '%6d  %s\n' "$((end - STEP_STARTS[i]))" "${STEP_NAMES[i]:0:110}"
    done
    # The test host's disk is shared: above 85 % (Java's used / (used + usable)) retention may
    # delete unexpired files, above 90 % brokers refuse writes. Shown so a failure can be read.
    echo "disk at the end (df -P /tmp):"
    df -P /tmp 2>/dev/null | tail -n +2 || true
}
trap timing_table EXIT

step "no build outputs tracked"
if tracked=$(git ls-files 2>/dev/null | grep -E '(^|/)target/|\.(jar|class)$'); then
    echo "build outputs are tracked by git (remove them with git rm --cached):" >&2
    echo "$tracked" | head -n 20 >&2
    exit 1
fi

step "cargo fmt --check"
cargo fmt --all -- --check

# The compat suites' Maven, Go and PyPI dependencies download in the background while the Rust
# steps keep the CPUs busy (a download mostly waits on the network); the suites then find them in
# place (stamp files, module cache, the gRPC suite's venv) instead of fetching them one suite after
# another.
prefetch() {
    set +e # a failed fetch is done again (and reported) by the suite that needs it
    bash compat-tests/java/build.sh
    local v d
    for v in 5.3.3 4.9.8 5.5.1; do bash compat-tests/store/build.sh "$v"; done
    for d in compat-tests/go compat-tests/grpc/go; do
        [[ -f "$d/go.mod" ]] && command -v go >/dev/null && (cd "$d" && go mod download)
    done
    # The venv compat-tests/grpc/run.sh (python_sdk) would make: its PY_SDK, its stamp.
    local sdk venv=compat-tests/grpc/target/venv
    sdk="$(sed -n 's/^PY_SDK=//p' compat-tests/grpc/run.sh)"
    if [[ -n "$sdk" && "$(cat "$venv/.stamp" 2>/dev/null)" != "$sdk" ]]; then
        rm -rf "$venv"
        python3 -m venv "$venv" && timeout 600 "$venv/bin/pip" install -q "$sdk" && echo "$sdk" >"$venv/.stamp"
    fi
}
PREFETCH_PID=
if [[ "${SKIP_COMPAT:-0}" != "1" ]]; then
    mkdir -p target
    prefetch >target/prefetch.log 2>&1 &
    PREFETCH_PID=$!
fi

step "cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test (unit, integration, doc)"
cargo test --all-targets --locked
cargo test --doc --locked

step "rustdoc -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --quiet

if [[ "${SKIP_COMPAT:-0}" != "1" ]]; then
    # The suites run the binaries `cargo test --all-targets` built into target/debug: a `cargo build
    # --bins` would compile the crate and most of its dependencies again, because the
    # dev-dependencies add features (tokio test-util, serde alloc, regex unicode) the plain build lacks.
    prebuilt=1
    for b in mqnamesrv mqbroker rocketmq-standalone rmqstore; do [[ -x "target/debug/$b" ]] || prebuilt=0; done
    if [[ $prebuilt == 1 ]]; then
        export COMPAT_PREBUILT=1 RMQRS_NAMESRV="$PWD/target/debug/mqnamesrv"
    else
        echo "note: a binary is missing from target/debug after cargo test; the suites build their own"
    fi
    step "compat dependencies (fetched in the background since the start)"
    wait "$PREFETCH_PID" || { tail -n 20 target/prefetch.log; echo "prefetch failed; each suite fetches what it needs"; }
    step "store interoperability with the Java broker 5.3.3 / 4.9.x (both directions)"
    bash compat-tests/store/run.sh
    step "compat-tests (official Java/Go clients and mqadmin)"
    bash compat-tests/run.sh
    step "master-slave replication with the Java client and Java 5.3.3 brokers"
    bash compat-tests/ha/run.sh
    step "timer messages with the Java clients and a Java 5.3.3 broker"
    bash compat-tests/timer/run.sh
    step "transactions and SQL92 across a kill -9 of the broker (Java clients 5.3.3 and 4.9.8)"
    bash compat-tests/restart/run.sh
    step "POP consumption with the Java 5.3.3 client"
    bash compat-tests/pop/run.sh
    step "ACL 1.0 and ACL 2.0 with the Java 5.3.3 / 4.9.8 and Go clients and mqadmin (and Java 4.9.7 / 5.3.3 brokers for parity)"
    bash compat-tests/acl/run.sh
    step "request-reply and message trace (Java 5.3.3 / 4.9.8 and Go clients)"
    bash compat-tests/trace/run.sh
    step "light message queues (LMQ) with the Java clients and the Java 5.3.3 broker"
    bash compat-tests/lmq/run.sh
    step "the gRPC endpoint with the official 5.x SDKs (Java, Python, Node.js, Go; TLS and plaintext): produce, consume, FIFO, DLQ, ACL, interop"
    bash compat-tests/grpc/run.sh
    step "every mqadmin 5.3.3 operator command and the dashboard's admin calls (main and VIP port), Java 5.3.3 broker vs ours"
    bash compat-tests/ops/run.sh
    step "newest clients (5.5.0), a Java 5.5.1 store, the name-server address endpoint, docker compose"
    bash compat-tests/surface/run.sh
fi

step "all steps passed"
