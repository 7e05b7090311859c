//! Header encode/decode cost for a SEND_MESSAGE_V2 request, in both encodings.
//!
//! The input is the request the official Java client 5.3.3 sent (golden fixture
//! `br_send_v2_req_client533`), so the header has the realistic a..n fields and properties.
//! Run: `cargo bench --bench header_codec`; criterion prints ns per operation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use bytes::Bytes;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use rocketmq_rs::remoting::header::send::SendMessageRequestHeaderV2;
use rocketmq_rs::remoting::{SerializeType, frame};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/protocol/fixtures/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let json_frame = Bytes::from(fixture("br_send_v2_req_client533"));
    let mut cmd = frame::decode(json_frame.slice(4..)).unwrap();
    cmd.body = Bytes::new();
    let mut binary_cmd = cmd.clone();
    binary_cmd.serialize_type = SerializeType::RocketMq;
    let binary_frame = frame::encode_to_bytes(&binary_cmd).unwrap();
    let json_frame = frame::encode_to_bytes(&cmd).unwrap();

    let mut g = c.benchmark_group("send_v2_header");
    g.bench_function("json_decode", |b| {
        b.iter(|| {
            let cmd = frame::decode(black_box(json_frame.slice(4..))).unwrap();
            SendMessageRequestHeaderV2::from_ext_fields(cmd.ext_fields.as_ref()).unwrap()
        });
    });
    g.bench_function("json_encode", |b| {
        b.iter(|| frame::encode_header(black_box(&cmd)))
    });
    g.bench_function("rocketmq_decode", |b| {
        b.iter(|| {
            let cmd = frame::decode(black_box(binary_frame.slice(4..))).unwrap();
            SendMessageRequestHeaderV2::from_ext_fields(cmd.ext_fields.as_ref()).unwrap()
        });
    });
    g.bench_function("rocketmq_encode", |b| {
        b.iter(|| frame::encode_header(black_box(&binary_cmd)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
