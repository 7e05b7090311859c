//! Timer messages (5.x `TIMER_DELIVER_MS` / `TIMER_DELAY_SEC`) over loopback: held until due,
//! delivered within one precision step, refused as Java refuses them, and still delivered after
//! a restart that lost the timer checkpoint. The official-client proof (including kill -9 and a
//! store moved to and from a Java 5.3.3 broker) is `compat-tests/timer/run.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{TestBroker, pull, records, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::ResponseCode;
use rocketmq_rs::store::record::MessageRecord;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Polls `topic` queue 0 until `want` messages are there or `secs` pass; returns them with the
/// time each poll first saw them.
async fn wait_for(addr: &str, topic: &str, want: usize, secs: u64) -> (Vec<MessageRecord>, i64) {
    let c = RemotingClient::new();
    let deadline = now_ms() + i64::try_from(secs).unwrap() * 1000;
    loop {
        let p = pull(&c, addr, topic, 0, 0, 0, "*").await;
        let recs = if p.code == 0 {
            records(&p.body)
        } else {
            Vec::new()
        };
        if recs.len() >= want || now_ms() > deadline {
            return (recs, now_ms());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_no_earlier_than_due_and_within_a_precision_step() {
    let b = TestBroker::start(&[("timerPrecisionMs", "100")]).await;
    let c = RemotingClient::new();
    let due = now_ms() + 1500;
    let r = send(
        &c,
        &b.addr,
        "TimerA",
        0,
        "at",
        &format!("TIMER_DELIVER_MS\u{1}{due}\u{2}UNIQ_KEY\u{1}U1\u{2}"),
    )
    .await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = send(
        &c,
        &b.addr,
        "TimerA",
        0,
        "sec",
        "TIMER_DELAY_SEC\u{1}1\u{2}",
    )
    .await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let (early, _) = wait_for(&b.addr, "TimerA", 1, 0).await;
    assert!(early.is_empty(), "delivered at once");
    let (recs, seen) = wait_for(&b.addr, "TimerA", 2, 10).await;
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].body.as_ref(), b"sec");
    let at = &recs[1];
    assert_eq!(at.body.as_ref(), b"at");
    assert!(
        at.store_timestamp >= due,
        "stored {} before due {due}",
        at.store_timestamp
    );
    // One precision step (100 ms) plus scheduling slack on a busy 2-core machine.
    assert!(
        at.store_timestamp <= due + 100 + 400,
        "late: {} ms",
        at.store_timestamp - due
    );
    assert!(seen >= due);
    assert_eq!(at.property("UNIQ_KEY"), Some("U1"));
    assert_eq!(at.property("REAL_TOPIC"), None);
    assert!(at.property("TIMER_OUT_MS").is_some());
    assert!(at.property("TIMER_ENQUEUE_MS").is_some());
    assert!(at.property("TIMER_DEQUEUE_MS").is_some());
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_use_java_codes_and_remarks() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    let r = send(
        &c,
        &b.addr,
        "TimerR",
        0,
        "x",
        "TIMER_DELAY_SEC\u{1}9999999\u{2}",
    )
    .await;
    assert_eq!(r.code, ResponseCode::MESSAGE_ILLEGAL.code());
    assert!(r.remark.unwrap().starts_with("timer message illegal"));
    let r = send(
        &c,
        &b.addr,
        "TimerR",
        0,
        "x",
        "TIMER_DELIVER_MS\u{1}soon\u{2}",
    )
    .await;
    assert_eq!(r.code, ResponseCode::MESSAGE_ILLEGAL.code());
    // Already due: stored at once.
    let r = send(
        &c,
        &b.addr,
        "TimerR",
        0,
        "x",
        "TIMER_DELIVER_MS\u{1}1000\u{2}",
    )
    .await;
    assert_eq!(r.code, 0);
    let (recs, _) = wait_for(&b.addr, "TimerR", 1, 5).await;
    assert_eq!(recs.len(), 1);
    b.stop().await;

    let off = TestBroker::start(&[("timerWheelEnable", "false")]).await;
    let r = send(
        &c,
        &off.addr,
        "TimerR",
        0,
        "x",
        "TIMER_DELAY_SEC\u{1}5\u{2}",
    )
    .await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("accurate timer message is not enabled, timerWheelEnable is false")
    );
    // A delay level wins over timer properties, as in Java.
    let r = send(
        &c,
        &off.addr,
        "TimerR",
        0,
        "x",
        "DELAY\u{1}1\u{2}TIMER_DELAY_SEC\u{1}5\u{2}",
    )
    .await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    off.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_that_lost_the_checkpoint_still_delivers_once() {
    let store = std::env::temp_dir().join(format!("rmqrs-timer-{}", common::rand_suffix()));
    let b = TestBroker::start_with_store(Some(store.clone()), &[("timerPrecisionMs", "100")]).await;
    let c = RemotingClient::new();
    let due = now_ms() + 3000;
    for i in 0..5 {
        let r = send(
            &c,
            &b.addr,
            "TimerK",
            0,
            &format!("k{i}"),
            &format!("TIMER_DELIVER_MS\u{1}{due}\u{2}"),
        )
        .await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
    }
    // Let the timer service link them into the wheel, then stop.
    tokio::time::sleep(Duration::from_millis(600)).await;
    b.stop().await;
    assert!(store.join("timerwheel").exists());
    assert!(store.join("timerlog").join("00000000000000000000").exists());
    // A crash before the first checkpoint: the timer log and wheel alone must carry them.
    std::fs::write(store.join("config").join("timercheck"), vec![0u8; 4096]).unwrap();
    let b = TestBroker::start_with_store(Some(store.clone()), &[("timerPrecisionMs", "100")]).await;
    let (recs, _) = wait_for(&b.addr, "TimerK", 5, 15).await;
    assert_eq!(recs.len(), 5);
    for r in &recs {
        assert!(r.store_timestamp >= due);
    }
    // Nothing comes twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (again, _) = wait_for(&b.addr, "TimerK", 6, 0).await;
    assert_eq!(again.len(), 5);
    b.stop().await;
    let _ = std::fs::remove_dir_all(&store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_message_is_never_delivered() {
    use rocketmq_rs::remoting::{ExtFields, RemotingCommand};
    let b =
        TestBroker::start(&[("timerPrecisionMs", "100"), ("recallMessageEnable", "true")]).await;
    let c = RemotingClient::new();
    let mut handles = Vec::new();
    for (i, uniq) in ["RECALLED", "KEPT"].iter().enumerate() {
        let r = send(
            &c,
            &b.addr,
            "TimerRc",
            0,
            uniq,
            &format!(
                "TIMER_DELAY_MS\u{1}{}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}",
                1500 + i * 10
            ),
        )
        .await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
        handles.push(
            r.ext("recallHandle")
                .expect("a timer send carries a recall handle")
                .to_owned(),
        );
    }
    let recall = |topic: &str, handle: &str| {
        let ext: ExtFields = [
            ("producerGroup", "pg"),
            ("topic", topic),
            ("recallHandle", handle),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        RemotingCommand::request(370, Some(ext))
    };
    let bad = c
        .invoke(&b.addr, recall("TimerRc", "bm9wZQ=="), common::T)
        .await
        .unwrap();
    assert_eq!(bad.code, ResponseCode::ILLEGAL_OPERATION.code());
    assert_eq!(bad.remark.as_deref(), Some("recall handle is invalid"));
    let other = c
        .invoke(&b.addr, recall("TBW102", &handles[0]), common::T)
        .await
        .unwrap();
    assert_eq!(
        other.remark.as_deref(),
        Some("recall failed, topic not match")
    );
    let ok = c
        .invoke(&b.addr, recall("TimerRc", &handles[0]), common::T)
        .await
        .unwrap();
    assert_eq!(ok.code, 0, "{:?}", ok.remark);
    assert_eq!(ok.ext("msgId"), Some("RECALLED"));
    let (recs, _) = wait_for(&b.addr, "TimerRc", 1, 10).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (recs2, _) = wait_for(&b.addr, "TimerRc", 2, 0).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs2.len(), 1, "the recalled message came");
    assert_eq!(recs2[0].body.as_ref(), b"KEPT");
    b.stop().await;

    let off = TestBroker::start(&[]).await;
    let r = c
        .invoke(&off.addr, recall("TimerRc", &handles[1]), common::T)
        .await
        .unwrap();
    assert_eq!(r.code, ResponseCode::NO_PERMISSION.code());
    assert_eq!(
        r.remark.as_deref(),
        Some("recall failed, operation is forbidden")
    );
    off.stop().await;
}
