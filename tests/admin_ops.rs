//! The operator admin requests mqadmin's commands use (`processor/admin_ops.rs`,
//! `processor/admin_relay.rs`), over loopback with Java-shaped headers and bodies. The
//! official-tool proof is `compat-tests/ops/run.sh` (mqadmin 5.3.3 against both brokers).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::Duration;

use common::{T, TestBroker, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};

fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let mut ext = ExtFields::new();
    for (k, v) in fields {
        ext.insert(*k, (*v).to_owned());
    }
    RemotingCommand::request(code.code(), Some(ext))
}

fn body_text(r: &RemotingCommand) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_and_group_lists_create_everything() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    let topics = request(RequestCode::UPDATE_AND_CREATE_TOPIC_LIST, &[]).with_body(
        br#"{"topicConfigList":[{"topicName":"TL1","readQueueNums":4,"writeQueueNums":4,"perm":6},{"topicName":"TL2","readQueueNums":2,"writeQueueNums":2,"perm":6}]}"#
            .to_vec(),
    );
    let r = c.invoke(&b.addr, topics, T).await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    for (t, q) in [("TL1", "4"), ("TL2", "2")] {
        let r = c
            .invoke(
                &b.addr,
                request(RequestCode::GET_TOPIC_CONFIG, &[("topic", t)]),
                T,
            )
            .await
            .unwrap();
        assert_eq!(r.code, 0, "{t}: {:?}", r.remark);
        assert!(
            body_text(&r).contains(&format!("\"readQueueNums\":{q}")),
            "{}",
            body_text(&r)
        );
    }
    // A system topic in the list refuses the whole list.
    let bad = request(RequestCode::UPDATE_AND_CREATE_TOPIC_LIST, &[]).with_body(
        br#"{"topicConfigList":[{"topicName":"TL3"},{"topicName":"SCHEDULE_TOPIC_XXXX"}]}"#
            .to_vec(),
    );
    let r = c.invoke(&b.addr, bad, T).await.unwrap();
    assert_eq!(r.code, ResponseCode::INVALID_PARAMETER.code());
    let r = c
        .invoke(
            &b.addr,
            request(RequestCode::GET_TOPIC_CONFIG, &[("topic", "TL3")]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST.code());

    let groups = request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST, &[]).with_body(
        br#"{"groupConfigList":[{"groupName":"GL1","retryMaxTimes":3},{"groupName":"GL2"}]}"#
            .to_vec(),
    );
    let r = c.invoke(&b.addr, groups, T).await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = c
        .invoke(
            &b.addr,
            request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, &[]),
            T,
        )
        .await
        .unwrap();
    let all = body_text(&r);
    assert!(all.contains("\"GL1\"") && all.contains("\"GL2\""), "{all}");
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_offset_query_cq_and_consume_stats() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    for i in 0..5 {
        let r = send(&c, &b.addr, "TR", 0, &format!("m{i}"), "").await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // QUERY_CONSUME_QUEUE: three units from index 1.
    let r = c
        .invoke(
            &b.addr,
            request(
                RequestCode::QUERY_CONSUME_QUEUE,
                &[
                    ("topic", "TR"),
                    ("queueId", "0"),
                    ("index", "1"),
                    ("count", "3"),
                ],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["maxQueueIndex"], 5);
    assert_eq!(v["queueData"].as_array().unwrap().len(), 3);
    let missing = c
        .invoke(
            &b.addr,
            request(
                RequestCode::QUERY_CONSUME_QUEUE,
                &[
                    ("topic", "TR"),
                    ("queueId", "7"),
                    ("index", "0"),
                    ("count", "1"),
                ],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(missing.remark.as_deref(), Some("7@TR is not exist!"));

    // Reset needs the group.
    let reset = |qid: &'static str, offset: &'static str, ts: &'static str| {
        request(
            RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
            &[
                ("topic", "TR"),
                ("group", "GR"),
                ("queueId", qid),
                ("offset", offset),
                ("timestamp", ts),
                ("isForce", "true"),
            ],
        )
    };
    let r = c.invoke(&b.addr, reset("-1", "-1", "-1"), T).await.unwrap();
    assert_eq!(r.code, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST.code());
    let g = request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &[])
        .with_body(br#"{"groupName":"GR"}"#.to_vec());
    assert_eq!(c.invoke(&b.addr, g, T).await.unwrap().code, 0);
    // Negative timestamp: every queue to its max offset.
    let r = c.invoke(&b.addr, reset("-1", "-1", "-1"), T).await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let text = body_text(&r);
    assert!(
        text.contains(r#"{"brokerName":"broker-t","queueId":0,"topic":"TR"}:5"#),
        "{text}"
    );
    let q = c
        .invoke(
            &b.addr,
            request(
                RequestCode::QUERY_CONSUMER_OFFSET,
                &[("consumerGroup", "GR"), ("topic", "TR"), ("queueId", "0")],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(q.ext("offset"), Some("5"));
    // One queue to an explicit offset, and an offset out of range.
    let r = c.invoke(&b.addr, reset("0", "2", "0"), T).await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert!(body_text(&r).contains(":2}"), "{}", body_text(&r));
    let r = c.invoke(&b.addr, reset("0", "99", "0"), T).await.unwrap();
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("Target offset 99 not in consume queue range [0-4]")
    );

    // A pending reset: the client's older offset is refused, and the group's next pull of the
    // queue answers PULL_OFFSET_MOVED ("OFFSET_RESET") with the reset offset, once.
    let cg = request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &[])
        .with_body(br#"{"groupName":"cg"}"#.to_vec());
    assert_eq!(c.invoke(&b.addr, cg, T).await.unwrap().code, 0);
    let reset_cg = request(
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        &[
            ("topic", "TR"),
            ("group", "cg"),
            ("queueId", "0"),
            ("offset", "3"),
            ("timestamp", "0"),
            ("isForce", "true"),
        ],
    );
    assert_eq!(c.invoke(&b.addr, reset_cg, T).await.unwrap().code, 0);
    let update = request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", "cg"),
            ("topic", "TR"),
            ("queueId", "0"),
            ("commitOffset", "1"),
        ],
    );
    let r = c.invoke(&b.addr, update, T).await.unwrap();
    assert_eq!(
        r.remark.as_deref(),
        Some("Offset has been previously reset")
    );
    let moved = common::pull(&c, &b.addr, "TR", 0, 0, 0, "*").await;
    assert_eq!(moved.code, ResponseCode::PULL_OFFSET_MOVED.code());
    assert_eq!(moved.remark.as_deref(), Some("OFFSET_RESET"));
    assert_eq!(moved.ext("nextBeginOffset"), Some("3"));
    let found = common::pull(&c, &b.addr, "TR", 0, 3, 0, "*").await;
    assert_eq!(found.code, 0, "{:?}", found.remark);

    // GET_BROKER_CONSUME_STATS: GR lags 5 - 2 = 3 on queue 0, cg 5 - 3 = 2.
    let r = c
        .invoke(
            &b.addr,
            request(
                RequestCode::GET_BROKER_CONSUME_STATS,
                &[("isOrder", "false")],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let text = body_text(&r);
    assert!(text.contains("\"GR\":[{\"consumeTps\":0.0"), "{text}");
    assert!(text.contains("\"totalDiff\":5"), "{text}");

    // CLONE_GROUP_OFFSET copies GR's offsets.
    let r = c
        .invoke(
            &b.addr,
            request(
                RequestCode::CLONE_GROUP_OFFSET,
                &[
                    ("srcGroup", "GR"),
                    ("destGroup", "GR2"),
                    ("topic", "TR"),
                    ("offline", "false"),
                ],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0);
    let q = c
        .invoke(
            &b.addr,
            request(
                RequestCode::QUERY_CONSUMER_OFFSET,
                &[("consumerGroup", "GR2"), ("topic", "TR"), ("queueId", "0")],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(q.ext("offset"), Some("2"));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_producers_config_and_cleanups() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    for i in 0..3 {
        assert_eq!(
            send(&c, &b.addr, "TS", 0, &format!("m{i}"), "").await.code,
            0
        );
    }
    // VIEW_BROKER_STATS_DATA: the item exists at once; its minute window fills within 10 s.
    let view = |name: &'static str, key: &'static str| {
        request(
            RequestCode::VIEW_BROKER_STATS_DATA,
            &[("statsName", name), ("statsKey", key)],
        )
    };
    let mut sum = 0;
    for _ in 0..60 {
        let r = c
            .invoke(&b.addr, view("TOPIC_PUT_NUMS", "TS"), T)
            .await
            .unwrap();
        assert_eq!(r.code, 0, "{:?}", r.remark);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v["statsHour"]["tps"].is_number() && v["statsDay"]["sum"].is_number());
        sum = v["statsMinute"]["sum"].as_i64().unwrap();
        if sum == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(sum, 3, "minute window of TOPIC_PUT_NUMS");
    let r = c
        .invoke(&b.addr, view("GROUP_GET_NUMS", "TS@none"), T)
        .await
        .unwrap();
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("The stats <GROUP_GET_NUMS> <TS@none> not exist")
    );

    // GET_ALL_PRODUCER_INFO lists a producer after its heartbeat.
    let hb = RemotingCommand::request(RequestCode::HEART_BEAT.code(), None).with_body(
        br#"{"clientID":"127.0.0.1@p1","consumerDataSet":[],"producerDataSet":[{"groupName":"PG1"}]}"#
            .to_vec(),
    );
    assert_eq!(c.invoke(&b.addr, hb, T).await.unwrap().code, 0);
    let r = c
        .invoke(&b.addr, request(RequestCode::GET_ALL_PRODUCER_INFO, &[]), T)
        .await
        .unwrap();
    let text = body_text(&r);
    assert!(
        text.contains("\"PG1\":[{\"clientId\":\"127.0.0.1@p1\""),
        "{text}"
    );

    // GET_BROKER_CONFIG prints Java's whole key set.
    let r = c
        .invoke(&b.addr, request(RequestCode::GET_BROKER_CONFIG, &[]), T)
        .await
        .unwrap();
    let text = body_text(&r);
    assert!(text.lines().count() >= 408, "{} keys", text.lines().count());
    assert!(text.contains("\nbrokerName=broker-t\n"), "our value wins");
    assert!(
        text.contains("\nenableCalcFilterBitMap=false\n"),
        "Java's default for a key we do not use"
    );

    // The manual clean-ups answer success.
    for code in [
        RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE,
        RequestCode::CLEAN_UNUSED_TOPIC,
        RequestCode::DELETE_EXPIRED_COMMITLOG,
        RequestCode::POP_ROLLBACK,
    ] {
        let r = c.invoke(&b.addr, request(code, &[]), T).await.unwrap();
        assert_eq!(r.code, 0, "{code:?}: {:?}", r.remark);
    }
    // GET_SYSTEM_TOPIC_LIST_FROM_BROKER.
    let r = c
        .invoke(
            &b.addr,
            request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER, &[]),
            T,
        )
        .await
        .unwrap();
    assert!(body_text(&r).contains("\"SCHEDULE_TOPIC_XXXX\""));
    // A relay to a consumer that is not online.
    let r = c
        .invoke(
            &b.addr,
            request(
                RequestCode::GET_CONSUMER_RUNNING_INFO,
                &[
                    ("consumerGroup", "G0"),
                    ("clientId", "nobody"),
                    ("jstackEnable", "false"),
                ],
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(
        r.remark.as_deref(),
        Some("The Consumer <G0> <nobody> not online")
    );
    b.stop().await;
}

/// `brokerStatus` queue figures and `rocketmq_processor_watermark` count the requests a pool
/// owes; a pool at its capacity answers SYSTEM_BUSY "[OVERLOAD]…" as Java's rejected executor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_pools_count_owed_requests_and_refuse_past_capacity() {
    let port = common::free_port();
    let b = TestBroker::start(&[
        ("adminBrokerThreadPoolQueueCapacity", "1"),
        ("sendThreadPoolQueueCapacity", "7"),
        ("metricsExporterType", "PROM"),
        ("metricsPromExporterPort", port.as_str()),
    ])
    .await;
    let c = RemotingClient::new();
    let runtime = || {
        c.invoke(
            &b.addr,
            request(RequestCode::GET_BROKER_RUNTIME_INFO, &[]),
            T,
        )
    };
    let idle = body_text(&runtime().await.unwrap());
    for kv in [
        "\"sendThreadPoolQueueCapacity\":\"7\"",
        "\"sendThreadPoolQueueSize\":\"0\"",
        "\"sendThreadPoolQueueHeadWaitTimeMills\":\"0\"",
        "\"pullThreadPoolQueueCapacity\":\"100000\"",
        "\"EndTransactionThreadPoolQueueCapacity\":\"100000\"",
    ] {
        assert!(idle.contains(kv), "{kv} in {idle}");
    }

    // A consumer that never answers what the broker asks it.
    let mut stuck = tokio::net::TcpStream::connect(&b.addr).await.unwrap();
    let hb = RemotingCommand::request(RequestCode::HEART_BEAT.code(), None).with_body(
        br#"{"clientID":"127.0.0.1@stuck","consumerDataSet":[{"groupName":"SG","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[],"unitMode":false}],"producerDataSet":[]}"#
            .to_vec(),
    );
    let answer = common::roundtrip_raw(&mut stuck, &common::encode(&hb)).await;
    assert_eq!(common::decode(&answer).code, 0);
    // The relay to it occupies the admin pool (capacity 1) until the client answers or leaves.
    let relay = tokio::spawn({
        let addr = b.addr.clone();
        async move {
            let c = RemotingClient::new();
            let r = request(
                RequestCode::GET_CONSUMER_RUNNING_INFO,
                &[
                    ("consumerGroup", "SG"),
                    ("clientId", "127.0.0.1@stuck"),
                    ("jstackEnable", "false"),
                ],
            );
            c.invoke(&addr, r, Duration::from_secs(15)).await.unwrap()
        }
    });
    // The relayed request reaches the stuck client: the relay is now owed.
    // (NOTIFY_CONSUMER_IDS_CHANGED may come first.)
    loop {
        let frame = common::read_frame(&mut stuck)
            .await
            .expect("relayed request");
        if common::decode(&frame).code == RequestCode::GET_CONSUMER_RUNNING_INFO.code() {
            break;
        }
    }
    let text = common::scrape_metrics(&port).await;
    let watermark = |text: &str, processor: &str| {
        let needle = format!("processor=\"{processor}\"}} ");
        text.lines()
            .find(|l| l.starts_with("rocketmq_processor_watermark{") && l.contains(&needle))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no watermark for {processor} in {text}"))
    };
    assert_eq!(watermark(&text, "admin"), "1");
    assert_eq!(watermark(&text, "send"), "0");
    let busy = runtime().await.unwrap();
    assert_eq!(busy.code, ResponseCode::SYSTEM_BUSY.code());
    assert_eq!(
        busy.remark.as_deref(),
        Some("[OVERLOAD]system busy, start flow control for a while")
    );
    // Requests of other pools are not affected.
    assert_eq!(send(&c, &b.addr, "PoolT", 0, "x", "").await.code, 0);
    drop(stuck);
    let r = relay.await.unwrap();
    assert_ne!(r.code, 0, "the client left without answering");
    let after = body_text(&runtime().await.unwrap());
    assert!(
        after.contains("\"sendThreadPoolQueueSize\":\"0\""),
        "{after}"
    );
    let text = common::scrape_metrics(&port).await;
    assert_eq!(watermark(&text, "admin"), "0");
    b.stop().await;
}

/// `BrokerFastFailure`: a request that waited in its queue for `waitTimeMillsIn*Queue` or
/// longer is answered SYSTEM_BUSY "[TIMEOUT_CLEAN_QUEUE]…" and never runs. A burst of pipelined
/// pulls fills the pull queue (here the runtime's: the time from the transport reading a
/// request to its task starting); with a 1 ms limit the later ones wait past it. (Sends run on
/// the connection's reader as soon as they are read, so they wait in the socket, not a queue.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_waiting_past_their_queue_limit_are_dropped() {
    use tokio::io::AsyncWriteExt as _;
    const BURST: i32 = 500;
    let b = TestBroker::start(&[("waitTimeMillsInPullQueue", "1")]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "FastFail", 0, "m0", "").await.code, 0);
    let header = [
        ("consumerGroup", "cg"),
        ("topic", "FastFail"),
        ("queueId", "0"),
        ("queueOffset", "0"),
        ("maxMsgNums", "32"),
        ("sysFlag", "4"),
        ("commitOffset", "0"),
        ("suspendTimeoutMillis", "0"),
        ("subscription", "*"),
        ("subVersion", "1"),
        ("expressionType", "TAG"),
    ];
    let mut burst = Vec::new();
    for i in 0..BURST {
        let mut r = request(RequestCode::PULL_MESSAGE, &header);
        r.opaque = i;
        burst.extend(common::encode(&r));
    }
    let mut s = tokio::net::TcpStream::connect(&b.addr).await.unwrap();
    s.write_all(&burst).await.unwrap();
    let (mut found, mut dropped) = (0i64, 0i64);
    for _ in 0..BURST {
        let frame = common::read_frame(&mut s)
            .await
            .expect("an answer per pull");
        let r = common::decode(&frame);
        if r.code == 0 {
            found += 1;
            continue;
        }
        assert_eq!(r.code, ResponseCode::SYSTEM_BUSY.code(), "{:?}", r.remark);
        let remark = r.remark.unwrap_or_default();
        let period = remark
            .strip_prefix("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: ")
            .and_then(|rest| rest.split_once("ms, size of queue: "))
            .map(|(ms, size)| (ms.parse::<u64>().unwrap(), size.parse::<usize>().unwrap()));
        let Some((ms, _size)) = period else {
            panic!("unexpected remark {remark}");
        };
        assert!(ms >= 1, "dropped after {ms} ms");
        dropped += 1;
    }
    assert!(dropped > 0, "no pull of {BURST} waited 1 ms");
    assert!(found > 0, "every pull was dropped ({dropped})");
    // Other pools keep Java's longer limits.
    let info = request(RequestCode::GET_BROKER_RUNTIME_INFO, &[]);
    assert_eq!(c.invoke(&b.addr, info, T).await.unwrap().code, 0);
    b.stop().await;
}
