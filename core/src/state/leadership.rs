//! Partition leadership in a ZooKeeper-coordinated cluster (Kafka 2.x's
//! broker side): what the controller says of every partition, and which
//! partitions this broker hosts, as leader or follower.
//!
//! # Where it lives
//!
//! Kafka's ZooKeeper-mode broker keeps two things apart, and so does
//! Spate: the *metadata cache* (every partition's leader, epochs, replicas,
//! ISR and offline replicas, as the controller's UpdateMetadata last said)
//! and the *hosted partitions* (Kafka's `ReplicaManager.allPartitions`: the
//! partitions whose replica lives on this broker, each with its role and
//! the leader epoch it acts on, as LeaderAndIsr last said). Both live here,
//! in one [`Leadership`] that the metadata image ([`super::cluster`])
//! holds, so that every handler that already reads the image can ask it
//! who leads a partition ([`super::cluster::Cluster::lead`]) without a new
//! borrow. The image's topic table stays the one place a topic's name, id,
//! configs and partition count are found; topics the controller names
//! that the image lacks are learned into it in memory only (they are
//! marked `learned` and are never written to `__cluster_metadata`, as a
//! ZooKeeper-mode Kafka broker keeps nothing of the controller's word on
//! disk: the controller tells it again after a restart).
//!
//! ```text
//!   controller (ZooKeeper mode)                       this broker alone
//!   UpdateMetadata        LeaderAndIsr, StopReplica    CreateTopics, ...
//!        │                        │                          │
//!        ▼                        ▼                          ▼
//!   ┌─────────────── Leadership ───────────────┐    __cluster_metadata
//!   │ states: every partition's   hosted: this │           │ replay
//!   │ leader, epochs, replicas,   broker's     │           ▼
//!   │ ISR, offline replicas       replicas:    │    image topic table
//!   │                             role, epoch  │    (name, id, configs,
//!   └──────────────────────────────────────────┘     partitions, epoch)
//!        │                        │                          │
//!        └────────── Cluster::lead(topic, partition) ────────┘
//!                 Here(epoch) | Elsewhere(leader, epoch) | Unknown
//!        Metadata, DescribeTopicPartitions: states, else hosted, else image
//! ```
//!
//! In single-broker mode both maps stay empty and [`Cluster::lead`] answers
//! from the image alone, as before: this broker leads every partition.
//!
//! # Who leads, in ZooKeeper mode
//!
//! A hosted partition is led here when LeaderAndIsr made this broker its
//! leader, and elsewhere (by the named leader) when it made it a follower.
//! A partition not hosted that the controller's states know is led
//! elsewhere (Kafka's NOT_LEADER_OR_FOLLOWER for a partition whose replica
//! this broker does not hold). A partition known only to the image's own
//! log (a topic this broker's KRaft-style controller created: the
//! internal topics, which are not routed through ZooKeeper yet, and
//! topics a single broker created before it joined a cluster) is led
//! here, as in single-broker mode. CreateTopics in ZooKeeper mode goes
//! through ZooKeeper, and its topics are learned from the controller.
//!
//! # Followers
//!
//! A follower's partitions are what the broker's replica fetcher
//! (`coordinator::fetcher`) copies from their leaders ([`Leadership::followed`]).
//! A leader keeps its followers' positions, ISR and high watermark in a
//! [`LeaderLog`] per partition (see [`super::replication`]). Topic configs
//! from ZooKeeper are not delivered: learned topics use the broker's
//! defaults.
//!
//! [`Cluster::lead`]: super::cluster::Cluster::lead

use crate::collections::{Map, Set};

use super::replication::{IsrOutcome, IsrWrite, LeaderLog};
use super::Now;
use crate::protocol::{ErrorCode, Uuid};
use crate::storage::TopicPartition;

/// The leader a partition has while its topic is being deleted (Kafka's
/// `LeaderAndIsr.LEADER_DURING_DELETE`): UpdateMetadata removes it.
pub(crate) const LEADER_DURING_DELETE: i32 = -2;

/// A StopReplica leader epoch saying the topic is being deleted: not
/// checked (Kafka's `EPOCH_DURING_DELETE`).
const EPOCH_DURING_DELETE: i32 = -2;

/// A StopReplica leader epoch before v3 carried one: not checked.
const NO_EPOCH: i32 = -1;

/// The leader epoch of a partition not hosted yet: any request's epoch is
/// newer (Kafka's new `Partition` starts at -1).
const UNHOSTED_EPOCH: i32 = -1;

/// One partition as the controller describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PartitionState {
    /// The leader's broker id (-1: none).
    pub leader: i32,
    pub leader_epoch: i32,
    /// The version of the partition's state znode (`zk_version`).
    pub partition_epoch: i32,
    /// The epoch of the controller that decided this state.
    pub controller_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Replicas on brokers whose log directory is offline.
    pub offline: Vec<i32>,
}

/// This broker's part in a partition it hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// It takes produces and serves fetches.
    Leader,
    /// It copies `leader`'s log (`coordinator::fetcher`) and serves
    /// neither.
    Follower { leader: i32 },
}

/// A partition whose replica lives on this broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hosted {
    /// The topic id the controller named (zero: not known).
    pub topic_id: Uuid,
    pub role: Role,
    /// The state LeaderAndIsr gave it.
    pub state: PartitionState,
}

/// Who serves requests that need a partition's leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lead {
    /// This broker, at this leader epoch.
    Here(i32),
    /// Another broker (`leader`, -1 when none is known), at
    /// `leader_epoch`: NOT_LEADER_OR_FOLLOWER, with where to go.
    Elsewhere { leader: i32, leader_epoch: i32 },
    /// No such partition: UNKNOWN_TOPIC_OR_PARTITION.
    Unknown,
}

impl Lead {
    /// The leader epoch when this broker leads; otherwise the error a
    /// request that needs the leader gets.
    pub fn here(self) -> Result<i32, ErrorCode> {
        match self {
            Lead::Here(epoch) => Ok(epoch),
            Lead::Elsewhere { .. } => Err(ErrorCode::NOT_LEADER_OR_FOLLOWER),
            Lead::Unknown => Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
        }
    }
}

/// What a LeaderAndIsr asks of one partition, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Become {
    Leader,
    Follower(i32),
}

/// The controller's partition states and this broker's hosted partitions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Leadership {
    /// This broker's id.
    me: i32,
    /// Every partition the controller told of, by topic then partition.
    states: Map<String, Map<i32, PartitionState>>,
    /// The partitions hosted here.
    hosted: Map<TopicPartition, Hosted>,
    /// The hosted partitions led here: their followers, ISR and high
    /// watermark ([`super::replication`]).
    leaders: Map<TopicPartition, LeaderLog>,
    /// Where the leaders LeaderAndIsr named listen (its live leaders), by
    /// broker id: the fetcher's fallback when UpdateMetadata has not
    /// named them yet.
    endpoints: Map<i32, (String, i32)>,
    /// Hosted partitions a StopReplica (without deletion) stopped: a
    /// follower among them does not fetch until the next LeaderAndIsr.
    stopped: Set<TopicPartition>,
}

impl Leadership {
    /// Nothing known or hosted, on broker `me`.
    pub fn new(me: i32) -> Leadership {
        Leadership {
            me,
            ..Leadership::default()
        }
    }

    /// The controller's state of a partition.
    pub fn state(&self, topic: &str, p: i32) -> Option<&PartitionState> {
        self.states.get(topic)?.get(&p)
    }

    /// The hosted partition `tp`.
    pub fn hosted(&self, tp: &TopicPartition) -> Option<&Hosted> {
        self.hosted.get(tp)
    }

    /// How many partitions led here have an ISR smaller than their
    /// replica set (Kafka's `UnderReplicatedPartitions`).
    pub fn under_replicated(&self) -> usize {
        self.hosted
            .iter()
            .filter(|(_, h)| h.role == Role::Leader)
            .filter(|(tp, h)| {
                let isr = self
                    .leaders
                    .get(*tp)
                    .map_or(h.state.isr.len(), |l| l.isr().len());
                isr < h.state.replicas.len()
            })
            .count()
    }

    /// How many partitions the controller's states give no live leader
    /// (Kafka's `OfflinePartitionsCount`); partitions being deleted are
    /// not counted.
    pub fn offline(&self, live: impl Fn(i32) -> bool) -> usize {
        self.states
            .values()
            .flat_map(|ps| ps.values())
            .filter(|s| s.leader != LEADER_DURING_DELETE && (s.leader < 0 || !live(s.leader)))
            .count()
    }

    /// The partitions of `topic` hosted and led here.
    pub fn led(&self, topic: &str) -> Set<i32> {
        self.leaders
            .keys()
            .filter(|tp| tp.topic == topic)
            .map(|tp| tp.partition)
            .collect()
    }

    /// The replication state of `tp` when it is hosted and led here.
    pub fn leader_log(&self, tp: &TopicPartition) -> Option<&LeaderLog> {
        self.leaders.get(tp)
    }

    /// The replication state of `tp`, to record a follower's fetch.
    pub fn leader_log_mut(&mut self, tp: &TopicPartition) -> Option<&mut LeaderLog> {
        self.leaders.get_mut(tp)
    }

    /// The ISR changes due at `now` on the partitions led here (see
    /// [`super::replication`]), each marked in flight: the partition, the
    /// state it was led at, and what to write. `log_end` gives a
    /// partition's log end offset.
    pub fn isr_changes(
        &mut self,
        log_end: impl Fn(&TopicPartition) -> i64,
        now: Now,
        lag_ms: i64,
    ) -> Vec<(TopicPartition, PartitionState, IsrWrite)> {
        let mut out = Vec::new();
        for (tp, log) in &mut self.leaders {
            let Some(h) = self.hosted.get(tp) else {
                continue;
            };
            let hw = log.high_watermark(log_end(tp));
            if let Some(isr) = log.isr_change(hw, now, lag_ms) {
                out.push((tp.clone(), h.state.clone(), log.propose(isr)));
            }
        }
        out
    }

    /// The outcome of an ISR write for `tp` proposed at `leader_epoch`.
    /// Returns whether the ISR changed. An outcome for an earlier leadership is
    /// dropped: LeaderAndIsr has said what holds since.
    pub fn isr_written(
        &mut self,
        tp: &TopicPartition,
        leader_epoch: i32,
        outcome: IsrOutcome,
    ) -> bool {
        let current = self.hosted.get(tp).map(|h| h.state.leader_epoch);
        if current != Some(leader_epoch) {
            return false;
        }
        let Some(log) = self.leaders.get_mut(tp) else {
            return false;
        };
        let changed = log.written(outcome);
        if let (true, Some(h), IsrOutcome::Done(v)) = (changed, self.hosted.get_mut(tp), outcome) {
            h.state.isr = log.isr().to_vec();
            h.state.partition_epoch = v;
        }
        changed
    }

    /// Records a live leader's endpoint from a LeaderAndIsr.
    pub fn set_leader_endpoint(&mut self, id: i32, host: String, port: i32) {
        self.endpoints.insert(id, (host, port));
    }

    /// The endpoint LeaderAndIsr last gave for leader `id`.
    pub fn leader_endpoint(&self, id: i32) -> Option<(String, i32)> {
        self.endpoints.get(&id).cloned()
    }

    /// Every partition hosted here as follower: its leader and the
    /// leader epoch it follows at.
    pub fn followed(&self) -> Vec<(TopicPartition, i32, i32)> {
        self.hosted
            .iter()
            .filter(|(tp, _)| !self.stopped.contains(*tp))
            .filter_map(|(tp, h)| match h.role {
                Role::Follower { leader } => Some((tp.clone(), leader, h.state.leader_epoch)),
                Role::Leader => None,
            })
            .collect()
    }

    /// Whether the controller's states or the hosted partitions mention
    /// `topic` at all.
    pub fn mentions(&self, topic: &str) -> bool {
        self.states.contains_key(topic) || self.hosted.keys().any(|tp| tp.topic == topic)
    }

    /// Who leads a partition the image knows, in ZooKeeper mode: `None`
    /// when neither the hosted partitions nor the controller's states say
    /// (the image decides).
    pub fn lead(&self, tp: &TopicPartition) -> Option<Lead> {
        if let Some(h) = self.hosted.get(tp) {
            return Some(match h.role {
                Role::Leader => Lead::Here(h.state.leader_epoch),
                Role::Follower { leader } => Lead::Elsewhere {
                    leader,
                    leader_epoch: h.state.leader_epoch,
                },
            });
        }
        let s = self.state(&tp.topic, tp.partition)?;
        Some(Lead::Elsewhere {
            leader: s.leader,
            leader_epoch: s.leader_epoch,
        })
    }

    /// Applies one UpdateMetadata partition state (Kafka's
    /// `ZkMetadataCache.updateMetadata`): a leader of
    /// [`LEADER_DURING_DELETE`] removes the partition; any other replaces
    /// it. (Topic ids are kept by the image, which learns them.) Returns whether
    /// the partition was deleted.
    pub fn set_state(&mut self, topic: &str, p: i32, state: PartitionState) -> bool {
        if state.leader == LEADER_DURING_DELETE {
            if let Some(parts) = self.states.get_mut(topic) {
                parts.remove(&p);
                if parts.is_empty() {
                    self.states.remove(topic);
                }
            }
            return true;
        }
        self.states
            .entry(topic.to_string())
            .or_default()
            .insert(p, state);
        false
    }

    /// Checks one LeaderAndIsr partition state against what is hosted, in
    /// Kafka's order (`ReplicaManager.becomeLeaderOrFollower`): a topic id
    /// other than the hosted one is INCONSISTENT_TOPIC_ID; a leader epoch
    /// not newer than the hosted one STALE_CONTROLLER_EPOCH (the same
    /// epoch too: the decision was already applied); this broker not
    /// among the replicas UNKNOWN_TOPIC_OR_PARTITION. Changes nothing.
    pub fn check_become(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        state: &PartitionState,
    ) -> Result<Become, ErrorCode> {
        let hosted = self.hosted.get(tp);
        if let Some(h) = hosted {
            if topic_id != Uuid::ZERO && h.topic_id != Uuid::ZERO && topic_id != h.topic_id {
                return Err(ErrorCode::INCONSISTENT_TOPIC_ID);
            }
        }
        let current = hosted.map_or(UNHOSTED_EPOCH, |h| h.state.leader_epoch);
        if state.leader_epoch <= current {
            return Err(ErrorCode::STALE_CONTROLLER_EPOCH);
        }
        if !state.replicas.contains(&self.me) {
            return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        }
        Ok(if state.leader == self.me {
            Become::Leader
        } else {
            Become::Follower(state.leader)
        })
    }

    /// Hosts `tp` with the role and state a checked LeaderAndIsr gave it
    /// (Kafka's `Partition.makeLeader` / `makeFollower`). A topic id
    /// already known is kept when the request has none. A leader's
    /// replication state starts afresh (followers unknown) with the high
    /// watermark it had if it led before, else at `log_start`; a follower
    /// has none.
    pub fn host(
        &mut self,
        tp: TopicPartition,
        topic_id: Uuid,
        to: Become,
        state: PartitionState,
        (log_start, log_end, now): (i64, i64, Now),
    ) {
        match to {
            Become::Leader => {
                let floor = self
                    .leaders
                    .get(&tp)
                    .map_or(log_start, |l| l.high_watermark(log_end));
                let log = LeaderLog::new(self.me, &state.replicas, &state.isr, floor, now)
                    .at_version(state.partition_epoch);
                self.leaders.insert(tp.clone(), log);
            }
            Become::Follower(_) => {
                self.leaders.remove(&tp);
            }
        }
        let topic_id = match self.hosted.get(&tp) {
            Some(h) if topic_id == Uuid::ZERO => h.topic_id,
            _ => topic_id,
        };
        self.stopped.remove(&tp);
        let role = match to {
            Become::Leader => Role::Leader,
            Become::Follower(leader) => Role::Follower { leader },
        };
        self.hosted.insert(
            tp,
            Hosted {
                topic_id,
                role,
                state,
            },
        );
    }

    /// Checks a StopReplica partition (Kafka's
    /// `ReplicaManager.stopReplicas`): a leader epoch older than the
    /// hosted one is FENCED_LEADER_EPOCH; the deletion sentinel, no epoch
    /// (before v3) and a partition not hosted pass.
    pub fn check_stop(&self, tp: &TopicPartition, leader_epoch: i32) -> Result<(), ErrorCode> {
        match self.hosted.get(tp) {
            Some(h)
                if leader_epoch != EPOCH_DURING_DELETE
                    && leader_epoch != NO_EPOCH
                    && leader_epoch < h.state.leader_epoch =>
            {
                Err(ErrorCode::FENCED_LEADER_EPOCH)
            }
            _ => Ok(()),
        }
    }

    /// Stops hosting `tp` (its log is being deleted).
    pub fn unhost(&mut self, tp: &TopicPartition) {
        self.hosted.remove(tp);
        self.leaders.remove(tp);
        self.stopped.remove(tp);
    }

    /// A StopReplica without deletion: `tp` stays hosted in its role, but
    /// as a follower it stops fetching until LeaderAndIsr hosts it again
    /// (Kafka's `stopReplicas` removes its fetcher and keeps the log).
    pub fn stop(&mut self, tp: &TopicPartition) {
        if self.hosted.contains_key(tp) {
            self.stopped.insert(tp.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(leader: i32, leader_epoch: i32, replicas: &[i32]) -> PartitionState {
        PartitionState {
            leader,
            leader_epoch,
            replicas: replicas.to_vec(),
            isr: replicas.to_vec(),
            ..PartitionState::default()
        }
    }

    fn tp() -> TopicPartition {
        TopicPartition::new("t", 0)
    }

    #[test]
    fn becoming_leader_then_follower_needs_newer_epochs() {
        let mut l = Leadership::new(1);
        let id = Uuid([7; 16]);
        let s = state(1, 0, &[1, 2]);
        assert_eq!(l.check_become(&tp(), id, &s), Ok(Become::Leader));
        l.host(tp(), id, Become::Leader, s.clone(), (0, 0, 0));
        assert_eq!(l.lead(&tp()), Some(Lead::Here(0)));
        // The same epoch again, or an older one: stale.
        assert_eq!(
            l.check_become(&tp(), id, &s),
            Err(ErrorCode::STALE_CONTROLLER_EPOCH)
        );
        let f = state(2, 1, &[1, 2]);
        assert_eq!(
            l.check_become(&tp(), Uuid([8; 16]), &f),
            Err(ErrorCode::INCONSISTENT_TOPIC_ID)
        );
        assert_eq!(
            l.check_become(&tp(), Uuid::ZERO, &f),
            Ok(Become::Follower(2))
        );
        l.host(tp(), Uuid::ZERO, Become::Follower(2), f, (0, 0, 0));
        assert_eq!(l.hosted(&tp()).unwrap().topic_id, id);
        assert_eq!(
            l.lead(&tp()),
            Some(Lead::Elsewhere {
                leader: 2,
                leader_epoch: 1
            })
        );
        assert_eq!(
            l.check_become(&tp(), id, &state(2, 2, &[2, 3])),
            Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
        );
    }

    #[test]
    fn stop_checks_epochs_unless_deleting() {
        let mut l = Leadership::new(1);
        l.host(
            tp(),
            Uuid::ZERO,
            Become::Leader,
            state(1, 5, &[1]),
            (0, 0, 0),
        );
        assert_eq!(l.check_stop(&tp(), 4), Err(ErrorCode::FENCED_LEADER_EPOCH));
        for epoch in [5, 6, NO_EPOCH, EPOCH_DURING_DELETE] {
            assert_eq!(l.check_stop(&tp(), epoch), Ok(()));
        }
        assert_eq!(l.check_stop(&TopicPartition::new("u", 0), 0), Ok(()));
    }

    #[test]
    fn deleted_partitions_leave_the_states() {
        let mut l = Leadership::new(1);
        assert!(!l.set_state("t", 0, state(2, 3, &[2])));
        assert_eq!(
            l.lead(&tp()),
            Some(Lead::Elsewhere {
                leader: 2,
                leader_epoch: 3
            })
        );
        assert!(l.set_state("t", 0, state(LEADER_DURING_DELETE, 3, &[2])));
        assert_eq!(l.lead(&tp()), None);
        assert!(!l.mentions("t"));
    }
}
