//! JoinGroup and the join phase of a rebalance: members join or rejoin,
//! the group prepares a rebalance, and completes it when every member has
//! rejoined or time is up.

use bytes::Bytes;
use bytestring::ByteString;

use super::{Answer, ClassicGroup, InitialDelay, JoinResult, Member, State, SyncResult};
use crate::coordinator::group::{Effects, GroupConfig};
use crate::coordinator::Waiter;
use crate::protocol::messages::join_group_response::JoinGroupResponseMember;
use crate::protocol::ErrorCode;
use crate::state::Now;

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

impl ClassicGroup {
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
            State::PreparingRebalance { .. } => {
                self.update_member(i, &a, Some(waiter));
                self.maybe_complete_join(now, fx);
                None
            }
            State::CompletingRebalance { .. } if self.members[i].protocols == a.protocols => {
                // A JoinGroup sent again (say after a lost response): the
                // same answer as the one the rebalance gave.
                Some(self.join_result(i, false))
            }
            State::Stable { .. }
                if !self.is_leader(&a.member_id) && self.members[i].protocols == a.protocols =>
            {
                Some(self.join_result(i, false))
            }
            State::CompletingRebalance { .. } | State::Stable { .. } => {
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
            State::Stable { .. } if unchanged => {
                self.update_member(i, &a, None);
                self.members[i].heartbeat_deadline = now + a.session_timeout_ms as i64;
                fx.group(&self.id, Some(self.metadata_value()));
                let leader = self.is_leader(&self.members[i].id);
                // v9+ (KIP-814): a static leader learns the members but need
                // not assign again.
                let skip = leader && a.version >= 9;
                Some(self.join_result(i, skip))
            }
            State::PreparingRebalance { .. } => {
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
        if let State::PreparingRebalance {
            initial_delay: Some(d),
            ..
        } = &mut self.state
        {
            d.new_member_added = true;
        }
        self.prepare_rebalance(now, cfg, fx);
        self.maybe_complete_join(now, fx);
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

    /// Starts a rebalance unless one is being prepared already.
    pub(super) fn prepare_rebalance(&mut self, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
        if !matches!(
            self.state,
            State::Empty | State::Stable { .. } | State::CompletingRebalance { .. }
        ) {
            return;
        }
        if matches!(self.state, State::CompletingRebalance { .. }) {
            // The assignment being made is void: members must rejoin.
            for m in &mut self.members {
                m.assignment = Bytes::new();
                if let Some(w) = m.awaiting_sync.take() {
                    // Answered: its session runs again from now.
                    m.renew(now);
                    fx.reply(
                        w,
                        Answer::Sync(SyncResult::error(ErrorCode::REBALANCE_IN_PROGRESS)),
                    );
                }
            }
        }
        let timeout = self.rebalance_timeout();
        let next = if self.state == State::Empty {
            let delay = cfg.initial_rebalance_delay_ms;
            State::PreparingRebalance {
                join_deadline: now + delay.min(timeout),
                initial_delay: Some(InitialDelay {
                    delay,
                    remaining: (timeout - delay).max(0),
                    new_member_added: false,
                }),
            }
        } else {
            State::PreparingRebalance {
                join_deadline: now + timeout,
                initial_delay: None,
            }
        };
        self.transition(next, now);
    }

    /// Completes the join phase once every member has rejoined (not while
    /// the initial delay runs).
    pub(super) fn maybe_complete_join(&mut self, now: Now, fx: &mut Effects) {
        if matches!(
            self.state,
            State::PreparingRebalance {
                initial_delay: None,
                ..
            }
        ) && self.pending.is_empty()
            && self.members.iter().all(|m| m.awaiting_join.is_some())
        {
            self.complete_join(now, fx);
        }
    }

    /// The join phase's deadline passed: the initial delay is extended
    /// while members keep arriving, else the phase completes.
    pub(super) fn join_deadline_passed(&mut self, now: Now, fx: &mut Effects) {
        let State::PreparingRebalance {
            join_deadline,
            initial_delay,
        } = self.state
        else {
            return;
        };
        if join_deadline > now {
            return;
        }
        match initial_delay {
            Some(d) if d.new_member_added && d.remaining > 0 => {
                let delay = d.delay.min(d.remaining);
                // Still preparing: the state's timestamp stays.
                self.state = State::PreparingRebalance {
                    join_deadline: now + delay,
                    initial_delay: Some(InitialDelay {
                        delay: d.delay,
                        remaining: d.remaining - delay,
                        new_member_added: false,
                    }),
                };
            }
            _ => self.complete_join(now, fx),
        }
    }

    fn complete_join(&mut self, now: Now, fx: &mut Effects) {
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
        self.transition(
            State::CompletingRebalance {
                sync_deadline: now + self.rebalance_timeout(),
            },
            now,
        );
        for i in 0..self.members.len() {
            let Some(w) = self.members[i].awaiting_join.take() else {
                continue;
            };
            self.members[i].synced = false;
            self.members[i].renew(now);
            let result = self.join_result(i, false);
            fx.reply(w, Answer::Join(result));
        }
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

    /// The JoinGroup answer for member `i` in the current generation.
    fn join_result(&self, i: usize, skip_assignment: bool) -> JoinResult {
        let m = &self.members[i];
        let leader = self.is_leader(&m.id);
        let completing = matches!(self.state, State::CompletingRebalance { .. });
        let members = if leader && (completing || skip_assignment) {
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
}
