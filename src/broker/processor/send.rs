//! SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE and CONSUMER_SEND_MSG_BACK
//! (`broker:processor/SendMessageProcessor.java`, `AbstractSendMessageProcessor.java`).

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use tracing::warn;

use super::FAQ_SUFFIX;
use crate::broker::config_file::ConfigManager as _;
use crate::broker::prom::MessageType;
use crate::broker::topic_config::{
    DLQ_PREFIX, NOT_ALLOWED_SEND_TOPICS, RETRY_PREFIX, SendTopic, validate_topic,
};
use crate::broker::{Broker, SendSettings, schedule, stats_items, timer};
use crate::ha::BrokerRole;
use crate::message::{
    decode_batch, get_property, java_hashmap_order, java_hashmap_order_borrowed, parse_properties,
    parse_properties_borrowed, properties_to_string, properties_to_string_borrowed, put_property,
    put_property_borrowed,
};
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::{PERM_READ, PERM_WRITE};
use crate::remoting::header::broker::ConsumerSendMsgBackRequestHeader;
use crate::remoting::header::send::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use crate::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode, version};
use crate::store::record::MessageRecord;
use crate::store::{FlushDiskType, PutMessage, PutResult, StoreError};

/// `MessageSysFlag.MULTI_TAGS_FLAG`.
const MULTI_TAGS_FLAG: i32 = 0x2;
/// Queues of a DLQ topic (`MixAll.DLQ_NUMS_PER_GROUP`).
const DLQ_NUMS_PER_GROUP: i32 = 1;

fn parse_header(req: &mut RemotingCommand) -> Result<SendMessageRequestHeader, String> {
    let long_names = req.code == RequestCode::SEND_MESSAGE.code()
        || req.code == RequestCode::SEND_REPLY_MESSAGE.code();
    // The send paths read the request's header only through this struct: move, not copy.
    let ext = req.ext_fields.as_mut();
    let parsed = if long_names {
        SendMessageRequestHeader::take_ext_fields(ext)
    } else {
        SendMessageRequestHeaderV2::take_ext_fields(ext).map(SendMessageRequestHeader::from)
    };
    parsed.map_err(|e| e.to_string())
}

/// A response with the region and trace switch every send response carries (`preSend`).
pub(super) fn base_response(
    broker: &Broker,
    code: ResponseCode,
    remark: Option<String>,
) -> RemotingCommand {
    let settings = broker.send_settings();
    // Room for these two and `SendMessageResponseHeader`'s fields: the map never regrows.
    let mut ext = ExtFields::with_capacity(8);
    ext.insert_static("MSG_REGION", settings.region_id.clone());
    ext.insert_static("TRACE_ON", settings.trace_on_text());
    RemotingCommand::response(code, remark).with_ext_fields(ext)
}

/// The low 32 bits of a millisecond clock (ids and seeds only need the fast-moving part).
fn low_u32(v: i64) -> u32 {
    u32::try_from(v.cast_unsigned() & u64::from(u32::MAX)).unwrap_or(0)
}

fn random_queue(n: i32) -> i32 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = u32::from(NEXT.fetch_add(1, Ordering::Relaxed))
        ^ low_u32(crate::store::message_store::now_millis());
    i32::try_from(seed % n.max(1).cast_unsigned()).unwrap_or(0)
}

/// `msgCheck`: permission, topic rules, auto-creation, queue id range. Also says whether the
/// topic was created here (its `topics.json` snapshot number).
fn msg_check(
    broker: &Broker,
    conn: &ConnectionHandle,
    h: &SendMessageRequestHeader,
) -> Result<(SendTopic, Option<u64>), RemotingCommand> {
    let err = |code, remark: String| base_response(broker, code, Some(remark));
    if broker.permission() & PERM_WRITE == 0 && broker.topics.get(&h.topic).is_some_and(|t| t.order)
    {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                broker.config_str("brokerIP1")
            ),
        ));
    }
    if let Some(remark) = validate_topic(&h.topic) {
        return Err(err(ResponseCode::INVALID_PARAMETER, remark));
    }
    if NOT_ALLOWED_SEND_TOPICS.contains(&h.topic.as_str()) {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }
    let mut tc = broker.topics.get_for_send(&h.topic);
    let mut created = None;
    if tc.is_none() {
        if broker.send_settings().auto_create_topic {
            tc = broker
                .topics
                .create_in_send(&h.topic, &h.default_topic, h.default_topic_queue_nums, 0)
                .as_ref()
                .map(SendTopic::from);
        }
        if tc.is_none() && h.topic.starts_with(RETRY_PREFIX) {
            let made = broker.topics.ensure(&h.topic, 1, PERM_WRITE | PERM_READ);
            tc = Some(SendTopic::from(&made));
        }
        if tc.is_some() {
            broker.notify_topics_changed();
            created = Some(broker.topics.config_file().latest());
        }
    }
    let Some(tc) = tc else {
        return Err(err(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "topic[{}] not exist, apply first please!{FAQ_SUFFIX}",
                h.topic
            ),
        ));
    };
    if h.queue_id >= tc.write_queue_nums.max(tc.read_queue_nums) {
        return Err(err(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, {:?} Producer: {}",
                h.queue_id,
                broker.topics.get(&h.topic),
                conn.peer()
            ),
        ));
    }
    if broker.permission() & PERM_WRITE == 0 || tc.perm & PERM_WRITE == 0 {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", h.topic),
        ));
    }
    Ok((tc, created))
}

/// `MessageClientIDSetter.createUniqID`-shaped id: broker IP, pid, time and a counter in hex.
fn create_uniq_id(broker: &Broker) -> String {
    static COUNTER: AtomicU16 = AtomicU16::new(0);
    let mut raw = Vec::with_capacity(16);
    match broker.store_host.ip() {
        std::net::IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
        std::net::IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()[12..]),
    }
    raw.extend_from_slice(
        &u16::try_from(std::process::id() & 0xFFFF)
            .unwrap_or(0)
            .to_be_bytes(),
    );
    raw.extend_from_slice(&(low_u32(broker.started_ms)).to_be_bytes());
    raw.extend_from_slice(&(low_u32(crate::store::message_store::now_millis())).to_be_bytes());
    raw.extend_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    crate::store::record::upper_hex(&raw)
}

/// The properties string the Java broker stores: the client's properties plus MSG_REGION,
/// TRACE_ON, UNIQ_KEY (when missing) and CLUSTER, in Java `HashMap` order.
/// The client's string is parsed once, without copying its pairs.
fn stored_properties(broker: &Broker, settings: &SendSettings, client: &str) -> (String, String) {
    let created: String;
    let mut props = parse_properties_borrowed(client);
    put_property_borrowed(&mut props, "MSG_REGION", &settings.region_id);
    put_property_borrowed(&mut props, "TRACE_ON", settings.trace_on_text());
    let uniq = match props.iter().find(|(k, _)| *k == "UNIQ_KEY") {
        Some((_, u)) => (*u).to_owned(),
        None => {
            created = create_uniq_id(broker);
            put_property_borrowed(&mut props, "UNIQ_KEY", &created);
            created.clone()
        }
    };
    put_property_borrowed(&mut props, "CLUSTER", &broker.cluster);
    java_hashmap_order_borrowed(&mut props);
    (properties_to_string_borrowed(&props), uniq)
}

/// Retry topics past their retry budget go to the group's DLQ (`handleRetryAndDLQ`).
fn retry_or_dlq(
    broker: &Broker,
    req: &RemotingCommand,
    h: &mut SendMessageRequestHeader,
) -> Result<(), RemotingCommand> {
    let Some(group) = h.topic.strip_prefix(RETRY_PREFIX).map(str::to_owned) else {
        return Ok(());
    };
    let Some(g) = broker
        .groups
        .find_or_create(&group, broker.send_settings().auto_create_group)
    else {
        return Err(base_response(
            broker,
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            Some(format!(
                "subscription group not exist, {group} {FAQ_SUFFIX}"
            )),
        ));
    };
    let mut max = g.retry_max_times;
    if req.version >= 121
        && let Some(m) = h.max_reconsume_times
    {
        max = m;
    }
    if h.reconsume_times.unwrap_or(0) > max {
        broker.metrics.record_dlq(&h.topic, &h.producer_group);
        let dlq = format!("{DLQ_PREFIX}{group}");
        let _ = broker
            .topics
            .ensure(&dlq, DLQ_NUMS_PER_GROUP, PERM_WRITE | PERM_READ);
        broker.notify_topics_changed();
        h.topic = dlq;
        h.queue_id = random_queue(DLQ_NUMS_PER_GROUP);
    }
    Ok(())
}

fn store_error_response(broker: &Broker, e: &StoreError) -> RemotingCommand {
    match e {
        StoreError::MessageIllegal(_) | StoreError::PropertiesTooLong(_) => base_response(
            broker,
            ResponseCode::MESSAGE_ILLEGAL,
            Some(format!(
                "the message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
                broker.store.config().max_message_size
            )),
        ),
        StoreError::LmqConsumeQueueNumExceeded(_) => base_response(
            broker,
            ResponseCode::SYSTEM_ERROR,
            Some(crate::store::lmq::LMQ_CONSUME_QUEUE_NUM_EXCEEDED_REMARK.to_owned()),
        ),
        StoreError::DiskFull(_)
        | StoreError::ShutDown
        | StoreError::SlaveMode
        | StoreError::LogicsQueueError => base_response(
            broker,
            ResponseCode::SERVICE_NOT_AVAILABLE,
            Some(service_not_available_remark(broker)),
        ),
        other => base_response(
            broker,
            ResponseCode::SERVICE_NOT_AVAILABLE,
            Some(format!(
                "{} ({other})",
                service_not_available_remark(broker)
            )),
        ),
    }
}

/// Java's SERVICE_NOT_AVAILABLE remark, with `diskUtil()`'s usage figures.
fn service_not_available_remark(broker: &Broker) -> String {
    format!(
        "service not available now. It may be caused by one of the following reasons: the broker's disk is full [{}], messages are put to the slave, message store has been shut down, etc.",
        broker.store.disk().usage().java_text()
    )
}

/// Appends and, under SYNC_FLUSH, waits for the flush; maps the outcome to a response code.
pub(super) async fn put_and_wait(
    broker: &Broker,
    msgs: &[PutMessage],
    batch: bool,
) -> Result<(PutResult, ResponseCode), RemotingCommand> {
    let began = std::time::Instant::now();
    let r = if batch {
        broker.store.put_batch(msgs)
    } else {
        broker.store.put(msgs)
    }
    .map_err(|e| {
        let _ = broker.stats.put_failed.fetch_add(1, Ordering::Relaxed);
        store_error_response(broker, &e)
    })?;
    broker
        .stats
        .latency
        .record_put(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX));
    let _ = broker
        .stats
        .put_messages
        .fetch_add(u64::try_from(msgs.len()).unwrap_or(0), Ordering::Relaxed);
    let _ = broker
        .stats
        .put_bytes
        .fetch_add(u64::try_from(r.wrote_bytes).unwrap_or(0), Ordering::Relaxed);
    if let Some(first) = msgs.first() {
        let topic = first.topic.as_str();
        let n = u64::try_from(msgs.len()).unwrap_or(0);
        let bytes = u64::try_from(r.wrote_bytes).unwrap_or(0);
        if broker.metrics.enabled {
            let kind = MessageType::from_properties(|k| {
                crate::store::record::property(&first.properties, k)
            });
            broker.metrics.record_in(topic, kind, n, bytes);
            if kind == MessageType::Transaction
                && let Some(real) = crate::store::record::property(&first.properties, "REAL_TOPIC")
            {
                broker
                    .metrics
                    .record_half(real, i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        let items = &broker.stats_items;
        items.add(stats_items::TOPIC_PUT_NUMS, topic, n, 1);
        items.add(stats_items::TOPIC_PUT_SIZE, topic, bytes, 1);
        items.add(stats_items::BROKER_PUT_NUMS, &broker.cluster, n, 1);
    }
    // `isWaitStoreMsgOK`: a producer may ask not to wait (property WAIT=false).
    let wait = msgs
        .first()
        .is_none_or(|m| crate::store::record::property(&m.properties, "WAIT") != Some("false"));
    let cfg = broker.store.config();
    let end = r.end_offset();
    let flush = async {
        !wait
            || cfg.flush_disk_type != FlushDiskType::SyncFlush
            || broker
                .store
                .wait_flushed(end, Duration::from_millis(cfg.sync_flush_timeout_ms))
                .await
    };
    let replica = async {
        if !wait || broker.role() != BrokerRole::SyncMaster {
            ResponseCode::SUCCESS
        } else if !broker.ha.is_slave_ok(end) {
            ResponseCode::SLAVE_NOT_AVAILABLE
        } else if broker.ha.wait_replicated(end).await {
            ResponseCode::SUCCESS
        } else {
            ResponseCode::FLUSH_SLAVE_TIMEOUT
        }
    };
    // `CommitLog.handleDiskFlushAndHA`: both waits run together; the replica's status wins.
    let (flushed, replicated) = tokio::join!(flush, replica);
    let code = if replicated != ResponseCode::SUCCESS {
        replicated
    } else if !flushed {
        ResponseCode::FLUSH_DISK_TIMEOUT
    } else {
        ResponseCode::SUCCESS
    };
    Ok((r, code))
}

pub(super) fn success_response(
    broker: &Broker,
    code: ResponseCode,
    msg_id: String,
    queue_id: i32,
    r: &PutResult,
    uniq: Option<String>,
    recall_handle: Option<String>,
) -> RemotingCommand {
    let mut resp = base_response(broker, code, None);
    // `SendMessageResponseHeader`'s fields, in its order, moved in rather than copied
    // through its own map.
    if let Some(ext) = resp.ext_fields.as_mut() {
        ext.insert_static("msgId", msg_id);
        ext.insert_static(
            "queueId",
            crate::remoting::small_int_text(i64::from(queue_id))
                .map_or_else(|| Cow::Owned(queue_id.to_string()), Cow::Borrowed),
        );
        ext.insert_static("queueOffset", r.queue_offset.to_string());
        if let Some(t) = uniq {
            ext.insert_static("transactionId", t);
        }
        if let Some(h) = recall_handle {
            ext.insert_static("recallHandle", h);
        }
    }
    resp
}

/// The recall handle of a message stored in the timer topic (`attachRecallHandle`): its real
/// topic (not a retry topic), this broker, the due time + 1 and its unique id.
fn recall_handle(broker: &Broker, topic: &str, properties: &str) -> Option<String> {
    use crate::store::record::property;
    if topic != timer::TIMER_TOPIC {
        return None;
    }
    let real = property(properties, "REAL_TOPIC").filter(|t| !t.starts_with(RETRY_PREFIX))?;
    let due = property(properties, timer::TIMER_OUT_MS)?
        .parse::<i64>()
        .ok()?;
    let uniq = property(properties, "UNIQ_KEY").unwrap_or_default();
    Some(timer::recall::build(
        real,
        &broker.name,
        &(due + 1).to_string(),
        uniq,
    ))
}

/// Header, checks and queue choice shared by the send paths. A topic created here is on disk
/// before the send goes on, as in Java (which writes `topics.json` inside the create call); the
/// wait is async, the write happens on the file's own thread.
pub(super) async fn prepare(
    broker: &Broker,
    conn: &ConnectionHandle,
    req: &mut RemotingCommand,
) -> Result<(SendMessageRequestHeader, SendTopic), RemotingCommand> {
    let mut h = parse_header(req)
        .map_err(|e| base_response(broker, ResponseCode::SYSTEM_ERROR, Some(e)))?;
    let (tc, created) = msg_check(broker, conn, &h)?;
    if let Some(ticket) = created
        && let Err(e) = broker.topics.persisted(ticket).await
    {
        warn!(topic = %h.topic, error = %e, "auto-created topic not persisted");
    }
    if h.queue_id < 0 {
        h.queue_id = random_queue(tc.write_queue_nums);
    }
    Ok((h, tc))
}

/// SEND_MESSAGE / SEND_MESSAGE_V2.
pub async fn send_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    mut req: RemotingCommand,
) -> Option<RemotingCommand> {
    let (mut h, tc) = match prepare(broker, conn, &mut req).await {
        Ok(v) => v,
        Err(resp) => return Some(resp),
    };
    if let Err(resp) = retry_or_dlq(broker, &req, &mut h) {
        return Some(resp);
    }
    let settings = broker.send_settings();
    let client_props = h.properties.take().unwrap_or_default();
    if settings.reject_transaction
        && get_property(&parse_properties(&client_props), "TRAN_MSG") == Some("true")
    {
        let remark = format!(
            "the broker[{}] sending transaction message is forbidden",
            broker.config_str("brokerIP1")
        );
        return Some(base_response(
            broker,
            ResponseCode::NO_PERMISSION,
            Some(remark),
        ));
    }
    let (properties, uniq) = stored_properties(broker, &settings, &client_props);
    let mut sys_flag = h.sys_flag;
    if tc.multi_tag {
        sys_flag |= MULTI_TAGS_FLAG;
    }
    let (mut topic, mut queue_id, mut properties) =
        (std::mem::take(&mut h.topic), h.queue_id, properties);
    let tx = sys_flag & crate::store::record::TRANSACTION_MASK;
    // `properties` was rebuilt above (no duplicates, no empty values): a scan finds what a
    // parse would.
    let prepared = crate::store::record::property(&properties, "TRAN_MSG") == Some("true")
        && !(h.reconsume_times.unwrap_or(0) > 0 && schedule::delay_level(&properties).is_some());
    if prepared {
        (topic, queue_id, properties, sys_flag) =
            super::transaction::to_half(&topic, queue_id, &properties, sys_flag);
    } else if tx == 0 || tx == 0x8 {
        if let Some(level) = schedule::delay_level(&properties) {
            if let Some(p) = timer::strip_for_delay_level(&properties) {
                properties = p;
            }
            (topic, queue_id, properties) =
                schedule::transform(&topic, queue_id, &properties, level);
        } else {
            let congested = |slot| broker.timer.as_ref().map_or(0, |t| t.congested(slot));
            let now = crate::store::message_store::now_millis();
            match timer::transform(
                &topic,
                queue_id,
                &properties,
                &broker.timer_config,
                now,
                congested,
            ) {
                timer::TimerPut::Keep => {}
                timer::TimerPut::Timer { properties: p } => {
                    (topic, queue_id, properties) = (timer::TIMER_TOPIC.to_owned(), 0, p);
                }
                timer::TimerPut::Refuse { code, remark } => {
                    return Some(base_response(broker, code, Some(remark)));
                }
            }
        }
    }
    let recall = recall_handle(broker, &topic, &properties);
    let msg = PutMessage {
        topic,
        queue_id,
        flag: h.flag,
        body: req.body.clone(),
        properties,
        sys_flag,
        born_timestamp: h.born_timestamp,
        born_host: conn.peer(),
        store_host: broker.store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
    };
    Some(
        match put_and_wait(broker, std::slice::from_ref(&msg), false).await {
            Ok((r, code)) => {
                let msg_id = r.msg_ids.first().cloned().unwrap_or_default();
                success_response(broker, code, msg_id, h.queue_id, &r, Some(uniq), recall)
            }
            Err(resp) => resp,
        },
    )
}

/// SEND_BATCH_MESSAGE: the body holds many messages for one queue; each is stored with its own
/// properties followed by the batch-level ones (5.3.3 `MessageExtEncoder.encode(batch)`).
pub async fn send_batch_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    mut req: RemotingCommand,
) -> Option<RemotingCommand> {
    let (h, tc) = match prepare(broker, conn, &mut req).await {
        Ok(v) => v,
        Err(resp) => return Some(resp),
    };
    if h.topic.len() > 127 {
        return Some(base_response(
            broker,
            ResponseCode::MESSAGE_ILLEGAL,
            Some(format!("message topic length too long {}", h.topic.len())),
        ));
    }
    if h.topic.starts_with(RETRY_PREFIX) {
        return Some(base_response(
            broker,
            ResponseCode::MESSAGE_ILLEGAL,
            Some(format!(
                "batch request does not support retry group {}",
                h.topic
            )),
        ));
    }
    let items = match decode_batch(&req.body) {
        Ok(items) if !items.is_empty() => items,
        Ok(_) => {
            return Some(base_response(
                broker,
                ResponseCode::MESSAGE_ILLEGAL,
                Some("empty batch".into()),
            ));
        }
        Err(e) => {
            return Some(base_response(
                broker,
                ResponseCode::MESSAGE_ILLEGAL,
                Some(e.to_string()),
            ));
        }
    };
    let mut batch_props = parse_properties(h.properties.as_deref().unwrap_or(""));
    put_property(&mut batch_props, "CLUSTER", &broker.cluster);
    java_hashmap_order(&mut batch_props);
    let batch_props = properties_to_string(&batch_props);
    let mut sys_flag = h.sys_flag;
    if tc.multi_tag {
        sys_flag |= MULTI_TAGS_FLAG;
    }
    let msgs: Vec<PutMessage> = items
        .into_iter()
        .map(|item| {
            let mut props = item.properties;
            if !props.is_empty() && !batch_props.is_empty() && !props.ends_with('\u{2}') {
                props.push('\u{2}');
            }
            props.push_str(&batch_props);
            PutMessage {
                topic: h.topic.clone(),
                queue_id: h.queue_id,
                flag: item.flag,
                body: item.body,
                properties: props,
                sys_flag,
                born_timestamp: h.born_timestamp,
                born_host: conn.peer(),
                store_host: broker.store_host,
                reconsume_times: h.reconsume_times.unwrap_or(0),
                prepared_transaction_offset: 0,
            }
        })
        .collect();
    Some(match put_and_wait(broker, &msgs, true).await {
        Ok((r, code)) => success_response(
            broker,
            code,
            r.msg_ids.join(","),
            h.queue_id,
            &r,
            None,
            None,
        ),
        Err(resp) => resp,
    })
}

/// CONSUMER_SEND_MSG_BACK: a message the consumer failed is re-stored in the group's retry
/// topic (or its DLQ once the retry budget is spent). Delay levels are not applied yet: the
/// retry is delivered at once (see FINDINGS).
pub async fn consumer_send_msg_back(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match ConsumerSendMsgBackRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => {
            return Some(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                e.to_string(),
            ));
        }
    };
    let Some(group) = broker
        .groups
        .find_or_create(&h.group, broker.config_bool("autoCreateSubscriptionGroup"))
    else {
        return Some(RemotingCommand::error(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {} {FAQ_SUFFIX}", h.group),
        ));
    };
    // Read exactly the record at the offset the consumer names; a fixed-size window would
    // miss records within 4 MiB of the write position.
    let found = u64::try_from(h.offset)
        .ok()
        .and_then(|o| broker.store.message_at(o))
        .and_then(|b| MessageRecord::decode(&b, false).ok().map(|(r, _)| r));
    let Some(rec) = found else {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        ));
    };
    let max = if req.version >= version::V3_0_11 {
        h.max_reconsume_times.unwrap_or(group.retry_max_times)
    } else {
        group.retry_max_times
    };
    let reconsume = rec.reconsume_times + 1;
    let (topic, queue_nums) = if reconsume > max || h.delay_level < 0 {
        let origin = h.origin_topic.as_deref().unwrap_or_default();
        broker.metrics.record_dlq(origin, &h.group);
        (format!("{DLQ_PREFIX}{}", h.group), DLQ_NUMS_PER_GROUP)
    } else {
        (
            format!("{RETRY_PREFIX}{}", h.group),
            group.retry_queue_nums.max(1),
        )
    };
    let _ = broker
        .topics
        .ensure(&topic, queue_nums, PERM_WRITE | PERM_READ);
    broker.notify_topics_changed();
    let mut props = parse_properties(&rec.properties);
    if get_property(&props, "RETRY_TOPIC").is_none() {
        put_property(&mut props, "RETRY_TOPIC", &rec.topic);
    }
    let origin = h
        .origin_msg_id
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| rec.msg_id());
    if get_property(&props, "ORIGIN_MESSAGE_ID").is_none() {
        put_property(&mut props, "ORIGIN_MESSAGE_ID", &origin);
    }
    let to_dlq = topic.starts_with(DLQ_PREFIX);
    if !to_dlq {
        let level = if h.delay_level == 0 {
            3 + rec.reconsume_times
        } else {
            h.delay_level
        };
        put_property(&mut props, "DELAY", &level.to_string());
    }
    java_hashmap_order(&mut props);
    let mut queue_id = random_queue(queue_nums);
    let mut properties = properties_to_string(&props);
    let mut topic = topic;
    if let Some(level) = schedule::delay_level(&properties).filter(|_| !to_dlq) {
        (topic, queue_id, properties) = schedule::transform(&topic, queue_id, &properties, level);
    }
    let msg = PutMessage {
        topic,
        queue_id,
        flag: rec.flag,
        body: rec.body.clone(),
        properties,
        sys_flag: rec.sys_flag,
        born_timestamp: rec.born_timestamp,
        born_host: rec.born_host,
        store_host: broker.store_host,
        reconsume_times: reconsume,
        prepared_transaction_offset: rec.prepared_transaction_offset,
    };
    Some(
        match put_and_wait(broker, std::slice::from_ref(&msg), false).await {
            Ok(_) => {
                let key = format!(
                    "{}@{}",
                    h.origin_topic.as_deref().unwrap_or_default(),
                    h.group
                );
                broker
                    .stats_items
                    .add(stats_items::SNDBCK_PUT_NUMS, &key, 1, 1);
                RemotingCommand::success()
            }
            Err(resp) => {
                let mut r = resp;
                r.ext_fields = None;
                r
            }
        },
    )
}
