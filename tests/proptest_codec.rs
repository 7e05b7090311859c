//! Property tests of the sans-io codec.
//!
//! Goal: any command round-trips through both header encodings, and no byte string makes the
//! decoders panic. Method: proptest generates commands (arbitrary codes, flags, unicode remarks
//! and extFields) and arbitrary byte strings.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bytes::Bytes;
use proptest::prelude::*;
use rocketmq_rs::remoting::{ExtFields, LanguageCode, RemotingCommand, SerializeType, frame};

fn command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of("\\PC{1,40}"),
        proptest::collection::vec(("[a-zA-Z_]{1,12}", "\\PC{0,40}"), 0..8),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(code, version, opaque, flag, remark, ext, binary, body)| {
            let ext: ExtFields = ext.into_iter().collect();
            let mut cmd = RemotingCommand::request(i32::from(code), Some(ext));
            cmd.version = i32::from(version);
            cmd.opaque = opaque;
            cmd.flag = flag;
            cmd.remark = remark;
            cmd.language = Some(LanguageCode::Go);
            cmd.body = Bytes::from(body);
            if binary {
                cmd.serialize_type = SerializeType::RocketMq;
                // The binary form cannot carry empty strings distinctly from absent ones.
                if cmd.remark.as_deref() == Some("") {
                    cmd.remark = None;
                }
                if cmd.ext_fields.as_ref().is_some_and(ExtFields::is_empty) {
                    cmd.ext_fields = None;
                }
            }
            cmd
        })
}

proptest! {
    #[test]
    fn commands_round_trip(cmd in command()) {
        let bytes = frame::encode_to_bytes(&cmd).unwrap();
        prop_assert_eq!(frame::check(&bytes).unwrap(), Some(bytes.len()));
        let back = frame::decode(bytes.slice(4..)).unwrap();
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = frame::check(&data);
        let _ = frame::decode(Bytes::from(data));
    }

    #[test]
    fn arbitrary_headers_never_panic(type_byte in 0u8..3, header in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut f = Vec::new();
        f.extend_from_slice(&((u32::from(type_byte) << 24) | u32::try_from(header.len()).unwrap()).to_be_bytes());
        f.extend_from_slice(&header);
        let _ = frame::decode(Bytes::from(f));
    }
}

proptest! {
    /// The fast JSON header scanner and the general parser agree on every header our encoder
    /// writes and on arbitrary text.
    #[test]
    fn fast_and_general_json_decoders_agree(cmd in command(), junk in "\\PC{0,60}") {
        let mut json = cmd.clone();
        json.serialize_type = SerializeType::Json;
        let header = frame::encode_header(&json);
        let fast = rocketmq_rs::remoting::json_header::decode(&header).unwrap();
        let general = rocketmq_rs::remoting::json_header::decode_general(&header).unwrap();
        prop_assert_eq!(fast, general);
        let fast = rocketmq_rs::remoting::json_header::decode(junk.as_bytes()).ok();
        let general = rocketmq_rs::remoting::json_header::decode_general(junk.as_bytes()).ok();
        prop_assert_eq!(fast, general);
    }
}
