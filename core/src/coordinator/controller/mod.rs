//! The cluster controller of a ZooKeeper-coordinated cluster (Kafka 2.x's
//! `KafkaController`), as a sans-I/O machine: it decides every
//! partition's leader and ISR, and says what to write to the coordination
//! service and whom to tell; the driver (`spate serve`, in
//! `native/src/cluster/`) reads and writes ZooKeeper and sends the
//! requests.
//!
//! # Order of calls
//!
//! Getters take `&self`; `handle_*` take what the engine holds or what
//! happened; [`Controller::poll_output`] returns what to do. After every
//! `handle_*` call, drain `poll_output` until `None` and carry each output
//! out:
//!
//! 1. [`Controller::handle_elected`] when this broker wins the election,
//!    with the live brokers, every topic's assignment (`/brokers/topics/T`)
//!    and every partition's stored state (`.../partitions/P/state`).
//! 2. [`Controller::handle_brokers`] when the live brokers change,
//!    [`Controller::handle_topics`] when topics (or partitions) appear,
//!    [`Controller::handle_deletions`] when topics are marked for
//!    deletion (module `deletion`), [`Controller::handle_stop_replica_answered`]
//!    when a broker answers a StopReplica (and
//!    [`Controller::handle_retry_deletions`] a while after one carried an
//!    error), [`Controller::handle_broker_restarted`] when a live broker
//!    registered again (its channel is new).
//! 3. For every [`Output::Write`], write conditionally (fenced by the
//!    controller epoch) and hand the outcomes back together in
//!    [`Controller::handle_written`]; for every [`Output::Read`], read the
//!    state znode and hand it to [`Controller::handle_read`].
//! 4. [`Output::LeaderAndIsr`], [`Output::UpdateMetadata`] and
//!    [`Output::StopReplica`] go over the controller's channels, stamped
//!    with the target's broker epoch; [`Output::TopicDeleted`] and
//!    [`Output::DropDeletion`] remove znodes.
//! 5. [`Controller::handle_resigned`] the moment this broker stops being
//!    the controller: it forgets everything and asks for nothing more.
//!
//! # What it decides
//!
//! The rules are in `rules.rs` (new partition: first live replica leads,
//! ISR = live replicas; dead leader: clean election from the live ISR, or
//! offline with leader -1; dead follower: out of the ISR; every change
//! bumps the leader epoch and carries this controller's epoch). A write
//! goes to ZooKeeper before anyone hears of it; a write that finds the
//! znode moved (BadVersion, or NodeExists for a create) is followed by a
//! read and a new decision. A partition with a write in flight gets no
//! second one; it is decided again when the outcome arrives.
//!
//! Who hears what, once a partition's state is settled:
//!
//! - LeaderAndIsr, with the changed partitions it hosts, to every live
//!   broker that holds a replica (Kafka: live replicas only);
//! - UpdateMetadata, with the changed partitions, to every live broker;
//! - a broker that just became live (or every broker, on election) gets
//!   LeaderAndIsr for every partition it hosts and UpdateMetadata with
//!   every partition (Kafka's `onBrokerStartup` and `onControllerFailover`).
//!
//! The machine knows broker ids only: an [`Output::UpdateMetadata`] names
//! partitions, and the driver adds the live brokers' endpoints and the
//! target's broker epoch (as its channels already do). Brokers that stay
//! live hear of a membership change from the driver's own UpdateMetadata,
//! not from this machine.
//!
//! # Controlled shutdown
//!
//! [`Controller::handle_controlled_shutdown`] (rules in `shutdown.rs`):
//! the broker is kept out of every election and ISR it can leave while it
//! stays live, and [`Output::ShutdownDone`] answers it once its partitions
//! are settled, with those it still leads.
//!
//! # Elections asked for
//!
//! [`Controller::handle_elect_leaders`] (ElectLeaders) and
//! [`Controller::handle_rebalance_check`] (`auto.leader.rebalance.enable`)
//! move leadership back to the preferred replica (rules in `elect.rs`);
//! [`Output::Elected`] answers a request once its partitions are settled.
//!
//! # Partition reassignment
//!
//! [`Controller::handle_reassign`] (AlterPartitionReassignments) moves
//! partitions to new replicas through Kafka's stages (module `reassign`):
//! the full replica set in the assignment znode
//! ([`Output::WriteAssignment`]), a leader epoch bump told to every
//! replica, the wait for the targets to join the ISR, then a leader and
//! ISR within the target, StopReplica with deletion to the removed
//! replicas and the target in the znode. [`Output::Reassigned`] answers
//! once the moves are started; [`Controller::reassignments`] lists them.
//!
//! # Not here yet
//!
//! - Unclean election (`unclean.leader.election.enable=true`): always off.
//! - ISR expansion: a returning replica rejoins the ISR when the leader
//!   says so (AlterPartition / the ISR change notification), which belongs
//!   to the replication layer; this machine only shrinks the ISR.
//! - StopReplica for replicas on dead brokers (a topic with a replica on
//!   a dead broker waits to be deleted until the broker is back, as in
//!   Kafka; a replica a reassignment removes from a dead broker is not
//!   deleted when it returns, nor in Kafka's `stopRemovedReplicasOf
//!   ReassignedPartition`, which does not retry). The answers to a reassignment's
//!   StopReplica are not waited for.
//! - CreateTopics through ZooKeeper is the broker's side, not this
//!   machine's: the broker outputs `Output::CreateTopics` with the
//!   computed assignments, the driver writes `/config/topics/T` and
//!   `/brokers/topics/T`, and this machine learns of the topics from its
//!   `/brokers/topics` watch (`handle_topics`) like any other.

mod asks;
mod deletion;
mod elect;
mod reassign;
mod rules;

pub use asks::{ControllerAnswer, ControllerAsk};
pub use reassign::{Listed, Outcome};
mod shutdown;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use crate::collections::{Map, Set};

use crate::protocol::Uuid;
use crate::storage::TopicPartition;

use rules::Decision;

/// Takes out the requests (ElectLeaders, AlterPartitionReassignments)
/// with no partition left to settle, with what they are answered.
fn take_settled<T>(requests: &mut Map<u64, (Set<TopicPartition>, T)>) -> Vec<(u64, T)> {
    let done: Vec<u64> = requests
        .iter()
        .filter(|(_, (left, _))| left.is_empty())
        .map(|(r, _)| *r)
        .collect();
    done.into_iter()
        .filter_map(|r| requests.remove(&r).map(|(_, answer)| (r, answer)))
        .collect()
}

/// A broker id (`broker.id`).
pub type BrokerId = i32;

/// The leader of a partition that has none (Kafka's `NO_LEADER`).
pub const NO_LEADER: BrokerId = -1;

/// The leader (and leader epoch) UpdateMetadata and StopReplica name for
/// a partition whose topic is being deleted (Kafka's
/// `LeaderDuringDelete` and `EpochDuringDelete`).
pub const LEADER_DURING_DELETE: i32 = -2;

/// A partition's leader and ISR, as its state znode holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderIsr {
    /// The leader ([`NO_LEADER`]: offline).
    pub leader: BrokerId,
    /// Bumped at every change of leader or ISR.
    pub leader_epoch: i32,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The epoch of the controller that wrote it.
    pub controller_epoch: i32,
}

/// A stored state and the version it was read (or written) at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The state.
    pub state: LeaderIsr,
    /// The znode's data version (LeaderAndIsr's `zk_version`).
    pub version: i32,
}

/// A topic's replica assignment (`/brokers/topics/T`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicAssignment {
    /// The topic.
    pub name: String,
    /// Its id (zero when the znode has none, as before Kafka 2.8).
    pub id: Uuid,
    /// Each partition's replicas, preferred leader first (while one is
    /// reassigned: the full set, target first).
    pub partitions: Map<i32, Vec<BrokerId>>,
    /// Per partition being reassigned: the replicas it gains
    /// (`adding_replicas`).
    pub adding: Map<i32, Vec<BrokerId>>,
    /// Per partition being reassigned: the replicas it loses
    /// (`removing_replicas`).
    pub removing: Map<i32, Vec<BrokerId>>,
}

/// The condition of a [`Output::Write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The znode must not exist yet.
    Absent,
    /// The znode must still be at this version.
    Version(i32),
}

/// The outcome of a [`Output::Write`], as [`Controller::handle_written`]
/// takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written; the znode's new version.
    Done(i32),
    /// The condition did not hold (or the controller epoch moved): nothing
    /// was written.
    Conflict,
    /// The write could not be made (the connection dropped); the state is
    /// unknown, so it is read again.
    Failed,
}

/// One partition as the controller tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    /// The partition.
    pub tp: TopicPartition,
    /// Its topic's id.
    pub topic_id: Uuid,
    /// Leader, epochs and ISR.
    pub state: LeaderIsr,
    /// The state znode's version.
    pub version: i32,
    /// The assigned replicas.
    pub replicas: Vec<BrokerId>,
    /// Assigned replicas on brokers that are not alive.
    pub offline: Vec<BrokerId>,
    /// While the partition is reassigned: the replicas it gains.
    pub adding: Vec<BrokerId>,
    /// While the partition is reassigned: the replicas it loses.
    pub removing: Vec<BrokerId>,
}

/// What the controller needs done, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Write a partition's state znode if `expect` holds, fenced by this
    /// controller's epoch; report in [`Controller::handle_written`].
    Write {
        /// The partition.
        tp: TopicPartition,
        /// The new state.
        state: LeaderIsr,
        /// The condition.
        expect: Expect,
    },
    /// Read a partition's state znode; report in [`Controller::handle_read`].
    Read {
        /// The partition.
        tp: TopicPartition,
    },
    /// Send LeaderAndIsr to `broker` with these partitions (each hosted
    /// by it).
    LeaderAndIsr {
        /// The target.
        broker: BrokerId,
        /// The partitions.
        partitions: Vec<PartitionView>,
    },
    /// Send UpdateMetadata to `broker` with these partitions.
    UpdateMetadata {
        /// The target.
        broker: BrokerId,
        /// The partitions.
        partitions: Vec<PartitionView>,
    },
    /// Answer the controlled shutdown of `broker`
    /// ([`Controller::handle_controlled_shutdown`]): every partition it
    /// hosts is settled, and these (replicated, with no other live ISR
    /// member to take over) it still leads.
    ShutdownDone {
        /// The broker shutting down.
        broker: BrokerId,
        /// The partitions it still leads.
        remaining: Vec<TopicPartition>,
    },
    /// Send StopReplica to `broker` for these partitions it hosts, each
    /// with its leader epoch, deleting their logs when `delete`: a broker
    /// shutting down stops fetching the partitions it follows (delete
    /// false, Kafka's `doControlledShutdown`; it hears no LeaderAndIsr for
    /// the ISR change that follows), and the replicas of a deleted topic
    /// go (delete true, at leader epoch [`LEADER_DURING_DELETE`]), as do
    /// the replicas a reassignment removes (delete true, at the leader
    /// epoch). Report the answer in
    /// [`Controller::handle_stop_replica_answered`].
    StopReplica {
        /// The target.
        broker: BrokerId,
        /// The partitions and their leader epochs.
        partitions: Vec<(TopicPartition, i32)>,
        /// Whether the replicas delete their logs.
        delete: bool,
    },
    /// Answer ElectLeaders `request`
    /// ([`Controller::handle_elect_leaders`]): each partition's outcome.
    Elected {
        /// The driver's name for the request.
        request: u64,
        /// Each partition and its error (NONE: elected).
        results: Vec<(TopicPartition, crate::protocol::ErrorCode)>,
    },
    /// The topic is deleted (every replica answered its StopReplica with
    /// no error): remove `/brokers/topics/<topic>` (with its partitions), `/config/topics/<topic>` and
    /// `/admin/delete_topics/<topic>` (Kafka's `completeDeleteTopic`).
    TopicDeleted {
        /// The topic.
        topic: String,
    },
    /// Write a topic's assignment znode (`/brokers/topics/<topic>`) with
    /// these partitions, fenced by this controller's epoch; report in
    /// [`Controller::handle_assignment_written`]. Partitions the znode
    /// holds and the assignment does not name are kept as they are.
    WriteAssignment {
        /// The topic's assignment, with the reassignments in progress.
        assignment: TopicAssignment,
    },
    /// Answer AlterPartitionReassignments `request`
    /// ([`Controller::handle_reassign`]): each partition's outcome.
    Reassigned {
        /// The driver's name for the request.
        request: u64,
        /// Each partition, its error (NONE: started) and message.
        results: Vec<Outcome>,
        /// Whether the request allowed a replica count change (echoed in
        /// version 1's answer).
        allow_rf_change: bool,
    },
    /// A deletion was asked for a topic the controller does not know:
    /// remove only `/admin/delete_topics/<topic>`.
    DropDeletion {
        /// The topic.
        topic: String,
    },
}

/// One partition as the controller keeps it.
#[derive(Debug, Clone, Default)]
struct Partition {
    replicas: Vec<BrokerId>,
    /// What the znode holds, as last read or written (`None`: absent).
    stored: Option<Stored>,
    /// A write or read is in flight.
    busy: bool,
}

/// The controller. See the module docs for the order of calls.
#[derive(Debug, Default)]
pub struct Controller {
    /// The term, while this broker is the controller.
    epoch: Option<i32>,
    live: Set<BrokerId>,
    topic_ids: Map<String, Uuid>,
    partitions: Map<TopicPartition, Partition>,
    /// Partitions whose settled state is not told yet.
    changed: Set<TopicPartition>,
    /// Partitions whose leader changed their ISR, for UpdateMetadata only
    /// (their replicas know already).
    notified: Set<TopicPartition>,
    /// Brokers that get everything at the next announcement.
    newcomers: Set<BrokerId>,
    /// Live brokers shutting down (Kafka's `shuttingDownBrokerIds`): never
    /// elected, taken out of every ISR they can leave.
    shutting_down: Set<BrokerId>,
    /// Shutting-down brokers owed a [`Output::ShutdownDone`].
    shutdown_owed: Set<BrokerId>,
    /// Partitions of brokers that asked to shut down, not decided since.
    shutdown_moves: Set<TopicPartition>,
    /// Preferred elections asked for.
    elections: elect::Elections,
    /// Replicas stopped on a shutting-down broker: their next LeaderAndIsr
    /// leaves that broker out (Kafka's `OfflineReplica` tells the others).
    stopped: Set<(BrokerId, TopicPartition)>,
    /// Topics marked for deletion, not deleted yet.
    deleting: Set<String>,
    /// Topics whose replicas are being deleted, and those replicas.
    stopping: deletion::Stopping,
    /// Partition reassignments in progress.
    reassigning: reassign::Reassignments,
    outputs: VecDeque<Output>,
}

impl Controller {
    /// A broker that is not the controller.
    pub fn new() -> Controller {
        Controller::default()
    }

    /// The controller's term, if it is one.
    pub fn epoch(&self) -> Option<i32> {
        self.epoch
    }

    /// A partition's state as last read or written.
    pub fn state(&self, tp: &TopicPartition) -> Option<&Stored> {
        self.partitions.get(tp)?.stored.as_ref()
    }

    /// This broker became the controller in term `epoch`: everything the
    /// engine holds. Partitions missing from `states` have no state znode.
    pub fn handle_elected(
        &mut self,
        epoch: i32,
        live: Set<BrokerId>,
        topics: Vec<TopicAssignment>,
        states: Map<TopicPartition, Stored>,
    ) {
        *self = Controller {
            epoch: Some(epoch),
            newcomers: live.clone(),
            live,
            ..Controller::default()
        };
        let mut states = states;
        for t in topics {
            self.topic_ids.insert(t.name.clone(), t.id);
            let resumed = t.clone();
            for (p, replicas) in t.partitions {
                let tp = TopicPartition::new(t.name.clone(), p);
                let stored = states.remove(&tp);
                self.partitions.insert(
                    tp,
                    Partition {
                        replicas,
                        stored,
                        busy: false,
                    },
                );
            }
            self.resume_moves(&resumed);
        }
        self.decide_all();
    }

    /// The live brokers now.
    pub fn handle_brokers(&mut self, live: Set<BrokerId>) {
        if self.epoch.is_none() {
            return;
        }
        self.newcomers.extend(live.difference(&self.live).copied());
        self.newcomers.retain(|b| live.contains(b));
        self.shutting_down.retain(|b| live.contains(b));
        self.shutdown_owed.retain(|b| live.contains(b));
        self.stopped.retain(|(b, _)| live.contains(b));
        self.live = live;
        self.decide_all();
    }

    /// Topics whose assignment appeared or grew. Partitions already known
    /// keep their replicas (only a reassignment moves them); new ones are
    /// assumed to have no state znode (a create that finds one reads it).
    pub fn handle_topics(&mut self, topics: Vec<TopicAssignment>) {
        if self.epoch.is_none() {
            return;
        }
        for t in topics {
            self.topic_ids.insert(t.name.clone(), t.id);
            for (p, replicas) in t.partitions {
                let tp = TopicPartition::new(t.name.clone(), p);
                self.partitions.entry(tp).or_insert(Partition {
                    replicas,
                    ..Partition::default()
                });
            }
        }
        self.decide_all();
    }

    /// The outcomes of writes asked for earlier.
    pub fn handle_written(&mut self, outcomes: Vec<(TopicPartition, LeaderIsr, WriteOutcome)>) {
        if self.epoch.is_none() {
            return;
        }
        for (tp, state, outcome) in outcomes {
            let Some(p) = self.partitions.get_mut(&tp) else {
                continue;
            };
            p.busy = false;
            match outcome {
                WriteOutcome::Done(version) => {
                    p.stored = Some(Stored { state, version });
                    self.changed.insert(tp);
                }
                WriteOutcome::Conflict | WriteOutcome::Failed => {
                    p.busy = true;
                    self.outputs.push_back(Output::Read { tp });
                }
            }
        }
        self.decide_all();
    }

    /// A state znode read after a conflict (`None`: absent).
    pub fn handle_read(&mut self, tp: &TopicPartition, stored: Option<Stored>) {
        if self.epoch.is_none() {
            return;
        }
        if let Some(p) = self.partitions.get_mut(tp) {
            p.busy = false;
            if p.stored != stored {
                // Whatever is stored now is what brokers must hear.
                self.changed.insert(tp.clone());
            }
            p.stored = stored;
        }
        self.decide_all();
    }

    /// A partition's leader changed its ISR (Kafka's ISR change
    /// notification): its state znode as read now. Every live broker
    /// hears of it in UpdateMetadata; the replicas get no LeaderAndIsr,
    /// as the leader epoch did not move. A state that names a dead
    /// broker in the ISR is decided again, as any other.
    pub fn handle_isr_changed(&mut self, tp: &TopicPartition, stored: Option<Stored>) {
        if self.epoch.is_none() {
            return;
        }
        if let Some(p) = self.partitions.get_mut(tp) {
            if p.busy {
                // A write of this controller's is in flight; its outcome
                // (a conflict, then a read) settles the partition.
                return;
            }
            if p.stored != stored {
                self.notified.insert(tp.clone());
            }
            p.stored = stored;
        }
        self.decide_all();
    }

    /// This broker is no longer the controller: forget everything, drop
    /// what was not carried out.
    pub fn handle_resigned(&mut self) {
        let mut answers = self.abandon_elections();
        answers.extend(self.abandon_reassignments());
        *self = Controller::default();
        self.outputs.extend(answers);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Decides every idle partition, then tells what is settled.
    fn decide_all(&mut self) {
        let Some(epoch) = self.epoch else {
            return;
        };
        for (tp, p) in &mut self.partitions {
            if p.busy || self.deleting.contains(&tp.topic) {
                continue;
            }
            let acting = self.shutdown_moves.remove(tp);
            let (state, expect) = match shutdown::decide(
                &p.replicas,
                p.stored.as_ref(),
                &self.live,
                &self.shutting_down,
                acting,
                epoch,
            ) {
                Decision::Keep if self.elections.pending.contains_key(tp) => {
                    let elected = elect::preferred(
                        &p.replicas,
                        p.stored.as_ref(),
                        &self.live,
                        &self.shutting_down,
                        epoch,
                    );
                    match (elected, p.stored.as_ref()) {
                        (Ok(Some(s)), Some(old)) => (s, Expect::Version(old.version)),
                        (Err(code), _) => {
                            self.elections.resolve(tp, code);
                            continue;
                        }
                        // Led by the preferred replica: settled once told.
                        _ => continue,
                    }
                }
                Decision::Keep => continue,
                Decision::Create(s) => (s, Expect::Absent),
                Decision::Update(s, v) => (s, Expect::Version(v)),
            };
            p.busy = true;
            self.outputs.push_back(Output::Write {
                tp: tp.clone(),
                state,
                expect,
            });
        }
        self.reassign_all(epoch);
        self.announce();
        self.after_reassign();
        self.answer_shutdowns();
        self.answer_elections();
        self.delete_ready();
    }

    /// Queues the requests for settled partitions.
    fn announce(&mut self) {
        let stopping = &self.stopping;
        let settled = |tp: &TopicPartition, p: &Partition| {
            !p.busy && p.stored.is_some() && !stopping.contains_key(&tp.topic)
        };
        let changed: Vec<TopicPartition> = self
            .changed
            .iter()
            .filter(|tp| self.partitions.get(tp).is_some_and(|p| settled(tp, p)))
            .cloned()
            .collect();
        let notified: Vec<TopicPartition> = self
            .notified
            .iter()
            .filter(|tp| self.partitions.get(tp).is_some_and(|p| settled(tp, p)))
            .cloned()
            .collect();
        let newcomers = std::mem::take(&mut self.newcomers);
        if changed.is_empty() && notified.is_empty() && newcomers.is_empty() {
            return;
        }
        for tp in &changed {
            self.changed.remove(tp);
        }
        for tp in &notified {
            self.notified.remove(tp);
        }
        let views: Map<&TopicPartition, PartitionView> = self
            .partitions
            .iter()
            .filter(|(tp, p)| settled(tp, p))
            .filter(|(tp, _)| {
                changed.contains(tp) || notified.contains(tp) || !newcomers.is_empty()
            })
            .filter_map(|(tp, p)| Some((tp, self.view(tp, p)?)))
            .collect();
        for &broker in &self.live {
            let everything = newcomers.contains(&broker);
            let told = |tp: &&TopicPartition| everything || changed.contains(tp);
            let hosted: Vec<PartitionView> = views
                .iter()
                .filter(|(tp, v)| told(tp) && v.replicas.contains(&broker))
                .filter(|(tp, _)| everything || !self.stopped.contains(&(broker, (**tp).clone())))
                .map(|(_, v)| v.clone())
                .collect();
            if !hosted.is_empty() {
                self.outputs.push_back(Output::LeaderAndIsr {
                    broker,
                    partitions: hosted,
                });
            }
        }
        self.stopped.retain(|(_, tp)| !changed.contains(tp));
        for &broker in &self.live {
            let everything = newcomers.contains(&broker);
            let partitions: Vec<PartitionView> = views
                .iter()
                .filter(|(tp, _)| everything || changed.contains(tp) || notified.contains(tp))
                .map(|(_, v)| v.clone())
                .collect();
            // A newcomer hears of the live brokers even with no partitions;
            // others only when something changed.
            if everything || !partitions.is_empty() {
                self.outputs
                    .push_back(Output::UpdateMetadata { broker, partitions });
            }
        }
    }

    fn view(&self, tp: &TopicPartition, p: &Partition) -> Option<PartitionView> {
        let stored = p.stored.as_ref()?;
        Some(PartitionView {
            tp: tp.clone(),
            topic_id: self.topic_ids.get(&tp.topic).copied().unwrap_or_default(),
            state: stored.state.clone(),
            version: stored.version,
            replicas: p.replicas.clone(),
            offline: p
                .replicas
                .iter()
                .copied()
                .filter(|r| !self.live.contains(r))
                .collect(),
            adding: self.reassigning.adding(tp),
            removing: self.reassigning.removing(tp),
        })
    }
}
