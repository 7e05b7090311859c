//! The accept loop: a connection cap, accept-error backoff, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use super::{Service, connection};
use crate::limits::{SERVER_CHANNEL_MAX_IDLE_SECS, SERVER_MAX_CONNECTIONS, SHUTDOWN_GRACE_MILLIS};

/// Server knobs; defaults follow Java's `NettyServerConfig`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Most open connections; accepting waits for a free slot beyond this.
    pub max_connections: usize,
    /// Close a connection idle (no reads, no writes) this long.
    pub idle_timeout: Duration,
    /// How long shutdown waits for connections to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: SERVER_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs(SERVER_CHANNEL_MAX_IDLE_SECS),
            shutdown_grace: Duration::from_millis(SHUTDOWN_GRACE_MILLIS),
        }
    }
}

/// Longest pause after repeated accept errors (mini-redis backs off 1, 2, 4 … 64 s).
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(64);

/// Serves `listener` with `service` until `shutdown` completes, then closes every connection
/// (waiting up to the grace period for in-flight work).
pub async fn serve<S: Service>(
    listener: TcpListener,
    service: Arc<S>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut backoff = Duration::from_millis(100);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while tasks.try_join_next().is_some() {}
        match accepted {
            Ok((stream, _addr)) => {
                backoff = Duration::from_millis(100);
                match connection::spawn(
                    stream,
                    Arc::clone(&service),
                    config.idle_timeout,
                    stop_rx.clone(),
                ) {
                    Ok((_conn, handle)) => {
                        let _abort = tasks.spawn(async move {
                            let _done = handle.await;
                            drop(permit);
                        });
                    }
                    Err(e) => warn!(error = %e, "failed to set up accepted connection"),
                }
            }
            Err(e) => {
                error!(error = %e, backoff_ms = backoff.as_millis(), "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
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
