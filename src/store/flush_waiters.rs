//! The CommitLog's flushed offset and the sends waiting for it (Java's `GroupCommitRequest`s
//! in `GroupCommitService`).
//!
//! A SYNC_FLUSH send registers the end offset of its records; the flusher publishes each new
//! flushed offset and releases exactly the waiters that msync covered, in offset order, each
//! with one wake-up. A waiter past the flushed offset is not touched (a `watch` channel woke
//! every waiter on every flush, and a send appended during a flush was woken once too early).
//! After a failed flush, and at shutdown or halt, every waiter is released as failed and so is
//! every later one: the send answers FLUSH_DISK_TIMEOUT, as Java's does when its group commit
//! cannot cover the request (`wakeupCustomer(FLUSH_DISK_TIMEOUT)`, `FlushDiskWatcher`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::limits::FLUSH_WAITERS_PRUNE_AT;

/// How a waiter is told: a task's channel or a thread's.
#[derive(Debug)]
enum Wake {
    Task(oneshot::Sender<bool>),
    Thread(std::sync::mpsc::SyncSender<bool>),
}

impl Wake {
    /// The waiter gave up (a task's timeout dropped its receiver). A thread's channel cannot
    /// tell; those waiters are tools and tests.
    fn is_closed(&self) -> bool {
        match self {
            Self::Task(tx) => tx.is_closed(),
            Self::Thread(_) => false,
        }
    }

    fn send(self, flushed: bool) {
        // A waiter that gave up (timed out) has dropped its receiver; nothing to tell it.
        match self {
            Self::Task(tx) => {
                let _ = tx.send(flushed);
            }
            Self::Thread(tx) => {
                let _ = tx.try_send(flushed);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    /// (end offset, wake), ascending by offset.
    waiters: VecDeque<(u64, Wake)>,
    /// Set by [`FlushWaiters::fail_all`]: no flush will come any more.
    failed: bool,
    /// Queue length at which waiters that gave up are dropped (0: [`FLUSH_WAITERS_PRUNE_AT`]).
    prune_at: usize,
}

/// The flushed offset and its waiters.
#[derive(Debug, Default)]
pub(crate) struct FlushWaiters {
    /// CommitLog offset flushed to disk. Written only by [`Self::publish`] (and recovery).
    flushed: AtomicU64,
    queue: Mutex<Queue>,
}

impl FlushWaiters {
    /// The flushed offset.
    pub(crate) fn flushed(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a waiter for `offset`, or answers at once when the offset is already flushed
    /// (`Some(true)`) or no flush will come (`Some(false)`).
    fn register(&self, offset: u64, wake: Wake) -> Option<bool> {
        let mut q = self.queue();
        // Read under the lock: `publish` stores the offset before it takes the lock to drain,
        // so either this sees the new offset or the drain sees this waiter.
        if self.flushed() >= offset {
            return Some(true);
        }
        if q.failed {
            return Some(false);
        }
        // While flushes stall (a hung disk), sends time out and leave their entries behind:
        // drop those before the queue grows past the bound, and again at twice what is left.
        if q.waiters.len() >= q.prune_at.max(FLUSH_WAITERS_PRUNE_AT) {
            q.waiters.retain(|(_, w)| !w.is_closed());
            q.prune_at = q.waiters.len().saturating_mul(2);
        }
        // Sends register in about the order they appended: nearly always an insert at the back.
        let at = q.waiters.partition_point(|(o, _)| *o <= offset);
        q.waiters.insert(at, (offset, wake));
        None
    }

    /// Publishes a new flushed offset (lower only when a replica's CommitLog was cut) and
    /// releases the waiters it covers.
    pub(crate) fn publish(&self, offset: u64) {
        self.flushed.store(offset, Ordering::Release);
        let released: Vec<(u64, Wake)> = {
            let mut q = self.queue();
            let n = q.waiters.partition_point(|(o, _)| *o <= offset);
            if n == 0 {
                return;
            }
            q.waiters.drain(..n).collect()
        };
        // Woken outside the lock, so registering sends never wait behind the wake-ups.
        for (_, wake) in released {
            wake.send(true);
        }
    }

    /// Releases every waiter as failed, now and from now on (failed flush, shutdown, halt).
    pub(crate) fn fail_all(&self) {
        let released: Vec<(u64, Wake)> = {
            let mut q = self.queue();
            q.failed = true;
            q.waiters.drain(..).collect()
        };
        for (_, wake) in released {
            wake.send(false);
        }
    }

    /// Waiters queued.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.queue().waiters.len()
    }

    /// Waits (async) until `offset` is flushed; false on timeout or failure.
    pub(crate) async fn wait(&self, offset: u64, timeout: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        if let Some(done) = self.register(offset, Wake::Task(tx)) {
            return done;
        }
        matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(true)))
    }

    /// Waits (blocking) until `offset` is flushed; false on timeout or failure.
    pub(crate) fn wait_blocking(&self, offset: u64, timeout: Duration) -> bool {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if let Some(done) = self.register(offset, Wake::Thread(tx)) {
            return done;
        }
        rx.recv_timeout(timeout).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::sync::oneshot;

    use super::{FlushWaiters, Wake};
    use crate::limits::FLUSH_WAITERS_PRUNE_AT;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn releases_only_the_waiters_a_flush_covers() {
        let w = Arc::new(FlushWaiters::default());
        let rt = rt();
        let (a, b, c) = rt.block_on(async {
            let spawn = |off: u64| {
                let w = Arc::clone(&w);
                tokio::spawn(async move { w.wait(off, Duration::from_secs(30)).await })
            };
            // Registered out of order: the queue keeps them sorted.
            let c = spawn(300);
            let a = spawn(100);
            let b = spawn(200);
            while w.waiting() < 3 {
                tokio::task::yield_now().await;
            }
            w.publish(200);
            let a = a.await.unwrap();
            let b = b.await.unwrap();
            // The waiter beyond the flushed offset is still queued and not finished.
            assert_eq!(w.waiting(), 1);
            assert!(!c.is_finished());
            w.publish(300);
            (a, b, c.await.unwrap())
        });
        assert!(a && b && c);
        assert_eq!(w.waiting(), 0);
        // Already flushed: answered without queueing.
        assert!(rt.block_on(w.wait(250, Duration::from_secs(1))));
        assert_eq!(w.waiting(), 0);
    }

    #[test]
    fn waiters_that_gave_up_are_dropped_while_flushes_stall() {
        let w = FlushWaiters::default();
        // Sends that timed out: their receivers are gone, their entries stay until pruned.
        for off in 0..FLUSH_WAITERS_PRUNE_AT as u64 {
            let (tx, rx) = oneshot::channel();
            drop(rx);
            assert_eq!(w.register(off + 1, Wake::Task(tx)), None);
        }
        assert_eq!(w.waiting(), FLUSH_WAITERS_PRUNE_AT);
        // The next one prunes them; a live waiter is kept and still released by its flush.
        let (tx, mut rx) = oneshot::channel();
        assert_eq!(w.register(u64::MAX, Wake::Task(tx)), None);
        assert_eq!(w.waiting(), 1);
        w.publish(u64::MAX);
        assert_eq!(rx.try_recv(), Ok(true));
        assert_eq!(w.waiting(), 0);
    }

    #[test]
    fn a_waiter_past_the_flushed_offset_times_out() {
        let w = FlushWaiters::default();
        w.publish(100);
        let t = Instant::now();
        assert!(!rt().block_on(w.wait(101, Duration::from_millis(50))));
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert!(!w.wait_blocking(101, Duration::from_millis(20)));
        // Late flushes tell the dropped receivers nothing and empty the queue.
        w.publish(101);
        assert_eq!(w.waiting(), 0);
    }

    #[test]
    fn fail_all_releases_every_waiter_as_failed_now_and_later() {
        let w = Arc::new(FlushWaiters::default());
        w.publish(10);
        let blocking = {
            let w = Arc::clone(&w);
            std::thread::spawn(move || w.wait_blocking(500, Duration::from_secs(30)))
        };
        let rt = rt();
        let t = Instant::now();
        let task_result = rt.block_on(async {
            let task = {
                let w = Arc::clone(&w);
                tokio::spawn(async move { w.wait(400, Duration::from_secs(30)).await })
            };
            while w.waiting() < 2 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            w.fail_all();
            task.await.unwrap()
        });
        assert!(!task_result);
        assert!(!blocking.join().unwrap());
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        // After the failure a new waiter is refused at once, but a flushed offset still holds.
        assert!(!w.wait_blocking(11, Duration::from_secs(30)));
        assert!(w.wait_blocking(10, Duration::from_secs(30)));
        assert_eq!(w.waiting(), 0);
    }
}
