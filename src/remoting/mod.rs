//! The sans-io RocketMQ remoting protocol: bytes in, typed commands out, and back.
//!
//! Nothing here touches sockets, tokio or the store; the transport in [`crate::net`] feeds frames
//! in and writes encoded frames out. Frame layout (all integers big-endian):
//!
//! ```text
//! +----------------+-----------------------------+--------------+-------------+
//! | total_len: u32 | serialize_type:u8 hdr_len:u24 | header bytes | body bytes  |
//! +----------------+-----------------------------+--------------+-------------+
//!   total_len = 4 + hdr_len + body_len (it does not count itself)
//! ```
//!
//! The header is either fastjson-style JSON ([`json_header`]) or the compact ROCKETMQ binary form
//! ([`binary_header`]). Custom request/response fields travel in `extFields` as strings and are
//! typed by the [`header`] tables. Bodies of the admin and routing requests are JSON, written
//! by [`fastjson`] exactly as Java's fastjson 1.2.83 writes them and read by [`body`].

pub mod binary_header;
pub mod body;
pub mod command;
pub mod error;
pub mod fastjson;
pub mod frame;
pub mod header;
pub mod json_header;
mod json_scan;
pub mod json_tree;
pub mod language;
pub mod request_code;
pub mod response_code;
pub mod version;

pub use command::{ExtFields, RemotingCommand, SerializeType, common_text, small_int_text};
pub use error::WireError;
pub use language::LanguageCode;
pub use request_code::RequestCode;
pub use response_code::ResponseCode;
