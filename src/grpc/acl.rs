//! ACL 1.0 over gRPC metadata (`aclEnable=true`), as the 5.1 proxy checked it
//! (`proxy:grpc/interceptor/AuthenticationInterceptor.java`,
//! `acl:plain/PlainAccessResource.parse(GeneratedMessageV3, AuthenticationHeader)`,
//! `acl:common/AuthorizationHeader.java` of 5.1.4; 5.3 replaced ACL 1.0 with ACL 2.0): the
//! SDKs sign the `x-mq-date-time` header with HMAC-SHA1 of their secret key and send
//! `authorization: MQv2-HMAC-SHA1 Credential=<ak>, SignedHeaders=x-mq-date-time,
//! Signature=<hex>`; each request names the topics and groups it touches with the permission it
//! needs, checked against `plain_acl.yml` by the broker's own validator. A refusal is the gRPC
//! status PERMISSION_DENIED, as the interceptor throws it.

use std::net::SocketAddr;

use tonic::metadata::MetadataMap;

use super::Endpoint;
use super::pb::{
    AckMessageRequest, ChangeInvisibleDurationRequest, ClientType, EndTransactionRequest,
    ForwardMessageToDeadLetterQueueRequest, HeartbeatRequest, NotifyClientTerminationRequest,
    QueryAssignmentRequest, QueryRouteRequest, RecallMessageRequest, ReceiveMessageRequest,
    Resource, SendMessageRequest, Settings, settings::PubSub,
};
use crate::broker::acl::resource::{ANY, AccessResource, PUB, SUB};
use crate::broker::auth::context::Wanted;
use crate::broker::auth::model::{Action, Resource as AuthResource};
use crate::broker::topic_config::RETRY_PREFIX;

/// Resources with the permission each needs, a later entry for a resource replacing an earlier
/// one (Java's map).
#[derive(Debug, Default)]
pub struct Perms(Vec<(String, u8)>);

/// `NamespaceUtil.wrapNamespace`.
fn wrapped(r: Option<&Resource>) -> String {
    match r {
        Some(r) if !r.resource_namespace.is_empty() => {
            format!("{}%{}", r.resource_namespace, r.name)
        }
        Some(r) => r.name.clone(),
        None => String::new(),
    }
}

impl Perms {
    fn put(&mut self, name: String, perm: u8) {
        if let Some(e) = self.0.iter_mut().find(|(k, _)| *k == name) {
            e.1 = perm;
        } else {
            self.0.push((name, perm));
        }
    }

    /// `addResourceAndPerm(topic, perm)`.
    fn topic(&mut self, r: Option<&Resource>, perm: u8) {
        self.put(wrapped(r), perm);
    }

    /// `addGroupResourceAndPerm(group, perm)`: the group's retry topic.
    fn group(&mut self, r: Option<&Resource>, perm: u8) {
        self.put(format!("{RETRY_PREFIX}{}", wrapped(r)), perm);
    }
}

/// What a request touches; `Err` is the message of Java's `AclException`.
pub trait Resources {
    /// Adds the request's resources to `p`.
    fn resources(&self, p: &mut Perms) -> Result<(), String>;

    /// ACL 2.0: the resources and actions 5.3.3's `DefaultAuthorizationContextBuilder` asks
    /// for (by default the ACL 1.0 resources: topics Pub or Sub, groups Sub, Any as Pub or Sub).
    fn wanted(&self) -> Result<Vec<Wanted>, String> {
        let mut p = Perms::default();
        self.resources(&mut p)?;
        Ok(p.0.iter().map(|(n, perm)| to_wanted(n, *perm)).collect())
    }
}

/// An ACL 1.0 resource and permission as an ACL 2.0 context.
fn to_wanted(name: &str, perm: u8) -> Wanted {
    if name.starts_with(RETRY_PREFIX) {
        return Wanted {
            resource: AuthResource::group(name),
            actions: vec![Action::Sub],
        };
    }
    let actions = match perm {
        PUB => vec![Action::Pub],
        SUB => vec![Action::Sub],
        _ => vec![Action::Pub, Action::Sub],
    };
    Wanted {
        resource: AuthResource::topic(name),
        actions,
    }
}

/// A group named by a request, as 5.3.3 asks for it (`newGroupSubContexts`).
fn group_sub(r: Option<&Resource>) -> Result<Wanted, String> {
    match r.filter(|r| !r.name.trim().is_empty()) {
        Some(r) => Ok(Wanted {
            resource: AuthResource::group(&r.name),
            actions: vec![Action::Sub],
        }),
        None => Err("group is null.".into()),
    }
}

impl Resources for HeartbeatRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        let consumer = self.client_type == ClientType::PushConsumer as i32
            || self.client_type == ClientType::SimpleConsumer as i32;
        if consumer {
            if self.group.is_none() {
                return Err("Consumer heartbeat doesn't have group".into());
            }
            p.group(self.group.as_ref(), SUB);
        }
        Ok(())
    }

    /// 5.3.3 also checks PULL_CONSUMER heartbeats.
    fn wanted(&self) -> Result<Vec<Wanted>, String> {
        let consumer = [
            ClientType::PushConsumer,
            ClientType::SimpleConsumer,
            ClientType::PullConsumer,
        ]
        .iter()
        .any(|t| *t as i32 == self.client_type);
        if consumer {
            Ok(vec![group_sub(self.group.as_ref())?])
        } else {
            Ok(Vec::new())
        }
    }
}

impl Resources for SendMessageRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        let Some(first) = self.messages.first() else {
            return Err("SendMessageRequest, messageCount is zero".into());
        };
        if self.messages.iter().any(|m| m.topic != first.topic) {
            return Err("SendMessageRequest, messages' topic is not consistent".into());
        }
        p.topic(first.topic.as_ref(), PUB);
        Ok(())
    }
}

impl Resources for ReceiveMessageRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        p.group(self.group.as_ref(), SUB);
        p.topic(
            self.message_queue.as_ref().and_then(|q| q.topic.as_ref()),
            SUB,
        );
        Ok(())
    }
}

/// Requests that name a group and a topic the consumer reads.
macro_rules! group_and_topic {
    ($($t:ty),*) => {$(
        impl Resources for $t {
            fn resources(&self, p: &mut Perms) -> Result<(), String> {
                p.group(self.group.as_ref(), SUB);
                p.topic(self.topic.as_ref(), SUB);
                Ok(())
            }
        }
    )*};
}
group_and_topic!(
    AckMessageRequest,
    ForwardMessageToDeadLetterQueueRequest,
    QueryAssignmentRequest
);

impl Resources for ChangeInvisibleDurationRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        p.group(self.group.as_ref(), SUB);
        p.topic(self.topic.as_ref(), SUB);
        Ok(())
    }

    /// 5.3.3 checks the group only.
    fn wanted(&self) -> Result<Vec<Wanted>, String> {
        Ok(vec![group_sub(self.group.as_ref())?])
    }
}

impl Resources for EndTransactionRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        p.topic(self.topic.as_ref(), PUB);
        Ok(())
    }
}

impl Resources for NotifyClientTerminationRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        p.group(self.group.as_ref(), SUB);
        Ok(())
    }

    /// 5.3.3: only a named group is checked.
    fn wanted(&self) -> Result<Vec<Wanted>, String> {
        Ok(
            match self.group.as_ref().filter(|g| !g.name.trim().is_empty()) {
                Some(g) => vec![group_sub(Some(g))?],
                None => Vec::new(),
            },
        )
    }
}

impl Resources for QueryRouteRequest {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        p.topic(self.topic.as_ref(), ANY);
        Ok(())
    }
}

/// Not in 5.1's list (it had no RecallMessage): the signature alone is checked.
impl Resources for RecallMessageRequest {
    fn resources(&self, _p: &mut Perms) -> Result<(), String> {
        Ok(())
    }

    /// 5.3.3 checks Pub on the topic.
    fn wanted(&self) -> Result<Vec<Wanted>, String> {
        Ok(vec![to_wanted(&wrapped(self.topic.as_ref()), PUB)])
    }
}

/// The Telemetry settings command.
impl Resources for Settings {
    fn resources(&self, p: &mut Perms) -> Result<(), String> {
        match &self.pub_sub {
            Some(PubSub::Publishing(pb)) => {
                for t in &pb.topics {
                    p.topic(Some(t), PUB);
                }
            }
            Some(PubSub::Subscription(s)) => {
                p.group(s.group.as_ref(), SUB);
                for e in &s.subscriptions {
                    p.topic(e.topic.as_ref(), SUB);
                }
            }
            None => {
                return Err("settings command doesn't have publishing or subscription".into());
            }
        }
        Ok(())
    }
}

/// `Hex.decodeHex` then `Base64.encodeBase64String`.
fn hex_to_base64(hex: &str) -> Result<String, String> {
    use base64::Engine as _;
    let digits: Vec<u32> = hex
        .chars()
        .map(|c| c.to_digit(16))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("Illegal hexadecimal character in {hex}"))?;
    if !digits.len().is_multiple_of(2) {
        return Err("Odd number of characters.".into());
    }
    let bytes: Vec<u8> = digits
        .chunks(2)
        .map(|p| match p {
            [hi, lo] => u8::try_from(hi * 16 + lo).unwrap_or(0),
            _ => 0,
        })
        .collect();
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `AuthorizationHeader(header)`: the access key and the signature (as base64).
pub fn parse_authorization(header: &str) -> Result<(Option<String>, Option<String>), String> {
    let Some((_method, rest)) = header.split_once(' ') else {
        return Err("authorization header is incorrect".into());
    };
    let (mut ak, mut sig) = (None, None);
    for kv in rest.split(',') {
        let Some((k, v)) = kv.trim().split_once('=') else {
            return Err("authorization keyValues length is incorrect, actual length=1".into());
        };
        match k {
            "Credential" => ak = v.split('/').next().map(str::to_owned),
            "Signature" => sig = Some(hex_to_base64(v)?),
            _ => {}
        }
    }
    Ok((ak, sig))
}

impl Endpoint {
    /// Checks a request against the broker's ACL (nothing when `aclEnable` is off).
    pub(crate) fn authorize<T: Resources>(
        &self,
        md: &MetadataMap,
        remote: SocketAddr,
        req: &T,
    ) -> Result<(), tonic::Status> {
        if self.broker.auth.config.enabled() {
            return self.authorize_v2(md, remote, req);
        }
        let Some(acl) = &self.broker.acl else {
            return Ok(());
        };
        let header = |k: &str| md.get(k).and_then(|v| v.to_str().ok());
        let denied = |m: String| tonic::Status::permission_denied(m);
        let (access_key, signature) = match header("authorization") {
            Some(h) => parse_authorization(h).map_err(denied)?,
            None => (None, None),
        };
        let mut perms = Perms::default();
        req.resources(&mut perms).map_err(denied)?;
        let res = AccessResource {
            remote: remote.ip(),
            code: 0,
            access_key,
            signature,
            perms: perms.0,
            content: header("x-mq-date-time")
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
        };
        acl.validate(&res).map_err(|e| denied(e.message))
    }
}

impl Endpoint {
    /// ACL 2.0 (`authenticationEnabled` / `authorizationEnabled`), as the 5.3.3 proxy's gRPC
    /// pipelines check it: the signed `x-mq-date-time` authenticates the credential's user, and
    /// each resource of the request is authorized for it ([`Resources::wanted`]). Java answers the refusal inside the response (`Code.UNAUTHORIZED`
    /// with the same message); we end the call with PERMISSION_DENIED and that message.
    fn authorize_v2<T: Resources>(
        &self,
        md: &MetadataMap,
        remote: SocketAddr,
        req: &T,
    ) -> Result<(), tonic::Status> {
        let auth = &self.broker.auth;
        let header = |k: &str| md.get(k).and_then(|v| v.to_str().ok());
        let denied = |m: String| tonic::Status::permission_denied(m);
        let (user, sig) = match header("authorization").filter(|h| !h.is_empty()) {
            None => (None, None),
            Some(h) => {
                if header("x-mq-date-time").is_none_or(str::is_empty) {
                    return Err(denied("datetime is null.".into()));
                }
                parse_authorization(h).map_err(denied)?
            }
        };
        if auth.config.authentication_enabled {
            auth.authenticate_signed(
                user.as_deref(),
                sig.as_deref(),
                header("x-mq-date-time").unwrap_or_default().as_bytes(),
            )
            .map_err(denied)?;
        }
        if auth.config.authorization_enabled {
            let ip = crate::broker::auth::source_ip(remote.ip());
            for w in &req.wanted().map_err(denied)? {
                auth.authorize(user.as_deref(), w, &ip).map_err(denied)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header() {
        let (ak, sig) = parse_authorization(
            "MQv2-HMAC-SHA1 Credential=RocketMQ, SignedHeaders=x-mq-date-time, Signature=0A0B",
        )
        .unwrap();
        assert_eq!(ak.as_deref(), Some("RocketMQ"));
        assert_eq!(sig.as_deref(), Some("Cgs="));
        assert!(parse_authorization("nospace").is_err());
        assert!(parse_authorization("M Signature=XYZ").is_err());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn acl2_contexts_as_533() {
        let r = |n: &str| {
            Some(Resource {
                resource_namespace: String::new(),
                name: n.into(),
            })
        };
        let hb = HeartbeatRequest {
            group: r("G"),
            client_type: ClientType::PullConsumer as i32,
        };
        let w = hb.wanted().unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].resource.key(), "Group:G");
        let c = ChangeInvisibleDurationRequest {
            group: r("G"),
            topic: r("T"),
            ..ChangeInvisibleDurationRequest::default()
        };
        assert_eq!(c.wanted().unwrap().len(), 1);
        let q = QueryRouteRequest {
            topic: r("T"),
            ..QueryRouteRequest::default()
        };
        let w = q.wanted().unwrap();
        assert_eq!(w[0].resource.key(), "Topic:T");
        assert_eq!(w[0].actions, [Action::Pub, Action::Sub]);
        let n = NotifyClientTerminationRequest::default();
        assert!(n.wanted().unwrap().is_empty());
    }

    #[test]
    fn groups_are_retry_topics() {
        let mut p = Perms::default();
        let r = Resource {
            resource_namespace: String::new(),
            name: "G".into(),
        };
        p.group(Some(&r), SUB);
        p.topic(Some(&r), PUB);
        p.topic(Some(&r), SUB);
        assert_eq!(p.0, [("%RETRY%G".to_owned(), SUB), ("G".to_owned(), SUB)]);
    }
}
