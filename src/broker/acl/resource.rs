//! What a request asks for (Java's `PlainAccessResource.parse`): the caller's address, access
//! key and signature, the topics and retry topics it touches with the permission each needs,
//! and the bytes `AclClientRPCHook` signed.

use std::net::IpAddr;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::broker::topic_config::RETRY_PREFIX;
use crate::remoting::RemotingCommand;
use crate::remoting::RequestCode;
use crate::remoting::command::ExtFields;

/// `SessionCredentials.ACCESS_KEY`.
pub const ACCESS_KEY: &str = "AccessKey";
/// `SessionCredentials.SECRET_KEY` (never sent; the yml field is `secretKey`).
pub const SIGNATURE: &str = "Signature";
/// `SessionCredentials.SECURITY_TOKEN`.
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`: left out of the signed content for clients up to 4.9.3.
const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";
/// `MQVersion.Version.V4_9_3.ordinal()`.
const V4_9_3: i32 = 404;

/// `Permission.DENY`.
pub const DENY: u8 = 1;
/// `Permission.ANY`.
pub const ANY: u8 = 1 << 1;
/// `Permission.PUB`.
pub const PUB: u8 = 1 << 2;
/// `Permission.SUB`.
pub const SUB: u8 = 1 << 3;

/// One parsed request.
#[derive(Debug, Clone)]
pub struct AccessResource {
    /// The caller's IP.
    pub remote: IpAddr,
    /// Request code.
    pub code: i32,
    /// `AccessKey`.
    pub access_key: Option<String>,
    /// `Signature`.
    pub signature: Option<String>,
    /// Resources (topics; groups as their retry topics) with the permission needed, in the
    /// order the request names them.
    pub perms: Vec<(String, u8)>,
    /// The signed bytes.
    pub content: Vec<u8>,
}

impl AccessResource {
    /// Records `perm` on `resource` (a later entry for the same resource replaces it, as
    /// Java's map does).
    fn add(&mut self, resource: Option<&str>, perm: u8) {
        let Some(r) = resource else { return };
        if let Some(e) = self.perms.iter_mut().find(|(k, _)| k == r) {
            e.1 = perm;
        } else {
            self.perms.push((r.to_owned(), perm));
        }
    }
}

/// `%RETRY%<group>`.
fn retry(group: Option<&str>) -> Option<String> {
    group.map(|g| format!("{RETRY_PREFIX}{g}"))
}

/// Parses `req` from `remote`; `Err` carries the message of a body that does not decode.
pub fn parse(req: &RemotingCommand, remote: IpAddr) -> Result<AccessResource, String> {
    let mut r = AccessResource {
        remote,
        code: req.code,
        access_key: None,
        signature: None,
        perms: Vec::new(),
        content: Vec::new(),
    };
    let Some(ext) = &req.ext_fields else {
        return Ok(r);
    };
    r.access_key = ext.get(ACCESS_KEY).map(str::to_owned);
    r.signature = ext.get(SIGNATURE).map(str::to_owned);
    let code = RequestCode::from_i32(req.code);
    match code {
        Some(RequestCode::SEND_MESSAGE) => send(&mut r, ext.get("topic"), ext.get("group")),
        Some(RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE) => {
            send(&mut r, ext.get("b"), ext.get("a"));
        }
        Some(RequestCode::CONSUMER_SEND_MSG_BACK) => r.add(retry(ext.get("group")).as_deref(), SUB),
        Some(RequestCode::PULL_MESSAGE) => {
            r.add(ext.get("topic"), SUB);
            r.add(retry(ext.get("consumerGroup")).as_deref(), SUB);
        }
        Some(RequestCode::QUERY_MESSAGE) => r.add(ext.get("topic"), SUB),
        Some(RequestCode::HEART_BEAT) => heartbeat(&mut r, req)?,
        Some(RequestCode::UNREGISTER_CLIENT | RequestCode::GET_CONSUMER_LIST_BY_GROUP) => {
            r.add(retry(ext.get("consumerGroup")).as_deref(), SUB);
        }
        Some(RequestCode::UPDATE_CONSUMER_OFFSET) => {
            r.add(retry(ext.get("consumerGroup")).as_deref(), SUB);
            r.add(ext.get("topic"), SUB);
        }
        _ => {}
    }
    r.content = signed_content(ext, &req.body, req.version);
    Ok(r)
}

fn send(r: &mut AccessResource, topic: Option<&str>, group: Option<&str>) {
    if topic.is_some_and(|t| t.starts_with(RETRY_PREFIX)) {
        r.add(retry(group).as_deref(), SUB);
    } else {
        r.add(topic, PUB);
    }
}

/// HEART_BEAT: every consumer group's retry topic and every subscribed topic need SUB.
fn heartbeat(r: &mut AccessResource, req: &RemotingCommand) -> Result<(), String> {
    let body = crate::broker::processor::client::parse_body(&req.body)
        .ok_or_else(|| "invalid HeartbeatData body".to_owned())?;
    let Some(consumers) = body.get("consumerDataSet").and_then(|v| v.as_array()) else {
        return Ok(());
    };
    for c in consumers {
        let group = c.get("groupName").and_then(|g| g.as_str());
        r.add(retry(group).as_deref(), SUB);
        for s in c
            .get("subscriptionDataSet")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            r.add(s.get("topic").and_then(|t| t.as_str()), SUB);
        }
    }
    Ok(())
}

/// What `AclClientRPCHook` signs: the ext field values sorted by key (without `Signature`),
/// concatenated as UTF-8, then the body.
#[must_use]
pub fn signed_content(ext: &ExtFields, body: &[u8], version: i32) -> Vec<u8> {
    let mut pairs: Vec<(&str, &str)> = ext
        .iter()
        .filter(|(k, _)| *k != SIGNATURE)
        .filter(|(k, _)| !(version <= V4_9_3 && *k == UNIQUE_MSG_QUERY_FLAG))
        .collect();
    // Java sorts with String.compareTo (UTF-16 units); for the ASCII keys of every header
    // that is byte order.
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(body.len() + 256);
    for (_, v) in pairs {
        out.extend_from_slice(v.as_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// `AclUtils.calSignature`: Base64(HmacSHA1(secret, content)).
#[must_use]
pub fn signature(content: &[u8], secret_key: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) else {
        // HMAC takes keys of any length; this branch is unreachable.
        return String::new();
    };
    mac.update(content);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `Permission.checkPermission`.
#[must_use]
pub fn allows(needed: u8, owned: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// `Permission.parsePermFromString`: anything unknown (or absent) is DENY.
#[must_use]
pub fn parse_perm(text: Option<&str>) -> u8 {
    match text.map(str::trim) {
        Some("PUB") => PUB,
        Some("SUB") => SUB,
        Some("PUB|SUB" | "SUB|PUB") => PUB | SUB,
        _ => DENY,
    }
}

/// `Permission.ADMIN_CODE` (4.9.8): the requests only an `admin: true` account may send.
#[must_use]
pub fn needs_admin(code: i32) -> bool {
    matches!(
        RequestCode::from_i32(code),
        Some(
            RequestCode::UPDATE_AND_CREATE_TOPIC
                | RequestCode::UPDATE_BROKER_CONFIG
                | RequestCode::DELETE_TOPIC_IN_BROKER
                | RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
                | RequestCode::DELETE_SUBSCRIPTIONGROUP
        )
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn perm_rules() {
        assert!(allows(PUB, PUB | SUB));
        assert!(!allows(PUB, SUB));
        assert!(!allows(SUB, DENY));
        assert!(allows(ANY, SUB));
        assert_eq!(parse_perm(Some(" SUB|PUB ")), PUB | SUB);
        assert_eq!(parse_perm(Some("READ")), DENY);
        assert_eq!(parse_perm(None), DENY);
    }

    #[test]
    fn content_is_sorted_values_then_body() {
        let ext: ExtFields = [
            ("b", "2"),
            ("Signature", "x"),
            ("a", "1"),
            ("AccessKey", "k"),
        ]
        .into_iter()
        .collect();
        assert_eq!(signed_content(&ext, b"BODY", 409), b"k12BODY".to_vec());
    }
}
