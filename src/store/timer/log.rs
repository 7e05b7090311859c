//! The timer log (`store:timer/TimerLog.java`): files of `mappedFileSizeTimerLog` bytes in
//! `<root>/timerlog/`, named by start offset, holding 52-byte units (big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | size (52) |
//! | 8 | position of the previous unit of the same slot, or -1 |
//! | 4 | magic (`MAGIC_DEFAULT`, `MAGIC_ROLL`, `MAGIC_DELETE` bits) |
//! | 8 | write time (ms, the wheel's write time when appended) |
//! | 4 | delay: due time minus write time |
//! | 8 | CommitLog offset of the message in `rmq_sys_wheel_timer` |
//! | 4 | its size |
//! | 4 | Java `hashCode` of the real topic |
//! | 8 | reserved (0) |
//!
//! A unit that would leave less than 16 bytes in a file is preceded by a blank record (size of
//! the rest, 0L, `BLANK_MAGIC_CODE`) and goes to the next file.

use std::path::Path;
use std::sync::Arc;

use crate::store::StoreError;
use crate::store::mapped_file::MappedFile;
use crate::store::mapped_file_queue::MappedFileQueue;

/// Bytes per unit (`TimerLog.UNIT_SIZE`).
pub const UNIT_SIZE: usize = 52;
/// Offset of the CommitLog offset inside a unit (`TimerLog.UNIT_PRE_SIZE_FOR_MSG`).
pub const UNIT_PRE_SIZE_FOR_MSG: usize = 28;
/// Smallest blank record (`TimerLog.MIN_BLANK_LEN`).
pub const MIN_BLANK_LEN: usize = 16;
/// Blank record magic (`TimerLog.BLANK_MAGIC_CODE`, `0xBBCCDDEE ^ 1880681586 + 8`).
pub const BLANK_MAGIC_CODE: i32 = -875_286_124;

/// One unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerUnit {
    /// Previous unit of the slot, or -1.
    pub prev_pos: i64,
    /// Magic bits.
    pub magic: i32,
    /// Write time (ms).
    pub write_time_ms: i64,
    /// Due time minus write time.
    pub delay_ms: i32,
    /// CommitLog offset of the timer-topic message.
    pub offset_py: i64,
    /// Its size.
    pub size_py: i32,
    /// Java `String.hashCode` of the real topic.
    pub topic_hash: i32,
}

impl TimerUnit {
    /// The slot time this unit is linked under.
    #[must_use]
    pub fn due_ms(&self) -> i64 {
        self.write_time_ms + i64::from(self.delay_ms)
    }

    /// The 52 bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(UNIT_SIZE);
        b.extend_from_slice(&i32::try_from(UNIT_SIZE).unwrap_or(52).to_be_bytes());
        b.extend_from_slice(&self.prev_pos.to_be_bytes());
        b.extend_from_slice(&self.magic.to_be_bytes());
        b.extend_from_slice(&self.write_time_ms.to_be_bytes());
        b.extend_from_slice(&self.delay_ms.to_be_bytes());
        b.extend_from_slice(&self.offset_py.to_be_bytes());
        b.extend_from_slice(&self.size_py.to_be_bytes());
        b.extend_from_slice(&self.topic_hash.to_be_bytes());
        b.extend_from_slice(&0i64.to_be_bytes());
        b
    }

    /// Decodes a unit; `None` for a blank record, a wrong size or a bad magic.
    #[must_use]
    pub fn decode(b: &[u8]) -> Option<Self> {
        let l = |at: usize| {
            b.get(at..at + 8)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(i64::from_be_bytes)
        };
        let i = |at: usize| {
            b.get(at..at + 4)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(i32::from_be_bytes)
        };
        let size = i(0)?;
        let magic = i(12)?;
        if usize::try_from(size).ok()? != UNIT_SIZE || !super::magic_ok(magic) {
            return None;
        }
        Some(Self {
            prev_pos: l(4)?,
            magic,
            write_time_ms: l(16)?,
            delay_ms: i(24)?,
            offset_py: l(28)?,
            size_py: i(36)?,
            topic_hash: i(40)?,
        })
    }
}

/// The timer log.
#[derive(Debug)]
pub struct TimerLog {
    queue: MappedFileQueue,
    file_size: usize,
}

impl TimerLog {
    /// Opens the files of `dir`; [`Self::recover`] must run before appends.
    pub fn open(dir: &Path, file_size: usize) -> Result<Self, StoreError> {
        let file_size = file_size.max(UNIT_SIZE + MIN_BLANK_LEN);
        Ok(Self {
            queue: MappedFileQueue::load(dir, file_size)?,
            file_size,
        })
    }

    /// File size.
    #[must_use]
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// Offset just past the last unit.
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        self.queue.max_offset()
    }

    /// Position of the last unit of a full file (`getOffsetForLastUnit`).
    #[must_use]
    pub fn offset_for_last_unit(&self) -> usize {
        let usable = self.file_size - MIN_BLANK_LEN;
        usable - usable % UNIT_SIZE - UNIT_SIZE
    }

    fn writable_file(&self) -> Result<Arc<MappedFile>, StoreError> {
        match self.queue.last() {
            Some(f) if f.remaining() > 0 => Ok(f),
            Some(f) => self
                .queue
                .create(f.file_from_offset() + u64::try_from(self.file_size).unwrap_or(0)),
            None => self.queue.create(0),
        }
    }

    /// Appends one unit; returns its position (`TimerLog.append`).
    pub fn append(&self, unit: &TimerUnit) -> Result<i64, StoreError> {
        let data = unit.encode();
        let mut f = self.writable_file()?;
        if data.len() + MIN_BLANK_LEN > f.remaining() {
            let rest = f.remaining();
            let mut blank = Vec::with_capacity(MIN_BLANK_LEN);
            blank.extend_from_slice(&i32::try_from(rest).unwrap_or(0).to_be_bytes());
            blank.extend_from_slice(&0i64.to_be_bytes());
            blank.extend_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
            f.write_at(f.wrote_position(), &blank)?;
            f.publish(self.file_size);
            f = self.writable_file()?;
        }
        let at = f.wrote_position();
        f.write_at(at, &data)?;
        f.publish(at + data.len());
        Ok(i64::try_from(f.file_from_offset() + u64::try_from(at).unwrap_or(0)).unwrap_or(-1))
    }

    /// The unit at `pos`.
    #[must_use]
    pub fn unit_at(&self, pos: i64) -> Option<TimerUnit> {
        let pos = u64::try_from(pos).ok()?;
        let f = self.queue.find(pos)?;
        let at = usize::try_from(pos - f.file_from_offset()).ok()?;
        TimerUnit::decode(&f.read(at, UNIT_SIZE)?)
    }

    /// Recovery (`recoverAndRevise` with `checkTimerLog`): scans from the start of the file
    /// holding `begin`, calls `each(position, unit)` for every valid unit, and cuts the log at
    /// the first invalid one. Returns the end offset.
    pub fn recover(
        &self,
        begin: u64,
        mut each: impl FnMut(i64, &TimerUnit) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let files = self.queue.files();
        let Some(start) = files
            .iter()
            .rposition(|f| f.file_from_offset() <= begin)
            .or(if files.is_empty() { None } else { Some(0) })
        else {
            return Ok(0);
        };
        let mut end = files.get(start).map_or(0, |f| f.file_from_offset());
        // Bytes past the end that are not zeros (a torn unit) must be cut.
        let mut dirty = false;
        for (n, f) in files.iter().enumerate().skip(start) {
            let is_last = n + 1 == files.len();
            let mut pos = 0usize;
            let mut stop = false;
            while pos + UNIT_SIZE <= self.file_size {
                let Some(b) = f.read_raw(pos, UNIT_SIZE) else {
                    stop = true;
                    break;
                };
                let magic = b
                    .get(12..16)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .map(i32::from_be_bytes);
                if magic == Some(BLANK_MAGIC_CODE) {
                    pos = self.file_size;
                    break;
                }
                let Some(unit) = TimerUnit::decode(&b) else {
                    dirty = b.iter().any(|x| *x != 0);
                    stop = true;
                    break;
                };
                let at = f.file_from_offset() + u64::try_from(pos).unwrap_or(0);
                each(i64::try_from(at).unwrap_or(i64::MAX), &unit)?;
                pos += UNIT_SIZE;
            }
            if !stop && !is_last {
                // Too little room for another unit: the file was used to its end.
                pos = self.file_size;
            }
            end = f.file_from_offset() + u64::try_from(pos).unwrap_or(0);
            if stop {
                dirty |= !is_last;
                break;
            }
        }
        if dirty {
            self.queue.truncate(end)?;
        }
        if let Some(last) = self.queue.last() {
            let from = last.file_from_offset();
            last.set_positions(usize::try_from(end.saturating_sub(from)).unwrap_or(0));
        }
        Ok(end)
    }

    /// Flushes written units; returns the offset everything before which is durable.
    pub fn flush(&self) -> Result<u64, StoreError> {
        for f in self.queue.files().iter().rev().take(2) {
            let _ = f.flush()?;
        }
        Ok(self.queue.max_offset())
    }

    /// Deletes leading files whose last unit points below `min_commit_log_offset`
    /// (`deleteExpiredFileByOffsetForTimerLog`): their messages are gone from the CommitLog.
    /// The last file is always kept. Returns how many files went.
    pub fn delete_expired(&self, min_commit_log_offset: i64) -> Result<usize, StoreError> {
        let files = self.queue.files();
        let last_unit = self.offset_for_last_unit();
        let mut cut = None;
        for f in files.iter().take(files.len().saturating_sub(1)) {
            let unit = f
                .read(last_unit, UNIT_SIZE)
                .and_then(|b| TimerUnit::decode(&b));
            match unit {
                Some(u) if u.offset_py < min_commit_log_offset => {
                    cut = Some(f.file_from_offset() + u64::try_from(self.file_size).unwrap_or(0));
                }
                _ => break,
            }
        }
        match cut {
            Some(offset) => self.queue.delete_before(offset),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn unit(i: i64) -> TimerUnit {
        TimerUnit {
            prev_pos: i - 1,
            magic: super::super::MAGIC_DEFAULT,
            write_time_ms: 1_000_000 + i,
            delay_ms: 5000,
            offset_py: i * 100,
            size_py: 100,
            topic_hash: 7,
        }
    }

    #[test]
    fn appends_roll_files_with_a_blank_and_recover_finds_the_end() {
        let dir = std::env::temp_dir().join(format!("timerlog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Room for 3 units and a blank per file (3 × 52 + 16 = 172 ≤ 200 < 4 × 52 + 16).
        let log = TimerLog::open(&dir, 200).unwrap();
        assert_eq!(log.recover(0, |_, _| Ok(())).unwrap(), 0);
        let positions: Vec<i64> = (0..7).map(|i| log.append(&unit(i)).unwrap()).collect();
        assert_eq!(positions, vec![0, 52, 104, 200, 252, 304, 400]);
        assert_eq!(log.unit_at(252), Some(unit(4)));
        assert_eq!(log.offset_for_last_unit(), 104);
        drop(log);

        let log = TimerLog::open(&dir, 200).unwrap();
        let mut seen = Vec::new();
        let end = log
            .recover(0, |p, u| {
                seen.push((p, u.offset_py));
                Ok(())
            })
            .unwrap();
        assert_eq!(end, 452);
        assert_eq!(seen.len(), 7);
        assert_eq!(log.append(&unit(7)).unwrap(), 452);
        // Files whose last unit's message is gone from the CommitLog are deleted, never the last.
        assert_eq!(log.delete_expired(250).unwrap(), 1);
        assert_eq!(log.unit_at(0), None);
        assert_eq!(log.unit_at(252), Some(unit(4)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_unit_is_cut() {
        let dir = std::env::temp_dir().join(format!("timerlog-torn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = TimerLog::open(&dir, 1040).unwrap();
        let _ = log.recover(0, |_, _| Ok(())).unwrap();
        for i in 0..3 {
            let _ = log.append(&unit(i)).unwrap();
        }
        drop(log);
        // Tear the third unit's magic.
        let path = dir.join("00000000000000000000");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[104 + 12] = 0x7f;
        std::fs::write(&path, bytes).unwrap();
        let log = TimerLog::open(&dir, 1040).unwrap();
        assert_eq!(log.recover(0, |_, _| Ok(())).unwrap(), 104);
        assert_eq!(log.append(&unit(9)).unwrap(), 104);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
