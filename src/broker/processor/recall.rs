//! RECALL_MESSAGE (370, `broker:processor/RecallMessageProcessor.java`, 5.3): a producer cancels
//! a timer message before it is due with the handle its send response carried. The broker stores
//! a cancel marker in the timer topic, due in the message's slot; the timer service then drops
//! the message. Off unless `recallMessageEnable`, as in Java.

use std::sync::Arc;

use crate::broker::Broker;
use crate::broker::timer::{self, TIMER_DEL_UNIQKEY, TIMER_DELIVER_MS, TIMER_OUT_MS, recall};
use crate::ha::BrokerRole;
use crate::message::{java_hashmap_order, properties_to_string};
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::PERM_WRITE;
use crate::remoting::error::HeaderError;
use crate::remoting::header::send::{RecallMessageRequestHeader, RecallMessageResponseHeader};
use crate::remoting::{ExtFields, RemotingCommand, ResponseCode};
use crate::store::PutMessage;
use crate::store::message_store::now_millis;

/// The marker's tag (`RecallMessageProcessor.RECALL_MESSAGE_TAG`).
const RECALL_MESSAGE_TAG: &str = "_RECALL_TAG_";

fn answer(broker: &Broker, code: ResponseCode, remark: Option<&str>) -> RemotingCommand {
    let mut ext = ExtFields::new();
    ext.insert("MSG_REGION", broker.config_str("regionId"));
    RemotingCommand::response(code, remark.map(str::to_owned)).with_ext_fields(ext)
}

/// RECALL_MESSAGE.
pub(crate) fn recall_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = RecallMessageRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let unavailable = "recall failed, broker service not available";
    if !broker.config_bool("recallMessageEnable") {
        return Ok(answer(
            broker,
            ResponseCode::NO_PERMISSION,
            Some("recall failed, operation is forbidden"),
        ));
    }
    if broker.role() == BrokerRole::Slave {
        return Ok(answer(
            broker,
            ResponseCode::SLAVE_NOT_AVAILABLE,
            Some(unavailable),
        ));
    }
    if broker.permission() & PERM_WRITE == 0
        && !broker.config_bool("allowRecallWhenBrokerNotWriteable")
    {
        return Ok(answer(
            broker,
            ResponseCode::SERVICE_NOT_AVAILABLE,
            Some(unavailable),
        ));
    }
    if broker.topics.get(&h.topic).is_none() {
        let remark = format!("recall failed, the topic[{}] not exist", h.topic);
        return Ok(answer(broker, ResponseCode::TOPIC_NOT_EXIST, Some(&remark)));
    }
    let handle = match recall::decode(&h.recall_handle) {
        Ok(handle) => handle,
        Err(remark) => {
            return Ok(answer(
                broker,
                ResponseCode::ILLEGAL_OPERATION,
                Some(&remark),
            ));
        }
    };
    if handle.topic != h.topic {
        return Ok(answer(
            broker,
            ResponseCode::ILLEGAL_OPERATION,
            Some("recall failed, topic not match"),
        ));
    }
    if handle.broker_name != broker.name {
        return Ok(answer(
            broker,
            ResponseCode::ILLEGAL_OPERATION,
            Some(unavailable),
        ));
    }
    let now = now_millis();
    let due = handle.timestamp.parse::<i64>().unwrap_or(-1);
    let left = due - now;
    if left <= 0 || left >= broker.timer_config.max_delay_sec.saturating_mul(1000) {
        return Ok(answer(
            broker,
            ResponseCode::ILLEGAL_OPERATION,
            Some("recall failed, timestamp invalid"),
        ));
    }
    if !broker.timer_config.enable {
        return Ok(answer(
            broker,
            ResponseCode::SYSTEM_ERROR,
            Some("recall failed, execute error"),
        ));
    }
    // `buildMessage`, then the put hook's timer transform, in one step: the marker is due in the
    // message's slot, so the dequeue side sees it with the message.
    let slot = timer::slot_of(due, broker.timer_config.precision_ms);
    let mut props: Vec<(String, String)> = vec![
        ("TAGS".into(), RECALL_MESSAGE_TAG.into()),
        (
            TIMER_DEL_UNIQKEY.into(),
            format!("{}+{}", handle.topic, handle.message_id),
        ),
        ("UNIQ_KEY".into(), handle.message_id.clone()),
        (TIMER_DELIVER_MS.into(), handle.timestamp.clone()),
        ("BORN_TIMESTAMP".into(), now.to_string()),
        ("TRACE_CONTEXT".into(), String::new()),
    ];
    if let Some(group) = &h.producer_group {
        props.push(("PGROUP".into(), group.clone()));
    }
    props.push((TIMER_OUT_MS.into(), slot.to_string()));
    props.push(("REAL_TOPIC".into(), handle.topic.clone()));
    props.push(("REAL_QID".into(), "0".into()));
    java_hashmap_order(&mut props);
    let marker = PutMessage {
        topic: timer::TIMER_TOPIC.to_owned(),
        queue_id: 0,
        flag: 0,
        body: bytes::Bytes::from_static(b"0"),
        properties: properties_to_string(&props),
        sys_flag: 0,
        born_timestamp: now,
        born_host: conn.peer(),
        store_host: broker.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    if let Err(e) = broker.store.put(std::slice::from_ref(&marker)) {
        tracing::warn!(error = %e, "recall marker not stored");
        return Ok(answer(
            broker,
            ResponseCode::SYSTEM_ERROR,
            Some("recall failed, execute error"),
        ));
    }
    let mut resp = answer(broker, ResponseCode::SUCCESS, None);
    let header = RecallMessageResponseHeader {
        msg_id: handle.message_id,
    };
    if let Some(ext) = resp.ext_fields.as_mut() {
        for (k, v) in header.to_ext_fields().iter() {
            ext.insert(k, v);
        }
    }
    Ok(resp)
}
