//! ACL 2.0 admin requests (Java 5.3.3 `AdminBrokerProcessor`): AUTH_CREATE_USER (3001) ..
//! AUTH_LIST_ACL (3010), which mqadmin's `createUser` … `listAcl` (and `copyUser`, `copyAcl`)
//! send. Headers carry `username` / `filter` / `subject` / `policyType` / `resource` /
//! `subjectFilter` / `resourceFilter`; bodies are `UserInfo` and `AclInfo` JSON. A refusal from
//! the metadata rules is NO_PERMISSION with Java's message; the store is [`crate::broker::auth`].
//!
//! They answer whether or not authentication is on, as Java's broker does once its local
//! metadata providers are configured.

use std::sync::Arc;

use crate::broker::Broker;
use crate::broker::acl::resource::ACCESS_KEY;
use crate::broker::auth::model::{
    Acl, AclInfo, PolicyType, Resource, User, UserInfo, UserType, subject_of,
};
use crate::broker::auth::store::AuthError;
use crate::net::ConnectionHandle;
use crate::remoting::error::HeaderError;
use crate::remoting::{RemotingCommand, ResponseCode};

type Answer = Result<RemotingCommand, HeaderError>;

/// `handleAuthException`.
fn refused(e: &AuthError) -> RemotingCommand {
    match e {
        AuthError::Denied(m) => RemotingCommand::error(ResponseCode::NO_PERMISSION, m.clone()),
        AuthError::System(m) => RemotingCommand::error(ResponseCode::SYSTEM_ERROR, m.clone()),
    }
}

fn done(r: Result<(), AuthError>) -> Answer {
    Ok(r.map_or_else(|e| refused(&e), |()| RemotingCommand::success()))
}

fn json_body<T: serde::Serialize>(v: &T) -> RemotingCommand {
    match serde_json::to_vec(v) {
        Ok(b) => RemotingCommand::success().with_body(b),
        Err(e) => RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string()),
    }
}

/// The request's JSON body, or Java's answer to a body that is missing (a NullPointerException
/// of `RemotingSerializable.decode`, answered as a system error).
fn body<T: serde::de::DeserializeOwned>(req: &RemotingCommand) -> Result<T, RemotingCommand> {
    let v = crate::broker::processor::client::parse_body(&req.body).ok_or_else(|| {
        RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "java.lang.NullPointerException: the request body is missing or not JSON",
        )
    })?;
    serde_json::from_value(v)
        .map_err(|e| RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string()))
}

/// `isNotSuperUserLogin`: a signed request from a user who is not super. An unsigned request
/// (authentication off) counts as super, as in Java.
fn not_super_login(broker: &Broker, req: &RemotingCommand) -> Result<bool, RemotingCommand> {
    let Some(ak) = req.ext(ACCESS_KEY).filter(|a| !a.is_empty()) else {
        return Ok(false);
    };
    broker.auth.store.is_super(ak).map(|s| !s).map_err(|e| {
        // Java: the exception escapes the handler (`join`), answered as a system error.
        RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "java.util.concurrent.CompletionException: org.apache.rocketmq.auth.authentication.exception.AuthenticationException: {e}"
            ),
        )
    })
}

fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

/// AUTH_CREATE_USER (3001).
pub(crate) fn create_user(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    user_change(b, req, true)
}

/// AUTH_UPDATE_USER (3002).
pub(crate) fn update_user(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    user_change(b, req, false)
}

fn user_change(b: &Arc<Broker>, req: &RemotingCommand, create: bool) -> Answer {
    let Some(name) = req.ext("username").filter(|n| !n.is_empty()) else {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            "The username is blank",
        ));
    };
    let mut info: UserInfo = match body(req) {
        Ok(i) => i,
        Err(r) => return Ok(r),
    };
    info.username = Some(name.to_owned());
    let user = User::from_info(&info);
    let verb = if create { "create" } else { "update" };
    if user.user_type == Some(UserType::Super) {
        match not_super_login(b, req) {
            Err(r) => return Ok(r),
            Ok(true) => {
                return Ok(RemotingCommand::error(
                    ResponseCode::SYSTEM_ERROR,
                    format!("The super user can only be {verb} by super user"),
                ));
            }
            Ok(false) => {}
        }
    }
    let store = &b.auth.store;
    if create {
        return done(store.create_user(user));
    }
    match store.user(name) {
        None => done(Err(AuthError::Denied("The user is not exist".into()))),
        Some(old) if old.user_type == Some(UserType::Super) => match not_super_login(b, req) {
            // Inside Java's future chain: the cause's message, NO_PERMISSION.
            Err(_) => done(Err(AuthError::Denied(format!(
                "User:{} is not found",
                req.ext(ACCESS_KEY).unwrap_or_default()
            )))),
            Ok(true) => done(Err(AuthError::Denied(
                "The super user can only be update by super user".into(),
            ))),
            Ok(false) => done(store.update_user(user)),
        },
        Some(_) => done(store.update_user(user)),
    }
}

/// AUTH_DELETE_USER (3003): an unknown user is a success.
pub(crate) fn delete_user(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    let name = req.ext("username").unwrap_or_default();
    if blank(Some(name)) {
        return done(Err(AuthError::Denied("username can not be blank".into())));
    }
    let Some(user) = b.auth.store.user(name) else {
        return Ok(RemotingCommand::success());
    };
    if user.user_type == Some(UserType::Super) {
        match not_super_login(b, req) {
            // Inside Java's future chain: the cause's message, NO_PERMISSION.
            Err(_) => {
                return done(Err(AuthError::Denied(format!(
                    "User:{} is not found",
                    req.ext(ACCESS_KEY).unwrap_or_default()
                ))));
            }
            Ok(true) => {
                return done(Err(AuthError::Denied(
                    "The super user can only be update by super user".into(),
                )));
            }
            Ok(false) => {}
        }
    }
    done(b.auth.store.delete_user(name))
}

/// AUTH_GET_USER (3004): SUCCESS without a body for an unknown user.
pub(crate) fn get_user(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    let name = req.ext("username");
    if blank(name) {
        return Ok(RemotingCommand::error(
            ResponseCode::INVALID_PARAMETER,
            "The username is blank",
        ));
    }
    Ok(match b.auth.store.user(name.unwrap_or_default()) {
        Some(u) => json_body(&u.to_info()),
        None => RemotingCommand::success(),
    })
}

/// AUTH_LIST_USER (3005): users whose name contains `filter`; no body when none.
pub(crate) fn list_user(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    let users = b.auth.store.list_users(req.ext("filter"));
    if users.is_empty() {
        return Ok(RemotingCommand::success());
    }
    let infos: Vec<UserInfo> = users.iter().map(User::to_info).collect();
    Ok(json_body(&infos))
}

/// AUTH_CREATE_ACL (3006).
pub(crate) fn create_acl(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    acl_change(b, req, "createAcl(AdminBrokerProcessor.java:3158)")
}

/// AUTH_UPDATE_ACL (3007): the same as create in 5.3.3 (both merge into existing rules).
pub(crate) fn update_acl(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    acl_change(b, req, "updateAcl(AdminBrokerProcessor.java:3185)")
}

fn acl_change(b: &Arc<Broker>, req: &RemotingCommand, frame: &str) -> Answer {
    let header_subject = subject_of(req.ext("subject"));
    let info: Option<AclInfo> = crate::broker::processor::client::parse_body(&req.body)
        .and_then(|v| serde_json::from_value(v).ok());
    let Some(info) = info.filter(|i| i.policies.as_ref().is_some_and(|p| !p.is_empty())) else {
        // Thrown outside the future chain: the remoting layer's `exceptionSimpleDesc`.
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "org.apache.rocketmq.auth.authorization.exception.AuthorizationException: The body of acl is null, org.apache.rocketmq.broker.processor.AdminBrokerProcessor.{frame}"
            ),
        ));
    };
    let mut acl = Acl::from_info(&info);
    if acl.subject.is_none() {
        acl.subject = header_subject;
    }
    done(b.auth.store.create_acl(acl))
}

/// AUTH_DELETE_ACL (3008): one resource's entry (header `resource`, `policyType`), or the
/// subject's whole ACL.
pub(crate) fn delete_acl(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    let subject = subject_of(req.ext("subject"));
    let policy_type = PolicyType::by_name(req.ext("policyType"));
    let resource = Resource::parse(req.ext("resource"));
    done(
        b.auth
            .store
            .delete_acl(subject.as_deref(), policy_type, resource.as_ref()),
    )
}

/// AUTH_GET_ACL (3009): SUCCESS without a body when the user has no rules.
pub(crate) fn get_acl(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    let Some(subject) = subject_of(req.ext("subject")) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "java.lang.NullPointerException: the subject is not User:<name>",
        ));
    };
    Ok(match b.auth.store.get_acl(&subject) {
        Ok(Some(acl)) => json_body(&acl.to_info()),
        Ok(None) => RemotingCommand::success(),
        Err(e) => refused(&e),
    })
}

/// AUTH_LIST_ACL (3010).
pub(crate) fn list_acl(b: &Arc<Broker>, _c: &ConnectionHandle, req: &RemotingCommand) -> Answer {
    let acls = b
        .auth
        .store
        .list_acls(req.ext("subjectFilter"), req.ext("resourceFilter"));
    if acls.is_empty() {
        return Ok(RemotingCommand::success());
    }
    let infos: Vec<AclInfo> = acls.iter().map(Acl::to_info).collect();
    Ok(json_body(&infos))
}
