//! The consuming RPCs of the gRPC endpoint over a real HTTP/2 connection: ReceiveMessage (status,
//! messages, delivery timestamp; an empty long poll; an illegal invisible time), AckMessage
//! (bad, expired and good receipt handles), ChangeInvisibleDuration (the message comes back and
//! the new handle acks it) and ForwardMessageToDeadLetterQueue. The official-SDK proof is
//! `compat-tests/grpc/run.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, Instant};

use common::{TestBroker, pull, records};
use http::uri::PathAndQuery;
use rocketmq_rs::grpc::pb::{
    AckMessageEntry, AckMessageRequest, AckMessageResponse, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, ClientType, Code, FilterExpression, FilterType,
    ForwardMessageToDeadLetterQueueRequest, ForwardMessageToDeadLetterQueueResponse, Message,
    MessageQueue, MessageType, Publishing, ReceiveMessageRequest, ReceiveMessageResponse, Resource,
    SendMessageRequest, SendMessageResponse, Settings, Subscription, SubscriptionEntry,
    SystemProperties, TelemetryCommand, receive_message_response::Content, settings::PubSub,
    telemetry_command::Command,
};
use rocketmq_rs::grpc::receipt::ReceiptHandle;
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::ResponseCode;
use tonic::transport::Channel;

fn res(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

fn dur(ms: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    })
}

struct Setup {
    broker: TestBroker,
    channel: Channel,
    remoting: RemotingClient,
}

async fn setup() -> Setup {
    setup_with(&[]).await
}

async fn setup_with(extra: &[(&str, &str)]) -> Setup {
    common::init_log();
    let grpc_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut config = vec![
        ("enableProxy", "true"),
        ("grpcServerPort", grpc_port.as_str()),
    ];
    config.extend_from_slice(extra);
    let broker = TestBroker::start(&config).await;
    let channel = Channel::from_shared(format!("http://127.0.0.1:{grpc_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Setup {
        broker,
        channel,
        remoting: RemotingClient::new(),
    }
}

fn with_client<T>(msg: T, client_id: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("x-mq-client-id", client_id.parse().unwrap());
    r.metadata_mut()
        .insert("x-mq-client-version", "5.0.8".parse().unwrap());
    r.set_timeout(Duration::from_secs(30));
    r
}

fn path(method: &str) -> PathAndQuery {
    PathAndQuery::try_from(format!("/apache.rocketmq.v2.MessagingService/{method}")).unwrap()
}

async fn unary<Req, Resp>(ch: &Channel, method: &str, client_id: &str, req: Req) -> Resp
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    g.unary(
        with_client(req, client_id),
        path(method),
        tonic_prost::ProstCodec::default(),
    )
    .await
    .unwrap()
    .into_inner()
}

/// A ReceiveMessage call: every response of the stream, in order.
async fn receive(ch: &Channel, client_id: &str, req: ReceiveMessageRequest) -> Vec<Content> {
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    let mut stream = g
        .server_streaming(
            with_client(req, client_id),
            path("ReceiveMessage"),
            tonic_prost::ProstCodec::<ReceiveMessageRequest, ReceiveMessageResponse>::default(),
        )
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        out.push(r.content.unwrap());
    }
    out
}

fn receive_req(topic: &str, group: &str, invisible_ms: i64) -> ReceiveMessageRequest {
    ReceiveMessageRequest {
        group: res(group),
        message_queue: Some(MessageQueue {
            topic: res(topic),
            id: -1,
            ..MessageQueue::default()
        }),
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "*".into(),
        }),
        batch_size: 32,
        invisible_duration: dur(invisible_ms),
        auto_renew: false,
        long_polling_timeout: dur(5000),
        attempt_id: None,
    }
}

/// The status first, the delivery timestamp last, the messages between.
fn split(contents: Vec<Content>) -> (i32, Vec<Message>) {
    assert!(contents.len() >= 2, "{contents:?}");
    let Some(Content::Status(st)) = contents.first().cloned() else {
        panic!("first is not a status: {contents:?}")
    };
    assert!(
        matches!(contents.last(), Some(Content::DeliveryTimestamp(_))),
        "{contents:?}"
    );
    let msgs = contents[1..contents.len() - 1]
        .iter()
        .map(|c| match c {
            Content::Message(m) => m.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    (st.code, msgs)
}

/// Opens a Telemetry stream announcing `settings`; keep the sender to keep it open.
async fn telemetry(
    s: &Setup,
    client_id: &str,
    settings: Settings,
) -> tokio::sync::mpsc::Sender<TelemetryCommand> {
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
    drop(tokio::spawn(async move {
        while let Ok(Some(_)) = stream.message().await {}
    }));
    tx
}

async fn create_topic(s: &Setup, topic: &str) {
    let ext: rocketmq_rs::remoting::ExtFields = [
        ("topic", topic.to_owned()),
        ("defaultTopic", "TBW102".to_owned()),
        ("readQueueNums", "2".to_owned()),
        ("writeQueueNums", "2".to_owned()),
        ("perm", "6".to_owned()),
        ("topicFilterType", "SINGLE_TAG".to_owned()),
        ("attributes", "+message.type=NORMAL".to_owned()),
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

fn consumer_settings(group: &str, topics: &[&str]) -> Settings {
    Settings {
        client_type: Some(ClientType::SimpleConsumer as i32),
        pub_sub: Some(PubSub::Subscription(Subscription {
            group: res(group),
            subscriptions: topics
                .iter()
                .map(|t| SubscriptionEntry {
                    topic: res(t),
                    expression: Some(FilterExpression {
                        r#type: FilterType::Tag as i32,
                        expression: "*".into(),
                    }),
                })
                .collect(),
            ..Subscription::default()
        })),
        request_timeout: dur(3000),
        ..Settings::default()
    }
}

fn handle_of(m: &Message) -> String {
    m.system_properties
        .as_ref()
        .unwrap()
        .receipt_handle
        .clone()
        .unwrap()
}

fn id_of(m: &Message) -> String {
    m.system_properties.as_ref().unwrap().message_id.clone()
}

async fn ack(s: &Setup, topic: &str, group: &str, entries: &[(&str, &str)]) -> AckMessageResponse {
    unary(
        &s.channel,
        "AckMessage",
        "c-sub",
        AckMessageRequest {
            group: res(group),
            topic: res(topic),
            entries: entries
                .iter()
                .map(|(id, h)| AckMessageEntry {
                    message_id: (*id).to_owned(),
                    receipt_handle: (*h).to_owned(),
                })
                .collect(),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_ack_change_invisible_and_dlq() {
    let s = setup().await;
    create_topic(&s, "GCons").await;
    create_topic(&s, "GEmpty").await;
    let _p = telemetry(
        &s,
        "c-pub",
        Settings {
            client_type: Some(ClientType::Producer as i32),
            pub_sub: Some(PubSub::Publishing(Publishing {
                topics: vec![res("GCons").unwrap()],
                max_body_size: 0,
                validate_message_type: false,
            })),
            ..Settings::default()
        },
    )
    .await;
    for i in 0..3 {
        let r: SendMessageResponse = unary(
            &s.channel,
            "SendMessage",
            "c-pub",
            SendMessageRequest {
                messages: vec![Message {
                    topic: res("GCons"),
                    user_properties: [("k".to_owned(), format!("v{i}"))].into(),
                    system_properties: Some(SystemProperties {
                        tag: Some("TagA".into()),
                        message_id: format!("ID-{i}"),
                        message_type: MessageType::Normal as i32,
                        ..SystemProperties::default()
                    }),
                    body: format!("body {i}").into_bytes(),
                }],
            },
        )
        .await;
        assert_eq!(r.status.unwrap().code, Code::Ok as i32);
    }
    let _c = telemetry(
        &s,
        "c-sub",
        consumer_settings("GGroup", &["GCons", "GEmpty"]),
    )
    .await;

    // An invisible time below minInvisibleTimeMillsForRecv (10 s): ILLEGAL_INVISIBLE_TIME.
    let (code, msgs) =
        split(receive(&s.channel, "c-sub", receive_req("GCons", "GGroup", 1000)).await);
    assert_eq!(code, Code::IllegalInvisibleTime as i32);
    assert!(msgs.is_empty());

    // An empty topic: the long poll (5 s) ends with MESSAGE_NOT_FOUND.
    let t0 = Instant::now();
    let (code, msgs) =
        split(receive(&s.channel, "c-sub", receive_req("GEmpty", "GGroup", 20_000)).await);
    assert_eq!(code, Code::MessageNotFound as i32);
    assert!(msgs.is_empty());
    assert!(
        t0.elapsed() >= Duration::from_millis(4500),
        "{:?}",
        t0.elapsed()
    );

    // The three messages, with handles.
    let mut got = Vec::new();
    for _ in 0..5 {
        let (code, msgs) =
            split(receive(&s.channel, "c-sub", receive_req("GCons", "GGroup", 20_000)).await);
        if code == Code::Ok as i32 {
            got.extend(msgs);
        }
        if got.len() >= 3 {
            break;
        }
    }
    assert_eq!(got.len(), 3, "{got:?}");
    got.sort_by_key(id_of);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(id_of(m), format!("ID-{i}"));
        assert_eq!(m.body, format!("body {i}").into_bytes());
        assert_eq!(m.user_properties.get("k"), Some(&format!("v{i}")));
        let sys = m.system_properties.as_ref().unwrap();
        assert_eq!(sys.delivery_attempt, Some(1));
        let h = ReceiptHandle::decode(&handle_of(m)).unwrap();
        assert_eq!(h.invisible_time, 20_000);
        assert_eq!(h.topic_type, "0");
        assert!(h.commit_log_offset >= 0);
    }

    // Bad handles: undecodable (an internal error, as Java's IllegalArgumentException) and
    // expired (INVALID_RECEIPT_HANDLE); a good one acks.
    let good = handle_of(&got[0]);
    let mut expired = ReceiptHandle::decode(&good).unwrap();
    expired.retrieve_time = 1;
    let expired = expired.encode();
    let r = ack(
        &s,
        "GCons",
        "GGroup",
        &[("ID-0", "garbage"), ("ID-0", &expired), ("ID-0", &good)],
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::MultipleResults as i32);
    let codes: Vec<i32> = r
        .entries
        .iter()
        .map(|e| e.status.as_ref().unwrap().code)
        .collect();
    assert_eq!(
        codes,
        [
            Code::InternalServerError as i32,
            Code::InvalidReceiptHandle as i32,
            Code::Ok as i32
        ]
    );

    // ChangeInvisibleDuration: a negative time is refused; 1 s brings ID-1 back.
    let change = |ms: i64, h: String| ChangeInvisibleDurationRequest {
        group: res("GGroup"),
        topic: res("GCons"),
        receipt_handle: h,
        invisible_duration: dur(ms),
        message_id: "ID-1".into(),
    };
    let r: ChangeInvisibleDurationResponse = unary(
        &s.channel,
        "ChangeInvisibleDuration",
        "c-sub",
        change(-1000, handle_of(&got[1])),
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::IllegalInvisibleTime as i32);
    let r: ChangeInvisibleDurationResponse = unary(
        &s.channel,
        "ChangeInvisibleDuration",
        "c-sub",
        change(1000, handle_of(&got[1])),
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::Ok as i32);
    let renewed = ReceiptHandle::decode(&r.receipt_handle).unwrap();
    assert_eq!(renewed.invisible_time, 1000);

    // ID-1 comes back (second attempt); ID-0 (acked) and ID-2 (still invisible) do not.
    let t0 = Instant::now();
    let mut back = None;
    while back.is_none() && t0.elapsed() < Duration::from_secs(30) {
        let (code, msgs) =
            split(receive(&s.channel, "c-sub", receive_req("GCons", "GGroup", 20_000)).await);
        if code == Code::Ok as i32 {
            assert!(msgs.iter().all(|m| id_of(m) == "ID-1"), "{msgs:?}");
            back = msgs.into_iter().next();
        }
    }
    let back = back.expect("ID-1 did not come back after its invisible time");
    assert_eq!(
        back.system_properties.as_ref().unwrap().delivery_attempt,
        Some(2)
    );
    let r = ack(&s, "GCons", "GGroup", &[("ID-1", &handle_of(&back))]).await;
    assert_eq!(r.status.unwrap().code, Code::Ok as i32);

    // ID-2 to the DLQ: the group's %DLQ% topic holds it.
    let r: ForwardMessageToDeadLetterQueueResponse = unary(
        &s.channel,
        "ForwardMessageToDeadLetterQueue",
        "c-sub",
        ForwardMessageToDeadLetterQueueRequest {
            group: res("GGroup"),
            topic: res("GCons"),
            receipt_handle: handle_of(&got[2]),
            message_id: "ID-2".into(),
            delivery_attempt: 1,
            max_delivery_attempts: 16,
        },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::Ok as i32);
    let mut dlq = Vec::new();
    for _ in 0..50 {
        let p = pull(&s.remoting, &s.broker.addr, "%DLQ%GGroup", 0, 0, 0, "*").await;
        if p.response_code() == Some(ResponseCode::SUCCESS) {
            dlq = records(&p.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].property("UNIQ_KEY"), Some("ID-2"));

    // Nothing is left to receive: everything was acked or dead-lettered.
    let (code, _) =
        split(receive(&s.channel, "c-sub", receive_req("GCons", "GGroup", 20_000)).await);
    assert_eq!(code, Code::MessageNotFound as i32);
    s.broker.stop().await;
}

/// Auto-renewal (Java's `DefaultReceiptHandleManager`): a message received with `auto_renew`
/// and a 3 s invisible time stays invisible while the client holds it past that time, and the
/// handle the client received, long expired, still acks it (the endpoint maps it to the
/// renewed one, then forgets it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_renew_keeps_a_held_message_invisible() {
    let s = setup_with(&[
        ("defaultInvisibleTimeMills", "3000"),
        ("renewAheadTimeMillis", "2000"),
        ("renewSchedulePeriodMillis", "200"),
    ])
    .await;
    create_topic(&s, "GRenew").await;
    let _p = telemetry(
        &s,
        "c-pub",
        Settings {
            client_type: Some(ClientType::Producer as i32),
            pub_sub: Some(PubSub::Publishing(Publishing {
                topics: vec![res("GRenew").unwrap()],
                max_body_size: 0,
                validate_message_type: false,
            })),
            ..Settings::default()
        },
    )
    .await;
    let r: SendMessageResponse = unary(
        &s.channel,
        "SendMessage",
        "c-pub",
        SendMessageRequest {
            messages: vec![Message {
                topic: res("GRenew"),
                user_properties: Default::default(),
                system_properties: Some(SystemProperties {
                    message_id: "RID-0".into(),
                    message_type: MessageType::Normal as i32,
                    ..SystemProperties::default()
                }),
                body: b"held".to_vec(),
            }],
        },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::Ok as i32);
    let _c = telemetry(&s, "c-sub", consumer_settings("GRenewG", &["GRenew"])).await;
    let _o = telemetry(&s, "c-other", consumer_settings("GRenewG", &["GRenew"])).await;

    let mut req = receive_req("GRenew", "GRenewG", 20_000);
    req.auto_renew = true;
    let mut got = Vec::new();
    for _ in 0..5 {
        let (code, msgs) = split(receive(&s.channel, "c-sub", req.clone()).await);
        if code == Code::Ok as i32 {
            got.extend(msgs);
            break;
        }
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(id_of(&got[0]), "RID-0");
    let original = handle_of(&got[0]);
    let h = ReceiptHandle::decode(&original).unwrap();
    // `defaultInvisibleTimeMills`, not the request's invisible duration.
    assert_eq!(h.invisible_time, 3000);

    // Held past its invisible time (and the revive service's pass): another consumer of the
    // group gets nothing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (code, msgs) = split(
        receive(
            &s.channel,
            "c-other",
            receive_req("GRenew", "GRenewG", 10_000),
        )
        .await,
    );
    assert_eq!(code, Code::MessageNotFound as i32, "{msgs:?}");
    assert!(ReceiptHandle::decode(&original).unwrap().is_expired());

    // The original handle, expired on its own, acks the message through its renewed form.
    let r = unary::<_, AckMessageResponse>(
        &s.channel,
        "AckMessage",
        "c-sub",
        AckMessageRequest {
            group: res("GRenewG"),
            topic: res("GRenew"),
            entries: vec![AckMessageEntry {
                message_id: "RID-0".into(),
                receipt_handle: original.clone(),
            }],
        },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::Ok as i32, "{:?}", r.entries);

    // Forgotten after the ack: the original handle is only itself again (expired).
    let r: ChangeInvisibleDurationResponse = unary(
        &s.channel,
        "ChangeInvisibleDuration",
        "c-sub",
        ChangeInvisibleDurationRequest {
            group: res("GRenewG"),
            topic: res("GRenew"),
            receipt_handle: original,
            invisible_duration: dur(20_000),
            message_id: "RID-0".into(),
        },
    )
    .await;
    assert_eq!(r.status.unwrap().code, Code::InvalidReceiptHandle as i32);
}
