//! The broker: the store behind the remoting layer.
//!
//! [`Broker`] owns the store and the metadata managers; [`processor`] holds one handler file per
//! request group and the single dispatch table; [`long_polling`] holds pull requests until a
//! message arrives; [`register`] keeps the name servers informed; [`startup`] wires it together.

pub mod acl;
pub mod auth;
pub mod client_manager;
pub mod config;
pub mod config_file;
pub mod consumer_offset;
pub mod latency;
pub mod long_polling;
pub mod metrics;
pub mod pop;
pub mod processor;
pub mod prom;
pub mod prom_gauges;
pub mod prom_lag;
pub mod register;
pub mod replication;
pub mod request_pools;
pub mod schedule;
pub mod startup;
pub mod stats;
pub mod stats_items;
pub mod subscription_group;
pub mod timer;
pub mod topic_config;
pub mod transaction_check;

use crate::broker::config_file::ConfigManager as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::table::ConfigValues;
use crate::ha::{BrokerRole, HaConfig, HaService};
use crate::net::{ConnectionHandle, RemotingClient, Service};
use crate::remoting::RemotingCommand;
use crate::store::{MessageStore, StoreError};
use client_manager::ClientManager;
use consumer_offset::ConsumerOffsetManager;
use long_polling::HoldService;
use stats::Stats;
use subscription_group::SubscriptionGroupManager;
use topic_config::TopicConfigManager;

/// Broker state shared by all connections.
#[derive(Debug)]
pub struct Broker {
    /// Configuration (GET/UPDATE_BROKER_CONFIG read and change it).
    pub config: RwLock<ConfigValues>,
    /// `brokerClusterName`.
    pub cluster: String,
    /// `brokerName`.
    pub name: String,
    /// `brokerId`.
    pub id: i64,
    /// `brokerIP1:listenPort`, as registered and stamped into messages.
    pub addr: String,
    /// Same, parsed.
    pub store_host: SocketAddr,
    /// `brokerIP2:haListenPort`.
    pub ha_addr: String,
    /// Replication: role, slave acks, the HA client's master address.
    pub ha: Arc<HaService>,
    /// The message store.
    pub store: Arc<MessageStore>,
    /// Topics.
    pub topics: TopicConfigManager,
    /// Subscription groups.
    pub groups: SubscriptionGroupManager,
    /// Consumer offsets.
    pub offsets: ConsumerOffsetManager,
    /// Producers and consumers.
    pub clients: ClientManager,
    /// Held pull requests.
    pub holds: HoldService,
    /// Requests owed, per Java executor (`brokerStatus` queue figures, processor watermark).
    pub pools: Arc<request_pools::RequestPools>,
    /// Connections to the name servers.
    pub namesrv: RemotingClient,
    /// Orderly-consumption queue locks.
    pub locks: processor::lock::LockManager,
    /// Counters.
    pub stats: Stats,
    /// Per-topic and per-group windows (VIEW_BROKER_STATS_DATA).
    pub stats_items: stats_items::StatsItems,
    /// Prometheus metric families (`metricsExporterType=PROM`).
    pub metrics: prom::BrokerMetrics,
    /// Offsets reset by an operator, not yet pulled.
    pub reset_offsets: processor::admin_relay::ResetOffsets,
    /// Delayed-delivery progress.
    pub schedule: schedule::ScheduleOffsets,
    /// Timer messages (`timerWheelEnable`).
    pub timer: Option<Arc<timer::service::TimerService>>,
    /// Timer settings.
    pub timer_config: timer::TimerConfig,
    /// POP consumption: queue locks, long-polling notifiers, request modes.
    pub pop: pop::PopState,
    /// Broker-wide permission (`brokerPermission`).
    permission: AtomicI32,
    /// Master address learned from the name server (slaves).
    master_addr: Mutex<Option<String>>,
    /// Fires after topic changes, to re-register at once.
    pub topics_changed: watch::Sender<u64>,
    /// When the broker started (ms), for runtime info.
    pub started_ms: i64,
    /// ACL 1.0 (`aclEnable=true`): accounts from `plain_acl.yml`.
    pub acl: Option<Arc<acl::PlainAcl>>,
    /// The settings every send reads, snapshotted from `config` (refreshed on update), so a
    /// send takes no config lookup or copy.
    send_settings: RwLock<Arc<SendSettings>>,
    /// ACL 2.0: users and rules (always loaded, for the AUTH_* requests); checks requests when
    /// `authenticationEnabled` or `authorizationEnabled`.
    pub auth: Arc<auth::Auth>,
}

/// Broker settings read on every send (`preSend`, `msgCheck`, `handleRetryAndDLQ`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendSettings {
    /// `regionId`, answered as `MSG_REGION` and stored as a property.
    pub region_id: String,
    /// `traceOn`, answered as `TRACE_ON` and stored as a property.
    pub trace_on: bool,
    /// `autoCreateTopicEnable`.
    pub auto_create_topic: bool,
    /// `autoCreateSubscriptionGroup`.
    pub auto_create_group: bool,
    /// `rejectTransactionMessage`.
    pub reject_transaction: bool,
}

impl SendSettings {
    fn from_config(c: &ConfigValues) -> Self {
        Self {
            region_id: c.get("regionId").to_owned(),
            trace_on: c.get_bool("traceOn"),
            auto_create_topic: c.get_bool("autoCreateTopicEnable"),
            auto_create_group: c.get_bool("autoCreateSubscriptionGroup"),
            reject_transaction: c.get_bool("rejectTransactionMessage"),
        }
    }

    /// `traceOn` as the text Java writes.
    #[must_use]
    pub fn trace_on_text(&self) -> &'static str {
        if self.trace_on { "true" } else { "false" }
    }
}

impl Broker {
    /// A text setting.
    #[must_use]
    pub fn config_str(&self, key: &str) -> String {
        self.config
            .read()
            .map(|c| c.get(key).to_owned())
            .unwrap_or_default()
    }

    /// The per-send settings (a snapshot of `config`).
    #[must_use]
    pub fn send_settings(&self) -> Arc<SendSettings> {
        Arc::clone(
            &self
                .send_settings
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Re-reads the per-send settings from `config`; call after changing it.
    pub fn refresh_send_settings(&self) {
        let fresh = SendSettings::from_config(
            &self
                .config
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        *self
            .send_settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
    }

    /// A numeric setting.
    #[must_use]
    pub fn config_i64(&self, key: &str) -> i64 {
        self.config.read().map(|c| c.get_i64(key)).unwrap_or(0)
    }

    /// A boolean setting.
    #[must_use]
    pub fn config_bool(&self, key: &str) -> bool {
        self.config.read().map(|c| c.get_bool(key)).unwrap_or(false)
    }

    /// `brokerPermission`.
    #[must_use]
    pub fn permission(&self) -> i32 {
        self.permission.load(Ordering::Acquire)
    }

    /// `brokerRole`.
    #[must_use]
    pub fn role(&self) -> BrokerRole {
        self.ha.config.role
    }

    /// Records the master address (a slave learns it from its registration result).
    pub fn set_master_addr(&self, addr: Option<String>) {
        if let Ok(mut m) = self.master_addr.lock()
            && *m != addr
        {
            info!(master = ?addr, "master address updated");
            *m = addr;
        }
    }

    /// The master's address, as the name server last told this slave.
    #[must_use]
    pub fn master_addr(&self) -> Option<String> {
        self.master_addr.lock().ok().and_then(|m| m.clone())
    }

    /// Signals a topic change (re-registration).
    pub fn notify_topics_changed(&self) {
        self.topics_changed.send_modify(|v| *v += 1);
    }
}

/// Opens the store and the managers for `config` (already finished by [`config::finish`]).
pub fn open(config: ConfigValues) -> Result<Arc<Broker>, StoreError> {
    let store_cfg = config::store_config(&config);
    let root = store_cfg.root.clone();
    let store = MessageStore::open(store_cfg)?;
    let holds = HoldService::new(store.waiting_readers());
    let cfg_dir = root.join("config");
    let cluster = config.get("brokerClusterName").to_owned();
    let name = config.get("brokerName").to_owned();
    let ip1 = config.get("brokerIP1").to_owned();
    let port = config.get_i64("listenPort");
    let addr = format!("{ip1}:{port}");
    let store_host: SocketAddr = addr
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("brokerIP1/listenPort {addr}: {e}")))?;
    let ha_addr = format!(
        "{}:{}",
        config.get("brokerIP2"),
        config.get_i64("haListenPort")
    );
    let topics = TopicConfigManager::load(
        cfg_dir.join("topics.json"),
        &cluster,
        &name,
        i32::try_from(config.get_i64("defaultTopicQueueNums")).unwrap_or(8),
        config.get_bool("autoCreateTopicEnable"),
    );
    let groups = SubscriptionGroupManager::load(cfg_dir.join("subscriptionGroup.json"));
    // `enableLmq` swaps in Java's Lmq managers, whose offsets file is lmqConsumerOffset.json.
    let lmq = config.get_bool("enableLmq");
    let offsets = ConsumerOffsetManager::load(cfg_dir.join(if lmq {
        "lmqConsumerOffset.json"
    } else {
        "consumerOffset.json"
    }));
    topics.set_lmq(lmq);
    groups.set_lmq(lmq);
    offsets.set_lmq(lmq);
    let permission = i32::try_from(config.get_i64("brokerPermission")).unwrap_or(6);
    let ha = HaService::new(HaConfig::from_config(&config), Arc::clone(&store));
    let id = config.get_i64("brokerId");
    let timer_config = timer::TimerConfig::from_config(&config);
    let timer = if timer_config.enable {
        Some(timer::service::TimerService::open(
            Arc::clone(&store),
            timer_config.clone(),
        )?)
    } else {
        None
    };
    let (topics_changed, _) = watch::channel(0);
    let auth_config = auth::AuthConfig::from_config(&config);
    let acl = if auth_config.enabled() {
        if config.get_bool("aclEnable") {
            warn!(
                "aclEnable=true is ignored: ACL 2.0 (authenticationEnabled/authorizationEnabled) is on, as in Java 5.3.3"
            );
        }
        None
    } else {
        open_acl(&config)?
    };
    let auth = Arc::new(
        auth::Auth::open(auth_config, &cfg_dir)
            .map_err(|e| StoreError::Corrupt(format!("ACL 2.0: {e}")))?,
    );
    if config.get_bool("migrateAuthFromV1Enabled") {
        let home = acl_home(&config);
        if home.is_empty() {
            warn!(
                "migrateAuthFromV1Enabled=true but neither rocketmqHome nor ROCKETMQ_HOME is set"
            );
        } else {
            auth::migrate::migrate(&auth.store, std::path::Path::new(&home));
        }
    }
    let exporter = config.get("metricsExporterType");
    let metrics = prom::BrokerMetrics::new(
        exporter.eq_ignore_ascii_case("PROM") || exporter.eq_ignore_ascii_case("LOG"),
        &cluster,
        &name,
        config.get("metricsLabel"),
        config.get_bool("metricsInDelta"),
        timer_config.enable,
    );
    let pools = request_pools::RequestPools::new(
        |key| usize::try_from(config.get_i64(key)).ok(),
        config.get_bool("brokerFastFailureEnable"),
    );
    let send_settings = RwLock::new(Arc::new(SendSettings::from_config(&config)));
    let broker = Arc::new(Broker {
        config: RwLock::new(config),
        cluster,
        name,
        id,
        addr,
        store_host,
        ha_addr,
        ha,
        store,
        topics,
        groups,
        offsets,
        clients: ClientManager::default(),
        holds,
        pools,
        namesrv: RemotingClient::new(),
        locks: processor::lock::LockManager::default(),
        stats: Stats::default(),
        stats_items: stats_items::StatsItems::default(),
        metrics,
        reset_offsets: processor::admin_relay::ResetOffsets::default(),
        schedule: schedule::ScheduleOffsets::load(cfg_dir.join("delayOffset.json")),
        timer,
        timer_config,
        pop: pop::PopState::new(&cfg_dir),
        permission: AtomicI32::new(permission),
        master_addr: Mutex::new(None),
        topics_changed,
        started_ms: crate::store::message_store::now_millis(),
        acl,
        send_settings,
        auth,
    });
    install_encoders(&broker);
    if broker.config_bool("traceTopicEnable") {
        // `TopicConfigManager`: the trace topic is a system topic of 1 queue when enabled.
        let trace = broker.config_str("msgTraceTopicName");
        let _ = broker.topics.ensure(
            &trace,
            1,
            crate::remoting::body::topic_config::PERM_READ
                | crate::remoting::body::topic_config::PERM_WRITE,
        );
    }
    broker.topics.persist_now();
    broker.groups.persist_now();
    let weak = Arc::downgrade(&broker);
    broker
        .store
        .set_arrival_listener(crate::store::message_store::ArrivalListener(Box::new(
            move |topic, queue_id, _code| {
                if let Some(b) = weak.upgrade() {
                    b.holds.notify(topic, queue_id);
                    b.pop.notify(topic);
                }
            },
        )));
    Ok(broker)
}

/// `rocketmqHome`, else `$ROCKETMQ_HOME`: where the ACL 1.0 files are.
fn acl_home(config: &ConfigValues) -> String {
    match config.get("rocketmqHome") {
        "" => std::env::var("ROCKETMQ_HOME").unwrap_or_default(),
        h => h.to_owned(),
    }
}

/// With `aclEnable=true`, loads the ACL files under `rocketmqHome` (or `$ROCKETMQ_HOME`).
fn open_acl(config: &ConfigValues) -> Result<Option<Arc<acl::PlainAcl>>, StoreError> {
    if !config.get_bool("aclEnable") {
        return Ok(None);
    }
    let home = acl_home(config);
    if home.is_empty() {
        warn!("aclEnable=true but neither rocketmqHome nor ROCKETMQ_HOME is set: no ACL files");
    }
    acl::PlainAcl::open(std::path::Path::new(&home))
        .map(|a| Some(Arc::new(a)))
        .map_err(|e| StoreError::Corrupt(format!("ACL files: {e}")))
}

/// The remoting service of a broker.
#[derive(Debug, Clone)]
pub struct BrokerService(pub Arc<Broker>);

impl Service for BrokerService {
    async fn call(
        &self,
        conn: &ConnectionHandle,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        processor::dispatch(&self.0, conn, request).await
    }

    /// Sends: parsing, checks and the CommitLog append run without waiting unless the topic is
    /// being created or SYNC_FLUSH / SYNC_MASTER makes them wait (then the connection spawns them).
    fn runs_inline(&self, request: &RemotingCommand) -> bool {
        use crate::remoting::RequestCode as C;
        matches!(
            C::from_i32(request.code),
            Some(C::SEND_MESSAGE | C::SEND_MESSAGE_V2 | C::SEND_BATCH_MESSAGE)
        )
    }

    fn on_close(&self, conn: &ConnectionHandle) {
        for group in self.0.clients.on_close(conn.id()) {
            processor::client::notify_consumer_ids_changed(&self.0, &group);
        }
    }
}

/// Background upkeep: offsets persisted every 5 s (`flushConsumerOffsetInterval`), silent
/// channels expired, held pulls past their deadline answered.
pub async fn housekeeping(broker: Arc<Broker>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0u64;
    loop {
        let _ = tick.tick().await;
        let now = crate::store::message_store::now_millis();
        broker.stats.sample(now);
        broker.stats_items.tick(n, now);
        if n > 0 && n.is_multiple_of(60) {
            broker.stats.latency.rotate();
        }
        n += 1;
        if !n.is_multiple_of(5) {
            continue;
        }
        broker.offsets.persist();
        broker.holds.prune_idle_lmq();
        for group in broker.clients.scan_expired() {
            processor::client::notify_consumer_ids_changed(&broker, &group);
        }
    }
}

impl Broker {
    /// Waits until every change made so far to `topics.json` and `subscriptionGroup.json` is on
    /// disk (write errors are logged by the writer).
    pub async fn config_durable(&self) {
        use config_file::ConfigManager;
        let topics = self.topics.config_file().latest();
        let groups = self.groups.config_file().latest();
        let _ = self.topics.persisted(topics).await;
        let _ = self.groups.persisted(groups).await;
    }
}

/// Lets each config file's writer thread encode the newest state itself (once per write).
fn install_encoders(broker: &Arc<Broker>) {
    use config_file::ConfigManager;
    fn install<M: ConfigManager + 'static>(broker: &Arc<Broker>, pick: fn(&Broker) -> &M) {
        let weak = Arc::downgrade(broker);
        pick(broker)
            .config_file()
            .set_encoder(Arc::new(move || weak.upgrade().map(|b| pick(&b).encode())));
    }
    install(broker, |b| &b.topics);
    install(broker, |b| &b.groups);
    install(broker, |b| &b.offsets);
    install(broker, |b| &b.schedule);
}

/// Persists metadata and closes the store (clean shutdown).
pub fn shutdown(broker: &Broker) {
    let t = std::time::Instant::now();
    if let Some(timer) = &broker.timer {
        timer.shutdown();
    }
    broker.offsets.persist_now();
    broker.schedule.persist_now();
    broker.topics.persist_now();
    broker.groups.persist_now();
    info!(
        elapsed_ms = t.elapsed().as_millis(),
        "config files persisted"
    );
    if let Err(e) = broker.store.shutdown() {
        warn!(error = %e, "store shutdown failed");
    }
    info!(broker = %broker.name, "broker stopped");
}

/// Where the broker keeps its config files.
#[must_use]
pub fn config_dir(broker: &Broker) -> PathBuf {
    broker.store.config().root.join("config")
}
