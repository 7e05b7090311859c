//! The HAProxy PROXY protocol header (v1 text, v2 binary) a load balancer puts in front of a
//! connection to say who the client really is. Java 5.3.3 accepts it, with no switch, on every
//! remoting port (`NettyRemotingServer.HandshakeHandler`) and on the proxy's gRPC port
//! (`ProxyAndTlsProtocolNegotiator`), through Netty's `HAProxyMessageDecoder`: the header's
//! source address then stands for the peer's (`RemotingHelper.parseChannelRemoteAddr`, the
//! proxy's `HeaderInterceptor`), for ACL source-IP checks and client listings alike.
//!
//! Owns the detection and parsing of a header at the start of a connection ([`parse`]) and
//! its bounded read ([`read_header`]): at most [`PROXY_V1_MAX_BYTES`] /
//! [`PROXY_V2_MAX_BYTES`] (Netty's limits), within a time the caller gives. A connection
//! that does not start with either signature is left as it came, its first bytes handed back.
//! As in Java, a header is believed from any peer (anyone who can reach the port can claim
//! an address with it).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::BufMut as _;
use tokio::io::{AsyncRead, AsyncReadExt as _};

use crate::limits::{PROXY_V1_MAX_BYTES, PROXY_V2_MAX_BYTES};

/// How a v1 header starts (Netty's `TEXT_PREFIX`).
const V1_PREFIX: &[u8] = b"PROXY";
/// How a v2 header starts.
const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];
/// Signature, version/command, family/transport and the 2-byte length.
const V2_FIXED_BYTES: usize = 16;
/// Bytes read at a time while the header's end is unknown.
const READ_CHUNK_BYTES: usize = 256;

/// What a header said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client's address as the proxy saw it; `None` for `LOCAL` / `UNKNOWN`, Unix sockets
    /// and a zero port (Java then keeps the socket's peer address).
    pub source: Option<SocketAddr>,
    /// The address the client connected to on the proxy (Java's `proxy_protocol_server_addr`).
    pub destination: Option<SocketAddr>,
    /// The v2 TLVs whose value is ASCII, by type, as Java keeps them
    /// (`proxy_protocol_tlv_0x<type>`); nothing in a local-mode broker reads them.
    pub tlvs: Vec<(u8, String)>,
}

/// The outcome of looking at a connection's first bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The bytes start with neither signature.
    NotProxy,
    /// More bytes are needed to tell.
    NeedMore,
    /// A whole header, and how many bytes it took.
    Header(ProxyHeader, usize),
}

/// Why a connection that started a header is closed (Netty's `HAProxyProtocolException`).
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The header is malformed.
    #[error("bad PROXY protocol header: {0}")]
    Invalid(String),
    /// The header did not arrive whole in time.
    #[error("PROXY protocol header not received in time")]
    Timeout,
    /// Reading failed or the peer closed inside the header.
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
}

fn invalid(why: impl Into<String>) -> ProxyError {
    ProxyError::Invalid(why.into())
}

/// Tells whether `buf` starts with a header and, if it holds one whole, parses it.
///
/// # Errors
/// When a header has started and is malformed or too long.
pub fn parse(buf: &[u8]) -> Result<Parsed, ProxyError> {
    let starts = |sig: &[u8]| {
        let n = buf.len().min(sig.len());
        buf.get(..n) == sig.get(..n)
    };
    if buf.is_empty() {
        Ok(Parsed::NeedMore)
    } else if starts(V1_PREFIX) {
        if buf.len() < V1_PREFIX.len() {
            Ok(Parsed::NeedMore)
        } else {
            parse_v1(buf)
        }
    } else if starts(&V2_SIGNATURE) {
        if buf.len() < V2_FIXED_BYTES {
            Ok(Parsed::NeedMore)
        } else {
            parse_v2(buf)
        }
    } else {
        Ok(Parsed::NotProxy)
    }
}

/// `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or `PROXY UNKNOWN ...\r\n`.
fn parse_v1(buf: &[u8]) -> Result<Parsed, ProxyError> {
    let window = buf.get(..buf.len().min(PROXY_V1_MAX_BYTES)).unwrap_or(buf);
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() >= PROXY_V1_MAX_BYTES {
            return Err(invalid(format!(
                "v1 header longer than {PROXY_V1_MAX_BYTES} bytes"
            )));
        }
        return Ok(Parsed::NeedMore);
    };
    let line = std::str::from_utf8(window.get(..end).unwrap_or_default())
        .map_err(|_| invalid("v1 header is not ASCII"))?;
    let parts: Vec<&str> = line.split(' ').collect();
    let header = match parts.as_slice() {
        ["PROXY", "UNKNOWN", ..] => ProxyHeader::default(),
        ["PROXY", proto @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let v6 = *proto == "TCP6";
            ProxyHeader {
                source: Some(v1_addr(src, sport, v6)?),
                destination: Some(v1_addr(dst, dport, v6)?),
                tlvs: Vec::new(),
            }
        }
        _ => return Err(invalid(format!("v1 header {line:?}"))),
    };
    Ok(Parsed::Header(header, end + 2))
}

fn v1_addr(ip: &str, port: &str, v6: bool) -> Result<SocketAddr, ProxyError> {
    let ip: IpAddr = if v6 {
        ip.parse::<Ipv6Addr>().map(IpAddr::V6)
    } else {
        ip.parse::<Ipv4Addr>().map(IpAddr::V4)
    }
    .map_err(|_| invalid(format!("v1 address {ip:?}")))?;
    // Netty: a port of 1 to 65535.
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(format!("v1 port {port:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

/// The binary header: signature, version 2 with command LOCAL or PROXY, family and
/// transport, length, addresses, TLVs.
fn parse_v2(buf: &[u8]) -> Result<Parsed, ProxyError> {
    let byte = |i: usize| buf.get(i).copied().unwrap_or_default();
    let (ver_cmd, family) = (byte(12), byte(13));
    if ver_cmd >> 4 != 2 {
        return Err(invalid(format!("v2 version {}", ver_cmd >> 4)));
    }
    let len = usize::from(u16::from_be_bytes([byte(14), byte(15)]));
    let total = V2_FIXED_BYTES + len;
    if buf.len() < total {
        return Ok(Parsed::NeedMore);
    }
    let body = buf.get(V2_FIXED_BYTES..total).unwrap_or_default();
    let local = match ver_cmd & 0x0F {
        0 => true,
        1 => false,
        c => return Err(invalid(format!("v2 command {c}"))),
    };
    if family & 0x0F > 2 {
        return Err(invalid(format!("v2 transport {}", family & 0x0F)));
    }
    // LOCAL (a health check from the proxy itself) and UNSPEC carry no client; Netty skips
    // the rest of the block.
    if local || family >> 4 == 0 {
        return Ok(Parsed::Header(ProxyHeader::default(), total));
    }
    let (addr_bytes, ips) = match family >> 4 {
        1 => (
            12,
            v2_ips::<4>(body).map(|(s, d)| (IpAddr::from(s), IpAddr::from(d))),
        ),
        2 => (
            36,
            v2_ips::<16>(body).map(|(s, d)| (IpAddr::from(s), IpAddr::from(d))),
        ),
        3 => (216, None),
        f => return Err(invalid(format!("v2 address family {f}"))),
    };
    let rest = body
        .get(addr_bytes..)
        .ok_or_else(|| invalid(format!("v2 length {len} short of its addresses")))?;
    let mut header = ProxyHeader {
        tlvs: v2_tlvs(rest),
        ..ProxyHeader::default()
    };
    if let Some((src, dst)) = ips {
        let port = |at: usize| {
            u16::from_be_bytes([
                body.get(at).copied().unwrap_or_default(),
                body.get(at + 1).copied().unwrap_or_default(),
            ])
        };
        let at = addr_bytes - 4;
        let nonzero = |ip: IpAddr, p: u16| (p > 0).then_some(SocketAddr::new(ip, p));
        header.source = nonzero(src, port(at));
        header.destination = nonzero(dst, port(at + 2));
    }
    Ok(Parsed::Header(header, total))
}

/// Source and destination addresses of `N` bytes each, at the start of `body`.
fn v2_ips<const N: usize>(body: &[u8]) -> Option<([u8; N], [u8; N])> {
    let src = body.get(..N)?.try_into().ok()?;
    let dst = body.get(N..2 * N)?.try_into().ok()?;
    Some((src, dst))
}

/// The TLVs (type, 2-byte length, value) whose value is ASCII; a truncated one ends the list.
fn v2_tlvs(mut rest: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    while let [ty, hi, lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some(value) = tail.get(..n) else {
            break;
        };
        if value.is_ascii() {
            out.push((*ty, String::from_utf8_lossy(value).into_owned()));
        }
        rest = tail.get(n..).unwrap_or_default();
    }
    out
}

/// Reads a connection's first bytes: a header if one starts it, and the bytes read past it
/// (or all bytes read, when there is none), which belong to the protocol that follows. The
/// first byte may take `first_byte_wait`; a header that has begun must be whole within
/// `header_wait` of it. End of stream before any byte is no header and no bytes.
///
/// # Errors
/// A malformed or overlong header, the time exceeded, end of stream inside a header, or a
/// read error.
pub async fn read_header<R: AsyncRead + Unpin>(
    src: &mut R,
    first_byte_wait: Duration,
    header_wait: Duration,
) -> Result<(Option<ProxyHeader>, Vec<u8>), ProxyError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut deadline = None;
    loop {
        match parse(&buf)? {
            Parsed::NotProxy => return Ok((None, buf)),
            Parsed::Header(h, used) => return Ok((Some(h), buf.split_off(used))),
            Parsed::NeedMore => {}
        }
        // Past the fixed part of a v2 header its length is known (at most
        // `PROXY_V2_MAX_BYTES`): read exactly the rest; otherwise a chunk.
        let room = match v2_total(&buf) {
            Some(total) => total.saturating_sub(buf.len()),
            None => READ_CHUNK_BYTES,
        };
        buf.reserve(room);
        let mut window = (&mut buf).limit(room);
        let read = src.read_buf(&mut window);
        let n = match deadline {
            None => tokio::time::timeout(first_byte_wait, read).await,
            Some(at) => tokio::time::timeout_at(at, read).await,
        }
        .map_err(|_| ProxyError::Timeout)??;
        if n == 0 {
            if buf.is_empty() {
                return Ok((None, buf));
            }
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        deadline.get_or_insert_with(|| tokio::time::Instant::now() + header_wait);
    }
}

/// The whole length of the v2 header `buf` starts, once its fixed part is in.
fn v2_total(buf: &[u8]) -> Option<usize> {
    let fixed = buf.get(..V2_FIXED_BYTES)?;
    if fixed.get(..12)? != V2_SIGNATURE {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([*fixed.get(14)?, *fixed.get(15)?]));
    Some((V2_FIXED_BYTES + len).min(PROXY_V2_MAX_BYTES))
}

/// A v2 header with command PROXY over TCP, from `src` to `dst` (same family), with `tlvs`;
/// for tests and tools that stand in for a load balancer.
#[must_use]
pub fn encode_v2(src: SocketAddr, dst: SocketAddr, tlvs: &[(u8, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    let family = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            body.extend_from_slice(&s.octets());
            body.extend_from_slice(&d.octets());
            0x11
        }
        (s, d) => {
            let v6 = |ip: IpAddr| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                IpAddr::V6(v6) => v6,
            };
            body.extend_from_slice(&v6(s).octets());
            body.extend_from_slice(&v6(d).octets());
            0x21
        }
    };
    body.extend_from_slice(&src.port().to_be_bytes());
    body.extend_from_slice(&dst.port().to_be_bytes());
    for (ty, value) in tlvs {
        body.push(*ty);
        body.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        body.extend_from_slice(value);
    }
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[0x21, family]);
    out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn header(buf: &[u8]) -> (ProxyHeader, usize) {
        match parse(buf).unwrap() {
            Parsed::Header(h, n) => (h, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v1_tcp4_tcp6_and_unknown() {
        let line = b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 10911\r\nREST";
        let (h, n) = header(line);
        assert_eq!(n, line.len() - 4);
        assert_eq!(h.source, Some(sa("203.0.113.7:40000")));
        assert_eq!(h.destination, Some(sa("10.0.0.1:10911")));
        let (h, _) = header(b"PROXY TCP6 2001:db8::7 ::1 5 6\r\n");
        assert_eq!(h.source, Some(sa("[2001:db8::7]:5")));
        let (h, n) = header(b"PROXY UNKNOWN whatever\r\n");
        assert_eq!((h, n), (ProxyHeader::default(), 24));
        let bad: [&[u8]; 5] = [
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 0 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        ];
        for bad in bad {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn detection_needs_only_enough_bytes_to_tell() {
        assert_eq!(parse(b"").unwrap(), Parsed::NeedMore);
        assert_eq!(parse(b"PRO").unwrap(), Parsed::NeedMore);
        assert_eq!(parse(b"PRI * HTTP/2.0").unwrap(), Parsed::NotProxy);
        assert_eq!(parse(&[0x16, 3, 1]).unwrap(), Parsed::NotProxy);
        assert_eq!(parse(&[0, 0, 0, 20]).unwrap(), Parsed::NotProxy);
        assert_eq!(parse(&V2_SIGNATURE[..7]).unwrap(), Parsed::NeedMore);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4").unwrap(), Parsed::NeedMore);
        let long = [b"PROXY ".as_slice(), [b'x'; 120].as_slice()].concat();
        assert!(parse(&long).is_err());
    }

    #[test]
    fn v2_inet_inet6_local_and_tlvs() {
        let wire = encode_v2(
            sa("203.0.113.7:40000"),
            sa("10.0.0.1:8081"),
            &[(0x02, b"example.com"), (0x20, &[1, 0, 0, 0, 0xFF])],
        );
        let mut with_more = wire.clone();
        with_more.extend_from_slice(b"PRI");
        let (h, n) = header(&with_more);
        assert_eq!(n, wire.len());
        assert_eq!(h.source, Some(sa("203.0.113.7:40000")));
        assert_eq!(h.destination, Some(sa("10.0.0.1:8081")));
        assert_eq!(h.tlvs, vec![(0x02, "example.com".to_owned())]);
        assert_eq!(parse(&wire[..wire.len() - 1]).unwrap(), Parsed::NeedMore);
        let v6 = encode_v2(sa("[2001:db8::9]:7"), sa("[::1]:8"), &[]);
        assert_eq!(header(&v6).0.source, Some(sa("[2001:db8::9]:7")));
        // LOCAL: no client, addresses skipped.
        let mut local = wire.clone();
        local[12] = 0x20;
        assert_eq!(header(&local), (ProxyHeader::default(), wire.len()));
        // Source port 0: Java keeps the socket's address.
        let zero = encode_v2(sa("203.0.113.7:0"), sa("10.0.0.1:8081"), &[]);
        assert_eq!(header(&zero).0.source, None);
        let mut bad = wire.clone();
        bad[12] = 0x31;
        assert!(parse(&bad).is_err(), "version 3");
        let mut short = V2_SIGNATURE.to_vec();
        short.extend_from_slice(&[0x21, 0x11, 0, 4, 1, 2, 3, 4]);
        assert!(parse(&short).is_err(), "length short of the addresses");
    }

    #[tokio::test]
    async fn read_header_hands_back_what_follows() {
        let mut wire = b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 10911\r\n".to_vec();
        wire.extend_from_slice(b"frame bytes");
        let mut src: &[u8] = &wire;
        let t = Duration::from_secs(1);
        let (h, rest) = read_header(&mut src, t, t).await.unwrap();
        assert_eq!(h.unwrap().source, Some(sa("203.0.113.7:40000")));
        let mut tail = rest;
        tail.extend_from_slice(src);
        assert_eq!(tail, b"frame bytes");
        let mut plain: &[u8] = b"\0\0\0\x10rest";
        let (h, rest) = read_header(&mut plain, t, t).await.unwrap();
        assert!(h.is_none());
        assert_eq!(rest, b"\0\0\0\x10rest");
        let mut cut: &[u8] = b"PROXY TCP4 1.2";
        assert!(read_header(&mut cut, t, t).await.is_err());
        let mut empty: &[u8] = b"";
        assert_eq!(read_header(&mut empty, t, t).await.unwrap(), (None, vec![]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_header_times_out() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"PROXY TCP4")
            .await
            .unwrap();
        let r = read_header(&mut server, Duration::from_secs(60), Duration::from_secs(2)).await;
        assert!(matches!(r, Err(ProxyError::Timeout)), "{r:?}");
        drop(client);
    }
}
