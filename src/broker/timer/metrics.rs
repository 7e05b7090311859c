//! Per-topic counts of pending timer messages (`store:timer/TimerMetrics.java`), persisted as
//! `<root>/config/timermetrics` in fastjson's compact form and served to a slave by
//! GET_TIMER_METRICS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;
use tracing::warn;

use crate::broker::config_file;
use crate::broker::topic_config::data_version_node;
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::json_tree::{Key, Node, sort_java_hash};
use crate::store::message_store::now_millis;

#[derive(Debug, Default)]
struct Table {
    /// Topic → (count, time of the last change).
    counts: BTreeMap<String, (i64, i64)>,
    version: DataVersion,
    dirty: bool,
}

/// The metrics.
#[derive(Debug)]
pub struct TimerMetrics {
    path: PathBuf,
    table: Mutex<Table>,
    /// Messages taken into the wheel and taken out for delivery since start, per real topic
    /// (`""` when the message names none), for `rocketmq_timer_enqueue_total` /
    /// `rocketmq_timer_dequeue_total`.
    flow: Mutex<Flow>,
}

/// Counts per real topic (`""`: none).
pub type TopicCounts = Vec<(String, u64)>;

/// Enqueue and dequeue counts per real topic.
#[derive(Debug, Default)]
struct Flow {
    enqueued: BTreeMap<String, u64>,
    dequeued: BTreeMap<String, u64>,
    /// When the last message was enqueued and its store time (`lastEnqueueButExpiredTime`,
    /// `lastEnqueueButExpiredStoreTime`).
    last_enqueue: (i64, i64),
}

/// How recent the last enqueue must be for `getEnqueueBehindMillis` to report its age (Java's
/// literal 2000).
const ENQUEUE_RECENT_MS: i64 = 2_000;

/// A running count per topic, for at most `METRIC_SERIES_PER_FAMILY` topics.
fn bump(counts: &mut BTreeMap<String, u64>, topic: Option<&str>) {
    let topic = topic.unwrap_or("");
    if let Some(n) = counts.get_mut(topic) {
        *n += 1;
    } else if counts.len() < crate::limits::METRIC_SERIES_PER_FAMILY {
        let _ = counts.insert(topic.to_owned(), 1);
    }
}

impl TimerMetrics {
    /// Loads the file (missing or unreadable: empty).
    #[must_use]
    pub fn load(path: PathBuf) -> Self {
        let mut t = Table::default();
        if let Some(text) = config_file::load(&path)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            if let Some(dv) = v.get("dataVersion") {
                t.version = DataVersion::from_value(dv);
            }
            if let Some(Value::Object(m)) = v.get("timingCount") {
                for (topic, metric) in m {
                    let count = metric.get("count").and_then(Value::as_i64).unwrap_or(0);
                    let ts = metric.get("timeStamp").and_then(Value::as_i64).unwrap_or(0);
                    let _ = t.counts.insert(topic.clone(), (count, ts));
                }
            }
        }
        Self {
            path,
            table: Mutex::new(t),
            flow: Mutex::new(Flow::default()),
        }
    }

    /// Adds `delta` to `topic`'s count (`addAndGet`).
    pub fn add(&self, topic: &str, delta: i64) {
        if let Ok(mut t) = self.table.lock() {
            let now = now_millis();
            let e = t.counts.entry(topic.to_owned()).or_insert((0, now));
            e.0 += delta;
            e.1 = now;
            t.version.counter += 1;
            t.version.timestamp = now;
            t.dirty = true;
        }
    }

    /// `topic`'s pending count.
    #[must_use]
    pub fn count(&self, topic: &str) -> i64 {
        self.table
            .lock()
            .ok()
            .and_then(|t| t.counts.get(topic).map(|c| c.0))
            .unwrap_or(0)
    }

    /// Counts one message, stored at `store_time`, taken into the wheel
    /// (`incTimerEnqueueCount`).
    pub fn count_enqueue(&self, real_topic: Option<&str>, store_time: i64) {
        if let Ok(mut f) = self.flow.lock() {
            bump(&mut f.enqueued, real_topic);
            f.last_enqueue = (now_millis(), store_time);
        }
    }

    /// `getEnqueueBehindMillis`: the age of the last message enqueued, if that was within
    /// the last 2 s; else 0.
    #[must_use]
    pub fn enqueue_behind_ms(&self) -> i64 {
        let now = now_millis();
        self.flow
            .lock()
            .ok()
            .filter(|f| now - f.last_enqueue.0 < ENQUEUE_RECENT_MS)
            .map_or(0, |f| now - f.last_enqueue.1)
    }

    /// Counts one message taken out for delivery (`incTimerDequeueCount`).
    pub fn count_dequeue(&self, real_topic: Option<&str>) {
        if let Ok(mut f) = self.flow.lock() {
            bump(&mut f.dequeued, real_topic);
        }
    }

    /// The enqueue and dequeue counts per topic (`""`: none).
    #[must_use]
    pub fn flow(&self) -> (TopicCounts, TopicCounts) {
        let copy = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        self.flow
            .lock()
            .map(|f| (copy(&f.enqueued), copy(&f.dequeued)))
            .unwrap_or_default()
    }

    /// Every topic's pending count (`getTimingCount`).
    #[must_use]
    pub fn counts(&self) -> Vec<(String, i64)> {
        self.table
            .lock()
            .map(|t| t.counts.iter().map(|(k, v)| (k.clone(), v.0)).collect())
            .unwrap_or_default()
    }

    /// The JSON body (`TimerMetricsSerializeWrapper`).
    #[must_use]
    pub fn encode(&self) -> String {
        let Ok(t) = self.table.lock() else {
            return String::new();
        };
        let mut pairs: Vec<(Key, Node)> = t
            .counts
            .iter()
            .map(|(topic, (count, ts))| {
                (
                    Key::Str(topic.clone()),
                    Node::object(vec![
                        ("count", Node::Int(*count)),
                        ("timeStamp", Node::Int(*ts)),
                    ]),
                )
            })
            .collect();
        sort_java_hash(&mut pairs, 1024);
        Node::object(vec![
            ("dataVersion", data_version_node(&t.version)),
            ("timingCount", Node::Object(pairs)),
        ])
        .to_compact()
    }

    /// Writes the file when something changed (write to `.tmp`, keep `.bak`, rename, as Java).
    pub fn persist(&self) {
        let dirty = self
            .table
            .lock()
            .map(|mut t| std::mem::replace(&mut t.dirty, false))
            .unwrap_or(false);
        if !dirty {
            return;
        }
        let text = self.encode();
        if let Err(e) = config_file::persist(&self.path, &text) {
            warn!(path = %self.path.display(), error = %e, "timer metrics not persisted");
        }
    }
}
