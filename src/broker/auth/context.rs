//! What a remoting request asks to do, for ACL 2.0 authorization: Java 5.3.3's
//! `DefaultAuthorizationContextBuilder.build(ChannelHandlerContext, RemotingCommand)`. Sends,
//! pulls, offsets, heartbeats and locks have hand-written rules; every other code is mapped
//! through the `@RocketMQAction` / `@RocketMQResource` annotations of its request header
//! ([`ANNOTATED`]). A code with neither (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
//! GET_BROKER_CONFIG, …) yields no context and so needs no permission, as in Java.

use super::model::{Action, Resource, ResourceType, is_retry_topic};
use crate::remoting::command::ExtFields;
use crate::remoting::{RemotingCommand, RequestCode};

/// One thing to authorize: a resource and the actions wanted on it (any one suffices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The resource.
    pub resource: Resource,
    /// The actions.
    pub actions: Vec<Action>,
}

/// A header field naming a resource: (field, type, splitter).
type Field = (&'static str, ResourceType, Option<&'static str>);

/// `@RocketMQAction` of a request header: (code, resource is the cluster, actions, fields).
type Annotated = (RequestCode, bool, &'static [Action], &'static [Field]);

use Action::{Create, Delete, Get, Pub, Sub, Update};
use ResourceType::{Cluster, Group, Topic};

const GROUP_TOPIC: &[Field] = &[("consumerGroup", Group, None), ("topic", Topic, None)];
const TOPIC_GROUP: &[Field] = &[("topic", Topic, None), ("group", Group, None)];
const GROUP_TOPIC2: &[Field] = &[("group", Group, None), ("topic", Topic, None)];
const TOPIC: &[Field] = &[("topic", Topic, None)];
const CONSUMER_GROUP: &[Field] = &[("consumerGroup", Group, None)];
const NONE: &[Field] = &[];

/// The broker codes whose request header carries `@RocketMQAction` (5.3.3
/// `remoting/protocol/header`), fields in declaration order.
pub static ANNOTATED: &[Annotated] = &[
    (RequestCode::ACK_MESSAGE, false, &[Sub], GROUP_TOPIC),
    (RequestCode::ADD_BROKER, true, &[Update], NONE),
    (
        RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
        false,
        &[Sub],
        GROUP_TOPIC,
    ),
    (
        RequestCode::CHECK_ROCKSDB_CQ_WRITE_PROGRESS,
        false,
        &[Get],
        TOPIC,
    ),
    (RequestCode::CHECK_TRANSACTION_STATE, false, &[Pub], TOPIC),
    (
        RequestCode::CLONE_GROUP_OFFSET,
        false,
        &[Update],
        &[("destGroup", Group, None), ("topic", Topic, None)],
    ),
    (
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        false,
        &[Sub],
        GROUP_TOPIC,
    ),
    (RequestCode::AUTH_CREATE_ACL, true, &[Update], NONE),
    (
        RequestCode::UPDATE_AND_CREATE_TOPIC_LIST,
        false,
        &[Create],
        NONE,
    ),
    (
        RequestCode::UPDATE_AND_CREATE_TOPIC,
        false,
        &[Create],
        TOPIC,
    ),
    (RequestCode::AUTH_CREATE_USER, true, &[Update], NONE),
    (RequestCode::AUTH_DELETE_ACL, true, &[Update], NONE),
    (
        RequestCode::DELETE_SUBSCRIPTIONGROUP,
        false,
        &[Delete],
        &[("groupName", Group, None)],
    ),
    (RequestCode::DELETE_TOPIC_IN_BROKER, false, &[Delete], TOPIC),
    (RequestCode::AUTH_DELETE_USER, true, &[Update], NONE),
    (RequestCode::EXCHANGE_BROKER_HA_INFO, true, &[Update], NONE),
    (
        RequestCode::EXPORT_ROCKSDB_CONFIG_TO_JSON,
        true,
        &[Get],
        NONE,
    ),
    (RequestCode::AUTH_GET_ACL, true, &[Get], NONE),
    (RequestCode::GET_ALL_PRODUCER_INFO, true, &[Get], NONE),
    (
        RequestCode::GET_ALL_TOPIC_CONFIG,
        false,
        &[Action::List],
        NONE,
    ),
    (
        RequestCode::GET_BROKER_MEMBER_GROUP,
        false,
        &[Get],
        &[("clusterName", Cluster, None)],
    ),
    (RequestCode::GET_BROKER_CONSUME_STATS, true, &[Get], NONE),
    (
        RequestCode::GET_CONSUME_STATS,
        false,
        &[Get],
        &[
            ("consumerGroup", Group, None),
            ("topic", Topic, None),
            ("topicList", Topic, Some(";")),
        ],
    ),
    (
        RequestCode::GET_CONSUMER_CONNECTION_LIST,
        false,
        &[Get],
        CONSUMER_GROUP,
    ),
    (
        RequestCode::GET_CONSUMER_RUNNING_INFO,
        false,
        &[Get],
        CONSUMER_GROUP,
    ),
    (
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
        false,
        &[Get],
        TOPIC_GROUP,
    ),
    (
        RequestCode::GET_EARLIEST_MSG_STORETIME,
        false,
        &[Get],
        TOPIC,
    ),
    (RequestCode::GET_MAX_OFFSET, false, &[Get], TOPIC),
    (RequestCode::GET_MIN_OFFSET, false, &[Get], TOPIC),
    (
        RequestCode::GET_PRODUCER_CONNECTION_LIST,
        true,
        &[Get],
        NONE,
    ),
    (
        RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG,
        false,
        &[Get],
        &[("group", Group, None)],
    ),
    (RequestCode::GET_TOPIC_CONFIG, false, &[Get], TOPIC),
    (RequestCode::GET_TOPIC_STATS_INFO, false, &[Get], TOPIC),
    (
        RequestCode::GET_TOPICS_BY_CLUSTER,
        false,
        &[Action::List],
        NONE,
    ),
    (RequestCode::AUTH_GET_USER, true, &[Get], NONE),
    (RequestCode::AUTH_LIST_ACL, true, &[Get], NONE),
    (RequestCode::AUTH_LIST_USER, true, &[Get], NONE),
    (RequestCode::NOTIFICATION, false, &[Sub], GROUP_TOPIC),
    (
        RequestCode::NOTIFY_BROKER_ROLE_CHANGED,
        true,
        &[Update],
        NONE,
    ),
    (
        RequestCode::NOTIFY_CONSUMER_IDS_CHANGED,
        false,
        &[Sub],
        CONSUMER_GROUP,
    ),
    (
        RequestCode::NOTIFY_MIN_BROKER_ID_CHANGE,
        true,
        &[Update],
        NONE,
    ),
    (
        RequestCode::PEEK_MESSAGE,
        false,
        &[Sub],
        &[("topic", Topic, None), ("consumerGroup", Group, None)],
    ),
    (RequestCode::POLLING_INFO, false, &[Get], GROUP_TOPIC),
    (RequestCode::POP_MESSAGE, false, &[Sub], GROUP_TOPIC),
    (
        RequestCode::QUERY_CONSUME_QUEUE,
        false,
        &[Get],
        &[("topic", Topic, None), ("consumerGroup", Group, None)],
    ),
    (
        RequestCode::QUERY_CONSUME_TIME_SPAN,
        false,
        &[Get],
        TOPIC_GROUP,
    ),
    (
        RequestCode::QUERY_CORRECTION_OFFSET,
        false,
        &[Get],
        &[
            ("filterGroups", Group, Some(",")),
            ("compareGroup", Group, None),
            ("topic", Topic, None),
        ],
    ),
    (
        RequestCode::QUERY_SUBSCRIPTION_BY_CONSUMER,
        false,
        &[Get],
        GROUP_TOPIC2,
    ),
    (
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
        false,
        &[Get],
        TOPIC,
    ),
    (
        RequestCode::QUERY_TOPICS_BY_CONSUMER,
        false,
        &[Get],
        &[("group", Group, None)],
    ),
    (
        RequestCode::REMOVE_BROKER,
        true,
        &[Update],
        &[("brokerClusterName", Cluster, None)],
    ),
    (
        RequestCode::RESET_MASTER_FLUSH_OFFSET,
        true,
        &[Update],
        NONE,
    ),
    (
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        false,
        &[Update],
        GROUP_TOPIC2,
    ),
    (
        RequestCode::RESUME_CHECK_HALF_MESSAGE,
        false,
        &[Update],
        TOPIC,
    ),
    (
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        false,
        &[Get],
        TOPIC,
    ),
    (
        RequestCode::UPDATE_AND_GET_GROUP_FORBIDDEN,
        false,
        &[Update],
        GROUP_TOPIC2,
    ),
    (RequestCode::AUTH_UPDATE_ACL, true, &[Update], NONE),
    (RequestCode::AUTH_UPDATE_USER, true, &[Update], NONE),
    (RequestCode::VIEW_BROKER_STATS_DATA, true, &[Get], NONE),
    (RequestCode::VIEW_MESSAGE_BY_ID, false, &[Get], TOPIC),
];

fn want(out: &mut Vec<Wanted>, resource: Resource, actions: &[Action]) {
    out.push(Wanted {
        resource,
        actions: actions.to_vec(),
    });
}

fn group_of(v: Option<&str>) -> Resource {
    Resource::group(v.unwrap_or("null"))
}

fn topic_of(v: Option<&str>) -> Resource {
    Resource::topic(v.unwrap_or("null"))
}

/// The contexts of `req` (empty: nothing to authorize). `Err` is Java's "parse authorization
/// context error." for a body that does not decode.
pub fn build(req: &RemotingCommand, cluster: &str) -> Result<Vec<Wanted>, String> {
    let mut out = Vec::new();
    let Some(ext) = req.ext_fields.as_ref().filter(|e| !e.is_empty()) else {
        return Ok(out);
    };
    let f = |k: &str| ext.get(k);
    let retry = |v: Option<&str>| v.is_some_and(is_retry_topic);
    let not_blank = |v: Option<&str>| v.is_some_and(|s| !s.trim().is_empty());
    match RequestCode::from_i32(req.code) {
        Some(RequestCode::SEND_MESSAGE) => send(&mut out, f("topic"), f("group"), retry, not_blank),
        Some(RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE) => {
            send(&mut out, f("b"), f("a"), retry, not_blank);
        }
        Some(RequestCode::RECALL_MESSAGE) => want(&mut out, topic_of(f("topic")), &[Pub]),
        Some(RequestCode::END_TRANSACTION) if not_blank(f("topic")) => {
            want(&mut out, topic_of(f("topic")), &[Pub]);
        }
        Some(RequestCode::END_TRANSACTION) => {}
        Some(RequestCode::CONSUMER_SEND_MSG_BACK) => want(&mut out, group_of(f("group")), &[Sub]),
        Some(RequestCode::PULL_MESSAGE) => {
            if !retry(f("topic")) {
                want(&mut out, topic_of(f("topic")), &[Sub]);
            }
            want(&mut out, group_of(f("consumerGroup")), &[Sub]);
        }
        Some(RequestCode::QUERY_MESSAGE) => want(&mut out, topic_of(f("topic")), &[Sub, Get]),
        Some(RequestCode::HEART_BEAT) => heartbeat(&mut out, req)?,
        Some(RequestCode::UNREGISTER_CLIENT) if not_blank(f("consumerGroup")) => {
            want(&mut out, group_of(f("consumerGroup")), &[Sub]);
        }
        Some(RequestCode::UNREGISTER_CLIENT) => {}
        Some(RequestCode::GET_CONSUMER_LIST_BY_GROUP) => {
            want(&mut out, group_of(f("consumerGroup")), &[Sub, Get]);
        }
        Some(RequestCode::QUERY_CONSUMER_OFFSET) => {
            if !retry(f("topic")) {
                want(&mut out, topic_of(f("topic")), &[Sub, Get]);
            }
            want(&mut out, group_of(f("consumerGroup")), &[Sub, Get]);
        }
        Some(RequestCode::UPDATE_CONSUMER_OFFSET) => {
            if !retry(f("topic")) {
                want(&mut out, topic_of(f("topic")), &[Sub, Update]);
            }
            want(&mut out, group_of(f("consumerGroup")), &[Sub, Update]);
        }
        Some(RequestCode::LOCK_BATCH_MQ | RequestCode::UNLOCK_BATCH_MQ) => locks(&mut out, req)?,
        Some(code) => annotated(&mut out, code, ext, cluster),
        None => {}
    }
    Ok(out)
}

fn send(
    out: &mut Vec<Wanted>,
    topic: Option<&str>,
    group: Option<&str>,
    retry: impl Fn(Option<&str>) -> bool,
    not_blank: impl Fn(Option<&str>) -> bool,
) {
    if retry(topic) {
        let g = if not_blank(group) { group } else { topic };
        want(out, group_of(g), &[Sub]);
    } else {
        want(out, topic_of(topic), &[Pub]);
    }
}

/// HEART_BEAT: each consumer group and each subscribed (non-retry) topic needs Sub; a
/// producer-only heartbeat needs nothing.
fn heartbeat(out: &mut Vec<Wanted>, req: &RemotingCommand) -> Result<(), String> {
    let body = crate::broker::processor::client::parse_body(&req.body)
        .ok_or_else(|| "parse authorization context error.".to_owned())?;
    for c in body
        .get("consumerDataSet")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        want(
            out,
            group_of(c.get("groupName").and_then(|g| g.as_str())),
            &[Sub],
        );
        for s in c
            .get("subscriptionDataSet")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let t = s.get("topic").and_then(|t| t.as_str());
            if t.is_some_and(is_retry_topic) {
                continue;
            }
            want(out, topic_of(t), &[Sub]);
        }
    }
    Ok(())
}

/// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ: the group and each queue's (non-retry) topic need Sub.
fn locks(out: &mut Vec<Wanted>, req: &RemotingCommand) -> Result<(), String> {
    let body = crate::broker::processor::client::parse_body(&req.body)
        .ok_or_else(|| "parse authorization context error.".to_owned())?;
    want(
        out,
        group_of(body.get("consumerGroup").and_then(|g| g.as_str())),
        &[Sub],
    );
    for mq in body
        .get("mqSet")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let t = mq.get("topic").and_then(|t| t.as_str());
        if t.is_some_and(is_retry_topic) {
            continue;
        }
        want(out, topic_of(t), &[Sub]);
    }
    Ok(())
}

/// `buildContextByAnnotation`.
fn annotated(out: &mut Vec<Wanted>, code: RequestCode, ext: &ExtFields, cluster: &str) {
    let Some((_, on_cluster, actions, fields)) = ANNOTATED.iter().find(|a| a.0 == code) else {
        return;
    };
    for (name, rtype, splitter) in *fields {
        let Some(value) = ext.get(name) else { continue };
        let values: Vec<&str> = match splitter {
            // `StringUtils.split`: empty pieces dropped.
            Some(s) => value.split(s).filter(|v| !v.is_empty()).collect(),
            None => vec![value],
        };
        for v in values {
            let r = if *rtype == Topic && is_retry_topic(v) {
                Resource::group(v)
            } else {
                Resource::literal(*rtype, v)
            };
            want(out, r, actions);
        }
    }
    if out.is_empty() && *on_cluster {
        want(out, Resource::literal(Cluster, cluster), actions);
    }
}
