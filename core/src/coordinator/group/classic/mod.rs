//! A group of the classic protocol: members join, the leader assigns, and
//! everyone heartbeats, as Kafka's `ClassicGroup` does.
//!
//! # A rebalance
//!
//! 1. A member sends JoinGroup. From v4 a member without an id first gets
//!    MEMBER_ID_REQUIRED with a fresh id, and joins again with it (it is
//!    *pending* in between, for at most its session timeout).
//! 2. The group enters PreparingRebalance. Every known member must rejoin;
//!    their JoinGroups are held. The phase ends when all have rejoined, or
//!    at the rebalance timeout (the largest of the members'), which removes
//!    those that did not. An *empty* group first waits
//!    `group.initial.rebalance.delay.ms` for more members, extended by the
//!    same delay whenever one arrives, up to the rebalance timeout.
//! 3. The generation goes up, a protocol is chosen (every member supports
//!    it; most members list it first), and every held JoinGroup is
//!    answered; the leader's answer lists the members and their metadata.
//! 4. CompletingRebalance: members send SyncGroup, held until the leader's
//!    SyncGroup brings the assignment. Then the group is Stable, the
//!    assignment is written to `__consumer_offsets`, and every held
//!    SyncGroup gets its member's share. Members that do not send a
//!    SyncGroup within the rebalance timeout are removed.
//!
//! A member that neither heartbeats nor waits in a held request for its
//! session timeout is removed, which starts a rebalance. A closed
//! connection removes no one: only time or LeaveGroup do (Kafka's rule). A
//! static member (`group.instance.id`) that restarts takes its old place
//! under a new member id, without a rebalance when the group is stable and
//! its protocols are unchanged.
//!
//! [`join`] holds JoinGroup and the join phase, [`sync`] SyncGroup,
//! Heartbeat, LeaveGroup and the group's deadlines, [`answers`] what the
//! held requests are answered with.

pub(crate) mod answers;
mod join;
mod sync;

use crate::collections::Map;

use bytes::Bytes;
use bytestring::ByteString;

use super::Effects;
use crate::coordinator::Waiter;
use crate::protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use crate::protocol::messages::group_coordinator::group_metadata_value::{
    GroupMetadataValue, MemberMetadata,
};
use crate::protocol::{ErrorCode, Reader, Wire};
use crate::state::Now;

pub(crate) use answers::{Answer, JoinResult, SyncResult};
pub(crate) use join::JoinArgs;
pub(crate) use sync::SyncArgs;

/// The states of a classic group, each with the deadline it waits for.
///
/// ```text
///                 JoinGroup, or a commit creates the group
///                              |
///                              v
///   +------------------->   Empty   <-------------------------+
///   |                          |                              |
///   |                first JoinGroup (waits the               |
///   |                initial rebalance delay)                 |
///   |                          v                              | last member
///   |    +----------->  PreparingRebalance  ------------------+ left or
///   |    |                     |                                expired
///   |    | join, leave,        | every member rejoined,
///   |    | expiry, new         | or rebalance timeout
///   |    | protocols           v
///   |    +-----------  CompletingRebalance
///   |    |                     |
///   |    |                     | leader's SyncGroup
///   |    |                     v
///   |    +-----------------  Stable
///   |
///   |   DeleteGroups, or offsets expired while Empty
///   +----------------------------------------------> Dead (removed)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// No members (a group may hold only committed offsets).
    Empty,
    /// Waiting for every member to rejoin.
    PreparingRebalance {
        /// When the join phase ends whoever has rejoined (the rebalance
        /// timeout, or the initial delay of an empty group).
        join_deadline: Now,
        /// An empty group's first rebalance: the delay, extended while
        /// members keep arriving.
        initial_delay: Option<InitialDelay>,
    },
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance {
        /// When members that have not sent SyncGroup are removed.
        sync_deadline: Now,
    },
    /// Assigned. Members that joined but never synced are still removed
    /// at the sync deadline of the rebalance (Kafka's pending syncs).
    Stable {
        /// The rebalance's sync deadline, until it has passed.
        sync_deadline: Option<Now>,
    },
    /// Deleted; removed from the coordinator once settled.
    Dead,
}

impl State {
    /// Kafka's name for the state, as DescribeGroups and ListGroups report it.
    pub fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance { .. } => "PreparingRebalance",
            State::CompletingRebalance { .. } => "CompletingRebalance",
            State::Stable { .. } => "Stable",
            State::Dead => "Dead",
        }
    }

    /// The sync deadline of a rebalance that is being completed.
    fn sync_deadline(self) -> Option<Now> {
        match self {
            State::CompletingRebalance { sync_deadline } => Some(sync_deadline),
            State::Stable { sync_deadline } => sync_deadline,
            _ => None,
        }
    }
}

/// The initial rebalance delay of an empty group (Kafka's
/// `InitialDelayedJoin`): `delay` at a time while members keep joining,
/// `remaining` at most in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InitialDelay {
    pub delay: i64,
    pub remaining: i64,
    pub new_member_added: bool,
}

/// One member of a classic group.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: ByteString,
    pub instance_id: Option<ByteString>,
    pub client_id: ByteString,
    pub client_host: ByteString,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// The protocols it supports, in its order of preference, with metadata.
    pub protocols: Vec<(ByteString, Bytes)>,
    /// Its share of the current assignment (empty before the leader syncs).
    pub assignment: Bytes,
    /// Its held JoinGroup, while the group prepares a rebalance.
    pub awaiting_join: Option<Waiter>,
    /// Its held SyncGroup, while the group completes a rebalance.
    pub awaiting_sync: Option<Waiter>,
    /// Whether it has sent SyncGroup for the current generation.
    pub synced: bool,
    /// When it is removed unless it heartbeats or waits in a held request.
    pub heartbeat_deadline: Now,
}

impl Member {
    /// Its metadata for protocol `name`.
    pub fn metadata_for(&self, name: &ByteString) -> Option<&Bytes> {
        self.protocols
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }

    fn expired(&self, now: Now) -> bool {
        self.awaiting_join.is_none()
            && self.awaiting_sync.is_none()
            && now >= self.heartbeat_deadline
    }

    /// Its session runs again from `now` (it heartbeat, or a held request
    /// of it was answered).
    fn renew(&mut self, now: Now) {
        self.heartbeat_deadline = now + self.session_timeout_ms as i64;
    }

    /// Topics it subscribes to, when its metadata is the consumer protocol's.
    pub fn subscribed_topics(&self, protocol: Option<&ByteString>) -> Vec<ByteString> {
        let meta = protocol
            .and_then(|p| self.metadata_for(p))
            .or_else(|| self.protocols.first().map(|(_, m)| m));
        meta.and_then(decode_subscription)
            .map(|s| s.topics)
            .unwrap_or_default()
    }

    /// The member as GroupMetadataValue records it.
    fn metadata(&self, protocol: Option<&ByteString>) -> MemberMetadata {
        MemberMetadata {
            member_id: self.id.clone(),
            group_instance_id: self.instance_id.clone(),
            client_id: self.client_id.clone(),
            client_host: self.client_host.clone(),
            rebalance_timeout: self.rebalance_timeout_ms,
            session_timeout: self.session_timeout_ms,
            subscription: protocol
                .and_then(|p| self.metadata_for(p))
                .cloned()
                .unwrap_or_default(),
            assignment: self.assignment.clone(),
            ..Default::default()
        }
    }
}

/// Decodes ConsumerProtocolSubscription metadata (version prefix, then the struct).
pub(crate) fn decode_subscription(meta: &Bytes) -> Option<ConsumerProtocolSubscription> {
    let mut r = Reader::new(meta);
    let version = r.i16().ok()?;
    ConsumerProtocolSubscription::decode(&mut r, version.clamp(0, 3)).ok()
}

/// A classic group.
#[derive(Debug, Clone)]
pub(crate) struct ClassicGroup {
    pub id: ByteString,
    pub state: State,
    /// When it entered its state (GroupMetadataValue's currentStateTimestamp).
    pub state_since: Now,
    pub protocol_type: Option<ByteString>,
    /// The protocol chosen at the last rebalance.
    pub protocol: Option<ByteString>,
    pub generation: i32,
    pub leader: Option<ByteString>,
    /// Members, in the order they joined.
    pub members: Vec<Member>,
    /// Members given an id by MEMBER_ID_REQUIRED, with when that id lapses.
    pub pending: Map<ByteString, Now>,
}

impl ClassicGroup {
    /// A new, empty group.
    pub fn new(id: ByteString, now: Now) -> ClassicGroup {
        ClassicGroup {
            id,
            state: State::Empty,
            state_since: now,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: Vec::new(),
            pending: Map::new(),
        }
    }

    /// Whether any member, joined or pending, is in the group.
    pub fn has_members(&self) -> bool {
        !self.members.is_empty() || !self.pending.is_empty()
    }

    fn transition(&mut self, to: State, now: Now) {
        self.state = to;
        self.state_since = now;
    }

    /// Index of member `id`.
    pub fn member(&self, id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id == id)
    }

    fn static_member(&self, instance: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.instance_id.as_deref() == Some(instance))
    }

    fn is_leader(&self, id: &str) -> bool {
        self.leader.as_deref() == Some(id)
    }

    /// The largest rebalance timeout of the members.
    fn rebalance_timeout(&self) -> i64 {
        self.members
            .iter()
            .map(|m| m.rebalance_timeout_ms as i64)
            .max()
            .unwrap_or(0)
    }

    /// The record of the group as it is now.
    pub fn metadata_value(&self) -> GroupMetadataValue {
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_since,
            members: self
                .members
                .iter()
                .map(|m| m.metadata(self.protocol.as_ref()))
                .collect(),
            ..Default::default()
        }
    }

    /// Takes the state of a GroupMetadataValue read from the log.
    pub fn restore(&mut self, v: &GroupMetadataValue) {
        self.protocol_type = (!v.protocol_type.is_empty()).then(|| v.protocol_type.clone());
        self.generation = v.generation;
        self.protocol = v.protocol.clone();
        self.leader = v.leader.clone();
        self.state_since = v.current_state_timestamp;
        self.members = v
            .members
            .iter()
            .map(|m| Member {
                id: m.member_id.clone(),
                instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                session_timeout_ms: m.session_timeout,
                rebalance_timeout_ms: m.rebalance_timeout,
                protocols: v
                    .protocol
                    .iter()
                    .map(|p| (p.clone(), m.subscription.clone()))
                    .collect(),
                assignment: m.assignment.clone(),
                awaiting_join: None,
                awaiting_sync: None,
                synced: true,
                heartbeat_deadline: 0,
            })
            .collect();
    }

    /// Settles a group rebuilt from the log: stable if it has members, who
    /// must heartbeat within a session timeout from `now`.
    pub fn loaded(&mut self, now: Now) {
        if self.members.is_empty() {
            self.state = State::Empty;
        } else {
            self.state = State::Stable {
                sync_deadline: None,
            };
            for m in &mut self.members {
                m.renew(now);
            }
        }
    }

    /// The earliest time something is due.
    pub fn next_deadline(&self) -> Option<Now> {
        let members = self
            .members
            .iter()
            .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
            .map(|m| m.heartbeat_deadline);
        let pending = self.pending.values().copied();
        let join = match self.state {
            State::PreparingRebalance { join_deadline, .. } => Some(join_deadline),
            _ => None,
        };
        members
            .chain(pending)
            .chain(join)
            .chain(self.state.sync_deadline())
            .min()
    }

    /// The member a request names (Kafka's `validateMember`): by
    /// `group.instance.id` when given, FENCED_INSTANCE_ID if that instance
    /// now has another member id; else by member id. UNKNOWN_MEMBER_ID when
    /// there is no such member.
    pub fn validate_member(
        &self,
        member_id: &str,
        instance: Option<&str>,
    ) -> Result<usize, ErrorCode> {
        match instance {
            Some(instance) => {
                let i = self
                    .static_member(instance)
                    .ok_or(ErrorCode::UNKNOWN_MEMBER_ID)?;
                if self.members[i].id != member_id {
                    return Err(ErrorCode::FENCED_INSTANCE_ID);
                }
                Ok(i)
            }
            None => self.member(member_id).ok_or(ErrorCode::UNKNOWN_MEMBER_ID),
        }
    }

    /// A held request of `w` was answered outside the group (its write
    /// failed): the member no longer waits in it, and its session runs
    /// from `now`.
    pub fn forget_waiter(&mut self, w: Waiter, now: Now) {
        for m in &mut self.members {
            if m.awaiting_join == Some(w) {
                m.awaiting_join = None;
                m.renew(now);
            }
            if m.awaiting_sync == Some(w) {
                m.awaiting_sync = None;
                m.renew(now);
            }
        }
    }

    // ------------------------------------------------------------ offsets

    /// Whether an OffsetCommit from this member may commit (Kafka's
    /// `validateOffsetCommit`): an empty group takes commits from anyone
    /// with generation -1; otherwise the member must be known and of the
    /// current generation, and not in the middle of a sync.
    pub fn validate_commit(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), ErrorCode> {
        if self.state == State::Dead {
            return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        }
        if generation < 0 && self.state == State::Empty {
            return Ok(());
        }
        if generation >= 0 || !member_id.is_empty() || instance_id.is_some() {
            self.validate_member(member_id, instance_id)?;
            if generation != self.generation {
                return Err(ErrorCode::ILLEGAL_GENERATION);
            }
        } else if self.state != State::Empty {
            return Err(ErrorCode::UNKNOWN_MEMBER_ID);
        }
        if matches!(self.state, State::CompletingRebalance { .. }) {
            return Err(ErrorCode::REBALANCE_IN_PROGRESS);
        }
        Ok(())
    }

    /// A commit counts as a heartbeat of the member making it.
    pub fn touch(&mut self, member_id: &str, now: Now) {
        if let Some(i) = self.member(member_id) {
            let m = &mut self.members[i];
            m.heartbeat_deadline = m.heartbeat_deadline.max(now + m.session_timeout_ms as i64);
        }
    }

    /// Whether some member subscribes to `topic` (consumer protocol groups).
    pub fn subscribed(&self, topic: &str) -> bool {
        self.protocol_type.as_deref() == Some("consumer")
            && self.members.iter().any(|m| {
                m.subscribed_topics(self.protocol.as_ref())
                    .iter()
                    .any(|t| t == topic)
            })
    }

    /// Marks the group deleted (DeleteGroups, or its last offsets expired),
    /// with the tombstone of its metadata.
    pub fn delete(&mut self, now: Now, fx: &mut Effects) {
        self.transition(State::Dead, now);
        fx.group(&self.id, None);
    }
}
