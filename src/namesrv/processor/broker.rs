//! Broker-facing requests: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION,
//! BROKER_HEARTBEAT, REGISTER_TOPIC_IN_NAMESRV, GET_BROKER_MEMBER_GROUP.

use std::time::Duration;

use serde_json::Value;

use super::success_with;
use crate::checksum::java_crc32;
use crate::namesrv::NameServer;
use crate::namesrv::route_info::{RegisterError, Registration};
use crate::net::ConnectionHandle;
use crate::remoting::body::data_version::DataVersion;
use crate::remoting::body::register_broker::RegisterBrokerBody;
use crate::remoting::body::route::QueueData;
use crate::remoting::body::simple::kv_table_json;
use crate::remoting::body::{value_i32_or, value_string};
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::{JsonWriter, Style};
use crate::remoting::header::namesrv::{
    BrokerHeartbeatRequestHeader, GetBrokerMemberGroupRequestHeader, QueryDataVersionRequestHeader,
    QueryDataVersionResponseHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
    RegisterTopicRequestHeader, UnRegisterBrokerRequestHeader,
};
use crate::remoting::{RemotingCommand, ResponseCode, version};

/// KV namespace whose table is returned to registering brokers (`NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`).
pub(super) const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Extra header key carrying the broker's zone (`MixAll.ZONE_NAME`).
const ZONE_NAME_KEY: &str = "__ZONE_NAME";

fn decode_body(req: &RemotingCommand, compressed: bool) -> Result<RegisterBrokerBody, String> {
    if req.version < version::V3_0_11 && !req.body.is_empty() {
        // Pre-3.0.11 brokers send a bare TopicConfigSerializeWrapper.
        let mut wrapped = b"{\"topicConfigSerializeWrapper\":".to_vec();
        wrapped.extend_from_slice(&req.body);
        wrapped.push(b'}');
        return RegisterBrokerBody::decode_json(&wrapped).map_err(|e| e.to_string());
    }
    RegisterBrokerBody::decode(&req.body, compressed).map_err(|e| e.to_string())
}

pub(super) fn register(
    ns: &NameServer,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = RegisterBrokerRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    if let Some(crc) = h.body_crc32.filter(|c| *c != 0)
        && java_crc32(&req.body) != crc
    {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "crc32 not match",
        ));
    }
    let body = match decode_body(req, h.compressed.unwrap_or(false)) {
        Ok(b) => b,
        Err(e) => {
            return Ok(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "org.apache.rocketmq.remoting.exception.RemotingCommandException: Failed to decode RegisterBrokerBody: {e}"
                ),
            ));
        }
    };
    let reg = Registration {
        cluster_name: h.cluster_name,
        broker_addr: h.broker_addr,
        broker_name: h.broker_name,
        broker_id: h.broker_id,
        ha_server_addr: h.ha_server_addr,
        zone_name: req.ext(ZONE_NAME_KEY).map(str::to_owned),
        timeout: h
            .heartbeat_timeout_millis
            .and_then(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis),
        enable_acting_master: h.enable_acting_master,
        body,
        conn_id: Some(conn.id()),
    };
    let result = match ns.routes.register_broker(reg) {
        Ok(r) => r,
        Err(e @ (RegisterError::Refused | RegisterError::Full(_))) => {
            return Ok(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                e.to_string(),
            ));
        }
    };
    let ext = RegisterBrokerResponseHeader {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    }
    .to_ext_fields();
    let mut resp = success_with(ext);
    if ns.flag("returnOrderTopicConfigToBroker")
        && let Some(table) = ns.kv.namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
    {
        resp.body = kv_table_json(table.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .into_bytes()
            .into();
    }
    Ok(resp)
}

pub(super) fn unregister(
    ns: &NameServer,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = UnRegisterBrokerRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    ns.routes
        .unregister_broker(&h.cluster_name, &h.broker_addr, &h.broker_name);
    Ok(RemotingCommand::success())
}

pub(super) fn query_data_version(
    ns: &NameServer,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = QueryDataVersionRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let theirs = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .filter(Value::is_object)
        .map(|v| DataVersion::from_value(&v));
    let (changed, ours) = ns
        .routes
        .query_data_version(&h.cluster_name, &h.broker_addr, theirs);
    let mut resp = success_with(QueryDataVersionResponseHeader { changed }.to_ext_fields());
    if let Some(dv) = ours {
        resp.body = dv.to_json().into_bytes().into();
    }
    Ok(resp)
}

pub(super) fn heartbeat(
    ns: &NameServer,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = BrokerHeartbeatRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let _known = ns.routes.touch(&h.cluster_name, &h.broker_addr);
    Ok(RemotingCommand::success())
}

pub(super) fn register_topic(
    ns: &NameServer,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = RegisterTopicRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "invalid TopicRouteData body",
        ));
    };
    let queue_datas: Vec<(String, QueueData)> = match v.get("queueDatas") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|q| {
                let name = value_string(q.get("brokerName"))?;
                Some((
                    name,
                    QueueData {
                        read_queue_nums: value_i32_or(q.get("readQueueNums"), 0),
                        write_queue_nums: value_i32_or(q.get("writeQueueNums"), 0),
                        perm: value_i32_or(q.get("perm"), 6),
                        topic_sys_flag: value_i32_or(q.get("topicSysFlag"), 0),
                    },
                ))
            })
            .collect(),
        _ => Vec::new(),
    };
    ns.routes.register_topic(&h.topic, &queue_datas);
    Ok(RemotingCommand::success())
}

pub(super) fn member_group(
    ns: &NameServer,
    _conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = GetBrokerMemberGroupRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let addrs = ns.routes.broker_member_group(&h.broker_name);
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object()
        .key("brokerMemberGroup")
        .begin_object()
        .key("brokerAddrs")
        .begin_object();
    for (id, addr) in &addrs {
        w.key_number(*id).string(addr);
    }
    w.end_object()
        .field_str("brokerName", &h.broker_name)
        .field_str("cluster", &h.cluster_name)
        .end_object()
        .end_object();
    // Java answers code 0 but never replaces the default remark.
    let resp = RemotingCommand::response(
        ResponseCode::SUCCESS,
        Some("not set any response code".into()),
    );
    Ok(resp.with_body(w.finish().into_bytes()))
}
