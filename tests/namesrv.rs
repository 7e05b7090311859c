//! Name-server behaviour over real loopback connections, driven by our own client.
//!
//! Goal: every name-server request code behaves as the Java 5.3.3 name server's does (response
//! codes, remarks, header fields, body shapes). Method: register fake brokers with real
//! REGISTER_BROKER frames, then query and mutate through the public request codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::Duration;

use common::TestNamesrv;
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::body::register_broker::RegisterBrokerBody;
use rocketmq_rs::remoting::body::topic_config::TopicConfig;
use rocketmq_rs::remoting::header::namesrv::RegisterBrokerRequestHeader;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};

const T: Duration = Duration::from_secs(3);

fn ext(pairs: &[(&str, &str)]) -> Option<ExtFields> {
    Some(pairs.iter().map(|(k, v)| (*k, *v)).collect())
}

fn register_request(
    name: &str,
    id: i64,
    addr: &str,
    topics: &[&str],
    timeout_ms: Option<i64>,
    counter: i64,
) -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    body.data_version.counter = counter;
    for t in topics {
        let mut tc = TopicConfig::new(*t);
        tc.read_queue_nums = 4;
        tc.write_queue_nums = 4;
        body.topic_configs.push(tc);
    }
    let header = RegisterBrokerRequestHeader {
        broker_name: name.into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: format!("{addr}-ha"),
        broker_id: id,
        heartbeat_timeout_millis: timeout_ms,
        enable_acting_master: Some(false),
        compressed: Some(true),
        body_crc32: None,
    };
    let bytes = body.encode_compressed();
    let mut h = header.to_ext_fields();
    h.insert(
        "bodyCrc32",
        rocketmq_rs::checksum::java_crc32(&bytes).to_string(),
    );
    RemotingCommand::request(103, Some(h)).with_body(bytes)
}

async fn call(
    client: &RemotingClient,
    addr: &str,
    code: i32,
    pairs: &[(&str, &str)],
) -> RemotingCommand {
    client
        .invoke(addr, RemotingCommand::request(code, ext(pairs)), T)
        .await
        .unwrap()
}

fn body(cmd: &RemotingCommand) -> String {
    String::from_utf8(cmd.body.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_routes_and_slaves() {
    let ns = TestNamesrv::start(&[]).await;
    let c = RemotingClient::new();
    let topics = ["TopicA", "TBW102"];
    let r = c
        .invoke(
            &ns.addr,
            register_request("broker-a", 0, "10.0.0.1:10911", &topics, None, 1),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0);
    assert_eq!(
        r.ext_fields,
        Some(ExtFields::new()),
        "master gets empty extFields"
    );
    let r = c
        .invoke(
            &ns.addr,
            register_request("broker-a", 1, "10.0.0.2:10911", &topics, None, 1),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.ext("masterAddr"), Some("10.0.0.1:10911"));
    assert_eq!(r.ext("haServerAddr"), Some("10.0.0.1:10911-ha"));

    let mut old = RemotingCommand::request(105, ext(&[("topic", "TopicA")]));
    old.version = 317;
    let route = c.invoke(&ns.addr, old, T).await.unwrap();
    assert_eq!(
        body(&route),
        r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
    let route = call(
        &c,
        &ns.addr,
        105,
        &[("topic", "TopicA"), ("acceptStandardJsonOnly", "true")],
    )
    .await;
    assert!(body(&route).contains(r#"{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}"#));

    let ci = call(&c, &ns.addr, 106, &[]).await;
    assert!(body(&ci).contains(r#""clusterAddrTable":{"DefaultCluster":["broker-a"]}"#));
    let all = call(&c, &ns.addr, 206, &[]).await;
    assert_eq!(body(&all), r#"{"topicList":["TBW102","TopicA"]}"#);
    let by_cluster = call(&c, &ns.addr, 224, &[("cluster", "DefaultCluster")]).await;
    assert_eq!(body(&by_cluster), r#"{"topicList":["TBW102","TopicA"]}"#);
    let sys = call(&c, &ns.addr, 304, &[]).await;
    assert_eq!(
        body(&sys),
        r#"{"brokerAddr":"10.0.0.1:10911","topicList":["DefaultCluster","broker-a"]}"#
    );

    let wipe = call(&c, &ns.addr, 205, &[("brokerName", "broker-a")]).await;
    assert_eq!(wipe.ext("wipeTopicCount"), Some("2"));
    assert!(body(&call(&c, &ns.addr, 105, &[("topic", "TopicA")]).await).contains(r#""perm":4"#));
    let add = call(&c, &ns.addr, 327, &[("brokerName", "broker-a")]).await;
    assert_eq!(add.ext("addTopicCount"), Some("2"));
    assert!(body(&call(&c, &ns.addr, 105, &[("topic", "TopicA")]).await).contains(r#""perm":6"#));

    assert_eq!(
        call(&c, &ns.addr, 216, &[("topic", "TopicA")]).await.code,
        0
    );
    let gone = call(&c, &ns.addr, 105, &[("topic", "TopicA")]).await;
    assert_eq!(gone.code, ResponseCode::TOPIC_NOT_EXIST.code());
    assert!(
        gone.remark
            .unwrap()
            .starts_with("No topic route info in name server for the topic: TopicA\nSee ")
    );

    let qdv = c
        .invoke(
            &ns.addr,
            RemotingCommand::request(
                322,
                ext(&[
                    ("brokerName", "broker-a"),
                    ("brokerAddr", "10.0.0.1:10911"),
                    ("clusterName", "DefaultCluster"),
                    ("brokerId", "0"),
                ]),
            )
            .with_body(&br#"{"counter":1,"stateVersion":0,"timestamp":0}"#[..]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(qdv.ext("changed"), Some("false"));

    let un = call(
        &c,
        &ns.addr,
        104,
        &[
            ("brokerName", "broker-a"),
            ("brokerAddr", "10.0.0.2:10911"),
            ("clusterName", "DefaultCluster"),
            ("brokerId", "1"),
        ],
    )
    .await;
    assert_eq!(un.code, 0);
    let route = call(&c, &ns.addr, 105, &[("topic", "TBW102")]).await;
    assert!(!body(&route).contains("10.0.0.2"), "slave unregistered");
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_crc_and_bad_body_are_refused() {
    let ns = TestNamesrv::start(&[]).await;
    let c = RemotingClient::new();
    let mut req = register_request("broker-b", 0, "10.0.0.3:10911", &["A", "B"], None, 1);
    req.ext_fields
        .as_mut()
        .unwrap()
        .insert("bodyCrc32", "12345");
    let r = c.invoke(&ns.addr, req, T).await.unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (1, Some("crc32 not match")));
    let mut req = register_request("broker-b", 0, "10.0.0.3:10911", &["A", "B"], None, 1);
    req.body = bytes::Bytes::from_static(b"\x78\x9cnot zlib and not json");
    req.ext_fields.as_mut().unwrap().insert("bodyCrc32", "0");
    let r = c.invoke(&ns.addr, req, T).await.unwrap();
    assert_eq!(r.code, 1);
    assert!(
        r.remark
            .unwrap()
            .contains("Failed to decode RegisterBrokerBody")
    );
    let r = call(&c, &ns.addr, 103, &[("brokerName", "x")]).await;
    assert_eq!(r.code, 1, "missing required header field");
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_config_codes() {
    let ns = TestNamesrv::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(
        call(
            &c,
            &ns.addr,
            100,
            &[("namespace", "ns1"), ("key", "k"), ("value", "v")]
        )
        .await
        .code,
        0
    );
    let got = call(&c, &ns.addr, 101, &[("namespace", "ns1"), ("key", "k")]).await;
    assert_eq!(got.ext("value"), Some("v"));
    let list = call(&c, &ns.addr, 219, &[("namespace", "ns1")]).await;
    assert_eq!(body(&list), r#"{"table":{"k":"v"}}"#);
    assert_eq!(
        call(&c, &ns.addr, 102, &[("namespace", "ns1"), ("key", "k")])
            .await
            .code,
        0
    );
    let miss = call(&c, &ns.addr, 101, &[("namespace", "ns1"), ("key", "k")]).await;
    assert_eq!(miss.code, ResponseCode::QUERY_NOT_FOUND.code());
    assert_eq!(
        miss.remark.as_deref(),
        Some("No config item, Namespace: ns1 Key: k")
    );
    let none = call(&c, &ns.addr, 219, &[("namespace", "never")]).await;
    assert_eq!(
        none.remark.as_deref(),
        Some("No config item, Namespace: never")
    );
    let null = call(&c, &ns.addr, 100, &[("value", "v")]).await;
    assert_eq!(null.remark.as_deref(), Some("namespace or key is null"));
    let saved = std::fs::read_to_string(ns.dir.join("kvConfig.json")).unwrap();
    assert_eq!(saved, r#"{"configTable":{"ns1":{}}}"#);
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_update_refuses_blocked_keys() {
    let ns = TestNamesrv::start(&[]).await;
    let c = RemotingClient::new();
    for key in [
        "configStorePath",
        "kvConfigPath",
        "rocketmqHome",
        "configBlackList",
    ] {
        let req = RemotingCommand::request(318, None)
            .with_body(format!("{key}=/tmp/evil\n").into_bytes());
        let r = c.invoke(&ns.addr, req, T).await.unwrap();
        assert_eq!(r.code, ResponseCode::NO_PERMISSION.code(), "{key}");
        assert_eq!(
            r.remark.as_deref(),
            Some("Can not update config in black list.")
        );
    }
    let req = RemotingCommand::request(318, None)
        .with_body(&b"enableAllTopicList=false\nlistenPort=notanumber\n"[..]);
    assert_eq!(c.invoke(&ns.addr, req, T).await.unwrap().code, 0);
    let cfg = body(&call(&c, &ns.addr, 319, &[]).await);
    assert!(cfg.contains("enableAllTopicList=false\n"));
    assert!(!cfg.contains("listenPort=notanumber"));
    assert!(!cfg.contains("/tmp/evil"));
    assert_eq!(
        call(&c, &ns.addr, 206, &[]).await.remark.as_deref(),
        Some("disable")
    );
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_expire_and_vanish_with_their_channel() {
    let ns = TestNamesrv::start(&[("scanNotActiveBrokerInterval", "100")]).await;
    let c = RemotingClient::new();
    let r = c
        .invoke(
            &ns.addr,
            register_request("broker-x", 0, "10.0.0.9:10911", &["X1", "X2"], Some(300), 1),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0);
    assert_eq!(call(&c, &ns.addr, 105, &[("topic", "X1")]).await.code, 0);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        call(&c, &ns.addr, 105, &[("topic", "X1")]).await.code,
        17,
        "expired after its timeout"
    );

    let other = RemotingClient::new();
    let r = other
        .invoke(
            &ns.addr,
            register_request("broker-y", 0, "10.0.0.8:10911", &["Y1", "Y2"], None, 1),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0);
    assert_eq!(call(&c, &ns.addr, 105, &[("topic", "Y1")]).await.code, 0);
    other.close_all();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        call(&c, &ns.addr, 105, &[("topic", "Y1")]).await.code,
        17,
        "removed on channel close"
    );
    ns.stop().await;
}
