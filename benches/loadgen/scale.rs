//! Scale and visibility modes of `rmq-loadgen` (see `benches/scale.sh`):
//!
//! * `register`: a fake broker registers N topics × Q queues with the name server (one timed
//!   first registration, then re-registrations with the same data version, as the 30 s timer
//!   sends them).
//! * `spread`: produce spread over N topics × Q queues (the first pass creates the topics and
//!   their ConsumeQueues; later passes are steady state).
//! * `clients`: N client connections, each sending HEART_BEAT with producer and consumer data
//!   (G groups), a join round and then steady rounds.
//! * `visible`: produce with 64 in flight and, for sampled messages, poll GET_MAX_OFFSET (or
//!   PULL) right after SEND_OK until the message is visible; reports the delay percentiles.
//!
//! With `--server-pid` each phase also prints the server's CPU (user + system clock ticks from
//! `/proc/PID/stat`), so a run gives CPU per operation at two sizes back to back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use rocketmq_rs::checksum::java_crc32;
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::header::namesrv::RegisterBrokerRequestHeader;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand};
use tokio::sync::Mutex;

use super::{TIMEOUT, send_request_to};

/// User + system clock ticks of `pid` (fields 14 and 15 of `/proc/PID/stat`).
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut f = rest.split_whitespace().skip(11);
    let user: u64 = f.next()?.parse().ok()?;
    let system: u64 = f.next()?.parse().ok()?;
    Some(user + system)
}

/// Prints one phase's server CPU: total ticks and microseconds per operation.
struct Phase {
    pid: Option<u32>,
    ticks0: u64,
    started: Instant,
}

impl Phase {
    fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            ticks0: pid.and_then(cpu_ticks).unwrap_or(0),
            started: Instant::now(),
        }
    }

    fn end(&self, label: &str, ops: u64) {
        let wall = self.started.elapsed().as_secs_f64();
        let ticks = self
            .pid
            .and_then(cpu_ticks)
            .map(|t| t.saturating_sub(self.ticks0));
        let hz = 100.0;
        match ticks {
            Some(t) => println!(
                "phase {label}: ops={ops} wall_s={wall:.3} server_ticks={t} server_us_per_op={:.2} wall_us_per_op={:.2}",
                t as f64 * 1e6 / hz / ops.max(1) as f64,
                wall * 1e6 / ops.max(1) as f64
            ),
            None => println!(
                "phase {label}: ops={ops} wall_s={wall:.3} wall_us_per_op={:.2}",
                wall * 1e6 / ops.max(1) as f64
            ),
        }
    }
}

fn topic_name(prefix: &str, i: u64) -> String {
    format!("{prefix}{i}")
}

/// The REGISTER_BROKER body of a broker serving `topics` topics of `queues` queues.
fn register_body(prefix: &str, topics: u64, queues: i32, counter: i64) -> Vec<u8> {
    let mut table = String::with_capacity(usize::try_from(topics).unwrap_or(0) * 200);
    for i in 0..topics {
        if i > 0 {
            table.push(',');
        }
        let t = topic_name(prefix, i);
        table.push_str(&format!(
            "\"{t}\":{{\"attributes\":{{}},\"order\":false,\"perm\":6,\"readQueueNums\":{queues},\"topicFilterType\":\"SINGLE_TAG\",\"topicName\":\"{t}\",\"topicSysFlag\":0,\"writeQueueNums\":{queues}}}"
        ));
    }
    let dv = format!("{{\"counter\":{counter},\"stateVersion\":0,\"timestamp\":1700000000000}}");
    format!(
        "{{\"filterServerList\":[],\"topicConfigSerializeWrapper\":{{\"dataVersion\":{dv},\"mappingDataVersion\":{dv},\"topicConfigTable\":{{{table}}},\"topicQueueMappingDetailMap\":{{}},\"topicQueueMappingInfoMap\":{{}}}}}}"
    )
    .into_bytes()
}

fn register_request(broker: &str, addr: &str, body: &[u8]) -> RemotingCommand {
    let h = RegisterBrokerRequestHeader {
        broker_name: broker.to_owned(),
        broker_addr: addr.to_owned(),
        cluster_name: "ScaleCluster".to_owned(),
        ha_server_addr: "127.0.0.1:1".to_owned(),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed: Some(false),
        body_crc32: Some(java_crc32(body)),
    };
    let mut r = RemotingCommand::request(103, Some(h.to_ext_fields())).with_body(body.to_vec());
    r.version = 479;
    r
}

/// `register`: one first registration of `topics` topics, then `rounds` re-registrations.
pub(crate) async fn register(
    namesrv: String,
    prefix: String,
    topics: u64,
    queues: i32,
    rounds: u64,
    server_pid: Option<u32>,
    hold: u64,
) -> Result<(), String> {
    let client = RemotingClient::new();
    let broker = format!("scale-broker-{topics}");
    let addr = format!("127.0.0.1:{}", 20_000 + topics % 10_000);
    let body = register_body(&prefix, topics, queues, 1);
    println!("register body: {} bytes for {topics} topics", body.len());
    let ph = Phase::start(server_pid);
    let r = client
        .invoke(&namesrv, register_request(&broker, &addr, &body), TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    if r.code != 0 {
        return Err(format!("register: code {} {:?}", r.code, r.remark));
    }
    ph.end(&format!("register-first topics={topics}"), 1);
    let ph = Phase::start(server_pid);
    for _ in 0..rounds {
        let r = client
            .invoke(&namesrv, register_request(&broker, &addr, &body), TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        if r.code != 0 {
            return Err(format!("re-register: code {} {:?}", r.code, r.remark));
        }
    }
    ph.end(&format!("register-again topics={topics}"), rounds);
    // A changed data version: every topic's queue data is rewritten.
    let changed = register_body(&prefix, topics, queues, 2);
    let ph = Phase::start(server_pid);
    for i in 0..rounds {
        let body = if i % 2 == 0 { &changed } else { &body };
        let r = client
            .invoke(&namesrv, register_request(&broker, &addr, body), TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        if r.code != 0 {
            return Err(format!("re-register: code {} {:?}", r.code, r.remark));
        }
    }
    ph.end(&format!("register-changed topics={topics}"), rounds);
    if hold > 0 {
        // The name server drops a broker's routes when its connection closes.
        println!("holding the registration for {hold} s");
        tokio::time::sleep(Duration::from_secs(hold)).await;
    }
    Ok(())
}

/// `spread`: `passes` × (topics × queues) messages, one per queue per pass, 64 in flight.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn spread(
    broker: String,
    prefix: String,
    topics: u64,
    queues: i32,
    passes: u64,
    concurrency: usize,
    size: usize,
    server_pid: Option<u32>,
) -> Result<(), String> {
    let per_pass = topics * u64::try_from(queues.max(1)).unwrap_or(1);
    let body = Bytes::from(vec![b'x'; size]);
    let clients: Vec<Arc<RemotingClient>> =
        (0..4).map(|_| Arc::new(RemotingClient::new())).collect();
    for pass in 0..passes {
        let next = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let ph = Phase::start(server_pid);
        let mut tasks = Vec::new();
        for w in 0..concurrency.max(1) {
            let (client, broker, prefix, body, next, errors) = (
                Arc::clone(&clients[w % clients.len()]),
                broker.clone(),
                prefix.clone(),
                body.clone(),
                Arc::clone(&next),
                Arc::clone(&errors),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= per_pass {
                        break;
                    }
                    let q = u64::try_from(queues.max(1)).unwrap_or(1);
                    let topic = topic_name(&prefix, n / q);
                    let queue = i32::try_from(n % q).unwrap_or(0);
                    let seq = pass * per_pass + n;
                    let req = send_request_to(&topic, queue, queues, &body, seq);
                    match client.invoke(&broker, req, TIMEOUT).await {
                        Ok(r) if r.code == 0 => {}
                        other => {
                            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                match other {
                                    Ok(r) => {
                                        eprintln!("first error: code {} {:?}", r.code, r.remark)
                                    }
                                    Err(e) => eprintln!("first error: {e}"),
                                }
                            }
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let label = if pass == 0 { "create" } else { "steady" };
        ph.end(
            &format!("spread-{label} topics={topics} queues={queues}"),
            per_pass,
        );
        println!("errors: {}", errors.load(Ordering::Relaxed));
    }
    Ok(())
}

fn heartbeat_body(i: u64, groups: u64, topic: &str) -> Vec<u8> {
    let g = i % groups.max(1);
    format!(
        "{{\"clientID\":\"127.0.0.1@scale{i}\",\"consumerDataSet\":[{{\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"scale_cg{g}\",\"messageModel\":\"CLUSTERING\",\"subscriptionDataSet\":[{{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\",\"subVersion\":1,\"tagsSet\":[],\"topic\":\"{topic}\"}}],\"unitMode\":false}}],\"producerDataSet\":[{{\"groupName\":\"scale_pg{g}\"}},{{\"groupName\":\"CLIENT_INNER_PRODUCER\"}}]}}"
    )
    .into_bytes()
}

/// `clients`: `count` connections heartbeat once each (join), then `rounds` more times.
pub(crate) async fn clients(
    broker: String,
    count: u64,
    groups: u64,
    rounds: u64,
    topic: String,
    server_pid: Option<u32>,
    interval: u64,
) -> Result<(), String> {
    let conns: Vec<Arc<RemotingClient>> = (0..count)
        .map(|_| Arc::new(RemotingClient::new()))
        .collect();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..count)
            .map(|i| heartbeat_body(i, groups, &topic))
            .collect(),
    );
    for c in &conns {
        let _ = c.connection(&broker).await.map_err(|e| e.to_string())?;
    }
    let conns = Arc::new(conns);
    for round in 0..=rounds {
        let next = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let ph = Phase::start(server_pid);
        let round_start = tokio::time::Instant::now();
        // Steady rounds with an interval: heartbeat n goes out at n / count of the interval.
        let pace = (round > 0 && interval > 0).then(|| Duration::from_secs(interval));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (conns, bodies, broker, next, errors) = (
                Arc::clone(&conns),
                Arc::clone(&bodies),
                broker.clone(),
                Arc::clone(&next),
                Arc::clone(&errors),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let (Some(c), Some(b)) = (
                        conns.get(usize::try_from(n).unwrap_or(usize::MAX)),
                        bodies.get(usize::try_from(n).unwrap_or(usize::MAX)),
                    ) else {
                        break;
                    };
                    if let Some(p) = pace {
                        let at = p.mul_f64(n as f64 / count.max(1) as f64);
                        tokio::time::sleep_until(round_start + at).await;
                    }
                    let mut req = RemotingCommand::request(34, None).with_body(b.clone());
                    req.version = 479;
                    match c.invoke(&broker, req, TIMEOUT).await {
                        Ok(r) if r.code == 0 => {}
                        _ => {
                            let _ = errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let label = if round == 0 { "join" } else { "steady" };
        ph.end(
            &format!("heartbeat-{label} clients={count} groups={groups}"),
            count,
        );
        if errors.load(Ordering::Relaxed) > 0 {
            println!("errors: {}", errors.load(Ordering::Relaxed));
        }
        if round == 0 {
            println!("joined: {count} clients connected and heartbeating");
        }
        if let Some(p) = pace {
            tokio::time::sleep_until(round_start + p).await;
        }
    }
    if let Some(pid) = server_pid {
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        println!("server {rss} with {count} clients");
    }
    Ok(())
}

/// GET_MAX_OFFSET of one queue.
pub(crate) fn max_offset_request(topic: &str, queue: i32) -> RemotingCommand {
    let ext: ExtFields = [("topic", topic.to_owned()), ("queueId", queue.to_string())]
        .into_iter()
        .collect();
    RemotingCommand::request(30, Some(ext))
}

/// Polls until the message at `offset` of (`topic`, `queue`) is visible; returns how many
/// polls it took (1: visible at the first look, so the delay is one round trip).
async fn wait_visible(
    client: &RemotingClient,
    broker: &str,
    topic: &str,
    queue: i32,
    offset: i64,
    pull: bool,
) -> Result<u64, String> {
    let give_up = Instant::now() + Duration::from_secs(10);
    let mut polls = 0;
    while Instant::now() < give_up {
        polls += 1;
        let req = if pull {
            super::pull_request("scale_visible_cg", topic, queue, offset)
        } else {
            max_offset_request(topic, queue)
        };
        let r = client
            .invoke(broker, req, TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let seen = if pull {
            r.code == 0
        } else {
            r.ext("offset")
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|m| m > offset)
        };
        if seen {
            return Ok(polls);
        }
        tokio::task::yield_now().await;
    }
    Err(format!("{topic}/{queue}@{offset} not visible in 10 s"))
}

/// `visible`: max-rate produce; every `sample`-th message of a worker is polled for.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn visible(
    broker: String,
    topic: String,
    queues: i32,
    concurrency: usize,
    size: usize,
    duration: u64,
    sample: u64,
    pull: bool,
) -> Result<(), String> {
    let body = Bytes::from(vec![b'x'; size]);
    let clients: Vec<Arc<RemotingClient>> =
        (0..4).map(|_| Arc::new(RemotingClient::new())).collect();
    let poller = Arc::new(RemotingClient::new());
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let first_look = Arc::new(AtomicU64::new(0));
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
    ));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency.max(1) {
        let (client, poller, broker, topic, body) = (
            Arc::clone(&clients[w % clients.len()]),
            Arc::clone(&poller),
            broker.clone(),
            topic.clone(),
            body.clone(),
        );
        let (stop, sent, failures, hist, first_look) = (
            Arc::clone(&stop),
            Arc::clone(&sent),
            Arc::clone(&failures),
            Arc::clone(&hist),
            Arc::clone(&first_look),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
            let mut seq = w as u64 * 1_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let q = i32::try_from(seq % u64::try_from(queues.max(1)).unwrap_or(1)).unwrap_or(0);
                let req = send_request_to(&topic, q, queues, &body, seq);
                let Ok(r) = client.invoke(&broker, req, TIMEOUT).await else {
                    continue;
                };
                if r.code != 0 {
                    continue;
                }
                let _ = sent.fetch_add(1, Ordering::Relaxed);
                if !seq.is_multiple_of(sample.max(1)) {
                    continue;
                }
                let acked = Instant::now();
                let Some(offset) = r.ext("queueOffset").and_then(|v| v.parse::<i64>().ok()) else {
                    continue;
                };
                match wait_visible(&poller, &broker, &topic, q, offset, pull).await {
                    Ok(polls) => {
                        if polls == 1 {
                            let _ = first_look.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some(h) = local.as_mut() {
                            let us = u64::try_from(acked.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let _ = h.record(us.max(1));
                        }
                    }
                    Err(e) => {
                        if failures.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("{e}");
                        }
                    }
                }
            }
            if let Some(h) = local {
                let _ = hist.lock().await.add(&h);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(duration)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let h = hist.lock().await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "visible ({}) concurrency={concurrency}: {} msgs in {secs:.1} s = {:.0} msg/s; {} sampled; send->visible us p50={} p90={} p99={} p999={} max={}; visible at the first poll: {}; not visible: {}",
        if pull { "pull" } else { "max-offset" },
        sent.load(Ordering::Relaxed),
        sent.load(Ordering::Relaxed) as f64 / secs,
        h.len(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        first_look.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    Ok(())
}
