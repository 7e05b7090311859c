//! The gRPC endpoint (`apache.rocketmq.v2.MessagingService`): the hand-written messages against
//! bytes from the Java SDK's generated classes (`protocol/grpc/`), and the RPCs of the first
//! slice over a real HTTP/2 connection with a tonic client built from the same messages. The
//! official-SDK proof is `compat-tests/grpc/run.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{TestBroker, pull, records};
use http::uri::PathAndQuery;
use prost::Message as _;
use rocketmq_rs::grpc::pb::{
    self, ClientType, Code, Encoding, EndTransactionRequest, HeartbeatRequest, Message,
    MessageType, Publishing, QueryAssignmentRequest, QueryRouteRequest, QueryRouteResponse,
    Resource, SendMessageRequest, SendMessageResponse, Settings, SystemProperties,
    TelemetryCommand, TransactionResolution, TransactionSource, settings::PubSub,
    telemetry_command::Command,
};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::ResponseCode;
use tonic::transport::Channel;

fn golden(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("protocol/grpc")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn res(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

#[test]
fn golden_send_message_request() {
    let bytes = golden("send_message_request.bin");
    let req = SendMessageRequest::decode(bytes.as_slice()).unwrap();
    let m = &req.messages[0];
    assert_eq!(m.topic, res("GrpcFifo"));
    assert_eq!(m.user_properties.get("userProp").unwrap(), "v1");
    assert_eq!(m.body, b"hello grpc");
    let s = m.system_properties.as_ref().unwrap();
    assert_eq!(s.tag.as_deref(), Some("TagF"));
    assert_eq!(s.keys, ["k1", "k2"]);
    assert_eq!(s.message_id, "01AABBCCDDEEFF00112233445566");
    assert_eq!(s.body_encoding, Encoding::Identity as i32);
    assert_eq!(s.message_type, MessageType::Fifo as i32);
    let born = s.born_timestamp.unwrap();
    assert_eq!((born.seconds, born.nanos), (1_764_547_200, 123_000_000));
    assert_eq!(s.born_host, "host-1");
    assert_eq!(s.message_group.as_deref(), Some("g0"));
    assert_eq!(s.delivery_timestamp.unwrap().seconds, 1_764_547_260);
    assert_eq!(
        s.orphaned_transaction_recovery_duration.unwrap().seconds,
        30
    );
    assert!(s.receipt_handle.is_none() && s.queue_offset.is_none());
    assert_eq!(req.encode_to_vec(), bytes);
}

#[test]
fn golden_route_settings_send_result_end_transaction() {
    let bytes = golden("query_route_response.bin");
    let r = QueryRouteResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32);
    let q = &r.message_queues[0];
    assert_eq!((q.id, q.permission), (2, pb::Permission::ReadWrite as i32));
    assert_eq!(q.accept_message_types, [MessageType::Fifo as i32]);
    let b = q.broker.as_ref().unwrap();
    assert_eq!(b.name, "broker-a");
    assert_eq!(b.endpoints.as_ref().unwrap().addresses[0].port, 8081);
    assert_eq!(r.encode_to_vec(), bytes);

    let bytes = golden("telemetry_settings.bin");
    let t = TelemetryCommand::decode(bytes.as_slice()).unwrap();
    let Some(Command::Settings(s)) = &t.command else {
        panic!("{t:?}")
    };
    assert_eq!(s.client_type, Some(ClientType::Producer as i32));
    let Some(PubSub::Publishing(p)) = &s.pub_sub else {
        panic!("{s:?}")
    };
    assert_eq!(
        (p.max_body_size, p.validate_message_type),
        (4_194_304, true)
    );
    let policy = s.backoff_policy.as_ref().unwrap();
    assert_eq!(policy.max_attempts, 3);
    assert_eq!(s.user_agent.as_ref().unwrap().version, "5.0.8");
    assert_eq!(t.encode_to_vec(), bytes);

    let bytes = golden("send_message_response.bin");
    let r = SendMessageResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        r.status.as_ref().unwrap().code,
        Code::MultipleResults as i32
    );
    assert_eq!(r.entries[0].offset, -7);
    assert_eq!(r.entries[0].recall_handle, "rh");
    assert_eq!(
        r.entries[1].status.as_ref().unwrap().code,
        Code::MasterPersistenceTimeout as i32
    );
    assert_eq!(r.encode_to_vec(), bytes);

    let bytes = golden("end_transaction_request.bin");
    let e = EndTransactionRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(e.resolution, TransactionResolution::Rollback as i32);
    assert_eq!(e.source, TransactionSource::SourceServerCheck as i32);
    assert_eq!(e.trace_context, "tc");
    assert_eq!(e.encode_to_vec(), bytes);
}

/// A broker with the endpoint on, a remoting client for checks, and a gRPC channel.
struct Setup {
    broker: TestBroker,
    grpc_port: u16,
    channel: Channel,
    remoting: RemotingClient,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn setup() -> Setup {
    setup_with(&[]).await
}

async fn setup_with(extra: &[(&str, &str)]) -> Setup {
    common::init_log();
    let grpc_port = free_port();
    let port = grpc_port.to_string();
    let mut cfg = vec![("enableProxy", "true"), ("grpcServerPort", port.as_str())];
    cfg.extend_from_slice(extra);
    let broker = TestBroker::start(&cfg).await;
    let channel = Channel::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Setup {
        broker,
        grpc_port,
        channel,
        remoting: RemotingClient::new(),
    }
}

fn with_client<T>(msg: T, client_id: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if !client_id.is_empty() {
        r.metadata_mut()
            .insert("x-mq-client-id", client_id.parse().unwrap());
    }
    r.metadata_mut()
        .insert("x-mq-language", "JAVA".parse().unwrap());
    r
}

async fn unary<Req, Resp>(ch: &Channel, method: &str, client_id: &str, req: Req) -> Resp
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    unary_status(ch, method, client_id, req).await.unwrap()
}

async fn unary_status<Req, Resp>(
    ch: &Channel,
    method: &str,
    client_id: &str,
    req: Req,
) -> Result<Resp, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    let path =
        PathAndQuery::try_from(format!("/apache.rocketmq.v2.MessagingService/{method}")).unwrap();
    g.unary(
        with_client(req, client_id),
        path,
        tonic_prost::ProstCodec::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn message(topic: &str, id: &str, ty: MessageType) -> Message {
    Message {
        topic: res(topic),
        user_properties: [("userProp".to_owned(), "v".to_owned())].into(),
        system_properties: Some(SystemProperties {
            tag: Some("TagA".into()),
            keys: vec!["k1".into(), "k2".into()],
            message_id: id.into(),
            message_type: ty as i32,
            ..SystemProperties::default()
        }),
        body: b"body".to_vec(),
    }
}

/// Pulls until `want` messages are there (the consume queue is built just after the put).
async fn pull_n(
    s: &Setup,
    topic: &str,
    queue: i32,
    offset: i64,
    want: usize,
) -> Vec<rocketmq_rs::store::record::MessageRecord> {
    for _ in 0..50 {
        let p = pull(&s.remoting, &s.broker.addr, topic, queue, offset, 0, "*").await;
        if p.response_code() == Some(ResponseCode::SUCCESS) {
            let recs = records(&p.body);
            if recs.len() >= want {
                return recs;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{topic}/{queue}@{offset}: fewer than {want} messages");
}

async fn create_topic(s: &Setup, topic: &str, queues: i32, message_type: &str) {
    let ext: rocketmq_rs::remoting::ExtFields = [
        ("topic", topic.to_owned()),
        ("defaultTopic", "TBW102".to_owned()),
        ("readQueueNums", queues.to_string()),
        ("writeQueueNums", queues.to_string()),
        ("perm", "6".to_owned()),
        ("topicFilterType", "SINGLE_TAG".to_owned()),
        ("attributes", format!("+message.type={message_type}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let resp = s
        .remoting
        .invoke(
            &s.broker.addr,
            rocketmq_rs::remoting::RemotingCommand::request(17, Some(ext)),
            common::T,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, 0, "{resp:?}");
}

/// Opens a Telemetry stream for `client_id` announcing a producer of `topics`; returns the
/// sender (keep it to keep the stream open) and the server's commands.
async fn telemetry_producer(
    s: &Setup,
    client_id: &str,
    topics: &[&str],
) -> (
    tokio::sync::mpsc::Sender<TelemetryCommand>,
    tonic::Streaming<TelemetryCommand>,
    Settings,
) {
    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(PubSub::Publishing(Publishing {
            topics: topics.iter().map(|t| res(t).unwrap()).collect(),
            max_body_size: 0,
            validate_message_type: false,
        })),
        ..Settings::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(TelemetryCommand {
        status: None,
        command: Some(Command::Settings(settings)),
    })
    .await
    .unwrap();
    let mut g = tonic::client::Grpc::new(s.channel.clone());
    g.ready().await.unwrap();
    let mut stream = g
        .streaming(
            with_client(tokio_stream::wrappers::ReceiverStream::new(rx), client_id),
            PathAndQuery::from_static("/apache.rocketmq.v2.MessagingService/Telemetry"),
            tonic_prost::ProstCodec::<TelemetryCommand, TelemetryCommand>::default(),
        )
        .await
        .unwrap()
        .into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answer.status.unwrap().code, Code::Ok as i32);
    let Some(Command::Settings(merged)) = answer.command else {
        panic!("no settings back")
    };
    (tx, stream, merged)
}

/// A transaction left open is checked back over Telemetry (`RecoverOrphanedTransactionCommand`)
/// and the producer's EndTransaction from the check commits it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphaned_transaction_is_checked_back_over_telemetry() {
    let s = setup_with(&[
        ("transactionTimeOut", "200"),
        ("transactionCheckInterval", "500"),
    ])
    .await;
    create_topic(&s, "GTxCheck", 1, "TRANSACTION").await;
    let (_keep, mut stream, _) = telemetry_producer(&s, "c-tx", &["GTxCheck"]).await;
    let r: SendMessageResponse = unary(
        &s.channel,
        "SendMessage",
        "c-tx",
        SendMessageRequest {
            messages: vec![message("GTxCheck", "ID-ORPHAN", MessageType::Transaction)],
        },
    )
    .await;
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
    let tx_id = r.entries[0].transaction_id.clone();
    let cmd = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("no check-back within 10 s")
        .unwrap()
        .unwrap();
    let Some(Command::RecoverOrphanedTransactionCommand(rec)) = cmd.command else {
        panic!("{cmd:?}")
    };
    assert_eq!(rec.transaction_id, tx_id);
    let m = rec.message.unwrap();
    assert_eq!(m.topic, res("GTxCheck"));
    assert_eq!(m.body, b"body");
    assert_eq!(
        m.user_properties.get("userProp").map(String::as_str),
        Some("v")
    );
    let sys = m.system_properties.unwrap();
    assert_eq!(sys.message_id, "ID-ORPHAN");
    assert_eq!(sys.message_type, MessageType::Transaction as i32);
    assert_eq!(sys.tag.as_deref(), Some("TagA"));
    assert_eq!(sys.keys, ["k1", "k2"]);
    assert_eq!(
        sys.body_digest.unwrap().checksum,
        rocketmq_rs::grpc::convert::md5_hex(b"body")
    );
    let e: pb::EndTransactionResponse = unary(
        &s.channel,
        "EndTransaction",
        "c-tx",
        EndTransactionRequest {
            topic: res("GTxCheck"),
            message_id: sys.message_id.clone(),
            transaction_id: rec.transaction_id.clone(),
            resolution: TransactionResolution::Commit as i32,
            source: TransactionSource::SourceServerCheck as i32,
            trace_context: String::new(),
        },
    )
    .await;
    assert_eq!(e.status.unwrap().code, Code::Ok as i32);
    let recs = pull_n(&s, "GTxCheck", 0, 0, 1).await;
    assert_eq!(recs[0].property("UNIQ_KEY"), Some("ID-ORPHAN"));
    s.broker.stop().await;
}

/// Telemetry settings → the merged settings; QueryRoute; Heartbeat; QueryAssignment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_route_heartbeat_assignment() {
    let s = setup().await;
    create_topic(&s, "GFifo", 4, "FIFO").await;

    // Heartbeat before any settings: UNRECOGNIZED_CLIENT_TYPE, as Java.
    let hb: pb::HeartbeatResponse = unary(
        &s.channel,
        "Heartbeat",
        "c1",
        HeartbeatRequest {
            group: None,
            client_type: ClientType::Producer as i32,
        },
    )
    .await;
    assert_eq!(hb.status.unwrap().code, Code::UnrecognizedClientType as i32);

    let settings = Settings {
        client_type: Some(ClientType::Producer as i32),
        pub_sub: Some(PubSub::Publishing(Publishing {
            topics: vec![res("GFifo").unwrap()],
            max_body_size: 0,
            validate_message_type: false,
        })),
        ..Settings::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(TelemetryCommand {
        status: None,
        command: Some(Command::Settings(settings)),
    })
    .await
    .unwrap();
    let mut g = tonic::client::Grpc::new(s.channel.clone());
    g.ready().await.unwrap();
    let mut stream = g
        .streaming(
            with_client(tokio_stream::wrappers::ReceiverStream::new(rx), "c1"),
            PathAndQuery::from_static("/apache.rocketmq.v2.MessagingService/Telemetry"),
            tonic_prost::ProstCodec::<TelemetryCommand, TelemetryCommand>::default(),
        )
        .await
        .unwrap()
        .into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(answer.status.unwrap().code, Code::Ok as i32);
    let Some(Command::Settings(merged)) = answer.command else {
        panic!("no settings back")
    };
    let Some(PubSub::Publishing(p)) = merged.pub_sub else {
        panic!("no publishing")
    };
    assert_eq!((p.max_body_size, p.validate_message_type), (4 << 20, true));
    let policy = merged.backoff_policy.unwrap();
    assert_eq!(policy.max_attempts, 3);
    assert!(!merged.metric.unwrap().on);

    let hb: pb::HeartbeatResponse = unary(
        &s.channel,
        "Heartbeat",
        "c1",
        HeartbeatRequest {
            group: None,
            client_type: ClientType::Producer as i32,
        },
    )
    .await;
    assert_eq!(hb.status.unwrap().code, Code::Ok as i32);

    let route: QueryRouteResponse = unary(
        &s.channel,
        "QueryRoute",
        "c1",
        QueryRouteRequest {
            topic: res("GFifo"),
            endpoints: Some(pb::Endpoints {
                scheme: pb::AddressScheme::IPv4 as i32,
                addresses: vec![pb::Address {
                    host: "127.0.0.1".into(),
                    port: 1,
                }],
            }),
        },
    )
    .await;
    assert_eq!(route.status.unwrap().code, Code::Ok as i32);
    assert_eq!(route.message_queues.len(), 4);
    let q = &route.message_queues[3];
    assert_eq!(q.id, 3);
    assert_eq!(q.permission, pb::Permission::ReadWrite as i32);
    assert_eq!(q.accept_message_types, [MessageType::Fifo as i32]);
    let b = q.broker.as_ref().unwrap();
    assert_eq!(b.name, "broker-t");
    let addr = &b.endpoints.as_ref().unwrap().addresses[0];
    assert_eq!(
        (addr.host.as_str(), addr.port),
        ("127.0.0.1", i32::from(s.grpc_port))
    );

    let missing: QueryRouteResponse = unary(
        &s.channel,
        "QueryRoute",
        "c1",
        QueryRouteRequest {
            topic: res("NoSuchTopic"),
            endpoints: None,
        },
    )
    .await;
    assert_eq!(missing.status.unwrap().code, Code::TopicNotFound as i32);

    let a: pb::QueryAssignmentResponse = unary(
        &s.channel,
        "QueryAssignment",
        "c1",
        QueryAssignmentRequest {
            topic: res("GFifo"),
            group: res("GroupA"),
            endpoints: None,
        },
    )
    .await;
    assert_eq!(a.status.unwrap().code, Code::Ok as i32);
    assert_eq!(a.assignments.len(), 1);
    assert_eq!(a.assignments[0].message_queue.as_ref().unwrap().id, -1);

    // No client id: CLIENT_ID_REQUIRED in-band.
    let r: QueryRouteResponse = unary(
        &s.channel,
        "QueryRoute",
        "",
        QueryRouteRequest {
            topic: res("GFifo"),
            endpoints: None,
        },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::ClientIdRequired as i32);

    // AckMessage without a topic: ILLEGAL_TOPIC in-band, as Java's `validateTopic`.
    let a: pb::AckMessageResponse = unary(
        &s.channel,
        "AckMessage",
        "c1",
        pb::AckMessageRequest::default(),
    )
    .await;
    let st = a.status.unwrap();
    assert_eq!(st.code, Code::IllegalTopic as i32);
    assert_eq!(st.message, "The specified topic is blank.");

    // The pull consumer's methods, which Java 5.3.3's proxy does not override either:
    // grpc-java's UNIMPLEMENTED with its words; a method the service lacks: "Method not found".
    for (method, message) in [
        (
            "PullMessage",
            "Method apache.rocketmq.v2.MessagingService/PullMessage is unimplemented",
        ),
        (
            "UpdateOffset",
            "Method apache.rocketmq.v2.MessagingService/UpdateOffset is unimplemented",
        ),
        (
            "GetOffset",
            "Method apache.rocketmq.v2.MessagingService/GetOffset is unimplemented",
        ),
        (
            "QueryOffset",
            "Method apache.rocketmq.v2.MessagingService/QueryOffset is unimplemented",
        ),
        (
            "NoSuchMethod",
            "Method not found: apache.rocketmq.v2.MessagingService/NoSuchMethod",
        ),
    ] {
        let e = unary_status::<_, pb::PullMessageResponse>(
            &s.channel,
            method,
            "c1",
            pb::PullMessageRequest::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unimplemented, "{method}");
        assert_eq!(e.message(), message);
    }
    drop(tx);
    s.broker.stop().await;
}

/// SendMessage: normal, FIFO (message group → `__SHARDINGKEY` and the group's queue), delay
/// (`TIMER_DELIVER_MS`), the refusals, and a transactional message committed by EndTransaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_normal_fifo_delay_transaction_and_refusals() {
    let s = setup().await;
    create_topic(&s, "GNormal", 1, "NORMAL").await;
    create_topic(&s, "GFifo", 8, "FIFO").await;
    create_topic(&s, "GTx", 1, "TRANSACTION").await;
    create_topic(&s, "GDelay", 1, "DELAY").await;

    let send = |m: Message| {
        let ch = s.channel.clone();
        async move {
            unary::<_, SendMessageResponse>(
                &ch,
                "SendMessage",
                "c2",
                SendMessageRequest { messages: vec![m] },
            )
            .await
        }
    };

    let r = send(message("GNormal", "ID-N-1", MessageType::Normal)).await;
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
    assert_eq!(r.entries[0].message_id, "ID-N-1");
    assert_eq!(r.entries[0].offset, 0);
    let recs = pull_n(&s, "GNormal", 0, 0, 1).await;
    let rec = &recs[0];
    assert_eq!(rec.property("UNIQ_KEY"), Some("ID-N-1"));
    assert_eq!(rec.property("TAGS"), Some("TagA"));
    assert_eq!(rec.property("KEYS"), Some("k1 k2"));
    assert_eq!(rec.property("userProp"), Some("v"));
    assert_eq!(rec.property("PGROUP"), Some("GNormal"));
    assert_eq!(rec.body.as_ref(), b"body");

    // FIFO: the group's queue is Guava's consistent hash of its Java hash code, every time.
    let mut fifo = message("GFifo", "ID-F-1", MessageType::Fifo);
    fifo.system_properties.as_mut().unwrap().message_group = Some("order-42".into());
    let want = rocketmq_rs::grpc::send::queue_for_group("order-42", 8);
    for i in 0..3 {
        let mut m = fifo.clone();
        m.system_properties.as_mut().unwrap().message_id = format!("ID-F-{i}");
        let r = send(m).await;
        assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
        assert_eq!(r.entries[0].offset, i64::from(i));
    }
    let recs = pull_n(&s, "GFifo", want, 0, 3).await;
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[2].property("__SHARDINGKEY"), Some("order-42"));
    assert_eq!(recs[2].property("UNIQ_KEY"), Some("ID-F-2"));

    // Delay: held in the timer and delivered at its time.
    let due = now_ms() + 2_000;
    let mut d = message("GDelay", "ID-D-1", MessageType::Delay);
    d.system_properties.as_mut().unwrap().delivery_timestamp = Some(prost_types::Timestamp {
        seconds: due / 1000,
        nanos: ((due % 1000) * 1_000_000) as i32,
    });
    let r = send(d).await;
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
    assert!(!r.entries[0].recall_handle.is_empty());
    let pulled = pull(&s.remoting, &s.broker.addr, "GDelay", 0, 0, 0, "*").await;
    assert_ne!(pulled.response_code(), Some(ResponseCode::SUCCESS));
    let mut got = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let p = pull(&s.remoting, &s.broker.addr, "GDelay", 0, 0, 0, "*").await;
        if p.response_code() == Some(ResponseCode::SUCCESS) {
            got = Some(records(&p.body).remove(0));
            break;
        }
    }
    let got = got.expect("delay message never delivered");
    assert_eq!(got.property("UNIQ_KEY"), Some("ID-D-1"));
    assert!(now_ms() >= due);

    // Refusals, with Java's codes.
    let mut empty = message("GNormal", "ID-E", MessageType::Normal);
    empty.body.clear();
    let r = send(empty).await;
    assert_eq!(r.status.unwrap().code, Code::MessageBodyEmpty as i32);
    let mut reserved = message("GNormal", "ID-R", MessageType::Normal);
    let _ = reserved
        .user_properties
        .insert("UNIQ_KEY".into(), "x".into());
    let r = send(reserved).await;
    let st = r.status.unwrap();
    assert_eq!(st.code, Code::IllegalMessagePropertyKey as i32);
    assert_eq!(st.message, "property is used by system: UNIQ_KEY");
    let mut long_group = message("GFifo", "ID-G", MessageType::Fifo);
    long_group.system_properties.as_mut().unwrap().message_group = Some("g".repeat(64));
    let r = send(long_group).await;
    assert_eq!(r.status.unwrap().code, Code::IllegalMessageGroup as i32);
    let r = send(message("NoSuchTopic", "ID-T", MessageType::Normal)).await;
    assert_eq!(r.status.unwrap().code, Code::TopicNotFound as i32);
    let r = send(message("rmq_sys_wheel_timer", "ID-S", MessageType::Normal)).await;
    assert_eq!(r.status.unwrap().code, Code::IllegalTopic as i32);
    let mut no_id = message("GNormal", "", MessageType::Normal);
    no_id.system_properties.as_mut().unwrap().message_id = " ".into();
    let r = send(no_id).await;
    assert_eq!(r.status.unwrap().code, Code::IllegalMessageId as i32);
    let mut far = message("GNormal", "ID-FAR", MessageType::Delay);
    far.system_properties.as_mut().unwrap().delivery_timestamp = Some(prost_types::Timestamp {
        seconds: now_ms() / 1000 + 2 * 86_400,
        nanos: 0,
    });
    let r = send(far).await;
    assert_eq!(r.status.unwrap().code, Code::IllegalDeliveryTime as i32);
    let r: SendMessageResponse = unary(
        &s.channel,
        "SendMessage",
        "c2",
        SendMessageRequest { messages: vec![] },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::MessageCorrupted as i32);

    // Transaction: the half message is invisible until EndTransaction commits it.
    let r = send(message("GTx", "ID-TX-1", MessageType::Transaction)).await;
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
    let tx_id = r.entries[0].transaction_id.clone();
    assert!(!tx_id.is_empty());
    let p = pull(&s.remoting, &s.broker.addr, "GTx", 0, 0, 0, "*").await;
    assert_ne!(p.response_code(), Some(ResponseCode::SUCCESS));
    let end = |id: &str| EndTransactionRequest {
        topic: res("GTx"),
        message_id: "ID-TX-1".into(),
        transaction_id: id.into(),
        resolution: TransactionResolution::Commit as i32,
        source: TransactionSource::SourceClient as i32,
        trace_context: String::new(),
    };
    let e: pb::EndTransactionResponse = unary(&s.channel, "EndTransaction", "c2", end("")).await;
    assert_eq!(e.status.unwrap().code, Code::InvalidTransactionId as i32);
    let e: pb::EndTransactionResponse =
        unary(&s.channel, "EndTransaction", "c2", end(&tx_id)).await;
    assert_eq!(e.status.unwrap().code, Code::Ok as i32);
    let recs = pull_n(&s, "GTx", 0, 0, 1).await;
    assert_eq!(recs[0].property("UNIQ_KEY"), Some("ID-TX-1"));
    // A second end of the same transaction finds nothing (Java: "cannot found transaction data").
    let e: pb::EndTransactionResponse =
        unary(&s.channel, "EndTransaction", "c2", end(&tx_id)).await;
    assert_eq!(e.status.unwrap().code, Code::InternalServerError as i32);
    s.broker.stop().await;
}

/// RecallMessage cancels a delay message before it is due; messages whose type is not the
/// topic's are refused as the Java proxy refuses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_and_topic_message_types() {
    let s = setup_with(&[("recallMessageEnable", "true")]).await;
    create_topic(&s, "RDelay", 1, "DELAY").await;
    create_topic(&s, "RNormal", 1, "NORMAL").await;
    create_topic(&s, "RMixed", 1, "MIXED").await;
    let send = |m: Message| {
        let ch = s.channel.clone();
        async move {
            unary::<_, SendMessageResponse>(
                &ch,
                "SendMessage",
                "c4",
                SendMessageRequest { messages: vec![m] },
            )
            .await
        }
    };
    let due = now_ms() + 60_000;
    let mut d = message("RDelay", "ID-RECALL", MessageType::Delay);
    d.system_properties.as_mut().unwrap().delivery_timestamp = Some(prost_types::Timestamp {
        seconds: due / 1000,
        nanos: 0,
    });
    let r = send(d.clone()).await;
    assert_eq!(r.status.as_ref().unwrap().code, Code::Ok as i32, "{r:?}");
    let handle = r.entries[0].recall_handle.clone();
    let recall = |topic: &str, handle: &str| {
        let ch = s.channel.clone();
        let req = pb::RecallMessageRequest {
            topic: res(topic),
            recall_handle: handle.to_owned(),
        };
        async move { unary::<_, pb::RecallMessageResponse>(&ch, "RecallMessage", "c4", req).await }
    };
    let ok = recall("RDelay", &handle).await;
    assert_eq!(ok.status.unwrap().code, Code::Ok as i32);
    assert_eq!(ok.message_id, "ID-RECALL");
    let bad = recall("RDelay", "not-a-handle").await;
    assert_eq!(bad.status.unwrap().code, Code::InternalServerError as i32);
    let wrong_type = recall("RNormal", &handle).await;
    let st = wrong_type.status.unwrap();
    assert_eq!(st.code, Code::MessagePropertyConflictWithType as i32);
    assert_eq!(
        st.message,
        "TopicMessageType validate failed, the expected type is NORMAL, but actual type is DELAY"
    );

    // A FIFO message to a NORMAL topic, a delay message to a NORMAL one: refused; MIXED takes all.
    let mut fifo = message("RNormal", "ID-X", MessageType::Fifo);
    fifo.system_properties.as_mut().unwrap().message_group = Some("g".into());
    let r = send(fifo.clone()).await;
    assert_eq!(
        r.status.unwrap().code,
        Code::MessagePropertyConflictWithType as i32
    );
    let mut d2 = d.clone();
    d2.topic = res("RNormal");
    let r = send(d2).await;
    assert_eq!(
        r.status.unwrap().code,
        Code::MessagePropertyConflictWithType as i32
    );
    fifo.topic = res("RMixed");
    let r = send(fifo).await;
    assert_eq!(r.status.unwrap().code, Code::Ok as i32);
    s.broker.stop().await;
}

/// A client gone without NotifyClientTermination is forgotten once idle with no Telemetry
/// stream (`grpcClientIdleTimeMills`): its producer registration goes with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_clients_are_forgotten() {
    let s = setup_with(&[("grpcClientIdleTimeMills", "300")]).await;
    create_topic(&s, "IdleT", 1, "NORMAL").await;
    let (keep, stream, _) = telemetry_producer(&s, "c-idle", &["IdleT"]).await;
    let producers = || async {
        let ext: rocketmq_rs::remoting::ExtFields =
            [("producerGroup".to_owned(), "IdleT".to_owned())]
                .into_iter()
                .collect();
        // GET_PRODUCER_CONNECTION_LIST (204): the broker's view of the group.
        s.remoting
            .invoke(
                &s.broker.addr,
                rocketmq_rs::remoting::RemotingCommand::request(204, Some(ext)),
                common::T,
            )
            .await
            .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = producers().await;
    assert_eq!(before.code, 0, "{before:?}");
    assert!(
        String::from_utf8_lossy(&before.body).contains("c-idle"),
        "an open Telemetry stream keeps the client: {before:?}"
    );
    drop(keep);
    drop(stream);
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = producers().await;
        if !String::from_utf8_lossy(&r.body).contains("c-idle") {
            gone = true;
            break;
        }
    }
    assert!(gone, "idle client still registered");
    s.broker.stop().await;
}

/// Bytes that are not a protobuf message get a gRPC error; the endpoint keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_and_the_endpoint_survives() {
    let s = setup().await;
    #[derive(Clone, PartialEq, prost::Message)]
    struct Junk {
        #[prost(bytes = "vec", tag = "1")]
        junk: Vec<u8>,
    }
    // Field 1 of SendMessageRequest is `repeated Message`; these bytes are not a Message.
    let e = unary_status::<_, SendMessageResponse>(
        &s.channel,
        "SendMessage",
        "c3",
        Junk {
            junk: vec![0xFF; 64],
        },
    )
    .await;
    assert!(e.is_err(), "{e:?}");
    let r: QueryRouteResponse = unary(
        &s.channel,
        "QueryRoute",
        "c3",
        QueryRouteRequest {
            topic: res("TBW102"),
            endpoints: None,
        },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::IllegalTopic as i32);
    s.broker.stop().await;
}
