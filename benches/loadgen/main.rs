//! `rmq-loadgen`: a protocol-level load generator for RocketMQ brokers (ours or Java's).
//!
//! ```text
//! rmq-loadgen produce --namesrv 127.0.0.1:9876 --topic BenchTopic --concurrency 64 --size 1024 --duration 30
//! rmq-loadgen produce ... --rate 5000          # fixed rate; latency measured from the scheduled time
//! rmq-loadgen consume --namesrv 127.0.0.1:9876 --topic BenchTopic --group bench_cg
//! rmq-loadgen route --namesrv 127.0.0.1:9876 --topic BenchTopic --rate 5000 --duration 30
//! rmq-loadgen echo-server --port 29999             # null server: SEND_OK for every request
//! rmq-loadgen produce --broker 127.0.0.1:29999 ...  # no name server: straight to an address
//! rmq-loadgen e2e --namesrv 127.0.0.1:9876 --topic BenchE2E --rate 5000 --duration 30
//! ```
//! It resolves the route through the name server, sends SEND_MESSAGE_V2 exactly as the Java
//! client does (one request in flight per worker), prints progress every second, and ends with
//! throughput and hdrhistogram latency percentiles. `consume` drains every queue from its
//! minimum offset with PULL_MESSAGE and reports messages and bytes per second. `route` sends
//! GET_ROUTEINFO_BY_TOPIC to the name server (at a fixed rate, or as fast as `--concurrency`
//! allows) and reports queries per second and latency. Every mode ends with a `loadgen-cpu:`
//! line (its own user + system clock ticks from `/proc/self/stat`), so a benchmark can put the
//! generator's CPU per message beside the server's. `register`, `spread`, `clients` and
//! `visible` measure scale and send→visible delay (see `scale.rs` and `benches/scale.sh`).
//! `echo-server` is the null server a produce run is compared with (see `echo.rs`); `e2e`
//! measures send → delivered-to-a-long-polling-consumer latency (see `e2e.rs`).

// `serde_json::Value` indexing returns Null instead of panicking, and worker indices are taken
// modulo the vector length, so indexing here cannot panic.
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::header::send::SendMessageRequestHeaderV2;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand};
use tokio::sync::Mutex;

mod e2e;
mod echo;
mod scale;

#[derive(Debug, Parser)]
#[command(name = "rmq-loadgen", about = "RocketMQ protocol load generator")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send messages.
    Produce {
        #[arg(long, default_value = "127.0.0.1:9876")]
        namesrv: String,
        #[arg(long, default_value = "BenchTopic")]
        topic: String,
        /// Workers, each with one request in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Body size in bytes.
        #[arg(long, default_value_t = 1024)]
        size: usize,
        /// Stop after this many messages (0: use --duration).
        #[arg(long, default_value_t = 0)]
        count: u64,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Total messages per second (0: as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Connections to the broker, shared by the workers.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Send straight to this address (no route lookup; e.g. an `echo-server`).
        #[arg(long)]
        broker: Option<String>,
        /// Queues to spread over with `--broker`.
        #[arg(long, default_value_t = 8)]
        queues: i32,
    },
    /// Drain every queue of a topic from its minimum offset.
    Consume {
        #[arg(long, default_value = "127.0.0.1:9876")]
        namesrv: String,
        #[arg(long, default_value = "BenchTopic")]
        topic: String,
        #[arg(long, default_value = "bench_cg")]
        group: String,
        /// Stop after this many seconds even if not drained.
        #[arg(long, default_value_t = 120)]
        duration: u64,
    },
    /// Query a topic's route from the name server.
    Route {
        #[arg(long, default_value = "127.0.0.1:9876")]
        namesrv: String,
        #[arg(long, default_value = "BenchTopic")]
        topic: String,
        /// Workers, each with one query in flight.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Stop after this many seconds.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Total queries per second (0: as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
    /// Register a fake broker with N topics at the name server, then re-register.
    Register {
        #[arg(long, default_value = "127.0.0.1:9876")]
        namesrv: String,
        #[arg(long, default_value = "ScaleTopic")]
        prefix: String,
        #[arg(long, default_value_t = 10_000)]
        topics: u64,
        #[arg(long, default_value_t = 8)]
        queues: i32,
        /// Re-registrations after the first one.
        #[arg(long, default_value_t = 20)]
        rounds: u64,
        /// Server process whose CPU each phase reports.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Keep the connection (so the registration) open this many seconds at the end.
        #[arg(long, default_value_t = 0)]
        hold: u64,
    },
    /// Produce spread over N topics × Q queues, one message per queue per pass.
    Spread {
        /// Broker address (topics are auto-created from TBW102).
        #[arg(long, default_value = "127.0.0.1:10911")]
        broker: String,
        #[arg(long, default_value = "ScaleTopic")]
        prefix: String,
        #[arg(long, default_value_t = 10_000)]
        topics: u64,
        #[arg(long, default_value_t = 8)]
        queues: i32,
        /// Passes over every queue (the first creates the topics).
        #[arg(long, default_value_t = 2)]
        passes: u64,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 1024)]
        size: usize,
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// N client connections heartbeating (producer + consumer data) in G groups.
    Clients {
        #[arg(long, default_value = "127.0.0.1:10911")]
        broker: String,
        #[arg(long, default_value_t = 5_000)]
        count: u64,
        #[arg(long, default_value_t = 50)]
        groups: u64,
        /// Heartbeat rounds after the joining one.
        #[arg(long, default_value_t = 5)]
        rounds: u64,
        #[arg(long, default_value = "BenchTopic")]
        topic: String,
        #[arg(long)]
        server_pid: Option<u32>,
        /// Seconds each steady round is spread over (0: as fast as possible); 30 is a client's
        /// `heartbeatBrokerInterval`.
        #[arg(long, default_value_t = 0)]
        interval: u64,
    },
    /// Max-rate produce; sampled messages are polled for until visible.
    Visible {
        #[arg(long, default_value = "127.0.0.1:10911")]
        broker: String,
        #[arg(long, default_value = "BenchTopic")]
        topic: String,
        #[arg(long, default_value_t = 8)]
        queues: i32,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 1024)]
        size: usize,
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Poll for every Nth message of a worker.
        #[arg(long, default_value_t = 50)]
        sample: u64,
        /// Poll with PULL_MESSAGE instead of GET_MAX_OFFSET.
        #[arg(long)]
        pull: bool,
    },
    /// Null server: answers every request with a SEND_OK-shaped response and does nothing else.
    EchoServer(echo::EchoArgs),
    /// End-to-end latency: fixed-rate produce, long-polling consumer, receive − send time.
    E2e(e2e::E2eArgs),
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// Broker address and queue count of a topic, from the name server.
async fn route(
    client: &RemotingClient,
    namesrv: &str,
    topic: &str,
) -> Result<(String, i32), String> {
    let ext: ExtFields = [("topic", topic)].into_iter().collect();
    let mut req = RemotingCommand::request(105, Some(ext));
    req.version = 479;
    let mut resp = client
        .invoke(namesrv, req.clone(), TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let mut queue_cap = 8;
    if resp.code == 17 {
        // The Java producer's `defaultTopicQueueNums`.
        queue_cap = 4;
        // Like the Java producer: route through the auto-create template; the broker creates
        // the topic on first send.
        let ext: ExtFields = [("topic", "TBW102")].into_iter().collect();
        let mut tbw = RemotingCommand::request(105, Some(ext));
        tbw.version = 479;
        resp = client
            .invoke(namesrv, tbw, TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
    }
    if resp.code != 0 {
        return Err(format!(
            "route of {topic}: code {} {:?}",
            resp.code, resp.remark
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|e| e.to_string())?;
    let addr = v["brokerDatas"][0]["brokerAddrs"]["0"]
        .as_str()
        .ok_or("no master in route")?
        .to_owned();
    let queues = v["queueDatas"][0]["writeQueueNums"]
        .as_i64()
        .unwrap_or(4)
        .min(queue_cap);
    Ok((addr, i32::try_from(queues).unwrap_or(4)))
}

fn send_request(topic: &str, queue: i32, body: &Bytes, seq: u64) -> RemotingCommand {
    send_request_to(topic, queue, 4, body, seq)
}

/// SEND_MESSAGE_V2 with `default_queues` as `defaultTopicQueueNums` (auto-creation size).
fn send_request_to(
    topic: &str,
    queue: i32,
    default_queues: i32,
    body: &Bytes,
    seq: u64,
) -> RemotingCommand {
    let h = SendMessageRequestHeaderV2 {
        a: "bench_pg".into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: default_queues,
        e: queue,
        f: 0,
        g: 0,
        h: 0,
        i: Some(format!("UNIQ_KEY\u{1}{seq:032X}\u{2}WAIT\u{1}true\u{2}")),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: None,
    };
    RemotingCommand::request(310, Some(h.to_ext_fields())).with_body(body.clone())
}

fn report(label: &str, n: u64, elapsed: Duration, hist: &Histogram<u64>) {
    let secs = elapsed.as_secs_f64();
    println!(
        "{label}: {n} msgs in {secs:.1} s = {:.0} msg/s; latency us p50={} p90={} p99={} p999={} max={}",
        n as f64 / secs,
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.9),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max()
    );
}

#[allow(clippy::too_many_arguments)]
async fn produce(
    namesrv: String,
    topic: String,
    concurrency: usize,
    size: usize,
    count: u64,
    duration: u64,
    rate: u64,
    connections: usize,
    direct: Option<(String, i32)>,
) -> Result<(), String> {
    let (addr, queues) = match direct {
        Some(d) => d,
        None => route(&RemotingClient::new(), &namesrv, &topic).await?,
    };
    let clients: Vec<Arc<RemotingClient>> = (0..connections.max(1))
        .map(|_| Arc::new(RemotingClient::new()))
        .collect();
    let body = Bytes::from(vec![b'x'; size]);
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let hist = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?,
    ));
    let started = Instant::now();
    let per_worker_interval =
        (rate > 0).then(|| Duration::from_secs_f64(concurrency as f64 / rate as f64));
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, addr, topic, body) = (
            Arc::clone(&clients[w % clients.len()]),
            addr.clone(),
            topic.clone(),
            body.clone(),
        );
        let (sent, errors, stop, hist) = (
            Arc::clone(&sent),
            Arc::clone(&errors),
            Arc::clone(&stop),
            Arc::clone(&hist),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()));
            let mut next = Instant::now();
            let mut seq = w as u64 * 1_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                if per_worker_interval.is_some() {
                    tokio::time::sleep_until(next.into()).await;
                }
                let scheduled = if per_worker_interval.is_some() {
                    next
                } else {
                    Instant::now()
                };
                seq += 1;
                let queue = i32::try_from(seq % u64::try_from(queues).unwrap_or(4)).unwrap_or(0);
                match client
                    .invoke(&addr, send_request(&topic, queue, &body, seq), TIMEOUT)
                    .await
                {
                    Ok(r) if r.code == 0 => {
                        let _ = local.record(
                            u64::try_from(scheduled.elapsed().as_micros())
                                .unwrap_or(u64::MAX)
                                .max(1),
                        );
                        let n = sent.fetch_add(1, Ordering::Relaxed) + 1;
                        if count > 0 && n >= count {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    other => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            match other {
                                Ok(r) => eprintln!("first error: code {} {:?}", r.code, r.remark),
                                Err(e) => eprintln!("first error: {e}"),
                            }
                        }
                    }
                }
                if let Some(iv) = per_worker_interval {
                    next += iv;
                }
            }
            let _ = hist.lock().await.add(&local);
        }));
    }
    let deadline = started + Duration::from_secs(duration);
    let mut last = 0;
    let mut ticks = 0u32;
    // Check every 10 ms (so a --count run's elapsed time is not rounded up to a second); report every 1 s.
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        ticks += 1;
        if count == 0 && Instant::now() >= deadline {
            stop.store(true, Ordering::Relaxed);
        }
        if !ticks.is_multiple_of(100) {
            continue;
        }
        let n = sent.load(Ordering::Relaxed);
        eprintln!(
            "[{:>4.0}s] sent {n} ({}/s) errors {}",
            started.elapsed().as_secs_f64(),
            n - last,
            errors.load(Ordering::Relaxed)
        );
        last = n;
    }
    for t in tasks {
        let _ = t.await;
    }
    let label = if rate > 0 {
        format!("produce rate={rate}/s size={size}")
    } else {
        format!("produce concurrency={concurrency} size={size}")
    };
    report(
        &label,
        sent.load(Ordering::Relaxed),
        started.elapsed(),
        &*hist.lock().await,
    );
    println!("errors: {}", errors.load(Ordering::Relaxed));
    Ok(())
}

/// PULL_MESSAGE of up to 32 messages, subscription `*` sent along, no long polling.
fn pull_request(group: &str, topic: &str, queue: i32, offset: i64) -> RemotingCommand {
    pull_request_with(group, topic, queue, offset, 4, 0)
}

/// PULL_MESSAGE of up to 32 messages with `sys_flag` (`PullSysFlag` bits) and a broker-side
/// suspend time (long polling when `sys_flag` has `FLAG_SUSPEND`, 0x2).
fn pull_request_with(
    group: &str,
    topic: &str,
    queue: i32,
    offset: i64,
    sys_flag: i32,
    suspend_millis: u64,
) -> RemotingCommand {
    let ext: ExtFields = [
        ("consumerGroup", group.to_owned()),
        ("topic", topic.to_owned()),
        ("queueId", queue.to_string()),
        ("queueOffset", offset.to_string()),
        ("maxMsgNums", "32".to_owned()),
        ("sysFlag", sys_flag.to_string()),
        ("commitOffset", "0".to_owned()),
        ("suspendTimeoutMillis", suspend_millis.to_string()),
        ("subscription", "*".to_owned()),
        ("subVersion", "0".to_owned()),
        ("expressionType", "TAG".to_owned()),
    ]
    .into_iter()
    .collect();
    RemotingCommand::request(11, Some(ext))
}

async fn consume(
    namesrv: String,
    topic: String,
    group: String,
    duration: u64,
) -> Result<(), String> {
    let ns = RemotingClient::new();
    let (addr, queues) = route(&ns, &namesrv, &topic).await?;
    let msgs = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(duration);
    let mut tasks = Vec::new();
    for q in 0..queues {
        let (addr, topic, group, msgs, bytes) = (
            addr.clone(),
            topic.clone(),
            group.clone(),
            Arc::clone(&msgs),
            Arc::clone(&bytes),
        );
        tasks.push(tokio::spawn(async move {
            let client = RemotingClient::new();
            let mut offset = 0i64;
            while Instant::now() < deadline {
                let Ok(r) = client
                    .invoke(&addr, pull_request(&group, &topic, q, offset), TIMEOUT)
                    .await
                else {
                    break;
                };
                let next: i64 = r
                    .ext("nextBeginOffset")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(offset);
                match r.code {
                    0 => {
                        let _ = msgs.fetch_add(
                            u64::try_from(next - offset).unwrap_or(0),
                            Ordering::Relaxed,
                        );
                        let _ = bytes.fetch_add(r.body.len() as u64, Ordering::Relaxed);
                        offset = next;
                    }
                    21 | 20 => offset = next,
                    _ => break,
                }
            }
        }));
    }
    let waiter = tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    });
    let mut last = 0;
    let mut ticks = 0u32;
    // Check every 10 ms (so the drain time is not rounded up to a second); report every 1 s.
    while !waiter.is_finished() {
        tokio::time::sleep(Duration::from_millis(10)).await;
        ticks += 1;
        if !ticks.is_multiple_of(100) {
            continue;
        }
        let n = msgs.load(Ordering::Relaxed);
        eprintln!(
            "[{:>4.0}s] consumed {n} ({}/s)",
            started.elapsed().as_secs_f64(),
            n - last
        );
        last = n;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = msgs.load(Ordering::Relaxed);
    println!(
        "consume: {n} msgs in {secs:.1} s = {:.0} msg/s, {:.1} MiB/s",
        n as f64 / secs,
        bytes.load(Ordering::Relaxed) as f64 / secs / 1_048_576.0
    );
    Ok(())
}

/// GET_ROUTEINFO_BY_TOPIC at a fixed or unbounded rate; reports queries per second and latency.
async fn route_load(
    namesrv: String,
    topic: String,
    concurrency: usize,
    duration: u64,
    rate: u64,
) -> Result<(), String> {
    let concurrency = concurrency.max(1);
    let client = Arc::new(RemotingClient::new());
    // Fails early (and clearly) when the topic has no route.
    let _ = route(&client, &namesrv, &topic).await?;
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(duration);
    let per_worker_interval =
        (rate > 0).then(|| Duration::from_secs_f64(concurrency as f64 / rate as f64));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, namesrv, topic, done, errors) = (
            Arc::clone(&client),
            namesrv.clone(),
            topic.clone(),
            Arc::clone(&done),
            Arc::clone(&errors),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
            let mut next = Instant::now();
            while Instant::now() < deadline {
                if per_worker_interval.is_some() {
                    tokio::time::sleep_until(next.into()).await;
                }
                let scheduled = if per_worker_interval.is_some() {
                    next
                } else {
                    Instant::now()
                };
                let ext: ExtFields = [("topic", topic.as_str())].into_iter().collect();
                let mut req = RemotingCommand::request(105, Some(ext));
                req.version = 479;
                match client.invoke(&namesrv, req, TIMEOUT).await {
                    Ok(r) if r.code == 0 => {
                        let _ = done.fetch_add(1, Ordering::Relaxed);
                        if let Some(h) = hist.as_mut() {
                            let us =
                                u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX);
                            let _ = h.record(us.max(1));
                        }
                    }
                    _ => {
                        let _ = errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Some(iv) = per_worker_interval {
                    next += iv;
                }
            }
            hist
        }));
    }
    let mut all = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())?;
    for t in tasks {
        if let Ok(Some(h)) = t.await {
            let _ = all.add(&h);
        }
    }
    let label = if rate > 0 {
        format!("route rate={rate}/s")
    } else {
        format!("route concurrency={concurrency}")
    };
    report(
        &label,
        done.load(Ordering::Relaxed),
        started.elapsed(),
        &all,
    );
    println!("errors: {}", errors.load(Ordering::Relaxed));
    Ok(())
}

/// This process's user + system CPU in clock ticks (fields 14 and 15 of `/proc/self/stat`).
fn own_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it start past its ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut f = rest.split_whitespace().skip(11);
    let user: u64 = f.next()?.parse().ok()?;
    let system: u64 = f.next()?.parse().ok()?;
    Some(user + system)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let r = rt.block_on(async move {
        match args.cmd {
            Cmd::Produce {
                namesrv,
                topic,
                concurrency,
                size,
                count,
                duration,
                rate,
                connections,
                broker,
                queues,
            } => {
                produce(
                    namesrv,
                    topic,
                    concurrency,
                    size,
                    count,
                    duration,
                    rate,
                    connections,
                    broker.map(|b| (b, queues.max(1))),
                )
                .await
            }
            Cmd::Consume {
                namesrv,
                topic,
                group,
                duration,
            } => consume(namesrv, topic, group, duration).await,
            Cmd::Route {
                namesrv,
                topic,
                concurrency,
                duration,
                rate,
            } => route_load(namesrv, topic, concurrency, duration, rate).await,
            Cmd::Register {
                namesrv,
                prefix,
                topics,
                queues,
                rounds,
                server_pid,
                hold,
            } => scale::register(namesrv, prefix, topics, queues, rounds, server_pid, hold).await,
            Cmd::Spread {
                broker,
                prefix,
                topics,
                queues,
                passes,
                concurrency,
                size,
                server_pid,
            } => {
                scale::spread(
                    broker,
                    prefix,
                    topics,
                    queues,
                    passes,
                    concurrency,
                    size,
                    server_pid,
                )
                .await
            }
            Cmd::Clients {
                broker,
                count,
                groups,
                rounds,
                topic,
                server_pid,
                interval,
            } => scale::clients(broker, count, groups, rounds, topic, server_pid, interval).await,
            Cmd::Visible {
                broker,
                topic,
                queues,
                concurrency,
                size,
                duration,
                sample,
                pull,
            } => {
                scale::visible(
                    broker,
                    topic,
                    queues,
                    concurrency,
                    size,
                    duration,
                    sample,
                    pull,
                )
                .await
            }
            Cmd::EchoServer(a) => echo::serve(a).await,
            Cmd::E2e(a) => e2e::run(a).await,
        }
    });
    if let Some(t) = own_cpu_ticks() {
        println!("loadgen-cpu: {t} ticks");
    }
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmq-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
