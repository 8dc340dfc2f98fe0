//! The group coordinator: consumer groups, their members and rebalances,
//! and the offsets they commit.
//!
//! Spate is a cluster of one, so it coordinates every group. State lives in
//! memory and in the internal topic `__consumer_offsets`, in Kafka's record
//! format (`records`): a committed offset is an OffsetCommitKey/Value
//! record, a group's membership after each rebalance a GroupMetadataKey/Value
//! record, each in the partition Kafka would choose for the group
//! (`records::partition_for`). `Coordinator::load` rebuilds the state
//! from that log when the broker starts; the topic is compacted like any
//! topic with `cleanup.policy=compact`.
//!
//! Groups speak the classic protocol (`classic`: JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup). A request that must wait for other members
//! (JoinGroup, SyncGroup) is held by the broker; the coordinator names the
//! connection in a `Waiter` and later queues the answer in
//! `Coordinator::ready`, which the broker sends. Every deadline (session
//! timeouts, the initial rebalance delay, rebalance timeouts, offsets
//! retention) is a time the broker's timer wakes it at: nothing here reads a
//! clock.

pub(crate) mod classic;
pub(crate) mod consumer;
mod ops;
pub(crate) mod records;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use bytestring::ByteString;

use crate::broker::{ConnId, Now};
use crate::protocol::messages::group_coordinator::group_metadata_value::{
    GroupMetadataValue, MemberMetadata,
};
use crate::protocol::messages::group_coordinator::offset_commit_key::OffsetCommitKey;
use crate::protocol::messages::group_coordinator::offset_commit_value::OffsetCommitValue;
use crate::protocol::messages::join_group_response::JoinGroupResponseMember;
use crate::protocol::ErrorCode;
use crate::records::{Record, RecordBatchBuilder};
use crate::storage::{BatchMeta, Storage, TopicPartition};

pub(crate) use classic::{Group, Member, State};

/// The internal topic that holds groups and committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The group coordinator's settings (Kafka's broker keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of
    /// an empty group waits for more members (Kafka: 3000).
    pub initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms` (Kafka: 6000).
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (Kafka: 1800000).
    pub max_session_timeout_ms: i32,
    /// `group.max.size` (Kafka: unbounded).
    pub max_size: usize,
    /// `offsets.topic.num.partitions` (Kafka: 50).
    pub offsets_partitions: i32,
    /// `offsets.retention.minutes`, in ms (Kafka: 7 days).
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (Kafka: 600000).
    pub offsets_retention_check_interval_ms: i64,
    /// `offset.metadata.max.bytes` (Kafka: 4096).
    pub offset_metadata_max_bytes: usize,
    /// `group.consumer.session.timeout.ms`: KIP-848 members (Kafka: 45000).
    pub consumer_session_timeout_ms: i64,
    /// `group.consumer.heartbeat.interval.ms`: KIP-848 members (Kafka: 5000).
    pub consumer_heartbeat_interval_ms: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            max_size: usize::MAX,
            offsets_partitions: 50,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5_000,
        }
    }
}

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

/// A held request: the connection and the version to answer it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Waiter {
    pub conn: ConnId,
    pub version: i16,
}

/// The outcome of a JoinGroup, whatever the version it is sent in.
#[derive(Debug, Clone, Default)]
pub(crate) struct JoinResult {
    pub error: ErrorCode,
    pub generation: i32,
    pub protocol_type: Option<ByteString>,
    pub protocol_name: Option<ByteString>,
    pub leader: ByteString,
    pub member_id: ByteString,
    pub members: Vec<JoinGroupResponseMember>,
    pub skip_assignment: bool,
}

impl JoinResult {
    /// A failed join.
    pub fn error(error: ErrorCode, member_id: ByteString) -> JoinResult {
        JoinResult {
            error,
            generation: -1,
            member_id,
            ..Default::default()
        }
    }
}

/// The outcome of a SyncGroup.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncResult {
    pub error: ErrorCode,
    pub protocol_type: Option<ByteString>,
    pub protocol_name: Option<ByteString>,
    pub assignment: Bytes,
}

impl SyncResult {
    /// A failed sync.
    pub fn error(error: ErrorCode) -> SyncResult {
        SyncResult {
            error,
            ..Default::default()
        }
    }
}

/// An answer to a held request, ready to send.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Join(JoinResult),
    Sync(SyncResult),
}

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Committed {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: ByteString,
    pub commit_timestamp: i64,
    /// An explicit expiry (OffsetCommit v1's timestamp, v2-4's retention), or -1.
    pub expire_timestamp: i64,
}

/// Every group, their deadlines, and answers waiting to be sent.
#[derive(Debug, Default)]
pub(crate) struct Coordinator {
    pub groups: BTreeMap<ByteString, Group>,
    /// Each group's earliest deadline, for the broker's one group timer.
    deadlines: BTreeSet<(Now, ByteString)>,
    deadline_of: BTreeMap<ByteString, Now>,
    /// Answers to held requests, for the broker to send.
    pub ready: Vec<(Waiter, Answer)>,
    /// Records to append to `__consumer_offsets`, by partition, in order.
    pub writes: Vec<(i32, Bytes, Option<Bytes>)>,
    /// A deadline moved since the broker last set its group timer (so
    /// requests that touch no group leave the timer alone).
    pub timer_moved: bool,
    pub config: GroupConfig,
}

impl Coordinator {
    /// An empty coordinator.
    pub fn new(config: GroupConfig) -> Coordinator {
        Coordinator {
            config,
            ..Default::default()
        }
    }

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
            crate::broker::for_each_batch(storage, tp, |view, bytes| {
                if view.header.is_control() {
                    return;
                }
                for rec in view.records().flatten() {
                    let Some(key) = rec.key else { continue };
                    let key = bytes.slice_ref(key);
                    let value = rec.value.map(|v| bytes.slice_ref(v));
                    if let Some(entry) = records::decode(&key, value.as_ref()) {
                        self.replay(entry);
                    }
                }
            });
        }
        let ids: Vec<ByteString> = self.groups.keys().cloned().collect();
        let session = self.config.consumer_session_timeout_ms;
        for id in ids {
            if let Some(g) = self.groups.get_mut(&id) {
                g.loaded(now);
                if let Some(c) = &mut g.consumer {
                    c.loaded(&id, now, session);
                }
            }
            self.reschedule(&id);
        }
    }

    fn replay(&mut self, entry: records::Entry) {
        match entry {
            records::Entry::Offset(k, v) => {
                let key = (ByteString::from(k.topic.as_ref()), k.partition);
                match v {
                    Some(v) => {
                        let g = self
                            .groups
                            .entry(k.group.clone())
                            .or_insert_with(|| Group::new(k.group.clone(), 0));
                        g.offsets.insert(
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
                        if let Some(g) = self.groups.get_mut(&k.group) {
                            g.offsets.remove(&key);
                        }
                    }
                }
            }
            records::Entry::Group(k, v) => match v {
                Some(v) => {
                    let g = self
                        .groups
                        .entry(k.group.clone())
                        .or_insert_with(|| Group::new(k.group.clone(), 0));
                    g.restore(&v);
                }
                None => {
                    // The group was deleted or expired; offsets written
                    // after the tombstone bring it back as an empty group.
                    self.groups.remove(&k.group);
                }
            },
            records::Entry::Consumer(rec) => self.replay_consumer(rec),
            records::Entry::Other => {}
        }
    }

    fn replay_consumer(&mut self, rec: records::ConsumerRecord) {
        use records::ConsumerRecord as R;
        let group = match &rec {
            R::Group(g, _)
            | R::Member(g, _, _)
            | R::TargetEpoch(g, _)
            | R::Target(g, _, _)
            | R::Current(g, _, _) => g.clone(),
        };
        if let R::Group(_, None) = &rec {
            // The consumer group is gone (deleted, or now a classic group).
            if let Some(g) = self.groups.get_mut(&group) {
                g.consumer = None;
                if g.offsets.is_empty() && !g.has_members() {
                    self.groups.remove(&group);
                }
            }
            return;
        }
        let g = self
            .groups
            .entry(group.clone())
            .or_insert_with(|| Group::new(group.clone(), 0));
        g.protocol_type = Some("consumer".into());
        let c = g.consumer.get_or_insert_with(Default::default);
        let assign = |tps: Vec<(crate::protocol::Uuid, Vec<i32>)>| -> consumer::Assign {
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
                m.state = consumer::MemberState::from_code(v.state);
                let of = |tps: Vec<crate::protocol::messages::group_coordinator::consumer_group_current_member_assignment_value::TopicPartitions>| {
                    assign(tps.into_iter().map(|tp| (tp.topic_id, tp.partitions.to_vec())).collect())
                };
                m.assigned = of(v.assigned_partitions);
                m.revoking = of(v.partitions_pending_revocation);
            }
            R::Current(_, _, None) => {}
        }
    }

    /// Moves `group`'s entry in the deadline queue to its current earliest
    /// deadline (or removes it, and drops a dead group).
    pub fn reschedule(&mut self, group: &ByteString) {
        self.timer_moved = true;
        if let Some(at) = self.deadline_of.remove(group) {
            self.deadlines.remove(&(at, group.clone()));
        }
        let Some(g) = self.groups.get(group) else {
            return;
        };
        if g.state == State::Dead {
            self.groups.remove(group);
            return;
        }
        if let Some(at) = g.next_deadline() {
            self.deadlines.insert((at, group.clone()));
            self.deadline_of.insert(group.clone(), at);
        }
    }

    /// The earliest deadline of any group.
    pub fn next_deadline(&self) -> Option<Now> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Runs every group deadline due at `now`.
    pub fn tick(&mut self, now: Now) {
        while let Some((at, id)) = self.deadlines.first().cloned() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, id.clone()));
            self.deadline_of.remove(&id);
            if let Some(g) = self.groups.get_mut(&id) {
                let mut fx = Effects::default();
                g.tick(now, &self.config, &mut fx);
                self.absorb(&id, fx);
            }
            self.reschedule(&id);
        }
    }

    /// Queues what a group operation produced.
    pub fn absorb(&mut self, group: &str, fx: Effects) {
        let partition = records::partition_for(group, self.config.offsets_partitions);
        for (k, v) in fx.writes {
            self.writes.push((partition, k, v));
        }
        self.ready.extend(fx.replies);
    }

    /// Expires committed offsets past their retention and drops groups left
    /// with neither members nor offsets (Kafka's offsets expiration).
    pub fn expire_offsets(&mut self, now: Now) {
        let retention = self.config.offsets_retention_ms;
        let ids: Vec<ByteString> = self.groups.keys().cloned().collect();
        for id in ids {
            let Some(g) = self.groups.get_mut(&id) else {
                continue;
            };
            let mut fx = Effects::default();
            g.expire_offsets(now, retention, &mut fx);
            self.absorb(&id, fx);
            self.reschedule(&id);
        }
    }
}

/// What one group operation asks of the world: records to write and held
/// requests to answer.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub writes: Vec<(Bytes, Option<Bytes>)>,
    pub replies: Vec<(Waiter, Answer)>,
}

impl Effects {
    /// Queues an answer to a held request.
    pub fn reply(&mut self, w: Waiter, a: Answer) {
        self.replies.push((w, a));
    }

    /// Queues the offset record of `group`.
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
        let (k, v) = records::offset_record(&key, value.as_ref());
        self.writes.push((k, v));
    }

    /// Queues the group metadata record (`None`: the group is gone).
    pub fn group(&mut self, group: &str, value: Option<GroupMetadataValue>) {
        let (k, v) = records::group_record(group, value.as_ref());
        self.writes.push((k, v));
    }
}

/// Appends records to one `__consumer_offsets` partition as one batch.
pub(crate) fn append<S: Storage>(
    storage: &mut S,
    partition: i32,
    recs: &[(Bytes, Option<Bytes>)],
    now: Now,
) -> Result<(), S::Error> {
    if recs.is_empty() {
        return Ok(());
    }
    let tp = TopicPartition::new(OFFSETS_TOPIC, partition);
    let base = storage.end_offset(&tp);
    let mut b = RecordBatchBuilder::new(base, now);
    for (i, (k, v)) in recs.iter().enumerate() {
        b.push(Record::new(i as i32, 0, Some(k.clone()), v.clone()));
    }
    let Ok(bytes) = b.build() else { return Ok(()) };
    let meta = BatchMeta {
        base_offset: base,
        last_offset: base + recs.len() as i64 - 1,
        max_timestamp: now,
    };
    storage.append(&tp, bytes, meta)
}

/// A GroupMetadataValue member from a group member.
pub(crate) fn member_metadata(m: &Member, protocol: Option<&ByteString>) -> MemberMetadata {
    MemberMetadata {
        member_id: m.id.clone(),
        group_instance_id: m.instance_id.clone(),
        client_id: m.client_id.clone(),
        client_host: m.client_host.clone(),
        rebalance_timeout: m.rebalance_timeout_ms,
        session_timeout: m.session_timeout_ms,
        subscription: protocol
            .and_then(|p| m.metadata_for(p))
            .cloned()
            .unwrap_or_default(),
        assignment: m.assignment.clone(),
        ..Default::default()
    }
}

/// A fresh id in Java's UUID text form, from the broker's id generator.
pub(crate) fn uuid_text(hi: u64, lo: u64) -> String {
    let b = [hi.to_be_bytes(), lo.to_be_bytes()].concat();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
