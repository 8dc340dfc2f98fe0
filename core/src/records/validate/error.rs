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
    /// INVALID_RECORD, or INVALID_TIMESTAMP when a timestamp is among the
    /// reasons: single records broke a rule (Kafka's
    /// `RecordValidationException`). Every record of the batch was
    /// checked; the Produce response names each in `record_errors`.
    Records {
        /// The refused records, in batch order.
        errors: Vec<RecordError>,
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
            AppendError::Records { errors } if errors.iter().any(|e| e.timestamp) => 32,
            AppendError::Records { .. } => 87,
            AppendError::UnsupportedCompression { .. } => 76,
        }
    }

    /// The records to name in the response's `record_errors` (Produce
    /// v8+); empty when the set as a whole was refused.
    pub fn record_errors(&self) -> &[RecordError] {
        match self {
            AppendError::Records { errors } => errors,
            _ => &[],
        }
    }
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::Corrupt { reason }
            | AppendError::InvalidRecord { reason, .. }
            | AppendError::UnsupportedCompression { reason } => f.write_str(reason),
            AppendError::Records { errors } if errors.iter().any(|e| e.timestamp) => {
                f.write_str("records refused for an invalid timestamp")
            }
            AppendError::Records { errors } => {
                // The count, then at most three of them, as Kafka answers.
                write!(f, "{} records refused; the first:", errors.len())?;
                for (i, e) in errors.iter().take(3).enumerate() {
                    let sep = if i == 0 { " " } else { "; " };
                    write!(f, "{sep}record {}: {}", e.index, e.message)?;
                }
                Ok(())
            }
            AppendError::TooLarge { size, max } => write!(
                f,
                "record batch of {size} bytes exceeds the maximum of {max} bytes"
            ),
        }
    }
}

impl std::error::Error for AppendError {}

/// One record refused for itself (Kafka's `RecordError`): its index in
/// the batch and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Index of the record in its batch (after unwrapping a compressed
    /// legacy wrapper, the index among the inner messages).
    pub index: usize,
    /// It was refused for its timestamp (INVALID_TIMESTAMP), not its key.
    pub timestamp: bool,
    /// What is wrong.
    pub message: String,
}

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
