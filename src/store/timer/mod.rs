//! The timer store's files, in Java 5.3.3's format (`store:timer/`): the timer wheel
//! (`<root>/timerwheel`), the timer log (`<root>/timerlog/`) and the checkpoint
//! (`<root>/config/timercheck`). The service that fills and drains them is
//! `broker::timer`.
//!
//! A timer message is first stored in `rmq_sys_wheel_timer` (queue 0) with its due time in
//! `TIMER_OUT_MS`. The service reads that queue, appends one 52-byte unit per message to the
//! timer log and links it into the wheel slot of its due time; each slot holds the position of
//! its first and last unit, and each unit the position of the previous unit of the same slot.

pub mod checkpoint;
pub mod log;
pub mod wheel;

pub use checkpoint::TimerCheckpoint;
pub use log::{TimerLog, TimerUnit};
pub use wheel::{Slot, TimerWheel};

/// The topic timer messages wait in (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Days the wheel covers (`TimerMessageStore.TIMER_WHEEL_TTL_DAY`).
pub const TIMER_WHEEL_TTL_DAY: i64 = 7;
/// Slots of the wheel regardless of precision (`TIMER_WHEEL_TTL_DAY * DAY_SECS`).
pub const SLOTS_TOTAL: i64 = TIMER_WHEEL_TTL_DAY * 24 * 3600;
/// Slots kept free before the read position (`TimerMessageStore.TIMER_BLANK_SLOTS`).
pub const TIMER_BLANK_SLOTS: i64 = 60;
/// Unit magic: an ordinary unit (`MAGIC_DEFAULT`).
pub const MAGIC_DEFAULT: i32 = 1;
/// Unit magic bit: the message is re-timed, not delivered (`MAGIC_ROLL`).
pub const MAGIC_ROLL: i32 = 1 << 1;
/// Unit magic bit: the message cancels another one (`MAGIC_DELETE`).
pub const MAGIC_DELETE: i32 = 1 << 2;

/// `TimerMessageStore.isMagicOK`: only the low four bits may be set.
#[must_use]
pub fn magic_ok(magic: i32) -> bool {
    (magic | 0xF) == 0xF
}

/// `MessageStoreConfig.setTimerPrecisionMs`: the configured precision rounded down to 100,
/// 200, 500 or 1000 ms.
#[must_use]
pub fn normalize_precision(ms: i64) -> i64 {
    const CANDIDATES: [i64; 4] = [100, 200, 500, 1000];
    let mut chosen = CANDIDATES[0];
    for c in CANDIDATES {
        if ms >= c {
            chosen = c;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_rounded_like_java() {
        assert_eq!(normalize_precision(1000), 1000);
        assert_eq!(normalize_precision(5000), 1000);
        assert_eq!(normalize_precision(999), 500);
        assert_eq!(normalize_precision(250), 200);
        assert_eq!(normalize_precision(10), 100);
    }

    #[test]
    fn magic_check() {
        assert!(magic_ok(MAGIC_DEFAULT | MAGIC_ROLL | MAGIC_DELETE));
        assert!(!magic_ok(0x10));
        assert!(!magic_ok(log::BLANK_MAGIC_CODE));
    }
}
