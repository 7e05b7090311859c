//! Prometheus metrics (`metricsExporterType=PROM`, `metricsPromExporterPort`, default 5557) with
//! the RocketMQ 5 metric names (`BrokerMetricsConstant`), served as OpenMetrics text on
//! `GET /metrics`; the families live in [`super::prom`] and [`super::prom_gauges`]. With
//! `metricsExporterType=LOG` the same series are logged periodically instead.
//! A minimal HTTP/1.1 responder: one request per connection, bounded request size and time.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::Broker;
use super::prom;
use super::request_pools::Pool;
use crate::limits::METRIC_LOG_MIN_INTERVAL_MS;

/// Largest request head read; anything longer is answered 431.
const MAX_REQUEST_BYTES: usize = 8192;
/// Time a scraper has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The exposition text (OpenMetrics), gauges read at scrape time.
#[must_use]
pub fn render(broker: &Broker) -> String {
    let g = &broker.metrics.gauges;
    let (producers, consumers) = broker.clients.connection_counts();
    let _ = g.topic_number.set(count(broker.topics.all().len()));
    let _ = g
        .consumer_group_number
        .set(count(broker.groups.all().len()));
    let _ = g.producer_connections.set(count(producers));
    let _ = g.consumer_connections.set(count(consumers));
    let _ = g.long_polling_held.set(count(broker.holds.held()));
    let _ = g.broker_permission.set(i64::from(broker.permission()));
    for pool in Pool::ALL {
        // Java's gauge has no load-balance executor.
        if pool != Pool::LoadBalance {
            let labels = prom::ProcessorLabels {
                processor: pool.label(),
            };
            let size = broker.pools.figures(pool).size;
            let _ = g
                .processor_watermark
                .get_or_create(&labels)
                .set(count(size));
        }
    }
    let _serial = g.scrape.lock();
    g.set_store(broker);
    super::prom_lag::consumer_gauges(broker);
    broker.metrics.encode()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
        "HTTP/1.1 {status}\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Serves `/metrics` when `metricsExporterType=PROM`, or logs the families every
/// `metricLoggingExporterIntervalInMills` when `LOG`, until the task is aborted.
pub async fn run(broker: Arc<Broker>) {
    let exporter = broker.config_str("metricsExporterType");
    if exporter.eq_ignore_ascii_case("LOG") {
        log_periodically(&broker).await;
        return;
    }
    if !exporter.eq_ignore_ascii_case("PROM") {
        if exporter.eq_ignore_ascii_case("OTLP_GRPC") {
            warn!("metricsExporterType=OTLP_GRPC is not supported; no metrics are exported");
        }
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

/// Java's `LOG` exporter (`OtlpJsonLoggingMetricExporter` on a `PeriodicMetricReader`): every
/// interval, each series is logged at INFO under the `rocketmq_metrics` target, one line per
/// sample, in the exposition format rather than Java's OTLP JSON.
async fn log_periodically(broker: &Broker) {
    let ms = broker
        .config_i64("metricLoggingExporterIntervalInMills")
        .max(METRIC_LOG_MIN_INTERVAL_MS);
    let period = Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
    info!(
        interval_ms = ms,
        "metrics logged periodically (metricsExporterType=LOG)"
    );
    loop {
        tokio::time::sleep(period).await;
        for line in render(broker).lines().filter(|l| !l.starts_with('#')) {
            info!(target: "rocketmq_metrics", "{line}");
        }
    }
}
