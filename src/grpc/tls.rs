//! TLS on the gRPC port, as Java's proxy does it (`ProxyAndTlsProtocolNegotiator`): in
//! `permissive` mode (the default) each new connection is sniffed — a first byte of `0x16` (a
//! TLS handshake record) starts a TLS handshake with ALPN `h2`, anything else is served as
//! plaintext HTTP/2; `enforcing` handshakes every connection, `disabled` serves plaintext only.
//! With `tlsTestModeEnable` (default true) the certificate is self-signed, made at start for
//! `localhost`, 127.0.0.1 and the broker's IP; otherwise it is read from PEM files. As in
//! Java, a PROXY protocol header may come first ([`crate::net::proxy_protocol`]); its client
//! address becomes the connection's remote address. Client certificates
//! (`tls.server.need.client.auth`, [`ClientCerts`]) are ours: Java's proxy never asks for one.
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

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::{debug, info, warn};

use crate::broker::Broker;
use crate::limits::{GRPC_ACCEPTED_QUEUE, GRPC_TLS_HANDSHAKE_TIMEOUT, GRPC_TLS_MAX_HANDSHAKES};
use crate::net::proxy_protocol;

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
    /// The key file holds an encrypted key (Java's proxy cannot read one on this port either:
    /// it passes no password).
    #[error("{0} holds an encrypted private key; give it unencrypted (openssl pkcs8 -nocrypt)")]
    EncryptedKey(String),
    /// Client certificates are to be verified but no trusted root was given.
    #[error("tls.server.authClient=true needs tls.server.trustCertPath")]
    NoTrustPath,
    /// The client-certificate verifier could not be built from the trusted roots.
    #[error("client certificate roots: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Java's `tls.server.need.client.auth` (`TlsHelper.parseClientAuthMode`): whether the
/// handshake asks the client for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Not asked (the default; Java's proxy uses this on the gRPC port whatever the key says).
    None,
    /// Asked; a client without one is still served.
    Optional,
    /// Required; a client without one fails the handshake.
    Require,
}

impl ClientAuth {
    /// Parses as Java does: `optional` or `require`, case aside; anything else is `none`.
    #[must_use]
    pub fn parse(name: &str) -> Self {
        match name.trim().to_ascii_uppercase().as_str() {
            "OPTIONAL" => Self::Optional,
            "REQUIRE" => Self::Require,
            _ => Self::None,
        }
    }
}

/// Which client certificates the handshake takes.
#[derive(Debug, Clone)]
pub struct ClientCerts {
    /// Whether one is asked for or required.
    pub auth: ClientAuth,
    /// The roots a certificate must chain to (`tls.server.authClient=true` with
    /// `tls.server.trustCertPath`); `None` takes any certificate, as Java's
    /// `InsecureTrustManagerFactory` does when `tls.server.authClient` is false.
    pub roots: Option<Vec<CertificateDer<'static>>>,
}

impl ClientCerts {
    /// No client certificates (Java's proxy).
    #[must_use]
    pub const fn none() -> Self {
        Self {
            auth: ClientAuth::None,
            roots: None,
        }
    }
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
    /// `tlsCertPath`, and Java's `tls.server.*` spellings; client certificates from
    /// `tls.server.need.client.auth`, `tls.server.authClient`, `tls.server.trustCertPath`).
    ///
    /// # Errors
    /// When the certificate, key or trusted roots cannot be read or made.
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
        let client = client_certs(broker)?;
        Ok(Self {
            mode,
            acceptor: Some(acceptor(certs, key, &client)?),
        })
    }
}

/// The client-certificate settings from `tls.server.need.client.auth`,
/// `tls.server.authClient` and `tls.server.trustCertPath`.
fn client_certs(broker: &Broker) -> Result<ClientCerts, TlsError> {
    let auth = ClientAuth::parse(&broker.config_str("tls.server.need.client.auth"));
    if auth == ClientAuth::None {
        return Ok(ClientCerts::none());
    }
    let roots = if broker.config_bool("tls.server.authClient") {
        let path = broker.config_str("tls.server.trustCertPath");
        if path.trim().is_empty() {
            return Err(TlsError::NoTrustPath);
        }
        let roots = pem_certs(&path)?;
        info!(?auth, trust = path, "gRPC TLS verifies client certificates");
        Some(roots)
    } else {
        warn!(
            ?auth,
            "gRPC TLS asks for client certificates but takes any (tls.server.authClient=false, as Java)"
        );
        None
    };
    Ok(ClientCerts { auth, roots })
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
    let certs = pem_certs(cert)?;
    let parsed = PrivateKeyDer::from_pem_file(key);
    if parsed.is_err() && std::fs::read_to_string(key).is_ok_and(|t| t.contains("ENCRYPTED")) {
        return Err(TlsError::EncryptedKey(key.to_owned()));
    }
    let key = parsed.map_err(|source| TlsError::Pem {
        path: key.to_owned(),
        source,
    })?;
    Ok((certs, key))
}

/// The certificates of a PEM file; none is an error.
fn pem_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_err = |source| TlsError::Pem {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_err)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

/// A server handshaker on rustls' `ring` provider, offering ALPN `h2`, taking client
/// certificates as `client` says.
///
/// # Errors
/// When rustls refuses the certificate, key or trusted roots.
pub fn acceptor(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client: &ClientCerts,
) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let required = client.auth == ClientAuth::Require;
    let verifier: Arc<dyn ClientCertVerifier> = match (client.auth, &client.roots) {
        (ClientAuth::None, _) => Arc::new(rustls::server::NoClientAuth),
        (_, None) => Arc::new(AnyClientCert {
            provider: Arc::clone(&provider),
            required,
        }),
        (_, Some(roots)) => {
            let mut store = rustls::RootCertStore::empty();
            for root in roots {
                store.add(root.clone())?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(store), Arc::clone(&provider));
            if required {
                builder.build()?
            } else {
                builder.allow_unauthenticated().build()?
            }
        }
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Takes any client certificate whose holder proves it has the key (Java's
/// `InsecureTrustManagerFactory`, used when `tls.server.authClient` is false).
#[derive(Debug)]
struct AnyClientCert {
    /// Checks the handshake signatures.
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// `require` rather than `optional`.
    required: bool,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A connection on the gRPC port, plaintext or TLS, with the addresses its requests see.
#[derive(Debug)]
pub struct GrpcStream {
    /// The bytes.
    io: Io,
    /// Local and remote address for tonic's `Request::remote_addr`; the remote one is the
    /// client's from a PROXY protocol header when one came (Java's `HeaderInterceptor`).
    info: TcpConnectInfo,
}

/// The transport under a [`GrpcStream`].
#[derive(Debug)]
enum Io {
    /// Plaintext HTTP/2.
    Plain(Prefixed<TcpStream>),
    /// HTTP/2 over TLS.
    Tls(Box<tokio_rustls::server::TlsStream<Prefixed<TcpStream>>>),
}

impl Connected for GrpcStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

/// A stream whose first bytes were already read (looking for a PROXY header and at the first
/// byte): they are read again before the socket's.
#[derive(Debug)]
pub struct Prefixed<S> {
    /// Bytes read ahead, handed out first.
    prefix: Vec<u8>,
    /// How many of them were handed out.
    at: usize,
    /// The stream.
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = this.prefix.get(this.at..).unwrap_or_default();
        if rest.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = rest.len().min(buf.remaining());
        buf.put_slice(rest.get(..n).unwrap_or_default());
        this.at += n;
        if this.at >= this.prefix.len() {
            this.prefix = Vec::new();
            this.at = 0;
        }
        Poll::Ready(Ok(()))
    }
}

/// Forwards the writing half of `AsyncWrite` to a pinned inner stream.
macro_rules! forward_write {
    ($self:ident => $inner:expr) => {
        fn poll_write(
            $self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            $inner.poll_write(cx, buf)
        }

        fn poll_write_vectored(
            $self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            $inner.poll_write_vectored(cx, bufs)
        }

        fn poll_flush($self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            $inner.poll_flush(cx)
        }

        fn poll_shutdown($self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            $inner.poll_shutdown(cx)
        }
    };
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    forward_write!(self => Pin::new(&mut self.get_mut().inner));

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl AsyncRead for Io {
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

impl Io {
    /// The transport, pinned as one writer.
    fn pinned(self: Pin<&mut Self>) -> Pin<&mut (dyn AsyncWrite + Unpin + Send)> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s),
            Self::Tls(s) => Pin::new(s.as_mut()),
        }
    }
}

impl AsyncWrite for Io {
    forward_write!(self => self.pinned());

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }
}

impl AsyncRead for GrpcStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for GrpcStream {
    forward_write!(self => Pin::new(&mut self.get_mut().io));

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
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

/// Reads a PROXY protocol header if one starts the connection (Java's negotiator looks for
/// one before anything else), then tells the connection's kind from its first byte (in
/// `permissive` mode) and handshakes TLS.
async fn negotiate(mut stream: TcpStream, tls: &Tls) -> io::Result<GrpcStream> {
    let socket_peer = stream.peer_addr().ok();
    let t = GRPC_TLS_HANDSHAKE_TIMEOUT;
    let (header, mut prefix) = proxy_protocol::read_header(&mut stream, t, t)
        .await
        .map_err(io::Error::other)?;
    if let Some(h) = &header {
        debug!(socket = ?socket_peer, client = ?h.source, tlvs = ?h.tlvs, "PROXY protocol header");
    }
    if prefix.is_empty() && (header.is_none() || stream.read_buf(&mut prefix).await? == 0) {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let info = TcpConnectInfo {
        local_addr: stream.local_addr().ok(),
        remote_addr: header.and_then(|h| h.source).or(socket_peer),
    };
    let first = prefix.first().copied();
    let stream = Prefixed {
        prefix,
        at: 0,
        inner: stream,
    };
    let plain = |stream| GrpcStream {
        io: Io::Plain(stream),
        info: info.clone(),
    };
    let Some(acceptor) = tls.acceptor.as_ref() else {
        return Ok(plain(stream));
    };
    if tls.mode == TlsMode::Permissive && first != Some(TLS_HANDSHAKE_RECORD) {
        return Ok(plain(stream));
    }
    let s = acceptor.accept(stream).await?;
    Ok(GrpcStream {
        io: Io::Tls(Box::new(s)),
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_parses_as_java() {
        assert_eq!(ClientAuth::parse("require"), ClientAuth::Require);
        assert_eq!(ClientAuth::parse(" Optional"), ClientAuth::Optional);
        assert_eq!(ClientAuth::parse("none"), ClientAuth::None);
        assert_eq!(ClientAuth::parse(""), ClientAuth::None);
        assert_eq!(ClientAuth::parse("always"), ClientAuth::None);
    }

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
        assert!(acceptor(certs, key, &ClientCerts::none()).is_ok());
    }
}
