//! A client that keeps one connection per address and matches responses by `opaque`.
//! The broker uses it to reach name servers; tests use it to drive servers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::watch;

use super::budget::InboundBudget;
use super::connection::{self, ConnectionHandle, ConnectionOptions};
use super::{NetError, Service};
use crate::limits::{
    DEFAULT_INBOUND_BUDGET_BYTES, FRAME_READ_TIMEOUT, SERVER_CHANNEL_MAX_IDLE_SECS,
};
use crate::remoting::{RemotingCommand, ResponseCode};

/// Connect timeout. Java: `NettyClientConfig.connectTimeoutMillis = 3000`.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3_000);

/// Answers server-originated requests on client connections; clients of this crate accept none.
#[derive(Debug, Default)]
struct RejectAll;

impl Service for RejectAll {
    async fn call(
        &self,
        _conn: &ConnectionHandle,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(RemotingCommand::error(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {} not supported", request.code),
        ))
    }
}

/// Connection pool keyed by `host:port`.
#[derive(Debug)]
pub struct RemotingClient {
    /// Live connections. A std mutex: never held across an await.
    connections: Mutex<HashMap<String, ConnectionHandle>>,
    /// Closing this drops every connection's reader.
    shutdown: watch::Sender<bool>,
    /// Charged for large responses on every connection of the pool.
    budget: Arc<InboundBudget>,
}

impl Default for RemotingClient {
    fn default() -> Self {
        Self::new()
    }
}

impl RemotingClient {
    /// An empty pool.
    #[must_use]
    pub fn new() -> Self {
        let (shutdown, _rx) = watch::channel(false);
        Self {
            connections: Mutex::new(HashMap::new()),
            shutdown,
            budget: InboundBudget::new(DEFAULT_INBOUND_BUDGET_BYTES),
        }
    }

    fn cached(&self, addr: &str) -> Option<ConnectionHandle> {
        let conns = self.connections.lock().ok()?;
        conns.get(addr).filter(|c| !c.is_closed()).cloned()
    }

    /// The connection to `addr`, opened if needed.
    pub async fn connection(&self, addr: &str) -> Result<ConnectionHandle, NetError> {
        if let Some(c) = self.cached(addr) {
            return Ok(c);
        }
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| NetError::Timeout(3_000))??;
        let options = ConnectionOptions {
            idle_timeout: Duration::from_secs(SERVER_CHANNEL_MAX_IDLE_SECS),
            frame_timeout: FRAME_READ_TIMEOUT,
            budget: Arc::clone(&self.budget),
            proxy_protocol: false,
        };
        let (conn, _task) = connection::spawn(
            stream,
            Arc::new(RejectAll),
            options,
            self.shutdown.subscribe(),
        )?;
        let mut conns = self.connections.lock().map_err(|_| NetError::Closed)?;
        // Callers racing to connect keep one connection; the others close theirs.
        if let Some(existing) = conns.get(addr).filter(|c| !c.is_closed()) {
            conn.evict();
            return Ok(Arc::clone(existing));
        }
        let _old = conns.insert(addr.to_owned(), Arc::clone(&conn));
        Ok(conn)
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, NetError> {
        let conn = self.connection(addr).await?;
        conn.invoke(request, timeout).await
    }

    /// Sends a oneway request to `addr`.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), NetError> {
        let conn = self.connection(addr).await?;
        conn.invoke_oneway(request).await
    }

    /// Closes every connection.
    pub fn close_all(&self) {
        let _ = self.shutdown.send(true);
        if let Ok(mut conns) = self.connections.lock() {
            conns.clear();
        }
    }
}
