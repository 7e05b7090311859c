//! The in-band statuses of the gRPC endpoint: every answer carries a `Status` with a `Code` and
//! a message, as the Java proxy's `ResponseBuilder` builds them; transport-level gRPC errors are
//! kept for what Java also answers that way (a Telemetry stream without settings).

use super::pb::{Code, Status};

/// A refused request: the code and the message the Java proxy gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Reject {
    /// The status code.
    pub code: Code,
    /// The message.
    pub message: String,
}

impl Reject {
    /// A refusal with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// As a `Status`.
    #[must_use]
    pub fn status(&self) -> Status {
        status(self.code, &self.message)
    }
}

/// `ResponseBuilder.buildStatus(code, message)`.
#[must_use]
pub fn status(code: Code, message: &str) -> Status {
    Status {
        code: code as i32,
        message: message.to_owned(),
    }
}

/// `buildStatus(Code.OK, Code.OK.name())`.
#[must_use]
pub fn ok() -> Status {
    status(Code::Ok, Code::Ok.proto_name())
}

/// `ResponseBuilder.buildCode`: a remoting response code as a gRPC `Code`.
#[must_use]
pub fn remoting_code(code: i32) -> Code {
    match code {
        0 => Code::Ok,
        2 => Code::TooManyRequests,
        3 => Code::NotImplemented,
        26 => Code::ConsumerGroupNotFound,
        _ => Code::InternalServerError,
    }
}
