//! A directory of equally sized mapped files named by their 20-digit start offset
//! (`MappedFileQueue`): the CommitLog and each ConsumeQueue are one of these.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tracing::warn;

use super::StoreError;
use super::mapped_file::{MappedFile, fsync_dir};

/// `UtilAll.offset2FileName`: the offset zero-padded to 20 digits.
#[must_use]
pub fn offset_to_file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// Files of one log, ascending by start offset.
#[derive(Debug)]
pub struct MappedFileQueue {
    /// Directory holding the files.
    dir: PathBuf,
    /// Size of every file.
    file_size: usize,
    /// The files; a std lock, never held across an await.
    files: RwLock<Vec<Arc<MappedFile>>>,
    /// New files are fsynced with their directory (the CommitLog); derived files are not.
    durable_create: bool,
}

impl MappedFileQueue {
    /// Opens every file in `dir` (creating the directory if needed). Files of the wrong size
    /// are an error: the operator configured a different file size than the data was written
    /// with.
    pub fn load(dir: &Path, file_size: usize) -> Result<Self, StoreError> {
        Self::load_with(dir, file_size, true)
    }

    /// [`Self::load`] for derived data (ConsumeQueue, see [`MappedFile::open_derived`]): files
    /// are created without fsync, and none keeps a descriptor open.
    pub fn load_derived(dir: &Path, file_size: usize) -> Result<Self, StoreError> {
        Self::load_with(dir, file_size, false)
    }

    fn load_with(dir: &Path, file_size: usize, durable: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)?;
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(offset) = name.parse::<u64>() else {
                continue;
            };
            names.push((offset, path));
        }
        names.sort_by_key(|(o, _)| *o);
        let mut files = Vec::with_capacity(names.len());
        let count = names.len();
        for (i, (offset, path)) in names.into_iter().enumerate() {
            let len = std::fs::metadata(&path)?.len();
            let want = u64::try_from(file_size).unwrap_or(u64::MAX);
            if len < want && len > 0 && i + 1 == count {
                // A torn last segment (a crash while it was being created or a truncated copy):
                // extend it; recovery then finds where its valid records end.
                warn!(path = %path.display(), len, "last segment is short; extending it for recovery");
            } else if len != want {
                if len == 0 {
                    warn!(path = %path.display(), "removing empty segment left by a crash");
                    std::fs::remove_file(&path)?;
                    continue;
                }
                return Err(StoreError::Corrupt(format!(
                    "{} is {len} bytes, expected {file_size} (check mappedFileSize settings)",
                    path.display()
                )));
            }
            let f = if durable {
                MappedFile::open(&path, offset, file_size)?
            } else {
                MappedFile::open_derived(&path, offset, file_size)?
            };
            f.set_positions(file_size);
            files.push(Arc::new(f));
        }
        Ok(Self {
            dir: dir.to_owned(),
            file_size,
            files: RwLock::new(files),
            durable_create: durable,
        })
    }

    /// Directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// File size.
    #[must_use]
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// Snapshot of the files.
    #[must_use]
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The files with unflushed bytes, each with its wrote position read now (everything below
    /// it is durable once that file is flushed). Filters under the read lock: the logic-flush
    /// pass calls this for every queue each second, and most queues have nothing dirty.
    #[must_use]
    pub fn dirty(&self) -> Vec<(Arc<MappedFile>, usize)> {
        self.files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter_map(|f| {
                let wrote = f.wrote_position();
                (f.flushed_position() < wrote).then(|| (Arc::clone(f), wrote))
            })
            .collect()
    }

    /// Last file.
    #[must_use]
    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .last()
            .cloned()
    }

    /// First file.
    #[must_use]
    pub fn first(&self) -> Option<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .first()
            .cloned()
    }

    /// The file holding `offset`.
    #[must_use]
    pub fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self
            .files
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = files.first()?.file_from_offset();
        let size = u64::try_from(self.file_size).ok()?;
        let idx = usize::try_from(offset.checked_sub(first)? / size).ok()?;
        files
            .get(idx)
            .filter(|f| f.file_from_offset() <= offset)
            .cloned()
    }

    /// Creates the file that starts at `offset` and appends it.
    pub fn create(&self, offset: u64) -> Result<Arc<MappedFile>, StoreError> {
        let path = self.dir.join(offset_to_file_name(offset));
        let f = Arc::new(if self.durable_create {
            MappedFile::open(&path, offset, self.file_size)?
        } else {
            // A new queue file is written in small steps: no fault readahead.
            let f = MappedFile::open_derived(&path, offset, self.file_size)?;
            f.set_readahead(false);
            f
        });
        let mut files = self
            .files
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(last) = files.last() {
            let want = last.file_from_offset() + u64::try_from(self.file_size).unwrap_or(0);
            if want != offset {
                return Err(StoreError::Corrupt(format!(
                    "new file at {offset} does not follow {want}"
                )));
            }
        }
        files.push(Arc::clone(&f));
        Ok(f)
    }

    /// Offset just past the last written byte.
    #[must_use]
    pub fn max_offset(&self) -> u64 {
        self.last().map_or(0, |f| {
            f.file_from_offset() + u64::try_from(f.wrote_position()).unwrap_or(0)
        })
    }

    /// Start of the first file.
    #[must_use]
    pub fn min_offset(&self) -> u64 {
        self.first().map_or(0, |f| f.file_from_offset())
    }

    /// Cuts the log at `offset`: files starting at or after it are deleted, the file holding it
    /// is zeroed from there on (so cut bytes can never come back), and positions are reset.
    pub fn truncate(&self, offset: u64) -> Result<(), StoreError> {
        let mut files = self
            .files
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = u64::try_from(self.file_size).unwrap_or(u64::MAX);
        let mut keep = Vec::with_capacity(files.len());
        for f in files.drain(..) {
            let start = f.file_from_offset();
            if start + size <= offset {
                keep.push(f);
            } else if start < offset {
                f.invalidate_from(usize::try_from(offset - start).unwrap_or(0))?;
                keep.push(f);
            } else {
                warn!(path = %f.path().display(), "deleting segment past the recovered end");
                std::fs::remove_file(f.path())?;
            }
        }
        *files = keep;
        fsync_dir(&self.dir)?;
        Ok(())
    }

    /// Removes every file and the directory (a deleted topic's queue). Readers holding a
    /// mapped slice keep it: the mapping outlives the unlinked file.
    pub fn destroy(&self) -> Result<usize, StoreError> {
        let removed = std::mem::take(
            &mut *self
                .files
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for f in &removed {
            match std::fs::remove_file(f.path()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        match std::fs::remove_dir(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(removed.len())
    }

    /// Deletes whole files that end at or before `offset` (retention, or a ConsumeQueue whose
    /// CommitLog data is gone); returns how many.
    pub fn delete_before(&self, offset: u64) -> Result<usize, StoreError> {
        let mut files = self
            .files
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let size = u64::try_from(self.file_size).unwrap_or(u64::MAX);
        let before = files.len();
        let mut removed = Vec::new();
        files.retain(|f| {
            let gone = f.file_from_offset() + size <= offset;
            if gone {
                removed.push(Arc::clone(f));
            }
            !gone
        });
        for f in &removed {
            std::fs::remove_file(f.path())?;
        }
        Ok(before - files.len())
    }
}
