//! Registration with the name servers (`BrokerOuterAPI.registerBrokerAll`): the whole table at
//! start and every `registerNameServerPeriod`; after a topic is created or updated only that
//! topic (`registerIncrementBrokerData`), after other changes the whole table again;
//! unregistration at clean shutdown.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::Broker;
use super::topic_config::{RegisterScope, topic_config_node};
use crate::checksum::java_crc32;
use crate::remoting::body::topic_config::{PERM_READ, PERM_WRITE};
use crate::remoting::header::namesrv::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use crate::remoting::json_tree::{Key, Node};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// The name-server addresses (`namesrvAddr`, `;`-separated).
#[must_use]
pub fn namesrv_addrs(broker: &Broker) -> Vec<String> {
    let raw = broker.config_str("namesrvAddr");
    raw.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The REGISTER_BROKER body: `{"filterServerList":[],"topicConfigSerializeWrapper":{…}}`.
#[must_use]
pub fn register_body(broker: &Broker) -> Vec<u8> {
    register_body_for(broker, &RegisterScope::Full)
}

/// The body for `scope`: the whole table, or only some topics (`registerIncrementBrokerData`).
fn register_body_for(broker: &Broker, scope: &RegisterScope) -> Vec<u8> {
    let dv = broker.topics.data_version();
    let configs = match scope {
        RegisterScope::Full => broker.topics.all(),
        RegisterScope::Topics(names) => names.iter().filter_map(|t| broker.topics.get(t)).collect(),
    };
    let table: Vec<(Key, Node)> = configs
        .iter()
        .map(|tc| {
            let mut tc = tc.clone();
            // The broker-wide permission caps every topic's (`registerBrokerAll`).
            let p = broker.permission();
            if p & PERM_WRITE == 0 || p & PERM_READ == 0 {
                tc.perm &= p;
            }
            (Key::Str(tc.topic_name.clone()), topic_config_node(&tc))
        })
        .collect();
    let wrapper = Node::object(vec![
        ("dataVersion", super::topic_config::data_version_node(&dv)),
        (
            "mappingDataVersion",
            super::topic_config::data_version_node(&dv),
        ),
        ("topicConfigTable", Node::Object(table)),
        ("topicQueueMappingDetailMap", Node::Object(Vec::new())),
        ("topicQueueMappingInfoMap", Node::Object(Vec::new())),
    ]);
    Node::object(vec![
        ("filterServerList", Node::Array(Vec::new())),
        ("topicConfigSerializeWrapper", wrapper),
    ])
    .to_compact()
    .into_bytes()
}

/// Registers the whole table with every name server once.
pub async fn register_all(broker: &Arc<Broker>) {
    register(broker, &RegisterScope::Full).await;
}

/// Registers `scope` with every name server once.
async fn register(broker: &Arc<Broker>, scope: &RegisterScope) {
    if matches!(scope, RegisterScope::Topics(t) if t.is_empty()) {
        return;
    }
    let body = register_body_for(broker, scope);
    let header = RegisterBrokerRequestHeader {
        broker_name: broker.name.clone(),
        broker_addr: broker.addr.clone(),
        cluster_name: broker.cluster.clone(),
        ha_server_addr: broker.ha_addr.clone(),
        broker_id: broker.id,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: Some(false),
        body_crc32: Some(java_crc32(&body)),
    };
    let timeout = Duration::from_millis(
        u64::try_from(broker.config_i64("registerBrokerTimeoutMills"))
            .unwrap_or(24_000)
            .min(30_000),
    );
    for addr in namesrv_addrs(broker) {
        let req = RemotingCommand::request(
            RequestCode::REGISTER_BROKER.code(),
            Some(header.to_ext_fields()),
        )
        .with_body(body.clone());
        match broker.namesrv.invoke(&addr, req, timeout).await {
            Ok(resp) if resp.code == ResponseCode::SUCCESS.code() => {
                if let Ok(h) =
                    RegisterBrokerResponseHeader::from_ext_fields(resp.ext_fields.as_ref())
                {
                    handle_register_result(broker, h);
                }
            }
            Ok(resp) => {
                warn!(namesrv = %addr, code = resp.code, remark = ?resp.remark, "register broker refused")
            }
            Err(e) => warn!(namesrv = %addr, error = %e, "register broker failed"),
        }
    }
}

/// `BrokerController.handleRegisterBrokerResult`: a slave learns its master's address and HA
/// address (unless `haMasterAddress` fixes the latter).
fn handle_register_result(broker: &Broker, h: RegisterBrokerResponseHeader) {
    if broker.role() != crate::ha::BrokerRole::Slave {
        return;
    }
    if let Some(ha) = h.ha_server_addr.as_deref() {
        broker.ha.learn_master_ha_addr(ha);
    }
    broker.set_master_addr(h.master_addr.filter(|m| !m.is_empty()));
}

/// Unregisters from every name server (clean shutdown).
pub async fn unregister_all(broker: &Arc<Broker>) {
    let header = UnRegisterBrokerRequestHeader {
        broker_name: broker.name.clone(),
        broker_addr: broker.addr.clone(),
        cluster_name: broker.cluster.clone(),
        broker_id: broker.id,
    };
    for addr in namesrv_addrs(broker) {
        let req = RemotingCommand::request(
            RequestCode::UNREGISTER_BROKER.code(),
            Some(header.to_ext_fields()),
        );
        match broker
            .namesrv
            .invoke(&addr, req, Duration::from_secs(3))
            .await
        {
            Ok(_) => info!(namesrv = %addr, "unregistered"),
            Err(e) => warn!(namesrv = %addr, error = %e, "unregister failed"),
        }
    }
}

/// Runs the periodic registration until the broker stops.
pub async fn run(broker: Arc<Broker>) {
    let period = Duration::from_millis(
        u64::try_from(broker.config_i64("registerNameServerPeriod"))
            .unwrap_or(30_000)
            .clamp(10_000, 60_000),
    );
    let mut changed = broker.topics_changed.subscribe();
    let mut scope = RegisterScope::Full;
    loop {
        if scope == RegisterScope::Full {
            // A full registration carries every change made before it.
            let _covered = broker.topics.take_unregistered();
        }
        register(&broker, &scope).await;
        let next_timer = tokio::time::Instant::now() + period;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next_timer) => {
                    scope = RegisterScope::Full;
                    break;
                }
                r = changed.changed() => {
                    if r.is_err() {
                        return;
                    }
                    scope = broker.topics.take_unregistered();
                    if scope == RegisterScope::Full {
                        break;
                    }
                    register(&broker, &scope).await;
                }
            }
        }
    }
}
