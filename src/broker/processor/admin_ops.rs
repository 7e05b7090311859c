//! The rest of `AdminBrokerProcessor` that mqadmin's operator commands use: topic and group
//! lists (`updateTopicList`, `updateSubGroupList`), producers (`producer`), statistics
//! (`statsAll`, `brokerConsumeStats`), consume-queue inspection (`queryCq`), offset cloning
//! (`cloneGroupOffset`) and the manual clean-ups (`cleanExpiredCQ`, `cleanUnusedTopic`,
//! `deleteExpiredCommitLog`, `exportPopRecord`).

use std::sync::Arc;
use tokio::time::Instant;

use serde_json::Value;
use tracing::{info, warn};

use super::admin::{java_double, java_success, json_body, mq_key, object_keyed_table};
use super::client::parse_body;
use crate::broker::Broker;
use crate::broker::stats_items::{GROUP_GET_NUMS, Span, TOPIC_PUT_NUMS};
use crate::broker::subscription_group::SubscriptionGroupConfig;
use crate::broker::topic_config::{NOT_ALLOWED_SEND_TOPICS, validate_topic};
use crate::ext_header;
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::TopicConfig;
use crate::remoting::body::value_string;
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::{JsonWriter, Style};
use crate::remoting::{RemotingCommand, ResponseCode};

ext_header! {
    /// VIEW_BROKER_STATS_DATA (315).
    pub struct ViewBrokerStatsDataRequestHeader {
        /// `TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`, …
        stats_name: req String = "statsName",
        /// Topic, `topic@group` or the cluster name.
        stats_key: req String = "statsKey",
    }
}

ext_header! {
    /// GET_BROKER_CONSUME_STATS (317).
    pub struct GetConsumeStatsInBrokerHeader {
        /// Only ordered topics.
        is_order: opt bool = "isOrder",
    }
}

ext_header! {
    /// QUERY_CONSUME_QUEUE (321).
    pub struct QueryConsumeQueueRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// First queue index.
        index: req i64 = "index",
        /// How many units.
        count: req i32 = "count",
        /// Group whose subscription is shown.
        consumer_group: opt String = "consumerGroup",
    }
}

ext_header! {
    /// CLONE_GROUP_OFFSET (314).
    pub struct CloneGroupOffsetRequestHeader {
        /// Group copied from.
        src_group: req String = "srcGroup",
        /// Group copied to.
        dest_group: req String = "destGroup",
        /// One topic, or every topic of the source group.
        topic: opt String = "topic",
        /// Copy even when the source group does not subscribe the topic.
        offline: opt bool = "offline",
    }
}

fn is_system_topic(topic: &str) -> bool {
    crate::broker::topic_config::is_system_topic(topic, &[])
}

/// UPDATE_AND_CREATE_TOPIC_LIST (18): body `CreateTopicListRequestBody`. Every topic is checked
/// before any is written, as Java does.
pub(crate) fn update_and_create_topic_list(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let list = parse_body(&req.body)
        .and_then(|v| v.get("topicConfigList").and_then(Value::as_array).cloned());
    let Some(list) = list else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "invalid CreateTopicListRequestBody",
        ));
    };
    let mut configs = Vec::with_capacity(list.len());
    for v in &list {
        let name = value_string(v.get("topicName")).unwrap_or_default();
        if let Some(remark) = validate_topic(&name) {
            return Ok(RemotingCommand::error(
                ResponseCode::INVALID_PARAMETER,
                remark,
            ));
        }
        if is_system_topic(&name) || NOT_ALLOWED_SEND_TOPICS.contains(&name.as_str()) {
            return Ok(RemotingCommand::error(
                ResponseCode::INVALID_PARAMETER,
                format!("The topic[{name}] is conflict with system topic."),
            ));
        }
        configs.push(TopicConfig::from_value(&name, v));
    }
    let mut changed = false;
    for tc in configs {
        if broker.topics.get(&tc.topic_name).as_ref() != Some(&tc) {
            broker.topics.upsert(tc);
            changed = true;
        }
    }
    if changed {
        broker.notify_topics_changed();
    }
    Ok(java_success())
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225): body `SubscriptionGroupList`.
pub(crate) fn update_and_create_subscription_group_list(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let list = parse_body(&req.body)
        .and_then(|v| v.get("groupConfigList").and_then(Value::as_array).cloned());
    let Some(list) = list else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "invalid SubscriptionGroupList body",
        ));
    };
    for v in &list {
        if let Some(name) = value_string(v.get("groupName")).filter(|n| !n.is_empty()) {
            broker
                .groups
                .upsert(SubscriptionGroupConfig::from_value(&name, v));
        }
    }
    Ok(RemotingCommand::success())
}

/// GET_ALL_PRODUCER_INFO (328): `ProducerTableInfo`, every producer group with its clients
/// (`remoteIP` as Netty's `remoteAddress().toString()`: `/127.0.0.1:port`).
pub(crate) fn get_all_producer_info(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let now_ms = crate::store::message_store::now_millis();
    let now = Instant::now();
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object().key("data").begin_object();
    for (group, members) in broker.clients.producer_groups() {
        w.key(&group).begin_array();
        for ch in members {
            let age = i64::try_from(now.duration_since(ch.last_update).as_millis()).unwrap_or(0);
            w.begin_object()
                .field_str("clientId", &ch.client_id)
                .field_str("language", ch.language.map_or("JAVA", |l| l.name()))
                .field_num("lastUpdateTimestamp", now_ms - age)
                .field_str("remoteIP", &format!("/{}", ch.conn.peer()))
                .field_num("version", i64::from(ch.version))
                .end_object();
        }
        w.end_array();
    }
    w.end_object().end_object();
    Ok(json_body(w.finish()))
}

/// Writes a `BrokerStatsItem`.
fn stats_item_json(w: &mut JsonWriter, key: &str, win: crate::broker::stats_items::Window) {
    w.key(key)
        .begin_object()
        .key("avgpt")
        .double(win.avgpt)
        .field_num("sum", i64::try_from(win.sum).unwrap_or(i64::MAX))
        .key("tps")
        .double(win.tps)
        .end_object();
}

/// VIEW_BROKER_STATS_DATA (315): `BrokerStatsData` (minute, hour and day windows) of one item.
pub(crate) fn view_broker_stats_data(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = ViewBrokerStatsDataRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let items = &broker.stats_items;
    let windows =
        [Span::Day, Span::Hour, Span::Minute].map(|s| items.window(&h.stats_name, &h.stats_key, s));
    let [Some(day), Some(hour), Some(minute)] = windows else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("The stats <{}> <{}> not exist", h.stats_name, h.stats_key),
        ));
    };
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object();
    stats_item_json(&mut w, "statsDay", day);
    stats_item_json(&mut w, "statsHour", hour);
    stats_item_json(&mut w, "statsMinute", minute);
    w.end_object();
    Ok(json_body(w.finish()))
}

/// `BrokerStatsManager.tpsGroupGetNums`: the minute window's TPS of `topic@group`.
#[must_use]
pub fn group_get_tps(broker: &Broker, group: &str, topic: &str) -> f64 {
    broker
        .stats_items
        .window(GROUP_GET_NUMS, &format!("{topic}@{group}"), Span::Minute)
        .map_or(0.0, |w| w.tps)
}

/// `BrokerStatsManager.tpsTopicPutNums`: the minute window's TPS of a topic.
#[must_use]
pub fn topic_put_tps(broker: &Broker, topic: &str) -> f64 {
    broker
        .stats_items
        .window(TOPIC_PUT_NUMS, topic, Span::Minute)
        .map_or(0.0, |w| w.tps)
}

/// One `ConsumeStats` of (group, topic) over the topic's write queues; returns the JSON and the
/// total diff.
fn consume_stats_json(broker: &Broker, group: &str, tc: &TopicConfig) -> (String, i64) {
    let topic = tc.topic_name.as_str();
    let mut entries = Vec::new();
    let mut diff = 0i64;
    for qid in 0..tc.write_queue_nums.max(0) {
        let broker_offset = broker
            .store
            .queue(topic, qid)
            .map_or(0, |q| i64::try_from(q.max_offset()).unwrap_or(0));
        let consumer_offset = broker.offsets.query(group, topic, qid).unwrap_or(0).max(0);
        diff += broker_offset - consumer_offset;
        let last = u64::try_from(consumer_offset)
            .ok()
            .and_then(|o| o.checked_sub(1))
            .and_then(|o| broker.store.store_time_at(topic, qid, o))
            .unwrap_or(0);
        let mut v = JsonWriter::new(Style::Default);
        v.begin_object()
            .field_num("brokerOffset", broker_offset)
            .field_num("consumerOffset", consumer_offset)
            .field_num("lastTimestamp", last)
            .field_num("pullOffset", consumer_offset)
            .end_object();
        entries.push((mq_key(&broker.name, qid, topic), v.finish()));
    }
    let tps = group_get_tps(broker, group, topic);
    (
        format!(
            "{{\"consumeTps\":{},\"offsetTable\":{}}}",
            java_double(tps),
            object_keyed_table(entries)
        ),
        diff,
    )
}

/// GET_BROKER_CONSUME_STATS (317): `ConsumeStatsList`, every subscription group's topics.
pub(crate) fn get_broker_consume_stats(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = GetConsumeStatsInBrokerHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let only_order = h.is_order.unwrap_or(false);
    let mut groups: Vec<String> = broker
        .groups
        .all()
        .into_iter()
        .map(|g| g.group_name)
        .collect();
    groups.sort();
    let mut total = 0i64;
    let mut list = Vec::new();
    for group in groups {
        let online = broker.clients.consumer_group(&group);
        let mut stats = Vec::new();
        let mut topics = broker.offsets.topics_of_group(&group);
        topics.sort();
        topics.dedup();
        for topic in topics {
            let Some(tc) = broker.topics.get(&topic) else {
                continue;
            };
            if only_order && !tc.order {
                continue;
            }
            if let Some(g) = &online
                && !g.subscriptions.is_empty()
                && !g.subscriptions.contains_key(&topic)
            {
                continue;
            }
            let (json, diff) = consume_stats_json(broker, &group, &tc);
            total += diff;
            stats.push(json);
        }
        let mut k = JsonWriter::new(Style::Default);
        k.string(&group);
        list.push(format!("{{{}:[{}]}}", k.finish(), stats.join(",")));
    }
    let mut addr = JsonWriter::new(Style::Default);
    addr.string(&broker.addr);
    Ok(json_body(format!(
        "{{\"brokerAddr\":{},\"consumeStatsList\":[{}],\"totalDiff\":{total},\"totalInflightDiff\":0}}",
        addr.finish(),
        list.join(",")
    )))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305): `TopicList` of the system topics.
pub(crate) fn get_system_topic_list(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let mut topics: Vec<String> = crate::broker::topic_config::SYSTEM_TOPICS
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    topics.extend(
        broker
            .topics
            .all()
            .into_iter()
            .map(|t| t.topic_name)
            .filter(|t| t.starts_with("rmq_sys_")),
    );
    topics.sort();
    topics.dedup();
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object()
        .field_str_array("topicList", topics.iter().map(String::as_str))
        .end_object();
    Ok(json_body(w.finish()))
}

/// QUERY_CONSUME_QUEUE (321): `QueryConsumeQueueResponseBody`, up to `count` units from `index`.
pub(crate) fn query_consume_queue(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = QueryConsumeQueueRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let Some(q) = broker.store.queue(&h.topic, h.queue_id) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("{}@{} is not exist!", h.queue_id, h.topic),
        ));
    };
    let (min, max) = (q.min_offset(), q.max_offset());
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object();
    if let Some(group) = h.consumer_group.as_deref() {
        let sub = broker
            .clients
            .consumer_group(group)
            .and_then(|g| g.subscriptions.get(&h.topic).cloned());
        match sub {
            None => {
                w.field_str("filterData", &format!("{group}@{} is not online!", h.topic));
            }
            Some(s) => {
                w.field_str("filterData", "null");
                w.key("subscriptionData")
                    .begin_object()
                    .field_str("expressionType", &s.expression_type)
                    .field_str("subString", &s.sub_string)
                    .field_num("subVersion", s.sub_version)
                    .field_str("topic", &s.topic)
                    .end_object();
            }
        }
    }
    w.field_num("maxQueueIndex", i64::try_from(max).unwrap_or(0))
        .field_num("minQueueIndex", i64::try_from(min).unwrap_or(0));
    let start = u64::try_from(h.index).unwrap_or(0).max(min);
    let count = u64::try_from(h.count.max(0)).unwrap_or(0);
    w.key("queueData").begin_array();
    let mut off = start;
    while off < max && off < start.saturating_add(count) {
        let Some(unit) = q.get(off) else {
            break;
        };
        w.begin_object()
            .field_bool("eval", false)
            .field_num("physicOffset", unit.commit_log_offset)
            .field_num("physicSize", i64::from(unit.size))
            .field_num("tagsCode", unit.tags_code)
            .end_object();
        off += 1;
    }
    w.end_array().end_object();
    Ok(json_body(w.finish()))
}

/// CLONE_GROUP_OFFSET (314): the source group's committed offsets copied to the destination.
pub(crate) fn clone_group_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = CloneGroupOffsetRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let topics = match h.topic.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => vec![t.to_owned()],
        None => broker.offsets.topics_of_group(&h.src_group),
    };
    let online = broker.clients.consumer_group(&h.src_group);
    for topic in topics {
        if broker.topics.get(&topic).is_none() {
            warn!(topic, "cloneGroupOffset: topic config does not exist");
            continue;
        }
        if !h.offline.unwrap_or(false)
            && let Some(g) = &online
            && !g.subscriptions.is_empty()
            && !g.subscriptions.contains_key(&topic)
        {
            continue;
        }
        for (qid, off) in broker.offsets.queue_offsets(&h.src_group, &topic) {
            broker.offsets.commit(&h.dest_group, &topic, qid, off);
        }
    }
    Ok(RemotingCommand::success())
}

/// CLEAN_EXPIRED_CONSUMEQUEUE (306): consume-queue files whose messages are all gone from the
/// CommitLog are deleted now instead of at the next retention pass.
pub(crate) fn clean_expired_consume_queue(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let min_phy = i64::try_from(broker.store.min_phy_offset()).unwrap_or(0);
    let mut files = 0usize;
    for q in broker.store.all_queues() {
        match q.delete_expired(min_phy) {
            Ok(n) => files += n,
            Err(e) => {
                return Ok(RemotingCommand::error(
                    ResponseCode::SYSTEM_ERROR,
                    e.to_string(),
                ));
            }
        }
        q.correct_min_offset(min_phy);
    }
    info!(files, min_phy, "cleanExpiredConsumeQueue");
    Ok(RemotingCommand::success())
}

/// DELETE_EXPIRED_COMMITLOG (329): a retention pass now, whatever the hour in `deleteWhen`
/// (Java's `executeDeleteFilesManually`).
pub(crate) fn delete_expired_commit_log(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let store = Arc::clone(&broker.store);
    drop(tokio::task::spawn_blocking(
        move || match crate::store::clean::run_manual(&store) {
            Ok(n) => warn!(files = n, "deleteExpiredCommitLog done"),
            Err(e) => warn!(error = %e, "deleteExpiredCommitLog failed"),
        },
    ));
    Ok(RemotingCommand::success())
}

/// CLEAN_UNUSED_TOPIC (316, `DefaultMessageStore.cleanUnusedTopic`): the ConsumeQueues of
/// topics no longer configured are deleted, except system and LMQ topics.
pub(crate) fn clean_unused_topic(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let mut unused: Vec<String> = broker
        .store
        .all_queues()
        .iter()
        .map(|q| q.topic.clone())
        .filter(|t| {
            broker.topics.get(t).is_none() && !is_system_topic(t) && !crate::store::lmq::is_lmq(t)
        })
        .collect();
    unused.sort();
    unused.dedup();
    let names: Vec<&str> = unused.iter().map(String::as_str).collect();
    match broker.store.delete_topics(&names) {
        Ok(queues) => {
            tracing::info!(
                ?unused,
                queues,
                "cleanUnusedTopic: deleted the queues of unconfigured topics"
            );
            Ok(RemotingCommand::success())
        }
        Err(e) => Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            e.to_string(),
        )),
    }
}

/// POP_ROLLBACK (`exportPopRecord`): Java moves POP records from its RocksDB store to the file
/// store; ours are in the file store already, so there is nothing to move.
pub(crate) fn export_pop_record(
    _broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(java_success())
}

ext_header! {
    /// RESET_MASTER_FLUSH_OFFSET (908).
    pub struct ResetMasterFlushOffsetHeader {
        /// The master's flushed CommitLog offset.
        master_flush_offset: opt i64 = "masterFlushOffset",
    }
}

/// RESET_MASTER_FLUSH_OFFSET (908, `resetMasterFlushOffset`): Java records the value on a slave
/// for its controller-mode truncation; a master ignores it. Our slaves truncate from the HA
/// handshake, so the value is only logged.
pub(crate) fn reset_master_flush_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = ResetMasterFlushOffsetHeader::from_ext_fields(req.ext_fields.as_ref())?;
    if broker.id != 0 {
        info!(offset = ?h.master_flush_offset, "resetMasterFlushOffset on a slave (ignored)");
    }
    Ok(RemotingCommand::success())
}
