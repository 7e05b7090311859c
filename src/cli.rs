//! Start-up plumbing shared by the binaries: logging (see [`crate::logs`]), the JVM variables
//! Java's start scripts read (accepted and ignored), and the tokio runtime.

pub use crate::logs::{Console, Server};

/// Installs logging at `default_level` unless `RUST_LOG` says otherwise (console, plus the
/// rolling files when `ROCKETMQ_LOG_DIR` is set) and notes ignored JVM variables.
pub fn init_logging(default_level: &str, console: Console, server: Server) {
    if let Some(dir) = crate::logs::init(default_level, console, server) {
        tracing::info!(dir = %dir, "logging to files as well");
    }
    note_ignored_jvm_env();
}

/// Environment variables of Java's `runbroker.sh` / `runserver.sh`, the docker images, the
/// operator and the Helm chart that size or tune a JVM. They mean nothing here; set ones are
/// named in one log line so an operator who ports a deployment sees they had no effect.
pub const JVM_ENV_VARS: &[&str] = &[
    "JAVA_OPT",
    "JAVA_OPT_EXT",
    "JAVA_OPTS",
    "HEAP_OPTS",
    "JAVA_HEAP_SIZE",
    "BROKER_MEM",
    "RMQ_NUMA_NODE",
];

/// The JVM variables `lookup` finds set to something non-empty.
#[must_use]
pub fn ignored_jvm_env(lookup: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
    JVM_ENV_VARS
        .iter()
        .copied()
        .filter(|k| lookup(k).is_some_and(|v| !v.is_empty()))
        .collect()
}

fn note_ignored_jvm_env() {
    let set = ignored_jvm_env(|k| std::env::var(k).ok());
    if !set.is_empty() {
        tracing::info!(
            variables = %set.join(","),
            "JVM environment variables are accepted and ignored: this server is not a JVM (memory is sized by its own limits)"
        );
    }
}

/// The multi-threaded runtime every server binary runs on. Also raises the open-file limit
/// towards what two listeners at the default connection cap and the store need (Java's start
/// scripts run `ulimit -n` for the same reason); each server's cap is then held under whatever
/// limit is in force (`net::connection_cap`).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let want = u64::try_from(
        2 * crate::limits::DEFAULT_SERVER_MAX_CONNECTIONS + crate::limits::OPEN_FILE_RESERVE,
    )
    .unwrap_or(u64::MAX);
    let got = crate::store::mapped_file::raise_open_file_limit(want);
    if got < want {
        tracing::info!(
            open_files = got,
            wanted = want,
            "the open-file limit is below what the default connection cap needs; connection caps are lowered to fit (raise it with ulimit -n)"
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::ignored_jvm_env;

    #[test]
    fn names_the_set_jvm_variables_only() {
        let env = |k: &str| match k {
            "JAVA_OPT" => Some("-Xmx2g".to_owned()),
            "HEAP_OPTS" => Some(String::new()),
            "PATH" => Some("/bin".to_owned()),
            _ => None,
        };
        assert_eq!(ignored_jvm_env(env), vec!["JAVA_OPT"]);
    }
}
