//! Frame splitting and whole-frame encode/decode.
//!
//! [`check`] tells whether a complete frame is buffered without allocating (the "check, then
//! parse" split); [`decode`] turns one frame (length prefix stripped) into a command, sharing the
//! body with the input buffer; [`encode`] writes a command as a complete frame.

use bytes::{BufMut, Bytes, BytesMut};

use super::command::{RemotingCommand, SerializeType};
use super::error::WireError;
use super::{binary_header, json_header};
use crate::limits::{FRAME_MAX_BYTES, HEADER_MAX_BYTES};

/// Bytes of the total-length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// The whole length (prefix included) that the frame starting `buf` announces, once its prefix
/// is buffered. Not checked against the cap; [`check`] does that.
#[must_use]
pub fn announced_total(buf: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = buf.get(..LENGTH_PREFIX_BYTES)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(prefix))
        .ok()?
        .checked_add(LENGTH_PREFIX_BYTES)
}

/// Returns the length of the first complete frame in `buf` (prefix included), `None` if more
/// bytes are needed, or an error if the announced length is over the cap. Never allocates.
/// Like Java's `NettyDecoder`, the cap counts the 4-byte prefix: the largest accepted announced
/// length is `FRAME_MAX_BYTES - 4`.
pub fn check(buf: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(total) = announced_total(buf) else {
        return Ok(None);
    };
    if total > FRAME_MAX_BYTES {
        return Err(WireError::FrameTooLong {
            len: u64::try_from(total - LENGTH_PREFIX_BYTES).unwrap_or(u64::MAX),
            max: FRAME_MAX_BYTES - LENGTH_PREFIX_BYTES,
        });
    }
    Ok((buf.len() >= total).then_some(total))
}

/// The header length a frame (prefix stripped) declares, before anything is checked.
#[must_use]
pub fn declared_header_len(frame: &[u8]) -> usize {
    frame
        .get(..4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, |w| {
            usize::try_from(u32::from_be_bytes(w) & 0x00FF_FFFF).unwrap_or(0)
        })
}

/// Decodes one frame whose length prefix has been stripped. The body shares `frame`'s memory.
pub fn decode(frame: Bytes) -> Result<RemotingCommand, WireError> {
    let word: [u8; 4] = frame
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(WireError::FrameTooShort { len: frame.len() })?;
    let word = u32::from_be_bytes(word);
    let type_code = (word >> 24) as u8;
    let header_len = usize::try_from(word & 0x00FF_FFFF).unwrap_or(usize::MAX);
    let available = frame.len() - 4;
    if header_len > available {
        return Err(WireError::BadHeaderLength {
            header_len,
            available,
        });
    }
    let serialize_type =
        SerializeType::from_code(type_code).ok_or(WireError::UnknownSerializeType(type_code))?;
    let header = frame
        .get(4..4 + header_len)
        .ok_or(WireError::BadHeaderLength {
            header_len,
            available,
        })?;
    let mut cmd = match serialize_type {
        SerializeType::Json => json_header::decode(header)?,
        SerializeType::RocketMq => binary_header::decode(header)?,
    };
    cmd.body = frame.slice(4 + header_len..);
    Ok(cmd)
}

/// Encodes the header of `cmd` in its serialize type.
pub fn encode_header(cmd: &RemotingCommand) -> Vec<u8> {
    let mut header = Vec::with_capacity(256);
    match cmd.serialize_type {
        SerializeType::Json => json_header::encode(cmd, &mut header),
        SerializeType::RocketMq => binary_header::encode(cmd, &mut header),
    }
    header
}

/// Writes the length prefix, header word and header of a frame whose body of `body_len` bytes
/// the caller sends next (used to send bodies straight from mapped files).
pub fn encode_prefix(
    cmd: &RemotingCommand,
    body_len: usize,
    out: &mut BytesMut,
) -> Result<(), WireError> {
    let header = encode_header(cmd);
    if header.len() > HEADER_MAX_BYTES {
        return Err(WireError::HeaderTooLong(header.len()));
    }
    let total = 4 + header.len() + body_len;
    if total + LENGTH_PREFIX_BYTES > FRAME_MAX_BYTES {
        return Err(WireError::FrameTooLong {
            len: u64::try_from(total).unwrap_or(u64::MAX),
            max: FRAME_MAX_BYTES,
        });
    }
    let header_len =
        u32::try_from(header.len()).map_err(|_| WireError::HeaderTooLong(header.len()))?;
    out.reserve(8 + header.len());
    out.put_u32(u32::try_from(total).map_err(|_| WireError::HeaderTooLong(total))?);
    out.put_u32((u32::from(cmd.serialize_type.code()) << 24) | header_len);
    out.put_slice(&header);
    Ok(())
}

/// Encodes `cmd` as one complete frame.
pub fn encode(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<(), WireError> {
    encode_prefix(cmd, cmd.body.len(), out)?;
    out.put_slice(&cmd.body);
    Ok(())
}

/// Encodes `cmd` into a fresh buffer: the header is written in place behind a reserved
/// prefix, so the frame costs one allocation and no header copy.
pub fn encode_to_bytes(cmd: &RemotingCommand) -> Result<Bytes, WireError> {
    const PREFIX: usize = 8;
    // A send's response header (msgId, offsetMsgId, queue, region, trace switch) is 300-400
    // bytes: room for it without regrowing.
    let mut out = Vec::with_capacity(PREFIX + 512 + cmd.body.len());
    out.extend_from_slice(&[0u8; PREFIX]);
    match cmd.serialize_type {
        SerializeType::Json => json_header::encode(cmd, &mut out),
        SerializeType::RocketMq => binary_header::encode(cmd, &mut out),
    }
    let header_len = out.len() - PREFIX;
    if header_len > HEADER_MAX_BYTES {
        return Err(WireError::HeaderTooLong(header_len));
    }
    let total = 4 + header_len + cmd.body.len();
    if total + LENGTH_PREFIX_BYTES > FRAME_MAX_BYTES {
        return Err(WireError::FrameTooLong {
            len: u64::try_from(total).unwrap_or(u64::MAX),
            max: FRAME_MAX_BYTES,
        });
    }
    let total = u32::try_from(total).map_err(|_| WireError::HeaderTooLong(total))?;
    let word = (u32::from(cmd.serialize_type.code()) << 24)
        | u32::try_from(header_len).map_err(|_| WireError::HeaderTooLong(header_len))?;
    let prefix = total.to_be_bytes().into_iter().chain(word.to_be_bytes());
    for (dst, src) in out.iter_mut().zip(prefix) {
        *dst = src;
    }
    out.extend_from_slice(&cmd.body);
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_types() {
        for st in [SerializeType::Json, SerializeType::RocketMq] {
            let mut cmd = RemotingCommand::request(310, Some([("a", "g")].into_iter().collect()));
            cmd.serialize_type = st;
            cmd.opaque = 9;
            cmd.body = Bytes::from_static(b"hello");
            let bytes = encode_to_bytes(&cmd).unwrap();
            let total = check(&bytes).unwrap().unwrap();
            assert_eq!(total, bytes.len());
            assert_eq!(check(&bytes[..total - 1]).unwrap(), None);
            let back = decode(bytes.slice(4..)).unwrap();
            assert_eq!(back, cmd);
        }
    }

    #[test]
    fn encode_to_bytes_matches_encode() {
        for st in [SerializeType::Json, SerializeType::RocketMq] {
            let mut cmd = RemotingCommand::response(
                crate::remoting::ResponseCode::SUCCESS,
                Some("r\"é".into()),
            );
            cmd.serialize_type = st;
            cmd.opaque = -42;
            cmd.ext_fields = Some([("msgId", "AB"), ("q", "\u{1}")].into_iter().collect());
            cmd.body = Bytes::from_static(b"body");
            let mut out = BytesMut::new();
            encode(&cmd, &mut out).unwrap();
            assert_eq!(encode_to_bytes(&cmd).unwrap(), out.freeze());
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            check(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(WireError::FrameTooLong { .. })
        ));
        assert!(matches!(
            check(&[0x01, 0x00, 0x00, 0x01]),
            Err(WireError::FrameTooLong { .. })
        ));
        assert!(matches!(
            decode(Bytes::from_static(&[0, 0])),
            Err(WireError::FrameTooShort { .. })
        ));
        assert!(matches!(
            decode(Bytes::from_static(&[0, 0, 0, 9, b'{'])),
            Err(WireError::BadHeaderLength {
                header_len: 9,
                available: 1
            })
        ));
        assert!(matches!(
            decode(Bytes::from_static(&[7, 0, 0, 0])),
            Err(WireError::UnknownSerializeType(7))
        ));
    }
}
