//! SendMessage (`proxy:grpc/v2/producer/SendMessageActivity.java`, local mode): each protobuf
//! message becomes the properties and header of a SEND_MESSAGE request that goes through the
//! broker's own send handler in-process, so FIFO, delay (timer), transactional half messages
//! and every store rule are the remoting path's.

use super::clients::Caller;
use super::pb::{
    Code, Encoding, Message, MessageType, SendMessageRequest, SendMessageResponse, SendResultEntry,
};
use super::status::{Reject, ok, status};
use super::{Endpoint, validate};
use crate::limits::{
    GRPC_MAX_DELAY_MS, GRPC_MAX_MESSAGE_BODY_BYTES, GRPC_MAX_MESSAGE_GROUP_BYTES,
    GRPC_MAX_TRANSACTION_RECOVERY_SECONDS, GRPC_MAX_USER_PROPERTY_BYTES,
    GRPC_USER_PROPERTY_MAX_NUM,
};
use crate::message::{properties_to_string, put_property};
use crate::remoting::header::send::SendMessageRequestHeader;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};
use crate::store::message_store::now_millis;

/// `MessageSysFlag.COMPRESSED_FLAG`.
const COMPRESSED_FLAG: i32 = 0x1;

/// Java `String.hashCode` (over UTF-16 units).
fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Guava `Hashing.consistentHash(long, int)`: the bucket a message group maps to, so a group's
/// messages land in the queue the Java proxy would pick.
#[must_use]
pub fn consistent_hash(input: i64, buckets: i32) -> i32 {
    let mut state = input;
    let mut candidate: i32 = 0;
    loop {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        let bits = i32::try_from((state.cast_unsigned() >> 33) & 0x7FFF_FFFF).unwrap_or(0);
        let next_double = f64::from(bits.wrapping_add(1)) / 2_147_483_648.0;
        let next = f64::from(candidate + 1) / next_double;
        // Java's (int) cast of a double saturates, as does `as`.
        #[allow(clippy::cast_possible_truncation)]
        let next = next as i32;
        if next >= 0 && next < buckets {
            candidate = next;
        } else {
            return candidate;
        }
    }
}

/// The queue a message group is sent to among `write_queues`.
#[must_use]
pub fn queue_for_group(group: &str, write_queues: i32) -> i32 {
    consistent_hash(i64::from(java_hash(group)), write_queues.max(1))
}

fn timestamp_millis(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos / 1_000_000))
}

/// `buildMessageProperty`: the checks and the properties string of one message.
fn properties(caller: &Caller, m: &Message, producer_group: &str) -> Result<String, Reject> {
    let sys = m.system_properties.clone().unwrap_or_default();
    if m.user_properties.len() > GRPC_USER_PROPERTY_MAX_NUM {
        return Err(Reject::new(
            Code::MessagePropertiesTooLarge,
            format!("too many user properties, max is {GRPC_USER_PROPERTY_MAX_NUM}"),
        ));
    }
    let mut size = 0usize;
    let mut props: Vec<(String, String)> = Vec::with_capacity(m.user_properties.len() + 12);
    let mut user: Vec<(&String, &String)> = m.user_properties.iter().collect();
    user.sort();
    for (k, v) in user {
        if super::convert::SYSTEM_PROPERTIES.contains(&k.as_str()) {
            return Err(Reject::new(
                Code::IllegalMessagePropertyKey,
                format!("property is used by system: {k}"),
            ));
        }
        if validate::has_control_char(k) {
            return Err(Reject::new(
                Code::IllegalMessagePropertyKey,
                "the key of property cannot contain control character",
            ));
        }
        if validate::has_control_char(v) {
            return Err(Reject::new(
                Code::IllegalMessagePropertyKey,
                "the value of property cannot contain control character",
            ));
        }
        size += k.len() + v.len();
        props.push((k.clone(), v.clone()));
    }
    let tag = sys.tag.clone().unwrap_or_default();
    validate::tag(&tag)?;
    size += tag.len();
    if !tag.is_empty() {
        put_property(&mut props, "TAGS", &tag);
    }
    for k in &sys.keys {
        validate::key(k)?;
        size += k.len();
    }
    if !sys.keys.is_empty() {
        put_property(&mut props, "KEYS", &sys.keys.join(" "));
    }
    if size > GRPC_MAX_USER_PROPERTY_BYTES {
        return Err(Reject::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "the total size of user property is too large, max is {GRPC_MAX_USER_PROPERTY_BYTES}"
            ),
        ));
    }
    if sys.message_id.trim().is_empty() {
        return Err(Reject::new(
            Code::IllegalMessageId,
            "message id cannot be empty",
        ));
    }
    put_property(&mut props, "UNIQ_KEY", &sys.message_id);
    if sys.message_type == MessageType::Transaction as i32 {
        put_property(&mut props, "TRAN_MSG", "true");
        if let Some(d) = &sys.orphaned_transaction_recovery_duration {
            if d.seconds > GRPC_MAX_TRANSACTION_RECOVERY_SECONDS {
                return Err(Reject::new(
                    Code::BadRequest,
                    format!(
                        "the max transaction recovery time of message is too large, max is {GRPC_MAX_TRANSACTION_RECOVERY_SECONDS}"
                    ),
                ));
            }
            put_property(
                &mut props,
                "CHECK_IMMUNITY_TIME_IN_SECONDS",
                &d.seconds.to_string(),
            );
        }
    }
    if let Some(t) = &sys.delivery_timestamp {
        let at = timestamp_millis(t);
        if at - now_millis() > GRPC_MAX_DELAY_MS {
            return Err(Reject::new(
                Code::IllegalDeliveryTime,
                format!("the max delay time of message is too large, max is {GRPC_MAX_DELAY_MS}"),
            ));
        }
        put_property(&mut props, "TIMER_DELIVER_MS", &at.to_string());
    }
    put_property(
        &mut props,
        "RECONSUME_TIME",
        &sys.delivery_attempt.unwrap_or(0).to_string(),
    );
    put_property(&mut props, "PGROUP", producer_group);
    if let Some(group) = sys.message_group.as_deref().filter(|g| !g.is_empty()) {
        validate::message_group(group, GRPC_MAX_MESSAGE_GROUP_BYTES)?;
        put_property(&mut props, "__SHARDINGKEY", group);
    }
    if let Some(tc) = sys.trace_context.as_deref().filter(|t| !t.is_empty()) {
        put_property(&mut props, "TRACE_CONTEXT", tc);
    }
    let born_host = if sys.born_host.trim().is_empty() {
        caller.remote.to_string()
    } else {
        sys.born_host.clone()
    };
    put_property(&mut props, "__BORNHOST", &born_host);
    if let Some(t) = &sys.born_timestamp {
        put_property(
            &mut props,
            "BORN_TIMESTAMP",
            &timestamp_millis(t).to_string(),
        );
    }
    Ok(properties_to_string(&props))
}

/// `validateMessageBodySize`.
fn check_body(body: &[u8]) -> Result<(), Reject> {
    if body.is_empty() {
        return Err(Reject::new(
            Code::MessageBodyEmpty,
            "message body cannot be empty",
        ));
    }
    if body.len() > GRPC_MAX_MESSAGE_BODY_BYTES {
        return Err(Reject::new(
            Code::MessageBodyTooLarge,
            format!("message body cannot exceed the max {GRPC_MAX_MESSAGE_BODY_BYTES}"),
        ));
    }
    Ok(())
}

/// One message ready for the broker's send handler.
struct Prepared {
    header: SendMessageRequestHeader,
    body: Vec<u8>,
    message_id: String,
    transactional: bool,
}

impl Endpoint {
    /// SendMessage.
    pub(crate) async fn send_message(
        &self,
        caller: &Caller,
        req: SendMessageRequest,
    ) -> SendMessageResponse {
        match self.send(caller, req).await {
            Ok(entries) => {
                let mut codes: Vec<i32> = entries
                    .iter()
                    .map(|e| e.status.as_ref().map_or(0, |s| s.code))
                    .collect();
                codes.sort_unstable();
                codes.dedup();
                let st = match codes.as_slice() {
                    [] => status(Code::InternalServerError, "send status is empty"),
                    [one] => {
                        let c = Code::try_from(*one).unwrap_or(Code::InternalServerError);
                        status(c, c.proto_name())
                    }
                    _ => status(Code::MultipleResults, Code::MultipleResults.proto_name()),
                };
                SendMessageResponse {
                    status: Some(st),
                    entries,
                }
            }
            Err(r) => SendMessageResponse {
                status: Some(r.status()),
                entries: Vec::new(),
            },
        }
    }

    async fn send(
        &self,
        caller: &Caller,
        req: SendMessageRequest,
    ) -> Result<Vec<SendResultEntry>, Reject> {
        let Some(first) = req.messages.first() else {
            return Err(Reject::new(Code::MessageCorrupted, "no message to send"));
        };
        let topic_res = first.topic.clone();
        let topic = validate::topic(topic_res.as_ref())?.to_owned();
        let single_group = (req.messages.len() == 1)
            .then(|| {
                first
                    .system_properties
                    .as_ref()
                    .and_then(|s| s.message_group.clone())
            })
            .flatten()
            .filter(|g| !g.is_empty());
        let mut prepared = Vec::with_capacity(req.messages.len());
        for m in &req.messages {
            if m.topic != topic_res {
                return Err(Reject::new(
                    Code::MessageCorrupted,
                    "topic in message is not same",
                ));
            }
            check_body(&m.body)?;
            let sys = m.system_properties.clone().unwrap_or_default();
            let properties = properties(caller, m, &topic)?;
            let mut sys_flag = 0;
            if sys.body_encoding == Encoding::Gzip as i32 {
                sys_flag |= COMPRESSED_FLAG;
            }
            let transactional = sys.message_type == MessageType::Transaction as i32;
            if transactional {
                sys_flag |= crate::store::record::TRANSACTION_PREPARED;
            }
            let born = sys
                .born_timestamp
                .as_ref()
                .map_or_else(now_millis, timestamp_millis);
            prepared.push(Prepared {
                header: SendMessageRequestHeader {
                    producer_group: topic.clone(),
                    topic: topic.clone(),
                    default_topic: "TBW102".into(),
                    default_topic_queue_nums: 4,
                    queue_id: -1,
                    sys_flag,
                    born_timestamp: born,
                    flag: 0,
                    properties: Some(properties),
                    reconsume_times: Some(sys.delivery_attempt.unwrap_or(0)),
                    unit_mode: Some(false),
                    batch: Some(false),
                    max_reconsume_times: None,
                },
                body: m.body.clone(),
                message_id: sys.message_id.clone(),
                transactional,
            });
        }
        let tc = self.topic_config(&topic)?;
        // `ProducerProcessor.sendMessage`: the first message's type against the topic's
        // (`TopicMessageType.parseFromMessageProperty`), unless it carries TRANSFER_FLAG.
        if let Some(p) = prepared.first() {
            let props =
                crate::message::parse_properties(p.header.properties.as_deref().unwrap_or(""));
            let has = |k: &str| crate::message::get_property(&props, k).is_some();
            if !has("TRANSFER_FLAG") {
                let ty = if crate::message::get_property(&props, "TRAN_MSG") == Some("true") {
                    "TRANSACTION"
                } else if has("DELAY")
                    || has("TIMER_DELIVER_MS")
                    || has("TIMER_DELAY_SEC")
                    || has("TIMER_DELAY_MS")
                {
                    "DELAY"
                } else if has("__SHARDINGKEY") {
                    "FIFO"
                } else {
                    "NORMAL"
                };
                super::route::check_message_type(&super::route::topic_message_type(&tc), ty)?;
            }
        }
        let queue = match &single_group {
            Some(g) => queue_for_group(g, tc.write_queue_nums),
            None => -1,
        };
        let conn = self.client_channel(caller)?;
        let mut entries = Vec::with_capacity(prepared.len());
        let mut chosen = queue;
        for mut p in prepared {
            p.header.queue_id = chosen;
            let cmd = RemotingCommand::request(
                RequestCode::SEND_MESSAGE.code(),
                Some(p.header.to_ext_fields()),
            )
            .with_body(p.body);
            let resp = crate::broker::processor::send::send_message(&self.broker, &conn, cmd)
                .await
                .ok_or_else(|| Reject::new(Code::InternalServerError, "no send response"))?;
            let ext = resp.ext_fields.clone().unwrap_or_default();
            let code = match resp.response_code() {
                Some(ResponseCode::SUCCESS) => Code::Ok,
                Some(ResponseCode::FLUSH_DISK_TIMEOUT) => Code::MasterPersistenceTimeout,
                Some(ResponseCode::FLUSH_SLAVE_TIMEOUT) => Code::SlavePersistenceTimeout,
                Some(ResponseCode::SLAVE_NOT_AVAILABLE) => Code::HaNotAvailable,
                _ => {
                    return Err(Reject::new(
                        Code::InternalServerError,
                        resp.remark.clone().unwrap_or_default(),
                    ));
                }
            };
            let queue_offset = ext
                .get("queueOffset")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            if chosen < 0 {
                chosen = ext
                    .get("queueId")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(-1);
            }
            let transaction_id = ext.get("transactionId").unwrap_or_default().to_owned();
            if code == Code::Ok && p.transactional {
                let offset_msg_id = ext.get("msgId").unwrap_or_default();
                self.transactions.record(
                    &topic,
                    &transaction_id,
                    &p.message_id,
                    offset_msg_id,
                    queue_offset,
                );
            }
            entries.push(if code == Code::Ok {
                SendResultEntry {
                    status: Some(ok()),
                    message_id: p.message_id,
                    transaction_id,
                    offset: queue_offset,
                    recall_handle: ext.get("recallHandle").unwrap_or_default().to_owned(),
                }
            } else {
                SendResultEntry {
                    status: Some(status(
                        code,
                        &format!("send message failed, sendStatus={}", send_status(code)),
                    )),
                    ..SendResultEntry::default()
                }
            });
        }
        Ok(entries)
    }

    /// The in-process channel of a caller (registered or not).
    pub(crate) fn client_channel(
        &self,
        caller: &Caller,
    ) -> Result<crate::net::ConnectionHandle, Reject> {
        self.clients
            .connection(caller)
            .ok_or_else(|| Reject::new(Code::InternalServerError, "client table unavailable"))
    }
}

/// Java's `SendStatus` names for the failure statuses.
fn send_status(code: Code) -> &'static str {
    match code {
        Code::MasterPersistenceTimeout => "FLUSH_DISK_TIMEOUT",
        Code::SlavePersistenceTimeout => "FLUSH_SLAVE_TIMEOUT",
        Code::HaNotAvailable => "SLAVE_NOT_AVAILABLE",
        _ => "SEND_OK",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash() {
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("abc"), 96354);
        assert_eq!(
            java_hash("order-1"),
            "order-1"
                .encode_utf16()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
        );
    }

    /// Guava 32.0.1 `Hashing.consistentHash(key.hashCode(), buckets)` for buckets
    /// 1, 2, 4, 8, 16 and 100 (printed by a Java program against the 5.3.3 broker's Guava).
    #[test]
    fn matches_guava() {
        let table: &[(&str, [i32; 6])] = &[
            ("g0", [0, 0, 0, 0, 0, 0]),
            ("g1", [0, 0, 0, 6, 9, 41]),
            ("order-42", [0, 0, 3, 3, 10, 25]),
            ("", [0, 0, 0, 0, 0, 0]),
            ("abc", [0, 0, 0, 7, 8, 8]),
            ("\u{8ba2}\u{5355}-7", [0, 0, 0, 4, 15, 84]),
            ("a-much-longer-message-group-name", [0, 0, 2, 6, 6, 6]),
        ];
        for (key, want) in table {
            for (b, w) in [1, 2, 4, 8, 16, 100].iter().zip(want) {
                assert_eq!(queue_for_group(key, *b), *w, "{key} over {b}");
            }
        }
    }

    #[test]
    fn guava_consistent_hash() {
        for input in [-5i64, 1, 7, 100, 123_456_789] {
            for buckets in 1..20 {
                let b = consistent_hash(input, buckets);
                assert!((0..buckets).contains(&b));
                // Monotone: growing the buckets moves an input only to the new bucket.
                let b2 = consistent_hash(input, buckets + 1);
                assert!(b2 == b || b2 == buckets);
            }
        }
    }
}
