//! Long polling (`PullRequestHoldService`): a pull that finds nothing waits on its queue's
//! notifier until a message is dispatched to that queue or its suspend time runs out.
//! Waiters are bounded; past the bound, pulls are answered at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::store::dispatch::WaitingReaders;

/// Most pulls held at once, all queues together. Java bounds them only by client count.
pub const MAX_HELD_PULLS: usize = 65_536;

/// Per-queue notifiers.
#[derive(Debug, Default)]
pub struct HoldService {
    /// (topic, queue id) → notifier. A std mutex: never held across an await.
    notifiers: Mutex<HashMap<(String, i32), Arc<Notify>>>,
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
        Arc::clone(m.entry((topic.to_owned(), queue_id)).or_default())
    }

    /// Wakes every pull held on a queue (called by the dispatcher).
    pub fn notify(&self, topic: &str, queue_id: i32) {
        let n = {
            let m = self
                .notifiers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            m.get(&(topic.to_owned(), queue_id)).cloned()
        };
        if let Some(n) = n {
            n.notify_waiters();
        }
        if crate::store::lmq::is_lmq(topic) {
            let mut m = self
                .notifiers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = (topic.to_owned(), queue_id);
            if m.get(&key).is_some_and(|n| Arc::strong_count(n) == 1) {
                let _ = m.remove(&key);
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
        m.retain(|(topic, _), n| !crate::store::lmq::is_lmq(topic) || Arc::strong_count(n) > 1);
    }

    /// Queues with a notifier (for tests and metrics).
    #[must_use]
    pub fn notifier_count(&self) -> usize {
        self.notifiers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
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
