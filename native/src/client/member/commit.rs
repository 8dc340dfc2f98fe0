//! Offsets in the member's group: reading what is committed, and
//! committing in this member's generation.

use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::Instant;

use anyhow::bail;
use bytestring::ByteString;
use spate_core::protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use super::{GroupMember, Status, JOIN_PATIENCE, RETRY_BACKOFF};
use crate::client::assignor::Partitions;
use crate::client::{offsets, Client};

impl GroupMember {
    /// The committed offsets of `topic`'s `partitions` in this group.
    pub(crate) fn committed(
        &mut self,
        client: &mut Client,
        topic: &str,
        partitions: &[i32],
    ) -> anyhow::Result<BTreeMap<i32, i64>> {
        let wanted = Partitions::from([(topic.to_string(), partitions.to_vec())]);
        let deadline = Instant::now() + JOIN_PATIENCE;
        let group = self.config.group.clone();
        loop {
            let Some(conn) = self.coordinator(client)? else {
                if Instant::now() > deadline {
                    bail!("the coordinator of group `{group}` cannot be reached");
                }
                sleep(RETRY_BACKOFF);
                continue;
            };
            match offsets::committed(conn, &group, Some(&wanted), true) {
                Ok(Ok(found)) => {
                    return Ok(found
                        .into_iter()
                        .filter(|((t, _), _)| t == topic)
                        .map(|((_, p), c)| (p, c.offset))
                        .collect())
                }
                Ok(Err(code)) if Instant::now() < deadline => {
                    // UNSTABLE_OFFSET_COMMIT (a transaction holds the offset)
                    // and coordinator moves are waited out.
                    if !(self.coordinator_moved(code) || code == ErrorCode::UNSTABLE_OFFSET_COMMIT)
                    {
                        bail!(
                            "fetching the committed offsets of group `{}`: {code}",
                            self.config.group
                        );
                    }
                    sleep(RETRY_BACKOFF);
                }
                Ok(Err(code)) => {
                    bail!(
                        "fetching the committed offsets of group `{}`: {code}",
                        self.config.group
                    )
                }
                Err(e) => {
                    self.coord = None;
                    if Instant::now() > deadline {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Commits `offsets` (the next offset to read, by topic and partition)
    /// in this member's generation.
    pub(crate) fn commit(
        &mut self,
        client: &mut Client,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> anyhow::Result<Status> {
        if offsets.is_empty() {
            return Ok(Status::Stable);
        }
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for ((topic, partition), &offset) in offsets {
            topics
                .entry(topic.as_str())
                .or_default()
                .push(OffsetCommitRequestPartition {
                    partition_index: *partition,
                    committed_offset: offset,
                    committed_leader_epoch: -1,
                    commit_timestamp: -1,
                    committed_metadata: Some(ByteString::new()),
                    ..Default::default()
                });
        }
        let req = OffsetCommitRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            generation_id_or_member_epoch: self.generation,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            retention_time_ms: -1,
            topics: topics
                .into_iter()
                .map(|(name, partitions)| OffsetCommitRequestTopic {
                    name: ByteString::from(name),
                    partitions,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::OffsetCommit(req))? else {
            return Ok(Status::Rejoin);
        };
        let ResponseBody::OffsetCommit(resp) = resp else {
            bail!("OffsetCommit answered with another API");
        };
        let mut status = Status::Stable;
        for t in &resp.topics {
            for p in &t.partitions {
                let what = format!("committing {}-{}", t.name, p.partition_index);
                if self.status(p.error_code, &what)? == Status::Rejoin {
                    status = Status::Rejoin;
                }
            }
        }
        Ok(status)
    }
}
