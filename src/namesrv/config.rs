//! Name-server configuration: `NamesrvConfig` and `NettyServerConfig` keys with Java's defaults
//! (5.3.3), in declaration order so `-p` lists them as Java does.

use std::path::PathBuf;

use crate::config::table::{ConfigValues, KeyDef};
use crate::config_keys as keys;

/// `NamesrvConfig` fields (`common:namesrv/NamesrvConfig.java`).
pub const NAMESRV_KEYS: &[KeyDef] = keys! {
    "rocketmqHome": Str = "",
    "kvConfigPath": Str = "",
    "configStorePath": Str = "",
    "productEnvName": Str = "center",
    "clusterTest": Bool = "false",
    "orderMessageEnable": Bool = "false",
    "returnOrderTopicConfigToBroker": Bool = "true",
    "clientRequestThreadPoolNums": Int = "8",
    "defaultThreadPoolNums": Int = "16",
    "clientRequestThreadPoolQueueCapacity": Int = "50000",
    "defaultThreadPoolQueueCapacity": Int = "10000",
    "scanNotActiveBrokerInterval": Long = "5000",
    "unRegisterBrokerQueueCapacity": Int = "3000",
    "supportActingMaster": Bool = "false",
    "enableAllTopicList": Bool = "true",
    "enableTopicList": Bool = "true",
    "notifyMinBrokerIdChanged": Bool = "false",
    "enableControllerInNamesrv": Bool = "false",
    "needWaitForService": Bool = "false",
    "waitSecondsForService": Int = "45",
    "deleteTopicWithBrokerRegistration": Bool = "false",
    "configBlackList": Str = "configBlackList;configStorePath;kvConfigPath",
    // Ours (no Java key; Java deployments run a separate web server for this): the HTTP port
    // answering `/rocketmq/<subgroup>` with the name-server list, for clients started with
    // `-Drocketmq.namesrv.domain=<host>:<port>` and no address (0 = off; Java clients ask port
    // 8080 when the domain names no port). See `namesrv::address_server`.
    "addressServerPort": Int = "0",
    // The `;`-separated list served; empty serves `<address the request came to>:<listenPort>`.
    "addressServerNamesrvAddr": Str = "",
    // Subgroups answered (`rocketmq.namesrv.domain.subgroup`, default `nsaddr`), `;`-separated.
    "addressServerSubgroup": Str = "nsaddr",
};

/// `NettyServerConfig` fields (`remoting:netty/NettyServerConfig.java`). Thread and buffer knobs
/// have no meaning under tokio; they are accepted and reported so scripts keep working.
pub const NETTY_SERVER_KEYS: &[KeyDef] = keys! {
    "bindAddress": Str = "0.0.0.0",
    "listenPort": Int = "9876",
    "serverWorkerThreads": Int = "8",
    "serverCallbackExecutorThreads": Int = "0",
    "serverSelectorThreads": Int = "3",
    "serverOnewaySemaphoreValue": Int = "256",
    "serverAsyncSemaphoreValue": Int = "64",
    "serverChannelMaxIdleTimeSeconds": Int = "120",
    "serverSocketSndBufSize": Int = "0",
    "serverSocketRcvBufSize": Int = "0",
    "writeBufferHighWaterMark": Int = "0",
    "writeBufferLowWaterMark": Int = "0",
    "serverSocketBacklog": Int = "1024",
    "serverNettyWorkerGroupEnable": Bool = "true",
    "serverPooledByteBufAllocatorEnable": Bool = "true",
    "enableShutdownGracefully": Bool = "false",
    "shutdownWaitTimeSeconds": Int = "30",
    "useEpollNativeSelector": Bool = "false",
    // Ours (no Java key): the memory budget over all large inbound frames of the process
    // (`limits::DEFAULT_INBOUND_BUDGET_BYTES`, 512 MiB).
    "serverInboundBudgetBytes": Long = "536870912",
    // Ours (no Java key; Java accepts until it runs out of descriptors): most connections per
    // listener, at which the stalest is closed for each new one; held under the open-file limit
    // (`limits::DEFAULT_SERVER_MAX_CONNECTIONS`, `net::connection_cap`).
    "serverMaxConnections": Int = "65536",
};

/// Keys no remote update may touch, whatever `configBlackList` says
/// (CVE-2023-33246 / CVE-2023-37582: these name files the server writes or reads).
pub const ALWAYS_BLOCKED_KEYS: &[&str] = &[
    "configBlackList",
    "configStorePath",
    "kvConfigPath",
    "rocketmqHome",
];

/// The user's home directory, as Java's `user.home`.
fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Defaults with the environment applied (home-relative paths, `ROCKETMQ_HOME`).
#[must_use]
pub fn defaults() -> ConfigValues {
    let home = home_dir();
    let overrides = [
        (
            "rocketmqHome",
            std::env::var("ROCKETMQ_HOME").unwrap_or_default(),
        ),
        (
            "kvConfigPath",
            home.join("namesrv")
                .join("kvConfig.json")
                .display()
                .to_string(),
        ),
        (
            "configStorePath",
            home.join("namesrv")
                .join("namesrv.properties")
                .display()
                .to_string(),
        ),
    ];
    ConfigValues::new(&[NAMESRV_KEYS, NETTY_SERVER_KEYS], &overrides)
}

/// The full set of keys a remote update must not touch.
#[must_use]
pub fn blocked_keys(config: &ConfigValues) -> Vec<String> {
    let mut keys: Vec<String> = ALWAYS_BLOCKED_KEYS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    keys.extend(
        config
            .get("configBlackList")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    );
    keys
}
