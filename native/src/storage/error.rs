//! [`FileError`]: what went wrong, and with which file.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use spate_core::storage::TopicPartition;

/// A [`FileStorage`](super::FileStorage) error. The broker turns it into
/// KAFKA_STORAGE_ERROR for the partition concerned.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileError {
    /// An I/O call failed on this file or directory.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// No such log.
    NoLog(TopicPartition),
    /// An append whose base offset is below the log end offset.
    OutOfOrder {
        /// The log.
        tp: TopicPartition,
        /// Its end offset.
        end: i64,
        /// The batch's base offset.
        base: i64,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            FileError::NoLog(tp) => write!(f, "no log {tp}"),
            FileError::OutOfOrder { tp, end, base } => {
                write!(
                    f,
                    "append to {tp} at offset {base}, but the log ends at {end}"
                )
            }
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<FileError> for io::Error {
    fn from(e: FileError) -> io::Error {
        let kind = match &e {
            FileError::Io { source, .. } => source.kind(),
            FileError::NoLog(_) => io::ErrorKind::NotFound,
            FileError::OutOfOrder { .. } => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// Attaches a path to an I/O result.
pub(crate) trait At<T> {
    /// The error, if any, with `path`.
    fn at(self, path: &Path) -> Result<T, FileError>;
}

impl<T> At<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, FileError> {
        self.map_err(|source| FileError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// An `InvalidData` error about `path`.
pub(crate) fn invalid(path: &Path, what: impl Into<String>) -> FileError {
    FileError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, what.into()),
    }
}
