//! ACL 2.0 users and rules on disk and in memory, with Java 5.3.3's metadata-manager rules
//! (`AuthenticationMetadataManagerImpl`, `AuthorizationMetadataManagerImpl`): validation, the
//! exact refusal texts, merge-on-create of rules, and list filters.
//!
//! Java keeps them in two RocksDB instances under `<storePathRootDir>/config/{users,acls}`; we
//! keep JSON files of our own beside the other config files, `auth_users.json` (a `UserInfo`
//! array) and `auth_acls.json` (an `AclInfo` array), written through
//! [`crate::broker::config_file::persist`] (temp file, fsync, rename, `.bak`). Listing is in key
//! order, as a RocksDB iterator returns it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use super::model::{
    Acl, AclInfo, Action, PolicyType, Resource, User, UserInfo, UserStatus, UserType, subject_user,
    valid_ip_or_cidr,
};
use crate::broker::config_file;
use crate::limits::{AUTH_MAX_ACLS, AUTH_MAX_ENTRIES_PER_ACL, AUTH_MAX_USERS};

/// A refusal of an ACL 2.0 operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Java's `AuthenticationException` / `AuthorizationException`: NO_PERMISSION (16) with the
    /// message as remark.
    #[error("{0}")]
    Denied(String),
    /// SYSTEM_ERROR (1) with this remark.
    #[error("{0}")]
    System(String),
}

/// Java's answer to an unexpected failure inside the metadata manager.
pub const SYSTEM_ERROR_REMARK: &str = "An system error occurred, please try again later.";

fn denied(m: impl Into<String>) -> AuthError {
    AuthError::Denied(m.into())
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<String, User>,
    acls: BTreeMap<String, Acl>,
}

/// The users and rules of one broker.
#[derive(Debug)]
pub struct AuthStore {
    users_file: PathBuf,
    acls_file: PathBuf,
    state: RwLock<State>,
    /// Serializes changes and their writes.
    write: Mutex<()>,
}

impl AuthStore {
    /// Loads `auth_users.json` and `auth_acls.json` from `config_dir` (absent files: empty).
    pub fn open(config_dir: &Path) -> Result<Self, String> {
        let users_file = config_dir.join("auth_users.json");
        let acls_file = config_dir.join("auth_acls.json");
        let mut st = State::default();
        if let Some(text) = config_file::load(&users_file) {
            let list: Vec<UserInfo> = serde_json::from_str(&text)
                .map_err(|e| format!("{}: {e}", users_file.display()))?;
            for info in list {
                let u = User::from_info(&info);
                st.users.insert(u.username.clone(), u);
            }
        }
        if let Some(text) = config_file::load(&acls_file) {
            let list: Vec<AclInfo> =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", acls_file.display()))?;
            for info in list {
                let acl = Acl::from_info(&info);
                if let Some(s) = acl.subject.clone() {
                    st.acls.insert(s, acl);
                }
            }
        }
        Ok(Self {
            users_file,
            acls_file,
            state: RwLock::new(st),
            write: Mutex::new(()),
        })
    }

    /// The users file.
    #[must_use]
    pub fn users_file(&self) -> &Path {
        &self.users_file
    }

    /// The rules file.
    #[must_use]
    pub fn acls_file(&self) -> &Path {
        &self.acls_file
    }

    /// One user.
    #[must_use]
    pub fn user(&self, name: &str) -> Option<User> {
        self.state.read().ok()?.users.get(name).cloned()
    }

    /// One subject's rules.
    #[must_use]
    pub fn acl(&self, subject: &str) -> Option<Acl> {
        self.state.read().ok()?.acls.get(subject).cloned()
    }

    /// Runs `f` on one subject's rules without copying them (the request path).
    pub fn with_acl<T>(&self, subject: &str, f: impl FnOnce(Option<&Acl>) -> T) -> T {
        match self.state.read() {
            Ok(st) => f(st.acls.get(subject)),
            Err(_) => f(None),
        }
    }

    /// Applies `f` to the state and writes what changed; on a write failure the change is
    /// undone.
    fn change<T>(
        &self,
        f: impl FnOnce(&mut State) -> Result<(T, bool, bool), AuthError>,
    ) -> Result<T, AuthError> {
        let _g = self
            .write
            .lock()
            .map_err(|_| AuthError::System(SYSTEM_ERROR_REMARK.to_owned()))?;
        let mut st = self
            .state
            .write()
            .map_err(|_| AuthError::System(SYSTEM_ERROR_REMARK.to_owned()))?;
        let before_users = st.users.clone();
        let before_acls = st.acls.clone();
        let (out, users_changed, acls_changed) = f(&mut st)?;
        let mut result = Ok(());
        if users_changed {
            let list: Vec<UserInfo> = st.users.values().map(User::to_info).collect();
            result = write_json(&self.users_file, &list);
        }
        if acls_changed && result.is_ok() {
            let list: Vec<AclInfo> = st.acls.values().map(Acl::to_info).collect();
            result = write_json(&self.acls_file, &list);
        }
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot write the ACL 2.0 files; change undone");
            st.users = before_users;
            st.acls = before_acls;
            return Err(AuthError::System(SYSTEM_ERROR_REMARK.to_owned()));
        }
        Ok(out)
    }

    /// `AuthenticationMetadataManagerImpl.createUser`.
    pub fn create_user(&self, mut user: User) -> Result<(), AuthError> {
        if user.username.trim().is_empty() {
            return Err(denied("username can not be blank"));
        }
        if user.password.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return Err(denied("password can not be blank"));
        }
        user.user_type.get_or_insert(UserType::Normal);
        user.user_status.get_or_insert(UserStatus::Enable);
        self.change(|st| {
            if st.users.contains_key(&user.username) {
                return Err(denied("The user is existed"));
            }
            if st.users.len() >= AUTH_MAX_USERS {
                return Err(AuthError::System(format!(
                    "The number of users reached the limit {AUTH_MAX_USERS}"
                )));
            }
            st.users.insert(user.username.clone(), user);
            Ok(((), true, false))
        })
    }

    /// `AuthenticationMetadataManagerImpl.updateUser`: given fields replace the old ones.
    pub fn update_user(&self, user: User) -> Result<(), AuthError> {
        if user.username.trim().is_empty() {
            return Err(denied("username can not be blank"));
        }
        self.change(|st| {
            let Some(old) = st.users.get_mut(&user.username) else {
                return Err(denied("The user is not exist"));
            };
            if let Some(p) = user.password.filter(|p| !p.trim().is_empty()) {
                old.password = Some(p);
            }
            if let Some(t) = user.user_type {
                old.user_type = Some(t);
            }
            if let Some(s) = user.user_status {
                old.user_status = Some(s);
            }
            Ok(((), true, false))
        })
    }

    /// `AuthenticationMetadataManagerImpl.deleteUser`: the user and its rules.
    pub fn delete_user(&self, name: &str) -> Result<(), AuthError> {
        if name.trim().is_empty() {
            return Err(denied("username can not be blank"));
        }
        let subject = User::subject_key(name);
        self.change(|st| {
            let u = st.users.remove(name).is_some();
            let a = st.acls.remove(&subject).is_some();
            Ok(((), u, a))
        })
    }

    /// `listUser`: names containing `filter` (blank: all).
    #[must_use]
    pub fn list_users(&self, filter: Option<&str>) -> Vec<User> {
        let f = filter.filter(|f| !f.trim().is_empty());
        self.state
            .read()
            .map(|st| {
                st.users
                    .values()
                    .filter(|u| f.is_none_or(|f| u.username.contains(f)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Is `name` a super user? (`isSuperUser`; an unknown user is an error.)
    pub fn is_super(&self, name: &str) -> Result<bool, AuthError> {
        self.user(name)
            .map(|u| u.user_type == Some(UserType::Super))
            .ok_or_else(|| denied(format!("User:{name} is not found")))
    }

    /// `AuthorizationMetadataManagerImpl.createAcl` (and `updateAcl`, which 5.3.3 makes the
    /// same): validates, then creates the subject's rules or merges into them.
    pub fn create_acl(&self, mut acl: Acl) -> Result<(), AuthError> {
        let Some(subject) = acl.subject.clone() else {
            // Java: a NullPointerException in `validate`, answered as a system error.
            return Err(AuthError::System(SYSTEM_ERROR_REMARK.to_owned()));
        };
        validate(&acl)?;
        for p in &mut acl.policies {
            p.policy_type.get_or_insert(PolicyType::Custom);
        }
        self.change(|st| {
            if !st.users.contains_key(subject_user(&subject)) {
                return Err(denied(format!("The subject of {subject} is not exist.")));
            }
            let merged = match st.acls.get(&subject) {
                Some(old) => {
                    let mut m = old.clone();
                    m.update_policies(acl.policies);
                    m
                }
                None => {
                    if st.acls.len() >= AUTH_MAX_ACLS {
                        return Err(AuthError::System(format!(
                            "The number of acls reached the limit {AUTH_MAX_ACLS}"
                        )));
                    }
                    acl
                }
            };
            if merged.entry_count() > AUTH_MAX_ENTRIES_PER_ACL {
                return Err(AuthError::System(format!(
                    "The number of policy entries of {subject} exceeds the limit {AUTH_MAX_ENTRIES_PER_ACL}"
                )));
            }
            st.acls.insert(subject.clone(), merged);
            Ok(((), false, true))
        })
    }

    /// `AuthorizationMetadataManagerImpl.deleteAcl`: one resource's entry, or (no resource, or
    /// nothing left) the subject's whole ACL.
    pub fn delete_acl(
        &self,
        subject: Option<&str>,
        policy_type: Option<PolicyType>,
        resource: Option<&Resource>,
    ) -> Result<(), AuthError> {
        let Some(subject) = subject else {
            return Err(denied("The subject is null."));
        };
        let t = policy_type.unwrap_or(PolicyType::Custom);
        self.change(|st| {
            if !st.users.contains_key(subject_user(subject)) {
                return Err(denied("The subject is not exist."));
            }
            let Some(acl) = st.acls.get_mut(subject) else {
                return Err(denied("The acl is not exist."));
            };
            if let Some(r) = resource {
                acl.delete_entry(t, r);
            }
            if resource.is_none() || acl.policies.is_empty() {
                st.acls.remove(subject);
            }
            Ok(((), false, true))
        })
    }

    /// `getAcl`: the subject must exist; its rules may not.
    pub fn get_acl(&self, subject: &str) -> Result<Option<Acl>, AuthError> {
        if self.user(subject_user(subject)).is_none() {
            return Err(denied("The subject is not exist."));
        }
        Ok(self.acl(subject))
    }

    /// `LocalAuthorizationMetadataProvider.listAcl`: subjects containing `subject_filter`;
    /// with `resource_filter`, only entries whose resource key contains it (unless the subject
    /// key itself does), and subjects left with no entry are skipped.
    #[must_use]
    pub fn list_acls(
        &self,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Vec<Acl> {
        let sf = subject_filter.filter(|f| !f.trim().is_empty());
        let rf = resource_filter.filter(|f| !f.trim().is_empty());
        let Ok(st) = self.state.read() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, acl) in &st.acls {
            if sf.is_some_and(|f| !key.contains(f)) {
                continue;
            }
            let mut acl = acl.clone();
            if let Some(f) = rf
                && !key.contains(f)
            {
                for p in &mut acl.policies {
                    p.entries
                        .retain(|e| e.resource.as_ref().is_some_and(|r| r.key().contains(f)));
                }
            }
            acl.policies.retain(|p| !p.entries.is_empty());
            if !acl.policies.is_empty() {
                out.push(acl);
            }
        }
        out
    }
}

/// `AuthorizationMetadataManagerImpl.validate`.
fn validate(acl: &Acl) -> Result<(), AuthError> {
    if acl.policies.is_empty() {
        return Err(denied("The policies is empty."));
    }
    for p in &acl.policies {
        if p.entries.is_empty() {
            return Err(denied("The policy entries is empty."));
        }
        for e in &p.entries {
            if e.resource.is_none() {
                return Err(denied("The resource is null."));
            }
            if e.actions.is_empty() {
                return Err(denied("The actions is empty."));
            }
            if e.actions.contains(&Action::Any) {
                return Err(denied("The actions can not be Any."));
            }
            for ip in e.source_ips.iter().flatten() {
                if ip.trim().is_empty() {
                    return Err(denied("The source ip is empty."));
                }
                if !valid_ip_or_cidr(ip) {
                    return Err(denied("The source ip is invalid."));
                }
            }
            if e.decision.is_none() {
                return Err(denied("The decision is null or illegal."));
            }
        }
    }
    Ok(())
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    config_file::persist(path, &text).map_err(|e| format!("{}: {e}", path.display()))
}
