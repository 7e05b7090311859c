//! Flush services (`FlushRealTimeService`, `GroupCommitService`, `FlushConsumeQueueService`).
//!
//! ASYNC_FLUSH: every `flushIntervalCommitLog` the CommitLog is flushed when at least
//! `flushCommitLogLeastPages` pages are dirty, or whatever is dirty once per
//! `flushCommitLogThoroughInterval`. SYNC_FLUSH: appends wake the service, which flushes
//! everything written so far in one msync (group commit) and publishes the flushed offset.
//! A failed flush poisons the store: nothing is acknowledged after it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::error;

use super::StoreError;
use super::checkpoint::Field;
use super::config::{FlushDiskType, OS_PAGE_SIZE};
use super::mapped_file::sync_file_system;
use super::message_store::MessageStore;

/// Starts the flush thread.
pub(crate) fn start(store: &Arc<MessageStore>) {
    let s = Arc::clone(store);
    let spawned = std::thread::Builder::new()
        .name("FlushCommitLogService".into())
        .spawn(move || run(&s));
    match spawned {
        Ok(h) => {
            if let Ok(mut t) = store.threads.lock() {
                t.push(h);
            }
        }
        Err(e) => error!(error = %e, "cannot start the flush service"),
    }
}

fn run(store: &MessageStore) {
    let cfg = &store.config;
    let sync = cfg.flush_disk_type == FlushDiskType::SyncFlush;
    let mut last_thorough = Instant::now();
    let mut last_logic_flush = Instant::now();
    while !store.shutdown.load(Ordering::Acquire) {
        if sync {
            store.flush_signal.wait(Duration::from_millis(10));
        } else {
            std::thread::sleep(Duration::from_millis(
                cfg.flush_interval_commit_log_ms.max(1),
            ));
        }
        let thorough = last_thorough.elapsed()
            >= Duration::from_millis(cfg.flush_commit_log_thorough_interval_ms);
        let least_bytes = if sync || thorough {
            0
        } else {
            cfg.flush_commit_log_least_pages * OS_PAGE_SIZE
        };
        if thorough {
            last_thorough = Instant::now();
        }
        if let Err(e) = flush_commit_log(store, least_bytes) {
            error!(error = %e, "CommitLog flush failed; the store refuses writes from now on");
            store.poisoned.store(true, Ordering::Release);
        }
        if last_logic_flush.elapsed() >= Duration::from_millis(cfg.flush_interval_consume_queue_ms)
        {
            last_logic_flush = Instant::now();
            if let Err(e) = flush_logic(store) {
                error!(error = %e, "ConsumeQueue/index flush failed");
            }
        }
    }
}

/// Flushes dirty CommitLog pages if at least `least_bytes` are dirty; publishes the new offset.
pub(crate) fn flush_commit_log(store: &MessageStore, least_bytes: usize) -> Result<(), StoreError> {
    let ts = store.last_put_timestamp.load(Ordering::Acquire);
    let files = store.commit_log.files();
    let dirty: usize = files
        .iter()
        .map(|f| f.wrote_position() - f.flushed_position())
        .sum();
    if dirty == 0 || dirty < least_bytes {
        return Ok(());
    }
    let mut flushed_to = *store.flushed.borrow();
    for f in files
        .iter()
        .filter(|f| f.flushed_position() < f.wrote_position())
    {
        let pos = f.flush()?;
        flushed_to = flushed_to.max(f.file_from_offset() + u64::try_from(pos).unwrap_or(0));
    }
    store.checkpoint.set(Field::PhysicMsgTimestamp, ts)?;
    store.publish_flushed(flushed_to);
    store.dispatch_signal.notify();
    Ok(())
}

/// Dirty ConsumeQueue files above which one `syncfs` replaces an msync per file. Java flushes
/// each queue on its own (`FlushConsumeQueueService`); with thousands of active queues that is
/// thousands of journal commits a second, and a shutdown that takes tens of seconds.
const SYNCFS_ABOVE_DIRTY_FILES: usize = 32;

/// Flushes ConsumeQueues, index files and the checkpoint.
pub(crate) fn flush_logic(store: &MessageStore) -> Result<(), StoreError> {
    let ts = store.last_dispatch_timestamp.load(Ordering::Acquire);
    let dirty: Vec<_> = store
        .all_queues()
        .iter()
        .flat_map(|q| q.dirty_files())
        .collect();
    if dirty.len() > SYNCFS_ABOVE_DIRTY_FILES {
        // Positions were read before the sync starts, so everything below them is durable after.
        sync_file_system(&store.config.consume_queue_dir())?;
        for (file, position) in &dirty {
            file.mark_flushed(*position);
        }
    } else {
        for (file, _) in &dirty {
            let _ = file.flush()?;
        }
    }
    if let Ok(index) = store.index.lock()
        && let Some(last) = index.last()
    {
        last.flush()?;
    }
    store.checkpoint.set(Field::LogicsMsgTimestamp, ts)?;
    store.checkpoint.set(Field::IndexMsgTimestamp, ts)?;
    store.checkpoint.flush()
}

/// Flushes everything (shutdown).
pub(crate) fn flush_all(store: &MessageStore) -> Result<(), StoreError> {
    flush_commit_log(store, 0)?;
    flush_logic(store)
}
