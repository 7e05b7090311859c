//! The JSON files under `<storePathRootDir>/config/` (`ConfigManager`): load with a fallback to
//! `<file>.bak`, persist by keeping the previous file as `<file>.bak` and writing the new one
//! through a synced temp file and a rename, so a crash never leaves a torn file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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
}
