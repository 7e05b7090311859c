//! The name server's KV store (`ns:kvconfig/KVConfigManager.java`): namespace → key → value,
//! persisted to `kvConfigPath` as `{"configTable":{ns:{k:v}}}` after every change, the old
//! content kept as `<path>.bak` (Java `MixAll.string2File`). We write a temp file and rename it,
//! so a crash mid-write never leaves a torn file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde_json::Value;
use tracing::{info, warn};

use crate::limits::NAMESRV_MAX_KV_ENTRIES;
use crate::remoting::fastjson::{JsonWriter, Style};

/// Namespace → key → value.
type Table = BTreeMap<String, BTreeMap<String, String>>;

/// KV errors.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The table is full.
    #[error("kv table holds the maximum of {0} entries")]
    Full(usize),
    /// The file could not be written.
    #[error("cannot persist {path}: {source}")]
    Persist {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// The KV manager.
#[derive(Debug)]
pub struct KvConfigManager {
    /// Where the table is persisted.
    path: PathBuf,
    /// The table; a std lock: never held across an await.
    table: RwLock<Table>,
}

impl KvConfigManager {
    /// Loads `path` if it exists (a missing or unreadable file starts empty, as in Java).
    #[must_use]
    pub fn load(path: &Path) -> Self {
        let table = match std::fs::read(path) {
            Ok(bytes) => parse(&bytes).unwrap_or_else(|e| {
                warn!(path = %path.display(), error = %e, "kv config file unreadable, starting empty");
                Table::new()
            }),
            Err(_) => Table::new(),
        };
        info!(path = %path.display(), namespaces = table.len(), "kv config loaded");
        Self {
            path: path.to_owned(),
            table: RwLock::new(table),
        }
    }

    /// Sets a value and persists.
    pub fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), KvError> {
        let text = {
            let mut t = self
                .table
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let total: usize = t.values().map(BTreeMap::len).sum();
            let exists = t.get(namespace).is_some_and(|m| m.contains_key(key));
            if !exists && total >= NAMESRV_MAX_KV_ENTRIES {
                return Err(KvError::Full(NAMESRV_MAX_KV_ENTRIES));
            }
            let _old = t
                .entry(namespace.to_owned())
                .or_default()
                .insert(key.to_owned(), value.to_owned());
            to_json(&t)
        };
        self.persist(&text)
    }

    /// Reads a value.
    #[must_use]
    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        let t = self
            .table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.get(namespace).and_then(|m| m.get(key)).cloned()
    }

    /// Deletes a value and persists (even when absent, as Java does).
    pub fn delete(&self, namespace: &str, key: &str) -> Result<(), KvError> {
        let text = {
            let mut t = self
                .table
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(m) = t.get_mut(namespace) {
                let _old = m.remove(key);
            }
            to_json(&t)
        };
        self.persist(&text)
    }

    /// All pairs of a namespace; `None` if it was never created.
    #[must_use]
    pub fn namespace(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        let t = self
            .table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        t.get(namespace).cloned()
    }

    fn persist(&self, text: &str) -> Result<(), KvError> {
        write_with_backup(&self.path, text.as_bytes()).map_err(|source| KvError::Persist {
            path: self.path.display().to_string(),
            source,
        })
    }
}

/// Writes `bytes` to `path`: the old file is copied to `<path>.bak`, the new content goes to
/// `<path>.tmp`, is synced, and renamed over `path`.
pub fn write_with_backup(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        let mut bak = path.as_os_str().to_owned();
        bak.push(".bak");
        let _copied = std::fs::copy(path, PathBuf::from(bak))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn to_json(t: &Table) -> String {
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object().key("configTable").begin_object();
    for (ns, m) in t {
        w.key(ns).begin_object();
        for (k, v) in m {
            w.field_str(k, v);
        }
        w.end_object();
    }
    w.end_object().end_object();
    w.finish()
}

fn parse(bytes: &[u8]) -> Result<Table, serde_json::Error> {
    let v: Value = serde_json::from_slice(bytes)?;
    let mut t = Table::new();
    if let Some(Value::Object(ct)) = v.get("configTable") {
        for (ns, m) in ct {
            let entry = t.entry(ns.clone()).or_default();
            if let Value::Object(m) = m {
                for (k, val) in m {
                    if let Value::String(s) = val {
                        let _old = entry.insert(k.clone(), s.clone());
                    }
                }
            }
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_reloads() {
        let dir = std::env::temp_dir().join(format!("kvtest-{}", std::process::id()));
        let path = dir.join("kvConfig.json");
        let kv = KvConfigManager::load(&path);
        kv.put("ORDER_TOPIC_CONFIG", "TopicA", "broker-a:4")
            .unwrap();
        kv.put("ns", "k", "v").unwrap();
        kv.delete("ns", "k").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicA":"broker-a:4"},"ns":{}}}"#
        );
        assert!(dir.join("kvConfig.json.bak").exists());
        let again = KvConfigManager::load(&path);
        assert_eq!(
            again.get("ORDER_TOPIC_CONFIG", "TopicA").as_deref(),
            Some("broker-a:4")
        );
        assert_eq!(again.namespace("ns").map(|m| m.len()), Some(0));
        assert!(again.namespace("missing").is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
