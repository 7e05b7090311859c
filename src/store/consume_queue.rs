//! ConsumeQueue (`store:ConsumeQueue.java`): per topic and queue, 20-byte units
//! `commitLogOffset i64 | size i32 | tagsCode i64`; unit n is queue offset n.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::StoreError;
use super::mapped_file::MappedFile;
use super::mapped_file_queue::MappedFileQueue;

/// Bytes per unit (`CQ_STORE_UNIT_SIZE`).
pub const CQ_UNIT_SIZE: usize = 20;
/// Units per file by default (`mappedFileSizeConsumeQueue = 300000 * 20`).
pub const CQ_UNITS_PER_FILE: usize = 300_000;

const _: () = assert!((CQ_UNITS_PER_FILE * CQ_UNIT_SIZE).is_multiple_of(CQ_UNIT_SIZE));

/// One unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    /// CommitLog offset of the record.
    pub commit_log_offset: i64,
    /// Record size.
    pub size: i32,
    /// Tag hash (or deliver time for the schedule topic).
    pub tags_code: i64,
}

impl CqUnit {
    fn encode(&self) -> [u8; CQ_UNIT_SIZE] {
        let mut b = [0u8; CQ_UNIT_SIZE];
        b[..8].copy_from_slice(&self.commit_log_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let a: [u8; CQ_UNIT_SIZE] = b.try_into().ok()?;
        let (o, rest) = a.split_at(8);
        let (s, t) = rest.split_at(4);
        Some(Self {
            commit_log_offset: i64::from_be_bytes(o.try_into().ok()?),
            size: i32::from_be_bytes(s.try_into().ok()?),
            tags_code: i64::from_be_bytes(t.try_into().ok()?),
        })
    }

    /// Java's validity test during recovery: `offset >= 0 && size > 0`.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }
}

/// The blank unit that pre-fills a queue whose first file does not start at 0 (`fillPreBlank`).
const BLANK_UNIT: CqUnit = CqUnit {
    commit_log_offset: 0,
    size: i32::MAX,
    tags_code: 0,
};

/// One queue's units.
#[derive(Debug)]
pub struct ConsumeQueue {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// Files.
    files: MappedFileQueue,
    /// First unit whose CommitLog data still exists (`minLogicOffset`, in units).
    min_logic: std::sync::atomic::AtomicU64,
}

impl ConsumeQueue {
    /// Opens `<root>/<topic>/<queueId>/`.
    pub fn load(
        root: &Path,
        topic: &str,
        queue_id: i32,
        file_size: usize,
    ) -> Result<Self, StoreError> {
        let dir = root.join(topic).join(queue_id.to_string());
        Ok(Self {
            topic: topic.to_owned(),
            queue_id,
            files: MappedFileQueue::load_derived(&dir, file_size)?,
            min_logic: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn unit_pos(&self, queue_offset: u64) -> u64 {
        queue_offset * u64::try_from(CQ_UNIT_SIZE).unwrap_or(20)
    }

    /// Scans loaded files for the last valid unit and sets write positions; returns the max
    /// queue offset (units) and the max CommitLog end covered.
    pub fn recover(&self) -> (u64, i64) {
        let mut max_phy_end = 0i64;
        let mut end_pos = self.files.min_offset();
        for f in self.files.files() {
            let mut pos = 0usize;
            while pos + CQ_UNIT_SIZE <= f.size() {
                let Some(unit) = f
                    .read_raw(pos, CQ_UNIT_SIZE)
                    .and_then(|b| CqUnit::decode(&b))
                else {
                    break;
                };
                if !unit.is_valid() {
                    break;
                }
                if unit != BLANK_UNIT {
                    max_phy_end = max_phy_end.max(unit.commit_log_offset + i64::from(unit.size));
                }
                pos += CQ_UNIT_SIZE;
            }
            f.set_positions(pos);
            end_pos = f.file_from_offset() + u64::try_from(pos).unwrap_or(0);
            if pos < f.size() {
                break;
            }
        }
        (
            end_pos / u64::try_from(CQ_UNIT_SIZE).unwrap_or(20),
            max_phy_end,
        )
    }

    /// Removes the queue's files and directory (DELETE_TOPIC_IN_BROKER).
    pub fn destroy(&self) -> Result<usize, StoreError> {
        self.files.destroy()
    }

    /// Writes unit `queue_offset`, creating files as needed (pre-filled with blanks when the
    /// queue starts mid-file).
    pub fn put(&self, queue_offset: u64, unit: CqUnit) -> Result<(), StoreError> {
        let pos = self.unit_pos(queue_offset);
        let size = u64::try_from(self.files.file_size()).unwrap_or(u64::MAX);
        let file_start = pos - pos % size;
        let file = match self.files.find(pos) {
            Some(f) => f,
            None => {
                let created = self.files.create(file_start)?;
                let mut p = 0usize;
                let stop = usize::try_from(pos - file_start).unwrap_or(0);
                while p < stop {
                    created.write_at(p, &BLANK_UNIT.encode())?;
                    p += CQ_UNIT_SIZE;
                }
                created.publish(stop);
                created
            }
        };
        let in_file = usize::try_from(pos - file.file_from_offset()).unwrap_or(usize::MAX);
        file.write_at(in_file, &unit.encode())?;
        let end = in_file + CQ_UNIT_SIZE;
        if end > file.wrote_position() {
            file.publish(end);
        }
        Ok(())
    }

    /// Unit at `queue_offset`, if written.
    #[must_use]
    pub fn get(&self, queue_offset: u64) -> Option<CqUnit> {
        let pos = self.unit_pos(queue_offset);
        let f = self.files.find(pos)?;
        let b: Bytes = f.read(
            usize::try_from(pos - f.file_from_offset()).ok()?,
            CQ_UNIT_SIZE,
        )?;
        CqUnit::decode(&b)
    }

    /// Next queue offset to be written.
    #[must_use]
    pub fn max_offset(&self) -> u64 {
        self.files.max_offset() / u64::try_from(CQ_UNIT_SIZE).unwrap_or(20)
    }

    /// First queue offset still stored, skipping pre-filled blanks.
    #[must_use]
    pub fn min_offset(&self) -> u64 {
        let mut off = (self.files.min_offset() / u64::try_from(CQ_UNIT_SIZE).unwrap_or(20))
            .max(self.min_logic.load(std::sync::atomic::Ordering::Acquire));
        let max = self.max_offset();
        while off < max && self.get(off) == Some(BLANK_UNIT) {
            off += 1;
        }
        off
    }

    /// Moves the minimum past units whose CommitLog data is gone (`correctMinOffset`).
    pub fn correct_min_offset(&self, min_phy_offset: i64) {
        let max = self.max_offset();
        let mut off = self.min_offset();
        while off < max {
            match self.get(off) {
                Some(u) if u == BLANK_UNIT || u.commit_log_offset < min_phy_offset => off += 1,
                _ => break,
            }
        }
        self.min_logic
            .fetch_max(off, std::sync::atomic::Ordering::AcqRel);
    }

    /// Removes units whose CommitLog offset is at or past `phy_offset` (after the CommitLog was
    /// cut): `truncateDirtyLogicFiles`.
    pub fn truncate_dirty(&self, phy_offset: i64) -> Result<(), StoreError> {
        let max = self.max_offset();
        let mut keep = max;
        while keep > self.files.min_offset() / 20 {
            match self.get(keep - 1) {
                Some(u) if u.commit_log_offset >= phy_offset && u != BLANK_UNIT => keep -= 1,
                _ => break,
            }
        }
        if keep < max {
            self.files.truncate(self.unit_pos(keep))?;
        }
        Ok(())
    }

    /// Files with bytes not yet flushed, with their write positions now.
    #[must_use]
    pub fn dirty_files(&self) -> Vec<(Arc<MappedFile>, usize)> {
        self.files.dirty()
    }

    /// Flushes every file.
    pub fn flush(&self) -> Result<(), StoreError> {
        for f in self.files.files() {
            let _ = f.flush()?;
        }
        Ok(())
    }

    /// Deletes files whose units all point before `min_phy_offset` (retention).
    pub fn delete_expired(&self, min_phy_offset: i64) -> Result<usize, StoreError> {
        let files = self.files.files();
        let mut cut = 0u64;
        for f in files.iter().take(files.len().saturating_sub(1)) {
            let last_pos = f.wrote_position().saturating_sub(CQ_UNIT_SIZE);
            match f
                .read(last_pos, CQ_UNIT_SIZE)
                .and_then(|b| CqUnit::decode(&b))
            {
                Some(u) if u.commit_log_offset + i64::from(u.size) <= min_phy_offset => {
                    cut = f.file_from_offset() + u64::try_from(f.size()).unwrap_or(0);
                }
                _ => break,
            }
        }
        if cut == 0 {
            Ok(0)
        } else {
            self.files.delete_before(cut)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open descriptors of this process whose target lies under `dir`.
    fn descriptors_under(dir: &Path) -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.starts_with(dir))
            .count()
    }

    #[test]
    fn queue_files_stay_mapped_without_descriptors() {
        let root = std::env::temp_dir().join(format!("cq-nofd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        // Two units per file: five units make three files.
        let size = 2 * CQ_UNIT_SIZE;
        let unit = |n: i64| CqUnit {
            commit_log_offset: n * 100,
            size: 100,
            tags_code: n,
        };
        let q = ConsumeQueue::load(&root, "T", 0, size).unwrap();
        for n in 0..5 {
            q.put(u64::try_from(n).unwrap(), unit(n)).unwrap();
        }
        assert_eq!(q.files.files().len(), 3);
        assert_eq!(
            descriptors_under(&root),
            0,
            "a queue file kept its descriptor"
        );
        q.flush().unwrap();
        for f in q.files.files() {
            f.sync_all().unwrap();
        }
        drop(q);
        // Loaded again: the same units, still no descriptors, and writable.
        let q = ConsumeQueue::load(&root, "T", 0, size).unwrap();
        assert_eq!(q.recover().0, 5);
        assert_eq!(q.get(3), Some(unit(3)));
        q.put(5, unit(5)).unwrap();
        assert_eq!(q.get(5), Some(unit(5)));
        assert_eq!(descriptors_under(&root), 0);
        q.destroy().unwrap();
        let _ = std::fs::remove_dir_all(&root);
    }
}
