//! Offsets: what a group committed (OffsetFetch, at the group's
//! coordinator) and where partitions begin and end (ListOffsets, at their
//! leaders).

use std::collections::BTreeMap;

use anyhow::bail;
use bytestring::ByteString;
use spate_core::protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use spate_core::protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use super::assignor::Partitions;
use super::{check, Client, Connection};

/// ListOffsets' timestamp for the log start offset.
pub(crate) const EARLIEST: i64 = -2;

/// ListOffsets' timestamp for the log end offset (the high watermark).
pub(crate) const LATEST: i64 = -1;

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Committed {
    /// The next offset the group will read.
    pub(crate) offset: i64,
    /// The metadata string committed with it.
    pub(crate) metadata: Option<String>,
}

/// Committed offsets by topic and partition.
pub(crate) type CommittedOffsets = BTreeMap<(String, i32), Committed>;

/// The offsets `group` committed, by topic and partition, for the
/// partitions in `wanted` (every partition the group has offsets for when
/// `None`). Partitions without a committed offset are left out. The inner
/// error is a Kafka error code the caller may retry (a moved coordinator,
/// UNSTABLE_OFFSET_COMMIT when `require_stable`).
pub(crate) fn committed(
    conn: &mut Connection,
    group: &str,
    wanted: Option<&Partitions>,
    require_stable: bool,
) -> anyhow::Result<Result<CommittedOffsets, ErrorCode>> {
    let version = conn.version(ApiKey::OffsetFetch)?;
    let req = if version >= 8 {
        OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: ByteString::from(group),
                member_id: None,
                member_epoch: -1,
                topics: wanted.map(|w| {
                    w.iter()
                        .map(|(t, ps)| OffsetFetchRequestTopics {
                            name: ByteString::from(t.as_str()),
                            partition_indexes: ps.as_slice().into(),
                            ..Default::default()
                        })
                        .collect()
                }),
                ..Default::default()
            }],
            require_stable,
            ..Default::default()
        }
    } else {
        // require_stable exists from v7; older brokers have no transactions
        // holding offsets back.
        let require_stable = require_stable && version >= 7;
        OffsetFetchRequest {
            group_id: ByteString::from(group),
            topics: wanted.map(|w| {
                w.iter()
                    .map(|(t, ps)| OffsetFetchRequestTopic {
                        name: ByteString::from(t.as_str()),
                        partition_indexes: ps.as_slice().into(),
                        ..Default::default()
                    })
                    .collect()
            }),
            require_stable,
            ..Default::default()
        }
    };
    let ResponseBody::OffsetFetch(resp) = conn.send(RequestBody::OffsetFetch(req))? else {
        bail!("OffsetFetch answered with another API");
    };
    // (topic, partition, offset, metadata, error) from either shape.
    let mut rows = Vec::new();
    let mut top = resp.error_code;
    if version >= 8 {
        let Some(g) = resp.groups.into_iter().find(|g| g.group_id == group) else {
            bail!("OffsetFetch did not answer for group `{group}`");
        };
        top = g.error_code;
        for t in g.topics {
            for p in t.partitions {
                let meta = p.metadata.map(|m| m.to_string());
                rows.push((
                    t.name.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    meta,
                    p.error_code,
                ));
            }
        }
    } else {
        for t in resp.topics {
            for p in t.partitions {
                let meta = p.metadata.map(|m| m.to_string());
                rows.push((
                    t.name.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    meta,
                    p.error_code,
                ));
            }
        }
    }
    if top != 0 {
        return Ok(Err(ErrorCode(top)));
    }
    let mut out = BTreeMap::new();
    for (topic, partition, offset, metadata, code) in rows {
        match ErrorCode(code) {
            ErrorCode::NONE => {}
            ErrorCode::UNSTABLE_OFFSET_COMMIT => return Ok(Err(ErrorCode(code))),
            // A topic deleted since the commit: nothing to show or resume.
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION => continue,
            e => bail!("committed offset of {topic}-{partition} in group `{group}`: {e}"),
        }
        if offset >= 0 {
            out.insert((topic, partition), Committed { offset, metadata });
        }
    }
    Ok(Ok(out))
}

/// ListOffsets for `partitions` at `timestamp` ([`EARLIEST`] or
/// [`LATEST`]), each asked of its partition's leader.
pub(crate) fn list(
    client: &mut Client,
    partitions: &Partitions,
    timestamp: i64,
) -> anyhow::Result<BTreeMap<(String, i32), i64>> {
    // Leaders by partition, from Metadata.
    let topics: Vec<&str> = partitions.keys().map(String::as_str).collect();
    if topics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let meta = client.metadata(Some(&topics))?;
    let mut by_leader: BTreeMap<i32, Partitions> = BTreeMap::new();
    for t in &meta.topics {
        let Some(name) = t.name.as_deref() else {
            continue;
        };
        let Some(wanted) = partitions.get(name) else {
            continue;
        };
        for p in &t.partitions {
            if wanted.contains(&p.partition_index) {
                by_leader
                    .entry(p.leader_id)
                    .or_default()
                    .entry(name.to_string())
                    .or_default()
                    .push(p.partition_index);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (leader, parts) in by_leader {
        let req = ListOffsetsRequest {
            replica_id: -1,
            topics: parts
                .iter()
                .map(|(t, ps)| ListOffsetsTopic {
                    name: ByteString::from(t.as_str()),
                    partitions: ps
                        .iter()
                        .map(|&p| ListOffsetsPartition {
                            partition_index: p,
                            timestamp,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let ResponseBody::ListOffsets(resp) =
            client.leader(leader)?.send(RequestBody::ListOffsets(req))?
        else {
            bail!("ListOffsets answered with another API");
        };
        for t in &resp.topics {
            for p in &t.partitions {
                check(
                    &format!("listing offsets of {}-{}", t.name, p.partition_index),
                    p.error_code,
                    None,
                )?;
                out.insert((t.name.to_string(), p.partition_index), p.offset);
            }
        }
    }
    Ok(out)
}
