//! Durability proven by killing things.
//!
//! Goal: every message the store acknowledged survives a SIGKILL of the process, under
//! SYNC_FLUSH (acknowledged after fsync) and ASYNC_FLUSH (acknowledged after the page-cache
//! write, which a process kill does not lose); no record is half visible after recovery; torn
//! tails and truncated files are cut cleanly. Method: run `rmqstore append` as a real child
//! process, read its acknowledgements, SIGKILL it at a random moment, then reopen the store
//! in-process (crash recovery) and look every acknowledged message up through its ConsumeQueue.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rocketmq_rs::store::record::MessageRecord;
use rocketmq_rs::store::{FlushDiskType, MessageStore, StoreConfig};

const FILE_SIZE: usize = 1024 * 1024;

fn config(root: &Path, sync: bool) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.commit_log_file_size = FILE_SIZE;
    // As `rmqstore append` does: a disk above 85 % used must not delete the files under test.
    c.clean_file_forcibly_enable = false;
    c.flush_disk_type = if sync {
        FlushDiskType::SyncFlush
    } else {
        FlushDiskType::AsyncFlush
    };
    c
}

/// Runs `rmqstore append` and kills it after `run_for`; returns acknowledged (index, queue offset).
fn append_then_kill(root: &Path, topic: &str, sync: bool, run_for: Duration) -> Vec<(u64, i64)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rmqstore"));
    cmd.arg("append")
        .arg(root)
        .args(["--count", "100000000", "--size", "300", "--topic", topic]);
    cmd.args(["--commit-log-size", &FILE_SIZE.to_string()]);
    if sync {
        cmd.arg("--sync");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        // Only complete lines count: the child may die in the middle of writing one.
        while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line.ends_with('\n') {
                let parts: Vec<&str> = line.trim_end().split(' ').collect();
                if parts.len() == 4 && parts[0] == "ACK" {
                    acks.push((parts[1].parse().unwrap(), parts[3].parse().unwrap()));
                }
            }
            line.clear();
        }
        acks
    });
    std::thread::sleep(run_for);
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    reader.join().unwrap()
}

fn check_acked(store: &MessageStore, topic: &str, acks: &[(u64, i64)]) {
    for (i, queue_offset) in acks {
        let qid = i32::try_from(i % 4).unwrap();
        let r = store.get_message(topic, qid, *queue_offset, 1, &|_| true);
        assert_eq!(
            r.messages.len(),
            1,
            "acknowledged message {i} of {topic} (queue {qid} offset {queue_offset}) is missing: {:?}",
            r.status
        );
        let (rec, _) = MessageRecord::decode(&r.messages[0], true).unwrap();
        assert_eq!(rec.property("KEYS"), Some(format!("k{i}").as_str()));
    }
}

/// Every ConsumeQueue unit points at a valid, complete record (nothing half visible).
fn check_no_half_records(store: &MessageStore) {
    for q in store.all_queues() {
        for off in q.min_offset()..q.max_offset() {
            let unit = q.get(off).unwrap();
            let bytes = store.read_record(
                u64::try_from(unit.commit_log_offset).unwrap(),
                usize::try_from(unit.size).unwrap(),
            );
            let bytes = bytes.unwrap_or_else(|| {
                panic!("{}/{} unit {off} points past the log", q.topic, q.queue_id)
            });
            let (rec, _) = MessageRecord::decode(&bytes, true).unwrap();
            assert_eq!(rec.queue_offset, i64::try_from(off).unwrap());
        }
    }
}

fn cycles(sync: bool, n: usize) {
    let root = std::env::temp_dir().join(format!(
        "crash-{}-{}",
        if sync { "sync" } else { "async" },
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    let started = Instant::now();
    let mut total = 0usize;
    for cycle in 0..n {
        let topic = format!("Crash{cycle}");
        let run_for = Duration::from_millis(60 + (cycle as u64 * 37) % 200);
        let acks = append_then_kill(&root, &topic, sync, run_for);
        total += acks.len();
        let store = MessageStore::open(config(&root, sync)).unwrap();
        check_acked(&store, &topic, &acks);
        if cycle % 10 == 9 {
            check_no_half_records(&store);
        }
        store.shutdown().unwrap();
    }
    let store = MessageStore::open(config(&root, sync)).unwrap();
    check_no_half_records(&store);
    store.shutdown().unwrap();
    eprintln!(
        "{n} kill -9 cycles ({}) verified {total} acknowledged messages in {:?}",
        if sync { "SYNC_FLUSH" } else { "ASYNC_FLUSH" },
        started.elapsed()
    );
    assert!(
        total > n,
        "the child acknowledged almost nothing; the test proves little"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn sync_flush_survives_50_kill_cycles() {
    cycles(true, 50);
}

#[test]
fn async_flush_survives_kill_cycles() {
    cycles(false, 20);
}

#[test]
fn torn_tail_and_truncated_file_are_cut_cleanly() {
    let root = std::env::temp_dir().join(format!("torn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let acks = append_then_kill(&root, "Torn", false, Duration::from_millis(300));
    assert!(!acks.is_empty());
    // Find the end of valid data in the last file and write a torn record after it.
    let store = MessageStore::open(config(&root, false)).unwrap();
    let end = store.max_phy_offset();
    store.halt();
    drop(store);
    let files = rocketmq_rs::store::tool::list_files(&root.join("commitlog")).unwrap();
    let last = files.last().unwrap();
    let pos = usize::try_from(end - last.start).unwrap();
    let mut data = std::fs::read(&last.path).unwrap();
    let mut torn = Vec::new();
    torn.extend_from_slice(&500i32.to_be_bytes());
    torn.extend_from_slice(&rocketmq_rs::store::record::MAGIC_V1.to_be_bytes());
    torn.extend_from_slice(&[0xAB; 40]);
    if pos + torn.len() < data.len() {
        data[pos..pos + torn.len()].copy_from_slice(&torn);
        std::fs::write(&last.path, &data).unwrap();
    }
    let store = MessageStore::open(config(&root, false)).unwrap();
    assert_eq!(
        store.max_phy_offset(),
        end,
        "recovery stops before the torn record"
    );
    check_acked(&store, "Torn", &acks);
    store.halt();
    drop(store);
    let data = std::fs::read(&last.path).unwrap();
    assert!(
        data[pos..].iter().all(|b| *b == 0),
        "cut bytes are zeroed on disk (#10666)"
    );
    // Truncate the last file mid-record: recovery keeps everything before the cut.
    let cut = pos / 2;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&last.path)
        .unwrap();
    f.set_len(u64::try_from(cut).unwrap()).unwrap();
    drop(f);
    let store = MessageStore::open(config(&root, false)).unwrap();
    assert!(store.max_phy_offset() <= last.start + u64::try_from(cut).unwrap());
    check_no_half_records(&store);
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

/// Retention: expired CommitLog files go at the `deleteWhen` hour, the ConsumeQueue follows,
/// reads below the new minimum answer OFFSET_TOO_SMALL, and writes continue.
#[test]
fn retention_deletes_expired_files_and_keeps_serving() {
    use std::time::{Duration as D, SystemTime};
    let root = std::env::temp_dir().join(format!("retention-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut cfg = config(&root, false);
    cfg.file_reserved_time_hours = 1;
    cfg.delete_when = "04".into();
    let store = MessageStore::open(cfg).unwrap();
    let host = "127.0.0.1:10911".parse().unwrap();
    let msg = |i: u64| rocketmq_rs::store::PutMessage {
        topic: "Ret".into(),
        queue_id: 0,
        flag: 0,
        body: vec![b'r'; 4000].into(),
        properties: format!("KEYS\u{1}k{i}\u{2}"),
        sys_flag: 0,
        born_timestamp: 0,
        born_host: host,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    for i in 0..1200 {
        store.put(std::slice::from_ref(&msg(i))).unwrap();
    }
    assert!(store.wait_dispatched(D::from_secs(10)));
    let files = rocketmq_rs::store::tool::list_files(&root.join("commitlog")).unwrap();
    assert!(files.len() >= 4, "need several files, got {}", files.len());
    let old = SystemTime::now() - D::from_secs(7200);
    for f in &files {
        std::fs::File::options()
            .write(true)
            .open(&f.path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    // 04:01 UTC tomorrow: inside `deleteWhen`, and every file is past its reserved time.
    let today = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let at_four = SystemTime::UNIX_EPOCH + D::from_secs((today + 1) * 86_400 + 4 * 3600 + 60);
    let deleted = rocketmq_rs::store::clean::run_once(&store, at_four).unwrap();
    let remaining = rocketmq_rs::store::tool::list_files(&root.join("commitlog")).unwrap();
    assert_eq!(
        remaining.len(),
        1,
        "all but the newest file are deleted ({deleted} deleted)"
    );
    let r = store.get_message("Ret", 0, 0, 1, &|_| true);
    assert_eq!(
        r.status,
        rocketmq_rs::store::GetMessageStatus::OffsetTooSmall
    );
    assert!(r.min_offset > 0);
    let last = store.get_message("Ret", 0, 1199, 1, &|_| true);
    assert_eq!(last.messages.len(), 1, "the newest data is still readable");
    store.put(std::slice::from_ref(&msg(9999))).unwrap();
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}
