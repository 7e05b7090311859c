//! `MQVersion.Version` ordinals that change behaviour on the wire (`common:MQVersion.java`).

/// V3_0_11: from here REGISTER_BROKER carries a `RegisterBrokerBody`.
pub const V3_0_11: i32 = 37;
/// V4_1_0_SNAPSHOT: clients refuse SQL92 pulls from brokers older than this.
pub const V4_1_0_SNAPSHOT: i32 = 232;
/// V4_5_2: what the Go client v2 announces.
pub const V4_5_2: i32 = 317;
/// V4_9_4: from here the name server answers routes in standard (browser-compatible) JSON.
pub const V4_9_4: i32 = 401;
/// V4_9_8.
pub const V4_9_8: i32 = 409;
/// V5_0_0: compressed REGISTER_BROKER bodies carry the topic-queue mapping section from here.
pub const V5_0_0: i32 = 413;
/// V5_3_3: the version this server announces, as the Java 5.3.3 servers do.
pub const V5_3_3: i32 = 479;
/// The version stamped on every command this server originates.
pub const CURRENT: i32 = V5_3_3;

/// The version description `MQVersion.getVersionDesc` gives for an ordinal we announce.
#[must_use]
pub fn desc(version: i32) -> &'static str {
    match version {
        V4_9_8 => "V4_9_8",
        V5_3_3 => "V5_3_3",
        _ => "HIGHER_VERSION",
    }
}
