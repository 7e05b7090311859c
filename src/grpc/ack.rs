//! AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue
//! (`proxy:grpc/v2/consumer/AckMessageActivity.java`, `ChangeInvisibleDurationActivity.java`,
//! `proxy:grpc/v2/producer/ForwardMessageToDLQActivity.java`, `ConsumerProcessor`,
//! `ProducerProcessor.forwardMessageToDeadLetterQueue`, local mode): each receipt handle becomes
//! the header of an ACK_MESSAGE, CHANGE_MESSAGE_INVISIBLETIME or CONSUMER_SEND_MSG_BACK request
//! served by the broker's own handlers in-process, so the revive topic holds what a remoting
//! POP consumer's calls write.

use std::collections::BTreeSet;

use super::clients::Caller;
use super::consume::{check_invisible, duration_ms};
use super::pb::{
    AckMessageRequest, AckMessageResponse, AckMessageResultEntry, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, Code, ForwardMessageToDeadLetterQueueRequest,
    ForwardMessageToDeadLetterQueueResponse, Status,
};
use super::receipt::ReceiptHandle;
use super::status::{Reject, ok, remoting_code, status};
use super::{Endpoint, validate};
use crate::broker::processor::pop_ack::{ack_message_request, change_invisible_time};
use crate::remoting::header::broker::ConsumerSendMsgBackRequestHeader;
use crate::remoting::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// `ReceiptHandle.decode` then `validateReceiptHandle`: an undecodable text is Java's
/// `IllegalArgumentException` (an internal error there), an expired one `INVALID_RECEIPT_HANDLE`.
fn live_handle(text: &str) -> Result<ReceiptHandle, Reject> {
    let h = ReceiptHandle::decode(text)
        .map_err(|e| Reject::new(Code::InternalServerError, e.to_string()))?;
    if h.is_expired() {
        return Err(Reject::new(
            Code::InvalidReceiptHandle,
            "receipt handle is expired",
        ));
    }
    Ok(h)
}

fn topic_and_group<'a>(
    topic: Option<&'a super::pb::Resource>,
    group: Option<&'a super::pb::Resource>,
) -> Result<(&'a str, &'a str), Reject> {
    Ok((validate::topic(topic)?, validate::consumer_group(group)?))
}

impl Endpoint {
    /// Acks one receipt handle (`ConsumerProcessor.ackMessage`).
    pub(crate) fn ack_handle(
        &self,
        caller: &Caller,
        group: &str,
        topic: &str,
        text: &str,
    ) -> Result<(), Reject> {
        let h = live_handle(text)?;
        let header = AckMessageRequestHeader {
            consumer_group: group.to_owned(),
            topic: h.real_topic(topic, group),
            queue_id: h.queue_id,
            extra_info: h.text.clone(),
            offset: h.offset,
        };
        let conn = self.client_channel(caller)?;
        let cmd = RemotingCommand::request(
            RequestCode::ACK_MESSAGE.code(),
            Some(header.to_ext_fields()),
        );
        let resp = ack_message_request(&self.broker, &conn, &cmd);
        if resp.response_code() == Some(ResponseCode::SUCCESS) {
            Ok(())
        } else {
            Err(Reject::new(
                Code::InternalServerError,
                "ack failed: status is abnormal",
            ))
        }
    }

    /// AckMessage, entry by entry (`ackMessageOneByOne`; `enableBatchAck` is off by default).
    pub(crate) fn ack_message(
        &self,
        caller: &Caller,
        req: &AckMessageRequest,
    ) -> AckMessageResponse {
        let (topic, group) = match topic_and_group(req.topic.as_ref(), req.group.as_ref()) {
            Ok(v) => v,
            Err(r) => {
                return AckMessageResponse {
                    status: Some(r.status()),
                    entries: Vec::new(),
                };
            }
        };
        let mut codes = BTreeSet::new();
        let entries: Vec<AckMessageResultEntry> = req
            .entries
            .iter()
            .map(|e| {
                // `getHandleString`: a handle the endpoint renews acks through its newest form.
                let text = self.renewals.remove(
                    &caller.client_id,
                    group,
                    &e.message_id,
                    &e.receipt_handle,
                );
                let text = text.as_deref().unwrap_or(&e.receipt_handle);
                let st = match self.ack_handle(caller, group, topic, text) {
                    Ok(()) => ok(),
                    Err(r) => r.status(),
                };
                let _ = codes.insert(st.code);
                AckMessageResultEntry {
                    message_id: e.message_id.clone(),
                    receipt_handle: e.receipt_handle.clone(),
                    status: Some(st),
                }
            })
            .collect();
        let st = match (codes.len(), codes.first()) {
            (1, Some(c)) => {
                let code = Code::try_from(*c).unwrap_or(Code::InternalServerError);
                status(code, code.proto_name())
            }
            (0, _) => status(Code::InternalServerError, "ack message result is empty"),
            _ => status(Code::MultipleResults, Code::MultipleResults.proto_name()),
        };
        AckMessageResponse {
            status: Some(st),
            entries,
        }
    }

    /// ChangeInvisibleDuration: a new checkpoint for the message, an ack of the old one, and the
    /// new receipt handle.
    pub(crate) fn change_invisible_duration(
        &self,
        caller: &Caller,
        req: &ChangeInvisibleDurationRequest,
    ) -> ChangeInvisibleDurationResponse {
        match self.change_invisible(caller, req) {
            Ok(handle) => ChangeInvisibleDurationResponse {
                status: Some(ok()),
                receipt_handle: handle,
            },
            Err(r) => ChangeInvisibleDurationResponse {
                status: Some(r.status()),
                receipt_handle: String::new(),
            },
        }
    }

    fn change_invisible(
        &self,
        caller: &Caller,
        req: &ChangeInvisibleDurationRequest,
    ) -> Result<String, Reject> {
        let (topic, group) = topic_and_group(req.topic.as_ref(), req.group.as_ref())?;
        let invisible = duration_ms(req.invisible_duration.as_ref());
        check_invisible(invisible, 0)?;
        let text = self.renewals.remove(
            &caller.client_id,
            group,
            &req.message_id,
            &req.receipt_handle,
        );
        let conn = self.client_channel(caller)?;
        self.change_handle(
            &conn,
            group,
            topic,
            text.as_deref().unwrap_or(&req.receipt_handle),
            invisible,
        )
    }

    /// Changes the invisible time of one receipt handle (CHANGE_MESSAGE_INVISIBLETIME through
    /// the broker's handler) and returns the new handle.
    pub(crate) fn change_handle(
        &self,
        conn: &crate::net::ConnectionHandle,
        group: &str,
        topic: &str,
        text: &str,
        invisible: i64,
    ) -> Result<String, Reject> {
        let h = live_handle(text)?;
        let header = ChangeInvisibleTimeRequestHeader {
            consumer_group: group.to_owned(),
            topic: h.real_topic(topic, group),
            queue_id: h.queue_id,
            extra_info: h.text.clone(),
            offset: h.offset,
            invisible_time: invisible,
        };
        let cmd = RemotingCommand::request(
            RequestCode::CHANGE_MESSAGE_INVISIBLETIME.code(),
            Some(header.to_ext_fields()),
        );
        let resp = change_invisible_time(&self.broker, conn, &cmd);
        if resp.response_code() != Some(ResponseCode::SUCCESS) {
            return Err(Reject::new(
                Code::InternalServerError,
                "changeInvisibleDuration failed: status is abnormal",
            ));
        }
        let rh = ChangeInvisibleTimeResponseHeader::from_ext_fields(resp.ext_fields.as_ref())
            .map_err(|e| Reject::new(Code::InternalServerError, e.to_string()))?;
        // The broker's new checkpoint starts at the message's own offset: the new handle says
        // so (Java's proxy keeps the old start offset and drops the commit-log offset, so an
        // ack of a message not first in its batch misses the new checkpoint; see FINDINGS).
        Ok(ReceiptHandle {
            start_offset: h.offset,
            retrieve_time: rh.pop_time,
            invisible_time: rh.invisible_time,
            revive_queue_id: rh.revive_qid,
            text: String::new(),
            ..h
        }
        .encode())
    }

    /// Sends one received message to the group's DLQ (CONSUMER_SEND_MSG_BACK with delay level
    /// -1), then acks it. Returns the broker's answer as a status.
    pub(crate) async fn forward_handle(
        &self,
        caller: &Caller,
        group: &str,
        topic: &str,
        text: &str,
        message_id: &str,
    ) -> Result<Status, Reject> {
        let h = ReceiptHandle::decode(text)
            .map_err(|e| Reject::new(Code::InternalServerError, e.to_string()))?;
        if h.commit_log_offset < 0 {
            return Err(Reject::new(
                Code::InvalidReceiptHandle,
                "commit log offset is empty",
            ));
        }
        let header = ConsumerSendMsgBackRequestHeader {
            offset: h.commit_log_offset,
            group: group.to_owned(),
            delay_level: -1,
            origin_msg_id: Some(message_id.to_owned()),
            origin_topic: Some(h.real_topic(topic, group)),
            unit_mode: None,
            max_reconsume_times: Some(0),
        };
        let conn = self.client_channel(caller)?;
        let cmd = RemotingCommand::request(
            RequestCode::CONSUMER_SEND_MSG_BACK.code(),
            Some(header.to_ext_fields()),
        );
        let resp = crate::broker::processor::send::consumer_send_msg_back(&self.broker, &conn, cmd)
            .await
            .ok_or_else(|| Reject::new(Code::InternalServerError, "no send-back response"))?;
        if resp.response_code() == Some(ResponseCode::SUCCESS) {
            let _ = self.ack_handle(caller, group, topic, text);
        }
        let message = resp.remark.clone().unwrap_or_else(|| resp.code.to_string());
        Ok(status(remoting_code(resp.code), &message))
    }

    /// ForwardMessageToDeadLetterQueue.
    pub(crate) async fn forward_to_dlq(
        &self,
        caller: &Caller,
        req: &ForwardMessageToDeadLetterQueueRequest,
    ) -> ForwardMessageToDeadLetterQueueResponse {
        let st = match topic_and_group(req.topic.as_ref(), req.group.as_ref()) {
            Ok((topic, group)) => {
                let text = self.renewals.remove(
                    &caller.client_id,
                    group,
                    &req.message_id,
                    &req.receipt_handle,
                );
                let text = text.as_deref().unwrap_or(&req.receipt_handle);
                self.forward_handle(caller, group, topic, text, &req.message_id)
                    .await
                    .unwrap_or_else(|r| r.status())
            }
            Err(r) => r.status(),
        };
        ForwardMessageToDeadLetterQueueResponse { status: Some(st) }
    }
}
