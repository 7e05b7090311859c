//! The checkpoint file (`store:StoreCheckpoint.java`): 4096 bytes holding
//! `physicMsgTimestamp @0`, `logicsMsgTimestamp @8`, `indexMsgTimestamp @16`,
//! `masterFlushedOffset @24`, `confirmPhyOffset @32`, big-endian longs.

use std::path::Path;
use std::sync::Arc;

use super::StoreError;
use super::mapped_file::MappedFile;

/// Size of the file.
pub const CHECKPOINT_FILE_SIZE: usize = 4096;

/// The checkpoint.
#[derive(Debug)]
pub struct Checkpoint {
    file: Arc<MappedFile>,
}

/// Field offsets.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Store time of the last flushed CommitLog message.
    PhysicMsgTimestamp = 0,
    /// Store time of the last flushed ConsumeQueue unit.
    LogicsMsgTimestamp = 8,
    /// Store time of the last flushed index entry.
    IndexMsgTimestamp = 16,
    /// Master's flushed offset (5.x).
    MasterFlushedOffset = 24,
    /// Confirmed offset (5.x).
    ConfirmPhyOffset = 32,
}

impl Checkpoint {
    /// Opens or creates `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let f = MappedFile::open(path, 0, CHECKPOINT_FILE_SIZE)?;
        f.set_positions(CHECKPOINT_FILE_SIZE);
        Ok(Self { file: Arc::new(f) })
    }

    /// Reads a field.
    #[must_use]
    pub fn get(&self, field: Field) -> i64 {
        let pos = field as usize;
        self.file
            .read_raw(pos, 8)
            .and_then(|b| b.as_ref().try_into().ok())
            .map_or(0, i64::from_be_bytes)
    }

    /// Writes a field (durable at the next [`Self::flush`]).
    pub fn set(&self, field: Field, value: i64) -> Result<(), StoreError> {
        self.file.write_at(field as usize, &value.to_be_bytes())?;
        Ok(())
    }

    /// `getMinTimestamp`: the older of the CommitLog and ConsumeQueue times, less 3 s.
    #[must_use]
    pub fn min_timestamp(&self) -> i64 {
        (self
            .get(Field::PhysicMsgTimestamp)
            .min(self.get(Field::LogicsMsgTimestamp))
            - 3000)
            .max(0)
    }

    /// msync.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.file.set_positions(0);
        self.file.publish(CHECKPOINT_FILE_SIZE);
        let _ = self.file.flush()?;
        Ok(())
    }
}
