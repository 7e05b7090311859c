//! GET_NAMESRV_CONFIG and UPDATE_NAMESRV_CONFIG.
//!
//! The update refuses any blocked key outright (NO_PERMISSION, nothing applied), applies only
//! known keys whose values parse as their type, and persists with escaping so that no value can
//! add lines to the file. Nothing in a value is ever executed or used as a path.

use tracing::warn;

use crate::config::properties;
use crate::namesrv::NameServer;
use crate::namesrv::kv_config::write_with_backup;
use crate::net::ConnectionHandle;
use crate::remoting::error::HeaderError;
use crate::remoting::{RemotingCommand, ResponseCode};

pub(super) fn get(
    ns: &NameServer,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let text = {
        let c = ns
            .config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Java's `properties2String` writes raw `key=value` lines sorted by key.
        c.sorted()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect::<String>()
    };
    Ok(RemotingCommand::success().with_body(text.into_bytes()))
}

pub(super) fn update(
    ns: &NameServer,
    conn: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    if req.body.is_empty() {
        return Ok(RemotingCommand::success());
    }
    // Java reads the body with `Properties.load(InputStream)`, i.e. as ISO-8859-1.
    let text: String = req.body.iter().map(|b| char::from(*b)).collect();
    let Ok(entries) = properties::parse(&text) else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "string2Properties error",
        ));
    };
    if let Some(bad) = entries.iter().find(|e| ns.blocked_keys.contains(&e.key)) {
        warn!(peer = %conn.peer(), key = %bad.key, "refused a name-server config update of a blocked key");
        return Ok(RemotingCommand::error(
            ResponseCode::NO_PERMISSION,
            "Can not update config in black list.",
        ));
    }
    let (persist_path, text) = {
        let mut c = ns
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for e in &entries {
            if let Err(err) = c.set(&e.key, &e.value) {
                warn!(peer = %conn.peer(), error = %err, "ignored name-server config update entry");
            }
        }
        let text = properties::write(c.sorted());
        (c.get("configStorePath").to_owned(), text)
    };
    if !persist_path.is_empty()
        && let Err(e) = write_with_backup(std::path::Path::new(&persist_path), text.as_bytes())
    {
        warn!(path = %persist_path, error = %e, "cannot persist name-server config");
    }
    Ok(RemotingCommand::success())
}
