//! Joining: one JoinGroup (two when the coordinator requires a member id)
//! and one SyncGroup, with the range assignment computed when this member
//! leads.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use bytestring::ByteString;
use spate_core::protocol::messages::join_group_request::{
    JoinGroupRequest, JoinGroupRequestProtocol,
};
use spate_core::protocol::messages::join_group_response::JoinGroupResponse;
use spate_core::protocol::messages::sync_group_request::{
    SyncGroupRequest, SyncGroupRequestAssignment,
};
use spate_core::protocol::{ErrorCode, RequestBody, ResponseBody};

use super::GroupMember;
use crate::client::assignor::{self, PROTOCOL_TYPE, RANGE};
use crate::client::Client;

impl GroupMember {
    /// One JoinGroup (two when the coordinator requires a member id) and
    /// one SyncGroup; false when the caller should try again.
    pub(super) fn join_and_sync(&mut self, client: &mut Client) -> anyhow::Result<bool> {
        let owned = self.assignment.clone();
        let metadata = assignor::encode_subscription(&self.config.topics, &owned, self.generation);
        let req = JoinGroupRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.rebalance_timeout_ms,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            protocol_type: ByteString::from_static(PROTOCOL_TYPE),
            protocols: vec![JoinGroupRequestProtocol {
                name: ByteString::from_static(RANGE),
                metadata,
                ..Default::default()
            }],
            reason: None,
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::JoinGroup(req))? else {
            return Ok(false);
        };
        let ResponseBody::JoinGroup(join) = resp else {
            bail!("JoinGroup answered with another API");
        };
        match ErrorCode(join.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::MEMBER_ID_REQUIRED => {
                // KIP-394: the coordinator names the member, which joins again
                // with that id.
                self.member_id = join.member_id.to_string();
                return Ok(false);
            }
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                return Ok(false);
            }
            e if self.coordinator_moved(e) => return Ok(false),
            ErrorCode::REBALANCE_IN_PROGRESS => return Ok(false),
            e => bail!("joining group `{}`: {e}", self.config.group),
        }
        self.member_id = join.member_id.to_string();
        self.generation = join.generation_id;
        self.leader = join.leader == join.member_id;
        let protocol = join.protocol_name.as_deref().unwrap_or(RANGE).to_string();
        if protocol != RANGE {
            bail!(
                "group `{}` chose protocol `{protocol}`, not range",
                self.config.group
            );
        }
        let assignments = if self.leader && !join.skip_assignment {
            self.assign(client, &join)?
        } else {
            Vec::new()
        };
        let req = SyncGroupRequest {
            group_id: ByteString::from(self.config.group.as_str()),
            generation_id: self.generation,
            member_id: ByteString::from(self.member_id.as_str()),
            group_instance_id: self.instance_id(),
            protocol_type: Some(ByteString::from_static(PROTOCOL_TYPE)),
            protocol_name: Some(ByteString::from(protocol.as_str())),
            assignments,
            ..Default::default()
        };
        let Some(resp) = self.call(client, RequestBody::SyncGroup(req))? else {
            return Ok(false);
        };
        let ResponseBody::SyncGroup(sync) = resp else {
            bail!("SyncGroup answered with another API");
        };
        match ErrorCode(sync.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                return Ok(false);
            }
            ErrorCode::REBALANCE_IN_PROGRESS | ErrorCode::ILLEGAL_GENERATION => return Ok(false),
            e if self.coordinator_moved(e) => return Ok(false),
            e => bail!("syncing group `{}`: {e}", self.config.group),
        }
        self.assignment = assignor::decode_assignment(&sync.assignment)?;
        Ok(true)
    }

    /// The leader's work: decode every member's subscription, look up the
    /// topics' partition counts, and assign ranges.
    fn assign(
        &self,
        client: &mut Client,
        join: &JoinGroupResponse,
    ) -> anyhow::Result<Vec<SyncGroupRequestAssignment>> {
        let mut subscriptions = BTreeMap::new();
        for m in &join.members {
            let sub = assignor::decode_subscription(&m.metadata)
                .with_context(|| format!("member {}'s subscription", m.member_id))?;
            let topics: Vec<String> = sub.topics.iter().map(ToString::to_string).collect();
            subscriptions.insert(m.member_id.to_string(), topics);
        }
        let mut wanted: Vec<&str> = subscriptions
            .values()
            .flatten()
            .map(String::as_str)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let meta = client.metadata(Some(&wanted))?;
        let counts: BTreeMap<String, i32> = meta
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| Some((t.name.as_deref()?.to_string(), t.partitions.len() as i32)))
            .collect();
        Ok(assignor::range_assign(&subscriptions, &counts)
            .into_iter()
            .map(|(member_id, parts)| SyncGroupRequestAssignment {
                member_id: ByteString::from(member_id),
                assignment: assignor::encode_assignment(&parts),
                ..Default::default()
            })
            .collect())
    }
}
