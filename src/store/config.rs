//! Store settings (`store:config/MessageStoreConfig.java`), with Java's defaults.

use std::path::PathBuf;

/// `flushDiskType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// Acknowledge after the page-cache write; flush in the background.
    AsyncFlush,
    /// Acknowledge after fsync (group commit).
    SyncFlush,
}

/// The store's settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `storePathRootDir`.
    pub root: PathBuf,
    /// `mappedFileSizeCommitLog` (1 GiB).
    pub commit_log_file_size: usize,
    /// `mappedFileSizeConsumeQueue` (300,000 × 20).
    pub consume_queue_file_size: usize,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog` ms (500).
    pub flush_interval_commit_log_ms: u64,
    /// `flushCommitLogLeastPages` (4).
    pub flush_commit_log_least_pages: usize,
    /// `flushCommitLogThoroughInterval` ms (10 s).
    pub flush_commit_log_thorough_interval_ms: u64,
    /// `flushIntervalConsumeQueue` ms (1000).
    pub flush_interval_consume_queue_ms: u64,
    /// `syncFlushTimeout` ms (5000).
    pub sync_flush_timeout_ms: u64,
    /// `maxMessageSize` (4 MiB).
    pub max_message_size: usize,
    /// `checkCRCOnRecover` (true).
    pub check_crc_on_recover: bool,
    /// `messageIndexEnable` (true).
    pub message_index_enable: bool,
    /// `maxHashSlotNum` (5,000,000).
    pub max_hash_slot_num: usize,
    /// `maxIndexNum` (20,000,000).
    pub max_index_num: usize,
    /// `autoMessageVersionOnTopicLen` (true): V2 magic for topics over 127 bytes.
    pub auto_message_version_on_topic_len: bool,
    /// `messageDelayLevel`.
    pub message_delay_level: String,
    /// `storePathCommitLog`, when not `<root>/commitlog`.
    pub commit_log_path: Option<PathBuf>,
    /// `accessMessageInMemoryMaxRatio` (40; a slave's is 10 lower): a read this far behind the
    /// CommitLog end, as a percentage of physical memory, is told to go to a slave.
    pub access_message_in_memory_max_ratio: u64,
    /// `deleteWhen`: hours of the day (`;`-separated) when expired files are deleted ("04").
    pub delete_when: String,
    /// `fileReservedTime`: hours a CommitLog file is kept (72).
    pub file_reserved_time_hours: u64,
    /// `diskMaxUsedSpaceRatio`: above this percentage expired files go at any hour (75).
    pub disk_max_used_space_ratio: u64,
    /// `diskSpaceWarningLevelRatio`: above this percentage writes are refused (90).
    pub disk_space_warning_level_ratio: u64,
    /// `diskSpaceCleanForciblyRatio`: above this percentage unexpired files may be deleted, and
    /// below it refused writes resume (85).
    pub disk_space_clean_forcibly_ratio: u64,
    /// `cleanFileForciblyEnable`: whether retention may delete unexpired files when the disk is
    /// over `diskSpaceCleanForciblyRatio` (true).
    pub clean_file_forcibly_enable: bool,
    /// `enableLmq`: stamp `INNER_MULTI_QUEUE_OFFSET` on messages naming LMQs (false).
    pub enable_lmq: bool,
    /// `enableMultiDispatch`: dispatch such messages into the named queues (false).
    pub enable_multi_dispatch: bool,
    /// `maxLmqConsumeQueueNum`: LMQ ConsumeQueues past which LMQ sends are refused.
    pub max_lmq_consume_queue_num: usize,
}

/// OS page size used by the least-pages flush rule (`MappedFile.OS_PAGE_SIZE`).
pub const OS_PAGE_SIZE: usize = 4096;

impl StoreConfig {
    /// Java's defaults under `root`.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            commit_log_file_size: 1024 * 1024 * 1024,
            consume_queue_file_size: 300_000 * 20,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log_ms: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval_ms: 10_000,
            flush_interval_consume_queue_ms: 1000,
            sync_flush_timeout_ms: 5000,
            max_message_size: 4 * 1024 * 1024,
            check_crc_on_recover: true,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            auto_message_version_on_topic_len: true,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .into(),
            commit_log_path: None,
            access_message_in_memory_max_ratio: 40,
            delete_when: "04".into(),
            file_reserved_time_hours: 72,
            disk_max_used_space_ratio: 75,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            enable_lmq: false,
            enable_multi_dispatch: false,
            max_lmq_consume_queue_num: crate::limits::MAX_LMQ_CONSUME_QUEUE_NUM,
        }
    }

    /// `<root>/commitlog`.
    #[must_use]
    pub fn commit_log_dir(&self) -> PathBuf {
        self.commit_log_path
            .clone()
            .unwrap_or_else(|| self.root.join("commitlog"))
    }

    /// `<root>/consumequeue`.
    #[must_use]
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.root.join("consumequeue")
    }

    /// `<root>/index`.
    #[must_use]
    pub fn index_dir(&self) -> PathBuf {
        self.root.join("index")
    }

    /// Delay of `level` (1-based) in ms, from `messageDelayLevel`.
    #[must_use]
    pub fn delay_millis(&self, level: usize) -> Option<i64> {
        let item = self
            .message_delay_level
            .split_whitespace()
            .nth(level.checked_sub(1)?)?;
        let (num, unit) = item.split_at(item.len().checked_sub(1)?);
        let n: i64 = num.parse().ok()?;
        let mult = match unit {
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        Some(n * mult)
    }
}

/// Physical memory of the machine (`StoreUtil.TOTAL_PHYSICAL_MEMORY_SIZE`), read once from
/// `/proc/meminfo`; Java's fallback of 24 GiB when it cannot be read.
#[must_use]
pub fn total_physical_memory() -> u64 {
    static TOTAL: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TOTAL.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(24 << 30, |kb| kb * 1024)
    })
}
