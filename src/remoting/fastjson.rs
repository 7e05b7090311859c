//! A JSON writer that reproduces fastjson 1.2.83's output byte for byte.
//!
//! Java peers parse anything, but scripts, dashboards and golden-frame tests compare text, and a
//! few bodies have shapes no generic serializer emits (unquoted numeric map keys in routes and
//! cluster info, object-valued map keys in stats). Two escaping styles exist:
//! - [`Style::Default`] (`JSON.toJSONString`): `"` and `\` escaped, `\b \t \n \f \r` by letter,
//!   other controls, `0x7F..=0x9F`, U+2028 and U+2029 as `\uXXXX` (uppercase hex); `/` and other
//!   non-ASCII are written raw. Non-string map keys are unquoted.
//! - [`Style::Browser`] (`SerializerFeature.BrowserCompatible`): additionally `/` becomes `\/`,
//!   every char from 0x7F up becomes `\uXXXX` (UTF-16 units), map keys are always quoted, and
//!   longs beyond ±2^53−1 are written as strings.

use std::fmt::Write as _;

/// Escaping and key-quoting style; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// fastjson's default features.
    Default,
    /// `BrowserCompatible` (used for routes to peers of version ≥ V4_9_4).
    Browser,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Largest integer a browser keeps exact; fastjson quotes longs beyond it in browser mode.
const BROWSER_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Streaming writer; the caller emits keys and values in the order fastjson would
/// (bean properties sorted by name).
#[derive(Debug)]
pub struct JsonWriter {
    /// Output text.
    out: String,
    /// Escaping style.
    style: Style,
    /// One entry per open object or array: whether it already holds an element.
    nonempty: Vec<bool>,
    /// True right after a key, so the next value needs no comma.
    after_key: bool,
}

impl JsonWriter {
    /// A writer with `style`.
    #[must_use]
    pub fn new(style: Style) -> Self {
        Self {
            out: String::with_capacity(256),
            style,
            nonempty: Vec::new(),
            after_key: false,
        }
    }

    /// The text written so far.
    #[must_use]
    pub fn finish(self) -> String {
        self.out
    }

    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(top) = self.nonempty.last_mut() {
            if *top {
                self.out.push(',');
            }
            *top = true;
        }
    }

    /// Opens an object.
    pub fn begin_object(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('{');
        self.nonempty.push(false);
        self
    }

    /// Closes an object.
    pub fn end_object(&mut self) -> &mut Self {
        let _was_nonempty = self.nonempty.pop();
        self.out.push('}');
        self
    }

    /// Opens an array.
    pub fn begin_array(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('[');
        self.nonempty.push(false);
        self
    }

    /// Closes an array.
    pub fn end_array(&mut self) -> &mut Self {
        let _was_nonempty = self.nonempty.pop();
        self.out.push(']');
        self
    }

    /// Writes a string-valued property name or map key.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.before_value();
        self.escaped(key);
        self.out.push(':');
        self.after_key = true;
        self
    }

    /// Writes a numeric map key (`HashMap<Long, _>`): unquoted by default, quoted in browser mode.
    pub fn key_number(&mut self, key: i64) -> &mut Self {
        self.before_value();
        match self.style {
            Style::Default => {
                let _ = write!(self.out, "{key}");
            }
            Style::Browser => {
                let _ = write!(self.out, "\"{key}\"");
            }
        }
        self.out.push(':');
        self.after_key = true;
        self
    }

    /// Writes a string value.
    pub fn string(&mut self, value: &str) -> &mut Self {
        self.before_value();
        self.escaped(value);
        self
    }

    /// Writes an int or long value.
    pub fn number(&mut self, value: i64) -> &mut Self {
        self.before_value();
        if self.style == Style::Browser
            && !(-BROWSER_SAFE_INTEGER..=BROWSER_SAFE_INTEGER).contains(&value)
        {
            let _ = write!(self.out, "\"{value}\"");
        } else {
            let _ = write!(self.out, "{value}");
        }
        self
    }

    /// Writes a boolean value.
    pub fn boolean(&mut self, value: bool) -> &mut Self {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// Writes a `double` the way Java's `Double.toString` does for the values brokers report
    /// (a decimal point is always present: `0.0`, `12.5`).
    pub fn double(&mut self, value: f64) -> &mut Self {
        self.before_value();
        if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e7 {
            let _ = write!(self.out, "{value:.1}");
        } else {
            let _ = write!(self.out, "{value}");
        }
        self
    }

    /// Writes pre-encoded JSON as a value.
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.before_value();
        self.out.push_str(json);
        self
    }

    /// Writes a string property: `key` then `value`.
    pub fn field_str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).string(value)
    }

    /// Writes a numeric property.
    pub fn field_num(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key).number(value)
    }

    /// Writes a boolean property.
    pub fn field_bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).boolean(value)
    }

    /// Writes a list of strings as a property.
    pub fn field_str_array<'a>(
        &mut self,
        key: &str,
        items: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        self.key(key).begin_array();
        for item in items {
            self.string(item);
        }
        self.end_array()
    }

    fn escaped(&mut self, s: &str) {
        escape_into(&mut self.out, s, self.style);
    }
}

fn push_u_escape(out: &mut String, unit: u16) {
    out.push_str("\\u");
    for shift in [12u16, 8, 4, 0] {
        let nibble = usize::from((unit >> shift) & 0xF);
        out.push(char::from(HEX.get(nibble).copied().unwrap_or(b'0')));
    }
}

/// True when `s` needs no escape in `style`: printable ASCII without `"`, `\\` (and `/` for
/// [`Style::Browser`]), the common case of header keys and values.
fn plain(s: &str, style: Style) -> bool {
    s.bytes().all(|b| {
        (0x20..0x7F).contains(&b)
            && b != b'"'
            && b != b'\\'
            && !(b == b'/' && style == Style::Browser)
    })
}

/// [`escape_into`] for a byte buffer.
pub fn escape_into_bytes(out: &mut Vec<u8>, s: &str, style: Style) {
    if plain(s, style) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let mut text = String::with_capacity(s.len() + 8);
        escape_into(&mut text, s, style);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Appends `s` as a quoted JSON string in `style`.
pub fn escape_into(out: &mut String, s: &str, style: Style) {
    if plain(s, style) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '/' if style == Style::Browser => out.push_str("\\/"),
            c if u32::from(c) < 0x20 => {
                push_u_escape(out, u16::try_from(u32::from(c)).unwrap_or(0))
            }
            c if style == Style::Browser && u32::from(c) >= 0x7F => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    push_u_escape(out, *unit);
                }
            }
            c if (0x7F..=0x9F).contains(&u32::from(c)) || c == '\u{2028}' || c == '\u{2029}' => {
                push_u_escape(out, u16::try_from(u32::from(c)).unwrap_or(0));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str, style: Style) -> String {
        let mut out = String::new();
        escape_into(&mut out, s, style);
        out
    }

    #[test]
    fn default_escaping_matches_fastjson() {
        assert_eq!(
            esc("TAGS\u{1}TagA\u{2}", Style::Default),
            "\"TAGS\\u0001TagA\\u0002\""
        );
        assert_eq!(esc("a/b\u{7f}\u{e9}", Style::Default), "\"a/b\\u007Fé\"");
        assert_eq!(
            esc("q\"\\\n\u{b}", Style::Default),
            "\"q\\\"\\\\\\n\\u000B\""
        );
    }

    #[test]
    fn browser_escaping_matches_fastjson() {
        assert_eq!(esc("zone/1\u{e9}", Style::Browser), "\"zone\\/1\\u00E9\"");
        assert_eq!(esc("\u{1F600}", Style::Browser), "\"\\uD83D\\uDE00\"");
    }

    #[test]
    fn numeric_keys_depend_on_style() {
        let mut w = JsonWriter::new(Style::Default);
        w.begin_object()
            .key_number(0)
            .string("127.0.0.1:10911")
            .key_number(1)
            .string("x")
            .end_object();
        assert_eq!(w.finish(), "{0:\"127.0.0.1:10911\",1:\"x\"}");
        let mut w = JsonWriter::new(Style::Browser);
        w.begin_object().key_number(0).string("a").end_object();
        assert_eq!(w.finish(), "{\"0\":\"a\"}");
    }

    #[test]
    fn nested_commas() {
        let mut w = JsonWriter::new(Style::Default);
        w.begin_object().key("a").begin_array();
        w.begin_object().field_num("x", 1).end_object();
        w.begin_object().field_num("x", 2).end_object();
        w.end_array()
            .field_bool("b", false)
            .key("d")
            .double(0.0)
            .end_object();
        assert_eq!(
            w.finish(),
            "{\"a\":[{\"x\":1},{\"x\":2}],\"b\":false,\"d\":0.0}"
        );
    }
}
