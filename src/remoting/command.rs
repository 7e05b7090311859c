//! `RemotingCommand`: one decoded frame, request or response.

use std::borrow::Cow;

use bytes::Bytes;
use indexmap::IndexMap;

use super::language::LanguageCode;
use super::response_code::ResponseCode;
use super::version;
use crate::limits::EXT_FIELDS_SMALL_KEYS;

/// Flag bit set on responses (`RemotingCommand.RPC_TYPE = 0`).
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit set on oneway requests, which are never answered (`RPC_ONEWAY = 1`).
pub const FLAG_ONEWAY: i32 = 1 << 1;

/// How the header of a frame is encoded: the high byte of the second frame word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson text (code 0), the default of every Java and Go client.
    #[default]
    Json,
    /// The compact binary form (code 1, `RocketMQSerializable`).
    RocketMq,
}

impl SerializeType {
    /// The byte code.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::RocketMq => 1,
        }
    }

    /// The enum name fastjson writes for `serializeTypeCurrentRPC`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::RocketMq => "ROCKETMQ",
        }
    }

    /// Looks a type up by its byte code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Json),
            1 => Some(Self::RocketMq),
            _ => None,
        }
    }
}

/// The decimal text of 0..=31 (queue ids, flags, counts): header values kept as constants.
const SMALL_INTS: [&str; 32] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
];

/// The constant text of `n` when it is in 0..=31 (what `n.to_string()` would allocate).
#[must_use]
pub fn small_int_text(n: i64) -> Option<&'static str> {
    usize::try_from(n)
        .ok()
        .and_then(|i| SMALL_INTS.get(i).copied())
}

/// A constant equal to `v` when `v` is one of the values every send header repeats (a small
/// number written without leading zeros, `true`/`false`, the default topic `TBW102`); a
/// decoder stores that instead of allocating a copy. Same text, so nothing on the wire changes.
#[must_use]
pub fn common_text(v: &str) -> Option<&'static str> {
    match v.as_bytes() {
        [d @ b'0'..=b'9'] => SMALL_INTS.get(usize::from(d - b'0')).copied(),
        [t @ b'1'..=b'3', u @ b'0'..=b'9'] => SMALL_INTS
            .get(usize::from(t - b'0') * 10 + usize::from(u - b'0'))
            .copied(),
        b"false" => Some("false"),
        b"true" => Some("true"),
        b"TBW102" => Some("TBW102"),
        _ => None,
    }
}

/// `extFields`: the custom header as string pairs, in the order they arrived (Java uses a
/// `HashMap`; keeping arrival order lets a decoded frame re-encode byte for byte).
///
/// Up to [`EXT_FIELDS_SMALL_KEYS`] pairs live in a vector searched linearly: every request and
/// response of the clients is that small (a SEND_MESSAGE_V2 header has 10–14 keys), and a scan
/// of short keys costs less than hashing them (the map's inserts, lookups and removals were
/// ~13 % of a send's instructions). A bigger map moves to an insertion-ordered hash map with a
/// per-process seeded `foldhash`, so decoding a header stays linear in its key count; the
/// decoders also cap that count ([`crate::limits::EXT_FIELDS_MAX_KEYS`]), which bounds what
/// colliding keys could cost. Keys and values a handler writes from constants are kept borrowed
/// ([`ExtFields::insert_static`]), not copied.
#[derive(Debug, Clone, Default)]
pub struct ExtFields {
    /// The pairs in arrival order; keys are unique.
    entries: Entries,
}

type Text = Cow<'static, str>;

/// Pairs kept in a vector while there are few, then in a hash map.
#[derive(Debug, Clone)]
enum Entries {
    Small(Vec<(Text, Text)>),
    Large(IndexMap<Text, Text, foldhash::fast::RandomState>),
}

impl Default for Entries {
    fn default() -> Self {
        Self::Small(Vec::new())
    }
}

impl PartialEq for ExtFields {
    /// Equal when the same pairs come in the same order (the order is part of the encoding).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl ExtFields {
    /// An empty map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` pairs (a decoder that knows the usual field count
    /// avoids regrowing the map while it inserts).
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        let entries = if n <= EXT_FIELDS_SMALL_KEYS {
            Entries::Small(Vec::with_capacity(n))
        } else {
            Entries::Large(IndexMap::with_capacity_and_hasher(
                n,
                foldhash::fast::RandomState::default(),
            ))
        };
        Self { entries }
    }

    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        match &self.entries {
            Entries::Small(v) => v.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref()),
            Entries::Large(m) => m.get(key).map(AsRef::as_ref),
        }
    }

    fn put(&mut self, key: Text, value: Text) {
        match &mut self.entries {
            Entries::Small(v) => {
                if let Some(slot) = v.iter_mut().find(|(k, _)| *k == key) {
                    slot.1 = value;
                } else if v.len() < EXT_FIELDS_SMALL_KEYS {
                    v.push((key, value));
                } else {
                    let mut m = IndexMap::with_capacity_and_hasher(
                        v.len() * 2,
                        foldhash::fast::RandomState::default(),
                    );
                    m.extend(v.drain(..));
                    let _previous = m.insert(key, value);
                    self.entries = Entries::Large(m);
                }
            }
            Entries::Large(m) => {
                let _previous = m.insert(key, value);
            }
        }
    }

    /// Sets `key`, replacing an earlier value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.put(Cow::Owned(key.into()), Cow::Owned(value.into()));
    }

    /// Sets a constant key (no copy); the value is borrowed too when it is a constant.
    pub fn insert_static(&mut self, key: &'static str, value: impl Into<Cow<'static, str>>) {
        self.put(Cow::Borrowed(key), value.into());
    }

    /// Removes `key`, returning its value as stored (no copy); the last pair takes its place,
    /// so use it only on a map whose order no longer matters (a request being decoded).
    pub fn take(&mut self, key: &str) -> Option<Cow<'static, str>> {
        match &mut self.entries {
            Entries::Small(v) => {
                let at = v.iter().position(|(k, _)| k == key)?;
                Some(v.swap_remove(at).1)
            }
            Entries::Large(m) => m.swap_remove(key),
        }
    }

    /// Removes `key`, returning its value; the other pairs keep their order.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        match &mut self.entries {
            Entries::Small(v) => {
                let at = v.iter().position(|(k, _)| k == key)?;
                Some(v.remove(at).1.into_owned())
            }
            Entries::Large(m) => m.shift_remove(key).map(Cow::into_owned),
        }
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let (small, large) = match &self.entries {
            Entries::Small(v) => (Some(v.iter()), None),
            Entries::Large(m) => (None, Some(m.iter())),
        };
        small
            .into_iter()
            .flatten()
            // `&(K, V)` from the Vec to `(&K, &V)`, the IndexMap's item, so the two chain.
            .map(|(k, v)| (k, v))
            .chain(large.into_iter().flatten())
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
    }

    /// Number of pairs.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.entries {
            Entries::Small(v) => v.len(),
            Entries::Large(m) => m.len(),
        }
    }

    /// True when there are no pairs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

/// One remoting frame. Field names follow Java's `RemotingCommand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code, or response code in responses.
    pub code: i32,
    /// Sender's language; `None` when the sender named one this side does not know.
    pub language: Option<LanguageCode>,
    /// Sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id; a response echoes its request's.
    pub opaque: i32,
    /// Bit 0: response; bit 1: oneway.
    pub flag: i32,
    /// Free text, mostly error explanations; `None` is omitted from JSON.
    pub remark: Option<String>,
    /// The custom header; `None` is omitted from JSON (Java leaves it null when unused).
    pub ext_fields: Option<ExtFields>,
    /// How this frame's header is (or will be) encoded.
    pub serialize_type: SerializeType,
    /// Whether the JSON header carries `serializeTypeCurrentRPC`: Java writes it, Go does not.
    /// Kept so that a decoded frame re-encodes to the same bytes.
    pub write_serialize_type_field: bool,
    /// The body; empty means none.
    pub body: Bytes,
}

impl RemotingCommand {
    /// A request as this server sends it: Java language, current version, JSON header.
    #[must_use]
    pub fn request(code: i32, ext_fields: Option<ExtFields>) -> Self {
        Self {
            code,
            language: Some(LanguageCode::Java),
            version: version::CURRENT,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields,
            serialize_type: SerializeType::Json,
            write_serialize_type_field: true,
            body: Bytes::new(),
        }
    }

    /// A response with `code` and `remark`, not yet tied to a request (see [`Self::answering`]).
    #[must_use]
    pub fn response(code: ResponseCode, remark: Option<String>) -> Self {
        let mut cmd = Self::request(code.code(), None);
        cmd.flag = FLAG_RESPONSE;
        cmd.remark = remark;
        cmd
    }

    /// A successful response without remark.
    #[must_use]
    pub fn success() -> Self {
        Self::response(ResponseCode::SUCCESS, None)
    }

    /// An error response with a remark.
    #[must_use]
    pub fn error(code: ResponseCode, remark: impl Into<String>) -> Self {
        Self::response(code, Some(remark.into()))
    }

    /// Ties this response to `request`: same opaque, same header encoding (what 4.9.8 does;
    /// every client decodes either type by the type byte).
    #[must_use]
    pub fn answering(mut self, request: &Self) -> Self {
        self.opaque = request.opaque;
        self.flag |= FLAG_RESPONSE;
        self.serialize_type = request.serialize_type;
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the custom header.
    #[must_use]
    pub fn with_ext_fields(mut self, ext_fields: ExtFields) -> Self {
        self.ext_fields = Some(ext_fields);
        self
    }

    /// True for responses.
    #[must_use]
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True for oneway requests, which must not be answered.
    #[must_use]
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The value of one custom header field.
    #[must_use]
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref().and_then(|e| e.get(key))
    }

    /// The response code, when Java defines it.
    #[must_use]
    pub fn response_code(&self) -> Option<ResponseCode> {
        ResponseCode::from_i32(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_fields_behave_the_same_past_the_small_size() {
        let n = EXT_FIELDS_SMALL_KEYS + 8;
        let keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let mut big = ExtFields::new();
        for (i, k) in keys.iter().enumerate() {
            big.insert(k.clone(), i.to_string());
        }
        // Replaced in place after the move to the hash map, order kept.
        big.insert("k0", "first");
        assert_eq!(big.len(), n);
        assert_eq!(big.get("k0"), Some("first"));
        assert_eq!(big.get(&keys[n - 1]), Some((n - 1).to_string().as_str()));
        let order: Vec<&str> = big.iter().map(|(k, _)| k).collect();
        assert_eq!(order, keys.iter().map(String::as_str).collect::<Vec<_>>());
        // The same pairs built with room for all of them up front compare equal.
        let mut sized = ExtFields::with_capacity(n);
        for (k, v) in big.iter() {
            sized.insert(k, v);
        }
        assert_eq!(sized, big);
        assert_eq!(big.remove("k1").as_deref(), Some("1"));
        assert_eq!(big.iter().nth(1).map(|(k, _)| k), Some("k2"));
        assert_eq!(big.take("k0").as_deref(), Some("first"));
        assert_eq!(big.take("k0"), None);
        assert_eq!(big.len(), n - 2);
        // Small: take swaps the last pair in, remove keeps the order.
        let mut small: ExtFields = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
            .into_iter()
            .collect();
        assert_eq!(small.take("a").as_deref(), Some("1"));
        assert_eq!(small.iter().next(), Some(("d", "4")));
        assert_eq!(small.remove("b").as_deref(), Some("2"));
        assert_eq!(
            small.iter().collect::<Vec<_>>(),
            vec![("d", "4"), ("c", "3")]
        );
        assert!(small.get("a").is_none() && !small.is_empty());
    }

    #[test]
    fn ext_fields_keep_order_and_replace_in_place() {
        let mut e: ExtFields = [("b", "1"), ("a", "2")].into_iter().collect();
        e.insert("b", "3");
        let pairs: Vec<_> = e.iter().collect();
        assert_eq!(pairs, vec![("b", "3"), ("a", "2")]);
        assert_eq!(e.remove("b").as_deref(), Some("3"));
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn common_text_is_the_same_text() {
        for n in 0..=31_i64 {
            assert_eq!(small_int_text(n), Some(n.to_string().as_str()));
            assert_eq!(common_text(&n.to_string()), Some(n.to_string().as_str()));
        }
        assert_eq!(small_int_text(32), None);
        assert_eq!(small_int_text(-1), None);
        for v in ["false", "true", "TBW102"] {
            assert_eq!(common_text(v), Some(v));
        }
        // Not the same text as the number: must be copied as it came.
        for v in ["01", "00", "32", "39", "-1", "", "False", "100"] {
            assert_eq!(common_text(v), None, "{v}");
        }
    }

    #[test]
    fn answering_copies_opaque_and_type() {
        let mut req = RemotingCommand::request(105, None);
        req.opaque = 42;
        req.serialize_type = SerializeType::RocketMq;
        let resp = RemotingCommand::success().answering(&req);
        assert_eq!(resp.opaque, 42);
        assert!(resp.is_response());
        assert!(!resp.is_oneway());
        assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    }
}
