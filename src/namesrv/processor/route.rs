//! Route and registry queries: GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO, the topic lists,
//! WIPE/ADD_WRITE_PERM_OF_BROKER, DELETE_TOPIC_IN_NAMESRV.

use super::success_with;
use crate::namesrv::NameServer;
use crate::net::ConnectionHandle;
use crate::remoting::body::simple::topic_list_json;
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::Style;
use crate::remoting::header::namesrv::{
    AddWritePermOfBrokerResponseHeader, BrokerNameRequestHeader,
    DeleteTopicFromNamesrvRequestHeader, GetRouteInfoRequestHeader,
    GetTopicsByClusterRequestHeader, WipeWritePermOfBrokerResponseHeader,
};
use crate::remoting::{RemotingCommand, ResponseCode, version};

/// `FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL)` in 5.3.3.
const APPLY_TOPIC_FAQ: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// TopicSysFlag bit: unit topic.
const FLAG_UNIT: i32 = 1;
/// TopicSysFlag bit: has unit subscription.
const FLAG_UNIT_SUB: i32 = 2;

fn disabled() -> RemotingCommand {
    RemotingCommand::error(ResponseCode::SYSTEM_ERROR, "disable")
}

fn topic_list(topics: &[String], broker_addr: Option<&str>) -> RemotingCommand {
    RemotingCommand::success()
        .with_body(topic_list_json(topics.iter().map(String::as_str), broker_addr).into_bytes())
}

pub(super) fn route_by_topic(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = GetRouteInfoRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let Some(mut route) = ns.routes.pickup_topic_route_data(&h.topic) else {
        return Ok(RemotingCommand::error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!(
                "No topic route info in name server for the topic: {}{APPLY_TOPIC_FAQ}",
                h.topic
            ),
        ));
    };
    if ns.flag("orderMessageEnable") {
        route.order_topic_conf = ns
            .kv
            .get(super::broker::NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic);
    }
    // Callers from V4_9_4 on, or asking for it, get standard JSON; older ones (Go announces
    // V4_5_2) get fastjson's default text with unquoted numeric keys.
    let style = if req.version >= version::V4_9_4 || h.accept_standard_json_only == Some(true) {
        Style::Browser
    } else {
        Style::Default
    };
    Ok(RemotingCommand::success().with_body(route.to_json(style).into_bytes()))
}

pub(super) fn cluster_info(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(RemotingCommand::success().with_body(ns.routes.cluster_info().to_json().into_bytes()))
}

pub(super) fn wipe_write_perm(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = BrokerNameRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let count = ns.routes.update_write_perm(&h.broker_name, true);
    Ok(success_with(
        WipeWritePermOfBrokerResponseHeader {
            wipe_topic_count: count,
        }
        .to_ext_fields(),
    ))
}

pub(super) fn add_write_perm(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = BrokerNameRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let count = ns.routes.update_write_perm(&h.broker_name, false);
    Ok(success_with(
        AddWritePermOfBrokerResponseHeader {
            add_topic_count: count,
        }
        .to_ext_fields(),
    ))
}

pub(super) fn all_topics(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    if !ns.flag("enableAllTopicList") {
        return Ok(disabled());
    }
    Ok(topic_list(&ns.routes.all_topics(), None))
}

pub(super) fn delete_topic(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = DeleteTopicFromNamesrvRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    ns.routes.delete_topic(&h.topic, h.cluster_name.as_deref());
    Ok(RemotingCommand::success())
}

pub(super) fn topics_by_cluster(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    if !ns.flag("enableTopicList") {
        return Ok(disabled());
    }
    let h = GetTopicsByClusterRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    Ok(topic_list(&ns.routes.topics_by_cluster(&h.cluster), None))
}

pub(super) fn system_topics(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let (topics, addr) = ns.routes.system_topic_list();
    Ok(topic_list(&topics, addr.as_deref()))
}

fn unit_list(ns: &NameServer, pred: impl Fn(i32) -> bool) -> RemotingCommand {
    if !ns.flag("enableTopicList") {
        return disabled();
    }
    topic_list(&ns.routes.topics_by_sys_flag(pred), None)
}

pub(super) fn unit_topics(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(unit_list(ns, |f| f & FLAG_UNIT != 0))
}

pub(super) fn has_unit_sub_topics(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(unit_list(ns, |f| f & FLAG_UNIT_SUB != 0))
}

pub(super) fn has_unit_sub_ununit_topics(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(unit_list(ns, |f| {
        f & FLAG_UNIT == 0 && f & FLAG_UNIT_SUB != 0
    }))
}
