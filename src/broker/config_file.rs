//! The JSON files under `<storePathRootDir>/config/` (`ConfigManager`): load with a fallback to
//! `<file>.bak`, persist by keeping the previous file as `<file>.bak` and writing the new one
//! through a synced temp file and a rename, so a crash never leaves a torn file.
//!
//! [`ConfigFile`] is the one writer of a file: snapshots are numbered as they are taken, only the
//! newest waits to be written, and a thread of the file's own writes it, so bursts of changes
//! (an auto-create flood) coalesce into few writes, an older snapshot can never replace a newer
//! one, and no fsync runs on the async runtime. Java serialises the same way
//! (`ConfigManager.persist` and `MixAll.string2File` are `synchronized`) but writes once per change.

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

/// Reads `path`, or `path.bak` when `path` is missing or empty (`ConfigManager.load`).
#[must_use]
pub fn load(path: &Path) -> Option<String> {
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .ok()
            .filter(|t| !t.trim().is_empty())
    };
    read(path).or_else(|| {
        let bak = with_suffix(path, ".bak");
        let text = read(&bak);
        if text.is_some() {
            warn!(path = %path.display(), "config file missing or empty; loaded the .bak copy");
        }
        text
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `text` to `path`, keeping the previous content as `path.bak`.
pub fn persist(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = with_suffix(path, ".tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    if path.exists() {
        std::fs::rename(path, with_suffix(path, ".bak"))?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        crate::store::mapped_file::fsync_dir(dir)?;
    }
    Ok(())
}

/// A manager whose state lives in one config file (Java's `ConfigManager`): it names the file
/// and encodes its state; persisting goes through the file's single writer.
pub trait ConfigManager {
    /// The file's writer.
    fn config_file(&self) -> &ConfigFile;

    /// The state as the file's text.
    fn encode(&self) -> String;

    /// Queues the current state for writing; returns the snapshot number. Never blocks on disk.
    fn persist(&self) -> u64 {
        self.config_file().submit(|| self.encode())
    }

    /// Writes the current state now and waits for it (clean shutdown).
    fn persist_now(&self) {
        if let Err(e) = self.config_file().persist_now(|| self.encode()) {
            warn!(path = %self.config_file().path().display(), error = %e, "cannot persist config file");
        }
    }

    /// Waits until snapshot `ticket` of [`Self::persist`] is on disk.
    fn persisted(&self, ticket: u64) -> impl Future<Output = Result<(), String>> + Send
    where
        Self: Sync,
    {
        self.config_file().written(ticket)
    }
}

/// Encodes the owner's current state; `None` once the owner is gone.
pub type Encoder = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// What the writer thread and the submitters share.
struct Shared {
    path: PathBuf,
    state: Mutex<WriterState>,
    wake: Condvar,
    /// Highest snapshot number written (or given up on), for async waiters.
    done: watch::Sender<u64>,
    /// When set, the writer thread encodes (once per write) instead of each submitter.
    encoder: std::sync::OnceLock<Encoder>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct WriterState {
    /// Number of the last snapshot handed out.
    taken: u64,
    /// The newest snapshot encoded by a submitter and not yet written.
    pending: Option<(u64, String)>,
    /// Changes were submitted that the writer thread has not encoded yet.
    dirty: bool,
    /// Highest snapshot number written successfully.
    written: u64,
    /// Highest snapshot number whose write failed, with the error.
    failed: Option<(u64, String)>,
    /// The writer thread is running.
    started: bool,
    /// The owner is gone; the writer exits once nothing is pending.
    closed: bool,
}

/// The single writer of one config file.
#[derive(Debug)]
pub struct ConfigFile {
    shared: Arc<Shared>,
}

impl ConfigFile {
    /// A writer for `path`; its thread starts with the first snapshot.
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        let (done, _) = watch::channel(0);
        Self {
            shared: Arc::new(Shared {
                path,
                state: Mutex::new(WriterState::default()),
                wake: Condvar::new(),
                done,
                encoder: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Lets the writer thread encode the state itself, once per write: a burst of changes then
    /// costs one encoding and one write however many callers submitted. Set once.
    pub fn set_encoder(&self, encoder: Encoder) {
        let _ = self.shared.encoder.set(encoder);
    }

    /// Queues the current state for writing and returns its number; never blocks on the disk.
    /// With an encoder installed this only marks the file dirty. Without one, `encode` runs here,
    /// after the caller's change was made, and is skipped when a newer snapshot is already queued
    /// (that one includes the change).
    pub fn submit(&self, encode: impl FnOnce() -> String) -> u64 {
        let shared = &self.shared;
        let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.taken += 1;
        let ticket = st.taken;
        if shared.encoder.get().is_some() {
            st.dirty = true;
        } else {
            drop(st);
            // Any change made before `ticket` was taken is in a snapshot encoded after it.
            let text = (!self.newer_queued(ticket)).then(encode);
            st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(text) = text
                && st.pending.as_ref().is_none_or(|(n, _)| *n < ticket)
                && st.written < ticket
            {
                st.pending = Some((ticket, text));
            }
        }
        if !st.started {
            st.started = true;
            let worker = Arc::clone(shared);
            let name = format!(
                "persist-{}",
                shared
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            );
            if let Err(e) = std::thread::Builder::new()
                .name(name)
                .spawn(move || write_loop(&worker))
            {
                st.started = false;
                drop(st);
                warn!(path = %shared.path.display(), error = %e, "cannot start the config writer thread; writing inline");
                while write_next(shared) {}
                return ticket;
            }
        }
        drop(st);
        shared.wake.notify_all();
        ticket
    }

    /// Number of the newest snapshot taken so far.
    #[must_use]
    pub fn latest(&self) -> u64 {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .taken
    }

    /// A snapshot newer than `ticket` is queued (it includes every change before `ticket`).
    fn newer_queued(&self, ticket: u64) -> bool {
        let st = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        st.pending.as_ref().is_some_and(|(n, _)| *n > ticket)
    }

    /// Waits until snapshot `ticket` (or a newer one) is on disk; the error if its write failed.
    pub async fn written(&self, ticket: u64) -> Result<(), String> {
        let mut rx = self.shared.done.subscribe();
        let _ = rx.wait_for(|done| *done >= ticket).await;
        self.outcome(ticket)
    }

    /// Blocking form of [`Self::written`], bounded by `timeout`.
    pub fn written_blocking(&self, ticket: u64, timeout: Duration) -> Result<(), String> {
        let st = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (st, _timed_out) = self
            .shared
            .wake
            .wait_timeout_while(st, timeout, |st| {
                st.written < ticket && st.failed.as_ref().is_none_or(|(n, _)| *n < ticket)
            })
            .unwrap_or_else(PoisonError::into_inner);
        drop(st);
        self.outcome(ticket)
    }

    fn outcome(&self, ticket: u64) -> Result<(), String> {
        let st = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if st.written >= ticket {
            return Ok(());
        }
        match &st.failed {
            Some((n, e)) if *n >= ticket => Err(e.clone()),
            _ => Err(format!("{} not written yet", self.shared.path.display())),
        }
    }

    /// Queues a snapshot and waits (blocking, up to 10 s) until it is written: shutdown and tools.
    pub fn persist_now(&self, encode: impl FnOnce() -> String) -> Result<(), String> {
        let ticket = self.submit(encode);
        self.written_blocking(ticket, Duration::from_secs(10))
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let mut st = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        st.closed = true;
        drop(st);
        self.shared.wake.notify_all();
    }
}

/// The writer thread: writes the newest state until the owner is gone.
fn write_loop(shared: &Shared) {
    loop {
        {
            let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            while st.pending.is_none() && !st.dirty && !st.closed {
                st = shared.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
        }
        if !write_next(shared)
            && shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .closed
        {
            return;
        }
    }
}

/// Writes the newest pending or dirty state once; false when there was nothing to write.
fn write_next(shared: &Shared) -> bool {
    let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((n, text)) = st.pending.take() {
        drop(st);
        write_one(shared, n, &text);
        return true;
    }
    if !st.dirty {
        return false;
    }
    st.dirty = false;
    // Every change submitted up to `covered` was made before this encoding starts.
    let covered = st.taken;
    drop(st);
    let Some(text) = shared.encoder.get().and_then(|encode| encode()) else {
        return false;
    };
    write_one(shared, covered, &text);
    true
}

fn write_one(shared: &Shared, n: u64, text: &str) {
    let result = persist(&shared.path, text);
    let mut st = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    match result {
        Ok(()) => st.written = st.written.max(n),
        Err(e) => {
            warn!(path = %shared.path.display(), error = %e, "cannot persist config file");
            st.failed = Some((n, e.to_string()));
        }
    }
    drop(st);
    shared.wake.notify_all();
    shared.done.send_modify(|d| *d = (*d).max(n));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_keeps_bak_and_load_falls_back() {
        let dir = std::env::temp_dir().join(format!("cfgfile-{}", std::process::id()));
        let p = dir.join("topics.json");
        persist(&p, "one").unwrap();
        persist(&p, "two").unwrap();
        assert_eq!(load(&p).as_deref(), Some("two"));
        assert_eq!(
            std::fs::read_to_string(dir.join("topics.json.bak")).unwrap(),
            "one"
        );
        std::fs::write(&p, "").unwrap();
        assert_eq!(load(&p).as_deref(), Some("one"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_newest_snapshot_wins_under_concurrent_submits() {
        let dir = std::env::temp_dir().join(format!("cfgfile-w-{}", std::process::id()));
        let path = dir.join("topics.json");
        let file = Arc::new(ConfigFile::new(path.clone()));
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let file = Arc::clone(&file);
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _ = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let c = Arc::clone(&counter);
                        let _ticket = file.submit(move || {
                            c.load(std::sync::atomic::Ordering::SeqCst).to_string()
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        file.persist_now(|| {
            counter
                .load(std::sync::atomic::Ordering::SeqCst)
                .to_string()
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "400");
        assert!(!dir.join("topics.json.tmp").exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
