//! Start-up plumbing shared by the binaries: logging to stderr and the tokio runtime.

/// Logs to stderr at `default_level` unless `RUST_LOG` says otherwise.
pub fn init_logging(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The multi-threaded runtime every server binary runs on. Also raises the open-file limit so
/// that each server can hold its full connection cap (main and VIP ports, plus a margin).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let want = u64::try_from(crate::limits::SERVER_MAX_CONNECTIONS * 3).unwrap_or(u64::MAX);
    let got = crate::store::mapped_file::raise_open_file_limit(want);
    if got < want {
        tracing::warn!(
            open_files = got,
            wanted = want,
            "the open-file limit is below what the connection cap needs; raise it with ulimit -n"
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}
