//! Delayed delivery (`broker:schedule/ScheduleMessageService.java`, `HookUtils`).
//!
//! A message with a `DELAY` level is stored in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, with
//! its real topic and queue in `REAL_TOPIC` / `REAL_QID`; its ConsumeQueue unit carries the
//! deliver time instead of a tag hash. A background task walks each level's queue and, once a
//! unit's time has come, stores the message again under its real topic and queue. Progress per
//! level is kept in `delayOffset.json`.

use crate::broker::config_file::ConfigManager as _;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tracing::warn;

use super::Broker;
use super::config_file;
use super::topic_config::data_version_node;
use crate::message::{
    get_property, java_hashmap_order, parse_properties, properties_to_string, put_property,
};
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::json_tree::{Key, Node, sort_java_hash};
use crate::store::dispatch::SCHEDULE_TOPIC;
use crate::store::record::MessageRecord;
use crate::store::{PutMessage, message_store::now_millis};

/// Levels in the default `messageDelayLevel`.
pub const MAX_DELAY_LEVEL: i32 = 18;

/// Moves a delayed message to the schedule topic (`transformDelayLevelMessage`); returns the
/// new topic, queue id and properties. Levels above the maximum are clamped.
#[must_use]
pub fn transform(
    topic: &str,
    queue_id: i32,
    properties: &str,
    level: i32,
) -> (String, i32, String) {
    let level = level.min(MAX_DELAY_LEVEL);
    let mut props = parse_properties(properties);
    put_property(&mut props, "DELAY", &level.to_string());
    put_property(&mut props, "REAL_TOPIC", topic);
    put_property(&mut props, "REAL_QID", &queue_id.to_string());
    java_hashmap_order(&mut props);
    (
        SCHEDULE_TOPIC.to_owned(),
        level - 1,
        properties_to_string(&props),
    )
}

/// The delay level of a properties string, when positive.
#[must_use]
pub fn delay_level(properties: &str) -> Option<i32> {
    crate::store::record::property(properties, "DELAY")
        .and_then(|d| d.parse::<i32>().ok())
        .filter(|l| *l > 0)
}

/// Per-level delivery progress.
#[derive(Debug)]
pub struct ScheduleOffsets {
    file: config_file::ConfigFile,
    table: Mutex<BTreeMap<i32, u64>>,
    data_version: DataVersion,
}

impl ScheduleOffsets {
    /// Loads `delayOffset.json`.
    #[must_use]
    pub fn load(path: PathBuf) -> Self {
        let mut table = BTreeMap::new();
        let mut data_version = DataVersion {
            counter: 0,
            state_version: 0,
            timestamp: now_millis(),
        };
        if let Some(text) = config_file::load(&path)
            && let Ok(v) =
                serde_json::from_str::<Value>(&super::consumer_offset::quote_integer_keys(&text))
        {
            if let Some(dv) = v.get("dataVersion") {
                data_version = DataVersion::from_value(dv);
            }
            if let Some(Value::Object(t)) = v.get("offsetTable") {
                for (k, o) in t {
                    if let (Ok(level), Some(o)) = (k.parse::<i32>(), o.as_u64()) {
                        let _ = table.insert(level, o);
                    }
                }
            }
        }
        Self {
            file: config_file::ConfigFile::new(path),
            table: Mutex::new(table),
            data_version,
        }
    }

    /// `SlaveSynchronize.syncDelayOffset`: the master's per-level progress replaces this one's and
    /// is persisted.
    pub fn sync_from_master(&self, body: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(body);
        let v: Value = serde_json::from_str(&super::consumer_offset::quote_integer_keys(&text))
            .map_err(|e| e.to_string())?;
        let mut table = BTreeMap::new();
        if let Some(Value::Object(t)) = v.get("offsetTable") {
            for (k, o) in t {
                if let (Ok(level), Some(o)) = (k.parse::<i32>(), o.as_u64()) {
                    let _ = table.insert(level, o);
                }
            }
        }
        if let Ok(mut t) = self.table.lock() {
            *t = table;
        }
        self.persist();
        Ok(())
    }

    fn get(&self, level: i32) -> u64 {
        self.table
            .lock()
            .ok()
            .and_then(|t| t.get(&level).copied())
            .unwrap_or(0)
    }

    fn set(&self, level: i32, offset: u64) {
        if let Ok(mut t) = self.table.lock() {
            let _ = t.insert(level, offset);
        }
    }

    /// The file content (also the GET_ALL_DELAY_OFFSET body, compact).
    #[must_use]
    pub fn to_node(&self) -> Node {
        let t = self.table.lock().map(|t| t.clone()).unwrap_or_default();
        let mut pairs: Vec<(Key, Node)> = t
            .iter()
            .map(|(l, o)| {
                (
                    Key::Int(i64::from(*l)),
                    Node::Int(i64::try_from(*o).unwrap_or(0)),
                )
            })
            .collect();
        sort_java_hash(&mut pairs, 64);
        Node::object(vec![
            ("dataVersion", data_version_node(&self.data_version)),
            ("offsetTable", Node::Object(pairs)),
        ])
    }
}

/// The message a due unit becomes (`messageTimeUp`): same body, flags and hosts, under its
/// real topic and queue. The properties string is kept as stored, as Java does.
fn time_up(rec: &MessageRecord) -> Option<PutMessage> {
    let props = parse_properties(&rec.properties);
    let topic = get_property(&props, "REAL_TOPIC")?.to_owned();
    let queue_id = get_property(&props, "REAL_QID")?.parse().ok()?;
    Some(PutMessage {
        topic,
        queue_id,
        flag: rec.flag,
        body: rec.body.clone(),
        properties: rec.properties.clone(),
        sys_flag: rec.sys_flag,
        born_timestamp: rec.born_timestamp,
        born_host: rec.born_host,
        store_host: rec.store_host,
        reconsume_times: rec.reconsume_times,
        prepared_transaction_offset: rec.prepared_transaction_offset,
    })
}

/// Delivers due messages of one level; returns how many.
fn deliver_level(broker: &Broker, level: i32) -> usize {
    let Some(q) = broker.store.queue(SCHEDULE_TOPIC, level - 1) else {
        return 0;
    };
    let mut offset = broker.schedule.get(level).max(q.min_offset());
    let now = now_millis();
    let mut delivered = 0;
    while offset < q.max_offset() && delivered < 1024 {
        let Some(unit) = q.get(offset) else { break };
        if unit.tags_code > now {
            break;
        }
        let rec = broker
            .store
            .read_record(
                u64::try_from(unit.commit_log_offset).unwrap_or(u64::MAX),
                usize::try_from(unit.size).unwrap_or(0),
            )
            .and_then(|b| MessageRecord::decode(&b, false).ok().map(|(r, _)| r));
        match rec.as_ref().and_then(time_up) {
            Some(msg) => {
                if let Err(e) = broker.store.put(std::slice::from_ref(&msg)) {
                    warn!(level, offset, error = %e, "delayed delivery failed; retrying later");
                    break;
                }
            }
            None => warn!(level, offset, "undeliverable delayed message skipped"),
        }
        offset += 1;
        delivered += 1;
        broker.schedule.set(level, offset);
    }
    delivered
}

/// Runs delayed delivery until the broker stops: every 100 ms each level is checked.
pub async fn run(broker: Arc<Broker>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut since_persist = 0u32;
    loop {
        let _ = tick.tick().await;
        let b = Arc::clone(&broker);
        let _ = tokio::task::spawn_blocking(move || {
            (1..=MAX_DELAY_LEVEL)
                .map(|l| deliver_level(&b, l))
                .sum::<usize>()
        })
        .await;
        since_persist += 1;
        if since_persist >= 100 {
            since_persist = 0;
            broker.schedule.persist();
        }
    }
}

impl config_file::ConfigManager for ScheduleOffsets {
    fn config_file(&self) -> &config_file::ConfigFile {
        &self.file
    }

    fn encode(&self) -> String {
        self.to_node().to_pretty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_keeps_real_topic() {
        let (t, q, p) = transform("T", 3, "DELAY\u{1}3\u{2}TAGS\u{1}a\u{2}", 3);
        assert_eq!((t.as_str(), q), (SCHEDULE_TOPIC, 2));
        assert_eq!(crate::store::record::property(&p, "REAL_TOPIC"), Some("T"));
        assert_eq!(crate::store::record::property(&p, "REAL_QID"), Some("3"));
        assert_eq!(delay_level(&p), Some(3));
        assert_eq!(transform("T", 0, "", 40).1, MAX_DELAY_LEVEL - 1);
    }
}
