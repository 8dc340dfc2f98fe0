//! SyncGroup, Heartbeat and LeaveGroup of a classic group, and what its
//! deadlines do when they pass.

use bytes::Bytes;
use bytestring::ByteString;

use super::{Answer, ClassicGroup, JoinResult, Member, State, SyncResult};
use crate::coordinator::group::{Effects, GroupConfig};
use crate::coordinator::Waiter;
use crate::protocol::ErrorCode;
use crate::state::Now;

/// What a SyncGroup asks.
#[derive(Debug, Clone)]
pub(crate) struct SyncArgs {
    pub member_id: ByteString,
    pub instance_id: Option<ByteString>,
    pub generation: i32,
    /// v5+: must match the group's.
    pub protocol_type: Option<ByteString>,
    pub protocol_name: Option<ByteString>,
    /// The leader's assignment, by member id.
    pub assignments: Vec<(ByteString, Bytes)>,
}

fn sync_ok(
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

impl ClassicGroup {
    /// Handles a SyncGroup: `Some` answers at once, `None` holds it until
    /// the leader's assignment arrives.
    pub fn sync(
        &mut self,
        a: SyncArgs,
        waiter: Waiter,
        now: Now,
        fx: &mut Effects,
    ) -> Option<SyncResult> {
        if self.state == State::Dead {
            return Some(SyncResult::error(ErrorCode::COORDINATOR_NOT_AVAILABLE));
        }
        let i = match self.validate_member(&a.member_id, a.instance_id.as_deref()) {
            Ok(i) => i,
            Err(code) => return Some(SyncResult::error(code)),
        };
        if a.generation != self.generation {
            return Some(SyncResult::error(ErrorCode::ILLEGAL_GENERATION));
        }
        if a.protocol_type
            .as_ref()
            .is_some_and(|t| self.protocol_type.as_ref() != Some(t))
            || a.protocol_name
                .as_ref()
                .is_some_and(|n| self.protocol.as_ref() != Some(n))
        {
            return Some(SyncResult::error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL));
        }
        match self.state {
            State::Empty | State::Dead => Some(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID)),
            State::PreparingRebalance { .. } => {
                Some(SyncResult::error(ErrorCode::REBALANCE_IN_PROGRESS))
            }
            State::CompletingRebalance { sync_deadline } => {
                self.members[i].awaiting_sync = Some(waiter);
                self.members[i].synced = true;
                if self.is_leader(&a.member_id) {
                    for m in &mut self.members {
                        m.assignment = a
                            .assignments
                            .iter()
                            .find(|(id, _)| *id == m.id)
                            .map(|(_, a)| a.clone())
                            .unwrap_or_default();
                    }
                    self.transition(
                        State::Stable {
                            sync_deadline: Some(sync_deadline),
                        },
                        now,
                    );
                    fx.group(&self.id, Some(self.metadata_value()));
                    for m in &mut self.members {
                        if let Some(w) = m.awaiting_sync.take() {
                            m.renew(now);
                            fx.reply(
                                w,
                                Answer::Sync(sync_ok(&self.protocol_type, &self.protocol, m)),
                            );
                        }
                    }
                }
                None
            }
            State::Stable { .. } => {
                let m = &mut self.members[i];
                m.synced = true;
                m.renew(now);
                Some(sync_ok(&self.protocol_type, &self.protocol, m))
            }
        }
    }

    /// The group metadata record the leader's SyncGroup of `generation`
    /// stored could not be replicated: unless the group moved on, every
    /// assignment is void and the group rebalances (Kafka's `storeGroup`
    /// callback with an error).
    pub fn store_failed(&mut self, generation: i32, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
        if generation != self.generation || !matches!(self.state, State::Stable { .. }) {
            return;
        }
        for m in &mut self.members {
            m.assignment = Bytes::new();
        }
        self.prepare_rebalance(now, cfg, fx);
    }

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
        self.members[i].renew(now);
        match self.state {
            State::PreparingRebalance { .. } => ErrorCode::REBALANCE_IN_PROGRESS,
            State::Empty => ErrorCode::UNKNOWN_MEMBER_ID,
            _ => ErrorCode::NONE,
        }
    }

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
            State::Stable { .. } | State::CompletingRebalance { .. } => {
                self.prepare_rebalance(now, cfg, fx);
                self.maybe_complete_join(now, fx);
            }
            State::PreparingRebalance { .. } => self.maybe_complete_join(now, fx),
            State::Empty | State::Dead => {}
        }
    }

    /// Acts on every deadline due at `now`: pending member ids lapse,
    /// silent members are removed, the join phase ends, members that never
    /// synced are removed.
    pub fn tick(&mut self, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
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
        self.join_deadline_passed(now, fx);
        if self.state.sync_deadline().is_some_and(|d| d <= now) {
            self.sync_deadline_passed(now, cfg, fx);
        }
    }

    /// Members that joined the rebalance but never sent SyncGroup go, and
    /// the group rebalances without them.
    fn sync_deadline_passed(&mut self, now: Now, cfg: &GroupConfig, fx: &mut Effects) {
        if let State::Stable { sync_deadline } = &mut self.state {
            *sync_deadline = None;
        }
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
        // While completing, the leader has not synced (its SyncGroup makes
        // the group stable), so someone always goes; the deadline passes
        // either way.
        if self.members.len() != before || matches!(self.state, State::CompletingRebalance { .. }) {
            self.prepare_rebalance(now, cfg, fx);
            self.maybe_complete_join(now, fx);
        }
    }
}
