//! `plain_acl.yml` in Java's schema: `globalWhiteRemoteAddresses`, `accounts` (accessKey,
//! secretKey, whiteRemoteAddress, admin, defaultTopicPerm, defaultGroupPerm, topicPerms,
//! groupPerms) and `dataVersion`. Read leniently (numbers and booleans where strings are
//! expected are taken as text, as fastjson does); written back as a whole mapping so keys this
//! broker does not know survive an edit.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::Account;
use super::address::AddressPattern;
use super::resource::parse_perm;
use crate::broker::topic_config::RETRY_PREFIX;
use crate::remoting::body::data_version::DataVersion;

use crate::limits::ACL_KEY_MIN_LENGTH as KEY_MIN_LENGTH;

/// One account as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    /// `accessKey`.
    pub access_key: Option<String>,
    /// `secretKey`.
    pub secret_key: Option<String>,
    /// `whiteRemoteAddress`.
    pub white_remote_address: Option<String>,
    /// `admin`.
    pub admin: bool,
    /// `defaultTopicPerm`.
    pub default_topic_perm: Option<String>,
    /// `defaultGroupPerm`.
    pub default_group_perm: Option<String>,
    /// `topicPerms`.
    pub topic_perms: Option<Vec<String>>,
    /// `groupPerms`.
    pub group_perms: Option<Vec<String>>,
}

/// One file's content.
#[derive(Debug, Clone, Default)]
pub struct AclFileData {
    /// `globalWhiteRemoteAddresses`.
    pub global_white: Vec<String>,
    /// `accounts`.
    pub accounts: Vec<AccountConfig>,
    /// The first `dataVersion` entry.
    pub version: DataVersion,
}

/// A scalar as text (`secretKey: 12345678` is a number to YAML, a string to Java).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Sequence(s) => Some(s.iter().filter_map(|x| text(Some(x))).collect()),
        _ => None,
    }
}

fn int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// Reads a file as a mapping; an empty file is an empty mapping.
pub fn read_mapping(path: &Path) -> Result<Mapping, String> {
    let raw = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if raw.trim().is_empty() {
        return Ok(Mapping::new());
    }
    match serde_yaml_ng::from_str::<Value>(&raw) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(_) => Err(format!("{}: not a YAML mapping", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes `map` to `path` (through a temporary file, then rename).
pub fn write_mapping(path: &Path, map: &Mapping) -> Result<(), String> {
    let text = serde_yaml_ng::to_string(map).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("yml.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// An account mapping from the file.
#[must_use]
pub fn account_from(m: &Mapping) -> AccountConfig {
    let g = |k: &str| m.get(k);
    AccountConfig {
        access_key: text(g("accessKey")),
        secret_key: text(g("secretKey")),
        white_remote_address: text(g("whiteRemoteAddress")),
        admin: match g("admin") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        },
        default_topic_perm: text(g("defaultTopicPerm")),
        default_group_perm: text(g("defaultGroupPerm")),
        topic_perms: list(g("topicPerms")),
        group_perms: list(g("groupPerms")),
    }
}

/// Reads one file.
pub fn read(path: &Path) -> Result<AclFileData, String> {
    let m = read_mapping(path)?;
    let mut out = AclFileData {
        global_white: list(m.get("globalWhiteRemoteAddresses")).unwrap_or_default(),
        ..AclFileData::default()
    };
    if let Some(Value::Sequence(accs)) = m.get("accounts") {
        for a in accs {
            if let Value::Mapping(am) = a {
                out.accounts.push(account_from(am));
            }
        }
    }
    if let Some(Value::Sequence(vs)) = m.get("dataVersion")
        && let Some(Value::Mapping(v)) = vs.first()
    {
        out.version = DataVersion {
            counter: int(v.get("counter")),
            state_version: 0,
            timestamp: int(v.get("timestamp")),
        };
    }
    Ok(out)
}

/// `PlainPermissionManager.checkPlainAccessConfig`.
pub fn check_keys(a: &AccountConfig) -> Result<(), String> {
    let ak = a.access_key.as_deref();
    let sk = a.secret_key.as_deref();
    if ak.is_none_or(|k| k.len() <= KEY_MIN_LENGTH) || sk.is_none_or(|k| k.len() <= KEY_MIN_LENGTH)
    {
        return Err(format!(
            "The accessKey={} and secretKey={} cannot be null and length should longer than 6",
            ak.unwrap_or("null"),
            sk.unwrap_or("null")
        ));
    }
    Ok(())
}

/// Parses `res=PERM` entries into `perms` (groups as retry topics).
fn add_perms(
    perms: &mut HashMap<String, u8>,
    entries: &[String],
    topic: bool,
) -> Result<(), String> {
    for e in entries {
        let items: Vec<&str> = e.split('=').filter(|s| !s.is_empty()).collect();
        let (Some(name), Some(perm), 2) = (items.first(), items.get(1), items.len()) else {
            return Err(format!(
                "Parse resource permission failed for {}:{e}",
                if topic { "topic" } else { "group" }
            ));
        };
        let key = if topic {
            name.trim().to_owned()
        } else {
            format!("{RETRY_PREFIX}{}", name.trim())
        };
        perms.insert(key, parse_perm(Some(perm)));
    }
    Ok(())
}

/// `PlainPermissionManager.buildPlainAccessResource`.
pub fn build_account(a: &AccountConfig, file: &Path) -> Result<Account, String> {
    check_keys(a)?;
    let perms = if a.topic_perms.is_none() && a.group_perms.is_none() {
        None
    } else {
        let mut m = HashMap::new();
        add_perms(&mut m, a.group_perms.as_deref().unwrap_or_default(), false)?;
        add_perms(&mut m, a.topic_perms.as_deref().unwrap_or_default(), true)?;
        Some(m)
    };
    Ok(Account {
        file: file.to_path_buf(),
        access_key: a.access_key.clone().unwrap_or_default(),
        secret_key: a.secret_key.clone().unwrap_or_default(),
        white: AddressPattern::parse(a.white_remote_address.as_deref())
            .map_err(|e| e.to_string())?,
        admin: a.admin,
        default_topic_perm: parse_perm(a.default_topic_perm.as_deref()),
        default_group_perm: parse_perm(a.default_group_perm.as_deref()),
        perms,
    })
}

/// `Permission.checkResourcePerms`: each entry is `Res=PERM` with a known permission.
pub fn check_resource_perms(entries: Option<&[String]>) -> Result<(), String> {
    for e in entries.unwrap_or_default() {
        let items: Vec<&str> = e.split('=').filter(|s| !s.is_empty()).collect();
        let (Some(perm), 2) = (items.get(1), items.len()) else {
            return Err(format!(
                "Parse Resource format error for {e}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            ));
        };
        if perm.trim() != "DENY" && parse_perm(Some(perm)) == super::resource::DENY {
            return Err(format!(
                "Parse resource permission error for {e}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            ));
        }
    }
    Ok(())
}

/// `PlainPermissionManager.createAclAccessConfigMap`: merges `a` into `existing` (a new
/// mapping when `None`).
pub fn merge_account(existing: Option<Mapping>, a: &AccountConfig) -> Result<Mapping, String> {
    let mut m = existing.unwrap_or_default();
    let ak = a.access_key.clone().unwrap_or_default();
    if ak.len() <= KEY_MIN_LENGTH {
        return Err(format!(
            "The accessKey={ak} cannot be null and length should longer than 6"
        ));
    }
    let s = |v: &str| Value::String(v.to_owned());
    let _ = m.insert(s("accessKey"), s(&ak));
    if let Some(sk) = a.secret_key.as_deref().filter(|s| !s.is_empty()) {
        if sk.len() <= KEY_MIN_LENGTH {
            return Err(format!(
                "The secretKey={sk} value length should longer than 6"
            ));
        }
        let _ = m.insert(s("secretKey"), s(sk));
    }
    if let Some(w) = &a.white_remote_address {
        let _ = m.insert(s("whiteRemoteAddress"), s(w));
    }
    let _ = m.insert(s("admin"), Value::Bool(a.admin));
    if let Some(p) = a.default_topic_perm.as_deref().filter(|p| !p.is_empty()) {
        let _ = m.insert(s("defaultTopicPerm"), s(p));
    }
    if let Some(p) = a.default_group_perm.as_deref().filter(|p| !p.is_empty()) {
        let _ = m.insert(s("defaultGroupPerm"), s(p));
    }
    let seq = |v: &[String]| Value::Sequence(v.iter().map(|x| s(x)).collect());
    if let Some(t) = &a.topic_perms {
        let _ = m.insert(s("topicPerms"), seq(t));
    }
    if let Some(g) = &a.group_perms {
        let _ = m.insert(s("groupPerms"), seq(g));
    }
    Ok(m)
}

/// `updateAclConfigFileVersion`: counter + 1, timestamp now.
pub fn bump_version(map: &mut Mapping) {
    let old = match map.get("dataVersion") {
        Some(Value::Sequence(vs)) => match vs.first() {
            Some(Value::Mapping(v)) => int(v.get("counter")),
            _ => 0,
        },
        _ => 0,
    };
    let mut v = Mapping::new();
    let _ = v.insert(Value::from("counter"), Value::from(old + 1));
    let _ = v.insert(
        Value::from("timestamp"),
        Value::from(crate::store::message_store::now_millis()),
    );
    let _ = map.insert(
        Value::from("dataVersion"),
        Value::Sequence(vec![Value::Mapping(v)]),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_java_sample() {
        let dir = std::env::temp_dir().join(format!("acl-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("plain_acl.yml");
        std::fs::write(
            &p,
            "globalWhiteRemoteAddresses:\n  - 10.10.103.*\n  - 192.168.0.*\naccounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    whiteRemoteAddress:\n    admin: false\n    defaultTopicPerm: DENY\n    defaultGroupPerm: SUB\n    topicPerms:\n      - topicA=DENY\n      - topicB=PUB|SUB\n    groupPerms:\n      - groupA=DENY\n",
        )
        .unwrap();
        let d = read(&p).unwrap();
        assert_eq!(d.global_white.len(), 2);
        let a = &d.accounts[0];
        assert_eq!(a.secret_key.as_deref(), Some("12345678"));
        let acc = build_account(a, &p).unwrap();
        let perms = acc.perms.unwrap();
        assert_eq!(
            perms["topicB"],
            super::super::resource::PUB | super::super::resource::SUB
        );
        assert_eq!(perms["%RETRY%groupA"], super::super::resource::DENY);
        let mut m = read_mapping(&p).unwrap();
        bump_version(&mut m);
        write_mapping(&p, &m).unwrap();
        assert_eq!(read(&p).unwrap().version.counter, 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
