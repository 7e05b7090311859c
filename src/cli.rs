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

/// What a server binary runs: the name server alone, or a message store as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// `mqnamesrv`: request handling only; its workers take every core.
    NameServer,
    /// `mqbroker` and the standalone server: the store's own threads run beside the workers.
    Store,
}

/// Environment variable that sets the number of runtime worker threads (tokio's own name).
pub const WORKER_THREADS_ENV: &str = "TOKIO_WORKER_THREADS";

/// Runtime worker threads for `cores` CPUs, unless [`WORKER_THREADS_ENV`] says otherwise.
///
/// A broker's store keeps threads of its own busy under load: the dispatcher
/// (`ReputMessageService`), the CommitLog flusher and the prefault thread, together about a
/// core's worth at a 20,000 msg/s produce. With one worker per core as well, the workers are
/// woken across cores for every burst (a futex wake and a context switch each), so a broker
/// leaves one core to its store threads: `cores - 1` workers, at least one. On the 2-core
/// bench machine one worker cut the broker's CPU per message at 20,000 msg/s from 20.9–21.3 to
/// 17.9–18.3 µs (futex calls per message 0.14 → 0.06, context switches 0.20 → 0.11), and
/// produce TPS at 64 in flight stayed within the run-to-run spread (benches/RESULTS.md).
#[must_use]
pub fn worker_threads(serves: Serves, cores: usize, env: Option<&str>) -> usize {
    if let Some(n) = env
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    match serves {
        Serves::NameServer => cores.max(1),
        Serves::Store => cores.saturating_sub(1).max(1),
    }
}

/// The multi-threaded runtime every server binary runs on ([`worker_threads`] workers). Also
/// raises the open-file limit towards what two listeners at the default connection cap and the
/// store need (Java's start scripts run `ulimit -n` for the same reason); each server's cap is
/// then held under whatever limit is in force (`net::connection_cap`).
pub fn runtime(serves: Serves) -> std::io::Result<tokio::runtime::Runtime> {
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
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let env = std::env::var(WORKER_THREADS_ENV).ok();
    let workers = worker_threads(serves, cores, env.as_deref());
    tracing::info!(
        workers,
        cores,
        "runtime worker threads (set {WORKER_THREADS_ENV} to change)"
    );
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::{Serves, ignored_jvm_env, worker_threads};

    #[test]
    fn a_store_leaves_one_core_to_its_threads_unless_told() {
        assert_eq!(worker_threads(Serves::Store, 2, None), 1);
        assert_eq!(worker_threads(Serves::Store, 1, None), 1);
        assert_eq!(worker_threads(Serves::Store, 8, None), 7);
        assert_eq!(worker_threads(Serves::NameServer, 2, None), 2);
        assert_eq!(worker_threads(Serves::Store, 2, Some("4")), 4);
        // Nonsense falls back to the default rather than failing the start.
        assert_eq!(worker_threads(Serves::Store, 2, Some("0")), 1);
        assert_eq!(worker_threads(Serves::Store, 4, Some("many")), 3);
    }

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
