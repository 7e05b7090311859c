//! The RocketMQ 5 metric families beyond the in/out counters (`tests/broker.rs`
//! `prometheus_metrics_with_rocketmq_names`): the `ConsumerLagCalculator` gauges with their
//! latencies, the create-time histograms, the store and timer gauges, and the `LOG` exporter.
//! Method: an in-process broker with `metricsExporterType=PROM`; each figure asserted follows
//! from the offsets and times the test itself sets up.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{T, TestBroker, pull, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, RequestCode};

const COMMON: &str = r#"cluster="DefaultCluster",node_type="broker",node_id="broker-t""#;

fn request(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let mut ext = ExtFields::new();
    for (k, v) in fields {
        ext.insert(*k, (*v).to_owned());
    }
    RemotingCommand::request(code.code(), Some(ext))
}

/// The value of the series `name{COMMON,labels}` in `text`.
fn series(text: &str, name: &str, labels: &str) -> f64 {
    let sep = if labels.is_empty() { "" } else { "," };
    let head = format!("{name}{{{COMMON}{sep}{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(head.as_str()))
        .unwrap_or_else(|| panic!("no {head} in {text}"))
        .parse::<f64>()
        .unwrap()
}

async fn create_topic(c: &RemotingClient, addr: &str, topic: &str) {
    let r = request(
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        &[
            ("topic", topic),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "1"),
            ("writeQueueNums", "1"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ],
    );
    let r = c.invoke(addr, r, T).await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
}

/// Lag counts from the committed offset, inflight from there to the last pull's next offset,
/// ready from there to the end; the latencies are the ages of the messages at the committed and
/// pulled offsets. Creating the topic and group lands in Java's create-time histograms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_lag_latency_and_create_time() {
    let (b, port) = TestBroker::start_with_prom().await;
    let c = RemotingClient::new();
    create_topic(&c, &b.addr, "LagT").await;
    let g = request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, &[])
        .with_body(br#"{"groupName":"cg"}"#.to_vec());
    assert_eq!(c.invoke(&b.addr, g, T).await.unwrap().code, 0);
    // Offsets 0..3, then 600 ms later 3..5.
    for body in ["a", "b", "c"] {
        assert_eq!(send(&c, &b.addr, "LagT", 0, body, "").await.code, 0);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let p = pull(&c, &b.addr, "LagT", 0, 0, 0, "*").await;
    assert_eq!(p.code, 0, "{:?}", p.remark);
    tokio::time::sleep(Duration::from_millis(600)).await;
    for body in ["d", "e"] {
        assert_eq!(send(&c, &b.addr, "LagT", 0, body, "").await.code, 0);
    }
    let hb = RemotingCommand::request(RequestCode::HEART_BEAT.code(), None).with_body(
        br#"{"clientID":"127.0.0.1@m1","consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"topic":"LagT","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1,"expressionType":"TAG","classFilterMode":false}],"unitMode":false}],"producerDataSet":[]}"#
            .to_vec(),
    );
    assert_eq!(c.invoke(&b.addr, hb, T).await.unwrap().code, 0);
    let commit = request(
        RequestCode::UPDATE_CONSUMER_OFFSET,
        &[
            ("consumerGroup", "cg"),
            ("topic", "LagT"),
            ("queueId", "0"),
            ("commitOffset", "1"),
        ],
    );
    assert_eq!(c.invoke(&b.addr, commit, T).await.unwrap().code, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = common::scrape_metrics(&port).await;
    let group = r#"consumer_group="cg",topic="LagT",is_retry="false",is_system="false""#;
    assert_eq!(series(&text, "rocketmq_consumer_lag_messages", group), 4.0);
    assert_eq!(
        series(&text, "rocketmq_consumer_inflight_messages", group),
        2.0
    );
    assert_eq!(
        series(&text, "rocketmq_consumer_ready_messages", group),
        2.0
    );
    // Offset 1 was stored ≥ 900 ms ago, offset 3 ≥ 300 ms ago (and ≥ 600 ms after offset 1).
    let lag_ms = series(&text, "rocketmq_consumer_lag_latency", group);
    let queueing_ms = series(&text, "rocketmq_consumer_queueing_latency", group);
    assert!((900.0..60_000.0).contains(&lag_ms), "lag latency {lag_ms}");
    assert!(
        (300.0..lag_ms - 500.0).contains(&queueing_ms),
        "queueing latency {queueing_ms}, lag latency {lag_ms}"
    );
    // AdminBrokerProcessor's histograms, with Java's 10 ms … 5 s buckets.
    let topic_ok = r#"invocation_status="success",is_system="false""#;
    let group_ok = r#"invocation_status="success""#;
    for (name, labels) in [
        ("rocketmq_topic_create_execution_time", topic_ok),
        ("rocketmq_consumer_group_create_execution_time", group_ok),
    ] {
        assert_eq!(series(&text, &format!("{name}_count"), labels), 1.0);
        for le in ["10.0", "100.0", "1000.0", "3000.0", "5000.0", "+Inf"] {
            let bucket = format!("le=\"{le}\",{labels}");
            series(&text, &format!("{name}_bucket"), &bucket);
        }
        let inf = format!("le=\"+Inf\",{labels}");
        assert_eq!(series(&text, &format!("{name}_bucket"), &inf), 1.0);
    }
    b.stop().await;
}

/// `DefaultStoreMetricsManager`: the store gauges carry `storage_type` / `storage_medium`; the
/// reserve time is the oldest message's age; a pending timer message is counted per topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_and_timer_gauges() {
    let (b, port) = TestBroker::start_with_prom().await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "StoreT", 0, "first", "").await.code, 0);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let due = now + 600_000;
    let props = format!("TIMER_DELIVER_MS\u{1}{due}\u{2}");
    assert_eq!(
        send(&c, &b.addr, "TimedT", 0, "later", &props).await.code,
        0
    );
    let soon = format!("TIMER_DELIVER_MS\u{1}{}\u{2}", now + 1_500);
    assert_eq!(send(&c, &b.addr, "SoonT", 0, "soon", &soon).await.code, 0);
    let store = r#"storage_type="local",storage_medium="disk""#;
    let timing = format!(r#"{store},topic="TimedT""#);
    let delivered = format!(r#"rocketmq_timer_dequeue_total{{{COMMON},{store},topic="SoonT"}} 1"#);
    let mut text = String::new();
    for _ in 0..100 {
        text = common::scrape_metrics(&port).await;
        if text.contains(&timing) && text.contains(&delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The soon one went in and came out; the later one is still in the wheel.
    assert!(text.contains(&delivered), "{delivered} in {text}");
    let soon_labels = format!(r#"{store},topic="SoonT""#);
    assert_eq!(
        series(&text, "rocketmq_timer_enqueue_total", &soon_labels),
        1.0
    );
    assert_eq!(series(&text, "rocketmq_timing_messages", &soon_labels), 0.0);
    assert_eq!(series(&text, "rocketmq_timing_messages", &timing), 1.0);
    let reserve = series(&text, "rocketmq_storage_message_reserve_time", store);
    assert!(
        (400.0..60_000.0).contains(&reserve),
        "reserve time {reserve}"
    );
    assert!(series(&text, "rocketmq_storage_size", store) > 0.0);
    series(&text, "rocketmq_storage_flush_behind_bytes", store);
    series(&text, "rocketmq_storage_dispatch_behind_bytes", store);
    // The message went into the wheel and has not come out.
    assert_eq!(series(&text, "rocketmq_timer_enqueue_total", &timing), 1.0);
    assert!(
        !text.contains(&format!(
            "rocketmq_timer_dequeue_total{{{COMMON},{timing}}}"
        )),
        "nothing was delivered: {text}"
    );
    // Everything in the timer queue is in the wheel; the last enqueue was over 2 s ago or of a
    // message stored moments before it.
    assert_eq!(series(&text, "rocketmq_timer_enqueue_lag", store), 0.0);
    let enqueue_ms = series(&text, "rocketmq_timer_enqueue_latency", store);
    assert!(
        (0.0..3_000.0).contains(&enqueue_ms),
        "enqueue latency {enqueue_ms}"
    );
    // The wheel keeps up with a broker that just started: under a few seconds behind.
    let behind = series(&text, "rocketmq_timer_dequeue_latency", store);
    assert!(
        (0.0..5.0).contains(&behind),
        "timer dequeue behind {behind} s"
    );
    b.stop().await;
}

/// A `Write` into a shared buffer, for capturing the log.
#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `metricsExporterType=LOG` logs every series each `metricLoggingExporterIntervalInMills`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_exporter_logs_the_series_periodically() {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let writer = Capture(Arc::clone(&buf));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("no other test sets a subscriber");
    let b = TestBroker::start(&[
        ("metricsExporterType", "LOG"),
        ("metricLoggingExporterIntervalInMills", "200"),
    ])
    .await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "LogT", 0, "x", "").await.code, 0);
    let line = format!(
        r#"rocketmq_messages_in_total{{{COMMON},topic="LogT",message_type="normal",is_system="false"}} 1"#
    );
    let mut seen = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        if seen.contains(&line) {
            break;
        }
    }
    assert!(seen.contains(&line), "{line} not logged in {seen}");
    assert!(seen.contains("rocketmq_metrics"), "logged under its target");
    b.stop().await;
}
