//! The tokio transport: a capped, idle-timed server, per-connection read/write tasks, and a
//! client that matches responses to requests by `opaque`.
//!
//! Both directions share [`connection::Connection`]: a server connection can also originate
//! requests (broker → client notifications), and a client connection can be sent requests.
//! A [`Service`] sees decoded requests only; framing and bounds live here, and
//! [`reject_log`] is the bounded log of refused requests both servers share;
//! [`proxy_protocol`] reads the PROXY protocol header a load balancer may send first.

pub mod budget;
pub mod client;
pub mod connection;
pub mod proxy_protocol;
pub mod reader;
pub mod reject_log;
pub mod server;

use std::future::Future;

pub use budget::{InboundBudget, budget_bytes};
pub use client::RemotingClient;
pub use connection::{Connection, ConnectionHandle, ConnectionOptions};
pub use server::{ServerConfig, connection_cap, serve};

use crate::remoting::{RemotingCommand, WireError};

tokio::task_local! {
    /// When the transport read the request this task answers.
    static ARRIVED: std::time::Instant;
}

/// When the transport read the request the current task answers; `None` outside a request
/// task. The gap to now is the time the request waited for the runtime to start it.
#[must_use]
pub fn arrived() -> Option<std::time::Instant> {
    ARRIVED.try_with(|t| *t).ok()
}

/// Runs `fut` (the answer to a request read at `at`) with [`arrived`] set.
pub async fn with_arrival<F: Future>(at: std::time::Instant, fut: F) -> F::Output {
    ARRIVED.scope(at, fut).await
}

/// What a server runs for each request it receives.
pub trait Service: Send + Sync + 'static {
    /// Handles one request; `None` means "no response" (oneway, or answered later).
    /// The transport never sends a response to a oneway request, whatever this returns.
    fn call(
        &self,
        conn: &ConnectionHandle,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Whether `request`'s handler usually completes without waiting (a send under
    /// ASYNC_FLUSH). The connection then polls it once on its reader task and spawns a task
    /// only if it has to wait, which saves a spawn and a cross-thread wake-up per request.
    /// While such a handler runs, the connection reads no further request: answer `true` only
    /// for short handlers.
    fn runs_inline(&self, _request: &RemotingCommand) -> bool {
        false
    }

    /// Called once when a connection closes, for registries keyed by channel.
    fn on_close(&self, _conn: &ConnectionHandle) {}
}

/// Transport errors.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Socket error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Bad bytes from the peer, or a command we cannot encode.
    #[error("protocol error: {0}")]
    Wire(#[from] WireError),
    /// No response within the timeout.
    #[error("request timed out after {0} ms")]
    Timeout(u64),
    /// The connection closed before the response arrived.
    #[error("connection closed")]
    Closed,
    /// Too many requests outstanding on one connection.
    #[error("too many outstanding requests ({0})")]
    TooManyPending(usize),
    /// An address that does not parse.
    #[error("bad address {0:?}")]
    BadAddress(String),
}

/// Completes on SIGINT or SIGTERM (the signals `mqshutdown` and container runtimes send).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
