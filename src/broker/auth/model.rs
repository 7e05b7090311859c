//! ACL 2.0's data model (Java 5.3.3 `auth` module): users (`User`, `UserType`, `UserStatus`),
//! rules (`Acl`, `Policy`, `PolicyEntry`, `Resource`, `Action`, `Decision`, `Environment`) and
//! the wire forms the AUTH_* requests carry (`UserInfo`, `AclInfo` JSON), with Java's parsing
//! (`Resource.of`, the enums' case-insensitive `getByName`) and matching rules.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// `UserType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    /// `SUPER` ("Super"): bypasses authorization.
    Super,
    /// `NORMAL` ("Normal").
    Normal,
}

impl UserType {
    /// `getByName` (case-insensitive).
    #[must_use]
    pub fn by_name(name: Option<&str>) -> Option<Self> {
        let n = name?;
        [Self::Super, Self::Normal]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(n))
    }

    /// `getName`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Super => "Super",
            Self::Normal => "Normal",
        }
    }
}

/// `UserStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// `ENABLE` ("enable").
    Enable,
    /// `DISABLE` ("disable"): authentication refuses the user.
    Disable,
}

impl UserStatus {
    /// `getByName` (case-insensitive).
    #[must_use]
    pub fn by_name(name: Option<&str>) -> Option<Self> {
        let n = name?;
        [Self::Enable, Self::Disable]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(n))
    }

    /// `getName`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Enable => "enable",
            Self::Disable => "disable",
        }
    }
}

/// `User` (the password is the secret key clients sign with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// `username` (the access key).
    pub username: String,
    /// `password`.
    pub password: Option<String>,
    /// `userType`.
    pub user_type: Option<UserType>,
    /// `userStatus`.
    pub user_status: Option<UserStatus>,
}

impl User {
    /// `Subject.getSubjectKey`: `User:<name>`.
    #[must_use]
    pub fn subject_key(name: &str) -> String {
        format!("User:{name}")
    }

    /// `UserConverter.convertUser(UserInfo)`.
    #[must_use]
    pub fn from_info(info: &UserInfo) -> Self {
        Self {
            username: info.username.clone().unwrap_or_default(),
            password: info.password.clone(),
            user_type: UserType::by_name(info.user_type.as_deref()),
            user_status: UserStatus::by_name(info.user_status.as_deref()),
        }
    }

    /// `UserConverter.convertUser(User)`.
    #[must_use]
    pub fn to_info(&self) -> UserInfo {
        UserInfo {
            password: self.password.clone(),
            user_status: self.user_status.map(|s| s.name().to_owned()),
            user_type: self.user_type.map(|t| t.name().to_owned()),
            username: Some(self.username.clone()),
        }
    }
}

/// `UserInfo` JSON (fields in fastjson's alphabetical order; absent ones left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `userStatus` ("enable" / "disable").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    /// `userType` ("Super" / "Normal").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `AclInfo` JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclInfo {
    /// `policies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyInfo>>,
    /// `subject` (`User:<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// `AclInfo.PolicyInfo` JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    /// `entries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PolicyEntryInfo>>,
    /// `policyType` ("Custom" / "Default").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
}

/// `AclInfo.PolicyEntryInfo` JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntryInfo {
    /// `actions` ("Pub", "Sub", …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// `decision` ("Allow" / "Deny").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// `resource` (`Topic:name`, `Group:pre*`, `Topic:*`, `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `sourceIps` (addresses or CIDR blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<Vec<String>>,
}

/// `ResourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// "Unknown".
    Unknown,
    /// "Any".
    Any,
    /// "Cluster".
    Cluster,
    /// "Namespace".
    Namespace,
    /// "Topic".
    Topic,
    /// "Group".
    Group,
}

impl ResourceType {
    const ALL: [Self; 6] = [
        Self::Unknown,
        Self::Any,
        Self::Cluster,
        Self::Namespace,
        Self::Topic,
        Self::Group,
    ];

    /// `getName`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Any => "Any",
            Self::Cluster => "Cluster",
            Self::Namespace => "Namespace",
            Self::Topic => "Topic",
            Self::Group => "Group",
        }
    }
}

/// `ResourcePattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `*`.
    Any,
    /// An exact name.
    Literal,
    /// `name*`.
    Prefixed,
}

/// `Resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `resourceType`.
    pub rtype: ResourceType,
    /// `resourceName` (none for the ANY pattern).
    pub name: Option<String>,
    /// `resourcePattern`.
    pub pattern: ResourcePattern,
}

/// `NamespaceUtil.isRetryTopic`.
#[must_use]
pub fn is_retry_topic(name: &str) -> bool {
    name.starts_with(crate::broker::topic_config::RETRY_PREFIX)
}

impl Resource {
    /// A literal resource.
    #[must_use]
    pub fn literal(rtype: ResourceType, name: &str) -> Self {
        Self {
            rtype,
            name: Some(name.to_owned()),
            pattern: ResourcePattern::Literal,
        }
    }

    /// `Resource.ofTopic`.
    #[must_use]
    pub fn topic(name: &str) -> Self {
        Self::literal(ResourceType::Topic, name)
    }

    /// `Resource.ofGroup`: a retry topic names its group (`%RETRY%` / `%DLQ%` cut).
    #[must_use]
    pub fn group(name: &str) -> Self {
        let name = if is_retry_topic(name) {
            name.strip_prefix(crate::broker::topic_config::RETRY_PREFIX)
                .or_else(|| name.strip_prefix("%DLQ%"))
                .unwrap_or(name)
        } else {
            name
        };
        Self::literal(ResourceType::Group, name)
    }

    /// `Resource.of(String)`: `*`, `Type:*`, `Type:prefix*` or `Type:name`; `None` when blank or
    /// the type is unknown.
    #[must_use]
    pub fn parse(key: Option<&str>) -> Option<Self> {
        let key = key?;
        if key.trim().is_empty() {
            return None;
        }
        if key == "*" {
            return Some(Self {
                rtype: ResourceType::Any,
                name: None,
                pattern: ResourcePattern::Any,
            });
        }
        let (type_name, name) = key.split_once(':').unwrap_or((key, ""));
        let rtype = ResourceType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(type_name))?;
        Some(if name == "*" {
            Self {
                rtype,
                name: None,
                pattern: ResourcePattern::Any,
            }
        } else if name.ends_with('*') {
            // `StringUtils.substringBefore(name, "*")`: up to the first asterisk.
            let prefix = name.split('*').next().unwrap_or_default();
            Self {
                rtype,
                name: Some(prefix.to_owned()),
                pattern: ResourcePattern::Prefixed,
            }
        } else {
            Self::literal(rtype, name)
        })
    }

    /// `getResourceKey`.
    #[must_use]
    pub fn key(&self) -> String {
        if self.rtype == ResourceType::Any {
            return "*".to_owned();
        }
        let name = self.name.as_deref().unwrap_or("null");
        match self.pattern {
            ResourcePattern::Any => format!("{}:*", self.rtype.name()),
            ResourcePattern::Literal => format!("{}:{name}", self.rtype.name()),
            ResourcePattern::Prefixed => format!("{}:{name}*", self.rtype.name()),
        }
    }

    /// `isMatch`: does this rule resource cover the requested `r`?
    #[must_use]
    pub fn matches(&self, r: &Self) -> bool {
        if self.rtype == ResourceType::Any {
            return true;
        }
        if self.rtype != r.rtype {
            return false;
        }
        match self.pattern {
            ResourcePattern::Any => true,
            ResourcePattern::Literal => self.name == r.name,
            ResourcePattern::Prefixed => match (&r.name, &self.name) {
                (Some(n), Some(p)) => n.starts_with(p.as_str()),
                _ => false,
            },
        }
    }
}

/// `Action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// "Unknown".
    Unknown,
    /// "All": a rule with it covers every action.
    All,
    /// "Any": a request asking it matches any rule action (never allowed in rules).
    Any,
    /// "Pub".
    Pub,
    /// "Sub".
    Sub,
    /// "Create".
    Create,
    /// "Update".
    Update,
    /// "Delete".
    Delete,
    /// "Get".
    Get,
    /// "List".
    List,
}

impl Action {
    const ALL: [Self; 10] = [
        Self::Unknown,
        Self::All,
        Self::Any,
        Self::Pub,
        Self::Sub,
        Self::Create,
        Self::Update,
        Self::Delete,
        Self::Get,
        Self::List,
    ];

    /// `getByName` (case-insensitive).
    #[must_use]
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// `getName`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::All => "All",
            Self::Any => "Any",
            Self::Pub => "Pub",
            Self::Sub => "Sub",
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Get => "Get",
            Self::List => "List",
        }
    }
}

/// `Decision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// "Allow".
    Allow,
    /// "Deny".
    Deny,
}

impl Decision {
    /// `getByName` (case-insensitive).
    #[must_use]
    pub fn by_name(name: Option<&str>) -> Option<Self> {
        let n = name?;
        [Self::Allow, Self::Deny]
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(n))
    }

    /// `getName`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        }
    }
}

/// `PolicyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    /// "Custom": what the AUTH_* requests write.
    Custom,
    /// "Default": consulted only when no custom entry matches.
    Default,
}

impl PolicyType {
    /// `getByName` (case-insensitive).
    #[must_use]
    pub fn by_name(name: Option<&str>) -> Option<Self> {
        let n = name?;
        [Self::Custom, Self::Default]
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(n))
    }

    /// `getName`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Custom => "Custom",
            Self::Default => "Default",
        }
    }
}

/// `PolicyEntry` as converted from the wire (`AclConverter`); [`super::store`] validates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    /// `resource` (`None` when the key did not parse).
    pub resource: Option<Resource>,
    /// `actions` (names that did not parse are dropped, as Java does).
    pub actions: Vec<Action>,
    /// `environment.sourceIps`.
    pub source_ips: Option<Vec<String>>,
    /// `decision`.
    pub decision: Option<Decision>,
}

impl PolicyEntry {
    /// `isMatchAction`.
    #[must_use]
    pub fn matches_actions(&self, wanted: &[Action]) -> bool {
        if self.actions.is_empty() {
            return false;
        }
        if wanted.contains(&Action::Any) {
            return true;
        }
        wanted
            .iter()
            .any(|a| self.actions.contains(a) || self.actions.contains(&Action::All))
    }

    /// `isMatchEnvironment` for a caller at `ip` (`IPAddressUtils.isIPInRange` per entry).
    #[must_use]
    pub fn matches_source(&self, ip: &str) -> bool {
        match &self.source_ips {
            None => true,
            Some(list) if list.is_empty() => true,
            Some(list) => list.iter().any(|range| ip_in_range(ip, range)),
        }
    }
}

/// `Policy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `policyType` (`None` until the manager defaults it to Custom).
    pub policy_type: Option<PolicyType>,
    /// `entries`.
    pub entries: Vec<PolicyEntry>,
}

/// `Acl`: one subject's policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The subject key, `User:<name>` (`None` when neither body nor header named one).
    pub subject: Option<String>,
    /// `policies`.
    pub policies: Vec<Policy>,
}

impl Acl {
    /// `AclConverter.convertAcl(AclInfo)`: a policy without entries is dropped.
    #[must_use]
    pub fn from_info(info: &AclInfo) -> Self {
        let mut policies = Vec::new();
        for p in info.policies.iter().flatten() {
            let Some(entries) = p.entries.as_ref().filter(|e| !e.is_empty()) else {
                continue;
            };
            let entries = entries
                .iter()
                .map(|e| PolicyEntry {
                    resource: Resource::parse(e.resource.as_deref()),
                    actions: e
                        .actions
                        .iter()
                        .flatten()
                        .filter_map(|a| Action::by_name(a))
                        .collect(),
                    source_ips: e.source_ips.clone().filter(|s| !s.is_empty()),
                    decision: Decision::by_name(e.decision.as_deref()),
                })
                .collect();
            policies.push(Policy {
                policy_type: PolicyType::by_name(p.policy_type.as_deref()),
                entries,
            });
        }
        Self {
            subject: subject_of(info.subject.as_deref()),
            policies,
        }
    }

    /// `AclConverter.convertAcl(Acl)`.
    #[must_use]
    pub fn to_info(&self) -> AclInfo {
        let policies = self
            .policies
            .iter()
            .map(|p| PolicyInfo {
                entries: Some(
                    p.entries
                        .iter()
                        .map(|e| PolicyEntryInfo {
                            actions: (!e.actions.is_empty())
                                .then(|| e.actions.iter().map(|a| a.name().to_owned()).collect()),
                            decision: e.decision.map(|d| d.name().to_owned()),
                            resource: e.resource.as_ref().map(Resource::key),
                            source_ips: e.source_ips.clone(),
                        })
                        .collect(),
                ),
                policy_type: p.policy_type.map(|t| t.name().to_owned()),
            })
            .collect::<Vec<_>>();
        AclInfo {
            policies: (!policies.is_empty()).then_some(policies),
            subject: self.subject.clone(),
        }
    }

    /// `getPolicy`.
    #[must_use]
    pub fn policy(&self, t: PolicyType) -> Option<&Policy> {
        self.policies.iter().find(|p| p.policy_type == Some(t))
    }

    /// `updatePolicy`: entries of a known resource are replaced, new ones appended.
    pub fn update_policies(&mut self, new: Vec<Policy>) {
        for np in new {
            if let Some(old) = self
                .policies
                .iter_mut()
                .find(|p| p.policy_type == np.policy_type)
            {
                for ne in np.entries {
                    if let Some(e) = old.entries.iter_mut().find(|e| e.resource == ne.resource) {
                        e.actions = ne.actions;
                        e.source_ips = ne.source_ips;
                        e.decision = ne.decision;
                    } else {
                        old.entries.push(ne);
                    }
                }
            } else {
                self.policies.push(np);
            }
        }
    }

    /// `deletePolicy`: drops the entry for `resource`, and the policy when it becomes empty.
    pub fn delete_entry(&mut self, t: PolicyType, resource: &Resource) {
        if let Some(p) = self.policies.iter_mut().find(|p| p.policy_type == Some(t)) {
            p.entries.retain(|e| e.resource.as_ref() != Some(resource));
        }
        self.policies
            .retain(|p| p.policy_type != Some(t) || !p.entries.is_empty());
    }

    /// Entries over all policies.
    #[must_use]
    pub fn entry_count(&self) -> usize {
        self.policies.iter().map(|p| p.entries.len()).sum()
    }
}

/// `Subject.of`: `User:<name>` names a user; anything else no subject.
#[must_use]
pub fn subject_of(key: Option<&str>) -> Option<String> {
    let key = key?;
    let (t, name) = key.split_once(':').unwrap_or((key, ""));
    t.eq_ignore_ascii_case("User")
        .then(|| User::subject_key(name))
}

/// The user name of a subject key.
#[must_use]
pub fn subject_user(key: &str) -> &str {
    key.split_once(':').map_or("", |(_, n)| n)
}

/// `IPAddressUtils.isValidIPOrCidr`.
#[must_use]
pub fn valid_ip_or_cidr(s: &str) -> bool {
    match s.split_once('/') {
        None => s.parse::<IpAddr>().is_ok(),
        Some((ip, prefix)) => {
            let Ok(ip) = ip.parse::<IpAddr>() else {
                return false;
            };
            let Ok(p) = prefix.parse::<u32>() else {
                return false;
            };
            p <= if ip.is_ipv4() { 32 } else { 128 }
        }
    }
}

/// `IPAddressUtils.isIPInRange`: an address equals, or a CIDR block contains, `ip`.
#[must_use]
pub fn ip_in_range(ip: &str, range: &str) -> bool {
    let Some((base, prefix)) = range.split_once('/') else {
        return ip == range;
    };
    let (Ok(base), Ok(prefix), Ok(ip)) = (
        base.parse::<IpAddr>(),
        prefix.parse::<u32>(),
        ip.parse::<IpAddr>(),
    ) else {
        return false;
    };
    let to_u128 = |a: IpAddr| match a {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32u32),
        IpAddr::V6(v) => (u128::from(v), 128u32),
    };
    let (b, bits) = to_u128(base);
    let (i, ibits) = to_u128(ip);
    if bits != ibits || prefix > bits {
        return false;
    }
    let host_bits = bits - prefix;
    let mask = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    let mask = if bits == 32 {
        mask & u128::from(u32::MAX)
    } else {
        mask
    };
    (b & mask) == (i & mask)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys_parse_as_java() {
        let r = Resource::parse(Some("Topic:abc*")).unwrap();
        assert_eq!(r.pattern, ResourcePattern::Prefixed);
        assert_eq!(r.key(), "Topic:abc*");
        assert_eq!(Resource::parse(Some("*")).unwrap().key(), "*");
        assert_eq!(Resource::parse(Some("group:*")).unwrap().key(), "Group:*");
        assert!(Resource::parse(Some("Queue:x")).is_none());
        assert!(Resource::parse(Some(" ")).is_none());
        assert_eq!(Resource::group("%RETRY%g1").key(), "Group:g1");
        let p = Resource::parse(Some("Topic:ab*")).unwrap();
        assert!(p.matches(&Resource::topic("abc")));
        assert!(!p.matches(&Resource::topic("b")));
        assert!(!p.matches(&Resource::group("abc")));
    }

    #[test]
    fn ip_ranges() {
        assert!(ip_in_range("10.1.2.3", "10.1.0.0/16"));
        assert!(!ip_in_range("10.2.2.3", "10.1.0.0/16"));
        assert!(ip_in_range("127.0.0.1", "127.0.0.1"));
        assert!(ip_in_range("1.2.3.4", "0.0.0.0/0"));
        assert!(ip_in_range("::1", "::/0"));
        assert!(valid_ip_or_cidr("192.168.0.0/24"));
        assert!(!valid_ip_or_cidr("192.168.0.0/33"));
        assert!(!valid_ip_or_cidr("192.168.*"));
    }
}
