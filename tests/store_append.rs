//! The CommitLog bytes of an append. Records are encoded before the put lock and only their
//! queue offset, CommitLog offset and store time are patched in under it; this checks that the
//! stored bytes are exactly what encoding the whole record at once gives, for a single send, a
//! batch holding a prepared transaction (queue offset 0, not counted), IPv6 producer and broker
//! addresses (the store time sits 12 bytes later) and a V2 (long-topic) record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rocketmq_rs::checksum::java_crc32;
use rocketmq_rs::store::record::{MAGIC_V1, MAGIC_V2, MessageRecord, TRANSACTION_PREPARED};
use rocketmq_rs::store::{MessageStore, PutMessage, PutResult, StoreConfig};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p =
            std::env::temp_dir().join(format!("store-append-{tag}-{}-{nanos}", std::process::id()));
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

fn open(root: &Path) -> std::sync::Arc<MessageStore> {
    let mut c = StoreConfig::new(root);
    c.commit_log_file_size = 1024 * 1024;
    c.auto_message_version_on_topic_len = true;
    MessageStore::open(c).unwrap()
}

fn msg(topic: &str, body: &'static [u8], sys_flag: i32, born: &str, store: &str) -> PutMessage {
    PutMessage {
        topic: topic.into(),
        queue_id: 2,
        flag: 7,
        body: Bytes::from_static(body),
        properties: "UNIQ_KEY\u{1}ABC\u{2}WAIT\u{1}true\u{2}".into(),
        sys_flag,
        born_timestamp: 1_700_000_000_123,
        born_host: born.parse::<SocketAddr>().unwrap(),
        store_host: store.parse::<SocketAddr>().unwrap(),
        reconsume_times: 3,
        prepared_transaction_offset: 0,
    }
}

/// Reads back every record of `r` and compares it with the whole-record encoding of `msgs`
/// with the offsets and store time the append reported.
fn check(store: &MessageStore, msgs: &[PutMessage], r: &PutResult, magic: &[i32]) {
    let mut offset = u64::try_from(r.wrote_offset).unwrap();
    let mut queue_offset = r.queue_offset;
    for (i, m) in msgs.iter().enumerate() {
        let stored = store.message_at(offset).expect("record readable");
        let counts = m.sys_flag & 0xC != TRANSACTION_PREPARED;
        let expected = MessageRecord {
            magic: magic[i],
            body_crc: java_crc32(&m.body),
            queue_id: m.queue_id,
            flag: m.flag,
            queue_offset: if counts { queue_offset } else { 0 },
            physical_offset: i64::try_from(offset).unwrap(),
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            store_timestamp: r.store_timestamp,
            store_host: m.store_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
            body: m.body.clone(),
            topic: m.topic.clone(),
            properties: m.properties.clone(),
        };
        let mut bytes = Vec::new();
        expected.encode_into(&mut bytes);
        assert_eq!(stored.as_ref(), bytes.as_slice(), "record {i} differs");
        let (decoded, _) = MessageRecord::decode(&stored, true).unwrap();
        assert_eq!(decoded.msg_id(), r.msg_ids[i]);
        offset += u64::try_from(bytes.len()).unwrap();
        if counts {
            queue_offset += 1;
        }
    }
    assert_eq!(
        offset,
        u64::try_from(r.wrote_offset).unwrap() + u64::try_from(r.wrote_bytes).unwrap()
    );
}

#[test]
fn appended_records_equal_their_whole_encoding() {
    let dir = TempDir::new("records");
    let store = open(dir.path());
    let v4 = "10.0.0.1:50000";
    let broker = "127.0.0.1:10911";

    let one = [msg("T", b"hello", 0, v4, broker)];
    let r = store.put(&one).unwrap();
    check(&store, &one, &r, &[MAGIC_V1]);
    let r = store.put(&one).unwrap();
    assert_eq!(r.queue_offset, 1);
    check(&store, &one, &r, &[MAGIC_V1]);

    // A batch with a prepared transaction in the middle: it is not counted.
    let batch = [
        msg("T", b"a", 0, v4, broker),
        msg("T", b"bb", TRANSACTION_PREPARED, v4, broker),
        msg("T", b"ccc", 0, v4, broker),
    ];
    let r = store.put_batch(&batch).unwrap();
    assert_eq!(r.queue_offset, 2);
    check(&store, &batch, &r, &[MAGIC_V1; 3]);

    // IPv6 producer and broker (sys flag bits 0x10 and 0x20).
    let v6 = [msg("T", b"six", 0x30, "[::1]:50001", "[fe80::2]:10911")];
    let r = store.put(&v6).unwrap();
    assert_eq!(r.queue_offset, 4);
    check(&store, &v6, &r, &[MAGIC_V1]);

    // A topic longer than 127 bytes is stored as a V2 record.
    let long = "L".repeat(130);
    let v2 = [msg(&long, b"two", 0, v4, broker)];
    let r = store.put(&v2).unwrap();
    check(&store, &v2, &r, &[MAGIC_V2]);
    store.shutdown().unwrap();
}
