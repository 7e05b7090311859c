//! Errors of the protocol layer. Each says where in the input it went wrong and why.

use thiserror::Error;

/// A frame or header that cannot be decoded. The transport closes the connection on any of these,
/// as Java's `NettyDecoder` does, except [`WireError::TooManyExtFields`], which is answered; none of
/// them may panic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WireError {
    /// The length prefix announces more than the frame cap (`NettyDecoder.FRAME_MAX_LENGTH`).
    #[error("frame length {len} exceeds the maximum {max}")]
    FrameTooLong {
        /// Announced length.
        len: u64,
        /// The cap.
        max: usize,
    },
    /// The frame is too short to hold its own header-length word.
    #[error("frame of {len} bytes is shorter than the 4-byte header length word")]
    FrameTooShort {
        /// Frame length without the prefix.
        len: usize,
    },
    /// The header length points past the end of the frame (Java: "decode error, bad header length").
    #[error(
        "bad header length {header_len}: frame has only {available} bytes after the length word"
    )]
    BadHeaderLength {
        /// Declared header length.
        header_len: usize,
        /// Bytes that follow the header length word.
        available: usize,
    },
    /// The high byte of the header word is neither 0 (JSON) nor 1 (ROCKETMQ).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// The input ended inside a field.
    #[error("unexpected end of header at offset {offset}: need {need} bytes, have {have}")]
    UnexpectedEof {
        /// Offset into the header where the field starts.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A declared length inside the binary header is negative or larger than the header.
    #[error("bad {what} length {len} at offset {offset}")]
    BadLength {
        /// Which field.
        what: &'static str,
        /// The declared length.
        len: i64,
        /// Offset of the length field.
        offset: usize,
    },
    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in {0}")]
    InvalidUtf8(&'static str),
    /// The JSON header does not parse or has the wrong shape.
    #[error("invalid JSON header: {0}")]
    InvalidJson(String),
    /// The header carries more `extFields` keys than [`crate::limits::EXT_FIELDS_MAX_KEYS`].
    /// Unlike the other variants this one is answered (the request's identity is known) and the
    /// connection stays open.
    #[error("the request header has {count} extFields keys, more than the limit of {max}")]
    TooManyExtFields {
        /// Keys counted (all of them for JSON, up to the first over the limit for ROCKETMQ).
        count: usize,
        /// The limit.
        max: usize,
        /// Request code, to log and answer.
        code: i32,
        /// Request id, echoed in the answer.
        opaque: i32,
        /// Request flags (a oneway request gets no answer).
        flag: i32,
    },
    /// An encoded header would not fit in the 24-bit length field.
    #[error("header of {0} bytes does not fit the 24-bit header length")]
    HeaderTooLong(usize),
}

/// A custom header that cannot be built from `extFields`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// A `@CFNotNull` field is absent.
    #[error("the custom field <{0}> is null")]
    Missing(&'static str),
    /// A field is present but does not parse as its Java type.
    #[error("the custom field <{field}> has an invalid value \"{value}\"")]
    Invalid {
        /// Java field name.
        field: &'static str,
        /// The text received.
        value: String,
    },
}
