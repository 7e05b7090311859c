//! Light Message Queues (RIP-28; `store:LmqDispatch.java`, `queue/MultiDispatchUtils.java`,
//! `ConsumeQueue.multiDispatchLmqQueue`): a message sent to an ordinary topic with
//! `INNER_MULTI_DISPATCH=%LMQ%a,%LMQ%b` is stored once and indexed in queue 0 of each named LMQ.
//!
//! Under the CommitLog put lock the store writes `INNER_MULTI_QUEUE_OFFSET` (each LMQ's next
//! offset, joined with `,`) into the stored properties and advances those offsets after the
//! append; the dispatcher then writes a ConsumeQueue unit into `consumequeue/<lmq>/0` at that
//! offset. Offsets live in the same per-queue table as ordinary queues, so recovery rebuilds them
//! from the ConsumeQueues like any other.

use std::collections::HashMap;

use crate::message::{java_hashmap_order, parse_properties, properties_to_string, put_property};

use super::config::StoreConfig;
use super::record::MessageRecord;

/// Name prefix of an LMQ (`MixAll.LMQ_PREFIX`).
pub const LMQ_PREFIX: &str = "%LMQ%";
/// The one queue of an LMQ (`MixAll.LMQ_QUEUE_ID`).
pub const LMQ_QUEUE_ID: i32 = 0;
/// Separator of queue names and of offsets (`MixAll.LMQ_DISPATCH_SEPARATOR`).
pub const LMQ_DISPATCH_SEPARATOR: char = ',';
/// Property naming the queues a message is dispatched to (`PROPERTY_INNER_MULTI_DISPATCH`).
pub const PROPERTY_INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
/// Property with each queue's offset, written by the store (`PROPERTY_INNER_MULTI_QUEUE_OFFSET`).
pub const PROPERTY_INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
/// `MessageConst.PROPERTY_WAIT_STORE_MSG_OK`.
const PROPERTY_WAIT_STORE_MSG_OK: &str = "WAIT";
/// Remark of a send refused by `maxLmqConsumeQueueNum` (`SendMessageProcessor`).
pub const LMQ_CONSUME_QUEUE_NUM_EXCEEDED_REMARK: &str = "[LMQ_CONSUME_QUEUE_NUM_EXCEEDED]broker config enableLmq and enableMultiDispatch, lmq consumeQueue num exceed maxLmqConsumeQueueNum config num, default limit 2w.";

/// `MixAll.isLmq`: the name starts with `%LMQ%`.
#[must_use]
pub fn is_lmq(name: &str) -> bool {
    name.starts_with(LMQ_PREFIX)
}

/// `MixAll.topicAllowsLMQ` / `MultiDispatchUtils.isNeedHandleMultiDispatch`: not a retry topic,
/// not a `rmq_sys_` topic, not the schedule topic.
#[must_use]
pub fn topic_allows_lmq(topic: &str) -> bool {
    !topic.starts_with("%RETRY%")
        && !topic.starts_with("rmq_sys_")
        && topic != super::dispatch::SCHEDULE_TOPIC
}

/// Java's `StringUtils.isBlank`.
fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// Java's `String.split(",")`: trailing empty strings are dropped.
fn java_split(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(LMQ_DISPATCH_SEPARATOR).collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        let _ = parts.pop();
    }
    if parts.len() == 1 && parts.first().is_some_and(|p| p.is_empty()) && !s.is_empty() {
        parts.clear();
    }
    parts
}

/// The LMQ names of a message the store must stamp (`CommitLog` `isMultiDispatchMsg`:
/// `enableLmq` and `needDispatchLMQ`), or `None`.
#[must_use]
pub fn names_to_stamp<'a>(
    config: &StoreConfig,
    topic: &str,
    properties: &'a str,
) -> Option<&'a str> {
    if !config.enable_lmq || !topic_allows_lmq(topic) {
        return None;
    }
    super::record::property(properties, PROPERTY_INNER_MULTI_DISPATCH).filter(|v| !is_blank(v))
}

/// `LmqDispatch.wrapLmqDispatch` and the re-encoding of `handlePropertiesForLmqMsg`: the
/// properties with `INNER_MULTI_QUEUE_OFFSET` set to each name's next offset (empty for a name
/// that is not an LMQ, as Java joins a null), in the order Java's `HashMap` gives them. Java
/// removes and re-puts `WAIT`, so it ends up last among the keys of its bucket.
#[must_use]
pub fn stamp_offsets(
    properties: &str,
    names: &str,
    offsets: &HashMap<(String, i32), i64>,
) -> String {
    let joined = java_split(names)
        .iter()
        .map(|n| {
            if is_lmq(n) {
                offsets
                    .get(&((*n).to_owned(), LMQ_QUEUE_ID))
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            } else {
                String::new()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut props = parse_properties(properties);
    put_property(&mut props, PROPERTY_INNER_MULTI_QUEUE_OFFSET, &joined);
    if let Some(i) = props
        .iter()
        .position(|(k, _)| k == PROPERTY_WAIT_STORE_MSG_OK)
    {
        let wait = props.remove(i);
        props.push(wait);
    }
    java_hashmap_order(&mut props);
    properties_to_string(&props)
}

/// The LMQs whose offsets advance after the append (`LmqDispatch.updateLmqOffsets`).
#[must_use]
pub fn queues_to_advance(names: &str) -> Vec<String> {
    java_split(names)
        .into_iter()
        .filter(|n| is_lmq(n))
        .map(str::to_owned)
        .collect()
}

/// Whether a queue name may become a directory under `consumequeue/`. Java skips names holding
/// the file separator; `.`, `..` and the empty name are skipped here too, as they would escape or
/// alias the topic directory.
fn safe_queue_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// Where a dispatched record also goes (`MultiDispatchUtils.checkMultiDispatchQueue` and
/// `ConsumeQueue.multiDispatchLmqQueue`): (queue name, queue id, queue offset) for each entry of
/// `INNER_MULTI_DISPATCH` paired with `INNER_MULTI_QUEUE_OFFSET`. Nothing when
/// `enableMultiDispatch` is off, the topic takes no LMQ, either property is blank, or the two
/// lists differ in length. An offset that is not a number skips its entry (Java's reput thread
/// would throw on it).
#[must_use]
pub fn dispatch_targets(config: &StoreConfig, rec: &MessageRecord) -> Vec<(String, i32, i64)> {
    if !config.enable_multi_dispatch || !topic_allows_lmq(&rec.topic) {
        return Vec::new();
    }
    let (Some(queues), Some(offsets)) = (
        rec.property(PROPERTY_INNER_MULTI_DISPATCH),
        rec.property(PROPERTY_INNER_MULTI_QUEUE_OFFSET),
    ) else {
        return Vec::new();
    };
    if is_blank(queues) || is_blank(offsets) {
        return Vec::new();
    }
    let queues = java_split(queues);
    let offsets = java_split(offsets);
    if queues.len() != offsets.len() {
        tracing::error!(topic = %rec.topic, "[bug] queues.length!=queueOffsets.length");
        return Vec::new();
    }
    queues
        .into_iter()
        .zip(offsets)
        .filter(|(q, _)| safe_queue_name(q))
        .filter_map(|(q, o)| {
            let offset = o.parse::<i64>().ok().filter(|o| *o >= 0)?;
            let queue_id = if config.enable_lmq && is_lmq(q) {
                LMQ_QUEUE_ID
            } else {
                rec.queue_id
            };
            Some((q.to_owned(), queue_id, offset))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn split_drops_trailing_empties_like_java() {
        assert_eq!(java_split("%LMQ%a,%LMQ%b"), vec!["%LMQ%a", "%LMQ%b"]);
        assert_eq!(java_split("3,"), vec!["3"]);
        assert_eq!(java_split(",3"), vec!["", "3"]);
        assert_eq!(java_split(","), Vec::<&str>::new());
    }

    #[test]
    fn offsets_join_nulls_as_empty() {
        let mut t = HashMap::new();
        let _ = t.insert(("%LMQ%a".to_owned(), 0), 7);
        let p = stamp_offsets("", "%LMQ%a,plain,%LMQ%b", &t);
        assert_eq!(
            crate::store::record::property(&p, PROPERTY_INNER_MULTI_QUEUE_OFFSET),
            Some("7,,0")
        );
        assert_eq!(
            queues_to_advance("%LMQ%a,plain,%LMQ%b"),
            vec!["%LMQ%a", "%LMQ%b"]
        );
    }

    #[test]
    fn unsafe_names_are_skipped() {
        assert!(!safe_queue_name("a/b"));
        assert!(!safe_queue_name(".."));
        assert!(safe_queue_name("%LMQ%a"));
    }
}
