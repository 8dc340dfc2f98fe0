//! Rebuilding groups and offsets from `__consumer_offsets` when the broker
//! starts: every record in log order, the latest per key winning, as
//! Kafka's coordinator loads a partition.

use bytestring::ByteString;

use super::classic::ClassicGroup;
use super::consumer::{Assign, ConsumerGroup, MemberState};
use super::offsets::{Committed, OffsetChange};
use super::records::{self, ConsumerRecord, Entry};
use super::{Group, GroupCoordinator};
use crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_value as consumer_tp;
use crate::protocol::Uuid;
use crate::state::cluster::for_each_batch;
use crate::state::producers::marker_of;
use crate::state::{Now, OFFSETS_TOPIC};
use crate::storage::{Storage, TopicPartition};

impl GroupCoordinator {
    /// Rebuilds groups and offsets from `__consumer_offsets`. Members of
    /// groups that were stable come back stable, and must heartbeat within
    /// their session timeout from `now` (as in Kafka after a coordinator
    /// moves).
    pub fn load<S: Storage>(&mut self, storage: &S, now: Now) {
        // Each partition in order; records of one group all live in one.
        let mut parts: Vec<TopicPartition> = storage
            .logs()
            .into_iter()
            .filter(|tp| tp.topic == OFFSETS_TOPIC)
            .collect();
        parts.sort_by_key(|tp| tp.partition);
        for tp in &parts {
            self.replay_partition(storage, tp);
        }
        let ids: Vec<ByteString> = self.groups.keys().cloned().collect();
        self.loaded(ids, now);
    }

    /// Rebuilds the groups and offsets of partition `partition` of
    /// `__consumer_offsets` from its log, when this broker becomes its
    /// leader (Kafka's `onElection`): as [`GroupCoordinator::load`], for
    /// the groups of one partition.
    pub fn load_partition<S: Storage>(&mut self, storage: &S, partition: i32, now: Now) {
        let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
        self.replay_partition(storage, &tp);
        let n = self.config.offsets_partitions;
        let ids: Vec<ByteString> = self
            .groups
            .keys()
            .filter(|id| records::partition_for(id, n) == partition)
            .cloned()
            .collect();
        self.loaded(ids, now);
    }

    /// Applies every record of `tp`, in log order.
    fn replay_partition<S: Storage>(&mut self, storage: &S, tp: &TopicPartition) {
        for_each_batch(storage, tp, |view, bytes| {
            let h = view.header;
            if h.is_control() {
                // A transaction's end: its offsets count, or not.
                if let Some(m) = marker_of(view, bytes) {
                    self.complete_txn(tp.partition, h.producer_id, m.commit);
                }
                return;
            }
            for rec in view.records().flatten() {
                let Some(key) = rec.key else { continue };
                let key = bytes.slice_ref(key);
                let value = rec.value.map(|v| bytes.slice_ref(v));
                match records::decode(&key, value.as_ref()) {
                    Some(Entry::Offset(k, Some(v))) if h.is_transactional() => {
                        let c = Committed {
                            offset: v.offset,
                            leader_epoch: v.leader_epoch,
                            metadata: v.metadata,
                            commit_timestamp: v.commit_timestamp,
                            expire_timestamp: v.expire_timestamp,
                        };
                        let change = OffsetChange::Pending(
                            h.producer_id,
                            vec![(k.topic.clone(), k.partition, c)],
                        );
                        self.apply_offsets(&k.group, change);
                    }
                    Some(entry) => self.replay(entry),
                    None => {}
                }
            }
        });
    }

    /// The loaded groups `ids` come back to life at `now`.
    fn loaded(&mut self, ids: Vec<ByteString>, now: Now) {
        let session = self.config.consumer_session_timeout_ms;
        for id in ids {
            match self.groups.get_mut(&id) {
                Some(Group::Classic(g)) => g.loaded(now),
                Some(Group::Consumer(c)) => c.loaded(now, session),
                None => {}
            }
            self.reschedule(&id);
        }
    }

    fn classic(&mut self, id: &ByteString) -> &mut ClassicGroup {
        let g = self
            .groups
            .entry(id.clone())
            .or_insert_with(|| Group::Classic(ClassicGroup::new(id.clone(), 0)));
        if let Group::Consumer(_) = g {
            *g = Group::Classic(ClassicGroup::new(id.clone(), 0));
        }
        match g {
            Group::Classic(c) => c,
            Group::Consumer(_) => unreachable!("replaced above"),
        }
    }

    fn replay(&mut self, entry: Entry) {
        match entry {
            Entry::Offset(k, v) => {
                let key = (ByteString::from(k.topic.as_ref()), k.partition);
                match v {
                    Some(v) => {
                        self.groups.entry(k.group.clone()).or_insert_with(|| {
                            Group::Classic(ClassicGroup::new(k.group.clone(), 0))
                        });
                        self.offsets.entry(k.group.clone()).or_default().insert(
                            key,
                            Committed {
                                offset: v.offset,
                                leader_epoch: v.leader_epoch,
                                metadata: v.metadata,
                                commit_timestamp: v.commit_timestamp,
                                expire_timestamp: v.expire_timestamp,
                            },
                        );
                    }
                    None => {
                        if let Some(o) = self.offsets.get_mut(&k.group) {
                            o.remove(&key);
                        }
                    }
                }
            }
            Entry::Group(k, v) => match v {
                Some(v) => self.classic(&k.group).restore(&v),
                None => {
                    // The group was deleted or expired; offsets written
                    // after the tombstone bring it back as an empty group.
                    self.groups.remove(&k.group);
                    self.offsets.remove(&k.group);
                }
            },
            Entry::Consumer(rec) => self.replay_consumer(rec),
            Entry::Other => {}
        }
    }

    fn replay_consumer(&mut self, rec: ConsumerRecord) {
        use ConsumerRecord as R;
        let group = match &rec {
            R::Group(g, _)
            | R::Member(g, _, _)
            | R::TargetEpoch(g, _)
            | R::Target(g, _, _)
            | R::Current(g, _, _) => g.clone(),
        };
        if let R::Group(_, None) = &rec {
            // The consumer group is gone (deleted, or now a classic group).
            if let Some(Group::Consumer(_)) = self.groups.get(&group) {
                if self.offsets.get(&group).is_none_or(|o| o.is_empty()) {
                    self.groups.remove(&group);
                } else {
                    self.classic(&group);
                }
            }
            return;
        }
        let g = self
            .groups
            .entry(group.clone())
            .or_insert_with(|| Group::Consumer(ConsumerGroup::new(group.clone())));
        if let Group::Classic(_) = g {
            *g = Group::Consumer(ConsumerGroup::new(group.clone()));
        }
        let Group::Consumer(c) = g else {
            return;
        };
        let assign = |tps: Vec<(Uuid, Vec<i32>)>| -> Assign {
            tps.into_iter()
                .filter(|(_, ps)| !ps.is_empty())
                .map(|(t, ps)| (t, ps.into_iter().collect()))
                .collect()
        };
        match rec {
            R::Group(_, Some(v)) => {
                c.epoch = v.epoch;
                c.meta_hash = v.metadata_hash;
            }
            R::Group(_, None) => {}
            R::TargetEpoch(_, Some(v)) => c.assignment_epoch = v.assignment_epoch,
            R::TargetEpoch(_, None) => {}
            R::Member(_, id, Some(v)) => {
                let m = c.members.entry(id.clone()).or_default();
                m.id = id;
                m.instance_id = v.instance_id;
                m.rack_id = v.rack_id;
                m.client_id = v.client_id;
                m.client_host = v.client_host;
                m.subscribed = v.subscribed_topic_names;
                m.regex = v.subscribed_topic_regex;
                m.rebalance_timeout_ms = v.rebalance_timeout_ms;
                m.assignor = v.server_assignor;
            }
            R::Member(_, id, None) => {
                c.members.remove(&id);
            }
            R::Target(_, id, Some(v)) => {
                let tps = v
                    .topic_partitions
                    .into_iter()
                    .map(|tp| (tp.topic_id, tp.partitions.to_vec()))
                    .collect();
                c.target.insert(id, assign(tps));
            }
            R::Target(_, id, None) => {
                c.target.remove(&id);
            }
            R::Current(_, id, Some(v)) => {
                let m = c.members.entry(id.clone()).or_default();
                m.id = id;
                m.epoch = v.member_epoch;
                m.previous_epoch = v.previous_member_epoch;
                let of = |tps: Vec<consumer_tp::TopicPartitions>| {
                    assign(
                        tps.into_iter()
                            .map(|tp| (tp.topic_id, tp.partitions.to_vec()))
                            .collect(),
                    )
                };
                m.assigned = of(v.assigned_partitions);
                m.state = MemberState::from_record(v.state, of(v.partitions_pending_revocation));
            }
            R::Current(_, _, None) => {}
        }
    }
}
