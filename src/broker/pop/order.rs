//! `ConsumerOrderInfoManager`: orderly POP. A queue popped in order is blocked for the group
//! until every message of the batch is acked or its invisible time has passed; acks move the
//! group's offset to the first un-acked message; re-popped messages carry how often they were
//! delivered (`orderCountInfo`). Kept in `config/consumerOrderInfo.json` as fastjson writes it
//! (the callers persist after each change).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use serde_json::Value;
use tracing::warn;

use crate::broker::config_file::{self, ConfigFile, ConfigManager};
use crate::remoting::json_tree::{Key, Node, sort_java_hash};
use crate::store::message_store::now_millis;

/// `OrderInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderInfo {
    /// `popTime` of the batch.
    pub pop_time: i64,
    /// `i`: invisible time of the batch.
    pub invisible_time: Option<i64>,
    /// `o`: first queue offset, then each other's distance from it.
    pub offset_list: Vec<i64>,
    /// `ot`: per-offset next visible time (changed invisible times).
    pub offset_next_visible_time: BTreeMap<i64, i64>,
    /// `oc`: per-offset delivery count (only counts above 0).
    pub offset_consumed_count: BTreeMap<i64, i32>,
    /// `l`.
    pub last_consume_timestamp: i64,
    /// `cm`: acked messages, bit i for the i-th.
    pub commit_offset_bit: i64,
    /// `a`.
    pub attempt_id: Option<String>,
}

impl OrderInfo {
    fn new(attempt: Option<&str>, pop_time: i64, invisible: i64, offsets: &[i64]) -> Self {
        let first = offsets.first().copied().unwrap_or(0);
        let offset_list = offsets
            .iter()
            .enumerate()
            .map(|(i, o)| if i == 0 { *o } else { o - first })
            .collect();
        Self {
            pop_time,
            invisible_time: Some(invisible),
            offset_list,
            last_consume_timestamp: now_millis(),
            attempt_id: attempt.map(str::to_owned),
            ..Self::default()
        }
    }

    /// `getQueueOffset`.
    fn queue_offset(&self, i: usize) -> i64 {
        let first = self.offset_list.first().copied().unwrap_or(0);
        if i == 0 {
            first
        } else {
            first + self.offset_list.get(i).copied().unwrap_or(0)
        }
    }

    fn is_not_ack(&self, i: usize) -> bool {
        i >= 64 || self.commit_offset_bit & (1 << i) == 0
    }

    /// `needBlock`: an un-acked message of the batch is still invisible.
    fn need_block(&mut self, attempt: Option<&str>, invisible: i64, now: i64) -> bool {
        if self.offset_list.is_empty() {
            return false;
        }
        if self.attempt_id.is_some() && self.attempt_id.as_deref() == attempt {
            return false;
        }
        if self.invisible_time.is_none_or(|t| t <= 0) {
            self.invisible_time = Some(invisible);
        }
        let base = self.pop_time + self.invisible_time.unwrap_or(invisible);
        (0..self.offset_list.len()).any(|i| {
            self.is_not_ack(i)
                && now
                    < self
                        .offset_next_visible_time
                        .get(&self.queue_offset(i))
                        .copied()
                        .unwrap_or(base)
        })
    }

    /// `getNextOffset`: the first un-acked offset, or one past the batch.
    fn next_offset(&self) -> i64 {
        let n = self.offset_list.len();
        if n == 0 {
            return -2;
        }
        match (0..n).find(|i| self.is_not_ack(*i)) {
            Some(i) => self.queue_offset(i),
            None => self.queue_offset(n - 1) + 1,
        }
    }

    /// `mergeOffsetConsumedCount`.
    fn merge_counts(&mut self, prev: &Self) {
        if prev.attempt_id.is_some() && prev.attempt_id == self.attempt_id {
            self.offset_consumed_count = prev.offset_consumed_count.clone();
            return;
        }
        let before: Vec<i64> = (0..prev.offset_list.len())
            .map(|i| prev.queue_offset(i))
            .collect();
        let mut counts = BTreeMap::new();
        for i in 0..self.offset_list.len() {
            let o = self.queue_offset(i);
            if before.contains(&o) {
                let n = prev.offset_consumed_count.get(&o).copied().unwrap_or(0) + 1;
                let _ = counts.insert(o, n);
            }
        }
        self.offset_consumed_count = counts;
    }

    fn to_node(&self) -> Node {
        let mut pairs = Vec::new();
        if let Some(a) = &self.attempt_id {
            pairs.push(("a", Node::str(a)));
        }
        pairs.push(("cm", Node::Int(self.commit_offset_bit)));
        if let Some(i) = self.invisible_time {
            pairs.push(("i", Node::Int(i)));
        }
        pairs.push(("l", Node::Int(self.last_consume_timestamp)));
        pairs.push((
            "o",
            Node::Array(self.offset_list.iter().map(|o| Node::Int(*o)).collect()),
        ));
        let map = |m: Vec<(Key, Node)>| {
            let mut m = m;
            sort_java_hash(&mut m, 16);
            Node::Object(m)
        };
        if !self.offset_consumed_count.is_empty() {
            pairs.push((
                "oc",
                map(self
                    .offset_consumed_count
                    .iter()
                    .map(|(k, v)| (Key::Int(*k), Node::Int(i64::from(*v))))
                    .collect()),
            ));
        }
        if !self.offset_next_visible_time.is_empty() {
            pairs.push((
                "ot",
                map(self
                    .offset_next_visible_time
                    .iter()
                    .map(|(k, v)| (Key::Int(*k), Node::Int(*v)))
                    .collect()),
            ));
        }
        pairs.push(("popTime", Node::Int(self.pop_time)));
        Node::object(pairs)
    }

    fn from_value(v: &Value) -> Self {
        let i = |k: &str| v.get(k).and_then(Value::as_i64);
        let int_map = |k: &str| -> BTreeMap<i64, i64> {
            v.get(k)
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_i64()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            pop_time: i("popTime").unwrap_or(0),
            invisible_time: i("i"),
            offset_list: v
                .get("o")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
            offset_next_visible_time: int_map("ot"),
            offset_consumed_count: int_map("oc")
                .into_iter()
                .map(|(k, v)| (k, i32::try_from(v).unwrap_or(i32::MAX)))
                .collect(),
            last_consume_timestamp: i("l").unwrap_or(0),
            commit_offset_bit: i("cm").unwrap_or(0),
            attempt_id: v.get("a").and_then(Value::as_str).map(str::to_owned),
        }
    }
}

type Table = BTreeMap<String, BTreeMap<i32, OrderInfo>>;

/// The orderly-POP state of every topic, group and queue.
#[derive(Debug)]
pub struct OrderInfos {
    file: ConfigFile,
    table: Mutex<Table>,
}

impl Default for OrderInfos {
    fn default() -> Self {
        Self {
            file: ConfigFile::new(PathBuf::from("consumerOrderInfo.json")),
            table: Mutex::new(Table::new()),
        }
    }
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}@{group}")
}

impl OrderInfos {
    /// Loads `consumerOrderInfo.json` (or its `.bak`). Integer keys are quoted first, as
    /// fastjson writes them bare.
    #[must_use]
    pub fn load(path: PathBuf) -> Self {
        let mut table = Table::new();
        if let Some(text) = config_file::load(&path) {
            let quoted = crate::broker::consumer_offset::quote_integer_keys(&text);
            match serde_json::from_str::<Value>(&quoted) {
                Ok(v) => {
                    if let Some(Value::Object(t)) = v.get("table") {
                        for (k, qs) in t {
                            let Some(qs) = qs.as_object() else { continue };
                            let e: &mut BTreeMap<i32, OrderInfo> =
                                table.entry(k.clone()).or_default();
                            for (q, info) in qs {
                                if let Ok(q) = q.parse() {
                                    let _ = e.insert(q, OrderInfo::from_value(info));
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "cannot parse consumerOrderInfo.json")
                }
            }
        }
        Self {
            file: ConfigFile::new(path),
            table: Mutex::new(table),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Table) -> R) -> R {
        f(&mut self.table.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// `checkBlock`.
    pub fn check_block(
        &self,
        attempt: Option<&str>,
        topic: &str,
        group: &str,
        queue_id: i32,
        invisible: i64,
    ) -> bool {
        let now = now_millis();
        self.with(|t| {
            t.get_mut(&key(topic, group))
                .and_then(|qs| qs.get_mut(&queue_id))
                .is_some_and(|o| o.need_block(attempt, invisible, now))
        })
    }

    /// `update`: records a popped batch; appends to `order_count_info` (`buildQueueOffsetOrderCountInfo`
    /// per counted offset, then `buildQueueIdOrderCountInfo` with the smallest count).
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        attempt: Option<&str>,
        retry_mark: &str,
        topic: &str,
        group: &str,
        queue_id: i32,
        pop_time: i64,
        invisible: i64,
        offsets: &[i64],
        order_count_info: &mut String,
    ) {
        let mut info = OrderInfo::new(attempt, pop_time, invisible, offsets);
        self.with(|t| {
            let qs = t.entry(key(topic, group)).or_default();
            if let Some(prev) = qs.get(&queue_id) {
                info.merge_counts(prev);
            }
            let mut min = i32::MAX;
            for (o, n) in &info.offset_consumed_count {
                if !order_count_info.is_empty() {
                    order_count_info.push(';');
                }
                order_count_info.push_str(&format!("{retry_mark} qo{queue_id}%{o} {n}"));
                min = min.min(*n);
            }
            if info.offset_consumed_count.len() != info.offset_list.len() {
                min = 0;
            }
            if !order_count_info.is_empty() {
                order_count_info.push(';');
            }
            order_count_info.push_str(&format!("{retry_mark} {queue_id} {min}"));
            let _ = qs.insert(queue_id, info);
        });
    }

    /// `commitAndNext`: -1 illegal, -2 nothing to commit, else the offset to commit.
    pub fn commit_and_next(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        pop_time: i64,
    ) -> i64 {
        self.with(|t| {
            let Some(o) = t
                .get_mut(&key(topic, group))
                .and_then(|qs| qs.get_mut(&queue_id))
            else {
                return offset + 1;
            };
            if o.offset_list.is_empty() {
                return -1;
            }
            if pop_time != o.pop_time {
                return -2;
            }
            let Some(i) = (0..o.offset_list.len()).find(|i| o.queue_offset(*i) == offset) else {
                return -1;
            };
            if i < 64 {
                o.commit_offset_bit |= 1 << i;
            }
            o.next_offset()
        })
    }

    /// `updateNextVisibleTime`.
    pub fn update_next_visible_time(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        pop_time: i64,
        next_visible: i64,
    ) {
        self.with(|t| {
            if let Some(o) = t
                .get_mut(&key(topic, group))
                .and_then(|qs| qs.get_mut(&queue_id))
                && o.pop_time == pop_time
            {
                let _ = o.offset_next_visible_time.insert(offset, next_visible);
            }
        });
    }

    /// `{"table":{"topic@group":{queueId:OrderInfo}}}`.
    #[must_use]
    pub fn to_node(&self) -> Node {
        self.with(|t| {
            let mut keys: Vec<(Key, Node)> = t
                .iter()
                .map(|(k, qs)| {
                    let mut q: Vec<(Key, Node)> = qs
                        .iter()
                        .map(|(id, o)| (Key::Int(i64::from(*id)), o.to_node()))
                        .collect();
                    sort_java_hash(&mut q, 16);
                    (Key::Str(k.clone()), Node::Object(q))
                })
                .collect();
            sort_java_hash(&mut keys, 128);
            Node::object(vec![("table", Node::Object(keys))])
        })
    }
}

impl ConfigManager for OrderInfos {
    fn config_file(&self) -> &ConfigFile {
        &self.file
    }

    fn encode(&self) -> String {
        self.to_node().to_pretty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_order_info() {
        // The same calls as a Java 5.3.3 ConsumerOrderInfoManager, whose answers were
        // "0 1 0", 5, "0 qo1%5 1;0 qo1%8 1;0 1 1".
        let m = OrderInfos::default();
        let mut info = String::new();
        let put = |attempt: &str, pt: i64, offs: &[i64], out: &mut String| {
            m.update(Some(attempt), "0", "T", "G", 1, pt, 60_000, offs, out);
        };
        let now = now_millis();
        put("att", now, &[5, 6, 8], &mut info);
        assert_eq!(info, "0 1 0");
        assert!(m.check_block(None, "T", "G", 1, 60_000));
        assert!(!m.check_block(Some("att"), "T", "G", 1, 60_000));
        assert_eq!(
            m.commit_and_next("T", "G", 1, 6, 999),
            -2,
            "another pop's ack"
        );
        assert_eq!(
            m.commit_and_next("T", "G", 1, 7, now),
            -1,
            "not in the batch"
        );
        assert_eq!(m.commit_and_next("T", "G", 1, 6, now), 5);
        let mut info2 = String::new();
        put("att2", 2000, &[5, 8], &mut info2);
        assert_eq!(info2, "0 qo1%5 1;0 qo1%8 1;0 1 1");
        let text = m.to_node().to_compact();
        let l = m.with(|t| t["T@G"][&1].last_consume_timestamp);
        assert_eq!(
            text,
            format!(
                r#"{{"table":{{"T@G":{{1:{{"a":"att2","cm":0,"i":60000,"l":{l},"o":[5,3],"oc":{{5:1,8:1}},"popTime":2000}}}}}}}}"#
            )
        );
    }
}
