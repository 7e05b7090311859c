//! Prometheus metrics (`metricsExporterType=PROM`, `metricsPromExporterPort`, default 5557) with
//! the RocketMQ 5 metric names (`BrokerMetricsConstant`), served as text on `GET /metrics`.
//! A minimal HTTP/1.1 responder: one request per connection, bounded request size and time.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::Broker;

/// Largest request head read; anything longer is answered 431.
const MAX_REQUEST_BYTES: usize = 8192;
/// Time a scraper has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The exposition text.
#[must_use]
pub fn render(broker: &Broker) -> String {
    let labels = format!(
        "cluster=\"{}\",node_type=\"broker\",node_id=\"{}\"",
        broker.cluster, broker.name
    );
    let (producers, consumers) = broker.clients.connection_counts();
    let stats = &broker.stats;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{{labels}}} {value}"
        );
    };
    metric(
        "rocketmq_messages_in_total",
        "counter",
        "Messages stored.",
        stats.put_messages.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "rocketmq_messages_out_total",
        "counter",
        "Messages delivered to consumers.",
        stats.got_messages.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "rocketmq_throughput_in_total",
        "counter",
        "Bytes stored.",
        stats.put_bytes.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "rocketmq_topic_number",
        "gauge",
        "Topics on this broker.",
        broker.topics.all().len().to_string(),
    );
    metric(
        "rocketmq_consumer_group_number",
        "gauge",
        "Subscription groups on this broker.",
        broker.groups.all().len().to_string(),
    );
    metric(
        "rocketmq_producer_connections",
        "gauge",
        "Producer connections.",
        producers.to_string(),
    );
    metric(
        "rocketmq_consumer_connections",
        "gauge",
        "Consumer connections.",
        consumers.to_string(),
    );
    metric(
        "rocketmq_storage_size",
        "gauge",
        "CommitLog bytes stored.",
        (broker.store.max_phy_offset() - broker.store.min_phy_offset()).to_string(),
    );
    metric(
        "rocketmq_long_polling_held",
        "gauge",
        "Pull requests held by long polling.",
        broker.holds.held().to_string(),
    );
    out
}

async fn answer(mut stream: tokio::net::TcpStream, broker: Arc<Broker>) {
    let mut buf = vec![0u8; MAX_REQUEST_BYTES];
    let mut n = 0usize;
    let head = tokio::time::timeout(REQUEST_TIMEOUT, async {
        while n < buf.len() {
            let Some(rest) = buf.get_mut(n..) else { break };
            match stream.read(rest).await {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
            if buf
                .get(..n)
                .is_some_and(|b| b.windows(4).any(|w| w == b"\r\n\r\n"))
            {
                break;
            }
        }
    })
    .await;
    let request = buf.get(..n).unwrap_or_default();
    let (status, body) = if head.is_err() || n >= MAX_REQUEST_BYTES {
        ("431 Request Header Fields Too Large", String::new())
    } else if request.starts_with(b"GET /metrics") {
        ("200 OK", render(&broker))
    } else {
        ("404 Not Found", "try /metrics\n".to_owned())
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Serves `/metrics` when `metricsExporterType=PROM`, until the task is aborted.
pub async fn run(broker: Arc<Broker>) {
    if !broker
        .config_str("metricsExporterType")
        .eq_ignore_ascii_case("PROM")
    {
        return;
    }
    let port = broker.config_i64("metricsPromExporterPort");
    let listener = match TcpListener::bind(format!("0.0.0.0:{port}")).await {
        Ok(l) => l,
        Err(e) => {
            warn!(port, error = %e, "cannot serve Prometheus metrics");
            return;
        }
    };
    info!(port, "Prometheus metrics on /metrics");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => drop(tokio::spawn(answer(stream, Arc::clone(&broker)))),
            Err(e) => {
                warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
