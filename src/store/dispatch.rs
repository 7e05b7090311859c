//! The dispatcher (`ReputMessageService`): reads the CommitLog from the last dispatched offset
//! and writes ConsumeQueue units and index entries. Under SYNC_FLUSH it stops at the flushed
//! offset, so no reader can see a record a crash could still take away (#8239).
//!
//! A record whose unit cannot be written is retried every second, never skipped. Lack of space
//! marks the disk full; any other error, after 30 attempts at one record (Java's count), marks
//! the logic-queue error so that appends are refused with SERVICE_NOT_AVAILABLE instead of
//! piling up undispatched; both lift once the record is written.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::limits::{
    CONSUME_QUEUE_WRITE_RETRIES, DISPATCH_COALESCE_INTERVAL, DISPATCH_IDLE_WAIT,
    DISPATCH_RETRY_INTERVAL,
};

use super::StoreError;
use super::config::FlushDiskType;
use super::consume_queue::{ConsumeQueue, CqUnit};
use super::index_file::IndexFile;
use super::mapped_file::is_no_space;
use super::message_store::{MessageStore, Signal};
use super::record::{
    MessageRecord, RecordError, TRANSACTION_MASK, TRANSACTION_PREPARED, TRANSACTION_ROLLBACK,
    tags_code,
};
use crate::limits::READER_DISPATCH_MAX_BYTES;

/// Topic of delayed messages; its units carry the deliver time instead of a tag hash.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Where a failing dispatcher stands: the record it is stuck at and how often it failed there.
#[derive(Debug, Default)]
struct Failing {
    /// Dispatched CommitLog offset at the first failure; a failure further on counts afresh.
    at: Option<u64>,
    /// Failed attempts at `at`.
    attempts: u32,
}

/// Readers blocked until a message arrives (held pulls and pops). While there are any, the
/// dispatcher dispatches each append as soon as it is written, since a held consumer is waiting
/// for exactly that; while there are none it lets appends pile up for
/// [`DISPATCH_COALESCE_INTERVAL`], and a pull or GET_MAX_OFFSET that comes meanwhile dispatches
/// what it needs itself ([`crate::limits::READER_DISPATCH_MAX_BYTES`]).
#[derive(Debug, Default)]
pub struct WaitingReaders {
    count: AtomicUsize,
    /// Raised when a reader starts waiting: ends the dispatcher's doze.
    started: Signal,
}

impl WaitingReaders {
    /// Counts a reader that starts waiting and wakes a dozing dispatcher; returns the count
    /// before.
    pub fn enter(&self) -> usize {
        let before = self.count.fetch_add(1, Ordering::AcqRel);
        self.started.notify();
        before
    }

    /// Counts a reader that stopped waiting.
    pub fn leave(&self) {
        let _ = self.count.fetch_sub(1, Ordering::AcqRel);
    }

    /// Readers waiting now.
    #[must_use]
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Ends the dispatcher's doze (shutdown).
    pub(crate) fn wake(&self) {
        self.started.notify();
    }

    /// The dispatcher's doze: until a reader starts waiting or `timeout` passes.
    fn doze(&self, timeout: Duration) {
        self.started.wait(timeout);
    }
}

/// Starts the dispatcher thread. After a pass that dispatched something, while no reader waits
/// for an arrival ([`WaitingReaders`]), it dozes [`DISPATCH_COALESCE_INTERVAL`]: appends meanwhile
/// only raise the signal's flag (no futex call, no wake-up), as Java's `ReputMessageService`
/// sleeps 1 ms per loop; a reader that starts waiting ends the doze. With readers waiting, and
/// after an empty pass, it waits for an append's wake-up (at most [`DISPATCH_IDLE_WAIT`]).
pub(crate) fn start(store: &Arc<MessageStore>) {
    let s = Arc::clone(store);
    let spawned = std::thread::Builder::new()
        .name("ReputMessageService".into())
        .spawn(move || {
            let mut failing = Failing::default();
            while !s.shutdown.load(Ordering::Acquire) {
                let before = *s.dispatched.borrow();
                match dispatch_available(&s, u64::MAX) {
                    Ok(()) => {
                        resumed(&s, &mut failing);
                        if *s.dispatched.borrow() != before && s.waiting_readers.count() == 0 {
                            s.waiting_readers.doze(DISPATCH_COALESCE_INTERVAL);
                        } else {
                            s.dispatch_signal.wait(DISPATCH_IDLE_WAIT);
                        }
                    }
                    Err(e) => {
                        failed(&s, &e, &mut failing);
                        pause(&s, DISPATCH_RETRY_INTERVAL);
                    }
                }
            }
        });
    match spawned {
        Ok(h) => {
            if let Ok(mut t) = store.threads.lock() {
                t.push(h);
            }
        }
        Err(e) => error!(error = %e, "cannot start the dispatcher"),
    }
}

/// Records a failed attempt. Lack of space marks the disk full (appends are refused until
/// space is freed; dispatch then resumes by itself). Any other error, after
/// [`CONSUME_QUEUE_WRITE_RETRIES`] attempts at one record, marks the logic-queue error, as
/// Java's `putMessagePositionInfoWrapper` does after its 30 retries: appends are refused with
/// SERVICE_NOT_AVAILABLE while the dispatcher keeps retrying.
fn failed(store: &MessageStore, e: &StoreError, failing: &mut Failing) {
    let at = *store.dispatched.borrow();
    if failing.at != Some(at) {
        error!(offset = at, error = %e, "dispatch failed; retrying every second");
        *failing = Failing {
            at: Some(at),
            attempts: 0,
        };
    }
    failing.attempts = failing.attempts.saturating_add(1);
    if let StoreError::Io(io) = e
        && is_no_space(io)
    {
        store.disk.mark_no_space("consumequeue or index");
        return;
    }
    if failing.attempts >= CONSUME_QUEUE_WRITE_RETRIES
        && !store.logics_queue_error.swap(true, Ordering::AcqRel)
    {
        error!(
            offset = at,
            attempts = failing.attempts,
            error = %e,
            "[BUG]consume queue can not write; the store refuses messages (SERVICE_NOT_AVAILABLE) until dispatch succeeds"
        );
    }
}

/// Dispatch succeeded: ends a failure streak and lifts the logic-queue error. Java keeps
/// refusing until a restart; the cause (a full or read-only queue directory, no descriptors)
/// is often gone by then, and every record is dispatched, as after a restart.
fn resumed(store: &MessageStore, failing: &mut Failing) {
    if failing.at.take().is_some() {
        info!(attempts = failing.attempts, "dispatch resumed");
        failing.attempts = 0;
    }
    if store.logics_queue_error.swap(false, Ordering::AcqRel) {
        warn!("consume queues are written again; the store takes messages again");
    }
}

/// Sleeps `d` (appends keep waking the dispatcher; a retry waits the whole pause), or until
/// shutdown.
fn pause(store: &MessageStore, d: Duration) {
    let until = Instant::now() + d;
    while !store.shutdown.load(Ordering::Acquire) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        store.dispatch_signal.wait(left);
    }
}

/// Dispatches every record up to `limit` that readers may see.
pub(crate) fn dispatch_available(store: &MessageStore, limit: u64) -> Result<(), StoreError> {
    let _one_at_a_time = store
        .dispatch_lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    dispatch_locked(store, limit)
}

/// The CommitLog end readers may see: the flushed offset under SYNC_FLUSH, else the written one.
fn visible_end(store: &MessageStore) -> u64 {
    if store.config.flush_disk_type == FlushDiskType::SyncFlush {
        store.flush_waiters.flushed()
    } else {
        store.written.load(Ordering::Acquire)
    }
}

/// Called by readers (pull, POP, GET_MAX_OFFSET) before they look at a ConsumeQueue: when the
/// dispatcher is behind by at most [`READER_DISPATCH_MAX_BYTES`] and not running, the reader
/// dispatches the rest itself, so a message acknowledged before the read is visible to it even
/// while the dispatcher thread waits for a CPU under load. Java's readers only wait for
/// `ReputMessageService`; this is our addition. Errors are left to the dispatcher thread, which
/// retries and reports them.
pub(crate) fn catch_up_for_reader(store: &MessageStore) {
    let end = visible_end(store);
    let behind = end.saturating_sub(*store.dispatched.borrow());
    if behind == 0 || behind > READER_DISPATCH_MAX_BYTES {
        return;
    }
    // The holder (the dispatcher or another reader) is dispatching at most what is behind now.
    let _one_at_a_time = store
        .dispatch_lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = dispatch_locked(store, end);
}

/// [`dispatch_available`] with the dispatch lock held.
fn dispatch_locked(store: &MessageStore, limit: u64) -> Result<(), StoreError> {
    let target = visible_end(store).min(limit);
    let mut reput = *store.dispatched.borrow();
    while reput < target {
        let Some(file) = store.commit_log.find(reput) else {
            break;
        };
        let pos = usize::try_from(reput - file.file_from_offset()).unwrap_or(usize::MAX);
        let Some(bytes) = file.read(pos, file.wrote_position().saturating_sub(pos)) else {
            break;
        };
        match MessageRecord::decode(&bytes, false) {
            Ok((rec, size)) => {
                dispatch_record(store, &rec, size)?;
                reput += u64::try_from(size).unwrap_or(0);
            }
            Err(RecordError::Blank(_)) => {
                reput = file.file_from_offset() + u64::try_from(file.size()).unwrap_or(0);
            }
            // A slave's tail can end inside a record until the next chunk arrives.
            Err(RecordError::Truncated { .. }) if file.wrote_position() < file.size() => break,
            Err(e) => {
                warn!(offset = reput, error = %e, "undecodable record during dispatch");
                break;
            }
        }
        store.dispatched.send_replace(reput);
    }
    Ok(())
}

/// The queue for (topic, queue id), created on first use.
pub(crate) fn queue_for(
    store: &MessageStore,
    topic: &str,
    queue_id: i32,
) -> Result<Arc<ConsumeQueue>, StoreError> {
    if let Some(q) = store.queue(topic, queue_id) {
        return Ok(q);
    }
    let mut queues = store.queues.write().map_err(|_| StoreError::Poisoned)?;
    if let Some(q) = super::queue_key::get(&*queues, topic, queue_id) {
        return Ok(Arc::clone(q));
    }
    let q = Arc::new(ConsumeQueue::load(
        &store.config.consume_queue_dir(),
        topic,
        queue_id,
        store.config.consume_queue_file_size,
    )?);
    let _ = queues.insert((topic.to_owned(), queue_id), Arc::clone(&q));
    if super::lmq::is_lmq(topic) {
        let _ = store.lmq_queue_count.fetch_add(1, Ordering::AcqRel);
    }
    Ok(q)
}

fn dispatch_record(
    store: &MessageStore,
    rec: &MessageRecord,
    size: usize,
) -> Result<(), StoreError> {
    let tx = rec.sys_flag & TRANSACTION_MASK;
    if tx != TRANSACTION_PREPARED && tx != TRANSACTION_ROLLBACK {
        let q = queue_for(store, &rec.topic, rec.queue_id)?;
        let code = if rec.topic == SCHEDULE_TOPIC {
            let level = rec
                .property("DELAY")
                .and_then(|d| d.parse::<usize>().ok())
                .unwrap_or(0);
            rec.store_timestamp + store.config.delay_millis(level).unwrap_or(0)
        } else {
            tags_code(rec.property("TAGS"))
        };
        let unit = CqUnit {
            commit_log_offset: rec.physical_offset,
            size: i32::try_from(size).unwrap_or(i32::MAX),
            tags_code: code,
        };
        q.put(u64::try_from(rec.queue_offset).unwrap_or(0), unit)?;
        if let Some(listener) = store.arrival_listener.get() {
            (listener.0)(&rec.topic, rec.queue_id, code);
        }
        for (name, queue_id, offset) in super::lmq::dispatch_targets(&store.config, rec) {
            let lq = queue_for(store, &name, queue_id)?;
            lq.put(u64::try_from(offset).unwrap_or(0), unit)?;
            if let Some(listener) = store.arrival_listener.get() {
                (listener.0)(&name, queue_id, code);
            }
        }
    }
    if store.config.message_index_enable && tx != TRANSACTION_ROLLBACK {
        let mut index = store.index.lock().map_err(|_| StoreError::Poisoned)?;
        build_index(
            &mut index,
            &store.index_dir,
            store.config.max_hash_slot_num,
            store.config.max_index_num,
            rec,
        )?;
    }
    store
        .last_dispatch_timestamp
        .store(rec.store_timestamp, Ordering::Release);
    // A slave appends raw bytes; its CommitLog checkpoint time comes from what it dispatched.
    let _ = store
        .last_put_timestamp
        .fetch_max(rec.store_timestamp, Ordering::AcqRel);
    Ok(())
}

/// `IndexService.buildIndex`: `topic#UNIQ_KEY` and `topic#key` for each key in `KEYS`.
pub fn build_index(
    files: &mut Vec<IndexFile>,
    dir: &Path,
    slots: usize,
    nums: usize,
    rec: &MessageRecord,
) -> Result<(), StoreError> {
    if let Some(last) = files.last()
        && rec.physical_offset < last.header().end_phy_offset
    {
        return Ok(());
    }
    let uniq = rec.property("UNIQ_KEY");
    let keys = rec.property("KEYS").into_iter().flat_map(|k| k.split(' '));
    // `topic#key` (`build_key`), built in one reused buffer, sized for a UNIQ_KEY (32 hex).
    let mut key = String::with_capacity(rec.topic.len() + 1 + 32);
    for k in uniq.into_iter().chain(keys).filter(|k| !k.is_empty()) {
        key.clear();
        key.push_str(&rec.topic);
        key.push('#');
        key.push_str(k);
        let needs_new = files.last().is_none_or(IndexFile::is_full);
        if needs_new {
            if let Some(last) = files.last() {
                last.flush()?;
            }
            let name = human_time(rec.store_timestamp.max(super::message_store::now_millis()));
            files.push(IndexFile::open(&dir.join(name), slots, nums)?);
        }
        if let Some(last) = files.last() {
            let _stored = last.put_key(&key, rec.physical_offset, rec.store_timestamp)?;
        }
    }
    Ok(())
}

/// `UtilAll.timeMillisToHumanString` in UTC: `yyyyMMddHHmmssSSS`.
#[must_use]
pub fn human_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}{ms:03}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_time_matches_java_format() {
        assert_eq!(super::human_time(0), "19700101000000000");
        assert_eq!(super::human_time(1_700_000_000_123), "20231114221320123");
    }
}
