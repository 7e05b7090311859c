//! Put and get latency figures of GET_BROKER_RUNTIME_INFO (`StoreStatsService`):
//! `putMessageDistributeTime` (13 ranges), `putLatency99` / `putLatency999` (percentiles over
//! Java's 76 fine buckets), and the `putMessageEntireTimeMax` / `getMessageEntireTimeMax`
//! maxima. Distribution and buckets cover the last complete minute: `rotate` (every 60 s)
//! makes the current minute the reported one, as Java's `printTps` does.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// `PUT_MESSAGE_ENTIRE_TIME_MAX_DESC`.
const DISTRIBUTE_DESC: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];
/// Exclusive upper bounds (ms) of ranges 1..=11; range 0 is `<= 0`, range 12 the rest.
const DISTRIBUTE_BOUNDS: [u64; 11] = [10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000];
/// `PUT_MESSAGE_ENTIRE_TIME_BUCKETS`: (step ms, count) runs of the fine buckets' upper bounds.
const FINE_RUNS: [(u64, u64); 7] = [
    (1, 20),
    (2, 15),
    (5, 10),
    (10, 10),
    (50, 6),
    (100, 5),
    (1000, 9),
];
/// Fine buckets: the bounds of `FINE_RUNS` plus one open bucket.
const FINE_LEN: usize = 76;

fn fine_bounds() -> [u64; FINE_LEN] {
    let mut b = [u64::MAX; FINE_LEN];
    let mut i = 0;
    let mut at = 0u64;
    for (step, count) in FINE_RUNS {
        for _ in 0..count {
            at += step;
            if let Some(slot) = b.get_mut(i) {
                *slot = at;
            }
            i += 1;
        }
    }
    b
}

fn distribute_index(ms: u64) -> usize {
    if ms == 0 {
        return 0;
    }
    DISTRIBUTE_BOUNDS
        .iter()
        .position(|b| ms < *b)
        .map_or(DISTRIBUTE_DESC.len() - 1, |p| p + 1)
}

/// Latency counters.
#[derive(Debug)]
pub struct Latency {
    distribute: [AtomicU64; 13],
    fine: [AtomicU64; FINE_LEN],
    bounds: [u64; FINE_LEN],
    /// (distribution, fine buckets) of the last complete minute.
    last: Mutex<Option<([u64; 13], [u64; FINE_LEN])>>,
    put_max: AtomicU64,
    get_max: AtomicU64,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            distribute: std::array::from_fn(|_| AtomicU64::new(0)),
            fine: std::array::from_fn(|_| AtomicU64::new(0)),
            bounds: fine_bounds(),
            last: Mutex::new(None),
            put_max: AtomicU64::new(0),
            get_max: AtomicU64::new(0),
        }
    }
}

impl Latency {
    /// Records one put taking `ms` (`setPutMessageEntireTimeMax`).
    pub fn record_put(&self, ms: u64) {
        if let Some(c) = self.distribute.get(distribute_index(ms)) {
            let _ = c.fetch_add(1, Ordering::Relaxed);
        }
        let i = self.bounds.partition_point(|b| *b < ms);
        if let Some(c) = self.fine.get(i) {
            let _ = c.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.put_max.fetch_max(ms, Ordering::Relaxed);
    }

    /// Records one get taking `ms` (`setGetMessageEntireTimeMax`).
    pub fn record_get(&self, ms: u64) {
        let _ = self.get_max.fetch_max(ms, Ordering::Relaxed);
    }

    /// Ends a minute: its counts become the reported ones and counting starts again.
    pub fn rotate(&self) {
        let d: [u64; 13] = std::array::from_fn(|i| {
            self.distribute
                .get(i)
                .map_or(0, |c| c.swap(0, Ordering::Relaxed))
        });
        let f: [u64; FINE_LEN] =
            std::array::from_fn(|i| self.fine.get(i).map_or(0, |c| c.swap(0, Ordering::Relaxed)));
        if let Ok(mut last) = self.last.lock() {
            *last = Some((d, f));
        }
    }

    fn reported(&self) -> ([u64; 13], [u64; FINE_LEN]) {
        if let Ok(last) = self.last.lock()
            && let Some(v) = *last
        {
            return v;
        }
        // Before the first minute ends, the minute so far.
        (
            std::array::from_fn(|i| {
                self.distribute
                    .get(i)
                    .map_or(0, |c| c.load(Ordering::Relaxed))
            }),
            std::array::from_fn(|i| self.fine.get(i).map_or(0, |c| c.load(Ordering::Relaxed))),
        )
    }

    /// `putMessageDistributeTime`, e.g. `"[<=0ms]:5 [0~10ms]:2 … [10s~]:0 "`.
    #[must_use]
    pub fn distribute_text(&self) -> String {
        let (d, _) = self.reported();
        DISTRIBUTE_DESC
            .iter()
            .zip(d)
            .map(|(label, n)| format!("{label}:{n} "))
            .collect()
    }

    /// `findPutMessageEntireTimePX`: the `px` percentile (ms), interpolated in its bucket.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn put_percentile(&self, px: f64) -> f64 {
        let (_, f) = self.reported();
        let total: u64 = f.iter().sum();
        let index = (total as f64 * px) as u64;
        let mut pass = 0u64;
        for (i, count) in f.iter().enumerate() {
            if index <= pass + count {
                let rel = (index - pass) as f64;
                let upper = self.bounds.get(i).copied().unwrap_or(u64::MAX) as f64;
                let lower = i
                    .checked_sub(1)
                    .and_then(|j| self.bounds.get(j))
                    .copied()
                    .unwrap_or(0) as f64;
                return if *count == 0 {
                    lower
                } else {
                    lower + (upper - lower) * rel / *count as f64
                };
            }
            pass += count;
        }
        0.0
    }

    /// `putMessageEntireTimeMax` (ms).
    #[must_use]
    pub fn put_max(&self) -> u64 {
        self.put_max.load(Ordering::Relaxed)
    }

    /// `getMessageEntireTimeMax` (ms).
    #[must_use]
    pub fn get_max(&self) -> u64 {
        self.get_max.load(Ordering::Relaxed)
    }
}

/// `UtilAll.humanReadableByteCount(bytes, false)`: `"512 B"`, `"1.5 KiB"`.
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1024f64.ln()) as usize;
    let pre = "KMGTPE".chars().nth(exp.saturating_sub(1)).unwrap_or('E');
    format!(
        "{:.1} {pre}iB",
        bytes as f64 / 1024f64.powi(i32::try_from(exp).unwrap_or(6))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_ranges_match_java() {
        assert_eq!(distribute_index(0), 0);
        assert_eq!(distribute_index(9), 1);
        assert_eq!(distribute_index(10), 2);
        assert_eq!(distribute_index(999), 6);
        assert_eq!(distribute_index(10_000), 12);
        let l = Latency::default();
        l.record_put(0);
        l.record_put(3);
        l.record_put(3);
        l.record_put(120);
        assert!(
            l.distribute_text()
                .starts_with("[<=0ms]:1 [0~10ms]:2 [10~50ms]:0 [50~100ms]:0 [100~200ms]:1 ")
        );
        assert_eq!(l.put_max(), 120);
        l.rotate();
        l.record_put(5000);
        // The reported minute is the rotated one.
        assert!(l.distribute_text().starts_with("[<=0ms]:1 [0~10ms]:2"));
        assert!(l.distribute_text().ends_with("[5~10s]:0 [10s~]:0 "));
    }

    #[test]
    fn fine_buckets_and_percentiles() {
        let b = fine_bounds();
        assert_eq!(b.first(), Some(&1));
        assert_eq!(b.get(19), Some(&20));
        assert_eq!(b.get(20), Some(&22));
        assert_eq!(b.get(74), Some(&10_000));
        assert_eq!(b.get(75), Some(&u64::MAX));
        let l = Latency::default();
        for _ in 0..100 {
            l.record_put(1);
        }
        l.rotate();
        let p99 = l.put_percentile(0.99);
        assert!(p99 > 0.0 && p99 <= 1.0, "p99 {p99}");
    }

    #[test]
    fn human_bytes_like_java() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
