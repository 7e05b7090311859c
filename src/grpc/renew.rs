//! Auto-renewal of the receipt handles of messages received with `auto_renew` (the SDKs'
//! PushConsumer), as Java's proxy does it (`proxy:service/receipt/DefaultReceiptHandleManager`,
//! `proxy:common/ReceiptHandleGroup`, `MessageReceiptHandle`, `RenewStrategyPolicy`).
//!
//! The endpoint remembers each such handle per (client, group), keyed by message id, broker,
//! queue and queue offset. Every `renewSchedulePeriodMillis` it renews the handles that become
//! visible within `renewAheadTimeMillis` through the broker's CHANGE_MESSAGE_INVISIBLETIME and
//! keeps the newest handle; the client keeps acking with the handle it received, which
//! AckMessage / ChangeInvisibleDuration / ForwardMessageToDeadLetterQueue map to the newest one
//! (`getHandleString`) and forget. A handle held past `renewMaxTimeMillis` gets the group's
//! retry delay and is no longer renewed; one whose renewal failed `maxRenewRetryTimes` times is
//! dropped. A client that terminated or went idle has its handles made visible again after
//! `invisibleTimeMillisWhenClear` (`clearGroup`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tracing::{debug, warn};

use super::Endpoint;
use super::pb::Code;
use super::receipt::ReceiptHandle;
use crate::broker::Broker;
use crate::limits::{GRPC_MAX_RENEW_HANDLES, GRPC_RENEW_STEPS_MS, GRPC_STOP_RENEW_DELAYS_MS};
use crate::net::ConnectionHandle;
use crate::store::message_store::now_millis;

/// The renewal settings (`ProxyConfig` keys of the same names).
#[derive(Debug, Clone, Copy)]
pub struct RenewConfig {
    /// `renewAheadTimeMillis`.
    pub ahead_ms: i64,
    /// `renewSchedulePeriodMillis`.
    pub period_ms: i64,
    /// `renewMaxTimeMillis`.
    pub max_ms: i64,
    /// `maxRenewRetryTimes`.
    pub max_retries: i64,
    /// `invisibleTimeMillisWhenClear`.
    pub clear_invisible_ms: i64,
}

impl RenewConfig {
    /// The broker's settings.
    #[must_use]
    pub fn of(broker: &Broker) -> Self {
        Self {
            ahead_ms: broker.config_i64("renewAheadTimeMillis"),
            period_ms: broker.config_i64("renewSchedulePeriodMillis").max(10),
            max_ms: broker.config_i64("renewMaxTimeMillis"),
            max_retries: broker.config_i64("maxRenewRetryTimes"),
            clear_invisible_ms: broker.config_i64("invisibleTimeMillisWhenClear").max(0),
        }
    }
}

/// `ReceiptHandleGroup.HandleKey` under its message id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct HandleKey {
    msg_id: String,
    broker: String,
    queue_id: i32,
    offset: i64,
}

impl HandleKey {
    fn of(msg_id: &str, text: &str) -> Option<Self> {
        let h = ReceiptHandle::decode(text).ok()?;
        Some(Self {
            msg_id: msg_id.to_owned(),
            broker: h.broker_name,
            queue_id: h.queue_id,
            offset: h.offset,
        })
    }
}

/// `MessageReceiptHandle`: one held message.
#[derive(Debug, Clone)]
struct Held {
    topic: String,
    /// The newest handle.
    current: String,
    /// When the client received it (ms).
    consume_ts: i64,
    renew_times: usize,
    retries: i64,
    reconsume_times: i32,
}

type GroupKey = (String, String);

#[derive(Debug, Default)]
struct Table {
    groups: HashMap<GroupKey, HashMap<HandleKey, Held>>,
    total: usize,
}

/// The handles the endpoint renews.
#[derive(Debug, Default)]
pub struct Renewals {
    table: Mutex<Table>,
}

impl Renewals {
    /// Remembers a handle received with `auto_renew` (`addReceiptHandle`). False when
    /// [`GRPC_MAX_RENEW_HANDLES`] are held already or the handle does not decode.
    pub fn add(
        &self,
        client_id: &str,
        group: &str,
        topic: &str,
        msg_id: &str,
        text: &str,
        reconsume_times: i32,
    ) -> bool {
        let Some(key) = HandleKey::of(msg_id, text) else {
            return false;
        };
        let Ok(mut t) = self.table.lock() else {
            return false;
        };
        if t.total >= GRPC_MAX_RENEW_HANDLES {
            warn!(
                max = GRPC_MAX_RENEW_HANDLES,
                "too many receipt handles to renew; this one is not renewed"
            );
            return false;
        }
        let held = Held {
            topic: topic.to_owned(),
            current: text.to_owned(),
            consume_ts: now_millis(),
            renew_times: 0,
            retries: 0,
            reconsume_times,
        };
        let g = t
            .groups
            .entry((client_id.to_owned(), group.to_owned()))
            .or_default();
        if g.insert(key, held).is_none() {
            t.total += 1;
        }
        true
    }

    /// Forgets the handle the client received as `text` for `msg_id` and returns its newest
    /// form (`removeReceiptHandle`); `None` when the endpoint does not renew it.
    pub fn remove(&self, client_id: &str, group: &str, msg_id: &str, text: &str) -> Option<String> {
        let key = HandleKey::of(msg_id, text)?;
        let mut t = self.table.lock().ok()?;
        let gk = (client_id.to_owned(), group.to_owned());
        let g = t.groups.get_mut(&gk)?;
        let held = g.remove(&key)?;
        if g.is_empty() {
            let _ = t.groups.remove(&gk);
        }
        t.total = t.total.saturating_sub(1);
        Some(held.current)
    }

    /// How many handles are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.total)
    }

    /// True when no handle is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one renewal pass does with a held handle.
enum Step {
    Keep,
    Drop,
}

impl Endpoint {
    /// One pass (`scheduleRenewTask`): clears the groups of clients gone, renews what is due.
    /// The table stays locked during the pass so an ack never races a renewal of its handle
    /// (Java locks each `HandleData`).
    pub(crate) fn renew_pass(&self, cfg: &RenewConfig, inner: &ConnectionHandle) {
        let Ok(mut t) = self.renewals.table.lock() else {
            return;
        };
        let keys: Vec<GroupKey> = t.groups.keys().cloned().collect();
        let mut total = 0;
        for gk in keys {
            let Some(conn) = self.clients.known_connection(&gk.0) else {
                // `clearGroup`: the client is offline.
                if let Some(g) = t.groups.remove(&gk) {
                    debug!(client = %gk.0, group = %gk.1, handles = g.len(), "receipt handles of an offline client cleared");
                    for h in g.values() {
                        let _ = self.change_handle(
                            inner,
                            &gk.1,
                            &h.topic,
                            &h.current,
                            cfg.clear_invisible_ms,
                        );
                    }
                }
                continue;
            };
            let Some(g) = t.groups.get_mut(&gk) else {
                continue;
            };
            g.retain(|_, h| matches!(self.renew_one(cfg, &conn, &gk.1, h), Step::Keep));
            total += g.len();
            if g.is_empty() {
                let _ = t.groups.remove(&gk);
            }
        }
        t.total = total;
    }

    /// `startRenewMessage` for one handle.
    fn renew_one(
        &self,
        cfg: &RenewConfig,
        conn: &ConnectionHandle,
        group: &str,
        h: &mut Held,
    ) -> Step {
        let now = now_millis();
        let Ok(rh) = ReceiptHandle::decode(&h.current) else {
            return Step::Drop;
        };
        if rh.retrieve_time.saturating_add(rh.invisible_time) - now > cfg.ahead_ms {
            return Step::Keep;
        }
        if h.retries >= cfg.max_retries {
            warn!(handle = %h.current, "receipt handle exceeded maxRenewRetryTimes; no longer renewed");
            return Step::Drop;
        }
        if now - h.consume_ts < cfg.max_ms {
            let step = GRPC_RENEW_STEPS_MS
                .get(h.renew_times)
                .or(GRPC_RENEW_STEPS_MS.last())
                .copied()
                .unwrap_or(60_000);
            match self.change_handle(conn, group, &h.topic, &h.current, step) {
                Ok(new) => {
                    h.current = new;
                    h.retries = 0;
                    h.renew_times += 1;
                    Step::Keep
                }
                Err(r) if r.code == Code::InvalidReceiptHandle => Step::Drop,
                Err(r) => {
                    warn!(handle = %h.current, error = %r.message, "receipt handle renewal failed");
                    h.retries += 1;
                    Step::Keep
                }
            }
        } else {
            // STOP_RENEW: the group's next retry delay, then no more renewals.
            let idx = usize::try_from(h.reconsume_times.max(0))
                .unwrap_or(0)
                .saturating_add(2);
            let delay = GRPC_STOP_RENEW_DELAYS_MS
                .get(idx)
                .or(GRPC_STOP_RENEW_DELAYS_MS.last())
                .copied()
                .unwrap_or(1_000);
            let _ = self.change_handle(conn, group, &h.topic, &h.current, delay);
            Step::Drop
        }
    }
}

/// The renewal task: a pass every `renewSchedulePeriodMillis` until the endpoint goes away.
pub(crate) async fn run(endpoint: Weak<Endpoint>) {
    let Some(ep) = endpoint.upgrade() else {
        return;
    };
    let cfg = RenewConfig::of(&ep.broker);
    let unspecified = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    // The proxy's inner context: renewals of clients gone run on the endpoint's own channel.
    let (inner, _rx) = crate::net::connection::detached(unspecified, unspecified, 1);
    drop(ep);
    let period = std::time::Duration::from_millis(u64::try_from(cfg.period_ms).unwrap_or(5_000));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let _ = tick.tick().await;
        let Some(ep) = endpoint.upgrade() else {
            return;
        };
        let ep2 = Arc::clone(&ep);
        let inner2 = Arc::clone(&inner);
        let _ = tokio::task::spawn_blocking(move || ep2.renew_pass(&cfg, &inner2)).await;
    }
}
