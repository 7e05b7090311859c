//! `MessageStore`: owns the CommitLog (appends are in `append.rs`), serves reads, and owns the
//! background services.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::watch;
use tracing::info;

use super::StoreError;
use super::checkpoint::Checkpoint;
use super::config::{FlushDiskType, StoreConfig};
use super::consume_queue::ConsumeQueue;
use super::disk::DiskGuard;
use super::flush_waiters::FlushWaiters;
use super::index_file::IndexFile;
use super::mapped_file_queue::MappedFileQueue;
use super::record::MessageRecord;

/// Largest properties string (`short` length).
pub const MAX_PROPERTIES_BYTES: usize = i16::MAX as usize;

/// A message to append.
#[derive(Debug, Clone)]
pub struct PutMessage {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Body as stored.
    pub body: Bytes,
    /// Properties string.
    pub properties: String,
    /// `MessageSysFlag` bits.
    pub sys_flag: i32,
    /// Producer time.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker address stamped into the record and the msgId.
    pub store_host: SocketAddr,
    /// Delivery attempts.
    pub reconsume_times: i32,
    /// Prepared-transaction offset.
    pub prepared_transaction_offset: i64,
}

/// Outcome of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// CommitLog offset of the first record.
    pub wrote_offset: i64,
    /// Bytes written (all records).
    pub wrote_bytes: usize,
    /// Offset msg ids, one per record.
    pub msg_ids: Vec<String>,
    /// Queue offset of the first record.
    pub queue_offset: i64,
    /// Store time.
    pub store_timestamp: i64,
}

impl PutResult {
    /// CommitLog offset just past the last record (what a SYNC_FLUSH put waits for).
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        u64::try_from(self.wrote_offset).unwrap_or(0) + u64::try_from(self.wrote_bytes).unwrap_or(0)
    }
}

/// Java's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

/// Outcome of a read.
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    /// Status.
    pub status: GetMessageStatus,
    /// Where the next read should start.
    pub next_begin_offset: u64,
    /// Queue min offset.
    pub min_offset: u64,
    /// Queue max offset.
    pub max_offset: u64,
    /// Records, each a zero-copy slice of a mapped CommitLog file.
    pub messages: Vec<Bytes>,
    /// Queue offsets of `messages`.
    pub queue_offsets: Vec<u64>,
    /// The reader is further behind the CommitLog end than memory holds
    /// (`isSuggestPullingFromSlave`).
    pub suggest_pulling_from_slave: bool,
}

/// A filter on a whole stored record (SQL92 on its properties).
pub type RecordFilter<'a> = dyn Fn(&Bytes) -> bool + 'a;

/// Bounds of one read (`maxTransferCountOnMessageInMemory`, `…BytesOnMessageInMemory`).
pub const MAX_TRANSFER_COUNT: usize = 32;
/// See [`MAX_TRANSFER_COUNT`].
pub const MAX_TRANSFER_BYTES: usize = 256 * 1024;

/// Appender state, guarded by the put lock.
#[derive(Debug, Default)]
pub(crate) struct PutState {
    /// Next queue offset per (topic, queue): `topicQueueTable`.
    pub(crate) queue_offsets: HashMap<(String, i32), i64>,
    /// Reused encode buffer (records stamped under the lock).
    pub(crate) buf: Vec<u8>,
}

/// Wakes a background thread (the dispatcher, the group-commit flusher).
#[derive(Debug, Default)]
pub(crate) struct Signal {
    /// Work is waiting; cleared by the waiter when it wakes.
    raised: AtomicBool,
    /// The waiter is asleep (or about to sleep) on `cond`; only then does `notify` lock and
    /// make the futex call.
    waiting: AtomicBool,
    /// Guards the sleep, so a notify cannot fall between the waiter's check and its sleep.
    lock: Mutex<()>,
    cond: Condvar,
}

impl Signal {
    /// Raises the flag. Wakes the waiter only when the flag was down and the waiter is asleep:
    /// a burst of appends, or appends while the waiter is busy, cost one atomic swap each
    /// instead of a lock and a futex call.
    pub(crate) fn notify(&self) {
        if self.raised.swap(true, Ordering::SeqCst) || !self.waiting.load(Ordering::SeqCst) {
            return;
        }
        let _sleep = self.lock.lock();
        self.cond.notify_all();
    }

    /// Sleeps until the flag is raised or `timeout` passes, then lowers the flag.
    pub(crate) fn wait(&self, timeout: Duration) {
        if !self.raised.load(Ordering::SeqCst)
            && let Ok(guard) = self.lock.lock()
        {
            self.waiting.store(true, Ordering::SeqCst);
            // Checked again under the lock after announcing the sleep: a notify either sees
            // `waiting` (and wakes us through the lock) or raised the flag before this check.
            let _woken = self
                .cond
                .wait_timeout_while(guard, timeout, |_| !self.raised.load(Ordering::SeqCst));
            self.waiting.store(false, Ordering::SeqCst);
        }
        self.raised.store(false, Ordering::SeqCst);
    }
}

/// The store.
#[derive(Debug)]
pub struct MessageStore {
    pub(crate) config: StoreConfig,
    pub(crate) commit_log: MappedFileQueue,
    pub(crate) put_state: Mutex<PutState>,
    pub(crate) queues: RwLock<HashMap<(String, i32), Arc<ConsumeQueue>>>,
    pub(crate) index: Mutex<Vec<IndexFile>>,
    pub(crate) checkpoint: Checkpoint,
    /// CommitLog flushed offset and the sends waiting for it.
    pub(crate) flush_waiters: FlushWaiters,
    /// CommitLog offset dispatched to queues and index.
    pub(crate) dispatched: watch::Sender<u64>,
    /// Store time of the last appended record (checkpoint `physicMsgTimestamp`).
    pub(crate) last_put_timestamp: AtomicI64,
    /// Store time of the last dispatched record (checkpoint `logicsMsgTimestamp`).
    pub(crate) last_dispatch_timestamp: AtomicI64,
    /// Set after a failed flush.
    pub(crate) poisoned: AtomicBool,
    /// Whether the disk has room for writes.
    pub(crate) disk: DiskGuard,
    /// Set when the dispatcher could not write a ConsumeQueue unit after
    /// [`CONSUME_QUEUE_WRITE_RETRIES`](crate::limits::CONSUME_QUEUE_WRITE_RETRIES) attempts
    /// (Java's `RunningFlags.makeLogicsQueueError`): appends are refused until dispatch succeeds.
    pub(crate) logics_queue_error: AtomicBool,
    pub(crate) shutdown: AtomicBool,
    pub(crate) flush_signal: Signal,
    pub(crate) dispatch_signal: Signal,
    /// Readers blocked until an arrival: the dispatcher dozes only while there are none.
    pub(crate) waiting_readers: Arc<super::dispatch::WaitingReaders>,
    /// Raised only at shutdown: wakes the logic-file flusher (`FlushConsumeQueueService`).
    pub(crate) logic_flush_signal: Signal,
    /// Raised by appends nearing the end of the prefaulted window (see `prefault`).
    pub(crate) prefault_signal: Signal,
    /// CommitLog offset up to which the last file's pages have been prefaulted.
    pub(crate) prefaulted_to: AtomicU64,
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    /// Max CommitLog offset published by appends.
    pub(crate) written: AtomicU64,
    /// CommitLog end right after recovery: what this run of the process inherited.
    pub(crate) recovered_end: AtomicU64,
    /// Set on a slave: only replicated bytes are appended.
    pub(crate) replica: AtomicBool,
    /// Max CommitLog offset, for waiters (the HA transfer of a master).
    pub(crate) appended: watch::Sender<u64>,
    /// Held while dispatching, so a replica's truncation never races the dispatcher.
    pub(crate) dispatch_lock: Mutex<()>,
    /// `config.index_dir()`, built once (the dispatcher needs it for every record).
    pub(crate) index_dir: PathBuf,
    /// Called for each dispatched unit (topic, queue id, tag code): wakes held pulls.
    pub(crate) arrival_listener: std::sync::OnceLock<ArrivalListener>,
    /// LMQ ConsumeQueues open (4.9.8's `lmqConsumeQueueNum`).
    pub(crate) lmq_queue_count: std::sync::atomic::AtomicUsize,
}

/// Callback for new ConsumeQueue units (`MessageArrivingListener`).
pub struct ArrivalListener(pub Box<ArrivalFn>);

/// The listener's signature: topic, queue id, tag code.
pub type ArrivalFn = dyn Fn(&str, i32, i64) + Send + Sync;

impl std::fmt::Debug for ArrivalListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArrivalListener")
    }
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl MessageStore {
    /// Opens (recovering as needed) the store under `config.root` and starts its services.
    pub fn open(config: StoreConfig) -> Result<Arc<Self>, StoreError> {
        std::fs::create_dir_all(&config.root)?;
        let index_dir = config.index_dir();
        let commit_log =
            MappedFileQueue::load(&config.commit_log_dir(), config.commit_log_file_size)?;
        let checkpoint = Checkpoint::open(&config.root.join("checkpoint"))?;
        let (dispatched, _) = watch::channel(0);
        let disk = DiskGuard::new(&config);
        let store = Arc::new(Self {
            disk,
            config,
            commit_log,
            put_state: Mutex::new(PutState::default()),
            queues: RwLock::new(HashMap::new()),
            index: Mutex::new(Vec::new()),
            checkpoint,
            flush_waiters: FlushWaiters::default(),
            dispatched,
            last_put_timestamp: AtomicI64::new(0),
            last_dispatch_timestamp: AtomicI64::new(0),
            poisoned: AtomicBool::new(false),
            logics_queue_error: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            flush_signal: Signal::default(),
            dispatch_signal: Signal::default(),
            waiting_readers: Arc::default(),
            logic_flush_signal: Signal::default(),
            prefault_signal: Signal::default(),
            prefaulted_to: AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
            written: AtomicU64::new(0),
            replica: AtomicBool::new(false),
            recovered_end: AtomicU64::new(0),
            appended: watch::channel(0).0,
            dispatch_lock: Mutex::new(()),
            index_dir,
            arrival_listener: std::sync::OnceLock::new(),
            lmq_queue_count: std::sync::atomic::AtomicUsize::new(0),
        });
        let _usage = store.disk.refresh();
        super::recovery::recover(&store)?;
        super::dispatch::start(&store);
        super::flush::start(&store);
        super::prefault::start(&store);
        super::clean::start(&store);
        Ok(store)
    }

    /// The disk-space guard (usage figures for runtime info and remarks).
    #[must_use]
    pub fn disk(&self) -> &DiskGuard {
        &self.disk
    }

    /// Tells the HA transfers that the CommitLog grew to `end` (already stored in `written`).
    /// With none subscribed (no slave connected) the channel's notify is skipped: a transfer
    /// that subscribes later reads the CommitLog before its first wait.
    pub(crate) fn publish_appended(&self, end: u64) {
        // Orders the `written` store before the read of the subscriber count, against a
        // transfer that subscribes and then reads `written` (its fence is in `ha::master`).
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.appended.receiver_count() > 0 {
            let _ = self.appended.send_replace(end);
        }
    }

    /// The count of readers blocked until an arrival, which the broker's long polling keeps.
    #[must_use]
    pub fn waiting_readers(&self) -> Arc<super::dispatch::WaitingReaders> {
        Arc::clone(&self.waiting_readers)
    }

    /// Installs the new-message callback (once; later calls are ignored).
    pub fn set_arrival_listener(&self, listener: ArrivalListener) {
        let _ = self.arrival_listener.set(listener);
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    fn abort_file(&self) -> PathBuf {
        self.config.root.join("abort")
    }

    pub(crate) fn create_abort_file(&self) -> Result<(), StoreError> {
        let f = std::fs::File::create(self.abort_file())?;
        f.sync_all()?;
        super::mapped_file::fsync_dir(&self.config.root)?;
        Ok(())
    }

    /// Wakes and joins the background threads (the shutdown flag is already set).
    fn stop_threads(&self) {
        self.flush_signal.notify();
        self.dispatch_signal.notify();
        self.waiting_readers.wake();
        self.logic_flush_signal.notify();
        self.prefault_signal.notify();
        let threads: Vec<_> = self
            .threads
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for t in threads {
            let _ = t.join();
        }
    }

    /// The whole record starting at CommitLog `offset` (its length read from its first field),
    /// zero copy; `None` when no complete record starts there.
    #[must_use]
    pub fn message_at(&self, offset: u64) -> Option<Bytes> {
        let head = self.read_record(offset, 4)?;
        let len = usize::try_from(i32::from_be_bytes(head.as_ref().try_into().ok()?)).ok()?;
        self.read_record(offset, len)
    }

    /// Store time of the message at `offset` of a queue.
    #[must_use]
    pub fn store_time_at(&self, topic: &str, queue_id: i32, offset: u64) -> Option<i64> {
        let u = self.queue(topic, queue_id)?.get(offset)?;
        let b = self.read_record(
            u64::try_from(u.commit_log_offset).ok()?,
            usize::try_from(u.size).ok()?,
        )?;
        MessageRecord::decode(&b, false)
            .ok()
            .map(|(r, _)| r.store_timestamp)
    }

    /// Stops the services, flushes everything and removes the abort file (a clean shutdown).
    pub fn shutdown(&self) -> Result<(), StoreError> {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let t = std::time::Instant::now();
        self.stop_threads();
        let stopped_ms = t.elapsed().as_millis();
        super::dispatch::dispatch_available(self, u64::MAX)?;
        let dispatched_ms = t.elapsed().as_millis();
        let flushed = super::flush::flush_all(self);
        // Whatever that flush covered has been released; nothing more will be flushed.
        self.flush_waiters.fail_all();
        flushed?;
        std::fs::remove_file(self.abort_file())?;
        info!(
            root = %self.config.root.display(),
            stopped_ms,
            dispatched_ms,
            flushed_ms = t.elapsed().as_millis(),
            "store shut down cleanly"
        );
        Ok(())
    }

    /// Waits (async) until the CommitLog is flushed to `offset`; false on timeout, after a
    /// failed flush and at shutdown. Only the flush that covers `offset` wakes the caller.
    pub async fn wait_flushed(&self, offset: u64, timeout: Duration) -> bool {
        self.flush_waiters.wait(offset, timeout).await
    }

    /// Waits (blocking) until the CommitLog is flushed to `offset`; false as for
    /// [`Self::wait_flushed`].
    pub fn wait_flushed_blocking(&self, offset: u64, timeout: Duration) -> bool {
        self.flush_waiters.wait_blocking(offset, timeout)
    }

    /// Publishes a new flushed offset and releases the waiters it covers.
    pub(crate) fn publish_flushed(&self, offset: u64) {
        self.flush_waiters.publish(offset);
    }

    /// Waits (blocking) until everything appended is dispatched (tests, tools).
    pub fn wait_dispatched(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let target = if self.config.flush_disk_type == FlushDiskType::SyncFlush {
                self.flush_waiters.flushed()
            } else {
                self.written.load(Ordering::Acquire)
            };
            if *self.dispatched.borrow() >= target {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            self.dispatch_signal.notify();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// CommitLog offset flushed to disk.
    #[must_use]
    pub fn flushed_offset(&self) -> u64 {
        self.flush_waiters.flushed()
    }

    /// CommitLog offset dispatched to the consume queues and index.
    #[must_use]
    pub fn dispatched_offset(&self) -> u64 {
        *self.dispatched.borrow()
    }

    /// CommitLog max offset.
    #[must_use]
    pub fn max_phy_offset(&self) -> u64 {
        self.commit_log.max_offset()
    }

    /// CommitLog min offset.
    #[must_use]
    pub fn min_phy_offset(&self) -> u64 {
        self.commit_log.min_offset()
    }

    /// The queue as a reader should see it: first dispatches what the dispatcher has not yet
    /// reached, if that is little (`dispatch::catch_up_for_reader`), so a message acknowledged
    /// before this call is in it.
    #[must_use]
    pub fn queue_for_reader(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        super::dispatch::catch_up_for_reader(self);
        self.queue(topic, queue_id)
    }

    /// The queue, if it has ever been written.
    #[must_use]
    pub fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        super::queue_key::get(&*self.queues.read().ok()?, topic, queue_id).cloned()
    }

    /// Every queue.
    #[must_use]
    pub fn all_queues(&self) -> Vec<Arc<ConsumeQueue>> {
        self.queues
            .read()
            .map(|q| q.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Reads one record by CommitLog offset (zero copy).
    #[must_use]
    pub fn read_record(&self, offset: u64, size: usize) -> Option<Bytes> {
        let f = self.commit_log.find(offset)?;
        f.read(usize::try_from(offset - f.file_from_offset()).ok()?, size)
    }

    /// Reads up to `max_msgs` records of a queue from `offset`, keeping those whose tag code
    /// `filter` accepts (`DefaultMessageStore.getMessage`). A negative offset is below every
    /// queue's minimum: OFFSET_TOO_SMALL, or NO_MESSAGE_IN_QUEUE for an empty queue, as in Java.
    #[must_use]
    pub fn get_message(
        &self,
        topic: &str,
        queue_id: i32,
        requested: i64,
        max_msgs: usize,
        filter: &dyn Fn(i64) -> bool,
    ) -> GetMessageResult {
        self.get_message_filtered(topic, queue_id, requested, max_msgs, filter, None)
    }

    /// [`Self::get_message`] with a second filter on the whole record
    /// (`isMatchedByCommitLog`, SQL92), applied to records that passed the tag filter.
    #[must_use]
    pub fn get_message_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        requested: i64,
        max_msgs: usize,
        filter: &dyn Fn(i64) -> bool,
        record_filter: Option<&RecordFilter<'_>>,
    ) -> GetMessageResult {
        let offset = u64::try_from(requested).unwrap_or(0);
        let mut r = GetMessageResult {
            status: GetMessageStatus::NoMatchedLogicQueue,
            next_begin_offset: offset,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            queue_offsets: Vec::new(),
            suggest_pulling_from_slave: false,
        };
        super::dispatch::catch_up_for_reader(self);
        let Some(cq) = self.queue(topic, queue_id) else {
            r.status = GetMessageStatus::NoMatchedLogicQueue;
            r.next_begin_offset = 0;
            return r;
        };
        r.min_offset = cq.min_offset();
        r.max_offset = cq.max_offset();
        if r.max_offset == 0 {
            r.status = GetMessageStatus::NoMessageInQueue;
            r.next_begin_offset = 0;
        } else if requested < 0 || offset < r.min_offset {
            r.status = GetMessageStatus::OffsetTooSmall;
            r.next_begin_offset = r.min_offset;
        } else if offset == r.max_offset {
            r.status = GetMessageStatus::OffsetOverflowOne;
        } else if offset > r.max_offset {
            r.status = GetMessageStatus::OffsetOverflowBadly;
            r.next_begin_offset = r.max_offset;
        } else {
            self.read_units(
                &cq,
                offset,
                max_msgs.clamp(1, MAX_TRANSFER_COUNT),
                (filter, record_filter),
                &mut r,
            );
        }
        r
    }

    fn read_units(
        &self,
        cq: &ConsumeQueue,
        offset: u64,
        max_msgs: usize,
        (filter, record_filter): (&dyn Fn(i64) -> bool, Option<&RecordFilter<'_>>),
        r: &mut GetMessageResult,
    ) {
        let min_phy = i64::try_from(self.min_phy_offset()).unwrap_or(0);
        let max_phy = self.max_phy_offset();
        let mut last_phy = 0u64;
        let mut bytes = 0usize;
        let mut next = offset;
        r.status = GetMessageStatus::NoMatchedMessage;
        while next < r.max_offset && r.messages.len() < max_msgs && bytes < MAX_TRANSFER_BYTES {
            let Some(unit) = cq.get(next) else {
                r.status = GetMessageStatus::OffsetFoundNull;
                break;
            };
            next += 1;
            last_phy = u64::try_from(unit.commit_log_offset).unwrap_or(0);
            if unit.commit_log_offset < min_phy {
                r.status = GetMessageStatus::MessageWasRemoving;
                continue;
            }
            if !filter(unit.tags_code) {
                continue;
            }
            let Some(rec) = self.read_record(
                u64::try_from(unit.commit_log_offset).unwrap_or(0),
                usize::try_from(unit.size).unwrap_or(0),
            ) else {
                continue;
            };
            if record_filter.is_some_and(|f| !f(&rec)) {
                continue;
            }
            bytes += rec.len();
            r.messages.push(rec);
            r.queue_offsets.push(next - 1);
            r.status = GetMessageStatus::Found;
        }
        r.next_begin_offset = next;
        let memory = super::config::total_physical_memory() / 100
            * self.config.access_message_in_memory_max_ratio;
        r.suggest_pulling_from_slave = max_phy.saturating_sub(last_phy) > memory;
    }

    /// Stops the background services without flushing or removing the abort file, as if the
    /// process had died; the next open runs crash recovery. For crash tests.
    pub fn halt(&self) {
        self.shutdown.store(true, Ordering::Release);
        self.stop_threads();
        self.flush_waiters.fail_all();
    }

    /// CommitLog offsets of entries for an index key stored within `[begin, end]` ms, newest
    /// index file first.
    #[must_use]
    pub fn query_index(&self, key: &str, max: usize, begin: i64, end: i64) -> Vec<i64> {
        let Ok(files) = self.index.lock() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for f in files.iter().rev() {
            let h = f.header();
            if h.end_timestamp < begin || (h.begin_timestamp > end && h.begin_timestamp > 0) {
                continue;
            }
            out.extend(f.select(key, max - out.len(), begin, end));
            if out.len() >= max {
                break;
            }
        }
        out
    }

    /// End time and offset of the newest index entry.
    #[must_use]
    pub fn index_last_update(&self) -> (i64, i64) {
        self.index
            .lock()
            .ok()
            .and_then(|f| {
                f.last()
                    .map(|f| (f.header().end_timestamp, f.header().end_phy_offset))
            })
            .unwrap_or((0, 0))
    }
}
