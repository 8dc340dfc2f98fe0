//! OffsetFetch (key 9): read a group's committed offsets.
//!
//! # Versions
//!
//! - v0-1: named partitions of one group; errors only per partition.
//! - v2+: a null topic list means every committed offset; a top-level error.
//! - v5+: the committed leader epoch. v7+: `require_stable`: a partition
//!   whose offset an open transaction has committed (TxnOffsetCommit, not
//!   yet ended) answers UNSTABLE_OFFSET_COMMIT with offset -1, so that a
//!   consumer waits for the transaction instead of reading an offset about
//!   to change.
//! - v8+: several groups at once, each with its own error.
//! - v9+: member id and epoch, checked only for KIP-848 groups.
//!
//! A partition without a committed offset answers offset -1 and empty
//! metadata with no error, as does any partition of an unknown group.
//!
//! With an authorizer, as Kafka: a group the caller may not DESCRIBE is
//! GROUP_AUTHORIZATION_FAILED; a named topic it may not DESCRIBE answers
//! offset -1 and TOPIC_AUTHORIZATION_FAILED, and a request for every
//! committed offset leaves such topics out.

use bytestring::ByteString;

use crate::coordinator::group::{Group, GroupCoordinator};
use crate::protocol::messages::offset_fetch_request::OffsetFetchRequest;
use crate::protocol::messages::offset_fetch_response::{
    OffsetFetchResponse, OffsetFetchResponseGroup, OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions, OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use crate::protocol::ErrorCode;

use super::authz::Checks;
use super::Ctx;
use crate::security::acl::{Authorizer, Operation};

/// One partition's answer: offset, leader epoch, metadata.
type Row = (i32, i64, i32, ByteString, ErrorCode);

/// Runs an OffsetFetch request.
pub(crate) fn handle(
    ctx: &Ctx,
    groups: &GroupCoordinator,
    az: &Authorizer<'_>,
    req: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let v = ctx.version;
    let epoch = |e: i32| if v >= 5 { e } else { -1 };
    if v >= 8 {
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.clone(), t.partition_indexes.to_vec()))
                        .collect()
                });
                let (mut code, mut found) =
                    fetch(groups, az, &g.group_id, topics, req.require_stable);
                if let (Some(member), Some(Group::Consumer(c))) =
                    (g.member_id.as_ref(), groups.group(&g.group_id))
                {
                    // v9+: a KIP-848 member names itself and its epoch.
                    if let Err(e) = c.validate_member_epoch(member, g.member_epoch) {
                        code = e;
                        found.clear();
                    }
                }
                OffsetFetchResponseGroup {
                    group_id: g.group_id.clone(),
                    error_code: code.code(),
                    topics: found
                        .into_iter()
                        .map(|(name, rows)| OffsetFetchResponseTopics {
                            name,
                            partitions: rows
                                .into_iter()
                                .map(|(p, offset, e, meta, c)| OffsetFetchResponsePartitions {
                                    partition_index: p,
                                    committed_offset: offset,
                                    committed_leader_epoch: e,
                                    metadata: Some(meta),
                                    error_code: c.code(),
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }
            })
            .collect();
        return OffsetFetchResponse {
            groups,
            ..Default::default()
        };
    }
    let topics = match (&req.topics, v) {
        (None, 2..) => None,
        (None, _) => Some(Vec::new()),
        (Some(ts), _) => Some(
            ts.iter()
                .map(|t| (t.name.clone(), t.partition_indexes.to_vec()))
                .collect(),
        ),
    };
    let stable = v >= 7 && req.require_stable;
    let (code, found) = fetch(groups, az, &req.group_id, topics, stable);
    // Before v2 there is no top-level error: it goes to every partition.
    let partition_code = if v < 2 { code } else { ErrorCode::NONE };
    OffsetFetchResponse {
        throttle_time_ms: 0,
        error_code: if v >= 2 { code.code() } else { 0 },
        topics: found
            .into_iter()
            .map(|(name, rows)| OffsetFetchResponseTopic {
                name,
                partitions: rows
                    .into_iter()
                    .map(|(p, offset, e, meta, c)| OffsetFetchResponsePartition {
                        partition_index: p,
                        committed_offset: offset,
                        committed_leader_epoch: epoch(e),
                        metadata: Some(meta),
                        error_code: if c == ErrorCode::NONE {
                            partition_code.code()
                        } else {
                            c.code()
                        },
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The offsets of one group: the named partitions, or every committed one.
fn fetch(
    groups: &GroupCoordinator,
    az: &Authorizer<'_>,
    group_id: &ByteString,
    topics: Option<Vec<(ByteString, Vec<i32>)>>,
    require_stable: bool,
) -> (ErrorCode, Vec<(ByteString, Vec<Row>)>) {
    let refused = if !az.group(Operation::Describe, group_id) {
        Err(ErrorCode::GROUP_AUTHORIZATION_FAILED)
    } else if group_id.is_empty() {
        Err(ErrorCode::INVALID_GROUP_ID)
    } else {
        groups.coordinates(group_id)
    };
    if let Err(code) = refused {
        let rows = topics
            .unwrap_or_default()
            .into_iter()
            .map(|(t, ps)| {
                let rows = ps
                    .into_iter()
                    .map(|p| (p, -1, -1, "".into(), ErrorCode::NONE));
                (t, rows.collect())
            })
            .collect();
        return (code, rows);
    }
    let offsets = groups.offsets(group_id);
    let unstable = |t: &str, p: i32| require_stable && groups.has_pending(group_id, t, p);
    let lookup = |t: &ByteString, p: i32| -> Row {
        if !az.topic(Operation::Describe, t) {
            return (p, -1, -1, "".into(), ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        }
        if unstable(t, p) {
            return (p, -1, -1, "".into(), ErrorCode::UNSTABLE_OFFSET_COMMIT);
        }
        match offsets.and_then(|o| o.get(&(t.clone(), p))) {
            Some(c) => (
                p,
                c.offset,
                c.leader_epoch,
                c.metadata.clone(),
                ErrorCode::NONE,
            ),
            None => (p, -1, -1, "".into(), ErrorCode::NONE),
        }
    };
    let found = match topics {
        Some(ts) => ts
            .into_iter()
            .map(|(t, ps)| {
                let rows = ps.into_iter().map(|p| lookup(&t, p)).collect();
                (t, rows)
            })
            .collect(),
        None => {
            let mut out: Vec<(ByteString, Vec<Row>)> = Vec::new();
            if let Some(o) = offsets {
                for ((t, p), c) in o {
                    if !az.topic(Operation::Describe, t) {
                        continue;
                    }
                    let row = if unstable(t, *p) {
                        (*p, -1, -1, "".into(), ErrorCode::UNSTABLE_OFFSET_COMMIT)
                    } else {
                        (
                            *p,
                            c.offset,
                            c.leader_epoch,
                            c.metadata.clone(),
                            ErrorCode::NONE,
                        )
                    };
                    match out.last_mut() {
                        Some((name, rows)) if name == t => rows.push(row),
                        _ => out.push((t.clone(), vec![row])),
                    }
                }
            }
            out
        }
    };
    (ErrorCode::NONE, found)
}
