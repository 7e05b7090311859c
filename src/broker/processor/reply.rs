//! Request-reply (Java's `ReplyMessageProcessor`): SEND_REPLY_MESSAGE (324) and
//! SEND_REPLY_MESSAGE_V2 (325) carry a consumer's answer made with `MessageUtil.createReplyMessage`.
//! The broker pushes it at once to the requesting producer's connection with
//! PUSH_REPLY_MESSAGE_TO_CLIENT (326), found by the REPLY_TO_CLIENT property among the
//! connected producers, and (with `storeReplyMessageEnable`, the default) also stores it in the
//! reply topic `<cluster>_REPLY_TOPIC`.

use std::sync::Arc;

use tracing::warn;

use super::send::{base_response, prepare, put_and_wait, success_response};
use crate::broker::Broker;
use crate::message::{get_property, parse_properties, properties_to_string, put_property};
use crate::net::ConnectionHandle;
use crate::remoting::header::send::SendMessageRequestHeader;
use crate::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use crate::store::PutMessage;

/// `MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT`.
const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// `MessageConst.PROPERTY_PUSH_REPLY_TIME`.
const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";

/// SEND_REPLY_MESSAGE / SEND_REPLY_MESSAGE_V2.
pub async fn send_reply_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    mut req: RemotingCommand,
) -> Option<RemotingCommand> {
    let (h, _tc) = match prepare(broker, conn, &mut req).await {
        Ok(v) => v,
        Err(resp) => return Some(resp),
    };
    let pushed = push_reply(broker, conn, &h, &req).await;
    let mut resp = match &pushed {
        Ok(()) => {
            // Java: msgId "0" and offset 0 "to avoid client decoding exception" when nothing
            // is stored.
            let mut r = base_response(broker, ResponseCode::SUCCESS, None);
            if let Some(ext) = r.ext_fields.as_mut() {
                ext.insert("msgId", "0");
                ext.insert("queueId", h.queue_id.to_string());
                ext.insert("queueOffset", "0");
            }
            r
        }
        Err(remark) => base_response(broker, ResponseCode::SYSTEM_ERROR, Some(remark.clone())),
    };
    if broker.config_bool("storeReplyMessageEnable") {
        let msg = PutMessage {
            topic: h.topic.clone(),
            queue_id: h.queue_id,
            flag: h.flag,
            body: req.body.clone(),
            properties: h.properties.clone().unwrap_or_default(),
            sys_flag: h.sys_flag,
            born_timestamp: h.born_timestamp,
            born_host: conn.peer(),
            store_host: broker.store_host,
            reconsume_times: h.reconsume_times.unwrap_or(0),
            prepared_transaction_offset: 0,
        };
        match put_and_wait(broker, std::slice::from_ref(&msg), false).await {
            Ok((r, _)) => {
                let msg_id = r.msg_ids.first().cloned().unwrap_or_default();
                let stored = success_response(
                    broker,
                    ResponseCode::SUCCESS,
                    msg_id,
                    h.queue_id,
                    &r,
                    None,
                    None,
                );
                // The push decides the code; the store fills in where the reply is.
                if let (Some(dst), Some(src)) = (resp.ext_fields.as_mut(), stored.ext_fields) {
                    for k in ["msgId", "queueId", "queueOffset"] {
                        if let Some(v) = src.get(k) {
                            dst.insert(k, v);
                        }
                    }
                }
            }
            Err(e) => warn!(topic = %h.topic, remark = ?e.remark, "reply message not stored"),
        }
    }
    if pushed.is_ok() {
        resp.remark = None;
    }
    Some(resp)
}

/// `pushReplyMessage`: finds the requester by REPLY_TO_CLIENT and hands it the reply.
async fn push_reply(
    broker: &Broker,
    conn: &ConnectionHandle,
    h: &SendMessageRequestHeader,
    req: &RemotingCommand,
) -> Result<(), String> {
    let mut props = parse_properties(h.properties.as_deref().unwrap_or_default());
    let Some(sender) = get_property(&props, REPLY_TO_CLIENT).map(str::to_owned) else {
        warn!("{REPLY_TO_CLIENT} is null, can not reply message");
        return Err(format!(
            "reply message properties[{REPLY_TO_CLIENT}] is null"
        ));
    };
    let Some(channel) = broker.clients.find_producer_channel(&sender) else {
        let remark = format!("push reply message fail, channel of <{sender}> not found.");
        warn!("{remark}");
        return Err(remark);
    };
    put_property(
        &mut props,
        PUSH_REPLY_TIME,
        &crate::store::message_store::now_millis().to_string(),
    );
    let mut ext = ExtFields::new();
    let born = conn.peer();
    ext.insert("bornHost", format!("{}:{}", born.ip(), born.port()));
    let store = broker.store_host;
    ext.insert("storeHost", format!("{}:{}", store.ip(), store.port()));
    ext.insert(
        "storeTimestamp",
        crate::store::message_store::now_millis().to_string(),
    );
    ext.insert("producerGroup", h.producer_group.clone());
    ext.insert("topic", h.topic.clone());
    ext.insert("defaultTopic", h.default_topic.clone());
    ext.insert(
        "defaultTopicQueueNums",
        h.default_topic_queue_nums.to_string(),
    );
    ext.insert("queueId", h.queue_id.to_string());
    ext.insert("sysFlag", h.sys_flag.to_string());
    ext.insert("bornTimestamp", h.born_timestamp.to_string());
    ext.insert("flag", h.flag.to_string());
    ext.insert("properties", properties_to_string(&props));
    if let Some(r) = h.reconsume_times {
        ext.insert("reconsumeTimes", r.to_string());
    }
    ext.insert("unitMode", h.unit_mode.unwrap_or(false).to_string());
    let push =
        RemotingCommand::request(RequestCode::PUSH_REPLY_MESSAGE_TO_CLIENT.code(), Some(ext))
            .with_body(req.body.clone());
    let failed = || format!("push reply message to {sender}fail.");
    match channel
        .conn
        .invoke(push, crate::limits::REPLY_PUSH_TIMEOUT)
        .await
    {
        Ok(r) if r.code == ResponseCode::SUCCESS.code() => Ok(()),
        Ok(r) => {
            warn!(client = %sender, remark = ?r.remark, "push reply message returned a failure");
            Err(failed())
        }
        Err(e) => {
            warn!(client = %sender, error = %e, "push reply message failed");
            Err(failed())
        }
    }
}
