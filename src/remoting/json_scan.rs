//! A fast path for JSON headers: a single-pass scanner for the flat shape every Java and Go
//! client sends (`{"code":310,"extFields":{"a":"…",…},"flag":0,…}`). Anything it does not
//! recognise (nested values in `extFields`, floats, unknown literals) makes it return `None`,
//! and the caller falls back to the general parser, so the accepted language is unchanged.

use std::borrow::Cow;

use super::command::{ExtFields, RemotingCommand, SerializeType, common_text, small_int_text};
use super::language::LanguageCode;
use crate::limits::EXT_FIELDS_MAX_KEYS;

/// Room reserved for `extFields` up front: a SEND_MESSAGE_V2 header has 10–14 keys.
const EXT_FIELDS_USUAL_KEYS: usize = 16;

struct Scanner<'a> {
    s: &'a [u8],
    /// `s` as text: the header is checked for UTF-8 once, and every string in it is a slice
    /// of this between ASCII quotes (always char boundaries), so no run is validated again.
    text: &'a str,
    pos: usize,
    /// `extFields` keys seen, stored or not (only the first [`EXT_FIELDS_MAX_KEYS`] are stored).
    ext_keys: usize,
}

enum Val<'a> {
    /// Borrowed from the header unless it held escapes.
    Str(Cow<'a, str>),
    Int(i64),
    Null,
    Bool(bool),
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self
            .s
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.pos) == Some(&b)).then(|| self.pos += 1)
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.pos).copied()
    }

    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.pos;
        let s: &'a [u8] = self.s;
        let text: &'a str = self.text;
        // Fast path: no escapes, nothing copied; the closing quote found by a word-wise search
        // (properties values run to hundreds of bytes).
        let stop = start + memchr::memchr2(b'"', b'\\', s.get(start..)?)?;
        self.pos = stop;
        if s.get(stop) == Some(&b'"') {
            let out = text.get(start..stop)?;
            self.pos += 1;
            return Some(Cow::Borrowed(out));
        }
        let prefix = text.get(start..self.pos)?;
        // Room up to the next quote (an escape only shrinks the text; an escaped quote ends
        // the guess early and the string grows): the properties value, whose `\u0001`
        // separators bring every send here, is then one allocation.
        let rest = memchr::memchr(b'"', s.get(self.pos..)?).unwrap_or(0);
        let mut out = String::with_capacity(prefix.len() + rest);
        out.push_str(prefix);
        loop {
            let b = *self.s.get(self.pos)?;
            self.pos += 1;
            match b {
                b'"' => return Some(Cow::Owned(out)),
                b'\\' => {
                    let e = *self.s.get(self.pos)?;
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hex = text.get(self.pos..self.pos + 4)?;
                            self.pos += 4;
                            let unit = u32::from_str_radix(hex, 16).ok()?;
                            // Surrogate pairs go to the general parser.
                            out.push(char::from_u32(unit)?);
                        }
                        _ => return None,
                    }
                }
                _ => {
                    // Copy a run of plain bytes (valid UTF-8 checked on the run).
                    let run_start = self.pos - 1;
                    while self
                        .s
                        .get(self.pos)
                        .is_some_and(|c| *c != b'"' && *c != b'\\')
                    {
                        self.pos += 1;
                    }
                    out.push_str(text.get(run_start..self.pos)?);
                }
            }
        }
    }

    fn value(&mut self) -> Option<Val<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Val::Str),
            b'n' => self.literal(b"null").map(|()| Val::Null),
            b't' => self.literal(b"true").map(|()| Val::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Val::Bool(false)),
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.pos += 1;
                while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                if self
                    .s
                    .get(self.pos)
                    .is_some_and(|b| matches!(b, b'.' | b'e' | b'E'))
                {
                    return None;
                }
                self.text.get(start..self.pos)?.parse().ok().map(Val::Int)
            }
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.s.get(self.pos..self.pos + word.len())? == word).then(|| self.pos += word.len())
    }

    fn ext_fields(&mut self) -> Option<Option<ExtFields>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        self.eat(b'{')?;
        let mut ext = ExtFields::with_capacity(EXT_FIELDS_USUAL_KEYS);
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(Some(ext));
        }
        loop {
            let k = self.string()?;
            self.eat(b':')?;
            let v = self.value()?;
            self.ext_keys += 1;
            if self.ext_keys > EXT_FIELDS_MAX_KEYS {
                // Keep scanning (linear) to learn the request's opaque, storing nothing more.
            } else {
                let value: Option<Cow<'static, str>> = match v {
                    // Values every send repeats ("0", "false", the default topic) are kept
                    // as constants: no allocation here, none freed when the header is taken.
                    Val::Str(v) => Some(
                        common_text(&v).map_or_else(|| Cow::Owned(v.into_owned()), Cow::Borrowed),
                    ),
                    Val::Int(i) => Some(
                        small_int_text(i).map_or_else(|| Cow::Owned(i.to_string()), Cow::Borrowed),
                    ),
                    Val::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
                    Val::Null => None,
                };
                if let Some(value) = value {
                    match one_letter_key(&k) {
                        Some(key) => ext.insert_static(key, value),
                        None => ext.insert(k.into_owned(), value),
                    }
                }
            }
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(Some(ext));
                }
                _ => return None,
            }
        }
    }
}

/// The one-letter keys of SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE headers, kept borrowed.
fn one_letter_key(k: &str) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    match k.as_bytes() {
        [b @ b'a'..=b'z'] => LETTERS.get(usize::from(b - b'a')).copied(),
        _ => None,
    }
}

fn int(v: Val<'_>) -> Option<i32> {
    match v {
        Val::Int(i) => i32::try_from(i).ok(),
        Val::Null => Some(0),
        Val::Str(s) => s.trim().parse().ok(),
        Val::Bool(_) => None,
    }
}

/// Decodes the flat header shape, or `None` to defer to the general parser. Alongside the
/// command it returns how many `extFields` keys the header had; only the first
/// [`EXT_FIELDS_MAX_KEYS`] are kept, and the caller rejects a header with more.
pub(crate) fn decode(header: &[u8]) -> Option<(RemotingCommand, usize)> {
    // Invalid UTF-8 anywhere goes to the general parser, which reports it as before.
    let text = std::str::from_utf8(header).ok()?;
    let mut sc = Scanner {
        s: header,
        text,
        pos: 0,
        ext_keys: 0,
    };
    sc.eat(b'{')?;
    let mut cmd = RemotingCommand::request(0, None);
    cmd.language = None;
    cmd.version = 0;
    cmd.write_serialize_type_field = false;
    cmd.serialize_type = SerializeType::Json;
    if sc.peek()? == b'}' {
        sc.pos += 1;
    } else {
        loop {
            let key = sc.string()?;
            sc.eat(b':')?;
            match key.as_ref() {
                "extFields" => cmd.ext_fields = sc.ext_fields()?,
                "code" => cmd.code = int(sc.value()?)?,
                "flag" => cmd.flag = int(sc.value()?)?,
                "opaque" => cmd.opaque = int(sc.value()?)?,
                "version" => cmd.version = int(sc.value()?)?,
                "language" => {
                    cmd.language = match sc.value()? {
                        Val::Str(s) => LanguageCode::from_name(&s),
                        Val::Null => None,
                        _ => return None,
                    }
                }
                "remark" => {
                    cmd.remark = match sc.value()? {
                        Val::Str(s) => Some(s.into_owned()),
                        Val::Null => None,
                        _ => return None,
                    }
                }
                "serializeTypeCurrentRPC" => {
                    let _ = sc.value()?;
                    cmd.write_serialize_type_field = true;
                }
                _ => {
                    let _ = sc.value()?;
                }
            }
            match sc.peek()? {
                b',' => sc.pos += 1,
                b'}' => {
                    sc.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    sc.ws();
    (sc.pos == header.len()).then_some((cmd, sc.ext_keys))
}
