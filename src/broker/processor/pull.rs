//! PULL_MESSAGE and LITE_PULL_MESSAGE with long polling (`broker:processor/PullMessageProcessor.java`,
//! `PullRequestHoldService`). The response body is written straight from the mapped CommitLog.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tracing::debug;

use super::FAQ_SUFFIX;
use crate::broker::client_manager::SubscriptionData;
use crate::broker::subscription_group::SubscriptionGroupConfig;
use crate::broker::{Broker, prom, stats_items};
use crate::filter::sql92::{Selector, compile};
use crate::ha::BrokerRole;
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::PERM_READ;
use crate::remoting::header::broker::{PullMessageRequestHeader, PullMessageResponseHeader};
use crate::remoting::{RemotingCommand, ResponseCode, frame};
use crate::store::record::MessageRecord;
use crate::store::{GetMessageResult, GetMessageStatus};

/// `PullSysFlag` bits.
const FLAG_COMMIT_OFFSET: i32 = 0x1;
const FLAG_SUSPEND: i32 = 0x2;
const FLAG_SUBSCRIPTION: i32 = 0x4;

/// Everything a pull needs after validation.
struct Checked {
    header: PullMessageRequestHeader,
    group: SubscriptionGroupConfig,
    subscription: SubscriptionData,
    /// The compiled SQL92 selector of an SQL92 subscription.
    selector: Option<Selector>,
    topic_sys_flag: i32,
}

fn err(code: ResponseCode, remark: String) -> RemotingCommand {
    RemotingCommand::error(code, remark).with_ext_fields(crate::remoting::ExtFields::new())
}

/// The checks of `processRequest` before the store is read.
fn check(
    broker: &Broker,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<Checked, RemotingCommand> {
    let h = PullMessageRequestHeader::from_ext_fields(req.ext_fields.as_ref())
        .map_err(|e| err(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    if broker.permission() & PERM_READ == 0 {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                broker.config_str("brokerIP1")
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
            format!("the topic[{}] pulling message is forbidden", h.topic),
        ));
    }
    if h.queue_id < 0 || h.queue_id >= tc.read_queue_nums {
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
    let subscription = if h.sys_flag & FLAG_SUBSCRIPTION != 0 {
        SubscriptionData::build(
            &h.topic,
            h.subscription.as_deref().unwrap_or("*"),
            h.expression_type.as_deref(),
            h.sub_version,
        )
    } else {
        let Some(info) = broker.clients.consumer_group(&h.consumer_group) else {
            return Err(err(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's group info not exist{FAQ_SUFFIX}"),
            ));
        };
        if !group.consume_broadcast_enable && info.message_model == "BROADCASTING" {
            return Err(err(
                ResponseCode::NO_PERMISSION,
                format!(
                    "the consumer group[{}] can not consume by broadcast way",
                    h.consumer_group
                ),
            ));
        }
        let Some(sub) = info.subscriptions.get(&h.topic).cloned() else {
            return Err(err(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's subscription not exist{FAQ_SUFFIX}"),
            ));
        };
        if sub.sub_version < h.sub_version {
            return Err(err(
                ResponseCode::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest".into(),
            ));
        }
        sub
    };
    if subscription.expression_type != "TAG" && !broker.config_bool("enablePropertyFilter") {
        return Err(err(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "The broker does not support consumer to filter message by {}",
                subscription.expression_type
            ),
        ));
    }
    let selector = if subscription.expression_type == "SQL92" {
        Some(compile(&subscription.sub_string).map_err(|e| {
            err(
                ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                format!("parse the consumer's subscription failed: {e}"),
            )
        })?)
    } else {
        None
    };
    Ok(Checked {
        header: h,
        group,
        subscription,
        selector,
        topic_sys_flag: tc.topic_sys_flag,
    })
}

fn status_name(s: GetMessageStatus) -> &'static str {
    match s {
        GetMessageStatus::Found => "FOUND",
        GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
        GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
    }
}

/// `composeResponseHeader`: status → response code; the four offsets are always present.
/// `suggestWhichBrokerId` (`PullMessageProcessor.composeResponseHeader`): with `slaveReadEnable`,
/// a reader far behind is sent to `whichBrokerWhenConsumeSlowly`, others to the group's
/// `brokerId`; without it, always the master.
fn suggested_broker(broker: &Broker, c: &Checked, r: &GetMessageResult) -> i64 {
    if !broker.config_bool("slaveReadEnable") {
        return 0;
    }
    if r.suggest_pulling_from_slave {
        c.group.which_broker_when_consume_slowly
    } else {
        c.group.broker_id
    }
}

/// `DefaultMessageStore.nextOffsetCorrection`: a slave (without `offsetCheckInSlave`) never
/// moves a consumer's offset; only the master, which holds the truth, corrects it.
fn correct_next_offset(broker: &Broker, c: &Checked, r: &mut GetMessageResult) {
    let corrected = matches!(
        r.status,
        GetMessageStatus::NoMatchedLogicQueue
            | GetMessageStatus::NoMessageInQueue
            | GetMessageStatus::OffsetTooSmall
            | GetMessageStatus::OffsetOverflowBadly
            | GetMessageStatus::OffsetFoundNull
    );
    if corrected && broker.role() == BrokerRole::Slave && !broker.config_bool("offsetCheckInSlave")
    {
        r.next_begin_offset = u64::try_from(c.header.queue_offset).unwrap_or(0);
    }
}

fn compose(c: &Checked, r: &GetMessageResult, suggest: i64) -> RemotingCommand {
    let code = match r.status {
        GetMessageStatus::Found => ResponseCode::SUCCESS,
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if c.header.queue_offset != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            ResponseCode::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            ResponseCode::PULL_OFFSET_MOVED
        }
    };
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: i64::try_from(r.next_begin_offset).unwrap_or(i64::MAX),
        min_offset: i64::try_from(r.min_offset).unwrap_or(0),
        max_offset: i64::try_from(r.max_offset).unwrap_or(0),
        topic_sys_flag: Some(c.topic_sys_flag),
        group_sys_flag: Some(c.group.group_sys_flag),
    };
    RemotingCommand::response(code, Some(status_name(r.status).to_owned()))
        .with_ext_fields(header.to_ext_fields())
}

fn read(broker: &Broker, c: &Checked) -> GetMessageResult {
    let sub = &c.subscription;
    let max = usize::try_from(c.header.max_msg_nums).unwrap_or(1).max(1);
    let by_properties = |rec: &Bytes| {
        c.selector.as_ref().is_none_or(|sel| {
            MessageRecord::decode(rec, false)
                .is_ok_and(|(m, _)| sel.matches(&|name| m.property(name).map(str::to_owned)))
        })
    };
    broker.store.get_message_filtered(
        &c.header.topic,
        c.header.queue_id,
        c.header.queue_offset,
        max,
        &|code| sub.matches(code),
        c.selector
            .is_some()
            .then_some(&by_properties as &dyn Fn(&Bytes) -> bool),
    )
}

/// Sends the response with the records as body parts taken from the mapped files.
async fn respond(
    conn: &ConnectionHandle,
    req: &RemotingCommand,
    resp: RemotingCommand,
    body: Vec<Bytes>,
) -> bool {
    let mut resp = resp.answering(req);
    resp.version = crate::remoting::version::CURRENT;
    let len: usize = body.iter().map(Bytes::len).sum();
    let mut prefix = BytesMut::with_capacity(256);
    if frame::encode_prefix(&resp, len, &mut prefix).is_err() {
        let fallback =
            RemotingCommand::error(ResponseCode::SYSTEM_ERROR, "pull response too large")
                .answering(req);
        let _ = conn.send(&fallback).await;
        return false;
    }
    let mut parts = Vec::with_capacity(body.len() + 1);
    parts.push(prefix.freeze());
    parts.extend(body);
    let written = conn.send_parts(parts).await.is_ok();
    if !written {
        debug!(peer = %conn.peer(), "consumer gone before its pull response");
    }
    written
}

/// PULL_MESSAGE / LITE_PULL_MESSAGE. Answers by itself (returns `None`) so that found records
/// go out as mapped slices; a pull that finds nothing is held up to its suspend time.
pub async fn pull_message(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let received = std::time::Instant::now();
    let c = match check(broker, conn, &req) {
        Ok(c) => c,
        Err(resp) => return Some(resp),
    };
    let h = &c.header;
    // An operator's reset (INVOKE_BROKER_TO_RESET_OFFSET) wins over the client's offsets: Java's
    // `OFFSET_RESET` status, answered PULL_OFFSET_MOVED with the reset offset.
    if let Some(reset) = broker
        .reset_offsets
        .take(&h.topic, &h.consumer_group, h.queue_id)
    {
        let q = broker.store.queue(&h.topic, h.queue_id);
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: reset,
            min_offset: q
                .as_ref()
                .map_or(0, |q| i64::try_from(q.min_offset()).unwrap_or(0)),
            max_offset: q
                .as_ref()
                .map_or(0, |q| i64::try_from(q.max_offset()).unwrap_or(0)),
            topic_sys_flag: Some(c.topic_sys_flag),
            group_sys_flag: Some(c.group.group_sys_flag),
        };
        return Some(
            RemotingCommand::response(ResponseCode::PULL_OFFSET_MOVED, Some("OFFSET_RESET".into()))
                .with_ext_fields(header.to_ext_fields()),
        );
    }
    // 5.x stores the commit offset on a slave too (4.9 did not); Java clients clear the flag when
    // they pull from a slave, so it only matters for other clients.
    if h.sys_flag & FLAG_COMMIT_OFFSET != 0 && h.commit_offset >= 0 {
        broker
            .offsets
            .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    }
    let suspend = h.sys_flag & FLAG_SUSPEND != 0;
    let hold_for = if broker.config_bool("longPollingEnable") {
        Duration::from_millis(
            u64::try_from(h.suspend_timeout_millis)
                .unwrap_or(0)
                .min(60_000),
        )
    } else {
        Duration::from_millis(
            u64::try_from(broker.config_i64("shortPollingTimeMills")).unwrap_or(1000),
        )
    };
    let deadline = tokio::time::Instant::now() + hold_for;
    let notify = broker.holds.notifier(&h.topic, h.queue_id);
    let mut slot = None;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let began = std::time::Instant::now();
        let mut r = read(broker, &c);
        broker
            .stats
            .latency
            .record_get(u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX));
        // Every store read counts, also the re-checks of a held pull (`getMessageTimesTotalFound`
        // / `getMessageTimesTotalMiss` are counted in Java's `DefaultMessageStore.getMessage`).
        let counter = if r.messages.is_empty() {
            &broker.stats.get_miss
        } else {
            &broker.stats.get_found
        };
        let _ = counter.fetch_add(1, Ordering::Relaxed);
        correct_next_offset(broker, &c, &mut r);
        let resp = compose(&c, &r, suggested_broker(broker, &c, &r));
        let can_hold = suspend
            && resp.code == ResponseCode::PULL_NOT_FOUND.code()
            && tokio::time::Instant::now() < deadline;
        if can_hold && slot.is_none() {
            slot = broker.holds.try_hold();
        }
        if !can_hold || slot.is_none() || conn.is_closed() {
            let n = u64::try_from(r.messages.len()).unwrap_or(0);
            let _ = broker.stats.got_messages.fetch_add(n, Ordering::Relaxed);
            if n > 0 {
                let key = format!("{}@{}", h.topic, h.consumer_group);
                let bytes: usize = r.messages.iter().map(Bytes::len).sum();
                broker.metrics.record_out(
                    &h.topic,
                    &h.consumer_group,
                    None,
                    n,
                    u64::try_from(bytes).unwrap_or(0),
                );
                let items = &broker.stats_items;
                items.add(stats_items::GROUP_GET_NUMS, &key, n, 1);
                items.add(
                    stats_items::GROUP_GET_SIZE,
                    &key,
                    u64::try_from(bytes).unwrap_or(0),
                    1,
                );
                items.add(stats_items::BROKER_GET_NUMS, &broker.cluster, n, 1);
            }
            if resp.code == ResponseCode::SUCCESS.code() {
                broker.metrics.record_pull_offset(
                    &h.consumer_group,
                    &h.topic,
                    h.queue_id,
                    i64::try_from(r.next_begin_offset).unwrap_or(i64::MAX),
                );
            }
            let code = resp.code;
            let written = respond(conn, &req, resp, r.messages).await;
            // Answered here, not through `dispatch`: record `rocketmq_rpc_latency` as Java's
            // `writeResponse` does, long polling meaning the request was held.
            let ms = u64::try_from(received.elapsed().as_millis()).unwrap_or(u64::MAX);
            let result = if written {
                prom::RESULT_SUCCESS
            } else {
                prom::RESULT_WRITE_CHANNEL_FAILED
            };
            broker
                .metrics
                .record_rpc(req.code, code, result, slot.is_some(), ms);
            return None;
        }
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
