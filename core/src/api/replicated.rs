//! Answers that wait for the followers: an offset commit is acknowledged
//! once the records it wrote to `__consumer_offsets` are in every ISR
//! replica, as an acks=all Produce is (Kafka's `appendForGroup` with
//! `offsets.commit.required.acks` = -1, parked as a `DelayedProduce` for
//! at most `offsets.commit.timeout.ms`).
//!
//! On a single broker, or for a partition without followers, the high
//! watermark is the log end and the answer goes at once. In a cluster the
//! commit counts in the coordinator's memory from the append on (an
//! OffsetFetch on the same coordinator sees it), but the client hears of
//! it only once the followers have it, so a commit that was acknowledged
//! survives the coordinator's death: the follower made leader loads it
//! from its copy of the log.
//!
//! A commit whose wait ends badly gets Kafka's mapping of the append
//! error (`GroupMetadataManager.storeOffsets`): NOT_LEADER_OR_FOLLOWER
//! (leadership moved meanwhile) is NOT_COORDINATOR;
//! NOT_ENOUGH_REPLICAS_AFTER_APPEND and REQUEST_TIMED_OUT are
//! COORDINATOR_NOT_AVAILABLE. The client commits again, at the new
//! coordinator if there is one.

use super::produce::replicated;
use super::{Answering, Parked, Reply};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::cluster::Cluster;
use crate::state::Now;
use crate::storage::{Storage, TopicPartition};

/// A response to send once `tp`'s high watermark reaches `required`.
#[derive(Debug)]
pub(crate) struct ParkedAnswer {
    /// How to answer it.
    pub answering: Answering,
    /// When it is answered COORDINATOR_NOT_AVAILABLE.
    pub deadline: Now,
    tp: TopicPartition,
    required: i64,
    body: ResponseBody,
}

impl ParkedAnswer {
    /// The partition it waits on.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        vec![self.tp.clone()]
    }
}

/// Answers `body` now when `written` (the partition and its log end after
/// the request's records) is already acknowledged, or parks it until
/// then, for at most `timeout_ms`. Nothing written: answered now.
pub(crate) fn answer_when_replicated<S: Storage>(
    cluster: &Cluster,
    storage: &S,
    answering: Answering,
    now: Now,
    timeout_ms: i64,
    written: Option<(TopicPartition, i64)>,
    body: ResponseBody,
) -> Reply {
    let Some((tp, required)) = written else {
        return Reply::Response(body);
    };
    let parked = ParkedAnswer {
        answering,
        deadline: now.saturating_add(timeout_ms),
        tp,
        required,
        body,
    };
    resume(cluster, storage, parked, false)
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
    let code = match replicated(cluster, storage, &parked.tp, parked.required) {
        Some(code) => code,
        None if expired => ErrorCode::REQUEST_TIMED_OUT,
        None => return Reply::Park(Parked::Answer(Box::new(parked))),
    };
    let code = match code {
        ErrorCode::NONE => return Reply::Response(parked.body),
        ErrorCode::NOT_LEADER_OR_FOLLOWER => ErrorCode::NOT_COORDINATOR,
        _ => ErrorCode::COORDINATOR_NOT_AVAILABLE,
    };
    fail(&mut parked.body, code);
    Reply::Response(parked.body)
}

/// Sets every partition of a commit's response that succeeded to `code`.
fn fail(body: &mut ResponseBody, code: ErrorCode) {
    let ok = ErrorCode::NONE.code();
    match body {
        ResponseBody::OffsetCommit(r) => {
            for p in r.topics.iter_mut().flat_map(|t| &mut t.partitions) {
                if p.error_code == ok {
                    p.error_code = code.code();
                }
            }
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
