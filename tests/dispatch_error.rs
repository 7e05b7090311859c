//! A ConsumeQueue that cannot be written (issue 12, "scale with work"): the dispatcher retries
//! the record, and after Java's 30 attempts (one a second) the store refuses sends with
//! SERVICE_NOT_AVAILABLE and Java's remark, instead of acknowledging messages no consumer can
//! see. Once the queue can be written the record is dispatched, nothing is lost, and sends are
//! taken again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, Instant};

use common::{TestBroker, pull, records, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::ResponseCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_consume_queue_stops_sends_after_bounded_retries_and_recovers() {
    let b = TestBroker::start(&[]).await;
    let client = RemotingClient::new();
    // A file where the topic's queue directory belongs: creating the ConsumeQueue fails with
    // ENOTDIR (not a lack of space), even for root, which ignores directory permissions.
    let cq_root = b.store_dir.join("consumequeue");
    std::fs::create_dir_all(&cq_root).unwrap();
    let blocker = cq_root.join("BrokenTopic");
    std::fs::write(&blocker, b"not a directory").unwrap();

    let ok = send(&client, &b.addr, "GoodTopic", 0, "before", "").await;
    assert_eq!(ok.code, ResponseCode::SUCCESS.code(), "{ok:?}");
    let pulled = pull(&client, &b.addr, "GoodTopic", 0, 0, 3_000, "*").await;
    assert_eq!(records(&pulled.body).len(), 1, "{pulled:?}");

    // Appended (the CommitLog is fine) but not dispatchable.
    let broken = send(&client, &b.addr, "BrokenTopic", 0, "stuck", "").await;
    assert_eq!(broken.code, ResponseCode::SUCCESS.code(), "{broken:?}");
    let t = Instant::now();

    // Sends keep succeeding while the dispatcher retries, then are refused.
    let mut accepted = 0;
    let refused = loop {
        let r = send(&client, &b.addr, "GoodTopic", 0, "during", "").await;
        if r.code != ResponseCode::SUCCESS.code() {
            break r;
        }
        accepted += 1;
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "sends still accepted after {:?}",
            t.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let refused_after = t.elapsed();
    assert_eq!(
        refused.code,
        ResponseCode::SERVICE_NOT_AVAILABLE.code(),
        "{refused:?}"
    );
    let remark = refused.remark.clone().unwrap_or_default();
    assert!(
        remark.starts_with("service not available now. It may be caused by one of the following reasons: the broker's disk is full ["),
        "{remark}"
    );
    // 30 attempts one second apart: not the first failure.
    assert!(
        refused_after >= Duration::from_secs(25),
        "refused after only {refused_after:?}"
    );
    assert!(accepted > 0);
    // The record behind the broken one waits with it: nothing is skipped.
    let pulled = pull(&client, &b.addr, "GoodTopic", 0, 1, 0, "*").await;
    assert!(records(&pulled.body).is_empty(), "{pulled:?}");

    // The queue directory can be made again: everything appended is dispatched, sends resume.
    std::fs::remove_file(&blocker).unwrap();
    let t = Instant::now();
    let resumed = loop {
        let r = send(&client, &b.addr, "GoodTopic", 0, "after", "").await;
        if r.code == ResponseCode::SUCCESS.code() {
            break t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "sends still refused: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(resumed < Duration::from_secs(20));
    let stuck = pull(&client, &b.addr, "BrokenTopic", 0, 0, 3_000, "*").await;
    assert_eq!(records(&stuck.body).len(), 1, "{stuck:?}");
    let mut seen = 0;
    while seen < accepted + 2 {
        let got = pull(
            &client,
            &b.addr,
            "GoodTopic",
            0,
            i64::try_from(seen).unwrap(),
            3_000,
            "*",
        )
        .await;
        let n = records(&got.body).len();
        assert!(n > 0, "GoodTopic stops at {seen} of {}", accepted + 2);
        seen += n;
    }
    assert_eq!(seen, accepted + 2);
    client.close_all();
    b.stop().await;
}
