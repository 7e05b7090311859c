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
