//! `MessageRequestModeManager`: the request mode (PULL or POP) and pop share-queue count per
//! topic and group, set by SET_MESSAGE_REQUEST_MODE (`mqadmin setConsumeMode`), read by
//! QUERY_ASSIGNMENT, and kept in `config/messageRequestMode.json` as fastjson writes it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{PoisonError, RwLock};

use serde_json::Value;
use tracing::warn;

use crate::broker::config_file::{self, ConfigFile, ConfigManager};
use crate::remoting::json_tree::{Key, Node, sort_java_hash};

/// `SetMessageRequestModeRequestBody`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMode {
    /// Topic.
    pub topic: String,
    /// Group.
    pub consumer_group: String,
    /// `PULL` or `POP`.
    pub mode: String,
    /// `popShareQueueNum`.
    pub pop_share_queue_num: i32,
}

impl RequestMode {
    /// Parses the request body (`mode` defaults to PULL, `popShareQueueNum` to 0, as Java's).
    #[must_use]
    pub fn from_value(v: &Value) -> Option<Self> {
        Some(Self {
            topic: v.get("topic")?.as_str()?.to_owned(),
            consumer_group: v.get("consumerGroup")?.as_str()?.to_owned(),
            mode: v
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("PULL")
                .to_owned(),
            pop_share_queue_num: v
                .get("popShareQueueNum")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(0),
        })
    }

    /// As fastjson writes it (keys sorted).
    #[must_use]
    pub fn to_node(&self) -> Node {
        Node::object(vec![
            ("consumerGroup", Node::str(&self.consumer_group)),
            ("mode", Node::str(&self.mode)),
            (
                "popShareQueueNum",
                Node::Int(i64::from(self.pop_share_queue_num)),
            ),
            ("topic", Node::str(&self.topic)),
        ])
    }
}

type Table = BTreeMap<String, BTreeMap<String, RequestMode>>;

/// The request modes.
#[derive(Debug)]
pub struct RequestModes {
    file: ConfigFile,
    table: RwLock<Table>,
}

impl Default for RequestModes {
    fn default() -> Self {
        Self {
            file: ConfigFile::new(PathBuf::from("messageRequestMode.json")),
            table: RwLock::new(Table::new()),
        }
    }
}

fn table_from(v: &Value) -> Table {
    let mut table = Table::new();
    if let Some(Value::Object(topics)) = v.get("messageRequestModeMap") {
        for (topic, groups) in topics {
            let Value::Object(groups) = groups else {
                continue;
            };
            for (group, body) in groups {
                if let Some(m) = RequestMode::from_value(body) {
                    let _ = table
                        .entry(topic.clone())
                        .or_default()
                        .insert(group.clone(), m);
                }
            }
        }
    }
    table
}

impl RequestModes {
    /// Loads `messageRequestMode.json` (or its `.bak`).
    #[must_use]
    pub fn load(path: PathBuf) -> Self {
        let mut table = Table::new();
        if let Some(text) = config_file::load(&path) {
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => table = table_from(&v),
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot parse messageRequestMode.json")
                }
            }
        }
        Self {
            file: ConfigFile::new(path),
            table: RwLock::new(table),
        }
    }

    /// `getMessageRequestMode`.
    #[must_use]
    pub fn get(&self, topic: &str, group: &str) -> Option<RequestMode> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)?
            .get(group)
            .cloned()
    }

    /// `setMessageRequestMode`; persisted by the caller.
    pub fn set(&self, mode: RequestMode) {
        let _ = self
            .table
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(mode.topic.clone())
            .or_default()
            .insert(mode.consumer_group.clone(), mode);
    }

    /// A slave's sync (`SlaveSynchronize.syncMessageRequestMode`): the master's table replaces
    /// this one's (the caller persists).
    pub fn sync_from_master(&self, body: &[u8]) -> Result<(), String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = table_from(&v);
        Ok(())
    }

    /// `{"messageRequestModeMap":{topic:{group:body}}}` in `ConcurrentHashMap` order.
    #[must_use]
    pub fn to_node(&self) -> Node {
        let t = self.table.read().unwrap_or_else(PoisonError::into_inner);
        let mut topics: Vec<(Key, Node)> = t
            .iter()
            .map(|(topic, groups)| {
                let mut g: Vec<(Key, Node)> = groups
                    .iter()
                    .map(|(name, m)| (Key::Str(name.clone()), m.to_node()))
                    .collect();
                sort_java_hash(&mut g, 16);
                (Key::Str(topic.clone()), Node::Object(g))
            })
            .collect();
        sort_java_hash(&mut topics, 16);
        Node::object(vec![("messageRequestModeMap", Node::Object(topics))])
    }
}

impl ConfigManager for RequestModes {
    fn config_file(&self) -> &ConfigFile {
        &self.file
    }

    /// The file is written pretty (`ConfigManager.persist` calls `encode(true)`); the
    /// GET_ALL_MESSAGE_REQUEST_MODE body is compact (`encode()`).
    fn encode(&self) -> String {
        self.to_node().to_pretty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = RequestModes::default();
        let body: Value = serde_json::from_str(
            r#"{"consumerGroup":"G","mode":"POP","popShareQueueNum":8,"topic":"T"}"#,
        )
        .unwrap();
        m.set(RequestMode::from_value(&body).unwrap());
        let text = m.to_node().to_compact();
        assert!(m.encode().starts_with("{\n\t\"messageRequestModeMap\""));
        assert_eq!(
            text,
            r#"{"messageRequestModeMap":{"T":{"G":{"consumerGroup":"G","mode":"POP","popShareQueueNum":8,"topic":"T"}}}}"#
        );
        let back = RequestModes::default();
        back.sync_from_master(text.as_bytes()).unwrap();
        assert_eq!(back.get("T", "G").unwrap().pop_share_queue_num, 8);
    }
}
