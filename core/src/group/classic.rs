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

use std::collections::BTreeMap;

use bytes::Bytes;
use bytestring::ByteString;

use super::consumer::ConsumerGroup;
use super::{
    member_metadata, Answer, Committed, Effects, GroupConfig, JoinResult, SyncResult, Waiter,
};
use crate::broker::Now;
use crate::protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use crate::protocol::messages::group_coordinator::group_metadata_value::GroupMetadataValue;
use crate::protocol::messages::join_group_response::JoinGroupResponseMember;
use crate::protocol::{ErrorCode, Reader, Wire};

/// The states of a classic group.
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
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl State {
    /// Kafka's name for the state, as DescribeGroups and ListGroups report it.
    pub fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance => "PreparingRebalance",
            State::CompletingRebalance => "CompletingRebalance",
            State::Stable => "Stable",
            State::Dead => "Dead",
        }
    }
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

    /// Topics it subscribes to, when its metadata is the consumer protocol's.
    pub fn subscribed_topics(&self, protocol: Option<&ByteString>) -> Vec<ByteString> {
        let meta = protocol
            .and_then(|p| self.metadata_for(p))
            .or_else(|| self.protocols.first().map(|(_, m)| m));
        meta.and_then(decode_subscription)
            .map(|s| s.topics)
            .unwrap_or_default()
    }
}

/// Decodes ConsumerProtocolSubscription metadata (version prefix, then the struct).
pub(crate) fn decode_subscription(meta: &Bytes) -> Option<ConsumerProtocolSubscription> {
    let mut r = Reader::new(meta);
    let version = r.i16().ok()?;
    ConsumerProtocolSubscription::decode(&mut r, version.clamp(0, 3)).ok()
}

/// What a JoinGroup asks.
#[derive(Debug, Clone)]
pub(crate) struct JoinArgs {
    pub member_id: ByteString,
    pub instance_id: Option<ByteString>,
    pub client_id: ByteString,
    pub client_host: ByteString,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: ByteString,
    pub protocols: Vec<(ByteString, Bytes)>,
    /// v4+: a member without an id must ask again with the one it is given.
    pub require_known_member_id: bool,
    /// v9+: a static leader rejoining a stable group may skip assigning.
    pub version: i16,
}

#[derive(Debug, Clone, Copy)]
struct InitialDelay {
    delay: i64,
    remaining: i64,
    new_member_added: bool,
}

/// A classic group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
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
    pub pending: BTreeMap<ByteString, Now>,
    join_deadline: Option<Now>,
    initial_delay: Option<InitialDelay>,
    sync_deadline: Option<Now>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(ByteString, i32), Committed>,
    /// Set when the group speaks the consumer protocol (KIP-848) instead.
    pub consumer: Option<ConsumerGroup>,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: ByteString, now: Now) -> Group {
        Group {
            id,
            state: State::Empty,
            state_since: now,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: Vec::new(),
            pending: BTreeMap::new(),
            join_deadline: None,
            initial_delay: None,
            sync_deadline: None,
            offsets: BTreeMap::new(),
            consumer: None,
        }
    }

    /// Whether any member (classic or consumer protocol) is in the group.
    pub fn has_members(&self) -> bool {
        !self.members.is_empty()
            || !self.pending.is_empty()
            || self
                .consumer
                .as_ref()
                .is_some_and(|c| !c.members.is_empty())
    }

    /// `classic` or `consumer`, as ListGroups names group types.
    pub fn type_name(&self) -> &'static str {
        if self.consumer.is_some() {
            "consumer"
        } else {
            "classic"
        }
    }

    /// Kafka's name of the group's state, whatever its protocol.
    pub fn state_name(&self) -> &'static str {
        match &self.consumer {
            Some(c) => c.state_name(),
            None => self.state.name(),
        }
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

    /// Whether a member with these protocols may join (Kafka's
    /// `supportsProtocols`): an empty group takes any non-empty protocol
    /// set; otherwise the type must match and one protocol must be one every
    /// member supports.
    fn supports(&self, protocol_type: &str, protocols: &[(ByteString, Bytes)]) -> bool {
        if self.state == State::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(n, _)| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(mn, _)| mn == n))
            })
    }

    /// The protocol every member supports that most members prefer.
    fn select_protocol(&self) -> Option<ByteString> {
        let candidates: Vec<&ByteString> = self.members.first().map_or(Vec::new(), |m| {
            m.protocols
                .iter()
                .map(|(n, _)| n)
                .filter(|n| {
                    self.members
                        .iter()
                        .all(|o| o.protocols.iter().any(|(on, _)| on == *n))
                })
                .collect()
        });
        let mut votes: Vec<(usize, &ByteString)> = candidates.iter().map(|c| (0, *c)).collect();
        for m in &self.members {
            if let Some(first) = m
                .protocols
                .iter()
                .find(|(n, _)| candidates.contains(&n))
                .map(|(n, _)| n)
            {
                if let Some(v) = votes.iter_mut().find(|(_, c)| *c == first) {
                    v.0 += 1;
                }
            }
        }
        // Most votes wins; ties go to the earlier candidate.
        let mut best: Option<(usize, &ByteString)> = None;
        for v in votes {
            if best.is_none_or(|b| v.0 > b.0) {
                best = Some(v);
            }
        }
        best.map(|(_, n)| n.clone())
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
                .map(|m| member_metadata(m, self.protocol.as_ref()))
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
            self.state = State::Stable;
            for m in &mut self.members {
                m.heartbeat_deadline = now + m.session_timeout_ms as i64;
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
        let consumer = self.consumer.as_ref().and_then(|c| c.next_deadline());
        members
            .chain(pending)
            .chain(self.join_deadline)
            .chain(self.sync_deadline)
            .chain(consumer)
            .min()
    }

    // ------------------------------------------------------------ JoinGroup

    /// Handles a JoinGroup: `Some` answers at once, `None` holds it until
    /// the rebalance completes (the answer then goes to `fx`). `new_id` makes
    /// a fresh member id from a prefix.
    pub fn join(
        &mut self,
        a: JoinArgs,
        waiter: Waiter,
        new_id: &mut dyn FnMut(&str) -> ByteString,
        now: Now,
        cfg: &GroupConfig,
        fx: &mut Effects,
    ) -> Option<JoinResult> {
        if self.state == State::Dead {
            return Some(JoinResult::error(
                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                a.member_id,
            ));
        }
        if self
            .consumer
            .as_ref()
            .is_some_and(|c| !c.members.is_empty())
        {
            // Kafka's answer when classic members may not join a consumer
            // group (group.consumer.migration.policy=disabled).
            return Some(JoinResult::error(
                ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                a.member_id,
            ));
        }
        // An empty consumer group becomes a classic one.
        if let Some(mut c) = self.consumer.take() {
            fx.writes.extend(c.erase());
        }
        if !self.supports(&a.protocol_type, &a.protocols) {
            return Some(JoinResult::error(
                ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                a.member_id,
            ));
        }
        if a.member_id.is_empty() {
            self.join_new(a, waiter, new_id, now, cfg, fx)
        } else {
            self.join_known(a, waiter, now, cfg, fx)
        }
    }

    fn join_new(
        &mut self,
        a: JoinArgs,
        waiter: Waiter,
        new_id: &mut dyn FnMut(&str) -> ByteString,
        now: Now,
        cfg: &GroupConfig,
        fx: &mut Effects,
    ) -> Option<JoinResult> {
        if let Some(instance) = a.instance_id.clone() {
            let id = new_id(&instance);
            if let Some(i) = self.static_member(&instance) {
                return self.replace_static(i, id, a, waiter, now, cfg, fx);
            }
            if self.members.len() >= cfg.max_size {
                return Some(JoinResult::error(ErrorCode::GROUP_MAX_SIZE_REACHED, id));
            }
            self.add_member(id, a, waiter, now, cfg, fx);
            return None;
        }
        let id = new_id(&a.client_id);
        if self.members.len() + self.pending.len() >= cfg.max_size {
            return Some(JoinResult::error(ErrorCode::GROUP_MAX_SIZE_REACHED, id));
        }
        if a.require_known_member_id {
            self.pending
                .insert(id.clone(), now + a.session_timeout_ms as i64);
            return Some(JoinResult::error(ErrorCode::MEMBER_ID_REQUIRED, id));
        }
        self.add_member(id, a, waiter, now, cfg, fx);
        None
    }

    fn join_known(
        &mut self,
        a: JoinArgs,
        waiter: Waiter,
        now: Now,
        cfg: &GroupConfig,
        fx: &mut Effects,
    ) -> Option<JoinResult> {
        if self.pending.remove(&a.member_id).is_some() {
            let id = a.member_id.clone();
            self.add_member(id, a, waiter, now, cfg, fx);
            return None;
        }
        let i = match self.validate_member(&a.member_id, a.instance_id.as_deref()) {
            Ok(i) => i,
            Err(code) => return Some(JoinResult::error(code, a.member_id)),
        };
        match self.state {
            State::PreparingRebalance => {
                self.update_member(i, &a, Some(waiter));
                self.maybe_complete_join(now, fx);
                None
            }
            State::CompletingRebalance if self.members[i].protocols == a.protocols => {
                // A JoinGroup sent again (say after a lost response): the
                // same answer as the one the rebalance gave.
                Some(self.join_result(i, false))
            }
            State::Stable
                if !self.is_leader(&a.member_id) && self.members[i].protocols == a.protocols =>
            {
                Some(self.join_result(i, false))
            }
            State::CompletingRebalance | State::Stable => {
                self.update_member(i, &a, Some(waiter));
                self.prepare_rebalance(now, cfg, fx);
                self.maybe_complete_join(now, fx);
                None
            }
            State::Empty | State::Dead => {
                Some(JoinResult::error(ErrorCode::UNKNOWN_MEMBER_ID, a.member_id))
            }
        }
    }

    /// A static member that restarted: the old id is fenced, the new one
    /// takes its place (and its assignment).
    #[allow(clippy::too_many_arguments)]
    fn replace_static(
        &mut self,
        i: usize,
        new_id: ByteString,
        a: JoinArgs,
        waiter: Waiter,
        now: Now,
        cfg: &GroupConfig,
        fx: &mut Effects,
    ) -> Option<JoinResult> {
        let old_id = self.members[i].id.clone();
        if let Some(w) = self.members[i].awaiting_join.take() {
            fx.reply(
                w,
                Answer::Join(JoinResult::error(
                    ErrorCode::FENCED_INSTANCE_ID,
                    old_id.clone(),
                )),
            );
        }
        if let Some(w) = self.members[i].awaiting_sync.take() {
            fx.reply(
                w,
                Answer::Sync(SyncResult::error(ErrorCode::FENCED_INSTANCE_ID)),
            );
        }
        let unchanged = self.members[i].protocols == a.protocols;
        self.members[i].id = new_id.clone();
        if self.is_leader(&old_id) {
            self.leader = Some(new_id);
        }
        match self.state {
            State::Stable if unchanged => {
                self.update_member(i, &a, None);
                self.members[i].heartbeat_deadline = now + a.session_timeout_ms as i64;
                fx.group(&self.id, Some(self.metadata_value()));
                let leader = self.is_leader(&self.members[i].id);
                // v9+ (KIP-814): a static leader learns the members but need
                // not assign again.
                let skip = leader && a.version >= 9;
                Some(self.join_result(i, skip))
            }
            State::PreparingRebalance => {
                self.update_member(i, &a, Some(waiter));
                self.maybe_complete_join(now, fx);
                None
            }
            _ => {
                self.update_member(i, &a, Some(waiter));
                self.prepare_rebalance(now, cfg, fx);
                self.maybe_complete_join(now, fx);
                None
            }
        }
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

    fn update_member(&mut self, i: usize, a: &JoinArgs, waiter: Option<Waiter>) {
        let m = &mut self.members[i];
        m.client_id = a.client_id.clone();
        m.client_host = a.client_host.clone();
        m.session_timeout_ms = a.session_timeout_ms;
        m.rebalance_timeout_ms = a.rebalance_timeout_ms;
        m.protocols = a.protocols.clone();
        if waiter.is_some() {
            m.awaiting_join = waiter;
        }
    }

    fn add_member(
        &mut self,
        id: ByteString,
        a: JoinArgs,
        waiter: Waiter,
        now: Now,
        cfg: &GroupConfig,
        fx: &mut Effects,
    ) {
        if self.members.is_empty() {
            self.protocol_type = Some(a.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(id.clone());
        }
        self.members.push(Member {
            id,
            instance_id: a.instance_id,
            client_id: a.client_id,
            client_host: a.client_host,
            session_timeout_ms: a.session_timeout_ms,
            rebalance_timeout_ms: a.rebalance_timeout_ms,
            protocols: a.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(waiter),
            awaiting_sync: None,
            synced: false,
            heartbeat_deadline: now + a.session_timeout_ms as i64,
        });
        if let Some(d) = &mut self.initial_delay {
            d.new_member_added = true;
        }
        self.prepare_rebalance(now, cfg, fx);
        self.maybe_complete_join(now, fx);
    }

    /// Starts a rebalance unless one is being prepared already.
    fn prepare_rebalance(&mut self, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
        if !matches!(
            self.state,
            State::Empty | State::Stable | State::CompletingRebalance
        ) {
            return;
        }
        if self.state == State::CompletingRebalance {
            // The assignment being made is void: members must rejoin.
            for m in &mut self.members {
                m.assignment = Bytes::new();
                if let Some(w) = m.awaiting_sync.take() {
                    // Answered: its session runs again from now.
                    m.heartbeat_deadline = now + m.session_timeout_ms as i64;
                    fx.reply(
                        w,
                        Answer::Sync(SyncResult::error(ErrorCode::REBALANCE_IN_PROGRESS)),
                    );
                }
            }
        }
        self.sync_deadline = None;
        let timeout = self.rebalance_timeout();
        if self.state == State::Empty {
            let delay = cfg.initial_rebalance_delay_ms;
            self.initial_delay = Some(InitialDelay {
                delay,
                remaining: (timeout - delay).max(0),
                new_member_added: false,
            });
            self.join_deadline = Some(now + delay.min(timeout));
        } else {
            self.initial_delay = None;
            self.join_deadline = Some(now + timeout);
        }
        self.transition(State::PreparingRebalance, now);
    }

    /// Completes the join phase once every member has rejoined (not while
    /// the initial delay runs).
    fn maybe_complete_join(&mut self, now: Now, fx: &mut Effects) {
        if self.state == State::PreparingRebalance
            && self.initial_delay.is_none()
            && self.pending.is_empty()
            && self.members.iter().all(|m| m.awaiting_join.is_some())
        {
            self.complete_join(now, fx);
        }
    }

    fn complete_join(&mut self, now: Now, fx: &mut Effects) {
        self.join_deadline = None;
        self.initial_delay = None;
        self.members.retain(|m| m.awaiting_join.is_some());
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.iter().any(|m| m.id == *l))
        {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        self.generation += 1;
        if self.members.is_empty() {
            self.protocol = None;
            self.transition(State::Empty, now);
            fx.group(&self.id, Some(self.metadata_value()));
            return;
        }
        self.protocol = self.select_protocol();
        self.transition(State::CompletingRebalance, now);
        for i in 0..self.members.len() {
            let Some(w) = self.members[i].awaiting_join.take() else {
                continue;
            };
            self.members[i].synced = false;
            self.members[i].heartbeat_deadline = now + self.members[i].session_timeout_ms as i64;
            let result = self.join_result(i, false);
            fx.reply(w, Answer::Join(result));
        }
        self.sync_deadline = Some(now + self.rebalance_timeout());
    }

    /// The JoinGroup answer for member `i` in the current generation.
    fn join_result(&self, i: usize, skip_assignment: bool) -> JoinResult {
        let m = &self.members[i];
        let leader = self.is_leader(&m.id);
        let members = if leader && (self.state == State::CompletingRebalance || skip_assignment) {
            self.members
                .iter()
                .map(|o| JoinGroupResponseMember {
                    member_id: o.id.clone(),
                    group_instance_id: o.instance_id.clone(),
                    metadata: self
                        .protocol
                        .as_ref()
                        .and_then(|p| o.metadata_for(p))
                        .cloned()
                        .unwrap_or_default(),
                    ..Default::default()
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: ErrorCode::NONE,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: m.id.clone(),
            members,
            skip_assignment,
        }
    }

    // ------------------------------------------------------------ SyncGroup

    /// Handles a SyncGroup: `Some` answers at once, `None` holds it until
    /// the leader's assignment arrives.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(ByteString, Bytes)>,
        waiter: Waiter,
        now: Now,
        fx: &mut Effects,
    ) -> Option<SyncResult> {
        if self.state == State::Dead {
            return Some(SyncResult::error(ErrorCode::COORDINATOR_NOT_AVAILABLE));
        }
        let i = match self.validate_member(member_id, instance_id) {
            Ok(i) => i,
            Err(code) => return Some(SyncResult::error(code)),
        };
        if generation != self.generation {
            return Some(SyncResult::error(ErrorCode::ILLEGAL_GENERATION));
        }
        if protocol_type.is_some_and(|t| self.protocol_type.as_deref() != Some(t))
            || protocol_name.is_some_and(|n| self.protocol.as_deref() != Some(n))
        {
            return Some(SyncResult::error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));
        }
        match self.state {
            State::Empty | State::Dead => Some(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID)),
            State::PreparingRebalance => Some(SyncResult::error(ErrorCode::REBALANCE_IN_PROGRESS)),
            State::CompletingRebalance => {
                self.members[i].awaiting_sync = Some(waiter);
                self.members[i].synced = true;
                if self.is_leader(member_id) {
                    for m in &mut self.members {
                        m.assignment = assignments
                            .iter()
                            .find(|(id, _)| *id == m.id)
                            .map(|(_, a)| a.clone())
                            .unwrap_or_default();
                    }
                    self.transition(State::Stable, now);
                    fx.group(&self.id, Some(self.metadata_value()));
                    for m in &mut self.members {
                        if let Some(w) = m.awaiting_sync.take() {
                            m.heartbeat_deadline = now + m.session_timeout_ms as i64;
                            fx.reply(
                                w,
                                Answer::Sync(self_sync_ok(&self.protocol_type, &self.protocol, m)),
                            );
                        }
                    }
                }
                None
            }
            State::Stable => {
                let m = &mut self.members[i];
                m.synced = true;
                m.heartbeat_deadline = now + m.session_timeout_ms as i64;
                Some(self_sync_ok(&self.protocol_type, &self.protocol, m))
            }
        }
    }

    // ------------------------------------------------------------ Heartbeat

    /// Handles a Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Now,
    ) -> ErrorCode {
        if self.state == State::Dead {
            return ErrorCode::COORDINATOR_NOT_AVAILABLE;
        }
        let i = match self.validate_member(member_id, instance_id) {
            Ok(i) => i,
            Err(code) => return code,
        };
        if generation != self.generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        let m = &mut self.members[i];
        m.heartbeat_deadline = now + m.session_timeout_ms as i64;
        match self.state {
            State::PreparingRebalance => ErrorCode::REBALANCE_IN_PROGRESS,
            State::Empty => ErrorCode::UNKNOWN_MEMBER_ID,
            _ => ErrorCode::NONE,
        }
    }

    // ------------------------------------------------------------ LeaveGroup

    /// Handles one leaving member (LeaveGroup v3+ names several).
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Now,
        cfg: &GroupConfig,
        fx: &mut Effects,
    ) -> ErrorCode {
        if self.state == State::Dead {
            return ErrorCode::COORDINATOR_NOT_AVAILABLE;
        }
        if let Some(instance) = instance_id {
            let Some(i) = self.static_member(instance) else {
                return ErrorCode::UNKNOWN_MEMBER_ID;
            };
            if !member_id.is_empty() && self.members[i].id != member_id {
                return ErrorCode::FENCED_INSTANCE_ID;
            }
            self.remove_member(i, now, cfg, fx);
            return ErrorCode::NONE;
        }
        if self.pending.remove(member_id).is_some() {
            self.maybe_complete_join(now, fx);
            return ErrorCode::NONE;
        }
        match self.member(member_id) {
            Some(i) => {
                self.remove_member(i, now, cfg, fx);
                ErrorCode::NONE
            }
            None => ErrorCode::UNKNOWN_MEMBER_ID,
        }
    }

    fn remove_member(&mut self, i: usize, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
        let m = self.members.remove(i);
        if let Some(w) = m.awaiting_join {
            fx.reply(
                w,
                Answer::Join(JoinResult::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    m.id.clone(),
                )),
            );
        }
        if let Some(w) = m.awaiting_sync {
            fx.reply(
                w,
                Answer::Sync(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID)),
            );
        }
        if self.is_leader(&m.id) {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        match self.state {
            State::Stable | State::CompletingRebalance => {
                self.prepare_rebalance(now, cfg, fx);
                self.maybe_complete_join(now, fx);
            }
            State::PreparingRebalance => self.maybe_complete_join(now, fx),
            State::Empty | State::Dead => {}
        }
    }

    // ------------------------------------------------------------ time

    /// Acts on every deadline due at `now`.
    pub fn tick(&mut self, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
        if let Some(c) = &mut self.consumer {
            c.tick(now);
            fx.writes.extend(c.persist(&self.id));
            return;
        }
        let lapsed: Vec<ByteString> = self
            .pending
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in lapsed {
            self.pending.remove(&id);
            self.maybe_complete_join(now, fx);
        }
        while let Some(i) = self.members.iter().position(|m| m.expired(now)) {
            self.remove_member(i, now, cfg, fx);
        }
        if self.state == State::PreparingRebalance && self.join_deadline.is_some_and(|d| d <= now) {
            match self.initial_delay {
                Some(d) if d.new_member_added && d.remaining > 0 => {
                    let delay = d.delay.min(d.remaining);
                    self.initial_delay = Some(InitialDelay {
                        delay: d.delay,
                        remaining: d.remaining - delay,
                        new_member_added: false,
                    });
                    self.join_deadline = Some(now + delay);
                }
                _ => self.complete_join(now, fx),
            }
        }
        if self.sync_deadline.is_some_and(|d| d <= now) {
            self.sync_deadline = None;
            let before = self.members.len();
            let mut gone = Vec::new();
            self.members.retain(|m| {
                if m.synced {
                    true
                } else {
                    gone.push(m.clone());
                    false
                }
            });
            for m in gone {
                if let Some(w) = m.awaiting_join {
                    fx.reply(
                        w,
                        Answer::Join(JoinResult::error(
                            ErrorCode::UNKNOWN_MEMBER_ID,
                            m.id.clone(),
                        )),
                    );
                }
                if self.is_leader(&m.id) {
                    self.leader = self.members.first().map(|m| m.id.clone());
                }
            }
            if self.members.len() != before {
                self.prepare_rebalance(now, cfg, fx);
                self.maybe_complete_join(now, fx);
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
        if let Some(c) = &self.consumer {
            if generation < 0 && member_id.is_empty() {
                return if c.members.is_empty() {
                    Ok(())
                } else {
                    Err(ErrorCode::UNKNOWN_MEMBER_ID)
                };
            }
            return c.validate_member_epoch(member_id, generation);
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
        if self.state == State::CompletingRebalance {
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

    /// Topics some member subscribes to (consumer protocol groups).
    pub fn subscribed(&self, topic: &str) -> bool {
        if let Some(c) = &self.consumer {
            return c
                .members
                .values()
                .any(|m| m.subscribed.iter().any(|t| t == topic));
        }
        self.protocol_type.as_deref() == Some("consumer")
            && self.members.iter().any(|m| {
                m.subscribed_topics(self.protocol.as_ref())
                    .iter()
                    .any(|t| t == topic)
            })
    }

    /// Expires offsets past retention (Kafka's rules: an empty group with
    /// a protocol loses all its offsets `retention` after it became empty; a
    /// group without members or protocol loses each offset `retention`
    /// after its commit; a stable consumer group loses offsets of topics no
    /// member subscribes to; an explicit expiry wins). A group left empty
    /// and without offsets is deleted.
    pub fn expire_offsets(&mut self, now: Now, retention: i64, fx: &mut Effects) {
        let empty = self.state == State::Empty && !self.has_members();
        let consumer = self.protocol_type.as_deref() == Some("consumer") || self.consumer.is_some();
        if !empty && !consumer {
            return;
        }
        let mut expired = Vec::new();
        for ((topic, p), c) in &self.offsets {
            if !empty && self.subscribed(topic) {
                continue;
            }
            let base = if empty && self.protocol_type.is_some() {
                self.state_since
            } else {
                c.commit_timestamp
            };
            let due = if c.expire_timestamp >= 0 {
                now >= c.expire_timestamp
            } else {
                now - base >= retention
            };
            if due {
                expired.push((topic.clone(), *p));
            }
        }
        for (topic, p) in expired {
            self.offsets.remove(&(topic.clone(), p));
            fx.offset(&self.id, &topic, p, None);
        }
        if empty && self.offsets.is_empty() && self.pending.is_empty() {
            self.transition(State::Dead, now);
            if let Some(c) = &mut self.consumer {
                fx.writes.extend(c.erase());
            }
            fx.group(&self.id, None);
        }
    }
}

fn self_sync_ok(
    protocol_type: &Option<ByteString>,
    protocol: &Option<ByteString>,
    m: &Member,
) -> SyncResult {
    SyncResult {
        error: ErrorCode::NONE,
        protocol_type: protocol_type.clone(),
        protocol_name: protocol.clone(),
        assignment: m.assignment.clone(),
    }
}
