//! The revive-topic records as Java 5.3.3 writes them: `PopCheckPoint`, `AckMsg` and
//! `BatchAckMsg` bodies (fastjson 1.2.83 output: short names, keys sorted, nulls left out, plus
//! the getter-only `reviveTime` of a checkpoint), tagged `ck` / `ack` / `bAck`, with `UNIQ_KEY`
//! from `genCkUniqueId` / `genAckUniqueId` and the `TIMER_DELIVER_MS` Java sets
//! (`setDeliverTimeMs`) so that a timer wheel holds them until revive time.

use std::net::SocketAddr;

use bytes::Bytes;
use serde_json::Value;

use super::{ACK_TAG, BATCH_ACK_TAG, CK_TAG, PROPERTY_TIMER_DELIVER_MS};
use crate::message::{properties_to_string, put_property};
use crate::remoting::json_tree::Node;
use crate::store::PutMessage;
use crate::store::message_store::now_millis;

/// `PopAckConstants.ackTimeInterval`: a checkpoint is delivered this long before its revive time.
pub const ACK_TIME_INTERVAL_MS: i64 = 1000;

/// `PopCheckPoint`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckPoint {
    /// `so`: queue offset of the first popped message.
    pub start_offset: i64,
    /// `pt`.
    pub pop_time: i64,
    /// `it`.
    pub invisible_time: i64,
    /// `bm`: acked messages, bit i for the i-th.
    pub bit_map: i32,
    /// `n`: messages covered.
    pub num: i32,
    /// `q`.
    pub queue_id: i32,
    /// `t`: the popped topic (a pop retry topic for retried messages).
    pub topic: String,
    /// `c`: consumer group.
    pub cid: String,
    /// `ro`: where the checkpoint sits in the revive queue (set when read back).
    pub revive_offset: i64,
    /// `d`: each message's offset minus `so`.
    pub queue_offset_diff: Vec<i32>,
    /// `bn`.
    pub broker_name: Option<String>,
    /// `rp`: how often the checkpoint was written again.
    pub re_put_times: Option<String>,
}

impl CheckPoint {
    /// `getReviveTime`.
    #[must_use]
    pub fn revive_time(&self) -> i64 {
        self.pop_time.saturating_add(self.invisible_time)
    }

    /// `indexOfAck`: which of the checkpoint's messages `offset` is.
    #[must_use]
    pub fn index_of_ack(&self, offset: i64) -> Option<usize> {
        if offset < self.start_offset {
            return None;
        }
        let diff = offset - self.start_offset;
        if self.queue_offset_diff.is_empty() {
            return (diff < i64::from(self.num)).then(|| usize::try_from(diff).ok())?;
        }
        let diff = i32::try_from(diff).ok()?;
        self.queue_offset_diff.iter().position(|d| *d == diff)
    }

    /// `ackOffsetByIndex`.
    #[must_use]
    pub fn offset_at(&self, index: usize) -> i64 {
        if self.queue_offset_diff.is_empty() {
            return self.start_offset + i64::try_from(index).unwrap_or(0);
        }
        self.start_offset + i64::from(self.queue_offset_diff.get(index).copied().unwrap_or(0))
    }

    /// Marks message `index` acked.
    pub fn set_acked(&mut self, index: usize) {
        if index < 32 {
            self.bit_map |= 1 << index;
        }
    }

    /// Whether message `index` is acked.
    #[must_use]
    pub fn is_acked(&self, index: usize) -> bool {
        index < 32 && self.bit_map & (1 << index) != 0
    }

    /// Whether every message is acked.
    #[must_use]
    pub fn all_acked(&self) -> bool {
        (0..usize::try_from(self.num).unwrap_or(0)).all(|i| self.is_acked(i))
    }

    /// The merge key of `PopReviveService` (topic, group, queue, start offset, pop time, broker).
    #[must_use]
    pub fn merge_key(&self, default_broker: &str) -> String {
        merge_key(
            &self.topic,
            &self.cid,
            self.queue_id,
            self.start_offset,
            self.pop_time,
            self.broker_name.as_deref().unwrap_or(default_broker),
        )
    }

    /// The body as fastjson writes it.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut pairs = vec![("bm", Node::Int(i64::from(self.bit_map)))];
        if let Some(bn) = &self.broker_name {
            pairs.push(("bn", Node::str(bn)));
        }
        pairs.push(("c", Node::str(&self.cid)));
        if !self.queue_offset_diff.is_empty() {
            pairs.push((
                "d",
                Node::Array(
                    self.queue_offset_diff
                        .iter()
                        .map(|d| Node::Int(i64::from(*d)))
                        .collect(),
                ),
            ));
        }
        pairs.extend([
            ("it", Node::Int(self.invisible_time)),
            ("n", Node::Int(i64::from(self.num))),
            ("pt", Node::Int(self.pop_time)),
            ("q", Node::Int(i64::from(self.queue_id))),
            ("reviveTime", Node::Int(self.revive_time())),
            ("ro", Node::Int(self.revive_offset)),
        ]);
        if let Some(rp) = &self.re_put_times {
            pairs.push(("rp", Node::str(rp)));
        }
        pairs.push(("so", Node::Int(self.start_offset)));
        pairs.push(("t", Node::str(&self.topic)));
        Node::object(pairs).to_compact()
    }

    /// Parses a body (short or long field names, as fastjson accepts).
    #[must_use]
    pub fn from_json(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let i = |k: &str, alt: &str| v.get(k).or_else(|| v.get(alt)).and_then(Value::as_i64);
        let s = |k: &str, alt: &str| {
            v.get(k)
                .or_else(|| v.get(alt))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Some(Self {
            start_offset: i("so", "startOffset").unwrap_or(0),
            pop_time: i("pt", "popTime").unwrap_or(0),
            invisible_time: i("it", "invisibleTime").unwrap_or(0),
            bit_map: i32::try_from(i("bm", "bitMap").unwrap_or(0)).unwrap_or(0),
            num: i32::try_from(i("n", "num").unwrap_or(0)).unwrap_or(0),
            queue_id: i32::try_from(i("q", "queueId").unwrap_or(0)).unwrap_or(0),
            topic: s("t", "topic")?,
            cid: s("c", "cid")?,
            revive_offset: i("ro", "reviveOffset").unwrap_or(0),
            queue_offset_diff: v
                .get("d")
                .or_else(|| v.get("queueOffsetDiff"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_i64().and_then(|d| i32::try_from(d).ok()))
                        .collect()
                })
                .unwrap_or_default(),
            broker_name: s("bn", "brokerName"),
            re_put_times: s("rp", "rePutTimes"),
        })
    }
}

/// `PopReviveService`'s merge key.
#[must_use]
pub fn merge_key(
    topic: &str,
    group: &str,
    queue_id: i32,
    start_offset: i64,
    pop_time: i64,
    broker: &str,
) -> String {
    format!("{topic}{group}{queue_id}{start_offset}{pop_time}{broker}")
}

/// `AckMsg`, or `BatchAckMsg` when `ack_offsets` is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ack {
    /// `ao` (-1 in a batch ack).
    pub ack_offset: i64,
    /// `so`: start offset of the checkpoint.
    pub start_offset: i64,
    /// `c`.
    pub consumer_group: String,
    /// `t`.
    pub topic: String,
    /// `q`.
    pub queue_id: i32,
    /// `pt`: pop time of the checkpoint.
    pub pop_time: i64,
    /// `bn`.
    pub broker_name: Option<String>,
    /// `aol` of a `BatchAckMsg`.
    pub ack_offsets: Option<Vec<i64>>,
}

impl Ack {
    /// The body as fastjson writes it.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut pairs = vec![("ao", Node::Int(self.ack_offset))];
        if let Some(list) = &self.ack_offsets {
            pairs.push((
                "aol",
                Node::Array(list.iter().map(|o| Node::Int(*o)).collect()),
            ));
        }
        if let Some(bn) = &self.broker_name {
            pairs.push(("bn", Node::str(bn)));
        }
        pairs.extend([
            ("c", Node::str(&self.consumer_group)),
            ("pt", Node::Int(self.pop_time)),
            ("q", Node::Int(i64::from(self.queue_id))),
            ("so", Node::Int(self.start_offset)),
            ("t", Node::str(&self.topic)),
        ]);
        Node::object(pairs).to_compact()
    }

    /// Parses a body (short or long field names).
    #[must_use]
    pub fn from_json(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let i = |k: &str, alt: &str| v.get(k).or_else(|| v.get(alt)).and_then(Value::as_i64);
        let s = |k: &str, alt: &str| {
            v.get(k)
                .or_else(|| v.get(alt))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Some(Self {
            ack_offset: i("ao", "ackOffset").unwrap_or(0),
            start_offset: i("so", "startOffset").unwrap_or(0),
            consumer_group: s("c", "consumerGroup")?,
            topic: s("t", "topic")?,
            queue_id: i32::try_from(i("q", "queueId").unwrap_or(0)).unwrap_or(0),
            pop_time: i("pt", "popTime").unwrap_or(0),
            broker_name: s("bn", "brokerName"),
            ack_offsets: v
                .get("aol")
                .or_else(|| v.get("ackOffsetList"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect()),
        })
    }

    /// The `UNIQ_KEY` Java leaves on an ack put: `genAckUniqueId`, also for a batch ack (whose
    /// `genBatchAckUniqueId` is overwritten by it in `appendAck`, so `ao` is -1 there).
    #[must_use]
    pub fn unique_id(&self) -> String {
        format!(
            "{}@{}@{}@{}@{}@{}@{ACK_TAG}",
            self.topic,
            self.queue_id,
            self.ack_offset,
            self.consumer_group,
            self.pop_time,
            self.broker_name.as_deref().unwrap_or("null")
        )
    }
}

/// `genCkUniqueId`.
#[must_use]
pub fn ck_unique_id(ck: &CheckPoint) -> String {
    format!(
        "{}@{}@{}@{}@{}@{}@{CK_TAG}",
        ck.topic,
        ck.queue_id,
        ck.start_offset,
        ck.cid,
        ck.pop_time,
        ck.broker_name.as_deref().unwrap_or("null")
    )
}

/// Orders properties as a default-capacity (16 bins) Java `HashMap` iterates them; pairs in one
/// bin keep their insertion order.
fn hashmap16_order(props: &mut [(String, String)]) {
    props.sort_by_key(|(k, _)| {
        let h = crate::store::record::java_string_hash(k).cast_unsigned();
        (h ^ (h >> 16)) & 15
    });
}

/// A revive-topic message (`buildCkMsg` / the ack puts): born and stored by this broker.
fn revive_message(
    revive_topic: &str,
    revive_qid: i32,
    host: SocketAddr,
    body: String,
    props: Vec<(&str, String)>,
) -> PutMessage {
    let mut p: Vec<(String, String)> = Vec::with_capacity(props.len());
    for (k, v) in props {
        put_property(&mut p, k, &v);
    }
    hashmap16_order(&mut p);
    PutMessage {
        topic: revive_topic.to_owned(),
        queue_id: revive_qid,
        flag: 0,
        body: Bytes::from(body.into_bytes()),
        properties: properties_to_string(&p),
        sys_flag: 0,
        born_timestamp: now_millis(),
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// `buildCkMsg`: deliver time one `ackTimeInterval` before the revive time.
#[must_use]
pub fn ck_message(
    ck: &CheckPoint,
    revive_topic: &str,
    revive_qid: i32,
    host: SocketAddr,
) -> PutMessage {
    revive_message(
        revive_topic,
        revive_qid,
        host,
        ck.to_json(),
        vec![
            ("TAGS", CK_TAG.to_owned()),
            (
                PROPERTY_TIMER_DELIVER_MS,
                (ck.revive_time() - ACK_TIME_INTERVAL_MS).to_string(),
            ),
            ("UNIQ_KEY", ck_unique_id(ck)),
        ],
    )
}

/// The ack put of `AckMessageProcessor.appendAck` / `ChangeInvisibleTimeProcessor.ackOrigin`:
/// deliver time at the revive time (`popTime + invisibleTime`).
#[must_use]
pub fn ack_message(
    ack: &Ack,
    invisible_time: i64,
    revive_topic: &str,
    revive_qid: i32,
    host: SocketAddr,
) -> PutMessage {
    let tag = if ack.ack_offsets.is_some() {
        BATCH_ACK_TAG
    } else {
        ACK_TAG
    };
    revive_message(
        revive_topic,
        revive_qid,
        host,
        ack.to_json(),
        vec![
            ("TAGS", tag.to_owned()),
            ("UNIQ_KEY", ack.unique_id()),
            (
                PROPERTY_TIMER_DELIVER_MS,
                ack.pop_time.saturating_add(invisible_time).to_string(),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_json_matches_fastjson() {
        // Printed by fastjson 1.2.83 `JSON.toJSONString` for a Java 5.3.3 PopCheckPoint.
        let ck = CheckPoint {
            start_offset: 5,
            pop_time: 1000,
            invisible_time: 60_000,
            num: 2,
            queue_id: 1,
            topic: "T".into(),
            cid: "G".into(),
            queue_offset_diff: vec![0, 3],
            broker_name: Some("b".into()),
            ..CheckPoint::default()
        };
        let json = ck.to_json();
        assert_eq!(
            json,
            r#"{"bm":0,"bn":"b","c":"G","d":[0,3],"it":60000,"n":2,"pt":1000,"q":1,"reviveTime":61000,"ro":0,"so":5,"t":"T"}"#
        );
        let back = CheckPoint::from_json(json.as_bytes()).unwrap();
        assert_eq!(back, ck);
        assert_eq!(back.index_of_ack(8), Some(1));
        assert_eq!(back.index_of_ack(6), None);
        assert_eq!(back.offset_at(1), 8);
    }

    #[test]
    fn ack_json_matches_fastjson() {
        let mut ack = Ack {
            ack_offset: 7,
            start_offset: 5,
            consumer_group: "G".into(),
            topic: "T".into(),
            queue_id: 1,
            pop_time: 1000,
            broker_name: Some("b".into()),
            ack_offsets: None,
        };
        assert_eq!(
            ack.to_json(),
            r#"{"ao":7,"bn":"b","c":"G","pt":1000,"q":1,"so":5,"t":"T"}"#
        );
        ack.ack_offset = -1;
        ack.ack_offsets = Some(vec![5, 8]);
        assert_eq!(
            ack.to_json(),
            r#"{"ao":-1,"aol":[5,8],"bn":"b","c":"G","pt":1000,"q":1,"so":5,"t":"T"}"#
        );
        assert_eq!(Ack::from_json(ack.to_json().as_bytes()).unwrap(), ack);
        assert_eq!(ack.unique_id(), "T@1@-1@G@1000@b@ack");
    }
}
