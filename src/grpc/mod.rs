//! The RocketMQ 5 gRPC endpoint built into the broker: `apache.rocketmq.v2.MessagingService`
//! on `grpcServerPort` (8081), what Java runs as `rocketmq-proxy` in local mode
//! (`mqbroker --enable-proxy`). The 5.x SDKs (Java, Go, Python, …) reach the same broker as
//! remoting clients: requests are served in-process by the broker's own handlers.
//!
//! - [`pb`]: the protobuf messages, hand-written `prost` structs mirroring the proto files.
//! - `service`: the tower service that routes `/apache.rocketmq.v2.MessagingService/<Method>`
//!   to tonic's unary and streaming glue.
//! - `clients`: settings from Telemetry, heartbeats, registration in the broker's tables.
//! - `route`, `send`, `transaction`, `recall`: QueryRoute/QueryAssignment, SendMessage,
//!   EndTransaction and transaction check-backs over Telemetry, RecallMessage.
//! - `acl`: ACL 1.0 (`aclEnable`) over the SDKs' signed metadata.
//! - `consume`, `ack`, `receipt`: ReceiveMessage (long-polling POP), AckMessage,
//!   ChangeInvisibleDuration, ForwardMessageToDeadLetterQueue, and the receipt handles.
//! - `renew`: auto-renewal of the handles push consumers hold (`auto_renew`).
//! - [`tls`]: TLS and plaintext HTTP/2 on the same port (`tlsMode`, Java's
//!   `ProxyAndTlsProtocolNegotiator`), after an optional PROXY protocol header, with optional
//!   client certificates.
//!
//! Not served, as in Java 5.3.3's proxy (grpc-java's UNIMPLEMENTED, same words): PullMessage,
//! UpdateOffset, GetOffset, QueryOffset (the SDKs' pull consumer).

mod ack;
pub mod acl;
pub mod clients;
pub mod consume;
pub mod convert;
pub mod pb;
mod recall;
pub mod receipt;
pub mod renew;
pub mod route;
pub mod send;
mod service;
pub mod status;
pub mod tls;
pub mod transaction;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{error, info};

use crate::broker::Broker;
use crate::limits::{
    GRPC_CLIENT_IDLE, GRPC_MAX_CONCURRENT_STREAMS, GRPC_RELAY_QUEUE, GRPC_SHUTDOWN_TIMEOUT,
};

pub use service::MessagingService;

/// The endpoint's state: the broker, its port, the clients and open transactions.
#[derive(Debug)]
pub struct Endpoint {
    /// The broker served.
    pub broker: Arc<Broker>,
    /// The gRPC port (advertised in routes).
    pub port: u16,
    /// Known clients.
    pub clients: clients::Clients,
    /// Half messages awaiting EndTransaction.
    pub transactions: transaction::Transactions,
    /// Receipt handles renewed for their clients.
    pub renewals: renew::Renewals,
    /// Set when the endpoint stops: open Telemetry streams end, so connections drain.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The receiving end of the clients' relay, taken by [`serve`].
    relay: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<clients::Relayed>>>,
}

impl Endpoint {
    /// Resolves once the endpoint is stopping.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// A new endpoint for `broker`, advertising `port`.
    #[must_use]
    pub fn new(broker: Arc<Broker>, port: u16) -> Arc<Self> {
        let (tx, rx) = tokio::sync::mpsc::channel(GRPC_RELAY_QUEUE);
        Arc::new(Self {
            broker,
            port,
            clients: clients::Clients::new(tx),
            transactions: transaction::Transactions::default(),
            renewals: renew::Renewals::default(),
            relay: std::sync::Mutex::new(Some(rx)),
            stopping: tokio::sync::watch::Sender::new(false),
        })
    }
}

/// Binds `grpcServerPort` on all interfaces.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))).await
}

/// Serves the endpoint on `listener` until `shutdown` completes, with TLS as `tls` says.
pub async fn serve(
    endpoint: Arc<Endpoint>,
    listener: TcpListener,
    tls: tls::Tls,
    shutdown: impl Future<Output = ()>,
) {
    let local = listener.local_addr().ok();
    let relay = endpoint.relay.lock().ok().and_then(|mut r| r.take());
    let relay_task =
        relay.map(|rx| tokio::spawn(transaction::relay(Arc::downgrade(&endpoint), rx)));
    let idle = u64::try_from(endpoint.broker.config_i64("grpcClientIdleTimeMills"))
        .map_or(GRPC_CLIENT_IDLE, std::time::Duration::from_millis);
    let sweeper = tokio::spawn(sweep(Arc::downgrade(&endpoint), idle));
    let renewer = tokio::spawn(renew::run(Arc::downgrade(&endpoint)));
    let mode = tls.mode;
    let (accepted, acceptor) = tls::incoming(listener, tls);
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(accepted),
        Ok::<_, std::io::Error>,
    );
    info!(addr = ?local, tls = ?mode, "gRPC endpoint (apache.rocketmq.v2.MessagingService) listening");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(Some(GRPC_MAX_CONCURRENT_STREAMS))
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .serve_with_incoming_shutdown(
            MessagingService::new(Arc::clone(&endpoint)),
            incoming,
            async move {
                let _ = stop_rx.await;
            },
        );
    tokio::pin!(server);
    let result = tokio::select! {
        r = &mut server => r,
        () = shutdown => {
            // Telemetry streams end first; connections then get `GRPC_SHUTDOWN_TIMEOUT` to
            // finish what they carry (Java: `grpcShutdownTimeSeconds`).
            let _ = endpoint.stopping.send(true);
            let _ = stop_tx.send(());
            match tokio::time::timeout(GRPC_SHUTDOWN_TIMEOUT, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!("gRPC connections still open at shutdown; closed");
                    Ok(())
                }
            }
        }
    };
    if let Err(e) = result {
        error!(error = %e, "gRPC endpoint stopped");
    }
    if let Some(t) = relay_task {
        t.abort();
    }
    sweeper.abort();
    renewer.abort();
    acceptor.abort();
}

/// Every second, forgets clients idle past `idle` (`grpcClientIdleTimeMills`, default
/// [`GRPC_CLIENT_IDLE`]): their settings, their in-process channel and their registrations.
async fn sweep(endpoint: std::sync::Weak<Endpoint>, idle: std::time::Duration) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        let _ = tick.tick().await;
        let Some(ep) = endpoint.upgrade() else {
            return;
        };
        let n = ep.clients.sweep_idle(&ep.broker, idle);
        if n > 0 {
            info!(clients = n, "idle gRPC clients forgotten");
        }
    }
}
