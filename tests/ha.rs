//! Master–slave replication between two of our brokers in one process: SYNC_MASTER acks only
//! what a slave holds, the slave's CommitLog is the master's byte for byte, a bogus HA peer
//! acknowledges nothing, and a slave ahead of a restarted master cuts its tail for good.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{TestBroker, pull, records, send};
use rocketmq_rs::net::RemotingClient;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SUCCESS: i32 = 0;
const SLAVE_NOT_AVAILABLE: i32 = 11;
const FLUSH_SLAVE_TIMEOUT: i32 = 12;
const SYSTEM_BUSY: i32 = 2;
const TOPIC_NOT_EXIST: i32 = 17;

fn ha_port(addr: &str) -> u16 {
    addr.rsplit_once(':').unwrap().1.parse::<u16>().unwrap() + 1
}

const FAST_HA: &[(&str, &str)] = &[
    ("haSendHeartbeatInterval", "300"),
    ("haHousekeepingInterval", "3000"),
    ("slaveTimeout", "1000"),
];

async fn master(store: Option<PathBuf>, role: &str) -> TestBroker {
    let mut extra = vec![("brokerRole", role)];
    extra.extend_from_slice(FAST_HA);
    TestBroker::start_with_store(store, &extra).await
}

async fn slave(namesrv: &str, store: PathBuf) -> TestBroker {
    let mut extra = vec![
        ("brokerRole", "SLAVE"),
        ("brokerId", "1"),
        ("namesrvAddr", namesrv),
    ];
    extra.extend_from_slice(FAST_HA);
    TestBroker::start_with_store(Some(store), &extra).await
}

/// Sends until the master answers SUCCESS (a slave is attached and acking); returns the codes
/// seen before.
async fn until_replicating(c: &RemotingClient, addr: &str, topic: &str) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let r = send(c, addr, topic, 0, "probe", "").await;
        if r.code == SUCCESS {
            return seen;
        }
        seen.push(r.code);
        assert!(Instant::now() < deadline, "no slave attached: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pulls from a slave once it knows the topic (SlaveSynchronize copied the master's topic
/// config); asserts the pull found messages.
async fn pull_synced(
    c: &RemotingClient,
    slave: &str,
    topic: &str,
    queue: i32,
    offset: i64,
) -> rocketmq_rs::remoting::RemotingCommand {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = pull(c, slave, topic, queue, offset, 0, "*").await;
        if p.code != TOPIC_NOT_EXIST || Instant::now() > deadline {
            assert_eq!(p.code, SUCCESS, "{:?}", p.remark);
            return p;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn commit_log_files(store: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(store.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Waits until the slave's CommitLog equals the master's, file by file, byte for byte.
async fn assert_identical(master: &Path, slave: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = commit_log_files(master);
        let s = commit_log_files(slave);
        let names = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.file_name().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let same = names(&m) == names(&s)
            && m.iter()
                .zip(&s)
                .all(|(a, b)| std::fs::read(a).unwrap() == std::fs::read(b).unwrap());
        if same {
            return;
        }
        if Instant::now() >= deadline {
            let first_diff = m.iter().zip(&s).find_map(|(a, b)| {
                let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
                a.iter().zip(&b).position(|(x, y)| x != y)
            });
            panic!(
                "slave CommitLog differs from the master's: {:?} vs {:?}, first difference at {first_diff:?}",
                names(&m),
                names(&s)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_master_acks_only_what_the_slave_holds() {
    common::init_log();
    let m = master(None, "SYNC_MASTER").await;
    let c = RemotingClient::new();
    let topic = format!("HA-{}", common::rand_suffix());
    // No slave: the message is stored, the producer is told SLAVE_NOT_AVAILABLE.
    let r = send(&c, &m.addr, &topic, 0, "alone", "").await;
    assert_eq!(r.code, SLAVE_NOT_AVAILABLE, "{:?}", r.remark);
    let ext = r.ext_fields.as_ref().unwrap();
    assert!(ext.get("msgId").is_some() && ext.get("queueOffset").is_some());

    let slave_store = m.ns.dir.join("slave-store");
    let s = slave(&m.ns.addr, slave_store.clone()).await;
    let before = until_replicating(&c, &m.addr, &topic).await;
    assert!(
        before.iter().all(|c| *c == SLAVE_NOT_AVAILABLE),
        "{before:?}"
    );
    // 4 MiB files: 3,000 × ~1.2 KiB crosses at least one file end (blank included).
    let body = "x".repeat(1200);
    for i in 0..3000 {
        let r = send(&c, &m.addr, &topic, i % 4, &body, "").await;
        assert_eq!(r.code, SUCCESS, "send {i}: {:?}", r.remark);
    }
    assert!(commit_log_files(&m.store_dir).len() >= 2);
    assert_identical(&m.store_dir, &slave_store).await;

    // The slave serves what it replicated and refuses writes.
    let p = pull_synced(&c, &s.addr, &topic, 1, 0).await;
    let recs = records(&p.body);
    assert_eq!(recs.len(), 32);
    assert_eq!(recs[0].queue_offset, 0);
    let w = send(&c, &s.addr, &topic, 0, "to the slave", "").await;
    assert_eq!(w.code, SYSTEM_BUSY, "{:?}", w.remark);

    // The slave gone: sends go back to SLAVE_NOT_AVAILABLE (after the housekeeping timeout at
    // most), never SUCCESS.
    s.stop().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = send(&c, &m.addr, &topic, 0, "after", "").await;
        assert_ne!(r.code, SUCCESS, "acknowledged with no slave");
        if r.code == SLAVE_NOT_AVAILABLE {
            break;
        }
        assert_eq!(r.code, FLUSH_SLAVE_TIMEOUT);
        assert!(Instant::now() < deadline);
    }
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bogus_ha_peer_acknowledges_nothing() {
    common::init_log();
    let m = master(None, "SYNC_MASTER").await;
    let c = RemotingClient::new();
    let topic = format!("HA-{}", common::rand_suffix());
    let mut peer = TcpStream::connect(("127.0.0.1", ha_port(&m.addr)))
        .await
        .unwrap();
    // Claims far more than the master has, and keeps claiming it.
    let claim = (1u64 << 40).to_be_bytes();
    peer.write_all(&claim).await.unwrap();
    let writer = tokio::spawn(async move {
        let mut sink = vec![0u8; 64 * 1024];
        loop {
            if peer.write_all(&claim).await.is_err() {
                return;
            }
            tokio::select! {
                r = peer.read(&mut sink) => if matches!(r, Ok(0) | Err(_)) { return },
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    });
    for i in 0..5 {
        let r = send(&c, &m.addr, &topic, 0, "must not be acked", "").await;
        assert_eq!(r.code, FLUSH_SLAVE_TIMEOUT, "send {i}: {:?}", r.remark);
    }
    writer.abort();
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_ahead_of_its_master_cuts_its_tail_for_good() {
    common::init_log();
    let m = master(None, "ASYNC_MASTER").await;
    let c = RemotingClient::new();
    let topic = format!("HA-{}", common::rand_suffix());
    let ns_dir = m.ns.dir.clone();
    let master_store = ns_dir.join("master-store");
    let slave_store = ns_dir.join("slave-store");
    m.stop().await;

    // Round 1: 200 messages replicated.
    let m = master(Some(master_store.clone()), "ASYNC_MASTER").await;
    let s = slave(&m.ns.addr, slave_store.clone()).await;
    for i in 0..200 {
        assert_eq!(
            send(&c, &m.addr, &topic, 0, &format!("m{i}"), "")
                .await
                .code,
            SUCCESS
        );
    }
    assert_identical(&master_store, &slave_store).await;
    s.stop().await;
    m.stop().await;

    // The master loses its last 50 messages (as after a power cut with async flush).
    let first = commit_log_files(&master_store)[0].clone();
    let mut data = std::fs::read(&first).unwrap();
    let mut offsets = Vec::new();
    let mut pos = 0usize;
    let bytes = bytes::Bytes::from(data.clone());
    while let Ok((_, n)) =
        rocketmq_rs::store::record::MessageRecord::decode(&bytes.slice(pos..), false)
    {
        offsets.push(pos);
        pos += n;
    }
    assert_eq!(offsets.len(), 200);
    let cut = offsets[150];
    data[cut..].fill(0);
    std::fs::write(&first, &data).unwrap();
    let _ = std::fs::remove_dir_all(master_store.join("consumequeue"));
    let _ = std::fs::remove_file(master_store.join("abort"));

    // Round 2: the master comes back shorter, then takes new messages.
    let m = master(Some(master_store.clone()), "ASYNC_MASTER").await;
    let s = slave(&m.ns.addr, slave_store.clone()).await;
    for i in 0..20 {
        assert_eq!(
            send(&c, &m.addr, &topic, 0, &format!("n{i}"), "")
                .await
                .code,
            SUCCESS
        );
    }
    assert_identical(&master_store, &slave_store).await;
    // Queue offsets 150.. now hold the new messages on the slave too.
    let p = pull_synced(&c, &s.addr, &topic, 0, 150).await;
    let recs = records(&p.body);
    assert_eq!(String::from_utf8_lossy(&recs[0].body), "n0");
    s.stop().await;
    m.stop().await;
    // The stores lived in the first name server's (already removed) directory.
    let _ = std::fs::remove_dir_all(&ns_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_ha_connection_is_not_a_slave() {
    common::init_log();
    let m = master(None, "SYNC_MASTER").await;
    let c = RemotingClient::new();
    let topic = format!("HA-{}", common::rand_suffix());
    // Connected, never reports: sends do not wait for it.
    let _silent = TcpStream::connect(("127.0.0.1", ha_port(&m.addr)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let r = send(&c, &m.addr, &topic, 0, "x", "").await;
    assert_eq!(r.code, SLAVE_NOT_AVAILABLE, "{:?}", r.remark);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    m.stop().await;
}

/// A slave links the replicated timer messages into its own wheel as far as its master has
/// (SlaveSynchronize hands it the master's timer checkpoint) and delivers nothing itself; once
/// an operator restarts it as the master, it delivers the pending message on time, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slave_keeps_a_timer_wheel_and_takes_over_its_messages() {
    common::init_log();
    let m = master(None, "ASYNC_MASTER").await;
    let c = RemotingClient::new();
    let slave_store =
        std::env::temp_dir().join(format!("rmqrs-timer-slave-{}", common::rand_suffix()));
    let s = slave(&m.ns.addr, slave_store.clone()).await;
    until_replicating(&c, &m.addr, "HaTimerProbe").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let due = now + 12_000;
    let r = send(
        &c,
        &m.addr,
        "HaTimer",
        0,
        "later",
        &format!("TIMER_DELIVER_MS\u{1}{due}\u{2}"),
    )
    .await;
    assert_eq!(r.code, SUCCESS, "{:?}", r.remark);
    // The slave's checkpoint names the master's timer-queue offset, and its log holds the unit.
    let check = slave_store.join("config").join("timercheck");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bytes = std::fs::read(&check).unwrap_or_default();
        let master_offset = bytes
            .get(24..32)
            .map_or(0, |b| i64::from_be_bytes(b.try_into().unwrap()));
        let log = slave_store.join("timerlog").join("00000000000000000000");
        if master_offset >= 1 && log.exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slave never linked the timer message"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await; // one more checkpoint flush
    // Nothing is delivered by the slave.
    let p = pull(&c, &s.addr, "HaTimer", 0, 0, 0, "*").await;
    assert_ne!(p.code, SUCCESS);
    s.stop().await;
    m.stop().await;

    // The slave's store, restarted as the master.
    let promoted = master(Some(slave_store.clone()), "ASYNC_MASTER").await;
    let deadline = Instant::now() + Duration::from_secs(25);
    let recs = loop {
        let p = pull(&c, &promoted.addr, "HaTimer", 0, 0, 0, "*").await;
        if p.code == SUCCESS {
            break records(&p.body);
        }
        assert!(
            Instant::now() < deadline,
            "the promoted slave never delivered it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].body.as_ref(), b"later");
    assert!(recs[0].store_timestamp >= due);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let again = pull(&c, &promoted.addr, "HaTimer", 0, 1, 0, "*").await;
    assert_ne!(again.code, SUCCESS, "delivered twice");
    promoted.stop().await;
    let _ = std::fs::remove_dir_all(&slave_store);
}
