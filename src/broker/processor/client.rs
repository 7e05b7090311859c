//! HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, CHECK_CLIENT_CONFIG, and the
//! broker → client NOTIFY_CONSUMER_IDS_CHANGED (`ClientManageProcessor`, `ConsumerManageProcessor`,
//! `Broker2Client`).

use std::sync::Arc;

use serde_json::Value;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::broker::Broker;
use crate::broker::client_manager::{ClientChannel, SubscriptionData};
use crate::broker::topic_config::RETRY_PREFIX;
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::{PERM_READ, PERM_WRITE};
use crate::remoting::body::value_string;
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::{JsonWriter, Style};
use crate::remoting::header::broker::{ConsumerGroupRequestHeader, UnregisterClientRequestHeader};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// Tolerant JSON read of a client body: fastjson may write `{0:…}` keys or `$ref` objects.
pub(crate) fn parse_body(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    serde_json::from_str(text).ok().or_else(|| {
        serde_json::from_str(&crate::broker::consumer_offset::quote_integer_keys(text)).ok()
    })
}

/// HEART_BEAT: registers producers and consumers, creates retry topics, and tells a group's
/// members when the group changed.
pub(crate) fn heart_beat(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(body) = parse_body(&req.body) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "invalid HeartbeatData body",
        ));
    };
    let client_id = value_string(body.get("clientID")).unwrap_or_default();
    let channel = ClientChannel {
        conn: Arc::clone(conn),
        client_id,
        language: req.language,
        version: req.version,
        last_update: Instant::now(),
    };
    if let Some(Value::Array(consumers)) = body.get("consumerDataSet") {
        for c in consumers {
            let Some(group) = value_string(c.get("groupName")) else {
                continue;
            };
            let Some(g) = broker
                .groups
                .find_or_create(&group, broker.config_bool("autoCreateSubscriptionGroup"))
            else {
                continue;
            };
            let retry = format!("{RETRY_PREFIX}{group}");
            if broker.topics.get(&retry).is_none() {
                let _ =
                    broker
                        .topics
                        .ensure(&retry, g.retry_queue_nums.max(1), PERM_WRITE | PERM_READ);
                broker.notify_topics_changed();
            }
            let without_sub = body
                .get("withoutSub")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let subs: Vec<SubscriptionData> = match c.get("subscriptionDataSet") {
                Some(Value::Array(list)) => list
                    .iter()
                    .filter_map(SubscriptionData::from_value)
                    .collect(),
                // A v2 heartbeat without subscriptions keeps the stored ones.
                _ if without_sub => broker.clients.subscriptions(&group),
                _ => Vec::new(),
            };
            let outcome = broker.clients.register_consumer(
                &group,
                channel.clone(),
                &value_string(c.get("consumeType")).unwrap_or_default(),
                &value_string(c.get("messageModel")).unwrap_or_default(),
                &value_string(c.get("consumeFromWhere")).unwrap_or_default(),
                subs,
            );
            if (outcome.channel_added || outcome.subscription_changed)
                && g.notify_consumer_ids_changed_enable
            {
                info!(group = %group, peer = %conn.peer(), "consumer group changed");
                notify_consumer_ids_changed(broker, &group);
            }
        }
    }
    if let Some(Value::Array(producers)) = body.get("producerDataSet") {
        for p in producers {
            if let Some(group) = value_string(p.get("groupName")) {
                broker.clients.register_producer(&group, channel.clone());
            }
        }
    }
    let mut ext = crate::remoting::ExtFields::new();
    ext.insert("IS_SUPPORT_HEART_BEAT_V2", "true");
    ext.insert("IS_SUB_CHANGE", "true");
    Ok(RemotingCommand::success().with_ext_fields(ext))
}

/// Sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every member of `group`; broadcasting groups
/// are not told (5.x `ConsumerManager`).
pub fn notify_consumer_ids_changed(broker: &Arc<Broker>, group: &str) {
    if !broker.config_bool("notifyConsumerIdsChangedEnable") {
        return;
    }
    let Some(info) = broker.clients.consumer_group(group) else {
        return;
    };
    if info.message_model == "BROADCASTING" {
        return;
    }
    // One task walks the members (as Java's listener loops over the channels): a join in a
    // group of N costs one task, not N.
    let members: Vec<ClientChannel> = info.channels.into_values().collect();
    let group = group.to_owned();
    drop(tokio::spawn(async move {
        for ch in members {
            let header = ConsumerGroupRequestHeader {
                consumer_group: group.clone(),
            };
            let req = RemotingCommand::request(
                RequestCode::NOTIFY_CONSUMER_IDS_CHANGED.code(),
                Some(header.to_ext_fields()),
            );
            if let Err(e) = ch.conn.invoke_oneway(req).await {
                debug!(client = %ch.client_id, error = %e, "notify consumer ids changed failed");
            }
        }
    }));
}

/// UNREGISTER_CLIENT.
pub(crate) fn unregister_client(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = UnregisterClientRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let _left = broker.clients.unregister(
        conn.id(),
        h.producer_group.as_deref(),
        h.consumer_group.as_deref(),
    );
    if let Some(g) = h.consumer_group.as_deref() {
        notify_consumer_ids_changed(broker, g);
    }
    Ok(RemotingCommand::success().with_ext_fields(crate::remoting::ExtFields::new()))
}

/// GET_CONSUMER_LIST_BY_GROUP: `{"consumerIdList":[…]}`.
pub(crate) fn consumer_list_by_group(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = ConsumerGroupRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let ids = broker.clients.consumer_ids(&h.consumer_group);
    if ids.is_empty() {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        ));
    }
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object()
        .field_str_array("consumerIdList", ids.iter().map(String::as_str))
        .end_object();
    Ok(RemotingCommand::success()
        .with_ext_fields(crate::remoting::ExtFields::new())
        .with_body(w.finish().into_bytes()))
}

/// CHECK_CLIENT_CONFIG: TAG subscriptions are always fine; SQL92 needs `enablePropertyFilter` and
/// an expression that compiles (else SUBSCRIPTION_PARSE_FAILED with the parser's message).
pub(crate) fn check_client_config(
    broker: &Arc<Broker>,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    // `CheckClientRequestBody`: {clientId, group, subscriptionData: {expressionType, subString, …}}.
    let body = parse_body(&req.body);
    let sub = body.as_ref().and_then(|b| b.get("subscriptionData"));
    let ty = sub.and_then(|s| value_string(s.get("expressionType")));
    if ty.as_deref().is_some_and(|t| t != "TAG") && !broker.config_bool("enablePropertyFilter") {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "The broker does not support consumer to filter message by {}",
                ty.unwrap_or_default()
            ),
        ));
    }
    if ty.as_deref() == Some("SQL92") {
        let sql = sub
            .and_then(|s| value_string(s.get("subString")))
            .unwrap_or_default();
        if let Err(e) = crate::filter::sql92::compile(&sql) {
            return Ok(RemotingCommand::error(
                ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                e.to_string(),
            ));
        }
    }
    Ok(RemotingCommand::success())
}
