//! Prefaulting the CommitLog ahead of the writer: the part of Java's `AllocateMappedFileService`
//! warm-up (`warmMapedFileEnable`) that keeps page faults off the send path.
//!
//! A fresh CommitLog file is reserved but unwritten, so the first copy into each of its pages
//! faults, and the kernel allocates and zero-fills the page inside the append (under the put
//! lock). This thread keeps [`COMMIT_LOG_PREFAULT_AHEAD_BYTES`] past the write position of the
//! last file resident and mapped writable; appends raise its signal when less than half of that
//! window is left. The thread never writes data: recovery sees the same zeros as before.
//!
//! Under SYNC_FLUSH it also does what Java's `warmMappedFile` does for that flush type: it
//! writes the window's zeros out (msync, [`COMMIT_LOG_PREFAULT_WRITE_STEP_BYTES`] at a time), so
//! the reserved blocks under the group commit's msyncs are already written. An msync into
//! unwritten blocks converts their extents and needs a journal commit (two more device flushes);
//! into written blocks it is one data write and one flush. And it turns fault readahead off on
//! the file being appended to, so its page cache holds small folios and a group commit writes
//! the pages it covers, not 2 MiB folios (`MappedFile::set_readahead`). Measured with
//! `produce_profile.sh flush` against the build without both (alternating, quiet machine): at
//! 64 in flight the group commit's msync took 0.27–0.37 against 0.52–0.64 ms on average and a
//! send's flush wait mostly halved, but msg/s stayed within the noise (the rest of a send's time
//! there is not the flush); at 8 in flight 12.8k–14.6k against 7.6k–7.8k msg/s. See
//! `benches/RESULTS.md`, "Each group commit wrote 2 MiB".
//!
//! Under SYNC_FLUSH the writer copies records in through the file descriptor (`pwrite`), not
//! into the mapping (`append.rs`, `copy_in`): the pages this thread populated and wrote out keep
//! read-only page-table entries, so a group commit's msync has nothing to write-protect (no TLB
//! shootdown IPI per commit) and the writer takes no write fault per page. Measured on 6 s of a
//! 64-in-flight SYNC run: writer-thread faults 70,548 → 1, group-commit thread CPU 1,505 → 1,154
//! ms, broker CPU per message 32.5 → 25.2 µs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{debug, error};

use super::FlushDiskType;
use super::mapped_file::MappedFile;
use super::message_store::MessageStore;
use crate::limits::{COMMIT_LOG_PREFAULT_AHEAD_BYTES, COMMIT_LOG_PREFAULT_WRITE_STEP_BYTES};

/// How long the thread sleeps without a signal (it only checks for shutdown then).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Starts the prefault thread.
pub(crate) fn start(store: &Arc<MessageStore>) {
    let s = Arc::clone(store);
    let spawned = std::thread::Builder::new()
        .name("PrefaultCommitLogService".into())
        .spawn(move || {
            let sync = s.config.flush_disk_type == FlushDiskType::SyncFlush;
            let mut appending: Option<Arc<MappedFile>> = None;
            while !s.shutdown.load(Ordering::Acquire) {
                s.prefault_signal.wait(IDLE_WAIT);
                let Some(file) = s.commit_log.last() else {
                    continue;
                };
                if sync && !appending.as_ref().is_some_and(|a| Arc::ptr_eq(a, &file)) {
                    file.set_readahead(false);
                    if let Some(full) = appending.replace(Arc::clone(&file)) {
                        full.set_readahead(true);
                    }
                }
                prefault_ahead(&s, &file, sync);
            }
        });
    match spawned {
        Ok(h) => {
            if let Ok(mut t) = store.threads.lock() {
                t.push(h);
            }
        }
        Err(e) => error!(error = %e, "cannot start the CommitLog prefault service"),
    }
}

/// Whether an append that ended at log offset `end` should wake the thread: less than half
/// the window is left before the prefaulted end.
pub(crate) fn wanted(store: &MessageStore, end: u64) -> bool {
    let half = u64::try_from(COMMIT_LOG_PREFAULT_AHEAD_BYTES / 2).unwrap_or(u64::MAX);
    end.saturating_add(half) > store.prefaulted_to.load(Ordering::Relaxed)
}

/// Prefaults the last CommitLog file from its write position (or from where the last round
/// stopped) up to the window's end (under SYNC_FLUSH writing it out too), and records how far
/// it got.
fn prefault_ahead(store: &MessageStore, file: &MappedFile, write_out: bool) {
    let start = file.file_from_offset();
    let done = usize::try_from(
        store
            .prefaulted_to
            .load(Ordering::Relaxed)
            .saturating_sub(start),
    )
    .unwrap_or(usize::MAX);
    let wrote = file.wrote_position();
    let from = done.max(wrote).min(file.size());
    let to = wrote
        .saturating_add(COMMIT_LOG_PREFAULT_AHEAD_BYTES)
        .min(file.size());
    let step = if write_out {
        COMMIT_LOG_PREFAULT_WRITE_STEP_BYTES
    } else {
        usize::MAX
    };
    let mut at = from;
    while at < to && !store.shutdown.load(Ordering::Acquire) {
        let len = (to - at).min(step);
        // Neither failure is fatal: the writer faults the pages itself, and the group commit
        // converts the extents itself, as without this thread.
        if let Err(e) = file.prefault(at, len) {
            debug!(file = %file.path().display(), error = %e, "CommitLog prefault failed");
        } else if write_out && let Err(e) = file.write_out(at, len) {
            debug!(file = %file.path().display(), error = %e, "CommitLog zero write-out failed");
        }
        at += len;
    }
    // At the end of a file, the window moves past it, so appends wake the thread again only
    // once they are in the next file.
    let beyond = if to == file.size() {
        COMMIT_LOG_PREFAULT_AHEAD_BYTES / 2
    } else {
        0
    };
    let reached = start.saturating_add(u64::try_from(to + beyond).unwrap_or(u64::MAX));
    let _ = store.prefaulted_to.fetch_max(reached, Ordering::Relaxed);
}
