//! Recovery at open (`CommitLog.recoverNormally` / `recoverAbnormally`).
//!
//! The abort file tells a crash from a clean shutdown. A clean start scans the last three
//! CommitLog files; after a crash the scan starts at the newest file whose first record is no
//! newer than the checkpoint, and everything from there is re-dispatched. The scan stops at the
//! first invalid record (bad magic, bad length, bad CRC, wrong physical offset); bytes past that
//! point are zeroed on disk and later files deleted, so they cannot reappear (#10666).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use tracing::{info, warn};

use super::StoreError;
use super::dispatch::{dispatch_available, queue_for};
use super::index_file::IndexFile;
use super::mapped_file::MappedFile;
use super::message_store::MessageStore;
use super::record::{MessageRecord, RecordError};

/// Result of scanning one file.
enum FileEnd {
    /// The file ends with a blank filler (or is exactly full): continue with the next file.
    Full,
    /// Valid data ends at this position.
    At(usize),
}

fn scan_file(f: &Arc<MappedFile>, check_crc: bool) -> FileEnd {
    let mut pos = 0usize;
    while pos < f.size() {
        let Some(bytes) = f.read_raw(pos, f.size() - pos) else {
            return FileEnd::At(pos);
        };
        match MessageRecord::decode(&bytes, check_crc) {
            Ok((rec, size)) => {
                let expected = f.file_from_offset() + u64::try_from(pos).unwrap_or(0);
                if u64::try_from(rec.physical_offset).ok() != Some(expected) {
                    warn!(path = %f.path().display(), pos, "record carries a foreign physical offset; cutting here");
                    return FileEnd::At(pos);
                }
                pos += size;
            }
            Err(RecordError::Blank(_)) => return FileEnd::Full,
            Err(e) => {
                if !matches!(e, RecordError::BadMagic(0)) {
                    warn!(path = %f.path().display(), pos, error = %e, "invalid record; recovery cuts the log here");
                }
                return FileEnd::At(pos);
            }
        }
    }
    FileEnd::Full
}

fn first_store_timestamp(f: &Arc<MappedFile>, check_crc: bool) -> Option<i64> {
    let bytes: Bytes = f.read_raw(0, f.size())?;
    MessageRecord::decode(&bytes, check_crc)
        .ok()
        .map(|(r, _)| r.store_timestamp)
}

fn tail_is_dirty(f: &Arc<MappedFile>, pos: usize, window: usize) -> bool {
    let len = window.min(f.size().saturating_sub(pos));
    f.read_raw(pos, len)
        .is_some_and(|b| b.iter().any(|x| *x != 0))
}

/// Brings the store to a consistent state; see the module doc.
pub(crate) fn recover(store: &Arc<MessageStore>) -> Result<(), StoreError> {
    let started = Instant::now();
    let cfg = &store.config;
    let abnormal = cfg.root.join("abort").exists();
    let files = store.commit_log.files();
    let start_idx = if abnormal {
        let min_ts = store.checkpoint.min_timestamp();
        files
            .iter()
            .rposition(|f| {
                first_store_timestamp(f, cfg.check_crc_on_recover).is_some_and(|ts| ts <= min_ts)
            })
            .unwrap_or(0)
    } else {
        files.len().saturating_sub(3)
    };
    let mut end = files.get(start_idx).map_or(0, |f| f.file_from_offset());
    for f in files.iter().skip(start_idx) {
        match scan_file(f, cfg.check_crc_on_recover) {
            FileEnd::Full => end = f.file_from_offset() + u64::try_from(f.size()).unwrap_or(0),
            FileEnd::At(pos) => {
                end = f.file_from_offset() + u64::try_from(pos).unwrap_or(0);
                break;
            }
        }
    }
    let later_files = files
        .iter()
        .any(|f| f.file_from_offset() > end || (f.file_from_offset() == end && end > 0));
    match store.commit_log.find(end) {
        Some(f) if f.file_from_offset() < end || end == 0 => {
            let pos = usize::try_from(end - f.file_from_offset()).unwrap_or(0);
            if later_files || tail_is_dirty(&f, pos, cfg.max_message_size + 8) {
                store.commit_log.truncate(end)?;
            } else {
                f.set_positions(pos);
            }
        }
        _ if later_files => store.commit_log.truncate(end)?,
        _ => {}
    }
    // Whatever survived is in the page cache; make it durable before anything builds on it.
    for f in store.commit_log.files() {
        let _ = f.flush()?;
        f.sync_all()?;
    }
    store.written.store(end, Ordering::Release);
    let _ = store.appended.send_replace(end);
    store.publish_flushed(end);
    store.recovered_end.store(end, Ordering::Release);
    let reput_from = recover_queues(
        store,
        end,
        abnormal,
        files.get(start_idx).map(|f| f.file_from_offset()),
    )?;
    load_index(store)?;
    store.dispatched.send_replace(reput_from);
    dispatch_available(store, end)?;
    if let Ok(mut state) = store.put_state.lock() {
        for q in store.all_queues() {
            let _ = state.queue_offsets.insert(
                (q.topic.clone(), q.queue_id),
                i64::try_from(q.max_offset()).unwrap_or(0),
            );
        }
    }
    store.create_abort_file()?;
    info!(
        abnormal,
        commit_log_end = end,
        redispatched_from = reput_from,
        elapsed_ms = started.elapsed().as_millis(),
        "store recovered"
    );
    Ok(())
}

/// Loads every ConsumeQueue, cuts units past the CommitLog end, and returns where dispatch
/// must resume.
fn recover_queues(
    store: &MessageStore,
    end: u64,
    abnormal: bool,
    scan_start: Option<u64>,
) -> Result<u64, StoreError> {
    let root = store.config.consume_queue_dir();
    let mut max_phy = 0i64;
    if root.exists() {
        for topic_dir in std::fs::read_dir(&root)? {
            let topic_dir = topic_dir?.path();
            let Some(topic) = topic_dir
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
            else {
                continue;
            };
            if !topic_dir.is_dir() {
                continue;
            }
            for qdir in std::fs::read_dir(&topic_dir)? {
                let qdir = qdir?.path();
                let Some(qid) = qdir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<i32>().ok())
                else {
                    continue;
                };
                let q = queue_for(store, &topic, qid)?;
                let (_, q_max_phy) = q.recover();
                q.correct_min_offset(i64::try_from(store.commit_log.min_offset()).unwrap_or(0));
                q.truncate_dirty(i64::try_from(end).unwrap_or(i64::MAX))?;
                max_phy = max_phy.max(q_max_phy.min(i64::try_from(end).unwrap_or(i64::MAX)));
            }
        }
    }
    let min = store.commit_log.min_offset();
    let from = if abnormal {
        scan_start.unwrap_or(min)
    } else {
        u64::try_from(max_phy).unwrap_or(0).clamp(min, end)
    };
    Ok(from)
}

fn load_index(store: &MessageStore) -> Result<(), StoreError> {
    let dir = store.config.index_dir();
    let mut names: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => return Ok(()),
    };
    names.sort();
    let mut files = store.index.lock().map_err(|_| StoreError::Poisoned)?;
    for path in names {
        files.push(IndexFile::open(
            &path,
            store.config.max_hash_slot_num,
            store.config.max_index_num,
        )?);
    }
    Ok(())
}
