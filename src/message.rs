//! Message-level helpers shared by the broker and the store: the properties string, Java
//! `HashMap` iteration order, and the SEND_BATCH body.

use bytes::Bytes;

use crate::store::record::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, java_string_hash};

/// Parses a properties string as `MessageDecoder.string2messageProperties` does: segments split
/// on `\u2`, name and value split at the first `\u1`; segments shorter than 3 characters or with
/// an empty name or value are skipped. Later duplicates replace earlier ones in place.
#[must_use]
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for seg in text.split(PROPERTY_SEPARATOR) {
        if seg.chars().count() < 3 {
            continue;
        }
        let Some((k, v)) = seg.split_once(NAME_VALUE_SEPARATOR) else {
            continue;
        };
        if k.is_empty() || v.is_empty() {
            continue;
        }
        if let Some(slot) = out.iter_mut().find(|(ek, _)| ek == k) {
            slot.1 = v.to_owned();
        } else {
            out.push((k.to_owned(), v.to_owned()));
        }
    }
    out
}

/// Sets a property, keeping insertion order.
pub fn put_property(props: &mut Vec<(String, String)>, key: &str, value: &str) {
    if let Some(slot) = props.iter_mut().find(|(k, _)| k == key) {
        slot.1 = value.to_owned();
    } else {
        props.push((key.to_owned(), value.to_owned()));
    }
}

/// Removes a property (`MessageAccessor.clearProperty`).
pub fn remove_property(props: &mut Vec<(String, String)>, key: &str) {
    props.retain(|(k, _)| k != key);
}

/// One property.
#[must_use]
pub fn get_property<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Orders entries as a Java `new HashMap<>(128)` filled in this order iterates them: by bucket
/// `(h ^ h >>> 16) & (capacity - 1)` of `String.hashCode`, ties in insertion order. The broker
/// rebuilds a message's properties through such maps, so the stored string follows this order.
pub fn java_hashmap_order(props: &mut [(String, String)]) {
    let mask = java_hashmap_mask(props.len());
    props.sort_by_key(|(k, _)| {
        let h = java_string_hash(k).cast_unsigned();
        (h ^ (h >> 16)) & mask
    });
}

/// Serializes properties as `messageProperties2String`: `k\u1v\u2` for each pair.
#[must_use]
pub fn properties_to_string(props: &[(String, String)]) -> String {
    let mut out = String::with_capacity(props.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (k, v) in props {
        out.push_str(k);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(v);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// [`parse_properties`] without copying: the pairs borrow `text` (same skipping and
/// last-duplicate-wins rules), so a value can later be replaced by one borrowed elsewhere.
#[must_use]
pub fn parse_properties_borrowed(text: &str) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for seg in text.split(PROPERTY_SEPARATOR) {
        if seg.chars().count() < 3 {
            continue;
        }
        let Some((k, v)) = seg.split_once(NAME_VALUE_SEPARATOR) else {
            continue;
        };
        if k.is_empty() || v.is_empty() {
            continue;
        }
        if let Some(slot) = out.iter_mut().find(|(ek, _)| *ek == k) {
            slot.1 = v;
        } else {
            out.push((k, v));
        }
    }
    out
}

/// [`put_property`] for borrowed pairs.
pub fn put_property_borrowed<'a>(
    props: &mut Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) {
    if let Some(slot) = props.iter_mut().find(|(k, _)| *k == key) {
        slot.1 = value;
    } else {
        props.push((key, value));
    }
}

/// [`java_hashmap_order`] for borrowed pairs (each key hashed once).
pub fn java_hashmap_order_borrowed(props: &mut [(&str, &str)]) {
    let mask = java_hashmap_mask(props.len());
    // `sort_by_cached_key` is stable: ties keep insertion order, as in Java's bucket lists.
    props.sort_by_cached_key(|(k, _)| {
        let h = java_string_hash(k).cast_unsigned();
        (h ^ (h >> 16)) & mask
    });
}

/// [`properties_to_string`] for borrowed pairs.
#[must_use]
pub fn properties_to_string_borrowed(props: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(props.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (k, v) in props {
        out.push_str(k);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(v);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// The bucket mask of a Java `new HashMap<>(128)` holding `len` entries (it doubles past 3/4).
fn java_hashmap_mask(len: usize) -> u32 {
    let mut capacity: usize = 128;
    while len * 4 > capacity * 3 {
        capacity *= 2;
    }
    u32::try_from(capacity - 1).unwrap_or(u32::MAX)
}

/// One message inside a SEND_BATCH body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// User flag.
    pub flag: i32,
    /// Body.
    pub body: Bytes,
    /// Properties string.
    pub properties: String,
}

/// Why a batch body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed batch body at byte {offset}: {what}")]
pub struct BatchError {
    /// Where.
    pub offset: usize,
    /// What.
    pub what: &'static str,
}

/// Most messages in one batch; bounds the work a single request can ask for.
pub const MAX_BATCH_MESSAGES: usize = 4096;

/// Decodes a SEND_BATCH body (`MessageDecoder.decodeMessages`): repeated
/// `TOTALSIZE i32 | MAGIC i32 | BODYCRC i32 | FLAG i32 | BODYLEN i32 | BODY | PROPLEN i16 | PROPS`.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchItem>, BatchError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let read_i32 = |at: usize| -> Option<i32> {
        body.get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .map(i32::from_be_bytes)
    };
    while pos < body.len() {
        if out.len() >= MAX_BATCH_MESSAGES {
            return Err(BatchError {
                offset: pos,
                what: "too many messages",
            });
        }
        let total = read_i32(pos)
            .and_then(|t| usize::try_from(t).ok())
            .ok_or(BatchError {
                offset: pos,
                what: "total size",
            })?;
        let end = pos
            .checked_add(total)
            .filter(|e| *e <= body.len() && total >= 22)
            .ok_or(BatchError {
                offset: pos,
                what: "total size past the end",
            })?;
        let flag = read_i32(pos + 12).ok_or(BatchError {
            offset: pos,
            what: "flag",
        })?;
        let body_len = read_i32(pos + 16)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or(BatchError {
                offset: pos,
                what: "body length",
            })?;
        let body_start = pos + 20;
        let body_end = body_start
            .checked_add(body_len)
            .filter(|e| *e + 2 <= end)
            .ok_or(BatchError {
                offset: pos,
                what: "body past the message",
            })?;
        let props_len = body
            .get(body_end..body_end + 2)
            .and_then(|s| s.try_into().ok())
            .map(i16::from_be_bytes)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or(BatchError {
                offset: body_end,
                what: "properties length",
            })?;
        let props_start = body_end + 2;
        let props_bytes = body
            .get(props_start..props_start + props_len)
            .filter(|_| props_start + props_len <= end)
            .ok_or(BatchError {
                offset: props_start,
                what: "properties past the message",
            })?;
        let properties = String::from_utf8(props_bytes.to_vec()).map_err(|_| BatchError {
            offset: props_start,
            what: "properties not UTF-8",
        })?;
        out.push(BatchItem {
            flag,
            body: body.slice(body_start..body_end),
            properties,
        });
        pos = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order observed in a message the Java 5.3.3 broker stored (golden fixture
    /// `br_pull_resp_found_java533`): client keys, then MSG_REGION, TRACE_ON, CLUSTER.
    #[test]
    fn hashmap_order_matches_java_broker() {
        let mut p: Vec<(String, String)> = [
            "KEYS",
            "golden",
            "UNIQ_KEY",
            "WAIT",
            "TAGS",
            "MSG_REGION",
            "TRACE_ON",
            "CLUSTER",
        ]
        .iter()
        .map(|k| ((*k).to_owned(), "v".to_owned()))
        .collect();
        java_hashmap_order(&mut p);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "MSG_REGION",
                "golden",
                "UNIQ_KEY",
                "CLUSTER",
                "TAGS",
                "KEYS",
                "WAIT",
                "TRACE_ON"
            ]
        );
    }

    #[test]
    fn parse_skips_malformed_segments() {
        let p = parse_properties("a\u{1}1\u{2}\u{2}bb\u{2}k\u{1}\u{2}TAGS\u{1}x");
        assert_eq!(
            p,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("TAGS".to_owned(), "x".to_owned())
            ]
        );
    }

    #[test]
    fn batch_round_trip_and_garbage() {
        let mut b = Vec::new();
        for (flag, body, props) in [(0i32, &b"one"[..], "K\u{1}v\u{2}"), (3, &b"second"[..], "")] {
            let total = 20 + body.len() + 2 + props.len();
            b.extend_from_slice(&i32::try_from(total).unwrap().to_be_bytes());
            b.extend_from_slice(&0i32.to_be_bytes());
            b.extend_from_slice(&0i32.to_be_bytes());
            b.extend_from_slice(&flag.to_be_bytes());
            b.extend_from_slice(&i32::try_from(body.len()).unwrap().to_be_bytes());
            b.extend_from_slice(body);
            b.extend_from_slice(&i16::try_from(props.len()).unwrap().to_be_bytes());
            b.extend_from_slice(props.as_bytes());
        }
        let items = decode_batch(&Bytes::from(b.clone())).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].flag, 3);
        assert_eq!(&items[1].body[..], b"second");
        let first_end = 20 + 3 + 2 + 4;
        for cut in (1..b.len()).filter(|c| *c != first_end) {
            assert!(
                decode_batch(&Bytes::copy_from_slice(&b[..cut])).is_err(),
                "cut {cut}"
            );
        }
    }
}
