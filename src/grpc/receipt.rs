//! Receipt handles (`common:consumer/ReceiptHandle.java`): what a gRPC consumer gets with each
//! received message and hands back to ack it, change its invisible time or send it to the DLQ.
//! The text is the message's `POP_CK` extra info (`ExtraInfoUtil.buildExtraInfo`: checkpoint
//! start offset, pop time, invisible time, revive queue, topic type, broker name, queue id,
//! queue offset) followed by the message's commit-log offset, all separated by spaces.

use crate::broker::pop::pop_retry_topic;
use crate::store::message_store::now_millis;

/// `ReceiptHandle.NORMAL_TOPIC`.
pub const NORMAL_TOPIC: &str = "0";
/// `ReceiptHandle.RETRY_TOPIC` (pop retry topic v1, `%RETRY%group_topic`).
pub const RETRY_TOPIC: &str = "1";
/// `ReceiptHandle.RETRY_TOPIC_V2` (`%RETRY%group+topic`).
pub const RETRY_TOPIC_V2: &str = "2";

/// Why a receipt handle text does not decode (Java's `IllegalArgumentException` /
/// `NumberFormatException` messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Fewer than eight fields.
    #[error("Parse failed, dataList size {0}")]
    TooShort(usize),
    /// A numeric field is not a number.
    #[error("For input string: \"{0}\"")]
    NotANumber(String),
}

/// A decoded receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// Start offset of the checkpoint the message belongs to.
    pub start_offset: i64,
    /// When the message was popped (ms).
    pub retrieve_time: i64,
    /// Invisible time granted at that pop (ms).
    pub invisible_time: i64,
    /// Revive queue of the checkpoint (999 for orderly pops).
    pub revive_queue_id: i32,
    /// "0" normal topic, "1" / "2" pop retry topic v1 / v2.
    pub topic_type: String,
    /// Broker that popped it.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Queue offset of the message.
    pub offset: i64,
    /// Commit-log offset of the message, -1 when the text has none.
    pub commit_log_offset: i64,
    /// The text as received.
    pub text: String,
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, ReceiptError> {
    s.parse()
        .map_err(|_| ReceiptError::NotANumber(s.to_owned()))
}

impl ReceiptHandle {
    /// `ReceiptHandle.decode`.
    pub fn decode(text: &str) -> Result<Self, ReceiptError> {
        let f: Vec<&str> = text.split(' ').collect();
        let [a, b, c, d, e, g, h, i, rest @ ..] = f.as_slice() else {
            return Err(ReceiptError::TooShort(f.len()));
        };
        Ok(Self {
            start_offset: num(a)?,
            retrieve_time: num(b)?,
            invisible_time: num(c)?,
            revive_queue_id: num(d)?,
            topic_type: (*e).to_owned(),
            broker_name: (*g).to_owned(),
            queue_id: num(h)?,
            offset: num(i)?,
            commit_log_offset: match rest.first() {
                Some(s) => num(s)?,
                None => -1,
            },
            text: text.to_owned(),
        })
    }

    /// `ReceiptHandle.encode`.
    #[must_use]
    pub fn encode(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {} {}",
            self.start_offset,
            self.retrieve_time,
            self.invisible_time,
            self.revive_queue_id,
            self.topic_type,
            self.broker_name,
            self.queue_id,
            self.offset,
            self.commit_log_offset
        )
    }

    /// `isExpired`: the message became visible again, the handle acks nothing any more.
    #[must_use]
    pub fn is_expired(&self) -> bool {
        self.retrieve_time.saturating_add(self.invisible_time) <= now_millis()
    }

    /// `getRealTopic`: the topic the message was popped from (its pop retry topic for a retried
    /// message).
    #[must_use]
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        match self.topic_type.as_str() {
            RETRY_TOPIC => pop_retry_topic(topic, group, false),
            RETRY_TOPIC_V2 => pop_retry_topic(topic, group, true),
            _ => topic.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = "12 1700000000000 30000 3 0 broker-a 2 14 987654";
        let h = ReceiptHandle::decode(t).unwrap();
        assert_eq!(h.start_offset, 12);
        assert_eq!(h.revive_queue_id, 3);
        assert_eq!(h.broker_name, "broker-a");
        assert_eq!(h.offset, 14);
        assert_eq!(h.commit_log_offset, 987_654);
        assert_eq!(h.encode(), t);
        assert!(h.is_expired());
        let short = ReceiptHandle::decode("1 2 3 4 0 b 1 5").unwrap();
        assert_eq!(short.commit_log_offset, -1);
    }

    #[test]
    fn bad_texts() {
        assert_eq!(
            ReceiptHandle::decode("garbage"),
            Err(ReceiptError::TooShort(1))
        );
        assert_eq!(
            ReceiptHandle::decode("x 2 3 4 0 b 1 5"),
            Err(ReceiptError::NotANumber("x".into()))
        );
    }

    #[test]
    fn retry_topics() {
        let h = ReceiptHandle::decode("1 2 3 4 2 b 1 5 6").unwrap();
        assert_eq!(h.real_topic("T", "G"), pop_retry_topic("T", "G", true));
        let h = ReceiptHandle::decode("1 2 3 4 0 b 1 5 6").unwrap();
        assert_eq!(h.real_topic("T", "G"), "T");
    }
}
