//! ACL 1.0 admin requests (Java 4.9.8 `AdminBrokerProcessor`): UPDATE_AND_CREATE_ACL_CONFIG,
//! DELETE_ACL_CONFIG, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG and GET_BROKER_CLUSTER_ACL_INFO, which
//! mqadmin 4.9's `updateAclConfig`, `deleteAclConfig`, `updateGlobalWhiteAddr` and
//! `clusterAclConfigVersion` send. Edits are written back to the yml file and reloaded.
//! (GET_BROKER_CLUSTER_ACL_CONFIG, 54, was dropped in 4.9.8 and stays unsupported.)

use std::path::PathBuf;
use std::sync::Arc;

use serde_yaml_ng::{Mapping, Value};

use crate::broker::Broker;
use crate::broker::acl::file::{self, AccountConfig};
use crate::net::ConnectionHandle;
use crate::remoting::command::ExtFields;
use crate::remoting::error::HeaderError;
use crate::remoting::fastjson::{JsonWriter, Style};
use crate::remoting::{RemotingCommand, ResponseCode};

/// 4.9.8 `ResponseCode.UPDATE_AND_CREATE_ACL_CONFIG_FAILED` (5.x reuses 209 for POLLING_FULL).
const UPDATE_FAILED: ResponseCode = ResponseCode::POLLING_FULL;
/// 4.9.8 `ResponseCode.DELETE_ACL_CONFIG_FAILED` (210).
const DELETE_FAILED: ResponseCode = ResponseCode::POLLING_TIMEOUT;
/// 4.9.8 `ResponseCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED` (211).
const WHITE_FAILED: ResponseCode = ResponseCode::BROKER_NOT_EXIST;

const DISABLED: &str = "ACL is not enabled on this broker (aclEnable=false)";

/// `UtilAll.split(str, ",")`: `None` for an absent header.
fn split(v: Option<&str>) -> Option<Vec<String>> {
    v.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// The `accounts` list of a file, made when absent.
fn accounts_of(map: &mut Mapping) -> Result<&mut Vec<Value>, String> {
    let key = Value::from("accounts");
    if !matches!(map.get(&key), Some(Value::Sequence(_))) {
        let _ = map.insert(key.clone(), Value::Sequence(Vec::new()));
    }
    match map.get_mut(&key) {
        Some(Value::Sequence(s)) => Ok(s),
        _ => Err("accounts is not a list".to_owned()),
    }
}

fn ak_of(v: &Value) -> Option<String> {
    match v {
        Value::Mapping(m) => file::account_from(m).access_key,
        _ => None,
    }
}

/// UPDATE_AND_CREATE_ACL_CONFIG (50).
pub(crate) fn update_and_create_acl_config(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(acl) = &broker.acl else {
        return Ok(RemotingCommand::error(UPDATE_FAILED, DISABLED));
    };
    let a = AccountConfig {
        access_key: req.ext("accessKey").map(str::to_owned),
        secret_key: req.ext("secretKey").map(str::to_owned),
        white_remote_address: req.ext("whiteRemoteAddress").map(str::to_owned),
        admin: req.ext("admin") == Some("true"),
        default_topic_perm: req.ext("defaultTopicPerm").map(str::to_owned),
        default_group_perm: req.ext("defaultGroupPerm").map(str::to_owned),
        topic_perms: split(req.ext("topicPerms")),
        group_perms: split(req.ext("groupPerms")),
    };
    let checked = file::check_keys(&a)
        .and_then(|()| file::check_resource_perms(a.topic_perms.as_deref()))
        .and_then(|()| file::check_resource_perms(a.group_perms.as_deref()))
        .and_then(|()| file::build_account(&a, acl.default_file()).map(|_| ()));
    if let Err(e) = checked {
        return Ok(RemotingCommand::error(UPDATE_FAILED, e));
    }
    let ak = a.access_key.clone().unwrap_or_default();
    let path = acl
        .file_of(&ak)
        .unwrap_or_else(|| acl.default_file().to_path_buf());
    let r = acl.edit_file(&path, |map| {
        let accounts = accounts_of(map)?;
        let existing = accounts
            .iter()
            .position(|v| ak_of(v).as_deref() == Some(ak.as_str()))
            .map(|i| accounts.remove(i));
        let old = match existing {
            Some(Value::Mapping(m)) => Some(m),
            _ => None,
        };
        // Java removes the old entry and appends the merged one.
        accounts.push(Value::Mapping(file::merge_account(old, &a)?));
        Ok(true)
    });
    Ok(match r {
        Ok(_) => RemotingCommand::success(),
        Err(e) => RemotingCommand::error(UPDATE_FAILED, e),
    })
}

/// DELETE_ACL_CONFIG (51).
pub(crate) fn delete_acl_config(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(acl) = &broker.acl else {
        return Ok(RemotingCommand::error(DELETE_FAILED, DISABLED));
    };
    let ak = req.ext("accessKey").unwrap_or_default().to_owned();
    let failed = || {
        RemotingCommand::error(
            DELETE_FAILED,
            format!("The accesskey[{ak}] corresponding to accessConfig has been deleted failed."),
        )
    };
    let Some(path) = acl.file_of(&ak).filter(|_| !ak.is_empty()) else {
        return Ok(failed());
    };
    let r = acl.edit_file(&path, |map| {
        let accounts = accounts_of(map)?;
        let before = accounts.len();
        accounts.retain(|v| ak_of(v).as_deref() != Some(ak.as_str()));
        Ok(accounts.len() != before)
    });
    Ok(match r {
        Ok(true) => RemotingCommand::success(),
        Ok(false) => failed(),
        Err(e) => RemotingCommand::error(DELETE_FAILED, e),
    })
}

/// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53): replaces `globalWhiteRemoteAddresses` of the default
/// file, or of `aclFileFullPath` when that is an existing yml file under `$ROCKETMQ_HOME`.
pub(crate) fn update_global_white_addrs(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(acl) = &broker.acl else {
        return Ok(RemotingCommand::error(WHITE_FAILED, DISABLED));
    };
    let addrs = req.ext("globalWhiteAddrs");
    let failed = || {
        RemotingCommand::error(
            WHITE_FAILED,
            format!(
                "The globalWhiteAddresses[{}] has been updated failed.",
                addrs.unwrap_or("null")
            ),
        )
    };
    let Some(list) = split(addrs) else {
        return Ok(failed());
    };
    for a in &list {
        if let Err(e) = crate::broker::acl::address::AddressPattern::parse(Some(a)) {
            return Ok(RemotingCommand::error(WHITE_FAILED, e.to_string()));
        }
    }
    let path = match req.ext("aclFileFullPath").filter(|p| !p.is_empty()) {
        None => acl.default_file().to_path_buf(),
        Some(p) => {
            let p = PathBuf::from(p);
            let known = acl.state().files.contains(&p);
            if !known || !p.starts_with(acl.home()) {
                return Ok(failed());
            }
            p
        }
    };
    let r = acl.edit_file(&path, |map| {
        let seq = list.iter().map(|s| Value::from(s.as_str())).collect();
        let _ = map.insert(
            Value::from("globalWhiteRemoteAddresses"),
            Value::Sequence(seq),
        );
        Ok(true)
    });
    Ok(match r {
        Ok(_) => RemotingCommand::success(),
        Err(e) => RemotingCommand::error(WHITE_FAILED, e),
    })
}

/// GET_BROKER_CLUSTER_ACL_INFO (52): the default file's DataVersion in `version`, every file's
/// in `allAclFileVersion`, and the broker's names.
pub(crate) fn get_broker_cluster_acl_info(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let Some(acl) = &broker.acl else {
        return Ok(RemotingCommand::error(ResponseCode::SYSTEM_ERROR, DISABLED));
    };
    let st = acl.state();
    let default = st
        .versions
        .iter()
        .find(|(p, _)| p.as_path() == acl.default_file())
        .map(|(_, v)| *v)
        .unwrap_or_default();
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object();
    for (p, v) in &st.versions {
        w.key(&p.display().to_string());
        v.write(&mut w);
    }
    w.end_object();
    let mut ext = ExtFields::new();
    ext.insert("version", default.to_json());
    ext.insert("allAclFileVersion", w.finish());
    ext.insert("brokerName", broker.name.clone());
    ext.insert("brokerAddr", broker.addr.clone());
    ext.insert("clusterName", broker.cluster.clone());
    Ok(RemotingCommand::success().with_ext_fields(ext))
}
