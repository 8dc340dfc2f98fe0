//! The records of `__transaction_state`, in Kafka's format.
//!
//! Key: a big-endian `int16` record type (0) and TransactionLogKey v0 (the
//! transactional id). Value: an `int16` version and TransactionLogValue of
//! that version; null is a tombstone (the id expired). Spate writes value
//! version 1, the flexible one Kafka 4 writes, whose tagged fields carry the
//! previous and next producer ids and the client's transaction version
//! (each only when it differs from its default, as Kafka's encoder does).

use crate::collections::Map;

use bytes::{BufMut, Bytes};
use bytestring::ByteString;

use super::{TxnMeta, TxnState};
use crate::protocol::messages::transaction_coordinator::transaction_log_key::TransactionLogKey;
use crate::protocol::messages::transaction_coordinator::transaction_log_value::{
    PartitionsSchema, TransactionLogValue,
};
use crate::protocol::{EncodeError, PrimArray, Reader, Wire, Writer};

/// The value version Spate writes.
const VALUE_VERSION: i16 = 1;

/// The partition of `__transaction_state` that holds `id`: Java's
/// `String.hashCode` made non-negative, modulo the partition count (the
/// same hash Kafka uses for groups).
pub(crate) fn partition_for(id: &str, partitions: i32) -> i32 {
    crate::coordinator::group::records::partition_for(id, partitions)
}

/// The key of `id`'s record.
pub(crate) fn key(id: &str) -> Result<Bytes, EncodeError> {
    let mut w = Writer::new();
    w.put_i16(0);
    TransactionLogKey {
        transactional_id: id.into(),
        ..Default::default()
    }
    .encode(&mut w, 0)?;
    Ok(w.freeze())
}

/// The value of `m`'s record.
pub(crate) fn value(m: &TxnMeta) -> Result<Bytes, EncodeError> {
    let mut by_topic: Map<&ByteString, Vec<i32>> = Map::new();
    for (t, p) in &m.partitions {
        by_topic.entry(t).or_default().push(*p);
    }
    let v = TransactionLogValue {
        producer_id: m.producer_id,
        previous_producer_id: m.prev_producer_id,
        next_producer_id: m.next_producer_id,
        producer_epoch: m.epoch,
        next_producer_epoch: -1,
        transaction_timeout_ms: m.timeout_ms,
        transaction_status: m.state.id(),
        transaction_partitions: Some(
            by_topic
                .into_iter()
                .map(|(t, ps)| PartitionsSchema {
                    topic: t.clone(),
                    partition_ids: PrimArray::from(ps),
                    ..Default::default()
                })
                .collect(),
        ),
        transaction_last_update_timestamp_ms: m.update_ms,
        transaction_start_timestamp_ms: m.start_ms,
        client_transaction_version: m.client_version,
        ..Default::default()
    };
    let mut w = Writer::new();
    w.put_i16(VALUE_VERSION);
    v.encode(&mut w, VALUE_VERSION)?;
    Ok(w.freeze())
}

/// Decodes a record: the transactional id and its metadata (`None`: a
/// tombstone). Records of other types or that do not decode give `None`.
pub(crate) fn decode(key: &Bytes, value: Option<&Bytes>) -> Option<(ByteString, Option<TxnMeta>)> {
    if key.len() < 2 || i16::from_be_bytes([key[0], key[1]]) != 0 {
        return None;
    }
    let body = key.slice(2..);
    let k = TransactionLogKey::decode(&mut Reader::new(&body), 0).ok()?;
    let Some(value) = value else {
        return Some((k.transactional_id, None));
    };
    if value.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([value[0], value[1]]);
    let body = value.slice(2..);
    let v = TransactionLogValue::decode(&mut Reader::new(&body), version).ok()?;
    let state = TxnState::from_id(v.transaction_status)?;
    let partitions = v
        .transaction_partitions
        .unwrap_or_default()
        .into_iter()
        .flat_map(|t| {
            let topic = t.topic;
            t.partition_ids
                .iter()
                .map(move |p| (topic.clone(), p))
                .collect::<Vec<_>>()
        })
        .collect();
    let meta = TxnMeta {
        id: k.transactional_id.clone(),
        producer_id: v.producer_id,
        prev_producer_id: v.previous_producer_id,
        next_producer_id: v.next_producer_id,
        epoch: v.producer_epoch,
        last_epoch: -1,
        timeout_ms: v.transaction_timeout_ms,
        state,
        partitions,
        start_ms: v.transaction_start_timestamp_ms,
        update_ms: v.transaction_last_update_timestamp_ms,
        client_version: v.client_transaction_version,
    };
    Some((k.transactional_id, Some(meta)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::Set;

    #[test]
    fn a_record_reads_back_as_written() {
        let m = TxnMeta {
            id: "tx".into(),
            producer_id: 7,
            prev_producer_id: 3,
            next_producer_id: -1,
            epoch: 2,
            last_epoch: -1,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: Set::from([("a".into(), 0), ("a".into(), 2), ("b".into(), 1)]),
            start_ms: 100,
            update_ms: 120,
            client_version: 2,
        };
        let k = key("tx").unwrap();
        let v = value(&m).unwrap();
        assert_eq!(decode(&k, Some(&v)), Some(("tx".into(), Some(m))));
        assert_eq!(decode(&k, None), Some(("tx".into(), None)));
        // Version 1 with default tagged fields writes none of them.
        let plain = TxnMeta {
            prev_producer_id: -1,
            client_version: 0,
            ..decode(&k, Some(&v)).unwrap().1.unwrap()
        };
        let bytes = value(&plain).unwrap();
        assert_eq!(*bytes.last().unwrap(), 0, "no tagged fields: {bytes:?}");
    }
}
