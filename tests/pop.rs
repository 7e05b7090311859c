//! POP over remoting at the wire level: pop, ack, change of invisible time, revive, long
//! polling, server-side assignment and the bad-header answers.
//!
//! Goal: the POP handlers and the revive service behave as Java 5.3.3's with short invisible
//! times. Method: an in-process broker with `reviveInterval=100`; requests built as the Java
//! client's `MQClientAPIImpl` builds them; the revive topic read back from the store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{T, TestBroker, records, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand};

const POP: i32 = 200_050;
const ACK: i32 = 200_051;
const CHANGE: i32 = 200_053;
const BATCH_ACK: i32 = 200_151;

fn ext(pairs: &[(&str, String)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn pop(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    queue: i32,
    invisible: i64,
    poll: i64,
) -> RemotingCommand {
    pop_with(c, addr, topic, queue, invisible, poll, &[]).await
}

async fn pop_with(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    queue: i32,
    invisible: i64,
    poll: i64,
    more: &[(&str, &str)],
) -> RemotingCommand {
    let mut e = ext(&[
        ("consumerGroup", "PG".into()),
        ("topic", topic.into()),
        ("queueId", queue.to_string()),
        ("maxMsgNums", "32".into()),
        ("invisibleTime", invisible.to_string()),
        ("pollTime", poll.to_string()),
        ("bornTime", now_ms().to_string()),
        ("initMode", "0".into()),
        ("expType", "TAG".into()),
        ("exp", "*".into()),
    ]);
    for (k, v) in more {
        e.insert(*k, *v);
    }
    c.invoke(
        addr,
        RemotingCommand::request(POP, Some(e)),
        Duration::from_secs(30),
    )
    .await
    .unwrap()
}

/// The `POP_CK` the Java client builds for a message of a pop response
/// (`processPopResponse`): from the start-offset info, or the broker's own for retried ones.
fn pop_ck(resp: &RemotingCommand, rec: &rocketmq_rs::store::record::MessageRecord) -> String {
    if let Some(ck) = rec.property("POP_CK") {
        return ck.to_owned();
    }
    let start = resp.ext("startOffsetInfo").unwrap();
    let so = start
        .split(';')
        .find(|s| s.starts_with(&format!("0 {} ", rec.queue_id)))
        .unwrap()
        .split(' ')
        .nth(2)
        .unwrap()
        .to_owned();
    format!(
        "{so} {} {} {} 0 broker-t {} {}",
        resp.ext("popTime").unwrap(),
        resp.ext("invisibleTime").unwrap(),
        resp.ext("reviveQid").unwrap(),
        rec.queue_id,
        rec.queue_offset
    )
}

async fn ack(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    rec: &rocketmq_rs::store::record::MessageRecord,
    ck: &str,
) -> RemotingCommand {
    let e = ext(&[
        ("consumerGroup", "PG".into()),
        ("topic", topic.into()),
        ("queueId", rec.queue_id.to_string()),
        ("extraInfo", ck.into()),
        ("offset", rec.queue_offset.to_string()),
    ]);
    c.invoke(addr, RemotingCommand::request(ACK, Some(e)), T)
        .await
        .unwrap()
}

/// Lets the dispatcher index what was just sent (sends answer before the ConsumeQueue is built).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn keys(body: &Bytes) -> Vec<(String, i32)> {
    let mut k: Vec<(String, i32)> = records(body)
        .iter()
        .map(|r| {
            (
                String::from_utf8_lossy(&r.body).into_owned(),
                r.reconsume_times,
            )
        })
        .collect();
    k.sort();
    k
}

/// Pops until `want` messages came back or `secs` passed.
async fn pop_until(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    want: usize,
    secs: u64,
) -> Vec<(
    RemotingCommand,
    Vec<rocketmq_rs::store::record::MessageRecord>,
)> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut n = 0;
    while n < want && start.elapsed() < Duration::from_secs(secs) {
        let r = pop(c, addr, topic, -1, 60_000, 500).await;
        if r.code == 0 {
            let recs = records(&r.body);
            n += recs.len();
            got.push((r, recs));
        }
    }
    got
}

#[tokio::test]
async fn pop_ack_and_revive_into_the_retry_topic() {
    common::init_log();
    let b = TestBroker::start(&[("reviveInterval", "100")]).await;
    let c = RemotingClient::new();
    for i in 0..4 {
        assert_eq!(
            send(&c, &b.addr, "PopA", 0, &format!("m{i}"), "TAGS\u{1}t\u{2}")
                .await
                .code,
            0
        );
    }
    settle().await;
    let r = pop(&c, &b.addr, "PopA", 0, 1000, 0).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(r.ext("startOffsetInfo"), Some("0 0 0"));
    assert_eq!(r.ext("msgOffsetInfo"), Some("0 0 0,1,2,3"));
    assert_eq!(r.ext("restNum"), Some("0"));
    let recs = records(&r.body);
    assert_eq!(recs.len(), 4);
    // The checkpoint as Java writes it, in the revive queue the response names.
    let rq: i32 = r.ext("reviveQid").unwrap().parse().unwrap();
    let pop_time: i64 = r.ext("popTime").unwrap().parse().unwrap();
    settle().await;
    let ck = pull_revive(&c, &b.addr, rq).await;
    let ck = ck
        .iter()
        .find(|m| m.property("TAGS") == Some("ck"))
        .expect("a ck record");
    let body = String::from_utf8_lossy(&ck.body);
    assert_eq!(
        body,
        format!(
            r#"{{"bm":0,"bn":"broker-t","c":"PG","d":[0,1,2,3],"it":1000,"n":4,"pt":{pop_time},"q":0,"reviveTime":{},"ro":0,"so":0,"t":"PopA"}}"#,
            pop_time + 1000
        )
    );
    assert_eq!(
        ck.property("TIMER_DELIVER_MS"),
        Some(pop_time.to_string().as_str())
    );
    assert_eq!(
        ck.property("UNIQ_KEY"),
        Some(format!("PopA@0@0@PG@{pop_time}@broker-t@ck").as_str())
    );
    // Nothing is visible while the messages are invisible.
    assert_eq!(pop(&c, &b.addr, "PopA", 0, 1000, 0).await.code, 210);
    // Ack m0 and m2; m1 and m3 come back from the retry topic with reconsumeTimes 1.
    for rec in recs.iter().filter(|r| r.queue_offset % 2 == 0) {
        let a = ack(&c, &b.addr, "PopA", rec, &pop_ck(&r, rec)).await;
        assert_eq!(a.code, 0, "{:?}", a.remark);
    }
    let back = pop_until(&c, &b.addr, "PopA", 2, 15).await;
    let mut got: Vec<(String, i32)> = back
        .iter()
        .flat_map(|(_, r)| r.iter())
        .map(|r| {
            (
                String::from_utf8_lossy(&r.body).into_owned(),
                r.reconsume_times,
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, vec![("m1".to_owned(), 1), ("m3".to_owned(), 1)]);
    for (resp, recs) in &back {
        assert!(resp.ext("startOffsetInfo").unwrap().starts_with("1 0 "));
        for rec in recs {
            assert_eq!(
                rec.topic, "PopA",
                "retried messages keep the consumed topic"
            );
            let ck = rec.property("POP_CK").expect("POP_CK set by the broker");
            assert_eq!(ck.split(' ').nth(4), Some("1"), "{ck}");
            assert!(rec.property("1ST_POP_TIME").is_some());
            let a = ack(&c, &b.addr, "%RETRY%PG_PopA", rec, ck).await;
            assert_eq!(a.code, 0, "{:?}", a.remark);
        }
    }
    // Acked retries stay acked, and the revive progress is kept as Java keeps it.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(pop(&c, &b.addr, "PopA", -1, 1000, 0).await.code, 210);
    let q = c
        .invoke(
            &b.addr,
            RemotingCommand::request(
                14,
                Some(ext(&[
                    ("consumerGroup", "CID_RMQ_SYS_REVIVE_GROUP".into()),
                    ("topic", "rmq_sys_REVIVE_LOG_DefaultCluster".into()),
                    ("queueId", rq.to_string()),
                ])),
            ),
            T,
        )
        .await
        .unwrap();
    assert_eq!(q.code, 0, "{:?}", q.remark);
    assert!(q.ext("offset").unwrap().parse::<i64>().unwrap() >= 0);
    b.stop().await;
}

async fn pull_revive(
    c: &RemotingClient,
    addr: &str,
    rq: i32,
) -> Vec<rocketmq_rs::store::record::MessageRecord> {
    let r = common::pull(c, addr, "rmq_sys_REVIVE_LOG_DefaultCluster", rq, 0, 0, "*").await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    records(&r.body)
}

#[tokio::test]
async fn change_invisible_time_extends_and_batch_ack_acks() {
    common::init_log();
    let b = TestBroker::start(&[("reviveInterval", "100"), ("popFromRetryProbability", "0")]).await;
    let c = RemotingClient::new();
    for i in 0..3 {
        assert_eq!(
            send(&c, &b.addr, "PopC", 0, &format!("c{i}"), "")
                .await
                .code,
            0
        );
    }
    settle().await;
    let r = pop(&c, &b.addr, "PopC", 0, 1000, 0).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let recs = records(&r.body);
    assert_eq!(recs.len(), 3);
    // c0: invisible for 6 s more. c1, c2: batch-acked with the client's BitSet body.
    let ck0 = pop_ck(&r, &recs[0]);
    let e = ext(&[
        ("consumerGroup", "PG".into()),
        ("topic", "PopC".into()),
        ("queueId", "0".into()),
        ("extraInfo", ck0.clone()),
        ("offset", "0".into()),
        ("invisibleTime", "6000".into()),
    ]);
    let ch = c
        .invoke(&b.addr, RemotingCommand::request(CHANGE, Some(e)), T)
        .await
        .unwrap();
    assert_eq!(ch.code, 0, "{:?}", ch.remark);
    assert_eq!(ch.ext("invisibleTime"), Some("6000"));
    assert_eq!(ch.ext("reviveQid"), r.ext("reviveQid"));
    let body = format!(
        r#"{{"acks":[{{"b":"Bg==","c":"PG","it":1000,"pt":{},"q":0,"r":"0","rq":{},"so":0,"t":"PopC"}}],"brokerName":"broker-t"}}"#,
        r.ext("popTime").unwrap(),
        r.ext("reviveQid").unwrap()
    );
    let ba = c
        .invoke(
            &b.addr,
            RemotingCommand::request(BATCH_ACK, None).with_body(Bytes::from(body)),
            T,
        )
        .await
        .unwrap();
    assert_eq!(ba.code, 0, "{:?}", ba.remark);
    // After the old 1 s (plus the revive margin) nothing came back.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    let none = pop(&c, &b.addr, "PopC", -1, 60_000, 0).await;
    assert_eq!(none.code, 210, "{:?}", keys(&none.body));
    // After the new 6 s, c0 (only) is back.
    let back = pop_until(&c, &b.addr, "PopC", 1, 15).await;
    let got: Vec<(String, i32)> = back.iter().flat_map(|(resp, _)| keys(&resp.body)).collect();
    assert_eq!(got, vec![("c0".to_owned(), 1)]);
    b.stop().await;
}

#[tokio::test]
async fn pop_is_held_until_a_message_arrives() {
    common::init_log();
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "PopL", 0, "seed", "").await.code, 0);
    settle().await;
    let r = pop(&c, &b.addr, "PopL", -1, 60_000, 0).await;
    assert_eq!(r.code, 0);
    // Empty now: a pop with 600 ms of poll time is answered POLLING_TIMEOUT after it.
    let t = Instant::now();
    let r = pop(&c, &b.addr, "PopL", -1, 60_000, 600).await;
    assert_eq!(r.code, 210);
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    for k in ["popTime", "invisibleTime", "reviveQid", "restNum"] {
        assert!(
            r.ext(k).is_some(),
            "{k} missing from a POLLING_TIMEOUT answer"
        );
    }
    // A held pop wakes when a message arrives.
    let c2 = RemotingClient::new();
    let addr = b.addr.clone();
    let held = tokio::spawn(async move {
        let t = Instant::now();
        let r = pop(&c2, &addr, "PopL", -1, 60_000, 10_000).await;
        (r, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(send(&c, &b.addr, "PopL", 1, "late", "").await.code, 0);
    let (r, waited) = held.await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(keys(&r.body), vec![("late".to_owned(), 0)]);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    b.stop().await;
}

/// PopMessageProcessor counts popped messages under the requested topic with `is_retry`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn popped_messages_are_counted_in_prometheus_metrics() {
    let (b, port) = TestBroker::start_with_prom().await;
    let c = RemotingClient::new();
    for body in ["a", "b", "c"] {
        assert_eq!(send(&c, &b.addr, "PopM", 0, body, "").await.code, 0);
    }
    settle().await;
    let r = pop(&c, &b.addr, "PopM", -1, 60_000, 0).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(keys(&r.body).len(), 3);
    let text = common::scrape_metrics(&port).await;
    let line = r#"rocketmq_messages_out_total{cluster="DefaultCluster",node_type="broker",node_id="broker-t",topic="PopM",consumer_group="PG",is_system="false",is_retry="false"} 3"#;
    assert!(text.lines().any(|l| l == line), "{text}");
    b.stop().await;
}

#[tokio::test]
async fn bad_pop_requests_get_java_codes() {
    common::init_log();
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "PopB", 0, "x", "").await.code, 0);
    let mut e = ext(&[
        ("consumerGroup", "PG".into()),
        ("topic", "PopB".into()),
        ("queueId", "0".into()),
        ("maxMsgNums", "33".into()),
        ("invisibleTime", "1000".into()),
        ("pollTime", "0".into()),
        ("bornTime", now_ms().to_string()),
        ("initMode", "0".into()),
    ]);
    let r = c
        .invoke(&b.addr, RemotingCommand::request(POP, Some(e.clone())), T)
        .await
        .unwrap();
    assert_eq!(r.code, 29, "{:?}", r.remark);
    assert!(r.remark.unwrap().contains("greater than 32"));
    e.insert("maxMsgNums", "1");
    e.insert("topic", "NoSuchPopTopic");
    let r = c
        .invoke(&b.addr, RemotingCommand::request(POP, Some(e.clone())), T)
        .await
        .unwrap();
    assert_eq!(r.code, 17);
    e.insert("topic", "PopB");
    e.insert("bornTime", (now_ms() - 10_000).to_string());
    let r = c
        .invoke(&b.addr, RemotingCommand::request(POP, Some(e.clone())), T)
        .await
        .unwrap();
    assert_eq!(r.code, 210, "timeout too much");
    let _ = e.remove("invisibleTime");
    let r = c
        .invoke(&b.addr, RemotingCommand::request(POP, Some(e)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 1);
    assert!(r.remark.unwrap().contains("invisibleTime"));
    // An ack whose extraInfo is not Java's format.
    let a = ext(&[
        ("consumerGroup", "PG".into()),
        ("topic", "PopB".into()),
        ("queueId", "0".into()),
        ("extraInfo", "garbage".into()),
        ("offset", "0".into()),
    ]);
    let r = c
        .invoke(&b.addr, RemotingCommand::request(ACK, Some(a.clone())), T)
        .await
        .unwrap();
    assert_eq!(r.code, 1, "{:?}", r.remark);
    let mut a2 = a.clone();
    a2.insert("offset", "99");
    a2.insert("extraInfo", "0 1 1000 0 0 broker-t 0 99");
    let r = c
        .invoke(&b.addr, RemotingCommand::request(ACK, Some(a2)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 208, "offset beyond the queue: NO_MESSAGE");
    let mut a3 = a;
    a3.insert("extraInfo", "0 1 1000 77 0 broker-t 0 0");
    let r = c
        .invoke(&b.addr, RemotingCommand::request(ACK, Some(a3)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 13, "revive queue out of range");
    let r = c
        .invoke(
            &b.addr,
            RemotingCommand::request(BATCH_ACK, None).with_body(Bytes::from_static(b"{}")),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 208);
    b.stop().await;
}

#[tokio::test]
async fn request_mode_and_assignment() {
    common::init_log();
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "PopM", 0, "x", "").await.code, 0);
    let set = RemotingCommand::request(401, None).with_body(Bytes::from_static(
        br#"{"consumerGroup":"PG","mode":"POP","popShareQueueNum":8,"topic":"PopM"}"#,
    ));
    let r = c.invoke(&b.addr, set, T).await.unwrap();
    assert_eq!(r.code, 0, "{:?}", r.remark);
    // The file is pretty (Java's persist), the slave-sync body compact; both name the mode.
    let file = std::fs::read_to_string(b.store_dir.join("config/messageRequestMode.json")).unwrap();
    let squeezed: String = file.chars().filter(|c| !c.is_whitespace()).collect();
    let all = c
        .invoke(&b.addr, RemotingCommand::request(402, None), T)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&all.body).into_owned();
    assert_eq!(squeezed, body);
    assert!(
        body.contains(r#""PopM":{"PG":{"consumerGroup":"PG","mode":"POP","popShareQueueNum":8,"topic":"PopM"}}"#),
        "{body}"
    );
    let retry = RemotingCommand::request(401, None).with_body(Bytes::from_static(
        br#"{"consumerGroup":"PG","mode":"POP","topic":"%RETRY%PG"}"#,
    ));
    assert_eq!(c.invoke(&b.addr, retry, T).await.unwrap().code, 16);
    // No consumer of the group is connected: Java answers a null assignment set.
    let q = RemotingCommand::request(400, None).with_body(Bytes::from_static(
        br#"{"clientId":"c1","consumerGroup":"PG","messageModel":"CLUSTERING","strategyName":"AVG","topic":"PopM"}"#,
    ));
    let r = c.invoke(&b.addr, q, T).await.unwrap();
    assert_eq!(r.code, 0);
    assert_eq!(&r.body[..], b"{}");
    let q = RemotingCommand::request(400, None).with_body(Bytes::from_static(
        br#"{"clientId":"c1","consumerGroup":"PG","messageModel":"BROADCASTING","strategyName":"AVG","topic":"PopM"}"#,
    ));
    let r = c.invoke(&b.addr, q, T).await.unwrap();
    let body = String::from_utf8_lossy(&r.body);
    assert!(body.starts_with(r#"{"messageQueueAssignments":[{"messageQueue":{"brokerName":"broker-t","queueId":0,"topic":"PopM"},"mode":"POP"}"#), "{body}");
    b.stop().await;
}

#[tokio::test]
async fn orderly_pop_blocks_the_queue_until_acked() {
    common::init_log();
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    for i in 0..3 {
        assert_eq!(
            send(&c, &b.addr, "PopO", 0, &format!("o{i}"), "")
                .await
                .code,
            0
        );
    }
    settle().await;
    let order = [("order", "true"), ("attemptId", "a1")];
    let r = pop_with(&c, &b.addr, "PopO", 0, 60_000, 0, &order).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(r.ext("reviveQid"), Some("999"));
    assert_eq!(r.ext("orderCountInfo"), Some("0 0 0"));
    assert_eq!(keys(&r.body).len(), 3);
    // Another attempt finds the queue blocked while the batch is out.
    let blocked = pop_with(
        &c,
        &b.addr,
        "PopO",
        0,
        60_000,
        0,
        &[("order", "true"), ("attemptId", "a2")],
    )
    .await;
    assert_eq!(blocked.code, 210);
    let recs = records(&r.body);
    let ck = |rec: &rocketmq_rs::store::record::MessageRecord| {
        format!(
            "0 {} 60000 999 0 broker-t 0 {}",
            r.ext("popTime").unwrap(),
            rec.queue_offset
        )
    };
    // Acking o1 first leaves the offset at o0; then o0 and o2 free the queue.
    assert_eq!(
        ack(&c, &b.addr, "PopO", &recs[1], &ck(&recs[1])).await.code,
        0
    );
    assert_eq!(offset_of(&c, &b.addr, "PG", "PopO", 0).await, 0);
    assert_eq!(
        ack(&c, &b.addr, "PopO", &recs[0], &ck(&recs[0])).await.code,
        0
    );
    assert_eq!(offset_of(&c, &b.addr, "PG", "PopO", 0).await, 2);
    assert_eq!(
        ack(&c, &b.addr, "PopO", &recs[2], &ck(&recs[2])).await.code,
        0
    );
    assert_eq!(offset_of(&c, &b.addr, "PG", "PopO", 0).await, 3);
    // An ack of an offset outside the batch is MESSAGE_ILLEGAL, as Java's commitAndNext -1.
    assert_eq!(send(&c, &b.addr, "PopO", 0, "o3", "").await.code, 0);
    settle().await;
    let r2 = pop_with(
        &c,
        &b.addr,
        "PopO",
        0,
        800,
        0,
        &[("order", "true"), ("attemptId", "a3")],
    )
    .await;
    assert_eq!(keys(&r2.body), vec![("o3".to_owned(), 0)]);
    // Not acked: after its invisible time the same message is popped again, counted once.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r3 = pop_with(
        &c,
        &b.addr,
        "PopO",
        0,
        60_000,
        0,
        &[("order", "true"), ("attemptId", "a4")],
    )
    .await;
    assert_eq!(r3.code, 0, "{:?}", r3.remark);
    assert_eq!(r3.ext("orderCountInfo"), Some("0 qo0%3 1;0 0 1"));
    assert!(
        std::fs::read_to_string(b.store_dir.join("config/consumerOrderInfo.json"))
            .unwrap()
            .contains("PopO@PG")
    );
    b.stop().await;
}

async fn offset_of(c: &RemotingClient, addr: &str, group: &str, topic: &str, queue: i32) -> i64 {
    let q = c
        .invoke(
            addr,
            RemotingCommand::request(
                14,
                Some(ext(&[
                    ("consumerGroup", group.into()),
                    ("topic", topic.into()),
                    ("queueId", queue.to_string()),
                ])),
            ),
            T,
        )
        .await
        .unwrap();
    q.ext("offset").unwrap().parse().unwrap()
}

#[tokio::test]
async fn notification_says_whether_a_pop_would_find_messages() {
    common::init_log();
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "PopN", 0, "n0", "").await.code, 0);
    settle().await;
    let notify = |poll: i64| {
        ext(&[
            ("consumerGroup", "PG".into()),
            ("topic", "PopN".into()),
            ("queueId", "-1".into()),
            ("pollTime", poll.to_string()),
            ("bornTime", now_ms().to_string()),
        ])
    };
    let r = c
        .invoke(
            &b.addr,
            RemotingCommand::request(200_054, Some(notify(0))),
            T,
        )
        .await
        .unwrap();
    assert_eq!((r.code, r.ext("hasMsg")), (0, Some("true")));
    let popped = pop(&c, &b.addr, "PopN", -1, 60_000, 0).await;
    assert_eq!(popped.code, 0);
    let t = Instant::now();
    let r = c
        .invoke(
            &b.addr,
            RemotingCommand::request(200_054, Some(notify(600))),
            T,
        )
        .await
        .unwrap();
    assert_eq!((r.code, r.ext("hasMsg")), (0, Some("false")));
    assert!(t.elapsed() >= Duration::from_millis(500));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_syncs_the_request_modes_of_its_master() {
    common::init_log();
    let m = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &m.addr, "PopS", 0, "x", "").await.code, 0);
    let set = RemotingCommand::request(401, None).with_body(Bytes::from_static(
        br#"{"consumerGroup":"PG","mode":"POP","popShareQueueNum":2,"topic":"PopS"}"#,
    ));
    assert_eq!(c.invoke(&m.addr, set, T).await.unwrap().code, 0);
    let dir = m.ns.dir.join("slave-store");
    let s = TestBroker::start_with_store(
        Some(dir.clone()),
        &[
            ("brokerRole", "SLAVE"),
            ("brokerId", "1"),
            ("namesrvAddr", m.ns.addr.as_str()),
        ],
    )
    .await;
    let file = dir.join("config/messageRequestMode.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("\"popShareQueueNum\":2") {
            break;
        }
        assert!(Instant::now() < deadline, "slave never synced: {text}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    s.stop().await;
    m.stop().await;
}

/// Without a timer wheel the revive queue is not in revive-time order: a checkpoint with a long
/// invisible time holds the revive progress back, so a restart rescans checkpoints already
/// revived. Their revived offsets are acked in the revive queue, so nothing comes back twice.
#[tokio::test]
async fn a_restart_does_not_revive_a_checkpoint_twice() {
    common::init_log();
    let store = std::env::temp_dir().join(format!("pop-restart-{}", common::rand_suffix()));
    let cfg = [("reviveInterval", "100"), ("reviveQueueNum", "1")];
    let b = TestBroker::start_with_store(Some(store.clone()), &cfg).await;
    let c = RemotingClient::new();
    for i in 0..2 {
        assert_eq!(
            send(&c, &b.addr, "PopR", 0, &format!("r{i}"), "")
                .await
                .code,
            0
        );
    }
    settle().await;
    let one = [("maxMsgNums", "1")];
    let long = pop_with(&c, &b.addr, "PopR", 0, 600_000, 0, &one).await;
    assert_eq!(keys(&long.body), vec![("r0".to_owned(), 0)]);
    let short = pop_with(&c, &b.addr, "PopR", 0, 1000, 0, &one).await;
    assert_eq!(keys(&short.body), vec![("r1".to_owned(), 0)]);
    let back = pop_until(&c, &b.addr, "PopR", 1, 15).await;
    let (resp, recs) = &back[0];
    assert_eq!(keys(&resp.body), vec![("r1".to_owned(), 1)]);
    let ck = recs[0].property("POP_CK").unwrap().to_owned();
    assert_eq!(
        ack(&c, &b.addr, "%RETRY%PG_PopR", &recs[0], &ck).await.code,
        0
    );
    b.stop().await;
    let b = TestBroker::start_with_store(Some(store.clone()), &cfg).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let again = pop(&c, &b.addr, "PopR", -1, 60_000, 0).await;
    assert_eq!(again.code, 210, "revived twice: {:?}", keys(&again.body));
    b.stop().await;
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test]
async fn a_held_orderly_pop_gets_the_queue_once_the_batch_is_visible_again() {
    common::init_log();
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    assert_eq!(send(&c, &b.addr, "PopH", 0, "h0", "").await.code, 0);
    settle().await;
    let first = pop_with(
        &c,
        &b.addr,
        "PopH",
        0,
        800,
        0,
        &[("order", "true"), ("attemptId", "x1")],
    )
    .await;
    assert_eq!(keys(&first.body), vec![("h0".to_owned(), 0)]);
    // Never acked: a pop held for 8 s gets h0 again soon after its 800 ms, not at the end.
    let t = Instant::now();
    let again = pop_with(
        &c,
        &b.addr,
        "PopH",
        0,
        60_000,
        8000,
        &[("order", "true"), ("attemptId", "x2")],
    )
    .await;
    assert_eq!(keys(&again.body), vec![("h0".to_owned(), 0)]);
    assert_eq!(again.ext("orderCountInfo"), Some("0 qo0%0 1;0 0 1"));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    b.stop().await;
}
