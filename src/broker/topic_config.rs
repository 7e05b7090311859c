//! Topic configuration (`broker:topic/TopicConfigManager.java`): the system topics a broker
//! creates at start, auto-creation from `TBW102`, admin updates, and `topics.json`.

use crate::broker::config_file::ConfigManager as _;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use serde_json::Value;
use tracing::warn;

use super::config_file;
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::body::topic_config::{PERM_INHERIT, PERM_READ, PERM_WRITE, TopicConfig};
use crate::remoting::json_tree::{Key, Node, sort_java_hash};

/// The auto-create template topic (`TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const TBW102: &str = "TBW102";

/// Topics producers may not send to (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
pub const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Retry topic prefix (`MixAll.RETRY_GROUP_TOPIC_PREFIX`).
pub const RETRY_PREFIX: &str = "%RETRY%";
/// Dead-letter topic prefix (`MixAll.DLQ_GROUP_TOPIC_PREFIX`).
pub const DLQ_PREFIX: &str = "%DLQ%";

/// `TopicValidator.SYSTEM_TOPIC_SET` as built statically; a broker adds its own names (see
/// [`is_system_topic`]).
pub const SYSTEM_TOPICS: &[&str] = &[
    "TBW102",
    "SCHEDULE_TOPIC_XXXX",
    "BenchmarkTest",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRACE_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
    "CHECKPOINT_TOPIC",
];

/// `TopicValidator.isSystemTopic`: the static set, the `rmq_sys_` prefix, and the names a
/// broker's `TopicConfigManager` registers at start (`extra`: cluster name, broker name,
/// `<cluster>_REPLY_TOPIC`, a custom trace topic).
#[must_use]
pub fn is_system_topic(topic: &str, extra: &[&str]) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with("rmq_sys_") || extra.contains(&topic)
}

/// Why a topic name is refused (`TopicValidator.validateTopic`), with Java's remark.
#[must_use]
pub fn validate_topic(topic: &str) -> Option<String> {
    if topic.trim().is_empty() {
        return Some("The specified topic is blank.".into());
    }
    let max = if topic.starts_with(RETRY_PREFIX) || topic.starts_with(DLQ_PREFIX) {
        255
    } else {
        127
    };
    if topic.chars().count() > max {
        return Some(format!(
            "The specified topic is longer than topic max length {max}."
        ));
    }
    if !topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
    {
        return Some(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    None
}

/// The data version and table of a `TopicConfigSerializeWrapper` (topics.json, or the
/// GET_ALL_TOPIC_CONFIG body).
fn wrapper_from_value(v: &Value) -> (Option<DataVersion>, BTreeMap<String, TopicConfig>) {
    let mut table = BTreeMap::new();
    if let Some(Value::Object(t)) = v.get("topicConfigTable") {
        for (k, tc) in t {
            let _ = table.insert(k.clone(), TopicConfig::from_value(k, tc));
        }
    }
    (v.get("dataVersion").map(DataVersion::from_value), table)
}

/// The part of a topic's config a send checks (`msgCheck`) and uses (queue choice, the
/// MULTI_TAGS flag), copied out of the table per send instead of the whole config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendTopic {
    /// Readable queues.
    pub read_queue_nums: i32,
    /// Writable queues.
    pub write_queue_nums: i32,
    /// `PermName` bits.
    pub perm: i32,
    /// `topicFilterType` is `MULTI_TAG`.
    pub multi_tag: bool,
}

impl From<&TopicConfig> for SendTopic {
    fn from(tc: &TopicConfig) -> Self {
        Self {
            read_queue_nums: tc.read_queue_nums,
            write_queue_nums: tc.write_queue_nums,
            perm: tc.perm,
            multi_tag: tc.topic_filter_type == "MULTI_TAG",
        }
    }
}

/// Topic configs plus their data version.
#[derive(Debug)]
pub struct TopicConfigManager {
    /// `topics.json`.
    file: config_file::ConfigFile,
    /// Topic → config. A std lock, never held across an await.
    table: RwLock<BTreeMap<String, TopicConfig>>,
    /// Bumped on every change (`DataVersion.nextVersion`).
    data_version: Mutex<DataVersion>,
    /// `enableLmq` (`LmqTopicConfigManager`): `%LMQ%` topics are synthetic, never stored.
    lmq: std::sync::atomic::AtomicBool,
    /// Changes not yet registered with the name servers (see [`Self::take_unregistered`]).
    unregistered: Mutex<Unregistered>,
}

/// Topic changes the name servers have not been told of yet.
#[derive(Debug, Default)]
struct Unregistered {
    /// Created or updated topics (`registerIncrementBrokerData` sends only these).
    topics: std::collections::BTreeSet<String>,
    /// A change that only a full registration carries (a deletion, a table replaced).
    full: bool,
}

/// What the next registration after a topic change must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterScope {
    /// The whole table (`registerBrokerAll`).
    Full,
    /// Only these topics (`registerIncrementBrokerData`).
    Topics(Vec<String>),
}

fn now_ms() -> i64 {
    crate::store::message_store::now_millis()
}

fn system_topic(name: &str, read: i32, write: i32, perm: i32) -> TopicConfig {
    let mut tc = TopicConfig::new(name);
    tc.read_queue_nums = read;
    tc.write_queue_nums = write;
    tc.perm = perm;
    tc
}

impl TopicConfigManager {
    /// Loads `topics.json` (or `.bak`) and adds the system topics a fresh Java broker has.
    #[must_use]
    pub fn load(
        path: PathBuf,
        cluster: &str,
        broker_name: &str,
        default_queue_nums: i32,
        auto_create: bool,
    ) -> Self {
        let mut table = BTreeMap::new();
        let mut version = DataVersion {
            counter: 0,
            state_version: 0,
            timestamp: now_ms(),
        };
        if let Some(text) = config_file::load(&path) {
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => {
                    let (dv, t) = wrapper_from_value(&v);
                    version = dv.unwrap_or(version);
                    table = t;
                }
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot parse topics.json; starting with system topics only")
                }
            }
        }
        let rw = PERM_READ | PERM_WRITE;
        let mut system = vec![system_topic("SELF_TEST_TOPIC", 1, 1, rw)];
        if auto_create {
            system.push(system_topic(
                TBW102,
                default_queue_nums,
                default_queue_nums,
                rw | PERM_INHERIT,
            ));
        }
        system.extend([
            system_topic("BenchmarkTest", 1024, 1024, rw),
            system_topic(cluster, 16, 16, rw | PERM_INHERIT),
            system_topic(broker_name, 1, 1, rw | PERM_INHERIT),
            system_topic("OFFSET_MOVED_EVENT", 1, 1, rw),
            system_topic("SCHEDULE_TOPIC_XXXX", 18, 18, rw),
            system_topic(&format!("{cluster}_REPLY_TOPIC"), 1, 1, rw),
            system_topic(&format!("rmq_sys_REVIVE_LOG_{cluster}"), 8, 8, rw),
            system_topic(
                &format!("rmq_sys_SYNC_BROKER_MEMBER_{broker_name}"),
                1,
                1,
                PERM_INHERIT,
            ),
            system_topic("RMQ_SYS_TRANS_HALF_TOPIC", 1, 1, rw),
            system_topic("RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, 1, rw),
            system_topic("rmq_sys_wheel_timer", 1, 1, rw),
        ]);
        for tc in system {
            let _ = table.entry(tc.topic_name.clone()).or_insert(tc);
        }
        Self {
            file: config_file::ConfigFile::new(path),
            table: RwLock::new(table),
            data_version: Mutex::new(version),
            lmq: std::sync::atomic::AtomicBool::new(false),
            unregistered: Mutex::new(Unregistered::default()),
        }
    }

    /// Turns on `LmqTopicConfigManager` behaviour (`enableLmq`).
    pub fn set_lmq(&self, on: bool) {
        self.lmq.store(on, std::sync::atomic::Ordering::Release);
    }

    fn lmq_topic(&self, topic: &str) -> bool {
        self.lmq.load(std::sync::atomic::Ordering::Acquire) && crate::store::lmq::is_lmq(topic)
    }

    /// What a send checks of a topic ([`Self::get`] without copying the config's strings).
    #[must_use]
    pub fn get_for_send(&self, topic: &str) -> Option<SendTopic> {
        if self.lmq_topic(topic) {
            return self.get(topic).as_ref().map(SendTopic::from);
        }
        self.table.read().ok()?.get(topic).map(SendTopic::from)
    }

    /// One topic's config. With `enableLmq` an LMQ topic gets a made-up config of one read and
    /// one write queue, read-write (`LmqTopicConfigManager.simpleLmqTopicConfig`).
    #[must_use]
    pub fn get(&self, topic: &str) -> Option<TopicConfig> {
        if self.lmq_topic(topic) {
            let mut tc = TopicConfig::new(topic);
            tc.read_queue_nums = 1;
            tc.write_queue_nums = 1;
            tc.perm = PERM_READ | PERM_WRITE;
            return Some(tc);
        }
        self.table.read().ok()?.get(topic).cloned()
    }

    /// Every topic config.
    #[must_use]
    pub fn all(&self) -> Vec<TopicConfig> {
        self.table
            .read()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Current data version.
    #[must_use]
    pub fn data_version(&self) -> DataVersion {
        self.data_version.lock().map(|v| *v).unwrap_or_default()
    }

    fn bump(&self) {
        if let Ok(mut v) = self.data_version.lock() {
            v.counter += 1;
            v.timestamp = now_ms();
        }
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC, retry/DLQ creation) and persists.
    pub fn upsert(&self, tc: TopicConfig) {
        if self.lmq_topic(&tc.topic_name) {
            return;
        }
        if let Ok(mut u) = self.unregistered.lock() {
            let _ = u.topics.insert(tc.topic_name.clone());
        }
        if let Ok(mut t) = self.table.write() {
            let _ = t.insert(tc.topic_name.clone(), tc);
        }
        self.bump();
        self.persist();
    }

    /// Marks the table as changed in a way only a full registration carries.
    fn needs_full_registration(&self) {
        if let Ok(mut u) = self.unregistered.lock() {
            u.full = true;
        }
    }

    /// Takes the changes made since the last call: Java registers a created or updated topic
    /// alone (`registerIncrementBrokerData`), so a flood of auto-created topics costs one small
    /// registration each instead of the whole table each. An empty change set (a permission
    /// change, a deletion, a replaced table) asks for the whole table.
    pub fn take_unregistered(&self) -> RegisterScope {
        let Ok(mut u) = self.unregistered.lock() else {
            return RegisterScope::Full;
        };
        let taken = std::mem::take(&mut *u);
        if taken.full || taken.topics.is_empty() {
            RegisterScope::Full
        } else {
            RegisterScope::Topics(taken.topics.into_iter().collect())
        }
    }

    /// `SlaveSynchronize.syncTopicConfig`: when the master's data version differs, its table and
    /// version replace this one's and are persisted. Returns whether anything changed.
    pub fn sync_from_master(&self, body: &[u8]) -> Result<bool, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let (Some(dv), table) = wrapper_from_value(&v) else {
            return Err("no dataVersion in the master's topic config".into());
        };
        if dv == self.data_version() {
            return Ok(false);
        }
        if let Ok(mut t) = self.table.write() {
            *t = table;
        }
        if let Ok(mut v) = self.data_version.lock() {
            *v = dv;
        }
        self.needs_full_registration();
        self.persist();
        Ok(true)
    }

    /// Deletes a topic and persists; true if it existed.
    pub fn delete(&self, topic: &str) -> bool {
        let existed = self
            .table
            .write()
            .map(|mut t| t.remove(topic).is_some())
            .unwrap_or(false);
        if existed {
            self.needs_full_registration();
            self.bump();
            self.persist();
        }
        existed
    }

    /// `createTopicInSendMessageMethod`: a new topic modelled on `default_topic` if that topic
    /// exists and carries the inherit bit. Returns the new config, or `None`.
    pub fn create_in_send(
        &self,
        topic: &str,
        default_topic: &str,
        queue_nums: i32,
        sys_flag: i32,
    ) -> Option<TopicConfig> {
        if let Some(tc) = self.get(topic) {
            return Some(tc);
        }
        let template = self.get(default_topic)?;
        if template.perm & PERM_INHERIT == 0 {
            return None;
        }
        let mut tc = TopicConfig::new(topic);
        let n = queue_nums.min(template.write_queue_nums).max(1);
        tc.read_queue_nums = n;
        tc.write_queue_nums = n;
        tc.perm = template.perm & !PERM_INHERIT;
        tc.topic_sys_flag = sys_flag;
        tc.topic_filter_type = template.topic_filter_type;
        self.upsert(tc.clone());
        Some(tc)
    }

    /// Creates a retry or DLQ topic if missing (`createTopicInSendMessageBackMethod`).
    pub fn ensure(&self, topic: &str, queue_nums: i32, perm: i32) -> TopicConfig {
        if let Some(tc) = self.get(topic) {
            return tc;
        }
        let mut tc = TopicConfig::new(topic);
        tc.read_queue_nums = queue_nums;
        tc.write_queue_nums = queue_nums;
        tc.perm = perm;
        self.upsert(tc.clone());
        tc
    }

    /// The wrapper as JSON nodes: `{"dataVersion":…,"topicConfigTable":{…}}`.
    #[must_use]
    pub fn wrapper_node(&self) -> Node {
        let dv = self.data_version();
        let mut table: Vec<(Key, Node)> = self
            .all()
            .iter()
            .map(|tc| (Key::Str(tc.topic_name.clone()), topic_config_node(tc)))
            .collect();
        // `ConcurrentHashMap<>(1024)` iteration order.
        sort_java_hash(&mut table, 2048);
        Node::object(vec![
            ("dataVersion", data_version_node(&dv)),
            ("topicConfigTable", Node::Object(table)),
        ])
    }
}

/// DataVersion as fastjson writes it (5.x).
#[must_use]
pub fn data_version_node(dv: &DataVersion) -> Node {
    Node::object(vec![
        ("counter", Node::Int(dv.counter)),
        ("stateVersion", Node::Int(dv.state_version)),
        ("timestamp", Node::Int(dv.timestamp)),
    ])
}

/// TopicConfig as fastjson writes it (5.x property set).
#[must_use]
pub fn topic_config_node(tc: &TopicConfig) -> Node {
    let attrs: Vec<(Key, Node)> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&tc.attributes_json)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| {
                        (
                            Key::Str(k),
                            Node::Str(v.as_str().unwrap_or_default().to_owned()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    Node::object(vec![
        ("attributes", Node::Object(attrs)),
        ("order", Node::Bool(tc.order)),
        ("perm", Node::Int(i64::from(tc.perm))),
        ("readQueueNums", Node::Int(i64::from(tc.read_queue_nums))),
        ("topicFilterType", Node::str(&tc.topic_filter_type)),
        ("topicName", Node::str(&tc.topic_name)),
        ("topicSysFlag", Node::Int(i64::from(tc.topic_sys_flag))),
        ("writeQueueNums", Node::Int(i64::from(tc.write_queue_nums))),
    ])
}

impl config_file::ConfigManager for TopicConfigManager {
    fn config_file(&self) -> &config_file::ConfigFile {
        &self.file
    }

    fn encode(&self) -> String {
        self.wrapper_node().to_pretty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(validate_topic("TopicTest").is_none());
        assert!(validate_topic("%RETRY%g1").is_none());
        assert!(validate_topic("bad topic").is_some());
        assert!(validate_topic(&"t".repeat(128)).is_some());
        assert!(validate_topic("").is_some());
    }

    #[test]
    fn registration_scope_follows_changes() {
        let dir = std::env::temp_dir().join(format!("tcm-scope-{}", std::process::id()));
        let m = TopicConfigManager::load(dir.join("topics.json"), "C", "b", 8, true);
        assert_eq!(m.take_unregistered(), RegisterScope::Full);
        let _ = m.create_in_send("A1", TBW102, 4, 0).unwrap();
        let _ = m.ensure("%RETRY%g", 1, 6);
        assert_eq!(
            m.take_unregistered(),
            RegisterScope::Topics(vec!["%RETRY%g".into(), "A1".into()])
        );
        // Taken: nothing left but a full registration.
        assert_eq!(m.take_unregistered(), RegisterScope::Full);
        let _ = m.create_in_send("A2", TBW102, 4, 0).unwrap();
        assert!(m.delete("A1"));
        assert_eq!(m.take_unregistered(), RegisterScope::Full);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn auto_create_from_tbw102() {
        let dir = std::env::temp_dir().join(format!("tcm-{}", std::process::id()));
        let m = TopicConfigManager::load(
            dir.join("topics.json"),
            "DefaultCluster",
            "broker-a",
            8,
            true,
        );
        let tc = m.create_in_send("NewTopic", TBW102, 4, 0).unwrap();
        assert_eq!(
            (tc.read_queue_nums, tc.write_queue_nums, tc.perm),
            (4, 4, 6)
        );
        let ticket = m.file.latest();
        m.file
            .written_blocking(ticket, std::time::Duration::from_secs(10))
            .unwrap();
        let again = TopicConfigManager::load(
            dir.join("topics.json"),
            "DefaultCluster",
            "broker-a",
            8,
            true,
        );
        assert_eq!(again.get("NewTopic").unwrap().write_queue_nums, 4);
        assert!(again.data_version().counter >= 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
