//! Headers of the broker's request codes (`remoting:protocol/header/`).

use crate::ext_header;

ext_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).
    pub struct PullMessageRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// First offset wanted.
        queue_offset: req i64 = "queueOffset",
        /// Most messages.
        max_msg_nums: req i32 = "maxMsgNums",
        /// `PullSysFlag` bits.
        sys_flag: req i32 = "sysFlag",
        /// Offset to commit (with the commit flag).
        commit_offset: req i64 = "commitOffset",
        /// Long-poll time.
        suspend_timeout_millis: req i64 = "suspendTimeoutMillis",
        /// Subscription expression (with the subscription flag).
        subscription: opt String = "subscription",
        /// Subscription version.
        sub_version: req i64 = "subVersion",
        /// `TAG` / `SQL92`.
        expression_type: opt String = "expressionType",
        /// Byte cap (5.x).
        max_msg_bytes: opt i32 = "maxMsgBytes",
    }
}

ext_header! {
    /// PULL_MESSAGE response.
    pub struct PullMessageResponseHeader {
        /// Broker to pull from next.
        suggest_which_broker_id: req i64 = "suggestWhichBrokerId",
        /// Where the next pull starts.
        next_begin_offset: req i64 = "nextBeginOffset",
        /// Queue min offset.
        min_offset: req i64 = "minOffset",
        /// Queue max offset.
        max_offset: req i64 = "maxOffset",
        /// Topic flags (5.x).
        topic_sys_flag: opt i32 = "topicSysFlag",
        /// Group flags (5.x).
        group_sys_flag: opt i32 = "groupSysFlag",
    }
}

ext_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Answer 0 instead of QUERY_NOT_FOUND (5.x).
        set_zero_if_not_found: opt bool = "setZeroIfNotFound",
    }
}

ext_header! {
    /// Responses carrying one offset (14, 29, 30, 31).
    pub struct OffsetResponseHeader {
        /// The offset.
        offset: req i64 = "offset",
    }
}

ext_header! {
    /// UPDATE_CONSUMER_OFFSET (15).
    pub struct UpdateConsumerOffsetRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Offset.
        commit_offset: req i64 = "commitOffset",
    }
}

ext_header! {
    /// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32).
    pub struct TopicQueueRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
    }
}

ext_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Queue.
        queue_id: req i32 = "queueId",
        /// Time, ms.
        timestamp: req i64 = "timestamp",
        /// `lower` / `upper` (5.x).
        boundary_type: opt String = "boundaryType",
    }
}

ext_header! {
    /// GET_EARLIEST_MSG_STORETIME response.
    pub struct EarliestMsgStoretimeResponseHeader {
        /// Store time, ms.
        timestamp: req i64 = "timestamp",
    }
}

ext_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40).
    pub struct ConsumerGroupRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
    }
}

ext_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        /// Client id.
        client_id: req String = "clientID",
        /// Producer group.
        producer_group: opt String = "producerGroup",
        /// Consumer group.
        consumer_group: opt String = "consumerGroup",
    }
}

ext_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Template.
        default_topic: opt String = "defaultTopic",
        /// Read queues.
        read_queue_nums: req i32 = "readQueueNums",
        /// Write queues.
        write_queue_nums: req i32 = "writeQueueNums",
        /// Permission.
        perm: req i32 = "perm",
        /// `SINGLE_TAG` / `MULTI_TAG`.
        topic_filter_type: opt String = "topicFilterType",
        /// Flags.
        topic_sys_flag: opt i32 = "topicSysFlag",
        /// Ordered.
        order: opt bool = "order",
        /// Attributes (5.x).
        attributes: opt String = "attributes",
    }
}

ext_header! {
    /// Requests naming one topic (215, 202, 300, 351).
    pub struct TopicRequestHeader {
        /// Topic.
        topic: req String = "topic",
    }
}

ext_header! {
    /// GET_CONSUME_STATS (208).
    pub struct GetConsumeStatsRequestHeader {
        /// Group.
        consumer_group: req String = "consumerGroup",
        /// Only this topic.
        topic: opt String = "topic",
    }
}

ext_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204).
    pub struct ProducerGroupRequestHeader {
        /// Group.
        producer_group: req String = "producerGroup",
    }
}

ext_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        /// Group.
        group_name: req String = "groupName",
        /// Also drop offsets (5.x).
        clean_offset: opt bool = "cleanOffset",
    }
}

ext_header! {
    /// VIEW_MESSAGE_BY_ID (33).
    pub struct ViewMessageRequestHeader {
        /// CommitLog offset.
        offset: req i64 = "offset",
    }
}

ext_header! {
    /// CONSUMER_SEND_MSG_BACK (36).
    pub struct ConsumerSendMsgBackRequestHeader {
        /// CommitLog offset of the failed message.
        offset: req i64 = "offset",
        /// Group.
        group: req String = "group",
        /// Delay level (0: broker picks, negative: DLQ).
        delay_level: req i32 = "delayLevel",
        /// Original message id.
        origin_msg_id: opt String = "originMsgId",
        /// Original topic.
        origin_topic: opt String = "originTopic",
        /// Unit mode.
        unit_mode: opt bool = "unitMode",
        /// Attempts before the DLQ.
        max_reconsume_times: opt i32 = "maxReconsumeTimes",
    }
}

ext_header! {
    /// QUERY_MESSAGE (12).
    pub struct QueryMessageRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Key.
        key: req String = "key",
        /// Most results.
        max_num: req i32 = "maxNum",
        /// From, ms.
        begin_timestamp: req i64 = "beginTimestamp",
        /// To, ms.
        end_timestamp: req i64 = "endTimestamp",
    }
}

ext_header! {
    /// QUERY_MESSAGE response.
    pub struct QueryMessageResponseHeader {
        /// Index time.
        index_last_update_timestamp: req i64 = "indexLastUpdateTimestamp",
        /// Index offset.
        index_last_update_phyoffset: req i64 = "indexLastUpdatePhyoffset",
    }
}

ext_header! {
    /// END_TRANSACTION (37).
    pub struct EndTransactionRequestHeader {
        /// Producer group of the half message.
        producer_group: req String = "producerGroup",
        /// Half-topic queue offset.
        tran_state_table_offset: req i64 = "tranStateTableOffset",
        /// CommitLog offset of the half message.
        commit_log_offset: req i64 = "commitLogOffset",
        /// 0 unknown, 8 commit, 12 rollback.
        commit_or_rollback: req i32 = "commitOrRollback",
        /// Sent in answer to a check.
        from_transaction_check: opt bool = "fromTransactionCheck",
        /// Message id.
        msg_id: opt String = "msgId",
        /// Transaction id (UNIQ_KEY).
        transaction_id: opt String = "transactionId",
    }
}

ext_header! {
    /// CHECK_TRANSACTION_STATE (39), broker → producer (`CheckTransactionStateRequestHeader`).
    pub struct CheckTransactionStateRequestHeader {
        /// The message's real topic.
        topic: opt String = "topic",
        /// Half-topic queue offset of the (re-put) half message.
        tran_state_table_offset: req i64 = "tranStateTableOffset",
        /// Its CommitLog offset.
        commit_log_offset: req i64 = "commitLogOffset",
        /// Client message id (UNIQ_KEY).
        msg_id: opt String = "msgId",
        /// Transaction id (the same UNIQ_KEY).
        transaction_id: opt String = "transactionId",
        /// Offset message id of the half message.
        offset_msg_id: opt String = "offsetMsgId",
        /// The broker's name (`RpcRequestHeader`).
        broker_name: opt String = "brokerName",
    }
}
