//! TLS on the gRPC port, as Java's proxy does it (`ProxyAndTlsProtocolNegotiator`): in
//! `permissive` mode (the default) each new connection is sniffed — a first byte of `0x16` (a
//! TLS handshake record) starts a TLS handshake with ALPN `h2`, anything else is served as
//! plaintext HTTP/2; `enforcing` handshakes every connection, `disabled` serves plaintext only.
//! With `tlsTestModeEnable` (default true) the certificate is self-signed, made at start for
//! `localhost`, 127.0.0.1 and the broker's IP; otherwise it is read from PEM files.
//!
//! Owns the connection kinds handed to tonic ([`GrpcStream`]) and the accept loop that
//! produces them ([`incoming`]). Sniffing plus handshake is bounded in time
//! ([`GRPC_TLS_HANDSHAKE_TIMEOUT`]) and in count ([`GRPC_TLS_MAX_HANDSHAKES`]); a failed one
//! closes only its own connection.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, info, warn};

use crate::broker::Broker;
use crate::limits::{GRPC_ACCEPTED_QUEUE, GRPC_TLS_HANDSHAKE_TIMEOUT, GRPC_TLS_MAX_HANDSHAKES};

/// The first byte of a TLS record carrying a handshake (`ContentType.handshake`).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Java's `TlsMode` (`tls.server.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plaintext only.
    Disabled,
    /// TLS or plaintext, told apart by the first byte.
    Permissive,
    /// TLS only.
    Enforcing,
}

impl TlsMode {
    /// Parses a mode name as Java's `TlsMode.parse` does: case aside, unknown names are
    /// `permissive` (logged).
    #[must_use]
    pub fn parse(name: &str) -> Self {
        match name.trim().to_ascii_lowercase().as_str() {
            "disabled" => Self::Disabled,
            "enforcing" => Self::Enforcing,
            "" | "permissive" => Self::Permissive,
            other => {
                warn!(mode = other, "unknown tlsMode; permissive");
                Self::Permissive
            }
        }
    }
}

/// Why TLS could not be set up (the endpoint then does not start, as Java's proxy fails).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("cannot read {path}: {source}")]
    Pem {
        /// The file.
        path: String,
        /// The cause.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate in {0}")]
    NoCertificate(String),
    /// The self-signed certificate could not be made.
    #[error("self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The TLS settings of the gRPC port.
#[derive(Clone)]
pub struct Tls {
    /// The mode.
    pub mode: TlsMode,
    /// The handshaker; `None` in `disabled` mode.
    acceptor: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("mode", &self.mode)
            .field("acceptor", &self.acceptor.is_some())
            .finish()
    }
}

impl Tls {
    /// Plaintext only.
    #[must_use]
    pub const fn disabled() -> Self {
        Self {
            mode: TlsMode::Disabled,
            acceptor: None,
        }
    }

    /// The settings from the broker's keys (`tlsMode`, `tlsTestModeEnable`, `tlsKeyPath`,
    /// `tlsCertPath`, and Java's `tls.server.*` spellings).
    ///
    /// # Errors
    /// When the certificate or key cannot be read or made.
    pub fn from_broker(broker: &Broker) -> Result<Self, TlsError> {
        let first = |keys: &[&str]| {
            keys.iter()
                .map(|k| broker.config_str(k))
                .find(|v| !v.trim().is_empty())
        };
        let mode = TlsMode::parse(&first(&["tlsMode", "tls.server.mode"]).unwrap_or_default());
        if mode == TlsMode::Disabled {
            return Ok(Self::disabled());
        }
        let home = PathBuf::from(broker.config_str("rocketmqHome")).join("conf/tls");
        let (certs, key) = if broker.config_bool("tlsTestModeEnable") {
            let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            let ip = broker.config_str("brokerIP1");
            if !ip.is_empty() && !names.contains(&ip) {
                names.push(ip);
            }
            self_signed(names)?
        } else {
            let key = first(&["tlsKeyPath", "tls.server.keyPath"])
                .unwrap_or_else(|| home.join("rocketmq.key").display().to_string());
            let cert = first(&["tlsCertPath", "tls.server.certPath"])
                .unwrap_or_else(|| home.join("rocketmq.crt").display().to_string());
            let loaded = from_pem(&cert, &key)?;
            info!(cert, key, "gRPC TLS certificate loaded");
            loaded
        };
        Ok(Self {
            mode,
            acceptor: Some(acceptor(certs, key)?),
        })
    }
}

/// A self-signed certificate for `names` (DNS names or IPs), with its key.
///
/// # Errors
/// When rcgen cannot make it.
pub fn self_signed(
    names: Vec<String>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let made = rcgen::generate_simple_self_signed(names)?;
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok((vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key)))
}

/// Reads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
fn from_pem(
    cert: &str,
    key: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let pem_err = |path: &str| {
        let path = path.to_owned();
        move |source| TlsError::Pem { path, source }
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(pem_err(cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err(cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem_err(key))?;
    Ok((certs, key))
}

/// A server handshaker on rustls' `ring` provider, offering ALPN `h2` (no client certificates,
/// as Java's `ClientAuth.NONE`).
///
/// # Errors
/// When rustls refuses the certificate or key.
pub fn acceptor(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A connection on the gRPC port: plaintext or TLS.
#[derive(Debug)]
pub enum GrpcStream {
    /// Plaintext HTTP/2.
    Plain(TcpStream),
    /// HTTP/2 over TLS.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Connected for GrpcStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            Self::Plain(s) => s.connect_info(),
            Self::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for GrpcStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for GrpcStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accepts connections on `listener` and hands each, once its kind is known (and its TLS
/// handshake done), to the returned channel; the task ends with the receiver.
pub fn incoming(
    listener: TcpListener,
    tls: Tls,
) -> (mpsc::Receiver<GrpcStream>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(GRPC_ACCEPTED_QUEUE);
    let task = tokio::spawn(accept_loop(listener, tls, tx));
    (rx, task)
}

async fn accept_loop(listener: TcpListener, tls: Tls, tx: mpsc::Sender<GrpcStream>) {
    let permits = Arc::new(Semaphore::new(GRPC_TLS_MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = tx.closed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors and the like: back off a little, as tonic's TcpIncoming.
                debug!(error = %e, "gRPC accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (tls, tx) = (tls.clone(), tx.clone());
        drop(tokio::spawn(async move {
            let ready =
                tokio::time::timeout(GRPC_TLS_HANDSHAKE_TIMEOUT, negotiate(stream, &tls)).await;
            drop(permit);
            match ready {
                Ok(Ok(s)) => {
                    let _ = tx.send(s).await;
                }
                Ok(Err(e)) => debug!(%peer, error = %e, "gRPC connection closed before HTTP/2"),
                Err(_) => debug!(%peer, "gRPC connection closed: no TLS handshake in time"),
            }
        }));
    }
}

/// Tells the connection's kind from its first byte (in `permissive` mode) and handshakes TLS.
async fn negotiate(stream: TcpStream, tls: &Tls) -> io::Result<GrpcStream> {
    let Some(acceptor) = tls.acceptor.as_ref() else {
        return Ok(GrpcStream::Plain(stream));
    };
    if tls.mode == TlsMode::Permissive {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if first != [TLS_HANDSHAKE_RECORD] {
            return Ok(GrpcStream::Plain(stream));
        }
    }
    let s = acceptor.accept(stream).await?;
    Ok(GrpcStream::Tls(Box::new(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_java_tls_mode() {
        assert_eq!(TlsMode::parse("disabled"), TlsMode::Disabled);
        assert_eq!(TlsMode::parse(" Enforcing "), TlsMode::Enforcing);
        assert_eq!(TlsMode::parse("permissive"), TlsMode::Permissive);
        assert_eq!(TlsMode::parse(""), TlsMode::Permissive);
        assert_eq!(TlsMode::parse("strict"), TlsMode::Permissive);
    }

    #[test]
    fn the_test_certificate_makes_an_acceptor() {
        let (certs, key) = self_signed(vec!["localhost".into(), "10.0.0.7".into()]).unwrap();
        assert_eq!(certs.len(), 1);
        assert!(certs[0].windows(4).any(|w| w == [10, 0, 0, 7]));
        assert!(acceptor(certs, key).is_ok());
    }
}
