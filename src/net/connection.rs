//! One TCP connection: a reader loop that dispatches requests and completes pending responses,
//! and a writer task that batches frames into few syscalls.
//!
//! Bounds: at most [`CONNECTION_MAX_IN_FLIGHT`] requests are handled at once (the reader stops
//! reading while they run), at most [`CONNECTION_WRITE_QUEUE`] frames wait for the writer, at most
//! [`CLIENT_MAX_PENDING`] requests originated here await responses, a frame must arrive whole
//! within the frame timeout ([`crate::limits::FRAME_READ_TIMEOUT`]) of its first byte, large frames are charged to the process's
//! [`InboundBudget`], headers over [`HEADER_INLINE_DECODE_MAX_BYTES`] are decoded off the runtime
//! workers, and a connection with no whole frame in either direction for the idle timeout is
//! closed (bytes that trickle in are not activity). A server connection may start with a PROXY
//! protocol header ([`super::proxy_protocol`]); its client address then is the peer's.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncWriteExt as _, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};
use tracing::{debug, warn};

use super::budget::InboundBudget;
use super::reader::{FrameReader, InboundFrame};
use super::{NetError, Service};
use crate::limits::{
    CLIENT_MAX_PENDING, CONNECTION_MAX_IN_FLIGHT, CONNECTION_WRITE_QUEUE,
    HEADER_INLINE_DECODE_MAX_BYTES, LARGE_HEADER_DECODERS,
};
use crate::remoting::{RemotingCommand, ResponseCode, SerializeType, WireError, frame};

/// Large headers being decoded on the blocking pool, process-wide.
static LARGE_HEADER_DECODE: Semaphore = Semaphore::const_new(LARGE_HEADER_DECODERS);

/// One frame for the writer: contiguous, or header plus body slices (pull bodies straight from
/// mapped CommitLog files, written with one vectored write and no copy).
#[derive(Debug)]
pub enum Outbound {
    /// A whole encoded frame.
    Frame(Bytes),
    /// Consecutive parts of one frame.
    Parts(Vec<Bytes>),
}

/// Write buffer per connection; parts larger than what is left go out as vectored writes.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Shared handle to a live connection.
pub type ConnectionHandle = Arc<Connection>;

/// Response slots of requests originated on this connection, keyed by opaque.
type PendingMap = HashMap<i32, oneshot::Sender<RemotingCommand>>;

/// State shared by the reader, the writer and anyone sending on the connection.
#[derive(Debug)]
pub struct Connection {
    /// Process-unique id, for logs and registries.
    id: u64,
    /// Remote address of the socket.
    peer: SocketAddr,
    /// The client's address from a PROXY protocol header, which stands for `peer` as in
    /// Java's `RemotingHelper.parseChannelRemoteAddr`; set before the first frame is read.
    proxied: std::sync::OnceLock<SocketAddr>,
    /// Local address (the broker stamps it into messages).
    local: SocketAddr,
    /// Frames to write; bounded, so a slow peer slows its producers.
    outbound: mpsc::Sender<Outbound>,
    /// Requests originated here waiting for their response. A std mutex: never held across await.
    pending: Mutex<PendingMap>,
    /// Next opaque for requests originated here.
    next_opaque: AtomicI32,
    /// Set once the connection is closing; sends fail fast afterwards.
    closed: AtomicBool,
    /// Milliseconds since [`epoch`] of the last whole frame read or written (at first, of the
    /// accept), for the idle timeout and for choosing which connection to close at the cap;
    /// timeout and for choosing which connection to close at the connection cap.
    last_activity_ms: AtomicU64,
    /// When the connection was opened.
    started: Instant,
    /// Set once a whole frame has been read from the peer.
    spoke: AtomicBool,
    /// Asks the reader to close the connection (the server's connection cap).
    evict: Notify,
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// Milliseconds since the first call in this process: one clock for every connection, so their
/// activity times compare.
fn epoch_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The instant [`epoch_ms`] counts from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Connection {
    /// Connection id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Remote address: the client's from a PROXY protocol header, else the socket's.
    #[must_use]
    pub fn peer(&self) -> SocketAddr {
        self.proxied.get().copied().unwrap_or(self.peer)
    }

    /// Local address.
    #[must_use]
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// True once the connection is closing.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// How stale the connection is, for the connection cap (smaller is staler): peers that
    /// never finished a frame sort first, oldest first; then the longest without a whole frame
    /// in either direction.
    #[must_use]
    pub fn staleness(&self) -> (bool, u64) {
        (
            self.spoke.load(Ordering::Relaxed),
            self.last_activity_ms.load(Ordering::Relaxed),
        )
    }

    /// How long since the connection was opened.
    #[must_use]
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// Asks the connection to close (its reader stops at the next wake-up).
    pub fn evict(&self) {
        self.closed.store(true, Ordering::Release);
        self.evict.notify_one();
    }

    fn touch(&self) {
        self.last_activity_ms.store(epoch_ms(), Ordering::Relaxed);
    }

    /// When the connection has been idle for `timeout` (in the past once it has): computed from
    /// the last activity's stamp, without reading the clock (the reader asks before every read).
    /// A timeout past what an `Instant` can hold (a huge `serverChannelMaxIdleTimeSeconds`)
    /// means a year from the last activity.
    fn idle_deadline(&self, timeout: Duration) -> Instant {
        let last = epoch() + Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed));
        last.checked_add(timeout)
            .unwrap_or_else(|| last + Duration::from_secs(365 * 24 * 3600))
    }

    /// Queues an encoded frame for writing, waiting while the write queue is full.
    pub async fn send_frame(&self, frame: Bytes) -> Result<(), NetError> {
        if self.is_closed() {
            return Err(NetError::Closed);
        }
        self.outbound
            .send(Outbound::Frame(frame))
            .await
            .map_err(|_| NetError::Closed)
    }

    /// Queues a frame given as parts (length prefix and header first, then body slices).
    pub async fn send_parts(&self, parts: Vec<Bytes>) -> Result<(), NetError> {
        if self.is_closed() {
            return Err(NetError::Closed);
        }
        self.outbound
            .send(Outbound::Parts(parts))
            .await
            .map_err(|_| NetError::Closed)
    }

    /// Encodes and queues a command.
    pub async fn send(&self, cmd: &RemotingCommand) -> Result<(), NetError> {
        let bytes = frame::encode_to_bytes(cmd)?;
        self.send_frame(bytes).await
    }

    /// Sends a request and waits up to `timeout` for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, NetError> {
        let opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        request.flag &= !crate::remoting::command::FLAG_ONEWAY;
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending.lock().map_err(|_| NetError::Closed)?;
            if pending.len() >= CLIENT_MAX_PENDING {
                return Err(NetError::TooManyPending(pending.len()));
            }
            let _replaced = pending.insert(opaque, tx);
        }
        let outcome = match self.send(&request).await {
            Ok(()) => tokio::time::timeout(timeout, rx).await,
            Err(e) => {
                self.forget(opaque);
                return Err(e);
            }
        };
        match outcome {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(_)) => Err(NetError::Closed),
            Err(_) => {
                self.forget(opaque);
                Err(NetError::Timeout(
                    u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                ))
            }
        }
    }

    /// Sends a request with the oneway flag; no response is expected.
    pub async fn invoke_oneway(&self, mut request: RemotingCommand) -> Result<(), NetError> {
        request.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.flag |= crate::remoting::command::FLAG_ONEWAY;
        self.send(&request).await
    }

    fn forget(&self, opaque: i32) {
        if let Ok(mut pending) = self.pending.lock() {
            let _dropped = pending.remove(&opaque);
        }
    }

    fn complete(&self, response: RemotingCommand) {
        let slot = self
            .pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&response.opaque));
        match slot {
            Some(tx) => {
                let _receiver_gone = tx.send(response);
            }
            None => {
                debug!(peer = %self.peer, opaque = response.opaque, "response for unknown opaque")
            }
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut pending) = self.pending.lock() {
            // Dropping the senders wakes every waiter with `Closed`.
            pending.clear();
        }
    }
}

/// A connection with no socket, for clients served by another protocol (the gRPC endpoint's
/// clients): it registers in the client tables like a remoting channel, and what the broker
/// writes to it arrives on the returned receiver, which its owner drains and translates.
#[must_use]
pub fn detached(
    peer: SocketAddr,
    local: SocketAddr,
    queue: usize,
) -> (ConnectionHandle, mpsc::Receiver<Outbound>) {
    let (tx, rx) = mpsc::channel(queue.max(1));
    let conn = Arc::new(Connection {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        peer,
        proxied: std::sync::OnceLock::new(),
        local,
        outbound: tx,
        pending: Mutex::new(HashMap::new()),
        next_opaque: AtomicI32::new(1),
        closed: AtomicBool::new(false),
        last_activity_ms: AtomicU64::new(epoch_ms()),
        started: Instant::now(),
        spoke: AtomicBool::new(true),
        evict: Notify::new(),
    });
    (conn, rx)
}

/// Per-connection knobs shared by server and client connections.
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// Close a connection with no whole frame in either direction for this long.
    pub idle_timeout: Duration,
    /// Close a connection whose frame has not arrived whole this long after its first byte
    /// ([`crate::limits::FRAME_READ_TIMEOUT`] by default).
    pub frame_timeout: Duration,
    /// Charged for every large inbound frame.
    pub budget: Arc<InboundBudget>,
    /// Accept a PROXY protocol header before the first frame (server connections, as Java's
    /// `NettyRemotingServer`; never on client connections).
    pub proxy_protocol: bool,
}

/// Runs one connection until the peer closes, an error occurs, it idles out, a frame is too slow,
/// it is evicted, or `shutdown` fires. Returns its handle and the reader task.
pub fn spawn<S: Service>(
    stream: TcpStream,
    service: Arc<S>,
    options: ConnectionOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<(ConnectionHandle, tokio::task::JoinHandle<()>), NetError> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(CONNECTION_WRITE_QUEUE);
    let conn = Arc::new(Connection {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        peer,
        proxied: std::sync::OnceLock::new(),
        local,
        outbound: tx,
        pending: Mutex::new(HashMap::new()),
        next_opaque: AtomicI32::new(1),
        closed: AtomicBool::new(false),
        last_activity_ms: AtomicU64::new(epoch_ms()),
        started: Instant::now(),
        spoke: AtomicBool::new(false),
        evict: Notify::new(),
    });
    let in_flight = Arc::new(Semaphore::new(CONNECTION_MAX_IN_FLIGHT));
    let writer = tokio::spawn(write_loop(
        write_half,
        rx,
        Arc::clone(&conn),
        Arc::clone(&in_flight),
    ));
    let reader_conn = Arc::clone(&conn);
    let handle = tokio::spawn(async move {
        let reader = FrameReader::new(Arc::clone(&options.budget));
        let mut link = Link {
            half: read_half,
            reader,
            conn: &reader_conn,
            in_flight,
            refusals: AtomicU64::new(0),
        };
        let mut shutdown = shutdown;
        if !options.proxy_protocol || link.proxy_header(&options, &mut shutdown).await {
            link.run(&service, &options, shutdown).await;
        }
        reader_conn.close();
        service.on_close(&reader_conn);
        writer.abort();
    });
    Ok((conn, handle))
}

/// The reading side of one connection.
struct Link<'a> {
    half: OwnedReadHalf,
    reader: FrameReader,
    conn: &'a ConnectionHandle,
    in_flight: Arc<Semaphore>,
    /// Requests refused for too many header fields (only the first is logged as a warning).
    refusals: AtomicU64,
}

impl Link<'_> {
    /// Reads a PROXY protocol header if the connection starts with one, within the idle
    /// timeout for the first byte and the frame timeout for the rest; the bytes read past it
    /// go to the frame reader. `false` closes the connection (a bad header, as Netty's
    /// `HAProxyMessageDecoder` closes it, or eviction or shutdown meanwhile).
    async fn proxy_header(
        &mut self,
        options: &ConnectionOptions,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        let conn = self.conn;
        let read = super::proxy_protocol::read_header(
            &mut self.half,
            options.idle_timeout,
            options.frame_timeout,
        );
        let read = tokio::select! {
            r = read => r,
            _ = shutdown.changed() => return false,
            () = conn.evict.notified() => return false,
        };
        match read {
            Ok((header, rest)) => {
                if let Some(client) = header.and_then(|h| h.source) {
                    debug!(socket = %conn.peer, %client, "PROXY protocol header");
                    let _ = conn.proxied.set(client);
                }
                self.reader.prefill(&rest);
                true
            }
            Err(e @ super::proxy_protocol::ProxyError::Invalid(_)) => {
                warn!(peer = %conn.peer, error = %e, "closing connection");
                false
            }
            Err(e) => {
                debug!(peer = %conn.peer, error = %e, "closing connection");
                false
            }
        }
    }

    async fn run<S: Service>(
        &mut self,
        service: &Arc<S>,
        options: &ConnectionOptions,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let conn = self.conn;
        let idle_timeout = options.idle_timeout;
        loop {
            loop {
                match self.reader.next_frame() {
                    Ok(Some(frame)) => {
                        if !self.dispatch(service, frame).await {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!(peer = %conn.peer(), error = %e, "closing connection after bad input");
                        return;
                    }
                }
            }
            let partial = self.reader.partial_since();
            let wake = partial.map_or_else(
                || tokio::time::Instant::from_std(conn.idle_deadline(idle_timeout)),
                |since| tokio::time::Instant::from_std(since + options.frame_timeout),
            );
            tokio::select! {
                read = self.reader.fill(&mut self.half) => match read {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) => {
                        debug!(peer = %conn.peer(), error = %e, "read failed");
                        return;
                    }
                },
                () = tokio::time::sleep_until(wake) => {
                    if partial.is_some() {
                        warn!(
                            peer = %conn.peer(),
                            received = self.reader.partial_bytes(),
                            timeout_ms = options.frame_timeout.as_millis(),
                            "closing connection: a frame did not arrive whole in time"
                        );
                        return;
                    }
                    if Instant::now() >= conn.idle_deadline(idle_timeout) {
                        debug!(peer = %conn.peer(), "closing idle connection");
                        return;
                    }
                }
                _ = shutdown.changed() => return,
                () = conn.evict.notified() => return,
            }
        }
    }

    /// Decodes one whole frame and hands it on; `false` closes the connection.
    async fn dispatch<S: Service>(&self, service: &Arc<S>, frame: InboundFrame) -> bool {
        let conn = self.conn;
        conn.touch();
        conn.spoke.store(true, Ordering::Relaxed);
        let InboundFrame { bytes, charge } = frame;
        let type_byte = bytes.first().copied().unwrap_or(0);
        let header_len = frame::declared_header_len(&bytes).min(bytes.len());
        let decoded = if header_len > HEADER_INLINE_DECODE_MAX_BYTES {
            decode_large(bytes).await
        } else {
            frame::decode(bytes)
        };
        let cmd = match decoded {
            Ok(cmd) => cmd,
            Err(WireError::TooManyExtFields {
                count,
                max,
                code,
                opaque,
                flag,
            }) => {
                if self.refusals.fetch_add(1, Ordering::Relaxed) == 0 {
                    warn!(peer = %conn.peer(), code, count, max, "refusing a request with too many header fields (logged once per connection)");
                } else {
                    debug!(peer = %conn.peer(), code, count, max, "refusing a request with too many header fields");
                }
                if flag & crate::remoting::command::FLAG_ONEWAY == 0 {
                    let mut answer = RemotingCommand::error(
                        ResponseCode::SYSTEM_ERROR,
                        format!(
                            "the request header has {count} extFields keys, more than the limit of {max}"
                        ),
                    );
                    answer.opaque = opaque;
                    answer.serialize_type = SerializeType::from_code(type_byte).unwrap_or_default();
                    if conn.send(&answer).await.is_err() {
                        return false;
                    }
                }
                return true;
            }
            Err(e) => {
                warn!(peer = %conn.peer(), error = %e, "closing connection after bad input");
                return false;
            }
        };
        if cmd.is_response() {
            conn.complete(cmd);
            return true;
        }
        let Ok(permit) = Arc::clone(&self.in_flight).acquire_owned().await else {
            return false;
        };
        let inline = service.runs_inline(&cmd);
        let conn = Arc::clone(conn);
        let service = Arc::clone(service);
        let arrived = Instant::now();
        let task = async move {
            super::with_arrival(arrived, handle_request(&conn, &*service, cmd)).await;
            drop(charge);
            drop(permit);
        };
        if inline {
            poll_once_then_spawn(task).await;
        } else {
            drop(tokio::spawn(task));
        }
        true
    }
}

/// Polls `task` once here, on the reader's task, and spawns it only if it has to wait: a
/// request that completes in one step (a send under ASYNC_FLUSH) costs no task spawn and no
/// wake-up of another worker thread.
async fn poll_once_then_spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut task = Box::pin(task);
    let first = std::future::poll_fn(|cx| Poll::Ready(task.as_mut().poll(cx))).await;
    if first.is_pending() {
        drop(tokio::spawn(task));
    }
}

/// Decodes a frame with a large header on the blocking pool, one such frame at a time.
async fn decode_large(bytes: Bytes) -> Result<RemotingCommand, WireError> {
    let _turn = LARGE_HEADER_DECODE.acquire().await;
    tokio::task::spawn_blocking(move || frame::decode(bytes))
        .await
        .unwrap_or_else(|e| {
            Err(WireError::InvalidJson(format!(
                "header decode task failed: {e}"
            )))
        })
}

async fn handle_request<S: Service>(
    conn: &ConnectionHandle,
    service: &S,
    request: RemotingCommand,
) {
    let oneway = request.is_oneway();
    let opaque = request.opaque;
    let code = request.code;
    let serialize_type = request.serialize_type;
    let Some(mut response) = service.call(conn, request).await else {
        return;
    };
    if oneway {
        return;
    }
    response.opaque = opaque;
    response.flag |= crate::remoting::command::FLAG_RESPONSE;
    response.serialize_type = serialize_type;
    let bytes = match frame::encode_to_bytes(&response) {
        Ok(b) => b,
        Err(e) => {
            warn!(code, error = %e, "response cannot be encoded");
            let mut fallback = RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                format!("response encode failed: {e}"),
            );
            fallback.opaque = opaque;
            match frame::encode_to_bytes(&fallback) {
                Ok(b) => b,
                Err(_) => return,
            }
        }
    };
    if conn.send_frame(bytes).await.is_err() {
        debug!(peer = %conn.peer(), code, "connection closed before the response was written");
    }
}

async fn write_loop(
    half: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Outbound>,
    conn: ConnectionHandle,
    in_flight: Arc<Semaphore>,
) {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, half);
    while let Some(item) = rx.recv().await {
        let ok = write_item(&mut out, item).await.is_ok()
            && drain_burst(&mut out, &mut rx, &in_flight).await.is_ok()
            && out.flush().await.is_ok();
        if !ok {
            break;
        }
        conn.touch();
    }
    conn.close();
    let _ = out.shutdown().await;
}

async fn write_item(out: &mut BufWriter<OwnedWriteHalf>, item: Outbound) -> std::io::Result<()> {
    match item {
        Outbound::Frame(frame) => out.write_all(&frame).await,
        Outbound::Parts(parts) => write_parts(out, &parts).await,
    }
}

/// Buffers every frame already queued. While requests of this connection are still being
/// handled (their responses are about to be queued), yields once — tokio runs the worker's other
/// ready tasks first — and buffers what they queued meanwhile, so a burst of responses shares
/// one flush (one `sendto`) instead of one each. A lone response (nothing else in flight) is
/// flushed at once, so a single request's latency is unchanged.
async fn drain_burst(
    out: &mut BufWriter<OwnedWriteHalf>,
    rx: &mut mpsc::Receiver<Outbound>,
    in_flight: &Semaphore,
) -> std::io::Result<()> {
    let mut yielded = false;
    loop {
        while let Ok(item) = rx.try_recv() {
            write_item(out, item).await?;
        }
        if yielded || in_flight.available_permits() >= CONNECTION_MAX_IN_FLIGHT {
            return Ok(());
        }
        yielded = true;
        tokio::task::yield_now().await;
    }
}

/// Small parts go through the buffer; large bodies are written with vectored writes straight
/// from their (mapped) memory.
async fn write_parts(out: &mut BufWriter<OwnedWriteHalf>, parts: &[Bytes]) -> std::io::Result<()> {
    let total: usize = parts.iter().map(Bytes::len).sum();
    if total <= WRITE_BUFFER_BYTES - out.buffer().len() {
        for p in parts {
            out.write_all(p).await?;
        }
        return Ok(());
    }
    out.flush().await?;
    let inner = out.get_mut();
    let mut idx = 0usize;
    let mut offset = 0usize;
    while idx < parts.len() {
        let slices: Vec<std::io::IoSlice<'_>> = parts
            .iter()
            .skip(idx)
            .enumerate()
            .map(|(i, p)| {
                std::io::IoSlice::new(if i == 0 {
                    p.get(offset..).unwrap_or_default()
                } else {
                    p
                })
            })
            .collect();
        let mut n = inner.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 && idx < parts.len() {
            let left = parts.get(idx).map_or(0, Bytes::len) - offset;
            if n >= left {
                n -= left;
                idx += 1;
                offset = 0;
            } else {
                offset += n;
                n = 0;
            }
        }
    }
    Ok(())
}
