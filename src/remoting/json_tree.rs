//! An ordered JSON tree whose map keys may be numbers, written the way fastjson writes it:
//! compact ([`Node::to_compact`]) or pretty ([`Node::to_pretty`], used for the broker's config
//! files). Bodies and files with unquoted integer keys (`{0:12}`) are expressed with [`Key::Int`].

use super::fastjson::{Style, escape_into};

/// A map key.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A String key (quoted).
    Str(String),
    /// An Integer/Long key (unquoted by fastjson's default features).
    Int(i64),
}

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An int or long.
    Int(i64),
    /// A double (always printed with a decimal point).
    Double(f64),
    /// A string.
    Str(String),
    /// A `List` or array: one item per line in pretty output.
    Array(Vec<Node>),
    /// A `Set` (or primitive array): compact even in pretty output (`["a","b"]`).
    Set(Vec<Node>),
    /// A bean or map, in output order.
    Object(Vec<(Key, Node)>),
}

impl Node {
    /// An object from string-keyed pairs.
    #[must_use]
    pub fn object(pairs: Vec<(&str, Node)>) -> Self {
        Self::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (Key::Str(k.to_owned()), v))
                .collect(),
        )
    }

    /// A string node.
    #[must_use]
    pub fn str(s: &str) -> Self {
        Self::Str(s.to_owned())
    }

    /// Compact text (`JSON.toJSONString(obj)`).
    #[must_use]
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    /// Pretty text (`JSON.toJSONString(obj, true)`): tab indentation.
    #[must_use]
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(0));
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => out.push_str(&i.to_string()),
            Self::Double(d) => {
                if d.is_finite() && d.fract() == 0.0 && d.abs() < 1e7 {
                    out.push_str(&format!("{d:.1}"));
                } else {
                    out.push_str(&d.to_string());
                }
            }
            Self::Str(s) => escape_into(out, s, Style::Default),
            Self::Array(items) => write_array(out, items, indent),
            Self::Set(items) => write_set(out, items, indent),
            Self::Object(pairs) => write_object(out, pairs, indent),
        }
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push('\t');
    }
}

fn write_array(out: &mut String, items: &[Node], indent: Option<usize>) {
    out.push('[');
    let Some(level) = indent else {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write(out, None);
        }
        out.push(']');
        return;
    };
    if items.is_empty() {
        out.push(']');
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, level + 1);
        item.write(out, Some(level + 1));
    }
    newline(out, level);
    out.push(']');
}

/// A set stays on one line; objects inside it still nest at the current depth.
fn write_set(out: &mut String, items: &[Node], indent: Option<usize>) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item.write(out, indent);
    }
    out.push(']');
}

fn write_key(out: &mut String, key: &Key) {
    match key {
        Key::Str(s) => escape_into(out, s, Style::Default),
        Key::Int(i) => out.push_str(&i.to_string()),
    }
    out.push(':');
}

fn write_object(out: &mut String, pairs: &[(Key, Node)], indent: Option<usize>) {
    out.push('{');
    let Some(level) = indent else {
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_key(out, k);
            v.write(out, None);
        }
        out.push('}');
        return;
    };
    if pairs.is_empty() {
        out.push('}');
        return;
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // fastjson breaks the line before String keys but not before Integer/Long keys.
        if matches!(k, Key::Str(_)) {
            newline(out, level + 1);
        }
        write_key(out, k);
        v.write(out, Some(level + 1));
    }
    newline(out, level);
    out.push('}');
}

/// Orders map entries as a Java `HashMap`/`ConcurrentHashMap` created with `initial_bins`
/// bins iterates them: by bin `(h ^ h >>> 16) & (bins - 1)` (String keys hash with
/// `String.hashCode`, integer keys with their value), ties in insertion order. The table doubles
/// while the map is more than three-quarters full.
pub fn sort_java_hash(pairs: &mut [(Key, Node)], initial_bins: usize) {
    let mut bins = initial_bins.max(16).next_power_of_two();
    while pairs.len() * 4 > bins * 3 {
        bins *= 2;
    }
    let mask = u32::try_from(bins - 1).unwrap_or(u32::MAX);
    pairs.sort_by_key(|(k, _)| {
        let h = match k {
            Key::Str(s) => crate::store::record::java_string_hash(s).cast_unsigned(),
            Key::Int(i) => {
                let v = (*i).cast_unsigned();
                u32::try_from((v ^ (v >> 32)) & u64::from(u32::MAX)).unwrap_or(0)
            }
        };
        (h ^ (h >> 16)) & mask
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of `consumerOffset.json` written by the Java 5.3.3 broker
    /// (fixture `protocol/fixtures/store-config/java533/consumerOffset.json`).
    #[test]
    fn pretty_matches_fastjson_shapes() {
        let n = Node::object(vec![
            (
                "groupTopicMap",
                Node::object(vec![("G", Node::Set(vec![Node::str("T")]))]),
            ),
            (
                "offsetTable",
                Node::object(vec![(
                    "T@G",
                    Node::Object(vec![
                        (Key::Int(0), Node::Int(6)),
                        (Key::Int(1), Node::Int(3)),
                    ]),
                )]),
            ),
            ("empty", Node::Object(Vec::new())),
        ]);
        assert_eq!(
            n.to_pretty(),
            "{\n\t\"groupTopicMap\":{\n\t\t\"G\":[\"T\"]\n\t},\n\t\"offsetTable\":{\n\t\t\"T@G\":{0:6,1:3\n\t\t}\n\t},\n\t\"empty\":{}\n}"
        );
    }

    #[test]
    fn compact_with_integer_keys() {
        let n = Node::object(vec![(
            "offsetTable",
            Node::Object(vec![
                (Key::Int(0), Node::Int(12)),
                (Key::Int(1), Node::Int(10)),
            ]),
        )]);
        assert_eq!(n.to_compact(), r#"{"offsetTable":{0:12,1:10}}"#);
    }
}
