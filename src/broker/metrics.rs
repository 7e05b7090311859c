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
use super::prom_gauges::{STORE, StoreTopicLabels, TimerFlowLabels};
use super::request_pools::Pool;
use crate::limits::{METRIC_LOG_MIN_INTERVAL_MS, METRIC_SERIES_PER_FAMILY};
use crate::store::mapped_file::disk_space;
use crate::store::message_store::now_millis;

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
    store_gauges(broker);
    super::prom_lag::consumer_gauges(broker);
    broker.metrics.encode()
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn bytes(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `DefaultStoreMetricsManager`'s gauges, the timer ones and `rocketmq_half_messages`.
fn store_gauges(broker: &Broker) {
    let g = &broker.metrics.gauges;
    let store = &broker.store;
    let max = store.max_phy_offset();
    let now = now_millis();
    if let Some(d) = disk_space(&store.config().root) {
        let _ = g
            .storage_size
            .get_or_create(&STORE)
            .set(bytes(d.total.saturating_sub(d.free)));
    }
    let _ = g
        .flush_behind
        .get_or_create(&STORE)
        .set(bytes(max.saturating_sub(store.flushed_offset())));
    let _ = g
        .dispatch_behind
        .get_or_create(&STORE)
        .set(bytes(max.saturating_sub(store.dispatched_offset())));
    g.message_reserve_time.clear();
    if let Some(earliest) = earliest_message_time(broker) {
        let _ = g
            .message_reserve_time
            .get_or_create(&STORE)
            .set(now - earliest);
    }
    if let Some(timer) = &broker.timer {
        // Java records `getDequeueBehind()`: seconds behind, under a millisecond unit.
        let read = timer.read_time_ms();
        let _ = g
            .timer_dequeue_latency
            .get_or_create(&STORE)
            .set((now - read).max(0) / 1000);
        let _ = g
            .timer_enqueue_lag
            .get_or_create(&STORE)
            .set(timer.enqueue_behind_messages());
        let _ = g
            .timer_enqueue_latency
            .get_or_create(&STORE)
            .set(timer.metrics.enqueue_behind_ms());
        let (enqueued, dequeued) = timer.metrics.flow();
        for (family, counts) in [
            (&g.timer_enqueue_total, enqueued),
            (&g.timer_dequeue_total, dequeued),
        ] {
            for (topic, n) in counts {
                let labels = TimerFlowLabels {
                    topic: (!topic.is_empty()).then_some(topic),
                };
                let c = family.get_or_create(&labels);
                let _ = c.inc_by(n.saturating_sub(c.get()));
            }
        }
        g.timing_messages.clear();
        for (topic, n) in timer.metrics.counts().into_iter().take(METRIC_SERIES_PER_FAMILY) {
            let labels = StoreTopicLabels {
                storage_type: STORE.storage_type,
                storage_medium: STORE.storage_medium,
                topic,
            };
            let _ = g.timing_messages.get_or_create(&labels).set(n);
        }
    }
    g.half_messages.clear();
    for (topic, n) in broker.metrics.half_messages() {
        let _ = g
            .half_messages
            .get_or_create(&prom::TopicLabels { topic })
            .set(n);
    }
}

/// `getEarliestMessageTime`: store time of the first message of the CommitLog.
fn earliest_message_time(broker: &Broker) -> Option<i64> {
    let store = &broker.store;
    let min = store.min_phy_offset();
    if min >= store.max_phy_offset() {
        return None;
    }
    let record = store.message_at(min)?;
    crate::store::record::MessageRecord::decode(&record, false)
        .ok()
        .map(|(r, _)| r.store_timestamp)
        .filter(|t| *t > 0)
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
    info!(interval_ms = ms, "metrics logged periodically (metricsExporterType=LOG)");
    loop {
        tokio::time::sleep(period).await;
        for line in render(broker).lines().filter(|l| !l.starts_with('#')) {
            info!(target: "rocketmq_metrics", "{line}");
        }
    }
}
