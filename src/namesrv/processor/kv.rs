//! KV requests: PUT_KV_CONFIG, GET_KV_CONFIG, DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE.

use super::success_with;
use crate::namesrv::NameServer;
use crate::net::ConnectionHandle;
use crate::remoting::body::simple::kv_table_json;
use crate::remoting::error::HeaderError;
use crate::remoting::header::namesrv::{
    GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader, KvConfigKeyRequestHeader,
    PutKvConfigRequestHeader,
};
use crate::remoting::{ExtFields, RemotingCommand, ResponseCode};

pub(super) fn put(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = match PutKvConfigRequestHeader::from_ext_fields(req.ext_fields.as_ref()) {
        Ok(h) => h,
        Err(HeaderError::Missing("namespace" | "key")) => {
            return Ok(RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                "namespace or key is null",
            ));
        }
        Err(e) => return Err(e),
    };
    Ok(match ns.kv.put(&h.namespace, &h.key, &h.value) {
        Ok(()) => RemotingCommand::success(),
        Err(e) => RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    })
}

pub(super) fn get(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = KvConfigKeyRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    Ok(match ns.kv.get(&h.namespace, &h.key) {
        Some(value) => {
            success_with(GetKvConfigResponseHeader { value: Some(value) }.to_ext_fields())
        }
        None => RemotingCommand::error(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
        )
        .with_ext_fields(ExtFields::new()),
    })
}

pub(super) fn delete(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = KvConfigKeyRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    Ok(match ns.kv.delete(&h.namespace, &h.key) {
        Ok(()) => RemotingCommand::success(),
        Err(e) => RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    })
}

pub(super) fn list_namespace(
    ns: &NameServer,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = GetKvListByNamespaceRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    Ok(match ns.kv.namespace(&h.namespace) {
        Some(table) => RemotingCommand::success().with_body(
            kv_table_json(table.iter().map(|(k, v)| (k.as_str(), v.as_str()))).into_bytes(),
        ),
        None => RemotingCommand::error(
            ResponseCode::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {}", h.namespace),
        ),
    })
}
