//! The message store, byte-compatible with the Java broker's `storePathRootDir`.
//!
//! - [`mapped_file`] is the only module with `unsafe`; [`mapped_file_queue`] strings files into a log.
//! - [`record`] is the CommitLog record format; [`consume_queue`], [`index_file`] and
//!   [`checkpoint`] are the derived files.
//! - [`message_store`] ties them together: appends (the `append` module: encoded before the put
//!   lock, patched and copied under it), reads, and the background
//!   [`dispatch`] (CommitLog → ConsumeQueue + index) and [`flush`] services, and the `prefault`
//!   thread that keeps fresh CommitLog pages off the send path;
//!   [`recovery`] rebuilds a consistent state after a clean or a crashed shutdown.
//!
//! Durability rule (#8239): under SYNC_FLUSH readers never see past the flushed offset, because
//! the dispatcher only publishes ConsumeQueue units for flushed records.

mod append;
pub mod checkpoint;
pub mod clean;
pub mod config;
pub mod consume_queue;
pub mod disk;
pub mod dispatch;
pub mod flush;
mod flush_waiters;
pub mod index_file;
pub mod lmq;
pub mod mapped_file;
pub mod mapped_file_queue;
pub mod message_store;
mod prefault;
mod queue_key;
pub mod record;
pub mod recovery;
pub mod replica;
pub mod timer;
pub mod tool;
pub mod topic_delete;

pub use config::{FlushDiskType, StoreConfig};
pub use message_store::{GetMessageResult, GetMessageStatus, MessageStore, PutMessage, PutResult};

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// File system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A flush failed earlier; nothing is acknowledged any more (fsyncgate). Restart to recover.
    #[error("store is poisoned after a failed flush; restart the broker to recover")]
    Poisoned,
    /// On-disk data does not fit the configuration or the format.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The message is too large or malformed (`MESSAGE_ILLEGAL`).
    #[error("message illegal: {0}")]
    MessageIllegal(String),
    /// Properties over 32767 bytes (`PROPERTIES_SIZE_EXCEEDED`).
    #[error("properties size {0} exceeds 32767")]
    PropertiesTooLong(usize),
    /// A slave's store takes only replicated bytes (`BrokerRole.SLAVE`).
    #[error("message store is in slave mode, so putMessage is forbidden")]
    SlaveMode,
    /// The store is shutting down.
    #[error("store is shut down")]
    ShutDown,
    /// The disk is over `diskSpaceWarningLevelRatio` full, or a store file could not be
    /// created for lack of space; writes resume when space is freed. Carries Java's usage text.
    #[error("the broker's disk is full [{0}]")]
    DiskFull(String),
    /// The dispatcher could not write a ConsumeQueue unit (Java's `WRITE_LOGICS_QUEUE_ERROR_BIT`):
    /// appends are refused with SERVICE_NOT_AVAILABLE until dispatch succeeds again.
    #[error(
        "message store is not writeable, so putMessage is forbidden: consume queue can not write"
    )]
    LogicsQueueError,
    /// More LMQ ConsumeQueues than `maxLmqConsumeQueueNum` exist (`LMQ_CONSUME_QUEUE_NUM_EXCEEDED`).
    #[error("lmq consumeQueue num {0} exceeds maxLmqConsumeQueueNum")]
    LmqConsumeQueueNumExceeded(usize),
}
