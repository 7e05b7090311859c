//! Typed custom headers: Java `CommandCustomHeader` classes as Rust structs.
//!
//! Each header is declared once in an [`ext_header!`](crate::ext_header) table with its Java field
//! names; the macro derives `from_ext_fields` (Java `decodeCommandCustomHeader`) and
//! `to_ext_fields` (`makeCustomHeaderToNet`). `req` fields are `@CFNotNull` in Java and their
//! absence is an error; `opt` fields are `Option`. Values travel as strings: numbers in decimal,
//! booleans as `true`/`false` and parsed with `Boolean.parseBoolean` semantics.

pub mod broker;
pub mod namesrv;
pub mod pop;
pub mod send;

/// A value that can live in `extFields`.
pub trait ExtValue: Sized {
    /// Parses the text form; `None` when Java's parser would throw.
    fn parse_ext(text: &str) -> Option<Self>;
    /// The text form Java's `toString` gives.
    fn format_ext(&self) -> String;
    /// Parses a value moved out of `extFields`; the text comes back when it does not parse.
    /// Text values take it over without a copy.
    fn take_ext(text: std::borrow::Cow<'static, str>) -> Result<Self, String> {
        Self::parse_ext(&text).ok_or_else(|| text.into_owned())
    }
}

impl ExtValue for String {
    fn parse_ext(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn take_ext(text: std::borrow::Cow<'static, str>) -> Result<Self, String> {
        Ok(text.into_owned())
    }
    fn format_ext(&self) -> String {
        self.clone()
    }
}

impl ExtValue for i32 {
    fn parse_ext(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn format_ext(&self) -> String {
        self.to_string()
    }
}

impl ExtValue for i64 {
    fn parse_ext(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    fn format_ext(&self) -> String {
        self.to_string()
    }
}

impl ExtValue for bool {
    /// `Boolean.parseBoolean`: true only for a case-insensitive "true", never an error.
    fn parse_ext(text: &str) -> Option<Self> {
        Some(text.eq_ignore_ascii_case("true"))
    }
    fn format_ext(&self) -> String {
        self.to_string()
    }
}

/// Declares a custom header struct and its `extFields` conversions.
///
/// ```
/// rocketmq_rs::ext_header! {
///     /// Example.
///     pub struct Example {
///         /// A required topic.
///         topic: req String = "topic",
///         /// An optional count.
///         count: opt i32 = "count",
///     }
/// }
/// let h = Example { topic: "T".into(), count: Some(3) };
/// let ext = h.to_ext_fields();
/// assert_eq!(ext.get("count"), Some("3"));
/// assert_eq!(Example::from_ext_fields(Some(&ext)).unwrap(), h);
/// ```
#[macro_export]
macro_rules! ext_header {
    (@ty req $t:ty) => { $t };
    (@ty opt $t:ty) => { Option<$t> };
    (@get req $ext:ident $java:literal $t:ty) => {{
        let text = $ext
            .and_then(|e| e.get($java))
            .ok_or($crate::remoting::error::HeaderError::Missing($java))?;
        <$t as $crate::remoting::header::ExtValue>::parse_ext(text).ok_or_else(|| {
            $crate::remoting::error::HeaderError::Invalid { field: $java, value: text.to_owned() }
        })?
    }};
    (@get opt $ext:ident $java:literal $t:ty) => {{
        match $ext.and_then(|e| e.get($java)) {
            None => None,
            Some(text) => Some(<$t as $crate::remoting::header::ExtValue>::parse_ext(text).ok_or_else(
                || $crate::remoting::error::HeaderError::Invalid { field: $java, value: text.to_owned() },
            )?),
        }
    }};
    (@take req $ext:ident $java:literal $t:ty) => {{
        let text = $ext
            .as_deref_mut()
            .and_then(|e| e.take($java))
            .ok_or($crate::remoting::error::HeaderError::Missing($java))?;
        <$t as $crate::remoting::header::ExtValue>::take_ext(text).map_err(|value| {
            $crate::remoting::error::HeaderError::Invalid { field: $java, value }
        })?
    }};
    (@take opt $ext:ident $java:literal $t:ty) => {{
        match $ext.as_deref_mut().and_then(|e| e.take($java)) {
            None => None,
            Some(text) => Some(<$t as $crate::remoting::header::ExtValue>::take_ext(text).map_err(
                |value| $crate::remoting::error::HeaderError::Invalid { field: $java, value },
            )?),
        }
    }};
    (@put req $ext:ident $java:literal $v:expr) => {
        $ext.insert_static($java, $crate::remoting::header::ExtValue::format_ext($v));
    };
    (@put opt $ext:ident $java:literal $v:expr) => {
        if let Some(v) = $v {
            $ext.insert_static($java, $crate::remoting::header::ExtValue::format_ext(v));
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident $t:ty = $java:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $crate::ext_header!(@ty $kind $t), )*
        }

        impl $name {
            /// Builds the header from a request's `extFields` (Java `decodeCommandCustomHeader`).
            #[allow(unused_variables)]
            pub fn from_ext_fields(
                ext: Option<&$crate::remoting::ExtFields>,
            ) -> Result<Self, $crate::remoting::error::HeaderError> {
                Ok(Self { $( $field: $crate::ext_header!(@get $kind ext $java $t), )* })
            }

            /// [`Self::from_ext_fields`] for a request whose `extFields` are not needed
            /// afterwards: values are moved out of `ext` rather than copied, and the pairs
            /// left behind lose their order.
            #[allow(unused_variables, unused_mut)]
            pub fn take_ext_fields(
                mut ext: Option<&mut $crate::remoting::ExtFields>,
            ) -> Result<Self, $crate::remoting::error::HeaderError> {
                Ok(Self { $( $field: $crate::ext_header!(@take $kind ext $java $t), )* })
            }

            /// The header as `extFields` (Java `makeCustomHeaderToNet`), in declaration order.
            #[must_use]
            pub fn to_ext_fields(&self) -> $crate::remoting::ExtFields {
                #[allow(unused_mut)]
                let mut ext = $crate::remoting::ExtFields::new();
                $( $crate::ext_header!(@put $kind ext $java &self.$field); )*
                ext
            }
        }
    };
}
