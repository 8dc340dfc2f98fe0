//! [`AppendError`]: why a record set was refused, as a Kafka error code.

use std::fmt;

use super::super::compression::CodecError;

/// Why a record set was refused; each maps to a Kafka error code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppendError {
    /// CORRUPT_MESSAGE: the bytes are damaged or do not parse.
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// MESSAGE_TOO_LARGE: a batch exceeds `max.message.bytes`, or
    /// decompresses past the allowed size.
    TooLarge {
        /// Its size in bytes (the limit plus one when decompression stopped).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// INVALID_RECORD: well-formed bytes that break a rule.
    InvalidRecord {
        /// Index of the offending record in its batch, when one is to blame.
        record: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// INVALID_TIMESTAMP.
    InvalidTimestamp {
        /// Index of the offending record in its batch.
        record: usize,
        /// What is wrong.
        reason: String,
    },
    /// UNSUPPORTED_COMPRESSION_TYPE.
    UnsupportedCompression {
        /// What is wrong.
        reason: String,
    },
}

impl AppendError {
    /// The Kafka error code for the Produce response.
    pub fn error_code(&self) -> i16 {
        match self {
            AppendError::Corrupt { .. } => 2,
            AppendError::TooLarge { .. } => 10,
            AppendError::InvalidRecord { .. } => 87,
            AppendError::InvalidTimestamp { .. } => 32,
            AppendError::UnsupportedCompression { .. } => 76,
        }
    }

    /// The record to name in the response's `record_errors` (Produce v8+).
    pub fn record_index(&self) -> Option<usize> {
        match self {
            AppendError::InvalidRecord { record, .. } => *record,
            AppendError::InvalidTimestamp { record, .. } => Some(*record),
            _ => None,
        }
    }
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::Corrupt { reason }
            | AppendError::InvalidRecord { reason, .. }
            | AppendError::InvalidTimestamp { reason, .. }
            | AppendError::UnsupportedCompression { reason } => f.write_str(reason),
            AppendError::TooLarge { size, max } => write!(
                f,
                "record batch of {size} bytes exceeds the maximum of {max} bytes"
            ),
        }
    }
}

impl std::error::Error for AppendError {}

pub(super) fn corrupt(reason: impl fmt::Display) -> AppendError {
    AppendError::Corrupt {
        reason: reason.to_string(),
    }
}

pub(super) fn invalid(record: Option<usize>, reason: impl Into<String>) -> AppendError {
    AppendError::InvalidRecord {
        record,
        reason: reason.into(),
    }
}

pub(super) fn from_codec(e: CodecError) -> AppendError {
    match e {
        CodecError::TooLarge { limit, .. } => AppendError::TooLarge {
            size: limit.saturating_add(1),
            max: limit,
        },
        e => corrupt(e),
    }
}
