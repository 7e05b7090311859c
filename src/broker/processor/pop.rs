//! POP_MESSAGE (`broker:processor/PopMessageProcessor.java`, `PopLongPollingService`): pops
//! messages of a topic (one queue, or all with queue id -1) and of the group's pop retry
//! topic, writes one checkpoint per popped queue to the revive topic, moves the group's offset
//! past them, and answers with the records and the offset infos the client turns into
//! `POP_CK`. Orderly pops (`order=true`) go through `ConsumerOrderInfoManager` instead: no
//! checkpoint, the queue blocked until the batch is acked or invisible no more. A pop that finds nothing waits for an arrival on the topic or its retry topic
//! until `bornTime + pollTime`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::FAQ_SUFFIX;
use crate::broker::Broker;
use crate::broker::client_manager::SubscriptionData;
use crate::broker::config_file::ConfigManager as _;
use crate::broker::pop::records::CheckPoint;
use crate::broker::pop::{
    ExtraInfo, POP_ORDER_REVIVE_QUEUE, PROPERTY_POP_CK, RETRY_PREFIX, pop_retry_topic, retry_mark,
    revive::put_checkpoint,
};
use crate::filter::sql92::{Selector, compile};
use crate::limits::{POP_MAX_HOLD_MS, POP_MAX_MSG_NUMS, POP_TIMEOUT_TOO_MUCH_MS};
use crate::message::{parse_properties, properties_to_string, put_property};
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::PERM_READ;
use crate::remoting::header::pop::{PopMessageRequestHeader, PopMessageResponseHeader};
use crate::remoting::{RemotingCommand, ResponseCode};
use crate::store::GetMessageStatus;
use crate::store::message_store::now_millis;
use crate::store::record::MessageRecord;

/// `ConsumeInitMode.MIN`.
const INIT_MODE_MIN: i32 = 0;

/// How often a held orderly pop looks for its queue to unblock.
const ORDER_RECHECK: Duration = Duration::from_secs(1);

/// A validated pop.
struct Pop {
    h: PopMessageRequestHeader,
    born: i64,
    subscription: SubscriptionData,
    selector: Option<Selector>,
    retry_topic: String,
    read_queue_nums: i32,
}

/// What one pass collected.
#[derive(Default)]
struct Collected {
    messages: Vec<Bytes>,
    start_offset_info: String,
    msg_offset_info: String,
    order_count_info: String,
    rest: i64,
}

impl Collected {
    fn push_info(&mut self, topic: &str, queue_id: i32, start: i64, offsets: &[u64]) {
        let mark = retry_mark(topic);
        if !self.start_offset_info.is_empty() {
            self.start_offset_info.push(';');
            self.msg_offset_info.push(';');
        }
        self.start_offset_info
            .push_str(&format!("{mark} {queue_id} {start}"));
        let list: Vec<String> = offsets.iter().map(u64::to_string).collect();
        self.msg_offset_info
            .push_str(&format!("{mark} {queue_id} {}", list.join(",")));
    }
}

fn err(code: ResponseCode, remark: String) -> RemotingCommand {
    RemotingCommand::error(code, remark)
}

fn check(
    broker: &Broker,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<Pop, RemotingCommand> {
    let h = PopMessageRequestHeader::from_ext_fields(req.ext_fields.as_ref())
        .map_err(|e| err(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    let ip = broker.config_str("brokerIP1");
    let born = match h.born_time {
        Some(b) if b != 0 => b,
        _ => now_millis(),
    };
    if now_millis() - born - h.poll_time > POP_TIMEOUT_TOO_MUCH_MS {
        return Err(err(
            ResponseCode::POLLING_TIMEOUT,
            format!("the broker[{ip}] pop message is timeout too much"),
        ));
    }
    if broker.permission() & PERM_READ == 0 {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{ip}] pop message is forbidden"),
        ));
    }
    if h.max_msg_nums > POP_MAX_MSG_NUMS {
        return Err(err(
            ResponseCode::INVALID_PARAMETER,
            format!("the broker[{ip}] pop message's num is greater than {POP_MAX_MSG_NUMS}"),
        ));
    }
    let Some(tc) = broker.topics.get(&h.topic) else {
        return Err(err(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "topic[{}] not exist, apply first please! {FAQ_SUFFIX}",
                h.topic
            ),
        ));
    };
    if tc.perm & PERM_READ == 0 {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] peeking message is forbidden", h.topic),
        ));
    }
    if h.queue_id >= tc.read_queue_nums {
        return Err(err(
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
        return Err(err(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{}] does not exist, {FAQ_SUFFIX}",
                h.consumer_group
            ),
        ));
    };
    if !group.consume_enable {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let exp = h.exp.as_deref().filter(|e| !e.is_empty()).unwrap_or("*");
    let exp_type = h.exp_type.as_deref().filter(|t| !t.is_empty());
    let subscription = SubscriptionData::build(&h.topic, exp, exp_type, 0);
    let parse_failed = || {
        err(
            ResponseCode::SUBSCRIPTION_PARSE_FAILED,
            "parse the consumer's subscription failed".to_owned(),
        )
    };
    let selector = match subscription.expression_type.as_str() {
        "TAG" => None,
        "SQL92" => Some(compile(&subscription.sub_string).map_err(|_| parse_failed())?),
        _ => return Err(parse_failed()),
    };
    let retry_topic = pop_retry_topic(
        &h.topic,
        &h.consumer_group,
        broker.config_bool("enableRetryTopicV2"),
    );
    Ok(Pop {
        h,
        born,
        subscription,
        selector,
        retry_topic,
        read_queue_nums: tc.read_queue_nums,
    })
}

/// `getPopOffset` / `getInitOffset`: the group's offset, or the initial one (committed when
/// `init`, as Java does once it holds the queue lock).
fn pop_offset(broker: &Broker, p: &Pop, topic: &str, queue_id: i32, init: bool) -> i64 {
    let group = &p.h.consumer_group;
    if let Some(o) = broker
        .offsets
        .query(group, topic, queue_id)
        .filter(|o| *o >= 0)
    {
        return o;
    }
    let q = broker.store.queue(topic, queue_id);
    let (min, max) = q
        .as_ref()
        .map_or((0, 0), |q| (q.min_offset(), q.max_offset()));
    let offset = if p.h.init_mode == INIT_MODE_MIN || topic.starts_with(RETRY_PREFIX) {
        min
    } else if min == 0 {
        // `initPopOffsetByCheckMsgInMem`: the first message is still stored, so start there.
        0
    } else {
        max.saturating_sub(1)
    };
    let offset = i64::try_from(offset).unwrap_or(0);
    if init {
        broker.offsets.commit(group, topic, queue_id, offset);
    }
    offset
}

/// A retried message as Java returns it (`popResponseReturnActualRetryTopic` false): under the
/// consumed topic, with `POP_CK` already set.
fn recode_retry(p: &Pop, rec: &Bytes, extra: impl Fn(i64) -> String) -> Option<Bytes> {
    let (mut m, _) = MessageRecord::decode(rec, false).ok()?;
    let mut props = parse_properties(&m.properties);
    if !props.iter().any(|(k, _)| k == PROPERTY_POP_CK) {
        put_property(&mut props, PROPERTY_POP_CK, &extra(m.queue_offset));
    }
    m.properties = properties_to_string(&props);
    m.topic.clone_from(&p.h.topic);
    let mut out = Vec::with_capacity(m.encoded_len());
    m.encode_into(&mut out);
    Some(Bytes::from(out))
}

/// `popMsgFromQueue`.
fn pop_queue(
    broker: &Broker,
    p: &Pop,
    topic: &str,
    queue_id: i32,
    revive_qid: i32,
    pop_time: i64,
    acc: &mut Collected,
) {
    let group = &p.h.consumer_group;
    let is_retry = topic.starts_with(RETRY_PREFIX);
    let max_in_queue = |b: &Broker| {
        b.store
            .queue(topic, queue_id)
            .map_or(0, |q| i64::try_from(q.max_offset()).unwrap_or(0))
    };
    let Some(_lock) = broker.pop.try_lock(topic, group, queue_id) else {
        let offset = pop_offset(broker, p, topic, queue_id, false);
        acc.rest += max_in_queue(broker) - offset;
        return;
    };
    let mut offset = pop_offset(broker, p, topic, queue_id, true);
    let order = p.h.order == Some(true);
    if order
        && broker.pop.orders.check_block(
            p.h.attempt_id.as_deref(),
            topic,
            group,
            queue_id,
            p.h.invisible_time,
        )
    {
        // The previous orderly batch is still out: nothing from this queue (nor counted).
        return;
    }
    let want = usize::try_from(p.h.max_msg_nums).unwrap_or(0);
    if acc.messages.len() >= want {
        acc.rest += max_in_queue(broker) - offset;
        return;
    }
    let sub = &p.subscription;
    let by_properties = |rec: &Bytes| {
        p.selector.as_ref().is_none_or(|sel| {
            MessageRecord::decode(rec, false)
                .is_ok_and(|(m, _)| sel.matches(&|name| m.property(name).map(str::to_owned)))
        })
    };
    let read = |from: i64| {
        let all = |_: i64| true;
        let tags = |code: i64| sub.matches(code);
        let (filter, record): (&dyn Fn(i64) -> bool, _) = if is_retry {
            (&all, None)
        } else {
            (
                &tags,
                p.selector
                    .is_some()
                    .then_some(&by_properties as &dyn Fn(&Bytes) -> bool),
            )
        };
        broker.store.get_message_filtered(
            topic,
            queue_id,
            from,
            want - acc.messages.len(),
            filter,
            record,
        )
    };
    let mut r = read(offset);
    if matches!(
        r.status,
        GetMessageStatus::OffsetTooSmall
            | GetMessageStatus::OffsetOverflowBadly
            | GetMessageStatus::OffsetFoundNull
    ) {
        // The stored offset is wrong: Java commits the corrected one and reads again.
        offset = i64::try_from(r.next_begin_offset).unwrap_or(0);
        broker.offsets.commit(group, topic, queue_id, offset);
        r = read(offset);
    }
    let next = i64::try_from(r.next_begin_offset).unwrap_or(offset);
    if r.status == GetMessageStatus::Found && !r.messages.is_empty() && order {
        let offsets: Vec<i64> = r
            .queue_offsets
            .iter()
            .map(|o| i64::try_from(*o).unwrap_or(0))
            .collect();
        broker.pop.orders.update(
            p.h.attempt_id.as_deref(),
            retry_mark(topic),
            topic,
            group,
            queue_id,
            pop_time,
            p.h.invisible_time,
            &offsets,
            &mut acc.order_count_info,
        );
        let _ = broker.pop.orders.persist();
        broker.offsets.commit(group, topic, queue_id, offset);
        acc.push_info(topic, queue_id, offset, &r.queue_offsets);
        acc.messages.extend(r.messages.iter().cloned());
        record_out(broker, p, is_retry, &r.messages);
    } else if r.status == GetMessageStatus::Found && !r.messages.is_empty() {
        let ck = CheckPoint {
            start_offset: offset,
            pop_time,
            invisible_time: p.h.invisible_time,
            num: i32::try_from(r.messages.len()).unwrap_or(0),
            queue_id,
            topic: topic.to_owned(),
            cid: group.clone(),
            queue_offset_diff: r
                .queue_offsets
                .iter()
                .map(|o| i32::try_from(i64::try_from(*o).unwrap_or(0) - offset).unwrap_or(0))
                .collect(),
            broker_name: Some(broker.name.clone()),
            ..CheckPoint::default()
        };
        if put_checkpoint(broker, &ck, revive_qid).is_none() {
            acc.rest += max_in_queue(broker) - offset;
            return;
        }
        broker.offsets.commit(group, topic, queue_id, next);
        acc.push_info(topic, queue_id, offset, &r.queue_offsets);
        for rec in &r.messages {
            if is_retry {
                let extra = |qo: i64| {
                    ExtraInfo {
                        ck_offset: offset,
                        pop_time,
                        invisible_time: p.h.invisible_time,
                        revive_qid,
                        retry: retry_mark(topic).to_owned(),
                        broker_name: broker.name.clone(),
                        queue_id,
                        queue_offset: Some(qo),
                    }
                    .to_text()
                };
                if let Some(b) = recode_retry(p, rec, extra) {
                    acc.messages.push(b);
                }
            } else {
                acc.messages.push(rec.clone());
            }
        }
        record_out(broker, p, is_retry, &r.messages);
    } else if matches!(
        r.status,
        GetMessageStatus::NoMatchedMessage
            | GetMessageStatus::OffsetFoundNull
            | GetMessageStatus::MessageWasRemoving
    ) && next > offset
    {
        // Nothing matched the filter: the offset moves past what was skipped (Java's `addCkMock`).
        broker.offsets.commit(group, topic, queue_id, next);
    }
    acc.rest += i64::try_from(r.max_offset).unwrap_or(0) - next;
}

/// `rocketmq_messages_out_total` / `rocketmq_throughput_out_total` for one queue's records,
/// under the requested topic (`PopMessageProcessor.popMsgFromQueue`).
fn record_out(broker: &Broker, p: &Pop, is_retry: bool, records: &[Bytes]) {
    let bytes: usize = records.iter().map(Bytes::len).sum();
    broker.metrics.record_out(
        &p.h.topic,
        &p.h.consumer_group,
        Some(is_retry),
        u64::try_from(records.len()).unwrap_or(0),
        u64::try_from(bytes).unwrap_or(0),
    );
}

/// Every readable queue of a topic, from queue `start` on.
fn pop_topic(
    broker: &Broker,
    p: &Pop,
    topic: &str,
    start: i32,
    revive_qid: i32,
    pop_time: i64,
    acc: &mut Collected,
) {
    let Some(tc) = broker.topics.get(topic) else {
        return;
    };
    let n = tc.read_queue_nums.max(0);
    for i in 0..n {
        pop_queue(broker, p, topic, (start + i) % n, revive_qid, pop_time, acc);
    }
}

/// One pass over the retry topic and the topic (`processRequest` after the checks). Orderly
/// pops read no retry topic and write no checkpoint (revive queue 999).
fn pop_once(broker: &Broker, p: &Pop) -> (Collected, i32, i64) {
    let order = p.h.order == Some(true);
    let n = i32::try_from(broker.config_i64("reviveQueueNum")).unwrap_or(8);
    let revive_qid = if order {
        POP_ORDER_REVIVE_QUEUE
    } else {
        broker.pop.next_revive_qid(n)
    };
    let rand = broker.pop.random_percent();
    let need_retry = !order && i64::from(rand) < broker.config_i64("popFromRetryProbability");
    let pop_time = now_millis();
    let mut acc = Collected::default();
    if need_retry {
        pop_topic(
            broker,
            p,
            &p.retry_topic,
            rand,
            revive_qid,
            pop_time,
            &mut acc,
        );
    }
    if p.h.queue_id < 0 {
        pop_topic(
            broker,
            p,
            &p.h.topic,
            rand % p.read_queue_nums.max(1),
            revive_qid,
            pop_time,
            &mut acc,
        );
    } else {
        pop_queue(
            broker,
            p,
            &p.h.topic,
            p.h.queue_id,
            revive_qid,
            pop_time,
            &mut acc,
        );
    }
    let want = usize::try_from(p.h.max_msg_nums).unwrap_or(0);
    if !order && !need_retry && acc.messages.len() < want {
        pop_topic(
            broker,
            p,
            &p.retry_topic,
            rand,
            revive_qid,
            pop_time,
            &mut acc,
        );
    }
    (acc, revive_qid, pop_time)
}

fn answer(
    p: &Pop,
    acc: Collected,
    revive_qid: i32,
    pop_time: i64,
    code: ResponseCode,
) -> RemotingCommand {
    let found = code == ResponseCode::SUCCESS;
    let header = PopMessageResponseHeader {
        pop_time,
        invisible_time: p.h.invisible_time,
        revive_qid,
        rest_num: acc.rest.max(0),
        start_offset_info: Some(acc.start_offset_info),
        msg_offset_info: Some(acc.msg_offset_info),
        order_count_info: (p.h.order == Some(true)).then_some(acc.order_count_info),
    };
    let remark = if found {
        "FOUND"
    } else {
        "NO_MESSAGE_IN_QUEUE"
    };
    let resp = RemotingCommand::response(code, Some(remark.to_owned()))
        .with_ext_fields(header.to_ext_fields());
    if found {
        let mut body = Vec::with_capacity(acc.messages.iter().map(Bytes::len).sum());
        for m in &acc.messages {
            body.extend_from_slice(m);
        }
        resp.with_body(body)
    } else {
        resp
    }
}

/// POP_MESSAGE.
pub async fn pop_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let p = match check(broker, conn, &req) {
        Ok(p) => p,
        Err(resp) => return Some(resp),
    };
    let wait_ms = (p.born + p.h.poll_time - now_millis()).clamp(0, POP_MAX_HOLD_MS);
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
    let topic_arrivals = broker.pop.notifier(&p.h.topic);
    let retry_arrivals = broker.pop.notifier(&p.retry_topic);
    let mut slot = None;
    loop {
        let on_topic = topic_arrivals.notified();
        let on_retry = retry_arrivals.notified();
        tokio::pin!(on_topic);
        tokio::pin!(on_retry);
        on_topic.as_mut().enable();
        on_retry.as_mut().enable();
        let b = Arc::clone(broker);
        let (acc, revive_qid, pop_time) = pop_once(&b, &p);
        if !acc.messages.is_empty() {
            if acc.rest > 0 {
                // More is waiting: wake the other held pops of the topic (Java's
                // `notifyMessageArriving` when `restNum > 0`).
                broker.pop.notify(&p.h.topic);
            }
            return Some(answer(&p, acc, revive_qid, pop_time, ResponseCode::SUCCESS));
        }
        if p.h.poll_time <= 0 || tokio::time::Instant::now() >= deadline || conn.is_closed() {
            return Some(answer(
                &p,
                acc,
                revive_qid,
                pop_time,
                ResponseCode::POLLING_TIMEOUT,
            ));
        }
        if slot.is_none() {
            slot = broker.holds.try_hold();
            if slot.is_none() {
                return Some(answer(
                    &p,
                    acc,
                    revive_qid,
                    pop_time,
                    ResponseCode::POLLING_FULL,
                ));
            }
        }
        // An orderly queue unblocks when its batch's invisible time passes, which no arrival
        // announces: orderly pops look again every second (Java schedules a wake-up at the
        // lock-free time, `ConsumerOrderInfoLockManager`).
        let wake = if p.h.order == Some(true) {
            deadline.min(tokio::time::Instant::now() + ORDER_RECHECK)
        } else {
            deadline
        };
        tokio::select! {
            () = &mut on_topic => {}
            () = &mut on_retry => {}
            () = tokio::time::sleep_until(wake) => {}
        }
    }
}
