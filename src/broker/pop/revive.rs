//! `PopReviveService`: brings popped messages that were not acked back after their invisible
//! time, by storing them again in the group's pop retry topic with their reconsume count raised.
//!
//! Each revive queue of `rmq_sys_REVIVE_LOG_<cluster>` is read in order from the revive
//! progress (`CID_RMQ_SYS_REVIVE_GROUP`'s offset on the revive topic, the last handled queue
//! offset, as Java keeps it). Checkpoints are collected with the acks that follow them. Java
//! relies on its timer wheel to hold each record until its deliver time, so a checkpoint is only
//! read near its revive time; this service checks each checkpoint's revive time itself, so it is
//! correct whether or not the records were held back. A checkpoint whose revive time (plus
//! `ackTimeInterval` and one second, Java's margin for late acks) has passed is revived; the
//! progress moves to just before the oldest checkpoint still waiting.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, warn};

use super::records::{ACK_TIME_INTERVAL_MS, Ack, CheckPoint, ack_message, ck_message, merge_key};
use super::{
    ACK_TAG, BATCH_ACK_TAG, CK_TAG, PROPERTY_FIRST_POP_TIME, RETRY_PREFIX, REVIVE_GROUP,
    pop_retry_topic, revive_topic,
};
use crate::broker::Broker;
use crate::ha::BrokerRole;
use crate::message::{parse_properties, properties_to_string, put_property};
use crate::store::PutMessage;
use crate::store::message_store::now_millis;
use crate::store::record::MessageRecord;

/// `PopAckConstants.retryQueueNum`: queues of a pop retry topic.
pub const POP_RETRY_QUEUE_NUM: i32 = 1;

/// Most revive-queue records read per queue and round, so one busy queue cannot starve the
/// others. Java reads 32 at a time for up to `reviveScanTime` (10 s).
const MAX_RECORDS_PER_ROUND: usize = 4096;

/// One revive queue's scan state.
#[derive(Debug, Default)]
struct QueueScan {
    /// Next revive-queue offset to read; `None` until loaded from the revive progress.
    next: Option<u64>,
    /// Checkpoints waiting for their revive time, by merge key and revive offset (two
    /// checkpoints share a merge key when a change of invisible time lands in the pop's
    /// millisecond).
    pending: BTreeMap<(String, i64), CheckPoint>,
    /// Last progress committed.
    committed: Option<i64>,
}

/// Reads a revive record: its tag and body.
fn read_revive(broker: &Broker, topic: &str, qid: i32, offset: u64) -> Option<MessageRecord> {
    let q = broker.store.queue(topic, qid)?;
    let unit = q.get(offset)?;
    let b = broker.store.read_record(
        u64::try_from(unit.commit_log_offset).ok()?,
        usize::try_from(unit.size).ok()?,
    )?;
    MessageRecord::decode(&b, false).ok().map(|(r, _)| r)
}

/// Reads the popped message a checkpoint names (`getBizMessage`); `None` when it is gone.
fn read_biz(broker: &Broker, ck: &CheckPoint, offset: i64) -> Option<MessageRecord> {
    let q = broker.store.queue(&ck.topic, ck.queue_id)?;
    let unit = q.get(u64::try_from(offset).ok()?)?;
    let b = broker.store.read_record(
        u64::try_from(unit.commit_log_offset).ok()?,
        usize::try_from(unit.size).ok()?,
    )?;
    MessageRecord::decode(&b, false).ok().map(|(r, _)| r)
}

/// `addRetryTopicIfNotExist` + `initPopRetryOffset`.
pub fn ensure_retry_topic(broker: &Broker, topic: &str, group: &str) {
    if broker.topics.get(topic).is_some() {
        return;
    }
    let _ = broker.topics.ensure(topic, POP_RETRY_QUEUE_NUM, 6);
    broker.notify_topics_changed();
    if broker.offsets.query(group, topic, 0).is_none() {
        broker.offsets.commit(group, topic, 0, 0);
    }
}

/// `reviveRetry`: the message again, in the pop retry topic, queue 0.
fn revive_retry(broker: &Broker, ck: &CheckPoint, msg: &MessageRecord) -> bool {
    let topic = if ck.topic.starts_with(RETRY_PREFIX) {
        ck.topic.clone()
    } else {
        pop_retry_topic(&ck.topic, &ck.cid, broker.config_bool("enableRetryTopicV2"))
    };
    let mut props = parse_properties(&msg.properties);
    if msg.reconsume_times == 0 || !props.iter().any(|(k, _)| k == PROPERTY_FIRST_POP_TIME) {
        put_property(
            &mut props,
            PROPERTY_FIRST_POP_TIME,
            &ck.pop_time.to_string(),
        );
    }
    ensure_retry_topic(broker, &topic, &ck.cid);
    let put = PutMessage {
        topic,
        queue_id: 0,
        flag: msg.flag,
        body: msg.body.clone(),
        properties: properties_to_string(&props),
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: broker.store_host,
        store_host: broker.store_host,
        reconsume_times: msg.reconsume_times.saturating_add(1),
        prepared_transaction_offset: 0,
    };
    match broker.store.put(std::slice::from_ref(&put)) {
        Ok(_) => true,
        Err(e) => {
            warn!(error = %e, topic = %ck.topic, "revive put failed; retrying next round");
            false
        }
    }
}

/// `reviveMsgFromCk`: every un-acked message of a due checkpoint goes back. False when a put
/// failed (the checkpoint stays pending for the next round).
///
/// Unlike Java, the revived offsets are then acked in the revive queue (a `bAck` / `ack` record
/// for the same checkpoint): without a timer wheel the revive queue is not in revive-time order,
/// so the progress can stay behind a checkpoint with a long invisible time, and after a restart
/// the rescan would otherwise revive the same messages again.
fn revive_ck(broker: &Broker, ck: &mut CheckPoint, revive_qid: i32) -> bool {
    let normal = super::normal_topic(&ck.topic, &ck.cid);
    if broker.topics.get(&normal).is_none() || broker.groups.get(&ck.cid).is_none() {
        debug!(topic = %ck.topic, group = %ck.cid, "revive skipped: topic or group gone");
        return true;
    }
    let mut revived = Vec::new();
    let mut ok = true;
    for i in 0..usize::try_from(ck.num).unwrap_or(0) {
        if ck.is_acked(i) {
            continue;
        }
        let offset = ck.offset_at(i);
        match read_biz(broker, ck, offset) {
            Some(msg) => {
                if !revive_retry(broker, ck, &msg) {
                    ok = false;
                    break;
                }
            }
            None => debug!(topic = %ck.topic, offset, "revive: message no longer stored"),
        }
        ck.set_acked(i);
        revived.push(offset);
    }
    if !revived.is_empty() {
        let single = revived.len() == 1;
        let ack = Ack {
            ack_offset: if single {
                revived.first().copied().unwrap_or(0)
            } else {
                -1
            },
            start_offset: ck.start_offset,
            consumer_group: ck.cid.clone(),
            topic: ck.topic.clone(),
            queue_id: ck.queue_id,
            pop_time: ck.pop_time,
            broker_name: ck.broker_name.clone(),
            ack_offsets: (!single).then_some(revived),
        };
        let msg = ack_message(
            &ack,
            ck.invisible_time,
            &revive_topic(&broker.cluster),
            revive_qid,
            broker.store_host,
        );
        if let Err(e) = broker.store.put(std::slice::from_ref(&msg)) {
            warn!(error = %e, "cannot record a revived checkpoint");
        }
    }
    ok
}

/// One round over one revive queue; returns how many checkpoints were revived.
fn revive_queue(broker: &Broker, topic: &str, qid: i32, scan: &mut QueueScan) -> usize {
    let Some(q) = broker.store.queue(topic, qid) else {
        return 0;
    };
    let next = *scan.next.get_or_insert_with(|| {
        broker
            .offsets
            .query(REVIVE_GROUP, topic, qid)
            .and_then(|o| u64::try_from(o.saturating_add(1)).ok())
            .unwrap_or(0)
    });
    let mut offset = next.max(q.min_offset());
    let max = q.max_offset();
    let mut read = 0;
    while offset < max && read < MAX_RECORDS_PER_ROUND {
        if let Some(rec) = read_revive(broker, topic, qid, offset) {
            absorb(broker, &rec, offset, scan);
        }
        offset += 1;
        read += 1;
    }
    scan.next = Some(offset);
    let now = now_millis();
    let mut revived = 0;
    let due: Vec<(String, i64)> = scan
        .pending
        .iter()
        .filter(|(_, ck)| ck.revive_time() + ACK_TIME_INTERVAL_MS + 1000 <= now)
        .map(|(k, _)| k.clone())
        .collect();
    for key in due {
        debug!(qid, key = %key.0, "revive: due");
        if let Some(ck) = scan.pending.get_mut(&key)
            && revive_ck(broker, ck, qid)
        {
            let _ = scan.pending.remove(&key);
            revived += 1;
        }
    }
    let progress = scan
        .pending
        .values()
        .map(|ck| ck.revive_offset - 1)
        .min()
        .unwrap_or_else(|| i64::try_from(offset).unwrap_or(0) - 1);
    if progress >= 0 && scan.committed != Some(progress) {
        broker.offsets.commit(REVIVE_GROUP, topic, qid, progress);
        scan.committed = Some(progress);
    }
    revived
}

/// Folds one revive record into the pending checkpoints.
fn absorb(broker: &Broker, rec: &MessageRecord, offset: u64, scan: &mut QueueScan) {
    match rec.property("TAGS") {
        Some(CK_TAG) => {
            let Some(mut ck) = CheckPoint::from_json(&rec.body) else {
                warn!(offset, "unreadable checkpoint skipped");
                return;
            };
            ck.revive_offset = i64::try_from(offset).unwrap_or(0);
            let key = ck.merge_key(&broker.name);
            debug!(offset, key = %key, revive_time = ck.revive_time(), "revive: checkpoint");
            let _ = scan.pending.insert((key, ck.revive_offset), ck);
        }
        Some(tag @ (ACK_TAG | BATCH_ACK_TAG)) => {
            let Some(ack) = Ack::from_json(&rec.body) else {
                warn!(offset, tag, "unreadable ack skipped");
                return;
            };
            let key = merge_key(
                &ack.topic,
                &ack.consumer_group,
                ack.queue_id,
                ack.start_offset,
                ack.pop_time,
                ack.broker_name.as_deref().unwrap_or(&broker.name),
            );
            let offsets = ack
                .ack_offsets
                .clone()
                .unwrap_or_else(|| vec![ack.ack_offset]);
            let range = (key.clone(), i64::MIN)..=(key.clone(), i64::MAX);
            let mut matched = false;
            for o in offsets {
                // The oldest checkpoint of the key that still waits for this offset.
                let hit = scan.pending.range_mut(range.clone()).find_map(|(k, ck)| {
                    ck.index_of_ack(o)
                        .filter(|i| !ck.is_acked(*i))
                        .map(|i| (k.clone(), i))
                });
                if let Some((k, i)) = hit
                    && let Some(ck) = scan.pending.get_mut(&k)
                {
                    matched = true;
                    ck.set_acked(i);
                    if ck.all_acked() {
                        let _ = scan.pending.remove(&k);
                    }
                }
            }
            if !matched {
                debug!(offset, key = %key, "revive: ack without a pending checkpoint");
            }
        }
        _ => {}
    }
}

/// Writes a checkpoint to the revive topic; the queue offset it got.
pub fn put_checkpoint(broker: &Broker, ck: &CheckPoint, revive_qid: i32) -> Option<i64> {
    let msg = ck_message(
        ck,
        &revive_topic(&broker.cluster),
        revive_qid,
        broker.store_host,
    );
    match broker.store.put(std::slice::from_ref(&msg)) {
        Ok(r) => Some(r.queue_offset),
        Err(e) => {
            warn!(error = %e, "cannot store a POP checkpoint");
            None
        }
    }
}

/// Runs the revive service until the broker stops (masters only, as Java's
/// `shouldRunPopRevive = brokerId == 0`).
pub async fn run(broker: Arc<Broker>) {
    let n = usize::try_from(broker.config_i64("reviveQueueNum").clamp(1, 512)).unwrap_or(8);
    let interval =
        u64::try_from(broker.config_i64("reviveInterval").clamp(10, 60_000)).unwrap_or(1000);
    let mut scans: Vec<QueueScan> = (0..n).map(|_| QueueScan::default()).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(interval));
    loop {
        let _ = tick.tick().await;
        if broker.role() == BrokerRole::Slave {
            continue;
        }
        let b = Arc::clone(&broker);
        let taken = std::mem::take(&mut scans);
        let joined = tokio::task::spawn_blocking(move || {
            let topic = revive_topic(&b.cluster);
            let mut scans = taken;
            for (qid, scan) in scans.iter_mut().enumerate() {
                let _ = revive_queue(&b, &topic, i32::try_from(qid).unwrap_or(0), scan);
            }
            scans
        })
        .await;
        match joined {
            Ok(s) => scans = s,
            Err(e) => {
                warn!(error = %e, "revive round failed");
                scans = (0..n).map(|_| QueueScan::default()).collect();
            }
        }
    }
}
