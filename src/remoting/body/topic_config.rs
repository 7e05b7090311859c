//! `TopicConfig` (`common:TopicConfig.java`): a topic's queues, permission and flags.

use serde_json::Value;

use super::{value_bool_or, value_i32_or, value_string};

/// Read permission bit (`PermName.PERM_READ`).
pub const PERM_READ: i32 = 1 << 2;
/// Write permission bit (`PermName.PERM_WRITE`).
pub const PERM_WRITE: i32 = 1 << 1;
/// Inherit bit: the auto-create template (`PermName.PERM_INHERIT`).
pub const PERM_INHERIT: i32 = 1;

/// One topic's configuration as brokers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// Topic name.
    pub topic_name: String,
    /// Readable queues.
    pub read_queue_nums: i32,
    /// Writable queues.
    pub write_queue_nums: i32,
    /// `PermName` bits.
    pub perm: i32,
    /// `SINGLE_TAG` or `MULTI_TAG`.
    pub topic_filter_type: String,
    /// `TopicSysFlag` bits.
    pub topic_sys_flag: i32,
    /// Ordered topic.
    pub order: bool,
    /// 5.x attributes as JSON text of a string map (`{}` when none).
    pub attributes_json: String,
}

impl TopicConfig {
    /// Java's defaults: 16 queues, read+write, SINGLE_TAG.
    #[must_use]
    pub fn new(topic_name: impl Into<String>) -> Self {
        Self {
            topic_name: topic_name.into(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            perm: PERM_READ | PERM_WRITE,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: 0,
            order: false,
            attributes_json: "{}".into(),
        }
    }

    /// Reads a fastjson TopicConfig object; `name` is the map key it was found under.
    #[must_use]
    pub fn from_value(name: &str, v: &Value) -> Self {
        let mut tc = Self::new(value_string(v.get("topicName")).unwrap_or_else(|| name.to_owned()));
        tc.read_queue_nums = value_i32_or(v.get("readQueueNums"), tc.read_queue_nums);
        tc.write_queue_nums = value_i32_or(v.get("writeQueueNums"), tc.write_queue_nums);
        tc.perm = value_i32_or(v.get("perm"), tc.perm);
        tc.topic_filter_type =
            value_string(v.get("topicFilterType")).unwrap_or(tc.topic_filter_type);
        tc.topic_sys_flag = value_i32_or(v.get("topicSysFlag"), 0);
        tc.order = value_bool_or(v.get("order"), false);
        if let Some(attrs @ Value::Object(_)) = v.get("attributes") {
            tc.attributes_json = attrs.to_string();
        }
        tc
    }

    /// Decodes Java's `TopicConfig.encode()` text line used by compressed registrations:
    /// `"<name> <read> <write> <perm> <filterType>[ <attributesJson>]"`.
    #[must_use]
    pub fn decode_line(line: &str) -> Option<Self> {
        let mut parts = line.splitn(6, ' ');
        let mut tc = Self::new(parts.next()?);
        tc.read_queue_nums = parts.next()?.parse().ok()?;
        tc.write_queue_nums = parts.next()?.parse().ok()?;
        tc.perm = parts.next()?.parse().ok()?;
        tc.topic_filter_type = parts.next()?.to_owned();
        if let Some(attrs) = parts.next() {
            tc.attributes_json = attrs.to_owned();
        }
        Some(tc)
    }
}
