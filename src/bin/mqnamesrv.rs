//! `mqnamesrv`: the name server, with the Java start script's flags.
//!
//! `-c <file>` loads Java-properties config, `-p` prints every key and exits, `-n` is accepted
//! for compatibility. On start it prints `The Name Server boot success. serializeType=JSON, …`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use rocketmq_rs::config::properties;
use rocketmq_rs::namesrv::{self, NameServer};
use tracing::{error, warn};

#[derive(Debug, Parser)]
#[command(
    name = "mqnamesrv",
    about = "RocketMQ-compatible name server",
    disable_help_flag = true
)]
struct Args {
    /// Name server config properties file.
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
    /// Print all config items and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config: bool,
    /// Name server address list (accepted for compatibility; unused by a name server).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
    /// Print help.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
}

fn load_config(args: &Args) -> Result<rocketmq_rs::config::table::ConfigValues, String> {
    let mut config = namesrv::config::defaults();
    if let Some(path) = &args.config_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let entries = properties::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for e in entries {
            if let Err(err) = config.set(&e.key, &e.value) {
                warn!("{}:{}: {err}", path.display(), e.line);
            }
        }
        // As in Java, the -c file becomes the place updates are persisted to.
        let _ = config.set("configStorePath", &path.display().to_string());
        println!("load config properties file OK, {}", path.display());
    }
    Ok(config)
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let args = Args::parse();
    rocketmq_rs::cli::init_logging(
        "info",
        rocketmq_rs::cli::Console::Stdout,
        rocketmq_rs::cli::Server::Namesrv,
    );
    let config = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.print_config {
        for (k, v) in config.in_declaration_order() {
            println!("{k}={v}");
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match rocketmq_rs::cli::runtime(rocketmq_rs::cli::Serves::NameServer) {
        Ok(r) => r,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match namesrv::bind(&config).await {
            Ok(l) => l,
            Err(e) => {
                error!(
                    "cannot listen on {}:{}: {e}",
                    config.get("bindAddress"),
                    config.get("listenPort")
                );
                return ExitCode::FAILURE;
            }
        };
        println!(
            "The Name Server boot success. serializeType=JSON, address {}:{}",
            config.get("bindAddress"),
            config.get("listenPort")
        );
        let server = Arc::new(NameServer::new(config));
        namesrv::run(listener, server, rocketmq_rs::net::shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}
