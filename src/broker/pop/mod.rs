//! POP consumption state shared by the POP handlers and the revive service: the revive-topic
//! records (checkpoints and acks, [`records`]), the `POP_CK` extra-info convention
//! (`ExtraInfoUtil`), the per-queue pop locks (`QueueLockManager`), the long-polling notifiers
//! of popping consumers, and the request modes of `SET_MESSAGE_REQUEST_MODE`
//! ([`request_mode`]). [`revive`] brings un-acked messages back.

pub mod order;
pub mod records;
pub mod request_mode;
pub mod revive;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// `PopAckConstants.REVIVE_GROUP`: the system group whose offsets on the revive topic are the
/// revive progress.
pub const REVIVE_GROUP: &str = "CID_RMQ_SYS_REVIVE_GROUP";
/// `PopAckConstants.CK_TAG`.
pub const CK_TAG: &str = "ck";
/// `PopAckConstants.ACK_TAG`.
pub const ACK_TAG: &str = "ack";
/// `PopAckConstants.BATCH_ACK_TAG`.
pub const BATCH_ACK_TAG: &str = "bAck";
/// `KeyBuilder.POP_ORDER_REVIVE_QUEUE`: the revive queue id orderly pops report.
pub const POP_ORDER_REVIVE_QUEUE: i32 = 999;
/// `MessageConst.PROPERTY_POP_CK`.
pub const PROPERTY_POP_CK: &str = "POP_CK";
/// `MessageConst.PROPERTY_FIRST_POP_TIME`.
pub const PROPERTY_FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// `MessageConst.PROPERTY_TIMER_DELIVER_MS`.
pub const PROPERTY_TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// `PopAckConstants.buildClusterReviveTopic`.
#[must_use]
pub fn revive_topic(cluster: &str) -> String {
    format!("rmq_sys_REVIVE_LOG_{cluster}")
}

/// `KeyBuilder.buildPopRetryTopic`: `%RETRY%<group>_<topic>` (V1, the 5.3.3 default), or
/// `%RETRY%<group>+<topic>` with `enableRetryTopicV2`.
#[must_use]
pub fn pop_retry_topic(topic: &str, group: &str, v2: bool) -> String {
    let sep = if v2 { '+' } else { '_' };
    format!("{RETRY_PREFIX}{group}{sep}{topic}")
}

/// `KeyBuilder.isPopRetryTopicV2`.
#[must_use]
pub fn is_pop_retry_v2(topic: &str) -> bool {
    topic.starts_with(RETRY_PREFIX) && topic.contains('+')
}

/// `ExtraInfoUtil.getRetry(topic)`: "0" normal, "1" retry (V1), "2" retry V2.
#[must_use]
pub fn retry_mark(topic: &str) -> &'static str {
    if is_pop_retry_v2(topic) {
        "2"
    } else if topic.starts_with(RETRY_PREFIX) {
        "1"
    } else {
        "0"
    }
}

/// `ExtraInfoUtil.getRealTopic(topic, cid, retry)`.
#[must_use]
pub fn real_topic(topic: &str, group: &str, retry: &str) -> Option<String> {
    match retry {
        "0" => Some(topic.to_owned()),
        "1" => Some(pop_retry_topic(topic, group, false)),
        "2" => Some(pop_retry_topic(topic, group, true)),
        _ => None,
    }
}

/// `KeyBuilder.parseNormalTopic(topic, cid)`: the consumed topic behind a pop retry topic.
#[must_use]
pub fn normal_topic(topic: &str, group: &str) -> String {
    for sep in ['+', '_'] {
        let prefix = format!("{RETRY_PREFIX}{group}{sep}");
        if let Some(rest) = topic.strip_prefix(&prefix) {
            return rest.to_owned();
        }
    }
    topic.to_owned()
}

/// A parsed `POP_CK` / `extraInfo` (`ExtraInfoUtil.buildExtraInfo`): space-separated checkpoint
/// start offset, pop time, invisible time, revive queue, retry mark, broker name, queue id and,
/// in the 8-field form, the message's queue offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    /// Start offset of the checkpoint.
    pub ck_offset: i64,
    /// Pop time (ms).
    pub pop_time: i64,
    /// Invisible time (ms).
    pub invisible_time: i64,
    /// Revive queue.
    pub revive_qid: i32,
    /// "0", "1" or "2".
    pub retry: String,
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Queue offset of the message (8-field form).
    pub queue_offset: Option<i64>,
}

impl ExtraInfo {
    /// Parses an extra-info string; the error names the field Java's parser would fail on.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(' ').collect();
        let field = |i: usize, name: &str| {
            parts
                .get(i)
                .copied()
                .ok_or_else(|| format!("{name} fail, extraInfoStrs length {}", parts.len()))
        };
        let num = |i: usize, name: &str| -> Result<i64, String> {
            let s = field(i, name)?;
            s.parse()
                .map_err(|_| format!("For input string: \"{s}\" ({name})"))
        };
        Ok(Self {
            ck_offset: num(0, "getCkQueueOffset")?,
            pop_time: num(1, "getPopTime")?,
            invisible_time: num(2, "getInvisibleTime")?,
            revive_qid: i32::try_from(num(3, "getReviveQid")?)
                .map_err(|_| "getReviveQid out of range".to_owned())?,
            retry: field(4, "getRetry")?.to_owned(),
            broker_name: field(5, "getBrokerName")?.to_owned(),
            queue_id: i32::try_from(num(6, "getQueueId")?)
                .map_err(|_| "getQueueId out of range".to_owned())?,
            queue_offset: parts.get(7).and_then(|s| s.parse().ok()),
        })
    }

    /// The 8-field text (`buildExtraInfo` with the message offset; `retry` from
    /// [`retry_mark`] of the popped topic).
    #[must_use]
    pub fn to_text(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {}",
            self.ck_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry,
            self.broker_name,
            self.queue_id,
            self.queue_offset.unwrap_or(0)
        )
    }
}

/// The readable queues of a route: `(brokerName, readQueueNums)` per broker.
pub type RouteQueues = Vec<(String, i32)>;

/// Per-broker POP state.
#[derive(Debug, Default)]
pub struct PopState {
    /// `topic@group@queueId` keys being popped right now (`QueueLockManager`).
    locks: Mutex<HashSet<String>>,
    /// Topic → notifier woken when a message arrives on the topic (long polling).
    notifiers: Mutex<HashMap<String, Arc<Notify>>>,
    /// `ckMessageNumber`: spreads checkpoints over the revive queues.
    ck_number: AtomicU64,
    /// Xorshift state for `popFromRetryProbability` draws.
    rng: AtomicU64,
    /// POP request modes (`messageRequestMode.json`).
    pub modes: request_mode::RequestModes,
    /// Orderly POP state (`consumerOrderInfo.json`).
    pub orders: order::OrderInfos,
    /// Topic → (when learned, readable `(brokerName, readQueueNums)`) from the name server,
    /// for QUERY_ASSIGNMENT.
    routes: Mutex<HashMap<String, (i64, RouteQueues)>>,
}

/// Releases a queue lock when dropped.
#[derive(Debug)]
pub struct QueueLock<'a> {
    state: &'a PopState,
    key: String,
}

impl Drop for QueueLock<'_> {
    fn drop(&mut self) {
        let _ = self
            .state
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl PopState {
    /// A new state whose files live in the config directory `dir`.
    #[must_use]
    pub fn new(dir: &std::path::Path) -> Self {
        Self {
            modes: request_mode::RequestModes::load(dir.join("messageRequestMode.json")),
            orders: order::OrderInfos::load(dir.join("consumerOrderInfo.json")),
            ..Self::default()
        }
    }

    /// `QueueLockManager.tryLock(topic, group, queueId)`.
    pub fn try_lock(&self, topic: &str, group: &str, queue_id: i32) -> Option<QueueLock<'_>> {
        let key = format!("{topic}@{group}@{queue_id}");
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        if !locks.insert(key.clone()) {
            return None;
        }
        Some(QueueLock { state: self, key })
    }

    /// The long-polling notifier of a topic.
    #[must_use]
    pub fn notifier(&self, topic: &str) -> Arc<Notify> {
        let mut m = self
            .notifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(m.entry(topic.to_owned()).or_default())
    }

    /// Wakes the pops waiting on a topic (called by the dispatcher for every arrival).
    pub fn notify(&self, topic: &str) {
        let n = self
            .notifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .cloned();
        if let Some(n) = n {
            n.notify_waiters();
        }
    }

    /// A cached route no older than `since` (ms).
    #[must_use]
    pub fn cached_route(&self, topic: &str, since: i64) -> Option<RouteQueues> {
        let m = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        m.get(topic)
            .filter(|(at, _)| *at >= since)
            .map(|(_, qs)| qs.clone())
    }

    /// Caches a route learned at `at` (ms). The cache is bounded by clearing it when full.
    pub fn cache_route(&self, topic: &str, queues: RouteQueues, at: i64) {
        let mut m = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        if m.len() >= crate::limits::POP_ROUTE_CACHE_MAX && !m.contains_key(topic) {
            m.clear();
        }
        let _ = m.insert(topic.to_owned(), (at, queues));
    }

    /// A draw in 0..100 (`random.nextInt(100)`).
    pub fn random_percent(&self) -> i32 {
        let mut x = self.rng.load(Ordering::Relaxed);
        if x == 0 {
            x = u64::try_from(crate::store::message_store::now_millis()).unwrap_or(1) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        i32::try_from(x % 100).unwrap_or(0)
    }

    /// The next revive queue for a checkpoint (`ckMessageNumber % reviveQueueNum`).
    pub fn next_revive_qid(&self, revive_queue_num: i32) -> i32 {
        let n = self.ck_number.fetch_add(1, Ordering::Relaxed);
        let m = u64::try_from(revive_queue_num.max(1)).unwrap_or(1);
        i32::try_from(n % m).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_info_round_trip() {
        let t = ExtraInfo {
            ck_offset: 5,
            pop_time: 1000,
            invisible_time: 60_000,
            revive_qid: 3,
            retry: retry_mark("%RETRY%G_T").to_owned(),
            broker_name: "b".into(),
            queue_id: 0,
            queue_offset: Some(7),
        }
        .to_text();
        assert_eq!(t, "5 1000 60000 3 1 b 0 7");
        let e = ExtraInfo::parse(&t).unwrap();
        assert_eq!((e.ck_offset, e.revive_qid, e.queue_offset), (5, 3, Some(7)));
        assert_eq!(e.retry, "1");
        assert!(ExtraInfo::parse("5 1000").is_err());
        assert!(ExtraInfo::parse("x 1 2 3 0 b 0").is_err());
    }

    #[test]
    fn retry_topics() {
        assert_eq!(pop_retry_topic("T", "G", false), "%RETRY%G_T");
        assert_eq!(pop_retry_topic("T", "G", true), "%RETRY%G+T");
        assert_eq!(normal_topic("%RETRY%G_T", "G"), "T");
        assert_eq!(normal_topic("%RETRY%G+T", "G"), "T");
        assert_eq!(retry_mark("%RETRY%G+T"), "2");
        assert_eq!(real_topic("T", "G", "1").as_deref(), Some("%RETRY%G_T"));
    }

    #[test]
    fn queue_lock_is_exclusive() {
        let s = PopState::default();
        let l = s.try_lock("T", "G", 0);
        assert!(l.is_some());
        assert!(s.try_lock("T", "G", 0).is_none());
        drop(l);
        assert!(s.try_lock("T", "G", 0).is_some());
    }
}
