//! Broker counters and their per-window rates (`BrokerStatsManager`, `StoreStatsService`): put
//! and get message counts sampled every second, so GET_BROKER_RUNTIME_INFO can report TPS over
//! the last 10 s, 60 s and 600 s as Java does (`"<10s> <60s> <600s>"`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples kept: one per second for the longest window.
const SAMPLES_MAX: usize = 601;

/// Counters plus a bounded history of samples.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages stored.
    pub put_messages: AtomicU64,
    /// Bytes stored.
    pub put_bytes: AtomicU64,
    /// Messages delivered by pulls.
    pub got_messages: AtomicU64,
    /// Pulls answered with messages.
    pub get_found: AtomicU64,
    /// Pulls answered without messages.
    pub get_miss: AtomicU64,
    /// Put and get latencies.
    pub latency: super::latency::Latency,
    /// Puts the store refused (`putMessageFailedTimes`).
    pub put_failed: AtomicU64,
    /// One sample a second, newest last.
    samples: Mutex<VecDeque<Sample>>,
}

/// (ms, put, got, found, miss).
type Sample = (i64, u64, u64, u64, u64);

/// Which counter a rate is computed for.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    /// Messages stored.
    Put,
    /// Messages delivered.
    Got,
    /// Pulls that found messages.
    Found,
    /// Pulls that found none.
    Miss,
}

impl Stats {
    /// Records one sample (called every second).
    pub fn sample(&self, now_ms: i64) {
        let s = (
            now_ms,
            self.put_messages.load(Ordering::Relaxed),
            self.got_messages.load(Ordering::Relaxed),
            self.get_found.load(Ordering::Relaxed),
            self.get_miss.load(Ordering::Relaxed),
        );
        if let Ok(mut q) = self.samples.lock() {
            q.push_back(s);
            while q.len() > SAMPLES_MAX {
                let _ = q.pop_front();
            }
        }
    }

    /// Per-second rate of `counter` over the last `window_secs`, if enough history exists.
    #[must_use]
    pub fn rate(&self, counter: Counter, window_secs: i64) -> Option<f64> {
        let q = self.samples.lock().ok()?;
        let last = *q.back()?;
        let first = q
            .iter()
            .rev()
            .find(|s| last.0 - s.0 >= window_secs * 1000)?;
        let pick = |s: &Sample| match counter {
            Counter::Put => s.1,
            Counter::Got => s.2,
            Counter::Found => s.3,
            Counter::Miss => s.4,
        };
        #[allow(clippy::cast_precision_loss)]
        let per_sec =
            (pick(&last) - pick(first)) as f64 * 1000.0 / (last.0 - first.0).max(1) as f64;
        Some(per_sec)
    }

    /// Java's three-window text, e.g. `"95.4 80.2 12.0"`; a window without enough history
    /// is empty, as in Java.
    #[must_use]
    pub fn tps_text(&self, counter: Counter) -> String {
        [10, 60, 600]
            .iter()
            .map(|w| {
                self.rate(counter, *w)
                    .map(java_double_text)
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Stats {
    /// `getTotalTps`: pulls found plus pulls missed per second, for 10 s, 60 s and 600 s; unlike
    /// the other figures Java prints `0.0` for a window without enough history.
    #[must_use]
    pub fn total_tps_text(&self) -> String {
        [10, 60, 600]
            .iter()
            .map(|w| {
                let found = self.rate(Counter::Found, *w).unwrap_or(0.0);
                let miss = self.rate(Counter::Miss, *w).unwrap_or(0.0);
                java_double_text(found + miss)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `String.valueOf(double)` for the figures brokers report: `0.0`, `12.5`, `13.986013986013987`.
#[must_use]
pub fn java_double_text(d: f64) -> String {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 1e7 {
        format!("{d:.1}")
    } else {
        format!("{d}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_windows() {
        let s = Stats::default();
        for i in 0..=20 {
            s.put_messages.store(i * 100, Ordering::Relaxed);
            s.sample(i64::try_from(i).unwrap() * 1000);
        }
        assert_eq!(s.rate(Counter::Put, 10), Some(100.0));
        assert_eq!(s.rate(Counter::Put, 60), None);
        assert_eq!(s.tps_text(Counter::Put), "100.0  ");
        assert_eq!(s.total_tps_text(), "0.0 0.0 0.0");
    }
}
