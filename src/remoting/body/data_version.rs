//! `DataVersion`: a broker's or the registry's change counter.

use serde_json::Value;

use super::value_i64;
use crate::remoting::fastjson::JsonWriter;

/// Java `org.apache.rocketmq.remoting.protocol.DataVersion`. 4.9 has no `stateVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DataVersion {
    /// Bumped on every change.
    pub counter: i64,
    /// 5.x: bumped on broker state changes.
    pub state_version: i64,
    /// Time of the last change, ms.
    pub timestamp: i64,
}

impl DataVersion {
    /// Reads a DataVersion object; missing fields are 0.
    #[must_use]
    pub fn from_value(v: &Value) -> Self {
        Self {
            counter: value_i64(v.get("counter")).unwrap_or(0),
            state_version: value_i64(v.get("stateVersion")).unwrap_or(0),
            timestamp: value_i64(v.get("timestamp")).unwrap_or(0),
        }
    }

    /// Writes it as 5.x fastjson does: `{"counter":N,"stateVersion":N,"timestamp":N}`.
    pub fn write(&self, w: &mut JsonWriter) {
        w.begin_object()
            .field_num("counter", self.counter)
            .field_num("stateVersion", self.state_version)
            .field_num("timestamp", self.timestamp)
            .end_object();
    }

    /// The JSON text.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(crate::remoting::fastjson::Style::Default);
        self.write(&mut w);
        w.finish()
    }
}
