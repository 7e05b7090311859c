//! The scrape-time gauges of the RocketMQ 5 set (`BrokerMetricsManager`,
//! `DefaultStoreMetricsManager`) and their registration: the broker, connection and processor
//! gauges, the per-group consumer gauges of `ConsumerLagCalculator`, the store gauges with
//! Java's `storage_type` / `storage_medium` labels, the timer gauges (only with
//! `timerWheelEnable`, as in Java; with the timer's enqueue/dequeue counters) and
//! `rocketmq_half_messages`. The scraper ([`super::metrics::render`]) sets them just before
//! encoding.

use std::sync::Mutex;

use prometheus_client::encoding::{EncodeLabel as _, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Broker;
use super::prom::{GroupLabels, ProcessorLabels, TopicLabels};
use super::timer::service::TimerService;
use crate::limits::METRIC_SERIES_PER_FAMILY;
use crate::store::mapped_file::disk_space;
use crate::store::message_store::now_millis;
use crate::store::record::MessageRecord;

/// `DefaultStoreMetricsConstant.DEFAULT_STORAGE_TYPE`.
pub const STORAGE_TYPE: &str = "local";
/// `DefaultStoreMetricsConstant.DEFAULT_STORAGE_MEDIUM`.
pub const STORAGE_MEDIUM: &str = "disk";

/// The labels `DefaultStoreMetricsManager.newAttributesBuilder` adds to every store series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// Always `local`.
    pub storage_type: &'static str,
    /// Always `disk`.
    pub storage_medium: &'static str,
}

/// The one label set of the store gauges.
pub const STORE: StoreLabels = StoreLabels {
    storage_type: STORAGE_TYPE,
    storage_medium: STORAGE_MEDIUM,
};

/// Store labels plus a topic (`rocketmq_timing_messages`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreTopicLabels {
    /// Always `local`.
    pub storage_type: &'static str,
    /// Always `disk`.
    pub storage_medium: &'static str,
    /// The message's real topic.
    pub topic: String,
}

/// Store labels plus the real topic when the message names one (the timer counters).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct TimerFlowLabels {
    /// The message's real topic; `None` leaves the label out, as Java does for a null topic.
    pub topic: Option<String>,
}

impl EncodeLabelSet for TimerFlowLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        ("storage_type", STORAGE_TYPE).encode(encoder.encode_label())?;
        ("storage_medium", STORAGE_MEDIUM).encode(encoder.encode_label())?;
        if let Some(topic) = &self.topic {
            ("topic", topic.as_str()).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// Scrape-time gauges.
#[derive(Debug, Default)]
pub struct Gauges {
    /// `rocketmq_topic_number`.
    pub topic_number: Gauge,
    /// `rocketmq_consumer_group_number`.
    pub consumer_group_number: Gauge,
    /// `rocketmq_producer_connections`.
    pub producer_connections: Gauge,
    /// `rocketmq_consumer_connections`.
    pub consumer_connections: Gauge,
    /// `rocketmq_storage_size`: bytes used on the store's file system (Java's
    /// `totalSpace - freeSpace` of `storePathRootDir`).
    pub storage_size: Family<StoreLabels, Gauge>,
    /// `rocketmq_storage_flush_behind_bytes`.
    pub flush_behind: Family<StoreLabels, Gauge>,
    /// `rocketmq_storage_dispatch_behind_bytes`.
    pub dispatch_behind: Family<StoreLabels, Gauge>,
    /// `rocketmq_storage_message_reserve_time`: ms since the oldest stored message was
    /// stored; no series while the store is empty, as in Java.
    pub message_reserve_time: Family<StoreLabels, Gauge>,
    /// `rocketmq_timer_enqueue_lag`: timer-queue entries not yet in the wheel.
    pub timer_enqueue_lag: Family<StoreLabels, Gauge>,
    /// `rocketmq_timer_enqueue_latency`: ms since the last enqueued message was stored, when
    /// one was enqueued in the last 2 s.
    pub timer_enqueue_latency: Family<StoreLabels, Gauge>,
    /// `rocketmq_timer_dequeue_latency`: Java records `getDequeueBehind()`, which is seconds.
    pub timer_dequeue_latency: Family<StoreLabels, Gauge>,
    /// `rocketmq_timer_enqueue_total`, brought up to the timer's count at each scrape.
    pub timer_enqueue_total: Family<TimerFlowLabels, Counter>,
    /// `rocketmq_timer_dequeue_total`, brought up to the timer's count at each scrape.
    pub timer_dequeue_total: Family<TimerFlowLabels, Counter>,
    /// `rocketmq_timing_messages`: timer messages not yet delivered, per real topic.
    pub timing_messages: Family<StoreTopicLabels, Gauge>,
    /// `rocketmq_half_messages`: transaction half messages not yet ended, per real topic.
    pub half_messages: Family<TopicLabels, Gauge>,
    /// `rocketmq_broker_permission`.
    pub broker_permission: Gauge,
    /// `rocketmq_long_polling_held` (ours).
    pub long_polling_held: Gauge,
    /// `rocketmq_processor_watermark`: requests owed per Java executor.
    pub processor_watermark: Family<ProcessorLabels, Gauge>,
    /// `rocketmq_consumer_lag_messages`.
    pub consumer_lag: Family<GroupLabels, Gauge>,
    /// `rocketmq_consumer_lag_latency`: ms since the oldest unconsumed message was stored.
    pub consumer_lag_latency: Family<GroupLabels, Gauge>,
    /// `rocketmq_consumer_ready_messages`.
    pub consumer_ready: Family<GroupLabels, Gauge>,
    /// `rocketmq_consumer_inflight_messages`.
    pub consumer_inflight: Family<GroupLabels, Gauge>,
    /// `rocketmq_consumer_queueing_latency`: ms since the oldest unpulled message was stored.
    pub consumer_queueing_latency: Family<GroupLabels, Gauge>,
    /// Serializes scrapes, which clear and refill the per-group families.
    pub scrape: Mutex<()>,
}

impl Gauges {
    /// Registers every gauge in `r`; the timer gauges only when `timer` (`timerWheelEnable`).
    pub fn register(&self, r: &mut Registry, timer: bool) {
        for (name, help, g) in [
            (
                "rocketmq_topic_number",
                "Topics on this broker",
                &self.topic_number,
            ),
            (
                "rocketmq_consumer_group_number",
                "Subscription groups on this broker",
                &self.consumer_group_number,
            ),
            (
                "rocketmq_producer_connections",
                "Producer connections",
                &self.producer_connections,
            ),
            (
                "rocketmq_consumer_connections",
                "Consumer connections",
                &self.consumer_connections,
            ),
            (
                "rocketmq_long_polling_held",
                "Pull requests held by long polling",
                &self.long_polling_held,
            ),
            (
                "rocketmq_broker_permission",
                "Broker permission (brokerPermission)",
                &self.broker_permission,
            ),
        ] {
            r.register(name, help, g.clone());
        }
        let mut store = vec![
            (
                "rocketmq_storage_size",
                "Broker storage size",
                &self.storage_size,
            ),
            (
                "rocketmq_storage_flush_behind_bytes",
                "Broker flush behind bytes",
                &self.flush_behind,
            ),
            (
                "rocketmq_storage_dispatch_behind_bytes",
                "Broker dispatch behind bytes",
                &self.dispatch_behind,
            ),
            (
                "rocketmq_storage_message_reserve_time",
                "Broker message reserve time",
                &self.message_reserve_time,
            ),
        ];
        if timer {
            store.push((
                "rocketmq_timer_enqueue_lag",
                "Timer enqueue messages lag",
                &self.timer_enqueue_lag,
            ));
            store.push((
                "rocketmq_timer_enqueue_latency",
                "Timer enqueue latency",
                &self.timer_enqueue_latency,
            ));
            store.push((
                "rocketmq_timer_dequeue_latency",
                "Timer dequeue latency",
                &self.timer_dequeue_latency,
            ));
            r.register(
                "rocketmq_timing_messages",
                "Current message number in timing",
                self.timing_messages.clone(),
            );
            r.register(
                "rocketmq_timer_enqueue",
                "Total number of timer enqueue",
                self.timer_enqueue_total.clone(),
            );
            r.register(
                "rocketmq_timer_dequeue",
                "Total number of timer dequeue",
                self.timer_dequeue_total.clone(),
            );
        }
        for (name, help, g) in store {
            r.register(name, help, g.clone());
        }
        r.register(
            "rocketmq_half_messages",
            "Half messages of all topics",
            self.half_messages.clone(),
        );
        r.register(
            "rocketmq_processor_watermark",
            "Request processor watermark",
            self.processor_watermark.clone(),
        );
        for (name, help, family) in [
            (
                "rocketmq_consumer_lag_messages",
                "Consumer lag messages",
                &self.consumer_lag,
            ),
            (
                "rocketmq_consumer_lag_latency",
                "Consumer lag time",
                &self.consumer_lag_latency,
            ),
            (
                "rocketmq_consumer_inflight_messages",
                "Consumer inflight messages",
                &self.consumer_inflight,
            ),
            (
                "rocketmq_consumer_queueing_latency",
                "Consumer queueing time",
                &self.consumer_queueing_latency,
            ),
            (
                "rocketmq_consumer_ready_messages",
                "Consumer ready messages",
                &self.consumer_ready,
            ),
        ] {
            r.register(name, help, family.clone());
        }
    }
}

fn bytes(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Gauges {
    /// Sets `DefaultStoreMetricsManager`'s gauges, the timer ones and `rocketmq_half_messages`.
    pub fn set_store(&self, broker: &Broker) {
        let store = &broker.store;
        let max = store.max_phy_offset();
        let now = now_millis();
        if let Some(d) = disk_space(&store.config().root) {
            let _ = self
                .storage_size
                .get_or_create(&STORE)
                .set(bytes(d.total.saturating_sub(d.free)));
        }
        let _ = self
            .flush_behind
            .get_or_create(&STORE)
            .set(bytes(max.saturating_sub(store.flushed_offset())));
        let _ = self
            .dispatch_behind
            .get_or_create(&STORE)
            .set(bytes(max.saturating_sub(store.dispatched_offset())));
        self.message_reserve_time.clear();
        if let Some(earliest) = earliest_message_time(broker) {
            let _ = self
                .message_reserve_time
                .get_or_create(&STORE)
                .set(now - earliest);
        }
        if let Some(timer) = &broker.timer {
            self.set_timer(timer, now);
        }
        self.half_messages.clear();
        for (topic, n) in broker.metrics.half_messages() {
            let _ = self
                .half_messages
                .get_or_create(&TopicLabels { topic })
                .set(n);
        }
    }

    /// `DefaultStoreMetricsManager`'s timer gauges and counters.
    fn set_timer(&self, timer: &TimerService, now: i64) {
        // Java records `getDequeueBehind()`: seconds behind, under a millisecond unit.
        let read = timer.read_time_ms();
        let _ = self
            .timer_dequeue_latency
            .get_or_create(&STORE)
            .set((now - read).max(0) / 1000);
        let _ = self
            .timer_enqueue_lag
            .get_or_create(&STORE)
            .set(timer.enqueue_behind_messages());
        let _ = self
            .timer_enqueue_latency
            .get_or_create(&STORE)
            .set(timer.metrics.enqueue_behind_ms());
        let (enqueued, dequeued) = timer.metrics.flow();
        for (family, counts) in [
            (&self.timer_enqueue_total, enqueued),
            (&self.timer_dequeue_total, dequeued),
        ] {
            for (topic, n) in counts {
                let labels = TimerFlowLabels {
                    topic: (!topic.is_empty()).then_some(topic),
                };
                let c = family.get_or_create(&labels);
                let _ = c.inc_by(n.saturating_sub(c.get()));
            }
        }
        self.timing_messages.clear();
        let counts = timer.metrics.counts();
        for (topic, n) in counts.into_iter().take(METRIC_SERIES_PER_FAMILY) {
            let labels = StoreTopicLabels {
                storage_type: STORAGE_TYPE,
                storage_medium: STORAGE_MEDIUM,
                topic,
            };
            let _ = self.timing_messages.get_or_create(&labels).set(n);
        }
    }
}

/// `getEarliestMessageTime`: store time of the first message of the CommitLog.
fn earliest_message_time(broker: &Broker) -> Option<i64> {
    let store = &broker.store;
    let min = store.min_phy_offset();
    if min >= store.max_phy_offset() {
        return None;
    }
    let record = store.message_at(min)?;
    MessageRecord::decode(&record, false)
        .ok()
        .map(|(r, _)| r.store_timestamp)
        .filter(|t| *t > 0)
}
