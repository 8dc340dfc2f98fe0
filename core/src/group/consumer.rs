//! Groups of the consumer protocol (KIP-848): the broker assigns, members
//! only heartbeat.
//!
//! # Epochs and reconciliation
//!
//! The *group epoch* goes up whenever what the assignment depends on
//! changes: a member joins or leaves, a subscription changes, a subscribed
//! topic gains partitions or appears. The *target assignment* is then
//! computed again by the assignor (`uniform`, the default, or `range`) and
//! stamped with that epoch (the *assignment epoch*).
//!
//! Each member walks from what it owns to its target, one heartbeat at a
//! time, as Kafka's `CurrentAssignmentBuilder` does:
//!
//! - partitions it owns that the target gives to others are taken away
//!   first; the member keeps its epoch until a heartbeat reports it no
//!   longer owns them (UNREVOKED_PARTITIONS), and is fenced if that takes
//!   longer than its rebalance timeout;
//! - then it moves to the assignment epoch and receives its new partitions,
//!   except those another member has not released yet, which it receives
//!   on a later heartbeat (UNRELEASED_PARTITIONS);
//! - when it holds exactly its target it is STABLE.
//!
//! A member that does not heartbeat within `group.consumer.session.timeout.ms`
//! is removed. A heartbeat with epoch -1 (or -2 for a static member) leaves.
//! A member that answers with an epoch it never had is FENCED_MEMBER_EPOCH;
//! the previous epoch is accepted once, for a lost response, when the
//! member owns no more than it was given.
//!
//! The group is written to `__consumer_offsets` with Kafka's records
//! (ConsumerGroupMetadata, ConsumerGroupMemberMetadata,
//! ConsumerGroupTargetAssignmentMetadata/Member,
//! ConsumerGroupCurrentMemberAssignment): after each change, the records
//! that differ from what was last written, and tombstones for members that
//! left. A restarted broker gets its members back, with their epochs and
//! assignments, and expects them to heartbeat within a session timeout.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use bytestring::ByteString;

use crate::broker::Now;
use crate::protocol::{ErrorCode, Uuid};

/// Partitions by topic id.
pub(crate) type Assign = BTreeMap<Uuid, BTreeSet<i32>>;

/// Where a member stands on its way to its target assignment (the numbers
/// are those of Kafka's ConsumerGroupCurrentMemberAssignmentValue.state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MemberState {
    #[default]
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

/// One member of a consumer group.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerMember {
    pub id: ByteString,
    pub instance_id: Option<ByteString>,
    pub rack_id: Option<ByteString>,
    pub client_id: ByteString,
    pub client_host: ByteString,
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    pub rebalance_timeout_ms: i32,
    pub subscribed: Vec<ByteString>,
    pub regex: Option<ByteString>,
    pub assignor: Option<ByteString>,
    /// What it owns now.
    pub assigned: Assign,
    /// What it must give up before it moves on.
    pub revoking: Assign,
    pub session_deadline: Now,
    pub revocation_deadline: Option<Now>,
    /// The assignment last sent to it.
    pub last_sent: Option<Assign>,
}

impl MemberState {
    /// Kafka's number for the state in its records.
    pub fn code(self) -> i8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
        }
    }

    /// The state a record's number names (unknown ones read as stable).
    pub fn from_code(c: i8) -> MemberState {
        match c {
            1 => MemberState::UnrevokedPartitions,
            2 => MemberState::UnreleasedPartitions,
            _ => MemberState::Stable,
        }
    }
}

/// A topic the assignor may hand out: name, id, partition count.
pub(crate) type TopicMeta = (ByteString, Uuid, i32);

/// A consumer group's own state (its offsets live in the enclosing group).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerGroup {
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: ByteString,
    pub members: BTreeMap<ByteString, ConsumerMember>,
    pub target: BTreeMap<ByteString, Assign>,
    /// A hash of the subscribed topics (names, ids, partition counts) as
    /// they were when the target was computed: a change bumps the epoch.
    pub meta_hash: i64,
    /// The group's records as last written to `__consumer_offsets`, by key.
    pub persisted: BTreeMap<Bytes, Bytes>,
}

/// A ConsumerGroupHeartbeat, as the group sees it.
#[derive(Debug, Clone)]
pub(crate) struct HeartbeatArgs {
    pub member_id: ByteString,
    pub epoch: i32,
    pub instance_id: Option<ByteString>,
    pub rack_id: Option<ByteString>,
    pub rebalance_timeout_ms: i32,
    pub subscribed: Option<Vec<ByteString>>,
    pub regex: Option<ByteString>,
    pub assignor: Option<ByteString>,
    /// What the member says it owns (`None`: unchanged since the last heartbeat).
    pub owned: Option<Assign>,
    pub client_id: ByteString,
    pub client_host: ByteString,
}

/// What a heartbeat answers.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeartbeatOutcome {
    pub error: ErrorCode,
    pub message: Option<String>,
    pub member_id: ByteString,
    pub epoch: i32,
    /// The member's assignment, when it changed since the last answer.
    pub assignment: Option<Assign>,
}

impl HeartbeatOutcome {
    pub fn error(error: ErrorCode, message: impl Into<String>) -> HeartbeatOutcome {
        HeartbeatOutcome {
            error,
            message: Some(message.into()),
            ..Default::default()
        }
    }
}

/// The assignors the broker runs.
pub(crate) const ASSIGNORS: [&str; 2] = ["uniform", "range"];

impl ConsumerGroup {
    /// Kafka's name of the group's state.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.epoch > self.assignment_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    /// The earliest session or revocation deadline.
    pub fn next_deadline(&self) -> Option<Now> {
        self.members
            .values()
            .flat_map(|m| std::iter::once(m.session_deadline).chain(m.revocation_deadline))
            .min()
    }

    /// Removes members whose session or revocation time ran out.
    pub fn tick(&mut self, now: Now) {
        let gone: Vec<ByteString> = self
            .members
            .values()
            .filter(|m| {
                now >= m.session_deadline || m.revocation_deadline.is_some_and(|d| now >= d)
            })
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    fn remove(&mut self, id: &str) {
        if self.members.remove(id).is_some() {
            self.target.remove(id);
            self.epoch += 1;
        }
    }

    /// Handles one heartbeat. `topics` resolves the topics a subscription
    /// names (and, for a regex, lists every topic).
    pub fn heartbeat(
        &mut self,
        a: HeartbeatArgs,
        topics: &dyn Fn() -> Vec<TopicMeta>,
        session_timeout_ms: i64,
        now: Now,
    ) -> HeartbeatOutcome {
        if let Some(name) = &a.assignor {
            if !ASSIGNORS.contains(&name.as_ref()) {
                return HeartbeatOutcome::error(
                    ErrorCode::UNSUPPORTED_ASSIGNOR,
                    format!("assignor {name} is not supported; this broker has uniform and range"),
                );
            }
        }
        if let Some(re) = &a.regex {
            if regex_lite::Regex::new(re).is_err() {
                return HeartbeatOutcome::error(
                    ErrorCode::INVALID_REGULAR_EXPRESSION,
                    format!("SubscribedTopicRegex `{re}` is not a valid regular expression"),
                );
            }
        }
        if a.epoch == -1 || a.epoch == -2 {
            if !self.members.contains_key(&a.member_id) {
                return HeartbeatOutcome::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    format!("member {} is not in the group", a.member_id),
                );
            }
            self.remove(&a.member_id);
            return HeartbeatOutcome {
                member_id: a.member_id,
                epoch: a.epoch,
                ..Default::default()
            };
        }
        let mut changed = false;
        if a.epoch == 0 {
            let joining = ConsumerMember {
                id: a.member_id.clone(),
                instance_id: a.instance_id.clone(),
                rack_id: a.rack_id.clone(),
                client_id: a.client_id.clone(),
                client_host: a.client_host.clone(),
                epoch: 0,
                previous_epoch: -1,
                state: MemberState::Stable,
                rebalance_timeout_ms: a.rebalance_timeout_ms,
                subscribed: Vec::new(),
                regex: None,
                assignor: None,
                assigned: Assign::new(),
                revoking: Assign::new(),
                session_deadline: now,
                revocation_deadline: None,
                last_sent: None,
            };
            // A member joining again (after a fence, say) starts over.
            if let Some(static_id) = &a.instance_id {
                let old: Vec<ByteString> = self
                    .members
                    .values()
                    .filter(|m| m.instance_id.as_ref() == Some(static_id) && m.id != a.member_id)
                    .map(|m| m.id.clone())
                    .collect();
                for id in old {
                    self.remove(&id);
                }
            }
            self.members.insert(a.member_id.clone(), joining);
            changed = true;
        } else {
            let Some(m) = self.members.get(&a.member_id) else {
                return HeartbeatOutcome::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    format!("member {} is not in the group", a.member_id),
                );
            };
            let lost_response = a.epoch == m.previous_epoch
                && a.owned
                    .as_ref()
                    .is_some_and(|owned| subset(owned, &m.assigned));
            if a.epoch != m.epoch && !lost_response {
                return HeartbeatOutcome::error(
                    ErrorCode::FENCED_MEMBER_EPOCH,
                    format!(
                        "member epoch {} does not match the expected {}",
                        a.epoch, m.epoch
                    ),
                );
            }
        }
        let Some(m) = self.members.get_mut(&a.member_id) else {
            return HeartbeatOutcome::error(ErrorCode::UNKNOWN_MEMBER_ID, "member vanished");
        };
        m.session_deadline = now + session_timeout_ms;
        m.client_id = a.client_id;
        m.client_host = a.client_host;
        if a.rebalance_timeout_ms > 0 {
            m.rebalance_timeout_ms = a.rebalance_timeout_ms;
        }
        if a.rack_id.is_some() {
            m.rack_id = a.rack_id;
        }
        if let Some(s) = a.subscribed {
            if s != m.subscribed {
                m.subscribed = s;
                changed = true;
            }
        }
        if a.regex.is_some() && a.regex != m.regex {
            m.regex = a.regex;
            changed = true;
        }
        if a.assignor.is_some() && a.assignor != m.assignor {
            m.assignor = a.assignor;
            changed = true;
        }
        let meta = self.subscribed_meta(topics);
        if changed || meta_hash(&meta) != self.meta_hash {
            self.epoch += 1;
        }
        if self.epoch > self.assignment_epoch {
            self.assign(meta);
        }
        let force = a.epoch == 0;
        self.reconcile(&a.member_id, a.owned.as_ref(), now);
        let Some(m) = self.members.get_mut(&a.member_id) else {
            return HeartbeatOutcome::error(ErrorCode::UNKNOWN_MEMBER_ID, "member vanished");
        };
        let differs_from_owned = a.owned.as_ref().is_some_and(|o| *o != m.assigned);
        let assignment = if force || differs_from_owned || m.last_sent.as_ref() != Some(&m.assigned)
        {
            m.last_sent = Some(m.assigned.clone());
            Some(m.assigned.clone())
        } else {
            None
        };
        HeartbeatOutcome {
            error: ErrorCode::NONE,
            message: None,
            member_id: m.id.clone(),
            epoch: m.epoch,
            assignment,
        }
    }

    /// The topics some member subscribes to (by name or regex), sorted.
    fn subscribed_meta(&self, topics: &dyn Fn() -> Vec<TopicMeta>) -> Vec<TopicMeta> {
        let all = topics();
        let regexes: Vec<regex_lite::Regex> = self
            .members
            .values()
            .filter_map(|m| m.regex.as_ref())
            .filter_map(|r| regex_lite::Regex::new(&format!("^(?:{r})$")).ok())
            .collect();
        let mut out: Vec<TopicMeta> = all
            .into_iter()
            .filter(|(name, _, _)| {
                self.members
                    .values()
                    .any(|m| m.subscribed.iter().any(|s| s == name))
                    || (!name.starts_with("__") && regexes.iter().any(|r| r.is_match(name)))
            })
            .collect();
        out.sort();
        out
    }

    fn member_topics(m: &ConsumerMember, meta: &[TopicMeta]) -> BTreeSet<Uuid> {
        let re = m
            .regex
            .as_ref()
            .and_then(|r| regex_lite::Regex::new(&format!("^(?:{r})$")).ok());
        meta.iter()
            .filter(|(name, _, _)| {
                m.subscribed.iter().any(|s| s == name)
                    || (!name.starts_with("__") && re.as_ref().is_some_and(|r| r.is_match(name)))
            })
            .map(|(_, id, _)| *id)
            .collect()
    }

    /// Computes the target assignment for the current group epoch.
    fn assign(&mut self, meta: Vec<TopicMeta>) {
        let assignor = self
            .members
            .values()
            .filter_map(|m| m.assignor.clone())
            .next()
            .unwrap_or_else(|| "uniform".into());
        let subs: BTreeMap<ByteString, BTreeSet<Uuid>> = self
            .members
            .values()
            .map(|m| (m.id.clone(), Self::member_topics(m, &meta)))
            .collect();
        self.target = if assignor == "range" {
            range_assign(&subs, &meta)
        } else {
            uniform_assign(&subs, &meta, &self.target)
        };
        self.assignor = assignor;
        self.meta_hash = meta_hash(&meta);
        self.assignment_epoch = self.epoch;
    }

    /// Partitions owned (assigned or still being revoked) by members other than `id`.
    fn owned_by_others(&self, id: &str) -> Assign {
        let mut out = Assign::new();
        for m in self.members.values().filter(|m| m.id != id) {
            for (t, ps) in m.assigned.iter().chain(m.revoking.iter()) {
                out.entry(*t).or_default().extend(ps.iter().copied());
            }
        }
        out
    }

    /// Moves member `id` one step towards its target.
    fn reconcile(&mut self, id: &str, owned: Option<&Assign>, now: Now) {
        let others = self.owned_by_others(id);
        let target = self.target.get(id).cloned().unwrap_or_default();
        let assignment_epoch = self.assignment_epoch;
        let Some(m) = self.members.get_mut(id) else {
            return;
        };
        if m.state == MemberState::UnrevokedPartitions {
            let released = owned.is_some_and(|o| intersect(o, &m.revoking).is_empty());
            if !released {
                return;
            }
            m.revoking.clear();
            m.revocation_deadline = None;
        }
        if m.epoch == assignment_epoch && m.state == MemberState::Stable && m.assigned == target {
            return;
        }
        let kept = intersect(&m.assigned, &target);
        let revoke = minus(&m.assigned, &target);
        if !revoke.is_empty() {
            m.assigned = kept;
            m.revoking = revoke;
            m.state = MemberState::UnrevokedPartitions;
            m.revocation_deadline = Some(now + m.rebalance_timeout_ms.max(0) as i64);
            return;
        }
        let wanted = minus(&target, &kept);
        let free = minus(&wanted, &others);
        let mut assigned = kept;
        for (t, ps) in &free {
            assigned.entry(*t).or_default().extend(ps.iter().copied());
        }
        m.assigned = assigned;
        if m.epoch != assignment_epoch {
            m.previous_epoch = m.epoch;
            m.epoch = assignment_epoch;
        }
        m.state = if free == wanted {
            MemberState::Stable
        } else {
            MemberState::UnreleasedPartitions
        };
    }

    /// The group's records as they are now, by key (see [`super::records`]).
    pub fn records(&self, group: &str) -> BTreeMap<Bytes, Bytes> {
        super::records::consumer_group_records(group, self)
    }

    /// The records to write since the last call: those that changed, and
    /// tombstones for those gone.
    pub fn persist(&mut self, group: &str) -> Vec<(Bytes, Option<Bytes>)> {
        let now = self.records(group);
        let mut out = Vec::new();
        for (k, v) in &now {
            if self.persisted.get(k) != Some(v) {
                out.push((k.clone(), Some(v.clone())));
            }
        }
        for k in self.persisted.keys() {
            if !now.contains_key(k) {
                out.push((k.clone(), None));
            }
        }
        self.persisted = now;
        out
    }

    /// Tombstones for every record of the group (it is deleted or becomes
    /// a classic group).
    pub fn erase(&mut self) -> Vec<(Bytes, Option<Bytes>)> {
        std::mem::take(&mut self.persisted)
            .into_keys()
            .map(|k| (k, None))
            .collect()
    }

    /// Starts the clocks of members read back from the log.
    pub fn loaded(&mut self, group: &str, now: Now, session_timeout_ms: i64) {
        for m in self.members.values_mut() {
            m.session_deadline = now + session_timeout_ms;
            if m.state == MemberState::UnrevokedPartitions {
                m.revocation_deadline = Some(now + m.rebalance_timeout_ms.max(0) as i64);
            }
        }
        self.persisted = self.records(group);
    }

    /// Checks an OffsetCommit or OffsetFetch naming a member and its epoch.
    pub fn validate_member_epoch(&self, member_id: &str, epoch: i32) -> Result<(), ErrorCode> {
        let m = self
            .members
            .get(member_id)
            .ok_or(ErrorCode::UNKNOWN_MEMBER_ID)?;
        if epoch != m.epoch {
            return Err(ErrorCode::STALE_MEMBER_EPOCH);
        }
        Ok(())
    }
}

/// FNV-1a over the topics' names, ids and partition counts.
fn meta_hash(meta: &[TopicMeta]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, id, n) in meta {
        for b in name
            .as_bytes()
            .iter()
            .chain(id.0.iter())
            .chain(n.to_be_bytes().iter())
        {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h as i64
}

fn subset(a: &Assign, b: &Assign) -> bool {
    a.iter()
        .all(|(t, ps)| ps.is_empty() || b.get(t).is_some_and(|bs| ps.is_subset(bs)))
}

fn intersect(a: &Assign, b: &Assign) -> Assign {
    let mut out = Assign::new();
    for (t, ps) in a {
        if let Some(bs) = b.get(t) {
            let common: BTreeSet<i32> = ps.intersection(bs).copied().collect();
            if !common.is_empty() {
                out.insert(*t, common);
            }
        }
    }
    out
}

fn minus(a: &Assign, b: &Assign) -> Assign {
    let mut out = Assign::new();
    for (t, ps) in a {
        let rest: BTreeSet<i32> = match b.get(t) {
            Some(bs) => ps.difference(bs).copied().collect(),
            None => ps.clone(),
        };
        if !rest.is_empty() {
            out.insert(*t, rest);
        }
    }
    out
}

/// Kafka's range assignor, per topic: subscribed members in id order take
/// contiguous ranges, the first `partitions % members` one more.
pub(crate) fn range_assign(
    subs: &BTreeMap<ByteString, BTreeSet<Uuid>>,
    meta: &[TopicMeta],
) -> BTreeMap<ByteString, Assign> {
    let mut out: BTreeMap<ByteString, Assign> =
        subs.keys().map(|m| (m.clone(), Assign::new())).collect();
    for (_, id, n) in meta {
        let members: Vec<&ByteString> = subs
            .iter()
            .filter(|(_, ts)| ts.contains(id))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() {
            continue;
        }
        let (each, extra) = (*n as usize / members.len(), *n as usize % members.len());
        let mut p = 0;
        for (i, m) in members.iter().enumerate() {
            let take = each + usize::from(i < extra);
            let set: BTreeSet<i32> = (p..p + take as i32).collect();
            p += take as i32;
            if !set.is_empty() {
                out.entry((*m).clone()).or_default().insert(*id, set);
            }
        }
    }
    out
}

/// A balanced, sticky assignment: every subscribed partition goes to one
/// subscriber; partition counts differ by at most one between members with
/// the same subscription; a partition stays with its previous owner when
/// that keeps the balance.
pub(crate) fn uniform_assign(
    subs: &BTreeMap<ByteString, BTreeSet<Uuid>>,
    meta: &[TopicMeta],
    previous: &BTreeMap<ByteString, Assign>,
) -> BTreeMap<ByteString, Assign> {
    let mut out: BTreeMap<ByteString, Assign> =
        subs.keys().map(|m| (m.clone(), Assign::new())).collect();
    let mut count: BTreeMap<ByteString, usize> = subs.keys().map(|m| (m.clone(), 0)).collect();
    let partitions: Vec<(Uuid, i32)> = meta
        .iter()
        .filter(|(_, id, _)| subs.values().any(|ts| ts.contains(id)))
        .flat_map(|(_, id, n)| (0..*n).map(move |p| (*id, p)))
        .collect();
    if subs.is_empty() || partitions.is_empty() {
        return out;
    }
    let floor = partitions.len() / subs.len();
    let mut ceil_slots = partitions.len() % subs.len();
    let mut placed: BTreeSet<(Uuid, i32)> = BTreeSet::new();
    // Sticky: previous owners keep up to their fair share.
    for round in 0..2 {
        for (m, prev) in previous {
            let Some(topics) = subs.get(m) else { continue };
            for (t, ps) in prev {
                if !topics.contains(t) {
                    continue;
                }
                for p in ps {
                    let key = (*t, *p);
                    if placed.contains(&key) || !partitions.contains(&key) {
                        continue;
                    }
                    let c = count[m];
                    let ok = if round == 0 {
                        c < floor
                    } else if c == floor && ceil_slots > 0 {
                        ceil_slots -= 1;
                        true
                    } else {
                        false
                    };
                    if ok {
                        placed.insert(key);
                        out.entry(m.clone())
                            .or_default()
                            .entry(*t)
                            .or_default()
                            .insert(*p);
                        *count.get_mut(m).unwrap_or(&mut 0) += 1;
                    }
                }
            }
        }
    }
    // The rest: each to the subscriber holding the fewest.
    for key in partitions {
        if placed.contains(&key) {
            continue;
        }
        let best = subs
            .iter()
            .filter(|(_, ts)| ts.contains(&key.0))
            .map(|(m, _)| m)
            .min_by_key(|m| (count[*m], (*m).clone()));
        if let Some(m) = best {
            out.entry(m.clone())
                .or_default()
                .entry(key.0)
                .or_default()
                .insert(key.1);
            *count.get_mut(m).unwrap_or(&mut 0) += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Vec<TopicMeta> {
        vec![
            ("a".into(), Uuid([1; 16]), 6),
            ("b".into(), Uuid([2; 16]), 3),
        ]
    }

    fn subs(members: &[(&str, &[u8])]) -> BTreeMap<ByteString, BTreeSet<Uuid>> {
        members
            .iter()
            .map(|(m, ts)| ((*m).into(), ts.iter().map(|t| Uuid([*t; 16])).collect()))
            .collect()
    }

    fn sizes(a: &BTreeMap<ByteString, Assign>) -> Vec<usize> {
        a.values()
            .map(|x| x.values().map(BTreeSet::len).sum())
            .collect()
    }

    #[test]
    fn uniform_is_balanced_complete_and_sticky() {
        let s = subs(&[("m1", &[1, 2]), ("m2", &[1, 2]), ("m3", &[1, 2])]);
        let first = uniform_assign(&s, &meta(), &BTreeMap::new());
        assert_eq!(sizes(&first), vec![3, 3, 3]);
        // m3 leaves: m1 and m2 keep everything they had.
        let s2 = subs(&[("m1", &[1, 2]), ("m2", &[1, 2])]);
        let second = uniform_assign(&s2, &meta(), &first);
        let mut sz = sizes(&second);
        sz.sort();
        assert_eq!(sz, vec![4, 5]);
        for m in ["m1", "m2"] {
            assert!(subset(&first[m], &second[m]), "{m} kept its partitions");
        }
    }

    #[test]
    fn range_splits_each_topic() {
        let s = subs(&[("m1", &[1]), ("m2", &[1, 2])]);
        let r = range_assign(&s, &meta());
        assert_eq!(r["m1"][&Uuid([1; 16])], (0..3).collect());
        assert_eq!(r["m2"][&Uuid([1; 16])], (3..6).collect());
        assert_eq!(r["m2"][&Uuid([2; 16])], (0..3).collect());
    }
}
