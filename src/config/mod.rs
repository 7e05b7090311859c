//! Configuration: Java-properties files and the key tables that give them types.
//!
//! [`properties`] reads and writes `java.util.Properties` text. [`table`] holds a typed key
//! table (name, kind, default) that drives parsing, `-p` printing, and the GET/UPDATE config RPCs,
//! so one list of keys serves the file, the command line and the wire.

pub mod properties;
pub mod table;
