//! The timer service (`TimerMessageStore`'s enqueue, dequeue and flush services), one thread:
//!
//! * **enqueue**: entries of `rmq_sys_wheel_timer` queue 0 are read in order; each becomes a
//!   unit appended to the timer log and linked into the wheel slot of its due time (a message
//!   already due is stored under its real topic at once);
//! * **dequeue**: while the read time is behind the write time (now, rounded down to the
//!   precision), the slot at the read time is walked and its messages are stored again under
//!   their real topics (or back into the timer topic when their due time is beyond the roll
//!   window); then the read time moves one slot on;
//! * **flush**: every `timerFlushIntervalMs` the timer log and wheel are synced and the
//!   checkpoint (read time, log position, queue offset) written.
//!
//! Recovery follows Java's: the timer log is scanned from one file before its checkpointed flush
//! position, torn units are cut and the wheel's slot heads revised; the queue offset resumes
//! after the last unit's message (or the checkpoint's, if later), the read time from the
//! checkpoint. A message is delivered at least once: a crash between a delivery and the next
//! checkpoint delivers that slot again.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::metrics::TimerMetrics;
use super::{TIMER_DEL_UNIQKEY, TIMER_DEQUEUE_MS, TIMER_ENQUEUE_MS, TIMER_OUT_MS};
use super::{TIMER_ROLL_TIMES, TimerConfig};
use crate::message::{
    get_property, java_hashmap_order, parse_properties, properties_to_string, put_property,
    remove_property,
};
use crate::store::message_store::now_millis;
use crate::store::record::{MessageRecord, java_string_hash};
use crate::store::timer::checkpoint::CheckpointData;
use crate::store::timer::{
    MAGIC_DEFAULT, MAGIC_DELETE, MAGIC_ROLL, SLOTS_TOTAL, TIMER_BLANK_SLOTS, TIMER_TOPIC,
    TimerCheckpoint, TimerLog, TimerUnit, TimerWheel,
};
use crate::store::{MessageStore, PutMessage, StoreError};

/// Timer-queue entries enqueued per step (Java's enqueue reads without bound; a bound keeps the
/// dequeue side running during a flood).
const ENQUEUE_BATCH: usize = 4096;
/// Slots walked per step.
const SLOTS_PER_STEP: usize = 4096;
/// Idle wait between steps (`waitForRunning(100L * precisionMs / 1000)`).
const IDLE_WAIT_MS: i64 = 100;
/// How often timer-log files whose messages left the CommitLog are deleted (Java: 30 s).
const CLEAN_INTERVAL: Duration = Duration::from_secs(30);
/// Entries searched back when a timer-log unit's message names a wrong queue offset
/// (`reviseQueueOffset`'s `maxCount`).
const REVISE_SEARCH: u64 = 20_000;

/// Why a delivery did not happen.
enum Undelivered {
    /// Try again later (disk full, store shutting down, i/o error).
    Retry(StoreError),
    /// The message can never be stored; it is skipped with a warning.
    Drop(String),
}

#[derive(Debug, Default)]
struct State {
    /// Next slot to deliver (`currReadTimeMs`).
    read_ms: i64,
    /// Now, rounded down to the precision, as last seen by the enqueue side (`currWriteTimeMs`).
    write_ms: i64,
    /// Next timer-queue entry to enqueue (`currQueueOffset`).
    queue_offset: u64,
    /// Units of the slot at `read_ms` already delivered (a retry resumes after them).
    slot_done: usize,
    /// The checkpoint as last written.
    checkpoint: CheckpointData,
    /// A slave builds its wheel but never delivers (`shouldRunningDequeue` false).
    slave: bool,
    /// A slave's view of its master's checkpoint (SlaveSynchronize): read time and timer-queue
    /// offset. A slave enqueues only what its master has enqueued.
    master: Option<(i64, u64)>,
}

/// The timer wheel, log and checkpoint with their worker.
#[derive(Debug)]
pub struct TimerService {
    cfg: TimerConfig,
    store: Arc<MessageStore>,
    wheel: TimerWheel,
    log: TimerLog,
    checkpoint: TimerCheckpoint,
    /// Pending counts per topic.
    pub metrics: TimerMetrics,
    state: Mutex<State>,
    stop: AtomicBool,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl TimerService {
    /// Opens the files under the store root and recovers.
    pub fn open(store: Arc<MessageStore>, cfg: TimerConfig) -> Result<Arc<Self>, StoreError> {
        let root = store.config().root.clone();
        let svc = Self {
            wheel: TimerWheel::open(&root.join("timerwheel"), cfg.precision_ms)?,
            log: TimerLog::open(&root.join("timerlog"), cfg.log_file_size)?,
            checkpoint: TimerCheckpoint::open(&root.join("config").join("timercheck"))?,
            metrics: TimerMetrics::load(root.join("config").join("timermetrics")),
            cfg,
            store,
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            worker: Mutex::new(None),
        };
        svc.recover()?;
        Ok(Arc::new(svc))
    }

    fn format(&self, ms: i64) -> i64 {
        ms / self.cfg.precision_ms * self.cfg.precision_ms
    }

    fn recover(&self) -> Result<(), StoreError> {
        let cp = self.checkpoint.loaded;
        let file_size = i64::try_from(self.log.file_size()).unwrap_or(i64::MAX);
        let begin = u64::try_from((cp.last_timer_log_flush_pos - file_size).max(0)).unwrap_or(0);
        let revise = |pos: i64, u: &TimerUnit| self.wheel.revise_last(u.due_ms(), pos);
        let end = self.log.recover(begin, revise)?;
        let end_pos = i64::try_from(end).unwrap_or(i64::MAX);

        let mut queue_offset = u64::try_from(cp.last_timer_queue_offset).unwrap_or(0);
        if let Some(last) = end_pos
            .checked_sub(52)
            .filter(|p| *p >= 0)
            .and_then(|p| self.log.unit_at(p))
            && let Some(q) = self.queue_offset_of(&last)
        {
            queue_offset = queue_offset.max(q + 1);
        }
        if let Some(cq) = self.store.queue(TIMER_TOPIC, 0) {
            queue_offset = queue_offset.clamp(cq.min_offset(), cq.max_offset());
        }

        let now = self.format(now_millis());
        let floor =
            now - SLOTS_TOTAL * self.cfg.precision_ms + TIMER_BLANK_SLOTS * self.cfg.precision_ms;
        let read_ms = if end == 0 && cp.last_read_time_ms == 0 {
            now
        } else {
            cp.last_read_time_ms.max(floor)
        };
        let min_first = self.wheel.min_first_beyond(read_ms, end_pos)?;
        if min_first < end_pos {
            warn!(
                min_first,
                end, "timer wheel points past the timer log; revising again"
            );
            let _ = self
                .log
                .recover(u64::try_from(min_first).unwrap_or(0), revise)?;
        }
        let mut st = self.lock();
        st.read_ms = read_ms;
        st.write_ms = now;
        st.queue_offset = queue_offset;
        st.checkpoint = cp;
        info!(
            read_ms,
            queue_offset,
            log_end = end,
            checkpoint_queue_offset = cp.last_timer_queue_offset,
            "timer recovered"
        );
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The timer-queue offset of the message a unit points at, checked against the queue
    /// (`reviseQueueOffset`).
    fn queue_offset_of(&self, u: &TimerUnit) -> Option<u64> {
        let rec = self.record(u.offset_py, u.size_py)?;
        let cq = self.store.queue(TIMER_TOPIC, 0)?;
        let mut q = u64::try_from(rec.queue_offset).ok()?;
        for _ in 0..REVISE_SEARCH {
            if cq
                .get(q)
                .is_some_and(|e| e.commit_log_offset == u.offset_py)
            {
                return Some(q);
            }
            q = q.checked_sub(1)?;
        }
        u64::try_from(rec.queue_offset).ok()
    }

    fn record(&self, offset_py: i64, size_py: i32) -> Option<MessageRecord> {
        let bytes = self.store.read_record(
            u64::try_from(offset_py).ok()?,
            usize::try_from(size_py).ok()?,
        )?;
        MessageRecord::decode(&bytes, false).ok().map(|(r, _)| r)
    }

    /// `getEnqueueBehindMessages`: timer-queue entries not yet taken into the wheel.
    #[must_use]
    pub fn enqueue_behind_messages(&self) -> i64 {
        let max = self
            .store
            .queue(TIMER_TOPIC, 0)
            .map_or(0, |q| q.max_offset());
        let next = self.lock().queue_offset;
        i64::try_from(max.saturating_sub(next)).unwrap_or(i64::MAX)
    }

    /// The next slot to deliver (`currReadTimeMs`), for `rocketmq_timer_dequeue_latency`.
    #[must_use]
    pub fn read_time_ms(&self) -> i64 {
        self.lock().read_ms
    }

    /// The checkpoint as last written (GET_TIMER_CHECK_POINT).
    #[must_use]
    pub fn checkpoint(&self) -> CheckpointData {
        self.lock().checkpoint
    }

    /// Messages due in `slot_ms`'s slot (flow control).
    #[must_use]
    pub fn congested(&self, slot_ms: i64) -> i64 {
        self.wheel
            .slot(slot_ms)
            .map_or(0, |s| i64::from(s.num.max(0)))
    }

    /// One round: enqueue new timer messages, deliver passed slots. True when work was done.
    fn step(&self) -> Result<bool, StoreError> {
        let mut st = self.lock();
        let enqueued = self.enqueue(&mut st)?;
        st.write_ms = st.write_ms.max(self.format(now_millis()));
        let delivered = self.dequeue(&mut st)?;
        Ok(enqueued + delivered > 0)
    }

    fn enqueue(&self, st: &mut State) -> Result<usize, StoreError> {
        if self.cfg.stop_enqueue {
            return Ok(0);
        }
        let Some(cq) = self.store.queue(TIMER_TOPIC, 0) else {
            return Ok(0);
        };
        st.queue_offset = st.queue_offset.max(cq.min_offset());
        let limit = match (st.slave, st.master) {
            (false, _) => cq.max_offset(),
            (true, Some((_, offset))) => cq.max_offset().min(offset),
            (true, None) => 0,
        };
        let mut n = 0;
        while n < ENQUEUE_BATCH && st.queue_offset < limit {
            let Some(entry) = cq.get(st.queue_offset) else {
                break;
            };
            match self.record(entry.commit_log_offset, entry.size) {
                None => warn!(
                    offset = st.queue_offset,
                    "timer message unreadable; skipped"
                ),
                Some(rec) => {
                    self.metrics
                        .count_enqueue(rec.property("REAL_TOPIC"), rec.store_timestamp);
                    let due = rec
                        .property(TIMER_OUT_MS)
                        .and_then(|v| v.trim().parse::<i64>().ok());
                    match due {
                        None => warn!(
                            offset = st.queue_offset,
                            "timer message without TIMER_OUT_MS; skipped"
                        ),
                        Some(due) if due < st.write_ms && !st.slave => {
                            // Already due: stored at once (`enqueueTime` = Long.MAX_VALUE).
                            match self.deliver(&rec, i64::MAX, false) {
                                Ok(()) | Err(Undelivered::Drop(_)) => {}
                                Err(Undelivered::Retry(e)) => return Err(e),
                            }
                        }
                        Some(due) => {
                            self.link(st, entry.commit_log_offset, entry.size, due, &rec)?;
                        }
                    }
                }
            }
            st.queue_offset += 1;
            n += 1;
        }
        Ok(n)
    }

    /// `doEnqueue`: one timer-log unit, linked at the head of its slot.
    fn link(
        &self,
        st: &State,
        offset_py: i64,
        size_py: i32,
        due: i64,
        rec: &MessageRecord,
    ) -> Result<(), StoreError> {
        let write = st.write_ms;
        let p = self.cfg.precision_ms;
        let window = self.cfg.roll_window_slots * p;
        let mut magic = MAGIC_DEFAULT;
        let mut slot_ms = due;
        if due - write >= window {
            magic |= MAGIC_ROLL;
            slot_ms = if due - write - window < self.cfg.roll_window_slots / 3 * p {
                write + self.cfg.roll_window_slots / 2 * p
            } else {
                write + window
            };
        }
        let delete = rec.property(TIMER_DEL_UNIQKEY).is_some();
        if delete {
            magic |= MAGIC_DELETE;
        }
        let real_topic = rec.property("REAL_TOPIC");
        let slot = self.wheel.slot(slot_ms)?;
        let unit = TimerUnit {
            prev_pos: slot.last_pos,
            magic,
            write_time_ms: write,
            delay_ms: i32::try_from(slot_ms - write).unwrap_or(i32::MAX),
            offset_py,
            size_py,
            topic_hash: real_topic.map_or(0, java_string_hash),
        };
        let pos = self.log.append(&unit)?;
        let first = if slot.first_pos == -1 {
            pos
        } else {
            slot.first_pos
        };
        let num = if delete { slot.num - 1 } else { slot.num + 1 };
        self.wheel.put_slot(slot_ms, first, pos, num, slot.magic)?;
        if let Some(t) = real_topic {
            self.metrics.add(t, if delete { -1 } else { 1 });
        }
        Ok(())
    }

    fn dequeue(&self, st: &mut State) -> Result<usize, StoreError> {
        if st.slave {
            if let Some((read, _)) = st.master {
                st.read_ms = st.read_ms.max(read);
            }
            return Ok(0);
        }
        if self.cfg.stop_dequeue {
            return Ok(0);
        }
        let mut delivered = 0;
        let mut walked = 0;
        while st.read_ms < st.write_ms && walked < SLOTS_PER_STEP {
            walked += 1;
            let slot = self.wheel.slot(st.read_ms)?;
            if slot.time_ms != -1 {
                let mut units = Vec::new();
                let mut pos = slot.last_pos;
                while pos != -1 {
                    let Some(u) = self.log.unit_at(pos) else {
                        break;
                    };
                    units.push(u);
                    // Units only link backwards; a damaged link must not loop for ever.
                    if u.prev_pos >= pos {
                        warn!(
                            pos,
                            prev = u.prev_pos,
                            "timer log link points forward; slot cut"
                        );
                        break;
                    }
                    pos = u.prev_pos;
                }
                units.reverse();
                let cancels =
                    |u: &&TimerUnit| u.magic & MAGIC_DELETE != 0 && u.magic & MAGIC_ROLL == 0;
                let deleted: HashSet<String> = units
                    .iter()
                    .filter(cancels)
                    .filter_map(|u| self.record(u.offset_py, u.size_py))
                    .filter_map(|r| r.property(TIMER_DEL_UNIQKEY).map(str::to_owned))
                    .collect();
                let normal: Vec<&TimerUnit> = units.iter().filter(|u| !cancels(u)).collect();
                for (i, u) in normal.iter().enumerate().skip(st.slot_done) {
                    let Some(rec) = self.record(u.offset_py, u.size_py) else {
                        warn!(
                            offset_py = u.offset_py,
                            "timer message gone from the CommitLog"
                        );
                        continue;
                    };
                    let key = format!(
                        "{}+{}",
                        rec.property("REAL_TOPIC").unwrap_or_default(),
                        rec.property("UNIQ_KEY").unwrap_or_default()
                    );
                    if deleted.contains(&key) {
                        // Recalled: its marker already took it off the metrics.
                        continue;
                    }
                    match self.deliver(&rec, u.write_time_ms, u.magic & MAGIC_ROLL != 0) {
                        Ok(()) => delivered += 1,
                        Err(Undelivered::Drop(why)) => {
                            warn!(offset_py = u.offset_py, why, "timer message dropped")
                        }
                        Err(Undelivered::Retry(e)) => {
                            st.slot_done = i;
                            return Err(e);
                        }
                    }
                }
            }
            st.read_ms += self.cfg.precision_ms;
            st.slot_done = 0;
        }
        Ok(delivered + walked)
    }

    /// Stores a due message under its real topic, or back into the timer topic when `roll`
    /// (`convert` + `doPut`).
    fn deliver(&self, rec: &MessageRecord, enqueue_ms: i64, roll: bool) -> Result<(), Undelivered> {
        let mut props = parse_properties(&rec.properties);
        let real_topic = get_property(&props, "REAL_TOPIC").map(str::to_owned);
        if !roll && get_property(&props, TIMER_DEL_UNIQKEY).is_some() {
            return Err(Undelivered::Drop(
                "a cancel marker is never delivered".into(),
            ));
        }
        self.metrics.count_dequeue(real_topic.as_deref());
        put_property(&mut props, TIMER_ENQUEUE_MS, &enqueue_ms.to_string());
        if roll {
            let times = get_property(&props, TIMER_ROLL_TIMES)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            put_property(&mut props, TIMER_ROLL_TIMES, &(times + 1).to_string());
        }
        put_property(&mut props, TIMER_DEQUEUE_MS, &now_millis().to_string());
        let (topic, queue_id) = if roll {
            (rec.topic.clone(), rec.queue_id)
        } else {
            let Some(topic) = real_topic.clone() else {
                return Err(Undelivered::Drop("no REAL_TOPIC".into()));
            };
            let queue_id = get_property(&props, "REAL_QID")
                .and_then(|v| v.parse::<i32>().ok())
                .unwrap_or(0);
            remove_property(&mut props, "REAL_TOPIC");
            remove_property(&mut props, "REAL_QID");
            (topic, queue_id)
        };
        java_hashmap_order(&mut props);
        let msg = PutMessage {
            topic,
            queue_id,
            flag: rec.flag,
            body: rec.body.clone(),
            properties: properties_to_string(&props),
            sys_flag: rec.sys_flag,
            born_timestamp: rec.born_timestamp,
            born_host: rec.born_host,
            store_host: rec.store_host,
            reconsume_times: rec.reconsume_times,
            prepared_transaction_offset: 0,
        };
        match self.store.put(std::slice::from_ref(&msg)) {
            Ok(_) => {}
            Err(e @ (StoreError::MessageIllegal(_) | StoreError::PropertiesTooLong(_))) => {
                return Err(Undelivered::Drop(e.to_string()));
            }
            Err(e) => return Err(Undelivered::Retry(e)),
        }
        if enqueue_ms != i64::MAX
            && let Some(t) = real_topic
        {
            self.metrics.add(&t, -1);
        }
        Ok(())
    }

    /// Syncs the log and wheel and writes the checkpoint (`TimerFlushService`).
    fn flush(&self) -> Result<(), StoreError> {
        let pos = self.log.flush()?;
        self.wheel.flush()?;
        let mut st = self.lock();
        let mut cp = st.checkpoint;
        let read = st.read_ms;
        let queue = i64::try_from(st.queue_offset).unwrap_or(i64::MAX);
        let master = match (st.slave, st.master) {
            (true, Some((_, m))) => i64::try_from(m).unwrap_or(i64::MAX),
            (true, None) => cp.master_timer_queue_offset,
            (false, _) => queue,
        };
        if cp.last_read_time_ms != read || cp.master_timer_queue_offset != master {
            cp.counter += 1;
            cp.timestamp = now_millis();
        }
        cp.last_read_time_ms = read;
        cp.last_timer_log_flush_pos = i64::try_from(pos).unwrap_or(i64::MAX);
        cp.master_timer_queue_offset = master;
        cp.last_timer_queue_offset = queue.min(master);
        self.checkpoint.write(&cp)?;
        st.checkpoint = cp;
        drop(st);
        self.metrics.persist();
        Ok(())
    }

    /// A slave's SlaveSynchronize hands over its master's checkpoint (`syncTimerCheckPoint`).
    pub fn sync_from_master(&self, master: &CheckpointData) {
        let mut st = self.lock();
        let offset = u64::try_from(master.master_timer_queue_offset).unwrap_or(0);
        st.master = Some((master.last_read_time_ms, offset));
    }

    /// Starts the worker thread. A slave only links the replicated timer messages into its
    /// wheel, as far as its master has (so that it can take over); its master delivers them.
    pub fn start(self: &Arc<Self>, slave: bool) -> std::io::Result<()> {
        self.lock().slave = slave;
        let me = Arc::clone(self);
        let handle = std::thread::Builder::new()
            .name("TimerService".into())
            .spawn(move || me.run())?;
        if let Ok(mut w) = self.worker.lock() {
            *w = Some(handle);
        }
        Ok(())
    }

    fn run(&self) {
        let mut last_flush = Instant::now();
        let mut last_clean = Instant::now();
        let flush_every = Duration::from_millis(self.cfg.flush_interval_ms);
        while !self.stop.load(Ordering::Acquire) {
            let busy = match self.step() {
                Ok(b) => b,
                Err(e) => {
                    warn!(error = %e, "timer step failed; retrying");
                    false
                }
            };
            if last_flush.elapsed() >= flush_every {
                last_flush = Instant::now();
                if let Err(e) = self.flush() {
                    warn!(error = %e, "timer flush failed");
                }
            }
            if last_clean.elapsed() >= CLEAN_INTERVAL {
                last_clean = Instant::now();
                let min = i64::try_from(self.store.min_phy_offset()).unwrap_or(0);
                match self.log.delete_expired(min) {
                    Ok(0) => {}
                    Ok(n) => info!(files = n, "expired timer log files deleted"),
                    Err(e) => warn!(error = %e, "timer log clean-up failed"),
                }
            }
            if !busy {
                // Wake at the next slot boundary (so a slot is delivered as soon as it passed),
                // or after the idle wait to look for new timer messages.
                let now = now_millis();
                let to_boundary = self.format(now) + self.cfg.precision_ms - now + 1;
                let wait = to_boundary.clamp(1, IDLE_WAIT_MS * self.cfg.precision_ms / 1000);
                std::thread::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(100)));
            }
        }
    }

    /// Stops the worker and writes a final checkpoint.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = worker {
            let _ = w.join();
        }
        if let Err(e) = self.flush() {
            warn!(error = %e, "final timer flush failed");
        }
    }
}
