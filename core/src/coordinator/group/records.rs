//! The records of `__consumer_offsets`, in Kafka's format, so that Kafka's
//! tools can read a Spate log and the other way round.
//!
//! A record's key starts with a big-endian `int16` naming the record type
//! (before Kafka 4 this was called the key's version; the bytes are the
//! same), followed by the key struct; the value starts with an `int16`
//! version, followed by the value struct of that version:
//!
//! | key type | key                                       | value                                        |
//! |----------|-------------------------------------------|----------------------------------------------|
//! | 0, 1     | OffsetCommitKey (group, topic, partition) | OffsetCommitValue v0-4, null: offset deleted |
//! | 2        | GroupMetadataKey (group)                  | GroupMetadataValue v0-4, null: group deleted |
//!
//! KIP-848 consumer groups use types 3 (ConsumerGroupMetadata), 5
//! (ConsumerGroupMemberMetadata), 6 and 7 (the target assignment's epoch
//! and each member's share) and 8 (ConsumerGroupCurrentMemberAssignment),
//! with value version 0. Other types (share and streams groups) decode as
//! [`Entry::Other`], which a reader skips.
//!
//! Spate writes what Kafka 4 writes: OffsetCommitValue v3 (v1 when the
//! commit carries an explicit expiry, as only v1 can hold one) and
//! GroupMetadataValue v3.

use bytes::{BufMut, Bytes};
use bytestring::ByteString;

use crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_key::ConsumerGroupCurrentMemberAssignmentKey;
use crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_value::ConsumerGroupCurrentMemberAssignmentValue;
use crate::protocol::messages::group_coordinator::consumer_group_member_metadata_key::ConsumerGroupMemberMetadataKey;
use crate::protocol::messages::group_coordinator::consumer_group_member_metadata_value::ConsumerGroupMemberMetadataValue;
use crate::protocol::messages::group_coordinator::consumer_group_metadata_key::ConsumerGroupMetadataKey;
use crate::protocol::messages::group_coordinator::consumer_group_metadata_value::ConsumerGroupMetadataValue;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_member_key::ConsumerGroupTargetAssignmentMemberKey;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_member_value::ConsumerGroupTargetAssignmentMemberValue;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_metadata_key::ConsumerGroupTargetAssignmentMetadataKey;
use crate::protocol::messages::group_coordinator::consumer_group_target_assignment_metadata_value::ConsumerGroupTargetAssignmentMetadataValue;

use crate::protocol::messages::group_coordinator::group_metadata_key::GroupMetadataKey;
use crate::protocol::messages::group_coordinator::group_metadata_value::GroupMetadataValue;
use crate::protocol::messages::group_coordinator::offset_commit_key::OffsetCommitKey;
use crate::protocol::messages::group_coordinator::offset_commit_value::OffsetCommitValue;
use crate::protocol::{EncodeError, Reader, Wire, Writer};

/// One decoded `__consumer_offsets` record.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A committed offset, or its deletion (`None`).
    Offset(OffsetCommitKey, Option<OffsetCommitValue>),
    /// A group's metadata, or the group's deletion (`None`).
    Group(GroupMetadataKey, Option<GroupMetadataValue>),
    /// A record of a KIP-848 consumer group (`None` value: a tombstone).
    Consumer(ConsumerRecord),
    /// A record of a kind Spate does not keep (share and streams groups).
    Other,
}

/// The KIP-848 records: group, member id where the record is a member's,
/// and the value.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // read once per record at start
pub(crate) enum ConsumerRecord {
    Group(ByteString, Option<ConsumerGroupMetadataValue>),
    Member(
        ByteString,
        ByteString,
        Option<ConsumerGroupMemberMetadataValue>,
    ),
    TargetEpoch(
        ByteString,
        Option<ConsumerGroupTargetAssignmentMetadataValue>,
    ),
    Target(
        ByteString,
        ByteString,
        Option<ConsumerGroupTargetAssignmentMemberValue>,
    ),
    Current(
        ByteString,
        ByteString,
        Option<ConsumerGroupCurrentMemberAssignmentValue>,
    ),
}

pub(crate) fn keyed(kind: i16, key: &impl Wire) -> Result<Bytes, EncodeError> {
    versioned(kind, |w| key.encode(w, 0))
}

pub(crate) fn value0(value: &impl Wire) -> Result<Bytes, EncodeError> {
    versioned(0, |w| value.encode(w, 0))
}

fn decode_consumer(kind: i16, key: &Bytes, value: Option<&Bytes>) -> Option<ConsumerRecord> {
    fn val<T: Wire>(v: Option<&Bytes>) -> Option<Option<T>> {
        match v {
            None => Some(None),
            Some(v) if v.len() >= 2 => {
                let body = v.slice(2..);
                Some(Some(T::decode(&mut Reader::new(&body), 0).ok()?))
            }
            Some(_) => None,
        }
    }
    let mut r = Reader::new(key);
    Some(match kind {
        3 => {
            let k = ConsumerGroupMetadataKey::decode(&mut r, 0).ok()?;
            ConsumerRecord::Group(k.group_id, val(value)?)
        }
        5 => {
            let k = ConsumerGroupMemberMetadataKey::decode(&mut r, 0).ok()?;
            ConsumerRecord::Member(k.group_id, k.member_id, val(value)?)
        }
        6 => {
            let k = ConsumerGroupTargetAssignmentMetadataKey::decode(&mut r, 0).ok()?;
            ConsumerRecord::TargetEpoch(k.group_id, val(value)?)
        }
        7 => {
            let k = ConsumerGroupTargetAssignmentMemberKey::decode(&mut r, 0).ok()?;
            ConsumerRecord::Target(k.group_id, k.member_id, val(value)?)
        }
        8 => {
            let k = ConsumerGroupCurrentMemberAssignmentKey::decode(&mut r, 0).ok()?;
            ConsumerRecord::Current(k.group_id, k.member_id, val(value)?)
        }
        _ => return None,
    })
}

fn versioned(
    version: i16,
    body: impl FnOnce(&mut Writer) -> Result<(), EncodeError>,
) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    w.put_i16(version);
    body(&mut w)?;
    Ok(w.freeze())
}

/// A record's key and value (`None`: a tombstone).
pub(crate) type KeyValue = (Bytes, Option<Bytes>);

/// Key and value of a committed offset (`None` value: a tombstone).
pub(crate) fn offset_record(
    key: &OffsetCommitKey,
    value: Option<&OffsetCommitValue>,
) -> Result<KeyValue, EncodeError> {
    let k = versioned(1, |w| key.encode(w, 0))?;
    let v = value
        .map(|v| {
            let version = if v.expire_timestamp >= 0 { 1 } else { 3 };
            versioned(version, |w| v.encode(w, version))
        })
        .transpose()?;
    Ok((k, v))
}

/// Key and value of a group's metadata (`None` value: a tombstone).
pub(crate) fn group_record(
    group: &str,
    value: Option<&GroupMetadataValue>,
) -> Result<KeyValue, EncodeError> {
    let key = GroupMetadataKey {
        group: group.into(),
        ..Default::default()
    };
    let k = versioned(2, |w| key.encode(w, 0))?;
    let v = value
        .map(|v| versioned(3, |w| v.encode(w, 3)))
        .transpose()?;
    Ok((k, v))
}

/// Reads one record; `None` when it does not parse.
pub(crate) fn decode(key: &Bytes, value: Option<&Bytes>) -> Option<Entry> {
    let mut r = Reader::new(key);
    let kv = r.i16().ok()?;
    let key_body = key.slice(2..);
    let value_of = |v: &Bytes| -> Option<(i16, Bytes)> {
        let mut r = Reader::new(v);
        let version = r.i16().ok()?;
        Some((version, v.slice(2..)))
    };
    match kv {
        0 | 1 => {
            let k = OffsetCommitKey::decode(&mut Reader::new(&key_body), 0).ok()?;
            let v = match value {
                None => None,
                Some(v) => {
                    let (version, body) = value_of(v)?;
                    Some(OffsetCommitValue::decode(&mut Reader::new(&body), version.min(4)).ok()?)
                }
            };
            Some(Entry::Offset(k, v))
        }
        2 => {
            let k = GroupMetadataKey::decode(&mut Reader::new(&key_body), 0).ok()?;
            let v = match value {
                None => None,
                Some(v) => {
                    let (version, body) = value_of(v)?;
                    Some(GroupMetadataValue::decode(&mut Reader::new(&body), version.min(4)).ok()?)
                }
            };
            Some(Entry::Group(k, v))
        }
        3 | 5 | 6 | 7 | 8 => decode_consumer(kv, &key_body, value).map(Entry::Consumer),
        _ => Some(Entry::Other),
    }
}

/// The partition of `__consumer_offsets` that holds `group`: Java's
/// `String.hashCode` of the id, made non-negative as Kafka's `Utils.abs`
/// does, modulo the partition count.
pub(crate) fn partition_for(group: &str, partitions: i32) -> i32 {
    let mut h: i32 = 0;
    for unit in group.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_matches_kafka() {
        // Java's String.hashCode: "group" is 98629247, "gruppe-ü" 673522922,
        // and "g😀" 1871882 (the emoji counts as two UTF-16 units).
        assert_eq!(partition_for("", 50), 0);
        assert_eq!(partition_for("group", 50), 47);
        assert_eq!(partition_for("group", 7), 98_629_247 % 7);
        assert_eq!(partition_for("gruppe-ü", 50), 22);
        assert_eq!(partition_for("g😀", 50), 32);
        // "polygenelubricants" hashes to Integer.MIN_VALUE in Java: Kafka's
        // Utils.abs maps it to 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
    }

    #[test]
    fn records_round_trip() {
        let key = OffsetCommitKey {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
            ..Default::default()
        };
        let value = OffsetCommitValue {
            offset: 42,
            leader_epoch: 7,
            metadata: "m".into(),
            commit_timestamp: 1000,
            expire_timestamp: -1,
            ..Default::default()
        };
        let (k, v) = offset_record(&key, Some(&value)).unwrap();
        assert_eq!(&k[..2], &[0, 1]);
        assert_eq!(&v.as_ref().unwrap()[..2], &[0, 3]);
        match decode(&k, v.as_ref()) {
            Some(Entry::Offset(k2, Some(v2))) => {
                assert_eq!(k2, key);
                assert_eq!(v2.offset, 42);
                assert_eq!(v2.leader_epoch, 7);
            }
            other => panic!("{other:?}"),
        }
        let (k, v) = group_record("g", None).unwrap();
        assert!(v.is_none());
        assert!(matches!(decode(&k, None), Some(Entry::Group(_, None))));
        assert!(decode(&Bytes::from_static(&[0]), None).is_none());
        assert!(matches!(
            decode(&Bytes::from_static(&[0, 9, 0, 0]), None),
            Some(Entry::Other)
        ));
    }
}
