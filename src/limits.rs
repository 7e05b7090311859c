//! Every bound the servers enforce, in one place, each named with its Java origin.
//!
//! The relationships between limits are checked at compile time at the bottom of the file.

/// Largest frame accepted on the wire, counting the 4-byte length prefix (so the largest
/// announced length is 16,777,212). Java: `NettyDecoder.FRAME_MAX_LENGTH`, property
/// `com.rocketmq.remoting.frameMaxLength`, default 16 MiB, given to Netty's
/// `LengthFieldBasedFrameDecoder`, whose limit includes the length field.
pub const FRAME_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The header length is carried in the low 24 bits of the second frame word.
/// Java: `RemotingCommand.getHeaderLength` (`length & 0xFFFFFF`).
pub const HEADER_MAX_BYTES: usize = 0x00FF_FFFF;

/// Most `extFields` keys accepted in one request header. Java has no cap (`HashMap` decode);
/// the largest custom header any client sends has under 40 fields (SEND_MESSAGE_V2 with ACL and
/// namespace fields), so this leaves wide room for extensions. Past it the request is answered
/// with SYSTEM_ERROR (Java's answer to a header it cannot decode into its custom header) and the
/// connection stays open.
pub const EXT_FIELDS_MAX_KEYS: usize = 1024;

/// Most `extFields` pairs kept in a linearly searched vector; one more moves the map to a hash
/// map. Ours (Java uses a `HashMap` throughout): the clients' headers have at most ~20 keys, and
/// up to this size a scan of short keys costs less than hashing them.
pub const EXT_FIELDS_SMALL_KEYS: usize = 32;

/// Headers longer than this are decoded on the blocking pool, one at a time
/// ([`LARGE_HEADER_DECODERS`]), so a hostile 16 MiB header never holds a runtime worker.
/// Every header a real client sends is well under 4 KiB.
pub const HEADER_INLINE_DECODE_MAX_BYTES: usize = 16 * 1024;

/// Large headers decoded at once, process-wide; further ones wait (their connection stops reading).
pub const LARGE_HEADER_DECODERS: usize = 1;

/// Default of `serverMaxConnections`: most concurrent connections one listener keeps. Java has
/// no such cap (Netty accepts until the process runs out of descriptors, then logs accept errors);
/// we bound it (TigerStyle) but keep accepting: at the cap the stalest connection (one that never
/// finished a frame first, then the longest without a whole frame) is closed so a new client
/// always gets in. The cap in force is also held under the open-file limit
/// (`net::connection_cap`): each listener gets at most the soft `RLIMIT_NOFILE` minus
/// [`OPEN_FILE_RESERVE`], divided by the process's listeners: past the open-file limit accepts
/// fail with `EMFILE` instead of evicting, and the store could no longer open its files. Was
/// 4,096, which dropped clients when 5,000 connected (`benches/RESULTS.md`, "Scale and
/// visibility").
pub const DEFAULT_SERVER_MAX_CONNECTIONS: usize = 65_536;

/// Descriptors kept out of the connection caps' share of the open-file limit: CommitLog and
/// index files, config files being rewritten, the HA and gRPC listeners and their peers, the
/// name-server address endpoint, outbound clients (name servers, check-backs). ConsumeQueue
/// files hold no descriptor once mapped (`MappedFile::open_derived`).
pub const OPEN_FILE_RESERVE: usize = 1_024;

/// The connection cap never drops below this, however low the open-file limit: a server that
/// can hold a few hundred clients is still useful, and the operator is told to raise `ulimit -n`.
pub const SERVER_MIN_CONNECTIONS: usize = 256;

/// A frame must arrive whole within this many seconds of its first byte, or the connection is
/// closed; bytes that trickle in do not count as activity. Java has no per-frame deadline (only
/// the idle timeout), so a slowloris holds a Java channel for as long as it trickles. 30 s carries
/// a 16 MiB frame at 600 KB/s.
pub const FRAME_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Frames up to this size (prefix included) are cut from a connection's shared read buffer;
/// larger ones get a buffer of their own, charged to the inbound budget. Send requests of
/// typical messages (a few KiB) stay under it. Outside the budget, a connection's small buffer
/// holds at most this plus [`SMALL_READ_CHUNK_BYTES`], so 32 KiB × the connection cap
/// (128 MiB per 4,096 connections) per listener in the worst case.
pub const SMALL_FRAME_BYTES: usize = 16 * 1024;

/// How much a connection's small read buffer grows at a time.
pub const SMALL_READ_CHUNK_BYTES: usize = 16 * 1024;

/// First capacity of a large frame's buffer; it then doubles as bytes arrive, up to the
/// announced length.
pub const LARGE_FRAME_GROWTH_MIN_BYTES: usize = 256 * 1024;

/// Default of `serverInboundBudgetBytes`: all large-frame buffers of one server process
/// together (unfinished frames and requests being handled). 64 producers sending 4 MiB
/// messages (`maxMessageSize`) at once need 256 MiB; Java's equivalent is the direct-memory
/// pool (`-XX:MaxDirectMemorySize`), which aborts the JVM's allocations when exhausted.
pub const DEFAULT_INBOUND_BUDGET_BYTES: usize = 512 * 1024 * 1024;

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

/// Largest HTTP request head the name server's address endpoint (`addressServerPort`) reads;
/// a longer one is answered 431. Java clients send about 300 bytes (`HttpTinyClient.httpGet`:
/// request line plus `Client-Version`, `Content-Type`, `Metaq-Client-RequestTS`). Ours: Java's
/// own address server is an external web server.
pub const ADDRESS_SERVER_MAX_REQUEST_BYTES: usize = 8 * 1024;

/// Concurrent connections the address endpoint serves; past it a new connection is closed at
/// once. Clients ask once at start and every 2 minutes (`MQClientInstance.startScheduledTask`).
pub const ADDRESS_SERVER_MAX_CONNECTIONS: usize = 256;

/// Time a client has to send its whole request head to the address endpoint. Java clients wait
/// 3 s for the answer (`DefaultTopAddressing.fetchNSAddr(true, 3000)`).
pub const ADDRESS_SERVER_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Largest transfer body a slave accepts in one HA chunk. Java: the slave's read buffer,
/// `DefaultHAClient.READ_MAX_BUFFER_SIZE` (4 MiB), must hold a header and its body; masters send
/// `haTransferBatchSize` (32 KiB) or less.
pub const HA_MAX_CHUNK_BYTES: usize = 4 * 1024 * 1024 - 12;

/// Most HA connections a master keeps (slaves and anything else that dials the HA port). Java has
/// no cap; a real group has one or two slaves. Past it new connections are closed at once.
pub const HA_MAX_CONNECTIONS: usize = 16;

/// Longest wait for a slave's TCP connect to its master. Java: `DefaultHAClient.connectMaster`
/// uses `RemotingHelper.connect(addr)`, whose default timeout is 5 s.
pub const HA_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Pause before a slave dials its master again. Java's `DefaultHAClient` waits 5 s after a failed
/// connect; 1 s brings a SYNC_MASTER pair back sooner after a master restart (sends answer
/// SLAVE_NOT_AVAILABLE until the slave is attached again) at the cost of one connect a second.
pub const HA_RECONNECT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Longest wait for a requester to take a pushed reply (PUSH_REPLY_MESSAGE_TO_CLIENT). Java:
/// `Broker2Client.callClient` uses `invokeSync(channel, request, 10000)`.
pub const REPLY_PUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often the ACL files are checked for changes. Java: `AclFileWatchService.WATCH_INTERVAL`
/// (5 s, by modification time).
pub const ACL_WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// DELETE_TOPIC_IN_BROKER waits at most this long for records already appended to reach their
/// ConsumeQueues before removing them, so the dispatcher does not recreate a deleted queue.
/// Java has no wait (`DefaultMessageStore.deleteTopics` races the reput service); ours is a
/// bound on an admin call, not on the hot path.
pub const DELETE_TOPIC_DISPATCH_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// CommitLog bytes kept resident and mapped writable ahead of the writer by the prefault thread,
/// so appends do not fault and zero-fill fresh pages on the send path (13 % of the broker's
/// samples on a fresh store). Java's counterpart is `warmMapedFileEnable` (default false), which
/// writes a whole new file in `AllocateMappedFileService`; a window bounds the memory and the
/// zero pages written back ahead of the data. Refilled when less than half of it is left.
pub const COMMIT_LOG_PREFAULT_AHEAD_BYTES: usize = 8 * 1024 * 1024;

/// Under SYNC_FLUSH the prefault thread also writes the zeros of its window out (msync), this
/// many bytes per call, so the group commit's msyncs land on written blocks and need no journal
/// commit. Java's `MappedFile.warmMappedFile` does the same for SYNC_FLUSH, forcing every
/// `flushLeastPagesWhenWarmMapedFile` (4,096) pages = 16 MiB; ours is smaller so that one step
/// holds the device for about 2 ms (measured with strace: msync of 1 MiB of zeros 1.8–2.1 ms),
/// not the group commit's waiters for tens.
pub const COMMIT_LOG_PREFAULT_WRITE_STEP_BYTES: usize = 1024 * 1024;

/// Daily log files kept per file name under `ROCKETMQ_LOG_DIR`. Java's logback keeps 10 rolled
/// files of 128 MB per log (`rmq.broker.logback.xml`, `maxIndex` 10); ours roll daily.
pub const LOG_FILES_KEPT: usize = 10;

/// Lines buffered per log file before new lines are dropped (the writer never blocks a
/// request). Default of `tracing_appender::non_blocking`; Java's async appenders queue 1024
/// events and block (`AsyncAppender` `queueSize`).
pub const LOG_FILE_BUFFERED_LINES: usize = 128_000;

/// Refused requests logged per second (the rest are counted and reported with the next line).
/// Java logs refusals unbounded at WARN in each processor; a flood of bad requests then floods
/// the disk.
pub const REJECT_LOGS_PER_SECOND: u64 = 10;

/// ACL access and secret keys must be longer than this. Java: `AclConstants.ACCESS_KEY_MIN_LENGTH`
/// and `SECRET_KEY_MIN_LENGTH` (6).
pub const ACL_KEY_MIN_LENGTH: usize = 6;

/// Default of `maxLmqConsumeQueueNum`: once more LMQ ConsumeQueues than this exist, a message
/// naming LMQs is refused with SYSTEM_ERROR `[LMQ_CONSUME_QUEUE_NUM_EXCEEDED]`. Java: 4.9.8's
/// `DefaultMessageStore.checkLmqMessage` (`lmqConsumeQueueNum > maxLmqConsumeQueueNum`); 5.3.3
/// keeps the key, the status and the remark but no longer checks.
pub const MAX_LMQ_CONSUME_QUEUE_NUM: usize = 20_000;
/// Most messages one POP_MESSAGE may ask for; more is INVALID_PARAMETER. Java:
/// `PopMessageProcessor.processRequest` ("pop message's num is greater than 32"); it also keeps a
/// checkpoint's ack bitmap (`PopCheckPoint.bitMap`, an int) within range.
pub const POP_MAX_MSG_NUMS: i32 = 32;

/// A pop that arrives this long after `bornTime + pollTime` is answered POLLING_TIMEOUT at once.
/// Java: `PopMessageRequestHeader.isTimeoutTooMuch` (500 ms).
pub const POP_TIMEOUT_TOO_MUCH_MS: i64 = 500;

/// Longest a pop is held waiting for messages, whatever its `pollTime`. Java holds until
/// `bornTime + pollTime` without a cap; clients ask for 15 s (push) or 20 s (simple consumer).
pub const POP_MAX_HOLD_MS: i64 = 5 * 60 * 1000;

/// Most topic routes QUERY_ASSIGNMENT keeps from the name server; past it the cache starts
/// over. Java's `TopicRouteInfoManager` keeps every topic asked about.
pub const POP_ROUTE_CACHE_MAX: usize = 4096;

const _: () = assert!(HEADER_MAX_BYTES < FRAME_MAX_BYTES);
const _: () = assert!(SMALL_FRAME_BYTES < LARGE_FRAME_GROWTH_MIN_BYTES);
const _: () = assert!(FRAME_MAX_BYTES <= DEFAULT_INBOUND_BUDGET_BYTES);
const _: () = assert!(CONNECTION_MAX_IN_FLIGHT <= CONNECTION_WRITE_QUEUE);
const _: () = assert!(SCAN_NOT_ACTIVE_BROKER_INTERVAL_MILLIS < BROKER_CHANNEL_EXPIRED_MILLIS);
const _: () = assert!(REGISTER_BROKER_MAX_INFLATED_BYTES >= FRAME_MAX_BYTES);
const _: () = assert!(POP_MAX_MSG_NUMS <= 32);

// ---- The gRPC endpoint (`apache.rocketmq.v2.MessagingService`), bounds from Java's `ProxyConfig`.

/// Largest gRPC message decoded. Java: `ProxyConfig.grpcMaxInboundMessageSize`, 130 MiB.
pub const GRPC_MAX_INBOUND_MESSAGE_BYTES: usize = 130 * 1024 * 1024;

/// Largest message body a gRPC send may carry (`MESSAGE_BODY_TOO_LARGE` past it), also announced
/// to producers as `Publishing.max_body_size`. Java: `ProxyConfig.maxMessageSize`, 4 MiB.
pub const GRPC_MAX_MESSAGE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Most user properties on one gRPC message (`MESSAGE_PROPERTIES_TOO_LARGE` past it).
/// Java: `ProxyConfig.userPropertyMaxNum`, 128.
pub const GRPC_USER_PROPERTY_MAX_NUM: usize = 128;

/// Total bytes of user properties, tag and keys on one gRPC message.
/// Java: `ProxyConfig.maxUserPropertySize`, 16 KiB.
pub const GRPC_MAX_USER_PROPERTY_BYTES: usize = 16 * 1024;

/// A message group must be shorter than this many UTF-8 bytes.
/// Java: `ProxyConfig.maxMessageGroupSize`, 64.
pub const GRPC_MAX_MESSAGE_GROUP_BYTES: usize = 64;

/// Farthest a `delivery_timestamp` may lie in the future (`ILLEGAL_DELIVERY_TIME` past it).
/// Java: `ProxyConfig.maxDelayTimeMills`, one day.
pub const GRPC_MAX_DELAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Longest `orphaned_transaction_recovery_duration` accepted, in seconds.
/// Java: `ProxyConfig.maxTransactionRecoverySecond`, one hour.
pub const GRPC_MAX_TRANSACTION_RECOVERY_SECONDS: i64 = 60 * 60;

/// Concurrent HTTP/2 streams per gRPC connection. Java's proxy leaves Netty's default
/// (unbounded); ours bounds the requests one connection can have in flight.
pub const GRPC_MAX_CONCURRENT_STREAMS: u32 = 1024;

/// Commands queued for one Telemetry stream before the server stops adding (the client is not
/// reading). Ours: Java writes to the `StreamObserver` without a bound.
pub const GRPC_TELEMETRY_OUTBOUND_QUEUE: usize = 64;

/// gRPC clients (distinct `x-mq-client-id`) whose settings are kept; a new client past it is
/// answered `TOO_MANY_REQUESTS`. Ours: Java's `GrpcClientSettingsManager` map is unbounded.
pub const GRPC_MAX_CLIENTS: usize = 65_536;

/// Transactions sent over gRPC awaiting their EndTransaction (their half-message offsets).
/// Java bounds them per producer group and transaction (`ProxyConfig.transactionDataMaxNum`, 15)
/// and drops them after `transactionDataExpireMillis`; ours is one process-wide table, oldest
/// first out past this many, and an entry lives as long as the broker may check it back.
pub const GRPC_TRANSACTION_DATA_MAX: usize = 100_000;

/// Frames the broker may queue on a gRPC client's in-process channel (check-backs and
/// notifications) before they are dropped. Ours.
pub const GRPC_CLIENT_CHANNEL_QUEUE: usize = 64;

/// Frames for gRPC clients (all clients together) waiting to be translated into Telemetry
/// commands; past it they are dropped and the broker's next check round sends them again. Ours.
pub const GRPC_RELAY_QUEUE: usize = 1024;

/// How long open gRPC connections get to finish at shutdown before they are closed.
/// Java: `ProxyConfig.grpcShutdownTimeSeconds`, 30 s.
pub const GRPC_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A gRPC client with no request and no open Telemetry stream for this long is forgotten (its
/// settings, in-process channel and registrations), so clients that crash without
/// NotifyClientTermination do not fill [`GRPC_MAX_CLIENTS`]. Default of the key
/// `grpcClientIdleTimeMills`. Java: `ProxyConfig.grpcClientIdleTimeMills`, 120 s.
pub const GRPC_CLIENT_IDLE: std::time::Duration = std::time::Duration::from_secs(120);

/// How long an admin request relayed to a consumer (GET_CONSUMER_RUNNING_INFO,
/// CONSUME_MESSAGE_DIRECTLY) waits for its answer. Java: `Broker2Client.callClient`, 10 s.
pub const CALL_CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long each consumer gets to answer GET_CONSUMER_STATUS_FROM_CLIENT for
/// `mqadmin getConsumerStatus`. Java: `Broker2Client.getConsumeStatus`, 5 s.
pub const CONSUMER_STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Shortest invisible duration a ReceiveMessage may ask for (`ILLEGAL_INVISIBLE_TIME` below it).
/// Java: `ProxyConfig.minInvisibleTimeMillsForRecv`, 10 s.
pub const GRPC_MIN_INVISIBLE_MS_FOR_RECV: i64 = 10_000;

/// Longest invisible duration of ReceiveMessage and ChangeInvisibleDuration
/// (`ILLEGAL_INVISIBLE_TIME` past it). Java: `ProxyConfig.maxInvisibleTimeMills`, 12 h.
pub const GRPC_MAX_INVISIBLE_MS: i64 = 12 * 60 * 60 * 1000;

/// Invisible duration of messages received with `auto_renew` (push consumers).
/// Java: `ProxyConfig.defaultInvisibleTimeMills`, 60 s (the key `defaultInvisibleTimeMills`
/// sets it; the endpoint then renews it while the client holds the message, `grpc::renew`).
pub const GRPC_DEFAULT_INVISIBLE_MS: i64 = 60_000;

/// Shortest long-polling time of a ReceiveMessage.
/// Java: `ProxyConfig.grpcClientConsumerMinLongPollingTimeoutMillis`, 5 s.
pub const GRPC_MIN_LONG_POLLING_MS: i64 = 5_000;

/// Longest long-polling time of a ReceiveMessage.
/// Java: `ProxyConfig.grpcClientConsumerMaxLongPollingTimeoutMillis`, 20 s.
pub const GRPC_MAX_LONG_POLLING_MS: i64 = 20_000;

/// Most messages one ReceiveMessage pops; a larger `batch_size` is lowered to it.
/// Java: `ProxyUtils.MAX_MSG_NUMS_FOR_POP_REQUEST`, 32.
pub const GRPC_MAX_RECEIVE_BATCH: i32 = 32;

/// Invisible time given back to a received message the stream could not deliver.
/// Java: `ReceiveMessageResponseStreamWriter.NACK_INVISIBLE_TIME`, 1 s.
pub const GRPC_NACK_INVISIBLE_MS: i64 = 1_000;

/// Receipt handles the gRPC endpoint renews at once, over all clients; handles received beyond
/// it are not renewed (they come back after their invisible time). Ours: Java's
/// `DefaultReceiptHandleManager` keeps an unbounded map (its renew worker queue,
/// `ProxyConfig.renewThreadPoolQueueCapacity` 300, bounds only the queued renewals).
pub const GRPC_MAX_RENEW_HANDLES: usize = 100_000;
/// Invisible time granted by the n-th renewal of a handle (the last repeats). Java:
/// `proxy:common/RenewStrategyPolicy.next` (1 min, 3 min, 5 min, 10 min, 30 min, 1 h).
pub const GRPC_RENEW_STEPS_MS: [i64; 6] = [60_000, 180_000, 300_000, 600_000, 1_800_000, 3_600_000];
/// Invisible time a handle gets when renewal stops after `renewMaxTimeMillis`, indexed by the
/// message's reconsume times + 2 (the last repeats). Java: the group's default retry policy,
/// `CustomizedRetryPolicy.next` (1 s 5 s 10 s 30 s 1 m 2 m … 10 m 20 m 30 m 1 h 2 h).
pub const GRPC_STOP_RENEW_DELAYS_MS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];
const _: () = assert!(GRPC_MAX_RECEIVE_BATCH <= POP_MAX_MSG_NUMS);
const _: () = assert!(GRPC_MIN_LONG_POLLING_MS < GRPC_MAX_LONG_POLLING_MS);

/// Distinct label sets one Prometheus metric family (`rocketmq_messages_in_total`, …) keeps; a
/// new label set past it is counted in one overflow series whose labels read `__overflow__`.
/// Java 5.3.3 has none (its OpenTelemetry SDK predates the SDK's later default cardinality limit
/// of 2000 series per instrument, whose overflow series we mirror); we use the same 2000.
pub const METRIC_SERIES_PER_FAMILY: usize = 2000;

/// Shortest period the `LOG` metrics exporter takes from `metricLoggingExporterIntervalInMills`
/// (Java's default 10 000 ms, no lower bound), so a typo cannot flood the log.
pub const METRIC_LOG_MIN_INTERVAL_MS: i64 = 100;

const _: () = assert!(GRPC_MAX_MESSAGE_BODY_BYTES < GRPC_MAX_INBOUND_MESSAGE_BYTES);

/// ACL 2.0 users one broker keeps (`auth_users.json`); AUTH_CREATE_USER past it is refused.
/// Java's `LocalAuthenticationMetadataProvider` stores users in RocksDB without a cap; its cache
/// holds `userCacheMaxNum` (1000) of them. Ours keeps every user in memory, so the store itself
/// is bounded, at ten times Java's cache.
pub const AUTH_MAX_USERS: usize = 10_000;
/// ACL 2.0 subjects with rules one broker keeps (`auth_acls.json`). Java: RocksDB, no cap; its
/// cache holds `aclCacheMaxNum` (1000).
pub const AUTH_MAX_ACLS: usize = 10_000;
/// Policy entries (resource rules) one subject's ACL may hold, over its policies. Java: no cap
/// (`Policy.updateEntry` appends).
pub const AUTH_MAX_ENTRIES_PER_ACL: usize = 1_000;

/// Time a new gRPC connection gets to show its first byte and, when it starts TLS, to finish
/// the handshake; past it the connection is closed. Java: Netty `SslHandler`'s default
/// `handshakeTimeoutMillis`, 10 s (the proxy sets none of its own).
pub const GRPC_TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// New gRPC connections being sniffed or TLS-handshaken at once; further accepts wait in the
/// kernel's backlog. Ours: Java's Netty pipeline has no such bound.
pub const GRPC_TLS_MAX_HANDSHAKES: usize = 256;

/// Longest PROXY protocol v1 header (`PROXY TCP6 ...\r\n`), line end included; a longer
/// one closes the connection. Java: Netty `HAProxyMessageDecoder`'s v1 maximum, 108.
pub const PROXY_V1_MAX_BYTES: usize = 108;

/// Longest PROXY protocol v2 header: its 16 fixed bytes plus the largest length its 2-byte
/// field can announce. Java: Netty `HAProxyMessageDecoder`'s v2 maximum, 16 + 65535. The
/// header must arrive whole within [`FRAME_READ_TIMEOUT`] of its first byte on remoting ports
/// and within [`GRPC_TLS_HANDSHAKE_TIMEOUT`] of the accept on the gRPC port (Java: no bound
/// but the idle timeout).
pub const PROXY_V2_MAX_BYTES: usize = 16 + 65_535;

/// Accepted gRPC connections handed to the HTTP/2 server but not yet taken by it.
/// Ours (tonic's own `TcpIncoming` has no queue).
pub const GRPC_ACCEPTED_QUEUE: usize = 64;

/// Most CommitLog bytes a reader (pull, POP, GET_MAX_OFFSET) dispatches itself when the
/// dispatcher thread is behind (`store::dispatch::catch_up_for_reader`); more is left to the
/// dispatcher so a request never does a long batch. No Java counterpart (Java's readers wait for
/// `ReputMessageService`); 1 MiB is about 900 1-KiB messages, about a millisecond. At 256 KiB
/// (about 4.6 ms of a 55 MB/s produce load) 1 % of pulls under 64 in flight still missed a
/// message at the first poll, which set the send -> visible p99.
pub const READER_DISPATCH_MAX_BYTES: u64 = 1024 * 1024;

/// SYNC_FLUSH waiters queued before those whose sends already gave up (timed out while flushes
/// stalled) are dropped from the queue; the bound then doubles from what is left. Java's
/// `GroupCommitService` lists are unbounded; its `FlushDiskWatcher` completes timed-out requests.
pub const FLUSH_WAITERS_PRUNE_AT: usize = 65_536;

/// How long the dispatcher thread dozes after a pass that dispatched something, while no pull
/// or pop is held waiting for an arrival, before it looks again; appends meanwhile do not wake
/// it. Java: `ReputMessageService.run` sleeps 1 ms before every `doReput()`, held consumers or
/// not. Under a steady produce load this turns one wake-up (two futex calls and two context
/// switches) per burst of appends into at most one per millisecond; a pull or GET_MAX_OFFSET
/// that comes meanwhile dispatches what it needs itself ([`READER_DISPATCH_MAX_BYTES`]), and a
/// pull that starts waiting ends the doze, so held consumers see each append at once. An idle
/// dispatcher still sleeps until an append wakes it.
pub const DISPATCH_COALESCE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(1);

/// Longest sleep of an idle dispatcher thread between checks of the CommitLog end when no append
/// wakes it (a slave's raw appends and SYNC_FLUSH's flushes wake it too). Our own backstop: Java's
/// `ReputMessageService` polls every millisecond instead of waiting for a wake-up.
pub const DISPATCH_IDLE_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// Attempts the dispatcher makes at one CommitLog record whose ConsumeQueue or index write
/// fails (other than for lack of space), one per [`DISPATCH_RETRY_INTERVAL`], before the store
/// marks the logic-queue error and refuses appends with SERVICE_NOT_AVAILABLE. Java:
/// `ConsumeQueue.putMessagePositionInfoWrapper`'s `maxRetries = 30` with a 1 s sleep, then
/// `RunningFlags.makeLogicsQueueError()`, which `HookUtils.checkBeforePutMessage` turns into
/// SERVICE_NOT_AVAILABLE.
pub const CONSUME_QUEUE_WRITE_RETRIES: u32 = 30;

/// Pause between dispatch attempts after a failure. Java: `Thread.sleep(1000)` in
/// `putMessagePositionInfoWrapper`.
pub const DISPATCH_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
