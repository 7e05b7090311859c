//! `LanguageCode`: the sender's client language. JSON carries the name, ROCKETMQ the byte.

/// Java `org.apache.rocketmq.remoting.protocol.LanguageCode`, with its byte codes.
/// `NODE_JS` exists only in 5.x; 4.9 peers decode it as null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LanguageCode {
    /// Java.
    Java = 0,
    /// C++.
    Cpp = 1,
    /// .NET.
    Dotnet = 2,
    /// Python.
    Python = 3,
    /// Delphi.
    Delphi = 4,
    /// Erlang.
    Erlang = 5,
    /// Ruby.
    Ruby = 6,
    /// Other.
    Other = 7,
    /// HTTP.
    Http = 8,
    /// Go.
    Go = 9,
    /// PHP.
    Php = 10,
    /// OpenMessaging.
    Oms = 11,
    /// Rust.
    Rust = 12,
    /// Node.js (5.x only).
    NodeJs = 13,
}

const ALL: [LanguageCode; 14] = [
    LanguageCode::Java,
    LanguageCode::Cpp,
    LanguageCode::Dotnet,
    LanguageCode::Python,
    LanguageCode::Delphi,
    LanguageCode::Erlang,
    LanguageCode::Ruby,
    LanguageCode::Other,
    LanguageCode::Http,
    LanguageCode::Go,
    LanguageCode::Php,
    LanguageCode::Oms,
    LanguageCode::Rust,
    LanguageCode::NodeJs,
];

impl LanguageCode {
    /// The enum name as fastjson writes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Java => "JAVA",
            Self::Cpp => "CPP",
            Self::Dotnet => "DOTNET",
            Self::Python => "PYTHON",
            Self::Delphi => "DELPHI",
            Self::Erlang => "ERLANG",
            Self::Ruby => "RUBY",
            Self::Other => "OTHER",
            Self::Http => "HTTP",
            Self::Go => "GO",
            Self::Php => "PHP",
            Self::Oms => "OMS",
            Self::Rust => "RUST",
            Self::NodeJs => "NODE_JS",
        }
    }

    /// Looks a language up by its enum name; unknown names are `None` (fastjson yields null).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|l| l.name() == name)
    }

    /// Looks a language up by its byte code (ROCKETMQ header, or a number in JSON).
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        ALL.get(usize::from(code)).copied()
    }

    /// The byte code.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for l in ALL {
            assert_eq!(LanguageCode::from_name(l.name()), Some(l));
            assert_eq!(LanguageCode::from_code(l.code()), Some(l));
        }
        assert_eq!(LanguageCode::from_code(14), None);
        assert_eq!(LanguageCode::from_name("java"), None);
        assert_eq!(LanguageCode::Go.code(), 9);
    }
}
