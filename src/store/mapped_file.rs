//! A fixed-size, memory-mapped segment file: the only module with `unsafe`.
//!
//! Files are created at their full length (as Java's `MappedFile` does), then the file and its
//! directory are fsynced, so a crash never leaves a half-created segment. One writer appends
//! (the owner serialises writes); any number of readers read the bytes below the published write
//! position. Readers get [`Bytes`] that keep the mapping alive, so a response body can be sent
//! straight from the page cache without a copy.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use memmap2::MmapRaw;

/// A mapped segment. Invariant: bytes in `[0, wrote_position)` are never written again, except
/// by recovery truncation, which runs before any reader exists.
#[derive(Debug)]
pub struct MappedFile {
    /// File path (its name is the 20-digit start offset).
    path: PathBuf,
    /// Start offset of this file in the log's offset space.
    file_from_offset: u64,
    /// Size in bytes.
    size: usize,
    /// The mapping. `MmapRaw` hands out raw pointers; every access goes through the methods
    /// below, which check bounds.
    map: MmapRaw,
    /// The open file, kept for `sync_all` (fsync). `None` for derived files (ConsumeQueue): the
    /// descriptor is closed once the file is reserved and mapped, since the mapping alone keeps
    /// the file and its pages, and `msync` makes it durable; one descriptor per queue file hit
    /// the open-file limit at 10,000 topics × 4 queues. Each file still takes one mapping
    /// (`vm.max_map_count`, 65,530 by default, as with Java's `MappedFile`).
    file: Option<File>,
    /// Bytes written so far; readers may read below this.
    wrote_position: AtomicUsize,
    /// Bytes known durable (msync'ed) so far.
    flushed_position: AtomicUsize,
}

/// Fsyncs a directory so that a created or renamed entry survives a crash.
pub fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl MappedFile {
    /// Creates (or opens) `path` at exactly `size` bytes and maps it. A new file and its directory
    /// are fsynced before this returns.
    ///
    /// The file's blocks are reserved (`fallocate`) before it is mapped, as the JDK's
    /// `FileChannel.map` does since 8u162, so a full disk fails here with `ENOSPC` instead of
    /// killing the process with SIGBUS on a later write to a page without a block. A new file
    /// that cannot be reserved is removed again.
    pub fn open(path: &Path, file_from_offset: u64, size: usize) -> std::io::Result<Self> {
        Self::open_with(path, file_from_offset, size, true)
    }

    /// [`Self::open`] for files rebuilt from the CommitLog after a crash (ConsumeQueue): a new
    /// file is reserved but not fsynced, as Java creates them; recovery re-dispatches whatever a
    /// crash loses. Saves two journal commits per new queue file. Keeps no descriptor open.
    pub fn open_derived(path: &Path, file_from_offset: u64, size: usize) -> std::io::Result<Self> {
        Self::open_with(path, file_from_offset, size, false)
    }

    /// Fault readahead on or off for the whole mapping (`MADV_NORMAL` / `MADV_RANDOM`). Off for
    /// files written in small steps or read at random:
    /// - ConsumeQueue and index files: with readahead the first write to a fresh (reserved,
    ///   unwritten) file makes the kernel zero-fill a whole readahead window of pages, megabytes
    ///   per new ConsumeQueue, most of a 2,000-topic flood's dispatch time;
    /// - the CommitLog file being appended to under SYNC_FLUSH (see `prefault`): with readahead
    ///   Linux fills the page cache of a file that supports large folios (ext4 since 6.16) in
    ///   folios of up to 2 MiB, and an msync writes every dirty folio it touches whole, so a
    ///   group commit of 25 KiB wrote 2 MiB. On again once the file is full and only read.
    pub fn set_readahead(&self, on: bool) {
        let advice = if on {
            memmap2::Advice::Normal
        } else {
            memmap2::Advice::Random
        };
        if let Err(e) = self.map.advise(advice) {
            tracing::debug!(path = %self.path.display(), error = %e, on, "madvise (readahead) failed");
        }
    }

    fn open_with(
        path: &Path,
        file_from_offset: u64,
        size: usize,
        durable: bool,
    ) -> std::io::Result<Self> {
        let existed = path.exists();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let want = u64::try_from(size).map_err(std::io::Error::other)?;
        if file.metadata()?.len() > want {
            file.set_len(want)?;
        }
        if let Err(e) = reserve(&file, want) {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        if !existed && durable {
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                fsync_dir(dir)?;
            }
        }
        let map = MmapRaw::map_raw(&file)?;
        if map.len() != size {
            return Err(std::io::Error::other(format!(
                "{} mapped {} bytes, want {size}",
                path.display(),
                map.len()
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            file_from_offset,
            size,
            map,
            // Nothing after mapping needs a derived file's descriptor (writes, msync and
            // invalidation go through the mapping; deletion is by path).
            file: durable.then_some(file),
            wrote_position: AtomicUsize::new(0),
            flushed_position: AtomicUsize::new(0),
        })
    }

    /// File path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Start offset.
    #[must_use]
    pub fn file_from_offset(&self) -> u64 {
        self.file_from_offset
    }

    /// Size in bytes.
    #[must_use]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes written.
    #[must_use]
    pub fn wrote_position(&self) -> usize {
        self.wrote_position.load(Ordering::Acquire)
    }

    /// Bytes flushed.
    #[must_use]
    pub fn flushed_position(&self) -> usize {
        self.flushed_position.load(Ordering::Acquire)
    }

    /// Free bytes after the write position.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.size - self.wrote_position()
    }

    /// Sets the write and flush positions (recovery, or after loading a full file).
    pub fn set_positions(&self, position: usize) {
        let p = position.min(self.size);
        self.wrote_position.store(p, Ordering::Release);
        self.flushed_position.store(p, Ordering::Release);
    }

    /// Copies `bytes` to `pos`. Only the single writer calls this, and only at or beyond the
    /// write position; `publish` then makes the bytes visible to readers.
    pub fn write_at(&self, pos: usize, bytes: &[u8]) -> std::io::Result<()> {
        let end = self.write_end(pos, bytes.len())?;
        debug_assert!(end <= self.size);
        // SAFETY: `pos..end` lies inside the mapping (checked above). The mapping lives as long as
        // `self`. The region is at or beyond the published write position, which readers never
        // read, and the owner serialises writers, so no other reference observes these bytes
        // while they are copied. Source and destination cannot overlap: `bytes` is not part of
        // the mapping's unpublished tail.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(pos),
                bytes.len(),
            );
        }
        Ok(())
    }

    /// [`Self::write_at`] through the descriptor (`pwrite` into the page cache) instead of a
    /// copy into the mapping; readers of the mapping see the bytes as soon as this returns (one
    /// page cache). The pages are dirtied without a writable page-table entry, so the msync that
    /// writes them out has no mapping to write-protect: no TLB shootdown (an IPI to every other
    /// CPU running this process, waited for) per group commit, and no write fault on the next
    /// copy into the same page. A file without a descriptor falls back to the mapping.
    pub fn write_at_through_fd(&self, pos: usize, bytes: &[u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let Some(file) = self.file.as_ref() else {
            return self.write_at(pos, bytes);
        };
        let _end = self.write_end(pos, bytes.len())?;
        file.write_all_at(bytes, u64::try_from(pos).map_err(std::io::Error::other)?)
    }

    /// The end of a write of `len` bytes at `pos`, or an error if it would pass the file's end.
    fn write_end(&self, pos: usize, len: usize) -> std::io::Result<usize> {
        pos.checked_add(len)
            .filter(|e| *e <= self.size)
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "write of {len} bytes at {pos} past the end of {}",
                    self.path.display()
                ))
            })
    }

    /// Publishes bytes up to `position` to readers.
    pub fn publish(&self, position: usize) {
        assert!(position <= self.size, "publish past the end");
        self.wrote_position.store(position, Ordering::Release);
    }

    /// Reads `len` bytes at `pos` (which must be below the write position) as a zero-copy slice.
    #[must_use]
    pub fn read(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        Some(Bytes::from_owner(MappedSlice {
            file: Arc::clone(self),
            start: pos,
            len,
        }))
    }

    /// Reads bytes of the whole file regardless of the write position (recovery scans).
    #[must_use]
    pub fn read_raw(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        let end = pos.checked_add(len)?;
        if end > self.size {
            return None;
        }
        Some(Bytes::from_owner(MappedSlice {
            file: Arc::clone(self),
            start: pos,
            len,
        }))
    }

    /// Copies `dst.len()` bytes at `pos` out of the file regardless of the write position,
    /// without allocating (small fixed fields: index headers and slots). As with [`Self::read_raw`],
    /// the caller serialises this with any writer of those bytes (index files: the index lock).
    /// False when out of range.
    pub fn copy_raw(&self, pos: usize, dst: &mut [u8]) -> bool {
        if pos.checked_add(dst.len()).is_none_or(|end| end > self.size) {
            return false;
        }
        dst.copy_from_slice(self.slice(pos, dst.len()));
        true
    }

    fn slice(&self, start: usize, len: usize) -> &[u8] {
        assert!(start + len <= self.size, "slice out of bounds");
        // SAFETY: bounds checked above; the mapping lives as long as `self` (a `MappedSlice`
        // holds an `Arc`). Callers only create slices over published bytes (or, in recovery,
        // before any writer runs), which are never written again while readable, except
        // `invalidate_from`, which runs only during single-threaded recovery.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(start), len) }
    }

    /// Makes `[from, from + len)` (clamped to the file) resident and mapped writable
    /// (`MADV_POPULATE_WRITE`; `MADV_WILLNEED` read-ahead on kernels before 5.14, which lack it),
    /// so a later copy into it neither faults nor zero-fills pages. The file's blocks are
    /// reserved (`fallocate`), so populating never meets a missing block.
    pub fn prefault(&self, from: usize, len: usize) -> std::io::Result<()> {
        let from = from.min(self.size);
        let len = len.min(self.size - from);
        if len == 0 {
            return Ok(());
        }
        match self
            .map
            .advise_range(memmap2::Advice::PopulateWrite, from, len)
        {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                self.map.advise_range(memmap2::Advice::WillNeed, from, len)
            }
            other => other,
        }
    }

    /// Writes `[from, from + len)` (clamped to the file) out to the device and waits (msync),
    /// without moving the flushed position: for pages nothing was appended to yet.
    pub fn write_out(&self, from: usize, len: usize) -> std::io::Result<()> {
        let from = from.min(self.size);
        let len = len.min(self.size - from);
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(from, len)
    }

    /// Flushes (msync) everything written and not yet flushed; returns the new flushed position.
    pub fn flush(&self) -> std::io::Result<usize> {
        let wrote = self.wrote_position();
        let flushed = self.flushed_position();
        if wrote > flushed {
            self.map.flush_range(flushed, wrote - flushed)?;
            self.flushed_position.store(wrote, Ordering::Release);
        }
        Ok(wrote)
    }

    /// Records that everything written up to `position` is durable (after a file-system-wide
    /// sync that started after those bytes were written).
    pub fn mark_flushed(&self, position: usize) {
        let _previous = self
            .flushed_position
            .fetch_max(position.min(self.size), Ordering::AcqRel);
    }

    /// Zeroes `[from, size)` and syncs it, so bytes cut by recovery can never be resurrected by
    /// a later recovery (apache/rocketmq#10666). Call only before readers or writers exist.
    pub fn invalidate_from(&self, from: usize) -> std::io::Result<()> {
        if from >= self.size {
            return Ok(());
        }
        let zeros = vec![0u8; (self.size - from).min(1 << 20)];
        let mut pos = from;
        while pos < self.size {
            let n = zeros.len().min(self.size - pos);
            self.write_at(pos, zeros.get(..n).unwrap_or_default())?;
            pos += n;
        }
        self.map.flush_range(from, self.size - from)?;
        self.set_positions(from);
        Ok(())
    }

    /// `fsync` of the file (metadata included); for a file without a descriptor, a synchronous
    /// `msync` of the whole mapping (its size never changes after creation).
    pub fn sync_all(&self) -> std::io::Result<()> {
        match &self.file {
            Some(f) => f.sync_all(),
            None => self.map.flush(),
        }
    }
}

/// A zero-copy view of a mapped file, kept alive by its `Arc`.
struct MappedSlice {
    file: Arc<MappedFile>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for MappedSlice {
    fn as_ref(&self) -> &[u8] {
        self.file.slice(self.start, self.len)
    }
}

/// Gives `file` `len` bytes with every block allocated (`fallocate` mode 0: extends the size,
/// keeps existing data). File systems without `fallocate` get a plain (sparse) `set_len`.
fn reserve(file: &File, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let len_off = libc::off_t::try_from(len).map_err(std::io::Error::other)?;
    loop {
        // SAFETY: the descriptor belongs to `file`, which is open for writing and outlives the
        // call; fallocate only reads its integer arguments.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len_off) };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EOPNOTSUPP) => return file.set_len(len),
            _ => return Err(err),
        }
    }
}

/// True when `e` says the file system has no space left.
#[must_use]
pub fn is_no_space(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC)
}

/// Writes back every dirty page and inode of the file system holding `dir` (`syncfs`): one
/// call, and one journal commit, instead of an fsync per file.
pub fn sync_file_system(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let handle = File::open(dir)?;
    // SAFETY: the descriptor belongs to `handle`, which is open for the whole call.
    if unsafe { libc::syncfs(handle.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sizes of a file system, in bytes (`statvfs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Size of the file system.
    pub total: u64,
    /// Free bytes (Java's `File.getFreeSpace`, root's reserve included).
    pub free: u64,
    /// Bytes an unprivileged writer may still use (Java's `File.getUsableSpace`).
    pub available: u64,
}

impl DiskSpace {
    /// Java's `UtilAll.getDiskPartitionSpaceUsedPercent`: used / (used + usable), rounded up to
    /// the hundredth, as a fraction.
    #[must_use]
    pub fn java_used_ratio(&self) -> f64 {
        let used = self.total.saturating_sub(self.free);
        let base = used.saturating_add(self.available);
        if base == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)]
        let percent = (used as f64 * 100.0 / base as f64).ceil();
        percent / 100.0
    }
}

/// The sizes of the file system holding `path`; `None` when the call fails. Lives here because
/// this is the crate's one module of foreign calls.
#[must_use]
pub fn disk_space(path: &Path) -> Option<DiskSpace> {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call, and `st` points
    // to writable memory of the right size; statvfs writes the whole struct on success (0).
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    let frsize = st.f_frsize;
    Some(DiskSpace {
        total: st.f_blocks.saturating_mul(frsize),
        free: st.f_bfree.saturating_mul(frsize),
        available: st.f_bavail.saturating_mul(frsize),
    })
}

/// Raises this process's open-file limit (`RLIMIT_NOFILE`) towards `want`, never past the hard
/// limit; returns the soft limit now in force (0 if it cannot be read). Every connection is a
/// descriptor, and a server at its connection cap needs more than the common default of 1,024
/// (Java's start scripts run `ulimit -n` for the same reason).
pub fn raise_open_file_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only the struct it is given, which lives on this stack frame.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur >= want {
        return lim.rlim_cur;
    }
    let raised = libc::rlimit {
        rlim_cur: want.min(lim.rlim_max),
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } == 0 {
        raised.rlim_cur
    } else {
        lim.rlim_cur
    }
}

/// Fraction of the file system holding `path` that is used, 0.0–1.0 (Java's rounding).
#[must_use]
pub fn disk_used_ratio(path: &Path) -> Option<f64> {
    disk_space(path).map(|d| d.java_used_ratio().clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_write_read_flush_invalidate() {
        let dir = std::env::temp_dir().join(format!("mf-{}", std::process::id()));
        let path = dir.join("00000000000000000000");
        let f = Arc::new(MappedFile::open(&path, 0, 4096).unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        f.write_at(0, b"hello").unwrap();
        assert!(f.read(0, 5).is_none(), "unpublished bytes are invisible");
        f.publish(5);
        assert_eq!(f.read(0, 5).unwrap().as_ref(), b"hello");
        assert_eq!(f.flush().unwrap(), 5);
        assert!(f.write_at(4090, b"too long").is_err());
        f.invalidate_from(2).unwrap();
        assert_eq!(f.read_raw(0, 5).unwrap().as_ref(), b"he\0\0\0");
        assert_eq!(f.wrote_position(), 2);
        drop(f);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// What the prefault thread does ahead of the writer under SYNC_FLUSH: readahead off,
    /// populate, write the zeros out. Neither the bytes nor the positions change, a range past
    /// the end is clamped, and the writer's bytes written meanwhile survive a later write-out.
    #[test]
    fn write_out_ahead_changes_no_byte_or_position() {
        let dir = std::env::temp_dir().join(format!("mf-wo-{}", std::process::id()));
        let path = dir.join("00000000000000000000");
        let f = Arc::new(MappedFile::open(&path, 0, 64 * 1024).unwrap());
        f.set_readahead(false);
        f.write_at(0, b"record").unwrap();
        f.publish(6);
        f.prefault(4096, 1 << 20).unwrap();
        f.write_out(4096, 1 << 20).unwrap();
        f.write_out(1 << 20, 4096).unwrap();
        assert_eq!((f.wrote_position(), f.flushed_position()), (6, 0));
        f.write_at(6, b"more").unwrap();
        f.write_out(0, 8192).unwrap();
        f.publish(10);
        assert_eq!(f.flush().unwrap(), 10);
        f.set_readahead(true);
        assert_eq!(f.read(0, 10).unwrap().as_ref(), b"recordmore");
        assert!(
            f.read_raw(10, 64 * 1024 - 10)
                .unwrap()
                .iter()
                .all(|&b| b == 0)
        );
        drop(f);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[..10], b"recordmore");
        assert!(on_disk[10..].iter().all(|&b| b == 0));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The SYNC_FLUSH append path: bytes written through the descriptor into prefaulted,
    /// written-out pages are what readers of the mapping see, the msync makes them durable, a
    /// write past the end fails, and a file without a descriptor falls back to the mapping.
    #[test]
    fn write_through_fd_is_seen_by_the_mapping_and_flushed() {
        let dir = std::env::temp_dir().join(format!("mf-fd-{}", std::process::id()));
        let path = dir.join("00000000000000000000");
        let f = Arc::new(MappedFile::open(&path, 0, 64 * 1024).unwrap());
        f.set_readahead(false);
        f.prefault(0, 64 * 1024).unwrap();
        f.write_out(0, 64 * 1024).unwrap();
        f.write_at_through_fd(0, b"through").unwrap();
        f.write_at_through_fd(7, b"-fd").unwrap();
        f.publish(10);
        assert_eq!(f.read(0, 10).unwrap().as_ref(), b"through-fd");
        assert!(f.write_at_through_fd(64 * 1024 - 2, b"abc").is_err());
        assert!(f.write_at_through_fd(usize::MAX, b"a").is_err());
        assert_eq!(f.flush().unwrap(), 10);
        drop(f);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[..10], b"through-fd");
        assert!(on_disk[10..].iter().all(|&b| b == 0));

        let derived = dir.join("derived");
        let d = Arc::new(MappedFile::open_derived(&derived, 0, 4096).unwrap());
        d.write_at_through_fd(0, b"mapped").unwrap();
        d.publish(6);
        assert_eq!(d.read(0, 6).unwrap().as_ref(), b"mapped");
        let _ = std::fs::remove_dir_all(dir);
    }
}
