//! Broker behaviour over loopback, driven by our client with Java-shaped requests.
//!
//! Goal: the send, pull (with long polling), offset, delay and admin paths answer as the Java
//! 5.3.3 broker does. The official-client proof is in `compat-tests/`; these tests pin the
//! details fast and deterministically. Method: an in-process name server and broker on free
//! ports; requests built exactly as the Java client builds them (SEND_MESSAGE_V2 `a..n` header,
//! PULL_MESSAGE sys flags).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, Instant};

use common::{T, TestBroker, pull, records, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_then_pull_with_java_fields() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    for i in 0..10 {
        let r = send(
            &c,
            &b.addr,
            "TopicA",
            1,
            &format!("m{i}"),
            "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}",
        )
        .await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
        assert_eq!(r.ext("queueId"), Some("1"));
        assert_eq!(r.ext("queueOffset"), Some(i.to_string().as_str()));
        assert_eq!(r.ext("MSG_REGION"), Some("DefaultRegion"));
        assert_eq!(r.ext("TRACE_ON"), Some("true"));
        assert_eq!(r.ext("msgId").unwrap().len(), 32);
    }
    // Wait for dispatch, then pull everything.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let p = pull(&c, &b.addr, "TopicA", 1, 0, 0, "*").await;
    assert_eq!(p.code, 0);
    assert_eq!(p.remark.as_deref(), Some("FOUND"));
    assert_eq!(p.ext("nextBeginOffset"), Some("10"));
    assert_eq!(p.ext("maxOffset"), Some("10"));
    assert_eq!(p.ext("suggestWhichBrokerId"), Some("0"));
    let recs = records(&p.body);
    assert_eq!(recs.len(), 10);
    assert_eq!(recs[3].body.as_ref(), b"m3");
    assert_eq!(recs[0].property("CLUSTER"), Some("DefaultCluster"));
    assert!(
        recs[0].property("UNIQ_KEY").is_some(),
        "broker adds UNIQ_KEY"
    );
    // Tag filter on the broker: TagB matches nothing.
    let none = pull(&c, &b.addr, "TopicA", 1, 0, 0, "TagB").await;
    assert_eq!(none.code, ResponseCode::PULL_RETRY_IMMEDIATELY.code());
    // Past the end: PULL_NOT_FOUND with the offsets.
    let end = pull(&c, &b.addr, "TopicA", 1, 10, 0, "*").await;
    assert_eq!(end.code, ResponseCode::PULL_NOT_FOUND.code());
    assert_eq!(end.remark.as_deref(), Some("OFFSET_OVERFLOW_ONE"));
    let moved = pull(&c, &b.addr, "TopicA", 1, 99, 0, "*").await;
    assert_eq!(moved.code, ResponseCode::PULL_OFFSET_MOVED.code());
    assert_eq!(moved.ext("nextBeginOffset"), Some("10"));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_on_arrival() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "TopicL", 0, "first", "").await.code, 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = b.addr.clone();
    let started = Instant::now();
    let held = tokio::spawn(async move {
        let c2 = RemotingClient::new();
        pull(&c2, &addr, "TopicL", 0, 1, 15_000, "*").await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(send(&c, &b.addr, "TopicL", 0, "second", "").await.code, 0);
    let p = held.await.unwrap();
    let waited = started.elapsed();
    assert_eq!(p.code, 0, "{:?}", p.remark);
    assert!(
        waited < Duration::from_secs(3),
        "woken at once, not at the timeout: {waited:?}"
    );
    assert_eq!(records(&p.body)[0].body.as_ref(), b"second");
    // Nothing arrives: the pull is answered at its suspend timeout.
    let started = Instant::now();
    let p = pull(&c, &b.addr, "TopicL", 0, 2, 500, "*").await;
    assert_eq!(p.code, ResponseCode::PULL_NOT_FOUND.code());
    assert!(started.elapsed() >= Duration::from_millis(450));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_message_arrives_after_its_level() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    let r = send(&c, &b.addr, "TopicD", 0, "later", "DELAY\u{1}1\u{2}").await;
    assert_eq!(r.code, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let early = pull(&c, &b.addr, "TopicD", 0, 0, 0, "*").await;
    assert_ne!(early.code, 0, "level 1 (1 s) is not delivered at once");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let p = pull(&c, &b.addr, "TopicD", 0, 0, 0, "*").await;
        if p.code == 0 {
            let rec = &records(&p.body)[0];
            assert_eq!(rec.body.as_ref(), b"later");
            assert_eq!(rec.property("REAL_TOPIC"), Some("TopicD"));
            break;
        }
        assert!(Instant::now() < deadline, "delayed message never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_and_unknown_codes() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "TopicO", 0, "x", "").await.code, 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let q = |group: &str| -> Option<ExtFields> {
        Some(
            [
                ("consumerGroup", group),
                ("topic", "TopicO"),
                ("queueId", "0"),
            ]
            .into_iter()
            .collect(),
        )
    };
    let new_group = c
        .invoke(&b.addr, RemotingCommand::request(14, q("fresh")), T)
        .await
        .unwrap();
    assert_eq!(
        new_group.ext("offset"),
        Some("0"),
        "a queue still holding message 0 answers 0"
    );
    let mut upd = q("cg").unwrap();
    upd.insert("commitOffset", "1");
    // Java 5.3.3 does not auto-create a group on offset update; a heartbeat or pull does.
    let missing = c
        .invoke(&b.addr, RemotingCommand::request(15, Some(upd.clone())), T)
        .await
        .unwrap();
    assert_eq!(
        (missing.code, missing.remark.as_deref()),
        (26, Some("Group cg not exist!"))
    );
    let _ = pull(&c, &b.addr, "TopicO", 0, 0, 0, "*").await;
    assert_eq!(
        c.invoke(&b.addr, RemotingCommand::request(15, Some(upd)), T)
            .await
            .unwrap()
            .code,
        0
    );
    let got = c
        .invoke(&b.addr, RemotingCommand::request(14, q("cg")), T)
        .await
        .unwrap();
    assert_eq!(got.ext("offset"), Some("1"));
    let max = c
        .invoke(
            &b.addr,
            RemotingCommand::request(
                30,
                Some(
                    [("topic", "TopicO"), ("queueId", "0")]
                        .into_iter()
                        .collect(),
                ),
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(max.ext("offset"), Some("1"));
    let unknown = c
        .invoke(&b.addr, RemotingCommand::request(7777, None), T)
        .await
        .unwrap();
    assert_eq!(
        unknown.code,
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code()
    );
    let bad_topic = send(&c, &b.addr, "bad topic!", 0, "x", "").await;
    assert_eq!(bad_topic.code, ResponseCode::INVALID_PARAMETER.code());
    let forbidden = send(&c, &b.addr, "SCHEDULE_TOPIC_XXXX", 0, "x", "").await;
    assert_eq!(forbidden.code, ResponseCode::NO_PERMISSION.code());
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_metrics_with_rocketmq_names() {
    let (b, port) = TestBroker::start_with_prom().await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "TopicM", 0, "x", "").await.code, 0);
    assert_eq!(send(&c, &b.addr, "TopicM", 0, "y", "").await.code, 0);
    let delay = "DELAY\u{1}2\u{2}";
    assert_eq!(send(&c, &b.addr, "TopicD", 0, "z", delay).await.code, 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let p = pull(&c, &b.addr, "TopicM", 0, 0, 0, "*").await;
    assert_eq!(p.code, 0, "{:?}", p.remark);
    // The group goes online (ConsumerLagCalculator only counts online groups) and commits 1 of
    // the 2 messages it pulled.
    let hb = RemotingCommand::request(34, None).with_body(
        br#"{"clientID":"127.0.0.1@c1","consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"TopicM","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1,"expressionType":"TAG","classFilterMode":false}],"unitMode":false}],"producerDataSet":[]}"#
            .to_vec(),
    );
    assert_eq!(c.invoke(&b.addr, hb, T).await.unwrap().code, 0);
    let commit: ExtFields = [
        ("consumerGroup", "cg"),
        ("topic", "TopicM"),
        ("queueId", "0"),
        ("commitOffset", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let r = c
        .invoke(&b.addr, RemotingCommand::request(15, Some(commit)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    // A pull held by long polling until its suspend time runs out.
    let held = pull(&c, &b.addr, "TopicM", 0, 2, 300, "*").await;
    assert_eq!(held.code, ResponseCode::PULL_NOT_FOUND.code());
    let text = common::scrape_metrics(&port).await;
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    let common = "cluster=\"DefaultCluster\",node_type=\"broker\",node_id=\"broker-t\"";
    // Java's label names: SendMessageProcessor (topic, message_type, is_system) and
    // DefaultPullMessageResultHandler (topic, consumer_group, is_system), after the common labels
    // (histograms put `le` between them).
    let series = |name: &str, labels: &str| {
        let sep = if labels.is_empty() { "" } else { "," };
        let head = format!("{name}{{{common}{sep}{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(head.as_str()))
            .unwrap_or_else(|| panic!("no {head} in {text}"))
            .parse::<f64>()
            .unwrap()
    };
    let m_in = r#"topic="TopicM",message_type="normal",is_system="false""#;
    assert_eq!(series("rocketmq_messages_in_total", m_in), 2.0);
    assert!(series("rocketmq_throughput_in_total", m_in) > 0.0);
    // As in Java 5, a delayed message is counted under the schedule topic it is stored in.
    let d_in = r#"topic="SCHEDULE_TOPIC_XXXX",message_type="delay",is_system="true""#;
    assert_eq!(series("rocketmq_messages_in_total", d_in), 1.0);
    let m_out = r#"topic="TopicM",consumer_group="cg",is_system="false""#;
    assert_eq!(series("rocketmq_messages_out_total", m_out), 2.0);
    assert!(series("rocketmq_throughput_out_total", m_out) > 0.0);
    // `rocketmq_message_size` with BrokerMetricsManager's buckets: both records are under 1 KB.
    assert_eq!(
        series(
            "rocketmq_message_size_bucket",
            &format!("le=\"1024.0\",{m_in}")
        ),
        2.0
    );
    assert_eq!(
        series(
            "rocketmq_message_size_bucket",
            &format!("le=\"4194304.0\",{m_in}")
        ),
        2.0
    );
    // `rocketmq_rpc_latency` with RemotingMetricsManager's buckets and labels; a loopback send
    // well under 3 s lands in the last finite bucket at the latest.
    let rpc = r#"protocol_type="remoting",request_code="send_message_v2",response_code="success",is_long_polling="false",result="success""#;
    assert_eq!(
        series(
            "rocketmq_rpc_latency_bucket",
            &format!("le=\"3000.0\",{rpc}")
        ),
        3.0
    );
    assert_eq!(series("rocketmq_rpc_latency_count", rpc), 3.0);
    for le in [
        "1.0", "3.0", "5.0", "7.0", "10.0", "100.0", "1000.0", "2000.0", "+Inf",
    ] {
        series("rocketmq_rpc_latency_bucket", &format!("le=\"{le}\",{rpc}"));
    }
    let pull_rpc = r#"protocol_type="remoting",request_code="pull_message",response_code="success",is_long_polling="false",result="success""#;
    assert_eq!(series("rocketmq_rpc_latency_count", pull_rpc), 1.0);
    let held_rpc = r#"protocol_type="remoting",request_code="pull_message",response_code="pull_not_found",is_long_polling="true",result="success""#;
    assert_eq!(series("rocketmq_rpc_latency_count", held_rpc), 1.0);
    assert!(series("rocketmq_rpc_latency_sum", held_rpc) >= 250.0);
    assert_eq!(
        series(
            "rocketmq_rpc_latency_bucket",
            &format!("le=\"100.0\",{held_rpc}")
        ),
        0.0
    );
    // ConsumerLagCalculator: lag from the committed offset, ready from the last pull's next
    // offset, inflight between them.
    let group = r#"consumer_group="cg",topic="TopicM",is_retry="false",is_system="false""#;
    assert_eq!(series("rocketmq_consumer_lag_messages", group), 1.0);
    assert_eq!(series("rocketmq_consumer_ready_messages", group), 0.0);
    assert_eq!(series("rocketmq_consumer_inflight_messages", group), 1.0);
    let store = r#"storage_type="local",storage_medium="disk""#;
    assert!(series("rocketmq_storage_size", store) > 0.0);
    series("rocketmq_storage_dispatch_behind_bytes", store);
    series("rocketmq_storage_flush_behind_bytes", store);
    assert!(text.contains("# TYPE rocketmq_topic_number gauge"));
    assert!(series("rocketmq_topic_number", "") >= 2.0);
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    b.stop().await;
}

async fn end_tx(
    c: &RemotingClient,
    addr: &str,
    sent: &RemotingCommand,
    action: i32,
) -> RemotingCommand {
    let msg_id = sent.ext("msgId").unwrap();
    let commit_log_offset = i64::from_str_radix(&msg_id[msg_id.len() - 16..], 16).unwrap();
    let ext: ExtFields = [
        ("producerGroup", "pg".to_owned()),
        (
            "tranStateTableOffset",
            sent.ext("queueOffset").unwrap().to_owned(),
        ),
        ("commitLogOffset", commit_log_offset.to_string()),
        ("commitOrRollback", action.to_string()),
        ("fromTransactionCheck", "false".to_owned()),
        ("msgId", msg_id.to_owned()),
    ]
    .into_iter()
    .collect();
    c.invoke(addr, RemotingCommand::request(37, Some(ext)), T)
        .await
        .unwrap()
}

/// Prepared messages stay invisible until END_TRANSACTION commits them; a rollback drops them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_commit_and_rollback() {
    let (b, port) = TestBroker::start_with_prom().await;
    let c = RemotingClient::new();
    let props = "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg\u{2}";
    let committed = send(&c, &b.addr, "TopicTx", 0, "commit-me", props).await;
    let rolled = send(&c, &b.addr, "TopicTx", 0, "drop-me", props).await;
    assert_eq!((committed.code, rolled.code), (0, 0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = pull(&c, &b.addr, "TopicTx", 0, 0, 0, "*").await;
    assert_ne!(before.code, 0, "half messages are invisible");
    // TransactionMetrics: half messages not yet ended, per real topic.
    let half = r#"rocketmq_half_messages{cluster="DefaultCluster",node_type="broker",node_id="broker-t",topic="TopicTx"} "#;
    let halves = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(half))
            .unwrap_or_else(|| panic!("no {half} in {text}"))
            .to_owned()
    };
    assert_eq!(halves(&common::scrape_metrics(&port).await), "2");
    assert_eq!(end_tx(&c, &b.addr, &committed, 8).await.code, 0);
    assert_eq!(end_tx(&c, &b.addr, &rolled, 12).await.code, 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = pull(&c, &b.addr, "TopicTx", 0, 0, 0, "*").await;
    assert_eq!(after.code, 0);
    let recs = records(&after.body);
    assert_eq!(recs.len(), 1, "only the committed message is delivered");
    assert_eq!(recs[0].body.as_ref(), b"commit-me");
    assert_eq!(recs[0].sys_flag & 0xC, 0x8, "stored with the COMMIT flag");
    assert_eq!(recs[0].property("REAL_TOPIC"), None);
    // EndTransactionProcessor's counters, per real topic.
    let text = common::scrape_metrics(&port).await;
    let common = r#"cluster="DefaultCluster",node_type="broker",node_id="broker-t""#;
    for name in ["commit", "rollback"] {
        let line = format!(r#"rocketmq_{name}_messages_total{{{common},topic="TopicTx"}} 1"#);
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    assert_eq!(halves(&text), "0", "both ended");
    // A transaction half message is counted as such when stored (in the half topic, as Java).
    assert!(
        text.contains(
            r#"topic="RMQ_SYS_TRANS_HALF_TOPIC",message_type="transaction",is_system="true"} 2"#
        ),
        "{text}"
    );
    b.stop().await;
}

/// CONSUMER_SEND_MSG_BACK of the newest message (right at the write position) stores it in the
/// group's retry topic with reconsumeTimes 1, via delay level 3 + reconsumeTimes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_back_of_the_newest_message() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    let sent = send(&c, &b.addr, "TopicB", 0, "retry-me", "").await;
    assert_eq!(sent.code, 0);
    let msg_id = sent.ext("msgId").unwrap();
    let offset = i64::from_str_radix(&msg_id[msg_id.len() - 16..], 16).unwrap();
    let ext: ExtFields = [
        ("offset", offset.to_string()),
        ("group", "cgb".to_owned()),
        ("delayLevel", "0".to_owned()),
    ]
    .into_iter()
    .collect();
    let r = c
        .invoke(&b.addr, RemotingCommand::request(36, Some(ext)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let bad: ExtFields = [
        ("offset", "123456789".to_owned()),
        ("group", "cgb".to_owned()),
        ("delayLevel", "0".to_owned()),
    ]
    .into_iter()
    .collect();
    let r = c
        .invoke(&b.addr, RemotingCommand::request(36, Some(bad)), T)
        .await
        .unwrap();
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (1, Some("look message by offset failed, 123456789"))
    );
    b.stop().await;
}

/// A prepared message nobody resolves is checked back `transactionCheckMax` times (each check
/// re-puts it with TRANSACTION_CHECK_TIMES raised), then moved to TRANS_CHECK_MAX_TIME_TOPIC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolved_transaction_is_checked_then_discarded() {
    let b = TestBroker::start(&[
        ("transactionCheckInterval", "200"),
        ("transactionTimeOut", "100"),
        ("transactionCheckMax", "2"),
    ])
    .await;
    let c = RemotingClient::new();
    let props = "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}pg-lonely\u{2}";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let sent = common::send_born(&c, &b.addr, "TopicTxLonely", 0, "lonely", props, now).await;
    assert_eq!(sent.code, 0);
    let deadline = Instant::now() + Duration::from_secs(15);
    let discarded = loop {
        let p = pull(&c, &b.addr, "TRANS_CHECK_MAX_TIME_TOPIC", 0, 0, 0, "*").await;
        if p.code == 0 {
            break records(&p.body);
        }
        assert!(Instant::now() < deadline, "never discarded: {:?}", p.remark);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(discarded.len(), 1);
    assert_eq!(discarded[0].body.as_ref(), b"lonely");
    assert_eq!(discarded[0].property("TRANSACTION_CHECK_TIMES"), Some("2"));
    assert_eq!(discarded[0].property("REAL_TOPIC"), Some("TopicTxLonely"));
    // Nothing reached the real topic.
    let real = pull(&c, &b.addr, "TopicTxLonely", 0, 0, 0, "*").await;
    assert_ne!(real.code, 0);
    b.stop().await;
}
