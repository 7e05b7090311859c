//! Admin calls that change the broker's lasting state, checked against what stays on disk:
//! DELETE_TOPIC_IN_BROKER removes the topic's ConsumeQueues, offsets and POP retry topic
//! (Java's `deleteTopicInBroker`), refuses system topics; UPDATE_BROKER_CONFIG writes accepted
//! keys back to the `-c` file, keeping the operator's comments, and a restart reads them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::Duration;

use common::{T, TestBroker, pull, send};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand};

fn topic_ext(topic: &str) -> Option<ExtFields> {
    Some([("topic", topic), ("queueId", "0")].into_iter().collect())
}

async fn max_offset(c: &RemotingClient, addr: &str, topic: &str) -> String {
    let r = c
        .invoke(addr, RemotingCommand::request(30, topic_ext(topic)), T)
        .await
        .unwrap();
    r.ext("offset").unwrap_or_default().to_owned()
}

async fn consumers_of(c: &RemotingClient, addr: &str, topic: &str) -> String {
    let r = c
        .invoke(addr, RemotingCommand::request(300, topic_ext(topic)), T)
        .await
        .unwrap();
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_topic_removes_queues_offsets_and_pop_retry_topic() {
    let b = TestBroker::start(&[]).await;
    let c = RemotingClient::new();
    for i in 0..3 {
        assert_eq!(
            send(&c, &b.addr, "DelT", 0, &format!("m{i}"), "")
                .await
                .code,
            0
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = pull(&c, &b.addr, "DelT", 0, 0, 0, "*").await;
    let mut upd = topic_ext("DelT").unwrap();
    upd.insert("consumerGroup", "cg");
    upd.insert("commitOffset", "2");
    let r = c
        .invoke(&b.addr, RemotingCommand::request(15, Some(upd)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    // The POP retry topic of group cg on DelT (`%RETRY%cg_DelT`), as a POP consumer creates it.
    let retry = "%RETRY%cg_DelT";
    let mut create = ExtFields::new();
    for (k, v) in [
        ("topic", retry),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", "1"),
        ("writeQueueNums", "1"),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
    ] {
        create.insert(k, v);
    }
    let r = c
        .invoke(&b.addr, RemotingCommand::request(17, Some(create)), T)
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(max_offset(&c, &b.addr, "DelT").await, "3");
    assert!(consumers_of(&c, &b.addr, "DelT").await.contains("\"cg\""));
    let cq_dir = b.store_dir.join("consumequeue").join("DelT");
    assert!(cq_dir.join("0").is_dir());

    let del = RemotingCommand::request(215, topic_ext("DelT"));
    let r = c.invoke(&b.addr, del, T).await.unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!cq_dir.exists(), "the ConsumeQueue directory is removed");
    assert_eq!(max_offset(&c, &b.addr, "DelT").await, "0");
    assert!(!consumers_of(&c, &b.addr, "DelT").await.contains("\"cg\""));
    let route = c
        .invoke(&b.addr, RemotingCommand::request(351, topic_ext(retry)), T)
        .await
        .unwrap();
    assert_ne!(route.code, 0, "the POP retry topic is gone too: {route:?}");

    // The topic comes back (auto-create) and starts again at queue offset 0.
    let again = send(&c, &b.addr, "DelT", 0, "new", "").await;
    assert_eq!(again.code, 0);
    assert_eq!(again.ext("queueOffset"), Some("0"));

    // System topics and this broker's own names are refused with Java's remark.
    for topic in ["TBW102", "rmq_sys_anything", "broker-t", "DefaultCluster"] {
        let r = c
            .invoke(&b.addr, RemotingCommand::request(215, topic_ext(topic)), T)
            .await
            .unwrap();
        assert_eq!(r.code, 29, "{topic}: {r:?}");
        assert_eq!(
            r.remark.as_deref(),
            Some(format!("The topic[{topic}] is conflict with system topic.").as_str())
        );
    }
    c.close_all();
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_broker_config_is_written_back_to_the_config_file() {
    let dir = std::env::temp_dir().join(format!("rmq-conf-{}", common::rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        "# operator's note\nflushIntervalCommitLog=500\nbrokerClusterName=DefaultCluster\n",
    )
    .unwrap();
    let path = conf.display().to_string();
    let b = TestBroker::start(&[("brokerConfigPath", path.as_str())]).await;
    let c = RemotingClient::new();
    let body = &b"flushIntervalCommitLog=700\nmaxMessageSize=1048576\nnoSuchKey=1\n"[..];
    let r = c
        .invoke(
            &b.addr,
            RemotingCommand::request(25, None).with_body(body),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        text,
        "# operator's note\nflushIntervalCommitLog=700\nbrokerClusterName=DefaultCluster\nmaxMessageSize=1048576\n"
    );
    // A blocked key refuses the whole update and writes nothing.
    let r = c
        .invoke(
            &b.addr,
            RemotingCommand::request(25, None)
                .with_body(&b"storePathRootDir=/tmp/x\nmaxMessageSize=1\n"[..]),
            T,
        )
        .await
        .unwrap();
    assert_eq!(r.code, 16, "{r:?}");
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
    c.close_all();
    b.stop().await;
    // What a restart with `-c` reads back.
    let (cfg, explicit) = rocketmq_rs::broker::startup::load_config(Some(&conf)).unwrap();
    assert_eq!(cfg.get("flushIntervalCommitLog"), "700");
    assert_eq!(cfg.get("maxMessageSize"), "1048576");
    assert_eq!(cfg.get("brokerConfigPath"), path);
    assert!(!explicit.contains(&"brokerConfigPath".to_owned()));
    let _ = std::fs::remove_dir_all(&dir);
}
