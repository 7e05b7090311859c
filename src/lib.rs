//! A wire-compatible replacement for Apache RocketMQ's name server and broker.
//!
//! Module map:
//! - [`remoting`]: the sans-io protocol layer. Frames, the JSON and ROCKETMQ header encodings,
//!   request and response codes, typed custom headers and JSON bodies. No sockets, no tokio.
//! - [`net`]: the tokio transport. A capped, idle-timed server that dispatches decoded requests
//!   to a [`net::Service`], and a client that matches responses by `opaque`.
//! - [`namesrv`]: the name server (broker registry, liveness, topic routes, KV config).
//! - [`config`]: Java-properties config files and the key tables behind them.
//! - [`limits`]: every bound the servers enforce, each with its Java origin.

pub mod broker;
pub mod checksum;
pub mod cli;
pub mod config;
pub mod filter;
pub mod grpc;
pub mod ha;
pub mod limits;
pub mod logs;
pub mod message;
pub mod namesrv;
pub mod net;
pub mod remoting;
pub mod store;
