//! The master's HA port (`DefaultHAService.AcceptSocketService`, `DefaultHAConnection`): for each
//! slave, a reader that takes 8-byte reports and a writer that streams the CommitLog from where
//! the slave stands, in `haTransferBatchSize` chunks that never cross a file end, with an empty
//! header every `haSendHeartbeatInterval` when there is nothing to send.
//!
//! Where Java trusts the peer, this side does not (apache/rocketmq#3015, #3388): a report beyond
//! what the master has stored, or beyond what this connection was sent, is logged and not taken
//! as an ack; a slave that asks to start past the master's end is answered from the master's end,
//! which a slave of ours takes as the signal to cut its tail back (a Java slave reconnects).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Buf as _, Bytes};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::HaService;
use super::protocol::{HEADER_SIZE, ProtocolError, REPORT_SIZE, TransferHeader, last_report};
use crate::limits::HA_MAX_CONNECTIONS;

/// Why a slave connection ended.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionEnd {
    /// The peer closed or the socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// Nothing read for `haHousekeepingInterval`, or a write stalled as long.
    #[error("silent for {0:?} (haHousekeepingInterval)")]
    Silent(Duration),
    /// The peer closed the connection.
    #[error("closed by the peer")]
    Closed,
    /// The peer does not speak classic HA.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// The broker is stopping.
    #[error("shutting down")]
    Stopped,
}

/// One attached peer, as the master sees it.
#[derive(Debug)]
pub struct PeerState {
    addr: String,
    /// Last report taken as an ack (`slaveAckOffset`).
    pub(crate) acked: AtomicU64,
    /// Offset up to which CommitLog bytes were written to this peer (`nextTransferFromWhere`).
    sent: AtomicU64,
    /// The peer has reported an offset (it is counted as an attached slave).
    reported: std::sync::atomic::AtomicBool,
    /// CommitLog bytes sent, per second.
    rate: super::PerSecond,
}

impl PeerState {
    pub(crate) fn snapshot(&self) -> super::PeerInfo {
        super::PeerInfo {
            addr: self.addr.clone(),
            acked: self.acked.load(Ordering::Acquire),
            sent: self.sent.load(Ordering::Acquire),
            bytes_per_second: self.rate.per_second(),
        }
    }
}

/// Counts the connection and lists the peer while it lives.
struct Attached {
    ha: Arc<HaService>,
    peer: Arc<PeerState>,
}

impl Attached {
    fn new(ha: &Arc<HaService>, addr: SocketAddr) -> Self {
        let peer = Arc::new(PeerState {
            addr: addr.to_string(),
            acked: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            reported: std::sync::atomic::AtomicBool::new(false),
            rate: super::PerSecond::default(),
        });
        let _ = ha.connections.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut p) = ha.peers.lock() {
            p.push(Arc::clone(&peer));
        }
        Self {
            ha: Arc::clone(ha),
            peer,
        }
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = self.ha.connections.fetch_sub(1, Ordering::AcqRel);
        if self.peer.reported.load(Ordering::Acquire) {
            let _ = self.ha.attached.fetch_sub(1, Ordering::AcqRel);
        }
        if let Ok(mut p) = self.ha.peers.lock() {
            p.retain(|s| !Arc::ptr_eq(s, &self.peer));
        }
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}

/// Accepts HA connections until `stop` turns true.
pub async fn serve(ha: Arc<HaService>, listener: TcpListener, stop: watch::Receiver<bool>) {
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            () = stopped(&mut stopping) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    if ha.connection_count() >= HA_MAX_CONNECTIONS {
                        warn!(peer = %addr, limit = HA_MAX_CONNECTIONS, "HA connection refused: too many");
                        continue;
                    }
                    let ha = Arc::clone(&ha);
                    let stop = stop.clone();
                    let _task = tokio::spawn(async move {
                        info!(slave = %addr, "HA connection accepted");
                        let end = connection(&ha, stream, addr, stop).await;
                        info!(slave = %addr, reason = %end, "HA connection closed");
                    });
                }
                Err(e) => {
                    warn!(error = %e, "HA accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

async fn connection(
    ha: &Arc<HaService>,
    stream: TcpStream,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> ConnectionEnd {
    let _ = stream.set_nodelay(true);
    let attached = Attached::new(ha, addr);
    let (rd, wr) = stream.into_split();
    let (first_tx, first_rx) = watch::channel(None);
    tokio::select! {
        r = read_reports(ha, rd, &attached.peer, first_tx) => r,
        r = transfer(ha, wr, &attached.peer, first_rx) => r,
        () = stopped(&mut stop) => ConnectionEnd::Stopped,
    }
}

/// Reads reports; the first one says where the slave stands, later ones are acks.
async fn read_reports(
    ha: &HaService,
    mut rd: OwnedReadHalf,
    peer: &PeerState,
    first: watch::Sender<Option<u64>>,
) -> ConnectionEnd {
    let limit = ha.config.housekeeping_interval;
    let mut buf = [0u8; 64 * REPORT_SIZE];
    let mut kept = 0usize;
    let mut warned = false;
    let mut started = false;
    loop {
        let free = buf.get_mut(kept..).unwrap_or_default();
        let n = match tokio::time::timeout(limit, rd.read(free)).await {
            Err(_) => return ConnectionEnd::Silent(limit),
            Ok(Err(e)) => return e.into(),
            Ok(Ok(0)) => return ConnectionEnd::Closed,
            Ok(Ok(n)) => n,
        };
        let filled = kept + n;
        let (report, whole) = match last_report(buf.get(..filled).unwrap_or_default()) {
            Ok(r) => r,
            Err(e) => return e.into(),
        };
        buf.copy_within(whole..filled, 0);
        kept = filled - whole;
        let Some(offset) = report else { continue };
        let max = ha.store.max_phy_offset();
        if !started {
            started = true;
            // What the slave holds below the start is the master's; acks count from there.
            let start = transfer_start(ha, offset, &peer.addr);
            peer.sent.store(start, Ordering::Release);
            peer.reported.store(true, Ordering::Release);
            let _ = ha.attached.fetch_add(1, Ordering::AcqRel);
            first.send_replace(Some(start));
        }
        let sent = peer.sent.load(Ordering::Acquire);
        if offset > max || offset > sent {
            if !warned {
                warn!(
                    slave = %peer.addr,
                    reported = offset,
                    master_max = max,
                    sent,
                    "HA peer reports an offset the master never stored or sent; not taken as an ack"
                );
                warned = true;
            } else {
                debug!(slave = %peer.addr, reported = offset, master_max = max, "HA report ignored");
            }
            continue;
        }
        peer.acked.store(offset, Ordering::Release);
        ha.record_ack(offset);
    }
}

/// Where the transfer to a slave that first reports `requested` starts
/// (`nextTransferFromWhere`):
/// - 0, a new slave: the start of the master's last CommitLog file, as in Java;
/// - at or below what this master inherited at start-up, or below what it has sent since: from
///   there, as in Java;
/// - otherwise the slave holds bytes this master never stored, or lost in a crash and has
///   since overwritten: from the inherited end, so that a slave of ours cuts its tail there.
///   Java would stream from the slave's offset, possibly mid-message (#3388).
fn transfer_start(ha: &HaService, requested: u64, peer: &str) -> u64 {
    let store = &ha.store;
    let max = store.max_phy_offset();
    let inherited = store.recovered_end().min(max);
    let sent_high = ha.sent_high.load(Ordering::Acquire);
    let file_size = u64::try_from(store.config().commit_log_file_size).unwrap_or(u64::MAX);
    let start = if requested == 0 {
        max - max % file_size
    } else if requested <= max && (requested <= inherited || requested <= sent_high) {
        requested
    } else {
        warn!(
            slave = peer,
            requested,
            master_max = max,
            master_inherited = inherited,
            "slave holds CommitLog bytes this master does not have; answering from the master's start-up end so the slave cuts its tail there"
        );
        inherited
    };
    if start < store.min_phy_offset() {
        warn!(
            slave = peer,
            requested = start,
            master_min = store.min_phy_offset(),
            "slave asks for CommitLog bytes this master no longer has; it cannot catch up"
        );
    }
    info!(slave = peer, requested, from = start, "HA transfer starts");
    start
}

/// Streams the CommitLog from where the slave stands.
async fn transfer(
    ha: &HaService,
    mut wr: OwnedWriteHalf,
    peer: &PeerState,
    mut first: watch::Receiver<Option<u64>>,
) -> ConnectionEnd {
    let mut next = match first.wait_for(Option::is_some).await {
        Ok(v) => (*v).unwrap_or(0),
        Err(_) => return ConnectionEnd::Closed,
    };
    let store = &ha.store;
    let batch = ha.config.transfer_batch_size;
    let heartbeat = ha.config.heartbeat_interval;
    let limit = ha.config.housekeeping_interval;
    let mut appended = store.appended.subscribe();
    // Pairs with the fence in `MessageStore::publish_appended`: an append that saw no
    // subscriber is visible to the first read below.
    std::sync::atomic::fence(Ordering::SeqCst);
    let mut last_write = Instant::now();
    loop {
        let data = store.commit_log_data(next, batch);
        let size = data.as_ref().map_or(0, Bytes::len);
        if size == 0 && last_write.elapsed() < heartbeat {
            tokio::select! {
                r = appended.changed() => if r.is_err() { return ConnectionEnd::Stopped },
                () = tokio::time::sleep_until(last_write + heartbeat) => {}
            }
            continue;
        }
        let header = TransferHeader { offset: next, size }.encode();
        let mut out = Bytes::copy_from_slice(&header).chain(data.unwrap_or_default());
        debug_assert_eq!(out.remaining(), HEADER_SIZE + size);
        match tokio::time::timeout(limit, wr.write_all_buf(&mut out)).await {
            Err(_) => return ConnectionEnd::Silent(limit),
            Ok(Err(e)) => return e.into(),
            Ok(Ok(())) => {}
        }
        next += u64::try_from(size).unwrap_or(0);
        peer.rate.add(u64::try_from(size).unwrap_or(0));
        peer.sent.store(next, Ordering::Release);
        let _ = ha.sent_high.fetch_max(next, Ordering::AcqRel);
        last_write = Instant::now();
    }
}
