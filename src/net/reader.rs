//! Reading frames off a socket with buffers that grow only as bytes arrive.
//!
//! Small frames (the length prefix announces at most [`SMALL_FRAME_BYTES`]) are cut from one
//! per-connection buffer, as a codec would. A larger frame moves to a buffer of its own whose
//! capacity doubles as its bytes arrive (never past the announced length, never reserved up front
//! from it), and every byte of that capacity is charged to the process-wide [`InboundBudget`]. The
//! charge travels with the finished frame until its request has been handled.
//!
//! The reader also knows when the first byte of the unfinished frame arrived, so the connection
//! can close a peer that trickles a frame in ([`FRAME_READ_TIMEOUT`]).

use std::time::Instant;

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::NetError;
use super::budget::{Charge, InboundBudget};
use crate::limits::{LARGE_FRAME_GROWTH_MIN_BYTES, SMALL_FRAME_BYTES, SMALL_READ_CHUNK_BYTES};
use crate::remoting::frame;

#[cfg(doc)]
use crate::limits::FRAME_READ_TIMEOUT;

/// A whole frame, its length prefix stripped, with the budget it holds (large frames only).
#[derive(Debug)]
pub struct InboundFrame {
    /// Header-length word, header and body.
    pub bytes: Bytes,
    /// Released when dropped; keep it until the request is handled.
    pub charge: Option<Charge>,
}

/// A frame over [`SMALL_FRAME_BYTES`] being assembled.
#[derive(Debug)]
struct LargeFrame {
    /// Bytes received so far, the length prefix included.
    buf: Vec<u8>,
    /// The whole frame's length, prefix included.
    total: usize,
    /// Covers `buf.capacity()`.
    charge: Charge,
}

/// Per-connection frame assembly.
#[derive(Debug)]
pub struct FrameReader {
    small: BytesMut,
    large: Option<LargeFrame>,
    budget: std::sync::Arc<InboundBudget>,
    /// When the first byte of the unfinished frame arrived; `None` between frames.
    partial_since: Option<Instant>,
}

impl FrameReader {
    /// A reader charging large frames to `budget`.
    #[must_use]
    pub fn new(budget: std::sync::Arc<InboundBudget>) -> Self {
        Self {
            small: BytesMut::new(),
            large: None,
            budget,
            partial_since: None,
        }
    }

    /// When the first byte of the frame still being received arrived.
    #[must_use]
    pub fn partial_since(&self) -> Option<Instant> {
        self.partial_since
    }

    /// Bytes of the unfinished frame received so far.
    #[must_use]
    pub fn partial_bytes(&self) -> usize {
        self.large
            .as_ref()
            .map_or(self.small.len(), |l| l.buf.len())
    }

    /// The next whole frame already buffered, if any. Never reads and never allocates.
    pub fn next_frame(&mut self) -> Result<Option<InboundFrame>, NetError> {
        let out = if let Some(large) = self.large.take_if(|l| l.buf.len() >= l.total) {
            let mut bytes = Bytes::from(large.buf);
            bytes.advance(frame::LENGTH_PREFIX_BYTES);
            Some(InboundFrame {
                bytes,
                charge: Some(large.charge),
            })
        } else if self.large.is_some() {
            None
        } else if let Some(total) = frame::check(&self.small)? {
            let mut bytes = self.small.split_to(total).freeze();
            bytes.advance(frame::LENGTH_PREFIX_BYTES);
            Some(InboundFrame {
                bytes,
                charge: None,
            })
        } else {
            None
        };
        if out.is_some() {
            // Whatever follows is the start of the next frame, which began arriving by now.
            self.partial_since = (self.partial_bytes() > 0).then(Instant::now);
        }
        Ok(out)
    }

    /// Puts bytes already taken off the socket (those read past a PROXY protocol header) in
    /// front of what [`Self::fill`] reads next. At most a few hundred bytes.
    pub fn prefill(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.small.extend_from_slice(bytes);
        let _ = self.partial_since.get_or_insert_with(Instant::now);
    }

    /// Reads more bytes from `src`, first making room (which for a large frame may wait for the
    /// budget). Returns the number of bytes read, 0 at end of stream. Cancel-safe.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, src: &mut R) -> Result<usize, NetError> {
        if self.large.is_none() {
            self.start_large_frame().await?;
        }
        let was_empty = self.partial_bytes() == 0;
        let n = if let Some(large) = self.large.as_mut() {
            if large.buf.len() == large.buf.capacity() {
                let target = large
                    .total
                    .min(large.buf.capacity().saturating_mul(2))
                    .max(large.buf.len() + 1);
                let extra = target - large.buf.capacity();
                large.charge.grow(extra).await;
                large.buf.reserve_exact(extra);
            }
            let want = large.total - large.buf.len();
            src.read_buf(&mut (&mut large.buf).limit(want)).await?
        } else {
            if self.small.capacity() - self.small.len() < SMALL_READ_CHUNK_BYTES / 4 {
                self.small.reserve(SMALL_READ_CHUNK_BYTES);
            }
            src.read_buf(&mut self.small).await?
        };
        if was_empty && n > 0 {
            self.partial_since = Some(Instant::now());
        }
        Ok(n)
    }

    /// Moves an announced large frame out of the small buffer into a buffer of its own.
    async fn start_large_frame(&mut self) -> Result<(), NetError> {
        if frame::check(&self.small)?.is_some() {
            return Ok(());
        }
        let Some(total) = frame::announced_total(&self.small) else {
            return Ok(());
        };
        if total <= SMALL_FRAME_BYTES {
            return Ok(());
        }
        let first = total.min(self.small.len().max(LARGE_FRAME_GROWTH_MIN_BYTES));
        let mut charge = Charge::empty(&self.budget);
        charge.grow(first).await;
        let mut buf = Vec::with_capacity(first);
        buf.extend_from_slice(&self.small);
        self.small.clear();
        self.large = Some(LargeFrame { buf, total, charge });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoting::RemotingCommand;

    fn encoded(body_len: usize) -> Vec<u8> {
        let cmd = RemotingCommand::request(310, None).with_body(vec![7u8; body_len]);
        frame::encode_to_bytes(&cmd)
            .map(|b| b.to_vec())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn small_and_large_frames_come_out_whole_and_charges_are_released() {
        let budget = InboundBudget::new(64 << 20);
        let mut wire = encoded(10);
        wire.extend(encoded(3 << 20));
        wire.extend(encoded(20));
        let mut src: &[u8] = &wire;
        let mut reader = FrameReader::new(std::sync::Arc::clone(&budget));
        let mut frames = Vec::new();
        loop {
            while let Some(f) = reader.next_frame().ok().flatten() {
                frames.push(f);
            }
            if reader.fill(&mut src).await.ok() == Some(0) {
                break;
            }
        }
        let lens: Vec<usize> = frames.iter().map(|f| f.bytes.len()).collect();
        assert_eq!(lens.len(), 3);
        assert!(frames.get(1).is_some_and(|f| f.charge.is_some()));
        let charged = budget.used();
        assert!((3 << 20..=(3 << 20) + 4096).contains(&charged), "{charged}");
        drop(frames);
        assert_eq!(budget.used(), 0);
        assert!(reader.partial_since().is_none());
    }

    #[tokio::test]
    async fn capacity_grows_with_arrivals_not_with_the_announced_length() {
        let budget = InboundBudget::new(64 << 20);
        let wire = encoded((16 << 20) - 1024);
        assert!(wire.len() > 16_000_000);
        let mut src: &[u8] = wire.get(..300_000).unwrap_or_default();
        let mut reader = FrameReader::new(std::sync::Arc::clone(&budget));
        while reader.fill(&mut src).await.ok().is_some_and(|n| n > 0) {}
        assert!(reader.next_frame().ok().flatten().is_none());
        assert!(reader.partial_since().is_some());
        assert!(budget.used() < 1 << 20, "charged {}", budget.used());
    }
}
