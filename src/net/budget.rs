//! One memory budget over all inbound frame buffers of a server process.
//!
//! Frames up to [`SMALL_FRAME_BYTES`](crate::limits::SMALL_FRAME_BYTES) live in each
//! connection's small read buffer, which the connection cap bounds. A larger frame is assembled
//! in its own buffer that grows as bytes arrive; every byte of that buffer's capacity is charged
//! here from the moment it is reserved until the request built from it has been handled. A
//! connection that cannot charge what it needs stops reading until another releases memory, and
//! its frame deadline closes it if that takes too long; the process never allocates past the
//! budget for inbound frames, so no peer can make it abort on allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::limits::{DEFAULT_INBOUND_BUDGET_BYTES, FRAME_MAX_BYTES};

/// The budget a `serverInboundBudgetBytes` value asks for, never below one whole frame (a budget
/// smaller than the largest frame would stall that frame forever).
#[must_use]
pub fn budget_bytes(configured: i64) -> usize {
    usize::try_from(configured)
        .unwrap_or(DEFAULT_INBOUND_BUDGET_BYTES)
        .max(FRAME_MAX_BYTES)
}

/// The shared budget: a limit, what is charged, and a wake-up for waiters.
#[derive(Debug)]
pub struct InboundBudget {
    /// Most bytes charged at once.
    limit: usize,
    /// Bytes charged now.
    used: AtomicUsize,
    /// Woken whenever bytes are released.
    released: Notify,
}

impl InboundBudget {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
            released: Notify::new(),
        })
    }

    /// The limit in bytes.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes charged now.
    #[must_use]
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// Charges `bytes` if they fit under the limit.
    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&n| n <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let _previous = self.used.fetch_sub(bytes, Ordering::AcqRel);
        self.released.notify_waiters();
    }
}

/// Bytes charged to a budget, released when dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<InboundBudget>,
    bytes: usize,
}

impl Charge {
    /// An empty charge against `budget`.
    #[must_use]
    pub fn empty(budget: &Arc<InboundBudget>) -> Self {
        Self {
            budget: Arc::clone(budget),
            bytes: 0,
        }
    }

    /// Bytes held.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds `bytes` if they fit now.
    pub fn try_grow(&mut self, bytes: usize) -> bool {
        let ok = self.budget.try_take(bytes);
        if ok {
            self.bytes += bytes;
        }
        ok
    }

    /// Adds `bytes`, waiting for other charges to be released while they do not fit.
    /// Cancel-safe: dropping the future charges nothing. A request larger than the whole budget
    /// waits forever; callers bound the wait (the frame deadline).
    pub async fn grow(&mut self, bytes: usize) {
        let budget = Arc::clone(&self.budget);
        loop {
            let released = budget.released.notified();
            tokio::pin!(released);
            let _was_registered = released.as_mut().enable();
            if self.try_grow(bytes) {
                return;
            }
            released.await;
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_releases_on_drop() {
        let budget = InboundBudget::new(100);
        let mut a = Charge::empty(&budget);
        assert!(a.try_grow(60));
        let mut b = Charge::empty(&budget);
        assert!(!b.try_grow(50));
        assert!(b.try_grow(40));
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(b.try_grow(50));
        assert_eq!(b.bytes(), 90);
    }

    #[tokio::test]
    async fn a_waiter_wakes_when_memory_is_released() {
        let budget = InboundBudget::new(10);
        let mut holder = Charge::empty(&budget);
        assert!(holder.try_grow(10));
        let b2 = Arc::clone(&budget);
        let waiter = tokio::spawn(async move {
            let mut c = Charge::empty(&b2);
            c.grow(5).await;
            c.bytes()
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(holder);
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .ok()
            .and_then(Result::ok);
        assert_eq!(got, Some(5));
    }
}
