//! The JSON header (serialize type 0), as fastjson 1.2.83 writes and reads it.
//!
//! Encoding follows `RemotingCommand.headerEncode` → `JSON.toJSONString`: properties sorted by
//! name (`code, extFields, flag, language, opaque, remark, serializeTypeCurrentRPC, version`),
//! nulls omitted, `language` by enum name, `extFields` entries in map order. Decoding accepts what
//! fastjson accepts from Java and Go peers: any key order, numbers or numeric strings for ints,
//! `language` as a name or an ordinal, and non-string `extFields` values coerced to text.

use serde_json::Value;

use super::command::{ExtFields, RemotingCommand, SerializeType};
use super::error::WireError;
use super::fastjson::{Style, escape_into_bytes};
use super::language::LanguageCode;
use crate::limits::EXT_FIELDS_MAX_KEYS;

/// Appends the JSON header of `cmd` to `out`.
pub fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"code\":");
    push_int(out, cmd.code);
    if let Some(ext) = &cmd.ext_fields {
        out.extend_from_slice(b",\"extFields\":{");
        for (i, (k, v)) in ext.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            escape_into_bytes(out, k, Style::Default);
            out.push(b':');
            escape_into_bytes(out, v, Style::Default);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"flag\":");
    push_int(out, cmd.flag);
    if let Some(lang) = cmd.language {
        out.extend_from_slice(b",\"language\":\"");
        out.extend_from_slice(lang.name().as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"opaque\":");
    push_int(out, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        out.extend_from_slice(b",\"remark\":");
        escape_into_bytes(out, remark, Style::Default);
    }
    if cmd.write_serialize_type_field {
        out.extend_from_slice(b",\"serializeTypeCurrentRPC\":\"");
        out.extend_from_slice(cmd.serialize_type.name().as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"version\":");
    push_int(out, cmd.version);
    out.push(b'}');
}

/// Appends `v` in decimal (what `i32::to_string` writes), without allocating.
fn push_int(out: &mut Vec<u8>, v: i32) {
    let mut digits = [0u8; 11];
    let mut n = v.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + u8::try_from(n % 10).unwrap_or(0);
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

fn int_field(v: &Value, name: &str) -> Result<i32, WireError> {
    let bad = || WireError::InvalidJson(format!("field {name} is not an int: {v}"));
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(|x| i32::try_from(x).ok())
            .ok_or_else(bad),
        Value::String(s) => s.trim().parse::<i32>().map_err(|_| bad()),
        Value::Null => Ok(0),
        _ => Err(bad()),
    }
}

fn language_field(v: &Value) -> Result<Option<LanguageCode>, WireError> {
    match v {
        Value::String(s) => Ok(LanguageCode::from_name(s)),
        Value::Number(n) => n
            .as_u64()
            .and_then(|x| u8::try_from(x).ok())
            .and_then(LanguageCode::from_code)
            .map(Some)
            .ok_or_else(|| WireError::InvalidJson(format!("language ordinal {n} out of range"))),
        Value::Null => Ok(None),
        _ => Err(WireError::InvalidJson(format!(
            "language is not a name or ordinal: {v}"
        ))),
    }
}

fn ext_fields_field(v: &Value) -> Result<Option<ExtFields>, WireError> {
    let map = match v {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => {
            return Err(WireError::InvalidJson(format!(
                "extFields is not an object: {v}"
            )));
        }
    };
    let mut ext = ExtFields::new();
    for (k, val) in map {
        match val {
            Value::Null => {}
            Value::String(s) => ext.insert(k.clone(), s.clone()),
            other => ext.insert(k.clone(), other.to_string()),
        }
    }
    Ok(Some(ext))
}

/// Decodes a JSON header. `body` is attached by the caller. A header with more than
/// [`EXT_FIELDS_MAX_KEYS`] `extFields` keys is refused with [`WireError::TooManyExtFields`],
/// after a linear scan that learns the request's identity.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, WireError> {
    if let Some((cmd, ext_keys)) = super::json_scan::decode(header) {
        return check_ext_count(cmd, ext_keys);
    }
    decode_general(header)
}

fn check_ext_count(cmd: RemotingCommand, count: usize) -> Result<RemotingCommand, WireError> {
    if count > EXT_FIELDS_MAX_KEYS {
        return Err(WireError::TooManyExtFields {
            count,
            max: EXT_FIELDS_MAX_KEYS,
            code: cmd.code,
            opaque: cmd.opaque,
            flag: cmd.flag,
        });
    }
    Ok(cmd)
}

/// The general decoder (a full JSON parse); [`decode`] uses it for anything the fast scanner
/// declines. Public so tests can check that both agree.
pub fn decode_general(header: &[u8]) -> Result<RemotingCommand, WireError> {
    let value: Value =
        serde_json::from_slice(header).map_err(|e| WireError::InvalidJson(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(WireError::InvalidJson("header is not a JSON object".into()));
    };
    let mut cmd = RemotingCommand::request(0, None);
    cmd.language = None;
    cmd.version = 0;
    cmd.write_serialize_type_field = false;
    cmd.serialize_type = SerializeType::Json;
    let ext_keys = match obj.get("extFields") {
        Some(Value::Object(map)) => map.len(),
        _ => 0,
    };
    if ext_keys > EXT_FIELDS_MAX_KEYS {
        // Learn the identity without building the oversized map.
        for (key, v) in &obj {
            match key.as_str() {
                "code" => cmd.code = int_field(v, "code")?,
                "flag" => cmd.flag = int_field(v, "flag")?,
                "opaque" => cmd.opaque = int_field(v, "opaque")?,
                _ => {}
            }
        }
        return check_ext_count(cmd, ext_keys);
    }
    for (key, v) in &obj {
        match key.as_str() {
            "code" => cmd.code = int_field(v, "code")?,
            "flag" => cmd.flag = int_field(v, "flag")?,
            "opaque" => cmd.opaque = int_field(v, "opaque")?,
            "version" => cmd.version = int_field(v, "version")?,
            "language" => cmd.language = language_field(v)?,
            "remark" => {
                cmd.remark = match v {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                }
            }
            "extFields" => cmd.ext_fields = ext_fields_field(v)?,
            "serializeTypeCurrentRPC" => cmd.write_serialize_type_field = true,
            _ => {}
        }
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_fastjson() {
        let mut cmd =
            RemotingCommand::request(105, Some([("topic", "TopicTest")].into_iter().collect()));
        cmd.opaque = 7;
        let mut out = Vec::new();
        encode(&cmd, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#
        );
    }

    #[test]
    fn push_int_writes_what_to_string_writes() {
        for v in [0, 7, -7, 10, 479, -1, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    #[test]
    fn decodes_go_style_header() {
        let go = br#"{"code":105,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"topic":"T","n":1,"b":true}}"#;
        let cmd = decode(go).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.language, Some(LanguageCode::Go));
        assert_eq!(cmd.version, 317);
        assert_eq!(cmd.remark.as_deref(), Some(""));
        assert_eq!(cmd.ext("n"), Some("1"));
        assert_eq!(cmd.ext("b"), Some("true"));
        assert!(!cmd.write_serialize_type_field);
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(decode(b"[]").is_err());
        assert!(decode(b"{\"code\":\"x\"}").is_err());
        assert!(decode(b"{\"code\":1,\"extFields\":3}").is_err());
        assert!(decode(b"{\"language\":99}").is_err());
        assert!(decode(b"{\"code\":1").is_err());
        assert!(decode(b"{\"remark\":\"\xff\"}").is_err());
        let unknown_lang = decode(br#"{"code":1,"language":"KLINGON"}"#).unwrap();
        assert_eq!(unknown_lang.language, None);
    }
}
