//! Where the servers' logs go: the console (stdout for the servers, stderr for tools) and,
//! when `ROCKETMQ_LOG_DIR` names a directory, daily-rolling files split by component as Java's
//! logback configuration splits them under `~/logs/rocketmqlogs/` (`rmq.broker.logback.xml`,
//! `rmq.namesrv.logback.xml`): `broker.log`, `store.log`, `remoting.log`, `pop.log`,
//! `transaction.log`, `namesrv.log`, and `<server>_default.log` for the rest. Each file rolls
//! daily and carries its date (`broker.2026-12-02.log`); Java's current file has no suffix.

use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::OnceLock;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::limits::{LOG_FILE_BUFFERED_LINES, LOG_FILES_KEPT};

/// The environment variable naming the log directory (Java's `${user.home}/logs/rocketmqlogs`;
/// set it to that for Java's layout). Unset or empty: console only.
pub const LOG_DIR_ENV: &str = "ROCKETMQ_LOG_DIR";

/// Which console stream the process logs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// Servers: logs are their output.
    Stdout,
    /// Tools whose stdout is data (`rmqstore dump`).
    Stderr,
}

/// The log files of one server, and the file for targets no rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `mqbroker`.
    Broker,
    /// `mqnamesrv`.
    Namesrv,
    /// `rocketmq-standalone`: both sets.
    Standalone,
}

/// The file a tracing target (module path) is written to, as Java's loggers are routed:
/// `RocketmqStore` → store.log, `RocketmqRemoting` → remoting.log, `RocketmqPop` → pop.log,
/// `RocketmqTransaction` → transaction.log, `RocketmqBroker` → broker.log,
/// `RocketmqNamesrv` → namesrv.log.
#[must_use]
pub fn file_for(target: &str, server: Server) -> &'static str {
    let t = target.strip_prefix("rocketmq_rs::").unwrap_or(target);
    if t.starts_with("store") {
        "store.log"
    } else if t.starts_with("net") || t.starts_with("remoting") {
        "remoting.log"
    } else if t.starts_with("broker::pop") || t.starts_with("broker::processor::pop") {
        "pop.log"
    } else if t.starts_with("broker::transaction")
        || t.starts_with("broker::processor::transaction")
    {
        "transaction.log"
    } else if t.starts_with("broker") || t.starts_with("grpc") || t.starts_with("ha") {
        "broker.log"
    } else if t.starts_with("namesrv") {
        "namesrv.log"
    } else if server == Server::Namesrv {
        "namesrv_default.log"
    } else {
        "broker_default.log"
    }
}

/// Files a server writes.
fn files_of(server: Server) -> &'static [&'static str] {
    match server {
        Server::Broker => &[
            "broker.log",
            "store.log",
            "remoting.log",
            "pop.log",
            "transaction.log",
            "broker_default.log",
        ],
        Server::Namesrv => &["namesrv.log", "remoting.log", "namesrv_default.log"],
        Server::Standalone => &[
            "broker.log",
            "store.log",
            "remoting.log",
            "pop.log",
            "transaction.log",
            "namesrv.log",
            "broker_default.log",
        ],
    }
}

/// Keeps the file writers' background threads alive for the life of the process.
static GUARDS: OnceLock<Vec<WorkerGuard>> = OnceLock::new();

/// Installs the global subscriber: the console at `default_level` (or `RUST_LOG`), plus the
/// rolling files when [`LOG_DIR_ENV`] is set. Returns the directory files go to, if any.
pub fn init(default_level: &str, console: Console, server: Server) -> Option<String> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level))
    };
    let console_layer = match console {
        Console::Stdout => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .with_writer(std::io::stdout)
            .with_filter(filter())
            .boxed(),
        Console::Stderr => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(filter())
            .boxed(),
    };
    let dir = std::env::var(LOG_DIR_ENV).ok().filter(|d| !d.is_empty());
    let mut layers = vec![console_layer];
    let mut guards = Vec::new();
    let mut failure = None;
    if let Some(dir) = &dir {
        for &name in files_of(server) {
            match file_layer(Path::new(dir), name, server) {
                Ok((layer, guard)) => {
                    layers.push(layer.with_filter(filter()).boxed());
                    guards.push(guard);
                }
                Err(e) => failure = Some(format!("{dir}/{name}: {e}")),
            }
        }
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    let _ = GUARDS.set(guards);
    if let Some(f) = failure {
        tracing::error!(file = %f, "cannot open a log file; logging to the console only for it");
    }
    dir
}

type BoxedLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

fn file_layer(
    dir: &Path,
    name: &'static str,
    server: Server,
) -> Result<(BoxedLayer, WorkerGuard), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let stem = name.strip_suffix(".log").unwrap_or(name);
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(stem)
        .filename_suffix("log")
        .max_log_files(LOG_FILES_KEPT)
        .build(dir)
        .map_err(|e| e.to_string())?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_FILE_BUFFERED_LINES)
        .lossy(true)
        .finish(appender);
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .with_filter(filter_fn(move |meta| {
            file_for(meta.target(), server) == name
        }))
        .boxed();
    Ok((layer, guard))
}

#[cfg(test)]
mod tests {
    use super::{Server, file_for, files_of};

    #[test]
    fn targets_go_to_javas_files() {
        for (target, server, file) in [
            ("rocketmq_rs::store::flush", Server::Broker, "store.log"),
            ("rocketmq_rs::net::server", Server::Namesrv, "remoting.log"),
            (
                "rocketmq_rs::broker::pop::revive",
                Server::Broker,
                "pop.log",
            ),
            (
                "rocketmq_rs::broker::processor::pop_ack",
                Server::Broker,
                "pop.log",
            ),
            (
                "rocketmq_rs::broker::transaction_check",
                Server::Broker,
                "transaction.log",
            ),
            ("rocketmq_rs::broker::startup", Server::Broker, "broker.log"),
            (
                "rocketmq_rs::grpc::consume",
                Server::Standalone,
                "broker.log",
            ),
            (
                "rocketmq_rs::namesrv::route_info",
                Server::Namesrv,
                "namesrv.log",
            ),
            ("mqnamesrv", Server::Namesrv, "namesrv_default.log"),
            ("tonic::transport", Server::Broker, "broker_default.log"),
        ] {
            assert_eq!(file_for(target, server), file, "{target}");
            assert!(
                files_of(server).contains(&file),
                "{target}: {file} is written"
            );
        }
    }
}
