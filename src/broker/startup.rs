//! Broker start-up and shutdown shared by `mqbroker` and the standalone binary: config from a
//! Java-properties file and flags, the listeners on `listenPort` and `listenPort - 2` (the VIP
//! channel), registration, housekeeping, and the clean-shutdown sequence.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::{BrokerService, config, housekeeping, register};
use crate::config::properties;
use crate::config::table::ConfigValues;
use crate::net::{InboundBudget, ServerConfig, budget_bytes, serve};

/// Loads `file` over the defaults, warning (with file and line) about unknown keys and values
/// that do not parse; returns the config and the keys the file set.
pub fn load_config(file: Option<&Path>) -> Result<(ConfigValues, Vec<String>), String> {
    let mut cfg = config::defaults();
    let mut explicit = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let entries = properties::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for e in entries {
            match cfg.set(&e.key, &e.value) {
                Ok(()) => explicit.push(e.key),
                Err(err) => warn!("{}:{}: {err}", path.display(), e.line),
            }
        }
        // `BrokerPathConfigHelper.setBrokerConfigPath`: UPDATE_BROKER_CONFIG persists here.
        if cfg.get("brokerConfigPath").is_empty() {
            let _ = cfg.set("brokerConfigPath", &path.to_string_lossy());
        }
    }
    Ok((cfg, explicit))
}

/// Features this broker does not have yet; refused clearly instead of silently ignored.
fn refuse_unsupported(cfg: &ConfigValues) -> Result<(), String> {
    for key in [
        "enableDLegerCommitLog",
        "enableControllerMode",
        "enableSlaveActingMaster",
        "transientStorePoolEnable",
    ] {
        if cfg.get_bool(key) {
            return Err(format!("{key}=true is not supported by this broker"));
        }
    }
    match cfg.get("brokerRole") {
        "ASYNC_MASTER" | "SYNC_MASTER" => {}
        "SLAVE" if cfg.get_i64("brokerId") <= 0 => {
            return Err("Slave's brokerId must be > 0".into());
        }
        "SLAVE" => {}
        other => {
            return Err(format!(
                "brokerRole={other} is not one of ASYNC_MASTER, SYNC_MASTER, SLAVE"
            ));
        }
    }
    Ok(())
}

async fn bind(ip: &str, port: i64) -> std::io::Result<TcpListener> {
    TcpListener::bind(format!("{ip}:{port}")).await
}

/// Opens the broker, serves until `shutdown` completes, then shuts down cleanly: unregister,
/// close listeners, persist metadata, close the store. `ready` receives the boot line.
pub async fn run(
    cfg: ConfigValues,
    shutdown: impl Future<Output = ()>,
    ready: impl FnOnce(String),
) -> Result<(), String> {
    refuse_unsupported(&cfg)?;
    let bind_ip = "0.0.0.0";
    let port = cfg.get_i64("listenPort");
    let main_listener = bind(bind_ip, port)
        .await
        .map_err(|e| format!("cannot listen on {port}: {e}"))?;
    let vip_listener = bind(bind_ip, port - 2)
        .await
        .map_err(|e| format!("cannot listen on VIP port {}: {e}", port - 2))?;
    let ha_port = cfg.get_i64("haListenPort");
    let ha_listener = bind(bind_ip, ha_port)
        .await
        .map_err(|e| format!("cannot listen on HA port {ha_port}: {e}"))?;
    let grpc_port = u16::try_from(cfg.get_i64("grpcServerPort")).unwrap_or(8081);
    let grpc_listener = if cfg.get_bool("enableProxy") {
        Some(
            crate::grpc::bind(grpc_port)
                .await
                .map_err(|e| format!("cannot listen on gRPC port {grpc_port}: {e}"))?,
        )
    } else {
        None
    };
    let namesrv = cfg.get("namesrvAddr").to_owned();
    let broker = tokio::task::spawn_blocking(move || super::open(cfg))
        .await
        .map_err(|e| format!("store open task failed: {e}"))?
        .map_err(|e| format!("cannot open the store: {e}"))?;
    // Java's proxy does not start when its TLS context cannot be made.
    let grpc_tls = match grpc_listener {
        Some(_) => Some(
            crate::grpc::tls::Tls::from_broker(&broker)
                .map_err(|e| format!("gRPC TLS setup failed: {e}"))?,
        ),
        None => None,
    };
    let idle = Duration::from_secs(
        u64::try_from(broker.config_i64("serverChannelMaxIdleTimeSeconds"))
            .unwrap_or(120)
            .max(1),
    );
    let server_cfg = ServerConfig {
        idle_timeout: idle,
        inbound_budget: InboundBudget::new(budget_bytes(
            broker.config_i64("serverInboundBudgetBytes"),
        )),
        // The main and VIP listeners share the process's descriptors.
        max_connections: crate::net::connection_cap(broker.config_i64("serverMaxConnections"), 2),
        ..ServerConfig::default()
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let wait = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let service = Arc::new(BrokerService(Arc::clone(&broker)));
    let main = tokio::spawn(serve(
        main_listener,
        Arc::clone(&service),
        server_cfg.clone(),
        wait(stop_rx.clone()),
    ));
    let vip = tokio::spawn(serve(
        vip_listener,
        service,
        server_cfg,
        wait(stop_rx.clone()),
    ));
    let grpc = grpc_listener.zip(grpc_tls).map(|(l, tls)| {
        tokio::spawn(crate::grpc::serve(
            crate::grpc::Endpoint::new(Arc::clone(&broker), grpc_port),
            l,
            tls,
            wait(stop_rx.clone()),
        ))
    });
    let ha_port_task = tokio::spawn(crate::ha::master::serve(
        Arc::clone(&broker.ha),
        ha_listener,
        stop_rx.clone(),
    ));
    // A master back from a crash takes its consumer offsets back from its slave before it
    // registers, that is before any consumer can find it (bounded: the slave may be gone too).
    let mut took_back = false;
    if broker.role() != crate::ha::BrokerRole::Slave {
        took_back = tokio::time::timeout(
            Duration::from_secs(5),
            super::replication::take_back_once(&broker),
        )
        .await
        .unwrap_or(false);
    }
    let replication = super::replication::start(&broker, took_back)?;
    let registrar = tokio::spawn(register::run(Arc::clone(&broker)));
    let keeper = tokio::spawn(housekeeping(Arc::clone(&broker)));
    // A slave's CommitLog is its master's: it never writes, so it delivers no delayed messages.
    let scheduler = (broker.role() != crate::ha::BrokerRole::Slave)
        .then(|| tokio::spawn(super::schedule::run(Arc::clone(&broker))));
    if let Some(timer) = broker.timer.as_ref() {
        timer
            .start(broker.role() == crate::ha::BrokerRole::Slave)
            .map_err(|e| format!("cannot start the timer service: {e}"))?;
    }
    let metrics = tokio::spawn(super::metrics::run(Arc::clone(&broker)));
    let tx_check = tokio::spawn(super::transaction_check::run(Arc::clone(&broker)));
    let acl_watch = broker
        .acl
        .as_ref()
        .map(|a| tokio::spawn(super::acl::watch(Arc::clone(a))));
    let revive = tokio::spawn(super::pop::revive::run(Arc::clone(&broker)));
    ready(format!(
        "The broker[{}, {}] boot success. serializeType=JSON and name server is {}",
        broker.name, broker.addr, namesrv
    ));
    shutdown.await;
    info!("broker shutting down");
    registrar.abort();
    keeper.abort();
    if let Some(s) = &scheduler {
        s.abort();
    }
    metrics.abort();
    tx_check.abort();
    if let Some(w) = &acl_watch {
        w.abort();
    }
    revive.abort();
    register::unregister_all(&broker).await;
    let _ = stop_tx.send(true);
    let _ = main.await;
    let _ = vip.await;
    let _ = ha_port_task.await;
    if let Some(g) = grpc {
        let _ = g.await;
    }
    replication.stop().await;
    let b = Arc::clone(&broker);
    if let Err(e) = tokio::task::spawn_blocking(move || super::shutdown(&b)).await {
        error!(error = %e, "broker shutdown task failed");
    }
    Ok(())
}
