//! TLS on the gRPC port (`grpc::tls`, Java's `ProxyAndTlsProtocolNegotiator`): a tonic client
//! over a tokio-rustls stream (ALPN `h2`) makes real RPCs in `permissive` mode, with the
//! self-signed test certificate and with PEM files verified against their own root; plaintext
//! still works beside it; `enforcing` refuses plaintext and `disabled` refuses TLS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestBroker, rand_suffix};
use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use rocketmq_rs::grpc::pb::{
    self, ClientType, Code, HeartbeatRequest, QueryRouteRequest, QueryRouteResponse, Resource,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Takes any server certificate (the test mode's is made at start), but still checks the
/// handshake signatures.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config(roots: Option<rustls::RootCertStore>) -> Arc<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let mut cfg = match roots {
        Some(r) => builder.with_root_certificates(r).with_no_client_auth(),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider())))
            .with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(cfg)
}

async fn tls_connect(
    port: u16,
    cfg: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(cfg).connect(name, tcp).await
}

/// A tonic channel whose connections are TLS streams made by `cfg`; also checks ALPN `h2`.
async fn tls_channel(port: u16, cfg: Arc<rustls::ClientConfig>) -> Channel {
    let connector = tower::service_fn(move |_uri: http::Uri| {
        let cfg = Arc::clone(&cfg);
        async move {
            let s = tls_connect(port, cfg).await?;
            let alpn = s.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
            assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN");
            Ok::<_, std::io::Error>(TokioIo::new(s))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector(connector)
        .await
        .unwrap()
}

async fn plain_channel(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap()
}

async fn call<Req, Resp>(ch: &Channel, method: &str, req: Req) -> Result<Resp, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path =
        PathAndQuery::try_from(format!("/apache.rocketmq.v2.MessagingService/{method}")).unwrap();
    let mut r = tonic::Request::new(req);
    r.metadata_mut()
        .insert("x-mq-client-id", "tls-client".parse().unwrap());
    r.metadata_mut()
        .insert("x-mq-language", "JAVA".parse().unwrap());
    r.set_timeout(Duration::from_secs(5));
    let fut = g.unary(r, path, tonic_prost::ProstCodec::default());
    tokio::time::timeout(Duration::from_secs(8), fut)
        .await
        .map_err(|_| tonic::Status::deadline_exceeded("no answer"))?
        .map(tonic::Response::into_inner)
}

/// Heartbeat and QueryRoute answered by the service over `ch`.
async fn rpcs_work(ch: &Channel) {
    let hb: pb::HeartbeatResponse = call(
        ch,
        "Heartbeat",
        HeartbeatRequest {
            group: None,
            client_type: ClientType::Producer as i32,
        },
    )
    .await
    .unwrap();
    // No Telemetry settings came first: the service answers as Java's proxy does.
    assert_eq!(hb.status.unwrap().code, Code::UnrecognizedClientType as i32);
    let route: QueryRouteResponse = call(
        ch,
        "QueryRoute",
        QueryRouteRequest {
            topic: Some(Resource {
                resource_namespace: String::new(),
                name: "NoSuchTopic".into(),
            }),
            endpoints: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(route.status.unwrap().code, Code::TopicNotFound as i32);
}

async fn broker(port: u16, extra: &[(&str, &str)]) -> TestBroker {
    common::init_log();
    let p = port.to_string();
    let mut cfg = vec![("enableProxy", "true"), ("grpcServerPort", p.as_str())];
    cfg.extend_from_slice(extra);
    TestBroker::start(&cfg).await
}

#[tokio::test]
async fn permissive_serves_tls_with_the_test_certificate_and_plaintext() {
    let port = free_port();
    let b = broker(port, &[]).await;
    let tls = tls_channel(port, client_config(None)).await;
    rpcs_work(&tls).await;
    let plain = plain_channel(port).await;
    rpcs_work(&plain).await;
    // The test certificate names localhost and 127.0.0.1.
    let s = tls_connect(port, client_config(None)).await.unwrap();
    let cert = s.get_ref().1.peer_certificates().unwrap()[0].clone();
    let needle = [127u8, 0, 0, 1];
    assert!(cert.windows(4).any(|w| w == needle), "IP SAN 127.0.0.1");
    assert!(
        cert.windows(9).any(|w| w == b"localhost"),
        "DNS SAN localhost"
    );
    drop((tls, plain, s));
    b.stop().await;
}

#[tokio::test]
async fn pem_files_verified_against_their_root_and_java_key_spelling() {
    let dir = std::env::temp_dir().join(format!("grpc-tls-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("rocketmq.crt"), dir.join("rocketmq.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let port = free_port();
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let b = broker(
        port,
        &[
            ("tlsTestModeEnable", "false"),
            ("tls.server.certPath", &c),
            ("tls.server.keyPath", &k),
        ],
    )
    .await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let tls = tls_channel(port, client_config(Some(roots))).await;
    rpcs_work(&tls).await;
    // A client trusting another root refuses the handshake.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let mut wrong = rustls::RootCertStore::empty();
    wrong.add(other.cert.der().clone()).unwrap();
    assert!(tls_connect(port, client_config(Some(wrong))).await.is_err());
    // The port still serves after the failed handshake.
    rpcs_work(&tls).await;
    drop(tls);
    b.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn missing_pem_files_fail_the_start() {
    let dir = std::env::temp_dir().join(format!("grpc-tls-none-{}", rand_suffix()));
    let (c, k) = (
        dir.join("a.crt").display().to_string(),
        dir.join("a.key").display().to_string(),
    );
    let mut cfg = rocketmq_rs::broker::config::defaults();
    for (key, v) in [
        ("tlsTestModeEnable", "false"),
        ("tlsCertPath", c.as_str()),
        ("tlsKeyPath", k.as_str()),
    ] {
        cfg.set(key, v).unwrap();
    }
    // The key table knows all the spellings.
    for key in [
        "tlsMode",
        "tls.server.mode",
        "tlsCertPath",
        "tls.server.certPath",
    ] {
        assert!(cfg.knows(key), "{key}");
    }
    let port = free_port();
    let p = port.to_string();
    let e = tokio::time::timeout(
        Duration::from_secs(30),
        TestBroker::start_error(&[
            ("enableProxy", "true"),
            ("grpcServerPort", p.as_str()),
            ("tlsTestModeEnable", "false"),
            ("tlsCertPath", c.as_str()),
            ("tlsKeyPath", k.as_str()),
        ]),
    )
    .await
    .expect("a start without its certificate");
    assert!(e.contains("gRPC TLS setup failed"), "{e}");
}

#[tokio::test]
async fn enforcing_refuses_plaintext() {
    let port = free_port();
    let b = broker(port, &[("tlsMode", "enforcing")]).await;
    let tls = tls_channel(port, client_config(None)).await;
    rpcs_work(&tls).await;
    let plain = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    let r: Result<pb::HeartbeatResponse, _> = call(
        &plain,
        "Heartbeat",
        HeartbeatRequest {
            group: None,
            client_type: ClientType::Producer as i32,
        },
    )
    .await;
    assert!(r.is_err(), "plaintext answered in enforcing mode: {r:?}");
    drop((tls, plain));
    b.stop().await;
}

#[tokio::test]
async fn disabled_refuses_tls_and_serves_plaintext() {
    let port = free_port();
    let b = broker(port, &[("tls.server.mode", "disabled")]).await;
    assert!(tls_connect(port, client_config(None)).await.is_err());
    let plain = plain_channel(port).await;
    rpcs_work(&plain).await;
    drop(plain);
    b.stop().await;
}
