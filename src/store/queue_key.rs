//! Tables keyed by (topic, queue id) — the ConsumeQueue table and the appender's next queue
//! offsets — looked up with a borrowed topic, so the send path and the dispatcher do not
//! allocate a `String` per message just to ask.
//!
//! The owned key stays `(String, i32)`; it borrows as `dyn QueueKey`, which hashes and compares
//! exactly as the tuple does, so `HashMap::get` accepts a `(&str, i32)` through
//! [`QueueKey`] (the standard library has no other way to look up a tuple key by parts).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

/// A (topic, queue id) pair, owned or borrowed.
pub(crate) trait QueueKey {
    /// The topic and the queue id.
    fn parts(&self) -> (&str, i32);
}

impl QueueKey for (String, i32) {
    fn parts(&self) -> (&str, i32) {
        (self.0.as_str(), self.1)
    }
}

impl QueueKey for (&str, i32) {
    fn parts(&self) -> (&str, i32) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn QueueKey + 'a> for (String, i32) {
    fn borrow(&self) -> &(dyn QueueKey + 'a) {
        self
    }
}

/// Hashes as `(String, i32)` does (the `str` then the `i32`), which `Borrow` requires.
impl Hash for dyn QueueKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn QueueKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn QueueKey + '_ {}

/// The value for (`topic`, `queue_id`), without allocating.
pub(crate) fn get<'m, V, S: BuildHasher>(
    map: &'m HashMap<(String, i32), V, S>,
    topic: &str,
    queue_id: i32,
) -> Option<&'m V> {
    map.get(&(topic, queue_id) as &dyn QueueKey)
}

/// Sets the value for (`topic`, `queue_id`); the topic is copied only for a new key.
pub(crate) fn set<V, S: BuildHasher>(
    map: &mut HashMap<(String, i32), V, S>,
    topic: &str,
    queue_id: i32,
    value: V,
) {
    match map.get_mut(&(topic, queue_id) as &dyn QueueKey) {
        Some(slot) => *slot = value,
        None => {
            let _new = map.insert((topic.to_owned(), queue_id), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_lookups_find_owned_keys_and_set_updates_in_place() {
        let mut m: HashMap<(String, i32), i64> = HashMap::new();
        set(&mut m, "TopicA", 3, 7);
        set(&mut m, "TopicA", 4, 8);
        set(&mut m, "TopicA", 3, 9);
        assert_eq!(m.len(), 2);
        assert_eq!(get(&m, "TopicA", 3), Some(&9));
        assert_eq!(get(&m, "TopicA", 4), Some(&8));
        assert_eq!(get(&m, "TopicA", 5), None);
        assert_eq!(get(&m, "TopicB", 3), None);
        assert_eq!(m.get(&("TopicA".to_owned(), 3)), Some(&9));
    }
}
