//! Small bodies: `KVTable`, `TopicList`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{BodyError, value_string};
use crate::remoting::fastjson::{JsonWriter, Style};

/// `KVTable`: `{"table":{"k":"v"}}`.
#[must_use]
pub fn kv_table_json<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object().key("table").begin_object();
    for (k, v) in entries {
        w.field_str(k, v);
    }
    w.end_object().end_object();
    w.finish()
}

/// Reads a `KVTable` body.
pub fn kv_table_from_json(body: &[u8]) -> Result<BTreeMap<String, String>, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| BodyError::Invalid(e.to_string()))?;
    let mut out = BTreeMap::new();
    if let Some(Value::Object(table)) = v.get("table") {
        for (k, val) in table {
            if let Some(s) = value_string(Some(val)) {
                let _previous = out.insert(k.clone(), s);
            }
        }
    }
    Ok(out)
}

/// `TopicList`: `{"topicList":[…]}`, with `brokerAddr` when set.
#[must_use]
pub fn topic_list_json<'a>(
    topics: impl IntoIterator<Item = &'a str>,
    broker_addr: Option<&str>,
) -> String {
    let mut w = JsonWriter::new(Style::Default);
    w.begin_object();
    if let Some(addr) = broker_addr {
        w.field_str("brokerAddr", addr);
    }
    w.field_str_array("topicList", topics);
    w.end_object();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_and_topic_list() {
        let json = kv_table_json([("a", "1"), ("b", "x\u{1}")]);
        assert_eq!(json, r#"{"table":{"a":"1","b":"x\u0001"}}"#);
        let back = kv_table_from_json(json.as_bytes()).unwrap();
        assert_eq!(back.get("b").map(String::as_str), Some("x\u{1}"));
        assert_eq!(
            topic_list_json(["A", "B"], None),
            r#"{"topicList":["A","B"]}"#
        );
    }
}
