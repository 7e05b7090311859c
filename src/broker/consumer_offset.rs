//! Consumer offsets (`broker:offset/ConsumerOffsetManager.java`): `"topic@group"` → queue id →
//! next offset to consume, persisted to `consumerOffset.json` every few seconds and at shutdown.
//!
//! With `enableLmq` this is `LmqConsumerOffsetManager`: the file is `lmqConsumerOffset.json`, and
//! offsets of `%LMQ%` groups live in its `lmqOffsetTable` (`"topic@group"` → offset, queue 0).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::RwLock;

use serde_json::Value;
use tracing::warn;

use super::config_file;
use super::config_file::ConfigManager as _;
use super::topic_config::data_version_node;
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::json_tree::{Key, Node, sort_java_hash};

/// Key separator (`ConsumerOffsetManager.TOPIC_GROUP_SEPARATOR`).
pub const TOPIC_GROUP_SEPARATOR: char = '@';

/// The offset table.
#[derive(Debug)]
pub struct ConsumerOffsetManager {
    file: config_file::ConfigFile,
    table: RwLock<HashMap<String, BTreeMap<i32, i64>>>,
    /// Set at first start, kept across restarts; Java never bumps it for commits.
    data_version: DataVersion,
    /// `enableLmq`: LMQ groups' offsets go to `lmq_table`, which is written out.
    lmq: std::sync::atomic::AtomicBool,
    /// `lmqOffsetTable`: `"topic@group"` → offset, for `%LMQ%` groups.
    lmq_table: RwLock<HashMap<String, i64>>,
}

/// The `lmqOffsetTable` of lmqConsumerOffset.json.
fn lmq_offset_table(v: &Value) -> HashMap<String, i64> {
    let mut table = HashMap::new();
    if let Some(Value::Object(t)) = v.get("lmqOffsetTable") {
        for (k, o) in t {
            if let Some(o) = o.as_i64() {
                let _ = table.insert(k.clone(), o);
            }
        }
    }
    table
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

/// The `offsetTable` of consumerOffset.json or of a GET_ALL_CONSUMER_OFFSET body.
fn offset_table(v: &Value) -> HashMap<String, BTreeMap<i32, i64>> {
    let mut table = HashMap::new();
    if let Some(Value::Object(t)) = v.get("offsetTable") {
        for (k, m) in t {
            let mut offsets = BTreeMap::new();
            if let Value::Object(m) = m {
                for (q, o) in m {
                    if let (Ok(q), Some(o)) = (q.parse::<i32>(), o.as_i64()) {
                        let _ = offsets.insert(q, o);
                    }
                }
            }
            let _ = table.insert(k.clone(), offsets);
        }
    }
    table
}

impl ConsumerOffsetManager {
    /// Loads `consumerOffset.json` (its integer keys are unquoted, which serde_json rejects, so
    /// the text is read with a tolerant pass first).
    #[must_use]
    pub fn load(path: PathBuf) -> Self {
        let mut table = HashMap::new();
        let mut lmq_table = HashMap::new();
        let mut data_version = DataVersion {
            counter: 0,
            state_version: 0,
            timestamp: crate::store::message_store::now_millis(),
        };
        if let Some(text) = config_file::load(&path) {
            match serde_json::from_str::<Value>(&quote_integer_keys(&text)) {
                Ok(v) => {
                    if let Some(dv) = v.get("dataVersion") {
                        data_version = DataVersion::from_value(dv);
                    }
                    table = offset_table(&v);
                    lmq_table = lmq_offset_table(&v);
                }
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot parse consumerOffset.json")
                }
            }
        }
        Self {
            file: config_file::ConfigFile::new(path),
            table: RwLock::new(table),
            data_version,
            lmq: std::sync::atomic::AtomicBool::new(false),
            lmq_table: RwLock::new(lmq_table),
        }
    }

    /// Turns on `LmqConsumerOffsetManager` behaviour (`enableLmq`).
    pub fn set_lmq(&self, on: bool) {
        self.lmq.store(on, std::sync::atomic::Ordering::Release);
    }

    fn lmq_on(&self) -> bool {
        self.lmq.load(std::sync::atomic::Ordering::Acquire)
    }

    fn lmq_group(&self, group: &str) -> bool {
        self.lmq_on() && crate::store::lmq::is_lmq(group)
    }

    /// Stored offset of a queue. An LMQ group has one offset per topic, whatever the queue id
    /// (`LmqConsumerOffsetManager.queryOffset`).
    #[must_use]
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        if self.lmq_group(group) {
            return self.lmq_table.read().ok()?.get(&key(topic, group)).copied();
        }
        self.table
            .read()
            .ok()?
            .get(&key(topic, group))?
            .get(&queue_id)
            .copied()
    }

    /// Stores an offset.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        if self.lmq_group(group) {
            if let Ok(mut t) = self.lmq_table.write() {
                let _ = t.insert(key(topic, group), offset);
            }
            return;
        }
        if let Ok(mut t) = self.table.write() {
            let _ = t
                .entry(key(topic, group))
                .or_default()
                .insert(queue_id, offset);
        }
    }

    /// Offsets of one group on one topic.
    #[must_use]
    pub fn queue_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        if self.lmq_group(group) {
            return self
                .query(group, topic, crate::store::lmq::LMQ_QUEUE_ID)
                .map(|o| BTreeMap::from([(crate::store::lmq::LMQ_QUEUE_ID, o)]))
                .unwrap_or_default();
        }
        self.table
            .read()
            .ok()
            .and_then(|t| t.get(&key(topic, group)).cloned())
            .unwrap_or_default()
    }

    /// Every (topic, group) pair with offsets.
    fn pairs(&self) -> Vec<(String, String)> {
        let t = self
            .table
            .read()
            .map(|t| t.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        t.iter()
            .filter_map(|k| {
                k.split_once(TOPIC_GROUP_SEPARATOR)
                    .map(|(tp, g)| (tp.to_owned(), g.to_owned()))
            })
            .collect()
    }

    /// Groups with offsets on `topic`.
    #[must_use]
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        self.pairs()
            .into_iter()
            .filter(|(tp, _)| tp == topic)
            .map(|(_, g)| g)
            .collect()
    }

    /// Topics a group has offsets on.
    #[must_use]
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        self.pairs()
            .into_iter()
            .filter(|(_, g)| g == group)
            .map(|(tp, _)| tp)
            .collect()
    }

    /// `SlaveSynchronize.syncConsumerOffset`: the master's offsets overwrite these, (topic, group)
    /// by (topic, group) (`putAll`); pairs only this broker has are kept. Persisted.
    pub fn sync_from_master(&self, body: &[u8]) -> Result<usize, String> {
        let text = String::from_utf8_lossy(body);
        let v: Value =
            serde_json::from_str(&quote_integer_keys(&text)).map_err(|e| e.to_string())?;
        let master = offset_table(&v);
        let n = master.len();
        if let Ok(mut t) = self.table.write() {
            t.extend(master);
        }
        if self.lmq_on()
            && let Ok(mut t) = self.lmq_table.write()
        {
            t.extend(lmq_offset_table(&v));
        }
        self.persist();
        Ok(n)
    }

    /// A master back from a crash takes the offsets consumers committed to its slave meanwhile:
    /// each queue keeps the larger of the two. Persisted; returns how many offsets moved.
    pub fn take_back_from_slave(&self, body: &[u8]) -> Result<usize, String> {
        let text = String::from_utf8_lossy(body);
        let v: Value =
            serde_json::from_str(&quote_integer_keys(&text)).map_err(|e| e.to_string())?;
        let mut moved = 0usize;
        if let Ok(mut t) = self.table.write() {
            for (k, queues) in offset_table(&v) {
                let mine = t.entry(k).or_default();
                for (q, o) in queues {
                    let cur = mine.entry(q).or_insert(-1);
                    if o > *cur {
                        *cur = o;
                        moved += 1;
                    }
                }
            }
        }
        if self.lmq_on()
            && let Ok(mut t) = self.lmq_table.write()
        {
            for (k, o) in lmq_offset_table(&v) {
                let cur = t.entry(k).or_insert(-1);
                if o > *cur {
                    *cur = o;
                    moved += 1;
                }
            }
        }
        if moved > 0 {
            self.persist();
        }
        Ok(moved)
    }

    /// Drops every group's offsets on `topic` (`cleanOffsetByTopic`); returns how many
    /// groups had some. LMQ offsets are keyed the same way and go too.
    pub fn remove_topic(&self, topic: &str) -> usize {
        let of_topic = |k: &String| {
            k.split_once(TOPIC_GROUP_SEPARATOR)
                .is_some_and(|(t, g)| t == topic && !g.contains(TOPIC_GROUP_SEPARATOR))
        };
        let mut removed = 0;
        if let Ok(mut t) = self.table.write() {
            let before = t.len();
            t.retain(|k, _| !of_topic(k));
            removed += before - t.len();
        }
        if let Ok(mut t) = self.lmq_table.write() {
            let before = t.len();
            t.retain(|k, _| !of_topic(k));
            removed += before - t.len();
        }
        removed
    }

    /// Drops a group's offsets.
    pub fn remove_group(&self, group: &str) {
        if self.lmq_group(group) {
            if let Ok(mut t) = self.lmq_table.write() {
                t.retain(|k, _| {
                    let parts: Vec<&str> = k.split(TOPIC_GROUP_SEPARATOR).collect();
                    !(parts.len() == 2 && parts.get(1) == Some(&group))
                });
            }
            return;
        }
        if let Ok(mut t) = self.table.write() {
            t.retain(|k, _| {
                k.split_once(TOPIC_GROUP_SEPARATOR)
                    .is_none_or(|(_, g)| g != group)
            });
        }
    }

    /// The table as fastjson writes it: integer queue ids unquoted.
    #[must_use]
    pub fn to_node(&self, dv: &DataVersion) -> Node {
        let t = self.table.read().map(|t| t.clone()).unwrap_or_default();
        let mut group_topics: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut table: Vec<(Key, Node)> = Vec::new();
        for (k, m) in &t {
            if let Some((topic, group)) = k.split_once(TOPIC_GROUP_SEPARATOR) {
                group_topics
                    .entry(group.to_owned())
                    .or_default()
                    .push(topic.to_owned());
            }
            let mut inner: Vec<(Key, Node)> = m
                .iter()
                .map(|(q, o)| (Key::Int(i64::from(*q)), Node::Int(*o)))
                .collect();
            sort_java_hash(&mut inner, 64);
            table.push((Key::Str(k.clone()), Node::Object(inner)));
        }
        // `ConcurrentHashMap<>(512)` iteration order.
        sort_java_hash(&mut table, 1024);
        let mut groups: Vec<(Key, Node)> = group_topics
            .into_iter()
            .map(|(g, topics)| {
                (
                    Key::Str(g),
                    Node::Set(topics.into_iter().map(Node::Str).collect()),
                )
            })
            .collect();
        sort_java_hash(&mut groups, 16);
        let mut fields = vec![
            ("dataVersion", data_version_node(dv)),
            ("groupTopicMap", Node::Object(groups)),
        ];
        if self.lmq_on() {
            let mut lmq: Vec<(Key, Node)> = self
                .lmq_table
                .read()
                .map(|t| {
                    t.iter()
                        .map(|(k, o)| (Key::Str(k.clone()), Node::Int(*o)))
                        .collect()
                })
                .unwrap_or_default();
            // `ConcurrentHashMap<>(512)` iteration order.
            sort_java_hash(&mut lmq, 1024);
            fields.push(("lmqOffsetTable", Node::Object(lmq)));
        }
        fields.push(("offsetTable", Node::Object(table)));
        Node::object(fields)
    }
}

/// Quotes bare integer object keys (`{0:12}` → `{"0":12}`) so strict JSON parsers accept
/// fastjson's output. Strings are skipped, so quoted text is never altered.
#[must_use]
pub fn quote_integer_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    let mut expect_key = false;
    let mut stack: Vec<char> = Vec::new();
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                expect_key = false;
                out.push(c);
            }
            '{' | '[' => {
                stack.push(c);
                expect_key = c == '{';
                out.push(c);
            }
            '}' | ']' => {
                let _ = stack.pop();
                expect_key = false;
                out.push(c);
            }
            ',' => {
                expect_key = stack.last() == Some(&'{');
                out.push(c);
            }
            c if expect_key && (c.is_ascii_digit() || c == '-') => {
                out.push('"');
                out.push(c);
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    let _ = chars.next();
                }
                out.push('"');
                expect_key = false;
            }
            c if c.is_whitespace() => out.push(c),
            c => {
                expect_key = false;
                out.push(c);
            }
        }
    }
    out
}

impl config_file::ConfigManager for ConsumerOffsetManager {
    fn config_file(&self) -> &config_file::ConfigFile {
        &self.file
    }

    fn encode(&self) -> String {
        self.to_node(&self.data_version).to_pretty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_keys_are_quoted_only_where_keys() {
        assert_eq!(
            quote_integer_keys("{0:12,1:10\n\t\t}"),
            "{\"0\":12,\"1\":10\n\t\t}"
        );
        assert_eq!(
            quote_integer_keys(r#"{"a":[1,2],"b":"{0:1}"}"#),
            r#"{"a":[1,2],"b":"{0:1}"}"#
        );
    }

    #[test]
    fn lmq_groups_use_lmq_offset_table() {
        let dir = std::env::temp_dir().join(format!("lmq-offsets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let m = ConsumerOffsetManager::load(dir.join("lmqConsumerOffset.json"));
        m.set_lmq(true);
        m.commit("%LMQ%g", "%LMQ%q", 3, 7);
        m.commit("g", "%LMQ%q", 0, 5);
        assert_eq!(
            m.query("%LMQ%g", "%LMQ%q", 0),
            Some(7),
            "one offset whatever the queue"
        );
        assert_eq!(
            m.queue_offsets("%LMQ%g", "%LMQ%q"),
            BTreeMap::from([(0, 7)])
        );
        let text = m.encode();
        assert!(
            text.contains("\"lmqOffsetTable\":{\n\t\t\"%LMQ%q@%LMQ%g\":7\n\t}"),
            "{text}"
        );
        assert!(text.contains("\"%LMQ%q@g\":{0:5"), "{text}");
        m.persist_now();
        let again = ConsumerOffsetManager::load(dir.join("lmqConsumerOffset.json"));
        again.set_lmq(true);
        assert_eq!(again.query("%LMQ%g", "%LMQ%q", 0), Some(7));
        again.remove_group("%LMQ%g");
        assert_eq!(again.query("%LMQ%g", "%LMQ%q", 0), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn persist_and_reload() {
        let dir = std::env::temp_dir().join(format!("cof-{}", std::process::id()));
        let m = ConsumerOffsetManager::load(dir.join("consumerOffset.json"));
        m.commit("g1", "T", 0, 12);
        m.commit("g1", "T", 1, 10);
        m.persist_now();
        let again = ConsumerOffsetManager::load(dir.join("consumerOffset.json"));
        assert_eq!(again.query("g1", "T", 1), Some(10));
        assert_eq!(again.groups_of_topic("T"), vec!["g1".to_owned()]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
