//! The classic HA wire format (`store:ha/DefaultHAClient.java`, `DefaultHAConnection.java`), sans
//! io. Raw TCP, no remoting frame, big-endian, no handshake:
//!
//! - slave → master: an 8-byte report, the slave's CommitLog max offset; the master reads whole
//!   8-byte units and keeps the last one;
//! - master → slave: a 12-byte header `physicalOffset i64 | bodySize i32`, then `bodySize` raw
//!   CommitLog bytes; `bodySize` 0 is a heartbeat.

use crate::limits::HA_MAX_CHUNK_BYTES;

/// Bytes in a slave's report (`DefaultHAClient.REPORT_HEADER_SIZE`).
pub const REPORT_SIZE: usize = 8;
/// Bytes in a transfer header (`DefaultHAConnection.TRANSFER_HEADER_SIZE`).
pub const HEADER_SIZE: usize = 12;

/// A wire error: the peer is not speaking classic HA; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A negative offset in a report or header.
    #[error("negative CommitLog offset {0}")]
    NegativeOffset(i64),
    /// A body size below zero or above what a slave buffers.
    #[error("transfer body size {0} outside 0..={HA_MAX_CHUNK_BYTES}")]
    BodySize(i32),
}

/// Big-endian value of up to 8 bytes, sign-extended from the top bit of the first byte when
/// fewer than 8 are given (so a 4-byte word reads as Java's `int`).
fn be_i64(bytes: &[u8]) -> i64 {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    bytes.iter().fold(if negative { -1 } else { 0 }, |acc, b| {
        (acc << 8) | i64::from(*b)
    })
}

/// The report a slave sends.
#[must_use]
pub fn encode_report(max_offset: u64) -> [u8; REPORT_SIZE] {
    i64::try_from(max_offset).unwrap_or(i64::MAX).to_be_bytes()
}

/// The last whole report in `buf`, and how many bytes were whole reports (the caller keeps the
/// rest for the next read).
pub fn last_report(buf: &[u8]) -> Result<(Option<u64>, usize), ProtocolError> {
    let whole = buf.len() - buf.len() % REPORT_SIZE;
    if whole == 0 {
        return Ok((None, 0));
    }
    let v = be_i64(buf.get(whole - REPORT_SIZE..whole).unwrap_or_default());
    let offset = u64::try_from(v).map_err(|_| ProtocolError::NegativeOffset(v))?;
    Ok((Some(offset), whole))
}

/// A transfer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    /// CommitLog offset of the body's first byte.
    pub offset: u64,
    /// Body length; 0 for a heartbeat.
    pub size: usize,
}

impl TransferHeader {
    /// The 12 header bytes.
    #[must_use]
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[..8].copy_from_slice(&i64::try_from(self.offset).unwrap_or(i64::MAX).to_be_bytes());
        out[8..].copy_from_slice(&i32::try_from(self.size).unwrap_or(i32::MAX).to_be_bytes());
        out
    }

    /// Parses the header at the start of `buf`; `None` until 12 bytes are there.
    pub fn decode(buf: &[u8]) -> Result<Option<Self>, ProtocolError> {
        let Some(head) = buf.get(..HEADER_SIZE) else {
            return Ok(None);
        };
        let (off, size) = head.split_at(8);
        let offset = be_i64(off);
        let size = i32::try_from(be_i64(size)).unwrap_or(-1);
        let offset = u64::try_from(offset).map_err(|_| ProtocolError::NegativeOffset(offset))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= HA_MAX_CHUNK_BYTES)
            .ok_or(ProtocolError::BodySize(size))?;
        Ok(Some(Self { offset, size }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_keep_the_last_whole_unit() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&encode_report(5));
        buf.extend_from_slice(&encode_report(0x0102_0304_0506));
        buf.extend_from_slice(&[0, 0, 1]);
        assert_eq!(last_report(&buf), Ok((Some(0x0102_0304_0506), 16)));
        assert_eq!(last_report(&buf[..7]), Ok((None, 0)));
        assert_eq!(encode_report(1), [0, 0, 0, 0, 0, 0, 0, 1]);
        let neg = (-1i64).to_be_bytes();
        assert_eq!(last_report(&neg), Err(ProtocolError::NegativeOffset(-1)));
    }

    #[test]
    fn headers_round_trip_and_bad_sizes_are_refused() {
        let h = TransferHeader {
            offset: 1 << 30,
            size: 32_768,
        };
        let bytes = h.encode();
        assert_eq!(bytes, [0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0x80, 0]);
        assert_eq!(TransferHeader::decode(&bytes), Ok(Some(h)));
        assert_eq!(TransferHeader::decode(&bytes[..11]), Ok(None));
        let mut bad = bytes;
        bad[8..].copy_from_slice(&(-3i32).to_be_bytes());
        assert_eq!(
            TransferHeader::decode(&bad),
            Err(ProtocolError::BodySize(-3))
        );
        bad[8..].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(
            TransferHeader::decode(&bad),
            Err(ProtocolError::BodySize(i32::MAX))
        );
    }
}
