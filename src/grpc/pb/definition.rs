//! `apache/rocketmq/v2/definition.proto` (rocketmq-apis 2.0.4, the `rocketmq-proto` version the
//! Java SDK 5.0.7/5.0.8 and the 5.3.3 proxy use): the shared messages and enums, written by hand
//! with `prost` derives. Field numbers, types and labels follow the proto exactly.

#![allow(missing_docs)]

use std::collections::HashMap;

use prost_types::{Duration, Timestamp};

/// `TransactionResolution`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum TransactionResolution {
    Unspecified = 0,
    Commit = 1,
    Rollback = 2,
}

/// `TransactionSource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum TransactionSource {
    SourceUnspecified = 0,
    SourceClient = 1,
    SourceServerCheck = 2,
}

/// `Permission`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Permission {
    Unspecified = 0,
    None = 1,
    Read = 2,
    Write = 3,
    ReadWrite = 4,
}

/// `FilterType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum FilterType {
    Unspecified = 0,
    Tag = 1,
    Sql = 2,
}

/// `FilterExpression`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FilterExpression {
    #[prost(enumeration = "FilterType", tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub expression: String,
}

/// `RetryPolicy`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryPolicy {
    #[prost(int32, tag = "1")]
    pub max_attempts: i32,
    #[prost(oneof = "retry_policy::Strategy", tags = "2, 3")]
    pub strategy: Option<retry_policy::Strategy>,
}

/// The `strategy` oneof of `RetryPolicy`.
pub mod retry_policy {
    /// `oneof strategy`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Strategy {
        #[prost(message, tag = "2")]
        ExponentialBackoff(super::ExponentialBackoff),
        #[prost(message, tag = "3")]
        CustomizedBackoff(super::CustomizedBackoff),
    }
}

/// `ExponentialBackoff`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExponentialBackoff {
    #[prost(message, optional, tag = "1")]
    pub initial: Option<Duration>,
    #[prost(message, optional, tag = "2")]
    pub max: Option<Duration>,
    #[prost(float, tag = "3")]
    pub multiplier: f32,
}

/// `CustomizedBackoff`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CustomizedBackoff {
    #[prost(message, repeated, tag = "1")]
    pub next: Vec<Duration>,
}

/// `Resource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    #[prost(string, tag = "1")]
    pub resource_namespace: String,
    #[prost(string, tag = "2")]
    pub name: String,
}

/// `SubscriptionEntry`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscriptionEntry {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<Resource>,
    #[prost(message, optional, tag = "2")]
    pub expression: Option<FilterExpression>,
}

/// `AddressScheme`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum AddressScheme {
    Unspecified = 0,
    IPv4 = 1,
    IPv6 = 2,
    DomainName = 3,
}

/// `Address`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Address {
    #[prost(string, tag = "1")]
    pub host: String,
    #[prost(int32, tag = "2")]
    pub port: i32,
}

/// `Endpoints`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Endpoints {
    #[prost(enumeration = "AddressScheme", tag = "1")]
    pub scheme: i32,
    #[prost(message, repeated, tag = "2")]
    pub addresses: Vec<Address>,
}

/// `Broker`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Broker {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(int32, tag = "2")]
    pub id: i32,
    #[prost(message, optional, tag = "3")]
    pub endpoints: Option<Endpoints>,
}

/// `MessageQueue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageQueue {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<Resource>,
    #[prost(int32, tag = "2")]
    pub id: i32,
    #[prost(enumeration = "Permission", tag = "3")]
    pub permission: i32,
    #[prost(message, optional, tag = "4")]
    pub broker: Option<Broker>,
    #[prost(enumeration = "MessageType", repeated, tag = "5")]
    pub accept_message_types: Vec<i32>,
}

/// `MessageType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MessageType {
    Unspecified = 0,
    Normal = 1,
    Fifo = 2,
    Delay = 3,
    Transaction = 4,
}

/// `DigestType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DigestType {
    Unspecified = 0,
    Crc32 = 1,
    Md5 = 2,
    Sha1 = 3,
}

/// `Digest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Digest {
    #[prost(enumeration = "DigestType", tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub checksum: String,
}

/// `ClientType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ClientType {
    Unspecified = 0,
    Producer = 1,
    PushConsumer = 2,
    SimpleConsumer = 3,
    PullConsumer = 4,
}

impl ClientType {
    /// The proto name (what Java's `ClientType.name()` prints).
    #[must_use]
    pub fn proto_name(self) -> &'static str {
        match self {
            Self::Unspecified => "CLIENT_TYPE_UNSPECIFIED",
            Self::Producer => "PRODUCER",
            Self::PushConsumer => "PUSH_CONSUMER",
            Self::SimpleConsumer => "SIMPLE_CONSUMER",
            Self::PullConsumer => "PULL_CONSUMER",
        }
    }
}

/// `Encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Encoding {
    Unspecified = 0,
    Identity = 1,
    Gzip = 2,
}

/// `SystemProperties`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SystemProperties {
    #[prost(string, optional, tag = "1")]
    pub tag: Option<String>,
    #[prost(string, repeated, tag = "2")]
    pub keys: Vec<String>,
    #[prost(string, tag = "3")]
    pub message_id: String,
    #[prost(message, optional, tag = "4")]
    pub body_digest: Option<Digest>,
    #[prost(enumeration = "Encoding", tag = "5")]
    pub body_encoding: i32,
    #[prost(enumeration = "MessageType", tag = "6")]
    pub message_type: i32,
    #[prost(message, optional, tag = "7")]
    pub born_timestamp: Option<Timestamp>,
    #[prost(string, tag = "8")]
    pub born_host: String,
    #[prost(message, optional, tag = "9")]
    pub store_timestamp: Option<Timestamp>,
    #[prost(string, tag = "10")]
    pub store_host: String,
    #[prost(message, optional, tag = "11")]
    pub delivery_timestamp: Option<Timestamp>,
    #[prost(string, optional, tag = "12")]
    pub receipt_handle: Option<String>,
    #[prost(int32, tag = "13")]
    pub queue_id: i32,
    #[prost(int64, optional, tag = "14")]
    pub queue_offset: Option<i64>,
    #[prost(message, optional, tag = "15")]
    pub invisible_duration: Option<Duration>,
    #[prost(int32, optional, tag = "16")]
    pub delivery_attempt: Option<i32>,
    #[prost(string, optional, tag = "17")]
    pub message_group: Option<String>,
    #[prost(string, optional, tag = "18")]
    pub trace_context: Option<String>,
    #[prost(message, optional, tag = "19")]
    pub orphaned_transaction_recovery_duration: Option<Duration>,
    #[prost(message, optional, tag = "20")]
    pub dead_letter_queue: Option<DeadLetterQueue>,
}

/// `DeadLetterQueue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeadLetterQueue {
    #[prost(string, tag = "1")]
    pub topic: String,
    #[prost(string, tag = "2")]
    pub message_id: String,
}

/// `Message`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(message, optional, tag = "1")]
    pub topic: Option<Resource>,
    #[prost(map = "string, string", tag = "2")]
    pub user_properties: HashMap<String, String>,
    #[prost(message, optional, tag = "3")]
    pub system_properties: Option<SystemProperties>,
    #[prost(bytes = "vec", tag = "4")]
    pub body: Vec<u8>,
}

/// `Assignment`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Assignment {
    #[prost(message, optional, tag = "1")]
    pub message_queue: Option<MessageQueue>,
}

/// `Code`: the status codes of every response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Code {
    Unspecified = 0,
    Ok = 20000,
    MultipleResults = 30000,
    BadRequest = 40000,
    IllegalAccessPoint = 40001,
    IllegalTopic = 40002,
    IllegalConsumerGroup = 40003,
    IllegalMessageTag = 40004,
    IllegalMessageKey = 40005,
    IllegalMessageGroup = 40006,
    IllegalMessagePropertyKey = 40007,
    InvalidTransactionId = 40008,
    IllegalMessageId = 40009,
    IllegalFilterExpression = 40010,
    IllegalInvisibleTime = 40011,
    IllegalDeliveryTime = 40012,
    InvalidReceiptHandle = 40013,
    MessagePropertyConflictWithType = 40014,
    UnrecognizedClientType = 40015,
    MessageCorrupted = 40016,
    ClientIdRequired = 40017,
    IllegalPollingTime = 40018,
    IllegalOffset = 40019,
    Unauthorized = 40100,
    PaymentRequired = 40200,
    Forbidden = 40300,
    NotFound = 40400,
    MessageNotFound = 40401,
    TopicNotFound = 40402,
    ConsumerGroupNotFound = 40403,
    OffsetNotFound = 40404,
    RequestTimeout = 40800,
    PayloadTooLarge = 41300,
    MessageBodyTooLarge = 41301,
    MessageBodyEmpty = 41302,
    PreconditionFailed = 42800,
    TooManyRequests = 42900,
    RequestHeaderFieldsTooLarge = 43100,
    MessagePropertiesTooLarge = 43101,
    InternalError = 50000,
    InternalServerError = 50001,
    HaNotAvailable = 50002,
    NotImplemented = 50100,
    ProxyTimeout = 50400,
    MasterPersistenceTimeout = 50401,
    SlavePersistenceTimeout = 50402,
    Unsupported = 50500,
    VersionUnsupported = 50501,
    VerifyFifoMessageUnsupported = 50502,
    FailedToConsumeMessage = 60000,
}

impl Code {
    /// The proto name, which the Java proxy puts in `Status.message` of a plain success
    /// (`Code.OK.name()`).
    #[must_use]
    pub fn proto_name(self) -> &'static str {
        match self {
            Self::Unspecified => "CODE_UNSPECIFIED",
            Self::Ok => "OK",
            Self::MultipleResults => "MULTIPLE_RESULTS",
            Self::BadRequest => "BAD_REQUEST",
            Self::IllegalAccessPoint => "ILLEGAL_ACCESS_POINT",
            Self::IllegalTopic => "ILLEGAL_TOPIC",
            Self::IllegalConsumerGroup => "ILLEGAL_CONSUMER_GROUP",
            Self::IllegalMessageTag => "ILLEGAL_MESSAGE_TAG",
            Self::IllegalMessageKey => "ILLEGAL_MESSAGE_KEY",
            Self::IllegalMessageGroup => "ILLEGAL_MESSAGE_GROUP",
            Self::IllegalMessagePropertyKey => "ILLEGAL_MESSAGE_PROPERTY_KEY",
            Self::InvalidTransactionId => "INVALID_TRANSACTION_ID",
            Self::IllegalMessageId => "ILLEGAL_MESSAGE_ID",
            Self::IllegalFilterExpression => "ILLEGAL_FILTER_EXPRESSION",
            Self::IllegalInvisibleTime => "ILLEGAL_INVISIBLE_TIME",
            Self::IllegalDeliveryTime => "ILLEGAL_DELIVERY_TIME",
            Self::InvalidReceiptHandle => "INVALID_RECEIPT_HANDLE",
            Self::MessagePropertyConflictWithType => "MESSAGE_PROPERTY_CONFLICT_WITH_TYPE",
            Self::UnrecognizedClientType => "UNRECOGNIZED_CLIENT_TYPE",
            Self::MessageCorrupted => "MESSAGE_CORRUPTED",
            Self::ClientIdRequired => "CLIENT_ID_REQUIRED",
            Self::IllegalPollingTime => "ILLEGAL_POLLING_TIME",
            Self::IllegalOffset => "ILLEGAL_OFFSET",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::PaymentRequired => "PAYMENT_REQUIRED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::MessageNotFound => "MESSAGE_NOT_FOUND",
            Self::TopicNotFound => "TOPIC_NOT_FOUND",
            Self::ConsumerGroupNotFound => "CONSUMER_GROUP_NOT_FOUND",
            Self::OffsetNotFound => "OFFSET_NOT_FOUND",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::MessageBodyTooLarge => "MESSAGE_BODY_TOO_LARGE",
            Self::MessageBodyEmpty => "MESSAGE_BODY_EMPTY",
            Self::PreconditionFailed => "PRECONDITION_FAILED",
            Self::TooManyRequests => "TOO_MANY_REQUESTS",
            Self::RequestHeaderFieldsTooLarge => "REQUEST_HEADER_FIELDS_TOO_LARGE",
            Self::MessagePropertiesTooLarge => "MESSAGE_PROPERTIES_TOO_LARGE",
            Self::InternalError => "INTERNAL_ERROR",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
            Self::HaNotAvailable => "HA_NOT_AVAILABLE",
            Self::NotImplemented => "NOT_IMPLEMENTED",
            Self::ProxyTimeout => "PROXY_TIMEOUT",
            Self::MasterPersistenceTimeout => "MASTER_PERSISTENCE_TIMEOUT",
            Self::SlavePersistenceTimeout => "SLAVE_PERSISTENCE_TIMEOUT",
            Self::Unsupported => "UNSUPPORTED",
            Self::VersionUnsupported => "VERSION_UNSUPPORTED",
            Self::VerifyFifoMessageUnsupported => "VERIFY_FIFO_MESSAGE_UNSUPPORTED",
            Self::FailedToConsumeMessage => "FAILED_TO_CONSUME_MESSAGE",
        }
    }
}

/// `Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    #[prost(enumeration = "Code", tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `Language`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Language {
    Unspecified = 0,
    Java = 1,
    Cpp = 2,
    DotNet = 3,
    Golang = 4,
    Rust = 5,
    Python = 6,
    Php = 7,
    NodeJs = 8,
    Ruby = 9,
    ObjectiveC = 10,
    Dart = 11,
    Kotlin = 12,
}

/// `UA` (user agent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ua {
    #[prost(enumeration = "Language", tag = "1")]
    pub language: i32,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(string, tag = "3")]
    pub platform: String,
    #[prost(string, tag = "4")]
    pub hostname: String,
}

/// `Settings`: what a client announces first on its Telemetry stream and the proxy answers.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Settings {
    #[prost(enumeration = "ClientType", optional, tag = "1")]
    pub client_type: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub access_point: Option<Endpoints>,
    #[prost(message, optional, tag = "3")]
    pub backoff_policy: Option<RetryPolicy>,
    #[prost(message, optional, tag = "4")]
    pub request_timeout: Option<Duration>,
    #[prost(oneof = "settings::PubSub", tags = "5, 6")]
    pub pub_sub: Option<settings::PubSub>,
    #[prost(message, optional, tag = "7")]
    pub user_agent: Option<Ua>,
    #[prost(message, optional, tag = "8")]
    pub metric: Option<Metric>,
}

/// The `pub_sub` oneof of `Settings`.
pub mod settings {
    /// `oneof pub_sub`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum PubSub {
        #[prost(message, tag = "5")]
        Publishing(super::Publishing),
        #[prost(message, tag = "6")]
        Subscription(super::Subscription),
    }
}

/// `Publishing`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Publishing {
    #[prost(message, repeated, tag = "1")]
    pub topics: Vec<Resource>,
    #[prost(int32, tag = "2")]
    pub max_body_size: i32,
    #[prost(bool, tag = "3")]
    pub validate_message_type: bool,
}

/// `Subscription`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Subscription {
    #[prost(message, optional, tag = "1")]
    pub group: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub subscriptions: Vec<SubscriptionEntry>,
    #[prost(bool, optional, tag = "3")]
    pub fifo: Option<bool>,
    #[prost(int32, optional, tag = "4")]
    pub receive_batch_size: Option<i32>,
    #[prost(message, optional, tag = "5")]
    pub long_polling_timeout: Option<Duration>,
}

/// `Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    #[prost(bool, tag = "1")]
    pub on: bool,
    #[prost(message, optional, tag = "2")]
    pub endpoints: Option<Endpoints>,
}

/// `QueryOffsetPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum QueryOffsetPolicy {
    Beginning = 0,
    End = 1,
    Timestamp = 2,
}
