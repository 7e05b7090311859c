//! Admin requests used by mqadmin and the dashboard (`broker:processor/AdminBrokerProcessor.java`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::client::parse_body;
use crate::broker::Broker;
use crate::broker::pop::pop_retry_topic;
use crate::broker::subscription_group::SubscriptionGroupConfig;
use crate::broker::topic_config::{
    NOT_ALLOWED_SEND_TOPICS, TBW102, data_version_node, is_system_topic, topic_config_node,
    validate_topic,
};
use crate::config::properties;
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::TopicConfig;
use crate::remoting::body::value_string;
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::{JsonWriter, Style};
use crate::remoting::header::broker::{
    ConsumerGroupRequestHeader, CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader,
    GetConsumeStatsRequestHeader, ProducerGroupRequestHeader, TopicRequestHeader,
};
use crate::remoting::json_tree::{Key, Node};
use crate::remoting::{ExtFields, RemotingCommand, ResponseCode, version};

/// What Java's `createResponseCommand` leaves in `remark` when a handler only sets the code.
const UNSET_REMARK: &str = "not set any response code";

pub(super) fn java_success() -> RemotingCommand {
    RemotingCommand::response(ResponseCode::SUCCESS, Some(UNSET_REMARK.to_owned()))
}

/// A double as fastjson writes it (`0.0`, `1.5`).
pub(super) fn java_double(d: f64) -> String {
    let mut w = JsonWriter::new(Style::Default);
    w.double(d);
    w.finish()
}

pub(super) fn json_body(text: String) -> RemotingCommand {
    RemotingCommand::success().with_body(text.into_bytes())
}

/// Keys a remote UPDATE_BROKER_CONFIG may never change: paths and the black list itself
/// (CVE-2023-33246 class; Java's `configBlackList` plus every path key).
const BROKER_BLOCKED_KEYS: &[&str] = &[
    "configBlackList",
    "brokerConfigPath",
    "rocketmqHome",
    "storePathRootDir",
    "storePathCommitLog",
    "namesrvAddr",
    "listenPort",
    "brokerIP1",
    "brokerIP2",
];

/// UPDATE_AND_CREATE_TOPIC.
pub(crate) fn update_and_create_topic(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = CreateTopicRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    if let Some(remark) = validate_topic(&h.topic) {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            remark,
        ));
    }
    if h.topic == TBW102
        || NOT_ALLOWED_SEND_TOPICS.contains(&h.topic.as_str())
        || h.topic.starts_with("rmq_sys_")
    {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    if !(0..8).contains(&h.perm) || h.read_queue_nums < 0 || h.write_queue_nums < 0 {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "invalid perm {} or queue nums for topic {}",
                h.perm, h.topic
            ),
        ));
    }
    let mut tc = TopicConfig::new(&h.topic);
    tc.read_queue_nums = h.read_queue_nums;
    tc.write_queue_nums = h.write_queue_nums;
    tc.perm = h.perm;
    tc.topic_filter_type = h.topic_filter_type.unwrap_or_else(|| "SINGLE_TAG".into());
    tc.topic_sys_flag = h.topic_sys_flag.unwrap_or(0);
    tc.order = h.order.unwrap_or(false);
    let existing = broker.topics.get(&h.topic);
    tc.attributes_json = match alter_attributes(
        existing
            .as_ref()
            .map_or("{}", |t| t.attributes_json.as_str()),
        h.attributes.as_deref().unwrap_or_default(),
    ) {
        Ok(a) => a,
        Err(remark) => {
            return Ok(RemotingCommand::error(
                ResponseCode::INVALID_PARAMETER,
                remark,
            ));
        }
    };
    if existing.as_ref() != Some(&tc) {
        broker.topics.upsert(tc);
        broker.notify_topics_changed();
    }
    Ok(java_success())
}

/// Applies `AttributeParser` modifications (`+key=value` adds or alters, `-key` deletes, comma
/// separated) to a topic's attributes JSON; the stored keys carry no sign, as in Java.
fn alter_attributes(current: &str, modification: &str) -> Result<String, String> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(current).unwrap_or_default();
    for kv in modification.split(',').filter(|s| !s.is_empty()) {
        if let Some((k, v)) = kv.split_once('=') {
            let Some(key) = k.strip_prefix('+') else {
                return Err(format!("add/alter attribute format is wrong: {k}"));
            };
            let _ = map.insert(key.to_owned(), serde_json::Value::String(v.to_owned()));
        } else if let Some(key) = kv.strip_prefix('-') {
            let _ = map.remove(key);
        } else {
            return Err(format!("delete attribute format is wrong: {kv}"));
        }
    }
    Ok(serde_json::Value::Object(map).to_string())
}

/// DELETE_TOPIC_IN_BROKER (`AdminBrokerProcessor.deleteTopic`): the topic, and the POP retry
/// topics of the groups that consumed it (`clearRetryTopicWhenDeleteTopic`), lose their
/// config, ConsumeQueues and offsets. CommitLog records age out with retention.
pub(crate) fn delete_topic(
    broker: &Arc<Broker>,
    c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    if h.topic.trim().is_empty() {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            "The specified topic is blank.",
        ));
    }
    if broker.config_bool("validateSystemTopicWhenUpdateTopic")
        && is_system_topic(
            &h.topic,
            &broker_system_topics(broker)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    let mut doomed = vec![h.topic.clone()];
    if broker.config_bool("clearRetryTopicWhenDeleteTopic") {
        for group in broker.offsets.groups_of_topic(&h.topic) {
            for v2 in [true, false] {
                let retry = pop_retry_topic(&h.topic, &group, v2);
                if broker.topics.get(&retry).is_some() && !doomed.contains(&retry) {
                    doomed.push(retry);
                }
            }
        }
    }
    for topic in &doomed {
        tracing::info!(topic = %topic, caller = %c.peer(), "deleting topic in broker");
        let _ = broker.topics.delete(topic);
        let _ = broker.offsets.remove_topic(topic);
    }
    let names: Vec<&str> = doomed.iter().map(String::as_str).collect();
    if let Err(e) = broker.store.delete_topics(&names) {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            e.to_string(),
        ));
    }
    let _ = crate::broker::config_file::ConfigManager::persist(&broker.offsets);
    Ok(RemotingCommand::success())
}

/// The names this broker's `TopicConfigManager` adds to Java's system topic set at start.
fn broker_system_topics(broker: &Broker) -> Vec<String> {
    let mut names = vec![
        broker.cluster.clone(),
        broker.name.clone(),
        format!("{}_REPLY_TOPIC", broker.cluster),
    ];
    if broker.config_bool("traceTopicEnable") {
        names.push(broker.config_str("msgTraceTopicName"));
    }
    names
}

/// GET_ALL_TOPIC_CONFIG: `TopicConfigAndMappingSerializeWrapper`.
pub(crate) fn get_all_topic_config(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let dv = broker.topics.data_version();
    let Node::Object(mut pairs) = broker.topics.wrapper_node() else {
        return Ok(java_success());
    };
    pairs.insert(
        1,
        (
            Key::Str("mappingDataVersion".into()),
            data_version_node(&dv),
        ),
    );
    pairs.push((
        Key::Str("topicQueueMappingDetailMap".into()),
        Node::Object(Vec::new()),
    ));
    pairs.push((
        Key::Str("topicQueueMappingInfoMap".into()),
        Node::Object(Vec::new()),
    ));
    Ok(json_body(Node::Object(pairs).to_compact()))
}

/// GET_TOPIC_CONFIG (5.x): `TopicConfigAndQueueMapping`, or TOPIC_NOT_EXIST.
pub(crate) fn get_topic_config(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    Ok(match broker.topics.get(&h.topic) {
        Some(tc) => json_body(topic_config_node(&tc).to_compact()),
        None => RemotingCommand::error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        ),
    })
}

/// `"[ 0 days, 0 hours, 5 minutes, 3 seconds ]"` (`BrokerStatsManager` runtime text).
fn runtime_text(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `"Total : 100.0 GiB, Free : 50.0 GiB."`.
fn capacity_text(path: &std::path::Path) -> String {
    match crate::store::mapped_file::disk_space(path) {
        Some(d) => {
            #[allow(clippy::cast_precision_loss)]
            let gib = |b: u64| b as f64 / 1_073_741_824.0;
            format!(
                "Total : {:.1} GiB, Free : {:.1} GiB.",
                gib(d.total),
                gib(d.available)
            )
        }
        None => "Total : 0.0 GiB, Free : 0.0 GiB.".into(),
    }
}

/// GET_BROKER_RUNTIME_INFO: the `KVTable` mqadmin clusterList/brokerStatus and the exporter
/// read, with the key set of a 5.3.3 broker. Thread-pool figures are 0: requests are not queued.
pub(crate) fn get_broker_runtime_info(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    use crate::broker::stats::Counter;
    let stats = &broker.stats;
    let put = stats.put_messages.load(Ordering::Relaxed);
    let got = stats.got_messages.load(Ordering::Relaxed);
    let store = &broker.store;
    let root = store.config().root.clone();
    let earliest = store
        .all_queues()
        .iter()
        .filter_map(|q| store.store_time_at(&q.topic, q.queue_id, q.min_offset()))
        .min()
        .unwrap_or(-1);
    let disk_ratio = crate::store::mapped_file::disk_used_ratio(&root).unwrap_or(0.0);
    let now = crate::store::message_store::now_millis();
    let put_bytes = stats.put_bytes.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let avg_size = if put == 0 {
        0.0
    } else {
        put_bytes as f64 / put as f64
    };
    let mut entries: Vec<(String, String)> = vec![
        ("bootTimestamp".into(), broker.started_ms.to_string()),
        ("runtime".into(), runtime_text(now - broker.started_ms)),
        (
            "putMessageEntireTimeMax".into(),
            stats.latency.put_max().to_string(),
        ),
        ("putMessageTimesTotal".into(), put.max(1).to_string()),
        (
            "putMessageFailedTimes".into(),
            stats.put_failed.load(Ordering::Relaxed).to_string(),
        ),
        ("putMessageSizeTotal".into(), put_bytes.to_string()),
        (
            "putMessageDistributeTime".into(),
            stats.latency.distribute_text(),
        ),
        (
            "putMessageAverageSize".into(),
            crate::broker::stats::java_double_text(avg_size),
        ),
        ("dispatchMaxBuffer".into(), "0".into()),
        (
            "getMessageEntireTimeMax".into(),
            stats.latency.get_max().to_string(),
        ),
        ("putTps".into(), stats.tps_text(Counter::Put)),
        ("getFoundTps".into(), stats.tps_text(Counter::Found)),
        ("getMissTps".into(), stats.tps_text(Counter::Miss)),
        ("getTotalTps".into(), stats.total_tps_text()),
        ("getTransferredTps".into(), stats.tps_text(Counter::Got)),
        (
            "putLatency99".into(),
            format!("{:.2}", stats.latency.put_percentile(0.99)),
        ),
        (
            "putLatency999".into(),
            format!("{:.2}", stats.latency.put_percentile(0.999)),
        ),
        ("commitLogDiskRatio".into(), format!("{disk_ratio:.2}")),
        (
            format!(
                "commitLogDiskRatio_{}",
                store.config().commit_log_dir().display()
            ),
            format!("{disk_ratio:.2}"),
        ),
        ("consumeQueueDiskRatio".into(), format!("{disk_ratio:.2}")),
        (
            "commitLogMinOffset".into(),
            store.min_phy_offset().to_string(),
        ),
        (
            "commitLogMaxOffset".into(),
            store.max_phy_offset().to_string(),
        ),
        ("brokerActive".into(), "true".into()),
        (
            "brokerVersionDesc".into(),
            version::desc(version::CURRENT).into(),
        ),
        ("brokerVersion".into(), version::CURRENT.to_string()),
        ("msgPutTotalYesterdayMorning".into(), "0".into()),
        ("msgPutTotalTodayMorning".into(), "0".into()),
        ("msgPutTotalTodayNow".into(), put.to_string()),
        ("msgGetTotalYesterdayMorning".into(), "0".into()),
        ("msgGetTotalTodayMorning".into(), "0".into()),
        ("msgGetTotalTodayNow".into(), got.to_string()),
        (
            "dispatchBehindBytes".into(),
            store
                .max_phy_offset()
                .saturating_sub(store.dispatched_offset())
                .to_string(),
        ),
        ("pageCacheLockTimeMills".into(), "0".into()),
        ("earliestMessageTimeStamp".into(), earliest.to_string()),
        ("startAcceptSendRequestTimeStamp".into(), "0".into()),
        ("timerReadBehind".into(), "0".into()),
        ("timerOffsetBehind".into(), "0".into()),
        ("timerCongestNum".into(), "0".into()),
        ("timerEnqueueTps".into(), "0.0".into()),
        ("timerDequeueTps".into(), "0.0".into()),
        (
            "remainTransientStoreBufferNumbs".into(),
            i32::MAX.to_string(),
        ),
        (
            "remainHowManyDataToFlush".into(),
            crate::broker::latency::human_bytes(
                store
                    .max_phy_offset()
                    .saturating_sub(store.flushed_offset()),
            ),
        ),
        ("commitLogDirCapacity".into(), capacity_text(&root)),
    ];
    use crate::broker::request_pools::Pool;
    for (name, pool) in [
        ("send", Pool::Send),
        ("pull", Pool::Pull),
        ("litePull", Pool::LitePull),
        ("query", Pool::Query),
        ("ack", Pool::Ack),
    ] {
        let f = broker.pools.figures(pool);
        entries.push((format!("{name}ThreadPoolQueueSize"), f.size.to_string()));
        entries.push((
            format!("{name}ThreadPoolQueueCapacity"),
            f.capacity.to_string(),
        ));
        entries.push((
            format!("{name}ThreadPoolQueueHeadWaitTimeMills"),
            f.head_wait_ms.to_string(),
        ));
    }
    let f = broker.pools.figures(Pool::Transaction);
    entries.push(("EndTransactionQueueSize".into(), f.size.to_string()));
    entries.push((
        "EndTransactionThreadPoolQueueCapacity".into(),
        f.capacity.to_string(),
    ));
    let text = crate::remoting::body::simple::kv_table_json(
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok(json_body(text))
}

/// The object-keyed `offsetTable` fastjson writes for `Map<MessageQueue, …>`: entries are
/// `{mq}:{…}` with no comma between key and value handled by the writer, so it is built here.
pub(super) fn object_keyed_table(entries: Vec<(String, String)>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    out
}

pub(super) fn mq_key(broker_name: &str, queue_id: i32, topic: &str) -> String {
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object()
        .field_str("brokerName", broker_name)
        .field_num("queueId", i64::from(queue_id))
        .field_str("topic", topic)
        .end_object();
    w.finish()
}

/// GET_TOPIC_STATS_INFO: `TopicStatsTable` with object-valued keys.
pub(crate) fn get_topic_stats_info(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let Some(tc) = broker.topics.get(&h.topic) else {
        return Ok(RemotingCommand::error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    };
    let mut entries = Vec::new();
    for qid in 0..tc.write_queue_nums.max(0) {
        let q = broker.store.queue(&h.topic, qid);
        let (min, max) = q
            .as_ref()
            .map_or((0, 0), |q| (q.min_offset(), q.max_offset()));
        let last = max
            .checked_sub(1)
            .and_then(|o| broker.store.store_time_at(&h.topic, qid, o));
        let mut v = JsonWriter::new(Style::Default);
        v.begin_object()
            .field_num("lastUpdateTimestamp", last.unwrap_or(0))
            .field_num("maxOffset", i64::try_from(max).unwrap_or(0))
            .field_num("minOffset", i64::try_from(min).unwrap_or(0))
            .end_object();
        entries.push((mq_key(&broker.name, qid, &h.topic), v.finish()));
    }
    let tps = super::admin_ops::topic_put_tps(broker, &h.topic);
    Ok(json_body(format!(
        "{{\"offsetTable\":{},\"topicPutTps\":{}}}",
        object_keyed_table(entries),
        java_double(tps)
    )))
}

/// GET_CONSUME_STATS: `ConsumeStats` for a group (one topic, or every topic it has offsets or
/// subscriptions on).
pub(crate) fn get_consume_stats(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = GetConsumeStatsRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    // Java: the group's topics from the offset table, narrowed to its subscriptions when the
    // group is online; an explicit topic wins.
    let topics: Vec<String> = match h.topic.filter(|t| !t.is_empty()) {
        Some(t) => vec![t],
        None => {
            let mut t = broker.offsets.topics_of_group(&h.consumer_group);
            if let Some(g) = broker.clients.consumer_group(&h.consumer_group)
                && !g.subscriptions.is_empty()
            {
                t.retain(|topic| g.subscriptions.contains_key(topic));
            }
            t.sort();
            t.dedup();
            t
        }
    };
    let mut entries = Vec::new();
    let mut tps = 0.0;
    for topic in topics {
        let Some(tc) = broker.topics.get(&topic) else {
            continue;
        };
        tps += super::admin_ops::group_get_tps(broker, &h.consumer_group, &topic);
        for qid in 0..tc.read_queue_nums.max(0) {
            let broker_offset = broker
                .store
                .queue(&topic, qid)
                .map_or(0, |q| q.max_offset());
            let consumer_offset = broker
                .offsets
                .query(&h.consumer_group, &topic, qid)
                .unwrap_or(0)
                .max(0);
            let mut v = JsonWriter::new(Style::Default);
            v.begin_object()
                .field_num("brokerOffset", i64::try_from(broker_offset).unwrap_or(0))
                .field_num("consumerOffset", consumer_offset)
                .field_num(
                    "lastTimestamp",
                    u64::try_from(consumer_offset)
                        .ok()
                        .and_then(|o| o.checked_sub(1))
                        .and_then(|o| broker.store.store_time_at(&topic, qid, o))
                        .unwrap_or(0),
                )
                .field_num("pullOffset", consumer_offset)
                .end_object();
            entries.push((mq_key(&broker.name, qid, &topic), v.finish()));
        }
    }
    Ok(json_body(format!(
        "{{\"consumeTps\":{},\"offsetTable\":{}}}",
        java_double(tps),
        object_keyed_table(entries)
    )))
}

fn connection_json(w: &mut JsonWriter, ch: &crate::broker::client_manager::ClientChannel) {
    w.begin_object()
        .field_str("clientAddr", &ch.conn.peer().to_string())
        .field_str("clientId", &ch.client_id)
        .field_str("language", ch.language.map_or("JAVA", |l| l.name()))
        .field_num("version", i64::from(ch.version))
        .end_object();
}

/// GET_CONSUMER_CONNECTION_LIST: `ConsumerConnection`, or CONSUMER_NOT_ONLINE.
pub(crate) fn get_consumer_connection_list(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = ConsumerGroupRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let Some(g) = broker.clients.consumer_group(&h.consumer_group) else {
        return Ok(RemotingCommand::error(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        ));
    };
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object().key("connectionSet").begin_array();
    for ch in g.channels.values() {
        connection_json(&mut w, ch);
    }
    w.end_array();
    w.field_str("consumeFromWhere", &g.consume_from_where)
        .field_str("consumeType", &g.consume_type)
        .field_str("messageModel", &g.message_model)
        .key("subscriptionTable")
        .begin_object();
    for (topic, s) in &g.subscriptions {
        w.key(topic)
            .begin_object()
            .field_bool("classFilterMode", false)
            .key("codeSet")
            .begin_array();
        for c in &s.code_set {
            w.number(i64::from(*c));
        }
        w.end_array()
            .field_str("expressionType", &s.expression_type)
            .field_str("subString", &s.sub_string)
            .field_num("subVersion", s.sub_version)
            .field_str_array("tagsSet", s.tags_set.iter().map(String::as_str))
            .field_str("topic", &s.topic)
            .end_object();
    }
    w.end_object().end_object();
    Ok(json_body(w.finish()))
}

/// GET_PRODUCER_CONNECTION_LIST.
pub(crate) fn get_producer_connection_list(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = ProducerGroupRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let members = broker.clients.producer_group(&h.producer_group);
    if members.is_empty() {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        ));
    }
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object().key("connectionSet").begin_array();
    for ch in &members {
        connection_json(&mut w, ch);
    }
    w.end_array().end_object();
    Ok(json_body(w.finish()))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: body is a `SubscriptionGroupConfig`.
pub(crate) fn update_and_create_subscription_group(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(v) = parse_body(&req.body) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "invalid SubscriptionGroupConfig body",
        ));
    };
    let Some(name) = value_string(v.get("groupName")).filter(|n| !n.is_empty()) else {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            "groupName is blank",
        ));
    };
    broker
        .groups
        .upsert(SubscriptionGroupConfig::from_value(&name, &v));
    Ok(RemotingCommand::success())
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
pub(crate) fn get_all_subscription_group(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(json_body(broker.groups.wrapper_node().to_compact()))
}

/// DELETE_SUBSCRIPTIONGROUP.
pub(crate) fn delete_subscription_group(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = DeleteSubscriptionGroupRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let _existed = broker.groups.delete(&h.group_name);
    if h.clean_offset == Some(true) {
        broker.offsets.remove_group(&h.group_name);
    }
    Ok(RemotingCommand::success())
}

/// The GET_BROKER_CONFIG key set of the Java broker 5.3.3 at its defaults, generated from its
/// jar by `compat-tests/ops/gen_broker_config_defaults.sh`.
const JAVA_BROKER_CONFIG_DEFAULTS: &str = include_str!("../java_broker_config_defaults.properties");

/// GET_BROKER_CONFIG: `key=value` lines, Java's whole key set with our values where we have
/// them; header `version` carries a DataVersion.
pub(crate) fn get_broker_config(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    // Java's whole key set at its defaults, overlaid with every value this broker has.
    let mut all: std::collections::BTreeMap<String, String> = JAVA_BROKER_CONFIG_DEFAULTS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if let Ok(c) = broker.config.read() {
        for (k, v) in c.sorted() {
            let _ = all.insert(k.to_string(), v.to_string());
        }
    }
    let text: String = all.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let mut ext = ExtFields::new();
    ext.insert("version", broker.topics.data_version().to_json());
    Ok(RemotingCommand::success()
        .with_ext_fields(ext)
        .with_body(text.into_bytes()))
}

/// UPDATE_BROKER_CONFIG: known keys with valid values are applied in memory; blocked keys
/// refuse the whole update. Values are never executed or used as paths.
pub(crate) fn update_broker_config(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let text: String = req.body.iter().map(|b| char::from(*b)).collect();
    let Ok(entries) = properties::parse(&text) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "string2Properties error",
        ));
    };
    let black = broker.config_str("configBlackList");
    if entries.iter().any(|e| {
        BROKER_BLOCKED_KEYS.contains(&e.key.as_str()) || black.split(';').any(|b| b == e.key)
    }) {
        return Ok(RemotingCommand::error(
            ResponseCode::NO_PERMISSION,
            "Can not update config in black list.",
        ));
    }
    let mut accepted: Vec<(&str, &str)> = Vec::new();
    if let Ok(mut c) = broker.config.write() {
        for e in &entries {
            match c.set(&e.key, &e.value) {
                Ok(()) => accepted.push((&e.key, &e.value)),
                Err(err) => tracing::warn!(error = %err, "ignored broker config update entry"),
            }
        }
    }
    broker.refresh_send_settings();
    persist_config_updates(broker, &accepted);
    // `AdminBrokerProcessor.updateBrokerConfig` clears the placeholder remark on success.
    Ok(RemotingCommand::success())
}

/// `Configuration.persist`: accepted keys go back to the `-c` file (`brokerConfigPath`), so
/// they survive a restart. Other lines of the operator's file are kept (see
/// [`properties::update_text`]). A broker started without a file has nowhere to write; Java
/// writes `~/store/config/broker.properties`, which no start reads back.
fn persist_config_updates(broker: &Broker, accepted: &[(&str, &str)]) {
    let path = broker.config_str("brokerConfigPath");
    if accepted.is_empty() {
        return;
    }
    if path.is_empty() {
        tracing::warn!("broker config updated in memory only: started without a config file (-c)");
        return;
    }
    let path = std::path::Path::new(&path);
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot read the broker config file; update not persisted");
            return;
        }
    };
    let text = properties::update_text(&old, accepted);
    match crate::broker::config_file::persist(path, &text) {
        Ok(()) => {
            tracing::info!(path = %path.display(), keys = ?accepted.iter().map(|(k, _)| *k).collect::<Vec<_>>(), "broker config update persisted")
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot persist the broker config update")
        }
    }
}

/// QUERY_TOPIC_CONSUME_BY_WHO: `{"groupList":[…]}`.
pub(crate) fn query_topic_consume_by_who(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let mut groups = broker.clients.groups_subscribing(&h.topic);
    groups.extend(broker.offsets.groups_of_topic(&h.topic));
    groups.sort();
    groups.dedup();
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object()
        .field_str_array("groupList", groups.iter().map(String::as_str))
        .end_object();
    Ok(json_body(w.finish()))
}

/// GET_ALL_CONSUMER_OFFSET (slave sync): the `consumerOffset.json` object, compact.
pub(crate) fn get_all_consumer_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let dv = broker.topics.data_version();
    Ok(json_body(broker.offsets.to_node(&dv).to_compact()))
}

/// GET_ALL_DELAY_OFFSET (slave sync): delay progress; empty until delayed delivery exists.
pub(crate) fn get_all_delay_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(json_body(broker.schedule.to_node().to_compact()))
}
