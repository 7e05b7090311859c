//! Every bound the servers enforce, in one place, each named with its Java origin.
//!
//! The relationships between limits are checked at compile time at the bottom of the file.

/// Largest frame accepted on the wire, not counting the 4-byte length prefix.
/// Java: `NettyDecoder.FRAME_MAX_LENGTH`, property `com.rocketmq.remoting.frameMaxLength`,
/// default 16 MiB.
pub const FRAME_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The header length is carried in the low 24 bits of the second frame word.
/// Java: `RemotingCommand.getHeaderLength` (`length & 0xFFFFFF`).
pub const HEADER_MAX_BYTES: usize = 0x00FF_FFFF;

/// Most concurrent connections one server accepts; further accepts wait for a free slot.
/// Java has no inbound cap besides the accept backlog; we bound it (TigerStyle).
pub const SERVER_MAX_CONNECTIONS: usize = 4096;

/// An idle connection (nothing read or written) is closed after this many seconds.
/// Java: `NettyServerConfig.serverChannelMaxIdleTimeSeconds = 120`.
pub const SERVER_CHANNEL_MAX_IDLE_SECS: u64 = 120;

/// Requests being processed at once for one connection; more are read only when one finishes.
/// Java bounds only oneway work (`serverOnewaySemaphoreValue = 256`); held long-poll pulls also
/// count here, and one client connection may hold a pull per queue it consumes, so the bound is
/// well above any client's queue count.
pub const CONNECTION_MAX_IN_FLIGHT: usize = 4096;

/// Frames queued for writing on one connection before producers of responses wait.
/// Java relies on Netty's write-buffer watermarks; a bounded channel is our equivalent.
pub const CONNECTION_WRITE_QUEUE: usize = 4096;

/// Requests a client may have outstanding on one connection.
/// Java: `NettyClientConfig.clientAsyncSemaphoreValue = 65535`.
pub const CLIENT_MAX_PENDING: usize = 65_535;

/// Default timeout of a client request. Java: `NettyClientConfig.connectTimeoutMillis` is 3 s,
/// `MQClientAPIImpl` callers pass 3 s for most name-server calls.
pub const CLIENT_DEFAULT_TIMEOUT_MILLIS: u64 = 3_000;

/// How long graceful shutdown waits for connections to finish before dropping them.
/// Java: `NettyRemotingServer.shutdown` closes at once; we give in-flight work a short grace.
pub const SHUTDOWN_GRACE_MILLIS: u64 = 3_000;

/// A broker that has not refreshed its registration for this long is removed.
/// Java: `RouteInfoManager.DEFAULT_BROKER_CHANNEL_EXPIRED_TIME = 1000 * 60 * 2`.
pub const BROKER_CHANNEL_EXPIRED_MILLIS: u64 = 120_000;

/// Interval of the inactive-broker scan. Java: `NamesrvConfig.scanNotActiveBrokerInterval`.
pub const SCAN_NOT_ACTIVE_BROKER_INTERVAL_MILLIS: u64 = 5_000;

/// Most topics accepted in one REGISTER_BROKER body. Java has no cap; a broker with this many
/// topics would already exceed the 16 MiB frame with its JSON, so this only stops garbage.
pub const REGISTER_BROKER_MAX_TOPICS: usize = 1_000_000;

/// Largest inflated REGISTER_BROKER body. The compressed form could otherwise inflate without
/// bound (a zip bomb); Java inflates into a growing buffer without a cap.
pub const REGISTER_BROKER_MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// Most brokers kept in the name server registry (all clusters together).
pub const NAMESRV_MAX_BROKERS: usize = 65_536;

/// Most KV entries kept by the name server, all namespaces together.
pub const NAMESRV_MAX_KV_ENTRIES: usize = 1_000_000;

const _: () = assert!(HEADER_MAX_BYTES < FRAME_MAX_BYTES);
const _: () = assert!(CONNECTION_MAX_IN_FLIGHT <= CONNECTION_WRITE_QUEUE);
const _: () = assert!(SCAN_NOT_ACTIVE_BROKER_INTERVAL_MILLIS < BROKER_CHANNEL_EXPIRED_MILLIS);
const _: () = assert!(REGISTER_BROKER_MAX_INFLATED_BYTES >= FRAME_MAX_BYTES);
