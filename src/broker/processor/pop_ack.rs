//! ACK_MESSAGE, BATCH_ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME
//! (`broker:processor/AckMessageProcessor.java`, `ChangeInvisibleTimeProcessor.java`): acks are
//! written to the revive topic queue named in the message's `POP_CK`; a change of invisible
//! time writes a new one-message checkpoint and then acks the old one. Orderly messages
//! (revive queue 999) are acked and delayed in `ConsumerOrderInfoManager` instead.

use std::sync::Arc;

use base64_bitset::decode_bitset;
use serde_json::Value;

use super::FAQ_SUFFIX;
use crate::broker::Broker;
use crate::broker::config_file::ConfigManager as _;
use crate::broker::pop::records::{Ack, CheckPoint, ack_message};
use crate::broker::pop::revive::put_checkpoint;
use crate::broker::pop::{ExtraInfo, POP_ORDER_REVIVE_QUEUE, real_topic, revive_topic};
use crate::net::ConnectionHandle;
use crate::remoting::header::pop::{
    AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use crate::remoting::{RemotingCommand, ResponseCode};
use crate::store::message_store::now_millis;

fn err(code: ResponseCode, remark: String) -> RemotingCommand {
    RemotingCommand::error(code, remark)
}

/// The queue checks both handlers share: topic known, queue readable; the queue's offsets.
fn queue_bounds(
    broker: &Broker,
    conn: &ConnectionHandle,
    topic: &str,
    queue_id: i32,
) -> Result<(i64, i64), RemotingCommand> {
    let Some(tc) = broker.topics.get(topic) else {
        return Err(err(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please! {FAQ_SUFFIX}"),
        ));
    };
    if queue_id < 0 || queue_id >= tc.read_queue_nums {
        return Err(err(
            ResponseCode::MESSAGE_ILLEGAL,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                tc.read_queue_nums,
                conn.peer()
            ),
        ));
    }
    Ok(broker.store.queue(topic, queue_id).map_or((0, 0), |q| {
        (
            i64::try_from(q.min_offset()).unwrap_or(0),
            i64::try_from(q.max_offset()).unwrap_or(0),
        )
    }))
}

/// Checks a revive queue id taken from a client's extra info. Java writes to whatever queue it
/// names; this broker keeps the revive topic to its `reviveQueueNum` queues.
fn check_revive_qid(broker: &Broker, qid: i32) -> Result<(), RemotingCommand> {
    let n = broker.config_i64("reviveQueueNum");
    if qid < 0 || i64::from(qid) >= n {
        return Err(err(
            ResponseCode::MESSAGE_ILLEGAL,
            format!("reviveQid {qid} in extraInfo is not one of the {n} revive queues"),
        ));
    }
    Ok(())
}

/// Stores an ack record; a store failure is logged, as Java's `handlePutMessageResult` does.
fn put_ack(broker: &Broker, ack: &Ack, invisible_time: i64, revive_qid: i32) -> bool {
    let msg = ack_message(
        ack,
        invisible_time,
        &revive_topic(&broker.cluster),
        revive_qid,
        broker.store_host,
    );
    match broker.store.put(std::slice::from_ref(&msg)) {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, "cannot store a POP ack");
            false
        }
    }
}

/// Takes the pop lock of a queue, waiting for a pop that holds it (`while (!tryLock) {}`; pops
/// hold it only while they read the store).
fn lock_queue<'a>(
    broker: &'a Broker,
    topic: &str,
    group: &str,
    queue_id: i32,
) -> crate::broker::pop::QueueLock<'a> {
    loop {
        if let Some(l) = broker.pop.try_lock(topic, group, queue_id) {
            return l;
        }
        std::thread::yield_now();
    }
}

/// `ackOrderly`: the group's offset moves to the first message of the batch not acked yet.
fn ack_orderly(
    broker: &Broker,
    conn: &ConnectionHandle,
    (topic, group, queue_id): (&str, &str, i32),
    offset: i64,
    pop_time: i64,
    invisible_time: i64,
) -> Option<RemotingCommand> {
    let committed = || broker.offsets.query(group, topic, queue_id).unwrap_or(-1);
    if offset < committed() {
        return None;
    }
    let next = {
        let _lock = lock_queue(broker, topic, group, queue_id);
        let old = committed();
        if offset < old {
            return None;
        }
        let next = broker
            .pop
            .orders
            .commit_and_next(topic, group, queue_id, offset, pop_time);
        if next == -1 {
            return Some(err(
                ResponseCode::MESSAGE_ILLEGAL,
                format!(
                    "offset is illegal, key:{topic}@{group}@{queue_id}, old:{old}, commit:{offset}, next:{next}, {}",
                    conn.peer()
                ),
            ));
        }
        if next > -1 {
            broker.offsets.commit(group, topic, queue_id, next);
        }
        next
    };
    let _ = broker.pop.orders.persist();
    if next > -1
        && !broker
            .pop
            .orders
            .check_block(None, topic, group, queue_id, invisible_time)
    {
        broker.pop.notify(topic);
    }
    None
}

/// ACK_MESSAGE.
pub(crate) fn ack_message_request(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h = match AckMessageRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => return err(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    let (min, max) = match queue_bounds(broker, conn, &h.topic, h.queue_id) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if h.offset < min || h.offset > max {
        return err(
            ResponseCode::NO_MESSAGE,
            format!(
                "offset is illegal, key:{}@{}, commit:{}, store:{min}~{max}",
                h.topic, h.queue_id, h.offset
            ),
        );
    }
    let extra = match ExtraInfo::parse(&h.extra_info) {
        Ok(e) => e,
        Err(e) => return err(ResponseCode::SYSTEM_ERROR, e),
    };
    if extra.revive_qid == POP_ORDER_REVIVE_QUEUE {
        let key = (h.topic.as_str(), h.consumer_group.as_str(), h.queue_id);
        return ack_orderly(
            broker,
            conn,
            key,
            h.offset,
            extra.pop_time,
            extra.invisible_time,
        )
        .unwrap_or_else(RemotingCommand::success);
    }
    if let Err(resp) = check_revive_qid(broker, extra.revive_qid) {
        return resp;
    }
    let ack = Ack {
        ack_offset: h.offset,
        start_offset: extra.ck_offset,
        consumer_group: h.consumer_group,
        topic: h.topic,
        queue_id: h.queue_id,
        pop_time: extra.pop_time,
        broker_name: Some(extra.broker_name),
        ack_offsets: None,
    };
    let _ = put_ack(broker, &ack, extra.invisible_time, extra.revive_qid);
    RemotingCommand::success()
}

/// `BitSetSerializerDeserializer`: a `BitSet` as base64 of `toByteArray` (little-endian bytes).
mod base64_bitset {
    /// The set bit indexes of a base64 `BitSet`; `None` when the text is not base64.
    pub(super) fn decode_bitset(text: &str) -> Option<Vec<usize>> {
        let mut bits = Vec::new();
        let mut acc: u32 = 0;
        let mut n = 0u32;
        let mut byte_index = 0usize;
        for c in text.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => break,
                _ => return None,
            };
            acc = (acc << 6) | u32::from(v);
            n += 6;
            if n >= 8 {
                n -= 8;
                let byte = (acc >> n) & 0xFF;
                for bit in 0..8 {
                    if byte & (1 << bit) != 0 {
                        bits.push(byte_index * 8 + bit);
                    }
                }
                byte_index += 1;
            }
        }
        Some(bits)
    }
}

/// BATCH_ACK_MESSAGE: `{"acks":[BatchAck…],"brokerName":…}`.
pub(crate) fn batch_ack_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> RemotingCommand {
    let body: Option<Value> = serde_json::from_slice(&req.body).ok();
    let acks = body
        .as_ref()
        .and_then(|b| b.get("acks"))
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    let Some(acks) = acks else {
        return RemotingCommand::response(ResponseCode::NO_MESSAGE, None);
    };
    let broker_name = body
        .as_ref()
        .and_then(|b| b.get("brokerName"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    for a in acks {
        let s = |k: &str, alt: &str| a.get(k).or_else(|| a.get(alt)).and_then(Value::as_str);
        let i = |k: &str, alt: &str| a.get(k).or_else(|| a.get(alt)).and_then(Value::as_i64);
        let (Some(group), Some(topic), Some(retry)) =
            (s("c", "consumerGroup"), s("t", "topic"), s("r", "retry"))
        else {
            return err(
                ResponseCode::MESSAGE_ILLEGAL,
                "batch ack without c/t/r".to_owned(),
            );
        };
        let Some(topic) = real_topic(topic, group, retry) else {
            return err(
                ResponseCode::SYSTEM_ERROR,
                "getRetry fail, format is wrong".to_owned(),
            );
        };
        let queue_id = i32::try_from(i("q", "queueId").unwrap_or(0)).unwrap_or(-1);
        let revive_qid = i32::try_from(i("rq", "reviveQueueId").unwrap_or(0)).unwrap_or(-1);
        let start = i("so", "startOffset").unwrap_or(0);
        let pop_time = i("pt", "popTime").unwrap_or(0);
        let invisible = i("it", "invisibleTime").unwrap_or(0);
        let Some(bits) = s("b", "bitSet").map_or(Some(Vec::new()), decode_bitset) else {
            return err(
                ResponseCode::MESSAGE_ILLEGAL,
                "bitSet is not base64".to_owned(),
            );
        };
        if revive_qid != POP_ORDER_REVIVE_QUEUE
            && let Err(resp) = check_revive_qid(broker, revive_qid)
        {
            return resp;
        }
        let Some(q) = broker.store.queue(&topic, queue_id) else {
            // Java: "Illegal topic or queue found when batch ack", skipped.
            continue;
        };
        let (min, max) = (
            i64::try_from(q.min_offset()).unwrap_or(0),
            i64::try_from(q.max_offset()).unwrap_or(0),
        );
        let offsets: Vec<i64> = bits
            .iter()
            .map(|b| start + i64::try_from(*b).unwrap_or(0))
            .filter(|o| *o >= min && *o <= max)
            .collect();
        if offsets.is_empty() {
            continue;
        }
        if revive_qid == POP_ORDER_REVIVE_QUEUE {
            for o in offsets {
                let key = (topic.as_str(), group, queue_id);
                if let Some(resp) = ack_orderly(broker, conn, key, o, pop_time, invisible) {
                    return resp;
                }
            }
            continue;
        }
        let ack = Ack {
            ack_offset: -1,
            start_offset: start,
            consumer_group: group.to_owned(),
            topic,
            queue_id,
            pop_time,
            broker_name: broker_name.clone(),
            ack_offsets: Some(offsets),
        };
        let _ = put_ack(broker, &ack, invisible, revive_qid);
    }
    RemotingCommand::success()
}

/// CHANGE_MESSAGE_INVISIBLETIME: a new checkpoint for the one message, then an ack of the old.
/// Every answer carries the response header (zeros on failure, as Java's
/// `createResponseCommand(ChangeInvisibleTimeResponseHeader.class)`), since the client decodes
/// it before looking at the code.
pub(crate) fn change_invisible_time(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> RemotingCommand {
    let resp = change_invisible_time_inner(broker, conn, req);
    if resp.ext_fields.is_some() {
        return resp;
    }
    resp.with_ext_fields(ChangeInvisibleTimeResponseHeader::default().to_ext_fields())
}

fn change_invisible_time_inner(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> RemotingCommand {
    let h = match ChangeInvisibleTimeRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => return err(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    let (min, max) = match queue_bounds(broker, conn, &h.topic, h.queue_id) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if h.offset < min || h.offset >= max {
        return RemotingCommand::response(ResponseCode::NO_MESSAGE, None);
    }
    let extra = match ExtraInfo::parse(&h.extra_info) {
        Ok(e) => e,
        Err(e) => return err(ResponseCode::SYSTEM_ERROR, e),
    };
    if extra.revive_qid == POP_ORDER_REVIVE_QUEUE {
        return change_orderly(broker, &h, &extra);
    }
    if let Err(resp) = check_revive_qid(broker, extra.revive_qid) {
        return resp;
    }
    let now = now_millis();
    let ck = CheckPoint {
        start_offset: h.offset,
        pop_time: now,
        invisible_time: h.invisible_time,
        num: 1,
        queue_id: h.queue_id,
        topic: h.topic.clone(),
        cid: h.consumer_group.clone(),
        queue_offset_diff: vec![0],
        broker_name: Some(extra.broker_name.clone()),
        ..CheckPoint::default()
    };
    if put_checkpoint(broker, &ck, extra.revive_qid).is_none() {
        return RemotingCommand::response(ResponseCode::SYSTEM_ERROR, None);
    }
    let ack = Ack {
        ack_offset: h.offset,
        start_offset: extra.ck_offset,
        consumer_group: h.consumer_group,
        topic: h.topic,
        queue_id: h.queue_id,
        pop_time: extra.pop_time,
        broker_name: Some(extra.broker_name),
        ack_offsets: None,
    };
    let _ = put_ack(broker, &ack, extra.invisible_time, extra.revive_qid);
    let header = ChangeInvisibleTimeResponseHeader {
        pop_time: now,
        invisible_time: h.invisible_time,
        revive_qid: extra.revive_qid,
    };
    RemotingCommand::success().with_ext_fields(header.to_ext_fields())
}

/// `processChangeInvisibleTimeForOrder`: the message's next visible time in the order info.
fn change_orderly(
    broker: &Broker,
    h: &ChangeInvisibleTimeRequestHeader,
    extra: &ExtraInfo,
) -> RemotingCommand {
    let (topic, group, queue_id) = (h.topic.as_str(), h.consumer_group.as_str(), h.queue_id);
    let committed = || broker.offsets.query(group, topic, queue_id).unwrap_or(-1);
    let zero = || {
        RemotingCommand::success()
            .with_ext_fields(ChangeInvisibleTimeResponseHeader::default().to_ext_fields())
    };
    if h.offset < committed() {
        return zero();
    }
    let next_visible = {
        let _lock = lock_queue(broker, topic, group, queue_id);
        if h.offset < committed() {
            return zero();
        }
        let next_visible = now_millis() + h.invisible_time;
        broker.pop.orders.update_next_visible_time(
            topic,
            group,
            queue_id,
            h.offset,
            extra.pop_time,
            next_visible,
        );
        next_visible
    };
    let _ = broker.pop.orders.persist();
    let header = ChangeInvisibleTimeResponseHeader {
        pop_time: extra.pop_time,
        invisible_time: next_visible - extra.pop_time,
        revive_qid: extra.revive_qid,
    };
    RemotingCommand::success().with_ext_fields(header.to_ext_fields())
}

#[cfg(test)]
mod tests {
    use super::base64_bitset::decode_bitset;

    #[test]
    fn bitset_from_java() {
        // `BitSet` {0, 3} as BitSetSerializerDeserializer writes it.
        assert_eq!(decode_bitset("CQ=="), Some(vec![0, 3]));
        assert_eq!(decode_bitset("AAE="), Some(vec![8]));
        assert_eq!(decode_bitset("!"), None);
    }
}
