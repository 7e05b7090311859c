//! JSON bodies (`remoting:protocol/body/`, `route/`): typed values, fastjson-exact writers and
//! lenient readers.
//!
//! Writers emit bean properties in fastjson's order (sorted by name, nulls omitted). Readers
//! accept what Java and Go peers send: unknown fields are ignored and numbers may be strings.

pub mod data_version;
pub mod register_broker;
pub mod route;
pub mod simple;
pub mod topic_config;

use serde_json::Value;

/// Reads an integer that fastjson may have written as a number or a string.
pub(crate) fn value_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads an int field, with a default when absent or malformed.
pub(crate) fn value_i32_or(v: Option<&Value>, default: i32) -> i32 {
    value_i64(v)
        .and_then(|x| i32::try_from(x).ok())
        .unwrap_or(default)
}

/// Reads a boolean that may be a JSON bool or a string.
pub(crate) fn value_bool_or(v: Option<&Value>, default: bool) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => default,
    }
}

/// Reads a string field.
pub(crate) fn value_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Errors reading a body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Not JSON, or not the expected shape.
    #[error("invalid body: {0}")]
    Invalid(String),
    /// The compressed form is damaged.
    #[error("invalid compressed body: {0}")]
    Compressed(String),
    /// More than a limit allows.
    #[error("body exceeds limit: {0}")]
    TooLarge(&'static str),
}
