//! Timer messages (5.x, `broker:util/HookUtils.java`, `store:timer/TimerMessageStore.java`).
//!
//! A message carrying `TIMER_DELIVER_MS`, `TIMER_DELAY_SEC` or `TIMER_DELAY_MS` (and no delay
//! level) is stored in `rmq_sys_wheel_timer` with its due time, rounded down to the precision,
//! in `TIMER_OUT_MS` and its topic and queue in `REAL_TOPIC` / `REAL_QID` ([`transform`]). The
//! [`service`] moves it into the timer wheel and, once its slot has passed, stores it again
//! under its real topic. The files are Java's (`store::timer`), so a store directory with
//! pending timer messages moves between our broker and Java's.

pub mod metrics;
pub mod recall;
pub mod service;

use crate::config::table::ConfigValues;
use crate::message::{get_property, java_hashmap_order, parse_properties, properties_to_string};
use crate::message::{put_property, remove_property};
pub use crate::store::timer::TIMER_TOPIC;

/// `MessageConst.PROPERTY_TIMER_DELIVER_MS`.
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// `MessageConst.PROPERTY_TIMER_DELAY_SEC`.
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// `MessageConst.PROPERTY_TIMER_DELAY_MS`.
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// `MessageConst.PROPERTY_TIMER_OUT_MS`: the due slot time.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// `MessageConst.PROPERTY_TIMER_ENQUEUE_MS`.
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// `MessageConst.PROPERTY_TIMER_DEQUEUE_MS`.
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// `MessageConst.PROPERTY_TIMER_ROLL_TIMES`.
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// `MessageConst.PROPERTY_TIMER_DEL_UNIQKEY`: the message cancels `<topic>+<uniqKey>`.
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";

/// The timer settings (`MessageStoreConfig`), Java's defaults in `broker::config`.
#[derive(Debug, Clone)]
pub struct TimerConfig {
    /// `timerWheelEnable` (true).
    pub enable: bool,
    /// `timerPrecisionMs` (1000), rounded as Java's setter rounds it.
    pub precision_ms: i64,
    /// `timerRollWindowSlot` (2 days of slots), bounded as `TimerMessageStore` bounds it.
    pub roll_window_slots: i64,
    /// `mappedFileSizeTimerLog` (100 MiB).
    pub log_file_size: usize,
    /// `timerMaxDelaySec` (3 days).
    pub max_delay_sec: i64,
    /// `timerFlushIntervalMs` (1000).
    pub flush_interval_ms: u64,
    /// `timerCongestNumEachSlot` (`Integer.MAX_VALUE`: no flow control).
    pub congest_num_each_slot: i64,
    /// `timerStopEnqueue` (false).
    pub stop_enqueue: bool,
    /// `timerStopDequeue` (false).
    pub stop_dequeue: bool,
}

impl TimerConfig {
    /// Reads the settings.
    #[must_use]
    pub fn from_config(c: &ConfigValues) -> Self {
        use crate::store::timer::{SLOTS_TOTAL, TIMER_BLANK_SLOTS, normalize_precision};
        let roll = c.get_i64("timerRollWindowSlot");
        Self {
            enable: c.get_bool("timerWheelEnable"),
            precision_ms: normalize_precision(c.get_i64("timerPrecisionMs")),
            roll_window_slots: if !(2..=SLOTS_TOTAL - TIMER_BLANK_SLOTS).contains(&roll) {
                SLOTS_TOTAL - TIMER_BLANK_SLOTS
            } else {
                roll
            },
            log_file_size: usize::try_from(c.get_i64("mappedFileSizeTimerLog"))
                .unwrap_or(100 << 20),
            max_delay_sec: c.get_i64("timerMaxDelaySec"),
            flush_interval_ms: u64::try_from(c.get_i64("timerFlushIntervalMs"))
                .unwrap_or(1000)
                .max(10),
            congest_num_each_slot: c.get_i64("timerCongestNumEachSlot"),
            stop_enqueue: c.get_bool("timerStopEnqueue"),
            stop_dequeue: c.get_bool("timerStopDequeue"),
        }
    }
}

/// What the put hook makes of a message (`HookUtils.handleScheduleMessage`, timer part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerPut {
    /// Not a timer message (or already due): store it as it is.
    Keep,
    /// Store it in the timer topic with these properties.
    Timer {
        /// The new properties string.
        properties: String,
    },
    /// Refused: the response code and Java's remark.
    Refuse {
        /// Response code.
        code: crate::remoting::ResponseCode,
        /// Remark.
        remark: String,
    },
}

/// True when the properties ask for timed delivery (`HookUtils.checkIfTimerMessage`, for a
/// message without a delay level and not already in the timer topic).
#[must_use]
pub fn is_timer(topic: &str, props: &[(String, String)]) -> bool {
    if topic == TIMER_TOPIC || get_property(props, TIMER_OUT_MS).is_some() {
        return false;
    }
    [TIMER_DELIVER_MS, TIMER_DELAY_MS, TIMER_DELAY_SEC]
        .iter()
        .any(|k| get_property(props, k).is_some())
}

/// Removes the timer properties from a message that also has a delay level (the delay level
/// wins, as in Java); `None` when there were none.
#[must_use]
pub fn strip_for_delay_level(properties: &str) -> Option<String> {
    let mut props = parse_properties(properties);
    let before = props.len();
    for k in [TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS] {
        remove_property(&mut props, k);
    }
    (props.len() != before).then(|| properties_to_string(&props))
}

/// The slot a due time is stored under: rounded down to the precision, and an exact multiple one
/// slot earlier, so that delivery (after the slot has passed) is never before the due time.
#[must_use]
pub fn slot_of(deliver_ms: i64, precision_ms: i64) -> i64 {
    if deliver_ms % precision_ms == 0 {
        deliver_ms - precision_ms
    } else {
        deliver_ms / precision_ms * precision_ms
    }
}

/// The timer transform (`HookUtils.transformTimerMessage`). `congested(slot_ms)` gives the
/// number of messages already due in that slot, for `timerCongestNumEachSlot` flow control.
#[must_use]
pub fn transform(
    topic: &str,
    queue_id: i32,
    properties: &str,
    cfg: &TimerConfig,
    now_ms: i64,
    congested: impl Fn(i64) -> i64,
) -> TimerPut {
    use crate::remoting::ResponseCode;
    if !properties.contains("TIMER_") {
        // The send hot path: no timer property, nothing to parse.
        return TimerPut::Keep;
    }
    let mut props = parse_properties(properties);
    if !is_timer(topic, &props) {
        return TimerPut::Keep;
    }
    if !cfg.enable {
        return TimerPut::Refuse {
            code: ResponseCode::SYSTEM_ERROR,
            remark: format!(
                "accurate timer message is not enabled, timerWheelEnable is {}",
                cfg.enable
            ),
        };
    }
    let illegal = || TimerPut::Refuse {
        code: ResponseCode::MESSAGE_ILLEGAL,
        remark: format!(
            "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if set del msg, the delay time should be bigger than the current time",
            cfg.max_delay_sec.saturating_mul(1000)
        ),
    };
    let parsed = if let Some(s) = get_property(&props, TIMER_DELAY_SEC) {
        s.trim()
            .parse::<i64>()
            .ok()
            .map(|v| now_ms.saturating_add(v.saturating_mul(1000)))
    } else if let Some(s) = get_property(&props, TIMER_DELAY_MS) {
        s.trim()
            .parse::<i64>()
            .ok()
            .map(|v| now_ms.saturating_add(v))
    } else {
        get_property(&props, TIMER_DELIVER_MS).and_then(|s| s.trim().parse::<i64>().ok())
    };
    let Some(deliver_ms) = parsed else {
        return illegal();
    };
    if deliver_ms <= now_ms {
        // Already due: stored as it is (a cancel marker for the past is refused).
        if get_property(&props, TIMER_DEL_UNIQKEY).is_some() {
            return illegal();
        }
        return TimerPut::Keep;
    }
    if deliver_ms - now_ms > cfg.max_delay_sec.saturating_mul(1000) {
        return illegal();
    }
    let deliver_ms = slot_of(deliver_ms, cfg.precision_ms);
    let limit = cfg.congest_num_each_slot;
    if limit < i64::from(i32::MAX) {
        let n = congested(deliver_ms);
        // `isReject`: above the limit, a random share is refused; at twice the limit, all.
        let refuse = n > limit
            && (n >= limit.saturating_mul(2)
                || (now_ms.rem_euclid(1000) as f64)
                    > 1000.0 * (n - limit) as f64 / (limit as f64 + 0.1));
        if refuse {
            return TimerPut::Refuse {
                code: ResponseCode::SYSTEM_ERROR,
                remark: format!(
                    "timer message is under flow control, max num limit is {} or the current value is greater than {} and less than {}, trigger random flow control",
                    limit * 2,
                    limit,
                    limit * 2
                ),
            };
        }
    }
    put_property(&mut props, TIMER_OUT_MS, &deliver_ms.to_string());
    put_property(&mut props, "REAL_TOPIC", topic);
    put_property(&mut props, "REAL_QID", &queue_id.to_string());
    java_hashmap_order(&mut props);
    TimerPut::Timer {
        properties: properties_to_string(&props),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cfg() -> TimerConfig {
        TimerConfig {
            enable: true,
            precision_ms: 1000,
            roll_window_slots: 172_800,
            log_file_size: 1 << 20,
            max_delay_sec: 259_200,
            flush_interval_ms: 1000,
            congest_num_each_slot: i64::from(i32::MAX),
            stop_enqueue: false,
            stop_dequeue: false,
        }
    }

    fn out_ms(p: &TimerPut) -> Option<i64> {
        match p {
            TimerPut::Timer { properties } => {
                crate::store::record::property(properties, TIMER_OUT_MS)
                    .and_then(|v| v.parse().ok())
            }
            _ => None,
        }
    }

    #[test]
    fn due_time_is_rounded_down_to_the_slot_before_it() {
        let now = 1_700_000_000_500;
        let c = cfg();
        let p = transform(
            "T",
            2,
            "TIMER_DELIVER_MS\u{1}1700000003000\u{2}",
            &c,
            now,
            |_| 0,
        );
        // An exact multiple goes to the slot before: delivered when that slot has passed.
        assert_eq!(out_ms(&p), Some(1_700_000_002_000));
        let p = transform(
            "T",
            2,
            "TIMER_DELIVER_MS\u{1}1700000003400\u{2}",
            &c,
            now,
            |_| 0,
        );
        assert_eq!(out_ms(&p), Some(1_700_000_003_000));
        let TimerPut::Timer { properties } = p else {
            panic!("not a timer message")
        };
        assert_eq!(
            crate::store::record::property(&properties, "REAL_TOPIC"),
            Some("T")
        );
        assert_eq!(
            crate::store::record::property(&properties, "REAL_QID"),
            Some("2")
        );
        let p = transform("T", 0, "TIMER_DELAY_SEC\u{1}3\u{2}", &c, now, |_| 0);
        assert_eq!(out_ms(&p), Some(1_700_000_003_000));
        let p = transform("T", 0, "TIMER_DELAY_MS\u{1}1500\u{2}", &c, now, |_| 0);
        assert_eq!(out_ms(&p), Some(1_700_000_001_000));
    }

    #[test]
    fn past_garbage_and_too_far_messages() {
        let now = 1_700_000_000_000;
        let c = cfg();
        assert_eq!(
            transform("T", 0, "TIMER_DELIVER_MS\u{1}5\u{2}", &c, now, |_| 0),
            TimerPut::Keep
        );
        assert_eq!(
            transform("T", 0, "KEYS\u{1}a\u{2}", &c, now, |_| 0),
            TimerPut::Keep
        );
        assert_eq!(
            transform(TIMER_TOPIC, 0, "TIMER_DELAY_SEC\u{1}5\u{2}", &c, now, |_| 0),
            TimerPut::Keep
        );
        for bad in [
            "TIMER_DELAY_SEC\u{1}x\u{2}",
            "TIMER_DELAY_SEC\u{1}999999999\u{2}",
        ] {
            let TimerPut::Refuse { code, remark } = transform("T", 0, bad, &c, now, |_| 0) else {
                panic!("{bad} accepted")
            };
            assert_eq!(code, crate::remoting::ResponseCode::MESSAGE_ILLEGAL);
            assert!(remark.contains("259200000ms"), "{remark}");
        }
        let off = TimerConfig {
            enable: false,
            ..cfg()
        };
        assert!(matches!(
            transform("T", 0, "TIMER_DELAY_SEC\u{1}5\u{2}", &off, now, |_| 0),
            TimerPut::Refuse { .. }
        ));
        let tight = TimerConfig {
            congest_num_each_slot: 10,
            ..cfg()
        };
        assert!(matches!(
            transform("T", 0, "TIMER_DELAY_SEC\u{1}5\u{2}", &tight, now, |_| 20),
            TimerPut::Refuse { .. }
        ));
        assert!(matches!(
            transform("T", 0, "TIMER_DELAY_SEC\u{1}5\u{2}", &tight, now, |_| 3),
            TimerPut::Timer { .. }
        ));
    }

    #[test]
    fn delay_level_wins() {
        assert_eq!(
            strip_for_delay_level("DELAY\u{1}3\u{2}TIMER_DELAY_SEC\u{1}5\u{2}").as_deref(),
            Some("DELAY\u{1}3\u{2}")
        );
        assert_eq!(strip_for_delay_level("DELAY\u{1}3\u{2}"), None);
    }
}
