//! The slave's HA client (`DefaultHAClient`): one thread that dials the master's HA port,
//! reports the CommitLog end, appends every chunk verbatim, and re-reports after each batch and
//! every `haSendHeartbeatInterval`. A connection silent for `haHousekeepingInterval`, a chunk that
//! does not start at the slave's end, or a failed append closes it; the thread dials again.
//!
//! A chunk that starts *before* the slave's end means the master has less than the slave (a
//! master restarted after losing its tail): the slave cuts its CommitLog back to that offset,
//! zeroing the cut bytes on disk first (#10666), and goes on. Java's classic client cannot do
//! this and reconnects forever (#3388); a Java master never sends such a chunk, so with a Java
//! master nothing changes.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::HaService;
use super::protocol::{HEADER_SIZE, ProtocolError, TransferHeader, encode_report};
use crate::limits::{HA_CONNECT_TIMEOUT, HA_MAX_CHUNK_BYTES, HA_RECONNECT_INTERVAL};
use crate::store::StoreError;
use crate::store::message_store::now_millis;

/// How often the client wakes from a read to check heartbeats, housekeeping and shutdown
/// (Java's selector timeout, 1 s).
const POLL: Duration = Duration::from_millis(200);

/// Why a session with the master ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionEnd {
    /// Socket failure.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// The master closed the connection.
    #[error("closed by the master")]
    Closed,
    /// Nothing read for `haHousekeepingInterval`.
    #[error("master silent for {0:?} (haHousekeepingInterval)")]
    Silent(Duration),
    /// The peer is not speaking classic HA.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// The master pushed bytes past the slave's end (`DefaultHAClient`: "master pushed offset
    /// not equal the max phy offset in slave").
    #[error("master pushed offset {master} but the slave ends at {slave}")]
    Gap {
        /// Offset in the master's header.
        master: u64,
        /// The slave's CommitLog end.
        slave: u64,
    },
    /// The store refused the bytes.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The master address changed.
    #[error("master address changed")]
    Moved,
    /// The broker is stopping.
    #[error("shutting down")]
    Stopped,
}

/// Starts the client thread; it ends when `stop` is set.
pub fn start(ha: Arc<HaService>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("HAClient".into())
        .spawn(move || run(&ha, &stop))
}

fn run(ha: &HaService, stop: &AtomicBool) {
    let mut failing = false;
    while !stop.load(Ordering::Acquire) {
        let Some(addr) = ha.master_ha_addr() else {
            std::thread::sleep(POLL);
            continue;
        };
        match connect(&addr) {
            Ok(stream) => {
                failing = false;
                info!(master = %addr, "HA client connected to the master");
                let end = session(ha, stream, &addr, stop);
                match end {
                    SessionEnd::Stopped => return,
                    SessionEnd::Moved => {
                        info!(master = %addr, "HA client follows the new master address")
                    }
                    other => {
                        warn!(master = %addr, reason = %other, "HA connection to the master closed")
                    }
                }
                if !master_moved(&addr, ha) {
                    sleep_unless_stopped(HA_RECONNECT_INTERVAL, stop);
                }
            }
            Err(e) => {
                if failing {
                    debug!(master = %addr, error = %e, "HA client cannot reach the master");
                } else {
                    warn!(master = %addr, error = %e, "HA client cannot reach the master; retrying");
                }
                failing = true;
                sleep_unless_stopped(HA_RECONNECT_INTERVAL, stop);
            }
        }
    }
}

/// After a session ends, dial again at once only if the master address changed meanwhile.
fn master_moved(addr: &str, ha: &HaService) -> bool {
    ha.master_ha_addr().as_deref() != Some(addr)
}

fn sleep_unless_stopped(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while Instant::now() < until && !stop.load(Ordering::Acquire) {
        std::thread::sleep(POLL.min(until - Instant::now()));
    }
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::other(format!("{addr} does not resolve"));
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, HA_CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn report(ha: &HaService, stream: &mut TcpStream, offset: u64) -> std::io::Result<()> {
    stream.write_all(&encode_report(offset))?;
    ha.client
        .last_write_ms
        .store(now_millis(), Ordering::Release);
    Ok(())
}

fn session(ha: &HaService, mut stream: TcpStream, addr: &str, stop: &AtomicBool) -> SessionEnd {
    match session_inner(ha, &mut stream, addr, stop) {
        Ok(()) => SessionEnd::Stopped,
        Err(e) => e,
    }
}

fn session_inner(
    ha: &HaService,
    stream: &mut TcpStream,
    addr: &str,
    stop: &AtomicBool,
) -> Result<(), SessionEnd> {
    let store = &ha.store;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(ha.config.housekeeping_interval))?;
    let mut reported = store.max_phy_offset();
    report(ha, stream, reported)?;
    let mut last_report = Instant::now();
    let mut last_read = Instant::now();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut filled = 0usize;
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(());
        }
        if ha.master_ha_addr().as_deref() != Some(addr) {
            return Err(SessionEnd::Moved);
        }
        match stream.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => return Err(SessionEnd::Closed),
            Ok(n) => {
                filled += n;
                last_read = Instant::now();
                ha.client
                    .last_read_ms
                    .store(now_millis(), Ordering::Release);
                ha.client.received.add(u64::try_from(n).unwrap_or(0));
                let used = apply(ha, buf.get(..filled).unwrap_or_default())?;
                buf.copy_within(used..filled, 0);
                filled -= used;
                if let Some(need) = TransferHeader::decode(buf.get(..filled).unwrap_or_default())?
                    .map(|h| HEADER_SIZE + h.size)
                    .filter(|need| *need > buf.len())
                {
                    buf.resize(need.min(HEADER_SIZE + HA_MAX_CHUNK_BYTES), 0);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        let max = store.max_phy_offset();
        if max != reported || last_report.elapsed() >= ha.config.heartbeat_interval {
            report(ha, stream, max)?;
            reported = max;
            last_report = Instant::now();
        }
        if last_read.elapsed() > ha.config.housekeeping_interval {
            return Err(SessionEnd::Silent(ha.config.housekeeping_interval));
        }
    }
}

/// Applies every whole chunk at the start of `buf`; returns the bytes consumed.
fn apply(ha: &HaService, buf: &[u8]) -> Result<usize, SessionEnd> {
    let store = &ha.store;
    let mut pos = 0usize;
    while let Some(h) = TransferHeader::decode(buf.get(pos..).unwrap_or_default())? {
        let end = store.max_phy_offset();
        if end != 0 && h.offset != end {
            if h.offset > end {
                return Err(SessionEnd::Gap {
                    master: h.offset,
                    slave: end,
                });
            }
            let cut = store.truncate_replica(h.offset)?;
            warn!(
                master_offset = h.offset,
                slave_end = end,
                cut_bytes = cut,
                "slave was ahead of its master; CommitLog cut back"
            );
        }
        let Some(body) = buf.get(pos + HEADER_SIZE..pos + HEADER_SIZE + h.size) else {
            break;
        };
        if !body.is_empty() {
            let _ = store.append_replicated(h.offset, body)?;
        }
        pos += HEADER_SIZE + h.size;
    }
    Ok(pos)
}
