//! TxnOffsetCommit (key 28): a transactional producer commits a group's
//! offsets as part of its transaction (`send_offsets_to_transaction`).
//!
//! # Versions
//!
//! 0-5, flexible from v3. v2 adds the committed leader epoch; v3 the
//! member id, group instance id and generation (KIP-447: the group checks
//! them as for OffsetCommit); v4 TRANSACTION_ABORTABLE; v5 is transaction
//! version 2, which adds the group's partition to the transaction itself
//! instead of relying on an earlier AddOffsetsToTxn.
//!
//! # Behaviour (Kafka's)
//!
//! The offsets are written to the group's partition of
//! `__consumer_offsets` in a transactional batch of the producer, and
//! count only once the transaction commits (a COMMIT marker there); an
//! abort drops them. Until then OffsetFetch with `require_stable` answers
//! UNSTABLE_OFFSET_COMMIT for them. Before v5 the group's partition must
//! already be in the transaction (KIP-890 part 1): if not,
//! TRANSACTION_ABORTABLE (INVALID_TXN_STATE before v4). A fenced producer gets INVALID_PRODUCER_EPOCH; an
//! empty group id INVALID_GROUP_ID; an unknown partition
//! UNKNOWN_TOPIC_OR_PARTITION; metadata over `offset.metadata.max.bytes`
//! OFFSET_METADATA_TOO_LARGE. The coordinator check is the group's (a
//! group not coordinated here is NOT_COORDINATOR), as Kafka's; in
//! ZooKeeper mode a transaction coordinated by another broker is not
//! verified before v5, as Kafka 2.x verifies nothing. In a cluster the
//! answer waits for the partition's followers, as an OffsetCommit's does
//! ([`super::replicated`]).

use bytestring::ByteString;

use crate::coordinator::group::records::partition_for;
use crate::coordinator::group::Committed;
use crate::protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequest;
use crate::protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponse, TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use crate::protocol::ErrorCode;
use crate::state::OFFSETS_TOPIC;
use crate::storage::{Storage, TopicPartition};

use super::authz::Checks;
use super::txn::{carry_out, TxnParts};
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// Runs a TxnOffsetCommit request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    p: &mut TxnParts<'_, S>,
    az: &Authorizer<'_>,
    req: TxnOffsetCommitRequest,
    appended: &mut Vec<TopicPartition>,
    written: &mut Option<(TopicPartition, i64)>,
) -> TxnOffsetCommitResponse {
    let v = ctx.version;
    let top = check(ctx, p, &req, appended);
    let max_meta = p.groups.config().offset_metadata_max_bytes;
    let mut codes: Vec<Vec<ErrorCode>> = Vec::new();
    let mut accepted: Vec<(ByteString, i32, Committed)> = Vec::new();
    for t in &req.topics {
        let mut row = Vec::new();
        // Kafka's check: READ on each topic (WRITE on the transactional id
        // and READ on the group are checked before, in `authz::gate`).
        let readable = az.topic(Operation::Read, &t.name);
        for part in &t.partitions {
            let code = if !readable {
                ErrorCode::TOPIC_AUTHORIZATION_FAILED
            } else if let Err(code) = top {
                code
            } else if p
                .cluster
                .partition_epoch(&t.name, part.partition_index)
                .is_none()
            {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            } else if part
                .committed_metadata
                .as_ref()
                .is_some_and(|m| m.len() > max_meta)
            {
                ErrorCode::OFFSET_METADATA_TOO_LARGE
            } else {
                accepted.push((
                    t.name.clone(),
                    part.partition_index,
                    Committed {
                        offset: part.committed_offset,
                        leader_epoch: if v >= 2 {
                            part.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: part.committed_metadata.clone().unwrap_or_default(),
                        commit_timestamp: ctx.now,
                        expire_timestamp: -1,
                    },
                ));
                ErrorCode::NONE
            };
            row.push(code);
        }
        codes.push(row);
    }
    if top.is_ok() && !accepted.is_empty() {
        let (generation, member, instance) = if v >= 3 {
            (
                req.generation_id,
                req.member_id.clone(),
                req.group_instance_id.clone(),
            )
        } else {
            (-1, ByteString::new(), None)
        };
        let partitions = p.groups.config().offsets_partitions;
        let tp = TopicPartition::new(OFFSETS_TOPIC, partition_for(&req.group_id, partitions));
        let base = p.storage.end_offset(&tp);
        let producer = (req.producer_id, req.producer_epoch);
        let d = p.groups.txn_commit_offsets(
            ctx.now,
            &req.group_id,
            &member,
            instance.as_deref(),
            generation,
            producer,
            accepted,
        );
        let s = p.groups.write(d, p.storage, ctx.now);
        let failed = match s.reply {
            Err(code) | Ok(Err(code)) => Some(code),
            Ok(Ok(())) => None,
        };
        match failed {
            Some(code) => {
                for row in &mut codes {
                    for c in row.iter_mut().filter(|c| **c == ErrorCode::NONE) {
                        *c = code;
                    }
                }
            }
            None => {
                appended.extend(s.written.iter().map(|(tp, _)| tp.clone()));
                *written = s.written;
                // The batch opened the producer's transaction in the
                // partition: its LSO waits for the marker.
                if let Some(t) = p.cluster.topics.get(OFFSETS_TOPIC) {
                    p.producers
                        .open_txn((t.id, tp.partition), producer.0, producer.1, base);
                }
            }
        }
    }
    TxnOffsetCommitResponse {
        topics: req
            .topics
            .iter()
            .zip(codes)
            .map(|(t, row)| TxnOffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .zip(row)
                    .map(|(part, code)| TxnOffsetCommitResponsePartition {
                        partition_index: part.partition_index,
                        error_code: code.code(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The checks for the whole request: the group id, the producer, and the
/// group's partition in the transaction (added here at v5).
fn check<S: Storage>(
    ctx: &Ctx,
    p: &mut TxnParts<'_, S>,
    req: &TxnOffsetCommitRequest,
    appended: &mut Vec<TopicPartition>,
) -> Result<(), ErrorCode> {
    if req.group_id.is_empty() {
        return Err(ErrorCode::INVALID_GROUP_ID);
    }
    if !p.cluster.topics.contains_key(OFFSETS_TOPIC) {
        return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE);
    }
    p.groups.coordinates(&req.group_id)?;
    let partitions = p.groups.config().offsets_partitions;
    let part = (
        ByteString::from(OFFSETS_TOPIC),
        partition_for(&req.group_id, partitions),
    );
    let (id, pid, epoch) = (&req.transactional_id, req.producer_id, req.producer_epoch);
    let r = if ctx.version >= 5 {
        p.txns
            .add_partitions(id, pid, epoch, &[part], 2, ctx.now)
            .and_then(|plan| carry_out(p, plan, ctx.now, appended))
    } else if p.txns.coordinates(id).is_err() {
        // The transaction is coordinated by another broker (ZooKeeper
        // mode): not verified, as Kafka 2.x's group coordinator does not.
        Ok(())
    } else {
        p.txns.verify(id, pid, epoch, &part)
    };
    r.map_err(|code| match code {
        ErrorCode::PRODUCER_FENCED | ErrorCode::INVALID_PRODUCER_ID_MAPPING => {
            ErrorCode::INVALID_PRODUCER_EPOCH
        }
        ErrorCode::TRANSACTION_ABORTABLE if ctx.version < 4 => ErrorCode::INVALID_TXN_STATE,
        other => other,
    })
}
