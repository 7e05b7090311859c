//! NOTIFICATION (`broker:processor/NotificationProcessor.java`): whether a POP of the group
//! would find messages in the topic or its pop retry topic, held like a pop until something
//! arrives or `bornTime + pollTime`. The Java proxy uses it; the remoting push consumer does not.

use std::sync::Arc;
use std::time::Duration;

use super::FAQ_SUFFIX;
use crate::broker::Broker;
use crate::broker::pop::pop_retry_topic;
use crate::limits::POP_MAX_HOLD_MS;
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::PERM_READ;
use crate::remoting::header::pop::{NotificationRequestHeader, NotificationResponseHeader};
use crate::remoting::{RemotingCommand, ResponseCode};
use crate::store::message_store::now_millis;

fn err(code: ResponseCode, remark: String) -> RemotingCommand {
    RemotingCommand::error(code, remark)
}

/// `hasMsgFromQueue`: the group's pop offset is behind the queue's end (and, orderly, the
/// queue is not blocked).
fn has_msg_in_queue(
    broker: &Broker,
    h: &NotificationRequestHeader,
    topic: &str,
    queue_id: i32,
) -> bool {
    if h.order == Some(true)
        && broker.pop.orders.check_block(
            h.attempt_id.as_deref(),
            &h.topic,
            &h.consumer_group,
            queue_id,
            0,
        )
    {
        return false;
    }
    let Some(q) = broker.store.queue(topic, queue_id) else {
        return false;
    };
    let offset = broker
        .offsets
        .query(&h.consumer_group, topic, queue_id)
        .filter(|o| *o >= 0)
        .unwrap_or_else(|| i64::try_from(q.min_offset()).unwrap_or(0));
    i64::try_from(q.max_offset()).unwrap_or(0) > offset
}

fn has_msg_in_topic(broker: &Broker, h: &NotificationRequestHeader, topic: &str) -> bool {
    broker
        .topics
        .get(topic)
        .is_some_and(|tc| (0..tc.read_queue_nums).any(|q| has_msg_in_queue(broker, h, topic, q)))
}

fn has_msg(broker: &Broker, h: &NotificationRequestHeader, retry_topic: &str) -> bool {
    let in_topic = if h.queue_id < 0 {
        has_msg_in_topic(broker, h, &h.topic)
    } else {
        has_msg_in_queue(broker, h, &h.topic, h.queue_id)
    };
    in_topic || has_msg_in_topic(broker, h, retry_topic)
}

fn answer(has_msg: bool, polling_full: bool) -> RemotingCommand {
    let header = NotificationResponseHeader {
        has_msg,
        polling_full,
    };
    RemotingCommand::success().with_ext_fields(header.to_ext_fields())
}

/// NOTIFICATION.
pub async fn notification(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match NotificationRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(e) => return Some(err(ResponseCode::SYSTEM_ERROR, e.to_string())),
    };
    let ip = broker.config_str("brokerIP1");
    if broker.permission() & PERM_READ == 0 {
        return Some(err(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{ip}] peeking message is forbidden"),
        ));
    }
    let Some(tc) = broker.topics.get(&h.topic) else {
        return Some(err(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "topic[{}] not exist, apply first please! {FAQ_SUFFIX}",
                h.topic
            ),
        ));
    };
    if tc.perm & PERM_READ == 0 {
        return Some(err(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] peeking message is forbidden", h.topic),
        ));
    }
    if h.queue_id >= tc.read_queue_nums {
        return Some(err(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                tc.read_queue_nums,
                conn.peer()
            ),
        ));
    }
    let Some(group) = broker.groups.find_or_create(
        &h.consumer_group,
        broker.config_bool("autoCreateSubscriptionGroup"),
    ) else {
        return Some(err(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{}] does not exist, {FAQ_SUFFIX}",
                h.consumer_group
            ),
        ));
    };
    if !group.consume_enable {
        return Some(err(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let retry_topic = pop_retry_topic(
        &h.topic,
        &h.consumer_group,
        broker.config_bool("enableRetryTopicV2"),
    );
    let born = h.born_time.filter(|b| *b != 0).unwrap_or_else(now_millis);
    let wait_ms = (born + h.poll_time - now_millis()).clamp(0, POP_MAX_HOLD_MS);
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
    let on_topic = broker.pop.notifier(&h.topic);
    let on_retry = broker.pop.notifier(&retry_topic);
    let mut slot = None;
    loop {
        let a = on_topic.notified();
        let b = on_retry.notified();
        tokio::pin!(a);
        tokio::pin!(b);
        a.as_mut().enable();
        b.as_mut().enable();
        if has_msg(broker, &h, &retry_topic) {
            return Some(answer(true, false));
        }
        if h.poll_time <= 0 || tokio::time::Instant::now() >= deadline || conn.is_closed() {
            return Some(answer(false, false));
        }
        if slot.is_none() {
            slot = broker.holds.try_hold();
            if slot.is_none() {
                return Some(answer(false, true));
            }
        }
        tokio::select! {
            () = &mut a => {}
            () = &mut b => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
