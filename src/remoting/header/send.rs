//! Headers of the send requests (`remoting:protocol/header/SendMessageRequestHeader*.java`).

use crate::ext_header;

ext_header! {
    /// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320), SEND_REPLY_MESSAGE_V2 (325): the compact
    /// form whose keys are single letters. 4.9 sends `k` and `m` always (primitives).
    pub struct SendMessageRequestHeaderV2 {
        /// producerGroup.
        a: req String = "a",
        /// topic.
        b: req String = "b",
        /// defaultTopic.
        c: req String = "c",
        /// defaultTopicQueueNums.
        d: req i32 = "d",
        /// queueId (negative: broker picks).
        e: req i32 = "e",
        /// sysFlag.
        f: req i32 = "f",
        /// bornTimestamp.
        g: req i64 = "g",
        /// flag.
        h: req i32 = "h",
        /// properties.
        i: opt String = "i",
        /// reconsumeTimes.
        j: opt i32 = "j",
        /// unitMode.
        k: opt bool = "k",
        /// maxReconsumeTimes.
        l: opt i32 = "l",
        /// batch.
        m: opt bool = "m",
        /// brokerName (4.9.6+).
        n: opt String = "n",
    }
}

ext_header! {
    /// SEND_MESSAGE response.
    pub struct SendMessageResponseHeader {
        /// Offset message id.
        msg_id: req String = "msgId",
        /// Queue the message went to.
        queue_id: req i32 = "queueId",
        /// Its queue offset.
        queue_offset: req i64 = "queueOffset",
        /// UNIQ_KEY for transactions.
        transaction_id: opt String = "transactionId",
        /// Batch unique id (5.x).
        batch_uniq_id: opt String = "batchUniqId",
        /// Recall handle (5.3).
        recall_handle: opt String = "recallHandle",
    }
}

ext_header! {
    /// SEND_MESSAGE (10), SEND_REPLY_MESSAGE (324): the long-named form.
    pub struct SendMessageRequestHeader {
        /// Producer group.
        producer_group: req String = "producerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Auto-create template topic.
        default_topic: req String = "defaultTopic",
        /// Queues for auto-created topics.
        default_topic_queue_nums: req i32 = "defaultTopicQueueNums",
        /// Queue id (negative: broker picks).
        queue_id: req i32 = "queueId",
        /// `MessageSysFlag` bits.
        sys_flag: req i32 = "sysFlag",
        /// Producer time.
        born_timestamp: req i64 = "bornTimestamp",
        /// User flag.
        flag: req i32 = "flag",
        /// Properties string.
        properties: opt String = "properties",
        /// Delivery attempts.
        reconsume_times: opt i32 = "reconsumeTimes",
        /// Unit mode.
        unit_mode: opt bool = "unitMode",
        /// Batch.
        batch: opt bool = "batch",
        /// Attempts before the DLQ.
        max_reconsume_times: opt i32 = "maxReconsumeTimes",
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    /// `SendMessageRequestHeaderV2.createSendMessageRequestHeaderV1`.
    fn from(v: SendMessageRequestHeaderV2) -> Self {
        Self {
            producer_group: v.a,
            topic: v.b,
            default_topic: v.c,
            default_topic_queue_nums: v.d,
            queue_id: v.e,
            sys_flag: v.f,
            born_timestamp: v.g,
            flag: v.h,
            properties: v.i,
            reconsume_times: v.j,
            unit_mode: v.k,
            batch: v.m,
            max_reconsume_times: v.l,
        }
    }
}

ext_header! {
    /// RECALL_MESSAGE (370, 5.3): cancel a timer message before it is due.
    pub struct RecallMessageRequestHeader {
        /// Producer group.
        producer_group: opt String = "producerGroup",
        /// Topic the message was sent to.
        topic: req String = "topic",
        /// The handle the send response carried.
        recall_handle: req String = "recallHandle",
    }
}

ext_header! {
    /// RECALL_MESSAGE response.
    pub struct RecallMessageResponseHeader {
        /// The recalled message's unique id.
        msg_id: req String = "msgId",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::error::HeaderError;

    fn v2_fields() -> crate::remoting::ExtFields {
        [
            ("a", "PG"),
            ("b", "TopicT"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "UNIQ_KEY\u{1}ABC\u{2}WAIT\u{1}true\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn taking_the_fields_gives_what_reading_them_gives() {
        let read = SendMessageRequestHeaderV2::from_ext_fields(Some(&v2_fields()));
        let mut ext = v2_fields();
        let taken = SendMessageRequestHeaderV2::take_ext_fields(Some(&mut ext));
        assert_eq!(taken, read);
        assert!(taken.is_ok_and(|h| h.b == "TopicT" && h.i.is_some() && h.n.is_none()));
        // Every field this header knows was moved out.
        assert!(ext.is_empty(), "{:?}", ext.iter().collect::<Vec<_>>());
    }

    #[test]
    fn taking_reports_missing_and_invalid_fields_as_reading_does() {
        let mut ext = v2_fields();
        let _ = ext.remove("b");
        assert_eq!(
            SendMessageRequestHeaderV2::take_ext_fields(Some(&mut ext)),
            Err(HeaderError::Missing("b"))
        );
        let mut ext = v2_fields();
        ext.insert("e", "x1");
        assert_eq!(
            SendMessageRequestHeaderV2::take_ext_fields(Some(&mut ext)),
            Err(HeaderError::Invalid {
                field: "e",
                value: "x1".to_owned()
            })
        );
        assert_eq!(
            SendMessageRequestHeaderV2::take_ext_fields(None),
            Err(HeaderError::Missing("a"))
        );
    }
}
