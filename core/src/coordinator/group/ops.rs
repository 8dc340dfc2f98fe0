//! The group operations: each takes a request (or the time), changes one
//! group, and returns its [`Decision`].

use bytestring::ByteString;

use super::classic::{ClassicGroup, JoinArgs, JoinResult, State, SyncArgs, SyncResult};
use super::consumer::{ConsumerGroup, HeartbeatArgs, HeartbeatOutcome, TopicMeta};
use super::offsets::OffsetChange;
use super::{delete, Decision, Effects, Group, GroupCoordinator};
use crate::coordinator::Waiter;
use crate::protocol::ErrorCode;
use crate::state::ids::Ids;
use crate::state::Now;

impl GroupCoordinator {
    /// JoinGroup: `reply` is the answer, or `None` when the request is held
    /// until the rebalance completes. A member without an id creates the
    /// group; an empty consumer group becomes a classic one.
    pub fn join(
        &mut self,
        now: Now,
        group_id: &ByteString,
        args: JoinArgs,
        waiter: Waiter,
        ids: &mut Ids,
    ) -> Decision<Option<JoinResult>> {
        let mut d = self.decide(group_id, None);
        if let Err(code) = self.coordinates(group_id) {
            d.reply = Some(JoinResult::error(code, args.member_id));
            return d;
        }
        let mut new_id =
            |prefix: &str| -> ByteString { format!("{prefix}-{}", ids.uuid_text()).into() };
        let g = match self.groups.get_mut(group_id) {
            None if !args.member_id.is_empty() => {
                d.reply = Some(JoinResult::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    args.member_id,
                ));
                return d;
            }
            None => self
                .groups
                .entry(group_id.clone())
                .or_insert_with(|| Group::Classic(ClassicGroup::new(group_id.clone(), now))),
            Some(Group::Consumer(c)) if !c.members.is_empty() => {
                // Kafka's answer when classic members may not join a consumer
                // group (group.consumer.migration.policy=disabled).
                d.reply = Some(JoinResult::error(
                    ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                    args.member_id,
                ));
                return d;
            }
            Some(g) => g,
        };
        if let Group::Consumer(c) = g {
            // An empty consumer group becomes a classic one.
            c.erase(&mut d.fx);
            *g = Group::Classic(ClassicGroup::new(group_id.clone(), now));
        }
        let Group::Classic(g) = g else {
            return d;
        };
        d.reply = g.join(args, waiter, &mut new_id, now, &self.config, &mut d.fx);
        d
    }

    /// SyncGroup: `reply` is the answer, or `None` when the request is held
    /// until the leader's assignment arrives.
    pub fn sync(
        &mut self,
        now: Now,
        group_id: &ByteString,
        args: SyncArgs,
        waiter: Waiter,
    ) -> Decision<Option<SyncResult>> {
        let mut d = self.decide(group_id, None);
        if let Err(code) = self.coordinates(group_id) {
            d.reply = Some(SyncResult::error(code));
            return d;
        }
        d.reply = match self.groups.get_mut(group_id) {
            Some(Group::Classic(g)) => g.sync(args, waiter, now, &mut d.fx),
            // A consumer group has no classic members to sync.
            Some(Group::Consumer(_)) | None => {
                Some(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID))
            }
        };
        d
    }

    /// Heartbeat of a classic member.
    pub fn heartbeat(
        &mut self,
        now: Now,
        group_id: &ByteString,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Decision<ErrorCode> {
        // A heartbeat writes nothing, so there is nothing to undo.
        if let Err(code) = self.coordinates(group_id) {
            return Self::answer(group_id, code);
        }
        let reply = match self.groups.get_mut(group_id) {
            Some(Group::Classic(g)) => g.heartbeat(member_id, instance_id, generation, now),
            _ => ErrorCode::UNKNOWN_MEMBER_ID,
        };
        Self::answer(group_id, reply)
    }

    /// LeaveGroup: a code per leaving member.
    pub fn leave(
        &mut self,
        now: Now,
        group_id: &ByteString,
        leaving: &[(ByteString, Option<ByteString>)],
    ) -> Decision<Vec<ErrorCode>> {
        let mut d = self.decide(group_id, vec![ErrorCode::UNKNOWN_MEMBER_ID; leaving.len()]);
        if let Err(code) = self.coordinates(group_id) {
            d.reply = vec![code; leaving.len()];
            return d;
        }
        if let Some(Group::Classic(g)) = self.groups.get_mut(group_id) {
            d.reply = leaving
                .iter()
                .map(|(id, inst)| g.leave(id, inst.as_deref(), now, &self.config, &mut d.fx))
                .collect();
        }
        d
    }

    /// ConsumerGroupHeartbeat: a join (epoch 0) creates the group, or
    /// converts an empty classic group.
    pub fn consumer_heartbeat(
        &mut self,
        now: Now,
        group_id: &ByteString,
        args: HeartbeatArgs,
        topics: &dyn Fn() -> Vec<TopicMeta>,
    ) -> Decision<HeartbeatOutcome> {
        let mut d = self.decide(group_id, HeartbeatOutcome::default());
        if let Err(code) = self.coordinates(group_id) {
            d.reply = HeartbeatOutcome::error(
                code,
                format!("this broker does not coordinate group {group_id}"),
            );
            return d;
        }
        let session = self.config.consumer_session_timeout_ms;
        let g = match self.groups.get_mut(group_id) {
            Some(g) => g,
            None if args.epoch == 0 => self
                .groups
                .entry(group_id.clone())
                .or_insert_with(|| Group::Consumer(ConsumerGroup::new(group_id.clone()))),
            None => {
                d.reply = HeartbeatOutcome::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    format!("group {group_id} has no member {}", args.member_id),
                );
                return d;
            }
        };
        if let Group::Classic(c) = g {
            if c.has_members() {
                d.reply = HeartbeatOutcome::error(
                    ErrorCode::GROUP_ID_NOT_FOUND,
                    format!("Group {group_id} is not a consumer group."),
                );
                return d;
            }
            *g = Group::Consumer(ConsumerGroup::new(group_id.clone()));
        }
        if let Group::Consumer(c) = g {
            d.reply = c.heartbeat(args, topics, session, now, &mut d.fx);
        }
        d
    }

    /// DeleteGroups, for one group: an empty group goes, with tombstones for
    /// its offsets and its records.
    pub fn delete_group(&mut self, now: Now, group_id: &ByteString) -> Decision<ErrorCode> {
        let mut d = self.decide(group_id, ErrorCode::NONE);
        if let Err(code) = self.coordinates(group_id) {
            d.reply = code;
            return d;
        }
        let Some(g) = self.groups.get_mut(group_id).filter(|g| !g.is_dead()) else {
            d.reply = ErrorCode::GROUP_ID_NOT_FOUND;
            return d;
        };
        let empty = match g {
            Group::Classic(c) => !c.has_members() && c.state == State::Empty,
            Group::Consumer(c) => c.members.is_empty(),
        };
        if !empty {
            d.reply = ErrorCode::NON_EMPTY_GROUP;
            return d;
        }
        for (t, p) in self
            .offsets
            .get(group_id)
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
        {
            d.fx.offset(group_id, t, *p, None);
        }
        d.offsets.push(OffsetChange::DeleteAll);
        delete(g, now, &mut d.fx);
        d
    }

    /// Runs the deadlines due at `now`: one decision per group.
    pub fn handle_timeout(&mut self, now: Now) -> Vec<Decision<()>> {
        let mut out = Vec::new();
        while let Some(id) = self.deadlines.pop_due(now) {
            self.retry_at.remove(&id);
            let mut d = self.decide(&id, ());
            d.timer = true;
            if let Some(g) = self.groups.get_mut(&id) {
                let mut fx = Effects::default();
                match g {
                    Group::Classic(c) => c.tick(now, &self.config, &mut fx),
                    Group::Consumer(c) => c.tick(now, &mut fx),
                }
                d.fx = fx;
            }
            out.push(d);
        }
        out
    }
}
