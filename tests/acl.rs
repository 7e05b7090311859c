//! ACL 1.0: signatures as the Java client's `AclClientRPCHook` makes them, and the broker's
//! checks and admin requests over the wire.
//!
//! The golden frames `protocol/fixtures/acl_*.hex` were signed and encoded by the official Java
//! clients 5.3.3 and 4.9.8 (compat-tests/acl/golden/make.sh); their comment line carries the
//! signature Java computed. The official-client proof is compat-tests/acl/run.sh.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{T, TestBroker, decode, fixtures_dir, rand_suffix, read_hex};
use rocketmq_rs::broker::acl::PlainAcl;
use rocketmq_rs::broker::acl::resource::{signature, signed_content};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};

const YML: &str = "globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - acl-ok=PUB|SUB
      - acl-deny=DENY
  - accessKey: rocketmq2
    secretKey: 87654321
    whiteRemoteAddress: 192.168.1.*
    admin: true
";

fn home() -> PathBuf {
    let d = std::env::temp_dir().join(format!("rmqrs-acl-{}", rand_suffix()));
    std::fs::create_dir_all(d.join("conf")).unwrap();
    std::fs::write(d.join("conf").join("plain_acl.yml"), YML).unwrap();
    d
}

fn local() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

/// The signature Java wrote into the fixture's comment.
fn java_signature(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# Signature: "))
        .unwrap()
        .trim()
        .to_owned()
}

fn java_frames(stem: &str) -> Vec<(PathBuf, RemotingCommand)> {
    ["client533", "client498"]
        .iter()
        .map(|c| {
            let p = fixtures_dir().join(format!("{stem}_{c}.hex"));
            let cmd = decode(&read_hex(&p));
            (p, cmd)
        })
        .collect()
}

#[test]
fn signatures_match_java() {
    for stem in ["acl_send_v2", "acl_heartbeat", "acl_pull_rocketmq"] {
        for (path, cmd) in java_frames(stem) {
            let ext = cmd.ext_fields.as_ref().unwrap();
            let ours = signature(&signed_content(ext, &cmd.body, cmd.version), "12345678");
            assert_eq!(ours, java_signature(&path), "{}", path.display());
            assert_eq!(ext.get("Signature"), Some(ours.as_str()));
        }
    }
}

#[test]
fn java_signed_requests_are_judged_as_java_does() {
    let h = home();
    let acl = PlainAcl::open(&h).unwrap();
    for (p, send) in java_frames("acl_send_v2") {
        acl.check(&send, local())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        // The same request from a whitelisted address needs no signature at all.
        let mut bare = send.clone();
        bare.ext_fields.as_mut().unwrap().remove("Signature");
        assert!(acl.check(&bare, local()).is_err());
        assert!(acl.check(&bare, IpAddr::from([10, 10, 103, 7])).is_ok());
        // One changed body byte breaks the signature.
        let mut bad = send.clone();
        let mut body = bad.body.to_vec();
        body[0] ^= 1;
        bad.body = Bytes::from(body);
        let e = acl.check(&bad, local()).unwrap_err();
        assert_eq!(
            e.remark(),
            "org.apache.rocketmq.acl.common.AclException: Check signature failed for accessKey=RocketMQ, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:684)"
        );
    }
    for (p, pull) in java_frames("acl_pull_rocketmq") {
        acl.check(&pull, local())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    for (_, hb) in java_frames("acl_heartbeat") {
        let e = acl.check(&hb, local()).unwrap_err();
        assert_eq!(e.message, "No default permission for topic:acl-deny");
    }
    std::fs::remove_dir_all(&h).unwrap();
}

/// Signs `cmd` as `AclClientRPCHook` does.
fn sign(mut cmd: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
    let ext = cmd.ext_fields.get_or_insert_with(ExtFields::new);
    ext.insert("AccessKey", ak);
    let sig = signature(&signed_content(ext, &cmd.body, cmd.version), sk);
    ext.insert("Signature", sig);
    cmd
}

fn send_req(topic: &str) -> RemotingCommand {
    let ext: ExtFields = [
        ("a", "pg"),
        ("b", topic),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "0"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", ""),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
    ]
    .into_iter()
    .collect();
    RemotingCommand::request(310, Some(ext)).with_body(Bytes::from_static(b"acl body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_checks_and_admin_requests() {
    let h = home();
    let home_s = h.display().to_string();
    let b = TestBroker::start(&[("aclEnable", "true"), ("rocketmqHome", &home_s)]).await;
    let c = RemotingClient::new();
    let call = |req: RemotingCommand| {
        let c = &c;
        let addr = b.addr.clone();
        async move { c.invoke(&addr, req, T).await.unwrap() }
    };
    // No signature: Java 4.9.8's SYSTEM_ERROR with the exception as remark.
    let r = call(send_req("acl-ok")).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR.code());
    assert_eq!(
        r.remark.as_deref(),
        Some(
            "org.apache.rocketmq.acl.common.AclException: No accessKey is configured, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:664)"
        )
    );
    let r = call(sign(send_req("acl-ok"), "RocketMQ", "12345678")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = call(sign(send_req("acl-deny"), "RocketMQ", "12345678")).await;
    assert!(
        r.remark
            .as_deref()
            .unwrap()
            .contains("No default permission for topic:acl-deny"),
        "{:?}",
        r.remark
    );
    let r = call(sign(send_req("acl-ok"), "nobody12", "12345678")).await;
    assert!(
        r.remark
            .as_deref()
            .unwrap()
            .contains("No acl config for nobody12")
    );
    // Admin-only code from a non-admin account.
    let topic_req = |name: &str| {
        let ext: ExtFields = [
            ("topic", name),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "4"),
            ("writeQueueNums", "4"),
            ("perm", "6"),
            ("topicFilterType", "SINGLE_TAG"),
            ("topicSysFlag", "0"),
            ("order", "false"),
        ]
        .into_iter()
        .collect();
        RemotingCommand::request(17, Some(ext))
    };
    let r = call(sign(topic_req("acl-t"), "RocketMQ", "12345678")).await;
    assert!(
        r.remark
            .as_deref()
            .unwrap()
            .contains("Need admin permission for request code=17, but accessKey=RocketMQ is not")
    );
    let r = call(sign(topic_req("acl-t"), "rocketmq2", "87654321")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);

    // UPDATE_AND_CREATE_ACL_CONFIG writes the account into the yml; it can sign at once.
    let ext: ExtFields = [
        ("accessKey", "newuser01"),
        ("secretKey", "newsecret01"),
        ("admin", "false"),
        ("defaultTopicPerm", "DENY"),
        ("topicPerms", "acl-t=PUB"),
    ]
    .into_iter()
    .collect();
    let r = call(sign(
        RemotingCommand::request(50, Some(ext)),
        "rocketmq2",
        "87654321",
    ))
    .await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let yml = std::fs::read_to_string(h.join("conf/plain_acl.yml")).unwrap();
    assert!(
        yml.contains("newuser01") && yml.contains("acl-t=PUB"),
        "{yml}"
    );
    let r = call(sign(send_req("acl-t"), "newuser01", "newsecret01")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    // A too-short secret is refused with 4.9.8's UPDATE_AND_CREATE_ACL_CONFIG_FAILED (209).
    let ext: ExtFields = [("accessKey", "newuser02"), ("secretKey", "short")]
        .into_iter()
        .collect();
    let r = call(sign(
        RemotingCommand::request(50, Some(ext)),
        "rocketmq2",
        "87654321",
    ))
    .await;
    assert_eq!(r.code, 209);
    assert!(r.remark.unwrap().contains("length should longer than 6"));

    // GET_BROKER_CLUSTER_ACL_INFO: the default file's dataVersion went up once.
    let r = call(sign(
        RemotingCommand::request(52, None),
        "rocketmq2",
        "87654321",
    ))
    .await;
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(r.ext("version").unwrap()).unwrap();
    assert_eq!(v["counter"], 1);
    assert!(
        r.ext("allAclFileVersion")
            .unwrap()
            .contains("plain_acl.yml")
    );
    assert_eq!(r.ext("clusterName"), Some("DefaultCluster"));

    // DELETE_ACL_CONFIG removes it; an unknown key fails with 210.
    let del = |ak: &str| {
        let ext: ExtFields = [("accessKey", ak)].into_iter().collect();
        sign(
            RemotingCommand::request(51, Some(ext)),
            "rocketmq2",
            "87654321",
        )
    };
    assert_eq!(call(del("newuser01")).await.code, 0);
    assert_eq!(call(del("newuser01")).await.code, 210);
    let r = call(sign(send_req("acl-t"), "newuser01", "newsecret01")).await;
    assert!(r.remark.unwrap().contains("No acl config for newuser01"));

    // UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: 127.0.0.1 white-listed, so unsigned requests pass.
    let ext: ExtFields = [("globalWhiteAddrs", "10.10.103.*,127.0.0.1")]
        .into_iter()
        .collect();
    let r = call(sign(
        RemotingCommand::request(53, Some(ext)),
        "rocketmq2",
        "87654321",
    ))
    .await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(call(send_req("acl-deny")).await.code, 0);
    let ext: ExtFields = [("globalWhiteAddrs", "10.10.103.*,not-an-address")]
        .into_iter()
        .collect();
    let r = call(RemotingCommand::request(53, Some(ext))).await;
    assert_eq!(r.code, 211);
    let ext: ExtFields = [("globalWhiteAddrs", "10.10.103.*")].into_iter().collect();
    assert_eq!(call(RemotingCommand::request(53, Some(ext))).await.code, 0);
    assert_eq!(call(send_req("acl-ok")).await.code, 1);

    // An edit on disk is picked up by the watcher (Java polls every 5 s).
    std::fs::write(
        h.join("conf/plain_acl.yml"),
        YML.replace("acl-deny=DENY", "acl-deny=PUB"),
    )
    .unwrap();
    let t0 = Instant::now();
    loop {
        let r = call(sign(send_req("acl-deny"), "RocketMQ", "12345678")).await;
        if r.code == 0 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "not reloaded");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    b.stop().await;
    std::fs::remove_dir_all(&h).unwrap();
}

/// `conf/acl/*.yml` are read besides the default file (Java 4.9.8's `defaultAclDir`); a file
/// edit that does not load keeps the rules in force.
#[test]
fn extra_files_and_bad_edits() {
    let h = home();
    std::fs::create_dir_all(h.join("conf/acl/team")).unwrap();
    std::fs::write(
        h.join("conf/acl/team/extra.yml"),
        "accounts:\n  - accessKey: extrauser1\n    secretKey: extrasecret1\n    defaultTopicPerm: PUB\n",
    )
    .unwrap();
    let acl = PlainAcl::open(&h).unwrap();
    let st = acl.state();
    assert_eq!(st.files.len(), 2);
    assert!(st.accounts.contains_key("RocketMQ"));
    assert_eq!(
        acl.file_of("extrauser1").unwrap(),
        h.join("conf/acl/team/extra.yml")
    );
    let signed = sign(send_req("any-topic"), "extrauser1", "extrasecret1");
    acl.check(&signed, local()).unwrap();
    // A broken edit: the previous rules stay.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        h.join("conf/acl/team/extra.yml"),
        "accounts:\n  - accessKey: short\n    secretKey: x\n",
    )
    .unwrap();
    acl.reload_if_changed();
    acl.check(&signed, local()).unwrap();
    assert!(acl.reload().is_err());
    std::fs::remove_dir_all(&h).unwrap();
}
