//! Groups of the consumer protocol (KIP-848): the broker assigns, members
//! only heartbeat.
//!
//! # Epochs and reconciliation
//!
//! The *group epoch* goes up whenever what the assignment depends on
//! changes: a member joins or leaves, a subscription changes, a subscribed
//! topic gains partitions or appears. The *target assignment* is then
//! computed again by the assignor (`uniform`, the default, or `range`; see
//! [`assign`]) and stamped with that epoch (the *assignment epoch*). The
//! group's state is read off those epochs:
//!
//! ```text
//!            first member joins
//!   Empty  ----------------------> Assigning      group epoch > assignment epoch
//!     ^                                |
//!     | last member leaves             | target computed (same heartbeat)
//!     | or expires                     v
//!     +-------------------------- Reconciling     some member's epoch or state lags
//!                                   ^     |
//!               epoch bump (join,   |     | every member holds its target
//!               leave, new topics)  |     v
//!                                   +-- Stable
//! ```
//!
//! Each member walks from what it owns to its target, one heartbeat at a
//! time, as Kafka's `CurrentAssignmentBuilder` does ([`MemberState`]):
//! partitions it owns that the target gives to others are taken away
//! first; then it moves to the assignment epoch and receives its new
//! partitions, except those another member has not released yet.
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

pub(crate) mod assign;
mod persist;

use crate::collections::{Map, Set};

use bytes::Bytes;
use bytestring::ByteString;

use super::Effects;
use crate::protocol::{ErrorCode, Uuid};
use crate::state::Now;

pub(crate) use assign::Assign;
use assign::{intersect, minus, range_assign, subset, uniform_assign, ASSIGNORS};

/// Where a member stands on its way to its target assignment.
///
/// ```text
///          target takes partitions          the member reports them
///          it owns away                     released (owned ∩ revoking = ∅)
///   Stable -----------------> UnrevokedPartitions -------------+
///     ^  ^                        |  rebalance timeout         |
///     |  |                        v                            v
///     |  |                     (fenced: removed)     new epoch, new partitions
///     |  |                                                     |
///     |  +------ all of its target is free ---------------------+
///     |                                                        | some are still
///     |                                                        v owned by others
///     +------- they are released ------------------- UnreleasedPartitions
/// ```
///
/// The numbers Kafka's ConsumerGroupCurrentMemberAssignmentValue.state
/// stores are 0, 1 and 2, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum MemberState {
    /// It holds exactly its target.
    #[default]
    Stable,
    /// It must give these partitions up before it moves on, by `deadline`
    /// (its rebalance timeout) or be fenced.
    UnrevokedPartitions { revoking: Assign, deadline: Now },
    /// It is at the assignment epoch but waits for partitions others still own.
    UnreleasedPartitions,
}

impl MemberState {
    /// Kafka's number for the state in its records.
    pub fn code(&self) -> i8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions { .. } => 1,
            MemberState::UnreleasedPartitions => 2,
        }
    }

    /// The state a record names, with the partitions pending revocation it
    /// lists (unknown numbers read as stable). The revocation deadline is
    /// set when the group is loaded.
    pub fn from_record(code: i8, revoking: Assign) -> MemberState {
        match code {
            1 => MemberState::UnrevokedPartitions {
                revoking,
                deadline: 0,
            },
            2 => MemberState::UnreleasedPartitions,
            _ => MemberState::Stable,
        }
    }

    /// The partitions being revoked (empty unless unrevoked).
    pub fn revoking(&self) -> Option<&Assign> {
        match self {
            MemberState::UnrevokedPartitions { revoking, .. } => Some(revoking),
            _ => None,
        }
    }
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
    pub session_deadline: Now,
    /// The assignment last sent to it.
    pub last_sent: Option<Assign>,
}

impl ConsumerMember {
    fn revocation_deadline(&self) -> Option<Now> {
        match self.state {
            MemberState::UnrevokedPartitions { deadline, .. } => Some(deadline),
            _ => None,
        }
    }
}

/// A topic the assignor may hand out: name, id, partition count.
pub(crate) type TopicMeta = (ByteString, Uuid, i32);

/// A consumer group's own state (its offsets are the coordinator's).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerGroup {
    pub id: ByteString,
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: ByteString,
    pub members: Map<ByteString, ConsumerMember>,
    pub target: Map<ByteString, Assign>,
    /// A hash of the subscribed topics (names, ids, partition counts) as
    /// they were when the target was computed: a change bumps the epoch.
    pub meta_hash: i64,
    /// The group's records as last written to `__consumer_offsets`, by key.
    pub persisted: Map<Bytes, Bytes>,
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

impl ConsumerGroup {
    /// An empty group.
    pub fn new(id: ByteString) -> ConsumerGroup {
        ConsumerGroup {
            id,
            ..Default::default()
        }
    }

    /// Kafka's name of the group's state (see the module docs).
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
            .flat_map(|m| std::iter::once(m.session_deadline).chain(m.revocation_deadline()))
            .min()
    }

    /// Removes members whose session or revocation time ran out.
    pub fn tick(&mut self, now: Now, fx: &mut Effects) {
        let gone: Vec<ByteString> = self
            .members
            .values()
            .filter(|m| {
                now >= m.session_deadline || m.revocation_deadline().is_some_and(|d| now >= d)
            })
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
        self.persist(fx);
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
        fx: &mut Effects,
    ) -> HeartbeatOutcome {
        let out = self.beat(a, topics, session_timeout_ms, now);
        self.persist(fx);
        out
    }

    fn beat(
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
                session_deadline: now,
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

    fn member_topics(m: &ConsumerMember, meta: &[TopicMeta]) -> Set<Uuid> {
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

    /// Whether some member subscribes to `topic` by name.
    pub fn subscribed(&self, topic: &str) -> bool {
        self.members
            .values()
            .any(|m| m.subscribed.iter().any(|t| t == topic))
    }

    /// Computes the target assignment for the current group epoch.
    fn assign(&mut self, meta: Vec<TopicMeta>) {
        let assignor = self
            .members
            .values()
            .filter_map(|m| m.assignor.clone())
            .next()
            .unwrap_or_else(|| "uniform".into());
        let subs: Map<ByteString, Set<Uuid>> = self
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
            for (t, ps) in m
                .assigned
                .iter()
                .chain(m.state.revoking().into_iter().flatten())
            {
                out.entry(*t).or_default().extend(ps.iter().copied());
            }
        }
        out
    }

    /// Moves member `id` one step towards its target (see [`MemberState`]).
    fn reconcile(&mut self, id: &str, owned: Option<&Assign>, now: Now) {
        let others = self.owned_by_others(id);
        let target = self.target.get(id).cloned().unwrap_or_default();
        let assignment_epoch = self.assignment_epoch;
        let Some(m) = self.members.get_mut(id) else {
            return;
        };
        if let MemberState::UnrevokedPartitions { revoking, .. } = &m.state {
            let released = owned.is_some_and(|o| intersect(o, revoking).is_empty());
            if !released {
                return;
            }
            m.state = MemberState::Stable;
        }
        if m.epoch == assignment_epoch && m.state == MemberState::Stable && m.assigned == target {
            return;
        }
        let kept = intersect(&m.assigned, &target);
        let revoke = minus(&m.assigned, &target);
        if !revoke.is_empty() {
            m.assigned = kept;
            m.state = MemberState::UnrevokedPartitions {
                revoking: revoke,
                deadline: now + m.rebalance_timeout_ms.max(0) as i64,
            };
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

    /// Writes the records that changed since the last call, and tombstones
    /// for those gone (see [`persist`]).
    fn persist(&mut self, fx: &mut Effects) {
        let Some(now) = fx.encoded(persist::records(&self.id, self)) else {
            return;
        };
        for (k, v) in &now {
            if self.persisted.get(k) != Some(v) {
                fx.record(k.clone(), Some(v.clone()));
            }
        }
        for k in self.persisted.keys() {
            if !now.contains_key(k) {
                fx.record(k.clone(), None);
            }
        }
        self.persisted = now;
    }

    /// Tombstones for every record of the group (it is deleted or becomes
    /// a classic group).
    pub fn erase(&mut self, fx: &mut Effects) {
        for k in std::mem::take(&mut self.persisted).into_keys() {
            fx.record(k, None);
        }
    }

    /// Starts the clocks of members read back from the log.
    pub fn loaded(&mut self, now: Now, session_timeout_ms: i64) {
        for m in self.members.values_mut() {
            m.session_deadline = now + session_timeout_ms;
            if let MemberState::UnrevokedPartitions { deadline, .. } = &mut m.state {
                *deadline = now + m.rebalance_timeout_ms.max(0) as i64;
            }
        }
        self.persisted = persist::records(&self.id, self).unwrap_or_default();
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
