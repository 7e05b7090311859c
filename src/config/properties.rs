//! `java.util.Properties` text: `key=value`, `key = value`, `key: value` or `key value`; comments
//! start with `#` or `!` at the start of a line; a trailing backslash continues the line; `\uXXXX`
//! and `\t \n \r \f` escapes. The writer escapes so that any value reads back unchanged (Java's
//! `MixAll.properties2String` does not, which lets a value inject extra lines).

/// One parsed entry with the line it started on, for warnings that name the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Key.
    pub key: String,
    /// Value, unescaped. Java trims values when applying them to config objects.
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

/// A parse failure, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses properties text. Later duplicates win, as in Java.
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut out: Vec<Entry> = Vec::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((idx, raw)) = lines.next() {
        let start_line = idx + 1;
        let mut logical = raw.trim_end_matches('\r').trim_start().to_owned();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        while ends_with_odd_backslashes(&logical) {
            let _ = logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_end_matches('\r').trim_start()),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key, start_line)?;
        let value = unescape(value, start_line)?;
        if let Some(existing) = out.iter_mut().find(|e| e.key == key) {
            existing.value = value;
            existing.line = start_line;
        } else {
            out.push(Entry {
                key,
                value,
                line: start_line,
            });
        }
    }
    Ok(out)
}

fn ends_with_odd_backslashes(s: &str) -> bool {
    s.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' | ' ' | '\t' | '\u{c}' => {
                let key = line.get(..i).unwrap_or("");
                let mut rest = line
                    .get(i..)
                    .unwrap_or("")
                    .trim_start_matches([' ', '\t', '\u{c}']);
                if !matches!(c, '=' | ':') {
                    if let Some(r) = rest.strip_prefix(['=', ':']) {
                        rest = r;
                    }
                } else {
                    rest = rest.get(1..).unwrap_or("");
                }
                return (key, rest.trim_start_matches([' ', '\t', '\u{c}']));
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str, line: usize) -> Result<String, ParseError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .ok_or_else(|| ParseError {
                        line,
                        message: format!("malformed \\uxxxx encoding \\u{hex}"),
                    })?;
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Escapes a key or value so that [`parse`] (and Java) reads it back unchanged.
#[must_use]
pub fn escape(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' if is_key => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '#' | '!' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Writes `key=value\n` lines, escaped, in the given order.
#[must_use]
pub fn write<K: AsRef<str>, V: AsRef<str>>(entries: impl IntoIterator<Item = (K, V)>) -> String {
    let mut out = String::new();
    for (k, v) in entries {
        out.push_str(&escape(k.as_ref(), true));
        out.push('=');
        out.push_str(&escape(v.as_ref(), false));
        out.push('\n');
    }
    out
}

/// Rewrites properties `text` with new values for some keys, keeping every other line,
/// comment and the order as the operator wrote them: an entry whose key is updated becomes one
/// `key=value` line (all its continuation lines go), and keys the text lacks are appended.
/// Java's `Configuration.persist` instead rewrites the file with every key of every config
/// object and drops the comments.
#[must_use]
pub fn update_text(text: &str, updates: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut written: Vec<&str> = Vec::new();
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((idx, raw)) = lines.next() {
        let trimmed = raw.trim_end_matches('\r').trim_start();
        let mut physical = vec![raw];
        let mut logical = trimmed.to_owned();
        let is_entry =
            !(logical.is_empty() || logical.starts_with('#') || logical.starts_with('!'));
        if is_entry {
            while ends_with_odd_backslashes(&logical) {
                let _ = logical.pop();
                match lines.next() {
                    Some((_, next)) => {
                        physical.push(next);
                        logical.push_str(next.trim_end_matches('\r').trim_start());
                    }
                    None => break,
                }
            }
        }
        let key = is_entry
            .then(|| unescape(split_key_value(&logical).0, idx + 1).ok())
            .flatten();
        match key.and_then(|k| updates.iter().find(|(uk, _)| *uk == k)) {
            Some((k, v)) => {
                out.push_str(&write([(k, v)]));
                written.push(k);
            }
            None => {
                for line in physical {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    // `split` yields a last empty piece after a final newline; don't double it.
    if text.ends_with('\n') || text.is_empty() {
        let _ = out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let missing: Vec<(&str, &str)> = updates
        .iter()
        .filter(|(k, _)| !written.contains(k))
        .copied()
        .collect();
    out.push_str(&write(missing));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_text_keeps_comments_and_order() {
        let text = "# broker a\nbrokerName=broker-a\nflushDiskType = ASYNC_FLUSH\nmulti=a\\\n  b\n";
        let got = update_text(
            text,
            &[
                ("flushDiskType", "SYNC_FLUSH"),
                ("multi", "c"),
                ("newKey", "v 1"),
            ],
        );
        assert_eq!(
            got,
            "# broker a\nbrokerName=broker-a\nflushDiskType=SYNC_FLUSH\nmulti=c\nnewKey=v 1\n"
        );
        let back = parse(&got).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(update_text("", &[("k", "v")]), "k=v\n");
        assert_eq!(update_text("a=1", &[("b", "2")]), "a=1\nb=2\n");
    }

    #[test]
    fn parses_java_forms() {
        let text = "# c\n! c\nbrokerName = broker-a\nlistenPort:10911\nflag true\nmulti=a\\\n   b\nesc=x\\u0041\\ty\n\n";
        let e = parse(text).unwrap();
        let get = |k: &str| e.iter().find(|x| x.key == k).map(|x| x.value.clone());
        assert_eq!(get("brokerName").as_deref(), Some("broker-a"));
        assert_eq!(get("listenPort").as_deref(), Some("10911"));
        assert_eq!(get("flag").as_deref(), Some("true"));
        assert_eq!(get("multi").as_deref(), Some("ab"));
        assert_eq!(get("esc").as_deref(), Some("xA\ty"));
        assert_eq!(
            e.iter().find(|x| x.key == "listenPort").map(|x| x.line),
            Some(4)
        );
    }

    #[test]
    fn bad_unicode_escape_is_an_error() {
        assert!(parse("k=\\u12").is_err());
    }

    #[test]
    fn write_then_parse_is_identity() {
        let tricky = "a\nrocketmqHome=/tmp\\x #y";
        let text = write([("k", tricky), ("sp ace", " lead")]);
        let back = parse(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].value, tricky);
        assert_eq!(back[1].key, "sp ace");
        assert_eq!(back[1].value, " lead");
    }
}
