//! Admin requests the broker answers by asking its clients (`Broker2Client`): a consumer's
//! running info (`consumerStatus`, the dashboard's client view), consuming one message directly
//! (`consumeMessage` / the dashboard's resend), offsets reset by time (`resetOffsetByTime`,
//! `skipAccumulatedMessage`) and the consumers' own offsets (`getConsumerStatus`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::admin::{json_body, mq_key, object_keyed_table};
use crate::broker::Broker;
use crate::broker::client_manager::ClientChannel;
use crate::ext_header;
use crate::ha::BrokerRole;
use crate::limits::{CALL_CLIENT_TIMEOUT, CONSUMER_STATUS_TIMEOUT};
use crate::net::{ConnectionHandle, NetError};
use crate::remoting::error::HeaderError;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// Offsets reset by an operator that the group has not pulled yet (`ConsumerOffsetManager`'s
/// `resetOffsetTable`), keyed by (topic, group).
#[derive(Debug, Default)]
pub struct ResetOffsets {
    table: Mutex<HashMap<(String, String), HashMap<i32, i64>>>,
}

impl ResetOffsets {
    /// `assignResetOffset`.
    pub fn assign(&self, topic: &str, group: &str, queue_id: i32, offset: i64) {
        if queue_id < 0 || offset < 0 {
            return;
        }
        if let Ok(mut t) = self.table.lock() {
            let _ = t
                .entry((topic.to_owned(), group.to_owned()))
                .or_default()
                .insert(queue_id, offset);
        }
    }

    /// The pending reset of a queue, if any (`hasOffsetReset` / `queryOffset`).
    #[must_use]
    pub fn peek(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let t = self.table.lock().ok()?;
        t.get(&(topic.to_owned(), group.to_owned()))?
            .get(&queue_id)
            .copied()
    }

    /// Takes the pending reset of a queue (`queryThenEraseResetOffset`, on the group's pull).
    pub fn take(&self, topic: &str, group: &str, queue_id: i32) -> Option<i64> {
        let mut t = self.table.lock().ok()?;
        let key = (topic.to_owned(), group.to_owned());
        let per_queue = t.get_mut(&key)?;
        let v = per_queue.remove(&queue_id);
        if per_queue.is_empty() {
            let _ = t.remove(&key);
        }
        v
    }
}

ext_header! {
    /// GET_CONSUMER_RUNNING_INFO (307).
    pub struct GetConsumerRunningInfoRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Client asked.
        client_id: req String = "clientId",
    }
}

ext_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309).
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Client asked.
        client_id: opt String = "clientId",
        /// Offset message id of the message.
        msg_id: opt String = "msgId",
        /// Topic.
        topic: opt String = "topic",
    }
}

ext_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) and RESET_CONSUMER_CLIENT_OFFSET (220).
    pub struct ResetOffsetRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Group.
        group: req String = "group",
        /// One queue, or every queue when negative or absent.
        queue_id: opt i32 = "queueId",
        /// The offset wanted for that queue.
        offset: opt i64 = "offset",
        /// Store time to search; negative means the current max offset.
        timestamp: req i64 = "timestamp",
        /// Deprecated "force" switch, passed on to the clients.
        is_force: req bool = "isForce",
    }
}

ext_header! {
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223) and GET_CONSUMER_STATUS_FROM_CLIENT (221).
    pub struct GetConsumerStatusRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Group.
        group: req String = "group",
        /// Only this client address, when set.
        client_addr: opt String = "clientAddr",
    }
}

fn find_consumer(broker: &Broker, group: &str, client_id: &str) -> Option<ClientChannel> {
    broker
        .clients
        .consumer_group(group)?
        .channels
        .into_values()
        .find(|c| c.client_id == client_id && !c.conn.is_closed())
}

/// `AdminBrokerProcessor.callConsumer`: the request goes to the client as is (same ext fields
/// and body), and the client's answer comes back as the answer.
async fn call_consumer(
    broker: &Broker,
    code: RequestCode,
    req: &RemotingCommand,
    group: &str,
    client_id: &str,
) -> RemotingCommand {
    let Some(ch) = find_consumer(broker, group, client_id) else {
        return RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("The Consumer <{group}> <{client_id}> not online"),
        );
    };
    let mut call = RemotingCommand::request(code.code(), req.ext_fields.clone());
    call.body.clone_from(&req.body);
    match ch.conn.invoke(call, CALL_CLIENT_TIMEOUT).await {
        Ok(resp) => resp,
        Err(e @ NetError::Timeout(_)) => RemotingCommand::error(
            ResponseCode::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        ),
        Err(e) => RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        ),
    }
}

/// GET_CONSUMER_RUNNING_INFO (307), relayed to the client.
pub async fn get_consumer_running_info(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match GetConsumerRunningInfoRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => return Some(header_error(&e)),
    };
    Some(
        call_consumer(
            broker,
            RequestCode::GET_CONSUMER_RUNNING_INFO,
            &req,
            &h.consumer_group,
            &h.client_id,
        )
        .await,
    )
}

fn header_error(e: &HeaderError) -> RemotingCommand {
    RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string())
}

/// The CommitLog offset in an offset message id (`MessageDecoder.decodeMessageId`: address,
/// port, then 8 bytes of offset; 32 hex digits for IPv4, 56 for IPv6).
#[must_use]
pub fn offset_of_msg_id(msg_id: &str) -> Option<u64> {
    if msg_id.len() != 32 && msg_id.len() != 56 {
        return None;
    }
    let tail = msg_id.get(msg_id.len() - 16..)?;
    u64::from_str_radix(tail, 16).ok()
}

/// CONSUME_MESSAGE_DIRECTLY (309): the stored message is attached and the client consumes it.
pub async fn consume_message_directly(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    mut req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h =
        match ConsumeMessageDirectlyResultRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
            Ok(h) => h,
            Err(e) => return Some(header_error(&e)),
        };
    let mut ext = req.ext_fields.take().unwrap_or_default();
    ext.insert("brokerName", broker.name.clone());
    if let Some(tc) = h.topic.as_deref().and_then(|t| broker.topics.get(t)) {
        ext.insert("topicSysFlag", tc.topic_sys_flag.to_string());
    }
    if let Some(g) = broker.groups.get(&h.consumer_group) {
        ext.insert("groupSysFlag", g.group_sys_flag.to_string());
    }
    req.ext_fields = Some(ext);
    if let Some(record) = h
        .msg_id
        .as_deref()
        .and_then(offset_of_msg_id)
        .and_then(|o| broker.store.message_at(o))
    {
        req.body = record;
    }
    let client_id = h.client_id.unwrap_or_default();
    Some(
        call_consumer(
            broker,
            RequestCode::CONSUME_MESSAGE_DIRECTLY,
            &req,
            &h.consumer_group,
            &client_id,
        )
        .await,
    )
}

/// `ConsumeQueue.getOffsetInQueueByTime` (lower boundary): the first offset stored at or after
/// `timestamp`; negative `timestamp` means the max offset.
fn offset_by_time(broker: &Broker, topic: &str, queue_id: i32, timestamp: i64) -> i64 {
    let Some(q) = broker.store.queue(topic, queue_id) else {
        return 0;
    };
    let (min, max) = (q.min_offset(), q.max_offset());
    if timestamp < 0 || max <= min {
        return i64::try_from(if timestamp < 0 { max } else { min }).unwrap_or(0);
    }
    let (mut lo, mut hi) = (min, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let ts = broker
            .store
            .store_time_at(topic, queue_id, mid)
            .unwrap_or(i64::MAX);
        if ts < timestamp {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    i64::try_from(lo).unwrap_or(0)
}

/// INVOKE_BROKER_TO_RESET_OFFSET (222), Java 5's server-side reset (`resetOffsetInner`,
/// `useServerSideResetOffset`): the broker finds each queue's offset for the time (or takes the
/// given offset for one queue), commits it and keeps it as pending: the group's next pull of the
/// queue answers PULL_OFFSET_MOVED ("OFFSET_RESET") with it, QUERY_CONSUMER_OFFSET answers it,
/// and the clients' older offsets are refused until then. Answers `ResetOffsetBody`.
pub async fn reset_offset(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match ResetOffsetRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => return Some(header_error(&e)),
    };
    Some(reset_offset_inner(broker, &h).await)
}

async fn reset_offset_inner(broker: &Broker, h: &ResetOffsetRequestHeader) -> RemotingCommand {
    if broker.role() == BrokerRole::Slave {
        return RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "Can not reset offset in slave broker",
        );
    }
    let Some(tc) = broker.topics.get(&h.topic) else {
        return RemotingCommand::error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("Topic {} does not exist", h.topic),
        );
    };
    if broker.groups.get(&h.group).is_none() {
        return RemotingCommand::error(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("Group {} does not exist", h.group),
        );
    }
    let mut table: Vec<(i32, i64)> = Vec::new();
    match h.queue_id.filter(|q| *q >= 0) {
        Some(qid) => {
            let offset = match h.offset.filter(|o| *o != -1) {
                Some(o) => {
                    let q = broker.store.queue(&h.topic, qid);
                    let min = q
                        .as_ref()
                        .map_or(0, |q| i64::try_from(q.min_offset()).unwrap_or(0));
                    let max = q
                        .as_ref()
                        .map_or(0, |q| i64::try_from(q.max_offset()).unwrap_or(0))
                        - 1;
                    if (min >= 0 && o < min) || o > max + 1 {
                        return RemotingCommand::error(
                            ResponseCode::SYSTEM_ERROR,
                            format!("Target offset {o} not in consume queue range [{min}-{max}]"),
                        );
                    }
                    o
                }
                None => offset_by_time(broker, &h.topic, qid, h.timestamp),
            };
            table.push((qid, offset));
        }
        None => {
            for qid in 0..tc.read_queue_nums.max(0) {
                table.push((qid, offset_by_time(broker, &h.topic, qid, h.timestamp)));
            }
        }
    }
    if table.is_empty() {
        return RemotingCommand::error(ResponseCode::SYSTEM_ERROR, "No queues to reset.");
    }
    for (qid, off) in &table {
        broker.offsets.commit(&h.group, &h.topic, *qid, *off);
        broker.reset_offsets.assign(&h.topic, &h.group, *qid, *off);
    }
    let entries: Vec<(String, String)> = table
        .iter()
        .map(|(q, o)| (mq_key(&broker.name, *q, &h.topic), o.to_string()))
        .collect();
    let body = format!("{{\"offsetTable\":{}}}", object_keyed_table(entries));
    json_body(body)
}

/// The raw JSON value after `"key":` in `text` (a balanced object), for bodies whose
/// object-valued keys serde cannot read.
fn raw_object_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = text.get(start..)?;
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for (i, ch) in rest.char_indices() {
        if in_str {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return rest.get(..=i);
                }
            }
            _ => {}
        }
    }
    None
}

/// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223): each online client of the group is asked for its
/// offsets (GET_CONSUMER_STATUS_FROM_CLIENT); answers `GetConsumerStatusBody` with
/// `consumerTable` keyed by client id.
pub async fn get_consumer_status(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match GetConsumerStatusRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => return Some(header_error(&e)),
    };
    let Some(g) = broker.clients.consumer_group(&h.group) else {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "No Any Consumer online in the consumer group: [{}]",
                h.group
            ),
        ));
    };
    let mut parts = Vec::new();
    for ch in g.channels.into_values() {
        let addr = ch.conn.peer().to_string();
        if h.client_addr
            .as_deref()
            .is_some_and(|a| !a.is_empty() && a != addr)
        {
            continue;
        }
        let call = RemotingCommand::request(
            RequestCode::GET_CONSUMER_STATUS_FROM_CLIENT.code(),
            Some(h.to_ext_fields()),
        );
        let Ok(resp) = ch.conn.invoke(call, CONSUMER_STATUS_TIMEOUT).await else {
            continue;
        };
        let text = std::str::from_utf8(&resp.body).unwrap_or_default();
        if resp.code == ResponseCode::SUCCESS.code()
            && let Some(table) = raw_object_after(text, "messageQueueTable")
        {
            let mut k = crate::remoting::fastjson::JsonWriter::new(
                crate::remoting::fastjson::Style::Default,
            );
            k.string(&ch.client_id);
            parts.push(format!("{}:{table}", k.finish()));
        }
    }
    Some(json_body(format!(
        "{{\"consumerTable\":{{{}}},\"messageQueueTable\":{{}}}}",
        parts.join(",")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_of_msg_id_reads_the_last_eight_bytes() {
        assert_eq!(
            offset_of_msg_id("7F00000100002A9F0000000000001234"),
            Some(0x1234)
        );
        assert_eq!(offset_of_msg_id("7F000001"), None);
        assert_eq!(offset_of_msg_id("7F00000100002A9F00000000000012ZZ"), None);
    }

    #[test]
    fn reset_offsets_are_taken_once() {
        let r = ResetOffsets::default();
        r.assign("T", "G", 1, 5);
        r.assign("T", "G", -1, 5);
        assert_eq!(r.peek("T", "G", 1), Some(5));
        assert_eq!(r.take("T", "G", 1), Some(5));
        assert_eq!(r.take("T", "G", 1), None);
        assert_eq!(r.peek("T", "G", -1), None);
    }

    #[test]
    fn raw_object_after_takes_a_balanced_object() {
        let text =
            r#"{"messageQueueTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5},"x":"}"}"#;
        assert_eq!(
            raw_object_after(text, "messageQueueTable"),
            Some(r#"{{"brokerName":"b","queueId":0,"topic":"T"}:5}"#)
        );
        assert_eq!(raw_object_after(text, "missing"), None);
    }
}
