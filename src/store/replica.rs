//! What replication needs from the store (`store:ha`'s view of the CommitLog): the bytes a master
//! ships (`getCommitLogData`), a slave's verbatim append (`appendToCommitLog`), and the cut a slave
//! makes when its tail is ahead of its master (`truncateFiles`), done so the cut bytes can never
//! come back after a crash (apache/rocketmq#10666).
//!
//! A slave's CommitLog is the master's byte for byte: same file names, same blanks at file ends.
//! Its ConsumeQueues and index are built from it by the ordinary dispatcher.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use tracing::warn;

use super::StoreError;
use super::message_store::MessageStore;

impl MessageStore {
    /// Marks the store as a slave's: local appends are refused from now on, only replicated
    /// bytes are written (`BrokerRole.SLAVE`).
    pub fn set_replica(&self, replica: bool) {
        self.replica.store(replica, Ordering::Release);
    }

    /// Whether this store only takes replicated bytes.
    #[must_use]
    pub fn is_replica(&self) -> bool {
        self.replica.load(Ordering::Acquire)
    }

    /// The CommitLog end when this store was opened (after recovery). Bytes a slave holds past
    /// it, and was not sent since, may differ from what this master wrote after it.
    #[must_use]
    pub fn recovered_end(&self) -> u64 {
        self.recovered_end.load(Ordering::Acquire)
    }

    /// Up to `max` CommitLog bytes from `offset`, zero copy, never past the end of the file that
    /// holds `offset` nor past what was written; `None` when nothing is there yet.
    #[must_use]
    pub fn commit_log_data(&self, offset: u64, max: usize) -> Option<Bytes> {
        let f = self.commit_log.find(offset)?;
        let pos = usize::try_from(offset - f.file_from_offset()).ok()?;
        let available = f.wrote_position().checked_sub(pos)?;
        if available == 0 {
            return None;
        }
        f.read(pos, available.min(max))
    }

    /// Appends `data`, shipped by the master, at CommitLog offset `start`, which must be this
    /// store's end (or a file start, when the store is empty). Returns the new end.
    pub fn append_replicated(&self, start: u64, data: &[u8]) -> Result<u64, StoreError> {
        let _state = self.put_state.lock().map_err(|_| StoreError::Poisoned)?;
        if self.shutdown.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        if self.disk.is_full() {
            return Err(StoreError::DiskFull(self.disk.usage().java_text()));
        }
        let size = self.config.commit_log_file_size;
        let size64 = u64::try_from(size).unwrap_or(u64::MAX);
        let file = match self.commit_log.last() {
            None if start.is_multiple_of(size64) => self.commit_log.create(start)?,
            None => {
                return Err(StoreError::Corrupt(format!(
                    "replicated data for an empty CommitLog starts at {start}, not at a file start"
                )));
            }
            Some(f) => {
                let end = f.file_from_offset() + u64::try_from(f.wrote_position()).unwrap_or(0);
                if start != end {
                    return Err(StoreError::Corrupt(format!(
                        "replicated data starts at {start} but the CommitLog ends at {end}"
                    )));
                }
                if f.remaining() == 0 {
                    self.commit_log.create(end)?
                } else {
                    f
                }
            }
        };
        let pos = file.wrote_position();
        if data.len() > file.remaining() {
            return Err(StoreError::Corrupt(format!(
                "replicated chunk of {} bytes at {start} crosses the end of its {size}-byte file",
                data.len()
            )));
        }
        file.write_at(pos, data)?;
        file.publish(pos + data.len());
        let end = start + u64::try_from(data.len()).unwrap_or(0);
        self.written.store(end, Ordering::Release);
        let _ = self.appended.send_replace(end);
        self.flush_signal.notify();
        self.dispatch_signal.notify();
        Ok(end)
    }

    /// Cuts the CommitLog at `offset` when a slave holds bytes its master does not. Queue units
    /// past the cut go first (no reader can reach the bytes any more), then the bytes are
    /// zeroed and synced, and only then do positions move back: after a crash the tail cannot
    /// be recovered, unlike apache/rocketmq#10666 where only in-memory positions were reset.
    pub fn truncate_replica(&self, offset: u64) -> Result<u64, StoreError> {
        let mut state = self.put_state.lock().map_err(|_| StoreError::Poisoned)?;
        let _dispatch = self
            .dispatch_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let max = self.commit_log.max_offset();
        if offset >= max {
            return Ok(0);
        }
        let cut = max - offset;
        let phy = i64::try_from(offset).unwrap_or(i64::MAX);
        for q in self.all_queues() {
            q.truncate_dirty(phy)?;
        }
        if *self.dispatched.borrow() > offset {
            let _ = self.dispatched.send_replace(offset);
        }
        self.commit_log.truncate(offset)?;
        self.written.store(offset, Ordering::Release);
        let _ = self.appended.send_replace(offset);
        if self.flush_waiters.flushed() > offset {
            self.publish_flushed(offset);
        }
        state.queue_offsets.clear();
        for q in self.all_queues() {
            let _ = state.queue_offsets.insert(
                (q.topic.clone(), q.queue_id),
                i64::try_from(q.max_offset()).unwrap_or(0),
            );
        }
        warn!(
            offset,
            cut_bytes = cut,
            "CommitLog cut back to the master's end; the cut bytes are zeroed on disk"
        );
        Ok(cut)
    }
}
