//! ACL 1.0 (`aclEnable=true`): the accounts of `$ROCKETMQ_HOME/conf/plain_acl.yml` (and any
//! `*.yml` under `$ROCKETMQ_HOME/conf/acl/`), signature checks as `AclClientRPCHook` signs, and
//! per-request permission checks as Java 4.9.8's `PlainPermissionManager.validate` makes them.
//!
//! The files are re-read when they change (Java's `AclFileWatchService` polls every 5 s; so does
//! [`watch`]). The ACL admin requests (UPDATE_AND_CREATE_ACL_CONFIG and friends, in
//! `processor/acl.rs`) edit the files and reload. Java 5.3.3 dropped ACL 1.0 (its `aclEnable` key
//! does nothing; 5.3 has ACL 2.0 instead), so 4.9.8 is the reference.

pub mod address;
pub mod file;
pub mod resource;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use tracing::{info, warn};

use crate::remoting::RemotingCommand;
use crate::remoting::body::data_version::DataVersion;
use address::AddressPattern;
use resource::AccessResource;

/// `TopicValidator.RMQ_SYS_TRACE_TOPIC`: publishing traces to it needs no topic permission.
const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
use crate::limits::ACL_WATCH_INTERVAL as WATCH_INTERVAL;

/// A refusal: the message of Java's `AclException` and where Java threw it, which together
/// make the remark `RemotingHelper.exceptionSimpleDesc` builds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AclError {
    /// The exception message.
    pub message: String,
    /// The top stack frame Java prints (4.9.8 line numbers).
    pub frame: &'static str,
}

impl AclError {
    fn validate(message: String, line: u32) -> Self {
        let frame = match line {
            664 => "PlainPermissionManager.validate(PlainPermissionManager.java:664)",
            668 => "PlainPermissionManager.validate(PlainPermissionManager.java:668)",
            _ => "PlainPermissionManager.validate(PlainPermissionManager.java:684)",
        };
        Self { message, frame }
    }

    fn check_perm(message: String, admin: bool) -> Self {
        let frame = if admin {
            "PlainPermissionManager.checkPerm(PlainPermissionManager.java:581)"
        } else {
            "PlainPermissionManager.checkPerm(PlainPermissionManager.java:611)"
        };
        Self { message, frame }
    }

    /// The remark of Java 4.9.8's SYSTEM_ERROR answer.
    #[must_use]
    pub fn remark(&self) -> String {
        format!(
            "org.apache.rocketmq.acl.common.AclException: {}, org.apache.rocketmq.acl.plain.{}",
            self.message, self.frame
        )
    }
}

/// One account, parsed.
#[derive(Debug, Clone)]
pub struct Account {
    /// The file that defines it.
    pub file: PathBuf,
    /// `accessKey`.
    pub access_key: String,
    /// `secretKey`.
    pub secret_key: String,
    /// `whiteRemoteAddress`: matching callers skip the signature and permission checks.
    pub white: AddressPattern,
    /// `admin`.
    pub admin: bool,
    /// `defaultTopicPerm`.
    pub default_topic_perm: u8,
    /// `defaultGroupPerm`.
    pub default_group_perm: u8,
    /// `topicPerms` and `groupPerms` (groups as retry topics); `None` when neither is given.
    pub perms: Option<HashMap<String, u8>>,
}

/// Everything loaded from the files.
#[derive(Debug, Default)]
pub struct AclState {
    /// The files read, default file last.
    pub files: Vec<PathBuf>,
    /// `globalWhiteRemoteAddresses` of every file.
    pub global_white: Vec<AddressPattern>,
    /// Accounts by access key (the first file naming a key wins, as in Java).
    pub accounts: HashMap<String, Account>,
    /// `dataVersion` of each file.
    pub versions: Vec<(PathBuf, DataVersion)>,
}

/// The ACL 1.0 engine of one broker.
#[derive(Debug)]
pub struct PlainAcl {
    /// `$ROCKETMQ_HOME` (empty: no files, so every signed request is refused).
    home: PathBuf,
    /// `conf/plain_acl.yml` under home.
    default_file: PathBuf,
    /// `conf/acl` under home.
    dir: PathBuf,
    state: RwLock<Arc<AclState>>,
    /// Modification times seen at the last load.
    stamps: Mutex<Vec<(PathBuf, Option<SystemTime>)>>,
    /// Serializes file edits.
    edit: Mutex<()>,
}

impl PlainAcl {
    /// Opens the ACL files under `home` (creating an empty default file, as Java does).
    pub fn open(home: &Path) -> Result<Self, String> {
        let default_file = home.join("conf").join("plain_acl.yml");
        if !home.as_os_str().is_empty()
            && !default_file.exists()
            && let Err(e) = std::fs::write(&default_file, b"")
        {
            warn!(file = %default_file.display(), error = %e, "cannot create the ACL file");
        }
        let acl = Self {
            home: home.to_path_buf(),
            dir: home.join("conf").join("acl"),
            default_file,
            state: RwLock::new(Arc::new(AclState::default())),
            stamps: Mutex::new(Vec::new()),
            edit: Mutex::new(()),
        };
        acl.reload()?;
        Ok(acl)
    }

    /// The default file.
    #[must_use]
    pub fn default_file(&self) -> &Path {
        &self.default_file
    }

    /// The loaded state.
    #[must_use]
    pub fn state(&self) -> Arc<AclState> {
        self.state
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_default()
    }

    fn file_list(&self) -> Vec<PathBuf> {
        if self.home.as_os_str().is_empty() {
            return Vec::new();
        }
        let mut files = Vec::new();
        collect_yml(&self.dir, &mut files);
        files.sort();
        if self.default_file.exists() && !files.contains(&self.default_file) {
            files.push(self.default_file.clone());
        }
        files
    }

    fn current_stamps(&self) -> Vec<(PathBuf, Option<SystemTime>)> {
        self.file_list()
            .into_iter()
            .map(|f| {
                let t = std::fs::metadata(&f).and_then(|m| m.modified()).ok();
                (f, t)
            })
            .collect()
    }

    /// Reads every file again; on error the previous state stays.
    pub fn reload(&self) -> Result<(), String> {
        let stamps = self.current_stamps();
        let mut st = AclState::default();
        for (path, _) in &stamps {
            let data = file::read(path)?;
            st.versions.push((path.clone(), data.version));
            for w in &data.global_white {
                st.global_white.push(
                    AddressPattern::parse(Some(w))
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                );
            }
            for a in data.accounts {
                let acc = file::build_account(&a, path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if st.accounts.contains_key(&acc.access_key) {
                    warn!(access_key = %acc.access_key, "access key repeated in ACL files; first kept");
                    continue;
                }
                st.accounts.insert(acc.access_key.clone(), acc);
            }
        }
        st.files = stamps.iter().map(|(p, _)| p.clone()).collect();
        info!(
            files = st.files.len(),
            accounts = st.accounts.len(),
            "plain ACL loaded"
        );
        if let Ok(mut s) = self.state.write() {
            *s = Arc::new(st);
        }
        if let Ok(mut s) = self.stamps.lock() {
            *s = stamps;
        }
        Ok(())
    }

    /// Reloads when a file appeared, went or changed since the last load.
    pub fn reload_if_changed(&self) {
        let now = self.current_stamps();
        let changed = self.stamps.lock().map(|s| *s != now).unwrap_or(false);
        if changed && let Err(e) = self.reload() {
            warn!(error = %e, "ACL files changed but do not load; keeping the previous rules");
            // Warn once per change, as Java's watcher does, not every interval.
            if let Ok(mut s) = self.stamps.lock() {
                *s = now;
            }
        }
    }

    /// Checks one request from `remote` (Java: the broker's ACL RPC hook).
    pub fn check(&self, req: &RemotingCommand, remote: IpAddr) -> Result<(), AclError> {
        let res = resource::parse(req, remote).map_err(|m| AclError {
            message: m,
            frame: "PlainAccessValidator.parse(PlainAccessValidator.java:134)",
        })?;
        self.validate(&res)
    }

    /// `PlainPermissionManager.validate`.
    pub fn validate(&self, res: &AccessResource) -> Result<(), AclError> {
        let st = self.state();
        if st.global_white.iter().any(|p| p.matches(res.remote)) {
            return Ok(());
        }
        let Some(ak) = &res.access_key else {
            return Err(AclError::validate("No accessKey is configured".into(), 664));
        };
        let Some(owned) = st.accounts.get(ak) else {
            return Err(AclError::validate(format!("No acl config for {ak}"), 668));
        };
        if owned.white.matches(res.remote) {
            return Ok(());
        }
        let expected = resource::signature(&res.content, &owned.secret_key);
        if res.signature.as_deref() != Some(expected.as_str()) {
            return Err(AclError::validate(
                format!("Check signature failed for accessKey={ak}"),
                684,
            ));
        }
        if res
            .perms
            .iter()
            .any(|(r, p)| r == TRACE_TOPIC && *p == resource::PUB)
        {
            return Ok(());
        }
        check_perm(res, owned)
    }
}

/// `PlainPermissionManager.checkPerm`.
fn check_perm(res: &AccessResource, owned: &Account) -> Result<(), AclError> {
    if resource::needs_admin(res.code) && !owned.admin {
        return Err(AclError::check_perm(
            format!(
                "Need admin permission for request code={}, but accessKey={} is not",
                res.code, owned.access_key
            ),
            true,
        ));
    }
    if res.perms.is_empty() || (owned.perms.is_none() && owned.admin) {
        return Ok(());
    }
    for (r, needed) in &res.perms {
        let group = r.strip_prefix(crate::broker::topic_config::RETRY_PREFIX);
        let have = owned
            .perms
            .as_ref()
            .and_then(|m| m.get(r).copied())
            .unwrap_or(if group.is_some() {
                owned.default_group_perm
            } else {
                owned.default_topic_perm
            });
        if !resource::allows(*needed, have) {
            let what = group.map_or_else(|| format!("topic:{r}"), |g| format!("group:{g}"));
            return Err(AclError::check_perm(
                format!("No default permission for {what}"),
                false,
            ));
        }
    }
    Ok(())
}

fn collect_yml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_yml(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

/// Re-reads the files when they change, every `ACL_WATCH_INTERVAL` (src/limits.rs).
pub async fn watch(acl: Arc<PlainAcl>) {
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    loop {
        let _ = tick.tick().await;
        let a = Arc::clone(&acl);
        let _ = tokio::task::spawn_blocking(move || a.reload_if_changed()).await;
    }
}

impl PlainAcl {
    /// Runs `f` on the YAML of the file that defines `access_key` (or the default file),
    /// bumps its `dataVersion`, writes it back and reloads.
    pub fn edit_file(
        &self,
        path: &Path,
        f: impl FnOnce(&mut serde_yaml_ng::Mapping) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let _guard = self.edit.lock().map_err(|_| "ACL edit lock poisoned")?;
        let mut map = file::read_mapping(path)?;
        if !f(&mut map)? {
            return Ok(false);
        }
        file::bump_version(&mut map);
        file::write_mapping(path, &map)?;
        self.reload()?;
        Ok(true)
    }

    /// The file defining `access_key`, if any.
    #[must_use]
    pub fn file_of(&self, access_key: &str) -> Option<PathBuf> {
        self.state()
            .accounts
            .get(access_key)
            .map(|a| a.file.clone())
    }

    /// `$ROCKETMQ_HOME`.
    #[must_use]
    pub fn home(&self) -> &Path {
        &self.home
    }
}
