//! Headers of the name-server requests (`remoting:protocol/header/namesrv/`).

use crate::ext_header;

ext_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        /// Topic whose route is wanted.
        topic: req String = "topic",
        /// Ask for standard JSON whatever the caller's version.
        accept_standard_json_only: opt bool = "acceptStandardJsonOnly",
    }
}

ext_header! {
    /// REGISTER_BROKER (103).
    pub struct RegisterBrokerRequestHeader {
        /// Broker name, shared by master and slaves.
        broker_name: req String = "brokerName",
        /// `brokerIP1:listenPort`.
        broker_addr: req String = "brokerAddr",
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// `brokerIP2:haListenPort`.
        ha_server_addr: req String = "haServerAddr",
        /// 0 for the master.
        broker_id: req i64 = "brokerId",
        /// Liveness timeout the broker asks for (5.x).
        heartbeat_timeout_millis: opt i64 = "heartbeatTimeoutMillis",
        /// Slave-acting-master mode (5.x).
        enable_acting_master: opt bool = "enableActingMaster",
        /// Body is the zlib form; Java's field is a primitive, so absence reads as false.
        compressed: opt bool = "compressed",
        /// `CRC32(body) & 0x7FFFFFFF`, 0 when not checked.
        body_crc32: opt i32 = "bodyCrc32",
    }
}

ext_header! {
    /// REGISTER_BROKER response.
    pub struct RegisterBrokerResponseHeader {
        /// The master's HA address, for slaves.
        ha_server_addr: opt String = "haServerAddr",
        /// The master's address, for slaves.
        master_addr: opt String = "masterAddr",
    }
}

ext_header! {
    /// UNREGISTER_BROKER (104).
    pub struct UnRegisterBrokerRequestHeader {
        /// Broker name.
        broker_name: req String = "brokerName",
        /// Broker address.
        broker_addr: req String = "brokerAddr",
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// Broker id.
        broker_id: req i64 = "brokerId",
    }
}

ext_header! {
    /// QUERY_DATA_VERSION (322).
    pub struct QueryDataVersionRequestHeader {
        /// Broker name.
        broker_name: req String = "brokerName",
        /// Broker address.
        broker_addr: req String = "brokerAddr",
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// Broker id.
        broker_id: req i64 = "brokerId",
    }
}

ext_header! {
    /// QUERY_DATA_VERSION response.
    pub struct QueryDataVersionResponseHeader {
        /// Whether the broker's data version differs from the registered one.
        changed: req bool = "changed",
    }
}

ext_header! {
    /// BROKER_HEARTBEAT (904).
    pub struct BrokerHeartbeatRequestHeader {
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// Broker address.
        broker_addr: req String = "brokerAddr",
        /// Broker name.
        broker_name: req String = "brokerName",
        /// Broker id.
        broker_id: opt i64 = "brokerId",
        /// Controller epoch.
        epoch: opt i32 = "epoch",
        /// Max CommitLog offset.
        max_offset: opt i64 = "maxOffset",
        /// Confirmed offset.
        confirm_offset: opt i64 = "confirmOffset",
        /// Liveness timeout (Java spells it "Mills").
        heartbeat_timeout_mills: opt i64 = "heartbeatTimeoutMills",
        /// Election priority.
        election_priority: opt i32 = "electionPriority",
    }
}

ext_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKvConfigRequestHeader {
        /// Namespace.
        namespace: req String = "namespace",
        /// Key.
        key: req String = "key",
        /// Value.
        value: req String = "value",
    }
}

ext_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102).
    pub struct KvConfigKeyRequestHeader {
        /// Namespace.
        namespace: req String = "namespace",
        /// Key.
        key: req String = "key",
    }
}

ext_header! {
    /// GET_KV_CONFIG response.
    pub struct GetKvConfigResponseHeader {
        /// The value.
        value: opt String = "value",
    }
}

ext_header! {
    /// GET_KVLIST_BY_NAMESPACE (219).
    pub struct GetKvListByNamespaceRequestHeader {
        /// Namespace.
        namespace: req String = "namespace",
    }
}

ext_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        /// Topic.
        topic: req String = "topic",
        /// Only this cluster's brokers (5.x).
        cluster_name: opt String = "clusterName",
    }
}

ext_header! {
    /// GET_TOPICS_BY_CLUSTER (224).
    pub struct GetTopicsByClusterRequestHeader {
        /// Cluster name.
        cluster: req String = "cluster",
    }
}

ext_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327).
    pub struct BrokerNameRequestHeader {
        /// Broker name.
        broker_name: req String = "brokerName",
    }
}

ext_header! {
    /// WIPE_WRITE_PERM_OF_BROKER response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        /// Queue datas changed.
        wipe_topic_count: req i32 = "wipeTopicCount",
    }
}

ext_header! {
    /// ADD_WRITE_PERM_OF_BROKER response.
    pub struct AddWritePermOfBrokerResponseHeader {
        /// Queue datas changed.
        add_topic_count: req i32 = "addTopicCount",
    }
}

ext_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217).
    pub struct RegisterTopicRequestHeader {
        /// Topic.
        topic: req String = "topic",
    }
}

ext_header! {
    /// GET_BROKER_MEMBER_GROUP (901).
    pub struct GetBrokerMemberGroupRequestHeader {
        /// Cluster name.
        cluster_name: req String = "clusterName",
        /// Broker name.
        broker_name: req String = "brokerName",
    }
}
