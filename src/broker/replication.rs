//! The broker's side of replication: on a slave, the HA client thread and `SlaveSynchronize`,
//! which copies the master's metadata every 10 s (topics over the VIP port, listen port − 2, as
//! `MixAll.brokerVIPChannel`; the rest over the main port): topic configs and subscription groups when their data version changed,
//! consumer offsets (merged, `putAll`), and delayed-delivery progress.
//!
//! On a master, one task at start-up takes back the consumer offsets its slaves were given while
//! it was down (consumers commit to a slave when the master is missing from the route); Java
//! leaves them on the slave, so a consumer group restarted after the master returns would
//! consume again what it had consumed from the slave.
//!
//! The HA port itself ([`crate::ha::master::serve`]) runs on every broker, as in Java.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::task::JoinHandle as TaskHandle;
use tracing::{debug, info, warn};

use super::Broker;
use crate::ha::{BrokerRole, slave};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// `SlaveSynchronize` period (`BrokerController.handleSlaveSynchronize`).
const SYNC_PERIOD: Duration = Duration::from_secs(10);
/// Timeout of each sync call (`BrokerOuterAPI.getAllTopicConfig` and friends: 3 s).
const SYNC_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// What a slave runs; empty on a master.
#[derive(Debug)]
pub struct Replication {
    stop: Arc<AtomicBool>,
    client: Option<JoinHandle<()>>,
    sync: Option<TaskHandle<()>>,
}

/// Starts the HA client and the metadata sync when the broker is a slave.
/// `took_back`: the master already took its offsets back before registering; otherwise it keeps
/// trying for a minute (its slave may register after it).
pub fn start(broker: &Arc<Broker>, took_back: bool) -> Result<Replication, String> {
    let stop = Arc::new(AtomicBool::new(false));
    if broker.role() != BrokerRole::Slave {
        return Ok(Replication {
            stop,
            client: None,
            sync: (!took_back).then(|| tokio::spawn(take_back_offsets(Arc::clone(broker)))),
        });
    }
    let client = slave::start(Arc::clone(&broker.ha), Arc::clone(&stop))
        .map_err(|e| format!("cannot start the HA client: {e}"))?;
    let sync = tokio::spawn(sync_loop(Arc::clone(broker)));
    Ok(Replication {
        stop,
        client: Some(client),
        sync: Some(sync),
    })
}

impl Replication {
    /// Stops the HA client and the sync task.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(s) = self.sync.take() {
            s.abort();
        }
        if let Some(c) = self.client.take() {
            let _ = tokio::task::spawn_blocking(move || c.join()).await;
        }
    }
}

/// The VIP address of `addr` (`MixAll.brokerVIPChannel(true, addr)`: port − 2).
#[must_use]
pub fn vip_addr(addr: &str) -> String {
    match addr.rsplit_once(':') {
        Some((host, port)) => match port.parse::<u16>() {
            Ok(p) if p > 2 => format!("{host}:{}", p - 2),
            _ => addr.to_owned(),
        },
        None => addr.to_owned(),
    }
}

async fn sync_loop(broker: Arc<Broker>) {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut tick = tokio::time::interval(SYNC_PERIOD);
    loop {
        let _ = tick.tick().await;
        if let Some(master) = broker.master_addr().filter(|m| *m != broker.addr) {
            sync_all(&broker, &master).await;
        }
    }
}

/// How long after start-up a master looks for slaves to take offsets back from.
const TAKE_BACK_WINDOW: Duration = Duration::from_secs(60);

/// The slaves of this broker's group, from the name server's cluster info.
async fn slave_addrs(broker: &Broker) -> Vec<String> {
    let mut out = Vec::new();
    for ns in super::register::namesrv_addrs(broker) {
        let req = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO.code(), None);
        let Ok(resp) = broker.namesrv.invoke(&ns, req, SYNC_CALL_TIMEOUT).await else {
            continue;
        };
        let text = String::from_utf8_lossy(&resp.body);
        let quoted = super::consumer_offset::quote_integer_keys(&text);
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&quoted) else {
            continue;
        };
        if let Some(serde_json::Value::Object(addrs)) = v
            .get("brokerAddrTable")
            .and_then(|t| t.get(&broker.name))
            .and_then(|b| b.get("brokerAddrs"))
        {
            for (id, addr) in addrs {
                if id.parse::<i64>().is_ok_and(|id| id > 0)
                    && let Some(a) = addr.as_str()
                    && !out.iter().any(|o| o == a)
                {
                    out.push(a.to_owned());
                }
            }
        }
    }
    out
}

/// Once after start-up: every slave's consumer offsets, merged (larger wins) into the master's.
async fn take_back_offsets(broker: Arc<Broker>) {
    let started = tokio::time::Instant::now();
    while started.elapsed() < TAKE_BACK_WINDOW {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if take_back_once(&broker).await {
            return;
        }
    }
}

/// One attempt: asks every slave the name server lists for this group; true when one answered.
/// [`super::startup`] makes a first attempt before the master registers, so no consumer can
/// reach the master before the offsets are back.
pub async fn take_back_once(broker: &Broker) -> bool {
    let mut reached = false;
    for slave in &slave_addrs(broker).await {
        let mut req = RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET.code(), None);
        broker.auth.sign(&mut req);
        match broker.namesrv.invoke(slave, req, SYNC_CALL_TIMEOUT).await {
            Ok(r) if r.code == ResponseCode::SUCCESS.code() => {
                reached = true;
                match broker.offsets.take_back_from_slave(&r.body) {
                    Ok(0) => debug!(slave = %slave, "no newer consumer offsets on the slave"),
                    Ok(n) => {
                        info!(slave = %slave, offsets = n, "consumer offsets committed to the slave taken back")
                    }
                    Err(e) => {
                        warn!(slave = %slave, error = %e, "bad consumer offsets from the slave")
                    }
                }
            }
            Ok(r) => {
                debug!(slave = %slave, code = r.code, "slave refused its consumer offsets")
            }
            Err(e) => debug!(slave = %slave, error = %e, "slave unreachable"),
        }
    }
    reached
}

/// `SlaveSynchronize.syncAll`, once.
pub async fn sync_all(broker: &Broker, master: &str) {
    let vip = vip_addr(master);
    let steps: [(RequestCode, &str); 6] = [
        (RequestCode::GET_ALL_TOPIC_CONFIG, "topic config"),
        (RequestCode::GET_ALL_CONSUMER_OFFSET, "consumer offsets"),
        (RequestCode::GET_ALL_DELAY_OFFSET, "delay offsets"),
        (
            RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
            "subscription groups",
        ),
        (RequestCode::GET_TIMER_CHECK_POINT, "timer checkpoint"),
        (
            RequestCode::GET_ALL_MESSAGE_REQUEST_MODE,
            "message request modes",
        ),
    ];
    for (code, what) in steps {
        // Java asks for topics on the VIP port and for the rest on the main port.
        let addr = if code == RequestCode::GET_ALL_TOPIC_CONFIG {
            vip.as_str()
        } else {
            master
        };
        let mut req = RemotingCommand::request(code.code(), None);
        broker.auth.sign(&mut req);
        let body = match broker.namesrv.invoke(addr, req, SYNC_CALL_TIMEOUT).await {
            Ok(r) if r.code == ResponseCode::SUCCESS.code() => r.body,
            Ok(r) => {
                warn!(master = %vip, code = r.code, remark = ?r.remark, "slave sync of {what} refused");
                continue;
            }
            Err(e) => {
                warn!(master = %vip, error = %e, "slave sync of {what} failed");
                return;
            }
        };
        let applied = match code {
            RequestCode::GET_ALL_TOPIC_CONFIG => broker.topics.sync_from_master(&body).map(|c| {
                if c {
                    info!(master = %vip, "topic config synced from the master");
                    broker.notify_topics_changed();
                }
            }),
            RequestCode::GET_ALL_CONSUMER_OFFSET => broker
                .offsets
                .sync_from_master(&body)
                .map(|n| debug!(master = %vip, pairs = n, "consumer offsets synced")),
            RequestCode::GET_ALL_DELAY_OFFSET => broker.schedule.sync_from_master(&body),
            RequestCode::GET_TIMER_CHECK_POINT => {
                match crate::store::timer::checkpoint::CheckpointData::decode(&body) {
                    Some(cp) => {
                        if let Some(t) = &broker.timer {
                            t.sync_from_master(&cp);
                        }
                        Ok(())
                    }
                    None => Err(format!("{} bytes", body.len())),
                }
            }
            RequestCode::GET_ALL_MESSAGE_REQUEST_MODE => {
                broker.pop.modes.sync_from_master(&body).map(|()| {
                    use crate::broker::config_file::ConfigManager as _;
                    let _ = broker.pop.modes.persist();
                })
            }
            _ => broker.groups.sync_from_master(&body).map(|c| {
                if c {
                    info!(master = %vip, "subscription groups synced from the master");
                }
            }),
        };
        if let Err(e) = applied {
            warn!(master = %vip, error = %e, "slave sync of {what}: bad body");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vip_is_port_minus_two() {
        assert_eq!(super::vip_addr("10.0.0.1:10911"), "10.0.0.1:10909");
        assert_eq!(super::vip_addr("host"), "host");
    }
}
