//! Committed offsets: OffsetCommit, OffsetDelete, and their expiry after
//! `offsets.retention.minutes`. They change in memory only once their
//! records are in `__consumer_offsets` (the decision's [`OffsetChange`]s
//! apply when it settles).

use crate::collections::Map;

use bytestring::ByteString;

use super::classic::{ClassicGroup, State};
use super::{delete, Decision, Group, GroupCoordinator};
use crate::protocol::ErrorCode;
use crate::state::Now;

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

/// A group's committed offsets by (topic, partition).
pub(crate) type Offsets = Map<(ByteString, i32), Committed>;

/// A change to a group's offsets, made once its records are written.
#[derive(Debug, Clone)]
pub(crate) enum OffsetChange {
    Commit(Vec<(ByteString, i32, Committed)>),
    Delete(Vec<(ByteString, i32)>),
    /// The group is gone, and its offsets with it.
    DeleteAll,
    /// Offsets committed in a transaction of this producer: pending until
    /// its COMMIT marker.
    Pending(i64, Vec<(ByteString, i32, Committed)>),
}

impl GroupCoordinator {
    pub(super) fn apply_offsets(&mut self, group: &ByteString, change: OffsetChange) {
        match change {
            OffsetChange::Commit(list) => {
                let o = self.offsets.entry(group.clone()).or_default();
                for (t, p, c) in list {
                    o.insert((t, p), c);
                }
            }
            OffsetChange::Delete(list) => {
                if let Some(o) = self.offsets.get_mut(group) {
                    for k in list {
                        o.remove(&k);
                    }
                    if o.is_empty() {
                        self.offsets.remove(group);
                    }
                }
            }
            OffsetChange::DeleteAll => {
                self.offsets.remove(group);
            }
            OffsetChange::Pending(pid, list) => {
                let by_group = self.pending.entry(pid).or_default();
                let held = by_group.entry(group.clone()).or_default();
                for (t, p, c) in list {
                    held.retain(|(ht, hp, _)| !(*ht == t && *hp == p));
                    held.push((t, p, c));
                }
            }
        }
    }

    /// Whether a member may commit to `group_id` (the checks that apply to
    /// the whole commit): a group that does not exist takes commits only
    /// with a negative generation.
    pub fn validate_commit(
        &self,
        group_id: &str,
        member: &str,
        instance: Option<&str>,
        generation: i32,
    ) -> Result<(), ErrorCode> {
        self.coordinates(group_id)?;
        match self.groups.get(group_id) {
            Some(g) => g.validate_commit(member, instance, generation),
            None if generation < 0 => Ok(()),
            None => Err(ErrorCode::ILLEGAL_GENERATION),
        }
    }

    /// OffsetCommit of `offsets` (those the caller found valid) by a member
    /// of `group_id`: `reply` is the error for the whole commit, if any. A
    /// commit to a group that does not exist creates it when the generation
    /// is negative (a consumer managing its own offsets), and is
    /// ILLEGAL_GENERATION otherwise.
    pub fn commit_offsets(
        &mut self,
        now: Now,
        group_id: &ByteString,
        member: &str,
        instance: Option<&str>,
        generation: i32,
        offsets: Vec<(ByteString, i32, Committed)>,
    ) -> Decision<Result<(), ErrorCode>> {
        // Offsets change once written; the group itself changes only when
        // the commit creates it (undone if the records are not written).
        let mut d = Self::answer(group_id, Ok(()));
        if let Err(code) = self.validate_commit(group_id, member, instance, generation) {
            d.reply = Err(code);
            return d;
        }
        if !offsets.is_empty() {
            for (t, p, c) in &offsets {
                d.fx.offset(group_id, t, *p, Some(c));
            }
            d.offsets.push(OffsetChange::Commit(offsets));
            if !self.groups.contains_key(group_id) {
                d.undo = Some(None);
                let g = ClassicGroup::new(group_id.clone(), now);
                self.groups.insert(group_id.clone(), Group::Classic(g));
            }
        }
        // A commit counts as a heartbeat of the member making it, written
        // or not (as in Kafka, where the heartbeat is not undone).
        if let Some(Group::Classic(g)) = self.groups.get_mut(group_id) {
            if !member.is_empty() {
                g.touch(member, now);
            }
        }
        d
    }

    /// OffsetDelete: `reply` is a code per partition (`exists` tells
    /// whether a partition is a topic's), or the error for the whole
    /// request.
    pub fn delete_offsets(
        &mut self,
        group_id: &ByteString,
        partitions: &[(ByteString, i32)],
        exists: &dyn Fn(&str, i32) -> bool,
    ) -> Decision<Result<Vec<ErrorCode>, ErrorCode>> {
        let mut d = Self::answer(group_id, Ok(Vec::new()));
        if let Err(code) = self.coordinates(group_id) {
            d.reply = Err(code);
            return d;
        }
        let Some(g) = self.group(group_id) else {
            d.reply = Err(ErrorCode::GROUP_ID_NOT_FOUND);
            return d;
        };
        // A group with members may lose offsets only of topics no member
        // subscribes to, and only a group of consumers knows which.
        let active = match g {
            Group::Classic(c) => {
                if c.state != State::Empty && c.protocol_type.as_deref() != Some("consumer") {
                    d.reply = Err(ErrorCode::NON_EMPTY_GROUP);
                    return d;
                }
                c.state != State::Empty
            }
            Group::Consumer(_) => true,
        };
        let held = self.offsets.get(group_id);
        let mut deleted = Vec::new();
        let codes = partitions
            .iter()
            .map(|(t, p)| {
                if !exists(t, *p) {
                    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                } else if active && g.subscribed(t) {
                    ErrorCode::GROUP_SUBSCRIBED_TO_TOPIC
                } else {
                    if held.is_some_and(|o| o.contains_key(&(t.clone(), *p))) {
                        d.fx.offset(group_id, t, *p, None);
                        deleted.push((t.clone(), *p));
                    }
                    ErrorCode::NONE
                }
            })
            .collect();
        d.reply = Ok(codes);
        d.offsets.push(OffsetChange::Delete(deleted));
        d
    }

    /// Expires committed offsets past their retention and deletes groups
    /// left with neither members nor offsets (Kafka's offsets expiration):
    /// a decision for each group that loses something. Not written, they
    /// are tried again at the next check.
    pub fn expire_offsets(&mut self, now: Now) -> Vec<Decision<()>> {
        let retention = self.config.offsets_retention_ms;
        let ids: Vec<ByteString> = self.groups.keys().cloned().collect();
        let mut out = Vec::new();
        for id in ids {
            let Some(g) = self.groups.get(&id) else {
                continue;
            };
            let held = self.offsets.get(&id);
            let expired: Vec<(ByteString, i32)> = held
                .into_iter()
                .flatten()
                .filter(|((t, _), c)| expires(g, t, c, now, retention))
                .map(|(k, _)| k.clone())
                .collect();
            let left = held.map_or(0, |o| o.len()) - expired.len();
            let empty = match g {
                Group::Classic(c) => c.state == State::Empty && !c.has_members(),
                Group::Consumer(c) => c.members.is_empty(),
            };
            let gone = empty && left == 0;
            if expired.is_empty() && !gone {
                continue;
            }
            let mut d = self.decide(&id, ());
            for (t, p) in &expired {
                d.fx.offset(&id, t, *p, None);
            }
            d.offsets.push(OffsetChange::Delete(expired));
            if let Some(g) = self.groups.get_mut(&id).filter(|_| gone) {
                delete(g, now, &mut d.fx);
            }
            out.push(d);
        }
        out
    }
}

/// Whether an offset of `g` has outlived `retention` (Kafka's
/// `offsetExpirationCondition`): an empty classic group with a protocol
/// loses all its offsets `retention` after it became empty; a group
/// without members or protocol loses each offset `retention` after its
/// commit; a stable classic group of consumers loses offsets of topics no
/// member subscribes to; a consumer group loses offsets only once it has no
/// members, counted from their commits. An explicit expiry wins.
fn expires(g: &Group, topic: &str, c: &Committed, now: Now, retention: i64) -> bool {
    let base = match g {
        Group::Classic(cg) => {
            let empty = cg.state == State::Empty && !cg.has_members();
            if empty {
                if cg.protocol_type.is_some() {
                    cg.state_since
                } else {
                    c.commit_timestamp
                }
            } else if cg.protocol_type.as_deref() == Some("consumer") && !cg.subscribed(topic) {
                c.commit_timestamp
            } else {
                return false;
            }
        }
        Group::Consumer(cg) if cg.members.is_empty() => c.commit_timestamp,
        Group::Consumer(_) => return false,
    };
    if c.expire_timestamp >= 0 {
        now >= c.expire_timestamp
    } else {
        now - base >= retention
    }
}

impl GroupCoordinator {
    /// TxnOffsetCommit of `offsets` by producer `producer` (id, epoch) for
    /// a member of `group_id` (KIP-447 checks its generation and member id
    /// when given). The records go in a transactional batch of the
    /// producer; the offsets stay pending until its transaction ends
    /// ([`GroupCoordinator::complete_txn`]).
    #[allow(clippy::too_many_arguments)]
    pub fn txn_commit_offsets(
        &mut self,
        now: Now,
        group_id: &ByteString,
        member: &str,
        instance: Option<&str>,
        generation: i32,
        producer: (i64, i16),
        offsets: Vec<(ByteString, i32, Committed)>,
    ) -> Decision<Result<(), ErrorCode>> {
        let mut d = Self::answer(group_id, Ok(()));
        d.producer = Some(producer);
        // A producer that gives no member (a pre-KIP-447 client) is not
        // checked against the group, as in Kafka.
        let unchecked = generation < 0 && member.is_empty();
        if !unchecked {
            if let Err(code) = self.validate_commit(group_id, member, instance, generation) {
                d.reply = Err(code);
                return d;
            }
        }
        if !offsets.is_empty() {
            for (t, p, c) in &offsets {
                d.fx.offset(group_id, t, *p, Some(c));
            }
            d.offsets.push(OffsetChange::Pending(producer.0, offsets));
            if !self.groups.contains_key(group_id) {
                d.undo = Some(None);
                let g = ClassicGroup::new(group_id.clone(), now);
                self.groups.insert(group_id.clone(), Group::Classic(g));
            }
        }
        d
    }

    /// A marker for producer `pid` was written to partition `partition`
    /// of `__consumer_offsets`: the offsets its transaction committed to
    /// the groups of that partition count from now (`commit`), or are
    /// dropped.
    pub fn complete_txn(&mut self, partition: i32, pid: i64, commit: bool) {
        let partitions = self.config.offsets_partitions;
        let Some(by_group) = self.pending.get_mut(&pid) else {
            return;
        };
        let done: Vec<ByteString> = by_group
            .keys()
            .filter(|g| super::records::partition_for(g, partitions) == partition)
            .cloned()
            .collect();
        let mut applied = Vec::new();
        for g in done {
            if let Some(list) = by_group.remove(&g) {
                applied.push((g, list));
            }
        }
        if by_group.is_empty() {
            self.pending.remove(&pid);
        }
        if commit {
            for (g, list) in applied {
                self.apply_offsets(&g, OffsetChange::Commit(list));
            }
        }
    }

    /// Whether an open transaction has committed an offset of `group` for
    /// `topic` `partition` (OffsetFetch's `require_stable`).
    pub fn has_pending(&self, group: &str, topic: &str, partition: i32) -> bool {
        self.pending.values().any(|by_group| {
            by_group
                .get(group)
                .is_some_and(|l| l.iter().any(|(t, p, _)| t == topic && *p == partition))
        })
    }
}
