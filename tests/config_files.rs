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
