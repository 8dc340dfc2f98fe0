//! Partition reassignment (KIP-455, as Kafka 2.4+'s ZooKeeper controller
//! runs it in `onPartitionReassignment`): moving a partition's replicas
//! to a new set of brokers while it keeps serving.
//!
//! A reassignment of a partition from its original replicas (ORS) to a
//! target (TRS) goes through these stages, one partition at a time, each
//! decided when the partition has no write in flight:
//!
//! 1. **Start**: the topic's assignment znode is written with the full
//!    replica set RS = TRS followed by the rest of ORS, `adding_replicas`
//!    AR = TRS − ORS and `removing_replicas` RR = ORS − TRS
//!    ([`Output::WriteAssignment`], reported in
//!    [`Controller::handle_assignment_written`]). ZooKeeper is the only
//!    place the original replicas are kept, so a controller that takes
//!    over resumes from there ([`Controller::handle_elected`]). The
//!    request is answered (NONE) once this write is made.
//! 2. **Bump**: the leader epoch goes up with the leader and ISR as they
//!    are, and every replica of RS hears LeaderAndIsr: the adding ones
//!    start to copy the log from the leader as followers.
//! 3. **Catch up**: nothing is written until every target replica is in
//!    the ISR (the leader adds a follower once it has caught up, and the
//!    controller hears of it as any ISR change).
//! 4. **Finish**: the assignment becomes TRS in memory, and one write
//!    gives the partition a leader in TRS (the current one when it is in
//!    TRS, live and not shutting down; else the first target replica that
//!    is live, in the ISR and not shutting down: Kafka's
//!    `ReassignPartitionLeaderElectionStrategy`) and an ISR without the
//!    removed replicas, at a new leader epoch. TRS hears LeaderAndIsr;
//!    every live removed replica gets StopReplica with deletion (its log
//!    goes); the assignment znode is written with TRS and no adding or
//!    removing replicas, and the reassignment is over.
//!
//! A new reassignment of a partition being moved replaces the target and
//! keeps the original replicas; replicas of the old full set that are not
//! in the new one are stopped and deleted once the new epoch is told
//! (Kafka's `unneededReplicas`). A cancellation (no target) is a
//! reassignment back to the original replicas. While a topic has a
//! reassignment in progress it is not deleted.
//!
//! What a request is answered with, per partition (Kafka's
//! `validateReplicas` and `maybeTriggerPartitionReassignment`):
//! INVALID_REPLICA_ASSIGNMENT for an empty target, duplicate ids, a
//! negative id or an adding replica on a broker that is not live;
//! UNKNOWN_TOPIC_OR_PARTITION for a partition the controller does not
//! know or whose topic is being deleted; NO_REASSIGNMENT_IN_PROGRESS for
//! a cancellation with none to cancel; INVALID_REPLICATION_FACTOR for a
//! target that changes the replica count when the request does not allow
//! it (KIP-860); REASSIGNMENT_IN_PROGRESS for a
//! new target while the partition is in its finishing write (Kafka's
//! controller finishes in one event; here it takes one write).

use crate::collections::{Map, Set};

use super::{take_settled, BrokerId, Controller, Expect, LeaderIsr, Output, TopicAssignment};
use crate::protocol::ErrorCode;
use crate::storage::TopicPartition;

/// One partition's outcome: its error and message (NONE: started).
pub type Outcome = (TopicPartition, ErrorCode, Option<String>);

/// What a request is answered with: each partition's outcome, and whether
/// it allowed a replica count change.
type Answer = (Vec<Outcome>, bool);

/// A partition being reassigned, as ListPartitionReassignments shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The partition.
    pub tp: TopicPartition,
    /// The full replica set (target first, then the rest of the original).
    pub replicas: Vec<BrokerId>,
    /// Target replicas not in the original set.
    pub adding: Vec<BrokerId>,
    /// Original replicas not in the target.
    pub removing: Vec<BrokerId>,
}

/// Where a move is (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The full set is to be written to the assignment znode.
    Start,
    /// That write is in flight.
    Writing,
    /// A state with a leader epoch above `from` is to be written and told.
    Bumping { from: i32 },
    /// Waiting for every target replica to join the ISR.
    Catching,
    /// The assignment is the target; a state with a leader in it, an ISR
    /// within it and a leader epoch above `from` is to be written.
    Finishing { from: i32 },
    /// The target is to be written to the assignment znode.
    Completing,
    /// That write is in flight.
    Closing,
}

/// One partition's reassignment.
#[derive(Debug, Clone)]
pub(crate) struct Move {
    origin: Vec<BrokerId>,
    target: Vec<BrokerId>,
    stage: Stage,
    /// Requests answered once the move is started.
    waiting: Set<u64>,
    /// Replicas of an earlier full set that the new one dropped: stopped
    /// and deleted once the new epoch is told.
    unneeded: Vec<BrokerId>,
}

impl Move {
    /// The full replica set: the target, then the original replicas not in it.
    fn full(&self) -> Vec<BrokerId> {
        let mut rs = self.target.clone();
        rs.extend(self.origin.iter().filter(|r| !self.target.contains(r)));
        rs
    }

    fn adding(&self) -> Vec<BrokerId> {
        minus(&self.target, &self.origin)
    }

    fn removing(&self) -> Vec<BrokerId> {
        minus(&self.origin, &self.target)
    }

    /// In progress as ListPartitionReassignments shows it (Kafka lists a
    /// partition until its assignment is the target in memory).
    fn listed(&self) -> bool {
        !matches!(
            self.stage,
            Stage::Finishing { .. } | Stage::Completing | Stage::Closing
        ) && (!self.adding().is_empty() || !self.removing().is_empty())
    }
}

fn minus(a: &[BrokerId], b: &[BrokerId]) -> Vec<BrokerId> {
    a.iter().copied().filter(|r| !b.contains(r)).collect()
}

/// Reassignments in progress.
#[derive(Debug, Default)]
pub(crate) struct Reassignments {
    pub moves: Map<TopicPartition, Move>,
    /// Per request: the partitions not started yet, and the results so far.
    /// Per request: the partitions not started yet, and the results so far
    /// with whether the request allowed a replica count change.
    requests: Map<u64, (Set<TopicPartition>, Answer)>,
    /// Topics whose assignment znode write is in flight.
    writing: Set<String>,
    /// StopReplica (with deletion) owed once the partition's state is told.
    stops: Vec<(BrokerId, TopicPartition)>,
}

impl Reassignments {
    /// The replicas `tp` gains, while told as being reassigned.
    pub fn adding(&self, tp: &TopicPartition) -> Vec<BrokerId> {
        self.moves
            .get(tp)
            .filter(|m| m.listed())
            .map(Move::adding)
            .unwrap_or_default()
    }

    /// The replicas `tp` loses, while told as being reassigned.
    pub fn removing(&self, tp: &TopicPartition) -> Vec<BrokerId> {
        self.moves
            .get(tp)
            .filter(|m| m.listed())
            .map(Move::removing)
            .unwrap_or_default()
    }

    fn settle(&mut self, request: u64, tp: &TopicPartition, code: ErrorCode) {
        if let Some((left, (results, _))) = self.requests.get_mut(&request) {
            if left.remove(tp) {
                results.push((tp.clone(), code, None));
            }
        }
    }
}

impl Controller {
    /// An AlterPartitionReassignments request (`request`: the driver's
    /// name for it): per partition a target (`None`: cancel). Answered
    /// with [`Output::Reassigned`] once every accepted partition's full
    /// replica set is written (see the module docs for the errors); with
    /// NOT_CONTROLLER for every partition when this broker is not the
    /// controller.
    pub fn handle_reassign(
        &mut self,
        request: u64,
        asks: Vec<(TopicPartition, Option<Vec<BrokerId>>)>,
        allow_rf_change: bool,
    ) {
        if self.epoch.is_none() {
            let results = asks
                .into_iter()
                .map(|(tp, _)| (tp, ErrorCode::NOT_CONTROLLER, None))
                .collect();
            self.outputs.push_back(Output::Reassigned {
                request,
                results,
                allow_rf_change,
            });
            return;
        }
        let mut left = Set::new();
        let mut results = Vec::new();
        for (tp, target) in asks {
            match self.start_move(request, &tp, target, allow_rf_change) {
                Ok(true) => {
                    left.insert(tp);
                }
                Ok(false) => results.push((tp, ErrorCode::NONE, None)),
                Err((code, message)) => results.push((tp, code, Some(message))),
            }
        }
        self.reassigning
            .requests
            .insert(request, (left, (results, allow_rf_change)));
        self.decide_all();
    }

    /// Checks and records one partition's reassignment: `Ok(true)` when a
    /// move starts (answered once written), `Ok(false)` when there is
    /// nothing to move.
    fn start_move(
        &mut self,
        request: u64,
        tp: &TopicPartition,
        target: Option<Vec<BrokerId>>,
        allow_rf_change: bool,
    ) -> Result<bool, (ErrorCode, String)> {
        let unknown = || {
            (
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                "The partition does not exist.".to_string(),
            )
        };
        if self.deleting.contains(&tp.topic) {
            return Err(unknown());
        }
        let p = self.partitions.get(tp).ok_or_else(unknown)?;
        let current = self.reassigning.moves.get(tp);
        if current.is_some_and(|m| {
            matches!(
                m.stage,
                Stage::Finishing { .. } | Stage::Completing | Stage::Closing
            )
        }) {
            return Err(match target {
                None => (
                    ErrorCode::NO_REASSIGNMENT_IN_PROGRESS,
                    "The partition's reassignment is completing.".to_string(),
                ),
                Some(_) => (
                    ErrorCode::REASSIGNMENT_IN_PROGRESS,
                    "The partition's reassignment is completing; try again.".to_string(),
                ),
            });
        }
        let origin = current.map_or_else(|| p.replicas.clone(), |m| m.origin.clone());
        let target = match target {
            Some(t) => {
                validate(&t, &origin, &self.live)?;
                if !allow_rf_change && t.len() != origin.len() {
                    return Err((
                        ErrorCode::INVALID_REPLICATION_FACTOR,
                        format!(
                            "The replication factor is changed from {} to {}",
                            origin.len(),
                            t.len()
                        ),
                    ));
                }
                t
            }
            None if current.is_some() => origin.clone(),
            None => {
                return Err((
                    ErrorCode::NO_REASSIGNMENT_IN_PROGRESS,
                    "No reassignment is in progress for the partition.".to_string(),
                ))
            }
        };
        if current.is_none() && target == p.replicas {
            return Ok(false);
        }
        let old_full = p.replicas.clone();
        let m = Move {
            origin,
            target,
            stage: Stage::Start,
            waiting: Set::from([request]),
            unneeded: Vec::new(),
        };
        let unneeded = minus(&old_full, &m.full());
        let m = Move { unneeded, ..m };
        if let Some(old) = self.reassigning.moves.insert(tp.clone(), m) {
            // The earlier request was answered when its move started.
            debug_assert!(old.waiting.is_empty() || old.stage == Stage::Start);
            for r in old.waiting {
                self.reassigning.settle(r, tp, ErrorCode::NONE);
            }
        }
        Ok(true)
    }

    /// The partitions being reassigned, among `partitions` (`None`: all),
    /// as ListPartitionReassignments answers (others are left out).
    pub fn reassignments(&self, partitions: Option<&[TopicPartition]>) -> Vec<Listed> {
        self.reassigning
            .moves
            .iter()
            .filter(|(tp, m)| m.listed() && partitions.is_none_or(|ps| ps.contains(tp)))
            .map(|(tp, m)| Listed {
                tp: tp.clone(),
                replicas: m.full(),
                adding: m.adding(),
                removing: m.removing(),
            })
            .collect()
    }

    /// Whether `topic` has a reassignment in progress (it is not deleted
    /// meanwhile).
    pub fn reassigning(&self, topic: &str) -> bool {
        self.reassigning.moves.keys().any(|tp| tp.topic == topic)
    }

    /// The outcome of an [`Output::WriteAssignment`] of `topic`: written,
    /// or not (the driver tries again through this machine).
    pub fn handle_assignment_written(&mut self, topic: &str, written: bool) {
        if self.epoch.is_none() || !self.reassigning.writing.remove(topic) {
            return;
        }
        let (mut done, mut started) = (Vec::new(), Vec::new());
        for (tp, m) in self.reassigning.moves.iter_mut() {
            if tp.topic != topic {
                continue;
            }
            match (m.stage, written) {
                (Stage::Writing, true) => {
                    let Some(p) = self.partitions.get_mut(tp) else {
                        continue;
                    };
                    p.replicas = m.full();
                    let from = p.stored.as_ref().map_or(-1, |s| s.state.leader_epoch);
                    m.stage = Stage::Bumping { from };
                    for r in std::mem::take(&mut m.waiting) {
                        started.push((r, tp.clone()));
                    }
                }
                (Stage::Writing, false) => m.stage = Stage::Start,
                (Stage::Closing, true) => done.push(tp.clone()),
                (Stage::Closing, false) => m.stage = Stage::Completing,
                _ => {}
            }
        }
        for (r, tp) in started {
            self.reassigning.settle(r, &tp, ErrorCode::NONE);
        }
        for tp in done {
            self.reassigning.moves.remove(&tp);
        }
        self.decide_all();
    }

    /// Moves every idle partition being reassigned on as far as it can go
    /// without a write, and asks for the state write it needs next.
    /// Called by `decide_all` after its own decisions, before the
    /// announcement.
    pub(super) fn reassign_all(&mut self, epoch: i32) {
        for (tp, m) in self.reassigning.moves.iter_mut() {
            let Some(p) = self.partitions.get_mut(tp) else {
                continue;
            };
            if p.busy {
                continue;
            }
            loop {
                if matches!(
                    m.stage,
                    Stage::Start | Stage::Completing | Stage::Writing | Stage::Closing
                ) {
                    break;
                }
                let Some(stored) = p.stored.as_ref() else {
                    break;
                };
                let old = &stored.state;
                if old.controller_epoch > epoch {
                    break;
                }
                let (state, next) = match m.stage {
                    Stage::Start | Stage::Completing | Stage::Writing | Stage::Closing => break,
                    Stage::Bumping { from } if old.leader_epoch > from => {
                        for r in std::mem::take(&mut m.unneeded) {
                            if self.live.contains(&r) {
                                self.reassigning.stops.push((r, tp.clone()));
                            }
                        }
                        m.stage = Stage::Catching;
                        continue;
                    }
                    Stage::Bumping { .. } => {
                        let isr: Vec<BrokerId> = old
                            .isr
                            .iter()
                            .copied()
                            .filter(|r| p.replicas.contains(r))
                            .collect();
                        let state = LeaderIsr {
                            leader: old.leader,
                            leader_epoch: old.leader_epoch + 1,
                            isr: if isr.is_empty() { old.isr.clone() } else { isr },
                            controller_epoch: epoch,
                        };
                        (state, m.stage)
                    }
                    Stage::Catching => {
                        if !m.target.iter().all(|r| old.isr.contains(r)) {
                            break;
                        }
                        p.replicas = m.target.clone();
                        m.stage = Stage::Finishing {
                            from: old.leader_epoch,
                        };
                        continue;
                    }
                    Stage::Finishing { from } => {
                        let in_target = |r: &BrokerId| m.target.contains(r);
                        if old.leader_epoch > from
                            && in_target(&old.leader)
                            && old.isr.iter().all(in_target)
                        {
                            for r in m.removing() {
                                if self.live.contains(&r) {
                                    self.reassigning.stops.push((r, tp.clone()));
                                }
                            }
                            m.stage = Stage::Completing;
                            continue;
                        }
                        let eligible =
                            |r: &BrokerId| self.live.contains(r) && !self.shutting_down.contains(r);
                        let leader = if in_target(&old.leader) && eligible(&old.leader) {
                            Some(old.leader)
                        } else {
                            m.target
                                .iter()
                                .copied()
                                .find(|r| eligible(r) && old.isr.contains(r))
                        };
                        let isr: Vec<BrokerId> =
                            old.isr.iter().copied().filter(|r| in_target(r)).collect();
                        // No target replica can lead now: wait for the
                        // next change (Kafka fails the election and waits
                        // for the next ISR change too).
                        let Some(leader) = leader.filter(|_| !isr.is_empty()) else {
                            break;
                        };
                        let state = LeaderIsr {
                            leader,
                            leader_epoch: old.leader_epoch + 1,
                            isr,
                            controller_epoch: epoch,
                        };
                        (state, m.stage)
                    }
                };
                m.stage = next;
                p.busy = true;
                self.outputs.push_back(Output::Write {
                    tp: tp.clone(),
                    state,
                    expect: Expect::Version(stored.version),
                });
                break;
            }
        }
    }

    /// Queues the write of `topic`'s assignment znode: every partition's
    /// replicas as ZooKeeper must keep them, with the adding and removing
    /// replicas of those being moved.
    fn write_assignment(&mut self, topic: &str) {
        let mut assignment = TopicAssignment {
            name: topic.to_string(),
            id: self.topic_ids.get(topic).copied().unwrap_or_default(),
            partitions: Map::new(),
            adding: Map::new(),
            removing: Map::new(),
        };
        for (tp, p) in self
            .partitions
            .range(TopicPartition::new(topic.to_string(), i32::MIN)..)
        {
            if tp.topic != topic {
                break;
            }
            let replicas = match self.reassigning.moves.get_mut(tp) {
                None => p.replicas.clone(),
                Some(m) => {
                    m.stage = match m.stage {
                        Stage::Start => Stage::Writing,
                        Stage::Completing => Stage::Closing,
                        s => s,
                    };
                    if m.stage == Stage::Closing {
                        m.target.clone()
                    } else {
                        let (adding, removing) = (m.adding(), m.removing());
                        if !adding.is_empty() {
                            assignment.adding.insert(tp.partition, adding);
                        }
                        if !removing.is_empty() {
                            assignment.removing.insert(tp.partition, removing);
                        }
                        m.full()
                    }
                }
            };
            assignment.partitions.insert(tp.partition, replicas);
        }
        self.reassigning.writing.insert(topic.to_string());
        self.outputs
            .push_back(Output::WriteAssignment { assignment });
    }

    /// After the announcement (Kafka's order: LeaderAndIsr, StopReplica,
    /// then the assignment znode): StopReplica (deleting) to the replicas
    /// moved off their partitions, the assignment znodes due, and the
    /// answers of requests whose partitions are all started.
    pub(super) fn after_reassign(&mut self) {
        let mut stops: Map<BrokerId, Vec<(TopicPartition, i32)>> = Map::new();
        for (broker, tp) in std::mem::take(&mut self.reassigning.stops) {
            let epoch = self
                .partitions
                .get(&tp)
                .and_then(|p| p.stored.as_ref())
                .map_or(-1, |s| s.state.leader_epoch);
            stops.entry(broker).or_default().push((tp, epoch));
        }
        for (broker, partitions) in stops {
            self.outputs.push_back(Output::StopReplica {
                broker,
                partitions,
                delete: true,
            });
        }
        let topics: Set<String> = self
            .reassigning
            .moves
            .iter()
            .filter(|(_, m)| matches!(m.stage, Stage::Start | Stage::Completing))
            .map(|(tp, _)| tp.topic.clone())
            .filter(|t| !self.reassigning.writing.contains(t))
            .collect();
        for topic in topics {
            self.write_assignment(&topic);
        }
        for (request, (results, allow_rf_change)) in take_settled(&mut self.reassigning.requests) {
            self.outputs.push_back(Output::Reassigned {
                request,
                results,
                allow_rf_change,
            });
        }
    }

    /// Resumes the reassignments a topic's assignment znode records (a
    /// new controller's load): each at its bump, as Kafka's
    /// `maybeResumeReassignments` runs `onPartitionReassignment` again.
    pub(super) fn resume_moves(&mut self, t: &TopicAssignment) {
        for (&p, replicas) in &t.partitions {
            let adding = t.adding.get(&p).cloned().unwrap_or_default();
            let removing = t.removing.get(&p).cloned().unwrap_or_default();
            if adding.is_empty() && removing.is_empty() {
                continue;
            }
            let tp = TopicPartition::new(t.name.clone(), p);
            let from = self
                .partitions
                .get(&tp)
                .and_then(|p| p.stored.as_ref())
                .map_or(-1, |s| s.state.leader_epoch);
            self.reassigning.moves.insert(
                tp,
                Move {
                    origin: minus(replicas, &adding),
                    target: minus(replicas, &removing),
                    stage: Stage::Bumping { from },
                    waiting: Set::new(),
                    unneeded: Vec::new(),
                },
            );
        }
    }

    /// Answers every request in progress with NOT_CONTROLLER for what is
    /// not started (a resignation).
    pub(super) fn abandon_reassignments(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.reassigning.requests)
            .into_iter()
            .map(|(request, (left, (mut results, allow_rf_change)))| {
                results.extend(
                    left.into_iter()
                        .map(|tp| (tp, ErrorCode::NOT_CONTROLLER, None)),
                );
                Output::Reassigned {
                    request,
                    results,
                    allow_rf_change,
                }
            })
            .collect()
    }
}

/// Kafka's `validateReplicas`: a target that is empty, repeats an id,
/// names a negative id, or adds a replica on a broker that is not live
/// is INVALID_REPLICA_ASSIGNMENT.
fn validate(
    target: &[BrokerId],
    origin: &[BrokerId],
    live: &Set<BrokerId>,
) -> Result<(), (ErrorCode, String)> {
    let invalid = |m: String| Err((ErrorCode::INVALID_REPLICA_ASSIGNMENT, m));
    let distinct: Set<BrokerId> = target.iter().copied().collect();
    if target.is_empty() {
        return invalid("Empty replica list specified in partition reassignment.".to_string());
    }
    if distinct.len() != target.len() {
        return invalid(format!(
            "Duplicate replica ids in partition reassignment replica list: {target:?}"
        ));
    }
    if target.iter().any(|&r| r < 0) {
        return invalid(format!("Invalid broker id in replica list: {target:?}"));
    }
    let adding = minus(target, origin);
    if !adding.iter().all(|r| live.contains(r)) {
        return invalid(format!(
            "Replica assignment has brokers that are not alive. Replica list: {adding:?}, live broker list: {live:?}"
        ));
    }
    Ok(())
}
