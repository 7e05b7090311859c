//! Golden frames captured from the official Java 5.3.3/4.9.8 client, broker and name server
//! (see protocol/fixtures/README.md for provenance).
//!
//! Goal: prove our codec reads every captured frame and writes it back byte for byte, and that
//! our name server answers captured Java requests with the bytes the Java name server sent.
//! Method: decode → encode → compare for every fixture; then replay captured requests against an
//! in-process name server over loopback and compare its responses with the captured ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use common::{TestNamesrv, decode, fixture, fixtures_dir, read_hex, roundtrip_raw};
use rocketmq_rs::remoting::{LanguageCode, SerializeType, frame};
use tokio::net::TcpStream;

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("hex") {
            continue;
        }
        let bytes = read_hex(&path);
        let total = frame::check(&bytes).unwrap().expect("complete frame");
        assert_eq!(total, bytes.len(), "{}: length prefix", path.display());
        let cmd = decode(&bytes);
        let again = frame::encode_to_bytes(&cmd).unwrap();
        assert_eq!(
            again.as_ref(),
            bytes.as_slice(),
            "{}: re-encode differs",
            path.display()
        );
        count += 1;
    }
    assert!(
        count >= 20,
        "expected the captured fixture set, found {count}"
    );
}

#[test]
fn captured_headers_decode_to_expected_fields() {
    let send = decode(&fixture("br_send_v2_req_client533"));
    assert_eq!(send.code, 310);
    assert_eq!(send.language, Some(LanguageCode::Java));
    assert_eq!(send.version, 479);
    let props = send.ext("i").unwrap();
    assert!(
        props.contains("\u{1}") && props.contains("\u{2}"),
        "properties separators decoded"
    );
    let send498 = decode(&fixture("br_send_v2_req_client498"));
    assert_eq!(send498.version, 409);
    let binary = decode(&fixture("br_send_v2_req_rocketmq_client533"));
    assert_eq!(binary.serialize_type, SerializeType::RocketMq);
    assert_eq!(binary.code, 310);
    assert_eq!(
        binary.ext("b"),
        send.ext("b").map(|_| binary.ext("b").unwrap())
    );
    let pull = decode(&fixture("br_pull_resp_found_java533"));
    assert!(pull.is_response());
    assert_eq!(pull.remark.as_deref(), Some("FOUND"));
    assert!(pull.ext("nextBeginOffset").is_some());
    assert!(!pull.body.is_empty());
}

/// Replays the captured broker registration and client route queries against our name server.
#[tokio::test]
async fn namesrv_answers_captured_requests_like_java() {
    let ns = TestNamesrv::start(&[]).await;
    let mut broker = TcpStream::connect(&ns.addr).await.unwrap();
    let reg = roundtrip_raw(&mut broker, &fixture("ns_register_broker_req_java533")).await;
    assert_eq!(
        reg,
        fixture("ns_register_broker_resp_java533"),
        "REGISTER_BROKER response bytes"
    );

    // The topic of the captured route queries was created after that registration; the broker
    // reported it in its next one. Re-register with the topic added, as the Java broker did.
    let route_body: serde_json::Value =
        serde_json::from_slice(&decode(&fixture("ns_route_resp_java533")).body).unwrap();
    let queue = &route_body["queueDatas"][0];
    let topic = decode(&fixture("ns_route_req_client533"))
        .ext("topic")
        .unwrap()
        .to_owned();
    let mut again = decode(&fixture("ns_register_broker_req_java533"));
    let mut body: serde_json::Value = serde_json::from_slice(&again.body).unwrap();
    let wrapper = &mut body["topicConfigSerializeWrapper"];
    wrapper["dataVersion"]["counter"] =
        serde_json::json!(wrapper["dataVersion"]["counter"].as_i64().unwrap() + 1);
    wrapper["topicConfigTable"][topic.as_str()] = serde_json::json!({
        "attributes": {}, "order": false, "perm": queue["perm"], "readQueueNums": queue["readQueueNums"],
        "topicFilterType": "SINGLE_TAG", "topicName": topic, "topicSysFlag": queue["topicSysFlag"],
        "writeQueueNums": queue["writeQueueNums"],
    });
    again.body = serde_json::to_vec(&body).unwrap().into();
    again.ext_fields.as_mut().unwrap().insert("bodyCrc32", "0");
    let reg2 = decode(&roundtrip_raw(&mut broker, &common::encode(&again)).await);
    assert_eq!(reg2.code, 0, "re-registration: {:?}", reg2.remark);

    let mut client = TcpStream::connect(&ns.addr).await.unwrap();
    for (req, resp) in [
        ("ns_route_req_client533", "ns_route_resp_java533"),
        ("ns_route_req_client498", "ns_route_resp_to498_java533"),
        (
            "ns_route_req_notexist_client533",
            "ns_route_resp_topic_not_exist_java533",
        ),
    ] {
        let ours = roundtrip_raw(&mut client, &fixture(req)).await;
        let java = fixture(resp);
        let (ours_cmd, java_cmd) = (decode(&ours), decode(&java));
        assert_eq!(ours_cmd.code, java_cmd.code, "{req}: code");
        assert_eq!(ours_cmd.remark, java_cmd.remark, "{req}: remark");
        assert_eq!(
            String::from_utf8_lossy(&ours_cmd.body),
            String::from_utf8_lossy(&java_cmd.body),
            "{req}: body"
        );
        assert_eq!(ours, java, "{req}: whole frame");
    }
    ns.stop().await;
}
