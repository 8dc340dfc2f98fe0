//! Control records: the key and value of records in a control batch
//! (attribute bit 5), which mark transaction ends and KRaft events.
//!
//! # Format
//!
//! ```text
//! key   version int16 (0), type int16 (0 abort, 1 commit, 2 leader change, ...)
//! value for abort/commit, an EndTxnMarker: version int16 (0), coordinatorEpoch int32
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::error::DecodeError;
use crate::protocol::wire::Reader;

/// The type of a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// A transaction was aborted (0).
    Abort,
    /// A transaction was committed (1).
    Commit,
    /// KRaft: a new leader (2).
    LeaderChange,
    /// KRaft: start of a snapshot (3).
    SnapshotHeader,
    /// KRaft: end of a snapshot (4).
    SnapshotFooter,
    /// KRaft: the kraft.version feature (5).
    KRaftVersion,
    /// KRaft: the voter set (6).
    KRaftVoters,
    /// A type Spate does not know.
    Unknown(i16),
}

impl ControlRecordType {
    /// The type for its wire id.
    pub fn from_id(id: i16) -> Self {
        match id {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            2 => ControlRecordType::LeaderChange,
            3 => ControlRecordType::SnapshotHeader,
            4 => ControlRecordType::SnapshotFooter,
            5 => ControlRecordType::KRaftVersion,
            6 => ControlRecordType::KRaftVoters,
            other => ControlRecordType::Unknown(other),
        }
    }

    /// The wire id.
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::LeaderChange => 2,
            ControlRecordType::SnapshotHeader => 3,
            ControlRecordType::SnapshotFooter => 4,
            ControlRecordType::KRaftVersion => 5,
            ControlRecordType::KRaftVoters => 6,
            ControlRecordType::Unknown(id) => id,
        }
    }

    /// Kafka's name for the type (`COMMIT`, `ABORT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ControlRecordType::Abort => "ABORT",
            ControlRecordType::Commit => "COMMIT",
            ControlRecordType::LeaderChange => "LEADER_CHANGE",
            ControlRecordType::SnapshotHeader => "SNAPSHOT_HEADER",
            ControlRecordType::SnapshotFooter => "SNAPSHOT_FOOTER",
            ControlRecordType::KRaftVersion => "KRAFT_VERSION",
            ControlRecordType::KRaftVoters => "KRAFT_VOTERS",
            ControlRecordType::Unknown(_) => "UNKNOWN",
        }
    }

    /// Whether the value is an [`EndTxnMarker`].
    pub fn is_txn_marker(self) -> bool {
        matches!(self, ControlRecordType::Abort | ControlRecordType::Commit)
    }
}

/// The key of a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRecord {
    /// Key version (0).
    pub version: i16,
    /// What the record marks.
    pub kind: ControlRecordType,
}

impl ControlRecord {
    /// Decodes a key. Bytes after the type are ignored, as Kafka does, so
    /// that later key versions still parse.
    pub fn decode(key: &Bytes) -> Result<ControlRecord, DecodeError> {
        ControlRecord::read(&mut Reader::new(key))
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<ControlRecord, DecodeError> {
        let version = r.i16()?;
        let kind = ControlRecordType::from_id(r.i16()?);
        Ok(ControlRecord { version, kind })
    }

    /// The encoded key.
    pub fn to_bytes(&self) -> Bytes {
        let mut w = BytesMut::with_capacity(4);
        w.put_i16(self.version);
        w.put_i16(self.kind.id());
        w.freeze()
    }
}

/// The value of an abort or commit control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    /// Value version (0).
    pub version: i16,
    /// Epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// Decodes a value. Bytes after the coordinator epoch are ignored.
    pub fn decode(value: &Bytes) -> Result<EndTxnMarker, DecodeError> {
        let mut r = Reader::new(value);
        Ok(EndTxnMarker {
            version: r.i16()?,
            coordinator_epoch: r.i32()?,
        })
    }

    /// The encoded value.
    pub fn to_bytes(&self) -> Bytes {
        let mut w = BytesMut::with_capacity(6);
        w.put_i16(self.version);
        w.put_i32(self.coordinator_epoch);
        w.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_marker_round_trip() {
        let key = ControlRecord {
            version: 0,
            kind: ControlRecordType::Commit,
        };
        assert_eq!(&key.to_bytes()[..], &[0, 0, 0, 1]);
        assert_eq!(ControlRecord::decode(&key.to_bytes()), Ok(key));
        let m = EndTxnMarker {
            version: 0,
            coordinator_epoch: 9,
        };
        assert_eq!(EndTxnMarker::decode(&m.to_bytes()), Ok(m));
        assert!(ControlRecord::decode(&Bytes::from_static(&[0, 0, 0])).is_err());
        assert_eq!(ControlRecordType::from_id(42).id(), 42);
    }
}
