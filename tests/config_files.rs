//! The broker's config JSON files against the Java 5.3.3 broker's own.
//!
//! Goal: `topics.json`, `subscriptionGroup.json` and `consumerOffset.json` written by our broker
//! are byte-identical to the files the Java broker wrote for the same content (fastjson pretty
//! format, property order, Java hash-map key order, integer map keys). Method: load each fixture
//! from `protocol/fixtures/store-config/java533` through our managers, persist it to a temp
//! directory, and compare the bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rocketmq_rs::broker::config_file::ConfigManager as _;
use std::path::PathBuf;

use rocketmq_rs::broker::consumer_offset::ConsumerOffsetManager;
use rocketmq_rs::broker::subscription_group::SubscriptionGroupManager;
use rocketmq_rs::broker::topic_config::TopicConfigManager;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("protocol/fixtures/store-config/java533")
        .join(name)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cfgfiles-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn assert_same(ours: &PathBuf, java: &PathBuf) {
    let a = std::fs::read_to_string(ours).unwrap();
    let b = std::fs::read_to_string(java).unwrap();
    assert_eq!(a, b, "{} differs from the Java broker's", java.display());
}

#[test]
fn topics_json_is_byte_identical() {
    let out = temp("topics.json");
    std::fs::copy(fixture("topics.json"), &out).unwrap();
    let m = TopicConfigManager::load(out.clone(), "CfgCluster", "broker-cfg", 8, true);
    m.persist_now();
    assert_same(&out, &fixture("topics.json"));
}

#[test]
fn subscription_group_json_is_byte_identical() {
    let out = temp("subscriptionGroup.json");
    std::fs::copy(fixture("subscriptionGroup.json"), &out).unwrap();
    let m = SubscriptionGroupManager::load(out.clone());
    m.persist_now();
    assert_same(&out, &fixture("subscriptionGroup.json"));
}

#[test]
fn consumer_offset_json_is_byte_identical() {
    let out = temp("consumerOffset.json");
    std::fs::copy(fixture("consumerOffset.json"), &out).unwrap();
    let m = ConsumerOffsetManager::load(out.clone());
    m.persist_now();
    assert_same(&out, &fixture("consumerOffset.json"));
}

/// Every shipped broker config (`conf/broker.conf` and the `2m-*` sets) parses, uses only keys
/// this broker knows, and the sets give every broker its own ports and store.
#[test]
fn shipped_broker_configs_load_cleanly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut files = vec![root.join("broker.conf")];
    for set in ["2m-2s-sync", "2m-2s-async", "2m-noslave"] {
        let mut v: Vec<_> = std::fs::read_dir(root.join(set))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        assert!(!v.is_empty(), "{set} is empty");
        let mut ports = std::collections::HashSet::new();
        let mut stores = std::collections::HashSet::new();
        for f in &v {
            let text = std::fs::read_to_string(f).unwrap();
            let mut cfg = rocketmq_rs::broker::config::defaults();
            for e in rocketmq_rs::config::properties::parse(&text).unwrap() {
                cfg.set(&e.key, &e.value)
                    .unwrap_or_else(|err| panic!("{}:{}: {err}", f.display(), e.line));
            }
            assert!(ports.insert(cfg.get_i64("listenPort")), "{}", f.display());
            assert!(
                stores.insert(cfg.get("storePathRootDir").to_owned()),
                "{}",
                f.display()
            );
            let slave = cfg.get("brokerRole") == "SLAVE";
            assert_eq!(slave, cfg.get_i64("brokerId") > 0, "{}", f.display());
        }
        files.extend(v);
    }
    assert_eq!(files.len(), 12);
}
