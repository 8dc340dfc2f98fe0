//! The coordinator's side of the broker: creating `__consumer_offsets`,
//! running group operations against the broker's storage and ids, and
//! committing and reading offsets.

use bytestring::ByteString;

use super::classic::JoinArgs;
use super::consumer::{ConsumerGroup, HeartbeatArgs, HeartbeatOutcome, TopicMeta};
use super::{
    append, uuid_text, Committed, Effects, Group, GroupSummary, JoinResult, State, Waiter,
    OFFSETS_TOPIC,
};
use crate::broker::{Broker, Now};
use crate::protocol::ErrorCode;
use crate::storage::Storage;

impl<S: Storage> Broker<S> {
    /// Every live group with its state, members and committed offsets.
    pub fn groups(&self) -> Vec<GroupSummary> {
        self.groups
            .groups
            .values()
            .filter(|g| g.state != State::Dead)
            .map(|g| GroupSummary {
                id: g.id.to_string(),
                group_type: g.type_name(),
                state: g.state_name(),
                protocol_type: g.protocol_type.as_deref().unwrap_or("").to_string(),
                epoch: g.consumer.as_ref().map_or(g.generation, |c| c.epoch),
                members: match &g.consumer {
                    Some(c) => c.members.keys().map(|m| m.to_string()).collect(),
                    None => g.members.iter().map(|m| m.id.to_string()).collect(),
                },
                offsets: g
                    .offsets
                    .iter()
                    .map(|((t, p), c)| (t.to_string(), *p, c.offset))
                    .collect(),
            })
            .collect()
    }

    /// Creates `__consumer_offsets` if it does not exist yet, with
    /// `offsets.topic.num.partitions` partitions and Kafka's configs for it
    /// (compacted, producer compression, 100 MiB segments).
    pub(crate) fn ensure_offsets_topic(&mut self, now: Now) -> Result<(), ErrorCode> {
        if self.cluster.topics.contains_key(OFFSETS_TOPIC) {
            return Ok(());
        }
        let configs = [
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("compression.type".to_string(), "producer".to_string()),
            ("segment.bytes".to_string(), "104857600".to_string()),
        ];
        let partitions = self.groups.config.offsets_partitions;
        self.create_topic(OFFSETS_TOPIC, partitions, &configs, now)
            .map(|_| ())
            .map_err(|_| ErrorCode::COORDINATOR_NOT_AVAILABLE)
    }

    /// Runs a JoinGroup against group `group_id` (created if the member is new).
    pub(crate) fn group_join(
        &mut self,
        group_id: &ByteString,
        args: JoinArgs,
        waiter: Waiter,
        now: Now,
    ) -> Option<JoinResult> {
        let coord = &mut self.groups;
        if !coord.groups.contains_key(group_id) {
            if !args.member_id.is_empty() {
                return Some(JoinResult::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    args.member_id,
                ));
            }
            coord
                .groups
                .insert(group_id.clone(), Group::new(group_id.clone(), now));
        }
        let ids = &mut self.ids;
        let mut new_id = |prefix: &str| -> ByteString {
            format!("{prefix}-{}", uuid_text(ids.next_u64(), ids.next_u64())).into()
        };
        let mut fx = Effects::default();
        let g = coord.groups.get_mut(group_id)?;
        let r = g.join(args, waiter, &mut new_id, now, &coord.config, &mut fx);
        coord.absorb(group_id, fx);
        coord.reschedule(group_id);
        r
    }

    /// Runs `f` on an existing group with an effects sink, then queues the
    /// effects; `None` when the group does not exist.
    pub(crate) fn with_group<T>(
        &mut self,
        group_id: &ByteString,
        f: impl FnOnce(&mut Group, &super::GroupConfig, &mut Effects) -> T,
    ) -> Option<T> {
        let coord = &mut self.groups;
        let g = coord.groups.get_mut(group_id)?;
        let mut fx = Effects::default();
        let r = f(g, &coord.config, &mut fx);
        coord.absorb(group_id, fx);
        coord.reschedule(group_id);
        Some(r)
    }

    /// Writes queued `__consumer_offsets` records, in order, one batch per
    /// run of records for the same partition.
    pub(crate) fn flush_group_writes(&mut self, now: Now) -> Result<(), ErrorCode> {
        if self.groups.writes.is_empty() {
            return Ok(());
        }
        self.ensure_offsets_topic(now)?;
        let writes = std::mem::take(&mut self.groups.writes);
        let mut result = Ok(());
        let mut i = 0;
        while i < writes.len() {
            let p = writes[i].0;
            let mut j = i;
            while j < writes.len() && writes[j].0 == p {
                j += 1;
            }
            let recs: Vec<_> = writes[i..j]
                .iter()
                .map(|(_, k, v)| (k.clone(), v.clone()))
                .collect();
            if append(&mut self.storage, p, &recs, now).is_err() {
                result = Err(ErrorCode::KAFKA_STORAGE_ERROR);
            }
            i = j;
        }
        result
    }

    /// Answers held JoinGroup and SyncGroup requests the coordinator has
    /// decided, and moves the group timer.
    pub(crate) fn settle_groups(&mut self, now: Now) {
        // Effects come from timers and from other members' requests; a
        // failed write cannot be undone here, and the next commit or
        // rebalance writes the group again.
        let _ = self.flush_group_writes(now);
        while !self.groups.ready.is_empty() {
            let ready = std::mem::take(&mut self.groups.ready);
            for (w, answer) in ready {
                self.answer_held(w, answer, now);
            }
            let _ = self.flush_group_writes(now);
        }
        self.set_group_timer();
    }

    /// Commits offsets of `group_id`: writes the records, then updates
    /// memory. One error for all partitions, or per partition errors from
    /// `each`.
    pub(crate) fn commit_offsets(
        &mut self,
        group_id: &ByteString,
        offsets: Vec<(ByteString, i32, Committed)>,
        now: Now,
    ) -> Result<(), ErrorCode> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut fx = Effects::default();
        for (t, p, c) in &offsets {
            fx.offset(group_id, t, *p, Some(c));
        }
        self.groups.absorb(group_id, fx);
        self.flush_group_writes(now)?;
        let g = self
            .groups
            .groups
            .entry(group_id.clone())
            .or_insert_with(|| Group::new(group_id.clone(), now));
        for (t, p, c) in offsets {
            g.offsets.insert((t, p), c);
        }
        Ok(())
    }

    /// Deletes a group with its offsets: tombstones, then memory.
    pub(crate) fn delete_group(&mut self, group_id: &ByteString, now: Now) -> ErrorCode {
        let Some(g) = self.groups.groups.get(group_id) else {
            return ErrorCode::GROUP_ID_NOT_FOUND;
        };
        if g.state == State::Dead {
            return ErrorCode::GROUP_ID_NOT_FOUND;
        }
        if g.has_members() || g.state != State::Empty {
            return ErrorCode::NON_EMPTY_GROUP;
        }
        let mut fx = Effects::default();
        for (t, p) in g.offsets.keys() {
            fx.offset(group_id, t, *p, None);
        }
        if let Some(c) = &g.consumer {
            fx.writes
                .extend(c.persisted.keys().map(|k| (k.clone(), None)));
        }
        fx.group(group_id, None);
        self.groups.absorb(group_id, fx);
        if let Err(code) = self.flush_group_writes(now) {
            return code;
        }
        if let Some(g) = self.groups.groups.get_mut(group_id) {
            g.state = State::Dead;
        }
        self.groups.reschedule(group_id);
        ErrorCode::NONE
    }

    /// The group timer follows the coordinator's earliest deadline.
    pub(crate) fn set_group_timer(&mut self) {
        self.groups.timer_moved = false;
        let next = self.groups.next_deadline();
        self.set_groups_deadline(next);
    }

    /// A fresh member id (a Java-style UUID), for v0 ConsumerGroupHeartbeat.
    pub(crate) fn new_member_id(&mut self) -> ByteString {
        uuid_text(self.ids.next_u64(), self.ids.next_u64()).into()
    }

    /// Runs a ConsumerGroupHeartbeat against `group_id`, creating the
    /// group at a join, or converting an empty classic group.
    pub(crate) fn consumer_heartbeat(
        &mut self,
        group_id: &ByteString,
        args: HeartbeatArgs,
        now: Now,
    ) -> HeartbeatOutcome {
        let cluster = &self.cluster;
        let topics = || -> Vec<TopicMeta> {
            cluster
                .topics
                .values()
                .map(|t| (t.name.as_str().into(), t.id, t.partitions.len() as i32))
                .collect()
        };
        let session = self.groups.config.consumer_session_timeout_ms;
        let coord = &mut self.groups;
        let g = match coord.groups.get_mut(group_id) {
            Some(g) => g,
            None if args.epoch == 0 => coord
                .groups
                .entry(group_id.clone())
                .or_insert_with(|| Group::new(group_id.clone(), now)),
            None => {
                return HeartbeatOutcome::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    format!("group {group_id} has no member {}", args.member_id),
                )
            }
        };
        if g.consumer.is_none() {
            if g.has_members() {
                return HeartbeatOutcome::error(
                    ErrorCode::GROUP_ID_NOT_FOUND,
                    format!("Group {group_id} is not a consumer group."),
                );
            }
            g.consumer = Some(ConsumerGroup::default());
            g.protocol_type = Some("consumer".into());
            g.protocol = None;
            g.leader = None;
        }
        let Some(c) = g.consumer.as_mut() else {
            return HeartbeatOutcome::error(ErrorCode::UNKNOWN_SERVER_ERROR, "no group");
        };
        let out = c.heartbeat(args, &topics, session, now);
        let writes = c.persist(group_id);
        coord.absorb(
            group_id,
            Effects {
                writes,
                replies: Vec::new(),
            },
        );
        coord.reschedule(group_id);
        out
    }
}
