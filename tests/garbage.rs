//! Bad input against a live name server.
//!
//! Goal: every malformed frame from the bad-input table (reliability-and-limits §B.6) gets an
//! error response or a closed connection, never a panic or a hang, and the server keeps serving
//! well-formed clients on other connections. Method: open a raw TCP connection per garbage
//! payload, send it, expect EOF (or an error frame) within a bound, then check that a normal
//! route query still works.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::Duration;

use common::{TestNamesrv, decode, encode, read_frame};
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn frame_with(type_byte: u8, header: &[u8], declared_header_len: Option<u32>) -> Vec<u8> {
    let header_len = declared_header_len.unwrap_or(header.len() as u32);
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
    out.extend_from_slice(&((u32::from(type_byte) << 24) | header_len).to_be_bytes());
    out.extend_from_slice(header);
    out
}

fn garbage_cases() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "length over 16 MiB",
            (16 * 1024 * 1024 + 1u32).to_be_bytes().to_vec(),
        ),
        ("length 0xFFFFFFFF", vec![0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]),
        (
            "HTTP request",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "TLS client hello",
            vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc],
        ),
        (
            "header length past frame end",
            frame_with(0, b"{}", Some(1000)),
        ),
        (
            "unknown serialize type",
            frame_with(7, br#"{"code":105}"#, None),
        ),
        ("frame shorter than header word", vec![0, 0, 0, 2, 0, 0]),
        ("invalid JSON", frame_with(0, b"{\"code\":105,", None)),
        ("JSON not an object", frame_with(0, b"[1,2,3]", None)),
        (
            "invalid UTF-8 in JSON",
            frame_with(0, b"{\"code\":105,\"remark\":\"\xff\xfe\"}", None),
        ),
        (
            "binary header with huge remark length",
            frame_with(
                1,
                &[
                    0, 105, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff,
                ],
                None,
            ),
        ),
        ("binary header with negative ext length", {
            let mut h = vec![0, 105, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
            h.extend_from_slice(&(-5i32).to_be_bytes());
            frame_with(1, &h, None)
        }),
        ("invalid UTF-8 in binary ext key", {
            let mut h = vec![0, 105, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
            h.extend_from_slice(&9i32.to_be_bytes());
            h.extend_from_slice(&[0, 1, 0xff, 0, 0, 0, 2, b'o', b'k']);
            frame_with(1, &h, None)
        }),
    ]
}

async fn expect_closed_or_error(stream: &mut TcpStream, what: &str) {
    let outcome = tokio::time::timeout(Duration::from_secs(5), read_frame(stream)).await;
    match outcome {
        Err(_) => panic!("{what}: server neither answered nor closed within 5 s"),
        Ok(None) => {}
        Ok(Some(frame)) => {
            let cmd = decode(&frame);
            assert!(
                cmd.is_response() && cmd.code != 0,
                "{what}: unexpected success {cmd:?}"
            );
        }
    }
}

async fn route_query_works(addr: &str) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = RemotingCommand::request(
        105,
        Some(
            [("topic", "NoSuchTopic")]
                .into_iter()
                .collect::<ExtFields>(),
        ),
    );
    req.opaque = 77;
    s.write_all(&encode(&req)).await.unwrap();
    let resp = decode(&read_frame(&mut s).await.unwrap());
    assert_eq!(resp.opaque, 77);
    assert_eq!(resp.code, ResponseCode::TOPIC_NOT_EXIST.code());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_never_takes_the_server_down() {
    let ns = TestNamesrv::start(&[]).await;
    let mut healthy = TcpStream::connect(&ns.addr).await.unwrap();
    for (what, bytes) in garbage_cases() {
        let mut s = TcpStream::connect(&ns.addr).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        expect_closed_or_error(&mut s, what).await;
        route_query_works(&ns.addr).await;
    }
    // A connection opened before the garbage still works.
    let mut req = RemotingCommand::request(106, None);
    req.opaque = 5;
    healthy.write_all(&encode(&req)).await.unwrap();
    assert_eq!(decode(&read_frame(&mut healthy).await.unwrap()).code, 0);
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frames_then_close_do_not_leak_or_hang() {
    let ns = TestNamesrv::start(&[]).await;
    for cut in [1usize, 3, 4, 7, 20] {
        let mut req = RemotingCommand::request(
            105,
            Some([("topic", "T")].into_iter().collect::<ExtFields>()),
        );
        req.opaque = 1;
        let bytes = encode(&req);
        let mut s = TcpStream::connect(&ns.addr).await.unwrap();
        s.write_all(&bytes[..cut]).await.unwrap();
        s.shutdown().await.unwrap();
        expect_closed_or_error(&mut s, "truncated frame").await;
    }
    route_query_works(&ns.addr).await;
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_code_is_answered_and_connection_stays_open() {
    let ns = TestNamesrv::start(&[]).await;
    let mut s = TcpStream::connect(&ns.addr).await.unwrap();
    let mut req = RemotingCommand::request(9999, None);
    req.opaque = 11;
    s.write_all(&encode(&req)).await.unwrap();
    let resp = decode(&read_frame(&mut s).await.unwrap());
    assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED.code());
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    assert_eq!(resp.opaque, 11);
    // Oneway request: never answered; the next request's answer is the next frame.
    let mut oneway = RemotingCommand::request(9999, None);
    oneway.flag = 2;
    oneway.opaque = 12;
    s.write_all(&encode(&oneway)).await.unwrap();
    let mut next = RemotingCommand::request(106, None);
    next.opaque = 13;
    s.write_all(&encode(&next)).await.unwrap();
    let resp = decode(&read_frame(&mut s).await.unwrap());
    assert_eq!(resp.opaque, 13, "the oneway request must not be answered");
    ns.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_interleaved_connections_keep_their_own_frames() {
    let ns = TestNamesrv::start(&[]).await;
    let mut tasks = Vec::new();
    for c in 0..32 {
        let addr = ns.addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            for i in 0..50 {
                let topic = format!("T{c}x{i}");
                let mut req = RemotingCommand::request(
                    105,
                    Some(
                        [("topic", topic.as_str())]
                            .into_iter()
                            .collect::<ExtFields>(),
                    ),
                );
                req.opaque = c * 1000 + i;
                let bytes = encode(&req);
                // Split each frame in two writes so reads interleave across connections.
                s.write_all(&bytes[..bytes.len() / 2]).await.unwrap();
                tokio::task::yield_now().await;
                s.write_all(&bytes[bytes.len() / 2..]).await.unwrap();
                let resp = decode(&read_frame(&mut s).await.unwrap());
                assert_eq!(resp.opaque, c * 1000 + i);
                assert!(resp.remark.unwrap().contains(&topic));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    ns.stop().await;
}
