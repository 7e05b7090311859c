//! Transaction check-back (`TransactionalMessageCheckService`,
//! `TransactionalMessageServiceImpl.check`): every `transactionCheckInterval` a master scans each
//! half-topic queue from where the last scan stopped, skips the half messages an op message has
//! resolved (END_TRANSACTION wrote one), and for each unresolved one older than
//! `transactionTimeOut` (or its `CHECK_IMMUNITY_TIME_IN_SECONDS`) re-puts it at the end of the
//! half queue with `TRANSACTION_CHECK_TIMES` + 1 and sends CHECK_TRANSACTION_STATE (oneway) to a
//! live producer of its group. The producer answers with END_TRANSACTION for the re-put copy.
//! After `transactionCheckMax` checks, or past `fileReservedTime`, a half message goes to
//! `TRANS_CHECK_MAX_TIME_TOPIC`.
//!
//! Progress is kept as Java keeps it, in consumer offsets of the group `CID_RMQ_SYS_TRANS` on the
//! half and op topics (`consumerOffset.json`), so it survives a restart and a Java broker on the
//! same store continues where this one stopped.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};

use super::Broker;
use super::processor::transaction::{HALF_TOPIC, OP_TOPIC};
use crate::ha::BrokerRole;
use crate::message::{get_property, parse_properties, properties_to_string, put_property};
use crate::remoting::header::broker::CheckTransactionStateRequestHeader;
use crate::remoting::{RemotingCommand, RequestCode};
use crate::store::PutMessage;
use crate::store::message_store::now_millis;
use crate::store::record::MessageRecord;

/// Group whose offsets on the half and op topics record the check's progress
/// (`TransactionalMessageUtil.buildConsumerGroup`).
pub const CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// Where half messages checked too often go (`TopicValidator.RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC`).
pub const CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Tag of op messages that resolve half messages (`TransactionalMessageUtil.REMOVE_TAG`).
const REMOVE_TAG: &str = "d";
/// One scan of a queue stops after this long (`MAX_PROCESS_TIME_LIMIT`).
const MAX_SCAN: Duration = Duration::from_secs(60);
/// Op messages read per step (`OP_MSG_PULL_NUMS`).
const OP_BATCH: usize = 32;

/// Runs the check on a master until the broker stops.
pub async fn run(broker: Arc<Broker>) {
    if broker.role() == BrokerRole::Slave {
        return;
    }
    loop {
        let every = u64::try_from(broker.config_i64("transactionCheckInterval"))
            .ok()
            .filter(|v| *v > 0)
            .unwrap_or(30_000);
        tokio::time::sleep(Duration::from_millis(every)).await;
        let queues: Vec<i32> = broker
            .store
            .all_queues()
            .iter()
            .filter(|q| q.topic == HALF_TOPIC)
            .map(|q| q.queue_id)
            .collect();
        for q in queues {
            check_queue(&broker, q).await;
        }
    }
}

fn record_at(broker: &Broker, topic: &str, queue: i32, offset: u64) -> Option<MessageRecord> {
    let r = broker.store.get_message(
        topic,
        queue,
        i64::try_from(offset).unwrap_or(i64::MAX),
        1,
        &|_| true,
    );
    let bytes = r.messages.first()?;
    MessageRecord::decode(bytes, false).ok().map(|(m, _)| m)
}

/// `fetchConsumeOffset`: the stored offset, else the queue's minimum.
fn progress(broker: &Broker, topic: &str, queue: i32) -> u64 {
    broker
        .offsets
        .query(CHECK_GROUP, topic, queue)
        .and_then(|o| u64::try_from(o).ok())
        .unwrap_or_else(|| {
            broker
                .store
                .queue(topic, queue)
                .map_or(0, |cq| cq.min_offset())
        })
}

/// Op messages from `from` on: half offset → op offset for half offsets at or past `half_from`,
/// and the op offsets whose every half offset is already behind (`fillOpRemoveMap`).
struct OpScan {
    remove: BTreeMap<u64, u64>,
    pending: BTreeMap<u64, HashSet<u64>>,
    done: Vec<u64>,
}

fn scan_ops(broker: &Broker, queue: i32, from: u64, half_from: u64) -> OpScan {
    let mut s = OpScan {
        remove: BTreeMap::new(),
        pending: BTreeMap::new(),
        done: Vec::new(),
    };
    let max = broker
        .store
        .queue(OP_TOPIC, queue)
        .map_or(0, |cq| cq.max_offset());
    let mut off = from;
    while off < max {
        let r = broker.store.get_message(
            OP_TOPIC,
            queue,
            i64::try_from(off).unwrap_or(i64::MAX),
            OP_BATCH,
            &|_| true,
        );
        if r.messages.is_empty() {
            break;
        }
        for (bytes, op_offset) in r.messages.iter().zip(&r.queue_offsets) {
            let Ok((op, _)) = MessageRecord::decode(bytes, false) else {
                s.done.push(*op_offset);
                continue;
            };
            if op.property("TAGS") != Some(REMOVE_TAG) {
                s.done.push(*op_offset);
                continue;
            }
            let halves: Vec<u64> = String::from_utf8_lossy(&op.body)
                .split(',')
                .filter_map(|v| v.trim().parse().ok())
                .collect();
            let mut open = HashSet::new();
            for h in halves {
                if h >= half_from {
                    let _ = s.remove.insert(h, *op_offset);
                    let _ = open.insert(h);
                }
            }
            if open.is_empty() {
                s.done.push(*op_offset);
            } else {
                let _ = s.pending.insert(*op_offset, open);
            }
        }
        off = r.next_begin_offset;
    }
    s
}

impl OpScan {
    /// Half offset `h` is resolved: take it out, and its op message once all its halves are.
    fn resolve(&mut self, h: u64) -> bool {
        let Some(op) = self.remove.remove(&h) else {
            return false;
        };
        if let Some(open) = self.pending.get_mut(&op) {
            let _ = open.remove(&h);
            if open.is_empty() {
                let _ = self.pending.remove(&op);
                self.done.push(op);
            }
        }
        true
    }

    /// `calculateOpOffset`: the op offset advances over the contiguous run of done op messages.
    fn next_op_offset(&mut self, from: u64) -> u64 {
        self.done.sort_unstable();
        let mut next = from;
        for d in &self.done {
            if *d == next {
                next += 1;
            } else if *d > next {
                break;
            }
        }
        next
    }
}

/// The half message as a new message (`renewHalfMessageInner`), with updated properties.
fn renew(half: &MessageRecord, topic: &str, queue_id: i32, properties: String) -> PutMessage {
    PutMessage {
        topic: topic.to_owned(),
        queue_id,
        flag: half.flag,
        body: half.body.clone(),
        properties,
        sys_flag: half.sys_flag,
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host: half.store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: half.prepared_transaction_offset,
    }
}

/// What the scan does with one unresolved half message.
enum Verdict {
    /// Checked too often, or too old: moved to `TRANS_CHECK_MAX_TIME_TOPIC`.
    Discard,
    /// Not due yet, and nothing after it is either: the scan stops here.
    Wait,
    /// Within its immunity time: moved to the back of the half queue.
    Postpone,
    /// Due: re-put with the check count raised, and the producer asked.
    Check,
}

fn verdict(broker: &Broker, half: &MessageRecord, started: i64, ops: &mut OpScan) -> Verdict {
    let timeout = broker.config_i64("transactionTimeOut").max(0);
    let max_checks = broker.config_i64("transactionCheckMax").max(1);
    let checks: i64 = half
        .property("TRANSACTION_CHECK_TIMES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let reserved_ms = broker.config_i64("fileReservedTime") * 3_600_000;
    let age = now_millis() - half.born_timestamp;
    if checks >= max_checks || age > reserved_ms {
        return Verdict::Discard;
    }
    if half.store_timestamp >= started {
        return Verdict::Wait;
    }
    if let Some(immunity) = half.property("CHECK_IMMUNITY_TIME_IN_SECONDS") {
        let immunity = match immunity.parse::<i64>() {
            Ok(-1) | Err(_) => timeout,
            Ok(s) => s * 1000,
        };
        if age < immunity {
            // `checkPrepareQueueOffset`: a copy whose original was resolved is resolved too.
            let original = half
                .property("TRAN_PREPARED_QUEUE_OFFSET")
                .and_then(|v| v.parse::<u64>().ok());
            return match original {
                Some(o) if ops.resolve(o) => Verdict::Discard,
                _ => Verdict::Postpone,
            };
        }
        return Verdict::Check;
    }
    if (0..timeout).contains(&age) {
        return Verdict::Wait;
    }
    Verdict::Check
}

async fn check_queue(broker: &Arc<Broker>, queue: i32) {
    let started = now_millis();
    let half_from = progress(broker, HALF_TOPIC, queue);
    let op_from = progress(broker, OP_TOPIC, queue);
    let mut ops = scan_ops(broker, queue, op_from, half_from);
    let half_max = broker
        .store
        .queue(HALF_TOPIC, queue)
        .map_or(0, |cq| cq.max_offset());
    let mut i = half_from;
    let mut checked = 0usize;
    let deadline = tokio::time::Instant::now() + MAX_SCAN;
    while i < half_max && tokio::time::Instant::now() < deadline {
        if ops.resolve(i) {
            i += 1;
            continue;
        }
        let Some(half) = record_at(broker, HALF_TOPIC, queue, i) else {
            i += 1;
            continue;
        };
        match verdict(broker, &half, started, &mut ops) {
            Verdict::Wait => break,
            Verdict::Discard => discard(broker, &half),
            Verdict::Postpone => {
                let mut props = parse_properties(&half.properties);
                if get_property(&props, "TRAN_PREPARED_QUEUE_OFFSET").is_none() {
                    put_property(
                        &mut props,
                        "TRAN_PREPARED_QUEUE_OFFSET",
                        &half.queue_offset.to_string(),
                    );
                }
                let msg = renew(&half, HALF_TOPIC, queue, properties_to_string(&props));
                if let Err(e) = broker.store.put(std::slice::from_ref(&msg)) {
                    warn!(error = %e, "cannot postpone a half message; retrying next round");
                    break;
                }
            }
            Verdict::Check => {
                if !check(broker, &half, queue).await {
                    break;
                }
                checked += 1;
            }
        }
        i += 1;
    }
    if i != half_from {
        broker.offsets.commit(
            CHECK_GROUP,
            HALF_TOPIC,
            queue,
            i64::try_from(i).unwrap_or(0),
        );
    }
    let op_next = ops.next_op_offset(op_from);
    if op_next != op_from {
        broker.offsets.commit(
            CHECK_GROUP,
            OP_TOPIC,
            queue,
            i64::try_from(op_next).unwrap_or(0),
        );
    }
    if checked > 0 || i != half_from {
        info!(
            queue,
            half_from,
            half_to = i,
            op_from,
            op_to = op_next,
            checked,
            "transaction check round"
        );
    }
}

/// `resolveDiscardMsg`: the half message goes to `TRANS_CHECK_MAX_TIME_TOPIC` queue 0.
fn discard(broker: &Broker, half: &MessageRecord) {
    warn!(
        real_topic = half.property("REAL_TOPIC").unwrap_or(""),
        uniq_key = half.property("UNIQ_KEY").unwrap_or(""),
        "half message checked too many times or too old; moved to {CHECK_MAX_TIME_TOPIC}"
    );
    let _ = broker.topics.ensure(CHECK_MAX_TIME_TOPIC, 1, 6);
    let msg = renew(half, CHECK_MAX_TIME_TOPIC, 0, half.properties.clone());
    match broker.store.put(std::slice::from_ref(&msg)) {
        Ok(_) => {
            if let Some(real) = half.property("REAL_TOPIC") {
                broker.metrics.record_half(real, -1);
            }
        }
        Err(e) => warn!(error = %e, "cannot move a half message to {CHECK_MAX_TIME_TOPIC}"),
    }
}

/// `putBackHalfMsgQueue` + `resolveHalfMsg`: re-puts the half message with its check count
/// raised and sends CHECK_TRANSACTION_STATE about the copy. False when the store refused.
async fn check(broker: &Broker, half: &MessageRecord, queue: i32) -> bool {
    let checks: i64 = half
        .property("TRANSACTION_CHECK_TIMES")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut props = parse_properties(&half.properties);
    put_property(
        &mut props,
        "TRANSACTION_CHECK_TIMES",
        &(checks + 1).to_string(),
    );
    let msg = renew(half, HALF_TOPIC, queue, properties_to_string(&props));
    let put = match broker.store.put(std::slice::from_ref(&msg)) {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "cannot re-put a half message for its check; retrying next round");
            return false;
        }
    };
    let mut copy = half.clone();
    copy.properties = msg.properties.clone();
    copy.queue_offset = put.queue_offset;
    copy.physical_offset = put.wrote_offset;
    copy.store_timestamp = put.store_timestamp;
    let offset_msg_id = put.msg_ids.first().cloned().unwrap_or_default();
    let group = half.property("PGROUP").unwrap_or("").to_owned();
    let Some(producer) = broker.clients.producer_group(&group).into_iter().next() else {
        debug!(group = %group, "transaction check: no producer of the group is connected");
        return true;
    };
    let uniq = half.property("UNIQ_KEY").map(str::to_owned);
    let header = CheckTransactionStateRequestHeader {
        topic: half.property("REAL_TOPIC").map(str::to_owned),
        tran_state_table_offset: copy.queue_offset,
        commit_log_offset: copy.physical_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(offset_msg_id),
        broker_name: Some(broker.name.clone()),
    };
    // The body is the message under its real topic and queue (`MessageDecoder.encode`).
    if let Some(t) = half.property("REAL_TOPIC") {
        copy.topic = t.to_owned();
    }
    if let Some(q) = half.property("REAL_QID").and_then(|q| q.parse().ok()) {
        copy.queue_id = q;
    }
    let mut body = Vec::with_capacity(copy.encoded_len());
    copy.encode_into(&mut body);
    let req = RemotingCommand::request(
        RequestCode::CHECK_TRANSACTION_STATE.code(),
        Some(header.to_ext_fields()),
    )
    .with_body(body);
    if let Err(e) = producer.conn.invoke_oneway(req).await {
        debug!(group = %group, error = %e, "transaction check not delivered");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_offset_advances_over_the_contiguous_done_run() {
        let mut s = OpScan {
            remove: BTreeMap::new(),
            pending: BTreeMap::new(),
            done: vec![7, 5, 6, 9],
        };
        assert_eq!(s.next_op_offset(5), 8);
        assert_eq!(s.next_op_offset(4), 4);
    }

    #[test]
    fn an_op_message_is_done_once_all_its_halves_are() {
        let mut s = OpScan {
            remove: BTreeMap::from([(10, 3), (11, 3)]),
            pending: BTreeMap::from([(3, HashSet::from([10, 11]))]),
            done: Vec::new(),
        };
        assert!(s.resolve(10));
        assert!(s.done.is_empty());
        assert!(!s.resolve(10));
        assert!(s.resolve(11));
        assert_eq!(s.done, [3]);
    }
}
