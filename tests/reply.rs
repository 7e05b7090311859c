//! Request-reply at the wire level: SEND_REPLY_MESSAGE_V2 is pushed to the requesting producer's
//! connection as PUSH_REPLY_MESSAGE_TO_CLIENT (found by REPLY_TO_CLIENT) and stored in the reply
//! topic, with Java's remarks when the requester is unknown or not named. The official-client
//! proof is compat-tests/trace/run.sh (reply.*).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use bytes::Bytes;
use common::{T, TestBroker, decode, encode, read_frame, roundtrip_raw};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::command::FLAG_RESPONSE;
use rocketmq_rs::remoting::header::send::SendMessageRequestHeaderV2;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const REPLY_TOPIC: &str = "DefaultCluster_REPLY_TOPIC";

fn reply_req(props: &str, body: &'static [u8]) -> RemotingCommand {
    let h = SendMessageRequestHeaderV2 {
        a: "replier-pg".into(),
        b: REPLY_TOPIC.into(),
        c: "TBW102".into(),
        d: 4,
        e: 0,
        f: 0,
        g: 1_700_000_000_000,
        h: 0,
        i: Some(props.into()),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: None,
    };
    RemotingCommand::request(325, Some(h.to_ext_fields())).with_body(Bytes::from_static(body))
}

fn props(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}\u{1}{v}\u{2}"))
        .collect()
}

/// A raw connection that announced itself as producer client `client_id`.
async fn requester(addr: &str, client_id: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[],"producerDataSet":[{{"groupName":"requester-pg"}}]}}"#
    );
    let hb = RemotingCommand::request(34, None).with_body(Bytes::from(body));
    let r = decode(&roundtrip_raw(&mut s, &encode(&hb)).await);
    assert_eq!(r.code, 0);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_is_pushed_to_the_requester_and_stored() {
    let b = TestBroker::start(&[]).await;
    let mut req_conn = requester(&b.addr, "req-client-1").await;
    let c = RemotingClient::new();
    let addr = b.addr.clone();
    let p = props(&[
        ("CORRELATION_ID", "corr-1"),
        ("REPLY_TO_CLIENT", "req-client-1"),
        ("MSG_TYPE", "reply"),
        ("TTL", "3000"),
    ]);
    let send = tokio::spawn(async move {
        let c = c;
        c.invoke(&addr, reply_req(&p, b"the answer"), T)
            .await
            .unwrap()
    });
    // The push arrives on the requester's connection; it answers SUCCESS as the client does.
    let push = decode(&read_frame(&mut req_conn).await.unwrap());
    assert_eq!(push.code, 326);
    assert_eq!(push.body.as_ref(), b"the answer");
    assert_eq!(push.ext("topic"), Some(REPLY_TOPIC));
    assert_eq!(push.ext("producerGroup"), Some("replier-pg"));
    for k in [
        "bornHost",
        "storeHost",
        "storeTimestamp",
        "defaultTopic",
        "defaultTopicQueueNums",
        "queueId",
        "sysFlag",
        "bornTimestamp",
        "flag",
    ] {
        assert!(push.ext(k).is_some(), "{k} missing: {:?}", push.ext_fields);
    }
    let pushed_props = push.ext("properties").unwrap();
    assert!(pushed_props.contains("CORRELATION_ID\u{1}corr-1\u{2}"));
    assert!(pushed_props.contains("PUSH_REPLY_TIME\u{1}"));
    let mut ok = RemotingCommand::success();
    ok.opaque = push.opaque;
    ok.flag = FLAG_RESPONSE;
    req_conn.write_all(&encode(&ok)).await.unwrap();
    let r = send.await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    // storeReplyMessageEnable (default): stored, so a real message id and offset come back.
    assert_ne!(r.ext("msgId"), Some("0"));
    assert_eq!(r.ext("queueOffset"), Some("0"));

    // Unknown requester: Java's SYSTEM_ERROR remark; the reply is still stored (offset 1).
    let c = RemotingClient::new();
    let p = props(&[("CORRELATION_ID", "c2"), ("REPLY_TO_CLIENT", "nobody")]);
    let r = c.invoke(&b.addr, reply_req(&p, b"x"), T).await.unwrap();
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("push reply message fail, channel of <nobody> not found.")
    );
    assert_eq!(r.ext("queueOffset"), Some("1"));
    // No REPLY_TO_CLIENT at all.
    let r = c
        .invoke(&b.addr, reply_req(&props(&[("A", "b")]), b"x"), T)
        .await
        .unwrap();
    assert_eq!(
        r.remark.as_deref(),
        Some("reply message properties[REPLY_TO_CLIENT] is null")
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_not_stored_when_disabled() {
    let b = TestBroker::start(&[("storeReplyMessageEnable", "false")]).await;
    let mut req_conn = requester(&b.addr, "req-client-2").await;
    let addr = b.addr.clone();
    let p = props(&[("CORRELATION_ID", "c"), ("REPLY_TO_CLIENT", "req-client-2")]);
    let send = tokio::spawn(async move {
        RemotingClient::new()
            .invoke(&addr, reply_req(&p, b"y"), T)
            .await
            .unwrap()
    });
    let push = decode(&read_frame(&mut req_conn).await.unwrap());
    let mut ok = RemotingCommand::success().with_ext_fields(ExtFields::new());
    ok.opaque = push.opaque;
    ok.flag = FLAG_RESPONSE;
    req_conn.write_all(&encode(&ok)).await.unwrap();
    let r = send.await.unwrap();
    assert_eq!(r.code, 0);
    // Java: msgId "0" and offset 0 when nothing is stored.
    assert_eq!(r.ext("msgId"), Some("0"));
    assert_eq!(r.ext("queueOffset"), Some("0"));
    b.stop().await;
}

/// GET_TOPIC_CONFIG for `topic`: the response code and body.
async fn topic_config(addr: &str, topic: &str) -> (i32, String) {
    let ext: ExtFields = [("topic", topic)].into_iter().collect();
    let r = RemotingClient::new()
        .invoke(addr, RemotingCommand::request(351, Some(ext)), T)
        .await
        .unwrap();
    (r.code, String::from_utf8_lossy(&r.body).into_owned())
}

/// Message trace needs the trace topic: with `traceTopicEnable` it exists from the start, one
/// queue, under `msgTraceTopicName` (as Java's `TopicConfigManager` makes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_topic_follows_trace_topic_enable() {
    let b = TestBroker::start(&[]).await;
    assert_eq!(topic_config(&b.addr, "RMQ_SYS_TRACE_TOPIC").await.0, 17);
    // The reply topic exists regardless (the reply producer routes to it).
    assert_eq!(topic_config(&b.addr, REPLY_TOPIC).await.0, 0);
    b.stop().await;
    let b = TestBroker::start(&[
        ("traceTopicEnable", "true"),
        ("msgTraceTopicName", "my_trace"),
    ])
    .await;
    let (code, body) = topic_config(&b.addr, "my_trace").await;
    assert_eq!(code, 0);
    assert!(body.contains("\"writeQueueNums\":1"), "{body}");
    b.stop().await;
}
