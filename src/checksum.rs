//! Java's `UtilAll.crc32`: IEEE CRC32 masked to a non-negative `int`, used for REGISTER_BROKER
//! bodies and the CommitLog `BODYCRC` field.

/// `CRC32(bytes) & 0x7FFFFFFF`.
#[must_use]
pub fn java_crc32(bytes: &[u8]) -> i32 {
    i32::try_from(crc32fast::hash(bytes) & 0x7FFF_FFFF).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_the_sign_bit() {
        // crc32("123456789") = 0xCBF43926; masked: 0x4BF43926.
        assert_eq!(super::java_crc32(b"123456789"), 0x4BF4_3926);
        assert_eq!(super::java_crc32(b""), 0);
    }
}
