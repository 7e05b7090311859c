//! IndexFile (`store:index/IndexFile.java`, `IndexHeader.java`): a hash index from
//! `topic#key` to CommitLog offsets.
//!
//! ```text
//! header 40 B: beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 | endPhyOffset i64 |
//!              hashSlotCount i32 | indexCount i32
//! slots:       hashSlotNum × i32 (index number of the newest entry in the bucket, 0 = empty)
//! entries:     indexNum × (keyHash i32 | phyOffset i64 | timeDiffSeconds i32 | prevIndex i32)
//! ```
//! Entry 0 is never used; `indexCount` starts at 1.

use std::path::Path;
use std::sync::Arc;

use super::StoreError;
use super::mapped_file::MappedFile;
use super::record::java_string_hash;

/// Header size (`IndexHeader.INDEX_HEADER_SIZE`).
pub const HEADER_SIZE: usize = 40;
/// Slot size.
const SLOT_SIZE: usize = 4;
/// Entry size.
const ENTRY_SIZE: usize = 20;
/// Default slots (`maxHashSlotNum`).
pub const DEFAULT_HASH_SLOT_NUM: usize = 5_000_000;
/// Default entries (`maxIndexNum`).
pub const DEFAULT_INDEX_NUM: usize = 20_000_000;

/// `IndexService.buildKey`.
#[must_use]
pub fn build_key(topic: &str, key: &str) -> String {
    format!("{topic}#{key}")
}

/// `IndexFile.indexKeyHashMethod`: `abs(String.hashCode)`, 0 when abs overflows.
#[must_use]
pub fn key_hash(key: &str) -> i32 {
    java_string_hash(key).checked_abs().unwrap_or(0)
}

/// An index file.
#[derive(Debug)]
pub struct IndexFile {
    file: Arc<MappedFile>,
    hash_slot_num: usize,
    index_num: usize,
}

/// The header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexHeader {
    /// Store time of the first entry.
    pub begin_timestamp: i64,
    /// Store time of the last entry.
    pub end_timestamp: i64,
    /// CommitLog offset of the first entry.
    pub begin_phy_offset: i64,
    /// CommitLog offset of the last entry.
    pub end_phy_offset: i64,
    /// Non-empty slots.
    pub hash_slot_count: i32,
    /// Next entry number (starts at 1).
    pub index_count: i32,
}

impl IndexFile {
    /// File size for the given geometry.
    #[must_use]
    pub fn file_size(hash_slot_num: usize, index_num: usize) -> usize {
        HEADER_SIZE + hash_slot_num * SLOT_SIZE + index_num * ENTRY_SIZE
    }

    /// Opens or creates an index file.
    pub fn open(path: &Path, hash_slot_num: usize, index_num: usize) -> Result<Self, StoreError> {
        let f = MappedFile::open(path, 0, Self::file_size(hash_slot_num, index_num))?;
        f.set_readahead(false);
        f.set_positions(f.size());
        Ok(Self {
            file: Arc::new(f),
            hash_slot_num,
            index_num,
        })
    }

    fn i32_at(&self, pos: usize) -> i32 {
        let mut b = [0u8; 4];
        if self.file.copy_raw(pos, &mut b) {
            i32::from_be_bytes(b)
        } else {
            0
        }
    }

    fn i64_at(&self, pos: usize) -> i64 {
        let mut b = [0u8; 8];
        if self.file.copy_raw(pos, &mut b) {
            i64::from_be_bytes(b)
        } else {
            0
        }
    }

    /// Reads the header.
    #[must_use]
    pub fn header(&self) -> IndexHeader {
        // One copy of the 40 bytes; a file too short for a header reads as empty.
        let mut b = [0u8; HEADER_SIZE];
        let _ = self.file.copy_raw(0, &mut b);
        let i64_at = |at: usize| {
            b.get(at..at + 8)
                .and_then(|v| <[u8; 8]>::try_from(v).ok())
                .map_or(0, i64::from_be_bytes)
        };
        let i32_at = |at: usize| {
            b.get(at..at + 4)
                .and_then(|v| <[u8; 4]>::try_from(v).ok())
                .map_or(0, i32::from_be_bytes)
        };
        IndexHeader {
            begin_timestamp: i64_at(0),
            end_timestamp: i64_at(8),
            begin_phy_offset: i64_at(16),
            end_phy_offset: i64_at(24),
            hash_slot_count: i32_at(32),
            index_count: i32_at(36).max(1),
        }
    }

    fn write_header(&self, h: &IndexHeader) -> Result<(), StoreError> {
        let mut b = [0u8; HEADER_SIZE];
        b[..8].copy_from_slice(&h.begin_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&h.end_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&h.begin_phy_offset.to_be_bytes());
        b[24..32].copy_from_slice(&h.end_phy_offset.to_be_bytes());
        b[32..36].copy_from_slice(&h.hash_slot_count.to_be_bytes());
        b[36..].copy_from_slice(&h.index_count.to_be_bytes());
        self.file.write_at(0, &b)?;
        Ok(())
    }

    /// True when no entry fits any more.
    #[must_use]
    pub fn is_full(&self) -> bool {
        usize::try_from(self.header().index_count).unwrap_or(usize::MAX) >= self.index_num
    }

    /// `IndexFile.putKey`; returns false when the file is full.
    pub fn put_key(
        &self,
        key: &str,
        phy_offset: i64,
        store_timestamp: i64,
    ) -> Result<bool, StoreError> {
        let mut h = self.header();
        let count = usize::try_from(h.index_count).unwrap_or(usize::MAX);
        if count >= self.index_num {
            return Ok(false);
        }
        let hash = key_hash(key);
        let slot = usize::try_from(hash).unwrap_or(0) % self.hash_slot_num;
        let slot_pos = HEADER_SIZE + slot * SLOT_SIZE;
        let mut slot_value = self.i32_at(slot_pos);
        if slot_value <= 0 || slot_value > h.index_count {
            slot_value = 0;
        }
        let time_diff = if h.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - h.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX))
        };
        let entry_pos = HEADER_SIZE + self.hash_slot_num * SLOT_SIZE + count * ENTRY_SIZE;
        let mut e = [0u8; ENTRY_SIZE];
        e[..4].copy_from_slice(&hash.to_be_bytes());
        e[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        e[12..16].copy_from_slice(&i32::try_from(time_diff).unwrap_or(i32::MAX).to_be_bytes());
        e[16..].copy_from_slice(&slot_value.to_be_bytes());
        self.file.write_at(entry_pos, &e)?;
        self.file.write_at(slot_pos, &h.index_count.to_be_bytes())?;
        if h.index_count <= 1 {
            h.begin_phy_offset = phy_offset;
            h.begin_timestamp = store_timestamp;
        }
        if slot_value == 0 {
            h.hash_slot_count += 1;
        }
        h.index_count += 1;
        h.end_phy_offset = phy_offset;
        h.end_timestamp = store_timestamp;
        self.write_header(&h)?;
        Ok(true)
    }

    /// `IndexFile.selectPhyOffset`: offsets of entries for `key` stored within `[begin, end]` ms.
    #[must_use]
    pub fn select(&self, key: &str, max: usize, begin: i64, end: i64) -> Vec<i64> {
        let h = self.header();
        let hash = key_hash(key);
        let slot = usize::try_from(hash).unwrap_or(0) % self.hash_slot_num;
        let mut idx = self.i32_at(HEADER_SIZE + slot * SLOT_SIZE);
        let mut out = Vec::new();
        let mut steps = 0usize;
        while idx > 0 && idx < h.index_count && out.len() < max && steps < self.index_num {
            steps += 1;
            let pos = HEADER_SIZE
                + self.hash_slot_num * SLOT_SIZE
                + usize::try_from(idx).unwrap_or(0) * ENTRY_SIZE;
            let entry_hash = self.i32_at(pos);
            let phy = self.i64_at(pos + 4);
            let ts = h.begin_timestamp + i64::from(self.i32_at(pos + 12)) * 1000;
            let prev = self.i32_at(pos + 16);
            if entry_hash == hash && ts >= begin && ts <= end {
                out.push(phy);
            }
            if prev <= 0 || prev >= idx {
                break;
            }
            idx = prev;
        }
        out
    }

    /// Removes the file from disk (retention).
    pub fn delete(self) -> Result<(), StoreError> {
        let path = self.file.path().to_owned();
        drop(self);
        std::fs::remove_file(path)?;
        Ok(())
    }

    /// msync the whole file.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.file.set_positions(0);
        self.file.publish(self.file.size());
        let _ = self.file.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_and_select() {
        let dir = std::env::temp_dir().join(format!("idx-{}", std::process::id()));
        let f = IndexFile::open(&dir.join("20260101000000000"), 16, 64).unwrap();
        assert!(f.put_key("T#k1", 100, 1_700_000_000_000).unwrap());
        assert!(f.put_key("T#k2", 200, 1_700_000_005_000).unwrap());
        assert!(f.put_key("T#k1", 300, 1_700_000_009_000).unwrap());
        assert_eq!(f.select("T#k1", 10, 0, i64::MAX), vec![300, 100]);
        let h = f.header();
        assert_eq!(
            (h.index_count, h.begin_phy_offset, h.end_phy_offset),
            (4, 100, 300)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
