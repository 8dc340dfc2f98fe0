//! Carrying out the transaction coordinator's plans: its metadata goes to
//! `__transaction_state`, its markers to the partitions of the
//! transaction (a marker in `__consumer_offsets` also settles the offsets
//! the transaction committed there). Every transactional API's handler,
//! the broker's transaction timer and its start-up recovery go through
//! [`carry_out`].
//!
//! In ZooKeeper mode only a partition's leader writes its marker, and a
//! marker counts once it is in every ISR replica: every marker of the
//! plan is left to `coordinator::txn::remote` (written here by
//! `broker::markers` when this broker leads the partition, sent as
//! WriteTxnMarkers to its leader otherwise), and the rest of the plan
//! (the completion) waits for them all to be written and replicated, as
//! Kafka's coordinator sends every marker, its own partitions' too,
//! through WriteTxnMarkers with acks=-1. The client is answered once the
//! prepared state is written, as Kafka's EndTxn is; an InitProducerId
//! that had to abort an open transaction this way is
//! CONCURRENT_TRANSACTIONS, and the client retries, as with Kafka.

use bytestring::ByteString;

use crate::coordinator::group::GroupCoordinator;
use crate::coordinator::txn::{records, Markers, Plan, Step, TxnCoordinator};
use crate::protocol::ErrorCode;
use crate::state::cluster::Cluster;
use crate::state::internal_log;
use crate::state::leadership::Lead;
use crate::state::markers;
use crate::state::producers::{Marker, Producers};
use crate::state::{Now, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use crate::storage::{Storage, TopicPartition};

/// The parts of the broker a plan touches.
#[derive(Debug)]
pub(crate) struct TxnParts<'a, S> {
    pub storage: &'a mut S,
    pub cluster: &'a Cluster,
    pub producers: &'a mut Producers,
    pub groups: &'a mut GroupCoordinator,
    pub txns: &'a mut TxnCoordinator,
}

/// Carries out `plan` step by step and returns its reply, adding the
/// partitions that got markers to `appended` (fetches waiting on them may
/// read further now). A step that fails stops the plan: what was written
/// stays, the coordinator tries a prepared transaction's remaining steps
/// again later, and the caller gets NOT_COORDINATOR (a client then finds
/// the coordinator again and retries, as with Kafka).
pub(crate) fn carry_out<S: Storage, T>(
    p: &mut TxnParts<'_, S>,
    plan: Plan<T>,
    now: Now,
    appended: &mut Vec<TopicPartition>,
) -> Result<T, ErrorCode> {
    let mut steps = plan.steps.into_iter();
    while let Some(step) = steps.next() {
        match step {
            Step::Write(meta) => {
                let tp = p.txns.partition_of(&meta.id);
                let record = match (records::key(&meta.id), records::value(&meta)) {
                    (Ok(k), Ok(v)) => (Some(k), Some(v)),
                    _ => return Err(ErrorCode::UNKNOWN_SERVER_ERROR),
                };
                if internal_log::append(p.storage, &tp, &[record], now).is_err() {
                    p.txns.retry_later(&meta.id, now);
                    return Err(ErrorCode::NOT_COORDINATOR);
                }
                p.txns.written(meta);
            }
            Step::Remove(id) => {
                let tp = p.txns.partition_of(&id);
                let Ok(k) = records::key(&id) else {
                    return Err(ErrorCode::UNKNOWN_SERVER_ERROR);
                };
                if internal_log::append(p.storage, &tp, &[(Some(k), None)], now).is_err() {
                    p.txns.retry_removal(&id, now);
                    return Err(ErrorCode::NOT_COORDINATOR);
                }
                p.txns.removed(&id);
            }
            Step::Markers(m) => {
                // Until the prepared state is replicated, every marker
                // waits (led here or not).
                let after = unreplicated(p, &m.transactional_id);
                let remote = match after {
                    Some(_) => m.partitions.clone(),
                    // Each marker waits for its partition's followers.
                    None if p.cluster.config().zk() => m.partitions.clone(),
                    None => led_elsewhere(p.cluster, &m),
                };
                if let Err(code) = write_markers(p, &m, &remote, now, appended) {
                    p.txns.retry_later(&m.transactional_id, now);
                    return Err(code);
                }
                if !remote.is_empty() {
                    // The rest waits for the other brokers' markers.
                    let rest: Vec<Step> = steps.collect();
                    let Some(Step::Write(then)) = rest.first().cloned() else {
                        return Err(ErrorCode::UNKNOWN_SERVER_ERROR);
                    };
                    p.txns.defer(m, remote, then, now, after);
                    return match rest.len() {
                        1 => Ok(plan.reply),
                        _ => Err(ErrorCode::CONCURRENT_TRANSACTIONS),
                    };
                }
            }
        }
    }
    Ok(plan.reply)
}

/// The coordinator epoch markers carry: the leader epoch of the
/// transactional id's partition of `__transaction_state`.
pub(crate) fn coordinator_epoch(cluster: &Cluster, txns: &TxnCoordinator, id: &str) -> i32 {
    let tp = txns.partition_of(id);
    cluster
        .partition_epoch(TRANSACTION_STATE_TOPIC, tp.partition)
        .unwrap_or(0)
}

/// The partition of `__transaction_state` holding `id` and its log end,
/// when an ISR replica lacks part of it (ZooKeeper mode, followers
/// behind); `None` when all of it is replicated, or it is not led here.
fn unreplicated<S: Storage>(p: &TxnParts<'_, S>, id: &str) -> Option<(TopicPartition, i64)> {
    let tp = p.txns.partition_of(id);
    let end = p.storage.end_offset(&tp);
    match p.cluster.acks_all(&*p.storage, &tp, end) {
        None => Some((tp, end)),
        Some(_) => None,
    }
}

/// The partitions of `m` led by other brokers (ZooKeeper mode).
fn led_elsewhere(cluster: &Cluster, m: &Markers) -> Vec<(ByteString, i32)> {
    m.partitions
        .iter()
        .filter(|(t, p)| matches!(cluster.lead(t, *p), Lead::Elsewhere { .. }))
        .cloned()
        .collect()
}

/// The marker `m` carries, at the coordinator epoch of now.
pub(crate) fn marker_of(cluster: &Cluster, txns: &TxnCoordinator, m: &Markers) -> Marker {
    Marker {
        producer_id: m.producer_id,
        producer_epoch: m.epoch,
        coordinator_epoch: coordinator_epoch(cluster, txns, &m.transactional_id),
        commit: m.commit,
    }
}

/// Writes a transaction's markers but to the partitions in `remote`.
/// Partitions gone since (a topic deleted) and markers the partition
/// refuses as stale are skipped, as Kafka's marker channel drops them; a
/// storage failure stops.
fn write_markers<S: Storage>(
    p: &mut TxnParts<'_, S>,
    m: &Markers,
    remote: &[(ByteString, i32)],
    now: Now,
    appended: &mut Vec<TopicPartition>,
) -> Result<(), ErrorCode> {
    let marker = marker_of(p.cluster, p.txns, m);
    for (topic, partition) in m.partitions.iter().filter(|tp| !remote.contains(tp)) {
        let tp = TopicPartition::new(&**topic, *partition);
        match write_marker(
            p.storage,
            p.cluster,
            p.producers,
            p.groups,
            &tp,
            &marker,
            now,
        ) {
            Ok(()) => appended.push(tp),
            Err(
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                | ErrorCode::INVALID_PRODUCER_EPOCH
                | ErrorCode::TRANSACTION_COORDINATOR_FENCED,
            ) => {}
            Err(_) => return Err(ErrorCode::NOT_COORDINATOR),
        }
    }
    Ok(())
}

/// Writes one marker as a WriteTxnMarkers request does (Kafka appends it
/// with acks=-1): in ZooKeeper mode a partition with fewer replicas in
/// sync than its `min.insync.replicas` is NOT_ENOUGH_REPLICAS and gets
/// nothing. The log end after the marker, which the high watermark must
/// reach before the marker counts ([`Cluster::acks_all`]).
pub(crate) fn write_marker_acks_all<S: Storage>(
    storage: &mut S,
    cluster: &Cluster,
    producers: &mut Producers,
    groups: &mut GroupCoordinator,
    tp: &TopicPartition,
    marker: &Marker,
    now: Now,
) -> Result<i64, ErrorCode> {
    let min_isr = cluster
        .topics
        .get(&tp.topic)
        .map_or(1, |t| t.config.min_insync_replicas);
    let led_here = matches!(cluster.lead(&tp.topic, tp.partition), Lead::Here(_));
    if cluster.config().zk() && led_here && cluster.below_min_isr(tp, min_isr) {
        return Err(ErrorCode::NOT_ENOUGH_REPLICAS);
    }
    write_marker(storage, cluster, producers, groups, tp, marker, now)?;
    Ok(storage.end_offset(tp))
}

/// Writes one marker; in `__consumer_offsets` it also ends the
/// transaction's pending offsets there.
pub(crate) fn write_marker<S: Storage>(
    storage: &mut S,
    cluster: &Cluster,
    producers: &mut Producers,
    groups: &mut GroupCoordinator,
    tp: &TopicPartition,
    marker: &Marker,
    now: Now,
) -> Result<(), ErrorCode> {
    markers::write(storage, cluster, producers, tp, marker, now)?;
    if tp.topic == OFFSETS_TOPIC {
        groups.complete_txn(tp.partition, marker.producer_id, marker.commit);
    }
    Ok(())
}

/// PRODUCER_FENCED as a client of `version` understands it: versions
/// before `since` know only INVALID_PRODUCER_EPOCH.
pub(crate) fn fenced_for(code: ErrorCode, version: i16, since: i16) -> ErrorCode {
    if code == ErrorCode::PRODUCER_FENCED && version < since {
        ErrorCode::INVALID_PRODUCER_EPOCH
    } else {
        code
    }
}
