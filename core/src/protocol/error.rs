//! Decode and encode errors. Every decode error names the absolute byte
//! offset where decoding stopped, so that a person looking at a hex dump can
//! find it.

use std::fmt;

/// Why bytes could not be decoded. Offsets count from the start of the
/// buffer the [`Reader`](super::wire::Reader) was made over.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value at `at` needs `needed` bytes but only `remaining` are left.
    Truncated {
        /// Offset of the value.
        at: usize,
        /// Bytes the value needs.
        needed: usize,
        /// Bytes left in the frame.
        remaining: usize,
    },
    /// A varint ran past its maximum length or overflowed its width.
    InvalidVarint {
        /// Offset of the varint's first byte.
        at: usize,
    },
    /// A length or count prefix is negative (other than the null marker) or
    /// larger than the bytes that follow.
    InvalidLength {
        /// Offset of the prefix.
        at: usize,
        /// The decoded length.
        len: i64,
    },
    /// A null where the schema does not allow one in this version.
    UnexpectedNull {
        /// Offset of the length prefix.
        at: usize,
    },
    /// A string is not valid UTF-8.
    InvalidUtf8 {
        /// Offset of the string's first byte.
        at: usize,
    },
    /// Bytes were left over after the message ended.
    TrailingBytes {
        /// Offset of the first byte left over.
        at: usize,
        /// How many were left over.
        count: usize,
    },
    /// The API key is not one Kafka defines.
    UnknownApiKey {
        /// Offset of the api key.
        at: usize,
        /// The key found.
        key: i16,
    },
    /// The API exists but not in this version.
    UnsupportedVersion {
        /// Offset of the api version.
        at: usize,
        /// The api key.
        key: i16,
        /// The version found.
        version: i16,
    },
    /// A value is outside what the format allows (a bad magic byte, a CRC
    /// mismatch, a count that disagrees with another field).
    Invalid {
        /// Offset of the value.
        at: usize,
        /// What was wrong, in a few words.
        what: &'static str,
    },
}

impl DecodeError {
    /// The offset at which decoding stopped.
    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::Truncated { at, .. }
            | DecodeError::InvalidVarint { at }
            | DecodeError::InvalidLength { at, .. }
            | DecodeError::UnexpectedNull { at }
            | DecodeError::InvalidUtf8 { at }
            | DecodeError::TrailingBytes { at, .. }
            | DecodeError::UnknownApiKey { at, .. }
            | DecodeError::UnsupportedVersion { at, .. }
            | DecodeError::Invalid { at, .. } => at,
        }
    }

    /// What was expected versus found, without the offset.
    pub fn problem(&self) -> String {
        match self {
            DecodeError::Truncated {
                needed, remaining, ..
            } => format!("needs {needed} bytes, {remaining} remain"),
            DecodeError::InvalidVarint { .. } => "varint is too long for its width".into(),
            DecodeError::InvalidLength { len, .. } => {
                format!("length {len} is negative or longer than the bytes that follow")
            }
            DecodeError::UnexpectedNull { .. } => "is null but not nullable in this version".into(),
            DecodeError::InvalidUtf8 { .. } => "is not valid UTF-8".into(),
            DecodeError::TrailingBytes { count, .. } => {
                format!("{count} bytes left over after the message ended")
            }
            DecodeError::UnknownApiKey { key, .. } => format!("api key {key} is not a Kafka API"),
            DecodeError::UnsupportedVersion { key, version, .. } => {
                format!("api key {key} has no version {version}")
            }
            DecodeError::Invalid { what, .. } => (*what).to_string(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset(), self.problem())
    }
}

impl std::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not exist in this version.
    UnsupportedVersion {
        /// The message.
        message: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A field holds a non-default value but does not exist in this version
    /// (Kafka refuses to drop such a value silently unless the field is
    /// marked ignorable).
    FieldNotInVersion {
        /// The struct holding the field.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A null in a field that is not nullable in this version.
    NullNotAllowed {
        /// The struct holding the field.
        message: &'static str,
        /// The field.
        field: &'static str,
        /// The version asked for.
        version: i16,
    },
    /// A string, bytes or array longer than its length prefix can say.
    TooLong {
        /// The length.
        len: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::UnsupportedVersion { message, version } => {
                write!(f, "{message} has no version {version}")
            }
            EncodeError::FieldNotInVersion {
                message,
                field,
                version,
            } => write!(
                f,
                "{message}.{field} is set but does not exist in version {version}"
            ),
            EncodeError::NullNotAllowed {
                message,
                field,
                version,
            } => write!(
                f,
                "{message}.{field} is null but not nullable in version {version}"
            ),
            EncodeError::TooLong { len } => write!(f, "length {len} does not fit its prefix"),
        }
    }
}

impl std::error::Error for EncodeError {}
