//! Request checks of the gRPC endpoint, with the codes and messages of Java's `GrpcValidator`
//! and `SendMessageActivity` (`proxy:grpc/v2/common/GrpcValidator.java`).

use super::pb::{Code, Resource};
use super::status::Reject;
use crate::broker::topic_config::{is_system_topic, validate_topic};

/// `Character.isISOControl`.
fn is_iso_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `GrpcValidator.containControlCharacter`.
#[must_use]
pub fn has_control_char(s: &str) -> bool {
    s.chars().any(is_iso_control)
}

/// `StringUtils.isNotEmpty(s) && StringUtils.isBlank(s)`.
fn blank_not_empty(s: &str) -> bool {
    !s.is_empty() && s.chars().all(char::is_whitespace)
}

/// `validateTopic`: the name rules, then no system topic. Returns the topic name.
pub fn topic(r: Option<&Resource>) -> Result<&str, Reject> {
    let name = r.map_or("", |r| r.name.as_str());
    if let Some(remark) = validate_topic(name) {
        return Err(Reject::new(Code::IllegalTopic, remark));
    }
    if is_system_topic(name, &[]) {
        return Err(Reject::new(
            Code::IllegalTopic,
            "cannot access system topic",
        ));
    }
    Ok(name)
}

/// `validateConsumerGroup` (`Validators.checkGroup`, then no system group). Returns the name.
pub fn consumer_group(r: Option<&Resource>) -> Result<&str, Reject> {
    let name = r.map_or("", |r| r.name.as_str());
    if name.trim().is_empty() {
        return Err(Reject::new(
            Code::IllegalConsumerGroup,
            "the specified group is blank",
        ));
    }
    if name.chars().count() > 255 {
        return Err(Reject::new(
            Code::IllegalConsumerGroup,
            "the specified group is longer than group max length 255.",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
    {
        return Err(Reject::new(
            Code::IllegalConsumerGroup,
            format!(
                "the specified group[{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
            ),
        ));
    }
    if name.starts_with("CID_RMQ_SYS_") {
        return Err(Reject::new(
            Code::IllegalConsumerGroup,
            "cannot use system consumer group",
        ));
    }
    Ok(name)
}

/// `validateTag`.
pub fn tag(tag: &str) -> Result<(), Reject> {
    if tag.is_empty() {
        return Ok(());
    }
    if blank_not_empty(tag) {
        return Err(Reject::new(
            Code::IllegalMessageTag,
            "tag cannot be the char sequence of whitespace",
        ));
    }
    if tag.contains('|') {
        return Err(Reject::new(
            Code::IllegalMessageTag,
            "tag cannot contain '|'",
        ));
    }
    if has_control_char(tag) {
        return Err(Reject::new(
            Code::IllegalMessageTag,
            "tag cannot contain control character",
        ));
    }
    Ok(())
}

/// `validateMessageKey`.
pub fn key(key: &str) -> Result<(), Reject> {
    if blank_not_empty(key) {
        return Err(Reject::new(
            Code::IllegalMessageKey,
            "key cannot be the char sequence of whitespace",
        ));
    }
    if has_control_char(key) {
        return Err(Reject::new(
            Code::IllegalMessageKey,
            "key cannot contain control character",
        ));
    }
    Ok(())
}

/// `validateMessageGroup` (the group must be shorter than `max` bytes).
pub fn message_group(group: &str, max: usize) -> Result<(), Reject> {
    if group.is_empty() {
        return Ok(());
    }
    if blank_not_empty(group) {
        return Err(Reject::new(
            Code::IllegalMessageGroup,
            "message group cannot be the char sequence of whitespace",
        ));
    }
    if group.len() >= max {
        return Err(Reject::new(
            Code::IllegalMessageGroup,
            format!("message group exceed the max size {max}"),
        ));
    }
    if has_control_char(group) {
        return Err(Reject::new(
            Code::IllegalMessageGroup,
            "message group cannot contain control character",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn res(name: &str) -> Resource {
        Resource {
            resource_namespace: String::new(),
            name: name.into(),
        }
    }

    #[test]
    fn topics_and_groups() {
        assert_eq!(topic(Some(&res("T1"))).unwrap(), "T1");
        assert_eq!(topic(None).unwrap_err().code, Code::IllegalTopic);
        assert_eq!(
            topic(Some(&res("rmq_sys_wheel_timer")))
                .unwrap_err()
                .message,
            "cannot access system topic"
        );
        assert_eq!(
            topic(Some(&res("a b"))).unwrap_err().code,
            Code::IllegalTopic
        );
        assert_eq!(consumer_group(Some(&res("G"))).unwrap(), "G");
        assert_eq!(
            consumer_group(Some(&res("CID_RMQ_SYS_X")))
                .unwrap_err()
                .code,
            Code::IllegalConsumerGroup
        );
    }

    #[test]
    fn tags_keys_groups() {
        assert!(tag("").is_ok());
        assert_eq!(tag("a|b").unwrap_err().code, Code::IllegalMessageTag);
        assert_eq!(tag("  ").unwrap_err().code, Code::IllegalMessageTag);
        assert_eq!(key("a\u{1}").unwrap_err().code, Code::IllegalMessageKey);
        assert!(message_group(&"g".repeat(63), 64).is_ok());
        assert_eq!(
            message_group(&"g".repeat(64), 64).unwrap_err().code,
            Code::IllegalMessageGroup
        );
    }
}
