//! The accept loop: a connection cap that never stops accepting, accept-error backoff, and
//! graceful shutdown.
//!
//! At its connection cap (`serverMaxConnections`, [`DEFAULT_SERVER_MAX_CONNECTIONS`], held under
//! the open-file limit by [`connection_cap`]) the loop still accepts; it closes the stalest connection (one
//! that never finished a frame first, then the one longest without a whole frame) so that a new
//! client is always served and a crowd of slow or silent peers cannot lock it out. Only when
//! evicted connections have not yet gone away is a new one refused, with a log line.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use super::Service;
use super::budget::InboundBudget;
use super::connection::{self, ConnectionHandle, ConnectionOptions};
use crate::limits::{
    DEFAULT_INBOUND_BUDGET_BYTES, DEFAULT_SERVER_MAX_CONNECTIONS, FRAME_READ_TIMEOUT,
    OPEN_FILE_RESERVE, SERVER_CHANNEL_MAX_IDLE_SECS, SERVER_MIN_CONNECTIONS, SHUTDOWN_GRACE_MILLIS,
};

/// Server knobs; defaults follow Java's `NettyServerConfig`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Most open connections; at the cap the stalest is closed for each new one.
    pub max_connections: usize,
    /// Close a connection with no whole frame in either direction for this long.
    pub idle_timeout: Duration,
    /// Close a connection whose frame is not whole this long after its first byte.
    pub frame_timeout: Duration,
    /// How long shutdown waits for connections to finish.
    pub shutdown_grace: Duration,
    /// Budget for large inbound frames; servers given clones of one config share it.
    pub inbound_budget: Arc<InboundBudget>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_SERVER_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs(SERVER_CHANNEL_MAX_IDLE_SECS),
            frame_timeout: FRAME_READ_TIMEOUT,
            shutdown_grace: Duration::from_millis(SHUTDOWN_GRACE_MILLIS),
            inbound_budget: InboundBudget::new(DEFAULT_INBOUND_BUDGET_BYTES),
        }
    }
}

/// The connection cap each of `listeners` servers of this process keeps: `configured` (the
/// `serverMaxConnections` key; 0 or less means the default), lowered so that all listeners at
/// their cap plus [`OPEN_FILE_RESERVE`] descriptors fit the soft open-file limit, and never below
/// [`SERVER_MIN_CONNECTIONS`]. Logs when the open-file limit lowers it.
#[must_use]
pub fn connection_cap(configured: i64, listeners: usize) -> usize {
    let wanted = usize::try_from(configured)
        .ok()
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_SERVER_MAX_CONNECTIONS);
    // Asking for 0 raises nothing and returns the soft limit in force (0 when unknown).
    let open_files =
        usize::try_from(crate::store::mapped_file::raise_open_file_limit(0)).unwrap_or(usize::MAX);
    if open_files == 0 {
        return wanted;
    }
    let share = open_files.saturating_sub(OPEN_FILE_RESERVE) / listeners.max(1);
    let cap = wanted.min(share.max(SERVER_MIN_CONNECTIONS));
    if cap < wanted {
        info!(
            configured = wanted,
            cap,
            open_files,
            listeners,
            reserve = OPEN_FILE_RESERVE,
            "connection cap lowered to fit the open-file limit; raise ulimit -n for more"
        );
    }
    cap
}

/// Longest pause after repeated accept errors (mini-redis backs off 1, 2, 4 … 64 s).
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(64);

/// Live connections by id. A std mutex: never held across an await.
#[derive(Debug, Default)]
struct Registry(Mutex<HashMap<u64, ConnectionHandle>>);

impl Registry {
    fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    fn add(&self, conn: &ConnectionHandle) {
        if let Ok(mut m) = self.0.lock() {
            let _old = m.insert(conn.id(), Arc::clone(conn));
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut m) = self.0.lock() {
            let _gone = m.remove(&id);
        }
    }

    /// Closes the stalest connection not already closing; returns it for the log line.
    fn evict_stalest(&self) -> Option<ConnectionHandle> {
        let m = self.0.lock().ok()?;
        let victim = m
            .values()
            .filter(|c| !c.is_closed())
            .min_by_key(|c| c.staleness())?;
        victim.evict();
        Some(Arc::clone(victim))
    }
}

/// Serves `listener` with `service` until `shutdown` completes, then closes every connection
/// (waiting up to the grace period for in-flight work).
pub async fn serve<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let registry = Arc::new(Registry::default());
    // Evicted connections take a moment to go; past this many extra, new ones are refused.
    let hard_cap = config.max_connections + config.max_connections / 8 + 1;
    let options = ConnectionOptions {
        idle_timeout: config.idle_timeout,
        frame_timeout: config.frame_timeout,
        budget: Arc::clone(&config.inbound_budget),
        proxy_protocol: true,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut backoff = Duration::from_millis(100);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                error!(error = %e, backoff_ms = backoff.as_millis(), "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let live = registry.len();
        if live >= hard_cap {
            warn!(peer = %addr, live, "connection cap exceeded while evicted connections close; refusing");
            drop(stream);
            continue;
        }
        if live >= config.max_connections
            && let Some(victim) = registry.evict_stalest()
        {
            warn!(
                cap = config.max_connections,
                closed = %victim.peer(),
                age_s = victim.age().as_secs(),
                accepted = %addr,
                "connection cap reached; closing the stalest connection"
            );
        }
        match connection::spawn(
            stream,
            Arc::clone(&service),
            options.clone(),
            stop_rx.clone(),
        ) {
            Ok((conn, handle)) => {
                registry.add(&conn);
                let registry = Arc::clone(&registry);
                let id = conn.id();
                let _abort = tasks.spawn(async move {
                    let _done = handle.await;
                    registry.remove(id);
                });
            }
            Err(e) => warn!(error = %e, "failed to set up accepted connection"),
        }
    }
    info!("server shutting down, closing {} connections", tasks.len());
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("connections still open after the grace period; aborting them");
        tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_the_setting_held_under_the_open_file_limit() {
        let open_files =
            usize::try_from(crate::store::mapped_file::raise_open_file_limit(0)).unwrap();
        // A small setting (the hardening test's) is kept as it is.
        assert_eq!(connection_cap(100, 2), 100);
        // A huge one is cut to the process's share of descriptors.
        let share = (open_files.saturating_sub(OPEN_FILE_RESERVE) / 2).max(SERVER_MIN_CONNECTIONS);
        assert_eq!(connection_cap(i64::MAX, 2), share);
        // 0 or less means the default, under the same limit.
        let default = DEFAULT_SERVER_MAX_CONNECTIONS.min(
            open_files
                .saturating_sub(OPEN_FILE_RESERVE)
                .max(SERVER_MIN_CONNECTIONS),
        );
        assert_eq!(connection_cap(0, 1), default);
        assert_eq!(connection_cap(-5, 1), default);
    }
}
