//! The CommitLog message record (`MessageDecoder`, `MessageExtEncoder`,
//! `CommitLog.checkMessageAndReturnSize`), identical in CommitLog files and pull bodies.
//!
//! ```text
//! TOTALSIZE i32 | MAGICCODE i32 | BODYCRC i32 | QUEUEID i32 | FLAG i32 | QUEUEOFFSET i64 |
//! PHYSICALOFFSET i64 | SYSFLAG i32 | BORNTIMESTAMP i64 | BORNHOST 4|16 + port i32 |
//! STORETIMESTAMP i64 | STOREHOST 4|16 + port i32 | RECONSUMETIMES i32 | PREPAREDTXOFFSET i64 |
//! BODYLEN i32 + body | TOPICLEN u8 (V1) or i16 (V2) + topic | PROPLEN i16 + properties
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;

use crate::checksum::java_crc32;

/// Magic of records with a 1-byte topic length (`MESSAGE_MAGIC_CODE`).
pub const MAGIC_V1: i32 = -626_843_481;
/// Magic of records with a 2-byte topic length (`MESSAGE_MAGIC_CODE_V2`).
pub const MAGIC_V2: i32 = -626_843_477;
/// Magic of the end-of-file filler (`BLANK_MAGIC_CODE`).
pub const BLANK_MAGIC: i32 = -875_286_124;
/// The filler needs its size and magic (`END_FILE_MIN_BLANK_LENGTH`).
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;
/// `MessageSysFlag.BORNHOST_V6_FLAG`.
pub const BORNHOST_V6_FLAG: i32 = 0x10;
/// `MessageSysFlag.STOREHOSTADDRESS_V6_FLAG`.
pub const STOREHOST_V6_FLAG: i32 = 0x20;
/// Transaction-type bits (`MessageSysFlag.getTransactionValue`).
pub const TRANSACTION_MASK: i32 = 0xC;
/// `TRANSACTION_PREPARED_TYPE`.
pub const TRANSACTION_PREPARED: i32 = 0x4;
/// `TRANSACTION_ROLLBACK_TYPE`.
pub const TRANSACTION_ROLLBACK: i32 = 0xC;
/// Properties separators (`MessageConst.NAME_VALUE_SEPARATOR`, `PROPERTY_SEPARATOR`).
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// See [`NAME_VALUE_SEPARATOR`].
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// `MAGIC_V1` or `MAGIC_V2`.
    pub magic: i32,
    /// `CRC32(body) & 0x7FFFFFFF`.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in the consume queue.
    pub queue_offset: i64,
    /// CommitLog offset of this record.
    pub physical_offset: i64,
    /// `MessageSysFlag` bits.
    pub sys_flag: i32,
    /// Producer's timestamp, ms.
    pub born_timestamp: i64,
    /// Producer's address.
    pub born_host: SocketAddr,
    /// Broker's timestamp, ms.
    pub store_timestamp: i64,
    /// Broker's address (`brokerIP1:listenPort`).
    pub store_host: SocketAddr,
    /// Delivery attempts so far.
    pub reconsume_times: i32,
    /// Prepared-transaction offset.
    pub prepared_transaction_offset: i64,
    /// Body (possibly compressed; see the sys flag).
    pub body: Bytes,
    /// Topic.
    pub topic: String,
    /// Properties string (`k\u1v\u2…`).
    pub properties: String,
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The end-of-file filler: the rest of the file is blank.
    #[error("end-of-file blank of {0} bytes")]
    Blank(usize),
    /// Fewer bytes than the record needs.
    #[error("truncated record: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// Neither a message nor a blank magic (e.g. zeros past the written tail).
    #[error("bad magic code {0:#x}")]
    BadMagic(i32),
    /// TOTALSIZE disagrees with the field lengths.
    #[error("total size {total} disagrees with computed {computed}")]
    BadLength {
        /// Declared.
        total: i64,
        /// Computed from the fields.
        computed: i64,
    },
    /// The body CRC does not match.
    #[error("body crc {stored} != computed {computed}")]
    Crc {
        /// Stored.
        stored: i32,
        /// Computed.
        computed: i32,
    },
    /// Topic or properties are not UTF-8.
    #[error("invalid UTF-8 in {0}")]
    Utf8(&'static str),
}

fn host_len(sys_flag: i32, v6_flag: i32) -> usize {
    if sys_flag & v6_flag != 0 {
        16 + 4
    } else {
        4 + 4
    }
}

/// `MessageExtEncoder.calMsgLength`.
#[must_use]
pub fn cal_msg_length(
    sys_flag: i32,
    magic: i32,
    body_len: usize,
    topic_len: usize,
    props_len: usize,
) -> usize {
    let topic_len_size = if magic == MAGIC_V2 { 2 } else { 1 };
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(sys_flag, BORNHOST_V6_FLAG)
        + 8
        + host_len(sys_flag, STOREHOST_V6_FLAG)
        + 4
        + 8
        + 4
        + body_len
        + topic_len_size
        + topic_len
        + 2
        + props_len
}

fn put_host(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

/// The fixed-size fields of a record: everything but body, topic and properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead {
    /// `MAGIC_V1` or `MAGIC_V2`.
    pub magic: i32,
    /// Java CRC32 of the body.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// ConsumeQueue offset (patchable at [`QUEUE_OFFSET_POS`]).
    pub queue_offset: i64,
    /// CommitLog offset (patchable at [`PHYSICAL_OFFSET_POS`]).
    pub physical_offset: i64,
    /// `MessageSysFlag` bits.
    pub sys_flag: i32,
    /// Producer time.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Store time (patchable at [`store_timestamp_pos`]).
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Delivery attempts.
    pub reconsume_times: i32,
    /// Prepared-transaction offset.
    pub prepared_transaction_offset: i64,
}

/// Byte position of QUEUEOFFSET in an encoded record.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Byte position of PHYSICALOFFSET in an encoded record.
pub const PHYSICAL_OFFSET_POS: usize = 28;

/// Byte position of STORETIMESTAMP in an encoded record: after BORNHOST, whose size follows
/// the address family (as [`encode_record`] writes it).
#[must_use]
pub fn store_timestamp_pos(born_host: &SocketAddr) -> usize {
    PHYSICAL_OFFSET_POS + 8 + 4 + 8 + if born_host.is_ipv4() { 4 + 4 } else { 16 + 4 }
}

/// Overwrites the big-endian i64 at `pos` of an encoded record (false if out of range).
pub fn patch_i64(record: &mut [u8], pos: usize, value: i64) -> bool {
    match pos.checked_add(8).and_then(|end| record.get_mut(pos..end)) {
        Some(dst) => {
            dst.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Appends one record to `out`. The caller has validated sizes (properties ≤ 32767 bytes,
/// topic ≤ 127 bytes for V1).
pub fn encode_record(
    head: &RecordHead,
    body: &[u8],
    topic: &str,
    properties: &str,
    out: &mut Vec<u8>,
) {
    let total = cal_msg_length(
        head.sys_flag,
        head.magic,
        body.len(),
        topic.len(),
        properties.len(),
    );
    let start = out.len();
    out.reserve(total);
    out.extend_from_slice(&i32::try_from(total).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(&head.magic.to_be_bytes());
    out.extend_from_slice(&head.body_crc.to_be_bytes());
    out.extend_from_slice(&head.queue_id.to_be_bytes());
    out.extend_from_slice(&head.flag.to_be_bytes());
    out.extend_from_slice(&head.queue_offset.to_be_bytes());
    out.extend_from_slice(&head.physical_offset.to_be_bytes());
    out.extend_from_slice(&head.sys_flag.to_be_bytes());
    out.extend_from_slice(&head.born_timestamp.to_be_bytes());
    put_host(out, &head.born_host);
    out.extend_from_slice(&head.store_timestamp.to_be_bytes());
    put_host(out, &head.store_host);
    out.extend_from_slice(&head.reconsume_times.to_be_bytes());
    out.extend_from_slice(&head.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&i32::try_from(body.len()).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(body);
    if head.magic == MAGIC_V2 {
        out.extend_from_slice(&i16::try_from(topic.len()).unwrap_or(i16::MAX).to_be_bytes());
    } else {
        out.push(u8::try_from(topic.len()).unwrap_or(u8::MAX));
    }
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(
        &i16::try_from(properties.len())
            .unwrap_or(i16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(properties.as_bytes());
    debug_assert_eq!(out.len() - start, total);
}

impl MessageRecord {
    /// Encoded length.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        cal_msg_length(
            self.sys_flag,
            self.magic,
            self.body.len(),
            self.topic.len(),
            self.properties.len(),
        )
    }

    /// Appends the record to `out`. The caller has validated sizes (properties ≤ 32767 bytes,
    /// topic ≤ 127 bytes for V1).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        encode_record(&self.head(), &self.body, &self.topic, &self.properties, out);
    }

    /// The fixed-size fields.
    #[must_use]
    pub fn head(&self) -> RecordHead {
        RecordHead {
            magic: self.magic,
            body_crc: self.body_crc,
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            physical_offset: self.physical_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
        }
    }

    /// Decodes and validates one record at the start of `buf` (`checkMessageAndReturnSize`).
    /// Returns the record and its size.
    pub fn decode(buf: &Bytes, check_crc: bool) -> Result<(Self, usize), RecordError> {
        let mut r = Reader { buf, pos: 0 };
        let total_raw = r.i32()?;
        let magic = r.i32()?;
        if magic == BLANK_MAGIC {
            return Err(RecordError::Blank(usize::try_from(total_raw).unwrap_or(0)));
        }
        if magic != MAGIC_V1 && magic != MAGIC_V2 {
            return Err(RecordError::BadMagic(magic));
        }
        let total = usize::try_from(total_raw).map_err(|_| RecordError::BadLength {
            total: i64::from(total_raw),
            computed: 0,
        })?;
        if total > buf.len() {
            return Err(RecordError::Truncated {
                need: total,
                have: buf.len(),
            });
        }
        let body_crc = r.i32()?;
        let queue_id = r.i32()?;
        let flag = r.i32()?;
        let queue_offset = r.i64()?;
        let physical_offset = r.i64()?;
        let sys_flag = r.i32()?;
        let born_timestamp = r.i64()?;
        let born_host = r.host(sys_flag & BORNHOST_V6_FLAG != 0)?;
        let store_timestamp = r.i64()?;
        let store_host = r.host(sys_flag & STOREHOST_V6_FLAG != 0)?;
        let reconsume_times = r.i32()?;
        let prepared_transaction_offset = r.i64()?;
        let body_len = r.len_i32()?;
        let body = r.bytes(body_len)?;
        if check_crc {
            let computed = java_crc32(&body);
            if computed != body_crc {
                return Err(RecordError::Crc {
                    stored: body_crc,
                    computed,
                });
            }
        }
        let topic_len = if magic == MAGIC_V2 {
            r.len_i16()?
        } else {
            usize::from(r.u8()?)
        };
        let topic = String::from_utf8(r.bytes(topic_len)?.to_vec())
            .map_err(|_| RecordError::Utf8("topic"))?;
        let props_len = r.len_i16()?;
        let properties = String::from_utf8(r.bytes(props_len)?.to_vec())
            .map_err(|_| RecordError::Utf8("properties"))?;
        let computed = cal_msg_length(sys_flag, magic, body_len, topic_len, props_len);
        if computed != total {
            return Err(RecordError::BadLength {
                total: i64::from(total_raw),
                computed: i64::try_from(computed).unwrap_or(i64::MAX),
            });
        }
        let rec = Self {
            magic,
            body_crc,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            topic,
            properties,
        };
        Ok((rec, total))
    }

    /// One property's value.
    #[must_use]
    pub fn property(&self, name: &str) -> Option<&str> {
        property(&self.properties, name)
    }

    /// The offset message id (`MessageDecoder.createMessageId`).
    #[must_use]
    pub fn msg_id(&self) -> String {
        offset_msg_id(&self.store_host, self.physical_offset)
    }
}

/// Uppercase hex of store IP, port (i32) and CommitLog offset (i64).
#[must_use]
pub fn offset_msg_id(store_host: &SocketAddr, physical_offset: i64) -> String {
    let mut raw = Vec::with_capacity(28);
    put_host(&mut raw, store_host);
    raw.extend_from_slice(&physical_offset.to_be_bytes());
    upper_hex(&raw)
}

/// Uppercase hex (`UtilAll.bytes2string`).
#[must_use]
pub fn upper_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(
            HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
        ));
        out.push(char::from(
            HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0'),
        ));
    }
    out
}

/// Looks one property up in a properties string (`string2messageProperties` rules: segments
/// split on `\u2`, name and value split at the first `\u1`, empty names skipped). A name that
/// appears twice (batch messages repeat `UNIQ_KEY`) resolves to its last value, as Java's map does.
///
/// One pass over the bytes (both separators are ASCII, so every cut is a char boundary): a
/// segment matches when it starts with `name` followed by `\u1`.
#[must_use]
pub fn property<'a>(properties: &'a str, name: &str) -> Option<&'a str> {
    let name_bytes = name.as_bytes();
    // A name holding a separator never matches a segment's name (the name ends at the first
    // `\u1` and segments hold no `\u2`).
    if name_bytes.is_empty() || name_bytes.iter().any(|b| *b == SEP_NAME || *b == SEP_PROP) {
        return None;
    }
    let bytes = properties.as_bytes();
    let mut found = None;
    let mut start = 0;
    while start <= bytes.len() {
        let rest = bytes.get(start..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|b| *b == SEP_PROP)
            .map_or(bytes.len(), |p| start + p);
        let seg = bytes.get(start..end).unwrap_or_default();
        if seg.len() > name_bytes.len()
            && seg.starts_with(name_bytes)
            && seg.get(name_bytes.len()) == Some(&SEP_NAME)
        {
            found = properties.get(start + name_bytes.len() + 1..end);
        }
        start = end + 1;
    }
    found
}

/// [`NAME_VALUE_SEPARATOR`] as a byte.
const SEP_NAME: u8 = 0x01;
/// [`PROPERTY_SEPARATOR`] as a byte.
const SEP_PROP: u8 = 0x02;

/// Java's `String.hashCode` over UTF-16 code units (tag codes, index key hashes).
#[must_use]
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Tag hash code as stored in the ConsumeQueue (`tagsString2tagsCode`): 0 without tags.
#[must_use]
pub fn tags_code(tags: Option<&str>) -> i64 {
    tags.filter(|t| !t.is_empty())
        .map_or(0, |t| i64::from(java_string_hash(t)))
}

struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], RecordError> {
        let have = self.buf.len();
        let end = self.pos.checked_add(n).ok_or(RecordError::Truncated {
            need: usize::MAX,
            have,
        })?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(RecordError::Truncated { need: end, have })?;
        self.pos = end;
        Ok(s)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.arr::<1>()?[0])
    }
    fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.arr()?))
    }
    fn len_i32(&mut self) -> Result<usize, RecordError> {
        let v = self.i32()?;
        usize::try_from(v).map_err(|_| RecordError::BadLength {
            total: i64::from(v),
            computed: 0,
        })
    }
    fn len_i16(&mut self) -> Result<usize, RecordError> {
        let v = i16::from_be_bytes(self.arr()?);
        usize::try_from(v).map_err(|_| RecordError::BadLength {
            total: i64::from(v),
            computed: 0,
        })
    }
    fn bytes(&mut self, n: usize) -> Result<Bytes, RecordError> {
        let start = self.pos;
        let _ = self.take(n)?;
        Ok(self.buf.slice(start..start + n))
    }
    fn host(&mut self, v6: bool) -> Result<SocketAddr, RecordError> {
        let ip = if v6 {
            IpAddr::from(self.arr::<16>()?)
        } else {
            IpAddr::V4(Ipv4Addr::from(self.arr::<4>()?))
        };
        let port = self.i32()?;
        Ok(SocketAddr::new(ip, u16::try_from(port).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The split-based lookup `property` replaced, kept as the reference.
    fn property_by_split<'a>(properties: &'a str, name: &str) -> Option<&'a str> {
        properties.split(PROPERTY_SEPARATOR).rev().find_map(|seg| {
            let (k, v) = seg.split_once(NAME_VALUE_SEPARATOR)?;
            (k == name && !k.is_empty()).then_some(v)
        })
    }

    proptest::proptest! {
        #[test]
        fn property_scan_agrees_with_split(
            text in "[ab\u{1}\u{2}é]{0,24}",
            name in "[ab\u{1}\u{2}é]{0,3}",
        ) {
            proptest::prop_assert_eq!(property(&text, &name), property_by_split(&text, &name));
        }
    }

    #[test]
    fn property_finds_the_last_value() {
        let p = "UNIQ_KEY\u{1}A\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}B\u{2}E\u{1}\u{2}";
        assert_eq!(property(p, "UNIQ_KEY"), Some("B"));
        assert_eq!(property(p, "WAIT"), Some("true"));
        assert_eq!(property(p, "E"), Some(""));
        assert_eq!(property(p, "WAI"), None);
        assert_eq!(property(p, ""), None);
    }

    pub(crate) fn sample() -> MessageRecord {
        let body = Bytes::from_static(b"hello");
        MessageRecord {
            magic: MAGIC_V1,
            body_crc: java_crc32(&body),
            queue_id: 1,
            flag: 0,
            queue_offset: 7,
            physical_offset: 4096,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.2:54321".parse().unwrap(),
            store_timestamp: 1_700_000_000_001,
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body,
            topic: "TopicTest".into(),
            properties: "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}".into(),
        }
    }

    #[test]
    fn round_trip_and_checks() {
        let rec = sample();
        let mut out = Vec::new();
        rec.encode_into(&mut out);
        assert_eq!(out.len(), rec.encoded_len());
        let bytes = Bytes::from(out.clone());
        let (back, size) = MessageRecord::decode(&bytes, true).unwrap();
        assert_eq!(back, rec);
        assert_eq!(size, out.len());
        assert_eq!(back.property("KEYS"), Some("k1 k2"));
        assert_eq!(back.msg_id(), "7F00000100002A9F0000000000001000");
        let mut bad = out.clone();
        let crc_pos = 8;
        bad[crc_pos] ^= 1;
        assert!(matches!(
            MessageRecord::decode(&Bytes::from(bad), true),
            Err(RecordError::Crc { .. })
        ));
        for cut in 0..out.len() {
            assert!(MessageRecord::decode(&Bytes::copy_from_slice(&out[..cut]), true).is_err());
        }
        let blank = Bytes::from([100i32.to_be_bytes(), BLANK_MAGIC.to_be_bytes()].concat());
        assert_eq!(
            MessageRecord::decode(&blank, true),
            Err(RecordError::Blank(100))
        );
        assert!(matches!(
            MessageRecord::decode(&Bytes::from(vec![0u8; 64]), true),
            Err(RecordError::BadMagic(0))
        ));
    }

    #[test]
    fn java_hashes() {
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(tags_code(Some("TagB")), 2_598_920);
    }

    #[test]
    fn v2_topic_length() {
        let mut rec = sample();
        rec.magic = MAGIC_V2;
        rec.topic = "t".repeat(200);
        let mut out = Vec::new();
        rec.encode_into(&mut out);
        let (back, _) = MessageRecord::decode(&Bytes::from(out), true).unwrap();
        assert_eq!(back.topic.len(), 200);
    }
}
