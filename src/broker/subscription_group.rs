//! Subscription groups (`broker:subscription/SubscriptionGroupManager.java`) and
//! `subscriptionGroup.json`.

use crate::broker::config_file::ConfigManager as _;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use serde_json::Value;
use tracing::warn;

use super::config_file;
use super::topic_config::data_version_node;
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::body::{value_bool_or, value_i32_or, value_i64};
use crate::remoting::json_tree::{Key, Node, sort_java_hash};

/// One group's settings (`SubscriptionGroupConfig`), Java defaults in [`Self::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionGroupConfig {
    /// Group name.
    pub group_name: String,
    /// Consumption allowed.
    pub consume_enable: bool,
    /// New groups start from the minimum offset.
    pub consume_from_min_enable: bool,
    /// Broadcasting allowed.
    pub consume_broadcast_enable: bool,
    /// Orderly consumption.
    pub consume_message_orderly: bool,
    /// Queues of the retry topic.
    pub retry_queue_nums: i32,
    /// Attempts before the DLQ.
    pub retry_max_times: i32,
    /// Broker to read from.
    pub broker_id: i64,
    /// Broker to read from when consumption is slow.
    pub which_broker_when_consume_slowly: i64,
    /// Tell clients when the group's members change.
    pub notify_consumer_ids_changed_enable: bool,
    /// Group flags.
    pub group_sys_flag: i32,
    /// Consume timeout, minutes.
    pub consume_timeout_minute: i32,
}

impl SubscriptionGroupConfig {
    /// Java's defaults.
    #[must_use]
    pub fn new(group: &str) -> Self {
        Self {
            group_name: group.to_owned(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
        }
    }

    /// Reads a fastjson object (unknown properties ignored).
    #[must_use]
    pub fn from_value(name: &str, v: &Value) -> Self {
        let d = Self::new(name);
        Self {
            group_name: v
                .get("groupName")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_owned(),
            consume_enable: value_bool_or(v.get("consumeEnable"), d.consume_enable),
            consume_from_min_enable: value_bool_or(
                v.get("consumeFromMinEnable"),
                d.consume_from_min_enable,
            ),
            consume_broadcast_enable: value_bool_or(
                v.get("consumeBroadcastEnable"),
                d.consume_broadcast_enable,
            ),
            consume_message_orderly: value_bool_or(
                v.get("consumeMessageOrderly"),
                d.consume_message_orderly,
            ),
            retry_queue_nums: value_i32_or(v.get("retryQueueNums"), d.retry_queue_nums),
            retry_max_times: value_i32_or(v.get("retryMaxTimes"), d.retry_max_times),
            broker_id: value_i64(v.get("brokerId")).unwrap_or(d.broker_id),
            which_broker_when_consume_slowly: value_i64(v.get("whichBrokerWhenConsumeSlowly"))
                .unwrap_or(1),
            notify_consumer_ids_changed_enable: value_bool_or(
                v.get("notifyConsumerIdsChangedEnable"),
                true,
            ),
            group_sys_flag: value_i32_or(v.get("groupSysFlag"), 0),
            consume_timeout_minute: value_i32_or(v.get("consumeTimeoutMinute"), 15),
        }
    }

    /// As fastjson writes it (5.x property set).
    #[must_use]
    pub fn to_node(&self) -> Node {
        Node::object(vec![
            ("attributes", Node::Object(Vec::new())),
            ("brokerId", Node::Int(self.broker_id)),
            (
                "consumeBroadcastEnable",
                Node::Bool(self.consume_broadcast_enable),
            ),
            ("consumeEnable", Node::Bool(self.consume_enable)),
            (
                "consumeFromMinEnable",
                Node::Bool(self.consume_from_min_enable),
            ),
            (
                "consumeMessageOrderly",
                Node::Bool(self.consume_message_orderly),
            ),
            (
                "consumeTimeoutMinute",
                Node::Int(i64::from(self.consume_timeout_minute)),
            ),
            ("groupName", Node::str(&self.group_name)),
            (
                "groupRetryPolicy",
                Node::object(vec![("type", Node::str("CUSTOMIZED"))]),
            ),
            ("groupSysFlag", Node::Int(i64::from(self.group_sys_flag))),
            (
                "notifyConsumerIdsChangedEnable",
                Node::Bool(self.notify_consumer_ids_changed_enable),
            ),
            ("retryMaxTimes", Node::Int(i64::from(self.retry_max_times))),
            (
                "retryQueueNums",
                Node::Int(i64::from(self.retry_queue_nums)),
            ),
            (
                "whichBrokerWhenConsumeSlowly",
                Node::Int(self.which_broker_when_consume_slowly),
            ),
        ])
    }
}

/// The data version and table of a `SubscriptionGroupWrapper` (subscriptionGroup.json, or the
/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG body).
fn wrapper_from_value(
    v: &Value,
) -> (
    Option<DataVersion>,
    BTreeMap<String, SubscriptionGroupConfig>,
) {
    let mut table = BTreeMap::new();
    if let Some(Value::Object(t)) = v.get("subscriptionGroupTable") {
        for (k, g) in t {
            let _ = table.insert(k.clone(), SubscriptionGroupConfig::from_value(k, g));
        }
    }
    (v.get("dataVersion").map(DataVersion::from_value), table)
}

/// Groups plus data version.
#[derive(Debug)]
pub struct SubscriptionGroupManager {
    file: config_file::ConfigFile,
    table: RwLock<BTreeMap<String, SubscriptionGroupConfig>>,
    data_version: Mutex<DataVersion>,
    /// `enableLmq` (`LmqSubscriptionGroupManager`): `%LMQ%` groups are synthetic, never stored.
    lmq: std::sync::atomic::AtomicBool,
}

/// Groups every Java broker has (`SubscriptionGroupManager.init`).
const BUILT_IN_GROUPS: &[&str] = &[
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
];

impl SubscriptionGroupManager {
    /// Loads `subscriptionGroup.json` and adds the built-in groups.
    #[must_use]
    pub fn load(path: PathBuf) -> Self {
        let mut table = BTreeMap::new();
        let mut version = DataVersion {
            counter: 0,
            state_version: 0,
            timestamp: crate::store::message_store::now_millis(),
        };
        if let Some(text) = config_file::load(&path) {
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => {
                    let (dv, t) = wrapper_from_value(&v);
                    version = dv.unwrap_or(version);
                    table = t;
                }
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot parse subscriptionGroup.json")
                }
            }
        }
        for g in BUILT_IN_GROUPS {
            let _ = table
                .entry((*g).to_owned())
                .or_insert_with(|| SubscriptionGroupConfig::new(g));
        }
        Self {
            file: config_file::ConfigFile::new(path),
            table: RwLock::new(table),
            data_version: Mutex::new(version),
            lmq: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Turns on `LmqSubscriptionGroupManager` behaviour (`enableLmq`).
    pub fn set_lmq(&self, on: bool) {
        self.lmq.store(on, std::sync::atomic::Ordering::Release);
    }

    fn lmq_group(&self, group: &str) -> bool {
        self.lmq.load(std::sync::atomic::Ordering::Acquire) && crate::store::lmq::is_lmq(group)
    }

    /// One group. With `enableLmq` an LMQ group exists with default settings.
    #[must_use]
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if self.lmq_group(group) {
            return Some(SubscriptionGroupConfig::new(group));
        }
        self.table.read().ok()?.get(group).cloned()
    }

    /// The group, created with defaults when `auto_create` (`findSubscriptionGroupConfig`).
    pub fn find_or_create(
        &self,
        group: &str,
        auto_create: bool,
    ) -> Option<SubscriptionGroupConfig> {
        if let Some(g) = self.get(group) {
            return Some(g);
        }
        if !auto_create {
            return None;
        }
        let g = SubscriptionGroupConfig::new(group);
        self.upsert(g.clone());
        Some(g)
    }

    /// Creates or replaces a group and persists.
    pub fn upsert(&self, g: SubscriptionGroupConfig) {
        if self.lmq_group(&g.group_name) {
            return;
        }
        if let Ok(mut t) = self.table.write() {
            let _ = t.insert(g.group_name.clone(), g);
        }
        if let Ok(mut v) = self.data_version.lock() {
            v.counter += 1;
            v.timestamp = crate::store::message_store::now_millis();
        }
        self.persist();
    }

    /// `SlaveSynchronize.syncSubscriptionGroupConfig`: when the master's data version differs,
    /// its groups and version replace these and are persisted. Returns whether anything changed.
    pub fn sync_from_master(&self, body: &[u8]) -> Result<bool, String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let (Some(dv), table) = wrapper_from_value(&v) else {
            return Err("no dataVersion in the master's subscription groups".into());
        };
        if self.data_version.lock().is_ok_and(|cur| *cur == dv) {
            return Ok(false);
        }
        if let Ok(mut t) = self.table.write() {
            *t = table;
        }
        if let Ok(mut cur) = self.data_version.lock() {
            *cur = dv;
        }
        self.persist();
        Ok(true)
    }

    /// Deletes a group; true if it existed.
    pub fn delete(&self, group: &str) -> bool {
        let existed = self
            .table
            .write()
            .map(|mut t| t.remove(group).is_some())
            .unwrap_or(false);
        if existed {
            self.persist();
        }
        existed
    }

    /// Every group.
    #[must_use]
    pub fn all(&self) -> Vec<SubscriptionGroupConfig> {
        self.table
            .read()
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The wrapper as fastjson writes it.
    #[must_use]
    pub fn wrapper_node(&self) -> Node {
        let dv = self.data_version.lock().map(|v| *v).unwrap_or_default();
        Node::object(vec![
            ("dataVersion", data_version_node(&dv)),
            ("forbiddenTable", Node::Object(Vec::new())),
            ("subscriptionGroupTable", {
                let mut table: Vec<(Key, Node)> = self
                    .all()
                    .iter()
                    .map(|g| (Key::Str(g.group_name.clone()), g.to_node()))
                    .collect();
                // `ConcurrentHashMap<>(1024)` iteration order.
                sort_java_hash(&mut table, 2048);
                Node::Object(table)
            }),
        ])
    }
}

impl config_file::ConfigManager for SubscriptionGroupManager {
    fn config_file(&self) -> &config_file::ConfigFile {
        &self.file
    }

    fn encode(&self) -> String {
        self.wrapper_node().to_pretty()
    }
}
