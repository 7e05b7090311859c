//! `mqbroker`: the broker, with the Java start script's flags.
//!
//! `-c <file>` loads `broker.conf` (Java properties), `-n` sets the name-server list (default:
//! the `NAMESRV_ADDR` variable), `-p` prints every key and exits, `-m` prints the important ones,
//! `--enable-proxy` serves the gRPC endpoint of the 5.x SDKs on `grpcServerPort`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rocketmq_rs::broker::{config, startup};
use tracing::error;

#[derive(Debug, Parser)]
#[command(
    name = "mqbroker",
    about = "RocketMQ-compatible broker",
    disable_help_flag = true
)]
struct Args {
    /// Broker config properties file.
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
    /// Name server address list, e.g. `192.168.0.1:9876;192.168.0.2:9876`.
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
    /// Print all config items and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config: bool,
    /// Print important config items and exit.
    #[arg(short = 'm', long = "printImportantConfig")]
    print_important: bool,
    /// Serve the RocketMQ 5 gRPC endpoint on `grpcServerPort` (8081), like Java's
    /// `mqbroker --enable-proxy` (the proxy in local mode); same as `enableProxy=true`.
    #[arg(long = "enable-proxy")]
    enable_proxy: bool,
    /// Print help.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let args = Args::parse();
    rocketmq_rs::cli::init_logging(
        "info",
        rocketmq_rs::cli::Console::Stdout,
        rocketmq_rs::cli::Server::Broker,
    );
    let (mut cfg, mut explicit) = match startup::load_config(args.config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(n) = &args.namesrv_addr {
        let _ = cfg.set("namesrvAddr", n);
        explicit.push("namesrvAddr".into());
    }
    if args.enable_proxy {
        let _ = cfg.set("enableProxy", "true");
        explicit.push("enableProxy".into());
    }
    config::finish(&mut cfg, &explicit);
    if args.print_config || args.print_important {
        let items: Vec<(&str, &str)> = if args.print_config {
            cfg.in_declaration_order().collect()
        } else {
            cfg.important().collect()
        };
        for (k, v) in items {
            println!("{k}={v}");
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match rocketmq_rs::cli::runtime(rocketmq_rs::cli::Serves::Store) {
        Ok(r) => r,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(startup::run(
        cfg,
        rocketmq_rs::net::shutdown_signal(),
        |line| println!("{line}"),
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}
