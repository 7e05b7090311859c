#!/usr/bin/env bash
# Store benches with a plain-disk baseline measured in the same run, on the same disk.
# Usage: benches/store_bench.sh [dir]   (default: the system temp dir)
set -euo pipefail
DIR="${1:-${TMPDIR:-/tmp}}"
export STORE_BENCH_DIR="$DIR"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
f="$DIR/rmqrs-dd-$$"
echo "== baseline: dd 1 GiB, 1 MiB blocks, fdatasync at end"
dd if=/dev/zero of="$f" bs=1M count=1024 conv=fdatasync 2>&1 | tail -1
echo "== baseline: dd 4 KiB blocks, O_DSYNC each (per-write durable), 20,000 writes"
dd if=/dev/zero of="$f" bs=4k count=20000 oflag=dsync 2>&1 | tail -1
rm -f "$f"
echo "== store"
cargo bench --bench store_append
