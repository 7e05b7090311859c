//! Broker configuration: `BrokerConfig`, `MessageStoreConfig` and `NettyServerConfig` keys with
//! Java 5.3.3 defaults, in declaration order for `-p`; `=> important` marks what `-m` prints.

use std::net::ToSocketAddrs as _;
use std::path::PathBuf;

use crate::config::table::{ConfigValues, KeyDef};
use crate::config_keys as keys;
use crate::store::{FlushDiskType, StoreConfig};

/// `BrokerConfig` fields that matter on the wire or to operators.
pub const BROKER_KEYS: &[KeyDef] = keys! {
    "rocketmqHome": Str = "" => important,
    "namesrvAddr": Str = "" => important,
    "listenPort": Int = "10911" => important,
    "brokerIP1": Str = "" => important,
    "brokerIP2": Str = "" => important,
    "brokerPermission": Int = "6",
    "defaultTopicQueueNums": Int = "8",
    "autoCreateTopicEnable": Bool = "true" => important,
    "clusterTopicEnable": Bool = "true",
    "brokerTopicEnable": Bool = "true",
    "autoCreateSubscriptionGroup": Bool = "true" => important,
    "messageStorePlugIn": Str = "",
    "msgTraceTopicName": Str = "RMQ_SYS_TRACE_TOPIC",
    "traceTopicEnable": Bool = "false",
    "sendMessageThreadPoolNums": Int = "2",
    "pullMessageThreadPoolNums": Int = "20",
    "sendThreadPoolQueueCapacity": Int = "10000",
    "pullThreadPoolQueueCapacity": Int = "100000",
    "litePullThreadPoolQueueCapacity": Int = "100000",
    "ackThreadPoolQueueCapacity": Int = "100000",
    "queryThreadPoolQueueCapacity": Int = "20000",
    "clientManagerThreadPoolQueueCapacity": Int = "1000000",
    "heartbeatThreadPoolQueueCapacity": Int = "50000",
    "consumerManagerThreadPoolQueueCapacity": Int = "1000000",
    "endTransactionPoolQueueCapacity": Int = "100000",
    "replyThreadPoolQueueCapacity": Int = "10000",
    "loadBalanceThreadPoolQueueCapacity": Int = "100000",
    "adminBrokerThreadPoolQueueCapacity": Int = "10000",
    "brokerName": Str = "" => important,
    "brokerClusterName": Str = "DefaultCluster" => important,
    "brokerId": Long = "0" => important,
    "regionId": Str = "DefaultRegion",
    "traceOn": Bool = "true",
    "rejectTransactionMessage": Bool = "false",
    "transactionTimeOut": Long = "6000",
    "transactionCheckMax": Int = "15",
    "transactionCheckInterval": Long = "30000",
    "fetchNamesrvAddrByAddressServer": Bool = "false",
    "registerBrokerTimeoutMills": Int = "24000",
    "registerNameServerPeriod": Int = "30000",
    "brokerNotActiveTimeoutMillis": Long = "10000",
    "forceRegister": Bool = "true",
    "compressedRegister": Bool = "false",
    "longPollingEnable": Bool = "true",
    "shortPollingTimeMills": Long = "1000",
    "notifyConsumerIdsChangedEnable": Bool = "true",
    "highSpeedMode": Bool = "false",
    "transferMsgByHeap": Bool = "true",
    "maxDelayTime": Int = "40",
    "enablePropertyFilter": Bool = "false",
    "filterSupportRetry": Bool = "false",
    "slaveReadEnable": Bool = "false",
    "offsetCheckInSlave": Bool = "false",
    "enableDetailStat": Bool = "true",
    "aclEnable": Bool = "false",
    "storeReplyMessageEnable": Bool = "true",
    "recallMessageEnable": Bool = "false",
    "allowRecallWhenBrokerNotWriteable": Bool = "true",
    "enableSlaveActingMaster": Bool = "false",
    "enableControllerMode": Bool = "false",
    "consumerOffsetUpdateVersionStep": Long = "500",
    "brokerFastFailureEnable": Bool = "true",
    "waitTimeMillsInSendQueue": Long = "200",
    "waitTimeMillsInPullQueue": Long = "5000",
    "waitTimeMillsInLitePullQueue": Long = "5000",
    "waitTimeMillsInHeartbeatQueue": Long = "31000",
    "waitTimeMillsInTransactionQueue": Long = "3000",
    "waitTimeMillsInAckQueue": Long = "3000",
    "waitTimeMillsInAdminBrokerQueue": Long = "5000",
    "channelNotActiveInterval": Long = "60000",
    "metricsExporterType": Str = "DISABLE",
    "metricsPromExporterPort": Int = "5557",
    "metricsLabel": Str = "",
    "metricsInDelta": Bool = "false",
    "metricLoggingExporterIntervalInMills": Long = "10000",
    "reviveQueueNum": Int = "8",
    "reviveInterval": Long = "1000",
    "popFromRetryProbability": Int = "20",
    "enableRetryTopicV2": Bool = "false",
    "enablePopBufferMerge": Bool = "false",
    "defaultMessageRequestMode": Str = "PULL",
    "defaultPopShareQueueNum": Int = "-1",
    "serverLoadBalancerEnable": Bool = "true",
    "brokerConfigPath": Str = "",
    "validateSystemTopicWhenUpdateTopic": Bool = "true",
    "clearRetryTopicWhenDeleteTopic": Bool = "true",
};

/// `AuthConfig` fields (ACL 2.0, `broker::auth`). The provider and strategy class names are
/// accepted and not used: ours is always the local provider pair (`Default*Provider` with
/// `Local*MetadataProvider`), and the caches do not apply (everything is in memory).
pub const AUTH_KEYS: &[KeyDef] = keys! {
    "authenticationEnabled": Bool = "false",
    "authenticationProvider": Str = "",
    "authenticationMetadataProvider": Str = "",
    "authenticationStrategy": Str = "",
    "authenticationWhitelist": Str = "",
    "initAuthenticationUser": Str = "",
    "innerClientAuthenticationCredentials": Str = "",
    "authorizationEnabled": Bool = "false",
    "authorizationProvider": Str = "",
    "authorizationMetadataProvider": Str = "",
    "authorizationStrategy": Str = "",
    "authorizationWhitelist": Str = "",
    "migrateAuthFromV1Enabled": Bool = "false",
    "userCacheMaxNum": Int = "1000",
    "userCacheExpiredSecond": Int = "600",
    "userCacheRefreshSecond": Int = "60",
    "aclCacheMaxNum": Int = "1000",
    "aclCacheExpiredSecond": Int = "600",
    "aclCacheRefreshSecond": Int = "60",
    "statefulAuthenticationCacheMaxNum": Int = "10000",
    "statefulAuthenticationCacheExpiredSecond": Int = "60",
    "statefulAuthorizationCacheMaxNum": Int = "10000",
    "statefulAuthorizationCacheExpiredSecond": Int = "60",
};

/// `MessageStoreConfig` fields.
pub const STORE_KEYS: &[KeyDef] = keys! {
    "storePathRootDir": Str = "" => important,
    "storePathCommitLog": Str = "" => important,
    "mappedFileSizeCommitLog": Int = "1073741824",
    "mappedFileSizeConsumeQueue": Int = "6000000",
    "flushIntervalCommitLog": Int = "500",
    "flushCommitLogLeastPages": Int = "4",
    "flushCommitLogThoroughInterval": Int = "10000",
    "flushIntervalConsumeQueue": Int = "1000",
    "flushConsumeQueueLeastPages": Int = "2",
    "deleteWhen": Str = "04" => important,
    "fileReservedTime": Int = "72" => important,
    "diskMaxUsedSpaceRatio": Int = "75",
    "diskSpaceWarningLevelRatio": Int = "90",
    "diskSpaceCleanForciblyRatio": Int = "85",
    "cleanFileForciblyEnable": Bool = "true",
    "maxMessageSize": Int = "4194304",
    "checkCRCOnRecover": Bool = "true",
    "messageIndexEnable": Bool = "true",
    "maxHashSlotNum": Int = "5000000",
    "maxIndexNum": Int = "20000000",
    "brokerRole": Str = "ASYNC_MASTER" => important,
    "flushDiskType": Str = "ASYNC_FLUSH" => important,
    "syncFlushTimeout": Long = "5000",
    "messageDelayLevel": Str = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h",
    "haListenPort": Int = "10912" => important,
    "haMasterAddress": Str = "",
    "haSendHeartbeatInterval": Int = "5000",
    "haHousekeepingInterval": Int = "20000",
    "haTransferBatchSize": Int = "32768",
    "haMaxGapNotInSync": Int = "268435456",
    "slaveTimeout": Int = "3000",
    "inSyncReplicas": Int = "1",
    "accessMessageInMemoryMaxRatio": Int = "40",
    "transientStorePoolEnable": Bool = "false",
    "warmMapedFileEnable": Bool = "false",
    "autoMessageVersionOnTopicLen": Bool = "true",
    "maxTransferBytesOnMessageInMemory": Int = "262144",
    "maxTransferCountOnMessageInMemory": Int = "32",
    "enableDLegerCommitLog": Bool = "false",
    "timerWheelEnable": Bool = "true",
    "timerPrecisionMs": Int = "1000",
    "timerRollWindowSlot": Int = "172800",
    "mappedFileSizeTimerLog": Int = "104857600",
    "timerMaxDelaySec": Int = "259200",
    "timerFlushIntervalMs": Int = "1000",
    "timerCongestNumEachSlot": Int = "2147483647",
    "timerStopEnqueue": Bool = "false",
    "timerStopDequeue": Bool = "false",
    "enableLmq": Bool = "false",
    "enableMultiDispatch": Bool = "false",
    "maxLmqConsumeQueueNum": Int = "20000",
};

/// `NettyServerConfig` fields a broker file may carry (`listenPort` is in [`BROKER_KEYS`]).
pub const NETTY_KEYS: &[KeyDef] = keys! {
    "serverWorkerThreads": Int = "8",
    "serverSelectorThreads": Int = "3",
    "serverOnewaySemaphoreValue": Int = "256",
    "serverAsyncSemaphoreValue": Int = "64",
    "serverChannelMaxIdleTimeSeconds": Int = "120",
    // Ours (no Java key): the memory budget over all large inbound frames of the process
    // (`limits::DEFAULT_INBOUND_BUDGET_BYTES`, 512 MiB).
    "serverInboundBudgetBytes": Long = "536870912",
    // Ours (no Java key; Java accepts until it runs out of descriptors): most connections per
    // listener, at which the stalest is closed for each new one; held under the open-file limit
    // (`limits::DEFAULT_SERVER_MAX_CONNECTIONS`, `net::connection_cap`).
    "serverMaxConnections": Int = "65536",
};

/// The built-in gRPC endpoint (Java's `rocketmq-proxy` in local mode; `ProxyConfig` keys).
pub const PROXY_KEYS: &[KeyDef] = keys! {
    // Ours: Java starts the in-broker proxy with `mqbroker --enable-proxy`; this key (and our
    // `mqbroker --enable-proxy`) turns the endpoint on. `rocketmq-standalone` has it on.
    "enableProxy": Bool = "false",
    "grpcServerPort": Int = "8081",
    "grpcClientIdleTimeMills": Long = "120000",
    // Receipt-handle auto-renewal of push consumers (`grpc::renew`, Java's
    // `DefaultReceiptHandleManager`).
    "enableProxyAutoRenew": Bool = "true",
    "defaultInvisibleTimeMills": Long = "60000",
    "renewAheadTimeMillis": Long = "10000",
    "renewSchedulePeriodMillis": Long = "5000",
    "renewMaxTimeMillis": Long = "10800000",
    "maxRenewRetryTimes": Int = "3",
    "invisibleTimeMillisWhenClear": Long = "1000",
    // TLS on the gRPC port (`grpc::tls`, Java's `ProxyAndTlsProtocolNegotiator`). Java reads the
    // mode from the `tls.server.mode` system property (`TlsSystemConfig`, default permissive);
    // `tlsMode` here, else `tls.server.mode`, else permissive. The paths: `tlsKeyPath` /
    // `tlsCertPath` (`ProxyConfig`), else `tls.server.keyPath` / `tls.server.certPath`, else
    // `<rocketmqHome>/conf/tls/rocketmq.key|crt` (Java: the proxy home).
    "tlsMode": Str = "",
    "tls.server.mode": Str = "",
    "tlsTestModeEnable": Bool = "true",
    "tlsKeyPath": Str = "",
    "tlsCertPath": Str = "",
    "tls.server.keyPath": Str = "",
    "tls.server.certPath": Str = "",
    // Client certificates on the gRPC port (`grpc::tls::ClientCerts`), Java's `TlsSystemConfig`
    // keys: `none` / `optional` / `require`; verified against `tls.server.trustCertPath` only
    // with `tls.server.authClient=true` (else any certificate, as Java's insecure trust
    // manager). Java's proxy reads them for its remoting TLS only and never asks gRPC clients.
    "tls.server.need.client.auth": Str = "none",
    "tls.server.authClient": Bool = "false",
    "tls.server.trustCertPath": Str = "",
};

/// The machine's hostname (Java's default `brokerName`).
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "DEFAULT_BROKER".to_owned())
}

/// The first non-loopback IPv4 address the hostname resolves to (`RemotingUtil.getLocalAddress`),
/// else 127.0.0.1. Resolution uses the hosts file / resolver only; nothing is sent.
fn local_address(host: &str) -> String {
    (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut it| it.find(|a| a.is_ipv4() && !a.ip().is_loopback()))
        .map_or_else(|| "127.0.0.1".to_owned(), |a| a.ip().to_string())
}

/// Defaults with the environment applied.
#[must_use]
pub fn defaults() -> ConfigValues {
    let host = hostname();
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let ip = local_address(&host);
    let overrides = [
        (
            "rocketmqHome",
            std::env::var("ROCKETMQ_HOME").unwrap_or_default(),
        ),
        (
            "namesrvAddr",
            std::env::var("NAMESRV_ADDR").unwrap_or_default(),
        ),
        ("brokerName", host),
        ("brokerIP1", ip.clone()),
        ("brokerIP2", ip),
        ("storePathRootDir", home.join("store").display().to_string()),
    ];
    ConfigValues::new(
        &[BROKER_KEYS, STORE_KEYS, NETTY_KEYS, PROXY_KEYS, AUTH_KEYS],
        &overrides,
    )
}

/// Fills keys derived from others after the file and flags are applied (Java `BrokerStartup`):
/// `haListenPort` defaults to `listenPort + 1`, `storePathCommitLog` to `<root>/commitlog`,
/// `brokerIP2` to `brokerIP1`, and a master's id is forced to 0.
pub fn finish(config: &mut ConfigValues, explicit: &[String]) {
    let given = |k: &str| explicit.iter().any(|e| e == k);
    if !given("haListenPort") {
        let port = config.get_i64("listenPort") + 1;
        let _ = config.set("haListenPort", &port.to_string());
    }
    if config.get("storePathCommitLog").is_empty() {
        let p = PathBuf::from(config.get("storePathRootDir")).join("commitlog");
        let _ = config.set("storePathCommitLog", &p.display().to_string());
    }
    if !given("brokerIP2") {
        let ip = config.get("brokerIP1").to_owned();
        let _ = config.set("brokerIP2", &ip);
    }
    if config.get("brokerRole") != "SLAVE" {
        let _ = config.set("brokerId", "0");
    }
}

/// The store settings the config names.
#[must_use]
pub fn store_config(c: &ConfigValues) -> StoreConfig {
    let mut s = StoreConfig::new(c.get("storePathRootDir"));
    let size = |k: &str, d: usize| {
        usize::try_from(c.get_i64(k))
            .ok()
            .filter(|v| *v > 0)
            .unwrap_or(d)
    };
    let ms = |k: &str, d: u64| {
        u64::try_from(c.get_i64(k))
            .ok()
            .filter(|v| *v > 0)
            .unwrap_or(d)
    };
    s.commit_log_file_size = size("mappedFileSizeCommitLog", s.commit_log_file_size);
    s.consume_queue_file_size = size("mappedFileSizeConsumeQueue", s.consume_queue_file_size);
    s.flush_disk_type = if c.get("flushDiskType") == "SYNC_FLUSH" {
        FlushDiskType::SyncFlush
    } else {
        FlushDiskType::AsyncFlush
    };
    s.flush_interval_commit_log_ms = ms("flushIntervalCommitLog", s.flush_interval_commit_log_ms);
    s.flush_commit_log_least_pages =
        size("flushCommitLogLeastPages", s.flush_commit_log_least_pages);
    s.flush_commit_log_thorough_interval_ms = ms(
        "flushCommitLogThoroughInterval",
        s.flush_commit_log_thorough_interval_ms,
    );
    s.flush_interval_consume_queue_ms = ms(
        "flushIntervalConsumeQueue",
        s.flush_interval_consume_queue_ms,
    );
    s.sync_flush_timeout_ms = ms("syncFlushTimeout", s.sync_flush_timeout_ms);
    s.max_message_size = size("maxMessageSize", s.max_message_size);
    s.check_crc_on_recover = c.get_bool("checkCRCOnRecover");
    s.message_index_enable = c.get_bool("messageIndexEnable");
    s.max_hash_slot_num = size("maxHashSlotNum", s.max_hash_slot_num);
    s.max_index_num = size("maxIndexNum", s.max_index_num);
    s.auto_message_version_on_topic_len = c.get_bool("autoMessageVersionOnTopicLen");
    s.message_delay_level = c.get("messageDelayLevel").to_owned();
    s.delete_when = c.get("deleteWhen").to_owned();
    s.file_reserved_time_hours = u64::try_from(c.get_i64("fileReservedTime")).unwrap_or(72);
    s.disk_max_used_space_ratio = u64::try_from(c.get_i64("diskMaxUsedSpaceRatio"))
        .unwrap_or(75)
        .clamp(10, 95);
    s.disk_space_warning_level_ratio =
        u64::try_from(c.get_i64("diskSpaceWarningLevelRatio")).unwrap_or(90);
    s.disk_space_clean_forcibly_ratio =
        u64::try_from(c.get_i64("diskSpaceCleanForciblyRatio")).unwrap_or(85);
    s.clean_file_forcibly_enable = c.get_bool("cleanFileForciblyEnable");
    s.enable_lmq = c.get_bool("enableLmq");
    s.enable_multi_dispatch = c.get_bool("enableMultiDispatch");
    s.max_lmq_consume_queue_num = usize::try_from(c.get_i64("maxLmqConsumeQueueNum")).unwrap_or(0);
    // `BrokerStartup` lowers a slave's ratio by 10 points.
    let ratio = u64::try_from(c.get_i64("accessMessageInMemoryMaxRatio")).unwrap_or(40);
    s.access_message_in_memory_max_ratio = if c.get("brokerRole") == "SLAVE" {
        ratio.saturating_sub(10)
    } else {
        ratio
    };
    let cl = c.get("storePathCommitLog");
    if !cl.is_empty() {
        s.commit_log_path = Some(PathBuf::from(cl));
    }
    s
}
