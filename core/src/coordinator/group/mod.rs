//! The group coordinator: consumer groups, their members and rebalances,
//! and the offsets they commit.
//!
//! A single broker coordinates every group; in a ZooKeeper cluster a
//! broker coordinates the groups of the partitions of `__consumer_offsets`
//! it leads, loading and dropping them as leadership moves ([`owned`]).
//! State lives in
//! memory and in the internal topic `__consumer_offsets`, in Kafka's record
//! format ([`records`]): a committed offset is an OffsetCommitKey/Value
//! record, a group's membership after each rebalance a GroupMetadataKey/Value
//! record, each in the partition Kafka would choose for the group
//! ([`records::partition_for`]). [`GroupCoordinator::load`] rebuilds the
//! state from that log when a single broker starts
//! ([`GroupCoordinator::load_partition`] one partition, in a cluster); the topic is compacted like
//! any topic with `cleanup.policy=compact`.
//!
//! A [`Group`] speaks the classic protocol ([`classic`]: JoinGroup,
//! SyncGroup, Heartbeat, LeaveGroup) or the consumer protocol of KIP-848
//! ([`consumer`]: ConsumerGroupHeartbeat). Committed offsets are kept
//! beside the groups, by group id ([`offsets`]).
//!
//! # A sans-I/O machine
//!
//! Every operation takes `now` and returns a [`Decision`]: its reply, the
//! records it needs in `__consumer_offsets`, and the answers to requests it
//! held earlier (JoinGroups waiting for the other members, say, answered
//! when the last one arrives). The caller appends the records and hands the
//! outcome back to [`GroupCoordinator::settle`] ([`GroupCoordinator::write`]
//! does both over a [`Storage`]). When the append worked the decision
//! stands; when it failed the group is put back as it was, and the request
//! and every held request the decision answered get the error Kafka gives
//! (NOT_COORDINATOR for a storage failure), as Kafka 4's coordinator
//! runtime reverts a write that failed. Offsets change in memory only once
//! their records are written.
//!
//! In a ZooKeeper cluster the group metadata the leader's SyncGroup
//! writes is acks=-1, as Kafka's `storeGroup`: the SyncGroup answers wait
//! for the followers, and a store that cannot be replicated voids the
//! assignment and rebalances the group ([`store`]).
//!
//! Nothing here reads a clock: every deadline (session timeouts, the
//! initial rebalance delay, rebalance timeouts) is a time the caller's
//! timer wakes [`GroupCoordinator::handle_timeout`] at, as
//! [`Settled::next_deadline`] and [`GroupCoordinator::next_deadline`] say;
//! offsets retention runs on its own interval
//! ([`GroupCoordinator::expire_offsets`]). A timer's decision that cannot
//! be written is tried again [`RETRY_BACKOFF_MS`] later.

pub(crate) mod classic;
pub(crate) mod consumer;
mod load;
pub(crate) mod offsets;
mod ops;
mod owned;
pub(crate) mod records;
mod store;

use crate::collections::{Map, Set};

use bytes::Bytes;
use bytestring::ByteString;

use self::classic::{Answer, ClassicGroup, State};
use self::consumer::ConsumerGroup;
use self::offsets::{OffsetChange, Offsets};
use self::records::KeyValue;
use super::{Deadlines, Waiter};
use crate::protocol::messages::group_coordinator::group_metadata_value::GroupMetadataValue;
use crate::protocol::messages::group_coordinator::offset_commit_key::OffsetCommitKey;
use crate::protocol::messages::group_coordinator::offset_commit_value::OffsetCommitValue;
use crate::protocol::{EncodeError, ErrorCode, ResponseBody};
use crate::state::internal_log::{self, WriteError};
use crate::state::{ConnId, Now, OFFSETS_TOPIC};
use crate::storage::{Storage, TopicPartition};

pub use crate::state::GroupConfig;
pub(crate) use offsets::Committed;
pub(crate) use store::GroupStore;

/// How long a timer's decision that could not be written waits before it
/// is tried again (Kafka's coordinator timers retry the same way).
pub(crate) const RETRY_BACKOFF_MS: i64 = 500;

/// What [`crate::broker::Broker::groups`] reports of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group id.
    pub id: String,
    /// `classic` or `consumer` (KIP-848).
    pub group_type: &'static str,
    /// Kafka's name of its state (`Stable`, `Empty`, `Reconciling`, ...).
    pub state: &'static str,
    /// Its protocol type (`consumer` for consumer groups), empty if none.
    pub protocol_type: String,
    /// Classic generation, or KIP-848 group epoch.
    pub epoch: i32,
    /// Member ids.
    pub members: Vec<String>,
    /// Committed offsets: topic, partition, offset.
    pub offsets: Vec<(String, i32, i64)>,
}

/// A group: of the classic protocol, or of KIP-848's consumer protocol. A
/// group that only holds offsets is an empty classic group.
#[derive(Debug, Clone)]
pub(crate) enum Group {
    Classic(ClassicGroup),
    Consumer(ConsumerGroup),
}

impl Group {
    /// `classic` or `consumer`, as ListGroups names group types.
    pub fn type_name(&self) -> &'static str {
        match self {
            Group::Classic(_) => "classic",
            Group::Consumer(_) => "consumer",
        }
    }

    /// Kafka's name of the group's state, whatever its protocol.
    pub fn state_name(&self) -> &'static str {
        match self {
            Group::Classic(g) => g.state.name(),
            Group::Consumer(c) => c.state_name(),
        }
    }

    /// Its protocol type: `consumer` for consumer groups.
    pub fn protocol_type(&self) -> Option<&ByteString> {
        match self {
            Group::Classic(g) => g.protocol_type.as_ref(),
            Group::Consumer(_) => Some(&CONSUMER),
        }
    }

    fn is_dead(&self) -> bool {
        matches!(self, Group::Classic(g) if g.state == State::Dead)
    }

    fn next_deadline(&self) -> Option<Now> {
        match self {
            Group::Classic(g) => g.next_deadline(),
            Group::Consumer(c) => c.next_deadline(),
        }
    }

    /// Whether a member subscribes to `topic` (only groups of consumers know).
    pub fn subscribed(&self, topic: &str) -> bool {
        match self {
            Group::Classic(g) => g.subscribed(topic),
            Group::Consumer(c) => c.subscribed(topic),
        }
    }

    /// Whether an OffsetCommit from this member may commit.
    fn validate_commit(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), ErrorCode> {
        match self {
            Group::Classic(g) => g.validate_commit(member_id, instance_id, generation),
            Group::Consumer(c) if generation < 0 && member_id.is_empty() => {
                if c.members.is_empty() {
                    Ok(())
                } else {
                    Err(ErrorCode::UNKNOWN_MEMBER_ID)
                }
            }
            Group::Consumer(c) => c.validate_member_epoch(member_id, generation),
        }
    }
}

static CONSUMER: ByteString = ByteString::from_static("consumer");

/// Deletes a group: a classic group becomes Dead with a tombstone for its
/// metadata; a consumer group's records become tombstones too.
fn delete(g: &mut Group, now: Now, fx: &mut Effects) {
    match g {
        Group::Classic(c) => c.delete(now, fx),
        Group::Consumer(c) => {
            c.erase(fx);
            fx.group(&c.id, None);
            let mut dead = ClassicGroup::new(c.id.clone(), now);
            dead.state = State::Dead;
            *g = Group::Classic(dead);
        }
    }
}

/// What an operation on one group asks of the world: records for its
/// partition of `__consumer_offsets`, and answers to held requests.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    records: Vec<KeyValue>,
    answers: Vec<(Waiter, Answer)>,
    /// A record that could not be encoded: the decision cannot be written.
    broken: Option<String>,
}

impl Effects {
    /// Queues an answer to a held request.
    pub fn reply(&mut self, w: Waiter, a: Answer) {
        self.answers.push((w, a));
    }

    /// Queues a record.
    pub fn record(&mut self, key: Bytes, value: Option<Bytes>) {
        self.records.push((key, value));
    }

    /// The value of an encoding, noting a failure (which fails the decision).
    pub fn encoded<T>(&mut self, r: Result<T, EncodeError>) -> Option<T> {
        match r {
            Ok(t) => Some(t),
            Err(e) => {
                self.broken.get_or_insert_with(|| e.to_string());
                None
            }
        }
    }

    /// Queues the offset record of `group` (`None`: a tombstone).
    pub fn offset(&mut self, group: &str, topic: &str, partition: i32, c: Option<&Committed>) {
        let key = OffsetCommitKey {
            group: group.into(),
            topic: topic.into(),
            partition,
            ..Default::default()
        };
        let value = c.map(|c| OffsetCommitValue {
            offset: c.offset,
            leader_epoch: c.leader_epoch,
            metadata: c.metadata.clone(),
            commit_timestamp: c.commit_timestamp,
            expire_timestamp: c.expire_timestamp,
            ..Default::default()
        });
        if let Some((k, v)) = self.encoded(records::offset_record(&key, value.as_ref())) {
            self.record(k, v);
        }
    }

    /// Queues the group metadata record (`None`: the group is gone).
    pub fn group(&mut self, group: &str, value: Option<GroupMetadataValue>) {
        if let Some((k, v)) = self.encoded(records::group_record(group, value.as_ref())) {
            self.record(k, v);
        }
    }
}

/// What one operation on one group decided, before its records are
/// written: pass it to [`GroupCoordinator::settle`] with the outcome of
/// the append, or to [`GroupCoordinator::write`].
#[derive(Debug)]
#[must_use = "its records must be written and the decision settled"]
pub(crate) struct Decision<T> {
    /// The answer to the request handled (what the group decided, before
    /// its records are written).
    pub reply: T,
    /// The group it is about.
    group: ByteString,
    /// The group as it was before (`None`: it did not exist), put back if
    /// the records cannot be written.
    undo: Option<Option<Group>>,
    fx: Effects,
    /// Offsets to change once the records are written.
    offsets: Vec<OffsetChange>,
    /// Made by a timer: retried after [`RETRY_BACKOFF_MS`] if not written.
    timer: bool,
    /// The producer id and epoch of a transactional offset commit: its
    /// records go in a transactional batch of that producer.
    pub producer: Option<(i64, i16)>,
}

impl<T> Decision<T> {
    /// The records the decision needs in `__consumer_offsets`, in order,
    /// and the partition they go to.
    pub fn records(&self, partitions: i32) -> (TopicPartition, &[KeyValue]) {
        let p = records::partition_for(&self.group, partitions);
        (TopicPartition::new(OFFSETS_TOPIC, p), &self.fx.records)
    }
}

/// A decision, settled.
#[derive(Debug)]
#[must_use]
pub(crate) struct Settled<T> {
    /// The answer to the request handled: the decision's reply, or the
    /// error Kafka gives when its records could not be written.
    pub reply: Result<T, ErrorCode>,
    /// Responses to requests held earlier, by connection.
    pub answers: Vec<(ConnId, ResponseBody)>,
    /// The coordinator's earliest deadline now.
    pub next_deadline: Option<Now>,
    /// The partition of `__consumer_offsets` the decision's records went
    /// to and its log end after them, when records were written: parked
    /// fetches on it wake, and an offset commit is answered once the
    /// high watermark reaches the log end (ZooKeeper mode).
    pub written: Option<(TopicPartition, i64)>,
}

/// The error for a decision whose records were not written (Kafka's
/// `GroupCoordinatorService` mapping of append errors).
pub(crate) fn write_error(e: &WriteError) -> ErrorCode {
    match e {
        WriteError::Storage(_) => ErrorCode::NOT_COORDINATOR,
        WriteError::Build(_) => ErrorCode::UNKNOWN_SERVER_ERROR,
    }
}

/// Offsets a transaction committed for one group: topic, partition, offset.
pub(crate) type PendingOffsets = Vec<(ByteString, i32, Committed)>;

/// Every group, their committed offsets and their deadlines.
#[derive(Debug)]
pub(crate) struct GroupCoordinator {
    groups: Map<ByteString, Group>,
    offsets: Map<ByteString, Offsets>,
    /// Offsets committed in open transactions, by producer id and group:
    /// they count once the transaction commits.
    pending: Map<i64, Map<ByteString, PendingOffsets>>,
    /// Each group's earliest deadline, for the broker's one group timer.
    deadlines: Deadlines<ByteString>,
    /// Groups whose timer decision failed, and when to try again.
    retry_at: Map<ByteString, Now>,
    /// The partitions of `__consumer_offsets` whose groups are coordinated
    /// here; `None`: every partition (a single broker). See [`owned`].
    led: Option<Set<i32>>,
    /// Group metadata records SyncGroup answers wait for, by group.
    stores: Map<ByteString, GroupStore>,
    config: GroupConfig,
}

impl GroupCoordinator {
    /// An empty coordinator.
    pub fn new(config: GroupConfig) -> GroupCoordinator {
        GroupCoordinator {
            groups: Map::new(),
            offsets: Map::new(),
            pending: Map::new(),
            deadlines: Deadlines::default(),
            retry_at: Map::new(),
            led: None,
            stores: Map::new(),
            config,
        }
    }

    // ------------------------------------------------------------ getters

    /// The settings.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// A live group.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.get(id).filter(|g| !g.is_dead())
    }

    /// Every live group, by id.
    pub fn groups(&self) -> impl Iterator<Item = (&ByteString, &Group)> {
        self.groups.iter().filter(|(_, g)| !g.is_dead())
    }

    /// A group's committed offsets.
    pub fn offsets(&self, id: &str) -> Option<&Offsets> {
        self.offsets.get(id)
    }

    /// The earliest deadline of any group.
    pub fn next_deadline(&self) -> Option<Now> {
        self.deadlines.first()
    }

    /// Every live group with its state, members and committed offsets.
    pub fn summaries(&self) -> Vec<GroupSummary> {
        self.groups
            .iter()
            .filter(|(_, g)| !g.is_dead())
            .map(|(id, g)| GroupSummary {
                id: id.to_string(),
                group_type: g.type_name(),
                state: g.state_name(),
                protocol_type: g.protocol_type().map_or("", |p| &**p).to_string(),
                epoch: match g {
                    Group::Classic(c) => c.generation,
                    Group::Consumer(c) => c.epoch,
                },
                members: match g {
                    Group::Classic(c) => c.members.iter().map(|m| m.id.to_string()).collect(),
                    Group::Consumer(c) => c.members.keys().map(|m| m.to_string()).collect(),
                },
                offsets: self
                    .offsets
                    .get(id)
                    .into_iter()
                    .flatten()
                    .map(|((t, p), c)| (t.to_string(), *p, c.offset))
                    .collect(),
            })
            .collect()
    }

    // ------------------------------------------------------------ decisions

    /// Starts a decision about `group`, remembering it as it is.
    fn decide<T>(&self, group: &ByteString, reply: T) -> Decision<T> {
        Decision {
            reply,
            group: group.clone(),
            undo: Some(self.groups.get(group).cloned()),
            fx: Effects::default(),
            offsets: Vec::new(),
            timer: false,
            producer: None,
        }
    }

    /// A decision that changed nothing and writes nothing.
    fn answer<T>(group: &ByteString, reply: T) -> Decision<T> {
        Decision {
            reply,
            group: group.clone(),
            undo: None,
            fx: Effects::default(),
            offsets: Vec::new(),
            timer: false,
            producer: None,
        }
    }

    /// Appends the decision's records to `__consumer_offsets` in `storage`,
    /// then settles it.
    pub fn write<T, S: Storage>(
        &mut self,
        d: Decision<T>,
        storage: &mut S,
        now: Now,
    ) -> Settled<T> {
        let mut end = None;
        let written = match &d.fx.broken {
            Some(why) => Err(WriteError::Build(why.clone())),
            None => {
                let (tp, records) = d.records(self.config.offsets_partitions);
                let records: Vec<_> = records
                    .iter()
                    .map(|(k, v)| (Some(k.clone()), v.clone()))
                    .collect();
                let r = match d.producer {
                    Some(producer) => {
                        internal_log::append_transactional(storage, &tp, &records, now, producer)
                    }
                    None => internal_log::append(storage, &tp, &records, now),
                };
                if r.is_ok() && !records.is_empty() {
                    end = Some((tp.clone(), storage.end_offset(&tp)));
                }
                r
            }
        };
        Settled {
            written: end,
            ..self.settle(d, written, now)
        }
    }

    /// Keeps the decision when its records were written, or undoes it.
    pub fn settle<T>(
        &mut self,
        d: Decision<T>,
        written: Result<(), WriteError>,
        now: Now,
    ) -> Settled<T> {
        let Decision {
            reply,
            group,
            undo,
            fx,
            offsets,
            timer,
            producer: _,
        } = d;
        let settled = match written {
            Ok(()) => {
                for change in offsets {
                    self.apply_offsets(&group, change);
                }
                self.retry_at.remove(&group);
                Settled {
                    reply: Ok(reply),
                    answers: fx
                        .answers
                        .into_iter()
                        .map(|(w, a)| (w.conn, a.response(w.version)))
                        .collect(),
                    next_deadline: None,
                    written: None,
                }
            }
            Err(e) => {
                let code = write_error(&e);
                if let Some(before) = undo {
                    match before {
                        Some(g) => self.groups.insert(group.clone(), g),
                        None => self.groups.remove(&group),
                    };
                }
                // Held requests the decision answered are answered now,
                // with the error: their members wait in them no more.
                if let Some(Group::Classic(g)) = self.groups.get_mut(&group) {
                    for (w, _) in &fx.answers {
                        g.forget_waiter(*w, now);
                    }
                }
                if timer {
                    self.retry_at.insert(group.clone(), now + RETRY_BACKOFF_MS);
                }
                Settled {
                    reply: Err(code),
                    answers: fx
                        .answers
                        .into_iter()
                        .map(|(w, a)| (w.conn, a.failed(code).response(w.version)))
                        .collect(),
                    next_deadline: None,
                    written: None,
                }
            }
        };
        self.reschedule(&group);
        Settled {
            next_deadline: self.next_deadline(),
            ..settled
        }
    }

    /// Moves `group`'s entry in the deadline queue to its current earliest
    /// deadline (or removes it, and drops a dead group).
    fn reschedule(&mut self, group: &ByteString) {
        let Some(g) = self.groups.get(group) else {
            self.deadlines.set(group, None);
            return;
        };
        if g.is_dead() {
            self.groups.remove(group);
            self.deadlines.set(group, None);
            return;
        }
        let at = g.next_deadline().map(|at| match self.retry_at.get(group) {
            Some(r) => at.max(*r),
            None => at,
        });
        self.deadlines.set(group, at);
    }
}
