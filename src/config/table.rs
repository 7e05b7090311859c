//! Typed key tables: one list of keys (name, kind, default) per config object, as Java's
//! `MixAll.properties2Object` sees the setters of `NamesrvConfig`, `NettyServerConfig`, ….

use std::collections::BTreeMap;

/// Builds a key table: `"name": Kind = "default",`, or `"name": Kind = "default" => important,`
/// for keys Java marks `@ImportantField`.
#[macro_export]
macro_rules! config_keys {
    (@imp important) => { true };
    (@imp) => { false };
    ($($name:literal : $kind:ident = $default:literal $(=> $imp:ident)?,)*) => {
        &[$($crate::config::table::KeyDef {
            name: $name,
            kind: $crate::config::table::Kind::$kind,
            default: $default,
            important: $crate::config_keys!(@imp $($imp)?),
        },)*]
    };
}

/// The Java type behind a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `boolean`.
    Bool,
    /// `int`.
    Int,
    /// `long`.
    Long,
    /// `String`.
    Str,
}

/// One config key.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    /// Java field name, as written in files.
    pub name: &'static str,
    /// Java type.
    pub kind: Kind,
    /// Java default, as text.
    pub default: &'static str,
    /// Java marks it `@ImportantField` (`-m` prints these).
    pub important: bool,
}

/// Why a key could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// No such key (Java ignores these silently; we warn).
    #[error("unknown key {0}")]
    Unknown(String),
    /// The value does not parse as the key's type (Java ignores these silently; we warn).
    #[error("value {value:?} of {key} is not a valid {kind:?}")]
    BadValue {
        /// Key.
        key: String,
        /// Text given.
        value: String,
        /// Expected type.
        kind: Kind,
    },
}

/// Current values of a set of key tables, in declaration order for `-p`.
#[derive(Debug, Clone)]
pub struct ConfigValues {
    /// Every key, in declaration order.
    defs: Vec<KeyDef>,
    /// Current values (trimmed text).
    values: BTreeMap<&'static str, String>,
}

impl ConfigValues {
    /// Defaults of `groups`; `overrides` replaces defaults that depend on the environment.
    #[must_use]
    pub fn new(groups: &[&[KeyDef]], overrides: &[(&str, String)]) -> Self {
        let defs: Vec<KeyDef> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        let mut values = BTreeMap::new();
        for d in &defs {
            let v = overrides
                .iter()
                .find(|(k, _)| *k == d.name)
                .map_or_else(|| d.default.to_owned(), |(_, v)| v.clone());
            let _previous = values.insert(d.name, v);
        }
        Self { defs, values }
    }

    /// Sets `key` after checking the value against its type.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SetError> {
        let def = self
            .defs
            .iter()
            .find(|d| d.name == key)
            .ok_or_else(|| SetError::Unknown(key.to_owned()))?;
        let value = value.trim();
        let ok = match def.kind {
            Kind::Bool => value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"),
            Kind::Int => value.parse::<i32>().is_ok(),
            Kind::Long => value.parse::<i64>().is_ok(),
            Kind::Str => true,
        };
        if !ok {
            return Err(SetError::BadValue {
                key: key.to_owned(),
                value: value.to_owned(),
                kind: def.kind,
            });
        }
        let normalized = if def.kind == Kind::Bool {
            value.to_ascii_lowercase()
        } else {
            value.to_owned()
        };
        let _previous = self.values.insert(def.name, normalized);
        Ok(())
    }

    /// True when `key` is in the table.
    #[must_use]
    pub fn knows(&self, key: &str) -> bool {
        self.defs.iter().any(|d| d.name == key)
    }

    /// Text value.
    #[must_use]
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// Boolean value (false when absent).
    #[must_use]
    pub fn get_bool(&self, key: &str) -> bool {
        self.get(key).eq_ignore_ascii_case("true")
    }

    /// Integer value (0 when absent).
    #[must_use]
    pub fn get_i64(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap_or(0)
    }

    /// `(key, value)` in declaration order (what `-p` prints).
    pub fn in_declaration_order(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.defs.iter().map(|d| (d.name, self.get(d.name)))
    }

    /// `(key, value)` of the important keys, in declaration order (what `-m` prints).
    pub fn important(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.defs
            .iter()
            .filter(|d| d.important)
            .map(|d| (d.name, self.get(d.name)))
    }

    /// `(key, value)` sorted by key (what GET_*_CONFIG returns).
    pub fn sorted(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[KeyDef] = &[
        KeyDef {
            name: "listenPort",
            kind: Kind::Int,
            default: "9876",
            important: true,
        },
        KeyDef {
            name: "enableAllTopicList",
            kind: Kind::Bool,
            default: "true",
            important: false,
        },
        KeyDef {
            name: "kvConfigPath",
            kind: Kind::Str,
            default: "",
            important: false,
        },
    ];

    #[test]
    fn typed_set_and_orders() {
        let mut c = ConfigValues::new(&[DEFS], &[("kvConfigPath", "/x".to_owned())]);
        assert_eq!(c.get("kvConfigPath"), "/x");
        c.set("listenPort", " 19876 ").unwrap();
        assert_eq!(c.get_i64("listenPort"), 19876);
        assert!(matches!(
            c.set("listenPort", "abc"),
            Err(SetError::BadValue { .. })
        ));
        assert!(matches!(c.set("nope", "1"), Err(SetError::Unknown(_))));
        c.set("enableAllTopicList", "FALSE").unwrap();
        assert!(!c.get_bool("enableAllTopicList"));
        let decl: Vec<_> = c.in_declaration_order().map(|(k, _)| k).collect();
        assert_eq!(
            decl,
            vec!["listenPort", "enableAllTopicList", "kvConfigPath"]
        );
        let sorted: Vec<_> = c.sorted().map(|(k, _)| k).collect();
        assert_eq!(
            sorted,
            vec!["enableAllTopicList", "kvConfigPath", "listenPort"]
        );
    }
}
