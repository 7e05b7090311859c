//! `migrateAuthFromV1Enabled`: ACL 1.0 accounts become ACL 2.0 users and rules at start (Java
//! 5.3.3 `AuthMigrator`). Every account of `$ROCKETMQ_HOME/conf/plain_acl.yml` and
//! `conf/acl/*.yml` whose access key is not a user yet becomes one (`admin: true` → Super), with
//! a Custom policy from `topicPerms` / `groupPerms` and a Default policy (`Topic:*`, `Group:*`)
//! from `defaultTopicPerm` / `defaultGroupPerm`. `DENY` is a Deny of All; `PUB`, `SUB`,
//! `PUB|SUB` are Allows; anything else is an Allow of All. Failures are logged per account.

use std::path::Path;

use tracing::{info, warn};

use super::model::{
    Acl, Action, Decision, Policy, PolicyEntry, PolicyType, Resource, ResourcePattern,
    ResourceType, User, UserType,
};
use super::store::AuthStore;
use crate::broker::acl::file::{self, AccountConfig};

/// `parseActions`.
fn actions(perm: &str) -> Vec<Action> {
    match perm.trim() {
        "PUB" => vec![Action::Pub],
        "SUB" => vec![Action::Sub],
        "PUB|SUB" | "SUB|PUB" => vec![Action::Pub, Action::Sub],
        _ => vec![Action::All],
    }
}

/// `parseDecision`.
fn decision(perm: &str) -> Decision {
    if perm.trim().is_empty() || perm == "DENY" {
        Decision::Deny
    } else {
        Decision::Allow
    }
}

fn entry(resource: Resource, perm: &str) -> PolicyEntry {
    PolicyEntry {
        resource: Some(resource),
        actions: actions(perm),
        source_ips: None,
        decision: Some(decision(perm)),
    }
}

/// `name=PERM` pairs (`StringUtils.split` on `=`: exactly two non-empty pieces).
fn pairs(list: Option<&Vec<String>>) -> Vec<(String, String)> {
    list.into_iter()
        .flatten()
        .filter_map(|s| {
            let parts: Vec<&str> = s.split('=').filter(|p| !p.is_empty()).collect();
            match parts.as_slice() {
                [n, p] => Some((n.trim().to_owned(), p.trim().to_owned())),
                _ => None,
            }
        })
        .collect()
}

/// The rules `AuthMigrator.createAcl` builds for one account (none when it has no perms).
#[must_use]
pub fn acl_of(a: &AccountConfig, name: &str) -> Option<Acl> {
    let mut custom = Vec::new();
    for (t, p) in pairs(a.topic_perms.as_ref()) {
        custom.push(entry(Resource::topic(&t), &p));
    }
    for (g, p) in pairs(a.group_perms.as_ref()) {
        custom.push(entry(Resource::group(&g), &p));
    }
    let any = |rtype| Resource {
        rtype,
        name: None,
        pattern: ResourcePattern::Any,
    };
    let mut default = Vec::new();
    if let Some(p) = a
        .default_topic_perm
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        default.push(entry(any(ResourceType::Topic), p.trim()));
    }
    if let Some(p) = a
        .default_group_perm
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        default.push(entry(any(ResourceType::Group), p.trim()));
    }
    let mut policies = Vec::new();
    if !custom.is_empty() {
        policies.push(Policy {
            policy_type: Some(PolicyType::Custom),
            entries: custom,
        });
    }
    if !default.is_empty() {
        policies.push(Policy {
            policy_type: Some(PolicyType::Default),
            entries: default,
        });
    }
    (!policies.is_empty()).then(|| Acl {
        subject: Some(User::subject_key(name)),
        policies,
    })
}

/// Migrates every account of the ACL 1.0 files under `home`.
pub fn migrate(store: &AuthStore, home: &Path) {
    let acl = match crate::broker::acl::PlainAcl::open(home) {
        Ok(a) => a,
        Err(e) => {
            warn!(error = %e, "[ACL MIGRATE] the ACL 1.0 files do not load; nothing migrated");
            return;
        }
    };
    let mut migrated = 0usize;
    for path in &acl.state().files {
        let data = match file::read(path) {
            Ok(d) => d,
            Err(e) => {
                warn!(file = %path.display(), error = %e, "[ACL MIGRATE] skipped");
                continue;
            }
        };
        for a in &data.accounts {
            let Some(ak) = a.access_key.clone() else {
                continue;
            };
            if store.user(&ak).is_some() {
                continue;
            }
            let user = User {
                username: ak.clone(),
                password: a.secret_key.clone(),
                user_type: Some(if a.admin {
                    UserType::Super
                } else {
                    UserType::Normal
                }),
                user_status: None,
            };
            let r = store
                .create_user(user)
                .and_then(|()| acl_of(a, &ak).map_or(Ok(()), |acl| store.create_acl(acl)));
            match r {
                Ok(()) => migrated += 1,
                Err(e) => warn!(access_key = %ak, error = %e,
                    "[ACL MIGRATE] An error occurred while migrating ACL configurations"),
            }
        }
    }
    info!(
        accounts = migrated,
        "[ACL MIGRATE] ACL 1.0 accounts migrated to ACL 2.0"
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn account_rules_as_auth_migrator() {
        let a = AccountConfig {
            access_key: Some("RocketMQ".into()),
            secret_key: Some("12345678".into()),
            white_remote_address: None,
            admin: false,
            default_topic_perm: Some("DENY".into()),
            default_group_perm: Some("SUB".into()),
            topic_perms: Some(vec!["t1=PUB|SUB".into(), "t2=DENY".into(), "bad".into()]),
            group_perms: Some(vec!["g1=DENY".into()]),
        };
        let info = acl_of(&a, "RocketMQ").unwrap().to_info();
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:t1"},{"actions":["All"],"decision":"Deny","resource":"Topic:t2"},{"actions":["All"],"decision":"Deny","resource":"Group:g1"}],"policyType":"Custom"},{"entries":[{"actions":["All"],"decision":"Deny","resource":"Topic:*"},{"actions":["Sub"],"decision":"Allow","resource":"Group:*"}],"policyType":"Default"}],"subject":"User:RocketMQ"}"#
        );
    }
}
