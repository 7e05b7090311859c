//! Classic master–slave replication (`store:ha/DefaultHAService.java` and friends), wire
//! compatible with Java brokers in both directions.
//!
//! - [`protocol`]: the sans-io wire format (8-byte reports up, 12-byte headers and raw CommitLog
//!   bytes down).
//! - [`master`]: the HA port: one task pair per slave, streaming the CommitLog and taking acks.
//! - [`slave`]: the HA client thread: reports, appends what arrives, cuts its tail when it is
//!   ahead of its master.
//!
//! [`HaService`] holds what the send path needs: how far some slave has acknowledged
//! (`push2SlaveMaxOffset`), whether a slave is attached and close enough (`isSlaveOK`), and a
//! group wait on the acknowledgement, so one ack releases every SYNC_MASTER send below it.
//! Hardening (apache/rocketmq#3015): an ack counts only up to what the master has both stored and
//! sent on that connection, so a peer that writes large offsets acknowledges nothing.

pub mod master;
pub mod protocol;
pub mod slave;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::table::ConfigValues;
use crate::store::MessageStore;

/// `brokerRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerRole {
    /// Acknowledge after the local write; slaves catch up asynchronously.
    AsyncMaster,
    /// Acknowledge after a slave has the message (synchronous double write).
    SyncMaster,
    /// Replicates a master; refuses writes.
    Slave,
}

impl BrokerRole {
    /// Parses Java's enum name; anything else is ASYNC_MASTER, Java's default.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "SYNC_MASTER" => Self::SyncMaster,
            "SLAVE" => Self::Slave,
            _ => Self::AsyncMaster,
        }
    }

    /// Java's enum name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsyncMaster => "ASYNC_MASTER",
            Self::SyncMaster => "SYNC_MASTER",
            Self::Slave => "SLAVE",
        }
    }
}

/// HA settings (`MessageStoreConfig`), Java defaults in parentheses.
#[derive(Debug, Clone)]
pub struct HaConfig {
    /// `brokerRole` (ASYNC_MASTER).
    pub role: BrokerRole,
    /// `haSendHeartbeatInterval` (5 s): idle master sends an empty header, slave re-reports.
    pub heartbeat_interval: Duration,
    /// `haHousekeepingInterval` (20 s): either side closes a connection silent this long.
    pub housekeeping_interval: Duration,
    /// `haTransferBatchSize` (32 KiB): largest body per transfer header.
    pub transfer_batch_size: usize,
    /// `haMaxGapNotInSync` (256 MiB): a slave further behind makes SYNC_MASTER sends answer
    /// SLAVE_NOT_AVAILABLE.
    pub max_gap_not_in_sync: u64,
    /// `slaveTimeout` (3 s): how long a SYNC_MASTER send waits for the ack.
    pub slave_timeout: Duration,
    /// `haMasterAddress`: a fixed master HA address; empty means learn it from the name server.
    pub master_address: String,
    /// Slaves that must hold a SYNC_MASTER send before it is acknowledged: `inSyncReplicas` − 1
    /// (the master counts as one), at least 1. Java 5.x skips the wait entirely at the default
    /// `inSyncReplicas=1`; we keep the documented promise (and 4.9's behaviour) instead.
    pub slaves_to_ack: usize,
}

impl HaConfig {
    /// Reads the keys from a broker config.
    #[must_use]
    pub fn from_config(c: &ConfigValues) -> Self {
        let ms = |k: &str, d: u64| {
            Duration::from_millis(
                u64::try_from(c.get_i64(k))
                    .ok()
                    .filter(|v| *v > 0)
                    .unwrap_or(d),
            )
        };
        Self {
            role: BrokerRole::parse(c.get("brokerRole")),
            heartbeat_interval: ms("haSendHeartbeatInterval", 5_000),
            housekeeping_interval: ms("haHousekeepingInterval", 20_000),
            transfer_batch_size: usize::try_from(c.get_i64("haTransferBatchSize"))
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(32 * 1024)
                .min(crate::limits::HA_MAX_CHUNK_BYTES),
            max_gap_not_in_sync: u64::try_from(c.get_i64("haMaxGapNotInSync"))
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(256 * 1024 * 1024),
            slave_timeout: ms("slaveTimeout", 3_000),
            master_address: c.get("haMasterAddress").trim().to_owned(),
            slaves_to_ack: usize::try_from(c.get_i64("inSyncReplicas") - 1)
                .unwrap_or(0)
                .max(1),
        }
    }
}

/// One HA connection as the master sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: String,
    /// Its last report taken as an ack (`slaveAckOffset`).
    pub acked: u64,
    /// Where the transfer to it stands (`transferFromWhere`).
    pub sent: u64,
    /// CommitLog bytes sent to it in the last whole second.
    pub bytes_per_second: u64,
}

/// The slave's HA client, for `haStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    /// When the master's last bytes arrived (ms since the epoch, 0 if never).
    pub last_read_ms: i64,
    /// When the last report was sent (ms, 0 if never).
    pub last_write_ms: i64,
    /// Bytes received from the master in the last whole second.
    pub bytes_per_second: u64,
}

/// A byte count per whole second: `add` as bytes move, `per_second` reads the last full second.
#[derive(Debug, Default)]
pub struct PerSecond {
    window: Mutex<(Option<std::time::Instant>, u64, u64)>,
}

impl PerSecond {
    /// Counts `n` bytes now.
    pub fn add(&self, n: u64) {
        if let Ok(mut w) = self.window.lock() {
            Self::roll(&mut w);
            w.1 += n;
        }
    }

    /// Bytes in the last whole second.
    #[must_use]
    pub fn per_second(&self) -> u64 {
        self.window
            .lock()
            .map(|mut w| {
                Self::roll(&mut w);
                w.2
            })
            .unwrap_or(0)
    }

    fn roll(w: &mut (Option<std::time::Instant>, u64, u64)) {
        let now = std::time::Instant::now();
        match w.0 {
            None => w.0 = Some(now),
            Some(start) if now.duration_since(start) >= Duration::from_secs(2) => {
                *w = (Some(now), 0, 0);
            }
            Some(start) if now.duration_since(start) >= Duration::from_secs(1) => {
                *w = (Some(now), 0, w.1);
            }
            Some(_) => {}
        }
    }
}

/// The slave's HA client activity.
#[derive(Debug, Default)]
pub(crate) struct ClientActivity {
    pub(crate) last_read_ms: std::sync::atomic::AtomicI64,
    pub(crate) last_write_ms: std::sync::atomic::AtomicI64,
    pub(crate) received: PerSecond,
}

/// Replication state shared by the send path, the HA port and the HA client.
#[derive(Debug)]
pub struct HaService {
    /// Settings.
    pub config: HaConfig,
    store: Arc<MessageStore>,
    /// Highest CommitLog offset a slave has acknowledged (`push2SlaveMaxOffset`).
    acked: watch::Sender<u64>,
    /// Open HA connections (`connectionCount`).
    connections: AtomicUsize,
    /// Open HA connections whose peer has reported its offset at least once: the slaves.
    attached: AtomicUsize,
    /// Highest offset sent to any slave since start-up.
    sent_high: AtomicU64,
    /// The master's HA address a slave dials; `None` until known.
    master_ha_addr: Mutex<Option<String>>,
    /// Per-connection state, for runtime info and tests.
    peers: Mutex<Vec<Arc<master::PeerState>>>,
    /// The HA client's activity (slaves).
    pub(crate) client: ClientActivity,
}

impl HaService {
    /// A service over `store`; a slave's store is switched to replica mode.
    #[must_use]
    pub fn new(config: HaConfig, store: Arc<MessageStore>) -> Arc<Self> {
        store.set_replica(config.role == BrokerRole::Slave);
        let fixed = (!config.master_address.is_empty()).then(|| config.master_address.clone());
        Arc::new(Self {
            config,
            store,
            acked: watch::channel(0).0,
            connections: AtomicUsize::new(0),
            attached: AtomicUsize::new(0),
            sent_high: AtomicU64::new(0),
            master_ha_addr: Mutex::new(fixed),
            peers: Mutex::new(Vec::new()),
            client: ClientActivity::default(),
        })
    }

    /// The store replicated.
    #[must_use]
    pub fn store(&self) -> &Arc<MessageStore> {
        &self.store
    }

    /// `push2SlaveMaxOffset`.
    #[must_use]
    pub fn acked_offset(&self) -> u64 {
        *self.acked.borrow()
    }

    /// Open HA connections.
    #[must_use]
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Snapshot of the HA connections (`HAConnectionRuntimeInfo`).
    #[must_use]
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.peers
            .lock()
            .map(|p| p.iter().map(|s| s.snapshot()).collect())
            .unwrap_or_default()
    }

    /// The slave's HA client state (`HAClientRuntimeInfo`).
    #[must_use]
    pub fn client_info(&self) -> ClientInfo {
        ClientInfo {
            last_read_ms: self.client.last_read_ms.load(Ordering::Acquire),
            last_write_ms: self.client.last_write_ms.load(Ordering::Acquire),
            bytes_per_second: self.client.received.per_second(),
        }
    }

    /// `isSlaveOK`: a slave is attached and within `haMaxGapNotInSync` of `end`. Unlike Java's
    /// `connectionCount`, a connection counts only once its peer has reported an offset, so a
    /// port scan of the HA port does not make sends wait for an ack that cannot come.
    #[must_use]
    pub fn is_slave_ok(&self, end: u64) -> bool {
        self.attached.load(Ordering::Acquire) > 0
            && end.saturating_sub(self.acked_offset()) < self.config.max_gap_not_in_sync
    }

    /// Waits until a slave has acknowledged `end`; false after `slaveTimeout`. Every waiter
    /// watches the same offset, so one ack releases a whole group of sends.
    pub async fn wait_replicated(&self, end: u64) -> bool {
        let mut rx = self.acked.subscribe();
        let needed = self.config.slaves_to_ack;
        let done = |acked: &u64| {
            if needed <= 1 {
                *acked >= end
            } else {
                self.peers.lock().is_ok_and(|p| {
                    p.iter()
                        .filter(|s| s.acked.load(Ordering::Acquire) >= end)
                        .count()
                        >= needed
                })
            }
        };
        tokio::time::timeout(self.config.slave_timeout, rx.wait_for(done))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Raises `push2SlaveMaxOffset` (`notifyTransferSome`).
    pub(crate) fn record_ack(&self, offset: u64) {
        // Waiters counting several slaves must hear every ack, not only a new maximum.
        let needed = self.config.slaves_to_ack;
        let _ = self.acked.send_if_modified(|a| {
            let raised = offset > *a;
            *a = (*a).max(offset);
            raised || needed > 1
        });
    }

    /// The master HA address the slave dials.
    #[must_use]
    pub fn master_ha_addr(&self) -> Option<String> {
        self.master_ha_addr.lock().ok().and_then(|m| m.clone())
    }

    /// Learns the master HA address from a registration result (`updateHaMasterAddress`); a
    /// fixed `haMasterAddress` wins, as in Java (`updateMasterHAServerAddrPeriodically`).
    pub fn learn_master_ha_addr(&self, addr: &str) {
        if !self.config.master_address.is_empty() || addr.is_empty() {
            return;
        }
        if let Ok(mut m) = self.master_ha_addr.lock()
            && m.as_deref() != Some(addr)
        {
            tracing::info!(
                master = addr,
                "HA master address learned from the name server"
            );
            *m = Some(addr.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(extra: &[(&str, &str)]) -> (Arc<HaService>, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "rmqrs-ha-unit-{}-{}",
            std::process::id(),
            crate::store::message_store::now_millis()
        ));
        let mut cfg = crate::broker::config::defaults();
        for (k, v) in extra {
            cfg.set(k, v).unwrap_or_default();
        }
        let mut store_cfg = crate::store::StoreConfig::new(dir.clone());
        store_cfg.commit_log_file_size = 1 << 20;
        let store = MessageStore::open(store_cfg).unwrap_or_else(|e| panic!("{e}"));
        (HaService::new(HaConfig::from_config(&cfg), store), dir)
    }

    #[test]
    fn slave_ok_needs_an_attached_slave_within_the_gap() {
        let (ha, dir) = service(&[("brokerRole", "SYNC_MASTER"), ("haMaxGapNotInSync", "1000")]);
        assert!(!ha.is_slave_ok(10), "no slave attached");
        let _ = ha.attached.fetch_add(1, Ordering::AcqRel);
        ha.record_ack(500);
        assert!(ha.is_slave_ok(1499));
        assert!(!ha.is_slave_ok(1500), "haMaxGapNotInSync");
        ha.record_ack(400);
        assert_eq!(ha.acked_offset(), 500, "acks never go back");
        let _ = ha.store().shutdown();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn in_sync_replicas_maps_to_slaves_to_ack() {
        let n = |v: &str| {
            let mut c = crate::broker::config::defaults();
            c.set("inSyncReplicas", v).unwrap_or_default();
            HaConfig::from_config(&c).slaves_to_ack
        };
        assert_eq!((n("1"), n("2"), n("3"), n("0")), (1, 1, 2, 1));
        assert_eq!(BrokerRole::parse("SLAVE").as_str(), "SLAVE");
        assert_eq!(BrokerRole::parse("bogus"), BrokerRole::AsyncMaster);
    }
}
