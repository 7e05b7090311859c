//! TLS on the gRPC port (`grpc::tls`, Java's `ProxyAndTlsProtocolNegotiator`): a tonic client
//! over a tokio-rustls stream (ALPN `h2`) makes real RPCs in `permissive` mode, with the
//! self-signed test certificate and with PEM files verified against their own root; plaintext
//! still works beside it; `enforcing` refuses plaintext and `disabled` refuses TLS. Client
//! certificates (`tls.server.need.client.auth`) from an rcgen CA; the PROXY protocol header
//! (v1 and v2, before plaintext and TLS) on the gRPC port and on the remoting port, seen
//! through ACL 1.0's global white list of source addresses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestBroker, decode, encode, rand_suffix, read_frame};
use http::uri::PathAndQuery;
use hyper_util::rt::TokioIo;
use rocketmq_rs::grpc::pb::{
    self, ClientType, Code, HeartbeatRequest, QueryRouteRequest, QueryRouteResponse, Resource,
};
use rocketmq_rs::net::proxy_protocol::encode_v2;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::AsyncWriteExt as _;
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
    client_config_with(roots, None)
}

/// A client certificate chain and its key.
type ClientCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_config_with(
    roots: Option<rustls::RootCertStore>,
    cert: Option<ClientCert>,
) -> Arc<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match roots {
        Some(r) => builder.with_root_certificates(r),
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider()))),
    };
    let mut cfg = match cert {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
        None => builder.with_no_client_auth(),
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

/// A lazy channel whose connections first send `header` (a PROXY protocol header, or nothing),
/// then speak TLS made by `cfg`, or plaintext without one.
fn channel_with(port: u16, header: &[u8], cfg: Option<Arc<rustls::ClientConfig>>) -> Channel {
    let header = header.to_vec();
    let connector = tower::service_fn(move |_uri: http::Uri| {
        let (header, cfg) = (header.clone(), cfg.clone());
        async move {
            let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
            tcp.write_all(&header).await?;
            let io = match cfg {
                Some(cfg) => {
                    let name = ServerName::try_from("localhost").unwrap();
                    let tls = TlsConnector::from(cfg).connect(name, tcp).await?;
                    tokio_util::either::Either::Left(tls)
                }
                None => tokio_util::either::Either::Right(tcp),
            };
            Ok::<_, std::io::Error>(TokioIo::new(io))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .connect_with_connector_lazy(connector)
}

async fn heartbeat(ch: &Channel) -> Result<pb::HeartbeatResponse, tonic::Status> {
    let req = HeartbeatRequest {
        group: None,
        client_type: ClientType::Producer as i32,
    };
    call(ch, "Heartbeat", req).await
}

/// A CA that signs client certificates.
fn make_ca() -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("test CA {}", rand_suffix()),
    );
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap()
}

/// A client certificate `ca` signed, with its key.
fn client_cert(ca: &rcgen::CertifiedIssuer<'static, rcgen::KeyPair>) -> ClientCert {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["client".to_owned()]).unwrap();
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &**ca).unwrap();
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
    (vec![cert.der().clone()], PrivateKeyDer::Pkcs8(der))
}

fn tls_with(cert: Option<ClientCert>) -> Option<Arc<rustls::ClientConfig>> {
    Some(client_config_with(None, cert))
}

#[tokio::test]
async fn required_client_certificates_are_verified_against_the_trusted_root() {
    let dir = std::env::temp_dir().join(format!("grpc-mtls-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = make_ca();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca.pem()).unwrap();
    let ca_s = ca_path.display().to_string();
    let port = free_port();
    let b = broker(
        port,
        &[
            ("tls.server.need.client.auth", "require"),
            ("tls.server.authClient", "true"),
            ("tls.server.trustCertPath", &ca_s),
        ],
    )
    .await;
    let signed = channel_with(port, b"", tls_with(Some(client_cert(&ca))));
    rpcs_work(&signed).await;
    let without = channel_with(port, b"", tls_with(None));
    assert!(
        heartbeat(&without).await.is_err(),
        "served without a certificate"
    );
    let stranger = channel_with(port, b"", tls_with(Some(client_cert(&make_ca()))));
    assert!(
        heartbeat(&stranger).await.is_err(),
        "served another CA's certificate"
    );
    rpcs_work(&signed).await;
    drop((signed, without, stranger));
    b.stop().await;

    // `optional`: a client without a certificate is served, a wrong one still refused.
    let port = free_port();
    let b = broker(
        port,
        &[
            ("tls.server.need.client.auth", "optional"),
            ("tls.server.authClient", "true"),
            ("tls.server.trustCertPath", &ca_s),
        ],
    )
    .await;
    rpcs_work(&channel_with(port, b"", tls_with(None))).await;
    rpcs_work(&channel_with(port, b"", tls_with(Some(client_cert(&ca))))).await;
    let stranger = channel_with(port, b"", tls_with(Some(client_cert(&make_ca()))));
    assert!(heartbeat(&stranger).await.is_err());
    drop(stranger);
    b.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn require_without_auth_client_takes_any_certificate_as_java() {
    let port = free_port();
    let b = broker(port, &[("tls.server.need.client.auth", "REQUIRE")]).await;
    rpcs_work(&channel_with(
        port,
        b"",
        tls_with(Some(client_cert(&make_ca()))),
    ))
    .await;
    let without = channel_with(port, b"", tls_with(None));
    assert!(
        heartbeat(&without).await.is_err(),
        "served without a certificate"
    );
    drop(without);
    b.stop().await;
    // Verification asked for without roots: the start fails.
    let p = free_port().to_string();
    let e = TestBroker::start_error(&[
        ("enableProxy", "true"),
        ("grpcServerPort", p.as_str()),
        ("tls.server.need.client.auth", "require"),
        ("tls.server.authClient", "true"),
    ])
    .await;
    assert!(e.contains("tls.server.trustCertPath"), "{e}");
}

/// A broker home whose `plain_acl.yml` lets 10.10.103.* in without a signature.
fn acl_home() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("grpc-proxy-acl-{}", rand_suffix()));
    std::fs::create_dir_all(d.join("conf")).unwrap();
    let yml = "globalWhiteRemoteAddresses:\n  - 10.10.103.*\naccounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    admin: false\n";
    std::fs::write(d.join("conf/plain_acl.yml"), yml).unwrap();
    d
}

fn sa(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn proxy_protocol_header_gives_grpc_the_client_address() {
    let home = acl_home();
    let home_s = home.display().to_string();
    let port = free_port();
    let b = broker(port, &[("aclEnable", "true"), ("rocketmqHome", &home_s)]).await;
    let route = |ch: Channel| async move {
        let req = QueryRouteRequest {
            topic: Some(Resource {
                resource_namespace: String::new(),
                name: "acl-ok".into(),
            }),
            endpoints: None,
        };
        call::<_, QueryRouteResponse>(&ch, "QueryRoute", req).await
    };
    // From 127.0.0.1, unsigned: refused.
    let e = route(channel_with(port, b"", None)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    // The same request behind a proxy that saw 10.10.103.9: white-listed, over plaintext
    // and over TLS, with either header version (v2 with a TLV).
    let v1 = b"PROXY TCP4 10.10.103.9 127.0.0.1 40000 8081\r\n".to_vec();
    let v2 = encode_v2(
        sa("10.10.103.9:40001"),
        sa("127.0.0.1:8081"),
        &[(0x02, b"broker.example")],
    );
    for header in [&v1, &v2] {
        for tls in [None, tls_with(None)] {
            let r = route(channel_with(port, header, tls.clone())).await;
            assert!(r.is_ok(), "tls {}: {r:?}", tls.is_some());
        }
    }
    // UNKNOWN keeps the socket's address; another source is not white-listed.
    let unknown = route(channel_with(port, b"PROXY UNKNOWN\r\n", None)).await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::PermissionDenied);
    let other = encode_v2(sa("192.0.2.1:5000"), sa("127.0.0.1:8081"), &[]);
    let r = route(channel_with(port, &other, tls_with(None))).await;
    assert_eq!(r.unwrap_err().code(), tonic::Code::PermissionDenied);
    // A malformed header closes the connection; the port still serves.
    let bad = route(channel_with(port, b"PROXY TCP4 not an address\r\n", None)).await;
    assert_ne!(bad.unwrap_err().code(), tonic::Code::PermissionDenied);
    assert!(route(channel_with(port, &v1, None)).await.is_ok());
    b.stop().await;
    let _ = std::fs::remove_dir_all(&home);
}

/// An unsigned SEND_MESSAGE (310) to `topic`.
fn send_req(topic: &str) -> RemotingCommand {
    let ext: ExtFields = [
        ("a", "pg"),
        ("b", topic),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "0"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", ""),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
    ]
    .into_iter()
    .collect();
    RemotingCommand::request(310, Some(ext)).with_body(bytes::Bytes::from_static(b"proxied"))
}

#[tokio::test]
async fn proxy_protocol_header_on_the_remoting_port() {
    let home = acl_home();
    let home_s = home.display().to_string();
    let b = TestBroker::start(&[("aclEnable", "true"), ("rocketmqHome", &home_s)]).await;
    let addr = b.addr.clone();
    // The header, then the frame, in `cuts` writes a little apart; the response's code.
    let send = |header: Vec<u8>, cuts: usize| {
        let addr = addr.clone();
        async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            let mut wire = header;
            wire.extend(encode(&send_req("acl-ok")));
            let step = wire.len().div_ceil(cuts);
            for part in wire.chunks(step) {
                s.write_all(part).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            read_frame(&mut s).await.map(|f| decode(&f).code)
        }
    };
    let denied = Some(ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(send(Vec::new(), 1).await, denied, "127.0.0.1 unsigned");
    let v1 = b"PROXY TCP4 10.10.103.9 127.0.0.1 40000 10911\r\n".to_vec();
    assert_eq!(send(v1.clone(), 1).await, Some(0));
    assert_eq!(send(v1, 7).await, Some(0), "header and frame in pieces");
    let v2 = encode_v2(sa("10.10.103.9:40002"), sa("127.0.0.1:10911"), &[]);
    assert_eq!(send(v2.clone(), 1).await, Some(0));
    assert_eq!(send(v2, 5).await, Some(0));
    assert_eq!(send(b"PROXY UNKNOWN\r\n".to_vec(), 1).await, denied);
    assert_eq!(send(b"PROXY TCP9 x\r\n".to_vec(), 1).await, None, "closed");
    b.stop().await;
    let _ = std::fs::remove_dir_all(&home);
}
