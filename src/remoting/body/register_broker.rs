//! `RegisterBrokerBody`: what a broker reports when it registers, in both forms.
//!
//! - Plain: fastjson of `{"filterServerList":[…],"topicConfigSerializeWrapper":{"dataVersion":…,
//!   "topicConfigTable":{name:TopicConfig}}}` (5.x adds mapping tables, ignored here).
//! - Compressed (`compressed=true`): a zlib stream of `i32 len + DataVersion JSON`,
//!   `i32 topicCount`, per topic `i32 len + TopicConfig.encode() text line`,
//!   `i32 len + filterServerList JSON`, and for brokers ≥ V5_0_0 a mapping section.

use std::io::Read as _;

use serde_json::Value;

use super::data_version::DataVersion;
use super::topic_config::TopicConfig;
use super::{BodyError, value_string};
use crate::limits::{REGISTER_BROKER_MAX_INFLATED_BYTES, REGISTER_BROKER_MAX_TOPICS};

/// A decoded registration body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisterBrokerBody {
    /// The broker's topic-config data version.
    pub data_version: DataVersion,
    /// The broker's topics.
    pub topic_configs: Vec<TopicConfig>,
    /// Filter servers (legacy; usually empty).
    pub filter_server_list: Vec<String>,
}

impl RegisterBrokerBody {
    /// Decodes a body; `compressed` is the header flag. A body that fails in the announced form
    /// is tried in the other, since 5.x brokers announce `compressed=false` whatever they send.
    pub fn decode(body: &[u8], compressed: bool) -> Result<Self, BodyError> {
        if body.is_empty() {
            return Ok(Self::default());
        }
        if compressed {
            Self::decode_compressed(body).or_else(|e| Self::decode_json(body).map_err(|_| e))
        } else {
            Self::decode_json(body).or_else(|e| Self::decode_compressed(body).map_err(|_| e))
        }
    }

    /// Decodes the plain JSON form.
    pub fn decode_json(body: &[u8]) -> Result<Self, BodyError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| BodyError::Invalid(e.to_string()))?;
        let mut out = Self::default();
        if let Some(Value::Array(list)) = v.get("filterServerList") {
            out.filter_server_list = list.iter().filter_map(|x| value_string(Some(x))).collect();
        }
        let Some(wrapper) = v.get("topicConfigSerializeWrapper") else {
            return Ok(out);
        };
        if let Some(dv) = wrapper.get("dataVersion") {
            out.data_version = DataVersion::from_value(dv);
        }
        if let Some(Value::Object(table)) = wrapper.get("topicConfigTable") {
            if table.len() > REGISTER_BROKER_MAX_TOPICS {
                return Err(BodyError::TooLarge("topics per registration"));
            }
            out.topic_configs = table
                .iter()
                .map(|(k, tc)| TopicConfig::from_value(k, tc))
                .collect();
        }
        Ok(out)
    }

    /// Decodes the zlib form.
    pub fn decode_compressed(body: &[u8]) -> Result<Self, BodyError> {
        let mut inflated = Vec::new();
        let limit = u64::try_from(REGISTER_BROKER_MAX_INFLATED_BYTES).unwrap_or(u64::MAX);
        flate2::read::ZlibDecoder::new(body)
            .take(limit + 1)
            .read_to_end(&mut inflated)
            .map_err(|e| BodyError::Compressed(e.to_string()))?;
        if inflated.len() > REGISTER_BROKER_MAX_INFLATED_BYTES {
            return Err(BodyError::TooLarge("inflated registration body"));
        }
        let mut cur = Cursor {
            buf: &inflated,
            pos: 0,
        };
        let mut out = Self::default();
        let dv_text = cur.chunk()?;
        let dv: Value =
            serde_json::from_slice(dv_text).map_err(|e| BodyError::Compressed(e.to_string()))?;
        out.data_version = DataVersion::from_value(&dv);
        let count = cur.count()?;
        if count > REGISTER_BROKER_MAX_TOPICS {
            return Err(BodyError::TooLarge("topics per registration"));
        }
        for _ in 0..count {
            let line = std::str::from_utf8(cur.chunk()?)
                .map_err(|e| BodyError::Compressed(e.to_string()))?;
            let tc = TopicConfig::decode_line(line)
                .ok_or_else(|| BodyError::Compressed(format!("bad topic config line {line:?}")))?;
            out.topic_configs.push(tc);
        }
        if cur.remaining() > 0 {
            let list: Value = serde_json::from_slice(cur.chunk()?)
                .map_err(|e| BodyError::Compressed(e.to_string()))?;
            if let Value::Array(list) = list {
                out.filter_server_list =
                    list.iter().filter_map(|x| value_string(Some(x))).collect();
            }
        }
        Ok(out)
    }

    /// Encodes the zlib form as a 4.9.8 broker does (no mapping section).
    #[must_use]
    pub fn encode_compressed(&self) -> Vec<u8> {
        use std::io::Write as _;
        let mut raw = Vec::new();
        let push_chunk = |raw: &mut Vec<u8>, bytes: &[u8]| {
            raw.extend_from_slice(&i32::try_from(bytes.len()).unwrap_or(i32::MAX).to_be_bytes());
            raw.extend_from_slice(bytes);
        };
        push_chunk(&mut raw, self.data_version.to_json().as_bytes());
        raw.extend_from_slice(
            &i32::try_from(self.topic_configs.len())
                .unwrap_or(i32::MAX)
                .to_be_bytes(),
        );
        for tc in &self.topic_configs {
            let line = format!(
                "{} {} {} {} {}",
                tc.topic_name,
                tc.read_queue_nums,
                tc.write_queue_nums,
                tc.perm,
                tc.topic_filter_type
            );
            push_chunk(&mut raw, line.as_bytes());
        }
        let filters =
            serde_json::to_string(&self.filter_server_list).unwrap_or_else(|_| "[]".into());
        push_chunk(&mut raw, filters.as_bytes());
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = enc.write_all(&raw);
        enc.finish().unwrap_or_default()
    }
}

/// Bounds-checked reader of `i32 length + bytes` chunks.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn i32(&mut self) -> Result<i32, BodyError> {
        let b: [u8; 4] = self
            .buf
            .get(self.pos..self.pos + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| BodyError::Compressed(format!("truncated at {}", self.pos)))?;
        self.pos += 4;
        Ok(i32::from_be_bytes(b))
    }

    fn count(&mut self) -> Result<usize, BodyError> {
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| BodyError::Compressed(format!("negative count {n}")))
    }

    fn chunk(&mut self) -> Result<&'a [u8], BodyError> {
        let len = self.count()?;
        let s = self
            .buf
            .get(self.pos..self.pos.saturating_add(len))
            .ok_or_else(|| {
                BodyError::Compressed(format!("chunk of {len} bytes past the end at {}", self.pos))
            })?;
        self.pos += len;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plain_json() {
        let body = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}}"#;
        let b = RegisterBrokerBody::decode(body, false).unwrap();
        assert_eq!(b.data_version.counter, 3);
        assert_eq!(b.topic_configs.len(), 1);
        assert_eq!(b.topic_configs[0].read_queue_nums, 4);
        assert_eq!(b.topic_configs[0].perm, 6);
    }

    #[test]
    fn compressed_round_trip_and_fallback() {
        let mut b = RegisterBrokerBody::default();
        b.data_version.counter = 7;
        let mut tc = TopicConfig::new("T1");
        tc.read_queue_nums = 2;
        b.topic_configs.push(tc);
        let bytes = b.encode_compressed();
        assert_eq!(RegisterBrokerBody::decode(&bytes, true).unwrap(), b);
        // A 5.x broker announces compressed=false; the fallback still reads it.
        assert_eq!(RegisterBrokerBody::decode(&bytes, false).unwrap(), b);
    }

    #[test]
    fn rejects_garbage() {
        assert!(RegisterBrokerBody::decode(b"\x78\x9c garbage", true).is_err());
        assert!(RegisterBrokerBody::decode(b"{not json", false).is_err());
    }
}
