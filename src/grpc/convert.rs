//! Stored messages as protobuf messages (`proxy:grpc/v2/common/GrpcConverter.buildMessage`):
//! user properties are the ones outside `MessageConst.STRING_HASH_SET`, the rest become system
//! properties; the body carries Java's MD5 digest.

use md5::Digest as _;
use prost_types::Timestamp;

use super::pb::{
    DeadLetterQueue, Digest, DigestType, Encoding, Message, MessageType, Resource, SystemProperties,
};
use crate::message::{get_property, parse_properties};
use crate::store::record::MessageRecord;

/// `MessageConst.STRING_HASH_SET` (5.3.3): property names only the broker and SDKs set. A gRPC
/// send with one of them as a user property is refused; a stored message's are not user
/// properties.
pub const SYSTEM_PROPERTIES: &[&str] = &[
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "POP_CK",
    "POP_CK_OFFSET",
    "1ST_POP_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "DUP_INFO",
    "EXTEND_UNIQ_INFO",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "INNER_MULTI_QUEUE_OFFSET",
    "TIMER_DELAY_MS",
    "TIMER_DELAY_SEC",
    "TIMER_DELIVER_MS",
    "TIMER_ENQUEUE_MS",
    "TIMER_DEQUEUE_MS",
    "TIMER_ROLL_TIMES",
    "TIMER_OUT_MS",
    "TIMER_DEL_UNIQKEY",
    "TIMER_DELAY_LEVEL",
    "__BORNHOST",
    "BORN_TIMESTAMP",
    "DLQ_ORIGIN_TOPIC",
    "DLQ_ORIGIN_MESSAGE_ID",
    "__CRC32#",
];

/// `MessageSysFlag.COMPRESSED_FLAG`.
const COMPRESSED_FLAG: i32 = 0x1;

/// Milliseconds as a protobuf timestamp (`Timestamps.fromMillis`).
#[must_use]
pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// `BinaryUtil.generateMd5`: upper-case hex.
#[must_use]
pub fn md5_hex(body: &[u8]) -> String {
    md5::Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// `GrpcConverter.buildMessage(messageExt)`. `now_ms` serves `TIMER_DELAY_SEC`.
#[must_use]
pub fn to_pb(rec: &MessageRecord, now_ms: i64) -> Message {
    let props = parse_properties(&rec.properties);
    let get = |k: &str| get_property(&props, k);
    let user_properties = props
        .iter()
        .filter(|(k, _)| !SYSTEM_PROPERTIES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let message_type = if get("TRAN_MSG") == Some("true") {
        MessageType::Transaction
    } else if get("DELAY").is_some()
        || get("TIMER_DELIVER_MS").is_some()
        || get("TIMER_DELAY_SEC").is_some()
    {
        MessageType::Delay
    } else if get("__SHARDINGKEY").is_some() {
        MessageType::Fifo
    } else {
        MessageType::Normal
    };
    let delivery = match get("TIMER_DELAY_SEC").and_then(|s| s.parse::<i64>().ok()) {
        Some(sec) => Some(timestamp(now_ms.saturating_add(sec.saturating_mul(1000)))),
        None => get("TIMER_DELIVER_MS")
            .and_then(|s| s.parse::<i64>().ok())
            .map(timestamp),
    };
    let born_host = get("__BORNHOST")
        .filter(|h| !h.trim().is_empty())
        .map_or_else(|| rec.born_host.ip().to_string(), str::to_owned);
    let dead_letter_queue = match (get("DLQ_ORIGIN_TOPIC"), get("DLQ_ORIGIN_MESSAGE_ID")) {
        (Some(topic), Some(id)) => Some(DeadLetterQueue {
            topic: topic.to_owned(),
            message_id: id.to_owned(),
        }),
        _ => None,
    };
    let system = SystemProperties {
        tag: get("TAGS").map(str::to_owned),
        keys: get("KEYS")
            .map(|k| k.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
        message_id: get("UNIQ_KEY").map_or_else(|| rec.msg_id(), str::to_owned),
        body_digest: Some(Digest {
            r#type: DigestType::Md5 as i32,
            checksum: md5_hex(&rec.body),
        }),
        body_encoding: if rec.sys_flag & COMPRESSED_FLAG != 0 {
            Encoding::Gzip as i32
        } else {
            Encoding::Identity as i32
        },
        message_type: message_type as i32,
        born_timestamp: Some(timestamp(rec.born_timestamp)),
        born_host,
        store_timestamp: Some(timestamp(rec.store_timestamp)),
        store_host: rec.store_host.to_string(),
        delivery_timestamp: delivery,
        receipt_handle: get("POP_CK").map(str::to_owned),
        queue_id: rec.queue_id,
        queue_offset: Some(rec.queue_offset),
        invisible_duration: None,
        delivery_attempt: Some(rec.reconsume_times.saturating_add(1)),
        message_group: get("__SHARDINGKEY").map(str::to_owned),
        trace_context: get("TRACE_CONTEXT").map(str::to_owned),
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue,
    };
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: rec.topic.clone(),
        }),
        user_properties,
        system_properties: Some(system),
        body: rec.body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_like_java() {
        assert_eq!(md5_hex(b""), "D41D8CD98F00B204E9800998ECF8427E");
        assert_eq!(md5_hex(b"abc"), "900150983CD24FB0D6963F7D28E17F72");
    }

    #[test]
    fn millis_to_timestamps() {
        let t = timestamp(1_700_000_000_123);
        assert_eq!((t.seconds, t.nanos), (1_700_000_000, 123_000_000));
        let t = timestamp(-1);
        assert_eq!((t.seconds, t.nanos), (-1, 999_000_000));
    }
}
