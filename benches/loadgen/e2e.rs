//! `e2e` mode of `rmq-loadgen`: send → delivered-to-a-consumer latency through a broker.
//!
//! A fixed-rate producer (SEND_MESSAGE_V2, `--concurrency` workers sharing one connection, as
//! the workers of one Java producer do) writes the wall-clock send time, microseconds since the
//! Unix epoch as 16 ASCII digits, at the start of each body just before sending it. A consumer
//! pulls every queue the way the Java push consumer does (`DefaultMQPushConsumerImpl.pullMessage`):
//! one PULL_MESSAGE in flight per queue, all queues on one connection, long polling
//! (`FLAG_SUSPEND`, `suspendTimeoutMillis` = `BROKER_SUSPEND_MAX_TIME_MILLIS` 15,000, RPC timeout
//! `CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND` 30,000), `pullBatchSize` 32, the next pull sent as soon
//! as a response is handled, starting from each queue's max offset (CONSUME_FROM_LAST_OFFSET).
//! One difference: the subscription (`*`) travels with every pull (`FLAG_SUBSCRIPTION`) instead
//! of being registered by HEART_BEAT. A message's latency is the time its pull response was
//! decoded minus the send time in its body; messages sent in the first `--warmup` seconds are
//! not recorded.
//!
//! Because the stamp is wall-clock time, another process on the same machine can measure the
//! same messages: with `--produce-only` this mode only produces, and the Java
//! `DefaultMQPushConsumer` of `benches/java/E2eConsumer.java` receives and measures.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::store::record::MessageRecord;

use super::scale::max_offset_request;
use super::{TIMEOUT, pull_request_with, report, route, send_request_to};

/// `BROKER_SUSPEND_MAX_TIME_MILLIS` of the Java push consumer.
const SUSPEND_MILLIS: u64 = 15_000;
/// `CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND` of the Java push consumer.
const PULL_RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// `PullSysFlag`: `FLAG_SUSPEND` | `FLAG_SUBSCRIPTION`.
const PULL_SYS_FLAG: i32 = 0x2 | 0x4;
/// `PULL_TIME_DELAY_MILLS_WHEN_EXCEPTION` of the Java push consumer.
const PULL_RETRY_DELAY: Duration = Duration::from_secs(3);
/// Digits of the send-time stamp at the start of a body.
const STAMP_DIGITS: usize = 16;
/// How long to wait, after the last send, for the consumer to receive everything.
const DRAIN_GRACE: Duration = Duration::from_secs(5);
/// Time for every first pull to reach the broker and be suspended before the first send.
const CONSUMER_SETTLE: Duration = Duration::from_millis(500);

/// `e2e` options.
#[derive(Debug, clap::Args)]
pub(crate) struct E2eArgs {
    #[arg(long, default_value = "127.0.0.1:9876")]
    namesrv: String,
    /// Broker address; skips the route lookup (`--queues` then says how many queues).
    #[arg(long)]
    broker: Option<String>,
    /// Queues with `--broker`.
    #[arg(long, default_value_t = 8)]
    queues: i32,
    #[arg(long, default_value = "BenchE2E")]
    topic: String,
    #[arg(long, default_value = "bench_e2e_cg")]
    group: String,
    /// Messages per second.
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Sending workers, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Body size in bytes (at least the 16-digit stamp).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Seconds of producing.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// First seconds whose messages are not recorded.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Only produce (another consumer measures); reports the send latency instead.
    #[arg(long)]
    produce_only: bool,
}

/// Microseconds since the Unix epoch.
fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A body of `size` bytes starting with the current time.
fn stamped_body(size: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(size.max(STAMP_DIGITS));
    b.extend_from_slice(format!("{:016}", now_us()).as_bytes());
    b.resize(size.max(STAMP_DIGITS), b'x');
    b.freeze()
}

/// The send time at the start of a body, if it has one.
fn stamp_of(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body.get(..STAMP_DIGITS)?)
        .ok()?
        .parse()
        .ok()
}

fn new_histogram() -> Result<Histogram<u64>, String> {
    Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).map_err(|e| e.to_string())
}

/// What the consumer received.
struct Tally {
    /// Stamped messages received (warm-up included), to know when everything arrived.
    received: AtomicU64,
    /// Messages without a stamp (not ours).
    foreign: AtomicU64,
    /// Receive − send time of the recorded messages, µs.
    hist: Mutex<Histogram<u64>>,
    /// Messages stamped before this (µs since the epoch) are not recorded.
    record_from: AtomicU64,
}

impl Tally {
    /// Records the messages of one PULL_MESSAGE response body received at `at`.
    fn take(&self, body: &Bytes, at: u64) {
        let from = self.record_from.load(Ordering::Relaxed);
        let mut rest = body.clone();
        let mut latencies = Vec::with_capacity(32);
        let (mut n, mut foreign) = (0, 0);
        while !rest.is_empty() {
            let Ok((record, size)) = MessageRecord::decode(&rest, false) else {
                break;
            };
            match stamp_of(&record.body) {
                Some(t) => {
                    n += 1;
                    if t >= from {
                        latencies.push(at.saturating_sub(t).max(1));
                    }
                }
                None => foreign += 1,
            }
            rest = rest.slice(size.clamp(1, rest.len())..);
        }
        let _ = self.received.fetch_add(n, Ordering::Relaxed);
        let _ = self.foreign.fetch_add(foreign, Ordering::Relaxed);
        if let Ok(mut h) = self.hist.lock() {
            for l in latencies {
                let _ = h.record(l);
            }
        }
    }
}

/// One queue's pull loop, as the push consumer runs it; runs until aborted.
async fn consume_queue(
    client: Arc<RemotingClient>,
    addr: String,
    (topic, group): (String, String),
    queue: i32,
    mut offset: i64,
    tally: Arc<Tally>,
) {
    loop {
        let req = pull_request_with(&group, &topic, queue, offset, PULL_SYS_FLAG, SUSPEND_MILLIS);
        let r = match client.invoke(&addr, req, PULL_RPC_TIMEOUT).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("pull {topic}/{queue}@{offset}: {e}");
                tokio::time::sleep(PULL_RETRY_DELAY).await;
                continue;
            }
        };
        let at = now_us();
        let next = r
            .ext("nextBeginOffset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(offset);
        match r.code {
            0 => tally.take(&r.body, at),
            19..=21 => {}
            code => {
                eprintln!("pull {topic}/{queue}@{offset}: code {code} {:?}", r.remark);
                tokio::time::sleep(PULL_RETRY_DELAY).await;
            }
        }
        offset = next;
    }
}

/// Starts one pull loop per queue from its max offset.
async fn start_consumer(
    a: &E2eArgs,
    addr: &str,
    queues: i32,
    tally: &Arc<Tally>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let client = Arc::new(RemotingClient::new());
    let mut tasks = Vec::new();
    for q in 0..queues {
        let r = client
            .invoke(addr, max_offset_request(&a.topic, q), TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let offset = r
            .ext("offset")
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| format!("GET_MAX_OFFSET {}/{q}: code {}", a.topic, r.code))?;
        tasks.push(tokio::spawn(consume_queue(
            Arc::clone(&client),
            addr.to_owned(),
            (a.topic.clone(), a.group.clone()),
            q,
            offset,
            Arc::clone(tally),
        )));
    }
    tokio::time::sleep(CONSUMER_SETTLE).await;
    Ok(tasks)
}

/// Sends at `a.rate` for `a.duration` s; returns sent, errors and the send latency.
async fn produce_fixed(
    a: &E2eArgs,
    addr: &str,
    queues: i32,
) -> Result<(u64, u64, Histogram<u64>), String> {
    let client = Arc::new(RemotingClient::new());
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let concurrency = a.concurrency.max(1);
    let interval = Duration::from_secs_f64(concurrency as f64 / a.rate.max(1) as f64);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, addr, topic, size) = (
            Arc::clone(&client),
            addr.to_owned(),
            a.topic.clone(),
            a.size,
        );
        let (sent, errors, stop) = (Arc::clone(&sent), Arc::clone(&errors), Arc::clone(&stop));
        // Workers start spread over one interval, so the sends are evenly spaced.
        let mut next = Instant::now() + interval.mul_f64(w as f64 / concurrency as f64);
        tasks.push(tokio::spawn(async move {
            let mut hist = new_histogram().ok();
            let mut seq = w as u64 * 1_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep_until(next.into()).await;
                seq += 1;
                let queue = i32::try_from(seq % u64::try_from(queues).unwrap_or(1)).unwrap_or(0);
                let req = send_request_to(&topic, queue, queues, &stamped_body(size), seq);
                match client.invoke(&addr, req, TIMEOUT).await {
                    Ok(r) if r.code == 0 => {
                        let _ = sent.fetch_add(1, Ordering::Relaxed);
                        if let Some(h) = hist.as_mut() {
                            let us = u64::try_from(next.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let _ = h.record(us.max(1));
                        }
                    }
                    _ => {
                        let _ = errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                next += interval;
            }
            hist
        }));
    }
    tokio::time::sleep(Duration::from_secs(a.duration)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = new_histogram()?;
    for t in tasks {
        if let Ok(Some(h)) = t.await {
            let _ = all.add(&h);
        }
    }
    Ok((
        sent.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        all,
    ))
}

/// The `e2e` mode.
pub(crate) async fn run(a: E2eArgs) -> Result<(), String> {
    let (addr, queues) = match a.broker.clone() {
        Some(b) => (b, a.queues.max(1)),
        None => route(&RemotingClient::new(), &a.namesrv, &a.topic).await?,
    };
    let tally = Arc::new(Tally {
        received: AtomicU64::new(0),
        foreign: AtomicU64::new(0),
        hist: Mutex::new(new_histogram()?),
        record_from: AtomicU64::new(u64::MAX),
    });
    let consumers = if a.produce_only {
        Vec::new()
    } else {
        start_consumer(&a, &addr, queues, &tally).await?
    };
    tally
        .record_from
        .store(now_us() + a.warmup * 1_000_000, Ordering::Relaxed);
    let started = Instant::now();
    let (sent, errors, send_hist) = produce_fixed(&a, &addr, queues).await?;
    let elapsed = started.elapsed();
    if a.produce_only {
        report(
            &format!("e2e-produce rate={}/s", a.rate),
            sent,
            elapsed,
            &send_hist,
        );
        println!("errors: {errors}");
        return Ok(());
    }
    let drain_until = Instant::now() + DRAIN_GRACE;
    while tally.received.load(Ordering::Relaxed) < sent && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for c in consumers {
        c.abort();
    }
    let received = tally.received.load(Ordering::Relaxed);
    let hist = tally.hist.lock().map_err(|e| e.to_string())?;
    report(&format!("e2e rate={}/s", a.rate), sent, elapsed, &hist);
    println!(
        "e2e received: {received} of {sent} sent ({} recorded after the {} s warm-up, {} not received, {} foreign)",
        hist.len(),
        a.warmup,
        sent.saturating_sub(received),
        tally.foreign.load(Ordering::Relaxed)
    );
    println!("errors: {errors}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_body_carries_its_send_time() {
        let before = now_us();
        let body = stamped_body(1024);
        assert_eq!(body.len(), 1024);
        let t = stamp_of(&body).unwrap_or(0);
        assert!(t >= before && t <= now_us(), "{t} not in [{before}, now]");
        assert_eq!(stamp_of(b"not a stamp at all"), None);
        assert_eq!(stamped_body(4).len(), STAMP_DIGITS);
    }
}
