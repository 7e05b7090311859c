//! POP headers (`remoting:protocol/header/PopMessageRequestHeader.java` and siblings): pop,
//! ack, and change-invisible-time requests and their responses.

use crate::ext_header;

ext_header! {
    /// POP_MESSAGE (200050).
    pub struct PopMessageRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue, or -1 for every readable queue.
        queue_id: req i32 = "queueId",
        /// Most messages.
        max_msg_nums: req i32 = "maxMsgNums",
        /// How long popped messages stay invisible (ms).
        invisible_time: req i64 = "invisibleTime",
        /// Long-poll time (ms).
        poll_time: req i64 = "pollTime",
        /// When the client built the request (ms); Java fills it in when absent or 0.
        born_time: opt i64 = "bornTime",
        /// `ConsumeInitMode`: 0 MIN, 1 MAX.
        init_mode: req i32 = "initMode",
        /// `TAG` / `SQL92`.
        exp_type: opt String = "expType",
        /// Subscription expression.
        exp: opt String = "exp",
        /// Orderly pop.
        order: opt bool = "order",
        /// Orderly attempt id.
        attempt_id: opt String = "attemptId",
    }
}

ext_header! {
    /// POP_MESSAGE response.
    pub struct PopMessageResponseHeader {
        /// When the messages were popped (ms).
        pop_time: req i64 = "popTime",
        /// Invisible time granted (ms).
        invisible_time: req i64 = "invisibleTime",
        /// Revive queue of the checkpoints.
        revive_qid: req i32 = "reviveQid",
        /// Messages left behind the popped ones.
        rest_num: req i64 = "restNum",
        /// `retry queueId startOffset;…`.
        start_offset_info: opt String = "startOffsetInfo",
        /// `retry queueId offset,offset;…`.
        msg_offset_info: opt String = "msgOffsetInfo",
        /// Orderly reconsume counts.
        order_count_info: opt String = "orderCountInfo",
    }
}

ext_header! {
    /// ACK_MESSAGE (200051).
    pub struct AckMessageRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic (the pop retry topic for retried messages).
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// The message's `POP_CK`.
        extra_info: req String = "extraInfo",
        /// Queue offset of the message.
        offset: req i64 = "offset",
    }
}

ext_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME (200053).
    pub struct ChangeInvisibleTimeRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic (the pop retry topic for retried messages).
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// The message's `POP_CK`.
        extra_info: req String = "extraInfo",
        /// Queue offset of the message.
        offset: req i64 = "offset",
        /// New invisible time from now (ms).
        invisible_time: req i64 = "invisibleTime",
    }
}

ext_header! {
    /// CHANGE_MESSAGE_INVISIBLETIME response.
    pub struct ChangeInvisibleTimeResponseHeader {
        /// New pop time (ms).
        pop_time: req i64 = "popTime",
        /// New invisible time (ms).
        invisible_time: req i64 = "invisibleTime",
        /// Revive queue of the new checkpoint.
        revive_qid: req i32 = "reviveQid",
    }
}

ext_header! {
    /// NOTIFICATION (200054): does the group have something to pop? Held like a pop.
    pub struct NotificationRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue, or -1 for all.
        queue_id: req i32 = "queueId",
        /// Long-poll time (ms).
        poll_time: req i64 = "pollTime",
        /// When the client built the request (ms); filled in when absent or 0.
        born_time: opt i64 = "bornTime",
        /// Orderly.
        order: opt bool = "order",
        /// Orderly attempt id.
        attempt_id: opt String = "attemptId",
    }
}

ext_header! {
    /// NOTIFICATION response.
    pub struct NotificationResponseHeader {
        /// Whether a pop would find messages.
        has_msg: req bool = "hasMsg",
        /// The hold was refused: too many held requests.
        polling_full: req bool = "pollingFull",
    }
}
