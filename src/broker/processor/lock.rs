//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ for orderly consumers (`RebalanceLockManager`): a queue is
//! locked to one client id, and a lock not renewed for 60 s expires.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::client::parse_body;
use crate::broker::Broker;
use crate::net::ConnectionHandle;
use crate::remoting::body::{value_i32_or, value_string};
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::{JsonWriter, Style};
use crate::remoting::{RemotingCommand, ResponseCode};

/// `rocketmq.broker.rebalance.lockMaxLiveTime`.
pub const LOCK_MAX_LIVE: Duration = Duration::from_secs(60);

/// A message queue (`MessageQueue`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mq {
    /// Topic.
    pub topic: String,
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
}

#[derive(Debug, Clone)]
struct LockEntry {
    client_id: String,
    last_update: Instant,
}

/// Group → queue → holder.
#[derive(Debug, Default)]
pub struct LockManager {
    table: Mutex<HashMap<String, HashMap<Mq, LockEntry>>>,
}

impl LockManager {
    /// `tryLockBatch`: returns the queues now held by `client_id`.
    pub fn try_lock_batch(&self, group: &str, mqs: &[Mq], client_id: &str) -> Vec<Mq> {
        let now = Instant::now();
        let mut t = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let g = t.entry(group.to_owned()).or_default();
        let mut ok = Vec::new();
        for mq in mqs {
            let free = g.get(mq).is_none_or(|e| {
                e.client_id == client_id || now.duration_since(e.last_update) > LOCK_MAX_LIVE
            });
            if free {
                let _ = g.insert(
                    mq.clone(),
                    LockEntry {
                        client_id: client_id.to_owned(),
                        last_update: now,
                    },
                );
                ok.push(mq.clone());
            }
        }
        ok
    }

    /// `unlockBatch`: releases the queues `client_id` holds.
    pub fn unlock_batch(&self, group: &str, mqs: &[Mq], client_id: &str) {
        let mut t = self
            .table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(g) = t.get_mut(group) {
            for mq in mqs {
                if g.get(mq).is_some_and(|e| e.client_id == client_id) {
                    let _ = g.remove(mq);
                }
            }
        }
    }
}

fn parse_mqs(v: &Value) -> Vec<Mq> {
    match v.get("mqSet") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|m| {
                Some(Mq {
                    topic: value_string(m.get("topic"))?,
                    broker_name: value_string(m.get("brokerName")).unwrap_or_default(),
                    queue_id: value_i32_or(m.get("queueId"), 0),
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// LOCK_BATCH_MQ.
pub(crate) fn lock_batch_mq(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(body) = parse_body(&req.body) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "invalid LockBatchRequestBody",
        ));
    };
    let group = value_string(body.get("consumerGroup")).unwrap_or_default();
    let client = value_string(body.get("clientId")).unwrap_or_default();
    let mut locked = broker
        .locks
        .try_lock_batch(&group, &parse_mqs(&body), &client);
    locked.sort();
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object().key("lockOKMQSet").begin_array();
    for mq in &locked {
        w.begin_object()
            .field_str("brokerName", &mq.broker_name)
            .field_num("queueId", i64::from(mq.queue_id))
            .field_str("topic", &mq.topic)
            .end_object();
    }
    w.end_array().end_object();
    Ok(RemotingCommand::success().with_body(w.finish().into_bytes()))
}

/// UNLOCK_BATCH_MQ.
pub(crate) fn unlock_batch_mq(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    if let Some(body) = parse_body(&req.body) {
        let group = value_string(body.get("consumerGroup")).unwrap_or_default();
        let client = value_string(body.get("clientId")).unwrap_or_default();
        broker
            .locks
            .unlock_batch(&group, &parse_mqs(&body), &client);
    }
    Ok(RemotingCommand::success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_queue() {
        let m = LockManager::default();
        let q = Mq {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: 0,
        };
        assert_eq!(
            m.try_lock_batch("g", std::slice::from_ref(&q), "c1").len(),
            1
        );
        assert!(
            m.try_lock_batch("g", std::slice::from_ref(&q), "c2")
                .is_empty()
        );
        m.unlock_batch("g", std::slice::from_ref(&q), "c1");
        assert_eq!(
            m.try_lock_batch("g", std::slice::from_ref(&q), "c2").len(),
            1
        );
    }
}
