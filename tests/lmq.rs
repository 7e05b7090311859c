//! Light Message Queues (RIP-28) at the store and the wire level: `INNER_MULTI_QUEUE_OFFSET`
//! stamped under the put lock exactly as the Java 5.3.3 broker stores it (golden
//! `protocol/lmq/stored_properties_java533.hex`), ConsumeQueues of `%LMQ%` queues written by the
//! dispatcher and rebuilt after a crash, synthetic LMQ topics and groups, LMQ consumer offsets in
//! `lmqConsumerOffset.json`, long polling on an LMQ, and `maxLmqConsumeQueueNum`. The
//! official-client proof (kill -9, Java broker comparison, stores swapped between brokers) is
//! `compat-tests/lmq/run.sh`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{TestBroker, pull, read_hex, records, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand};
use rocketmq_rs::store::record::{MessageRecord, property};
use rocketmq_rs::store::{MessageStore, PutMessage, StoreConfig, StoreError};

const LMQS: &str = "%LMQ%a,%LMQ%b";

/// A directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "lmq-test-{}-{}",
            std::process::id(),
            common::rand_suffix()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn store_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.commit_log_file_size = 1024 * 1024;
    c.enable_lmq = true;
    c.enable_multi_dispatch = true;
    c
}

fn msg(topic: &str, key: &str, dispatch: &str) -> PutMessage {
    let addr: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    PutMessage {
        topic: topic.into(),
        queue_id: 0,
        flag: 0,
        body: Bytes::from(format!("body {key}")),
        properties: format!(
            "KEYS\u{1}{key}\u{2}WAIT\u{1}true\u{2}INNER_MULTI_DISPATCH\u{1}{dispatch}\u{2}"
        ),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: addr,
        store_host: addr,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// The record a queue unit points at.
fn record_at(store: &MessageStore, topic: &str, offset: u64) -> MessageRecord {
    let q = store.queue(topic, 0).expect("queue exists");
    let u = q.get(offset).expect("unit written");
    let bytes = store
        .read_record(
            u64::try_from(u.commit_log_offset).unwrap(),
            usize::try_from(u.size).unwrap(),
        )
        .unwrap();
    MessageRecord::decode(&bytes, true).unwrap().0
}

fn max_offset(store: &MessageStore, topic: &str) -> u64 {
    store.queue(topic, 0).map_or(0, |q| q.max_offset())
}

fn put_keys(store: &MessageStore, keys: std::ops::Range<usize>) {
    for i in keys {
        let _ = store.put(&[msg("Parent", &format!("k{i}"), LMQS)]).unwrap();
    }
    assert!(store.wait_dispatched(Duration::from_secs(10)));
}

#[test]
fn offsets_stamped_dispatched_and_rebuilt_after_restart_and_crash() {
    let dir = TempDir::new();
    let root = dir.path().join("store");
    let store = MessageStore::open(store_config(&root)).unwrap();
    put_keys(&store, 0..3);
    for i in 0..3u64 {
        let parent = record_at(&store, "Parent", i);
        for lmq in ["%LMQ%a", "%LMQ%b"] {
            let r = record_at(&store, lmq, i);
            assert_eq!(r.physical_offset, parent.physical_offset, "{lmq} unit {i}");
            assert_eq!(
                r.property("INNER_MULTI_QUEUE_OFFSET"),
                Some(format!("{i},{i}").as_str())
            );
            assert_eq!(
                r.topic, "Parent",
                "the LMQ unit points at the parent's record"
            );
        }
    }
    assert!(
        root.join("consumequeue/%LMQ%a/0/00000000000000000000")
            .is_file()
    );
    // Clean restart: offsets continue.
    store.shutdown().unwrap();
    drop(store);
    let store = MessageStore::open(store_config(&root)).unwrap();
    put_keys(&store, 3..4);
    assert_eq!(
        record_at(&store, "%LMQ%a", 3).property("INNER_MULTI_QUEUE_OFFSET"),
        Some("3,3")
    );
    // Crash (no clean shutdown) with one LMQ's ConsumeQueue lost: re-dispatch rebuilds it, and
    // the next message continues at 4 in both.
    store.halt();
    drop(store);
    std::fs::remove_dir_all(root.join("consumequeue/%LMQ%b")).unwrap();
    let store = MessageStore::open(store_config(&root)).unwrap();
    assert_eq!(
        max_offset(&store, "%LMQ%b"),
        4,
        "rebuilt from the CommitLog"
    );
    put_keys(&store, 4..5);
    for lmq in ["%LMQ%a", "%LMQ%b"] {
        assert_eq!(max_offset(&store, lmq), 5);
        let r = record_at(&store, lmq, 4);
        assert_eq!(r.property("KEYS"), Some("k4"));
        assert_eq!(r.property("INNER_MULTI_QUEUE_OFFSET"), Some("4,4"));
    }
    store.shutdown().unwrap();
}

#[test]
fn what_java_skips_is_skipped() {
    let dir = TempDir::new();
    let root = dir.path().join("store");
    let store = MessageStore::open(store_config(&root)).unwrap();
    // A name with '/' gets an offset stamped but no queue (ConsumeQueue.multiDispatchLmqQueue).
    let _ = store
        .put(&[msg("Parent", "slash", "%LMQ%x/y,%LMQ%a")])
        .unwrap();
    // Retry topics take no LMQ (MixAll.topicAllowsLMQ): nothing stamped, nothing dispatched.
    let _ = store.put(&[msg("%RETRY%g", "retry", "%LMQ%a")]).unwrap();
    // Batches are not stamped, as Java's batch append is not, even a batch of one.
    let _ = store
        .put_batch(&[msg("Parent", "b1", "%LMQ%a"), msg("Parent", "b2", "%LMQ%a")])
        .unwrap();
    let _ = store.put_batch(&[msg("Parent", "b3", "%LMQ%a")]).unwrap();
    assert!(store.wait_dispatched(Duration::from_secs(10)));
    assert!(!root.join("consumequeue/%LMQ%x").exists());
    assert!(!root.join("consumequeue/%LMQ%x/y").exists());
    assert_eq!(
        max_offset(&store, "%LMQ%a"),
        1,
        "only the '/' message reached %LMQ%a"
    );
    let r = record_at(&store, "%LMQ%a", 0);
    assert_eq!(r.property("INNER_MULTI_QUEUE_OFFSET"), Some("0,0"));
    let retry = record_at(&store, "%RETRY%g", 0);
    assert_eq!(retry.property("INNER_MULTI_QUEUE_OFFSET"), None);
    for i in 1..4 {
        assert_eq!(
            record_at(&store, "Parent", i).property("INNER_MULTI_QUEUE_OFFSET"),
            None
        );
    }
    store.shutdown().unwrap();
}

#[test]
fn disabled_lmq_stamps_nothing() {
    let dir = TempDir::new();
    let mut cfg = store_config(&dir.path().join("store"));
    cfg.enable_lmq = false;
    cfg.enable_multi_dispatch = false;
    let store = MessageStore::open(cfg).unwrap();
    put_keys(&store, 0..2);
    assert!(store.queue("%LMQ%a", 0).is_none());
    assert_eq!(
        record_at(&store, "Parent", 0).property("INNER_MULTI_QUEUE_OFFSET"),
        None
    );
    store.shutdown().unwrap();
}

#[test]
fn lmq_consume_queue_limit_refuses_like_4_9_8() {
    let dir = TempDir::new();
    let mut cfg = store_config(&dir.path().join("store"));
    cfg.max_lmq_consume_queue_num = 1;
    let store = MessageStore::open(cfg).unwrap();
    put_keys(&store, 0..1); // creates %LMQ%a and %LMQ%b: 2 > 1
    let e = store.put(&[msg("Parent", "over", LMQS)]).unwrap_err();
    assert!(
        matches!(e, StoreError::LmqConsumeQueueNumExceeded(2)),
        "{e}"
    );
    // Messages without LMQs still go through.
    let mut plain = msg("Parent", "plain", "");
    plain.properties = "KEYS\u{1}plain\u{2}".into();
    let _ = store.put(&[plain]).unwrap();
    store.shutdown().unwrap();
}

fn ext(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn call(
    c: &RemotingClient,
    addr: &str,
    code: i32,
    pairs: &[(&str, &str)],
) -> RemotingCommand {
    c.invoke(
        addr,
        RemotingCommand::request(code, Some(ext(pairs))),
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

fn offset_of(r: &RemotingCommand) -> Option<i64> {
    r.ext_fields.as_ref()?.get("offset")?.parse().ok()
}

/// Pulls queue 0 of `topic` from offset 0 (group `cg`) until `want` records are there.
async fn pull_until(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    want: usize,
) -> (RemotingCommand, Vec<MessageRecord>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let p = pull(c, addr, topic, 0, 0, 0, "*").await;
        let recs = if p.code == 0 {
            records(&p.body)
        } else {
            Vec::new()
        };
        if recs.len() >= want || Instant::now() > deadline {
            assert_eq!(p.code, 0, "{:?}", p.remark);
            return (p, recs);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const LMQ_BROKER: &[(&str, &str)] = &[
    ("enableLmq", "true"),
    ("enableMultiDispatch", "true"),
    ("brokerClusterName", "LmqCompat"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_properties_match_java_byte_for_byte() {
    let golden = read_hex(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol/lmq/stored_properties_java533.hex"),
    );
    let golden = String::from_utf8(golden).unwrap();
    // The client's part: the golden string without what the broker adds.
    let client: String = golden
        .split('\u{2}')
        .filter(|s| !s.is_empty())
        .filter(|s| {
            let k = s.split('\u{1}').next().unwrap();
            !matches!(
                k,
                "MSG_REGION" | "TRACE_ON" | "CLUSTER" | "INNER_MULTI_QUEUE_OFFSET"
            )
        })
        .map(|s| format!("{s}\u{2}"))
        .collect();
    assert!(client.contains("INNER_MULTI_DISPATCH\u{1}%LMQ%lmqa,%LMQ%lmqb"));
    let b = TestBroker::start(LMQ_BROKER).await;
    let c = RemotingClient::new();
    let r = send(&c, &b.addr, "LmqParent", 0, "lmq body LK0", &client).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let (_, recs) = pull_until(&c, &b.addr, "%LMQ%lmqa", 1).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].properties, golden,
        "stored properties differ from Java's"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_pull_offsets_and_synthetic_metadata() {
    let dir = TempDir::new();
    let b = TestBroker::start_with_store(Some(dir.path().join("store")), LMQ_BROKER).await;
    let c = RemotingClient::new();
    for i in 0..5 {
        let props = format!("KEYS\u{1}w{i}\u{2}INNER_MULTI_DISPATCH\u{1}{LMQS}\u{2}");
        let r = send(&c, &b.addr, "WireParent", 0, "x", &props).await;
        assert_eq!(r.code, 0, "{:?}", r.remark);
    }
    // Pull %LMQ%b queue 0 directly: five records of the parent topic, LMQ offsets 0..4.
    let (p, recs) = pull_until(&c, &b.addr, "%LMQ%b", 5).await;
    assert_eq!(recs.len(), 5);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.topic, "WireParent");
        assert_eq!(
            property(&r.properties, "KEYS"),
            Some(format!("w{i}").as_str())
        );
        assert_eq!(
            r.property("INNER_MULTI_QUEUE_OFFSET"),
            Some(format!("{i},{i}").as_str())
        );
    }
    let ext_of = |r: &RemotingCommand, k: &str| {
        r.ext_fields
            .as_ref()
            .and_then(|e| e.get(k).map(str::to_owned))
    };
    assert_eq!(ext_of(&p, "nextBeginOffset").as_deref(), Some("5"));
    // Queue 1 of an LMQ does not exist (one read queue).
    let p1 = pull(&c, &b.addr, "%LMQ%b", 1, 0, 0, "*").await;
    assert_ne!(p1.code, 0);
    let tq = [("topic", "%LMQ%a"), ("queueId", "0")];
    assert_eq!(
        offset_of(&call(&c, &b.addr, 30, &tq).await),
        Some(5),
        "GET_MAX_OFFSET"
    );
    assert_eq!(
        offset_of(&call(&c, &b.addr, 31, &tq).await),
        Some(0),
        "GET_MIN_OFFSET"
    );
    // Offsets of an LMQ group (lmqOffsetTable) and of an ordinary group on an LMQ topic (`cg`,
    // created by the pulls above).
    for group in ["%LMQ%grp", "cg"] {
        let u = call(
            &c,
            &b.addr,
            15,
            &[
                ("consumerGroup", group),
                ("topic", "%LMQ%a"),
                ("queueId", "0"),
                ("commitOffset", "4"),
            ],
        )
        .await;
        assert_eq!(u.code, 0, "UPDATE_CONSUMER_OFFSET {group}: {:?}", u.remark);
        let q = call(
            &c,
            &b.addr,
            14,
            &[
                ("consumerGroup", group),
                ("topic", "%LMQ%a"),
                ("queueId", "0"),
            ],
        )
        .await;
        assert_eq!(offset_of(&q), Some(4), "QUERY_CONSUMER_OFFSET {group}");
    }
    let store = b.store_dir.clone();
    b.stop().await;
    let cfg = store.join("config");
    assert!(!cfg.join("consumerOffset.json").exists());
    let offsets = std::fs::read_to_string(cfg.join("lmqConsumerOffset.json")).unwrap();
    assert!(
        offsets.contains("\"lmqOffsetTable\":{\n\t\t\"%LMQ%a@%LMQ%grp\":4\n\t}"),
        "{offsets}"
    );
    assert!(offsets.contains("\"%LMQ%a@cg\":{0:4"), "{offsets}");
    let topics = std::fs::read_to_string(cfg.join("topics.json")).unwrap();
    assert!(!topics.contains("%LMQ%"), "LMQ topics are never stored");
    let groups = std::fs::read_to_string(cfg.join("subscriptionGroup.json")).unwrap();
    assert!(!groups.contains("%LMQ%grp"), "LMQ groups are never stored");
    // Restarted: the LMQ group's offset is read back from lmqConsumerOffset.json.
    let b = TestBroker::start_with_store(Some(store), LMQ_BROKER).await;
    let q = call(
        &c,
        &b.addr,
        14,
        &[
            ("consumerGroup", "%LMQ%grp"),
            ("topic", "%LMQ%a"),
            ("queueId", "0"),
        ],
    )
    .await;
    assert_eq!(offset_of(&q), Some(4));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_lmq_pull_wakes_on_arrival() {
    let b = TestBroker::start(LMQ_BROKER).await;
    let c = RemotingClient::new();
    let addr = b.addr.clone();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let c = RemotingClient::new();
        let props = format!("KEYS\u{1}late\u{2}INNER_MULTI_DISPATCH\u{1}{LMQS}\u{2}");
        send(&c, &addr, "PollParent", 0, "x", &props).await
    });
    let t = Instant::now();
    let p = pull(&c, &b.addr, "%LMQ%a", 0, 0, 15_000, "*").await;
    let waited = t.elapsed();
    assert_eq!(sender.await.unwrap().code, 0);
    assert_eq!(p.code, 0, "{:?}", p.remark);
    assert_eq!(records(&p.body)[0].property("KEYS"), Some("late"));
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_answers_java_code_and_remark() {
    let mut conf = LMQ_BROKER.to_vec();
    conf.push(("maxLmqConsumeQueueNum", "1"));
    let b = TestBroker::start(&conf).await;
    let c = RemotingClient::new();
    let props = format!("INNER_MULTI_DISPATCH\u{1}{LMQS}\u{2}");
    assert_eq!(send(&c, &b.addr, "LimParent", 0, "x", &props).await.code, 0);
    // The dispatcher creates both queues; then the next LMQ message is refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    let r = loop {
        let r = send(&c, &b.addr, "LimParent", 0, "x", &props).await;
        if r.code != 0 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.code, 1, "SYSTEM_ERROR");
    assert_eq!(
        r.remark.as_deref(),
        Some(
            "[LMQ_CONSUME_QUEUE_NUM_EXCEEDED]broker config enableLmq and enableMultiDispatch, lmq consumeQueue num exceed maxLmqConsumeQueueNum config num, default limit 2w."
        )
    );
    b.stop().await;
}
