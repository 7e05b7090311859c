//! The broker's request pools as operators see them: Java runs each group of request codes on
//! its own thread pool with a bounded queue (`BrokerController.registerProcessor`), and
//! `brokerStatus` prints each queue's size, capacity and head wait, Prometheus
//! `rocketmq_processor_watermark` its size.
//!
//! We run every request as its own task, so there is no queue to read. What a pool holds here is
//! the work the broker owes: requests of the pool's codes that were accepted and not yet
//! answered, except pulls and POPs parked by long polling (Java holds those outside its pools,
//! in `PullRequestHoldService` / `PopLongPollingService`). The head wait is the age of the oldest
//! of them. A pool at its configured capacity refuses a new request with SYSTEM_BUSY
//! `"[OVERLOAD]…"`, as Java's `RejectedExecutionException` handler does.
//!
//! Java's `BrokerFastFailure` (`brokerFastFailureEnable`) drops requests that waited in an
//! executor queue longer than `waitTimeMillsIn*Queue`. Our only queue before a request starts is
//! the runtime's: the time from the transport reading the request to its task first running.
//! A request that waited that long is answered SYSTEM_BUSY `"[TIMEOUT_CLEAN_QUEUE]…"` and never
//! runs. Java's page-cache variant (`[PCBUSY_CLEAN_QUEUE]`, send queue only, while the
//! CommitLog put lock is held past `osPageCacheBusyTimeOutMills`) has no counterpart: the store
//! does not time its lock holds.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// One pool: Java's executor of the same codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// `sendMessageExecutor`: sends, send-back, recall.
    Send,
    /// `pullMessageExecutor`: pull, POP, peek, notification, polling info.
    Pull,
    /// `litePullMessageExecutor`: LITE_PULL_MESSAGE.
    LitePull,
    /// `ackMessageExecutor`: ack, batch ack, change invisible time.
    Ack,
    /// `queryMessageExecutor`: query and view by id.
    Query,
    /// `clientManageExecutor`: unregister, check client config.
    ClientManager,
    /// `heartbeatExecutor`: heartbeats.
    Heartbeat,
    /// `consumerManageExecutor`: consumer list and offsets.
    ConsumerManager,
    /// `endTransactionExecutor`: END_TRANSACTION.
    Transaction,
    /// `replyMessageExecutor`: request-reply answers.
    Reply,
    /// `loadBalanceExecutor`: QUERY_ASSIGNMENT, SET_MESSAGE_REQUEST_MODE.
    LoadBalance,
    /// `adminBrokerExecutor`: every other code.
    Admin,
}

impl Pool {
    /// Every pool, in [`Pool::index`] order.
    pub const ALL: [Self; 12] = [
        Self::Send,
        Self::Pull,
        Self::LitePull,
        Self::Ack,
        Self::Query,
        Self::ClientManager,
        Self::Heartbeat,
        Self::ConsumerManager,
        Self::Transaction,
        Self::Reply,
        Self::LoadBalance,
        Self::Admin,
    ];

    /// The pool Java runs `code` on.
    #[must_use]
    pub fn of(code: i32) -> Self {
        use RequestCode as C;
        match RequestCode::from_i32(code) {
            Some(
                C::SEND_MESSAGE
                | C::SEND_MESSAGE_V2
                | C::SEND_BATCH_MESSAGE
                | C::CONSUMER_SEND_MSG_BACK
                | C::RECALL_MESSAGE,
            ) => Self::Send,
            Some(
                C::PULL_MESSAGE
                | C::POP_MESSAGE
                | C::PEEK_MESSAGE
                | C::NOTIFICATION
                | C::POLLING_INFO,
            ) => Self::Pull,
            Some(C::LITE_PULL_MESSAGE) => Self::LitePull,
            Some(C::ACK_MESSAGE | C::BATCH_ACK_MESSAGE | C::CHANGE_MESSAGE_INVISIBLETIME) => {
                Self::Ack
            }
            Some(C::QUERY_MESSAGE | C::VIEW_MESSAGE_BY_ID) => Self::Query,
            Some(C::UNREGISTER_CLIENT | C::CHECK_CLIENT_CONFIG) => Self::ClientManager,
            Some(C::HEART_BEAT) => Self::Heartbeat,
            Some(
                C::GET_CONSUMER_LIST_BY_GROUP
                | C::UPDATE_CONSUMER_OFFSET
                | C::QUERY_CONSUMER_OFFSET,
            ) => Self::ConsumerManager,
            Some(C::END_TRANSACTION) => Self::Transaction,
            Some(C::SEND_REPLY_MESSAGE | C::SEND_REPLY_MESSAGE_V2) => Self::Reply,
            Some(C::QUERY_ASSIGNMENT | C::SET_MESSAGE_REQUEST_MODE) => Self::LoadBalance,
            _ => Self::Admin,
        }
    }

    /// Position in [`Pool::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `processor` label of `rocketmq_processor_watermark` (Java's
    /// `BrokerMetricsManager.initRequestMetrics`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Pull => "pull",
            Self::LitePull => "lite_pull",
            Self::Ack => "ack",
            Self::Query => "query_message",
            Self::ClientManager => "client_manager",
            Self::Heartbeat => "heartbeat",
            Self::ConsumerManager => "consumer_manager",
            Self::Transaction => "transaction",
            Self::Reply => "reply",
            Self::LoadBalance => "load_balance",
            Self::Admin => "admin",
        }
    }

    /// The `BrokerConfig` key of the longest wait in the pool's queue and Java 5.3.3's default,
    /// for the pools `BrokerFastFailure.initCleanExpiredRequestQueueList` cleans.
    #[must_use]
    pub fn wait_key(self) -> Option<(&'static str, usize)> {
        match self {
            Self::Send => Some(("waitTimeMillsInSendQueue", 200)),
            Self::Pull => Some(("waitTimeMillsInPullQueue", 5_000)),
            Self::LitePull => Some(("waitTimeMillsInLitePullQueue", 5_000)),
            Self::Heartbeat => Some(("waitTimeMillsInHeartbeatQueue", 31_000)),
            Self::Transaction => Some(("waitTimeMillsInTransactionQueue", 3_000)),
            Self::Ack => Some(("waitTimeMillsInAckQueue", 3_000)),
            Self::Admin => Some(("waitTimeMillsInAdminBrokerQueue", 5_000)),
            _ => None,
        }
    }

    /// The `BrokerConfig` key of the pool's queue capacity, and Java 5.3.3's default.
    #[must_use]
    pub fn capacity_key(self) -> (&'static str, usize) {
        match self {
            Self::Send => ("sendThreadPoolQueueCapacity", 10_000),
            Self::Pull => ("pullThreadPoolQueueCapacity", 100_000),
            Self::LitePull => ("litePullThreadPoolQueueCapacity", 100_000),
            Self::Ack => ("ackThreadPoolQueueCapacity", 100_000),
            Self::Query => ("queryThreadPoolQueueCapacity", 20_000),
            Self::ClientManager => ("clientManagerThreadPoolQueueCapacity", 1_000_000),
            Self::Heartbeat => ("heartbeatThreadPoolQueueCapacity", 50_000),
            Self::ConsumerManager => ("consumerManagerThreadPoolQueueCapacity", 1_000_000),
            Self::Transaction => ("endTransactionPoolQueueCapacity", 100_000),
            Self::Reply => ("replyThreadPoolQueueCapacity", 10_000),
            Self::LoadBalance => ("loadBalanceThreadPoolQueueCapacity", 100_000),
            Self::Admin => ("adminBrokerThreadPoolQueueCapacity", 10_000),
        }
    }
}

/// Why a pool refused a request; answered SYSTEM_BUSY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The pool was at capacity (Java's `RejectedExecutionException` handler).
    Overload,
    /// The request waited longer than the pool's `waitTimeMillsIn*Queue` before it started
    /// (`BrokerFastFailure.cleanExpiredRequestInQueue`).
    Expired {
        /// How long it waited, ms.
        waited_ms: u64,
        /// Requests the pool owes besides it.
        queue_size: usize,
    },
}

impl Refusal {
    /// Java's answer: SYSTEM_BUSY with its remark.
    #[must_use]
    pub fn response(self) -> RemotingCommand {
        let remark = match self {
            Self::Overload => "[OVERLOAD]system busy, start flow control for a while".to_owned(),
            Self::Expired {
                waited_ms,
                queue_size,
            } => format!(
                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {waited_ms}ms, size of queue: {queue_size}"
            ),
        };
        RemotingCommand::error(ResponseCode::SYSTEM_BUSY, remark)
    }
}

/// The requests one pool owes, keyed by arrival order.
#[derive(Debug, Default)]
struct PoolState {
    capacity: usize,
    /// `waitTimeMillsIn*Queue` with `brokerFastFailureEnable`: a request that waited this long
    /// before starting is dropped. `None` for the pools Java's `BrokerFastFailure` does not
    /// clean, or when fast failure is off.
    max_wait_ms: Option<u64>,
    /// Arrival sequence → arrival time. A std mutex, never held across an await.
    owed: Mutex<BTreeMap<u64, Instant>>,
}

/// All pools of one broker.
#[derive(Debug)]
pub struct RequestPools {
    pools: [PoolState; Pool::ALL.len()],
    next: AtomicU64,
}

/// One pool's figures at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    /// Requests owed.
    pub size: usize,
    /// The configured capacity.
    pub capacity: usize,
    /// Age of the oldest request owed, in ms (0 when none).
    pub head_wait_ms: u64,
}

/// A request counted in its pool until dropped or parked.
#[derive(Debug)]
pub struct Ticket {
    pools: Arc<RequestPools>,
    pool: Pool,
    seq: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.pools.leave(self.pool, self.seq);
    }
}

tokio::task_local! {
    /// The ticket of the request this task is answering.
    static CURRENT: Ticket;
}

impl RequestPools {
    /// Pools with the capacities and waits `config(key)` gives (Java's default where it gives
    /// none); waits are enforced only with `fast_failure` (`brokerFastFailureEnable`).
    #[must_use]
    pub fn new(config: impl Fn(&str) -> Option<usize>, fast_failure: bool) -> Arc<Self> {
        Arc::new(Self {
            pools: Pool::ALL.map(|p| {
                let (key, default) = p.capacity_key();
                let max_wait_ms = p.wait_key().filter(|_| fast_failure).map(|(key, default)| {
                    u64::try_from(config(key).unwrap_or(default)).unwrap_or(u64::MAX)
                });
                PoolState {
                    capacity: config(key).filter(|&c| c > 0).unwrap_or(default),
                    max_wait_ms,
                    owed: Mutex::new(BTreeMap::new()),
                }
            }),
            next: AtomicU64::new(0),
        })
    }

    fn state(&self, pool: Pool) -> Option<&PoolState> {
        self.pools.get(pool.index())
    }

    /// Counts a request of `code` that starts now in its pool; it arrived when the transport
    /// read it ([`crate::net::arrived`]), or now outside a transport task.
    ///
    /// # Errors
    /// The pool is at capacity, or the request waited too long to start.
    pub fn enter(self: &Arc<Self>, code: i32) -> Result<Ticket, Refusal> {
        self.enter_at(code, crate::net::arrived().unwrap_or_else(Instant::now))
    }

    /// [`RequestPools::enter`] for a request that arrived at `arrived`.
    ///
    /// Java queues a request in its executor and `BrokerFastFailure` drops it, every 10 ms,
    /// once it has waited `waitTimeMillsIn*Queue`. Here a request's task starts as soon as the
    /// runtime gets to it, so its wait is the time from arrival to this call; one that waited
    /// past the limit is dropped before it runs, with Java's answer.
    ///
    /// # Errors
    /// The pool is at capacity, or the request waited too long to start.
    pub fn enter_at(self: &Arc<Self>, code: i32, arrived: Instant) -> Result<Ticket, Refusal> {
        let pool = Pool::of(code);
        let state = self.state(pool).ok_or(Refusal::Overload)?;
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        {
            let mut owed = state.owed.lock().unwrap_or_else(PoisonError::into_inner);
            if owed.len() >= state.capacity {
                return Err(Refusal::Overload);
            }
            let waited_ms = u64::try_from(arrived.elapsed().as_millis()).unwrap_or(u64::MAX);
            if state.max_wait_ms.is_some_and(|max| waited_ms >= max) {
                return Err(Refusal::Expired {
                    waited_ms,
                    queue_size: owed.len(),
                });
            }
            let _ = owed.insert(seq, arrived);
        }
        Ok(Ticket {
            pools: Arc::clone(self),
            pool,
            seq,
        })
    }

    fn leave(&self, pool: Pool, seq: u64) {
        if let Some(state) = self.state(pool) {
            let _ = state
                .owed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&seq);
        }
    }

    /// The figures of `pool` now.
    #[must_use]
    pub fn figures(&self, pool: Pool) -> PoolFigures {
        let Some(state) = self.state(pool) else {
            return PoolFigures {
                size: 0,
                capacity: 0,
                head_wait_ms: 0,
            };
        };
        let owed = state.owed.lock().unwrap_or_else(PoisonError::into_inner);
        let head_wait_ms = owed.values().next().map_or(0, |since| {
            u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
        });
        PoolFigures {
            size: owed.len(),
            capacity: state.capacity,
            head_wait_ms,
        }
    }
}

/// Runs `fut` (the answer to one request) with `ticket` as the task's current ticket.
pub async fn with_ticket<F: Future>(ticket: Ticket, fut: F) -> F::Output {
    CURRENT.scope(ticket, fut).await
}

/// Takes the current request out of its pool's count: it is parked by long polling, which Java
/// does outside its pools. Does nothing outside a request task.
pub fn park_current() {
    let _ = CURRENT.try_with(|t| t.pools.leave(t.pool, t.seq));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_java_executors() {
        assert_eq!(Pool::of(RequestCode::SEND_MESSAGE_V2.code()), Pool::Send);
        assert_eq!(Pool::of(RequestCode::POP_MESSAGE.code()), Pool::Pull);
        assert_eq!(
            Pool::of(RequestCode::LITE_PULL_MESSAGE.code()),
            Pool::LitePull
        );
        assert_eq!(
            Pool::of(RequestCode::CHANGE_MESSAGE_INVISIBLETIME.code()),
            Pool::Ack
        );
        assert_eq!(Pool::of(RequestCode::HEART_BEAT.code()), Pool::Heartbeat);
        assert_eq!(
            Pool::of(RequestCode::GET_BROKER_RUNTIME_INFO.code()),
            Pool::Admin
        );
        assert_eq!(Pool::of(-7), Pool::Admin);
        for (i, p) in Pool::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
    }

    #[tokio::test]
    async fn owed_requests_are_counted_until_answered_or_parked() {
        let pools = RequestPools::new(
            |key| (key == "sendThreadPoolQueueCapacity").then_some(2),
            true,
        );
        let send = RequestCode::SEND_MESSAGE.code();
        let first = pools.enter(send);
        assert!(first.is_ok());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = pools.enter(send);
        assert!(second.is_ok());
        let f = pools.figures(Pool::Send);
        assert_eq!((f.size, f.capacity), (2, 2));
        assert!(f.head_wait_ms >= 20, "head wait {}", f.head_wait_ms);
        assert_eq!(
            pools.enter(send).err(),
            Some(Refusal::Overload),
            "a full pool refuses"
        );
        drop(first);
        let f = pools.figures(Pool::Send);
        assert_eq!(f.size, 1);
        assert!(f.head_wait_ms < 20, "the head is now the younger request");
        drop(second);
        assert_eq!(pools.figures(Pool::Send).size, 0);
        assert_eq!(pools.figures(Pool::Send).head_wait_ms, 0);

        let pull = RequestCode::PULL_MESSAGE.code();
        let ticket = pools.enter(pull).expect("pull pool has room");
        let seen = with_ticket(ticket, {
            let pools = Arc::clone(&pools);
            async move {
                let before = pools.figures(Pool::Pull).size;
                park_current();
                (before, pools.figures(Pool::Pull).size)
            }
        })
        .await;
        assert_eq!(seen, (1, 0), "a parked pull leaves its pool");
        assert_eq!(pools.figures(Pool::Pull).size, 0);
        assert_eq!(pools.figures(Pool::Pull).capacity, 100_000);
    }

    #[test]
    fn requests_that_waited_past_the_limit_are_dropped_before_they_run() {
        let pools = RequestPools::new(|_| None, true);
        let send = RequestCode::SEND_MESSAGE.code();
        let ago = |ms| Instant::now().checked_sub(std::time::Duration::from_millis(ms));
        let held = pools
            .enter(send)
            .expect("an idle pool takes a fresh request");
        // Java's default `waitTimeMillsInSendQueue` is 200 ms.
        let fresh = pools.enter_at(send, ago(150).expect("clock"));
        assert!(fresh.is_ok(), "150 ms is within the send queue's wait");
        let late = pools.enter_at(send, ago(250).expect("clock")).err();
        let Some(Refusal::Expired {
            waited_ms,
            queue_size,
        }) = late
        else {
            panic!("a send that waited 250 ms is dropped, got {late:?}");
        };
        assert!((250..1_000).contains(&waited_ms), "waited {waited_ms}");
        assert_eq!(queue_size, 2, "the two requests still owed");
        let answer = late.map(Refusal::response).expect("refused");
        assert_eq!(answer.code, ResponseCode::SYSTEM_BUSY.code());
        let remark = answer.remark.unwrap_or_default();
        assert!(
            remark.starts_with("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: ")
                && remark.ends_with("ms, size of queue: 2"),
            "{remark}"
        );
        assert_eq!(
            pools.figures(Pool::Send).size,
            2,
            "the dropped one is not owed"
        );
        // Pulls may wait 5 s; the query pool is not cleaned at all (as in Java).
        let pull = RequestCode::PULL_MESSAGE.code();
        assert!(pools.enter_at(pull, ago(250).expect("clock")).is_ok());
        let query = RequestCode::QUERY_MESSAGE.code();
        assert!(pools.enter_at(query, ago(60_000).expect("clock")).is_ok());
        drop(held);
        // `brokerFastFailureEnable=false` keeps every request.
        let off = RequestPools::new(|_| None, false);
        assert!(off.enter_at(send, ago(250).expect("clock")).is_ok());
    }
}
