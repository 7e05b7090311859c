//! Deleting a topic's derived files (`DefaultMessageStore.deleteTopics`): its ConsumeQueues
//! leave the queue table, their files and directories are removed, and the next queue offsets
//! are forgotten, so a topic created again under the same name starts at queue offset 0. The
//! CommitLog records stay until retention removes them, as in Java.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::StoreError;
use super::consume_queue::ConsumeQueue;
use super::message_store::MessageStore;
use crate::limits::DELETE_TOPIC_DISPATCH_WAIT;

impl MessageStore {
    /// Removes every ConsumeQueue of each topic; returns how many queues were removed.
    ///
    /// Records of the topic still waiting for dispatch are given up to
    /// [`DELETE_TOPIC_DISPATCH_WAIT`] to land first, so the dispatcher does not recreate a
    /// queue right after it is deleted. The put lock and the dispatch lock are held while the
    /// table changes (the same order as a replica's truncation takes them).
    pub fn delete_topics(&self, topics: &[&str]) -> Result<usize, StoreError> {
        let _ = self.wait_dispatched(DELETE_TOPIC_DISPATCH_WAIT);
        let wanted: HashSet<&str> = topics.iter().copied().collect();
        let mut state = self.put_state.lock().map_err(|_| StoreError::Poisoned)?;
        let _dispatching = self
            .dispatch_lock
            .lock()
            .map_err(|_| StoreError::Poisoned)?;
        let removed: Vec<Arc<ConsumeQueue>> = {
            let mut queues = self.queues.write().map_err(|_| StoreError::Poisoned)?;
            let keys: Vec<(String, i32)> = queues
                .keys()
                .filter(|(t, _)| wanted.contains(t.as_str()))
                .cloned()
                .collect();
            keys.iter().filter_map(|k| queues.remove(k)).collect()
        };
        state
            .queue_offsets
            .retain(|(t, _), _| !wanted.contains(t.as_str()));
        drop(state);
        let lmq_removed = removed
            .iter()
            .filter(|q| super::lmq::is_lmq(&q.topic))
            .count();
        if lmq_removed > 0 {
            let _ = self
                .lmq_queue_count
                .fetch_sub(lmq_removed, Ordering::AcqRel);
        }
        for q in &removed {
            q.destroy()?;
        }
        let root = self.config.consume_queue_dir();
        for topic in &wanted {
            remove_dir_if_present(&root.join(topic))?;
        }
        tracing::info!(topics = ?topics, queues = removed.len(), "deleted the topics' ConsumeQueues");
        Ok(removed.len())
    }
}

/// Removes a directory tree; a missing one is not an error.
fn remove_dir_if_present(dir: &std::path::Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
