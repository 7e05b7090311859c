//! Offline store inspection shared by the `rmqstore` binary: walks CommitLog files of any
//! broker (ours or Java's) without opening the store for writing.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::record::{MessageRecord, RecordError};

/// One CommitLog file on disk.
#[derive(Debug, Clone)]
pub struct LogFile {
    /// Path.
    pub path: PathBuf,
    /// Start offset (from the name).
    pub start: u64,
    /// Length.
    pub len: u64,
}

/// Lists `dir`'s 20-digit files in offset order.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<LogFile>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(start) = name.parse() else { continue };
        let len = std::fs::metadata(&path)?.len();
        out.push(LogFile { path, start, len });
    }
    out.sort_by_key(|f| f.start);
    Ok(out)
}

/// What the walk found in one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub file: LogFile,
    /// Valid records.
    pub records: usize,
    /// Where valid data ends in the file.
    pub end: usize,
    /// True when the file ends with the blank filler.
    pub blank_end: bool,
    /// The first problem, if the data stopped before a blank filler or the file end.
    pub problem: Option<String>,
}

/// Walks every record of `dir`, calling `visit` for each valid one; stops a file at the
/// first invalid record.
pub fn walk(
    dir: &Path,
    check_crc: bool,
    mut visit: impl FnMut(&MessageRecord),
) -> std::io::Result<Vec<FileReport>> {
    let mut reports = Vec::new();
    for file in list_files(dir)? {
        let data = Bytes::from(std::fs::read(&file.path)?);
        let mut pos = 0usize;
        let mut rep = FileReport {
            file: file.clone(),
            records: 0,
            end: 0,
            blank_end: false,
            problem: None,
        };
        while pos < data.len() {
            match MessageRecord::decode(&data.slice(pos..), check_crc) {
                Ok((rec, size)) => {
                    let expected = file.start + u64::try_from(pos).unwrap_or(0);
                    if u64::try_from(rec.physical_offset).ok() != Some(expected) {
                        rep.problem = Some(format!(
                            "record at {pos} says physical offset {}",
                            rec.physical_offset
                        ));
                        break;
                    }
                    visit(&rec);
                    rep.records += 1;
                    pos += size;
                }
                Err(RecordError::Blank(_)) => {
                    rep.blank_end = true;
                    break;
                }
                Err(RecordError::BadMagic(0))
                    if data
                        .get(pos..)
                        .is_some_and(|t| t.iter().take(64).all(|b| *b == 0)) =>
                {
                    break;
                }
                Err(e) => {
                    rep.problem = Some(format!("at {pos}: {e}"));
                    break;
                }
            }
        }
        rep.end = pos;
        reports.push(rep);
    }
    Ok(reports)
}
