//! Java's `ConsumerLagCalculator` (with `useStaticSubscription=false`,
//! `popConsumerKVServiceEnable=false`, `estimateAccumulation` off): the per-group consumer
//! gauges `rocketmq_consumer_lag_messages`, `_lag_latency`, `_inflight_messages`,
//! `_queueing_latency` and `_ready_messages`, computed at scrape time.
//!
//! Every online group of the subscription table, each topic it subscribes (retry topics and
//! topics neither readable nor writable skipped), summed over the topic's write queues. A POP
//! group gets a second series with `is_retry="true"` computed from its POP retry topic (zeros
//! when that topic does not exist). The cost is bounded: at most
//! `limits::METRIC_SERIES_PER_FAMILY` series, and per queue two offset look-ups and at most two
//! ConsumeQueue + CommitLog reads for the store times.

use super::Broker;
use super::pop::pop_retry_topic;
use super::prom::{self, GroupLabels};
use crate::limits::METRIC_SERIES_PER_FAMILY;
use crate::remoting::body::topic_config::{PERM_READ, PERM_WRITE};
use crate::store::message_store::now_millis;

/// One group and topic's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    lag: i64,
    /// Store time of the oldest unconsumed message (`i64::MAX` when none).
    earliest_unconsumed: i64,
    inflight: i64,
    /// Store time of the oldest unpulled message (`i64::MAX` when none).
    earliest_unpulled: i64,
    ready: i64,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            lag: 0,
            earliest_unconsumed: i64::MAX,
            inflight: 0,
            earliest_unpulled: i64::MAX,
            ready: 0,
        }
    }
}

/// Refills the consumer gauges.
pub fn consumer_gauges(broker: &Broker) {
    let g = &broker.metrics.gauges;
    for family in [
        &g.consumer_lag,
        &g.consumer_lag_latency,
        &g.consumer_inflight,
        &g.consumer_queueing_latency,
        &g.consumer_ready,
    ] {
        family.clear();
    }
    let v2 = broker.config_bool("enableRetryTopicV2");
    let now = now_millis();
    let mut series = 0usize;
    for config in broker.groups.all() {
        let group = config.group_name.as_str();
        let Some(online) = broker.clients.consumer_group(group) else {
            continue;
        };
        let is_pop = online.consume_type == "CONSUME_POP";
        for topic in online.subscriptions.keys() {
            if topic.starts_with("%RETRY%") || !visible(broker, topic) {
                continue;
            }
            if series >= METRIC_SERIES_PER_FAMILY {
                return;
            }
            let mut labels = GroupLabels {
                consumer_group: group.to_owned(),
                topic: topic.clone(),
                is_retry: false,
                is_system: prom::is_system(topic, group),
            };
            set(broker, &labels, &figures(broker, group, topic, is_pop), now);
            series += 1;
            if is_pop {
                let retry = pop_retry_topic(topic, group, v2);
                let f = if visible(broker, &retry) {
                    figures(broker, group, &retry, true)
                } else {
                    Figures::default()
                };
                labels.is_retry = true;
                set(broker, &labels, &f, now);
                series += 1;
            }
        }
    }
}

/// Whether the topic exists and is readable or writable under the broker's permission.
fn visible(broker: &Broker, topic: &str) -> bool {
    broker
        .topics
        .get(topic)
        .is_some_and(|tc| tc.perm & broker.permission() & (PERM_READ | PERM_WRITE) != 0)
}

fn set(broker: &Broker, labels: &GroupLabels, f: &Figures, now: i64) {
    let g = &broker.metrics.gauges;
    let since = |t: i64| if t == i64::MAX { 0 } else { now - t };
    let _ = g.consumer_lag.get_or_create(labels).set(f.lag);
    let _ = g
        .consumer_lag_latency
        .get_or_create(labels)
        .set(since(f.earliest_unconsumed));
    let _ = g.consumer_inflight.get_or_create(labels).set(f.inflight);
    let _ = g
        .consumer_queueing_latency
        .get_or_create(labels)
        .set(since(f.earliest_unpulled));
    let _ = g.consumer_ready.get_or_create(labels).set(f.ready);
}

/// Store time of the message at `offset` of a queue, `i64::MAX` when there is none.
fn store_time(broker: &Broker, topic: &str, queue_id: i32, offset: i64) -> i64 {
    u64::try_from(offset)
        .ok()
        .and_then(|o| broker.store.store_time_at(topic, queue_id, o))
        .filter(|t| *t > 0)
        .unwrap_or(i64::MAX)
}

/// The figures of `group` on `topic`, summed over its write queues.
fn figures(broker: &Broker, group: &str, topic: &str, is_pop: bool) -> Figures {
    let mut f = Figures::default();
    let Some(tc) = broker.topics.get(topic) else {
        return f;
    };
    for qid in 0..tc.write_queue_nums.max(0) {
        let max = broker
            .store
            .queue(topic, qid)
            .map_or(0, |q| i64::try_from(q.max_offset()).unwrap_or(i64::MAX));
        let committed = broker.offsets.query(group, topic, qid).filter(|o| *o >= 0);
        if is_pop {
            // Java's POP branch: the pull offset is the committed one (no buffer merge); the
            // in-flight count (`PopInflightMessageCounter`) is not kept here, so it adds 0.
            let pulled = committed.unwrap_or(max);
            f.lag += (max - pulled).max(0);
            f.earliest_unconsumed = f
                .earliest_unconsumed
                .min(store_time(broker, topic, qid, pulled));
            f.earliest_unpulled = f
                .earliest_unpulled
                .min(store_time(broker, topic, qid, pulled));
            f.ready += (max - pulled).max(0);
            continue;
        }
        let consumer = committed.unwrap_or(max);
        f.lag += (max - consumer).max(0);
        f.earliest_unconsumed = f
            .earliest_unconsumed
            .min(store_time(broker, topic, qid, consumer));
        // `queryPullOffset`: the last pull's next offset, else the committed offset.
        let pull = broker.metrics.pull_offset(group, topic, qid).or(committed);
        let pulled = pull.unwrap_or(0).max(0);
        f.inflight += (pulled - committed.unwrap_or(pulled)).max(0);
        f.earliest_unpulled = f
            .earliest_unpulled
            .min(store_time(broker, topic, qid, pulled));
        f.ready += (max - pull.unwrap_or(max)).max(0);
    }
    f
}
