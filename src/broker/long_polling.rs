//! Long polling (`PullRequestHoldService`): a pull that finds nothing waits on its queue's
//! notifier until a message is dispatched to that queue or its suspend time runs out.
//! Waiters are bounded; past the bound, pulls are answered at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::store::dispatch::WaitingReaders;

/// Most pulls held at once, all queues together. Java bounds them only by client count.
pub const MAX_HELD_PULLS: usize = 65_536;

/// Queue id → notifier, within one topic.
type QueueNotifiers = HashMap<i32, Arc<Notify>, foldhash::fast::RandomState>;

/// Per-queue notifiers.
#[derive(Debug, Default)]
pub struct HoldService {
    /// Topic → queue id → notifier: the dispatcher looks a queue up by `&str` for every record,
    /// with no key to allocate. A std mutex: never held across an await.
    notifiers: Mutex<HashMap<String, QueueNotifiers, foldhash::fast::RandomState>>,
    /// Pulls and pops currently waiting, shared with the store's dispatcher (which dispatches
    /// each append at once while any wait).
    held: Arc<WaitingReaders>,
}

/// Releases a hold slot when dropped.
#[derive(Debug)]
pub struct HoldSlot<'a>(&'a WaitingReaders);

impl Drop for HoldSlot<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl HoldService {
    /// Holds counted in the store's `waiting` (see [`crate::store::MessageStore::waiting_readers`]).
    #[must_use]
    pub fn new(waiting: Arc<WaitingReaders>) -> Self {
        Self {
            notifiers: Mutex::default(),
            held: waiting,
        }
    }

    /// The notifier of a queue.
    #[must_use]
    pub fn notifier(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut m = self
            .notifiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(queues) = m.get_mut(topic) {
            return Arc::clone(queues.entry(queue_id).or_default());
        }
        Arc::clone(
            m.entry(topic.to_owned())
                .or_default()
                .entry(queue_id)
                .or_default(),
        )
    }

    /// Wakes every pull held on a queue (called by the dispatcher).
    pub fn notify(&self, topic: &str, queue_id: i32) {
        let n = {
            let m = self
                .notifiers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            m.get(topic).and_then(|q| q.get(&queue_id)).cloned()
        };
        let Some(n) = n else {
            return;
        };
        n.notify_waiters();
        if crate::store::lmq::is_lmq(topic) {
            drop(n);
            let mut m = self
                .notifiers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(queues) = m.get_mut(topic) {
                if queues
                    .get(&queue_id)
                    .is_some_and(|n| Arc::strong_count(n) == 1)
                {
                    let _ = queues.remove(&queue_id);
                }
                if queues.is_empty() {
                    let _ = m.remove(topic);
                }
            }
        }
    }

    /// Drops the notifiers of LMQs no pull is waiting on, as `LmqPullRequestHoldService` drops
    /// empty LMQ entries: there may be many thousands of LMQs. A notifier held by nobody but
    /// this map has no waiter, and a later pull makes a new one under the same lock.
    pub fn prune_idle_lmq(&self) {
        let mut m = self
            .notifiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.retain(|topic, queues| {
            if crate::store::lmq::is_lmq(topic) {
                queues.retain(|_, n| Arc::strong_count(n) > 1);
            }
            !queues.is_empty()
        });
    }

    /// Queues with a notifier (for tests and metrics).
    #[must_use]
    pub fn notifier_count(&self) -> usize {
        self.notifiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(HashMap::len)
            .sum()
    }

    /// Takes a hold slot, or `None` when [`MAX_HELD_PULLS`] are already held.
    pub fn try_hold(&self) -> Option<HoldSlot<'_>> {
        let prev = self.held.enter();
        if prev >= MAX_HELD_PULLS {
            self.held.leave();
            return None;
        }
        // Java holds a long-polled request outside its executor's queue.
        super::request_pools::park_current();
        Some(HoldSlot(&self.held))
    }

    /// Pulls held right now.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held.count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lmq::LMQ_PREFIX;

    #[tokio::test]
    async fn notify_wakes_the_queue_waiter_and_prunes_idle_lmq_notifiers() {
        let holds = HoldService::default();
        let plain = holds.notifier("TopicA", 3);
        assert!(
            Arc::ptr_eq(&plain, &holds.notifier("TopicA", 3)),
            "one notifier per queue"
        );
        let other = holds.notifier("TopicA", 4);
        let wait = plain.notified();
        tokio::pin!(wait);
        wait.as_mut().enable();
        holds.notify("TopicA", 4);
        holds.notify("TopicB", 3);
        assert_eq!(holds.notifier_count(), 2);
        holds.notify("TopicA", 3);
        tokio::time::timeout(std::time::Duration::from_secs(5), wait)
            .await
            .expect("the held pull on TopicA/3 is woken");
        drop(other);

        let lmq = format!("{LMQ_PREFIX}group1");
        drop(holds.notifier(&lmq, 0));
        assert_eq!(holds.notifier_count(), 3);
        holds.notify(&lmq, 0);
        assert_eq!(
            holds.notifier_count(),
            2,
            "an LMQ notifier nobody waits on is dropped"
        );
        let kept = holds.notifier(&lmq, 1);
        holds.prune_idle_lmq();
        assert_eq!(
            holds.notifier_count(),
            3,
            "a waited-on LMQ notifier and plain ones stay"
        );
        drop(kept);
        holds.prune_idle_lmq();
        assert_eq!(holds.notifier_count(), 2);
    }
}
