//! Value types shared by every message: [`Uuid`] and [`RawTaggedField`].

use std::fmt;

use bytes::Bytes;
use serde::{Serialize, Serializer};

/// A Kafka UUID (topic ids, member ids, ...): 16 bytes.
///
/// Displays the way Kafka's tools print it: URL-safe base64 without padding
/// (`AAAAAAAAAAAAAAAAAAAAAA` is the zero uuid).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero uuid, Kafka's "no id".
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        let mut out = String::with_capacity(22);
        let mut i = 0;
        while i + 3 <= b.len() {
            let n = (u32::from(b[i]) << 16) | (u32::from(b[i + 1]) << 8) | u32::from(b[i + 2]);
            for shift in [18, 12, 6, 0] {
                out.push(B64URL[((n >> shift) & 63) as usize] as char);
            }
            i += 3;
        }
        // 16 = 5*3 + 1: one byte left, two base64 characters, no padding.
        let n = u32::from(b[15]) << 16;
        out.push(B64URL[((n >> 18) & 63) as usize] as char);
        out.push(B64URL[((n >> 12) & 63) as usize] as char);
        f.write_str(&out)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A tagged field the schema does not know, kept byte for byte so that
/// re-encoding a message gives back the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawTaggedField {
    /// The tag number.
    pub tag: u32,
    /// The field's value bytes, without tag and size.
    pub data: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_displays_as_kafka_base64() {
        assert_eq!(Uuid::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(Uuid([0xff; 16]).to_string(), "_____________________w");
    }
}
