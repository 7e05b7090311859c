//! The RocketMQ 5 metric families (`BrokerMetricsConstant`, `RemotingMetricsConstant`) kept in a
//! `prometheus-client` registry: per-topic and per-group counters, the message-size and RPC
//! latency histograms with Java's buckets, the topic and group create-time histograms, the
//! in-memory half-message counts, and the scrape-time gauges ([`super::prom_gauges`]). Recording
//! takes the family's read lock and bumps atomics; a new label set past
//! `limits::METRIC_SERIES_PER_FAMILY` is folded into one overflow series.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus_client::encoding::{
    EncodeLabel as _, EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::warn;

use crate::limits::METRIC_SERIES_PER_FAMILY;
use crate::remoting::request_code::RequestCode;
use crate::remoting::response_code::ResponseCode;

/// `RemotingMetricsConstant.RESULT_SUCCESS`.
pub const RESULT_SUCCESS: &str = "success";
/// `RemotingMetricsConstant.RESULT_ONEWAY`.
pub const RESULT_ONEWAY: &str = "oneway";
/// `RemotingMetricsConstant.RESULT_WRITE_CHANNEL_FAILED`.
pub const RESULT_WRITE_CHANNEL_FAILED: &str = "write_channel_failed";

/// The label value of the series that takes label sets past the cap.
pub const OVERFLOW: &str = "__overflow__";

/// `BrokerMetricsManager`'s `messageSize` view: 1 KB, 4 KB, 512 KB, 1 MB, 2 MB, 4 MB.
const MESSAGE_SIZE_BUCKETS: [f64; 6] = [
    1024.0,
    4096.0,
    524_288.0,
    1_048_576.0,
    2_097_152.0,
    4_194_304.0,
];

/// `RemotingMetricsManager`'s `rpcCostTimeBuckets`, in milliseconds.
const RPC_LATENCY_BUCKETS: [f64; 9] = [1.0, 3.0, 5.0, 7.0, 10.0, 100.0, 1000.0, 2000.0, 3000.0];

/// `BrokerMetricsManager`'s `createTimeBuckets`, in milliseconds: 10 ms, 100 ms, 1 s, 3 s, 5 s.
const CREATE_TIME_BUCKETS: [f64; 5] = [10.0, 100.0, 1000.0, 3000.0, 5000.0];

/// `BrokerMetricsManager`'s `commitLatencyBuckets`, in seconds: 5 s, 1 min, 10 min, 1 h, 12 h,
/// 24 h.
const FINISH_LATENCY_BUCKETS: [f64; 6] = [5.0, 60.0, 600.0, 3600.0, 43_200.0, 86_400.0];

/// `InvocationStatus.SUCCESS`.
pub const INVOCATION_SUCCESS: &str = "success";
/// `InvocationStatus.FAILURE`.
pub const INVOCATION_FAILURE: &str = "failure";

/// `TopicMessageType.getMetricsValue`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum MessageType {
    /// No special property.
    Normal,
    /// A sharding key (`__SHARDINGKEY`).
    Fifo,
    /// A delay level or timer property.
    Delay,
    /// A transaction half message.
    Transaction,
}

impl MessageType {
    /// Java's `TopicMessageType.parseFromMessageProperty`, from a property lookup.
    #[must_use]
    pub fn from_properties<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        if get("TRAN_MSG") == Some("true") {
            Self::Transaction
        } else if [
            "DELAY",
            "TIMER_DELIVER_MS",
            "TIMER_DELAY_SEC",
            "TIMER_DELAY_MS",
        ]
        .iter()
        .any(|k| get(k).is_some())
        {
            Self::Delay
        } else if get("__SHARDINGKEY").is_some() {
            Self::Fifo
        } else {
            Self::Normal
        }
    }
}

impl EncodeLabelValue for MessageType {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            Self::Normal => "normal",
            Self::Fifo => "fifo",
            Self::Delay => "delay",
            Self::Transaction => "transaction",
        })
    }
}

/// A request code, shown as Java's `RemotingHelper.getRequestCodeDesc` (the constant's name in
/// lower case, or the number).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct RequestCodeLabel(pub i32);

impl EncodeLabelValue for RequestCodeLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        match RequestCode::from_i32(self.0) {
            Some(c) => encoder.write_str(&c.name().to_ascii_lowercase()),
            None => write!(encoder, "{}", self.0),
        }
    }
}

/// A response code, shown as Java's `RemotingHelper.getResponseCodeDesc`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct ResponseCodeLabel(pub i32);

impl EncodeLabelValue for ResponseCodeLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        match ResponseCode::from_i32(self.0) {
            Some(c) => encoder.write_str(&c.name().to_ascii_lowercase()),
            None => write!(encoder, "{}", self.0),
        }
    }
}

/// Labels of `rocketmq_messages_in_total`, `rocketmq_throughput_in_total` and
/// `rocketmq_message_size` (`SendMessageProcessor`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InLabels {
    /// The topic.
    pub topic: String,
    /// Java's message type.
    pub message_type: MessageType,
    /// `TopicValidator.isSystemTopic`.
    pub is_system: bool,
}

/// Labels of `rocketmq_messages_out_total` and `rocketmq_throughput_out_total`
/// (`DefaultPullMessageResultHandler`; `PopMessageProcessor` adds `is_retry`).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct OutLabels {
    /// The topic.
    pub topic: String,
    /// The consumer group.
    pub consumer_group: String,
    /// A system topic or system group.
    pub is_system: bool,
    /// POP only: the messages came from the group's retry topic.
    pub is_retry: Option<bool>,
}

impl EncodeLabelSet for OutLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        ("topic", self.topic.as_str()).encode(encoder.encode_label())?;
        ("consumer_group", self.consumer_group.as_str()).encode(encoder.encode_label())?;
        ("is_system", self.is_system).encode(encoder.encode_label())?;
        if let Some(retry) = self.is_retry {
            ("is_retry", retry).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// Labels of `rocketmq_rpc_latency` (`NettyRemotingAbstract.writeResponse`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    /// Always `remoting` here.
    pub protocol_type: &'static str,
    /// The request code.
    pub request_code: RequestCodeLabel,
    /// The response code.
    pub response_code: ResponseCodeLabel,
    /// Whether the request was held by long polling.
    pub is_long_polling: bool,
    /// `success`, `oneway` or `write_channel_failed`.
    pub result: &'static str,
}

/// Labels of the transaction counters (`EndTransactionProcessor`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    /// The message's real topic.
    pub topic: String,
}

/// Labels of the per-group consumer gauges (`BrokerMetricsManager.buildLagAttributes`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    /// The consumer group.
    pub consumer_group: String,
    /// The topic.
    pub topic: String,
    /// Java's `isRetry`: set for POP groups.
    pub is_retry: bool,
    /// A system topic or system group.
    pub is_system: bool,
}

/// Labels of `rocketmq_processor_watermark` (`BrokerMetricsManager.initRequestMetrics`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProcessorLabels {
    /// The executor: `send`, `pull`, `ack`, `query_message`, … ([`Pool::label`]).
    ///
    /// [`Pool::label`]: crate::broker::request_pools::Pool::label
    pub processor: &'static str,
}

/// Labels of `rocketmq_topic_create_execution_time` (`AdminBrokerProcessor.updateAndCreateTopic`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CreateTopicLabels {
    /// `success` or `failure`.
    pub invocation_status: &'static str,
    /// `TopicValidator.isSystemTopic` of the topic (false for a list).
    pub is_system: bool,
}

/// What a create request made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateKind {
    /// A topic (or topic list); `is_system` as Java's label.
    Topic {
        /// `TopicValidator.isSystemTopic`.
        is_system: bool,
    },
    /// A subscription group (or group list).
    Group,
}

/// Labels of `rocketmq_consumer_group_create_execution_time`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CreateGroupLabels {
    /// `success` or `failure`.
    pub invocation_status: &'static str,
}

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;
type CounterFamily<S> = Family<S, Counter, fn() -> Counter>;

fn message_size_histogram() -> Histogram {
    Histogram::new(MESSAGE_SIZE_BUCKETS)
}

fn rpc_latency_histogram() -> Histogram {
    Histogram::new(RPC_LATENCY_BUCKETS)
}

fn finish_latency_histogram() -> Histogram {
    Histogram::new(FINISH_LATENCY_BUCKETS)
}

fn create_time_histogram() -> Histogram {
    Histogram::new(CREATE_TIME_BUCKETS)
}

/// The broker's metric registry and the handles the request paths record into.
#[derive(Debug)]
pub struct BrokerMetrics {
    /// Whether `metricsExporterType=PROM`; nothing is recorded otherwise.
    pub enabled: bool,
    registry: Registry,
    messages_in: Capped<InLabels, Counter, fn() -> Counter>,
    throughput_in: Capped<InLabels, Counter, fn() -> Counter>,
    message_size: Capped<InLabels, Histogram, fn() -> Histogram>,
    messages_out: Capped<OutLabels, Counter, fn() -> Counter>,
    throughput_out: Capped<OutLabels, Counter, fn() -> Counter>,
    rpc_latency: Capped<RpcLabels, Histogram, fn() -> Histogram>,
    commit_messages: Capped<TopicLabels, Counter, fn() -> Counter>,
    send_to_dlq: Capped<OutLabels, Counter, fn() -> Counter>,
    rollback_messages: Capped<TopicLabels, Counter, fn() -> Counter>,
    finish_latency: Capped<TopicLabels, Histogram, fn() -> Histogram>,
    create_topic: HistogramFamily<CreateTopicLabels>,
    create_group: HistogramFamily<CreateGroupLabels>,
    /// Half messages put and not yet ended, per real topic (Java's `TransactionMetrics`, kept
    /// in memory only).
    half_messages: Mutex<HashMap<String, i64>>,
    /// Set by the scraper before encoding.
    pub gauges: super::prom_gauges::Gauges,
    /// Next offset of each group's last pull, group → topic → queue (Java's
    /// `ConsumerOffsetManager.pullOffsetTable`, kept only for the consumer gauges).
    pull_offsets: Mutex<PullOffsets>,
}

type PullOffsets = HashMap<String, HashMap<String, HashMap<i32, i64>>>;

/// A family and the number of label sets it has taken.
#[derive(Debug)]
struct Capped<S, M, C> {
    family: Family<S, M, C>,
    series: AtomicUsize,
}

impl<S: Clone + Hash + Eq, M, C: MetricConstructor<M>> Capped<S, M, C> {
    fn new(family: Family<S, M, C>) -> Self {
        Self {
            family,
            series: AtomicUsize::new(0),
        }
    }

    /// Runs `f` on the series for `labels`, or on the overflow series when the family is full.
    /// Two racing first uses of one label set may count it twice: the cap errs low.
    fn with(&self, labels: &S, overflow: impl FnOnce() -> S, f: impl Fn(&M)) {
        if let Some(m) = self.family.get(labels) {
            f(&m);
        } else if self.series.load(Ordering::Relaxed) < METRIC_SERIES_PER_FAMILY {
            let _ = self.series.fetch_add(1, Ordering::Relaxed);
            f(&self.family.get_or_create(labels));
        } else {
            f(&self.family.get_or_create(&overflow()));
        }
    }
}

impl BrokerMetrics {
    /// A registry whose series carry Java's common labels `cluster`, `node_type`, `node_id`,
    /// then `aggregation="delta"` with `metricsInDelta`, then the `metricsLabel` pairs
    /// (`k1:v1,k2:v2`; a pair naming one of the others is overridden, as in Java). The timer
    /// gauges exist only with `timer` (`timerWheelEnable`).
    #[must_use]
    pub fn new(
        enabled: bool,
        cluster: &str,
        node_id: &str,
        extra: &str,
        in_delta: bool,
        timer: bool,
    ) -> Self {
        let mut common: Vec<(Cow<'static, str>, Cow<'static, str>)> = vec![
            ("cluster".into(), cluster.to_owned().into()),
            ("node_type".into(), "broker".into()),
            ("node_id".into(), node_id.to_owned().into()),
        ];
        if in_delta {
            common.push(("aggregation".into(), "delta".into()));
        }
        for item in extra.split(',').filter(|i| !i.is_empty()) {
            let pair = item.split_once(':').filter(|(k, v)| {
                valid_label_name(k) && !v.contains(':') && !v.contains(['"', '\\', '\n'])
            });
            match pair {
                Some((k, v)) if !common.iter().any(|(c, _)| c == k) => {
                    common.push((k.to_owned().into(), v.to_owned().into()));
                }
                Some(_) => {}
                None => warn!(item, "metricsLabel is not valid"),
            }
        }
        let mut registry = Registry::with_labels(common.into_iter());
        let messages_in: CounterFamily<InLabels> = Family::new_with_constructor(Counter::default);
        let throughput_in: CounterFamily<InLabels> = Family::new_with_constructor(Counter::default);
        let message_size: HistogramFamily<InLabels> =
            Family::new_with_constructor(message_size_histogram);
        let messages_out: CounterFamily<OutLabels> = Family::new_with_constructor(Counter::default);
        let throughput_out: CounterFamily<OutLabels> =
            Family::new_with_constructor(Counter::default);
        let rpc_latency: HistogramFamily<RpcLabels> =
            Family::new_with_constructor(rpc_latency_histogram);
        let gauges = super::prom_gauges::Gauges::default();
        let r = &mut registry;
        r.register(
            "rocketmq_messages_in",
            "Messages stored",
            messages_in.clone(),
        );
        r.register(
            "rocketmq_messages_out",
            "Messages delivered",
            messages_out.clone(),
        );
        r.register(
            "rocketmq_throughput_in",
            "Bytes stored",
            throughput_in.clone(),
        );
        r.register(
            "rocketmq_throughput_out",
            "Bytes delivered",
            throughput_out.clone(),
        );
        r.register(
            "rocketmq_message_size",
            "Size of stored messages",
            message_size.clone(),
        );
        r.register(
            "rocketmq_rpc_latency",
            "Rpc latency in milliseconds",
            rpc_latency.clone(),
        );
        let commit_messages: CounterFamily<TopicLabels> =
            Family::new_with_constructor(Counter::default);
        let rollback_messages: CounterFamily<TopicLabels> =
            Family::new_with_constructor(Counter::default);
        r.register(
            "rocketmq_commit_messages",
            "Transaction messages committed",
            commit_messages.clone(),
        );
        r.register(
            "rocketmq_rollback_messages",
            "Transaction messages rolled back",
            rollback_messages.clone(),
        );
        let send_to_dlq: CounterFamily<OutLabels> = Family::new_with_constructor(Counter::default);
        r.register(
            "rocketmq_send_to_dlq_messages",
            "Messages sent to a dead-letter queue",
            send_to_dlq.clone(),
        );
        let finish_latency: HistogramFamily<TopicLabels> =
            Family::new_with_constructor(finish_latency_histogram);
        r.register(
            "rocketmq_finish_message_latency",
            "Transaction finish latency",
            finish_latency.clone(),
        );
        gauges.register(r, timer);
        let create_topic: HistogramFamily<CreateTopicLabels> =
            Family::new_with_constructor(create_time_histogram);
        let create_group: HistogramFamily<CreateGroupLabels> =
            Family::new_with_constructor(create_time_histogram);
        r.register(
            "rocketmq_topic_create_execution_time",
            "The distribution of create topic time",
            create_topic.clone(),
        );
        r.register(
            "rocketmq_consumer_group_create_execution_time",
            "The distribution of create subscription time",
            create_group.clone(),
        );
        Self {
            enabled,
            registry,
            messages_in: Capped::new(messages_in),
            throughput_in: Capped::new(throughput_in),
            message_size: Capped::new(message_size),
            messages_out: Capped::new(messages_out),
            throughput_out: Capped::new(throughput_out),
            rpc_latency: Capped::new(rpc_latency),
            commit_messages: Capped::new(commit_messages),
            send_to_dlq: Capped::new(send_to_dlq),
            rollback_messages: Capped::new(rollback_messages),
            finish_latency: Capped::new(finish_latency),
            create_topic,
            create_group,
            gauges,
            half_messages: Mutex::new(HashMap::new()),
            pull_offsets: Mutex::new(HashMap::new()),
        }
    }

    /// Records `count` messages of `bytes` stored in one put.
    pub fn record_in(&self, topic: &str, message_type: MessageType, count: u64, bytes: u64) {
        if !self.enabled || count == 0 {
            return;
        }
        let labels = InLabels {
            topic: topic.to_owned(),
            message_type,
            is_system: crate::broker::topic_config::is_system_topic(topic, &[]),
        };
        let overflow = || InLabels {
            topic: OVERFLOW.to_owned(),
            message_type,
            is_system: false,
        };
        self.messages_in.with(&labels, overflow, |c| {
            let _ = c.inc_by(count);
        });
        self.throughput_in.with(&labels, overflow, |c| {
            let _ = c.inc_by(bytes);
        });
        #[allow(clippy::cast_precision_loss)]
        let size = (bytes / count) as f64;
        self.message_size
            .with(&labels, overflow, |h| h.observe(size));
    }

    /// Records `count` messages of `bytes` delivered to `group`; `is_retry` for POP only.
    pub fn record_out(
        &self,
        topic: &str,
        group: &str,
        is_retry: Option<bool>,
        count: u64,
        bytes: u64,
    ) {
        if !self.enabled || count == 0 {
            return;
        }
        let labels = OutLabels {
            topic: topic.to_owned(),
            consumer_group: group.to_owned(),
            is_system: is_system(topic, group),
            is_retry,
        };
        let overflow = || OutLabels {
            topic: OVERFLOW.to_owned(),
            consumer_group: OVERFLOW.to_owned(),
            is_system: false,
            is_retry,
        };
        self.messages_out.with(&labels, overflow, |c| {
            let _ = c.inc_by(count);
        });
        self.throughput_out.with(&labels, overflow, |c| {
            let _ = c.inc_by(bytes);
        });
    }

    /// Records one answered request (`NettyRemotingAbstract.writeResponse`).
    pub fn record_rpc(
        &self,
        request_code: i32,
        response_code: i32,
        result: &'static str,
        is_long_polling: bool,
        millis: u64,
    ) {
        if !self.enabled {
            return;
        }
        let labels = RpcLabels {
            protocol_type: "remoting",
            request_code: RequestCodeLabel(request_code),
            response_code: ResponseCodeLabel(response_code),
            is_long_polling,
            result,
        };
        // Codes are bounded by the enums and the wire's i32; the cap still guards odd clients.
        let overflow = || RpcLabels {
            request_code: RequestCodeLabel(-1),
            response_code: ResponseCodeLabel(-1),
            ..labels.clone()
        };
        #[allow(clippy::cast_precision_loss)]
        let ms = millis as f64;
        self.rpc_latency.with(&labels, overflow, |h| h.observe(ms));
    }

    /// Counts one message routed to `group`'s DLQ (`sendToDlqMessages`); `topic` is the
    /// message's origin topic (send-back) or the retry topic it was sent to.
    pub fn record_dlq(&self, topic: &str, group: &str) {
        if !self.enabled {
            return;
        }
        let labels = OutLabels {
            topic: topic.to_owned(),
            consumer_group: group.to_owned(),
            is_system: is_system(topic, group),
            is_retry: None,
        };
        let overflow = || OutLabels {
            topic: OVERFLOW.to_owned(),
            consumer_group: OVERFLOW.to_owned(),
            is_system: false,
            is_retry: None,
        };
        self.send_to_dlq.with(&labels, overflow, |c| {
            let _ = c.inc();
        });
    }

    /// Counts one END_TRANSACTION commit or rollback of a message of `topic`; a commit also
    /// records the seconds since the half message was born (`transactionFinishLatency`).
    pub fn record_end_transaction(&self, topic: &str, commit: bool, born_ms: i64) {
        if !self.enabled {
            return;
        }
        let labels = TopicLabels {
            topic: topic.to_owned(),
        };
        let overflow = || TopicLabels {
            topic: OVERFLOW.to_owned(),
        };
        let family = if commit {
            &self.commit_messages
        } else {
            &self.rollback_messages
        };
        family.with(&labels, overflow, |c| {
            let _ = c.inc();
        });
        if commit {
            let secs = (crate::store::message_store::now_millis() - born_ms) / 1000;
            #[allow(clippy::cast_precision_loss)]
            let secs = secs as f64;
            self.finish_latency
                .with(&labels, overflow, |h| h.observe(secs));
        }
        self.record_half(topic, -1);
    }

    /// Records one topic or subscription-group create and its time in ms.
    pub fn record_create(&self, kind: CreateKind, ok: bool, millis: u64) {
        if !self.enabled {
            return;
        }
        let invocation_status = if ok {
            INVOCATION_SUCCESS
        } else {
            INVOCATION_FAILURE
        };
        #[allow(clippy::cast_precision_loss)]
        let ms = millis as f64;
        match kind {
            CreateKind::Topic { is_system } => self
                .create_topic
                .get_or_create(&CreateTopicLabels {
                    invocation_status,
                    is_system,
                })
                .observe(ms),
            CreateKind::Group => self
                .create_group
                .get_or_create(&CreateGroupLabels { invocation_status })
                .observe(ms),
        }
    }

    /// Counts a half message put (`delta` 1) or ended (-1) for its real topic; topics past
    /// the series cap are not tracked.
    pub fn record_half(&self, topic: &str, delta: i64) {
        if !self.enabled {
            return;
        }
        let Ok(mut m) = self.half_messages.lock() else {
            return;
        };
        if let Some(n) = m.get_mut(topic) {
            *n = (*n + delta).max(0);
        } else if m.len() < METRIC_SERIES_PER_FAMILY {
            let _ = m.insert(topic.to_owned(), delta.max(0));
        }
    }

    /// Half messages not yet ended, per real topic.
    #[must_use]
    pub fn half_messages(&self) -> Vec<(String, i64)> {
        self.half_messages
            .lock()
            .map(|m| m.iter().map(|(t, n)| (t.clone(), *n)).collect())
            .unwrap_or_default()
    }

    /// Remembers where a pull left off (`commitPullOffset`); allocates only for a new key.
    pub fn record_pull_offset(&self, group: &str, topic: &str, queue_id: i32, next: i64) {
        if !self.enabled {
            return;
        }
        let Ok(mut m) = self.pull_offsets.lock() else {
            return;
        };
        if let Some(o) = m
            .get_mut(group)
            .and_then(|t| t.get_mut(topic))
            .and_then(|q| q.get_mut(&queue_id))
        {
            *o = next;
            return;
        }
        let _ = m
            .entry(group.to_owned())
            .or_default()
            .entry(topic.to_owned())
            .or_default()
            .insert(queue_id, next);
    }

    /// The next offset of the group's last pull from a queue (`queryPullOffset`).
    #[must_use]
    pub fn pull_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let m = self.pull_offsets.lock().ok()?;
        m.get(group)?.get(topic)?.get(&queue_id).copied()
    }

    /// The OpenMetrics text of every family.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Java's `isSystem(topic, group)`: a system topic or a `CID_RMQ_SYS_` group.
#[must_use]
pub fn is_system(topic: &str, group: &str) -> bool {
    crate::broker::topic_config::is_system_topic(topic, &[]) || group.starts_with("CID_RMQ_SYS_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_past_the_cap_fold_into_one_overflow_series() {
        let m = BrokerMetrics::new(true, "c", "n", "", false, false);
        for i in 0..METRIC_SERIES_PER_FAMILY + 5 {
            m.record_in(&format!("T{i}"), MessageType::Normal, 1, 10);
        }
        m.record_in("T0", MessageType::Normal, 1, 10);
        let text = m.encode();
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("rocketmq_messages_in_total{"))
            .collect();
        assert_eq!(series.len(), METRIC_SERIES_PER_FAMILY + 1);
        assert!(series.contains(&r#"rocketmq_messages_in_total{cluster="c",node_type="broker",node_id="n",topic="__overflow__",message_type="normal",is_system="false"} 5"#));
        assert!(series.contains(&r#"rocketmq_messages_in_total{cluster="c",node_type="broker",node_id="n",topic="T0",message_type="normal",is_system="false"} 2"#));
    }

    #[test]
    fn nothing_is_recorded_unless_enabled() {
        let m = BrokerMetrics::new(false, "c", "n", "", false, false);
        m.record_in("T", MessageType::Normal, 1, 10);
        m.record_rpc(10, 0, RESULT_SUCCESS, false, 1);
        assert!(!m.encode().contains("topic=\"T\""));
        assert!(!m.encode().contains("rocketmq_rpc_latency_count{"));
    }

    #[test]
    fn java_message_types_and_code_names() {
        let props = |k: &str| match k {
            "__SHARDINGKEY" => Some("k"),
            _ => None,
        };
        assert_eq!(MessageType::from_properties(props), MessageType::Fifo);
        let m = BrokerMetrics::new(true, "c", "n", "", false, false);
        m.record_rpc(11, 19, RESULT_SUCCESS, true, 5);
        m.record_rpc(99_999, 0, RESULT_ONEWAY, false, 0);
        let text = m.encode();
        assert!(text.contains(r#"request_code="pull_message",response_code="pull_not_found",is_long_polling="true",result="success"} 1"#), "{text}");
        assert!(text.contains(r#"request_code="99999",response_code="success",is_long_polling="false",result="oneway"} 1"#), "{text}");
    }

    #[test]
    fn metrics_label_and_delta_add_common_labels() {
        let m = BrokerMetrics::new(true, "c", "n", "env:prod,cluster:x,bad,9a:b", true, false);
        m.record_in("T", MessageType::Normal, 1, 10);
        let text = m.encode();
        assert!(text.contains(r#"rocketmq_messages_in_total{cluster="c",node_type="broker",node_id="n",aggregation="delta",env="prod",topic="T","#), "{text}");
    }

    #[test]
    fn transaction_outcomes_are_counted_per_topic() {
        let m = BrokerMetrics::new(true, "c", "n", "", false, false);
        let born = crate::store::message_store::now_millis() - 7_000;
        m.record_end_transaction("T", true, born);
        m.record_end_transaction("T", true, born);
        m.record_end_transaction("U", false, born);
        let text = m.encode();
        assert!(text.contains(r#"rocketmq_commit_messages_total{cluster="c",node_type="broker",node_id="n",topic="T"} 2"#), "{text}");
        assert!(text.contains(r#"rocketmq_rollback_messages_total{cluster="c",node_type="broker",node_id="n",topic="U"} 1"#), "{text}");
        // Committed 7 s after birth: over the 5 s bucket, within the 1 min one; rollbacks are
        // not timed.
        assert!(text.contains(r#"rocketmq_finish_message_latency_bucket{cluster="c",node_type="broker",node_id="n",le="5.0",topic="T"} 0"#), "{text}");
        assert!(text.contains(r#"rocketmq_finish_message_latency_bucket{cluster="c",node_type="broker",node_id="n",le="60.0",topic="T"} 2"#), "{text}");
        assert!(!text.contains(r#"rocketmq_finish_message_latency_count{cluster="c",node_type="broker",node_id="n",topic="U"}"#), "{text}");
    }

    #[test]
    fn dead_letters_are_counted_per_group_and_topic() {
        let m = BrokerMetrics::new(true, "c", "n", "", false, false);
        m.record_dlq("T", "G");
        let text = m.encode();
        assert!(text.contains(r#"rocketmq_send_to_dlq_messages_total{cluster="c",node_type="broker",node_id="n",topic="T",consumer_group="G",is_system="false"} 1"#), "{text}");
    }
}
