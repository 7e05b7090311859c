//! Flush services (`FlushRealTimeService`, `GroupCommitService`, `FlushConsumeQueueService`).
//!
//! ASYNC_FLUSH: every `flushIntervalCommitLog` the CommitLog is flushed when at least
//! `flushCommitLogLeastPages` pages are dirty, or whatever is dirty once per
//! `flushCommitLogThoroughInterval`. SYNC_FLUSH: appends wake the service, which flushes
//! everything written so far in one msync (group commit) and publishes the flushed offset.
//! A failed flush poisons the store: nothing is acknowledged after it.
//!
//! ConsumeQueues, index files and the checkpoint are flushed every `flushIntervalConsumeQueue`
//! by a thread of their own, as Java's `FlushConsumeQueueService` is: their msyncs (and a
//! `syncfs` with many dirty queues) never hold up a group commit that SYNC_FLUSH senders wait on.
//! At shutdown the store joins both threads and flushes everything once more (`flush_all`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing::error;

use super::StoreError;
use super::checkpoint::Field;
use super::config::{FlushDiskType, OS_PAGE_SIZE};
use super::mapped_file::sync_file_system;
use super::message_store::MessageStore;

/// Starts the flush threads: the CommitLog's and the logic files'.
pub(crate) fn start(store: &Arc<MessageStore>) {
    spawn(store, "FlushCommitLogService", run);
    spawn(store, "FlushConsumeQueueService", run_logic);
}

fn spawn(store: &Arc<MessageStore>, name: &str, body: fn(&MessageStore)) {
    let s = Arc::clone(store);
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || body(&s));
    match spawned {
        Ok(h) => {
            if let Ok(mut t) = store.threads.lock() {
                t.push(h);
            }
        }
        Err(e) => error!(error = %e, service = name, "cannot start a flush service"),
    }
}

/// `FlushConsumeQueueService.run`: flushes the logic files every `flushIntervalConsumeQueue`
/// until shutdown (which raises `logic_flush_signal`; the store's shutdown flushes them last).
fn run_logic(store: &MessageStore) {
    let interval = Duration::from_millis(store.config.flush_interval_consume_queue_ms.max(1));
    while !store.shutdown.load(Ordering::Acquire) {
        let until = Instant::now() + interval;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || store.shutdown.load(Ordering::Acquire) {
                break;
            }
            store.logic_flush_signal.wait(left);
        }
        if store.shutdown.load(Ordering::Acquire) {
            break;
        }
        if let Err(e) = flush_logic(store) {
            error!(error = %e, "ConsumeQueue/index flush failed");
        }
    }
}

/// `FlushRealTimeService` / `GroupCommitService`: the CommitLog only.
fn run(store: &MessageStore) {
    let cfg = &store.config;
    let sync = cfg.flush_disk_type == FlushDiskType::SyncFlush;
    let mut last_thorough = Instant::now();
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
            // Java answers FLUSH_DISK_TIMEOUT when its group commit cannot cover a request.
            store.flush_waiters.fail_all();
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
    let mut flushed_to = store.flush_waiters.flushed();
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::config::{FlushDiskType, StoreConfig};
    use super::super::message_store::{MessageStore, PutMessage};

    fn open(name: &str, sync: bool, logic_interval_ms: u64) -> std::sync::Arc<MessageStore> {
        let root = std::env::temp_dir().join(format!("flush-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut c = StoreConfig::new(&root);
        c.commit_log_file_size = 1024 * 1024;
        c.flush_interval_consume_queue_ms = logic_interval_ms;
        c.flush_disk_type = if sync {
            FlushDiskType::SyncFlush
        } else {
            FlushDiskType::AsyncFlush
        };
        MessageStore::open(c).unwrap()
    }

    fn put(store: &MessageStore, n: usize) -> u64 {
        let host = "127.0.0.1:10911".parse().unwrap();
        let mut end = 0;
        for i in 0..n {
            let m = PutMessage {
                topic: "FlushT".into(),
                queue_id: i32::try_from(i % 4).unwrap(),
                flag: 0,
                body: vec![b'f'; 200].into(),
                properties: format!("KEYS\u{1}k{i}\u{2}"),
                sys_flag: 0,
                born_timestamp: 0,
                born_host: host,
                store_host: host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
            };
            end = store.put(std::slice::from_ref(&m)).unwrap().end_offset();
        }
        end
    }

    fn dirty_queue_files(store: &MessageStore) -> usize {
        store
            .all_queues()
            .iter()
            .map(|q| q.dirty_files().len())
            .sum()
    }

    fn thread_names(store: &MessageStore) -> Vec<String> {
        store
            .threads
            .lock()
            .unwrap()
            .iter()
            .filter_map(|h| h.thread().name().map(str::to_owned))
            .collect()
    }

    #[test]
    fn logic_files_are_flushed_by_their_own_thread() {
        let store = open("logic", true, 50);
        let names = thread_names(&store);
        assert!(
            names.iter().any(|n| n == "FlushCommitLogService"),
            "{names:?}"
        );
        assert!(
            names.iter().any(|n| n == "FlushConsumeQueueService"),
            "{names:?}"
        );
        let end = put(&store, 40);
        // SYNC_FLUSH: the group commit covers the CommitLog without the logic flusher.
        assert!(store.wait_flushed_blocking(end, Duration::from_secs(5)));
        assert!(store.wait_dispatched(Duration::from_secs(5)));
        // A pass reads the dispatch time before it flushes, so the pass that flushed the last
        // dirty file may have read it before the dispatch: the next pass records it.
        let logic_time = || store.checkpoint.get(super::Field::LogicsMsgTimestamp);
        let deadline = Instant::now() + Duration::from_secs(5);
        while (dirty_queue_files(&store) > 0 || logic_time() == 0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(dirty_queue_files(&store), 0, "ConsumeQueues not flushed");
        assert!(logic_time() > 0);
        store.shutdown().unwrap();
    }

    #[test]
    fn sync_waiters_are_released_by_their_flush_and_failed_at_shutdown() {
        let store = open("waiters", true, 600_000);
        let end = put(&store, 10);
        assert!(store.wait_flushed_blocking(end, Duration::from_secs(5)));
        assert_eq!(store.flush_waiters.waiting(), 0);
        // An offset no append reaches: only the shutdown can release it, and as failed
        // (the send answers FLUSH_DISK_TIMEOUT).
        let far = end + 1_000_000;
        let waiter = {
            let s = std::sync::Arc::clone(&store);
            std::thread::spawn(move || s.wait_flushed_blocking(far, Duration::from_secs(60)))
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while store.flush_waiters.waiting() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(store.flush_waiters.waiting(), 1);
        // A flush that does not reach it releases its own waiter only.
        let end2 = put(&store, 1);
        assert!(store.wait_flushed_blocking(end2, Duration::from_secs(5)));
        assert_eq!(store.flush_waiters.waiting(), 1);
        assert!(!waiter.is_finished());
        let t = Instant::now();
        store.shutdown().unwrap();
        assert!(!waiter.join().unwrap(), "released as flushed");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(!store.wait_flushed_blocking(far, Duration::from_secs(60)));
    }

    #[test]
    fn shutdown_wakes_the_logic_flusher_and_flushes_what_it_left() {
        // An interval far longer than the test: only shutdown can end the thread's wait.
        let store = open("logic-stop", false, 600_000);
        let _ = put(&store, 40);
        assert!(store.wait_dispatched(Duration::from_secs(5)));
        assert!(
            dirty_queue_files(&store) > 0,
            "nothing flushed the queues yet"
        );
        let t = Instant::now();
        store.shutdown().unwrap();
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "shutdown took {:?}",
            t.elapsed()
        );
        assert!(store.threads.lock().unwrap().is_empty());
        assert_eq!(
            dirty_queue_files(&store),
            0,
            "shutdown left dirty ConsumeQueues"
        );
    }
}
