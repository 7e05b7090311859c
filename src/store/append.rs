//! Appending to the CommitLog: checks, the record encoded before the put lock, offsets and the
//! store time patched in under it, the copy into the mapped file, and the wake-ups after it
//! (`CommitLog.asyncPutMessage` / `doAppend`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::StoreError;
use super::config::FlushDiskType;
use super::lmq;
use super::mapped_file::is_no_space;
use super::message_store::{MAX_PROPERTIES_BYTES, MessageStore, PutMessage, PutResult, now_millis};
use super::queue_key;
use super::record::{
    BLANK_MAGIC, END_FILE_MIN_BLANK_LENGTH, MAGIC_V1, MAGIC_V2, MessageRecord, PHYSICAL_OFFSET_POS,
    QUEUE_OFFSET_POS, RecordHead, TRANSACTION_MASK, TRANSACTION_PREPARED, TRANSACTION_ROLLBACK,
    encode_record, offset_msg_id, patch_i64, store_timestamp_pos,
};
use crate::checksum::java_crc32;

impl MessageStore {
    fn validate(&self, m: &PutMessage) -> Result<i32, StoreError> {
        if m.body.len() > self.config.max_message_size {
            return Err(StoreError::MessageIllegal(format!(
                "message body size {} exceeds maxMessageSize {}",
                m.body.len(),
                self.config.max_message_size
            )));
        }
        if m.properties.len() > MAX_PROPERTIES_BYTES {
            return Err(StoreError::PropertiesTooLong(m.properties.len()));
        }
        if m.topic.is_empty() || m.topic.len() > usize::from(u16::MAX >> 1) {
            return Err(StoreError::MessageIllegal(format!(
                "topic length {} out of range",
                m.topic.len()
            )));
        }
        if m.topic.len() > 127 {
            if !self.config.auto_message_version_on_topic_len {
                return Err(StoreError::MessageIllegal(
                    "topic longer than 127 bytes".into(),
                ));
            }
            return Ok(MAGIC_V2);
        }
        Ok(MAGIC_V1)
    }

    /// Appends messages of one queue atomically (one for a normal send, many for a batch). A
    /// single message naming LMQs gets their offsets stamped (`CommitLog.doAppend`).
    pub fn put(&self, messages: &[PutMessage]) -> Result<PutResult, StoreError> {
        self.put_inner(messages, true)
    }

    /// Appends a SEND_BATCH body's messages: never LMQ-stamped, even one alone, as Java's batch
    /// append (`doAppend(MessageExtBatch)`) is not.
    pub fn put_batch(&self, messages: &[PutMessage]) -> Result<PutResult, StoreError> {
        self.put_inner(messages, false)
    }

    fn put_inner(&self, messages: &[PutMessage], single: bool) -> Result<PutResult, StoreError> {
        if self.shutdown.load(Ordering::Acquire) {
            return Err(StoreError::ShutDown);
        }
        if self.replica.load(Ordering::Acquire) {
            return Err(StoreError::SlaveMode);
        }
        if self.logics_queue_error.load(Ordering::Acquire) {
            return Err(StoreError::LogicsQueueError);
        }
        let magics = messages
            .iter()
            .map(|m| self.validate(m))
            .collect::<Result<Vec<_>, _>>()?;
        let first = messages
            .first()
            .ok_or_else(|| StoreError::MessageIllegal("empty batch".into()))?;
        self.check_lmq_limit(messages)?;
        // A single message naming LMQs gets their offsets under the lock (`doAppend`), which
        // changes its properties: it is encoded there.
        let lmq_names = match messages {
            [m] if single => lmq::names_to_stamp(&self.config, &m.topic, &m.properties),
            _ => None,
        };
        if let Some(names) = lmq_names {
            return self.put_lmq_stamped(first, magics.first().copied().unwrap_or(MAGIC_V1), names);
        }
        // Everything else is encoded before the lock, as Java's encoder runs before
        // `putMessageLock`; under it only the offsets and the store time are patched in and
        // the bytes copied to the mapped file.
        let mut buf = Vec::with_capacity(
            messages
                .iter()
                .map(|m| m.body.len() + m.topic.len() + m.properties.len() + 128)
                .sum(),
        );
        let mut spans = Vec::with_capacity(messages.len());
        for (m, magic) in messages.iter().zip(magics) {
            let start = buf.len();
            encode_record(
                &RecordHead {
                    magic,
                    body_crc: java_crc32(&m.body),
                    queue_id: m.queue_id,
                    flag: m.flag,
                    queue_offset: 0,
                    physical_offset: 0,
                    sys_flag: m.sys_flag,
                    born_timestamp: m.born_timestamp,
                    born_host: m.born_host,
                    store_timestamp: 0,
                    store_host: m.store_host,
                    reconsume_times: m.reconsume_times,
                    prepared_transaction_offset: m.prepared_transaction_offset,
                },
                &m.body,
                &m.topic,
                &m.properties,
                &mut buf,
            );
            spans.push((start, buf.len() - start));
        }
        let total = buf.len();
        if total + END_FILE_MIN_BLANK_LENGTH > self.config.commit_log_file_size {
            return Err(StoreError::MessageIllegal(format!(
                "{total} bytes do not fit one CommitLog file"
            )));
        }
        let mut phys = Vec::with_capacity(messages.len());
        let mut state = self.put_state.lock().map_err(|_| StoreError::Poisoned)?;
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        if self.disk.is_full() {
            return Err(StoreError::DiskFull(self.disk.usage().java_text()));
        }
        let store_timestamp = now_millis();
        let mut next_queue_offset =
            *queue_key::get(&state.queue_offsets, &first.topic, first.queue_id).unwrap_or(&0);
        let first_queue_offset = next_queue_offset;
        let file = self.file_with_room(total)?;
        let pos = file.wrote_position();
        let base = file.file_from_offset() + u64::try_from(pos).unwrap_or(0);
        let mut phy =
            i64::try_from(base).map_err(|_| StoreError::Corrupt("offset overflow".into()))?;
        for (m, &(start, len)) in messages.iter().zip(&spans) {
            let tx = m.sys_flag & TRANSACTION_MASK;
            let counts = tx != TRANSACTION_PREPARED && tx != TRANSACTION_ROLLBACK;
            let rec = buf.get_mut(start..start + len).unwrap_or_default();
            let patched = patch_i64(
                rec,
                QUEUE_OFFSET_POS,
                if counts { next_queue_offset } else { 0 },
            ) && patch_i64(rec, PHYSICAL_OFFSET_POS, phy)
                && patch_i64(rec, store_timestamp_pos(&m.born_host), store_timestamp);
            if !patched {
                return Err(StoreError::Corrupt("encoded record too short".into()));
            }
            phys.push(phy);
            phy += i64::try_from(len).unwrap_or(0);
            if counts {
                next_queue_offset += 1;
            }
        }
        self.copy_in(&file, pos, &buf)?;
        file.publish(pos + total);
        queue_key::set(
            &mut state.queue_offsets,
            &first.topic,
            first.queue_id,
            next_queue_offset,
        );
        drop(state);
        let msg_ids = messages
            .iter()
            .zip(&phys)
            .map(|(m, &p)| offset_msg_id(&m.store_host, p))
            .collect();
        Ok(self.appended_at(base, total, store_timestamp, msg_ids, first_queue_offset))
    }

    /// Appends one message whose LMQ offsets are stamped into its properties under the lock.
    fn put_lmq_stamped(
        &self,
        m: &PutMessage,
        magic: i32,
        names: &str,
    ) -> Result<PutResult, StoreError> {
        let mut state = self.put_state.lock().map_err(|_| StoreError::Poisoned)?;
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        if self.disk.is_full() {
            return Err(StoreError::DiskFull(self.disk.usage().java_text()));
        }
        let store_timestamp = now_millis();
        let key = (m.topic.clone(), m.queue_id);
        let queue_offset = *state.queue_offsets.get(&key).unwrap_or(&0);
        let tx = m.sys_flag & TRANSACTION_MASK;
        let counts = tx != TRANSACTION_PREPARED && tx != TRANSACTION_ROLLBACK;
        let mut rec = MessageRecord {
            magic,
            body_crc: java_crc32(&m.body),
            queue_id: m.queue_id,
            flag: m.flag,
            queue_offset: if counts { queue_offset } else { 0 },
            physical_offset: 0,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            store_timestamp,
            store_host: m.store_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
            body: m.body.clone(),
            topic: m.topic.clone(),
            properties: lmq::stamp_offsets(&m.properties, names, &state.queue_offsets),
        };
        if rec.properties.len() > MAX_PROPERTIES_BYTES {
            return Err(StoreError::PropertiesTooLong(rec.properties.len()));
        }
        let total = rec.encoded_len();
        if total + END_FILE_MIN_BLANK_LENGTH > self.config.commit_log_file_size {
            return Err(StoreError::MessageIllegal(format!(
                "{total} bytes do not fit one CommitLog file"
            )));
        }
        let file = self.file_with_room(total)?;
        let pos = file.wrote_position();
        let base = file.file_from_offset() + u64::try_from(pos).unwrap_or(0);
        rec.physical_offset =
            i64::try_from(base).map_err(|_| StoreError::Corrupt("offset overflow".into()))?;
        let msg_ids = vec![rec.msg_id()];
        let buf = &mut state.buf;
        buf.clear();
        rec.encode_into(buf);
        self.copy_in(&file, pos, buf)?;
        file.publish(pos + buf.len());
        let _ = state
            .queue_offsets
            .insert(key, queue_offset + i64::from(counts));
        for name in lmq::queues_to_advance(names) {
            *state
                .queue_offsets
                .entry((name, lmq::LMQ_QUEUE_ID))
                .or_insert(0) += 1;
        }
        drop(state);
        Ok(self.appended_at(base, total, store_timestamp, msg_ids, queue_offset))
    }

    /// After an append: publishes the new end to the flusher, dispatcher and replication.
    fn appended_at(
        &self,
        base: u64,
        total: usize,
        store_timestamp: i64,
        msg_ids: Vec<String>,
        queue_offset: i64,
    ) -> PutResult {
        let end = base + u64::try_from(total).unwrap_or(0);
        self.written.store(end, Ordering::Release);
        self.publish_appended(end);
        self.last_put_timestamp
            .store(store_timestamp, Ordering::Release);
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.flush_signal.notify();
        } else {
            self.dispatch_signal.notify();
        }
        if super::prefault::wanted(self, end) {
            self.prefault_signal.notify();
        }
        PutResult {
            wrote_offset: i64::try_from(base).unwrap_or(0),
            wrote_bytes: total,
            msg_ids,
            queue_offset,
            store_timestamp,
        }
    }

    /// Copies appended bytes into the CommitLog file: under SYNC_FLUSH through its descriptor
    /// (see [`super::mapped_file::MappedFile::write_at_through_fd`]), else into the mapping.
    fn copy_in(
        &self,
        file: &super::mapped_file::MappedFile,
        pos: usize,
        bytes: &[u8],
    ) -> std::io::Result<()> {
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            file.write_at_through_fd(pos, bytes)
        } else {
            file.write_at(pos, bytes)
        }
    }

    /// 4.9.8's `checkLmqMessage`: with `enableLmq` and `enableMultiDispatch`, a message naming
    /// LMQs is refused once more than `maxLmqConsumeQueueNum` LMQ ConsumeQueues exist.
    fn check_lmq_limit(&self, messages: &[PutMessage]) -> Result<(), StoreError> {
        if !self.config.enable_lmq || !self.config.enable_multi_dispatch {
            return Ok(());
        }
        let count = self.lmq_queue_count.load(Ordering::Acquire);
        if count > self.config.max_lmq_consume_queue_num
            && messages.iter().any(|m| {
                super::record::property(&m.properties, lmq::PROPERTY_INNER_MULTI_DISPATCH)
                    .is_some_and(|v| !v.trim().is_empty())
            })
        {
            return Err(StoreError::LmqConsumeQueueNumExceeded(count));
        }
        Ok(())
    }

    /// The last CommitLog file if `len` bytes plus a blank fit, else a new file (the old one is
    /// closed with the end-of-file blank: its remaining size and `BLANK_MAGIC_CODE`).
    fn file_with_room(
        &self,
        len: usize,
    ) -> Result<Arc<super::mapped_file::MappedFile>, StoreError> {
        let size = self.config.commit_log_file_size;
        let next_start = match self.commit_log.last() {
            Some(f) if f.remaining() >= len + END_FILE_MIN_BLANK_LENGTH => return Ok(f),
            Some(f) => {
                let pos = f.wrote_position();
                let remaining = f.remaining();
                let mut blank = Vec::with_capacity(8);
                blank.extend_from_slice(&i32::try_from(remaining).unwrap_or(0).to_be_bytes());
                blank.extend_from_slice(&BLANK_MAGIC.to_be_bytes());
                if remaining >= END_FILE_MIN_BLANK_LENGTH {
                    self.copy_in(&f, pos, &blank)?;
                }
                f.publish(size);
                f.file_from_offset() + u64::try_from(size).unwrap_or(0)
            }
            None => 0,
        };
        let file = self.commit_log.create(next_start).map_err(|e| match e {
            StoreError::Io(io) if is_no_space(&io) => {
                self.disk.mark_no_space("commitlog");
                StoreError::DiskFull(self.disk.usage().java_text())
            }
            other => other,
        })?;
        if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            // Before the prefault thread populates it: with readahead its faults would fill the
            // page cache in 2 MiB folios, each written whole by a group commit (`super::prefault`).
            file.set_readahead(false);
        }
        Ok(file)
    }
}
