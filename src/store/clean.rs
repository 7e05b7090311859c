//! Retention (`CleanCommitLogService`, `CleanConsumeQueueService`, `IndexService.deleteExpiredFile`).
//!
//! Every 10 s: CommitLog files older than `fileReservedTime` are deleted during the `deleteWhen`
//! hours (UTC), or at any hour once the disk is more than `diskMaxUsedSpaceRatio` full; above
//! 85 % the oldest files go even if not yet expired (Java's `diskSpaceCleanForciblyRatio`). The
//! newest file is never deleted. ConsumeQueue and index files that only point at deleted data
//! follow. Above 90 % (`diskSpaceWarningLevelRatio`) the store refuses writes with a clear error
//! and accepts them again once space is back; nothing already written is touched by that.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use super::StoreError;
use super::mapped_file::disk_used_ratio;
use super::message_store::MessageStore;

/// Above this used fraction writes are refused (`diskSpaceWarningLevelRatio = 0.90`).
pub const DISK_FULL_RATIO: f64 = 0.90;
/// Above this used fraction unexpired files are deleted too (`diskSpaceCleanForciblyRatio = 0.85`).
pub const DISK_CLEAN_FORCIBLY_RATIO: f64 = 0.85;
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
    let cfg = &store.config;
    let used = disk_used_ratio(&cfg.root).unwrap_or(0.0);
    let full = used > DISK_FULL_RATIO;
    if full != store.disk_full.swap(full, Ordering::AcqRel) {
        if full {
            warn!(
                used_percent = used * 100.0,
                "disk full: refusing writes until space is freed"
            );
        } else {
            info!(
                used_percent = used * 100.0,
                "disk space back: accepting writes"
            );
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let over_ratio = used * 100.0 > cfg.disk_max_used_space_ratio as f64;
    let forcibly = used > DISK_CLEAN_FORCIBLY_RATIO;
    if !(hour_matches(&cfg.delete_when, now) || over_ratio || forcibly) {
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
