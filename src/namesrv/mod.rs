//! The name server: broker registry, liveness, topic routes and KV config.
//!
//! [`NameServer`] owns the state; [`processor`] holds one handler file per request group and the
//! single dispatch table; [`run`] binds the port, starts the liveness scan and serves;
//! [`address_server`] answers the HTTP name-server address lookup when `addressServerPort` is set.

pub mod address_server;
pub mod config;
pub mod kv_config;
pub mod processor;
pub mod route_info;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{error, info};

use crate::config::table::ConfigValues;
use crate::net::{ConnectionHandle, ServerConfig, Service};
use crate::remoting::RemotingCommand;
use kv_config::KvConfigManager;
use route_info::RouteInfoManager;

/// Name-server state shared by all connections.
#[derive(Debug)]
pub struct NameServer {
    /// Current configuration (GET/UPDATE_NAMESRV_CONFIG read and change it).
    pub config: RwLock<ConfigValues>,
    /// Keys remote updates may not touch, fixed at start as in Java.
    pub blocked_keys: Vec<String>,
    /// Broker registry and routes.
    pub routes: RouteInfoManager,
    /// KV store.
    pub kv: KvConfigManager,
}

impl NameServer {
    /// State for `config`, loading the KV file it names.
    #[must_use]
    pub fn new(config: ConfigValues) -> Self {
        let kv = KvConfigManager::load(&PathBuf::from(config.get("kvConfigPath")));
        let blocked_keys = config::blocked_keys(&config);
        Self {
            config: RwLock::new(config),
            blocked_keys,
            routes: RouteInfoManager::new(),
            kv,
        }
    }

    /// A snapshot of one boolean setting.
    #[must_use]
    pub fn flag(&self, key: &str) -> bool {
        self.config.read().map(|c| c.get_bool(key)).unwrap_or(false)
    }
}

impl Service for NameServer {
    async fn call(
        &self,
        conn: &ConnectionHandle,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(processor::dispatch(self, conn, &request))
    }

    fn on_close(&self, conn: &ConnectionHandle) {
        self.routes.on_channel_destroy(conn.id());
    }
}

/// Binds `bindAddress:listenPort` from the config.
pub async fn bind(config: &ConfigValues) -> std::io::Result<TcpListener> {
    let addr = format!("{}:{}", config.get("bindAddress"), config.get("listenPort"));
    TcpListener::bind(addr).await
}

/// Serves the name server on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    server: Arc<NameServer>,
    shutdown: impl Future<Output = ()>,
) {
    let (idle_secs, scan_ms, budget, max_connections, address) = {
        let c = server
            .config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (
            c.get_i64("serverChannelMaxIdleTimeSeconds"),
            c.get_i64("scanNotActiveBrokerInterval"),
            c.get_i64("serverInboundBudgetBytes"),
            c.get_i64("serverMaxConnections"),
            address_server::AddressSettings::from_config(&c),
        )
    };
    let address_task = match address_server::bind(&address).await {
        Ok(Some(l)) => Some(tokio::spawn(address_server::run(l, address))),
        Ok(None) => None,
        Err(e) => {
            error!(port = address.port, error = %e, "cannot serve the name-server address endpoint");
            None
        }
    };
    let scan_every = Duration::from_millis(u64::try_from(scan_ms).unwrap_or(5_000).max(100));
    let scanner = {
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(scan_every);
            loop {
                let _instant = tick.tick().await;
                let _expired = server.routes.scan_not_active_brokers();
            }
        })
    };
    let config = ServerConfig {
        idle_timeout: Duration::from_secs(u64::try_from(idle_secs).unwrap_or(120).max(1)),
        inbound_budget: crate::net::InboundBudget::new(crate::net::budget_bytes(budget)),
        max_connections: crate::net::connection_cap(max_connections, 1),
        ..ServerConfig::default()
    };
    crate::net::serve(listener, server, config, shutdown).await;
    scanner.abort();
    if let Some(t) = address_task {
        t.abort();
    }
    info!("name server stopped");
}
