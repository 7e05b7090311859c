//! Helpers shared by the integration tests: fixtures, an in-process name server, raw frames.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::time::Duration;

use bytes::Bytes;
use rocketmq_rs::namesrv::{self, NameServer};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::ExtFields;
use rocketmq_rs::remoting::header::send::SendMessageRequestHeaderV2;
use rocketmq_rs::remoting::{RemotingCommand, frame};
use rocketmq_rs::store::record::MessageRecord;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Directory of the golden frames.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("protocol")
        .join("fixtures")
}

/// Reads a `.hex` fixture: `#` lines are comments, the rest is hex of one whole frame.
pub fn read_hex(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let hex: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert!(
        hex.len().is_multiple_of(2),
        "{}: odd number of hex digits",
        path.display()
    );
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// One fixture by file stem.
pub fn fixture(name: &str) -> Vec<u8> {
    read_hex(&fixtures_dir().join(format!("{name}.hex")))
}

/// A running in-process name server.
pub struct TestNamesrv {
    pub addr: String,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestNamesrv {
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "rmqrs-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = namesrv::config::defaults();
        config.set("listenPort", "0").unwrap();
        config.set("bindAddress", "127.0.0.1").unwrap();
        config
            .set(
                "kvConfigPath",
                &dir.join("kvConfig.json").display().to_string(),
            )
            .unwrap();
        config
            .set(
                "configStorePath",
                &dir.join("namesrv.properties").display().to_string(),
            )
            .unwrap();
        for (k, v) in extra {
            config.set(k, v).unwrap();
        }
        let listener = namesrv::bind(&config).await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = Arc::new(NameServer::new(config));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(namesrv::run(listener, server, async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for TestNamesrv {
    /// The directory (and any broker store placed in it) goes with the name server, also when a
    /// test panics.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ N.fetch_add(1, Ordering::Relaxed)
}

/// Writes raw bytes and reads back exactly one frame (prefix included).
pub async fn roundtrip_raw(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
    stream.write_all(bytes).await.unwrap();
    read_frame(stream)
        .await
        .expect("connection closed before a response")
}

/// Reads one frame, prefix included; `None` on EOF.
pub async fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    if stream.read_exact(&mut len).await.is_err() {
        return None;
    }
    let n = u32::from_be_bytes(len) as usize;
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).await.ok()?;
    let mut out = len.to_vec();
    out.extend_from_slice(&buf);
    Some(out)
}

/// Decodes a whole frame (prefix included).
pub fn decode(bytes: &[u8]) -> RemotingCommand {
    frame::decode(Bytes::copy_from_slice(&bytes[4..])).unwrap()
}

/// Encodes a command as a whole frame.
pub fn encode(cmd: &RemotingCommand) -> Vec<u8> {
    frame::encode_to_bytes(cmd).unwrap().to_vec()
}

/// A running in-process broker (with its own name server), on free ports.
pub struct TestBroker {
    pub ns: TestNamesrv,
    pub addr: String,
    pub store_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

/// A port `p` with `p - 2` (VIP) and `p + 1` (HA) free as well. Ports handed out earlier in
/// this process are never handed out again: tests run in parallel, and a broker binds its
/// ports only after this check, so two tests could otherwise pick overlapping triples.
pub fn free_port_pair() -> u16 {
    static TAKEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap();
    for _ in 0..200 {
        let base = 20000 + (rand_suffix() % 10000) as u16;
        let ports = [base - 2, base - 1, base, base + 1];
        let ok = ports.iter().all(|p| !taken.contains(p))
            && [base, base - 2, base + 1]
                .iter()
                .all(|p| std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok());
        if ok {
            taken.extend(ports);
            return base;
        }
    }
    panic!("no free port pair");
}

impl TestBroker {
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        Self::start_with_store(None, extra).await
    }

    /// A broker exporting Prometheus metrics (`metricsExporterType=PROM`) on a free port, which
    /// is returned beside it for `scrape_metrics`.
    #[allow(dead_code)]
    pub async fn start_with_prom() -> (Self, String) {
        let port = free_port();
        let b = Self::start(&[
            ("metricsExporterType", "PROM"),
            ("metricsPromExporterPort", port.as_str()),
        ])
        .await;
        (b, port)
    }

    /// Starts a broker expected to refuse its settings: the start error.
    #[allow(dead_code)]
    pub async fn start_error(extra: &[(&str, &str)]) -> String {
        let ns = TestNamesrv::start(&[]).await;
        let mut cfg = rocketmq_rs::broker::config::defaults();
        let port = free_port_pair();
        for (k, v) in [
            ("listenPort", port.to_string()),
            ("brokerIP1", "127.0.0.1".to_owned()),
            ("namesrvAddr", ns.addr.clone()),
            (
                "storePathRootDir",
                ns.dir.join("store").display().to_string(),
            ),
            ("mappedFileSizeCommitLog", "4194304".to_owned()),
            ("maxHashSlotNum", "50000".to_owned()),
            ("maxIndexNum", "200000".to_owned()),
        ] {
            cfg.set(k, &v).unwrap();
        }
        for (k, v) in extra {
            cfg.set(k, v).unwrap();
        }
        rocketmq_rs::broker::config::finish(&mut cfg, &[]);
        let r = rocketmq_rs::broker::startup::run(cfg, std::future::pending(), |_| {}).await;
        ns.stop().await;
        r.expect_err("the broker started and stopped")
    }

    /// Starts a broker on `store` (kept after `stop`), or on a fresh store inside the name
    /// server's directory when `None`.
    pub async fn start_with_store(store: Option<PathBuf>, extra: &[(&str, &str)]) -> Self {
        let ns = TestNamesrv::start(&[]).await;
        let store_dir = store.unwrap_or_else(|| ns.dir.join("store"));
        let port = free_port_pair();
        let mut cfg = rocketmq_rs::broker::config::defaults();
        for (k, v) in [
            ("listenPort", port.to_string()),
            ("brokerIP1", "127.0.0.1".to_owned()),
            ("brokerName", "broker-t".to_owned()),
            ("namesrvAddr", ns.addr.clone()),
            ("storePathRootDir", store_dir.display().to_string()),
            ("mappedFileSizeCommitLog", "4194304".to_owned()),
            // Java's index file reserves 420 MB; tests index a few thousand messages at most.
            ("maxHashSlotNum", "50000".to_owned()),
            ("maxIndexNum", "200000".to_owned()),
        ] {
            cfg.set(k, &v).unwrap();
        }
        for (k, v) in extra {
            cfg.set(k, v).unwrap();
        }
        rocketmq_rs::broker::config::finish(&mut cfg, &[]);
        let (tx, rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel::<String>();
        let task = tokio::spawn(rocketmq_rs::broker::startup::run(
            cfg,
            async move {
                let _ = rx.await;
            },
            move |line| {
                let _ = ready_tx.send(line);
            },
        ));
        let line = ready_rx.await.expect("broker did not start");
        assert!(line.contains("boot success"), "{line}");
        Self {
            ns,
            addr: format!("127.0.0.1:{port}"),
            store_dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
        self.ns.stop().await;
    }
}

/// Default request timeout of the helpers below.
pub const T: Duration = Duration::from_secs(5);

pub async fn send(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    queue: i32,
    body: &str,
    props: &str,
) -> RemotingCommand {
    send_born(c, addr, topic, queue, body, props, 1_700_000_000_000).await
}

/// [`send`] with the producer's born timestamp (ms) given.
pub async fn send_born(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    queue: i32,
    body: &str,
    props: &str,
    born: i64,
) -> RemotingCommand {
    let h = SendMessageRequestHeaderV2 {
        a: "pg".into(),
        b: topic.into(),
        c: "TBW102".into(),
        d: 4,
        e: queue,
        f: 0,
        g: born,
        h: 0,
        i: Some(props.into()),
        j: Some(0),
        k: Some(false),
        l: None,
        m: Some(false),
        n: Some("broker-t".into()),
    };
    let req = RemotingCommand::request(310, Some(h.to_ext_fields()))
        .with_body(Bytes::copy_from_slice(body.as_bytes()));
    c.invoke(addr, req, T).await.unwrap()
}

pub async fn pull(
    c: &RemotingClient,
    addr: &str,
    topic: &str,
    queue: i32,
    offset: i64,
    suspend_ms: i64,
    sub: &str,
) -> RemotingCommand {
    let sys_flag = 0x4 | if suspend_ms > 0 { 0x2 } else { 0 };
    let ext: ExtFields = [
        ("consumerGroup", "cg"),
        ("topic", topic),
        ("queueId", &queue.to_string()),
        ("queueOffset", &offset.to_string()),
        ("maxMsgNums", "32"),
        ("sysFlag", &sys_flag.to_string()),
        ("commitOffset", "0"),
        ("suspendTimeoutMillis", &suspend_ms.to_string()),
        ("subscription", sub),
        ("subVersion", "1"),
        ("expressionType", "TAG"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    c.invoke(
        addr,
        RemotingCommand::request(11, Some(ext)),
        Duration::from_secs(30),
    )
    .await
    .unwrap()
}

pub fn records(body: &Bytes) -> Vec<MessageRecord> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let (r, n) = MessageRecord::decode(&body.slice(pos..), true).unwrap();
        out.push(r);
        pos += n;
    }
    out
}

/// Test logs, filtered by `RUST_LOG` (off by default), captured per test.
pub fn init_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A free loopback port, as a config value.
pub fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

/// The broker's `/metrics` answer (head and body), retried while the exporter starts.
pub async fn scrape_metrics(port: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for _ in 0..50 {
        if let Ok(mut s) = TcpStream::connect(format!("127.0.0.1:{port}")).await {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).await.unwrap();
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no metrics exporter on port {port}");
}
