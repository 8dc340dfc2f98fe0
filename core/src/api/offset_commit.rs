//! OffsetCommit (key 8): a group records how far it has consumed.
//!
//! # Versions
//!
//! - v0: no generation or member (a commit from outside any rebalance).
//! - v1: generation and member id, and a per-partition commit timestamp.
//! - v2-4: a retention time (an explicit expiry; -1 means the broker's
//!   `offsets.retention.minutes`); v5 drops it.
//! - v6+: the committed leader epoch. v7+: `group_instance_id`.
//! - v8+ flexible. (v10, topic ids, is unstable in Kafka 4.1 and not served.)
//!
//! # Behaviour (Kafka's)
//!
//! An empty group id is INVALID_GROUP_ID. A commit to a group that does not
//! exist creates it when the generation is negative (a "simple" consumer
//! managing its own offsets) and is ILLEGAL_GENERATION otherwise. For an
//! existing group the checks of [`crate::coordinator::group::classic`]'s
//! `validate_commit` apply. Per partition: an unknown topic or partition is
//! UNKNOWN_TOPIC_OR_PARTITION, metadata over `offset.metadata.max.bytes` is
//! OFFSET_METADATA_TOO_LARGE. The rest are written to `__consumer_offsets`
//! as one batch before the response is sent; when they cannot be, they are
//! NOT_COORDINATOR (Kafka's answer for a failed append) and nothing is
//! committed. In a cluster the answer waits for the partition's followers
//! (see [`super::replicated`]).

use bytestring::ByteString;

use crate::coordinator::group::{Committed, GroupCoordinator};
use crate::protocol::messages::offset_commit_request::OffsetCommitRequest;
use crate::protocol::messages::offset_commit_response::{
    OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use crate::protocol::{ErrorCode, ResponseBody};
use crate::state::controller::Controller;
use crate::storage::Storage;

use super::authz::Checks;
use super::replicated::answer_when_replicated;
use super::{Answering, Ctx, Handled, Reply};
use crate::security::acl::{Authorizer, Operation};

/// Runs an OffsetCommit request.
pub(crate) fn handle<S: Storage>(
    ctx: &Ctx,
    answering: Answering,
    groups: &mut GroupCoordinator,
    mut ctl: Controller<'_, S>,
    az: &Authorizer<'_>,
    req: OffsetCommitRequest,
) -> Handled {
    let v = ctx.version;
    let (generation, member) = if v >= 1 {
        (req.generation_id_or_member_epoch, req.member_id.clone())
    } else {
        (-1, ByteString::new())
    };
    let instance = if v >= 7 {
        req.group_instance_id.as_deref()
    } else {
        None
    };
    let top = if req.group_id.is_empty() {
        Err(ErrorCode::INVALID_GROUP_ID)
    } else {
        ctl.ensure_offsets_topic(ctx.now)
            .and_then(|()| groups.validate_commit(&req.group_id, &member, instance, generation))
    };
    let mut codes: Vec<Vec<ErrorCode>> = Vec::new();
    let mut accepted: Vec<(ByteString, i32, Committed)> = Vec::new();
    let max_meta = groups.config().offset_metadata_max_bytes;
    for t in &req.topics {
        let mut row = Vec::new();
        // Kafka's check: READ on each topic (READ on the group is checked
        // before, in `authz::gate`).
        let readable = az.topic(Operation::Read, &t.name);
        for p in &t.partitions {
            let code = if !readable {
                ErrorCode::TOPIC_AUTHORIZATION_FAILED
            } else if let Err(code) = top {
                code
            } else if ctl
                .cluster
                .partition_epoch(&t.name, p.partition_index)
                .is_none()
            {
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
            } else if p
                .committed_metadata
                .as_ref()
                .is_some_and(|m| m.len() > max_meta)
            {
                ErrorCode::OFFSET_METADATA_TOO_LARGE
            } else {
                let commit_timestamp = if v == 1 && p.commit_timestamp != -1 {
                    p.commit_timestamp
                } else {
                    ctx.now
                };
                let expire_timestamp = if (2..=4).contains(&v) && req.retention_time_ms != -1 {
                    ctx.now + req.retention_time_ms
                } else {
                    -1
                };
                accepted.push((
                    t.name.clone(),
                    p.partition_index,
                    Committed {
                        offset: p.committed_offset,
                        leader_epoch: if v >= 6 { p.committed_leader_epoch } else { -1 },
                        metadata: p.committed_metadata.clone().unwrap_or_default(),
                        commit_timestamp,
                        expire_timestamp,
                    },
                ));
                ErrorCode::NONE
            };
            row.push(code);
        }
        codes.push(row);
    }
    let body = |codes: Vec<Vec<ErrorCode>>| ResponseBody::OffsetCommit(response(&req, codes));
    let respond = |codes: Vec<Vec<ErrorCode>>| Reply::Response(body(codes));
    if top.is_err() {
        return Handled::reply(respond(codes));
    }
    let d = groups.commit_offsets(
        ctx.now,
        &req.group_id,
        &member,
        instance,
        generation,
        accepted,
    );
    let s = groups.write(d, ctl.storage, ctx.now);
    let written = s.written.clone();
    let timeout = groups.config().offsets_commit_timeout_ms;
    Handled::group(s, |r| {
        // The group's verdict, or the append's failure, goes to every
        // partition that was not refused on its own.
        if let Err(code) | Ok(Err(code)) = r {
            for row in &mut codes {
                for c in row.iter_mut().filter(|c| **c == ErrorCode::NONE) {
                    *c = code;
                }
            }
            return respond(codes);
        }
        answer_when_replicated(
            ctl.cluster,
            &*ctl.storage,
            answering,
            ctx.now,
            timeout,
            written,
            body(codes),
        )
    })
}

fn response(req: &OffsetCommitRequest, codes: Vec<Vec<ErrorCode>>) -> OffsetCommitResponse {
    OffsetCommitResponse {
        throttle_time_ms: 0,
        topics: req
            .topics
            .iter()
            .zip(codes)
            .map(|(t, row)| OffsetCommitResponseTopic {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .zip(row)
                    .map(|(p, code)| OffsetCommitResponsePartition {
                        partition_index: p.partition_index,
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
