//! Producers and consumers known from heartbeats (`broker:client/ConsumerManager.java`,
//! `ProducerManager.java`): group → channels, subscriptions with their versions, expiry of
//! silent channels, and NOTIFY_CONSUMER_IDS_CHANGED to a group's members when it changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::net::ConnectionHandle;
use crate::remoting::LanguageCode;
use crate::remoting::body::{value_i64, value_string};

/// A channel silent this long is dropped (`ConsumerManager.CHANNEL_EXPIRED_TIMEOUT`).
pub const CHANNEL_EXPIRED_TIMEOUT: Duration = Duration::from_secs(120);

/// One subscription (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionData {
    /// Topic.
    pub topic: String,
    /// Expression text (`*`, `TagA || TagB`, or SQL).
    pub sub_string: String,
    /// `TAG` or `SQL92`.
    pub expression_type: String,
    /// Tags.
    pub tags_set: Vec<String>,
    /// Tag hash codes.
    pub code_set: Vec<i32>,
    /// Version (a timestamp).
    pub sub_version: i64,
}

impl SubscriptionData {
    /// Builds one from an expression, as `FilterAPI.build` does.
    #[must_use]
    pub fn build(
        topic: &str,
        sub_string: &str,
        expression_type: Option<&str>,
        sub_version: i64,
    ) -> Self {
        let sub = if sub_string.trim().is_empty() {
            "*"
        } else {
            sub_string.trim()
        };
        let expression_type = expression_type
            .filter(|t| !t.is_empty())
            .unwrap_or("TAG")
            .to_owned();
        let (tags_set, code_set) = if expression_type == "TAG" && sub != "*" {
            let tags: Vec<String> = sub
                .split("||")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            let codes = tags
                .iter()
                .map(|t| crate::store::record::java_string_hash(t))
                .collect();
            (tags, codes)
        } else {
            (Vec::new(), Vec::new())
        };
        Self {
            topic: topic.to_owned(),
            sub_string: sub.to_owned(),
            expression_type,
            tags_set,
            code_set,
            sub_version,
        }
    }

    /// Reads a heartbeat's subscription object.
    #[must_use]
    pub fn from_value(v: &Value) -> Option<Self> {
        let topic = value_string(v.get("topic"))?;
        let sub = value_string(v.get("subString")).unwrap_or_else(|| "*".into());
        let ty = value_string(v.get("expressionType"));
        let version = value_i64(v.get("subVersion")).unwrap_or(0);
        Some(Self::build(&topic, &sub, ty.as_deref(), version))
    }

    /// Broker-side filter on the ConsumeQueue tag code (`isMatchedByConsumeQueue`).
    #[must_use]
    pub fn matches(&self, tags_code: i64) -> bool {
        if self.expression_type != "TAG" || self.sub_string == "*" || self.code_set.is_empty() {
            return true;
        }
        self.code_set.iter().any(|c| i64::from(*c) == tags_code)
    }
}

/// A client connection known from heartbeats.
#[derive(Debug, Clone)]
pub struct ClientChannel {
    /// The connection.
    pub conn: ConnectionHandle,
    /// Client id (`ip@pid…`).
    pub client_id: String,
    /// Language.
    pub language: Option<LanguageCode>,
    /// `MQVersion` ordinal.
    pub version: i32,
    /// Last heartbeat.
    pub last_update: Instant,
}

/// A consumer group (`ConsumerGroupInfo`).
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    /// Members by connection id.
    pub channels: BTreeMap<u64, ClientChannel>,
    /// Topic → subscription.
    pub subscriptions: BTreeMap<String, SubscriptionData>,
    /// `CONSUME_ACTIVELY` / `CONSUME_PASSIVELY` / `CONSUME_POP`.
    pub consume_type: String,
    /// `CLUSTERING` / `BROADCASTING`.
    pub message_model: String,
    /// Where new consumers start.
    pub consume_from_where: String,
}

/// Result of a consumer heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterOutcome {
    /// A member joined.
    pub channel_added: bool,
    /// The subscriptions changed.
    pub subscription_changed: bool,
}

/// All producer and consumer groups.
#[derive(Debug, Default)]
pub struct ClientManager {
    consumers: RwLock<HashMap<String, ConsumerGroup>>,
    producers: RwLock<HashMap<String, BTreeMap<u64, ClientChannel>>>,
}

impl ClientManager {
    /// Records a consumer heartbeat.
    pub fn register_consumer(
        &self,
        group: &str,
        ch: ClientChannel,
        consume_type: &str,
        message_model: &str,
        consume_from_where: &str,
        subs: Vec<SubscriptionData>,
    ) -> RegisterOutcome {
        let Ok(mut t) = self.consumers.write() else {
            return RegisterOutcome {
                channel_added: false,
                subscription_changed: false,
            };
        };
        let g = t.entry(group.to_owned()).or_insert_with(|| ConsumerGroup {
            channels: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            consume_type: consume_type.to_owned(),
            message_model: message_model.to_owned(),
            consume_from_where: consume_from_where.to_owned(),
        });
        g.consume_type = consume_type.to_owned();
        g.message_model = message_model.to_owned();
        g.consume_from_where = consume_from_where.to_owned();
        let channel_added = !g.channels.contains_key(&ch.conn.id());
        let _ = g.channels.insert(ch.conn.id(), ch);
        let mut subscription_changed = false;
        let new: BTreeMap<String, SubscriptionData> =
            subs.into_iter().map(|s| (s.topic.clone(), s)).collect();
        for (topic, s) in &new {
            match g.subscriptions.get(topic) {
                Some(old)
                    if old.sub_string == s.sub_string
                        && old.expression_type == s.expression_type =>
                {
                    if s.sub_version > old.sub_version {
                        let _ = g.subscriptions.insert(topic.clone(), s.clone());
                    }
                }
                _ => {
                    let _ = g.subscriptions.insert(topic.clone(), s.clone());
                    subscription_changed = true;
                }
            }
        }
        let before = g.subscriptions.len();
        g.subscriptions.retain(|t, _| new.contains_key(t));
        subscription_changed |= g.subscriptions.len() != before;
        RegisterOutcome {
            channel_added,
            subscription_changed,
        }
    }

    /// Records a producer heartbeat.
    pub fn register_producer(&self, group: &str, ch: ClientChannel) {
        if let Ok(mut t) = self.producers.write() {
            let _ = t
                .entry(group.to_owned())
                .or_default()
                .insert(ch.conn.id(), ch);
        }
    }

    /// A producer channel of client `client_id`, in any group (`ProducerManager.findChannel`,
    /// which request-reply uses to push a reply to its requester).
    #[must_use]
    pub fn find_producer_channel(&self, client_id: &str) -> Option<ClientChannel> {
        let t = self.producers.read().ok()?;
        t.values()
            .flat_map(BTreeMap::values)
            .find(|ch| ch.client_id == client_id && !ch.conn.is_closed())
            .cloned()
    }

    /// Removes a client from a group (UNREGISTER_CLIENT); true if a consumer left.
    pub fn unregister(
        &self,
        conn_id: u64,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> bool {
        if let (Some(g), Ok(mut t)) = (producer_group, self.producers.write())
            && let Some(m) = t.get_mut(g)
        {
            let _ = m.remove(&conn_id);
        }
        let mut left = false;
        if let (Some(g), Ok(mut t)) = (consumer_group, self.consumers.write())
            && let Some(info) = t.get_mut(g)
        {
            left = info.channels.remove(&conn_id).is_some();
            if info.channels.is_empty() {
                let _ = t.remove(g);
            }
        }
        left
    }

    /// Drops a closed connection everywhere; returns the consumer groups it left.
    pub fn on_close(&self, conn_id: u64) -> Vec<String> {
        if let Ok(mut t) = self.producers.write() {
            for m in t.values_mut() {
                let _ = m.remove(&conn_id);
            }
            t.retain(|_, m| !m.is_empty());
        }
        let mut left = Vec::new();
        if let Ok(mut t) = self.consumers.write() {
            for (g, info) in t.iter_mut() {
                if info.channels.remove(&conn_id).is_some() {
                    left.push(g.clone());
                }
            }
            t.retain(|_, info| !info.channels.is_empty());
        }
        left
    }

    /// Drops channels silent for [`CHANNEL_EXPIRED_TIMEOUT`]; returns the groups that changed.
    pub fn scan_expired(&self) -> Vec<String> {
        let now = Instant::now();
        let mut changed = Vec::new();
        if let Ok(mut t) = self.consumers.write() {
            for (g, info) in t.iter_mut() {
                let before = info.channels.len();
                info.channels
                    .retain(|_, c| now.duration_since(c.last_update) < CHANNEL_EXPIRED_TIMEOUT);
                if info.channels.len() != before {
                    changed.push(g.clone());
                }
            }
            t.retain(|_, info| !info.channels.is_empty());
        }
        if let Ok(mut t) = self.producers.write() {
            for m in t.values_mut() {
                m.retain(|_, c| now.duration_since(c.last_update) < CHANNEL_EXPIRED_TIMEOUT);
            }
            t.retain(|_, m| !m.is_empty());
        }
        changed
    }

    /// A consumer group.
    #[must_use]
    pub fn consumer_group(&self, group: &str) -> Option<ConsumerGroup> {
        self.consumers.read().ok()?.get(group).cloned()
    }

    /// A consumer group's subscriptions, without copying its members.
    #[must_use]
    pub fn subscriptions(&self, group: &str) -> Vec<SubscriptionData> {
        self.consumers
            .read()
            .ok()
            .and_then(|t| {
                t.get(group)
                    .map(|g| g.subscriptions.values().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// Members of a producer group.
    #[must_use]
    pub fn producer_group(&self, group: &str) -> Vec<ClientChannel> {
        self.producers
            .read()
            .ok()
            .and_then(|t| t.get(group).map(|m| m.values().cloned().collect()))
            .unwrap_or_default()
    }

    /// Every producer group with its members, sorted by group (GET_ALL_PRODUCER_INFO).
    #[must_use]
    pub fn producer_groups(&self) -> Vec<(String, Vec<ClientChannel>)> {
        let mut v: Vec<(String, Vec<ClientChannel>)> = self
            .producers
            .read()
            .map(|t| {
                t.iter()
                    .map(|(g, m)| (g.clone(), m.values().cloned().collect()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Client ids of a consumer group, sorted.
    #[must_use]
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .consumer_group(group)
            .map(|g| g.channels.values().map(|c| c.client_id.clone()).collect())
            .unwrap_or_default();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Consumer groups subscribed to `topic`.
    #[must_use]
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        self.consumers
            .read()
            .map(|t| {
                t.iter()
                    .filter(|(_, g)| g.subscriptions.contains_key(topic))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Counts of (producer channels, consumer channels).
    #[must_use]
    pub fn connection_counts(&self) -> (usize, usize) {
        let p = self
            .producers
            .read()
            .map(|t| t.values().map(BTreeMap::len).sum())
            .unwrap_or(0);
        let c = self
            .consumers
            .read()
            .map(|t| t.values().map(|g| g.channels.len()).sum())
            .unwrap_or(0);
        (p, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_parse_and_match() {
        let s = SubscriptionData::build("T", "TagA || TagB", None, 1);
        assert_eq!(s.tags_set, vec!["TagA", "TagB"]);
        assert_eq!(s.code_set, vec![2_598_919, 2_598_920]);
        assert!(s.matches(2_598_919));
        assert!(!s.matches(7));
        assert!(SubscriptionData::build("T", "*", None, 1).matches(7));
    }
}
