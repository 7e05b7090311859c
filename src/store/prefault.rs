//! Prefaulting the CommitLog ahead of the writer: the part of Java's `AllocateMappedFileService`
//! warm-up (`warmMapedFileEnable`) that keeps page faults off the send path.
//!
//! A fresh CommitLog file is reserved but unwritten, so the first copy into each of its pages
//! faults, and the kernel allocates and zero-fills the page inside the append (under the put
//! lock). This thread keeps [`COMMIT_LOG_PREFAULT_AHEAD_BYTES`] past the write position of the
//! last file resident and mapped writable; appends raise its signal when less than half of that
//! window is left. The thread never writes data: recovery sees the same zeros as before.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tracing::{debug, error};

use super::message_store::MessageStore;
use crate::limits::COMMIT_LOG_PREFAULT_AHEAD_BYTES;

/// How long the thread sleeps without a signal (it only checks for shutdown then).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Starts the prefault thread.
pub(crate) fn start(store: &Arc<MessageStore>) {
    let s = Arc::clone(store);
    let spawned = std::thread::Builder::new()
        .name("PrefaultCommitLogService".into())
        .spawn(move || {
            while !s.shutdown.load(Ordering::Acquire) {
                s.prefault_signal.wait(IDLE_WAIT);
                prefault_ahead(&s);
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
/// stopped) up to the window's end, and records how far it got.
fn prefault_ahead(store: &MessageStore) {
    let Some(file) = store.commit_log.last() else {
        return;
    };
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
    if to > from
        && let Err(e) = file.prefault(from, to - from)
    {
        // Not fatal: the writer faults the pages itself, as without this thread.
        debug!(file = %file.path().display(), error = %e, "CommitLog prefault failed");
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
