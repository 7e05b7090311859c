//! The ROCKETMQ binary header (serialize type 1, `RocketMQSerializable`).
//!
//! ```text
//! code:i16 | language:u8 | version:i16 | opaque:i32 | flag:i32 |
//! remark_len:i32 remark | ext_len:i32 { key_len:i16 key | val_len:i32 val }*
//! ```
//! Every length is checked against the bytes that remain before anything is allocated.
//! A zero-length remark decodes as absent, as in Java.

use super::command::{ExtFields, RemotingCommand, SerializeType};
use super::error::WireError;
use super::language::LanguageCode;
use crate::limits::EXT_FIELDS_MAX_KEYS;

/// Java narrows `code` and `version` with a `(short)` cast; so do we, explicitly.
#[allow(clippy::cast_possible_truncation)]
fn java_short(v: i32) -> i16 {
    v as i16
}

/// Appends the binary header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.extend_from_slice(&java_short(cmd.code).to_be_bytes());
    out.push(
        cmd.language
            .map_or(LanguageCode::Java.code(), LanguageCode::code),
    );
    out.extend_from_slice(&java_short(cmd.version).to_be_bytes());
    out.extend_from_slice(&cmd.opaque.to_be_bytes());
    out.extend_from_slice(&cmd.flag.to_be_bytes());
    let remark = cmd.remark.as_deref().unwrap_or("").as_bytes();
    out.extend_from_slice(&len_i32(remark.len()).to_be_bytes());
    out.extend_from_slice(remark);
    let ext_start = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    if let Some(ext) = &cmd.ext_fields {
        for (k, v) in ext.iter() {
            // Java's key length is a short; a longer key cannot be carried, so it is skipped.
            let Ok(key_len) = i16::try_from(k.len()) else {
                continue;
            };
            out.extend_from_slice(&key_len.to_be_bytes());
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&len_i32(v.len()).to_be_bytes());
            out.extend_from_slice(v.as_bytes());
        }
    }
    let ext_len = len_i32(out.len() - ext_start - 4).to_be_bytes();
    if let Some(slot) = out.get_mut(ext_start..ext_start + 4) {
        slot.copy_from_slice(&ext_len);
    }
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

/// A bounds-checked reader over the header bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let have = self.buf.len() - self.pos;
        let slice =
            self.buf
                .get(self.pos..self.pos.saturating_add(n))
                .ok_or(WireError::UnexpectedEof {
                    offset: self.pos,
                    need: n,
                    have,
                })?;
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a length field and checks it against what remains.
    fn len(&mut self, raw: i64, what: &'static str, offset: usize) -> Result<usize, WireError> {
        let len = usize::try_from(raw).map_err(|_| WireError::BadLength {
            what,
            len: raw,
            offset,
        })?;
        if len > self.buf.len() - self.pos {
            return Err(WireError::BadLength {
                what,
                len: raw,
                offset,
            });
        }
        Ok(len)
    }

    fn string(&mut self, len: usize, what: &'static str) -> Result<String, WireError> {
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError::InvalidUtf8(what))
    }
}

/// Decodes a binary header. `body` is attached by the caller.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, WireError> {
    let mut r = Reader {
        buf: header,
        pos: 0,
    };
    let mut cmd = RemotingCommand::request(0, None);
    cmd.serialize_type = SerializeType::RocketMq;
    cmd.write_serialize_type_field = true;
    cmd.code = i32::from(r.i16()?);
    cmd.language = LanguageCode::from_code(r.u8()?);
    cmd.version = i32::from(r.i16()?);
    cmd.opaque = r.i32()?;
    cmd.flag = r.i32()?;
    let at = r.pos;
    let raw = r.i32()?;
    let remark_len = r.len(i64::from(raw), "remark", at)?;
    cmd.remark = if remark_len == 0 {
        None
    } else {
        Some(r.string(remark_len, "remark")?)
    };
    let at = r.pos;
    let raw = r.i32()?;
    let ext_len = r.len(i64::from(raw), "extFields", at)?;
    let ext_end = r.pos + ext_len;
    if ext_len > 0 {
        let mut ext = ExtFields::new();
        while r.pos < ext_end {
            if ext.len() >= EXT_FIELDS_MAX_KEYS {
                return Err(WireError::TooManyExtFields {
                    count: ext.len() + 1,
                    max: EXT_FIELDS_MAX_KEYS,
                    code: cmd.code,
                    opaque: cmd.opaque,
                    flag: cmd.flag,
                });
            }
            let at = r.pos;
            let raw = r.i16()?;
            let key_len = r.len(i64::from(raw), "extFields key", at)?;
            let key = r.string(key_len, "extFields key")?;
            let at = r.pos;
            let raw = r.i32()?;
            let val_len = r.len(i64::from(raw), "extFields value", at)?;
            let val = r.string(val_len, "extFields value")?;
            ext.insert(key, val);
        }
        if r.pos != ext_end {
            return Err(WireError::BadLength {
                what: "extFields",
                len: i64::from(raw),
                offset: at,
            });
        }
        cmd.ext_fields = Some(ext);
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_header_is_21_bytes_as_in_java() {
        let mut cmd = RemotingCommand::request(0, None);
        cmd.serialize_type = SerializeType::RocketMq;
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        assert_eq!(out.len(), 21);
        cmd.remark = Some("Sample Remark".into());
        out.clear();
        encode(&cmd, &mut out);
        assert_eq!(out.len(), 34);
    }

    #[test]
    fn round_trips_ext_fields() {
        let mut cmd = RemotingCommand::request(
            310,
            Some([("a", "pg"), ("b", "T\u{1}x")].into_iter().collect()),
        );
        cmd.serialize_type = SerializeType::RocketMq;
        cmd.opaque = -5;
        cmd.remark = Some("r".into());
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        let back = decode(&out).unwrap();
        assert_eq!(back, cmd);
    }

    #[test]
    fn rejects_lengths_past_the_end() {
        let mut cmd = RemotingCommand::request(1, Some([("k", "v")].into_iter().collect()));
        cmd.remark = Some("abc".into());
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        for cut in 0..out.len() {
            assert!(decode(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = out.clone();
        bad[13..17].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(decode(&bad), Err(WireError::BadLength { .. })));
        bad[13..17].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(decode(&bad), Err(WireError::BadLength { .. })));
    }
}
