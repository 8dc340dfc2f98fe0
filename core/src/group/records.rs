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
//! Types 3 and above belong to KIP-848 consumer groups, share groups and
//! streams groups; [`decode`] reports them as [`Entry::Other`] so a reader
//! skips them.
//!
//! Spate writes what Kafka 4 writes: OffsetCommitValue v3 (v1 when the
//! commit carries an explicit expiry, as only v1 can hold one) and
//! GroupMetadataValue v3.

use bytes::{BufMut, Bytes};

use crate::protocol::messages::group_coordinator::group_metadata_key::GroupMetadataKey;
use crate::protocol::messages::group_coordinator::group_metadata_value::GroupMetadataValue;
use crate::protocol::messages::group_coordinator::offset_commit_key::OffsetCommitKey;
use crate::protocol::messages::group_coordinator::offset_commit_value::OffsetCommitValue;
use crate::protocol::{Reader, Wire, Writer};

/// One decoded `__consumer_offsets` record.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A committed offset, or its deletion (`None`).
    Offset(OffsetCommitKey, Option<OffsetCommitValue>),
    /// A group's metadata, or the group's deletion (`None`).
    Group(GroupMetadataKey, Option<GroupMetadataValue>),
    /// A record of a kind Spate does not keep (KIP-848, share groups).
    Other,
}

fn versioned(version: i16, body: impl FnOnce(&mut Writer)) -> Bytes {
    let mut w = Writer::new();
    w.put_i16(version);
    body(&mut w);
    w.freeze()
}

/// Key and value of a committed offset (`None` value: a tombstone).
pub(crate) fn offset_record(
    key: &OffsetCommitKey,
    value: Option<&OffsetCommitValue>,
) -> (Bytes, Option<Bytes>) {
    // Encoding a struct the coordinator built cannot fail at these versions.
    let k = versioned(1, |w| {
        let _ = key.encode(w, 0);
    });
    let v = value.map(|v| {
        let version = if v.expire_timestamp >= 0 { 1 } else { 3 };
        versioned(version, |w| {
            let _ = v.encode(w, version);
        })
    });
    (k, v)
}

/// Key and value of a group's metadata (`None` value: a tombstone).
pub(crate) fn group_record(
    group: &str,
    value: Option<&GroupMetadataValue>,
) -> (Bytes, Option<Bytes>) {
    let key = GroupMetadataKey {
        group: group.into(),
        ..Default::default()
    };
    let k = versioned(2, |w| {
        let _ = key.encode(w, 0);
    });
    let v = value.map(|v| {
        versioned(3, |w| {
            let _ = v.encode(w, 3);
        })
    });
    (k, v)
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
        // Java: Math.abs("my-group".hashCode()) % 50 and friends, computed by hand
        // from the String.hashCode definition.
        assert_eq!(partition_for("", 50), 0);
        let h = "group"
            .chars()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32));
        assert_eq!(partition_for("group", 50), h.abs() % 50);
        // Non-ASCII ids hash their UTF-16 units.
        assert!(partition_for("gruppe-ü", 50) < 50);
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
        let (k, v) = offset_record(&key, Some(&value));
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
        let (k, v) = group_record("g", None);
        assert!(v.is_none());
        assert!(matches!(decode(&k, None), Some(Entry::Group(_, None))));
        assert!(decode(&Bytes::from_static(&[0]), None).is_none());
        assert!(matches!(
            decode(&Bytes::from_static(&[0, 9, 0, 0]), None),
            Some(Entry::Other)
        ));
    }
}
