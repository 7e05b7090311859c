//! Golden HA streams captured between a Java 5.3.3 master and a Java 5.3.3 slave
//! (`protocol/ha/`, `protocol/tools/ha_capture.sh`): our codec decodes and re-encodes them byte for
//! byte, and our slave's store takes the master's bytes verbatim and serves the messages in them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use rocketmq_rs::ha::protocol::{
    HEADER_SIZE, REPORT_SIZE, TransferHeader, encode_report, last_report,
};
use rocketmq_rs::store::record::MessageRecord;
use rocketmq_rs::store::{MessageStore, StoreConfig};

fn stream(name: &str) -> Vec<u8> {
    common::read_hex(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("protocol")
            .join("ha")
            .join(name),
    )
}

/// (header, body) chunks of a master → slave stream.
fn chunks(down: &[u8]) -> Vec<(TransferHeader, Bytes)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < down.len() {
        let h = TransferHeader::decode(&down[pos..])
            .unwrap()
            .expect("whole header");
        let body = Bytes::copy_from_slice(&down[pos + HEADER_SIZE..pos + HEADER_SIZE + h.size]);
        pos += HEADER_SIZE + h.size;
        out.push((h, body));
    }
    assert_eq!(pos, down.len(), "the stream ends on a chunk boundary");
    out
}

#[test]
fn java_slave_reports_round_trip() {
    let up = stream("java533_up.hex");
    assert!(!up.is_empty() && up.len().is_multiple_of(REPORT_SIZE));
    let reports: Vec<u64> = up
        .chunks(REPORT_SIZE)
        .map(|w| last_report(w).unwrap().0.unwrap())
        .collect();
    // An empty slave reports 0 first, then what it holds after the data chunk.
    assert_eq!(reports[0], 0);
    let re: Vec<u8> = reports.iter().flat_map(|r| encode_report(*r)).collect();
    assert_eq!(re, up);
    assert_eq!(
        last_report(&up).unwrap(),
        (reports.last().copied(), up.len())
    );
}

#[test]
fn java_master_stream_round_trips_and_is_contiguous() {
    let down = stream("java533_down.hex");
    let chunks = chunks(&down);
    let mut re = Vec::new();
    let mut next = chunks[0].0.offset;
    let mut heartbeats = 0;
    for (h, body) in &chunks {
        assert_eq!(h.offset, next, "chunks follow each other");
        assert!(h.size <= 32 * 1024, "haTransferBatchSize");
        heartbeats += usize::from(h.size == 0);
        next += h.size as u64;
        re.extend_from_slice(&h.encode());
        re.extend_from_slice(body);
    }
    assert_eq!(re, down, "re-encoded byte for byte");
    assert!(heartbeats >= 1, "the idle period carries heartbeats");
    // The data is three whole CommitLog records with the producer's keys.
    let data: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.to_vec()).collect();
    let data = Bytes::from(data);
    let mut pos = 0;
    let mut keys = Vec::new();
    while pos < data.len() {
        let (rec, n) = MessageRecord::decode(&data.slice(pos..), true).unwrap();
        assert_eq!(rec.physical_offset as usize, pos);
        keys.push(rec.property("KEYS").unwrap().to_owned());
        pos += n;
    }
    assert_eq!(keys, ["k0", "k1", "k2"]);
}

#[test]
fn our_slave_store_takes_the_java_masters_bytes() {
    let down = stream("java533_down.hex");
    let dir = std::env::temp_dir().join(format!("rmqrs-ha-golden-{}", common::rand_suffix()));
    let mut cfg = StoreConfig::new(dir.to_str().unwrap());
    cfg.commit_log_file_size = 1 << 20;
    let store = MessageStore::open(cfg).unwrap();
    store.set_replica(true);
    let mut data = Vec::new();
    for (h, body) in chunks(&down) {
        if !body.is_empty() {
            assert_eq!(
                store.append_replicated(h.offset, &body).unwrap(),
                h.offset + body.len() as u64
            );
            data.extend_from_slice(&body);
        }
    }
    assert!(store.wait_dispatched(Duration::from_secs(5)));
    let found: usize = (0..8)
        .map(|q| {
            store
                .get_message("HaGoldenTopic", q, 0, 32, &|_| true)
                .messages
                .len()
        })
        .sum();
    assert_eq!(found, 3);
    // What our master would ship from this store is the Java master's first chunk, byte for byte.
    let ours = store.commit_log_data(0, 32 * 1024).unwrap();
    let header = TransferHeader {
        offset: 0,
        size: ours.len(),
    };
    let mut first = header.encode().to_vec();
    first.extend_from_slice(&ours);
    assert_eq!(first, down[..first.len()]);
    assert_eq!(ours.as_ref(), &data[..]);
    store.shutdown().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
