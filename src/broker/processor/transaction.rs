//! Transactional messages (`TransactionalMessageBridge`, `EndTransactionProcessor`): a prepared
//! message is stored as a half message in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with its real topic
//! and queue in properties; END_TRANSACTION commits it (re-stored under its real topic with the
//! COMMIT flag) or rolls it back, and either way records an op message (tag `d`, body
//! `"<half queue offset>,"`) in `RMQ_SYS_TRANS_OP_HALF_TOPIC`. Unresolved half messages are
//! checked back by [`crate::broker::transaction_check`].

use std::sync::Arc;

use crate::broker::Broker;
use crate::message::{
    get_property, java_hashmap_order, parse_properties, properties_to_string, put_property,
};
use crate::net::ConnectionHandle;
use crate::remoting::header::broker::EndTransactionRequestHeader;
use crate::remoting::{RemotingCommand, ResponseCode};
use crate::store::PutMessage;
use crate::store::record::{MessageRecord, TRANSACTION_MASK};

/// Half-message topic (`TransactionalMessageUtil.buildHalfTopic`).
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Op-message topic (`TransactionalMessageUtil.buildOpTopic`).
pub const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// `MessageSysFlag.TRANSACTION_COMMIT_TYPE`.
const COMMIT: i32 = 0x8;
/// `MessageSysFlag.TRANSACTION_ROLLBACK_TYPE`.
const ROLLBACK: i32 = 0xC;

/// Turns a prepared message into its half form (`parseHalfMessageInner`): returns the half
/// topic, queue 0, the properties with `__transactionId__`, `REAL_TOPIC`, `REAL_QID`, and the
/// sys flag with the transaction bits cleared.
#[must_use]
pub fn to_half(
    topic: &str,
    queue_id: i32,
    properties: &str,
    sys_flag: i32,
) -> (String, i32, String, i32) {
    let mut props = parse_properties(properties);
    if let Some(uniq) = get_property(&props, "UNIQ_KEY").map(str::to_owned) {
        put_property(&mut props, "__transactionId__", &uniq);
    }
    put_property(&mut props, "REAL_TOPIC", topic);
    put_property(&mut props, "REAL_QID", &queue_id.to_string());
    java_hashmap_order(&mut props);
    (
        HALF_TOPIC.to_owned(),
        0,
        properties_to_string(&props),
        sys_flag & !TRANSACTION_MASK,
    )
}

fn half_record(broker: &Broker, offset: i64) -> Option<MessageRecord> {
    let off = u64::try_from(offset).ok()?;
    let bytes = broker.store.message_at(off)?;
    MessageRecord::decode(&bytes, false)
        .ok()
        .map(|(r, _)| r)
        .filter(|r| r.topic == HALF_TOPIC)
}

fn op_message(broker: &Broker, half: &MessageRecord) -> PutMessage {
    PutMessage {
        topic: OP_TOPIC.to_owned(),
        queue_id: 0,
        flag: 0,
        body: format!("{},", half.queue_offset).into_bytes().into(),
        properties: "TAGS\u{1}d\u{2}".to_owned(),
        sys_flag: 0,
        born_timestamp: crate::store::message_store::now_millis(),
        born_host: broker.store_host,
        store_host: broker.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The committed message (`endMessageTransaction`).
fn committed(half: &MessageRecord, h: &EndTransactionRequestHeader) -> Option<PutMessage> {
    let mut props = parse_properties(&half.properties);
    let topic = get_property(&props, "REAL_TOPIC")?.to_owned();
    let queue_id = get_property(&props, "REAL_QID")?.parse().ok()?;
    props.retain(|(k, _)| k != "REAL_TOPIC" && k != "REAL_QID" && k != "TRAN_MSG");
    Some(PutMessage {
        topic,
        queue_id,
        flag: half.flag,
        body: half.body.clone(),
        properties: properties_to_string(&props),
        sys_flag: (half.sys_flag & !TRANSACTION_MASK) | COMMIT,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host: half.store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: h.commit_log_offset,
    })
}

/// END_TRANSACTION.
pub async fn end_transaction(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match EndTransactionRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => {
            return Some(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                e.to_string(),
            ));
        }
    };
    if h.commit_or_rollback != COMMIT && h.commit_or_rollback != ROLLBACK {
        return None;
    }
    let Some(half) = half_record(broker, h.commit_log_offset) else {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        ));
    };
    if half.property("PGROUP") != Some(h.producer_group.as_str()) {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "The producer group wrong",
        ));
    }
    if half.queue_offset != h.tran_state_table_offset {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "The transaction state table offset wrong",
        ));
    }
    let mut batch = Vec::with_capacity(1);
    let commit = h.commit_or_rollback == COMMIT;
    let real_topic = half.property("REAL_TOPIC").unwrap_or_default().to_owned();
    if commit {
        let Some(msg) = committed(&half, &h) else {
            return Some(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                "half message lacks REAL_TOPIC/REAL_QID",
            ));
        };
        batch.push(msg);
    }
    for msg in batch {
        if let Err(e) = broker.store.put(std::slice::from_ref(&msg)) {
            return Some(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                e.to_string(),
            ));
        }
    }
    let op = op_message(broker, &half);
    if let Err(e) = broker.store.put(std::slice::from_ref(&op)) {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            e.to_string(),
        ));
    }
    broker
        .metrics
        .record_end_transaction(&real_topic, commit, half.born_timestamp);
    Some(RemotingCommand::success())
}
