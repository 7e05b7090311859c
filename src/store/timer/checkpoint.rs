//! The timer checkpoint (`store:timer/TimerCheckpoint.java`): `<root>/config/timercheck`, one
//! 4 KiB page whose first 56 bytes are seven big-endian longs: last read time, timer-log flush
//! position, timer-queue offset, the master's timer-queue offset, and the data version (state
//! version, timestamp, counter). The same 56 bytes answer GET_TIMER_CHECK_POINT.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use crate::store::StoreError;

/// Length of the mapped page Java creates (`DefaultMappedFile.OS_PAGE_SIZE`).
const FILE_LEN: u64 = 4096;
/// Encoded length (`TimerCheckpoint.encode`).
pub const ENCODED_LEN: usize = 56;

/// The checkpoint's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointData {
    /// `lastReadTimeMs`: slots before this time are delivered.
    pub last_read_time_ms: i64,
    /// `lastTimerLogFlushPos`.
    pub last_timer_log_flush_pos: i64,
    /// `lastTimerQueueOffset`: timer-queue entries before this offset are in the wheel.
    pub last_timer_queue_offset: i64,
    /// `masterTimerQueueOffset`.
    pub master_timer_queue_offset: i64,
    /// Data version: state version.
    pub state_version: i64,
    /// Data version: timestamp.
    pub timestamp: i64,
    /// Data version: counter.
    pub counter: i64,
}

impl CheckpointData {
    /// The 56 bytes (`TimerCheckpoint.encode`).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        [
            self.last_read_time_ms,
            self.last_timer_log_flush_pos,
            self.last_timer_queue_offset,
            self.master_timer_queue_offset,
            self.state_version,
            self.timestamp,
            self.counter,
        ]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
    }

    /// Decodes the first 32 bytes, and the data version when present (`TimerCheckpoint.decode`).
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        let l = |i: usize| {
            b.get(i * 8..i * 8 + 8)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(i64::from_be_bytes)
        };
        Some(Self {
            last_read_time_ms: l(0)?,
            last_timer_log_flush_pos: l(1)?,
            last_timer_queue_offset: l(2)?,
            master_timer_queue_offset: l(3)?,
            state_version: l(4).unwrap_or(0),
            timestamp: l(5).unwrap_or(0),
            counter: l(6).unwrap_or(0),
        })
    }
}

/// The checkpoint file.
#[derive(Debug)]
pub struct TimerCheckpoint {
    file: File,
    /// Values as loaded.
    pub loaded: CheckpointData,
}

impl TimerCheckpoint {
    /// Opens (or creates) the file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        if file.metadata()?.len() < FILE_LEN {
            file.set_len(FILE_LEN)?;
        }
        let mut b = [0u8; ENCODED_LEN];
        let loaded = if existed {
            file.read_exact_at(&mut b, 0)?;
            CheckpointData::decode(&b).unwrap_or_default()
        } else {
            CheckpointData::default()
        };
        Ok(Self { file, loaded })
    }

    /// Writes and syncs the values.
    pub fn write(&self, data: &CheckpointData) -> Result<(), StoreError> {
        self.file.write_all_at(&data.encode(), 0)?;
        self.file.sync_data()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("timercheck-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("config/timercheck");
        let c = TimerCheckpoint::open(&path).unwrap();
        assert_eq!(c.loaded, CheckpointData::default());
        let d = CheckpointData {
            last_read_time_ms: 1_700_000_000_000,
            last_timer_log_flush_pos: 520,
            last_timer_queue_offset: 10,
            master_timer_queue_offset: 10,
            state_version: 0,
            timestamp: 1_700_000_000_123,
            counter: 3,
        };
        c.write(&d).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        assert_eq!(TimerCheckpoint::open(&path).unwrap().loaded, d);
        assert_eq!(d.encode().len(), ENCODED_LEN);
        assert_eq!(
            CheckpointData::decode(&d.encode()[..32]).unwrap().counter,
            0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
