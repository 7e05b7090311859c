//! Recall handles (`common:producer/RecallMessageHandle.java`, 5.3): a send response for a
//! timer message carries `Base64Url("v1 <topic> <brokerName> <due+1> <uniqId>")`, and
//! RECALL_MESSAGE with it stores a cancel marker (`TIMER_DEL_UNIQKEY`) due in the same slot, so
//! the timer service drops the message instead of delivering it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

/// A decoded version-1 handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallHandle {
    /// Topic.
    pub topic: String,
    /// Broker name.
    pub broker_name: String,
    /// Due time string (`TIMER_OUT_MS + 1`).
    pub timestamp: String,
    /// Unique id (`UNIQ_KEY`).
    pub message_id: String,
}

/// `HandleV1.buildHandle`.
#[must_use]
pub fn build(topic: &str, broker_name: &str, timestamp: &str, message_id: &str) -> String {
    URL_SAFE.encode(format!("v1 {topic} {broker_name} {timestamp} {message_id}"))
}

/// `RecallMessageHandle.decodeHandle`; the error is Java's remark.
pub fn decode(handle: &str) -> Result<RecallHandle, String> {
    let invalid = || "recall handle is invalid".to_owned();
    if handle.is_empty() {
        return Err(invalid());
    }
    let raw = URL_SAFE.decode(handle.as_bytes()).map_err(|_| invalid())?;
    let text = String::from_utf8_lossy(&raw);
    let items: Vec<&str> = text.split(' ').collect();
    match items.as_slice() {
        ["v1", topic, broker, ts, id, ..] => Ok(RecallHandle {
            topic: (*topic).to_owned(),
            broker_name: (*broker).to_owned(),
            timestamp: (*ts).to_owned(),
            message_id: (*id).to_owned(),
        }),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_java_bytes() {
        let h = build("T", "broker-a", "1700000001001", "7F000001ABCD");
        // Java: Base64.getUrlEncoder().encodeToString("v1 T broker-a 1700000001001 7F000001ABCD")
        assert_eq!(
            h,
            "djEgVCBicm9rZXItYSAxNzAwMDAwMDAxMDAxIDdGMDAwMDAxQUJDRA=="
        );
        let d = decode(&h).unwrap();
        assert_eq!(d.topic, "T");
        assert_eq!(d.timestamp, "1700000001001");
        assert_eq!(d.message_id, "7F000001ABCD");
        assert!(decode("").is_err());
        assert!(decode("!!!").is_err());
        assert!(decode(&URL_SAFE.encode("v2 a b c d")).is_err());
        assert!(decode(&URL_SAFE.encode("v1 a b")).is_err());
    }
}
