//! Per-topic and per-group statistics windows (`BrokerStatsManager`'s `StatsItemSet`s, read by
//! VIEW_BROKER_STATS_DATA for `mqadmin statsAll`, the dashboard and rocketmq-exporter).
//!
//! Each item keeps a running sum (`value`) and call count (`times`), sampled as Java's
//! `StatsItem` does: every 10 s into the minute list (7 snapshots kept), every 10 min into the
//! hour list (7 kept), every hour into the day list (25 kept). An item's first snapshot in a
//! list is a synthetic zero dated one period earlier, so its first window counts everything.
//! A window's figures are `sum = last.value - first.value`, `tps = sum * 1000 / Δt` and
//! `avgpt = sum / Δtimes`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// `Stats.TOPIC_PUT_NUMS`: messages stored per topic (key: topic).
pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
/// `Stats.TOPIC_PUT_SIZE`: bytes stored per topic.
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
/// `Stats.GROUP_GET_NUMS`: messages delivered per `topic@group`.
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
/// `Stats.GROUP_GET_SIZE`: bytes delivered per `topic@group`.
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
/// `Stats.SNDBCK_PUT_NUMS`: messages sent back per `topic@group`.
pub const SNDBCK_PUT_NUMS: &str = "SNDBCK_PUT_NUMS";
/// `Stats.BROKER_PUT_NUMS`: messages stored (key: cluster name).
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
/// `Stats.BROKER_GET_NUMS`: messages delivered (key: cluster name).
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

/// Snapshots kept in the minute and hour lists (`StatsItem`: `size() > 7` drops the oldest).
const MINUTE_HOUR_KEEP: usize = 7;
/// Snapshots kept in the day list.
const DAY_KEEP: usize = 25;
/// Sampling periods (ms) of the minute, hour and day lists.
const PERIOD_MS: [i64; 3] = [10_000, 600_000, 3_600_000];

/// One `CallSnapshot`.
#[derive(Debug, Clone, Copy)]
struct Snap {
    ms: i64,
    times: u64,
    value: u64,
}

#[derive(Debug, Default)]
struct Item {
    value: u64,
    times: u64,
    /// Minute, hour and day lists.
    lists: [VecDeque<Snap>; 3],
}

/// A window's figures (`StatsSnapshot` / `BrokerStatsItem`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Value added in the window.
    pub sum: u64,
    /// Per second.
    pub tps: f64,
    /// Value per call.
    pub avgpt: f64,
}

/// Which list: the minute, hour or day window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Sampled every 10 s.
    Minute = 0,
    /// Sampled every 10 min.
    Hour = 1,
    /// Sampled every hour.
    Day = 2,
}

/// The maps' hasher: seeded and fast (keys are topic and group names the broker already holds).
type Hasher = foldhash::fast::RandomState;

/// Every item, by stats name, then stats key (two levels, so adding to an existing item
/// looks its key up by `&str` and allocates nothing).
#[derive(Debug, Default)]
pub struct StatsItems {
    items: Mutex<HashMap<&'static str, HashMap<String, Item, Hasher>, Hasher>>,
}

impl StatsItems {
    /// Adds `value` in one call to an item (`StatsItemSet.addValue`).
    pub fn add(&self, name: &'static str, key: &str, value: u64, times: u64) {
        if let Ok(mut m) = self.items.lock() {
            let set = m.entry(name).or_default();
            if let Some(item) = set.get_mut(key) {
                item.value = item.value.saturating_add(value);
                item.times = item.times.saturating_add(times);
                return;
            }
            let _ = set.insert(
                key.to_owned(),
                Item {
                    value,
                    times,
                    ..Item::default()
                },
            );
        }
    }

    /// Records a snapshot of every item into one list (the scheduled `samplingIn*`).
    pub fn sample(&self, span: Span, now_ms: i64) {
        let i = span as usize;
        let keep = if span == Span::Day {
            DAY_KEEP
        } else {
            MINUTE_HOUR_KEEP
        };
        let period = PERIOD_MS.get(i).copied().unwrap_or(10_000);
        let Ok(mut m) = self.items.lock() else {
            return;
        };
        for item in m.values_mut().flat_map(HashMap::values_mut) {
            let (times, value) = (item.times, item.value);
            let Some(list) = item.lists.get_mut(i) else {
                continue;
            };
            if list.is_empty() {
                list.push_back(Snap {
                    ms: now_ms - period,
                    times: 0,
                    value: 0,
                });
            }
            list.push_back(Snap {
                ms: now_ms,
                times,
                value,
            });
            while list.len() > keep {
                let _ = list.pop_front();
            }
        }
    }

    /// Called once a second with the seconds since start: samples the lists whose period is due.
    pub fn tick(&self, second: u64, now_ms: i64) {
        if second.is_multiple_of(10) {
            self.sample(Span::Minute, now_ms);
        }
        if second.is_multiple_of(600) {
            self.sample(Span::Hour, now_ms);
        }
        if second.is_multiple_of(3600) {
            self.sample(Span::Day, now_ms);
        }
    }

    /// One item's window, or `None` when the item does not exist (Java: "The stats <…> <…> not
    /// exist").
    #[must_use]
    pub fn window(&self, name: &str, key: &str, span: Span) -> Option<Window> {
        let m = self.items.lock().ok()?;
        let item = m.get(name)?.get(key)?;
        let list = item.lists.get(span as usize)?;
        let (Some(first), Some(last)) = (list.front(), list.back()) else {
            return Some(Window::default());
        };
        let sum = last.value.saturating_sub(first.value);
        let dt = last.ms - first.ms;
        #[allow(clippy::cast_precision_loss)]
        let tps = if dt > 0 {
            sum as f64 * 1000.0 / dt as f64
        } else {
            0.0
        };
        let dtimes = last.times.saturating_sub(first.times);
        #[allow(clippy::cast_precision_loss)]
        let avgpt = if dtimes > 0 {
            sum as f64 / dtimes as f64
        } else {
            0.0
        };
        Some(Window { sum, tps, avgpt })
    }

    /// Keys of one stats name (sorted), e.g. the `topic@group` pairs of GROUP_GET_NUMS.
    #[must_use]
    pub fn keys(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .items
            .lock()
            .map(|m| {
                m.get(name)
                    .map(|set| set.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Drops a topic's items (DELETE_TOPIC_IN_BROKER: `BrokerStatsManager.onTopicDeleted`).
    pub fn remove_topic(&self, topic: &str) {
        if let Ok(mut m) = self.items.lock() {
            let prefix = format!("{topic}@");
            for set in m.values_mut() {
                set.retain(|k, _| k != topic && !k.starts_with(&prefix));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_window_counts_from_the_synthetic_zero() {
        let s = StatsItems::default();
        s.add(TOPIC_PUT_NUMS, "T", 60, 60);
        assert_eq!(
            s.window(TOPIC_PUT_NUMS, "T", Span::Minute),
            Some(Window::default())
        );
        s.sample(Span::Minute, 100_000);
        let w = s.window(TOPIC_PUT_NUMS, "T", Span::Minute).unwrap();
        assert_eq!(w.sum, 60);
        assert!((w.tps - 6.0).abs() < 1e-9, "60 in 10 s: {}", w.tps);
        assert!((w.avgpt - 1.0).abs() < 1e-9);
        assert_eq!(s.window(TOPIC_PUT_NUMS, "missing", Span::Minute), None);
    }

    #[test]
    fn minute_window_keeps_seven_snapshots() {
        let s = StatsItems::default();
        for i in 0..10 {
            s.add(GROUP_GET_NUMS, "T@G", 10, 1);
            s.sample(Span::Minute, 10_000 * (i + 1));
        }
        // Seven snapshots span six periods of 10 messages each.
        let w = s.window(GROUP_GET_NUMS, "T@G", Span::Minute).unwrap();
        assert_eq!(w.sum, 60);
        assert!((w.tps - 1.0).abs() < 1e-9);
        assert!((w.avgpt - 10.0).abs() < 1e-9);
    }

    #[test]
    fn tick_samples_each_list_at_its_period() {
        let s = StatsItems::default();
        s.add(TOPIC_PUT_SIZE, "T", 5, 1);
        s.tick(10, 10_000);
        assert_eq!(s.window(TOPIC_PUT_SIZE, "T", Span::Minute).unwrap().sum, 5);
        assert_eq!(s.window(TOPIC_PUT_SIZE, "T", Span::Hour).unwrap().sum, 0);
        s.tick(600, 600_000);
        assert_eq!(s.window(TOPIC_PUT_SIZE, "T", Span::Hour).unwrap().sum, 5);
        assert_eq!(s.window(TOPIC_PUT_SIZE, "T", Span::Day).unwrap().sum, 0);
    }

    #[test]
    fn remove_topic_drops_topic_and_group_keys() {
        let s = StatsItems::default();
        s.add(TOPIC_PUT_NUMS, "T", 1, 1);
        s.add(GROUP_GET_NUMS, "T@G", 1, 1);
        s.add(GROUP_GET_NUMS, "T2@G", 1, 1);
        s.remove_topic("T");
        assert_eq!(s.keys(GROUP_GET_NUMS), vec!["T2@G".to_owned()]);
        assert!(s.keys(TOPIC_PUT_NUMS).is_empty());
    }
}
