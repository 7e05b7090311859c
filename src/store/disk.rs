//! The disk-space guard: when the store refuses writes for lack of space, and when it takes
//! them again.
//!
//! Java keeps a DISK_FULL bit that `CleanCommitLogService.isSpaceToDelete` sets every 10 s when
//! the CommitLog or ConsumeQueue partition is more than `diskSpaceWarningLevelRatio` (90 %) used,
//! and clears once it is back under `diskSpaceCleanForciblyRatio` (85 %); `checkBeforePutMessage`
//! then answers SERVICE_NOT_AVAILABLE. We keep those rules and add two: the bit is also set the
//! moment a file cannot be created (`ENOSPC` from the reservation in
//! [`MappedFile::open`](super::mapped_file::MappedFile::open)) or when less space is left than
//! the next CommitLog, ConsumeQueue and index files need, and while it is set a refused write
//! re-checks at most once a second, so writing resumes within a second of space being freed.
//! Reads and dispatch of what is already written never look at it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tracing::{error, info};

use super::config::StoreConfig;
use super::index_file::IndexFile;
use super::mapped_file::disk_space;
use super::message_store::now_millis;

/// While refusing writes, re-check the disk at most this often (ms).
const RECHECK_WHILE_FULL_MS: i64 = 1_000;

/// Used fractions of the three store partitions, Java's rounding; -1 when unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskUsage {
    /// CommitLog partition.
    pub commit_log: f64,
    /// ConsumeQueue partition.
    pub consume_queue: f64,
    /// Index partition.
    pub index: f64,
    /// Least space left on the CommitLog and ConsumeQueue partitions, bytes.
    pub available: u64,
}

impl DiskUsage {
    /// Java's `SendMessageProcessor.diskUtil`: `CL:  0.91 CQ:  0.91 INDEX:  0.91`.
    #[must_use]
    pub fn java_text(&self) -> String {
        format!(
            "CL: {:5.2} CQ: {:5.2} INDEX: {:5.2}",
            self.commit_log, self.consume_queue, self.index
        )
    }
}

/// The guard. One per store.
#[derive(Debug)]
pub struct DiskGuard {
    commit_log_dir: PathBuf,
    consume_queue_dir: PathBuf,
    index_dir: PathBuf,
    /// `diskSpaceWarningLevelRatio` as a fraction, clamped to Java's [0.35, 0.90].
    warning: f64,
    /// `diskSpaceCleanForciblyRatio` as a fraction, clamped to Java's [0.30, 0.85].
    forcibly: f64,
    /// Bytes the next CommitLog, ConsumeQueue and index files need.
    headroom: u64,
    full: AtomicBool,
    checked_ms: AtomicI64,
}

fn ratio_of(dir: &std::path::Path) -> (f64, Option<u64>) {
    // A directory not made yet lives on its parent's file system.
    let probe = dir
        .ancestors()
        .find(|p| p.exists())
        .map_or_else(|| dir.to_owned(), std::path::Path::to_owned);
    disk_space(&probe).map_or((-1.0, None), |d| (d.java_used_ratio(), Some(d.available)))
}

impl DiskGuard {
    /// A guard for `cfg`'s directories and file sizes; not yet checked.
    #[must_use]
    pub fn new(cfg: &StoreConfig) -> Self {
        let index = if cfg.message_index_enable {
            IndexFile::file_size(cfg.max_hash_slot_num, cfg.max_index_num)
        } else {
            0
        };
        let headroom = cfg.commit_log_file_size + cfg.consume_queue_file_size + index;
        #[allow(clippy::cast_precision_loss)]
        let pct = |v: u64| v as f64 / 100.0;
        Self {
            commit_log_dir: cfg.commit_log_dir(),
            consume_queue_dir: cfg.consume_queue_dir(),
            index_dir: cfg.index_dir(),
            warning: pct(cfg.disk_space_warning_level_ratio).clamp(0.35, 0.90),
            forcibly: pct(cfg.disk_space_clean_forcibly_ratio).clamp(0.30, 0.85),
            headroom: u64::try_from(headroom).unwrap_or(u64::MAX),
            full: AtomicBool::new(false),
            checked_ms: AtomicI64::new(0),
        }
    }

    /// The forced-clean ratio (retention deletes unexpired files above it).
    #[must_use]
    pub fn forcibly_ratio(&self) -> f64 {
        self.forcibly
    }

    /// Usage now.
    #[must_use]
    pub fn usage(&self) -> DiskUsage {
        let (commit_log, cl_avail) = ratio_of(&self.commit_log_dir);
        let (consume_queue, cq_avail) = ratio_of(&self.consume_queue_dir);
        let (index, _) = ratio_of(&self.index_dir);
        DiskUsage {
            commit_log,
            consume_queue,
            index,
            available: cl_avail
                .into_iter()
                .chain(cq_avail)
                .min()
                .unwrap_or(u64::MAX),
        }
    }

    /// Whether writes are refused now. Cheap while space is fine; while refusing, re-checks the
    /// disk at most once a second.
    #[must_use]
    pub fn is_full(&self) -> bool {
        if !self.full.load(Ordering::Acquire) {
            return false;
        }
        let now = now_millis();
        let last = self.checked_ms.load(Ordering::Acquire);
        if now - last >= RECHECK_WHILE_FULL_MS
            && self
                .checked_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let _ = self.refresh();
        }
        self.full.load(Ordering::Acquire)
    }

    /// Re-reads the disk and sets or clears the flag (Java's hysteresis); returns the usage.
    pub fn refresh(&self) -> DiskUsage {
        let u = self.usage();
        self.checked_ms.store(now_millis(), Ordering::Release);
        let worst = u.commit_log.max(u.consume_queue);
        let was_full = self.full.load(Ordering::Acquire);
        let short = u.available < self.headroom;
        if !was_full && (worst > self.warning || short) {
            self.full.store(true, Ordering::Release);
            error!(
                usage = %u.java_text(),
                available = u.available,
                needed = self.headroom,
                "disk maybe full soon, so mark disk full: refusing writes until space is freed"
            );
        } else if was_full && worst <= self.forcibly && !short {
            self.full.store(false, Ordering::Release);
            info!(usage = %u.java_text(), available = u.available, "disk space OK, so mark disk ok: accepting writes");
        }
        u
    }

    /// Records that creating a file failed for lack of space: writes are refused until a
    /// re-check finds room.
    pub fn mark_no_space(&self, what: &str) {
        self.checked_ms.store(now_millis(), Ordering::Release);
        if !self.full.swap(true, Ordering::AcqRel) {
            error!(
                file = what,
                "no space left to create a store file, so mark disk full: refusing writes until space is freed"
            );
        }
    }
}
