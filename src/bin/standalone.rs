//! `rocketmq-standalone`: a name server and a broker in one process, on the defaults
//! (name server 9876, broker 10911 and VIP 10909, gRPC endpoint 8081 for the 5.x SDKs), data
//! under `./rocketmq-data`. A Java client
//! with `NAMESRV_ADDR=127.0.0.1:9876` needs no other set-up.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use rocketmq_rs::broker::{config, startup};
use rocketmq_rs::namesrv::{self, NameServer};
use tracing::error;

#[derive(Debug, Parser)]
#[command(
    name = "rocketmq-standalone",
    about = "Name server and broker in one process"
)]
struct Args {
    /// Data directory (store under `store/`, name-server KV under `namesrv/`).
    #[arg(long, default_value = "rocketmq-data")]
    data_dir: PathBuf,
    /// Name-server port.
    #[arg(long, default_value_t = 9876)]
    namesrv_port: u16,
    /// Optional broker config file (Java properties); its keys override the defaults.
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let args = Args::parse();
    rocketmq_rs::cli::init_logging(
        "info",
        rocketmq_rs::cli::Console::Stdout,
        rocketmq_rs::cli::Server::Standalone,
    );
    let data = match std::path::absolute(&args.data_dir) {
        Ok(p) => p,
        Err(e) => {
            error!("bad data dir: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ns_cfg = namesrv::config::defaults();
    let port = args.namesrv_port.to_string();
    let kv = data
        .join("namesrv")
        .join("kvConfig.json")
        .display()
        .to_string();
    let props = data
        .join("namesrv")
        .join("namesrv.properties")
        .display()
        .to_string();
    for (k, v) in [
        ("listenPort", port.as_str()),
        ("kvConfigPath", kv.as_str()),
        ("configStorePath", props.as_str()),
    ] {
        let _ = ns_cfg.set(k, v);
    }
    let (mut broker_cfg, mut explicit) = match startup::load_config(args.config_file.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if !explicit.iter().any(|k| k == "storePathRootDir") {
        let _ = broker_cfg.set(
            "storePathRootDir",
            &data.join("store").display().to_string(),
        );
        explicit.push("storePathRootDir".into());
    }
    if !explicit.iter().any(|k| k == "namesrvAddr") {
        let _ = broker_cfg.set("namesrvAddr", &format!("127.0.0.1:{}", args.namesrv_port));
    }
    // The gRPC endpoint for the 5.x SDKs is on by default here (`grpcServerPort`, 8081).
    if !explicit.iter().any(|k| k == "enableProxy") {
        let _ = broker_cfg.set("enableProxy", "true");
    }
    if !explicit.iter().any(|k| k == "brokerName") {
        let _ = broker_cfg.set("brokerName", "broker-a");
    }
    config::finish(&mut broker_cfg, &explicit);
    let runtime = match rocketmq_rs::cli::runtime(rocketmq_rs::cli::Serves::Store) {
        Ok(r) => r,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match namesrv::bind(&ns_cfg).await {
            Ok(l) => l,
            Err(e) => {
                error!("cannot listen on {}: {e}", ns_cfg.get("listenPort"));
                return ExitCode::FAILURE;
            }
        };
        println!(
            "The Name Server boot success. serializeType=JSON, address 0.0.0.0:{}",
            ns_cfg.get("listenPort")
        );
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let ns = Arc::new(NameServer::new(ns_cfg));
        let mut ns_rx = stop_rx.clone();
        let ns_task = tokio::spawn(namesrv::run(listener, ns, async move {
            let _ = ns_rx.wait_for(|v| *v).await;
        }));
        let mut broker_rx = stop_rx;
        let result = startup::run(
            broker_cfg,
            async move {
                tokio::select! {
                    () = rocketmq_rs::net::shutdown_signal() => {}
                    _ = broker_rx.wait_for(|v| *v) => {}
                }
            },
            |line| println!("{line}"),
        )
        .await;
        let _ = stop_tx.send(true);
        let _ = ns_task.await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                error!("{e}");
                ExitCode::FAILURE
            }
        }
    })
}
