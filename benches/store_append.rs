//! Store throughput and recovery, printed as plain figures (run through `benches/store_bench.sh`,
//! which first measures a `dd` baseline on the same disk).
//!
//! - ASYNC_FLUSH append throughput for 1 KiB messages (one appender);
//! - SYNC_FLUSH throughput with 1, 16 and 64 concurrent appenders (each waits for its fsync);
//! - recovery time for a 2 GiB CommitLog, after a clean shutdown and after a crash.
//!
//! `STORE_BENCH_DIR` picks the directory (default: the system temp dir); `STORE_BENCH_GIB`
//! scales the recovery data set (default 2).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rocketmq_rs::store::{FlushDiskType, MessageStore, PutMessage, StoreConfig};

fn msg(i: u64, body: &Bytes) -> PutMessage {
    let host = "127.0.0.1:10911".parse().unwrap();
    PutMessage {
        topic: "BenchTopic".into(),
        queue_id: i32::try_from(i % 8).unwrap(),
        flag: 0,
        body: body.clone(),
        properties: format!("UNIQ_KEY\u{1}{i:032X}\u{2}"),
        sys_flag: 0,
        born_timestamp: 0,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

fn config(root: &Path, flush: FlushDiskType) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.flush_disk_type = flush;
    c
}

fn fresh(name: &str) -> PathBuf {
    let base = std::env::var_os("STORE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = base.join(format!("rmqrs-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn async_append() {
    let dir = fresh("async");
    let store = MessageStore::open(config(&dir, FlushDiskType::AsyncFlush)).unwrap();
    let body = Bytes::from(vec![b'x'; 1024]);
    let n = 500_000u64;
    let start = Instant::now();
    for i in 0..n {
        store.put(std::slice::from_ref(&msg(i, &body))).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "async_flush_append_1KiB: {n} msgs in {secs:.2} s = {:.0} msg/s, {:.0} MiB/s",
        n as f64 / secs,
        n as f64 * 1024.0 / secs / 1048576.0
    );
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

fn sync_append(threads: u64) {
    let dir = fresh(&format!("sync{threads}"));
    let store = MessageStore::open(config(&dir, FlushDiskType::SyncFlush)).unwrap();
    let body = Bytes::from(vec![b'x'; 1024]);
    let per_thread = (20_000 / threads).max(200);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            let body = body.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let r = store
                        .put(std::slice::from_ref(&msg(t * per_thread + i, &body)))
                        .unwrap();
                    assert!(
                        store.wait_flushed_blocking(r.end_offset(), Duration::from_secs(5)),
                        "FLUSH_DISK_TIMEOUT"
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = per_thread * threads;
    println!(
        "sync_flush_1KiB_appenders_{threads}: {n} msgs in {secs:.2} s = {:.0} msg/s",
        n as f64 / secs
    );
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

fn recovery() {
    let gib: u64 = std::env::var("STORE_BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let dir = fresh("recovery");
    let store = MessageStore::open(config(&dir, FlushDiskType::AsyncFlush)).unwrap();
    let body = Bytes::from(vec![b'y'; 4096]);
    let n = gib * 1024 * 1024 * 1024 / 4200;
    let start = Instant::now();
    for i in 0..n {
        store.put(std::slice::from_ref(&msg(i, &body))).unwrap();
    }
    store.wait_dispatched(Duration::from_secs(120));
    println!(
        "recovery_setup: wrote {} MiB ({n} x 4 KiB) in {:.1} s",
        store.max_phy_offset() >> 20,
        start.elapsed().as_secs_f64()
    );
    store.shutdown().unwrap();
    drop(store);
    let start = Instant::now();
    let store = MessageStore::open(config(&dir, FlushDiskType::AsyncFlush)).unwrap();
    println!(
        "recovery_after_clean_shutdown_{gib}GiB: {:.3} s",
        start.elapsed().as_secs_f64()
    );
    store.halt();
    drop(store);
    let start = Instant::now();
    let store = MessageStore::open(config(&dir, FlushDiskType::AsyncFlush)).unwrap();
    println!(
        "recovery_after_crash_{gib}GiB (CRC-checked scan from the checkpoint): {:.3} s",
        start.elapsed().as_secs_f64()
    );
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

fn main() {
    // `cargo test --all-targets` runs benches in test mode; keep that fast.
    if std::env::args().any(|a| a == "--bench") {
        async_append();
        for t in [1, 16, 64] {
            sync_append(t);
        }
        recovery();
    } else {
        println!("store_append: run with `cargo bench --bench store_append` for figures");
    }
}
