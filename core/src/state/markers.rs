//! Writing transaction markers: the control batch that ends a producer's
//! transaction in one partition, as Kafka's partition leader appends it
//! for a WriteTxnMarkers request.
//!
//! A marker is one control record (key: version 0 and type, COMMIT 1 or
//! ABORT 0; value: version 0 and the coordinator epoch) in a batch with the
//! producer's id and epoch, no sequence, and the transactional and control
//! attributes set. The producer state checks it first
//! ([`Producers::check_marker`]) and records it after the append
//! ([`Producers::apply_marker`]); an abort's aborted-index entry also goes
//! to the store ([`Storage::index_aborted_txn`]).

use super::cluster::Cluster;
use super::leadership::Lead;
use super::producers::{Marker, Producers};
use super::Now;
use crate::protocol::ErrorCode;
use crate::records::{ControlRecord, ControlRecordType, EndTxnMarker};
use crate::records::{Record, RecordBatchBuilder};
use crate::storage::{BatchMeta, Storage, TopicPartition};

/// Appends the marker `m` to `tp`. Errors: UNKNOWN_TOPIC_OR_PARTITION,
/// NOT_LEADER_OR_FOLLOWER for a partition led by another broker (ZooKeeper
/// mode), the producer state's refusals, KAFKA_STORAGE_ERROR when the append
/// fails.
pub(crate) fn write<S: Storage>(
    storage: &mut S,
    cluster: &Cluster,
    producers: &mut Producers,
    tp: &TopicPartition,
    m: &Marker,
    now: Now,
) -> Result<(), ErrorCode> {
    let Some(t) = cluster.topics.get(&tp.topic) else {
        return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    };
    let leader_epoch = match cluster.lead_in(t, tp.partition) {
        Lead::Here(epoch) => epoch,
        // Only a partition's leader appends (ZooKeeper mode).
        Lead::Elsewhere { .. } => return Err(ErrorCode::NOT_LEADER_OR_FOLLOWER),
        Lead::Unknown => return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
    };
    let key = (t.id, tp.partition);
    producers.check_marker(key, m)?;
    let kind = if m.commit {
        ControlRecordType::Commit
    } else {
        ControlRecordType::Abort
    };
    let record_key = ControlRecord { version: 0, kind }.to_bytes();
    let value = EndTxnMarker {
        version: 0,
        coordinator_epoch: m.coordinator_epoch,
    }
    .to_bytes();
    let base = storage.end_offset(tp);
    let bytes = RecordBatchBuilder::new(base, now)
        .partition_leader_epoch(leader_epoch)
        .producer(m.producer_id, m.producer_epoch, -1)
        .transactional(true)
        .control(true)
        .record(Record::new(0, 0, Some(record_key), Some(value)))
        .build()
        .map_err(|_| ErrorCode::UNKNOWN_SERVER_ERROR)?;
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base,
        max_timestamp: now,
    };
    storage
        .append(tp, bytes, meta)
        .map_err(|_| ErrorCode::KAFKA_STORAGE_ERROR)?;
    if let Some(aborted) = producers.apply_marker(key, m, base, now) {
        // The marker is in the log and the broker's index has the entry;
        // a store that cannot index it rebuilds its files on recovery.
        let _ = storage.index_aborted_txn(tp, &aborted);
    }
    Ok(())
}
