//! The `apache.rocketmq.v2` protobuf messages, mirroring the proto files of apache/rocketmq-apis
//! 2.0.4 (`definition.proto`, `service.proto`). No code generation: each message is a hand-written
//! `prost` struct with the proto's field numbers and types, checked against bytes produced by the
//! Java SDK's generated classes (`protocol/grpc/`).

pub mod definition;
pub mod service;

pub use definition::*;
pub use service::*;
