//! ACL 2.0 (Java 5.3.3's `auth` module with the broker's `AuthenticationPipeline` and
//! `AuthorizationPipeline`): users who sign requests with `AclClientRPCHook` (username = access
//! key, password = secret key), and per-user rules over topics, groups and the cluster.
//!
//! * Authentication (`authenticationEnabled`): every request not in `authenticationWhitelist`
//!   must carry `AccessKey` and a valid `Signature` of an enabled user
//!   (`DefaultAuthenticationHandler`).
//! * Authorization (`authorizationEnabled`): the request's resources and actions
//!   ([`context::build`]) are checked for the signing user: super users pass; otherwise the
//!   best-ranked matching entry of the user's Custom policy (else Default policy) decides, and
//!   no matching entry is a refusal (`UserAuthorizationHandler`, `AclAuthorizationHandler`).
//! * Refusals are NO_PERMISSION (16) with the exception message as remark, before any handler
//!   runs (authentication first).
//!
//! Users and rules live in [`store::AuthStore`] and are managed through the AUTH_* requests
//! (`processor/auth.rs`). When either flag is on, ACL 1.0 (`aclEnable`) is not consulted: Java
//! 5.3.3 has no ACL 1.0 at all.

pub mod context;
pub mod migrate;
pub mod model;
pub mod store;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;
use tracing::{debug, info};

use crate::broker::acl::resource::{ACCESS_KEY, SIGNATURE, signature, signed_content};
use crate::config::table::ConfigValues;
use crate::remoting::RemotingCommand;
use context::Wanted;
use model::{Decision, PolicyEntry, PolicyType, ResourcePattern, ResourceType, User, UserType};
use store::AuthStore;

/// `AuthConfig` as the broker reads it from its config file.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// `authenticationEnabled`.
    pub authentication_enabled: bool,
    /// `authorizationEnabled`.
    pub authorization_enabled: bool,
    /// `authenticationWhitelist`: request codes that skip authentication.
    pub authentication_whitelist: Vec<String>,
    /// `authorizationWhitelist`: request codes that skip authorization.
    pub authorization_whitelist: Vec<String>,
    /// `initAuthenticationUser`: JSON `{"username":…,"password":…}` of a super user to create.
    pub init_user: String,
    /// `innerClientAuthenticationCredentials`: JSON `{"accessKey":…,"secretKey":…}`, a super user
    /// created at start and the credentials this broker signs its own requests with.
    pub inner_credentials: String,
    /// `brokerClusterName` (the `Cluster:<name>` resource of cluster-wide requests).
    pub cluster: String,
}

fn codes(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

impl AuthConfig {
    /// Reads the keys from the broker config.
    #[must_use]
    pub fn from_config(c: &ConfigValues) -> Self {
        Self {
            authentication_enabled: c.get_bool("authenticationEnabled"),
            authorization_enabled: c.get_bool("authorizationEnabled"),
            authentication_whitelist: codes(c.get("authenticationWhitelist")),
            authorization_whitelist: codes(c.get("authorizationWhitelist")),
            init_user: c.get("initAuthenticationUser").trim().to_owned(),
            inner_credentials: c
                .get("innerClientAuthenticationCredentials")
                .trim()
                .to_owned(),
            cluster: c.get("brokerClusterName").to_owned(),
        }
    }

    /// Is either check on?
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.authentication_enabled || self.authorization_enabled
    }
}

/// `SessionCredentials` JSON.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    access_key: Option<String>,
    secret_key: Option<String>,
}

/// The ACL 2.0 engine of one broker.
#[derive(Debug)]
pub struct Auth {
    /// Settings.
    pub config: AuthConfig,
    /// Users and rules.
    pub store: AuthStore,
    /// Credentials this broker signs its own requests with.
    inner: Option<(String, String)>,
}

impl Auth {
    /// Opens the store under `config_dir` and creates the init and inner users
    /// (`AuthenticationMetadataManagerImpl.initUser`: only when absent).
    pub fn open(config: AuthConfig, config_dir: &Path) -> Result<Self, String> {
        let store = AuthStore::open(config_dir)?;
        if !config.init_user.is_empty() {
            let info: model::UserInfo = serde_json::from_str(&config.init_user)
                .map_err(|e| format!("Init authentication user error: {e}"))?;
            let mut user = User::from_info(&info);
            user.user_type = Some(UserType::Super);
            if store.user(&user.username).is_none() {
                store
                    .create_user(user)
                    .map_err(|e| format!("Init authentication user error: {e}"))?;
            }
        }
        let mut inner = None;
        if !config.inner_credentials.is_empty() {
            let c: Credentials = serde_json::from_str(&config.inner_credentials)
                .map_err(|e| format!("Init inner client authentication credentials error: {e}"))?;
            let (ak, sk) = (
                c.access_key.unwrap_or_default(),
                c.secret_key.unwrap_or_default(),
            );
            if store.user(&ak).is_none() {
                store
                    .create_user(User {
                        username: ak.clone(),
                        password: Some(sk.clone()),
                        user_type: Some(UserType::Super),
                        user_status: None,
                    })
                    .map_err(|e| {
                        format!("Init inner client authentication credentials error: {e}")
                    })?;
            }
            inner = Some((ak, sk));
        }
        info!(
            authentication = config.authentication_enabled,
            authorization = config.authorization_enabled,
            users = store.list_users(None).len(),
            file = %store.users_file().display(),
            "ACL 2.0 loaded"
        );
        Ok(Self {
            config,
            store,
            inner,
        })
    }

    /// Signs a request this broker sends (Java: `BrokerOuterAPI`'s `AclClientRPCHook` with
    /// `innerClientAuthenticationCredentials`); nothing without credentials.
    pub fn sign(&self, req: &mut RemotingCommand) {
        let Some((ak, sk)) = &self.inner else { return };
        let mut ext = req.ext_fields.take().unwrap_or_default();
        ext.insert(ACCESS_KEY, ak.clone());
        let content = signed_content(&ext, &req.body, req.version);
        ext.insert(SIGNATURE, signature(&content, sk));
        req.ext_fields = Some(ext);
    }

    /// The pipeline: authentication, then authorization. `Err` is the NO_PERMISSION remark.
    pub fn check(&self, req: &RemotingCommand, peer: SocketAddr) -> Result<(), String> {
        let code = req.code.to_string();
        if self.config.authentication_enabled
            && !self.config.authentication_whitelist.contains(&code)
        {
            self.authenticate(req)?;
        }
        if self.config.authorization_enabled && !self.config.authorization_whitelist.contains(&code)
        {
            let wanted = context::build(req, &self.config.cluster)?;
            let ip = source_ip(peer.ip());
            let user = req.ext(ACCESS_KEY);
            for w in &wanted {
                self.authorize(user, w, &ip)?;
            }
        }
        Ok(())
    }

    /// `DefaultAuthenticationHandler` for a remoting request.
    fn authenticate(&self, req: &RemotingCommand) -> Result<(), String> {
        let content = req
            .ext_fields
            .as_ref()
            .map_or_else(Vec::new, |e| signed_content(e, &req.body, req.version));
        self.authenticate_signed(req.ext(ACCESS_KEY), req.ext(SIGNATURE), &content)
    }

    /// `DefaultAuthenticationHandler`: `user` signed `content` with `signature` (base64)?
    pub fn authenticate_signed(
        &self,
        user: Option<&str>,
        signature_b64: Option<&str>,
        content: &[u8],
    ) -> Result<(), String> {
        let Some(name) = user.filter(|n| !n.is_empty()) else {
            return Err("username cannot be null.".to_owned());
        };
        let Some(u) = self.store.user(name) else {
            return Err(format!("User:{name} is not found."));
        };
        if u.user_status == Some(model::UserStatus::Disable) {
            return Err(format!("User:{name} is disabled."));
        }
        let expected = signature(content, u.password.as_deref().unwrap_or_default());
        if signature_b64 != Some(expected.as_str()) {
            debug!(user = name, "ACL 2.0 signature mismatch");
            return Err("check signature failed.".to_owned());
        }
        Ok(())
    }

    /// `UserAuthorizationHandler` then `AclAuthorizationHandler` for one context.
    pub fn authorize(&self, user: Option<&str>, w: &Wanted, ip: &str) -> Result<(), String> {
        let Some(name) = user else {
            // Java: a NullPointerException on the missing subject, wrapped.
            return Err(
                "Authorization failed. Please verify your access rights and try again.".to_owned(),
            );
        };
        let Some(u) = self.store.user(name) else {
            return Err(format!("User:{name} not found."));
        };
        if u.user_type == Some(UserType::Super) {
            return Ok(());
        }
        let subject = User::subject_key(name);
        let refuse = |detail: &str| {
            format!(
                "{subject} has no permission to access {} from {ip}, {detail}",
                w.resource.key()
            )
        };
        let entries = self.store.with_acl(&subject, |acl| {
            let acl = acl?;
            let matching = |t: PolicyType| -> Vec<PolicyEntry> {
                acl.policy(t)
                    .map(|p| {
                        p.entries
                            .iter()
                            .filter(|e| e.resource.as_ref().is_some_and(|r| r.matches(&w.resource)))
                            .filter(|e| e.matches_actions(&w.actions))
                            .filter(|e| e.matches_source(ip))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let custom = matching(PolicyType::Custom);
            Some(if custom.is_empty() {
                matching(PolicyType::Default)
            } else {
                custom
            })
        });
        let Some(mut entries) = entries else {
            return Err(refuse("no matched policies."));
        };
        java_sort(&mut entries);
        match entries.first() {
            None => Err(refuse("no matched policies.")),
            Some(e) if e.decision == Some(Decision::Deny) => Err(refuse("the decision is deny.")),
            Some(_) => Ok(()),
        }
    }
}

/// The caller's address as Java prints it (`InetAddress.getHostAddress`: IPv6 uncompressed).
#[must_use]
pub fn source_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => v
            .to_ipv4_mapped()
            .map(|m| m.to_string())
            .unwrap_or_else(|| {
                v.segments()
                    .iter()
                    .map(|s| format!("{s:x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            }),
    }
}

/// `AclAuthorizationHandler.comparePolicyEntries`, as written (not a consistent order: two
/// entries of one type whose patterns differ rank "literal/prefixed first" only when the first
/// argument is the literal or prefixed one; equally ranked entries put Allow before Deny).
fn compare(o1: &PolicyEntry, o2: &PolicyEntry) -> i32 {
    let (Some(r1), Some(r2)) = (&o1.resource, &o2.resource) else {
        return 0;
    };
    let mut c = 0;
    if r1.rtype != r2.rtype {
        if r1.rtype == ResourceType::Any {
            c = 1;
        }
        if r2.rtype == ResourceType::Any {
            c = -1;
        }
    } else if r1.pattern == r2.pattern {
        if r1.pattern == ResourcePattern::Prefixed {
            let len = |n: &Option<String>| n.as_deref().map_or(0, |s| s.encode_utf16().count());
            c = match len(&r1.name).cmp(&len(&r2.name)) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            };
        }
    } else if matches!(
        r1.pattern,
        ResourcePattern::Literal | ResourcePattern::Prefixed
    ) {
        c = -1;
    }
    if c != 0 {
        return c;
    }
    if o1.decision == Some(Decision::Deny) {
        1
    } else if o2.decision == Some(Decision::Deny) {
        -1
    } else {
        0
    }
}

fn cmp_at(v: &[PolicyEntry], a: &PolicyEntry, i: usize) -> i32 {
    v.get(i).map_or(0, |b| compare(a, b))
}

/// `List.sort` as Java runs it on fewer than 32 elements (`TimSort`: the first run made
/// ascending, then binary insertion), so that the inconsistent comparator above picks the same
/// entry Java picks.
fn java_sort(v: &mut Vec<PolicyEntry>) {
    let n = v.len();
    if n < 2 {
        return;
    }
    // countRunAndMakeAscending
    let mut run = 2;
    let first_desc = match (v.get(1), v.first()) {
        (Some(a), Some(b)) => compare(a, b) < 0,
        _ => false,
    };
    if first_desc {
        while run < n && v.get(run).is_some_and(|a| cmp_at(v, a, run - 1) < 0) {
            run += 1;
        }
        if let Some(s) = v.get_mut(..run) {
            s.reverse();
        }
    } else {
        while run < n && v.get(run).is_some_and(|a| cmp_at(v, a, run - 1) >= 0) {
            run += 1;
        }
    }
    // binarySort from `run`
    for start in run..n {
        let pivot = v.remove(start);
        let (mut left, mut right) = (0, start);
        while left < right {
            let mid = (left + right) / 2;
            if cmp_at(v, &pivot, mid) < 0 {
                right = mid;
            } else {
                left = mid + 1;
            }
        }
        v.insert(left, pivot);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use model::{Action, Resource};

    fn entry(r: &str, d: Decision) -> PolicyEntry {
        PolicyEntry {
            resource: Resource::parse(Some(r)),
            actions: vec![Action::Pub],
            source_ips: None,
            decision: Some(d),
        }
    }

    #[test]
    fn java_order_of_entries() {
        // Literal before the type's wildcard when the literal comes second (TimSort reverses a
        // descending first pair), Allow before Deny when equally ranked.
        let mut v = vec![
            entry("Topic:*", Decision::Allow),
            entry("Topic:t", Decision::Deny),
        ];
        java_sort(&mut v);
        assert_eq!(v.first().unwrap().decision, Some(Decision::Deny));
        let mut v = vec![
            entry("Topic:t", Decision::Deny),
            entry("Topic:*", Decision::Allow),
        ];
        java_sort(&mut v);
        assert_eq!(v.first().unwrap().decision, Some(Decision::Allow));
        let mut v = vec![
            entry("*", Decision::Deny),
            entry("Topic:a*", Decision::Allow),
        ];
        java_sort(&mut v);
        assert_eq!(v.first().unwrap().decision, Some(Decision::Allow));
        let mut v = vec![
            entry("Topic:ab*", Decision::Deny),
            entry("Topic:a*", Decision::Allow),
        ];
        java_sort(&mut v);
        assert_eq!(v.first().unwrap().decision, Some(Decision::Allow));
    }
}
