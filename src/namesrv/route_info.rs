//! The broker registry and topic routes (`ns:routeinfo/RouteInfoManager.java`, 5.3.3 semantics).
//!
//! One `RwLock` guards all tables, as Java's `ReentrantReadWriteLock` does; it is a std lock and
//! is never held across an await. Liveness is keyed by (cluster, broker address).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

use tokio::time::Instant;
use tracing::info;

use crate::limits::{BROKER_CHANNEL_EXPIRED_MILLIS, NAMESRV_MAX_BROKERS};
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::body::register_broker::RegisterBrokerBody;
use crate::remoting::body::route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
use crate::remoting::body::topic_config::PERM_WRITE;

/// Master broker id (`MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// What a registering broker tells about itself (header fields plus decoded body).
#[derive(Debug, Clone)]
pub struct Registration {
    /// Cluster.
    pub cluster_name: String,
    /// `ip:port`.
    pub broker_addr: String,
    /// Broker name.
    pub broker_name: String,
    /// Id (0 = master).
    pub broker_id: i64,
    /// HA address.
    pub ha_server_addr: String,
    /// Zone from `__ZONE_NAME`.
    pub zone_name: Option<String>,
    /// Liveness timeout asked for.
    pub timeout: Option<Duration>,
    /// `None` for pre-5.x brokers that do not send the field.
    pub enable_acting_master: Option<bool>,
    /// Topics and data version.
    pub body: RegisterBrokerBody,
    /// Connection it came on, for channel-close cleanup.
    pub conn_id: Option<u64>,
}

/// What a registration returns to the broker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterResult {
    /// Master's HA address, for slaves.
    pub ha_server_addr: Option<String>,
    /// Master's address, for slaves.
    pub master_addr: Option<String>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// Java returns null here: "register broker failed".
    #[error("register broker failed")]
    Refused,
    /// The registry is full.
    #[error("name server holds the maximum of {0} brokers")]
    Full(usize),
}

#[derive(Debug, Clone)]
struct LiveInfo {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    conn_id: Option<u64>,
    ha_server_addr: String,
}

type AddrKey = (String, String);

#[derive(Debug, Default)]
struct Tables {
    topic_queue: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr: BTreeMap<String, BrokerData>,
    cluster_addr: BTreeMap<String, BTreeSet<String>>,
    live: HashMap<AddrKey, LiveInfo>,
    filter_server: HashMap<AddrKey, Vec<String>>,
}

/// The registry.
#[derive(Debug, Default)]
pub struct RouteInfoManager {
    tables: RwLock<Tables>,
}

impl RouteInfoManager {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// REGISTER_BROKER.
    pub fn register_broker(&self, reg: Registration) -> Result<RegisterResult, RegisterError> {
        let mut t = self.write();
        let t = &mut *t;
        if !t.broker_addr.contains_key(&reg.broker_name)
            && t.broker_addr.len() >= NAMESRV_MAX_BROKERS
        {
            return Err(RegisterError::Full(NAMESRV_MAX_BROKERS));
        }
        let _new = t
            .cluster_addr
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());
        let mut register_first = !t.broker_addr.contains_key(&reg.broker_name);
        let bd = t
            .broker_addr
            .entry(reg.broker_name.clone())
            .or_insert_with(|| BrokerData {
                cluster: reg.cluster_name.clone(),
                broker_name: reg.broker_name.clone(),
                broker_addrs: BTreeMap::new(),
                enable_acting_master: false,
                zone_name: None,
            });
        bd.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        bd.zone_name.clone_from(&reg.zone_name);
        // The same address under another id means a role switch: drop the stale id.
        bd.broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        if let Some(old_addr) = bd.broker_addrs.get(&reg.broker_id)
            && *old_addr != reg.broker_addr
        {
            let old_key = (reg.cluster_name.clone(), old_addr.clone());
            let old_state = t
                .live
                .get(&old_key)
                .map_or(0, |l| l.data_version.state_version);
            if old_state > reg.body.data_version.state_version {
                let _removed = t
                    .live
                    .remove(&(reg.cluster_name.clone(), reg.broker_addr.clone()));
                return Ok(RegisterResult::default());
            }
        }
        if !bd.broker_addrs.contains_key(&reg.broker_id) && reg.body.topic_configs.len() == 1 {
            return Err(RegisterError::Refused);
        }
        let old = bd
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= old.is_none_or(|a| a.is_empty());
        let min_id = bd.broker_addrs.keys().next().copied().unwrap_or(MASTER_ID);
        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave =
            reg.enable_acting_master.is_some() && !is_master && reg.broker_id == min_id;
        let strip_write = is_prime_slave && bd.enable_acting_master;
        let key = (reg.cluster_name.clone(), reg.broker_addr.clone());
        if is_master || is_prime_slave {
            let version_changed = t
                .live
                .get(&key)
                .is_none_or(|l| l.data_version != reg.body.data_version);
            for tc in &reg.body.topic_configs {
                let per_topic = t.topic_queue.get(&tc.topic_name);
                let changed =
                    version_changed || per_topic.is_none_or(|m| !m.contains_key(&reg.broker_name));
                if register_first || changed {
                    let perm = if strip_write {
                        tc.perm & !PERM_WRITE
                    } else {
                        tc.perm
                    };
                    let qd = QueueData {
                        read_queue_nums: tc.read_queue_nums,
                        write_queue_nums: tc.write_queue_nums,
                        perm,
                        topic_sys_flag: tc.topic_sys_flag,
                    };
                    let _old = t
                        .topic_queue
                        .entry(tc.topic_name.clone())
                        .or_default()
                        .insert(reg.broker_name.clone(), qd);
                }
            }
        }
        let timeout = reg
            .timeout
            .unwrap_or(Duration::from_millis(BROKER_CHANNEL_EXPIRED_MILLIS));
        let is_new = t
            .live
            .insert(
                key.clone(),
                LiveInfo {
                    last_update: Instant::now(),
                    timeout,
                    data_version: reg.body.data_version,
                    conn_id: reg.conn_id,
                    ha_server_addr: reg.ha_server_addr.clone(),
                },
            )
            .is_none();
        if is_new {
            info!(cluster = %reg.cluster_name, broker = %reg.broker_name, id = reg.broker_id, addr = %reg.broker_addr, "new broker registered");
        }
        if reg.body.filter_server_list.is_empty() {
            let _removed = t.filter_server.remove(&key);
        } else {
            let _old = t
                .filter_server
                .insert(key, reg.body.filter_server_list.clone());
        }
        let mut result = RegisterResult::default();
        if !is_master {
            let master = t
                .broker_addr
                .get(&reg.broker_name)
                .and_then(|b| b.broker_addrs.get(&MASTER_ID))
                .cloned();
            if let Some(master_addr) = master
                && let Some(live) = t.live.get(&(reg.cluster_name.clone(), master_addr.clone()))
            {
                result.ha_server_addr = Some(live.ha_server_addr.clone());
                result.master_addr = Some(master_addr);
            }
        }
        Ok(result)
    }

    /// UNREGISTER_BROKER: removes the address (every id that maps to it) and cleans routes.
    pub fn unregister_broker(&self, cluster_name: &str, broker_addr: &str, broker_name: &str) {
        let mut t = self.write();
        unregister_locked(&mut t, cluster_name, broker_addr, broker_name);
    }

    /// Refreshes liveness (BROKER_HEARTBEAT, QUERY_DATA_VERSION).
    pub fn touch(&self, cluster_name: &str, broker_addr: &str) -> bool {
        let mut t = self.write();
        match t
            .live
            .get_mut(&(cluster_name.to_owned(), broker_addr.to_owned()))
        {
            Some(l) => {
                l.last_update = Instant::now();
                true
            }
            None => false,
        }
    }

    /// QUERY_DATA_VERSION: whether `version` differs from the registered one, and the registered.
    pub fn query_data_version(
        &self,
        cluster_name: &str,
        broker_addr: &str,
        version: Option<DataVersion>,
    ) -> (bool, Option<DataVersion>) {
        let mut t = self.write();
        let Some(l) = t
            .live
            .get_mut(&(cluster_name.to_owned(), broker_addr.to_owned()))
        else {
            return (true, None);
        };
        l.last_update = Instant::now();
        let changed = version.is_none_or(|v| v != l.data_version);
        (changed, Some(l.data_version))
    }

    /// Expires brokers whose registration is older than their timeout; returns how many.
    pub fn scan_not_active_brokers(&self) -> usize {
        let now = Instant::now();
        let mut t = self.write();
        let expired: Vec<AddrKey> = t
            .live
            .iter()
            .filter(|(_, l)| l.last_update + l.timeout < now)
            .map(|(k, _)| k.clone())
            .collect();
        for (cluster, addr) in &expired {
            info!(cluster = %cluster, addr = %addr, "The broker channel expired");
            destroy_locked(&mut t, cluster, addr);
        }
        expired.len()
    }

    /// A connection closed: unregister every broker that registered over it.
    pub fn on_channel_destroy(&self, conn_id: u64) {
        let mut t = self.write();
        let gone: Vec<AddrKey> = t
            .live
            .iter()
            .filter(|(_, l)| l.conn_id == Some(conn_id))
            .map(|(k, _)| k.clone())
            .collect();
        for (cluster, addr) in &gone {
            info!(cluster = %cluster, addr = %addr, "broker channel closed, unregistering");
            destroy_locked(&mut t, cluster, addr);
        }
    }

    /// GET_ROUTEINFO_BY_TOPIC.
    #[must_use]
    pub fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let t = self.read();
        let queues = t.topic_queue.get(topic)?;
        let mut route = TopicRouteData::default();
        for (name, qd) in queues {
            route.queue_datas.push((name.clone(), *qd));
            if let Some(bd) = t.broker_addr.get(name) {
                route.broker_datas.push(bd.clone());
            }
        }
        if !t.filter_server.is_empty() {
            for bd in &route.broker_datas {
                for addr in bd.broker_addrs.values() {
                    if let Some(list) = t.filter_server.get(&(bd.cluster.clone(), addr.clone())) {
                        let _old = route.filter_server_table.insert(addr.clone(), list.clone());
                    }
                }
            }
        }
        (!route.queue_datas.is_empty() && !route.broker_datas.is_empty()).then_some(route)
    }

    /// GET_BROKER_CLUSTER_INFO.
    #[must_use]
    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.read();
        ClusterInfo {
            broker_addr_table: t.broker_addr.clone(),
            cluster_addr_table: t
                .cluster_addr
                .iter()
                .map(|(c, s)| (c.clone(), s.iter().cloned().collect()))
                .collect(),
        }
    }

    /// Every topic with queues.
    #[must_use]
    pub fn all_topics(&self) -> Vec<String> {
        self.read().topic_queue.keys().cloned().collect()
    }

    /// Topics served by any broker of `cluster`.
    #[must_use]
    pub fn topics_by_cluster(&self, cluster: &str) -> Vec<String> {
        let t = self.read();
        let Some(names) = t.cluster_addr.get(cluster) else {
            return Vec::new();
        };
        t.topic_queue
            .iter()
            .filter(|(_, m)| m.keys().any(|b| names.contains(b)))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Cluster names and broker names, plus one broker address (GET_SYSTEM_TOPIC_LIST_FROM_NS).
    #[must_use]
    pub fn system_topic_list(&self) -> (Vec<String>, Option<String>) {
        let t = self.read();
        let mut topics = Vec::new();
        for (cluster, names) in &t.cluster_addr {
            topics.push(cluster.clone());
            topics.extend(names.iter().cloned());
        }
        let addr = t
            .broker_addr
            .values()
            .find_map(|bd| bd.broker_addrs.values().next().cloned());
        (topics, addr)
    }

    /// Unit topic lists: topics whose first queue data's sys flag passes `pred`.
    #[must_use]
    pub fn topics_by_sys_flag(&self, pred: impl Fn(i32) -> bool) -> Vec<String> {
        let t = self.read();
        t.topic_queue
            .iter()
            .filter(|(_, m)| m.values().next().is_some_and(|q| pred(q.topic_sys_flag)))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// WIPE_WRITE_PERM_OF_BROKER / ADD_WRITE_PERM_OF_BROKER: returns topics touched.
    pub fn update_write_perm(&self, broker_name: &str, wipe: bool) -> i32 {
        let mut t = self.write();
        let mut count = 0i32;
        for m in t.topic_queue.values_mut() {
            if let Some(q) = m.get_mut(broker_name) {
                q.perm = if wipe { q.perm & !PERM_WRITE } else { 6 };
                count = count.saturating_add(1);
            }
        }
        count
    }

    /// DELETE_TOPIC_IN_NAMESRV.
    pub fn delete_topic(&self, topic: &str, cluster_name: Option<&str>) {
        let mut t = self.write();
        match cluster_name.filter(|c| !c.is_empty()) {
            None => {
                let _removed = t.topic_queue.remove(topic);
            }
            Some(cluster) => {
                let names = t.cluster_addr.get(cluster).cloned().unwrap_or_default();
                if let Some(m) = t.topic_queue.get_mut(topic) {
                    m.retain(|b, _| !names.contains(b));
                    if m.is_empty() {
                        let _removed = t.topic_queue.remove(topic);
                    }
                }
            }
        }
    }

    /// REGISTER_TOPIC_IN_NAMESRV: adds queue datas for known brokers.
    pub fn register_topic(&self, topic: &str, queue_datas: &[(String, QueueData)]) {
        let mut t = self.write();
        if queue_datas.is_empty() {
            return;
        }
        let exists = t.topic_queue.contains_key(topic);
        if !exists
            && queue_datas
                .iter()
                .any(|(b, _)| !t.broker_addr.contains_key(b))
        {
            return;
        }
        for (b, q) in queue_datas {
            if !t.broker_addr.contains_key(b) {
                break;
            }
            let _old = t
                .topic_queue
                .entry(topic.to_owned())
                .or_default()
                .insert(b.clone(), *q);
        }
    }

    /// GET_BROKER_MEMBER_GROUP: the broker's id → address map.
    #[must_use]
    pub fn broker_member_group(&self, broker_name: &str) -> BTreeMap<i64, String> {
        self.read()
            .broker_addr
            .get(broker_name)
            .map(|b| b.broker_addrs.clone())
            .unwrap_or_default()
    }
}

fn destroy_locked(t: &mut Tables, cluster: &str, addr: &str) {
    let name = t
        .broker_addr
        .values()
        .find(|bd| bd.cluster == cluster && bd.broker_addrs.values().any(|a| a == addr))
        .map(|bd| bd.broker_name.clone());
    match name {
        Some(name) => unregister_locked(t, cluster, addr, &name),
        None => {
            let key = (cluster.to_owned(), addr.to_owned());
            let _live = t.live.remove(&key);
            let _filters = t.filter_server.remove(&key);
        }
    }
}

fn unregister_locked(t: &mut Tables, cluster: &str, addr: &str, broker_name: &str) {
    let key = (cluster.to_owned(), addr.to_owned());
    let _live = t.live.remove(&key);
    let _filters = t.filter_server.remove(&key);
    let mut removed = false;
    if let Some(bd) = t.broker_addr.get_mut(broker_name) {
        bd.broker_addrs.retain(|_, a| a != addr);
        if bd.broker_addrs.is_empty() {
            let _bd = t.broker_addr.remove(broker_name);
            removed = true;
            if let Some(set) = t.cluster_addr.get_mut(cluster) {
                let _was = set.remove(broker_name);
                if set.is_empty() {
                    let _set = t.cluster_addr.remove(cluster);
                }
            }
        }
    }
    if removed {
        t.topic_queue.retain(|_, m| {
            let _q = m.remove(broker_name);
            !m.is_empty()
        });
        info!(
            cluster,
            broker = broker_name,
            addr,
            "broker removed from the registry"
        );
    }
}
