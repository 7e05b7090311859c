//! A warning for each refused request (why, for whom), bounded to
//! [`REJECT_LOGS_PER_SECOND`] lines a second so a misbehaving client cannot flood the log;
//! the lines left out are counted and reported with the next one logged.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::limits::REJECT_LOGS_PER_SECOND;
use crate::remoting::{RemotingCommand, ResponseCode};

/// Answers that refuse a request (as opposed to "nothing found" or "retry" answers that are
/// part of normal traffic, such as PULL_NOT_FOUND or QUERY_NOT_FOUND).
const REFUSALS: &[ResponseCode] = &[
    ResponseCode::SYSTEM_ERROR,
    ResponseCode::SYSTEM_BUSY,
    ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
    ResponseCode::MESSAGE_ILLEGAL,
    ResponseCode::SERVICE_NOT_AVAILABLE,
    ResponseCode::VERSION_NOT_SUPPORTED,
    ResponseCode::NO_PERMISSION,
    ResponseCode::SUBSCRIPTION_PARSE_FAILED,
    ResponseCode::INVALID_PARAMETER,
    ResponseCode::POLLING_FULL,
    ResponseCode::FLOW_CONTROL,
    ResponseCode::ILLEGAL_OPERATION,
];

/// The second the current budget belongs to.
static WINDOW: AtomicI64 = AtomicI64::new(0);
/// Lines logged in that second.
static LOGGED: AtomicU64 = AtomicU64::new(0);
/// Lines left out since the last one logged.
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Whether `code` is a refusal.
#[must_use]
pub fn is_refusal(code: i32) -> bool {
    REFUSALS.iter().any(|c| c.code() == code)
}

/// Takes one line from the budget of second `now_s`; returns `Some(left out so far)` when the
/// line may be written.
fn admit(now_s: i64) -> Option<u64> {
    let window = WINDOW.load(Ordering::Relaxed);
    if window != now_s
        && WINDOW
            .compare_exchange(window, now_s, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        LOGGED.store(0, Ordering::Relaxed);
    }
    if LOGGED.fetch_add(1, Ordering::Relaxed) < REJECT_LOGS_PER_SECOND {
        Some(SUPPRESSED.swap(0, Ordering::Relaxed))
    } else {
        let _ = SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Logs `response` if it refuses request `request_code` from `peer`.
pub fn note(request_code: i32, peer: std::net::SocketAddr, response: &RemotingCommand) {
    if !is_refusal(response.code) {
        return;
    }
    let now_s = crate::store::message_store::now_millis() / 1000;
    if let Some(left_out) = admit(now_s) {
        tracing::warn!(
            request = request_code,
            response = response.code,
            %peer,
            remark = response.remark.as_deref().unwrap_or(""),
            left_out,
            "request refused"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{admit, is_refusal};
    use crate::limits::REJECT_LOGS_PER_SECOND;

    #[test]
    fn refusals_are_bounded_per_second_and_the_rest_counted() {
        assert!(is_refusal(16) && is_refusal(3) && !is_refusal(0) && !is_refusal(19));
        let second = 1_000_000_007;
        let admitted = (0..REJECT_LOGS_PER_SECOND + 5)
            .filter(|_| admit(second).is_some())
            .count();
        assert_eq!(admitted as u64, REJECT_LOGS_PER_SECOND);
        assert_eq!(
            admit(second + 1),
            Some(5),
            "the next second reports what was left out"
        );
    }
}
