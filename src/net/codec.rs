//! `tokio_util` codec over [`crate::remoting::frame`]: check, then split, then decode.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::NetError;
use crate::remoting::{RemotingCommand, frame};

/// Decodes frames from a byte stream. State is per connection; buffers are never shared.
#[derive(Debug, Default)]
pub struct RemotingCodec;

impl Decoder for RemotingCodec {
    type Item = RemotingCommand;
    type Error = NetError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, NetError> {
        match frame::check(src)? {
            None => {
                // Reserve only up to the announced (already capped) length, never beyond.
                if let Some(prefix) = src.get(..4) {
                    let mut word = [0u8; 4];
                    word.copy_from_slice(prefix);
                    let want = usize::try_from(u32::from_be_bytes(word)).unwrap_or(0) + 4;
                    src.reserve(want.saturating_sub(src.len()).min(1 << 20));
                }
                Ok(None)
            }
            Some(total) => {
                let mut frame_bytes = src.split_to(total).freeze();
                let body = frame_bytes.split_off(frame::LENGTH_PREFIX_BYTES);
                Ok(Some(frame::decode(body)?))
            }
        }
    }
}
