//! Prometheus metrics (`metricsExporterType=PROM`, `metricsPromExporterPort`, default 5557) with
//! the RocketMQ 5 metric names (`BrokerMetricsConstant`), served as OpenMetrics text on
//! `GET /metrics`; the families live in [`super::prom`].
//! A minimal HTTP/1.1 responder: one request per connection, bounded request size and time.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tracing::{info, warn};

use super::Broker;
use super::prom::{self, GroupLabels};
use crate::limits::METRIC_SERIES_PER_FAMILY;

/// Largest request head read; anything longer is answered 431.
const MAX_REQUEST_BYTES: usize = 8192;
/// Time a scraper has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The exposition text (OpenMetrics), gauges read at scrape time.
#[must_use]
pub fn render(broker: &Broker) -> String {
    let g = &broker.metrics.gauges;
    let (producers, consumers) = broker.clients.connection_counts();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let bytes = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let _ = g.topic_number.set(count(broker.topics.all().len()));
    let _ = g
        .consumer_group_number
        .set(count(broker.groups.all().len()));
    let _ = g.producer_connections.set(count(producers));
    let _ = g.consumer_connections.set(count(consumers));
    let store = &broker.store;
    let max = store.max_phy_offset();
    let _ = g
        .storage_size
        .set(bytes(max.saturating_sub(store.min_phy_offset())));
    let _ = g
        .flush_behind
        .set(bytes(max.saturating_sub(store.flushed_offset())));
    let _ = g
        .dispatch_behind
        .set(bytes(max.saturating_sub(store.dispatched_offset())));
    let _ = g.long_polling_held.set(count(broker.holds.held()));
    let _ = g.broker_permission.set(i64::from(broker.permission()));
    for pool in crate::broker::request_pools::Pool::ALL {
        // Java's gauge has no load-balance executor.
        if pool != crate::broker::request_pools::Pool::LoadBalance {
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
    consumer_gauges(broker);
    broker.metrics.encode()
}

/// Java's `ConsumerLagCalculator` (with `useStaticSubscription=false`): every online group of
/// the subscription table, each topic it subscribes (retry topics skipped), summed over the
/// topic's read queues. Lag counts from the committed offset, ready from the last pull's next
/// offset, inflight between the two.
fn consumer_gauges(broker: &Broker) {
    let g = &broker.metrics.gauges;
    g.consumer_lag.clear();
    g.consumer_ready.clear();
    g.consumer_inflight.clear();
    let mut series = 0usize;
    for config in broker.groups.all() {
        let group = config.group_name.as_str();
        let Some(online) = broker.clients.consumer_group(group) else {
            continue;
        };
        let is_pop = online.consume_type == "CONSUME_POP";
        for topic in online.subscriptions.keys() {
            if topic.starts_with("%RETRY%") || series >= METRIC_SERIES_PER_FAMILY {
                continue;
            }
            let Some(tc) = broker.topics.get(topic) else {
                continue;
            };
            let (mut lag, mut ready, mut inflight) = (0i64, 0i64, 0i64);
            for qid in 0..tc.read_queue_nums.max(0) {
                let max = broker
                    .store
                    .queue(topic, qid)
                    .map_or(0, |q| i64::try_from(q.max_offset()).unwrap_or(i64::MAX));
                let committed = broker.offsets.query(group, topic, qid).filter(|o| *o >= 0);
                let pulled = broker.metrics.pull_offset(group, topic, qid);
                lag += (max - committed.unwrap_or(max)).max(0);
                ready += (max - pulled.unwrap_or(max)).max(0);
                let pulled = pulled.unwrap_or(0);
                inflight += (pulled - committed.unwrap_or(pulled)).max(0);
            }
            let labels = GroupLabels {
                consumer_group: group.to_owned(),
                topic: topic.clone(),
                is_retry: is_pop,
                is_system: prom::is_system(topic, group),
            };
            let _ = g.consumer_lag.get_or_create(&labels).set(lag);
            let _ = g.consumer_ready.get_or_create(&labels).set(ready);
            let _ = g.consumer_inflight.get_or_create(&labels).set(inflight);
            series += 1;
        }
    }
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
