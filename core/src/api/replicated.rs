//! Answers that wait for the followers: an offset commit is acknowledged
//! once the records it wrote to `__consumer_offsets` are in every ISR
//! replica, as an acks=all Produce is (Kafka's `appendForGroup` with
//! `offsets.commit.required.acks` = -1, parked as a `DelayedProduce` for
//! at most `offsets.commit.timeout.ms`); so are the transaction
//! coordinator's answers (InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn, EndTxn) once the transaction's partition of
//! `__transaction_state` is (Kafka's `appendTransactionToLog`, acks=-1,
//! for at most `request.timeout.ms`); and so are the SyncGroup answers
//! of a group whose metadata the leader's SyncGroup wrote (Kafka's
//! `storeGroup`, acks=-1 for at most `offsets.commit.timeout.ms`, its
//! errors mapped as [`super::sync_group`] says, the group told of a
//! failure by [`resume_answer`]).
//!
//! On a single broker, or for a partition without followers, the high
//! watermark is the log end and the answer goes at once. In a cluster the
//! commit counts in the coordinator's memory from the append on (an
//! OffsetFetch on the same coordinator sees it), but the client hears of
//! it only once the followers have it, so a commit that was acknowledged
//! survives the coordinator's death: the follower made leader loads it
//! from its copy of the log.
//!
//! A WriteTxnMarkers answer waits the same way, each partition for its
//! own marker (Kafka appends markers with acks=-1 for at most
//! `request.timeout.ms`), and each gets the error its own wait ended with
//! (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
//! REQUEST_TIMED_OUT), unmapped, as Kafka's `DelayedProduce` sets them.
//!
//! A commit whose wait ends badly gets Kafka's mapping of the append
//! error (`GroupMetadataManager.storeOffsets`): NOT_LEADER_OR_FOLLOWER
//! (leadership moved meanwhile) is NOT_COORDINATOR;
//! NOT_ENOUGH_REPLICAS_AFTER_APPEND and REQUEST_TIMED_OUT are
//! COORDINATOR_NOT_AVAILABLE. The client commits again, at the new
//! coordinator if there is one.

use bytestring::ByteString;

use super::txn::TxnParts;
use super::{Answering, Ctx, Handled, Parked, Reply};
use crate::coordinator::group::GroupStore;
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::cluster::Cluster;
use crate::state::Now;
use crate::storage::{Storage, TopicPartition};

/// A response to send once the high watermark of each partition it
/// waits on reaches the offset beside it.
#[derive(Debug)]
pub(crate) struct ParkedAnswer {
    /// How to answer it.
    pub answering: Answering,
    /// When it is answered with the timeout's error.
    pub deadline: Now,
    pub(super) waits: Vec<Wait>,
    pub(super) body: ResponseBody,
    /// The group metadata record a SyncGroup answer waits for (Kafka's
    /// `storeGroup`), whose failure maps errors its own way and resets the
    /// group; `None` for offset commits and transaction answers.
    pub(super) store: Option<GroupStore>,
}

/// One partition a parked answer waits on.
#[derive(Debug)]
pub(crate) struct Wait {
    pub tp: TopicPartition,
    /// The high watermark to reach (one past the records written).
    pub required: i64,
    /// Where its own outcome goes in a WriteTxnMarkers answer (marker,
    /// topic, partition); `None` for the other answers, which one
    /// failed wait fails as a whole.
    pub place: Option<[usize; 3]>,
}

impl From<(TopicPartition, i64)> for Wait {
    fn from((tp, required): (TopicPartition, i64)) -> Wait {
        Wait {
            tp,
            required,
            place: None,
        }
    }
}

impl ParkedAnswer {
    /// The partitions it waits on.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.waits.iter().map(|w| w.tp.clone()).collect()
    }
}

/// Answers `body` now when every partition of `written` (each with its
/// log end after the request's records) is already acknowledged, or
/// parks it until then, for at most `timeout_ms`. Nothing written:
/// answered now.
pub(crate) fn answer_when_replicated<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    answering: Answering,
    now: Now,
    timeout_ms: i64,
    written: impl IntoIterator<Item = impl Into<Wait>>,
    body: ResponseBody,
) -> Reply {
    let waits: Vec<Wait> = written.into_iter().map(Into::into).collect();
    if waits.is_empty() {
        return Reply::Response(body);
    }
    let parked = ParkedAnswer {
        answering,
        deadline: now.saturating_add(timeout_ms),
        waits,
        body,
        store: None,
    };
    resume(cluster, storage, parked, false)
}

/// The partitions of `__transaction_state` holding `ids`, each with its
/// log end, where an ISR replica lacks part of it: what a transaction
/// coordinator's answer waits for (nothing on a single broker, or for a
/// partition not led here, whose answer says so already).
pub(crate) fn unreplicated_txn_logs<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    txns: &crate::coordinator::txn::TxnCoordinator,
    ids: impl IntoIterator<Item = impl AsRef<str>>,
) -> Vec<(TopicPartition, i64)> {
    let mut waits: Vec<(TopicPartition, i64)> = Vec::new();
    for id in ids {
        let tp = txns.partition_of(id.as_ref());
        let end = storage.end_offset(&tp);
        if cluster.acks_all(storage, &tp, end).is_none() && !waits.iter().any(|(t, _)| *t == tp) {
            waits.push((tp, end));
        }
    }
    waits
}

/// Checks a parked answer again: sends it when its records are
/// acknowledged (or with the mapped error when the wait failed or,
/// `expired`, timed out); parks it again otherwise.
pub(crate) fn resume<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    mut parked: ParkedAnswer,
    expired: bool,
) -> Reply {
    let mut code = ErrorCode::NONE;
    let mut waiting = Vec::new();
    for w in std::mem::take(&mut parked.waits) {
        let c = match cluster.acks_all(storage, &w.tp, w.required) {
            Some(c) => c,
            None if expired => ErrorCode::REQUEST_TIMED_OUT,
            None => {
                waiting.push(w);
                continue;
            }
        };
        match w.place {
            Some(at) => set_marker_error(&mut parked.body, at, c),
            None if c != ErrorCode::NONE => code = c,
            None => {}
        }
    }
    if code == ErrorCode::NONE && !waiting.is_empty() {
        parked.waits = waiting;
        return Reply::Park(Parked::Answer(Box::new(parked)));
    }
    let code = match (code, &parked.store) {
        (ErrorCode::NONE, _) => return Reply::Response(parked.body),
        (c, Some(_)) => store_error(c),
        (ErrorCode::NOT_LEADER_OR_FOLLOWER, None) => ErrorCode::NOT_COORDINATOR,
        (_, None) => ErrorCode::COORDINATOR_NOT_AVAILABLE,
    };
    fail(&mut parked.body, code);
    Reply::Response(parked.body)
}

/// Tries a parked answer again, as [`resume`] does; a SyncGroup's
/// answer then tells the group coordinator how its group's store ended
/// (forgotten when replicated, the group reset when it failed).
pub(crate) fn resume_answer<S: Storage>(
    parts: super::Parts<'_, S>,
    now: Now,
    parked: ParkedAnswer,
    expired: bool,
) -> Handled {
    let store = parked.store.clone();
    let reply = resume(parts.cluster, &*parts.storage, parked, expired);
    let ok = ErrorCode::NONE.code();
    match (store, &reply) {
        (None, _) | (_, Reply::Park(_)) => Handled::reply(reply),
        (Some(store), Reply::Response(ResponseBody::SyncGroup(r))) if r.error_code == ok => {
            parts.groups.stored(&store);
            Handled::reply(reply)
        }
        (Some(store), _) => Handled::group(parts.groups.store_failed(&store, now), |_| reply),
    }
}

/// Sets the error of partition `[marker, topic, partition]` of a
/// WriteTxnMarkers answer.
fn set_marker_error(body: &mut ResponseBody, [m, t, p]: [usize; 3], code: ErrorCode) {
    if let ResponseBody::WriteTxnMarkers(r) = body {
        let part = (r.markers.get_mut(m))
            .and_then(|x| x.topics.get_mut(t))
            .and_then(|x| x.partitions.get_mut(p));
        if let Some(part) = part {
            part.error_code = code.code();
        }
    }
}

/// Sets every part of a response that succeeded to `code`.
pub(super) fn fail(body: &mut ResponseBody, code: ErrorCode) {
    let ok = ErrorCode::NONE.code();
    let set = |c: &mut i16| {
        if *c == ok {
            *c = code.code();
        }
    };
    match body {
        ResponseBody::InitProducerId(r) if r.error_code == ok => {
            r.error_code = code.code();
            r.producer_id = -1;
            r.producer_epoch = -1;
        }
        ResponseBody::AddOffsetsToTxn(r) => set(&mut r.error_code),
        ResponseBody::EndTxn(r) => set(&mut r.error_code),
        ResponseBody::AddPartitionsToTxn(r) => {
            let v3 = r.results_by_topic_v3_and_below.iter_mut();
            let v4 = r
                .results_by_transaction
                .iter_mut()
                .flat_map(|t| &mut t.topic_results);
            for t in v3.chain(v4) {
                for p in &mut t.results_by_partition {
                    set(&mut p.partition_error_code);
                }
            }
        }
        ResponseBody::OffsetCommit(r) => {
            for p in r.topics.iter_mut().flat_map(|t| &mut t.partitions) {
                if p.error_code == ok {
                    p.error_code = code.code();
                }
            }
        }
        ResponseBody::SyncGroup(r) if r.error_code == ok => {
            r.error_code = code.code();
            r.protocol_type = None;
            r.protocol_name = None;
            r.assignment = Default::default();
        }
        ResponseBody::TxnOffsetCommit(r) => {
            for p in r.topics.iter_mut().flat_map(|t| &mut t.partitions) {
                if p.error_code == ok {
                    p.error_code = code.code();
                }
            }
        }
        _ => {}
    }
}

/// A transaction coordinator's answer, sent once the partitions of
/// `__transaction_state` holding `ids` are in every ISR replica
/// ([`Cluster::acks_all`]), with what it appended.
pub(crate) fn txn_answer<S: Storage>(
    tp: &TxnParts<'_, S>,
    ctx: &Ctx<'_>,
    answering: Answering,
    ids: &[ByteString],
    body: ResponseBody,
    appended: Vec<TopicPartition>,
) -> Handled {
    let waits = unreplicated_txn_logs(tp.cluster, &*tp.storage, tp.txns, ids);
    let timeout = tp.txns.config().request_timeout_ms;
    let reply = answer_when_replicated(
        tp.cluster,
        &*tp.storage,
        answering,
        ctx.now,
        timeout,
        waits,
        body,
    );
    Handled {
        appended,
        ..Handled::reply(reply)
    }
}

/// Kafka's `storeGroup` mapping of an append error to what the members'
/// SyncGroups are answered.
pub(crate) fn store_error(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        | ErrorCode::NOT_ENOUGH_REPLICAS
        | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND => ErrorCode::COORDINATOR_NOT_AVAILABLE,
        ErrorCode::NOT_LEADER_OR_FOLLOWER | ErrorCode::KAFKA_STORAGE_ERROR => {
            ErrorCode::NOT_COORDINATOR
        }
        ErrorCode::REQUEST_TIMED_OUT => ErrorCode::REBALANCE_IN_PROGRESS,
        ErrorCode::MESSAGE_TOO_LARGE
        | ErrorCode::RECORD_LIST_TOO_LARGE
        | ErrorCode::INVALID_FETCH_SIZE => ErrorCode::UNKNOWN_SERVER_ERROR,
        other => other,
    }
}
