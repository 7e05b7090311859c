//! Retention (`CleanCommitLogService`, `CleanConsumeQueueService`, `IndexService.deleteExpiredFile`).
//!
//! Every 10 s, Java's rules: CommitLog files older than `fileReservedTime` are deleted during
//! the `deleteWhen` hours (UTC), or at any hour once the disk is more than
//! `diskMaxUsedSpaceRatio` full. Files not yet expired are deleted only when
//! `cleanFileForciblyEnable` is on and the disk is more than `diskSpaceCleanForciblyRatio` (85 %)
//! full; like Java, that rule does not look at consumer offsets. Deletion goes oldest first, stops
//! at the first file it may not delete, takes at most 10 files a pass, never the newest file, and
//! logs every file it deletes. ConsumeQueue and index files that only point at deleted data
//! follow. The pass also refreshes the [`DiskGuard`](super::disk::DiskGuard), which refuses
//! writes while the disk is full.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use super::StoreError;
use super::message_store::MessageStore;

/// Most CommitLog files deleted per pass (`deleteCommitLogFilesInterval` spacing in Java).
const MAX_FILES_PER_PASS: usize = 10;

/// Starts the clean thread.
pub(crate) fn start(store: &Arc<MessageStore>) {
    let s = Arc::clone(store);
    let spawned = std::thread::Builder::new()
        .name("CleanCommitLogService".into())
        .spawn(move || {
            while !s.shutdown.load(Ordering::Acquire) {
                if let Err(e) = run_once(&s, SystemTime::now()) {
                    warn!(error = %e, "retention pass failed");
                }
                for _ in 0..100 {
                    if s.shutdown.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
    match spawned {
        Ok(h) => {
            if let Ok(mut t) = store.threads.lock() {
                t.push(h);
            }
        }
        Err(e) => warn!(error = %e, "cannot start the clean service"),
    }
}

fn hour_matches(delete_when: &str, now: SystemTime) -> bool {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hour = (secs / 3600) % 24;
    delete_when
        .split(';')
        .filter_map(|h| h.trim().parse::<u64>().ok())
        .any(|h| h == hour)
}

/// One retention pass at `now`; returns the CommitLog files deleted.
pub fn run_once(store: &MessageStore, now: SystemTime) -> Result<usize, StoreError> {
    run_pass(store, now, false)
}

/// A pass asked for by an operator (DELETE_EXPIRED_COMMITLOG, Java's
/// `executeDeleteFilesManually`): expired files go whatever the hour in `deleteWhen`.
pub fn run_manual(store: &MessageStore) -> Result<usize, StoreError> {
    run_pass(store, SystemTime::now(), true)
}

fn run_pass(store: &MessageStore, now: SystemTime, manual: bool) -> Result<usize, StoreError> {
    let cfg = &store.config;
    let usage = store.disk.refresh();
    let used = usage.commit_log.max(usage.consume_queue);
    #[allow(clippy::cast_precision_loss)]
    let over_ratio = used * 100.0 > cfg.disk_max_used_space_ratio as f64;
    let forcibly = cfg.clean_file_forcibly_enable && used > store.disk.forcibly_ratio();
    if !(manual || hour_matches(&cfg.delete_when, now) || over_ratio || forcibly) {
        return Ok(0);
    }
    let reserved = Duration::from_secs(cfg.file_reserved_time_hours.saturating_mul(3600));
    let files = store.commit_log.files();
    let mut cut = 0u64;
    let mut deleted = 0usize;
    for f in files.iter().take(files.len().saturating_sub(1)) {
        let expired = std::fs::metadata(f.path())
            .and_then(|m| m.modified())
            .map(|t| t + reserved <= now)
            .unwrap_or(false);
        if !(expired || forcibly) || deleted >= MAX_FILES_PER_PASS {
            break;
        }
        info!(
            file = %f.path().display(),
            expired,
            forcibly = !expired,
            usage = %usage.java_text(),
            "retention deletes CommitLog file"
        );
        cut = f.file_from_offset() + u64::try_from(f.size()).unwrap_or(0);
        deleted += 1;
    }
    if deleted == 0 {
        return Ok(0);
    }
    let n = store.commit_log.delete_before(cut)?;
    let min_phy = i64::try_from(store.commit_log.min_offset()).unwrap_or(0);
    for q in store.all_queues() {
        let _ = q.delete_expired(min_phy)?;
        q.correct_min_offset(min_phy);
    }
    if let Ok(mut index) = store.index.lock() {
        let keep_from = index
            .iter()
            .position(|f| f.header().end_phy_offset >= min_phy)
            .unwrap_or(index.len().saturating_sub(1));
        for f in index.drain(..keep_from) {
            f.delete()?;
        }
    }
    info!(
        files = n,
        min_phy_offset = min_phy,
        used_percent = used * 100.0,
        "retention deleted expired CommitLog files"
    );
    Ok(n)
}
