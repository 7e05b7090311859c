//! The name-server address endpoint, RocketMQ's fourth discovery method.
//!
//! A Java client (or broker) started with no name-server address asks
//! `http://<rocketmq.namesrv.domain>/rocketmq/<rocketmq.namesrv.domain.subgroup>` (`MixAll.getWSAddr`;
//! port 8080 when the domain names none; a client with a unit name appends `-<unit>?nofix=1`,
//! `DefaultTopAddressing.fetchNSAddr`) and reads the body's first line, `host:port;host:port`, as
//! its name-server list. It asks again every two minutes. In Java deployments this is an external
//! web server; here the name server answers it itself when `addressServerPort` is set.
//!
//! This module owns that endpoint: a minimal HTTP/1.1 responder (one `GET`/`HEAD` per
//! connection, bounded request head, time and connection count, see `crate::limits`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::config::table::ConfigValues;
use crate::limits::{
    ADDRESS_SERVER_MAX_CONNECTIONS, ADDRESS_SERVER_MAX_REQUEST_BYTES,
    ADDRESS_SERVER_REQUEST_TIMEOUT,
};

/// What the endpoint serves, read from the name-server config at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressSettings {
    /// `addressServerPort`; 0 turns the endpoint off.
    pub port: u16,
    /// `addressServerNamesrvAddr`: the list served. Empty: the address the request arrived on,
    /// with the name server's `listenPort`.
    pub namesrv_addr: String,
    /// `addressServerSubgroup`: the subgroup names answered (`;`-separated).
    pub subgroups: Vec<String>,
    /// The name server's own `listenPort`.
    pub listen_port: String,
    /// `bindAddress`, also used for the endpoint.
    pub bind_address: String,
}

impl AddressSettings {
    /// The settings in `config`.
    #[must_use]
    pub fn from_config(config: &ConfigValues) -> Self {
        Self {
            port: u16::try_from(config.get_i64("addressServerPort")).unwrap_or(0),
            namesrv_addr: config.get("addressServerNamesrvAddr").trim().to_owned(),
            subgroups: config
                .get("addressServerSubgroup")
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            listen_port: config.get("listenPort").to_owned(),
            bind_address: config.get("bindAddress").to_owned(),
        }
    }

    /// The list served to a client that reached us on `local`.
    #[must_use]
    pub fn list_for(&self, local: SocketAddr) -> String {
        if self.namesrv_addr.is_empty() {
            format!("{}:{}", local.ip(), self.listen_port)
        } else {
            self.namesrv_addr.clone()
        }
    }

    /// Whether `target` (the request target, `/rocketmq/<subgroup>[-<unit>][?query]`) names a
    /// subgroup we answer.
    #[must_use]
    pub fn serves(&self, target: &str) -> bool {
        let path = target.split(['?', '#']).next().unwrap_or_default();
        let Some(name) = path.strip_prefix("/rocketmq/") else {
            return false;
        };
        self.subgroups.iter().any(|sg| {
            name == sg
                || name
                    .strip_prefix(sg.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|unit| !unit.is_empty() && !unit.contains('/'))
        })
    }
}

/// The status line and body for one request head.
fn respond(
    head: &[u8],
    settings: &AddressSettings,
    local: SocketAddr,
) -> (&'static str, String, bool) {
    let line_end = head
        .iter()
        .position(|b| *b == b'\r' || *b == b'\n')
        .unwrap_or(head.len());
    let line = std::str::from_utf8(head.get(..line_end).unwrap_or_default()).unwrap_or_default();
    let mut parts = line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return ("405 Method Not Allowed", String::new(), false);
    }
    if settings.serves(target) {
        ("200 OK", settings.list_for(local), head_only)
    } else {
        ("404 Not Found", String::new(), head_only)
    }
}

/// Reads one request head (bounded in size and time) and answers it.
async fn answer(mut stream: TcpStream, settings: Arc<AddressSettings>) {
    let local = match stream.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut buf = vec![0u8; ADDRESS_SERVER_MAX_REQUEST_BYTES];
    let mut n = 0usize;
    let complete = tokio::time::timeout(ADDRESS_SERVER_REQUEST_TIMEOUT, async {
        while n < buf.len() {
            let Some(rest) = buf.get_mut(n..) else { break };
            match stream.read(rest).await {
                Ok(0) | Err(_) => return false,
                Ok(k) => n += k,
            }
            if buf
                .get(..n)
                .is_some_and(|b| b.windows(4).any(|w| w == b"\r\n\r\n"))
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let (status, body, head_only) = if complete {
        respond(buf.get(..n).unwrap_or_default(), &settings, local)
    } else if n >= ADDRESS_SERVER_MAX_REQUEST_BYTES {
        ("431 Request Header Fields Too Large", String::new(), false)
    } else {
        ("408 Request Timeout", String::new(), false)
    };
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        resp.push_str(&body);
    }
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Binds the endpoint when `addressServerPort` is set (`Ok(None)` when it is 0).
pub async fn bind(settings: &AddressSettings) -> std::io::Result<Option<TcpListener>> {
    if settings.port == 0 {
        return Ok(None);
    }
    let addr = format!("{}:{}", settings.bind_address, settings.port);
    TcpListener::bind(addr).await.map(Some)
}

/// Serves the endpoint on `listener` until the task is aborted.
pub async fn run(listener: TcpListener, settings: AddressSettings) {
    info!(
        port = settings.port,
        subgroups = ?settings.subgroups,
        "name-server address endpoint on /rocketmq/<subgroup>"
    );
    let settings = Arc::new(settings);
    let permits = Arc::new(Semaphore::new(ADDRESS_SERVER_MAX_CONNECTIONS));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                    warn!(%peer, "address endpoint at its connection cap; closing");
                    drop(stream);
                    continue;
                };
                let settings = Arc::clone(&settings);
                drop(tokio::spawn(async move {
                    answer(stream, settings).await;
                    drop(permit);
                }));
            }
            Err(e) => {
                warn!(error = %e, "address endpoint accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(list: &str) -> AddressSettings {
        AddressSettings {
            port: 8080,
            namesrv_addr: list.to_owned(),
            subgroups: vec!["nsaddr".to_owned(), "other".to_owned()],
            listen_port: "9876".to_owned(),
            bind_address: "0.0.0.0".to_owned(),
        }
    }

    fn local() -> SocketAddr {
        SocketAddr::from(([10, 1, 2, 3], 8080))
    }

    #[test]
    fn answers_subgroups_and_unit_forms() {
        let s = settings("a:1;b:2");
        let ok = |t: &str| {
            respond(
                format!("GET {t} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                &s,
                local(),
            )
        };
        assert_eq!(
            ok("/rocketmq/nsaddr"),
            ("200 OK", "a:1;b:2".to_owned(), false)
        );
        assert_eq!(ok("/rocketmq/other").0, "200 OK");
        assert_eq!(ok("/rocketmq/nsaddr-unitA?nofix=1").0, "200 OK");
        assert_eq!(ok("/rocketmq/nsaddr?x=1&y=2").0, "200 OK");
        assert_eq!(ok("/rocketmq/nsaddrx").0, "404 Not Found");
        assert_eq!(ok("/rocketmq/nsaddr-").0, "404 Not Found");
        assert_eq!(ok("/rocketmq/").0, "404 Not Found");
        assert_eq!(ok("/metrics").0, "404 Not Found");
    }

    #[test]
    fn empty_list_serves_the_arrival_address() {
        let s = settings("");
        let r = respond(b"GET /rocketmq/nsaddr HTTP/1.1\r\n\r\n", &s, local());
        assert_eq!(r.1, "10.1.2.3:9876");
    }

    #[test]
    fn other_methods_are_refused_and_head_has_no_body() {
        let s = settings("a:1");
        assert_eq!(
            respond(b"POST /rocketmq/nsaddr HTTP/1.1\r\n\r\n", &s, local()).0,
            "405 Method Not Allowed"
        );
        let head = respond(b"HEAD /rocketmq/nsaddr HTTP/1.1\r\n\r\n", &s, local());
        assert_eq!((head.0, head.2), ("200 OK", true));
        assert_eq!(
            respond(b"\xff\xfe\r\n\r\n", &s, local()).0,
            "405 Method Not Allowed"
        );
    }

    #[tokio::test]
    async fn serves_over_tcp_and_bounds_the_head() {
        let s = AddressSettings {
            port: 1,
            ..settings("h:9")
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(run(listener, s));
        let ask = |req: Vec<u8>| async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(&req).await.unwrap();
            let mut out = String::new();
            let _ = c.read_to_string(&mut out).await;
            out
        };
        let ok = ask(b"GET /rocketmq/nsaddr HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()).await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nh:9"), "{ok}");
        let mut big = b"GET /rocketmq/nsaddr HTTP/1.1\r\nX: ".to_vec();
        big.resize(ADDRESS_SERVER_MAX_REQUEST_BYTES, b'a');
        let long = ask(big).await;
        assert!(long.starts_with("HTTP/1.1 431"), "{long}");
        task.abort();
    }
}
